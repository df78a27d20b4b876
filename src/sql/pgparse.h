/*
 * libpg_query's parse of one text, on a stack deep enough for it, into an
 * unpacked tree that is freed all at once: no statement, however deeply it
 * nests, can overflow strata's stack.
 */
#ifndef STRATA_SQL_PGPARSE_H
#define STRATA_SQL_PGPARSE_H

#include "util/common.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

/*
 * The deepest tree unpacked, in protobuf messages from the ParseResult:
 * above what PostgreSQL 15 parses and analyses with max_stack_depth at its
 * ceiling under an 8 MB stack (7680kB: a chain of 15,000 operators, about
 * 30,000 messages; 3,300 nested subqueries, where its parser's own stack
 * ends, about 20,000). A deeper statement is rejected as the server
 * rejects it, "stack depth limit exceeded".
 */
#define PG_PARSE_MAX_DEPTH 40000

/* The message of a statement nesting deeper than PG_PARSE_MAX_DEPTH. */
#define PG_PARSE_TOO_DEEP "stack depth limit exceeded"

struct pgmem;

struct pg_scan {
	PgQuery__ScanResult *toks; /* NULL when the text was rejected */
	struct pgmem *mem;         /* what toks is made of */
	char *error;               /* then the scanner's message */
	size_t error_at;           /* and its byte offset */
};

/*
 * The scanner's tokens of the NUL-terminated `sql` of `len` bytes: 0 with
 * tokens or an error in `out`; -1 with `err` when its result does not
 * decode.
 */
int pg_scan(struct pg_scan *out, const char *sql, size_t len,
            struct strata_error *err);
void pg_scan_release(struct pg_scan *s);

struct pg_parse {
	PgQuery__ParseResult *tree; /* NULL when the text was rejected */
	struct pgmem *mem;          /* what tree is made of */
	char *error;                /* then the parser's message */
	size_t error_at;            /* and its byte offset */
};

/*
 * Parses the NUL-terminated `sql` of `len` bytes, whose scanner tokens
 * are `toks` (they size the stack). 0 with a tree or an error in `out`;
 * -1 with `err` when it could not run (no thread for the stack it needs,
 * or a tree that does not decode).
 */
int pg_parse(struct pg_parse *out, const char *sql, size_t len,
             const PgQuery__ScanResult *toks, struct strata_error *err);
void pg_parse_release(struct pg_parse *p);

#endif
