/*
 * The lint rules: one function and one table row each (id, default
 * severity, what it catches, the safe alternative), and a page under
 * docs/lint/ with a golden pair under tests/golden/lint/. A rule looks at
 * one statement's parse tree, asks the engine (lint.c) what earlier
 * statements did (objects created in this migration are exempt from the
 * lock rules), and reports with a message that names the object.
 *
 * Rules see PostgreSQL's parse tree only: they know what a statement says,
 * not what the database holds. Where the truth depends on the server
 * version, they read c->pg_version. They never print and never fail.
 */
#include "util/common.h"
#include "sql/pgtree.h"
#include "lint/lint.h"

#include <string.h>

#define IS(n, kind) ((n)->node_case == PG_QUERY__NODE__NODE_##kind)
#define AT(kind)    PG_QUERY__ALTER_TABLE_TYPE__AT_##kind
#define CONSTR(k)   PG_QUERY__CONSTR_TYPE__CONSTR_##k
#define OBJ(k)      PG_QUERY__OBJECT_TYPE__OBJECT_##k

/* ---- helpers --------------------------------------------------------------
 */

static const PgQuery__AlterTableCmd *cmd_of(const PgQuery__Node *n)
{
	return IS(n, ALTER_TABLE_CMD) ? n->alter_table_cmd : NULL;
}

static const PgQuery__ColumnDef *cmd_coldef(const PgQuery__AlterTableCmd *cmd)
{
	return cmd->def && IS(cmd->def, COLUMN_DEF) ? cmd->def->column_def
	                                            : NULL;
}

static const PgQuery__Constraint *
cmd_constraint(const PgQuery__AlterTableCmd *cmd)
{
	return cmd->def && IS(cmd->def, CONSTRAINT) ? cmd->def->constraint
	                                            : NULL;
}

/* ALTER TABLE of a table that exists (not created in this migration). */
static const PgQuery__AlterTableStmt *alter_existing(const struct lint_ctx *c,
                                                     const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a;

	if (!IS(n, ALTER_TABLE_STMT))
		return NULL;
	a = n->alter_table_stmt;
	if (a->objtype != OBJ(TABLE) || !a->relation ||
	    lint_is_new_rel(c, a->relation))
		return NULL;
	return a;
}

static const char *con_name(const struct lint_ctx *c,
                            const PgQuery__Constraint *k, const char *what)
{
	return *k->conname ? lint_strfmt(c, "%s '%s'", what, k->conname)
	                   : lint_strfmt(c, "a %s", what);
}

/* What a column definition says beyond its type. */
struct coldef_info {
	const PgQuery__Node *dflt;
	int dflt_at;
	const PgQuery__Constraint *fk, *check, *pk, *unique;
	bool is_not_null, is_identity, is_generated;
};

static void coldef_info(struct coldef_info *out, const PgQuery__ColumnDef *d)
{
	memset(out, 0, sizeof(*out));
	out->is_not_null = d->is_not_null;
	out->dflt = d->raw_default;
	out->dflt_at = d->raw_default ? node_location(d->raw_default) : -1;
	for (size_t i = 0; i < d->n_constraints; i++) {
		const PgQuery__Constraint *k;

		if (!IS(d->constraints[i], CONSTRAINT))
			continue;
		k = d->constraints[i]->constraint;
		switch (k->contype) {
		case CONSTR(NOTNULL):
			out->is_not_null = true;
			break;
		case CONSTR(DEFAULT):
			out->dflt = k->raw_expr;
			out->dflt_at = k->location;
			break;
		case CONSTR(IDENTITY):
			out->is_identity = true;
			break;
		case CONSTR(GENERATED):
			out->is_generated = true;
			break;
		case CONSTR(FOREIGN):
			out->fk = k;
			break;
		case CONSTR(CHECK):
			out->check = k;
			break;
		case CONSTR(PRIMARY):
			out->pk = k;
			out->is_not_null = true;
			break;
		case CONSTR(UNIQUE):
			out->unique = k;
			break;
		default:
			break;
		}
	}
}

static bool is_one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

static bool is_serial(const char *t)
{
	static const char *const serials[] = {
		"serial",  "serial2",     "serial4",
		"serial8", "smallserial", "bigserial",
	};

	return is_one_of(t, serials, ARRAY_SIZE(serials));
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
	if (name && is_one_of(name, stable_funcs, ARRAY_SIZE(stable_funcs)))
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
			coldef_info(&info, d);
			fn(c, s->relation, d->colname, d,
			   info.pk || is_table_key(s, d->colname));
		}
	} else if (IS(n, ALTER_TABLE_STMT) &&
	           n->alter_table_stmt->objtype == OBJ(TABLE)) {
		const PgQuery__AlterTableStmt *a = n->alter_table_stmt;

		for (size_t i = 0; i < a->n_cmds; i++) {
			const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);
			const PgQuery__ColumnDef *d;
			struct coldef_info info;

			if (!cmd || !(d = cmd_coldef(cmd)) || !d->type_name)
				continue;
			if (cmd->subtype == AT(AddColumn)) {
				coldef_info(&info, d);
				fn(c, a->relation, d->colname, d,
				   info.pk != NULL);
			} else if (cmd->subtype == AT(AlterColumnType)) {
				fn(c, a->relation, cmd->name, d, false);
			}
		}
	}
}

/* ---- adding columns -------------------------------------------------------
 */

static void rule_adding_field_with_default(struct lint_ctx *c,
                                           const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);
		const char *rel = lint_rv_name(c, a->relation), *f;
		const PgQuery__ColumnDef *d;
		struct coldef_info info;

		if (!cmd || cmd->subtype != AT(AddColumn) ||
		    !(d = cmd_coldef(cmd)))
			continue;
		coldef_info(&info, d);
		if (d->type_name &&
		    is_serial(names_last(d->type_name->names,
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

static void rule_adding_required_field(struct lint_ctx *c,
                                       const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);
		const PgQuery__ColumnDef *d;
		struct coldef_info info;

		if (!cmd || cmd->subtype != AT(AddColumn) ||
		    !(d = cmd_coldef(cmd)))
			continue;
		coldef_info(&info, d);
		if (!info.is_not_null ||
		    (info.dflt && !is_null_const(info.dflt)) ||
		    info.is_identity || info.is_generated ||
		    (d->type_name &&
		     is_serial(names_last(d->type_name->names,
		                          d->type_name->n_names))))
			continue;
		lint_report(
		        c, d->location, NULL,
		        "adding NOT NULL column '%s' without a default to '%s' fails as soon as the table holds a row",
		        d->colname, lint_rv_name(c, a->relation));
	}
}

/* ---- constraints ----------------------------------------------------------
 */

static void rule_adding_foreign_key_constraint(struct lint_ctx *c,
                                               const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);
		const char *rel = lint_rv_name(c, a->relation);
		const PgQuery__Constraint *k;
		const PgQuery__ColumnDef *d;
		struct coldef_info info;

		if (!cmd)
			continue;
		if (cmd->subtype == AT(AddConstraint) &&
		    (k = cmd_constraint(cmd)) &&
		    k->contype == CONSTR(FOREIGN) && !k->skip_validation)
			lint_report(
			        c, k->location, NULL,
			        "adding %s to '%s' checks every row while holding SHARE ROW EXCLUSIVE locks on '%s' and '%s'",
			        con_name(c, k, "foreign key"), rel, rel,
			        lint_rv_name(c, k->pktable));
		if (cmd->subtype == AT(AddColumn) && (d = cmd_coldef(cmd))) {
			coldef_info(&info, d);
			if (info.fk)
				lint_report(
				        c, info.fk->location, NULL,
				        "adding column '%s' with a foreign key to '%s' checks every row of '%s' while holding SHARE ROW EXCLUSIVE locks on both",
				        d->colname,
				        lint_rv_name(c, info.fk->pktable), rel);
		}
	}
}

static void rule_constraint_missing_not_valid(struct lint_ctx *c,
                                              const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);
		const char *rel = lint_rv_name(c, a->relation);
		const PgQuery__Constraint *k;
		const PgQuery__ColumnDef *d;
		struct coldef_info info;

		if (!cmd)
			continue;
		if (cmd->subtype == AT(AddConstraint) &&
		    (k = cmd_constraint(cmd)) && k->contype == CONSTR(CHECK) &&
		    !k->skip_validation)
			lint_report(
			        c, k->location, NULL,
			        "adding %s to '%s' scans the whole table under an ACCESS EXCLUSIVE lock",
			        con_name(c, k, "CHECK constraint"), rel);
		if (cmd->subtype == AT(AddColumn) && (d = cmd_coldef(cmd))) {
			coldef_info(&info, d);
			if (info.check)
				lint_report(
				        c, info.check->location, NULL,
				        "adding column '%s' with a CHECK constraint to '%s' scans the whole table under an ACCESS EXCLUSIVE lock",
				        d->colname, rel);
		}
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

static void rule_setting_not_nullable_field(struct lint_ctx *c,
                                            const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);

		if (!cmd || cmd->subtype != AT(SetNotNull))
			continue;
		if (c->pg_version >= 120000 &&
		    lint_has_validated_check(c, a->relation->relname,
		                             cmd->name))
			continue;
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
	const PgQuery__AlterTableStmt *a = alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);
		const char *rel = lint_rv_name(c, a->relation);
		const PgQuery__Constraint *k;
		const PgQuery__ColumnDef *d;
		struct coldef_info info;

		if (!cmd)
			continue;
		if (cmd->subtype == AT(AddConstraint) &&
		    (k = cmd_constraint(cmd)) && k->contype == type &&
		    !*k->indexname)
			lint_report(
			        c, k->location, NULL,
			        "adding %s to '%s' builds its index under an ACCESS EXCLUSIVE lock",
			        con_name(c, k, what), rel);
		if (cmd->subtype == AT(AddColumn) && (d = cmd_coldef(cmd))) {
			coldef_info(&info, d);
			k = type == CONSTR(PRIMARY) ? info.pk : info.unique;
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

static void rule_adding_primary_key_constraint(struct lint_ctx *c,
                                               const PgQuery__Node *n)
{
	report_index_constraint(c, n, CONSTR(PRIMARY), "primary key");
}

static void rule_disallowed_unique_constraint(struct lint_ctx *c,
                                              const PgQuery__Node *n)
{
	report_index_constraint(c, n, CONSTR(UNIQUE), "unique constraint");
}

/* ---- indexes and CONCURRENTLY ---------------------------------------------
 */

static void rule_require_concurrent_index_creation(struct lint_ctx *c,
                                                   const PgQuery__Node *n)
{
	const PgQuery__IndexStmt *s;

	if (!IS(n, INDEX_STMT))
		return;
	s = n->index_stmt;
	if (s->concurrent || !s->relation || lint_is_new_rel(c, s->relation))
		return;
	lint_report(
	        c, s->relation->location, NULL,
	        "creating %s on '%s' without CONCURRENTLY blocks writes to the table while the index builds",
	        *s->idxname ? lint_strfmt(c, "index '%s'", s->idxname)
	                    : "an index",
	        lint_rv_name(c, s->relation));
}

static const char *drop_object_name(const struct lint_ctx *c,
                                    const PgQuery__Node *o)
{
	if (IS(o, LIST))
		return lint_names(c, o->list->items, o->list->n_items);
	return node_string(o);
}

static const char *drop_object_last(const PgQuery__Node *o)
{
	if (IS(o, LIST))
		return names_last(o->list->items, o->list->n_items);
	return node_string(o);
}

static void rule_require_concurrent_index_deletion(struct lint_ctx *c,
                                                   const PgQuery__Node *n)
{
	const PgQuery__DropStmt *s;

	if (!IS(n, DROP_STMT))
		return;
	s = n->drop_stmt;
	if (s->remove_type != OBJ(INDEX) || s->concurrent)
		return;
	for (size_t i = 0; i < s->n_objects; i++) {
		if (lint_is_new_index(c, drop_object_last(s->objects[i])))
			continue;
		lint_report(
		        c, -1, NULL,
		        "dropping index '%s' without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table",
		        drop_object_name(c, s->objects[i]));
		return;
	}
}

static void rule_require_concurrent_reindex(struct lint_ctx *c,
                                            const PgQuery__Node *n)
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
		what = lint_strfmt(c, "index '%s'",
		                   lint_rv_name(c, s->relation));
		break;
	case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_TABLE:
		if (lint_is_new_rel(c, s->relation))
			return;
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

static void rule_require_concurrent_detach_partition(struct lint_ctx *c,
                                                     const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = alter_existing(c, n);

	if (c->pg_version < 140000)
		return; /* no DETACH CONCURRENTLY before 14 */
	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);
		const PgQuery__PartitionCmd *p;

		if (!cmd || cmd->subtype != AT(DetachPartition) || !cmd->def ||
		    !IS(cmd->def, PARTITION_CMD))
			continue;
		p = cmd->def->partition_cmd;
		if (p->concurrent)
			continue;
		lint_report(
		        c, p->name ? p->name->location : -1, NULL,
		        "detaching partition '%s' from '%s' without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on '%s'",
		        lint_rv_name(c, p->name), lint_rv_name(c, a->relation),
		        lint_rv_name(c, a->relation));
	}
}

/* The CONCURRENTLY form a statement uses, or NULL. */
static const char *concurrent_form(const PgQuery__Node *n)
{
	const PgQuery__DefElem *d;

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		return n->index_stmt->concurrent ? "CREATE INDEX CONCURRENTLY"
		                                 : NULL;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		return n->drop_stmt->remove_type == OBJ(INDEX) &&
		                       n->drop_stmt->concurrent
		               ? "DROP INDEX CONCURRENTLY"
		               : NULL;
	case PG_QUERY__NODE__NODE_REINDEX_STMT:
		d = defs_find(n->reindex_stmt->params,
		              n->reindex_stmt->n_params, "concurrently");
		return d && def_is_true(d) ? "REINDEX CONCURRENTLY" : NULL;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		for (size_t i = 0; i < n->alter_table_stmt->n_cmds; i++) {
			const PgQuery__AlterTableCmd *cmd =
			        cmd_of(n->alter_table_stmt->cmds[i]);

			if (cmd && cmd->subtype == AT(DetachPartition) &&
			    cmd->def && IS(cmd->def, PARTITION_CMD) &&
			    cmd->def->partition_cmd->concurrent)
				return "DETACH PARTITION CONCURRENTLY";
		}
		return NULL;
	default:
		return NULL;
	}
}

static void rule_ban_concurrently_in_transaction(struct lint_ctx *c,
                                                 const PgQuery__Node *n)
{
	const char *what = concurrent_form(n);

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

/* ---- dropping and renaming ------------------------------------------------
 */

static void rule_ban_drop_column(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);

		if (cmd && cmd->subtype == AT(DropColumn))
			lint_report(
			        c, -1, NULL,
			        "dropping column '%s' of '%s' breaks the code still reading it",
			        cmd->name, lint_rv_name(c, a->relation));
	}
}

static void rule_ban_drop_table(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__DropStmt *s;

	if (!IS(n, DROP_STMT) || n->drop_stmt->remove_type != OBJ(TABLE))
		return;
	s = n->drop_stmt;
	for (size_t i = 0; i < s->n_objects; i++) {
		const char *name = drop_object_last(s->objects[i]);
		PgQuery__RangeVar rv = PG_QUERY__RANGE_VAR__INIT;

		rv.relname = (char *)(name ? name : "");
		if (lint_is_new_rel(c, &rv))
			continue;
		lint_report(
		        c, -1, NULL,
		        "dropping table '%s' breaks the code still using it, and loses its data",
		        drop_object_name(c, s->objects[i]));
	}
}

static void rule_ban_drop_database(struct lint_ctx *c, const PgQuery__Node *n)
{
	if (IS(n, DROPDB_STMT))
		lint_report(
		        c, -1, NULL,
		        "dropping database '%s' from a migration loses all of it",
		        n->dropdb_stmt->dbname);
}

static void rule_ban_drop_not_null(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);

		if (cmd && cmd->subtype == AT(DropNotNull))
			lint_report(
			        c, -1, NULL,
			        "dropping NOT NULL from column '%s' of '%s' lets NULLs reach code that assumes there are none",
			        cmd->name, lint_rv_name(c, a->relation));
	}
}

static void rule_renaming_column(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__RenameStmt *r;

	if (!IS(n, RENAME_STMT))
		return;
	r = n->rename_stmt;
	if (r->rename_type != OBJ(COLUMN) || !r->relation ||
	    lint_is_new_rel(c, r->relation))
		return;
	lint_report(
	        c, r->relation->location, NULL,
	        "renaming column '%s' of '%s' to '%s' breaks the code still using the old name",
	        r->subname, lint_rv_name(c, r->relation), r->newname);
}

static void rule_renaming_table(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__RenameStmt *r;

	if (!IS(n, RENAME_STMT))
		return;
	r = n->rename_stmt;
	if (r->rename_type != OBJ(TABLE) || !r->relation ||
	    lint_is_new_rel(c, r->relation))
		return;
	lint_report(
	        c, r->relation->location, NULL,
	        "renaming table '%s' to '%s' breaks the code still using the old name",
	        lint_rv_name(c, r->relation), r->newname);
}

static void rule_ban_truncate_cascade(struct lint_ctx *c,
                                      const PgQuery__Node *n)
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

/* Whether PostgreSQL changes `from` to `to` without rewriting the table
 * (binary-coercible, or a wider limit). */
static bool is_free_change(const struct lint_type *from,
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

static void rule_changing_column_type(struct lint_ctx *c,
                                      const PgQuery__Node *n)
{
	const PgQuery__AlterTableStmt *a = alter_existing(c, n);

	for (size_t i = 0; a && i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd = cmd_of(a->cmds[i]);
		const char *rel = lint_rv_name(c, a->relation);
		const struct lint_type *from;
		const PgQuery__ColumnDef *d;
		struct lint_type to;

		if (!cmd || cmd->subtype != AT(AlterColumnType) ||
		    !(d = cmd_coldef(cmd)) || !d->type_name)
			continue;
		lint_type_of(&to, d->type_name);
		from = lint_column_type(c, a->relation->relname, cmd->name);
		if (d->raw_default) {
			lint_report(
			        c, d->location, NULL,
			        "changing the type of column '%s' of '%s' to %s USING an expression rewrites the table under an ACCESS EXCLUSIVE lock",
			        cmd->name, rel, type_display(c, &to));
		} else if (from && !is_free_change(from, &to)) {
			lint_report(
			        c, d->location, NULL,
			        "changing the type of column '%s' of '%s' from %s to %s rewrites the table under an ACCESS EXCLUSIVE lock",
			        cmd->name, rel, type_display(c, from),
			        type_display(c, &to));
		} else if (!from && !to.is_array && !to.is_other_mods &&
		           (is_varchar(to.name) || !strcmp(to.name, "text"))) {
			continue; /* unseen: taken as a widening, the usual */
		} else if (!from) {
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
	if (t.is_array || !is_one_of(t.name, small, ARRAY_SIZE(small)))
		return;
	lint_report(
	        c, d->type_name->location, NULL,
	        "primary key column '%s' of '%s' is %s: its values run out at %s",
	        col, lint_rv_name(c, rel), type_display(c, &t),
	        strstr(t.name, "2") || !strcmp(t.name, "smallserial")
	                ? "32,767"
	                : "2,147,483,647");
}

static void rule_prefer_bigint_over_int(struct lint_ctx *c,
                                        const PgQuery__Node *n)
{
	each_coldef(c, n, check_int_key);
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
	if (t && is_serial(t))
		lint_report(
		        c, d->type_name->location, NULL,
		        "column '%s' of '%s' is %s: its sequence lives apart from the table (ownership, grants, dumps)",
		        col, lint_rv_name(c, rel), t);
}

static void rule_prefer_identity(struct lint_ctx *c, const PgQuery__Node *n)
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

static void rule_prefer_text_field(struct lint_ctx *c, const PgQuery__Node *n)
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

static void rule_ban_char_field(struct lint_ctx *c, const PgQuery__Node *n)
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

static void rule_prefer_timestamptz(struct lint_ctx *c, const PgQuery__Node *n)
{
	each_coldef(c, n, check_timestamp);
}

/* ---- identifiers ----------------------------------------------------------
 */

#define NAMEDATALEN 64

static void rule_identifier_too_long(struct lint_ctx *c, const PgQuery__Node *n)
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

static void rule_duplicate_column_assignment(struct lint_ctx *c,
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

static void rule_ban_update_without_where(struct lint_ctx *c,
                                          const PgQuery__Node *n)
{
	const PgQuery__UpdateStmt *u;

	if (!IS(n, UPDATE_STMT))
		return;
	u = n->update_stmt;
	if (u->where_clause || lint_is_new_rel(c, u->relation))
		return;
	lint_report(
	        c, u->relation ? u->relation->location : -1, NULL,
	        "UPDATE without WHERE rewrites every row of '%s' and holds their locks until the migration commits",
	        lint_rv_name(c, u->relation));
}

static void rule_ban_delete_without_where(struct lint_ctx *c,
                                          const PgQuery__Node *n)
{
	const PgQuery__DeleteStmt *d;

	if (!IS(n, DELETE_STMT))
		return;
	d = n->delete_stmt;
	if (d->where_clause || lint_is_new_rel(c, d->relation))
		return;
	lint_report(c, d->relation ? d->relation->location : -1, NULL,
	            "DELETE without WHERE removes every row of '%s'",
	            lint_rv_name(c, d->relation));
}

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

static void rule_transaction_nesting(struct lint_ctx *c, const PgQuery__Node *n)
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

static void rule_ban_uncommitted_transaction(struct lint_ctx *c,
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

static void rule_enum_value_without_position(struct lint_ctx *c,
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

static void rule_enum_value_used_in_transaction(struct lint_ctx *c,
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
			        cmd_of(n->alter_table_stmt->cmds[i]);
			const PgQuery__Constraint *k;

			if (cmd && (k = cmd_constraint(cmd)) &&
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
			coldef_info(&info, e->column_def);
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
				            drop_object_last(
				                    n->drop_stmt->objects[i])))
					return drop_object_last(
					        n->drop_stmt->objects[i]);
			return NULL;
		case OBJ(TABLE):
		case OBJ(VIEW):
		case OBJ(MATVIEW):
			for (size_t i = 0; i < n->drop_stmt->n_objects; i++) {
				PgQuery__RangeVar r = PG_QUERY__RANGE_VAR__INIT;
				const char *name = drop_object_last(
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
		if (concurrent_form(n))
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

static void rule_require_lock_timeout(struct lint_ctx *c,
                                      const PgQuery__Node *n)
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

static void rule_ban_lock_table(struct lint_ctx *c, const PgQuery__Node *n)
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

static void rule_ban_vacuum_full(struct lint_ctx *c, const PgQuery__Node *n)
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
		lint_report(
		        c, rv->location, NULL,
		        "VACUUM FULL rewrites '%s' under an ACCESS EXCLUSIVE lock",
		        lint_rv_name(c, rv));
	}
}

static void rule_ban_cluster(struct lint_ctx *c, const PgQuery__Node *n)
{
	const PgQuery__RangeVar *rv;

	if (!IS(n, CLUSTER_STMT))
		return;
	rv = n->cluster_stmt->relation;
	if (!rv)
		lint_report(
		        c, -1, NULL,
		        "CLUSTER rewrites every clustered table of the database under ACCESS EXCLUSIVE locks");
	else if (!lint_is_new_rel(c, rv))
		lint_report(
		        c, rv->location, NULL,
		        "CLUSTER rewrites '%s' under an ACCESS EXCLUSIVE lock",
		        lint_rv_name(c, rv));
}

static void rule_require_concurrent_refresh(struct lint_ctx *c,
                                            const PgQuery__Node *n)
{
	const PgQuery__RefreshMatViewStmt *r;

	if (!IS(n, REFRESH_MAT_VIEW_STMT))
		return;
	r = n->refresh_mat_view_stmt;
	if (r->concurrent || r->skip_data || lint_is_new_rel(c, r->relation))
		return;
	lint_report(
	        c, r->relation ? r->relation->location : -1, NULL,
	        "REFRESH MATERIALIZED VIEW '%s' without CONCURRENTLY blocks reads of it until it ends",
	        lint_rv_name(c, r->relation));
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
		        drop_object_name(c, n->drop_stmt->objects[0]));
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
			        cmd_of(n->alter_table_stmt->cmds[i]);
			const PgQuery__ColumnDef *d;

			if (!cmd || cmd->missing_ok)
				continue;
			if (cmd->subtype == AT(AddColumn) &&
			    (d = cmd_coldef(cmd)))
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

static void rule_prefer_robust_stmts(struct lint_ctx *c, const PgQuery__Node *n)
{
	const char *what;

	if (c->in_txn || !(what = fragile(c, n)))
		return;
	lint_report(
	        c, -1,
	        concurrent_form(n) && IS(n, INDEX_STMT)
	                ? "Precede it with DROP INDEX CONCURRENTLY IF EXISTS: an interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index of that name, which IF NOT EXISTS would keep."
	                : NULL,
	        "%s fails when this non-transactional file runs again after failing part-way",
	        what);
}

/* ---- domains ----------------------------------------------------------------
 */

static void rule_ban_create_domain_with_constraint(struct lint_ctx *c,
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

static void rule_ban_alter_domain_with_add_constraint(struct lint_ctx *c,
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

/* ---- the table
 * ---------------------------------------------------------------- */

#define ERROR   STRATA_SEVERITY_ERROR
#define WARNING STRATA_SEVERITY_WARNING
#define RULE(id, sev, fn, summary, hint)       \
	{                                      \
		{ id, sev, summary, hint }, fn \
	}

const struct lint_rule
        lint_rules[] = {
	        RULE(LINT_PARSE_ERROR, ERROR, NULL,
	             "SQL the PostgreSQL parser rejects",
	             "Fix the SQL; with a newer server pass --pg-version so the error becomes a warning."),
	        RULE("adding-field-with-default", ERROR,
	             rule_adding_field_with_default,
	             "adding a column whose default must be computed for every row (volatile, serial, identity, generated; any default before PostgreSQL 11)",
	             "Add the column without that default, set the default with ALTER COLUMN ... SET DEFAULT, and fill existing rows in batches."),
	        RULE("adding-required-field", ERROR, rule_adding_required_field,
	             "adding a NOT NULL column without a default to an existing table",
	             "Give it a constant DEFAULT (free since PostgreSQL 11), or add it nullable, fill it, then make it NOT NULL through a CHECK constraint."),
	        RULE("adding-foreign-key-constraint", ERROR,
	             rule_adding_foreign_key_constraint,
	             "adding a foreign key without NOT VALID",
	             "Add it NOT VALID (only new rows are checked), then VALIDATE CONSTRAINT in a later migration."),
	        RULE("constraint-missing-not-valid", ERROR,
	             rule_constraint_missing_not_valid,
	             "adding a CHECK constraint without NOT VALID, or validating one in the transaction that added it",
	             "Add it NOT VALID (only new rows are checked), then VALIDATE CONSTRAINT in a later migration."),
	        RULE("setting-not-nullable-field", ERROR,
	             rule_setting_not_nullable_field,
	             "SET NOT NULL on an existing column without a validated CHECK (col IS NOT NULL)",
	             "Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (PostgreSQL 12 and later skip the scan) and drop the check."),
	        RULE("adding-primary-key-constraint", ERROR,
	             rule_adding_primary_key_constraint,
	             "ADD PRIMARY KEY that builds its index under lock",
	             "CREATE UNIQUE INDEX CONCURRENTLY first (in a -- no-transaction file), then ADD PRIMARY KEY USING INDEX."),
	        RULE("disallowed-unique-constraint", ERROR,
	             rule_disallowed_unique_constraint,
	             "ADD UNIQUE that builds its index under lock",
	             "CREATE UNIQUE INDEX CONCURRENTLY first (in a -- no-transaction file), then ADD CONSTRAINT ... UNIQUE USING INDEX."),
	        RULE("require-concurrent-index-creation", ERROR,
	             rule_require_concurrent_index_creation,
	             "CREATE INDEX without CONCURRENTLY on an existing table",
	             "Use CREATE INDEX CONCURRENTLY in a file that starts with -- no-transaction."),
	        RULE("require-concurrent-index-deletion", ERROR,
	             rule_require_concurrent_index_deletion,
	             "DROP INDEX without CONCURRENTLY",
	             "Use DROP INDEX CONCURRENTLY in a file that starts with -- no-transaction."),
	        RULE("require-concurrent-reindex", ERROR,
	             rule_require_concurrent_reindex,
	             "REINDEX without CONCURRENTLY",
	             "Use REINDEX ... CONCURRENTLY in a file that starts with -- no-transaction."),
	        RULE("require-concurrent-detach-partition", ERROR,
	             rule_require_concurrent_detach_partition,
	             "DETACH PARTITION without CONCURRENTLY (PostgreSQL 14 and later)",
	             "Use ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY in a file that starts with -- no-transaction."),
	        RULE("ban-concurrently-in-transaction", ERROR,
	             rule_ban_concurrently_in_transaction,
	             "CONCURRENTLY in a file that runs in a transaction",
	             "Put '-- no-transaction' on the first line of the file, and keep such a file to the statements that need it."),
	        RULE("changing-column-type", ERROR, rule_changing_column_type,
	             "ALTER COLUMN TYPE that rewrites the table (anything but binary-coercible changes such as varchar to text or a wider varchar)",
	             "Add a column of the new type, fill it in batches while the application writes both, switch reads, then drop the old column."),
	        RULE("ban-drop-column", ERROR, rule_ban_drop_column,
	             "dropping a column",
	             "Stop reading the column in every deployed version first; once nothing uses it, drop it with '-- strata-lint-ignore ban-drop-column' before the statement."),
	        RULE("ban-drop-table", ERROR, rule_ban_drop_table,
	             "dropping a table",
	             "Stop using the table in every deployed version first (rename-free); once nothing uses it, drop it with '-- strata-lint-ignore ban-drop-table' before the statement."),
	        RULE("ban-drop-database", ERROR, rule_ban_drop_database,
	             "dropping a database",
	             "Drop databases by hand, not in migrations."),
	        RULE("renaming-column", ERROR, rule_renaming_column,
	             "renaming a column",
	             "Add a new column, write both, backfill, move reads, then drop the old one; or expose the new name through a view."),
	        RULE("renaming-table", ERROR, rule_renaming_table,
	             "renaming a table",
	             "Create the new table (or a view under the new name), move the code over, then drop the old name."),
	        RULE("ban-truncate-cascade", ERROR, rule_ban_truncate_cascade,
	             "TRUNCATE ... CASCADE",
	             "TRUNCATE the tables you mean by name, without CASCADE, so that a foreign key you forgot stops it."),
	        RULE("duplicate-column-assignment", ERROR,
	             rule_duplicate_column_assignment,
	             "a column assigned twice in one UPDATE or INSERT",
	             "Assign each column once."),
	        RULE("transaction-nesting", ERROR, rule_transaction_nesting,
	             "BEGIN inside an open transaction, or COMMIT/ROLLBACK outside one",
	             "Let strata run the file in its transaction (no BEGIN/COMMIT at all), or pair each BEGIN with one COMMIT."),
	        RULE("ban-uncommitted-transaction", ERROR,
	             rule_ban_uncommitted_transaction,
	             "a BEGIN with no COMMIT before the end of the file",
	             "End the transaction with COMMIT, or drop the BEGIN and let strata run the file in its transaction."),
	        RULE("enum-value-used-in-transaction", ERROR,
	             rule_enum_value_used_in_transaction,
	             "a new enum value used in the transaction that added it",
	             "Add the value in one migration and use it in a later one."),
	        RULE("ban-alter-domain-with-add-constraint", ERROR,
	             rule_ban_alter_domain_with_add_constraint,
	             "ALTER DOMAIN ... ADD CONSTRAINT without NOT VALID",
	             "Add it NOT VALID, then VALIDATE CONSTRAINT in a later migration; or check the columns with table constraints."),
	        RULE("ban-vacuum-full", ERROR, rule_ban_vacuum_full,
	             "VACUUM FULL",
	             "Use plain VACUUM, or pg_repack or pg_squeeze to compact a table online."),
	        RULE("ban-cluster", ERROR, rule_ban_cluster, "CLUSTER",
	             "Use pg_repack --order-by to reorder a table online, or do it in a maintenance window, not a migration."),
	        RULE("ban-lock-table", ERROR, rule_ban_lock_table, "LOCK TABLE in a mode that blocks writes or reads", "Let each statement take the lock it needs, with lock_timeout set; if the lock is really meant, say so with '-- strata-lint-ignore ban-lock-table'."),
	        RULE("require-concurrent-refresh", ERROR,
	             rule_require_concurrent_refresh,
	             "REFRESH MATERIALIZED VIEW without CONCURRENTLY",
	             "Use REFRESH MATERIALIZED VIEW CONCURRENTLY (the view needs a unique index)."),
	        RULE("require-lock-timeout", WARNING, rule_require_lock_timeout,
	             "a statement that takes a blocking lock on an existing table, with no lock_timeout set",
	             "SET lock_timeout = '5s' at the top of the file (SET LOCAL inside a transaction), and retry the migration when it times out."),
	        RULE("prefer-robust-stmts", WARNING, rule_prefer_robust_stmts,
	             "DDL that fails when a -- no-transaction file runs again (including CREATE EXTENSION without IF NOT EXISTS)",
	             "Write it to run twice: IF NOT EXISTS, IF EXISTS, OR REPLACE."),
	        RULE("ban-drop-not-null", WARNING, rule_ban_drop_not_null,
	             "dropping NOT NULL from a column",
	             "Make sure every deployed version handles NULL in the column first."),
	        RULE("ban-update-without-where", WARNING,
	             rule_ban_update_without_where,
	             "UPDATE without WHERE on an existing table",
	             "Update in batches (WHERE id BETWEEN ... AND ...), each committed on its own."),
	        RULE("ban-delete-without-where", WARNING,
	             rule_ban_delete_without_where,
	             "DELETE without WHERE on an existing table",
	             "Say which rows with WHERE; to empty a table on purpose, TRUNCATE it."),
	        RULE("identifier-too-long", WARNING, rule_identifier_too_long,
	             "an identifier longer than 63 bytes",
	             "Use a name of at most 63 bytes: two long names that share their first 63 bytes are the same name."),
	        RULE("prefer-bigint-over-int", WARNING,
	             rule_prefer_bigint_over_int,
	             "a primary key column of type integer, smallint or serial",
	             "Use bigint, as bigint GENERATED ALWAYS AS IDENTITY."),
	        RULE("prefer-identity", WARNING, rule_prefer_identity,
	             "a serial column",
	             "Use bigint GENERATED ALWAYS AS IDENTITY (or BY DEFAULT)."),
	        RULE("prefer-text-field", WARNING, rule_prefer_text_field,
	             "a varchar(n) column",
	             "Use text, with CHECK (char_length(col) <= n) if the limit matters: a CHECK can change without a rewrite (NOT VALID, then VALIDATE)."),
	        RULE("ban-char-field", WARNING, rule_ban_char_field,
	             "a char(n) column", "Use text (or varchar)."),
	        RULE("prefer-timestamptz", WARNING, rule_prefer_timestamptz,
	             "a timestamp without time zone column",
	             "Use timestamptz: it stores an instant, whatever the session's time zone."),
	        RULE("enum-value-without-position", WARNING,
	             rule_enum_value_without_position,
	             "ALTER TYPE ... ADD VALUE without BEFORE or AFTER",
	             "Say where the value sorts with BEFORE or AFTER an existing value."),
	        RULE("ban-create-domain-with-constraint", WARNING,
	             rule_ban_create_domain_with_constraint,
	             "CREATE DOMAIN with a CHECK constraint",
	             "Put the CHECK on the columns as table constraints, which can be changed NOT VALID."),
	        RULE(LINT_UNUSED_IGNORE, WARNING, NULL,
	             "a strata-lint-ignore comment that suppresses nothing",
	             "Remove the comment, or fix the rule name."),
        };

const size_t lint_rules_count = ARRAY_SIZE(lint_rules);
