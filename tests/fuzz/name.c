/*
 * Fuzzes the migration file-name parser (source_parse_name(), sqlx's
 * VERSION_DESCRIPTION.[up|down].sql). Beyond crashes it checks what a
 * parse promises: a positive version that the leading digits spell, the
 * kind from the name's ending, and a description that is the rest with
 * '_' read as ' ' and every trailing copy of the suffix trimmed.
 */
#include <string.h>

#include "util/common.h"
#include "util/xalloc.h"
#include "util/arena.h"
#include "util/text.h"
#include "engine/source.h"
#include "fuzz.h"

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static void check_parsed(const char *name, const struct source_name *n)
{
	const char *us = strchr(name, '_'), *rest;
	const char *want_suffix = ".sql";
	size_t rest_len, desc_len, slen;
	int64_t v = 0;

	CHECK(text_utf8_invalid_at(name, strlen(name)) == strlen(name));
	CHECK(us && us > name);
	for (const char *p = name; p < us; p++) {
		CHECK(*p >= '0' && *p <= '9');
		CHECK(v <= (INT64_MAX - (*p - '0')) / 10);
		v = v * 10 + (*p - '0');
	}
	/* 0 too: sqlx parses an i64, and diesel and Go projects start at 0 */
	CHECK(v >= 0 && v == n->version);

	rest = us + 1;
	rest_len = strlen(rest);
	if (ends_with(rest, rest_len, ".up.sql"))
		want_suffix = ".up.sql";
	else if (ends_with(rest, rest_len, ".down.sql"))
		want_suffix = ".down.sql";
	CHECK(strcmp(n->suffix, want_suffix) == 0);

	desc_len = strlen(n->description);
	slen = strlen(n->suffix);
	CHECK(desc_len <= rest_len);
	for (size_t i = 0; i < desc_len; i++)
		CHECK(n->description[i] == (rest[i] == '_' ? ' ' : rest[i]));
	CHECK(!strchr(n->description, '_'));
	/* what follows the description is only copies of the suffix */
	CHECK((rest_len - desc_len) % slen == 0);
	for (size_t i = desc_len; i < rest_len; i += slen)
		CHECK(memcmp(rest + i, n->suffix, slen) == 0);
	CHECK(!ends_with(rest, desc_len, n->suffix));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct arena arena = ARENA_INIT;
	struct source_name n;
	char *name;

	/* a directory entry's name: no NUL, no '/' */
	if (memchr(data, '\0', size) || memchr(data, '/', size))
		return 0;
	name = xstrndup((const char *)data, size);
	if (source_parse_name(&n, name, &arena, &err) == 0) {
		CHECK(!err.message);
		check_parsed(name, &n);
	} else {
		CHECK(err.code == STRATA_EVALIDATE);
		CHECK(err.message && err.detail && err.hint);
	}
	strata_error_release(&err);
	arena_release(&arena);
	free(name);
	return 0;
}
