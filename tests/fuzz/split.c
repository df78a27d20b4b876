/*
 * Fuzzes the PostgreSQL statement splitter (split_pg_keep(), libpg_query's
 * parser and scanner). Beyond crashes it checks the script's promises:
 * statements lie within the text, in increasing order without overlap,
 * each starting at its first token; flags and parse errors are consistent;
 * and no SQL is lost: every token of the text but comments and the ';'
 * between statements lies inside a statement.
 */
#include <string.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "sql/split.h"
#include "fuzz.h"

#define KNOWN_FLAGS (STMT_NO_TXN | STMT_TXN_CONTROL | STMT_COPY_STDIN)

static bool in_some_stmt(const struct strata_script *s, size_t start,
                         size_t end)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct strata_stmt *st = &s->stmts[i];

		if (start >= st->offset && end <= st->offset + st->len)
			return true;
	}
	return false;
}

/* The split's scan again, independently: where each token lies. */
static void check_tokens(const struct strata_script *s)
{
	PgQueryScanResult r = pg_query_scan(s->sql);
	PgQuery__ScanResult *res;

	CHECK(!r.error); /* split_pg() succeeded: the scanner accepted it */
	res = pg_query__scan_result__unpack(NULL, r.pbuf.len,
	                                    (const uint8_t *)r.pbuf.data);
	CHECK(res);
	for (size_t i = 0; i < res->n_tokens; i++) {
		const PgQuery__ScanToken *t = res->tokens[i];

		CHECK(t->start >= 0 && t->start <= t->end &&
		      (size_t)t->end <= s->len);
		if (t->token == PG_QUERY__TOKEN__SQL_COMMENT ||
		    t->token == PG_QUERY__TOKEN__C_COMMENT ||
		    t->token == PG_QUERY__TOKEN__ASCII_59)
			continue;
		CHECK(in_some_stmt(s, (size_t)t->start, (size_t)t->end));
	}
	protobuf_c_message_free_unpacked(&res->base, NULL);
	pg_query_free_scan_result(r);
}

static void check_script(const struct strata_script *s, const char *sql,
                         size_t len)
{
	struct sbuf text = SBUF_INIT;
	unsigned flags = 0;
	size_t prev_end = 0;

	CHECK(s->sql == sql && s->len == len);
	CHECK(s->is_parsed == !s->parse_error);
	CHECK(s->is_parsed || s->parse_error_at <= len);
	CHECK(s->n == 0 || s->stmts);
	for (size_t i = 0; i < s->n; i++) {
		const struct strata_stmt *st = &s->stmts[i];

		CHECK(st->offset >= prev_end);
		CHECK(st->len > 0 && st->offset + st->len <= len);
		CHECK(st->token_offset >= st->offset &&
		      st->token_offset < st->offset + st->len);
		/* PostgreSQL 15's space; '\v' is a token there */
		CHECK(!strchr(" \t\n\r\f", sql[st->token_offset]));
		CHECK(!(st->flags & ~(unsigned)KNOWN_FLAGS));
		CHECK(!st->flags || st->what);
		flags |= st->flags;
		prev_end = st->offset + st->len;
		script_stmt_text(&text, s, i);
		CHECK(text.len == st->len);
	}
	CHECK(s->flags == flags);
	sbuf_release(&text);
	check_tokens(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct pg_trees trees = { NULL, NULL, NULL };
	struct strata_script s;
	char *sql = xmalloc(size + 1);
	int rc;

	memcpy(sql, data, size);
	sql[size] = '\0';
	rc = split_pg_keep(&s, sql, size, &trees, &err);
	if (memchr(sql, '\0', size)) {
		CHECK(rc < 0 && err.code == STRATA_EVALIDATE);
	} else if (rc < 0) {
		/* only an unterminated quote or comment, with its place */
		CHECK(err.code == STRATA_EVALIDATE && err.message);
		CHECK(err.line >= 1);
		CHECK(!trees.tree && !trees.tokens);
	} else {
		CHECK(!err.message);
		CHECK(trees.tokens && !trees.tree == !s.is_parsed);
		check_script(&s, sql, size);
	}
	pg_trees_release(&trees);
	script_release(&s);
	strata_error_release(&err);
	free(sql);
	return 0;
}
