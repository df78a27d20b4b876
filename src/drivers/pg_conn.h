/*
 * The PostgreSQL driver's connection, shared by its files: driver_pg.c
 * (connecting, the driver table), pg_exec.c (running SQL: migrations'
 * statements, pipelines, transactions), pg_query.c (strata's own tables),
 * pg_lock.c (the migration lock and the sessions that watch a waiting
 * statement) and pg_database.c (database create, drop, exists).
 */
#ifndef STRATA_DRIVERS_PG_CONN_H
#define STRATA_DRIVERS_PG_CONN_H

#include "util/common.h"
#include "util/cancel.h"
#include "util/arena.h"
#include "util/strmap.h"
#include "drivers/driver.h"
#include "drivers/pgsession.h"

#include "drivers/pq.h"
#include <signal.h>

/* Type OIDs of the parameters we send (server's catalog/pg_type_d.h). */
#define BOOLOID  16
#define BYTEAOID 17
#define INT8OID  20
#define TEXTOID  25

/* Where a migration starts on the server's clock, as seconds since the
 * epoch in text: exact, whatever the DateStyle a migration sets. */
#define PG_STEP_MARK                                                       \
	"pg_catalog.set_config('strata.step_at', CAST(extract(epoch FROM " \
	"pg_catalog.clock_timestamp()) AS text), true)"

/* A session strata_cancel() reaches: PQcancel() is async-signal-safe. */
struct pg_cancel {
	struct cancel_hook hook;
	PGcancel *cancel;
	volatile sig_atomic_t is_sent; /* a request went out: see
	                                  pgdrv_settle_cancel() */
};

struct pg_conn {
	struct strata_conn base;
	PGconn *pg;
	PGconn *lock_pg; /* the lock's dedicated session, NULL when none */
	/* its current_database() and current_schema(), asked as it opened
	 * and read when the lock is taken: NULL until then */
	char *lock_db, *lock_schema;
	/*
	 * Where a waiting statement is looked at (the phase, the blocker):
	 * its own session, "strata monitor", opened when first needed, so
	 * that the lock session's pg_stat_activity row says which migration
	 * its holder applies, and since when (see announce()). NULL: not
	 * opened yet; when it cannot be, the lock session does it.
	 */
	PGconn *monitor_pg;
	bool is_monitor_failed;
	bool is_announce_pending; /* a result to read on lock_pg */
	bool is_names_pending;    /* lock_db's and lock_schema's, likewise */
	const struct strata_migration *announced;
	char *conninfo; /* url->raw: holds the password, never shown */
	char *redacted;
	int64_t lock_key;
	int64_t tool_lock_key; /* golang-migrate's, beside it; 0: none */
	int64_t busy_key;      /* the key another session held last */
	/*
	 * A random key the lock session holds beside the lock's while it
	 * lives: the check before each COMMIT looks at this one, which no
	 * other session can hold, so that a lock taken over by a successor
	 * after the lock session ended is not taken for ours.
	 */
	int64_t session_key;
	bool is_locked;
	/* while a migration's statement waits: who blocks it, sampled on
	 * the lock connection */
	char *blocker; /* "pid 123 (user u, ...)": for the error */
	int blocker_pid;
	int64_t reported_ns; /* when the BLOCKED event was last sent */
	int64_t lock_ms;     /* the lock_timeout set last, < 0 when reset */
	int64_t rtt_ns;      /* the quickest round trip seen, 0: none yet */
	bool is_quiet;       /* running strata's own SQL: drop notices */
	/* reading the results of many migrations sent at once (COALESCE_NS
	 * in pg_exec.c): when input last came in, 0 once waited for */
	bool is_coalescing;
	int64_t input_ns;
	/*
	 * strata's own SQL with parameters (the history's and the audit's
	 * rows), parsed and planned once per session: its parameter types
	 * and text to the number in its name, strata_N
	 */
	struct strmap prepared;
	struct arena prepared_keys;
	unsigned n_prepared; /* names handed out */
	/* of pg and lock_pg, while they are connected */
	struct pg_cancel cancel, lock_cancel;
};

static inline struct pg_conn *pg_conn_of(struct strata_conn *c)
{
	return (struct pg_conn *)c;
}

/* driver_pg.c: lets strata_cancel() reach the session `pg` (connected). */
void pgdrv_cancel_arm(struct pg_cancel *c, PGconn *pg);
void pgdrv_cancel_disarm(struct pg_cancel *c);
/* Before strata's own SQL on the work session: a cancel request sent for
 * a migration's statement is spent, so that it cannot cancel this. */
void pgdrv_settle_cancel(struct pg_conn *pc);

/* pg_exec.c */
/* pgsession_run() for strata's own SQL: notices dropped, no position. */
int pgexec_run_quiet(struct pg_conn *pc, const char *sql,
                     struct strata_error *err);
/*
 * One statement of strata's own with text parameters (`binary` marks the
 * one sent as raw bytes, -1 for none); the result, or NULL with err set.
 */
PGresult *pgexec_query(struct pg_conn *pc, const char *sql, int n,
                       const Oid *types, const char *const *values, int binary,
                       int binary_len, struct strata_error *err);
/* The driver table's exec and exec_batch. */
/* driver.h's exec_rows */
int pgexec_exec_rows(struct strata_conn *c, const char *sql, int64_t limit,
                     int64_t *rows, bool *was_blocked,
                     struct strata_error *err);
int pgexec_exec(struct strata_conn *c, const char *sql,
                struct strata_error *err);
int pgexec_batch(struct strata_conn *c, const struct batch *b,
                 struct strata_error *err);
void pgexec_rollback(struct strata_conn *c);

/* pg_query.c */
/* db_value parameters as libpq takes them. */
struct pg_params {
	const char **values;
	int *lengths, *formats;
	Oid *types;
	char (*ints)[24];
};

void pgquery_params_init(struct pg_params *p, size_t n,
                         const struct db_value *params);
void pgquery_params_release(struct pg_params *p);
/* The driver table's query, query_each, create_failed, table_exists and
 * history_ddl. */
int pgquery_query(struct strata_conn *c, const char *sql, size_t n,
                  const struct db_value *params, struct db_rows *out,
                  struct strata_error *err);
int pgquery_each(struct strata_conn *c, const char *sql, size_t n,
                 const struct db_value *params, db_row_fn *fn, void *data,
                 struct strata_error *err);
int pgquery_create_failed(struct strata_conn *c, const struct table_name *t,
                          const char *what, struct strata_error *err);
int pgquery_table_exists(bool *out, struct strata_conn *c,
                         const struct table_name *t, struct strata_error *err);
int pgquery_tables_exist(bool *out, struct strata_conn *c,
                         const struct table_name *const *t, size_t n,
                         struct strata_error *err);
int pgquery_each_all(struct strata_conn *c, struct db_read *reads, size_t n);
extern const char pgquery_history_ddl[];

/* pg_lock.c */
/* Closes the lock's session (the lock goes with it) and the monitor's. */
void pglock_close(struct pg_conn *pc);
/* The session that looks at a waiting statement, opened when first
 * needed; NULL when none can be had. */
PGconn *pglock_monitor_session(struct pg_conn *pc);
/* Tells the lock session's pg_stat_activity row which migration runs
 * (see pg_lock.c); is_reset: a new statement began. */
void pglock_announce(struct pg_conn *pc, bool is_reset);
/* Whether the work session may be waiting on a lock (true when unknown). */
bool pglock_work_may_wait(struct pg_conn *pc);
int pglock_lock(struct strata_conn *c, double wait, struct strata_error *err);
/* Connects the lock session now, without a lock (strata_db_prepare()). */
void pglock_prepare(struct strata_conn *c);
/* The lock's session connected on a thread while the work's connects
 * (NULL: no thread), and made the lock's once both are done. */
struct pglock_ahead;
struct pglock_ahead *pglock_ahead_begin(const char *conninfo);
void pglock_ahead_end(struct pg_conn *pc, struct pglock_ahead *a);
int pglock_check(struct strata_conn *c, struct strata_error *err);
/* A round trip on the work session begun at `t0` (text_monotonic_ns())
 * has ended: the quickest so far stands for the network's round-trip
 * time, which delays the first look at a waiting statement. */
void pgexec_note_rtt(struct pg_conn *pc, int64_t t0);
/* `err` becomes pglock_check()'s error for a lock the server says is
 * lost (a BATCH_LOCK_CHECK that failed). Returns -1. */
int pglock_lost(struct pg_conn *pc, struct strata_error *err);
int pglock_runner(struct strata_conn *c, struct strata_runner *out,
                  struct strata_error *err);
void pglock_unlock(struct strata_conn *c);

/* pg_database.c */
int pgdatabase_exists(bool *out, const struct strata_url *url,
                      struct strata_error *err);
int pgdatabase_create(const struct strata_url *url, struct strata_error *err);
int pgdatabase_drop(const struct strata_url *url, bool is_force,
                    struct strata_error *err);

#endif
