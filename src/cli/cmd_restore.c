/*
 * strata restore FILE: the backup is verified first (size, SHA-256, that
 * pg_restore or SQLite reads it), then restored into the database, or
 * --into another one (created when missing). A non-empty target is
 * refused unless --clean, and overwriting one asks first unless --yes.
 */
#include "cli.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

static const char usage[] =
        "FILE [--into URL|NAME] [--clean [--keep-old]] [--yes]";

static bool ask(const char *question, void *data)
{
	char line[16];

	(void)data;
	fprintf(stderr, "%s [y/N] ", question);
	return fgets(line, sizeof(line), stdin) &&
	       (line[0] == 'y' || line[0] == 'Y');
}

int cmd_restore(struct cli *cli, int argc, char **argv)
{
	struct strata_restore_options ro = STRATA_RESTORE_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_backup *b = NULL;
	char *target = NULL, *kept = NULL;
	const struct opt opts[] = {
		{ 0, "into", OPT_STRING, &ro.into, NULL, "URL|NAME",
		  "restore into this database: a URL, or a database name on the server of --database (SQLite: a file); created when missing" },
		{ 0, "clean", OPT_FLAG, &ro.is_clean, NULL, NULL,
		  "replace a non-empty target (PostgreSQL: restored into a new database, then swapped in; without CREATEDB, in one transaction inside it)" },
		{ 0, "keep-old", OPT_FLAG, &ro.is_keep_old, NULL, NULL,
		  "with --clean on PostgreSQL: keep the replaced database, renamed, instead of dropping it" },
		{ 'y', "yes", OPT_FLAG, &ro.is_yes, NULL, NULL,
		  "overwrite without asking" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "restore", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc != 1)
		return cli_usage_error(cli, "restore",
		                       argc ? "one backup file, please"
		                            : "which backup? Give its file");
	/* asking needs a terminal; without one, --yes or a refusal */
	ro.confirm = isatty(STDIN_FILENO) ? ask : NULL;
	if (ro.is_keep_old && !ro.is_clean)
		return cli_usage_error(cli, "restore",
		                       "--keep-old goes with --clean");
	ro.pg_bindir = cli_pg_bindir();
	ro.command = cli->command_line;
	ro.table = cli->table;
	ro.lock_wait = cli->lock_wait;
	ro.out_kept = &kept;
	ro.on_event = cli_event;
	ro.event_data = cli;
	if (strata_backup_read(&b, argv[0], &err) < 0 ||
	    strata_backup_restore(&target, b, cli->database, &ro, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object();

		json_object_set_new(doc, "file", cli_json_text(b->path));
		json_object_set_new(doc, "into", cli_json_text(target));
		json_object_set_new(doc, "created_at",
		                    cli_json_text(b->created));
		json_object_set_new(doc, "newest_applied_version",
		                    b->newest_applied
		                            ? json_integer(b->newest_applied)
		                            : json_null());
		json_object_set_new(doc, "kept",
		                    kept ? cli_json_text(kept) : json_null());
		cli_print_json(doc);
	} else if (cli->verbosity >= 0) {
		printf("Restored %s (taken %s", cli_safe(b->path),
		       cli_safe(b->created));
		if (b->newest_applied)
			printf(", newest applied migration %" PRId64,
			       b->newest_applied);
		printf(") into '%s'.\n", cli_safe(target));
		if (kept)
			printf("The database as it was before is kept as '%s'.\n",
			       cli_safe(kept));
	}
done:
	strata_error_release(&err);
	strata_backup_free(b);
	free(target);
	free(kept);
	return rc;
}
