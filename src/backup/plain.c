/*
 * Dumps that come without a manifest: what they are is read from their
 * first bytes, never from their names (a `.sql` may hold a custom
 * archive, a `.gz` plain SQL). SQL text is checked to its end before
 * anything runs, since psql runs it statement by statement and a
 * refusal halfway would come too late: zlib reads it (gzip or not, the
 * gzip trailer's CRC and length checked), a small scanner follows its
 * quotes, comments, dollar-quoted bodies and COPY data, and looks at the
 * start of each statement. It does not parse SQL: what it refuses is
 * what cannot be part of one all-or-nothing transaction, and psql (or
 * SQLite) judges the rest when it runs.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/error.h"
#include "backup/plain.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD_MAX 48
#define TAIL_MAX 16

/* ---- what a file is ------------------------------------------------------ */

static int read_start(unsigned char *buf, size_t size, size_t *got,
                      const char *path, struct strata_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*got = 0;
	if (fd < 0)
		return strata_error_set(err, STRATA_EVALIDATE,
		                        "could not open '%s': %s", path,
		                        strerror(errno));
	do
		n = read(fd, buf, size);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return strata_error_set(err, STRATA_EVALIDATE,
		                        "could not read '%s': %s", path,
		                        strerror(errno));
	*got = (size_t)n;
	return 0;
}

static bool starts_with(const unsigned char *p, size_t n, const char *magic,
                        size_t m)
{
	return n >= m && memcmp(p, magic, m) == 0;
}

int plain_describe(struct strata_backup *b, struct strata_error *err)
{
	static const char sqlite_magic[] = "SQLite format 3";
	unsigned char raw[64], inner[64];
	struct sbuf toc = SBUF_INIT;
	struct stat st;
	size_t n = 0, m = 0;
	gzFile gz;
	int rc = -1;

	b->format = STRATA_BACKUP_FORMAT_PLAIN;
	if (stat(b->path, &st) < 0) {
		strata_error_set(err, STRATA_EVALIDATE, "no backup '%s': %s",
		                 b->path, strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		sbuf_addf(&toc, "%s/toc.dat", b->path);
		if (access(toc.buf, R_OK) != 0) {
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "directory '%s' is not a pg_dump directory-format dump: it has no readable toc.dat",
			        b->path);
			goto done;
		}
		b->format = STRATA_BACKUP_FORMAT_DIRECTORY;
		b->driver = xstrdup("postgres");
		rc = 0;
		goto done;
	}
	if (read_start(raw, sizeof(raw), &n, b->path, err) < 0)
		goto done;
	if (n == 0) {
		strata_error_set(err, STRATA_EVALIDATE, "'%s' is empty",
		                 b->path);
		strata_error_hint(
		        err,
		        "A dump that was never written (pg_dump failed, or the disk was full) leaves an empty file: use another one.");
		goto done;
	}
	if (starts_with(raw, n, "\x1f\x8b", 2)) {
		b->is_gzip = true;
		gz = gzopen(b->path, "rb");
		if (gz) {
			int r = gzread(gz, inner, sizeof(inner));

			m = r > 0 ? (size_t)r : 0;
			gzclose(gz);
		}
		if (starts_with(inner, m, "PGDMP", 5) ||
		    starts_with(inner, m, sqlite_magic, sizeof(sqlite_magic))) {
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "'%s' is a gzip-compressed %s: restore it uncompressed",
			        b->path,
			        inner[0] == 'P'
			                ? "pg_dump custom-format archive"
			                : "SQLite database");
			strata_error_hint(err,
			                  "gunzip it first (gzip -dk '%s').",
			                  b->path);
			goto done;
		}
	} else if (starts_with(raw, n, "PGDMP", 5)) {
		b->format = STRATA_BACKUP_FORMAT_CUSTOM;
		b->driver = xstrdup("postgres");
	} else if (starts_with(raw, n, sqlite_magic, sizeof(sqlite_magic))) {
		b->format = STRATA_BACKUP_FORMAT_CUSTOM;
		b->driver = xstrdup("sqlite");
	} else if (memchr(raw, '\0', n)) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "'%s' is neither SQL text nor a dump strata knows",
		        b->path);
		strata_error_hint(
		        err,
		        "strata restores pg_dump's plain (optionally gzip'd), custom and directory formats, and SQLite databases and their .dump.");
		goto done;
	}
	rc = 0;
done:
	sbuf_release(&toc);
	return rc;
}

/* ---- reading SQL text ---------------------------------------------------- */

int plain_reader_open(struct plain_reader *r, const char *path,
                      struct strata_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	r->path = path;
	r->failure = (struct sbuf)SBUF_INIT;
	r->gz = fd < 0 ? NULL : gzdopen(fd, "rb");
	if (!r->gz) {
		if (fd >= 0)
			close(fd);
		return strata_error_set(err, STRATA_EVALIDATE,
		                        "could not open '%s': %s", path,
		                        strerror(errno));
	}
	gzbuffer(r->gz, 256 * 1024);
	return 0;
}

/* What zlib says went wrong: "unexpected end of file", or errno's. */
static const char *gz_why(gzFile gz)
{
	int code = Z_OK;
	const char *msg = gzerror(gz, &code);

	return code == Z_ERRNO ? strerror(errno) : msg;
}

ssize_t plain_reader_feed(void *data, char *buf, size_t size)
{
	struct plain_reader *r = data;
	int n = gzread(r->gz, buf,
	               size > INT32_MAX ? INT32_MAX : (unsigned)size);

	if (n < 0) {
		sbuf_addf(&r->failure, "could not read '%s': %s", r->path,
		          gz_why(r->gz));
		return -1;
	}
	return n;
}

void plain_reader_close(struct plain_reader *r)
{
	if (r->gz)
		gzclose(r->gz);
	r->gz = NULL;
	sbuf_release(&r->failure);
}

int plain_read_all(struct sbuf *out, const char *path, struct strata_error *err)
{
	struct plain_reader r;
	char *buf = xmalloc(256 * 1024);
	ssize_t n;
	int rc = -1;

	if (plain_reader_open(&r, path, err) < 0)
		goto done;
	while ((n = plain_reader_feed(&r, buf, 256 * 1024)) > 0)
		sbuf_add(out, buf, (size_t)n);
	if (n < 0) {
		strata_error_set(err, STRATA_EVALIDATE, "%s", r.failure.buf);
		goto done;
	}
	rc = 0;
done:
	plain_reader_close(&r);
	free(buf);
	return rc;
}

/* ---- the check ----------------------------------------------------------- */

enum scan_state {
	S_NORMAL,
	S_BLOCK_COMMENT,
	S_SQUOTE,
	S_ESTRING,
	S_DQUOTE,
	S_DOLLAR,
	S_COPY, /* COPY ... FROM stdin data, up to a line "\." */
};

struct scan {
	const char *path;
	bool is_pg;
	enum scan_state st;
	int depth;               /* of nested block comments */
	struct sbuf tag;         /* the open dollar quote's "$tag$" */
	char head[HEAD_MAX + 1]; /* the statement's start, upper case, one
	                            space for each run of white space */
	size_t head_len;
	char tail[TAIL_MAX + 1]; /* its last characters, likewise */
	size_t tail_len;
	int64_t line, stmt_line, open_line;
	bool in_stmt;
	bool is_pg_dump, is_complete;
	size_t n_statements;
};

static void add_norm(struct scan *s, char c)
{
	c = isspace((unsigned char)c) ? ' ' : (char)toupper((unsigned char)c);
	if (c == ' ' &&
	    (!s->in_stmt || (s->tail_len && s->tail[s->tail_len - 1] == ' ')))
		return;
	if (!s->in_stmt) {
		s->in_stmt = true;
		s->stmt_line = s->line;
	}
	if (s->head_len < HEAD_MAX)
		s->head[s->head_len++] = c;
	if (s->tail_len == TAIL_MAX) {
		memmove(s->tail, s->tail + 1, TAIL_MAX - 1);
		s->tail_len--;
	}
	s->tail[s->tail_len++] = c;
}

/* Whether the statement starts with the words `w` (then ends or goes on). */
static bool head_is(const struct scan *s, const char *w)
{
	size_t n = strlen(w);

	return s->head_len >= n && memcmp(s->head, w, n) == 0 &&
	       (s->head_len == n || s->head[n] == ' ' || s->head[n] == ';');
}

static const char *const outside_txn[] = {
	"CREATE DATABASE",
	"DROP DATABASE",
	"CREATE TABLESPACE",
	"DROP TABLESPACE",
	"ALTER SYSTEM",
	"VACUUM",
	"CREATE INDEX CONCURRENTLY",
	"CREATE UNIQUE INDEX CONCURRENTLY",
	"DROP INDEX CONCURRENTLY",
	"REINDEX DATABASE",
	"REINDEX SYSTEM",
	"CREATE SUBSCRIPTION",
};

static const char *const txn_control[] = {
	"BEGIN",    "START TRANSACTION",   "COMMIT", "END", "ABORT",
	"ROLLBACK", "PREPARE TRANSACTION",
};

static int refuse_cluster(struct scan *s, const char *what, int64_t line,
                          struct strata_error *err)
{
	strata_error_set(
	        err, STRATA_EVALIDATE,
	        "'%s' line %" PRId64
	        ": %s cannot run inside the one transaction a restore runs in",
	        s->path, line, what);
	strata_error_detail(
	        err,
	        "It comes from pg_dumpall or pg_dump --create, which dump a database together with the statements that create and connect to it. Nothing was run.");
	return strata_error_hint(
	        err,
	        "Dump the one database without --create (pg_dump -d NAME > FILE) and restore that; or run this file with psql yourself.");
}

/* The statement that has just ended (at its ';'). */
static int end_statement(struct scan *s, struct strata_error *err)
{
	s->head[s->head_len] = '\0';
	s->tail[s->tail_len] = '\0';
	s->n_statements++;
	if (s->is_pg) {
		for (size_t i = 0; i < ARRAY_SIZE(outside_txn); i++) {
			if (!head_is(s, outside_txn[i]))
				continue;
			if (i < 2)
				return refuse_cluster(s, outside_txn[i],
				                      s->stmt_line, err);
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "'%s' line %" PRId64
			        ": %s cannot run inside the one transaction a restore runs in",
			        s->path, s->stmt_line, outside_txn[i]);
			return strata_error_hint(
			        err,
			        "Remove it from the file (run it after the restore), then restore again. Nothing was run.");
		}
		for (size_t i = 0; i < ARRAY_SIZE(txn_control); i++) {
			if (!head_is(s, txn_control[i]))
				continue;
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "'%s' line %" PRId64
			        ": %s would break the one transaction the restore runs in",
			        s->path, s->stmt_line, txn_control[i]);
			strata_error_detail(
			        err,
			        "What came before it would stay even if what follows failed. Nothing was run.");
			return strata_error_hint(
			        err,
			        "Remove the file's own transaction statements (pg_dump writes BEGIN and COMMIT around large objects: dump with --no-large-objects, or in custom format), then restore again.");
		}
	}
	if (head_is(s, "COPY") && s->tail_len >= 10 &&
	    !memcmp(s->tail + s->tail_len - 10, "FROM STDIN", 10)) {
		s->st = S_COPY;
		s->open_line = s->stmt_line;
	}
	s->head_len = s->tail_len = 0;
	s->in_stmt = false;
	return 0;
}

/* A psql meta-command at `p` (its backslash): only pg_dump's own. */
static int meta_command(struct scan *s, const char *p, struct strata_error *err)
{
	size_t n = strcspn(p, " \t\r\n");

	if ((n == 9 && !memcmp(p, "\\restrict", 9)) ||
	    (n == 11 && !memcmp(p, "\\unrestrict", 11)))
		return 0;
	if ((n == 8 && !memcmp(p, "\\connect", 8)) ||
	    (n == 2 && !memcmp(p, "\\c", 2)))
		return refuse_cluster(s, "\\connect", s->line, err);
	strata_error_set(err, STRATA_EVALIDATE,
	                 "'%s' line %" PRId64
	                 ": psql meta-command '%.*s' is not restored",
	                 s->path, s->line, (int)(n > 32 ? 32 : n), p);
	strata_error_detail(
	        err,
	        "A dump holds SQL (and pg_dump's \\restrict); a meta-command may run programs or write files. Nothing was run.");
	return strata_error_hint(
	        err,
	        "Remove it from the file, or run the file with psql yourself.");
}

/* One line of the text, with its '\n' when it has one. */
static int scan_line(struct scan *s, const char *p, size_t len,
                     struct strata_error *err)
{
	s->line++;
	if (s->st == S_COPY) {
		if ((len == 2 || (len == 3 && p[2] == '\n') ||
		     (len == 4 && p[2] == '\r' && p[3] == '\n')) &&
		    p[0] == '\\' && p[1] == '.')
			s->st = S_NORMAL;
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = p[i], next = i + 1 < len ? p[i + 1] : '\0';

		switch (s->st) {
		case S_NORMAL:
			if (c == '-' && next == '-') {
				/* pg_dump's banners say whether it is complete
				 */
				if (!s->in_stmt && i == 0) {
					if (len >= 27 &&
					    !memcmp(p,
					            "-- PostgreSQL database dump",
					            27)) {
						s->is_pg_dump = true;
						s->is_complete |=
						        len >= 36 &&
						        !memcmp(p + 27,
						                " complete", 9);
					}
					if (len >= 35 &&
					    !memcmp(p,
					            "-- PostgreSQL database cluster dump",
					            35)) {
						strata_error_set(
						        err, STRATA_EVALIDATE,
						        "'%s' is pg_dumpall's dump of a whole cluster, which cannot be restored into one database",
						        s->path);
						strata_error_detail(
						        err,
						        "It creates roles and databases and connects to each. Nothing was run.");
						return strata_error_hint(
						        err,
						        "Dump the one database (pg_dump -d NAME > FILE) and restore that; or run this file with psql yourself.");
					}
				}
				return 0;
			}
			if (c == '/' && next == '*') {
				s->st = S_BLOCK_COMMENT;
				s->depth = 1;
				i++;
			} else if (c == '\\' && s->is_pg) {
				return meta_command(s, p + i, err);
			} else if (c == '\'') {
				/* E'...': backslash escapes, whatever
				 * standard_conforming_strings says */
				bool is_e =
				        i > 0 &&
				        (p[i - 1] == 'E' || p[i - 1] == 'e') &&
				        (i == 1 ||
				         !(isalnum((unsigned char)p[i - 2]) ||
				           p[i - 2] == '_'));

				s->st = is_e ? S_ESTRING : S_SQUOTE;
				s->open_line = s->line;
				add_norm(s, c);
			} else if (c == '"') {
				s->st = S_DQUOTE;
				s->open_line = s->line;
				add_norm(s, c);
			} else if (c == '$' && s->is_pg &&
			           /* not inside a name: a$b$ is one */
			           (i == 0 ||
			            !(isalnum((unsigned char)p[i - 1]) ||
			              p[i - 1] == '_' || p[i - 1] == '$')) &&
			           (isalpha((unsigned char)next) ||
			            next == '_' || next == '$')) {
				size_t j = i + 1;

				while (j < len &&
				       (isalnum((unsigned char)p[j]) ||
				        p[j] == '_'))
					j++;
				if (j < len && p[j] == '$') {
					sbuf_reset(&s->tag);
					sbuf_add(&s->tag, p + i, j - i + 1);
					s->st = S_DOLLAR;
					s->open_line = s->line;
					add_norm(s, '$');
					i = j;
				} else {
					add_norm(s, c);
				}
			} else if (c == ';') {
				if (s->in_stmt && end_statement(s, err) < 0)
					return -1;
				if (s->st == S_COPY)
					return 0; /* data from the next line */
			} else {
				add_norm(s, c);
			}
			break;
		case S_BLOCK_COMMENT:
			if (c == '*' && next == '/') {
				if (--s->depth == 0)
					s->st = S_NORMAL;
				i++;
			} else if (c == '/' && next == '*') {
				s->depth++;
				i++;
			}
			break;
		case S_ESTRING:
			if (c == '\\') {
				i++;
				break;
			}
			/* fall through */
		case S_SQUOTE:
			if (c == '\'' && next == '\'')
				i++;
			else if (c == '\'')
				s->st = S_NORMAL;
			break;
		case S_DQUOTE:
			if (c == '"' && next == '"')
				i++;
			else if (c == '"')
				s->st = S_NORMAL;
			break;
		case S_DOLLAR:
			if (c == '$' && len - i >= s->tag.len &&
			    !memcmp(p + i, s->tag.buf, s->tag.len)) {
				i += s->tag.len - 1;
				s->st = S_NORMAL;
			}
			break;
		case S_COPY:
			BUG("COPY data scanned as SQL");
		}
	}
	if (s->st == S_NORMAL)
		add_norm(s, '\n');
	return 0;
}

static int truncated(const struct scan *s, const char *what,
                     struct strata_error *err)
{
	strata_error_set(err, STRATA_EVALIDATE,
	                 "'%s' ends %s: it looks cut short", s->path, what);
	return strata_error_hint(
	        err,
	        "Nothing was run. Use a complete dump (a dump that ran out of disk, or a copy that was interrupted, ends early).");
}

int plain_check(size_t *out, const struct strata_backup *b, bool is_pg,
                struct strata_error *err)
{
	struct scan s = { .path = b->path, .is_pg = is_pg, .tag = SBUF_INIT };
	struct plain_reader r = { 0 };
	struct sbuf line = SBUF_INIT;
	char *buf = xmalloc(64 * 1024);
	bool is_mid_row = false;
	char what[80];
	int rc = -1;

	*out = 0;
	if (plain_reader_open(&r, b->path, err) < 0)
		goto done;
	for (;;) {
		size_t n;

		if (!gzgets(r.gz, buf, 64 * 1024)) {
			int code = Z_OK;

			gzerror(r.gz, &code);
			if (code != Z_OK && code != Z_BUF_ERROR) {
				strata_error_set(err, STRATA_EVALIDATE,
				                 "could not read '%s': %s",
				                 b->path, gz_why(r.gz));
				goto done;
			}
			/* Z_BUF_ERROR: a gzip stream that ends early */
			if (code == Z_BUF_ERROR) {
				truncated(&s,
				          "in the middle of its gzip stream",
				          err);
				goto done;
			}
			break;
		}
		n = strlen(buf);
		/* COPY data is passed over, however long a row: only a
		 * line's start can be its end marker */
		if (s.st == S_COPY && (is_mid_row || buf[n - 1] != '\n')) {
			is_mid_row = buf[n - 1] != '\n';
			s.line += !is_mid_row;
			continue;
		}
		sbuf_add(&line, buf, n);
		if (line.buf[line.len - 1] != '\n' && !gzeof(r.gz))
			continue;
		if (scan_line(&s, line.buf, line.len, err) < 0)
			goto done;
		sbuf_reset(&line);
	}
	if (line.len && scan_line(&s, line.buf, line.len, err) < 0)
		goto done;
	if (s.st != S_NORMAL) {
		snprintf(what, sizeof(what), "inside %s begun at line %" PRId64,
		         s.st == S_COPY            ? "COPY data"
		         : s.st == S_DOLLAR        ? "a dollar-quoted body"
		         : s.st == S_BLOCK_COMMENT ? "a comment"
		                                   : "a quoted string",
		         s.open_line);
		truncated(&s, what, err);
		goto done;
	}
	if (s.is_pg_dump && !s.is_complete) {
		truncated(
		        &s,
		        "without pg_dump's closing \"PostgreSQL database dump complete\" line",
		        err);
		goto done;
	}
	if (!s.n_statements && !s.in_stmt) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "'%s' holds no SQL statement", b->path);
		strata_error_hint(err,
		                  "Nothing was run. Is it the dump you meant?");
		goto done;
	}
	*out = s.n_statements + s.in_stmt;
	rc = 0;
done:
	plain_reader_close(&r);
	sbuf_release(&line);
	sbuf_release(&s.tag);
	free(buf);
	return rc;
}
