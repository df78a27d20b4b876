/*
 * strata lint [FILES...]: the safety linter (design.md, Commands). Without
 * files it lints the source: with a PostgreSQL database, the pending
 * migrations as one run (the target version is the server's); without
 * one (or with --all), every migration, each on its own. Reporters: text
 * in the compiler style, JSON, GitHub Actions annotations, SARIF 2.1.0.
 * Exit 5 when a finding is an error.
 */
#include "cli.h"

#include <string.h>

#include "util/banned.h"

static const char usage[] = "[options] [FILE...]";

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

enum reporter {
	REPORT_TEXT,
	REPORT_JSON,
	REPORT_GITHUB,
	REPORT_SARIF,
};

static void print_text(struct cli *cli, const struct strata_lint *l)
{
	size_t n_err = strata_lint_count_severity(l, STRATA_SEVERITY_ERROR);
	size_t n_warn = strata_lint_count_severity(l, STRATA_SEVERITY_WARNING);
	size_t n_note = strata_lint_count_severity(l, STRATA_SEVERITY_NOTE);
	size_t files = strata_lint_files(l), stmts = strata_lint_statements(l);
	char notes[64] = "";

	for (size_t i = 0; i < strata_lint_count(l); i++)
		cli_print_finding(cli, stdout, strata_lint_at(l, i));
	fflush(stdout);
	if (n_note)
		snprintf(notes, sizeof(notes), ", %zu note%s", n_note,
		         n_note == 1 ? "" : "s");
	if (!n_err && !n_warn)
		cli_info(cli, "No problems in %zu file%s (%zu statement%s%s).",
		         files, files == 1 ? "" : "s", stmts,
		         stmts == 1 ? "" : "s", notes);
	else
		cli_info(
		        cli,
		        "%zu error%s, %zu warning%s%s in %zu file%s (%zu statement%s).",
		        n_err, n_err == 1 ? "" : "s", n_warn,
		        n_warn == 1 ? "" : "s", notes, files,
		        files == 1 ? "" : "s", stmts, stmts == 1 ? "" : "s");
}

static void print_json(const struct strata_lint *l)
{
	json_t *doc = json_object(), *list = json_array();

	for (size_t i = 0; i < strata_lint_count(l); i++)
		json_array_append_new(list,
		                      cli_json_finding(strata_lint_at(l, i)));
	json_object_set_new(doc, "files",
	                    json_integer((json_int_t)strata_lint_files(l)));
	json_object_set_new(
	        doc, "statements",
	        json_integer((json_int_t)strata_lint_statements(l)));
	json_object_set_new(doc, "errors",
	                    json_integer((json_int_t)strata_lint_count_severity(
	                            l, STRATA_SEVERITY_ERROR)));
	json_object_set_new(doc, "warnings",
	                    json_integer((json_int_t)strata_lint_count_severity(
	                            l, STRATA_SEVERITY_WARNING)));
	json_object_set_new(doc, "notes",
	                    json_integer((json_int_t)strata_lint_count_severity(
	                            l, STRATA_SEVERITY_NOTE)));
	json_object_set_new(doc, "pg_version",
	                    json_integer(strata_lint_pg_version(l)));
	json_object_set_new(doc, "findings", list);
	cli_print_json(doc);
}

/* GitHub's workflow commands: % CR LF escaped, and : , in properties. */
static void gh_escape(const char *text, bool is_property)
{
	/* GitHub's log shows ANSI escapes as colours: none from a file */
	const char *s = cli_safe_lines(text);

	for (; *s; s++) {
		if (*s == '%')
			fputs("%25", stdout);
		else if (*s == '\r')
			fputs("%0D", stdout);
		else if (*s == '\n')
			fputs("%0A", stdout);
		else if (is_property && *s == ':')
			fputs("%3A", stdout);
		else if (is_property && *s == ',')
			fputs("%2C", stdout);
		else
			fputc(*s, stdout);
	}
}

static void print_github(const struct strata_lint *l)
{
	for (size_t i = 0; i < strata_lint_count(l); i++) {
		const struct strata_finding *f = strata_lint_at(l, i);

		printf("::%s file=",
		       f->severity == STRATA_SEVERITY_ERROR     ? "error"
		       : f->severity == STRATA_SEVERITY_WARNING ? "warning"
		                                                : "notice");
		gh_escape(f->file, true);
		printf(",line=%d,col=%d,title=", f->line, f->column);
		gh_escape(f->rule, true);
		fputs("::", stdout);
		gh_escape(f->message, false);
		if (f->hint) {
			gh_escape("\n", false);
			gh_escape(f->hint, false);
		}
		fputc('\n', stdout);
	}
}

/* A relative path as a URI reference: RFC 3986 unreserved and '/' kept. */
static json_t *uri_of(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *buf = malloc(3 * n + 1), *p = buf;
	json_t *s;

	if (!buf)
		abort();
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("-._~/", *c)) {
			*p++ = (char)*c;
		} else {
			*p++ = '%';
			*p++ = hex[*c >> 4];
			*p++ = hex[*c & 15];
		}
	}
	*p = '\0';
	s = json_string(buf);
	free(buf);
	return s;
}

static const char *sarif_level(enum strata_severity sev)
{
	switch (sev) {
	case STRATA_SEVERITY_ERROR:
		return "error";
	case STRATA_SEVERITY_WARNING:
		return "warning";
	case STRATA_SEVERITY_NOTE:
		return "note";
	default:
		return "none";
	}
}

static json_t *text_obj(const char *text)
{
	json_t *o = json_object();

	json_object_set_new(o, "text", cli_json_text(text));
	return o;
}

static void print_sarif(const struct strata_lint *l)
{
	json_t *doc = json_object(), *run = json_object();
	json_t *driver = json_object(), *rules = json_array();
	json_t *results = json_array(), *tool = json_object();

	for (size_t i = 0; i < strata_lint_rule_count(); i++) {
		const struct strata_lint_rule *r = strata_lint_rule_at(i);
		json_t *o = json_object(), *cfg = json_object();

		json_object_set_new(o, "id", json_string(r->id));
		json_object_set_new(o, "shortDescription",
		                    text_obj(r->summary));
		json_object_set_new(o, "help", text_obj(r->hint));
		json_object_set_new(cfg, "level",
		                    json_string(sarif_level(
		                            strata_lint_severity(l, r->id))));
		json_object_set_new(o, "defaultConfiguration", cfg);
		json_array_append_new(rules, o);
	}
	for (size_t i = 0; i < strata_lint_count(l); i++) {
		const struct strata_finding *f = strata_lint_at(l, i);
		json_t *res = json_object(), *loc = json_object();
		json_t *phys = json_object(), *art = json_object();
		json_t *region = json_object(), *locs = json_array();
		const struct strata_lint_rule *r =
		        strata_lint_rule_find(f->rule);

		json_object_set_new(res, "ruleId", json_string(f->rule));
		for (size_t k = 0; k < strata_lint_rule_count(); k++)
			if (strata_lint_rule_at(k) == r)
				json_object_set_new(
				        res, "ruleIndex",
				        json_integer((json_int_t)k));
		json_object_set_new(res, "level",
		                    json_string(sarif_level(f->severity)));
		json_object_set_new(res, "message", text_obj(f->message));
		json_object_set_new(art, "uri", uri_of(f->file));
		json_object_set_new(region, "startLine", json_integer(f->line));
		json_object_set_new(region, "startColumn",
		                    json_integer(f->column));
		json_object_set_new(phys, "artifactLocation", art);
		json_object_set_new(phys, "region", region);
		json_object_set_new(loc, "physicalLocation", phys);
		json_array_append_new(locs, loc);
		json_object_set_new(res, "locations", locs);
		json_array_append_new(results, res);
	}
	json_object_set_new(driver, "name", json_string("strata"));
	json_object_set_new(driver, "version", json_string(STRATA_VERSION));
	json_object_set_new(driver, "rules", rules);
	json_object_set_new(tool, "driver", driver);
	json_object_set_new(run, "tool", tool);
	json_object_set_new(run, "columnKind",
	                    json_string("unicodeCodePoints"));
	json_object_set_new(run, "results", results);
	json_object_set_new(doc, "$schema", json_string(SARIF_SCHEMA));
	json_object_set_new(doc, "version", json_string("2.1.0"));
	json_object_set_new(doc, "runs", json_array());
	json_array_append_new(json_object_get(doc, "runs"), run);
	cli_print_json(doc);
}

static int list_rules(struct cli *cli, const struct strata_lint *l)
{
	if (cli->format == FORMAT_JSON) {
		json_t *list = json_array();

		for (size_t i = 0; i < strata_lint_rule_count(); i++) {
			const struct strata_lint_rule *r =
			        strata_lint_rule_at(i);
			json_t *o = json_object();

			json_object_set_new(o, "id", json_string(r->id));
			json_object_set_new(
			        o, "severity",
			        json_string(strata_severity_name(
			                strata_lint_severity(l, r->id))));
			json_object_set_new(o, "summary",
			                    json_string(r->summary));
			json_object_set_new(o, "hint", json_string(r->hint));
			json_array_append_new(list, o);
		}
		cli_print_json(list);
		return 0;
	}
	for (size_t i = 0; i < strata_lint_rule_count(); i++) {
		const struct strata_lint_rule *r = strata_lint_rule_at(i);

		printf("%-38s %-8s %s\n", r->id,
		       strata_severity_name(strata_lint_severity(l, r->id)),
		       r->summary);
	}
	return 0;
}

int cmd_lint(struct cli *cli, int argc, char **argv)
{
	struct strata_lint_options lo = STRATA_LINT_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_lint *l = NULL;
	struct strata_db *db = NULL;
	const char *reporter_arg = NULL, *pg_version_arg = NULL;
	bool is_all = false, is_list = false, is_notes = false;
	enum reporter reporter = REPORT_TEXT;
	const struct opt opts[] = {
		{ 0, "reporter", OPT_STRING, &reporter_arg, NULL, "NAME",
		  "text (compiler style, default), json, github (Actions annotations), sarif (2.1.0)" },
		{ 0, "pg-version", OPT_STRING, &pg_version_arg, NULL, "V",
		  "target PostgreSQL version (15, 16.2, 150004; default: the database's, else 15)" },
		{ 0, "all", OPT_FLAG, &is_all, NULL, NULL,
		  "every migration, even with a database (default: the pending ones)" },
		{ 0, "list-rules", OPT_FLAG, &is_list, NULL, NULL,
		  "list the rules and their severities" },
		{ 0, "notes", OPT_FLAG, &is_notes, NULL, NULL,
		  "also the notes too common to report unasked (prefer-robust-stmts in files that run in one transaction)" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "lint", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (cli->format == FORMAT_JSON)
		reporter = REPORT_JSON;
	if (reporter_arg) {
		if (!strcmp(reporter_arg, "text"))
			reporter = REPORT_TEXT;
		else if (!strcmp(reporter_arg, "json"))
			reporter = REPORT_JSON;
		else if (!strcmp(reporter_arg, "github"))
			reporter = REPORT_GITHUB;
		else if (!strcmp(reporter_arg, "sarif"))
			reporter = REPORT_SARIF;
		else
			return cli_usage_error(
			        cli, "lint",
			        "--reporter wants text, json, github or sarif, not '%s'",
			        reporter_arg);
	}
	cli_lint_options(cli, &lo);
	lo.is_robust_notes = is_notes;
	/* strata runs these files with its lock_timeout, unless told not to */
	lo.is_runner_lock_timeout =
	        !(cli->has_lock_timeout && cli->lock_timeout < 0);
	/* and with a statement_timeout only when one is configured */
	lo.is_runner_statement_timeout = cli->statement_timeout > 0;
	if (pg_version_arg &&
	    cli_parse_pg_version(&lo.pg_version, pg_version_arg) < 0)
		return cli_usage_error(
		        cli, "lint",
		        "--pg-version wants a PostgreSQL version such as 15, 16.2 or 150004, not '%s'",
		        pg_version_arg);
	if (strata_lint_new(&l, &lo, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (is_list) {
		rc = list_rules(cli, l);
		goto done;
	}
	if (argc) {
		/* Files as given, each on its own; no database is used. */
		for (int i = 0; i < argc; i++) {
			if (strata_lint_file(l, argv[i], &err) < 0) {
				rc = cli_error(cli, &err);
				goto done;
			}
		}
	} else {
		if ((rc = cli_load_source(cli, &src)))
			goto done;
		if (cli->database && !is_all && (rc = cli_open_db(cli, &db)))
			goto done;
		if (strata_lint_source(l, src, db, &err) < 0) {
			rc = cli_error(cli, &err);
			goto done;
		}
	}
	switch (reporter) {
	case REPORT_TEXT:
		print_text(cli, l);
		break;
	case REPORT_JSON:
		print_json(l);
		break;
	case REPORT_GITHUB:
		print_github(l);
		break;
	case REPORT_SARIF:
		print_sarif(l);
		break;
	}
	rc = strata_lint_count_severity(l, STRATA_SEVERITY_ERROR) ? EXIT_LINT
	                                                          : 0;
done:
	strata_error_release(&err);
	strata_lint_free(l);
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}
