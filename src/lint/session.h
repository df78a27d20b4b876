/*
 * The linter engine's session as its files share it: lint.c (settings,
 * what rules ask, positions, findings), lint_ignore.c (suppression
 * comments), lint_track.c (what statements did), lint_file.c (linting a
 * file) and lint_gate.c (the run gate). The rules don't include it: they
 * see a lint through struct lint_ctx and the calls of lint.h.
 */
#ifndef STRATA_LINT_SESSION_H
#define STRATA_LINT_SESSION_H

#include "util/common.h"
#include "util/arena.h"
#include "util/sbuf.h"
#include "util/strmap.h"
#include "sql/pgtree.h"
#include "sql/split.h"
#include "lint/lint.h"

/* The major version of the PostgreSQL grammar libpg_query carries. */
#define PARSER_VERSION_NUM PG_VERSION_NUM

struct ignore {
	size_t rule;      /* index, lint_rules_count when unknown */
	const char *name; /* as written */
	size_t at;        /* the comment's offset */
	bool is_file;
	size_t stmt; /* the statement it precedes, SIZE_MAX for none */
	bool is_used;
};

struct stmt_span {
	size_t start;    /* after the previous statement */
	size_t first;    /* its first token */
	size_t tok_from; /* first token index */
	size_t end;      /* past its last token (before any ';') */
};

struct strata_lint {
	struct arena arena;
	int pg_version;
	bool is_pg_version_given;
	bool is_runner_lock_timeout;
	bool is_runner_statement_timeout;
	bool is_robust_notes; /* strata_lint_options */
	/* of the migrations linted: how a hint says to leave the transaction */
	enum strata_layout layout;
	size_t max_file_size;
	enum strata_severity *sev; /* per rule */
	struct strata_finding *findings;
	size_t n, alloc;
	struct lint_subject *subjects; /* what each finding is about */
	size_t alloc_subjects;
	/* the run gate's steps: the migration each file is (lint_gate.c) */
	struct lint_step_file {
		const char *path;
		int64_t version;
	} * step_files;
	size_t n_step_files, alloc_step_files;
	/* a table's size that grades its findings (lint_db.c) */
	int64_t big_rows, big_size, small_rows, small_size;
	size_t n_files, n_stmts;

	/* created in scope: this file, or this run */
	struct strmap new_rels, new_indexes, new_types;
	struct strmap new_cons; /* constraints, by name */
	/* renamed from what the database has: new name -> old name */
	struct strmap renamed;      /* relations */
	struct strmap renamed_cols; /* "rel\037new" -> old column */
	/* the whole session */
	struct strmap columns;   /* "rel\037col" -> struct lint_type */
	struct strmap checks;    /* "rel\037con" -> col: CHECK (col IS NOT
	                            NULL) added NOT VALID */
	struct strmap validated; /* "rel\037col"; "rel\037" any */
	/* the open transaction */
	struct strmap txn_not_valid; /* "rel\037con" */
	struct strmap txn_enum;      /* value -> type */
	struct sbuf key;

	/* the file being linted */
	const char *path;
	struct ignore *ignores;
	size_t n_ignores, alloc_ignores;
	size_t *lines; /* start offsets */
	size_t n_lines, alloc_lines;
	struct stmt_span *spans;
	size_t n_spans, alloc_spans;
	size_t file_first; /* index of its first finding */
};

/* ---- lint.c ---------------------------------------------------------------
 */

/* "a\037b" in the session's key buffer, valid until the next call. */
const char *lint_key(struct strata_lint *l, const char *a, const char *b);
/* Where each line of the file starts, for the findings' lines. */
void lint_index_lines(struct strata_lint *l, const char *sql, size_t len);
/* The statement holding byte `at`: the last one starting at or before. */
size_t lint_stmt_at(const struct strata_lint *l, size_t at);
/* Whether an ignore covers `rule` at `stmt`; marks the ignores used. */
bool lint_is_suppressed(struct strata_lint *l, size_t rule, size_t stmt);
void lint_add_finding(struct strata_lint *l, const struct lint_ctx *c,
                      size_t rule, enum strata_severity sev, size_t at,
                      size_t stmt, const char *hint, const char *msg);
/* This file's findings by line and column, in report order at a tie. */
void lint_sort_file_findings(struct strata_lint *l);

/* ---- lint_ignore.c --------------------------------------------------------
 */

bool lint_is_comment_tok(const PgQuery__ScanToken *t);
/* Records the ignores a comment token holds, if any. */
void lint_parse_ignore(struct strata_lint *l, const char *sql,
                       const PgQuery__ScanToken *t);
/* Ties statement ignores to the statement they precede (l->spans). */
void lint_target_ignores(struct strata_lint *l);
/* unused-ignore findings; `is_parsed` false: statement ignores unchecked. */
void lint_report_unused(struct strata_lint *l, struct lint_ctx *c,
                        bool is_parsed);

/* ---- lint_track.c ---------------------------------------------------------
 */

/* Records what statement `n` did, after the rules have seen it. */
void lint_track(struct lint_ctx *c, const PgQuery__Node *n);
/* Forgets what the transaction that just ended added. */
void lint_end_txn(struct lint_ctx *c);

/* ---- lint_names.c ---------------------------------------------------------
 */

/*
 * Records the names PostgreSQL chooses for what a statement creates
 * without naming it (indexes, constraints, sequences), as its
 * ChooseRelationName() and ChooseConstraintName() do, so that later
 * statements on them know them as new.
 */
void lint_track_names(struct strata_lint *l, const PgQuery__Node *n);
/* The name a CHECK or FOREIGN KEY constraint added to `rel` has, or will
 * have once the statement runs; NULL for other constraints. */
const char *lint_constraint_name(struct strata_lint *l, const char *rel,
                                 const PgQuery__Constraint *k);
/* makeObjectName(): "name1_name2_label" cut to 63 bytes, into `out`. */
void lint_object_name(struct sbuf *out, const char *name1, const char *name2,
                      const char *label);

/* ---- lint_db.c -------------------------------------------------------------
 */

/*
 * Judges the findings against the database with one catalog query:
 * drops those about objects it does not have, grades those whose cost
 * is a table's size, and decides type changes from a type not seen.
 */
int lint_db_apply(struct strata_lint *l, struct strata_db *db,
                  struct strata_error *err);

/* ---- lint_file.c ----------------------------------------------------------
 */

/*
 * Lints one text. `given` (may be NULL) holds the trees split made of the
 * same text: then nothing is parsed again; `split` (may be NULL) is that
 * split, which says whether the file controls its own transaction.
 */
int lint_text(struct strata_lint *l, const char *path, const char *sql,
              size_t len, const struct strata_lint_file_options *fo,
              const struct pg_trees *given, const struct strata_script *split,
              struct strata_error *err);

#endif
