/*
 * What the unit tests that work on files share: a fresh temporary
 * directory per test (`setup`/`teardown`, with `migrations/` in it as the
 * source), files written there, and a source that must load. Include it
 * after cmocka.h.
 */
#ifndef STRATA_TEST_TMPDIR_H
#define STRATA_TEST_TMPDIR_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"

struct fixture {
	char root[1024]; /* the temporary directory */
	char dir[2048];  /* root/migrations: the source */
};

#include "rmtree.h"

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

__attribute__((unused)) static char *slurp(const char *path)
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

#endif
