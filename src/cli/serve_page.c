/*
 * strata serve's page (GET /): the state at a glance, what is not applied,
 * a chart of how long migrations took over time, and the audit trail. One
 * document of HTML with inline CSS and SVG: no script and nothing fetched
 * from elsewhere, so it works offline, behind a strict proxy and under a
 * Content-Security-Policy of default-src 'none'. Every text from the
 * database or the files (descriptions, errors, users, hosts) may hold
 * markup or control characters: it goes through html() and nothing else.
 */
#include "serve.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* The audit trail's newest rows shown; /history.json has every one. */
#define PAGE_AUDIT_ROWS 500

/* Untrusted text as HTML text or an attribute value: markup escaped,
 * control characters and bytes that are not UTF-8 made visible. */
static void html(FILE *fp, const char *s)
{
	char *safe = strata_printable(s ? s : "", 0);

	for (const char *p = safe ? safe : s ? s : ""; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		case '\'':
			fputs("&#39;", fp);
			break;
		default:
			fputc(*p, fp);
		}
	}
	free(safe);
}

static const char style[] =
        "*{box-sizing:border-box}"
        "body{margin:0;padding:1rem;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2430;background:#f5f6f8}"
        "main{max-width:72rem;margin:0 auto}"
        "h1{font-size:1.2rem;margin:0 0 .75rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}"
        ".state{border-radius:.5rem;padding:1rem 1.25rem;color:#fff;font-size:1.35rem;font-weight:600}"
        ".state small{display:block;font-size:.85rem;font-weight:400;opacity:.9;overflow-wrap:anywhere}"
        ".ok{background:#1f7a3f}.warning{background:#a15c00}.error{background:#b3261e}"
        ".meta{color:#5a6472;font-size:.85rem;margin:.5rem 0 0;overflow-wrap:anywhere}"
        ".scroll{overflow-x:auto;background:#fff;border:1px solid #dde1e6;border-radius:.5rem}"
        "table{border-collapse:collapse;width:100%;font-size:.88rem}"
        "th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #eceef1;vertical-align:top}"
        "th{background:#f0f2f5;font-weight:600;white-space:nowrap}"
        "td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
        "td.nowrap{white-space:nowrap}"
        "tr.detail td{color:#6b2a24;font-family:ui-monospace,monospace;font-size:.8rem;white-space:pre-wrap;overflow-wrap:anywhere}"
        ".success{color:#1f7a3f;font-weight:600}.failure{color:#b3261e;font-weight:600}"
        ".chart{background:#fff;border:1px solid #dde1e6;border-radius:.5rem;padding:.5rem;overflow-x:auto}"
        ".chart svg{display:block;width:100%;min-width:28rem;max-width:44rem;height:auto;margin:0 auto}"
        ".empty{color:#5a6472;font-style:italic}"
        /* a phone: each row a card, each cell labelled */
        "@media (max-width:40rem){.cards thead{display:none}"
        ".cards tr{display:block;padding:.35rem 0;border-bottom:1px solid #dde1e6}"
        ".cards td{display:flex;gap:.75rem;border:0;padding:.1rem .6rem;text-align:left;white-space:normal;overflow-wrap:anywhere;min-width:0}"
        ".cards td::before{content:attr(data-label);flex:0 0 6rem;color:#5a6472;font-weight:600}"
        ".cards td:empty{display:none}.cards tr.detail td::before{content:none}}"
        "@media (prefers-color-scheme:dark){body{background:#14171c;color:#e3e6ea}"
        ".scroll,.chart{background:#1c2027;border-color:#2c323b}th{background:#232830}"
        "th,td{border-color:#2a2f37}.meta,.empty{color:#9aa3ae}tr.detail td{color:#f2b8b5}"
        ".chart text{fill:#c4cad2}.chart line{stroke:#3a414b}}";

static void head(FILE *fp, const struct serve_read *r)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	      "<title>strata: ",
	      fp);
	html(fp, r->url);
	fprintf(fp, "</title><style>%s</style></head><body><main>\n", style);
}

static void plural(FILE *fp, size_t n, const char *what)
{
	fprintf(fp, "%zu %s%s", n, what, n == 1 ? "" : "s");
}

/* The state at a glance: one coloured block, the counts under it. */
static void glance(FILE *fp, const struct serve_read *r)
{
	int code;
	const char *status = serve_health_status(r, &code);
	char when[32];

	fprintf(fp, "<h1>strata</h1>\n<div class=\"state %s\" id=\"state\">",
	        status);
	if (!r->is_ok) {
		fputs("Cannot read the migration state<small>", fp);
		html(fp, r->error);
		fputs("</small>", fp);
	} else if (r->st->n_failed || r->st->n_mismatch || r->st->n_missing) {
		fputs("History disagrees with the source<small>", fp);
		plural(fp, r->st->n_failed, "failed migration");
		fputs(", ", fp);
		plural(fp, r->st->n_mismatch, "changed migration");
		fputs(", ", fp);
		plural(fp, r->st->n_missing, "migration");
		fputs(" missing from the source</small>", fp);
	} else if (r->st->n_pending) {
		plural(fp, r->st->n_pending, "migration");
		fputs(" pending<small>", fp);
		plural(fp, r->st->n_applied, "migration");
		fputs(" applied</small>", fp);
	} else {
		fputs("Up to date<small>", fp);
		plural(fp, r->st->n_applied, "migration");
		fputs(" applied</small>", fp);
	}
	fputs("</div>\n<p class=\"meta\">", fp);
	html(fp, r->url);
	serve_format_time(when, sizeof(when), r->read_at);
	fprintf(fp, " &middot; %s &middot; read at %s &middot; strata %s</p>\n",
	        r->driver ? r->driver : "", when, STRATA_VERSION);
}

static void version_cell(FILE *fp, bool has, int64_t v)
{
	if (has)
		fprintf(fp,
		        "<td class=\"num\" data-label=\"Version\">%" PRId64
		        "</td>",
		        v);
	else
		fputs("<td></td>", fp);
}

/* Every migration that is not simply applied: pending, out of order,
 * failed, changed, missing. */
static void not_applied(FILE *fp, const struct strata_status *st)
{
	size_t n = 0;

	fputs("<h2>Not applied</h2>\n", fp);
	for (size_t i = 0; i < st->count; i++)
		n += st->entries[i].state != STRATA_STATE_APPLIED;
	if (!n) {
		fputs("<p class=\"empty\">Every migration of the source is applied.</p>\n",
		      fp);
		return;
	}
	fputs("<div class=\"scroll\"><table id=\"pending\" class=\"cards\"><thead><tr><th>Version</th><th>State</th><th>Description</th><th>File</th></tr></thead><tbody>\n",
	      fp);
	for (size_t i = 0; i < st->count; i++) {
		const struct strata_status_entry *e = &st->entries[i];

		if (e->state == STRATA_STATE_APPLIED)
			continue;
		fputs("<tr>", fp);
		fputs("<td class=\"num\" data-label=\"Version\">", fp);
		html(fp, e->version_text);
		fputs("</td>", fp);
		fprintf(fp,
		        "<td class=\"nowrap\" data-label=\"State\">%s</td><td data-label=\"Description\">",
		        strata_state_name(e->state));
		html(fp, e->description);
		fputs("</td><td data-label=\"File\">", fp);
		html(fp, e->migration ? e->migration->up_path : "");
		fputs("</td></tr>\n", fp);
	}
	fputs("</tbody></table></div>\n", fp);
}

/* ---- the chart: each apply's duration over time ------------------------- */

#define CW  600 /* the drawing's width and height, in its own units */
#define CH  260
#define CL  72 /* plot area: left, right, top, bottom edges */
#define CR  (CW - 16)
#define CT  16
#define CB  (CH - 40)
#define CAP 2000 /* the newest applies drawn */

struct point {
	double t, secs;
	const struct strata_audit_row *row;
};

static void tick_label(char *buf, size_t size, double secs)
{
	if (secs < 1)
		snprintf(buf, size, "%gms", secs * 1000);
	else if (secs < 60)
		snprintf(buf, size, "%gs", secs);
	else if (secs < 3600)
		snprintf(buf, size, "%gmin", secs / 60);
	else
		snprintf(buf, size, "%gh", secs / 3600);
}

static void date_label(char *buf, size_t size, double t)
{
	serve_format_time(buf, size, (int64_t)t * 1000);
	if (strlen(buf) >= 16) {
		buf[10] = ' ';
		buf[16] = '\0';
	}
}

static void chart_axes(FILE *fp, double lo, double hi, double t0, double t1)
{
	static const double ticks[] = { 0.0001, 0.001, 0.01, 0.1,  1,
		                        10,     60,    600,  3600, 36000 };
	char label[32], last[32];

	for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
		double y, l = log10(ticks[i]);

		if (l < lo - 1e-9 || l > hi + 1e-9)
			continue;
		y = CB - (l - lo) / (hi - lo) * (CB - CT);
		tick_label(label, sizeof(label), ticks[i]);
		fprintf(fp,
		        "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e6ea\"/>"
		        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\">%s</text>\n",
		        CL, CR, y, y, CL - 6, y, label);
	}
	date_label(label, sizeof(label), t0);
	fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"start\">%s</text>",
	        CL, CB + 20, label);
	/* the newest too, unless the same minute */
	date_label(last, sizeof(last), t1);
	if (strcmp(last, label))
		fprintf(fp,
		        "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>",
		        CR, CB + 20, last);
	fprintf(fp,
	        "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#9aa3ae\"/>"
	        "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#9aa3ae\"/>\n",
	        CL, CR, CB, CB, CL, CL, CT, CB);
}

static void chart_points(FILE *fp, const struct point *pts, size_t n, double lo,
                         double hi, double t0, double t1)
{
	char dur[32];

	for (size_t i = 0; i < n; i++) {
		const struct strata_audit_row *row = pts[i].row;
		bool ok = row->outcome && !strcmp(row->outcome, "success");
		double x = t1 > t0 ? CL + 8 +
		                             (pts[i].t - t0) / (t1 - t0) *
		                                     (CR - CL - 16)
		                   : (CL + CR) / 2.0;
		double l = log10(pts[i].secs);
		double y = CB - (l - lo) / (hi - lo) * (CB - CT);

		cli_format_duration(dur, sizeof(dur), row->duration_ns);
		fprintf(fp,
		        "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\" fill-opacity=\".8\"><title>",
		        x, y, ok ? "#2f6fd6" : "#b3261e");
		if (row->has_version)
			fprintf(fp, "%" PRId64 " ", row->version);
		html(fp, row->description);
		fprintf(fp, ": %s, %s</title></circle>\n", dur,
		        ok ? "success" : "failure");
	}
}

static void chart(FILE *fp, const struct strata_audit *a)
{
	struct point *pts = calloc(CAP, sizeof(*pts));
	double lo = INFINITY, hi = -INFINITY, t0 = INFINITY, t1 = -INFINITY;
	size_t n = 0;

	if (!pts)
		abort();
	fputs("<h2>Migration durations</h2>\n", fp);
	for (size_t i = a->count; i-- > 0 && n < CAP;) {
		const struct strata_audit_row *row = &a->rows[i];
		double t;

		if (!row->action || strcmp(row->action, "apply") ||
		    !serve_parse_time(&t, row->started_at))
			continue;
		pts[n].t = t;
		/* 0.1 ms at least: the log scale has no zero */
		pts[n].secs = fmax((double)row->duration_ns / 1e9, 0.0001);
		pts[n].row = row;
		lo = fmin(lo, log10(pts[n].secs));
		hi = fmax(hi, log10(pts[n].secs));
		t0 = fmin(t0, t);
		t1 = fmax(t1, t);
		n++;
	}
	if (!n) {
		fputs("<p class=\"empty\">No migration has been applied yet.</p>\n",
		      fp);
		free(pts);
		return;
	}
	/* whole decades around the data, at least two */
	lo = floor(lo);
	hi = fmax(ceil(hi), lo + 2);
	fprintf(fp,
	        "<div class=\"chart\"><svg id=\"durations\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"Duration of each apply over time (log scale)\" font-size=\"14\" fill=\"#5a6472\">\n",
	        CW, CH);
	chart_axes(fp, lo, hi, t0, t1);
	chart_points(fp, pts, n, lo, hi, t0, t1);
	fputs("</svg></div>\n", fp);
	free(pts);
}

/* ---- the audit trail ----------------------------------------------------- */

static void who(FILE *fp, const struct strata_audit_row *row)
{
	html(fp, row->os_user && *row->os_user ? row->os_user : "?");
	if (row->db_user && *row->db_user) {
		fputs(" (", fp);
		html(fp, row->db_user);
		fputs(")", fp);
	}
}

static void audit_row(FILE *fp, const struct strata_audit_row *row)
{
	bool ok = row->outcome && !strcmp(row->outcome, "success");
	char dur[32], when[32] = "";

	if (row->started_at && strlen(row->started_at) >= 19) {
		memcpy(when, row->started_at, 19);
		when[10] = ' ';
		when[19] = '\0';
	}
	cli_format_duration(dur, sizeof(dur), row->duration_ns);
	fputs("<tr><td class=\"nowrap\" data-label=\"Started\">", fp);
	html(fp, when);
	fputs("</td><td data-label=\"Action\">", fp);
	html(fp, row->action);
	fputs("</td>", fp);
	version_cell(fp, row->has_version, row->version);
	fputs("<td data-label=\"Description\">", fp);
	html(fp, row->description);
	fprintf(fp, "</td><td class=\"%s\" data-label=\"Outcome\">",
	        ok ? "success" : "failure");
	html(fp, row->outcome);
	fprintf(fp,
	        "</td><td class=\"num\" data-label=\"Duration\">%s</td><td data-label=\"By\">",
	        dur);
	who(fp, row);
	fputs("</td><td data-label=\"From\">", fp);
	html(fp, row->host);
	if (row->git_commit && *row->git_commit) {
		fputs(" @ ", fp);
		html(fp, row->git_commit);
	}
	fputs("</td><td data-label=\"SQLSTATE\">", fp);
	html(fp, row->sqlstate);
	fputs("</td></tr>\n", fp);
	if (row->error && *row->error) {
		fprintf(fp,
		        "<tr class=\"detail\"><td></td><td colspan=\"8\">%s",
		        ok ? "note: " : "error: ");
		html(fp, row->error);
		fputs("</td></tr>\n", fp);
	}
}

static void audit_table(FILE *fp, const struct strata_audit *a)
{
	size_t shown = 0;

	fputs("<h2>Audit trail</h2>\n", fp);
	if (!a->count) {
		fputs("<p class=\"empty\">No recorded actions.</p>\n", fp);
		return;
	}
	fputs("<div class=\"scroll\"><table id=\"audit\" class=\"cards\"><thead><tr><th>Started (UTC)</th><th>Action</th><th>Version</th><th>Description</th><th>Outcome</th><th>Duration</th><th>By</th><th>From</th><th>SQLSTATE</th></tr></thead><tbody>\n",
	      fp);
	for (size_t i = a->count; i-- > 0 && shown < PAGE_AUDIT_ROWS; shown++)
		audit_row(fp, &a->rows[i]);
	fputs("</tbody></table></div>\n", fp);
	if (a->count > shown)
		fprintf(fp,
		        "<p class=\"meta\">The newest %zu of %zu actions; <a href=\"history.json\">history.json</a> has them all.</p>\n",
		        shown, a->count);
}

void serve_page_write(FILE *fp, const struct serve_read *r)
{
	head(fp, r);
	glance(fp, r);
	if (r->is_ok) {
		not_applied(fp, r->st);
		chart(fp, r->audit);
		audit_table(fp, r->audit);
	}
	fputs("<p class=\"meta\"><a href=\"health\">health</a> &middot; <a href=\"metrics\">metrics</a> &middot; <a href=\"history.json\">history.json</a></p>\n</main></body></html>\n",
	      fp);
}
