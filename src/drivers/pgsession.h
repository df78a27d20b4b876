/*
 * A PostgreSQL session as the driver and the backups both speak it
 * (libpq): errors as strata_error, connecting with strata's connect
 * timeout, a session on the maintenance database, and sessions described
 * as a lock's or a table's holder is named. The backups reach their
 * connection through the driver table (handle()); what they do with it
 * beyond that is this module's, so that neither duplicates the other and
 * backup_pg.c needs none of the driver's internals. Only files that use
 * libpq include it.
 */
#ifndef STRATA_DRIVERS_PGSESSION_H
#define STRATA_DRIVERS_PGSESSION_H

#include "util/common.h"
#include "util/sbuf.h"

#include <stdatomic.h>
#include "engine/url.h"

#include "drivers/pq.h"

/* seconds: a server that accepts and never answers must not hang us */
#define DEFAULT_CONNECT_TIMEOUT STRATA_DEFAULT_CONNECT_TIMEOUT

/* A copy of `s` without trailing white space (libpq ends with "\n"). */
char *pgsession_trimmed(const char *s);
/*
 * Fills `err` from a failed result (or, with res NULL, the session's
 * last error): message, SQLSTATE, detail, hint, position; -1.
 */
int pgsession_error(struct strata_error *err, PGconn *pg, const PGresult *res);
/*
 * 0 when `pg` is connected, else -1 with err saying why, the URL shown as
 * `redacted` and `password` (may be NULL) kept out of every message.
 */
int pgsession_check_connected(PGconn *pg, const char *redacted,
                              const char *password, struct strata_error *err);
/* The password a conninfo string or URL holds, or NULL (caller frees). */
char *pgsession_conninfo_password(const char *conninfo);
/* A notice receiver for sessions with no one to tell. */
void pgsession_drop_notice(void *arg, const PGresult *res);
/* Whether `res` is no error; a COPY is ended on the way (see there). */
bool pgsession_result_ok(PGconn *pg, const PGresult *res);
/* Runs `sql` (no result wanted) on `pg`; -1 with err set on failure. */
int pgsession_run(PGconn *pg, const char *sql, struct strata_error *err);
/*
 * PQconnectdbParams() (NULL-terminated `keys` and `vals`) with strata's
 * connect timeout before them, so that the URL's own wins.
 */
PGconn *pgsession_connect(const char *const *keys, const char *const *vals,
                          int expand);
/*
 * A session opened beside the work while it runs (the monitor), within
 * `timeout` seconds: polled, so that strata_cancel() ends the wait at
 * once. NULL when cancelled, out of time or refused.
 */
PGconn *pgsession_connect_beside(const char *const *keys,
                                 const char *const *vals, int expand,
                                 double timeout);
/*
 * The same, until `deadline` (text_monotonic_ns(); 0: none) or until
 * `*stop` is set (NULL: never).
 */
PGconn *pgsession_connect_polled(const char *const *keys,
                                 const char *const *vals, int expand,
                                 int64_t deadline, const atomic_bool *stop);
/* The connect timeout in seconds that pgsession_connect() passes (< 0:
 * none). */
double pgsession_connect_timeout(void);
/*
 * A session on the maintenance database ("postgres", else "template1")
 * with the URL's other options; `*out_target` is the database the URL
 * names (caller frees).
 */
int pgsession_maintenance_connect(PGconn **out, char **out_target,
                                  const struct strata_url *url,
                                  struct strata_error *err);
/* Whether database `name` exists, asked on `pg`. */
int pgsession_database_exists(bool *out, PGconn *pg, const char *name,
                              struct strata_error *err);

/*
 * One session as a lock's holder is named: "pid 42 (user 'u', application
 * 'a', idle in transaction, in a transaction for 3 s): QUERY", from row
 * `row` of `res`, whose columns are pid, user, application, state, seconds
 * in the transaction (-1: none), query (left out with is_hide_query) and
 * whether the session is another role's that this role may not see (its
 * state and query hidden: pg_read_all_stats shows them).
 */
#define PGSESSION_COLUMNS                                                      \
	"a.pid, coalesce(a.usename, ''), coalesce(a.application_name, ''), "   \
	"coalesce(a.state, ''), "                                              \
	"coalesce(extract(epoch FROM now() - a.xact_start)::bigint, -1), "     \
	"left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200), " \
	"a.state IS NULL AND a.usesysid IS NOT NULL AND "                      \
	"NOT pg_catalog.pg_has_role(a.usesysid, 'USAGE') AND "                 \
	"NOT pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')"
#define PGSESSION_NCOLUMNS 7
void pgsession_describe(struct sbuf *who, const PGresult *res, int row,
                        bool is_hide_query);
/* The state of that session's row, with why it is unknown when it is. */
const char *pgsession_state(const PGresult *res, int row);
/* Whether its query may be shown (not another role's hidden one). */
bool pgsession_query_visible(const PGresult *res, int row);

/* key='value' for a libpq keyword string, quoted as libpq reads it. */
void pgsession_add_keyword(struct sbuf *sb, const char *key, const char *value);
/* `base`'s server and options with database `dbname`, as a keyword
 * string in `out` (its password kept, for connecting). */
int pgsession_url_on_server(struct strata_url *out,
                            const struct strata_url *base, const char *dbname,
                            struct strata_error *err);

#endif
