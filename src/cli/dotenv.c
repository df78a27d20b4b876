/*
 * The `.env` file, read the way sqlx (dotenvy) and dbmate read it:
 * KEY=VALUE lines, an optional `export ` prefix, `#` comments, single
 * quotes taken literally, double quotes with \n \" \\ escapes, unquoted
 * values trimmed and cut at ` #`. Variables already in the environment
 * win. Not supported: ${VAR} expansion and values spanning lines (an
 * error, never a silent misread).
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/banned.h"

/* A growing string: NUL-terminated, never NULL once added to. */
struct text {
	char *buf;
	size_t len, alloc;
};

static void text_add(struct text *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->alloc) {
		t->alloc = (t->len + n + 1) * 2;
		t->buf = realloc(t->buf, t->alloc);
		if (!t->buf)
			abort();
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void text_addch(struct text *t, char c)
{
	text_add(t, &c, 1);
}

static void text_reset(struct text *t)
{
	t->len = 0;
	text_add(t, "", 0);
}

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
static int parse_value(struct text *val, const char *p, const char *end,
                       const char **why)
{
	if (p < end && (*p == '\'' || *p == '"')) {
		char q = *p++;

		for (; p < end && *p != q; p++) {
			if (q == '"' && *p == '\\' && p + 1 < end) {
				p++;
				text_addch(val, *p == 'n' ? '\n' : *p);
			} else {
				text_addch(val, *p);
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
	text_add(val, p, (size_t)(end - p));
	return 0;
}

int dotenv_parse(const char *text, size_t len, const char *path,
                 dotenv_pair_fn fn, void *data, struct strata_error *err)
{
	struct text key = { 0 }, val = { 0 };
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
		text_reset(&key);
		text_reset(&val);
		while (s < le && is_key_char(*s))
			text_addch(&key, *s++);
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
	free(key.buf);
	free(val.buf);
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

int dotenv_load(const char *path, struct strata_error *err)
{
	/* a .env file holds a few variables: anything larger is no .env */
	const size_t max = 1 << 20;
	struct text text = { 0 };
	char chunk[8192];
	FILE *fp = fopen(path, "rb");
	size_t n;
	int rc = -1;

	if (!fp && errno == ENOENT)
		return 0;
	if (!fp)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not open '%s': %s", path,
		                        strerror(errno));
	text_reset(&text);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (text.len + n > max) {
			strata_error_set(err, STRATA_EFAILED,
			                 "'%s' is larger than %zu bytes", path,
			                 max);
			goto done;
		}
		text_add(&text, chunk, n);
	}
	if (ferror(fp)) {
		strata_error_set(err, STRATA_EFAILED, "could not read '%s': %s",
		                 path, strerror(errno));
		goto done;
	}
	rc = dotenv_parse(text.buf, text.len, path, set_unless_set,
	                  (void *)path, err);
done:
	fclose(fp);
	free(text.buf);
	return rc;
}
