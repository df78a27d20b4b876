/*
 * startup-check: a service that refuses to start while its database lacks
 * migrations (the start-up check of a deploy that migrates in a separate
 * step). The migrations are compiled in by `strata embed`, so the check
 * needs no migration folder beside the binary, and compares the database
 * with exactly the migrations this build was made with.
 *
 *	DATABASE_URL=postgres://app@db/app ./startup-check
 *
 * Exit 0 and "up to date" when every migration is applied; otherwise the
 * pending ones are listed and it exits 3 (4 when the history disagrees
 * with the migrations: a failed, edited or unknown one; 7 when the
 * database cannot be reached), as `strata check` does.
 */
#include <stdio.h>
#include <stdlib.h>

#include <strata.h>

/* Written by `strata embed` (see the Makefile). */
extern const struct strata_embedded strata_migrations;

static void report(const struct strata_status *st)
{
	for (size_t i = 0; i < st->count; i++) {
		const struct strata_status_entry *e = &st->entries[i];

		if (e->state == STRATA_STATE_APPLIED)
			continue;
		printf("%s: %lld %s\n", strata_state_name(e->state),
		       (long long)e->version, e->description);
	}
}

int main(void)
{
	const char *url = getenv("DATABASE_URL");
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_db_options opts = STRATA_DB_OPTIONS_INIT;
	struct strata_source *src = NULL;
	struct strata_status *st = NULL;
	struct strata_db *db = NULL;
	int rc = 1;

	if (!url || !*url) {
		fprintf(stderr, "startup-check: DATABASE_URL is not set\n");
		return 2;
	}
	/* only reads: a missing SQLite file is not created */
	opts.is_read_only = true;
	if (strata_source_from_embedded(&src, &strata_migrations, &err) < 0 ||
	    strata_db_open(&db, url, &opts, &err) < 0 ||
	    strata_status_get(&st, db, src, &err) < 0) {
		fprintf(stderr, "startup-check: %s\n", err.message);
		if (err.hint)
			fprintf(stderr, "  hint: %s\n", err.hint);
		rc = (int)err.code;
		goto done;
	}
	switch (strata_status_verdict(st)) {
	case STRATA_OK:
		printf("up to date: %zu migrations applied\n", st->n_applied);
		/* a service would start here */
		rc = 0;
		break;
	case STRATA_EPENDING:
		report(st);
		fprintf(stderr,
		        "startup-check: %zu migrations pending: not starting\n",
		        st->n_pending);
		rc = STRATA_EPENDING;
		break;
	default:
		report(st);
		fprintf(stderr,
		        "startup-check: the database's history disagrees with this build's migrations: not starting\n");
		rc = STRATA_EVALIDATE;
		break;
	}
done:
	strata_status_free(st);
	strata_db_close(db);
	strata_source_free(src);
	strata_error_release(&err);
	return rc;
}
