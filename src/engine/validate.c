/*
 * Validation that reports every problem at once (design.md, Commands), where
 * `run` stops at the first: the source, each file's SQL through the same
 * plan checks `run` makes, and the history against the source.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/error.h"
#include "drivers/driver.h"
#include "engine/source.h"
#include "engine/db.h"
#include "engine/history.h"
#include "engine/plan.h"

#include <inttypes.h>

static void add(struct strata_problems *out, struct strata_error *e)
{
	XGROW(out->items, out->alloc, out->count + 1);
	out->items[out->count++] = *e;
	memset(e, 0, sizeof(*e));
}

static void check_sql(struct strata_problems *out, const struct plan_ctx *ctx,
                      const struct strata_source *src)
{
	for (size_t i = 0; i < strata_source_count(src); i++) {
		const struct strata_migration *m = strata_source_at(src, i);

		for (int is_down = 0; is_down <= !!m->down_path; is_down++) {
			struct strata_error e = STRATA_ERROR_INIT;
			struct plan p = { 0 };

			if (plan_add(&p, ctx, m, is_down, false, &e) < 0)
				add(out, &e);
			plan_release(&p);
		}
	}
}

static int check_history(struct strata_problems *out, struct strata_db *db,
                         const struct strata_source *src,
                         const struct strata_validate_options *opts,
                         struct strata_error *err)
{
	struct history h = { 0 };
	const struct history_row *last;
	int64_t newest;
	const char *newest_text;
	char buf[24];

	if (db_bind_layout(db, src, err) < 0 ||
	    history_read(db->conn, &db->hist, &h, err) < 0)
		return -1;
	for (size_t i = 0; i < h.n; i++) {
		struct strata_error e = STRATA_ERROR_INIT;

		if (history_check_row(&h.rows[i], src, false, &e) < 0)
			add(out, &e);
	}
	last = history_newest(&h);
	newest = last ? last->version : 0;
	newest_text = last ? history_row_version(
	                             last, strata_source_find(src, newest), buf)
	                   : "0";
	for (size_t i = 0; i < strata_source_count(src); i++) {
		const struct strata_migration *m = strata_source_at(src, i);
		struct strata_error e = STRATA_ERROR_INIT;

		if (m->version >= newest || history_find(&h, m->version))
			continue;
		if (!opts->is_strict_order) {
			db_emit_warning(
			        db, m,
			        "migration %s is pending below the newest applied one (%s): it will be applied out of order",
			        migration_version(m), newest_text);
			continue;
		}
		strata_error_set(
		        &e, STRATA_EVALIDATE,
		        "migration %s is older than the newest applied one (%s)",
		        migration_version(m), newest_text);
		e.file = xstrdup(m->up_path);
		strata_error_hint(&e, "Give it a version above %s.",
		                  newest_text);
		add(out, &e);
	}
	history_release(&h);
	return 0;
}

int strata_validate(struct strata_problems *out, struct strata_db *db,
                    const char *dir, const struct strata_validate_options *opts,
                    struct strata_error *err)
{
	static const struct strata_validate_options defaults =
	        STRATA_VALIDATE_OPTIONS_INIT;
	struct strata_source_options so = STRATA_SOURCE_OPTIONS_INIT;
	struct strata_source *src = NULL;
	struct plan_ctx ctx;
	int rc = 0;

	if (!opts)
		opts = &defaults;
	memset(out, 0, sizeof(*out));
	if (OPTIONS_CHECK(opts, STRATA_VALIDATE_OPTIONS_VERSION,
	                  "strata_validate_options", err) < 0)
		return -1;
	so.max_file_size = opts->max_file_size;
	so.layout = opts->layout;
	so.placeholders = opts->placeholders;
	so.n_placeholders = opts->n_placeholders;
	so.problems = out;
	so.is_lenient = true;
	/* leniently loaded, so only an unreadable directory fails here */
	if (strata_source_load(&src, dir, &so, err) < 0)
		return -1;
	plan_ctx_init(&ctx, db);
	ctx.layout = strata_source_layout(src);
	check_sql(out, &ctx, src);
	if (db)
		rc = check_history(out, db, src, opts, err);
	strata_source_free(src);
	return rc;
}

int strata_validate_source(struct strata_problems *out, struct strata_db *db,
                           const struct strata_source *src,
                           const struct strata_validate_options *opts,
                           struct strata_error *err)
{
	static const struct strata_validate_options defaults =
	        STRATA_VALIDATE_OPTIONS_INIT;
	struct plan_ctx ctx;

	if (!opts)
		opts = &defaults;
	memset(out, 0, sizeof(*out));
	if (OPTIONS_CHECK(opts, STRATA_VALIDATE_OPTIONS_VERSION,
	                  "strata_validate_options", err) < 0)
		return -1;
	plan_ctx_init(&ctx, db);
	ctx.layout = strata_source_layout(src);
	check_sql(out, &ctx, src);
	return db ? check_history(out, db, src, opts, err) : 0;
}

void strata_problems_release(struct strata_problems *p)
{
	for (size_t i = 0; i < p->count; i++)
		strata_error_release(&p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}
