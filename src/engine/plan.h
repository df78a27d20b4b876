/* How each migration will run */
#ifndef STRATA_ENGINE_PLAN_H
#define STRATA_ENGINE_PLAN_H

#include "util/common.h"
#include "engine/db.h"
#include "sql/split.h"

enum run_mode {
	MODE_TXN,     /* in a transaction with its history row */
	MODE_NO_TXN,  /* -- no-transaction: one statement per call, fenced */
	MODE_OWN_TXN, /* manages its own BEGIN/COMMIT: as written, fenced */
	MODE_BATCH,   /* -- strata:batch: one statement again and again, each
	                 run its own transaction, until it changes no row;
	                 fenced */
};

/* `-- strata:batch size=N target=DURATION pause=DURATION max-lag=DURATION
 * max-active=N total=SELECT ...`; 0 or NULL: not given */
struct batch_opts {
	int64_t size;       /* the first batch's */
	double target;      /* seconds one batch should take */
	double pause;       /* seconds between batches */
	double max_lag;     /* a standby's replay lag to wait out */
	int64_t max_active; /* other active client sessions to wait out */
	char *total;        /* a query counting the rows to do */
};

struct plan_step {
	const struct strata_migration *m;
	const char *path; /* the file this step runs */
	const char *sql;
	size_t len;
	struct strata_script script;
	enum run_mode mode;
	/* from `-- strata:KEY=VALUE` directives; < 0: not given */
	double lock_timeout, statement_timeout, warn_after;
	double concurrent_lock_timeout;
	struct batch_opts batch; /* MODE_BATCH's */
	/* MODE_BATCH: `sql` is this copy of the file, :batch_size bound as
	 * $1 (see sql/batchsql.h) */
	char *bound_sql;
	/* a batch migration recorded as failed (killed, stopped): run goes
	 * on from where it stopped, under the fence row already there */
	bool is_resume;
};

struct plan {
	struct plan_step *steps;
	size_t n, alloc;
};

/*
 * Splits and checks the up (or, with is_down, down) file of each
 * migration, in order, before anything runs: statements that cannot run
 * in a transaction in a transactional file, COPY FROM STDIN, SQL the
 * parser rejects (unless the server is newer than the parser), and
 * anything --single-transaction cannot hold fail with STRATA_EVALIDATE
 * naming file, line and statement.
 */
struct plan_ctx {
	const struct strata_driver *drv; /* whose split() parses the files */
	int server_version;   /* 0: offline, judged as the parser's version */
	struct strata_db *db; /* where warnings go; NULL: dropped */
	struct strata_lint *lint; /* run's lint gate: each step is linted
	                             as it is planned, from the same parse */
	/* the source's layout, for a database not bound to one yet
	 * (validate); AUTO: the database's */
	enum strata_layout layout;
};

/* The context of `db`, or with db NULL PostgreSQL's parser offline. */
void plan_ctx_init(struct plan_ctx *ctx, struct strata_db *db);
int plan_add(struct plan *p, const struct plan_ctx *ctx,
             const struct strata_migration *m, bool is_down,
             bool is_single_transaction, struct strata_error *err);
/* Room for `n` more steps, exactly: a plan of 10,000 grown by doubling
 * held room for 16,384. */
void plan_reserve(struct plan *p, size_t n);
/*
 * The driver's parse of the up files of `ms`, made ahead on other threads
 * (a bounded distance ahead, so memory does not grow with the plan), for
 * plan_add_next() to take in order: parsing is most of planning. Without
 * threads to spare (or with a driver whose split() is not DRV_SPLIT_THREADS)
 * it does nothing and plan_add_next() is plan_add().
 */
struct presplit;
struct presplit *presplit_start(const struct plan_ctx *ctx,
                                const struct strata_migration *const *ms,
                                size_t n);
/* plan_add() of ms[i] (up), i counting from 0 in the order started. */
int plan_add_next(struct plan *p, const struct plan_ctx *ctx,
                  struct presplit *ps, size_t i,
                  const struct strata_migration *m, bool is_single_transaction,
                  struct strata_error *err);
void presplit_stop(struct presplit *ps);
void plan_release(struct plan *p);
/* What a step owns besides its script. */
void plan_step_release(struct plan_step *step);
/* Whether a text is a batch migration's: a `-- strata:batch` line among
 * the comments that open it. */
bool plan_is_batch(const char *sql, size_t len);
/* Fills err's file, line and column from the driver's statement/position. */
void plan_locate_error(const struct plan_step *step, struct strata_error *err);

#endif
