/*
 * The steps of run and revert, shared by their files: step.c (what every
 * step does: lock and history, timeouts, cancel, failure, retries),
 * migrate.c (run: transactional steps, --single-transaction), fenced.c
 * (non-transactional steps) and revert.c.
 */
#ifndef STRATA_ENGINE_MIGRATE_H
#define STRATA_ENGINE_MIGRATE_H

#include "util/common.h"
#include "engine/db.h"
#include "engine/audit.h"
#include "engine/history.h"
#include "engine/plan.h"

/* seconds: short enough that a blocked migration never queues traffic
 * behind it for long; retries make up for it */
#define DEFAULT_LOCK_TIMEOUT STRATA_DEFAULT_LOCK_TIMEOUT
/*
 * A waiting lock request queues every later request on the table behind
 * it. An attempt with another after it only probes: it waits at most this
 * long for a lock, so that while a long transaction blocks the migration
 * the application's queries are held up for milliseconds per attempt;
 * the last attempt waits the whole lock_timeout.
 */
#define DEFAULT_LOCK_PROBE STRATA_DEFAULT_LOCK_PROBE

/* step.c */
/* The first failed record, checked (see history_check_row()). */
int step_check_failed(const struct history *h, const struct strata_source *src,
                      struct strata_error *err);
/* The texts of the failed records' migrations, deferred by the load: what
 * a failed record is (a batch migration that goes on) is read in them. */
int step_read_failed_ups(const struct history *h,
                         const struct strata_source *src,
                         struct strata_error *err);
/* Takes the lock, creates the tables (is_create), then reads the history. */
int step_lock_and_read(struct strata_db *db, struct history *h, bool is_create,
                       struct strata_error *err);
/* The history and audit tables, created when missing: the history's
 * only when the read under the lock did not find it (is_history_there). */
int step_ensure_tables(struct strata_db *db, bool is_history_there,
                       struct strata_error *err);
/* The kept history (db->is_history_kept) after a transactional step of
 * `m` committed: its row added, or taken out for a revert. */
void step_kept_applied(struct strata_db *db, const struct strata_migration *m);
void step_kept_reverted(struct strata_db *db, const struct strata_migration *m);
/* Anything else written to the history, or a step that failed: the next
 * step reads it again. */
void step_forget_history(struct strata_db *db);
/* A step's directive, else the option, else the default; ms, 0: none. */
int64_t step_timeout_ms(double directive, double option, double fallback);
/* The step's lock and statement timeouts, for its transaction (is_local)
 * or the session; an attempt that probes (db->is_lock_probe) waits less. */
void step_add_timeouts(struct batch *b, struct strata_db *db,
                       const struct plan_step *step, bool is_local);
/* 0 while the migration lock stands, else -1 (STRATA_ELOCK). */
int step_check_lock(struct strata_db *db, struct strata_error *err);
/* The session's timeouts back to the server's defaults. */
void step_reset_timeouts(struct strata_db *db);
/* `b` (empty after) then a step's statements, their progress reported as
 * they run. */
int step_exec(struct strata_db *db, struct batch *b,
              const struct plan_step *step, bool is_down, bool is_one_per_call,
              struct strata_error *err);
/* --single-transaction's end: the last step's rows and COMMIT, once the
 * lock is known to stand; rolled back on failure. */
int step_commit_all(struct strata_db *db, struct batch *b,
                    struct strata_error *err);
/*
 * `b` (BEGIN and SET LOCAL; empty after), the step's statements, its
 * history change and audit row (started at `started_at_ns`) timed by the
 * server (the driver's elapsed_ns, which it must have), the server's
 * check of the migration lock, COMMIT: one batch, one round trip where
 * the driver pipelines. db->step_ns is the time recorded. Returns -1 when
 * the statements failed, -2 when the rest did (nothing was committed).
 */
int step_exec_txn(struct strata_db *db, struct batch *b,
                  const struct plan_step *step, bool is_down,
                  int64_t started_at_ns, struct strata_error *err);
/*
 * A step's history change and audit row, timed by the server: `elapsed`,
 * the driver's expression of the nanoseconds it took (read back into
 * *recorded), the audit row started at `started_sql` (the server's clock)
 * or else at `started_at_ns`.
 */
void step_add_timed_rows(struct batch *b, struct strata_db *db,
                         const struct plan_step *step, bool is_down,
                         const char *elapsed, const char *started_sql,
                         int64_t started_at_ns, int64_t *recorded);
/* `e` filled for step's `action` ("apply", "revert"), a success. */
void step_audit(struct audit_entry *e, struct strata_db *db, const char *action,
                const struct plan_step *step, int64_t started_at_ns);
/* After strata_cancel(), no migration starts: -1 with STRATA_ECANCELED. */
int step_check_cancel(const struct plan_step *step, const char *verb,
                      struct strata_error *err);
/* After strata_cancel(): the error says what stopped where and what it
 * left (`left`). */
void step_say_cancelled(const struct plan_step *step, const char *left,
                        struct strata_error *err);
/* Rolls back, locates the error in the file, and records the failure. */
void step_fail(struct strata_db *db, const struct plan_step *step,
               const char *action, int64_t started_at_ns,
               struct strata_error *err);
/* Whether a concurrent runner without an advisory lock (SQLite) got
 * there first: checked inside our write transaction. */
int step_applied_meanwhile(bool *out, struct strata_db *db, int64_t version,
                           struct strata_error *err);
/* A lost lock race (lock_timeout, deadlock): worth another attempt. */
bool step_is_retryable(const struct strata_error *err);
int step_max_retries(const struct strata_db *db);
/* After a failed attempt that will be retried: says so, forgets the
 * error and waits (backoff with jitter from `seed`). */
void step_wait_to_retry(struct strata_db *db, const struct plan_step *step,
                        const char *what, int attempt, int max, uint64_t *seed,
                        struct strata_error *err);
uint64_t step_retry_seed(void);
/* One transactional step of run or revert: `attempt` once. */
typedef int (*step_attempt_fn)(struct strata_db *db,
                               const struct plan_step *step, bool *is_skipped,
                               struct strata_error *err);
/*
 * `attempt` again after a lost lock race (rolled back whole), with backoff,
 * every attempt but the last only probing for its locks; after the last,
 * exit 6 with `hint` (what was left undone) and the blocker in the detail.
 */
int step_with_retries(struct strata_db *db, const struct plan_step *step,
                      step_attempt_fn attempt, bool *is_skipped,
                      const char *hint, struct strata_error *err);
/* The same after a first attempt made elsewhere failed with `err`, a lost
 * lock race: its retry event, backoff, then attempts from the second. */
int step_retry_after_first(struct strata_db *db, const struct plan_step *step,
                           step_attempt_fn attempt, bool *is_skipped,
                           const char *hint, struct strata_error *err);
/* Sleeps `s` seconds, less when strata_cancel() comes. */
void step_sleep(double s);

/* migrate.c */
/* strata_migrate_run() up to a migration's order key (its `version`),
 * where the options' target is a version as a user names it, with no
 * lint gate (for strata test's proof). */
int migrate_run_upto_key(struct strata_run_result *out, struct strata_db *db,
                         const struct strata_source *src,
                         const struct strata_run_options *opts, int64_t key,
                         struct strata_error *err);

/* fenced.c */
/* A non-transactional file's statements, each retried where safe. */
int fenced_exec(struct strata_db *db, const struct plan_step *step,
                bool is_down, const char *action, int64_t started_at_ns,
                struct strata_error *err);
/* Non-transactional: the fence row first, committed on its own. */
int fenced_apply(struct strata_db *db, const struct plan_step *step,
                 bool *is_skipped, struct strata_error *err);

/* batchrun.c */
struct batch_stats {
	int64_t rows, batches;
};
/*
 * A batch migration's statement (MODE_BATCH) run again and again, each
 * run in a transaction of its own, its size adapted to the time goal,
 * until it changes no row; progress reported, a standby's lag waited out.
 */
int batchrun_exec(struct batch_stats *out, struct strata_db *db,
                  const struct plan_step *step, int64_t started_at_ns,
                  struct strata_error *err);
/* run --dry-run of a batch migration: one batch, rolled back, reported
 * (rows, time, the estimated whole) as a warning-free event. */
int batchrun_dry(struct strata_db *db, const struct plan_step *step,
                 struct strata_error *err);

/* pipelined.c */
/*
 * run's or revert's (is_down) --single-transaction steps, in the
 * transaction begun here, sent many at a time where the driver pipelines
 * (its mark_step): each one's server time in step_ns; on failure *failed
 * is the step, rolled back.
 */
int migrate_pipelined(struct strata_db *db, const struct plan *plan,
                      bool is_down, int64_t *step_ns,
                      const struct plan_step **failed,
                      struct strata_error *err);
/*
 * run's or revert's (is_down) steps from *next on while they are
 * MODE_TXN, each in its own transaction, sent many at a time where the
 * driver pipelines (its mark_step); each committed one is said done
 * (APPLY_DONE, REVERT_DONE) as its COMMIT is in. *next is then the first
 * step not committed, and *applied grew by how many were. 0: all of
 * them; -1: a
 * failure that ends the run (recorded, rolled back); 1: step *next lost a
 * lock race (err says how, its failure recorded), nothing of it
 * committed, to be tried again on its own.
 */
int migrate_pipelined_txns(struct strata_db *db, const struct plan *plan,
                           bool is_down, size_t *next, size_t *applied,
                           struct strata_error *err);

#endif
