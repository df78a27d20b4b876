/*
 * strata's entry point: global options, the command table, exit codes
 * (design.md, Exit codes). Each command lives in cmd_<name>.c.
 */
#include "cli.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

#define DEFAULT_PROGRESS_INTERVAL 30.0 /* seconds: see cli/progress.c */
/* seconds a cancelled statement has to end (and its transaction to roll
 * back) before strata exits anyway: the server then rolls back alone */
#define CANCEL_GRACE 5

static const struct command commands[] = {
	{ "run", cmd_run, "Apply pending migrations in version order." },
	{ "revert", cmd_revert,
	  "Revert the newest applied migration (or more) with its down file." },
	{ "status", cmd_status,
	  "Show every migration: applied, pending, failed, changed, missing." },
	{ "info", cmd_status, "Alias of status." },
	{ "check", cmd_check,
	  "Exit 0 when the database is up to date, 3 when migrations are pending, 4 when the history disagrees with the source." },
	{ "verify", cmd_verify,
	  "Check the live database: invalid indexes, orphaned rows, sequences behind, and more." },
	{ "lint", cmd_lint,
	  "Check migrations for changes that lock, rewrite or break a live database." },
	{ "validate", cmd_validate,
	  "Check the source, and with a database, the history against it." },
	{ "repair", cmd_repair,
	  "Resolve a failed record or accept an edited migration, explicitly and audited." },
	{ "mark-applied", cmd_mark_applied,
	  "Record one migration as applied without running it." },
	{ "baseline", cmd_baseline,
	  "Record every migration up to a version as applied without running them." },
	{ "history", cmd_history,
	  "Show the audit trail: who applied, reverted or repaired what, and when." },
	{ "new", cmd_new, "Create the next migration file." },
	{ "convert", cmd_convert,
	  "Rewrite another tool's folder into sqlx's layout, with its history." },
	{ "embed", cmd_embed,
	  "Write the migrations as C source, to compile into a program." },
	{ "database", cmd_database,
	  "Create, drop, reset or set up the database." },
	{ "backup", cmd_backup,
	  "Back up the database (pg_dump or SQLite's backup API); verify, list and prune backups." },
	{ "restore", cmd_restore,
	  "Restore a backup, verified first, into the database or another one." },
	{ "test", cmd_test,
	  "Prove the down files on a shadow database: up, down, the schema as before, up again." },
	{ "seed", cmd_seed,
	  "Load the seed files (development and test data) into the database." },
	{ "migrate", cmd_migrate,
	  "sqlx-cli's spellings: migrate run, revert, info and add." },
	{ "schema", cmd_schema,
	  "Dump the database's schema as SQL, the same bytes for the same schema." },
	{ "drift", cmd_drift,
	  "Compare the database with what its applied migrations make, on a shadow database." },
	{ "serve", cmd_serve,
	  "Serve the migration state over HTTP: /health, /metrics, a page and /history.json." },
	/* other names, not listed (a summary of NULL) */
	{ "db", cmd_database, NULL },
	{ "mig", cmd_migrate, NULL },
};

/* The library's error classes as exit codes: the one place they meet. */
static const struct {
	enum strata_code code;
	enum cli_exit exit;
} exit_codes[] = {
	{ STRATA_OK, EXIT_OK },
	{ STRATA_EFAILED, EXIT_FAILED },
	{ STRATA_EUSAGE, EXIT_USAGE },
	{ STRATA_EPENDING, EXIT_PENDING },
	{ STRATA_EVALIDATE, EXIT_VALIDATE },
	{ STRATA_ELINT, EXIT_LINT },
	{ STRATA_ELOCK, EXIT_LOCK },
	{ STRATA_ECONNECT, EXIT_CONNECT },
	{ STRATA_ECANCELED, EXIT_CANCELED },
};

int cli_exit_code(enum strata_code code)
{
	for (size_t i = 0; i < sizeof(exit_codes) / sizeof(exit_codes[0]); i++)
		if (exit_codes[i].code == code)
			return exit_codes[i].exit;
	return EXIT_FAILED;
}

const struct command *cli_find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

const struct command *cli_commands(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

/* An unknown command: the nearest one, if any is near. */
static int unknown_command(struct cli *cli, const char *name)
{
	const char *names[sizeof(commands) / sizeof(commands[0]) + 2];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		names[n++] = commands[i].name;
	names[n++] = "help";
	names[n] = NULL;
	return help_unknown(cli, NULL, name, names);
}

/* ---- signals ---------------------------------------------------------- */

static volatile sig_atomic_t got_signal;

int cli_interrupted(void)
{
	return got_signal;
}

/* write(2): the only output a signal handler may make */
static void say(const char *text)
{
	ssize_t n = write(STDERR_FILENO, text, strlen(text));

	(void)n;
}

/*
 * SIGINT, SIGTERM, SIGHUP: every statement running is cancelled on the
 * server, and the command unwinds as after a failure (rolled back, the
 * lock released) to exit 128 + the signal. Exiting at once would leave
 * the statement running, holding its locks, until the server next reads
 * from the vanished client. A second signal exits at once, its cancel
 * requests sent first all the same.
 */
static void on_signal(int sig)
{
	int saved = errno;

	if (got_signal) {
		strata_cancel();
		say("strata: interrupted again: exiting without waiting for the rollback; 'strata status' shows what was committed\n");
		_exit(128 + sig);
	}
	got_signal = sig;
	if (!strata_cancel()) {
		say("strata: interrupted while connecting\n");
		_exit(128 + sig);
	}
	alarm(CANCEL_GRACE);
	errno = saved;
}

/* Migrations sent ahead may have committed after the last one said
 * Applied: the history, not this output, tells which. */
static void on_alarm(int sig)
{
	(void)sig;
	strata_cancel();
	say("strata: interrupted: the cancelled work did not end in time; exiting (the server rolls back what was not committed; 'strata status' shows what was)\n");
	_exit(128 + got_signal);
}

static void catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* one ignored by whoever started us (nohup) stays ignored */
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static bool wants_color(int fd)
{
	const char *no_color = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	return isatty(fd) && !(no_color && *no_color) &&
	       !(term && strcmp(term, "dumb") == 0);
}

/* One argument redacted; of --name=VALUE, the value. */
static char *redacted_arg(const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *value, *out;
	size_t n;

	if (strncmp(arg, "--", 2) != 0 || !eq)
		return strata_url_redact(arg);
	value = strata_url_redact(eq + 1);
	n = (size_t)(eq + 1 - arg);
	out = malloc(n + strlen(value) + 1);
	if (!out)
		abort();
	memcpy(out, arg, n);
	memcpy(out + n, value, strlen(value) + 1);
	free(value);
	return out;
}

/* The command line as the audit trail shows it: each argument redacted
 * (a URL's password, a keyword string's password=). */
static char *redacted_command_line(int argc, char **argv)
{
	size_t len = 0, at = 0;
	char **parts = calloc((size_t)argc + 1, sizeof(*parts));
	char *line;

	if (!parts)
		abort();
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		/* not the path it was started from: the tool's name */
		parts[i] = redacted_arg(i ? argv[i] : "strata");
		/* a placeholder's value may be a password: its name alone */
		if (i && eq &&
		    (!strncmp(argv[i], "--placeholder=", 14) ||
		     !strcmp(argv[i - 1], "--placeholder"))) {
			const char *name_eq =
			        strchr(eq + (argv[i][0] == '-'), '=');

			free(parts[i]);
			parts[i] = malloc(strlen(argv[i]) + 4);
			if (!parts[i])
				abort();
			snprintf(parts[i], strlen(argv[i]) + 4, "%.*s***",
			         (int)(name_eq ? name_eq + 1 - argv[i]
			                       : eq + 1 - argv[i]),
			         argv[i]);
		}
		len += strlen(parts[i]) + 1;
	}
	line = malloc(len + 1);
	if (!line)
		abort();
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(parts[i]);

		memcpy(line + at, parts[i], n);
		at += n;
		line[at++] = i + 1 < argc ? ' ' : '\0';
		free(parts[i]);
	}
	if (!argc)
		line[0] = '\0';
	free(parts);
	return line;
}

static int run_command_line(int argc, char **argv)
{
	struct cli cli = {
		.progress_interval = DEFAULT_PROGRESS_INTERVAL,
		.argv0 = argv[0],
	};
	int full_argc = argc;
	char **full_argv = argv;
	const struct command *cmd;
	int rc;

	cli.is_color_out = wants_color(STDOUT_FILENO);
	cli.is_color_err = wants_color(STDERR_FILENO);
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("strata %s\n", strata_version());
		return 0;
	}
	rc = opt_parse(&cli, NULL, NULL, NULL, &argc, &argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc < 1 && cli.is_help) {
		help_print_main(stdout);
		return 0;
	}
	if (argc < 1)
		return cli_usage_error(
		        &cli, NULL,
		        "a command is required (usage: strata [global options] <command> [options])");
	if (strcmp(argv[0], "help") == 0)
		return cmd_help(&cli, argc, argv);
	cmd = cli_find_command(argv[0]);
	if (!cmd)
		return unknown_command(&cli, argv[0]);
	/* settings are resolved once the command has parsed its options */
	cli.command_line = redacted_command_line(full_argc, full_argv);
	catch_signals();
	cli.cmd_name = cmd->name;
	cli.cmd_fn = cmd->fn;
	cli.cmd_argc = argc;
	cli.cmd_argv = argv;
	rc = cmd->fn(&cli, argc, argv);
	if (got_signal && rc != 128 + got_signal) {
		/* it ended on its own meanwhile: the signal still counts */
		if (!cli.has_said_interrupted)
			fputs("strata: interrupted\n", stderr);
		rc = 128 + got_signal;
	}
	config_free(cli.settings);
	free(cli.command_line);
	free(cli.lint_settings);
	free(cli.placeholders);
	free(cli.placeholder_args.v);
	return rc;
}

/* Whether stdout is a pipe whose reader has gone (as `| head -1` leaves it). */
static bool is_reader_gone(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

/*
 * What was printed must have reached stdout, as git checks: a full disk is
 * an error (exit 1, even after a run that applied migrations: they are
 * recorded, the report of them is lost). A reader that went away (`| head`)
 * is no error: it wanted no more, and the exit code stays the command's.
 */
static int finish_stdout(int rc)
{
	int e = 0;

	if (fflush(stdout))
		e = errno;
	else if (ferror(stdout))
		e = is_reader_gone() ? EPIPE : EIO;
	if (fclose(stdout) && !e)
		e = errno;
	if (!e || e == EPIPE)
		return rc;
	fprintf(stderr, "strata: error: write failure on standard output: %s\n",
	        strerror(e));
	return rc ? rc : 1;
}

int main(int argc, char **argv)
{
	/* A closed stdout must not kill a migration mid-flight: writes to it
	 * fail instead (EPIPE), and finish_stdout() says nothing of it. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Blocks of a MiB and more (a large file's text, libpq's send buffer
	 * as it doubles for an audit row that keeps that text) each get
	 * their own mapping, so growing one moves no bytes and a freed one
	 * leaves nothing touched behind. glibc's moving threshold would
	 * otherwise rise past them after the first large free, and a buffer
	 * growing on the heap is copied, old and new both touched: 154 MiB
	 * at the peak of a 50 MiB migration's run, 138 MiB with this.
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	/*
	 * GnuTLS, which libpq's LDAP library brings in, initialises itself
	 * as it loads unless told not to: 0.9 MB touched and a millisecond of
	 * CPU at every command that connects, for nothing strata uses
	 * (libpq's TLS is OpenSSL's; libldap and libmicrohttpd initialise
	 * GnuTLS themselves before they use it). Set before any thread
	 * starts; the PostgreSQL programs strata starts go without it
	 * (util/spawn.c).
	 */
	setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0);
	return finish_stdout(run_command_line(argc, argv));
}
