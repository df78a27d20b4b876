/*
 * dbmate's layout (design.md, Layouts): one file VERSION_NAME.sql per
 * migration, its up section after "-- migrate:up", its down section after
 * "-- migrate:down", "transaction:false" on a marker line running that
 * section outside a transaction. Read as dbmate's migration.go reads it:
 * the markers as its regexps find them, only comments before the up
 * marker, the up before the down. One up and one down section per file:
 * a file of several (which newer dbmate runs one after the other) is
 * refused, not half read.
 */
#define _GNU_SOURCE /* memmem() */
#include "engine/source.h"
#include "engine/source_read.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/text.h"

#include <string.h>

/* RE2's \s: space, \t, \n, \f, \r (not \v) */
static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\f' ||
	       ch == '\r';
}

/*
 * The offset of the first marker "-- migrate:KIND" at or after `from`, as
 * `(?m)^--\s*migrate:KIND(\s*$|\s+\S+)` finds it: "--" at a line's start,
 * KIND followed by white space or the end; `len` when there is none.
 */
size_t source_find_dbmate_marker(const char *text, size_t len, size_t from,
                                 const char *kind)
{
	const char *p = text + from, *end = text + len;
	size_t klen = strlen(kind);

	while ((p = memmem(p, (size_t)(end - p), "migrate:", 8))) {
		const char *q = p, *after = p + 8 + klen;

		/* back over \s* to "--" */
		while (q > text && is_space(q[-1]))
			q--;
		if (q - text >= 2 && q[-1] == '-' && q[-2] == '-' &&
		    (q - 2 == text || q[-3] == '\n') && after <= end &&
		    memcmp(p + 8, kind, klen) == 0 &&
		    (after == end || is_space(*after)))
			return (size_t)(q - 2 - text);
		p += 8;
	}
	return len;
}

/* The next marker after the line of the one at `at`. */
static size_t find_next_marker(const char *text, size_t len, size_t at,
                               const char *kind)
{
	const char *eol = memchr(text + at, '\n', len - at);

	return eol ? source_find_dbmate_marker(text, len,
	                                       (size_t)(eol - text) + 1, kind)
	           : len;
}

bool source_has_dbmate_marker(const char *text, size_t len)
{
	return source_find_dbmate_marker(text, len, 0, "up") < len ||
	       source_find_dbmate_marker(text, len, 0, "down") < len;
}

/* Whether [from, to) holds only blank lines and "--" comment lines. */
static bool is_only_comments(const char *text, size_t from, size_t to)
{
	size_t i = from;

	while (i < to) {
		size_t eol = i;

		while (eol < to && text[eol] != '\n')
			eol++;
		while (i < eol && is_space(text[i]))
			i++;
		if (i < eol &&
		    !(eol - i >= 2 && text[i] == '-' && text[i + 1] == '-'))
			return false;
		i = eol + 1;
	}
	return true;
}

/*
 * dbmate's options on the marker line at `at`: "transaction:false" (the
 * only one dbmate reads) runs the section outside a transaction. Pairs are
 * KEY:VALUE separated by white space; anything else is passed over, as
 * dbmate passes it over.
 */
static bool is_no_transaction_marker(const char *text, size_t len, size_t at)
{
	const char *p = memchr(text + at, ':', len - at);
	const char *eol = memchr(text + at, '\n', len - at);
	const char *end = eol ? eol : text + len;

	/* past "migrate:up" / "migrate:down" */
	while (p && p < end && !is_space(*p))
		p++;
	while (p && p < end) {
		const char *word;

		while (p < end && is_space(*p))
			p++;
		word = p;
		while (p < end && !is_space(*p))
			p++;
		if (p - word == 17 && !memcmp(word, "transaction:false", 17))
			return true;
	}
	return false;
}

static int section_error(const struct entry *e, const char *text, size_t len,
                         size_t at, struct strata_error *err, const char *msg,
                         const char *hint)
{
	strata_error_set(err, STRATA_EVALIDATE, "'%s' %s", e->path, msg);
	strata_error_hint(err, "%s", hint);
	error_set_location(err, e->path, text, len, at);
	return -1;
}

int source_read_dbmate(struct content *c, const struct entry *e,
                       const char *text, size_t len, struct strata_error *err)
{
	size_t up = source_find_dbmate_marker(text, len, 0, "up");
	size_t down = source_find_dbmate_marker(text, len, 0, "down");
	size_t more_up = up < len ? find_next_marker(text, len, up, "up") : len;
	size_t more_down;

	if (up == len)
		return section_error(
		        e, text, len, down < len ? down : 0, err,
		        "has no '-- migrate:up' section",
		        "Start the migration with a line '-- migrate:up' above its statements, and put the statements that undo it after a line '-- migrate:down', as dbmate requires.");
	if (!is_only_comments(text, 0, up))
		return section_error(
		        e, text, len, 0, err,
		        "has statements before its '-- migrate:up' line",
		        "Move them below '-- migrate:up': dbmate refuses a file that runs anything before it.");
	if (down == len)
		return section_error(
		        e, text, len, up, err,
		        "has no '-- migrate:down' section",
		        "Add a line '-- migrate:down' after the up section, followed by the statements that undo it (or by nothing, for a migration that cannot be undone).");
	if (down < up)
		return section_error(
		        e, text, len, down, err,
		        "has its '-- migrate:down' line before '-- migrate:up'",
		        "Put the up section first, as dbmate requires.");
	if (more_up < len)
		return section_error(
		        e, text, len, more_up, err,
		        "holds more than one '-- migrate:up' section",
		        "Give each up and down pair a file of its own: strata runs one up section and one down section per migration.");
	more_down = find_next_marker(text, len, down, "down");
	if (more_down < len)
		return section_error(
		        e, text, len, more_down, err,
		        "holds more than one '-- migrate:down' section",
		        "Keep one '-- migrate:down' line per file, after the up section.");
	c->is_dbmate = true;
	c->down_at = down;
	c->is_no_transaction = is_no_transaction_marker(text, len, up);
	c->is_down_no_transaction = is_no_transaction_marker(text, len, down);
	{
		const char *eol = memchr(text + down, '\n', len - down);
		size_t body = eol ? (size_t)(eol - text) + 1 : len;

		c->has_down_statements = !is_only_comments(text, body, len);
	}
	return 0;
}

void source_fill_dbmate(struct strata_migration *m, const struct content *c,
                        struct arena *arena)
{
	struct sbuf down = SBUF_INIT;
	int line = 1;

	m->up_len = c->down_at;
	if (m->up_sql)
		m->up_sql = arena_strndup(arena, m->up_sql, c->down_at);
	m->is_no_transaction = c->is_no_transaction;
	m->is_reversible_pair = false;
	if (!c->has_down_statements)
		return;
	m->down_path = m->up_path;
	m->is_down_no_transaction = c->is_down_no_transaction;
	if (!c->text)
		return;
	/* the down section on its own lines: the server's error positions
	 * then name the file's lines */
	for (size_t i = 0; i < c->down_at; i++)
		line += c->text[i] == '\n';
	for (int i = 1; i < line; i++)
		sbuf_addch(&down, '\n');
	sbuf_add(&down, c->text + c->down_at, c->len - c->down_at);
	m->down_sql = arena_strndup(arena, down.buf, down.len);
	m->down_len = down.len;
	sbuf_release(&down);
}

int source_parse_dbmate_name(struct entry *e, struct arena *arena)
{
	size_t len = strlen(e->name), digits = 0;
	const char *rest;
	int64_t v = 0;

	/* migrationFileRegexp: ^(\d+).*\.sql$ */
	while (e->name[digits] >= '0' && e->name[digits] <= '9') {
		int d = e->name[digits] - '0';

		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		digits++;
	}
	if (!digits || !source_has_suffix(e->name, len, ".sql") ||
	    text_utf8_invalid_at(e->name, len) != len)
		return -1;
	rest = e->name + digits;
	/* what follows the version, past a separator, is its description */
	while (*rest == '_' || *rest == '-' || *rest == '.')
		rest++;
	e->kind = KIND_SIMPLE;
	e->version = v;
	e->version_text = arena_strndup(arena, e->name, digits);
	e->description =
	        rest < e->name + len - 4
	                ? arena_strndup(arena, rest,
	                                (size_t)(e->name + len - 4 - rest))
	                : "";
	for (char *p = (char *)e->description; *p; p++)
		if (*p == '_')
			*p = ' ';
	e->is_dbmate_named = true;
	e->is_named = true;
	return 0;
}
