/*
 * The migration source: one directory of versioned SQL files, read the way
 * sqlx reads it (SPEC, Migration sources). The scan is not recursive; a
 * name is split at its first '_' into a VERSION (ASCII digits, an int64,
 * 0 included as sqlx reads it) and a description, whose suffix (".up.sql",
 * ".down.sql", ".sql") is trimmed as Rust's trim_end_matches() does and whose
 * '_' read as ' '.
 *
 * Where sqlx passes over a .sql file it cannot parse or silently accepts two
 * files of one version, strata refuses the whole source: every problem of
 * every file is collected (check_entry() for one file, check_version() for
 * the files of one version), and the first in file-name order is reported
 * with a count of the others, so the answer does not depend on readdir()'s
 * order. Nothing is returned from an invalid source.
 *
 * The other layouts of the SPEC (diesel, dbmate, Flyway...) are not read:
 * they are recognised only to be refused by name, since sqlx would pass
 * over them or run a dbmate file's down section as part of its up. This
 * file knows nothing of SQL: splitting and linting come later, from the
 * texts kept here.
 */
#define _GNU_SOURCE /* memmem() */
#include "engine/source.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/text.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_EXAMPLE "20250101120000_create_users.sql"

/* Threads reading files: system calls dominate a large source's load. */
#define MAX_READERS 4
/* below this many files one thread is as fast */
#define FILES_PER_READER 256

struct strata_source {
	struct arena arena; /* everything below, and the migrations' texts */
	/* what the other reader threads allocated (names, texts) */
	struct arena reader_arenas[MAX_READERS - 1];
	const char *dir;
	struct strata_migration *migrations; /* ascending version */
	size_t n;
};

enum kind {
	KIND_SIMPLE, /* V_d.sql */
	KIND_UP,     /* V_d.up.sql */
	KIND_DOWN,   /* V_d.down.sql */
};

/* One directory entry ending in ".sql"; all strings in the arena. */
struct entry {
	const char *name;
	const char *path; /* DIR/NAME */
	bool is_named;    /* the name parsed: version, kind, description hold */
	bool is_regular;  /* readdir() said so: no lstat() needed */
	bool is_sound;    /* read (unless skipped as a down file) and checked */
	enum kind kind;
	int64_t version;
	const char *description;
	struct content *content;  /* NULL until read */
	struct strata_error *err; /* what check_entry() found wrong, if any */
};

/* What reading a file learnt (apart: status reads no down file). */
struct content {
	const char *text; /* NULL when not kept */
	size_t len;
	unsigned char checksum[STRATA_CHECKSUM_LEN]; /* of an up file */
	bool is_no_transaction;
};

/* One thread's reading of the entries; each thread has its own. */
struct reader {
	struct arena *arena;   /* what the source keeps */
	struct arena *scratch; /* what the load needs no longer */
	int dir_fd;
	const char *root; /* realpath() of the directory, found when needed */
	const char *dir;
	size_t max;
	bool is_checksums_only;
	struct sbuf buf; /* scratch */
	struct entry **entries;
	size_t n;
	atomic_size_t *next; /* the next entry to take, shared */
};

/*
 * A problem found in the source, sorted by `key` (the first file name it
 * concerns) and then by the order it was found in.
 */
struct problem {
	const char *key;
	size_t seq;
	struct strata_error err;
};

struct problems {
	struct problem *v;
	size_t n, alloc;
};

/* Takes over `err` (leaving it empty). */
static void problems_add(struct problems *p, const char *key,
                         struct strata_error *err)
{
	struct problem *pr;

	XGROW(p->v, p->alloc, p->n + 1);
	pr = &p->v[p->n];
	pr->key = key;
	pr->seq = p->n;
	memset(&pr->err, 0, sizeof(pr->err));
	error_move(&pr->err, err);
	p->n++;
}

static void problems_release(struct problems *p)
{
	for (size_t i = 0; i < p->n; i++)
		strata_error_release(&p->v[i].err);
	free(p->v);
	p->v = NULL;
	p->n = p->alloc = 0;
}

static int cmp_problem(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void problems_copy_to(struct strata_problems *all,
                             const struct strata_error *e)
{
	struct strata_error *c;

	XGROW(all->items, all->alloc, all->count + 1);
	c = &all->items[all->count++];
	*c = *e;
	c->message = dup_or_null(e->message);
	c->detail = dup_or_null(e->detail);
	c->hint = dup_or_null(e->hint);
	c->file = dup_or_null(e->file);
	c->context = dup_or_null(e->context);
}

/*
 * Moves the first problem into `err`, the others counted in its detail;
 * with `all`, every problem is also copied there, in order.
 */
static int problems_report(struct problems *p, struct strata_problems *all,
                           struct strata_error *err)
{
	struct problem *first;
	size_t more;

	if (!p->n)
		BUG("no problem to report");
	more = p->n - 1;
	qsort(p->v, p->n, sizeof(*p->v), cmp_problem);
	for (size_t i = 0; all && i < p->n; i++)
		problems_copy_to(all, &p->v[i].err);
	first = &p->v[0];
	if (more) {
		const char *noun = more == 1 ? "problem" : "problems";
		char *old = first->err.detail;

		first->err.detail = NULL;
		strata_error_detail(&first->err,
		                    "%s%s%zu more %s in the source.",
		                    old ? old : "", old ? " " : "", more, noun);
		free(old);
	}
	error_move(err, &first->err);
	return -1;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static const char *kind_suffix(enum kind kind)
{
	switch (kind) {
	case KIND_SIMPLE:
		return ".sql";
	case KIND_UP:
		return ".up.sql";
	case KIND_DOWN:
		return ".down.sql";
	}
	BUG("unknown migration kind");
}

/* Fills `err` with a problem of `e`'s name; the detail says what. */
static int name_error(const struct entry *e, struct strata_error *err,
                      const char *fmt, ...) STRATA_PRINTF(3, 4);
static int name_error(const struct entry *e, struct strata_error *err,
                      const char *fmt, ...)
{
	struct sbuf why = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&why, fmt, ap);
	va_end(ap);
	strata_error_set(err, STRATA_EVALIDATE,
	                 "invalid migration file name '%s'", e->path);
	strata_error_detail(err, "%s", why.buf);
	strata_error_hint(
	        err,
	        "Name migrations VERSION_DESCRIPTION.sql, where VERSION is a number, for example '%s'.",
	        NAME_EXAMPLE);
	sbuf_release(&why);
	return -1;
}

/*
 * sqlx's parse of a name: VERSION '_' REST, the kind from REST's ending
 * (MigrationType::from_filename) and the description from REST with every
 * trailing copy of the suffix trimmed and '_' read as ' '.
 */
static int parse_name(struct entry *e, struct arena *arena,
                      struct strata_error *err)
{
	size_t name_len = strlen(e->name);
	const char *us = strchr(e->name, '_');
	const char *rest, *suffix;
	size_t rest_len;
	int digits;
	int64_t v = 0;
	char *desc;

	if (text_utf8_invalid_at(e->name, name_len) != name_len)
		return name_error(e, err, "The name is not valid UTF-8.");
	if (!us)
		return name_error(e, err,
		                  "The name has no '_' after the version.");
	if (us - e->name > INT_MAX)
		return name_error(e, err, "The version is too long.");
	digits = (int)(us - e->name);
	if (!digits)
		return name_error(
		        e, err,
		        "The name starts with '_': the version is missing.");
	for (int i = 0; i < digits; i++) {
		int d = e->name[i] - '0';

		if (d < 0 || d > 9)
			return name_error(e, err,
			                  "The version '%.*s' is not a number.",
			                  digits, e->name);
		if (v > (INT64_MAX - d) / 10)
			return name_error(
			        e, err,
			        "The version '%.*s' is larger than a 64-bit integer.",
			        digits, e->name);
		v = v * 10 + d;
	}

	rest = us + 1;
	rest_len = strlen(rest);
	if (has_suffix(rest, rest_len, ".up.sql"))
		e->kind = KIND_UP;
	else if (has_suffix(rest, rest_len, ".down.sql"))
		e->kind = KIND_DOWN;
	else
		e->kind = KIND_SIMPLE;
	suffix = kind_suffix(e->kind);
	while (has_suffix(rest, rest_len, suffix))
		rest_len -= strlen(suffix);
	desc = arena_strndup(arena, rest, rest_len);
	for (char *p = desc; *p; p++)
		if (*p == '_')
			*p = ' ';
	e->version = v;
	e->description = desc;
	e->is_named = true;
	return 0;
}

int source_parse_name(struct source_name *out, const char *name,
                      struct arena *arena, struct strata_error *err)
{
	struct entry e = { .name = name, .path = name };

	if (parse_name(&e, arena, err) < 0)
		return -1;
	out->version = e.version;
	out->description = e.description;
	out->suffix = kind_suffix(e.kind);
	return 0;
}

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
 * Links are followed only inside the source tree (SPEC): a link out of it
 * could make the history depend on files nobody reviews with the
 * migrations.
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
 * dbmate's marker, as its regexp `(?m)^--\s*migrate:(up|down)` finds it:
 * the offset of the first "-- migrate:KIND" line of `text`, or `len`.
 */
static size_t find_dbmate_marker(const char *text, size_t len, const char *kind)
{
	const char *p = text, *end = text + len;
	size_t klen = strlen(kind);

	while ((p = memmem(p, (size_t)(end - p), "migrate:", 8))) {
		const char *q = p;

		/* back over \s* (RE2's: space, \t, \n, \f, \r) to "--" */
		while (q > text && strchr(" \t\n\f\r", q[-1]) && q[-1])
			q--;
		if (q - text >= 2 && q[-1] == '-' && q[-2] == '-' &&
		    (q - 2 == text || q[-3] == '\n') &&
		    (size_t)(end - p) >= 8 + klen &&
		    memcmp(p + 8, kind, klen) == 0)
			return (size_t)(q - 2 - text);
		p += 8;
	}
	return len;
}

/*
 * A dbmate file holds its down section after its up section: read as sqlx
 * reads it, the whole file would run as the up, the down included.
 */
static int check_dbmate(const struct entry *e, const char *text, size_t len,
                        struct strata_error *err)
{
	size_t up = find_dbmate_marker(text, len, "up");
	size_t down = find_dbmate_marker(text, len, "down");
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
	        "Split it into VERSION_NAME.up.sql (the up section) and VERSION_NAME.down.sql (the down section), or apply it with dbmate.");
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

/* SPEC: migration files are UTF-8 without NUL bytes. */
static int check_text(const struct entry *e, const char *text, size_t len,
                      struct strata_error *err)
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
	return check_dbmate(e, text, len, err);
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
	int fd = openat(r->dir_fd, e->name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc = -1;

	if (fd < 0)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not open '%s': %s", e->path,
		                        strerror(errno));
	sbuf_reset(b);
	/* A text that is kept is read straight into the arena, sized by
	 * fstat(): a large file is then held once, not twice. */
	if (!r->is_checksums_only && fstat(fd, &st) == 0 &&
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
			        "Split the migration, or raise the limit with --max-file-size or max_file_size in strata.conf (such as 256MiB).");
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
 * reads no down file at all).
 */
static int check_entry(struct entry *e, struct reader *r,
                       struct strata_error *err)
{
	struct content *c;
	const char *text = NULL;
	size_t len = 0;

	if (check_file_type(e, r, err) < 0) {
		struct strata_error ignored = STRATA_ERROR_INIT;

		/* named, its partner file is not reported as alone */
		parse_name(e, r->arena, &ignored);
		strata_error_release(&ignored);
		goto fail;
	}
	if (parse_name(e, r->arena, err) < 0)
		goto fail;
	if (r->is_checksums_only && e->kind == KIND_DOWN) {
		e->is_sound = true;
		return 0;
	}
	if (read_entry(e, r, &text, &len, err) < 0)
		goto fail;
	if (check_text(e, text, len, err) < 0)
		return -1;
	c = arena_alloc(r->scratch, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->len = len;
	c->is_no_transaction = source_is_no_transaction(text, len);
	if (e->kind != KIND_DOWN)
		strata_checksum(c->checksum, text, len);
	if (!r->is_checksums_only)
		c->text = text == r->buf.buf
		                  ? arena_strndup(r->arena, text, len)
		                  : text;
	e->content = c;
	e->is_sound = true;
	return 0;
fail:
	if (!err->file)
		error_set_location(err, e->path, NULL, 0, 0);
	return -1;
}

/* "'a'", "'a' and 'b'", "'a', 'b' and 'c'" */
static void add_paths(struct sbuf *sb, struct entry **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_adds(sb, i + 1 == n ? " and " : ", ");
		sbuf_addf(sb, "'%s'", v[i]->path);
	}
}

static int duplicate_error(struct entry **v, size_t n, int64_t version,
                           const char *what, struct strata_error *err)
{
	struct sbuf sb = SBUF_INIT;

	add_paths(&sb, v, n);
	strata_error_set(err, STRATA_EVALIDATE,
	                 "duplicate %s for migration version %" PRId64 ": %s",
	                 what, version, sb.buf);
	strata_error_hint(
	        err,
	        "Give one of them a new version (strata new picks the next one).");
	error_set_location(err, v[1]->path, NULL, 0, 0);
	sbuf_release(&sb);
	return -1;
}

/*
 * The files of one version, each named and not skipped, sorted with
 * cmp_entry_version() (up files first, then down files, each by name): at
 * most one up file (plain or .up.sql), at most one down file, a down file
 * only beside its up file, and one description for both. An .up.sql
 * without its .down.sql is a migration that cannot be reverted, as sqlx
 * reads it. On success `out` is filled but for the texts.
 * `*key` receives the name a problem is filed under: the group's first.
 */
static int check_version(struct strata_migration *out, struct entry **group,
                         size_t n, const char **key, struct strata_error *err)
{
	size_t n_up = 0;
	struct entry *up, *down;

	*key = group[0]->name;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(group[i]->name, *key) < 0)
			*key = group[i]->name;
		if (group[i]->kind != KIND_DOWN)
			n_up++;
	}
	if (n_up > 1)
		return duplicate_error(group, n_up, group[0]->version,
		                       "up files", err);
	if (n - n_up > 1)
		return duplicate_error(group + n_up, n - n_up,
		                       group[0]->version, "down files", err);
	up = n_up ? group[0] : NULL;
	down = n_up < n ? group[n_up] : NULL;
	if (!up) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "down file '%s' has no up file", down->path);
		strata_error_hint(
		        err,
		        "Add its up file (the same name ending in .up.sql or .sql), or remove it.");
		error_set_location(err, down->path, NULL, 0, 0);
		return -1;
	}
	if (down && strcmp(up->description, down->description) != 0) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "up file '%s' and down file '%s' differ in description",
		        up->path, down->path);
		strata_error_hint(err,
		                  "Name both files alike but for the ending.");
		error_set_location(err, down->path, NULL, 0, 0);
		return -1;
	}

	memset(out, 0, sizeof(*out));
	out->version = up->version;
	out->description = up->description;
	out->up_path = up->path;
	out->down_path = down ? down->path : NULL;
	out->is_reversible_pair = up->kind == KIND_UP;
	return 0;
}

static void fill_texts(struct strata_migration *m, const struct entry *up,
                       const struct entry *down)
{
	m->up_sql = up->content->text;
	m->up_len = up->content->len;
	memcpy(m->checksum, up->content->checksum, sizeof(m->checksum));
	m->is_no_transaction = up->content->is_no_transaction;
	if (down && down->content) {
		m->down_sql = down->content->text;
		m->down_len = down->content->len;
		m->is_down_no_transaction = down->content->is_no_transaction;
	}
}

/* By version, up files before down files, then by name. */
static int cmp_entry_version(const void *a, const void *b)
{
	const struct entry *const *x = a, *const *y = b;
	bool x_down = (*x)->kind == KIND_DOWN, y_down = (*y)->kind == KIND_DOWN;

	if ((*x)->version != (*y)->version)
		return (*x)->version < (*y)->version ? -1 : 1;
	if (x_down != y_down)
		return x_down ? 1 : -1;
	return strcmp((*x)->name, (*y)->name);
}

static char *join_path(struct arena *arena, const char *dir, size_t dir_len,
                       const char *name, size_t name_len)
{
	bool has_slash = dir_len && dir[dir_len - 1] == '/';
	char *p = arena_alloc(arena, dir_len + 1 + name_len + 1), *q = p;

	memcpy(q, dir, dir_len);
	q += dir_len;
	if (!has_slash)
		*q++ = '/';
	memcpy(q, name, name_len + 1);
	return p;
}

/*
 * Entries that strata does not read but that look like migrations of
 * another layout (SPEC, Migration sources): sqlx passes over them, so a
 * folder of them would be reported up to date, or some of a mixed folder's
 * migrations would never run. Each is an error; a hidden entry, or a
 * directory holding no file named like a migration (shared SQL that
 * migrations link to, seeds), is clearly no migration.
 */
enum alien_kind {
	ALIEN_DIESEL, /* VERSION_NAME/up.sql */
	ALIEN_FLYWAY, /* V1__x.sql, U1__x.sql, R__x.sql */
	ALIEN_DIR,    /* a directory named like a migration or holding one */
	ALIEN_NAME,   /* a file named like a migration, not ending in .sql */
};

struct alien {
	enum alien_kind kind;
	const char *name, *path;
};

struct aliens {
	struct alien *v;
	size_t n, alloc;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Flyway's default prefixes: V<ver>__, U<ver>__ (ver: digits, '.', '_'), R__ */
static bool is_flyway_name(const char *s)
{
	if (s[0] == 'R')
		return s[1] == '_' && s[2] == '_';
	if ((s[0] != 'V' && s[0] != 'U') || !is_digit(s[1]))
		return false;
	for (size_t i = 1; is_digit(s[i]) || s[i] == '.' || s[i] == '_'; i++)
		if (s[i] == '_' && s[i + 1] == '_')
			return true;
	return false;
}

/* VERSION_...: digits, and for diesel's 2023-01-01-000000 dashes too */
static bool is_versioned(const char *s, bool is_dash_ok)
{
	size_t i = 0;

	while (is_digit(s[i]) || (is_dash_ok && i && s[i] == '-'))
		i++;
	return i && s[i] == '_';
}

/*
 * A file named VERSION_... that sqlx would pass over: ".SQL", or
 * golang-migrate's NAME.up.EXT / NAME.down.EXT with another extension.
 */
static bool is_alien_file_name(const char *s, size_t len)
{
	const char *dot = strrchr(s, '.');

	if (!is_versioned(s, false) || !dot || !dot[1])
		return false;
	if (len >= 4 && strcasecmp(s + len - 4, ".sql") == 0)
		return true;
	return has_suffix(s, (size_t)(dot - s), ".up") ||
	       has_suffix(s, (size_t)(dot - s), ".down");
}

/*
 * What the subdirectory `name` of `fd` holds: diesel's files, .sql files
 * named like sqlx's or Flyway's migrations.
 */
static void scan_subdir(int fd, const char *name, bool *has_diesel,
                        bool *has_migration)
{
	int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = sub < 0 ? NULL : fdopendir(sub);
	struct dirent *de;

	*has_diesel = *has_migration = false;
	if (!d) {
		if (sub >= 0)
			close(sub);
		return; /* unreadable: judged by its name alone */
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!strcmp(de->d_name, "up.sql") ||
		    !strcmp(de->d_name, "down.sql"))
			*has_diesel = true;
		else if (has_suffix(de->d_name, strlen(de->d_name), ".sql") &&
		         (is_versioned(de->d_name, false) ||
		          is_flyway_name(de->d_name)))
			*has_migration = true;
	}
	closedir(d);
}

/* Whether the entry `de` (not ending in ".sql") is an alien, and which. */
static bool classify_alien(enum alien_kind *out, int fd,
                           const struct dirent *de)
{
	const char *name = de->d_name;
	bool has_diesel, has_migration;
	struct stat st;

	if (de->d_type == DT_REG)
		return (*out = ALIEN_NAME,
		        is_alien_file_name(name, strlen(name)));
	if (de->d_type != DT_DIR && de->d_type != DT_LNK &&
	    de->d_type != DT_UNKNOWN)
		return false;
	if (fstatat(fd, name, &st, 0) < 0)
		return false; /* a dangling link: no file to pass over */
	if (S_ISREG(st.st_mode))
		return (*out = ALIEN_NAME,
		        is_alien_file_name(name, strlen(name)));
	if (!S_ISDIR(st.st_mode))
		return false;
	scan_subdir(fd, name, &has_diesel, &has_migration);
	*out = has_diesel ? ALIEN_DIESEL : ALIEN_DIR;
	return has_diesel || has_migration || is_versioned(name, true);
}

static void aliens_add(struct aliens *a, enum alien_kind kind, const char *name,
                       const char *path)
{
	XGROW(a->v, a->alloc, a->n + 1);
	a->v[a->n].kind = kind;
	a->v[a->n].name = name;
	a->v[a->n].path = path;
	a->n++;
}

/*
 * One problem per diesel or Flyway folder (the first entry in name order
 * and how many there are: hundreds of errors would say less), one per
 * other alien.
 */
static void report_aliens(struct problems *problems, const struct aliens *a,
                          const char *dir)
{
	const struct alien *first[2] = { NULL, NULL };
	size_t count[2] = { 0, 0 };

	for (size_t i = 0; i < a->n; i++) {
		const struct alien *x = &a->v[i];
		struct strata_error e = STRATA_ERROR_INIT;

		if (x->kind == ALIEN_DIESEL || x->kind == ALIEN_FLYWAY) {
			count[x->kind]++;
			if (!first[x->kind] ||
			    strcmp(x->name, first[x->kind]->name) < 0)
				first[x->kind] = x;
			continue;
		}
		if (x->kind == ALIEN_DIR) {
			strata_error_set(
			        &e, STRATA_EVALIDATE,
			        "directory '%s' looks like a migration, which strata does not read",
			        x->path);
			strata_error_detail(
			        &e,
			        "It is named VERSION_NAME or holds files named like migrations, but strata reads the files of the migration directory, not its subdirectories.");
			strata_error_hint(
			        &e,
			        "Move it out of the migration directory, or rename it to start with '.' to keep it there unread.");
		} else {
			strata_error_set(
			        &e, STRATA_EVALIDATE,
			        "'%s' is named like a migration but does not end in '.sql'",
			        x->path);
			strata_error_detail(
			        &e,
			        "strata reads only names ending in '.sql', as sqlx does, and would pass over this one.");
			strata_error_hint(
			        &e,
			        "Rename it to end in .sql (or .up.sql and .down.sql), or move it out of the migration directory.");
		}
		error_set_location(&e, x->path, NULL, 0, 0);
		problems_add(problems, x->name, &e);
	}
	if (first[ALIEN_DIESEL]) {
		struct strata_error e = STRATA_ERROR_INIT;

		strata_error_set(
		        &e, STRATA_EVALIDATE,
		        "'%s' holds diesel migrations, which strata does not read",
		        dir);
		strata_error_detail(
		        &e,
		        "'%s' is one of %zu such directories: diesel keeps each migration in a directory VERSION_NAME holding up.sql and down.sql, where strata reads sqlx's layout, one VERSION_NAME.sql file (or .up.sql and .down.sql) per migration.",
		        first[ALIEN_DIESEL]->path, count[ALIEN_DIESEL]);
		strata_error_hint(
		        &e,
		        "Apply them with diesel, or move each directory's up.sql to VERSION_NAME.up.sql and its down.sql to VERSION_NAME.down.sql, VERSION in digits alone (2023-01-01-000000 becomes 20230101000000).");
		error_set_location(&e, first[ALIEN_DIESEL]->path, NULL, 0, 0);
		problems_add(problems, first[ALIEN_DIESEL]->name, &e);
	}
	if (first[ALIEN_FLYWAY]) {
		struct strata_error e = STRATA_ERROR_INIT;

		strata_error_set(
		        &e, STRATA_EVALIDATE,
		        "'%s' holds Flyway migrations, which strata does not read",
		        dir);
		strata_error_detail(
		        &e,
		        "'%s' is one of %zu such files: Flyway names them V<VERSION>__<DESCRIPTION>.sql (U for undo, R__ for repeatable), where strata reads sqlx's <VERSION>_<DESCRIPTION>.sql.",
		        first[ALIEN_FLYWAY]->path, count[ALIEN_FLYWAY]);
		strata_error_hint(
		        &e,
		        "Apply them with Flyway, or rename each V file to <VERSION>_<DESCRIPTION>.sql and each U file to <VERSION>_<DESCRIPTION>.down.sql, VERSION in digits alone; repeatable migrations have no equivalent.");
		error_set_location(&e, first[ALIEN_FLYWAY]->path, NULL, 0, 0);
		problems_add(problems, first[ALIEN_FLYWAY]->name, &e);
	}
}

/*
 * The ".sql" entries of `dir`, in readdir()'s order (problems are sorted
 * when reported, migrations by version), in `*out` (caller frees);
 * `*dir_fd` stays open on the directory for reading them. The entries are
 * in `scratch`, their paths (which the migrations keep) in `keep`.
 */
static int list_dir(struct entry ***out, size_t *out_n, int *dir_fd,
                    struct aliens *aliens, struct arena *scratch,
                    struct arena *keep, const char *dir,
                    struct strata_error *err)
{
	struct entry **v = NULL;
	size_t n = 0, alloc = 0, dir_len = strlen(dir);
	struct dirent *de;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		strata_error_set(err, STRATA_EFAILED,
		                 "could not open migration directory '%s': %s",
		                 dir, strerror(e));
		if (e == ENOENT || e == ENOTDIR)
			strata_error_hint(
			        err,
			        "Create it (strata new does), or pass --source with the directory that holds the migrations.");
		return -1;
	}
	for (;;) {
		struct entry *e;
		size_t len;

		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		len = strlen(de->d_name);
		/* Hidden names (editor lock files such as ".#1_x.sql") can
		 * never be migrations: sqlx would reject them as unparsable. */
		if (de->d_name[0] == '.')
			continue;
		if (!has_suffix(de->d_name, len, ".sql") ||
		    is_flyway_name(de->d_name)) {
			enum alien_kind kind = ALIEN_FLYWAY;

			if (is_flyway_name(de->d_name) ||
			    classify_alien(&kind, fd, de)) {
				const char *path = join_path(keep, dir, dir_len,
				                             de->d_name, len);

				aliens_add(aliens, kind,
				           path + strlen(path) - len, path);
			}
			continue;
		}
		e = arena_alloc(scratch, sizeof(*e));
		memset(e, 0, sizeof(*e));
		e->path = join_path(keep, dir, dir_len, de->d_name, len);
		e->name = e->path + strlen(e->path) - len;
		e->is_regular = de->d_type == DT_REG;
		XGROW(v, alloc, n + 1);
		v[n++] = e;
	}
	if (errno) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not read migration directory '%s': %s",
		                 dir, strerror(errno));
		closedir(d);
		free(v);
		return -1;
	}
	*dir_fd = dup(dirfd(d));
	closedir(d);
	if (*dir_fd < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not read migration directory '%s': %s",
		                 dir, strerror(errno));
		free(v);
		return -1;
	}
	*out = v;
	*out_n = n;
	return 0;
}

/*
 * Checks the versions of the named entries and, when nothing at all is
 * wrong, builds the migration array. Entries are reordered.
 */
/* Whether every file of a version was read and found sound. */
static bool is_group_sound(struct entry **group, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!group[i]->is_sound)
			return false;
	return true;
}

/*
 * The migrations of the sound versions. Once any problem is known only a
 * lenient load (validate) keeps building, to check the rest's SQL.
 */
static void build_migrations(struct strata_source *src, struct entry **v,
                             size_t n, struct problems *problems,
                             bool is_lenient)
{
	struct strata_migration *ms;
	size_t n_named = 0, n_ms = 0, n_versions = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i]->is_named)
			v[n_named++] = v[i];
	if (n_named)
		qsort(v, n_named, sizeof(*v), cmp_entry_version);
	for (size_t i = 0; i < n_named; i++)
		n_versions += !i || v[i]->version != v[i - 1]->version;
	ms = arena_alloc(&src->arena,
	                 (n_versions ? n_versions : 1) * sizeof(*ms));
	for (size_t i = 0; i < n_named;) {
		struct strata_error perr = STRATA_ERROR_INIT;
		struct strata_migration *m = &ms[n_ms];
		const char *key;
		size_t j = i + 1;

		while (j < n_named && v[j]->version == v[i]->version)
			j++;
		if (check_version(m, v + i, j - i, &key, &perr) < 0) {
			problems_add(problems, key, &perr);
		} else if (is_lenient ? is_group_sound(v + i, j - i)
		                      : !problems->n) {
			fill_texts(m, v[i], j - i > 1 ? v[i + 1] : NULL);
			n_ms++;
		}
		i = j;
	}
	src->migrations = ms;
	src->n = n_ms;
}

static void *reader_run(void *arg)
{
	struct reader *r = arg;

	for (;;) {
		size_t i = atomic_fetch_add(r->next, 1);

		if (i >= r->n)
			break;
		struct strata_error err = STRATA_ERROR_INIT;

		if (check_entry(r->entries[i], r, &err) < 0) {
			r->entries[i]->err = xmalloc(sizeof(err));
			*r->entries[i]->err = err;
		}
	}
	return NULL;
}

/*
 * check_entry() for every entry, on up to MAX_READERS threads taking the
 * next entry in turn; what each found stays in the entry, so the problems
 * come out in the same order whichever thread read which file.
 */
static void read_entries(struct strata_source *src, struct reader *r,
                         struct arena scratch[MAX_READERS - 1],
                         struct entry **entries, size_t n)
{
	struct reader others[MAX_READERS - 1];
	pthread_t threads[MAX_READERS - 1];
	atomic_size_t next = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n_threads = n / FILES_PER_READER, started = 0;

	if (n_threads > (size_t)(cpus > 0 ? cpus : 1))
		n_threads = (size_t)(cpus > 0 ? cpus : 1);
	if (n_threads > MAX_READERS)
		n_threads = MAX_READERS;
	r->entries = entries;
	r->n = n;
	r->next = &next;
	for (size_t t = 0; t + 1 < n_threads; t++) {
		others[t] = *r;
		others[t].arena = &src->reader_arenas[t];
		others[t].scratch = &scratch[t];
		others[t].root = NULL;
		others[t].buf = (struct sbuf)SBUF_INIT;
		/* without a thread the others are read here: nothing lost */
		if (cancel_thread_create(&threads[t], reader_run, &others[t]))
			break;
		started++;
	}
	reader_run(r);
	for (size_t t = 0; t < started; t++) {
		pthread_join(threads[t], NULL);
		sbuf_release(&others[t].buf);
	}
}

static struct strata_source *source_new(const char *dir)
{
	struct strata_source *src = xcalloc(1, sizeof(*src));

	src->dir = arena_strdup(&src->arena, dir);
	return src;
}

int strata_source_load(struct strata_source **out, const char *dir,
                       const struct strata_source_options *opts,
                       struct strata_error *err)
{
	struct strata_source *src = source_new(dir);
	struct reader r = {
		.arena = &src->arena,
		.dir_fd = -1,
		.dir = dir,
		.max = opts && opts->max_file_size
		               ? opts->max_file_size
		               : STRATA_DEFAULT_MAX_FILE_SIZE,
		.is_checksums_only = opts && opts->is_checksums_only,
		.buf = SBUF_INIT,
	};
	struct problems problems = { NULL, 0, 0 };
	struct aliens aliens = { NULL, 0, 0 };
	/* the entries and what was read of them: gone once loaded */
	struct arena scratch = ARENA_INIT, reader_scratch[MAX_READERS - 1];
	struct entry **entries = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	memset(reader_scratch, 0, sizeof(reader_scratch));
	r.scratch = &scratch;
	if (list_dir(&entries, &n, &r.dir_fd, &aliens, &scratch, &src->arena,
	             dir, err) < 0)
		goto done;
	report_aliens(&problems, &aliens, dir);
	read_entries(src, &r, reader_scratch, entries, n);
	for (size_t i = 0; i < n; i++)
		if (entries[i]->err) {
			problems_add(&problems, entries[i]->name,
			             entries[i]->err);
			free(entries[i]->err);
		}
	build_migrations(src, entries, n, &problems,
	                 opts && opts->is_lenient && opts->problems);
	if (problems.n) {
		problems_report(&problems, opts ? opts->problems : NULL, err);
		if (!(opts && opts->is_lenient && opts->problems))
			goto done;
		strata_error_release(err);
	}
	if (!src->n && !problems.n && !(opts && opts->is_empty_ok)) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "'%s' holds no migration", dir);
		strata_error_detail(
		        err,
		        "Migrations are files named VERSION_DESCRIPTION.sql (or .up.sql and .down.sql); a folder without any would report any database up to date.");
		strata_error_hint(
		        err,
		        "Create the first migration in it (strata new does), or pass --source with the directory that holds the migrations.");
		goto done;
	}
	*out = src;
	src = NULL;
	rc = 0;
done:
	strata_source_free(src);
	problems_release(&problems);
	free(aliens.v);
	sbuf_release(&r.buf);
	free(entries);
	arena_release(&scratch);
	for (size_t t = 0; t < MAX_READERS - 1; t++)
		arena_release(&reader_scratch[t]);
	if (r.dir_fd >= 0)
		close(r.dir_fd);
	return rc;
}

void strata_source_free(struct strata_source *src)
{
	if (!src)
		return;
	arena_release(&src->arena);
	for (size_t t = 0; t < MAX_READERS - 1; t++)
		arena_release(&src->reader_arenas[t]);
	free(src);
}

struct strata_source *source_new_built(const char *dir,
                                       struct arena **out_arena)
{
	struct strata_source *src = source_new(dir);

	*out_arena = &src->arena;
	return src;
}

void source_set_migrations(struct strata_source *src,
                           struct strata_migration *ms, size_t n)
{
	src->migrations = ms;
	src->n = n;
}

const char *strata_source_dir(const struct strata_source *src)
{
	return src->dir;
}

size_t strata_source_count(const struct strata_source *src)
{
	return src->n;
}

const struct strata_migration *strata_source_at(const struct strata_source *src,
                                                size_t i)
{
	assert(i < src->n);
	return &src->migrations[i];
}

const struct strata_migration *
strata_source_find(const struct strata_source *src, int64_t version)
{
	size_t lo = 0, hi = src->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t v = src->migrations[mid].version;

		if (v == version)
			return &src->migrations[mid];
		if (v < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
