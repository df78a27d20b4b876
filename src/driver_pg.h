/*
 * What the PostgreSQL driver lends to backup_pg.c, which speaks libpq too:
 * the session of a connection, its error mapping, and a session on the
 * maintenance database. Included after internal.h, only by files that
 * use libpq.
 */
#ifndef STRATA_DRIVER_PG_H
#define STRATA_DRIVER_PG_H

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
/* Runs `sql` (no result wanted) on `pg`; -1 with err set on failure. */
int pgdrv_run(PGconn *pg, const char *sql, struct strata_error *err);

#endif
