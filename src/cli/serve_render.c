/*
 * strata serve's machine-read answers: /health and /history.json as JSON,
 * /metrics in Prometheus' text exposition format (version 0.0.4, checked
 * by promtool). Text from the database (descriptions, errors, action
 * names) is untrusted: JSON strings go through jansson, label values are
 * escaped as the format says. Nothing here touches the database.
 */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

bool serve_parse_time(double *out, const char *s)
{
	struct tm tm;
	double frac = 0;
	int n = 0;
	time_t t;

	if (!s)
		return false;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return false;
	s += n;
	if (*s == '.') {
		double scale = 0.1;

		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += (*s - '0') * scale;
	}
	if (*s != 'Z' && *s != '\0')
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = (double)t + frac;
	return true;
}

void serve_format_time(char *buf, size_t size, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

const struct strata_status_entry *
serve_latest_version(const struct strata_status *st)
{
	const struct strata_status_entry *latest = NULL;

	for (size_t i = 0; i < st->count; i++) {
		const struct strata_status_entry *e = &st->entries[i];

		if (e->is_recorded && e->state != STRATA_STATE_FAILED &&
		    (!latest || e->version > latest->version))
			latest = e;
	}
	return latest;
}

bool serve_version_number(int64_t *out, const struct strata_status_entry *e)
{
	const char *s = e->version_text;
	size_t n = s ? strspn(s, "0123456789") : 0;

	if (!s || !*s) {
		*out = e->version;
		return true;
	}
	if (s[n] || n > 18)
		return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

/* The version for JSON: a number where the layout's is one. */
static json_t *version_json(const struct strata_status_entry *e)
{
	int64_t n;

	return serve_version_number(&n, e) ? json_integer(n)
	                                   : json_string(e->version_text);
}

/*
 * ok: up to date. warning: migrations pending (503, unless --pending-ok:
 * a rolling deploy's new code may wait for them). error: the history
 * disagrees with the source (failed, edited, missing) or could not be
 * read. 503 tells a load balancer or a readiness probe to hold traffic.
 */
const char *serve_health_status(const struct serve_read *r, int *code)
{
	enum strata_code verdict;

	*code = 503;
	if (!r->is_ok)
		return "error";
	verdict = strata_status_verdict(r->st);
	if (verdict == STRATA_OK) {
		*code = 200;
		return "ok";
	}
	if (verdict == STRATA_EPENDING) {
		if (r->is_pending_ok)
			*code = 200;
		return "warning";
	}
	return "error";
}

/* The runner holding the migration lock, or null. */
static json_t *running_json(const struct strata_runner *run)
{
	json_t *o;

	if (!run->is_running)
		return json_null();
	o = json_object();
	json_object_set_new(o, "pid", json_integer(run->pid));
	json_object_set_new(o, "migration",
	                    *run->what ? cli_json_text(run->what)
	                               : json_null());
	json_object_set_new(o, "seconds",
	                    run->seconds >= 0 ? json_real(run->seconds)
	                                      : json_null());
	return o;
}

static json_t *health_json(const struct serve_read *r, int *code)
{
	json_t *o = json_object();
	char when[32];

	json_object_set_new(o, "status",
	                    json_string(serve_health_status(r, code)));
	if (r->is_ok) {
		const struct strata_status *st = r->st;
		const struct strata_status_entry *latest =
		        serve_latest_version(st);

		json_object_set_new(o, "migrations_pending",
		                    json_integer((json_int_t)st->n_pending));
		json_object_set_new(o, "migrations_applied",
		                    json_integer((json_int_t)st->n_applied));
		json_object_set_new(o, "migrations_failed",
		                    json_integer((json_int_t)st->n_failed));
		json_object_set_new(o, "latest_version",
		                    latest ? version_json(latest)
		                           : json_null());
		json_object_set_new(o, "checksum_mismatches",
		                    json_integer((json_int_t)st->n_mismatch));
		json_object_set_new(o, "migrations_missing",
		                    json_integer((json_int_t)st->n_missing));
		json_object_set_new(o, "running", running_json(&r->runner));
	} else {
		/* unknown, not zero: a probe must not read "nothing pending" */
		json_object_set_new(o, "migrations_pending", json_null());
		json_object_set_new(o, "migrations_applied", json_null());
		json_object_set_new(o, "migrations_failed", json_null());
		json_object_set_new(o, "latest_version", json_null());
		json_object_set_new(o, "checksum_mismatches", json_null());
		json_object_set_new(o, "migrations_missing", json_null());
		json_object_set_new(o, "running", json_null());
		json_object_set_new(o, "error", cli_json_text(r->error));
	}
	/* schema drift is not detected yet: null says "not known", which
	 * "none" (false) would not */
	json_object_set_new(o, "drift", json_null());
	serve_format_time(when, sizeof(when), r->read_at);
	json_object_set_new(o, "checked_at", json_string(when));
	return o;
}

static void set_body(struct serve_body *b, char *text)
{
	b->text = text ? text : strdup("");
	if (!b->text)
		abort();
	b->len = strlen(b->text);
}

static char *dump(json_t *doc, size_t flags)
{
	char *s = json_dumps(doc, flags | JSON_PRESERVE_ORDER);

	json_decref(doc);
	if (!s)
		abort();
	return s;
}

static char *history_text(const struct serve_read *r)
{
	json_t *doc = json_object(), *list = json_array(), *audit;
	int code;

	json_object_set_new(doc, "health", health_json(r, &code));
	if (r->is_ok) {
		for (size_t i = 0; i < r->st->count; i++)
			json_array_append_new(
			        list,
			        cli_json_status_entry(&r->st->entries[i]));
		json_object_set_new(doc, "migrations", list);
		audit = json_array();
		/* newest first, as the page shows it */
		for (size_t i = r->audit->count; i-- > 0;)
			json_array_append_new(
			        audit, cli_json_audit_row(&r->audit->rows[i]));
		json_object_set_new(doc, "audit", audit);
	} else {
		json_decref(list);
		json_object_set_new(doc, "migrations", json_null());
		json_object_set_new(doc, "audit", json_null());
	}
	return dump(doc, JSON_INDENT(2));
}

/* ---- Prometheus text exposition ------------------------------------------ */

static void family(FILE *fp, const char *name, const char *type,
                   const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value as Prometheus reads it: integers exactly (versions such as
 * 20250101120000 pass 2^53 nowhere near), else shortest round trip. */
static void value(FILE *fp, double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		fprintf(fp, "%.0f\n", v);
	else
		fprintf(fp, "%.17g\n", v);
}

static void gauge(FILE *fp, const char *name, const char *help, double v)
{
	family(fp, name, "gauge", help);
	fprintf(fp, "%s ", name);
	value(fp, v);
}

/* A label value: backslash, double quote and newline escaped; other
 * control characters and bytes that are not UTF-8 made printable. */
static void label_value(FILE *fp, const char *s)
{
	char *safe = strata_printable(s ? s : "", 0);

	for (const char *p = safe ? safe : s ? s : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', fp);
		fputc(*p, fp);
	}
	free(safe);
}

static bool is_action(const struct strata_audit_row *row, const char *a)
{
	return row->action && strcmp(row->action, a) == 0;
}

static bool is_success(const struct strata_audit_row *row)
{
	return row->outcome && strcmp(row->outcome, "success") == 0;
}

/* Successful applies by duration: milliseconds to half an hour. */
static const double buckets[] = { 0.001, 0.01, 0.1, 0.5, 1,   5,
	                          10,    30,   60,  300, 1800 };
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static void duration_histogram(FILE *fp, const struct strata_audit *a)
{
	uint64_t counts[N_BUCKETS] = { 0 }, n = 0;
	double sum = 0;

	for (size_t i = 0; i < a->count; i++) {
		const struct strata_audit_row *row = &a->rows[i];
		double secs = (double)row->duration_ns / 1e9;

		if (!is_action(row, "apply") || !is_success(row))
			continue;
		for (size_t b = 0; b < N_BUCKETS; b++)
			if (secs <= buckets[b])
				counts[b]++;
		n++;
		sum += secs;
	}
	family(fp, "strata_migration_duration_seconds", "histogram",
	       "How long each successful apply of the audit trail took.");
	for (size_t b = 0; b < N_BUCKETS; b++)
		fprintf(fp,
		        "strata_migration_duration_seconds_bucket{le=\"%g\"} %" PRIu64
		        "\n",
		        buckets[b], counts[b]);
	fprintf(fp,
	        "strata_migration_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64
	        "\n",
	        n);
	fprintf(fp, "strata_migration_duration_seconds_sum ");
	value(fp, sum);
	fprintf(fp, "strata_migration_duration_seconds_count %" PRIu64 "\n", n);
}

struct action_count {
	const char *action, *outcome;
	uint64_t n;
};

/* Rows per action and outcome, in the order first seen. */
static void action_counters(FILE *fp, const struct strata_audit *a)
{
	struct action_count *counts = calloc(a->count + 1, sizeof(*counts));
	size_t n = 0;

	if (!counts)
		abort();
	for (size_t i = 0; i < a->count; i++) {
		const char *act = a->rows[i].action ? a->rows[i].action : "";
		const char *out = a->rows[i].outcome ? a->rows[i].outcome : "";
		size_t k;

		for (k = 0; k < n; k++)
			if (!strcmp(counts[k].action, act) &&
			    !strcmp(counts[k].outcome, out))
				break;
		if (k == n) {
			counts[n].action = act;
			counts[n++].outcome = out;
		}
		counts[k].n++;
	}
	family(fp, "strata_audit_actions_total", "counter",
	       "Rows of the audit trail by action and outcome.");
	for (size_t k = 0; k < n; k++) {
		fputs("strata_audit_actions_total{action=\"", fp);
		label_value(fp, counts[k].action);
		fputs("\",outcome=\"", fp);
		label_value(fp, counts[k].outcome);
		fprintf(fp, "\"} %" PRIu64 "\n", counts[k].n);
	}
	free(counts);
}

/* SQLSTATEs of a lost lock race: the attempt was rolled back and run
 * again (lock_not_available, deadlock_detected). */
static bool is_retried(const struct strata_audit_row *row)
{
	return !is_success(row) && row->sqlstate &&
	       (!strcmp(row->sqlstate, "55P03") ||
	        !strcmp(row->sqlstate, "40P01"));
}

static void audit_metrics(FILE *fp, const struct serve_read *r)
{
	const struct strata_audit *a = r->audit;
	const struct strata_audit_row *last = NULL;
	double lock_wait = 0, at;
	uint64_t retries = 0;

	for (size_t i = 0; i < a->count; i++) {
		const struct strata_audit_row *row = &a->rows[i];

		lock_wait += (double)row->lock_wait_ns / 1e9;
		if (is_retried(row))
			retries++;
		if (is_action(row, "apply") || is_action(row, "revert"))
			last = row;
	}
	duration_histogram(fp, a);
	action_counters(fp, a);
	family(fp, "strata_lock_wait_seconds_total", "counter",
	       "Time the actions of the audit trail waited for the migration lock.");
	fprintf(fp, "strata_lock_wait_seconds_total ");
	value(fp, lock_wait);
	family(fp, "strata_migration_retries_total", "counter",
	       "Attempts that lost a lock race (lock timeout or deadlock) and were rolled back.");
	fprintf(fp, "strata_migration_retries_total %" PRIu64 "\n", retries);
	if (!last)
		return;
	gauge(fp, "strata_last_run_success",
	      "Whether the newest apply or revert of the audit trail succeeded.",
	      is_success(last) ? 1 : 0);
	if (serve_parse_time(&at, last->finished_at ? last->finished_at
	                                            : last->started_at))
		gauge(fp, "strata_last_run_timestamp_seconds",
		      "When the newest apply or revert of the audit trail ended.",
		      at);
}

static void status_metrics(FILE *fp, const struct serve_read *r)
{
	const struct strata_status *st = r->st;
	const struct strata_status_entry *latest;
	int64_t number;
	double at;

	gauge(fp, "strata_migrations_pending",
	      "Migrations of the source not applied yet.",
	      (double)st->n_pending);
	gauge(fp, "strata_migrations_applied", "Migrations applied.",
	      (double)st->n_applied);
	gauge(fp, "strata_migrations_failed",
	      "Migrations recorded as failed (partly applied).",
	      (double)st->n_failed);
	gauge(fp, "strata_migrations_checksum_mismatch",
	      "Applied migrations whose file changed since.",
	      (double)st->n_mismatch);
	gauge(fp, "strata_migrations_missing",
	      "Applied migrations missing from the source.",
	      (double)st->n_missing);
	if (!(latest = serve_latest_version(st)))
		return;
	/* a version such as Flyway's 1.1 is no number: the info has it */
	if (serve_version_number(&number, latest))
		gauge(fp, "strata_migration_latest_version",
		      "The newest version applied.", (double)number);
	family(fp, "strata_migration_latest_info", "gauge",
	       "The newest version applied, as its layout writes it, in a label.");
	fputs("strata_migration_latest_info{version=\"", fp);
	if (latest->version_text && *latest->version_text)
		label_value(fp, latest->version_text);
	else
		fprintf(fp, "%" PRId64, latest->version);
	fputs("\"} 1\n", fp);
	if (serve_parse_time(&at, latest->installed_on))
		gauge(fp, "strata_migration_latest_timestamp_seconds",
		      "When the newest version applied was installed.", at);
}

/* The server's own: its reads of the database and how they went. */
static void serve_counters(FILE *fp, const struct serve_read *r)
{
	family(fp, "strata_serve_reads_total", "counter",
	       "Reads of the database by this server.");
	fprintf(fp, "strata_serve_reads_total %" PRIu64 "\n", r->reads);
	family(fp, "strata_serve_read_errors_total", "counter",
	       "Reads of the database by this server that failed.");
	fprintf(fp, "strata_serve_read_errors_total %" PRIu64 "\n",
	        r->read_errors);
	gauge(fp, "strata_serve_last_read_timestamp_seconds",
	      "When this server last read the database.",
	      (double)r->read_at / 1000);
	gauge(fp, "strata_serve_read_duration_seconds",
	      "How long the last read of the database took.", r->read_secs);
}

static char *metrics_text(const struct serve_read *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (!fp)
		abort();
	gauge(fp, "strata_up",
	      "Whether the last read of the database and the source succeeded.",
	      r->is_ok ? 1 : 0);
	if (r->is_ok) {
		status_metrics(fp, r);
		audit_metrics(fp, r);
		/* a migration in its transaction is in no table yet: the
		 * lock its runner holds says it runs, and since when */
		gauge(fp, "strata_migration_running",
		      "Whether a runner holds the migration lock.",
		      r->runner.is_running ? 1 : 0);
		gauge(fp, "strata_migration_running_seconds",
		      "How long the migration running now has run (0: none).",
		      r->runner.seconds > 0 ? r->runner.seconds : 0);
	}
	if (r->has_backup) {
		gauge(fp, "strata_backup_newest_timestamp_seconds",
		      "When the newest complete backup was made.",
		      (double)r->backup_at);
		gauge(fp, "strata_backup_newest_age_seconds",
		      "Age of the newest complete backup at the last read.",
		      (double)r->read_at / 1000 - (double)r->backup_at);
	}
	if (r->is_run) {
		gauge(fp, "strata_run_exit_code",
		      "The exit code of the strata run that wrote this file.",
		      r->run_exit);
		gauge(fp, "strata_run_end_timestamp_seconds",
		      "When the strata run that wrote this file ended.",
		      (double)r->read_at / 1000);
	} else {
		serve_counters(fp, r);
	}
	family(fp, "strata_build_info", "gauge",
	       "The strata version and database driver, as labels.");
	fputs("strata_build_info{version=\"" STRATA_VERSION "\",driver=\"", fp);
	label_value(fp, r->driver ? r->driver : "");
	fputs("\"} 1\n", fp);
	if (fclose(fp))
		abort();
	return text;
}

static char *page_text(const struct serve_read *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (!fp)
		abort();
	serve_page_write(fp, r);
	if (fclose(fp))
		abort();
	return text;
}

/* `doc` on one line: what a probe's log shows. */
static char *json_line(json_t *doc)
{
	char *text = dump(doc, 0);
	size_t n = strlen(text);
	char *line = realloc(text, n + 2);

	if (!line)
		abort();
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

/* What /health tells a client without credentials: whether to send
 * traffic, not the counts or the error (which may name hosts). */
static json_t *public_health_json(const struct serve_read *r)
{
	json_t *o = json_object();
	char when[32];
	int code;

	json_object_set_new(o, "status",
	                    json_string(serve_health_status(r, &code)));
	serve_format_time(when, sizeof(when), r->read_at);
	json_object_set_new(o, "checked_at", json_string(when));
	return o;
}

void serve_render(struct serve_pages *out, const struct serve_read *r)
{
	set_body(&out->health, json_line(health_json(r, &out->health_code)));
	set_body(&out->health_public, json_line(public_health_json(r)));
	set_body(&out->metrics, metrics_text(r));
	set_body(&out->page, page_text(r));
	set_body(&out->history, history_text(r));
}

void serve_pages_release(struct serve_pages *p)
{
	if (!p)
		return;
	free(p->health.text);
	free(p->health_public.text);
	free(p->metrics.text);
	free(p->page.text);
	free(p->history.text);
	memset(p, 0, sizeof(*p));
}

/* `len` bytes of `text` to `fd`, whole. */
static int write_all(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

int serve_write_metrics_file(struct cli *cli, const char *path,
                             struct strata_db *db, int run_exit)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct serve_read r = { .is_run = true, .run_exit = run_exit };
	const char *slash = strrchr(path, '/');
	size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
	char *text = NULL, *tmp = malloc(strlen(path) + 16);
	int fd = -1, rc = 1;

	if (!tmp)
		abort();
	if (db && serve_read_state(&r, cli, db, &err) == 0) {
		r.is_ok = true;
	} else {
		serve_read_release(&r);
		r.is_run = true;
		r.run_exit = run_exit;
	}
	serve_read_backups(&r, cli);
	r.read_at = (int64_t)time(NULL) * 1000;
	text = metrics_text(&r);
	/* hidden and not *.prom: the collector never reads a partial file */
	snprintf(tmp, strlen(path) + 16, "%.*s.%s.XXXXXX", (int)dir_len, path,
	         path + dir_len);
	fd = mkstemp(tmp);
	if (fd < 0 || fchmod(fd, 0644) < 0 ||
	    write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0 || (fd = -1, rename(tmp, path) < 0)) {
		fprintf(stderr,
		        "strata: error: could not write the metrics file '%s': %s\n",
		        path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		goto done;
	}
	rc = 0;
done:
	serve_read_release(&r);
	strata_error_release(&err);
	free(text);
	free(tmp);
	return rc;
}
