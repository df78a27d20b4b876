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
 * Rules never look at the database: offline, a table the migrations did
 * not create is assumed to exist, hold rows and serve traffic. With a
 * database, each finding says what it is about (lint_on()) and
 * lint_db.c judges them all after the last file, with one catalog query.
 * What it deliberately doesn't do: look inside function bodies or DO
 * blocks, or guess at SQL the parser rejects: that is a parse-error
 * finding at the parser's location.
 * Suppression comments are the only text read outside the parse tree, and
 * only the scanner says where comments are.
 *
 * This file holds the session (settings, the public accessors), what
 * rules ask of it, positions and findings; suppression comments are in
 * lint_ignore.c, what statements did in lint_track.c, linting a file in
 * lint_file.c and the run gate in lint_gate.c, sharing session.h.
 */
#include "lint/session.h"
#include "util/xalloc.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/strmap.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LINT_FILE STRATA_DEFAULT_MAX_FILE_SIZE

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
	case STRATA_SEVERITY_NOTE:
		return "note";
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
	l->is_runner_statement_timeout =
	        opts && opts->is_runner_statement_timeout;
	l->is_robust_notes = opts && opts->is_robust_notes;
	l->max_file_size = opts && opts->max_file_size ? opts->max_file_size
	                                               : MAX_LINT_FILE;
	l->big_rows = opts && opts->big_table_rows > 0 ? opts->big_table_rows
	                                               : 1000000;
	l->big_size = opts && opts->big_table_size > 0
	                      ? opts->big_table_size
	                      : INT64_C(100) * 1024 * 1024;
	l->small_rows = opts && opts->small_table_rows > 0
	                        ? opts->small_table_rows
	                        : 10000;
	l->small_size = opts && opts->small_table_size > 0
	                        ? opts->small_table_size
	                        : INT64_C(10) * 1024 * 1024;
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
	strmap_release(&l->new_cons);
	strmap_release(&l->renamed);
	strmap_release(&l->renamed_cols);
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
	free(l->subjects);
	free(l->step_files);
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

const char *lint_key(struct strata_lint *l, const char *a, const char *b)
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

void lint_on(struct lint_ctx *c, const PgQuery__RangeVar *rv, const char *col,
             unsigned flags)
{
	memset(&c->on, 0, sizeof(c->on));
	if (!rv || !rv->relname || !*rv->relname)
		return;
	c->on.schema =
	        rv->schemaname && *rv->schemaname ? rv->schemaname : NULL;
	c->on.rel = rv->relname;
	c->on.col = col;
	c->on.flags = flags;
}

void lint_on_type(struct lint_ctx *c, const PgQuery__RangeVar *rv,
                  const char *col, const struct lint_type *to,
                  const char *shown, unsigned flags)
{
	lint_on(c, rv, col, LINT_ON_TYPE | flags);
	if (!c->on.rel)
		return;
	c->on.to = *to;
	c->on.to_shown = shown;
}

void lint_on_object(struct lint_ctx *c, const PgQuery__Node *o, unsigned flags)
{
	PgQuery__RangeVar rv = PG_QUERY__RANGE_VAR__INIT;

	memset(&c->on, 0, sizeof(c->on));
	if (o && o->node_case == PG_QUERY__NODE__NODE_LIST) {
		PgQuery__Node **items = o->list->items;
		size_t n = o->list->n_items;

		if (n > 3 || !n)
			return;
		rv.relname = (char *)node_string(items[n - 1]);
		rv.schemaname = n > 1 ? (char *)node_string(items[n - 2]) : "";
		if (n == 3)
			return; /* another database's: not this one's */
	} else {
		rv.relname = (char *)(o ? node_string(o) : NULL);
	}
	lint_on(c, &rv, NULL, flags);
}

const struct lint_type *lint_column_type(const struct lint_ctx *c,
                                         const char *rel, const char *col)
{
	return strmap_get(&c->l->columns, lint_key(c->l, rel, col));
}

bool lint_has_validated_check(const struct lint_ctx *c, const char *rel,
                              const char *col)
{
	return strmap_has(&c->l->validated, lint_key(c->l, rel, col)) ||
	       strmap_has(&c->l->validated, lint_key(c->l, rel, NULL));
}

bool lint_is_not_valid_in_txn(const struct lint_ctx *c, const char *rel,
                              const char *con)
{
	return strmap_has(&c->l->txn_not_valid, lint_key(c->l, rel, con));
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

void lint_index_lines(struct strata_lint *l, const char *sql, size_t len)
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
size_t lint_stmt_at(const struct strata_lint *l, size_t at)
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

bool lint_is_suppressed(struct strata_lint *l, size_t rule, size_t stmt)
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

/*
 * What finding `i` is about, kept in the arena beyond its file's parse
 * tree, with names the pending migrations gave back to the ones the
 * database has.
 */
static void set_subject(struct strata_lint *l, size_t i,
                        const struct lint_subject *on)
{
	struct lint_subject *s;
	const char *old;

	XGROW(l->subjects, l->alloc_subjects, l->n);
	s = &l->subjects[i];
	memset(s, 0, sizeof(*s));
	if (!on->rel)
		return;
	*s = *on;
	old = on->col ? strmap_get(&l->renamed_cols,
	                           lint_key(l, on->rel, on->col))
	              : NULL;
	s->col = on->col ? arena_strdup(&l->arena, old ? old : on->col) : NULL;
	old = strmap_get(&l->renamed, on->rel);
	s->rel = arena_strdup(&l->arena, old ? old : on->rel);
	s->schema = on->schema ? arena_strdup(&l->arena, on->schema) : NULL;
	s->to.name = arena_strdup(&l->arena, on->to.name ? on->to.name : "");
	s->to_shown =
	        on->to_shown ? arena_strdup(&l->arena, on->to_shown) : NULL;
}

/*
 * A hint that says "-- no-transaction", which is sqlx's, followed by how
 * the layout of the migrations says it: a diesel, dbmate or Flyway user
 * following it alone would write a comment their layout ignores.
 */
static const char *layout_hint(struct strata_lint *l, const char *hint)
{
	const char *how = NULL;

	if (strstr(hint, "no-transaction")) {
		switch (l->layout) {
		case STRATA_LAYOUT_DIESEL:
			how = "In diesel's layout, instead, a migration runs outside a transaction when its metadata.toml says run_in_transaction = false.";
			break;
		case STRATA_LAYOUT_DBMATE:
			how = "In dbmate's layout, instead, a migration runs outside a transaction when its marker says '-- migrate:up transaction:false'.";
			break;
		case STRATA_LAYOUT_FLYWAY:
			how = "In Flyway's layout, instead, a file runs outside a transaction when its NAME.sql.conf says executeInTransaction=false, or when none of its statements can run in one.";
			break;
		case STRATA_LAYOUT_GOLANG_MIGRATE:
			how = "In golang-migrate's layout, instead, a file runs outside a transaction when it is one statement that cannot run in one: give that statement a file of its own.";
			break;
		default:
			break;
		}
	}
	return how ? arena_strfmt(&l->arena, "%s %s", hint, how)
	           : arena_strdup(&l->arena, hint);
}

void lint_add_finding(struct strata_lint *l, const struct lint_ctx *c,
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
	f->hint = hint ? layout_hint(l, hint) : NULL;
	set_subject(l, l->n - 1, &c->on);
}

void lint_report(struct lint_ctx *c, int at, const char *hint, const char *fmt,
                 ...)
{
	struct strata_lint *l = c->l;
	size_t rule = (size_t)(c->rule - lint_rules), where, stmt;
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	where = at >= 0 && (size_t)at <= c->len ? (size_t)at : c->stmt_at;
	stmt = l->n_spans ? lint_stmt_at(l, where) : SIZE_MAX;
	if (l->sev[rule] == STRATA_SEVERITY_OFF ||
	    lint_is_suppressed(l, rule, stmt)) {
		memset(&c->on, 0, sizeof(c->on));
		return;
	}
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	lint_add_finding(l, c, rule, l->sev[rule], where, stmt,
	                 hint ? hint : c->rule->info.hint, sb.buf);
	/* a finding's type change that cannot be judged offline warns */
	if ((c->on.flags & LINT_ON_UNSURE) &&
	    l->findings[l->n - 1].severity == STRATA_SEVERITY_ERROR)
		l->findings[l->n - 1].severity = STRATA_SEVERITY_WARNING;
	if (c->on.flags & LINT_ON_NOTE)
		l->findings[l->n - 1].severity = STRATA_SEVERITY_NOTE;
	memset(&c->on, 0, sizeof(c->on));
	sbuf_release(&sb);
}

struct order {
	struct strata_finding f;
	struct lint_subject s;
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
void lint_sort_file_findings(struct strata_lint *l)
{
	size_t n = l->n - l->file_first;
	struct order *o;

	if (n < 2)
		return;
	o = xmalloc(n * sizeof(*o));
	for (size_t i = 0; i < n; i++) {
		o[i].f = l->findings[l->file_first + i];
		o[i].s = l->subjects[l->file_first + i];
		o[i].seq = i;
	}
	qsort(o, n, sizeof(*o), cmp_order);
	for (size_t i = 0; i < n; i++) {
		l->findings[l->file_first + i] = o[i].f;
		l->subjects[l->file_first + i] = o[i].s;
	}
	free(o);
}
