/*
 * A source load on a thread of its own (strata_source_load_begin()), for
 * a caller that has something else to wait for meanwhile: the database's
 * library to load and its server to answer.
 */
#include "strata.h"
#include "engine/checksum.h"
#include "util/cancel.h"
#include "util/error.h"
#include "util/xalloc.h"

#include <pthread.h>

struct strata_source_loading {
	const char *dir;
	const struct strata_source_options *opts;
	pthread_t thread;
	bool is_threaded;
	struct strata_source *src;
	struct strata_error err;
	int rc;
};

static void *load(void *arg)
{
	struct strata_source_loading *l = arg;

	l->rc = strata_source_load(&l->src, l->dir, l->opts, &l->err);
	return NULL;
}

struct strata_source_loading *
strata_source_load_begin(const char *dir,
                         const struct strata_source_options *opts)
{
	struct strata_source_loading *l = xcalloc(1, sizeof(*l));

	l->dir = dir;
	l->opts = opts;
	/*
	 * libcrypto loaded here, before the caller loads libpq: the loader's
	 * lock is held through a dlopen(), and the thread would wait for
	 * all of libpq's before it hashed a file (the load reports a
	 * failure).
	 */
	checksum_load(NULL);
	l->is_threaded = !cancel_thread_create(&l->thread, load, l);
	if (!l->is_threaded)
		load(l);
	return l;
}

int strata_source_load_end(struct strata_source **out,
                           struct strata_source_loading *l,
                           struct strata_error *err)
{
	int rc;

	if (l->is_threaded)
		pthread_join(l->thread, NULL);
	*out = l->src;
	rc = l->rc;
	if (rc < 0)
		error_move(err, &l->err);
	strata_error_release(&l->err);
	free(l);
	return rc;
}
