/*
 * The safety linter's engine. Each file is parsed once by libpg_query's
 * parser (the statements and their trees) and scanned once by its scanner
 * (the comments that carry suppressions, and the identifiers as written);
 * every rule of lint_rules.c then looks at each statement in turn, after
 * which the engine records what the statement did: tables, indexes and
 * types it created (so that later statements on them are exempt from the
 * lock rules: they are new, empty and unused), column types, NOT VALID
 * constraints and their validation, enum values added in the open
 * transaction, whether lock_timeout is set, and the transaction state as
 * strata will run the file (wrapped in one transaction, -- no-transaction,
 * or its own BEGIN/COMMIT).
 *
 * What it deliberately doesn't do: look at the database (a table the
 * migrations did not create is assumed to exist, hold rows and serve
 * traffic), look inside function bodies or DO blocks, or guess at SQL the
 * parser rejects: that is a parse-error finding at the parser's location.
 * Suppression comments are the only text read outside the parse tree, and
 * only the scanner says where comments are.
 */
#include "lint/lint.h"
#include "util/xalloc.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/text.h"
#include "util/strmap.h"
#include "sql/split.h"
#include "sql/pgtree.h"
#include "drivers/driver.h"
#include "engine/db.h"
#include "engine/plan.h"
#include "lint/gate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The major version of the PostgreSQL grammar libpg_query carries. */
#define PARSER_VERSION_NUM PG_VERSION_NUM
#define MAX_LINT_FILE      STRATA_DEFAULT_MAX_FILE_SIZE

#define IGNORE_STMT "strata-lint-ignore"
#define IGNORE_FILE "strata-lint-ignore-file"

void lint_type_of(struct lint_type *out, const PgQuery__TypeName *tn)
{
	memset(out, 0, sizeof(*out));
	out->name = names_last(tn->names, tn->n_names);
	if (!out->name)
		out->name = "";
	out->is_array = tn->n_array_bounds > 0;
	for (size_t i = 0; i < tn->n_typmods; i++) {
		const PgQuery__Node *m = tn->typmods[i];

		if (m->node_case == PG_QUERY__NODE__NODE_A_CONST &&
		    m->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL &&
		    out->n_mods < 2)
			out->mods[out->n_mods++] = m->a_const->ival->ival;
		else
			out->is_other_mods = true;
	}
}

/* ---- the session -----------------------------------------------------------
 */

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
	size_t max_file_size;
	enum strata_severity *sev; /* per rule */
	struct strata_finding *findings;
	size_t n, alloc;
	size_t n_files, n_stmts;

	/* created in scope: this file, or this run */
	struct strmap new_rels, new_indexes, new_types;
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

size_t lint_rule_index(const char *id)
{
	for (size_t i = 0; i < lint_rules_count; i++)
		if (!strcmp(lint_rules[i].info.id, id))
			return i;
	return lint_rules_count;
}

size_t strata_lint_rule_count(void)
{
	return lint_rules_count;
}

const struct strata_lint_rule *strata_lint_rule_at(size_t i)
{
	return i < lint_rules_count ? &lint_rules[i].info : NULL;
}

const struct strata_lint_rule *strata_lint_rule_find(const char *id)
{
	return strata_lint_rule_at(lint_rule_index(id));
}

const char *strata_severity_name(enum strata_severity sev)
{
	switch (sev) {
	case STRATA_SEVERITY_OFF:
		return "off";
	case STRATA_SEVERITY_WARNING:
		return "warning";
	case STRATA_SEVERITY_ERROR:
		return "error";
	}
	BUG("unknown severity");
}

int strata_severity_parse(enum strata_severity *out, const char *text)
{
	if (!strcmp(text, "off") || !strcmp(text, "ignore"))
		*out = STRATA_SEVERITY_OFF;
	else if (!strcmp(text, "warning") || !strcmp(text, "warn"))
		*out = STRATA_SEVERITY_WARNING;
	else if (!strcmp(text, "error"))
		*out = STRATA_SEVERITY_ERROR;
	else
		return -1;
	return 0;
}

int strata_lint_new(struct strata_lint **out,
                    const struct strata_lint_options *opts,
                    struct strata_error *err)
{
	struct strata_lint *l;

	*out = NULL;
	if (OPTIONS_CHECK(opts, STRATA_LINT_OPTIONS_VERSION,
	                  "strata_lint_options", err) < 0)
		return -1;
	l = xcalloc(1, sizeof(*l));
	sbuf_init(&l->key, 64);
	l->sev = xcalloc(lint_rules_count, sizeof(*l->sev));
	for (size_t i = 0; i < lint_rules_count; i++)
		l->sev[i] = lint_rules[i].info.severity;
	l->pg_version = PARSER_VERSION_NUM / 10000 * 10000;
	if (opts && opts->pg_version > 0) {
		l->pg_version = opts->pg_version;
		l->is_pg_version_given = true;
	}
	l->is_runner_lock_timeout = opts && opts->is_runner_lock_timeout;
	l->max_file_size = opts && opts->max_file_size ? opts->max_file_size
	                                               : MAX_LINT_FILE;
	for (size_t i = 0; opts && i < opts->n_settings; i++) {
		const struct strata_lint_setting *s = &opts->settings[i];
		size_t r = lint_rule_index(s->rule);

		if (r == lint_rules_count) {
			strata_error_set(err, STRATA_EUSAGE,
			                 "'%s' is not a lint rule", s->rule);
			strata_error_hint(
			        err, "strata_lint_rule_at() lists the rules.");
			strata_error_reason(err, STRATA_REASON_UNKNOWN_RULE,
			                    -1);
			strata_lint_free(l);
			return -1;
		}
		l->sev[r] = s->severity;
	}
	*out = l;
	return 0;
}

void strata_lint_free(struct strata_lint *l)
{
	if (!l)
		return;
	strmap_release(&l->new_rels);
	strmap_release(&l->new_indexes);
	strmap_release(&l->new_types);
	strmap_release(&l->columns);
	strmap_release(&l->checks);
	strmap_release(&l->validated);
	strmap_release(&l->txn_not_valid);
	strmap_release(&l->txn_enum);
	sbuf_release(&l->key);
	free(l->ignores);
	free(l->lines);
	free(l->spans);
	free(l->findings);
	free(l->sev);
	arena_release(&l->arena);
	free(l);
}

size_t strata_lint_count(const struct strata_lint *l)
{
	return l->n;
}

const struct strata_finding *strata_lint_at(const struct strata_lint *l,
                                            size_t i)
{
	return i < l->n ? &l->findings[i] : NULL;
}

size_t strata_lint_count_severity(const struct strata_lint *l,
                                  enum strata_severity sev)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->findings[i].severity == sev;
	return n;
}

enum strata_severity strata_lint_severity(const struct strata_lint *l,
                                          const char *rule)
{
	size_t r = lint_rule_index(rule);

	return r < lint_rules_count ? l->sev[r] : STRATA_SEVERITY_OFF;
}

int strata_lint_pg_version(const struct strata_lint *l)
{
	return l->pg_version;
}

size_t strata_lint_files(const struct strata_lint *l)
{
	return l->n_files;
}

size_t strata_lint_statements(const struct strata_lint *l)
{
	return l->n_stmts;
}

/* ---- what rules ask -------------------------------------------------------
 */

static const char *key2(struct strata_lint *l, const char *a, const char *b)
{
	sbuf_reset(&l->key);
	sbuf_adds(&l->key, a);
	sbuf_addch(&l->key, '\037');
	sbuf_adds(&l->key, b ? b : "");
	return l->key.buf;
}

bool lint_is_new_rel(const struct lint_ctx *c, const PgQuery__RangeVar *rv)
{
	return rv && strmap_has(&c->l->new_rels, rv->relname);
}

bool lint_is_new_index(const struct lint_ctx *c, const char *name)
{
	return name && strmap_has(&c->l->new_indexes, name);
}

bool lint_is_new_type(const struct lint_ctx *c, PgQuery__Node **names, size_t n)
{
	const char *name = names_last(names, n);

	return name && strmap_has(&c->l->new_types, name);
}

const struct lint_type *lint_column_type(const struct lint_ctx *c,
                                         const char *rel, const char *col)
{
	return strmap_get(&c->l->columns, key2(c->l, rel, col));
}

bool lint_has_validated_check(const struct lint_ctx *c, const char *rel,
                              const char *col)
{
	return strmap_has(&c->l->validated, key2(c->l, rel, col)) ||
	       strmap_has(&c->l->validated, key2(c->l, rel, NULL));
}

bool lint_is_not_valid_in_txn(const struct lint_ctx *c, const char *rel,
                              const char *con)
{
	return strmap_has(&c->l->txn_not_valid, key2(c->l, rel, con));
}

const char *lint_txn_enum_value(const struct lint_ctx *c, const char *value)
{
	return strmap_get(&c->l->txn_enum, value);
}

bool lint_has_txn_enum_values(const struct lint_ctx *c)
{
	return c->l->txn_enum.n > 0;
}

char *lint_strfmt(const struct lint_ctx *c, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	char *s;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	s = arena_strndup(&c->l->arena, sb.buf, sb.len);
	sbuf_release(&sb);
	return s;
}

const char *lint_rv_name(const struct lint_ctx *c, const PgQuery__RangeVar *rv)
{
	if (!rv)
		return "?";
	if (rv->schemaname && *rv->schemaname)
		return lint_strfmt(c, "%s.%s", rv->schemaname, rv->relname);
	return rv->relname;
}

const char *lint_names(const struct lint_ctx *c, PgQuery__Node **names,
                       size_t n)
{
	struct sbuf sb = SBUF_INIT;
	const char *s;

	for (size_t i = 0; i < n; i++) {
		const char *part = node_string(names[i]);

		if (i)
			sbuf_addch(&sb, '.');
		sbuf_adds(&sb, part ? part : "?");
	}
	s = arena_strndup(&c->l->arena, sb.buf, sb.len);
	sbuf_release(&sb);
	return s;
}

/* ---- positions ------------------------------------------------------------
 */

static void index_lines(struct strata_lint *l, const char *sql, size_t len)
{
	l->n_lines = 0;
	XGROW(l->lines, l->alloc_lines, 1);
	l->lines[l->n_lines++] = 0;
	for (const char *p = sql;
	     (p = memchr(p, '\n', len - (size_t)(p - sql))); p++) {
		XGROW(l->lines, l->alloc_lines, l->n_lines + 1);
		l->lines[l->n_lines++] = (size_t)(p - sql) + 1;
	}
}

static void line_col(const struct strata_lint *l, const char *sql, size_t at,
                     int *line, int *col)
{
	size_t lo = 0, hi = l->n_lines;
	int n = 1;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->lines[mid] <= at)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t i = l->lines[lo]; i < at; i++)
		n += ((unsigned char)sql[i] & 0xC0) != 0x80;
	*line = (int)lo + 1;
	*col = n;
}

/* The statement holding byte `at`: the last one starting at or before. */
static size_t stmt_at(const struct strata_lint *l, size_t at)
{
	size_t lo = 0, hi = l->n_spans;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->spans[mid].start <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

/* ---- findings -------------------------------------------------------------
 */

static bool is_suppressed(struct strata_lint *l, size_t rule, size_t stmt)
{
	bool hit = false;

	for (size_t i = 0; i < l->n_ignores; i++) {
		struct ignore *ig = &l->ignores[i];

		if (ig->rule == rule && (ig->is_file || ig->stmt == stmt)) {
			ig->is_used = true;
			hit = true;
		}
	}
	return hit;
}

static void add_finding(struct strata_lint *l, const struct lint_ctx *c,
                        size_t rule, enum strata_severity sev, size_t at,
                        size_t stmt, const char *hint, const char *msg)
{
	struct strata_finding *f;

	XGROW(l->findings, l->alloc, l->n + 1);
	f = &l->findings[l->n++];
	memset(f, 0, sizeof(*f));
	f->rule = lint_rules[rule].info.id;
	f->severity = sev;
	f->file = l->path;
	if (at > c->len)
		at = c->len;
	line_col(l, c->sql, at, &f->line, &f->column);
	f->statement = stmt == SIZE_MAX ? 0 : (int)stmt + 1;
	f->message = arena_strdup(&l->arena, msg);
	f->hint = hint ? arena_strdup(&l->arena, hint) : NULL;
}

void lint_report(struct lint_ctx *c, int at, const char *hint, const char *fmt,
                 ...)
{
	struct strata_lint *l = c->l;
	size_t rule = (size_t)(c->rule - lint_rules), where, stmt;
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	where = at >= 0 && (size_t)at <= c->len ? (size_t)at : c->stmt_at;
	stmt = l->n_spans ? stmt_at(l, where) : SIZE_MAX;
	if (l->sev[rule] == STRATA_SEVERITY_OFF || is_suppressed(l, rule, stmt))
		return;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	add_finding(l, c, rule, l->sev[rule], where, stmt,
	            hint ? hint : c->rule->info.hint, sb.buf);
	sbuf_release(&sb);
}

struct order {
	struct strata_finding f;
	size_t seq;
};

static int cmp_order(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->f.line != y->f.line)
		return x->f.line < y->f.line ? -1 : 1;
	if (x->f.column != y->f.column)
		return x->f.column < y->f.column ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* This file's findings by line and column, in report order at a tie. */
static void sort_file_findings(struct strata_lint *l)
{
	size_t n = l->n - l->file_first;
	struct order *o;

	if (n < 2)
		return;
	o = xmalloc(n * sizeof(*o));
	for (size_t i = 0; i < n; i++) {
		o[i].f = l->findings[l->file_first + i];
		o[i].seq = i;
	}
	qsort(o, n, sizeof(*o), cmp_order);
	for (size_t i = 0; i < n; i++)
		l->findings[l->file_first + i] = o[i].f;
	free(o);
}

/* ---- suppression comments -------------------------------------------------
 */

static bool is_comment_tok(const PgQuery__ScanToken *t)
{
	return t->token == PG_QUERY__TOKEN__SQL_COMMENT ||
	       t->token == PG_QUERY__TOKEN__C_COMMENT;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
	       ch == '\f' || ch == '\v';
}

static bool has_word(const char **p, const char *end, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0 ||
	    (*p + n < end && !is_space((*p)[n])))
		return false;
	*p += n;
	return true;
}

static void add_ignore(struct strata_lint *l, const char *name, size_t n,
                       size_t at, bool is_file)
{
	struct ignore *ig;
	char *s = arena_strndup(&l->arena, name, n);

	XGROW(l->ignores, l->alloc_ignores, l->n_ignores + 1);
	ig = &l->ignores[l->n_ignores++];
	memset(ig, 0, sizeof(*ig));
	ig->rule = lint_rule_index(s);
	ig->name = s;
	ig->at = at;
	ig->is_file = is_file;
	ig->stmt = SIZE_MAX;
}

/*
 * `-- strata-lint-ignore[-file] RULE[, RULE...] [reason]` (or the same in
 * a block comment): rule ids separated by commas; anything after a rule id
 * that is not a comma (a space, a colon) ends the list and starts a free
 * reason.
 */
static void parse_ignore(struct strata_lint *l, const char *sql,
                         const PgQuery__ScanToken *t)
{
	const char *p = sql + t->start, *end = sql + t->end;
	bool is_file;

	if (t->token == PG_QUERY__TOKEN__SQL_COMMENT) {
		p += 2;
	} else {
		p += 2;
		if (end - p >= 2)
			end -= 2;
	}
	while (p < end && (is_space(*p) || *p == '-' || *p == '*'))
		p++;
	if (has_word(&p, end, IGNORE_FILE))
		is_file = true;
	else if (has_word(&p, end, IGNORE_STMT))
		is_file = false;
	else
		return;
	for (;;) {
		const char *w, *stop;

		while (p < end && is_space(*p))
			p++;
		w = p;
		while (p < end && *p != ',' && *p != ':' && !is_space(*p))
			p++;
		if (p == w) {
			if (w == end || *w == ',') /* "names no rule" */
				add_ignore(l, "", 0, (size_t)t->start, is_file);
			break;
		}
		add_ignore(l, w, (size_t)(p - w), (size_t)t->start, is_file);
		stop = p;
		while (stop < end && is_space(*stop))
			stop++;
		if (stop == end || *stop != ',')
			break;
		p = stop + 1;
	}
}

/* Statement ignores apply to the statement they precede, when nothing but
 * comments stands between. */
static void target_ignores(struct strata_lint *l)
{
	for (size_t i = 0; i < l->n_ignores; i++) {
		struct ignore *ig = &l->ignores[i];
		size_t s;

		if (ig->is_file || !l->n_spans)
			continue;
		s = stmt_at(l, ig->at);
		if (ig->at >= l->spans[s].start && ig->at < l->spans[s].first)
			ig->stmt = s;
	}
}

static void report_unused(struct strata_lint *l, struct lint_ctx *c,
                          bool is_parsed)
{
	size_t unused = lint_rule_index(LINT_UNUSED_IGNORE);

	if (l->sev[unused] == STRATA_SEVERITY_OFF)
		return;
	for (size_t i = 0; i < l->n_ignores; i++) {
		const struct ignore *ig = &l->ignores[i];
		size_t stmt = ig->stmt;
		char *msg;

		if (ig->is_used)
			continue;
		if (ig->rule == lint_rules_count) {
			msg = *ig->name ? xstrfmt("'%s' is not a lint rule",
			                          ig->name)
			                : xstrfmt("this ignore names no rule");
		} else if (l->sev[ig->rule] == STRATA_SEVERITY_OFF ||
		           (!is_parsed && !ig->is_file)) {
			continue; /* moot, or not checked */
		} else if (!ig->is_file && ig->stmt == SIZE_MAX && l->n_spans &&
		           ig->at > l->spans[0].first &&
		           ig->at < l->spans[stmt_at(l, ig->at)].end) {
			msg = xstrfmt(
			        "this ignore of '%s' is inside a statement: it must come before one",
			        ig->name);
		} else if (!ig->is_file && ig->stmt == SIZE_MAX) {
			msg = xstrfmt(
			        "this ignore of '%s' precedes no statement",
			        ig->name);
		} else {
			msg = xstrfmt("this ignore of '%s' suppresses nothing",
			              ig->name);
		}
		add_finding(l, c, unused, l->sev[unused], ig->at,
		            ig->is_file ? SIZE_MAX : stmt,
		            lint_rules[unused].info.hint, msg);
		free(msg);
	}
}

/* ---- tracking what statements did -----------------------------------------
 */

static void put_type(struct strata_lint *l, const char *rel, const char *col,
                     const PgQuery__TypeName *tn)
{
	struct lint_type *t;

	if (!rel || !col || !tn)
		return;
	t = arena_alloc(&l->arena, sizeof(*t));
	lint_type_of(t, tn);
	t->name = arena_strdup(&l->arena, t->name);
	strmap_put(&l->columns, &l->arena, key2(l, rel, col), t);
}

/* The column of CHECK (col IS NOT NULL), or NULL. */
static const char *not_null_check_column(const PgQuery__Constraint *k)
{
	const PgQuery__Node *e = k->raw_expr;
	const PgQuery__ColumnRef *ref;

	if (!e || e->node_case != PG_QUERY__NODE__NODE_NULL_TEST ||
	    e->null_test->nulltesttype !=
	            PG_QUERY__NULL_TEST_TYPE__IS_NOT_NULL ||
	    !e->null_test->arg ||
	    e->null_test->arg->node_case != PG_QUERY__NODE__NODE_COLUMN_REF)
		return NULL;
	ref = e->null_test->arg->column_ref;
	return ref->n_fields == 1 ? node_string(ref->fields[0]) : NULL;
}

static void track_alter_table(struct lint_ctx *c,
                              const PgQuery__AlterTableStmt *a)
{
	struct strata_lint *l = c->l;
	const char *rel = a->relation ? a->relation->relname : NULL;

	if (!rel)
		return;
	for (size_t i = 0; i < a->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd;
		const PgQuery__Constraint *k;
		const char *col;

		if (a->cmds[i]->node_case !=
		    PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		cmd = a->cmds[i]->alter_table_cmd;
		switch (cmd->subtype) {
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn:
			if (cmd->def && cmd->def->node_case ==
			                        PG_QUERY__NODE__NODE_COLUMN_DEF)
				put_type(l, rel, cmd->def->column_def->colname,
				         cmd->def->column_def->type_name);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType:
			if (cmd->def && cmd->def->node_case ==
			                        PG_QUERY__NODE__NODE_COLUMN_DEF)
				put_type(l, rel, cmd->name,
				         cmd->def->column_def->type_name);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
			if (!cmd->def ||
			    cmd->def->node_case !=
			            PG_QUERY__NODE__NODE_CONSTRAINT)
				break;
			k = cmd->def->constraint;
			if (!k->skip_validation || !*k->conname)
				break;
			col = k->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK
			              ? not_null_check_column(k)
			              : NULL;
			if (col)
				strmap_put(&l->checks, &l->arena,
				           key2(l, rel, k->conname),
				           arena_strdup(&l->arena, col));
			if (c->in_txn)
				strmap_put(&l->txn_not_valid, &l->arena,
				           key2(l, rel, k->conname), NULL);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraint:
			col = strmap_get(&l->checks, key2(l, rel, cmd->name));
			if (col)
				strmap_put(&l->validated, &l->arena,
				           key2(l, rel, col), NULL);
			else if (!strmap_has(&l->checks,
			                     key2(l, rel, cmd->name)))
				strmap_put(&l->validated, &l->arena,
				           key2(l, rel, NULL), NULL);
			break;
		default:
			break;
		}
	}
}

static void track_create(struct strata_lint *l, const PgQuery__CreateStmt *s)
{
	const char *rel = s->relation->relname;

	strmap_put(&l->new_rels, &l->arena, rel, NULL);
	for (size_t i = 0; i < s->n_table_elts; i++)
		if (s->table_elts[i]->node_case ==
		    PG_QUERY__NODE__NODE_COLUMN_DEF)
			put_type(l, rel, s->table_elts[i]->column_def->colname,
			         s->table_elts[i]->column_def->type_name);
}

static void track_rename(struct strata_lint *l, const PgQuery__RenameStmt *r)
{
	const struct lint_type *t;

	if (!r->relation)
		return;
	if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE &&
	    strmap_has(&l->new_rels, r->relation->relname))
		strmap_put(&l->new_rels, &l->arena, r->newname, NULL);
	if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_INDEX &&
	    strmap_has(&l->new_indexes, r->relation->relname))
		strmap_put(&l->new_indexes, &l->arena, r->newname, NULL);
	if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN) {
		t = strmap_get(&l->columns,
		               key2(l, r->relation->relname, r->subname));
		if (t)
			strmap_put(&l->columns, &l->arena,
			           key2(l, r->relation->relname, r->newname),
			           (void *)t);
	}
}

/* A lock_timeout value that sets one: not 0 in any unit. */
static bool is_timeout_on(const PgQuery__Node *v)
{
	const char *s;
	char *end;
	double d;

	if (!v || v->node_case != PG_QUERY__NODE__NODE_A_CONST)
		return false;
	switch (v->a_const->val_case) {
	case PG_QUERY__A__CONST__VAL_IVAL:
		return v->a_const->ival->ival > 0;
	case PG_QUERY__A__CONST__VAL_FVAL:
		s = v->a_const->fval->fval;
		break;
	case PG_QUERY__A__CONST__VAL_SVAL:
		s = v->a_const->sval->sval;
		break;
	default:
		return false;
	}
	errno = 0;
	d = strtod(s, &end);
	return end != s && !errno && d > 0;
}

/* SELECT set_config('lock_timeout', '5s', ...) */
static void track_set_config(struct lint_ctx *c, const PgQuery__SelectStmt *s)
{
	for (size_t i = 0; i < s->n_target_list; i++) {
		const PgQuery__Node *t = s->target_list[i];
		const PgQuery__FuncCall *f;
		const PgQuery__Node *name;

		if (t->node_case != PG_QUERY__NODE__NODE_RES_TARGET ||
		    !t->res_target->val ||
		    t->res_target->val->node_case !=
		            PG_QUERY__NODE__NODE_FUNC_CALL)
			continue;
		f = t->res_target->val->func_call;
		if (f->n_args < 2 || !names_last(f->funcname, f->n_funcname) ||
		    strcmp(names_last(f->funcname, f->n_funcname),
		           "set_config") != 0)
			continue;
		name = f->args[0];
		if (name->node_case == PG_QUERY__NODE__NODE_A_CONST &&
		    name->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL &&
		    !strcmp(name->a_const->sval->sval, "lock_timeout"))
			c->has_lock_timeout = is_timeout_on(f->args[1]);
	}
}

static void end_txn(struct lint_ctx *c)
{
	strmap_clear(&c->l->txn_not_valid);
	strmap_clear(&c->l->txn_enum);
}

static void track_txn(struct lint_ctx *c, const PgQuery__TransactionStmt *t)
{
	switch (t->kind) {
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
		if (!c->in_txn) {
			c->in_txn = c->is_explicit_txn = true;
			c->begin_at = (int)c->stmt_at;
		}
		break;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
		end_txn(c);
		if (!t->chain)
			c->in_txn = c->is_explicit_txn = false;
		break;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_PREPARE:
		end_txn(c);
		c->in_txn = c->is_explicit_txn = false;
		break;
	default:
		break;
	}
}

static void track(struct lint_ctx *c, const PgQuery__Node *n)
{
	struct strata_lint *l = c->l;
	const char *name;

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		track_create(l, n->create_stmt);
		break;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
		if (n->create_table_as_stmt->into &&
		    n->create_table_as_stmt->into->rel)
			strmap_put(&l->new_rels, &l->arena,
			           n->create_table_as_stmt->into->rel->relname,
			           NULL);
		break;
	case PG_QUERY__NODE__NODE_VIEW_STMT:
		strmap_put(&l->new_rels, &l->arena, n->view_stmt->view->relname,
		           NULL);
		break;
	case PG_QUERY__NODE__NODE_SELECT_STMT:
		if (n->select_stmt->into_clause &&
		    n->select_stmt->into_clause->rel)
			strmap_put(&l->new_rels, &l->arena,
			           n->select_stmt->into_clause->rel->relname,
			           NULL);
		track_set_config(c, n->select_stmt);
		break;
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		if (*n->index_stmt->idxname)
			strmap_put(&l->new_indexes, &l->arena,
			           n->index_stmt->idxname, NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
		name = names_last(n->create_enum_stmt->type_name,
		                  n->create_enum_stmt->n_type_name);
		if (name)
			strmap_put(&l->new_types, &l->arena, name, NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
		name = names_last(n->create_domain_stmt->domainname,
		                  n->create_domain_stmt->n_domainname);
		if (name)
			strmap_put(&l->new_types, &l->arena, name, NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		track_alter_table(c, n->alter_table_stmt);
		break;
	case PG_QUERY__NODE__NODE_RENAME_STMT:
		track_rename(l, n->rename_stmt);
		break;
	case PG_QUERY__NODE__NODE_ALTER_ENUM_STMT:
		if (c->in_txn && *n->alter_enum_stmt->new_val &&
		    !*n->alter_enum_stmt->old_val)
			strmap_put(&l->txn_enum, &l->arena,
			           n->alter_enum_stmt->new_val,
			           (void *)lint_names(
			                   c, n->alter_enum_stmt->type_name,
			                   n->alter_enum_stmt->n_type_name));
		break;
	case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
		if (strcmp(n->variable_set_stmt->name, "lock_timeout") != 0)
			break;
		c->has_lock_timeout =
		        n->variable_set_stmt->kind ==
		                PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE &&
		        n->variable_set_stmt->n_args == 1 &&
		        is_timeout_on(n->variable_set_stmt->args[0]);
		break;
	case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
		track_txn(c, n->transaction_stmt);
		break;
	default:
		break;
	}
	if (!c->in_txn)
		end_txn(c); /* the statement committed on its own */
}

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
		lint_rules[r].fn(c, n);
	}
	c->rule = NULL;
}

static size_t next_token(PgQuery__ScanToken **tok, size_t n, size_t i,
                         size_t at)
{
	while (i < n && ((size_t)tok[i]->start < at || is_comment_tok(tok[i])))
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
				if (!is_comment_tok(c->tok[k])) {
					sp->end = (size_t)c->tok[k]->end;
					break;
				}
		}
	}
	target_ignores(l);
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
		track(c, n);
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
 * A large text, a piece at a time (PG_PIECES_FROM): a first pass checks
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
	       (r = pg_piece_next(&p, sql, len, &at)) > 0) {
		has_txn = has_txn || has_txn_control(p.tree);
		pg_piece_release(&p);
	}
	if (r < 0)
		return false;
	c->is_wrapped = !c->is_no_transaction && !has_txn;
	c->in_txn = c->is_wrapped;
	l->n_spans = 0;
	at = 0;
	while (pg_piece_next(&p, sql, len, &at) > 0) {
		const PgQuery__ScanResult *toks = p.tokens;

		c->tok = toks->tokens;
		c->n_tok = toks->n_tokens;
		for (size_t i = 0; i < c->n_tok; i++)
			if (is_comment_tok(c->tok[i]))
				parse_ignore(l, sql, c->tok[i]);
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

	if (sev == STRATA_SEVERITY_OFF || is_suppressed(l, r, SIZE_MAX))
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
	add_finding(l, c, r, sev, at, SIZE_MAX,
	            hint ? hint : lint_rules[r].info.hint, msg);
	free(msg);
	free(hint);
}

/*
 * Lints one text. `given` (may be NULL) holds the trees split made of the
 * same text: then nothing is parsed again; without a tree (the parser
 * rejected the text) the text is parsed here, for the error's place.
 */
static int lint_text(struct strata_lint *l, const char *path, const char *sql,
                     size_t len, const struct strata_lint_file_options *fo,
                     const struct pg_trees *given,
                     const struct strata_script *split,
                     struct strata_error *err)
{
	static const struct strata_lint_file_options no_opts =
	        STRATA_LINT_FILE_OPTIONS_INIT;
	PgQueryProtobufParseResult parsed = { 0 };
	PgQueryScanResult scanned = { 0 };
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
	}
	c.l = l;
	end_txn(&c);
	c.pg_version = l->pg_version;
	c.path = l->path;
	c.sql = sql;
	c.len = len;
	c.is_no_transaction = fo->is_no_transaction;
	c.has_lock_timeout = fo->is_lock_timeout_set;
	index_lines(l, sql, len);

	nul = memchr(sql, '\0', len);
	if (nul) {
		report_parse_error(l, &c, "the SQL text holds a NUL byte",
		                   (size_t)(nul - sql));
		rc = 0;
		goto done;
	}
	if (!is_given && len > PG_PIECES_FROM &&
	    lint_pieces(l, &c, sql, len, split)) {
		report_unused(l, &c, true);
		rc = 0;
		goto done;
	}
	/* libpg_query reads up to a NUL: lint exactly `len` bytes */
	copy = xmalloc(len + 1);
	memcpy(copy, sql, len);
	copy[len] = '\0';
	sql = copy;
	c.sql = sql;
	if (is_given)
		toks = given->tokens;
	else
		scanned = pg_query_scan(sql);
	if (is_given) {
		c.tok = toks->tokens;
		c.n_tok = toks->n_tokens;
		for (size_t i = 0; i < c.n_tok; i++)
			if (is_comment_tok(c.tok[i]))
				parse_ignore(l, sql, c.tok[i]);
	} else if (!scanned.error) {
		toks = pg_query__scan_result__unpack(
		        NULL, scanned.pbuf.len,
		        (const uint8_t *)scanned.pbuf.data);
		if (!toks) {
			strata_error_set(
			        err, STRATA_EFAILED,
			        "could not decode the SQL scanner's result");
			goto done;
		}
		c.tok = toks->tokens;
		c.n_tok = toks->n_tokens;
		for (size_t i = 0; i < c.n_tok; i++)
			if (is_comment_tok(c.tok[i]))
				parse_ignore(l, sql, c.tok[i]);
	}
	if (is_given) {
		tree = given->tree;
		lint_tree(l, &c, tree);
		report_unused(l, &c, true);
		rc = 0;
		goto done;
	}
	parsed = pg_query_parse_protobuf(sql);
	if (parsed.error) {
		int pos = parsed.error->cursorpos;

		report_parse_error(l, &c, parsed.error->message,
		                   pos > 0 ? text_char_to_byte(sql, len, pos)
		                           : 0);
		report_unused(l, &c, false);
		rc = 0;
		goto done;
	}
	tree = pg_query__parse_result__unpack(
	        NULL, parsed.parse_tree.len,
	        (const uint8_t *)parsed.parse_tree.data);
	if (!tree) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not decode the SQL parse tree");
		goto done;
	}
	lint_tree(l, &c, tree);
	report_unused(l, &c, true);
	rc = 0;
done:
	end_txn(&c);
	sort_file_findings(l);
	if (tree && !is_given)
		protobuf_c_message_free_unpacked(&tree->base, NULL);
	if (toks && !is_given)
		protobuf_c_message_free_unpacked(&toks->base, NULL);
	pg_query_free_protobuf_parse_result(parsed);
	pg_query_free_scan_result(scanned);
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
	return strata_lint_text(l, m->up_path, m->up_sql, m->up_len, &fo, err);
}

int strata_lint_source(struct strata_lint *l, const struct strata_source *src,
                       struct strata_db *db, struct strata_error *err)
{
	struct strata_status *st = NULL;
	int rc = -1;

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
	rc = 0;
done:
	strata_status_free(st);
	return rc;
}

/* ---- the run gate -----------------------------------------------------------
 */

int lint_begin(struct strata_lint **out, struct strata_db *db,
               const struct strata_run_options *opts, struct strata_error *err)
{
	struct strata_lint_options lo = STRATA_LINT_OPTIONS_INIT;

	*out = NULL;
	/* SQLite's SQL is not PostgreSQL's: its migrations are not linted. */
	if (!(db->drv->caps & DRV_PG_SQL))
		return 0;
	if (opts->lint)
		lo = *opts->lint;
	if (!lo.pg_version)
		lo.pg_version = db->conn->server_version;
	return strata_lint_new(out, &lo, err);
}

int lint_step(struct strata_lint *l, struct strata_db *db,
              const struct plan_step *step, const struct pg_trees *trees,
              struct strata_error *err)
{
	struct strata_lint_file_options fo = STRATA_LINT_FILE_OPTIONS_INIT;

	fo.is_no_transaction = step->mode == MODE_NO_TXN;
	fo.is_same_run = true;
	/* the runner sets lock_timeout on every migration unless it was
	 * turned off and the file sets none */
	fo.is_lock_timeout_set =
	        step->lock_timeout > 0 ||
	        (step->lock_timeout < 0 && db->opts.lock_timeout >= 0);
	return lint_text(l, step->path, step->sql, step->len, &fo, trees,
	                 &step->script, err);
}

int lint_end(struct strata_lint *l, struct strata_db *db,
             const struct strata_run_options *opts, struct strata_error *err)
{
	size_t n_errors;

	if (!l)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		struct strata_event ev = { .kind = STRATA_EVENT_LINT };

		ev.finding = &l->findings[i];
		ev.message = l->findings[i].message;
		db_emit(db, &ev);
	}
	n_errors = strata_lint_count_severity(l, STRATA_SEVERITY_ERROR);
	if (n_errors && !opts->is_allow_unsafe) {
		strata_error_set(
		        err, STRATA_ELINT,
		        "the migrations to apply have %zu lint error%s: %s",
		        n_errors, n_errors == 1 ? "" : "s",
		        opts->is_dry_run ? "a run would apply nothing"
		                         : "nothing was applied");
		strata_error_hint(
		        err,
		        "Make them safe (see each finding's hint and docs/lint/RULE.md), put '-- strata-lint-ignore RULE' before a statement that is safe anyway, or allow unsafe migrations.");
		return strata_error_reason(err, STRATA_REASON_LINT_GATE, -1);
	}
	if (n_errors)
		db_emit_warning(
		        db, NULL,
		        "applying despite %zu lint error%s (unsafe migrations allowed)",
		        n_errors, n_errors == 1 ? "" : "s");
	return 0;
}
