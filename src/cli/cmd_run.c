/*
 * strata run: apply pending migrations (design.md, Commands).
 */
#include "cli.h"

#include <inttypes.h>

#include "serve.h"

#include "util/banned.h"

static const char usage[] = "[options]";

int cmd_run(struct cli *cli, int argc, char **argv)
{
	struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
	struct strata_lint_options lo = STRATA_LINT_OPTIONS_INIT;
	struct strata_run_result res = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	bool is_backup = false, is_no_backup = false;
	const char *metrics_file = NULL;
	const struct opt opts[] = {
		{ 0, "dry-run", OPT_FLAG, &ro.is_dry_run, NULL, NULL,
		  "show what would be applied, apply nothing" },
		{ 0, "target-version", OPT_VERSION, &ro.target_version,
		  &ro.has_target, "V", "apply nothing above version V" },
		{ 0, "single-transaction", OPT_FLAG, &ro.is_single_transaction,
		  NULL, NULL, "apply all pending migrations or none" },
		{ 0, "ignore-missing", OPT_FLAG, &ro.is_ignore_missing, NULL,
		  NULL, "allow applied migrations missing from the source" },
		{ 0, "strict-order", OPT_FLAG, &ro.is_strict_order, NULL, NULL,
		  "refuse pending migrations older than the newest applied" },
		{ 0, "allow-unsafe", OPT_FLAG, &ro.is_allow_unsafe, NULL, NULL,
		  "apply even when lint finds errors (PostgreSQL; see strata lint)" },
		{ 0, "backup", OPT_FLAG, &is_backup, NULL, NULL,
		  "back up first (see 'strata backup'); apply nothing if that fails" },
		{ 0, "no-backup", OPT_FLAG, &is_no_backup, NULL, NULL,
		  "no backup, even when strata.conf says backup = true" },
		{ 0, "metrics-file", OPT_STRING, &metrics_file, NULL, "PATH",
		  "afterwards, write the migration metrics there for node_exporter's textfile collector, whatever the outcome" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "run", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "run", "unexpected argument '%s'",
		                       argv[0]);
	if (cli->format == FORMAT_JSON) {
		cli->events = json_array();
		cli->warnings = json_array();
		cli->findings = json_array();
	}
	cli->is_show_lint_warnings = ro.is_dry_run;
	cli_progress_init(cli);
	cli_lint_options(cli, &lo);
	ro.lint = &lo;
	if ((rc = cli_load_source(cli, &src)) || (rc = cli_open_db(cli, &db)))
		goto done;
	/* backed up before the run, not under its lock: see cmd_backup.c */
	if (!ro.is_dry_run &&
	    (is_backup || (cli->is_backup_on_run && !is_no_backup)) &&
	    (rc = cli_backup_before_run(cli, db, src, &ro)))
		goto done;
	if (strata_migrate_run(&res, db, src, &ro, &err) < 0) {
		if (cli->format == FORMAT_JSON && err.code == STRATA_ELINT) {
			json_t *doc = json_object();

			json_object_set_new(doc, "error", cli_json_error(&err));
			json_object_set(doc, "lint", cli->findings);
			cli_print_json(doc);
			rc = cli_exit_code(err.code);
		} else {
			rc = cli_error(cli, &err);
		}
		goto done;
	}
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object();

		json_object_set_new(doc, "dry_run",
		                    json_boolean(ro.is_dry_run));
		json_object_set_new(doc, "applied",
		                    json_integer((json_int_t)res.applied));
		json_object_set_new(doc, "skipped",
		                    json_integer((json_int_t)res.skipped));
		json_object_set(doc, "migrations", cli->events);
		json_object_set(doc, "warnings", cli->warnings);
		json_object_set(doc, "lint", cli->findings);
		if (cli->backup)
			json_object_set(doc, "backup", cli->backup);
		cli_print_json(doc);
	} else if (cli->verbosity >= 0) {
		if (!res.applied && !res.skipped)
			printf("Nothing to apply: the database is up to date.\n");
		else if (ro.is_dry_run)
			printf("%zu migration%s would be applied (dry run).\n",
			       res.applied, res.applied == 1 ? "" : "s");
		else
			printf("Applied %zu migration%s.\n", res.applied,
			       res.applied == 1 ? "" : "s");
	}
done:
	/* a run that applied its migrations but could not say so: exit 1,
	 * as for a full disk on stdout */
	if (metrics_file &&
	    serve_write_metrics_file(cli, metrics_file, db, rc) && !rc)
		rc = 1;
	json_decref(cli->events);
	json_decref(cli->warnings);
	json_decref(cli->findings);
	json_decref(cli->backup);
	cli->events = cli->warnings = cli->findings = cli->backup = NULL;
	strata_error_release(&err);
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}
