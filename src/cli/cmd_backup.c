/*
 * strata backup: back up the database (pg_dump -Fc, or SQLite's backup
 * API) with a manifest beside it; `backup verify FILE`, `backup list` and
 * `backup prune` (retention). Also run --backup's pre-migration backup.
 *
 * Test knobs read here, not in the library: STRATA_PG_BINDIR (the bin
 * directory of pg_dump and pg_restore) and STRATA_NOW (the time to act
 * at, "YYYY-MM-DDTHH:MM:SSZ" or Unix seconds).
 */
#include "cli.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const char usage[] =
        "[--kind full|schema|data] [--format custom|plain|directory [--jobs N]] [--dir DIR] [--tag TAG]\n"
        "       strata backup verify FILE [--restore-test]\n"
        "       strata backup list [--dir DIR]\n"
        "       strata backup prune [--dry-run] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-pre-migration DURATION] [--dir DIR]";

const char *cli_pg_bindir(void)
{
	const char *d = getenv("STRATA_PG_BINDIR");

	return d && *d ? d : NULL;
}

/* STRATA_NOW, else 0 (the library's "now"); 2 on a bad value. */
static int knob_now(struct cli *cli, const char *cmd, int64_t *out)
{
	const char *v = getenv("STRATA_NOW");

	*out = 0;
	if (v && *v && strata_time_parse(out, v) < 0)
		return cli_usage_error(
		        cli, cmd,
		        "STRATA_NOW wants YYYY-MM-DDTHH:MM:SSZ or Unix seconds, not '%s'",
		        v);
	return 0;
}

const char *cli_backup_dir(struct cli *cli, const char *given)
{
	if (given && *given)
		return given;
	return cli->backup_dir ? cli->backup_dir : STRATA_DEFAULT_BACKUP_DIR;
}

json_t *cli_backup_json(const struct strata_backup *b)
{
	json_t *o = json_object(), *pending = json_array(),
	       *tables = json_array();

	json_object_set_new(o, "file", cli_json_text(b->path));
	json_object_set_new(o, "manifest", cli_json_text(b->manifest_path));
	json_object_set_new(o, "driver", json_string(b->driver));
	json_object_set_new(o, "database",
	                    b->database ? cli_json_text(b->database)
	                                : json_null());
	json_object_set_new(o, "kind",
	                    json_string(strata_backup_kind_name(b->kind)));
	json_object_set_new(o, "format",
	                    json_string(strata_backup_format_name(b->format)));
	json_object_set_new(o, "created_at", cli_json_text(b->created));
	json_object_set_new(o, "size", json_integer((json_int_t)b->size));
	json_object_set_new(o, "sha256", json_string(b->sha256));
	json_object_set_new(o, "server_version",
	                    b->server_version ? cli_json_text(b->server_version)
	                                      : json_null());
	json_object_set_new(o, "tool",
	                    b->tool ? cli_json_text(b->tool) : json_null());
	json_object_set_new(o, "strata_version",
	                    b->strata_version ? json_string(b->strata_version)
	                                      : json_null());
	json_object_set_new(o, "newest_applied_version",
	                    b->newest_applied ? json_integer(b->newest_applied)
	                                      : json_null());
	json_object_set_new(o, "tag",
	                    b->tag ? cli_json_text(b->tag) : json_null());
	json_object_set_new(o, "pre_migration",
	                    json_boolean(b->is_pre_migration));
	for (size_t i = 0; i < b->n_pending; i++)
		json_array_append_new(pending, json_integer(b->pending[i]));
	json_object_set_new(o, "pending_versions", pending);
	for (size_t i = 0; i < b->n_tables; i++) {
		json_t *t = json_object();

		json_object_set_new(t, "name",
		                    cli_json_text(b->tables[i].name));
		json_object_set_new(t, "rows", json_integer(b->tables[i].rows));
		json_array_append_new(tables, t);
	}
	json_object_set_new(o, "tables", tables);
	json_object_set_new(o, "file_missing",
	                    json_boolean(b->is_file_missing));
	return o;
}

static void print_created(struct cli *cli, const struct strata_backup *b)
{
	char size[32];

	if (cli->format == FORMAT_JSON) {
		cli_print_json(cli_backup_json(b));
		return;
	}
	if (cli->verbosity < 0)
		return;
	cli_format_size(size, sizeof(size), b->size);
	printf("Backed up to %s (%s, %s%s%s, %zu table%s", cli_safe(b->path),
	       size, strata_backup_kind_name(b->kind),
	       b->format != STRATA_BACKUP_FORMAT_CUSTOM ? ", " : "",
	       b->format != STRATA_BACKUP_FORMAT_CUSTOM
	               ? strata_backup_format_name(b->format)
	               : "",
	       b->n_tables, b->n_tables == 1 ? "" : "s");
	if (b->newest_applied)
		printf(", newest applied migration %" PRId64,
		       b->newest_applied);
	printf(").\nManifest: %s\n", cli_safe(b->manifest_path));
}

static int create(struct cli *cli, int argc, char **argv)
{
	struct strata_backup_options bo = STRATA_BACKUP_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_backup *b = NULL;
	struct strata_db *db = NULL;
	const char *kind = NULL, *dir = NULL, *tag = NULL;
	const struct opt opts[] = {
		{ 0, "kind", OPT_STRING, &kind, NULL, "full|schema|data",
		  "what to back up (default: full)" },
		{ 0, "dir", OPT_STRING, &dir, NULL, "DIR",
		  "where backups go (default: backup_dir of strata.conf, else " STRATA_DEFAULT_BACKUP_DIR
		  ")" },
		{ 0, "tag", OPT_STRING, &tag, NULL, "TAG",
		  "a label, kept in the manifest and the file name" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "backup", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc) {
		static const char *const subs[] = { "verify", "list", "prune",
			                            NULL };
		const char *near = help_suggest(argv[0], subs);

		if (near)
			return help_unknown(cli, "backup", argv[0], subs);
		return cli_usage_error(
		        cli, "backup",
		        "unexpected argument '%s' (verify, list or prune come right after 'backup')",
		        argv[0]);
	}
	if (kind && strata_backup_kind_parse(&bo.kind, kind) < 0)
		return cli_usage_error(
		        cli, "backup",
		        "--kind wants full, schema or data, not '%s'", kind);
	if ((rc = knob_now(cli, "backup", &bo.now)) != 0)
		return rc;
	/* --format and --jobs are global options; a fleet's --jobs is the
	 * fleet's, one backup's is pg_dump's */
	bo.format = cli->backup_format;
	if (!cli->is_fleet_child && cli->fleet_jobs > 1) {
		if (bo.format != STRATA_BACKUP_FORMAT_DIRECTORY)
			return cli_usage_error(
			        cli, "backup",
			        "--jobs goes with --format directory: pg_dump runs jobs in parallel only into a directory");
		bo.jobs = cli->fleet_jobs;
	}
	bo.dir = cli_backup_dir(cli, dir);
	bo.tag = tag;
	bo.pg_bindir = cli_pg_bindir();
	/* a backup only reads: a mistyped SQLite path must fail as status's
	 * does, not leave an empty database and a backup of it */
	cli->is_read_only = true;
	if ((rc = cli_open_db(cli, &db)))
		goto done;
	if (strata_backup_create(&b, db, &bo, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	cli_end_progress(cli);
	print_created(cli, b);
done:
	strata_error_release(&err);
	strata_backup_free(b);
	strata_db_close(db);
	return rc;
}

/*
 * run --backup. The backup is taken before strata_migrate_run(), not
 * inside it under the migration lock: the pending versions are read
 * without the lock, so a runner that applies something between this
 * backup and our run would make the tag list a version that we then skip.
 * The backup is still a true restore point taken before any change of
 * ours, which is what it is for; and the migration lock is not held for
 * the length of a pg_dump, nor does the migrator need a hook for it.
 * Taking it under the lock (a callback in strata_run_options after the
 * history is read) would make the tag exact; it is the natural next step
 * once migrate.c settles.
 */
int cli_backup_before_run(struct cli *cli, struct strata_db *db,
                          const struct strata_source *src,
                          const struct strata_run_options *ro)
{
	struct strata_backup_options bo = STRATA_BACKUP_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_backup *b = NULL;
	char tag[256] = "pre-migration:";
	size_t len = strlen(tag);
	int64_t *pending = NULL;
	size_t n = 0;
	int rc = 0;

	if (strata_migrate_pending(&pending, &n, db, src, ro, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (!n)
		goto done; /* nothing to apply, nothing to protect */
	/* the versions about to run, as many as fit */
	for (size_t i = 0; i < n && len < sizeof(tag) - 48; i++)
		len += (size_t)snprintf(tag + len, sizeof(tag) - len,
		                        "%s%" PRId64, i ? "," : "", pending[i]);
	if (len >= sizeof(tag) - 48)
		snprintf(tag + len, sizeof(tag) - len, ",... (%zu migrations)",
		         n);
	if ((rc = knob_now(cli, "run", &bo.now)) != 0)
		goto done;
	bo.kind = STRATA_BACKUP_FULL;
	bo.dir = cli_backup_dir(cli, NULL);
	bo.tag = tag;
	bo.is_pre_migration = true;
	bo.pending = pending;
	bo.n_pending = n;
	bo.pg_bindir = cli_pg_bindir();
	if (strata_backup_create(&b, db, &bo, &err) < 0) {
		rc = cli_error(cli, &err);
		if (cli->format != FORMAT_JSON)
			fprintf(stderr,
			        "strata: nothing was applied: the pre-migration backup failed\n");
		goto done;
	}
	cli_end_progress(cli);
	if (cli->format == FORMAT_JSON) {
		cli->backup = cli_backup_json(b);
	} else {
		char size[32];

		cli_format_size(size, sizeof(size), b->size);
		cli_info(
		        cli,
		        "Backed up to %s (%s) before applying %zu migration%s.",
		        b->path, size, n, n == 1 ? "" : "s");
	}
done:
	strata_error_release(&err);
	strata_backup_free(b);
	free(pending);
	return rc;
}

static int verify(struct cli *cli, int argc, char **argv)
{
	struct strata_verify_options vo = STRATA_VERIFY_OPTIONS_INIT;
	struct strata_verify_result res = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_backup *b = NULL;
	const struct opt opts[] = {
		{ 0, "restore-test", OPT_FLAG, &vo.is_restore_test, NULL, NULL,
		  "also restore into a scratch database and compare row counts (PostgreSQL: on the server of --database)" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "backup verify",
	                           "FILE [--restore-test]", opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc != 1)
		return cli_usage_error(cli, "backup verify",
		                       argc ? "one backup file, please"
		                            : "which backup? Give its file");
	vo.url = cli->database;
	vo.pg_bindir = cli_pg_bindir();
	vo.on_event = cli_event;
	vo.event_data = cli;
	if (strata_backup_read(&b, argv[0], &err) < 0 ||
	    strata_backup_verify(&res, b, &vo, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object();

		json_object_set_new(doc, "file", cli_json_text(b->path));
		json_object_set_new(doc, "ok", json_true());
		json_object_set_new(doc, "sha256", json_string(b->sha256));
		json_object_set_new(doc, "entries",
		                    json_integer((json_int_t)res.n_entries));
		json_object_set_new(doc, "restore_tested",
		                    json_boolean(res.is_restore_tested));
		json_object_set_new(
		        doc, "tables_compared",
		        json_integer((json_int_t)res.n_tables_compared));
		cli_print_json(doc);
	} else if (cli->verbosity >= 0) {
		printf("%s: OK (SHA-256 matches the manifest; readable, %zu entr%s",
		       cli_safe(b->path), res.n_entries,
		       res.n_entries == 1 ? "y" : "ies");
		if (res.is_restore_tested)
			printf("; restore test: the row counts of %zu table%s match",
			       res.n_tables_compared,
			       res.n_tables_compared == 1 ? "" : "s");
		printf(").\n");
	}
done:
	strata_error_release(&err);
	strata_backup_free(b);
	return rc;
}

static int list(struct cli *cli, int argc, char **argv)
{
	struct strata_backup_list l = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	const char *dir = NULL;
	const struct opt opts[] = {
		{ 0, "dir", OPT_STRING, &dir, NULL, "DIR",
		  "where backups are (default: backup_dir of strata.conf, else " STRATA_DEFAULT_BACKUP_DIR
		  ")" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "backup list", "[--dir DIR]", opts,
	                           &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "backup list",
		                       "unexpected argument '%s'", argv[0]);
	if (strata_backup_list_load(&l, cli_backup_dir(cli, dir), &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object(), *items = json_array(),
		       *incomplete = json_array();

		for (size_t i = 0; i < l.n; i++)
			json_array_append_new(items,
			                      cli_backup_json(l.items[i]));
		for (size_t i = 0; i < l.n_incomplete; i++)
			json_array_append_new(incomplete,
			                      cli_json_text(l.incomplete[i]));
		json_object_set_new(doc, "backups", items);
		json_object_set_new(doc, "incomplete", incomplete);
		cli_print_json(doc);
		goto done;
	}
	if (!l.n)
		printf("No backups in %s.\n",
		       cli_safe(cli_backup_dir(cli, dir)));
	else
		printf("%-20s %-6s %-9s %-10s %-16s %-30s %s\n", "CREATED",
		       "KIND", "FORMAT", "SIZE", "NEWEST APPLIED", "TAG",
		       "FILE");
	for (size_t i = 0; i < l.n; i++) {
		const struct strata_backup *b = l.items[i];
		char size[32], newest[24] = "-";

		cli_format_size(size, sizeof(size), b->size);
		if (b->newest_applied)
			snprintf(newest, sizeof(newest), "%" PRId64,
			         b->newest_applied);
		printf("%-20s %-6s %-9s %-10s %-16s %-30s %s%s\n",
		       cli_safe(b->created), strata_backup_kind_name(b->kind),
		       strata_backup_format_name(b->format), size, newest,
		       b->tag ? cli_safe(b->tag) : "-", cli_safe(b->path),
		       b->is_file_missing ? " (file missing)" : "");
	}
	for (size_t i = 0; i < l.n_incomplete; i++)
		cli_warn(
		        cli,
		        "'%s' is an incomplete backup (prune removes it after a day)",
		        l.incomplete[i]);
done:
	strata_error_release(&err);
	strata_backup_list_release(&l);
	return rc;
}

static json_t *entries_json(const struct strata_prune_result *r, bool is_kept)
{
	json_t *a = json_array();

	for (size_t i = 0; i < r->n; i++) {
		const struct strata_prune_entry *e = &r->entries[i];
		json_t *o;

		if (e->is_kept != is_kept)
			continue;
		o = json_object();
		json_object_set_new(o, "file", cli_json_text(e->backup->path));
		json_object_set_new(o, "created_at",
		                    cli_json_text(e->backup->created));
		json_object_set_new(o, "reason", cli_json_text(e->reason));
		json_array_append_new(a, o);
	}
	return a;
}

/* --keep-daily N and the like: 0 keeps none. */
static int keep_arg(int64_t n)
{
	return n == 0 ? STRATA_KEEP_NONE : n > INT_MAX ? INT_MAX : (int)n;
}

static int prune(struct cli *cli, int argc, char **argv)
{
	struct strata_retention policy = STRATA_RETENTION_INIT;
	struct strata_prune_result r = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	int64_t daily = STRATA_DEFAULT_KEEP_DAILY,
	        weekly = STRATA_DEFAULT_KEEP_WEEKLY,
	        monthly = STRATA_DEFAULT_KEEP_MONTHLY;
	double keep_pre = 0;
	bool has_keep_pre = false;
	const char *dir = NULL;
	const struct opt opts[] = {
		{ 0, "dry-run", OPT_FLAG, &policy.is_dry_run, NULL, NULL,
		  "say what would be removed, remove nothing" },
		{ 0, "keep-daily", OPT_INT64, &daily, NULL, "N",
		  "the newest backup of each of the newest N days (default " STRATA_STR(
		          STRATA_DEFAULT_KEEP_DAILY) ")" },
		{ 0, "keep-weekly", OPT_INT64, &weekly, NULL, "N",
		  "the newest of each of the newest N ISO weeks (default " STRATA_STR(
		          STRATA_DEFAULT_KEEP_WEEKLY) ")" },
		{ 0, "keep-monthly", OPT_INT64, &monthly, NULL, "N",
		  "the newest of each of the newest N months (default " STRATA_STR(
		          STRATA_DEFAULT_KEEP_MONTHLY) ")" },
		{ 0, "keep-pre-migration", OPT_DURATION, &keep_pre,
		  &has_keep_pre, "DURATION",
		  "pre-migration backups younger than this (default " STRATA_STR(
		          STRATA_DEFAULT_KEEP_PRE_MIGRATION_DAYS) "d; 'forever')" },
		{ 0, "dir", OPT_STRING, &dir, NULL, "DIR",
		  "where backups are (default: backup_dir of strata.conf, else " STRATA_DEFAULT_BACKUP_DIR
		  ")" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "backup prune", "[options]", opts,
	                           &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "backup prune",
		                       "unexpected argument '%s'", argv[0]);
	if ((rc = knob_now(cli, "backup prune", &policy.now)) != 0)
		return rc;
	/* the command line's 0 keeps none, the library's is the default */
	policy.keep_daily = keep_arg(daily);
	policy.keep_weekly = keep_arg(weekly);
	policy.keep_monthly = keep_arg(monthly);
	if (has_keep_pre)
		policy.keep_pre_migration =
		        keep_pre == 0 ? STRATA_KEEP_NONE : keep_pre;
	if (strata_backup_prune(&r, cli_backup_dir(cli, dir), &policy, &err) <
	    0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object(), *inc = json_array();

		for (size_t i = 0; i < r.n_removed_incomplete; i++)
			json_array_append_new(
			        inc, cli_json_text(r.removed_incomplete[i]));
		json_object_set_new(doc, "dry_run",
		                    json_boolean(policy.is_dry_run));
		json_object_set_new(doc, "kept", entries_json(&r, true));
		json_object_set_new(doc, "removed", entries_json(&r, false));
		json_object_set_new(doc, "removed_incomplete", inc);
		cli_print_json(doc);
		goto done;
	}
	if (cli->verbosity < 0)
		goto done;
	for (size_t i = 0; i < r.n; i++) {
		const struct strata_prune_entry *e = &r.entries[i];

		printf("%-12s %s (%s)\n",
		       e->is_kept          ? "keep"
		       : policy.is_dry_run ? "would remove"
		                           : "removed",
		       cli_safe(e->backup->path), cli_safe(e->reason));
	}
	for (size_t i = 0; i < r.n_removed_incomplete; i++)
		printf("%-12s %s (incomplete, over a day old)\n",
		       policy.is_dry_run ? "would remove" : "removed",
		       cli_safe(r.removed_incomplete[i]));
	printf("%zu kept, %zu %s%s.\n", r.n_kept, r.n_removed,
	       policy.is_dry_run ? "to remove" : "removed",
	       policy.is_dry_run ? " (dry run: nothing was removed)" : "");
done:
	strata_error_release(&err);
	strata_prune_result_release(&r);
	return rc;
}

int cmd_backup(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return verify(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return list(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "prune") == 0)
		return prune(cli, argc - 1, argv + 1);
	return create(cli, argc, argv);
}
