/*
 * Fuzzes a migration's directives as the plan reads them: the
 * `-- no-transaction` first line (source_is_no_transaction()) and the
 * `-- strata:lock-timeout=…` / `-- strata:statement-timeout=…` lines
 * before the first statement, through plan_add() offline (the split, the
 * directives, the mode). Beyond crashes it checks that an accepted timeout
 * is one the runner can set (PostgreSQL takes 0 to INT_MAX milliseconds),
 * that a failure names the file and a line of it, and that the mapping of
 * a statement and position back to a line stays inside the text.
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "util/common.h"
#include "util/xalloc.h"
#include "engine/source.h"
#include "sql/split.h"
#include "engine/plan.h"
#include "fuzz.h"

#define PATH "20250101120000_fuzz.sql"

static int count_lines(const char *text, size_t len)
{
	int n = 1;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

static void check_timeout(double t)
{
	CHECK(t == -1 || (t >= 0 && isfinite(t) && t * 1000 <= INT_MAX));
}

static void check_located(const struct plan_step *step, int statement,
                          int position, int lines)
{
	struct strata_error err = STRATA_ERROR_INIT;

	err.statement = statement;
	err.position = position;
	plan_locate_error(step, &err);
	CHECK(err.file && strcmp(err.file, PATH) == 0);
	CHECK(!err.line || (err.line >= 1 && err.line <= lines));
	strata_error_release(&err);
}

static void check_step(const struct plan_step *step, bool is_no_txn, int lines)
{
	const struct strata_script *s = &step->script;

	check_timeout(step->lock_timeout);
	check_timeout(step->statement_timeout);
	CHECK(!is_no_txn || step->mode == MODE_NO_TXN);
	CHECK(is_no_txn || step->mode != MODE_NO_TXN);
	for (size_t i = 0; i < s->n; i++) {
		int len = (int)(s->stmts[i].len < INT_MAX ? s->stmts[i].len
		                                          : INT_MAX);

		check_located(step, (int)i + 1, 0, lines);
		check_located(step, (int)i + 1, 1, lines);
		check_located(step, (int)i + 1, len, lines);
		check_located(step, (int)i + 1, INT_MAX, lines);
	}
	check_located(step, 0, 1, lines);
	check_located(step, (int)s->n + 1, 2, lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_migration m = { 0 };
	struct plan_ctx ctx;
	char *sql = xmalloc(size + 1);
	int lines;

	memcpy(sql, data, size);
	sql[size] = '\0';
	lines = count_lines(sql, size);
	m.version = 20250101120000;
	m.description = "fuzz";
	m.up_path = PATH;
	m.up_sql = sql;
	m.up_len = size;
	m.is_no_transaction = source_is_no_transaction(sql, size);
	CHECK(m.is_no_transaction ==
	      (size >= strlen(STRATA_NO_TRANSACTION_DIRECTIVE) &&
	       memcmp(sql, STRATA_NO_TRANSACTION_DIRECTIVE,
	              strlen(STRATA_NO_TRANSACTION_DIRECTIVE)) == 0));
	plan_ctx_init(&ctx, NULL);
	/* alone, and as part of --single-transaction */
	for (int single = 0; single < 2; single++) {
		struct strata_error err = STRATA_ERROR_INIT;
		struct plan p = { NULL, 0, 0 };

		if (plan_add(&p, &ctx, &m, false, single, &err) == 0) {
			CHECK(p.n == 1 && !err.message);
			check_step(&p.steps[0], m.is_no_transaction, lines);
		} else {
			CHECK(p.n == 0 && err.message);
			CHECK(err.code == STRATA_EVALIDATE);
			CHECK(err.file && strcmp(err.file, PATH) == 0);
			CHECK(!err.line ||
			      (err.line >= 1 && err.line <= lines));
			if (strstr(err.message, "invalid directive"))
				CHECK(err.line >= 1);
		}
		strata_error_release(&err);
		plan_release(&p);
	}
	free(sql);
	return 0;
}
