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
#include "internal.h"
#include "driver_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
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
		return pgdrv_error(err, pg, k->names);
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
		return pgdrv_error(err, pg, NULL);
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
			rc = pgdrv_error(err, pg, res);
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

/* CREATE DATABASE from template0, as pg_restore's documentation advises. */
static int create_database(const struct strata_url *url,
                           struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	PGconn *pg = NULL;
	char *name = NULL;
	int rc = -1;

	if (pgdrv_maintenance_connect(&pg, &name, url, err) < 0)
		return -1;
	sbuf_adds(&sql, "CREATE DATABASE ");
	sbuf_add_ident(&sql, name);
	sbuf_adds(&sql, " TEMPLATE template0");
	rc = pgdrv_run(pg, sql.buf, err);
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

	if (pgdrv_run(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
	              err) < 0)
		return -1;
	res = PQexec(pg, "SELECT pg_catalog.pg_export_snapshot()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgdrv_error(err, pg, res);
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
	PGconn *pg = pgdrv_session(db->conn);
	int server_major = PQserverVersion(pg) / 10000;
	struct pg_tool tool = { 0 };
	struct child_conn cc = { .pass_fd = -1 };
	struct counts k = { 0 };
	struct child c = CHILD_INIT;
	char *snapshot = NULL, *file_arg = NULL, *snap_arg = NULL;
	char *min_what = NULL;
	const char *argv[8];
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
	    backup_newest_applied(&b->newest_applied, db->drv, db->conn,
	                          &db->table, err) < 0 ||
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

/* Runs pg_restore of `b` into the database `url`, which exists. */
static int run_pg_restore(const struct strata_backup *b,
                          const struct strata_url *url, const char *bindir,
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
	const char *argv[6];
	int rc = -1;

	if (pgdrv_driver.connect(&conn, url, err) < 0)
		goto done;
	server_major = PQserverVersion(pgdrv_session(conn)) / 10000;
	if (child_conn_init(&cc, pgdrv_session(conn), NULL, "pg_restore", err) <
	    0)
		goto done;
	pgdrv_driver.close(conn);
	conn = NULL;
	if (find_tool(&tool, "pg_restore",
	              dump_major > server_major ? dump_major : server_major,
	              dump_major, min_what, bindir, err) < 0)
		goto done;
	argv[0] = tool.path;
	argv[1] = "--no-password";
	argv[2] = "--exit-on-error";
	argv[3] = cc.dbname_arg;
	argv[4] = b->path;
	argv[5] = NULL;
	c.argv = argv;
	child_conn_pass(&cc, &c);
	if (child_run(&c, err) < 0)
		goto done;
	if (!child_succeeded(&c)) {
		tool_failed(err, STRATA_EFAILED, "pg_restore failed",
		            "pg_restore", &c, cc.password);
		goto done;
	}
	tool_warnings(on_event, event_data, &c, cc.password);
	rc = 0;
done:
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
	res = PQexec(pgdrv_session(conn), is_empty_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgdrv_error(err, pgdrv_session(conn), res);
	} else {
		t->is_empty = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		rc = 0;
	}
	PQclear(res);
	pgdrv_driver.close(conn);
	return rc;
}

static int pg_restore_op(const struct strata_backup *b,
                         const struct backup_target *t, bool is_clean,
                         const struct strata_restore_options *opts,
                         struct strata_error *err)
{
	if (is_clean) {
		backup_emit(opts->on_event, opts->event_data,
		            STRATA_EVENT_RESTORE_PROGRESS,
		            "dropping and creating '%s' again",
		            t->url.redacted);
		if (pgdrv_driver.database_drop(&t->url, false, err) < 0) {
			/* 55006: sessions are connected to it */
			if (err && !strcmp(err->sqlstate, "55006"))
				strata_error_hint(
				        err,
				        "Stop what is connected to it (the application, psql), then restore again. Nothing was changed.");
			return -1;
		}
	}
	if ((is_clean || !t->exists) && create_database(&t->url, err) < 0)
		return -1;
	backup_emit(opts->on_event, opts->event_data,
	            STRATA_EVENT_RESTORE_PROGRESS, "restoring '%s' into '%s'",
	            b->path, t->url.redacted);
	return run_pg_restore(b, &t->url, opts->pg_bindir, opts->on_event,
	                      opts->event_data, err);
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
	    create_database(&scratch, err) < 0)
		goto done;
	is_created = true;
	backup_emit(opts->on_event, opts->event_data,
	            STRATA_EVENT_RESTORE_PROGRESS,
	            "restore test: restoring into scratch database '%s'", name);
	if (run_pg_restore(b, &scratch, opts->pg_bindir, opts->on_event,
	                   opts->event_data, err) < 0 ||
	    pgdrv_driver.connect(&conn, &scratch, err) < 0 ||
	    counts_send(&k, pgdrv_session(conn), false, err) < 0 ||
	    counts_collect(out, &k, pgdrv_session(conn), err) < 0)
		goto done;
	rc = 0;
done:
	if (conn) {
		counts_release(&k, pgdrv_session(conn));
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
