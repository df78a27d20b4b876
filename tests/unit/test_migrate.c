/*
 * Running and reverting (src/engine/migrate.c), through the public API over
 * sqlite::memory:: the engine without the command line. Each test starts
 * from an empty database and source folder (engine_fixture.h).
 */
#include "engine_fixture.h"

static void run_applies_pending_in_order_once(void **state)
{
	struct fixture *f = *state;

	write_file(f, "2_b.sql", "CREATE TABLE b (id int REFERENCES a (id));");
	write_file(f, "1_a.sql", "CREATE TABLE a (id int PRIMARY KEY);");
	load(f);
	assert_int_equal(run_all(f), 2);
	assert_int_equal(state_of(f, 1), STRATA_STATE_APPLIED);
	assert_int_equal(state_of(f, 2), STRATA_STATE_APPLIED);
	assert_int_equal(f->events[STRATA_EVENT_APPLY_DONE], 2);
	/* a second run has nothing to do */
	assert_int_equal(run_all(f), 0);
}

static void failing_migration_leaves_nothing(void **state)
{
	struct fixture *f = *state;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(
	        f, "2_bad.sql",
	        "CREATE TABLE half (id int);\nINSERT INTO nope VALUES (1);\n");
	load(f);
	assert_int_equal(run_all(f), -1);
	assert_int_equal(f->err.code, STRATA_EFAILED);
	assert_int_equal(f->err.statement, 2);
	assert_int_equal(f->err.line, 2);
	assert_non_null(f->err.file);
	assert_non_null(strstr(f->err.file, "2_bad.sql"));
	assert_int_equal(state_of(f, 1), STRATA_STATE_APPLIED);
	assert_int_equal(state_of(f, 2), STRATA_STATE_PENDING);
	/* its first statement was rolled back with it */
	remove_file(f, "2_bad.sql");
	assert_true(runs_now(f, "3_half.sql", "CREATE TABLE half (id int);"));
}

static void single_transaction_is_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	struct strata_run_options opts = STRATA_RUN_OPTIONS_INIT;

	opts.is_single_transaction = true;
	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "2_bad.sql", "SELECT * FROM nope;");
	load(f);
	assert_int_equal(run_with(f, &opts), -1);
	assert_int_equal(state_of(f, 1), STRATA_STATE_PENDING);
	remove_file(f, "2_bad.sql");
	load(f);
	assert_int_equal(run_with(f, &opts), 1);
}

static void target_version_and_dry_run(void **state)
{
	struct fixture *f = *state;
	struct strata_run_options opts = STRATA_RUN_OPTIONS_INIT;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "2_b.sql", "CREATE TABLE b (id int);");
	write_file(f, "3_c.sql", "CREATE TABLE c (id int);");
	load(f);
	opts.is_dry_run = true;
	assert_int_equal(run_with(f, &opts), 3);
	assert_int_equal(state_of(f, 1), STRATA_STATE_PENDING);
	opts.is_dry_run = false;
	opts.has_target = true;
	opts.target_version = 2;
	assert_int_equal(run_with(f, &opts), 2);
	assert_int_equal(state_of(f, 2), STRATA_STATE_APPLIED);
	assert_int_equal(state_of(f, 3), STRATA_STATE_PENDING);
}

static void edited_applied_migration_stops_the_run(void **state)
{
	struct fixture *f = *state;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	load(f);
	assert_int_equal(run_all(f), 1);
	write_file(f, "1_a.sql", "CREATE TABLE a (id bigint);");
	write_file(f, "2_b.sql", "CREATE TABLE b (id int);");
	load(f);
	assert_int_equal(run_all(f), -1);
	assert_int_equal(f->err.code, STRATA_EVALIDATE);
	assert_int_equal(state_of(f, 1), STRATA_STATE_CHECKSUM_MISMATCH);
	assert_int_equal(state_of(f, 2), STRATA_STATE_PENDING);
}

static void missing_applied_migration_needs_ignore_missing(void **state)
{
	struct fixture *f = *state;
	struct strata_run_options opts = STRATA_RUN_OPTIONS_INIT;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	load(f);
	assert_int_equal(run_all(f), 1);
	remove_file(f, "1_a.sql");
	write_file(f, "2_b.sql", "CREATE TABLE b (id int);");
	load(f);
	assert_int_equal(run_all(f), -1);
	assert_int_equal(f->err.code, STRATA_EVALIDATE);
	opts.is_ignore_missing = true;
	assert_int_equal(run_with(f, &opts), 1);
	assert_int_equal(state_of(f, 1), STRATA_STATE_MISSING);
}

static void pending_lists_what_run_would_apply(void **state)
{
	struct fixture *f = *state;
	struct strata_run_options opts = STRATA_RUN_OPTIONS_INIT;
	int64_t *versions = NULL;
	size_t n = 0;

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	write_file(f, "5_b.sql", "CREATE TABLE b (id int);");
	load(f);
	assert_int_equal(strata_migrate_pending(&versions, &n, f->db, f->src,
	                                        &opts, &f->err),
	                 0);
	assert_int_equal(n, 2);
	assert_int_equal(versions[0], 1);
	assert_int_equal(versions[1], 5);
	free(versions);
	versions = NULL;
	assert_int_equal(run_all(f), 2);
	assert_int_equal(strata_migrate_pending(&versions, &n, f->db, f->src,
	                                        &opts, &f->err),
	                 0);
	assert_int_equal(n, 0);
	free(versions);
}

static void revert_runs_down_files_newest_first(void **state)
{
	struct fixture *f = *state;
	struct strata_revert_options opts = STRATA_REVERT_OPTIONS_INIT;
	size_t reverted = 0;

	write_file(f, "1_a.up.sql", "CREATE TABLE a (id int);");
	write_file(f, "1_a.down.sql", "DROP TABLE a;");
	write_file(f, "2_b.up.sql", "CREATE TABLE b (id int);");
	write_file(f, "2_b.down.sql", "DROP TABLE b;");
	load(f);
	assert_int_equal(run_all(f), 2);
	/* count 0 means one: the newest */
	assert_int_equal(
	        strata_migrate_revert(&reverted, f->db, f->src, &opts, &f->err),
	        0);
	assert_int_equal(reverted, 1);
	assert_int_equal(state_of(f, 2), STRATA_STATE_PENDING);
	assert_int_equal(state_of(f, 1), STRATA_STATE_APPLIED);
	opts.is_all = true;
	assert_int_equal(
	        strata_migrate_revert(&reverted, f->db, f->src, &opts, &f->err),
	        0);
	assert_int_equal(reverted, 1);
	assert_int_equal(state_of(f, 1), STRATA_STATE_PENDING);
	/* the down files ran: both tables can be created again */
	assert_int_equal(run_all(f), 2);
}

/* A source loaded for running (down files deferred) reverts all the
 * same: revert reads the down files it needs itself. */
static void revert_reads_deferred_down_files(void **state)
{
	struct fixture *f = *state;
	struct strata_source_options so = STRATA_SOURCE_OPTIONS_INIT;
	struct strata_revert_options opts = STRATA_REVERT_OPTIONS_INIT;
	size_t reverted = 0;

	write_file(f, "1_a.up.sql", "CREATE TABLE a (id int);");
	write_file(f, "1_a.down.sql", "DROP TABLE a;");
	load(f);
	assert_int_equal(run_all(f), 1);
	/* loaded again for running, as by a later process: nothing read */
	strata_source_free(f->src);
	so.is_down_deferred = true;
	if (strata_source_load(&f->src, f->dir, &so, &f->err) < 0)
		fail_msg("source load: %s", f->err.message);
	assert_null(strata_source_at(f->src, 0)->down_sql);
	assert_int_equal(
	        strata_migrate_revert(&reverted, f->db, f->src, &opts, &f->err),
	        0);
	assert_int_equal(reverted, 1);
	assert_int_equal(state_of(f, 1), STRATA_STATE_PENDING);
	/* the down file ran: the table can be created again */
	assert_int_equal(run_all(f), 1);
}

static void revert_without_down_file_reverts_nothing(void **state)
{
	struct fixture *f = *state;
	struct strata_revert_options opts = STRATA_REVERT_OPTIONS_INIT;
	size_t reverted = 0;

	write_file(f, "1_a.up.sql", "CREATE TABLE a (id int);");
	write_file(f, "1_a.down.sql", "DROP TABLE a;");
	write_file(f, "2_b.sql", "CREATE TABLE b (id int);");
	load(f);
	assert_int_equal(run_all(f), 2);
	opts.is_all = true;
	assert_int_equal(
	        strata_migrate_revert(&reverted, f->db, f->src, &opts, &f->err),
	        -1);
	assert_int_equal(reverted, 0);
	assert_int_equal(state_of(f, 1), STRATA_STATE_APPLIED);
	assert_int_equal(state_of(f, 2), STRATA_STATE_APPLIED);
}

/* A source loaded for status holds no text: running it is refused,
 * naming the file, and nothing is applied (it crashed in the splitter). */
static void checksums_only_source_is_not_run(void **state)
{
	struct fixture *f = *state;
	const struct strata_source_options checksums = {
		.version = STRATA_SOURCE_OPTIONS_VERSION,
		.is_checksums_only = true,
	};

	write_file(f, "1_a.sql", "CREATE TABLE a (id int);");
	if (strata_source_load(&f->src, f->dir, &checksums, &f->err) < 0)
		fail_msg("source load: %s", f->err.message);
	assert_int_equal(run_all(f), -1);
	assert_int_equal(f->err.code, STRATA_EUSAGE);
	assert_non_null(
	        strstr(f->err.message, "1_a.sql' was not read to be run"));
	assert_int_equal(state_of(f, 1), STRATA_STATE_PENDING);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(run_applies_pending_in_order_once),
		T(checksums_only_source_is_not_run),
		T(failing_migration_leaves_nothing),
		T(single_transaction_is_all_or_nothing),
		T(target_version_and_dry_run),
		T(edited_applied_migration_stops_the_run),
		T(missing_applied_migration_needs_ignore_missing),
		T(pending_lists_what_run_would_apply),
		T(revert_runs_down_files_newest_first),
		T(revert_reads_deferred_down_files),
		T(revert_without_down_file_reverts_nothing),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
