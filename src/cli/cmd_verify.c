/*
 * strata verify: the integrity of the live database after a deploy
 * (design.md, Commands): invalid indexes, NOT VALID constraints and their
 * orphaned rows, sequences behind their column, duplicate indexes, tables
 * without a primary key, disabled triggers, and with --deep amcheck. Read
 * only, within --budget. Findings in the compiler style, each followed by
 * the SQL that fixes it; exit 4 when one is an error. run --verify prints
 * the same report after its migrations are committed.
 */
#include "cli.h"

#include <string.h>

#include "util/banned.h"

static const char usage[] = "[--budget DURATION] [--deep]";

void cli_verify_print(struct cli *cli, const struct strata_db_report *r)
{
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct strata_db_finding *f = &r->findings[i];
		const char *color =
		        f->severity == STRATA_SEVERITY_ERROR ? "31" : "33";
		const char *p;

		printf("%s%s:%s %s%s:%s %s [%s]\n", cli_color(cli, false, "1"),
		       cli_safe(f->object), cli_color(cli, false, NULL),
		       cli_color(cli, false, color),
		       strata_severity_name(f->severity),
		       cli_color(cli, false, NULL), cli_safe(f->message),
		       f->check);
		if (!f->fix)
			continue;
		/* a statement a line, each indented under the first */
		p = cli_safe_lines(f->fix);
		fputs("  fix: ", stdout);
		while (*p) {
			size_t n = strcspn(p, "\n");

			fwrite(p, 1, n, stdout);
			p += n;
			if (*p && *++p)
				fputs("\n       ", stdout);
		}
		fputc('\n', stdout);
	}
	fflush(stdout);
	if (r->n_errors || r->n_warnings)
		cli_info(
		        cli,
		        "%zu error%s, %zu warning%s (%zu check%s ran in %.2f s).",
		        r->n_errors, r->n_errors == 1 ? "" : "s", r->n_warnings,
		        r->n_warnings == 1 ? "" : "s", r->n_checks,
		        r->n_checks == 1 ? "" : "s", r->seconds);
	else
		cli_info(cli, "No problems (%zu check%s ran in %.2f s).",
		         r->n_checks, r->n_checks == 1 ? "" : "s", r->seconds);
	if (r->n_not_run)
		cli_info(
		        cli,
		        "  hint: %zu check%s did not run within the budget; raise --budget to run %s.",
		        r->n_not_run, r->n_not_run == 1 ? "" : "s",
		        r->n_not_run == 1 ? "it" : "them");
}

json_t *cli_verify_json(const struct strata_db_report *r)
{
	json_t *doc = json_object(), *list = json_array(), *skip = json_array();

	for (size_t i = 0; i < r->n_findings; i++) {
		const struct strata_db_finding *f = &r->findings[i];
		json_t *o = json_object();

		json_object_set_new(o, "check", json_string(f->check));
		json_object_set_new(
		        o, "severity",
		        json_string(strata_severity_name(f->severity)));
		json_object_set_new(o, "object", cli_json_text(f->object));
		json_object_set_new(o, "message", cli_json_text(f->message));
		json_object_set_new(
		        o, "fix", f->fix ? cli_json_text(f->fix) : json_null());
		json_array_append_new(list, o);
		if (!strcmp(f->check, "not-run"))
			json_array_append_new(skip, cli_json_text(f->object));
	}
	json_object_set_new(doc, "errors",
	                    json_integer((json_int_t)r->n_errors));
	json_object_set_new(doc, "warnings",
	                    json_integer((json_int_t)r->n_warnings));
	json_object_set_new(doc, "checks",
	                    json_integer((json_int_t)r->n_checks));
	json_object_set_new(doc, "not_run", skip);
	json_object_set_new(doc, "seconds", json_real(r->seconds));
	json_object_set_new(doc, "findings", list);
	return doc;
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	struct strata_db_verify_options vo = STRATA_DB_VERIFY_OPTIONS_INIT;
	struct strata_db_report report = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_db *db = NULL;
	bool has_budget = false;
	const struct opt opts[] = {
		{ 0, "budget", OPT_DURATION, &vo.budget, &has_budget,
		  "DURATION",
		  "time for every check together (default 30s); a check left out is reported, never passed over" },
		{ 0, "deep", OPT_FLAG, &vo.is_deep, NULL, NULL,
		  "also check every B-tree index with amcheck's bt_index_check() (PostgreSQL, when the extension is installed)" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "verify", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "verify",
		                       "unexpected argument '%s'", argv[0]);
	if (has_budget && vo.budget <= 0)
		return cli_usage_error(cli, "verify",
		                       "--budget must be a positive duration");
	cli->is_read_only = true;
	if ((rc = cli_open_db(cli, &db)))
		goto done;
	if (strata_db_verify(&report, db, &vo, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (cli->format == FORMAT_JSON)
		cli_print_json(cli_verify_json(&report));
	else
		cli_verify_print(cli, &report);
	rc = report.n_errors ? EXIT_VALIDATE : EXIT_OK;
done:
	strata_db_report_release(&report);
	strata_error_release(&err);
	strata_db_close(db);
	return rc;
}
