/*
 * strata_db_verify(): the integrity of a live database, checked after a
 * deploy (design.md, strata verify). This file holds the report and the
 * budget; the checks are the dialect's, in verify_pg.c and
 * verify_sqlite.c. Nothing here writes to the database, and a check that
 * could not run says so as a finding: the report is never a silent "all
 * fine" for what was not looked at.
 */
#include "engine/verify.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/text.h"
#include "util/xalloc.h"

double verify_left(const struct verify *v)
{
	return v->budget - (double)(text_monotonic_ns() - v->start_ns) / 1e9;
}

void verify_add(struct verify *v, const char *check, enum strata_severity sev,
                const char *object, const char *fix, const char *fmt, ...)
{
	struct strata_db_report *r = v->out;
	struct strata_db_finding *f;
	struct sbuf msg = SBUF_INIT;
	va_list ap;

	if (r->n_findings == v->alloc) {
		v->alloc = v->alloc ? 2 * v->alloc : 16;
		r->findings =
		        xrealloc(r->findings, v->alloc * sizeof(*r->findings));
	}
	va_start(ap, fmt);
	sbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	f = &r->findings[r->n_findings++];
	f->check = xstrdup(check);
	f->severity = sev;
	f->object = xstrdup(object ? object : "");
	f->fix = fix ? xstrdup(fix) : NULL;
	f->message = sbuf_detach(&msg, NULL);
	if (sev == STRATA_SEVERITY_ERROR)
		r->n_errors++;
	else
		r->n_warnings++;
}

void verify_done(struct verify *v)
{
	v->out->n_checks++;
}

/* "30s", "1.5s", "250ms": the budget as it was probably written. */
static void add_budget(struct sbuf *sb, double s)
{
	if (s < 1)
		sbuf_addf(sb, "%.0fms", s * 1000);
	else
		sbuf_addf(sb, "%gs", s);
}

void verify_not_run(struct verify *v, const char *check, size_t n_left,
                    const char *objects)
{
	struct sbuf b = SBUF_INIT;

	add_budget(&b, v->budget);
	v->is_out_of_time = true;
	v->out->n_not_run++;
	if (n_left)
		verify_add(
		        v, "not-run", STRATA_SEVERITY_WARNING, check, NULL,
		        "check '%s' did not run on %zu %s: the %s budget ran out",
		        check, n_left, objects, b.buf);
	else
		verify_add(v, "not-run", STRATA_SEVERITY_WARNING, check, NULL,
		           "check '%s' did not run: the %s budget ran out",
		           check, b.buf);
	sbuf_release(&b);
}

const struct table_name *verify_own_table(const struct verify *v, int i)
{
	const struct strata_db *db = v->db;

	switch (i) {
	case 0:
		return &db->hist.own;
	case 1:
		return &db->audit;
	case 2:
		return db->hist.tool.name ? &db->hist.tool : NULL;
	default:
		return NULL;
	}
}

int strata_db_verify(struct strata_db_report *out, struct strata_db *db,
                     const struct strata_db_verify_options *opts,
                     struct strata_error *err)
{
	struct verify v = { .db = db, .out = out };
	int rc;

	memset(out, 0, sizeof(*out));
	if (OPTIONS_CHECK(opts, STRATA_DB_VERIFY_OPTIONS_VERSION,
	                  "strata_db_verify_options", err) < 0)
		return -1;
	v.budget = opts && opts->budget > 0 ? opts->budget
	                                    : STRATA_DEFAULT_VERIFY_BUDGET;
	v.is_deep = opts && opts->is_deep;
	v.start_ns = text_monotonic_ns();
	/* the dialect's catalog: PostgreSQL's, else SQLite's */
	if (db->drv->caps & DRV_PG_SQL)
		rc = verify_pg(&v, err);
	else
		rc = verify_sqlite(&v, err);
	out->seconds = (double)(text_monotonic_ns() - v.start_ns) / 1e9;
	if (rc < 0)
		strata_db_report_release(out);
	return rc;
}

void strata_db_report_release(struct strata_db_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_findings; i++) {
		struct strata_db_finding *f = &r->findings[i];

		free((char *)f->check);
		free((char *)f->object);
		free((char *)f->message);
		free((char *)f->fix);
	}
	free(r->findings);
	memset(r, 0, sizeof(*r));
}
