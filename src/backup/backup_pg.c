/*
 * PostgreSQL backups with PostgreSQL's own tools, pg_dump (custom format,
 * -Fc) and pg_restore, run as child processes (spawn.c); never a dump of
 * our own.
 *
 * Which binary: the one in the given bin directory (STRATA_PG_BINDIR in
 * the CLI), else the server's major version from Debian's side-by-side
 * /usr/lib/postgresql/MAJOR/bin, else the newest there, else the first on
 * PATH. A pg_dump older than the server is refused before it runs (it
 * would refuse the server itself), as is a pg_restore older than the
 * pg_dump that wrote the archive.
 *
 * The connection each child gets, without a secret on its command line or
 * in its environment: pg_child.c. Restores: restore_pg.c and
 * restore_pg_safety.c.
 *
 * Consistency: our session exports a snapshot from a REPEATABLE READ
 * transaction; pg_dump --snapshot dumps exactly that snapshot, and the
 * manifest's newest applied version and per-table row counts are read in
 * it too, the counts while pg_dump runs.
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

#define DEBIAN_PREFIX "/usr/lib/postgresql/"

/* User tables whose rows pg_dump dumps (not extension members). */
static const char tables_sql[] =
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'r' AND n.nspname <> 'information_schema'"
        " AND n.nspname !~ '^pg_'"
        " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
        " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
        " AND d.objid = c.oid AND d.deptype = 'e')"
        " ORDER BY 1, 2";

/* Whether a database holds nothing of its own. */
static const char is_empty_sql[] =
        "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')"
        " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p"
        " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')"
        " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t"
        " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
        " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')"
        " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n"
        " WHERE n.nspname NOT IN ('public', 'information_schema')"
        " AND n.nspname !~ '^pg_')"
        " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension"
        " WHERE extname <> 'plpgsql')";

/* ---- finding pg_dump and pg_restore ------------------------------------- */

void pgbackup_tool_release(struct pg_tool *t)
{
	free(t->path);
	free(t->version);
	memset(t, 0, sizeof(*t));
}

/* The major version in "pg_dump (PostgreSQL) 16.2", else 0. */
int pgbackup_version_major(const char *text)
{
	const char *p = text ? strstr(text, "(PostgreSQL) ") : NULL;
	long v;

	if (!p)
		return 0;
	v = strtol(p + strlen("(PostgreSQL) "), NULL, 10);
	return v > 0 && v < 1000 ? (int)v : 0;
}

static int ask_version(struct pg_tool *t, const char *path,
                       struct strata_error *err)
{
	const char *argv[] = { path, "--version", NULL };
	struct child_env env;
	struct child c = CHILD_INIT;
	size_t n;
	int rc = -1;

	child_env_init(&env);
	c.argv = argv;
	c.envp = env.v;
	if (child_run(&c, err) < 0)
		goto done;
	n = strcspn(c.out.buf, "\r\n");
	c.out.buf[n] = '\0';
	if (!child_succeeded(&c) || !pgbackup_version_major(c.out.buf)) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "'%s --version' does not say which PostgreSQL it is",
		        path);
		goto done;
	}
	t->path = xstrdup(path);
	t->version = xstrdup(c.out.buf);
	t->major = pgbackup_version_major(c.out.buf);
	rc = 0;
done:
	child_release(&c);
	child_env_release(&env);
	return rc;
}

bool pgbackup_is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* In Debian's /usr/lib/postgresql/MAJOR/bin: `want`, else the newest. */
static char *find_debian(const char *name, int want)
{
	struct sbuf pattern = SBUF_INIT;
	char *best = NULL;
	int best_major = 0;
	glob_t g;

	sbuf_addf(&pattern, DEBIAN_PREFIX "*/bin/%s", name);
	if (glob(pattern.buf, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *p = g.gl_pathv[i];
			long major =
			        strtol(p + strlen(DEBIAN_PREFIX), NULL, 10);

			if (major <= 0 || !pgbackup_is_executable(p))
				continue;
			if (best && major != want &&
			    (best_major == want || major < best_major))
				continue;
			free(best);
			best = xstrdup(p);
			best_major = (int)major;
		}
		globfree(&g);
	}
	sbuf_release(&pattern);
	return best;
}

char *pgbackup_find_on_path(const char *name)
{
	const char *path = getenv("PATH");
	struct sbuf sb = SBUF_INIT;

	while (path && *path) {
		size_t n = strcspn(path, ":");

		sbuf_reset(&sb);
		sbuf_add(&sb, n ? path : ".", n ? n : 1);
		sbuf_addf(&sb, "/%s", name);
		if (pgbackup_is_executable(sb.buf))
			return sbuf_detach(&sb, NULL);
		path += n + (path[n] == ':');
	}
	sbuf_release(&sb);
	return NULL;
}

/*
 * The `name` tool to use: of major version `want` when there is one
 * (0: the newest), refused when older than `min` (what `min_what` is).
 */
int pgbackup_find_tool(struct pg_tool *out, const char *name, int want, int min,
                       const char *min_what, const char *bindir,
                       struct strata_error *err)
{
	char *path = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (bindir && *bindir) {
		path = xstrfmt("%s/%s", bindir, name);
		if (!pgbackup_is_executable(path)) {
			strata_error_set(err, STRATA_EFAILED,
			                 "no program '%s' in '%s'", name,
			                 bindir);
			strata_error_hint(
			        err,
			        "Point STRATA_PG_BINDIR at a PostgreSQL bin directory, or unset it.");
			goto done;
		}
	} else if (!(path = find_debian(name, want)) &&
	           !(path = pgbackup_find_on_path(name))) {
		strata_error_set(err, STRATA_EFAILED, "%s was not found", name);
		strata_error_hint(
		        err,
		        "Install PostgreSQL's client programs (Debian: apt-get install postgresql-client-%d), or point STRATA_PG_BINDIR at their directory.",
		        want  ? want
		        : min ? min
		              : 16);
		goto done;
	}
	if (ask_version(out, path, err) < 0)
		goto done;
	if (min && out->major < min) {
		strata_error_set(err, STRATA_EFAILED,
		                 "%s %d ('%s') is older than %s", name,
		                 out->major, out->path, min_what);
		strata_error_hint(
		        err,
		        "Install postgresql-client-%d (Debian), or point STRATA_PG_BINDIR at the bin directory of PostgreSQL %d or newer.",
		        min, min);
		pgbackup_tool_release(out);
		goto done;
	}
	rc = 0;
done:
	free(path);
	return rc;
}
/* ---- row counts --------------------------------------------------------- */

/* Lists the tables, and sends the query that counts their rows. */
int pgbackup_counts_send(struct counts *k, PGconn *pg, bool is_schema_only,
                         struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	int n;

	memset(k, 0, sizeof(*k));
	k->names = PQexec(pg, tables_sql);
	if (PQresultStatus(k->names) != PGRES_TUPLES_OK)
		return pgsession_error(err, pg, k->names);
	n = PQntuples(k->names);
	if (is_schema_only || n == 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (i)
			sbuf_adds(&sql, " UNION ALL ");
		sbuf_addf(&sql, "SELECT %d, pg_catalog.count(*) FROM ", i);
		sbuf_add_ident(&sql, PQgetvalue(k->names, i, 0));
		sbuf_addch(&sql, '.');
		sbuf_add_ident(&sql, PQgetvalue(k->names, i, 1));
	}
	if (!PQsendQuery(pg, sql.buf)) {
		sbuf_release(&sql);
		return pgsession_error(err, pg, NULL);
	}
	k->is_sent = true;
	sbuf_release(&sql);
	return 0;
}

/* Reads the counts into b->tables (each 0 when they were not counted). */
int pgbackup_counts_collect(struct strata_backup *b, struct counts *k,
                            PGconn *pg, struct strata_error *err)
{
	size_t first = b->n_tables;
	int n = PQntuples(k->names), rc = 0;
	struct sbuf name = SBUF_INIT;
	PGresult *res;

	for (int i = 0; i < n; i++) {
		sbuf_reset(&name);
		sbuf_addf(&name, "%s.%s", PQgetvalue(k->names, i, 0),
		          PQgetvalue(k->names, i, 1));
		backup_add_table(b, name.buf, 0);
	}
	sbuf_release(&name);
	while (k->is_sent && (res = PQgetResult(pg))) {
		if (rc == 0 && PQresultStatus(res) != PGRES_TUPLES_OK)
			rc = pgsession_error(err, pg, res);
		for (int j = 0; rc == 0 && j < PQntuples(res); j++) {
			long i = strtol(PQgetvalue(res, j, 0), NULL, 10);

			if (i >= 0 && i < n)
				b->tables[first + (size_t)i].rows = strtoll(
				        PQgetvalue(res, j, 1), NULL, 10);
		}
		PQclear(res);
	}
	k->is_sent = false;
	return rc;
}

/* Stops a count still running and drops its results. */
void pgbackup_counts_release(struct counts *k, PGconn *pg)
{
	PGresult *res;

	if (k->is_sent) {
		PGcancel *cancel = PQgetCancel(pg);
		char buf[256];

		if (cancel) {
			PQcancel(cancel, buf, sizeof(buf));
			PQfreeCancel(cancel);
		}
		while ((res = PQgetResult(pg)))
			PQclear(res);
	}
	PQclear(k->names);
	memset(k, 0, sizeof(*k));
}
/* ---- locks -------------------------------------------------------------- */

#define BLOCKER_FIRST_MS 200 /* when a waiting LOCK is first looked at */
#define BLOCKER_EVERY_MS 500

/* Who blocks backend `pid`, looked at from `probe`: into `who`, and
 * reported when not `last`; the pid. */
static int sample_blockers(struct sbuf *who, PGconn *probe, int pid, int last,
                           struct strata_db *db)
{
	char pid_text[16];
	const char *vals[] = { pid_text };
	struct strata_event ev = { .kind = STRATA_EVENT_BLOCKED };
	PGresult *res;
	int holder = 0;

	snprintf(pid_text, sizeof(pid_text), "%d", pid);
	res = PQexecParams(
	        probe,
	        "SELECT " PGSESSION_COLUMNS
	        " FROM pg_catalog.pg_stat_activity a WHERE a.pid = ANY (pg_catalog.pg_blocking_pids($1::int))"
	        " ORDER BY a.xact_start NULLS LAST LIMIT 1",
	        1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		holder = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
		sbuf_reset(who);
		pgsession_describe(who, res, 0, db->opts.is_hide_queries);
		ev.holder_pid = holder;
		ev.holder_user = PQgetvalue(res, 0, 1);
		ev.holder_application = PQgetvalue(res, 0, 2);
		ev.holder_state = pgsession_state(res, 0);
		ev.holder_query =
		        db->opts.is_hide_queries ? NULL : PQgetvalue(res, 0, 5);
		ev.message = who->buf;
		if (holder != last)
			db_emit(db, &ev);
	}
	PQclear(res);
	return holder;
}

/*
 * Takes ACCESS SHARE on every table pg_dump dumps, in the snapshot's
 * transaction, waiting at most the lock wait (db->opts.lock_wait): a
 * session holding ACCESS EXCLUSIVE on one would otherwise hold pg_dump
 * (and the row counts) up without a word. While it waits, the session in
 * the way is named as run names it; when the wait runs out the error
 * (STRATA_ELOCK) names it. The locks then last until the snapshot ends,
 * so pg_dump finds no table gone or locked by the time it runs.
 */
static int lock_tables(struct strata_db *db, PGconn *pg,
                       struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT, who = SBUF_INIT;
	struct strata_conn *probe = NULL;
	PGresult *names = PQexec(pg, tables_sql), *res, *failed = NULL;
	int64_t start = text_monotonic_ns(), next;
	int holder = 0, rc = -1;

	if (PQresultStatus(names) != PGRES_TUPLES_OK) {
		pgsession_error(err, pg, names);
		goto done;
	}
	if (!PQntuples(names)) {
		rc = 0;
		goto done;
	}
	sbuf_addf(&sql, "SET LOCAL lock_timeout = %lld",
	          db->opts.lock_wait < 0
	                  ? 0LL
	                  : (long long)(db->opts.lock_wait * 1000) + 1);
	if (pgsession_run(pg, sql.buf, err) < 0)
		goto done;
	sbuf_reset(&sql);
	sbuf_adds(&sql, "LOCK TABLE ");
	for (int i = 0; i < PQntuples(names); i++) {
		sbuf_adds(&sql, i ? ", ONLY " : "ONLY ");
		sbuf_add_ident(&sql, PQgetvalue(names, i, 0));
		sbuf_addch(&sql, '.');
		sbuf_add_ident(&sql, PQgetvalue(names, i, 1));
	}
	sbuf_adds(&sql, " IN ACCESS SHARE MODE");
	if (!PQsendQuery(pg, sql.buf)) {
		pgsession_error(err, pg, NULL);
		goto done;
	}
	next = start + (int64_t)BLOCKER_FIRST_MS * 1000000;
	while (PQisBusy(pg)) {
		struct pollfd p = { .fd = PQsocket(pg), .events = POLLIN };
		int64_t now = text_monotonic_ns();
		int n = poll(&p, 1,
		             next > now ? (int)((next - now) / 1000000) + 1
		                        : 0);

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && !PQconsumeInput(pg))
			break;
		if (text_monotonic_ns() < next || !PQisBusy(pg))
			continue;
		/* still waiting: who is in the way, from a session of its own
		 */
		if (!probe && pgdrv_driver.connect(&probe, &db->url, NULL) < 0)
			probe = NULL;
		if (probe)
			holder = sample_blockers(&who, session_of(probe),
			                         PQbackendPID(pg), holder, db);
		next = text_monotonic_ns() +
		       (int64_t)BLOCKER_EVERY_MS * 1000000;
	}
	while ((res = PQgetResult(pg))) {
		if (!failed && PQresultStatus(res) != PGRES_COMMAND_OK) {
			failed = res;
			continue;
		}
		PQclear(res);
	}
	if (!failed) {
		rc = 0;
		goto done;
	}
	pgsession_error(err, pg, failed);
	/* 55P03: the wait ran out */
	if (err && !strcmp(err->sqlstate, "55P03")) {
		double waited =
		        (double)(text_monotonic_ns() - start) / 1000000000.0;

		err->code = STRATA_ELOCK;
		free(err->message);
		err->message = xstrfmt(
		        "could not back up '%s': a table stayed locked by another session for %.1f s",
		        PQdb(pg), waited);
		if (who.len)
			strata_error_detail(
			        err, "Blocked by %s%s", who.buf,
			        strchr(".;", who.buf[who.len - 1]) ? "" : ".");
		strata_error_hint(
		        err,
		        "pg_dump needs to read every table; end the session in the way, or back up when it is done. Nothing was written.");
	}
done:
	if (probe)
		pgdrv_driver.close(probe);
	PQclear(failed);
	PQclear(names);
	sbuf_release(&sql);
	sbuf_release(&who);
	return rc;
}

/* ---- pg_dump ------------------------------------------------------------ */

static void dump_tick(void *data)
{
	struct backup_job *job = data;
	struct stat st;

	if (stat(job->tmp_path, &st) == 0)
		backup_progress(job, (int64_t)st.st_size);
}

static int begin_snapshot(char **out, PGconn *pg, struct strata_error *err)
{
	PGresult *res;

	if (pgsession_run(pg,
	                  "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
	                  err) < 0)
		return -1;
	res = PQexec(pg, "SELECT pg_catalog.pg_export_snapshot()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgsession_error(err, pg, res);
		PQclear(res);
		return -1;
	}
	*out = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* "16.2" of "16.2 (Debian 16.2-1)". */
static char *server_version(PGconn *pg)
{
	const char *v = PQparameterStatus(pg, "server_version");

	return v ? xstrndup(v, strcspn(v, " ")) : xstrdup("");
}

static int pg_create(struct backup_job *job, struct strata_error *err)
{
	struct strata_db *db = job->db;
	struct strata_backup *b = job->b;
	PGconn *pg = session_of(db->conn);
	int server_major = PQserverVersion(pg) / 10000;
	struct pg_tool tool = { 0 };
	struct child_conn cc = { .pass_fd = -1 };
	struct counts k = { 0 };
	struct child c = CHILD_INIT;
	char *snapshot = NULL, *file_arg = NULL, *snap_arg = NULL;
	char *min_what = NULL;
	const char *argv[10];
	char wait_arg[64], jobs_arg[32];
	size_t n = 0;
	int rc = -1;

	b->database_name = xstrdup(PQdb(pg));
	b->server_version = server_version(pg);
	min_what = xstrfmt("the server (PostgreSQL %s)", b->server_version);
	if (pgbackup_find_tool(&tool, "pg_dump", server_major, server_major,
	                       min_what, job->opts->pg_bindir, err) < 0)
		goto done;
	b->tool = xstrdup(tool.version);
	if (begin_snapshot(&snapshot, pg, err) < 0 ||
	    lock_tables(db, pg, err) < 0 ||
	    backup_newest_applied(&b->newest_applied, db->conn, &db->hist,
	                          err) < 0 ||
	    pgchild_init(&cc, pg, NULL, "pg_dump", err) < 0 ||
	    pgbackup_counts_send(
	            &k, pg, job->opts->kind == STRATA_BACKUP_SCHEMA, err) < 0)
		goto done;
	file_arg = xstrfmt("--file=%s", job->tmp_path);
	snap_arg = xstrfmt("--snapshot=%s", snapshot);
	argv[n++] = tool.path;
	argv[n++] = job->opts->format == STRATA_BACKUP_FORMAT_PLAIN
	                    ? "--format=plain"
	            : job->opts->format == STRATA_BACKUP_FORMAT_DIRECTORY
	                    ? "--format=directory"
	                    : "--format=custom";
	if (job->opts->format == STRATA_BACKUP_FORMAT_DIRECTORY &&
	    job->opts->jobs > 1) {
		snprintf(jobs_arg, sizeof(jobs_arg), "--jobs=%d",
		         job->opts->jobs);
		argv[n++] = jobs_arg;
	}
	argv[n++] = "--no-password";
	argv[n++] = file_arg;
	argv[n++] = snap_arg;
	if (db->opts.lock_wait >= 0) {
		/* pg_dump's own locks too: a session may queue for one
		 * between ours and its */
		snprintf(wait_arg, sizeof(wait_arg), "--lock-wait-timeout=%lld",
		         (long long)(db->opts.lock_wait * 1000) + 1);
		argv[n++] = wait_arg;
	}
	if (job->opts->kind == STRATA_BACKUP_SCHEMA)
		argv[n++] = "--schema-only";
	else if (job->opts->kind == STRATA_BACKUP_DATA)
		argv[n++] = "--data-only";
	argv[n++] = cc.dbname_arg;
	argv[n] = NULL;
	c.argv = argv;
	pgchild_pass(&cc, &c);
	c.tick = dump_tick;
	c.tick_data = job;
	if (child_run(&c, err) < 0)
		goto done;
	if (!child_succeeded(&c)) {
		pgchild_tool_failed(err, STRATA_EFAILED, "pg_dump failed",
		                    "pg_dump", &c, cc.password);
		goto done;
	}
	pgchild_tool_warnings(db->opts.on_event, db->opts.event_data, &c,
	                      cc.password);
	dump_tick(job);
	if (pgbackup_counts_collect(b, &k, pg, err) < 0)
		goto done;
	rc = 0;
done:
	pgbackup_counts_release(&k, pg);
	/* ends the snapshot's transaction (a no-op when none began) */
	db->drv->rollback(db->conn);
	child_release(&c);
	pgchild_release(&cc);
	pgbackup_tool_release(&tool);
	free(snapshot);
	free(file_arg);
	free(snap_arg);
	free(min_what);
	return rc;
}

/* ---- pg_restore --------------------------------------------------------- */

static int pg_check(size_t *out, const struct strata_backup *b,
                    const char *bindir, struct strata_error *err)
{
	int dump_major = pgbackup_version_major(b->tool);
	struct pg_tool tool = { 0 };
	struct child_env env;
	struct child c = CHILD_INIT;
	const char *argv[4];
	char *min_what = xstrfmt("the pg_dump that wrote '%s' (%s)", b->path,
	                         b->tool ? b->tool : "unknown");
	int rc = -1;

	*out = 0;
	if (b->format == STRATA_BACKUP_FORMAT_PLAIN) {
		free(min_what);
		return plain_check(out, b, true, err);
	}
	child_env_init(&env);
	if (pgbackup_find_tool(&tool, "pg_restore", 0, dump_major, min_what,
	                       bindir, err) < 0)
		goto done;
	argv[0] = tool.path;
	argv[1] = "--list";
	argv[2] = b->path;
	argv[3] = NULL;
	c.argv = argv;
	c.envp = env.v;
	if (child_run(&c, err) < 0)
		goto done;
	if (!child_succeeded(&c)) {
		char *what = xstrfmt("pg_restore cannot read '%s'", b->path);

		pgchild_tool_failed(err, STRATA_EVALIDATE, what, "pg_restore",
		                    &c, NULL);
		free(what);
		goto done;
	}
	for (const char *p = c.out.buf; *p;) {
		size_t len = strcspn(p, "\n");

		if (len && *p != ';')
			(*out)++;
		p += len + (p[len] == '\n');
	}
	rc = 0;
done:
	child_release(&c);
	child_env_release(&env);
	pgbackup_tool_release(&tool);
	free(min_what);
	return rc;
}
static int pg_inspect(struct backup_target *t, struct strata_error *err)
{
	struct strata_conn *conn = NULL;
	PGresult *res;
	int rc = -1;

	t->exists = false;
	t->is_empty = true;
	if (pgdrv_driver.database_exists(&t->exists, &t->url, err) < 0)
		return -1;
	if (!t->exists)
		return 0;
	if (pgdrv_driver.connect(&conn, &t->url, err) < 0)
		return -1;
	res = PQexec(session_of(conn), is_empty_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgsession_error(err, session_of(conn), res);
	} else {
		t->is_empty = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		rc = 0;
	}
	PQclear(res);
	pgdrv_driver.close(conn);
	return rc;
}
const struct backup_ops pgbackup_ops = {
	.suffix = ".dump",
	.formats = 1u << STRATA_BACKUP_FORMAT_CUSTOM |
	           1u << STRATA_BACKUP_FORMAT_PLAIN |
	           1u << STRATA_BACKUP_FORMAT_DIRECTORY,
	.create = pg_create,
	.check = pg_check,
	.restore_test = pgrestore_test,
	.resolve = pgchild_resolve,
	.inspect = pg_inspect,
	.restore = pgrestore_op,
};
