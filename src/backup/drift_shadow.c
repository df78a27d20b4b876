/*
 * drift's shadow database (see drift.c): a database the caller named,
 * refused while it holds tables strata did not make and emptied before
 * and after use; else a temporary database on the same server, created
 * from template0, marked with its drift's host and pid, and dropped on
 * every path (a later drift on the host drops one whose drift was killed
 * outright); else, when the role may not create one, a private
 * throwaway cluster (drift_cluster.c); or a temporary SQLite file. Also
 * the extensions the migrations need there.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/spawn.h"
#include "util/cancel.h"
#include "util/error.h"
#include "engine/url.h"
#include "engine/source.h"
#include "drivers/driver.h"
#include "drivers/pgsession.h"
#include "engine/db.h"
#include "backup/backup.h"
#include "backup/backup_pg.h"
#include "backup/schema.h"
#include "backup/drift.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Tables in a would-be shadow other than `$1`, `$2`, `$3` (strata's). */
static const char pg_foreign_sql[] =
        "SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
        " AND c.oid IS DISTINCT FROM pg_catalog.to_regclass($1)"
        " AND c.oid IS DISTINCT FROM pg_catalog.to_regclass($2)"
        " AND c.oid IS DISTINCT FROM pg_catalog.to_regclass($3)"
        " ORDER BY 1";

/*
 * Empties a shadow: what the role owns (DROP OWNED), else (the bootstrap
 * superuser owns the system too) the public schema made again as
 * initdb makes it; and every other schema of users.
 */
static const char pg_reset_sql[] =
        "DO $$DECLARE s name; BEGIN"
        " BEGIN EXECUTE 'DROP OWNED BY CURRENT_USER';"
        " EXCEPTION WHEN dependent_objects_still_exist THEN"
        " DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
        " IF pg_catalog.current_setting('server_version_num')::int >= 150000"
        " THEN EXECUTE 'ALTER SCHEMA public OWNER TO pg_database_owner';"
        " GRANT USAGE ON SCHEMA public TO PUBLIC;"
        " ELSE GRANT ALL ON SCHEMA public TO PUBLIC; END IF;"
        " COMMENT ON SCHEMA public IS 'standard public schema';"
        " END;"
        " FOR s IN SELECT nspname FROM pg_catalog.pg_namespace"
        " WHERE nspname NOT IN ('public', 'information_schema')"
        " AND nspname !~ '^pg_' LOOP"
        " EXECUTE pg_catalog.format('DROP SCHEMA %I CASCADE', s);"
        " END LOOP; END$$";

static char *random_suffix(void)
{
	unsigned char b[4] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
		unsigned v = (unsigned)time(NULL) ^ (unsigned)getpid();

		memcpy(b, &v, sizeof(b));
	}
	if (fd >= 0)
		close(fd);
	return xstrfmt("%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

void drift_shadow_remove(struct shadow *s, struct strata_db *db,
                         const char *name)
{
	struct strata_error e = STRATA_ERROR_INIT;

	/* a given shadow keeps nothing of this use: the next one finds it
	 * as empty as it refuses to find a database of value */
	if (s->is_emptied && s->db &&
	    pgsession_run(session_of(s->db->conn), pg_reset_sql, &e) < 0)
		db_emit_warning(db, NULL,
		                "could not empty shadow database '%s': %s",
		                name ? name : "?", e.message);
	strata_error_release(&e);
	strata_db_close(s->db);
	s->db = NULL;
	drift_cluster_stop(s);
	if (s->is_created && pgdrv_driver.database_drop(&s->url, true, &e) < 0)
		db_emit_warning(db, NULL,
		                "could not drop shadow database '%s': %s",
		                name ? name : "?", e.message);
	if (s->path) {
		static const char *const ext[] = { "", "-journal", "-wal",
			                           "-shm" };

		for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
			char *p = xstrfmt("%s%s", s->path, ext[i]);

			unlink(p);
			free(p);
		}
	}
	strata_error_release(&e);
	url_release(&s->url);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

/* CREATE DATABASE strata_shadow_PID_RANDOM on db's server. */
/* What a temporary shadow's comment says of the drift that made it. */
#define SHADOW_MARK "strata drift shadow: host="

static void this_host(char *buf, size_t size)
{
	if (gethostname(buf, size) < 0)
		snprintf(buf, size, "?");
	buf[size - 1] = '\0';
}

/*
 * Drops the temporary shadows a drift of this host left when it was
 * killed (SIGKILL, a power loss: no exit path ran), each marked by its
 * comment with the host and pid of its drift; a shadow of a drift still
 * running, or of another host, is left alone. Best effort: a failure is
 * a warning.
 */
static void sweep_orphans(struct strata_db *db)
{
	PGconn *pg = session_of(db->conn);
	struct sbuf like = SBUF_INIT;
	char host[256];
	const char *vals[1];
	PGresult *res;

	this_host(host, sizeof(host));
	/* the host name as itself, not as a LIKE pattern */
	sbuf_adds(&like, SHADOW_MARK);
	for (const char *p = host; *p; p++) {
		if (strchr("\\%_", *p))
			sbuf_addch(&like, '\\');
		sbuf_addch(&like, *p);
	}
	sbuf_adds(&like, " pid=%");
	vals[0] = like.buf;
	res = PQexecParams(
	        pg,
	        "SELECT d.datname, pg_catalog.shobj_description(d.oid, 'pg_database')"
	        " FROM pg_catalog.pg_database d"
	        " WHERE d.datname LIKE 'strata\\_shadow\\_%'"
	        " AND pg_catalog.shobj_description(d.oid, 'pg_database') LIKE $1",
	        1, NULL, vals, NULL, NULL, 0);
	for (int i = 0;
	     PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res);
	     i++) {
		const char *name = PQgetvalue(res, i, 0);
		const char *pid_at = strstr(PQgetvalue(res, i, 1), " pid=");
		long pid = pid_at ? strtol(pid_at + 5, NULL, 10) : 0;
		struct strata_error e = STRATA_ERROR_INIT;
		struct strata_url url = { 0 };

		if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (pgchild_resolve(&url, &db->url, name, &e) == 0 &&
		    pgdrv_driver.database_drop(&url, true, &e) == 0)
			db_emit_warning(
			        db, NULL,
			        "dropped shadow database '%s', left by a drift (pid %ld) that was killed",
			        name, pid);
		else
			db_emit_warning(
			        db, NULL,
			        "could not drop shadow database '%s', left by a drift (pid %ld) that was killed: %s",
			        name, pid, e.message);
		url_release(&url);
		strata_error_release(&e);
	}
	PQclear(res);
	sbuf_release(&like);
}

static int mark_shadow(struct strata_db *db, const char *name,
                       struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT, mark = SBUF_INIT;
	char host[256];
	int rc;

	this_host(host, sizeof(host));
	sbuf_addf(&mark, SHADOW_MARK "%s pid=%ld", host, (long)getpid());
	sbuf_adds(&sql, "COMMENT ON DATABASE ");
	sbuf_add_ident(&sql, name);
	sbuf_adds(&sql, " IS ");
	sbuf_add_literal(&sql, mark.buf);
	rc = pgsession_run(session_of(db->conn), sql.buf, err);
	sbuf_release(&sql);
	sbuf_release(&mark);
	return rc;
}

static int pg_create_shadow(struct shadow *s, struct strata_db *db,
                            char **out_name, struct strata_error *err)
{
	char *suffix = random_suffix();
	char *name = xstrfmt("strata_shadow_%ld_%s", (long)getpid(), suffix);
	int rc = -1;

	free(suffix);
	if (pgchild_resolve(&s->url, &db->url, name, err) < 0)
		goto done;
	if (pgchild_create_database(&s->url, NULL, err) < 0) {
		/* 42501: the role lacks CREATEDB */
		if (err && !strcmp(err->sqlstate, "42501")) {
			const char *role = PQuser(session_of(db->conn));

			free(err->message);
			err->message = xstrfmt(
			        "drift: role '%s' may not create the shadow database '%s'",
			        role, name);
			strata_error_hint(
			        err,
			        "It needs the CREATEDB privilege (as a superuser: ALTER ROLE \"%s\" CREATEDB;), or a shadow database of its own to use. Nothing was changed.",
			        role);
			strata_error_reason(err, STRATA_REASON_SHADOW_CREATEDB,
			                    -1);
		}
		goto done;
	}
	s->is_created = true;
	/* the mark a later drift sweeps by, should this one be killed */
	if (mark_shadow(db, name, err) < 0)
		goto done;
	*out_name = name;
	name = NULL;
	rc = 0;
done:
	free(name);
	return rc;
}

/* A shadow the caller named: refused while it holds tables strata did
 * not make (unless is_reset), then emptied. */
static int pg_prepare_given(struct shadow *s, bool is_reset,
                            struct strata_error *err)
{
	PGconn *pg = session_of(s->db->conn);
	const struct table_name *own[4];
	const char *vals[3] = { NULL, NULL, NULL };
	PGresult *res;
	struct sbuf list = SBUF_INIT;
	int n, rc = -1;

	schema_own_tables(s->db, own);
	for (size_t i = 0; i < 3 && own[i]; i++)
		vals[i] = own[i]->quoted;
	res = PQexecParams(pg, pg_foreign_sql, 3, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgsession_error(err, pg, res);
		goto done;
	}
	n = PQntuples(res);
	if (n && !is_reset) {
		for (int i = 0; i < n && i < 5; i++)
			sbuf_addf(&list, "%s'%s'", i ? ", " : "",
			          PQgetvalue(res, i, 0));
		strata_error_set(
		        err, STRATA_EFAILED,
		        "shadow database '%s' holds %d table%s strata did not make",
		        PQdb(pg), n, n == 1 ? "" : "s");
		strata_error_detail(err, "It holds %s%s.", list.buf,
		                    n > 5 ? " and more" : "");
		strata_error_hint(
		        err,
		        "A shadow database is emptied before each use: name one that holds nothing of value, or reset it to empty it anyway.");
		strata_error_reason(err, STRATA_REASON_SHADOW_NOT_EMPTY, -1);
		goto done;
	}
	rc = pgsession_run(pg, pg_reset_sql, err);
done:
	PQclear(res);
	sbuf_release(&list);
	return rc;
}

/* A temporary SQLite file: its name, for sqlite:PATH. */
static int sqlite_temp(struct shadow *s, struct strata_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *path = xstrfmt("%s/strata-shadow-%ld-XXXXXX.db",
	                     tmp && *tmp ? tmp : "/tmp", (long)getpid());
	int fd = mkstemps(path, 3);

	if (fd < 0) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "could not create a shadow database file in '%s': %s",
		        tmp && *tmp ? tmp : "/tmp", strerror(errno));
		free(path);
		return -1;
	}
	close(fd);
	s->path = path;
	return 0;
}

/* Whether two handles reach one database: a shadow must never be it. */
static bool is_same_database(struct strata_db *a, struct strata_db *b)
{
	if (a->drv != b->drv)
		return false;
	if (a->drv->caps & DRV_PG_SQL) {
		PGconn *x = session_of(a->conn), *y = session_of(b->conn);

		return !strcmp(PQdb(x), PQdb(y)) &&
		       !strcmp(PQport(x), PQport(y)) &&
		       !strcmp(PQhost(x), PQhost(y));
	}
	if (a->url.path && b->url.path) {
		char *p = realpath(a->url.path, NULL),
		     *q = realpath(b->url.path, NULL);
		bool same = p && q && !strcmp(p, q);

		free(p);
		free(q);
		return same;
	}
	return false;
}

int drift_shadow_open(struct shadow *s, struct strata_db *db,
                      const struct strata_source *sub,
                      const struct strata_drift_options *opts, char **out_name,
                      struct strata_error *err)
{
	struct strata_db_options o = STRATA_DB_OPTIONS_INIT;
	bool is_pg = db->drv->caps & DRV_PG_SQL;
	bool is_cluster = opts->shadow_url &&
	                  !strcmp(opts->shadow_url, STRATA_SHADOW_CLUSTER);
	char *url = NULL;
	int rc = -1;

	o.table = db->opts.table;
	o.lock_wait = STRATA_NO_WAIT;
	o.command = db->opts.command;
	if (is_cluster && !is_pg) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "a private shadow cluster is for PostgreSQL, and '%s' is a SQLite database",
		        db->url.redacted);
		strata_error_hint(
		        err,
		        "On SQLite the shadow is a temporary file: name no shadow.");
		goto done;
	}
	if (opts->shadow_url && !is_cluster) {
		struct strata_url given = { 0 };

		url = xstrdup(opts->shadow_url);
		if (url_parse(&given, url, err) < 0)
			goto done;
		/* SQLite: a file strata may empty is emptied by removing it */
		if (given.kind != URL_POSTGRES && given.path &&
		    opts->is_shadow_reset)
			unlink(given.path);
		url_release(&given);
	} else if (is_pg) {
		/* a database on the server, else (no CREATEDB) a private
		 * cluster: the contract's order */
		if (!is_cluster) {
			struct strata_error ce = STRATA_ERROR_INIT;

			sweep_orphans(db);
			if (pg_create_shadow(s, db, out_name, &ce) == 0) {
				url = xstrdup(s->url.raw);
			} else if (ce.reason != STRATA_REASON_SHADOW_CREATEDB) {
				if (err)
					*err = ce;
				else
					strata_error_release(&ce);
				goto done;
			}
			strata_error_release(&ce);
		}
		if (!url &&
		    drift_cluster_start(s, db, opts->pg_bindir, !is_cluster,
		                        &url, out_name, err) < 0)
			goto done;
	} else {
		if (sqlite_temp(s, err) < 0)
			goto done;
		url = xstrfmt("sqlite:%s", s->path);
		*out_name = xstrdup("a temporary file");
	}
	if (strata_db_open(&s->db, url, &o, err) < 0)
		goto done;
	if (db_bind_layout(s->db, sub, err) < 0)
		goto done;
	if (s->cluster_dir)
		drift_cluster_ready(s, db);
	if (opts->shadow_url && !is_cluster) {
		*out_name = xstrdup(s->db->url.redacted);
		if (is_same_database(db, s->db)) {
			strata_error_set(
			        err, STRATA_EUSAGE,
			        "the shadow database '%s' is the database itself",
			        s->db->url.redacted);
			strata_error_hint(
			        err,
			        "A shadow database is emptied: name another one.");
			goto done;
		}
		if (is_pg &&
		    pg_prepare_given(s, opts->is_shadow_reset, err) < 0)
			goto done;
		/* emptied after use too: the next use finds it empty */
		s->is_emptied = is_pg;
		if (!is_pg) {
			struct strata_schema_options so =
			        STRATA_SCHEMA_OPTIONS_INIT;
			char *text = NULL;

			if (strata_schema_dump(&text, NULL, s->db, &so, err) <
			    0)
				goto done;
			if (*text) {
				free(text);
				strata_error_set(
				        err, STRATA_EFAILED,
				        "shadow database '%s' is not empty",
				        s->db->url.redacted);
				strata_error_hint(
				        err,
				        "A shadow database is emptied before each use: name one that holds nothing of value, or reset it to empty it anyway.");
				strata_error_reason(
				        err, STRATA_REASON_SHADOW_NOT_EMPTY,
				        -1);
				goto done;
			}
			free(text);
			/* found empty: removed after use (never before) */
			if (s->db->url.path)
				s->path = xstrdup(s->db->url.path);
		}
	}
	rc = 0;
done:
	if (url) {
		memset(url, 0, strlen(url));
		free(url);
	}
	return rc;
}

/* A failure on the shadow, said as one: an extension missing there is
 * named, with what to do. */
void drift_shadow_failed(struct strata_error *err, const char *shadow)
{
	char *was;
	const char *q;

	if (!err || err->code == STRATA_ECANCELED || !err->message)
		return;
	was = err->message;
	err->message = xstrfmt("on the shadow database (%s): %s", shadow, was);
	/* 0A000 or 58P01: the extension's files are not installed there */
	if ((!strcmp(err->sqlstate, "0A000") ||
	     !strcmp(err->sqlstate, "58P01")) &&
	    (q = strstr(was, "extension \""))) {
		const char *name = q + strlen("extension \"");
		int len = (int)strcspn(name, "\"");

		free(err->hint);
		err->hint = NULL;
		strata_error_hint(
		        err,
		        "Extension '%.*s' is missing on the shadow's server: install its package there, or use a shadow on a server that has it.",
		        len, name);
	}
	free(was);
}

/* ---- extensions ---------------------------------------------------------- */

static bool word_at(const char *p, const char *word)
{
	size_t n = strlen(word);

	return !strncasecmp(p, word, n) &&
	       !(isalnum((unsigned char)p[n]) || p[n] == '_');
}

static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* The extensions `sql` creates (CREATE EXTENSION [IF NOT EXISTS] NAME),
 * one a line, added to `out` when not there yet. */
static void created_extensions(struct sbuf *out, const char *sql)
{
	for (const char *p = sql; *p; p++) {
		const char *q, *name;
		bool is_quoted;
		size_t len;
		char *line;

		if (!word_at(p, "create") ||
		    (p > sql &&
		     (isalnum((unsigned char)p[-1]) || p[-1] == '_')))
			continue;
		q = p + 6;
		q = skip_space(q);
		if (!word_at(q, "extension"))
			continue;
		q = skip_space(q + 9);
		if (word_at(q, "if")) {
			q = skip_space(q + 2);
			if (!word_at(q, "not"))
				continue;
			q = skip_space(q + 3);
			if (!word_at(q, "exists"))
				continue;
			q = skip_space(q + 6);
		}
		is_quoted = *q == '"';
		if (is_quoted) {
			name = ++q;
			len = strcspn(q, "\"");
		} else {
			name = q;
			for (len = 0; isalnum((unsigned char)q[len]) ||
			              q[len] == '_' || q[len] == '-';
			     len++)
				;
			if (len == 0)
				continue;
		}
		line = xstrfmt("\n%.*s\n", (int)len, name);
		/* unquoted, a name is folded to lower case, as the server does
		 */
		for (char *c = line; *c && !is_quoted; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!strstr(out->buf, line)) {
			if (!out->len)
				sbuf_addch(out, '\n');
			sbuf_adds(out, line + 1);
		}
		free(line);
	}
}

/*
 * Every extension the migrations create that the shadow's server does not
 * have, said at once before anything runs on the shadow (a migration would
 * stop at the first).
 */
int drift_check_extensions(const struct shadow *s,
                           const struct strata_source *sub,
                           struct strata_error *err)
{
	PGconn *pg = session_of(s->db->conn);
	struct sbuf want = SBUF_INIT, missing = SBUF_INIT;
	PGresult *res = NULL;
	int n_missing = 0, rc = -1;

	for (size_t i = 0; i < strata_source_count(sub); i++)
		created_extensions(&want, strata_source_at(sub, i)->up_sql);
	if (!want.len) {
		rc = 0;
		goto done;
	}
	res = PQexec(pg, "SELECT name FROM pg_catalog.pg_available_extensions");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgsession_error(err, pg, res);
		goto done;
	}
	for (const char *p = want.buf + 1; *p;) {
		size_t len = strcspn(p, "\n");
		bool found = false;

		for (int r = 0; r < PQntuples(res) && !found; r++)
			found = strlen(PQgetvalue(res, r, 0)) == len &&
			        !strncmp(PQgetvalue(res, r, 0), p, len);
		if (!found) {
			sbuf_addf(&missing, "%s'%.*s'", n_missing ? ", " : "",
			          (int)len, p);
			n_missing++;
		}
		p += len + (p[len] == '\n');
	}
	if (n_missing && s->cluster_dir) {
		/* the cluster's installation is this machine's */
		strata_error_set(
		        err, STRATA_EFAILED,
		        "PostgreSQL %d in '%s', of the private shadow cluster, lacks %s the migrations create: %s",
		        s->cluster_major, s->cluster_bin,
		        n_missing == 1 ? "an extension" : "extensions",
		        missing.buf);
		strata_error_hint(
		        err,
		        "Install %s for PostgreSQL %d on this machine (%s package), give the role the CREATEDB privilege so that the shadow is a database on the server, or a shadow database of its own to use.",
		        n_missing == 1 ? "it" : "them", s->cluster_major,
		        n_missing == 1 ? "its" : "their");
		strata_error_reason(err, STRATA_REASON_SHADOW_CREATEDB, -1);
		goto done;
	}
	if (n_missing) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "the shadow's server lacks %s the migrations create: %s",
		        n_missing == 1 ? "an extension" : "extensions",
		        missing.buf);
		strata_error_hint(
		        err,
		        "Install %s there (its package), or use a shadow on a server that has %s.",
		        n_missing == 1 ? "it" : "them",
		        n_missing == 1 ? "it" : "them");
		goto done;
	}
	rc = 0;
done:
	PQclear(res);
	sbuf_release(&want);
	sbuf_release(&missing);
	return rc;
}
