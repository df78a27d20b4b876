/*
 * Running SQL on the PostgreSQL driver's session: a batch (batch.h) in one
 * pipeline where the protocol allows (a migration's transaction in one or
 * two round trips), a migration's statements one by one outside a
 * transaction, or, when the parser rejected the text, as one
 * simple-protocol query as sqlx does; and strata's own statements. While
 * a statement runs its phase and its blocker are sampled (pg_lock.c's
 * monitor session), and strata_cancel() is answered.
 */
#include "drivers/pg_conn.h"
#include "engine/progress.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/strmap.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/text.h"
#include "engine/url.h"
#include "sql/split.h"
#include "drivers/driver.h"

#include <errno.h>
#include <inttypes.h>
#include "drivers/pq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <time.h>

/* how often a statement still running is sent a cancel request again
 * after strata_cancel(): one sent while the server was still reading the
 * query is dropped by it */
#define CANCEL_AGAIN_NS (200 * INT64_C(1000000))

#define NS_PER_MS       INT64_C(1000000)
#define FIRST_SAMPLE_MS 100 /* when a waiting statement is first looked at */
#define SAMPLE_MS       500 /* how often after that */
#define NS_PER_S        INT64_C(1000000000)
/*
 * Many migrations sent ahead answer a result a statement, each flushed by
 * the server so that progress knows which statement runs; woken for every
 * one, the client spent more CPU being woken than reading. Input that
 * comes within COALESCE_NS of the last is read together: progress learns
 * of a statement's end at most this late, and a pipeline ends at most
 * this much later.
 */
#define COALESCE_NS    (2 * NS_PER_MS)
#define REPORT_AGAIN_S 10 /* how often the same blocker is reported */

/*
 * Who blocks the work session, by pg_blocking_pids() on the monitor
 * session (never the busy work session). The oldest transaction first: it is
 * the one to end. Remembered for the error of a lock timeout, and reported as
 * an event when new and then every REPORT_AGAIN_S. How long the statement has
 * waited is the server's pg_locks.waitstart (PostgreSQL 14); a blocker of
 * another role is seen without its state and query unless this role may read
 * every session's (pg_read_all_stats).
 */
static void sample_blocker(struct pg_conn *pc)
{
	static const char sql[] =
	        "SELECT " PGSESSION_COLUMNS
	        ", %s FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1::int)) ORDER BY a.xact_start NULLS LAST LIMIT 1";
	static const char waited_14[] =
	        "coalesce((SELECT extract(epoch FROM pg_catalog.clock_timestamp() - min(l.waitstart)) FROM pg_catalog.pg_locks l WHERE l.pid = $1::int AND NOT l.granted), -1)";
	char text[sizeof(sql) + sizeof(waited_14)];
	const char *state;
	bool is_hidden;
	char pid_text[16];
	const char *vals[] = { pid_text };
	struct strata_event ev = { .kind = STRATA_EVENT_BLOCKED };
	struct sbuf who = SBUF_INIT;
	PGresult *res;
	int64_t now = text_monotonic_ns();
	int pid;

	PGconn *mon = pglock_monitor_session(pc);

	if (!mon)
		return;
	snprintf(pid_text, sizeof(pid_text), "%d", PQbackendPID(pc->pg));
	snprintf(text, sizeof(text), sql,
	         pc->base.server_version >= 140000 ? waited_14 : "-1");
	res = PQexecParams(mon, text, 1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			progress_holder(&pc->base, 0, NULL, NULL, NULL, -1);
		PQclear(res);
		return;
	}
	pid = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	state = pgsession_state(res, 0);
	is_hidden = !pgsession_query_visible(res, 0);
	pgsession_describe(&who, res, 0, pc->base.is_hide_queries);
	free(pc->blocker);
	pc->blocker = xstrdup(who.buf);
	if (pid != pc->blocker_pid ||
	    now - pc->reported_ns >= (int64_t)REPORT_AGAIN_S * 1000000000) {
		ev.holder_pid = pid;
		ev.holder_user = PQgetvalue(res, 0, 1);
		ev.holder_state = state;
		ev.holder_application = PQgetvalue(res, 0, 2);
		ev.holder_query = pc->base.is_hide_queries || is_hidden
		                          ? NULL
		                          : PQgetvalue(res, 0, 5);
		ev.message = who.buf;
		driver_emit(&pc->base, &ev);
		pc->reported_ns = now;
	}
	pc->blocker_pid = pid;
	progress_holder(&pc->base, pid, PQgetvalue(res, 0, 1), state,
	                PQgetvalue(res, 0, 2),
	                strtod(PQgetvalue(res, 0, PGSESSION_NCOLUMNS), NULL));
	sbuf_release(&who);
	PQclear(res);
}

/*
 * What the server says of the work session's statement, for a migration's
 * progress: the phase of a CREATE INDEX, CLUSTER or VACUUM (FULL), and how
 * far it is (the counts of a "waiting for ..." phase are left over from
 * the phase before), from the views PostgreSQL 12 has. Best effort, like
 * sample_blocker(), on the monitor session.
 */
static void sample_phase(struct pg_conn *pc)
{
	static const char sql[] =
	        "SELECT phase, CASE WHEN phase LIKE 'waiting%' THEN -1 WHEN blocks_total > 0 THEN 100 * blocks_done / blocks_total WHEN tuples_total > 0 THEN 100 * tuples_done / tuples_total ELSE -1 END FROM pg_stat_progress_create_index WHERE pid = $1::int "
	        "UNION ALL SELECT command || ': ' || phase, CASE WHEN heap_blks_total > 0 THEN 100 * heap_blks_scanned / heap_blks_total ELSE -1 END FROM pg_stat_progress_cluster WHERE pid = $1::int "
	        "UNION ALL SELECT 'VACUUM: ' || phase, CASE WHEN heap_blks_total > 0 THEN 100 * heap_blks_scanned / heap_blks_total ELSE -1 END FROM pg_stat_progress_vacuum WHERE pid = $1::int LIMIT 1";
	char pid_text[16];
	const char *vals[] = { pid_text };
	PGresult *res;

	PGconn *mon = pc->base.progress ? pglock_monitor_session(pc) : NULL;

	if (!mon)
		return;
	snprintf(pid_text, sizeof(pid_text), "%d", PQbackendPID(pc->pg));
	res = PQexecParams(mon, sql, 1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		progress_phase(
		        &pc->base,
		        PQntuples(res) ? PQgetvalue(res, 0, 0) : NULL,
		        PQntuples(res)
		                ? (int)strtol(PQgetvalue(res, 0, 1), NULL, 10)
		                : -1);
	PQclear(res);
}

/*
 * Waits until a result can be read without blocking, looking at who
 * blocks the session while it waits, and ticking the progress of a
 * migration. Returns false when the connection broke (PQgetResult then
 * reports it).
 */
/* Sleeps until `until_ns` on text_monotonic_ns()'s clock; false when a
 * signal ended the sleep first (never restarted, whatever SA_RESTART
 * says), so that the caller looks at the cancel at once. */
static bool sleep_until(int64_t until_ns)
{
	struct timespec ts = { .tv_sec = until_ns / NS_PER_S,
		               .tv_nsec = until_ns % NS_PER_S };

	return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) !=
	       EINTR;
}

static bool await_result(struct pg_conn *pc)
{
	/*
	 * The first look early, so that even a short lock_timeout (a
	 * probe's) has named its blocker by the time it fires; a round trip
	 * later over a slow network, where no result can be back before
	 * that: else every quick migration would be looked at, round trips
	 * on the monitor session that its own wait for them would add to.
	 */
	int64_t first_ms = pc->lock_ms > 0 && pc->lock_ms < 2 * FIRST_SAMPLE_MS
	                           ? pc->lock_ms / 2 + 1
	                           : FIRST_SAMPLE_MS;
	int64_t start_ns = text_monotonic_ns();
	int64_t sample_ns = start_ns + first_ms * NS_PER_MS + pc->rtt_ns;
	/*
	 * Until then a look is only taken at a statement found waiting on a
	 * lock, asked every first_ms (cheap: one row, on the idle lock
	 * session), so that a wait that begins late is still named before a
	 * probe's lock_timeout fires; a slow statement that waits on nothing
	 * (a loaded server) opens no monitor session. After it, every look.
	 */
	int64_t gate_end_ns =
	        start_ns +
	        (first_ms * 2 > FIRST_SAMPLE_MS ? first_ms * 2
	                                        : FIRST_SAMPLE_MS) *
	                NS_PER_MS +
	        pc->rtt_ns;
	int64_t cancel_ns = 0;

	while (PQisBusy(pc->pg)) {
		struct pollfd p = { .fd = PQsocket(pc->pg), .events = POLLIN };
		int64_t now = text_monotonic_ns();
		int64_t due = progress_due_ns(&pc->base);
		int n;

		/* strata_cancel() may have run before this statement was
		 * sent, or while the server was still reading it; strata's
		 * own SQL (the record of what was cancelled) is let be */
		if (strata_is_cancelled() && pc->cancel.cancel &&
		    !pc->is_quiet && now >= cancel_ns) {
			pc->cancel.hook.fn(&pc->cancel.hook);
			cancel_ns = now + CANCEL_AGAIN_NS;
		}
		if (strata_is_cancelled() && due > cancel_ns)
			due = cancel_ns;
		if (due > sample_ns)
			due = sample_ns;
		if (pc->is_coalescing && pc->input_ns &&
		    pc->input_ns + COALESCE_NS > now) {
			int64_t until = pc->input_ns + COALESCE_NS;

			pc->input_ns = 0;
			if (until > due)
				until = due;
			if (until > now && !sleep_until(until))
				continue;
			now = text_monotonic_ns();
		}
		n = poll(&p, 1,
		         due > now ? (int)((due - now) / NS_PER_MS) + 1 : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && !PQconsumeInput(pc->pg)))
			return false;
		now = text_monotonic_ns();
		if (n > 0)
			pc->input_ns = now;
		if (now >= sample_ns) {
			bool is_gated = now < gate_end_ns;
			bool is_look = !is_gated || pglock_work_may_wait(pc);

			pglock_announce(pc, false);
			if (is_look) {
				sample_blocker(pc);
				sample_phase(pc);
				gate_end_ns = 0;
				sample_ns = now + SAMPLE_MS * NS_PER_MS;
			} else {
				sample_ns = now + first_ms * NS_PER_MS;
				if (sample_ns > gate_end_ns)
					sample_ns = gate_end_ns;
			}
		}
		progress_tick(&pc->base);
	}
	return true;
}

static void start_watch(struct pg_conn *pc)
{
	free(pc->blocker);
	pc->blocker = NULL;
	pc->blocker_pid = 0;
	pc->reported_ns = 0;
}

/* A lock timeout or deadlock names the session that was in the way. */
static void add_blocker(struct pg_conn *pc, struct strata_error *err)
{
	char *old;

	if (!err || !pc->blocker ||
	    (strcmp(err->sqlstate, "55P03") && strcmp(err->sqlstate, "40P01")))
		return;
	old = err->detail;
	err->detail = xstrfmt(
	        "%s%sBlocked by %s%s", old ? old : "", old ? " " : "",
	        pc->blocker,
	        strchr(".;", pc->blocker[strlen(pc->blocker) - 1]) ? "" : ".");
	free(old);
}

/* The end of a watched statement: its error (`failed`, or the connection
 * lost) with the blocker seen, if any. */
static int end_watched(struct pg_conn *pc, PGresult *failed,
                       struct strata_error *err)
{
	int rc = 0;

	if (failed || PQstatus(pc->pg) == CONNECTION_BAD)
		rc = pgsession_error(err, pc->pg, failed);
	PQclear(failed);
	if (rc < 0)
		add_blocker(pc, err);
	return rc;
}

/* pgsession_run() for a migration's statements: blockers watched. */
static int run_watched(struct pg_conn *pc, const char *sql,
                       struct strata_error *err)
{
	PGresult *res, *failed = NULL;

	if (!PQsendQuery(pc->pg, sql))
		return pgsession_error(err, pc->pg, NULL);
	while (await_result(pc) && (res = PQgetResult(pc->pg))) {
		if (!failed && !pgsession_result_ok(pc->pg, res)) {
			failed = res;
			continue;
		}
		PQclear(res);
	}
	/* a broken connection ends the wait: read what libpq says */
	while ((res = PQgetResult(pc->pg))) {
		if (!failed && !pgsession_result_ok(pc->pg, res)) {
			failed = res;
			continue;
		}
		PQclear(res);
	}
	return end_watched(pc, failed, err);
}

/*
 * One batch of a batch migration: `sql` with $1 = `limit` (bigint), its
 * blocker watched and strata_cancel() answered as a migration statement's;
 * the rows it changed in *rows, and whether a session blocked it at any
 * sample in *was_blocked (the batch size shrinks for that).
 */
int pgexec_exec_rows(struct strata_conn *c, const char *sql, int64_t limit,
                     int64_t *rows, bool *was_blocked, struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	static const Oid types[] = { 20 }; /* int8 */
	char text[24];
	const char *vals[] = { text };
	PGresult *res, *failed = NULL;

	*rows = 0;
	*was_blocked = false;
	snprintf(text, sizeof(text), "%" PRId64, limit);
	pgdrv_settle_cancel(pc);
	start_watch(pc);
	if (!PQsendQueryParams(pc->pg, sql, 1, types, vals, NULL, NULL, 0))
		return pgsession_error(err, pc->pg, NULL);
	for (;;) {
		/* a broken connection ends the wait: PQgetResult() says so */
		(void)await_result(pc);
		res = PQgetResult(pc->pg);
		if (!res)
			break;
		if (!failed && !pgsession_result_ok(pc->pg, res)) {
			failed = res;
			continue;
		}
		if (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK)
			*rows = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	/* kept until the next start_watch(), once a sample saw one */
	*was_blocked = pc->blocker != NULL;
	return end_watched(pc, failed, err);
}

void pgexec_note_rtt(struct pg_conn *pc, int64_t t0)
{
	int64_t d = text_monotonic_ns() - t0;

	if (d > 0 && (!pc->rtt_ns || d < pc->rtt_ns))
		pc->rtt_ns = d;
}

/*
 * Like pgsession_run() for strata's own SQL: notices are dropped, and a
 * position in our text would only mislead (the CLI relates positions to
 * migration files).
 */
int pgexec_run_quiet(struct pg_conn *pc, const char *sql,
                     struct strata_error *err)
{
	bool was_quiet = pc->is_quiet;
	int64_t t0;
	int rc;

	pc->is_quiet = true;
	pgdrv_settle_cancel(pc);
	t0 = text_monotonic_ns();
	rc = pgsession_run(pc->pg, sql, err);
	pgexec_note_rtt(pc, t0);
	pc->is_quiet = was_quiet;
	if (rc < 0 && err)
		err->position = 0;
	return rc;
}

/*
 * One statement of strata's own with text parameters (`binary` marks the
 * one sent as raw bytes, -1 for none); notices are dropped. Returns the
 * result when it is COMMAND_OK or TUPLES_OK, else NULL with err set.
 */
static PGresult *query_as(struct pg_conn *pc, const char *sql, int n,
                          const Oid *types, const char *const *values,
                          int binary, int binary_len, int result_format,
                          struct strata_error *err)
{
	int lengths[8] = { 0 }, formats[8] = { 0 };
	bool was_quiet = pc->is_quiet;
	PGresult *res;
	int64_t t0;

	if (n > (int)ARRAY_SIZE(lengths))
		BUG("too many parameters");
	if (binary >= 0) {
		lengths[binary] = binary_len;
		formats[binary] = 1;
	}
	pc->is_quiet = true;
	t0 = text_monotonic_ns();
	res = PQexecParams(pc->pg, sql, n, types, values, lengths, formats,
	                   result_format);
	pgexec_note_rtt(pc, t0);
	pc->is_quiet = was_quiet;
	if (res && (PQresultStatus(res) == PGRES_COMMAND_OK ||
	            PQresultStatus(res) == PGRES_TUPLES_OK))
		return res;
	pgsession_error(err, pc->pg, res);
	if (err)
		err->position = 0; /* in our text: see pgexec_run_quiet() */
	PQclear(res);
	return NULL;
}

PGresult *pgexec_query(struct pg_conn *pc, const char *sql, int n,
                       const Oid *types, const char *const *values, int binary,
                       int binary_len, struct strata_error *err)
{
	return query_as(pc, sql, n, types, values, binary, binary_len, 0, err);
}

int pgexec_exec(struct strata_conn *c, const char *sql,
                struct strata_error *err)
{
	return pgexec_run_quiet(pg_conn_of(c), sql, err);
}

/* Each statement alone, as its own simple query; stop at the first error. */
static int run_each(struct pg_conn *pc, const struct strata_script *s,
                    struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	int rc = 0;

	for (size_t i = 0; i < s->n; i++) {
		script_stmt_text(&sql, s, i);
		progress_statement(&pc->base, i + 1);
		if (run_watched(pc, sql.buf, err) < 0) {
			if (err)
				err->statement = (int)(i + 1);
			rc = -1;
			break;
		}
	}
	sbuf_release(&sql);
	return rc;
}

/*
 * Ends pipeline mode, first reading whatever is left should the results
 * have ended early, so that the session is never left unusable. Only a
 * broken session stays in pipeline mode, and it is of no use anyway.
 */
static void leave_pipeline(PGconn *pg)
{
	for (int i = 0; i < 1000 && !PQexitPipelineMode(pg); i++) {
		if (PQstatus(pg) != CONNECTION_OK)
			return;
		PQclear(PQgetResult(pg));
	}
}

/* The whole text as one simple query, as sqlx sends a migration. */
static int run_whole(struct pg_conn *pc, const struct strata_script *s,
                     struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	int rc;

	/* s->sql may be a section of a longer file (dbmate): copy to a NUL */
	sbuf_add(&sql, s->sql, s->len);
	rc = run_watched(pc, sql.buf, err);
	if (rc < 0 && err)
		err->statement = 0;
	sbuf_release(&sql);
	return rc;
}

/*
 * A pipeline being filled from a batch: each command sent, with the item
 * it came from and, for a migration's statement, its number, so that its
 * result is understood when read.
 */
struct sent {
	const struct batch_item *item;
	size_t stmt; /* 0-based, in item->script */
};

struct pipeline {
	const struct batch *b;
	const struct batch_item *items; /* the batch's, for failed_item */
	struct sent *cmds;
	size_t n, alloc;
	size_t n_stmts; /* the migrations' statements among them */
	/* the script the server is in, its end not yet read (a long one
	 * spans pipelines) */
	const struct batch_item *script;
	struct sbuf sql;
	bool is_open; /* in pipeline mode */
};

static void note(struct pipeline *pl, const struct batch_item *it, size_t k)
{
	XGROW(pl->cmds, pl->alloc, pl->n + 1);
	pl->cmds[pl->n].item = it;
	pl->cmds[pl->n++].stmt = k;
	if (it->kind == BATCH_SCRIPT)
		pl->n_stmts++;
}

static int send_text(struct pg_conn *pc, struct pipeline *pl,
                     const struct batch_item *it, const char *sql)
{
	if (!PQsendQueryParams(pc->pg, sql, 0, NULL, NULL, NULL, NULL, 0))
		return -1;
	note(pl, it, 0);
	return 0;
}

/*
 * A migration's DEALLOCATE or DISCARD ALL drops the session's prepared
 * statements, strata's too: those after it are prepared again, under new
 * names. A mere mention of the words costs no more than that.
 */
static void forget_if_deallocated(struct pg_conn *pc, const char *sql,
                                  size_t len)
{
	for (size_t i = 0; pc->prepared.n && i + 7 <= len; i++) {
		if ((sql[i] | 0x20) != 'd') /* most bytes: no call */
			continue;
		if (!strncasecmp(sql + i, "discard", 7) ||
		    (i + 10 <= len && !strncasecmp(sql + i, "deallocate", 10)))
			strmap_clear(&pc->prepared);
	}
}

/* Names handed out at most: past them a text is parsed at each use, so
 * that texts that never recur cannot fill the session. */
#define PREPARED_MAX 64

/* The name `sql` (with `n_params` parameters of `types`) is prepared
 * under on this session, its Parse sent first as item `it`'s when it is
 * not yet; false once the names run out: send it unnamed. */
static bool prepared_text(struct pg_conn *pc, struct pipeline *pl,
                          const struct batch_item *it, const char *sql,
                          size_t n_params, const Oid *types,
                          char name[static 24])
{
	struct sbuf key = SBUF_INIT;
	uintptr_t id;

	/* the types are part of the statement: NULL, text, bigint, bytea */
	for (size_t i = 0; i < n_params; i++) {
		/* "%u," without printf's cost, paid for every parameter */
		char digits[12];
		size_t n = 0;

		for (unsigned v = (unsigned)types[i]; v || !n; v /= 10)
			digits[n++] = (char)('0' + v % 10);
		while (n)
			sbuf_addch(&key, digits[--n]);
		sbuf_addch(&key, ',');
	}
	sbuf_adds(&key, sql);
	id = (uintptr_t)strmap_get(&pc->prepared, key.buf);
	if (!id && pc->n_prepared < PREPARED_MAX) {
		id = ++pc->n_prepared;
		snprintf(name, 24, "strata_%u", (unsigned)id);
		if (!PQsendPrepare(pc->pg, name, sql, (int)n_params, types)) {
			sbuf_release(&key);
			return false;
		}
		/* its own result, read as the item's */
		note(pl, it, 0);
		strmap_put(&pc->prepared, &pc->prepared_keys, key.buf,
		           (void *)id);
	}
	sbuf_release(&key);
	if (!id)
		return false;
	snprintf(name, 24, "strata_%u", (unsigned)id);
	return true;
}

/*
 * `sql` with `n` parameters `p`, its result read as item `it`'s. When
 * `is_recurring`, under the name it is prepared under on this session,
 * with a Parse sent first when it is not yet (prepared_text()): the
 * history's and the audit's rows of every migration, parsed, analysed and
 * planned once rather than per migration. A pipeline that fails forgets
 * every name (pipeline_sync()): a Parse after the failure never ran.
 * Unnamed otherwise, or once the names run out.
 */
static int send_query(struct pg_conn *pc, struct pipeline *pl,
                      const struct batch_item *it, const char *sql, size_t n,
                      const struct pg_params *p, bool is_recurring)
{
	char name[24];
	int ok;

	if (is_recurring && prepared_text(pc, pl, it, sql, n, p->types, name))
		ok = PQsendQueryPrepared(pc->pg, name, (int)n, p->values,
		                         p->lengths, p->formats, 0);
	else
		ok = PQsendQueryParams(pc->pg, sql, (int)n, p->types, p->values,
		                       p->lengths, p->formats, 0);
	if (!ok)
		return -1;
	note(pl, it, 0);
	return 0;
}

/*
 * A migration's timeouts, and its mark with them when the item says so,
 * in one statement prepared once: `SET LOCAL` twice and the mark were
 * three statements to parse and run for every migration.
 */
static int send_marked_timeouts(struct pg_conn *pc, struct pipeline *pl,
                                const struct batch_item *it)
{
	static const char sql[] =
	        "SELECT pg_catalog.set_config('lock_timeout', $1, true), "
	        "pg_catalog.set_config('statement_timeout', $2, true), " PG_STEP_MARK;
	Oid types[] = { TEXTOID, TEXTOID };
	char lock[24], statement[24];
	const char *values[] = { lock, statement };
	const struct pg_params p = { .values = values, .types = types };

	snprintf(lock, sizeof(lock), "%" PRId64, it->lock_ms);
	snprintf(statement, sizeof(statement), "%" PRId64, it->statement_ms);
	return send_query(pc, pl, it, sql, 2, &p, true);
}

static int send_timeouts(struct pg_conn *pc, struct pipeline *pl,
                         const struct batch_item *it)
{
	char sql[80];

	pc->lock_ms = it->lock_ms;
	if (it->is_marking)
		return send_marked_timeouts(pc, pl, it);
	if (it->lock_ms < 0 && it->statement_ms < 0)
		return send_text(pc, pl, it, "RESET lock_timeout") < 0 ||
		                       send_text(pc, pl, it,
		                                 "RESET statement_timeout") < 0
		               ? -1
		               : 0;
	snprintf(sql, sizeof(sql), "SET %slock_timeout = %" PRId64,
	         it->is_local ? "LOCAL " : "", it->lock_ms);
	if (send_text(pc, pl, it, sql) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "SET %sstatement_timeout = %" PRId64,
	         it->is_local ? "LOCAL " : "", it->statement_ms);
	return send_text(pc, pl, it, sql);
}

static int send_sql(struct pg_conn *pc, struct pipeline *pl,
                    const struct batch_item *it)
{
	struct pg_params p;
	int rc;

	pgquery_params_init(&p, it->n, it->params);
	/* texts that recur: with parameters, the time a revert reads, or
	 * marked so */
	rc = send_query(pc, pl, it, it->sql, it->n, &p,
	                it->n || it->out_int || it->is_recurring);
	pgquery_params_release(&p);
	return rc;
}

/*
 * The migration lock still held at this point of the transaction, in the
 * server's view: else a division by zero aborts it, and the COMMIT after
 * rolls back (pipeline_sync() says why). A lock lost while the statements
 * ran is thus never committed past, without waiting for their results
 * before the COMMIT is sent. The key looked at is the lock session's own
 * (pg_conn.h, session_key), held while it lives, and it lives holding the
 * lock: a successor that took the lock after it ended is not mistaken for
 * it. A shared try of the key fails only while a session holds it: one
 * look at the key's own entry, where a read of pg_locks scans the
 * server's whole lock table (a few hundred µs per migration where
 * max_locks_per_transaction is large). A free key is taken for this
 * transaction only, which the division rolls back.
 */
static int send_lock_check(struct pg_conn *pc, struct pipeline *pl,
                           const struct batch_item *it)
{
	static const char sql[] =
	        "SELECT 1 / (NOT pg_catalog.pg_try_advisory_xact_lock_shared($1))::int";
	Oid types[] = { INT8OID };
	char key[24];
	const char *values[] = { key };
	const struct pg_params p = { .values = values, .types = types };

	if (!pc->is_locked || !pc->lock_pg)
		return 0;
	snprintf(key, sizeof(key), "%" PRId64, pc->session_key);
	return send_query(pc, pl, it, sql, 1, &p, true);
}

/* A migration's statement: the server holds results back until the Sync
 * unless asked to flush; with a Flush after each statement its result
 * tells when it ended (progress). */
static int send_stmt(struct pg_conn *pc, struct pipeline *pl,
                     const struct batch_item *it, size_t k)
{
	script_stmt_text(&pl->sql, it->script, k);
	forget_if_deallocated(pc, pl->sql.buf, pl->sql.len);
	if (!PQsendQueryParams(pc->pg, pl->sql.buf, 0, NULL, NULL, NULL, NULL,
	                       0) ||
	    !PQsendFlushRequest(pc->pg))
		return -1;
	note(pl, it, k);
	return 0;
}

/* Whether result `res` of command `c` fails it beyond the server's say:
 * a COMMIT that rolled back, a change that found no row. */
static int check_result(const struct sent *c, const PGresult *res,
                        struct strata_error *err)
{
	if (c->item->kind == BATCH_COMMIT &&
	    !strcmp(PQcmdStatus((PGresult *)res), "ROLLBACK")) {
		/* COMMIT of a failed transaction succeeds, and rolls back */
		strata_error_set(
		        err, STRATA_EFAILED,
		        "the transaction was rolled back, not committed");
		if (err)
			memcpy(err->sqlstate, "25P02", 6);
		return strata_error_detail(
		        err, "A statement of the transaction had failed.");
	}
	if (c->item->no_row && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 0)
		return strata_error_set(err, STRATA_EFAILED, "%s",
		                        c->item->no_row);
	if (c->item->out_int && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) > 0)
		*c->item->out_int =
		        strtoll(PQgetvalue((PGresult *)res, 0, 0), NULL, 10);
	return 0;
}

static void say_statement(struct pg_conn *pc, const struct sent *c)
{
	if (c->item->kind == BATCH_SCRIPT)
		progress_statement(&pc->base, c->stmt + 1);
}

/* A script the server comes to: the caller told, the watch and the lock
 * session's word about what runs begun anew. */
static void script_begins(struct pg_conn *pc, const struct batch *b,
                          const struct batch_item *it)
{
	if (b->on_script)
		b->on_script(b->on_script_data, it, false);
	start_watch(pc);
	pglock_announce(pc, true);
}

static void script_ends(const struct batch *b, const struct batch_item *it)
{
	if (b->on_script)
		b->on_script(b->on_script_data, it, true);
}

/* Whether `c` is its script's last statement. */
static bool is_last_statement(const struct sent *c)
{
	return c->item->kind == BATCH_SCRIPT &&
	       c->stmt + 1 >= c->item->script->n;
}

/*
 * The results of command `at - 1` all read: a script whose last statement
 * it was has ended; a script whose first statement comes next begins
 * (`*script`: the one under way, which a long script keeps across
 * pipelines).
 */
static void come_to(struct pg_conn *pc, const struct pipeline *pl, size_t at,
                    const struct batch_item **script)
{
	if (at > 0 && *script && is_last_statement(&pl->cmds[at - 1])) {
		script_ends(pl->b, *script);
		*script = NULL;
	}
	if (at >= pl->n || pl->cmds[at].item->kind != BATCH_SCRIPT)
		return;
	if (*script != pl->cmds[at].item) {
		*script = pl->cmds[at].item;
		script_begins(pc, pl->b, *script);
	}
	say_statement(pc, &pl->cmds[at]);
}

/* How many migrations' scripts the pipeline holds statements of. */
static size_t scripts_sent(const struct pipeline *pl)
{
	size_t n = 0;

	for (size_t i = 0; i < pl->n; i++)
		n += pl->cmds[i].item->kind == BATCH_SCRIPT &&
		     (i == 0 || pl->cmds[i - 1].item != pl->cmds[i].item);
	return n;
}

/*
 * Ends the pipeline being filled: one Sync, one round trip, its results
 * read. After an error the server skips the rest (PGRES_PIPELINE_ABORTED),
 * which are read and dropped; a lost session ends the reading, as libpq
 * returns NULL once the connection is bad. On a migration's statement's
 * failure err->statement is its number; on another command's, 0.
 */
static int pipeline_sync(struct pg_conn *pc, struct pipeline *pl,
                         bool is_send_failed, struct strata_error *err)
{
	PGconn *pg = pc->pg;
	PGresult *res, *failed = NULL;
	const struct batch_item *script = pl->script;
	size_t sent = pl->n, at = 0, failed_at = 0;
	bool is_synced = false, is_done = false, was_quiet = pc->is_quiet;
	int64_t t0;
	int rc = -1;

	if (!pl->is_open)
		return 0;
	/* even after a failed send: what was sent must be read */
	if (PQstatus(pg) == CONNECTION_OK)
		is_synced = PQpipelineSync(pg) == 1;
	t0 = text_monotonic_ns();
	/* results come in order: a statement runs once the results of the
	 * commands before it are in (their own results wait for its Flush);
	 * the first script is told at once, the commands before it (BEGIN,
	 * SET LOCAL) being quick */
	for (size_t i = 0; i < sent; i++)
		if (pl->cmds[i].item->kind == BATCH_SCRIPT) {
			come_to(pc, pl, i, &script);
			break;
		}
	/* only where many migrations were sent: one alone ends no later */
	pc->is_coalescing = scripts_sent(pl) > 1;
	pc->input_ns = 0;
	while (is_synced) {
		pc->is_quiet =
		        at < sent && pl->cmds[at].item->kind != BATCH_SCRIPT;
		res = await_result(pc) ? PQgetResult(pg) : NULL;
		if (!res) {
			/* each query's results end with NULL, the Sync's not */
			if (PQstatus(pg) == CONNECTION_BAD || ++at > sent)
				break;
			if (!failed && !failed_at)
				come_to(pc, pl, at, &script);
			continue;
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			pgexec_note_rtt(pc, t0);
			is_done = true;
			break;
		}
		if (!failed && PQresultStatus(res) != PGRES_PIPELINE_ABORTED &&
		    !pgsession_result_ok(pg, res)) {
			failed = res;
			failed_at = at + 1;
			continue;
		}
		if (!failed && !failed_at && at < sent &&
		    check_result(&pl->cmds[at], res, err) < 0)
			failed_at = at + 1;
		else if (!failed && !failed_at && at < sent &&
		         pl->cmds[at].item->kind == BATCH_COMMIT &&
		         pl->b->on_commit)
			pl->b->on_commit(pl->b->on_script_data,
			                 pl->cmds[at].item);
		PQclear(res);
	}
	pc->is_quiet = was_quiet;
	pc->is_coalescing = false;
	pl->script = failed || failed_at || !is_done ? NULL : script;
	if (failed_at && failed_at <= sent)
		pc->base.failed_item =
		        (size_t)(pl->cmds[failed_at - 1].item - pl->items) + 1;
	if (failed && failed_at && failed_at <= sent &&
	    pl->cmds[failed_at - 1].item->kind == BATCH_LOCK_CHECK) {
		pglock_lost(pc, err);
	} else if (failed) {
		pgsession_error(err, pg, failed);
		add_blocker(pc, err);
	} else if (failed_at) {
		/* check_result() said why */
	} else if (is_send_failed) {
		pgsession_error(err, pg, NULL);
		failed_at = sent + 1;
	} else if (!is_done) {
		/* lost while reading: the command then running, if known */
		pgsession_error(err, pg, NULL);
		failed_at = is_synced && at < sent ? at + 1 : 0;
	} else {
		rc = 0;
	}
	if (rc < 0)
		strmap_clear(&pc->prepared);
	if (rc < 0 && err) {
		/* a number only for a migration's own statements */
		const struct sent *c = failed_at && failed_at <= sent
		                               ? &pl->cmds[failed_at - 1]
		                               : NULL;

		err->statement = c && c->item->kind == BATCH_SCRIPT
		                         ? (int)c->stmt + 1
		                         : 0;
		if (c && c->item->kind == BATCH_LOCK_CHECK)
			err->statement = 0;
		if (!err->statement)
			err->position = 0; /* in our text, not a migration's */
	}
	leave_pipeline(pg);
	PQclear(failed);
	pl->n = pl->n_stmts = 0;
	pl->is_open = false;
	return rc;
}

/*
 * A long script goes in pipelines of PIPELINE_MAX statements: libpq keeps
 * every statement's text until its result is read, so one pipeline of a
 * file of a million INSERTs held it twice over. The script runs inside
 * the migration's transaction, which a Sync does not end; after a failure
 * nothing more is sent.
 */
#define PIPELINE_MAX 10000

/* The statements of `it` that run alone, outside the pipeline: each as its
 * own simple query, or the whole text as one. */
static int run_alone(struct pg_conn *pc, const struct batch_item *it,
                     struct strata_error *err)
{
	const struct strata_script *s = it->script;

	/*
	 * COPY FROM STDIN cannot be pipelined: the server would read the next
	 * statement as COPY data and end the session. Alone it fails cleanly.
	 */
	forget_if_deallocated(pc, s->sql, s->len);
	if (it->is_one_per_call ||
	    (s->is_parsed && (s->flags & STMT_COPY_STDIN)))
		return run_each(pc, s, err);
	return s->len ? run_whole(pc, s, err) : 0;
}

static bool is_alone(const struct batch_item *it)
{
	const struct strata_script *s = it->script;

	return it->is_one_per_call || !s->is_parsed ||
	       (s->flags & STMT_COPY_STDIN);
}

/*
 * A batch in one pipeline where the protocol allows: BEGIN, SET LOCAL, the
 * statements and the rows all in one round trip. A script that must run
 * alone (one statement per call, COPY FROM STDIN, a text the parser
 * rejected) ends the pipeline before it and runs as simple queries.
 */
int pgexec_batch(struct strata_conn *c, const struct batch *b,
                 struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct pipeline pl = { .b = b, .items = b->items, .sql = SBUF_INIT };
	int rc = 0;

	pc->base.failed_item = 0;
	/* after a cancel, what follows is the record of what it stopped */
	pgdrv_settle_cancel(pc);
	for (size_t i = 0; i < b->n && rc == 0; i++) {
		const struct batch_item *it = &b->items[i];
		int sent = 0;

		if (it->kind == BATCH_SCRIPT && is_alone(it)) {
			rc = pipeline_sync(pc, &pl, false, err);
			if (rc == 0)
				script_begins(pc, b, it);
			if (rc == 0 && (rc = run_alone(pc, it, err)) < 0)
				pc->base.failed_item = i + 1;
			else if (rc == 0)
				script_ends(b, it);
			continue;
		}
		if (!pl.is_open) {
			if (!PQenterPipelineMode(pc->pg)) {
				rc = pgsession_error(err, pc->pg, NULL);
				break;
			}
			pl.is_open = true;
		}
		switch (it->kind) {
		case BATCH_BEGIN:
			sent = send_text(pc, &pl, it, "BEGIN");
			break;
		case BATCH_COMMIT:
			sent = send_text(pc, &pl, it, "COMMIT");
			break;
		case BATCH_TIMEOUTS:
			sent = send_timeouts(pc, &pl, it);
			break;
		case BATCH_SQL:
			sent = send_sql(pc, &pl, it);
			break;
		case BATCH_LOCK_CHECK:
			sent = send_lock_check(pc, &pl, it);
			break;
		case BATCH_SCRIPT:
			/* the results before it out at once: when they are
			 * in, the server is at the script (a batch of many
			 * migrations' scripts says which one runs by them) */
			if (pl.n && !PQsendFlushRequest(pc->pg))
				sent = -1;
			for (size_t k = 0;
			     k < it->script->n && sent == 0 && rc == 0; k++) {
				sent = send_stmt(pc, &pl, it, k);
				if (sent == 0 && pl.n_stmts >= PIPELINE_MAX)
					rc = pipeline_sync(pc, &pl, false, err);
				if (rc == 0 && sent == 0 && !pl.is_open &&
				    k + 1 < it->script->n) {
					if (!PQenterPipelineMode(pc->pg))
						rc = pgsession_error(
						        err, pc->pg, NULL);
					else
						pl.is_open = true;
				}
			}
			break;
		}
		if (sent < 0) {
			pipeline_sync(pc, &pl, true, err);
			rc = -1;
		}
	}
	if (rc == 0)
		rc = pipeline_sync(pc, &pl, false, err);
	else if (pl.is_open)
		pipeline_sync(pc, &pl, false, NULL);
	free(pl.cmds);
	sbuf_release(&pl.sql);
	return rc;
}

void pgexec_rollback(struct strata_conn *c)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct strata_error ignored = STRATA_ERROR_INIT;

	if (PQstatus(pc->pg) != CONNECTION_OK ||
	    PQtransactionStatus(pc->pg) == PQTRANS_IDLE)
		return;
	pgexec_run_quiet(pc, "ROLLBACK", &ignored);
	strata_error_release(&ignored);
}
