/*
 * Splits a PostgreSQL script into statements and classifies them, with
 * libpg_query: the PostgreSQL 15 parser gives the statements and their parse
 * trees, and its scanner gives the tokens, so comments, strings, dollar
 * quotes, CREATE RULE action lists and BEGIN ATOMIC bodies are all seen as
 * the server sees them. The text is parsed once and scanned once.
 *
 * A statement's text runs from the end of the previous statement (so it
 * holds its leading comments) through its terminating ';', which is
 * included. A last statement without ';' ends at its last token: trailing
 * comments and space after it belong to no statement.
 *
 * Text the parser rejects (syntax newer than PostgreSQL 15, or a real
 * error) is not refused here: the server stays the judge. It is split on
 * the scanner's tokens as psql splits it (';' outside parentheses and
 * outside a CREATE FUNCTION ... BEGIN ... END body), and only what the
 * first tokens say is classified. pg_query_split_with_scanner() is not
 * used: it drops statements that hold no keyword ("SELEC 1;") and
 * everything after an unbalanced parenthesis, and it cuts BEGIN ATOMIC
 * bodies, and a split must never lose SQL.
 *
 * What this module doesn't do: decide what a flag means for a migration
 * (migrate.c does), or look at the database. CLUSTER of a partitioned table
 * is refused in a transaction block too, but only the server knows the
 * table is partitioned: it stays unflagged. DROP SUBSCRIPTION is refused
 * when the subscription has a replication slot, which is the default: it
 * is flagged unless the script set its slot_name = NONE before.
 *
 * This file holds the entry points and the tokens; the parse tree's split
 * and classification are in split_classify.c, the scanner's split in
 * split_scan.c, large texts in split_pieces.c, sharing splitter.h.
 */
#include "sql/split.h"
#include "sql/splitter.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/text.h"
#include "sql/pgtree.h"
#include "sql/pgparse.h"
#include "sql/pgmem.h"

#include <assert.h>

/* a file of a million INSERTs holds a million of these */
_Static_assert(sizeof(struct strata_stmt) <= 24,
               "a statement's entry outgrew its 24 bytes");

/* Every `what` the classifiers give, by number (a pointer is 8 bytes). */
static const char *const whats[] = {
	NULL,
	"BEGIN",
	"START TRANSACTION",
	"COMMIT",
	"ROLLBACK",
	"PREPARE TRANSACTION",
	"COMMIT PREPARED",
	"ROLLBACK PREPARED",
	"REINDEX CONCURRENTLY",
	"REINDEX SCHEMA",
	"REINDEX SYSTEM",
	"REINDEX DATABASE",
	"ALTER TABLE ... DETACH PARTITION CONCURRENTLY",
	"ALTER SUBSCRIPTION ... REFRESH PUBLICATION",
	"ALTER SUBSCRIPTION ... PUBLICATION with refresh",
	"CREATE SUBSCRIPTION",
	"CREATE INDEX CONCURRENTLY",
	"DROP INDEX CONCURRENTLY",
	"VACUUM",
	"ALTER SYSTEM",
	"CREATE DATABASE",
	"DROP DATABASE",
	"ALTER DATABASE SET TABLESPACE",
	"CREATE TABLESPACE",
	"DROP TABLESPACE",
	"CLUSTER",
	"DROP SUBSCRIPTION",
	"DISCARD ALL",
	"COPY FROM STDIN",
};

uint8_t stmt_what_id(const char *what)
{
	if (!what)
		return 0;
	for (size_t i = 1; i < ARRAY_SIZE(whats); i++)
		if (!strcmp(whats[i], what))
			return (uint8_t)i;
	BUG("a statement's kind missing from whats[]");
}

const char *stmt_what(const struct strata_stmt *st)
{
	return st->what < ARRAY_SIZE(whats) ? whats[st->what] : NULL;
}

void split_add_stmt(struct stmts *s, size_t offset, size_t end,
                    size_t token_offset, unsigned flags, const char *what)
{
	struct strata_stmt *st;

	XGROW(s->v, s->alloc, s->n + 1);
	st = &s->v[s->n++];
	st->offset = (uint32_t)offset;
	st->len = (uint32_t)(end - offset);
	st->token_offset = (uint32_t)token_offset;
	st->flags = (uint16_t)flags;
	st->what = stmt_what_id(what);
	st->index_kind = 0;
	st->index = NULL;
}

/* ---- the entry points --------------------------------------------------- */

/*
 * libpg_query's scanner ends U&'...' and U&"..." tokens where they begin
 * (or one byte on): such a token runs to the next token, less the space
 * before it, or else a statement ending in one would lose its end.
 */
void split_fix_unicode_ends(struct tokens *t, const char *sql, size_t len)
{
	for (size_t i = 0; i < t->n; i++) {
		PgQuery__ScanToken *tk = t->tok[i];
		size_t end = i + 1 < t->n ? tok_start(t->tok[i + 1]) : len;

		if (tk->token != PG_QUERY__TOKEN__USCONST &&
		    tk->token != PG_QUERY__TOKEN__UIDENT)
			continue;
		while (end > tok_start(tk) &&
		       memchr(" \t\n\r\f", sql[end - 1], 5))
			end--;
		tk->end = (int32_t)end;
	}
}

static int scan(struct tokens *out, PgQuery__ScanResult **res,
                struct pgmem **mem, const char *sql, size_t len,
                struct strata_error *err)
{
	struct pg_scan s;

	*res = NULL;
	*mem = NULL;
	if (pg_scan(&s, sql, len, err) < 0)
		return -1;
	if (s.error) {
		strata_error_set(err, STRATA_EVALIDATE, "%s", s.error);
		if (err)
			text_line_col(sql, len, s.error_at, &err->line,
			              &err->column);
		pg_scan_release(&s);
		return -1;
	}
	*res = s.toks;
	*mem = s.mem;
	out->tok = (*res)->tokens;
	out->n = (*res)->n_tokens;
	split_fix_unicode_ends(out, sql, len);
	out->last_end = 0;
	for (size_t i = out->n; i-- > 0;) {
		if (!is_comment(out->tok[i])) {
			out->last_end = tok_end(out->tok[i]);
			break;
		}
	}
	return 0;
}

int split_pg(struct strata_script *out, const char *sql, size_t len,
             struct strata_error *err)
{
	return split_pg_keep(out, sql, len, NULL, err);
}

int split_pg_keep(struct strata_script *out, const char *sql, size_t len,
                  struct pg_trees *keep, struct strata_error *err)
{
	struct pg_parse parsed = { 0 };
	PgQuery__ScanResult *scanned = NULL;
	struct pgmem *scanned_mem = NULL;
	struct tokens toks;
	struct stmts st = { NULL, 0, 0 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->sql = sql;
	out->len = len;
	if (strlen(sql) != len)
		return strata_error_set(err, STRATA_EVALIDATE,
		                        "SQL text holds a NUL byte");
	if (len > SPLIT_MAX_LEN)
		return strata_error_set(
		        err, STRATA_EVALIDATE,
		        "SQL text of %zu bytes is too long to split (4 GiB at most)",
		        len);
	if (len > PG_PIECES_FROM && split_pieces(out, sql, len) == 0)
		return 0; /* no trees kept: the linter parses the pieces */

	/* the tokens first: they size the parser's stack */
	if (scan(&toks, &scanned, &scanned_mem, sql, len, err) < 0 ||
	    pg_parse(&parsed, sql, len, scanned, err) < 0)
		goto done;
	if (parsed.tree) {
		out->is_parsed = true;
		split_parsed(&st, parsed.tree, &toks);
	} else {
		out->parse_error = parsed.error;
		out->parse_error_at = parsed.error_at;
		parsed.error = NULL;
		split_scanned(&st, &toks);
	}
	out->stmts = st.v;
	out->n = st.n;
	st.v = NULL;
	for (size_t i = 0; i < out->n; i++)
		out->flags |= out->stmts[i].flags;
	rc = 0;
done:
	free(st.v);
	if (keep && rc == 0) {
		/* handed over: the linter reads the same trees */
		keep->tree = parsed.tree;
		keep->tokens = scanned;
		keep->mem = pgmem_join(parsed.mem, scanned_mem);
		parsed.tree = NULL;
		parsed.mem = scanned_mem = NULL;
	}
	pg_parse_release(&parsed);
	pgmem_free(scanned_mem);
	if (rc < 0) {
		script_release(out);
		out->sql = sql;
		out->len = len;
	}
	return rc;
}

void stmt_index_free(struct strata_stmt_index *ix)
{
	if (!ix)
		return;
	free(ix->target);
	free(ix->name);
	free(ix);
}

void script_release(struct strata_script *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		stmt_index_free(s->stmts[i].index);
	free(s->stmts);
	free(s->parse_error);
	memset(s, 0, sizeof(*s));
}

void script_stmt_text(struct sbuf *sb, const struct strata_script *s, size_t i)
{
	const struct strata_stmt *st;

	assert(i < s->n);
	st = &s->stmts[i];
	sbuf_reset(sb);
	sbuf_add(sb, s->sql + st->offset, st->len);
}

void pg_trees_release(struct pg_trees *t)
{
	pgmem_free(t->mem);
	t->tree = t->tokens = NULL;
	t->mem = NULL;
}
