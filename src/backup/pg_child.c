/*
 * How a pg_dump or pg_restore child connects (see backup_pg.c).
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

/* ---- a child's connection ----------------------------------------------- */

/* Hands the environment and the password file over to the child. */
void pgchild_pass(const struct child_conn *cc, struct child *c)
{
	c->envp = cc->env.v;
	c->pass_fd = cc->pass_fd;
	c->pass_fd_as = cc->pass_fd_as;
}

void pgchild_release(struct child_conn *cc)
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
int pgchild_init(struct child_conn *cc, PGconn *pg, const char *dbname,
                 const char *tool, struct strata_error *err)
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
	pgsession_add_keyword(&conninfo, "dbname", dbname ? dbname : PQdb(pg));
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
			pgsession_add_keyword(&conninfo, k, v);
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
int pgchild_tool_failed(struct strata_error *err, enum strata_code code,
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
void pgchild_tool_warnings(strata_event_fn fn, void *data,
                           const struct child *c, const char *password)
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
/* ---- databases ---------------------------------------------------------- */

/*
 * CREATE DATABASE from template0, as pg_restore's documentation advises.
 * `why`, when given, says what it is for: a role without CREATEDB then
 * hears that, and the grant that would let it.
 */
int pgchild_create_database(const struct strata_url *url, const char *why,
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
int pgchild_resolve(struct strata_url *out, const struct strata_url *base,
                    const char *dbname, struct strata_error *err)
{
	return pgsession_url_on_server(out, base, dbname, err);
}
