/*
 * strata convert --to sqlx (design.md, Converting to sqlx's layout): a
 * folder of another tool's layout rewritten into sqlx's, and the rows of
 * what the tool applied copied into `_sqlx_migrations` beside the tool's
 * table, which is left as it is so that the team can still go back.
 *
 * A migration's text changes only as the layout change needs: dbmate's
 * markers go (its up section becomes the up file, its down section the
 * down file), and a migration the tool runs outside a transaction gets
 * sqlx's "-- no-transaction" as its first line. Flyway's text is written
 * as run reads it: with its ${placeholders} replaced when values were
 * given (the load refuses a placeholder without one). The new folder is
 * written beside its place and loaded back in sqlx's layout before it is
 * renamed into place, so that what the history records is what sqlx will
 * read. Nothing here runs a migration's SQL.
 */
#include "util/common.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/xalloc.h"
#include "drivers/driver.h"
#include "engine/source.h"
#include "engine/convert.h"
#include "sql/split.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The most digits a sqlx version (i64) takes whatever they are. */
#define MAX_DIGITS 18

/* "1", "1.2.3": the parts as numbers; -1 when one is too long. */
static int flyway_parts(int64_t *parts, size_t max, size_t *n, const char *text)
{
	*n = 0;
	while (*text) {
		size_t len = strspn(text, "0123456789");
		int64_t v = 0;

		if (!len || *n == max)
			return -1;
		while (len > 1 && *text == '0') {
			text++;
			len--;
		}
		if (len > MAX_DIGITS)
			return -1;
		for (size_t i = 0; i < len; i++)
			v = v * 10 + (text[i] - '0');
		parts[(*n)++] = v;
		text += len;
		if (*text == '.')
			text++;
	}
	return 0;
}

static size_t digits_of(int64_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/*
 * Flyway's versions as sqlx's numbers: a version of one part is that
 * number; with dotted ones, each part is padded to the widest of its
 * position and missing parts are 0 (1, 1.1, 2, 10 become 10, 11, 20, 100),
 * which orders as Flyway compares versions, part by part.
 */
static int flyway_versions(int64_t *out, const struct strata_migration **ms,
                           size_t n, struct strata_error *err)
{
	enum { MAX_PARTS = 9 };
	size_t widths[MAX_PARTS] = { 0 }, n_parts = 1, total = 0;
	int64_t parts[MAX_PARTS];

	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (flyway_parts(parts, MAX_PARTS, &k, ms[i]->version_text) < 0)
			goto too_long;
		if (k > n_parts)
			n_parts = k;
		for (size_t j = 0; j < k; j++)
			if (digits_of(parts[j]) > widths[j])
				widths[j] = digits_of(parts[j]);
	}
	if (n_parts == 1)
		widths[0] = 0; /* the numbers as they are */
	for (size_t j = 0; j < n_parts; j++)
		total += widths[j] ? widths[j] : 1;
	if (n_parts > 1 && total > MAX_DIGITS)
		goto too_long;
	for (size_t i = 0; i < n; i++) {
		size_t k;
		int64_t v = 0;

		flyway_parts(parts, MAX_PARTS, &k, ms[i]->version_text);
		for (size_t j = 0; j < n_parts; j++) {
			int64_t p = j < k ? parts[j] : 0;

			for (size_t w = 1; n_parts > 1 && w < widths[j]; w++)
				v *= 10;
			v = n_parts > 1 ? v * 10 + p : p;
		}
		out[i] = v;
	}
	return 0;
too_long:
	return strata_error_set(
	        err, STRATA_EVALIDATE,
	        "Flyway's versions take more than %d digits as one of sqlx's numbers",
	        MAX_DIGITS);
}

/* A version's digits (diesel's dashes left out) as one number. */
static int digits_version(int64_t *out, const char *text)
{
	int64_t v = 0;
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			continue;
		if (v == 0 && *p == '0')
			continue;
		if (++n > MAX_DIGITS)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return 0;
}

/*
 * diesel's versions as sqlx's numbers. diesel orders them as strings:
 * digits of one width order as numbers already. Of several widths (its
 * newer 18-digit names beside older 14-digit ones), each is padded on the
 * right with zeros to the widest, and a last digit, its width over the
 * narrowest, orders a version after another that is its prefix, as the
 * strings order (20260527120000 before 202605271200000000).
 */
static int diesel_versions(int64_t *out, const struct strata_migration **ms,
                           size_t n)
{
	size_t widest = 0, narrowest = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t w = strlen(migration_version(ms[i]));

		widest = w > widest ? w : widest;
		narrowest = w < narrowest ? w : narrowest;
	}
	for (size_t i = 0; i < n; i++) {
		const char *text = migration_version(ms[i]);
		size_t w = strlen(text);

		if (digits_version(&out[i], text) < 0)
			return -1;
		if (widest == narrowest)
			continue;
		if (widest - narrowest > 9)
			return -1;
		for (size_t k = w; k <= widest; k++) {
			if (out[i] > (INT64_MAX - 9) / 10)
				return -1;
			out[i] *= 10;
		}
		out[i] += (int64_t)(w - narrowest);
	}
	return 0;
}

/* The versioned migrations, sqlx's versions in `out->files`, in order. */
static int map_versions(struct strata_convert_result *out,
                        const struct strata_migration **ms, size_t n,
                        enum strata_layout layout, struct strata_error *err)
{
	int64_t *v = xcalloc(n ? n : 1, sizeof(*v));
	int rc = -1;

	if (layout == STRATA_LAYOUT_FLYWAY) {
		if (flyway_versions(v, ms, n, err) < 0) {
			strata_error_hint(
			        err,
			        "sqlx's versions are 64-bit numbers: rename the migrations with fewer version parts first.");
			goto done;
		}
	} else if (layout == STRATA_LAYOUT_DIESEL) {
		if (diesel_versions(v, ms, n) < 0) {
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "diesel's versions, made one width to keep their order, do not fit sqlx's 64-bit numbers");
			strata_error_hint(
			        err,
			        "sqlx's versions are 64-bit numbers: rename the migrations with the longest versions first.");
			goto done;
		}
	} else {
		for (size_t i = 0; i < n; i++)
			if (digits_version(&v[i], migration_version(ms[i])) <
			    0) {
				strata_error_set(
				        err, STRATA_EVALIDATE,
				        "version '%s' has more digits than sqlx's numbers hold",
				        migration_version(ms[i]));
				error_set_location(err, ms[i]->up_path, NULL, 0,
				                   0);
				goto done;
			}
	}
	for (size_t i = 1; i < n; i++) {
		if (v[i] > v[i - 1])
			continue;
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "'%s' and '%s' would be %s in sqlx's layout (version %" PRId64
		        " and %" PRId64 ")",
		        ms[i - 1]->up_path, ms[i]->up_path,
		        v[i] == v[i - 1] ? "the same version" : "out of order",
		        v[i - 1], v[i]);
		strata_error_detail(
		        err,
		        "sqlx orders versions as numbers, and the old layout orders these otherwise.");
		strata_error_hint(
		        err,
		        "Rename them so that their versions order as numbers, record the rename in the old tool's table, then convert.");
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		out->files[i].version = v[i];
	rc = 0;
done:
	free(v);
	return rc;
}

/* The line after the one at `at` (a dbmate marker's). */
static size_t after_line(const char *text, size_t len, size_t at)
{
	const char *eol = memchr(text + at, '\n', len - at);

	return eol ? (size_t)(eol - text) + 1 : len;
}

/*
 * Whether the tool runs `text` outside a transaction though nothing marks
 * it, as plan.c runs it in that layout: golang-migrate sends a file of one
 * such statement (CREATE INDEX CONCURRENTLY) alone, Flyway a migration of
 * only such statements. sqlx would run it in one, and fail.
 */
static bool is_implied_no_txn(const char *text, size_t len,
                              enum strata_layout layout)
{
	struct strata_script s = { 0 };
	struct strata_error ignored = STRATA_ERROR_INIT;
	bool is = false;

	if ((layout == STRATA_LAYOUT_GOLANG_MIGRATE ||
	     layout == STRATA_LAYOUT_FLYWAY) &&
	    split_pg(&s, text, len, &ignored) == 0 &&
	    !(s.flags & STMT_TXN_CONTROL)) {
		is = s.n > 0 && (s.flags & STMT_NO_TXN);
		if (layout == STRATA_LAYOUT_GOLANG_MIGRATE)
			is = is && s.n == 1;
		for (size_t i = 0; is && i < s.n; i++)
			is = s.stmts[i].flags & STMT_NO_TXN;
	}
	script_release(&s);
	strata_error_release(&ignored);
	return is;
}

/*
 * `text` into `sb`, with sqlx's "-- no-transaction" first when the tool
 * runs it outside a transaction. A text that starts with those words the
 * tool does not read as a directive would change meaning: refused.
 */
static int add_text(struct sbuf *sb, bool *out_added, const char *text,
                    size_t len, bool is_no_txn, bool is_pg,
                    enum strata_layout layout, const char *path,
                    struct strata_error *err)
{
	bool has = source_is_no_transaction(text, len);

	if (has && !is_no_txn) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "'%s' starts with '" STRATA_NO_TRANSACTION_DIRECTIVE
		        "', which sqlx reads as its directive, but %s runs it in a transaction",
		        path, strata_layout_name(layout));
		error_set_location(err, path, NULL, 0, 0);
		return strata_error_hint(
		        err,
		        "Move the comment off the first line, record the new checksum, then convert.");
	}
	if (!has &&
	    (is_no_txn || (is_pg && is_implied_no_txn(text, len, layout)))) {
		sbuf_adds(sb, STRATA_NO_TRANSACTION_DIRECTIVE "\n");
		*out_added = true;
	}
	sbuf_add(sb, text, len);
	return 0;
}

/*
 * The new up and down texts of `m`. dbmate's up text is the file up to
 * the down marker, its marker line dropped; its down text (which the
 * source pads with the up section's lines) the section after its marker.
 */
static int build_texts(struct texts *t, struct strata_convert_file *f,
                       const struct strata_migration *m,
                       enum strata_layout layout, bool is_pg,
                       struct strata_error *err)
{
	struct sbuf up = SBUF_INIT;
	const char *down = m->down_sql;
	size_t down_len = m->down_len;
	bool is_down_added = false;
	int rc = -1;

	if (layout == STRATA_LAYOUT_DBMATE) {
		size_t at = source_find_dbmate_marker(m->up_sql, m->up_len, 0,
		                                      "up");

		sbuf_add(&up, m->up_sql, at);
		at = after_line(m->up_sql, m->up_len, at);
		sbuf_add(&up, m->up_sql + at, m->up_len - at);
		if (down) {
			while (down_len && *down == '\n') {
				down++;
				down_len--;
			}
			at = after_line(down, down_len, 0);
			down += at;
			down_len -= at;
		}
	} else {
		sbuf_add(&up, m->up_sql, m->up_len);
	}
	if (add_text(&t->up, &f->is_no_transaction_added, up.buf, up.len,
	             m->is_no_transaction, is_pg, layout, m->up_path, err) < 0)
		goto done;
	if (m->down_path && add_text(&t->down, &is_down_added, down ? down : "",
	                             down_len, m->is_down_no_transaction, is_pg,
	                             layout, m->down_path, err) < 0)
		goto done;
	rc = 0;
done:
	sbuf_release(&up);
	return rc;
}

/* sqlx's name: VERSION_DESCRIPTION, spaces back to '_'. */
static char *new_name(int64_t version, const char *description,
                      const char *suffix)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_addf(&sb, "%" PRId64 "_", version);
	for (const char *p = *description ? description : "migration"; *p; p++)
		sbuf_addch(&sb, *p == ' ' ? '_' : *p);
	sbuf_adds(&sb, suffix);
	return sbuf_detach(&sb, NULL);
}

/*
 * The new name read as sqlx's layout reads it: the same version and kind,
 * and the description the history row records (sqlx's reading of it).
 */
static int read_name(const char **out, const struct strata_convert_file *f,
                     struct arena *arena, struct strata_error *err)
{
	struct source_name sn;
	struct strata_error e = STRATA_ERROR_INIT;
	const char *suffix = f->down_name ? ".up.sql" : ".sql";

	if (source_parse_name(&sn, f->up_name, arena, &e) < 0 ||
	    sn.version != f->version || strcmp(sn.suffix, suffix)) {
		strata_error_release(&e);
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "'%s' would not read back in sqlx's layout as '%s'",
		        f->old_path, f->up_name);
		error_set_location(err, f->old_path, NULL, 0, 0);
		return strata_error_hint(
		        err,
		        "Rename the migration in its old layout (its description), then convert.");
	}
	*out = sn.description;
	return 0;
}

static int write_file(const char *dir, const char *name, const struct sbuf *t,
                      struct strata_error *err)
{
	char *path = xstrfmt("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	size_t done = 0;
	int rc = -1;

	if (fd < 0)
		goto fail;
	while (done < t->len) {
		ssize_t n = write(fd, t->buf + done, t->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		done += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	rc = close(fd);
	fd = -1;
	if (rc == 0)
		goto done;
fail:
	strata_error_set(err, STRATA_EFAILED, "could not write '%s': %s", path,
	                 strerror(errno));
	if (fd >= 0)
		close(fd);
	rc = -1;
done:
	free(path);
	return rc;
}

/* `dir` and the files in it (the temporary folder: files only). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *path;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		path = xstrfmt("%s/%s", dir, de->d_name);
		unlink(path);
		free(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/*
 * Whether `path` (which need not exist yet: its parent is resolved) is
 * the folder `dir` or lies inside it, where the next read of `dir` would
 * find the new folder among its migrations.
 */
static bool is_within(const char *path, const char *dir)
{
	char *real_dir = realpath(dir, NULL), *real_path = realpath(path, NULL);
	bool within = false;

	if (!real_path) {
		struct sbuf parent = SBUF_INIT;
		const char *slash = strrchr(path, '/');
		char *real_parent;

		sbuf_add(&parent, path, slash ? (size_t)(slash - path) : 0);
		if (slash && slash == path)
			sbuf_addch(&parent, '/');
		real_parent = realpath(parent.len ? parent.buf : ".", NULL);
		if (real_parent)
			real_path = xstrfmt("%s/%s", real_parent,
			                    slash ? slash + 1 : path);
		free(real_parent);
		sbuf_release(&parent);
	}
	if (real_dir && real_path) {
		size_t n = strlen(real_dir);

		within = !strncmp(real_path, real_dir, n) &&
		         (real_path[n] == '\0' || real_path[n] == '/' ||
		          (n == 1 && real_dir[0] == '/'));
	}
	free(real_dir);
	free(real_path);
	return within;
}

/* 1: `dir` holds nothing, 0: it holds something, -1: it is no folder. */
static int dir_state(const char *dir, struct strata_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 1;

	if (!d && errno == ENOENT)
		return 1;
	if (!d)
		return strata_error_set(err, STRATA_EVALIDATE,
		                        "could not open '%s': %s", dir,
		                        strerror(errno));
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			rc = 0;
			break;
		}
	closedir(d);
	return rc;
}

/* Whether `dir` holds exactly the files of `tmp`, byte for byte. */
static bool same_folder(const char *dir, const char *tmp, size_t n_files)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	struct strata_error ignored = STRATA_ERROR_INIT;
	size_t n = 0;
	bool is_same = d != NULL;

	while (is_same && (de = readdir(d))) {
		char *pa, *pb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n++;
		pa = xstrfmt("%s/%s", dir, de->d_name);
		pb = xstrfmt("%s/%s", tmp, de->d_name);
		sbuf_reset(&a);
		sbuf_reset(&b);
		is_same = sbuf_read_file(&a, pa, SIZE_MAX, &ignored) == 0 &&
		          sbuf_read_file(&b, pb, SIZE_MAX, &ignored) == 0 &&
		          a.len == b.len && !memcmp(a.buf, b.buf, a.len);
		strata_error_release(&ignored);
		free(pa);
		free(pb);
	}
	if (d)
		closedir(d);
	sbuf_release(&a);
	sbuf_release(&b);
	return is_same && n == n_files;
}

/* The new folder read back in sqlx's layout: the same migrations, in the
 * same order, with the checksums the rows will record. */
static int check_written(const char *tmp, const struct strata_convert_result *r,
                         const struct texts *t, struct strata_error *err)
{
	struct strata_source_options so = STRATA_SOURCE_OPTIONS_INIT;
	struct strata_source *back = NULL;
	int rc = -1;

	so.layout = STRATA_LAYOUT_SQLX;
	so.is_checksums_only = true;
	so.max_file_size = SIZE_MAX;
	if (strata_source_load(&back, tmp, &so, err) < 0)
		goto done;
	for (size_t i = 0; i < r->n_files; i++) {
		const struct strata_migration *m =
		        i < strata_source_count(back)
		                ? strata_source_at(back, i)
		                : NULL;
		unsigned char sum[STRATA_CHECKSUM_LEN];

		strata_checksum(sum, t[i].up.buf, t[i].up.len);
		if (!m || m->version != r->files[i].version ||
		    memcmp(sum, m->checksum, sizeof(sum)) ||
		    !m->down_path != !r->files[i].down_name) {
			/* a description sqlx would read as part of the
			 * suffix, for one */
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "'%s' would not read back in sqlx's layout as '%s'",
			        r->files[i].old_path, r->files[i].up_name);
			strata_error_hint(
			        err,
			        "Rename the migration in its old layout (its description), then convert.");
			goto done;
		}
	}
	rc = 0;
done:
	strata_source_free(back);
	return rc;
}

/* ---- the whole ------------------------------------------------------------
 */

static int check_layout(enum strata_layout layout,
                        const struct strata_source *src,
                        struct strata_error *err)
{
	if (layout != STRATA_LAYOUT_SQLX)
		return 0;
	strata_error_set(err, STRATA_EVALIDATE,
	                 "'%s' is in sqlx's layout already",
	                 strata_source_dir(src));
	return strata_error_hint(
	        err,
	        "A folder of golang-migrate's .up.sql/.down.sql pairs is read as sqlx's unless the database holds golang-migrate's table: give the database, or say golang-migrate's layout.");
}

/* The default: "DIR-sqlx" beside DIR. */
/* `path`'s length without its trailing slashes ("/" stays). */
static size_t trimmed_len(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return len;
}

static char *default_out(const char *dir)
{
	return xstrfmt("%.*s-sqlx", (int)trimmed_len(dir), dir);
}

/* A temporary folder beside `out`, so that rename() moves it in place. */
static char *make_tmp(const char *out, struct strata_error *err)
{
	const char *slash = strrchr(out, '/');
	char *tmp = slash ? xstrfmt("%.*s/.%s.convert-XXXXXX",
	                            (int)(slash - out), out, slash + 1)
	                  : xstrfmt(".%s.convert-XXXXXX", out);

	if (!mkdtemp(tmp)) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not create a folder beside '%s': %s",
		                 out, strerror(errno));
		free(tmp);
		return NULL;
	}
	return tmp;
}

int strata_convert(struct strata_convert_result *out, struct strata_db *db,
                   const struct strata_source *src,
                   const struct strata_convert_options *opts,
                   struct strata_error *err)
{
	const struct strata_convert_options defaults =
	        STRATA_CONVERT_OPTIONS_INIT;
	size_t n_all = strata_source_count(src), n = 0;
	size_t n_written = 0, skipped_alloc = 0;
	const struct strata_migration **ms = xcalloc(n_all + 1, sizeof(*ms));
	struct texts *t = NULL;
	struct convert c = { 0 };
	bool is_locked = false;
	enum strata_layout layout = strata_source_layout(src);
	char *tmp = NULL;
	const char **desc = xcalloc(n_all + 1, sizeof(*desc));
	struct arena names = { 0 };
	bool is_pg;
	int rc = -1, state;

	memset(out, 0, sizeof(*out));
	if (OPTIONS_CHECK(opts, STRATA_CONVERT_OPTIONS_VERSION,
	                  "strata_convert_options", err) < 0)
		goto done;
	if (!opts)
		opts = &defaults;
	if (db) {
		db->source_dir = source_folder(src);
		if (db_bind_layout(db, src, err) < 0)
			goto done;
		layout = db->hist.layout;
		out->has_db = true;
	}
	if (check_layout(layout, src, err) < 0)
		goto done;
	/* without a database, PostgreSQL's rules: SQLite has no statement
	 * that refuses a transaction */
	is_pg = !db || db->drv->caps & DRV_PG_SQL;
	for (size_t i = 0; i < n_all; i++) {
		const struct strata_migration *m = strata_source_at(src, i);

		if (!m->is_repeatable) {
			ms[n++] = m;
			continue;
		}
		if (!opts->is_skip_repeatables) {
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "'%s' is a Flyway repeatable migration, which sqlx has no form of",
			        m->up_path);
			strata_error_detail(
			        err,
			        "sqlx runs each migration once, in version order; a repeatable runs again whenever it changes.");
			strata_error_hint(
			        err,
			        "Make it a versioned migration, or leave the repeatables out of the new folder and run them yourself.");
			error_set_location(err, m->up_path, NULL, 0, 0);
			goto done;
		}
		XGROW(out->skipped, skipped_alloc, out->n_skipped + 1);
		out->n_skipped++;
		out->skipped[out->n_skipped - 1] = m->up_path;
	}
	out->files = xcalloc(n ? n : 1, sizeof(*out->files));
	out->n_files = n;
	if (map_versions(out, ms, n, layout, err) < 0)
		goto done;
	t = xcalloc(n ? n : 1, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		struct strata_convert_file *f = &out->files[i];
		unsigned char sum[STRATA_CHECKSUM_LEN];

		sbuf_init(&t[i].up, 0);
		sbuf_init(&t[i].down, 0);
		f->old_path = ms[i]->up_path;
		f->old_down_path = ms[i]->down_path != ms[i]->up_path
		                           ? ms[i]->down_path
		                           : NULL;
		f->old_version = migration_version(ms[i]);
		if (build_texts(&t[i], f, ms[i], layout, is_pg, err) < 0)
			goto done;
		/* Flyway's text replaced: not the file's bytes any more */
		strata_checksum(sum, ms[i]->up_sql, ms[i]->up_len);
		f->is_placeholders_replaced =
		        layout == STRATA_LAYOUT_FLYWAY &&
		        memcmp(sum, ms[i]->checksum, sizeof(sum));
		f->up_name = new_name(f->version, ms[i]->description,
		                      ms[i]->down_path ? ".up.sql" : ".sql");
		if (ms[i]->down_path)
			f->down_name = new_name(f->version, ms[i]->description,
			                        ".down.sql");
		if (read_name(&desc[i], f, &names, err) < 0)
			goto done;
	}
	if (opts->out_dir && !*opts->out_dir) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "the folder to write is named by an empty string");
		strata_error_hint(
		        err,
		        "Name the new folder (--out DIR), or leave it out for the default.");
		goto done;
	}
	/* "out/" is "out": the temporary folder goes beside it */
	out->out_dir = opts->out_dir ? xstrndup(opts->out_dir,
	                                        trimmed_len(opts->out_dir))
	                             : default_out(strata_source_dir(src));
	if (is_within(out->out_dir, strata_source_dir(src))) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "'%s' is inside the folder it converts, '%s'",
		                 out->out_dir, strata_source_dir(src));
		strata_error_hint(
		        err,
		        "Write the new folder beside the old one (--out), where reading the old folder will not find it.");
		goto done;
	}
	if ((state = dir_state(out->out_dir, err)) < 0)
		goto done;

	if (db) {
		if (db->drv->lock(db->conn, db->opts.lock_wait, err) < 0)
			goto done;
		is_locked = true;
		c.out = out;
		c.src = src;
		c.layout = layout;
		c.ms = ms;
		c.t = t;
		c.desc = desc;
		if (convert_history_read(&c, db, err) < 0)
			goto done;
	}

	if (!opts->is_dry_run || state == 0) {
		if (!(tmp = make_tmp(out->out_dir, err)))
			goto done;
		for (size_t i = 0; i < n; i++, n_written++)
			if (write_file(tmp, out->files[i].up_name, &t[i].up,
			               err) < 0 ||
			    (out->files[i].down_name &&
			     (n_written++,
			      write_file(tmp, out->files[i].down_name,
			                 &t[i].down, err) < 0)))
				goto done;
		if (check_written(tmp, out, t, err) < 0)
			goto done;
	}
	if (state == 0) {
		if (!same_folder(out->out_dir, tmp, n_written)) {
			strata_error_set(err, STRATA_EVALIDATE,
			                 "'%s' is not empty", out->out_dir);
			strata_error_hint(
			        err,
			        "Name a folder that does not exist yet (or an empty one): the conversion never writes over files.");
			goto done;
		}
		out->is_folder_same = true;
	}
	if (opts->is_dry_run) {
		rc = 0;
		goto done;
	}

	if (db && out->n_copied && convert_history_copy(&c, db, err) < 0)
		goto done;
	if (!out->is_folder_same) {
		/* an empty folder is replaced; rename() refuses a full one */
		if (state == 1)
			rmdir(out->out_dir);
		if (rename(tmp, out->out_dir) < 0) {
			strata_error_set(err, STRATA_EFAILED,
			                 "could not rename '%s' to '%s': %s",
			                 tmp, out->out_dir, strerror(errno));
			goto done;
		}
		free(tmp);
		tmp = NULL;
	}
	rc = 0;
done:
	if (is_locked)
		db->drv->unlock(db->conn);
	if (tmp)
		remove_dir(tmp);
	free(tmp);
	for (size_t i = 0; t && i < n; i++) {
		sbuf_release(&t[i].up);
		sbuf_release(&t[i].down);
	}
	free(t);
	free(ms);
	free(desc);
	arena_release(&names);
	convert_history_release(&c);
	if (rc < 0)
		strata_convert_result_release(out);
	return rc;
}

void strata_convert_result_release(struct strata_convert_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_files; i++) {
		free(r->files[i].up_name);
		free(r->files[i].down_name);
	}
	free(r->files);
	free(r->skipped);
	free(r->copied);
	free(r->out_dir);
	memset(r, 0, sizeof(*r));
}
