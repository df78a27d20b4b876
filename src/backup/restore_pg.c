/*
 * PostgreSQL restores with pg_restore: into a new database swapped in for
 * the target (never the only copy first), or in place with --clean; and
 * the restore test that verify runs.
 */
/* memfd_create() */
#define _GNU_SOURCE
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/text.h"
#include "util/spawn.h"
#include "engine/url.h"
#include "drivers/driver.h"
#include "drivers/pgsession.h"
#include "engine/db.h"
#include "backup/backup.h"
#include "backup/backup_pg.h"
#include "backup/plain.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * pg_restore's session, watched once a second while it runs: when it has
 * waited for a lock longer than lock_wait, who holds it is noted and the
 * statement cancelled, which fails the restore (and, in one transaction,
 * rolls it back) instead of holding it up for good.
 */
struct restore_watch {
	const struct strata_url *url;
	struct strata_conn *probe;
	char app[64];
	double lock_wait, waited;
	struct sbuf who;
	bool is_cancelled;
};

static void restore_tick(void *data)
{
	struct restore_watch *w = data;
	const char *vals[] = { w->app };
	PGresult *res;

	if (w->is_cancelled ||
	    (!w->probe && pgdrv_driver.connect(&w->probe, w->url, NULL) < 0)) {
		w->probe = NULL;
		return;
	}
	res = PQexecParams(
	        session_of(w->probe),
	        "SELECT " PGSESSION_COLUMNS
	        ", r.pid, extract(epoch FROM now() - r.query_start)::float8"
	        " FROM pg_catalog.pg_stat_activity r"
	        " JOIN pg_catalog.pg_stat_activity a"
	        " ON a.pid = (pg_catalog.pg_blocking_pids(r.pid))[1]"
	        " WHERE r.application_name = $1 AND r.wait_event_type = 'Lock'",
	        1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strtod(PQgetvalue(res, 0, 8), NULL) >= w->lock_wait) {
		const char *pid[] = { PQgetvalue(res, 0, 7) };
		PGresult *cancel;

		w->waited = strtod(PQgetvalue(res, 0, 8), NULL);
		sbuf_reset(&w->who);
		pgsession_describe(&w->who, res, 0, false);
		cancel = PQexecParams(
		        session_of(w->probe),
		        "SELECT pg_catalog.pg_cancel_backend($1::int)", 1, NULL,
		        pid, NULL, NULL, 0);
		w->is_cancelled = PQresultStatus(cancel) == PGRES_TUPLES_OK;
		PQclear(cancel);
	}
	PQclear(res);
}

/*
 * psql's error (its "psql:<stdin>:LINE: ERROR:  ..." line) as the
 * message, with the file's name and line; what else it said (the
 * statement's LINE and caret) as the detail. Returns -1.
 */
static int psql_failed(struct strata_error *err, const struct child *c,
                       const char *path, const char *password)
{
	char *text = backup_scrub(c->err.buf, password);
	const char *hit = strstr(text, "ERROR:  "), *start = hit;
	struct sbuf detail = SBUF_INIT;
	long line = 0;
	size_t end = 0;

	if (hit) {
		while (start > text && start[-1] != '\n')
			start--;
		end = (size_t)(hit - text) + strcspn(hit, "\n");
		/* psql:<stdin>:LINE: */
		if (!strncmp(start, "psql:<stdin>:", 13))
			line = strtol(start + 13, NULL, 10);
		hit += strlen("ERROR:  ");
		if (line > 0)
			strata_error_set(
			        err, STRATA_EFAILED,
			        "restoring '%s' failed at line %ld: %.*s", path,
			        line, (int)(text + end - hit), hit);
		else
			strata_error_set(err, STRATA_EFAILED,
			                 "restoring '%s' failed: %.*s", path,
			                 (int)(text + end - hit), hit);
		sbuf_add(&detail, text, (size_t)(start - text));
		sbuf_adds(&detail, text + end + (text[end] == '\n'));
	} else {
		strata_error_set(err, STRATA_EFAILED, "restoring '%s' failed",
		                 path);
		sbuf_adds(&detail, text);
	}
	while (detail.len && strchr("\n ", detail.buf[detail.len - 1]))
		detail.buf[--detail.len] = '\0';
	if (detail.len)
		sbuf_addch(&detail, '\n');
	sbuf_adds(&detail, "psql ");
	child_describe_status(&detail, c);
	sbuf_adds(
	        &detail,
	        "; it ran the file in one transaction, which was rolled back.");
	strata_error_detail(err, "%s", detail.buf);
	sbuf_release(&detail);
	free(text);
	return -1;
}

#define RESTORE_ONE_TXN 1u /* --single-transaction: all or nothing */
#define RESTORE_CLEAN   2u /* --clean --if-exists: replace what is there */

/*
 * Runs pg_restore of `b` into the database `url`, which exists; SQL text
 * goes through psql instead, always in one transaction (ON_ERROR_STOP
 * and --single-transaction), its input streamed from the file by zlib:
 * when reading fails halfway, psql is killed before it sees an end of
 * input it would commit.
 */
static int run_pg_restore(const struct strata_backup *b,
                          const struct strata_url *url, unsigned flags,
                          int jobs, double lock_wait, const char *bindir,
                          strata_event_fn on_event, void *event_data,
                          struct strata_error *err)
{
	int dump_major = pgbackup_version_major(b->tool), server_major;
	struct strata_conn *conn = NULL;
	struct child_conn cc = { .pass_fd = -1 };
	struct pg_tool tool = { 0 };
	struct child c = CHILD_INIT;
	char *min_what = xstrfmt("the pg_dump that wrote '%s' (%s)", b->path,
	                         b->tool ? b->tool : "unknown");
	struct restore_watch w = { .who = SBUF_INIT };
	bool is_plain = b->format == STRATA_BACKUP_FORMAT_PLAIN;
	struct plain_reader in = { .failure = SBUF_INIT };
	const char *argv[12];
	char jobs_arg[32];
	size_t n = 0;
	int rc = -1;

	if (pgdrv_driver.connect(&conn, url, err) < 0)
		goto done;
	server_major = PQserverVersion(session_of(conn)) / 10000;
	if (pgchild_init(&cc, session_of(conn), NULL,
	                 is_plain ? "psql" : "pg_restore", err) < 0)
		goto done;
	pgdrv_driver.close(conn);
	conn = NULL;
	if (lock_wait > 0) {
		/* pg_restore sets lock_timeout = 0 itself: its session is
		 * found by this name and watched instead */
		snprintf(w.app, sizeof(w.app), "strata restore %ld",
		         (long)getpid());
		child_env_set(&cc.env, "PGAPPNAME", w.app);
		w.url = url;
		w.lock_wait = lock_wait;
		c.tick = restore_tick;
		c.tick_data = &w;
	}
	if (pgbackup_find_tool(&tool, is_plain ? "psql" : "pg_restore",
	                       dump_major > server_major ? dump_major
	                                                 : server_major,
	                       dump_major, min_what, bindir, err) < 0)
		goto done;
	argv[n++] = tool.path;
	argv[n++] = "--no-password";
	if (is_plain) {
		assert(!(flags & RESTORE_CLEAN));
		if (plain_reader_open(&in, b->path, err) < 0)
			goto done;
		argv[n++] = "--no-psqlrc";
		argv[n++] = "--quiet";
		argv[n++] = "--set=ON_ERROR_STOP=1";
		argv[n++] = "--single-transaction";
		/* query results (pg_dump's SELECT set_config()) */
		argv[n++] = "--output=/dev/null";
		/* stdin as a file: errors then carry their line */
		argv[n++] = "--file=-";
		argv[n++] = cc.dbname_arg;
		c.feed = plain_reader_feed;
		c.feed_data = &in;
	} else {
		argv[n++] = "--exit-on-error";
		if (flags & RESTORE_ONE_TXN)
			argv[n++] = "--single-transaction";
		/* pg_restore runs jobs of a directory (or custom) archive,
		 * never in one transaction */
		else if (jobs > 1 &&
		         b->format == STRATA_BACKUP_FORMAT_DIRECTORY) {
			snprintf(jobs_arg, sizeof(jobs_arg), "--jobs=%d", jobs);
			argv[n++] = jobs_arg;
		}
		if (flags & RESTORE_CLEAN) {
			argv[n++] = "--clean";
			argv[n++] = "--if-exists";
		}
		argv[n++] = cc.dbname_arg;
		argv[n++] = b->path;
	}
	argv[n] = NULL;
	c.argv = argv;
	pgchild_pass(&cc, &c);
	if (child_run(&c, err) < 0)
		goto done;
	if (!child_succeeded(&c) && w.is_cancelled) {
		strata_error_set(
		        err, STRATA_ELOCK,
		        "could not restore into '%s': a table stayed locked by another session for %.0f s",
		        /* the probe cancelled it */
		        PQdb(session_of(w.probe)), w.waited);
		strata_error_detail(
		        err, "Blocked by %s%s", w.who.buf,
		        strchr(".;", w.who.buf[w.who.len - 1]) ? "" : ".");
		strata_error_hint(
		        err,
		        "End the session in the way, or restore when it is done.");
		goto done;
	}
	if (c.is_feed_failed) {
		strata_error_set(err, STRATA_EFAILED, "%s", in.failure.buf);
		strata_error_detail(
		        err,
		        "psql was stopped before the end of its input, so its transaction was never committed.");
		goto done;
	}
	if (!child_succeeded(&c)) {
		if (is_plain)
			psql_failed(err, &c, b->path, cc.password);
		else
			pgchild_tool_failed(err, STRATA_EFAILED,
			                    "pg_restore failed", "pg_restore",
			                    &c, cc.password);
		goto done;
	}
	pgchild_tool_warnings(on_event, event_data, &c, cc.password);
	rc = 0;
done:
	if (w.probe)
		pgdrv_driver.close(w.probe);
	sbuf_release(&w.who);
	if (conn)
		pgdrv_driver.close(conn);
	child_release(&c);
	pgchild_release(&cc);
	pgbackup_tool_release(&tool);
	plain_reader_close(&in);
	free(min_what);
	return rc;
}
/*
 * With CREATEDB and the target's ownership: the backup goes into a new
 * database beside it, is verified there, gets the target's newer audit
 * rows, and only then takes the target's name in one transaction
 * (ALTER DATABASE ... RENAME twice); the old one is dropped after, or
 * kept. Until that commit the target is untouched, so every failure
 * before leaves it as it was.
 */
static int restore_swap(const struct strata_backup *b, struct backup_target *t,
                        const struct target_rights *r,
                        const struct strata_restore_options *opts,
                        struct strata_error *err)
{
	struct strata_error e2 = STRATA_ERROR_INIT;
	struct strata_url new_url = { 0 };
	struct strata_conn *conn = NULL, *old = NULL;
	struct sbuf sql = SBUF_INIT;
	PGresult *rows = NULL;
	PGconn *m = NULL;
	char *name = NULL, *new_name = NULL, *old_name = NULL, suffix[40];
	bool is_created = false, is_swapped = false;
	int carried = 0, rc = -1;

	if (pgsession_maintenance_connect(&m, &name, &t->url, err) < 0)
		goto done;
	if (pgsafety_refuse_if_connected(m, name, err) < 0)
		goto done;
	snprintf(suffix, sizeof(suffix), "%ld_%lld", (long)getpid(),
	         (long long)time(NULL));
	new_name = pgsafety_side_name(name, "_strata_restore_", suffix);
	old_name = pgsafety_side_name(name, "_strata_old_", suffix);
	sbuf_adds(&sql, "CREATE DATABASE ");
	sbuf_add_ident(&sql, new_name);
	sbuf_adds(&sql, " TEMPLATE template0 OWNER ");
	sbuf_add_ident(&sql, r->owner);
	if (pgsession_run(m, sql.buf, err) < 0)
		goto done;
	is_created = true;
	if (pgchild_resolve(&new_url, &t->url, new_name, err) < 0)
		goto done;
	backup_emit(
	        opts->on_event, opts->event_data, STRATA_EVENT_RESTORE_PROGRESS,
	        "restoring '%s' into new database '%s' ('%s' stays as it is until that is complete)",
	        b->path, new_name, name);
	if (run_pg_restore(b, &new_url, 0, opts->jobs, 0, opts->pg_bindir,
	                   opts->on_event, opts->event_data, err) < 0 ||
	    pgdrv_driver.connect(&conn, &new_url, err) < 0)
		goto done;
	if (b->kind != STRATA_BACKUP_DATA && !b->is_external &&
	    pgsafety_verify_restored(b, session_of(conn),
	                             "the restored copy does not verify",
	                             err) < 0)
		goto done;
	/* a schema-only backup is followed by a data load that brings the
	 * trail: rows of ours now would collide with it */
	if (b->kind == STRATA_BACKUP_FULL &&
	    (pgdrv_driver.connect(&old, &t->url, err) < 0 ||
	     pgsafety_audit_rows(&rows, session_of(old), t->audit, err) < 0 ||
	     pgsafety_audit_carry(&carried, session_of(conn), t->audit, rows,
	                          err) < 0))
		goto done;
	if (old)
		pgsafety_close_and_await(old, &t->url);
	old = NULL;
	pgsafety_close_and_await(conn, &new_url);
	conn = NULL;
	if (carried)
		backup_emit(
		        opts->on_event, opts->event_data,
		        STRATA_EVENT_RESTORE_PROGRESS,
		        "carried %d audit row%s written after the backup over",
		        carried, carried == 1 ? "" : "s");
	if (pgsafety_refuse_if_connected(m, name, err) < 0)
		goto done;
	sbuf_reset(&sql);
	sbuf_adds(&sql, "BEGIN; ALTER DATABASE ");
	sbuf_add_ident(&sql, name);
	sbuf_adds(&sql, " RENAME TO ");
	sbuf_add_ident(&sql, old_name);
	sbuf_adds(&sql, "; ALTER DATABASE ");
	sbuf_add_ident(&sql, new_name);
	sbuf_adds(&sql, " RENAME TO ");
	sbuf_add_ident(&sql, name);
	sbuf_adds(&sql, "; COMMIT");
	if (pgsession_run(m, sql.buf, err) < 0) {
		pgsession_run(m, "ROLLBACK", NULL);
		/* 55006: a session connected since the check */
		if (err && !strcmp(err->sqlstate, "55006") &&
		    pgsafety_refuse_if_connected(m, name, &e2) < 0 &&
		    e2.message) {
			strata_error_release(err);
			*err = e2;
			e2 = (struct strata_error)STRATA_ERROR_INIT;
		}
		goto done;
	}
	is_swapped = true;
	if (opts->is_keep_old) {
		t->kept = xstrdup(old_name);
	} else if (pgsafety_drop_named(m, old_name, &e2) < 0) {
		backup_emit(
		        opts->on_event, opts->event_data, STRATA_EVENT_WARNING,
		        "restored, but the database as it was, now '%s', could not be dropped: %s",
		        old_name, e2.message);
		t->kept = xstrdup(old_name);
	}
	rc = 0;
done:
	if (conn)
		pgdrv_driver.close(conn);
	if (old)
		pgdrv_driver.close(old);
	if (is_created && !is_swapped && m) {
		strata_error_release(&e2);
		if (pgsafety_drop_named(m, new_name, &e2) < 0)
			backup_emit(
			        opts->on_event, opts->event_data,
			        STRATA_EVENT_WARNING,
			        "could not drop the unfinished copy '%s': %s",
			        new_name, e2.message);
	}
	strata_error_release(&e2);
	PQclear(rows);
	if (m)
		PQfinish(m);
	url_release(&new_url);
	sbuf_release(&sql);
	free(name);
	free(new_name);
	free(old_name);
	return rc;
}

/* "ALTER ROLE alice CREATEDB;", the grant that is missing. */
static void add_grant(struct sbuf *sb, const char *what, const char *role,
                      const char *rest)
{
	sbuf_adds(sb, what);
	sbuf_add_ident(sb, role);
	sbuf_adds(sb, rest);
}

/*
 * Without the rights to swap: pg_restore --clean --if-exists in one
 * transaction inside the target, so that a failure rolls everything back.
 * Refused before anything is touched when the role does not own what is
 * there (DROP would fail on it). The target's audit rows written after
 * the backup are put back after.
 */
static int restore_in_place(const struct strata_backup *b,
                            struct backup_target *t,
                            const struct target_rights *r, PGconn *pg,
                            const struct strata_restore_options *opts,
                            struct strata_error *err)
{
	struct strata_error e2 = STRATA_ERROR_INIT;
	struct strata_conn *conn = NULL;
	struct sbuf grant = SBUF_INIT, list = SBUF_INIT;
	PGresult *rows = NULL;
	int n = 0, carried = 0, rc = -1;

	if (r->n_unowned) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "cannot replace '%s': role '%s' may not create databases and does not own everything in it",
		        PQdb(pg), r->role);
		strata_error_detail(err, "Not owned by '%s': %s.", r->role,
		                    r->unowned.buf);
		if (!r->can_createdb)
			add_grant(&grant, "ALTER ROLE ", r->role, " CREATEDB;");
		if (!r->is_owner) {
			sbuf_adds(&grant, grant.len ? " and " : "");
			sbuf_adds(&grant, "ALTER DATABASE ");
			sbuf_add_ident(&grant, PQdb(pg));
			add_grant(&grant, " OWNER TO ", r->role, ";");
		}
		strata_error_hint(
		        err,
		        "As a superuser, run %s then restore again: strata then restores into a new database and swaps it in. Or restore as the owner of those objects.",
		        grant.buf);
		goto done;
	}
	if (pgsafety_other_sessions(&n, &list, pg, PQdb(pg), err) < 0)
		goto done;
	if (n)
		backup_emit(
		        opts->on_event, opts->event_data, STRATA_EVENT_WARNING,
		        "%d other session%s connected to '%s': the restore waits for their locks\n%s",
		        n, n == 1 ? " is" : "s are", PQdb(pg), list.buf);
	if (b->kind == STRATA_BACKUP_FULL &&
	    pgsafety_audit_rows(&rows, pg, t->audit, err) < 0)
		goto done;
	backup_emit(
	        opts->on_event, opts->event_data, STRATA_EVENT_RESTORE_PROGRESS,
	        "restoring '%s' into '%s' in one transaction (role '%s' may not create databases)",
	        b->path, t->url.redacted, r->role);
	if (run_pg_restore(b, &t->url, RESTORE_ONE_TXN | RESTORE_CLEAN, 0,
	                   opts->lock_wait, opts->pg_bindir, opts->on_event,
	                   opts->event_data, err) < 0)
		goto done;
	/* restored: what follows can only warn */
	rc = 0;
	if (pgdrv_driver.connect(&conn, &t->url, &e2) < 0) {
		backup_emit(opts->on_event, opts->event_data,
		            STRATA_EVENT_WARNING,
		            "restored, but it could not be checked: %s",
		            e2.message);
		goto done;
	}
	if (b->kind != STRATA_BACKUP_DATA && !b->is_external &&
	    pgsafety_verify_restored(
	            b, session_of(conn),
	            "restored in place, but it differs from the backup",
	            &e2) < 0)
		backup_emit(opts->on_event, opts->event_data,
		            STRATA_EVENT_WARNING, "%s", e2.message);
	strata_error_release(&e2);
	if (pgsafety_audit_carry(&carried, session_of(conn), t->audit, rows,
	                         &e2) < 0)
		backup_emit(
		        opts->on_event, opts->event_data, STRATA_EVENT_WARNING,
		        "restored, but the audit rows written after the backup could not be carried over: %s",
		        e2.message);
done:
	if (conn)
		pgdrv_driver.close(conn);
	strata_error_release(&e2);
	PQclear(rows);
	sbuf_release(&grant);
	sbuf_release(&list);
	return rc;
}

int pgrestore_op(const struct strata_backup *b, struct backup_target *t,
                 bool is_clean, const struct strata_restore_options *opts,
                 struct strata_error *err)
{
	struct strata_error e2 = STRATA_ERROR_INIT;
	struct target_rights r = { 0 };
	struct strata_conn *conn = NULL;
	int rc = -1;

	if (!t->exists) {
		/* created for the restore: dropped again when it fails */
		if (pgchild_create_database(
		            &t->url, "restore into a new database", err) < 0)
			return -1;
		backup_emit(opts->on_event, opts->event_data,
		            STRATA_EVENT_RESTORE_PROGRESS,
		            "restoring '%s' into new database '%s'", b->path,
		            t->url.redacted);
		rc = run_pg_restore(b, &t->url, 0, opts->jobs, 0,
		                    opts->pg_bindir, opts->on_event,
		                    opts->event_data, err);
		if (rc < 0 &&
		    pgdrv_driver.database_drop(&t->url, true, &e2) < 0)
			backup_emit(
			        opts->on_event, opts->event_data,
			        STRATA_EVENT_WARNING,
			        "could not drop '%s', created for the restore: %s",
			        t->url.redacted, e2.message);
		strata_error_release(&e2);
		return rc;
	}
	if (!is_clean) {
		/* an empty database, or a data load: all or nothing */
		backup_emit(opts->on_event, opts->event_data,
		            STRATA_EVENT_RESTORE_PROGRESS,
		            "restoring '%s' into '%s' in one transaction",
		            b->path, t->url.redacted);
		return run_pg_restore(b, &t->url, RESTORE_ONE_TXN, 0,
		                      opts->lock_wait, opts->pg_bindir,
		                      opts->on_event, opts->event_data, err);
	}
	/* every right checked before anything is touched */
	if (pgdrv_driver.connect(&conn, &t->url, err) < 0 ||
	    pgsafety_read_rights(&r, session_of(conn), err) < 0)
		goto done;
	if (r.can_createdb && r.is_owner) {
		pgsafety_close_and_await(conn, &t->url);
		conn = NULL;
		rc = restore_swap(b, t, &r, opts, err);
	} else if (b->format == STRATA_BACKUP_FORMAT_PLAIN) {
		/* its statements create; what to drop first it cannot say,
		 * and strata will not guess */
		strata_error_set(
		        err, STRATA_EFAILED,
		        "cannot replace '%s' with SQL text in place: role '%s' may not create databases or does not own it",
		        PQdb(session_of(conn)), r.role);
		strata_error_detail(
		        err,
		        "A plain dump only creates; replacing a database with it means loading it into a new database and swapping that in, which needs CREATEDB and the database's ownership.");
		strata_error_hint(
		        err,
		        "As a superuser, grant them (ALTER ROLE ... CREATEDB; ALTER DATABASE ... OWNER TO ...), or restore into a new database, or restore a custom-format dump (pg_dump -Fc), which can replace in place.");
	} else {
		rc = restore_in_place(b, t, &r, session_of(conn), opts, err);
	}
done:
	if (conn)
		pgdrv_driver.close(conn);
	pgsafety_rights_release(&r);
	return rc;
}

int pgrestore_test(struct strata_backup *out, const struct strata_backup *b,
                   const struct strata_verify_options *opts,
                   struct strata_error *err)
{
	struct strata_error drop_err = STRATA_ERROR_INIT;
	struct strata_url base = { 0 }, scratch = { 0 };
	struct strata_conn *conn = NULL;
	struct counts k = { 0 };
	char *name = NULL;
	bool is_created = false;
	int rc = -1;

	if (!opts->url) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "a restore test of a PostgreSQL backup needs a server");
		strata_error_hint(
		        err,
		        "Give the URL of any database on the server to test on: a scratch database is created there and dropped afterwards.");
		return strata_error_reason(err, STRATA_REASON_NEED_SCRATCH_URL,
		                           -1);
	}
	if (url_parse(&base, opts->url, err) < 0)
		goto done;
	name = xstrfmt("strata_restore_test_%ld_%lld", (long)getpid(),
	               (long long)time(NULL));
	if (pgchild_resolve(&scratch, &base, name, err) < 0 ||
	    pgchild_create_database(
	            &scratch,
	            "restore test: a scratch database is created (and dropped afterwards)",
	            err) < 0)
		goto done;
	is_created = true;
	backup_emit(opts->on_event, opts->event_data,
	            STRATA_EVENT_RESTORE_PROGRESS,
	            "restore test: restoring into scratch database '%s'", name);
	if (run_pg_restore(b, &scratch, 0, 0, 0, opts->pg_bindir,
	                   opts->on_event, opts->event_data, err) < 0 ||
	    pgdrv_driver.connect(&conn, &scratch, err) < 0 ||
	    pgbackup_counts_send(&k, session_of(conn), false, err) < 0 ||
	    pgbackup_counts_collect(out, &k, session_of(conn), err) < 0)
		goto done;
	rc = 0;
done:
	if (conn) {
		pgbackup_counts_release(&k, session_of(conn));
		pgdrv_driver.close(conn);
	}
	if (is_created &&
	    pgdrv_driver.database_drop(&scratch, true, &drop_err) < 0)
		backup_emit(opts->on_event, opts->event_data,
		            STRATA_EVENT_WARNING,
		            "could not drop scratch database '%s': %s", name,
		            drop_err.message);
	strata_error_release(&drop_err);
	url_release(&base);
	url_release(&scratch);
	free(name);
	return rc;
}
