/*
 * What the rule files share: the node tests, the helpers of lint_rules.c
 * that more than one family uses, and the rule functions that
 * lint_rules[] names. The engine doesn't include it: it sees rules only
 * through lint_rules[] (lint.h).
 */
#ifndef STRATA_LINT_RULES_H
#define STRATA_LINT_RULES_H

#include "util/common.h"
#include "sql/pgtree.h"
#include "lint/lint.h"

#define IS(n, kind) ((n)->node_case == PG_QUERY__NODE__NODE_##kind)
#define AT(kind)    PG_QUERY__ALTER_TABLE_TYPE__AT_##kind
#define CONSTR(k)   PG_QUERY__CONSTR_TYPE__CONSTR_##k
#define OBJ(k)      PG_QUERY__OBJECT_TYPE__OBJECT_##k

/* ---- helpers (lint_rules.c) ----------------------------------------------
 */

/* The ALTER TABLE command a node is, or NULL. */
const PgQuery__AlterTableCmd *rules_cmd_of(const PgQuery__Node *n);
/* The column definition or the constraint a command adds, or NULL. */
const PgQuery__ColumnDef *rules_cmd_coldef(const PgQuery__AlterTableCmd *cmd);
const PgQuery__Constraint *
rules_cmd_constraint(const PgQuery__AlterTableCmd *cmd);
/* ALTER TABLE of a table that exists (not created in this migration). */
const PgQuery__AlterTableStmt *rules_alter_existing(const struct lint_ctx *c,
                                                    const PgQuery__Node *n);

/* What a column definition says beyond its type. */
struct coldef_info {
	const PgQuery__Node *dflt;
	int dflt_at;
	const PgQuery__Constraint *fk, *check, *pk, *unique;
	bool is_not_null, is_identity, is_generated;
};

void rules_coldef_info(struct coldef_info *out, const PgQuery__ColumnDef *d);

bool rules_is_one_of(const char *s, const char *const *list, size_t n);
/* serial, bigserial and the other spellings. */
bool rules_is_serial(const char *t);
/* The dotted name, or its last part, of an object a DROP names. */
const char *rules_drop_object_name(const struct lint_ctx *c,
                                   const PgQuery__Node *o);
const char *rules_drop_object_last(const PgQuery__Node *o);
/* The CONCURRENTLY form a statement uses, or NULL. */
const char *rules_concurrent_form(const PgQuery__Node *n);

/* ---- the rules, one per row of lint_rules[] -------------------------------
 */

/* lint_rules_columns.c: a table's shape */
void rule_adding_field_with_default(struct lint_ctx *c, const PgQuery__Node *n);
void rule_adding_required_field(struct lint_ctx *c, const PgQuery__Node *n);
void rule_adding_foreign_key_constraint(struct lint_ctx *c,
                                        const PgQuery__Node *n);
void rule_constraint_missing_not_valid(struct lint_ctx *c,
                                       const PgQuery__Node *n);
void rule_setting_not_nullable_field(struct lint_ctx *c,
                                     const PgQuery__Node *n);
void rule_adding_primary_key_constraint(struct lint_ctx *c,
                                        const PgQuery__Node *n);
void rule_disallowed_unique_constraint(struct lint_ctx *c,
                                       const PgQuery__Node *n);
void rule_ban_drop_column(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_drop_table(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_drop_database(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_drop_not_null(struct lint_ctx *c, const PgQuery__Node *n);
void rule_renaming_column(struct lint_ctx *c, const PgQuery__Node *n);
void rule_renaming_table(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_truncate_cascade(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_create_domain_with_constraint(struct lint_ctx *c,
                                            const PgQuery__Node *n);
void rule_ban_alter_domain_with_add_constraint(struct lint_ctx *c,
                                               const PgQuery__Node *n);

/* lint_rules_locks.c: locks */
void rule_require_concurrent_index_creation(struct lint_ctx *c,
                                            const PgQuery__Node *n);
void rule_require_concurrent_index_deletion(struct lint_ctx *c,
                                            const PgQuery__Node *n);
void rule_require_concurrent_reindex(struct lint_ctx *c,
                                     const PgQuery__Node *n);
void rule_require_concurrent_detach_partition(struct lint_ctx *c,
                                              const PgQuery__Node *n);
void rule_ban_concurrently_in_transaction(struct lint_ctx *c,
                                          const PgQuery__Node *n);
void rule_require_lock_timeout(struct lint_ctx *c, const PgQuery__Node *n);
void rule_require_statement_timeout(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_lock_table(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_vacuum_full(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_cluster(struct lint_ctx *c, const PgQuery__Node *n);
void rule_require_concurrent_refresh(struct lint_ctx *c,
                                     const PgQuery__Node *n);

/* lint_rules_types.c: types and data changes */
void rule_changing_column_type(struct lint_ctx *c, const PgQuery__Node *n);
void rule_prefer_bigint_over_int(struct lint_ctx *c, const PgQuery__Node *n);
void rule_prefer_bigint_over_smallint(struct lint_ctx *c,
                                      const PgQuery__Node *n);
void rule_prefer_identity(struct lint_ctx *c, const PgQuery__Node *n);
void rule_prefer_text_field(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_char_field(struct lint_ctx *c, const PgQuery__Node *n);
void rule_prefer_timestamptz(struct lint_ctx *c, const PgQuery__Node *n);
void rule_identifier_too_long(struct lint_ctx *c, const PgQuery__Node *n);
void rule_duplicate_column_assignment(struct lint_ctx *c,
                                      const PgQuery__Node *n);
void rule_ban_update_without_where(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_delete_without_where(struct lint_ctx *c, const PgQuery__Node *n);
void rule_batch_unbounded(struct lint_ctx *c, const PgQuery__Node *n);

/* lint_rules_names.c: how objects are named */
void rule_require_table_schema(struct lint_ctx *c, const PgQuery__Node *n);

/* lint_rules_txn.c: transactions */
void rule_transaction_nesting(struct lint_ctx *c, const PgQuery__Node *n);
void rule_ban_uncommitted_transaction(struct lint_ctx *c,
                                      const PgQuery__Node *n);
void rule_enum_value_without_position(struct lint_ctx *c,
                                      const PgQuery__Node *n);
void rule_enum_value_used_in_transaction(struct lint_ctx *c,
                                         const PgQuery__Node *n);
void rule_prefer_robust_stmts(struct lint_ctx *c, const PgQuery__Node *n);

#endif
