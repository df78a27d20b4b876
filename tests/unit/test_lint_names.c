/*
 * The names the linter gives what statements create without naming it
 * (src/lint/lint_names.c), as PostgreSQL's makeObjectName() and
 * ChooseRelationName() choose them: the 63-byte cut on a character
 * boundary, the numbered label on a clash, and later statements knowing
 * those objects as new. tests/t/0410-lint-database.bats checks the same
 * names against a real server.
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
#include "lint/session.h"

static void test_object_name(void **state)
{
	struct sbuf sb = SBUF_INIT;
	char a[80], b[80];

	(void)state;
	lint_object_name(&sb, "t", "a", "key");
	assert_string_equal(sb.buf, "t_a_key");
	lint_object_name(&sb, "orders", NULL, "pkey");
	assert_string_equal(sb.buf, "orders_pkey");

	/* the longer name loses a byte at a time: 63 bytes in all */
	memset(a, 'a', 60);
	a[60] = '\0';
	lint_object_name(&sb, a, "b", "key");
	assert_int_equal(sb.len, 63);
	assert_string_equal(sb.buf + 56, "a_b_key");
	memset(b, 'b', 40);
	b[40] = '\0';
	a[40] = '\0';
	lint_object_name(&sb, a, b, "idx");
	assert_int_equal(sb.len, 63);
	/* 58 bytes for both: 29 each */
	assert_int_equal(strspn(sb.buf, "a"), 29);
	assert_int_equal(strspn(sb.buf + 30, "b"), 29);

	/* a cut inside a character drops the whole character: 'x' and 30
	 * 'é' (two bytes each) are 61 bytes, 58 fit, and 57 are kept */
	a[0] = 'x';
	for (int i = 0; i < 30; i++)
		memcpy(a + 1 + 2 * i, "\xC3\xA9", 2);
	a[61] = '\0';
	lint_object_name(&sb, a, NULL, "pkey");
	assert_int_equal(sb.len, 57 + 5);
	assert_string_equal(sb.buf + 57, "_pkey");
	sbuf_release(&sb);
}

static size_t count_rule(const struct strata_lint *l, const char *rule)
{
	size_t n = 0;

	for (size_t i = 0; i < strata_lint_count(l); i++)
		n += !strcmp(strata_lint_at(l, i)->rule, rule);
	return n;
}

static struct strata_lint *lint_sql(const char *sql)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_lint *l = NULL;

	assert_int_equal(strata_lint_new(&l, NULL, &err), 0);
	assert_int_equal(
	        strata_lint_text(l, "a.sql", sql, strlen(sql), NULL, &err), 0);
	return l;
}

static void test_implicit_objects_are_new(void **state)
{
	struct strata_lint *l;

	(void)state;
	l = lint_sql("SET lock_timeout = '1s';\n"
	             "CREATE TABLE t (id bigint PRIMARY KEY, a int UNIQUE,\n"
	             "  b int, c int, EXCLUDE USING btree (c WITH =));\n"
	             "CREATE INDEX ON t (b);\n"
	             "CREATE INDEX ON t (lower(b::text), b);\n"
	             "CREATE INDEX ON t (a, a);\n"
	             "ALTER TABLE t ADD UNIQUE (a);\n"
	             "DROP INDEX t_pkey, t_a_key, t_c_excl, t_b_idx,\n"
	             "  t_lower_b_idx, t_a_a1_idx, t_a_key1;\n");
	assert_int_equal(count_rule(l, "require-concurrent-index-deletion"), 0);
	strata_lint_free(l);

	/* a name PostgreSQL would not choose is not new */
	l = lint_sql("SET lock_timeout = '1s';\n"
	             "CREATE TABLE t (a int UNIQUE);\n"
	             "DROP INDEX t_a_idx;\n");
	assert_int_equal(count_rule(l, "require-concurrent-index-deletion"), 1);
	strata_lint_free(l);
}

static void test_constraint_names(void **state)
{
	struct strata_lint *l;

	(void)state;
	/* an unnamed NOT VALID check is validated by its generated name:
	 * in the transaction that added it, that is the scan under lock */
	l = lint_sql("ALTER TABLE t ADD CHECK (a > 0) NOT VALID;\n"
	             "ALTER TABLE t VALIDATE CONSTRAINT t_a_check;\n");
	assert_int_equal(count_rule(l, "constraint-missing-not-valid"), 1);
	strata_lint_free(l);
	l = lint_sql("ALTER TABLE t ADD CHECK (a > b) NOT VALID;\n"
	             "ALTER TABLE t VALIDATE CONSTRAINT t_check;\n");
	assert_int_equal(count_rule(l, "constraint-missing-not-valid"), 1);
	strata_lint_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_name),
		cmocka_unit_test(test_implicit_objects_are_new),
		cmocka_unit_test(test_constraint_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
