/*
 * auto-migrate: a service that migrates its database when it starts (the
 * AUTO_MIGRATE pattern), with the migrations compiled in by `strata embed`.
 *
 *	DATABASE_URL=postgres://app@db/app ./auto-migrate
 *
 * Several replicas may start at once: each calls strata_migrate_run(),
 * which takes the migration lock first (on PostgreSQL sqlx's advisory
 * lock, on SQLite the database's write lock). One applies what is pending;
 * the others wait for the lock (up to LOCK_WAIT seconds), read the history
 * again once they hold it, and find nothing left to do. SIGTERM or SIGINT
 * while migrating (a deploy rolled back) cancels the statement running and
 * rolls back, rather than leaving it to the server.
 *
 * Exit 0 once the database is up to date; otherwise the library's error
 * class (1 a migration failed, 4 the history disagrees, 5 lint refused,
 * 6 the lock was not had in time, 7 no connection).
 */
#define _POSIX_C_SOURCE 200809L /* sigaction() */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strata.h>

/* Written by `strata embed` (see the Makefile). */
extern const struct strata_embedded strata_migrations;

#define LOCK_WAIT 300.0 /* seconds: longer than the slowest migration */

static void on_signal(int sig)
{
	(void)sig;
	strata_cancel();
}

static void on_event(const struct strata_event *ev, void *data)
{
	(void)data;
	switch (ev->kind) {
	case STRATA_EVENT_LOCK_WAIT:
		printf("waiting for the migration lock (held by pid %d)\n",
		       ev->holder_pid);
		break;
	case STRATA_EVENT_APPLY_DONE:
		printf("applied %lld %s (%.1f ms)\n", (long long)ev->version,
		       ev->description, ev->duration_ns / 1e6);
		break;
	case STRATA_EVENT_WARNING:
		fprintf(stderr, "auto-migrate: warning: %s\n", ev->message);
		break;
	default:
		break;
	}
	fflush(stdout);
}

int main(void)
{
	const char *url = getenv("DATABASE_URL");
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_db_options opts = STRATA_DB_OPTIONS_INIT;
	struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
	struct strata_run_result res = { 0 };
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	struct sigaction sa;
	int rc = 0;

	if (!url || !*url) {
		fprintf(stderr, "auto-migrate: DATABASE_URL is not set\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	opts.lock_wait = LOCK_WAIT;
	opts.on_event = on_event;
	opts.command = "auto-migrate";
	if (strata_source_from_embedded(&src, &strata_migrations, &err) < 0 ||
	    strata_db_open(&db, url, &opts, &err) < 0 ||
	    strata_migrate_run(&res, db, src, &ro, &err) < 0) {
		fprintf(stderr, "auto-migrate: %s\n", err.message);
		if (err.file)
			fprintf(stderr, "  at %s:%d\n", err.file, err.line);
		if (err.detail)
			fprintf(stderr, "  %s\n", err.detail);
		if (err.hint)
			fprintf(stderr, "  hint: %s\n", err.hint);
		rc = (int)err.code;
		goto done;
	}
	if (res.applied)
		printf("applied %zu migrations\n", res.applied);
	else
		printf("up to date: nothing to apply\n");
	/* a service would start here */
done:
	strata_db_close(db);
	strata_source_free(src);
	strata_error_release(&err);
	return rc;
}
