/*
 * The SQLite driver's connection, shared by its files: driver_sqlite.c
 * (connecting, errors, statements, batches, the driver table),
 * sqlite_query.c (strata's own tables) and sqlite_database.c.
 */
#ifndef STRATA_DRIVERS_SQLITE_CONN_H
#define STRATA_DRIVERS_SQLITE_CONN_H

#include "util/common.h"
#include "util/cancel.h"
#include "drivers/driver.h"
#include "util/sqlite_lib.h"

struct sqlite_conn {
	struct strata_conn base;
	sqlite3 *db;
	char *where; /* the redacted URL, for messages */
	/* strata_cancel() interrupts the statement running */
	struct cancel_hook cancel;
	/* the busy wait: how long in all, and since when */
	int busy_ms;
	int64_t busy_since_ns;
};

static inline struct sqlite_conn *to_sqlite(struct strata_conn *c)
{
	return (struct sqlite_conn *)c;
}

/* driver_sqlite.c: reads the schema, so a file that is no database fails
 * now; an SQLite result code. */
int sqlitedrv_check_database(sqlite3 *db);

/* sqlite_query.c: the driver table's query, query_each and query_each_all */
int sqlitequery_query(struct strata_conn *conn, const char *sql, size_t n,
                      const struct db_value *params, struct db_rows *out,
                      struct strata_error *err);
int sqlitequery_each(struct strata_conn *conn, const char *sql, size_t n,
                     const struct db_value *params, db_row_fn *fn, void *data,
                     struct strata_error *err);
int sqlitequery_each_all(struct strata_conn *conn, struct db_read *reads,
                         size_t n);

/* sqlite_database.c: the driver table's database_create, _drop, _exists */
int sqlitedb_create(const struct strata_url *url, struct strata_error *err);
int sqlitedb_drop(const struct strata_url *url, bool is_force,
                  struct strata_error *err);
int sqlitedb_exists(bool *out, const struct strata_url *url,
                    struct strata_error *err);

#endif
