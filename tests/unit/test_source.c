/*
 * The migration source (src/engine/source.c), checksums (src/engine/checksum.c)
 * and `strata new` (src/engine/newmig.c), against real files in a fresh
 * temporary directory per test. The SHA-384 oracle below was computed once with
 * `printf 'SELECT 1;\n' | openssl dgst -sha384`, independently of the code
 * under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"

#define SELECT_1_SHA384 \
	"24454095d8d7876ca8e842f34296ca645c83e0f7b50f048c99db4b2ff4da659267afc4ef3e994f3d74e18c741165d931"

/* 2025-01-01 12:00:00 UTC */
#define NOW       1735732800
#define NOW_STAMP "20250101120000"

struct fixture {
	char root[1024]; /* the temporary directory */
	char dir[2048];  /* root/migrations: the source */
};

/* ---- helpers ------------------------------------------------------------ */

static void remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char sub[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		remove_tree(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/strata-test-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/migrations", f->root);
	if (mkdir(f->dir, 0777) < 0) {
		remove_tree(f->root);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	remove_tree(f->root);
	free(f);
	return 0;
}

/* `dir`/`name`, in one of four static buffers: nested calls are fine. */
static const char *in(const char *dir, const char *name)
{
	static char paths[4][PATH_MAX];
	static size_t next;
	char *path = paths[next++ % 4];

	int n = snprintf(path, PATH_MAX, "%s/%s", dir, name);

	assert_true(n > 0 && n < PATH_MAX);
	return path;
}

static void put_bytes(const char *dir, const char *name, const char *data,
                      size_t len)
{
	FILE *fp = fopen(in(dir, name), "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void put(const char *dir, const char *name, const char *text)
{
	put_bytes(dir, name, text, strlen(text));
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf = calloc(1, 65536);

	assert_non_null(fp);
	assert_non_null(buf);
	fread(buf, 1, 65535, fp);
	fclose(fp);
	return buf;
}

static struct strata_source *load_ok(const char *dir)
{
	struct strata_source *src = NULL;
	struct strata_error err = STRATA_ERROR_INIT;

	if (strata_source_load(&src, dir, NULL, &err) < 0) {
		char msg[PATH_MAX];

		snprintf(msg, sizeof(msg), "%s", err.message);
		strata_error_release(&err);
		fail_msg("loading '%s' failed: %s", dir, msg);
	}
	assert_non_null(src);
	return src;
}

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

static void assert_prefix(const char *text, const char *prefix)
{
	if (strncmp(text, prefix, strlen(prefix)) != 0)
		fail_msg("'%s' does not start with '%s'", text, prefix);
}

static void hex(char *out, const unsigned char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", data[i]);
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

static void test_checksum_is_sha384(void **state)
{
	struct fixture *f = *state;
	struct strata_source *src;
	unsigned char sum[STRATA_CHECKSUM_LEN];
	char text[2 * STRATA_CHECKSUM_LEN + 1];

	strata_checksum(sum, "SELECT 1;\n", 10);
	hex(text, sum, sizeof(sum));
	assert_string_equal(text, SELECT_1_SHA384);

	/* of the up file's bytes only, not of the down file */
	put(f->dir, "1_one.up.sql", "SELECT 1;\n");
	put(f->dir, "1_one.down.sql", "SELECT 2;\n");
	src = load_ok(f->dir);
	hex(text, strata_source_at(src, 0)->checksum, STRATA_CHECKSUM_LEN);
	assert_string_equal(text, SELECT_1_SHA384);
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
		T(test_simple_layout),
		T(test_empty_directory),
		T(test_leading_zeros),
		T(test_version_zero),
		T(test_dir_named_sql),
		T(test_numeric_order),
		T(test_largest_version),
		T(test_reversible_pair),
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
		T(test_checksum_is_sha384),
		T(test_missing_directory),
		T(test_first_problem_and_count),
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
