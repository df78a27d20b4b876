/*
 * What several commands share: loading the source, opening the database
 * (URL from -d, else DATABASE_URL), parsing versions.
 */
#include "cli.h"
#include <time.h>
#include <stdio.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../banned.h"

/*
 * Where each setting comes from (SPEC, Databases): the command line, then
 * the environment (a .env file fills in what is unset), then the active
 * environment of strata.conf, then its [strata] section, then defaults.
 */
int cli_resolve_settings(struct cli *cli)
{
	struct strata_error err = STRATA_ERROR_INIT;
	const char *env, *v;
	int rc = 0;

	if (cli->settings)
		return 0; /* once per process: database setup runs `run` */
	if (strata_dotenv_load(".env", &err) < 0 ||
	    strata_config_load(&cli->settings, cli->config, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	env = cli->env ? cli->env : getenv("STRATA_ENV");
	if (env && *env && !strata_config_has_environment(cli->settings, env)) {
		rc = cli_usage_error(
		        cli, NULL, "no environment '%s' in %s", env,
		        strata_config_path(cli->settings)
		                ? strata_config_path(cli->settings)
		                : "strata.conf (there is no such file)");
		goto done;
	}
	if (!env || !*env)
		env = strata_config_get(cli->settings, NULL, "environment");
	if (!cli->database)
		cli->database = getenv("DATABASE_URL");
	if (!cli->database || !*cli->database)
		cli->database =
		        strata_config_get(cli->settings, env, "database");
	if (cli->database && !*cli->database)
		cli->database = NULL;
	if (!cli->source)
		cli->source = strata_config_get(cli->settings, env, "source");
	if (!cli->source)
		cli->source = "migrations";
	if (!cli->table)
		cli->table = strata_config_get(cli->settings, env, "table");
	v = strata_config_get(cli->settings, env, "lock_timeout");
	if (!cli->has_lock_timeout && v &&
	    cli_parse_timeout(&cli->lock_timeout, v) < 0)
		rc = cli_usage_error(
		        cli, NULL,
		        "lock_timeout in %s wants a duration such as 2s (0: none), not '%s'",
		        strata_config_path(cli->settings), v);
	v = strata_config_get(cli->settings, env, "lock_probe");
	if (!cli->has_lock_probe && v &&
	    cli_parse_timeout(&cli->lock_probe, v) < 0)
		rc = cli_usage_error(
		        cli, NULL,
		        "lock_probe in %s wants a duration such as 20ms (0: none), not '%s'",
		        strata_config_path(cli->settings), v);
	v = strata_config_get(cli->settings, env, "statement_timeout");
	if (!cli->has_statement_timeout && v &&
	    cli_parse_timeout(&cli->statement_timeout, v) < 0)
		rc = cli_usage_error(
		        cli, NULL,
		        "statement_timeout in %s wants a duration such as 30s (0: none), not '%s'",
		        strata_config_path(cli->settings), v);
	v = strata_config_get(cli->settings, env, "retries");
	if (!cli->has_retries && v && cli_parse_retries(&cli->retries, v) < 0)
		rc = cli_usage_error(
		        cli, NULL,
		        "retries in %s wants a whole number, not '%s'",
		        strata_config_path(cli->settings), v);
	v = strata_config_get(cli->settings, env, "warn_after");
	if (!cli->has_warn_after && v &&
	    cli_parse_timeout(&cli->warn_after, v) < 0)
		rc = cli_usage_error(
		        cli, NULL,
		        "warn_after in %s wants a duration such as 60s or 10m (0: never), not '%s'",
		        strata_config_path(cli->settings), v);
	v = strata_config_get(cli->settings, env, "progress_interval");
	if (!cli->has_progress_interval && v &&
	    cli_parse_timeout(&cli->progress_interval, v) < 0)
		rc = cli_usage_error(
		        cli, NULL,
		        "progress_interval in %s wants a duration such as 30s (0: never), not '%s'",
		        strata_config_path(cli->settings), v);
	v = strata_config_get(cli->settings, env, "max_file_size");
	if (!cli->has_max_file_size && v &&
	    strata_parse_size(&cli->max_file_size, v) < 0)
		rc = cli_usage_error(
		        cli, NULL,
		        "max_file_size in %s wants a size such as 64MiB or 1GiB, not '%s'",
		        strata_config_path(cli->settings), v);
	cli->backup_dir = strata_config_get(cli->settings, env, "backup_dir");
	v = strata_config_get(cli->settings, env, "backup");
	if (v && (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") ||
	          !strcmp(v, "1"))) {
		cli->is_backup_on_run = true;
	} else if (v && strcmp(v, "false") && strcmp(v, "no") &&
	           strcmp(v, "off") && strcmp(v, "0")) {
		rc = cli_usage_error(
		        cli, NULL, "backup in %s wants true or false, not '%s'",
		        strata_config_path(cli->settings), v);
		goto done;
	}
	v = strata_config_get(cli->settings, env, "lock_wait");
	if (!cli->has_lock_wait && v &&
	    strata_parse_duration(&cli->lock_wait, v) < 0)
		rc = cli_usage_error(
		        cli, NULL,
		        "lock_wait in %s wants a duration such as 30s, 5m or 'forever', not '%s'",
		        strata_config_path(cli->settings), v);
done:
	strata_error_release(&err);
	return rc;
}

static int load_source(struct cli *cli, struct strata_source **out,
                       const struct strata_source_options *opts)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc = 0;

	if (strata_source_load(out, cli->source, opts, &err) < 0) {
		rc = cli_error(cli, &err);
		*out = NULL;
	}
	strata_error_release(&err);
	return rc;
}

int cli_load_source(struct cli *cli, struct strata_source **out)
{
	const struct strata_source_options opts = {
		.max_file_size = cli->max_file_size
	};

	return load_source(cli, out, &opts);
}

/* cli_open_db() that leaves the error to the caller (database given). */
static int cli_open_db_quiet(struct cli *cli, struct strata_db **out,
                             struct strata_error *err)
{
	struct strata_db_options opts = {
		.table = cli->table,
		.lock_wait = cli->lock_wait,
		.on_event = cli_event,
		.event_data = cli,
		.command = cli->command_line,
		.lock_timeout = cli->lock_timeout,
		.lock_probe = cli->lock_probe,
		.warn_after = cli->warn_after,
		.statement_timeout = cli->statement_timeout,
		.retries = cli->retries,
		.is_hide_queries = cli->is_hide_queries,
		.is_read_only = cli->is_read_only,
	};

	return strata_db_open(out, cli->database, &opts, err);
}

/*
 * status and check: the source (checksums only: they show no SQL) and the
 * database (read only) at once, and their status. A broken source is
 * reported before an unreachable database, as the other commands do.
 */
int cli_read_status(struct cli *cli, bool with_applied_by,
                    struct strata_source **src, struct strata_db **db,
                    struct strata_status **st)
{
	struct strata_error err = STRATA_ERROR_INIT;
	const struct strata_source_options src_opts = {
		.max_file_size = cli->max_file_size,
		.is_checksums_only = true,
	};
	const struct strata_status_options opts = { .is_without_applied_by =
		                                            !with_applied_by };
	int rc;

	cli->is_read_only = true;
	if (!cli->database || cli_open_db_quiet(cli, db, &err) < 0) {
		if (!(rc = load_source(cli, src, &src_opts)))
			rc = cli_open_db(cli, db);
		strata_error_release(&err);
		return rc;
	}
	rc = 0;
	if (strata_status_load(st, src, *db, cli->source, &src_opts, &opts,
	                       &err) < 0)
		rc = cli_error(cli, &err);
	strata_error_release(&err);
	return rc;
}

int cli_open_db(struct cli *cli, struct strata_db **out)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc = 0;

	*out = NULL;
	if (!cli->database) {
		strata_error_set(&err, STRATA_EUSAGE, "no database given");
		strata_error_hint(
		        &err,
		        "Pass --database URL, set DATABASE_URL, or put DATABASE_URL=… in a .env file (for example sqlite:app.db or postgres://user@host/db).");
		rc = cli_error(cli, &err);
	} else if (cli_open_db_quiet(cli, out, &err) < 0) {
		rc = cli_error(cli, &err);
	}
	strata_error_release(&err);
	return rc;
}

int cli_parse_timeout(double *out, const char *text)
{
	/* PostgreSQL takes at most INT_MAX ms */
	if (strata_parse_duration(out, text) < 0 || *out < 0 ||
	    *out * 1000 > INT_MAX)
		return -1;
	if (*out == 0)
		*out = -1;
	return 0;
}

int cli_parse_retries(int *out, const char *text)
{
	int64_t n;

	if (cli_parse_version(&n, text) < 0 || n > 1000)
		return -1;
	*out = n ? (int)n : -1;
	return 0;
}

int cli_parse_version(int64_t *out, const char *text)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || *end || end == text || v < 0)
		return -1;
	*out = v;
	return 0;
}

void cli_lint_options(struct cli *cli, struct strata_lint_options *out)
{
	struct strata_lint_setting s;

	memset(out, 0, sizeof(*out));
	if (!cli->lint_settings && cli->settings) {
		for (size_t i = 0; strata_config_lint_at(cli->settings, i, &s);
		     i++) {
			struct strata_lint_setting *v = realloc(
			        cli->lint_settings,
			        (cli->n_lint_settings + 1) * sizeof(*v));

			if (!v)
				abort();
			cli->lint_settings = v;
			v[cli->n_lint_settings++] = s;
		}
	}
	out->settings = cli->lint_settings;
	out->n_settings = cli->n_lint_settings;
	out->max_file_size = cli->max_file_size;
}

int cli_parse_pg_version(int *out, const char *text)
{
	char *end;
	long major, minor = 0;

	errno = 0;
	major = strtol(text, &end, 10);
	if (errno || end == text || major < 0)
		return -1;
	if (*end == '.') {
		const char *p = end + 1;

		minor = strtol(p, &end, 10);
		if (end == p || minor < 0 || minor > 99)
			return -1;
	}
	if (*end)
		return -1;
	if (major >= 90000 && major < 1000000 && text[strcspn(text, ".")] == 0)
		*out = (int)major; /* 150004: as the server reports it */
	else if (major >= 10 && major < 100)
		*out = (int)major * 10000 + (int)minor;
	else if (major == 9 && minor <= 6)
		*out = 90000 + (int)minor * 100;
	else
		return -1;
	return 0;
}
