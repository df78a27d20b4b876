/*
 * What the linter's engine (lint*.c) shares with its rules (lint_rules*.c):
 * the state of a lint as a rule sees it and the reporting call. Nothing
 * here is public.
 */
#ifndef STRATA_LINT_H
#define STRATA_LINT_H

#include "util/common.h"
#include "util/arena.h"
#include "util/strmap.h"
#include "sql/pgtree.h"

/* ---- types as written ---------------------------------------------------- */

struct lint_type {
	const char *name; /* last part of the name: "int4", "varchar" */
	int n_mods;       /* typmods that are integer constants, at most 2 */
	int32_t mods[2];
	bool is_array;
	bool is_other_mods; /* typmods that are not integer constants */
};

void lint_type_of(struct lint_type *out, const PgQuery__TypeName *tn);
/* Whether PostgreSQL changes `from` to `to` without rewriting the table
 * (binary-coercible, or a wider limit). */
bool lint_type_is_free_change(const struct lint_type *from,
                              const struct lint_type *to);

/* ---- what a finding is about ---------------------------------------------
 */

/*
 * The object a finding is about, for the pass that knows the database
 * (lint_db.c): a finding about an object the database does not have is
 * dropped, one whose cost is the table's size says the size and is
 * graded by it, and a type change from a type not seen is judged from
 * the column's type on the database.
 */
#define LINT_ON_INDEX  (1u << 0) /* `rel` is an index: its table's size */
#define LINT_ON_SIZE   (1u << 1) /* a lock or rewrite as long as the table */
#define LINT_ON_COLUMN (1u << 2) /* moot when `col` does not exist */
#define LINT_ON_TYPE   (1u << 3) /* `col` changes to `to`, old type unseen */
#define LINT_ON_UNSURE (1u << 4) /* offline at most a warning */
#define LINT_ON_NOTE   (1u << 5) /* a note, whatever the rule's severity */

struct lint_subject {
	const char *schema; /* NULL: as the search path finds `rel` */
	const char *rel;    /* NULL: about no object */
	const char *col;
	unsigned flags; /* LINT_ON_* */
	struct lint_type to;
	const char *to_shown; /* `to` as a person writes it */
};

/* ---- the state a rule sees ------------------------------------------------
 */

struct lint_rule;

struct lint_ctx {
	struct strata_lint *l;
	const struct lint_rule *rule; /* the rule running */
	int pg_version;               /* target server, 150000 style */
	bool is_robust_notes;         /* strata_lint_options' */

	/* the file */
	const char *path;
	const char *sql;
	size_t len;
	bool is_no_transaction; /* -- no-transaction */
	/* -- strata:batch: one statement run batch after batch, each
	 * committed (:batch_size bound as $1) */
	bool is_batch;
	bool is_wrapped; /* strata runs it inside one transaction */
	PgQuery__ScanToken **tok;
	size_t n_tok;

	/* the statement (rules run before it is tracked) */
	size_t stmt;     /* 0-based */
	size_t stmt_at;  /* byte offset of its first token */
	size_t tok_from; /* its tokens: [tok_from, tok_to) */
	size_t tok_to;
	bool is_end; /* the call after the last statement */

	/* what earlier statements did */
	bool in_txn;           /* this statement runs in a transaction */
	bool is_explicit_txn;  /* ... opened by the file's own BEGIN */
	int begin_at;          /* byte offset of that BEGIN */
	bool has_lock_timeout; /* set by the runner or the file */
	bool is_lock_timeout_reported;

	/* what the next lint_report() is about (lint_on()) */
	struct lint_subject on;
	/* likewise statement_timeout (require-statement-timeout tracks
	 * the file's own SET as it goes) */
	bool has_statement_timeout;
	bool is_statement_timeout_reported;
};

/*
 * Reports a finding of the running rule at byte offset `at` of the file
 * (a node's location; < 0: the statement's first token). The message
 * names the object, lower case, no period; `hint` NULL takes the rule's.
 * A suppressed finding marks its ignore used and is dropped.
 */
void lint_report(struct lint_ctx *c, int at, const char *hint, const char *fmt,
                 ...) STRATA_PRINTF(4, 5);

/*
 * Says what the next lint_report() of the running rule is about: the
 * relation `rv` (or the index of that name, LINT_ON_INDEX) and, for
 * LINT_ON_COLUMN or LINT_ON_TYPE, its column `col`.
 */
void lint_on(struct lint_ctx *c, const PgQuery__RangeVar *rv, const char *col,
             unsigned flags);
/* LINT_ON_TYPE: column `col` of `rv` changes to `to`, from a type the
 * files never set. */
void lint_on_type(struct lint_ctx *c, const PgQuery__RangeVar *rv,
                  const char *col, const struct lint_type *to,
                  const char *shown, unsigned flags);
/* The same for a name of a DROP (a list of String nodes, or one). */
void lint_on_object(struct lint_ctx *c, const PgQuery__Node *o, unsigned flags);

/* Created earlier in this file (or run): empty, unused, so exempt from
 * the lock rules. */
bool lint_is_new_rel(const struct lint_ctx *c, const PgQuery__RangeVar *rv);
bool lint_is_new_index(const struct lint_ctx *c, const char *name);
bool lint_is_new_type(const struct lint_ctx *c, PgQuery__Node **names,
                      size_t n);
/* The type a column was last given in this session, NULL if unseen. */
const struct lint_type *lint_column_type(const struct lint_ctx *c,
                                         const char *rel, const char *col);
/* Whether a valid CHECK (col IS NOT NULL) on rel is known (PostgreSQL
 * 12 skips SET NOT NULL's scan then); col NULL: any validated check. */
bool lint_has_validated_check(const struct lint_ctx *c, const char *rel,
                              const char *col);
/* Added NOT VALID in the transaction still open. */
bool lint_is_not_valid_in_txn(const struct lint_ctx *c, const char *rel,
                              const char *con);
/* The value of an enum added in the transaction still open, or NULL. */
const char *lint_txn_enum_value(const struct lint_ctx *c, const char *value);
bool lint_has_txn_enum_values(const struct lint_ctx *c);

/* "schema.name" or "name", for messages (in the session's arena). */
const char *lint_rv_name(const struct lint_ctx *c, const PgQuery__RangeVar *rv);
/* The dotted name of a list of String nodes ("s.t"), in the arena. */
const char *lint_names(const struct lint_ctx *c, PgQuery__Node **names,
                       size_t n);
char *lint_strfmt(const struct lint_ctx *c, const char *fmt, ...)
        STRATA_PRINTF(2, 3);

/* ---- the rules ------------------------------------------------------------
 */

/* Looks at one statement; `n` is never NULL (at the end of a file it is a
 * node of no kind and c->is_end is set). */
typedef void (*lint_rule_fn)(struct lint_ctx *c, const PgQuery__Node *n);

struct lint_rule {
	struct strata_lint_rule info;
	lint_rule_fn fn; /* NULL: reported by the engine itself */
};

extern const struct lint_rule lint_rules[];
extern const size_t lint_rules_count;

/* Rules the engine reports itself. */
#define LINT_PARSE_ERROR   "parse-error"
#define LINT_UNUSED_IGNORE "unused-ignore"

/* Index of the rule `id`, or lint_rules_count. */
size_t lint_rule_index(const char *id);

#endif
