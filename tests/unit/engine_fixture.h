/*
 * What the engine's unit tests share: a fresh source folder per test, a
 * database in SQLite's memory (sqlite::memory:, one connection for the
 * whole test), and the events the library sent. They drive the engine
 * through the public API alone, as an application linking libstrata
 * would, with no command line in between.
 */
#ifndef ENGINE_FIXTURE_H
#define ENGINE_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
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
	struct strata_db *db;
	struct strata_source *src;
	struct strata_error err;
	/* events received, by kind, and the last warning's text */
	size_t events[64];
	char last_warning[512];
};

#include "rmtree.h"

static inline void on_event(const struct strata_event *ev, void *data)
{
	struct fixture *f = data;

	if ((size_t)ev->kind < sizeof(f->events) / sizeof(f->events[0]))
		f->events[ev->kind]++;
	if (ev->kind == STRATA_EVENT_WARNING && ev->message)
		snprintf(f->last_warning, sizeof(f->last_warning), "%s",
		         ev->message);
}

static inline int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	struct strata_db_options opts = STRATA_DB_OPTIONS_INIT;

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/strata-engine-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/migrations", f->root);
	opts.on_event = on_event;
	opts.event_data = f;
	if (mkdir(f->dir, 0777) < 0 ||
	    strata_db_open(&f->db, "sqlite::memory:", &opts, &f->err) < 0) {
		remove_tree(f->root);
		strata_error_release(&f->err);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;

	strata_source_free(f->src);
	strata_db_close(f->db);
	strata_error_release(&f->err);
	remove_tree(f->root);
	free(f);
	return 0;
}

/* Writes `text` to the source folder's file `name`. */
static inline void write_file(struct fixture *f, const char *name,
                              const char *text)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static inline void remove_file(struct fixture *f, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(unlink(path), 0);
}

/* (Re)loads the source folder into f->src; it must load. */
static inline void load(struct fixture *f)
{
	strata_source_free(f->src);
	f->src = NULL;
	if (strata_source_load(&f->src, f->dir, NULL, &f->err) < 0)
		fail_msg("source load: %s", f->err.message);
}

/* strata_migrate_run() with `opts` (NULL: defaults): applied count, or -1
 * with f->err set. */
static inline long run_with(struct fixture *f,
                            const struct strata_run_options *opts)
{
	struct strata_run_result res = { 0, 0 };

	strata_error_release(&f->err);
	if (strata_migrate_run(&res, f->db, f->src, opts, &f->err) < 0)
		return -1;
	return (long)res.applied;
}

/* NULL options: the defaults */
static inline long run_all(struct fixture *f)
{
	return run_with(f, NULL);
}

/* The status of f->src against f->db; free it. */
static inline struct strata_status *status_of(struct fixture *f)
{
	struct strata_status *st = NULL;

	strata_error_release(&f->err);
	if (strata_status_get(&st, f->db, f->src, &f->err) < 0)
		fail_msg("status: %s", f->err.message);
	return st;
}

/* The state of `version` in a fresh status, or -1 when it is not listed. */
static inline int state_of(struct fixture *f, int64_t version)
{
	struct strata_status *st = status_of(f);
	int state = -1;

	for (size_t i = 0; i < st->count; i++)
		if (st->entries[i].version == version)
			state = (int)st->entries[i].state;
	strata_status_free(st);
	return state;
}

/* Whether `sql` runs as a migration of its own now (version `version`):
 * the way to ask the database about its tables through the public API
 * alone (a CREATE TABLE that succeeds says the table was not there). */
static inline bool runs_now(struct fixture *f, const char *name,
                            const char *sql)
{
	write_file(f, name, sql);
	load(f);
	return run_all(f) == 1;
}

#endif
