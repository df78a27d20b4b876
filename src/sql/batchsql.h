/*
 * The statement of a batch migration (`-- strata:batch`): its
 * `:batch_size` placeholder bound as $1, and the shape that lets strata
 * run it again and again until it changes nothing, judged on the parse
 * tree.
 */
#ifndef STRATA_SQL_BATCHSQL_H
#define STRATA_SQL_BATCHSQL_H

#include "util/common.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#define BATCHSQL_PLACEHOLDER ":batch_size"

/*
 * Replaces each `:batch_size` token of `sql` (`len` bytes, NUL-terminated,
 * written in place) by `$1` and spaces: the same length, so that offsets,
 * lines and columns stay those of the file. Strings, quoted names and
 * comments are left alone (the scanner's tokens say where they are).
 * *out_n: how many were replaced. -1 with `err` when the scanner rejects
 * the text.
 */
int batchsql_bind(size_t *out_n, char *sql, size_t len,
                  struct strata_error *err);

struct batchsql_shape {
	const char *kind; /* "UPDATE", "DELETE", "INSERT ... SELECT" */
	/* why the statement cannot run as a batch (NULL: it can), with a
	 * byte offset into the statement to point at */
	const char *problem;
	int problem_at;
	/* true when no WHERE reads a column the UPDATE sets: strata cannot
	 * tell that done rows are skipped (a warning, not an error) */
	bool is_skip_unsure;
};

/*
 * The shape of one statement (NUL-terminated, `:batch_size` bound): an
 * UPDATE, DELETE or INSERT ... SELECT; $1 the LIMIT of a SELECT in it
 * (and nowhere else); and a way to leave done rows out: the SELECT so
 * limited, or the statement, has a WHERE (a DELETE's done rows are gone,
 * and need none). -1 with `err` only when it could not be parsed.
 */
int batchsql_shape(struct batchsql_shape *out, const char *stmt,
                   struct strata_error *err);
/* The same of a parsed statement (the linter's). */
void batchsql_shape_node(struct batchsql_shape *out, const PgQuery__Node *top);

#endif
