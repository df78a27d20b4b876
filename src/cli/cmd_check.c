/*
 * strata check: one exit code for start-up gates, health checks and CI
 * (0 up to date, 3 pending, 4 history disagrees with the source).
 */
#include "cli.h"

#include <inttypes.h>

#include "util/banned.h"

static const char usage[] = "";

static const char *verdict_name(enum strata_code code)
{
	switch (code) {
	case STRATA_OK:
		return "up-to-date";
	case STRATA_EPENDING:
		return "pending";
	default:
		return "invalid";
	}
}

int cmd_check(struct cli *cli, int argc, char **argv)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_status *st = NULL;
	struct strata_db *db = NULL;
	const struct opt opts[] = { OPT_END };
	enum strata_code verdict;
	int rc = cli_parse_options(cli, "check", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "check", "unexpected argument '%s'",
		                       argv[0]);
	if ((rc = cli_read_status(cli, false, &src, &db, &st)))
		goto done;
	verdict = strata_status_verdict(st);
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object();

		json_object_set_new(doc, "status",
		                    json_string(verdict_name(verdict)));
		cli_json_counts(doc, st);
		cli_print_json(doc);
	} else if (cli->verbosity >= 0) {
		if (verdict == STRATA_OK)
			printf("Up to date: %zu migration%s applied.\n",
			       st->n_applied, st->n_applied == 1 ? "" : "s");
		else if (verdict == STRATA_EPENDING)
			printf("%zu migration%s pending.\n", st->n_pending,
			       st->n_pending == 1 ? "" : "s");
		else
			printf("The history disagrees with the source: %zu failed, %zu changed after applying, %zu missing from the source. Run 'strata status' for details.\n",
			       st->n_failed, st->n_mismatch, st->n_missing);
	}
	rc = cli_exit_code(verdict);
done:
	strata_error_release(&err);
	strata_status_free(st);
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}
