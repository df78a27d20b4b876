/*
 * A statement is guarded when running it again changes nothing and does
 * not fail: CREATE ... IF NOT EXISTS, CREATE OR REPLACE, DROP ... IF
 * EXISTS, ALTER TABLE ... ADD COLUMN IF NOT EXISTS, INSERT ... ON
 * CONFLICT. Those PostgreSQL gives no guard (CREATE TYPE, CREATE POLICY,
 * ADD CONSTRAINT, RENAME) are named too: a DO block that checks first is
 * the way to write them, and a DO block is taken on trust. Statements
 * that repeat harmlessly (COMMENT, GRANT, SET DEFAULT) are not named.
 */
#include "sql/idempotent.h"
#include "util/text.h"
#include "sql/pgtree.h"
#include "sql/pgparse.h"

#include <string.h>

/* Why `n` is not guarded, or NULL when it is. */
static const char *unguarded(const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		return n->create_stmt->if_not_exists
		               ? NULL
		               : "CREATE TABLE without IF NOT EXISTS";
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		if (!n->index_stmt->idxname || !*n->index_stmt->idxname)
			return "CREATE INDEX without a name (each run makes another index)";
		return n->index_stmt->if_not_exists
		               ? NULL
		               : "CREATE INDEX without IF NOT EXISTS";
	case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
		return n->create_seq_stmt->if_not_exists
		               ? NULL
		               : "CREATE SEQUENCE without IF NOT EXISTS";
	case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
		return n->create_schema_stmt->if_not_exists
		               ? NULL
		               : "CREATE SCHEMA without IF NOT EXISTS";
	case PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT:
		return n->create_extension_stmt->if_not_exists
		               ? NULL
		               : "CREATE EXTENSION without IF NOT EXISTS";
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
		return n->create_table_as_stmt->if_not_exists
		               ? NULL
		               : "CREATE TABLE AS or MATERIALIZED VIEW without IF NOT EXISTS";
	case PG_QUERY__NODE__NODE_VIEW_STMT:
		return n->view_stmt->replace ? NULL
		                             : "CREATE VIEW without OR REPLACE";
	case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
		return n->create_function_stmt->replace
		               ? NULL
		               : "CREATE FUNCTION or PROCEDURE without OR REPLACE";
	case PG_QUERY__NODE__NODE_CREATE_TRIG_STMT:
		return n->create_trig_stmt->replace
		               ? NULL
		               : "CREATE TRIGGER without OR REPLACE";
	case PG_QUERY__NODE__NODE_RULE_STMT:
		return n->rule_stmt->replace ? NULL
		                             : "CREATE RULE without OR REPLACE";
	case PG_QUERY__NODE__NODE_DROP_STMT:
		return n->drop_stmt->missing_ok ? NULL
		                                : "DROP without IF EXISTS";
	case PG_QUERY__NODE__NODE_ALTER_ENUM_STMT:
		/* RENAME VALUE has no guard; ADD VALUE has IF NOT EXISTS */
		if (n->alter_enum_stmt->old_val && *n->alter_enum_stmt->old_val)
			return "ALTER TYPE ... RENAME VALUE";
		return n->alter_enum_stmt->skip_if_new_val_exists
		               ? NULL
		               : "ALTER TYPE ... ADD VALUE without IF NOT EXISTS";
	case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
	case PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT:
	case PG_QUERY__NODE__NODE_CREATE_RANGE_STMT:
		return "CREATE TYPE (it has no IF NOT EXISTS)";
	case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
		return "CREATE DOMAIN (it has no IF NOT EXISTS)";
	case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT:
		return "CREATE POLICY (it has no IF NOT EXISTS)";
	case PG_QUERY__NODE__NODE_RENAME_STMT:
		return "RENAME (a second run finds the new name)";
	case PG_QUERY__NODE__NODE_INSERT_STMT:
		return n->insert_stmt->on_conflict_clause
		               ? NULL
		               : "INSERT without ON CONFLICT (a second run adds the rows again)";
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		for (size_t i = 0; i < n->alter_table_stmt->n_cmds; i++) {
			const PgQuery__Node *c = n->alter_table_stmt->cmds[i];
			const PgQuery__AlterTableCmd *cmd =
			        c->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD
			                ? c->alter_table_cmd
			                : NULL;

			if (!cmd)
				continue;
			switch (cmd->subtype) {
			case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn:
				if (!cmd->missing_ok)
					return "ADD COLUMN without IF NOT EXISTS";
				break;
			case PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn:
				if (!cmd->missing_ok)
					return "DROP COLUMN without IF EXISTS";
				break;
			case PG_QUERY__ALTER_TABLE_TYPE__AT_DropConstraint:
				if (!cmd->missing_ok)
					return "DROP CONSTRAINT without IF EXISTS";
				break;
			case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
				return "ADD CONSTRAINT (it has no IF NOT EXISTS)";
			default:
				break;
			}
		}
		return NULL;
	default:
		return NULL;
	}
}

/* Where the statement from `at` begins: past blanks and comments (a
 * statement's location is where the one before it ended). */
static size_t first_token(const char *sql, size_t len, size_t at)
{
	while (at < len) {
		if (strchr(" \t\r\n\f", sql[at])) {
			at++;
		} else if (sql[at] == '-' && at + 1 < len &&
		           sql[at + 1] == '-') {
			at += strcspn(sql + at, "\n");
		} else if (sql[at] == '/' && at + 1 < len &&
		           sql[at + 1] == '*') {
			const char *end = strstr(sql + at + 2, "*/");

			at = end ? (size_t)(end - sql) + 2 : len;
		} else {
			break;
		}
	}
	return at;
}

int sql_unguarded(struct sbuf *out, const char *sql, struct strata_error *err)
{
	size_t len = strlen(sql);
	struct pg_scan scanned;
	struct pg_parse parsed = { 0 };
	int rc = -1;

	if (pg_scan(&scanned, sql, len, err) < 0)
		return -1;
	if (!scanned.toks) {
		rc = 0; /* the run says why */
		goto done;
	}
	if (pg_parse(&parsed, sql, len, scanned.toks, err) < 0)
		goto done;
	for (size_t i = 0; parsed.tree && i < parsed.tree->n_stmts; i++) {
		const PgQuery__RawStmt *s = parsed.tree->stmts[i];
		const char *why = s->stmt ? unguarded(s->stmt) : NULL;
		int line = 0, col = 0;

		if (!why)
			continue;
		text_line_col(sql, len,
		              first_token(sql, len,
		                          s->stmt_location > 0
		                                  ? (size_t)s->stmt_location
		                                  : 0),
		              &line, &col);
		sbuf_addf(out, "line %d: %s\n", line, why);
	}
	rc = 0;
done:
	pg_parse_release(&parsed);
	pg_scan_release(&scanned);
	return rc;
}
