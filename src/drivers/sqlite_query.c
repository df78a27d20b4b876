/*
 * The SQLite driver's generic queries ($1…$n bound by name, rows as text)
 * on strata's own tables.
 */
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "engine/url.h"
#include "drivers/driver.h"
#include "drivers/sqlite_conn.h"
#include "util/sqlite_lib.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int bind_params(sqlite3_stmt *st, size_t n,
                       const struct db_value *params)
{
	for (size_t i = 0; i < n; i++) {
		char name[24];
		int idx, rc = SQLITE_OK;

		/* "$k" is a named parameter to SQLite: bind by name, so the
		 * order of first appearance does not matter */
		snprintf(name, sizeof(name), "$%zu", i + 1);
		idx = sqlite3_bind_parameter_index(st, name);
		if (!idx)
			continue;
		switch (params[i].type) {
		case DBV_NULL:
			rc = sqlite3_bind_null(st, idx);
			break;
		case DBV_INT64:
			rc = sqlite3_bind_int64(st, idx, params[i].i);
			break;
		case DBV_TEXT:
			rc = sqlite3_bind_text(st, idx, params[i].s, -1,
			                       SQLITE_STATIC);
			break;
		case DBV_BLOB:
			rc = sqlite3_bind_blob(st, idx, params[i].blob,
			                       (int)params[i].len,
			                       SQLITE_STATIC);
			break;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

int sqlitequery_each(struct strata_conn *conn, const char *sql, size_t n,
                     const struct db_value *params, db_row_fn *fn, void *data,
                     struct strata_error *err)
{
	struct sqlite_conn *c = to_sqlite(conn);
	const char *cells[64];
	sqlite3_stmt *st = NULL;
	size_t cols;
	int rc;

	rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlitedrv_error(err, c->db, rc);
	rc = bind_params(st, n, params);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return sqlitedrv_error(err, c->db, rc);
	}
	cols = (size_t)sqlite3_column_count(st);
	if (cols > ARRAY_SIZE(cells))
		BUG("too many columns");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t k = 0; k < cols; k++)
			cells[k] =
			        (const char *)sqlite3_column_text(st, (int)k);
		if (fn(data, cells, cols) < 0) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	if (rc != SQLITE_DONE) {
		sqlitedrv_error(err, c->db, rc);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/* One after the other: SQLite has no round trips to save. As in a
 * pipeline, a failure leaves the reads after it unrun. */
int sqlitequery_each_all(struct strata_conn *conn, struct db_read *reads,
                         size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct db_read *r = &reads[i];

		if (rc < 0) {
			r->rc = strata_error_set(
			        r->err, STRATA_EFAILED,
			        "not read: an earlier read failed");
			continue;
		}
		r->rc = sqlitequery_each(conn, r->sql, r->n, r->params, r->fn,
		                         r->data, r->err);
		rc = r->rc;
	}
	return rc;
}

/* query() as query_each() into rows: every cell copied. */
struct rows_collector {
	struct db_rows *out;
	size_t alloc;
};

static int collect_row(void *data, const char *const *cells, size_t n_cols)
{
	struct rows_collector *rc = data;
	struct db_rows *out = rc->out;

	out->n_cols = n_cols;
	XGROW(out->cells, rc->alloc, (out->n_rows + 1) * n_cols);
	for (size_t k = 0; k < n_cols; k++)
		out->cells[out->n_rows * n_cols + k] =
		        cells[k] ? arena_strdup(&out->strings, cells[k]) : NULL;
	out->n_rows++;
	return 0;
}

static int ignore_row(void *data, const char *const *cells, size_t n_cols)
{
	(void)data;
	(void)cells;
	(void)n_cols;
	return 0;
}

int sqlitequery_query(struct strata_conn *conn, const char *sql, size_t n,
                      const struct db_value *params, struct db_rows *out,
                      struct strata_error *err)
{
	struct rows_collector rc = { out, 0 };

	if (!out)
		return sqlitequery_each(conn, sql, n, params, ignore_row, NULL,
		                        err);
	memset(out, 0, sizeof(*out));
	if (sqlitequery_each(conn, sql, n, params, collect_row, &rc, err) < 0) {
		db_rows_release(out);
		return -1;
	}
	return 0;
}
