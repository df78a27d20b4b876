/*
 * What a statement did, recorded after the rules have looked at it, for
 * the rules of later statements: the tables, indexes and types it created
 * (exempt from the lock rules), column types, NOT VALID constraints and
 * their validation, enum values added in the open transaction, whether
 * lock_timeout is set, and the transaction the next statement runs in.
 */
#include "lint/session.h"
#include "util/arena.h"
#include "util/strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- tracking what statements did -----------------------------------------
 */

static void put_type(struct strata_lint *l, const char *rel, const char *col,
                     const PgQuery__TypeName *tn)
{
	struct lint_type *t;

	if (!rel || !col || !tn)
		return;
	t = arena_alloc(&l->arena, sizeof(*t));
	lint_type_of(t, tn);
	t->name = arena_strdup(&l->arena, t->name);
	strmap_put(&l->columns, &l->arena, lint_key(l, rel, col), t);
}

/* The column of CHECK (col IS NOT NULL), or NULL. */
static const char *not_null_check_column(const PgQuery__Constraint *k)
{
	const PgQuery__Node *e = k->raw_expr;
	const PgQuery__ColumnRef *ref;

	if (!e || e->node_case != PG_QUERY__NODE__NODE_NULL_TEST ||
	    e->null_test->nulltesttype !=
	            PG_QUERY__NULL_TEST_TYPE__IS_NOT_NULL ||
	    !e->null_test->arg ||
	    e->null_test->arg->node_case != PG_QUERY__NODE__NODE_COLUMN_REF)
		return NULL;
	ref = e->null_test->arg->column_ref;
	return ref->n_fields == 1 ? node_string(ref->fields[0]) : NULL;
}

static void track_alter_table(struct lint_ctx *c,
                              const PgQuery__AlterTableStmt *a)
{
	struct strata_lint *l = c->l;
	const char *rel = a->relation ? a->relation->relname : NULL;

	if (!rel)
		return;
	for (size_t i = 0; i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd;
		const PgQuery__Constraint *k;
		const char *col, *con;

		if (a->cmds[i]->node_case !=
		    PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		cmd = a->cmds[i]->alter_table_cmd;
		switch (cmd->subtype) {
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn:
			if (cmd->def && cmd->def->node_case ==
			                        PG_QUERY__NODE__NODE_COLUMN_DEF)
				put_type(l, rel, cmd->def->column_def->colname,
				         cmd->def->column_def->type_name);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType:
			if (cmd->def && cmd->def->node_case ==
			                        PG_QUERY__NODE__NODE_COLUMN_DEF)
				put_type(l, rel, cmd->name,
				         cmd->def->column_def->type_name);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
			if (!cmd->def ||
			    cmd->def->node_case !=
			            PG_QUERY__NODE__NODE_CONSTRAINT)
				break;
			k = cmd->def->constraint;
			/* unnamed: the name PostgreSQL will give it */
			con = lint_constraint_name(l, rel, k);
			if (!k->skip_validation || !con)
				break;
			col = k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK
			              ? not_null_check_column(k)
			              : NULL;
			if (col)
				strmap_put(&l->checks, &l->arena,
				           lint_key(l, rel, con),
				           arena_strdup(&l->arena, col));
			if (c->in_txn)
				strmap_put(&l->txn_not_valid, &l->arena,
				           lint_key(l, rel, con), NULL);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraint:
			col = strmap_get(&l->checks,
			                 lint_key(l, rel, cmd->name));
			if (col)
				strmap_put(&l->validated, &l->arena,
				           lint_key(l, rel, col), NULL);
			else if (!strmap_has(&l->checks,
			                     lint_key(l, rel, cmd->name)))
				strmap_put(&l->validated, &l->arena,
				           lint_key(l, rel, NULL), NULL);
			break;
		default:
			break;
		}
	}
}

static void track_create(struct strata_lint *l, const PgQuery__CreateStmt *s)
{
	const char *rel = s->relation->relname;

	strmap_put(&l->new_rels, &l->arena, rel, NULL);
	for (size_t i = 0; i < s->n_table_elts; i++)
		if (s->table_elts[i]->node_case ==
		    PG_QUERY__NODE__NODE_COLUMN_DEF)
			put_type(l, rel, s->table_elts[i]->column_def->colname,
			         s->table_elts[i]->column_def->type_name);
}

static void track_rename(struct strata_lint *l, const PgQuery__RenameStmt *r)
{
	const struct lint_type *t;
	const char *old;

	if (!r->relation)
		return;
	if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE &&
	    strmap_has(&l->new_rels, r->relation->relname))
		strmap_put(&l->new_rels, &l->arena, r->newname, NULL);
	else if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_INDEX &&
	         strmap_has(&l->new_indexes, r->relation->relname))
		strmap_put(&l->new_indexes, &l->arena, r->newname, NULL);
	else if ((r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE ||
	          r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_INDEX ||
	          r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW) &&
	         r->newname && *r->newname) {
		/* the database knows it by its old name */
		old = strmap_get(&l->renamed, r->relation->relname);
		strmap_put(&l->renamed, &l->arena, r->newname,
		           arena_strdup(&l->arena,
		                        old ? old : r->relation->relname));
	}
	if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN &&
	    r->subname && r->newname) {
		old = strmap_get(&l->renamed_cols,
		                 lint_key(l, r->relation->relname, r->subname));
		old = arena_strdup(&l->arena, old ? old : r->subname);
		strmap_put(&l->renamed_cols, &l->arena,
		           lint_key(l, r->relation->relname, r->newname),
		           (void *)old);
	}
	if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN) {
		t = strmap_get(&l->columns,
		               lint_key(l, r->relation->relname, r->subname));
		if (t)
			strmap_put(
			        &l->columns, &l->arena,
			        lint_key(l, r->relation->relname, r->newname),
			        (void *)t);
	}
}

/* A lock_timeout value that sets one: not 0 in any unit. */
static bool is_timeout_on(const PgQuery__Node *v)
{
	const char *s;
	char *end;
	double d;

	if (!v || v->node_case != PG_QUERY__NODE__NODE_A_CONST)
		return false;
	switch (v->a_const->val_case) {
	case PG_QUERY__A__CONST__VAL_IVAL:
		return v->a_const->ival->ival > 0;
	case PG_QUERY__A__CONST__VAL_FVAL:
		s = v->a_const->fval->fval;
		break;
	case PG_QUERY__A__CONST__VAL_SVAL:
		s = v->a_const->sval->sval;
		break;
	default:
		return false;
	}
	errno = 0;
	d = strtod(s, &end);
	return end != s && !errno && d > 0;
}

/* SELECT set_config('lock_timeout', '5s', ...) */
static void track_set_config(struct lint_ctx *c, const PgQuery__SelectStmt *s)
{
	for (size_t i = 0; i < s->n_target_list; i++) {
		const PgQuery__Node *t = s->target_list[i];
		const PgQuery__FuncCall *f;
		const PgQuery__Node *name;

		if (t->node_case != PG_QUERY__NODE__NODE_RES_TARGET ||
		    !t->res_target->val ||
		    t->res_target->val->node_case !=
		            PG_QUERY__NODE__NODE_FUNC_CALL)
			continue;
		f = t->res_target->val->func_call;
		if (f->n_args < 2 || !names_last(f->funcname, f->n_funcname) ||
		    strcmp(names_last(f->funcname, f->n_funcname),
		           "set_config") != 0)
			continue;
		name = f->args[0];
		if (name->node_case == PG_QUERY__NODE__NODE_A_CONST &&
		    name->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL &&
		    !strcmp(name->a_const->sval->sval, "lock_timeout"))
			c->has_lock_timeout = is_timeout_on(f->args[1]);
	}
}

void lint_end_txn(struct lint_ctx *c)
{
	strmap_clear(&c->l->txn_not_valid);
	strmap_clear(&c->l->txn_enum);
}

static void track_txn(struct lint_ctx *c, const PgQuery__TransactionStmt *t)
{
	switch (t->kind) {
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
		if (!c->in_txn) {
			c->in_txn = c->is_explicit_txn = true;
			c->begin_at = (int)c->stmt_at;
		}
		break;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
		lint_end_txn(c);
		if (!t->chain)
			c->in_txn = c->is_explicit_txn = false;
		break;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_PREPARE:
		lint_end_txn(c);
		c->in_txn = c->is_explicit_txn = false;
		break;
	default:
		break;
	}
}

void lint_track(struct lint_ctx *c, const PgQuery__Node *n)
{
	struct strata_lint *l = c->l;
	const char *name;

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		track_create(l, n->create_stmt);
		break;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
		if (n->create_table_as_stmt->into &&
		    n->create_table_as_stmt->into->rel)
			strmap_put(&l->new_rels, &l->arena,
			           n->create_table_as_stmt->into->rel->relname,
			           NULL);
		break;
	case PG_QUERY__NODE__NODE_VIEW_STMT:
		strmap_put(&l->new_rels, &l->arena, n->view_stmt->view->relname,
		           NULL);
		break;
	case PG_QUERY__NODE__NODE_SELECT_STMT:
		if (n->select_stmt->into_clause &&
		    n->select_stmt->into_clause->rel)
			strmap_put(&l->new_rels, &l->arena,
			           n->select_stmt->into_clause->rel->relname,
			           NULL);
		track_set_config(c, n->select_stmt);
		break;
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		if (*n->index_stmt->idxname)
			strmap_put(&l->new_indexes, &l->arena,
			           n->index_stmt->idxname, NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
		name = names_last(n->create_enum_stmt->type_name,
		                  n->create_enum_stmt->n_type_name);
		if (name)
			strmap_put(&l->new_types, &l->arena, name, NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
		name = names_last(n->create_domain_stmt->domainname,
		                  n->create_domain_stmt->n_domainname);
		if (name)
			strmap_put(&l->new_types, &l->arena, name, NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		track_alter_table(c, n->alter_table_stmt);
		break;
	case PG_QUERY__NODE__NODE_RENAME_STMT:
		track_rename(l, n->rename_stmt);
		break;
	case PG_QUERY__NODE__NODE_ALTER_ENUM_STMT:
		if (c->in_txn && *n->alter_enum_stmt->new_val &&
		    !*n->alter_enum_stmt->old_val)
			strmap_put(&l->txn_enum, &l->arena,
			           n->alter_enum_stmt->new_val,
			           (void *)lint_names(
			                   c, n->alter_enum_stmt->type_name,
			                   n->alter_enum_stmt->n_type_name));
		break;
	case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
		if (strcmp(n->variable_set_stmt->name, "lock_timeout") != 0)
			break;
		c->has_lock_timeout =
		        n->variable_set_stmt->kind ==
		                PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE &&
		        n->variable_set_stmt->n_args == 1 &&
		        is_timeout_on(n->variable_set_stmt->args[0]);
		break;
	case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
		track_txn(c, n->transaction_stmt);
		break;
	default:
		break;
	}
	lint_track_names(l, n);
	if (!c->in_txn)
		lint_end_txn(c); /* the statement committed on its own */
}
