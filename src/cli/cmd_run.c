/*
 * strata run: apply pending migrations (design.md, Commands).
 */
#include "cli.h"

#include <inttypes.h>

#include "serve.h"

#include "util/banned.h"

static const char usage[] = "[options]";

/*
 * run --verify: strata verify on the database just migrated, its report
 * after the run's. The migrations are committed whatever it finds: an
 * error-level finding exits 4 saying so, and JSON carries the report as
 * "verify". Returns the exit code.
 */
static int verify_after(struct cli *cli, struct strata_db *db, double budget,
                        json_t *doc)
{
	struct strata_db_verify_options vo = STRATA_DB_VERIFY_OPTIONS_INIT;
	struct strata_db_report report = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	int rc;

	vo.budget = budget;
	if (strata_db_verify(&report, db, &vo, &err) < 0) {
		strata_error_detail(
		        &err,
		        "The migrations were applied and committed; only the verification failed.");
		if (doc)
			json_object_set_new(doc, "verify_error",
			                    cli_json_error(&err));
		rc = doc ? cli_exit_code(err.code) : cli_error(cli, &err);
		goto done;
	}
	rc = report.n_errors ? EXIT_VALIDATE : EXIT_OK;
	if (doc) {
		json_object_set_new(doc, "verify", cli_verify_json(&report));
		goto done;
	}
	cli_verify_print(cli, &report);
	if (report.n_errors) {
		strata_error_set(&err, STRATA_EVALIDATE,
		                 "verify found %zu error%s in the database",
		                 report.n_errors,
		                 report.n_errors == 1 ? "" : "s");
		strata_error_detail(
		        &err,
		        "The migrations were applied and committed; the findings above are the database's state after them.");
		cli_error(cli, &err);
	}
done:
	strata_db_report_release(&report);
	strata_error_release(&err);
	return rc;
}

/* replica = URL lines of strata.conf, where the command line gives none;
 * an empty one names none (an environment without standbys) */
static void add_config_replicas(struct cli *cli, struct opt_strings *out)
{
	const char *v;

	for (size_t i = 0;
	     (v = config_get_at(cli->settings, cli->env, "replica", i)); i++) {
		const char **p;

		if (!*v)
			continue;
		p = realloc(out->v, (out->n + 1) * sizeof(*p));
		if (!p)
			abort();
		out->v = p;
		out->v[out->n++] = v;
	}
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
	struct strata_lint_options lo = STRATA_LINT_OPTIONS_INIT;
	struct strata_run_result res = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	bool is_backup = false, is_no_backup = false;
	bool is_verify = false, is_no_verify = false, has_budget = false;
	double verify_budget = 0;
	const char *metrics_file = NULL, *dump_schema = NULL;
	struct opt_strings replicas = { NULL, 0 };
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
		{ 0, "verify", OPT_FLAG, &is_verify, NULL, NULL,
		  "afterwards, check the database as 'strata verify' does; exit 4 when it finds an error (the migrations stay applied)" },
		{ 0, "no-verify", OPT_FLAG, &is_no_verify, NULL, NULL,
		  "no verification, even when strata.conf says verify = true" },
		{ 0, "verify-budget", OPT_DURATION, &verify_budget, &has_budget,
		  "DURATION",
		  "the verification's time for every check together (default 30s)" },
		{ 0, "metrics-file", OPT_STRING, &metrics_file, NULL, "PATH",
		  "afterwards, write the migration metrics there for node_exporter's textfile collector, whatever the outcome" },
		{ 0, "dump-schema", OPT_STRING, &dump_schema, NULL, "FILE",
		  "after a successful run, write the schema to FILE (see 'strata schema dump'; strata.conf: dump_schema)" },
		{ 0, "replica", OPT_STRINGS, &replicas, NULL, "URL",
		  "a standby whose replay batch migrations' max-lag waits for, asked how far it has replayed (repeatable; strata.conf: replica)" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "run", usage, opts, &argc, &argv);

	if (!rc && argc)
		rc = cli_usage_error(cli, "run", "unexpected argument '%s'",
		                     argv[0]);
	else if (!rc && has_budget && verify_budget <= 0)
		rc = cli_usage_error(
		        cli, "run",
		        "--verify-budget must be a positive duration");
	if (rc) {
		free(replicas.v);
		return rc < 0 ? 0 : rc;
	}
	if (!replicas.n && cli->settings)
		add_config_replicas(cli, &replicas);
	ro.replicas = replicas.v;
	ro.n_replicas = replicas.n;
	is_verify = !ro.is_dry_run &&
	            (is_verify || (cli->is_verify_on_run && !is_no_verify));
	if (cli->format == FORMAT_JSON) {
		cli->events = json_array();
		cli->warnings = json_array();
		cli->findings = json_array();
	}
	cli->is_show_lint_warnings = ro.is_dry_run;
	cli_progress_init(cli);
	cli_lint_options(cli, &lo);
	ro.lint = &lo;
	if ((rc = cli_load_source_and_open_db(cli, true, true, &src, &db)))
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
	if (!dump_schema)
		dump_schema = cli->dump_schema;
	/* what the migrations made, for a team that reviews schema.sql */
	if (!ro.is_dry_run && dump_schema && *dump_schema &&
	    (rc = cli_schema_write(cli, db, src, dump_schema, false, false)))
		goto done;
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
		if (is_verify)
			rc = verify_after(cli, db, verify_budget, doc);
		cli_print_json(doc);
		goto done;
	}
	if (cli->verbosity >= 0) {
		if (!res.applied && !res.skipped && ro.has_target)
			printf("Nothing to apply up to the target version.\n");
		else if (!res.applied && !res.skipped)
			printf("Nothing to apply: the database is up to date.\n");
		else if (ro.is_dry_run)
			printf("%zu migration%s would be applied (dry run).\n",
			       res.applied, res.applied == 1 ? "" : "s");
		else
			printf("Applied %zu migration%s.\n", res.applied,
			       res.applied == 1 ? "" : "s");
	}
	if (is_verify) {
		fflush(stdout);
		rc = verify_after(cli, db, verify_budget, NULL);
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
	free(replicas.v);
	return rc;
}
