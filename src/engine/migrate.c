/*
 * Running and reverting migrations (SPEC, "History table"): take the lock,
 * read the history after it, check the source against it, plan every
 * step, and only then execute. A transactional migration commits with its
 * history row; a non-transactional one is fenced by a `success = false`
 * row flipped when it ends. The history's SQL is in history.c, the
 * dialect's pieces in the drivers.
 */
#include "engine/history.h"
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

void db_emit_migration(struct strata_db *db, enum strata_event_kind kind,
                       const struct strata_migration *m, int64_t duration_ns)
{
	struct strata_event ev = { .kind = kind };

	ev.migration = m;
	ev.version = m->version;
	ev.description = m->description;
	ev.duration_ns = duration_ns;
	db_emit(db, &ev);
}

static int check_failed(const struct history *h,
                        const struct strata_source *src,
                        struct strata_error *err)
{
	for (size_t i = 0; i < h->n; i++)
		if (!h->rows[i].success)
			return history_check_row(&h->rows[i], src, true, err);
	return 0;
}

static int check_history(const struct history *h,
                         const struct strata_source *src,
                         bool is_ignore_missing, struct strata_error *err)
{
	if (check_failed(h, src, err) < 0)
		return -1;
	for (size_t i = 0; i < h->n; i++)
		if (history_check_row(&h->rows[i], src, is_ignore_missing,
		                      err) < 0)
			return -1;
	return 0;
}

static int lock_and_read(struct strata_db *db, struct history *h,
                         bool is_create, struct strata_error *err)
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
	if (is_create && (history_ensure(db->conn, &db->table, err) < 0 ||
	                  audit_ensure(db, err) < 0))
		return -1;
	/* SPEC: the history is read after the lock is taken. */
	return history_read(db->conn, &db->table, h, err);
}

/* A step's directive, else the option, else the default; ms, 0: none. */
static int64_t timeout_ms(double directive, double option, double fallback)
{
	double v = directive >= 0 ? directive : option != 0 ? option : fallback;

	return v <= 0 ? 0 : (int64_t)(v * 1000 + 0.5);
}

/* seconds: short enough that a blocked migration never queues traffic
 * behind it for long; retries make up for it */
#define DEFAULT_LOCK_TIMEOUT 2.0
#define DEFAULT_RETRIES      5

/*
 * A waiting lock request queues every later request on the table behind
 * it. An attempt with another after it only probes: it waits at most this
 * long for a lock, so that while a long transaction blocks the migration
 * the application's queries are held up for milliseconds per attempt;
 * the last attempt waits the whole lock_timeout.
 */
#define DEFAULT_LOCK_PROBE 0.020

static int set_step_timeouts(struct strata_db *db, const struct plan_step *step,
                             bool is_local, struct strata_error *err)
{
	int64_t lock_ms = timeout_ms(step->lock_timeout, db->opts.lock_timeout,
	                             DEFAULT_LOCK_TIMEOUT);
	int64_t probe_ms =
	        timeout_ms(-1, db->opts.lock_probe, DEFAULT_LOCK_PROBE);

	if (db->is_lock_probe && probe_ms && lock_ms > probe_ms)
		lock_ms = probe_ms;
	return db->drv->set_timeouts(db->conn, lock_ms,
	                             timeout_ms(step->statement_timeout,
	                                        db->opts.statement_timeout, -1),
	                             is_local, err);
}

/* SPEC, History table: one process migrates at a time, so nothing is
 * committed once the lock is lost (the history's primary key backs this
 * up should it be lost in between). */
static int check_lock(struct strata_db *db, struct strata_error *err)
{
	return db->drv->lock_check ? db->drv->lock_check(db->conn, err) : 0;
}

static void reset_timeouts(struct strata_db *db)
{
	db->drv->set_timeouts(db->conn, -1, -1, false, NULL);
}

/* A step's statements, their progress reported as they run. */
static int exec_step(struct strata_db *db, const struct plan_step *step,
                     bool is_down, bool is_one_per_call,
                     struct strata_error *err)
{
	int rc;

	progress_start(db, step, is_down);
	rc = db->drv->exec_script(db->conn, &step->script, is_one_per_call,
	                          err);
	progress_stop(db, rc == 0);
	return rc;
}

static void audit_step(struct audit_entry *e, struct strata_db *db,
                       const char *action, const struct plan_step *step,
                       int64_t started_at_ns)
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
static int check_cancel(const struct plan_step *step, const char *verb,
                        struct strata_error *err)
{
	if (!strata_is_cancelled())
		return 0;
	return strata_error_set(err, STRATA_ECANCELED,
	                        "cancelled before %s %" PRId64 " %s", verb,
	                        step->m->version, step->m->description);
}

/*
 * A step failed after strata_cancel(): the error becomes the one line
 * saying what stopped where and what it left (`left`), rather than the
 * server's "canceling statement due to user request".
 */
static void say_cancelled(const struct plan_step *step, const char *left,
                          struct strata_error *err)
{
	struct sbuf sb = SBUF_INIT;

	if (!strata_is_cancelled())
		return;
	sbuf_addf(&sb, "cancelled %" PRId64 " %s", step->m->version,
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
static void fail_step(struct strata_db *db, const struct plan_step *step,
                      const char *action, int64_t started_at_ns,
                      struct strata_error *err)
{
	struct audit_entry e;

	db->drv->rollback(db->conn);
	if (!err->file)
		plan_locate_error(step, err);
	audit_step(&e, db, action, step, started_at_ns);
	e.is_success = false;
	e.error = err;
	e.up_sql = e.down_sql = NULL;
	audit_add_quietly(db, &e);
}

/* Whether a concurrent runner without an advisory lock (SQLite) got
 * there first: checked inside our write transaction. */
static int applied_meanwhile(bool *out, struct strata_db *db, int64_t version,
                             struct strata_error *err)
{
	*out = false;
	if (db->drv->caps & DRV_ADVISORY_LOCK)
		return 0;
	return history_has(out, db->conn, &db->table, version, err);
}

static int apply_txn(struct strata_db *db, const struct plan_step *step,
                     bool is_own_begin, bool *is_skipped,
                     struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int64_t t0, started = audit_now_ns();
	struct audit_entry e;

	*is_skipped = false;
	if (check_cancel(step, "applying", err) < 0 ||
	    (is_own_begin && drv->begin(db->conn, err) < 0))
		return -1;
	if (applied_meanwhile(is_skipped, db, step->m->version, err) < 0)
		goto fail;
	if (*is_skipped) {
		if (is_own_begin)
			drv->rollback(db->conn);
		return 0;
	}
	if (set_step_timeouts(db, step, true, err) < 0)
		goto fail;
	db_emit_migration(db, STRATA_EVENT_APPLY_START, step->m, 0);
	t0 = text_monotonic_ns();
	if (exec_step(db, step, false, false, err) < 0) {
		fail_step(db, step, "apply", started, err);
		if (!err->hint && is_own_begin)
			strata_error_hint(
			        err,
			        "Migration %" PRId64
			        " was rolled back: nothing of it was applied. Fix the file and run again.",
			        step->m->version);
		else if (!err->hint)
			strata_error_hint(
			        err,
			        "The whole run was rolled back (--single-transaction): nothing was applied.");
		say_cancelled(step, "rolled back", err);
		return -1;
	}
	audit_step(&e, db, "apply", step, started);
	e.duration_ns = db->step_ns = text_monotonic_ns() - t0;
	if (history_insert(db->conn, &db->table, step->m, true, e.duration_ns,
	                   err) < 0 ||
	    audit_add(db, &e, err) < 0)
		goto fail;
	if (is_own_begin &&
	    (check_lock(db, err) < 0 || drv->commit(db->conn, err) < 0))
		goto fail;
	return 0;
fail:
	drv->rollback(db->conn);
	return -1;
}

static bool is_retryable(const struct strata_error *err)
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

static void sleep_seconds(double s)
{
	struct timespec ts = { (time_t)s,
		               (long)((s - (double)(time_t)s) * 1e9) };

	/* strata_cancel() ends the wait: the retry then does not start */
	while (nanosleep(&ts, &ts) < 0 && !strata_is_cancelled())
		;
}

static int max_retries(const struct strata_db *db)
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
static void wait_to_retry(struct strata_db *db, const struct plan_step *step,
                          const char *what, int attempt, int max,
                          uint64_t *seed, struct strata_error *err)
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
	sleep_seconds(wait);
}

static uint64_t retry_seed(void)
{
	return (uint64_t)text_monotonic_ns() ^ (uint64_t)getpid() << 32;
}

/*
 * Whether statement `k` of a non-transactional migration may run again
 * after losing a lock race. Alone in its implicit transaction it left
 * nothing behind, but for the concurrent builds: CREATE INDEX
 * CONCURRENTLY leaves an invalid index (dropped first, when the statement
 * names it); REINDEX and DETACH PARTITION ... CONCURRENTLY leave states
 * for a person to finish. Within the file's own BEGIN ... COMMIT the
 * statements before it were rolled back too: no retry.
 */
static bool is_repeatable(const struct strata_script *s, size_t k)
{
	const struct strata_stmt *st = &s->stmts[k];

	if (s->flags & STMT_TXN_CONTROL)
		return false;
	if (!st->what)
		return true;
	if (!strcmp(st->what, "CREATE INDEX CONCURRENTLY"))
		return st->index_kind == 'c';
	return strcmp(st->what, "REINDEX CONCURRENTLY") != 0 &&
	       strcmp(st->what,
	              "ALTER TABLE ... DETACH PARTITION CONCURRENTLY") != 0;
}

/*
 * The statements that wait for every older transaction of the database
 * (PostgreSQL's WaitForOlderSnapshots and WaitForLockers), under
 * lock_timeout, while holding only SHARE UPDATE EXCLUSIVE, which no
 * INSERT, UPDATE, DELETE or SELECT queues behind.
 */
static bool is_concurrent(const struct strata_stmt *st)
{
	static const char *const whats[] = {
		"CREATE INDEX CONCURRENTLY",
		"DROP INDEX CONCURRENTLY",
		"REINDEX CONCURRENTLY",
		"ALTER TABLE ... DETACH PARTITION CONCURRENTLY",
	};

	for (size_t i = 0; st->what && i < ARRAY_SIZE(whats); i++)
		if (!strcmp(st->what, whats[i]))
			return true;
	return false;
}

/* A statement's lock_timeout in ms (0: none): a concurrent one's waits
 * hold no application query up, and losing one throws a build away. */
static int64_t stmt_lock_ms(const struct strata_db *db,
                            const struct plan_step *step,
                            const struct strata_stmt *st, bool is_probe)
{
	int64_t lock_ms = timeout_ms(step->lock_timeout, db->opts.lock_timeout,
	                             DEFAULT_LOCK_TIMEOUT);
	int64_t probe_ms =
	        timeout_ms(-1, db->opts.lock_probe, DEFAULT_LOCK_PROBE);

	if (is_concurrent(st))
		return timeout_ms(step->concurrent_lock_timeout,
		                  db->opts.concurrent_lock_timeout, 0);
	if (is_probe && probe_ms && lock_ms > probe_ms)
		lock_ms = probe_ms;
	return lock_ms;
}

/*
 * The invalid indexes statement `st` names (see strata_stmt), quoted
 * "schema"."name", one per row; REINDEX ... CONCURRENTLY leaves its
 * half-done copies beside the index as NAME_ccnew or NAME_ccold.
 */
static int invalid_indexes(struct db_rows *out, struct strata_db *db,
                           const struct strata_stmt *st, bool is_to_drop,
                           struct strata_error *err)
{
	static const char sql[] =
	        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)\n"
	        "  FROM pg_catalog.pg_index i\n"
	        "  JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid\n"
	        "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	        " WHERE NOT i.indisvalid AND CASE $1::text\n"
	        "  WHEN 'c' THEN c.relname::text = $3::text AND c.relnamespace =\n"
	        "    (SELECT t.relnamespace FROM pg_catalog.pg_class t\n"
	        "      WHERE t.oid = pg_catalog.to_regclass($2::text))\n"
	        "  WHEN 'i' THEN i.indrelid =\n"
	        "    (SELECT x.indrelid FROM pg_catalog.pg_index x\n"
	        "      WHERE x.indexrelid = pg_catalog.to_regclass($2::text))\n"
	        "    AND (i.indexrelid = pg_catalog.to_regclass($2::text) OR\n"
	        "     pg_catalog.starts_with(c.relname::text,\n"
	        "      (SELECT x.relname::text FROM pg_catalog.pg_class x\n"
	        "        WHERE x.oid = pg_catalog.to_regclass($2::text))\n"
	        "      || '_cc'))\n"
	        "  WHEN 't' THEN i.indrelid = pg_catalog.to_regclass($2::text)\n"
	        "  WHEN 's' THEN c.relnamespace =\n"
	        "    pg_catalog.to_regnamespace($2::text)\n"
	        "  ELSE false END\n"
	        /* never one another session is building right now */
	        "  AND NOT ($4::bool AND EXISTS (SELECT FROM\n"
	        "   pg_catalog.pg_stat_progress_create_index p\n"
	        "   WHERE p.index_relid = i.indexrelid\n"
	        "     AND p.pid <> pg_catalog.pg_backend_pid()))\n"
	        " ORDER BY 1";
	char kind[2] = { st->index_kind, '\0' };
	struct db_value v[4];

	v[0] = (struct db_value){ .type = DBV_TEXT, .s = kind };
	v[1] = DBV_TEXT(st->index_target);
	v[2] = DBV_TEXT(st->index_name);
	v[3] = DBV_TEXT(is_to_drop ? "t" : "f");
	memset(out, 0, sizeof(*out));
	return db->drv->query(db->conn, sql, 4, v, out, err);
}

/*
 * Drops the invalid index a CREATE INDEX CONCURRENTLY left when it
 * failed (whatever the reason: a duplicate key, a timeout, a cancel):
 * it enforces nothing, no query uses it, every write still maintains
 * it, and IF NOT EXISTS would keep it. Only an invalid one is dropped.
 * The names dropped go to `dropped`, ", " between them.
 */
static int drop_invalid_indexes(struct strata_db *db,
                                const struct strata_stmt *st,
                                struct sbuf *dropped, struct strata_error *err)
{
	struct db_rows rows = { 0 };
	struct sbuf sql = SBUF_INIT;
	int rc = 0;

	if (st->index_kind != 'c')
		return 0;
	rc = invalid_indexes(&rows, db, st, true, err);
	for (size_t r = 0; rc == 0 && r < rows.n_rows; r++) {
		const char *name = db_rows_get(&rows, r, 0);

		sbuf_reset(&sql);
		sbuf_addf(&sql, "DROP INDEX CONCURRENTLY IF EXISTS %s", name);
		rc = db->drv->exec(db->conn, sql.buf, err);
		if (rc == 0) {
			if (dropped->len)
				sbuf_adds(dropped, ", ");
			sbuf_adds(dropped, name);
		}
	}
	db_rows_release(&rows);
	sbuf_release(&sql);
	return rc;
}

/* Before a CREATE INDEX CONCURRENTLY: an invalid index of its name (a
 * build that failed, or was killed) is dropped and built for real. */
static int drop_before_build(struct strata_db *db, const struct plan_step *step,
                             const struct strata_stmt *st,
                             struct strata_error *err)
{
	struct sbuf dropped = SBUF_INIT;
	int rc = drop_invalid_indexes(db, st, &dropped, err);

	if (dropped.len)
		db_emit_warning(
		        db, step->m,
		        "dropped the invalid index %s, left by a CREATE INDEX CONCURRENTLY that failed, to build it again",
		        dropped.buf);
	sbuf_release(&dropped);
	return rc;
}

/* After a CREATE INDEX CONCURRENTLY failed: its invalid index dropped,
 * and the error says so (or how to drop it when that failed too). */
static void drop_after_failure(struct strata_db *db,
                               const struct strata_stmt *st,
                               struct strata_error *err)
{
	struct strata_error ignored = STRATA_ERROR_INIT;
	struct sbuf dropped = SBUF_INIT, name = SBUF_INIT;
	char *was = err->detail;

	/* 25001: refused inside a transaction block, it built nothing (and
	 * the block's failed transaction would refuse the look) */
	if (st->index_kind != 'c' || !strcmp(err->sqlstate, "25001"))
		return;
	err->detail = NULL;
	if (drop_invalid_indexes(db, st, &dropped, &ignored) < 0) {
		sbuf_add_ident(&name, st->index_name);
		strata_error_detail(
		        err,
		        "%s%sThe invalid index %s it may have left could not be dropped (%s): drop it (DROP INDEX CONCURRENTLY IF EXISTS) before running it again.",
		        was ? was : "", was ? " " : "", name.buf,
		        ignored.message);
	} else if (dropped.len) {
		strata_error_detail(
		        err,
		        "%s%sThe invalid index %s it left was dropped (DROP INDEX CONCURRENTLY).",
		        was ? was : "", was ? " " : "", dropped.buf);
	} else {
		err->detail = was;
		was = NULL;
	}
	free(was);
	strata_error_release(&ignored);
	sbuf_release(&dropped);
	sbuf_release(&name);
}

/*
 * Before a non-transactional migration is recorded as applied: no index a
 * concurrent build or rebuild of it names may be invalid. CREATE INDEX
 * CONCURRENTLY IF NOT EXISTS keeps an invalid index it finds, and a
 * REINDEX ... CONCURRENTLY that failed part way leaves one; recorded as
 * applied, it would enforce nothing (a unique one lets duplicates in).
 */
static int check_indexes_valid(struct strata_db *db,
                               const struct plan_step *step,
                               struct strata_error *err)
{
	const struct strata_script *s = &step->script;
	int64_t v = step->m->version;

	for (size_t k = 0; k < s->n; k++) {
		struct db_rows rows;
		const char *name;

		if (!s->stmts[k].index_kind)
			continue;
		if (invalid_indexes(&rows, db, &s->stmts[k], false, err) < 0)
			return -1;
		if (!rows.n_rows) {
			db_rows_release(&rows);
			continue;
		}
		name = db_rows_get(&rows, 0, 0);
		strata_error_set(err, STRATA_EFAILED,
		                 "index %s is invalid after migration %" PRId64
		                 " ran",
		                 name, v);
		err->statement = (int)k + 1;
		strata_error_detail(
		        err,
		        "An invalid index enforces nothing (a unique one lets duplicates in) and no query uses it: a concurrent build or rebuild of it failed, and statement %zu left it so or kept it (IF NOT EXISTS). The migration is recorded as failed.",
		        k + 1);
		strata_error_hint(
		        err,
		        "Drop it (DROP INDEX CONCURRENTLY %s;), then run 'strata repair --retry %" PRId64
		        "' and run again to build it.",
		        name, v);
		db_rows_release(&rows);
		return -1;
	}
	return 0;
}

/*
 * The last attempt at a statement lost its lock race too: exit 6 (its
 * invalid index, if any, is dropped by drop_after_failure()).
 */
static void give_up(const struct plan_step *step, int attempt, int max,
                    struct strata_error *err)
{
	err->code = STRATA_ELOCK;
	if (max)
		error_prefix(err,
		             "migration %" PRId64 " gave up after %d attempts",
		             step->m->version, attempt);
}

/*
 * A non-transactional file's statements (`action` "apply" or "revert"),
 * each retried where that is safe (is_repeatable()) when it loses a lock
 * race; the statements before it are not run again. Every failed attempt
 * is in the audit trail. It sets the session's timeouts itself (SET only
 * when a statement needs other ones than the one before).
 */
static int exec_fenced(struct strata_db *db, const struct plan_step *step,
                       bool is_down, const char *action, int64_t started_at_ns,
                       struct strata_error *err)
{
	const struct strata_script *s = &step->script;
	int max = max_retries(db);
	uint64_t seed = retry_seed();
	int64_t set_ms = -1; /* the session's lock_timeout; -1: not set */
	int64_t statement_ms = timeout_ms(step->statement_timeout,
	                                  db->opts.statement_timeout, -1);
	size_t k = 0;
	int rc = 0;

	progress_start(db, step, is_down);
	for (int attempt = 1; k < s->n;) {
		const struct strata_stmt *st = &s->stmts[k];
		struct strata_script one = *s;
		struct sbuf what = SBUF_INIT;
		/*
		 * Probe only where a lost race can be retried, and not for
		 * the concurrent builds: their waits hold up no query, and a
		 * lost race costs them the whole build.
		 */
		bool probe = attempt <= max && is_repeatable(s, k) && !st->what;
		int64_t lock_ms = stmt_lock_ms(db, step, st, probe);

		if (lock_ms != set_ms) {
			if (db->drv->set_timeouts(db->conn, lock_ms,
			                          statement_ms, false,
			                          err) < 0) {
				rc = -1;
				break;
			}
			set_ms = lock_ms;
		}
		if (drop_before_build(db, step, st, err) < 0) {
			err->statement = (int)k + 1;
			rc = -1;
			break;
		}
		one.stmts += k;
		one.n = 1;
		db->progress.first = k;
		if (cancel_check(err) < 0) {
			rc = -1;
			break;
		}
		if (db->drv->exec_script(db->conn, &one, true, err) == 0) {
			k++;
			attempt = 1;
			continue;
		}
		err->statement = (int)k + 1;
		if (!is_retryable(err) || !is_repeatable(s, k) ||
		    attempt > max || strata_is_cancelled()) {
			if (is_retryable(err) && is_repeatable(s, k) &&
			    !strata_is_cancelled())
				give_up(step, attempt, max, err);
			/* a cancelled run sends nothing more; the next run
			 * drops what the build left before building again */
			if (!strata_is_cancelled())
				drop_after_failure(db, st, err);
			rc = -1;
			break;
		}
		/* this attempt, in the trail as a failure */
		fail_step(db, step, action, started_at_ns, err);
		sbuf_addf(&what, "statement %zu: ", k + 1);
		wait_to_retry(db, step, what.buf, attempt, max, &seed, err);
		sbuf_release(&what);
		attempt++;
	}
	progress_stop(db, rc == 0);
	return rc;
}

/* Non-transactional: the fence row first, committed on its own. */
static int apply_fenced(struct strata_db *db, const struct plan_step *step,
                        bool *is_skipped, struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int64_t t0, started = audit_now_ns();
	struct audit_entry e;
	int rc;

	*is_skipped = false;
	if (check_cancel(step, "applying", err) < 0 ||
	    check_lock(db, err) < 0 || drv->begin(db->conn, err) < 0)
		return -1;
	if (applied_meanwhile(is_skipped, db, step->m->version, err) < 0 ||
	    (!*is_skipped && history_insert(db->conn, &db->table, step->m,
	                                    false, -1, err) < 0) ||
	    drv->commit(db->conn, err) < 0) {
		drv->rollback(db->conn);
		return -1;
	}
	if (*is_skipped)
		return 0;
	db_emit_migration(db, STRATA_EVENT_APPLY_START, step->m, 0);
	t0 = text_monotonic_ns();
	rc = exec_fenced(db, step, false, "apply", started, err);
	reset_timeouts(db);
	if (rc == 0 && check_indexes_valid(db, step, err) < 0) {
		fail_step(db, step, "apply", started, err);
		return -1;
	}
	if (rc < 0) {
		fail_step(db, step, "apply", started, err);
		strata_error_hint(
		        err,
		        "Migration %" PRId64
		        " ran outside a transaction and is recorded as failed: statements before the failing one stay applied. Complete or undo them by hand, then run 'strata repair --mark-applied %" PRId64
		        "' (if you completed it) or 'strata repair --retry %" PRId64
		        "' (if you undid it).",
		        step->m->version, step->m->version, step->m->version);
		say_cancelled(step, "recorded as failed, see strata repair",
		              err);
		return -1;
	}
	audit_step(&e, db, "apply", step, started);
	e.duration_ns = db->step_ns = text_monotonic_ns() - t0;
	if (drv->begin(db->conn, err) < 0)
		return -1;
	if (history_finish(db->conn, &db->table, step->m->version,
	                   e.duration_ns, err) < 0 ||
	    audit_add(db, &e, err) < 0 || drv->commit(db->conn, err) < 0) {
		drv->rollback(db->conn);
		say_cancelled(step, "recorded as failed, see strata repair",
		              err);
		return -1;
	}
	return 0;
}

/*
 * A transactional migration that lost a lock race (lock_timeout, deadlock)
 * was rolled back whole: it is run again after a backoff, each attempt
 * recorded in the audit trail, every one but the last only probing for its
 * locks. After the last one: exit 6, the blocker named by the driver in the
 * detail. (--single-transaction: apply_all_in_one().)
 */
static int apply_with_retries(struct strata_db *db,
                              const struct plan_step *step, bool *is_skipped,
                              struct strata_error *err)
{
	int max = max_retries(db);
	uint64_t seed = retry_seed();

	for (int attempt = 1;; attempt++) {
		int rc;

		db->is_lock_probe = attempt <= max;
		rc = apply_txn(db, step, true, is_skipped, err);
		db->is_lock_probe = false;
		if (rc == 0)
			return 0;
		if (!is_retryable(err) || strata_is_cancelled())
			return -1;
		if (attempt > max) {
			err->code = STRATA_ELOCK;
			free(err->hint);
			err->hint = xstrdup(
			        "Nothing of it was applied. End the blocking session or wait for it, then run again; --lock-timeout and --retries set how long strata waits.");
			if (max)
				error_prefix(err,
				             "migration %" PRId64
				             " gave up after %d attempts",
				             step->m->version, attempt);
			return -1;
		}
		wait_to_retry(db, step, "", attempt, max, &seed, err);
	}
}

/*
 * --single-transaction: every step in one transaction, committed at the
 * end. A lost lock race (lock timeout, deadlock) rolls back the whole run,
 * which runs again from the first step after a backoff; every attempt but
 * the last probes for its locks, as a migration's do.
 */
static int apply_all_in_one(struct strata_db *db, const struct plan *plan,
                            struct strata_run_result *res,
                            struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int max = max_retries(db);
	uint64_t seed = retry_seed();
	int64_t *step_ns = xcalloc(plan->n, sizeof(*step_ns));
	int rc = -1;

	for (int attempt = 1;; attempt++) {
		const struct plan_step *failed = NULL;
		size_t applied = 0, skipped = 0;

		if (drv->begin(db->conn, err) < 0)
			return -1;
		db->is_lock_probe = attempt <= max;
		for (size_t i = 0; i < plan->n && !failed; i++) {
			bool is_skipped;

			if (apply_txn(db, &plan->steps[i], false, &is_skipped,
			              err) < 0) {
				failed = &plan->steps[i];
			} else if (is_skipped) {
				db_emit_migration(db, STRATA_EVENT_APPLY_SKIP,
				                  plan->steps[i].m, 0);
				skipped++;
			} else {
				step_ns[i] = db->step_ns;
				applied++;
			}
		}
		db->is_lock_probe = false;
		if (!failed) {
			if (check_lock(db, err) < 0 ||
			    drv->commit(db->conn, err) < 0) {
				drv->rollback(db->conn);
				goto done;
			}
			for (size_t i = 0; i < plan->n; i++)
				db_emit_migration(db, STRATA_EVENT_APPLY_DONE,
				                  plan->steps[i].m, step_ns[i]);
			res->applied = applied;
			res->skipped = skipped;
			rc = 0;
			goto done;
		}
		drv->rollback(db->conn);
		if (!is_retryable(err) || strata_is_cancelled())
			goto done;
		if (attempt > max) {
			err->code = STRATA_ELOCK;
			if (max)
				error_prefix(
				        err,
				        "the run gave up after %d attempts",
				        attempt);
			goto done;
		}
		wait_to_retry(db, failed, "the whole run: ", attempt, max,
		              &seed, err);
	}
done:
	free(step_ns);
	return rc;
}

static int collect_pending(struct plan *plan, const struct plan_ctx *ctx,
                           struct strata_db *db,
                           const struct strata_source *src,
                           const struct history *h,
                           const struct strata_run_options *opts,
                           struct strata_error *err)
{
	int64_t newest = h->n ? h->rows[h->n - 1].version : 0;
	const struct strata_migration **todo =
	        xcalloc(strata_source_count(src) + 1, sizeof(*todo));
	struct presplit *ps;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < strata_source_count(src); i++) {
		const struct strata_migration *m = strata_source_at(src, i);

		if (history_find(h, m->version))
			continue;
		if (opts->has_target && m->version > opts->target_version)
			break;
		if (m->version < newest) {
			if (opts->is_strict_order) {
				strata_error_set(
				        err, STRATA_EVALIDATE,
				        "migration %" PRId64
				        " is older than the newest applied one (%" PRId64
				        ")",
				        m->version, newest);
				err->file = xstrdup(m->up_path);
				strata_error_hint(
				        err,
				        "Give it a version above %" PRId64
				        ", or run without --strict-order to apply it out of order.",
				        newest);
				free(todo);
				return -1;
			}
			db_emit_warning(
			        db, m,
			        "migration %" PRId64
			        " is applied out of order (the newest applied is %" PRId64
			        ")",
			        m->version, newest);
		}
		todo[n++] = m;
	}
	/* parsed ahead on other threads, planned (and linted) here */
	ps = presplit_start(ctx, todo, n);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = plan_add_next(plan, ctx, ps, i, todo[i],
		                   opts->is_single_transaction, err);
	presplit_stop(ps);
	free(todo);
	return rc;
}

int strata_migrate_run(struct strata_run_result *out, struct strata_db *db,
                       const struct strata_source *src,
                       const struct strata_run_options *opts,
                       struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	struct strata_run_result res = { 0 };
	struct history h = { 0 };
	struct plan plan = { 0 };
	struct strata_lint *lint = NULL;
	struct plan_ctx ctx;
	int rc = -1;

	plan_ctx_init(&ctx, db);
	db->source_dir = strata_source_dir(src);
	if (opts->has_target && opts->target_version < 0) {
		strata_error_set(err, STRATA_EUSAGE, "invalid target version");
		goto done;
	}
	if (lock_and_read(db, &h, !opts->is_dry_run, err) < 0 ||
	    check_history(&h, src, opts->is_ignore_missing, err) < 0 ||
	    lint_begin(&lint, db, opts, err) < 0)
		goto done;
	ctx.lint = lint; /* each step linted as it is planned */
	if (collect_pending(&plan, &ctx, db, src, &h, opts, err) < 0 ||
	    lint_end(lint, db, opts, err) < 0)
		goto done;
	if (opts->is_dry_run) {
		for (size_t i = 0; i < plan.n; i++)
			db_emit_migration(db, STRATA_EVENT_DRY_RUN_APPLY,
			                  plan.steps[i].m, 0);
		res.applied = plan.n;
		rc = 0;
		goto done;
	}
	if (opts->is_single_transaction && plan.n) {
		if (apply_all_in_one(db, &plan, &res, err) < 0)
			goto done;
		rc = 0;
		goto done;
	}
	for (size_t i = 0; i < plan.n; i++) {
		const struct plan_step *step = &plan.steps[i];
		bool is_skipped;

		if (step->mode == MODE_TXN) {
			if (apply_with_retries(db, step, &is_skipped, err) < 0)
				goto done;
		} else if (apply_fenced(db, step, &is_skipped, err) < 0) {
			goto done;
		}
		if (is_skipped) {
			db_emit_migration(db, STRATA_EVENT_APPLY_SKIP, step->m,
			                  0);
			res.skipped++;
			continue;
		}
		res.applied++;
		db_emit_migration(db, STRATA_EVENT_APPLY_DONE, step->m,
		                  db->step_ns);
	}
	rc = 0;
done:
	drv->unlock(db->conn);
	if (out)
		*out = res;
	plan_release(&plan);
	strata_lint_free(lint);
	history_release(&h);
	return rc;
}

/* ---- revert ---------------------------------------------------------- */

/*
 * A migration gone from the source (a branch switched, a file deleted)
 * reverted with the down SQL recorded when it was applied.
 */
static const struct strata_migration *
stored_migration(struct strata_db *db, const struct history_row *row,
                 struct arena *keep)
{
	struct strata_migration *m;
	struct audit_texts t = { 0 };

	if (db->has_audit)
		audit_stored(&t, db, row->version);
	if (!t.down_sql) {
		audit_texts_release(&t);
		return NULL;
	}
	m = arena_alloc(keep, sizeof(*m));
	memset(m, 0, sizeof(*m));
	m->version = row->version;
	m->description = arena_strdup(keep, row->description);
	m->up_path =
	        arena_strfmt(keep, "(migration %" PRId64 ", not in the source)",
	                     row->version);
	m->up_sql = "";
	m->down_path = arena_strfmt(keep,
	                            "(down SQL of migration %" PRId64
	                            " stored in the audit trail)",
	                            row->version);
	m->down_sql = arena_strdup(keep, t.down_sql);
	m->down_len = strlen(t.down_sql);
	m->is_down_no_transaction =
	        strncmp(t.down_sql, STRATA_NO_TRANSACTION_DIRECTIVE,
	                strlen(STRATA_NO_TRANSACTION_DIRECTIVE)) == 0;
	memcpy(m->checksum, row->checksum, sizeof(m->checksum));
	audit_texts_release(&t);
	return m;
}

static int check_revertible(struct strata_db *db, const struct history_row *row,
                            const struct strata_source *src,
                            const struct strata_migration **out,
                            struct arena *keep, struct strata_error *err)
{
	const struct strata_migration *m =
	        strata_source_find(src, row->version);

	if (!m && (m = stored_migration(db, row, keep))) {
		db_emit_warning(
		        db, m,
		        "migration %" PRId64
		        " (%s) is not in the source: reverting it with the down SQL stored when it was applied",
		        row->version, row->description);
		*out = m;
		return 0;
	}
	if (!m) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "cannot revert migration %" PRId64
		                 " (%s): it is missing from '%s'",
		                 row->version, row->description,
		                 strata_source_dir(src));
		return strata_error_hint(
		        err,
		        "Restore its files first (no down SQL was stored for it in the audit trail).");
	}
	if (!history_checksum_matches(row, m))
		return history_mismatch_error(row, m, err);
	if (!m->down_path) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "cannot revert migration %" PRId64
		                 " (%s): it has no down file",
		                 m->version, m->description);
		err->file = xstrdup(m->up_path);
		if (m->is_reversible_pair)
			return strata_error_hint(
			        err,
			        "Add '%.*s.down.sql' beside it with the SQL that undoes it, or write a new migration that does.",
			        (int)(strlen(m->up_path) - strlen(".up.sql")),
			        m->up_path);
		return strata_error_hint(
		        err,
		        "Add %" PRId64
		        "_<description>.down.sql beside it with the SQL that undoes it, or write a new migration that does.",
		        m->version);
	}
	*out = m;
	return 0;
}

static int revert_one(struct strata_db *db, const struct plan_step *step,
                      bool *is_skipped, struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int64_t v = step->m->version, started = audit_now_ns();
	int64_t t0 = text_monotonic_ns();
	struct audit_entry e;
	bool has = true;
	int rc;

	*is_skipped = false;
	if (check_cancel(step, "reverting", err) < 0 ||
	    check_lock(db, err) < 0 || drv->begin(db->conn, err) < 0)
		return -1;
	if (!(drv->caps & DRV_ADVISORY_LOCK) &&
	    history_has(&has, db->conn, &db->table, v, err) < 0)
		goto fail;
	if (!has) {
		*is_skipped = true;
		drv->rollback(db->conn);
		return 0;
	}
	db_emit_migration(db, STRATA_EVENT_REVERT_START, step->m, 0);
	audit_step(&e, db, "revert", step, started);
	e.up_sql = NULL;
	if (step->mode == MODE_TXN) {
		if (set_step_timeouts(db, step, true, err) < 0)
			goto fail;
		if (exec_step(db, step, true, false, err) < 0) {
			fail_step(db, step, "revert", started, err);
			say_cancelled(step, "rolled back", err);
			return -1;
		}
		e.duration_ns = db->step_ns = text_monotonic_ns() - t0;
		if (history_delete(db->conn, &db->table, v, err) < 0 ||
		    audit_add(db, &e, err) < 0 || check_lock(db, err) < 0 ||
		    drv->commit(db->conn, err) < 0)
			goto fail;
		return 0;
	}
	/* Fenced: marked failed while the down file runs outside a txn. */
	if (history_set_failed(db->conn, &db->table, v, err) < 0 ||
	    drv->commit(db->conn, err) < 0)
		goto fail;
	rc = exec_fenced(db, step, true, "revert", started, err);
	reset_timeouts(db);
	if (rc < 0) {
		fail_step(db, step, "revert", started, err);
		strata_error_hint(
		        err,
		        "The down file of migration %" PRId64
		        " ran outside a transaction and its record is now marked failed. Complete or undo its statements by hand, then run 'strata repair --retry %" PRId64
		        "' (if the revert is complete) or 'strata repair --mark-applied %" PRId64
		        "' (if you restored the migration).",
		        v, v, v);
		say_cancelled(step, "recorded as failed, see strata repair",
		              err);
		return -1;
	}
	e.duration_ns = db->step_ns = text_monotonic_ns() - t0;
	if (drv->begin(db->conn, err) < 0)
		return -1;
	if (history_delete(db->conn, &db->table, v, err) < 0 ||
	    audit_add(db, &e, err) < 0 || drv->commit(db->conn, err) < 0)
		goto fail;
	return 0;
fail:
	drv->rollback(db->conn);
	return -1;
}

int strata_migrate_revert(size_t *out_reverted, struct strata_db *db,
                          const struct strata_source *src,
                          const struct strata_revert_options *opts,
                          struct strata_error *err)
{
	struct history h = { 0 };
	struct plan plan = { 0 };
	size_t count = opts->count ? opts->count : 1, reverted = 0;
	struct arena keep = ARENA_INIT;
	struct plan_ctx ctx;
	int rc = -1;

	plan_ctx_init(&ctx, db);
	db->source_dir = strata_source_dir(src);
	if (lock_and_read(db, &h, false, err) < 0 ||
	    check_failed(&h, src, err) < 0)
		goto done;
	if (h.has_table && audit_ensure(db, err) < 0)
		goto done;
	for (size_t i = h.n; i-- > 0;) {
		const struct history_row *row = &h.rows[i];
		const struct strata_migration *m = NULL;

		if (opts->is_all || opts->has_target) {
			if (!opts->is_all &&
			    row->version <= opts->target_version)
				break;
		} else if (plan.n >= count) {
			break;
		}
		if (check_revertible(db, row, src, &m, &keep, err) < 0 ||
		    plan_add(&plan, &ctx, m, true, false, err) < 0)
			goto done;
	}
	for (size_t i = 0; i < plan.n; i++) {
		const struct plan_step *step = &plan.steps[i];
		bool is_skipped = false;

		if (opts->is_dry_run) {
			db_emit_migration(db, STRATA_EVENT_DRY_RUN_REVERT,
			                  step->m, 0);
			reverted++;
			continue;
		}
		if (revert_one(db, step, &is_skipped, err) < 0)
			goto done;
		if (is_skipped)
			continue;
		reverted++;
		db_emit_migration(db, STRATA_EVENT_REVERT_DONE, step->m,
		                  db->step_ns);
	}
	rc = 0;
done:
	db->drv->unlock(db->conn);
	if (out_reverted)
		*out_reverted = reverted;
	plan_release(&plan);
	history_release(&h);
	arena_release(&keep);
	return rc;
}
