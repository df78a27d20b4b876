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
 * The connection: the child gets the session's effective parameters
 * (PQconninfo(), so URLs, keyword strings, service files and PG* variables
 * all resolve exactly as they did for us) as PG* environment variables,
 * pinned to the host, port and address the session reached, so that
 * pg_dump --snapshot finds the same server. The few parameters libpq has
 * no variable for (keepalives...) and the database name go in --dbname as
 * a keyword string, which never holds a secret. The password goes in a
 * private password file (0600, in a 0700 directory made for it, removed
 * as soon as the child ends) named by PGPASSFILE, and PGPASSWORD is
 * removed from the child's environment: a process's environment can be
 * read in /proc/PID/environ (and with `ps e`) by its user for the child's
 * whole life and is inherited by whatever it starts, which is why
 * PostgreSQL's documentation advises against PGPASSWORD. No secret ever
 * appears on a command line, and the child's messages are scrubbed of the
 * password before they reach an error.
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

/* The libpq session of a PostgreSQL connection, through the driver table. */
static PGconn *session_of(struct strata_conn *c)
{
	return c->drv->handle(c);
}

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

struct pg_tool {
	char *path;
	char *version; /* "pg_dump (PostgreSQL) 16.2 (Debian ...)" */
	int major;
};

static void tool_release(struct pg_tool *t)
{
	free(t->path);
	free(t->version);
	memset(t, 0, sizeof(*t));
}

/* The major version in "pg_dump (PostgreSQL) 16.2", else 0. */
static int version_major(const char *text)
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
	if (!child_succeeded(&c) || !version_major(c.out.buf)) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "'%s --version' does not say which PostgreSQL it is",
		        path);
		goto done;
	}
	t->path = xstrdup(path);
	t->version = xstrdup(c.out.buf);
	t->major = version_major(c.out.buf);
	rc = 0;
done:
	child_release(&c);
	child_env_release(&env);
	return rc;
}

static bool is_executable(const char *path)
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

			if (major <= 0 || !is_executable(p))
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

static char *find_on_path(const char *name)
{
	const char *path = getenv("PATH");
	struct sbuf sb = SBUF_INIT;

	while (path && *path) {
		size_t n = strcspn(path, ":");

		sbuf_reset(&sb);
		sbuf_add(&sb, n ? path : ".", n ? n : 1);
		sbuf_addf(&sb, "/%s", name);
		if (is_executable(sb.buf))
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
static int find_tool(struct pg_tool *out, const char *name, int want, int min,
                     const char *min_what, const char *bindir,
                     struct strata_error *err)
{
	char *path = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (bindir && *bindir) {
		path = xstrfmt("%s/%s", bindir, name);
		if (!is_executable(path)) {
			strata_error_set(err, STRATA_EFAILED,
			                 "no program '%s' in '%s'", name,
			                 bindir);
			strata_error_hint(
			        err,
			        "Point STRATA_PG_BINDIR at a PostgreSQL bin directory, or unset it.");
			goto done;
		}
	} else if (!(path = find_debian(name, want)) &&
	           !(path = find_on_path(name))) {
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
		tool_release(out);
		goto done;
	}
	rc = 0;
done:
	free(path);
	return rc;
}

/* ---- a child's connection ----------------------------------------------- */

struct child_conn {
	struct child_env env;
	char *dbname_arg; /* "--dbname=dbname='x' ..." */
	int pass_fd;      /* the password file in memory, else -1 */
	int pass_fd_as;   /* its number in the child */
	char *dir;        /* else the password file's private directory */
	char *passfile;
	char *password; /* to scrub from the child's messages */
};

/* Hands the environment and the password file over to the child. */
static void child_conn_pass(const struct child_conn *cc, struct child *c)
{
	c->envp = cc->env.v;
	c->pass_fd = cc->pass_fd;
	c->pass_fd_as = cc->pass_fd_as;
}

/* key='value' for a libpq keyword string. */
static void add_keyword(struct sbuf *sb, const char *key, const char *value)
{
	if (sb->len)
		sbuf_addch(sb, ' ');
	sbuf_addf(sb, "%s='", key);
	for (const char *p = value; *p; p++) {
		if (*p == '\'' || *p == '\\')
			sbuf_addch(sb, '\\');
		sbuf_addch(sb, *p);
	}
	sbuf_addch(sb, '\'');
}

static void child_conn_release(struct child_conn *cc)
{
	if (cc->pass_fd >= 0)
		close(cc->pass_fd);
	if (cc->dir) {
		unlink(cc->passfile);
		rmdir(cc->dir);
	}
	if (cc->password) {
		memset(cc->password, 0, strlen(cc->password));
		free(cc->password);
	}
	free(cc->passfile);
	free(cc->dir);
	free(cc->dbname_arg);
	child_env_release(&cc->env);
	memset(cc, 0, sizeof(*cc));
}

/* The password file's line, "*:*:*:*:PASSWORD", escaped as libpq reads it. */
static void passfile_line(struct sbuf *line, const char *password)
{
	/* '\' escapes, and an unescaped ':' would end the field */
	sbuf_adds(line, "*:*:*:*:");
	for (const char *p = password; *p; p++) {
		if (*p == ':' || *p == '\\')
			sbuf_addch(line, '\\');
		sbuf_addch(line, *p);
	}
	sbuf_addch(line, '\n');
}

static int write_all(int fd, const struct sbuf *sb)
{
	for (size_t off = 0; off < sb->len;) {
		ssize_t w = write(fd, sb->buf + off, sb->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/*
 * On Linux the password file lives in memory (memfd_create), 0600, and the
 * child inherits it as descriptor 3 (or 4), named by
 * PGPASSFILE=/proc/self/fd/N: it never touches a disk and vanishes with
 * the processes, even when strata is killed. 0 when done; 1 when there is
 * no memfd to be had, and the caller falls back to a file.
 */
static int memory_passfile(struct child_conn *cc, const struct sbuf *line)
{
#ifdef MFD_CLOEXEC
	int fd = memfd_create("strata-pgpass", MFD_CLOEXEC);

	if (fd < 0)
		return 1;
	/* libpq ignores a password file that group or others may read */
	if (fchmod(fd, 0600) < 0 || write_all(fd, line) < 0) {
		close(fd);
		return 1;
	}
	cc->pass_fd = fd;
	cc->pass_fd_as = fd == 3 ? 4 : 3;
	cc->passfile = xstrfmt("/proc/self/fd/%d", cc->pass_fd_as);
	child_env_set(&cc->env, "PGPASSFILE", cc->passfile);
	return 0;
#else
	UNUSED(cc);
	UNUSED(line);
	return 1;
#endif
}

/*
 * Hands `password` to the child in a password file named by PGPASSFILE:
 * in memory (above), else a private file, 0600 in a 0700 directory made
 * for it, removed with the directory as soon as the child ends.
 */
static int write_passfile(struct child_conn *cc, const char *password,
                          struct strata_error *err)
{
	const char *tmp = getenv("TMPDIR");
	struct sbuf line = SBUF_INIT;
	int fd = -1, rc = -1;

	if (strpbrk(password, "\r\n"))
		return strata_error_set(
		        err, STRATA_EUSAGE,
		        "the password holds a line break, which cannot be handed to a PostgreSQL tool in a password file");
	passfile_line(&line, password);
	if (memory_passfile(cc, &line) == 0) {
		rc = 0;
		goto done;
	}
	cc->dir = xstrfmt("%s/strata-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(cc->dir)) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "could not create a private directory in '%s': %s",
		        tmp && *tmp ? tmp : "/tmp", strerror(errno));
		free(cc->dir);
		cc->dir = NULL;
		goto done;
	}
	cc->passfile = xstrfmt("%s/pgpass", cc->dir);
	fd = open(cc->passfile,
	          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not create '%s': %s", cc->passfile,
		                 strerror(errno));
		goto done;
	}
	if (write_all(fd, &line) < 0) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not write '%s': %s", cc->passfile,
		                 strerror(errno));
		goto done;
	}
	child_env_set(&cc->env, "PGPASSFILE", cc->passfile);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	memset(line.buf, 0, line.len);
	sbuf_release(&line);
	return rc;
}

/*
 * How a child (`tool`, for messages) reaches what session `pg` reached,
 * in database `dbname` (NULL: the same). See the top of the file.
 */
static int child_conn_init(struct child_conn *cc, PGconn *pg,
                           const char *dbname, const char *tool,
                           struct strata_error *err)
{
	PQconninfoOption *opts = PQconninfo(pg);
	struct sbuf conninfo = SBUF_INIT;
	const char *password = NULL;
	int rc = -1;

	memset(cc, 0, sizeof(*cc));
	cc->pass_fd = -1;
	child_env_init(&cc->env);
	if (!opts) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not read the connection's parameters");
		goto done;
	}
	/* the session's values, not what a variable or service would say */
	child_env_unset(&cc->env, "PGSERVICE");
	child_env_unset(&cc->env, "PGHOSTADDR");
	child_env_unset(&cc->env, "PGDATABASE");
	add_keyword(&conninfo, "dbname", dbname ? dbname : PQdb(pg));
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		const char *k = o->keyword, *v = o->val;

		if (!strcmp(k, "host"))
			v = PQhost(pg);
		else if (!strcmp(k, "port"))
			v = PQport(pg);
		else if (!strcmp(k, "hostaddr"))
			v = PQhostaddr(pg);
		if (!v || !*v || !strcmp(k, "dbname") ||
		    !strcmp(k, "service") || !strcmp(k, "replication") ||
		    !strcmp(k, "fallback_application_name"))
			continue;
		if (!strcmp(k, "password")) {
			password = v;
			continue;
		}
		if (o->dispchar && o->dispchar[0] == '*') {
			strata_error_set(
			        err, STRATA_EUSAGE,
			        "'%s' cannot be handed to %s without showing it on its command line",
			        k, tool);
			strata_error_hint(
			        err,
			        "Use a connection without %s for backups (for example a client key without a passphrase).",
			        k);
			goto done;
		}
		if (o->envvar)
			child_env_set(&cc->env, o->envvar, v);
		else
			add_keyword(&conninfo, k, v);
	}
	if (password) {
		/* nothing else of ours may carry it into the child */
		child_env_unset_containing(&cc->env, password);
		cc->password = xstrdup(password);
		if (write_passfile(cc, password, err) < 0)
			goto done;
	}
	cc->dbname_arg = xstrfmt("--dbname=%s", conninfo.buf);
	rc = 0;
done:
	PQconninfoFree(opts);
	sbuf_release(&conninfo);
	return rc;
}

/*
 * A failed child (`tool`): `what`, then its first "error:" line, as the
 * message; the rest of what it said and how it ended as the detail. All
 * scrubbed of the password. Returns -1.
 */
static int tool_failed(struct strata_error *err, enum strata_code code,
                       const char *what, const char *tool,
                       const struct child *c, const char *password)
{
	char *text = backup_scrub(c->err.buf, password);
	const char *hit = strstr(text, "error: ");
	struct sbuf detail = SBUF_INIT;
	size_t start = 0, end = 0;

	if (hit) {
		while (hit > text && hit[-1] != '\n')
			hit--;
		start = (size_t)(hit - text);
		end = start + strcspn(hit, "\n");
		hit = strstr(hit, "error: ") + strlen("error: ");
		strata_error_set(err, code, "%s: %.*s", what,
		                 (int)(text + end - hit), hit);
	} else {
		strata_error_set(err, code, "%s", what);
	}
	/* what it said besides the message's line */
	sbuf_add(&detail, text, start);
	sbuf_adds(&detail, text + end + (text[end] == '\n'));
	while (detail.len && (detail.buf[detail.len - 1] == '\n' ||
	                      detail.buf[detail.len - 1] == ' '))
		detail.buf[--detail.len] = '\0';
	if (detail.len)
		sbuf_addch(&detail, '\n');
	sbuf_addf(&detail, "%s ", tool);
	child_describe_status(&detail, c);
	sbuf_addch(&detail, '.');
	strata_error_detail(err, "%s", detail.buf);
	sbuf_release(&detail);
	free(text);
	return -1;
}

/* What a child that succeeded said (warnings), as warning events. */
static void tool_warnings(strata_event_fn fn, void *data, const struct child *c,
                          const char *password)
{
	char *text;
	size_t n;

	if (!c->err.len)
		return;
	text = backup_scrub(c->err.buf, password);
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	if (n)
		backup_emit(fn, data, STRATA_EVENT_WARNING, "%s", text);
	free(text);
}

/* ---- row counts --------------------------------------------------------- */

struct counts {
	PGresult *names;
	bool is_sent; /* the count query runs on the session */
};

/* Lists the tables, and sends the query that counts their rows. */
static int counts_send(struct counts *k, PGconn *pg, bool is_schema_only,
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
static int counts_collect(struct strata_backup *b, struct counts *k, PGconn *pg,
                          struct strata_error *err)
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
static void counts_release(struct counts *k, PGconn *pg)
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

/* ---- databases ---------------------------------------------------------- */

/*
 * CREATE DATABASE from template0, as pg_restore's documentation advises.
 * `why`, when given, says what it is for: a role without CREATEDB then
 * hears that, and the grant that would let it.
 */
static int create_database(const struct strata_url *url, const char *why,
                           struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	PGconn *pg = NULL;
	char *name = NULL;
	int rc = -1;

	if (pgsession_maintenance_connect(&pg, &name, url, err) < 0)
		return -1;
	sbuf_adds(&sql, "CREATE DATABASE ");
	sbuf_add_ident(&sql, name);
	sbuf_adds(&sql, " TEMPLATE template0");
	rc = pgsession_run(pg, sql.buf, err);
	/* 42501: the role lacks CREATEDB */
	if (rc < 0 && why && err && !strcmp(err->sqlstate, "42501")) {
		sbuf_reset(&sql);
		sbuf_adds(&sql, "ALTER ROLE ");
		sbuf_add_ident(&sql, PQuser(pg));
		sbuf_adds(&sql, " CREATEDB;");
		strata_error_set(err, STRATA_EFAILED,
		                 "%s: role '%s' may not create database '%s'",
		                 why, PQuser(pg), name);
		strata_error_hint(
		        err,
		        "It needs the CREATEDB privilege (as a superuser: %s), or a server where the role may create databases (the database URL names the server). Nothing was changed.",
		        sql.buf);
	}
	sbuf_release(&sql);
	PQfinish(pg);
	free(name);
	return rc;
}

/* A keyword string of `base`'s parameters with dbname = `dbname`. */
static int pg_resolve(struct strata_url *out, const struct strata_url *base,
                      const char *dbname, struct strata_error *err)
{
	PQconninfoOption *opts;
	struct sbuf sb = SBUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!base || base->kind != URL_POSTGRES) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "'%s' is a database name, but no PostgreSQL server was given",
		        dbname);
		return strata_error_hint(
		        err,
		        "Pass --database URL for the server (or set DATABASE_URL), or give a whole URL.");
	}
	opts = PQconninfoParse(base->raw, NULL);
	if (!opts)
		return strata_error_set(err, STRATA_EUSAGE,
		                        "invalid PostgreSQL URL '%s'",
		                        base->redacted);
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && strcmp(o->keyword, "dbname") != 0)
			add_keyword(&sb, o->keyword, o->val);
	add_keyword(&sb, "dbname", dbname);
	PQconninfoFree(opts);
	rc = url_parse(out, sb.buf, err);
	memset(sb.buf, 0, sb.len);
	sbuf_release(&sb);
	return rc;
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
	const char *argv[9];
	char wait_arg[64];
	size_t n = 0;
	int rc = -1;

	b->database_name = xstrdup(PQdb(pg));
	b->server_version = server_version(pg);
	min_what = xstrfmt("the server (PostgreSQL %s)", b->server_version);
	if (find_tool(&tool, "pg_dump", server_major, server_major, min_what,
	              job->opts->pg_bindir, err) < 0)
		goto done;
	b->tool = xstrdup(tool.version);
	if (begin_snapshot(&snapshot, pg, err) < 0 ||
	    lock_tables(db, pg, err) < 0 ||
	    backup_newest_applied(&b->newest_applied, db->conn, &db->table,
	                          err) < 0 ||
	    child_conn_init(&cc, pg, NULL, "pg_dump", err) < 0 ||
	    counts_send(&k, pg, job->opts->kind == STRATA_BACKUP_SCHEMA, err) <
	            0)
		goto done;
	file_arg = xstrfmt("--file=%s", job->tmp_path);
	snap_arg = xstrfmt("--snapshot=%s", snapshot);
	argv[n++] = tool.path;
	argv[n++] = "--format=custom";
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
	child_conn_pass(&cc, &c);
	c.tick = dump_tick;
	c.tick_data = job;
	if (child_run(&c, err) < 0)
		goto done;
	if (!child_succeeded(&c)) {
		tool_failed(err, STRATA_EFAILED, "pg_dump failed", "pg_dump",
		            &c, cc.password);
		goto done;
	}
	tool_warnings(db->opts.on_event, db->opts.event_data, &c, cc.password);
	dump_tick(job);
	if (counts_collect(b, &k, pg, err) < 0)
		goto done;
	rc = 0;
done:
	counts_release(&k, pg);
	/* ends the snapshot's transaction (a no-op when none began) */
	db->drv->rollback(db->conn);
	child_release(&c);
	child_conn_release(&cc);
	tool_release(&tool);
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
	int dump_major = version_major(b->tool);
	struct pg_tool tool = { 0 };
	struct child_env env;
	struct child c = CHILD_INIT;
	const char *argv[4];
	char *min_what = xstrfmt("the pg_dump that wrote '%s' (%s)", b->path,
	                         b->tool ? b->tool : "unknown");
	int rc = -1;

	*out = 0;
	child_env_init(&env);
	if (find_tool(&tool, "pg_restore", 0, dump_major, min_what, bindir,
	              err) < 0)
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

		tool_failed(err, STRATA_EVALIDATE, what, "pg_restore", &c,
		            NULL);
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
	tool_release(&tool);
	free(min_what);
	return rc;
}

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

#define RESTORE_ONE_TXN 1u /* --single-transaction: all or nothing */
#define RESTORE_CLEAN   2u /* --clean --if-exists: replace what is there */

/* Runs pg_restore of `b` into the database `url`, which exists. */
static int run_pg_restore(const struct strata_backup *b,
                          const struct strata_url *url, unsigned flags,
                          double lock_wait, const char *bindir,
                          strata_event_fn on_event, void *event_data,
                          struct strata_error *err)
{
	int dump_major = version_major(b->tool), server_major;
	struct strata_conn *conn = NULL;
	struct child_conn cc = { .pass_fd = -1 };
	struct pg_tool tool = { 0 };
	struct child c = CHILD_INIT;
	char *min_what = xstrfmt("the pg_dump that wrote '%s' (%s)", b->path,
	                         b->tool ? b->tool : "unknown");
	struct restore_watch w = { .who = SBUF_INIT };
	const char *argv[9];
	size_t n = 0;
	int rc = -1;

	if (pgdrv_driver.connect(&conn, url, err) < 0)
		goto done;
	server_major = PQserverVersion(session_of(conn)) / 10000;
	if (child_conn_init(&cc, session_of(conn), NULL, "pg_restore", err) < 0)
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
	if (find_tool(&tool, "pg_restore",
	              dump_major > server_major ? dump_major : server_major,
	              dump_major, min_what, bindir, err) < 0)
		goto done;
	argv[n++] = tool.path;
	argv[n++] = "--no-password";
	argv[n++] = "--exit-on-error";
	if (flags & RESTORE_ONE_TXN)
		argv[n++] = "--single-transaction";
	if (flags & RESTORE_CLEAN) {
		argv[n++] = "--clean";
		argv[n++] = "--if-exists";
	}
	argv[n++] = cc.dbname_arg;
	argv[n++] = b->path;
	argv[n] = NULL;
	c.argv = argv;
	child_conn_pass(&cc, &c);
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
	if (!child_succeeded(&c)) {
		tool_failed(err, STRATA_EFAILED, "pg_restore failed",
		            "pg_restore", &c, cc.password);
		goto done;
	}
	tool_warnings(on_event, event_data, &c, cc.password);
	rc = 0;
done:
	if (w.probe)
		pgdrv_driver.close(w.probe);
	sbuf_release(&w.who);
	if (conn)
		pgdrv_driver.close(conn);
	child_release(&c);
	child_conn_release(&cc);
	tool_release(&tool);
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

/* ---- restoring: never the only copy first ------------------------------- */

/* What the restoring role may do with the target database. */
struct target_rights {
	char *role;          /* current_user */
	char *owner;         /* the database's owner */
	bool is_super;       /* a superuser */
	bool can_createdb;   /* CREATEDB (or superuser) */
	bool is_owner;       /* a member of the owner (or superuser) */
	struct sbuf unowned; /* what the role cannot drop, one per line */
	int n_unowned;
};

static void rights_release(struct target_rights *r)
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

static int read_rights(struct target_rights *r, PGconn *pg,
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
static int other_sessions(int *out, struct sbuf *list, PGconn *pg,
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
static void close_and_await(struct strata_conn *c, const struct strata_url *url)
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
static int refuse_if_connected(PGconn *pg, const char *name,
                               struct strata_error *err)
{
	struct sbuf list = SBUF_INIT;
	int n = 0, rc = 0;

	if (other_sessions(&n, &list, pg, name, err) < 0)
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
static char *side_name(const char *base, const char *infix, const char *suffix)
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

static int drop_named(PGconn *pg, const char *name, struct strata_error *err)
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
static int audit_rows(PGresult **out, PGconn *pg, const char *audit,
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
static int audit_carry(int *n_out, PGconn *pg, const char *audit,
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
static int verify_restored(const struct strata_backup *b, PGconn *pg,
                           const char *what, struct strata_error *err)
{
	struct strata_backup got = { 0 };
	struct counts k = { 0 };
	int rc = -1;

	if (counts_send(&k, pg, false, err) < 0 ||
	    counts_collect(&got, &k, pg, err) < 0)
		goto done;
	backup_sort_tables(&got);
	rc = backup_compare_tables(b, &got, what, err);
done:
	counts_release(&k, pg);
	for (size_t i = 0; i < got.n_tables; i++)
		free(got.tables[i].name);
	free(got.tables);
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
	if (refuse_if_connected(m, name, err) < 0)
		goto done;
	snprintf(suffix, sizeof(suffix), "%ld_%lld", (long)getpid(),
	         (long long)time(NULL));
	new_name = side_name(name, "_strata_restore_", suffix);
	old_name = side_name(name, "_strata_old_", suffix);
	sbuf_adds(&sql, "CREATE DATABASE ");
	sbuf_add_ident(&sql, new_name);
	sbuf_adds(&sql, " TEMPLATE template0 OWNER ");
	sbuf_add_ident(&sql, r->owner);
	if (pgsession_run(m, sql.buf, err) < 0)
		goto done;
	is_created = true;
	if (pg_resolve(&new_url, &t->url, new_name, err) < 0)
		goto done;
	backup_emit(
	        opts->on_event, opts->event_data, STRATA_EVENT_RESTORE_PROGRESS,
	        "restoring '%s' into new database '%s' ('%s' stays as it is until that is complete)",
	        b->path, new_name, name);
	if (run_pg_restore(b, &new_url, 0, 0, opts->pg_bindir, opts->on_event,
	                   opts->event_data, err) < 0 ||
	    pgdrv_driver.connect(&conn, &new_url, err) < 0)
		goto done;
	if (b->kind != STRATA_BACKUP_DATA &&
	    verify_restored(b, session_of(conn),
	                    "the restored copy does not verify", err) < 0)
		goto done;
	/* a schema-only backup is followed by a data load that brings the
	 * trail: rows of ours now would collide with it */
	if (b->kind == STRATA_BACKUP_FULL &&
	    (pgdrv_driver.connect(&old, &t->url, err) < 0 ||
	     audit_rows(&rows, session_of(old), t->audit, err) < 0 ||
	     audit_carry(&carried, session_of(conn), t->audit, rows, err) < 0))
		goto done;
	if (old)
		close_and_await(old, &t->url);
	old = NULL;
	close_and_await(conn, &new_url);
	conn = NULL;
	if (carried)
		backup_emit(
		        opts->on_event, opts->event_data,
		        STRATA_EVENT_RESTORE_PROGRESS,
		        "carried %d audit row%s written after the backup over",
		        carried, carried == 1 ? "" : "s");
	if (refuse_if_connected(m, name, err) < 0)
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
		    refuse_if_connected(m, name, &e2) < 0 && e2.message) {
			strata_error_release(err);
			*err = e2;
			e2 = (struct strata_error)STRATA_ERROR_INIT;
		}
		goto done;
	}
	is_swapped = true;
	if (opts->is_keep_old) {
		t->kept = xstrdup(old_name);
	} else if (drop_named(m, old_name, &e2) < 0) {
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
		if (drop_named(m, new_name, &e2) < 0)
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
	if (other_sessions(&n, &list, pg, PQdb(pg), err) < 0)
		goto done;
	if (n)
		backup_emit(
		        opts->on_event, opts->event_data, STRATA_EVENT_WARNING,
		        "%d other session%s connected to '%s': the restore waits for their locks\n%s",
		        n, n == 1 ? " is" : "s are", PQdb(pg), list.buf);
	if (b->kind == STRATA_BACKUP_FULL &&
	    audit_rows(&rows, pg, t->audit, err) < 0)
		goto done;
	backup_emit(
	        opts->on_event, opts->event_data, STRATA_EVENT_RESTORE_PROGRESS,
	        "restoring '%s' into '%s' in one transaction (role '%s' may not create databases)",
	        b->path, t->url.redacted, r->role);
	if (run_pg_restore(b, &t->url, RESTORE_ONE_TXN | RESTORE_CLEAN,
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
	if (b->kind != STRATA_BACKUP_DATA &&
	    verify_restored(b, session_of(conn),
	                    "restored in place, but it differs from the backup",
	                    &e2) < 0)
		backup_emit(opts->on_event, opts->event_data,
		            STRATA_EVENT_WARNING, "%s", e2.message);
	strata_error_release(&e2);
	if (audit_carry(&carried, session_of(conn), t->audit, rows, &e2) < 0)
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

static int pg_restore_op(const struct strata_backup *b, struct backup_target *t,
                         bool is_clean,
                         const struct strata_restore_options *opts,
                         struct strata_error *err)
{
	struct strata_error e2 = STRATA_ERROR_INIT;
	struct target_rights r = { 0 };
	struct strata_conn *conn = NULL;
	int rc = -1;

	if (!t->exists) {
		/* created for the restore: dropped again when it fails */
		if (create_database(&t->url, "restore into a new database",
		                    err) < 0)
			return -1;
		backup_emit(opts->on_event, opts->event_data,
		            STRATA_EVENT_RESTORE_PROGRESS,
		            "restoring '%s' into new database '%s'", b->path,
		            t->url.redacted);
		rc = run_pg_restore(b, &t->url, 0, 0, opts->pg_bindir,
		                    opts->on_event, opts->event_data, err);
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
		return run_pg_restore(b, &t->url, RESTORE_ONE_TXN,
		                      opts->lock_wait, opts->pg_bindir,
		                      opts->on_event, opts->event_data, err);
	}
	/* every right checked before anything is touched */
	if (pgdrv_driver.connect(&conn, &t->url, err) < 0 ||
	    read_rights(&r, session_of(conn), err) < 0)
		goto done;
	if (r.can_createdb && r.is_owner) {
		close_and_await(conn, &t->url);
		conn = NULL;
		rc = restore_swap(b, t, &r, opts, err);
	} else {
		rc = restore_in_place(b, t, &r, session_of(conn), opts, err);
	}
done:
	if (conn)
		pgdrv_driver.close(conn);
	rights_release(&r);
	return rc;
}

static int pg_restore_test(struct strata_backup *out,
                           const struct strata_backup *b,
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
		return strata_error_hint(
		        err,
		        "Pass --database URL (any database on the server to test on): a scratch database is created there and dropped afterwards.");
	}
	if (url_parse(&base, opts->url, err) < 0)
		goto done;
	name = xstrfmt("strata_restore_test_%ld_%lld", (long)getpid(),
	               (long long)time(NULL));
	if (pg_resolve(&scratch, &base, name, err) < 0 ||
	    create_database(
	            &scratch,
	            "restore test: a scratch database is created (and dropped afterwards)",
	            err) < 0)
		goto done;
	is_created = true;
	backup_emit(opts->on_event, opts->event_data,
	            STRATA_EVENT_RESTORE_PROGRESS,
	            "restore test: restoring into scratch database '%s'", name);
	if (run_pg_restore(b, &scratch, 0, 0, opts->pg_bindir, opts->on_event,
	                   opts->event_data, err) < 0 ||
	    pgdrv_driver.connect(&conn, &scratch, err) < 0 ||
	    counts_send(&k, session_of(conn), false, err) < 0 ||
	    counts_collect(out, &k, session_of(conn), err) < 0)
		goto done;
	rc = 0;
done:
	if (conn) {
		counts_release(&k, session_of(conn));
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

const struct backup_ops pgbackup_ops = {
	.suffix = ".dump",
	.create = pg_create,
	.check = pg_check,
	.restore_test = pg_restore_test,
	.resolve = pg_resolve,
	.inspect = pg_inspect,
	.restore = pg_restore_op,
};
