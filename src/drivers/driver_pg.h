/*
 * What the PostgreSQL driver lends to backup_pg.c, which speaks libpq too:
 * the session of a connection, its error mapping, and a session on the
 * maintenance database. Only files that use libpq include it.
 */
#ifndef STRATA_DRIVER_PG_H
#define STRATA_DRIVER_PG_H

#include "util/common.h"
#include "util/sbuf.h"
#include "drivers/driver.h"

#include <libpq-fe.h>

/* The libpq session of a connection made by pgdrv_driver. */
PGconn *pgdrv_session(struct strata_conn *c);
/* Fills `err` from a failed result or session (see set_error); -1. */
int pgdrv_error(struct strata_error *err, PGconn *pg, const PGresult *res);
/*
 * A session on the maintenance database ("postgres", else "template1")
 * with the URL's other options; `*out_target` is the database the URL
 * names (caller frees).
 */
int pgdrv_maintenance_connect(PGconn **out, char **out_target,
                              const struct strata_url *url,
                              struct strata_error *err);
/*
 * One session as a lock's holder is named: "pid 42 (user 'u', application
 * 'a', idle in transaction, in a transaction for 3 s): QUERY", from row
 * `row` of `res`, whose columns are pid, user, application, state, seconds
 * in the transaction (-1: none), query (left out with is_hide_query) and
 * whether the session is another role's that this role may not see (its
 * state and query hidden: pg_read_all_stats shows them).
 */
#define PGDRV_SESSION_COLUMNS                                                  \
	"a.pid, coalesce(a.usename, ''), coalesce(a.application_name, ''), "   \
	"coalesce(a.state, ''), "                                              \
	"coalesce(extract(epoch FROM now() - a.xact_start)::bigint, -1), "     \
	"left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200), " \
	"a.state IS NULL AND a.usesysid IS NOT NULL AND "                      \
	"NOT pg_catalog.pg_has_role(a.usesysid, 'USAGE') AND "                 \
	"NOT pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')"
#define PGDRV_SESSION_NCOLUMNS 7
void pgdrv_describe_session(struct sbuf *who, const PGresult *res, int row,
                            bool is_hide_query);
/* The state of that session's row, with why it is unknown when it is. */
const char *pgdrv_session_state(const PGresult *res, int row);
/* Whether its query may be shown (not another role's hidden one). */
bool pgdrv_session_query_visible(const PGresult *res, int row);
/* Runs `sql` (no result wanted) on `pg`; -1 with err set on failure. */
int pgdrv_run(PGconn *pg, const char *sql, struct strata_error *err);

#endif
