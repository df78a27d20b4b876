/*
 * The run gate: run and migrate lint the steps of their plan before
 * anything executes, send each finding to the event callback, and refuse
 * with STRATA_ELINT when one is an error (unless the run allows unsafe
 * migrations). SQLite's migrations are not linted: their SQL is not
 * PostgreSQL's.
 */
#include "lint/session.h"
#include "lint/gate.h"
#include "drivers/driver.h"
#include "engine/db.h"
#include "engine/plan.h"

/* ---- the run gate -----------------------------------------------------------
 */

int lint_begin(struct strata_lint **out, struct strata_db *db,
               const struct strata_run_options *opts, struct strata_error *err)
{
	struct strata_lint_options lo = STRATA_LINT_OPTIONS_INIT;

	*out = NULL;
	/* SQLite's SQL is not PostgreSQL's: its migrations are not linted. */
	if (!(db->drv->caps & DRV_PG_SQL))
		return 0;
	if (opts->lint)
		lo = *opts->lint;
	if (!lo.pg_version)
		lo.pg_version = db->conn->server_version;
	return strata_lint_new(out, &lo, err);
}

int lint_step(struct strata_lint *l, struct strata_db *db,
              const struct plan_step *step, const struct pg_trees *trees,
              struct strata_error *err)
{
	struct strata_lint_file_options fo = STRATA_LINT_FILE_OPTIONS_INIT;

	fo.is_no_transaction = step->mode == MODE_NO_TXN;
	fo.is_same_run = true;
	/* the runner sets lock_timeout on every migration unless it was
	 * turned off and the file sets none */
	fo.is_lock_timeout_set =
	        step->lock_timeout > 0 ||
	        (step->lock_timeout < 0 && db->opts.lock_timeout >= 0);
	/* statement_timeout only when a directive or the options set one */
	fo.is_statement_timeout_set =
	        step->statement_timeout > 0 ||
	        (step->statement_timeout < 0 && db->opts.statement_timeout > 0);
	return lint_text(l, step->path, step->sql, step->len, &fo, trees,
	                 &step->script, err);
}

int lint_end(struct strata_lint *l, struct strata_db *db,
             const struct strata_run_options *opts, struct strata_error *err)
{
	size_t n_errors;

	if (!l)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		struct strata_event ev = { .kind = STRATA_EVENT_LINT };

		ev.finding = &l->findings[i];
		ev.message = l->findings[i].message;
		db_emit(db, &ev);
	}
	n_errors = strata_lint_count_severity(l, STRATA_SEVERITY_ERROR);
	if (n_errors && !opts->is_allow_unsafe) {
		strata_error_set(
		        err, STRATA_ELINT,
		        "the migrations to apply have %zu lint error%s: %s",
		        n_errors, n_errors == 1 ? "" : "s",
		        opts->is_dry_run ? "a run would apply nothing"
		                         : "nothing was applied");
		strata_error_hint(
		        err,
		        "Make them safe (see each finding's hint and docs/lint/RULE.md), put '-- strata-lint-ignore RULE' before a statement that is safe anyway, or allow unsafe migrations.");
		return strata_error_reason(err, STRATA_REASON_LINT_GATE, -1);
	}
	if (n_errors)
		db_emit_warning(
		        db, NULL,
		        "applying despite %zu lint error%s (unsafe migrations allowed)",
		        n_errors, n_errors == 1 ? "" : "s");
	return 0;
}
