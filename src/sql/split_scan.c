/*
 * The split of a text the parser rejects, on the scanner's tokens as psql
 * splits it: ';' outside parentheses and outside a CREATE FUNCTION ...
 * BEGIN ... END body; only what a statement's first tokens say is
 * classified, and a split never loses SQL.
 */
#include "sql/split.h"
#include "sql/splitter.h"

/* ---- the scanner's split, for text the parser rejects ------------------ */

struct prefix {
	PgQuery__Token tok[4]; /* 0-terminated */
	unsigned flags;
	const char *what;
};

/* First match wins; flags 0 marks what must not be taken for a shorter
 * prefix. When in doubt a statement stays unflagged: the server decides. */
static const struct prefix prefixes[] = {
#define T(x) PG_QUERY__TOKEN__##x
	{ { T(BEGIN_P), T(ATOMIC) }, 0, NULL },
	{ { T(BEGIN_P) }, STMT_TXN_CONTROL, "BEGIN" },
	{ { T(START), T(TRANSACTION) }, STMT_TXN_CONTROL, "START TRANSACTION" },
	{ { T(COMMIT), T(PREPARED) }, STMT_NO_TXN, "COMMIT PREPARED" },
	{ { T(COMMIT) }, STMT_TXN_CONTROL, "COMMIT" },
	{ { T(END_P) }, STMT_TXN_CONTROL, "COMMIT" },
	{ { T(ROLLBACK), T(PREPARED) }, STMT_NO_TXN, "ROLLBACK PREPARED" },
	{ { T(ROLLBACK), T(TO) }, 0, NULL },
	{ { T(ROLLBACK), T(WORK), T(TO) }, 0, NULL },
	{ { T(ROLLBACK), T(TRANSACTION), T(TO) }, 0, NULL },
	{ { T(ROLLBACK) }, STMT_TXN_CONTROL, "ROLLBACK" },
	{ { T(ABORT_P) }, STMT_TXN_CONTROL, "ROLLBACK" },
	{ { T(PREPARE), T(TRANSACTION) },
	  STMT_TXN_CONTROL,
	  "PREPARE TRANSACTION" },
	{ { T(VACUUM) }, STMT_NO_TXN, "VACUUM" },
	{ { T(CREATE), T(INDEX), T(CONCURRENTLY) },
	  STMT_NO_TXN,
	  "CREATE INDEX CONCURRENTLY" },
	{ { T(CREATE), T(UNIQUE), T(INDEX), T(CONCURRENTLY) },
	  STMT_NO_TXN,
	  "CREATE INDEX CONCURRENTLY" },
	{ { T(DROP), T(INDEX), T(CONCURRENTLY) },
	  STMT_NO_TXN,
	  "DROP INDEX CONCURRENTLY" },
	{ { T(ALTER), T(SYSTEM_P) }, STMT_NO_TXN, "ALTER SYSTEM" },
	{ { T(CREATE), T(DATABASE) }, STMT_NO_TXN, "CREATE DATABASE" },
	{ { T(DROP), T(DATABASE) }, STMT_NO_TXN, "DROP DATABASE" },
	{ { T(CREATE), T(TABLESPACE) }, STMT_NO_TXN, "CREATE TABLESPACE" },
	{ { T(DROP), T(TABLESPACE) }, STMT_NO_TXN, "DROP TABLESPACE" },
	{ { T(DISCARD), T(ALL) }, STMT_NO_TXN, "DISCARD ALL" },
#undef T
};

static unsigned classify_prefix(const PgQuery__Token *first, size_t n,
                                const char **what)
{
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		const struct prefix *p = &prefixes[i];
		size_t k = 0;

		while (k < ARRAY_SIZE(p->tok) && p->tok[k] && k < n &&
		       p->tok[k] == first[k])
			k++;
		if (k == ARRAY_SIZE(p->tok) || !p->tok[k]) {
			*what = p->what;
			return p->flags;
		}
	}
	*what = NULL;
	return 0;
}

static bool is_word(const PgQuery__ScanToken *t)
{
	return t->token == PG_QUERY__TOKEN__IDENT ||
	       t->keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD;
}

/*
 * psql's rule (psqlscan.l): a ';' ends a statement outside parentheses and
 * outside the BEGIN ... END of CREATE [OR REPLACE] FUNCTION|PROCEDURE,
 * where CASE ... END nests. Every token that is not a comment lands in a
 * statement, whatever the text's errors.
 */
void split_scanned(struct stmts *out, const struct tokens *t)
{
	size_t gap = 0; /* where the next statement's text begins */
	size_t i = 0;

	for (;;) {
		PgQuery__Token first[4] = { 0 }, prev = PG_QUERY__TOKEN__NUL;
		size_t nfirst = 0, nwords = 0, depth = 0, begins = 0;
		PgQuery__Token words[4] = { 0 };
		size_t start, end;
		bool is_routine = false, is_copy_stdin = false;
		const char *what;
		unsigned flags;

		while (i < t->n &&
		       (is_comment(t->tok[i]) ||
		        t->tok[i]->token == PG_QUERY__TOKEN__ASCII_59)) {
			if (t->tok[i]->token == PG_QUERY__TOKEN__ASCII_59)
				gap = tok_end(t->tok[i]);
			i++;
		}
		if (i == t->n)
			break;
		start = tok_start(t->tok[i]);
		end = tok_end(t->tok[i]);
		for (; i < t->n; i++) {
			const PgQuery__ScanToken *tk = t->tok[i];
			PgQuery__Token k = tk->token;

			if (is_comment(tk))
				continue;
			end = tok_end(tk);
			if (k == PG_QUERY__TOKEN__ASCII_59 && !depth &&
			    !begins) {
				i++;
				break;
			}
			if (nfirst < ARRAY_SIZE(first))
				first[nfirst++] = k;
			if (k == PG_QUERY__TOKEN__ASCII_40)
				depth++;
			else if (k == PG_QUERY__TOKEN__ASCII_41 && depth)
				depth--;
			if (is_word(tk) && nwords < ARRAY_SIZE(words))
				words[nwords++] = k;
			if (nwords == 2 || nwords == 4)
				is_routine =
				        words[0] == PG_QUERY__TOKEN__CREATE &&
				        (words[1] ==
				                 PG_QUERY__TOKEN__FUNCTION ||
				         words[1] ==
				                 PG_QUERY__TOKEN__PROCEDURE ||
				         (words[1] == PG_QUERY__TOKEN__OR &&
				          words[2] ==
				                  PG_QUERY__TOKEN__REPLACE &&
				          (words[3] ==
				                   PG_QUERY__TOKEN__FUNCTION ||
				           words[3] ==
				                   PG_QUERY__TOKEN__PROCEDURE)));
			if (is_routine && !depth) {
				if (k == PG_QUERY__TOKEN__BEGIN_P ||
				    (k == PG_QUERY__TOKEN__CASE && begins))
					begins++;
				else if (k == PG_QUERY__TOKEN__END_P && begins)
					begins--;
			}
			if (!depth && prev == PG_QUERY__TOKEN__FROM &&
			    k == PG_QUERY__TOKEN__STDIN &&
			    first[0] == PG_QUERY__TOKEN__COPY)
				is_copy_stdin = true;
			prev = k;
		}
		flags = classify_prefix(first, nfirst, &what);
		if (is_copy_stdin) {
			flags = STMT_COPY_STDIN;
			what = "COPY FROM STDIN";
		}
		split_add_stmt(out, gap, end, start, flags, what);
		gap = end;
	}
}
