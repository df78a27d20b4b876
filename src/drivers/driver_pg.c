/*
 * The PostgreSQL driver, through libpq. Connection strings go to libpq
 * untouched, so every libpq convention holds (URLs, keyword strings, PG*
 * variables, .pgpass, service files, sslmode, multiple hosts). It runs a
 * migration's statements in one pipeline (one round trip), one by one
 * outside a transaction, or, when the parser rejected the text, as one
 * simple-protocol query as sqlx does; it keeps the sqlx history table,
 * takes sqlx's advisory lock on a dedicated session by polling (design.md,
 * The lock), and creates and drops databases through a maintenance
 * database as createdb and dropdb do.
 *
 * Its files: this one (connecting, notices, the driver table), pg_exec.c,
 * pg_query.c, pg_lock.c, pg_database.c, and pgsession.c, which the backups
 * share.
 *
 * It never prints. Notices raised by migration SQL (and by COMMIT, which
 * may fire deferred triggers) become STRATA_EVENT_NOTICE; those of
 * strata's own SQL are dropped, or every run would report that
 * "relation "_sqlx_migrations" already exists, skipping". It does not
 * decide what runs, in which transaction, or in which order: the engine
 * does, and sends each migration's transaction as a batch (batch.h).
 */
#include "drivers/pg_conn.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/text.h"
#include "engine/url.h"
#include "sql/split.h"
#include "drivers/driver.h"
#include "engine/progress.h"
#include "backup/backup.h"

#include <errno.h>
#include <inttypes.h>
#include "drivers/pq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>

static void on_notice(void *arg, const PGresult *res)
{
	struct pg_conn *pc = arg;
	struct strata_event ev = { .kind = STRATA_EVENT_NOTICE };
	char *text;

	if (pc->is_quiet)
		return;
	/* as psql shows it: "NOTICE:  …" with any DETAIL and HINT lines */
	text = pgsession_trimmed(PQresultErrorMessage(res));
	ev.message = text;
	driver_emit(&pc->base, &ev);
	free(text);
}

static void cancel_session(struct cancel_hook *h)
{
	struct pg_cancel *c = (struct pg_cancel *)h;
	char buf[256];

	c->is_sent = 1;
	PQcancel(c->cancel, buf, sizeof(buf));
}

/*
 * A cancel request makes the server signal the session before PQcancel()
 * returns, but the session acts on the signal only at its next check for
 * interrupts: with the next command when the two arrive together. After
 * a cancelled statement that command is strata's own (the rollback, the
 * failure's audit row), which the request would cancel in the statement's
 * place; and the statement is asked again every 200 ms while it runs, so
 * a request can come late. One trivial statement spends any such signal:
 * it succeeds when none is pending, and when one is, it fails, and the
 * server's recovery from an error forgets pending cancels (as it does in
 * a failed transaction, which the statement's error there also leaves).
 */
void pgdrv_settle_cancel(struct pg_conn *pc)
{
	PGresult *res;

	if (!pc->cancel.is_sent || PQstatus(pc->pg) != CONNECTION_OK)
		return;
	pc->cancel.is_sent = 0;
	res = PQexec(pc->pg, "SELECT 1");
	PQclear(res);
}

/* Lets strata_cancel() reach the session `pg` (connected). */
void pgdrv_cancel_arm(struct pg_cancel *c, PGconn *pg)
{
	c->hook.fn = cancel_session;
	c->is_sent = 0;
	c->cancel = PQgetCancel(pg);
	if (c->cancel)
		cancel_register(&c->hook);
}

void pgdrv_cancel_disarm(struct pg_cancel *c)
{
	if (!c->cancel)
		return;
	cancel_unregister(&c->hook);
	PQfreeCancel(c->cancel);
	c->cancel = NULL;
}

static void pg_close(struct strata_conn *c)
{
	struct pg_conn *pc = pg_conn_of(c);

	if (!pc)
		return;
	pglock_close(pc);
	pgdrv_cancel_disarm(&pc->cancel);
	PQfinish(pc->pg);
	strmap_release(&pc->prepared);
	arena_release(&pc->prepared_keys);
	free(pc->blocker);
	free(pc->conninfo);
	free(pc->redacted);
	free(pc);
}

static int pg_connect(struct strata_conn **out, const struct strata_url *url,
                      struct strata_error *err)
{
	const char *const keys[] = { "dbname", "fallback_application_name",
		                     NULL };
	const char *const vals[] = { url->raw, "strata", NULL };
	struct pg_conn *pc = xcalloc(1, sizeof(*pc));
	struct pglock_ahead *ahead;
	char *password = NULL;
	int rc = -1;

	pc->base.drv = &pgdrv_driver;
	pc->conninfo = xstrdup(url->raw);
	pc->redacted = xstrdup(url->redacted);
	ahead = url->is_lock_ahead ? pglock_ahead_begin(url->raw) : NULL;
	pc->pg = pgsession_connect(keys, vals, 1);
	pglock_ahead_end(pc, ahead);
	if (PQstatus(pc->pg) != CONNECTION_OK)
		password = pgsession_conninfo_password(url->raw);
	if (pgsession_check_connected(pc->pg, pc->redacted, password, err) < 0)
		goto done;
	pgdrv_cancel_arm(&pc->cancel, pc->pg);
	PQsetNoticeReceiver(pc->pg, on_notice, pc);
	pc->base.server_version = PQserverVersion(pc->pg);
	*out = &pc->base;
	pc = NULL;
	rc = 0;
done:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	pg_close(pc ? &pc->base : NULL);
	return rc;
}

/* The PGconn, for the backups (see pgsession.h). */
static void *handle(struct strata_conn *c)
{
	return pg_conn_of(c)->pg;
}

static const char pg_audit_ddl[] = "CREATE TABLE IF NOT EXISTS %s (\n"
                                   "    id BIGSERIAL PRIMARY KEY,\n"
                                   "    action TEXT NOT NULL,\n"
                                   "    version BIGINT,\n"
                                   "    description TEXT,\n"
                                   "    checksum BYTEA,\n"
                                   "    outcome TEXT NOT NULL,\n"
                                   "    error TEXT,\n"
                                   "    sqlstate TEXT,\n"
                                   "    started_at TIMESTAMPTZ NOT NULL,\n"
                                   "    finished_at TIMESTAMPTZ NOT NULL,\n"
                                   "    duration_ns BIGINT NOT NULL,\n"
                                   "    lock_wait_ns BIGINT,\n"
                                   "    os_user TEXT,\n"
                                   "    db_user TEXT,\n"
                                   "    host TEXT,\n"
                                   "    pid INTEGER,\n"
                                   "    strata_version TEXT NOT NULL,\n"
                                   "    command TEXT,\n"
                                   "    git_commit TEXT,\n"
                                   "    up_sql TEXT,\n"
                                   "    down_sql TEXT,\n"
                                   "    rows_changed BIGINT,\n"
                                   "    batches BIGINT,\n"
                                   "    version_text TEXT\n"
                                   ")";

const struct strata_driver pgdrv_driver = {
	.name = "postgres",
	/* libpg_query keeps its state per thread: split() on several */
	.caps = DRV_ADVISORY_LOCK | DRV_PG_SQL | DRV_SPLIT_THREADS,
	.connect = pg_connect,
	.close = pg_close,
	.split = split_pg,
	.split_keep = split_pg_keep,
	.exec = pgexec_exec,
	.exec_batch = pgexec_batch,
	.exec_rows = pgexec_exec_rows,
	.rollback = pgexec_rollback,
	.lock = pglock_lock,
	.unlock = pglock_unlock,
	.prepare_lock = pglock_prepare,
	.lock_check = pglock_check,
	.runner = pglock_runner,
	.create_failed = pgquery_create_failed,
	.table_exists = pgquery_table_exists,
	.tables_exist = pgquery_tables_exist,
	.query = pgquery_query,
	.query_each = pgquery_each,
	.query_each_all = pgquery_each_all,
	.audit_ddl = pg_audit_ddl,
	.history_ddl = pgquery_history_ddl,
	.current_user = "current_user",
	.elapsed_ns =
	        "CAST(pg_catalog.set_config('strata.elapsed_ns', CAST(CAST(extract(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.now()) * 1000000000 AS bigint) AS text), true) AS bigint)",
	.elapsed_ns_again =
	        "CAST(pg_catalog.current_setting('strata.elapsed_ns') AS bigint)",
	.mark_step = "SELECT " PG_STEP_MARK,
	.elapsed_since_mark =
	        "CAST(pg_catalog.set_config('strata.elapsed_ns', CAST(CAST((extract(epoch FROM pg_catalog.clock_timestamp()) - CAST(pg_catalog.current_setting('strata.step_at') AS numeric)) * 1000000000 AS bigint) AS text), true) AS bigint)",
	.marked_at =
	        "(TIMESTAMPTZ 'epoch' + CAST(pg_catalog.current_setting('strata.step_at') || ' s' AS interval))",
	.iso_time =
	        "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
	.timestamp_iso = "to_char(CAST(%s AS TIMESTAMPTZ) AT TIME ZONE 'UTC', "
	                 "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
	.hex = "encode(CAST(%s AS BYTEA), 'hex')",
	.database_create = pgdatabase_create,
	.database_drop = pgdatabase_drop,
	.database_exists = pgdatabase_exists,
	.handle = handle,
	.backup = &pgbackup_ops,
};
