/*
 * Fuzzes the .env reader (dotenv_parse(), the buffer half of
 * dotenv_load()). The pairs come back through the callback, so the
 * environment is never touched. Beyond crashes it checks that keys are
 * well formed, that an error names a line of the text, and that the reader
 * is line by line: the text read whole, read one line at a time, and read
 * with CRLF line endings gives the same pairs and the same failing line.
 */
#include <string.h>

#include "util/common.h"
#include "util/sbuf.h"
#include "cli/cli.h"
#include "fuzz.h"

#define PATH ".env"

struct result {
	struct sbuf pairs; /* KEY '\0' VALUE '\0', in order */
	size_t n;
	int rc;
	int line; /* of the error */
};

static int collect(const char *key, const char *value, void *data,
                   struct strata_error *err)
{
	struct result *r = data;

	(void)err;
	CHECK(*key);
	for (const char *p = key; *p; p++)
		CHECK((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.');
	sbuf_add(&r->pairs, key, strlen(key) + 1);
	sbuf_add(&r->pairs, value, strlen(value) + 1);
	r->n++;
	return 0;
}

static size_t count_lines(const char *text, size_t len)
{
	size_t n = 0;

	for (const char *p = text, *end = text + len; p < end; n++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		p = eol ? eol + 1 : end;
	}
	return n;
}

static void parse(struct result *r, const char *text, size_t len)
{
	struct strata_error err = STRATA_ERROR_INIT;

	r->rc = dotenv_parse(text, len, PATH, collect, r, &err);
	r->line = err.line;
	if (r->rc < 0) {
		CHECK(err.code == STRATA_EUSAGE && err.message);
		CHECK(strstr(err.message, PATH));
		CHECK(err.line >= 1 &&
		      (size_t)err.line <= count_lines(text, len));
	} else {
		CHECK(r->rc == 0 && !err.message);
	}
	strata_error_release(&err);
}

/* Reads each line on its own, as if it were the whole text. */
static void parse_by_line(struct result *r, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	int line = 0;

	r->rc = 0;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((eol ? eol + 1 : end) - p);
		struct result one = { SBUF_INIT, 0, 0, 0 };

		line++;
		parse(&one, p, n);
		sbuf_add(&r->pairs, one.pairs.buf, one.pairs.len);
		r->n += one.n;
		sbuf_release(&one.pairs);
		if (one.rc < 0) {
			CHECK(one.line == 1);
			r->rc = -1;
			r->line = line;
			return;
		}
		p += n;
	}
}

static void check_same(const struct result *a, const struct result *b)
{
	CHECK(a->rc == b->rc && a->line == b->line && a->n == b->n);
	CHECK(a->pairs.len == b->pairs.len &&
	      memcmp(a->pairs.buf, b->pairs.buf, a->pairs.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct result whole = { SBUF_INIT, 0, 0, 0 };
	struct result lines = { SBUF_INIT, 0, 0, 0 };
	struct result crlf = { SBUF_INIT, 0, 0, 0 };

	parse(&whole, text, size);
	parse_by_line(&lines, text, size);
	check_same(&whole, &lines);
	if (!memchr(text, '\r', size)) {
		struct sbuf t = SBUF_INIT;

		for (size_t i = 0; i < size; i++) {
			if (text[i] == '\n')
				sbuf_addch(&t, '\r');
			sbuf_addch(&t, text[i]);
		}
		parse(&crlf, t.buf, t.len);
		check_same(&whole, &crlf);
		sbuf_release(&t);
	}
	sbuf_release(&whole.pairs);
	sbuf_release(&lines.pairs);
	sbuf_release(&crlf.pairs);
	return 0;
}
