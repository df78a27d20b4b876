/*
 * strata drift: whether the database is what its applied migrations make
 * (design.md, Schema). The migrations the database has applied (the same
 * versions, none of the pending ones) are applied to a shadow database,
 * both schemas are dumped as strata_schema_dump() dumps them, and the
 * dumps are compared entry by entry (a table's columns one by one), then
 * shown as a unified diff (diff -u: diffutils is in every Debian system).
 *
 * The shadow is made here and removed here on every path: a temporary
 * database on the same server (or a temporary SQLite file) is dropped
 * after a failure and after strata_cancel() too; only a database the
 * caller named survives, emptied of what strata put in it the next time.
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

struct shadow {
	struct strata_url url; /* PostgreSQL's temporary one: to drop */
	char *path;            /* SQLite's temporary file: to remove */
	bool is_created;       /* a database of ours: dropped afterwards */
	bool is_emptied;       /* a given one: emptied afterwards too */
	struct strata_db *db;
};

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

static void shadow_remove(struct shadow *s, struct strata_db *db,
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

static int open_shadow(struct shadow *s, struct strata_db *db,
                       const struct strata_source *sub,
                       const struct strata_drift_options *opts, char **out_name,
                       struct strata_error *err)
{
	struct strata_db_options o = STRATA_DB_OPTIONS_INIT;
	bool is_pg = db->drv->caps & DRV_PG_SQL;
	char *url = NULL;
	int rc = -1;

	o.table = db->opts.table;
	o.lock_wait = STRATA_NO_WAIT;
	o.command = db->opts.command;
	if (opts->shadow_url) {
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
		sweep_orphans(db);
		if (pg_create_shadow(s, db, out_name, err) < 0)
			goto done;
		url = xstrdup(s->url.raw);
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
	if (opts->shadow_url) {
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
static void shadow_failed(struct strata_error *err, const char *shadow)
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
static int check_extensions(struct strata_db *shadow,
                            const struct strata_source *sub,
                            struct strata_error *err)
{
	PGconn *pg = session_of(shadow->conn);
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

/* ---- comparing --------------------------------------------------------- */

static char *lower_kind(const char *type)
{
	char *k = xstrdup(type);

	for (char *p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!strcmp(k, "fk constraint")) {
		free(k);
		k = xstrdup("constraint");
	}
	return k;
}

/* pg_dump names an object of a table "TABLE NAME": "TABLE.NAME". */
static char *display_name(const char *name, const char *type)
{
	char *n = xstrdup(name);
	char *sp;

	if ((!strcmp(type, "CONSTRAINT") || !strcmp(type, "FK CONSTRAINT") ||
	     !strcmp(type, "TRIGGER") || !strcmp(type, "POLICY") ||
	     !strcmp(type, "DEFAULT") || !strcmp(type, "RULE")) &&
	    (sp = strchr(n, ' ')))
		*sp = '.';
	return n;
}

struct compare {
	struct strata_drift *d;
	const struct strata_drift_options *opts;
	size_t alloc;
};

static bool is_excluded(const struct strata_drift_options *opts,
                        const char *kind, const char *schema, const char *name)
{
	struct sbuf a = SBUF_INIT, b = SBUF_INIT, c = SBUF_INIT;
	bool hit = false;

	if (schema)
		sbuf_addf(&a, "%s.%s", schema, name);
	sbuf_addf(&b, "%s:%s", kind, name);
	if (schema)
		sbuf_addf(&c, "%s:%s.%s", kind, schema, name);
	for (size_t i = 0; i < opts->n_exclude && !hit; i++) {
		const char *p = opts->exclude[i];

		hit = !fnmatch(p, name, 0) ||
		      (a.len && !fnmatch(p, a.buf, 0)) ||
		      !fnmatch(p, b.buf, 0) || (c.len && !fnmatch(p, c.buf, 0));
	}
	sbuf_release(&a);
	sbuf_release(&b);
	sbuf_release(&c);
	return hit;
}

static void add_item(struct compare *cmp, enum strata_drift_state state,
                     const char *kind, const char *schema, const char *name)
{
	struct strata_drift *d = cmp->d;
	struct strata_drift_item *it;

	if (is_excluded(cmp->opts, kind, schema, name)) {
		d->n_excluded++;
		return;
	}
	XGROW(d->items, cmp->alloc, d->n_items + 1);
	it = &d->items[d->n_items++];
	it->state = state;
	it->kind = xstrdup(kind);
	it->schema = schema ? xstrdup(schema) : NULL;
	it->name = xstrdup(name);
}

/* A table's column lines ("    name type ...,"), CONSTRAINT lines left
 * out; each a copy without its trailing comma, in `out` (count). */
static size_t table_columns(char ***out, const char *body)
{
	const char *p = strstr(body, "(\n");
	char **v = NULL;
	size_t n = 0, alloc = 0;

	*out = NULL;
	if (!p)
		return 0;
	for (p += 2; *p && strncmp(p, ")", 1) != 0;) {
		size_t len = strcspn(p, "\n");

		if (len > 4 && !strncmp(p, "    ", 4) &&
		    strncmp(p + 4, "CONSTRAINT ", 11) != 0 && p[4] != ' ') {
			size_t l = len;

			if (p[l - 1] == ',')
				l--;
			XGROW(v, alloc, n + 1);
			v[n++] = xstrndup(p + 4, l - 4);
		}
		p += len + (p[len] == '\n');
	}
	*out = v;
	return n;
}

/* A column line's name: its first word, or a quoted identifier. */
static char *column_name(const char *line)
{
	size_t n;

	if (*line == '"') {
		const char *q = line + 1;

		while (*q && !(q[0] == '"' && q[1] != '"'))
			q += q[0] == '"' ? 2 : 1;
		return xstrndup(line, (size_t)(q - line) + (*q ? 1 : 0));
	}
	n = strcspn(line, " ");
	return xstrndup(line, n);
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A table that differs: which columns, else the table itself. */
static void compare_table(struct compare *cmp, const struct schema_entry *want,
                          const struct schema_entry *got, const char *schema)
{
	char **a, **b;
	size_t na = table_columns(&a, want->body),
	       nb = table_columns(&b, got->body);
	size_t before = cmp->d->n_items + cmp->d->n_excluded;
	bool is_other = false;

	for (size_t i = 0; i < na; i++) {
		char *name = column_name(a[i]), *full;
		size_t j;

		for (j = 0; j < nb; j++) {
			char *other = column_name(b[j]);
			bool same = !strcmp(name, other);

			free(other);
			if (same)
				break;
		}
		full = xstrfmt("%s.%s", want->name, name);
		if (j == nb)
			add_item(cmp, STRATA_DRIFT_MISSING, "column", schema,
			         full);
		else if (strcmp(a[i], b[j]) != 0)
			add_item(cmp, STRATA_DRIFT_CHANGED, "column", schema,
			         full);
		else if (i != j)
			is_other = true; /* the same columns in another order */
		free(full);
		free(name);
	}
	for (size_t j = 0; j < nb; j++) {
		char *name = column_name(b[j]), *full;
		size_t i;

		for (i = 0; i < na; i++) {
			char *other = column_name(a[i]);
			bool same = !strcmp(name, other);

			free(other);
			if (same)
				break;
		}
		if (i == na) {
			full = xstrfmt("%s.%s", want->name, name);
			add_item(cmp, STRATA_DRIFT_UNEXPECTED, "column", schema,
			         full);
			free(full);
		}
		free(name);
	}
	if (is_other || cmp->d->n_items + cmp->d->n_excluded == before)
		add_item(cmp, STRATA_DRIFT_CHANGED, "table", schema,
		         want->name);
	free_lines(a, na);
	free_lines(b, nb);
}

static bool same_object(const struct schema_entry *a,
                        const struct schema_entry *b)
{
	return !strcmp(a->type, b->type) && !strcmp(a->schema, b->schema) &&
	       !strcmp(a->name, b->name);
}

static void compare_entries(struct compare *cmp,
                            const struct schema_entries *want,
                            const struct schema_entries *got)
{
	for (size_t i = 0; i < want->n; i++) {
		const struct schema_entry *w = &want->v[i], *g = NULL;
		char *kind = lower_kind(w->type);
		char *name = display_name(w->name, w->type);
		const char *schema = strcmp(w->schema, "-") ? w->schema : NULL;

		for (size_t j = 0; j < got->n && !g; j++)
			if (same_object(w, &got->v[j]))
				g = &got->v[j];
		if (!g)
			add_item(cmp, STRATA_DRIFT_MISSING, kind, schema, name);
		else if (strcmp(w->body, g->body) != 0 &&
		         !strcmp(w->type, "TABLE"))
			compare_table(cmp, w, g, schema);
		else if (strcmp(w->body, g->body) != 0)
			add_item(cmp, STRATA_DRIFT_CHANGED, kind, schema, name);
		free(kind);
		free(name);
	}
	for (size_t j = 0; j < got->n; j++) {
		const struct schema_entry *g = &got->v[j];
		bool found = false;

		for (size_t i = 0; i < want->n && !found; i++)
			found = same_object(&want->v[i], g);
		if (!found) {
			char *kind = lower_kind(g->type);
			char *name = display_name(g->name, g->type);

			add_item(cmp, STRATA_DRIFT_UNEXPECTED, kind,
			         strcmp(g->schema, "-") ? g->schema : NULL,
			         name);
			free(kind);
			free(name);
		}
	}
}

static int item_order(const void *pa, const void *pb)
{
	const struct strata_drift_item *a = pa, *b = pb;
	int c = strcmp(a->kind, b->kind);

	if (c)
		return c;
	c = strcmp(a->schema ? a->schema : "", b->schema ? b->schema : "");
	return c ? c : strcmp(a->name, b->name);
}

/* The entries no exclude pattern matches, as a dump: what the diff shows. */
static void kept_text(struct sbuf *out, const struct schema_entries *e,
                      const struct strata_drift_options *opts)
{
	struct schema_entries kept = { 0 };

	kept.v = xcalloc(e->n ? e->n : 1, sizeof(*kept.v));
	for (size_t i = 0; i < e->n; i++) {
		char *kind = lower_kind(e->v[i].type);
		char *name = display_name(e->v[i].name, e->v[i].type);

		if (!is_excluded(opts, kind,
		                 strcmp(e->v[i].schema, "-") ? e->v[i].schema
		                                             : NULL,
		                 name))
			kept.v[kept.n++] = e->v[i];
		free(kind);
		free(name);
	}
	schema_format(out, &kept);
	free(kept.v);
}

static int write_temp(char **out, const char *text, struct strata_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *path =
	        xstrfmt("%s/strata-drift-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	size_t len = strlen(text), off = 0;

	while (fd >= 0 && off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (fd < 0 || off < len) {
		strata_error_set(err, STRATA_EFAILED,
		                 "could not write a temporary file in '%s': %s",
		                 tmp && *tmp ? tmp : "/tmp", strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(path);
		return -1;
	}
	close(fd);
	*out = path;
	return 0;
}

/* diff -u of the two dumps, labelled as what they are. */
static int unified_diff(struct strata_drift *d, const char *want,
                        const char *got, struct strata_error *err)
{
	char *a = NULL, *b = NULL;
	const char *argv[8];
	struct child c = CHILD_INIT;
	int rc = -1;

	if (!strcmp(want, got)) {
		d->diff = xstrdup("");
		return 0;
	}
	if (write_temp(&a, want, err) < 0 || write_temp(&b, got, err) < 0)
		goto done;
	argv[0] = "diff";
	argv[1] = "-u";
	argv[2] = "--label=expected (the migrations, on the shadow)";
	argv[3] = "--label=actual (the database)";
	argv[4] = a;
	argv[5] = b;
	argv[6] = NULL;
	c.argv = argv;
	c.is_path_search = true;
	if (child_run(&c, err) < 0)
		goto done;
	/* 1: they differ, as we knew */
	if (c.exit_status != 0 && c.exit_status != 1) {
		struct sbuf how = SBUF_INIT;

		child_describe_status(&how, &c);
		strata_error_set(err, STRATA_EFAILED, "diff %s", how.buf);
		if (c.err.len)
			strata_error_detail(err, "%s", c.err.buf);
		sbuf_release(&how);
		goto done;
	}
	d->diff = sbuf_detach(&c.out, NULL);
	rc = 0;
done:
	if (a)
		unlink(a);
	if (b)
		unlink(b);
	free(a);
	free(b);
	child_release(&c);
	return rc;
}

/* ---- the check --------------------------------------------------------- */

/* The applied versions of `src` (keep[i]), or why the shadow cannot be
 * built; the edited ones into d->edited. */
static int applied_set(bool *keep, struct strata_drift *d, struct strata_db *db,
                       const struct strata_source *src,
                       struct strata_error *err)
{
	struct history h = { 0 };
	size_t n = strata_source_count(src), alloc = 0;
	int rc = -1;

	if (history_read(db->conn, &db->hist, &h, err) < 0)
		goto done;
	for (size_t r = 0; r < h.n; r++) {
		const struct history_row *row = &h.rows[r];
		const struct strata_migration *m = NULL;
		size_t i;

		for (i = 0; i < n && !m; i++)
			if (strata_source_at(src, i)->version == row->version)
				m = strata_source_at(src, i);
		if (!row->success) {
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "migration %s has a failed record: the schema it leaves cannot be known",
			        row->version_text ? row->version_text
			        : m               ? m->version_text
			                          : "?");
			strata_error_reason(err, STRATA_REASON_SEE_STATUS, -1);
			goto done;
		}
		if (!m) {
			char v[32];

			snprintf(v, sizeof(v), "%" PRId64, row->version);
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "applied migration %s is missing from the source: the shadow cannot be built",
			        row->version_text ? row->version_text : v);
			strata_error_hint(
			        err,
			        "Bring its file back (a branch switched?), then compare again.");
			goto done;
		}
		keep[i - 1] = true;
		d->n_applied++;
		if (!history_checksum_matches(row, m)) {
			XGROW(d->edited, alloc, d->n_edited + 1);
			d->edited[d->n_edited++] = m->version;
		}
	}
	rc = 0;
done:
	history_release(&h);
	return rc;
}

void strata_drift_free(struct strata_drift *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_items; i++) {
		free(d->items[i].kind);
		free(d->items[i].schema);
		free(d->items[i].name);
	}
	free(d->items);
	free(d->expected);
	free(d->actual);
	free(d->diff);
	free(d->edited);
	free(d->shadow);
	free(d);
}

int strata_drift_check(struct strata_drift **out, struct strata_db *db,
                       const struct strata_source *src,
                       const struct strata_drift_options *opts,
                       struct strata_error *err)
{
	struct strata_drift_options defaults = STRATA_DRIFT_OPTIONS_INIT;
	struct strata_schema_options so = STRATA_SCHEMA_OPTIONS_INIT;
	struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
	struct strata_run_result res = { 0 };
	struct strata_drift *d = xcalloc(1, sizeof(*d));
	struct schema_entries want = { 0 }, got = { 0 };
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	struct strata_source *sub = NULL;
	struct shadow s = { 0 };
	struct compare cmp = { .d = d };
	bool *keep = NULL;
	int rc = -1;

	*out = NULL;
	if (OPTIONS_CHECK(opts, STRATA_DRIFT_OPTIONS_VERSION,
	                  "strata_drift_options", err) < 0)
		goto done;
	if (!opts)
		opts = &defaults;
	cmp.opts = opts;
	so.is_owners = opts->is_owners;
	so.is_privileges = opts->is_privileges;
	so.pg_bindir = opts->pg_bindir;
	so.src = src;
	if (db_bind_layout(db, src, err) < 0)
		goto done;
	keep = xcalloc(strata_source_count(src) + 1, sizeof(*keep));
	if (applied_set(keep, d, db, src, err) < 0)
		goto done;
	/* the database's first: a pg_dump that cannot run fails before a
	 * shadow is made */
	if (strata_schema_dump(&d->actual, NULL, db, &so, err) < 0)
		goto done;
	sub = source_subset(src, keep, db->hist.layout);
	if (cancel_check(err) < 0 ||
	    open_shadow(&s, db, sub, opts, &d->shadow, err) < 0)
		goto done;
	/* the migrations as they were applied: the gate judged them then */
	ro.is_allow_unsafe = true;
	ro.is_ignore_missing = false;
	if ((s.db->drv->caps & DRV_PG_SQL) &&
	    check_extensions(s.db, sub, err) < 0)
		goto done;
	if (strata_migrate_run(&res, s.db, sub, &ro, err) < 0) {
		shadow_failed(err, d->shadow);
		goto done;
	}
	so.src = sub;
	if (strata_schema_dump(&d->expected, NULL, s.db, &so, err) < 0)
		goto done;
	schema_parse(&want, d->expected);
	schema_parse(&got, d->actual);
	compare_entries(&cmp, &want, &got);
	if (d->n_items > 1)
		qsort(d->items, d->n_items, sizeof(*d->items), item_order);
	kept_text(&a, &want, opts);
	kept_text(&b, &got, opts);
	if (unified_diff(d, a.buf, b.buf, err) < 0)
		goto done;
	*out = d;
	d = NULL;
	rc = 0;
done:
	/* on every path, strata_cancel() included: nothing is left behind */
	shadow_remove(&s, db, d ? d->shadow : (*out)->shadow);
	schema_entries_release(&want);
	schema_entries_release(&got);
	sbuf_release(&a);
	sbuf_release(&b);
	strata_source_free(sub);
	strata_drift_free(d);
	free(keep);
	return rc;
}
