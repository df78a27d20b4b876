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
 */
#include "sql/split.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/text.h"
#include "sql/pgtree.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

/* The scanner's tokens of the whole text, in order. */
struct tokens {
	PgQuery__ScanToken **tok;
	size_t n;
	size_t last_end; /* end of the last token that is not a comment */
};

/* Names of subscriptions set to slot_name = NONE earlier in the script. */
struct slotless {
	const char **names; /* borrowed from the parse tree */
	size_t n, alloc;
};

struct stmts {
	struct strata_stmt *v;
	size_t n, alloc;
};

static bool is_comment(const PgQuery__ScanToken *t)
{
	return t->token == PG_QUERY__TOKEN__SQL_COMMENT ||
	       t->token == PG_QUERY__TOKEN__C_COMMENT;
}

static size_t tok_start(const PgQuery__ScanToken *t)
{
	return (size_t)t->start;
}

static size_t tok_end(const PgQuery__ScanToken *t)
{
	return (size_t)t->end;
}

/* Index of the first non-comment token from `i` on that starts at `at` or
 * later; t->n when there is none. */
static size_t next_token(const struct tokens *t, size_t i, size_t at)
{
	while (i < t->n && (tok_start(t->tok[i]) < at || is_comment(t->tok[i])))
		i++;
	return i;
}

static void add_stmt(struct stmts *s, size_t offset, size_t end,
                     size_t token_offset, unsigned flags, const char *what)
{
	struct strata_stmt *st;

	XGROW(s->v, s->alloc, s->n + 1);
	st = &s->v[s->n++];
	st->offset = offset;
	st->len = end - offset;
	st->token_offset = token_offset;
	st->flags = flags;
	st->what = what;
	st->index_kind = 0;
	st->index_target = NULL;
	st->index_name = NULL;
}

/* ---- classification by the parse tree --------------------------------- */

static char *quoted_range_var(const PgQuery__RangeVar *rv)
{
	struct sbuf q = SBUF_INIT;

	if (rv->schemaname && *rv->schemaname) {
		sbuf_add_ident(&q, rv->schemaname);
		sbuf_addch(&q, '.');
	}
	sbuf_add_ident(&q, rv->relname);
	return sbuf_detach(&q, NULL);
}

/*
 * The indexes a concurrent build or rebuild names (see strata_stmt): a
 * failed one leaves an invalid index, which IF NOT EXISTS would keep.
 */
static void concurrent_index_target(struct strata_stmt *st,
                                    const PgQuery__Node *n)
{
	const PgQuery__ReindexStmt *r;
	struct sbuf q = SBUF_INIT;

	if (!n)
		return;
	if (n->node_case == PG_QUERY__NODE__NODE_INDEX_STMT) {
		const PgQuery__IndexStmt *ix = n->index_stmt;

		if (!ix->concurrent || !ix->idxname || !*ix->idxname ||
		    !ix->relation || !ix->relation->relname)
			return;
		st->index_kind = 'c';
		st->index_target = quoted_range_var(ix->relation);
		st->index_name = xstrdup(ix->idxname);
		return;
	}
	if (n->node_case != PG_QUERY__NODE__NODE_REINDEX_STMT || !st->what ||
	    strcmp(st->what, "REINDEX CONCURRENTLY"))
		return;
	r = n->reindex_stmt;
	switch (r->kind) {
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_INDEX:
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_TABLE:
		if (!r->relation || !r->relation->relname)
			return;
		st->index_kind =
		        r->kind == PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_INDEX
		                ? 'i'
		                : 't';
		st->index_target = quoted_range_var(r->relation);
		return;
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SCHEMA:
		if (!r->name || !*r->name)
			return;
		sbuf_add_ident(&q, r->name);
		st->index_kind = 's';
		st->index_target = sbuf_detach(&q, NULL);
		return;
	default:
		return;
	}
}

/*
 * A DefElem's value as the server's defGetString() reads a word or a
 * string: `off` arrives as a type name, `false` and 'x' as strings. NULL
 * for anything else.
 */
static const char *def_word(const PgQuery__DefElem *d)
{
	const PgQuery__Node *arg = d->arg;
	const PgQuery__TypeName *tn;

	if (!arg)
		return NULL;
	if (arg->node_case == PG_QUERY__NODE__NODE_STRING)
		return arg->string->sval;
	if (arg->node_case != PG_QUERY__NODE__NODE_TYPE_NAME)
		return NULL;
	tn = arg->type_name;
	if (tn->n_names != 1 || tn->pct_type || tn->n_array_bounds ||
	    tn->names[0]->node_case != PG_QUERY__NODE__NODE_STRING)
		return NULL;
	return tn->names[0]->string->sval;
}

/*
 * A DefElem's boolean value as the server's defGetBoolean() reads it: no
 * value is true; 0, 1, true, false, on, off. Anything else is an error on
 * the server, and `dflt` here.
 */
static bool def_bool(const PgQuery__DefElem *d, bool dflt)
{
	const char *s;

	if (!d->arg)
		return true;
	if (d->arg->node_case == PG_QUERY__NODE__NODE_INTEGER) {
		if (d->arg->integer->ival == 0 || d->arg->integer->ival == 1)
			return d->arg->integer->ival == 1;
		return dflt;
	}
	if (d->arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN)
		return d->arg->boolean->boolval;
	s = def_word(d);
	if (!s)
		return dflt;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "on"))
		return true;
	if (!strcasecmp(s, "false") || !strcasecmp(s, "off"))
		return false;
	return dflt;
}

static bool opt_bool(PgQuery__Node **opts, size_t n, const char *name,
                     bool dflt)
{
	const PgQuery__DefElem *d = defs_find(opts, n, name);

	return d ? def_bool(d, dflt) : dflt;
}

static bool slotless_has(const struct slotless *sl, const char *name)
{
	for (size_t i = 0; i < sl->n; i++)
		if (!strcmp(sl->names[i], name))
			return true;
	return false;
}

/* ALTER SUBSCRIPTION s SET (slot_name = ...): remember who has no slot. */
static void slotless_note(struct slotless *sl,
                          const PgQuery__AlterSubscriptionStmt *a)
{
	const PgQuery__DefElem *d;
	const char *slot;
	bool is_none;

	if (a->kind !=
	    PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_OPTIONS)
		return;
	d = defs_find(a->options, a->n_options, "slot_name");
	if (!d)
		return;
	/* The server compares with "none" exactly: 'NONE' is a slot name. */
	slot = def_word(d);
	is_none = slot && !strcmp(slot, "none");
	if (is_none && !slotless_has(sl, a->subname)) {
		XGROW(sl->names, sl->alloc, sl->n + 1);
		sl->names[sl->n++] = a->subname;
	} else if (!is_none) {
		for (size_t i = 0; i < sl->n; i++)
			if (!strcmp(sl->names[i], a->subname))
				sl->names[i--] = sl->names[--sl->n];
	}
}

static unsigned classify_txn(const PgQuery__TransactionStmt *t,
                             const char **what)
{
	switch (t->kind) {
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
		*what = "BEGIN";
		return STMT_TXN_CONTROL;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
		*what = "START TRANSACTION";
		return STMT_TXN_CONTROL;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
		*what = "COMMIT"; /* also END */
		return STMT_TXN_CONTROL;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
		*what = "ROLLBACK"; /* also ABORT */
		return STMT_TXN_CONTROL;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_PREPARE:
		*what = "PREPARE TRANSACTION"; /* ends the transaction */
		return STMT_TXN_CONTROL;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT_PREPARED:
		*what = "COMMIT PREPARED";
		return STMT_NO_TXN;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_PREPARED:
		*what = "ROLLBACK PREPARED";
		return STMT_NO_TXN;
	default:
		/* SAVEPOINT, RELEASE, ROLLBACK TO: fine inside ours. */
		return 0;
	}
}

static unsigned classify_reindex(const PgQuery__ReindexStmt *r,
                                 const char **what)
{
	if (opt_bool(r->params, r->n_params, "concurrently", false)) {
		*what = "REINDEX CONCURRENTLY";
		return STMT_NO_TXN;
	}
	switch (r->kind) {
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SCHEMA:
		*what = "REINDEX SCHEMA";
		return STMT_NO_TXN;
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SYSTEM:
		*what = "REINDEX SYSTEM";
		return STMT_NO_TXN;
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_DATABASE:
		*what = "REINDEX DATABASE";
		return STMT_NO_TXN;
	default:
		return 0;
	}
}

static unsigned classify_alter_table(const PgQuery__AlterTableStmt *a,
                                     const char **what)
{
	for (size_t i = 0; i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd;

		if (a->cmds[i]->node_case !=
		    PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		cmd = a->cmds[i]->alter_table_cmd;
		if (cmd->subtype ==
		            PG_QUERY__ALTER_TABLE_TYPE__AT_DetachPartition &&
		    cmd->def &&
		    cmd->def->node_case == PG_QUERY__NODE__NODE_PARTITION_CMD &&
		    cmd->def->partition_cmd->concurrent) {
			*what = "ALTER TABLE ... DETACH PARTITION CONCURRENTLY";
			return STMT_NO_TXN;
		}
	}
	return 0;
}

/*
 * Subscriptions (PostgreSQL 14 and later for the refresh cases): creating
 * or dropping a replication slot, and a refresh that starts table
 * synchronisation, cannot be rolled back.
 */
static unsigned classify_alter_sub(const PgQuery__AlterSubscriptionStmt *a,
                                   const char **what)
{
	switch (a->kind) {
	case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_REFRESH:
		*what = "ALTER SUBSCRIPTION ... REFRESH PUBLICATION";
		return STMT_NO_TXN;
	case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_SET_PUBLICATION:
	case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_ADD_PUBLICATION:
	case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_DROP_PUBLICATION:
		if (!opt_bool(a->options, a->n_options, "refresh", true))
			return 0;
		*what = "ALTER SUBSCRIPTION ... PUBLICATION with refresh";
		return STMT_NO_TXN;
	default:
		return 0;
	}
}

static unsigned classify_create_sub(const PgQuery__CreateSubscriptionStmt *c,
                                    const char **what)
{
	/* connect = false implies create_slot = false. */
	if (!opt_bool(c->options, c->n_options, "connect", true) ||
	    !opt_bool(c->options, c->n_options, "create_slot", true))
		return 0;
	*what = "CREATE SUBSCRIPTION";
	return STMT_NO_TXN;
}

/* The PreventInTransactionBlock() callers of PostgreSQL 15, and more. */
static unsigned classify(const PgQuery__Node *n, struct slotless *sl,
                         const char **what)
{
	*what = NULL;
	if (!n)
		return 0;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
		return classify_txn(n->transaction_stmt, what);
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		if (!n->index_stmt->concurrent)
			return 0;
		*what = "CREATE INDEX CONCURRENTLY";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		if (n->drop_stmt->remove_type !=
		            PG_QUERY__OBJECT_TYPE__OBJECT_INDEX ||
		    !n->drop_stmt->concurrent)
			return 0;
		*what = "DROP INDEX CONCURRENTLY";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_REINDEX_STMT:
		return classify_reindex(n->reindex_stmt, what);
	case PG_QUERY__NODE__NODE_VACUUM_STMT:
		/* ANALYZE alone runs inside a transaction. */
		if (!n->vacuum_stmt->is_vacuumcmd)
			return 0;
		*what = "VACUUM";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT:
		*what = "ALTER SYSTEM";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_CREATEDB_STMT:
		*what = "CREATE DATABASE";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_DROPDB_STMT:
		*what = "DROP DATABASE";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_ALTER_DATABASE_STMT:
		if (!defs_find(n->alter_database_stmt->options,
		               n->alter_database_stmt->n_options, "tablespace"))
			return 0;
		*what = "ALTER DATABASE SET TABLESPACE";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_SPACE_STMT:
		*what = "CREATE TABLESPACE";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_DROP_TABLE_SPACE_STMT:
		*what = "DROP TABLESPACE";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		return classify_alter_table(n->alter_table_stmt, what);
	case PG_QUERY__NODE__NODE_CLUSTER_STMT:
		/* With a table it may still be refused: a partitioned one. */
		if (n->cluster_stmt->relation)
			return 0;
		*what = "CLUSTER";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_CREATE_SUBSCRIPTION_STMT:
		return classify_create_sub(n->create_subscription_stmt, what);
	case PG_QUERY__NODE__NODE_ALTER_SUBSCRIPTION_STMT:
		slotless_note(sl, n->alter_subscription_stmt);
		return classify_alter_sub(n->alter_subscription_stmt, what);
	case PG_QUERY__NODE__NODE_DROP_SUBSCRIPTION_STMT:
		/* Refused when it drops a slot: unless the script detached it.
		 */
		if (slotless_has(sl, n->drop_subscription_stmt->subname))
			return 0;
		*what = "DROP SUBSCRIPTION";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_DISCARD_STMT:
		if (n->discard_stmt->target !=
		    PG_QUERY__DISCARD_MODE__DISCARD_ALL)
			return 0;
		*what = "DISCARD ALL";
		return STMT_NO_TXN;
	case PG_QUERY__NODE__NODE_COPY_STMT:
		if (!n->copy_stmt->is_from || n->copy_stmt->is_program ||
		    (n->copy_stmt->filename && *n->copy_stmt->filename))
			return 0;
		*what = "COPY FROM STDIN";
		return STMT_COPY_STDIN;
	default:
		return 0;
	}
}

/* Statements from the parse tree; the tokens find their first token and
 * their ';'. */
static void split_parsed(struct stmts *out, const PgQuery__ParseResult *tree,
                         const struct tokens *t)
{
	struct slotless sl = { NULL, 0, 0 };
	size_t j = 0;

	for (size_t i = 0; i < tree->n_stmts; i++) {
		const PgQuery__RawStmt *raw = tree->stmts[i];
		size_t off = (size_t)raw->stmt_location, first, end;
		const char *what;
		unsigned flags;

		j = next_token(t, j, off);
		if (j == t->n)
			BUG("parsed statement without tokens");
		first = tok_start(t->tok[j]);
		if (raw->stmt_len > 0) {
			/* stmt_len stops at the ';', which we include. */
			end = off + (size_t)raw->stmt_len;
			j = next_token(t, j, end);
			if (j < t->n &&
			    t->tok[j]->token == PG_QUERY__TOKEN__ASCII_59 &&
			    tok_start(t->tok[j]) == end)
				end = tok_end(t->tok[j]);
		} else {
			/* The last statement, without ';'. */
			end = t->last_end;
		}
		flags = classify(raw->stmt, &sl, &what);
		add_stmt(out, off, end, first, flags, what);
		concurrent_index_target(&out->v[out->n - 1], raw->stmt);
	}
	free(sl.names);
}

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
static void split_scanned(struct stmts *out, const struct tokens *t)
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
		add_stmt(out, gap, end, start, flags, what);
		gap = end;
	}
}

/* ---- large texts, in pieces --------------------------------------------- */

static void fix_unicode_ends(struct tokens *t, const char *sql, size_t len);

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
 * PG_PIECE_SIZE that the scanner finds outside strings, comments and
 * dollar quotes, in a window of `*window` bytes (doubled while it holds
 * none). 0: at the end of the text.
 */
static size_t piece_cut(const char *sql, size_t len, size_t from,
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

			if (at < PG_PIECE_SIZE || w[at] != ';')
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

int pg_piece_next(struct pg_piece *out, const char *sql, size_t len, size_t *at)
{
	size_t from = *at, window = 2 * PG_PIECE_SIZE, skip = 0;
	bool is_scanned = false;

	memset(out, 0, sizeof(*out));
	if (from >= len)
		return 0;
	if (len > INT32_MAX)
		return -1; /* libpg_query's locations are int32 */
	for (;;) {
		size_t cut = 0;
		char *piece;
		PgQueryProtobufParseResult parsed;
		PgQuery__ParseResult *tree = NULL;
		PgQuery__ScanResult *toks = NULL;

		if (len - from > PG_PIECE_SIZE && !is_scanned) {
			/* first the next ';' byte: in a file of INSERTs, most
			 * often a statement's end, and cheapest to find */
			const char *semi =
			        memchr(sql + from + PG_PIECE_SIZE, ';',
			               len - from - PG_PIECE_SIZE);

			cut = semi ? (size_t)(semi - sql) + 1 : 0;
		} else if (len - from > PG_PIECE_SIZE) {
			cut = piece_cut(sql, len, from, &window, skip);
		}
		if (!cut)
			cut = len;
		piece = piece_copy(sql + from, cut - from);
		parsed = pg_query_parse_protobuf(piece);
		if (!parsed.error)
			tree = pg_query__parse_result__unpack(
			        NULL, parsed.parse_tree.len,
			        (const uint8_t *)parsed.parse_tree.data);
		pg_query_free_protobuf_parse_result(parsed);
		if (tree) {
			PgQueryScanResult sc = pg_query_scan(piece);

			if (!sc.error)
				toks = pg_query__scan_result__unpack(
				        NULL, sc.pbuf.len,
				        (const uint8_t *)sc.pbuf.data);
			pg_query_free_scan_result(sc);
		}
		free(piece);
		if (tree && toks &&
		    (cut == len || ends_statement(toks, cut - from))) {
			shift_piece(tree, toks, from);
			out->tree = tree;
			out->tokens = toks;
			*at = cut;
			return 1;
		}
		if (tree)
			protobuf_c_message_free_unpacked(&tree->base, NULL);
		if (toks)
			protobuf_c_message_free_unpacked(&toks->base, NULL);
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
	struct pg_trees t = { p->tree, p->tokens };

	pg_trees_release(&t);
	p->tree = p->tokens = NULL;
}

static void piece_tokens(struct tokens *out, PgQuery__ScanResult *toks,
                         const char *sql, size_t len)
{
	out->tok = toks->tokens;
	out->n = toks->n_tokens;
	fix_unicode_ends(out, sql, len);
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
static int split_pieces(struct strata_script *out, const char *sql, size_t len)
{
	struct stmts st = { NULL, 0, 0 };
	struct pg_piece p;
	size_t at = 0;
	int r;

	while ((r = pg_piece_next(&p, sql, len, &at)) > 0) {
		struct tokens toks;

		piece_tokens(&toks, p.tokens, sql, len);
		split_parsed(&st, p.tree, &toks);
		pg_piece_release(&p);
	}
	if (r < 0) {
		for (size_t i = 0; i < st.n; i++)
			free(st.v[i].index_name);
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

/* ---- the entry points --------------------------------------------------- */

/*
 * libpg_query's scanner ends U&'...' and U&"..." tokens where they begin
 * (or one byte on): such a token runs to the next token, less the space
 * before it, or else a statement ending in one would lose its end.
 */
static void fix_unicode_ends(struct tokens *t, const char *sql, size_t len)
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

static int scan(struct tokens *out, PgQuery__ScanResult **res, const char *sql,
                size_t len, struct strata_error *err)
{
	PgQueryScanResult r = pg_query_scan(sql);
	int rc = -1;

	*res = NULL;
	if (r.error) {
		size_t at = r.error->cursorpos > 0
		                    ? text_char_to_byte(sql, len,
		                                        r.error->cursorpos)
		                    : 0;

		strata_error_set(err, STRATA_EVALIDATE, "%s", r.error->message);
		if (err)
			text_line_col(sql, len, at, &err->line, &err->column);
		goto done;
	}
	*res = pg_query__scan_result__unpack(NULL, r.pbuf.len,
	                                     (const uint8_t *)r.pbuf.data);
	if (!*res) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not decode the SQL scanner's result");
		goto done;
	}
	out->tok = (*res)->tokens;
	out->n = (*res)->n_tokens;
	fix_unicode_ends(out, sql, len);
	out->last_end = 0;
	for (size_t i = out->n; i-- > 0;) {
		if (!is_comment(out->tok[i])) {
			out->last_end = tok_end(out->tok[i]);
			break;
		}
	}
	rc = 0;
done:
	pg_query_free_scan_result(r);
	return rc;
}

int split_pg(struct strata_script *out, const char *sql, size_t len,
             struct strata_error *err)
{
	return split_pg_keep(out, sql, len, NULL, err);
}

int split_pg_keep(struct strata_script *out, const char *sql, size_t len,
                  struct pg_trees *keep, struct strata_error *err)
{
	PgQueryProtobufParseResult parsed;
	PgQuery__ParseResult *tree = NULL;
	PgQuery__ScanResult *scanned = NULL;
	struct tokens toks;
	struct stmts st = { NULL, 0, 0 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->sql = sql;
	out->len = len;
	if (strlen(sql) != len)
		return strata_error_set(err, STRATA_EVALIDATE,
		                        "SQL text holds a NUL byte");
	if (len > PG_PIECES_FROM && split_pieces(out, sql, len) == 0)
		return 0; /* no trees kept: the linter parses the pieces */

	parsed = pg_query_parse_protobuf(sql);
	if (parsed.error) {
		int pos = parsed.error->cursorpos;

		out->parse_error = xstrdup(parsed.error->message);
		/* cursorpos counts characters from 1, as the server's. */
		out->parse_error_at =
		        pos > 0 ? text_char_to_byte(sql, len, pos) : 0;
	} else {
		out->is_parsed = true;
		tree = pg_query__parse_result__unpack(
		        NULL, parsed.parse_tree.len,
		        (const uint8_t *)parsed.parse_tree.data);
		if (!tree) {
			strata_error_set(err, STRATA_EFAILED,
			                 "could not decode the SQL parse tree");
			goto done;
		}
	}
	if (scan(&toks, &scanned, sql, len, err) < 0)
		goto done;
	if (tree)
		split_parsed(&st, tree, &toks);
	else
		split_scanned(&st, &toks);
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
		keep->tree = tree;
		keep->tokens = scanned;
		tree = NULL;
		scanned = NULL;
	}
	if (tree)
		protobuf_c_message_free_unpacked(&tree->base, NULL);
	if (scanned)
		protobuf_c_message_free_unpacked(&scanned->base, NULL);
	pg_query_free_protobuf_parse_result(parsed);
	if (rc < 0) {
		script_release(out);
		out->sql = sql;
		out->len = len;
	}
	return rc;
}

void script_release(struct strata_script *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->stmts[i].index_name);
		free(s->stmts[i].index_target);
	}
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
	if (t->tree)
		protobuf_c_message_free_unpacked(
		        &((PgQuery__ParseResult *)t->tree)->base, NULL);
	if (t->tokens)
		protobuf_c_message_free_unpacked(
		        &((PgQuery__ScanResult *)t->tokens)->base, NULL);
	t->tree = t->tokens = NULL;
}
