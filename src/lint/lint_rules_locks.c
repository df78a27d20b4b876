/*
 * The rules on locks: indexes built, dropped, rebuilt or detached without
 * CONCURRENTLY (and CONCURRENTLY where a transaction forbids it), and
 * statements that hold a blocking lock on an existing table: without
 * lock_timeout, LOCK TABLE, VACUUM FULL, CLUSTER, REFRESH MATERIALIZED
 * VIEW. Their rows are in lint_rules[] (lint_rules.c).
 */
#include "util/common.h"
#include "sql/pgtree.h"
#include "lint/lint.h"
#include "lint/rules.h"

#include <string.h>

/* ---- indexes and CONCURRENTLY ---------------------------------------------
 */

void rule_require_concurrent_index_creation(struct lint_ctx *c,
                                            const PgQuery__Node *n)
{
	const PgQuery__IndexStmt *s;

	if (!IS(n, INDEX_STMT))
		return;
	s = n->index_stmt;
	if (s->concurrent || !s->relation || lint_is_new_rel(c, s->relation))
		return;
	lint_on(c, s->relation, NULL, LINT_ON_SIZE);
	lint_report(
	        c, s->relation->location, NULL,
	        "creating %s on '%s' without CONCURRENTLY blocks writes to the table while the index builds",
	        *s->idxname ? lint_strfmt(c, "index '%s'", s->idxname)
	                    : "an index",
	        lint_rv_name(c, s->relation));
}

void rule_require_concurrent_index_deletion(struct lint_ctx *c,
                                            const PgQuery__Node *n)
{
	const PgQuery__DropStmt *s;

	if (!IS(n, DROP_STMT))
		return;
	s = n->drop_stmt;
	if (s->remove_type != OBJ(INDEX) || s->concurrent)
		return;
	/* each index: with a database, the ones it lacks are no hazard */
	for (size_t i = 0; i < s->n_objects; i++) {
		if (lint_is_new_index(c, rules_drop_object_last(s->objects[i])))
			continue;
		lint_on_object(c, s->objects[i], LINT_ON_INDEX | LINT_ON_SIZE);
		lint_report(
		        c, -1, NULL,
		        "dropping index '%s' without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table",
		        rules_drop_object_name(c, s->objects[i]));
	}
}

void rule_require_concurrent_reindex(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__ReindexStmt *s;
	const char *what;

	if (!IS(n, REINDEX_STMT))
		return;
	s = n->reindex_stmt;
	if (defs_find(s->params, s->n_params, "concurrently") &&
	    def_is_true(defs_find(s->params, s->n_params, "concurrently")))
		return;
	switch (s->kind) {
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_INDEX:
		if (s->relation && lint_is_new_index(c, s->relation->relname))
			return;
		lint_on(c, s->relation, NULL, LINT_ON_INDEX | LINT_ON_SIZE);
		what = lint_strfmt(c, "index '%s'",
		                   lint_rv_name(c, s->relation));
		break;
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_TABLE:
		if (lint_is_new_rel(c, s->relation))
			return;
		lint_on(c, s->relation, NULL, LINT_ON_SIZE);
		what = lint_strfmt(c, "table '%s'",
		                   lint_rv_name(c, s->relation));
		break;
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SCHEMA:
		what = lint_strfmt(c, "schema '%s'", s->name);
		break;
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_DATABASE:
		what = "the database";
		break;
	default:
		return; /* SYSTEM has no CONCURRENTLY */
	}
	lint_report(
	        c, -1,
	        c->pg_version >= 120000
	                ? NULL
	                : "Before PostgreSQL 12 there is no REINDEX CONCURRENTLY: build a new index with CREATE INDEX CONCURRENTLY, then drop the old one concurrently.",
	        "REINDEX of %s without CONCURRENTLY blocks writes, and reads that use the indexes, until it ends",
	        what);
}

void rule_require_concurrent_detach_partition(struct lint_ctx *c,
                                              const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = rules_alter_existing(c, n);

	if (c->pg_version < 140000)
		return; /* no DETACH CONCURRENTLY before 14 */
	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = rules_cmd_of(a->cmds[i]);
		const PgQuery__PartitionCmd *p;

		if (!cmd || cmd->subtype != AT(DetachPartition) || !cmd->def ||
		    !IS(cmd->def, PARTITION_CMD))
			continue;
		p = cmd->def->partition_cmd;
		if (p->concurrent)
			continue;
		lint_on(c, p->name, NULL, LINT_ON_SIZE);
		lint_report(
		        c, p->name ? p->name->location : -1, NULL,
		        "detaching partition '%s' from '%s' without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on '%s'",
		        lint_rv_name(c, p->name), lint_rv_name(c, a->relation),
		        lint_rv_name(c, a->relation));
	}
}

void rule_ban_concurrently_in_transaction(struct lint_ctx *c,
                                          const PgQuery__Node *n)
{
	const char *what = rules_concurrent_form(n);

	if (!what || !c->in_txn)
		return;
	lint_report(
	        c, -1,
	        c->is_explicit_txn
	                ? "Move it out of the file's BEGIN ... COMMIT: it must run on its own."
	                : NULL,
	        "%s cannot run inside a transaction block, and this file runs in one",
	        what);
}

/* ---- locks ------------------------------------------------------------------
 */

/* The existing relation a statement locks so that reads or writes wait
 * (ACCESS EXCLUSIVE, EXCLUSIVE, SHARE [ROW EXCLUSIVE]), or NULL. */
static const char *heavy_lock(const struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__RangeVar *rv = NULL;

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		rv = n->alter_table_stmt->relation;
		if (rv && !lint_is_new_rel(c, rv))
			return rv->relname;
		for (size_t i = 0; i < n->alter_table_stmt->n_cmds; i++) {
			const PgQuery__AlterTableCmd *cmd =
			        rules_cmd_of(n->alter_table_stmt->cmds[i]);
			const PgQuery__Constraint *k;

			if (cmd && (k = rules_cmd_constraint(cmd)) &&
			    k->contype == CONSTR(FOREIGN) &&
			    !lint_is_new_rel(c, k->pktable))
				return k->pktable->relname;
		}
		return NULL;
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		for (size_t i = 0; i < n->create_stmt->n_table_elts; i++) {
			const PgQuery__Node *e = n->create_stmt->table_elts[i];
			struct coldef_info info;

			if (IS(e, CONSTRAINT) &&
			    e->constraint->contype == CONSTR(FOREIGN) &&
			    !lint_is_new_rel(c, e->constraint->pktable))
				return e->constraint->pktable->relname;
			if (!IS(e, COLUMN_DEF))
				continue;
			rules_coldef_info(&info, e->column_def);
			if (info.fk && !lint_is_new_rel(c, info.fk->pktable))
				return info.fk->pktable->relname;
		}
		return NULL;
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		rv = n->index_stmt->concurrent ? NULL : n->index_stmt->relation;
		break;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		if (n->drop_stmt->concurrent || !n->drop_stmt->n_objects)
			return NULL;
		switch (n->drop_stmt->remove_type) {
		case OBJ(INDEX):
			for (size_t i = 0; i < n->drop_stmt->n_objects; i++)
				if (!lint_is_new_index(
				            c,
				            rules_drop_object_last(
				                    n->drop_stmt->objects[i])))
					return rules_drop_object_last(
					        n->drop_stmt->objects[i]);
			return NULL;
		case OBJ(TABLE):
		case OBJ(VIEW):
		case OBJ(MATVIEW):
			for (size_t i = 0; i < n->drop_stmt->n_objects; i++) {
				PgQuery__RangeVar r = PG_QUERY__RANGE_VAR__INIT;
				const char *name = rules_drop_object_last(
				        n->drop_stmt->objects[i]);

				r.relname = (char *)(name ? name : "");
				if (!lint_is_new_rel(c, &r))
					return name;
			}
			return NULL;
		default:
			return NULL;
		}
	case PG_QUERY__NODE__NODE_RENAME_STMT:
		rv = n->rename_stmt->relation;
		if (rv && n->rename_stmt->rename_type == OBJ(INDEX))
			return lint_is_new_index(c, rv->relname) ? NULL
			                                         : rv->relname;
		break;
	case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
	case PG_QUERY__NODE__NODE_LOCK_STMT: {
		PgQuery__Node **rels = IS(n, TRUNCATE_STMT)
		                               ? n->truncate_stmt->relations
		                               : n->lock_stmt->relations;
		size_t nrels = IS(n, TRUNCATE_STMT)
		                       ? n->truncate_stmt->n_relations
		                       : n->lock_stmt->n_relations;

		for (size_t i = 0; i < nrels; i++)
			if (IS(rels[i], RANGE_VAR) &&
			    !lint_is_new_rel(c, rels[i]->range_var))
				return rels[i]->range_var->relname;
		return NULL;
	}
	case PG_QUERY__NODE__NODE_CLUSTER_STMT:
		rv = n->cluster_stmt->relation;
		break;
	case PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT:
		rv = n->refresh_mat_view_stmt->concurrent
		             ? NULL
		             : n->refresh_mat_view_stmt->relation;
		break;
	case PG_QUERY__NODE__NODE_CREATE_TRIG_STMT:
		rv = n->create_trig_stmt->relation;
		break;
	case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT:
		rv = n->create_policy_stmt->table;
		break;
	case PG_QUERY__NODE__NODE_REINDEX_STMT:
		if (rules_concurrent_form(n))
			return NULL;
		rv = n->reindex_stmt->relation;
		if (rv &&
		    n->reindex_stmt->kind ==
		            PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_INDEX)
			return lint_is_new_index(c, rv->relname) ? NULL
			                                         : rv->relname;
		break;
	default:
		return NULL;
	}
	return rv && !lint_is_new_rel(c, rv) ? rv->relname : NULL;
}

void rule_require_lock_timeout(struct lint_ctx *c, const PgQuery__Node *n)
{
	const char *rel;

	if (c->has_lock_timeout || c->is_lock_timeout_reported ||
	    !(rel = heavy_lock(c, n)))
		return;
	lint_report(
	        c, -1, NULL,
	        "'%s' is locked with no lock_timeout set: waiting behind a long query, this statement blocks every query on '%s' queued after it",
	        rel, rel);
	c->is_lock_timeout_reported = true;
}

/* A statement_timeout value that bounds anything: above 0. */
static bool is_bounded(const PgQuery__Node *v)
{
	const char *s;

	if (!v || !IS(v, A_CONST))
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
	return strtod(s, NULL) > 0;
}

/* SET [LOCAL] statement_timeout, or SELECT set_config('statement_timeout',
 * ...): whether `n` sets it, and to what. */
static bool sets_statement_timeout(const PgQuery__Node *n, bool *is_on)
{
	if (IS(n, VARIABLE_SET_STMT)) {
		const PgQuery__VariableSetStmt *v = n->variable_set_stmt;

		if (strcmp(v->name, "statement_timeout") != 0)
			return false;
		*is_on =
		        v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE &&
		        v->n_args == 1 && is_bounded(v->args[0]);
		return true;
	}
	if (!IS(n, SELECT_STMT))
		return false;
	for (size_t i = 0; i < n->select_stmt->n_target_list; i++) {
		const PgQuery__Node *t = n->select_stmt->target_list[i];
		const PgQuery__FuncCall *f;
		const char *fn;

		if (!IS(t, RES_TARGET) || !t->res_target->val ||
		    !IS(t->res_target->val, FUNC_CALL))
			continue;
		f = t->res_target->val->func_call;
		fn = names_last(f->funcname, f->n_funcname);
		if (f->n_args < 2 || !fn || strcmp(fn, "set_config") != 0 ||
		    !IS(f->args[0], A_CONST) ||
		    f->args[0]->a_const->val_case !=
		            PG_QUERY__A__CONST__VAL_SVAL ||
		    strcmp(f->args[0]->a_const->sval->sval,
		           "statement_timeout") != 0)
			continue;
		*is_on = is_bounded(f->args[1]);
		return true;
	}
	return false;
}

void rule_require_statement_timeout(struct lint_ctx *c, const PgQuery__Node *n)
{
	const char *rel;
	bool is_on;

	if (sets_statement_timeout(n, &is_on)) {
		c->has_statement_timeout = is_on;
		return;
	}
	if (c->has_statement_timeout || c->is_statement_timeout_reported ||
	    !(rel = heavy_lock(c, n)))
		return;
	lint_report(
	        c, -1, NULL,
	        "'%s' is locked with no statement_timeout set: once it has the lock, nothing bounds how long this statement keeps every query on '%s' waiting",
	        rel, rel);
	c->is_statement_timeout_reported = true;
}

void rule_ban_lock_table(struct lint_ctx *c, const PgQuery__Node *n)
{
	static const char *const modes[] = {
		"",
		"ACCESS SHARE",
		"ROW SHARE",
		"ROW EXCLUSIVE",
		"SHARE UPDATE EXCLUSIVE",
		"SHARE",
		"SHARE ROW EXCLUSIVE",
		"EXCLUSIVE",
		"ACCESS EXCLUSIVE",
	};
	const PgQuery__LockStmt *s;

	if (!IS(n, LOCK_STMT))
		return;
	s = n->lock_stmt;
	if (s->mode < 5 || s->mode >= (int)ARRAY_SIZE(modes))
		return; /* modes that leave reads and writes alone */
	for (size_t i = 0; i < s->n_relations; i++) {
		const PgQuery__RangeVar *rv;

		if (!IS(s->relations[i], RANGE_VAR))
			continue;
		rv = s->relations[i]->range_var;
		if (lint_is_new_rel(c, rv))
			continue;
		lint_report(
		        c, rv->location, NULL,
		        "LOCK TABLE '%s' IN %s MODE blocks %s on it until the migration commits",
		        lint_rv_name(c, rv), modes[s->mode],
		        s->mode == 8 ? "every query" : "every write");
		return;
	}
}

void rule_ban_vacuum_full(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__VacuumStmt *v;
	const PgQuery__DefElem *full;

	if (!IS(n, VACUUM_STMT))
		return;
	v = n->vacuum_stmt;
	full = defs_find(v->options, v->n_options, "full");
	if (!v->is_vacuumcmd || !full || !def_is_true(full))
		return;
	if (!v->n_rels) {
		lint_report(
		        c, -1, NULL,
		        "VACUUM FULL of the whole database rewrites every table under an ACCESS EXCLUSIVE lock");
		return;
	}
	for (size_t i = 0; i < v->n_rels; i++) {
		const PgQuery__RangeVar *rv;

		if (!IS(v->rels[i], VACUUM_RELATION) ||
		    !(rv = v->rels[i]->vacuum_relation->relation) ||
		    lint_is_new_rel(c, rv))
			continue;
		lint_on(c, rv, NULL, LINT_ON_SIZE);
		lint_report(
		        c, rv->location, NULL,
		        "VACUUM FULL rewrites '%s' under an ACCESS EXCLUSIVE lock",
		        lint_rv_name(c, rv));
	}
}

void rule_ban_cluster(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__RangeVar *rv;

	if (!IS(n, CLUSTER_STMT))
		return;
	rv = n->cluster_stmt->relation;
	if (!rv) {
		lint_report(
		        c, -1, NULL,
		        "CLUSTER rewrites every clustered table of the database under ACCESS EXCLUSIVE locks");
		return;
	}
	if (lint_is_new_rel(c, rv))
		return;
	lint_on(c, rv, NULL, LINT_ON_SIZE);
	lint_report(c, rv->location, NULL,
	            "CLUSTER rewrites '%s' under an ACCESS EXCLUSIVE lock",
	            lint_rv_name(c, rv));
}

void rule_require_concurrent_refresh(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__RefreshMatViewStmt *r;

	if (!IS(n, REFRESH_MAT_VIEW_STMT))
		return;
	r = n->refresh_mat_view_stmt;
	if (r->concurrent || r->skip_data || lint_is_new_rel(c, r->relation))
		return;
	lint_on(c, r->relation, NULL, LINT_ON_SIZE);
	lint_report(
	        c, r->relation ? r->relation->location : -1, NULL,
	        "REFRESH MATERIALIZED VIEW '%s' without CONCURRENTLY blocks reads of it until it ends",
	        lint_rv_name(c, r->relation));
}
