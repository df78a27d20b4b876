/*
 * The audit trail: one row per action (apply, revert, fail, repair,
 * mark-applied, baseline, accept-checksum, convert, lock-timeout) in a
 * table of strata's own beside the history table, so that
 * `_sqlx_migrations` stays exactly what sqlx writes. Rows of actions that
 * change the history are written in the same transaction as the change;
 * failures are recorded afterwards, best effort. The SQL is generic ($n
 * parameters); the dialect pieces (DDL, current_user, timestamps as text) come
 * from the driver.
 */
#include "engine/audit.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/spawn.h"
#include "drivers/driver.h"
#include "engine/db.h"
#include "engine/history.h"
#include "engine/source.h"

#include <inttypes.h>
#include <pwd.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int audit_exists(bool *out, struct strata_db *db,
                        struct strata_error *err);

int64_t audit_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void iso_time(char buf[static 64], int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000);
	char date[32];
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, 64, "%s.%06dZ", date, (int)(ns % 1000000000 / 1000));
}

/*
 * The commit of the source's git work tree, from git itself; NULL outside
 * a work tree or without git. git runs while the command goes on
 * (audit_look_up_git()): the first row waits for it, if it must.
 */
struct git_lookup {
	char *dir;
	const char *argv[8];
	struct child c;
	struct child_bg *bg;
};

void audit_look_up_git(struct strata_db *db, const char *dir)
{
	struct git_lookup *g;

	if (db->git || db->has_git_lookup || db->opts.is_no_git || !dir)
		return;
	g = xcalloc(1, sizeof(*g));
	g->dir = xstrdup(dir);
	g->argv[0] = "git";
	g->argv[1] = "-C";
	g->argv[2] = g->dir;
	g->argv[3] = "rev-parse";
	g->argv[4] = "--verify";
	g->argv[5] = "-q";
	g->argv[6] = "HEAD";
	g->c = (struct child)CHILD_INIT;
	g->c.argv = g->argv;
	g->c.is_path_search = true;
	g->c.max_output = 256;
	if (child_start(&g->bg, &g->c, NULL) < 0) {
		child_release(&g->c);
		free(g->dir);
		free(g);
		return;
	}
	db->git = g;
}

static void git_lookup_end(struct strata_db *db, bool is_wanted)
{
	struct git_lookup *g = db->git;

	if (!g)
		return;
	db->git = NULL;
	if (!is_wanted)
		child_stop(g->bg);
	if (child_finish(g->bg, NULL) == 0 && child_succeeded(&g->c) &&
	    is_wanted) {
		size_t len = g->c.out.len;

		while (len && (g->c.out.buf[len - 1] == '\n' ||
		               g->c.out.buf[len - 1] == '\r'))
			len--;
		if (len >= 40)
			db->git_commit = xstrndup(g->c.out.buf, len);
	}
	child_release(&g->c);
	free(g->dir);
	free(g);
}

void audit_forget_git(struct strata_db *db)
{
	git_lookup_end(db, false);
}

/* The process's user, host and pid, kept on `db` for the rows after. */
static void look_up_identity(struct strata_db *db)
{
	struct passwd *pw;
	const char *user;
	char host[256] = "";

	if (db->has_identity)
		return;
	pw = getpwuid(geteuid());
	user = pw ? pw->pw_name : getenv("USER");
	db->os_user = user ? xstrdup(user) : NULL;
	if (gethostname(host, sizeof(host) - 1) == 0 && *host)
		db->host = xstrdup(host);
	db->pid = getpid();
	db->has_identity = true;
}

/*
 * Whether the trail has a version_text column, from the catalog: a
 * probe that failed would end the caller's transaction.
 */
static bool audit_has_version_text(struct strata_db *db)
{
	static const char pg[] =
	        "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass($1) AND attname = 'version_text' AND NOT attisdropped";
	bool is_pg = db->drv->caps & DRV_PG_SQL;
	struct db_value v[] = {
		DBV_TEXT(is_pg ? db->audit.quoted : db->audit.name),
		DBV_TEXT(db->audit.schema),
	};
	struct db_rows rows = { 0 };
	struct sbuf sql = SBUF_INIT;
	bool has = false;

	if (is_pg)
		sbuf_adds(&sql, pg);
	else
		sbuf_addf(
		        &sql,
		        "SELECT count(*) FROM pragma_table_info($1%s) WHERE name = 'version_text'",
		        db->audit.schema ? ", $2" : "");
	if (db->drv->query(db->conn, sql.buf,
	                   !is_pg && db->audit.schema ? 2 : 1, v, &rows,
	                   NULL) == 0 &&
	    rows.n_rows == 1 && db_rows_get(&rows, 0, 0))
		has = strcmp(db_rows_get(&rows, 0, 0), "0") != 0;
	db_rows_release(&rows);
	sbuf_release(&sql);
	return has;
}

/*
 * An ALTER of the trail, its lock bounded (STRATA_DEFAULT_LOCK_TIMEOUT):
 * a session that read the trail in a transaction still open must not hold
 * the command up without end.
 */
static int audit_alter(struct strata_db *db, const char *sql,
                       struct strata_error *err)
{
	bool is_pg = db->drv->caps & DRV_PG_SQL;
	char set[64];
	int rc;

	snprintf(set, sizeof(set), "SET lock_timeout = '%ds'",
	         STRATA_DEFAULT_LOCK_TIMEOUT);
	if (is_pg && db->drv->exec(db->conn, set, err) < 0)
		return -1;
	rc = db->drv->exec(db->conn, sql, err);
	if (is_pg && db->drv->exec(db->conn, "RESET lock_timeout",
	                           rc < 0 ? NULL : err) < 0)
		rc = -1;
	return rc;
}

/*
 * A trail created by an older strata gains version_text (its version
 * column holds diesel's and Flyway's order keys, which a repeatable added
 * since shifts). Best effort: a role that may not alter the table still
 * records, without it.
 */
static void audit_add_version_text(struct strata_db *db)
{
	struct sbuf sql = SBUF_INIT;

	db->has_version_text = audit_has_version_text(db);
	if (db->has_version_text)
		return;
	sbuf_addf(&sql, "ALTER TABLE %s ADD COLUMN version_text TEXT",
	          db->audit.quoted);
	db->has_version_text = audit_alter(db, sql.buf, NULL) == 0;
	sbuf_release(&sql);
}

void audit_ddl(struct sbuf *sql, const struct strata_db *db)
{
	sbuf_addf(sql, db->drv->audit_ddl, db->audit.quoted);
}

void audit_created(struct strata_db *db)
{
	db->has_audit = true;
	db->has_version_text = true; /* audit_ddl() has it */
}

int audit_ensure(struct strata_db *db, struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	int rc;

	if (db->has_audit)
		return 0;
	/* seen ahead, version_text with it: nothing to send */
	if (db->audit_seen == TABLE_THERE) {
		db->has_audit = true;
		if (!db->has_version_text)
			audit_add_version_text(db);
		return 0;
	}
	audit_ddl(&sql, db);
	rc = db->drv->exec(db->conn, sql.buf, err);
	if (rc < 0 && db->drv->create_failed &&
	    db->drv->create_failed(db->conn, &db->audit, "audit table", err) ==
	            0)
		rc = 0;
	sbuf_release(&sql);
	if (rc == 0) {
		db->has_audit = true;
		audit_add_version_text(db);
	}
	return rc;
}

int audit_add_batch_columns(struct strata_db *db, struct strata_error *err)
{
	static const char look[] =
	        "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass($1) AND attname IN ('rows_changed', 'batches') AND NOT attisdropped";
	struct db_value v = DBV_TEXT(db->audit.quoted);
	struct db_rows rows = { 0 };
	struct sbuf sql = SBUF_INIT;
	int rc;

	if (db->has_batch_columns)
		return 0;
	/* looked at first: ALTER TABLE would lock the trail each time */
	rc = db->drv->query(db->conn, look, 1, &v, &rows, err);
	if (rc == 0 && rows.n_rows == 1 && db_rows_get(&rows, 0, 0) &&
	    strcmp(db_rows_get(&rows, 0, 0), "2") != 0) {
		sbuf_addf(
		        &sql,
		        "ALTER TABLE %s ADD COLUMN IF NOT EXISTS rows_changed BIGINT, ADD COLUMN IF NOT EXISTS batches BIGINT",
		        db->audit.quoted);
		rc = audit_alter(db, sql.buf, err);
	}
	if (rc == 0)
		db->has_batch_columns = true;
	db_rows_release(&rows);
	sbuf_release(&sql);
	return rc;
}

void audit_add_to(struct batch *b, struct strata_db *db,
                  const struct audit_entry *e)
{
	char started[64], finished[64];
	struct sbuf sql = SBUF_INIT, msg = SBUF_INIT;
	int64_t now = audit_now_ns();
	int64_t begun = e->started_at_ns ? e->started_at_ns : now;
	const char *version_text = e->version_text;

	if (e->source_dir && !db->has_git_lookup && !db->opts.is_no_git) {
		if (db->git && strcmp(db->git->dir, e->source_dir))
			audit_forget_git(db);
		audit_look_up_git(db, e->source_dir);
		git_lookup_end(db, true);
		db->has_git_lookup = true;
	}
	iso_time(started, begun);
	/* timed by the server: the end is the start and what it measured */
	iso_time(finished, e->elapsed_ns ? begun : now);
	look_up_identity(db);
	if (e->error) {
		sbuf_adds(&msg, e->error->message ? e->error->message : "");
		if (e->error->file)
			sbuf_addf(&msg, " (at %s:%d)", e->error->file,
			          e->error->line);
	} else if (e->note) {
		sbuf_adds(&msg, e->note);
	}
	if (!e->is_versionless && !version_text && db->hist.src) {
		const struct strata_migration *m =
		        strata_source_find(db->hist.src, e->version);

		if (m)
			version_text = migration_version(m);
	}
	{
		const struct db_value params[] = {
			DBV_TEXT(e->action),
			!e->is_versionless
			        ? DBV_INT(e->version)
			        : (struct db_value){ .type = DBV_NULL },
			DBV_TEXT(e->description),
			DBV_BYTES(e->checksum, STRATA_CHECKSUM_LEN),
			DBV_TEXT(e->is_success ? "success" : "failure"),
			DBV_TEXT(msg.len ? msg.buf : NULL),
			DBV_TEXT(e->error && e->error->sqlstate[0]
			                 ? e->error->sqlstate
			                 : NULL),
			{ .type = DBV_TEXT, .s = started },
			{ .type = DBV_TEXT, .s = finished },
			DBV_INT(e->duration_ns ? e->duration_ns : now - begun),
			DBV_INT(db->lock_wait_ns),
			DBV_TEXT(db->os_user),
			DBV_TEXT(db->host),
			DBV_INT(db->pid),
			DBV_TEXT(STRATA_VERSION),
			DBV_TEXT(db->command),
			DBV_TEXT(db->git_commit),
			/* the migration's texts outlive the batch */
			{ .type = e->up_sql ? DBV_TEXT : DBV_NULL,
			  .s = e->up_sql,
			  .is_borrowed = true },
			{ .type = e->down_sql ? DBV_TEXT : DBV_NULL,
			  .s = e->down_sql,
			  .is_borrowed = true },
		};

		struct sbuf start = SBUF_INIT, finish = SBUF_INIT,
		            took = SBUF_INIT;

		/* $8 and $9 stay named: a parameter the statement does not
		 * use has no type the server can tell */
		if (e->elapsed_ns && e->started_at_sql) {
			sbuf_addf(&start,
			          "coalesce(%s, CAST($8 AS TIMESTAMPTZ))",
			          e->started_at_sql);
			sbuf_addf(
			        &finish,
			        "coalesce(%s, CAST($9 AS TIMESTAMPTZ)) + (%s) / 1000 * INTERVAL '1 microsecond'",
			        e->started_at_sql, e->elapsed_ns);
			sbuf_adds(&took, e->elapsed_ns);
		} else if (e->elapsed_ns) {
			sbuf_adds(&start, "$8");
			sbuf_addf(
			        &finish,
			        "CAST($9 AS TIMESTAMPTZ) + (%s) / 1000 * INTERVAL '1 microsecond'",
			        e->elapsed_ns);
			sbuf_adds(&took, e->elapsed_ns);
		} else {
			sbuf_adds(&start, "$8");
			sbuf_adds(&finish, "$9");
			sbuf_adds(&took, "$10");
		}
		struct db_value all[ARRAY_SIZE(params) + 3];
		size_t n = ARRAY_SIZE(params);
		struct sbuf cols = SBUF_INIT, vals = SBUF_INIT;

		memcpy(all, params, sizeof(params));
		if (e->has_batches) {
			all[n++] = DBV_INT(e->rows);
			all[n++] = DBV_INT(e->batches);
			sbuf_addf(&vals, ", $%zu, $%zu", n - 1, n);
			sbuf_adds(&cols, ", rows_changed, batches");
		}
		if (db->has_version_text && version_text) {
			all[n++] = (struct db_value){ .type = DBV_TEXT,
				                      .s = version_text };
			sbuf_addf(&vals, ", $%zu", n);
			sbuf_adds(&cols, ", version_text");
		}
		sbuf_addf(
		        &sql,
		        "INSERT INTO %s (action, version, description, checksum, outcome, error, sqlstate, started_at, finished_at, duration_ns, lock_wait_ns, os_user, db_user, host, pid, strata_version, command, git_commit, up_sql, down_sql%s) VALUES ($1, $2, $3, $4, $5, $6, $7, %s, %s, %s, $11, $12, %s, $13, $14, $15, $16, $17, $18, $19%s)",
		        db->audit.quoted, cols.buf, start.buf, finish.buf,
		        took.buf, db->drv->current_user, vals.buf);
		sbuf_release(&start);
		sbuf_release(&finish);
		sbuf_release(&took);
		sbuf_release(&cols);
		sbuf_release(&vals);
		batch_add_sql(b, sql.buf, n, all);
	}
	sbuf_release(&sql);
	sbuf_release(&msg);
}

int audit_add(struct strata_db *db, const struct audit_entry *e,
              struct strata_error *err)
{
	struct batch b = BATCH_INIT;

	audit_add_to(&b, db, e);
	return db_exec_batch(db, &b, err);
}

void audit_add_quietly(struct strata_db *db, const struct audit_entry *e)
{
	if (db->has_audit)
		audit_add(db, e, NULL);
}

int audit_stored(struct audit_texts *out, struct strata_db *db, int64_t version)
{
	struct db_rows rows = { 0 };
	struct sbuf sql = SBUF_INIT;
	struct db_value v = DBV_INT(version);
	int rc;

	memset(out, 0, sizeof(*out));
	/* the newest row that recorded the migration's texts as applied */
	sbuf_addf(
	        &sql,
	        "SELECT up_sql, down_sql, description FROM %s WHERE version = $1 AND action IN ('apply', 'mark-applied', 'baseline', 'accept-checksum', 'convert') AND outcome = 'success' ORDER BY id DESC LIMIT 1",
	        db->audit.quoted);
	rc = db->drv->query(db->conn, sql.buf, 1, &v, &rows, NULL);
	if (rc == 0 && rows.n_rows == 1) {
		const char *up = db_rows_get(&rows, 0, 0);
		const char *down = db_rows_get(&rows, 0, 1);
		const char *description = db_rows_get(&rows, 0, 2);

		out->up_sql = up ? xstrdup(up) : NULL;
		out->down_sql = down ? xstrdup(down) : NULL;
		out->description = xstrdup(description ? description : "");
	}
	db_rows_release(&rows);
	sbuf_release(&sql);
	return rc;
}

void audit_texts_release(struct audit_texts *t)
{
	free(t->up_sql);
	free(t->down_sql);
	free(t->description);
	memset(t, 0, sizeof(*t));
}

/* A failure of ours while the lock is not held: recorded only where the
 * trail already exists (nothing is created without the lock). */
void audit_add_if_present(struct strata_db *db, const struct audit_entry *e)
{
	bool exists = false;

	audit_exists(&exists, db, NULL);
	if (exists)
		audit_add(db, e, NULL);
}

struct audit_owner {
	struct strata_audit a;
	struct db_rows rows;
};

static const char *const audit_columns[] = {
	"id",
	"action",
	"version",
	"description",
	"outcome",
	"error",
	"sqlstate",
	"@started_at",
	"@finished_at",
	"duration_ns",
	"lock_wait_ns",
	"os_user",
	"db_user",
	"host",
	"pid",
	"strata_version",
	"command",
	"git_commit",
	"down_sql IS NOT NULL",
	"version_text", /* left out of a trail that lacks it */
};

static int64_t to_int(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

static bool to_bool(const char *s)
{
	return s && (strcmp(s, "t") == 0 || strcmp(s, "1") == 0);
}

static int audit_exists(bool *out, struct strata_db *db,
                        struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	struct db_rows rows = { 0 };
	struct strata_error e = STRATA_ERROR_INIT;
	int rc;

	(void)err;
	/* Generic and cheap: a failing probe means there is no table yet. */
	sbuf_addf(&sql, "SELECT 1 FROM %s WHERE 1 = 0", db->audit.quoted);
	rc = db->drv->query(db->conn, sql.buf, 0, NULL, &rows, &e);
	*out = rc == 0;
	db_rows_release(&rows);
	sbuf_release(&sql);
	strata_error_release(&e);
	return 0;
}

int strata_audit_read(struct strata_audit **out, struct strata_db *db,
                      const struct strata_audit_filter *f,
                      struct strata_error *err)
{
	struct audit_owner *o = xcalloc(1, sizeof(*o));
	struct db_value params[4];
	struct sbuf sql = SBUF_INIT, desc = SBUF_INIT;
	size_t n = 0;
	bool exists, has_text;
	int rc = -1;

	*out = &o->a;
	if (audit_exists(&exists, db, err) < 0)
		goto fail;
	if (!exists)
		return 0;
	sbuf_adds(&sql, "SELECT ");
	has_text = audit_has_version_text(db);
	for (size_t i = 0; i < ARRAY_SIZE(audit_columns) - !has_text; i++) {
		const char *c = audit_columns[i];

		if (i)
			sbuf_adds(&sql, ", ");
		if (*c == '@')
			sbuf_addf(&sql, db->drv->iso_time, c + 1);
		else
			sbuf_adds(&sql, c);
	}
	sbuf_addf(&sql, " FROM %s WHERE 1 = 1", db->audit.quoted);
	if (f && f->has_version && f->version_text && has_text &&
	    history_is_repeatable(f->version)) {
		/* a repeatable's key shifts as repeatables are added: an
		 * older row is known by its description, Flyway's name */
		for (const char *p = f->version_text + 3; *p; p++)
			sbuf_addch(&desc, *p == '_' ? ' ' : *p);
		params[n++] = DBV_TEXT(f->version_text);
		params[n++] = DBV_TEXT(desc.buf);
		sbuf_addf(
		        &sql,
		        " AND (version_text = $%zu OR (version_text IS NULL AND version >= %" PRId64
		        " AND version < %" PRId64 " AND description = $%zu))",
		        n - 1, STRATA_VERSION_REPEATABLE,
		        STRATA_VERSION_FLYWAY_KEY, n);
	} else if (f && f->has_version && f->version_text && has_text) {
		params[n++] = DBV_TEXT(f->version_text);
		params[n++] = DBV_INT(f->version);
		sbuf_addf(
		        &sql,
		        " AND (version_text = $%zu OR (version_text IS NULL AND version = $%zu))",
		        n - 1, n);
	} else if (f && f->has_version) {
		params[n++] = DBV_INT(f->version);
		sbuf_addf(&sql, " AND version = $%zu", n);
	}
	if (f && f->action && !strcmp(f->action, "fail")) {
		/* failures are recorded under the action that failed */
		sbuf_adds(&sql, " AND outcome = 'failure'");
	} else if (f && f->action) {
		params[n++] = DBV_TEXT(f->action);
		sbuf_addf(&sql, " AND action = $%zu", n);
	}
	if (f && f->since) {
		params[n++] = DBV_TEXT(f->since);
		sbuf_addf(&sql, " AND started_at >= $%zu", n);
	}
	sbuf_adds(&sql, " ORDER BY id DESC");
	if (f && f->limit)
		sbuf_addf(&sql, " LIMIT %zu", f->limit);
	if (db->drv->query(db->conn, sql.buf, n, params, &o->rows, err) < 0)
		goto fail;
	o->a.count = o->rows.n_rows;
	o->a.rows = xcalloc(o->a.count ? o->a.count : 1, sizeof(*o->a.rows));
	for (size_t r = 0; r < o->a.count; r++) {
		/* newest first from the query, oldest first in the result */
		struct strata_audit_row *row = &o->a.rows[o->a.count - 1 - r];
		const struct db_rows *x = &o->rows;

		row->id = to_int(db_rows_get(x, r, 0));
		row->action = db_rows_get(x, r, 1);
		row->has_version = db_rows_get(x, r, 2) != NULL;
		row->version = to_int(db_rows_get(x, r, 2));
		row->description = db_rows_get(x, r, 3);
		row->outcome = db_rows_get(x, r, 4);
		row->error = db_rows_get(x, r, 5);
		row->sqlstate = db_rows_get(x, r, 6);
		row->started_at = db_rows_get(x, r, 7);
		row->finished_at = db_rows_get(x, r, 8);
		row->duration_ns = to_int(db_rows_get(x, r, 9));
		row->lock_wait_ns = to_int(db_rows_get(x, r, 10));
		row->os_user = db_rows_get(x, r, 11);
		row->db_user = db_rows_get(x, r, 12);
		row->host = db_rows_get(x, r, 13);
		row->pid = to_int(db_rows_get(x, r, 14));
		row->strata_version = db_rows_get(x, r, 15);
		row->command = db_rows_get(x, r, 16);
		row->git_commit = db_rows_get(x, r, 17);
		row->has_down_sql = to_bool(db_rows_get(x, r, 18));
		row->version_text = has_text ? db_rows_get(x, r, 19) : NULL;
	}
	rc = 0;
fail:
	sbuf_release(&sql);
	sbuf_release(&desc);
	if (rc < 0) {
		strata_audit_free(&o->a);
		*out = NULL;
	}
	return rc;
}

void strata_audit_free(struct strata_audit *a)
{
	struct audit_owner *o = (struct audit_owner *)a;

	if (!a)
		return;
	free(a->rows);
	db_rows_release(&o->rows);
	free(o);
}

int audit_reverted(struct strata_db *db, db_row_fn *fn, void *data)
{
	struct sbuf sql = SBUF_INIT, when = SBUF_INIT;
	bool exists = false;
	int rc = 0;

	audit_exists(&exists, db, NULL);
	if (exists) {
		sbuf_addf(&when, db->drv->iso_time, "max(finished_at)");
		sbuf_addf(
		        &sql,
		        "SELECT version, %s FROM %s WHERE version IS NOT NULL AND outcome = 'success' AND action = 'revert' GROUP BY version",
		        when.buf, db->audit.quoted);
		rc = db->drv->query_each(db->conn, sql.buf, 0, NULL, fn, data,
		                         NULL);
	}
	sbuf_release(&when);
	sbuf_release(&sql);
	return rc;
}

void audit_applied_by_sql(struct sbuf *out, const struct strata_db *db)
{
	/* unsorted (a sort of the whole trail was most of the query's
	 * time): the caller keeps the newest id per version */
	sbuf_addf(
	        out,
	        "SELECT version, id, coalesce(os_user, '?') || '@' || coalesce(host, '?') FROM %s WHERE version IS NOT NULL AND outcome = 'success' AND action IN ('apply', 'mark-applied', 'baseline', 'repair')",
	        db->audit.quoted);
}
