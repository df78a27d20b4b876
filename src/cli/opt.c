/*
 * Option tables: each command lists its options once, and the same table
 * drives parsing (getopt_long) and --help. Global options are accepted
 * before the command name, and after it those that apply to the command
 * (global_scope), so that its --help lists exactly what it accepts.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const char *format_arg;
static bool is_quiet, is_verbose, is_no_color;
static const char *lock_wait_arg, *lock_timeout_arg, *statement_timeout_arg;
static const char *lock_probe_arg, *connect_timeout_arg;
static const char *concurrent_lock_timeout_arg;
static const char *retries_arg, *warn_after_arg, *progress_interval_arg;
static const char *max_file_size_arg;
static const char *jobs_arg, *canary_arg;

static struct opt global_opts[] = {
	{ 'd', "database", OPT_STRING, NULL, NULL, "URL",
	  "database URL (default: $DATABASE_URL, read from .env too)" },
	{ 'D', "database-url", OPT_STRING, NULL, NULL, "URL",
	  "the same as --database (sqlx-cli's spelling)" },
	{ 's', "source", OPT_STRING, NULL, NULL, "DIR",
	  "migrations directory (default: migrations)" },
	{ 'e', "env", OPT_STRING, NULL, NULL, "NAME",
	  "environment of strata.conf to use (default: $STRATA_ENV)" },
	{ 0, "config", OPT_STRING, NULL, NULL, "FILE",
	  "configuration file (default: ./strata.conf when present)" },
	{ 0, "table", OPT_STRING, NULL, NULL, "NAME",
	  "history table (default: " STRATA_DEFAULT_TABLE
	  ", or the layout's tool's own)" },
	{ 0, "layout", OPT_STRING, NULL, NULL, "NAME",
	  "the folder's layout: sqlx, dbmate, diesel, golang-migrate or flyway (default: detected)" },
	{ 0, "connect-timeout", OPT_STRING, &connect_timeout_arg, NULL,
	  "DURATION",
	  "how long connecting to PostgreSQL may take (default: " STRATA_STR(
	          STRATA_DEFAULT_CONNECT_TIMEOUT) "s; 0: forever)" },
	{ 0, "lock-wait", OPT_STRING, &lock_wait_arg, NULL, "DURATION",
	  "how long to wait for the migration lock (backup, restore: for table locks; default: " STRATA_STR(
	          STRATA_DEFAULT_LOCK_WAIT) "s; 'forever')" },
	{ 0, "lock-timeout", OPT_STRING, &lock_timeout_arg, NULL, "DURATION",
	  "lock_timeout of each migration's last try (default: " STRATA_STR(
	          STRATA_DEFAULT_LOCK_TIMEOUT) "s; 0: none)" },
	{ 0, "lock-probe", OPT_STRING, &lock_probe_arg, NULL, "DURATION",
	  "lock wait of the tries before the last (default: " STRATA_STR(
	          STRATA_DEFAULT_LOCK_PROBE_MS) "ms; 0: none)" },
	{ 0, "concurrent-lock-timeout", OPT_STRING,
	  &concurrent_lock_timeout_arg, NULL, "DURATION",
	  "lock_timeout of statements with CONCURRENTLY (default: 0, none)" },
	{ 0, "statement-timeout", OPT_STRING, &statement_timeout_arg, NULL,
	  "DURATION", "statement_timeout of every migration (default: none)" },
	{ 0, "retries", OPT_STRING, &retries_arg, NULL, "N",
	  "runs of a migration that hit a lock timeout or deadlock (default: " STRATA_STR(
	          STRATA_DEFAULT_RETRIES) ")" },
	{ 0, "warn-after", OPT_STRING, &warn_after_arg, NULL, "DURATION",
	  "warn when one migration runs longer (default: " STRATA_STR(
	          STRATA_DEFAULT_WARN_AFTER) "s; 0: never)" },
	{ 0, "progress-interval", OPT_STRING, &progress_interval_arg, NULL,
	  "DURATION",
	  "without a terminal, a line this often while a migration runs (default: 30s; 0: never)" },
	{ 0, "placeholder", OPT_STRINGS, NULL, NULL, "NAME=VALUE",
	  "a value for Flyway's ${NAME} (also NAME = VALUE in [placeholders] of strata.conf; repeatable)" },
	{ 0, "max-file-size", OPT_STRING, &max_file_size_arg, NULL, "SIZE",
	  "largest migration file read (default: " STRATA_STR(
	          STRATA_DEFAULT_MAX_FILE_SIZE_MIB) "MiB; 1GiB, 500MB...)" },
	{ 0, "fleet", OPT_STRING, NULL, NULL, "NAME",
	  "a fleet named in strata.conf ([fleet.NAME]: targets, targets_query or schemas, and jobs, canary, fail_fast)" },
	{ 0, "schema", OPT_STRING, NULL, NULL, "NAME",
	  "PostgreSQL, schema per tenant: the search_path, the history table and the lock of this schema" },
	{ 0, "schemas", OPT_STRING, NULL, NULL, "PATTERN",
	  "a fleet: every schema of the database whose name is LIKE PATTERN, each as --schema" },
	{ 0, "targets", OPT_STRING, NULL, NULL, "FILE",
	  "a fleet: the command on every database FILE names, a URL or keyword string per line (- for standard input)" },
	{ 0, "targets-query", OPT_STRING, NULL, NULL, "SQL",
	  "a fleet: the databases the query on --database names, a URL or a database name of that server per row" },
	{ 0, "jobs", OPT_STRING, &jobs_arg, NULL, "N",
	  "a fleet's targets at once (default: 4); one backup --format directory or restore of one: pg_dump's and pg_restore's jobs" },
	{ 0, "fail-fast", OPT_FLAG, NULL, NULL, NULL,
	  "a fleet starts no target after one fails" },
	{ 0, "canary", OPT_STRING, &canary_arg, NULL, "N",
	  "a fleet's first N targets first; the rest only when none of them failed" },
	{ 0, "hide-queries", OPT_FLAG, NULL, NULL, NULL,
	  "no query texts in progress, warnings and blocker reports" },
	{ 0, "format", OPT_STRING, &format_arg, NULL, "text|json",
	  "output format (default: text); backup also takes the dump's: custom (default), plain or directory" },
	{ 'q', "quiet", OPT_FLAG, &is_quiet, NULL, NULL, "print only errors" },
	{ 'v', "verbose", OPT_FLAG, &is_verbose, NULL, NULL,
	  "print more, including server notices" },
	{ 0, "no-color", OPT_FLAG, &is_no_color, NULL, NULL,
	  "no colour (also NO_COLOR)" },
	{ 0, "no-dotenv", OPT_FLAG, NULL, NULL, NULL,
	  "do not read DATABASE_URL and the rest from ./.env" },
	{ 'h', "help", OPT_FLAG, NULL, NULL, NULL, "show this help" },
	OPT_END,
};

/*
 * The commands a global option applies to, by what they do (enum
 * help_uses); one not named here applies to every command.
 */
static const struct {
	const char *name;
	unsigned uses;
} global_scope[] = {
	{ "database", USES_DB },
	{ "database-url", USES_DB },
	{ "table", USES_DB },
	{ "connect-timeout", USES_DB },
	{ "source", USES_SOURCE },
	{ "layout", USES_SOURCE },
	{ "max-file-size", USES_SOURCE },
	{ "placeholder", USES_SOURCE },
	{ "lock-wait", USES_LOCK },
	/* lint judges a lock-taking statement by the runner's lock_timeout */
	{ "lock-timeout", USES_MIGRATE | USES_LINT },
	{ "lock-probe", USES_MIGRATE },
	{ "concurrent-lock-timeout", USES_MIGRATE },
	{ "statement-timeout", USES_MIGRATE | USES_LINT },
	{ "retries", USES_MIGRATE },
	{ "warn-after", USES_MIGRATE },
	{ "progress-interval", USES_MIGRATE },
	/* the lock's holder is named with its query too */
	{ "hide-queries", USES_LOCK | USES_MIGRATE },
	{ "fleet", USES_DB },
	{ "schema", USES_DB },
	{ "schemas", USES_DB },
	{ "targets", USES_DB },
	{ "targets-query", USES_DB },
	{ "jobs", USES_DB },
	{ "fail-fast", USES_DB },
	{ "canary", USES_DB },
};

const struct opt *opt_globals(void)
{
	return global_opts;
}

bool opt_global_applies(const struct opt *o, unsigned uses)
{
	for (size_t i = 0; i < sizeof(global_scope) / sizeof(global_scope[0]);
	     i++)
		if (strcmp(global_scope[i].name, o->long_name) == 0)
			return (global_scope[i].uses & uses) != 0;
	return true;
}

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
	bind("database-url", &cli->database);
	bind("no-dotenv", &cli->is_no_dotenv);
	bind("source", &cli->source);
	bind("env", &cli->env);
	bind("config", &cli->config);
	bind("table", &cli->table);
	bind("layout", &cli->layout_arg);
	bind("placeholder", &cli->placeholder_args);
	bind("help", &cli->is_help);
	bind("hide-queries", &cli->is_hide_queries);
	bind("fleet", &cli->fleet_name);
	bind("schema", &cli->schema);
	bind("schemas", &cli->fleet_schemas);
	bind("targets", &cli->fleet_targets_file);
	bind("targets-query", &cli->fleet_targets_query);
	bind("fail-fast", &cli->is_fleet_fail_fast);
}

int cli_parse_count(int *out, const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 1 || v > 1000)
		return -1;
	*out = (int)v;
	return 0;
}

static size_t count_opts(const struct opt *o)
{
	size_t n = 0;

	while (o && o[n].long_name)
		n++;
	return n;
}

char opt_short(const struct opt *o, const struct opt *opts)
{
	for (const struct opt *k = opts; k && k->long_name; k++)
		if (k != o && k->short_name == o->short_name)
			return 0;
	return o->short_name;
}

/* Whether `arg` names option `o`: "--name", "--name=...", or "-x". */
static bool is_named(const char *arg, const struct opt *o, char short_name)
{
	size_t n = strlen(o->long_name);

	if (arg[0] == '-' && arg[1] == '-')
		return strncmp(arg + 2, o->long_name, n) == 0 &&
		       (arg[2 + n] == '\0' || arg[2 + n] == '=');
	return short_name && arg[0] == '-' && arg[1] == short_name;
}

bool opt_wants_next(const char *arg, const struct opt *opts)
{
	const struct opt *lists[] = { opts, global_opts };

	if (arg[0] != '-' || strchr(arg, '=') || (arg[1] != '-' && arg[2]))
		return false;
	for (size_t l = 0; l < 2; l++)
		for (const struct opt *o = lists[l]; o && o->long_name; o++)
			if (is_named(arg, o, o->short_name))
				return o->kind != OPT_FLAG;
	return false;
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
	case OPT_STRINGS: {
		struct opt_strings *l = o->value;
		const char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

		if (!v)
			abort();
		v[l->n++] = arg;
		l->v = v;
		return 0;
	}
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
	case OPT_VERSION:
		if (strata_version_parse(o->value, arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--%s wants a version (digits, or Flyway's 1.2), not '%s'",
			        o->long_name, arg);
		return 0;
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
		/* backup's dump formats share the name */
		else if ((!cmd || !strcmp(cmd, "backup")) &&
		         strata_backup_format_parse(&cli->backup_format,
		                                    format_arg) == 0)
			;
		else
			return cli_usage_error(
			        cli, cmd,
			        "--format wants 'text' or 'json'%s, not '%s'",
			        cmd && !strcmp(cmd, "backup")
			                ? " (or a backup's: custom, plain or directory)"
			                : "",
			        format_arg);
	}
	if (is_quiet)
		cli->verbosity = -1;
	if (is_verbose)
		cli->verbosity = 1;
	if (is_no_color)
		cli->is_color_out = cli->is_color_err = false;
	if (lock_wait_arg) {
		if (cli_parse_lock_wait(&cli->lock_wait, lock_wait_arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--lock-wait wants a duration such as 30s, 5m or 'forever', not '%s'",
			        lock_wait_arg);
		cli->has_lock_wait = true;
	}
	if (connect_timeout_arg) {
		if (cli_parse_connect_timeout(&cli->connect_timeout,
		                              connect_timeout_arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--connect-timeout wants a duration such as 10s or 1m (0: forever), not '%s'",
			        connect_timeout_arg);
		cli->has_connect_timeout = true;
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
	if (concurrent_lock_timeout_arg) {
		if (cli_parse_timeout(&cli->concurrent_lock_timeout,
		                      concurrent_lock_timeout_arg) < 0)
			return cli_usage_error(
			        cli, cmd,
			        "--concurrent-lock-timeout wants a duration such as 10m (0: none), not '%s'",
			        concurrent_lock_timeout_arg);
		cli->has_concurrent_lock_timeout = true;
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
	if (jobs_arg && cli_parse_count(&cli->fleet_jobs, jobs_arg) < 0)
		return cli_usage_error(
		        cli, cmd,
		        "--jobs wants a number from 1 to 1000, not '%s'",
		        jobs_arg);
	if (canary_arg && cli_parse_count(&cli->fleet_canary, canary_arg) < 0)
		return cli_usage_error(
		        cli, cmd,
		        "--canary wants a number from 1 to 1000, not '%s'",
		        canary_arg);
	if (max_file_size_arg) {
		if (cli_parse_size(&cli->max_file_size, max_file_size_arg) < 0)
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

/* An option the command does not take: the nearest it does, or that it
 * is a global option that does not apply here. */
static int unknown_option(struct cli *cli, const char *cmd,
                          const struct opt *const *accepted, size_t n,
                          const char *bad, bool is_missing_value)
{
	const char **names = calloc(n + 1, sizeof(*names));
	char word[64];
	const char *near;
	int rc;

	if (!names)
		abort();
	if (is_missing_value) {
		rc = cli_usage_error(cli, cmd, "option '%s' wants a value",
		                     bad);
		goto done;
	}
	for (const struct opt *o = global_opts; cmd && o->long_name; o++) {
		if (!is_named(bad, o, o->short_name))
			continue;
		rc = cli_usage_error(
		        cli, cmd, "option '%s' does not apply to 'strata %s'",
		        bad, cmd);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (strchr(bad, '=') && is_named(bad, accepted[i], 0)) {
			rc = cli_usage_error(cli, cmd,
			                     "option '--%s' takes no value",
			                     accepted[i]->long_name);
			goto done;
		}
		names[i] = accepted[i]->long_name;
	}
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(bad, "="), bad);
	near = strncmp(word, "--", 2) == 0 ? help_suggest(word + 2, names)
	                                   : NULL;
	if (near)
		rc = cli_usage_error(
		        cli, cmd, "unknown option '%s'; did you mean '--%s'?",
		        bad, near);
	else
		rc = cli_usage_error(cli, cmd, "unknown option '%s'", bad);
done:
	free(names);
	return rc;
}

int opt_parse(struct cli *cli, const char *cmd, const char *usage,
              const struct opt *opts, int *argc, char ***argv)
{
	size_t n_cmd = count_opts(opts), n_glob = count_opts(global_opts);
	const struct opt **accepted =
	        calloc(n_cmd + n_glob + 1, sizeof(*accepted));
	struct option *lo = calloc(n_cmd + n_glob + 1, sizeof(*lo));
	char shortopts[128] = "", name[64], bad[64];
	unsigned uses;
	size_t sp = 0, n = 0;
	int rc = 0, c, index;

	if (!lo || !accepted)
		abort();
	if (cmd && cli->parent) {
		snprintf(name, sizeof(name), "%s %s", cli->parent, cmd);
		cmd = name;
	}
	uses = cmd ? help_uses(cmd) : ~0u;
	bind_globals(cli);
	for (size_t i = 0; i < n_cmd; i++)
		accepted[n++] = &opts[i];
	for (size_t i = 0; i < n_glob; i++)
		if (!cmd || opt_global_applies(&global_opts[i], uses))
			accepted[n++] = &global_opts[i];
	/* a leading '+' keeps the command name for main's global pass */
	if (!cmd)
		shortopts[sp++] = '+';
	shortopts[sp++] = ':';
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = accepted[i];
		char s = i < n_cmd ? o->short_name : opt_short(o, opts);

		lo[i].name = o->long_name;
		lo[i].has_arg =
		        o->kind == OPT_FLAG ? no_argument : required_argument;
		lo[i].val = 0;
		if (s && sp + 3 < sizeof(shortopts)) {
			shortopts[sp++] = s;
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
			if (optopt)
				snprintf(bad, sizeof(bad), "-%c", optopt);
			else
				snprintf(bad, sizeof(bad), "%s",
				         (*argv)[optind - 1]);
			rc = unknown_option(cli, cmd, accepted, n, bad,
			                    c == ':');
			goto done;
		}
		if (c == 0) {
			o = accepted[index];
		} else {
			for (size_t i = 0; i < n && !o; i++) {
				const struct opt *k = accepted[i];

				if ((i < n_cmd ? k->short_name
				               : opt_short(k, opts)) == c)
					o = k;
			}
		}
		if (!o)
			continue;
		if ((rc = store(cli, cmd, o, optarg)) != 0)
			goto done;
	}
	if (cli->is_help && cmd) {
		help_print(cli, cmd, usage, opts);
		rc = -1;
		goto done;
	}
	if ((rc = apply_globals(cli, cmd)) != 0)
		goto done;
	*argc -= optind;
	*argv += optind;
done:
	free(lo);
	free(accepted);
	return rc;
}
