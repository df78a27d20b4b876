/*
 * Flyway's layout (design.md, Layouts): V<VERSION>__<DESCRIPTION>.sql
 * versioned, U<VERSION>__<DESCRIPTION>.sql the undo of V<VERSION>, read as
 * Flyway's ResourceNameParser reads them. VERSION is parts of digits
 * separated by '.' or '_' ('_' shown as '.', as Flyway's MigrationVersion
 * shows it), compared part by part as numbers, trailing zeros ignored
 * ("1" is "1.0"). R__<DESCRIPTION>.sql is a repeatable migration, run
 * after the versioned ones, in the order of descriptions. A per-script
 * V1__x.sql.conf with executeInTransaction= false runs the migration outside a
 * transaction. Flyway's checksum is a CRC-32 over the file's lines as Java's
 * BufferedReader reads them.
 */
#include "engine/source.h"
#include "engine/source_read.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/text.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#define KEY_DIGITS 18

/*
 * Each part as a code that orders as the number does and ends itself: "0"
 * for zero, else its length (1-8 as one digit, 9-18 as '9' and one more)
 * and its digits without leading zeros. The codes of the parts, trailing
 * zero parts left out, order as text in Flyway's order, so diesel's rank
 * of a text makes the key.
 */
int64_t source_flyway_key(const char *text, size_t len)
{
	char code[KEY_DIGITS + 1];
	size_t n = 0, keep = 0;

	for (size_t i = 0; i < len;) {
		size_t j = i, digits;

		if (text[i] == '.' || text[i] == '_')
			return -1;
		while (j < len && text[j] >= '0' && text[j] <= '9')
			j++;
		if (j == i || (j < len && text[j] != '.' && text[j] != '_') ||
		    j + 1 == len)
			return -1;
		while (i < j - 1 && text[i] == '0')
			i++;
		digits = j - i;
		if (digits == 1 && text[i] == '0') {
			if (n + 1 > KEY_DIGITS)
				return -2;
			code[n++] = '0';
		} else {
			size_t need = digits + (digits > 8 ? 2 : 1);

			if (digits > 18 || n + need > KEY_DIGITS)
				return -2;
			if (digits > 8) {
				code[n++] = '9';
				code[n++] = (char)('0' + digits - 9);
			} else {
				code[n++] = (char)('0' + digits);
			}
			memcpy(code + n, text + i, digits);
			n += digits;
			keep = n;
		}
		i = j + (j < len);
	}
	if (!len)
		return -1;
	return source_diesel_key(code, keep);
}

int32_t source_flyway_checksum(const char *text, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	size_t i = 0;

	/* BomFilter drops a UTF-8 BOM from the first line */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	/* readLine(): "\n", "\r" and "\r\n" end a line, and are dropped */
	while (i < len) {
		size_t j = i;

		while (j < len && text[j] != '\n' && text[j] != '\r')
			j++;
		crc = crc32(crc, (const Bytef *)text + i, (uInt)(j - i));
		if (j < len && text[j] == '\r' && j + 1 < len &&
		    text[j + 1] == '\n')
			j++;
		i = j + 1;
	}
	return (int32_t)(uint32_t)crc;
}

static int name_error(const struct entry *e, struct strata_error *err,
                      const char *why)
{
	strata_error_set(err, STRATA_EVALIDATE,
	                 "invalid Flyway migration name '%s'", e->path);
	strata_error_detail(err, "%s", why);
	strata_error_hint(
	        err,
	        "Name it V<VERSION>__<DESCRIPTION>.sql as Flyway does, VERSION in digits separated by '.' or '_', for example 'V1.2__add_users.sql'.");
	return -1;
}

int source_parse_flyway(struct entry *e, struct arena *arena,
                        struct strata_error *err)
{
	/* a file in a subdirectory is named by its own name */
	const char *name = source_entry_file(e);
	size_t name_len = strlen(name), base_len = name_len - 4;
	const char *ver = name + 1, *sep;
	size_t ver_len;
	int64_t key;
	char *text, *desc;

	if (text_utf8_invalid_at(name, name_len) != name_len)
		return name_error(e, err, "The name is not valid UTF-8.");
	if (name[0] == 'R') {
		/* R__<DESCRIPTION>.sql: ordered by description once all are
		 * read (build_migrations()) */
		if (strncmp(name, "R__", 3) != 0 || base_len <= 3)
			return name_error(
			        e, err,
			        "A repeatable migration is named R__<DESCRIPTION>.sql, with no version.");
		desc = arena_strndup(arena, name + 3, base_len - 3);
		for (char *p = desc; *p; p++)
			if (*p == '_')
				*p = ' ';
		e->kind = KIND_SIMPLE;
		e->version = STRATA_VERSION_REPEATABLE;
		/* what status shows and a command line names it by */
		e->version_text = arena_strndup(arena, name, base_len);
		e->description = desc;
		e->is_repeatable = true;
		e->is_named = true;
		return 0;
	}
	sep = strstr(ver, "__");
	if (!sep || (size_t)(sep - name) > base_len)
		return name_error(e, err,
		                  "The name has no '__' after the version.");
	ver_len = (size_t)(sep - ver);
	key = source_flyway_key(ver, ver_len);
	if (key == -2) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "Flyway version '%.*s' of '%s' is too long for strata to order",
		        (int)ver_len, ver, e->path);
		strata_error_detail(
		        err,
		        "strata orders Flyway's versions part by part in a 64-bit key: each part takes its digits and one (two past 8 digits), and the whole at most 18; a part of 0 takes one.");
		strata_error_hint(
		        err,
		        "Use fewer or shorter version parts (20240101120000 and 1.2.3 both fit).");
		return -1;
	}
	if (key < 0)
		return name_error(
		        e, err,
		        "The version is not digits separated by '.' or '_'.");
	text = arena_strndup(arena, ver, ver_len);
	for (char *p = text; *p; p++)
		if (*p == '_')
			*p = '.';
	desc = arena_strndup(arena, sep + 2,
	                     base_len - (size_t)(sep + 2 - name));
	for (char *p = desc; *p; p++)
		if (*p == '_')
			*p = ' ';
	e->kind = name[0] == 'U' ? KIND_DOWN : KIND_SIMPLE;
	e->version = key;
	e->version_text = text;
	e->description = desc;
	e->is_named = true;
	return 0;
}

/* The value of placeholder `name` (`len` bytes), NULL when none. */
static const char *placeholder_value(const struct entry *e,
                                     const struct reader *r, const char *name,
                                     size_t len, char *cwd, size_t cwd_size)
{
#define IS(s) (len == strlen(s) && !strncasecmp(name, s, len))
	/* ParsingContext's, put after the configuration's: they win */
	if (IS("flyway:filename"))
		return source_entry_file(e);
	if (IS("flyway:timestamp"))
		return r->timestamp;
	if (IS("flyway:workingDirectory")) {
		if (!*cwd && !getcwd(cwd, cwd_size))
			return NULL;
		return cwd;
	}
	for (size_t i = r->n_placeholders; i-- > 0;) {
		const char *k = r->placeholders[i].name;

		if (IS(k))
			return r->placeholders[i].value;
	}
	if (IS("flyway:table"))
		return "flyway_schema_history";
	return NULL;
#undef IS
}

static int placeholder_error(const struct entry *e, const char *text,
                             size_t len, size_t at, size_t name_len,
                             bool is_closed, struct strata_error *err)
{
	const char *name = text + at + 2;
	bool is_builtin = name_len > 7 && !strncasecmp(name, "flyway:", 7);
	int line;

	text_line_col(text, len, at, &line, NULL);
	if (!is_closed) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "'%s' line %d: Flyway placeholder '${' has no closing '}'",
		        e->path, line);
		strata_error_detail(
		        err,
		        "Flyway reads a placeholder from ${ to the next }, across lines, and fails on one it has no value for.");
		strata_error_hint(
		        err,
		        "Close the placeholder, or write '$' and '{' apart (in a string, '$' || '{').");
	} else {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "'%s' line %d: no value for Flyway placeholder '${%.*s}'",
		        e->path, line, (int)name_len, name);
		if (is_builtin)
			strata_error_detail(
			        err,
			        "Flyway fills ${%.*s} from its connection; strata fills ${flyway:filename}, ${flyway:timestamp}, ${flyway:workingDirectory} and ${flyway:table} alone.",
			        (int)name_len, name);
		else
			strata_error_detail(
			        err,
			        "Flyway replaces ${name} everywhere in a migration, comments included, and refuses one it has no value for.");
		strata_error_hint(
		        err,
		        is_builtin
		                ? "Give it with --placeholder %.*s=VALUE."
		                : "Give it a value in strata.conf's [placeholders] section (%.*s = VALUE) or with --placeholder %.*s=VALUE, as flyway.placeholders.%.*s gives it to Flyway.",
		        (int)name_len, name, (int)name_len, name, (int)name_len,
		        name);
	}
	error_set_location(err, e->path, text, len, at);
	return -1;
}

/*
 * PlaceholderReplacingReader: ${ to the next } (across lines, comments
 * and strings included) names a placeholder, without regard to case;
 * its value is not read again for placeholders. One with no value, or
 * no closing }, fails the file.
 */
int source_replace_flyway_placeholders(const char **out, size_t *out_len,
                                       const struct entry *e,
                                       const struct reader *r, const char *text,
                                       size_t len, struct strata_error *err)
{
	struct sbuf sb = SBUF_INIT;
	char cwd[PATH_MAX] = "";
	size_t done = 0;
	int rc = -1;

	*out = text;
	*out_len = len;
	for (size_t i = 0; i + 1 < len; i++) {
		const char *end, *value;

		if (text[i] != '$' || text[i + 1] != '{')
			continue;
		end = memchr(text + i + 2, '}', len - i - 2);
		value = end ? placeholder_value(e, r, text + i + 2,
		                                (size_t)(end - text - i - 2),
		                                cwd, sizeof(cwd))
		            : NULL;
		if (!value) {
			placeholder_error(e, text, len, i,
			                  end ? (size_t)(end - text - i - 2)
			                      : 0,
			                  end != NULL, err);
			goto done;
		}
		sbuf_add(&sb, text + done, i - done);
		sbuf_adds(&sb, value);
		done = (size_t)(end - text) + 1;
		i = done - 1;
	}
	if (done) {
		sbuf_add(&sb, text + done, len - done);
		*out = arena_strndup(r->arena, sb.buf, sb.len);
		*out_len = sb.len;
	}
	rc = 0;
done:
	sbuf_release(&sb);
	return rc;
}

/*
 * NAME.conf beside the file: Flyway's per-script configuration, of which
 * strata reads executeInTransaction (as Flyway does, "key=value" lines,
 * '#' comments); another key is refused rather than passed over.
 */
int source_read_flyway_conf(bool *out_no_transaction, const struct entry *e,
                            struct strata_error *err)
{
	struct sbuf text = SBUF_INIT, path = SBUF_INIT;
	int rc = -1, line = 0;
	char *p, *next;

	*out_no_transaction = false;
	/* the folder's listing said whether it is there: no probe per file */
	if (!e->has_flyway_conf)
		return 0;
	sbuf_addf(&path, "%s.conf", e->path);
	if (sbuf_read_file(&text, path.buf, 1 << 20, err) < 0)
		goto done;
	for (p = text.buf; p && *p; p = next) {
		char *eq, *key, *value, *end;

		line++;
		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p &&
		       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (!*p || *p == '#')
			continue;
		eq = strchr(p, '=');
		key = p;
		value = eq ? eq + 1 : NULL;
		if (eq) {
			for (end = eq;
			     end > key && (end[-1] == ' ' || end[-1] == '\t');)
				end--;
			*end = '\0';
			while (*value == ' ' || *value == '\t')
				value++;
		}
		if (eq && !strcmp(key, "executeInTransaction") &&
		    (!strcasecmp(value, "true") ||
		     !strcasecmp(value, "false"))) {
			*out_no_transaction = !strcasecmp(value, "false");
			continue;
		}
		strata_error_set(err, STRATA_EVALIDATE, "'%s' line %d: %s '%s'",
		                 path.buf, line,
		                 eq ? "unsupported setting" : "not a setting",
		                 key);
		strata_error_hint(
		        err,
		        "strata reads executeInTransaction=true or false from Flyway's script configuration; remove the other lines.");
		error_set_location(err, path.buf, NULL, 0, 0);
		err->line = line;
		goto done;
	}
	rc = 0;
done:
	sbuf_release(&text);
	sbuf_release(&path);
	return rc;
}
