/*
 * The ways out of broken states (src/engine/repair.c): repair's three kinds
 * and mark-applied/baseline, through the public API over sqlite::memory:,
 * each checked in the history (status) and in the audit trail.
 */
#include "engine_fixture.h"

/* The newest audit row's action, "" when the trail is empty. */
static const char *last_action(struct fixture *f, char *buf, size_t size)
{
	struct strata_audit *a = NULL;

	strata_error_release(&f->err);
	if (strata_audit_read(&a, f->db, NULL, &f->err) < 0)
		fail_msg("audit: %s", f->err.message);
	snprintf(buf, size, "%s", a->count ? a->rows[a->count - 1].action : "");
	strata_audit_free(a);
	return buf;
}

/* A no-transaction migration whose second statement fails: its fence row
 * stays, failed. */
static void make_failed_record(struct fixture *f)
{
	write_file(f, "1_a.sql",
	           "-- no-transaction\nCREATE TABLE a (id int);\n"
	           "INSERT INTO nope VALUES (1);\n");
	load(f);
	assert_int_equal(run_all(f), -1);
	assert_int_equal(state_of(f, 1), STRATA_STATE_FAILED);
}

static void failed_record_blocks_run_until_repaired(void **state)
{
	struct fixture *f = *state;
	struct strata_repair_result r = { 0 };
	char buf[64];

	make_failed_record(f);
	assert_int_equal(run_all(f), -1);
	assert_int_equal(f->err.code, STRATA_EVALIDATE);
	/* a human finished its work: mark it applied */
	assert_int_equal(strata_repair(&r, f->db, f->src,
	                               STRATA_REPAIR_MARK_APPLIED, 1, &f->err),
	                 0);
	strata_repair_result_release(&r);
	assert_int_equal(state_of(f, 1), STRATA_STATE_APPLIED);
	assert_string_equal(last_action(f, buf, sizeof(buf)), "repair");
	/* a second repair of a record no longer failed is refused */
	assert_int_equal(strata_repair(&r, f->db, f->src,
	                               STRATA_REPAIR_MARK_APPLIED, 1, &f->err),
	                 -1);
	assert_int_equal(f->err.code, STRATA_EVALIDATE);
	strata_repair_result_release(&r);
}

static void retry_forgets_the_failed_record(void **state)
{
	struct fixture *f = *state;
	struct strata_repair_result r = { 0 };
	char buf[64];

	make_failed_record(f);
	/* a human undid its work: forget the record, run it again */
	assert_int_equal(strata_repair(&r, f->db, f->src, STRATA_REPAIR_RETRY,
	                               1, &f->err),
	                 0);
	strata_repair_result_release(&r);
	assert_string_equal(last_action(f, buf, sizeof(buf)), "repair");
	assert_int_equal(state_of(f, 1), STRATA_STATE_PENDING);
	/* the table its first statement made is still there: fixed file */
	write_file(
	        f, "1_a.sql",
	        "-- no-transaction\nCREATE TABLE IF NOT EXISTS a (id int);\n");
	load(f);
	assert_int_equal(run_all(f), 1);
	assert_int_equal(state_of(f, 1), STRATA_STATE_APPLIED);
}

static void accept_checksum_blesses_an_edit(void **state)
{
	struct fixture *f = *state;
	struct strata_repair_result r = { 0 };
	const struct strata_migration *m;
	char buf[64];

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	load(f);
	assert_int_equal(run_all(f), 1);
	write_file(f, "1_a.sql", "CREATE TABLE a (id int); -- reviewed");
	load(f);
	assert_int_equal(state_of(f, 1), STRATA_STATE_CHECKSUM_MISMATCH);
	assert_int_equal(strata_repair(&r, f->db, f->src,
	                               STRATA_REPAIR_ACCEPT_CHECKSUM, 1,
	                               &f->err),
	                 0);
	m = strata_source_find(f->src, 1);
	assert_memory_equal(r.new_checksum, m->checksum, STRATA_CHECKSUM_LEN);
	assert_memory_not_equal(r.old_checksum, r.new_checksum,
	                        STRATA_CHECKSUM_LEN);
	/* the text as applied, kept by the audit trail */
	assert_non_null(r.old_sql);
	assert_string_equal(r.old_sql, "CREATE TABLE a (id int);");
	strata_repair_result_release(&r);
	assert_int_equal(state_of(f, 1), STRATA_STATE_APPLIED);
	assert_string_equal(last_action(f, buf, sizeof(buf)),
	                    "accept-checksum");
}

static void repair_of_an_absent_record_is_refused(void **state)
{
	struct fixture *f = *state;
	struct strata_repair_result r = { 0 };

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	load(f);
	assert_int_equal(strata_repair(&r, f->db, f->src,
	                               STRATA_REPAIR_ACCEPT_CHECKSUM, 1,
	                               &f->err),
	                 -1);
	assert_int_equal(f->err.code, STRATA_EVALIDATE);
	strata_repair_result_release(&r);
	assert_int_equal(state_of(f, 1), STRATA_STATE_PENDING);
}

static void mark_applied_runs_nothing(void **state)
{
	struct fixture *f = *state;
	size_t n = 0;
	char buf[64];

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "2_b.sql", "CREATE TABLE b (id int);");
	load(f);
	assert_int_equal(
	        strata_mark_applied(&n, f->db, f->src, 2, false, &f->err), 0);
	assert_int_equal(n, 1);
	/* below the newest applied now */
	assert_int_equal(state_of(f, 1), STRATA_STATE_OUT_OF_ORDER);
	assert_int_equal(state_of(f, 2), STRATA_STATE_APPLIED);
	assert_string_equal(last_action(f, buf, sizeof(buf)), "mark-applied");
	/* an applied version is not pending: refused */
	assert_int_equal(
	        strata_mark_applied(&n, f->db, f->src, 2, false, &f->err), -1);
	assert_int_equal(f->err.code, STRATA_EVALIDATE);
	/* b was recorded, not created: the next run creates it (and a) */
	write_file(f, "3_b.sql", "CREATE TABLE b (id int);");
	load(f);
	assert_int_equal(run_all(f), 2);
}

static void baseline_records_everything_up_to_a_version(void **state)
{
	struct fixture *f = *state;
	size_t n = 0;
	char buf[64];

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "2_b.sql", "CREATE TABLE b (id int);");
	write_file(f, "3_c.sql", "CREATE TABLE c (id int);");
	load(f);
	assert_int_equal(
	        strata_mark_applied(&n, f->db, f->src, 2, true, &f->err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(state_of(f, 2), STRATA_STATE_APPLIED);
	assert_int_equal(state_of(f, 3), STRATA_STATE_PENDING);
	assert_string_equal(last_action(f, buf, sizeof(buf)), "baseline");
	assert_int_equal(run_all(f), 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(failed_record_blocks_run_until_repaired),
		T(retry_forgets_the_failed_record),
		T(accept_checksum_blesses_an_edit),
		T(repair_of_an_absent_record_is_refused),
		T(mark_applied_runs_nothing),
		T(baseline_records_everything_up_to_a_version),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
