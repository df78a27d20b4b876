/*
 * A shadow on a private throwaway PostgreSQL cluster (design.md, Schema
 * and drift): the server's major version's initdb and pg_ctl, a data
 * directory and socket in a private temporary directory (0700, so that
 * trust authentication lets in no one else), no TCP, durability off, run
 * as the current user and stopped (SIGQUIT, pg_ctl stop -m immediate's
 * signal) and removed on every path. It does not run as root (initdb
 * refuses) nor switch users: that would surprise. A directory a killed
 * strata left is swept by the next one on the host.
 */
#define _XOPEN_SOURCE 700 /* nftw() */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/spawn.h"
#include "util/error.h"
#include "engine/url.h"
#include "drivers/driver.h"
#include "drivers/pgsession.h"
#include "engine/db.h"
#include "backup/backup.h"
#include "backup/backup_pg.h"
#include "backup/drift.h"

#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEBIAN_PREFIX  "/usr/lib/postgresql/"
#define CLUSTER_PREFIX "strata-shadow-cluster-"
/* Any port: the server listens only on its private socket directory. */
#define CLUSTER_PORT "5432"

static const char *tmp_dir(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

static bool has_server(const char *dir)
{
	char *a = xstrfmt("%s/initdb", dir), *b = xstrfmt("%s/pg_ctl", dir);
	bool ok = pgbackup_is_executable(a) && pgbackup_is_executable(b);

	free(a);
	free(b);
	return ok;
}

/* `pg_config --bindir`, when pg_config is on PATH. */
static char *pg_config_bindir(void)
{
	const char *argv[] = { "pg_config", "--bindir", NULL };
	struct child c = CHILD_INIT;
	struct strata_error e = STRATA_ERROR_INIT;
	char *dir = NULL;

	c.argv = argv;
	c.is_path_search = true;
	if (child_run(&c, &e) == 0 && child_succeeded(&c)) {
		c.out.buf[strcspn(c.out.buf, "\r\n")] = '\0';
		if (c.out.len)
			dir = xstrdup(c.out.buf);
	}
	strata_error_release(&e);
	child_release(&c);
	return dir;
}

/* The directory of PATH's initdb, when pg_ctl is beside it. */
static char *path_bindir(void)
{
	char *dir = pgbackup_find_on_path("initdb");

	if (dir) {
		*strrchr(dir, '/') = '\0';
		if (!has_server(dir)) {
			free(dir);
			dir = NULL;
		}
	}
	return dir;
}

/*
 * The bin directory of PostgreSQL `major`'s server programs: `given`
 * alone when set, else Debian's, pg_config's or PATH's whose initdb is
 * of that major. NULL (and why, in `why`) when there is none.
 */
static char *find_bindir(int major, const char *given, struct sbuf *why)
{
	char *cand[3] = { NULL, NULL, NULL };
	char *found = NULL;

	if (given && *given)
		cand[0] = xstrdup(given);
	else {
		cand[0] = xstrfmt(DEBIAN_PREFIX "%d/bin", major);
		cand[1] = pg_config_bindir();
		cand[2] = path_bindir();
	}
	for (size_t i = 0; i < ARRAY_SIZE(cand) && !found; i++) {
		struct pg_tool t = { 0 };
		struct strata_error e = STRATA_ERROR_INIT;
		char *initdb;

		if (!cand[i] || !has_server(cand[i]))
			continue;
		initdb = xstrfmt("%s/initdb", cand[i]);
		if (pgbackup_find_tool(&t, "initdb", major, 0, NULL, cand[i],
		                       &e) == 0 &&
		    t.major == major) {
			found = cand[i];
			cand[i] = NULL;
		} else if (!why->len && t.major) {
			sbuf_addf(why, " ('%s' is PostgreSQL %d's)", initdb,
			          t.major);
		}
		free(initdb);
		pgbackup_tool_release(&t);
		strata_error_release(&e);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cand); i++)
		free(cand[i]);
	return found;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Whether process `pid` runs (a zombie no parent reaps does not). */
static bool is_running(long pid)
{
	char path[64], buf[512];
	FILE *f;
	const char *p;
	bool running = kill((pid_t)pid, 0) == 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!running || !(f = fopen(path, "re")))
		return running;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
	    p[1] == ' ' && p[2] == 'Z')
		running = false;
	fclose(f);
	return running;
}

/*
 * The postmaster's pid, from its postmaster.pid, else 0; 0 too when that
 * pid is now another process (a postmaster's working directory is its
 * data directory): a pid left in a file is never signalled blindly.
 */
static long postmaster_pid(const char *dir)
{
	char *path = xstrfmt("%s/data/postmaster.pid", dir);
	char *data = xstrfmt("%s/data", dir);
	char cwd_link[64], cwd[PATH_MAX], *real = NULL;
	FILE *f = fopen(path, "re");
	long pid = 0;
	ssize_t n;

	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0) {
		snprintf(cwd_link, sizeof(cwd_link), "/proc/%ld/cwd", pid);
		n = readlink(cwd_link, cwd, sizeof(cwd) - 1);
		real = realpath(data, NULL);
		if (n < 0 || !real || (size_t)n != strlen(real) ||
		    memcmp(cwd, real, (size_t)n))
			pid = 0;
	}
	free(real);
	free(data);
	free(path);
	return pid;
}

/*
 * Stops the cluster in `dir` and removes the directory. SIGQUIT is the
 * immediate shutdown pg_ctl stop -m immediate sends; sent directly, as a
 * child would be ended at once once strata_cancel() ran, and nothing of a
 * throwaway cluster needs a clean shutdown. SIGKILL after 10 s.
 */
static void stop_and_remove(const char *dir, long pid)
{
	if (!pid)
		pid = postmaster_pid(dir);
	if (pid > 0 && kill((pid_t)pid, SIGQUIT) == 0) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		for (int i = 0; i < 500 && is_running(pid); i++)
			nanosleep(&ts, NULL);
		if (is_running(pid))
			kill((pid_t)pid, SIGKILL);
	}
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * The clusters a strata of this host left when it was killed outright
 * (no exit path ran): each directory names its strata's pid.
 */
static void sweep_orphans(struct strata_db *db)
{
	char *pattern = xstrfmt("%s/" CLUSTER_PREFIX "*", tmp_dir());
	glob_t g;

	if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *base = strrchr(g.gl_pathv[i], '/') + 1;
			long pid =
			        strtol(base + strlen(CLUSTER_PREFIX), NULL, 10);
			struct stat st;

			if (pid <= 0 || kill((pid_t)pid, 0) == 0 ||
			    errno != ESRCH || lstat(g.gl_pathv[i], &st) < 0 ||
			    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
				continue;
			stop_and_remove(g.gl_pathv[i], 0);
			db_emit_warning(
			        db, NULL,
			        "removed shadow cluster '%s', left by a strata (pid %ld) that was killed",
			        g.gl_pathv[i], pid);
		}
		globfree(&g);
	}
	free(pattern);
}

/* Runs a server program; its output is the error when it fails. */
static int run_tool(const char *const *argv, struct strata_error *err)
{
	struct child_env env;
	struct child c = CHILD_INIT;
	int rc = -1;

	child_env_init(&env);
	/* the cluster's own settings, not the caller's */
	child_env_unset(&env, "PGDATA");
	child_env_unset(&env, "PGPORT");
	child_env_unset(&env, "PGHOST");
	c.argv = argv;
	c.envp = env.v;
	if (child_run(&c, err) < 0)
		goto done;
	if (!child_succeeded(&c)) {
		struct sbuf st = SBUF_INIT;

		child_describe_status(&st, &c);
		strata_error_set(err, STRATA_EFAILED,
		                 "could not start the shadow cluster: '%s' %s",
		                 argv[0], st.buf);
		while (c.err.len && strchr(" \t\r\n", c.err.buf[c.err.len - 1]))
			c.err.buf[--c.err.len] = '\0';
		if (c.err.len)
			strata_error_detail(err, "%s", c.err.buf);
		sbuf_release(&st);
		goto done;
	}
	rc = 0;
done:
	child_release(&c);
	child_env_release(&env);
	return rc;
}

/* A setting's value as postgresql.conf reads it. */
static void add_conf_string(struct sbuf *sb, const char *s)
{
	sbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			sbuf_addch(sb, *s);
		sbuf_addch(sb, *s);
	}
	sbuf_addch(sb, '\'');
}

static int write_settings(const char *dir, struct strata_error *err)
{
	char *path = xstrfmt("%s/data/postgresql.conf", dir);
	struct sbuf conf = SBUF_INIT;
	FILE *f = fopen(path, "ae");
	int rc = -1;

	sbuf_adds(&conf, "\n# a throwaway shadow: no TCP, no durability\n"
	                 "listen_addresses = ''\n"
	                 "port = " CLUSTER_PORT "\n"
	                 "unix_socket_directories = ");
	add_conf_string(&conf, dir);
	sbuf_adds(&conf, "\nunix_socket_permissions = 0700\n"
	                 "fsync = off\nfull_page_writes = off\n"
	                 "synchronous_commit = off\nshared_buffers = 16MB\n"
	                 "max_connections = 20\nautovacuum = off\n"
	                 "max_wal_senders = 0\nwal_level = minimal\n");
	if (!f || fwrite(conf.buf, 1, conf.len, f) != conf.len) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not write '%s': %s", path,
		                 strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (f && fclose(f) != 0 && rc == 0)
		rc = strata_error_set(err, STRATA_EFAILED,
		                      "could not write '%s': %s", path,
		                      strerror(errno));
	sbuf_release(&conf);
	free(path);
	return rc;
}

/*
 * The roles of db's server, made (NOLOGIN) on the shadow, so that the
 * migrations' GRANTs and owners find them. Best effort.
 */
static void copy_roles(struct strata_db *shadow, struct strata_db *db)
{
	PGconn *from = session_of(db->conn), *to = session_of(shadow->conn);
	PGresult *res = PQexec(
	        from, "SELECT rolname FROM pg_catalog.pg_roles"
	              " WHERE rolname !~ '^pg_' AND rolname <> current_user");
	struct sbuf sql = SBUF_INIT;

	for (int i = 0;
	     PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res);
	     i++) {
		struct strata_error e = STRATA_ERROR_INIT;

		sbuf_reset(&sql);
		sbuf_adds(&sql, "CREATE ROLE ");
		sbuf_add_ident(&sql, PQgetvalue(res, i, 0));
		sbuf_adds(&sql, " NOLOGIN");
		pgsession_run(to, sql.buf, &e);
		strata_error_release(&e);
	}
	PQclear(res);
	sbuf_release(&sql);
}

int drift_cluster_start(struct shadow *s, struct strata_db *db,
                        const char *bindir, bool is_fallback, char **out_url,
                        char **out_name, struct strata_error *err)
{
	PGconn *pg = session_of(db->conn);
	int major = PQserverVersion(pg) / 10000;
	const char *enc = PQparameterStatus(pg, "server_encoding");
	const char *role = PQuser(pg);
	struct sbuf why = SBUF_INIT, url = SBUF_INIT;
	char *bin = NULL, *initdb = NULL, *pg_ctl = NULL, *data = NULL;
	char *log = NULL, *user = NULL, *encoding = NULL;
	char *no_db =
	        is_fallback
	                ? xstrfmt("role '%s' may not create a shadow database, and ",
	                          role)
	                : xstrdup("");
	int rc = -1;

	if (geteuid() == 0) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "%sa private shadow cluster cannot run as root (PostgreSQL's initdb refuses to)",
		        no_db);
		strata_error_hint(
		        err,
		        "Run strata as another user, give role '%s' the CREATEDB privilege (as a superuser: ALTER ROLE \"%s\" CREATEDB;), or a shadow database of its own to use.",
		        role, role);
		strata_error_reason(err, STRATA_REASON_SHADOW_CREATEDB, -1);
		goto done;
	}
	if (!(bin = find_bindir(major, bindir, &why))) {
		if (bindir && *bindir)
			strata_error_set(
			        err, STRATA_EFAILED,
			        "%sno PostgreSQL %d server programs (initdb, pg_ctl) in '%s' for a private shadow cluster%s",
			        no_db, major, bindir, why.buf);
		else
			strata_error_set(
			        err, STRATA_EFAILED,
			        "%sPostgreSQL %d's server programs (initdb, pg_ctl) for a private shadow cluster are not installed%s",
			        no_db, major, why.buf);
		strata_error_hint(
		        err,
		        "Install postgresql-%d (Debian), give role '%s' the CREATEDB privilege (as a superuser: ALTER ROLE \"%s\" CREATEDB;), or a shadow database of its own to use.",
		        major, role, role);
		strata_error_reason(err, STRATA_REASON_SHADOW_CREATEDB, -1);
		goto done;
	}
	sweep_orphans(db);
	s->cluster_dir = xstrfmt("%s/" CLUSTER_PREFIX "%ld-XXXXXX", tmp_dir(),
	                         (long)getpid());
	/* mkdtemp makes it 0700: the socket and trust are ours alone */
	if (!mkdtemp(s->cluster_dir)) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "could not create a shadow cluster in '%s': %s",
		        tmp_dir(), strerror(errno));
		free(s->cluster_dir);
		s->cluster_dir = NULL;
		goto done;
	}
	/* a Unix socket's path holds at most 107 bytes */
	if (strlen(s->cluster_dir) + strlen("/.s.PGSQL." CLUSTER_PORT) > 107) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "the shadow cluster's socket path in '%s' would be too long",
		        s->cluster_dir);
		strata_error_hint(
		        err, "Point TMPDIR at a directory of a shorter path.");
		goto done;
	}
	initdb = xstrfmt("%s/initdb", bin);
	pg_ctl = xstrfmt("%s/pg_ctl", bin);
	data = xstrfmt("%s/data", s->cluster_dir);
	log = xstrfmt("%s/server.log", s->cluster_dir);
	/* the superuser named as db's role: the shadow's objects have the
	 * owner the database's have */
	user = xstrfmt("--username=%s", role);
	encoding = xstrfmt("--encoding=%s", enc && *enc ? enc : "UTF8");
	{
		const char *argv[] = { initdb,        "--pgdata",     data,
			               user,          "--auth=trust", encoding,
			               "--no-locale", "--no-sync",    NULL };

		if (run_tool(argv, err) < 0)
			goto done;
	}
	if (write_settings(s->cluster_dir, err) < 0)
		goto done;
	{
		const char *argv[] = { pg_ctl,     "start",
			               "--wait",   "--timeout=60",
			               "--silent", "--pgdata",
			               data,       "--log",
			               log,        NULL };

		if (run_tool(argv, err) < 0) {
			struct sbuf tail = SBUF_INIT;
			struct strata_error e = STRATA_ERROR_INIT;

			if (sbuf_read_file(&tail, log, 1 << 20, &e) == 0 &&
			    tail.len && !err->detail)
				strata_error_detail(err, "%s", tail.buf);
			sbuf_release(&tail);
			strata_error_release(&e);
			goto done;
		}
	}
	s->cluster_pid = postmaster_pid(s->cluster_dir);
	s->cluster_bin = xstrdup(bin);
	s->cluster_major = major;
	pgsession_add_keyword(&url, "host", s->cluster_dir);
	sbuf_addch(&url, ' ');
	pgsession_add_keyword(&url, "port", CLUSTER_PORT);
	sbuf_addch(&url, ' ');
	pgsession_add_keyword(&url, "user", role);
	sbuf_addch(&url, ' ');
	pgsession_add_keyword(&url, "dbname", "postgres");
	*out_url = sbuf_detach(&url, NULL);
	*out_name =
	        xstrfmt("a private PostgreSQL %d cluster from %s", major, bin);
	rc = 0;
done:
	free(no_db);
	sbuf_release(&why);
	sbuf_release(&url);
	free(bin);
	free(initdb);
	free(pg_ctl);
	free(data);
	free(log);
	free(user);
	free(encoding);
	return rc;
}

void drift_cluster_ready(struct shadow *s, struct strata_db *db)
{
	copy_roles(s->db, db);
}

void drift_cluster_stop(struct shadow *s)
{
	if (!s->cluster_dir)
		return;
	stop_and_remove(s->cluster_dir, s->cluster_pid);
	free(s->cluster_dir);
	s->cluster_dir = NULL;
	free(s->cluster_bin);
	s->cluster_bin = NULL;
}
