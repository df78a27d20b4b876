/*
 * Rules on how objects are named: require-table-schema, off unless a
 * project turns it on, for projects that keep their tables in schemas of
 * their own and want no statement to depend on the search_path of the
 * session that runs it.
 *
 * Only tables are checked, where a statement creates, changes, indexes,
 * truncates or drops one; a temporary table is exempt (it lives in the
 * session's own pg_temp schema, which no name may give).
 */
#include "util/common.h"
#include "sql/pgtree.h"
#include "lint/lint.h"
#include "lint/rules.h"

#include <string.h>

static void check_rel(struct lint_ctx *c, const PgQuery__RangeVar *rv)
{
	if (!rv || (rv->schemaname && *rv->schemaname) ||
	    (rv->relpersistence && !strcmp(rv->relpersistence, "t")))
		return;
	lint_report(
	        c, rv->location, NULL,
	        "table '%s' is named without its schema: which table it is depends on the search_path",
	        rv->relname);
}

/* A DROP TABLE object: a list of names, one part when unqualified. */
static void check_drop(struct lint_ctx *c, const PgQuery__Node *o)
{
	const PgQuery__List *names;

	if (!IS(o, LIST))
		return;
	names = o->list;
	if (names->n_items == 1 && node_string(names->items[0]))
		lint_report(
		        c, -1, NULL,
		        "table '%s' is named without its schema: which table it is depends on the search_path",
		        node_string(names->items[0]));
}

void rule_require_table_schema(struct lint_ctx *c, const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		check_rel(c, n->create_stmt->relation);
		break;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
		if (n->create_table_as_stmt->objtype == OBJ(TABLE) &&
		    n->create_table_as_stmt->into)
			check_rel(c, n->create_table_as_stmt->into->rel);
		break;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		if (n->alter_table_stmt->objtype == OBJ(TABLE))
			check_rel(c, n->alter_table_stmt->relation);
		break;
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		check_rel(c, n->index_stmt->relation);
		break;
	case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
		for (size_t i = 0; i < n->truncate_stmt->n_relations; i++)
			if (IS(n->truncate_stmt->relations[i], RANGE_VAR))
				check_rel(c, n->truncate_stmt->relations[i]
				                     ->range_var);
		break;
	case PG_QUERY__NODE__NODE_RENAME_STMT:
		if (n->rename_stmt->relation_type == OBJ(TABLE) ||
		    n->rename_stmt->rename_type == OBJ(TABLE))
			check_rel(c, n->rename_stmt->relation);
		break;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		if (n->drop_stmt->remove_type != OBJ(TABLE))
			break;
		for (size_t i = 0; i < n->drop_stmt->n_objects; i++)
			check_drop(c, n->drop_stmt->objects[i]);
		break;
	default:
		break;
	}
}
