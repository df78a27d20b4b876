/*
 * The PostgreSQL driver's migration lock: sqlx's advisory lock, taken on a
 * dedicated session by polling (design.md, The lock), its holder named
 * while strata waits; and the monitor session that looks at a waiting
 * statement's phase and blocker.
 */
#include "drivers/pg_conn.h"
#include "drivers/lockkey.h"
#include "engine/progress.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/text.h"
#include "engine/url.h"
#include "sql/split.h"
#include "drivers/driver.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/random.h>
#include "drivers/pq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>

#define LOCK_POLL_FIRST_MS 50
#define LOCK_POLL_MAX_MS   500
#define LOCK_REPORT_NS     (10 * INT64_C(1000000000))

void pglock_close(struct pg_conn *pc)
{
	pgdrv_cancel_disarm(&pc->lock_cancel);
	PQfinish(pc->lock_pg);
	pc->lock_pg = NULL;
	free(pc->lock_db);
	free(pc->lock_schema);
	pc->lock_db = pc->lock_schema = NULL;
	pc->is_locked = false;
	pc->is_announce_pending = false;
	pc->is_names_pending = false;
	pc->announced = NULL;
	PQfinish(pc->monitor_pg);
	pc->monitor_pg = NULL;
}

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
 * lock session says which migration: see pglock_announce()), never the text of
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
	strata_error_hint(
	        err,
	        "Wait for the other migration to finish, or allow a longer lock wait.");
	return strata_error_reason(err, STRATA_REASON_LOCK_WAIT, -1);
}

/*
 * A further session on the very server the main session reached (host,
 * port and address pinned, should the URL list several hosts), named
 * `application`; with `beside` > 0 it is made while the work runs, within
 * that many seconds (pgsession_connect_beside()).
 */
static PGconn *connect_sibling(struct pg_conn *pc, const char *application,
                               double beside)
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
	keys[n] = vals[n] = NULL;
	if (beside > 0)
		return pgsession_connect_beside(keys, vals, 1, beside);
	return pgsession_connect(keys, vals, 1);
}

/* The connected session `pc->lock_pg` made the lock's. */
static int adopt_lock_session(struct pg_conn *pc, struct strata_error *err)
{
	pgdrv_cancel_arm(&pc->lock_cancel, pc->lock_pg);
	PQsetNoticeReceiver(pc->lock_pg, pgsession_drop_notice, NULL);
	if (!PQsendQuery(
	            pc->lock_pg,
	            "SELECT current_database(), coalesce(current_schema(), '')"))
		return pgsession_error(err, pc->lock_pg, NULL);
	pc->is_names_pending = true;
	return 0;
}

/*
 * The lock's own session, named "strata" so that waiters can tell who
 * holds it, with the names its keys are made of asked for: the server's,
 * as sqlx's key is (a pooler's name for the database may differ), read by
 * read_lock_names() when the lock is taken. Opened ahead, the question
 * costs no round trip of its own.
 */
static int open_lock_session(struct pg_conn *pc, struct strata_error *err)
{
	char *password = NULL;
	int rc = -1;

	pc->lock_pg = connect_sibling(pc, "strata", 0);
	if (PQstatus(pc->lock_pg) != CONNECTION_OK)
		password = pgsession_conninfo_password(pc->conninfo);
	if (pgsession_check_connected(pc->lock_pg, pc->redacted, password,
	                              err) < 0)
		goto done;
	rc = adopt_lock_session(pc, err);
done:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	if (rc < 0)
		pglock_close(pc);
	return rc;
}

/* The answer to the question open_lock_session() sent. */
static int read_lock_names(struct pg_conn *pc, struct strata_error *err)
{
	PGresult *res, *more;
	int rc = -1;

	if (!pc->is_names_pending)
		return 0;
	pc->is_names_pending = false;
	res = PQgetResult(pc->lock_pg);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgsession_error(err, pc->lock_pg, res);
		goto done;
	}
	pc->lock_db = xstrdup(PQgetvalue(res, 0, 0));
	pc->lock_schema = xstrdup(PQgetvalue(res, 0, 1));
	rc = 0;
done:
	PQclear(res);
	while ((more = PQgetResult(pc->lock_pg)))
		PQclear(more);
	return rc;
}

/*
 * The lock's session, opened ahead by pglock_prepare() or now, and its
 * keys: the lock's scope and another tool's table are known by now.
 */
static int open_lock_conn(struct pg_conn *pc, struct strata_error *err)
{
	if ((!pc->lock_pg && open_lock_session(pc, err) < 0) ||
	    read_lock_names(pc, err) < 0)
		return -1;
	pc->lock_key =
	        pc->base.lock_scope
	                ? lockkey_for_schema(pc->lock_db, pc->base.lock_scope)
	                : lockkey_for_database(pc->lock_db);
	if (pc->base.tool_lock_table) {
		const char *schema = pc->base.tool_lock_schema
		                             ? pc->base.tool_lock_schema
		                             : pc->lock_schema;

		pc->tool_lock_key =
		        pc->base.is_tool_lock_flyway
		                ? lockkey_flyway(schema,
		                                 pc->base.tool_lock_table)
		                : lockkey_golang_migrate(
		                          pc->lock_db, schema,
		                          pc->base.tool_lock_table);
	} else {
		pc->tool_lock_key = 0;
	}
	return 0;
}

/*
 * The lock's session connected beside the work's, on a thread, for a
 * command that locks next: over a network the two connections' round
 * trips overlap. It is kept only if it reached the server the work did
 * (the same host, port and address: a URL of several hosts may lead
 * elsewhere); else the lock connects after the work, to its address.
 */
struct pglock_ahead {
	pthread_t thread;
	const char *keys[4], *vals[4];
	int64_t deadline; /* 0: none */
	atomic_bool is_stopped;
	PGconn *pg; /* the thread's result: NULL when it failed */
};

static void *ahead_run(void *arg)
{
	struct pglock_ahead *a = arg;

	a->pg = pgsession_connect_polled(a->keys, a->vals, 1, a->deadline,
	                                 &a->is_stopped);
	return NULL;
}

struct pglock_ahead *pglock_ahead_begin(const char *conninfo)
{
	struct pglock_ahead *a = xcalloc(1, sizeof(*a));
	double timeout = pgsession_connect_timeout();
	size_t n = 0;

	a->keys[n] = "dbname";
	a->vals[n++] = conninfo;
	a->keys[n] = "application_name";
	a->vals[n++] = "strata";
	a->keys[n] = a->vals[n] = NULL;
	a->deadline = timeout > 0
	                      ? text_monotonic_ns() + (int64_t)(timeout * 1e9)
	                      : 0;
	atomic_init(&a->is_stopped, false);
	if (cancel_thread_create(&a->thread, ahead_run, a)) {
		free(a);
		return NULL;
	}
	return a;
}

static bool is_same_text(const char *x, const char *y)
{
	return !strcmp(x ? x : "", y ? y : "");
}

void pglock_ahead_end(struct pg_conn *pc, struct pglock_ahead *a)
{
	struct strata_error ignored = STRATA_ERROR_INIT;

	if (!a)
		return;
	/* the work's connection failed: the lock's is not waited for */
	if (PQstatus(pc->pg) != CONNECTION_OK)
		atomic_store(&a->is_stopped, true);
	pthread_join(a->thread, NULL);
	if (a->pg && !pc->lock_pg && PQstatus(pc->pg) == CONNECTION_OK &&
	    is_same_text(PQhost(a->pg), PQhost(pc->pg)) &&
	    is_same_text(PQport(a->pg), PQport(pc->pg)) &&
	    is_same_text(PQhostaddr(a->pg), PQhostaddr(pc->pg))) {
		pc->lock_pg = a->pg;
		a->pg = NULL;
		/* a failure is the lock's to report, as pglock_prepare()'s */
		if (adopt_lock_session(pc, &ignored) < 0)
			pglock_close(pc);
		strata_error_release(&ignored);
	}
	PQfinish(a->pg);
	free(a);
}

void pglock_prepare(struct strata_conn *c)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct strata_error ignored = STRATA_ERROR_INIT;

	/* a failure is the lock's to report, when it opens one itself */
	if (!pc->lock_pg)
		open_lock_session(pc, &ignored);
	strata_error_release(&ignored);
}

/* Reads the result of pglock_announce() on the lock session, if one is due. */
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
PGconn *pglock_monitor_session(struct pg_conn *pc)
{
	if (!pc->monitor_pg && !pc->is_monitor_failed) {
		/* a look at progress never holds the migration up long */
		pc->monitor_pg = connect_sibling(pc, "strata monitor", 5);
		if (!pc->monitor_pg ||
		    PQstatus(pc->monitor_pg) != CONNECTION_OK) {
			PQfinish(pc->monitor_pg);
			pc->monitor_pg = NULL;
			pc->is_monitor_failed = true;
		} else {
			PQsetNoticeReceiver(pc->monitor_pg,
			                    pgsession_drop_notice, NULL);
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
void pglock_announce(struct pg_conn *pc, bool is_reset)
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
		char v[24];

		/* the version as its layout shows it (diesel's text) */
		snprintf(v, sizeof(v), "%" PRId64, p->m->version);
		n = (size_t)snprintf(name, sizeof(name), "strata: %s %s %s",
		                     p->is_down ? "reverting" : "applying",
		                     p->m->version_text ? p->m->version_text
		                                        : v,
		                     p->m->description);
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

/*
 * Whether the work session waits on a lock now, asked on the lock session
 * (idle, and open already): one row of the server's activity for one pid.
 * A statement not waiting is not looked at yet (await_result()): a look
 * asks the monitor session, which it may have to open, two questions,
 * where many migrations slower than the first look's time (a loaded
 * server) wait on nothing. true when it cannot be told (no lock session,
 * an error, a row hidden from this role): the look then decides.
 */
bool pglock_work_may_wait(struct pg_conn *pc)
{
	char pid[16];
	const char *vals[] = { pid };
	PGresult *res;
	bool may_wait = true;

	if (!pc->is_locked || !pc->lock_pg ||
	    PQstatus(pc->lock_pg) != CONNECTION_OK)
		return true;
	lock_drain(pc);
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(pc->pg));
	res = PQexecParams(
	        pc->lock_pg,
	        "SELECT coalesce(s.wait_event_type, '') FROM pg_catalog.pg_stat_get_activity($1::int) s WHERE s.state IS NOT NULL",
	        1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		may_wait = !strcmp(PQgetvalue(res, 0, 0), "Lock");
	PQclear(res);
	return may_wait;
}

/*
 * The lock session's own key (pg_conn.h, session_key), taken once the
 * lock is: random, so that no other session holds it; another draw in
 * the unlikely case that one does.
 */
static int take_session_key(struct pg_conn *pc, struct strata_error *err)
{
	char key[24];
	const char *vals[] = { key };
	PGresult *res;
	bool got = false;

	for (int attempt = 0; !got && attempt < 8; attempt++) {
		int64_t k;

		if (getrandom(&k, sizeof(k), 0) != (ssize_t)sizeof(k))
			return strata_error_set(
			        err, STRATA_EFAILED,
			        "could not draw a random lock key: %s",
			        strerror(errno));
		if (k == pc->lock_key || k == pc->tool_lock_key)
			continue;
		snprintf(key, sizeof(key), "%" PRId64, k);
		res = PQexecParams(pc->lock_pg,
		                   "SELECT pg_try_advisory_lock($1::bigint)", 1,
		                   NULL, vals, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK ||
		    PQntuples(res) != 1) {
			int rc = pgsession_error(err, pc->lock_pg, res);

			PQclear(res);
			return rc;
		}
		got = !strcmp(PQgetvalue(res, 0, 0), "t");
		PQclear(res);
		if (got)
			pc->session_key = k;
	}
	return got ? 0
	           : strata_error_set(
	                     err, STRATA_EFAILED,
	                     "could not take the lock session's own key");
}

/*
 * 1 when taken (both keys, when another tool's is taken too), 0 when
 * someone else holds one (pc->busy_key), -1 on error. A key taken alone
 * is given back at once, so that neither runner holds half. The session's
 * own key is asked for in the same statement, only once the lock's are
 * taken (MATERIALIZED: each key is tried once): one round trip.
 */
static int try_lock(struct pg_conn *pc, struct strata_error *err)
{
	char key[24], tool_key[24], own_key[24];
	const char *vals[] = { key, tool_key, own_key };
	const char *vals_alone[] = { key, own_key };
	bool has_tool = pc->tool_lock_key != 0, got, got_tool = true, got_own;
	int64_t own;
	PGresult *res;
	int rc;

	if (getrandom(&own, sizeof(own), 0) != (ssize_t)sizeof(own))
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not draw a random lock key: %s",
		                        strerror(errno));
	snprintf(key, sizeof(key), "%" PRId64, pc->lock_key);
	snprintf(tool_key, sizeof(tool_key), "%" PRId64, pc->tool_lock_key);
	snprintf(own_key, sizeof(own_key), "%" PRId64, own);
	res = has_tool
	              ? PQexecParams(
	                        pc->lock_pg,
	                        "WITH l AS MATERIALIZED (SELECT pg_try_advisory_lock($1::bigint) AS got, pg_try_advisory_lock($2::bigint) AS got_tool) "
	                        "SELECT got, got_tool, CASE WHEN got AND got_tool THEN pg_try_advisory_lock($3::bigint) END FROM l",
	                        3, NULL, vals, NULL, NULL, 0)
	              : PQexecParams(
	                        pc->lock_pg,
	                        "WITH l AS MATERIALIZED (SELECT pg_try_advisory_lock($1::bigint) AS got) "
	                        "SELECT got, true, CASE WHEN got THEN pg_try_advisory_lock($2::bigint) END FROM l",
	                        2, NULL, vals_alone, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		rc = pgsession_error(err, pc->lock_pg, res);
		PQclear(res);
		return rc;
	}
	got = !strcmp(PQgetvalue(res, 0, 0), "t");
	if (has_tool)
		got_tool = !strcmp(PQgetvalue(res, 0, 1), "t");
	got_own = !strcmp(PQgetvalue(res, 0, 2), "t");
	PQclear(res);
	if (got && got_tool && got_own && own != pc->lock_key &&
	    own != pc->tool_lock_key) {
		pc->session_key = own;
		return 1;
	}
	if (got && got_tool) {
		/* the draw was one of ours, or held: another */
		if (got_own)
			PQclear(PQexecParams(
			        pc->lock_pg,
			        "SELECT pg_advisory_unlock($1::bigint)", 1,
			        NULL, vals + 2, NULL, NULL, 0));
		return take_session_key(pc, err) < 0 ? -1 : 1;
	}
	pc->busy_key = got ? pc->tool_lock_key : pc->lock_key;
	if (has_tool && got != got_tool)
		PQclear(PQexecParams(
		        pc->lock_pg, "SELECT pg_advisory_unlock($1::bigint)", 1,
		        NULL, got ? vals : vals + 1, NULL, NULL, 0));
	return 0;
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
 * Whether the session opened ahead (while the folder was read) was lost
 * since, the server having ended it: then it is closed, `err` cleared, to
 * be opened again, once.
 */
static bool is_lost_ahead(struct pg_conn *pc, bool *is_opened_ahead,
                          struct strata_error *err)
{
	if (!*is_opened_ahead || PQstatus(pc->lock_pg) != CONNECTION_BAD)
		return false;
	*is_opened_ahead = false;
	pglock_close(pc);
	strata_error_release(err);
	return true;
}

/*
 * design.md, The lock: polls pg_try_advisory_lock, never the blocking
 * pg_advisory_lock, so that a waiter never sits inside a statement (it
 * would hold a snapshot that CREATE INDEX CONCURRENTLY of the holder
 * waits for: a deadlock). Every 50 ms at first, then less often.
 */
int pglock_lock(struct strata_conn *c, double wait, struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct lock_holder holder = { 0 };
	int64_t start, reported = 0, interval = LOCK_POLL_FIRST_MS;
	bool has_waited = false, is_opened_ahead;
	int rc = -1;

	if (pc->is_locked)
		return 0;
	is_opened_ahead = pc->lock_pg != NULL;
	if (open_lock_conn(pc, err) < 0 &&
	    (!is_lost_ahead(pc, &is_opened_ahead, err) ||
	     open_lock_conn(pc, err) < 0))
		goto done;
	start = text_monotonic_ns();
	for (;;) {
		int got = strata_is_cancelled() ? 0 : try_lock(pc, err);
		int64_t now = text_monotonic_ns(), nap;
		double waited = (double)(now - start) / 1e9;

		if (got < 0 && is_lost_ahead(pc, &is_opened_ahead, err)) {
			if (open_lock_conn(pc, err) < 0)
				goto done;
			continue;
		}
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
			find_lock_holder(&holder, pc->lock_pg, pc->busy_key);
			lock_timeout(err, wait, &holder);
			goto done;
		}
		if (!has_waited || now - reported >= LOCK_REPORT_NS) {
			find_lock_holder(&holder, pc->lock_pg, pc->busy_key);
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
		pglock_close(pc);
	return rc;
}

int pglock_runner(struct strata_conn *c, struct strata_runner *out,
                  struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct lock_holder holder = { 0 };
	PGresult *res;
	const char *app;

	res = PQexec(pc->pg, "SELECT current_database()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		int rc = pgsession_error(err, pc->pg, res);

		PQclear(res);
		return rc;
	}
	find_lock_holder(&holder, pc->pg,
	                 lockkey_for_database(PQgetvalue(res, 0, 0)));
	PQclear(res);
	out->is_running = holder.pid != 0;
	out->pid = holder.pid;
	app = holder.application ? holder.application : "";
	/* "strata: applying V description", set when the migration began:
	 * the session's state changed then */
	if (!strncmp(app, "strata: ", 8)) {
		snprintf(out->what, sizeof(out->what), "%s", app + 8);
		out->seconds = holder.age;
	}
	lock_holder_release(&holder);
	return 0;
}

static int say_lost(struct pg_conn *pc, struct strata_error *err)
{
	/* the first line: the server's reason, when it gave one */
	char *why = pgsession_trimmed(PQerrorMessage(pc->lock_pg));

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

/*
 * The lock lives as long as its session, which a DBA's
 * pg_terminate_backend(), idle_session_timeout or a restart may end while
 * the migration session goes on. An idle session is sent something only
 * when it ends, so a look at its socket (no round trip) says whether to
 * make sure with a query.
 */
int pglock_check(struct strata_conn *c, struct strata_error *err)
{
	struct pg_conn *pc = pg_conn_of(c);
	struct pollfd p = { .fd = -1, .events = POLLIN };
	PGresult *res;
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
	return say_lost(pc, err);
}

int pglock_lost(struct pg_conn *pc, struct strata_error *err)
{
	if (!err)
		return -1;
	strata_error_release(err);
	*err = (struct strata_error)STRATA_ERROR_INIT;
	/* its session's end, as the client sees it, says why */
	if (pglock_check(&pc->base, err) < 0)
		return -1;
	return say_lost(pc, err);
}

/* Releases the lock and closes its session (which releases it anyway). */
void pglock_unlock(struct strata_conn *c)
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
		if (pc->tool_lock_key) {
			snprintf(key, sizeof(key), "%" PRId64,
			         pc->tool_lock_key);
			PQclear(PQexecParams(
			        pc->lock_pg,
			        "SELECT pg_advisory_unlock($1::bigint)", 1,
			        NULL, vals, NULL, NULL, 0));
		}
	}
	pglock_close(pc);
}
