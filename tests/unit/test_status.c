/*
 * Status and its verdict (src/engine/status.c), through the public API over
 * sqlite::memory:: every state a migration can be in, the counts, and what
 * `check` concludes from them.
 */
#include "engine_fixture.h"

static void empty_history_is_all_pending(void **state)
{
	struct fixture *f = *state;
	struct strata_status *st;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "2_b.sql", "CREATE TABLE b (id int);");
	load(f);
	st = status_of(f);
	assert_int_equal(st->count, 2);
	assert_int_equal(st->n_pending, 2);
	assert_int_equal(st->n_applied, 0);
	assert_int_equal(st->newest_applied, 0);
	assert_false(st->entries[0].is_recorded);
	assert_string_equal(st->entries[0].installed_on, "");
	assert_int_equal(strata_status_verdict(st), STRATA_EPENDING);
	strata_status_free(st);
}

static void applied_rows_carry_history(void **state)
{
	struct fixture *f = *state;
	struct strata_status *st;
	const struct strata_migration *m;

	write_file(f, "1_create_a.sql", "CREATE TABLE a (id int);");
	load(f);
	assert_int_equal(run_all(f), 1);
	st = status_of(f);
	assert_int_equal(st->n_applied, 1);
	assert_int_equal(st->newest_applied, 1);
	assert_int_equal(st->entries[0].state, STRATA_STATE_APPLIED);
	assert_true(st->entries[0].is_recorded);
	assert_string_equal(st->entries[0].description, "create a");
	assert_int_not_equal(strlen(st->entries[0].installed_on), 0);
	assert_true(st->entries[0].execution_time_ns >= 0);
	m = strata_source_find(f->src, 1);
	assert_non_null(m);
	assert_int_equal(st->entries[0].recorded_checksum_len,
	                 STRATA_CHECKSUM_LEN);
	assert_memory_equal(st->entries[0].recorded_checksum, m->checksum,
	                    STRATA_CHECKSUM_LEN);
	assert_int_equal(strata_status_verdict(st), STRATA_OK);
	strata_status_free(st);
}

static void out_of_order_missing_and_mismatch(void **state)
{
	struct fixture *f = *state;
	struct strata_status *st;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "3_c.sql", "CREATE TABLE c (id int);");
	write_file(f, "4_d.sql", "CREATE TABLE d (id int);");
	load(f);
	assert_int_equal(run_all(f), 3);
	write_file(f, "2_b.sql", "CREATE TABLE b (id int);");
	write_file(f, "3_c.sql", "CREATE TABLE c (id bigint);");
	remove_file(f, "4_d.sql");
	load(f);
	st = status_of(f);
	assert_int_equal(st->count, 4);
	assert_int_equal(st->entries[1].version, 2);
	assert_int_equal(st->entries[1].state, STRATA_STATE_OUT_OF_ORDER);
	assert_int_equal(st->entries[2].state, STRATA_STATE_CHECKSUM_MISMATCH);
	assert_false(st->entries[2].is_whitespace_only_change);
	assert_int_equal(st->entries[3].state, STRATA_STATE_MISSING);
	assert_null(st->entries[3].migration);
	/* a missing migration's description comes from the history */
	assert_string_equal(st->entries[3].description, "d");
	assert_int_equal(st->n_mismatch, 1);
	assert_int_equal(st->n_missing, 1);
	assert_int_equal(strata_status_verdict(st), STRATA_EVALIDATE);
	strata_status_free(st);
}

static void crlf_only_edit_is_named_as_such(void **state)
{
	struct fixture *f = *state;
	struct strata_status *st;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);\nSELECT 1;\n");
	load(f);
	assert_int_equal(run_all(f), 1);
	write_file(f, "1_a.sql", "CREATE TABLE a (id int);\r\nSELECT 1;\r\n");
	load(f);
	st = status_of(f);
	assert_int_equal(st->entries[0].state, STRATA_STATE_CHECKSUM_MISMATCH);
	assert_true(st->entries[0].is_whitespace_only_change);
	strata_status_free(st);
}

static void status_load_agrees_with_status_get(void **state)
{
	struct fixture *f = *state;
	struct strata_status *st = NULL;
	struct strata_source *src = NULL;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "2_b.sql", "CREATE TABLE b (id int);");
	load(f);
	assert_int_equal(
	        run_with(f,
	                 &(struct strata_run_options){ .has_target = true,
	                                               .target_version = 1 }),
	        1);
	assert_int_equal(strata_status_load(&st, &src, f->db, f->dir, NULL,
	                                    NULL, &f->err),
	                 0);
	assert_int_equal(st->count, 2);
	assert_int_equal(st->entries[0].state, STRATA_STATE_APPLIED);
	assert_int_equal(st->entries[1].state, STRATA_STATE_PENDING);
	assert_int_equal(strata_source_count(src), 2);
	strata_status_free(st);
	strata_source_free(src);
}

static void empty_folder_is_not_up_to_date(void **state)
{
	struct fixture *f = *state;
	struct strata_status *st = NULL;
	struct strata_source *src = NULL;

	/* nothing to read is an error, never "up to date" */
	assert_int_equal(strata_status_load(&st, &src, f->db, f->dir, NULL,
	                                    NULL, &f->err),
	                 -1);
	assert_int_equal(f->err.code, STRATA_EVALIDATE);
	assert_null(st);
	assert_null(src);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(empty_history_is_all_pending),
		T(applied_rows_carry_history),
		T(out_of_order_missing_and_mismatch),
		T(crlf_only_edit_is_named_as_such),
		T(status_load_agrees_with_status_get),
		T(empty_folder_is_not_up_to_date),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
