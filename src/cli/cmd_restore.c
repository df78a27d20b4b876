/*
 * strata restore FILE: the backup is verified first (size, SHA-256, that
 * pg_restore or SQLite reads it), then restored into the database, or
 * --into another one (created when missing). A non-empty target is
 * refused unless --clean, and overwriting one asks first unless --yes.
 * Instead of FILE, --latest, --before TIME or --tag TAG choose the newest
 * backup of the database and kind that fits, by the manifests of the
 * backup directory.
 */
#include "cli.h"

#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

static const char usage[] =
        "FILE|--latest|--before TIME|--tag TAG [--kind KIND] [--dir DIR] [--into URL|NAME] [--clean [--keep-old]] [--yes]";

struct choice {
	bool is_latest;
	const char *before; /* TIME, as given */
	const char *tag;
	const char *kind; /* NAME, as given */
	const char *dir;
};

/*
 * The newest complete backup of the database (its redacted URL, as its
 * manifest records it) and kind that was taken before `c->before` and
 * carries `c->tag`, read from its manifest into `*out`.
 */
static int choose(struct strata_backup **out, struct cli *cli,
                  const struct choice *c, struct strata_error *err)
{
	enum strata_backup_kind kind = STRATA_BACKUP_FULL;
	struct strata_backup_list l = { 0 };
	const struct strata_backup *best = NULL;
	const char *dir = cli_backup_dir(cli, c->dir);
	char *database = NULL;
	size_t n_other = 0;
	int64_t before = INT64_MAX;
	int rc = -1;

	if (c->kind && strata_backup_kind_parse(&kind, c->kind) < 0)
		return strata_error_set(
		        err, STRATA_EUSAGE,
		        "--kind wants full, schema or data, not '%s'", c->kind);
	if (c->before && strata_time_parse(&before, c->before) < 0)
		return strata_error_set(
		        err, STRATA_EUSAGE,
		        "--before wants a time as YYYY-MM-DDTHH:MM:SSZ or Unix seconds, not '%s'",
		        c->before);
	if (!cli->database)
		return strata_error_set(
		        err, STRATA_EUSAGE,
		        "which database's backup? Give --database (or DATABASE_URL)");
	database = strata_url_redact(cli->database);
	if (strata_backup_list_load(&l, dir, err) < 0)
		goto done;
	for (size_t i = 0; i < l.n; i++) {
		const struct strata_backup *b = l.items[i];

		if (!b->database || strcmp(b->database, database) ||
		    b->kind != kind || b->is_file_missing) {
			n_other++;
			continue;
		}
		if (b->created_at > before ||
		    (c->tag && (!b->tag || strcmp(b->tag, c->tag))))
			continue;
		/* oldest first: the last to fit is the newest */
		best = b;
	}
	if (!best) {
		strata_error_set(err, STRATA_EFAILED,
		                 "no %s backup of '%s'%s%s%s%s%s in %s",
		                 strata_backup_kind_name(kind), database,
		                 c->tag ? " tagged '" : "",
		                 c->tag ? c->tag : "", c->tag ? "'" : "",
		                 c->before ? " taken before " : "",
		                 c->before ? c->before : "", dir);
		strata_error_hint(
		        err,
		        "strata backup list --dir '%s' shows the backups there (%zu of other databases or kinds, or whose file is gone); restore one by its file.",
		        dir, n_other);
		goto done;
	}
	rc = strata_backup_read(out, best->manifest_path, err);
done:
	strata_backup_list_release(&l);
	free(database);
	return rc;
}

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
	struct choice c = { 0 };
	const struct opt opts[] = {
		{ 0, "latest", OPT_FLAG, &c.is_latest, NULL, NULL,
		  "the newest complete backup of the database and --kind, by the manifests in --dir" },
		{ 0, "before", OPT_STRING, &c.before, NULL, "TIME",
		  "the newest taken at or before TIME (YYYY-MM-DDTHH:MM:SSZ, or Unix seconds)" },
		{ 0, "tag", OPT_STRING, &c.tag, NULL, "TAG",
		  "the newest tagged TAG (strata backup --tag)" },
		{ 0, "kind", OPT_STRING, &c.kind, NULL, "KIND",
		  "with --latest, --before or --tag: full (default), schema or data" },
		{ 0, "dir", OPT_STRING, &c.dir, NULL, "DIR",
		  "where backups are (default: backup_dir of strata.conf, else " STRATA_DEFAULT_BACKUP_DIR
		  ")" },
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

	bool is_chosen;

	if (rc)
		return rc < 0 ? 0 : rc;
	is_chosen = c.is_latest || c.before || c.tag;
	if (is_chosen && argc)
		return cli_usage_error(
		        cli, "restore",
		        "a backup file or --latest, --before, --tag: not both");
	if (!is_chosen && argc != 1)
		return cli_usage_error(
		        cli, "restore",
		        argc ? "one backup file, please"
		             : "which backup? Give its file, or --latest");
	if (!is_chosen && (c.kind || c.dir))
		return cli_usage_error(
		        cli, "restore",
		        "--kind and --dir choose among backups: they go with --latest, --before or --tag");
	/* asking needs a terminal; without one, --yes or a refusal */
	ro.confirm = isatty(STDIN_FILENO) ? ask : NULL;
	if (ro.is_keep_old && !ro.is_clean)
		return cli_usage_error(cli, "restore",
		                       "--keep-old goes with --clean");
	ro.pg_bindir = cli_pg_bindir();
	ro.command = cli->command_line;
	ro.table = cli->table;
	ro.lock_wait = cli->lock_wait;
	/* the global --jobs: pg_restore's for a directory-format dump */
	ro.jobs = cli->fleet_jobs;
	ro.out_kept = &kept;
	ro.on_event = cli_event;
	ro.event_data = cli;
	if (is_chosen && choose(&b, cli, &c, &err) == 0)
		cli_info(cli, "Chose %s (taken %s%s%s%s).", cli_safe(b->path),
		         cli_safe(b->created), b->tag ? ", tagged '" : "",
		         b->tag ? cli_safe(b->tag) : "", b->tag ? "'" : "");
	if ((is_chosen ? (b ? 0 : -1) : strata_backup_open(&b, argv[0], &err)) <
	            0 ||
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
