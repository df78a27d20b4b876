/*
 * strata test: every down file proven on a shadow database
 * (strata_proof_run()): for each migration, up, down, the schema compared
 * with the one before the up, up again. A table of what each did, the
 * diff of a down that left something behind; exit 4 when one failed.
 */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

#include "util/banned.h"

static const char usage[] =
        "[--from V] [--to V] [--keep-going] [--idempotent] [--shadow URL [--shadow-reset] | --shadow cluster]";

static void print_ms(double ms)
{
	if (ms < 0)
		printf(" %9s", "-");
	else
		printf(" %9.1f", ms);
}

static const char *version_of(const struct strata_migration *m, char buf[24])
{
	if (m->version_text)
		return m->version_text;
	snprintf(buf, 24, "%" PRId64, m->version);
	return buf;
}

static void print_text(struct cli *cli, const struct strata_proof *p,
                       bool is_idempotent, bool is_keep_going)
{
	size_t width = strlen("VERSION"), n_no_down = 0, stop = p->n;
	char v[24];

	for (size_t i = 0; i < p->n; i++) {
		size_t w = strlen(version_of(p->steps[i].migration, v));

		if (w > width)
			width = w;
	}
	printf("%-*s %9s %9s  %-14s %s\n", (int)width, "VERSION", "UP ms",
	       "DOWN ms", "RESULT", "DESCRIPTION");
	for (size_t i = 0; i < p->n; i++) {
		const struct strata_proof_step *st = &p->steps[i];

		printf("%-*s", (int)width, version_of(st->migration, v));
		print_ms(st->up_ms);
		print_ms(st->down_ms);
		printf("  %-14s %s\n", strata_proof_result_name(st->result),
		       cli_safe(st->migration->description));
		if (st->message)
			printf("    %s\n", cli_safe(st->message));
		if (st->diff && *st->diff) {
			const char *s = cli_safe_lines(st->diff);

			/* the diff indented under its migration */
			while (*s) {
				size_t len = strcspn(s, "\n");

				printf("    %.*s\n", (int)len, s);
				s += len + (s[len] == '\n');
			}
		}
		n_no_down += st->result == STRATA_PROOF_NO_DOWN;
		if (st->result == STRATA_PROOF_NOT_RUN && stop == p->n)
			stop = i;
	}
	if (p->n_failed && stop < p->n && stop > 0)
		/* what was not tested, and why: never a silent remainder */
		cli_info(
		        cli,
		        "%zu of %zu migrations failed the test (on %s); the %zu after %s were not run: %s.",
		        p->n_failed, p->n, cli_safe(p->shadow), p->n - stop,
		        version_of(p->steps[stop - 1].migration, v),
		        is_keep_going
		                ? "its up failed, and the shadow cannot go on past it; mend it and test again, or test the rest with --from"
		                : "the test stops at the first failure (--keep-going tests the rest)");
	else if (p->n_failed)
		cli_info(cli, "%zu of %zu migrations failed the test (on %s).",
		         p->n_failed, p->n, cli_safe(p->shadow));
	else
		cli_info(
		        cli,
		        "%zu migration%s tested: every down file undoes its up%s (on %s)%s.",
		        p->n, p->n == 1 ? "" : "s",
		        is_idempotent ? ", every up runs twice" : "",
		        cli_safe(p->shadow),
		        n_no_down
		                ? "; those without a down file were applied only"
		                : "");
}

static void print_json(const struct strata_proof *p)
{
	json_t *doc = json_object(), *steps = json_array();
	char v[24];

	for (size_t i = 0; i < p->n; i++) {
		const struct strata_proof_step *st = &p->steps[i];
		json_t *o = json_object();

		json_object_set_new(o, "version",
		                    json_integer(st->migration->version));
		json_object_set_new(
		        o, "version_text",
		        cli_json_text(version_of(st->migration, v)));
		json_object_set_new(o, "description",
		                    cli_json_text(st->migration->description));
		json_object_set_new(
		        o, "result",
		        json_string(strata_proof_result_name(st->result)));
		json_object_set_new(o, "up_ms",
		                    st->up_ms < 0 ? json_null()
		                                  : json_real(st->up_ms));
		json_object_set_new(o, "down_ms",
		                    st->down_ms < 0 ? json_null()
		                                    : json_real(st->down_ms));
		json_object_set_new(o, "message",
		                    st->message ? cli_json_text(st->message)
		                                : json_null());
		json_object_set_new(o, "diff",
		                    st->diff ? cli_json_text(st->diff)
		                             : json_null());
		json_array_append_new(steps, o);
	}
	json_object_set_new(doc, "shadow", cli_json_text(p->shadow));
	json_object_set_new(doc, "tested", json_integer((json_int_t)p->n));
	json_object_set_new(doc, "failed",
	                    json_integer((json_int_t)p->n_failed));
	json_object_set_new(doc, "migrations", steps);
	cli_print_json(doc);
}

/*
 * The database, which the proof never touches: on SQLite only the shadow
 * is used, so a file not made yet (a new project's, CI's) is tested all
 * the same, on a temporary file, and not created.
 */
static int open_db(struct cli *cli, struct strata_db **out)
{
	struct strata_error err = STRATA_ERROR_INIT;
	const char *given = cli->database;
	int rc = 0;

	if (!given || !cli_open_db_quiet(cli, out, &err))
		return given ? 0 : cli_open_db(cli, out);
	if (err.reason == STRATA_REASON_NO_DATABASE_FILE) {
		strata_error_release(&err);
		cli->database = "sqlite::memory:";
		rc = cli_open_db(cli, out);
		cli->database = given;
		return rc;
	}
	rc = cli_error(cli, &err);
	strata_error_release(&err);
	return rc;
}

int cmd_test(struct cli *cli, int argc, char **argv)
{
	struct strata_proof_options o = STRATA_PROOF_OPTIONS_INIT;
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	struct strata_proof *p = NULL;
	const char *from = NULL, *to = NULL;
	const struct opt opts[] = {
		{ 0, "from", OPT_STRING, &from, NULL, "V",
		  "test from version V on (those before it are applied, untested)" },
		{ 0, "to", OPT_STRING, &to, NULL, "V", "test up to version V" },
		{ 0, "keep-going", OPT_FLAG, &o.is_keep_going, NULL, NULL,
		  "test the rest after a failing down" },
		{ 0, "idempotent", OPT_FLAG, &o.is_idempotent, NULL, NULL,
		  "also run each up twice in a row: a second run that fails or changes the schema fails" },
		{ 0, "shadow", OPT_STRING, &o.shadow_url, NULL, "URL|cluster",
		  "run on this database (emptied first), or 'cluster': a private throwaway cluster, instead of a temporary database" },
		{ 0, "shadow-reset", OPT_FLAG, &o.is_shadow_reset, NULL, NULL,
		  "empty the --shadow database even when it holds tables strata did not make" },
		OPT_END,
	};
	int rc = cli_parse_options(cli, "test", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "test", "unexpected argument '%s'",
		                       argv[0]);
	if (o.is_shadow_reset &&
	    (!o.shadow_url || !strcmp(o.shadow_url, STRATA_SHADOW_CLUSTER)))
		return cli_usage_error(cli, "test",
		                       "--shadow-reset needs --shadow URL");
	o.pg_bindir = cli_pg_bindir();
	cli->is_read_only = true;
	if ((rc = cli_load_source(cli, &src)))
		goto done;
	if (from && cli_parse_version(&o.from, from) < 0) {
		rc = cli_usage_error(cli, "test",
		                     "--from wants a version, not '%s'", from);
		goto done;
	}
	if (to && cli_parse_version(&o.to, to) < 0) {
		rc = cli_usage_error(cli, "test",
		                     "--to wants a version, not '%s'", to);
		goto done;
	}
	o.has_from = from != NULL;
	o.has_to = to != NULL;
	if (o.has_from)
		o.from = strata_source_version_key(src, o.from);
	if (o.has_to)
		o.to = strata_source_version_key(src, o.to);
	if ((rc = open_db(cli, &db)))
		goto done;
	if (strata_proof_run(&p, db, src, &o, &err) < 0) {
		rc = cli_error(cli, &err);
		goto done;
	}
	if (!p->n) {
		/* a range that holds nothing is no proof that all is well */
		rc = cli_usage_error(cli, "test",
		                     "--from and --to select no migration");
		goto done;
	}
	if (cli->format == FORMAT_JSON)
		print_json(p);
	else
		print_text(cli, p, o.is_idempotent, o.is_keep_going);
	rc = p->n_failed ? EXIT_VALIDATE : EXIT_OK;
done:
	strata_error_release(&err);
	strata_proof_free(p);
	strata_db_close(db);
	strata_source_free(src);
	return rc;
}
