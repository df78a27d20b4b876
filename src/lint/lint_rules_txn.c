/*
 * The rules on transactions: BEGIN and COMMIT as the file's statements
 * pair them, enum values (used in the transaction that added them, or
 * added without a position), and the DDL of a -- no-transaction file that
 * fails when the file runs a second time (a crash leaves such a file half
 * applied). Their rows are in lint_rules[] (lint_rules.c).
 */
#include "util/common.h"
#include "sql/pgtree.h"
#include "lint/lint.h"
#include "lint/rules.h"

#include <string.h>

/* ---- transactions ----------------------------------------------------------
 */

static bool is_begin(const PgQuery__Node *n)
{
	return IS(n, TRANSACTION_STMT) &&
	       (n->transaction_stmt->kind ==
	                PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN ||
	        n->transaction_stmt->kind ==
	                PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START);
}

static bool is_commit(const PgQuery__Node *n)
{
	return IS(n, TRANSACTION_STMT) &&
	       (n->transaction_stmt->kind ==
	                PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT ||
	        n->transaction_stmt->kind ==
	                PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK);
}

void rule_transaction_nesting(struct lint_ctx *c, const PgQuery__Node *n)
{
	if (is_begin(n) && c->in_txn)
		lint_report(
		        c, -1, NULL,
		        "BEGIN inside the transaction already open: PostgreSQL ignores it, and the first COMMIT ends the outer transaction");
	else if (is_commit(n) && !c->in_txn)
		lint_report(
		        c, -1, NULL,
		        "%s outside a transaction: there is nothing to end",
		        n->transaction_stmt->kind ==
		                        PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT
		                ? "COMMIT"
		                : "ROLLBACK");
}

void rule_ban_uncommitted_transaction(struct lint_ctx *c,
                                      const PgQuery__Node *n)
{
	UNUSED(n);
	if (c->is_end && c->is_explicit_txn)
		lint_report(
		        c, c->begin_at, NULL,
		        "the transaction begun here is never committed: the file ends inside it");
}

/* ---- enums ------------------------------------------------------------------
 */

void rule_enum_value_without_position(struct lint_ctx *c,
                                      const PgQuery__Node *n)
{
	const PgQuery__AlterEnumStmt *e;

	if (!IS(n, ALTER_ENUM_STMT))
		return;
	e = n->alter_enum_stmt;
	if (!*e->new_val || *e->old_val || *e->new_val_neighbor ||
	    lint_is_new_type(c, e->type_name, e->n_type_name))
		return;
	lint_report(
	        c, -1, NULL,
	        "value '%s' is appended after the last value of enum '%s': ORDER BY sorts it last",
	        e->new_val, lint_names(c, e->type_name, e->n_type_name));
}

struct enum_use {
	const struct lint_ctx *c;
	const PgQuery__AConst *hit;
};

static bool find_enum_use(const ProtobufCMessage *m, void *data)
{
	struct enum_use *u = data;
	const PgQuery__AConst *k;

	if (m->descriptor != &pg_query__a__const__descriptor)
		return false;
	k = (const PgQuery__AConst *)m;
	if (k->val_case != PG_QUERY__A__CONST__VAL_SVAL ||
	    !lint_txn_enum_value(u->c, k->sval->sval))
		return false;
	u->hit = k;
	return true;
}

void rule_enum_value_used_in_transaction(struct lint_ctx *c,
                                         const PgQuery__Node *n)
{
	struct enum_use u = { c, NULL };

	if (!c->in_txn || !lint_has_txn_enum_values(c) ||
	    IS(n, ALTER_ENUM_STMT))
		return;
	if (!node_walk(node_message(n), find_enum_use, &u))
		return;
	lint_report(
	        c, u.hit->location, NULL,
	        "enum value '%s' of '%s' is used in the transaction that added it: PostgreSQL refuses that until the value is committed",
	        u.hit->sval->sval, lint_txn_enum_value(c, u.hit->sval->sval));
}
/* ---- statements that must survive a second run ----------------------------
 */

static const char *drop_kind(PgQuery__ObjectType t)
{
	switch (t) {
	case OBJ(TABLE):
		return "DROP TABLE";
	case OBJ(INDEX):
		return "DROP INDEX";
	case OBJ(VIEW):
		return "DROP VIEW";
	case OBJ(MATVIEW):
		return "DROP MATERIALIZED VIEW";
	case OBJ(SEQUENCE):
		return "DROP SEQUENCE";
	case OBJ(TYPE):
		return "DROP TYPE";
	case OBJ(DOMAIN):
		return "DROP DOMAIN";
	case OBJ(SCHEMA):
		return "DROP SCHEMA";
	case OBJ(EXTENSION):
		return "DROP EXTENSION";
	case OBJ(FUNCTION):
		return "DROP FUNCTION";
	case OBJ(TRIGGER):
		return "DROP TRIGGER";
	default:
		return "DROP";
	}
}

/* What a statement would fail on when run twice, or NULL. */
static const char *fragile(const struct lint_ctx *c, const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		return n->create_stmt->if_not_exists
		               ? NULL
		               : lint_strfmt(
		                         c,
		                         "CREATE TABLE '%s' without IF NOT EXISTS",
		                         lint_rv_name(
		                                 c, n->create_stmt->relation));
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		if (n->index_stmt->if_not_exists || !*n->index_stmt->idxname)
			return NULL;
		return lint_strfmt(
		        c, "CREATE INDEX%s '%s' without IF NOT EXISTS",
		        n->index_stmt->concurrent ? " CONCURRENTLY" : "",
		        n->index_stmt->idxname);
	case PG_QUERY__NODE__NODE_DROP_STMT:
		if (n->drop_stmt->missing_ok || !n->drop_stmt->n_objects)
			return NULL;
		return lint_strfmt(
		        c, "%s '%s' without IF EXISTS",
		        drop_kind(n->drop_stmt->remove_type),
		        rules_drop_object_name(c, n->drop_stmt->objects[0]));
	case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
		return n->create_seq_stmt->if_not_exists
		               ? NULL
		               : lint_strfmt(
		                         c,
		                         "CREATE SEQUENCE '%s' without IF NOT EXISTS",
		                         lint_rv_name(
		                                 c,
		                                 n->create_seq_stmt->sequence));
	case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
		return n->create_schema_stmt->if_not_exists
		               ? NULL
		               : lint_strfmt(
		                         c,
		                         "CREATE SCHEMA '%s' without IF NOT EXISTS",
		                         n->create_schema_stmt->schemaname);
	case PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT:
		return n->create_extension_stmt->if_not_exists
		               ? NULL
		               : lint_strfmt(
		                         c,
		                         "CREATE EXTENSION '%s' without IF NOT EXISTS",
		                         n->create_extension_stmt->extname);
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
		if (n->create_table_as_stmt->if_not_exists ||
		    !n->create_table_as_stmt->into)
			return NULL;
		return lint_strfmt(
		        c, "CREATE %s '%s' without IF NOT EXISTS",
		        n->create_table_as_stmt->objtype == OBJ(MATVIEW)
		                ? "MATERIALIZED VIEW"
		                : "TABLE AS",
		        lint_rv_name(c, n->create_table_as_stmt->into->rel));
	case PG_QUERY__NODE__NODE_VIEW_STMT:
		return n->view_stmt->replace
		               ? NULL
		               : lint_strfmt(
		                         c,
		                         "CREATE VIEW '%s' without OR REPLACE",
		                         lint_rv_name(c, n->view_stmt->view));
	case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
		return n->create_function_stmt->replace
		               ? NULL
		               : lint_strfmt(
		                         c, "CREATE %s '%s' without OR REPLACE",
		                         n->create_function_stmt->is_procedure
		                                 ? "PROCEDURE"
		                                 : "FUNCTION",
		                         lint_names(c,
		                                    n->create_function_stmt
		                                            ->funcname,
		                                    n->create_function_stmt
		                                            ->n_funcname));
	case PG_QUERY__NODE__NODE_ALTER_ENUM_STMT:
		if (!*n->alter_enum_stmt->new_val ||
		    *n->alter_enum_stmt->old_val ||
		    n->alter_enum_stmt->skip_if_new_val_exists)
			return NULL;
		return lint_strfmt(c, "ADD VALUE '%s' without IF NOT EXISTS",
		                   n->alter_enum_stmt->new_val);
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		for (size_t i = 0; i < n->alter_table_stmt->n_cmds; i++) {
			const PgQuery__AlterTableCmd *cmd =
			        rules_cmd_of(n->alter_table_stmt->cmds[i]);
			const PgQuery__ColumnDef *d;

			if (!cmd || cmd->missing_ok)
				continue;
			if (cmd->subtype == AT(AddColumn) &&
			    (d = rules_cmd_coldef(cmd)))
				return lint_strfmt(
				        c,
				        "ADD COLUMN '%s' without IF NOT EXISTS",
				        d->colname);
			if (cmd->subtype == AT(DropColumn))
				return lint_strfmt(
				        c, "DROP COLUMN '%s' without IF EXISTS",
				        cmd->name);
			if (cmd->subtype == AT(DropConstraint))
				return lint_strfmt(
				        c,
				        "DROP CONSTRAINT '%s' without IF EXISTS",
				        cmd->name);
		}
		return NULL;
	default:
		return NULL;
	}
}

void rule_prefer_robust_stmts(struct lint_ctx *c, const PgQuery__Node *n)
{
	const char *what;

	if (!(what = fragile(c, n)))
		return;
	if (c->in_txn) {
		if (!c->is_robust_notes)
			return;
		/* a failure undoes the whole transaction: a second run starts
		 * from the same state, so only a note (squawk's warning) */
		c->on.flags |= LINT_ON_NOTE;
		lint_report(
		        c, -1,
		        "Harmless while it runs in one transaction; write it to run twice (IF NOT EXISTS, IF EXISTS, OR REPLACE) if the file may ever run without one.",
		        "%s fails if this statement runs a second time", what);
		return;
	}
	lint_report(
	        c, -1,
	        rules_concurrent_form(n) && IS(n, INDEX_STMT)
	                ? "Precede it with DROP INDEX CONCURRENTLY IF EXISTS: an interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index of that name, which IF NOT EXISTS would keep."
	                : NULL,
	        "%s fails when this non-transactional file runs again after failing part-way",
	        what);
}
