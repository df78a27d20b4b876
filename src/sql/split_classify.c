/*
 * What each statement of a parsed text is, from its parse tree: the
 * statements PostgreSQL refuses inside a transaction block (CONCURRENTLY,
 * VACUUM, CREATE DATABASE, ALTER SYSTEM, DROP SUBSCRIPTION with a slot...),
 * the script's own transaction control, and the index a concurrent
 * statement builds or drops (so that a failed one can be named and its
 * invalid index found). When in doubt a statement stays unflagged: the
 * server decides.
 */
#include "sql/split.h"
#include "sql/splitter.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "sql/pgtree.h"

#include <strings.h>

/* Names of subscriptions set to slot_name = NONE earlier in the script. */
struct slotless {
	const char **names; /* borrowed from the parse tree */
	size_t n, alloc;
};

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
		st->index = xcalloc(1, sizeof(*st->index));
		st->index->target = quoted_range_var(ix->relation);
		st->index->name = xstrdup(ix->idxname);
		return;
	}
	if (n->node_case != PG_QUERY__NODE__NODE_REINDEX_STMT || !st->what ||
	    strcmp(stmt_what(st), "REINDEX CONCURRENTLY"))
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
		st->index = xcalloc(1, sizeof(*st->index));
		st->index->target = quoted_range_var(r->relation);
		return;
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SCHEMA:
		if (!r->name || !*r->name)
			return;
		sbuf_add_ident(&q, r->name);
		st->index_kind = 's';
		st->index = xcalloc(1, sizeof(*st->index));
		st->index->target = sbuf_detach(&q, NULL);
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
void split_parsed(struct stmts *out, const PgQuery__ParseResult *tree,
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
		split_add_stmt(out, off, end, first, flags, what);
		concurrent_index_target(&out->v[out->n - 1], raw->stmt);
	}
	free(sl.names);
}
