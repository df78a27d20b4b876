/*
 * How each migration will run (src/engine/plan.c), judged before anything
 * runs: through strata_validate() offline (PostgreSQL's parser, no server)
 * and through a run on sqlite::memory: that must apply nothing when a
 * later file cannot run as written.
 */
#include "engine_fixture.h"

/* Offline validation of the source folder: the problems found. */
static struct strata_problems validate_offline(struct fixture *f)
{
	struct strata_problems p = { 0 };

	strata_error_release(&f->err);
	if (strata_validate(&p, NULL, f->dir, NULL, &f->err) < 0)
		fail_msg("validate: %s", f->err.message);
	return p;
}

static void concurrently_in_a_transactional_file_is_named(void **state)
{
	struct fixture *f = *state;
	struct strata_problems p;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "2_idx.sql",
	           "SELECT 1;\n\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n");
	p = validate_offline(f);
	assert_int_equal(p.count, 1);
	assert_int_equal(p.items[0].code, STRATA_EVALIDATE);
	assert_non_null(strstr(p.items[0].file, "2_idx.sql"));
	assert_int_equal(p.items[0].line, 3);
	assert_int_equal(p.items[0].statement, 2);
	assert_non_null(strstr(p.items[0].message, "CONCURRENTLY"));
	strata_problems_release(&p);
}

static void no_transaction_file_may_hold_it(void **state)
{
	struct fixture *f = *state;
	struct strata_problems p;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "2_idx.sql",
	           "-- no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a "
	           "(id);\n");
	p = validate_offline(f);
	assert_int_equal(p.count, 0);
	strata_problems_release(&p);
}

static void copy_from_stdin_and_syntax_errors_are_found_at_once(void **state)
{
	struct fixture *f = *state;
	struct strata_problems p;

	write_file(f, "1_copy.sql", "COPY t FROM STDIN;\n");
	write_file(f, "2_typo.sql", "CREATE TABLE b (id int);\nSELEC 1;\n");
	p = validate_offline(f);
	assert_int_equal(p.count, 2);
	assert_non_null(strstr(p.items[0].file, "1_copy.sql"));
	assert_non_null(strstr(p.items[1].file, "2_typo.sql"));
	assert_int_equal(p.items[1].line, 2);
	strata_problems_release(&p);
}

static void run_checks_every_file_before_the_first_runs(void **state)
{
	struct fixture *f = *state;

	/* a later file whose last statement does not end (SQLite would
	 * refuse it only once the statements before it ran) stops the run
	 * before the first migration is applied */
	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "2_b.sql", "INSERT INTO a VALUES (1);\nSELECT 'oops;\n");
	load(f);
	assert_int_equal(run_all(f), -1);
	assert_int_equal(f->err.code, STRATA_EVALIDATE);
	assert_non_null(strstr(f->err.file, "2_b.sql"));
	assert_int_equal(f->err.line, 2);
	assert_int_equal(state_of(f, 1), STRATA_STATE_PENDING);
	/* a last statement without its ';', and a comment after it, run */
	write_file(f, "2_b.sql",
	           "INSERT INTO a VALUES (1);\nSELECT 'ok' -- end");
	load(f);
	assert_int_equal(run_all(f), 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(concurrently_in_a_transactional_file_is_named),
		T(no_transaction_file_may_hold_it),
		T(copy_from_stdin_and_syntax_errors_are_found_at_once),
		T(run_checks_every_file_before_the_first_runs),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
