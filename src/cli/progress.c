/*
 * The migration running, as run and revert show it on stderr (design.md,
 * Commands: progress goes to stderr, results to stdout).
 *
 * On a terminal: one line, redrawn in place at most every REDRAW_MS
 * ('\r', the text, then erase to the end of the line), cut to the
 * terminal's width so that it never wraps: the migration, how long it has
 * run, the statement it is on, and who blocks it. When the migration ends
 * the line is erased and its result line (stdout) takes its place, so the
 * scrollback reads as it would without it.
 *
 * Elsewhere (a CI log): no carriage return, no line per tick. A line when
 * something happens -- a migration starts or ends, a session blocks it, a
 * retry, a warning -- each starting with the UTC time (ISO 8601 with
 * milliseconds and Z, as the audit trail and backup manifests give times),
 * and a "Still applying" line every --progress-interval while a migration
 * runs. The end is the result line on stdout; it is repeated here only
 * when stdout goes elsewhere.
 *
 * With --format json: warnings, blockers and retries as JSON objects, one
 * per line (with -v, starts and ends too); the result stays on stdout.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/banned.h"

#define NS_PER_MS     INT64_C(1000000)
#define DRAW_AFTER_MS 200 /* a quicker migration never shows the line */
#define REDRAW_MS     100
#define MIN_DESC      12 /* characters of a description kept when cut */
#define MIN_TEXT      24 /* of a statement's text, made room for */
#define DESC_FOR_TEXT 32 /* by a description longer than this */

#define BOLD   "1"
#define DIM    "2"
#define YELLOW "33"

static int64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether stdout and stderr are one file (2>&1): the result line is
 * then the only end line needed. */
static bool is_same_output(void)
{
	struct stat out, err;

	return fstat(STDOUT_FILENO, &out) == 0 &&
	       fstat(STDERR_FILENO, &err) == 0 && out.st_dev == err.st_dev &&
	       out.st_ino == err.st_ino;
}

void cli_progress_init(struct cli *cli)
{
	struct cli_progress *p = &cli->progress;
	const char *term = getenv("TERM");

	memset(p, 0, sizeof(*p));
	if (cli->verbosity < 0)
		p->mode = PROGRESS_OFF;
	else if (cli->format == FORMAT_JSON)
		p->mode = PROGRESS_JSON;
	else if (isatty(STDERR_FILENO) && !(term && !strcmp(term, "dumb")))
		p->mode = PROGRESS_LIVE;
	else
		p->mode = PROGRESS_PLAIN;
	p->is_same_output = is_same_output();
}

static void stamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void cli_progress_stamp(struct cli *cli)
{
	char ts[40];

	cli_progress_stamp_text(cli, ts);
	fputs(ts, stderr);
}

void cli_progress_stamp_text(struct cli *cli, char buf[static 40])
{
	size_t n;

	*buf = '\0';
	if (cli->progress.mode != PROGRESS_PLAIN)
		return;
	stamp(buf, 39);
	n = strlen(buf);
	buf[n] = ' ';
	buf[n + 1] = '\0';
}

/* "0.4 s", "12.4 s", "1m 05s", "2h 07m". */
static void format_elapsed(char *buf, size_t size, double s)
{
	long n = (long)s;

	if (s < 60)
		snprintf(buf, size, "%.1f s", s);
	else if (s < 3600)
		snprintf(buf, size, "%ldm %02lds", n / 60, n % 60);
	else
		snprintf(buf, size, "%ldh %02ldm", n / 3600, n % 3600 / 60);
}

/* ---- the line ---------------------------------------------------------- */

struct seg {
	const char *color; /* NULL: none */
	bool is_tail;      /* the statement's text: the first to give way */
	char text[512];
};

/* Characters (UTF-8 code points) of s; each is taken as one column. */
static size_t cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Bytes of the first `n` characters of s. */
static size_t prefix_bytes(const char *s, size_t n)
{
	size_t i = 0;

	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n-- == 0)
			break;
	return i;
}

/* Ends `s` before a character that vsnprintf() cut short. */
static void drop_partial(char *s)
{
	size_t n = strlen(s), i = n, need;
	unsigned char lead;

	while (i && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (!i)
		return;
	lead = (unsigned char)s[i - 1];
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

/* Appends a segment; control characters (a file name may hold them)
 * never reach the terminal: they show escaped. */
static void add(struct seg *segs, size_t *n, const char *color, bool is_tail,
                const char *fmt, ...) STRATA_PRINTF(5, 6);

static void add(struct seg *segs, size_t *n, const char *color, bool is_tail,
                const char *fmt, ...)
{
	struct seg *g = &segs[(*n)++];
	char raw[sizeof(g->text)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	drop_partial(raw);
	snprintf(g->text, sizeof(g->text), "%s", cli_safe(raw));
	drop_partial(g->text);
	g->color = color;
	g->is_tail = is_tail;
}

/*
 * "Applying 3 build index: 1m 12s, statement 2/3: CREATE INDEX …", with
 * the server's phase when it tells one ("…, statement 2/3, building index:
 * scanning table 45%: CREATE …"), and with a blocker "…, waiting on pid 42
 * (alice, idle in transaction, for 3.0 s)" instead of the text. Returns
 * the number of segments; the third is the description.
 */
static size_t compose(struct seg *segs, const struct cli_progress *p,
                      bool is_still)
{
	char elapsed[32], waited[32];
	size_t n = 0;

	add(segs, &n, BOLD, false, "%s%s", is_still ? "Still " : "",
	    p->is_down ? (is_still ? "reverting" : "Reverting")
	               : (is_still ? "applying" : "Applying"));
	add(segs, &n, NULL, false, " %s ", p->version_text);
	add(segs, &n, NULL, false, "%s", p->description ? p->description : "");
	format_elapsed(elapsed, sizeof(elapsed), (double)p->elapsed_ns / 1e9);
	if (p->statement)
		add(segs, &n, NULL, false, ": %s, statement %zu/%zu", elapsed,
		    p->statement, p->n_statements);
	else
		add(segs, &n, NULL, false, ": %s", elapsed);
	if (p->phase[0] && p->percent >= 0)
		add(segs, &n, NULL, false, ", %s %d%%", p->phase, p->percent);
	else if (p->phase[0])
		add(segs, &n, NULL, false, ", %s", p->phase);
	if (p->holder_pid) {
		format_elapsed(waited, sizeof(waited), p->waited);
		add(segs, &n, NULL, false, ", ");
		add(segs, &n, YELLOW, false,
		    "waiting on pid %d (%s, %s, for %s)", p->holder_pid,
		    p->holder_user,
		    *p->holder_state ? p->holder_state : "state unknown",
		    waited);
	} else if (p->text[0]) {
		add(segs, &n, NULL, true, ": ");
		add(segs, &n, DIM, true, "%s", p->text);
	}
	return n;
}

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/*
 * How many characters of a description of `have` to cut, the rest of the
 * line being `fixed` plus a statement's text of `tail`, in `width`: what
 * must fit may shrink it to MIN_DESC, and a description longer than
 * DESC_FOR_TEXT gives way to MIN_TEXT of the text too. What still does
 * not fit is cut at the edge.
 */
static size_t desc_cut(size_t have, size_t fixed, size_t tail, size_t width)
{
	size_t want = fixed + (tail < MIN_TEXT ? tail : MIN_TEXT), cut = 0;

	if (have <= MIN_DESC)
		return 0;
	if (fixed > width)
		cut = fixed - width;
	if (want > width && have > DESC_FOR_TEXT) {
		size_t for_text = want - width < have - DESC_FOR_TEXT
		                          ? want - width
		                          : have - DESC_FOR_TEXT;

		if (for_text > cut)
			cut = for_text;
	}
	return cut < have - MIN_DESC ? cut : have - MIN_DESC;
}

static void draw(struct cli *cli)
{
	struct cli_progress *p = &cli->progress;
	struct seg segs[8];
	char out[4096];
	size_t n_segs = compose(segs, p, false), len = 0, fixed = 0, tail = 0;
	/* the last column stays free: some terminals wrap on writing there */
	size_t width = (size_t)term_width() - 1, room, cut;

	for (size_t i = 0; i < n_segs; i++)
		*(segs[i].is_tail ? &tail : &fixed) += cols(segs[i].text);
	cut = desc_cut(cols(segs[2].text), fixed, tail, width);
	if (cut) {
		char *desc = segs[2].text;
		size_t at = prefix_bytes(desc, cols(desc) - cut - 3);

		snprintf(desc + at, sizeof(segs[2].text) - at, "...");
	}
	out[len++] = '\r';
	room = width;
	for (size_t i = 0; i < n_segs && room; i++) {
		size_t c = cols(segs[i].text);
		size_t bytes = c > room ? prefix_bytes(segs[i].text, room)
		                        : strlen(segs[i].text);
		const char *on = segs[i].color
		                         ? cli_color(cli, true, segs[i].color)
		                         : "";
		const char *off = *on ? cli_color(cli, true, NULL) : "";

		/* a few characters of a statement tell nothing */
		if (segs[i].is_tail && room < 12)
			break;
		if (len + strlen(on) + bytes + strlen(off) + 8 > sizeof(out))
			break;
		memcpy(out + len, on, strlen(on));
		len += strlen(on);
		memcpy(out + len, segs[i].text, bytes);
		len += bytes;
		memcpy(out + len, off, strlen(off));
		len += strlen(off);
		room -= c > room ? room : c;
	}
	memcpy(out + len, "\033[K", 3);
	len += 3;
	fwrite(out, 1, len, stderr);
	fflush(stderr);
	p->is_drawn = true;
	p->drawn_ns = monotonic_ns();
}

void cli_progress_clear(struct cli *cli)
{
	if (!cli->progress.is_drawn)
		return;
	fputs("\r\033[K", stderr);
	cli->progress.is_drawn = false;
}

void cli_progress_restore(struct cli *cli)
{
	struct cli_progress *p = &cli->progress;

	if (p->mode == PROGRESS_LIVE && p->is_running && p->has_state &&
	    !p->is_drawn && p->elapsed_ns >= DRAW_AFTER_MS * NS_PER_MS)
		draw(cli);
}

/* ---- events ------------------------------------------------------------ */

static const char *file_of(const struct strata_event *ev)
{
	if (!ev->migration)
		return NULL;
	return ev->is_down && ev->migration->down_path
	               ? ev->migration->down_path
	               : ev->migration->up_path;
}

void cli_progress_json(const char *event, const struct strata_event *ev)
{
	json_t *o = json_object();
	char ts[40];

	stamp(ts, sizeof(ts));
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "event", json_string(event));
	if (ev->version) {
		char v[32];

		json_object_set_new(o, "version", json_integer(ev->version));
		json_object_set_new(o, "version_text",
		                    cli_json_text(cli_event_version(ev, v)));
		if (ev->description)
			json_object_set_new(o, "description",
			                    cli_json_text(ev->description));
	}
	if (file_of(ev))
		json_object_set_new(o, "file", cli_json_text(file_of(ev)));
	if (ev->statement) {
		json_object_set_new(o, "statement",
		                    json_integer((json_int_t)ev->statement));
		json_object_set_new(o, "statements",
		                    json_integer((json_int_t)ev->n_statements));
	}
	if (ev->statement_text)
		json_object_set_new(o, "statement_text",
		                    cli_json_text(ev->statement_text));
	if (ev->phase) {
		json_object_set_new(o, "phase", cli_json_text(ev->phase));
		if (ev->percent >= 0)
			json_object_set_new(o, "percent",
			                    json_integer(ev->percent));
	}
	if (ev->duration_ns)
		json_object_set_new(o, "elapsed_ns",
		                    json_integer(ev->duration_ns));
	if (ev->holder_pid) {
		json_t *h = json_object();

		json_object_set_new(h, "pid", json_integer(ev->holder_pid));
		if (ev->holder_user)
			json_object_set_new(h, "user",
			                    cli_json_text(ev->holder_user));
		if (ev->holder_state)
			json_object_set_new(h, "state",
			                    cli_json_text(ev->holder_state));
		if (ev->holder_application)
			json_object_set_new(
			        h, "application",
			        cli_json_text(ev->holder_application));
		if (ev->holder_query)
			json_object_set_new(h, "query",
			                    cli_json_text(ev->holder_query));
		json_object_set_new(o, "holder", h);
	}
	if (ev->waited_seconds > 0)
		json_object_set_new(o, "waited_seconds",
		                    json_real(ev->waited_seconds));
	if (ev->message)
		json_object_set_new(o, "message", cli_json_text(ev->message));
	json_dumpf(o, stderr, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stderr);
	json_decref(o);
}

void cli_progress_start(struct cli *cli, const struct strata_event *ev)
{
	char v[32];
	struct cli_progress *p = &cli->progress;
	bool is_down = ev->kind == STRATA_EVENT_REVERT_START;

	cli_progress_clear(cli);
	/* a retry starts the same migration again: same clock, same blocker */
	if (ev->version != p->version || is_down != p->is_down) {
		p->logged_ns = 0;
		p->reported_pid = 0;
	}
	p->is_running = true;
	p->has_state = false;
	p->is_down = is_down;
	p->version = ev->version;
	snprintf(p->version_text, sizeof(p->version_text), "%s",
	         cli_event_version(ev, v));
	p->description = ev->description;
	if (p->mode == PROGRESS_JSON && cli->verbosity > 0)
		cli_progress_json("start", ev);
	/* a log says when each starts; -v says it on a terminal too */
	else if (p->mode == PROGRESS_PLAIN ||
	         (p->mode != PROGRESS_JSON && cli->verbosity > 0)) {
		/* and, before the first, which database it changes */
		if (p->mode == PROGRESS_PLAIN)
			cli_show_database(cli);
		cli_info(cli, "%s %s %s ...",
		         is_down ? "Reverting" : "Applying",
		         cli_event_version(ev, v), ev->description);
	}
}

/* The plain mode's line while a migration runs: the live line, whole. */
static void still_line(struct cli *cli)
{
	struct seg segs[8];
	size_t n = compose(segs, &cli->progress, true);
	char line[sizeof(segs)];
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(segs[i].text);

		memcpy(line + len, segs[i].text, k);
		len += k;
	}
	line[len] = '\0';
	cli_info(cli, "%s", line);
}

void cli_progress_update(struct cli *cli, const struct strata_event *ev)
{
	char v[32];
	struct cli_progress *p = &cli->progress;
	int64_t now = monotonic_ns();
	bool is_new_holder = ev->holder_pid != p->holder_pid;

	if (p->mode != PROGRESS_LIVE && p->mode != PROGRESS_PLAIN)
		return;
	p->has_state = true;
	p->is_running = true;
	p->is_down = ev->is_down;
	p->version = ev->version;
	snprintf(p->version_text, sizeof(p->version_text), "%s",
	         cli_event_version(ev, v));
	p->description = ev->description;
	p->elapsed_ns = ev->duration_ns;
	p->statement = ev->statement;
	p->n_statements = ev->n_statements;
	snprintf(p->text, sizeof(p->text), "%s",
	         ev->statement_text ? ev->statement_text : "");
	snprintf(p->phase, sizeof(p->phase), "%s", ev->phase ? ev->phase : "");
	p->percent = ev->percent;
	p->holder_pid = ev->holder_pid;
	snprintf(p->holder_user, sizeof(p->holder_user), "%s",
	         ev->holder_user ? ev->holder_user : "");
	snprintf(p->holder_state, sizeof(p->holder_state), "%s",
	         ev->holder_state ? ev->holder_state : "");
	p->waited = ev->waited_seconds;
	if (p->mode == PROGRESS_LIVE) {
		if (ev->duration_ns < DRAW_AFTER_MS * NS_PER_MS ||
		    (p->is_drawn && !is_new_holder &&
		     now - p->drawn_ns < REDRAW_MS * NS_PER_MS))
			return;
		draw(cli);
		return;
	}
	if (cli->progress_interval <= 0 ||
	    (double)(ev->duration_ns - p->logged_ns) <
	            cli->progress_interval * 1e9)
		return;
	p->logged_ns = ev->duration_ns;
	still_line(cli);
}

void cli_progress_end(struct cli *cli, const struct strata_event *ev,
                      const char *verb, const char *duration)
{
	char v[32];
	struct cli_progress *p = &cli->progress;
	bool is_dry_run = ev->kind == STRATA_EVENT_DRY_RUN_APPLY ||
	                  ev->kind == STRATA_EVENT_DRY_RUN_REVERT;

	cli_progress_clear(cli);
	if (p->mode == PROGRESS_PLAIN && !p->is_same_output && !is_dry_run)
		cli_info(cli, "%s %s %s%s%s%s", verb, cli_event_version(ev, v),
		         ev->description, *duration ? " (" : "", duration,
		         *duration ? ")" : "");
	p->is_running = p->has_state = false;
	p->version = 0;
	p->holder_pid = 0;
}

bool cli_progress_is_new_blocker(struct cli *cli, const struct strata_event *ev)
{
	struct cli_progress *p = &cli->progress;

	/* the library repeats a blocker every few seconds: the live line
	 * and the "Still" lines say that it still blocks */
	if (p->mode == PROGRESS_OFF || ev->holder_pid != p->reported_pid) {
		p->reported_pid = ev->holder_pid;
		return true;
	}
	return false;
}
