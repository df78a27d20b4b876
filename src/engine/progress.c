/*
 * Progress of a running migration: which statement of how many runs, for
 * how long, and who blocks it, as STRATA_EVENT_PROGRESS; and the warning
 * of warn_after, once per migration, naming the statement it is on. The
 * drivers only say what happens (a statement starts, a blocker was seen,
 * time passes); the pace of events and the warning are decided here, and
 * how any of it is shown is the caller's business.
 */
#include "engine/source.h"
#include "engine/progress.h"
#include "util/sbuf.h"
#include "util/text.h"
#include "sql/split.h"
#include "drivers/driver.h"
#include "engine/db.h"
#include "engine/plan.h"

#include <inttypes.h>

#define NS_PER_MS          INT64_C(1000000)
#define DEFAULT_WARN_AFTER STRATA_DEFAULT_WARN_AFTER
#define TEXT_CHARS         80

void progress_reset(struct progress *p)
{
	p->m = NULL;
}

static void holder_clear(struct progress *p)
{
	p->holder_pid = 0;
	p->holder_user[0] = p->holder_state[0] = p->holder_application[0] =
	        '\0';
}

void progress_start(struct strata_db *db, const struct plan_step *step,
                    bool is_down)
{
	struct progress *p = &db->progress;
	double w = step->warn_after >= 0 ? step->warn_after
	           : db->opts.warn_after ? db->opts.warn_after
	                                 : DEFAULT_WARN_AFTER;
	int64_t now = text_monotonic_ns();

	/* a retry (a lock timeout) goes on with the clock of the first try:
	 * the wait is the migration's */
	if (p->m != step->m || p->is_down != is_down) {
		p->m = step->m;
		p->is_down = is_down;
		p->started_ns = now;
		p->is_warned = false;
		p->since_pid = 0;
	}
	p->script = &step->script;
	p->text_sql = step->bound_sql && !is_down ? step->m->up_sql
	                                          : step->script.sql;
	p->is_hide_queries = db->opts.is_hide_queries;
	p->warn_after_ns = w > 0 ? (int64_t)(w * 1e9) : 0;
	p->reported_ns = now;
	p->at = 0;
	p->first = 0;
	p->text[0] = p->phase[0] = '\0';
	p->is_batch = step->mode == MODE_BATCH;
	holder_clear(p);
	db->conn->progress = p;
}

void progress_stop(struct strata_db *db, bool is_success)
{
	db->conn->progress = NULL;
	if (is_success)
		progress_reset(&db->progress);
}

/* The start of statement k on one line: white space and control
 * characters become one space, at most TEXT_CHARS characters, never half
 * of one. */
static void set_text(struct progress *p, size_t k)
{
	const struct strata_stmt *st = &p->script->stmts[k - 1];
	const char *s = p->text_sql + st->token_offset;
	const char *end = p->text_sql + st->offset + st->len;
	size_t n = 0, chars = 0;
	bool is_gap = false, is_cut = false;

	while (s < end) {
		size_t len = 1;

		if ((unsigned char)*s <= ' ' || *s == 0x7f) {
			is_gap = n > 0;
			s++;
			continue;
		}
		while (s + len < end && ((unsigned char)s[len] & 0xc0) == 0x80)
			len++;
		if (chars + is_gap >= TEXT_CHARS ||
		    n + is_gap + len + 4 > sizeof(p->text)) {
			is_cut = true;
			break;
		}
		if (is_gap) {
			p->text[n++] = ' ';
			chars++;
			is_gap = false;
		}
		memcpy(p->text + n, s, len);
		n += len;
		chars++;
		s += len;
	}
	if (is_cut) {
		memcpy(p->text + n, "...", 3);
		n += 3;
	}
	p->text[n] = '\0';
}

static void fill(struct strata_event *ev, const struct progress *p, int64_t now)
{
	ev->migration = p->m;
	ev->version = p->m->version;
	ev->description = p->m->description;
	ev->duration_ns = now - p->started_ns;
	ev->statement = p->at;
	ev->n_statements = p->script->n;
	ev->statement_text = p->is_hide_queries || !p->text[0] ? NULL : p->text;
	ev->is_down = p->is_down;
	if (p->phase[0]) {
		ev->phase = p->phase;
		ev->percent = p->percent;
	}
	if (!p->holder_pid)
		return;
	ev->holder_pid = p->holder_pid;
	ev->holder_user = p->holder_user;
	ev->holder_state = p->holder_state;
	ev->holder_application = p->holder_application;
	ev->waited_seconds = (double)(now - p->holder_since_ns) / 1e9;
}

/* "60 s", "1.5 min", "2 h": a threshold as it was most likely given. */
static void add_seconds(struct sbuf *sb, double s)
{
	if (s < 60)
		sbuf_addf(sb, "%g s", s);
	else if (s < 3600)
		sbuf_addf(sb, "%g min", s / 60);
	else
		sbuf_addf(sb, "%g h", s / 3600);
}

static bool is_warn_due(const struct progress *p, int64_t now)
{
	return !p->is_warned && p->warn_after_ns &&
	       now - p->started_ns >= p->warn_after_ns;
}

static void warn_if_due(struct strata_conn *c, struct progress *p, int64_t now)
{
	struct strata_event ev = { .kind = STRATA_EVENT_WARNING };
	struct sbuf msg = SBUF_INIT;

	if (!is_warn_due(p, now))
		return;
	p->is_warned = true;
	fill(&ev, p, now);
	sbuf_addf(&msg, "%smigration %s (%s) has been running for over ",
	          p->is_down ? "the revert of " : "", migration_version(p->m),
	          p->m->description);
	add_seconds(&msg, (double)p->warn_after_ns / 1e9);
	if (p->at)
		sbuf_addf(&msg, ", on statement %zu of %zu", p->at,
		          p->script->n);
	if (ev.phase && ev.percent >= 0)
		sbuf_addf(&msg, " (%s, %d%%)", ev.phase, ev.percent);
	else if (ev.phase)
		sbuf_addf(&msg, " (%s)", ev.phase);
	if (ev.holder_pid)
		sbuf_addf(&msg, ", waiting on pid %d (user '%s', %s)",
		          ev.holder_pid, ev.holder_user,
		          *ev.holder_state ? ev.holder_state : "state unknown");
	if (ev.statement_text)
		sbuf_addf(&msg, ": %s", ev.statement_text);
	ev.message = msg.buf;
	driver_emit(c, &ev);
	sbuf_release(&msg);
}

static void report(struct strata_conn *c, struct progress *p, int64_t now)
{
	struct strata_event ev = { .kind = STRATA_EVENT_PROGRESS };

	fill(&ev, p, now);
	p->reported_ns = now;
	driver_emit(c, &ev);
	warn_if_due(c, p, now);
}

void progress_statement(struct strata_conn *c, size_t k)
{
	struct progress *p = c->progress;

	if (p && k)
		k += p->first;
	if (!p || k == p->at || k > p->script->n)
		return;
	p->at = k;
	p->text[0] = p->phase[0] = '\0';
	if (k)
		set_text(p, k);
	/* the statement before may have been the blocked one */
	holder_clear(p);
	report(c, p, text_monotonic_ns());
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void progress_holder(struct strata_conn *c, int pid, const char *user,
                     const char *state, const char *application, double waited)
{
	struct progress *p = c->progress;
	int64_t now = text_monotonic_ns();
	bool is_new;

	if (!p)
		return;
	is_new = pid != p->holder_pid;
	if (!pid) {
		holder_clear(p);
	} else {
		int64_t since =
		        waited >= 0 ? now - (int64_t)(waited * 1e9) : now;

		/* the one seen in an earlier attempt keeps its start */
		if (pid != p->since_pid) {
			p->since_pid = pid;
			p->holder_since_ns = since;
		} else if (since < p->holder_since_ns) {
			p->holder_since_ns = since;
		}
		p->holder_pid = pid;
		copy(p->holder_user, sizeof(p->holder_user), user);
		copy(p->holder_state, sizeof(p->holder_state), state);
		copy(p->holder_application, sizeof(p->holder_application),
		     application);
	}
	if (is_new)
		report(c, p, now);
}

void progress_phase(struct strata_conn *c, const char *phase, int percent)
{
	struct progress *p = c->progress;
	bool is_new;

	if (!p || p->is_batch)
		return;
	is_new = strcmp(p->phase, phase ? phase : "") != 0;
	copy(p->phase, sizeof(p->phase), phase);
	p->percent = percent;
	if (is_new)
		report(c, p, text_monotonic_ns());
}

void progress_batch(struct strata_conn *c, const char *phase, int percent)
{
	struct progress *p = c->progress;

	if (!p)
		return;
	copy(p->phase, sizeof(p->phase), phase);
	p->percent = percent;
	/* quick batches: at most one event a tick */
	progress_tick(c);
}

void progress_tick(struct strata_conn *c)
{
	struct progress *p = c->progress;
	int64_t now;

	if (!p)
		return;
	now = text_monotonic_ns();
	/* the warning comes with the progress it speaks of */
	if (now - p->reported_ns >= PROGRESS_TICK_MS * NS_PER_MS ||
	    is_warn_due(p, now))
		report(c, p, now);
}

int64_t progress_due_ns(const struct strata_conn *c)
{
	const struct progress *p = c->progress;
	int64_t due;

	if (!p)
		return INT64_MAX;
	due = p->reported_ns + PROGRESS_TICK_MS * NS_PER_MS;
	if (!p->is_warned && p->warn_after_ns &&
	    p->started_ns + p->warn_after_ns < due)
		due = p->started_ns + p->warn_after_ns;
	return due;
}
