/*
 * strata's entry point: global options, the command table, exit codes
 * (SPEC, "Output and exit codes"). Each command lives in cmd_<name>.c.
 */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../banned.h"

#define DEFAULT_LOCK_WAIT         60.0
#define DEFAULT_PROGRESS_INTERVAL 30.0 /* seconds: see cli/progress.c */

static const struct command commands[] = {
	{ "run", cmd_run, NEED_DB | NEED_SOURCE,
	  "Apply pending migrations in version order." },
	{ "revert", cmd_revert, NEED_DB | NEED_SOURCE,
	  "Revert the newest applied migration (or more) with its down file." },
	{ "status", cmd_status, NEED_DB | NEED_SOURCE,
	  "Show every migration: applied, pending, failed, changed, missing." },
	{ "info", cmd_status, NEED_DB | NEED_SOURCE, "Alias of status." },
	{ "check", cmd_check, NEED_DB | NEED_SOURCE,
	  "Exit 0 when the database is up to date, 3 when migrations are pending, 4 when the history disagrees with the source." },
	{ "lint", cmd_lint, NEED_SOURCE,
	  "Check migrations for changes that lock, rewrite or break a live database." },
	{ "validate", cmd_validate, NEED_SOURCE,
	  "Check the source, and with a database, the history against it." },
	{ "repair", cmd_repair, NEED_DB | NEED_SOURCE,
	  "Resolve a failed record or accept an edited migration, explicitly and audited." },
	{ "mark-applied", cmd_mark_applied, NEED_DB | NEED_SOURCE,
	  "Record one migration as applied without running it." },
	{ "baseline", cmd_baseline, NEED_DB | NEED_SOURCE,
	  "Record every migration up to a version as applied without running them." },
	{ "history", cmd_history, NEED_DB,
	  "Show the audit trail: who applied, reverted or repaired what, and when." },
	{ "new", cmd_new, NEED_SOURCE, "Create the next migration file." },
	{ "database", cmd_database, NEED_DB,
	  "Create, drop, reset or set up the database." },
	{ "backup", cmd_backup, NEED_DB,
	  "Back up the database (pg_dump or SQLite's backup API); verify, list and prune backups." },
	{ "restore", cmd_restore, NEED_DB,
	  "Restore a backup, verified first, into the database or another one." },
};

const struct command *cli_find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void print_usage(FILE *fp)
{
	fprintf(fp,
	        "usage: strata [global options] <command> [options]\n\n"
	        "Versioned SQL migrations for PostgreSQL and SQLite, compatible with sqlx.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name,
		        commands[i].summary);
	fprintf(fp,
	        "\nRun 'strata <command> --help' for a command's options.\n");
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
		/* not the path it was started from: the tool's name */
		parts[i] = redacted_arg(i ? argv[i] : "strata");
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
		.lock_wait = DEFAULT_LOCK_WAIT,
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
		printf("strata %s\n", STRATA_VERSION);
		return 0;
	}
	rc = opt_parse(&cli, NULL, NULL, NULL, &argc, &argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc < 1 && cli.is_help) {
		print_usage(stdout);
		return 0;
	}
	if (argc < 1) {
		print_usage(stderr);
		return STRATA_EUSAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		print_usage(stdout);
		return 0;
	}
	cmd = cli_find_command(argv[0]);
	if (!cmd) {
		fprintf(stderr, "strata: '%s' is not a command\n", argv[0]);
		print_usage(stderr);
		return STRATA_EUSAGE;
	}
	/* settings are resolved once the command has parsed its options */
	cli.command_line = redacted_command_line(full_argc, full_argv);
	rc = cmd->fn(&cli, argc, argv);
	strata_config_free(cli.settings);
	free(cli.command_line);
	free(cli.lint_settings);
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
	return finish_stdout(run_command_line(argc, argv));
}
