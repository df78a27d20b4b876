/*
 * Files read on demand. Down files (strata_source_options.is_down_deferred):
 * a run reads the down files of the migrations it applies, for their audit
 * rows, and no others, so a run with nothing pending opens none. Up files'
 * texts (is_up_deferred): the load hashed every one and kept no text; a run
 * reads again those it applies, each checked to be what the load hashed.
 * Each is read and checked as the load would have read it
 * (source_check_entry()).
 */
#include "engine/source.h"
#include "engine/source_read.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/sbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int open_dir(struct strata_source *src, struct reader *r,
                    struct strata_error *err)
{
	if (r->dir_fd >= 0)
		return 0;
	r->dir_fd = open(src->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dir_fd < 0)
		return strata_error_set(
		        err, STRATA_EFAILED,
		        "could not open migration directory '%s': %s", src->dir,
		        strerror(errno));
	return 0;
}

static int read_down(struct strata_source *src, struct reader *r, size_t k,
                     struct strata_error *err)
{
	struct entry *e = src->downs[k];
	struct strata_migration *m = &src->migrations[k];

	if (open_dir(src, r, err) < 0 || source_check_entry(e, r, err) < 0)
		return -1;
	src->downs[k] = NULL;
	/* a diesel directory's down.sql, looked for only now, is not there */
	if (!e->content) {
		m->down_path = NULL;
		return 0;
	}
	m->down_sql = e->content->text;
	m->down_len = e->content->len;
	/* diesel's metadata.toml, read with the up file, rules both */
	if (!e->is_diesel)
		m->is_down_no_transaction = e->content->is_no_transaction;
	return 0;
}

/* The up file of migration `k` again, as the load read it: the same
 * bytes, or an error naming it. */
static int read_up(struct strata_source *src, struct reader *r, size_t k,
                   struct strata_error *err)
{
	struct entry *e = src->ups[k];
	struct strata_migration *m = &src->migrations[k];
	const struct content *c;

	if (open_dir(src, r, err) < 0)
		return -1;
	if (source_check_entry(e, r, err) < 0) {
		/* there when the folder was read: gone or changed since */
		if (err && !err->hint)
			strata_error_hint(
			        err,
			        "It was read with the folder when the run began. Nothing was applied. Run again once the folder is no longer being written to.");
		return -1;
	}
	c = e->content;
	if (!e->is_named || !c || !c->text ||
	    memcmp(c->checksum, m->checksum, sizeof(m->checksum))) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "'%s' changed while strata ran: it no longer reads as it did when the folder was read",
		        m->up_path);
		error_set_location(err, m->up_path, NULL, 0, 0);
		return strata_error_hint(
		        err,
		        "Nothing was applied. Run again once the folder is no longer being written to.");
	}
	m->up_sql = c->text;
	m->up_len = c->len;
	free(e);
	src->ups[k] = NULL;
	return 0;
}

/* Reads what the load deferred of `ms` (NULL: every migration), their up
 * files' texts or their down files. */
static int read_deferred(const struct strata_source *csrc,
                         const struct strata_migration *const *ms, size_t n,
                         bool is_up, struct strata_error *err)
{
	struct strata_source *src = (struct strata_source *)csrc;
	struct entry **deferred = is_up ? src->ups : src->downs;
	struct arena scratch = ARENA_INIT;
	struct reader r = {
		.arena = &src->arena,
		.scratch = &scratch,
		.dir_fd = -1,
		.dir = src->dir,
		.max = src->max_file_size,
		.layout = src->read_layout,
		.placeholders = src->placeholders,
		.n_placeholders = src->n_placeholders,
		.timestamp = src->timestamp,
		.buf = SBUF_INIT,
	};
	int rc = 0;

	if (!deferred)
		return 0;
	pthread_mutex_lock(&src->deferred_lock);
	if (!ms)
		n = src->n;
	for (size_t i = 0; i < n && !rc; i++) {
		size_t k = ms ? (size_t)(ms[i] - src->migrations) : i;

		if (k >= src->n)
			BUG("migration not of this source");
		if (deferred[k])
			rc = is_up ? read_up(src, &r, k, err)
			           : read_down(src, &r, k, err);
	}
	pthread_mutex_unlock(&src->deferred_lock);
	if (r.dir_fd >= 0)
		close(r.dir_fd);
	sbuf_release(&r.buf);
	arena_release(&scratch);
	return rc;
}

int source_read_downs(const struct strata_source *src,
                      const struct strata_migration *const *ms, size_t n,
                      struct strata_error *err)
{
	return read_deferred(src, ms, n, false, err);
}

int source_read_ups(const struct strata_source *src,
                    const struct strata_migration *const *ms, size_t n,
                    struct strata_error *err)
{
	return read_deferred(src, ms, n, true, err);
}
