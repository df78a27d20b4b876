/*
 * The run gate: run and migrate lint the steps of their plan before
 * anything executes, send each finding to the event callback, and refuse
 * with STRATA_ELINT when one is an error (unless the run allows unsafe
 * migrations). The findings are judged against the database first
 * (lint_db.c): what it does not have is no hazard, and a small table's
 * lock is a note. SQLite's migrations are not linted: their SQL is not
 * PostgreSQL's.
 */
#include "lint/session.h"
#include "lint/gate.h"
#include "drivers/driver.h"
#include "engine/audit.h"
#include "engine/db.h"
#include "engine/plan.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* ---- the run gate -----------------------------------------------------------
 */

int lint_begin(struct strata_lint **out, struct strata_db *db,
               const struct strata_run_options *opts, enum strata_layout layout,
               struct strata_error *err)
{
	struct strata_lint_options lo = STRATA_LINT_OPTIONS_INIT;
	int rc;

	*out = NULL;
	/* SQLite's SQL is not PostgreSQL's: its migrations are not linted. */
	if (!(db->drv->caps & DRV_PG_SQL))
		return 0;
	if (opts->lint)
		lo = *opts->lint;
	if (!lo.pg_version)
		lo.pg_version = db->conn->server_version;
	if ((rc = strata_lint_new(out, &lo, err)) == 0)
		(*out)->layout = layout;
	return rc;
}

int lint_step(struct strata_lint *l, struct strata_db *db,
              const struct plan_step *step, const struct pg_trees *trees,
              struct strata_error *err)
{
	struct strata_lint_file_options fo = STRATA_LINT_FILE_OPTIONS_INIT;

	XGROW(l->step_files, l->alloc_step_files, l->n_step_files + 1);
	l->step_files[l->n_step_files].path = step->path;
	l->step_files[l->n_step_files++].version = step->m->version;
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

/* Rules whose finding is about the code running beside the migration,
 * not about the database's locks or time. */
static const char *const breaking_rules[] = {
	"ban-drop-column",
	"ban-drop-table",
	"renaming-column",
	"renaming-table",
};

static bool is_breaking(const char *rule)
{
	for (size_t i = 0; i < ARRAY_SIZE(breaking_rules); i++)
		if (!strcmp(rule, breaking_rules[i]))
			return true;
	return false;
}

/* One row of audit_reverted(): its files' breaking findings become
 * notes. */
static int downgrade_reverted(void *data, const char *const *cells,
                              size_t n_cols)
{
	struct strata_lint *l = data;
	int64_t version;

	if (n_cols != 2 || !cells[0])
		return 0;
	version = strtoll(cells[0], NULL, 10);
	for (size_t s = 0; s < l->n_step_files; s++) {
		if (l->step_files[s].version != version)
			continue;
		for (size_t i = 0; i < l->n; i++) {
			struct strata_finding *f = &l->findings[i];

			if (!f->file ||
			    strcmp(f->file, l->step_files[s].path) ||
			    !is_breaking(f->rule) ||
			    f->severity == STRATA_SEVERITY_NOTE)
				continue;
			f->severity = STRATA_SEVERITY_NOTE;
			f->message = arena_strfmt(
			        &l->arena,
			        "%s (applied before, reverted at %.19s: the code has run without it)",
			        f->message, cells[1] ? cells[1] : "?");
		}
	}
	return 0;
}

/*
 * A migration applied before and reverted since breaks no running code by
 * applying again: whatever runs beside the database already ran with it
 * applied. Its findings about running code are notes (docs/lint).
 */
static void judge_reverted(struct strata_lint *l, struct strata_db *db)
{
	bool has_breaking = false;

	for (size_t i = 0; i < l->n && !has_breaking; i++)
		has_breaking = is_breaking(l->findings[i].rule);
	/* no trail, or none readable: the findings stand */
	if (has_breaking)
		audit_reverted(db, downgrade_reverted, l);
}

int lint_end(struct strata_lint *l, struct strata_db *db,
             const struct strata_run_options *opts, struct strata_error *err)
{
	size_t n_errors;

	if (!l)
		return 0;
	if (lint_db_apply(l, db, err) < 0)
		return -1;
	judge_reverted(l, db);
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
