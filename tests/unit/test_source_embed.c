/*
 * Embedded sources (src/engine/source_embed.c): data as strata embed
 * writes it loads as the folder would, and every way it can be damaged is
 * refused, naming the file as embedded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/common.h"

static const char up1[] = "CREATE TABLE a (id int);\n";
static const char down1[] = "DROP TABLE a;\n";
static const char up2[] = "-- no-transaction\nVACUUM;\n";

static struct strata_embedded_migration ms[2];
static struct strata_embedded emb;

/* Two sound migrations: a reversible pair and a no-transaction file. */
static int reset(void **state)
{
	(void)state;
	memset(ms, 0, sizeof(ms));
	ms[0].version = 1;
	ms[0].description = "create a";
	ms[0].up_name = "1_create_a.up.sql";
	ms[0].up_sql = up1;
	ms[0].up_len = strlen(up1);
	ms[0].down_name = "1_create_a.down.sql";
	ms[0].down_sql = down1;
	ms[0].down_len = strlen(down1);
	strata_checksum(ms[0].checksum, up1, strlen(up1));
	ms[0].is_reversible_pair = true;
	ms[1].version = 20250101120000;
	ms[1].description = "vacuum";
	ms[1].up_name = "20250101120000_vacuum.sql";
	ms[1].up_sql = up2;
	ms[1].up_len = strlen(up2);
	strata_checksum(ms[1].checksum, up2, strlen(up2));
	ms[1].is_no_transaction = true;
	emb.version = STRATA_EMBEDDED_VERSION;
	emb.dir = "db/migrations";
	emb.migrations = ms;
	emb.count = 2;
	return 0;
}

/* Loading fails with STRATA_EVALIDATE, its message holding `want`. */
static void assert_refused(const char *want, const char *file)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = (struct strata_source *)&err;
	char all[2048];

	assert_int_equal(strata_source_from_embedded(&src, &emb, &err), -1);
	assert_null(src);
	assert_int_equal(err.code, STRATA_EVALIDATE);
	snprintf(all, sizeof(all), "%s | %s", err.message,
	         err.detail ? err.detail : "");
	if (!strstr(all, want))
		fail_msg("'%s' not in '%s'", want, all);
	if (file)
		assert_string_equal(err.file, file);
	strata_error_release(&err);
}

static void test_loads_as_the_folder(void **state)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	const struct strata_migration *m;

	(void)state;
	assert_int_equal(strata_source_from_embedded(&src, &emb, &err), 0);
	assert_string_equal(strata_source_dir(src), "db/migrations (embedded)");
	assert_int_equal(strata_source_count(src), 2);
	m = strata_source_find(src, 1);
	assert_non_null(m);
	assert_string_equal(m->up_path,
	                    "db/migrations/1_create_a.up.sql (embedded)");
	assert_string_equal(m->down_path,
	                    "db/migrations/1_create_a.down.sql (embedded)");
	assert_ptr_equal(m->up_sql, up1); /* borrowed, not copied */
	assert_true(m->is_reversible_pair);
	assert_false(m->is_no_transaction);
	m = strata_source_at(src, 1);
	assert_int_equal(m->version, 20250101120000);
	assert_null(m->down_path);
	assert_null(m->down_sql);
	assert_true(m->is_no_transaction);
	strata_source_free(src);
}

static void test_refuses_damage(void **state)
{
	static const char edited[] = "CREATE TABLE b (id int);\n";
	static const char not_utf8[] = "SELECT '\xff';\n";

	(void)state;
	ms[0].up_sql = edited;
	assert_refused("'db/migrations/1_create_a.up.sql (embedded)' does not "
	               "match its checksum",
	               "db/migrations/1_create_a.up.sql (embedded)");
	reset(NULL);
	ms[0].up_len--;
	assert_refused("Its text is 25 bytes long, the data says 24.", NULL);
	reset(NULL);
	ms[1].up_sql = not_utf8;
	ms[1].up_len = strlen(not_utf8);
	ms[1].is_no_transaction = false;
	strata_checksum(ms[1].checksum, not_utf8, strlen(not_utf8));
	assert_refused("Its text is not valid UTF-8.",
	               "db/migrations/20250101120000_vacuum.sql (embedded)");
	reset(NULL);
	ms[1].is_no_transaction = false;
	assert_refused("The data says it runs inside a transaction, its text "
	               "says outside.",
	               NULL);
	reset(NULL);
	ms[0].down_len = 3;
	assert_refused("'db/migrations/1_create_a.down.sql (embedded)' is "
	               "corrupted",
	               NULL);
	reset(NULL);
	ms[0].down_name = NULL;
	assert_refused("It has a down text but no down file.", NULL);
	reset(NULL);
	ms[0].up_sql = NULL;
	assert_refused("It has no text.", NULL);
}

static void test_refuses_names(void **state)
{
	(void)state;
	ms[0].up_name = "create_a.up.sql";
	assert_refused("invalid migration file name 'create_a.up.sql'",
	               "db/migrations/create_a.up.sql (embedded)");
	reset(NULL);
	ms[0].up_name = "2_create_a.up.sql";
	assert_refused("Its name says version 2, the data 1.", NULL);
	reset(NULL);
	ms[0].description = "create b";
	assert_refused("Its name says description 'create a', the data "
	               "'create b'.",
	               NULL);
	reset(NULL);
	ms[0].is_reversible_pair = false;
	assert_refused("Its name ends in '.up.sql' where the data says it ends "
	               "in '.sql'.",
	               NULL);
	reset(NULL);
	ms[0].down_name = "1_create_a.sql";
	assert_refused("Its name ends in '.sql' where the data says it ends in "
	               "'.down.sql'.",
	               NULL);
	reset(NULL);
	ms[0].up_name = "x/1_create_a.up.sql";
	assert_refused("The file name holds a '/'", NULL);
	reset(NULL);
	ms[0].up_name = NULL;
	assert_refused("Migration 1 has no file name.", NULL);
}

static void test_refuses_lists(void **state)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;

	(void)state;
	ms[1] = ms[0];
	assert_refused("duplicate embedded migration version 1: "
	               "'db/migrations/1_create_a.up.sql (embedded)' and "
	               "'db/migrations/1_create_a.up.sql (embedded)'",
	               NULL);
	reset(NULL);
	{
		struct strata_embedded_migration t = ms[0];

		ms[0] = ms[1];
		ms[1] = t;
	}
	assert_refused("It comes after version 20250101120000: the migrations "
	               "are not in ascending version order.",
	               "db/migrations/1_create_a.up.sql (embedded)");
	reset(NULL);
	emb.count = 0;
	assert_refused("'db/migrations (embedded)' holds no migration", NULL);
	reset(NULL);
	emb.version = STRATA_EMBEDDED_VERSION + 1;
	assert_refused("are of layout version 2, which this library does not "
	               "read",
	               NULL);
	reset(NULL);
	emb.version = 0;
	assert_refused("are of layout version 0", NULL);
	reset(NULL);
	emb.dir = NULL;
	assert_int_equal(strata_source_from_embedded(&src, &emb, &err), 0);
	assert_string_equal(strata_source_dir(src), ". (embedded)");
	assert_string_equal(strata_source_at(src, 0)->up_path,
	                    "1_create_a.up.sql (embedded)");
	strata_source_free(src);
	assert_int_equal(strata_source_from_embedded(&src, NULL, &err), -1);
	assert_int_equal(err.code, STRATA_EUSAGE);
	strata_error_release(&err);
}

/*
 * Run and reverted as a folder's would be, but with no folder to ask git
 * about (a `git` first in PATH marks any call), and a missing down file
 * named after the embedded one.
 */
static void test_runs_without_a_folder(void **state)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	struct strata_run_result res = { 0 };
	struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
	struct strata_audit *a = NULL;
	char root[] = "/tmp/strata-embed-XXXXXX", bin[64], mark[64];
	char git[96], path[8192];
	const char *was = getenv("PATH");
	char *old_path = strdup(was ? was : "/usr/bin:/bin");
	size_t reverted = 0;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(bin, sizeof(bin), "%s/bin", root);
	snprintf(mark, sizeof(mark), "%s/git-called", root);
	snprintf(git, sizeof(git), "%s/git", bin);
	assert_int_equal(mkdir(bin, 0777), 0);
	fp = fopen(git, "w");
	assert_non_null(fp);
	fprintf(fp, "#!/bin/sh\ntouch '%s'\necho 0123456789abcdef\n", mark);
	fclose(fp);
	assert_int_equal(chmod(git, 0755), 0);
	snprintf(path, sizeof(path), "%s:%s", bin, old_path);
	setenv("PATH", path, 1);

	ms[0].down_name = NULL; /* a pair whose down file is missing */
	ms[0].down_sql = NULL;
	ms[0].down_len = 0;
	assert_int_equal(strata_source_from_embedded(&src, &emb, &err), 0);
	assert_int_equal(strata_db_open(&db, "sqlite::memory:", NULL, &err), 0);
	ro.has_target = true;
	ro.target_version = 1;
	assert_int_equal(strata_migrate_run(&res, db, src, &ro, &err), 0);
	assert_int_equal(res.applied, 1);
	assert_int_equal(strata_audit_read(&a, db, NULL, &err), 0);
	assert_true(a->count > 0);
	assert_true(!a->rows[a->count - 1].git_commit ||
	            !*a->rows[a->count - 1].git_commit);
	strata_audit_free(a);
	assert_int_equal(access(mark, F_OK), -1); /* git never ran */

	assert_int_equal(strata_migrate_revert(&reverted, db, src, NULL, &err),
	                 -1);
	assert_non_null(err.hint);
	assert_non_null(
	        strstr(err.hint, "'db/migrations/1_create_a.down.sql'"));
	strata_error_release(&err);
	setenv("PATH", old_path, 1);
	strata_db_close(db);
	strata_source_free(src);
	unlink(git);
	rmdir(bin);
	rmdir(root);
	free(old_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_loads_as_the_folder, reset),
		cmocka_unit_test_setup(test_refuses_damage, reset),
		cmocka_unit_test_setup(test_refuses_names, reset),
		cmocka_unit_test_setup(test_refuses_lists, reset),
		cmocka_unit_test_setup(test_runs_without_a_folder, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
