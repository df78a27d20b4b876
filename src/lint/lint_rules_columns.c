/*
 * The rules on a table's shape: adding columns (defaults computed for
 * every row, NOT NULL without a default), adding constraints (foreign
 * keys and CHECKs without NOT VALID, SET NOT NULL's scan, primary and
 * unique keys that build their index under lock), domain constraints,
 * and dropping or renaming what running code still uses (columns, tables,
 * NOT NULL, a database, TRUNCATE ... CASCADE). Their rows are in
 * lint_rules[] (lint_rules.c).
 */
#include "util/common.h"
#include "sql/pgtree.h"
#include "lint/lint.h"
#include "lint/rules.h"

#include <string.h>

static const char *con_name(const struct lint_ctx *c,
                            const PgQuery__Constraint *k, const char *what)
{
	return *k->conname ? lint_strfmt(c, "%s '%s'", what, k->conname)
	                   : lint_strfmt(c, "a %s", what);
}

static bool is_null_const(const PgQuery__Node *e)
{
	return e && IS(e, A_CONST) && e->a_const->isnull;
}

/* Functions known not to be volatile, as found in column defaults. */
static const char *const stable_funcs[] = {
	"now",
	"statement_timestamp",
	"transaction_timestamp",
	"current_setting",
	"lower",
	"upper",
	"btrim",
	"ltrim",
	"rtrim",
	"concat",
	"concat_ws",
	"format",
	"length",
	"char_length",
	"replace",
	"substr",
	"substring",
	"left",
	"right",
	"lpad",
	"rpad",
	"abs",
	"round",
	"floor",
	"ceil",
	"ceiling",
	"to_char",
	"to_date",
	"to_timestamp",
	"to_number",
	"date_trunc",
	"date_part",
	"timezone",
	"make_date",
	"make_time",
	"make_timestamp",
	"make_timestamptz",
	"make_interval",
	"jsonb_build_object",
	"json_build_object",
	"jsonb_build_array",
	"json_build_array",
	"to_jsonb",
	"to_json",
	"array_to_json",
	"array_fill",
	"int4range",
	"int8range",
	"numrange",
	"tsrange",
	"tstzrange",
	"daterange",
	"md5",
	"encode",
	"decode",
};

struct volatile_walk {
	const char *name;
};

static bool find_volatile(const ProtobufCMessage *m, void *data)
{
	struct volatile_walk *w = data;
	const PgQuery__FuncCall *f;
	const char *name;

	if (m->descriptor == &pg_query__sub_link__descriptor) {
		w->name = "a subquery";
		return true;
	}
	if (m->descriptor != &pg_query__func_call__descriptor)
		return false;
	f = (const PgQuery__FuncCall *)m;
	name = names_last(f->funcname, f->n_funcname);
	if (name &&
	    rules_is_one_of(name, stable_funcs, ARRAY_SIZE(stable_funcs)))
		return false;
	w->name = name ? name : "a function";
	return true;
}

/* The first call in `e` not known to be stable, or NULL. */
static const char *volatile_call(const PgQuery__Node *e)
{
	struct volatile_walk w = { NULL };

	node_walk(&e->base, find_volatile, &w);
	return w.name;
}

/* ---- adding columns -------------------------------------------------------
 */

void rule_adding_field_with_default(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = rules_alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = rules_cmd_of(a->cmds[i]);
		const char *rel = lint_rv_name(c, a->relation), *f;
		const PgQuery__ColumnDef *d;
		struct coldef_info info;

		if (!cmd || cmd->subtype != AT(AddColumn) ||
		    !(d = rules_cmd_coldef(cmd)))
			continue;
		rules_coldef_info(&info, d);
		lint_on(c, a->relation, NULL, LINT_ON_SIZE);
		if (d->type_name &&
		    rules_is_serial(names_last(d->type_name->names,
		                               d->type_name->n_names)))
			lint_report(
			        c, d->location, NULL,
			        "adding %s column '%s' to '%s' rewrites the table under an ACCESS EXCLUSIVE lock: its default, nextval(), is volatile",
			        names_last(d->type_name->names,
			                   d->type_name->n_names),
			        d->colname, rel);
		else if (info.is_identity)
			lint_report(
			        c, d->location, NULL,
			        "adding identity column '%s' to '%s' rewrites the table under an ACCESS EXCLUSIVE lock",
			        d->colname, rel);
		else if (info.is_generated)
			lint_report(
			        c, d->location, NULL,
			        "adding generated column '%s' to '%s' computes it for every row, rewriting the table under an ACCESS EXCLUSIVE lock",
			        d->colname, rel);
		else if (!info.dflt || is_null_const(info.dflt))
			continue;
		else if (c->pg_version < 110000)
			lint_report(
			        c, info.dflt_at, NULL,
			        "adding column '%s' with a default to '%s' rewrites the table under an ACCESS EXCLUSIVE lock before PostgreSQL 11",
			        d->colname, rel);
		else if ((f = volatile_call(info.dflt)))
			lint_report(
			        c, info.dflt_at, NULL,
			        "the default of column '%s' calls %s%s, which is volatile or not known to be stable: adding it rewrites '%s' under an ACCESS EXCLUSIVE lock",
			        d->colname, f, strchr(f, ' ') ? "" : "()", rel);
	}
}

void rule_adding_required_field(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = rules_alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = rules_cmd_of(a->cmds[i]);
		const PgQuery__ColumnDef *d;
		struct coldef_info info;

		if (!cmd || cmd->subtype != AT(AddColumn) ||
		    !(d = rules_cmd_coldef(cmd)))
			continue;
		rules_coldef_info(&info, d);
		if (!info.is_not_null ||
		    (info.dflt && !is_null_const(info.dflt)) ||
		    info.is_identity || info.is_generated ||
		    (d->type_name &&
		     rules_is_serial(names_last(d->type_name->names,
		                                d->type_name->n_names))))
			continue;
		lint_on(c, a->relation, NULL, 0);
		lint_report(
		        c, d->location, NULL,
		        "adding NOT NULL column '%s' without a default to '%s' fails as soon as the table holds a row",
		        d->colname, lint_rv_name(c, a->relation));
	}
}

/* ---- constraints ----------------------------------------------------------
 */

void rule_adding_foreign_key_constraint(struct lint_ctx *c,
                                        const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = rules_alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = rules_cmd_of(a->cmds[i]);
		const char *rel = lint_rv_name(c, a->relation);
		const PgQuery__Constraint *k;
		const PgQuery__ColumnDef *d;
		struct coldef_info info;

		if (!cmd)
			continue;
		lint_on(c, a->relation, NULL, LINT_ON_SIZE);
		if (cmd->subtype == AT(AddConstraint) &&
		    (k = rules_cmd_constraint(cmd)) &&
		    k->contype == CONSTR(FOREIGN) && !k->skip_validation)
			lint_report(
			        c, k->location, NULL,
			        "adding %s to '%s' checks every row while holding SHARE ROW EXCLUSIVE locks on '%s' and '%s'",
			        con_name(c, k, "foreign key"), rel, rel,
			        lint_rv_name(c, k->pktable));
		if (cmd->subtype == AT(AddColumn) &&
		    (d = rules_cmd_coldef(cmd))) {
			rules_coldef_info(&info, d);
			lint_on(c, a->relation, NULL, LINT_ON_SIZE);
			if (info.fk)
				lint_report(
				        c, info.fk->location, NULL,
				        "adding column '%s' with a foreign key to '%s' checks every row of '%s' while holding SHARE ROW EXCLUSIVE locks on both",
				        d->colname,
				        lint_rv_name(c, info.fk->pktable), rel);
		}
	}
}

void rule_constraint_missing_not_valid(struct lint_ctx *c,
                                       const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = rules_alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = rules_cmd_of(a->cmds[i]);
		const char *rel = lint_rv_name(c, a->relation);
		const PgQuery__Constraint *k;
		const PgQuery__ColumnDef *d;
		struct coldef_info info;

		if (!cmd)
			continue;
		lint_on(c, a->relation, NULL, LINT_ON_SIZE);
		if (cmd->subtype == AT(AddConstraint) &&
		    (k = rules_cmd_constraint(cmd)) &&
		    k->contype == CONSTR(CHECK) && !k->skip_validation)
			lint_report(
			        c, k->location, NULL,
			        "adding %s to '%s' scans the whole table under an ACCESS EXCLUSIVE lock",
			        con_name(c, k, "CHECK constraint"), rel);
		if (cmd->subtype == AT(AddColumn) &&
		    (d = rules_cmd_coldef(cmd))) {
			rules_coldef_info(&info, d);
			lint_on(c, a->relation, NULL, LINT_ON_SIZE);
			if (info.check)
				lint_report(
				        c, info.check->location, NULL,
				        "adding column '%s' with a CHECK constraint to '%s' scans the whole table under an ACCESS EXCLUSIVE lock",
				        d->colname, rel);
		}
		lint_on(c, a->relation, NULL, LINT_ON_SIZE);
		if (cmd->subtype == AT(ValidateConstraint) && c->in_txn &&
		    lint_is_not_valid_in_txn(c, a->relation->relname,
		                             cmd->name))
			lint_report(
			        c, -1,
			        "Validate it in a later migration: in its own transaction VALIDATE CONSTRAINT takes only a SHARE UPDATE EXCLUSIVE lock, and reads and writes go on.",
			        "validating '%s' in the transaction that added it NOT VALID holds that ACCESS EXCLUSIVE lock on '%s' through the whole scan",
			        cmd->name, rel);
	}
}

void rule_setting_not_nullable_field(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = rules_alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = rules_cmd_of(a->cmds[i]);

		if (!cmd || cmd->subtype != AT(SetNotNull))
			continue;
		if (c->pg_version >= 120000 &&
		    lint_has_validated_check(c, a->relation->relname,
		                             cmd->name))
			continue;
		lint_on(c, a->relation, NULL, LINT_ON_SIZE);
		lint_report(
		        c, -1,
		        c->pg_version >= 120000
		                ? NULL
		                : "Before PostgreSQL 12 SET NOT NULL always scans: keep a validated CHECK (col IS NOT NULL) constraint instead.",
		        "SET NOT NULL on column '%s' of '%s' scans the whole table under an ACCESS EXCLUSIVE lock",
		        cmd->name, lint_rv_name(c, a->relation));
	}
}

static void report_index_constraint(struct lint_ctx *c, const PgQuery__Node *n,
                                    PgQuery__ConstrType type, const char *what)
{
	const PgQuery__AlterTableStmt *a = rules_alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = rules_cmd_of(a->cmds[i]);
		const char *rel = lint_rv_name(c, a->relation);
		const PgQuery__Constraint *k;
		const PgQuery__ColumnDef *d;
		struct coldef_info info;

		if (!cmd)
			continue;
		lint_on(c, a->relation, NULL, LINT_ON_SIZE);
		if (cmd->subtype == AT(AddConstraint) &&
		    (k = rules_cmd_constraint(cmd)) && k->contype == type &&
		    !*k->indexname)
			lint_report(
			        c, k->location, NULL,
			        "adding %s to '%s' builds its index under an ACCESS EXCLUSIVE lock",
			        con_name(c, k, what), rel);
		if (cmd->subtype == AT(AddColumn) &&
		    (d = rules_cmd_coldef(cmd))) {
			rules_coldef_info(&info, d);
			k = type == CONSTR(PRIMARY) ? info.pk : info.unique;
			lint_on(c, a->relation, NULL, LINT_ON_SIZE);
			if (k)
				lint_report(
				        c, k->location, NULL,
				        "adding column '%s' as %s of '%s' builds its index under an ACCESS EXCLUSIVE lock",
				        d->colname,
				        type == CONSTR(PRIMARY)
				                ? "the primary key"
				                : "a unique key",
				        rel);
		}
	}
}

void rule_adding_primary_key_constraint(struct lint_ctx *c,
                                        const PgQuery__Node *n)
{
	report_index_constraint(c, n, CONSTR(PRIMARY), "primary key");
}

void rule_disallowed_unique_constraint(struct lint_ctx *c,
                                       const PgQuery__Node *n)
{
	report_index_constraint(c, n, CONSTR(UNIQUE), "unique constraint");
}

/* ---- dropping and renaming ------------------------------------------------
 */

void rule_ban_drop_column(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = rules_alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = rules_cmd_of(a->cmds[i]);

		if (!cmd || cmd->subtype != AT(DropColumn))
			continue;
		lint_on(c, a->relation, cmd->name, LINT_ON_COLUMN);
		lint_report(
		        c, -1, NULL,
		        "dropping column '%s' of '%s' breaks the code still reading it",
		        cmd->name, lint_rv_name(c, a->relation));
	}
}

void rule_ban_drop_table(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__DropStmt *s;

	if (!IS(n, DROP_STMT) || n->drop_stmt->remove_type != OBJ(TABLE))
		return;
	s = n->drop_stmt;
	for (size_t i = 0; i < s->n_objects; i++) {
		const char *name = rules_drop_object_last(s->objects[i]);
		PgQuery__RangeVar rv = PG_QUERY__RANGE_VAR__INIT;

		rv.relname = (char *)(name ? name : "");
		if (lint_is_new_rel(c, &rv))
			continue;
		lint_on_object(c, s->objects[i], 0);
		lint_report(
		        c, -1, NULL,
		        "dropping table '%s' breaks the code still using it, and loses its data",
		        rules_drop_object_name(c, s->objects[i]));
	}
}

void rule_ban_drop_database(struct lint_ctx *c, const PgQuery__Node *n)
{
	if (IS(n, DROPDB_STMT))
		lint_report(
		        c, -1, NULL,
		        "dropping database '%s' from a migration loses all of it",
		        n->dropdb_stmt->dbname);
}

void rule_ban_drop_not_null(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = rules_alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = rules_cmd_of(a->cmds[i]);

		if (!cmd || cmd->subtype != AT(DropNotNull))
			continue;
		lint_on(c, a->relation, cmd->name, LINT_ON_COLUMN);
		lint_report(
		        c, -1, NULL,
		        "dropping NOT NULL from column '%s' of '%s' lets NULLs reach code that assumes there are none",
		        cmd->name, lint_rv_name(c, a->relation));
	}
}

void rule_renaming_column(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__RenameStmt *r;

	if (!IS(n, RENAME_STMT))
		return;
	r = n->rename_stmt;
	if (r->rename_type != OBJ(COLUMN) || !r->relation ||
	    lint_is_new_rel(c, r->relation))
		return;
	lint_on(c, r->relation, r->subname, LINT_ON_COLUMN);
	lint_report(
	        c, r->relation->location, NULL,
	        "renaming column '%s' of '%s' to '%s' breaks the code still using the old name",
	        r->subname, lint_rv_name(c, r->relation), r->newname);
}

void rule_renaming_table(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__RenameStmt *r;

	if (!IS(n, RENAME_STMT))
		return;
	r = n->rename_stmt;
	if (r->rename_type != OBJ(TABLE) || !r->relation ||
	    lint_is_new_rel(c, r->relation))
		return;
	lint_on(c, r->relation, NULL, 0);
	lint_report(
	        c, r->relation->location, NULL,
	        "renaming table '%s' to '%s' breaks the code still using the old name",
	        lint_rv_name(c, r->relation), r->newname);
}

void rule_ban_truncate_cascade(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__TruncateStmt *t;

	if (!IS(n, TRUNCATE_STMT))
		return;
	t = n->truncate_stmt;
	if (t->behavior != PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE ||
	    !t->n_relations || !IS(t->relations[0], RANGE_VAR))
		return;
	lint_report(
	        c, -1, NULL,
	        "TRUNCATE ... CASCADE empties '%s' and every table with a foreign key to it, and the tables referencing those",
	        lint_rv_name(c, t->relations[0]->range_var));
}

/* ---- domains ----------------------------------------------------------------
 */

void rule_ban_create_domain_with_constraint(struct lint_ctx *c,
                                            const PgQuery__Node *n)
{
	const PgQuery__CreateDomainStmt *d;

	if (!IS(n, CREATE_DOMAIN_STMT))
		return;
	d = n->create_domain_stmt;
	for (size_t i = 0; i < d->n_constraints; i++) {
		if (!IS(d->constraints[i], CONSTRAINT) ||
		    d->constraints[i]->constraint->contype != CONSTR(CHECK))
			continue;
		lint_report(
		        c, d->constraints[i]->constraint->location, NULL,
		        "domain '%s' has a CHECK constraint: changing it later checks every column of the domain, in every table, under lock",
		        lint_names(c, d->domainname, d->n_domainname));
		return;
	}
}

void rule_ban_alter_domain_with_add_constraint(struct lint_ctx *c,
                                               const PgQuery__Node *n)
{
	const PgQuery__AlterDomainStmt *d;
	const PgQuery__Constraint *k;

	if (!IS(n, ALTER_DOMAIN_STMT))
		return;
	d = n->alter_domain_stmt;
	if (strcmp(d->subtype, "C") != 0 || !d->def || !IS(d->def, CONSTRAINT))
		return;
	k = d->def->constraint;
	if (k->skip_validation ||
	    lint_is_new_type(c, d->type_name, d->n_type_name))
		return;
	lint_report(
	        c, k->location, NULL,
	        "adding %s to domain '%s' checks every column of the domain, in every table, under lock",
	        con_name(c, k, "constraint"),
	        lint_names(c, d->type_name, d->n_type_name));
}
