/*
 * strata mark-applied V and strata baseline V: record migrations as
 * applied without running them (adopting an existing database), with the
 * rows sqlx would write, audited.
 */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

#include "util/banned.h"

static int record(struct cli *cli, const char *name, bool is_baseline, int argc,
                  char **argv)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	const struct opt opts[] = { OPT_END };
	const struct strata_migration *m;
	const char *shown;
	size_t count = 0;
	int64_t version;
	int rc = cli_parse_options(cli, name, "V", opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc != 1 || cli_parse_version(&version, argv[0]) < 0)
		return cli_usage_error(
		        cli, name, "one version, please (a number, 0 or more)");
	if ((rc = cli_load_source_and_open_db(cli, false, true, &src, &db)))
		goto done;
	if (strata_mark_applied(&count, db, src, version, is_baseline, &err) <
	    0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	/* the version as the layout writes it (Flyway's 1.2, R__NAME):
	 * `version` may be an order key */
	m = strata_source_find(src, strata_source_version_key(src, version));
	shown = m && m->version_text ? m->version_text : argv[0];
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object();

		json_object_set_new(doc, "version", json_integer(version));
		json_object_set_new(doc, "version_text", cli_json_text(shown));
		json_object_set_new(doc, "recorded",
		                    json_integer((json_int_t)count));
		cli_print_json(doc);
	} else if (cli->verbosity >= 0) {
		if (is_baseline)
			printf("Recorded %zu migration%s up to %s as applied, without running them.\n",
			       count, count == 1 ? "" : "s", cli_safe(shown));
		else
			printf("Recorded migration %s as applied, without running it.\n",
			       cli_safe(shown));
	}
done:
	strata_error_release(&err);
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}

int cmd_mark_applied(struct cli *cli, int argc, char **argv)
{
	return record(cli, "mark-applied", false, argc, argv);
}

int cmd_baseline(struct cli *cli, int argc, char **argv)
{
	return record(cli, "baseline", true, argc, argv);
}
