/*
 * Building a batch (see batch.h): items in order, their SQL and parameters
 * copied into the batch's arena so that the builder's buffers may go.
 */
#include "drivers/batch.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "drivers/driver.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static struct batch_item *add(struct batch *b, enum batch_kind kind)
{
	struct batch_item *it;

	XGROW(b->items, b->alloc, b->n + 1);
	it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	return it;
}

void batch_add_begin(struct batch *b)
{
	add(b, BATCH_BEGIN);
}

void batch_add_commit(struct batch *b)
{
	add(b, BATCH_COMMIT);
}

void batch_add_timeouts(struct batch *b, int64_t lock_ms, int64_t statement_ms,
                        bool is_local)
{
	struct batch_item *it = add(b, BATCH_TIMEOUTS);

	it->lock_ms = lock_ms;
	it->statement_ms = statement_ms;
	it->is_local = is_local;
}

void batch_add_sql(struct batch *b, const char *sql, size_t n,
                   const struct db_value *params)
{
	struct batch_item *it = add(b, BATCH_SQL);

	it->sql = arena_strdup(&b->mem, sql);
	it->n = n;
	it->params = arena_alloc(&b->mem, (n ? n : 1) * sizeof(*it->params));
	for (size_t i = 0; i < n; i++) {
		struct db_value *v = &it->params[i];

		*v = params[i];
		if (v->is_borrowed)
			continue;
		if (v->type == DBV_TEXT)
			v->s = arena_strdup(&b->mem, v->s);
		else if (v->type == DBV_BLOB)
			v->blob = memcpy(
			        arena_alloc(&b->mem, v->len ? v->len : 1),
			        v->blob, v->len);
	}
}

void batch_mark_recurring(struct batch *b)
{
	if (!b->n || b->items[b->n - 1].kind != BATCH_SQL)
		BUG("no statement to mark");
	b->items[b->n - 1].is_recurring = true;
}

void batch_mark_step(struct batch *b)
{
	if (!b->n || b->items[b->n - 1].kind != BATCH_TIMEOUTS ||
	    !b->items[b->n - 1].is_local)
		BUG("no transaction's timeouts to mark");
	b->items[b->n - 1].is_marking = true;
}

void batch_expect_row(struct batch *b, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	if (!b->n || b->items[b->n - 1].kind != BATCH_SQL)
		BUG("batch_expect_row() after another item than SQL");
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	b->items[b->n - 1].no_row = arena_strdup(&b->mem, sb.buf);
	sbuf_release(&sb);
}

void batch_return_int(struct batch *b, int64_t *out)
{
	if (!b->n || b->items[b->n - 1].kind != BATCH_SQL)
		BUG("batch_return_int() after another item than SQL");
	b->items[b->n - 1].out_int = out;
}

void batch_add_script(struct batch *b, const struct strata_script *s,
                      bool is_one_per_call)
{
	struct batch_item *it = add(b, BATCH_SCRIPT);

	it->script = s;
	it->is_one_per_call = is_one_per_call;
}

void batch_add_lock_check(struct batch *b)
{
	add(b, BATCH_LOCK_CHECK);
}

bool batch_has_script(const struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].kind == BATCH_SCRIPT)
			return true;
	return false;
}

void batch_reset(struct batch *b)
{
	free(b->items);
	arena_release(&b->mem);
	memset(b, 0, sizeof(*b));
}

void batch_release(struct batch *b)
{
	batch_reset(b);
}
