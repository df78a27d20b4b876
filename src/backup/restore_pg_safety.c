/*
 * What a PostgreSQL restore checks before it touches the target (the
 * role's rights, other sessions, names for the sides of a swap), the row
 * counts it verifies after, and the audit trail carried across it.
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

/* ---- restoring: never the only copy first ------------------------------- */

void pgsafety_rights_release(struct target_rights *r)
{
	free(r->role);
	free(r->owner);
	sbuf_release(&r->unowned);
	memset(r, 0, sizeof(*r));
}

/* Objects of the target the role does not own: pg_restore --clean would
 * fail on them (and roll back); named up front instead. */
static const char unowned_sql[] =
        "SELECT 'schema ' || pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_namespace n"
        " WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname !~ '^pg_'"
        " AND NOT pg_catalog.pg_has_role(n.nspowner, 'MEMBER')"
        " UNION ALL SELECT CASE c.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view '"
        " WHEN 'm' THEN 'materialized view ' ELSE 'table ' END"
        " || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)"
        " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
        " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
        " AND NOT pg_catalog.pg_has_role(c.relowner, 'MEMBER')"
        " ORDER BY 1";

int pgsafety_read_rights(struct target_rights *r, PGconn *pg,
                         struct strata_error *err)
{
	PGresult *res = PQexec(
	        pg,
	        "SELECT current_user, r.rolsuper, r.rolsuper OR r.rolcreatedb,"
	        " pg_catalog.pg_get_userbyid(d.datdba),"
	        " pg_catalog.pg_has_role(d.datdba, 'MEMBER')"
	        " FROM pg_catalog.pg_roles r, pg_catalog.pg_database d"
	        " WHERE r.rolname = current_user"
	        " AND d.datname = pg_catalog.current_database()");
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->unowned = (struct sbuf)SBUF_INIT;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgsession_error(err, pg, res);
		goto done;
	}
	r->role = xstrdup(PQgetvalue(res, 0, 0));
	r->is_super = !strcmp(PQgetvalue(res, 0, 1), "t");
	r->can_createdb = !strcmp(PQgetvalue(res, 0, 2), "t");
	r->owner = xstrdup(PQgetvalue(res, 0, 3));
	r->is_owner = !strcmp(PQgetvalue(res, 0, 4), "t");
	PQclear(res);
	res = PQexec(pg, unowned_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgsession_error(err, pg, res);
		goto done;
	}
	r->n_unowned = PQntuples(res);
	for (int i = 0; i < r->n_unowned && i < 10; i++)
		sbuf_addf(&r->unowned, "%s%s", i ? ", " : "",
		          PQgetvalue(res, i, 0));
	if (r->n_unowned > 10)
		sbuf_addf(&r->unowned, " and %d more", r->n_unowned - 10);
	rc = 0;
done:
	PQclear(res);
	return rc;
}

/*
 * The client sessions connected to database `name` other than ours, as
 * run names a blocker, one sentence each, into `out`; their number.
 */
int pgsafety_other_sessions(int *out, struct sbuf *list, PGconn *pg,
                            const char *name, struct strata_error *err)
{
	const char *vals[] = { name };
	PGresult *res = PQexecParams(
	        pg,
	        "SELECT " PGSESSION_COLUMNS
	        " FROM pg_catalog.pg_stat_activity a WHERE a.datname = $1"
	        " AND a.pid <> pg_catalog.pg_backend_pid()"
	        /* NULL: another role's, as a non-superuser sees it */
	        " AND coalesce(a.backend_type, 'client backend') = 'client backend'"
	        " ORDER BY a.pid",
	        1, NULL, vals, NULL, NULL, 0);

	*out = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgsession_error(err, pg, res);
		PQclear(res);
		return -1;
	}
	*out = PQntuples(res);
	for (int i = 0; i < *out; i++) {
		sbuf_adds(list, i ? "\n" : "");
		pgsession_describe(list, res, i, false);
		sbuf_addch(list, '.');
	}
	PQclear(res);
	return 0;
}

/*
 * Closes a session of ours on the target and waits (up to 2 s) until the
 * server has let it go: a backend ends after its client has hung up, and
 * until then it counts as connected, which a rename refuses.
 */
void pgsafety_close_and_await(struct strata_conn *c,
                              const struct strata_url *url)
{
	char pid_text[16];
	const char *vals[] = { pid_text };
	PGconn *m = NULL;
	char *name = NULL;

	snprintf(pid_text, sizeof(pid_text), "%d", PQbackendPID(session_of(c)));
	pgdrv_driver.close(c);
	if (pgsession_maintenance_connect(&m, &name, url, NULL) < 0)
		return;
	for (int i = 0; i < 200; i++) {
		PGresult *res = PQexecParams(
		        m,
		        "SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1::int",
		        1, NULL, vals, NULL, NULL, 0);
		bool is_gone = PQresultStatus(res) != PGRES_TUPLES_OK ||
		               PQntuples(res) == 0;

		PQclear(res);
		if (is_gone)
			break;
		poll(NULL, 0, 10);
	}
	PQfinish(m);
	free(name);
}

/* Refuses a swap while sessions are connected to `name` (they would keep
 * the old database, and PostgreSQL refuses to rename it under them). */
int pgsafety_refuse_if_connected(PGconn *pg, const char *name,
                                 struct strata_error *err)
{
	struct sbuf list = SBUF_INIT;
	int n = 0, rc = 0;

	if (pgsafety_other_sessions(&n, &list, pg, name, err) < 0)
		rc = -1;
	else if (n) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "refusing to replace '%s': %d other session%s connected to it",
		        name, n, n == 1 ? " is" : "s are");
		strata_error_detail(err, "%s", list.buf);
		strata_error_hint(
		        err,
		        "Stop them (the application, psql, a pooler such as PgBouncer: PAUSE), then restore again; or restore into another database.");
		rc = -1;
	}
	sbuf_release(&list);
	return rc;
}

/* `base` + `infix` + `suffix`, cut to PostgreSQL's 63 bytes at a
 * character's start. */
char *pgsafety_side_name(const char *base, const char *infix,
                         const char *suffix)
{
	size_t room = 63 - strlen(infix) - strlen(suffix);
	size_t n = strlen(base);

	if (n > room) {
		n = room;
		while (n && ((unsigned char)base[n] & 0xc0) == 0x80)
			n--;
	}
	return xstrfmt("%.*s%s%s", (int)n, base, infix, suffix);
}

int pgsafety_drop_named(PGconn *pg, const char *name, struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	int rc;

	sbuf_adds(&sql, "DROP DATABASE IF EXISTS ");
	sbuf_add_ident(&sql, name);
	rc = pgsession_run(pg, sql.buf, err);
	sbuf_release(&sql);
	return rc;
}

/* ---- the audit trail across a restore ---------------------------------- */

static const char audit_cols[] =
        "id, action, version, description, checksum, outcome, error,"
        " sqlstate, started_at, finished_at, duration_ns, lock_wait_ns,"
        " os_user, db_user, host, pid, strata_version, command, git_commit,"
        " up_sql, down_sql";
#define AUDIT_NCOLS 21

/* Every row of `audit` in `pg`, by id; *out stays NULL without the table. */
int pgsafety_audit_rows(PGresult **out, PGconn *pg, const char *audit,
                        struct strata_error *err)
{
	const char *vals[] = { audit };
	struct sbuf sql = SBUF_INIT;
	PGresult *res;
	int rc = -1;

	*out = NULL;
	res = PQexecParams(pg, "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
	                   1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgsession_error(err, pg, res);
		goto done;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		rc = 0;
		goto done;
	}
	PQclear(res);
	sbuf_addf(&sql, "SELECT %s FROM %s ORDER BY id", audit_cols, audit);
	res = PQexec(pg, sql.buf);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgsession_error(err, pg, res);
		goto done;
	}
	*out = res;
	res = NULL;
	rc = 0;
done:
	PQclear(res);
	sbuf_release(&sql);
	return rc;
}

/*
 * Appends to `audit` in `pg` the rows of `rows` (the target's trail as it
 * was) newer than every row there, with their ids, in one transaction,
 * and moves its id sequence past them: what was recorded after the
 * backup (reverts, repairs) survives the restore, and ids keep growing.
 * *n_out: how many.
 */
int pgsafety_audit_carry(int *n_out, PGconn *pg, const char *audit,
                         const PGresult *rows, struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT, ins = SBUF_INIT;
	const char *vals[AUDIT_NCOLS];
	PGresult *res = NULL;
	int64_t max = 0;
	int rc = -1, n = 0;

	*n_out = 0;
	if (!rows || !PQntuples(rows))
		return 0;
	sbuf_addf(&sql, pgdrv_driver.audit_ddl, audit);
	if (pgsession_run(pg, "BEGIN", err) < 0)
		goto done;
	if (pgsession_run(pg, sql.buf, err) < 0)
		goto fail;
	sbuf_reset(&sql);
	sbuf_addf(&sql,
	          "SELECT id, started_at FROM %s ORDER BY id DESC LIMIT 1",
	          audit);
	res = PQexec(pg, sql.buf);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgsession_error(err, pg, res);
		goto fail;
	}
	if (PQntuples(res) == 1) {
		bool is_same = false;

		max = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		/* the restored trail must be where the target's came from
		 * (a backup of another database has a history of its own) */
		for (int r = 0; r < PQntuples(rows) && !is_same; r++)
			is_same = strtoll(PQgetvalue(rows, r, 0), NULL, 10) ==
			                  max &&
			          !strcmp(PQgetvalue(rows, r, 8),
			                  PQgetvalue(res, 0, 1));
		if (!is_same)
			max = INT64_MAX;
	}
	PQclear(res);
	res = NULL;
	sbuf_addf(&ins, "INSERT INTO %s (%s) VALUES (", audit, audit_cols);
	for (int i = 1; i <= AUDIT_NCOLS; i++)
		sbuf_addf(&ins, "%s$%d", i > 1 ? ", " : "", i);
	sbuf_addch(&ins, ')');
	for (int r = 0; r < PQntuples(rows); r++) {
		if (strtoll(PQgetvalue(rows, r, 0), NULL, 10) <= max)
			continue;
		for (int i = 0; i < AUDIT_NCOLS; i++)
			vals[i] = PQgetisnull(rows, r, i)
			                  ? NULL
			                  : PQgetvalue(rows, r, i);
		res = PQexecParams(pg, ins.buf, AUDIT_NCOLS, NULL, vals, NULL,
		                   NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pgsession_error(err, pg, res);
			goto fail;
		}
		PQclear(res);
		res = NULL;
		n++;
	}
	if (n) {
		const char *v[] = { audit };

		sbuf_reset(&sql);
		sbuf_addf(
		        &sql,
		        "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence($1, 'id'), max(id)) FROM %s",
		        audit);
		res = PQexecParams(pg, sql.buf, 1, NULL, v, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			pgsession_error(err, pg, res);
			goto fail;
		}
	}
	if (pgsession_run(pg, "COMMIT", err) < 0)
		goto done;
	*n_out = n;
	rc = 0;
	goto done;
fail:
	pgsession_run(pg, "ROLLBACK", NULL);
done:
	PQclear(res);
	sbuf_release(&sql);
	sbuf_release(&ins);
	return rc;
}

/* Row counts of the restored database against the manifest's. */
int pgsafety_verify_restored(const struct strata_backup *b, PGconn *pg,
                             const char *what, struct strata_error *err)
{
	struct strata_backup got = { 0 };
	struct counts k = { 0 };
	int rc = -1;

	if (pgbackup_counts_send(&k, pg, false, err) < 0 ||
	    pgbackup_counts_collect(&got, &k, pg, err) < 0)
		goto done;
	backup_sort_tables(&got);
	rc = backup_compare_tables(b, &got, what, err);
done:
	pgbackup_counts_release(&k, pg);
	for (size_t i = 0; i < got.n_tables; i++)
		free(got.tables[i].name);
	free(got.tables);
	return rc;
}
