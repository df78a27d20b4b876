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

#include "util/banned.h"

/* The environments strata.conf names, for an error: "a, b" or "none". */
static void list_environments(char *buf, size_t size, const struct config *c)
{
	size_t len = 0;
	const char *e;

	buf[0] = '\0';
	for (size_t i = 0; (e = config_environment_at(c, i)); i++)
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0,
		                        "%s%s", i ? ", " : "", e);
	if (!buf[0])
		snprintf(buf, size, "none");
}

/* "strata.conf line 4": where a value of strata.conf was set. */
static void config_where(char *buf, size_t size, struct cli *cli,
                         const char *env, const char *key)
{
	int line = config_line(cli->settings, env, key, NULL);

	if (line)
		snprintf(buf, size, "%s line %d", config_path(cli->settings),
		         line);
	else
		snprintf(buf, size, "%s", config_path(cli->settings));
}

/* A value of strata.conf that is not what `key` takes: exit 2. */
/* Flyway's placeholders: strata.conf's, then --placeholder NAME=VALUE
 * (the library takes the last of a name), then ${flyway:table}. */
static int set_placeholders(struct cli *cli)
{
	struct strata_placeholder p;
	size_t n = cli->placeholder_args.n + 1, names = 0;
	char *name;

	for (size_t i = 0;
	     cli->settings && config_placeholder_at(cli->settings, i, &p); i++)
		n++;
	for (size_t i = 0; i < cli->placeholder_args.n; i++)
		names += strlen(cli->placeholder_args.v[i]) + 1;
	/* the array, then the names cut out of --placeholder's arguments */
	cli->placeholders = calloc(1, n * sizeof(p) + names);
	if (!cli->placeholders)
		abort();
	name = (char *)(cli->placeholders + n);
	for (size_t i = 0;
	     cli->settings && config_placeholder_at(cli->settings, i, &p); i++)
		cli->placeholders[cli->n_placeholders++] = p;
	for (size_t i = 0; i < cli->placeholder_args.n; i++) {
		const char *arg = cli->placeholder_args.v[i];
		const char *eq = strchr(arg, '=');
		struct strata_placeholder *q =
		        &cli->placeholders[cli->n_placeholders];

		if (!eq || eq == arg)
			return cli_usage_error(
			        cli, NULL,
			        "--placeholder wants NAME=VALUE, not '%s'",
			        arg);
		memcpy(name, arg, (size_t)(eq - arg));
		name[eq - arg] = '\0';
		q->name = name;
		q->value = eq + 1;
		name += eq - arg + 1;
		cli->n_placeholders++;
	}
	if (cli->table) {
		cli->placeholders[cli->n_placeholders].name = "flyway:table";
		cli->placeholders[cli->n_placeholders++].value = cli->table;
	}
	return 0;
}

static int bad_value(struct cli *cli, const char *env, const char *key,
                     const char *wants, const char *value)
{
	char where[512];

	config_where(where, sizeof(where), cli, env, key);
	return cli_usage_error(cli, NULL, "%s in %s wants %s, not '%s'", key,
	                       where, wants, value);
}

/* Which environment is active, checked: -e, else STRATA_ENV, else
 * [strata]'s environment, else development (the documented default,
 * which need not exist). */
static int resolve_environment(struct cli *cli, const char **out)
{
	const char *env = cli->env ? cli->env : getenv("STRATA_ENV");
	const char *path = config_path(cli->settings);
	char names[512];
	int line = 0;

	*out = NULL;
	if (!env || !*env) {
		env = config_get(cli->settings, NULL, "environment");
		line = config_line(cli->settings, NULL, "environment", NULL);
	}
	if (!env || !*env) {
		*out = "development";
		return 0;
	}
	if (config_has_environment(cli->settings, env)) {
		*out = env;
		return 0;
	}
	if (!path)
		return cli_usage_error(
		        cli, NULL,
		        "no environment '%s' in strata.conf (there is no such file)",
		        env);
	list_environments(names, sizeof(names), cli->settings);
	if (line)
		return cli_usage_error(
		        cli, NULL,
		        "no environment '%s' in %s (line %d says environment = %s; it has: %s)",
		        env, path, line, env, names);
	return cli_usage_error(cli, NULL,
	                       "no environment '%s' in %s (it has: %s)", env,
	                       path, names);
}

/* Where the database came from, as -v and run say (design.md, Databases). */
static void set_database_origin(struct cli *cli, bool is_flag, bool is_real_env,
                                const char *env)
{
	bool is_in_env = false;
	int line;

	if (!cli->database)
		return;
	if (is_flag) {
		snprintf(cli->database_from, sizeof(cli->database_from),
		         "--database");
	} else if (getenv("DATABASE_URL") == cli->database) {
		snprintf(cli->database_from, sizeof(cli->database_from),
		         "DATABASE_URL %s",
		         is_real_env ? "in the environment" : "from .env");
	} else {
		line = config_line(cli->settings, env, "database", &is_in_env);
		if (is_in_env)
			snprintf(cli->database_from, sizeof(cli->database_from),
			         "environment '%s' of %s, line %d", env,
			         config_path(cli->settings), line);
		else
			snprintf(cli->database_from, sizeof(cli->database_from),
			         "[strata] of %s, line %d",
			         config_path(cli->settings), line);
	}
}

void cli_show_database(struct cli *cli)
{
	char *shown;

	if (!cli->database || cli->is_database_shown)
		return;
	cli->is_database_shown = true;
	shown = strata_url_redact(cli->database);
	cli_info(cli, "strata: database %s (from %s)", shown,
	         cli->database_from);
	free(shown);
}

/* --fleet NAME: [fleet.NAME]'s keys, where the command line says
 * nothing. */
static int named_fleet(struct cli *cli)
{
	const struct config *c = cli->settings;
	const char *name = cli->fleet_name, *v;

	if (!config_has_fleet(c, name))
		return cli_usage_error(
		        cli, NULL, "no fleet '%s' in %s", name,
		        config_path(c) ? config_path(c)
		                       : "strata.conf (there is no such file)");
	if (!cli->fleet_targets_file && !cli->fleet_targets_query &&
	    !cli->fleet_schemas) {
		cli->fleet_targets_file = config_fleet_get(c, name, "targets");
		cli->fleet_targets_query =
		        config_fleet_get(c, name, "targets_query");
		cli->fleet_schemas = config_fleet_get(c, name, "schemas");
	}
	if (!cli->fleet_targets_file && !cli->fleet_targets_query &&
	    !cli->fleet_schemas)
		return cli_usage_error(
		        cli, NULL,
		        "fleet '%s' of strata.conf names no targets: give it targets, targets_query or schemas",
		        name);
	if (!cli->fleet_jobs && (v = config_fleet_get(c, name, "jobs")) &&
	    cli_parse_count(&cli->fleet_jobs, v) < 0)
		return cli_usage_error(
		        cli, NULL,
		        "jobs in [fleet.%s] wants a number from 1 to 1000, not '%s'",
		        name, v);
	if (!cli->fleet_canary && (v = config_fleet_get(c, name, "canary")) &&
	    cli_parse_count(&cli->fleet_canary, v) < 0)
		return cli_usage_error(
		        cli, NULL,
		        "canary in [fleet.%s] wants a number from 1 to 1000, not '%s'",
		        name, v);
	if ((v = config_fleet_get(c, name, "fail_fast")) &&
	    (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")))
		cli->is_fleet_fail_fast = true;
	return 0;
}

/*
 * Where each setting comes from (design.md, Databases): the command line, then
 * the environment (a .env file fills in what is unset), then the active
 * environment of strata.conf, then its [strata] section, then defaults.
 */
int cli_parse_options(struct cli *cli, const char *cmd, const char *usage,
                      const struct opt *opts, int *argc, char ***argv)
{
	int rc = opt_parse(cli, cmd, usage, opts, argc, argv);

	if (!rc)
		rc = cli_resolve_settings(cli);
	if (rc)
		return rc;
	if (cli->is_fleet_child) {
		/* the target, whatever -d says: it names the fleet's query */
		cli->database = cli->fleet_target;
		return 0;
	}
	if (cli->fleet_name && (rc = named_fleet(cli)))
		return rc;
	if (cli->fleet_targets_file || cli->fleet_targets_query ||
	    cli->fleet_schemas) {
		rc = cli_fleet_run(cli);
		return rc ? rc : -1; /* done: the command does nothing more */
	}
	return 0;
}

int cli_resolve_settings(struct cli *cli)
{
	struct strata_error err = STRATA_ERROR_INIT;
	const char *env, *v;
	bool is_flag = cli->database != NULL;
	bool is_real_env = getenv("DATABASE_URL") != NULL;
	int rc = 0;

	if (cli->settings)
		return 0; /* once per process: database setup runs `run` */
	if ((!cli->is_no_dotenv && dotenv_load(".env", &err) < 0) ||
	    config_load(&cli->settings, cli->config, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if ((rc = resolve_environment(cli, &env)))
		goto done;
	cli->env = env;
	if (!cli->database)
		cli->database = getenv("DATABASE_URL");
	if (!cli->database || !*cli->database)
		cli->database = config_get(cli->settings, env, "database");
	if (cli->database && !*cli->database)
		cli->database = NULL;
	set_database_origin(cli, is_flag, is_real_env, env);
	if (!cli->source)
		cli->source = config_get(cli->settings, env, "source");
	if (!cli->source)
		cli->source = "migrations";
	if (!cli->table)
		cli->table = config_get(cli->settings, env, "table");
	v = cli->layout_arg;
	if (!v)
		v = config_get(cli->settings, env, "layout");
	if (v && (strata_layout_parse(&cli->layout, v) < 0 ||
	          cli->layout == STRATA_LAYOUT_AUTO)) {
		cli->layout = STRATA_LAYOUT_AUTO;
		if (cli->layout_arg)
			rc = cli_usage_error(
			        cli, NULL,
			        "unknown layout '%s' (sqlx, dbmate, diesel, golang-migrate or flyway)",
			        v);
		else
			rc = bad_value(
			        cli, env, "layout",
			        "sqlx, dbmate, diesel, golang-migrate or flyway",
			        v);
	}
	if (set_placeholders(cli) < 0)
		rc = -1;
	v = config_get(cli->settings, env, "lock_timeout");
	if (!cli->has_lock_timeout && v &&
	    cli_parse_timeout(&cli->lock_timeout, v) < 0)
		rc = bad_value(cli, env, "lock_timeout",
		               "a duration such as 2s (0: none)", v);
	v = config_get(cli->settings, env, "lock_probe");
	if (!cli->has_lock_probe && v &&
	    cli_parse_timeout(&cli->lock_probe, v) < 0)
		rc = bad_value(cli, env, "lock_probe",
		               "a duration such as 20ms (0: none)", v);
	v = config_get(cli->settings, env, "concurrent_lock_timeout");
	if (!cli->has_concurrent_lock_timeout && v &&
	    cli_parse_timeout(&cli->concurrent_lock_timeout, v) < 0)
		rc = bad_value(cli, env, "concurrent_lock_timeout",
		               "a duration such as 10m (0: none)", v);
	v = config_get(cli->settings, env, "statement_timeout");
	if (!cli->has_statement_timeout && v &&
	    cli_parse_timeout(&cli->statement_timeout, v) < 0)
		rc = bad_value(cli, env, "statement_timeout",
		               "a duration such as 30s (0: none)", v);
	v = config_get(cli->settings, env, "retries");
	if (!cli->has_retries && v && cli_parse_retries(&cli->retries, v) < 0)
		rc = bad_value(cli, env, "retries", "a whole number", v);
	v = config_get(cli->settings, env, "warn_after");
	if (!cli->has_warn_after && v &&
	    cli_parse_timeout(&cli->warn_after, v) < 0)
		rc = bad_value(cli, env, "warn_after",
		               "a duration such as 60s or 10m (0: never)", v);
	v = config_get(cli->settings, env, "progress_interval");
	if (!cli->has_progress_interval && v &&
	    cli_parse_timeout(&cli->progress_interval, v) < 0)
		rc = bad_value(cli, env, "progress_interval",
		               "a duration such as 30s (0: never)", v);
	v = config_get(cli->settings, env, "max_file_size");
	if (!cli->has_max_file_size && v &&
	    cli_parse_size(&cli->max_file_size, v) < 0)
		rc = bad_value(cli, env, "max_file_size",
		               "a size such as 64MiB or 1GiB", v);
	cli->backup_dir = config_get(cli->settings, env, "backup_dir");
	cli->dump_schema = config_get(cli->settings, env, "dump_schema");
	v = config_get(cli->settings, env, "backup");
	if (v && (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") ||
	          !strcmp(v, "1"))) {
		cli->is_backup_on_run = true;
	} else if (v && strcmp(v, "false") && strcmp(v, "no") &&
	           strcmp(v, "off") && strcmp(v, "0")) {
		rc = bad_value(cli, env, "backup", "true or false", v);
		goto done;
	}
	v = config_get(cli->settings, env, "verify");
	if (v && (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") ||
	          !strcmp(v, "1"))) {
		cli->is_verify_on_run = true;
	} else if (v && strcmp(v, "false") && strcmp(v, "no") &&
	           strcmp(v, "off") && strcmp(v, "0")) {
		rc = bad_value(cli, env, "verify", "true or false", v);
		goto done;
	}
	v = config_get(cli->settings, env, "lock_wait");
	if (!cli->has_lock_wait && v &&
	    cli_parse_lock_wait(&cli->lock_wait, v) < 0)
		rc = bad_value(cli, env, "lock_wait",
		               "a duration such as 30s, 5m or 'forever'", v);
	v = config_get(cli->settings, env, "connect_timeout");
	if (!cli->has_connect_timeout && v &&
	    cli_parse_connect_timeout(&cli->connect_timeout, v) < 0)
		rc = bad_value(cli, env, "connect_timeout",
		               "a duration such as 10s (0: forever)", v);
	strata_set_connect_timeout(cli->connect_timeout);
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

/* A source loaded to run reads only what the run applies of it. */
static struct strata_source_options source_options(const struct cli *cli,
                                                   bool is_to_run)
{
	return (struct strata_source_options){
		.version = STRATA_SOURCE_OPTIONS_VERSION,
		.max_file_size = cli->max_file_size,
		.layout = cli->layout,
		.placeholders = cli->placeholders,
		.n_placeholders = cli->n_placeholders,
		.is_down_deferred = is_to_run,
		.is_up_deferred = is_to_run,
	};
}

/* The database opened, for a command that locks next when is_locking. */
static int open_db_quiet(struct cli *cli, struct strata_db **out,
                         bool is_locking, struct strata_error *err)
{
	struct strata_db_options opts = {
		.version = STRATA_DB_OPTIONS_VERSION,
		.table = cli->table,
		.lock_wait = cli->lock_wait,
		.on_event = cli_event,
		.event_data = cli,
		.command = cli->command_line,
		.lock_timeout = cli->lock_timeout,
		.lock_probe = cli->lock_probe,
		.concurrent_lock_timeout = cli->concurrent_lock_timeout,
		.warn_after = cli->warn_after,
		.statement_timeout = cli->statement_timeout,
		.retries = cli->retries,
		.is_hide_queries = cli->is_hide_queries,
		.is_read_only = cli->is_read_only,
		.schema = cli->schema,
	};

	if (cli->verbosity > 0 && cli->format != FORMAT_JSON)
		cli_show_database(cli);
	if (is_locking)
		return strata_db_open_locking(out, cli->database, &opts, err);
	return strata_db_open(out, cli->database, &opts, err);
}

int cli_open_db_quiet(struct cli *cli, struct strata_db **out,
                      struct strata_error *err)
{
	return open_db_quiet(cli, out, false, err);
}

int cli_load_source_and_open_db(struct cli *cli, bool is_to_run,
                                bool is_locking, struct strata_source **src,
                                struct strata_db **db)
{
	const struct strata_source_options opts =
	        source_options(cli, is_to_run);
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_error src_err = STRATA_ERROR_INIT;
	struct strata_source_loading *loading;
	int db_rc = -1, rc = 0;

	*db = NULL;
	/* SQLite's file, created if missing, only for a sound source */
	if (!cli->database || !strncmp(cli->database, "sqlite:", 7)) {
		if (!(rc = load_source(cli, src, &opts)) &&
		    (rc = cli_open_db(cli, db))) {
			strata_source_free(*src);
			*src = NULL;
		}
		return rc;
	}
	/* the files are read while libpq loads and the server answers */
	loading = strata_source_load_begin(cli->source, &opts);
	/* and, for a command that locks, what the lock needs first */
	db_rc = open_db_quiet(cli, db, is_locking, &err);
	if (strata_source_load_end(src, loading, &src_err) < 0)
		rc = cli_error(cli, &src_err);
	else if (db_rc < 0)
		rc = cli_error(cli, &err);
	if (rc) {
		strata_db_close(*db);
		*db = NULL;
	}
	strata_error_release(&src_err);
	strata_error_release(&err);
	return rc;
}

int cli_load_source(struct cli *cli, struct strata_source **out)
{
	const struct strata_source_options opts = source_options(cli, false);

	return load_source(cli, out, &opts);
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
		.version = STRATA_SOURCE_OPTIONS_VERSION,
		.max_file_size = cli->max_file_size,
		.layout = cli->layout,
		.placeholders = cli->placeholders,
		.n_placeholders = cli->n_placeholders,
		.is_checksums_only = true,
		/* status's JSON names each down file; nothing else here does */
		.is_down_lookup_skipped = cli->format != FORMAT_JSON,
	};
	const struct strata_status_options opts = {
		.version = STRATA_STATUS_OPTIONS_VERSION,
		.is_without_applied_by = !with_applied_by,
	};
	struct strata_source_loading *loading;
	int rc = 0;

	cli->is_read_only = true;
	/* the files are read while libpq loads and the server answers */
	loading = strata_source_load_begin(cli->source, &src_opts);
	if (!cli->database || cli_open_db_quiet(cli, db, &err) < 0) {
		struct strata_error src_err = STRATA_ERROR_INIT;

		/* the database's error, kept: connecting again would wait
		 * for an unresponsive server twice */
		if (strata_source_load_end(src, loading, &src_err) < 0)
			rc = cli_error(cli, &src_err);
		else
			rc = cli->database ? cli_error(cli, &err)
			                   : cli_open_db(cli, db);
		strata_error_release(&src_err);
		strata_error_release(&err);
		return rc;
	}
	if (strata_status_load_end(st, src, *db, loading, &opts, &err) < 0)
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
		const char *path =
		        cli->settings ? config_path(cli->settings) : NULL;

		strata_error_set(&err, STRATA_EUSAGE, "no database given");
		if (path)
			strata_error_detail(
			        &err,
			        "Environment '%s' of %s sets no database, nor does its [strata] section.",
			        cli->env ? cli->env : "development", path);
		strata_error_hint(
		        &err,
		        "Pass --database URL, set DATABASE_URL, or put DATABASE_URL=… in a .env file (for example sqlite:app.db or postgres://user@host/db)%s.",
		        path ? ", or add database = URL to the environment's section"
		             : "");
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

int cli_parse_connect_timeout(double *out, const char *text)
{
	if (strata_parse_duration(out, text) < 0)
		return -1;
	if (*out <= 0)
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

int cli_parse_size(size_t *out, const char *text)
{
	static const struct {
		const char *suffix;
		unsigned long long factor;
	} units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "kB", 1000ULL },
		{ "KB", 1000ULL },
		{ "KiB", 1ULL << 10 },
		{ "MB", 1000ULL * 1000 },
		{ "MiB", 1ULL << 20 },
		{ "GB", 1000ULL * 1000 * 1000 },
		{ "GiB", 1ULL << 30 },
		{ "TB", 1000ULL * 1000 * 1000 * 1000 },
		{ "TiB", 1ULL << 40 },
	};
	unsigned long long v;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || !v)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (v > SIZE_MAX / units[i].factor)
			return -1;
		*out = (size_t)(v * units[i].factor);
		return 0;
	}
	return -1;
}

int cli_parse_lock_wait(double *out, const char *text)
{
	if (strata_parse_duration(out, text) < 0)
		return -1;
	if (*out == 0)
		*out = STRATA_NO_WAIT;
	return 0;
}

int cli_parse_version(int64_t *out, const char *text)
{
	return strata_version_parse(out, text);
}

void cli_lint_options(struct cli *cli, struct strata_lint_options *out)
{
	struct strata_lint_setting s;

	strata_lint_options_init(out, STRATA_LINT_OPTIONS_VERSION);
	if (!cli->lint_settings && cli->settings) {
		for (size_t i = 0; config_lint_at(cli->settings, i, &s); i++) {
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
	if (cli->settings) {
		/* checked on load: a value here parses */
		const char *v;

		if ((v = config_get(cli->settings, NULL, "big_table_rows")))
			config_parse_rows(&out->big_table_rows, v);
		if ((v = config_get(cli->settings, NULL, "small_table_rows")))
			config_parse_rows(&out->small_table_rows, v);
		if ((v = config_get(cli->settings, NULL, "big_table_size")))
			config_parse_table_size(&out->big_table_size, v);
		if ((v = config_get(cli->settings, NULL, "small_table_size")))
			config_parse_table_size(&out->small_table_size, v);
	}
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
