/*
 * What every step of run and revert shares (design.md, History table): the
 * lock and the history read after it, a step's timeouts, the lock check
 * before a commit, cancel, the record of a failure, and the retries of a
 * lost lock race.
 */
#include "engine/source.h"
#include "engine/migrate.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/text.h"
#include "sql/split.h"
#include "drivers/driver.h"
#include "engine/progress.h"
#include "engine/db.h"
#include "engine/audit.h"
#include "engine/plan.h"
#include "lint/gate.h"

#include <inttypes.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

int step_check_failed(const struct history *h, const struct strata_source *src,
                      struct strata_error *err)
{
	for (size_t i = 0; i < h->n; i++)
		if (!h->rows[i].success)
			return history_check_row(&h->rows[i], src, true, err);
	return 0;
}

int step_read_failed_ups(const struct history *h,
                         const struct strata_source *src,
                         struct strata_error *err)
{
	for (size_t i = 0; i < h->n; i++) {
		const struct strata_migration *m;

		if (h->rows[i].success ||
		    !(m = strata_source_find(src, h->rows[i].version)))
			continue;
		if (source_read_ups(src, &m, 1, err) < 0)
			return -1;
	}
	return 0;
}

int step_lock_and_read(struct strata_db *db, struct history *h, bool is_create,
                       struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int64_t t0 = text_monotonic_ns();
	int rc = drv->lock(db->conn, db->opts.lock_wait, err);

	db->lock_wait_ns = text_monotonic_ns() - t0;
	progress_reset(&db->progress);
	if (rc < 0) {
		if (err && err->code == STRATA_ELOCK) {
			struct audit_entry e = { .action = "lock-timeout",
				                 .is_versionless = true,
				                 .error = err };

			audit_add_if_present(db, &e);
		}
		return -1;
	}
	if (is_create && step_ensure_tables(db, false, err) < 0)
		return -1;
	/* kept since it was read under the lock, which was never let go */
	if (db->has_kept) {
		history_copy(h, &db->kept);
		return 0;
	}
	/* design.md, The lock: the history is read after the lock is taken. */
	if (history_read(db->conn, &db->hist, h, err) < 0)
		return -1;
	/* another tool's table has rows of its own: always read */
	if (db->is_history_kept && db->is_lock_kept &&
	    !history_has_tool(&db->hist)) {
		history_release(&db->kept);
		history_copy(&db->kept, h);
		db->has_kept = true;
	}
	return 0;
}

void step_kept_applied(struct strata_db *db, const struct strata_migration *m)
{
	if (db->has_kept)
		history_put_applied(&db->kept, m, db->step_ns);
}

void step_kept_reverted(struct strata_db *db, const struct strata_migration *m)
{
	if (db->has_kept)
		history_take_out(&db->kept, m->version);
}

void step_forget_history(struct strata_db *db)
{
	history_release(&db->kept);
	db->has_kept = false;
}

/*
 * Both tables missing on PostgreSQL: created in one statement, one round
 * trip and one commit. Any failure is left to the statements one by one,
 * which say what failed and what to do (nothing of this one committed).
 */
static bool create_both(struct strata_db *db)
{
	struct sbuf sql = SBUF_INIT;
	struct strata_error ignored = STRATA_ERROR_INIT;
	bool is_done;

	history_ddl(&sql, db->drv, &db->hist);
	sbuf_adds(&sql, sql.len && sql.buf[sql.len - 1] == ';' ? "\n" : ";\n");
	audit_ddl(&sql, db);
	is_done = db->drv->exec(db->conn, sql.buf, &ignored) == 0;
	if (is_done)
		audit_created(db);
	strata_error_release(&ignored);
	sbuf_release(&sql);
	return is_done;
}

int step_ensure_tables(struct strata_db *db, bool is_history_there,
                       struct strata_error *err)
{
	bool has_tool = history_has_tool(&db->hist);

	/* strata never drops its tables: one seen is there */
	if (is_history_there && !has_tool)
		return audit_ensure(db, err);
	if (!is_history_there && !has_tool && !db->has_audit &&
	    db->audit_seen == TABLE_MISSING && (db->drv->caps & DRV_PG_SQL) &&
	    create_both(db))
		return 0;
	if (history_ensure(db->conn, &db->hist, err) < 0 ||
	    audit_ensure(db, err) < 0)
		return -1;
	return 0;
}

/* A step's directive, else the option, else the default; ms, 0: none. */
int64_t step_timeout_ms(double directive, double option, double fallback)
{
	double v = directive >= 0 ? directive : option != 0 ? option : fallback;

	return v <= 0 ? 0 : (int64_t)(v * 1000 + 0.5);
}

/* attempts after the first, unless the options say otherwise */
#define DEFAULT_RETRIES STRATA_DEFAULT_RETRIES

void step_add_timeouts(struct batch *b, struct strata_db *db,
                       const struct plan_step *step, bool is_local)
{
	int64_t lock_ms =
	        step_timeout_ms(step->lock_timeout, db->opts.lock_timeout,
	                        DEFAULT_LOCK_TIMEOUT);
	int64_t probe_ms =
	        step_timeout_ms(-1, db->opts.lock_probe, DEFAULT_LOCK_PROBE);

	if (db->is_lock_probe && probe_ms && lock_ms > probe_ms)
		lock_ms = probe_ms;
	batch_add_timeouts(b, lock_ms,
	                   step_timeout_ms(step->statement_timeout,
	                                   db->opts.statement_timeout, -1),
	                   is_local);
}

/* design.md, History table: one process migrates at a time, so nothing is
 * committed once the lock is lost (the history's primary key backs this
 * up should it be lost in between). */
int step_check_lock(struct strata_db *db, struct strata_error *err)
{
	return db->drv->lock_check ? db->drv->lock_check(db->conn, err) : 0;
}

void step_reset_timeouts(struct strata_db *db)
{
	struct batch b = BATCH_INIT;

	batch_add_timeouts(&b, -1, -1, false);
	db_exec_batch(db, &b, NULL);
}

/*
 * `b` and then a step's statements, their progress reported as they run;
 * `b` is empty after.
 */
int step_exec(struct strata_db *db, struct batch *b,
              const struct plan_step *step, bool is_down, bool is_one_per_call,
              struct strata_error *err)
{
	int rc;

	progress_start(db, step, is_down);
	batch_add_script(b, &step->script, is_one_per_call);
	rc = db_exec_batch(db, b, err);
	progress_stop(db, rc == 0);
	return rc;
}

int step_commit_all(struct strata_db *db, struct batch *b,
                    struct strata_error *err)
{
	if (step_check_lock(db, err) < 0) {
		batch_reset(b);
		db->drv->rollback(db->conn);
		return -1;
	}
	batch_add_commit(b);
	if (db_exec_batch(db, b, err) < 0) {
		db->drv->rollback(db->conn);
		return -1;
	}
	return 0;
}

void step_add_timed_rows(struct batch *b, struct strata_db *db,
                         const struct plan_step *step, bool is_down,
                         const char *elapsed, const char *started_sql,
                         int64_t started_at_ns, int64_t *recorded)
{
	struct audit_entry e;

	if (!is_down) {
		history_add_insert_timed(b, &db->hist, step->m, elapsed,
		                         recorded);
	} else {
		history_add_delete_timed(b, &db->hist, step->m->version,
		                         step->m->version_text, elapsed,
		                         recorded);
	}
	step_audit(&e, db, is_down ? "revert" : "apply", step, started_at_ns);
	if (is_down)
		e.up_sql = NULL;
	e.elapsed_ns = db->drv->elapsed_ns_again;
	e.started_at_sql = started_sql;
	audit_add_to(b, db, &e);
}

int step_exec_txn(struct strata_db *db, struct batch *b,
                  const struct plan_step *step, bool is_down,
                  int64_t started_at_ns, struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int64_t t0 = text_monotonic_ns(), recorded = -1;
	size_t script = b->n;
	int rc;

	batch_add_script(b, &step->script, false);
	/* the time printed is the one recorded: the server's */
	step_add_timed_rows(b, db, step, is_down, drv->elapsed_ns, NULL,
	                    started_at_ns, &recorded);
	batch_add_lock_check(b);
	batch_add_commit(b);
	if (step_check_lock(db, err) < 0) {
		batch_reset(b);
		return -2;
	}
	progress_start(db, step, is_down);
	rc = db_exec_batch(db, b, err);
	progress_stop(db, rc == 0);
	db->step_ns = recorded >= 0 ? recorded : text_monotonic_ns() - t0;
	if (rc < 0)
		return db->conn->failed_item == script + 1 ? -1 : -2;
	return 0;
}

void step_audit(struct audit_entry *e, struct strata_db *db, const char *action,
                const struct plan_step *step, int64_t started_at_ns)
{
	const struct strata_migration *m = step->m;

	memset(e, 0, sizeof(*e));
	e->action = action;
	e->version = m->version;
	e->description = m->description;
	e->checksum = m->checksum;
	e->is_success = true;
	e->started_at_ns = started_at_ns;
	e->source_dir = db->source_dir;
	/* the texts as applied: a reverted migration's down SQL stays
	 * available after its files are gone, the up SQL for diffs */
	e->up_sql = m->up_sql;
	e->down_sql = m->down_sql;
}

/* After strata_cancel(), no migration starts: -1 with STRATA_ECANCELED. */
int step_check_cancel(const struct plan_step *step, const char *verb,
                      struct strata_error *err)
{
	if (!strata_is_cancelled())
		return 0;
	return strata_error_set(
	        err, STRATA_ECANCELED, "cancelled before %s %s %s", verb,
	        migration_version(step->m), step->m->description);
}

/*
 * A step failed after strata_cancel(): the error becomes the one line
 * saying what stopped where and what it left (`left`), rather than the
 * server's "canceling statement due to user request".
 */
void step_say_cancelled(const struct plan_step *step, const char *left,
                        struct strata_error *err)
{
	struct sbuf sb = SBUF_INIT;

	if (!strata_is_cancelled())
		return;
	sbuf_addf(&sb, "cancelled %s %s", migration_version(step->m),
	          step->m->description);
	if (err->statement)
		sbuf_addf(&sb, " while running statement %d", err->statement);
	if (err->statement && err->line)
		sbuf_addf(&sb, " (line %d)", err->line);
	sbuf_addf(&sb, "; %s", left);
	free(err->message);
	err->message = sbuf_detach(&sb, NULL);
	err->code = STRATA_ECANCELED;
}

/* Rolls back, locates the error in the file, and records the failure. */
void step_fail(struct strata_db *db, const struct plan_step *step,
               const char *action, int64_t started_at_ns,
               struct strata_error *err)
{
	struct audit_entry e;

	db->drv->rollback(db->conn);
	if (!err->file)
		plan_locate_error(step, err);
	step_audit(&e, db, action, step, started_at_ns);
	e.is_success = false;
	e.error = err;
	e.up_sql = e.down_sql = NULL;
	audit_add_quietly(db, &e);
}

/* Whether a concurrent runner without an advisory lock (SQLite) got
 * there first: checked inside our write transaction. */
int step_applied_meanwhile(bool *out, struct strata_db *db, int64_t version,
                           struct strata_error *err)
{
	*out = false;
	if (db->drv->caps & DRV_ADVISORY_LOCK)
		return 0;
	return history_has(out, db->conn, &db->hist, version, err);
}

bool step_is_retryable(const struct strata_error *err)
{
	/* lock_not_available (lock_timeout) and deadlock_detected */
	return !strcmp(err->sqlstate, "55P03") ||
	       !strcmp(err->sqlstate, "40P01");
}

/* Exponential backoff from 0.5 s, capped at 30 s, with 50-100% jitter. */
static double backoff_seconds(int attempt, uint64_t *seed)
{
	double base = 0.5;

	for (int i = 1; i < attempt && base < 30; i++)
		base *= 2;
	if (base > 30)
		base = 30;
	*seed ^= *seed << 13;
	*seed ^= *seed >> 7;
	*seed ^= *seed << 17;
	return base * (0.5 + (double)(*seed % 1000) / 2000.0);
}

void step_sleep(double s)
{
	struct timespec ts = { (time_t)s,
		               (long)((s - (double)(time_t)s) * 1e9) };

	/* strata_cancel() ends the wait: the retry then does not start */
	while (nanosleep(&ts, &ts) < 0 && !strata_is_cancelled())
		;
}

int step_max_retries(const struct strata_db *db)
{
	return db->opts.retries == 0  ? DEFAULT_RETRIES
	       : db->opts.retries < 0 ? 0
	                              : db->opts.retries;
}

/*
 * After a failed attempt that will be retried: says so (an event naming
 * what failed and when the next attempt comes), forgets the error and
 * waits.
 */
void step_wait_to_retry(struct strata_db *db, const struct plan_step *step,
                        const char *what, int attempt, int max, uint64_t *seed,
                        struct strata_error *err)
{
	struct strata_event ev = { .kind = STRATA_EVENT_RETRY };
	struct sbuf msg = SBUF_INIT;
	double wait = backoff_seconds(attempt, seed);

	sbuf_addf(&msg, "%s%s (SQLSTATE %s): attempt %d of %d in %.1f s", what,
	          err->message, err->sqlstate, attempt + 1, max + 1, wait);
	ev.migration = step->m;
	ev.version = step->m->version;
	ev.description = step->m->description;
	ev.message = msg.buf;
	ev.waited_seconds = wait;
	db_emit(db, &ev);
	sbuf_release(&msg);
	strata_error_release(err);
	step_sleep(wait);
}

uint64_t step_retry_seed(void)
{
	return (uint64_t)text_monotonic_ns() ^ (uint64_t)getpid() << 32;
}

/* Attempts from `first` on; attempt first - 1 (if any) failed with `err`,
 * a lost lock race. */
static int retry_from(struct strata_db *db, const struct plan_step *step,
                      step_attempt_fn attempt_fn, bool *is_skipped,
                      const char *hint, int first, struct strata_error *err)
{
	int max = step_max_retries(db);
	uint64_t seed = step_retry_seed();

	for (int attempt = first;; attempt++) {
		int rc;

		if (attempt > 1) {
			if (!step_is_retryable(err) || strata_is_cancelled())
				return -1;
			if (attempt - 1 > max) {
				err->code = STRATA_ELOCK;
				free(err->hint);
				err->hint = xstrdup(hint);
				strata_error_reason(err,
				                    STRATA_REASON_LOCK_TIMEOUT,
				                    step->m->version);
				if (max)
					error_prefix(
					        err,
					        "migration %s gave up after %d attempts",
					        migration_version(step->m),
					        attempt - 1);
				return -1;
			}
			step_wait_to_retry(db, step, "", attempt - 1, max,
			                   &seed, err);
		}
		db->is_lock_probe = attempt <= max;
		rc = attempt_fn(db, step, is_skipped, err);
		db->is_lock_probe = false;
		if (rc == 0)
			return 0;
	}
}

int step_with_retries(struct strata_db *db, const struct plan_step *step,
                      step_attempt_fn attempt_fn, bool *is_skipped,
                      const char *hint, struct strata_error *err)
{
	return retry_from(db, step, attempt_fn, is_skipped, hint, 1, err);
}

int step_retry_after_first(struct strata_db *db, const struct plan_step *step,
                           step_attempt_fn attempt_fn, bool *is_skipped,
                           const char *hint, struct strata_error *err)
{
	return retry_from(db, step, attempt_fn, is_skipped, hint, 2, err);
}
