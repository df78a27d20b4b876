/*
 * The standbys given to a run (replica.h): one session on each, opened
 * before anything runs so that a wrong URL fails early, and asked
 * pg_last_wal_replay_lsn() between batches. A standby that stops
 * answering is reconnected at each look; how long that may last is the
 * caller's (batchrun.c) to decide. Nothing here prints or waits.
 */
#include "engine/replica.h"
#include "engine/db.h"
#include "util/xalloc.h"
#include "util/error.h"
#include "util/text.h"
#include "drivers/driver.h"

#include <stdlib.h>
#include <string.h>

static const char standby_sql[] =
        "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.pg_last_wal_replay_lsn()";
/* which cluster: a standby made by pg_basebackup shares its primary's */
static const char system_sql[] =
        "SELECT system_identifier FROM pg_catalog.pg_control_system()";

/* The system identifier of the server on `c`; NULL when it cannot be
 * read (a role without the right): the check is then left out. */
static char *system_id(struct strata_conn *c)
{
	struct db_rows rows = { 0 };
	char *id = NULL;

	if (c->drv->query(c, system_sql, 0, NULL, &rows, NULL) == 0 &&
	    rows.n_rows && db_rows_get(&rows, 0, 0))
		id = xstrdup(db_rows_get(&rows, 0, 0));
	db_rows_release(&rows);
	return id;
}

/* Whether `rp` is in recovery, and how far it has replayed. */
static int ask(bool *is_standby, struct replica *rp, struct strata_error *err)
{
	struct db_rows rows = { 0 };
	const char *lsn;
	int rc = -1;

	if (rp->conn->drv->query(rp->conn, standby_sql, 0, NULL, &rows, err) <
	    0)
		goto done;
	*is_standby = rows.n_rows && db_rows_get(&rows, 0, 0) &&
	              !strcmp(db_rows_get(&rows, 0, 0), "t");
	lsn = rows.n_rows ? db_rows_get(&rows, 0, 1) : NULL;
	if (*is_standby && lsn && replag_parse_lsn(&rp->replayed, lsn) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "replica '%s' says it replayed up to '%s'",
		                 rp->url.redacted, lsn);
		goto done;
	}
	rc = 0;
done:
	db_rows_release(&rows);
	return rc;
}

static int not_standby(const struct replica *rp, struct strata_error *err)
{
	strata_error_set(err, STRATA_EUSAGE,
	                 "replica '%s' is not a standby: it is not in recovery",
	                 rp->url.redacted);
	return strata_error_hint(
	        err,
	        "Name a streaming standby of this database's server; a primary replays nothing, so its lag cannot be measured.");
}

static int open_one(struct replica *rp, const char *url, const char *primary_id,
                    struct strata_error *err)
{
	const struct strata_driver *drv;
	bool is_standby = false;
	char *id = NULL;
	int rc = -1;

	if (url_parse(&rp->url, url, err) < 0) {
		error_prefix(err, "replica");
		return -1;
	}
	if (rp->url.kind != URL_POSTGRES)
		return strata_error_set(
		        err, STRATA_EUSAGE,
		        "replica '%s' is no PostgreSQL URL: only a PostgreSQL standby replays",
		        rp->url.redacted);
	drv = driver_for_url(&rp->url);
	if (drv->connect(&rp->conn, &rp->url, err) < 0) {
		error_prefix(err, "replica");
		return -1;
	}
	if (ask(&is_standby, rp, err) < 0) {
		error_prefix(err, "replica '%s'", rp->url.redacted);
		goto done;
	}
	if (!is_standby) {
		not_standby(rp, err);
		goto done;
	}
	id = primary_id ? system_id(rp->conn) : NULL;
	if (id && strcmp(id, primary_id)) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "replica '%s' is a standby of another server (system identifier %s, this one's %s)",
		        rp->url.redacted, id, primary_id);
		goto done;
	}
	rc = 0;
done:
	free(id);
	return rc;
}

void replicas_free(struct replicas *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		struct replica *rp = &rs->v[i];

		if (rp->conn)
			rp->conn->drv->close(rp->conn);
		url_release(&rp->url);
		free(rp->why);
	}
	free(rs->v);
	replag_release(&rs->marks);
	free(rs);
}

int replicas_open(struct replicas **out, struct strata_db *db,
                  const char *const *urls, size_t n, struct strata_error *err)
{
	struct replicas *rs = xcalloc(1, sizeof(*rs));
	char *primary_id = n ? system_id(db->conn) : NULL;
	int rc = -1;

	*out = NULL;
	rs->v = xcalloc(n ? n : 1, sizeof(*rs->v));
	for (; rs->n < n; rs->n++)
		if (open_one(&rs->v[rs->n], urls[rs->n], primary_id, err) < 0) {
			rs->n++;
			goto done;
		}
	*out = rs;
	rs = NULL;
	rc = 0;
done:
	free(primary_id);
	replicas_free(rs);
	return rc;
}

int replicas_note(struct replicas *rs, struct strata_db *db,
                  struct strata_error *err)
{
	struct db_rows rows = { 0 };
	uint64_t lsn;
	int rc = db->drv->query(db->conn,
	                        "SELECT pg_catalog.pg_current_wal_lsn()", 0,
	                        NULL, &rows, err);

	if (rc == 0 && rows.n_rows &&
	    replag_parse_lsn(&lsn, db_rows_get(&rows, 0, 0)) == 0)
		replag_note(&rs->marks, lsn, text_monotonic_ns());
	db_rows_release(&rows);
	return rc;
}

/* `rp` did not answer: its session goes, and the time it went is kept. */
static void lose(struct replica *rp, struct strata_error *e, int64_t now)
{
	if (rp->conn)
		rp->conn->drv->close(rp->conn);
	rp->conn = NULL;
	if (!rp->lost_ns)
		rp->lost_ns = now;
	free(rp->why);
	/* libpq's account, to its first line: it goes on a progress line */
	rp->why = xstrndup(e->message ? e->message : "no answer",
	                   e->message ? strcspn(e->message, "\n") : 9);
}

int replicas_look(struct replicas_look *out, struct replicas *rs,
                  struct strata_error *err)
{
	int64_t now = text_monotonic_ns();
	uint64_t all = UINT64_MAX;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < rs->n; i++) {
		struct replica *rp = &rs->v[i];
		struct strata_error e = STRATA_ERROR_INIT;
		bool is_standby = false;
		double lag;

		if ((!rp->conn && driver_for_url(&rp->url)->connect(
		                          &rp->conn, &rp->url, &e) < 0) ||
		    ask(&is_standby, rp, &e) < 0) {
			lose(rp, &e, now);
			strata_error_release(&e);
			if (!out->lost || rp->lost_ns < out->lost->lost_ns)
				out->lost = rp;
			continue;
		}
		rp->lost_ns = 0;
		if (!is_standby)
			return strata_error_set(
			        err, STRATA_EFAILED,
			        "replica '%s' is no longer a standby: it left recovery (promoted?)",
			        rp->url.redacted);
		lag = replag_lag(&rs->marks, rp->replayed, now);
		if (lag > 0 && (!out->behind || lag > out->lag)) {
			out->lag = lag;
			out->behind = rp;
		}
		if (rp->replayed < all)
			all = rp->replayed;
	}
	/* a lost one's position is unknown: keep every mark for it */
	if (!out->lost && rs->n)
		replag_forget(&rs->marks, all);
	return 0;
}
