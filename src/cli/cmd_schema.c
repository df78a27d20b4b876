/*
 * strata schema dump: the database's schema as SQL (design.md, Schema),
 * on stdout or, with --out, written atomically to a file. Also what run
 * --dump-schema (and dump_schema in strata.conf) write after a run.
 */
#include "cli.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "util/banned.h"

static const char usage[] = "dump [--out FILE] [--owners] [--privileges]";

/*
 * The source when its folder is there: its layout says which of the
 * database's tables are strata's (another tool's history table too). A
 * missing folder is no error: the dump needs no migrations.
 */
static int source_if_any(struct cli *cli, struct strata_source **out)
{
	struct stat st;

	*out = NULL;
	if (stat(cli->source, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return cli_load_source(cli, out);
}

/* The dump to `path` or stdout; `is_report`: as schema dump's result
 * (JSON: {"file", "schema"}), not a step of another command. */
static int dump_to(struct cli *cli, struct strata_db *db,
                   const struct strata_source *src, const char *path,
                   bool is_owners, bool is_privileges, bool is_report)
{
	struct strata_schema_options so = STRATA_SCHEMA_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	char *text = NULL;
	size_t len = 0;
	int rc = 0;

	so.src = src;
	so.is_owners = is_owners;
	so.is_privileges = is_privileges;
	so.pg_bindir = cli_pg_bindir();
	if (strata_schema_dump(&text, &len, db, &so, &err) < 0 ||
	    (path && strata_schema_write(path, text, len, &err) < 0)) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (is_report && cli->format == FORMAT_JSON) {
		json_t *doc = json_object();

		json_object_set_new(doc, "file",
		                    path ? cli_json_text(path) : json_null());
		json_object_set_new(doc, "schema",
		                    path ? json_null() : cli_json_text(text));
		cli_print_json(doc);
	} else if (!path && fwrite(text, 1, len, stdout) != len) {
		rc = 1; /* main() says why (a full disk) */
	}
done:
	strata_error_release(&err);
	free(text);
	return rc;
}

int cli_schema_write(struct cli *cli, struct strata_db *db,
                     const struct strata_source *src, const char *path,
                     bool is_owners, bool is_privileges)
{
	return dump_to(cli, db, src, path, is_owners, is_privileges, false);
}

int cmd_schema(struct cli *cli, int argc, char **argv)
{
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	const char *out = NULL;
	bool is_owners = false, is_privileges = false;
	const struct opt opts[] = {
		{ 'o', "out", OPT_STRING, &out, NULL, "FILE",
		  "write it to FILE (atomically) instead of stdout" },
		{ 0, "owners", OPT_FLAG, &is_owners, NULL, NULL,
		  "keep who owns each object (ALTER ... OWNER TO)" },
		{ 0, "privileges", OPT_FLAG, &is_privileges, NULL, NULL,
		  "keep GRANT and REVOKE" },
		OPT_END,
	};
	int rc;

	if (argc >= 2 && strcmp(argv[1], "dump") == 0) {
		argc--;
		argv++;
	} else if (argc >= 2 && argv[1][0] != '-') {
		static const char *const subs[] = { "dump", NULL };

		return help_unknown(cli, "schema", argv[1], subs);
	} else {
		rc = cli_parse_options(cli, "schema", usage, opts, &argc,
		                       &argv);
		if (rc)
			return rc < 0 ? 0 : rc;
		return cli_usage_error(cli, "schema",
		                       "a subcommand is required: dump");
	}
	rc = cli_parse_options(cli, "schema", usage, opts, &argc, &argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "schema",
		                       "unexpected argument '%s'", argv[0]);
	if (out && !*out)
		return cli_usage_error(cli, "schema", "--out wants a file");
	/* a dump only reads: a mistyped SQLite path must not be created */
	cli->is_read_only = true;
	if ((rc = source_if_any(cli, &src)) || (rc = cli_open_db(cli, &db)))
		goto done;
	rc = dump_to(cli, db, src, out, is_owners, is_privileges, true);
done:
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}
