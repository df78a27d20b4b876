/*
 * Splitting SQLite migrations (the SQLite driver's split()). SQL is split
 * and classified by SQLite's own code, never by a tokenizer of ours:
 * sqlite3_complete() finds where statements end (trigger bodies, strings
 * and comments stay whole) and sqlite3_prepare_v2() on a private
 * `:memory:` connection, with an authorizer, tells what each statement is.
 */
#include "sql/split_sqlite.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/text.h"
#include "util/sqlite_lib.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/*
 * A private `:memory:` connection on which statements are prepared, never
 * run, so that SQLite's own parser says what they are. The script is
 * read where it lies (a copy of a large file would double its memory);
 * sqlite3_complete(), which reads to a NUL, gets a copy of one statement.
 */
struct classifier {
	sqlite3 *db;
	unsigned flags;   /* what the authorizer saw */
	const char *text; /* the script, NUL-terminated */
	char *copy;       /* the script's copy, when the caller's ends no NUL */
	size_t len;
	struct sbuf buf;
};

static int authorize(void *data, int action, const char *arg1, const char *arg2,
                     const char *dbname, const char *trigger)
{
	struct classifier *k = data;

	UNUSED(arg1);
	UNUSED(arg2);
	UNUSED(dbname);
	UNUSED(trigger);
	/* BEGIN, COMMIT, END and ROLLBACK (not SAVEPOINT, RELEASE, ROLLBACK
	 * TO, which nest inside the migration's transaction) */
	if (action == SQLITE_TRANSACTION)
		k->flags |= STMT_TXN_CONTROL;
	/*
	 * Some pragmas act while they are prepared (cache_size, and the
	 * process-wide soft_heap_limit or temp_store_directory). Refused, a
	 * pragma fails to prepare and counts as an ordinary statement.
	 */
	if (action == SQLITE_PRAGMA)
		return SQLITE_DENY;
	return SQLITE_OK;
}

static int classifier_init(struct classifier *k, const char *sql, size_t len,
                           struct strata_error *err)
{
	const char *nul = memchr(sql, '\0', len);
	int rc;

	memset(k, 0, sizeof(*k));
	sbuf_init(&k->buf, 0);
	if (nul)
		return strata_error_set(
		        err, STRATA_EVALIDATE,
		        "SQL text holds a NUL byte at offset %zu",
		        (size_t)(nul - sql));
	rc = sqlite3_open_v2(":memory:", &k->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not open an SQLite memory database: %s",
		                 k->db ? sqlite3_errmsg(k->db)
		                       : sqlite3_errstr(rc));
		sqlite3_close(k->db);
		k->db = NULL;
		return -1;
	}
	sqlite3_set_authorizer(k->db, authorize, k);
	/* prepare() reads to a NUL (given a length, SQLite copies the text) */
	if (sql[len] == '\0')
		k->text = sql;
	else
		k->text = k->copy = xstrndup(sql, len);
	k->len = len;
	return 0;
}

static void classifier_release(struct classifier *k)
{
	sqlite3_close(k->db);
	k->db = NULL;
	free(k->copy);
	k->copy = NULL;
	k->text = NULL;
	sbuf_release(&k->buf);
}

/*
 * Whether `p[0..n)` holds no SQL, only whitespace, comments and empty
 * statements: prepare then gives no statement and no error.
 */
static bool is_blank(struct classifier *k, const char *p, size_t n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!n)
		return true;
	if (n > INT_MAX)
		return false;
	rc = sqlite3_prepare_v2(k->db, p, (int)n, &st, NULL);
	sqlite3_finalize(st);
	return rc == SQLITE_OK && !st;
}

/*
 * Offset of the first token of `p[0..n)` (n when there is none), found
 * with is_blank() on prefixes, so SQLite decides what whitespace and
 * comments are. A prefix ending before the first token is blank, unless it
 * cuts a comment's opening: SQLite reads a final `-` or `/`, and a final
 * `/ *` too, as operators. A prefix ending after the first token never is.
 * So "one of the prefixes of i, i + 1 and i + 2 bytes is blank" holds
 * exactly for i <= token, and the token is the last i where it holds,
 * found by galloping and then bisecting: O(log n) prepares of prefixes
 * about twice as long as the leading comments.
 */
static bool holds(struct classifier *k, const char *p, size_t n, size_t i)
{
	for (size_t j = i; j <= n && j <= i + 2; j++)
		if (is_blank(k, p, j))
			return true;
	return false;
}

static size_t first_token(struct classifier *k, const char *p, size_t n)
{
	size_t lo = 0, hi = 1;

	while (hi <= n && holds(k, p, n, hi)) {
		lo = hi;
		hi = hi * 2 > n ? n + 1 : hi * 2;
	}
	/* holds(lo), and hi is past n or !holds(hi) */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (holds(k, p, n, mid))
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * VACUUM consults no authorizer (SQLite has no action code for it), but it
 * compiles to the Vacuum opcode, which EXPLAIN lists: SQLite's compiler
 * recognises it, whatever the spelling (VACUUM, VACUUM schema, VACUUM
 * INTO). `p` starts at the statement's first token.
 */
static bool is_vacuum(struct classifier *k, const char *p, size_t n)
{
	sqlite3_stmt *st = NULL;
	bool found = false;

	sbuf_reset(&k->buf);
	sbuf_adds(&k->buf, "EXPLAIN ");
	sbuf_add(&k->buf, p, n);
	if (k->buf.len > INT_MAX ||
	    sqlite3_prepare_v2(k->db, k->buf.buf, (int)k->buf.len, &st, NULL) !=
	            SQLITE_OK)
		goto done;
	while (st && !found && sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *op = sqlite3_column_text(st, 1);

		found = op && strcmp((const char *)op, "Vacuum") == 0;
	}
done:
	sqlite3_finalize(st);
	return found;
}

/*
 * Classifies `p[0..n)`, a statement without its final `;`, by preparing
 * it. Returns false when it holds no SQL. A statement that does not
 * prepare here (typically "no such table", its tables being created by
 * earlier statements that have not run) is an ordinary statement.
 */
static bool classify(struct classifier *k, struct strata_stmt *out,
                     const char *p, size_t n)
{
	sqlite3_stmt *st = NULL;
	unsigned seen;
	size_t tok;
	int rc;

	if (n > INT_MAX)
		return true;
	k->flags = 0;
	rc = sqlite3_prepare_v2(k->db, p, (int)n, &st, NULL);
	seen = k->flags;
	if (rc == SQLITE_OK && !st)
		return false;
	tok = first_token(k, p, n);
	out->token_offset = (uint32_t)(out->offset + tok);
	if (st && (seen & STMT_TXN_CONTROL)) {
		out->flags |= STMT_TXN_CONTROL;
	} else if (st && !sqlite3_stmt_readonly(st) &&
	           is_vacuum(k, p + tok, n - tok)) {
		out->flags |= STMT_NO_TXN;
		out->what = stmt_what_id("VACUUM");
	}
	sqlite3_finalize(st);
	return true;
}

/* Whether sqlite3_complete() finds text[start..semi] complete. */
static bool is_complete_at(struct classifier *k, size_t start, size_t semi)
{
	sbuf_reset(&k->buf);
	sbuf_add(&k->buf, k->text + start, semi + 1 - start);
	return sqlite3_complete(k->buf.buf) != 0;
}

/*
 * Where the statement starting at `start` ends: the first `;` after which
 * sqlite3_complete() finds the text complete (not in a string, a comment
 * or a trigger body). Returns false when none does.
 *
 * Asking at every `;` costs the statement's length each time, which is
 * quadratic for many `;` in strings or comments; so SQLite's parser is
 * asked first. It stops right after the `;` that ends the statement, also
 * when it finds an error there ("no such table"), and sqlite3_complete()
 * confirms that `;`. Only when it stops elsewhere (an error inside the
 * statement) is every `;` tried.
 */
static bool find_end(struct classifier *k, size_t start, size_t *out)
{
	const char *s = k->text + start, *tail = NULL;
	sqlite3_stmt *st = NULL;

	sqlite3_prepare_v2(k->db, s, -1, &st, &tail);
	sqlite3_finalize(st);
	if (tail && tail > s && tail[-1] == ';' &&
	    is_complete_at(k, start, (size_t)(tail - 1 - k->text))) {
		*out = (size_t)(tail - 1 - k->text);
		return true;
	}
	for (size_t j = start; j < k->len; j++) {
		if (k->text[j] == ';' && is_complete_at(k, start, j)) {
			*out = j;
			return true;
		}
	}
	return false;
}

/*
 * Whether the text from `start` to the end is a whole statement once a
 * `;` ends it: not inside a string, a quoted name or a trigger body (the
 * newline first, so that a trailing -- comment does not swallow the `;`).
 */
static bool is_complete_tail(const struct classifier *k, size_t start)
{
	struct sbuf sb = SBUF_INIT;
	bool is_complete;

	sbuf_add(&sb, k->text + start, k->len - start);
	sbuf_adds(&sb, "\n;");
	is_complete = sqlite3_complete(sb.buf) != 0;
	sbuf_release(&sb);
	return is_complete;
}

/*
 * Splits SQLite SQL. Each statement runs from just after the previous
 * statement's `;` (leading whitespace and comments included, as
 * libpg_query's locations do) up to, not including, its own `;`; text
 * after the last `;` is a statement when it holds any SQL. Empty
 * statements (`;;`, a comment before `;`) are none: their text leads the
 * next statement, whose first prepare skips it as SQLite always does.
 */
int split_sqlite(struct strata_script *out, const char *sql, size_t len,
                 struct strata_error *err)
{
	struct classifier k;
	size_t start = 0, pos = 0, alloc = 0;

	memset(out, 0, sizeof(*out));
	out->sql = sql;
	out->len = len;
	if (sqlite_load(err) < 0)
		return -1;
	if (len > SPLIT_MAX_LEN)
		return strata_error_set(
		        err, STRATA_EVALIDATE,
		        "SQL text of %zu bytes is too long to split (4 GiB at most)",
		        len);
	if (classifier_init(&k, sql, len, err) < 0) {
		classifier_release(&k);
		return -1;
	}
	while (pos < len) {
		size_t end, next;
		struct strata_stmt st = { 0 };

		if (find_end(&k, pos, &end)) {
			next = end + 1;
		} else {
			end = len;
			next = len;
		}
		st.offset = (uint32_t)start;
		st.len = (uint32_t)(end - start);
		if (classify(&k, &st, sql + start, end - start)) {
			/* what SQLite would refuse only once the statements
			 * before it ran: refused before anything runs */
			if (next == len && end == len &&
			    !is_complete_tail(&k, start)) {
				strata_error_set(
				        err, STRATA_EVALIDATE,
				        "the last statement does not end: an unterminated string, quoted name or trigger body");
				if (err) {
					strata_error_hint(
					        err,
					        "Close it, and end the statement with ';'.");
					text_line_col(sql, len, st.token_offset,
					              &err->line, &err->column);
				}
				script_release(out);
				classifier_release(&k);
				return -1;
			}
			XGROW(out->stmts, alloc, out->n + 1);
			out->stmts[out->n++] = st;
			out->flags |= st.flags;
			start = next;
		}
		pos = next;
	}
	out->is_parsed = true;
	classifier_release(&k);
	return 0;
}
