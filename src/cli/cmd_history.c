/*
 * strata history: the audit trail — who applied, reverted or repaired
 * what, when, from where, for how long, and how it ended.
 */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

#include "util/banned.h"

static const char usage[] =
        "[--version V] [--action ACTION] [--since DATE] [--limit N]";

static void set_str(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, v ? cli_json_text(v) : json_null());
}

json_t *cli_json_audit_row(const struct strata_audit_row *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(r->id));
	set_str(o, "action", r->action);
	json_object_set_new(o, "version",
	                    r->has_version ? json_integer(r->version)
	                                   : json_null());
	set_str(o, "version_text", r->version_text);
	set_str(o, "description", r->description);
	set_str(o, "outcome", r->outcome);
	/* the column holds a failure's error, or a success's note */
	if (r->outcome && !strcmp(r->outcome, "success")) {
		set_str(o, "error", NULL);
		set_str(o, "note", r->error);
	} else {
		set_str(o, "error", r->error);
		set_str(o, "note", NULL);
	}
	set_str(o, "sqlstate", r->sqlstate);
	set_str(o, "started_at", r->started_at);
	set_str(o, "finished_at", r->finished_at);
	json_object_set_new(o, "duration_ns", json_integer(r->duration_ns));
	json_object_set_new(o, "lock_wait_ns", json_integer(r->lock_wait_ns));
	set_str(o, "os_user", r->os_user);
	set_str(o, "db_user", r->db_user);
	set_str(o, "host", r->host);
	json_object_set_new(o, "pid", json_integer(r->pid));
	set_str(o, "strata_version", r->strata_version);
	set_str(o, "command", r->command);
	set_str(o, "git_commit", r->git_commit);
	json_object_set_new(o, "has_down_sql", json_boolean(r->has_down_sql));
	return o;
}

/*
 * The source, when it can be read, to show a version as its layout writes
 * it (diesel's and Flyway's are recorded as their order keys); NULL
 * otherwise: the trail does not need the files.
 */
static struct strata_source *quiet_source(struct cli *cli)
{
	struct strata_source_options opts = STRATA_SOURCE_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;

	opts.max_file_size = cli->max_file_size;
	opts.layout = cli->layout;
	opts.placeholders = cli->placeholders;
	opts.n_placeholders = cli->n_placeholders;
	opts.is_checksums_only = true;
	if (strata_source_load(&src, cli->source, &opts, &err) < 0)
		src = NULL;
	strata_error_release(&err);
	return src;
}

/*
 * The migration of a row from before the trail kept version_text: by its
 * key, but a repeatable by its description, as its key shifts when
 * repeatables are added.
 */
static const struct strata_migration *
row_migration(const struct strata_source *src, const struct strata_audit_row *r)
{
	bool is_repeatable = r->version >= STRATA_VERSION_REPEATABLE &&
	                     r->version < STRATA_VERSION_FLYWAY_KEY;

	for (size_t i = 0; is_repeatable && src && i < strata_source_count(src);
	     i++) {
		const struct strata_migration *m = strata_source_at(src, i);

		if (m->is_repeatable && r->description &&
		    !strcmp(m->description, r->description))
			return m;
	}
	return src && !is_repeatable ? strata_source_find(src, r->version)
	                             : NULL;
}

static void print_text(struct cli *cli, const struct strata_audit *a,
                       const struct strata_source *src)
{
	if (!a->count) {
		printf("No recorded actions.\n");
		return;
	}
	printf("%-5s %-19s %-15s %-16s %-8s %-10s %-22s %s\n", "ID",
	       "STARTED (UTC)", "ACTION", "VERSION", "OUTCOME", "DURATION",
	       "BY", "DESCRIPTION");
	for (size_t i = 0; i < a->count; i++) {
		const struct strata_audit_row *r = &a->rows[i];
		char when[20] = "-", dur[32], version[24] = "-", by[128];
		const struct strata_migration *m;
		bool ok = r->outcome && strcmp(r->outcome, "success") == 0;

		if (r->started_at && strlen(r->started_at) >= 19) {
			memcpy(when, r->started_at, 19);
			when[10] = ' ';
			when[19] = '\0';
		}
		cli_format_duration(dur, sizeof(dur), r->duration_ns);
		if (r->has_version && r->version_text)
			snprintf(version, sizeof(version), "%s",
			         cli_safe(r->version_text));
		else if (r->has_version && (m = row_migration(src, r)) &&
		         m->version_text)
			snprintf(version, sizeof(version), "%s",
			         m->version_text);
		else if (r->has_version)
			snprintf(version, sizeof(version), "%" PRId64,
			         r->version);
		snprintf(by, sizeof(by), "%s@%s%s%s%s",
		         r->os_user ? r->os_user : "?", r->host ? r->host : "?",
		         r->db_user ? " (" : "", r->db_user ? r->db_user : "",
		         r->db_user ? ")" : "");
		/* rows anyone with write access to the table may have written
		 */
		printf("%-5" PRId64
		       " %-19s %-15s %-16s %s%-8s%s %-10s %-22s %s\n",
		       r->id, cli_safe(when),
		       r->action ? cli_safe(r->action) : "", version,
		       cli_color(cli, false, ok ? "32" : "31"),
		       r->outcome ? cli_safe(r->outcome) : "",
		       cli_color(cli, false, NULL), dur, cli_safe(by),
		       r->description ? cli_safe(r->description) : "");
		if (r->error && *r->error)
			printf("      %s%s%s%s\n",
			       ok ? "note: " : "error: ", cli_safe(r->error),
			       r->sqlstate ? " SQLSTATE " : "",
			       r->sqlstate ? cli_safe(r->sqlstate) : "");
	}
}

int cmd_history(struct cli *cli, int argc, char **argv)
{
	struct strata_audit_filter f = { 0 };
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_audit *a = NULL;
	struct strata_db *db = NULL;
	struct strata_source *src = NULL;
	const struct opt opts[] = {
		{ 0, "version", OPT_VERSION, &f.version, &f.has_version, "V",
		  "only actions on migration V" },
		{ 0, "action", OPT_STRING, &f.action, NULL, "ACTION",
		  "only apply, revert, fail (any failure), repair, mark-applied, baseline, accept-checksum, convert, restore or lock-timeout" },
		{ 0, "since", OPT_STRING, &f.since, NULL, "DATE",
		  "only actions started since DATE (ISO 8601, UTC)" },
		{ 0, "limit", OPT_SIZE, &f.limit, NULL, "N",
		  "only the newest N actions" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "history", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "history",
		                       "unexpected argument '%s'", argv[0]);
	cli->is_read_only = true;
	if ((rc = cli_open_db(cli, &db)))
		goto done;
	src = quiet_source(cli);
	if (f.has_version && src) {
		const struct strata_migration *m;

		f.version = strata_source_version_key(src, f.version);
		m = strata_source_find(src, f.version);
		f.version_text = m ? m->version_text : NULL;
	}
	if (strata_audit_read(&a, db, &f, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (cli->format == FORMAT_JSON) {
		json_t *doc = json_object(), *list = json_array();

		for (size_t i = 0; i < a->count; i++)
			json_array_append_new(list,
			                      cli_json_audit_row(&a->rows[i]));
		json_object_set_new(doc, "actions", list);
		cli_print_json(doc);
	} else {
		print_text(cli, a, src);
	}
done:
	strata_source_free(src);
	strata_audit_free(a);
	strata_error_release(&err);
	strata_db_close(db);
	return rc;
}
