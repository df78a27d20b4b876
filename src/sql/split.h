/* Statements: split.c for PostgreSQL, the SQLite driver for SQLite */
#ifndef STRATA_SQL_SPLIT_H
#define STRATA_SQL_SPLIT_H

#include "util/common.h"
#include "util/sbuf.h"

enum stmt_flag {
	STMT_NO_TXN = 1 << 0,      /* refused inside a transaction block */
	STMT_TXN_CONTROL = 1 << 1, /* BEGIN, COMMIT, ROLLBACK, START, END */
	STMT_COPY_STDIN = 1 << 2, /* COPY … FROM STDIN: needs a data stream */
};

/* What a concurrent build or rebuild names (see strata_stmt.index_kind). */
struct strata_stmt_index {
	char *target;
	char *name;
};

/*
 * One statement, by place in the script's text (never a copy of it): a
 * script of a million INSERTs holds a million of these, so it takes 24
 * bytes (32-bit places: split refuses a text of 4 GiB or more, what it is
 * by a number, see stmt_what()) and what few need more is allocated apart.
 */
struct strata_stmt {
	uint32_t offset; /* bytes into the script, including leading comments */
	uint32_t token_offset; /* the first token after comments and space */
	uint32_t len; /* through the terminating ';', if there is one */
	uint16_t flags;
	/*
	 * What a concurrent build or rebuild may leave invalid, found in the
	 * catalog by `index` (never by the statement's text): index_kind 'c'
	 * CREATE INDEX CONCURRENTLY of index->name (unquoted, in the schema of
	 * the table index->target); 'i', 't', 's' REINDEX ... CONCURRENTLY of
	 * the index, table or schema index->target (quoted for SQL); 0: none
	 * (and index NULL).
	 */
	char index_kind;
	uint8_t what; /* when flagged, see stmt_what(); 0: none */
	struct strata_stmt_index *index;
};

/* What a flagged statement is ("CREATE INDEX CONCURRENTLY"...), or NULL. */
const char *stmt_what(const struct strata_stmt *st);
/* The number of `what` (NULL: 0) for strata_stmt.what. */
uint8_t stmt_what_id(const char *what);

/* The longest text split: statements' lengths are 32-bit. */
#define SPLIT_MAX_LEN ((size_t)UINT32_MAX)

struct strata_script {
	const char *sql; /* borrowed: the file's text */
	size_t len;
	struct strata_stmt *stmts;
	size_t n;
	bool is_parsed;        /* false: the parser rejected the text */
	char *parse_error;     /* the parser's message when !is_parsed */
	size_t parse_error_at; /* its byte offset */
	unsigned flags;        /* union of the statements' flags */
};

void script_release(struct strata_script *s);
void stmt_index_free(struct strata_stmt_index *ix);
/* The statement's text, NUL-terminated, in `sb` (reset first). */
void script_stmt_text(struct sbuf *sb, const struct strata_script *s, size_t i);

/*
 * Splits PostgreSQL SQL with libpg_query's parser and classifies each
 * statement. Text the parser rejects is split by libpg_query's scanner
 * instead (is_parsed = false, parse_error set): the server stays the judge
 * of syntax newer than the parser's. Fails (STRATA_EVALIDATE, with line and
 * column) only when even the scanner rejects the text: an unterminated
 * quote or comment.
 */
int split_pg(struct strata_script *out, const char *sql, size_t len,
             struct strata_error *err);

/* libpg_query's unpacked trees of one text (PgQuery__ParseResult and
 * PgQuery__ScanResult), parsed once for splitting and linting. */
struct pg_trees {
	void *tree;        /* NULL when the parser rejected the text */
	void *tokens;      /* NULL when even the scanner did */
	struct pgmem *mem; /* what both are made of */
};

/* split_pg() that also hands over its trees (release them). */
int split_pg_keep(struct strata_script *out, const char *sql, size_t len,
                  struct pg_trees *keep, struct strata_error *err);
void pg_trees_release(struct pg_trees *t);

/*
 * A text past PG_PIECES_FROM bytes is parsed a piece (about PG_PIECE_SIZE
 * bytes of whole statements) at a time, its trees freed before the next:
 * its memory stays a small multiple of the piece, not of the file (the
 * trees of a whole file take fifty times its size). split_pg_keep() then
 * keeps no trees, and the linter parses the pieces again itself.
 */
#define PG_PIECES_FROM (4u << 20)
#define PG_PIECE_SIZE  (128u << 10)
/*
 * The linter (which keeps no tree past its statement) lints a text past
 * LINT_PIECES_FROM bytes in pieces of about LINT_PIECE_SIZE: its memory
 * then follows the largest statement, not the file.
 */
#define LINT_PIECES_FROM (256u << 10)
#define LINT_PIECE_SIZE  (64u << 10)

struct pg_piece {
	void *tree;        /* PgQuery__ParseResult, locations as in the text */
	void *tokens;      /* PgQuery__ScanResult, likewise */
	struct pgmem *mem; /* what both are made of */
};

/*
 * The next piece of `sql` from `*at`, which it advances, of whole
 * statements from the first ';' past `size` bytes: 1 with a piece,
 * 0 at the end, -1 when the rest does not parse (the caller then takes the
 * whole text, which reports the error as the parser sees it).
 */
int pg_piece_next(struct pg_piece *out, const char *sql, size_t len,
                  size_t size, size_t *at);
void pg_piece_release(struct pg_piece *p);

#endif
