/*
 * The PostgreSQL driver, through libpq. Connection strings go to libpq
 * untouched, so every libpq convention holds (URLs, keyword strings, PG*
 * variables, .pgpass, service files, sslmode, multiple hosts). It runs a
 * migration's statements in one pipeline (one round trip), one by one
 * outside a transaction, or, when the parser rejected the text, as one
 * simple-protocol query as sqlx does; it keeps the sqlx history table,
 * takes sqlx's advisory lock on a dedicated session by polling (SPEC,
 * History table), and creates and drops databases through a maintenance
 * database as createdb and dropdb do.
 *
 * It never prints. Notices raised by migration SQL (and by COMMIT, which
 * may fire deferred triggers) become STRATA_EVENT_NOTICE; those of
 * strata's own SQL are dropped, or every run would report that
 * "relation "_sqlx_migrations" already exists, skipping". It does not
 * decide what runs, in which transaction, or in which order: migrate.c
 * does, and sends BEGIN and COMMIT through begin() and commit().
 */
#include "drivers/driver_pg.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/text.h"
#include "engine/url.h"
#include "sql/split.h"
#include "drivers/driver.h"
#include "drivers/lockkey.h"
#include "engine/progress.h"
#include "backup/backup.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>

/* Type OIDs of the parameters we send (server's catalog/pg_type_d.h). */
#define BOOLOID  16
#define BYTEAOID 17
#define INT8OID  20
#define TEXTOID  25

#define LOCK_POLL_FIRST_MS 50
#define LOCK_POLL_MAX_MS   500
#define LOCK_REPORT_NS     (10 * INT64_C(1000000000))

/* seconds: a server that accepts and never answers must not hang us */
#define DEFAULT_CONNECT_TIMEOUT 10
/* how often a statement still running is sent a cancel request again
 * after strata_cancel(): one sent while the server was still reading the
 * query is dropped by it */
#define CANCEL_AGAIN_NS (200 * INT64_C(1000000))

/* A session strata_cancel() reaches: PQcancel() is async-signal-safe. */
struct pg_cancel {
	struct cancel_hook hook;
	PGcancel *cancel;
};

struct pg_conn {
	struct strata_conn base;
	PGconn *pg;
	PGconn *lock_pg; /* the lock's dedicated session, NULL when none */
	/*
	 * Where a waiting statement is looked at (the phase, the blocker):
	 * its own session, "strata monitor", opened when first needed, so
	 * that the lock session's pg_stat_activity row says which migration
	 * its holder applies, and since when (see announce()). NULL: not
	 * opened yet; when it cannot be, the lock session does it.
	 */
	PGconn *monitor_pg;
	bool is_monitor_failed;
	bool is_announce_pending; /* a result to read on lock_pg */
	const struct strata_migration *announced;
	char *conninfo; /* url->raw: holds the password, never shown */
	char *redacted;
	int64_t lock_key;
	bool is_locked;
	/* while a migration's statement waits: who blocks it, sampled on
	 * the lock connection */
	char *blocker; /* "pid 123 (user u, ...)": for the error */
	int blocker_pid;
	int64_t reported_ns; /* when the BLOCKED event was last sent */
	int64_t lock_ms;     /* the lock_timeout set last, < 0 when reset */
	/*
	 * Commands of a transaction held back to be sent with the next
	 * round trip (BEGIN and SET LOCAL with the migration's statements;
	 * the history and audit rows with COMMIT): a migration costs two
	 * round trips whatever its length. Only commands whose results
	 * nobody reads are held back; anything else flushes them first.
	 */
	struct pg_cmd *queue;
	size_t n_queue, alloc_queue;
	bool is_lazy_txn; /* between begin() and commit()/rollback() */
	bool is_quiet;    /* running strata's own SQL: drop notices */
	/* of pg and lock_pg, while they are connected */
	struct pg_cancel cancel, lock_cancel;
};

static void queue_clear(struct pg_conn *pc);
static int flush_queue(struct pg_conn *pc, struct strata_error *err);
static PGconn *monitor_session(struct pg_conn *pc);
static void announce(struct pg_conn *pc, bool is_reset);

static struct pg_conn *pg_conn_of(struct strata_conn *c)
{
	return (struct pg_conn *)c;
}

/* ---- errors ------------------------------------------------------------- */

/* A copy of `s` without trailing white space (libpq ends with "\n"). */
static char *trimmed(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' ||
	             s[n - 1] == '\r'))
		n--;
	return xstrndup(s ? s : "", n);
}

static char *field(const PGresult *res, int code)
{
	const char *f = res ? PQresultErrorField(res, code) : NULL;

	return f && *f ? xstrdup(f) : NULL;
}

/*
 * The one mapping from libpq to struct strata_error, used for every
 * failure after connecting: the server's SQLSTATE, primary message,
 * detail, hint, position (characters, 1-based) and context; or, when the
 * session is gone, that it is, with libpq's account as the detail.
 * `res` may be NULL (the failure was libpq's own). Returns -1.
 */
static int set_error(struct strata_error *err, PGconn *pg, const PGresult *res)
{
	const char *state =
	        res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *pos;
	char *text;

	if (!pg || PQstatus(pg) == CONNECTION_BAD) {
		/* the server's reason when it gave one (terminated, shutting
		 * down), not libpq's guess that it "terminated abnormally" */
		text = field(res, PG_DIAG_MESSAGE_PRIMARY);
		if (!text)
			text = trimmed(pg ? PQerrorMessage(pg) : NULL);
		if (!*text && res) {
			free(text);
			text = trimmed(PQresultErrorMessage(res));
		}
		strata_error_set(err, STRATA_EFAILED,
		                 "connection to the server was lost");
		if (*text)
			strata_error_detail(err, "%s", text);
		free(text);
		/* kept by a transactional migration's failure, which would
		 * otherwise say to fix its file */
		strata_error_hint(
		        err,
		        "The server rolled back whatever the session had not committed. Run again once it can be reached.");
		if (err && state && strlen(state) == 5)
			memcpy(err->sqlstate, state, 6);
		return -1;
	}
	text = field(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!text)
		text = trimmed(res ? PQresultErrorMessage(res)
		                   : PQerrorMessage(pg));
	/* 57014 query_canceled: ours, when strata_cancel() asked for it */
	strata_error_set(err,
	                 state && !strcmp(state, "57014") &&
	                                 strata_is_cancelled()
	                         ? STRATA_ECANCELED
	                         : STRATA_EFAILED,
	                 "%s", *text ? text : "unknown error from libpq");
	free(text);
	if (!err)
		return -1;
	if (state && strlen(state) == 5)
		memcpy(err->sqlstate, state, 6);
	err->detail = field(res, PG_DIAG_MESSAGE_DETAIL);
	err->hint = field(res, PG_DIAG_MESSAGE_HINT);
	err->context = field(res, PG_DIAG_CONTEXT);
	pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	if (pos) {
		char *end;
		long n;

		errno = 0;
		n = strtol(pos, &end, 10);
		if (!errno && end != pos && !*end && n > 0 && n <= INT32_MAX)
			err->position = (int)n;
	}
	return -1;
}

/*
 * Whether `text` holds any password this connection may have used, but
 * for one the redacted URL shows anyway (a user named as the password
 * is): libpq's "password authentication failed for user "app"" says no
 * more then than the URL beside it.
 */
static bool mentions_password(const char *text, PGconn *pg,
                              const char *password, const char *redacted)
{
	const char *candidates[3];

	candidates[0] = password;
	candidates[1] = pg ? PQpass(pg) : NULL;
	candidates[2] = getenv("PGPASSWORD");
	for (size_t i = 0; i < ARRAY_SIZE(candidates); i++)
		if (candidates[i] && *candidates[i] &&
		    strstr(text, candidates[i]) &&
		    !strstr(redacted, candidates[i]))
			return true;
	return false;
}

/* A server that accepted the connection and never finished it (or no
 * server, silently dropping packets): how long we waited, and why. */
static void timeout_hint(PGconn *pg, struct strata_error *err)
{
	PQconninfoOption *opts = PQconninfo(pg);
	const char *secs = NULL;

	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "connect_timeout") && o->val)
			secs = o->val;
	strata_error_hint(
	        err,
	        "Nothing answered within the connect timeout (connect_timeout=%s, in seconds). Check that the host and port are those of a PostgreSQL server that is up, or allow it longer.",
	        secs ? secs : "?");
	PQconninfoFree(opts);
}

/*
 * 0 when `pg` is connected; else STRATA_ECONNECT naming the redacted URL,
 * with libpq's reason as the detail unless it would show a password
 * (libpq never prints one, but a reason quoting input could).
 */
static int check_connected(PGconn *pg, const char *redacted,
                           const char *password, struct strata_error *err)
{
	char *why;

	if (pg && PQstatus(pg) == CONNECTION_OK)
		return 0;
	strata_error_set(err, STRATA_ECONNECT, "could not connect to '%s'",
	                 redacted);
	why = trimmed(pg ? PQerrorMessage(pg) : "out of memory");
	if (*why && !mentions_password(why, pg, password, redacted))
		strata_error_detail(err, "%s", why);
	if (strstr(why, "timeout expired"))
		timeout_hint(pg, err);
	free(why);
	return -1;
}

/* The password a connection string names, or NULL (caller frees). */
static char *conninfo_password(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	char *password = NULL;

	if (!opts)
		return NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && *o->val)
			password = xstrdup(o->val);
	PQconninfoFree(opts);
	return password;
}

/* ---- notices ------------------------------------------------------------ */

static void on_notice(void *arg, const PGresult *res)
{
	struct pg_conn *pc = arg;
	struct strata_event ev = { .kind = STRATA_EVENT_NOTICE };
	char *text;

	if (pc->is_quiet)
		return;
	/* as psql shows it: "NOTICE:  …" with any DETAIL and HINT lines */
	text = trimmed(PQresultErrorMessage(res));
	ev.message = text;
	driver_emit(&pc->base, &ev);
	free(text);
}

/* Sessions with no one to tell: libpq's default would print to stderr. */
static void drop_notice(void *arg, const PGresult *res)
{
	UNUSED(arg);
	UNUSED(res);
}

/* ---- running SQL -------------------------------------------------------- */

/*
 * Whether `res` is no error. COPY is dealt with on the way, so that the
 * session never stays in a COPY state: a migration has no data stream,
 * so COPY FROM STDIN is ended with an error (the server reports it as
 * the next result); COPY TO STDOUT is read and dropped.
 */
static bool result_ok(PGconn *pg, const PGresult *res)
{
	char *buf;

	switch (PQresultStatus(res)) {
	case PGRES_COPY_IN:
		PQputCopyEnd(
		        pg,
		        "COPY FROM STDIN is not supported in a migration: it has no data stream");
		return true;
	case PGRES_COPY_OUT:
		while (PQgetCopyData(pg, &buf, 0) > 0)
			PQfreemem(buf);
		return true;
	case PGRES_COPY_BOTH:
	case PGRES_BAD_RESPONSE:
	case PGRES_NONFATAL_ERROR:
	case PGRES_FATAL_ERROR:
		return false;
	default:
		return true;
	}
}

#define NS_PER_MS       INT64_C(1000000)
#define FIRST_SAMPLE_MS 100 /* when a waiting statement is first looked at */
#define SAMPLE_MS       500 /* how often after that */
#define REPORT_AGAIN_S  10  /* how often the same blocker is reported */

/* See driver_pg.h. */
const char *pgdrv_session_state(const PGresult *res, int row)
{
	const char *state = PQgetvalue(res, row, 3);

	if (*state)
		return state;
	if (!pgdrv_session_query_visible(res, row))
		return "state unknown: another role's session (pg_read_all_stats shows it)";
	return "state unknown";
}

/* See driver_pg.h. */
bool pgdrv_session_query_visible(const PGresult *res, int row)
{
	return strcmp(PQgetvalue(res, row, 6), "t") != 0;
}

/* See driver_pg.h. */
void pgdrv_describe_session(struct sbuf *who, const PGresult *res, int row,
                            bool is_hide_query)
{
	int64_t age = strtoll(PQgetvalue(res, row, 4), NULL, 10);

	sbuf_addf(who, "pid %s (user '%s', application '%s', %s",
	          PQgetvalue(res, row, 0), PQgetvalue(res, row, 1),
	          PQgetvalue(res, row, 2), pgdrv_session_state(res, row));
	if (age >= 0)
		sbuf_addf(who, ", in a transaction for %" PRId64 " s", age);
	sbuf_addch(who, ')');
	if (!is_hide_query && pgdrv_session_query_visible(res, row) &&
	    *PQgetvalue(res, row, 5))
		sbuf_addf(who, ": %s", PQgetvalue(res, row, 5));
}

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
	        "SELECT " PGDRV_SESSION_COLUMNS
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

	PGconn *mon = monitor_session(pc);

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
	state = pgdrv_session_state(res, 0);
	is_hidden = !pgdrv_session_query_visible(res, 0);
	pgdrv_describe_session(&who, res, 0, pc->base.is_hide_queries);
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
	progress_holder(
	        &pc->base, pid, PQgetvalue(res, 0, 1), state,
	        PQgetvalue(res, 0, 2),
	        strtod(PQgetvalue(res, 0, PGDRV_SESSION_NCOLUMNS), NULL));
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

	PGconn *mon = pc->base.progress ? monitor_session(pc) : NULL;

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
static bool await_result(struct pg_conn *pc)
{
	/* the first look early, so that even a short lock_timeout (a
	 * probe's) has named its blocker by the time it fires */
	int64_t first_ms = pc->lock_ms > 0 && pc->lock_ms < 2 * FIRST_SAMPLE_MS
	                           ? pc->lock_ms / 2 + 1
	                           : FIRST_SAMPLE_MS;
	int64_t sample_ns = text_monotonic_ns() + first_ms * NS_PER_MS;
	int64_t cancel_ns = 0;

	while (PQisBusy(pc->pg)) {
		struct pollfd p = { .fd = PQsocket(pc->pg), .events = POLLIN };
		int64_t now = text_monotonic_ns();
		int64_t due = progress_due_ns(&pc->base);
		int n;

		/* strata_cancel() may have run before this statement was
		 * sent, or while the server was still reading it */
		if (strata_is_cancelled() && pc->cancel.cancel &&
		    now >= cancel_ns) {
			pc->cancel.hook.fn(&pc->cancel.hook);
			cancel_ns = now + CANCEL_AGAIN_NS;
		}
		if (strata_is_cancelled() && due > cancel_ns)
			due = cancel_ns;
		if (due > sample_ns)
			due = sample_ns;
		n = poll(&p, 1,
		         due > now ? (int)((due - now) / NS_PER_MS) + 1 : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && !PQconsumeInput(pc->pg)))
			return false;
		now = text_monotonic_ns();
		if (now >= sample_ns) {
			announce(pc, false);
			sample_blocker(pc);
			sample_phase(pc);
			sample_ns = now + SAMPLE_MS * NS_PER_MS;
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

/*
 * Sends `sql` (one or more statements) with the simple query protocol and
 * reads every result, as PQexec does; rows are dropped. The first error
 * is reported once the session is idle again, so that a session the
 * server ended is seen as lost. (No single-row mode: the flag outlives a
 * query that returns no rows and changes what the next one returns.)
 */
static int run_simple(PGconn *pg, const char *sql, struct strata_error *err)
{
	PGresult *res, *failed = NULL;
	int rc = 0;

	if (!PQsendQuery(pg, sql))
		return set_error(err, pg, NULL);
	while ((res = PQgetResult(pg))) {
		if (!failed && !result_ok(pg, res)) {
			failed = res;
			continue;
		}
		PQclear(res);
	}
	if (failed)
		rc = set_error(err, pg, failed);
	PQclear(failed);
	return rc;
}

/* run_simple() for a migration's statements: blockers watched. */
static int run_watched(struct pg_conn *pc, const char *sql,
                       struct strata_error *err)
{
	PGresult *res, *failed = NULL;
	int rc = 0;

	if (!PQsendQuery(pc->pg, sql))
		return set_error(err, pc->pg, NULL);
	while (await_result(pc) && (res = PQgetResult(pc->pg))) {
		if (!failed && !result_ok(pc->pg, res)) {
			failed = res;
			continue;
		}
		PQclear(res);
	}
	/* a broken connection ends the wait: read what libpq says */
	while ((res = PQgetResult(pc->pg))) {
		if (!failed && !result_ok(pc->pg, res)) {
			failed = res;
			continue;
		}
		PQclear(res);
	}
	if (failed || PQstatus(pc->pg) == CONNECTION_BAD)
		rc = set_error(err, pc->pg, failed);
	PQclear(failed);
	if (rc < 0)
		add_blocker(pc, err);
	return rc;
}

/*
 * Like run_simple() for strata's own SQL: notices are dropped, and a
 * position in our text would only mislead (the CLI relates positions to
 * migration files).
 */
static int run_quiet(struct pg_conn *pc, const char *sql,
                     struct strata_error *err)
{
	bool was_quiet = pc->is_quiet;
	int rc;

	if (flush_queue(pc, err) < 0)
		return -1;
	pc->is_quiet = true;
	rc = run_simple(pc->pg, sql, err);
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

	if (n > (int)ARRAY_SIZE(lengths))
		BUG("too many parameters");
	if (flush_queue(pc, err) < 0)
		return NULL;
	if (binary >= 0) {
		lengths[binary] = binary_len;
		formats[binary] = 1;
	}
	pc->is_quiet = true;
	res = PQexecParams(pc->pg, sql, n, types, values, lengths, formats,
	                   result_format);
	pc->is_quiet = was_quiet;
	if (res && (PQresultStatus(res) == PGRES_COMMAND_OK ||
	            PQresultStatus(res) == PGRES_TUPLES_OK))
		return res;
	set_error(err, pc->pg, res);
	if (err)
		err->position = 0; /* in our text: see run_quiet() */
	PQclear(res);
	return NULL;
}

static PGresult *query(struct pg_conn *pc, const char *sql, int n,
                       const Oid *types, const char *const *values, int binary,
                       int binary_len, struct strata_error *err)
{
	return query_as(pc, sql, n, types, values, binary, binary_len, 0, err);
}

/* ---- connecting --------------------------------------------------------- */

static double connect_timeout_s; /* 0: DEFAULT_CONNECT_TIMEOUT */

void strata_set_connect_timeout(double seconds)
{
	connect_timeout_s = seconds;
}

/*
 * The connect_timeout to pass before the URL (so that the URL's own
 * wins), in `buf`; NULL when PGCONNECT_TIMEOUT is set, which then wins
 * as libpq has it, or when there is none.
 */
static const char *connect_timeout(char buf[24])
{
	double s =
	        connect_timeout_s ? connect_timeout_s : DEFAULT_CONNECT_TIMEOUT;
	const char *env = getenv("PGCONNECT_TIMEOUT");
	long long whole = (long long)s;

	if (s < 0 || (env && *env))
		return NULL;
	/* whole seconds, rounded up; libpq takes 1 for 2 */
	if ((double)whole < s)
		whole++;
	snprintf(buf, 24, "%lld", whole < 2 ? 2 : whole);
	return buf;
}

/* PQconnectdbParams() with the connect timeout, marked as a call that
 * strata_cancel() cannot interrupt. */
static PGconn *connect_params(const char *const *keys, const char *const *vals,
                              int expand)
{
	const char *k[64], *v[64];
	char timeout[24];
	size_t n = 0;
	PGconn *pg;

	k[n] = "connect_timeout";
	v[n] = connect_timeout(timeout);
	if (v[n])
		n++;
	for (size_t i = 0; keys[i]; i++) {
		if (n + 1 >= ARRAY_SIZE(k))
			BUG("too many connection parameters");
		k[n] = keys[i];
		v[n++] = vals[i];
	}
	k[n] = v[n] = NULL;
	cancel_connecting(true);
	pg = PQconnectdbParams(k, v, expand);
	cancel_connecting(false);
	return pg;
}

static void cancel_session(struct cancel_hook *h)
{
	struct pg_cancel *c = (struct pg_cancel *)h;
	char buf[256];

	PQcancel(c->cancel, buf, sizeof(buf));
}

/* Lets strata_cancel() reach the session `pg` (connected). */
static void cancel_arm(struct pg_cancel *c, PGconn *pg)
{
	c->hook.fn = cancel_session;
	c->cancel = PQgetCancel(pg);
	if (c->cancel)
		cancel_register(&c->hook);
}

static void cancel_disarm(struct pg_cancel *c)
{
	if (!c->cancel)
		return;
	cancel_unregister(&c->hook);
	PQfreeCancel(c->cancel);
	c->cancel = NULL;
}

static void close_lock_conn(struct pg_conn *pc)
{
	cancel_disarm(&pc->lock_cancel);
	PQfinish(pc->lock_pg);
	pc->lock_pg = NULL;
	pc->is_locked = false;
	pc->is_announce_pending = false;
	pc->announced = NULL;
	PQfinish(pc->monitor_pg);
	pc->monitor_pg = NULL;
}

static void pg_close(struct strata_conn *c)
{
	struct pg_conn *pc = pg_conn_of(c);

	if (!pc)
		return;
	close_lock_conn(pc);
	cancel_disarm(&pc->cancel);
	PQfinish(pc->pg);
	queue_clear(pc);
	free(pc->queue);
	free(pc->blocker);
	free(pc->conninfo);
	free(pc->redacted);
	free(pc);
}

static int pg_connect(struct strata_conn **out, const struct strata_url *url,
                      struct strata_error *err)
{
	const char *const keys[] = { "dbname", "fallback_application_name",
		                     NULL };
	const char *const vals[] = { url->raw, "strata", NULL };
	struct pg_conn *pc = xcalloc(1, sizeof(*pc));
	char *password = NULL;
	int rc = -1;

	pc->base.drv = &pgdrv_driver;
	pc->conninfo = xstrdup(url->raw);
	pc->redacted = xstrdup(url->redacted);
	pc->pg = connect_params(keys, vals, 1);
	if (PQstatus(pc->pg) != CONNECTION_OK)
		password = conninfo_password(url->raw);
	if (check_connected(pc->pg, pc->redacted, password, err) < 0)
		goto done;
	cancel_arm(&pc->cancel, pc->pg);
	PQsetNoticeReceiver(pc->pg, on_notice, pc);
	pc->base.server_version = PQserverVersion(pc->pg);
	*out = &pc->base;
	pc = NULL;
	rc = 0;
done:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	pg_close(pc ? &pc->base : NULL);
	return rc;
}

/* ---- statements --------------------------------------------------------- */

static int pg_exec(struct strata_conn *c, const char *sql,
                   struct strata_error *err)
{
	return run_quiet(pg_conn_of(c), sql, err);
}

/* Each statement alone, as its own simple query; stop at the first error. */
static int run_each(struct pg_conn *pc, const struct strata_script *s,
                    struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	int rc = 0;

	if (flush_queue(pc, err) < 0)
		return -1;
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

struct pg_cmd {
	char *sql;
	int n;
	char **values;
	int *lengths, *formats;
	Oid *types;
};

static void queue_add(struct pg_conn *pc, const char *sql, int n,
                      const Oid *types, const char *const *values,
                      const int *lengths, const int *formats)
{
	struct pg_cmd *c;

	XGROW(pc->queue, pc->alloc_queue, pc->n_queue + 1);
	c = &pc->queue[pc->n_queue++];
	c->sql = xstrdup(sql);
	c->n = n;
	c->values = xcalloc(n ? (size_t)n : 1, sizeof(*c->values));
	c->lengths = xcalloc(n ? (size_t)n : 1, sizeof(*c->lengths));
	c->formats = xcalloc(n ? (size_t)n : 1, sizeof(*c->formats));
	c->types = xcalloc(n ? (size_t)n : 1, sizeof(*c->types));
	for (int i = 0; i < n; i++) {
		size_t len;

		c->lengths[i] = lengths ? lengths[i] : 0;
		c->formats[i] = formats ? formats[i] : 0;
		c->types[i] = types ? types[i] : 0;
		if (!values[i])
			continue;
		len = c->formats[i] ? (size_t)c->lengths[i] : strlen(values[i]);
		c->values[i] = xmalloc(len + 1);
		memcpy(c->values[i], values[i], len);
		c->values[i][len] = '\0';
	}
}

static void queue_clear(struct pg_conn *pc)
{
	for (size_t i = 0; i < pc->n_queue; i++) {
		struct pg_cmd *c = &pc->queue[i];

		for (int k = 0; k < c->n; k++)
			free(c->values[k]);
		free(c->values);
		free(c->lengths);
		free(c->formats);
		free(c->types);
		free(c->sql);
	}
	pc->n_queue = 0;
}

/*
 * One pipeline, one Sync, one round trip: the held-back commands, then
 * the script's statements (s may be NULL), then `last` (may be NULL).
 * After an error the server skips the rest (PGRES_PIPELINE_ABORTED), which
 * are read and dropped; a lost session ends the reading, as libpq returns
 * NULL once the connection is bad. On a statement's failure
 * err->statement is its number (`first` are before s's own); on another
 * command's, 0.
 */
static int pipeline_run(struct pg_conn *pc, const struct strata_script *s,
                        size_t first, const char *last,
                        struct strata_error *err)
{
	PGconn *pg = pc->pg;
	struct sbuf sql = SBUF_INIT;
	PGresult *res, *failed = NULL;
	size_t k = pc->n_queue, n_stmts = s ? s->n : 0;
	size_t total = k + n_stmts + (last ? 1 : 0);
	size_t sent = 0, at = 0, failed_at = 0;
	bool is_synced = false, is_done = false;
	int rc = -1;

	if (!PQenterPipelineMode(pg)) {
		queue_clear(pc);
		return set_error(err, pg, NULL);
	}
	for (; sent < total; sent++) {
		int ok;

		if (sent < k) {
			const struct pg_cmd *c = &pc->queue[sent];

			ok = PQsendQueryParams(pg, c->sql, c->n, c->types,
			                       (const char *const *)c->values,
			                       c->lengths, c->formats, 0);
		} else if (sent < k + n_stmts) {
			script_stmt_text(&sql, s, sent - k);
			/* the server holds results back until the Sync unless
			 * asked to flush: with a Flush after each statement its
			 * result tells when it ended (progress) */
			ok = PQsendQueryParams(pg, sql.buf, 0, NULL, NULL, NULL,
			                       NULL, 0) &&
			     PQsendFlushRequest(pg);
		} else {
			ok = PQsendQueryParams(pg, last, 0, NULL, NULL, NULL,
			                       NULL, 0);
		}
		if (!ok)
			break;
	}
	queue_clear(pc);
	/* even after a failed send: what was sent must be read */
	if (PQstatus(pg) == CONNECTION_OK)
		is_synced = PQpipelineSync(pg) == 1;
	/* results come in order: the script's statement k runs once the
	 * results of the commands before it are in */
	if (n_stmts)
		progress_statement(&pc->base, first + 1);
	while (is_synced) {
		res = await_result(pc) ? PQgetResult(pg) : NULL;
		if (!res) {
			/* each query's results end with NULL, the Sync's not */
			if (PQstatus(pg) == CONNECTION_BAD || ++at > sent)
				break;
			if (!failed && at > k && at < k + n_stmts)
				progress_statement(&pc->base,
				                   first + at - k + 1);
			continue;
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			is_done = true;
			break;
		}
		if (!failed && PQresultStatus(res) != PGRES_PIPELINE_ABORTED &&
		    !result_ok(pg, res)) {
			failed = res;
			failed_at = at + 1;
			continue;
		}
		PQclear(res);
	}
	if (failed) {
		set_error(err, pg, failed);
		add_blocker(pc, err);
	} else if (sent < total) {
		set_error(err, pg, NULL);
		failed_at = sent + 1;
	} else if (!is_done) {
		/* lost while reading: the command then running, if known */
		set_error(err, pg, NULL);
		failed_at = is_synced && at < sent ? at + 1 : 0;
	} else {
		rc = 0;
	}
	if (rc < 0 && err) {
		/* a number only for the script's own statements */
		err->statement = failed_at > k && failed_at <= k + n_stmts
		                         ? (int)(first + failed_at - k)
		                         : 0;
		if (!err->statement)
			err->position = 0;
	}
	leave_pipeline(pg);
	PQclear(failed);
	sbuf_release(&sql);
	return rc;
}

/* Sends what was held back, before anything whose result is read. */
static int flush_queue(struct pg_conn *pc, struct strata_error *err)
{
	return pc->n_queue ? pipeline_run(pc, NULL, 0, NULL, err) : 0;
}

/*
 * A long script goes in pipelines of PIPELINE_MAX statements: libpq keeps
 * every statement's text until its result is read, so one pipeline of a
 * file of a million INSERTs held it twice over. The script runs inside
 * the migration's transaction, which a Sync does not end; after a failure
 * nothing more is sent.
 */
#define PIPELINE_MAX 10000

static int run_pipeline(struct pg_conn *pc, const struct strata_script *s,
                        struct strata_error *err)
{
	struct strata_script part = *s;
	size_t done = 0;

	while (done < s->n) {
		part.stmts = s->stmts + done;
		part.n =
		        s->n - done < PIPELINE_MAX ? s->n - done : PIPELINE_MAX;
		if (pipeline_run(pc, &part, done, NULL, err) < 0)
			return -1;
		done += part.n;
	}
	return 0;
}

/* The whole text as one simple query, as sqlx sends a migration. */
static int run_whole(struct pg_conn *pc, const struct strata_script *s,
                     struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	int rc;

	if (flush_queue(pc, err) < 0)
		return -1;
	/* s->sql may be a section of a longer file (dbmate): copy to a NUL */
	sbuf_add(&sql, s->sql, s->len);
	rc = run_watched(pc, sql.buf, err);
	if (rc < 0 && err)
		err->statement = 0;
	sbuf_release(&sql);
	return rc;
}

static int pg_exec_script(struct strata_conn *c, const struct strata_script *s,
                          bool is_one_per_call, struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);

	start_watch(pc);
	announce(pc, true);
	/*
	 * COPY FROM STDIN cannot be pipelined: the server would read the next
	 * statement as COPY data and end the session. Alone it fails cleanly.
	 */
	if (is_one_per_call || (s->is_parsed && (s->flags & STMT_COPY_STDIN)))
		return run_each(pc, s, err);
	if (s->is_parsed)
		return s->n ? run_pipeline(pc, s, err) : 0;
	return s->len ? run_whole(pc, s, err) : 0;
}

/* ---- transactions ------------------------------------------------------- */

static int pg_begin(struct strata_conn *c, struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);

	if (flush_queue(pc, err) < 0)
		return -1;
	/* held back: sent with the transaction's first round trip */
	queue_add(pc, "BEGIN", 0, NULL, NULL, NULL, NULL);
	pc->is_lazy_txn = true;
	return 0;
}

static int pg_commit(struct strata_conn *c, struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	PGTransactionStatusType before = PQtransactionStatus(pc->pg);

	pc->is_lazy_txn = false;
	/* the held-back rows and COMMIT: one round trip */
	if (pipeline_run(pc, NULL, 0, "COMMIT", err) < 0)
		return -1;
	/* COMMIT of a failed transaction succeeds, and rolls back */
	if (before == PQTRANS_INERROR) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "the transaction was rolled back, not committed");
		if (err)
			memcpy(err->sqlstate, "25P02", 6);
		return strata_error_detail(
		        err, "A statement of the transaction had failed.");
	}
	return 0;
}

static void pg_rollback(struct strata_conn *c)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct strata_error ignored = STRATA_ERROR_INIT;

	/* held back means never sent: nothing to undo on the server */
	queue_clear(pc);
	pc->is_lazy_txn = false;
	if (PQstatus(pc->pg) != CONNECTION_OK ||
	    PQtransactionStatus(pc->pg) == PQTRANS_IDLE)
		return;
	run_quiet(pc, "ROLLBACK", &ignored);
	strata_error_release(&ignored);
}

/* ---- the migration lock ------------------------------------------------- */

struct lock_holder {
	int pid; /* 0: unknown */
	char *application;
	char *state;
	char *query;
	double age; /* seconds since its state changed; < 0: unknown */
};

static void lock_holder_release(struct lock_holder *h)
{
	free(h->application);
	free(h->state);
	free(h->query);
	memset(h, 0, sizeof(*h));
}

/*
 * Who holds the bigint advisory lock `key` in this database: pg_locks
 * shows it as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
 * Best effort: any failure leaves the holder unknown.
 */
static void find_lock_holder(struct lock_holder *out, PGconn *pg, int64_t key)
{
	static const char sql[] =
	        "SELECT coalesce(l.pid, 0), coalesce(a.application_name, ''),\n"
	        "       coalesce(a.state, ''),\n"
	        "       CASE WHEN length(q) > 200 THEN left(q, 200) || '...'\n"
	        "            ELSE q END,\n"
	        "       coalesce(extract(epoch FROM pg_catalog.clock_timestamp()\n"
	        "                               - a.state_change), -1)\n"
	        "  FROM pg_catalog.pg_locks l\n"
	        "  LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid,\n"
	        "  LATERAL (SELECT btrim(regexp_replace(coalesce(a.query, ''),\n"
	        "                  '[[:space:]]+', ' ', 'g')) AS q) t\n"
	        " WHERE l.locktype = 'advisory' AND l.classid = $1::oid\n"
	        "   AND l.objid = $2::oid AND l.objsubid = 1 AND l.granted\n"
	        "   AND l.database = (SELECT oid FROM pg_catalog.pg_database\n"
	        "                      WHERE datname = current_database())\n"
	        " LIMIT 1";
	char hi[16], lo[16];
	const char *vals[] = { hi, lo };
	PGresult *res;

	lock_holder_release(out);
	snprintf(hi, sizeof(hi), "%" PRIu32, (uint32_t)((uint64_t)key >> 32));
	snprintf(lo, sizeof(lo), "%" PRIu32, (uint32_t)key);
	res = PQexecParams(pg, sql, 2, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		out->pid = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
		out->application = xstrdup(PQgetvalue(res, 0, 1));
		out->state = xstrdup(PQgetvalue(res, 0, 2));
		out->query = xstrdup(PQgetvalue(res, 0, 3));
		out->age = strtod(PQgetvalue(res, 0, 4), NULL);
	}
	PQclear(res);
}

/*
 * The holder as a waiter shows it: "pid 123 (strata, applying
 * 20250101120000 create users, for 12.3 s)" when it is a strata (its
 * lock session says which migration: see announce()), never the text of
 * strata's own queries; else "pid 123 (application 'deployer')", its
 * query being the caller's to add. Whether it is a strata: the return.
 */
static bool describe_holder(struct sbuf *sb, const struct lock_holder *h)
{
	const char *app = h->application ? h->application : "";

	sbuf_addf(sb, "pid %d (", h->pid);
	if (strcmp(app, "strata") && strncmp(app, "strata: ", 8)) {
		sbuf_addf(sb, "application '%s')", app);
		return false;
	}
	sbuf_adds(sb, "strata");
	/* a plain "strata" has not started a migration: no age to tell */
	if (app[6] && h->age >= 0)
		sbuf_addf(sb, ", %s, for %.1f s", app + 8, h->age);
	else if (app[6])
		sbuf_addf(sb, ", %s", app + 8);
	sbuf_addch(sb, ')');
	return true;
}

static void emit_lock_event(struct pg_conn *pc, enum strata_event_kind kind,
                            const struct lock_holder *h, double waited)
{
	struct strata_event ev = { .kind = kind };
	struct sbuf msg = SBUF_INIT;
	bool is_strata = false;

	if (kind == STRATA_EVENT_LOCK_WAIT && h->pid) {
		sbuf_adds(&msg, "waiting for the migration lock, held by ");
		is_strata = describe_holder(&msg, h);
	} else if (kind == STRATA_EVENT_LOCK_WAIT) {
		sbuf_adds(&msg, "waiting for the migration lock");
	} else {
		sbuf_addf(&msg, "took the migration lock after %.1f s", waited);
	}
	ev.message = msg.buf;
	ev.holder_pid = h->pid;
	ev.holder_application = h->application;
	ev.holder_query = is_strata ? NULL : h->query;
	ev.waited_seconds = waited;
	driver_emit(&pc->base, &ev);
	sbuf_release(&msg);
}

static int lock_timeout(struct strata_error *err, double wait,
                        const struct lock_holder *h)
{
	struct sbuf who = SBUF_INIT;
	bool is_strata = h->pid && describe_holder(&who, h);

	if (!h->pid)
		strata_error_set(
		        err, STRATA_ELOCK,
		        "could not take the migration lock within %g s", wait);
	else
		strata_error_set(
		        err, STRATA_ELOCK,
		        "could not take the migration lock within %g s: held by %s",
		        wait, who.buf);
	sbuf_release(&who);
	if (h->pid && !is_strata && h->query && *h->query)
		strata_error_detail(
		        err, "Its state is '%s'; its %s query: %s", h->state,
		        strcmp(h->state, "active") ? "last" : "current",
		        h->query);
	return strata_error_hint(
	        err,
	        "Wait for the other migration to finish, or raise --lock-wait.");
}

/*
 * A further session on the very server the main session reached (host,
 * port and address pinned, should the URL list several hosts), named
 * `application`; `timeout` (or NULL) bounds its connecting more tightly.
 */
static PGconn *connect_sibling(struct pg_conn *pc, const char *application,
                               const char *timeout)
{
	const char *keys[7], *vals[7];
	const char *host = PQhost(pc->pg), *port = PQport(pc->pg);
	const char *addr = PQhostaddr(pc->pg);
	size_t n = 0;

	keys[n] = "dbname";
	vals[n++] = pc->conninfo;
	if (host && *host) {
		keys[n] = "host";
		vals[n++] = host;
	}
	if (port && *port) {
		keys[n] = "port";
		vals[n++] = port;
	}
	if (host && *host && addr && *addr) {
		keys[n] = "hostaddr";
		vals[n++] = addr;
	}
	keys[n] = "application_name";
	vals[n++] = application;
	if (timeout) {
		keys[n] = "connect_timeout";
		vals[n++] = timeout;
	}
	keys[n] = vals[n] = NULL;
	return connect_params(keys, vals, 1);
}

/* The lock's own session, named "strata" so that waiters can tell who
 * holds it. */
static int open_lock_conn(struct pg_conn *pc, struct strata_error *err)
{
	char *password = NULL;
	PGresult *res = NULL;
	int rc = -1;

	pc->lock_pg = connect_sibling(pc, "strata", NULL);
	if (PQstatus(pc->lock_pg) != CONNECTION_OK)
		password = conninfo_password(pc->conninfo);
	if (check_connected(pc->lock_pg, pc->redacted, password, err) < 0)
		goto done;
	cancel_arm(&pc->lock_cancel, pc->lock_pg);
	PQsetNoticeReceiver(pc->lock_pg, drop_notice, NULL);
	res = PQexec(pc->lock_pg, "SELECT current_database()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		set_error(err, pc->lock_pg, res);
		goto done;
	}
	pc->lock_key = lockkey_for_database(PQgetvalue(res, 0, 0));
	rc = 0;
done:
	PQclear(res);
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	if (rc < 0)
		close_lock_conn(pc);
	return rc;
}

/* Reads the result of announce() on the lock session, if one is due. */
static void lock_drain(struct pg_conn *pc)
{
	PGresult *res;

	if (!pc->is_announce_pending)
		return;
	while ((res = PQgetResult(pc->lock_pg)))
		PQclear(res);
	pc->is_announce_pending = false;
}

/*
 * The session that looks at a waiting statement: "strata monitor", on
 * the server the others reached, opened once per command when first
 * needed; else (it could not be opened) the lock session. Best effort:
 * NULL when neither can be used.
 */
static PGconn *monitor_session(struct pg_conn *pc)
{
	if (!pc->monitor_pg && !pc->is_monitor_failed) {
		/* a look at progress never holds the migration up long */
		pc->monitor_pg = connect_sibling(pc, "strata monitor", "5");
		if (PQstatus(pc->monitor_pg) != CONNECTION_OK) {
			PQfinish(pc->monitor_pg);
			pc->monitor_pg = NULL;
			pc->is_monitor_failed = true;
		} else {
			PQsetNoticeReceiver(pc->monitor_pg, drop_notice, NULL);
		}
	}
	if (pc->monitor_pg && PQstatus(pc->monitor_pg) == CONNECTION_OK)
		return pc->monitor_pg;
	if (!pc->lock_pg || PQstatus(pc->lock_pg) != CONNECTION_OK)
		return NULL;
	lock_drain(pc);
	return pc->lock_pg;
}

/*
 * The lock session's application_name says which migration its holder
 * applies, "strata: applying 20250101120000 create users", for waiting
 * runners to show (and pg_stat_activity.state_change since when). Set once
 * a statement has run long enough to be looked at (is_reset false), and
 * back to "strata" when the next migration starts: a quick migration
 * costs nothing. Sent without waiting for its result (lock_drain() reads
 * it).
 */
static void announce(struct pg_conn *pc, bool is_reset)
{
	const struct progress *p = pc->base.progress;
	char name[64]; /* NAMEDATALEN - 1 bytes: as the server keeps it */
	const char *vals[] = { name };
	size_t n;

	if (!pc->is_locked || PQstatus(pc->lock_pg) != CONNECTION_OK)
		return;
	if (is_reset ? !pc->announced || (p && p->m == pc->announced)
	             : !p || !p->m || p->m == pc->announced)
		return;
	lock_drain(pc);
	if (is_reset) {
		snprintf(name, sizeof(name), "strata");
	} else {
		n = (size_t)snprintf(name, sizeof(name),
		                     "strata: %s %" PRId64 " %s",
		                     p->is_down ? "reverting" : "applying",
		                     p->m->version, p->m->description);
		/* never half a UTF-8 character at the cut */
		if (n >= sizeof(name)) {
			n = sizeof(name) - 1;
			while (n && ((unsigned char)name[n] & 0xc0) == 0x80)
				n--;
			name[n] = '\0';
		}
	}
	if (PQsendQueryParams(
	            pc->lock_pg,
	            "SELECT pg_catalog.set_config('application_name', $1, false)",
	            1, NULL, vals, NULL, NULL, 0))
		pc->is_announce_pending = true;
	pc->announced = is_reset ? NULL : p->m;
}

/* 1 when taken, 0 when someone else holds it, -1 on error. */
static int try_lock(struct pg_conn *pc, struct strata_error *err)
{
	char key[24];
	const char *vals[] = { key };
	PGresult *res;
	int rc;

	snprintf(key, sizeof(key), "%" PRId64, pc->lock_key);
	res = PQexecParams(pc->lock_pg,
	                   "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL,
	                   vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		rc = set_error(err, pc->lock_pg, res);
	else
		rc = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return rc;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
		               (long)(ms % 1000) * 1000000 };

	/* a signal ends the nap when it cancelled the wait */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR &&
	       !strata_is_cancelled())
		;
}

/*
 * SPEC, History table: polls pg_try_advisory_lock, never the blocking
 * pg_advisory_lock, so that a waiter never sits inside a statement (it
 * would hold a snapshot that CREATE INDEX CONCURRENTLY of the holder
 * waits for: a deadlock). Every 50 ms at first, then less often.
 */
static int pg_lock(struct strata_conn *c, double wait, struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct lock_holder holder = { 0 };
	int64_t start, reported = 0, interval = LOCK_POLL_FIRST_MS;
	bool has_waited = false;
	int rc = -1;

	if (pc->is_locked)
		return 0;
	if (open_lock_conn(pc, err) < 0)
		return -1;
	start = text_monotonic_ns();
	for (;;) {
		int got = strata_is_cancelled() ? 0 : try_lock(pc, err);
		int64_t now = text_monotonic_ns(), nap;
		double waited = (double)(now - start) / 1e9;

		if (got < 0)
			goto done;
		if (strata_is_cancelled()) {
			strata_error_set(
			        err, STRATA_ECANCELED,
			        "cancelled while waiting for the migration lock");
			goto done;
		}
		if (got) {
			if (has_waited)
				emit_lock_event(pc, STRATA_EVENT_LOCK_ACQUIRED,
				                &holder, waited);
			break;
		}
		if (wait >= 0 && waited >= wait) {
			find_lock_holder(&holder, pc->lock_pg, pc->lock_key);
			lock_timeout(err, wait, &holder);
			goto done;
		}
		if (!has_waited || now - reported >= LOCK_REPORT_NS) {
			find_lock_holder(&holder, pc->lock_pg, pc->lock_key);
			emit_lock_event(pc, STRATA_EVENT_LOCK_WAIT, &holder,
			                waited);
			reported = now;
			has_waited = true;
		}
		nap = interval;
		if (wait >= 0 && (wait - waited) * 1000 < (double)nap)
			nap = (int64_t)((wait - waited) * 1000) + 1;
		sleep_ms(nap);
		interval = interval * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS
		                                           : interval * 2;
	}
	pc->is_locked = true;
	rc = 0;
done:
	lock_holder_release(&holder);
	if (rc < 0)
		close_lock_conn(pc);
	return rc;
}

/*
 * The lock lives as long as its session, which a DBA's
 * pg_terminate_backend(), idle_session_timeout or a restart may end while
 * the migration session goes on. An idle session is sent something only
 * when it ends, so a look at its socket (no round trip) says whether to
 * make sure with a query.
 */
static int pg_lock_check(struct strata_conn *c, struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct pollfd p = { .fd = -1, .events = POLLIN };
	PGresult *res;
	char *why;
	int n;

	if (!pc->is_locked)
		return 0;
	lock_drain(pc);
	if (PQstatus(pc->lock_pg) == CONNECTION_OK) {
		p.fd = PQsocket(pc->lock_pg);
		do
			n = poll(&p, 1, 0);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			return 0;
		res = PQexec(pc->lock_pg, "SELECT 1");
		n = PQresultStatus(res) == PGRES_TUPLES_OK;
		PQclear(res);
		if (n)
			return 0;
	}
	/* the first line: the server's reason, when it gave one */
	why = trimmed(PQerrorMessage(pc->lock_pg));
	why[strcspn(why, "\n")] = '\0';
	strata_error_set(err, STRATA_ELOCK,
	                 "lost the migration lock: its session ended");
	if (*why)
		strata_error_detail(err, "%s", why);
	free(why);
	return strata_error_hint(
	        err,
	        "Nothing more was committed once it was lost. Another strata may hold the lock now: run again when it is done.");
}

/* Releases the lock and closes its session (which releases it anyway). */
static void pg_unlock(struct strata_conn *c)
{
	struct pg_conn *pc = pg_conn_of(c);
	char key[24];
	const char *vals[] = { key };

	if (pc->lock_pg && pc->is_locked &&
	    PQstatus(pc->lock_pg) == CONNECTION_OK) {
		lock_drain(pc);
		snprintf(key, sizeof(key), "%" PRId64, pc->lock_key);
		PQclear(PQexecParams(pc->lock_pg,
		                     "SELECT pg_advisory_unlock($1::bigint)", 1,
		                     NULL, vals, NULL, NULL, 0));
	}
	close_lock_conn(pc);
}

/* ---- the history table -------------------------------------------------- */

/*
 * CREATE TABLE IF NOT EXISTS refused for want of the CREATE privilege on
 * the schema (42501), which PostgreSQL checks before it looks for the
 * table: a table made by the schema's owner is used as it is; else the
 * error says which table strata was creating and the GRANT that lets it.
 */
static int pg_create_failed(struct strata_conn *c, const struct table_name *t,
                            const char *what, struct strata_error *err)
{
	static const char sql[] =
	        "SELECT pg_catalog.to_regclass($1) IS NOT NULL, pg_catalog.quote_ident(coalesce($2, pg_catalog.current_schema())), pg_catalog.quote_ident($3), pg_catalog.quote_ident(current_user)";
	struct pg_conn *pc = pg_conn_of(c);
	const char *vals[] = { t->quoted, t->schema, t->name };
	PGresult *res;
	int rc = -1;

	if (!err || strcmp(err->sqlstate, "42501"))
		return -1;
	res = PQexecParams(pc->pg, sql, 3, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		goto done;
	if (!strcmp(PQgetvalue(res, 0, 0), "t")) {
		strata_error_release(err);
		rc = 0;
		goto done;
	}
	error_prefix(err, "could not create the %s %s.%s", what,
	             PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	strata_error_hint(
	        err,
	        "Grant the role the right to create it (GRANT CREATE ON SCHEMA %s TO %s;), have the schema's owner create it, or keep the history in a schema the role may create in (--table schema.name).",
	        PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 3));
done:
	PQclear(res);
	return rc;
}

/* exactly sqlx's DDL (sqlx-postgres, ensure_migrations_table) */
static const char pg_history_ddl[] =
        "CREATE TABLE IF NOT EXISTS %s (\n"
        "    version BIGINT PRIMARY KEY,\n"
        "    description TEXT NOT NULL,\n"
        "    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
        "    success BOOLEAN NOT NULL,\n"
        "    checksum BYTEA NOT NULL,\n"
        "    execution_time BIGINT NOT NULL\n"
        ");";

static int pg_table_exists(bool *out, struct strata_conn *c,
                           const struct table_name *t, struct strata_error *err)
{
	const char *vals[] = { t->quoted };
	PGresult *res = query(pg_conn_of(c),
	                      "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
	                      1, NULL, vals, -1, 0, err);

	if (!res)
		return -1;
	*out = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return 0;
}

/* ---- databases themselves ----------------------------------------------- */

/* The URL's options as keyword/value arrays, without dbname. */
struct conn_params {
	PQconninfoOption *opts;
	const char **keys, **vals;
	size_t n;
	const char *dbname;   /* as the URL gives it; NULL when absent */
	const char *password; /* likewise */
	bool has_app_name;
};

static void conn_params_release(struct conn_params *p)
{
	PQconninfoFree(p->opts);
	free(p->keys);
	free(p->vals);
	memset(p, 0, sizeof(*p));
}

static int conn_params_init(struct conn_params *p, const struct strata_url *url,
                            struct strata_error *err)
{
	size_t count = 0;

	memset(p, 0, sizeof(*p));
	p->opts = PQconninfoParse(url->raw, NULL);
	if (!p->opts)
		return strata_error_set(err, STRATA_EUSAGE,
		                        "invalid PostgreSQL URL '%s'",
		                        url->redacted);
	for (PQconninfoOption *o = p->opts; o->keyword; o++)
		count++;
	/* room for dbname, fallback_application_name and the NULL */
	p->keys = xcalloc(count + 3, sizeof(*p->keys));
	p->vals = xcalloc(count + 3, sizeof(*p->vals));
	for (PQconninfoOption *o = p->opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (!strcmp(o->keyword, "dbname")) {
			p->dbname = *o->val ? o->val : NULL;
			continue;
		}
		if (!strcmp(o->keyword, "password"))
			p->password = o->val;
		if (!strcmp(o->keyword, "application_name") ||
		    !strcmp(o->keyword, "fallback_application_name"))
			p->has_app_name = true;
		p->keys[p->n] = o->keyword;
		p->vals[p->n++] = o->val;
	}
	if (!p->has_app_name) {
		p->keys[p->n] = "fallback_application_name";
		p->vals[p->n++] = "strata";
	}
	return 0;
}

/*
 * The database the URL names when it names none, exactly as libpq
 * resolves it (a service file's dbname, else PGDATABASE, else the user
 * name, itself from the service, PGUSER or the login): libpq has no
 * call for that but PQconnectStart, whose attempt is dropped at once,
 * before any startup packet.
 */
static char *default_dbname(struct conn_params *p)
{
	PGconn *probe;
	char *name = NULL;

	p->keys[p->n] = NULL;
	probe = PQconnectStartParams(p->keys, p->vals, 0);
	if (probe && PQdb(probe) && *PQdb(probe))
		name = xstrdup(PQdb(probe));
	PQfinish(probe);
	return name;
}

/*
 * A session on the maintenance database, "postgres" else "template1"
 * (as createdb), with the URL's other options; `*out_target` is the
 * database the URL means.
 */
static int maintenance_connect(PGconn **out, char **out_target,
                               const struct strata_url *url,
                               struct strata_error *err)
{
	struct conn_params p;
	const char *maint[] = { "postgres", "template1" };
	PGconn *pg = NULL;
	int rc = -1;

	*out = NULL;
	*out_target = NULL;
	if (conn_params_init(&p, url, err) < 0)
		return -1;
	/* dropping "postgres" itself needs another maintenance database */
	if (p.dbname && !strcmp(p.dbname, "postgres")) {
		maint[0] = "template1";
		maint[1] = "postgres";
	}
	for (size_t i = 0; i < ARRAY_SIZE(maint); i++) {
		p.keys[p.n] = "dbname";
		p.vals[p.n] = maint[i];
		p.keys[p.n + 1] = p.vals[p.n + 1] = NULL;
		pg = connect_params(p.keys, p.vals, 0);
		if (pg && PQstatus(pg) == CONNECTION_OK)
			break;
		/* as createdb: if both fail, the first reason is the one */
		if (i == 0)
			check_connected(pg, url->redacted, p.password, err);
		PQfinish(pg);
		pg = NULL;
	}
	if (!pg)
		goto done;
	strata_error_release(err);
	PQsetNoticeReceiver(pg, drop_notice, NULL);
	*out_target = p.dbname ? xstrdup(p.dbname) : default_dbname(&p);
	if (!*out_target) {
		strata_error_set(err, STRATA_EUSAGE, "'%s' names no database",
		                 url->redacted);
		goto done;
	}
	*out = pg;
	pg = NULL;
	rc = 0;
done:
	PQfinish(pg);
	conn_params_release(&p);
	return rc;
}

static int database_exists(bool *out, PGconn *pg, const char *name,
                           struct strata_error *err)
{
	const char *vals[] = { name };
	PGresult *res = PQexecParams(
	        pg, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
	        1, NULL, vals, NULL, NULL, 0);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = set_error(err, pg, res);
	else
		*out = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

static int pg_database_exists(bool *out, const struct strata_url *url,
                              struct strata_error *err)
{
	PGconn *pg;
	char *name;
	int rc;

	if (maintenance_connect(&pg, &name, url, err) < 0)
		return -1;
	rc = database_exists(out, pg, name, err);
	PQfinish(pg);
	free(name);
	return rc;
}

static int pg_database_create(const struct strata_url *url,
                              struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	PGconn *pg;
	char *name;
	bool exists = false;
	int rc = -1;

	if (maintenance_connect(&pg, &name, url, err) < 0)
		return -1;
	if (database_exists(&exists, pg, name, err) < 0)
		goto done;
	if (!exists) {
		sbuf_adds(&sql, "CREATE DATABASE ");
		sbuf_add_ident(&sql, name);
		if (run_simple(pg, sql.buf, err) < 0) {
			/* 42P04: created meanwhile, which is what was asked */
			if (!err || strcmp(err->sqlstate, "42P04"))
				goto done;
			strata_error_release(err);
		}
	}
	rc = 0;
done:
	sbuf_release(&sql);
	PQfinish(pg);
	free(name);
	return rc;
}

static int pg_database_drop(const struct strata_url *url, bool is_force,
                            struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	const char *vals[1];
	PGconn *pg;
	PGresult *res;
	char *name;
	int rc = -1;

	if (maintenance_connect(&pg, &name, url, err) < 0)
		return -1;
	vals[0] = name;
	if (is_force && PQserverVersion(pg) < 130000) {
		/* no WITH (FORCE) before PostgreSQL 13: end the sessions */
		res = PQexecParams(
		        pg,
		        "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
		        1, NULL, vals, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			set_error(err, pg, res);
			PQclear(res);
			goto done;
		}
		PQclear(res);
	}
	sbuf_adds(&sql, "DROP DATABASE IF EXISTS ");
	sbuf_add_ident(&sql, name);
	if (is_force && PQserverVersion(pg) >= 130000)
		sbuf_adds(&sql, " WITH (FORCE)");
	if (run_simple(pg, sql.buf, err) < 0) {
		/* 55006: other sessions are connected to it */
		if (err && !strcmp(err->sqlstate, "55006") && !is_force)
			strata_error_hint(
			        err,
			        "End the other sessions first, or drop it with force.");
		goto done;
	}
	rc = 0;
done:
	sbuf_release(&sql);
	PQfinish(pg);
	free(name);
	return rc;
}

/* ---- timeouts ---------------------------------------------------------- */

static int pg_set_timeouts(struct strata_conn *c, int64_t lock_ms,
                           int64_t statement_ms, bool is_local,
                           struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	char lock_sql[80], stmt_sql[80];

	pc->lock_ms = lock_ms;
	if (lock_ms < 0 && statement_ms < 0) {
		if (flush_queue(pc, err) < 0)
			return -1;
		return run_quiet(
		        pc, "RESET lock_timeout; RESET statement_timeout", err);
	}
	snprintf(lock_sql, sizeof(lock_sql), "SET %slock_timeout = %" PRId64,
	         is_local ? "LOCAL " : "", lock_ms);
	snprintf(stmt_sql, sizeof(stmt_sql),
	         "SET %sstatement_timeout = %" PRId64, is_local ? "LOCAL " : "",
	         statement_ms);
	if (pc->is_lazy_txn) {
		/* with the transaction's first round trip */
		queue_add(pc, lock_sql, 0, NULL, NULL, NULL, NULL);
		queue_add(pc, stmt_sql, 0, NULL, NULL, NULL, NULL);
		return 0;
	}
	if (flush_queue(pc, err) < 0 || run_quiet(pc, lock_sql, err) < 0)
		return -1;
	return run_quiet(pc, stmt_sql, err);
}

/* ---- generic queries (strata's own tables) ----------------------------- */

/* db_value parameters as libpq takes them. */
struct pg_params {
	const char **values;
	int *lengths, *formats;
	Oid *types;
	char (*ints)[24];
};

static void pg_params_init(struct pg_params *p, size_t n,
                           const struct db_value *params)
{
	p->values = xcalloc(n ? n : 1, sizeof(*p->values));
	p->lengths = xcalloc(n ? n : 1, sizeof(*p->lengths));
	p->formats = xcalloc(n ? n : 1, sizeof(*p->formats));
	p->types = xcalloc(n ? n : 1, sizeof(*p->types));
	p->ints = xcalloc(n ? n : 1, sizeof(*p->ints));
	for (size_t i = 0; i < n; i++) {
		switch (params[i].type) {
		case DBV_NULL:
			break;
		case DBV_INT64:
			snprintf(p->ints[i], sizeof(p->ints[i]), "%" PRId64,
			         params[i].i);
			p->values[i] = p->ints[i];
			p->types[i] = INT8OID;
			break;
		case DBV_TEXT:
			p->values[i] = params[i].s;
			break;
		case DBV_BLOB:
			p->values[i] = params[i].blob;
			p->lengths[i] = (int)params[i].len;
			p->formats[i] = 1;
			p->types[i] = BYTEAOID;
			break;
		}
	}
}

static void pg_params_release(struct pg_params *p)
{
	free(p->values);
	free(p->lengths);
	free(p->formats);
	free(p->types);
	free(p->ints);
}

/*
 * A held-back command keeps a copy of its parameters until COMMIT; one
 * larger than this (a large migration's text in the audit trail) is sent
 * at once instead, a round trip for not holding the text twice.
 */
#define QUEUED_MAX (1u << 20)

static size_t params_size(const struct pg_params *p, size_t n)
{
	size_t size = 0;

	for (size_t i = 0; i < n; i++)
		if (p->values[i])
			size += p->formats[i] ? (size_t)p->lengths[i]
			                      : strlen(p->values[i]);
	return size;
}

static int pg_query_generic(struct strata_conn *c, const char *sql, size_t n,
                            const struct db_value *params, struct db_rows *out,
                            struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct pg_params p;
	bool was_quiet = pc->is_quiet;
	PGresult *res = NULL;
	int rc = -1;

	pg_params_init(&p, n, params);
	if (!out && pc->is_lazy_txn && params_size(&p, n) < QUEUED_MAX) {
		/* a row of the transaction (the audit trail's): with COMMIT */
		queue_add(pc, sql, (int)n, p.types, p.values, p.lengths,
		          p.formats);
		rc = 0;
		goto done;
	}
	if (flush_queue(pc, err) < 0)
		goto done;
	pc->is_quiet = true;
	res = PQexecParams(pc->pg, sql, (int)n, p.types, p.values, p.lengths,
	                   p.formats, 0);
	pc->is_quiet = was_quiet;
	if (!res || (PQresultStatus(res) != PGRES_COMMAND_OK &&
	             PQresultStatus(res) != PGRES_TUPLES_OK)) {
		set_error(err, pc->pg, res);
		if (err)
			err->position = 0; /* in our text, not a migration's */
		goto done;
	}
	if (out) {
		size_t rows = (size_t)PQntuples(res),
		       cols = (size_t)PQnfields(res);

		memset(out, 0, sizeof(*out));
		out->n_rows = rows;
		out->n_cols = cols;
		out->cells = xcalloc(rows * cols > 0 ? rows * cols : 1,
		                     sizeof(*out->cells));
		for (size_t r = 0; r < rows; r++)
			for (size_t k = 0; k < cols; k++)
				if (!PQgetisnull(res, (int)r, (int)k))
					out->cells[r * cols + k] =
					        arena_strndup(
					                &out->strings,
					                PQgetvalue(res, (int)r,
					                           (int)k),
					                (size_t)PQgetlength(
					                        res, (int)r,
					                        (int)k));
	}
	rc = 0;
done:
	PQclear(res);
	pg_params_release(&p);
	return rc;
}

/* Row by row (single-row mode): no whole result in memory at once. */
static int pg_query_each(struct strata_conn *c, const char *sql, size_t n,
                         const struct db_value *params, db_row_fn *fn,
                         void *data, struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct pg_params p;
	bool was_quiet = pc->is_quiet;
	const char *cells[64];
	PGresult *res;
	int rc = -1;

	if (flush_queue(pc, err) < 0)
		return -1;
	pg_params_init(&p, n, params);
	pc->is_quiet = true;
	if (!PQsendQueryParams(pc->pg, sql, (int)n, p.types, p.values,
	                       p.lengths, p.formats, 0)) {
		set_error(err, pc->pg, NULL);
		goto done;
	}
	PQsetSingleRowMode(pc->pg); /* refused: one result, as correct */
	rc = 0;
	while ((res = PQgetResult(pc->pg))) {
		ExecStatusType status = PQresultStatus(res);

		if (status == PGRES_SINGLE_TUPLE || status == PGRES_TUPLES_OK) {
			int cols = PQnfields(res);

			if (cols > (int)ARRAY_SIZE(cells))
				BUG("too many columns");
			for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
				for (int k = 0; k < cols; k++)
					cells[k] =
					        PQgetisnull(res, r, k)
					                ? NULL
					                : PQgetvalue(res, r, k);
				rc = fn(data, cells, (size_t)cols);
			}
		} else if (status != PGRES_COMMAND_OK && rc == 0) {
			set_error(err, pc->pg, res);
			if (err)
				err->position = 0;
			rc = -1;
		}
		PQclear(res);
	}
done:
	pc->is_quiet = was_quiet;
	pg_params_release(&p);
	return rc;
}

static const char pg_audit_ddl[] = "CREATE TABLE IF NOT EXISTS %s (\n"
                                   "    id BIGSERIAL PRIMARY KEY,\n"
                                   "    action TEXT NOT NULL,\n"
                                   "    version BIGINT,\n"
                                   "    description TEXT,\n"
                                   "    checksum BYTEA,\n"
                                   "    outcome TEXT NOT NULL,\n"
                                   "    error TEXT,\n"
                                   "    sqlstate TEXT,\n"
                                   "    started_at TIMESTAMPTZ NOT NULL,\n"
                                   "    finished_at TIMESTAMPTZ NOT NULL,\n"
                                   "    duration_ns BIGINT NOT NULL,\n"
                                   "    lock_wait_ns BIGINT,\n"
                                   "    os_user TEXT,\n"
                                   "    db_user TEXT,\n"
                                   "    host TEXT,\n"
                                   "    pid INTEGER,\n"
                                   "    strata_version TEXT NOT NULL,\n"
                                   "    command TEXT,\n"
                                   "    git_commit TEXT,\n"
                                   "    up_sql TEXT,\n"
                                   "    down_sql TEXT\n"
                                   ")";

const struct strata_driver pgdrv_driver = {
	.name = "postgres",
	/* libpg_query keeps its state per thread: split() on several */
	.caps = DRV_TXN_DDL | DRV_ADVISORY_LOCK | DRV_PG_SQL |
	        DRV_SPLIT_THREADS,
	.connect = pg_connect,
	.close = pg_close,
	.split = split_pg,
	.split_keep = split_pg_keep,
	.exec = pg_exec,
	.exec_script = pg_exec_script,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.lock = pg_lock,
	.unlock = pg_unlock,
	.lock_check = pg_lock_check,
	.create_failed = pg_create_failed,
	.table_exists = pg_table_exists,
	.query = pg_query_generic,
	.query_each = pg_query_each,
	.set_timeouts = pg_set_timeouts,
	.audit_ddl = pg_audit_ddl,
	.history_ddl = pg_history_ddl,
	.current_user = "current_user",
	.iso_time =
	        "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
	.timestamp_iso = "to_char(CAST(%s AS TIMESTAMPTZ) AT TIME ZONE 'UTC', "
	                 "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
	.hex = "encode(CAST(%s AS BYTEA), 'hex')",
	.database_create = pg_database_create,
	.database_drop = pg_database_drop,
	.database_exists = pg_database_exists,
	.backup = &pgbackup_ops,
};

/* ---- for backup_pg.c (driver_pg.h) -------------------------------------- */

PGconn *pgdrv_session(struct strata_conn *c)
{
	return pg_conn_of(c)->pg;
}

int pgdrv_error(struct strata_error *err, PGconn *pg, const PGresult *res)
{
	return set_error(err, pg, res);
}

int pgdrv_maintenance_connect(PGconn **out, char **out_target,
                              const struct strata_url *url,
                              struct strata_error *err)
{
	return maintenance_connect(out, out_target, url, err);
}

int pgdrv_run(PGconn *pg, const char *sql, struct strata_error *err)
{
	return run_simple(pg, sql, err);
}
