/*
 * Opening a database: the URL picks the driver (postgres:// and keyword
 * strings to libpq, sqlite: to SQLite), the history table name is quoted
 * once, and events from drivers and the migrator reach the caller's
 * callback. Also `database create|drop`.
 */
#include "engine/db.h"
#include "engine/source.h"
#include "util/xalloc.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "engine/url.h"
#include "drivers/driver.h"
#include "engine/audit.h"

#include <stdlib.h>
#include <string.h>

const struct strata_driver *driver_for_url(const struct strata_url *url)
{
	switch (url->kind) {
	case URL_POSTGRES:
		return &pgdrv_driver;
	case URL_SQLITE:
		return &sqlitedrv_driver;
	}
	BUG("unknown URL kind");
}

const struct strata_driver *driver_by_name(const char *name)
{
	static const struct strata_driver *const all[] = { &pgdrv_driver,
		                                           &sqlitedrv_driver };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (name && strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

void driver_emit(struct strata_conn *c, const struct strata_event *ev)
{
	if (c && c->on_event)
		c->on_event(ev, c->event_data);
}

int db_exec_batch(struct strata_db *db, struct batch *b,
                  struct strata_error *err)
{
	int rc = db->drv->exec_batch(db->conn, b, err);

	batch_reset(b);
	return rc;
}

int db_begin(struct strata_db *db, struct strata_error *err)
{
	struct batch b = BATCH_INIT;

	batch_add_begin(&b);
	return db_exec_batch(db, &b, err);
}

int db_commit(struct strata_db *db, struct strata_error *err)
{
	struct batch b = BATCH_INIT;

	batch_add_commit(&b);
	return db_exec_batch(db, &b, err);
}

void db_emit(struct strata_db *db, const struct strata_event *ev)
{
	if (db && db->opts.on_event)
		db->opts.on_event(ev, db->opts.event_data);
}

void db_emit_warning(struct strata_db *db, const struct strata_migration *m,
                     const char *fmt, ...)
{
	struct strata_event ev = { .kind = STRATA_EVENT_WARNING };
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	ev.message = sb.buf;
	ev.migration = m;
	if (m) {
		ev.version = m->version;
		ev.description = m->description;
	}
	db_emit(db, &ev);
	sbuf_release(&sb);
}

static bool is_valid_part(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return false;
	return true;
}

int table_name_parse(struct table_name *out, const char *text,
                     struct strata_error *err)
{
	const char *dot = strchr(text, '.');
	struct sbuf q = SBUF_INIT;

	memset(out, 0, sizeof(*out));
	if (dot) {
		if (!is_valid_part(text, (size_t)(dot - text)) ||
		    !is_valid_part(dot + 1, strlen(dot + 1)) ||
		    strchr(dot + 1, '.'))
			goto bad;
		out->schema = xstrndup(text, (size_t)(dot - text));
		out->name = xstrdup(dot + 1);
		sbuf_add_ident(&q, out->schema);
		sbuf_addch(&q, '.');
	} else {
		if (!is_valid_part(text, strlen(text)))
			goto bad;
		out->name = xstrdup(text);
	}
	sbuf_add_ident(&q, out->name);
	out->quoted = sbuf_detach(&q, NULL);
	return 0;
bad:
	table_name_release(out);
	strata_error_set(err, STRATA_EUSAGE, "invalid history table name '%s'",
	                 text);
	return strata_error_hint(err, "Use NAME or SCHEMA.NAME.");
}

void table_name_release(struct table_name *t)
{
	free(t->schema);
	free(t->name);
	free(t->quoted);
	memset(t, 0, sizeof(*t));
}

/* The table `name` in `t`'s schema (strata's tables live beside the
 * history table). */
static void name_beside(struct table_name *out, const struct table_name *t,
                        const char *name)
{
	struct sbuf q = SBUF_INIT;

	memset(out, 0, sizeof(*out));
	if (t->schema) {
		out->schema = xstrdup(t->schema);
		sbuf_add_ident(&q, t->schema);
		sbuf_addch(&q, '.');
	}
	out->name = xstrdup(name);
	sbuf_add_ident(&q, out->name);
	out->quoted = sbuf_detach(&q, NULL);
}

/*
 * The history table's name as given, kept for the tool's table of a layout
 * found later (NULL: the default); with a schema (schema per tenant), in
 * that schema unless it names one.
 */
static int schema_table(struct strata_db *db, struct strata_error *err)
{
	const char *table = db->opts.table;
	const char *schema = db->opts.schema;

	if (!schema) {
		db->table_text = table ? xstrdup(table) : NULL;
		return 0;
	}
	if (!is_valid_part(schema, strlen(schema)) || strchr(schema, '.'))
		return strata_error_set(err, STRATA_EUSAGE,
		                        "invalid schema name '%s'", schema);
	if (db->url.kind != URL_POSTGRES) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "a schema per tenant needs PostgreSQL");
		return strata_error_hint(
		        err,
		        "SQLite has no schemas: give each tenant its file.");
	}
	db->schema = xstrdup(schema);
	db->opts.schema = NULL;
	if (table && strchr(table, '.'))
		db->table_text = xstrdup(table);
	else
		db->table_text = xstrfmt("%s.%s", schema,
		                         table ? table : STRATA_DEFAULT_TABLE);
	return 0;
}

/* The schema alone on the search path: the migrations' objects go there.
 * A schema that does not exist is said before anything runs. */
static int set_search_path(struct strata_db *db, struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	struct db_rows rows = { 0 };
	struct db_value name = DBV_TEXT(db->schema);
	int rc = db->drv->query(db->conn,
	                        "SELECT 1 FROM pg_catalog.pg_namespace"
	                        " WHERE nspname = $1",
	                        1, &name, &rows, err);

	if (rc == 0 && !rows.n_rows) {
		strata_error_set(err, STRATA_EUSAGE, "no schema '%s' in '%s'",
		                 db->schema, db->url.redacted);
		rc = strata_error_hint(
		        err,
		        "Create it first (CREATE SCHEMA), or check its name.");
	}
	db_rows_release(&rows);
	if (rc < 0)
		return -1;
	sbuf_adds(&sql, "SET search_path TO ");
	sbuf_add_ident(&sql, db->schema);
	rc = db->drv->exec(db->conn, sql.buf, err);
	sbuf_release(&sql);
	return rc;
}

static int db_open(struct strata_db **out, const char *url,
                   const struct strata_db_options *opts, bool is_locking,
                   struct strata_error *err)
{
	struct strata_db *db;

	*out = NULL;
	if (OPTIONS_CHECK(opts, STRATA_DB_OPTIONS_VERSION, "strata_db_options",
	                  err) < 0)
		return -1;
	db = xcalloc(1, sizeof(*db));
	if (opts)
		db->opts = *opts;
	/* the drivers' lock wait: 0 is one try, < 0 no limit */
	db->opts.lock_wait = db->opts.lock_wait == 0 ? STRATA_DEFAULT_LOCK_WAIT
	                     : db->opts.lock_wait == STRATA_NO_WAIT
	                             ? 0
	                             : db->opts.lock_wait;
	db->hist.layout = STRATA_LAYOUT_SQLX;
	if (url_parse(&db->url, url, err) < 0 || schema_table(db, err) < 0 ||
	    table_name_parse(&db->hist.own,
	                     db->table_text ? db->table_text
	                                    : STRATA_DEFAULT_TABLE,
	                     err) < 0)
		goto fail;
	db->opts.table = NULL;
	db->command = db->opts.command ? xstrdup(db->opts.command) : NULL;
	db->opts.command = NULL;
	name_beside(&db->audit, &db->hist.own, AUDIT_TABLE);
	if (db->opts.is_read_only) {
		/* a mistyped path must fail, not leave an empty database */
		db->url.is_create = false;
		db->url.is_read_only_command = true;
	}
	db->drv = driver_for_url(&db->url);
	db->url.is_lock_ahead = is_locking;
	if (db->drv->connect(&db->conn, &db->url, err) < 0)
		goto fail;
	db->conn->drv = db->drv;
	db->conn->on_event = db->opts.on_event;
	db->conn->event_data = db->opts.event_data;
	db->conn->is_hide_queries = db->opts.is_hide_queries;
	db->conn->lock_scope = db->schema;
	if (db->schema && set_search_path(db, err) < 0)
		goto fail;
	*out = db;
	return 0;
fail:
	strata_db_close(db);
	return -1;
}

int strata_db_open(struct strata_db **out, const char *url,
                   const struct strata_db_options *opts,
                   struct strata_error *err)
{
	return db_open(out, url, opts, false, err);
}

int strata_db_open_locking(struct strata_db **out, const char *url,
                           const struct strata_db_options *opts,
                           struct strata_error *err)
{
	if (db_open(out, url, opts, true, err) < 0)
		return -1;
	strata_db_prepare(*out);
	return 0;
}

/* The table golang-migrate's history would be in (--table, or its own). */
static int golang_table(struct table_name *out, const struct strata_db *db,
                        struct strata_error *err)
{
	return table_name_parse(out,
	                        db->table_text
	                                ? db->table_text
	                                : history_tool_default_table(
	                                          STRATA_LAYOUT_GOLANG_MIGRATE),
	                        err);
}

bool db_golang_to_ask(struct table_name *out, const struct strata_db *db)
{
	return !db->is_layout_bound && db->golang_seen == TABLE_UNASKED &&
	       golang_table(out, db, NULL) == 0;
}

void db_golang_seen(struct strata_db *db, bool is_there)
{
	db->golang_seen = is_there ? TABLE_THERE : TABLE_MISSING;
}

/* A boolean as either dialect returns it: PostgreSQL's t, SQLite's 1. */
static bool is_true(const char *v)
{
	return v && (!strcmp(v, "t") || !strcmp(v, "1"));
}

/*
 * On PostgreSQL, in one statement: golang-migrate's table (when `golang`
 * names it), the history's, the trail's and whether the trail has
 * version_text. A run on a database that has both tables then sends no
 * DDL and asks nothing more of them (audit_ensure()).
 */
static void ask_tables_ahead(struct strata_db *db,
                             const struct table_name *golang)
{
	static const char sql[] =
	        "SELECT pg_catalog.to_regclass($1) IS NOT NULL, pg_catalog.to_regclass($2) IS NOT NULL, pg_catalog.to_regclass($3) IS NOT NULL, EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass($3) AND attname = 'version_text' AND NOT attisdropped)";
	const struct db_value v[] = {
		DBV_TEXT(golang ? golang->quoted : NULL),
		DBV_TEXT(db->hist.own.quoted),
		DBV_TEXT(db->audit.quoted),
	};
	struct db_rows rows = { 0 };
	bool is_there[4];

	if (db->drv->query(db->conn, sql, ARRAY_SIZE(v), v, &rows, NULL) < 0 ||
	    rows.n_rows != 1 || rows.n_cols != 4)
		goto done;
	for (size_t i = 0; i < 4; i++)
		is_there[i] = is_true(db_rows_get(&rows, 0, i));
	if (golang)
		db_golang_seen(db, is_there[0]);
	db->hist.is_own_seen = is_there[1];
	db->audit_seen = is_there[2] ? TABLE_THERE : TABLE_MISSING;
	db->has_version_text = is_there[3];
done:
	db_rows_release(&rows);
}

void strata_db_prepare(struct strata_db *db)
{
	struct table_name t = { 0 };
	const struct table_name *tables[] = { &t, &db->hist.own };
	bool is_there[2];
	bool is_golang_asked = db_golang_to_ask(&t, db);

	if (db->drv->prepare_lock)
		db->drv->prepare_lock(db->conn);
	/*
	 * Best effort: a question that fails is asked again when needed. The
	 * history's table asked too, in the same statement: there, it is not
	 * asked again under the lock; missing, it is (another run may create
	 * it meanwhile).
	 */
	if (db->drv->caps & DRV_PG_SQL)
		ask_tables_ahead(db, is_golang_asked ? &t : NULL);
	else if (is_golang_asked &&
	         db->drv->tables_exist(is_there, db->conn, tables, 2, NULL) ==
	                 0) {
		db_golang_seen(db, is_there[0]);
		db->hist.is_own_seen = is_there[1];
	}
	table_name_release(&t);
}

void strata_db_close(struct strata_db *db)
{
	if (!db)
		return;
	if (db->conn)
		db->drv->close(db->conn);
	url_release(&db->url);
	history_tables_release(&db->hist);
	history_release(&db->kept);
	free(db->table_text);
	free(db->schema);
	table_name_release(&db->audit);
	free(db->command);
	audit_forget_git(db);
	free(db->git_commit);
	free(db->os_user);
	free(db->host);
	free(db->step_note);
	free(db);
}

/*
 * Whether the database's history is golang-migrate's, for a folder of
 * .up.sql/.down.sql pairs either tool reads: its table (version, dirty)
 * there and sqlx's not. Both there is for a person to choose.
 */
static int find_golang(bool *out, struct strata_db *db,
                       struct strata_error *err)
{
	struct table_name t = { 0 };
	bool has_tool = false, has_sqlx = false;
	int rc = -1;

	*out = false;
	if (golang_table(&t, db, err) < 0)
		return -1;
	/* asked already, most often missing: no question more */
	if (db->golang_seen == TABLE_MISSING) {
		rc = 0;
		goto done;
	}
	has_tool = db->golang_seen == TABLE_THERE;
	if (db->golang_seen == TABLE_UNASKED &&
	    db->drv->table_exists(&has_tool, db->conn, &t, err) < 0)
		goto done;
	if (has_tool) {
		/* dbmate's (or Rails') table has the same name and no dirty
		 * column; asked of the catalog, so that no error is logged */
		const struct db_value v[] = { DBV_TEXT(t.name),
			                      DBV_TEXT(t.schema) };
		struct db_rows rows = { 0 };

		if (db->drv->query(
		            db->conn,
		            db->drv->caps & DRV_PG_SQL
		                    ? "SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND table_schema = coalesce($2, current_schema()) AND column_name = 'dirty'"
		                    : "SELECT 1 FROM pragma_table_info($1, $2) WHERE name = 'dirty'",
		            2, v, &rows, err) < 0)
			goto done;
		has_tool = rows.n_rows > 0;
		db_rows_release(&rows);
	}
	if (has_tool &&
	    db->drv->table_exists(&has_sqlx, db->conn, &db->hist.own, err) < 0)
		goto done;
	/*
	 * Which of the two is in use. A history converted to sqlx's (strata
	 * convert) holds, applied, the version golang-migrate's row names:
	 * sqlx's. An empty sqlx table beside golang-migrate's rows (a first
	 * run refused under sqlx's reading leaves one) records nothing:
	 * golang-migrate's. Otherwise it is for a person to say.
	 */
	if (has_tool && has_sqlx) {
		struct sbuf sql = SBUF_INIT;
		struct db_rows rows = { 0 };
		bool is_converted, sqlx_rows, tool_rows;
		int q;

		sbuf_addf(
		        &sql,
		        "SELECT EXISTS (SELECT 1 FROM %s s, %s g WHERE "
		        "s.version = g.version AND s.success AND NOT g.dirty), "
		        "EXISTS (SELECT 1 FROM %s), EXISTS (SELECT 1 FROM %s)",
		        db->hist.own.quoted, t.quoted, db->hist.own.quoted,
		        t.quoted);
		q = db->drv->query(db->conn, sql.buf, 0, NULL, &rows, err);
		sbuf_release(&sql);
		if (q < 0 || rows.n_rows != 1) {
			db_rows_release(&rows);
			if (q == 0)
				strata_error_set(
				        err, STRATA_EFAILED,
				        "could not tell which history is in use");
			goto done;
		}
		is_converted = is_true(db_rows_get(&rows, 0, 0));
		sqlx_rows = is_true(db_rows_get(&rows, 0, 1));
		tool_rows = is_true(db_rows_get(&rows, 0, 2));
		db_rows_release(&rows);
		if (is_converted)
			has_tool = false;
		else if (!sqlx_rows && tool_rows)
			has_sqlx = false;
	}
	if (has_tool && has_sqlx) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "the database holds both sqlx's history (%s) and golang-migrate's (%s)",
		        db->hist.own.quoted, t.quoted);
		strata_error_hint(
		        err,
		        "Say which one this folder's history is: --layout sqlx or --layout golang-migrate (or layout = in strata.conf).");
		goto done;
	}
	*out = has_tool;
	rc = 0;
done:
	table_name_release(&t);
	return rc;
}

int db_bind_layout(struct strata_db *db, const struct strata_source *src,
                   struct strata_error *err)
{
	enum strata_layout layout = strata_source_layout(src);
	struct history_tables ht = { .layout = layout };
	struct sbuf own = SBUF_INIT;
	bool is_golang = false;
	int rc = -1;

	db->hist.src = src;
	/* the same folder read by sqlx or golang-migrate: the table says */
	if (layout == STRATA_LAYOUT_SQLX && !db->is_layout_bound &&
	    !source_is_layout_asked(src) && source_is_all_pairs(src)) {
		if (find_golang(&is_golang, db, err) < 0)
			return -1;
		if (is_golang)
			layout = ht.layout = STRATA_LAYOUT_GOLANG_MIGRATE;
	}
	if (layout == db->hist.layout) {
		db->is_layout_bound = true;
		return 0;
	}
	if (layout == STRATA_LAYOUT_SQLX && db->is_layout_bound &&
	    db->hist.layout == STRATA_LAYOUT_GOLANG_MIGRATE &&
	    !source_is_layout_asked(src))
		return 0; /* found in the database before */
	if (db->is_layout_bound) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "the database was read in %s's layout, this source is in %s's",
		        strata_layout_name(db->hist.layout),
		        strata_layout_name(layout));
		return strata_error_hint(
		        err, "Open the database again for the other source.");
	}
	if (table_name_parse(&ht.tool,
	                     db->table_text
	                             ? db->table_text
	                             : history_tool_default_table(layout),
	                     err) < 0)
		goto done;
	/* strata's record, beside the tool's table in its schema */
	sbuf_addf(&own, "_strata_%s_migrations", strata_layout_name(layout));
	name_beside(&ht.own, &ht.tool, own.buf);
	history_tables_release(&db->hist);
	db->hist = ht;
	db->hist.src = src;
	memset(&ht, 0, sizeof(ht));
	db->hist.current_user = db->conn->drv->current_user;
	if (db->hist.layout == STRATA_LAYOUT_GOLANG_MIGRATE ||
	    db->hist.layout == STRATA_LAYOUT_FLYWAY) {
		db->conn->tool_lock_schema = db->hist.tool.schema;
		db->conn->tool_lock_table = db->hist.tool.name;
		db->conn->is_tool_lock_flyway =
		        db->hist.layout == STRATA_LAYOUT_FLYWAY;
	}
	rc = 0;
done:
	db->is_layout_bound = true;
	history_tables_release(&ht);
	sbuf_release(&own);
	return rc;
}

int strata_db_runner(struct strata_db *db, struct strata_runner *out,
                     struct strata_error *err)
{
	memset(out, 0, sizeof(*out));
	out->seconds = -1;
	if (!db->drv->runner)
		return 0;
	return db->drv->runner(db->conn, out, err);
}

const char *strata_db_driver_name(const struct strata_db *db)
{
	return db->drv->name;
}

int strata_db_server_version(const struct strata_db *db)
{
	return db->conn->server_version;
}

static int with_url(const char *url, struct strata_url *u,
                    struct strata_error *err)
{
	return url_parse(u, url, err);
}

int strata_database_create(const char *url, struct strata_error *err)
{
	struct strata_url u;
	int rc = -1;

	if (with_url(url, &u, err) == 0)
		rc = driver_for_url(&u)->database_create(&u, err);
	url_release(&u);
	return rc;
}

int strata_database_drop(const char *url, bool is_force,
                         struct strata_error *err)
{
	struct strata_url u;
	int rc = -1;

	if (with_url(url, &u, err) == 0)
		rc = driver_for_url(&u)->database_drop(&u, is_force, err);
	url_release(&u);
	return rc;
}

int strata_database_exists(bool *out, const char *url, struct strata_error *err)
{
	struct strata_url u;
	int rc = -1;

	if (with_url(url, &u, err) == 0)
		rc = driver_for_url(&u)->database_exists(out, &u, err);
	url_release(&u);
	return rc;
}

void db_rows_release(struct db_rows *r)
{
	if (!r)
		return;
	arena_release(&r->strings);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}
