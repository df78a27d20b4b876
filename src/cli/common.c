/*
 * What several commands share: loading the source, opening the database
 * (URL from -d, else DATABASE_URL), parsing versions.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "../banned.h"

int cli_load_source(struct cli *cli, struct strata_source **out)
{
	struct strata_error err = STRATA_ERROR_INIT;
	int rc = 0;

	if (strata_source_load(out, cli->source, NULL, &err) < 0) {
		rc = cli_error(cli, &err);
		*out = NULL;
	}
	strata_error_release(&err);
	return rc;
}

int cli_open_db(struct cli *cli, struct strata_db **out)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_db_options opts = {
		.table = cli->table,
		.lock_wait = cli->lock_wait,
		.on_event = cli_event,
		.event_data = cli,
	};
	int rc = 0;

	*out = NULL;
	if (!cli->database) {
		strata_error_set(&err, STRATA_EUSAGE, "no database given");
		strata_error_hint(
		        &err,
		        "Pass --database URL, set DATABASE_URL, or put DATABASE_URL=… in a .env file (for example sqlite:app.db or postgres://user@host/db).");
		rc = cli_error(cli, &err);
	} else if (strata_db_open(out, cli->database, &opts, &err) < 0) {
		rc = cli_error(cli, &err);
	}
	strata_error_release(&err);
	return rc;
}

int cli_parse_version(int64_t *out, const char *text)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || *end || end == text || v < 0)
		return -1;
	*out = v;
	return 0;
}
