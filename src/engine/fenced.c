/*
 * Non-transactional migrations (`-- no-transaction`): fenced by a
 * `success = false` history row flipped when the file ends, each statement
 * alone and retried where that is safe; the invalid indexes a concurrent
 * build leaves are dropped, and none may stay behind a recorded success.
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
	if (!strcmp(stmt_what(st), "CREATE INDEX CONCURRENTLY"))
		return st->index_kind == 'c';
	return strcmp(stmt_what(st), "REINDEX CONCURRENTLY") != 0 &&
	       strcmp(stmt_what(st),
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
		if (!strcmp(stmt_what(st), whats[i]))
			return true;
	return false;
}

/* A statement's lock_timeout in ms (0: none): a concurrent one's waits
 * hold no application query up, and losing one throws a build away. */
static int64_t stmt_lock_ms(const struct strata_db *db,
                            const struct plan_step *step,
                            const struct strata_stmt *st, bool is_probe)
{
	int64_t lock_ms =
	        step_timeout_ms(step->lock_timeout, db->opts.lock_timeout,
	                        DEFAULT_LOCK_TIMEOUT);
	int64_t probe_ms =
	        step_timeout_ms(-1, db->opts.lock_probe, DEFAULT_LOCK_PROBE);

	if (is_concurrent(st))
		return step_timeout_ms(step->concurrent_lock_timeout,
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
	v[1] = DBV_TEXT(st->index->target);
	v[2] = DBV_TEXT(st->index->name);
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
		sbuf_add_ident(&name, st->index->name);
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
		                 "index %s is invalid after migration %s ran",
		                 name, migration_version(step->m));
		err->statement = (int)k + 1;
		strata_error_detail(
		        err,
		        "An invalid index enforces nothing (a unique one lets duplicates in) and no query uses it: a concurrent build or rebuild of it failed, and statement %zu left it so or kept it (IF NOT EXISTS). The migration is recorded as failed.",
		        k + 1);
		strata_error_hint(
		        err,
		        "Drop it (DROP INDEX CONCURRENTLY %s;), then retry migration %s (a repair) and run again to build it.",
		        name, migration_version(step->m));
		strata_error_reason(err, STRATA_REASON_INVALID_INDEX, v);
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
		error_prefix(err, "migration %s gave up after %d attempts",
		             migration_version(step->m), attempt);
}

/*
 * A non-transactional file's statements (`action` "apply" or "revert"),
 * each retried where that is safe (is_repeatable()) when it loses a lock
 * race; the statements before it are not run again. Every failed attempt
 * is in the audit trail. It sets the session's timeouts itself (SET only
 * when a statement needs other ones than the one before).
 */
int fenced_exec(struct strata_db *db, const struct plan_step *step,
                bool is_down, const char *action, int64_t started_at_ns,
                struct strata_error *err)
{
	const struct strata_script *s = &step->script;
	struct batch b = BATCH_INIT;
	int max = step_max_retries(db);
	uint64_t seed = step_retry_seed();
	int64_t set_ms = -1; /* the session's lock_timeout; -1: not set */
	int64_t statement_ms = step_timeout_ms(step->statement_timeout,
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
			batch_add_timeouts(&b, lock_ms, statement_ms, false);
			if (db_exec_batch(db, &b, err) < 0) {
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
		batch_add_script(&b, &one, true);
		if (db_exec_batch(db, &b, err) == 0) {
			k++;
			attempt = 1;
			continue;
		}
		err->statement = (int)k + 1;
		if (!step_is_retryable(err) || !is_repeatable(s, k) ||
		    attempt > max || strata_is_cancelled()) {
			if (step_is_retryable(err) && is_repeatable(s, k) &&
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
		step_fail(db, step, action, started_at_ns, err);
		sbuf_addf(&what, "statement %zu: ", k + 1);
		step_wait_to_retry(db, step, what.buf, attempt, max, &seed,
		                   err);
		sbuf_release(&what);
		attempt++;
	}
	progress_stop(db, rc == 0);
	batch_release(&b);
	return rc;
}

/*
 * Non-transactional: the fence row first, committed on its own (BEGIN,
 * the row, COMMIT: one batch), then the statements; the row is flipped
 * with the audit row in a second batch.
 */
int fenced_apply(struct strata_db *db, const struct plan_step *step,
                 bool *is_skipped, struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int64_t t0, started = audit_now_ns();
	struct batch b = BATCH_INIT;
	struct audit_entry e;
	struct batch_stats stats = { 0, 0 };
	int rc;

	*is_skipped = false;
	if (step_check_cancel(step, "applying", err) < 0 ||
	    step_check_lock(db, err) < 0)
		return -1;
	/* a batch migration stopped part way: its fence row stands */
	if (step->is_resume)
		goto run;
	batch_add_begin(&b);
	if (!(drv->caps & DRV_ADVISORY_LOCK) &&
	    (db_exec_batch(db, &b, err) < 0 ||
	     step_applied_meanwhile(is_skipped, db, step->m->version, err) < 0))
		goto fail;
	if (*is_skipped) {
		drv->rollback(db->conn);
		return 0;
	}
	history_add_insert(&b, &db->hist, step->m, false, -1);
	batch_add_commit(&b);
	if (db_exec_batch(db, &b, err) < 0)
		goto fail;
run:
	if (step->mode == MODE_BATCH && audit_add_batch_columns(db, err) < 0)
		return -1;
	db_emit_migration(db, STRATA_EVENT_APPLY_START, step->m, 0);
	t0 = text_monotonic_ns();
	rc = step->mode == MODE_BATCH
	             ? batchrun_exec(&stats, db, step, started, err)
	             : fenced_exec(db, step, false, "apply", started, err);
	step_reset_timeouts(db);
	if (rc == 0 && check_indexes_valid(db, step, err) < 0) {
		step_fail(db, step, "apply", started, err);
		return -1;
	}
	if (rc < 0 && step->mode == MODE_BATCH) {
		step_fail(db, step, "apply", started, err);
		strata_error_hint(
		        err,
		        "Batch migration %s is recorded as failed after %" PRId64
		        " batches of this run committed (%" PRId64
		        " rows): run again once the cause is fixed, and it goes on where it stopped.",
		        migration_version(step->m), stats.batches, stats.rows);
		strata_error_reason(err, STRATA_REASON_FAILED_APPLY,
		                    step->m->version);
		step_say_cancelled(
		        step, "recorded as failed; run again to go on", err);
		return -1;
	}
	if (rc < 0) {
		step_fail(db, step, "apply", started, err);
		strata_error_hint(
		        err,
		        "Migration %s ran outside a transaction and is recorded as failed: statements before the failing one stay applied. Complete or undo them by hand, then mark it applied (if you completed it) or retry it (if you undid it), a repair either way.",
		        migration_version(step->m));
		strata_error_reason(err, STRATA_REASON_FAILED_APPLY,
		                    step->m->version);
		step_say_cancelled(
		        step, "recorded as failed, see strata repair", err);
		return -1;
	}
	step_audit(&e, db, "apply", step, started);
	e.duration_ns = db->step_ns = text_monotonic_ns() - t0;
	if (step->mode == MODE_BATCH) {
		e.has_batches = true;
		e.rows = stats.rows;
		e.batches = stats.batches;
		free(db->step_note);
		db->step_note =
		        xstrfmt("%" PRId64 " rows in %" PRId64 " batches",
		                stats.rows, stats.batches);
		e.note = db->step_note;
	}
	batch_add_begin(&b);
	history_add_finish(&b, &db->hist, step->m->version,
	                   step->m->version_text, e.duration_ns);
	audit_add_to(&b, db, &e);
	batch_add_commit(&b);
	if (db_exec_batch(db, &b, err) < 0) {
		drv->rollback(db->conn);
		step_say_cancelled(
		        step, "recorded as failed, see strata repair", err);
		return -1;
	}
	return 0;
fail:
	batch_reset(&b);
	drv->rollback(db->conn);
	return -1;
}
