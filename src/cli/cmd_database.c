/*
 * strata database create|drop|reset|setup, as sqlx's `database` commands:
 * drop and reset ask first (or take --yes); setup creates the database
 * when missing and applies every migration.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

static const char usage[] = "create|drop|reset|setup [options]";
static const char *const actions[] = { "create", "drop", "reset", "setup",
	                               NULL };

static bool confirm(struct cli *cli, const char *url, bool *is_asked)
{
	char *shown = strata_url_redact(url);
	char line[16];
	bool yes;

	(void)cli;
	*is_asked = isatty(STDIN_FILENO);
	if (!*is_asked) {
		free(shown);
		return false;
	}
	fprintf(stderr,
	        "Drop the database at '%s'? Everything in it is lost. [y/N] ",
	        cli_safe(shown));
	free(shown);
	yes = fgets(line, sizeof(line), stdin) &&
	      (line[0] == 'y' || line[0] == 'Y');
	return yes;
}

static int drop(struct cli *cli, bool is_yes, bool is_force)
{
	struct strata_error err = STRATA_ERROR_INIT;
	bool is_asked;
	int rc = 0;

	if (!is_yes && !confirm(cli, cli->database, &is_asked)) {
		if (!is_asked)
			return cli_usage_error(
			        cli, "database",
			        "refusing to drop the database without --yes (stdin is not a terminal)");
		fprintf(stderr, "strata: nothing dropped\n");
		return EXIT_FAILED;
	}
	if (strata_database_drop(cli->database, is_force, &err) < 0)
		rc = cli_error(cli, &err);
	else if (cli->verbosity >= 0)
		printf("Dropped the database (if it existed).\n");
	strata_error_release(&err);
	return rc;
}

static int create(struct cli *cli)
{
	struct strata_error err = STRATA_ERROR_INIT;
	bool exists = false;
	int rc = 0;

	if (strata_database_exists(&exists, cli->database, &err) < 0 ||
	    (!exists && strata_database_create(cli->database, &err) < 0))
		rc = cli_error(cli, &err);
	else if (cli->verbosity >= 0)
		printf(exists ? "The database exists already.\n"
		              : "Created the database.\n");
	strata_error_release(&err);
	return rc;
}

/*
 * reset and setup end by applying the source: check it whole first, so
 * that an invalid source never costs a dropped database.
 */
static int check_source_first(struct cli *cli)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_problems problems = { 0 };
	int rc = 0;

	if (strata_validate(&problems, NULL, cli->source, NULL, &err) < 0)
		rc = cli_error(cli, &err);
	for (size_t i = 0; i < problems.count; i++)
		rc = cli_error(cli, &problems.items[i]);
	if (problems.count)
		fprintf(stderr,
		        "strata: the source is invalid: nothing was dropped or created\n");
	strata_problems_release(&problems);
	strata_error_release(&err);
	return rc;
}

static int setup(struct cli *cli, bool is_seed)
{
	char *run_argv[] = { "run", NULL };
	int rc = create(cli);

	if (!rc)
		rc = cmd_run(cli, 1, run_argv);
	return rc || !is_seed ? rc : cli_seed(cli, NULL, 0, NULL);
}

int cmd_database(struct cli *cli, int argc, char **argv)
{
	bool is_yes = false, is_force = false, is_seed = false;
	const struct opt opts[] = {
		{ 'y', "yes", OPT_FLAG, &is_yes, NULL, NULL,
		  "drop without asking" },
		{ 'f', "force", OPT_FLAG, &is_force, NULL, NULL,
		  "end other sessions on the database before dropping it" },
		{ 0, "seed", OPT_FLAG, &is_seed, NULL, NULL,
		  "setup and reset: load the seed files after migrating (strata seed)" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "database", usage, opts, &argc, &argv);
	const char *action;

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc != 1)
		return cli_usage_error(
		        cli, "database",
		        argc ? "one action, please: create, drop, reset or setup"
		             : "an action is required: create, drop, reset or setup");
	action = argv[0];
	if (!cli->database)
		return cli_usage_error(
		        cli, "database",
		        "no database given: pass --database URL or set DATABASE_URL");
	if (is_seed && strcmp(action, "setup") && strcmp(action, "reset"))
		return cli_usage_error(cli, "database",
		                       "--seed goes with setup and reset");
	if (is_seed && (rc = cli_seed_allowed(cli, false)))
		return rc;
	if (strcmp(action, "create") == 0)
		return create(cli);
	if (strcmp(action, "drop") == 0)
		return drop(cli, is_yes, is_force);
	if (strcmp(action, "setup") == 0)
		return check_source_first(cli) ? EXIT_VALIDATE
		                               : setup(cli, is_seed);
	if (strcmp(action, "reset") == 0) {
		if ((rc = check_source_first(cli)))
			return rc;
		rc = drop(cli, is_yes, is_force);
		return rc ? rc : setup(cli, is_seed);
	}
	if (help_suggest(action, actions))
		return cli_usage_error(
		        cli, "database",
		        "unknown action '%s'; did you mean '%s'?", action,
		        help_suggest(action, actions));
	return cli_usage_error(
	        cli, "database",
	        "unknown action '%s': use create, drop, reset or setup",
	        action);
}
