/*
 * strata serve: the migration state over HTTP, for load balancers and
 * readiness probes (/health), Prometheus (/metrics), people (/) and
 * scripts (/history.json). It only reads, as status and history do, and
 * never migrates, so a role that may only SELECT the history and audit
 * tables is enough.
 *
 * The database is read at most once per --interval however many ask: the
 * first request after the interval reads (one status read, one audit read),
 * renders every answer (serve.h) and swaps them in; requests meanwhile get
 * the previous answers, so only the reading request waits on the database
 * (and, before the first read, those that come with it). A read that fails
 * on a connection that worked reconnects once at once (the server
 * restarted); one that still fails is the answer (status "error", 503)
 * until the next interval. libmicrohttpd serves from a few threads with a
 * bounded number of connections and an idle timeout; SIGTERM, SIGINT and
 * SIGHUP stop it: a read in flight is cancelled, and serve exits 0.
 *
 * With --auth-file every request needs credentials (serve_auth.c) but
 * /health's status, which a load balancer's check cannot authenticate
 * for (--auth-health: that too); with --tls-cert and --tls-key it speaks
 * HTTPS only (serve_tls.c). Beyond loopback it refuses to start without
 * credentials unless --no-auth says that is meant: the page names hosts,
 * users and commands of every deploy.
 */
#include "serve.h"
#include "serve_mhd.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

#define DEFAULT_LISTEN          "127.0.0.1:9187"
#define DEFAULT_INTERVAL        10.0
#define DEFAULT_MAX_CONNECTIONS 128
#define DEFAULT_TIMEOUT         10.0
#define WORKER_THREADS          4
/* seconds a stopping server waits for a read that is still connecting:
 * nothing is lost by leaving it, serve only reads */
#define STOP_GRACE 3

static const char usage[] =
        "[--listen ADDR] [--interval DURATION] [--pending-ok] [--max-connections N] [--timeout DURATION] [--auth-file FILE [--auth-health] | --no-auth] [--tls-cert FILE --tls-key FILE]";

/* a refused request is logged at most this often (seconds): a scanner
 * must not fill the log */
#define REFUSED_LOG_EVERY 60

struct server {
	struct cli *cli;
	const char *url; /* redacted */
	double interval;
	bool is_pending_ok;
	struct serve_auth *auth; /* NULL: no credentials asked */
	bool is_auth_health;
	pthread_mutex_t lock;
	pthread_cond_t read_done;
	/* under lock */
	bool is_reading;
	struct serve_pages *pages; /* NULL before the first read */
	int64_t pages_at;          /* monotonic ms of their read */
	/* the reader's own (one read at a time) */
	struct strata_db *db;
	uint64_t reads, read_errors;
	bool was_ok, has_read;
	/* refused requests not logged yet, and when the last line was */
	pthread_mutex_t refused_lock;
	uint64_t refused;
	int64_t refused_logged_at;
};

static int stop_pipe[2] = { -1, -1 };
static volatile sig_atomic_t is_stopping;

/* write(2): the only output a signal handler may make */
static void say_now(const char *text)
{
	ssize_t n = write(STDERR_FILENO, text, strlen(text));

	(void)n;
}

static void on_stop(int sig)
{
	int saved = errno;
	char c = (char)sig;
	ssize_t n;

	if (is_stopping) {
		say_now("strata: stopping now\n");
		_exit(0);
	}
	is_stopping = 1;
	/* a read in flight ends now rather than at its timeout; one still
	 * connecting cannot be cut short, and gets STOP_GRACE seconds */
	strata_cancel();
	alarm(STOP_GRACE);
	n = write(stop_pipe[1], &c, 1);
	(void)n;
	errno = saved;
}

static void on_stop_alarm(int sig)
{
	(void)sig;
	say_now("strata: a read of the database did not end in time; stopping without it\n");
	_exit(0);
}

static int64_t now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(clockid_t clock)
{
	return now_us(clock) / 1000;
}

/* A line on stderr, stamped as the plain progress lines are. */
static void say(const char *fmt, const char *text)
{
	char when[32];
	char *safe = strata_printable(text ? text : "", 0);

	serve_format_time(when, sizeof(when), now_ms(CLOCK_REALTIME));
	fprintf(stderr, "%s strata: ", when);
	fprintf(stderr, fmt, safe ? safe : text ? text : "");
	fputc('\n', stderr);
	free(safe);
}

/* ---- reading ------------------------------------------------------------- */

static int open_db(struct server *s, struct strata_error *err)
{
	const struct strata_db_options opts = {
		.version = STRATA_DB_OPTIONS_VERSION,
		.table = s->cli->table,
		.lock_wait = s->cli->lock_wait,
		.is_read_only = true,
		.command = s->cli->command_line,
		.schema = s->cli->schema,
	};

	return strata_db_open(&s->db, s->cli->database, &opts, err);
}

int serve_read_state(struct serve_read *r, struct cli *cli,
                     struct strata_db *db, struct strata_error *err)
{
	const struct strata_source_options src_opts = {
		.version = STRATA_SOURCE_OPTIONS_VERSION,
		.max_file_size = cli->max_file_size,
		.is_checksums_only = true,
		.layout = cli->layout,
		.placeholders = cli->placeholders,
		.n_placeholders = cli->n_placeholders,
	};
	/* the page's "who" comes from the audit trail read next */
	const struct strata_status_options opts = {
		.version = STRATA_STATUS_OPTIONS_VERSION,
		.is_without_applied_by = true,
	};
	const struct strata_audit_filter all = { 0 };

	r->driver = strata_db_driver_name(db);
	if (strata_status_load(&r->st, &r->src, db, cli->source, &src_opts,
	                       &opts, err) < 0 ||
	    strata_db_runner(db, &r->runner, err) < 0)
		return -1;
	return strata_audit_read(&r->audit, db, &all, err);
}

static int read_once(struct server *s, struct serve_read *r,
                     struct strata_error *err)
{
	if (!s->db && open_db(s, err) < 0)
		return -1;
	return serve_read_state(r, s->cli, s->db, err);
}

void serve_read_backups(struct serve_read *r, struct cli *cli)
{
	struct strata_backup_list l = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;

	if (strata_backup_list_load(&l, cli->backup_dir, &err) == 0 && l.n) {
		r->has_backup = true;
		r->backup_at = l.items[l.n - 1]->created_at;
	}
	strata_backup_list_release(&l);
	strata_error_release(&err);
}

void serve_read_release(struct serve_read *r)
{
	strata_status_free(r->st);
	strata_source_free(r->src);
	strata_audit_free(r->audit);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

/* One read, rendered. Only one runs at a time (is_reading). */
static struct serve_pages *read_and_render(struct server *s)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct serve_read r = { 0 };
	struct serve_pages *pages = calloc(1, sizeof(*pages));
	int64_t t0 = now_us(CLOCK_MONOTONIC);
	bool was_open = s->db != NULL;
	int rc;

	if (!pages)
		abort();
	rc = read_once(s, &r, &err);
	if (rc < 0 && was_open && err.code != STRATA_EVALIDATE) {
		/* the connection may have died with its server: once more */
		serve_read_release(&r);
		strata_db_close(s->db);
		s->db = NULL;
		strata_error_release(&err);
		rc = read_once(s, &r, &err);
	}
	s->reads++;
	if (rc < 0) {
		s->read_errors++;
		serve_read_release(&r);
		r.error = strdup(err.message ? err.message : "unknown error");
		if (!r.error)
			abort();
		if (s->was_ok || !s->has_read)
			say("could not read the migration state: %s", r.error);
		strata_db_close(s->db);
		s->db = NULL;
	} else {
		r.is_ok = true;
		if (!s->was_ok && s->has_read)
			say("%s", "the migration state can be read again");
	}
	s->was_ok = rc == 0;
	s->has_read = true;
	serve_read_backups(&r, s->cli);
	r.read_at = now_ms(CLOCK_REALTIME);
	r.read_secs = (double)(now_us(CLOCK_MONOTONIC) - t0) / 1e6;
	r.url = s->url;
	r.is_pending_ok = s->is_pending_ok;
	r.reads = s->reads;
	r.read_errors = s->read_errors;
	serve_render(pages, &r);
	serve_read_release(&r);
	strata_error_release(&err);
	return pages;
}

static void pages_free(struct serve_pages *p)
{
	serve_pages_release(p);
	free(p);
}

/*
 * The current answers, read again first when older than the interval.
 * Called with s->lock held; returns with it held. NULL when serve is
 * stopping before anything was read.
 */
static struct serve_pages *current_pages(struct server *s)
{
	for (;;) {
		int64_t now = now_ms(CLOCK_MONOTONIC);
		bool is_stale =
		        !s->pages || now - s->pages_at >= s->interval * 1000;
		struct serve_pages *fresh, *old;

		if (is_stale && !s->is_reading && !strata_is_cancelled()) {
			s->is_reading = true;
			pthread_mutex_unlock(&s->lock);
			fresh = read_and_render(s);
			pthread_mutex_lock(&s->lock);
			old = s->pages;
			s->pages = fresh;
			s->pages_at = now_ms(CLOCK_MONOTONIC);
			s->is_reading = false;
			pthread_cond_broadcast(&s->read_done);
			pages_free(old);
			return s->pages;
		}
		if (s->pages)
			return s->pages;
		if (!s->is_reading)
			return NULL; /* stopping before the first read */
		pthread_cond_wait(&s->read_done, &s->lock);
	}
}

/* ---- HTTP ---------------------------------------------------------------- */

static struct MHD_Response *new_response(const char *type, const char *body,
                                         size_t len)
{
	struct MHD_Response *res = MHD_create_response_from_buffer(
	        len, (void *)body, MHD_RESPMEM_MUST_COPY);

	if (!res)
		return NULL;
	MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	/* a probe or a proxy must never be answered from a cache */
	MHD_add_response_header(res, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
	/* nothing on the page runs or loads: if escaping ever failed, the
	 * browser would still refuse the script */
	MHD_add_response_header(
	        res, "Content-Security-Policy",
	        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
	MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
	return res;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status,
                               const char *type, const char *body, size_t len)
{
	struct MHD_Response *res = new_response(type, body, len);
	enum MHD_Result rc;

	if (!res)
		return MHD_NO;
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW,
		                        "GET, HEAD");
	rc = MHD_queue_response(c, status, res);
	MHD_destroy_response(res);
	return rc;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status,
                                    const char *text)
{
	return respond(c, status, "text/plain; charset=utf-8", text,
	               strlen(text));
}

/* The client's address, for the log: numeric, or "a Unix socket". */
static void client_address(struct MHD_Connection *c, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t len = !sa                        ? 0
	                : sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
	                : sa->sa_family == AF_INET6
	                        ? sizeof(struct sockaddr_in6)
	                        : 0;

	if (!len || getnameinfo(sa, len, buf, size, NULL, 0, NI_NUMERICHOST))
		snprintf(buf, size, "a Unix socket");
}

/* 401 with the challenges the auth file can answer; the first refusal,
 * then at most one line a minute, is logged with the client's address
 * (never what it sent). */
static enum MHD_Result refuse(struct server *s, struct MHD_Connection *c)
{
	static const char text[] = "authentication required\n";
	struct MHD_Response *res =
	        new_response("text/plain; charset=utf-8", text, strlen(text));
	int64_t now = now_ms(CLOCK_MONOTONIC);
	enum MHD_Result rc;
	uint64_t n = 0;
	char from[NI_MAXHOST], line[NI_MAXHOST + 96];

	pthread_mutex_lock(&s->refused_lock);
	s->refused++;
	if (!s->refused_logged_at ||
	    now - s->refused_logged_at >= REFUSED_LOG_EVERY * 1000) {
		n = s->refused;
		s->refused = 0;
		s->refused_logged_at = now;
	}
	pthread_mutex_unlock(&s->refused_lock);
	if (n) {
		client_address(c, from, sizeof(from));
		snprintf(
		        line, sizeof(line),
		        "refused %llu request%s without valid credentials, the last from %s",
		        (unsigned long long)n, n == 1 ? "" : "s", from);
		say("%s", line);
	}
	if (!res)
		return MHD_NO;
	if (serve_auth_has_basic(s->auth))
		MHD_add_response_header(
		        res, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		        "Basic realm=\"strata\", charset=\"UTF-8\"");
	if (serve_auth_has_bearer(s->auth))
		MHD_add_response_header(res, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        "Bearer realm=\"strata\"");
	rc = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, res);
	MHD_destroy_response(res);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
	struct server *s = cls;
	const struct serve_body *body;
	struct serve_pages *pages;
	const char *type;
	unsigned status = MHD_HTTP_OK;
	enum MHD_Result rc;
	const char *auth = NULL;
	bool is_allowed = true;

	(void)version;
	(void)upload;
	/* Answer once the whole request is in (a body, of a POST, read and
	 * dropped): a response queued earlier makes libmicrohttpd close the
	 * connection, and a scraper would connect again for every scrape. */
	if (!*state) {
		*state = s;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		                    "only GET and HEAD\n");
	if (s->auth) {
		auth = MHD_lookup_connection_value(
		        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		is_allowed = serve_auth_check(s->auth, auth);
	}
	/* /health's status stays open for checks that cannot send
	 * credentials (a load balancer's), unless --auth-health; wrong ones
	 * are refused there too, so that a misconfigured client hears it */
	if (!is_allowed &&
	    (strcmp(url, "/health") || s->is_auth_health || auth))
		return refuse(s, c);
	if (strcmp(url, "/") && strcmp(url, "/health") &&
	    strcmp(url, "/metrics") && strcmp(url, "/history.json"))
		return respond_text(
		        c, MHD_HTTP_NOT_FOUND,
		        "not found: try /, /health, /metrics or /history.json\n");
	pthread_mutex_lock(&s->lock);
	pages = current_pages(s);
	if (!pages) {
		pthread_mutex_unlock(&s->lock);
		return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		                    "stopping\n");
	}
	if (!strcmp(url, "/health")) {
		body = is_allowed ? &pages->health : &pages->health_public;
		status = (unsigned)pages->health_code;
		type = "application/json";
	} else if (!strcmp(url, "/metrics")) {
		body = &pages->metrics;
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else if (!strcmp(url, "/history.json")) {
		body = &pages->history;
		type = "application/json";
	} else {
		body = &pages->page;
		type = "text/html; charset=utf-8";
	}
	/* copied while the lock keeps the answers from being swapped */
	rc = respond(c, status, type, body->text, body->len);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* libmicrohttpd's lines last said, each at most once a minute: a TCP
 * probe of a TLS port (connect, close) or a scanner must not fill the log
 * with one failed handshake a connection. */
#define MHD_LOG_SLOTS 8
static struct {
	char msg[512];
	int64_t at; /* monotonic ms; 0: free */
	uint64_t held;
} mhd_said[MHD_LOG_SLOTS];
static pthread_mutex_t mhd_said_lock = PTHREAD_MUTEX_INITIALIZER;

/* libmicrohttpd's own complaints (a full descriptor table, ...). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512], line[600];
	int64_t now = now_ms(CLOCK_MONOTONIC);
	uint64_t held = 0;
	size_t n, k, oldest = 0;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	pthread_mutex_lock(&mhd_said_lock);
	for (k = 0; k < MHD_LOG_SLOTS; k++) {
		if (mhd_said[k].at && !strcmp(mhd_said[k].msg, msg))
			break;
		if (mhd_said[k].at < mhd_said[oldest].at)
			oldest = k;
	}
	if (k < MHD_LOG_SLOTS && now - mhd_said[k].at < 60 * 1000) {
		mhd_said[k].held++;
		pthread_mutex_unlock(&mhd_said_lock);
		return;
	}
	if (k == MHD_LOG_SLOTS) {
		k = oldest;
		memcpy(mhd_said[k].msg, msg, n + 1);
		mhd_said[k].held = 0;
	}
	held = mhd_said[k].held;
	mhd_said[k].held = 0;
	mhd_said[k].at = now;
	pthread_mutex_unlock(&mhd_said_lock);
	if (held)
		snprintf(line, sizeof(line),
		         "%s (%llu more since the last such line)", msg,
		         (unsigned long long)held);
	else
		snprintf(line, sizeof(line), "%s", msg);
	say("serve: %s", line);
}

/* ---- listening ----------------------------------------------------------- */

static int listen_unix(struct cli *cli, const char *path, char *shown,
                       size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd;

	if (!*path || strlen(path) >= sizeof(sa.sun_path))
		return cli_usage_error(
		        cli, "serve",
		        "--listen unix:PATH wants a path of 1 to %zu bytes, not '%s'",
		        sizeof(sa.sun_path) - 1, path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* a socket left by a server that is gone: nobody answers on it */
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno == ECONNREFUSED) {
		unlink(path);
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 128) < 0)
		goto fail;
	snprintf(shown, size, "unix:%s", path);
	return fd;
fail:
	fprintf(stderr, "strata: error: could not listen on 'unix:%s': %s\n",
	        path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* "HOST:PORT" or "[V6]:PORT" split (host may be empty: every address);
 * -1 when `addr` is neither. */
static int split_listen(const char *addr, char *host, size_t host_size,
                        char *serv, size_t serv_size)
{
	const char *colon = strrchr(addr, ':');
	size_t hlen;

	if (!colon || !colon[1] || strlen(colon + 1) >= serv_size ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    (hlen = (size_t)(colon - addr)) >= host_size)
		return -1;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	memcpy(serv, colon + 1, strlen(colon + 1) + 1);
	/* getaddrinfo() takes 99999 and wraps it */
	return strtol(serv, NULL, 10) <= 65535 ? 0 : -1;
}

/* A usage error unless `addr` is HOST:PORT, [IPV6]:PORT or unix:PATH. */
static int check_listen(struct cli *cli, const char *addr)
{
	char host[256], serv[16];

	if (!strncmp(addr, "unix:", 5) ||
	    split_listen(addr, host, sizeof(host), serv, sizeof(serv)) == 0)
		return 0;
	return cli_usage_error(
	        cli, "serve",
	        "--listen wants HOST:PORT, [IPV6]:PORT or unix:PATH, not '%s'",
	        addr);
}

/* A listening socket on `addr` (checked by check_listen()), or -1
 * (printed). `shown` gets the address as bound (port 0 picks one). */
static int listen_on(struct cli *cli, const char *addr, char *shown,
                     size_t size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	char host[256], serv[16], nhost[NI_MAXHOST];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1, one = 1, e;

	if (!strncmp(addr, "unix:", 5))
		return listen_unix(cli, addr + 5, shown, size);
	/* check_listen() let it through */
	if (split_listen(addr, host, sizeof(host), serv, sizeof(serv)) < 0)
		abort();
	e = getaddrinfo(*host ? host : NULL, serv, &hints, &res);
	if (e) {
		fprintf(stderr, "strata: error: could not listen on '%s': %s\n",
		        addr, gai_strerror(e));
		return -1;
	}
	errno = 0;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 128) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "strata: error: could not listen on '%s': %s\n",
		        addr, strerror(errno ? errno : EADDRNOTAVAIL));
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, nhost, sizeof(nhost), serv,
	                sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(shown, size, "http://%s%s%s:%s/",
		         ss.ss_family == AF_INET6 ? "[" : "", nhost,
		         ss.ss_family == AF_INET6 ? "]" : "", serv);
	else
		snprintf(shown, size, "%s", addr);
	return fd;
}

/* Whether the socket `fd` listens on this host only: a Unix socket,
 * 127.0.0.0/8 or ::1 (also as ::ffff:127.x.y.z). */
static bool is_local(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return false;
	if (ss.ss_family == AF_UNIX)
		return true;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >>
		        24) == 127;
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a =
		        &((struct sockaddr_in6 *)&ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

static void catch_stop_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_stop_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_stop;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* one ignored by whoever started us (nohup) stays ignored */
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

/* Waits for a stop signal; returns it. */
static int wait_for_stop(void)
{
	struct pollfd p = { .fd = stop_pipe[0], .events = POLLIN };
	char c = 0;

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	if (read(stop_pipe[0], &c, 1) < 0)
		c = 0;
	return c;
}

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	const char *listen_addr = DEFAULT_LISTEN;
	double interval = DEFAULT_INTERVAL, timeout = DEFAULT_TIMEOUT;
	size_t max_connections = DEFAULT_MAX_CONNECTIONS;
	bool is_pending_ok = false, is_auth_health = false, is_no_auth = false;
	const char *auth_file = NULL, *tls_cert = NULL, *tls_key = NULL, *why;
	const struct opt opts[] = {
		{ 0, "listen", OPT_STRING, &listen_addr, NULL, "ADDR",
		  "where to listen: HOST:PORT, [IPV6]:PORT or unix:PATH (default " DEFAULT_LISTEN
		  "; port 0 picks a free one)" },
		{ 0, "interval", OPT_DURATION, &interval, NULL, "DURATION",
		  "read the database at most this often, however many ask (default 10s; 0: at every request)" },
		{ 0, "pending-ok", OPT_FLAG, &is_pending_ok, NULL, NULL,
		  "/health answers 200 (status warning) while migrations are pending, not 503" },
		{ 0, "max-connections", OPT_SIZE, &max_connections, NULL, "N",
		  "connections served at once; more are closed (default 128)" },
		{ 0, "timeout", OPT_DURATION, &timeout, NULL, "DURATION",
		  "close a connection idle this long, mid-request too (default 10s)" },
		{ 0, "auth-file", OPT_STRING, &auth_file, NULL, "FILE",
		  "every request needs credentials from FILE: USER:BCRYPT-HASH lines (htpasswd -B) for HTTP Basic, bearer:TOKEN lines for bearer tokens; /health without them answers its status only" },
		{ 0, "auth-health", OPT_FLAG, &is_auth_health, NULL, NULL,
		  "/health needs credentials too (with --auth-file)" },
		{ 0, "no-auth", OPT_FLAG, &is_no_auth, NULL, NULL,
		  "serve beyond loopback without credentials (behind a proxy or a network policy that keeps others out)" },
		{ 0, "tls-cert", OPT_STRING, &tls_cert, NULL, "FILE",
		  "speak HTTPS with this PEM certificate (and its chain); with --tls-key" },
		{ 0, "tls-key", OPT_STRING, &tls_key, NULL, "FILE",
		  "the certificate's private key, PEM, unencrypted" },
		OPT_END,
	};
	struct server s = { .cli = cli };
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	struct MHD_Daemon *d = NULL;
	struct strata_error err = STRATA_ERROR_INIT;
	struct serve_tls tls = { 0 };
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	char shown[NI_MAXHOST + 64];
	char *url = NULL;
	bool is_here;
	int fd = -1,
	    rc = cli_parse_options(cli, "serve", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "serve", "unexpected argument '%s'",
		                       argv[0]);
	if ((rc = check_listen(cli, listen_addr)))
		return rc;
	if (interval < 0)
		return cli_usage_error(
		        cli, "serve",
		        "--interval wants a duration, not forever");
	if (timeout < 1 || timeout > 86400)
		return cli_usage_error(
		        cli, "serve",
		        "--timeout wants a duration from 1s to 24h");
	if (!tls_cert != !tls_key)
		return cli_usage_error(
		        cli, "serve",
		        "--tls-cert and --tls-key go together: %s",
		        tls_cert ? "give --tls-key too"
		                 : "give --tls-cert too");
	if (is_auth_health && !auth_file)
		return cli_usage_error(cli, "serve",
		                       "--auth-health wants --auth-file");
	if (is_no_auth && auth_file)
		return cli_usage_error(
		        cli, "serve",
		        "--no-auth and --auth-file exclude each other");
	if ((why = serve_mhd_load())) {
		fprintf(stderr,
		        "strata: error: serve needs libmicrohttpd, which could not be loaded: %s\n"
		        "hint: Install it (Debian: apt install libmicrohttpd12).\n",
		        why);
		return 1;
	}
	if (tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		fprintf(stderr,
		        "strata: error: this libmicrohttpd was built without TLS: serve cannot speak HTTPS\n");
		return 1;
	}
	if (!cli->database)
		return cli_open_db(cli, &db); /* its error: no database */
	/* a wrong --source is the operator's to fix now, not a 503 forever */
	if ((rc = cli_load_source(cli, &src)))
		return rc;
	strata_source_free(src);
	pthread_mutex_init(&s.lock, NULL);
	pthread_mutex_init(&s.refused_lock, NULL);
	pthread_cond_init(&s.read_done, NULL);
	/* so are an auth file or a certificate that cannot be used */
	if ((auth_file && serve_auth_load(&s.auth, auth_file, &err) < 0) ||
	    (tls_cert && serve_tls_load(&tls, tls_cert, tls_key, &err) < 0)) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if ((fd = listen_on(cli, listen_addr, shown, sizeof(shown))) < 0) {
		rc = 1;
		goto done;
	}
	is_here = is_local(fd);
	if (!is_here && !s.auth && !is_no_auth) {
		close(fd);
		strata_error_set(
		        &err, STRATA_EUSAGE,
		        "serving '%s' beyond this host without authentication",
		        listen_addr);
		strata_error_hint(
		        &err,
		        "Give --auth-file FILE, or --no-auth when a proxy or a network policy keeps others out: the state names hosts, users and commands.");
		rc = cli_error(cli, &err);
		goto done;
	}
	if (pipe(stop_pipe) < 0 ||
	    fcntl(stop_pipe[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(stop_pipe[1], F_SETFD, FD_CLOEXEC) < 0) {
		close(fd);
		fprintf(stderr, "strata: error: pipe: %s\n", strerror(errno));
		rc = 1;
		goto done;
	}
	if (tls.cert) {
		tls_opts[0] =
		        (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
			                         tls.cert };
		tls_opts[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY,
			                               0, tls.key };
		if (!strncmp(shown, "http://", 7)) {
			memmove(shown + 5, shown + 4, strlen(shown + 4) + 1);
			shown[4] = 's';
		}
	}
	url = strata_url_redact(cli->database);
	s.url = url;
	s.interval = interval;
	s.is_pending_ok = is_pending_ok;
	s.is_auth_health = is_auth_health;
	catch_stop_signals();
	d = MHD_start_daemon(
	        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	                MHD_USE_ERROR_LOG | (tls.cert ? MHD_USE_TLS : 0),
	        0, NULL, NULL, on_request, &s, MHD_OPTION_EXTERNAL_LOGGER,
	        on_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
	        /* each worker takes its share of the connections; one
	         * connection: no pool (0) */
	        MHD_OPTION_THREAD_POOL_SIZE,
	        (unsigned)(max_connections < 2                ? 0
	                   : max_connections < WORKER_THREADS ? max_connections
	                                                      : WORKER_THREADS),
	        MHD_OPTION_CONNECTION_LIMIT, (unsigned)max_connections,
	        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout,
	        MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr,
		        "strata: error: could not start the HTTP server on %s\n",
		        shown);
		close(fd);
		rc = 1;
		goto done;
	}
	say("serving %s", shown);
	say("database %s, read at most once per interval", url);
	if (!is_here && !s.auth)
		say("%s",
		    "warning: serving beyond this host without authentication (--no-auth): whoever reaches it reads the migration state");
	else if (!is_here && !tls.cert)
		say("%s",
		    "warning: credentials cross the network in clear text: give --tls-cert and --tls-key, or put a TLS proxy in front");
	if (tls.is_expired)
		say("warning: the TLS certificate '%s' is expired or not valid yet: clients will refuse it",
		    tls_cert);
	wait_for_stop();
	say("%s", "stopping");
	MHD_stop_daemon(d);
	alarm(0);
	rc = 0;
done:
	if (!strncmp(listen_addr, "unix:", 5) && d)
		unlink(listen_addr + 5);
	pages_free(s.pages);
	strata_db_close(s.db);
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.read_done);
	pthread_mutex_destroy(&s.refused_lock);
	if (stop_pipe[0] >= 0)
		close(stop_pipe[0]);
	if (stop_pipe[1] >= 0)
		close(stop_pipe[1]);
	free(url);
	serve_auth_free(s.auth);
	serve_tls_release(&tls);
	strata_error_release(&err);
	return rc;
}
