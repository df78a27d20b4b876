/*
 * strata convert --to sqlx: another tool's folder rewritten into sqlx's
 * layout and, with a database, the history copied into sqlx's table
 * (strata_convert()). Prints the plan: each old name and its new one, and
 * the rows copied.
 */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

#include "util/banned.h"

static const char usage[] = "--to sqlx [--out DIR] [--dry-run]";

static void print_json(const struct strata_convert_result *r, bool is_dry_run)
{
	json_t *doc = json_object(), *files = json_array();
	json_t *skipped = json_array(), *copied = json_array();

	for (size_t i = 0; i < r->n_files; i++) {
		const struct strata_convert_file *f = &r->files[i];
		json_t *o = json_object();

		json_object_set_new(o, "old_version",
		                    cli_json_text(f->old_version));
		json_object_set_new(o, "version", json_integer(f->version));
		json_object_set_new(o, "old_file", cli_json_text(f->old_path));
		json_object_set_new(o, "old_down_file",
		                    f->old_down_path
		                            ? cli_json_text(f->old_down_path)
		                            : json_null());
		json_object_set_new(o, "file", cli_json_text(f->up_name));
		json_object_set_new(o, "down_file",
		                    f->down_name ? cli_json_text(f->down_name)
		                                 : json_null());
		json_object_set_new(o, "no_transaction_added",
		                    json_boolean(f->is_no_transaction_added));
		json_object_set_new(o, "placeholders_replaced",
		                    json_boolean(f->is_placeholders_replaced));
		json_array_append_new(files, o);
	}
	for (size_t i = 0; i < r->n_skipped; i++)
		json_array_append_new(skipped, cli_json_text(r->skipped[i]));
	for (size_t i = 0; i < r->n_copied; i++)
		json_array_append_new(copied, json_integer(r->copied[i]));
	json_object_set_new(doc, "out", cli_json_text(r->out_dir));
	json_object_set_new(doc, "dry_run", json_boolean(is_dry_run));
	json_object_set_new(doc, "folder_already_written",
	                    json_boolean(r->is_folder_same));
	json_object_set_new(doc, "files", files);
	json_object_set_new(doc, "skipped", skipped);
	if (r->has_db) {
		json_object_set_new(doc, "rows_copied", copied);
		json_object_set_new(doc, "rows_already_there",
		                    json_integer((json_int_t)r->n_same));
	} else {
		json_decref(copied);
	}
	cli_print_json(doc);
}

static void print_text(const struct strata_convert_result *r, bool is_dry_run)
{
	const char *would = is_dry_run ? "Would write" : "Wrote";
	size_t n_replaced = 0;

	if (r->is_folder_same)
		printf("%s holds these files already:\n", cli_safe(r->out_dir));
	else
		printf("%s %s:\n", would, cli_safe(r->out_dir));
	for (size_t i = 0; i < r->n_files; i++) {
		const struct strata_convert_file *f = &r->files[i];

		printf("  %s -> %s%s\n", cli_safe(f->old_path),
		       cli_safe(f->up_name),
		       f->is_no_transaction_added ? " (-- no-transaction)"
		                                  : "");
		if (f->down_name)
			printf("  %s -> %s\n",
			       cli_safe(f->old_down_path ? f->old_down_path
			                                 : f->old_path),
			       cli_safe(f->down_name));
		n_replaced += f->is_placeholders_replaced;
	}
	if (n_replaced)
		printf("%zu file%s written with Flyway's placeholders replaced by the values given.\n",
		       n_replaced, n_replaced == 1 ? "" : "s");
	for (size_t i = 0; i < r->n_skipped; i++)
		printf("Left out %s: a repeatable migration, which sqlx has no form of.\n",
		       cli_safe(r->skipped[i]));
	if (!r->has_db)
		return;
	if (!r->n_copied && r->n_same) {
		printf("sqlx's history holds the %zu applied migration%s already: nothing to copy.\n",
		       r->n_same, r->n_same == 1 ? "" : "s");
		return;
	}
	if (!r->n_copied) {
		printf("No applied migration to copy into sqlx's history.\n");
		return;
	}
	printf("%s %zu row%s into sqlx's history (versions",
	       is_dry_run ? "Would copy" : "Copied", r->n_copied,
	       r->n_copied == 1 ? "" : "s");
	/* a few by name; a whole folder's as its range (JSON has each) */
	if (r->n_copied <= 8) {
		for (size_t i = 0; i < r->n_copied; i++)
			printf("%s %" PRId64, i ? "," : "", r->copied[i]);
	} else {
		printf(" %" PRId64 " to %" PRId64, r->copied[0],
		       r->copied[r->n_copied - 1]);
	}
	printf("); the old tool's table is left as it was.\n");
}

int cmd_convert(struct cli *cli, int argc, char **argv)
{
	struct strata_convert_options co = STRATA_CONVERT_OPTIONS_INIT;
	struct strata_convert_result r = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	const char *to = NULL;
	const struct opt opts[] = {
		{ 0, "to", OPT_STRING, &to, NULL, "sqlx",
		  "the layout to write (sqlx, the only one)" },
		{ 'o', "out", OPT_STRING, &co.out_dir, NULL, "DIR",
		  "the folder to write, new or empty (default: SOURCE-sqlx)" },
		{ 0, "dry-run", OPT_FLAG, &co.is_dry_run, NULL, NULL,
		  "print the plan, write nothing" },
		{ 0, "skip-repeatables", OPT_FLAG, &co.is_skip_repeatables,
		  NULL, NULL,
		  "leave Flyway's repeatable migrations out instead of refusing" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "convert", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "convert",
		                       "unexpected argument '%s'", argv[0]);
	if (!to)
		return cli_usage_error(cli, "convert",
		                       "say the layout to write: --to sqlx");
	if (strcmp(to, "sqlx"))
		return cli_usage_error(
		        cli, "convert",
		        "--to wants sqlx (the only layout strata converts to), not '%s'",
		        to);
	if ((rc = cli_load_source(cli, &src)) ||
	    (cli->database && (rc = cli_open_db(cli, &db))))
		goto done;
	if (strata_convert(&r, db, src, &co, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (cli->format == FORMAT_JSON)
		print_json(&r, co.is_dry_run);
	else if (cli->verbosity >= 0)
		print_text(&r, co.is_dry_run);
done:
	strata_convert_result_release(&r);
	strata_error_release(&err);
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}
