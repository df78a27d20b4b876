/*
 * strata_db_verify() inside: the report being filled and the budget, which
 * verify.c keeps, and each dialect's checks (verify_pg.c, verify_sqlite.c).
 */
#ifndef STRATA_ENGINE_VERIFY_H
#define STRATA_ENGINE_VERIFY_H

#include "util/common.h"
#include "engine/db.h"

struct verify {
	struct strata_db *db;
	struct strata_db_report *out;
	size_t alloc;
	double budget; /* seconds, for every check together */
	int64_t start_ns;
	bool is_deep;
	bool is_out_of_time; /* nothing more runs */
};

/* Seconds of the budget left; <= 0 when it ran out. */
double verify_left(const struct verify *v);
/* A finding: `object` and `fix` may be NULL; each string is copied. */
void verify_add(struct verify *v, const char *check, enum strata_severity sev,
                const char *object, const char *fix, const char *fmt, ...)
        STRATA_PRINTF(6, 7);
/* `check` ran to the end. */
void verify_done(struct verify *v);
/* `check` did not run, or not on `n_left` of its objects (0: at all),
 * because the budget ran out: a finding, never silence. */
void verify_not_run(struct verify *v, const char *check, size_t n_left,
                    const char *objects);
/* The tables strata keeps its own record in, as `table_name`s: excluded
 * from the checks that judge the schema (NULL where there is none). */
const struct table_name *verify_own_table(const struct verify *v, int i);

int verify_pg(struct verify *v, struct strata_error *err);
int verify_sqlite(struct verify *v, struct strata_error *err);

#endif
