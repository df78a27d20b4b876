/*
 * Fleets (design.md, Fleets): one command over many databases. Each
 * target is a child process forked from this one once the command line
 * is parsed, which runs the command exactly as a single invocation would
 * (its own connection, lock, retries, fence, audit), with the target's
 * URL in place of the database and its output in JSON on a pipe; the
 * parent runs --jobs of them at once, says when each starts and ends,
 * and prints one report. A target's URL never reaches a command line.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

/* the commands that take a fleet: each reads or changes one database */
static const char *const fleet_commands[] = {
	"run",    "status", "check",   "validate", "lint",
	"revert", "backup", "history", "verify",   "drift",
};

enum target_state {
	TARGET_WAITING,
	TARGET_RUNNING,
	TARGET_DONE, /* exit 0, or 3 of check */
	TARGET_FAILED,
	TARGET_SKIPPED, /* not started: --fail-fast, a canary, a signal */
};

struct target {
	char *url;      /* as given: may hold a password */
	char *schema;   /* --schemas: the tenant's; NULL otherwise */
	char *redacted; /* what is shown */
	enum target_state state;
	pid_t pid;
	int fd;     /* the child's stdout: its JSON result */
	int fd_err; /* its stderr: JSON lines of what it does */
	struct sbuf_lite {
		char *buf;
		size_t len, alloc;
	} out, err;
	char *waiting; /* what it waits on now, from its stderr; NULL */
	int exit_code;
	struct timespec started;
	double seconds;
};

struct fleet {
	struct target *targets;
	size_t n, alloc;
	size_t running, done, failed, next;
	bool is_tty;
};

static void out_add(struct sbuf_lite *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->alloc) {
		b->alloc = (b->len + n + 1) * 2;
		b->buf = realloc(b->buf, b->alloc);
		if (!b->buf)
			abort();
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void fleet_add(struct fleet *f, const char *url, const char *schema)
{
	struct target *t;

	if (f->n == f->alloc) {
		f->alloc = f->alloc ? 2 * f->alloc : 16;
		f->targets = realloc(f->targets, f->alloc * sizeof(*t));
		if (!f->targets)
			abort();
	}
	t = &f->targets[f->n++];
	memset(t, 0, sizeof(*t));
	t->url = strdup(url);
	t->redacted = strata_url_redact(url);
	if (!t->url || !t->redacted)
		abort();
	if (schema) {
		size_t n = strlen(t->redacted) + strlen(schema) + 16;
		char *shown = malloc(n);

		t->schema = strdup(schema);
		if (!shown || !t->schema)
			abort();
		snprintf(shown, n, "%s schema %s", t->redacted, schema);
		free(t->redacted);
		t->redacted = shown;
	}
	t->fd = t->fd_err = -1;
}

static void fleet_release(struct fleet *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->targets[i].url);
		free(f->targets[i].schema);
		free(f->targets[i].redacted);
		free(f->targets[i].out.buf);
		free(f->targets[i].err.buf);
		free(f->targets[i].waiting);
	}
	free(f->targets);
}

/* --targets FILE: a URL or keyword string per line; # comments. */
static int read_targets_file(struct cli *cli, struct fleet *f, const char *path)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t alloc = 0;
	ssize_t n;

	if (!fp)
		return cli_usage_error(cli, NULL,
		                       "cannot read --targets '%s': %s", path,
		                       strerror(errno));
	while ((n = getline(&line, &alloc, fp)) >= 0) {
		char *s = line, *e = line + n;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && strchr(" \t\r\n", e[-1]))
			e--;
		*e = '\0';
		if (*s && *s != '#')
			fleet_add(f, s, NULL);
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	return 0;
}

/*
 * The targets a question to the database names: --targets-query SQL (each
 * row a URL or a database name on the same server) or, with is_schemas,
 * --schemas PATTERN (each schema LIKE it, on the database itself).
 */
static int query_targets(struct cli *cli, struct fleet *f, const char *arg,
                         bool is_schemas)
{
	struct strata_error err = STRATA_ERROR_INIT;
	char **rows = NULL;
	size_t n = 0;
	int rc;

	if (!cli->database)
		return cli_usage_error(
		        cli, NULL,
		        "%s asks the database: give --database URL (or DATABASE_URL)",
		        is_schemas ? "--schemas" : "--targets-query");
	rc = is_schemas ? strata_fleet_query_schemas(&rows, &n, cli->database,
	                                             arg, &err)
	                : strata_fleet_query_targets(&rows, &n, cli->database,
	                                             arg, &err);
	if (rc < 0) {
		rc = cli_error(cli, &err);
		strata_error_release(&err);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		fleet_add(f, is_schemas ? cli->database : rows[i],
		          is_schemas ? rows[i] : NULL);
		free(rows[i]);
	}
	free(rows);
	return 0;
}

static double since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The live line on a terminal: how the fleet stands, and its slowest
 * target with what it waits on. */
static void show_line(struct cli *cli, struct fleet *f)
{
	const struct target *slowest = NULL;
	double longest = 0;

	if (!f->is_tty || cli->verbosity < 0 || cli->format == FORMAT_JSON)
		return;
	for (size_t i = 0; i < f->n; i++) {
		const struct target *t = &f->targets[i];
		double s;

		if (t->state != TARGET_RUNNING)
			continue;
		s = since(&t->started);
		if (!slowest || s > longest) {
			slowest = t;
			longest = s;
		}
	}
	fprintf(stderr,
	        "\r\033[KFleet: %zu done, %zu running, %zu failed, %zu left",
	        f->done, f->running, f->failed, f->n - f->next);
	if (slowest && longest >= 1)
		fprintf(stderr, "; slowest %s, %.0f s%s%.80s",
		        cli_safe(slowest->redacted), longest,
		        slowest->waiting ? ": " : "",
		        slowest->waiting ? cli_safe(slowest->waiting) : "");
	cli->has_progress_line = true;
}

static void say(struct cli *cli, struct fleet *f, const char *fmt, ...)
        STRATA_PRINTF(3, 4);
static void say(struct cli *cli, struct fleet *f, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	if (cli->verbosity < 0 || cli->format == FORMAT_JSON)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (f->is_tty)
		fputs("\r\033[K", stderr);
	cli_info(cli, "%s", buf);
	show_line(cli, f);
}

static int start(struct cli *cli, struct fleet *f, struct target *t)
{
	int fds[2], efds[2];
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	if (pipe(efds) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		close(efds[0]);
		close(efds[1]);
		return -1;
	}
	if (pid == 0) {
		/* the parent alone gets the terminal's signals and forwards
		 * one; its death is a SIGTERM here, which unwinds */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(128 + SIGTERM);
		close(fds[0]);
		close(efds[0]);
		dup2(fds[1], STDOUT_FILENO);
		dup2(efds[1], STDERR_FILENO);
		close(fds[1]);
		close(efds[1]);
		cli->fleet_target = t->url;
		if (t->schema)
			cli->schema = t->schema;
		cli->is_fleet_child = true;
		cli->format = FORMAT_JSON;
		cli->is_color_out = cli->is_color_err = false;
		exit(cli->cmd_fn(cli, cli->cmd_argc, cli->cmd_argv));
	}
	close(fds[1]);
	close(efds[1]);
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(efds[0], F_SETFD, FD_CLOEXEC);
	t->pid = pid;
	t->fd = fds[0];
	t->fd_err = efds[0];
	t->state = TARGET_RUNNING;
	clock_gettime(CLOCK_MONOTONIC, &t->started);
	f->running++;
	say(cli, f, "%s: started", t->redacted);
	return 0;
}

/*
 * The child's JSON: its error's message, where it was, and the server's
 * detail (why a connection failed: a fleet's report is where a database
 * that does not exist or a password refused is read), or NULL.
 */
static char *error_of(const struct target *t)
{
	const char *brace = t->out.buf ? strchr(t->out.buf, '{') : NULL;
	json_t *doc, *e, *m, *file, *line, *detail;
	char *msg = NULL;
	size_t n;

	if (!brace || !(doc = json_loads(brace, JSON_DISABLE_EOF_CHECK, NULL)))
		return NULL;
	e = json_object_get(doc, "error");
	m = json_object_get(e, "message");
	if (!json_is_string(m)) {
		json_decref(doc);
		return NULL;
	}
	file = json_object_get(e, "file");
	line = json_object_get(e, "line");
	detail = json_object_get(e, "detail");
	if (!json_is_string(file) || !json_is_integer(line))
		file = NULL;
	if (!json_is_string(detail) || !*json_string_value(detail))
		detail = NULL;
	n = json_string_length(m) + 64 + (file ? json_string_length(file) : 0) +
	    (detail ? json_string_length(detail) : 0);
	msg = malloc(n);
	if (!msg)
		abort();
	snprintf(msg, n, "%s", json_string_value(m));
	if (file)
		snprintf(msg + strlen(msg), n - strlen(msg), " (at %s:%lld)",
		         json_string_value(file),
		         (long long)json_integer_value(line));
	if (detail)
		snprintf(msg + strlen(msg), n - strlen(msg), ": %s",
		         json_string_value(detail));
	/* one line in the report and the log */
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	json_decref(doc);
	return msg;
}

/* The child's JSON document, for the report. */
static json_t *result_of(const struct target *t)
{
	const char *brace = t->out.buf ? strchr(t->out.buf, '{') : NULL;

	return brace ? json_loads(brace, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
}

/* What the child did, in a few words, from its JSON. */
static void what_of(char *buf, size_t size, const struct target *t,
                    const char *cmd)
{
	json_t *doc = result_of(t), *v;

	*buf = '\0';
	if (!doc)
		return;
	if (!strcmp(cmd, "run") &&
	    json_is_integer(v = json_object_get(doc, "applied")))
		snprintf(buf, size,
		         json_integer_value(v) ? "applied %lld" : "up to date",
		         (long long)json_integer_value(v));
	else if (!strcmp(cmd, "verify") &&
	         json_is_integer(v = json_object_get(doc, "errors")))
		snprintf(buf, size, "%lld errors, %lld warnings",
		         (long long)json_integer_value(v),
		         (long long)json_integer_value(
		                 json_object_get(doc, "warnings")));
	else if (json_is_integer(v = json_object_get(doc, "pending")) ||
	         json_is_integer(
	                 v = json_object_get(json_object_get(doc, "summary"),
	                                     "pending")))
		snprintf(buf, size,
		         json_integer_value(v) ? "%lld pending" : "up to date",
		         (long long)json_integer_value(v));
	json_decref(doc);
}

static void finish(struct cli *cli, struct fleet *f, struct target *t,
                   int status, bool is_check)
{
	char *msg;

	t->exit_code = WIFEXITED(status) ? WEXITSTATUS(status)
	                                 : 128 + WTERMSIG(status);
	t->seconds = since(&t->started);
	t->state = t->exit_code == 0 || (is_check && t->exit_code == 3)
	                   ? TARGET_DONE
	                   : TARGET_FAILED;
	f->running--;
	if (t->state == TARGET_DONE) {
		char what[64];

		f->done++;
		what_of(what, sizeof(what), t, cli->cmd_name);
		say(cli, f, "%s: %s (%.1f s)", t->redacted,
		    *what ? what : "done", t->seconds);
		return;
	}
	f->failed++;
	msg = error_of(t);
	say(cli, f, "%s: failed, exit %d (%.1f s)%s%s", t->redacted,
	    t->exit_code, t->seconds, msg ? ": " : "", msg ? msg : "");
	free(msg);
}

/*
 * The child's JSON lines of events (run's progress in JSON): what it
 * waits on, for the live line and the log, until it goes on.
 */
static void read_events(struct cli *cli, struct fleet *f, struct target *t)
{
	char *line = t->err.buf, *nl;

	while (line && (nl = strchr(line, '\n'))) {
		json_t *o, *ev, *msg;

		*nl = '\0';
		if ((o = json_loads(line, 0, NULL))) {
			ev = json_object_get(o, "event");
			msg = json_object_get(o, "message");
			if (json_is_string(ev) &&
			    (!strcmp(json_string_value(ev), "lock-wait") ||
			     !strcmp(json_string_value(ev), "blocked")) &&
			    json_is_string(msg)) {
				free(t->waiting);
				t->waiting = strdup(json_string_value(msg));
				say(cli, f, "%s: %s", t->redacted,
				    json_string_value(msg));
			} else if (json_is_string(ev)) {
				free(t->waiting);
				t->waiting = NULL;
			}
			json_decref(o);
		}
		line = nl + 1;
	}
	if (line && line != t->err.buf) {
		t->err.len -= (size_t)(line - t->err.buf);
		memmove(t->err.buf, line, t->err.len + 1);
	}
}

/* Reads what a child wrote on `*fd`; closes it at the end. */
static void drain(int *fd, struct sbuf_lite *into)
{
	char buf[8192];
	ssize_t got = read(*fd, buf, sizeof(buf));

	if (got > 0) {
		out_add(into, buf, (size_t)got);
	} else if (got == 0 || errno != EINTR) {
		close(*fd);
		*fd = -1;
	}
}

/* Reads what children wrote and reaps those that ended. */
static void wait_some(struct cli *cli, struct fleet *f, bool is_check)
{
	struct pollfd pfd[512];
	size_t map[512], n = 0;

	for (size_t i = 0; i < f->n && n + 2 <= 512; i++) {
		const struct target *t = &f->targets[i];

		if (t->state != TARGET_RUNNING)
			continue;
		if (t->fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = t->fd,
				                  .events = POLLIN };
			map[n++] = i;
		}
		if (t->fd_err >= 0) {
			pfd[n] = (struct pollfd){ .fd = t->fd_err,
				                  .events = POLLIN };
			map[n++] = i;
		}
	}
	if (n && poll(pfd, n, 200) > 0) {
		for (size_t k = 0; k < n; k++) {
			struct target *t = &f->targets[map[k]];

			if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pfd[k].fd == t->fd) {
				drain(&t->fd, &t->out);
			} else {
				drain(&t->fd_err, &t->err);
				read_events(cli, f, t);
			}
		}
	} else if (!n) {
		usleep(20000);
	}
	show_line(cli, f);
	for (size_t i = 0; i < f->n; i++) {
		struct target *t = &f->targets[i];
		int status;

		if (t->state != TARGET_RUNNING || t->fd >= 0 || t->fd_err >= 0)
			continue;
		if (waitpid(t->pid, &status, 0) == t->pid)
			finish(cli, f, t, status, is_check);
	}
}

static void print_report(struct cli *cli, struct fleet *f)
{
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object(), *list = json_array();

		for (size_t i = 0; i < f->n; i++) {
			const struct target *t = &f->targets[i];
			json_t *o = json_object(), *r;
			char *msg =
			        t->state == TARGET_FAILED ? error_of(t) : NULL;

			json_object_set_new(o, "target",
			                    cli_json_text(t->redacted));
			json_object_set_new(
			        o, "result",
			        json_string(t->state == TARGET_DONE ? "ok"
			                    : t->state == TARGET_FAILED
			                            ? "failed"
			                            : "not started"));
			json_object_set_new(
			        o, "exit_code",
			        t->state == TARGET_DONE ||
			                        t->state == TARGET_FAILED
			                ? json_integer(t->exit_code)
			                : json_null());
			if (t->state == TARGET_DONE) {
				char what[64];

				what_of(what, sizeof(what), t, cli->cmd_name);
				json_object_set_new(o, "summary",
				                    json_string(what));
			}
			json_object_set_new(o, "duration_s",
			                    json_real(t->seconds));
			json_object_set_new(o, "error",
			                    msg ? cli_json_text(msg)
			                        : json_null());
			r = result_of(t);
			json_object_set_new(o, "output", r ? r : json_null());
			json_array_append_new(list, o);
			free(msg);
		}
		json_object_set_new(doc, "targets", list);
		json_object_set_new(doc, "done",
		                    json_integer((json_int_t)f->done));
		json_object_set_new(doc, "failed",
		                    json_integer((json_int_t)f->failed));
		json_object_set_new(
		        doc, "not_started",
		        json_integer((json_int_t)(f->n - f->done - f->failed)));
		cli_print_json(doc);
		return;
	}
	if (cli->verbosity < 0 && !f->failed)
		return;
	printf("%-11s %-20s %8s  %s\n", "RESULT", "", "SECONDS", "TARGET");
	for (size_t i = 0; i < f->n; i++) {
		const struct target *t = &f->targets[i];
		char *msg = t->state == TARGET_FAILED ? error_of(t) : NULL;
		char what[64] = "";

		if (t->state == TARGET_DONE ||
		    (t->state == TARGET_FAILED && !msg))
			what_of(what, sizeof(what), t, cli->cmd_name);
		printf("%-11s %-20s %8.1f  %s\n",
		       t->state == TARGET_DONE     ? "ok"
		       : t->state == TARGET_FAILED ? "failed"
		                                   : "not started",
		       what, t->seconds, cli_safe(t->redacted));
		if (msg)
			printf("%-11s %-20s %8s    %s\n", "", "", "",
			       cli_safe(msg));
		free(msg);
	}
	printf("%zu target%s: %zu ok, %zu failed, %zu not started.\n", f->n,
	       f->n == 1 ? "" : "s", f->done, f->failed,
	       f->n - f->done - f->failed);
}

/*
 * --jobs, but never more than the server has free connections for: each
 * target holds up to three (its session, the lock's, and one that watches
 * what blocks it). The server of the database, else of the first target,
 * is asked; one that cannot be reached is the targets' failure to report,
 * not this one's.
 */
static size_t cap_jobs(struct cli *cli, struct fleet *f, size_t jobs)
{
	struct strata_error err = STRATA_ERROR_INIT;
	const char *url = cli->database ? cli->database : f->targets[0].url;
	int free_conns = -1;
	size_t most;

	if (strata_fleet_free_connections(&free_conns, url, &err) < 0 ||
	    free_conns < 0) {
		strata_error_release(&err);
		return jobs;
	}
	most = free_conns >= 6 ? (size_t)free_conns / 3 : 1;
	if (jobs <= most)
		return jobs;
	say(cli, f,
	    "strata: %zu targets at once, not %zu: the server has %d free connections, and each target takes up to three",
	    most, jobs, free_conns);
	return most;
}

int cli_fleet_run(struct cli *cli)
{
	struct fleet f = { 0 };
	bool is_check = !strcmp(cli->cmd_name, "check");
	bool is_known = false, is_stopped = false;
	size_t jobs = cli->fleet_jobs > 0 ? (size_t)cli->fleet_jobs : 4;
	size_t canary = cli->fleet_canary > 0 ? (size_t)cli->fleet_canary : 0;
	size_t n_pending = 0;
	int rc = 0;

	for (size_t i = 0;
	     i < sizeof(fleet_commands) / sizeof(fleet_commands[0]); i++)
		is_known =
		        is_known || !strcmp(cli->cmd_name, fleet_commands[i]);
	if (!is_known)
		return cli_usage_error(
		        cli, cli->cmd_name,
		        "'strata %s' takes no fleet (--targets, --targets-query, --schemas, --fleet): run, status, check, validate, lint, revert, backup, history, verify and drift do",
		        cli->cmd_name);
	if ((cli->fleet_targets_file &&
	     (rc = read_targets_file(cli, &f, cli->fleet_targets_file))) ||
	    (cli->fleet_targets_query &&
	     (rc = query_targets(cli, &f, cli->fleet_targets_query, false))) ||
	    (cli->fleet_schemas &&
	     (rc = query_targets(cli, &f, cli->fleet_schemas, true))))
		goto done;
	if (!f.n) {
		struct strata_error err = STRATA_ERROR_INIT;

		strata_error_set(&err, STRATA_EVALIDATE,
		                 "the fleet has no target: %s names none",
		                 cli->fleet_targets_file    ? "--targets"
		                 : cli->fleet_targets_query ? "--targets-query"
		                                            : "--schemas");
		rc = cli_error(cli, &err);
		strata_error_release(&err);
		goto done;
	}
	f.is_tty = isatty(STDERR_FILENO);
	jobs = cap_jobs(cli, &f, jobs);
	if (canary > f.n)
		canary = f.n;
	while (f.next < f.n || f.running) {
		/* a canary: its targets first, ended, and none after a
		 * failure */
		bool is_canary_over =
		        f.next >= canary && f.done + f.failed >= canary;
		size_t limit = canary && !is_canary_over ? canary : f.n;

		if (cli_interrupted() && !is_stopped) {
			is_stopped = true;
			for (size_t i = 0; i < f.n; i++)
				if (f.targets[i].state == TARGET_RUNNING)
					kill(f.targets[i].pid,
					     cli_interrupted());
		}
		if (cli->is_fleet_fail_fast && f.failed)
			is_stopped = true;
		if (canary && is_canary_over && f.failed && !is_stopped) {
			is_stopped = true;
			say(cli, &f,
			    "Canary failed: %zu of the first %zu targets failed; the other %zu were not started.",
			    f.failed, canary, f.n - f.next);
		}
		while (!is_stopped && f.next < limit && f.running < jobs) {
			if (start(cli, &f, &f.targets[f.next]) < 0) {
				say(cli, &f, "%s: cannot start: %s",
				    f.targets[f.next].redacted,
				    strerror(errno));
				f.targets[f.next].state = TARGET_FAILED;
				f.targets[f.next].exit_code = 1;
				f.failed++;
			}
			f.next++;
		}
		if (is_stopped && !f.running)
			break;
		wait_some(cli, &f, is_check);
	}
	if (f.is_tty && cli->verbosity >= 0 && cli->format != FORMAT_JSON)
		fputs("\r\033[K", stderr);
	cli->has_progress_line = false;
	print_report(cli, &f);
	for (size_t i = 0; i < f.n; i++)
		if (f.targets[i].state == TARGET_DONE &&
		    f.targets[i].exit_code == 3)
			n_pending++;
	rc = cli_interrupted()                     ? 128 + cli_interrupted()
	     : f.failed || f.done + f.failed < f.n ? EXIT_FAILED
	     : n_pending                           ? EXIT_PENDING
	                                           : 0;
done:
	fleet_release(&f);
	return rc;
}
