/*
 * The plan: every migration about to run, split into statements and given
 * a mode, checked as a whole before the first statement is sent (design.md,
 * Directives: nothing runs when the source cannot run as written). Also the
 * mapping of a driver's "statement k, character p" back to file:line:column.
 */
#include "engine/plan.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/text.h"
#include "engine/source.h"
#include "sql/split.h"
#include "sql/batchsql.h"
#include "engine/db.h"
#include "lint/gate.h"

#include <pthread.h>
#include <unistd.h>

#include <limits.h>
#include <pg_query.h>
#include <stdlib.h>
#include <string.h>

/* The major version of the PostgreSQL grammar libpg_query carries. */
#define PARSER_VERSION_NUM PG_VERSION_NUM

/* How the layout runs a file outside a transaction (design.md, Layouts). */
static int no_transaction_hint(struct strata_error *err,
                               enum strata_layout layout,
                               const struct plan_step *step)
{
	bool is_down = step->m && step->sql == step->m->down_sql;

	static const char tail[] =
	        "so it runs outside a transaction, one statement at a time; keep such a migration small, since a failure in it is not rolled back.";

	switch (layout) {
	case STRATA_LAYOUT_DBMATE:
		return strata_error_hint(
		        err,
		        "Put 'transaction:false' on the section's marker line in '%s' ('-- migrate:%s transaction:false'), %s",
		        step->path, is_down ? "down" : "up", tail);
	case STRATA_LAYOUT_DIESEL:
		return strata_error_hint(
		        err,
		        "Put 'run_in_transaction = false' in the metadata.toml beside '%s', %s",
		        step->path, tail);
	case STRATA_LAYOUT_GOLANG_MIGRATE:
		return strata_error_hint(
		        err,
		        "Give the statement a file of its own (golang-migrate runs a file of one statement outside a transaction block), or put '-- no-transaction' on the first line of '%s' %s",
		        step->path, tail);
	case STRATA_LAYOUT_FLYWAY:
		return strata_error_hint(
		        err,
		        "Give the statement a migration of its own (Flyway runs a migration whose every statement needs it outside a transaction), or write 'executeInTransaction=false' in '%s.conf', %s",
		        step->path, tail);
	default:
		/* a pair folder is golang-migrate's too, when nothing said so
		 */
		if (step->m && step->m->down_path &&
		    step->m->down_path != step->m->up_path)
			return strata_error_hint(
			        err,
			        "Put '-- no-transaction' on the first line of '%s' %s If the folder is golang-migrate's, which runs a file of one such statement outside a transaction itself, say so instead: --layout golang-migrate (or layout = in strata.conf).",
			        step->path, tail);
		return strata_error_hint(
		        err,
		        "Put '-- no-transaction' on the first line of '%s' %s",
		        step->path, tail);
	}
}

static int stmt_error(struct plan_step *step, size_t i, enum strata_code code,
                      struct strata_error *err, const char *fmt, ...)
        STRATA_PRINTF(5, 6);

static int stmt_error(struct plan_step *step, size_t i, enum strata_code code,
                      struct strata_error *err, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strata_error_set(err, code, "%s", sb.buf);
	sbuf_release(&sb);
	err->statement = (int)i + 1;
	error_set_location(err, step->path, step->sql, step->len,
	                   step->script.stmts[i].token_offset);
	return -1;
}

static size_t first_flagged(const struct strata_script *s, unsigned flag)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->stmts[i].flags & flag)
			return i;
	return s->n;
}

static bool is_all_flagged(const struct strata_script *s, unsigned flag)
{
	for (size_t i = 0; i < s->n; i++)
		if (!(s->stmts[i].flags & flag))
			return false;
	return s->n > 0;
}

void plan_ctx_init(struct plan_ctx *ctx, struct strata_db *db)
{
	ctx->drv = db ? db->drv : &pgdrv_driver;
	ctx->server_version = db ? db->conn->server_version : 0;
	ctx->db = db;
	ctx->lint = NULL;
	ctx->layout = STRATA_LAYOUT_AUTO;
}

/* The database's layout once bound, else the source's (validate's) */
static enum strata_layout ctx_layout(const struct plan_ctx *ctx)
{
	if (ctx->db && (ctx->db->is_layout_bound || !ctx->layout))
		return ctx->db->hist.layout;
	return ctx->layout ? ctx->layout : STRATA_LAYOUT_SQLX;
}

/*
 * A batch migration: on a driver that runs them, up only, never in a
 * single-transaction run, one statement of the shape batchsql_shape()
 * accepts (design.md, Batch migrations).
 */
static int check_batch(struct plan_step *step, const struct plan_ctx *ctx,
                       bool is_down, bool is_single, struct strata_error *err)
{
	struct strata_script *s = &step->script;
	struct batchsql_shape shape;
	struct sbuf text = SBUF_INIT;
	int rc = -1;

	step->mode = MODE_BATCH;
	if (!ctx->drv->exec_rows || is_down || is_single) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        !ctx->drv->exec_rows
		                ? "'%s' is a batch migration, which runs on PostgreSQL only"
		        : is_down
		                ? "'%s' is a batch migration: a down file cannot be one"
		                : "'%s' is a batch migration: it cannot be part of a single-transaction run",
		        step->path);
		err->file = xstrdup(step->path);
		return strata_error_hint(
		        err,
		        !ctx->drv->exec_rows
		                ? "Write the change as an ordinary migration (drop the -- strata:batch line): SQLite holds one writer at a time, so batches would not let other writers in sooner."
		        : is_down
		                ? "Drop the -- strata:batch line from the down file; a revert runs it as an ordinary migration."
		                : "Run it on its own: each batch commits by itself.");
	}
	if (!s->is_parsed)
		return 0; /* check_step() says why */
	if (s->n != 1) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "batch migration '%s' holds %zu statements, not one",
		        step->path, s->n);
		if (s->n > 1)
			error_set_location(err, step->path, step->sql,
			                   step->len, s->stmts[1].token_offset);
		else
			err->file = xstrdup(step->path);
		return strata_error_hint(
		        err,
		        "Give each batched statement a file of its own, and the schema changes files without -- strata:batch.");
	}
	script_stmt_text(&text, s, 0);
	if (batchsql_shape(&shape, text.buf, err) < 0)
		goto done;
	if (shape.problem) {
		stmt_error(step, 0, STRATA_EVALIDATE, err,
		           "batch migration cannot run in batches: %s",
		           shape.problem);
		error_set_location(err, step->path, step->sql, step->len,
		                   shape.problem_at > 0
		                           ? s->stmts[0].offset +
		                                     (size_t)shape.problem_at
		                           : s->stmts[0].token_offset);
		strata_error_hint(
		        err,
		        "Write one UPDATE, DELETE or INSERT ... SELECT that changes at most :batch_size rows and leaves rows already done out, such as UPDATE t SET b = f(a) WHERE id IN (SELECT id FROM t WHERE b IS NULL LIMIT :batch_size);");
		goto done;
	}
	if (shape.is_skip_unsure)
		db_emit_warning(
		        ctx->db, step->m,
		        "batch migration '%s': no WHERE reads a column its UPDATE sets, so strata cannot tell that rows already done are left out of the next batch (if they are not, it never ends)",
		        step->path);
	rc = 0;
done:
	sbuf_release(&text);
	return rc;
}

static int check_step(struct plan_step *step, const struct plan_ctx *ctx,
                      bool is_no_txn_file, bool is_single,
                      struct strata_error *err)
{
	struct strata_db *db = ctx->db;
	struct strata_script *s = &step->script;
	size_t i;

	if (!s->is_parsed) {
		/* PostgreSQL reads a byte-order mark as the start of a word:
		 * the mark, not the syntax error it makes, is what to name
		 * (SQLite passes over it, as when sqlx applied the file) */
		if (source_check_bom(step->path, step->sql, step->len, err) < 0)
			return -1;
		/* Only a server newer than the parser may know better. */
		if (ctx->server_version / 10000 <= PARSER_VERSION_NUM / 10000) {
			strata_error_set(err, STRATA_EVALIDATE, "%s",
			                 s->parse_error);
			error_set_location(err, step->path, step->sql,
			                   step->len, s->parse_error_at);
			return strata_error_hint(
			        err,
			        "Fix the SQL: nothing runs until the file parses.");
		}
		db_emit_warning(
		        db, step->m,
		        "the PostgreSQL %d parser rejects '%s' (%s); the server will judge it",
		        PARSER_VERSION_NUM / 10000, step->path, s->parse_error);
	}
	i = first_flagged(s, STMT_COPY_STDIN);
	if (i < s->n) {
		stmt_error(step, i, STRATA_EVALIDATE, err,
		           "COPY FROM STDIN cannot run in a migration");
		return strata_error_hint(
		        err,
		        "Use INSERT statements, or COPY from a file on the server.");
	}
	if (step->mode == MODE_BATCH) {
		return 0; /* check_batch() */
	} else if (is_no_txn_file) {
		step->mode = MODE_NO_TXN;
	} else if (s->flags & STMT_TXN_CONTROL) {
		step->mode = MODE_OWN_TXN;
	} else if ((s->flags & STMT_NO_TXN) && s->n == 1 && db &&
	           db->hist.layout == STRATA_LAYOUT_GOLANG_MIGRATE) {
		/* golang-migrate sends a file as one query: a statement
		 * alone runs outside a transaction block there */
		step->mode = MODE_NO_TXN;
	} else if ((s->flags & STMT_NO_TXN) &&
	           ctx_layout(ctx) == STRATA_LAYOUT_FLYWAY &&
	           is_all_flagged(s, STMT_NO_TXN)) {
		/* Flyway runs a migration of such statements alone outside
		 * a transaction (mixed with others it refuses it) */
		step->mode = MODE_NO_TXN;
	} else if (s->flags & STMT_NO_TXN) {
		i = first_flagged(s, STMT_NO_TXN);
		stmt_error(step, i, STRATA_EVALIDATE, err,
		           "%s cannot run inside a transaction block",
		           stmt_what(&s->stmts[i]) ? stmt_what(&s->stmts[i])
		                                   : "statement");
		return no_transaction_hint(err, ctx_layout(ctx), step);
	} else {
		step->mode = MODE_TXN;
	}
	if (is_single && step->mode != MODE_TXN) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "'%s' cannot be part of a single-transaction run",
		        step->path);
		err->file = xstrdup(step->path);
		return strata_error_detail(
		        err,
		        step->mode == MODE_NO_TXN
		                ? "It runs outside a transaction (-- no-transaction)."
		                : "It manages its own transaction (BEGIN/COMMIT).");
	}
	if (step->mode == MODE_OWN_TXN)
		db_emit_warning(
		        db, step->m,
		        "'%s' manages its own transaction (BEGIN/COMMIT): it runs as written, outside strata's transaction, and is recorded as failed until it completes",
		        step->path);
	return 0;
}

#define DIRECTIVE_PREFIX "-- strata:"
#define BATCH_WORD       "batch"

/* `q` (to `le`) is the word batch, alone or before its options */
static bool is_batch_word(const char *q, const char *le)
{
	size_t n = strlen(BATCH_WORD);

	return (size_t)(le - q) >= n && !strncmp(q, BATCH_WORD, n) &&
	       (q + n == le || q[n] == ' ' || q[n] == '\t' || q[n] == '\r');
}

bool plan_is_batch(const char *sql, size_t len)
{
	const char *p = sql, *end = sql + len;
	size_t n = strlen(DIRECTIVE_PREFIX);

	/* the comment lines (and blank ones) before the first statement */
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end, *q = p;

		while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		p = eol ? eol + 1 : end;
		if (q == le)
			continue;
		if (le - q < 2 || q[0] != '-' || q[1] != '-')
			return false;
		if ((size_t)(le - q) > n && !strncmp(q, DIRECTIVE_PREFIX, n) &&
		    is_batch_word(q + n, le))
			return true;
	}
	return false;
}

static int bad_batch(struct plan_step *step, const char *at, size_t len,
                     struct strata_error *err)
{
	strata_error_set(err, STRATA_EVALIDATE,
	                 "invalid option '%.*s' of -- strata:batch", (int)len,
	                 at);
	error_set_location(err, step->path, step->sql, step->len,
	                   (size_t)(at - step->sql));
	return strata_error_hint(
	        err,
	        "Known: size=ROWS (the first batch's), target=DURATION (one batch's time, 200ms unless given), pause=DURATION (between batches), max-lag=DURATION (a standby's replay lag to wait out), max-active=N (other sessions running a query on this server to wait out) and, last on the line, total=SELECT ... (a query counting the rows to do).");
}

/* `-- strata:batch [size=N] [target=D] [pause=D] [max-lag=D]
 * [max-active=N] [total=...]` */
static int parse_batch(struct plan_step *step, const char *q, const char *le,
                       struct strata_error *err)
{
	struct batch_opts *o = &step->batch;

	q += strlen(BATCH_WORD);
	for (;;) {
		const char *w, *eq, *we;
		char value[64];
		double *slot = NULL;

		while (q < le && (*q == ' ' || *q == '\t'))
			q++;
		if (q >= le)
			return 0;
		w = q;
		while (q < le && *q != ' ' && *q != '\t')
			q++;
		we = q;
		eq = memchr(w, '=', (size_t)(we - w));
		if (eq && eq - w == 5 && !strncmp(w, "total", 5)) {
			/* the rest of the line: a query has spaces */
			if (le - eq - 1 < 1)
				return bad_batch(step, w, (size_t)(le - w),
				                 err);
			free(o->total);
			o->total = xstrndup(eq + 1, (size_t)(le - eq - 1));
			return 0;
		}
		if (!eq || (size_t)(we - eq - 1) >= sizeof(value) ||
		    eq + 1 == we)
			return bad_batch(step, w, (size_t)(we - w), err);
		memcpy(value, eq + 1, (size_t)(we - eq - 1));
		value[we - eq - 1] = '\0';
		if ((eq - w == 4 && !strncmp(w, "size", 4)) ||
		    (eq - w == 10 && !strncmp(w, "max-active", 10))) {
			char *e;
			long long v = strtoll(value, &e, 10);

			if (*e || v < 1 || v > 100000000)
				return bad_batch(step, w, (size_t)(we - w),
				                 err);
			*(*w == 's' ? &o->size : &o->max_active) = v;
			continue;
		}
		if (eq - w == 6 && !strncmp(w, "target", 6))
			slot = &o->target;
		else if (eq - w == 5 && !strncmp(w, "pause", 5))
			slot = &o->pause;
		else if (eq - w == 7 && !strncmp(w, "max-lag", 7))
			slot = &o->max_lag;
		if (!slot || strata_parse_duration(slot, value) < 0 ||
		    *slot < 0 || (slot == &o->target && *slot <= 0))
			return bad_batch(step, w, (size_t)(we - w), err);
	}
}

/*
 * `-- strata:KEY=VALUE` lines in the comments before the first statement
 * (design.md, Directives). An unknown key or a bad value is an error:
 * a misspelt timeout must not silently become no timeout.
 */
static int parse_directives(struct plan_step *step, struct strata_error *err)
{
	const char *p = step->sql;
	const char *end =
	        step->sql + (step->script.n ? step->script.stmts[0].token_offset
	                                    : step->len);

	step->lock_timeout = step->statement_timeout = step->warn_after = -1;
	step->concurrent_lock_timeout = -1;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end, *q = p, *eq;
		char key[32], value[64];
		double *slot = NULL;

		while (q < le && (*q == ' ' || *q == '\t'))
			q++;
		p = eol ? eol + 1 : end;
		if ((size_t)(le - q) < strlen(DIRECTIVE_PREFIX) ||
		    strncmp(q, DIRECTIVE_PREFIX, strlen(DIRECTIVE_PREFIX)))
			continue;
		q += strlen(DIRECTIVE_PREFIX);
		while (le > q && (le[-1] == '\r' || le[-1] == ' '))
			le--;
		if (is_batch_word(q, le)) {
			if (parse_batch(step, q, le, err) < 0)
				return -1;
			continue;
		}
		eq = memchr(q, '=', (size_t)(le - q));
		if (eq && (size_t)(eq - q) < sizeof(key) &&
		    (size_t)(le - eq - 1) < sizeof(value)) {
			memcpy(key, q, (size_t)(eq - q));
			key[eq - q] = '\0';
			memcpy(value, eq + 1, (size_t)(le - eq - 1));
			value[le - eq - 1] = '\0';
			if (strcmp(key, "lock-timeout") == 0)
				slot = &step->lock_timeout;
			else if (strcmp(key, "statement-timeout") == 0)
				slot = &step->statement_timeout;
			else if (strcmp(key, "warn-after") == 0)
				slot = &step->warn_after;
			else if (strcmp(key, "concurrent-lock-timeout") == 0)
				slot = &step->concurrent_lock_timeout;
		}
		/* PostgreSQL takes at most INT_MAX ms: refused now, not
		 * by the server once earlier migrations have run */
		if (!slot || strata_parse_duration(slot, value) < 0 ||
		    *slot < 0 || *slot * 1000 > INT_MAX) {
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "invalid directive '%.*s'",
			        (int)(le - q + strlen(DIRECTIVE_PREFIX)),
			        q - strlen(DIRECTIVE_PREFIX));
			error_set_location(err, step->path, step->sql,
			                   step->len, (size_t)(q - step->sql));
			return strata_error_hint(
			        err,
			        "Known: -- strata:lock-timeout=DURATION, -- strata:concurrent-lock-timeout=DURATION, -- strata:statement-timeout=DURATION and -- strata:warn-after=DURATION (such as 5s, 500ms, 2m; timeouts at most 24 days).");
		}
	}
	return 0;
}

/* What a split made ahead hands over (presplit below). */
struct split_result {
	struct strata_script script;
	struct pg_trees trees;
	struct strata_error err;
	int rc;
	bool is_done;
	size_t worker; /* the thread that made it, and frees its trees */
};

/* With `pre` its trees are handed back in it once used, not released. */
static int add_step(struct plan *p, const struct plan_ctx *ctx,
                    const struct strata_migration *m, bool is_down,
                    bool is_single_transaction, struct split_result *pre,
                    struct strata_error *err)
{
	struct pg_trees trees = { NULL, NULL, NULL };
	struct split_result *pre_in = pre;
	struct plan_step *step;
	bool is_batch, is_pre_dropped = false;
	int rc = -1, split_rc;

	XGROW(p->steps, p->alloc, p->n + 1);
	step = &p->steps[p->n];
	memset(step, 0, sizeof(*step));
	step->m = m;
	step->path = is_down ? m->down_path : m->up_path;
	step->sql = is_down ? m->down_sql : m->up_sql;
	step->len = is_down ? m->down_len : m->up_len;
	is_batch = plan_is_batch(step->sql, step->len);
	if (is_batch && !is_down && ctx->drv->exec_rows) {
		size_t n_bound;

		/* :batch_size is no SQL: bound as $1 before the parse */
		step->bound_sql = xstrndup(step->sql, step->len);
		if (batchsql_bind(&n_bound, step->bound_sql, step->len, err) <
		    0) {
			error_set_location(err, step->path, NULL, 0, 0);
			goto done;
		}
		step->sql = step->bound_sql;
		if (pre) {
			/* made of the text before the binding */
			script_release(&pre->script);
			pg_trees_release(&pre->trees);
			strata_error_release(&pre->err);
			pre = NULL;
			is_pre_dropped = true;
		}
	}
	if (pre) {
		step->script = pre->script;
		trees = pre->trees;
		split_rc = pre->rc;
		if (split_rc < 0)
			error_move(err, &pre->err);
		memset(&pre->script, 0, sizeof(pre->script));
		memset(&pre->trees, 0, sizeof(pre->trees));
	} else if (ctx->lint && ctx->drv->split_keep) {
		/* with the gate on, one parse serves the split and the linter
		 */
		split_rc = ctx->drv->split_keep(&step->script, step->sql,
		                                step->len, &trees, err);
	} else {
		split_rc = ctx->drv->split(&step->script, step->sql, step->len,
		                           err);
	}
	if (split_rc < 0) {
		error_set_location(err, step->path, NULL, 0, 0);
		goto done;
	}
	if (parse_directives(step, err) < 0 ||
	    (is_batch &&
	     check_batch(step, ctx, is_down, is_single_transaction, err) < 0) ||
	    check_step(step, ctx,
	               is_down ? m->is_down_no_transaction
	                       : m->is_no_transaction,
	               is_single_transaction, err) < 0 ||
	    (ctx->lint && lint_step(ctx->lint, ctx->db, step, &trees, err) < 0))
		goto done;
	p->n++;
	rc = 0;
done:
	/* the trees go now: memory does not grow with the plan */
	if (pre)
		pre->trees = trees;
	else if (is_pre_dropped)
		pre_in->trees = trees;
	else
		pg_trees_release(&trees);
	if (rc < 0) {
		script_release(&step->script);
		plan_step_release(step);
	}
	return rc;
}

void plan_reserve(struct plan *p, size_t n)
{
	if (p->alloc - p->n >= n)
		return;
	if (n > SIZE_MAX / sizeof(*p->steps) - p->n)
		BUG("a plan of more steps than memory holds");
	p->steps = xrealloc(p->steps, (p->n + n) * sizeof(*p->steps));
	p->alloc = p->n + n;
}

int plan_add(struct plan *p, const struct plan_ctx *ctx,
             const struct strata_migration *m, bool is_down,
             bool is_single_transaction, struct strata_error *err)
{
	return add_step(p, ctx, m, is_down, is_single_transaction, NULL, err);
}

/* ---- parsing ahead ------------------------------------------------------ */

#define MAX_SPLITTERS 4
/* how far ahead of the plan the threads may be: their trees wait */
#define SPLIT_AHEAD 32

/*
 * A splitting thread, and the trees it made that the plan is done with: it
 * frees them itself (freed by another thread, their memory was neither
 * reused nor cheap to free).
 */
struct splitter {
	struct presplit *ps;
	size_t id;
	pthread_t thread;
	struct pg_trees *garbage;
	size_t n_garbage, alloc_garbage;
};

struct presplit {
	pthread_mutex_t mu;
	pthread_cond_t cond; /* a result is done, or one was taken */
	const struct strata_driver *drv;
	const struct strata_migration *const *ms;
	/* ms[i]'s in results[i % SPLIT_AHEAD]: no more are ahead at once */
	struct split_result results[SPLIT_AHEAD];
	size_t n, next, taken;
	bool is_keep_trees, is_stopping;
	struct splitter splitters[MAX_SPLITTERS];
	size_t n_threads;
};

/* Frees `sp`'s garbage; called with ps->mu held, which it lets go of
 * meanwhile. */
static void take_out_garbage(struct splitter *sp)
{
	struct pg_trees *g = sp->garbage;
	size_t n = sp->n_garbage;

	if (!n)
		return;
	sp->garbage = NULL;
	sp->n_garbage = sp->alloc_garbage = 0;
	pthread_mutex_unlock(&sp->ps->mu);
	for (size_t i = 0; i < n; i++)
		pg_trees_release(&g[i]);
	free(g);
	pthread_mutex_lock(&sp->ps->mu);
}

static void *splitter_run(void *arg)
{
	struct splitter *sp = arg;
	struct presplit *ps = sp->ps;

	pthread_mutex_lock(&ps->mu);
	for (;;) {
		const struct strata_migration *m;
		struct split_result r = { .rc = 0, .worker = sp->id };
		size_t i;

		take_out_garbage(sp);
		if (ps->is_stopping)
			break;
		/* all split, or far enough ahead: wait for trees to free */
		if (ps->next >= ps->n || ps->next >= ps->taken + SPLIT_AHEAD) {
			pthread_cond_wait(&ps->cond, &ps->mu);
			continue;
		}
		i = ps->next++;
		m = ps->ms[i];
		pthread_mutex_unlock(&ps->mu);
		r.rc = ps->is_keep_trees
		               ? ps->drv->split_keep(&r.script, m->up_sql,
		                                     m->up_len, &r.trees,
		                                     &r.err)
		               : ps->drv->split(&r.script, m->up_sql, m->up_len,
		                                &r.err);
		r.is_done = true;
		pthread_mutex_lock(&ps->mu);
		ps->results[i % SPLIT_AHEAD] = r;
		pthread_cond_broadcast(&ps->cond);
	}
	pthread_mutex_unlock(&ps->mu);
	return NULL;
}

struct presplit *presplit_start(const struct plan_ctx *ctx,
                                const struct strata_migration *const *ms,
                                size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct presplit *ps;
	size_t want;

	/* a few files are parsed as fast here */
	if (cpus < 2 || n < 8 || !(ctx->drv->caps & DRV_SPLIT_THREADS))
		return NULL;
	want = (size_t)cpus < MAX_SPLITTERS ? (size_t)cpus : MAX_SPLITTERS;
	ps = xcalloc(1, sizeof(*ps));
	pthread_mutex_init(&ps->mu, NULL);
	pthread_cond_init(&ps->cond, NULL);
	ps->ms = ms;
	ps->n = n;
	ps->drv = ctx->drv;
	ps->is_keep_trees = ctx->lint && ctx->drv->split_keep;
	for (size_t t = 0; t < want; t++) {
		struct splitter *sp = &ps->splitters[ps->n_threads];

		sp->ps = ps;
		sp->id = ps->n_threads;
		if (!cancel_thread_create(&sp->thread, splitter_run, sp))
			ps->n_threads++;
	}
	if (!ps->n_threads) {
		presplit_stop(ps);
		return NULL;
	}
	return ps;
}

int plan_add_next(struct plan *p, const struct plan_ctx *ctx,
                  struct presplit *ps, size_t i,
                  const struct strata_migration *m, bool is_single_transaction,
                  struct strata_error *err)
{
	struct split_result r;
	struct splitter *sp;
	int rc;

	if (!ps)
		return plan_add(p, ctx, m, false, is_single_transaction, err);
	pthread_mutex_lock(&ps->mu);
	while (!ps->results[i % SPLIT_AHEAD].is_done)
		pthread_cond_wait(&ps->cond, &ps->mu);
	r = ps->results[i % SPLIT_AHEAD];
	memset(&ps->results[i % SPLIT_AHEAD], 0, sizeof(r));
	ps->taken = i + 1;
	pthread_cond_broadcast(&ps->cond);
	pthread_mutex_unlock(&ps->mu);
	rc = add_step(p, ctx, m, false, is_single_transaction, &r, err);
	/* the trees back to the thread that made them */
	sp = &ps->splitters[r.worker];
	pthread_mutex_lock(&ps->mu);
	XGROW(sp->garbage, sp->alloc_garbage, sp->n_garbage + 1);
	sp->garbage[sp->n_garbage++] = r.trees;
	pthread_cond_broadcast(&ps->cond);
	pthread_mutex_unlock(&ps->mu);
	return rc;
}

void presplit_stop(struct presplit *ps)
{
	if (!ps)
		return;
	pthread_mutex_lock(&ps->mu);
	ps->is_stopping = true;
	pthread_cond_broadcast(&ps->cond);
	pthread_mutex_unlock(&ps->mu);
	for (size_t t = 0; t < ps->n_threads; t++) {
		struct splitter *sp = &ps->splitters[t];

		pthread_join(sp->thread, NULL);
		for (size_t g = 0; g < sp->n_garbage; g++)
			pg_trees_release(&sp->garbage[g]);
		free(sp->garbage);
	}
	/* what was made ahead and not taken */
	for (size_t i = 0; i < SPLIT_AHEAD; i++) {
		script_release(&ps->results[i].script);
		pg_trees_release(&ps->results[i].trees);
		strata_error_release(&ps->results[i].err);
	}
	pthread_mutex_destroy(&ps->mu);
	pthread_cond_destroy(&ps->cond);
	free(ps);
}

void plan_step_release(struct plan_step *step)
{
	free(step->bound_sql);
	free(step->batch.total);
	step->bound_sql = step->batch.total = NULL;
}

void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		script_release(&p->steps[i].script);
		plan_step_release(&p->steps[i]);
	}
	free(p->steps);
	memset(p, 0, sizeof(*p));
}

void plan_locate_error(const struct plan_step *step, struct strata_error *err)
{
	const struct strata_script *s = &step->script;
	size_t off;

	if (err->statement > 0 && (size_t)err->statement <= s->n) {
		const struct strata_stmt *st = &s->stmts[err->statement - 1];

		off = err->position > 0
		              ? st->offset + text_char_to_byte(
		                                     step->sql + st->offset,
		                                     st->len, err->position)
		              : st->token_offset;
	} else if (err->position > 0) {
		off = text_char_to_byte(step->sql, step->len, err->position);
		for (size_t i = 0; i < s->n; i++)
			if (off >= s->stmts[i].offset &&
			    off < s->stmts[i].offset + s->stmts[i].len)
				err->statement = (int)i + 1;
	} else {
		error_set_location(err, step->path, NULL, 0, 0);
		return;
	}
	error_set_location(err, step->path, step->sql, step->len, off);
}
