/*
 * What the schema dump's files share (schema.c, schema_pg.c,
 * schema_sqlite.c, drift.c): a dump is a list of entries, each a header
 * "-- Name: N; Type: T; Schema: S; Owner: O" between two "--" lines, then
 * its SQL, as pg_dump writes them; SQLite's dump is written the same way.
 */
#ifndef STRATA_BACKUP_SCHEMA_H
#define STRATA_BACKUP_SCHEMA_H

#include "util/common.h"
#include "util/sbuf.h"
#include "engine/db.h"

struct schema_entry {
	char *name, *type, *schema, *owner; /* of the header */
	char *header;                       /* its three lines */
	char *body;                         /* its SQL, without blank ends */
};

struct schema_entries {
	struct schema_entry *v;
	size_t n, alloc;
};

/* The entries of a dump (raw pg_dump output or a dump of ours); what
 * comes before the first header is passed over. */
void schema_parse(struct schema_entries *out, const char *text);
void schema_entries_release(struct schema_entries *e);
/* The entries as a dump of ours: headers and bodies, nothing else. */
void schema_format(struct sbuf *out, const struct schema_entries *e);

/* pg_dump --schema-only of db, raw, into `out`. */
int pgschema_dump(struct sbuf *out, struct strata_db *db,
                  const struct strata_schema_options *opts,
                  struct strata_error *err);
/* One object's row of a snapshot: its oid, sort key and text. */
struct pgschema_row {
	unsigned unit;
	char *key, *text;
};
/*
 * A session's snapshots (zeroed at first; pgschema_cache_release()): its
 * prepared statements and, while the session is watched
 * (pgschema_watch()), the last snapshot's rows, of which a read
 * re-describes only what changed since.
 */
struct pgschema_cache {
	bool is_prepared, is_part_prepared;
	bool is_watching; /* event triggers log what commands touch */
	bool is_valid;    /* rows are the last read's, the log empty since */
	char *digest;     /* of what no event trigger reports */
	char xid[24];     /* where the transactions after the last read begin */
	struct pgschema_row *rows;
	size_t n, alloc;
};
/* The same begun and left to run (its own process, on a thread that
 * collects its output) while the caller uses db's session for other
 * work; finished (waited for, judged), or aborted (ended, reaped) on
 * every path. Both free the job. `like`, when given: a job whose
 * pg_dump serves if db's server has its major version. */
struct pgschema_job;
int pgschema_dump_start(struct pgschema_job **out, struct strata_db *db,
                        const struct strata_schema_options *opts,
                        const struct pgschema_job *like,
                        struct strata_error *err);
int pgschema_dump_finish(struct pgschema_job *job, struct sbuf *out,
                         struct strata_error *err);
void pgschema_dump_abort(struct pgschema_job *job);
/* A PostgreSQL schema snapshot over db's session (schema_snapshot.c):
 * canonical text, equal exactly when the objects are. */
int pgschema_snapshot(struct sbuf *out, struct strata_db *db,
                      struct pgschema_cache *c, struct strata_error *err);
/*
 * Event triggers on db (a shadow of strata's own; it takes a superuser,
 * and without one every read stays a full one) that let the next reads
 * of `c` re-describe only what commands touched.
 */
int pgschema_watch(struct strata_db *db, struct pgschema_cache *c,
                   struct strata_error *err);
void pgschema_cache_release(struct pgschema_cache *c);
/* SQLite's schema as a dump of ours. */
int sqliteschema_dump(struct sbuf *out, struct strata_db *db,
                      struct strata_error *err);
/* A SQLite table's columns, a line each as drift compares them, in
 * `*out` (count; the caller frees each and the array). */
size_t sqliteschema_columns(char ***out, struct strata_db *db,
                            const char *table);
/* diff -u of two dumps, labelled; "" when they are the same. */
int schema_diff(char **out, const char *want, const char *got,
                const char *want_label, const char *got_label,
                struct strata_error *err);
/* strata's tables of `db`, unqualified names as given ("_sqlx_migrations"),
 * qualified ones as "schema.name": up to 3, NULL-terminated. */
void schema_own_tables(const struct strata_db *db,
                       const struct table_name *out[4]);

#endif
