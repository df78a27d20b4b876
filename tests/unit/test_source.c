/*
 * The migration source (src/engine/source*.c) against real files in a fresh
 * temporary directory per test: layouts and names, versions claimed twice,
 * links, contents, and the report of every problem at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "strata.h"
#include "engine/source.h"
#include "tmpdir.h"

/*
 * Loads `dir` expecting failure with `code` and a message holding `needle`
 * (a file name, usually). `err` is the caller's to release.
 */
static void load_fails(const char *dir, const struct strata_source_options *o,
                       enum strata_code code, const char *needle,
                       struct strata_error *err)
{
	struct strata_source *src = (struct strata_source *)&src;

	assert_int_equal(strata_source_load(&src, dir, o, err), -1);
	assert_null(src);
	assert_int_equal(err->code, code);
	assert_non_null(err->message);
	if (!strstr(err->message, needle))
		fail_msg("'%s' is not in the message '%s'", needle,
		         err->message);
}

/* Loading fails with STRATA_EVALIDATE naming `name`, also in err.file. */
static void load_invalid(const char *dir, const char *name)
{
	struct strata_error err = STRATA_ERROR_INIT;

	load_fails(dir, NULL, STRATA_EVALIDATE, name, &err);
	assert_non_null(err.file);
	assert_non_null(strstr(err.file, name));
	strata_error_release(&err);
}

/* ---- layouts and names -------------------------------------------------- */

static void test_simple_layout(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;
	const struct strata_migration *m;

	put(f->dir, "20250101120000_create_users.sql",
	    "CREATE TABLE users ();\n");
	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 1);
	assert_string_equal(strata_source_dir(src), f->dir);
	m = strata_source_at(src, 0);
	assert_true(m->version == INT64_C(20250101120000));
	assert_string_equal(m->description, "create users");
	assert_string_equal(m->up_path,
	                    in(f->dir, "20250101120000_create_users.sql"));
	assert_string_equal(m->up_sql, "CREATE TABLE users ();\n");
	assert_int_equal(m->up_len, strlen("CREATE TABLE users ();\n"));
	assert_null(m->down_path);
	assert_null(m->down_sql);
	assert_false(m->is_reversible_pair);
	assert_false(m->is_no_transaction);
	strata_source_free(src);
}

/* An empty folder would read as "up to date": an error, unless asked for
 * (strata new creates the first migration in it). */
static void test_empty_directory(void **state)
{
	struct fixture *f = *state;
	struct strata_source_options empty_ok = {
		.version = STRATA_SOURCE_OPTIONS_VERSION, .is_empty_ok = true
	};
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;

	load_fails(f->dir, NULL, STRATA_EVALIDATE, "holds no migration", &err);
	strata_error_release(&err);
	put(f->dir, "README.md", "not a migration\n");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "holds no migration", &err);
	strata_error_release(&err);
	assert_int_equal(strata_source_load(&src, f->dir, &empty_ok, &err), 0);
	assert_int_equal(strata_source_count(src), 0);
	assert_null(strata_source_find(src, 1));
	strata_source_free(src);
}

static void test_leading_zeros(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;

	put(f->dir, "001_init.sql", "SELECT 1;\n");
	put(f->dir, "0002_more.sql", "SELECT 2;\n");
	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 2);
	assert_true(strata_source_at(src, 0)->version == 1);
	assert_true(strata_source_at(src, 1)->version == 2);
	assert_string_equal(strata_source_at(src, 0)->description, "init");
	strata_source_free(src);
}

static void test_numeric_order(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;

	/* lexically: 10, 100, 20250101120000, 9 */
	put(f->dir, "10_ten.sql", "");
	put(f->dir, "9_nine.sql", "");
	put(f->dir, "20250101120000_stamp.sql", "");
	put(f->dir, "100_hundred.sql", "");
	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 4);
	assert_true(strata_source_at(src, 0)->version == 9);
	assert_true(strata_source_at(src, 1)->version == 10);
	assert_true(strata_source_at(src, 2)->version == 100);
	assert_true(strata_source_at(src, 3)->version ==
	            INT64_C(20250101120000));
	assert_string_equal(strata_source_find(src, 10)->description, "ten");
	assert_string_equal(strata_source_find(src, 100)->description,
	                    "hundred");
	assert_null(strata_source_find(src, 11));
	strata_source_free(src);
}

static void test_largest_version(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;

	put(f->dir, "9223372036854775807_max.sql", "");
	src = load_ok(f->dir);
	assert_true(strata_source_at(src, 0)->version == INT64_MAX);
	strata_source_free(src);
}

static void test_reversible_pair(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;
	const struct strata_migration *m;

	put(f->dir, "20250101120000_create_users_table.up.sql", "UP;\n");
	put(f->dir, "20250101120000_create_users_table.down.sql", "DOWN;\n");
	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 1);
	m = strata_source_at(src, 0);
	assert_string_equal(m->description, "create users table");
	assert_true(m->is_reversible_pair);
	assert_string_equal(m->up_sql, "UP;\n");
	assert_string_equal(m->down_sql, "DOWN;\n");
	assert_int_equal(m->down_len, 6);
	assert_string_equal(
	        m->down_path,
	        in(f->dir, "20250101120000_create_users_table.down.sql"));
	strata_source_free(src);
}

/* run's load: down files named, read only when asked for (for the
 * migrations a run applies), with the checks the load makes */
static void test_down_deferred(void **state)
{
	struct fixture *f = *state;
	struct strata_source_options o = STRATA_SOURCE_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src;
	const struct strata_migration *ms[1];

	put(f->dir, "1_a.up.sql", "UP 1;\n");
	put(f->dir, "1_a.down.sql", "DOWN 1;\n");
	put(f->dir, "2_b.up.sql", "UP 2;\n");
	put(f->dir, "2_b.down.sql", "DOWN\xff;\n");
	o.is_down_deferred = true;
	assert_int_equal(strata_source_load(&src, f->dir, &o, &err), 0);
	assert_int_equal(strata_source_count(src), 2);
	ms[0] = strata_source_at(src, 0);
	assert_string_equal(ms[0]->up_sql, "UP 1;\n");
	assert_string_equal(ms[0]->down_path, in(f->dir, "1_a.down.sql"));
	assert_null(ms[0]->down_sql);
	assert_int_equal(source_read_downs(src, ms, 1, &err), 0);
	assert_string_equal(ms[0]->down_sql, "DOWN 1;\n");
	assert_int_equal(ms[0]->down_len, 8);
	/* read once: asked again, nothing changes */
	assert_int_equal(source_read_downs(src, ms, 1, &err), 0);
	assert_string_equal(ms[0]->down_sql, "DOWN 1;\n");
	ms[0] = strata_source_at(src, 1);
	assert_null(ms[0]->down_sql);
	assert_int_equal(source_read_downs(src, ms, 1, &err), -1);
	assert_int_equal(err.code, STRATA_EVALIDATE);
	assert_non_null(strstr(err.message, "2_b.down.sql"));
	assert_non_null(strstr(err.message, "not valid UTF-8"));
	assert_null(ms[0]->down_sql);
	strata_error_release(&err);
	strata_source_free(src);
}

static void test_down_beside_plain(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;
	const struct strata_migration *m;

	put(f->dir, "1_users.sql", "CREATE TABLE users ();\n");
	put(f->dir, "1_users.down.sql", "DROP TABLE users;\n");
	src = load_ok(f->dir);
	m = strata_source_at(src, 0);
	assert_string_equal(m->description, "users");
	assert_false(m->is_reversible_pair);
	assert_string_equal(m->up_path, in(f->dir, "1_users.sql"));
	assert_string_equal(m->down_path, in(f->dir, "1_users.down.sql"));
	assert_string_equal(m->down_sql, "DROP TABLE users;\n");
	strata_source_free(src);
}

/* sqlx: split at the first '_', trim_end_matches(suffix), '_' → ' ' */
static void test_description_parsing(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;

	put(f->dir, "1_a_b__c.sql", "");
	put(f->dir, "2_x.sql.sql", "");
	put(f->dir, "3_2025_01_01_more.sql", "");
	put(f->dir, "4_.sql", "");
	put(f->dir, "5_it.v2.up.sql", "");
	put(f->dir, "5_it.v2.down.sql", "");
	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 5);
	assert_string_equal(strata_source_find(src, 1)->description, "a b  c");
	assert_string_equal(strata_source_find(src, 2)->description, "x");
	assert_string_equal(strata_source_find(src, 3)->description,
	                    "2025 01 01 more");
	assert_string_equal(strata_source_find(src, 4)->description, "");
	assert_string_equal(strata_source_find(src, 5)->description, "it.v2");
	strata_source_free(src);
}

static void test_non_migrations_passed_over(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;

	put(f->dir, "README.md", "# migrations\n");
	put(f->dir, "notes.txt", "");
	put(f->dir, "1_x.sql~", "");
	put(f->dir, "1_x.sql", "");
	/* hidden, or without .sql files: clearly no migration */
	assert_int_equal(mkdir(in(f->dir, ".sub"), 0777), 0);
	put(in(f->dir, ".sub"), "2_nested.sql", "");
	assert_int_equal(mkdir(in(f->dir, "docs"), 0777), 0);
	put(in(f->dir, "docs"), "notes.md", "");
	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 1);
	assert_true(strata_source_at(src, 0)->version == 1);
	strata_source_free(src);
}

static void test_dir_with_trailing_slash(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/", f->dir);
	put(f->dir, "1_x.up.sql", "");
	put(f->dir, "1_x.down.sql", "");
	src = load_ok(dir);
	assert_string_equal(strata_source_at(src, 0)->up_path,
	                    in(f->dir, "1_x.up.sql"));
	assert_string_equal(strata_source_at(src, 0)->down_path,
	                    in(f->dir, "1_x.down.sql"));
	strata_source_free(src);
}

/* ---- invalid names ------------------------------------------------------ */

static void test_name_without_underscore(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;

	put(f->dir, "init.sql", "");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "init.sql", &err);
	assert_non_null(err.hint);
	assert_non_null(strstr(err.hint, "20250101120000_create_users.sql"));
	strata_error_release(&err);
}

static void test_bad_versions(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
		"abc_x.sql",
		"_x.sql",
		"+1_x.sql",
		"-1_x.sql",
		"1a_x.sql",
		" 1_x.sql",
		"1.5_x.sql",
		"0x10_x.sql",
		"1 _x.sql",
		"\xff_x.sql",
		"9223372036854775808_x.sql",
		"99999999999999999999_x.sql",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		put(f->dir, names[i], "");
		load_invalid(f->dir, names[i]);
		assert_int_equal(unlink(in(f->dir, names[i])), 0);
	}
}

static void test_overflow_says_so(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;

	put(f->dir, "9223372036854775808_x.sql", "");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "9223372036854775808_x.sql",
	           &err);
	assert_non_null(err.detail);
	assert_non_null(strstr(err.detail, "64-bit"));
	strata_error_release(&err);
}

/* ---- versions claimed twice, incomplete pairs --------------------------- */

static void test_two_plain_files_one_version(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;

	put(f->dir, "1_a.sql", "");
	put(f->dir, "01_b.sql", "");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "01_b.sql", &err);
	assert_non_null(strstr(err.message, "1_a.sql"));
	strata_error_release(&err);
}

static void test_plain_and_up_one_version(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;

	put(f->dir, "1_a.sql", "");
	put(f->dir, "1_a.up.sql", "");
	put(f->dir, "1_a.down.sql", "");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "1_a.sql", &err);
	assert_non_null(strstr(err.message, "1_a.up.sql"));
	assert_non_null(strstr(err.message, "duplicate up files"));
	strata_error_release(&err);
}

static void test_two_down_files(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;

	put(f->dir, "1_a.up.sql", "");
	put(f->dir, "1_a.down.sql", "");
	put(f->dir, "1_b.down.sql", "");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "1_a.down.sql", &err);
	assert_non_null(strstr(err.message, "1_b.down.sql"));
	assert_non_null(strstr(err.message, "duplicate down files"));
	strata_error_release(&err);
}

static void test_down_without_up(void **state)
{
	struct fixture *f = *state;

	put(f->dir, "1_a.sql", "");
	put(f->dir, "2_b.down.sql", "");
	load_invalid(f->dir, "2_b.down.sql");
}

/* as sqlx reads it: a reversible migration that cannot be reverted */
static void test_up_without_down(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;

	put(f->dir, "1_a.up.sql", "UP;\n");
	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 1);
	assert_true(strata_source_at(src, 0)->is_reversible_pair);
	assert_null(strata_source_at(src, 0)->down_path);
	strata_source_free(src);
}

static void test_version_zero(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;

	put(f->dir, "0000_init.sql", "");
	put(f->dir, "1_a.sql", "");
	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 2);
	assert_true(strata_source_at(src, 0)->version == 0);
	assert_string_equal(strata_source_at(src, 0)->description, "init");
	strata_source_free(src);
}

/* a directory is no file: named like one, it is an error, not skipped */
static void test_dir_named_sql(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;

	put(f->dir, "1_a.sql", "");
	assert_int_equal(mkdir(in(f->dir, "2_dir.sql"), 0777), 0);
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "2_dir.sql", &err);
	assert_non_null(strstr(err.message, "is a directory"));
	strata_error_release(&err);
}

static void test_pair_descriptions_differ(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;

	put(f->dir, "1_users.up.sql", "");
	put(f->dir, "1_user.down.sql", "");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "1_users.up.sql", &err);
	assert_non_null(strstr(err.message, "1_user.down.sql"));
	strata_error_release(&err);

	unlink(in(f->dir, "1_users.up.sql"));
	put(f->dir, "1_users.sql", "");
	load_invalid(f->dir, "1_user.down.sql");
}

/* ---- links -------------------------------------------------------------- */

static void test_symlink_inside(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;

	assert_int_equal(mkdir(in(f->dir, "shared"), 0777), 0);
	put(in(f->dir, "shared"), "body.sql", "SELECT 1;\n");
	assert_int_equal(symlink("shared/body.sql", in(f->dir, "1_linked.sql")),
	                 0);
	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 1);
	assert_string_equal(strata_source_at(src, 0)->up_sql, "SELECT 1;\n");
	assert_string_equal(strata_source_at(src, 0)->up_path,
	                    in(f->dir, "1_linked.sql"));
	strata_source_free(src);
}

static void test_symlink_out_of_tree(void **state)
{
	struct fixture *f = *state;

	put(f->root, "outside.sql", "SELECT 1;\n");
	assert_int_equal(symlink("../outside.sql", in(f->dir, "1_out.sql")), 0);
	load_invalid(f->dir, "1_out.sql");
}

/* An editor's lock file (a dangling link with a hidden name) while a
 * migration is being edited must not make the source invalid. */
static void test_hidden_files_passed_over(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;

	put(f->dir, "1_x.sql", "");
	assert_int_equal(symlink("root@host.1234", in(f->dir, ".#1_x.sql")), 0);
	put(f->dir, ".2_hidden.sql", "");
	src = load_ok(f->dir);
	assert_int_equal(strata_source_count(src), 1);
	strata_source_free(src);
}

static void test_symlink_dangling(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(symlink("nowhere.sql", in(f->dir, "1_gone.sql")), 0);
	load_invalid(f->dir, "1_gone.sql");
}

/* The broken up file is the one problem: its down file is not "alone". */
static void test_dangling_up_reported_once(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;

	assert_int_equal(symlink("nowhere.sql", in(f->dir, "1_a.sql")), 0);
	put(f->dir, "1_a.down.sql", "");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "1_a.sql", &err);
	assert_null(err.detail);
	strata_error_release(&err);
}

/* ---- contents ----------------------------------------------------------- */

static void test_size_limit(void **state)
{
	struct fixture *f = *state;
	struct strata_source_options o = {
		.version = STRATA_SOURCE_OPTIONS_VERSION, .max_file_size = 10
	};
	struct strata_source *src = NULL;
	struct strata_error err = STRATA_ERROR_INIT;

	put(f->dir, "1_ten.sql", "0123456789");
	assert_int_equal(strata_source_load(&src, f->dir, &o, &err), 0);
	strata_source_free(src);

	put(f->dir, "2_eleven.sql", "0123456789A");
	load_fails(f->dir, &o, STRATA_EVALIDATE, "2_eleven.sql", &err);
	assert_non_null(err.file);
	strata_error_release(&err);
}

static void test_nul_byte(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	static const char text[] = "SELECT 1;\nSELECT\0 2;\n";

	put_bytes(f->dir, "1_nul.sql", text, sizeof(text) - 1);
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "1_nul.sql", &err);
	assert_non_null(strstr(err.message, "NUL"));
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 7);
	assert_string_equal(err.file, in(f->dir, "1_nul.sql"));
	strata_error_release(&err);
}

static void test_invalid_utf8(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;

	/* 'é' is one character: the bad byte is the 10th of line 2 */
	put(f->dir, "1_latin1.sql", "SELECT 1;\nSELECT '\xc3\xa9\xff';\n");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "1_latin1.sql", &err);
	assert_non_null(strstr(err.message, "UTF-8"));
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 10);
	assert_string_equal(err.file, in(f->dir, "1_latin1.sql"));
	strata_error_release(&err);

	/* an overlong '/' is invalid too */
	put(f->dir, "1_latin1.sql", "\xc0\xaf");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "1_latin1.sql", &err);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.column, 1);
	strata_error_release(&err);
}

static void test_no_transaction_directive(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;

	put(f->dir, "1_yes.sql", "-- no-transaction\nVACUUM;\n");
	put(f->dir, "2_nospace.sql", "--no-transaction\nVACUUM;\n");
	put(f->dir, "3_indented.sql", " -- no-transaction\nVACUUM;\n");
	put(f->dir, "4_later.sql", "\n-- no-transaction\nVACUUM;\n");
	/* a byte prefix, exactly as sqlx's starts_with() */
	put(f->dir, "5_prefix.sql", "-- no-transactions please\n");
	put(f->dir, "6_pair.up.sql", "SELECT 1;\n");
	put(f->dir, "6_pair.down.sql", "-- no-transaction\nVACUUM;\n");
	src = load_ok(f->dir);
	assert_true(strata_source_find(src, 1)->is_no_transaction);
	assert_false(strata_source_find(src, 2)->is_no_transaction);
	assert_false(strata_source_find(src, 3)->is_no_transaction);
	assert_false(strata_source_find(src, 4)->is_no_transaction);
	assert_true(strata_source_find(src, 5)->is_no_transaction);
	assert_false(strata_source_find(src, 6)->is_no_transaction);
	assert_true(strata_source_find(src, 6)->is_down_no_transaction);
	assert_false(strata_source_find(src, 1)->is_down_no_transaction);
	strata_source_free(src);
}

/* ---- the directory and the report --------------------------------------- */

static void test_missing_directory(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	const char *dir = in(f->root, "nope");

	load_fails(dir, NULL, STRATA_EFAILED,
	           "could not open migration directory", &err);
	assert_non_null(strstr(err.message, "nope"));
	assert_non_null(strstr(err.message, strerror(ENOENT)));
	/* the library's hint names no flag: the reason lets a program say
	 * how to give another directory */
	assert_non_null(err.hint);
	assert_null(strstr(err.hint, "--"));
	assert_int_equal(err.reason, STRATA_REASON_SOURCE_MISSING);
	strata_error_release(&err);
}

/* The first problem by file name, whatever readdir() says, and a count. */
static void test_first_problem_and_count(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;

	put(f->dir, "1_fine.sql", "");
	put(f->dir, "zeta.sql", "");
	put(f->dir, "alpha.sql", "");
	put(f->dir, "2_bad.sql", "\xff");
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "2_bad.sql", &err);
	assert_non_null(err.detail);
	assert_non_null(strstr(err.detail, "2 more problems in the source."));
	strata_error_release(&err);

	unlink(in(f->dir, "2_bad.sql"));
	unlink(in(f->dir, "zeta.sql"));
	load_fails(f->dir, NULL, STRATA_EVALIDATE, "alpha.sql", &err);
	assert_null(strstr(err.detail, "more problem"));
	strata_error_release(&err);
}

/* ---- a load begun on its own thread ------------------------------------ */

/* What strata_source_load() returns, with threads and without, the
 * options read while it runs. */
static void test_load_begun_and_ended(void **state)
{
	struct fixture *f = *state;
	const struct strata_source_options o = {
		.version = STRATA_SOURCE_OPTIONS_VERSION,
		.is_checksums_only = true,
	};
	struct strata_error err = STRATA_ERROR_INIT;

	put(f->dir, "1_a.sql", "SELECT 1;\n");
	put(f->dir, "2_b.up.sql", "SELECT 2;\n");
	put(f->dir, "2_b.down.sql", "SELECT 3;\n");
	for (int threads = 1; threads >= 0; threads--) {
		struct strata_source_loading *l;
		struct strata_source *src = NULL;

		strata_set_threads(threads);
		l = strata_source_load_begin(f->dir, &o);
		assert_non_null(l);
		assert_int_equal(strata_source_load_end(&src, l, &err), 0);
		assert_int_equal(strata_source_count(src), 2);
		assert_true(strata_source_at(src, 1)->version == 2);
		/* checksums only: the text is not kept */
		assert_null(strata_source_at(src, 0)->up_sql);
		strata_source_free(src);
	}
	strata_set_threads(true);
}

/* A load that fails returns its error at the end, and nothing. */
static void test_load_begun_fails_at_end(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source_loading *l;
	struct strata_source *src = (struct strata_source *)&src;

	put(f->dir, "1_a.sql", "SELECT 1;\n");
	put(f->dir, "1_b.sql", "SELECT 2;\n");
	l = strata_source_load_begin(f->dir, NULL);
	assert_int_equal(strata_source_load_end(&src, l, &err), -1);
	assert_null(src);
	assert_int_equal(err.code, STRATA_EVALIDATE);
	assert_non_null(strstr(err.message, "1_"));
	strata_error_release(&err);
}

/* A load for running keeps no up text (is_up_deferred); what reads the
 * migrations' texts reads them first, each checked to be what was hashed:
 * a subset of them (drift's shadow) holds the files' texts. */
static void test_up_texts_deferred(void **state)
{
	struct fixture *f = *state;
	const struct strata_source_options deferred = {
		.version = STRATA_SOURCE_OPTIONS_VERSION,
		.is_down_deferred = true,
		.is_up_deferred = true,
	};
	const bool keep[] = { true, false, true };
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL, *sub = NULL;

	put(f->dir, "1_a.sql", "CREATE TABLE a ();\n");
	put(f->dir, "2_b.sql", "CREATE TABLE b ();\n");
	put(f->dir, "3_c.sql", "CREATE TABLE c ();\n");
	assert_int_equal(strata_source_load(&src, f->dir, &deferred, &err), 0);
	assert_null(strata_source_at(src, 0)->up_sql);
	assert_int_equal(
	        source_subset(&sub, src, keep, STRATA_LAYOUT_SQLX, &err), 0);
	assert_int_equal(strata_source_count(sub), 2);
	assert_string_equal(strata_source_at(sub, 0)->up_sql,
	                    "CREATE TABLE a ();\n");
	assert_string_equal(strata_source_at(sub, 1)->up_sql,
	                    "CREATE TABLE c ();\n");
	/* only what was kept was read */
	assert_null(strata_source_at(src, 1)->up_sql);
	strata_source_free(sub);
	sub = NULL;
	/* the second changed since the load hashed it */
	put(f->dir, "2_b.sql", "CREATE TABLE b (changed int);\n");
	assert_int_equal(source_subset(&sub, src, (const bool[]){ 1, 1, 1 },
	                               STRATA_LAYOUT_SQLX, &err),
	                 -1);
	assert_null(sub);
	assert_int_equal(err.code, STRATA_EVALIDATE);
	assert_non_null(
	        strstr(err.message, "2_b.sql' changed while strata ran"));
	strata_error_release(&err);
	strata_source_free(src);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_simple_layout),
		T(test_empty_directory),
		T(test_leading_zeros),
		T(test_version_zero),
		T(test_dir_named_sql),
		T(test_numeric_order),
		T(test_largest_version),
		T(test_reversible_pair),
		T(test_down_deferred),
		T(test_down_beside_plain),
		T(test_description_parsing),
		T(test_non_migrations_passed_over),
		T(test_dir_with_trailing_slash),
		T(test_name_without_underscore),
		T(test_bad_versions),
		T(test_overflow_says_so),
		T(test_two_plain_files_one_version),
		T(test_plain_and_up_one_version),
		T(test_two_down_files),
		T(test_down_without_up),
		T(test_up_without_down),
		T(test_pair_descriptions_differ),
		T(test_symlink_inside),
		T(test_symlink_out_of_tree),
		T(test_hidden_files_passed_over),
		T(test_symlink_dangling),
		T(test_dangling_up_reported_once),
		T(test_size_limit),
		T(test_nul_byte),
		T(test_invalid_utf8),
		T(test_no_transaction_directive),
		T(test_missing_directory),
		T(test_first_problem_and_count),
		T(test_load_begun_and_ended),
		T(test_load_begun_fails_at_end),
		T(test_up_texts_deferred),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
