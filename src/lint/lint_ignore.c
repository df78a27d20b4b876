/*
 * Suppression comments: `-- strata-lint-ignore RULE` before a statement
 * and `-- strata-lint-ignore-file RULE` anywhere in a file, read from the
 * comments libpg_query's scanner finds (never from text the scanner calls
 * something else), tied to the statement they precede, and reported as
 * unused-ignore when they name no rule, precede no statement or suppress
 * nothing.
 */
#include "lint/session.h"
#include "util/xalloc.h"
#include "util/arena.h"

#include <string.h>

#define IGNORE_STMT "strata-lint-ignore"
#define IGNORE_FILE "strata-lint-ignore-file"

/* ---- suppression comments -------------------------------------------------
 */

bool lint_is_comment_tok(const PgQuery__ScanToken *t)
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
void lint_parse_ignore(struct strata_lint *l, const char *sql,
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
void lint_target_ignores(struct strata_lint *l)
{
	for (size_t i = 0; i < l->n_ignores; i++) {
		struct ignore *ig = &l->ignores[i];
		size_t s;

		if (ig->is_file || !l->n_spans)
			continue;
		s = lint_stmt_at(l, ig->at);
		if (ig->at >= l->spans[s].start && ig->at < l->spans[s].first)
			ig->stmt = s;
	}
}

void lint_report_unused(struct strata_lint *l, struct lint_ctx *c,
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
		           ig->at < l->spans[lint_stmt_at(l, ig->at)].end) {
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
		lint_add_finding(l, c, unused, l->sev[unused], ig->at,
		                 ig->is_file ? SIZE_MAX : stmt,
		                 lint_rules[unused].info.hint, msg);
		free(msg);
	}
}
