/*
 * The PostgreSQL driver's generic queries ($1…$n, rows as text) on
 * strata's own tables, and the dialect of those tables: sqlx's history
 * DDL, whether a table exists, and what a refused CREATE means.
 */
#include "drivers/pg_conn.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/text.h"
#include "engine/url.h"
#include "sql/split.h"
#include "drivers/driver.h"

#include <errno.h>
#include <inttypes.h>
#include "drivers/pq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>

/* db_value parameters as libpq takes them. */

void pgquery_params_init(struct pg_params *p, size_t n,
                         const struct db_value *params)
{
	p->values = xcalloc(n ? n : 1, sizeof(*p->values));
	p->lengths = xcalloc(n ? n : 1, sizeof(*p->lengths));
	p->formats = xcalloc(n ? n : 1, sizeof(*p->formats));
	p->types = xcalloc(n ? n : 1, sizeof(*p->types));
	p->ints = xcalloc(n ? n : 1, sizeof(*p->ints));
	for (size_t i = 0; i < n; i++) {
		switch (params[i].type) {
		case DBV_NULL:
			break;
		case DBV_INT64:
			snprintf(p->ints[i], sizeof(p->ints[i]), "%" PRId64,
			         params[i].i);
			p->values[i] = p->ints[i];
			p->types[i] = INT8OID;
			break;
		case DBV_TEXT:
			p->values[i] = params[i].s;
			break;
		case DBV_BLOB:
			p->values[i] = params[i].blob;
			p->lengths[i] = (int)params[i].len;
			p->formats[i] = 1;
			p->types[i] = BYTEAOID;
			break;
		}
	}
}

void pgquery_params_release(struct pg_params *p)
{
	free(p->values);
	free(p->lengths);
	free(p->formats);
	free(p->types);
	free(p->ints);
}

int pgquery_query(struct strata_conn *c, const char *sql, size_t n,
                  const struct db_value *params, struct db_rows *out,
                  struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct pg_params p;
	bool was_quiet = pc->is_quiet;
	PGresult *res = NULL;
	int64_t t0;
	int rc = -1;

	pgquery_params_init(&p, n, params);
	pc->is_quiet = true;
	pgdrv_settle_cancel(pc);
	t0 = text_monotonic_ns();
	res = PQexecParams(pc->pg, sql, (int)n, p.types, p.values, p.lengths,
	                   p.formats, 0);
	pgexec_note_rtt(pc, t0);
	pc->is_quiet = was_quiet;
	if (!res || (PQresultStatus(res) != PGRES_COMMAND_OK &&
	             PQresultStatus(res) != PGRES_TUPLES_OK)) {
		pgsession_error(err, pc->pg, res);
		if (err)
			err->position = 0; /* in our text, not a migration's */
		goto done;
	}
	if (out) {
		size_t rows = (size_t)PQntuples(res),
		       cols = (size_t)PQnfields(res);

		memset(out, 0, sizeof(*out));
		out->n_rows = rows;
		out->n_cols = cols;
		out->cells = xcalloc(rows * cols > 0 ? rows * cols : 1,
		                     sizeof(*out->cells));
		for (size_t r = 0; r < rows; r++)
			for (size_t k = 0; k < cols; k++)
				if (!PQgetisnull(res, (int)r, (int)k))
					out->cells[r * cols + k] =
					        arena_strndup(
					                &out->strings,
					                PQgetvalue(res, (int)r,
					                           (int)k),
					                (size_t)PQgetlength(
					                        res, (int)r,
					                        (int)k));
	}
	rc = 0;
done:
	PQclear(res);
	pgquery_params_release(&p);
	return rc;
}

/* Each row of `res` to `fn`, until it returns non-zero: its value. */
static int feed_rows(PGresult *res, db_row_fn *fn, void *data)
{
	const char *cells[64];
	int cols = PQnfields(res), rc = 0;

	if (cols > (int)ARRAY_SIZE(cells))
		BUG("too many columns");
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		for (int k = 0; k < cols; k++)
			cells[k] = PQgetisnull(res, r, k)
			                   ? NULL
			                   : PQgetvalue(res, r, k);
		rc = fn(data, cells, (size_t)cols);
	}
	return rc;
}

/* Row by row (single-row mode): no whole result in memory at once. */
int pgquery_each(struct strata_conn *c, const char *sql, size_t n,
                 const struct db_value *params, db_row_fn *fn, void *data,
                 struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct pg_params p;
	bool was_quiet = pc->is_quiet;
	PGresult *res;
	int rc = -1;

	pgquery_params_init(&p, n, params);
	pc->is_quiet = true;
	pgdrv_settle_cancel(pc);
	if (!PQsendQueryParams(pc->pg, sql, (int)n, p.types, p.values,
	                       p.lengths, p.formats, 0)) {
		pgsession_error(err, pc->pg, NULL);
		goto done;
	}
	PQsetSingleRowMode(pc->pg); /* refused: one result, as correct */
	rc = 0;
	while ((res = PQgetResult(pc->pg))) {
		ExecStatusType status = PQresultStatus(res);

		if (status == PGRES_SINGLE_TUPLE || status == PGRES_TUPLES_OK) {
			if (rc == 0)
				rc = feed_rows(res, fn, data);
		} else if (status != PGRES_COMMAND_OK && rc == 0) {
			pgsession_error(err, pc->pg, res);
			if (err)
				err->position = 0;
			rc = -1;
		}
		PQclear(res);
	}
done:
	pc->is_quiet = was_quiet;
	pgquery_params_release(&p);
	return rc;
}

/* A read's results, as pgquery_each() takes them; its outcome. */
static int take_results(struct pg_conn *pc, struct db_read *r)
{
	bool is_done = false; /* its last result read: a session lost before
	                       * then is no empty table */
	PGresult *res;
	int rc = 0;

	PQsetSingleRowMode(pc->pg); /* refused: one result, as correct */
	while ((res = PQgetResult(pc->pg))) {
		ExecStatusType status = PQresultStatus(res);

		is_done = status != PGRES_SINGLE_TUPLE;
		if (status == PGRES_SINGLE_TUPLE || status == PGRES_TUPLES_OK) {
			if (rc == 0)
				rc = feed_rows(res, r->fn, r->data);
		} else if (status == PGRES_PIPELINE_ABORTED && rc == 0) {
			rc = strata_error_set(
			        r->err, STRATA_EFAILED,
			        "not read: an earlier read failed");
		} else if (status != PGRES_COMMAND_OK && rc == 0) {
			pgsession_error(r->err, pc->pg, res);
			if (r->err)
				r->err->position = 0;
			rc = -1;
		}
		PQclear(res);
	}
	if (!is_done && rc == 0) {
		pgsession_error(r->err, pc->pg, NULL);
		rc = -1;
	}
	return rc;
}

/*
 * The reads in one pipeline with one Sync: one write, one round trip.
 * Each query's results end with a NULL from PQgetResult(); the Sync's
 * result comes last. After an error the server skips the queries up to
 * the Sync (PGRES_PIPELINE_ABORTED).
 */
int pgquery_each_all(struct strata_conn *c, struct db_read *reads, size_t n)
{
	struct pg_conn *pc = pg_conn_of(c);
	bool was_quiet = pc->is_quiet, is_synced = false;
	size_t sent = 0;
	PGresult *res;
	int64_t t0;
	int rc = 0;

	pc->is_quiet = true;
	pgdrv_settle_cancel(pc);
	if (PQenterPipelineMode(pc->pg)) {
		for (; sent < n; sent++) {
			struct db_read *r = &reads[sent];
			struct pg_params p;
			int ok;

			pgquery_params_init(&p, r->n, r->params);
			ok = PQsendQueryParams(pc->pg, r->sql, (int)r->n,
			                       p.types, p.values, p.lengths,
			                       p.formats, 0);
			pgquery_params_release(&p);
			if (!ok)
				break;
		}
		is_synced = PQpipelineSync(pc->pg) == 1;
	}
	t0 = text_monotonic_ns();
	for (size_t i = 0; i < n; i++) {
		struct db_read *r = &reads[i];

		if (is_synced && i < sent) {
			r->rc = take_results(pc, r);
		} else {
			pgsession_error(r->err, pc->pg, NULL);
			r->rc = -1;
		}
		if (r->rc < 0)
			rc = -1;
	}
	if (is_synced && PQstatus(pc->pg) == CONNECTION_OK) {
		res = PQgetResult(pc->pg);
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
			pgexec_note_rtt(pc, t0);
		PQclear(res);
	}
	/* what is left unread, should the results have ended early */
	for (int i = 0; i < 1000 && !PQexitPipelineMode(pc->pg); i++) {
		if (PQstatus(pc->pg) != CONNECTION_OK)
			break;
		PQclear(PQgetResult(pc->pg));
	}
	pc->is_quiet = was_quiet;
	return rc;
}

/* to_regclass() of each, one column apiece: one statement, no error
 * logged for a missing table. */
int pgquery_tables_exist(bool *out, struct strata_conn *c,
                         const struct table_name *const *t, size_t n,
                         struct strata_error *err)
{
	const char *vals[8];
	struct sbuf sql = SBUF_INIT;
	PGresult *res;

	if (n > ARRAY_SIZE(vals))
		BUG("too many tables");
	sbuf_adds(&sql, "SELECT ");
	for (size_t i = 0; i < n; i++) {
		vals[i] = t[i]->quoted;
		sbuf_addf(&sql, "%spg_catalog.to_regclass($%zu) IS NOT NULL",
		          i ? ", " : "", i + 1);
	}
	res = pgexec_query(pg_conn_of(c), sql.buf, (int)n, NULL, vals, -1, 0,
	                   err);
	sbuf_release(&sql);
	if (!res)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = PQntuples(res) == 1 && PQnfields(res) == (int)n &&
		         !strcmp(PQgetvalue(res, 0, (int)i), "t");
	PQclear(res);
	return 0;
}

/*
 * CREATE TABLE IF NOT EXISTS refused for want of the CREATE privilege on
 * the schema (42501), which PostgreSQL checks before it looks for the
 * table: a table made by the schema's owner is used as it is; else the
 * error says which table strata was creating and the GRANT that lets it.
 */
int pgquery_create_failed(struct strata_conn *c, const struct table_name *t,
                          const char *what, struct strata_error *err)
{
	static const char sql[] =
	        "SELECT pg_catalog.to_regclass($1) IS NOT NULL, pg_catalog.quote_ident(coalesce($2, pg_catalog.current_schema())), pg_catalog.quote_ident($3), pg_catalog.quote_ident(current_user)";
	struct pg_conn *pc = pg_conn_of(c);
	const char *vals[] = { t->quoted, t->schema, t->name };
	PGresult *res;
	int rc = -1;

	if (!err || strcmp(err->sqlstate, "42501"))
		return -1;
	res = PQexecParams(pc->pg, sql, 3, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		goto done;
	if (!strcmp(PQgetvalue(res, 0, 0), "t")) {
		strata_error_release(err);
		rc = 0;
		goto done;
	}
	error_prefix(err, "could not create the %s %s.%s", what,
	             PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	strata_error_hint(
	        err,
	        "Grant the role the right to create it (GRANT CREATE ON SCHEMA %s TO %s;), have the schema's owner create it, or keep the history in a schema the role may create in.",
	        PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 3));
	strata_error_reason(err, STRATA_REASON_HISTORY_TABLE, -1);
done:
	PQclear(res);
	return rc;
}

/* exactly sqlx's DDL (sqlx-postgres, ensure_migrations_table) */
const char pgquery_history_ddl[] =
        "CREATE TABLE IF NOT EXISTS %s (\n"
        "    version BIGINT PRIMARY KEY,\n"
        "    description TEXT NOT NULL,\n"
        "    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
        "    success BOOLEAN NOT NULL,\n"
        "    checksum BYTEA NOT NULL,\n"
        "    execution_time BIGINT NOT NULL\n"
        ");";

int pgquery_table_exists(bool *out, struct strata_conn *c,
                         const struct table_name *t, struct strata_error *err)
{
	const char *vals[] = { t->quoted };
	PGresult *res = pgexec_query(
	        pg_conn_of(c), "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
	        1, NULL, vals, -1, 0, err);

	if (!res)
		return -1;
	*out = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return 0;
}
