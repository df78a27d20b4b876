/* What a running migration reports */
#ifndef STRATA_ENGINE_PROGRESS_H
#define STRATA_ENGINE_PROGRESS_H

#include "util/common.h"
#include "drivers/driver.h"

/*
 * The migrator attaches this to the connection while a migration's script
 * runs; the driver says when each statement starts, who blocks it, and
 * ticks while it waits for a result (at progress_due_ns(), or any time:
 * early ticks are dropped). Out of that come STRATA_EVENT_PROGRESS, at
 * most one per PROGRESS_TICK_MS besides statement changes, and the one
 * warning of warn_after. Every function is a no-op on a connection with
 * nothing attached.
 */
#define PROGRESS_TICK_MS 200

struct plan_step;

struct progress {
	const struct strata_migration *m; /* NULL: none since the reset */
	const struct strata_script *script;
	/* the text shown of its statements: a batch migration's file as
	 * written (its script holds :batch_size bound as $1, at the same
	 * offsets) */
	const char *text_sql;
	bool is_down;
	bool is_hide_queries;
	bool is_warned;
	int64_t started_ns; /* the migration's first attempt (monotonic) */
	int64_t reported_ns;
	int64_t warn_after_ns; /* 0: never */
	size_t at;             /* the statement running, 1-based; 0: unknown */
	/* statements of the script before the part the driver runs (a
	 * no-transaction file is run one statement at a time) */
	size_t first;
	char text[400];  /* its start, one line ("": none) */
	char phase[256]; /* the server's account of it ("": none) */
	int percent;     /* of the phase; -1: not known */
	/* a batch migration's: the phase is its account of the batches,
	 * which the server's (progress_phase()) does not replace */
	bool is_batch;
	/* who blocks it, as last sampled; pid 0: nobody */
	int holder_pid;
	/* since when the migration has waited on since_pid, over its
	 * attempts (a probe lasts milliseconds: the wait is the sum) */
	int since_pid;
	int64_t holder_since_ns;
	char holder_user[64], holder_state[128], holder_application[64];
};

/* A new command: the next migration starts its clock afresh. */
void progress_reset(struct progress *p);
/* Around a step's statements: a failed step keeps its clock for a
 * retry of the same migration. */
void progress_start(struct strata_db *db, const struct plan_step *step,
                    bool is_down);
void progress_stop(struct strata_db *db, bool is_success);
/* For the drivers. */
void progress_statement(struct strata_conn *c, size_t k);
/* `waited`: seconds the statement has waited on it, as the server says
 * (pg_locks.waitstart); < 0: not known, counted from the first report. */
void progress_holder(struct strata_conn *c, int pid, const char *user,
                     const char *state, const char *application, double waited);
/* The server's phase of the statement (NULL: none) and its percent. */
void progress_phase(struct strata_conn *c, const char *phase, int percent);
/* A batch migration's account of its batches, as the phase. */
void progress_batch(struct strata_conn *c, const char *phase, int percent);
void progress_tick(struct strata_conn *c);
/* When the next tick is due (monotonic ns); INT64_MAX when nothing is. */
int64_t progress_due_ns(const struct strata_conn *c);

#endif
