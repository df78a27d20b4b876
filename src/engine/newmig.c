/*
 * `strata new`: the next migration file(s) of a source directory, named as
 * sqlx-cli's `migrate add` names them, so that either tool can continue a
 * directory the other started. The version is inferred as sqlx-cli infers
 * it (sequential when the newest two versions differ by one, or when the
 * only migration is version 1; else a UTC timestamp), with two refinements:
 * a zero-padded sequence keeps its width, and a new version is always above
 * the newest, so `new` never makes an out-of-order or duplicate migration.
 *
 * The templates are starting points that parse as PostgreSQL and show the
 * zero-downtime way of doing the thing; they are not generated schema.
 * Files are created with O_EXCL: nothing existing is ever overwritten.
 */
#include "util/common.h"
#include "engine/source.h"
#include "util/xalloc.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/text.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEQUENTIAL_WIDTH 4  /* sqlx-cli's format!("{:04}") */
#define IDENT_MAX        63 /* PostgreSQL's NAMEDATALEN - 1 */

enum part {
	PART_SIMPLE, /* V_d.sql, alone */
	PART_UP,     /* V_d.up.sql, or V_d.sql beside a down file */
	PART_DOWN,   /* V_d.down.sql */
};

/*
 * The PostgreSQL keywords a table cannot be named without quotes (the
 * "reserved" ones of the SQL Key Words appendix), each between spaces.
 */
static const char reserved_words[] =
        " "
        "all analyse analyze and any array as asc asymmetric "
        "authorization binary both case cast check collate collation "
        "column concurrently constraint create cross current_catalog "
        "current_date current_role current_schema current_time "
        "current_timestamp current_user default deferrable desc "
        "distinct do else end except false fetch for foreign freeze "
        "from full grant group having ilike in initially inner "
        "intersect into is isnull join lateral leading left like limit "
        "localtime localtimestamp natural not notnull null offset on "
        "only or order outer overlaps placing primary references "
        "returning right select session_user similar some symmetric "
        "system_user table tablesample then to trailing true union "
        "unique user using variadic verbose when where window with ";

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * The description as the file name has it (sqlx: ' ' becomes '_'), in
 * `out`. It must survive the trip back through the loader unchanged,
 * hence no '/', and no ending the loader would read as a suffix.
 */
static int file_description(struct sbuf *out, const char *description,
                            struct strata_error *err)
{
	const char *b = description, *e = description + strlen(description);
	static const char *const endings[] = { ".sql", ".up", ".down" };

	while (b < e && *b == ' ')
		b++;
	while (e > b && e[-1] == ' ')
		e--;
	if (b == e)
		return strata_error_set(err, STRATA_EUSAGE,
		                        "the migration description is empty");
	for (const char *p = b; p < e; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			return strata_error_set(
			        err, STRATA_EUSAGE,
			        "the migration description holds a control character");
	}
	if (memchr(b, '/', (size_t)(e - b)))
		return strata_error_set(
		        err, STRATA_EUSAGE,
		        "the migration description '%s' holds a '/'",
		        description);
	if (text_utf8_invalid_at(b, (size_t)(e - b)) != (size_t)(e - b))
		return strata_error_set(
		        err, STRATA_EUSAGE,
		        "the migration description is not valid UTF-8");
	sbuf_reset(out);
	for (const char *p = b; p < e; p++)
		sbuf_addch(out, *p == ' ' ? '_' : *p);
	for (size_t i = 0; i < ARRAY_SIZE(endings); i++) {
		if (has_suffix(out->buf, endings[i])) {
			strata_error_set(
			        err, STRATA_EUSAGE,
			        "the migration description '%s' ends in '%s'",
			        description, endings[i]);
			return strata_error_detail(
			        err,
			        "The file name would be read as another kind of migration.");
		}
	}
	return 0;
}

/* Creates `dir` (one level) when it does not exist. */
/* The directory and any missing parents, as sqlx-cli's create_dir_all. */
static int ensure_dir(const char *dir, struct strata_error *err)
{
	struct sbuf path = SBUF_INIT;
	struct stat st;
	int rc = 0;

	if (stat(dir, &st) == 0)
		return 0;
	if (errno != ENOENT)
		return strata_error_set(
		        err, STRATA_EFAILED,
		        "could not stat migration directory '%s': %s", dir,
		        strerror(errno));
	sbuf_adds(&path, dir);
	for (size_t i = 1; i <= path.len && rc == 0; i++) {
		if (i < path.len && path.buf[i] != '/')
			continue;
		path.buf[i] = '\0';
		if (mkdir(path.buf, 0777) < 0 && errno != EEXIST)
			rc = strata_error_set(
			        err, STRATA_EFAILED,
			        "could not create migration directory '%s': %s",
			        path.buf, strerror(errno));
		if (i < path.len)
			path.buf[i] = '/';
	}
	sbuf_release(&path);
	return rc;
}

/*
 * The digit count to keep for a sequence after `m`: its version's own when
 * written with leading zeros ("003_x.sql" → 3), else sqlx-cli's 4.
 */
static int sequential_width(const struct strata_migration *m)
{
	const char *name = strrchr(m->up_path, '/');
	size_t digits;

	name = name ? name + 1 : m->up_path;
	digits = strspn(name, "0123456789");
	if (name[0] == '0' && digits > 1 && digits < 20)
		return (int)digits;
	return SEQUENTIAL_WIDTH;
}

static int next_after(int64_t *out, int64_t newest, struct strata_error *err)
{
	if (newest == INT64_MAX)
		return strata_error_set(err, STRATA_EFAILED,
		                        "no migration version follows %" PRId64,
		                        newest);
	*out = newest + 1;
	return 0;
}

/* sqlx-cli's MigrationOrdering::infer(), for the versions of `src`. */
static bool infer_sequential(const struct strata_source *src)
{
	size_t n = strata_source_count(src);
	int64_t last, pre_last;

	if (n == 0)
		return false;
	last = strata_source_at(src, n - 1)->version;
	if (n == 1)
		return last == 0 || last == 1;
	pre_last = strata_source_at(src, n - 2)->version;
	return last - pre_last == 1;
}

/* The version text of the new migration, in `out`. */
static int choose_version(struct sbuf *out, const struct strata_source *src,
                          enum strata_versioning versioning, int64_t now,
                          struct strata_error *err)
{
	size_t n = strata_source_count(src);
	const struct strata_migration *newest =
	        n ? strata_source_at(src, n - 1) : NULL;
	int64_t v = 1;
	struct tm tm;
	time_t t;
	char stamp[32];

	if (versioning == STRATA_VERSIONING_INFER)
		versioning = infer_sequential(src)
		                     ? STRATA_VERSIONING_SEQUENTIAL
		                     : STRATA_VERSIONING_TIMESTAMP;
	if (versioning == STRATA_VERSIONING_SEQUENTIAL) {
		if (newest && next_after(&v, newest->version, err) < 0)
			return -1;
		sbuf_addf(out, "%0*" PRId64,
		          newest ? sequential_width(newest) : SEQUENTIAL_WIDTH,
		          v);
		return 0;
	}
	if (versioning != STRATA_VERSIONING_TIMESTAMP)
		BUG("unknown versioning");

	t = now ? (time_t)now : time(NULL);
	if (!gmtime_r(&t, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) ||
	    stamp[0] == '-')
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not format the time %" PRId64
		                        " as a timestamp version",
		                        (int64_t)t);
	v = strtoll(stamp, NULL, 10);
	/* never below the newest: that would be applied out of order */
	if (newest && v <= newest->version) {
		if (next_after(&v, newest->version, err) < 0)
			return -1;
		sbuf_addf(out, "%" PRId64, v);
		return 0;
	}
	sbuf_adds(out, stamp);
	return 0;
}

/*
 * The words of `desc` joined by '_', ASCII lower-cased: "Add Users!" →
 * "add_users". Bytes of UTF-8 characters are kept: PostgreSQL takes them
 * in unquoted identifiers (and folds only ASCII case).
 */
static void slug(struct sbuf *out, const char *desc)
{
	bool is_gap = false;

	for (const char *p = desc; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c >= 0x80) {
			if (is_gap && out->len)
				sbuf_addch(out, '_');
			sbuf_addch(out, (char)c);
			is_gap = false;
		} else {
			is_gap = true;
		}
	}
}

static void strip_prefix(struct sbuf *sb, const char *prefix)
{
	size_t n = strlen(prefix);

	if (sb->len > n && has_prefix(sb->buf, prefix)) {
		memmove(sb->buf, sb->buf + n, sb->len - n + 1);
		sb->len -= n;
	}
}

static void strip_suffix(struct sbuf *sb, const char *suffix)
{
	size_t n = strlen(suffix);

	if (sb->len > n && has_suffix(sb->buf, suffix)) {
		sb->len -= n;
		sb->buf[sb->len] = '\0';
	}
}

static bool is_reserved(const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(reserved_words, word); p;
	     p = strstr(p + 1, word))
		if (p[-1] == ' ' && p[n] == ' ')
			return true;
	return false;
}

/*
 * The name of the object a template creates, from the description:
 * "create users table" → users, "add email index" → email_index,
 * "users by email" → users_by_email_idx; `placeholder` when nothing usable
 * is left. Quoted when it is a reserved word ("user").
 */
static void object_name(struct sbuf *out, const char *desc, bool is_index,
                        const char *placeholder)
{
	struct sbuf name = SBUF_INIT;

	slug(&name, desc);
	strip_prefix(&name, "create_");
	strip_prefix(&name, "add_");
	if (is_index) {
		if (!strstr(name.buf, "idx") && !strstr(name.buf, "index"))
			sbuf_adds(&name, "_idx");
	} else {
		strip_prefix(&name, "table_");
		strip_suffix(&name, "_table");
	}
	if (name.len > IDENT_MAX) {
		/* at a character boundary, without a trailing '_' */
		name.len = IDENT_MAX;
		while (name.len && (name.buf[name.len] & 0xC0) == 0x80)
			name.len--;
		while (name.len && name.buf[name.len - 1] == '_')
			name.len--;
		name.buf[name.len] = '\0';
	}
	if (!name.len || (name.buf[0] >= '0' && name.buf[0] <= '9') ||
	    name.buf[0] == '_')
		sbuf_adds(out, placeholder);
	else if (is_reserved(name.buf))
		sbuf_add_ident(out, name.buf);
	else
		sbuf_adds(out, name.buf);
	sbuf_release(&name);
}

static void template_table(struct sbuf *out, enum part part, const char *desc)
{
	if (part == PART_DOWN) {
		sbuf_adds(
		        out,
		        "-- Drop the table only once no deployed code uses it.\n"
		        "DROP TABLE IF EXISTS ");
		object_name(out, desc, false, "table_name");
		sbuf_adds(out, ";\n");
		return;
	}
	sbuf_adds(
	        out,
	        "-- A new table blocks nothing that runs already. To reference a big\n"
	        "-- table, add the foreign key NOT VALID and VALIDATE CONSTRAINT it in a\n"
	        "-- later migration, so that no long lock is held.\n"
	        "CREATE TABLE ");
	object_name(out, desc, false, "table_name");
	sbuf_adds(out, " (\n"
	               "\tid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
	               "\tcreated_at timestamptz NOT NULL DEFAULT now(),\n"
	               "\tupdated_at timestamptz NOT NULL DEFAULT now()\n"
	               ");\n");
}

static void template_index(struct sbuf *out, enum part part, const char *desc)
{
	sbuf_adds(out, STRATA_NO_TRANSACTION_DIRECTIVE "\n");
	if (part == PART_DOWN) {
		sbuf_adds(out, "DROP INDEX CONCURRENTLY IF EXISTS ");
		object_name(out, desc, true, "index_name");
		sbuf_adds(out, ";\n");
		return;
	}
	/* the statement right after the directive, the why below it */
	sbuf_adds(out, "CREATE INDEX CONCURRENTLY IF NOT EXISTS ");
	object_name(out, desc, true, "index_name");
	sbuf_adds(
	        out,
	        " ON table_name (column_name);\n"
	        "\n"
	        "-- CONCURRENTLY builds the index without blocking writes, but cannot run\n"
	        "-- inside a transaction, so this migration runs outside one. Keep one\n"
	        "-- statement per migration. It waits for every older transaction, with\n"
	        "-- no lock_timeout (-- strata:concurrent-lock-timeout=30m to bound it).\n"
	        "-- strata drops the INVALID index a failed build leaves, and builds\n"
	        "-- again one it finds, so that IF NOT EXISTS never keeps it.\n");
}

static void template_data(struct sbuf *out, enum part part)
{
	if (part == PART_DOWN) {
		sbuf_adds(
		        out,
		        "-- Undo the data change here, in batches as well, or leave this file\n"
		        "-- without statements when the change cannot be undone.\n");
		return;
	}
	sbuf_adds(
	        out,
	        "-- Change data in batches: one UPDATE of a big table locks every row it\n"
	        "-- touches until it commits. The WHERE skips rows already done, so the\n"
	        "-- statement can run again; backfill big tables from a job that repeats\n"
	        "-- it until it updates no rows. Keep schema changes in other migrations.\n"
	        "UPDATE table_name\n"
	        "SET column_name = 'new value'\n"
	        "WHERE id IN (\n"
	        "\tSELECT id\n"
	        "\tFROM table_name\n"
	        "\tWHERE column_name IS DISTINCT FROM 'new value'\n"
	        "\tORDER BY id\n"
	        "\tLIMIT 10000\n"
	        ");\n");
}

static void template_text(struct sbuf *out, enum strata_template kind,
                          enum part part, const char *desc)
{
	switch (kind) {
	case STRATA_TEMPLATE_EMPTY:
		/* sqlx-cli's texts */
		if (part == PART_SIMPLE)
			sbuf_adds(out, "-- Add migration script here\n");
		else if (part == PART_UP)
			sbuf_adds(out, "-- Add up migration script here\n");
		else
			sbuf_adds(out, "-- Add down migration script here\n");
		return;
	case STRATA_TEMPLATE_TABLE:
		template_table(out, part, desc);
		return;
	case STRATA_TEMPLATE_INDEX:
		template_index(out, part, desc);
		return;
	case STRATA_TEMPLATE_DATA:
		template_data(out, part);
		return;
	}
	BUG("unknown migration template");
}

/*
 * A template's text without strata's "-- no-transaction" line, and
 * whether it had one: dbmate and diesel say it their own way.
 */
static bool take_directive(struct sbuf *text)
{
	size_t n = strlen(STRATA_NO_TRANSACTION_DIRECTIVE "\n");

	if (text->len < n ||
	    memcmp(text->buf, STRATA_NO_TRANSACTION_DIRECTIVE "\n", n) != 0)
		return false;
	memmove(text->buf, text->buf + n, text->len - n + 1);
	text->len -= n;
	return true;
}

/* dbmate's file: both sections in one, as dbmate new writes it. */
static void dbmate_text(struct sbuf *out, enum strata_template kind,
                        const char *description)
{
	struct sbuf part = SBUF_INIT;
	bool is_no_txn;

	if (kind == STRATA_TEMPLATE_EMPTY) {
		sbuf_adds(out, "-- migrate:up\n\n\n-- migrate:down\n\n");
		return;
	}
	template_text(&part, kind, PART_UP, description);
	is_no_txn = take_directive(&part);
	sbuf_addf(out, "-- migrate:up%s\n%s\n",
	          is_no_txn ? " transaction:false" : "", part.buf);
	sbuf_reset(&part);
	template_text(&part, kind, PART_DOWN, description);
	is_no_txn = take_directive(&part);
	sbuf_addf(out, "-- migrate:down%s\n%s",
	          is_no_txn ? " transaction:false" : "", part.buf);
	sbuf_release(&part);
}

/* Creates `path` with `text`; never replaces an existing file. */
static int write_new_file(const char *path, const struct sbuf *text,
                          struct strata_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	size_t done = 0;

	if (fd < 0 && errno == EEXIST)
		return strata_error_set(err, STRATA_EFAILED,
		                        "'%s' already exists", path);
	if (fd < 0)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not create '%s': %s", path,
		                        strerror(errno));
	while (done < text->len) {
		ssize_t n = write(fd, text->buf + done, text->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		done += (size_t)n;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	strata_error_set(err, STRATA_EFAILED, "could not write '%s': %s", path,
	                 strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(path);
	return -1;
}

/*
 * diesel's directory, as diesel migration generate makes it: the UTC time
 * as YYYY-MM-DD-HHMMSS, up.sql and down.sql, and metadata.toml when the
 * template runs outside a transaction. All or nothing.
 */
static int new_diesel(char **paths, const char *dir, const char *sep,
                      const struct sbuf *name,
                      const struct strata_migration *newest,
                      const struct strata_new_options *opts,
                      const char *description, struct strata_error *err)
{
	struct sbuf text = SBUF_INIT, down = SBUF_INIT;
	char stamp[32], digits[32];
	time_t t =
	        opts->now_timestamp ? (time_t)opts->now_timestamp : time(NULL);
	char *sub = NULL, *meta = NULL;
	bool is_no_txn;
	struct tm tm;
	int rc = -1;

	/* a second on when the newest is this second's (two made at once),
	 * never below the newest: it would be applied out of order */
	for (int tries = 0;; tries++, t++) {
		if (!gmtime_r(&t, &tm) ||
		    !strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H%M%S", &tm) ||
		    !strftime(digits, sizeof(digits), "%Y%m%d%H%M%S", &tm))
			return strata_error_set(
			        err, STRATA_EFAILED,
			        "could not format the time %" PRId64,
			        (int64_t)t);
		if (!newest ||
		    source_diesel_key(digits, strlen(digits)) > newest->version)
			break;
		if (tries == 60) {
			strata_error_set(
			        err, STRATA_EFAILED,
			        "the newest migration (%s) is later than now (%s)",
			        newest->version_text, digits);
			return strata_error_hint(
			        err,
			        "Check the clock, or name the directory by hand after the newest one.");
		}
	}
	sub = xstrfmt("%s%s%s_%s", dir, sep, stamp, name->buf);
	if (mkdir(sub, 0777) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not create '%s': %s", sub,
		                 strerror(errno));
		goto done;
	}
	if (opts->template_kind == STRATA_TEMPLATE_EMPTY) {
		sbuf_adds(&text, "-- Your SQL goes here\n");
		sbuf_adds(&down,
		          "-- This file should undo anything in `up.sql`\n");
	} else {
		template_text(&text, opts->template_kind, PART_UP, description);
		template_text(&down, opts->template_kind, PART_DOWN,
		              description);
	}
	is_no_txn = take_directive(&text);
	take_directive(&down);
	paths[0] = xstrfmt("%s/up.sql", sub);
	paths[1] = xstrfmt("%s/down.sql", sub);
	if (write_new_file(paths[0], &text, err) < 0 ||
	    write_new_file(paths[1], &down, err) < 0)
		goto undo;
	if (is_no_txn) {
		meta = xstrfmt("%s/metadata.toml", sub);
		sbuf_reset(&text);
		sbuf_adds(&text, "run_in_transaction = false\n");
		if (write_new_file(meta, &text, err) < 0)
			goto undo;
		paths[2] = meta;
		meta = NULL;
	}
	rc = 0;
	goto done;
undo:
	for (int i = 0; i < 2; i++)
		if (paths[i])
			unlink(paths[i]);
	rmdir(sub);
done:
	free(sub);
	free(meta);
	sbuf_release(&text);
	sbuf_release(&down);
	return rc;
}

/*
 * Flyway's V<NEXT>__<name>.sql: NEXT the newest version's first part + 1
 * (1.2.3 is followed by 2), with U<NEXT>__<name>.sql when the newest has
 * an undo, and <file>.conf when the template runs outside a transaction.
 */
static int new_flyway(char **paths, const char *dir, const char *sep,
                      const struct sbuf *name,
                      const struct strata_migration *newest,
                      const struct strata_new_options *opts,
                      const char *description, struct strata_error *err)
{
	struct sbuf text = SBUF_INIT, down = SBUF_INIT;
	unsigned long long next = 1;
	bool is_undo, is_no_txn;
	int rc = -1, written = 0;

	if (newest && newest->version_text) {
		errno = 0;
		next = strtoull(newest->version_text, NULL, 10) + 1;
		if (errno || next == 0 ||
		    next > 999999999999999999ULL) /* 18 digits */
			return strata_error_set(
			        err, STRATA_EVALIDATE,
			        "no Flyway version follows '%s'",
			        newest->version_text);
	}
	is_undo = opts->reversible == STRATA_REVERSIBLE_INFER
	                  ? newest && newest->down_path
	                  : opts->reversible == STRATA_REVERSIBLE_YES;
	template_text(&text, opts->template_kind,
	              is_undo ? PART_UP : PART_SIMPLE, description);
	is_no_txn = take_directive(&text);
	paths[0] = xstrfmt("%s%sV%llu__%s.sql", dir, sep, next, name->buf);
	if (write_new_file(paths[0], &text, err) < 0)
		goto done;
	written = 1;
	if (is_undo) {
		template_text(&down, opts->template_kind, PART_DOWN,
		              description);
		take_directive(&down);
		paths[1] =
		        xstrfmt("%s%sU%llu__%s.sql", dir, sep, next, name->buf);
		if (write_new_file(paths[1], &down, err) < 0)
			goto undo;
		written = 2;
	}
	if (is_no_txn) {
		sbuf_reset(&text);
		sbuf_adds(&text, "executeInTransaction=false\n");
		paths[written] = xstrfmt("%s.conf", paths[0]);
		if (write_new_file(paths[written], &text, err) < 0)
			goto undo;
	}
	rc = 0;
	goto done;
undo:
	/* all or nothing: what this call wrote goes */
	for (int i = 0; i < written; i++)
		unlink(paths[i]);
done:
	sbuf_release(&text);
	sbuf_release(&down);
	return rc;
}

int strata_migration_new(char ***out_paths, const char *dir,
                         const char *description,
                         const struct strata_new_options *opts,
                         struct strata_error *err)
{
	static const struct strata_new_options defaults =
	        STRATA_NEW_OPTIONS_INIT;
	struct strata_source_options so = STRATA_SOURCE_OPTIONS_INIT;
	struct strata_source *src = NULL;
	const struct strata_migration *newest = NULL;
	struct sbuf name = SBUF_INIT, version = SBUF_INIT, text = SBUF_INIT;
	const char *sep = *dir && dir[strlen(dir) - 1] == '/' ? "" : "/";
	char **paths = xcalloc(4, sizeof(*paths));
	bool is_reversible, is_plain_down;
	enum strata_layout layout;
	int rc = -1;

	if (!opts)
		opts = &defaults;
	if (OPTIONS_CHECK(opts, STRATA_NEW_OPTIONS_VERSION,
	                  "strata_new_options", err) < 0)
		goto done;
	so.max_file_size = opts->max_file_size;
	so.placeholders = opts->placeholders;
	so.n_placeholders = opts->n_placeholders;
	so.is_empty_ok = true; /* the first migration is being made */
	if (file_description(&name, description, err) < 0 ||
	    ensure_dir(dir, err) < 0 ||
	    strata_source_load(&src, dir, &so, err) < 0)
		goto done;
	/* the newest versioned: a repeatable has no version to follow */
	for (size_t i = strata_source_count(src); i-- > 0 && !newest;)
		if (!strata_source_at(src, i)->is_repeatable)
			newest = strata_source_at(src, i);
	layout = opts->layout == STRATA_LAYOUT_AUTO ? strata_source_layout(src)
	                                            : opts->layout;
	if (layout == STRATA_LAYOUT_DIESEL) {
		rc = new_diesel(paths, dir, sep, &name, newest, opts,
		                description, err);
		goto created;
	}
	if (layout == STRATA_LAYOUT_FLYWAY) {
		rc = new_flyway(paths, dir, sep, &name, newest, opts,
		                description, err);
		goto created;
	}
	if (choose_version(&version, src, opts->versioning, opts->now_timestamp,
	                   err) < 0)
		goto done;
	if (layout == STRATA_LAYOUT_DBMATE) {
		paths[0] = xstrfmt("%s%s%s_%s.sql", dir, sep, version.buf,
		                   name.buf);
		dbmate_text(&text, opts->template_kind, description);
		rc = write_new_file(paths[0], &text, err);
		goto created;
	}

	/* INFER follows the newest migration, and a reversible one its
	 * layout */
	is_reversible = opts->reversible == STRATA_REVERSIBLE_INFER
	                        ? newest && (newest->down_path ||
	                                     newest->is_reversible_pair)
	                        : opts->reversible == STRATA_REVERSIBLE_YES;
	is_plain_down = is_reversible && newest && newest->down_path &&
	                !newest->is_reversible_pair;
	if (!is_reversible) {
		paths[0] = xstrfmt("%s%s%s_%s.sql", dir, sep, version.buf,
		                   name.buf);
	} else {
		paths[0] =
		        xstrfmt("%s%s%s_%s%s", dir, sep, version.buf, name.buf,
		                is_plain_down ? ".sql" : ".up.sql");
		paths[1] = xstrfmt("%s%s%s_%s.down.sql", dir, sep, version.buf,
		                   name.buf);
	}

	template_text(&text, opts->template_kind,
	              is_reversible ? PART_UP : PART_SIMPLE, description);
	if (write_new_file(paths[0], &text, err) < 0)
		goto done;
	if (paths[1]) {
		sbuf_reset(&text);
		template_text(&text, opts->template_kind, PART_DOWN,
		              description);
		if (write_new_file(paths[1], &text, err) < 0) {
			unlink(paths[0]); /* all or nothing */
			goto done;
		}
	}
	rc = 0;
created:
	if (rc == 0) {
		*out_paths = paths;
		paths = NULL;
	}
done:
	strata_strv_free(paths);
	strata_source_free(src);
	sbuf_release(&name);
	sbuf_release(&version);
	sbuf_release(&text);
	return rc;
}

void strata_strv_free(char **strv)
{
	if (!strv)
		return;
	for (char **p = strv; *p; p++)
		free(*p);
	free(strv);
}
