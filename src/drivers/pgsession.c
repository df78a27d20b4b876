/*
 * A PostgreSQL session as the driver and the backups use it (see
 * pgsession.h): libpq's errors as strata_error, with the URL's password
 * kept out of them; connecting under strata's connect timeout; the
 * maintenance database that create, drop and restore connect to; and the
 * one way a session in pg_stat_activity is described.
 */
#include "drivers/pgsession.h"
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
#include "drivers/pq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>

/* A copy of `s` without trailing white space (libpq ends with "\n"). */
char *pgsession_trimmed(const char *s)
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
int pgsession_error(struct strata_error *err, PGconn *pg, const PGresult *res)
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
			text = pgsession_trimmed(pg ? PQerrorMessage(pg)
			                            : NULL);
		if (!*text && res) {
			free(text);
			text = pgsession_trimmed(PQresultErrorMessage(res));
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
		text = pgsession_trimmed(res ? PQresultErrorMessage(res)
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
int pgsession_check_connected(PGconn *pg, const char *redacted,
                              const char *password, struct strata_error *err)
{
	char *why;

	if (pg && PQstatus(pg) == CONNECTION_OK)
		return 0;
	strata_error_set(err, STRATA_ECONNECT, "could not connect to '%s'",
	                 redacted);
	why = pgsession_trimmed(pg ? PQerrorMessage(pg) : "out of memory");
	if (*why && !mentions_password(why, pg, password, redacted))
		strata_error_detail(err, "%s", why);
	if (strstr(why, "timeout expired"))
		timeout_hint(pg, err);
	free(why);
	return -1;
}

/* The password a connection string names, or NULL (caller frees). */
char *pgsession_conninfo_password(const char *conninfo)
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

/* Sessions with no one to tell: libpq's default would print to stderr. */
void pgsession_drop_notice(void *arg, const PGresult *res)
{
	UNUSED(arg);
	UNUSED(res);
}

/* See pgsession.h. */
const char *pgsession_state(const PGresult *res, int row)
{
	const char *state = PQgetvalue(res, row, 3);

	if (*state)
		return state;
	if (!pgsession_query_visible(res, row))
		return "state unknown: another role's session (pg_read_all_stats shows it)";
	return "state unknown";
}

/* See pgsession.h. */
bool pgsession_query_visible(const PGresult *res, int row)
{
	return strcmp(PQgetvalue(res, row, 6), "t") != 0;
}

/* See pgsession.h. */
void pgsession_describe(struct sbuf *who, const PGresult *res, int row,
                        bool is_hide_query)
{
	int64_t age = strtoll(PQgetvalue(res, row, 4), NULL, 10);

	sbuf_addf(who, "pid %s (user '%s', application '%s', %s",
	          PQgetvalue(res, row, 0), PQgetvalue(res, row, 1),
	          PQgetvalue(res, row, 2), pgsession_state(res, row));
	if (age >= 0)
		sbuf_addf(who, ", in a transaction for %" PRId64 " s", age);
	sbuf_addch(who, ')');
	if (!is_hide_query && pgsession_query_visible(res, row) &&
	    *PQgetvalue(res, row, 5))
		sbuf_addf(who, ": %s", PQgetvalue(res, row, 5));
}

/*
 * Whether `res` is no error. COPY is dealt with on the way, so that the
 * session never stays in a COPY state: a migration has no data stream,
 * so COPY FROM STDIN is ended with an error (the server reports it as
 * the next result); COPY TO STDOUT is read and dropped.
 */
bool pgsession_result_ok(PGconn *pg, const PGresult *res)
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

/*
 * Sends `sql` (one or more statements) with the simple query protocol and
 * reads every result, as PQexec does; rows are dropped. The first error
 * is reported once the session is idle again, so that a session the
 * server ended is seen as lost. (No single-row mode: the flag outlives a
 * query that returns no rows and changes what the next one returns.)
 */
int pgsession_run(PGconn *pg, const char *sql, struct strata_error *err)
{
	PGresult *res, *failed = NULL;
	int rc = 0;

	if (!PQsendQuery(pg, sql))
		return pgsession_error(err, pg, NULL);
	while ((res = PQgetResult(pg))) {
		if (!failed && !pgsession_result_ok(pg, res)) {
			failed = res;
			continue;
		}
		PQclear(res);
	}
	if (failed)
		rc = pgsession_error(err, pg, failed);
	PQclear(failed);
	return rc;
}

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
PGconn *pgsession_connect(const char *const *keys, const char *const *vals,
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

double pgsession_connect_timeout(void)
{
	return connect_timeout_s ? connect_timeout_s : DEFAULT_CONNECT_TIMEOUT;
}

/*
 * Not a blocking PQconnectdbParams() counted by cancel_connecting(): a
 * signal while it ran would find a connect under way and end the command
 * on the spot, without the unwinding that records and reports the work it
 * cancelled; and the work's own cancel waited for the connect.
 */
PGconn *pgsession_connect_polled(const char *const *keys,
                                 const char *const *vals, int expand,
                                 int64_t deadline, const atomic_bool *stop)
{
	PostgresPollingStatusType state = PGRES_POLLING_WRITING;
	PGconn *pg = PQconnectStartParams(keys, vals, expand);

	if (!pg || PQstatus(pg) == CONNECTION_BAD)
		goto fail;
	while (state != PGRES_POLLING_OK) {
		struct pollfd pfd = { .fd = PQsocket(pg) };
		/* without a deadline, time is never short */
		int64_t left =
		        deadline ? deadline - text_monotonic_ns() : INT64_MAX;
		int r;

		if (state == PGRES_POLLING_FAILED || pfd.fd < 0 || left <= 0 ||
		    strata_is_cancelled() || (stop && atomic_load(stop)))
			goto fail;
		pfd.events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		/* a look at the cancel flag every 50 ms at least */
		r = poll(&pfd, 1,
		         left > 50000000 ? 50 : (int)(left / 1000000) + 1);
		if (r < 0 && errno != EINTR)
			goto fail;
		if (r > 0)
			state = PQconnectPoll(pg);
	}
	return pg;
fail:
	PQfinish(pg);
	return NULL;
}

PGconn *pgsession_connect_beside(const char *const *keys,
                                 const char *const *vals, int expand,
                                 double timeout)
{
	return pgsession_connect_polled(
	        keys, vals, expand,
	        text_monotonic_ns() + (int64_t)(timeout * 1e9), NULL);
}

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
int pgsession_maintenance_connect(PGconn **out, char **out_target,
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
	/* dropping "postgres" itself needs another maintenance database
	 */
	if (p.dbname && !strcmp(p.dbname, "postgres")) {
		maint[0] = "template1";
		maint[1] = "postgres";
	}
	for (size_t i = 0; i < ARRAY_SIZE(maint); i++) {
		p.keys[p.n] = "dbname";
		p.vals[p.n] = maint[i];
		p.keys[p.n + 1] = p.vals[p.n + 1] = NULL;
		pg = pgsession_connect(p.keys, p.vals, 0);
		if (pg && PQstatus(pg) == CONNECTION_OK)
			break;
		/* as createdb: if both fail, the first reason is the
		 * one */
		if (i == 0)
			pgsession_check_connected(pg, url->redacted, p.password,
			                          err);
		PQfinish(pg);
		pg = NULL;
	}
	if (!pg)
		goto done;
	strata_error_release(err);
	PQsetNoticeReceiver(pg, pgsession_drop_notice, NULL);
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

int pgsession_database_exists(bool *out, PGconn *pg, const char *name,
                              struct strata_error *err)
{
	const char *vals[] = { name };
	PGresult *res = PQexecParams(
	        pg, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
	        1, NULL, vals, NULL, NULL, 0);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pgsession_error(err, pg, res);
	else
		*out = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

/* key='value' for a libpq keyword string. */
void pgsession_add_keyword(struct sbuf *sb, const char *key, const char *value)
{
	if (sb->len)
		sbuf_addch(sb, ' ');
	sbuf_addf(sb, "%s='", key);
	for (const char *p = value; *p; p++) {
		if (*p == '\'' || *p == '\\')
			sbuf_addch(sb, '\\');
		sbuf_addch(sb, *p);
	}
	sbuf_addch(sb, '\'');
}

int pgsession_url_on_server(struct strata_url *out,
                            const struct strata_url *base, const char *dbname,
                            struct strata_error *err)
{
	PQconninfoOption *opts;
	struct sbuf sb = SBUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!base || base->kind != URL_POSTGRES) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "'%s' is a database name, but no PostgreSQL server was given",
		        dbname);
		strata_error_hint(
		        err,
		        "Give a whole URL, or the name with the URL of its server.");
		return strata_error_reason(err, STRATA_REASON_NEED_URL, -1);
	}
	opts = PQconninfoParse(base->raw, NULL);
	if (!opts)
		return strata_error_set(err, STRATA_EUSAGE,
		                        "invalid PostgreSQL URL '%s'",
		                        base->redacted);
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && strcmp(o->keyword, "dbname") != 0)
			pgsession_add_keyword(&sb, o->keyword, o->val);
	pgsession_add_keyword(&sb, "dbname", dbname);
	PQconninfoFree(opts);
	rc = url_parse(out, sb.buf, err);
	memset(sb.buf, 0, sb.len);
	sbuf_release(&sb);
	return rc;
}
