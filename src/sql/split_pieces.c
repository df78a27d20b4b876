/*
 * Large texts (past PG_PIECES_FROM bytes), a piece of whole statements at
 * a time: a piece is first cut at the next ';' byte past PG_PIECE_SIZE,
 * and where that cut is no statement's end, at a statement end the
 * scanner's split finds; each piece is parsed and scanned alone, its
 * locations shifted to the whole text's, and its trees freed before the
 * next, so memory stays a small multiple of the piece, not of the file.
 */
#include "sql/split.h"
#include "sql/splitter.h"
#include "util/xalloc.h"
#include "sql/pgtree.h"
#include "sql/pgparse.h"
#include "sql/pgmem.h"

/* ---- large texts, in pieces --------------------------------------------- */

static bool shift_location(const ProtobufCMessage *m, void *data)
{
	const ProtobufCFieldDescriptor *f =
	        protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
	                                                        "location");
	int32_t *loc;

	if (f && f->type == PROTOBUF_C_TYPE_INT32) {
		loc = (int32_t *)((char *)m + f->offset);
		if (*loc >= 0)
			*loc += *(const int32_t *)data;
	}
	return false;
}

static void shift_piece(PgQuery__ParseResult *tree, PgQuery__ScanResult *toks,
                        size_t from)
{
	int32_t by = (int32_t)from;

	for (size_t i = 0; i < tree->n_stmts; i++) {
		tree->stmts[i]->stmt_location += by;
		node_walk((const ProtobufCMessage *)tree->stmts[i]->stmt,
		          shift_location, &by);
	}
	for (size_t i = 0; i < toks->n_tokens; i++) {
		toks->tokens[i]->start += by;
		toks->tokens[i]->end += by;
	}
}

/*
 * Whether the piece [0, n) of a text ends with a statement: its last token
 * is a ';' ending there. A piece that parses and so ends is cut where the
 * parser of the whole text would cut: a ';' inside a BEGIN ATOMIC body or
 * a CREATE RULE's parentheses makes the piece fail or end otherwise.
 */
static bool ends_statement(const PgQuery__ScanResult *toks, size_t n)
{
	const PgQuery__ScanToken *t;

	if (!toks->n_tokens)
		return false;
	t = toks->tokens[toks->n_tokens - 1];
	return t->token == PG_QUERY__TOKEN__ASCII_59 && (size_t)t->end == n;
}

/* `n` bytes of `sql` as a string of their own (libpg_query reads to NUL) */
static char *piece_copy(const char *sql, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, sql, n);
	p[n] = '\0';
	return p;
}

/*
 * Where a piece from `from` may end: after the `skip`-th ';' past
 * `size` that the scanner finds outside strings, comments and
 * dollar quotes, in a window of `*window` bytes (doubled while it holds
 * none). 0: at the end of the text.
 */
static size_t piece_cut(const char *sql, size_t len, size_t from, size_t size,
                        size_t *window, size_t skip)
{
	for (;;) {
		size_t end = len - from > *window ? from + *window : len;
		char *w = piece_copy(sql + from, end - from);
		PgQuerySplitResult r = pg_query_split_with_scanner(w);
		size_t cut = 0, n = r.error ? 0 : (size_t)r.n_stmts;

		/* the window's last statement may be cut short: not it */
		if (end < len && n)
			n--;
		for (size_t i = 0; i < n; i++) {
			size_t at = (size_t)r.stmts[i]->stmt_location +
			            (size_t)r.stmts[i]->stmt_len;

			if (at < size || w[at] != ';')
				continue;
			if (skip-- == 0) {
				cut = from + at + 1;
				break;
			}
		}
		pg_query_free_split_result(r);
		free(w);
		if (cut || end == len)
			return cut;
		*window *= 2;
	}
}

int pg_piece_next(struct pg_piece *out, const char *sql, size_t len,
                  size_t size, size_t *at)
{
	size_t from = *at, window = 2 * size, skip = 0;
	bool is_scanned = false;

	memset(out, 0, sizeof(*out));
	if (from >= len)
		return 0;
	if (len > INT32_MAX)
		return -1; /* libpg_query's locations are int32 */
	for (;;) {
		size_t cut = 0;
		char *piece;
		struct pg_parse parsed = { 0 };
		struct pg_scan sc;
		PgQuery__ParseResult *tree = NULL;
		PgQuery__ScanResult *toks = NULL;
		struct pgmem *mem;

		if (len - from > size && !is_scanned) {
			/* first the next ';' byte: in a file of INSERTs, most
			 * often a statement's end, and cheapest to find */
			const char *semi = memchr(sql + from + size, ';',
			                          len - from - size);

			cut = semi ? (size_t)(semi - sql) + 1 : 0;
		} else if (len - from > size) {
			cut = piece_cut(sql, len, from, size, &window, skip);
		}
		if (!cut)
			cut = len;
		piece = piece_copy(sql + from, cut - from);
		if (pg_scan(&sc, piece, cut - from, NULL) == 0)
			toks = sc.toks;
		free(sc.error);
		mem = sc.mem;
		/* the tokens size the parser's stack; a piece that cannot be
		 * parsed is left to the whole text, which reports why */
		if (toks &&
		    pg_parse(&parsed, piece, cut - from, toks, NULL) == 0)
			tree = parsed.tree;
		free(parsed.error);
		mem = pgmem_join(mem, parsed.mem);
		free(piece);
		if (tree && toks &&
		    (cut == len || ends_statement(toks, cut - from))) {
			shift_piece(tree, toks, from);
			out->tree = tree;
			out->tokens = toks;
			out->mem = mem;
			*at = cut;
			return 1;
		}
		pgmem_free(mem);
		if (cut == len)
			return -1;
		/* a ';' inside a string, comment or statement (BEGIN ATOMIC):
		 * the scanner's next, then further by twice as many, so that
		 * a long body costs a few parses */
		if (is_scanned)
			skip = skip ? 2 * skip : 1;
		is_scanned = true;
	}
}

void pg_piece_release(struct pg_piece *p)
{
	struct pg_trees t = { p->tree, p->tokens, p->mem };

	pg_trees_release(&t);
	p->tree = p->tokens = NULL;
	p->mem = NULL;
}

static void piece_tokens(struct tokens *out, PgQuery__ScanResult *toks,
                         const char *sql, size_t len)
{
	out->tok = toks->tokens;
	out->n = toks->n_tokens;
	split_fix_unicode_ends(out, sql, len);
	out->last_end = 0;
	for (size_t i = out->n; i-- > 0;) {
		if (!is_comment(out->tok[i])) {
			out->last_end = tok_end(out->tok[i]);
			break;
		}
	}
}

/*
 * split_parsed() of each piece. -1 when some piece does not parse: then
 * nothing is split here. A subscription set to slot_name = NONE in one
 * piece is not known in the next (its DROP stays flagged).
 */
int split_pieces(struct strata_script *out, const char *sql, size_t len)
{
	struct stmts st = { NULL, 0, 0 };
	struct pg_piece p;
	size_t at = 0;
	int r;

	while ((r = pg_piece_next(&p, sql, len, PG_PIECE_SIZE, &at)) > 0) {
		struct tokens toks;

		piece_tokens(&toks, p.tokens, sql, len);
		split_parsed(&st, p.tree, &toks);
		pg_piece_release(&p);
	}
	if (r < 0) {
		for (size_t i = 0; i < st.n; i++)
			stmt_index_free(st.v[i].index);
		free(st.v);
		return -1;
	}
	out->is_parsed = true;
	out->stmts = st.v;
	out->n = st.n;
	for (size_t i = 0; i < out->n; i++)
		out->flags |= out->stmts[i].flags;
	return 0;
}
