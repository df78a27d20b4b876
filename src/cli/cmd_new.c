/*
 * strata new DESCRIPTION: create the next migration file(s), named and
 * numbered as sqlx-cli's `migrate add` would. `strata migrate add` is the
 * same with sqlx-cli's short options (-s is --sequential there).
 */
#include "cli.h"

#include <stdlib.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const char usage[] = "[options] DESCRIPTION...";

static int parse_template(enum strata_template *out, const char *name)
{
	static const struct {
		const char *name;
		enum strata_template kind;
	} names[] = {
		{ "empty", STRATA_TEMPLATE_EMPTY },
		{ "table", STRATA_TEMPLATE_TABLE },
		{ "index", STRATA_TEMPLATE_INDEX },
		{ "data", STRATA_TEMPLATE_DATA },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i].name, name) == 0) {
			*out = names[i].kind;
			return 0;
		}
	}
	return -1;
}

static int new_migration(struct cli *cli, const char *name, bool is_sqlx,
                         int argc, char **argv)
{
	struct strata_new_options no = STRATA_NEW_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	bool is_timestamp = false, is_sequential = false, is_reversible = false;
	bool is_simple = false;
	const char *template_name = NULL;
	char **paths = NULL, *description = NULL;
	size_t len = 0;
	const struct opt opts[] = {
		{ 0, "timestamp", OPT_FLAG, &is_timestamp, NULL, NULL,
		  "version from the current UTC time (YYYYMMDDHHMMSS)" },
		{ 0, "sequential", OPT_FLAG, &is_sequential, NULL, NULL,
		  "version one above the newest (default: follow the folder)" },
		{ 'r', "reversible", OPT_FLAG, &is_reversible, NULL, NULL,
		  "create an .up.sql/.down.sql pair" },
		{ 0, "simple", OPT_FLAG, &is_simple, NULL, NULL,
		  "create a single .sql file even in a reversible folder" },
		{ 0, "template", OPT_STRING, &template_name, NULL,
		  "table|index|data", "start from a template" },
		OPT_END,
	};
	/* sqlx-cli's migrate add: -t and -s, which leaves --source long */
	const struct opt sqlx_opts[] = {
		{ 'r', "reversible", OPT_FLAG, &is_reversible, NULL, NULL,
		  "create an .up.sql/.down.sql pair" },
		{ 0, "simple", OPT_FLAG, &is_simple, NULL, NULL,
		  "create a single .sql file even in a reversible folder" },
		{ 't', "timestamp", OPT_FLAG, &is_timestamp, NULL, NULL,
		  "version from the current UTC time (YYYYMMDDHHMMSS)" },
		{ 's', "sequential", OPT_FLAG, &is_sequential, NULL, NULL,
		  "version one above the newest (default: follow the folder)" },
		{ 0, "template", OPT_STRING, &template_name, NULL,
		  "table|index|data", "start from a template" },
		OPT_END,
	};
	/* how usage errors name it: migrate's subcommand is "add" */
	const char *shown = is_sqlx ? "migrate add" : name;
	int rc = cli_parse_options(cli, name, usage, is_sqlx ? sqlx_opts : opts,
	                           &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (!argc)
		return cli_usage_error(cli, shown, "a description is required");
	if (is_timestamp && is_sequential)
		return cli_usage_error(
		        cli, shown,
		        "--timestamp and --sequential exclude each other");
	if (is_reversible && is_simple)
		return cli_usage_error(
		        cli, shown,
		        "--reversible and --simple exclude each other");
	if (template_name &&
	    parse_template(&no.template_kind, template_name) < 0)
		return cli_usage_error(
		        cli, shown,
		        "--template wants table, index or data, not '%s'",
		        template_name);
	no.versioning = is_timestamp    ? STRATA_VERSIONING_TIMESTAMP
	                : is_sequential ? STRATA_VERSIONING_SEQUENTIAL
	                                : STRATA_VERSIONING_INFER;
	if (is_reversible)
		no.reversible = STRATA_REVERSIBLE_YES;
	if (is_simple)
		no.reversible = STRATA_REVERSIBLE_NO;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	description = calloc(1, len + 1);
	if (!description)
		abort();
	for (int i = 0; i < argc; i++) {
		if (i)
			memcpy(description + strlen(description), " ", 2);
		memcpy(description + strlen(description), argv[i],
		       strlen(argv[i]) + 1);
	}
	no.max_file_size = cli->max_file_size;
	no.layout = cli->layout;
	no.placeholders = cli->placeholders;
	no.n_placeholders = cli->n_placeholders;
	if (strata_migration_new(&paths, cli->source, description, &no, &err) <
	    0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object(), *list = json_array();

		for (char **p = paths; *p; p++)
			json_array_append_new(list, cli_json_text(*p));
		json_object_set_new(doc, "created", list);
		cli_print_json(doc);
	} else if (cli->verbosity >= 0) {
		for (char **p = paths; *p; p++)
			printf("Created %s\n", cli_safe(*p));
	}
done:
	free(description);
	strata_strv_free(paths);
	strata_error_release(&err);
	return rc;
}

int cmd_new(struct cli *cli, int argc, char **argv)
{
	return new_migration(cli, "new", false, argc, argv);
}

int cmd_migrate_add(struct cli *cli, int argc, char **argv)
{
	return new_migration(cli, "add", true, argc, argv);
}
