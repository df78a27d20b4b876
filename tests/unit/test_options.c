/*
 * The library's edges through the public API alone: the options structs'
 * initialisers, the version every function checks, zero as each field's
 * default, NULL options as the defaults, and errors that carry a reason
 * in place of a command-line flag.
 */
/* RTLD_NEXT: the C library's pthread_create() under the one below */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"

struct fixture {
	char root[1024];
	char dir[1100]; /* root/migrations */
	char url[1100]; /* sqlite:root/app.db */
};

#include "rmtree.h"
#include "util/sqlite_lib.h"

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/strata-options-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/migrations", f->root);
	snprintf(f->url, sizeof(f->url), "sqlite:%s/app.db", f->root);
	if (mkdir(f->dir, 0777) < 0)
		return -1;
	write_file(f->dir, "1_a.up.sql", "CREATE TABLE a (id int);\n");
	write_file(f->dir, "1_a.down.sql", "DROP TABLE a;\n");
	write_file(f->dir, "2_b.up.sql", "CREATE TABLE b (id int);\n");
	write_file(f->dir, "2_b.down.sql", "DROP TABLE b;\n");
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

/* Whether `text` names a command-line flag: "--" then a letter ("-- x",
 * a SQL comment, is none). */
static bool names_flag(const char *text)
{
	for (const char *p = text; p && (p = strstr(p, "--")); p += 2)
		if (p[2] >= 'a' && p[2] <= 'z')
			return true;
	return false;
}

/* ---- initialisers ------------------------------------------------------- */

/* init() and the _INIT macro agree: the version, every other byte zero. */
#define CHECK_INIT(type, init_fn, INIT, VERSION)                         \
	do {                                                             \
		struct type a = INIT, b, zero;                           \
		memset(&b, 0xff, sizeof(b));                             \
		memset(&zero, 0, sizeof(zero));                          \
		assert_int_equal(init_fn(&b, VERSION), 0);               \
		assert_int_equal(a.version, VERSION);                    \
		assert_int_equal(b.version, VERSION);                    \
		b.version = 0;                                           \
		assert_memory_equal(&b, &zero, sizeof(b));               \
		/* a version it does not know leaves the struct alone */ \
		assert_int_equal(init_fn(&b, 0), -1);                    \
		assert_int_equal(init_fn(&b, (VERSION) + 1), -1);        \
		assert_int_equal(b.version, 0);                          \
		assert_int_equal(init_fn(NULL, VERSION), -1);            \
	} while (0)

static void test_inits(void **state)
{
	(void)state;
	CHECK_INIT(strata_source_options, strata_source_options_init,
	           STRATA_SOURCE_OPTIONS_INIT, STRATA_SOURCE_OPTIONS_VERSION);
	CHECK_INIT(strata_new_options, strata_new_options_init,
	           STRATA_NEW_OPTIONS_INIT, STRATA_NEW_OPTIONS_VERSION);
	CHECK_INIT(strata_db_options, strata_db_options_init,
	           STRATA_DB_OPTIONS_INIT, STRATA_DB_OPTIONS_VERSION);
	CHECK_INIT(strata_run_options, strata_run_options_init,
	           STRATA_RUN_OPTIONS_INIT, STRATA_RUN_OPTIONS_VERSION);
	CHECK_INIT(strata_revert_options, strata_revert_options_init,
	           STRATA_REVERT_OPTIONS_INIT, STRATA_REVERT_OPTIONS_VERSION);
	CHECK_INIT(strata_status_options, strata_status_options_init,
	           STRATA_STATUS_OPTIONS_INIT, STRATA_STATUS_OPTIONS_VERSION);
	CHECK_INIT(strata_validate_options, strata_validate_options_init,
	           STRATA_VALIDATE_OPTIONS_INIT,
	           STRATA_VALIDATE_OPTIONS_VERSION);
	CHECK_INIT(strata_lint_options, strata_lint_options_init,
	           STRATA_LINT_OPTIONS_INIT, STRATA_LINT_OPTIONS_VERSION);
	CHECK_INIT(strata_lint_file_options, strata_lint_file_options_init,
	           STRATA_LINT_FILE_OPTIONS_INIT,
	           STRATA_LINT_FILE_OPTIONS_VERSION);
	CHECK_INIT(strata_backup_options, strata_backup_options_init,
	           STRATA_BACKUP_OPTIONS_INIT, STRATA_BACKUP_OPTIONS_VERSION);
	CHECK_INIT(strata_verify_options, strata_verify_options_init,
	           STRATA_VERIFY_OPTIONS_INIT, STRATA_VERIFY_OPTIONS_VERSION);
	CHECK_INIT(strata_retention, strata_retention_init,
	           STRATA_RETENTION_INIT, STRATA_RETENTION_VERSION);
	CHECK_INIT(strata_restore_options, strata_restore_options_init,
	           STRATA_RESTORE_OPTIONS_INIT, STRATA_RESTORE_OPTIONS_VERSION);
	CHECK_INIT(strata_db_verify_options, strata_db_verify_options_init,
	           STRATA_DB_VERIFY_OPTIONS_INIT,
	           STRATA_DB_VERIFY_OPTIONS_VERSION);
	CHECK_INIT(strata_schema_options, strata_schema_options_init,
	           STRATA_SCHEMA_OPTIONS_INIT, STRATA_SCHEMA_OPTIONS_VERSION);
	CHECK_INIT(strata_drift_options, strata_drift_options_init,
	           STRATA_DRIFT_OPTIONS_INIT, STRATA_DRIFT_OPTIONS_VERSION);
	CHECK_INIT(strata_convert_options, strata_convert_options_init,
	           STRATA_CONVERT_OPTIONS_INIT, STRATA_CONVERT_OPTIONS_VERSION);
}

/* ---- versions ----------------------------------------------------------- */

/* `rc` is a refusal of struct `name`'s version, as usage. */
static void refused(int rc, struct strata_error *err, const char *name,
                    const char *version)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err->code, STRATA_EUSAGE);
	assert_non_null(strstr(err->message, name));
	assert_non_null(strstr(err->message, version));
	assert_non_null(err->hint);
	strata_error_release(err);
}

static void test_versions_refused(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL, *src2 = NULL;
	struct strata_status *st = NULL;
	struct strata_db *db = NULL;
	struct strata_lint *lint = NULL;
	struct strata_problems problems;
	struct strata_prune_result pr;
	struct strata_verify_result vr;
	struct strata_backup *b = NULL, none = { 0 };
	struct strata_run_result res;
	int64_t *pending = NULL;
	size_t n_pending, n_reverted;
	char **paths = NULL;
	struct strata_source_options so = { 0 }; /* never initialised */
	struct strata_new_options no = STRATA_NEW_OPTIONS_INIT;
	struct strata_db_options dbo = STRATA_DB_OPTIONS_INIT;
	struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
	struct strata_revert_options rvo = STRATA_REVERT_OPTIONS_INIT;
	struct strata_status_options sto = STRATA_STATUS_OPTIONS_INIT;
	struct strata_validate_options vo = STRATA_VALIDATE_OPTIONS_INIT;
	struct strata_lint_options lo = STRATA_LINT_OPTIONS_INIT;
	struct strata_lint_file_options lfo = STRATA_LINT_FILE_OPTIONS_INIT;
	struct strata_backup_options bo = STRATA_BACKUP_OPTIONS_INIT;
	struct strata_verify_options vfo = STRATA_VERIFY_OPTIONS_INIT;
	struct strata_retention rp = STRATA_RETENTION_INIT;
	struct strata_restore_options rso = STRATA_RESTORE_OPTIONS_INIT;
	struct strata_schema_options sco = STRATA_SCHEMA_OPTIONS_INIT;
	struct strata_drift_options dro = STRATA_DRIFT_OPTIONS_INIT;
	struct strata_drift *drift = NULL;
	char *schema = NULL;

	refused(strata_source_load(&src, f->dir, &so, &err), &err,
	        "strata_source_options", "version 0");
	assert_null(src);
	no.version = 99; /* a program built against a newer strata.h */
	refused(strata_migration_new(&paths, f->dir, "x", &no, &err), &err,
	        "strata_new_options", "99");
	assert_null(paths);
	dbo.version = 2;
	refused(strata_db_open(&db, f->url, &dbo, &err), &err,
	        "strata_db_options", "version 2");
	assert_null(db);
	assert_int_equal(strata_db_open(&db, f->url, NULL, &err), 0);
	assert_int_equal(strata_source_load(&src, f->dir, NULL, &err), 0);
	ro.version = 0;
	refused(strata_migrate_run(&res, db, src, &ro, &err), &err,
	        "strata_run_options", "version 0");
	refused(strata_migrate_pending(&pending, &n_pending, db, src, &ro,
	                               &err),
	        &err, "strata_run_options", "version 0");
	rvo.version = 0;
	refused(strata_migrate_revert(&n_reverted, db, src, &rvo, &err), &err,
	        "strata_revert_options", "version 0");
	sto.version = 7;
	refused(strata_status_load(&st, &src2, db, f->dir, NULL, &sto, &err),
	        &err, "strata_status_options", "7");
	assert_null(st);
	assert_null(src2);
	vo.version = 0;
	refused(strata_validate(&problems, NULL, f->dir, &vo, &err), &err,
	        "strata_validate_options", "version 0");
	lo.version = 0;
	refused(strata_lint_new(&lint, &lo, &err), &err, "strata_lint_options",
	        "version 0");
	assert_int_equal(strata_lint_new(&lint, NULL, &err), 0);
	lfo.version = 0;
	refused(strata_lint_text(lint, "x.sql", "SELECT 1;", 9, &lfo, &err),
	        &err, "strata_lint_file_options", "version 0");
	bo.version = 0;
	refused(strata_backup_create(&b, db, &bo, &err), &err,
	        "strata_backup_options", "version 0");
	assert_null(b);
	vfo.version = 0;
	refused(strata_backup_verify(&vr, &none, &vfo, &err), &err,
	        "strata_verify_options", "version 0");
	rp.version = 0;
	refused(strata_backup_prune(&pr, f->root, &rp, &err), &err,
	        "strata_retention", "version 0");
	rso.version = 0;
	refused(strata_backup_restore(NULL, &none, f->url, &rso, &err), &err,
	        "strata_restore_options", "version 0");
	sco.version = 0;
	refused(strata_schema_dump(&schema, NULL, db, &sco, &err), &err,
	        "strata_schema_options", "version 0");
	assert_null(schema);
	dro.version = 3;
	refused(strata_drift_check(&drift, db, src, &dro, &err), &err,
	        "strata_drift_options", "version 3");
	assert_null(drift);
	strata_lint_free(lint);
	strata_source_free(src);
	strata_db_close(db);
}

/* ---- NULL and zero: the defaults ---------------------------------------- */

static void test_null_options(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	struct strata_run_result res = { 0 };
	size_t reverted = 0;

	assert_int_equal(strata_db_open(&db, f->url, NULL, &err), 0);
	assert_int_equal(strata_source_load(&src, f->dir, NULL, &err), 0);
	assert_int_equal(strata_migrate_run(&res, db, src, NULL, &err), 0);
	assert_int_equal(res.applied, 2);
	/* count 0 (and no options at all): the newest one */
	assert_int_equal(strata_migrate_revert(&reverted, db, src, NULL, &err),
	                 0);
	assert_int_equal(reverted, 1);
	strata_source_free(src);
	strata_db_close(db);
}

/* Backups of a day each, the newest at `now`, and pre-migration ones. */
static void make_backups(struct fixture *f, int64_t now)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_backup_options bo = STRATA_BACKUP_OPTIONS_INIT;
	char dir[1200];
	struct strata_db *db = NULL;
	int64_t pending = 3;

	snprintf(dir, sizeof(dir), "%s/backups", f->root);
	bo.dir = dir;
	assert_int_equal(strata_db_open(&db, f->url, NULL, &err), 0);
	for (int day = 0; day < 40; day += 3) {
		struct strata_backup *b = NULL;

		bo.now = now - (int64_t)day * 86400;
		assert_int_equal(strata_backup_create(&b, db, &bo, &err), 0);
		strata_backup_free(b);
	}
	bo.is_pre_migration = true;
	bo.pending = &pending;
	bo.n_pending = 1;
	for (int day = 1; day < 60; day += 20) {
		struct strata_backup *b = NULL;

		bo.now = now - (int64_t)day * 86400 - 60;
		assert_int_equal(strata_backup_create(&b, db, &bo, &err), 0);
		strata_backup_free(b);
	}
	strata_db_close(db);
}

static void prune(struct fixture *f, const struct strata_retention *p,
                  bool *kept, size_t *n)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_prune_result r;
	char dir[1200];

	snprintf(dir, sizeof(dir), "%s/backups", f->root);
	assert_int_equal(strata_backup_prune(&r, dir, p, &err), 0);
	*n = r.n;
	for (size_t i = 0; i < r.n; i++)
		kept[i] = r.entries[i].is_kept;
	strata_prune_result_release(&r);
}

static void test_zero_is_the_default_policy(void **state)
{
	struct fixture *f = *state;
	const int64_t now = 1742040000; /* 2025-03-15T12:00:00Z */
	struct strata_retention zero = STRATA_RETENTION_INIT;
	struct strata_retention spelled = STRATA_RETENTION_INIT;
	struct strata_retention none = STRATA_RETENTION_INIT;
	struct strata_retention forever = STRATA_RETENTION_INIT;
	bool a[64], b[64];
	size_t na, nb, n_kept = 0;

	make_backups(f, now);
	zero.now = spelled.now = none.now = forever.now = now;
	zero.is_dry_run = spelled.is_dry_run = true;
	none.is_dry_run = forever.is_dry_run = true;
	spelled.keep_daily = STRATA_DEFAULT_KEEP_DAILY;
	spelled.keep_weekly = STRATA_DEFAULT_KEEP_WEEKLY;
	spelled.keep_monthly = STRATA_DEFAULT_KEEP_MONTHLY;
	spelled.keep_pre_migration = STRATA_DEFAULT_KEEP_PRE_MIGRATION;
	prune(f, &zero, a, &na);
	prune(f, &spelled, b, &nb);
	assert_int_equal(na, 14 + 3);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na * sizeof(a[0]));
	for (size_t i = 0; i < na; i++)
		n_kept += a[i];
	/* some go, some stay: the comparison above means something */
	assert_true(n_kept > 0 && n_kept < na);
	/* STRATA_KEEP_NONE everywhere: nothing stays */
	none.keep_daily = none.keep_weekly = none.keep_monthly =
	        STRATA_KEEP_NONE;
	none.keep_pre_migration = STRATA_KEEP_NONE;
	prune(f, &none, a, &na);
	for (size_t i = 0; i < na; i++)
		assert_false(a[i]);
	/* STRATA_FOREVER keeps every pre-migration backup, however old */
	forever.keep_pre_migration = STRATA_FOREVER;
	forever.keep_daily = forever.keep_weekly = forever.keep_monthly =
	        STRATA_KEEP_NONE;
	prune(f, &forever, a, &na);
	n_kept = 0;
	for (size_t i = 0; i < na; i++)
		n_kept += a[i];
	assert_int_equal(n_kept, 3);
}

/* ---- reasons, not flags ------------------------------------------------- */

static void test_reason_names(void **state)
{
	(void)state;
	assert_null(strata_reason_name(STRATA_REASON_NONE));
	for (int r = STRATA_REASON_NONE + 1;
	     r <= STRATA_REASON_SHADOW_NOT_EMPTY; r++) {
		const char *name = strata_reason_name((enum strata_reason)r);

		assert_non_null(name);
		assert_true(strspn(name, "abcdefghijklmnopqrstuvwxyz-") ==
		            strlen(name));
	}
	assert_string_equal(strata_reason_name(STRATA_REASON_LOCK_WAIT),
	                    "lock-wait");
	assert_null(strata_reason_name(
	        (enum strata_reason)(STRATA_REASON_SHADOW_NOT_EMPTY + 1)));
}

static void test_missing_applied_reason(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	struct strata_run_result res = { 0 };
	struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
	char path[1200];

	assert_int_equal(strata_db_open(&db, f->url, NULL, &err), 0);
	assert_int_equal(strata_source_load(&src, f->dir, NULL, &err), 0);
	assert_int_equal(strata_migrate_run(&res, db, src, NULL, &err), 0);
	strata_source_free(src);
	snprintf(path, sizeof(path), "%s/2_b.up.sql", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/2_b.down.sql", f->dir);
	unlink(path);
	assert_int_equal(strata_source_load(&src, f->dir, NULL, &err), 0);
	assert_int_equal(strata_migrate_run(&res, db, src, &ro, &err), -1);
	assert_int_equal(err.code, STRATA_EVALIDATE);
	assert_int_equal(err.reason, STRATA_REASON_MISSING_APPLIED);
	assert_true(err.has_version);
	assert_int_equal(err.version, 2);
	assert_non_null(err.hint);
	assert_false(names_flag(err.hint));
	assert_non_null(strstr(err.hint, "ignore missing migrations"));
	strata_error_release(&err);
	/* what the reason points at gets past it */
	ro.is_ignore_missing = true;
	assert_int_equal(strata_migrate_run(&res, db, src, &ro, &err), 0);
	strata_source_free(src);
	strata_db_close(db);
}

static void test_lock_wait_reason(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_db_options dbo = STRATA_DB_OPTIONS_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	struct strata_run_result res = { 0 };
	sqlite3 *holder = NULL;

	/* another connection writes: the database's write lock is held */
	assert_int_equal(sqlite_load(NULL), 0);
	assert_int_equal(sqlite3_open(f->url + strlen("sqlite:"), &holder),
	                 SQLITE_OK);
	assert_int_equal(
	        sqlite3_exec(holder, "CREATE TABLE t (x int); BEGIN IMMEDIATE;",
	                     NULL, NULL, NULL),
	        SQLITE_OK);
	dbo.lock_wait = STRATA_NO_WAIT;
	assert_int_equal(strata_db_open(&db, f->url, &dbo, &err), 0);
	assert_int_equal(strata_source_load(&src, f->dir, NULL, &err), 0);
	assert_int_equal(strata_migrate_run(&res, db, src, NULL, &err), -1);
	assert_int_equal(err.code, STRATA_ELOCK);
	assert_int_equal(err.reason, STRATA_REASON_LOCK_WAIT);
	assert_non_null(err.hint);
	assert_false(names_flag(err.hint));
	assert_non_null(strstr(err.hint, "allow a longer lock wait"));
	strata_error_release(&err);
	sqlite3_close(holder);
	strata_source_free(src);
	strata_db_close(db);
}

/* `dir`/`name` in `buf`. */
static const char *strcat_path(char *buf, size_t size, const char *dir,
                               const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
	return buf;
}

static void test_source_reasons(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source_options so = STRATA_SOURCE_OPTIONS_INIT;
	struct strata_source *src = NULL;
	char empty[1200];

	so.max_file_size = 10;
	assert_int_equal(strata_source_load(&src, f->dir, &so, &err), -1);
	assert_int_equal(err.reason, STRATA_REASON_FILE_TOO_LARGE);
	assert_false(names_flag(err.hint));
	strata_error_release(&err);
	snprintf(empty, sizeof(empty), "%s/empty", f->root);
	assert_int_equal(mkdir(empty, 0777), 0);
	assert_int_equal(strata_source_load(&src, empty, NULL, &err), -1);
	assert_int_equal(err.reason, STRATA_REASON_SOURCE_EMPTY);
	assert_false(names_flag(err.hint));
	strata_error_release(&err);
	/* a command is named by the program too: the library names its
	 * function */
	write_file(f->dir, "3_c.sql", "SELECT 1;\n");
	write_file(f->dir, "3_d.sql", "SELECT 1;\n");
	assert_int_equal(strata_source_load(&src, f->dir, NULL, &err), -1);
	assert_int_equal(err.reason, STRATA_REASON_DUPLICATE_VERSION);
	assert_true(err.has_version);
	assert_int_equal(err.version, 3);
	assert_null(strstr(err.hint, "strata new"));
	assert_non_null(strstr(err.hint, "strata_migration_new()"));
	strata_error_release(&err);
	/* an error no option gets past has no reason */
	unlink(strcat_path(empty, sizeof(empty), f->dir, "3_d.sql"));
	write_file(f->dir, "v4_e.sql", "SELECT 1;\n");
	assert_int_equal(strata_source_load(&src, f->dir, NULL, &err), -1);
	assert_int_equal(err.reason, STRATA_REASON_NONE);
	assert_false(err.has_version);
	strata_error_release(&err);
}

/* ---- side effects ------------------------------------------------------- */

/* Every thread the library starts passes here. */
static int n_thread_starts;

int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                   void *(*fn)(void *), void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *,
	                   void *(*)(void *), void *);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
	n_thread_starts++;
	return real(t, attr, fn, arg);
}

/* Threads of this process now. */
static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void note_threads(const struct strata_event *ev, void *data)
{
	int *most = data;
	int n = count_threads();

	(void)ev;
	if (n > *most)
		*most = n;
}

static void test_no_threads(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_db_options dbo = STRATA_DB_OPTIONS_INIT;
	struct strata_source *src = NULL;
	struct strata_status *st = NULL;
	struct strata_db *db = NULL;
	struct strata_run_result res = { 0 };
	int most = 0;
	char name[64];

	for (int i = 3; i < 40; i++) {
		snprintf(name, sizeof(name), "%d_t%d.sql", i, i);
		write_file(f->dir, name, "SELECT 1;\n");
	}
	dbo.on_event = note_threads;
	dbo.event_data = &most;
	assert_int_equal(strata_db_open(&db, f->url, &dbo, &err), 0);
	/* by default the files are read while the database answers */
	n_thread_starts = 0;
	assert_int_equal(
	        strata_status_load(&st, &src, db, f->dir, NULL, NULL, &err), 0);
	assert_true(n_thread_starts > 0);
	strata_status_free(st);
	strata_source_free(src);
	strata_set_threads(false);
	n_thread_starts = 0;
	assert_int_equal(
	        strata_status_load(&st, &src, db, f->dir, NULL, NULL, &err), 0);
	assert_int_equal(st->n_pending, 39);
	assert_int_equal(strata_migrate_run(&res, db, src, NULL, &err), 0);
	assert_int_equal(res.applied, 39);
	/* no thread started, and every event came while this one was the
	 * only one */
	assert_int_equal(n_thread_starts, 0);
	assert_int_equal(most, 1);
	strata_set_threads(true);
	strata_status_free(st);
	strata_source_free(src);
	strata_db_close(db);
}

/* A fake `git` first in PATH: it notes each call in `mark` and names a
 * commit. */
static void fake_git(struct fixture *f, char *old_path, size_t size, char *mark,
                     size_t mark_size)
{
	char bin[1200], script[3000], path[8192];
	const char *was = getenv("PATH");

	snprintf(bin, sizeof(bin), "%s/bin", f->root);
	snprintf(mark, mark_size, "%s/git-called", f->root);
	assert_int_equal(mkdir(bin, 0777), 0);
	snprintf(script, sizeof(script),
	         "#!/bin/sh\necho \"$*\" >>'%s'\n"
	         "echo 0123456789abcdef0123456789abcdef01234567\n",
	         mark);
	write_file(bin, "git", script);
	snprintf(path, sizeof(path), "%s/git", bin);
	assert_int_equal(chmod(path, 0755), 0);
	snprintf(old_path, size, "%s", was ? was : "/usr/bin:/bin");
	snprintf(path, sizeof(path), "%s:%s", bin, old_path);
	setenv("PATH", path, 1);
}

/* The git commit of the newest row of the audit trail ("" when none). */
static void newest_commit(struct strata_db *db, char *out, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_audit *a = NULL;
	const char *c;

	assert_int_equal(strata_audit_read(&a, db, NULL, &err), 0);
	assert_true(a->count > 0);
	c = a->rows[a->count - 1].git_commit;
	snprintf(out, size, "%s", c ? c : "");
	strata_audit_free(a);
}

static void test_no_git(void **state)
{
	struct fixture *f = *state;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_db_options dbo = STRATA_DB_OPTIONS_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	struct strata_run_result res = { 0 };
	char old_path[4096], mark[1200], commit[64];
	size_t reverted = 0;

	fake_git(f, old_path, sizeof(old_path), mark, sizeof(mark));
	assert_int_equal(strata_source_load(&src, f->dir, NULL, &err), 0);
	dbo.is_no_git = true;
	assert_int_equal(strata_db_open(&db, f->url, &dbo, &err), 0);
	assert_int_equal(strata_migrate_run(&res, db, src, NULL, &err), 0);
	assert_int_equal(res.applied, 2);
	newest_commit(db, commit, sizeof(commit));
	strata_db_close(db);
	assert_string_equal(commit, "");
	assert_int_equal(access(mark, F_OK), -1); /* git never ran */
	/* by default the commit is git's */
	assert_int_equal(strata_db_open(&db, f->url, NULL, &err), 0);
	assert_int_equal(strata_migrate_revert(&reverted, db, src, NULL, &err),
	                 0);
	newest_commit(db, commit, sizeof(commit));
	strata_db_close(db);
	assert_string_equal(commit, "0123456789abcdef0123456789abcdef01234567");
	assert_int_equal(access(mark, F_OK), 0);
	setenv("PATH", old_path, 1);
	strata_source_free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inits),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test_setup_teardown(test_versions_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_null_options, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_zero_is_the_default_policy,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_applied_reason,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_wait_reason, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_source_reasons, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_no_threads, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_no_git, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
