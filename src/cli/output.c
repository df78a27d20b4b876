/*
 * Output: results to stdout, progress, warnings and errors to stderr;
 * colour only on a terminal without NO_COLOR; JSON through jansson. Errors
 * print as `strata: error: MESSAGE` then indented `at FILE:LINE:COL
 * (statement N, SQLSTATE X)`, detail, hint.
 *
 * Text strata did not write (file names, descriptions, statements, server
 * messages, history rows) goes through cli_safe() on its way out, and
 * whatever the error, warning and info printers are given is escaped
 * whole: no byte of it drives the terminal or starts a line of its own.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

#define RED    "31"
#define YELLOW "33"
#define GREEN  "32"
#define BOLD   "1"

const char *cli_color(struct cli *cli, bool is_err, const char *code)
{
	static char buf[4][16];
	static int next;
	char *b;

	if (!(is_err ? cli->is_color_err : cli->is_color_out))
		return "";
	b = buf[next++ % 4];
	if (!code)
		return "\033[0m";
	snprintf(b, sizeof(buf[0]), "\033[%sm", code);
	return b;
}

#define SAFE_RING 16

static const char *safe(const char *s, unsigned flags)
{
	static char *ring[SAFE_RING];
	static size_t next;
	char *p;

	if (!s || !(p = strata_printable(s, flags)))
		return s;
	free(ring[next % SAFE_RING]);
	ring[next++ % SAFE_RING] = p;
	return p;
}

const char *cli_safe(const char *s)
{
	return safe(s, 0);
}

const char *cli_safe_lines(const char *s)
{
	return safe(s, STRATA_PRINTABLE_LINES);
}

/* fmt's output escaped whole (caller frees): strata's own format strings
 * hold no control characters, what they are given may. */
static char *vsafe_format(const char *fmt, va_list ap)
{
	va_list again;
	int n;
	char *buf, *p;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0)
		n = 0;
	buf = malloc((size_t)n + 1);
	if (!buf)
		abort();
	vsnprintf(buf, (size_t)n + 1, fmt, again);
	va_end(again);
	p = strata_printable(buf, 0);
	if (!p)
		return buf;
	free(buf);
	return p;
}

void cli_format_duration(char *buf, size_t size, int64_t ns)
{
	if (ns < 0)
		snprintf(buf, size, "-");
	else if (ns < 1000000)
		snprintf(buf, size, "%.3f ms", (double)ns / 1e6);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.2f s", (double)ns / 1e9);
}

void cli_format_size(char *buf, size_t size, uint64_t bytes)
{
	if (bytes < 1024)
		snprintf(buf, size, "%" PRIu64 " bytes", bytes);
	else if (bytes < 1024 * 1024)
		snprintf(buf, size, "%.1f KiB", (double)bytes / 1024);
	else if (bytes < UINT64_C(1024) * 1024 * 1024)
		snprintf(buf, size, "%.1f MiB", (double)bytes / (1024 * 1024));
	else
		snprintf(buf, size, "%.2f GiB",
		         (double)bytes / (1024.0 * 1024 * 1024));
}

/* Ends a progress line drawn with '\r', before anything else is said:
 * a migration's is erased (it comes back), a backup's is kept. */
void cli_end_progress(struct cli *cli)
{
	cli_progress_clear(cli);
	if (!cli->has_progress_line)
		return;
	fputc('\n', stderr);
	cli->has_progress_line = false;
}

json_t *cli_json_text(const char *s)
{
	json_t *j;
	char *p;

	if (!s || (j = json_string(s)))
		return s ? j : NULL;
	/* not UTF-8: jansson takes none of it, the escaped form is text */
	p = strata_printable(s, STRATA_PRINTABLE_LINES);
	j = json_string(p ? p : "");
	free(p);
	return j;
}

void cli_print_json(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(doc);
}

static void set_str(json_t *o, const char *key, const char *val)
{
	json_object_set_new(o, key, val ? cli_json_text(val) : json_null());
}

json_t *cli_json_error(const struct strata_error *err)
{
	json_t *e = json_object();

	char *hint = cli_error_hint(err);

	json_object_set_new(e, "code", json_integer(cli_exit_code(err->code)));
	set_str(e, "message", err->message ? err->message : "unknown error");
	set_str(e, "sqlstate", err->sqlstate[0] ? err->sqlstate : NULL);
	set_str(e, "detail", err->detail);
	set_str(e, "hint", hint);
	free(hint);
	set_str(e, "file", err->file);
	json_object_set_new(e, "line",
	                    err->line ? json_integer(err->line) : json_null());
	json_object_set_new(e, "column",
	                    err->column ? json_integer(err->column)
	                                : json_null());
	json_object_set_new(e, "statement",
	                    err->statement ? json_integer(err->statement)
	                                   : json_null());
	set_str(e, "context", err->context);
	set_str(e, "reason", strata_reason_name(err->reason));
	return e;
}

json_t *cli_json_finding(const struct strata_finding *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "rule", json_string(f->rule));
	json_object_set_new(o, "severity",
	                    json_string(strata_severity_name(f->severity)));
	set_str(o, "file", f->file);
	json_object_set_new(o, "line", json_integer(f->line));
	json_object_set_new(o, "column", json_integer(f->column));
	json_object_set_new(o, "statement",
	                    f->statement ? json_integer(f->statement)
	                                 : json_null());
	set_str(o, "message", f->message);
	set_str(o, "hint", f->hint);
	return o;
}

void cli_print_finding(struct cli *cli, FILE *fp,
                       const struct strata_finding *f)
{
	bool is_err = fp == stderr;
	const char *color = f->severity == STRATA_SEVERITY_ERROR     ? RED
	                    : f->severity == STRATA_SEVERITY_WARNING ? YELLOW
	                                                             : NULL;

	fprintf(fp, "%s%s:%d:%d:%s %s%s:%s %s [%s]\n",
	        cli_color(cli, is_err, BOLD), cli_safe(f->file), f->line,
	        f->column, cli_color(cli, is_err, NULL),
	        cli_color(cli, is_err, color),
	        strata_severity_name(f->severity), cli_color(cli, is_err, NULL),
	        cli_safe(f->message), f->rule);
	if (f->hint)
		fprintf(fp, "  hint: %s\n", cli_safe(f->hint));
}

/* Lines stay lines (a server's detail, PL/pgSQL's context), each
 * indented: none can pass for one of strata's own. */
static void print_indented(const char *label, const char *text)
{
	const char *p = cli_safe_lines(text);

	fprintf(stderr, "  %s: ", label);
	while (*p) {
		size_t n = strcspn(p, "\n");

		fwrite(p, 1, n, stderr);
		p += n;
		if (*p == '\n' && p[1])
			fputs("\n    ", stderr);
		if (*p)
			p++;
		/* continuation lines are ours to indent (libpq adds a tab) */
		while (*p == ' ' || *p == '\t')
			p++;
	}
	fputc('\n', stderr);
}

/*
 * The library's hints speak of its options ("allow a longer lock wait");
 * the command line says which flag or command does it. For each reason,
 * the library's phrase and the command line's (NULL `from`: the whole
 * hint); %V is the version of the migration concerned.
 */
static const struct {
	enum strata_reason reason;
	const char *from, *to;
} advice[] = {
	{ STRATA_REASON_LOCK_WAIT, "allow a longer lock wait",
	  "raise --lock-wait" },
	{ STRATA_REASON_LOCK_TIMEOUT, "the lock timeout and the retries set",
	  "--lock-timeout and --retries set" },
	{ STRATA_REASON_MISSING_APPLIED, "ignore missing migrations",
	  "pass --ignore-missing" },
	{ STRATA_REASON_LINT_GATE, "allow unsafe migrations",
	  "pass --allow-unsafe" },
	{ STRATA_REASON_STRICT_ORDER, "apply it out of order (no strict order)",
	  "run without --strict-order to apply it out of order" },
	{ STRATA_REASON_FILE_TOO_LARGE, "raise the limit (max_file_size)",
	  "raise the limit with --max-file-size or max_file_size in strata.conf" },
	{ STRATA_REASON_SOURCE_MISSING,
	  "(strata_migration_new() does), or load the directory",
	  "(strata new does), or pass --source with the directory" },
	{ STRATA_REASON_SOURCE_EMPTY,
	  "(strata_migration_new() does), or load the directory",
	  "(strata new does), or pass --source with the directory" },
	{ STRATA_REASON_HISTORY_TABLE, "a schema the role may create in",
	  "a schema the role may create in (--table schema.name)" },
	{ STRATA_REASON_HISTORY_TABLE, "name another history table",
	  "name another history table with --table" },
	{ STRATA_REASON_HISTORY_TABLE, "with its schema",
	  "with its schema in --table" },
	{ STRATA_REASON_FAILED_RECORD,
	  "mark it applied; if you undid it, retry it (a repair)",
	  "run 'strata repair --mark-applied %V'; if you undid it, run 'strata repair --retry %V'" },
	{ STRATA_REASON_FAILED_APPLY,
	  "mark it applied (if you completed it) or retry it (if you undid it), a repair either way",
	  "run 'strata repair --mark-applied %V' (if you completed it) or 'strata repair --retry %V' (if you undid it)" },
	{ STRATA_REASON_FAILED_REVERT,
	  "retry it (if the revert is complete) or mark it applied (if you restored the migration), a repair either way",
	  "run 'strata repair --retry %V' (if the revert is complete) or 'strata repair --mark-applied %V' (if you restored the migration)" },
	{ STRATA_REASON_INVALID_INDEX, "retry migration %V (a repair)",
	  "run 'strata repair --retry %V'" },
	{ STRATA_REASON_CHECKSUM, "accept its new checksum (a repair)",
	  "run 'strata repair --accept-checksum %V'" },
	{ STRATA_REASON_UNKNOWN_RULE, "strata_lint_rule_at() lists the rules",
	  "'strata lint --list-rules' lists the rules" },
	{ STRATA_REASON_NEED_URL, NULL,
	  "Pass --database URL for the server (or set DATABASE_URL), or give a whole URL." },
	{ STRATA_REASON_NEED_SCRATCH_URL,
	  "Give the URL of any database on the server to test on",
	  "Pass --database URL (any database on the server to test on)" },
	{ STRATA_REASON_NEED_TARGET, NULL,
	  "Pass --database URL (or set DATABASE_URL), or --into URL." },
	{ STRATA_REASON_TARGET_NOT_EMPTY, NULL,
	  "Pass --clean to empty it first (everything in it is lost), or restore --into another database." },
	{ STRATA_REASON_CONFIRM, NULL,
	  "Nobody could be asked (stdin is not a terminal): pass --yes to overwrite it." },
	{ STRATA_REASON_BACKUP_KIND, NULL,
	  "Back up with --kind full (or --kind schema)." },
	{ STRATA_REASON_RESTORE_TEST_KIND, "without the restore test",
	  "without --restore-test" },
	{ STRATA_REASON_SEE_STATUS, "The status (strata_status_get()) shows",
	  "Run 'strata status' to see" },
	{ STRATA_REASON_DUPLICATE_VERSION, "strata_migration_new() picks",
	  "strata new picks" },
	{ STRATA_REASON_NO_DATABASE_FILE, "(a read-only open creates nothing)",
	  "(this command creates nothing)" },
	{ STRATA_REASON_NO_DATABASE_FILE,
	  "a run or strata_database_create() creates it",
	  "'strata run' or 'strata database create' creates it" },
	{ STRATA_REASON_NO_DATABASE_FILE,
	  "Create it with strata_database_create()",
	  "Create it with 'strata database create'" },
	{ STRATA_REASON_SHADOW_CREATEDB,
	  "or a shadow database of its own to use",
	  "or pass --shadow URL with a database strata may empty" },
	{ STRATA_REASON_SHADOW_NOT_EMPTY, "or reset it to empty it anyway",
	  "or pass --shadow-reset to empty it anyway" },
};

/* `text` with each %V replaced by the version of `err` (caller frees). */
static char *with_version(const char *text, const struct strata_error *err)
{
	char v[32];
	size_t n = 0, cap = strlen(text) + 1;
	char *out;

	if (err->version_text[0])
		snprintf(v, sizeof(v), "%s", err->version_text);
	else
		snprintf(v, sizeof(v), "%" PRId64, err->version);
	for (const char *p = text; (p = strstr(p, "%V")); p += 2)
		cap += strlen(v);
	out = malloc(cap);
	if (!out)
		abort();
	for (const char *p = text; *p;) {
		if (p[0] == '%' && p[1] == 'V') {
			memcpy(out + n, v, strlen(v));
			n += strlen(v);
			p += 2;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	return out;
}

/* `s` with its first `from` replaced by `to`, or NULL when it has none. */
static char *replaced(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t head, tail;
	char *out;

	if (!at)
		return NULL;
	head = (size_t)(at - s);
	tail = strlen(at + strlen(from));
	out = malloc(head + strlen(to) + tail + 1);
	if (!out)
		abort();
	memcpy(out, s, head);
	memcpy(out + head, to, strlen(to));
	memcpy(out + head + strlen(to), at + strlen(from), tail + 1);
	return out;
}

char *cli_error_hint(const struct strata_error *err)
{
	char *hint = err->hint ? strdup(err->hint) : NULL;

	if (err->hint && !hint)
		abort();
	for (size_t i = 0; i < sizeof(advice) / sizeof(advice[0]); i++) {
		char *from, *to, *next;

		if (advice[i].reason != err->reason || !err->reason)
			continue;
		to = with_version(advice[i].to, err);
		if (!advice[i].from) {
			free(hint);
			hint = to;
			continue;
		}
		from = with_version(advice[i].from, err);
		next = hint ? replaced(hint, from, to) : NULL;
		if (next) {
			free(hint);
			hint = next;
		}
		free(from);
		free(to);
	}
	return hint;
}

int cli_error(struct cli *cli, const struct strata_error *err)
{
	int code = err->code ? cli_exit_code(err->code) : EXIT_FAILED;
	int sig = cli_interrupted();
	char *hint;
	bool is_interrupt = sig || err->code == STRATA_ECANCELED;

	cli_end_progress(cli);
	/* whatever failed once a signal came: the exit a shell expects */
	if (is_interrupt) {
		code = sig ? 128 + sig : EXIT_CANCELED;
		cli->has_said_interrupted = true;
	}
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object();

		json_object_set_new(doc, "error", cli_json_error(err));
		cli_print_json(doc);
		return code;
	}
	fprintf(stderr, "strata: %s%s:%s %s\n", cli_color(cli, true, RED),
	        is_interrupt ? "interrupted" : "error",
	        cli_color(cli, true, NULL),
	        err->message ? cli_safe(err->message) : "unknown error");
	/* the one line says what was stopped and what it left */
	if (err->code == STRATA_ECANCELED)
		return code;
	if (err->file || err->sqlstate[0] || err->statement) {
		fputs("  at ", stderr);
		if (err->file) {
			fputs(cli_safe(err->file), stderr);
			if (err->line)
				fprintf(stderr, ":%d", err->line);
			if (err->line && err->column)
				fprintf(stderr, ":%d", err->column);
		} else {
			fputs("database", stderr);
		}
		if (err->statement || err->sqlstate[0]) {
			fputs(" (", stderr);
			if (err->statement)
				fprintf(stderr, "statement %d", err->statement);
			if (err->statement && err->sqlstate[0])
				fputs(", ", stderr);
			if (err->sqlstate[0])
				fprintf(stderr, "SQLSTATE %s",
				        cli_safe(err->sqlstate));
			fputc(')', stderr);
		}
		fputc('\n', stderr);
	}
	if (err->detail)
		print_indented("detail", err->detail);
	if (err->context)
		print_indented("context", err->context);
	if ((hint = cli_error_hint(err)))
		print_indented("hint", hint);
	free(hint);
	return code;
}

int cli_usage_error(struct cli *cli, const char *cmd, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	/* one line, then where to read more (as git does) */
	fprintf(stderr, "strata: %serror:%s ", cli_color(cli, true, RED),
	        cli_color(cli, true, NULL));
	va_start(ap, fmt);
	msg = vsafe_format(fmt, ap);
	va_end(ap);
	fputs(msg, stderr);
	free(msg);
	fprintf(stderr, "\nsee 'strata %s%s--help'\n", cmd ? cmd : "",
	        cmd ? " " : "");
	return EXIT_USAGE;
}

void cli_warn(struct cli *cli, const char *fmt, ...)
{
	char ts[40];
	va_list ap;
	char *msg;

	if (cli->verbosity < 0)
		return;
	cli_end_progress(cli);
	cli_progress_stamp_text(cli, ts);
	va_start(ap, fmt);
	msg = vsafe_format(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%sstrata: %swarning:%s %s\n", ts,
	        cli_color(cli, true, YELLOW), cli_color(cli, true, NULL), msg);
	free(msg);
}

/* Progress and informational lines: stderr, silenced by -q. */
void cli_info(struct cli *cli, const char *fmt, ...)
{
	char ts[40];
	va_list ap;
	char *msg;

	if (cli->verbosity < 0)
		return;
	cli_end_progress(cli);
	cli_progress_stamp_text(cli, ts);
	va_start(ap, fmt);
	msg = vsafe_format(fmt, ap);
	va_end(ap);
	/* one write: a line of a log shared with others stays whole */
	fprintf(stderr, "%s%s\n", ts, msg);
	free(msg);
}

const char *cli_event_version(const struct strata_event *ev, char buf[32])
{
	if (ev->migration && ev->migration->version_text)
		return ev->migration->version_text;
	snprintf(buf, 32, "%" PRId64, ev->version);
	return buf;
}

static json_t *event_json(const char *what, const struct strata_event *ev)
{
	json_t *o = json_object();
	char v[32];

	json_object_set_new(o, "action", json_string(what));
	json_object_set_new(o, "version", json_integer(ev->version));
	json_object_set_new(o, "version_text",
	                    json_string(cli_event_version(ev, v)));
	set_str(o, "description", ev->description);
	if (ev->migration)
		set_str(o, "file", ev->migration->up_path);
	if (ev->duration_ns)
		json_object_set_new(o, "duration_ns",
		                    json_integer(ev->duration_ns));
	set_str(o, "message", ev->message);
	return o;
}

/* A migration's result line on stdout; its progress line ends with it. */
static void print_migration_line(struct cli *cli, const char *verb,
                                 const char *color,
                                 const struct strata_event *ev)
{
	char dur[32] = "", v[32];

	if (ev->duration_ns > 0)
		cli_format_duration(dur, sizeof(dur), ev->duration_ns);
	if (cli->verbosity < 0)
		return;
	cli_progress_end(cli, ev, verb, dur);
	/* a batch migration's rows, a dry run's trial batch */
	printf("%s%s%s %s %s%s%s%s%s%s\n", cli_color(cli, false, color), verb,
	       cli_color(cli, false, NULL), cli_event_version(ev, v),
	       cli_safe(ev->description), *dur ? " (" : "", dur,
	       *dur ? ")" : "", ev->message ? ": " : "",
	       ev->message ? cli_safe(ev->message) : "");
	fflush(stdout);
}

void cli_event(const struct strata_event *ev, void *data)
{
	struct cli *cli = data;
	bool is_json = cli->format == FORMAT_JSON;
	/* run and revert in JSON: events on stderr are JSON lines too */
	bool is_json_lines =
	        cli->progress.mode == PROGRESS_JSON && cli->verbosity >= 0;
	static const struct {
		enum strata_event_kind kind;
		const char *verb, *action, *color;
	} lines[] = {
		{ STRATA_EVENT_APPLY_DONE, "Applied", "applied", GREEN },
		{ STRATA_EVENT_APPLY_SKIP, "Skipped", "skipped", YELLOW },
		{ STRATA_EVENT_REVERT_DONE, "Reverted", "reverted", GREEN },
		{ STRATA_EVENT_DRY_RUN_APPLY, "Would apply", "would-apply",
		  YELLOW },
		{ STRATA_EVENT_DRY_RUN_REVERT, "Would revert", "would-revert",
		  YELLOW },
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (lines[i].kind != ev->kind)
			continue;
		if (is_json && cli->events)
			json_array_append_new(cli->events,
			                      event_json(lines[i].action, ev));
		if (is_json && cli->progress.mode == PROGRESS_JSON &&
		    cli->verbosity > 0)
			cli_progress_json(lines[i].action, ev);
		if (!is_json)
			print_migration_line(cli, lines[i].verb, lines[i].color,
			                     ev);
		return;
	}
	switch (ev->kind) {
	case STRATA_EVENT_APPLY_START:
	case STRATA_EVENT_REVERT_START:
		cli_progress_start(cli, ev);
		return;
	case STRATA_EVENT_PROGRESS:
		cli_progress_update(cli, ev);
		return;
	case STRATA_EVENT_LOCK_WAIT:
		if (is_json_lines) {
			cli_progress_json("lock-wait", ev);
			break;
		}
		cli_info(cli, "strata: %s%s%s",
		         ev->message ? ev->message
		                     : "waiting for the migration lock",
		         ev->holder_query && *ev->holder_query ? ": " : "",
		         ev->holder_query ? ev->holder_query : "");
		break;
	case STRATA_EVENT_LOCK_ACQUIRED:
		if (ev->waited_seconds > 0 && is_json_lines)
			cli_progress_json("lock-acquired", ev);
		else if (ev->waited_seconds > 0)
			cli_info(cli,
			         "strata: took the migration lock after %.1f s",
			         ev->waited_seconds);
		break;
	case STRATA_EVENT_WARNING:
		if (is_json && cli->warnings)
			json_array_append_new(cli->warnings,
			                      cli_json_text(ev->message));
		if (is_json_lines)
			cli_progress_json("warning", ev);
		else
			cli_warn(cli, "%s", ev->message);
		break;
	case STRATA_EVENT_BLOCKED:
		if (!cli_progress_is_new_blocker(cli, ev))
			break;
		if (is_json_lines)
			cli_progress_json("blocked", ev);
		else
			cli_info(cli, "strata: waiting on %s",
			         ev->message ? ev->message : "another session");
		break;
	case STRATA_EVENT_RETRY:
		/* what the line showed is over: it comes back with the
		 * next attempt's progress */
		cli->progress.has_state = false;
		if (is_json_lines)
			cli_progress_json("retry", ev);
		else
			cli_warn(cli, "migration %" PRId64 " (%s): %s",
			         ev->version,
			         ev->description ? ev->description : "",
			         ev->message ? ev->message : "");
		break;
	case STRATA_EVENT_NOTICE:
		if (cli->verbosity > 0 && is_json_lines)
			cli_progress_json("notice", ev);
		else if (cli->verbosity > 0)
			cli_info(cli, "%s", ev->message);
		break;
	case STRATA_EVENT_LINT:
		if (is_json && cli->findings)
			json_array_append_new(cli->findings,
			                      cli_json_finding(ev->finding));
		else if (!is_json &&
		         (ev->finding->severity == STRATA_SEVERITY_ERROR ||
		          (cli->verbosity >= 0 && cli->is_show_lint_warnings) ||
		          cli->verbosity > 0))
			cli_print_finding(cli, stderr, ev->finding);
		break;
	case STRATA_EVENT_BACKUP_PROGRESS: {
		char size[32];

		if (cli->verbosity < 0 || is_json)
			break;
		cli_format_size(size, sizeof(size), (uint64_t)ev->bytes);
		if (isatty(STDERR_FILENO)) {
			fprintf(stderr, "\rBacking up: %s written", size);
			cli->has_progress_line = true;
		} else if (cli->verbosity > 0) {
			cli_info(cli, "Backing up: %s written", size);
		}
		break;
	}
	case STRATA_EVENT_RESTORE_PROGRESS:
		if (cli->verbosity > 0)
			cli_info(cli, "strata: %s", ev->message);
		break;
	default:
		break;
	}
	/* the live line comes back below whatever was said */
	cli_progress_restore(cli);
}

void cli_json_counts(json_t *o, const struct strata_status *st)
{
	json_object_set_new(o, "applied",
	                    json_integer((json_int_t)st->n_applied));
	json_object_set_new(o, "pending",
	                    json_integer((json_int_t)st->n_pending));
	json_object_set_new(o, "failed",
	                    json_integer((json_int_t)st->n_failed));
	json_object_set_new(o, "checksum_mismatch",
	                    json_integer((json_int_t)st->n_mismatch));
	json_object_set_new(o, "missing",
	                    json_integer((json_int_t)st->n_missing));
}
