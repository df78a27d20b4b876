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
 *
 * This file holds the helpers more than one family of rules uses and the
 * table, whose order is the order of the docs and of SARIF's rule list;
 * the rules themselves are grouped by family in lint_rules_columns.c,
 * lint_rules_locks.c, lint_rules_types.c and lint_rules_txn.c.
 */
#include "util/common.h"
#include "sql/pgtree.h"
#include "lint/lint.h"
#include "lint/rules.h"

#include <string.h>

/* ---- helpers --------------------------------------------------------------
 */

const PgQuery__AlterTableCmd *rules_cmd_of(const PgQuery__Node *n)
{
	return IS(n, ALTER_TABLE_CMD) ? n->alter_table_cmd : NULL;
}

const PgQuery__ColumnDef *rules_cmd_coldef(const PgQuery__AlterTableCmd *cmd)
{
	return cmd->def && IS(cmd->def, COLUMN_DEF) ? cmd->def->column_def
	                                            : NULL;
}

const PgQuery__Constraint *
rules_cmd_constraint(const PgQuery__AlterTableCmd *cmd)
{
	return cmd->def && IS(cmd->def, CONSTRAINT) ? cmd->def->constraint
	                                            : NULL;
}

/* ALTER TABLE of a table that exists (not created in this migration). */
const PgQuery__AlterTableStmt *rules_alter_existing(const struct lint_ctx *c,
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

void rules_coldef_info(struct coldef_info *out, const PgQuery__ColumnDef *d)
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

bool rules_is_one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

bool rules_is_serial(const char *t)
{
	static const char *const serials[] = {
		"serial",  "serial2",     "serial4",
		"serial8", "smallserial", "bigserial",
	};

	return rules_is_one_of(t, serials, ARRAY_SIZE(serials));
}

const char *rules_drop_object_name(const struct lint_ctx *c,
                                   const PgQuery__Node *o)
{
	if (IS(o, LIST))
		return lint_names(c, o->list->items, o->list->n_items);
	return node_string(o);
}

const char *rules_drop_object_last(const PgQuery__Node *o)
{
	if (IS(o, LIST))
		return names_last(o->list->items, o->list->n_items);
	return node_string(o);
}

/* The CONCURRENTLY form a statement uses, or NULL. */
const char *rules_concurrent_form(const PgQuery__Node *n)
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
			        rules_cmd_of(n->alter_table_stmt->cmds[i]);

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

/* ---- the table
 * ---------------------------------------------------------------- */

#define ERROR   STRATA_SEVERITY_ERROR
#define WARNING STRATA_SEVERITY_WARNING
#define OFF     STRATA_SEVERITY_OFF
#define RULE(id, sev, fn, summary, hint)       \
	{                                      \
		{ id, sev, summary, hint }, fn \
	}

/* The table keeps its layout as rows are added. */
/* clang-format off */
const struct lint_rule
        lint_rules[] = {
	        RULE(LINT_PARSE_ERROR, ERROR, NULL,
	             "SQL the PostgreSQL parser rejects",
	             "Fix the SQL; with a newer server, lint for its version so the error becomes a warning."),
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
	        RULE("require-statement-timeout", OFF,
	             rule_require_statement_timeout,
	             "a statement that takes a blocking lock on an existing table, with no statement_timeout set (off unless turned on)",
	             "Set a statement_timeout for the migration (SET LOCAL statement_timeout = '30s' at the top of the file, or strata's statement_timeout setting), so that a statement that holds its lock too long is cancelled and rolled back."),
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
	        RULE("batch-unbounded", ERROR, rule_batch_unbounded,
	             "a batch migration's statement with no LIMIT :batch_size or no way to leave done rows out",
	             "Write one UPDATE, DELETE or INSERT ... SELECT that changes at most :batch_size rows and leaves rows already done out, such as UPDATE t SET b = f(a) WHERE id IN (SELECT id FROM t WHERE b IS NULL LIMIT :batch_size);"),
	        RULE("identifier-too-long", WARNING, rule_identifier_too_long,
	             "an identifier longer than 63 bytes",
	             "Use a name of at most 63 bytes: two long names that share their first 63 bytes are the same name."),
	        RULE("prefer-bigint-over-int", WARNING,
	             rule_prefer_bigint_over_int,
	             "a primary key column of type integer, smallint or serial",
	             "Use bigint, as bigint GENERATED ALWAYS AS IDENTITY."),
	        RULE("prefer-bigint-over-smallint", WARNING,
	             rule_prefer_bigint_over_smallint,
	             "a smallint or smallserial column (a key is prefer-bigint-over-int's)",
	             "Use bigint (or integer where the values stay small): widening a column later rewrites the table under lock."),
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
	        RULE("require-table-schema", OFF, rule_require_table_schema,
	             "a table named without its schema (off unless turned on)",
	             "Name the table with its schema, as app.users: the statement then means the same table whatever the session's search_path."),
	        RULE(LINT_UNUSED_IGNORE, WARNING, NULL,
	             "a strata-lint-ignore comment that suppresses nothing",
	             "Remove the comment, or fix the rule name."),
        };
/* clang-format on */

const size_t lint_rules_count = ARRAY_SIZE(lint_rules);
