/*
 * Which statements of a PostgreSQL migration a second run would fail on
 * or repeat, read from the parse tree (strata test --idempotent names
 * them when an up does not survive running twice).
 */
#ifndef STRATA_SQL_IDEMPOTENT_H
#define STRATA_SQL_IDEMPOTENT_H

#include "util/common.h"
#include "util/sbuf.h"

/*
 * One line per such statement of `sql` into `out`, "line 3: CREATE TABLE
 * without IF NOT EXISTS", in order; nothing when it does not parse (the
 * run says why). -1 with `err` only when the parser could not run.
 */
int sql_unguarded(struct sbuf *out, const char *sql, struct strata_error *err);

#endif
