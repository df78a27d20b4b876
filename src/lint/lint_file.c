/*
 * Linting one file: the text parsed and scanned once (or the trees the
 * run's split already made, or a large text a piece at a time), each
 * statement given to every rule and then tracked, the file's end given
 * to the rules that look for what is missing, and a text the parser
 * rejects reported as a parse-error finding at the parser's place. Also
 * the entry points that lint a file, a migration or a whole source.
 */
#include "lint/session.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/text.h"
#include "sql/pgparse.h"
#include "drivers/driver.h"
#include "engine/db.h"
#include "engine/plan.h"
#include "sql/batchsql.h"

#include <stdlib.h>
#include <string.h>

/* ---- linting a file -------------------------------------------------------
 */

static bool is_txn_control(const PgQuery__Node *n)
{
	if (!n || n->node_case != PG_QUERY__NODE__NODE_TRANSACTION_STMT)
		return false;
	switch (n->transaction_stmt->kind) {
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_PREPARE:
		return true;
	default:
		return false;
	}
}

static void run_rules(struct lint_ctx *c, const PgQuery__Node *n)
{
	for (size_t r = 0; r < lint_rules_count; r++) {
		if (!lint_rules[r].fn || c->l->sev[r] == STRATA_SEVERITY_OFF)
			continue;
		c->rule = &lint_rules[r];
		memset(&c->on, 0, sizeof(c->on));
		lint_rules[r].fn(c, n);
	}
	memset(&c->on, 0, sizeof(c->on));
	c->rule = NULL;
}

static size_t next_token(PgQuery__ScanToken **tok, size_t n, size_t i,
                         size_t at)
{
	while (i < n &&
	       ((size_t)tok[i]->start < at || lint_is_comment_tok(tok[i])))
		i++;
	return i;
}

/*
 * The statements of `tree` (the whole text's, or a piece's, whose tokens
 * are c->tok), numbered on from the statements before.
 */
static void lint_stmts(struct strata_lint *l, struct lint_ctx *c,
                       const PgQuery__ParseResult *tree)
{
	size_t j = 0, first = l->n_spans;

	/* where each statement starts, its first token, its tokens */
	for (size_t i = 0; i < tree->n_stmts; i++) {
		struct stmt_span *sp;
		size_t at = (size_t)tree->stmts[i]->stmt_location;

		XGROW(l->spans, l->alloc_spans, l->n_spans + 1);
		sp = &l->spans[l->n_spans++];
		j = next_token(c->tok, c->n_tok, j, at);
		sp->start = at;
		sp->first = j < c->n_tok ? (size_t)c->tok[j]->start : at;
		sp->tok_from = j;
		sp->end = at + (size_t)tree->stmts[i]->stmt_len;
		if (!tree->stmts[i]->stmt_len) {
			/* the last statement, without ';' */
			sp->end = sp->first;
			for (size_t k = c->n_tok; k-- > j;)
				if (!lint_is_comment_tok(c->tok[k])) {
					sp->end = (size_t)c->tok[k]->end;
					break;
				}
		}
	}
	lint_target_ignores(l);
	for (size_t i = first; i < l->n_spans; i++) {
		const PgQuery__Node *n = tree->stmts[i - first]->stmt;

		if (!n)
			continue;
		c->stmt = i;
		c->stmt_at = l->spans[i].first;
		c->tok_from = l->spans[i].tok_from;
		c->tok_to = i + 1 < l->n_spans ? l->spans[i + 1].tok_from
		                               : c->n_tok;
		run_rules(c, n);
		lint_track(c, n);
		l->n_stmts++;
	}
}

static bool has_txn_control(const PgQuery__ParseResult *tree)
{
	for (size_t i = 0; i < tree->n_stmts; i++)
		if (is_txn_control(tree->stmts[i]->stmt))
			return true;
	return false;
}

/* The call after the last statement. */
static void lint_file_end(struct strata_lint *l, struct lint_ctx *c)
{
	static const PgQuery__Node end_node = PG_QUERY__NODE__INIT;

	c->is_end = true;
	c->stmt = l->n_spans ? l->n_spans - 1 : 0;
	c->stmt_at = c->len;
	c->tok_from = c->tok_to = c->n_tok;
	run_rules(c, &end_node);
}

static void lint_tree(struct strata_lint *l, struct lint_ctx *c,
                      const PgQuery__ParseResult *tree)
{
	l->n_spans = 0;
	c->is_wrapped = !c->is_no_transaction && !has_txn_control(tree);
	c->in_txn = c->is_wrapped;
	lint_stmts(l, c, tree);
	lint_file_end(l, c);
}

/*
 * A large text, a piece at a time (LINT_PIECES_FROM): a first pass checks
 * that every piece parses and whether the file controls its own
 * transaction (what `split`, when parsed, already knows), the second
 * lints. False, having linted nothing, when some piece does not parse:
 * the whole text is then linted at once.
 */
static bool lint_pieces(struct strata_lint *l, struct lint_ctx *c,
                        const char *sql, size_t len,
                        const struct strata_script *split)
{
	struct pg_piece p;
	bool has_txn = split && (split->flags & STMT_TXN_CONTROL);
	size_t at = 0;
	int r = 0;

	while (!(split && split->is_parsed) &&
	       (r = pg_piece_next(&p, sql, len, LINT_PIECE_SIZE, &at)) > 0) {
		has_txn = has_txn || has_txn_control(p.tree);
		pg_piece_release(&p);
	}
	if (r < 0)
		return false;
	c->is_wrapped = !c->is_no_transaction && !has_txn;
	c->in_txn = c->is_wrapped;
	l->n_spans = 0;
	at = 0;
	while (pg_piece_next(&p, sql, len, LINT_PIECE_SIZE, &at) > 0) {
		const PgQuery__ScanResult *toks = p.tokens;

		c->tok = toks->tokens;
		c->n_tok = toks->n_tokens;
		for (size_t i = 0; i < c->n_tok; i++)
			if (lint_is_comment_tok(c->tok[i]))
				lint_parse_ignore(l, sql, c->tok[i]);
		lint_stmts(l, c, p.tree);
		c->tok = NULL;
		c->n_tok = 0;
		pg_piece_release(&p);
	}
	lint_file_end(l, c);
	return true;
}

static void report_parse_error(struct strata_lint *l, struct lint_ctx *c,
                               const char *text, size_t at)
{
	size_t r = lint_rule_index(LINT_PARSE_ERROR);
	enum strata_severity sev = l->sev[r];
	size_t n = strcspn(text, "\r\n");
	char *hint = NULL, *msg;

	if (sev == STRATA_SEVERITY_OFF || lint_is_suppressed(l, r, SIZE_MAX))
		return;
	if (l->pg_version / 10000 > PARSER_VERSION_NUM / 10000) {
		/* Maybe syntax newer than the parser: the server judges. */
		if (sev == STRATA_SEVERITY_ERROR)
			sev = STRATA_SEVERITY_WARNING;
		hint = xstrfmt(
		        "The PostgreSQL %d parser rejects this file, so it was not linted; PostgreSQL %d may accept it.",
		        PARSER_VERSION_NUM / 10000, l->pg_version / 10000);
	}
	/* One line: the parser quotes the rest of the text after an
	 * unterminated string. */
	msg = text[n] ? xstrfmt("%.*s...\"", (int)n, text) : xstrdup(text);
	if (c->len >= 3 && !memcmp(c->sql, "\xEF\xBB\xBF", 3)) {
		/* the mark, not the syntax error it makes, is what to fix */
		free(msg);
		msg = xstrdup(
		        "the file starts with a UTF-8 byte-order mark (EF BB BF), which PostgreSQL reads as part of the first statement");
		free(hint);
		hint = xstrfmt(
		        "Save the file as UTF-8 without a BOM (sed -i '1s/^\\xEF\\xBB\\xBF//' '%s' removes it).",
		        c->path ? c->path : "FILE");
		at = 0;
	}
	lint_add_finding(l, c, r, sev, at, SIZE_MAX,
	                 hint ? hint : lint_rules[r].info.hint, msg);
	free(msg);
	free(hint);
}

/*
 * Lints one text. `given` (may be NULL) holds the trees split made of the
 * same text: then nothing is parsed again; without a tree (the parser
 * rejected the text) the text is parsed here, for the error's place.
 */
int lint_text(struct strata_lint *l, const char *path, const char *sql,
              size_t len, const struct strata_lint_file_options *fo,
              const struct pg_trees *given, const struct strata_script *split,
              struct strata_error *err)
{
	static const struct strata_lint_file_options no_opts =
	        STRATA_LINT_FILE_OPTIONS_INIT;
	struct pg_parse parsed = { 0 };
	struct pg_scan scanned = { 0 };
	PgQuery__ParseResult *tree = NULL;
	PgQuery__ScanResult *toks = NULL;
	bool is_given = given && given->tree && given->tokens;
	struct lint_ctx c = { 0 };
	const char *nul;
	char *copy = NULL;
	int rc = -1;

	if (!fo)
		fo = &no_opts;
	l->n_files++;
	l->path = arena_strdup(&l->arena, path);
	l->file_first = l->n;
	l->n_ignores = l->n_spans = 0;
	if (!fo->is_same_run) {
		strmap_clear(&l->new_rels);
		strmap_clear(&l->new_indexes);
		strmap_clear(&l->new_types);
		strmap_clear(&l->new_cons);
		strmap_clear(&l->renamed);
		strmap_clear(&l->renamed_cols);
	}
	c.l = l;
	lint_end_txn(&c);
	c.pg_version = l->pg_version;
	c.is_robust_notes = l->is_robust_notes;
	c.path = l->path;
	c.sql = sql;
	c.len = len;
	c.is_no_transaction = fo->is_no_transaction;
	c.has_lock_timeout = fo->is_lock_timeout_set;
	c.has_statement_timeout = fo->is_statement_timeout_set;
	lint_index_lines(l, sql, len);

	nul = memchr(sql, '\0', len);
	if (nul) {
		report_parse_error(l, &c, "the SQL text holds a NUL byte",
		                   (size_t)(nul - sql));
		rc = 0;
		goto done;
	}
	if (!is_given && len > LINT_PIECES_FROM &&
	    lint_pieces(l, &c, sql, len, split)) {
		lint_report_unused(l, &c, true);
		rc = 0;
		goto done;
	}
	/* libpg_query reads up to a NUL: lint exactly `len` bytes */
	copy = xmalloc(len + 1);
	memcpy(copy, sql, len);
	copy[len] = '\0';
	sql = copy;
	c.sql = sql;
	/* :batch_size is no SQL: bound as the runner binds it (a given
	 * parse is of the bound text already) */
	c.is_batch = plan_is_batch(sql, len);
	if (c.is_batch && !is_given) {
		size_t n_bound;

		if (batchsql_bind(&n_bound, copy, len, NULL) < 0)
			c.is_batch = false;
	}
	if (is_given)
		toks = given->tokens;
	else if (pg_scan(&scanned, sql, len, err) < 0)
		goto done;
	else
		toks = scanned.toks;
	if (toks) {
		c.tok = toks->tokens;
		c.n_tok = toks->n_tokens;
		for (size_t i = 0; i < c.n_tok; i++)
			if (lint_is_comment_tok(c.tok[i]))
				lint_parse_ignore(l, sql, c.tok[i]);
	}
	if (is_given) {
		tree = given->tree;
		lint_tree(l, &c, tree);
		lint_report_unused(l, &c, true);
		rc = 0;
		goto done;
	}
	if (!toks) {
		/* the scanner rejects it (an unterminated quote): so would
		 * the parser, which reads the same tokens */
		parsed.error = xstrdup(scanned.error);
		parsed.error_at = scanned.error_at;
	} else if (pg_parse(&parsed, sql, len, toks, err) < 0) {
		goto done;
	}
	if (parsed.error) {
		report_parse_error(l, &c, parsed.error, parsed.error_at);
		lint_report_unused(l, &c, false);
		rc = 0;
		goto done;
	}
	tree = parsed.tree;
	lint_tree(l, &c, tree);
	lint_report_unused(l, &c, true);
	rc = 0;
done:
	lint_end_txn(&c);
	lint_sort_file_findings(l);
	pg_parse_release(&parsed);
	pg_scan_release(&scanned);
	free(copy);
	if (rc < 0 && err)
		err->file = xstrdup(path);
	return rc;
}

int strata_lint_text(struct strata_lint *l, const char *path, const char *sql,
                     size_t len, const struct strata_lint_file_options *fo,
                     struct strata_error *err)
{
	if (OPTIONS_CHECK(fo, STRATA_LINT_FILE_OPTIONS_VERSION,
	                  "strata_lint_file_options", err) < 0)
		return -1;
	return lint_text(l, path, sql, len, fo, NULL, NULL, err);
}

static bool starts_no_transaction(const char *sql, size_t len)
{
	size_t n = strlen(STRATA_NO_TRANSACTION_DIRECTIVE);

	/* as the source reads it: a byte prefix */
	return len >= n && memcmp(sql, STRATA_NO_TRANSACTION_DIRECTIVE, n) == 0;
}

int strata_lint_file(struct strata_lint *l, const char *path,
                     struct strata_error *err)
{
	struct strata_lint_file_options fo = STRATA_LINT_FILE_OPTIONS_INIT;
	struct sbuf sb = SBUF_INIT;
	int rc;

	if (sbuf_read_file(&sb, path, l->max_file_size, err) < 0) {
		sbuf_release(&sb);
		return -1;
	}
	fo.is_no_transaction = starts_no_transaction(sb.buf, sb.len);
	fo.is_lock_timeout_set = l->is_runner_lock_timeout;
	fo.is_statement_timeout_set = l->is_runner_statement_timeout;
	rc = strata_lint_text(l, path, sb.buf, sb.len, &fo, err);
	sbuf_release(&sb);
	return rc;
}

int strata_lint_migration(struct strata_lint *l,
                          const struct strata_migration *m, bool is_same_run,
                          struct strata_error *err)
{
	struct strata_lint_file_options fo = STRATA_LINT_FILE_OPTIONS_INIT;

	fo.is_no_transaction = m->is_no_transaction;
	fo.is_same_run = is_same_run;
	fo.is_lock_timeout_set = l->is_runner_lock_timeout;
	fo.is_statement_timeout_set = l->is_runner_statement_timeout;
	return strata_lint_text(l, m->up_path, m->up_sql, m->up_len, &fo, err);
}

int strata_lint_source(struct strata_lint *l, const struct strata_source *src,
                       struct strata_db *db, struct strata_error *err)
{
	struct strata_status *st = NULL;
	int rc = -1;

	l->layout = strata_source_layout(src);
	if (!db) {
		for (size_t i = 0; i < strata_source_count(src); i++)
			if (strata_lint_migration(l, strata_source_at(src, i),
			                          false, err) < 0)
				return -1;
		return 0;
	}
	if (!(db->drv->caps & DRV_PG_SQL)) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "the linter reads PostgreSQL SQL, and '%s' is a %s database",
		        db->url.redacted, db->drv->name);
		return strata_error_hint(
		        err,
		        "Lint the files without a database (every migration), or against a PostgreSQL one.");
	}
	if (!l->is_pg_version_given && db->conn->server_version > 0)
		l->pg_version = db->conn->server_version;
	if (strata_status_get(&st, db, src, err) < 0)
		return -1;
	for (size_t i = 0; i < st->count; i++) {
		const struct strata_status_entry *e = &st->entries[i];

		if ((e->state == STRATA_STATE_PENDING ||
		     e->state == STRATA_STATE_OUT_OF_ORDER) &&
		    e->migration &&
		    strata_lint_migration(l, e->migration, true, err) < 0)
			goto done;
	}
	rc = lint_db_apply(l, db, err);
done:
	strata_status_free(st);
	return rc;
}
