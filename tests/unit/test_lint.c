/*
 * The linter's library API (src/lint/lint*.c): sessions and settings, text that
 * is not NUL-terminated or holds a NUL, findings in order with their
 * statement, file scope against run scope, and the rule table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

static struct strata_lint *new_lint(const struct strata_lint_options *opts)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_lint *l = NULL;

	assert_int_equal(strata_lint_new(&l, opts, &err), 0);
	assert_non_null(l);
	return l;
}

static void lint(struct strata_lint *l, const char *path, const char *sql,
                 const struct strata_lint_file_options *fo)
{
	struct strata_error err = STRATA_ERROR_INIT;

	assert_int_equal(strata_lint_text(l, path, sql, strlen(sql), fo, &err),
	                 0);
}

static void test_settings(void **state)
{
	struct strata_lint_setting s[] = {
		{ "ban-drop-column", STRATA_SEVERITY_OFF },
		{ "prefer-text-field", STRATA_SEVERITY_ERROR },
	};
	struct strata_lint_options opts = STRATA_LINT_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_lint *l = NULL;
	enum strata_severity sev;

	(void)state;
	opts.settings = s;
	opts.n_settings = 2;
	l = new_lint(&opts);
	assert_int_equal(strata_lint_severity(l, "ban-drop-column"),
	                 STRATA_SEVERITY_OFF);
	assert_int_equal(strata_lint_severity(l, "ban-drop-table"),
	                 STRATA_SEVERITY_ERROR);
	lint(l, "a.sql",
	     "SET lock_timeout = '1s'; ALTER TABLE t DROP COLUMN c;\n"
	     "CREATE TABLE u (id bigint PRIMARY KEY, v varchar(9));",
	     NULL);
	assert_int_equal(strata_lint_count(l), 1);
	assert_string_equal(strata_lint_at(l, 0)->rule, "prefer-text-field");
	assert_int_equal(strata_lint_at(l, 0)->severity, STRATA_SEVERITY_ERROR);
	assert_null(strata_lint_at(l, 1));
	strata_lint_free(l);

	s[0].rule = "no-such-rule";
	assert_int_equal(strata_lint_new(&l, &opts, &err), -1);
	assert_null(l);
	assert_int_equal(err.code, STRATA_EUSAGE);
	assert_non_null(strstr(err.message, "no-such-rule"));
	strata_error_release(&err);

	assert_int_equal(strata_severity_parse(&sev, "warn"), 0);
	assert_int_equal(sev, STRATA_SEVERITY_WARNING);
	assert_int_equal(strata_severity_parse(&sev, "fatal"), -1);
	assert_string_equal(strata_severity_name(STRATA_SEVERITY_OFF), "off");
}

static void test_exact_length_and_nul(void **state)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_lint *l = new_lint(NULL);
	/* only the first statement is in the given length */
	const char text[] = "DROP TABLE a; DROP TABLE b;";
	const char nul[] = "SELECT 1;\nSELECT '\0';";
	const struct strata_finding *f;

	(void)state;
	assert_int_equal(strata_lint_text(l, "a.sql", text, 13, NULL, &err), 0);
	assert_int_equal(strata_lint_count_severity(l, STRATA_SEVERITY_ERROR),
	                 1);
	assert_non_null(strstr(strata_lint_at(l, 0)->message, "'a'"));
	assert_int_equal(strata_lint_statements(l), 1);

	assert_int_equal(strata_lint_text(l, "nul.sql", nul, sizeof(nul) - 1,
	                                  NULL, &err),
	                 0);
	f = strata_lint_at(l, strata_lint_count(l) - 1);
	assert_string_equal(f->rule, "parse-error");
	assert_string_equal(f->file, "nul.sql");
	assert_int_equal(f->line, 2);
	assert_int_equal(f->column, 9);
	assert_int_equal(f->statement, 0);
	assert_int_equal(strata_lint_files(l), 2);
	strata_lint_free(l);
}

static void test_order_and_statements(void **state)
{
	struct strata_lint *l = new_lint(NULL);
	const struct strata_finding *f;

	(void)state;
	/* two rules on line 2: by column; the statement is the 2nd */
	lint(l, "a.sql",
	     "SET lock_timeout = '1s';\n"
	     "ALTER TABLE t ADD COLUMN c char(2) NOT NULL;",
	     NULL);
	assert_int_equal(strata_lint_count(l), 2);
	f = strata_lint_at(l, 0);
	assert_string_equal(f->rule, "adding-required-field");
	assert_int_equal(f->line, 2);
	assert_int_equal(f->column, 26);
	assert_int_equal(f->statement, 2);
	assert_non_null(f->hint);
	f = strata_lint_at(l, 1);
	assert_string_equal(f->rule, "ban-char-field");
	assert_int_equal(f->column, 28);
	strata_lint_free(l);
}

static void test_scope(void **state)
{
	struct strata_lint_file_options same = {
		.version = STRATA_LINT_FILE_OPTIONS_VERSION, .is_same_run = true
	};
	struct strata_lint *l = new_lint(NULL);

	(void)state;
	lint(l, "1.sql", "CREATE TABLE t (id bigint PRIMARY KEY);", NULL);
	lint(l, "2.sql", "CREATE INDEX t_idx ON t (id);", &same);
	assert_int_equal(strata_lint_count_severity(l, STRATA_SEVERITY_ERROR),
	                 0);
	/* a later file of another run: t has rows by now */
	lint(l, "3.sql", "CREATE INDEX t_idx2 ON t (id);", NULL);
	assert_int_equal(strata_lint_count_severity(l, STRATA_SEVERITY_ERROR),
	                 1);
	assert_string_equal(strata_lint_at(l, strata_lint_count(l) - 1)->file,
	                    "3.sql");
	strata_lint_free(l);
}

static void test_rule_table(void **state)
{
	(void)state;
	assert_true(strata_lint_rule_count() > 40);
	for (size_t i = 0; i < strata_lint_rule_count(); i++) {
		const struct strata_lint_rule *r = strata_lint_rule_at(i);

		assert_non_null(r->summary);
		assert_non_null(r->hint);
		/* off: an opt-in rule, which the [lint] section turns on */
		assert_true(r->severity == STRATA_SEVERITY_ERROR ||
		            r->severity == STRATA_SEVERITY_WARNING ||
		            r->severity == STRATA_SEVERITY_OFF);
		assert_ptr_equal(strata_lint_rule_find(r->id), r);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(strata_lint_rule_at(j)->id,
			                        r->id);
	}
	assert_null(strata_lint_rule_at(strata_lint_rule_count()));
	assert_null(strata_lint_rule_find("nope"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_exact_length_and_nul),
		cmocka_unit_test(test_order_and_statements),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_rule_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
