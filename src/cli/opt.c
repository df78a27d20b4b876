/*
 * Option tables: each command lists its options once, and the same table
 * drives parsing (getopt_long) and --help. Global options are accepted
 * before or after the command name.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../banned.h"

static const char *format_arg;
static bool is_quiet, is_verbose, is_no_color;
static const char *lock_wait_arg, *lock_timeout_arg, *statement_timeout_arg;
static const char *lock_probe_arg;
static const char *retries_arg, *warn_after_arg, *progress_interval_arg;
static const char *max_file_size_arg;

static struct opt global_opts[] = {
	{ 'd', "database", OPT_STRING, NULL, NULL, "URL",
	  "database URL (default: $DATABASE_URL, read from .env too)" },
	{ 's', "source", OPT_STRING, NULL, NULL, "DIR",
	  "migrations directory (default: migrations)" },
	{ 'e', "env", OPT_STRING, NULL, NULL, "NAME",
	  "environment of strata.conf to use (default: $STRATA_ENV)" },
	{ 0, "config", OPT_STRING, NULL, NULL, "FILE",
	  "configuration file (default: ./strata.conf when present)" },
	{ 0, "table", OPT_STRING, NULL, NULL, "NAME",
	  "history table (default: _sqlx_migrations)" },
	{ 0, "lock-wait", OPT_STRING, &lock_wait_arg, NULL, "DURATION",
	  "how long to wait for the migration lock (default: 60s; 'forever')" },
	{ 0, "lock-timeout", OPT_STRING, &lock_timeout_arg, NULL, "DURATION",
	  "lock_timeout of each migration's last try (default: 2s; 0: none)" },
	{ 0, "lock-probe", OPT_STRING, &lock_probe_arg, NULL, "DURATION",
	  "lock wait of the tries before the last (default: 20ms; 0: none)" },
	{ 0, "statement-timeout", OPT_STRING, &statement_timeout_arg, NULL,
	  "DURATION", "statement_timeout of every migration (default: none)" },
	{ 0, "retries", OPT_STRING, &retries_arg, NULL, "N",
	  "runs of a migration that hit a lock timeout or deadlock (default: 5)" },
	{ 0, "warn-after", OPT_STRING, &warn_after_arg, NULL, "DURATION",
	  "warn when one migration runs longer (default: 60s; 0: never)" },
	{ 0, "progress-interval", OPT_STRING, &progress_interval_arg, NULL,
	  "DURATION",
	  "without a terminal, a line this often while a migration runs (default: 30s; 0: never)" },
	{ 0, "max-file-size", OPT_STRING, &max_file_size_arg, NULL, "SIZE",
	  "largest migration file read (default: 64MiB; 1GiB, 500MB...)" },
	{ 0, "hide-queries", OPT_FLAG, NULL, NULL, NULL,
	  "no query texts in progress, warnings and blocker reports" },
	{ 0, "format", OPT_STRING, &format_arg, NULL, "text|json",
	  "output format (default: text)" },
	{ 'q', "quiet", OPT_FLAG, &is_quiet, NULL, NULL, "print only errors" },
	{ 'v', "verbose", OPT_FLAG, &is_verbose, NULL, NULL,
	  "print more, including server notices" },
	{ 0, "no-color", OPT_FLAG, &is_no_color, NULL, NULL,
	  "no colour (also NO_COLOR)" },
	{ 'h', "help", OPT_FLAG, NULL, NULL, NULL, "show this help" },
	OPT_END,
};

static void bind(const char *name, void *value)
{
	for (struct opt *o = global_opts; o->long_name; o++)
		if (strcmp(o->long_name, name) == 0)
			o->value = value;
}

/* Global options land in the cli of this run. */
static void bind_globals(struct cli *cli)
{
	bind("database", &cli->database);
	bind("source", &cli->source);
	bind("env", &cli->env);
	bind("config", &cli->config);
	bind("table", &cli->table);
	bind("help", &cli->is_help);
	bind("hide-queries", &cli->is_hide_queries);
}

static size_t count_opts(const struct opt *o)
{
	size_t n = 0;

	while (o && o[n].long_name)
		n++;
	return n;
}

static const struct opt *find_opt(const struct opt *cmd_opts, int index,
                                  size_t n_cmd)
{
	if ((size_t)index < n_cmd)
		return &cmd_opts[index];
	return &global_opts[(size_t)index - n_cmd];
}

static int store(struct cli *cli, const char *cmd, const struct opt *o,
                 const char *arg)
{
	char *end;

	if (o->is_set)
		*o->is_set = true;
	switch (o->kind) {
	case OPT_FLAG:
		*(bool *)o->value = true;
		return 0;
	case OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case OPT_INT64: {
		long long v;

		errno = 0;
		v = strtoll(arg, &end, 10);
		if (errno || *end || end == arg || v < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--%s wants a non-negative integer, not '%s'",
			        o->long_name, arg);
		*(int64_t *)o->value = v;
		return 0;
	}
	case OPT_SIZE: {
		unsigned long long v;

		errno = 0;
		v = strtoull(arg, &end, 10);
		if (errno || *end || end == arg || v < 1 || arg[0] == '-')
			return cli_usage_error(
			        cli, cmd,
			        "--%s wants a positive integer, not '%s'",
			        o->long_name, arg);
		*(size_t *)o->value = (size_t)v;
		return 0;
	}
	case OPT_DURATION:
		if (strata_parse_duration(o->value, arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--%s wants a duration such as 30s, 500ms, 5m or 'forever', not '%s'",
			        o->long_name, arg);
		return 0;
	}
	return 0;
}

static int apply_globals(struct cli *cli, const char *cmd)
{
	if (format_arg) {
		if (strcmp(format_arg, "json") == 0)
			cli->format = FORMAT_JSON;
		else if (strcmp(format_arg, "text") == 0)
			cli->format = FORMAT_TEXT;
		else
			return cli_usage_error(
			        cli, cmd,
			        "--format wants 'text' or 'json', not '%s'",
			        format_arg);
	}
	if (is_quiet)
		cli->verbosity = -1;
	if (is_verbose)
		cli->verbosity = 1;
	if (is_no_color)
		cli->is_color_out = cli->is_color_err = false;
	if (lock_wait_arg) {
		if (strata_parse_duration(&cli->lock_wait, lock_wait_arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--lock-wait wants a duration such as 30s, 5m or 'forever', not '%s'",
			        lock_wait_arg);
		cli->has_lock_wait = true;
	}
	if (lock_timeout_arg) {
		if (cli_parse_timeout(&cli->lock_timeout, lock_timeout_arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--lock-timeout wants a duration such as 2s or 500ms (0: none), not '%s'",
			        lock_timeout_arg);
		cli->has_lock_timeout = true;
	}
	if (lock_probe_arg) {
		if (cli_parse_timeout(&cli->lock_probe, lock_probe_arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--lock-probe wants a duration such as 20ms (0: every try waits the whole lock timeout), not '%s'",
			        lock_probe_arg);
		cli->has_lock_probe = true;
	}
	if (statement_timeout_arg) {
		if (cli_parse_timeout(&cli->statement_timeout,
		                      statement_timeout_arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--statement-timeout wants a duration such as 30s or 5m (0: none), not '%s'",
			        statement_timeout_arg);
		cli->has_statement_timeout = true;
	}
	if (retries_arg) {
		if (cli_parse_retries(&cli->retries, retries_arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--retries wants a whole number (0: never), not '%s'",
			        retries_arg);
		cli->has_retries = true;
	}
	if (warn_after_arg) {
		if (cli_parse_timeout(&cli->warn_after, warn_after_arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--warn-after wants a duration such as 60s or 10m (0: never), not '%s'",
			        warn_after_arg);
		cli->has_warn_after = true;
	}
	if (max_file_size_arg) {
		if (strata_parse_size(&cli->max_file_size, max_file_size_arg) <
		    0)
			return cli_usage_error(
			        cli, cmd,
			        "--max-file-size wants a size such as 64MiB or 1GiB, not '%s'",
			        max_file_size_arg);
		cli->has_max_file_size = true;
	}
	if (progress_interval_arg) {
		if (cli_parse_timeout(&cli->progress_interval,
		                      progress_interval_arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--progress-interval wants a duration such as 30s or 5m (0: never), not '%s'",
			        progress_interval_arg);
		cli->has_progress_interval = true;
	}
	return 0;
}

int opt_parse(struct cli *cli, const char *cmd, const char *usage,
              const struct opt *opts, int *argc, char ***argv)
{
	size_t n_cmd = count_opts(opts), n_glob = count_opts(global_opts);
	struct option *lo = calloc(n_cmd + n_glob + 1, sizeof(*lo));
	char shortopts[128] = "";
	size_t sp = 0;
	int rc = 0, c, index;

	if (!lo)
		abort();
	bind_globals(cli);
	/* a leading '+' keeps the command name for main's global pass */
	if (!cmd)
		shortopts[sp++] = '+';
	shortopts[sp++] = ':';
	for (size_t i = 0; i < n_cmd + n_glob; i++) {
		const struct opt *o = find_opt(opts, (int)i, n_cmd);

		lo[i].name = o->long_name;
		lo[i].has_arg =
		        o->kind == OPT_FLAG ? no_argument : required_argument;
		lo[i].val = 0;
		if (o->short_name && sp + 3 < sizeof(shortopts)) {
			shortopts[sp++] = o->short_name;
			if (o->kind != OPT_FLAG)
				shortopts[sp++] = ':';
		}
	}
	shortopts[sp] = '\0';
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(*argc, *argv, shortopts, lo, &index)) != -1) {
		const struct opt *o = NULL;

		if (c == '?' || c == ':') {
			const char *bad = (*argv)[optind - 1];

			rc = cli_usage_error(
			        cli, cmd,
			        c == ':' ? "option '%s' wants a value"
			                 : "unknown option '%s'",
			        bad);
			goto done;
		}
		if (c == 0) {
			o = find_opt(opts, index, n_cmd);
		} else {
			for (size_t i = 0; i < n_cmd + n_glob && !o; i++) {
				const struct opt *k =
				        find_opt(opts, (int)i, n_cmd);

				if (k->short_name == c)
					o = k;
			}
		}
		if (!o)
			continue;
		if ((rc = store(cli, cmd, o, optarg)) != 0)
			goto done;
	}
	if (cli->is_help && cmd) {
		const struct command *command = cli_find_command(cmd);

		opt_print_help(stdout, cmd, usage,
		               command ? command->summary : NULL, opts);
		rc = -1;
		goto done;
	}
	if ((rc = apply_globals(cli, cmd)) != 0)
		goto done;
	if (cmd && (rc = cli_resolve_settings(cli)) != 0)
		goto done;
	*argc -= optind;
	*argv += optind;
done:
	free(lo);
	return rc;
}

static void print_table(FILE *fp, const struct opt *opts)
{
	for (const struct opt *o = opts; o && o->long_name; o++) {
		char left[64];

		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s",
			         o->short_name, o->long_name,
			         o->arg_name ? " " : "",
			         o->arg_name ? o->arg_name : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s",
			         o->long_name, o->arg_name ? " " : "",
			         o->arg_name ? o->arg_name : "");
		fprintf(fp, "  %-28s %s\n", left, o->help);
	}
}

void opt_print_help(FILE *fp, const char *cmd, const char *usage,
                    const char *summary, const struct opt *opts)
{
	fprintf(fp, "usage: strata %s%s%s\n", cmd, usage && *usage ? " " : "",
	        usage ? usage : "");
	if (summary)
		fprintf(fp, "\n%s\n", summary);
	if (count_opts(opts)) {
		fprintf(fp, "\noptions:\n");
		print_table(fp, opts);
	}
	fprintf(fp, "\nglobal options:\n");
	print_table(fp, global_opts);
}
