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

int pgschema_dump(struct sbuf *out, struct strata_db *db,
                  const struct strata_schema_options *opts,
                  struct strata_error *err)
{
	PGconn *pg = session_of(db->conn);
	int server_major = PQserverVersion(pg) / 10000;
	struct pg_tool tool = { 0 };
	struct child_conn cc = { .pass_fd = -1 };
	struct child c = CHILD_INIT;
	struct sbuf excl = SBUF_INIT;
	const char **argv = NULL;
	char *min_what = NULL, wait_arg[64];
	size_t n = 0, n_excl = 0;
	int rc = -1;

	min_what = xstrfmt("the server (PostgreSQL %s)",
	                   PQparameterStatus(pg, "server_version"));
	if (pgbackup_find_tool(&tool, "pg_dump", server_major, server_major,
	                       min_what, opts->pg_bindir, err) < 0 ||
	    exclusions(&excl, db, pg, err) < 0 ||
	    pgchild_init(&cc, pg, NULL, "pg_dump", err) < 0)
		goto done;
	for (size_t i = 0; i < excl.len; i++)
		if (excl.buf[i] == '\n')
			n_excl++;
	argv = xcalloc(n_excl + 10, sizeof(*argv));
	argv[n++] = tool.path;
	argv[n++] = "--schema-only";
	argv[n++] = "--no-password";
	if (!opts->is_owners)
		argv[n++] = "--no-owner";
	if (!opts->is_privileges)
		argv[n++] = "--no-privileges";
	if (db->opts.lock_wait >= 0) {
		/* a table locked by a long migration: as backups wait */
		snprintf(wait_arg, sizeof(wait_arg), "--lock-wait-timeout=%lld",
		         (long long)(db->opts.lock_wait * 1000) + 1);
		argv[n++] = wait_arg;
	}
	for (char *p = excl.buf; *p;) {
		char *nl = strchr(p, '\n');

		*nl = '\0';
		argv[n++] = p;
		p = nl + 1;
	}
	argv[n++] = cc.dbname_arg;
	argv[n] = NULL;
	c.argv = argv;
	pgchild_pass(&cc, &c);
	if (child_run(&c, err) < 0)
		goto done;
	if (!child_succeeded(&c)) {
		/* ended by strata_cancel(): that is the story */
		if (cancel_check(err) < 0)
			goto done;
		pgchild_tool_failed(err, STRATA_EFAILED,
		                    "pg_dump of the schema failed", "pg_dump",
		                    &c, cc.password);
		goto done;
	}
	pgchild_tool_warnings(db->opts.on_event, db->opts.event_data, &c,
	                      cc.password);
	sbuf_add(out, c.out.buf, c.out.len);
	rc = 0;
done:
	child_release(&c);
	pgchild_release(&cc);
	pgbackup_tool_release(&tool);
	sbuf_release(&excl);
	free(argv);
	free(min_what);
	return rc;
}
