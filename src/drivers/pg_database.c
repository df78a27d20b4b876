/*
 * PostgreSQL databases themselves: create, drop and exists, through a
 * maintenance database as createdb and dropdb do.
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

int pgdatabase_exists(bool *out, const struct strata_url *url,
                      struct strata_error *err)
{
	PGconn *pg;
	char *name;
	int rc;

	if (pgsession_maintenance_connect(&pg, &name, url, err) < 0)
		return -1;
	rc = pgsession_database_exists(out, pg, name, err);
	PQfinish(pg);
	free(name);
	return rc;
}

int pgdatabase_create(const struct strata_url *url, struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	PGconn *pg;
	char *name;
	bool exists = false;
	int rc = -1;

	if (pgsession_maintenance_connect(&pg, &name, url, err) < 0)
		return -1;
	if (pgsession_database_exists(&exists, pg, name, err) < 0)
		goto done;
	if (!exists) {
		sbuf_adds(&sql, "CREATE DATABASE ");
		sbuf_add_ident(&sql, name);
		if (pgsession_run(pg, sql.buf, err) < 0) {
			/* 42P04: created meanwhile, which is what was asked */
			if (!err || strcmp(err->sqlstate, "42P04"))
				goto done;
			strata_error_release(err);
		}
	}
	rc = 0;
done:
	sbuf_release(&sql);
	PQfinish(pg);
	free(name);
	return rc;
}

int pgdatabase_drop(const struct strata_url *url, bool is_force,
                    struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	const char *vals[1];
	PGconn *pg;
	PGresult *res;
	char *name;
	int rc = -1;

	if (pgsession_maintenance_connect(&pg, &name, url, err) < 0)
		return -1;
	vals[0] = name;
	if (is_force && PQserverVersion(pg) < 130000) {
		/* no WITH (FORCE) before PostgreSQL 13: end the sessions */
		res = PQexecParams(
		        pg,
		        "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
		        1, NULL, vals, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			pgsession_error(err, pg, res);
			PQclear(res);
			goto done;
		}
		PQclear(res);
	}
	sbuf_adds(&sql, "DROP DATABASE IF EXISTS ");
	sbuf_add_ident(&sql, name);
	if (is_force && PQserverVersion(pg) >= 130000)
		sbuf_adds(&sql, " WITH (FORCE)");
	if (pgsession_run(pg, sql.buf, err) < 0) {
		/* 55006: other sessions are connected to it */
		if (err && !strcmp(err->sqlstate, "55006") && !is_force)
			strata_error_hint(
			        err,
			        "End the other sessions first, or drop it with force.");
		goto done;
	}
	rc = 0;
done:
	sbuf_release(&sql);
	PQfinish(pg);
	free(name);
	return rc;
}
