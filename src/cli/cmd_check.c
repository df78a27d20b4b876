/*
 * strata check: one exit code for start-up gates, health checks and CI
 * (0 up to date, 3 pending, 4 history disagrees with the source).
 */
#include "cli.h"

#include <inttypes.h>
#include <time.h>

#include "util/banned.h"

static const char usage[] = "[--wait DURATION]";

/* How often check --wait looks again: a status read is one cheap query. */
#define WAIT_POLL_SECONDS 1.0

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

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One look, printing nothing; the connection is kept for the next. */
static int look(struct cli *cli, struct strata_source **src,
                struct strata_db **db, struct strata_status **st,
                struct strata_error *err)
{
	const struct strata_source_options src_opts = {
		.version = STRATA_SOURCE_OPTIONS_VERSION,
		.max_file_size = cli->max_file_size,
		.is_checksums_only = true,
		.layout = cli->layout,
		.placeholders = cli->placeholders,
		.n_placeholders = cli->n_placeholders,
	};
	const struct strata_status_options opts = {
		.version = STRATA_STATUS_OPTIONS_VERSION,
		.is_without_applied_by = true,
	};
	const struct strata_db_options db_opts = {
		.version = STRATA_DB_OPTIONS_VERSION,
		.table = cli->table,
		.lock_wait = cli->lock_wait,
		.is_read_only = true,
		.command = cli->command_line,
		.schema = cli->schema,
	};

	strata_status_free(*st);
	strata_source_free(*src);
	*st = NULL;
	*src = NULL;
	strata_error_release(err);
	if (!*db && strata_db_open(db, cli->database, &db_opts, err) < 0)
		return -1;
	if (strata_status_load(st, src, *db, cli->source, &src_opts, &opts,
	                       err) == 0)
		return 0;
	/* a lost connection is opened again at the next look */
	strata_db_close(*db);
	*db = NULL;
	return -1;
}

/*
 * check --wait: looks every second, quietly, until the database is up to
 * date or `wait` seconds (< 0: forever) have passed. A database that
 * cannot be reached yet, migrations pending, or a record failed for now
 * (a -- no-transaction migration is, while it runs) are waited out; a
 * source that cannot be read is not. Returns 0 with the last status in
 * *st, or the exit code of an error, printed.
 */
static int wait_up_to_date(struct cli *cli, double wait,
                           struct strata_source **src, struct strata_db **db,
                           struct strata_status **st)
{
	struct strata_error err = STRATA_ERROR_INIT;
	double deadline = now_seconds() + wait;
	int rc;

	cli->is_read_only = true;
	if (!cli->database)
		return cli_open_db(cli, db); /* its error: no database */
	/* a wrong --source is not waited out: said at once */
	if ((rc = cli_load_source(cli, src)))
		return rc;
	for (;;) {
		rc = look(cli, src, db, st, &err);
		if (rc == 0 && strata_status_verdict(*st) == STRATA_OK)
			break;
		if (rc < 0 && err.code != STRATA_ECONNECT &&
		    err.code != STRATA_EFAILED)
			break; /* the URL, a signal: waiting changes nothing */
		if (wait >= 0 && now_seconds() >= deadline)
			break;
		for (double t = 0;
		     t < WAIT_POLL_SECONDS && !cli_interrupted() &&
		     (wait < 0 || now_seconds() < deadline);
		     t += 0.1)
			nanosleep(&(struct timespec){ .tv_nsec = 100000000 },
			          NULL);
		if (cli_interrupted()) {
			strata_error_release(&err);
			return 128 + cli_interrupted();
		}
	}
	rc = rc < 0 ? cli_error(cli, &err) : 0;
	strata_error_release(&err);
	return rc;
}

int cmd_check(struct cli *cli, int argc, char **argv)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct strata_status *st = NULL;
	struct strata_db *db = NULL;
	double wait = 0;
	bool has_wait = false;
	const struct opt opts[] = {
		{ 0, "wait", OPT_DURATION, &wait, &has_wait, "DURATION",
		  "wait until nothing is pending, looking every second, quietly; exit 3 (or 4, 7) when DURATION has passed ('forever': no limit)" },
		OPT_END,
	};
	enum strata_code verdict;
	int rc = cli_parse_options(cli, "check", usage, opts, &argc, &argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc)
		return cli_usage_error(cli, "check", "unexpected argument '%s'",
		                       argv[0]);
	if (has_wait)
		rc = wait_up_to_date(cli, wait, &src, &db, &st);
	else
		rc = cli_read_status(cli, false, &src, &db, &st);
	if (rc)
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
