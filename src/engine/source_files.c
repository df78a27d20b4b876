/*
 * Everything that can be wrong with one migration file on its own, and
 * the reading of its bytes: its type (a regular file, or a link that
 * stays inside the source tree), its size, a UTF-8 byte-order mark, a
 * dbmate file's sections, and the first-line directive
 * (STRATA_NO_TRANSACTION_DIRECTIVE) that runs it outside a transaction.
 */
#define _GNU_SOURCE /* memmem() */
#include "engine/source.h"
#include "engine/source_read.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/text.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether the resolved path `real` lies under the directory `root`. */
static bool is_inside(const char *real, const char *root)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		return true;
	return strncmp(real, root, n) == 0 &&
	       (real[n] == '/' || real[n] == '\0');
}

/*
 * A directory (or FIFO...) named like a migration file is refused: sqlx
 * passes over it, so a migration someone meant to add would silently never
 * run.
 */
static int not_a_file_error(const struct entry *e, mode_t mode,
                            struct strata_error *err)
{
	if (S_ISDIR(mode)) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "'%s' is a directory, not a migration file",
		                 e->path);
		return strata_error_hint(
		        err,
		        "strata reads the files of the migration directory, not its subdirectories: move it out, or make it a file.");
	}
	strata_error_set(err, STRATA_EVALIDATE,
	                 "'%s' is not a regular file, so not a migration file",
	                 e->path);
	return strata_error_hint(
	        err,
	        "Replace it with a regular file, or move it out of the migration directory.");
}

/*
 * Links are followed only inside the source tree (design.md, Migration
 * sources and layouts): a link out of it could make the history depend on
 * files nobody reviews with the migrations.
 */
static int check_file_type(struct entry *e, struct reader *r,
                           struct strata_error *err)
{
	struct stat st;
	char *real;
	int rc = -1;

	if (e->is_regular)
		return 0;
	if (lstat(e->path, &st) < 0)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not stat '%s': %s", e->path,
		                        strerror(errno));
	if (S_ISREG(st.st_mode))
		return 0;
	if (!S_ISLNK(st.st_mode))
		return not_a_file_error(e, st.st_mode, err);
	real = realpath(e->path, NULL);
	if (!real && errno == ENOENT)
		return strata_error_set(
		        err, STRATA_EVALIDATE,
		        "symbolic link '%s' points to a missing file", e->path);
	if (!real)
		return strata_error_set(
		        err, STRATA_EVALIDATE,
		        "could not follow symbolic link '%s': %s", e->path,
		        strerror(errno));
	if (!r->root) {
		char *root = realpath(r->dir, NULL);

		if (!root) {
			strata_error_set(
			        err, STRATA_EFAILED,
			        "could not resolve migration directory '%s': %s",
			        r->dir, strerror(errno));
			goto done;
		}
		r->root = arena_strdup(r->arena, root);
		free(root);
	}
	if (!is_inside(real, r->root)) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "symbolic link '%s' leads out of the migration directory",
		        e->path);
		strata_error_detail(err, "It resolves to '%s', outside '%s'.",
		                    real, r->root);
		goto done;
	}
	if (stat(real, &st) < 0) {
		strata_error_set(err, STRATA_EFAILED, "could not stat '%s': %s",
		                 e->path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		not_a_file_error(e, st.st_mode, err);
		goto done;
	}
	rc = 0;
done:
	free(real);
	return rc;
}

/*
 * A dbmate file holds its down section after its up section: read as sqlx
 * reads it, the whole file would run as the up, the down included.
 */
static int check_dbmate(const struct entry *e, const char *text, size_t len,
                        struct strata_error *err)
{
	size_t up = source_find_dbmate_marker(text, len, 0, "up");
	size_t down = source_find_dbmate_marker(text, len, 0, "down");
	size_t first = up < down ? up : down;
	int line, down_line = 0;

	if (first == len)
		return 0;
	text_line_col(text, len, first, &line, NULL);
	if (down < len)
		text_line_col(text, len, down, &down_line, NULL);
	strata_error_set(
	        err, STRATA_EVALIDATE,
	        "'%s' is a dbmate migration ('-- migrate:%s' on line %d)",
	        e->path, first == up ? "up" : "down", line);
	if (down_line)
		strata_error_detail(
		        err,
		        "strata reads sqlx's layout, where the whole file is the up migration: its '-- migrate:down' section (line %d) would run as part of the up.",
		        down_line);
	else
		strata_error_detail(
		        err,
		        "strata reads sqlx's layout, where the whole file is the up migration; dbmate's '-- migrate:' sections are not read.");
	strata_error_hint(
	        err,
	        "Read the folder in dbmate's layout (--layout dbmate, or layout = dbmate in strata.conf), or split the file into VERSION_NAME.up.sql (the up section) and VERSION_NAME.down.sql (the down section).");
	error_set_location(err, e->path, text, len, first);
	return -1;
}

/*
 * A byte-order mark is named, not stripped, where the parser stumbles on
 * it: the checksum is of the file's bytes (sqlx sends them as they are),
 * and SQLite, which passes over the mark, runs such a file as sqlx did.
 */
int source_check_bom(const char *path, const char *text, size_t len,
                     struct strata_error *err)
{
	if (len < 3 || memcmp(text, "\xEF\xBB\xBF", 3) != 0)
		return 0;
	strata_error_set(err, STRATA_EVALIDATE,
	                 "'%s' starts with a UTF-8 byte-order mark (EF BB BF)",
	                 path);
	strata_error_detail(
	        err,
	        "The server would read the mark as part of the first statement; strata does not strip it, as the checksum is of the file's bytes.");
	strata_error_hint(
	        err,
	        "Save the file as UTF-8 without a BOM (sed -i '1s/^\\xEF\\xBB\\xBF//' '%s' removes it).",
	        path);
	error_set_location(err, path, text, len, 0);
	return -1;
}

/* Migration files are UTF-8 without NUL bytes (design.md, Migration
 * sources and layouts). */
static int check_text(const struct entry *e, const char *text, size_t len,
                      enum strata_layout layout, struct strata_error *err)
{
	const char *nul = memchr(text, '\0', len);
	size_t bad = text_utf8_invalid_at(text, len);

	if (nul && (size_t)(nul - text) < bad) {
		size_t at = (size_t)(nul - text);
		int line;

		text_line_col(text, len, at, &line, NULL);
		strata_error_set(err, STRATA_EVALIDATE,
		                 "'%s' holds a NUL byte on line %d", e->path,
		                 line);
		error_set_location(err, e->path, text, len, at);
		return -1;
	}
	if (bad < len) {
		int line, col;

		text_line_col(text, len, bad, &line, &col);
		strata_error_set(err, STRATA_EVALIDATE,
		                 "'%s' is not valid UTF-8 (line %d, column %d)",
		                 e->path, line, col);
		strata_error_hint(err, "Save the file as UTF-8.");
		error_set_location(err, e->path, text, len, bad);
		return -1;
	}
	/* dbmate's sections are read where its layout may be the folder's */
	if (layout == STRATA_LAYOUT_AUTO || layout == STRATA_LAYOUT_DBMATE)
		return 0;
	return check_dbmate(e, text, len, err);
}

/* Whether the load keeps a file's text, not only what it learnt of it (a
 * deferred up file that proves dbmate's keeps it all the same: its down
 * section is in it). */
static bool is_text_kept(const struct entry *e, const struct reader *r)
{
	return !r->is_checksums_only &&
	       !(r->is_up_deferred && e->kind != KIND_DOWN);
}

/*
 * The file's bytes into r->buf: open, read to the end, close, relative to
 * the directory already open (three system calls: this runs for every file
 * of every status).
 */
static int read_entry(struct entry *e, struct reader *r, const char **text,
                      size_t *len, struct strata_error *err)
{
	struct sbuf *b = &r->buf;
	/* a probed diesel file is open already, its size known */
	bool is_probed = e->has_fd;
	/* never waiting on a FIFO put where a file was */
	int fd = is_probed
	                 ? e->fd
	                 : openat(r->dir_fd, e->name,
	                          O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	int rc = -1;

	e->has_fd = false;
	if (fd < 0)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not open '%s': %s", e->path,
		                        strerror(errno));
	sbuf_reset(b);
	/* A text that is kept is read straight into the arena, sized by
	 * fstat(): a large file is then held once, not twice. */
	if (is_probed) {
		st.st_mode = S_IFREG;
		st.st_size = e->fd_size;
	}
	if (is_text_kept(e, r) && (is_probed || fstat(fd, &st) == 0) &&
	    S_ISREG(st.st_mode) && (uintmax_t)st.st_size <= r->max) {
		size_t cap = (size_t)st.st_size + 1, got = 0;
		char *p = arena_alloc(r->arena, cap + 1);

		for (;;) {
			size_t want = cap - got;
			ssize_t n = read(fd, p + got, want);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				strata_error_set(err, STRATA_EFAILED,
				                 "could not read '%s': %s",
				                 e->path, strerror(errno));
				goto done;
			}
			got += (size_t)n;
			/* a regular file's short read is its end */
			if ((size_t)n < want || got == cap)
				break;
		}
		if (got < cap) {
			p[got] = '\0';
			*text = p;
			*len = got;
			rc = 0;
			goto done;
		}
		/* grown since fstat(): read the rest as any file */
		sbuf_add(b, p, got);
	}
	for (;;) {
		size_t want;
		ssize_t n;

		sbuf_grow(b, 64 * 1024);
		want = b->alloc - b->len - 1;
		n = read(fd, b->buf + b->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strata_error_set(err, STRATA_EFAILED,
			                 "could not read '%s': %s", e->path,
			                 strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->buf[b->len] = '\0';
		if (b->len > r->max) {
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "'%s' is larger than the limit of %zu bytes (%.1f MiB)",
			        e->path, r->max, r->max / 1048576.0);
			strata_error_hint(
			        err,
			        "Split the migration, or raise the limit (max_file_size), such as to 256MiB.");
			strata_error_reason(err, STRATA_REASON_FILE_TOO_LARGE,
			                    -1);
			goto done;
		}
		/* only a file (links to others are passed over), whose
		 * read comes short at its end alone: no read of 0 needed */
		if ((size_t)n < want)
			break;
	}
	*text = b->buf;
	*len = b->len;
	rc = 0;
done:
	close(fd);
	return rc;
}

bool source_is_no_transaction(const char *text, size_t len)
{
	size_t n = strlen(STRATA_NO_TRANSACTION_DIRECTIVE);

	/* byte prefix, as sqlx's sql.starts_with("-- no-transaction") */
	return len >= n &&
	       memcmp(text, STRATA_NO_TRANSACTION_DIRECTIVE, n) == 0;
}

/*
 * Everything that can be wrong with one file on its own: its type, its
 * name, its size and its bytes. On success the entry is named and sound, with
 * its text in the arena, or only its checksum for a checksums-only load (which
 * reads no down file at all) and for an up file whose text is deferred.
 */
int source_check_entry(struct entry *e, struct reader *r,
                       struct strata_error *err)
{
	struct strata_error name_err = STRATA_ERROR_INIT;
	struct content *c;
	const char *text = NULL;
	size_t len = 0;

	/* a diesel down.sql deferred is looked for when it is read: a run
	 * that applies nothing does not look */
	if (e->is_probe && r->is_down_deferred && e->kind == KIND_DOWN) {
		e->is_sound = true;
		return 0;
	}
	/* not looked for: as if absent, which the caller takes as unknown */
	if (e->is_probe && r->is_down_lookup_skipped && e->kind == KIND_DOWN) {
		e->is_named = false;
		return 0;
	}
	if (e->is_probe) {
		int rc = source_probe_diesel(e, r, err);

		if (rc < 0)
			goto fail;
		if (rc > 0) {
			/* no such file: no entry */
			e->is_named = false;
			return 0;
		}
	}
	if (check_file_type(e, r, err) < 0) {
		struct strata_error ignored = STRATA_ERROR_INIT;

		/* named, its partner file is not reported as alone */
		source_parse_entry(e, r->arena, &ignored);
		strata_error_release(&ignored);
		goto fail;
	}
	if (e->is_flyway) {
		if (source_parse_flyway(e, r->arena, err) < 0)
			goto fail;
	} else if (!e->is_diesel &&
	           source_parse_entry(e, r->arena, &name_err) < 0) {
		/* dbmate's name, kept if the text is dbmate's: sqlx's error
		 * otherwise */
		if (!(r->layout == STRATA_LAYOUT_DBMATE ||
		      r->layout == STRATA_LAYOUT_AUTO) ||
		    source_parse_dbmate_name(e, r->arena) < 0) {
			error_move(err, &name_err);
			goto fail;
		}
	}
	if (e->is_flyway && e->kind != KIND_DOWN &&
	    source_read_flyway_conf(&e->is_flyway_no_transaction, e, err) < 0)
		goto fail;
	if ((r->is_checksums_only || r->is_down_deferred) &&
	    e->kind == KIND_DOWN) {
		e->is_sound = true;
		return 0;
	}
	if (read_entry(e, r, &text, &len, err) < 0)
		goto fail;
	if (check_text(e, text, len, r->layout, err) < 0) {
		strata_error_release(&name_err);
		return -1;
	}
	c = arena_alloc(r->scratch, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->len = len;
	c->is_no_transaction = source_is_no_transaction(text, len);
	/* "-- no-transaction" is sqlx's: Flyway reads NAME.conf */
	if (e->is_flyway) {
		const char *body = text, *sql;
		size_t body_len = len, sql_len;

		c->is_no_transaction = e->is_flyway_no_transaction;
		c->flyway_checksum = source_flyway_checksum(text, len);
		c->flyway_equivalent_checksum = c->flyway_checksum;
		/* Flyway's BomFilter: the server never sees a UTF-8 BOM */
		if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
			body += 3;
			body_len -= 3;
		}
		if (source_replace_flyway_placeholders(&sql, &sql_len, e, r,
		                                       body, body_len, err) < 0)
			return -1;
		/* SqlMigrationResolver: a repeatable's checksum is of its
		 * text once replaced (a new value runs it again), a
		 * versioned one's of the file; strata's own is the file's */
		if (sql != text) {
			if (e->is_repeatable && sql != body)
				c->flyway_checksum =
				        source_flyway_checksum(sql, sql_len);
			strata_checksum(c->checksum, text, len);
			c->len = sql_len;
			if (is_text_kept(e, r))
				c->text = sql != body
				                  ? sql
				                  : arena_strndup(r->arena, sql,
				                                  sql_len);
			e->content = c;
			e->is_sound = true;
			return 0;
		}
	}
	if (e->kind == KIND_SIMPLE && !e->is_diesel &&
	    (r->layout == STRATA_LAYOUT_DBMATE ||
	     (r->layout == STRATA_LAYOUT_AUTO &&
	      source_has_dbmate_marker(text, len))) &&
	    source_read_dbmate(c, e, text, len, err) < 0) {
		strata_error_release(&name_err);
		return -1;
	}
	if (e->is_dbmate_named && !c->is_dbmate) {
		error_move(err, &name_err);
		e->is_named = false;
		goto fail;
	}
	strata_error_release(&name_err);
	/* dbmate's checksum is of its up section, as the down's is no
	 * part of sqlx's either */
	if (e->kind != KIND_DOWN)
		strata_checksum(c->checksum, text,
		                c->is_dbmate ? c->down_at : len);
	if (is_text_kept(e, r) || (c->is_dbmate && !r->is_checksums_only))
		c->text = text == r->buf.buf
		                  ? arena_strndup(r->arena, text, len)
		                  : text;
	e->content = c;
	e->is_sound = true;
	return 0;
fail:
	strata_error_release(&name_err);
	/* a probe's descriptor the read never took */
	if (e->has_fd) {
		close(e->fd);
		e->has_fd = false;
	}
	if (!err->file)
		error_set_location(err, e->path, NULL, 0, 0);
	return -1;
}
