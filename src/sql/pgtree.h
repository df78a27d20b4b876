/* Helpers over libpg_query's parse tree, for the splitter and the linter. */
#ifndef STRATA_SQL_PGTREE_H
#define STRATA_SQL_PGTREE_H

#include "util/common.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

/* The message inside a Node (its oneof), or NULL. */
const ProtobufCMessage *node_message(const PgQuery__Node *n);
/* A node's `location` field (byte offset), -1 when it has none. */
int node_location(const PgQuery__Node *n);
/* Calls `fn` on every message under `m`, depth first, until it returns
 * true; returns whether it did. */
typedef bool (*node_walk_fn)(const ProtobufCMessage *m, void *data);
bool node_walk(const ProtobufCMessage *m, node_walk_fn fn, void *data);
/* The sval of a String node, or NULL. */
const char *node_string(const PgQuery__Node *n);
/* The last String of a name list (the object's own name). */
const char *names_last(PgQuery__Node **names, size_t n);
const PgQuery__DefElem *defs_find(PgQuery__Node **defs, size_t n,
                                  const char *name);
/* A DefElem's boolean as the server reads it (no value: true). */
bool def_is_true(const PgQuery__DefElem *d);

#endif
