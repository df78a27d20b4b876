/*
 * strata validate: the source alone, and with a database the history
 * against it, reporting every problem found.
 */
#include "cli.h"

#include "util/banned.h"

static const char usage[] = "[options]";

int cmd_validate(struct cli *cli, int argc, char **argv)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_problems problems = { 0 };
	struct strata_validate_options vo = STRATA_VALIDATE_OPTIONS_INIT;
	struct strata_db *db = NULL;
	const struct opt opts[] = {
		{ 0, "strict-order", OPT_FLAG, &vo.is_strict_order, NULL, NULL,
		  "a pending migration older than the newest applied is a problem" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "validate", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "validate",
		                       "unexpected argument '%s'", argv[0]);
	vo.max_file_size = cli->max_file_size;
	vo.layout = cli->layout;
	vo.placeholders = cli->placeholders;
	vo.n_placeholders = cli->n_placeholders;
	cli->is_read_only = true;
	/* the source's problems are worth knowing even when the database
	 * cannot be reached: the connection error then comes on top */
	if (cli->database && (rc = cli_open_db(cli, &db))) {
		if (cli->format == FORMAT_JSON)
			goto done; /* one document: the error */
		db = NULL;
	}
	if (strata_validate(&problems, db, cli->source, &vo, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object(), *list = json_array();

		for (size_t i = 0; i < problems.count; i++)
			json_array_append_new(
			        list, cli_json_error(&problems.items[i]));
		json_object_set_new(doc, "valid",
		                    json_boolean(!problems.count));
		json_object_set_new(doc, "online", json_boolean(db != NULL));
		json_object_set_new(doc, "problems", list);
		cli_print_json(doc);
	} else {
		for (size_t i = 0; i < problems.count; i++)
			cli_error(cli, &problems.items[i]);
		if (problems.count && cli->verbosity >= 0)
			fprintf(stderr, "strata: %zu problem%s found.\n",
			        problems.count, problems.count == 1 ? "" : "s");
		else if (cli->verbosity >= 0)
			printf("Valid: %s.\n",
			       db ? "source and history agree"
			          : "the source (no database given)");
	}
	rc = problems.count ? EXIT_VALIDATE : rc;
done:
	strata_problems_release(&problems);
	strata_error_release(&err);
	strata_db_close(db);
	return rc;
}
