/* The run gate */
#ifndef STRATA_LINT_GATE_H
#define STRATA_LINT_GATE_H

#include "util/common.h"
#include "engine/plan.h"

/*
 * run lints the steps of its plan as one run (PostgreSQL only), each as it
 * is planned, from the parse its split made: lint_begin() gives *out NULL
 * when the driver's SQL is not PostgreSQL's (nothing to lint), lint_end()
 * sends every finding to the event callback and fails with STRATA_ELINT
 * when one is an error, unless opts->is_allow_unsafe. All before anything
 * executes. The caller frees the lint with strata_lint_free().
 */
int lint_begin(struct strata_lint **out, struct strata_db *db,
               const struct strata_run_options *opts, enum strata_layout layout,
               struct strata_error *err);
int lint_step(struct strata_lint *l, struct strata_db *db,
              const struct plan_step *step, const struct pg_trees *trees,
              struct strata_error *err);
int lint_end(struct strata_lint *l, struct strata_db *db,
             const struct strata_run_options *opts, struct strata_error *err);

#endif
