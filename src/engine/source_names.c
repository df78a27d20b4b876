/*
 * What a migration file's name says, read as sqlx reads it: VERSION '_'
 * DESCRIPTION, the kind from the suffix (".sql", ".up.sql", ".down.sql"),
 * and what a version's files must be together (one simple file, or an up
 * file with at most one down file; never two files of one kind). The
 * errors name the file and show a name that works.
 */
#include "engine/source.h"
#include "engine/source_read.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/text.h"

#include <inttypes.h>
#include <limits.h>

#define NAME_EXAMPLE "20250101120000_create_users.sql"

bool source_has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

bool source_has_suffix_nocase(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
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
int source_parse_entry(struct entry *e, struct arena *arena,
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
	if (source_has_suffix(rest, rest_len, ".up.sql"))
		e->kind = KIND_UP;
	else if (source_has_suffix(rest, rest_len, ".down.sql"))
		e->kind = KIND_DOWN;
	else
		e->kind = KIND_SIMPLE;
	suffix = kind_suffix(e->kind);
	while (source_has_suffix(rest, rest_len, suffix))
		rest_len -= strlen(suffix);
	desc = arena_strndup(arena, rest, rest_len);
	for (char *p = desc; *p; p++)
		if (*p == '_')
			*p = ' ';
	e->version = v;
	e->version_text = arena_strndup(arena, e->name, (size_t)digits);
	e->description = desc;
	e->is_named = true;
	return 0;
}

int source_parse_name(struct source_name *out, const char *name,
                      struct arena *arena, struct strata_error *err)
{
	struct entry e = { .name = name, .path = name };

	if (source_parse_entry(&e, arena, err) < 0)
		return -1;
	out->version = e.version;
	out->description = e.description;
	out->suffix = kind_suffix(e.kind);
	return 0;
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
	        "Give one of them a new version (strata_migration_new() picks the next one).");
	strata_error_reason(err, STRATA_REASON_DUPLICATE_VERSION, version);
	error_set_location(err, v[1]->path, NULL, 0, 0);
	sbuf_release(&sb);
	return -1;
}

/* Flyway's "Found more than one migration with version" */
static int flyway_duplicate_error(struct entry **v, size_t n,
                                  struct strata_error *err)
{
	struct sbuf sb = SBUF_INIT;

	add_paths(&sb, v, n);
	if (v[0]->is_repeatable) {
		/* "Found more than one repeatable migration with description"
		 */
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "more than one Flyway repeatable migration with description '%s': %s",
		        v[0]->description, sb.buf);
		strata_error_detail(
		        err,
		        "Flyway reads '_' in a name as a space: a repeatable migration is known by its description alone, which Flyway refuses too.");
		strata_error_hint(err, "Rename one of them.");
		error_set_location(err, v[1]->path, NULL, 0, 0);
		sbuf_release(&sb);
		return -1;
	}
	strata_error_set(err, STRATA_EVALIDATE,
	                 "more than one Flyway migration with version %s: %s",
	                 v[0]->version_text, sb.buf);
	strata_error_detail(
	        err,
	        "Flyway compares versions part by part as numbers, trailing zeros left out: '%s' and '%s' are one version, which Flyway refuses too.",
	        v[0]->version_text, v[1]->version_text);
	strata_error_hint(err, "Give one of them a new version.");
	strata_error_reason(err, STRATA_REASON_DUPLICATE_VERSION,
	                    v[0]->version);
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
int source_check_version(struct strata_migration *out, struct entry **group,
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
	if (n_up > 1 && group[0]->is_flyway)
		return flyway_duplicate_error(group, n_up, err);
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
	/* Flyway pairs an undo with its migration by version alone */
	if (down && !up->is_flyway &&
	    strcmp(up->description, down->description) != 0) {
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
	out->version_text = up->version_text;
	out->description = up->description;
	out->up_path = up->path;
	out->down_path = down ? down->path : NULL;
	out->is_reversible_pair = up->kind == KIND_UP;
	return 0;
}
