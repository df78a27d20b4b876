/*
 * The `.env` file, read the way sqlx (dotenvy) and dbmate read it:
 * KEY=VALUE lines, an optional `export ` prefix, `#` comments, single
 * quotes taken literally, double quotes with \n \" \\ escapes, unquoted
 * values trimmed and cut at ` #`. Variables already in the environment
 * win. Not supported: ${VAR} expansion and values spanning lines (an
 * error, never a silent misread).
 */
#include "engine/dotenv.h"
#include "util/sbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static bool is_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.';
}

/* Parses the value at p..end into `val`; 0, or -1 with a reason. */
static int parse_value(struct sbuf *val, const char *p, const char *end,
                       const char **why)
{
	if (p < end && (*p == '\'' || *p == '"')) {
		char q = *p++;

		for (; p < end && *p != q; p++) {
			if (q == '"' && *p == '\\' && p + 1 < end) {
				p++;
				sbuf_addch(val, *p == 'n' ? '\n' : *p);
			} else {
				sbuf_addch(val, *p);
			}
		}
		if (p >= end) {
			*why = "unterminated quoted value";
			return -1;
		}
		p = skip_space(p + 1, end);
		if (p < end && *p != '#') {
			*why = "text after the closing quote";
			return -1;
		}
		return 0;
	}
	for (const char *s = p; s < end; s++) {
		if (*s == '#' && (s == p || s[-1] == ' ' || s[-1] == '\t')) {
			end = s;
			break;
		}
	}
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	sbuf_add(val, p, (size_t)(end - p));
	return 0;
}

int dotenv_parse(const char *text, size_t len, const char *path,
                 dotenv_pair_fn fn, void *data, struct strata_error *err)
{
	struct sbuf key = SBUF_INIT, val = SBUF_INIT;
	const char *p = text, *end = text + len;
	int line = 0, rc = -1;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end, *s, *why = NULL;

		line++;
		if (le > p && le[-1] == '\r')
			le--;
		s = skip_space(p, le);
		p = eol ? eol + 1 : end;
		if (s == le || *s == '#')
			continue;
		if ((size_t)(le - s) > 7 && strncmp(s, "export ", 7) == 0)
			s = skip_space(s + 7, le);
		sbuf_reset(&key);
		sbuf_reset(&val);
		while (s < le && is_key_char(*s))
			sbuf_addch(&key, *s++);
		s = skip_space(s, le);
		if (!key.len || s >= le || *s != '=')
			why = "expected KEY=VALUE";
		else if (parse_value(&val, skip_space(s + 1, le), le, &why) ==
		         0)
			why = NULL;
		if (why) {
			strata_error_set(err, STRATA_EUSAGE,
			                 "%s at '%s' line %d", why, path, line);
			err->line = line;
			goto done;
		}
		if (fn(key.buf, val.buf, data, err) < 0)
			goto done;
	}
	rc = 0;
done:
	sbuf_release(&key);
	sbuf_release(&val);
	return rc;
}

/* Variables already in the environment win. */
static int set_unless_set(const char *key, const char *value, void *data,
                          struct strata_error *err)
{
	const char *path = data;

	if (!getenv(key) && setenv(key, value, 0) < 0)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not set '%s' from '%s': %s", key,
		                        path, strerror(errno));
	return 0;
}

int strata_dotenv_load(const char *path, struct strata_error *err)
{
	struct sbuf text = SBUF_INIT;
	struct stat st;
	int rc = -1;

	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (sbuf_read_file(&text, path, 1 << 20, err) < 0)
		goto done;
	rc = dotenv_parse(text.buf, text.len, path, set_unless_set,
	                  (void *)path, err);
done:
	sbuf_release(&text);
	return rc;
}
