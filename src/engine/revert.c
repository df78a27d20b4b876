/*
 * Reverting migrations (design.md, Commands): the newest applied first, with
 * their down files, or with the down SQL the audit trail kept when the
 * files are gone; transactional or fenced as their down files say.
 */
#include "engine/migrate.h"
#include "util/xalloc.h"
#include "engine/source.h"
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
 * A migration gone from the source (a branch switched, a file deleted)
 * reverted with the down SQL recorded when it was applied.
 */
static const struct strata_migration *
stored_migration(struct strata_db *db, const struct history_row *row,
                 struct arena *keep)
{
	struct strata_migration *m;
	struct audit_texts t = { 0 };
	char buf[24];

	if (db->has_audit)
		audit_stored(&t, db, row->version);
	if (!t.down_sql) {
		audit_texts_release(&t);
		return NULL;
	}
	m = arena_alloc(keep, sizeof(*m));
	memset(m, 0, sizeof(*m));
	m->version = row->version;
	/* the tool's table knows it by its text */
	m->version_text =
	        arena_strdup(keep, history_row_version(row, NULL, buf));
	m->description = arena_strdup(keep, row->description);
	m->up_path = arena_strfmt(keep, "(migration %s, not in the source)",
	                          m->version_text);
	m->up_sql = "";
	m->down_path = arena_strfmt(
	        keep, "(down SQL of migration %s stored in the audit trail)",
	        m->version_text);
	m->down_sql = arena_strdup(keep, t.down_sql);
	m->down_len = strlen(t.down_sql);
	m->is_down_no_transaction =
	        strncmp(t.down_sql, STRATA_NO_TRANSACTION_DIRECTIVE,
	                strlen(STRATA_NO_TRANSACTION_DIRECTIVE)) == 0;
	memcpy(m->checksum, row->checksum, sizeof(m->checksum));
	audit_texts_release(&t);
	return m;
}

/* The length of an up file's path before its ".up.sql" (an embedded
 * one's is followed by " (embedded)"). */
static size_t up_name_len(const char *up_path)
{
	const char *at = strstr(up_path, ".up.sql");

	return at ? (size_t)(at - up_path) : strlen(up_path);
}

static int check_revertible(struct strata_db *db, const struct history_row *row,
                            const struct strata_source *src,
                            const struct strata_migration **out,
                            struct arena *keep, struct strata_error *err)
{
	const struct strata_migration *m =
	        strata_source_find(src, row->version);
	char buf[24];

	if (!m && (m = stored_migration(db, row, keep))) {
		db_emit_warning(
		        db, m,
		        "migration %s (%s) is not in the source: reverting it with the down SQL stored when it was applied",
		        history_row_version(row, NULL, buf), row->description);
		*out = m;
		return 0;
	}
	if (!m) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "cannot revert migration %s (%s): it is missing from '%s'",
		        history_row_version(row, NULL, buf), row->description,
		        strata_source_dir(src));
		return strata_error_hint(
		        err,
		        "Restore its files first (no down SQL was stored for it in the audit trail).");
	}
	if (!history_checksum_matches(row, m))
		return history_mismatch_error(row, m, err);
	if (!m->down_path) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "cannot revert migration %s (%s): it has no down file",
		        migration_version(m), m->description);
		err->file = xstrdup(m->up_path);
		if (db->hist.layout == STRATA_LAYOUT_DBMATE)
			return strata_error_hint(
			        err,
			        "Write the SQL that undoes it after the '-- migrate:down' line of '%s', or write a new migration that does.",
			        m->up_path);
		if (db->hist.layout == STRATA_LAYOUT_DIESEL)
			return strata_error_hint(
			        err,
			        "Add down.sql beside '%s' with the SQL that undoes it, or write a new migration that does.",
			        m->up_path);
		if (db->hist.layout == STRATA_LAYOUT_FLYWAY) {
			const char *slash = strrchr(m->up_path, '/');
			const char *name = slash ? slash + 1 : m->up_path;

			/* Flyway Teams' undo: U in place of V */
			return strata_error_hint(
			        err,
			        "Add 'U%s' beside it with the SQL that undoes it (Flyway's undo migration), or write a new migration that does.",
			        name + 1);
		}
		if (m->is_reversible_pair)
			return strata_error_hint(
			        err,
			        "Add '%.*s.down.sql' beside it with the SQL that undoes it, or write a new migration that does.",
			        (int)up_name_len(m->up_path), m->up_path);
		return strata_error_hint(
		        err,
		        "Add %s_<description>.down.sql beside it with the SQL that undoes it, or write a new migration that does.",
		        migration_version(m));
	}
	*out = m;
	return 0;
}

/*
 * One step back. Transactional: BEGIN, SET LOCAL and the down file's
 * statements in one batch; the history row's delete, the audit row and
 * COMMIT in another (all in one with the driver's elapsed_ns:
 * step_exec_txn()). Fenced: the row marked failed and committed first,
 * the statements outside a transaction, then the row deleted.
 */
static int revert_one(struct strata_db *db, const struct plan_step *step,
                      bool *is_skipped, struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int64_t v = step->m->version, started = audit_now_ns();
	int64_t t0 = text_monotonic_ns();
	struct batch b = BATCH_INIT;
	struct audit_entry e;
	bool has = true;
	int rc;

	*is_skipped = false;
	if (step_check_cancel(step, "reverting", err) < 0 ||
	    step_check_lock(db, err) < 0)
		return -1;
	batch_add_begin(&b);
	if (!(drv->caps & DRV_ADVISORY_LOCK) &&
	    (db_exec_batch(db, &b, err) < 0 ||
	     history_has(&has, db->conn, &db->hist, v, err) < 0))
		goto fail;
	if (!has) {
		*is_skipped = true;
		drv->rollback(db->conn);
		return 0;
	}
	db_emit_migration(db, STRATA_EVENT_REVERT_START, step->m, 0);
	step_audit(&e, db, "revert", step, started);
	e.up_sql = NULL;
	if (step->mode == MODE_TXN && drv->elapsed_ns) {
		step_add_timeouts(&b, db, step, true);
		rc = step_exec_txn(db, &b, step, true, started, err);
		if (rc == -2)
			goto fail;
		if (rc < 0) {
			step_fail(db, step, "revert", started, err);
			step_say_cancelled(step, "rolled back", err);
			return -1;
		}
		return 0;
	}
	if (step->mode == MODE_TXN) {
		step_add_timeouts(&b, db, step, true);
		if (step_exec(db, &b, step, true, false, err) < 0) {
			step_fail(db, step, "revert", started, err);
			step_say_cancelled(step, "rolled back", err);
			return -1;
		}
		e.duration_ns = db->step_ns = text_monotonic_ns() - t0;
		history_add_delete(&b, &db->hist, v, step->m->version_text);
		audit_add_to(&b, db, &e);
		if (step_check_lock(db, err) < 0)
			goto fail;
		batch_add_commit(&b);
		if (db_exec_batch(db, &b, err) < 0)
			goto fail;
		return 0;
	}
	/* Fenced: marked failed while the down file runs outside a txn. */
	history_add_set_failed(&b, &db->hist, step->m);
	batch_add_commit(&b);
	if (db_exec_batch(db, &b, err) < 0)
		goto fail;
	rc = fenced_exec(db, step, true, "revert", started, err);
	step_reset_timeouts(db);
	if (rc < 0) {
		step_fail(db, step, "revert", started, err);
		strata_error_hint(
		        err,
		        "The down file of migration %s ran outside a transaction and its record is now marked failed. Complete or undo its statements by hand, then retry it (if the revert is complete) or mark it applied (if you restored the migration), a repair either way.",
		        migration_version(step->m));
		strata_error_reason(err, STRATA_REASON_FAILED_REVERT, v);
		step_say_cancelled(
		        step, "recorded as failed, see strata repair", err);
		return -1;
	}
	e.duration_ns = db->step_ns = text_monotonic_ns() - t0;
	batch_add_begin(&b);
	history_add_delete(&b, &db->hist, v, step->m->version_text);
	audit_add_to(&b, db, &e);
	batch_add_commit(&b);
	if (db_exec_batch(db, &b, err) < 0)
		goto fail;
	return 0;
fail:
	batch_reset(&b);
	drv->rollback(db->conn);
	return -1;
}

/* What a down that lost its lock race every time left. */
#define REVERT_RACE_HINT \
	"Nothing of it was reverted. End the blocking session or wait for it, then revert again; the lock timeout and the retries set how long strata waits."

/*
 * One step of a single-transaction revert, inside the transaction `b`
 * began: its statements sent with the rows of the steps before, its own
 * rows left in `b` for the next step or the COMMIT. -1 when it failed,
 * the whole revert rolled back.
 */
static int revert_in_one(struct strata_db *db, struct batch *b,
                         const struct plan_step *step, bool *is_skipped,
                         struct strata_error *err)
{
	int64_t started = audit_now_ns(), t0;
	struct audit_entry e;
	bool has = true;

	*is_skipped = false;
	if (step_check_cancel(step, "reverting", err) < 0)
		return -1;
	if (!(db->drv->caps & DRV_ADVISORY_LOCK) &&
	    (db_exec_batch(db, b, err) < 0 ||
	     history_has(&has, db->conn, &db->hist, step->m->version, err) < 0))
		return -1;
	if (!has) {
		*is_skipped = true;
		return 0;
	}
	db_emit_migration(db, STRATA_EVENT_REVERT_START, step->m, 0);
	step_add_timeouts(b, db, step, true);
	t0 = text_monotonic_ns();
	if (step_exec(db, b, step, true, false, err) < 0) {
		step_fail(db, step, "revert", started, err);
		if (!err->hint)
			strata_error_hint(
			        err,
			        "The whole revert was rolled back (a single-transaction revert): nothing was reverted.");
		step_say_cancelled(step, "rolled back", err);
		return -1;
	}
	step_audit(&e, db, "revert", step, started);
	e.up_sql = NULL;
	e.duration_ns = db->step_ns = text_monotonic_ns() - t0;
	history_add_delete(b, &db->hist, step->m->version,
	                   step->m->version_text);
	audit_add_to(b, db, &e);
	return 0;
}

/* The steps one at a time, each a round trip (revert_in_one()); the step
 * that failed, or NULL. */
static const struct plan_step *
revert_each(struct strata_db *db, struct batch *b, const struct plan *plan,
            int64_t *step_ns, bool *is_skipped, size_t *done,
            struct strata_error *err)
{
	/* sent with the first step's statements */
	batch_add_begin(b);
	for (size_t i = 0; i < plan->n; i++) {
		if (revert_in_one(db, b, &plan->steps[i], &is_skipped[i], err) <
		    0)
			return &plan->steps[i];
		if (!is_skipped[i])
			step_ns[i] = db->step_ns, (*done)++;
	}
	return NULL;
}

/*
 * --single-transaction: every step in one transaction, committed at the
 * end, as run's (apply_all_in_one()), many steps at a time where the
 * driver pipelines: a lost lock race rolls back the
 * whole revert, which runs again from the first step after a backoff,
 * every attempt but the last probing for its locks.
 */
static int revert_all_in_one(struct strata_db *db, const struct plan *plan,
                             size_t *reverted, struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	struct batch b = BATCH_INIT;
	int max = step_max_retries(db);
	uint64_t seed = step_retry_seed();
	int64_t *step_ns = xcalloc(plan->n, sizeof(*step_ns));
	bool *is_skipped = xcalloc(plan->n, sizeof(*is_skipped));
	int rc = -1;

	for (int attempt = 1;; attempt++) {
		const struct plan_step *failed = NULL;
		size_t done = 0;

		db->is_lock_probe = attempt <= max;
		if (drv->mark_step) {
			if (migrate_pipelined(db, plan, true, step_ns, &failed,
			                      err) == 0)
				done = plan->n;
		} else {
			failed = revert_each(db, &b, plan, step_ns, is_skipped,
			                     &done, err);
		}
		db->is_lock_probe = false;
		if (!failed) {
			if (step_commit_all(db, &b, err) < 0)
				goto done;
			for (size_t i = 0; i < plan->n; i++)
				if (!is_skipped[i])
					db_emit_migration(
					        db, STRATA_EVENT_REVERT_DONE,
					        plan->steps[i].m, step_ns[i]);
			*reverted = done;
			rc = 0;
			goto done;
		}
		batch_reset(&b);
		drv->rollback(db->conn);
		if (!step_is_retryable(err) || strata_is_cancelled())
			goto done;
		if (attempt > max) {
			err->code = STRATA_ELOCK;
			if (max)
				error_prefix(
				        err,
				        "the revert gave up after %d attempts",
				        attempt);
			goto done;
		}
		step_wait_to_retry(db, failed, "the whole revert: ", attempt,
		                   max, &seed, err);
	}
done:
	batch_release(&b);
	free(step_ns);
	free(is_skipped);
	return rc;
}

int strata_migrate_revert(size_t *out_reverted, struct strata_db *db,
                          const struct strata_source *src,
                          const struct strata_revert_options *opts,
                          struct strata_error *err)
{
	static const struct strata_revert_options defaults =
	        STRATA_REVERT_OPTIONS_INIT;
	struct history h = { 0 };
	struct plan plan = { 0 };
	size_t count = opts && opts->count ? opts->count : 1, reverted = 0;
	struct arena keep = ARENA_INIT;
	struct plan_ctx ctx;
	int rc = -1;

	plan_ctx_init(&ctx, db);
	db->source_dir = source_folder(src);
	if (!opts)
		opts = &defaults;
	/* a source loaded for running (is_down_deferred) has not read its
	 * down files: every one is read now, checked as the load checks */
	if (OPTIONS_CHECK(opts, STRATA_REVERT_OPTIONS_VERSION,
	                  "strata_revert_options", err) < 0 ||
	    source_read_downs(src, NULL, 0, err) < 0 ||
	    db_bind_layout(db, src, err) < 0 ||
	    step_lock_and_read(db, &h, false, err) < 0 ||
	    step_read_failed_ups(&h, src, err) < 0 ||
	    step_check_failed(&h, src, err) < 0)
		goto done;
	/* the commit for the audit rows, asked of git meanwhile */
	if (h.n && !opts->is_dry_run)
		audit_look_up_git(db, db->source_dir);
	if (h.has_table && audit_ensure(db, err) < 0)
		goto done;
	int64_t target_key =
	        opts->has_target
	                ? strata_source_version_key(src, opts->target_version)
	                : -1;

	plan_reserve(&plan, opts->is_all || opts->has_target || count > h.n
	                            ? h.n
	                            : count);
	for (size_t i = h.n; i-- > 0;) {
		const struct history_row *row = &h.rows[i];
		const struct strata_migration *m = NULL;

		/* Flyway's repeatables have no undo: never reverted */
		if (history_is_repeatable(row->version))
			continue;
		if (opts->is_all || opts->has_target) {
			if (!opts->is_all && row->version <= target_key)
				break;
		} else if (plan.n >= count) {
			break;
		}
		if (check_revertible(db, row, src, &m, &keep, err) < 0 ||
		    plan_add(&plan, &ctx, m, true, opts->is_single_transaction,
		             err) < 0)
			goto done;
	}
	if (opts->is_single_transaction && plan.n && !opts->is_dry_run) {
		step_forget_history(db);
		if (revert_all_in_one(db, &plan, &reverted, err) == 0)
			rc = 0;
		goto done;
	}
	for (size_t i = 0; i < plan.n; i++) {
		const struct plan_step *step = &plan.steps[i];
		bool is_skipped = false, is_raced = false;

		if (opts->is_dry_run) {
			db_emit_migration(db, STRATA_EVENT_DRY_RUN_REVERT,
			                  step->m, 0);
			reverted++;
			continue;
		}
		if (step->mode == MODE_TXN && db->drv->mark_step) {
			int sent = migrate_pipelined_txns(db, &plan, true, &i,
			                                  &reverted, err);

			if (sent < 0)
				goto done;
			if (sent == 0) {
				i--;
				continue;
			}
			is_raced = true;
			step = &plan.steps[i];
		}
		/* a lost lock race of a transactional down: again, as run */
		if (step->mode == MODE_TXN
		            ? (is_raced ? step_retry_after_first
		                        : step_with_retries)(
		                      db, step, revert_one, &is_skipped,
		                      REVERT_RACE_HINT, err) < 0
		            : revert_one(db, step, &is_skipped, err) < 0)
			goto done;
		if (step->mode == MODE_TXN && !is_skipped)
			step_kept_reverted(db, step->m);
		else
			step_forget_history(db);
		if (is_skipped)
			continue;
		reverted++;
		db_emit_migration(db, STRATA_EVENT_REVERT_DONE, step->m,
		                  db->step_ns);
	}
	rc = 0;
done:
	if (rc < 0) {
		source_name_version(src, err);
		step_forget_history(db);
	}
	if (!db->is_lock_kept)
		db->drv->unlock(db->conn);
	if (out_reverted)
		*out_reverted = reverted;
	plan_release(&plan);
	history_release(&h);
	arena_release(&keep);
	return rc;
}
