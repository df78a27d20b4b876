/*
 * A fleet's targets from a query (design.md, Fleets): each row of the
 * query's first column a URL, or a database name on the server of the
 * database queried. The query runs read-only.
 */
#include "util/error.h"
#include "util/xalloc.h"
#include "drivers/driver.h"
#include "drivers/pgsession.h"
#include "engine/db.h"
#include "engine/url.h"

#include <stdlib.h>
#include <string.h>

/* `url`, which must be PostgreSQL's for `what`. */
static int open_pg(struct strata_db **db, const char *url, const char *what,
                   struct strata_error *err)
{
	if (strata_db_open(db, url, NULL, err) < 0)
		return -1;
	if (!strcmp((*db)->drv->name, "postgres"))
		return 0;
	strata_error_set(err, STRATA_EUSAGE, "%s needs a PostgreSQL database",
	                 what);
	return strata_error_hint(
	        err, "Name the targets in a file with --targets FILE.");
}

int strata_fleet_query_targets(char ***out, size_t *out_n, const char *url,
                               const char *sql, struct strata_error *err)
{
	struct strata_db *db = NULL;
	struct db_rows rows = { 0 };
	char **list = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	*out_n = 0;
	if (open_pg(&db, url, "a fleet query", err) < 0)
		goto done;
	if (db->drv->exec(
	            db->conn,
	            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
	            err) < 0 ||
	    db->drv->query(db->conn, sql, 0, NULL, &rows, err) < 0) {
		error_prefix(err, "the fleet query failed");
		goto done;
	}
	list = xcalloc(rows.n_rows + 1, sizeof(*list));
	for (size_t r = 0; r < rows.n_rows; r++) {
		const char *v = rows.n_cols ? db_rows_get(&rows, r, 0) : NULL;
		struct strata_url u = { 0 };

		if (!v || !*v)
			continue;
		if (url_is_url(v)) {
			list[n++] = xstrdup(v);
			continue;
		}
		if (pgsession_url_on_server(&u, &db->url, v, err) < 0) {
			url_release(&u);
			goto done;
		}
		list[n++] = xstrdup(u.raw);
		url_release(&u);
	}
	*out = list;
	*out_n = n;
	list = NULL;
	rc = 0;
done:
	if (list) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
	}
	db_rows_release(&rows);
	strata_db_close(db);
	return rc;
}

int strata_fleet_query_schemas(char ***out, size_t *out_n, const char *url,
                               const char *pattern, struct strata_error *err)
{
	struct strata_db *db = NULL;
	struct db_rows rows = { 0 };
	struct db_value like = DBV_TEXT(pattern);
	char **list = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	*out_n = 0;
	if (open_pg(&db, url, "a schema per tenant", err) < 0)
		goto done;
	if (db->drv->query(db->conn,
	                   "SELECT nspname FROM pg_catalog.pg_namespace"
	                   " WHERE nspname LIKE $1 ORDER BY nspname",
	                   1, &like, &rows, err) < 0)
		goto done;
	list = xcalloc(rows.n_rows + 1, sizeof(*list));
	for (size_t r = 0; r < rows.n_rows; r++)
		list[n++] = xstrdup(db_rows_get(&rows, r, 0));
	*out = list;
	*out_n = n;
	rc = 0;
done:
	db_rows_release(&rows);
	strata_db_close(db);
	return rc;
}

int strata_fleet_free_connections(int *out, const char *url,
                                  struct strata_error *err)
{
	struct strata_db *db = NULL;
	struct db_rows rows = { 0 };
	int rc = -1;

	*out = -1;
	if (strata_db_open(&db, url, NULL, err) < 0)
		return -1;
	if (strcmp(db->drv->name, "postgres") != 0) {
		rc = 0; /* no server: no limit */
		goto done;
	}
	/* what a role without superuser may still open */
	if (db->drv->query(
	            db->conn,
	            "SELECT current_setting('max_connections')::int"
	            " - current_setting('superuser_reserved_connections')::int"
	            " - (SELECT count(*) FROM pg_catalog.pg_stat_activity"
	            " WHERE backend_type = 'client backend')::int",
	            0, NULL, &rows, err) < 0)
		goto done;
	if (rows.n_rows == 1 && db_rows_get(&rows, 0, 0))
		*out = (int)strtol(db_rows_get(&rows, 0, 0), NULL, 10);
	rc = 0;
done:
	db_rows_release(&rows);
	strata_db_close(db);
	return rc;
}
