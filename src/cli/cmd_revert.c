/*
 * strata revert: undo the newest applied migrations with their down files.
 */
#include "cli.h"

#include "util/banned.h"

static const char usage[] =
        "[--count N | --target-version V | --all] [--single-transaction] [--dry-run]";

int cmd_revert(struct cli *cli, int argc, char **argv)
{
	struct strata_revert_options ro = STRATA_REVERT_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	bool has_count = false, is_ignore_missing = false;
	size_t reverted = 0;
	const struct opt opts[] = {
		{ 0, "count", OPT_SIZE, &ro.count, &has_count, "N",
		  "revert the newest N migrations (default 1)" },
		{ 0, "target-version", OPT_VERSION, &ro.target_version,
		  &ro.has_target, "V",
		  "revert every migration above version V (0: all but a version 0)" },
		{ 0, "all", OPT_FLAG, &ro.is_all, NULL, NULL,
		  "revert every applied migration" },
		{ 0, "single-transaction", OPT_FLAG, &ro.is_single_transaction,
		  NULL, NULL, "revert them all in one transaction, or none" },
		{ 0, "dry-run", OPT_FLAG, &ro.is_dry_run, NULL, NULL,
		  "show what would be reverted, revert nothing" },
		/* sqlx-cli's: there, a revert checks every applied migration */
		{ 0, "ignore-missing", OPT_FLAG, &is_ignore_missing, NULL, NULL,
		  "as sqlx-cli's; a revert never looks at migrations it does not revert" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "revert", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "revert",
		                       "unexpected argument '%s'", argv[0]);
	if (has_count + ro.has_target + ro.is_all > 1)
		return cli_usage_error(
		        cli, "revert",
		        "--count, --target-version and --all exclude each other");
	if (cli->format == FORMAT_JSON) {
		cli->events = json_array();
		cli->warnings = json_array();
	}
	cli_progress_init(cli);
	if ((rc = cli_load_source_and_open_db(cli, false, true, &src, &db)))
		goto done;
	if (strata_migrate_revert(&reverted, db, src, &ro, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object();

		json_object_set_new(doc, "dry_run",
		                    json_boolean(ro.is_dry_run));
		json_object_set_new(doc, "reverted",
		                    json_integer((json_int_t)reverted));
		json_object_set(doc, "migrations", cli->events);
		json_object_set(doc, "warnings", cli->warnings);
		cli_print_json(doc);
	} else if (cli->verbosity >= 0) {
		if (!reverted)
			printf("Nothing to revert.\n");
		else if (ro.is_dry_run)
			printf("%zu migration%s would be reverted (dry run).\n",
			       reverted, reverted == 1 ? "" : "s");
		else
			printf("Reverted %zu migration%s.\n", reverted,
			       reverted == 1 ? "" : "s");
	}
done:
	json_decref(cli->events);
	json_decref(cli->warnings);
	cli->events = cli->warnings = NULL;
	strata_error_release(&err);
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}
