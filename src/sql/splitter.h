/*
 * What the splitter's files share: split.c (the entry points, the
 * tokens), split_classify.c (the parse tree's split and classification),
 * split_scan.c (the scanner's split of a text the parser rejects) and
 * split_pieces.c (large texts a piece at a time). Nothing here is public.
 */
#ifndef STRATA_SQL_SPLITTER_H
#define STRATA_SQL_SPLITTER_H

#include "util/common.h"
#include "sql/split.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

/* The scanner's tokens of the whole text, in order. */
struct tokens {
	PgQuery__ScanToken **tok;
	size_t n;
	size_t last_end; /* end of the last token that is not a comment */
};

struct stmts {
	struct strata_stmt *v;
	size_t n, alloc;
};

static inline bool is_comment(const PgQuery__ScanToken *t)
{
	return t->token == PG_QUERY__TOKEN__SQL_COMMENT ||
	       t->token == PG_QUERY__TOKEN__C_COMMENT;
}

static inline size_t tok_start(const PgQuery__ScanToken *t)
{
	return (size_t)t->start;
}

static inline size_t tok_end(const PgQuery__ScanToken *t)
{
	return (size_t)t->end;
}

/* Index of the first non-comment token from `i` on that starts at `at` or
 * later; t->n when there is none. */
static inline size_t next_token(const struct tokens *t, size_t i, size_t at)
{
	while (i < t->n && (tok_start(t->tok[i]) < at || is_comment(t->tok[i])))
		i++;
	return i;
}

void split_add_stmt(struct stmts *s, size_t offset, size_t end,
                    size_t token_offset, unsigned flags, const char *what);
/*
 * libpg_query's scanner ends U&'...' and U&"..." tokens where they begin:
 * each such token is made to run to the next token, less the space before.
 */
void split_fix_unicode_ends(struct tokens *t, const char *sql, size_t len);

/* The statements of a parsed text (split_classify.c). */
void split_parsed(struct stmts *out, const PgQuery__ParseResult *tree,
                  const struct tokens *t);
/* The statements of a text the parser rejects (split_scan.c). */
void split_scanned(struct stmts *out, const struct tokens *t);
/* A large text a piece at a time (split_pieces.c); -1 when some piece does
 * not parse, and the text is then split whole. */
int split_pieces(struct strata_script *out, const char *sql, size_t len);

#endif
