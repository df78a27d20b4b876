/*
 * `strata new` (src/engine/newmig.c) against real files in a fresh
 * temporary directory per test: the next version as the folder goes
 * (timestamps, sequences, padding), reversible pairs, templates, names
 * from descriptions, and what it refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "strata.h"
#include "tmpdir.h"

/* 2025-01-01 12:00:00 UTC */
#define NOW       1735732800
#define NOW_STAMP "20250101120000"

static void assert_prefix(const char *text, const char *prefix)
{
	if (strncmp(text, prefix, strlen(prefix)) != 0)
		fail_msg("'%s' does not start with '%s'", text, prefix);
}

/* ---- strata_migration_new ----------------------------------------------- */

static char **new_ok(const char *dir, const char *description,
                     const struct strata_new_options *o)
{
	struct strata_error err = STRATA_ERROR_INIT;
	char **paths = NULL;

	if (strata_migration_new(&paths, dir, description, o, &err) < 0) {
		char msg[PATH_MAX];

		snprintf(msg, sizeof(msg), "%s", err.message);
		strata_error_release(&err);
		fail_msg("new '%s' failed: %s", description, msg);
	}
	assert_non_null(paths);
	assert_non_null(paths[0]);
	return paths;
}

/* Creates a migration and checks the one file's name. */
static void new_expect(const char *dir, const struct strata_new_options *o,
                       const char *expected_name)
{
	char **paths = new_ok(dir, "next step", o);

	assert_string_equal(paths[0], in(dir, expected_name));
	assert_null(paths[1]);
	strata_strv_free(paths);
}

static void test_new_creates_directory(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW };
	char dir[PATH_MAX];
	char **paths;
	char *text;

	snprintf(dir, sizeof(dir), "%s/fresh", f->root);
	paths = new_ok(dir, "create users", &o);
	assert_string_equal(paths[0], in(dir, NOW_STAMP "_create_users.sql"));
	assert_null(paths[1]);
	text = slurp(paths[0]);
	assert_string_equal(text, "-- Add migration script here\n");
	free(text);
	strata_strv_free(paths);
}

static void test_new_sequential_after_sequence(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW };

	put(f->dir, "0001_a.sql", "");
	put(f->dir, "0002_b.sql", "");
	new_expect(f->dir, &o, "0003_next_step.sql");
}

static void test_new_keeps_padding(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW };

	put(f->dir, "002_a.sql", "");
	put(f->dir, "003_b.sql", "");
	new_expect(f->dir, &o, "004_next_step.sql");
}

/* "1" is not zero-padded: sqlx-cli's {:04} */
static void test_new_after_single_first(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW };

	put(f->dir, "1_x.sql", "");
	new_expect(f->dir, &o, "0002_next_step.sql");
}

static void test_new_timestamp_after_timestamps(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW };

	put(f->dir, "20240101000000_a.sql", "");
	put(f->dir, "20240102000000_b.sql", "");
	new_expect(f->dir, &o, NOW_STAMP "_next_step.sql");
}

/* A single migration other than 1 is read as a timestamp (sqlx-cli). */
static void test_new_timestamp_after_single(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW };

	put(f->dir, "5_x.sql", "");
	new_expect(f->dir, &o, NOW_STAMP "_next_step.sql");
}

/* A clock behind the newest version never makes an out-of-order one. */
static void test_new_never_below_newest(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW };

	put(f->dir, "20300101000000_a.sql", "");
	put(f->dir, "20300102000000_b.sql", "");
	new_expect(f->dir, &o, "20300102000001_next_step.sql");
}

static void test_new_explicit_versioning(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW };

	o.versioning = STRATA_VERSIONING_SEQUENTIAL;
	new_expect(f->dir, &o, "0001_next_step.sql");
	o.versioning = STRATA_VERSIONING_TIMESTAMP;
	new_expect(f->dir, &o, NOW_STAMP "_next_step.sql");
	o.versioning = STRATA_VERSIONING_SEQUENTIAL;
	new_expect(f->dir, &o, "20250101120001_next_step.sql");
}

static void test_new_reversible(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW,
		                        .reversible = STRATA_REVERSIBLE_YES };
	char **paths;
	char *text;

	paths = new_ok(f->dir, "users", &o);
	assert_string_equal(paths[0], in(f->dir, NOW_STAMP "_users.up.sql"));
	assert_string_equal(paths[1], in(f->dir, NOW_STAMP "_users.down.sql"));
	assert_null(paths[2]);
	text = slurp(paths[0]);
	assert_string_equal(text, "-- Add up migration script here\n");
	free(text);
	text = slurp(paths[1]);
	assert_string_equal(text, "-- Add down migration script here\n");
	free(text);
	strata_strv_free(paths);

	/* inferred from the newest */
	o.reversible = STRATA_REVERSIBLE_INFER;
	paths = new_ok(f->dir, "more", &o);
	assert_string_equal(paths[0], in(f->dir, "20250101120001_more.up.sql"));
	assert_non_null(paths[1]);
	strata_strv_free(paths);
}

static void test_new_reversible_inference(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW,
		                        .reversible = STRATA_REVERSIBLE_INFER };
	char **paths;

	/* empty: not reversible */
	new_expect(f->dir, &o, NOW_STAMP "_next_step.sql");

	/* newest plain with its down file: the same layout */
	put(f->dir, "20260101000000_b.sql", "");
	put(f->dir, "20260101000000_b.down.sql", "");
	paths = new_ok(f->dir, "c", &o);
	assert_string_equal(paths[0], in(f->dir, "20260101000001_c.sql"));
	assert_string_equal(paths[1], in(f->dir, "20260101000001_c.down.sql"));
	strata_strv_free(paths);

	/* explicitly not reversible */
	o.reversible = STRATA_REVERSIBLE_NO;
	new_expect(f->dir, &o, "20260101000002_next_step.sql");
}

static void test_new_refuses_to_overwrite(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW,
		                        .reversible = STRATA_REVERSIBLE_YES };
	struct strata_error err = STRATA_ERROR_INIT;
	char **paths = NULL;
	struct stat st;

	/* a directory holding the name is refused with the source */
	assert_int_equal(mkdir(in(f->dir, NOW_STAMP "_x.down.sql"), 0777), 0);
	assert_int_equal(strata_migration_new(&paths, f->dir, "x", &o, &err),
	                 -1);
	assert_null(paths);
	assert_int_equal(err.code, STRATA_EVALIDATE);
	assert_non_null(strstr(err.message, "is a directory"));
	/* all or nothing: the up file is gone again */
	assert_int_equal(stat(in(f->dir, NOW_STAMP "_x.up.sql"), &st), -1);
	strata_error_release(&err);

	o.reversible = STRATA_REVERSIBLE_NO;
	assert_int_equal(rmdir(in(f->dir, NOW_STAMP "_x.down.sql")), 0);
	assert_int_equal(mkdir(in(f->dir, NOW_STAMP "_x.sql"), 0777), 0);
	assert_int_equal(strata_migration_new(&paths, f->dir, "x", &o, &err),
	                 -1);
	assert_non_null(strstr(err.message, NOW_STAMP "_x.sql"));
	strata_error_release(&err);
}

static void test_new_bad_descriptions(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"",       "   ",  "a/b",    "tab\there", "new\nline",
		"bell\a", "x.up", "x.down", "x.sql",     "\xff",
	};
	struct strata_error err = STRATA_ERROR_INIT;
	char dir[PATH_MAX];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/never", f->root);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **paths = NULL;

		assert_int_equal(
		        strata_migration_new(&paths, dir, bad[i], NULL, &err),
		        -1);
		assert_null(paths);
		assert_int_equal(err.code, STRATA_EUSAGE);
		strata_error_release(&err);
	}
	/* checked before anything is created */
	assert_int_equal(stat(dir, &st), -1);
}

static void test_new_in_invalid_source(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	char **paths = NULL;

	put(f->dir, "1_a.down.sql", "");
	assert_int_equal(strata_migration_new(&paths, f->dir, "b", NULL, &err),
	                 -1);
	assert_int_equal(err.code, STRATA_EVALIDATE);
	assert_non_null(strstr(err.message, "1_a.down.sql"));
	strata_error_release(&err);
}

/* What `new` writes, the loader reads back: description and all. */
static void test_new_round_trip(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW };
	struct strata_source *src;
	char **paths;

	paths = new_ok(f->dir, "  add users_email index ", &o);
	assert_string_equal(paths[0],
	                    in(f->dir, NOW_STAMP "_add_users_email_index.sql"));
	strata_strv_free(paths);
	src = load_ok(f->dir);
	assert_string_equal(strata_source_at(src, 0)->description,
	                    "add users email index");
	strata_source_free(src);
}

static void test_new_templates(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW,
		                        .reversible = STRATA_REVERSIBLE_YES };
	struct strata_source *src;
	const struct strata_migration *m;
	char **paths;

	o.template_kind = STRATA_TEMPLATE_TABLE;
	strata_strv_free(new_ok(f->dir, "create users table", &o));
	o.template_kind = STRATA_TEMPLATE_INDEX;
	strata_strv_free(new_ok(f->dir, "users by email", &o));
	o.template_kind = STRATA_TEMPLATE_DATA;
	strata_strv_free(new_ok(f->dir, "backfill emails", &o));
	o.template_kind = STRATA_TEMPLATE_TABLE;
	o.reversible = STRATA_REVERSIBLE_NO;
	paths = new_ok(f->dir, "create user table", &o);
	assert_null(paths[1]);
	strata_strv_free(paths);

	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 4);

	m = strata_source_at(src, 0);
	assert_non_null(strstr(m->up_sql, "CREATE TABLE users (\n"));
	assert_non_null(strstr(m->up_sql, "GENERATED ALWAYS AS IDENTITY"));
	assert_non_null(strstr(m->up_sql, "timestamptz"));
	assert_non_null(strstr(m->down_sql, "DROP TABLE IF EXISTS users;"));
	assert_false(m->is_no_transaction);

	m = strata_source_at(src, 1);
	assert_true(m->is_no_transaction);
	assert_true(m->is_down_no_transaction);
	assert_prefix(m->up_sql, "-- no-transaction\n"
	                         "CREATE INDEX CONCURRENTLY IF NOT EXISTS "
	                         "users_by_email_idx ON ");
	assert_prefix(m->down_sql, "-- no-transaction\n"
	                           "DROP INDEX CONCURRENTLY IF EXISTS "
	                           "users_by_email_idx;\n");

	m = strata_source_at(src, 2);
	assert_non_null(strstr(m->up_sql, "UPDATE "));
	assert_non_null(strstr(m->up_sql, "WHERE "));
	assert_non_null(strstr(m->up_sql, "LIMIT "));
	assert_non_null(m->down_sql);

	/* a reserved word is quoted */
	m = strata_source_at(src, 3);
	assert_non_null(strstr(m->up_sql, "CREATE TABLE \"user\" (\n"));
	assert_null(m->down_path);
	strata_source_free(src);
}

/* Names from descriptions: UTF-8 kept, 63 bytes at most, else a default. */
static void test_new_object_names(void **state)
{
	struct fixture *f = *state;
	struct strata_new_options o = { .version = STRATA_NEW_OPTIONS_VERSION,
		                        .now_timestamp = NOW,
		                        .template_kind =
		                                STRATA_TEMPLATE_INDEX };
	struct strata_source *src;
	char long_desc[81] = "";
	char expected[128];

	strata_strv_free(new_ok(f->dir, "Añadir índice", &o));
	o.template_kind = STRATA_TEMPLATE_TABLE;
	for (int i = 0; i < 40; i++)
		memcpy(long_desc + 2 * i, "é", 3);
	strata_strv_free(new_ok(f->dir, long_desc, &o));
	strata_strv_free(new_ok(f->dir, "create 2fa table", &o));

	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 3);
	assert_non_null(strstr(strata_source_at(src, 0)->up_sql,
	                       " añadir_índice_idx ON "));
	/* 31 × é: 62 bytes, as the 32nd would not fit in 63 */
	snprintf(expected, sizeof(expected), "CREATE TABLE %.62s (\n",
	         long_desc);
	assert_non_null(strstr(strata_source_at(src, 1)->up_sql, expected));
	assert_non_null(strstr(strata_source_at(src, 2)->up_sql,
	                       "CREATE TABLE table_name (\n"));
	strata_source_free(src);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_new_creates_directory),
		T(test_new_sequential_after_sequence),
		T(test_new_keeps_padding),
		T(test_new_after_single_first),
		T(test_new_timestamp_after_timestamps),
		T(test_new_timestamp_after_single),
		T(test_new_never_below_newest),
		T(test_new_explicit_versioning),
		T(test_new_reversible),
		T(test_new_reversible_inference),
		T(test_new_refuses_to_overwrite),
		T(test_new_bad_descriptions),
		T(test_new_in_invalid_source),
		T(test_new_round_trip),
		T(test_new_templates),
		T(test_new_object_names),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
