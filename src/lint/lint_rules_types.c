/*
 * The rules on what columns hold and what statements write: type changes
 * that rewrite the table, the types to prefer (bigint keys, identity,
 * text, timestamptz), identifiers PostgreSQL truncates, UPDATE and DELETE
 * without WHERE, and a column assigned twice. Their rows are in
 * lint_rules[] (lint_rules.c).
 */
#include "util/common.h"
#include "sql/pgtree.h"
#include "lint/lint.h"
#include "lint/rules.h"
#include "sql/batchsql.h"

#include <string.h>

/* A type as a person writes it: "bigint", "varchar(20)". */
static const char *type_display(const struct lint_ctx *c,
                                const struct lint_type *t)
{
	static const struct {
		const char *internal, *shown;
	} names[] = {
		{ "int2", "smallint" }, { "int4", "integer" },
		{ "int8", "bigint" },   { "bpchar", "char" },
		{ "float4", "real" },   { "float8", "double precision" },
		{ "bool", "boolean" },  { "timestamptz", "timestamptz" },
		{ "varbit", "varbit" },
	};
	const char *name = t->name;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i].internal))
			name = names[i].shown;
	if (t->n_mods == 1)
		return lint_strfmt(c, "%s(%d)%s", name, t->mods[0],
		                   t->is_array ? "[]" : "");
	if (t->n_mods == 2)
		return lint_strfmt(c, "%s(%d,%d)%s", name, t->mods[0],
		                   t->mods[1], t->is_array ? "[]" : "");
	return lint_strfmt(c, "%s%s", name, t->is_array ? "[]" : "");
}

/* Every column definition of a statement, with its table and whether it
 * is (part of) the primary key. */
typedef void (*coldef_fn)(struct lint_ctx *c, const PgQuery__RangeVar *rel,
                          const char *col, const PgQuery__ColumnDef *d,
                          bool is_key);

static bool is_table_key(const PgQuery__CreateStmt *s, const char *col)
{
	for (size_t i = 0; i < s->n_table_elts; i++) {
		const PgQuery__Constraint *k;

		if (!IS(s->table_elts[i], CONSTRAINT))
			continue;
		k = s->table_elts[i]->constraint;
		if (k->contype != CONSTR(PRIMARY))
			continue;
		for (size_t j = 0; j < k->n_keys; j++)
			if (node_string(k->keys[j]) &&
			    !strcmp(node_string(k->keys[j]), col))
				return true;
	}
	return false;
}

static void each_coldef(struct lint_ctx *c, const PgQuery__Node *n,
                        coldef_fn fn)
{
	if (IS(n, CREATE_STMT)) {
		const PgQuery__CreateStmt *s = n->create_stmt;

		for (size_t i = 0; i < s->n_table_elts; i++) {
			const PgQuery__ColumnDef *d;
			struct coldef_info info;

			if (!IS(s->table_elts[i], COLUMN_DEF))
				continue;
			d = s->table_elts[i]->column_def;
			rules_coldef_info(&info, d);
			fn(c, s->relation, d->colname, d,
			   info.pk || is_table_key(s, d->colname));
		}
	} else if (IS(n, ALTER_TABLE_STMT) &&
	           n->alter_table_stmt->objtype == OBJ(TABLE)) {
		const PgQuery__AlterTableStmt *a = n->alter_table_stmt;

		for (size_t i = 0; i < a->n_cmds; i++) {
			const PgQuery__AlterTableCmd *cmd =
			        rules_cmd_of(a->cmds[i]);
			const PgQuery__ColumnDef *d;
			struct coldef_info info;

			if (!cmd || !(d = rules_cmd_coldef(cmd)) ||
			    !d->type_name)
				continue;
			if (cmd->subtype == AT(AddColumn)) {
				rules_coldef_info(&info, d);
				fn(c, a->relation, d->colname, d,
				   info.pk != NULL);
			} else if (cmd->subtype == AT(AlterColumnType)) {
				fn(c, a->relation, cmd->name, d, false);
			}
		}
	}
}

/* ---- column types ----------------------------------------------------------
 */

static bool same_type(const struct lint_type *a, const struct lint_type *b)
{
	return !strcmp(a->name, b->name) && a->n_mods == b->n_mods &&
	       a->is_array == b->is_array && !a->is_other_mods &&
	       !b->is_other_mods &&
	       (a->n_mods < 1 || a->mods[0] == b->mods[0]) &&
	       (a->n_mods < 2 || a->mods[1] == b->mods[1]);
}

static bool is_varchar(const char *t)
{
	return !strcmp(t, "varchar");
}

bool lint_type_is_free_change(const struct lint_type *from,
                              const struct lint_type *to)
{
	if (same_type(from, to))
		return true;
	if (from->is_array != to->is_array || from->is_other_mods ||
	    to->is_other_mods)
		return false;
	if (!strcmp(from->name, to->name)) {
		if (is_varchar(to->name) || !strcmp(to->name, "varbit"))
			return !to->n_mods ||
			       (from->n_mods && to->mods[0] >= from->mods[0]);
		if (!strcmp(to->name, "numeric"))
			return !to->n_mods ||
			       (from->n_mods &&
			        (from->n_mods > 1 ? from->mods[1] : 0) ==
			                (to->n_mods > 1 ? to->mods[1] : 0) &&
			        to->mods[0] >= from->mods[0]);
		return false;
	}
	if (!strcmp(to->name, "text"))
		return is_varchar(from->name);
	if (is_varchar(to->name) && !to->n_mods)
		return !strcmp(from->name, "text");
	return !strcmp(from->name, "cidr") && !strcmp(to->name, "inet");
}

/* Types some other type changes to without a rewrite. */
static bool may_be_free(const struct lint_type *to)
{
	static const char *const targets[] = {
		"text", "varchar", "numeric", "varbit", "inet",
	};

	return !to->is_array && !to->is_other_mods &&
	       rules_is_one_of(to->name, targets, ARRAY_SIZE(targets));
}

#define UNSEEN_HINT \
	"Lint against the database (strata lint with a database, or the run gate), which knows the column's type; a change such as varchar(n) to text or to a wider varchar does not rewrite, text to varchar(n) does."

void rule_changing_column_type(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = rules_alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = rules_cmd_of(a->cmds[i]);
		const char *rel = lint_rv_name(c, a->relation);
		const struct lint_type *from;
		const PgQuery__ColumnDef *d;
		struct lint_type to;

		if (!cmd || cmd->subtype != AT(AlterColumnType) ||
		    !(d = rules_cmd_coldef(cmd)) || !d->type_name)
			continue;
		lint_type_of(&to, d->type_name);
		from = lint_column_type(c, a->relation->relname, cmd->name);
		lint_on(c, a->relation, NULL, LINT_ON_SIZE);
		if (d->raw_default) {
			lint_report(
			        c, d->location, NULL,
			        "changing the type of column '%s' of '%s' to %s USING an expression rewrites the table under an ACCESS EXCLUSIVE lock",
			        cmd->name, rel, type_display(c, &to));
		} else if (from && !lint_type_is_free_change(from, &to)) {
			lint_report(
			        c, d->location, NULL,
			        "changing the type of column '%s' of '%s' from %s to %s rewrites the table under an ACCESS EXCLUSIVE lock",
			        cmd->name, rel, type_display(c, from),
			        type_display(c, &to));
		} else if (!from && may_be_free(&to)) {
			lint_on_type(c, a->relation, cmd->name, &to,
			             type_display(c, &to), LINT_ON_UNSURE);
			lint_report(
			        c, d->location, UNSEEN_HINT,
			        "changing the type of column '%s' of '%s' to %s may rewrite the table under an ACCESS EXCLUSIVE lock: no migration linted here sets its current type",
			        cmd->name, rel, type_display(c, &to));
		} else if (!from) {
			lint_on_type(c, a->relation, cmd->name, &to,
			             type_display(c, &to), 0);
			lint_report(
			        c, d->location, NULL,
			        "changing the type of column '%s' of '%s' to %s rewrites the table under an ACCESS EXCLUSIVE lock, unless the old type is binary-coercible to it",
			        cmd->name, rel, type_display(c, &to));
		}
	}
}

static void check_int_key(struct lint_ctx *c, const PgQuery__RangeVar *rel,
                          const char *col, const PgQuery__ColumnDef *d,
                          bool is_key)
{
	static const char *const small[] = {
		"int2", "int4", "serial", "serial2", "serial4", "smallserial",
	};
	struct lint_type t;

	if (!is_key || !d->type_name)
		return;
	lint_type_of(&t, d->type_name);
	if (t.is_array || !rules_is_one_of(t.name, small, ARRAY_SIZE(small)))
		return;
	lint_report(
	        c, d->type_name->location, NULL,
	        "primary key column '%s' of '%s' is %s: its values run out at %s",
	        col, lint_rv_name(c, rel), type_display(c, &t),
	        strstr(t.name, "2") || !strcmp(t.name, "smallserial")
	                ? "32,767"
	                : "2,147,483,647");
}

void rule_prefer_bigint_over_int(struct lint_ctx *c, const PgQuery__Node *n)
{
	each_coldef(c, n, check_int_key);
}

/* Key columns are prefer-bigint-over-int's: each column is reported once. */
static void check_smallint(struct lint_ctx *c, const PgQuery__RangeVar *rel,
                           const char *col, const PgQuery__ColumnDef *d,
                           bool is_key)
{
	static const char *const small[] = { "int2", "serial2", "smallserial" };
	struct lint_type t;

	if (is_key || !d->type_name)
		return;
	lint_type_of(&t, d->type_name);
	if (!rules_is_one_of(t.name, small, ARRAY_SIZE(small)))
		return;
	lint_report(
	        c, d->type_name->location, NULL,
	        "column '%s' of '%s' is %s: its values run out at 32,767, and widening it later rewrites the table",
	        col, lint_rv_name(c, rel), type_display(c, &t));
}

void rule_prefer_bigint_over_smallint(struct lint_ctx *c,
                                      const PgQuery__Node *n)
{
	each_coldef(c, n, check_smallint);
}

static void check_serial(struct lint_ctx *c, const PgQuery__RangeVar *rel,
                         const char *col, const PgQuery__ColumnDef *d,
                         bool is_key)
{
	const char *t;

	UNUSED(is_key);
	if (!d->type_name || d->type_name->n_array_bounds)
		return;
	t = names_last(d->type_name->names, d->type_name->n_names);
	if (t && rules_is_serial(t))
		lint_report(
		        c, d->type_name->location, NULL,
		        "column '%s' of '%s' is %s: its sequence lives apart from the table (ownership, grants, dumps)",
		        col, lint_rv_name(c, rel), t);
}

void rule_prefer_identity(struct lint_ctx *c, const PgQuery__Node *n)
{
	each_coldef(c, n, check_serial);
}

static void check_varchar(struct lint_ctx *c, const PgQuery__RangeVar *rel,
                          const char *col, const PgQuery__ColumnDef *d,
                          bool is_key)
{
	struct lint_type t;

	UNUSED(is_key);
	if (!d->type_name)
		return;
	lint_type_of(&t, d->type_name);
	if (is_varchar(t.name) && t.n_mods)
		lint_report(
		        c, d->type_name->location, NULL,
		        "column '%s' of '%s' is %s: a length limit in the type can only be changed by ALTER COLUMN TYPE",
		        col, lint_rv_name(c, rel), type_display(c, &t));
}

void rule_prefer_text_field(struct lint_ctx *c, const PgQuery__Node *n)
{
	each_coldef(c, n, check_varchar);
}

static void check_char(struct lint_ctx *c, const PgQuery__RangeVar *rel,
                       const char *col, const PgQuery__ColumnDef *d,
                       bool is_key)
{
	struct lint_type t;

	UNUSED(is_key);
	if (!d->type_name)
		return;
	lint_type_of(&t, d->type_name);
	if (!strcmp(t.name, "bpchar"))
		lint_report(
		        c, d->type_name->location, NULL,
		        "column '%s' of '%s' is %s: it pads values with spaces and is no faster than text",
		        col, lint_rv_name(c, rel), type_display(c, &t));
}

void rule_ban_char_field(struct lint_ctx *c, const PgQuery__Node *n)
{
	each_coldef(c, n, check_char);
}

static void check_timestamp(struct lint_ctx *c, const PgQuery__RangeVar *rel,
                            const char *col, const PgQuery__ColumnDef *d,
                            bool is_key)
{
	struct lint_type t;

	UNUSED(is_key);
	if (!d->type_name)
		return;
	lint_type_of(&t, d->type_name);
	if (!strcmp(t.name, "timestamp"))
		lint_report(
		        c, d->type_name->location, NULL,
		        "column '%s' of '%s' is timestamp without time zone: its values mean different instants in different time zones",
		        col, lint_rv_name(c, rel));
}

void rule_prefer_timestamptz(struct lint_ctx *c, const PgQuery__Node *n)
{
	each_coldef(c, n, check_timestamp);
}

/* ---- identifiers ----------------------------------------------------------
 */

#define NAMEDATALEN 64

void rule_identifier_too_long(struct lint_ctx *c, const PgQuery__Node *n)
{
	UNUSED(n);
	for (size_t i = c->tok_from; i < c->tok_to; i++) {
		const PgQuery__ScanToken *t = c->tok[i];
		const char *s = c->sql + t->start;
		size_t len = (size_t)(t->end - t->start), bytes = len;

		if (t->token != PG_QUERY__TOKEN__IDENT)
			continue;
		if (len >= 2 && s[0] == '"') {
			bytes = len - 2;
			for (size_t k = 1; k + 1 < len - 1; k++)
				if (s[k] == '"' && s[k + 1] == '"') {
					bytes--;
					k++;
				}
		}
		if (bytes >= NAMEDATALEN)
			lint_report(
			        c, t->start, NULL,
			        "identifier %.*s is %zu bytes long: PostgreSQL silently truncates it to %d",
			        (int)len, s, bytes, NAMEDATALEN - 1);
	}
}

/* ---- data changes ---------------------------------------------------------
 */

void rule_duplicate_column_assignment(struct lint_ctx *c,
                                      const PgQuery__Node *n)
{
	PgQuery__Node **t[2] = { NULL, NULL };
	size_t nt[2] = { 0, 0 };
	const PgQuery__RangeVar *rel = NULL;

	if (IS(n, UPDATE_STMT)) {
		t[0] = n->update_stmt->target_list;
		nt[0] = n->update_stmt->n_target_list;
		rel = n->update_stmt->relation;
	} else if (IS(n, INSERT_STMT)) {
		t[0] = n->insert_stmt->cols;
		nt[0] = n->insert_stmt->n_cols;
		rel = n->insert_stmt->relation;
		if (n->insert_stmt->on_conflict_clause) {
			t[1] = n->insert_stmt->on_conflict_clause->target_list;
			nt[1] = n->insert_stmt->on_conflict_clause
			                ->n_target_list;
		}
	} else {
		return;
	}
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < nt[k]; i++) {
			const PgQuery__ResTarget *a, *b;

			if (!IS(t[k][i], RES_TARGET))
				continue;
			a = t[k][i]->res_target;
			if (a->n_indirection)
				continue;
			for (size_t j = 0; j < i; j++) {
				if (!IS(t[k][j], RES_TARGET))
					continue;
				b = t[k][j]->res_target;
				if (b->n_indirection ||
				    strcmp(a->name, b->name))
					continue;
				lint_report(
				        c, a->location, NULL,
				        "column '%s' of '%s' is assigned twice",
				        a->name, lint_rv_name(c, rel));
				break;
			}
		}
	}
}

void rule_ban_update_without_where(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__UpdateStmt *u;

	/* a batch commits each bounded run: batch-unbounded's */
	if (!IS(n, UPDATE_STMT) || c->is_batch)
		return;
	u = n->update_stmt;
	if (u->where_clause || lint_is_new_rel(c, u->relation))
		return;
	lint_report(
	        c, u->relation ? u->relation->location : -1, NULL,
	        "UPDATE without WHERE rewrites every row of '%s' and holds their locks until the migration commits",
	        lint_rv_name(c, u->relation));
}

void rule_ban_delete_without_where(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__DeleteStmt *d;

	if (!IS(n, DELETE_STMT) || c->is_batch)
		return;
	d = n->delete_stmt;
	if (d->where_clause || lint_is_new_rel(c, d->relation))
		return;
	lint_report(c, d->relation ? d->relation->location : -1, NULL,
	            "DELETE without WHERE removes every row of '%s'",
	            lint_rv_name(c, d->relation));
}

/*
 * A batch migration runs its statement until it changes no row: without
 * LIMIT :batch_size one run changes (and locks) every row, and without a
 * WHERE that leaves done rows out it never ends.
 */
void rule_batch_unbounded(struct lint_ctx *c, const PgQuery__Node *n)
{
	struct batchsql_shape shape;

	/* once per statement, not at the call after the last */
	if (!c->is_batch || c->is_end)
		return;
	if (c->stmt > 0) {
		lint_report(
		        c, -1, NULL,
		        "a batch migration holds one statement; this is statement %zu",
		        c->stmt + 1);
		return;
	}
	batchsql_shape_node(&shape, n);
	if (shape.problem)
		lint_report(c, -1, NULL,
		            "the batch statement cannot run in batches: %s",
		            shape.problem);
}
