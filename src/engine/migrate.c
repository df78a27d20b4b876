/*
 * Running migrations (design.md, History table): take the lock,
 * read the history after it, check the source against it, plan every
 * step, and only then execute. A transactional migration commits with its
 * history row; a non-transactional one is fenced by a `success = false`
 * row flipped when it ends. The history's SQL is in history.c, the
 * dialect's pieces in the drivers; fenced.c runs non-transactional
 * steps, revert.c reverts.
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
#include "engine/replica.h"
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

/*
 * A batch migration recorded as failed (killed, stopped, a batch that
 * failed) whose file is unchanged: run goes on with it, its WHERE
 * leaving the rows already done out (design.md, Batch migrations).
 */
static bool is_resumable(const struct history_row *row,
                         const struct strata_source *src)
{
	const struct strata_migration *m =
	        row->success ? NULL : strata_source_find(src, row->version);

	return m && m->up_sql && plan_is_batch(m->up_sql, m->up_len) &&
	       history_checksum_matches(row, m);
}

static int check_history(const struct history *h,
                         const struct strata_source *src,
                         bool is_ignore_missing, struct strata_error *err)
{
	for (size_t i = 0; i < h->n; i++)
		if (!h->rows[i].success && !is_resumable(&h->rows[i], src))
			return history_check_row(&h->rows[i], src, true, err);
	for (size_t i = 0; i < h->n; i++)
		if (!is_resumable(&h->rows[i], src) &&
		    history_check_row(&h->rows[i], src, is_ignore_missing,
		                      err) < 0)
			return -1;
	return 0;
}

/*
 * A transactional step, its transaction built here as two batches: BEGIN,
 * SET LOCAL and the statements; then, the time known and the lock checked,
 * the history row, the audit row and COMMIT. Each is one round trip where
 * the driver pipelines; one in all with the driver's elapsed_ns
 * (step_exec_txn()). In --single-transaction (!is_own_txn) `b` carries
 * the rows of the steps before, sent with this step's statements, and
 * this step's rows are left in it for the next step or the final COMMIT.
 */
static int apply_txn(struct strata_db *db, struct batch *b,
                     const struct plan_step *step, bool is_own_txn,
                     bool *is_skipped, struct strata_error *err)
{
	int64_t t0, started = audit_now_ns();
	struct audit_entry e;
	int rc;

	*is_skipped = false;
	if (step_check_cancel(step, "applying", err) < 0)
		goto fail;
	if (is_own_txn)
		batch_add_begin(b);
	if (!(db->drv->caps & DRV_ADVISORY_LOCK)) {
		/* no lock but the write transaction's: look inside it */
		if (db_exec_batch(db, b, err) < 0 ||
		    step_applied_meanwhile(is_skipped, db, step->m->version,
		                           err) < 0)
			goto fail;
		if (*is_skipped) {
			if (is_own_txn)
				db->drv->rollback(db->conn);
			return 0;
		}
	}
	step_add_timeouts(b, db, step, true);
	db_emit_migration(db, STRATA_EVENT_APPLY_START, step->m, 0);
	t0 = text_monotonic_ns();
	if (is_own_txn && db->drv->elapsed_ns)
		rc = step_exec_txn(db, b, step, false, started, err);
	else
		rc = step_exec(db, b, step, false, false, err);
	if (rc == -2)
		goto fail;
	if (rc < 0) {
		step_fail(db, step, "apply", started, err);
		if (!err->hint && is_own_txn)
			strata_error_hint(
			        err,
			        "Migration %s was rolled back: nothing of it was applied. Fix the file and run again.",
			        migration_version(step->m));
		else if (!err->hint)
			strata_error_hint(
			        err,
			        "The whole run was rolled back (a single-transaction run): nothing was applied.");
		step_say_cancelled(step, "rolled back", err);
		return -1;
	}
	if (is_own_txn && db->drv->elapsed_ns)
		return 0;
	step_audit(&e, db, "apply", step, started);
	e.duration_ns = db->step_ns = text_monotonic_ns() - t0;
	history_add_insert(b, &db->hist, step->m, true, e.duration_ns);
	audit_add_to(b, db, &e);
	if (!is_own_txn)
		return 0;
	if (step_check_lock(db, err) < 0)
		goto fail;
	batch_add_commit(b);
	if (db_exec_batch(db, b, err) < 0)
		goto fail;
	return 0;
fail:
	batch_reset(b);
	db->drv->rollback(db->conn);
	return -1;
}

/* What a migration that lost its lock race every time left. */
#define APPLY_RACE_HINT \
	"Nothing of it was applied. End the blocking session or wait for it, then run again; the lock timeout and the retries set how long strata waits."

/* A transactional migration, in its own transaction. */
static int apply_own_txn(struct strata_db *db, const struct plan_step *step,
                         bool *is_skipped, struct strata_error *err)
{
	struct batch b = BATCH_INIT;
	int rc = apply_txn(db, &b, step, true, is_skipped, err);

	batch_release(&b);
	return rc;
}

/* --single-transaction's steps one at a time, each a round trip, `b`
 * carrying the rows of the one before (apply_txn()); the step that failed,
 * or NULL. */
static const struct plan_step *apply_each(struct strata_db *db, struct batch *b,
                                          const struct plan *plan,
                                          int64_t *step_ns, size_t *applied,
                                          size_t *skipped,
                                          struct strata_error *err)
{
	/* sent with the first step's statements */
	batch_add_begin(b);
	for (size_t i = 0; i < plan->n; i++) {
		bool is_skipped;

		if (apply_txn(db, b, &plan->steps[i], false, &is_skipped, err) <
		    0)
			return &plan->steps[i];
		if (is_skipped) {
			db_emit_migration(db, STRATA_EVENT_APPLY_SKIP,
			                  plan->steps[i].m, 0);
			(*skipped)++;
		} else {
			step_ns[i] = db->step_ns;
			(*applied)++;
		}
	}
	return NULL;
}

/*
 * --single-transaction: every step in one transaction, committed at the
 * end. Sent many steps at a time where the driver pipelines
 * (pipelined.c), else one at a time. A lost lock race (lock timeout,
 * deadlock) rolls back the whole run, which runs again from the first step
 * after a backoff; every attempt but the last probes for its locks, as a
 * migration's do.
 */
static int apply_all_in_one(struct strata_db *db, const struct plan *plan,
                            struct strata_run_result *res,
                            struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	struct batch b = BATCH_INIT;
	int max = step_max_retries(db);
	uint64_t seed = step_retry_seed();
	int64_t *step_ns = xcalloc(plan->n, sizeof(*step_ns));
	int rc = -1;

	for (int attempt = 1;; attempt++) {
		const struct plan_step *failed = NULL;
		size_t applied = 0, skipped = 0;

		db->is_lock_probe = attempt <= max;
		if (drv->mark_step) {
			if (migrate_pipelined(db, plan, false, step_ns, &failed,
			                      err) == 0)
				applied = plan->n;
		} else {
			failed = apply_each(db, &b, plan, step_ns, &applied,
			                    &skipped, err);
		}
		db->is_lock_probe = false;
		if (!failed) {
			if (step_commit_all(db, &b, err) < 0)
				goto done;
			for (size_t i = 0; i < plan->n; i++)
				db_emit_migration(db, STRATA_EVENT_APPLY_DONE,
				                  plan->steps[i].m, step_ns[i]);
			res->applied = applied;
			res->skipped = skipped;
			rc = 0;
			goto done;
		}
		drv->rollback(db->conn);
		if (!step_is_retryable(err) || strata_is_cancelled())
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
		step_wait_to_retry(db, failed, "the whole run: ", attempt, max,
		                   &seed, err);
	}
done:
	batch_release(&b);
	free(step_ns);
	return rc;
}

/* A batch migration's APPLY_DONE says its rows and batches. */
static void emit_done_with_note(struct strata_db *db,
                                const struct plan_step *step)
{
	struct strata_event ev = { .kind = STRATA_EVENT_APPLY_DONE };

	ev.migration = step->m;
	ev.version = step->m->version;
	ev.description = step->m->description;
	ev.duration_ns = db->step_ns;
	ev.message = db->step_note;
	db_emit(db, &ev);
	free(db->step_note);
	db->step_note = NULL;
}

/*
 * run --dry-run: what would be applied; a batch migration runs one batch
 * that is rolled back, for its rows and time. Only the first pending
 * migration's tables are as the batch will find them: a later one may
 * need what the ones before it create, and is only named.
 */
static void dry_run_step(struct strata_db *db, const struct plan_step *step,
                         size_t i)
{
	struct strata_error e = STRATA_ERROR_INIT;
	struct strata_event ev = { .kind = STRATA_EVENT_DRY_RUN_APPLY };
	char *msg = NULL;

	if (step->mode == MODE_BATCH && batchrun_dry(db, step, &e) == 0)
		return;
	if (step->mode == MODE_BATCH)
		msg = xstrfmt(
		        "one batch could not be tried: %s%s", e.message,
		        i ? " (the migrations before it are not applied in a dry run)"
		          : "");
	ev.migration = step->m;
	ev.version = step->m->version;
	ev.description = step->m->description;
	ev.message = msg;
	db_emit(db, &ev);
	free(msg);
	strata_error_release(&e);
}

/* A source loaded for status (is_checksums_only) holds no text to run. */
static int check_texts(const struct strata_migration *const *ms, size_t n,
                       struct strata_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (!ms[i]->up_sql) {
			strata_error_set(
			        err, STRATA_EUSAGE,
			        "'%s' was not read to be run: the source was loaded with is_checksums_only",
			        ms[i]->up_path);
			return strata_error_hint(
			        err,
			        "Load the source for running (without is_checksums_only).");
		}
	return 0;
}

/* The standbys, when a batch migration is to wait for them: reached and
 * checked before anything runs, a dry run's too (design.md, Batch
 * migrations). Without a batch migration they are not looked at. */
static int open_replicas(struct strata_db *db, const struct plan *plan,
                         const struct strata_run_options *opts,
                         struct strata_error *err)
{
	bool has_batch = false;

	for (size_t i = 0; i < plan->n && !has_batch; i++)
		has_batch = plan->steps[i].mode == MODE_BATCH;
	if (!has_batch || !opts->n_replicas)
		return 0;
	return replicas_open(&db->replicas, db, opts->replicas,
	                     opts->n_replicas, err);
}

static int collect_pending(struct plan *plan, const struct plan_ctx *ctx,
                           struct strata_db *db,
                           const struct strata_source *src,
                           const struct history *h,
                           const struct strata_run_options *opts, int64_t upto,
                           struct strata_error *err)
{
	const struct history_row *last = history_newest(h);
	int64_t newest = last ? last->version : 0;
	char buf[24];
	const char *newest_text =
	        last ? history_row_version(last,
	                                   strata_source_find(src, newest), buf)
	             : "0";
	const struct strata_migration **todo =
	        xcalloc(strata_source_count(src) + 1, sizeof(*todo));
	bool *is_resume =
	        xcalloc(strata_source_count(src) + 1, sizeof(*is_resume));
	struct presplit *ps;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < strata_source_count(src); i++) {
		const struct strata_migration *m = strata_source_at(src, i);
		const struct history_row *row = history_find(h, m->version);

		if (row && is_resumable(row, src)) {
			is_resume[n] = true;
			todo[n++] = m;
			continue;
		}
		if (row)
			continue;
		if (m->version > upto)
			break;
		if (m->version < newest) {
			if (opts->is_strict_order) {
				strata_error_set(
				        err, STRATA_EVALIDATE,
				        "migration %s is older than the newest applied one (%s)",
				        migration_version(m), newest_text);
				err->file = xstrdup(m->up_path);
				strata_error_hint(
				        err,
				        "Give it a version above %s, or apply it out of order (no strict order).",
				        newest_text);
				strata_error_reason(err,
				                    STRATA_REASON_STRICT_ORDER,
				                    m->version);
				free(todo);
				free(is_resume);
				return -1;
			}
			db_emit_warning(
			        db, m,
			        "migration %s is applied out of order (the newest applied is %s)",
			        migration_version(m), newest_text);
		}
		todo[n++] = m;
	}
	/* their texts, unless the load kept them, and their down files, for
	 * the audit rows, before anything runs */
	if (source_read_ups(src, todo, n, err) < 0 ||
	    check_texts(todo, n, err) < 0 ||
	    source_read_downs(src, todo, n, err) < 0) {
		free(todo);
		free(is_resume);
		return -1;
	}
	/* parsed ahead on other threads, planned (and linted) here */
	plan_reserve(plan, n);
	ps = presplit_start(ctx, todo, n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = plan_add_next(plan, ctx, ps, i, todo[i],
		                   opts->is_single_transaction, err);
		if (rc == 0 && is_resume[i])
			plan->steps[plan->n - 1].is_resume = true;
	}
	presplit_stop(ps);
	free(todo);
	free(is_resume);
	return rc;
}

/* Whether anything is to be applied up to `upto` (collect_pending()'s
 * choice, without its checks). */
static bool has_pending(const struct strata_source *src,
                        const struct history *h, int64_t upto)
{
	for (size_t i = 0; i < strata_source_count(src); i++) {
		const struct strata_migration *m = strata_source_at(src, i);
		const struct history_row *row = history_find(h, m->version);

		if (row ? is_resumable(row, src) : m->version <= upto)
			return true;
	}
	return false;
}

/*
 * The history and audit tables, once the history was read under the lock.
 * On a database without them everything is pending: the down files are
 * read first, so that an invalid one leaves no table behind, as an
 * invalid source does. A run with nothing to apply to an existing sqlx
 * table writes nothing, so it sends no DDL.
 */
static int ensure_tables(struct strata_db *db, const struct strata_source *src,
                         const struct history *h, int64_t upto,
                         struct strata_error *err)
{
	bool has_tool = db->hist.layout != STRATA_LAYOUT_SQLX &&
	                db->hist.layout != STRATA_LAYOUT_AUTO;

	if (!h->has_table && source_read_downs(src, NULL, 0, err) < 0)
		return -1;
	if (h->has_table && !has_tool && !has_pending(src, h, upto))
		return 0;
	/* a kept history's table was there when it was read, and every
	 * step since committed its row in it */
	if (h->has_table && db->has_kept && db->has_audit)
		return 0;
	/* the commit for the audit rows, asked of git while the run goes on */
	audit_look_up_git(db, db->source_dir);
	return step_ensure_tables(db, h->has_table, err);
}

/* Applies what is pending up to the order key `*upto_key`, or when it is
 * NULL up to the options' target as a user names it; through the lint
 * gate when is_linted. */
static int run_upto(struct strata_run_result *out, struct strata_db *db,
                    const struct strata_source *src,
                    const struct strata_run_options *opts,
                    const int64_t *upto_key, bool is_linted,
                    struct strata_error *err)
{
	static const struct strata_run_options defaults =
	        STRATA_RUN_OPTIONS_INIT;
	const struct strata_driver *drv = db->drv;
	struct strata_run_result res = { 0 };
	struct history h = { 0 };
	struct plan plan = { 0 };
	struct strata_lint *lint = NULL;
	struct plan_ctx ctx;
	int64_t upto = INT64_MAX;
	int rc = -1;

	plan_ctx_init(&ctx, db);
	db->source_dir = source_folder(src);
	if (!opts)
		opts = &defaults;
	if (OPTIONS_CHECK(opts, STRATA_RUN_OPTIONS_VERSION,
	                  "strata_run_options", err) < 0)
		goto done;
	if (opts->has_target && opts->target_version < 0) {
		strata_error_set(err, STRATA_EUSAGE, "invalid target version");
		goto done;
	}
	if (upto_key)
		upto = *upto_key;
	else if (opts->has_target)
		upto = strata_source_version_key(src, opts->target_version);
	if (db_bind_layout(db, src, err) < 0 ||
	    step_lock_and_read(db, &h, false, err) < 0 ||
	    step_read_failed_ups(&h, src, err) < 0 ||
	    check_history(&h, src, opts->is_ignore_missing, err) < 0 ||
	    (!opts->is_dry_run && ensure_tables(db, src, &h, upto, err) < 0) ||
	    (is_linted &&
	     lint_begin(&lint, db, opts, strata_source_layout(src), err) < 0))
		goto done;
	ctx.lint = lint; /* each step linted as it is planned */
	if (collect_pending(&plan, &ctx, db, src, &h, opts, upto, err) < 0 ||
	    lint_end(lint, db, opts, err) < 0 ||
	    open_replicas(db, &plan, opts, err) < 0)
		goto done;
	/* its judgement made: what it kept of each statement (as many
	 * entries as a large file has statements) need not last the run */
	strata_lint_free(lint);
	lint = NULL;
	ctx.lint = NULL;
	if (opts->is_dry_run) {
		for (size_t i = 0; i < plan.n; i++)
			dry_run_step(db, &plan.steps[i], i);
		res.applied = plan.n;
		rc = 0;
		goto done;
	}
	if (opts->is_single_transaction && plan.n) {
		step_forget_history(db);
		if (apply_all_in_one(db, &plan, &res, err) < 0)
			goto done;
		rc = 0;
		goto done;
	}
	for (size_t i = 0; i < plan.n; i++) {
		const struct plan_step *step;
		bool is_skipped, is_raced = false;

		if (plan.steps[i].mode == MODE_TXN && drv->mark_step) {
			int sent = migrate_pipelined_txns(db, &plan, false, &i,
			                                  &res.applied, err);

			if (sent < 0)
				goto done;
			if (sent == 0) {
				i--;
				continue;
			}
			is_raced = true;
		}
		step = &plan.steps[i];
		if (step->mode == MODE_TXN) {
			/* a lost lock race was rolled back whole: again */
			if ((is_raced ? step_retry_after_first
			              : step_with_retries)(
			            db, step, apply_own_txn, &is_skipped,
			            APPLY_RACE_HINT, err) < 0)
				goto done;
		} else if (fenced_apply(db, step, &is_skipped, err) < 0) {
			goto done;
		}
		if (step->mode == MODE_TXN && !is_skipped)
			step_kept_applied(db, step->m);
		else
			step_forget_history(db);
		if (step->mode == MODE_BATCH && !is_skipped) {
			emit_done_with_note(db, step);
			res.applied++;
			continue;
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
	if (rc < 0) {
		source_name_version(src, err);
		step_forget_history(db);
	}
	if (!db->is_lock_kept)
		drv->unlock(db->conn);
	if (out)
		*out = res;
	replicas_free(db->replicas);
	db->replicas = NULL;
	plan_release(&plan);
	strata_lint_free(lint);
	history_release(&h);
	return rc;
}

int strata_migrate_run(struct strata_run_result *out, struct strata_db *db,
                       const struct strata_source *src,
                       const struct strata_run_options *opts,
                       struct strata_error *err)
{
	return run_upto(out, db, src, opts, NULL, true, err);
}

int migrate_run_upto_key(struct strata_run_result *out, struct strata_db *db,
                         const struct strata_source *src,
                         const struct strata_run_options *opts, int64_t key,
                         struct strata_error *err)
{
	/* a proof judges the schema a down leaves, not what the gate
	 * would say of the up: its findings would be read by no one */
	return run_upto(out, db, src, opts, &key, false, err);
}
