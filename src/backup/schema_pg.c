/*
 * The PostgreSQL schema dump: the server's own pg_dump --schema-only, of
 * its major version, found and connected as backups do (backup_pg.c,
 * pg_child.c: the password in a private password file, never on the
 * command line). strata's tables and the sequences they own are left out
 * with --exclude-table, each name double-quoted so that pg_dump reads it
 * as itself and never as a pattern. Ownership and privileges only when
 * asked: they differ between environments more often than the schema.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/spawn.h"
#include "util/cancel.h"
#include "drivers/driver.h"
#include "drivers/pgsession.h"
#include "engine/db.h"
#include "backup/backup.h"
#include "backup/backup_pg.h"
#include "backup/schema.h"

#include <stdlib.h>
#include <string.h>

/* strata's tables that exist, and the sequences they own (an audit id's
 * BIGSERIAL), as schema and name. */
static const char own_sql[] =
        "WITH t(oid) AS (SELECT pg_catalog.to_regclass(x) FROM"
        " (VALUES ($1), ($2), ($3)) v(x) WHERE x IS NOT NULL)"
        " SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.oid IN (SELECT oid FROM t)"
        " OR (c.relkind = 'S' AND c.oid IN (SELECT d.objid"
        " FROM pg_catalog.pg_depend d"
        " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
        " AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
        " AND d.deptype IN ('a', 'i') AND d.refobjid IN (SELECT oid FROM t)))"
        " ORDER BY 1, 2";

/* A name as a pg_dump pattern that matches only itself: "" inside. */
static void add_quoted(struct sbuf *sb, const char *name)
{
	sbuf_addch(sb, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			sbuf_addch(sb, '"');
		sbuf_addch(sb, *p);
	}
	sbuf_addch(sb, '"');
}

/* --exclude-table=… for each of strata's tables, one per line. */
static int exclusions(struct sbuf *out, struct strata_db *db, PGconn *pg,
                      struct strata_error *err)
{
	const struct table_name *own[4];
	const char *vals[3] = { NULL, NULL, NULL };
	PGresult *res;

	schema_own_tables(db, own);
	for (size_t i = 0; i < 3 && own[i]; i++)
		vals[i] = own[i]->quoted;
	res = PQexecParams(pg, own_sql, 3, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgsession_error(err, pg, res);
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		sbuf_adds(out, "--exclude-table=");
		add_quoted(out, PQgetvalue(res, i, 0));
		sbuf_addch(out, '.');
		add_quoted(out, PQgetvalue(res, i, 1));
		sbuf_addch(out, '\n');
	}
	PQclear(res);
	return 0;
}

/* A pg_dump of the schema: what it needs for as long as it runs. */
struct pgschema_job {
	struct strata_db *db;
	int server_major;
	struct pg_tool tool;
	struct child_conn cc;
	struct child c;
	struct sbuf excl;
	const char **argv;
	char *min_what, wait_arg[64];
	struct child_bg *bg;
};

static void job_free(struct pgschema_job *job)
{
	if (!job)
		return;
	child_release(&job->c);
	pgchild_release(&job->cc);
	pgbackup_tool_release(&job->tool);
	sbuf_release(&job->excl);
	free(job->argv);
	free(job->min_what);
	free(job);
}

int pgschema_dump_start(struct pgschema_job **out, struct strata_db *db,
                        const struct strata_schema_options *opts,
                        const struct pgschema_job *like,
                        struct strata_error *err)
{
	PGconn *pg = session_of(db->conn);
	int server_major = PQserverVersion(pg) / 10000;
	struct pgschema_job *job = xcalloc(1, sizeof(*job));
	size_t n = 0, n_excl = 0;

	*out = NULL;
	job->db = db;
	job->server_major = server_major;
	job->cc.pass_fd = -1;
	job->c = (struct child)CHILD_INIT;
	job->excl = (struct sbuf)SBUF_INIT;
	job->min_what = xstrfmt("the server (PostgreSQL %s)",
	                        PQparameterStatus(pg, "server_version"));
	/* a server of the same major version: the same pg_dump, asked once */
	if (like && like->server_major == server_major) {
		job->tool.path = xstrdup(like->tool.path);
		job->tool.version = xstrdup(like->tool.version);
		job->tool.major = like->tool.major;
	} else if (pgbackup_find_tool(&job->tool, "pg_dump", server_major,
	                              server_major, job->min_what,
	                              opts->pg_bindir, err) < 0) {
		goto fail;
	}
	if (exclusions(&job->excl, db, pg, err) < 0 ||
	    pgchild_init(&job->cc, pg, NULL, "pg_dump", err) < 0)
		goto fail;
	for (size_t i = 0; i < job->excl.len; i++)
		if (job->excl.buf[i] == '\n')
			n_excl++;
	job->argv = xcalloc(n_excl + 10, sizeof(*job->argv));
	job->argv[n++] = job->tool.path;
	job->argv[n++] = "--schema-only";
	job->argv[n++] = "--no-password";
	if (!opts->is_owners)
		job->argv[n++] = "--no-owner";
	if (!opts->is_privileges)
		job->argv[n++] = "--no-privileges";
	if (db->opts.lock_wait >= 0) {
		/* a table locked by a long migration: as backups wait */
		snprintf(job->wait_arg, sizeof(job->wait_arg),
		         "--lock-wait-timeout=%lld",
		         (long long)(db->opts.lock_wait * 1000) + 1);
		job->argv[n++] = job->wait_arg;
	}
	for (char *p = job->excl.buf; p && *p;) {
		char *nl = strchr(p, '\n');

		*nl = '\0';
		job->argv[n++] = p;
		p = nl + 1;
	}
	job->argv[n++] = job->cc.dbname_arg;
	job->argv[n] = NULL;
	job->c.argv = job->argv;
	pgchild_pass(&job->cc, &job->c);
	if (child_start(&job->bg, &job->c, err) < 0)
		goto fail;
	*out = job;
	return 0;
fail:
	job_free(job);
	return -1;
}

int pgschema_dump_finish(struct pgschema_job *job, struct sbuf *out,
                         struct strata_error *err)
{
	struct strata_db *db = job->db;
	int rc = -1;

	if (child_finish(job->bg, err) < 0)
		goto done;
	if (!child_succeeded(&job->c)) {
		/* ended by strata_cancel(): that is the story */
		if (cancel_check(err) < 0)
			goto done;
		pgchild_tool_failed(err, STRATA_EFAILED,
		                    "pg_dump of the schema failed", "pg_dump",
		                    &job->c, job->cc.password);
		goto done;
	}
	pgchild_tool_warnings(db->opts.on_event, db->opts.event_data, &job->c,
	                      job->cc.password);
	sbuf_add(out, job->c.out.buf, job->c.out.len);
	rc = 0;
done:
	job_free(job);
	return rc;
}

void pgschema_dump_abort(struct pgschema_job *job)
{
	if (!job)
		return;
	child_stop(job->bg);
	/* reaped before its password file goes */
	child_finish(job->bg, NULL);
	job_free(job);
}

int pgschema_dump(struct sbuf *out, struct strata_db *db,
                  const struct strata_schema_options *opts,
                  struct strata_error *err)
{
	struct pgschema_job *job;

	if (pgschema_dump_start(&job, db, opts, NULL, err) < 0)
		return -1;
	return pgschema_dump_finish(job, out, err);
}
