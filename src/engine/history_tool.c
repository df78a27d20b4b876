/*
 * Another tool's history table (design.md, Layouts), kept exactly as the
 * tool creates and writes it, so the tool sees strata's work as its own
 * and the other way round: dbmate's `schema_migrations (version)` and
 * diesel's `__diesel_schema_migrations (version, run_on)`, one row per
 * applied version, as text; golang-migrate's `schema_migrations (version,
 * dirty)`, one row for the newest version, every migration of the source
 * below it applied too; Flyway's `flyway_schema_history`, a row per
 * migration run (installed_rank ascending), an undo (UNDO_SQL) or a
 * baseline (BASELINE: every version up to it applied), whose last row of
 * a version says its state. What the tool's table has no room for (the
 * checksum, a no-transaction migration under way or failed, how long it
 * took) strata keeps in a table of its own beside it, in sqlx's form.
 * The tool's table says what is applied: a version strata recorded that
 * the tool has since reverted is not applied; one the tool applied that
 * strata never saw is applied, its checksum unknown. strata's failed
 * record stands either way: an up that stopped half way (the tool has no
 * row) or a down (the tool's row is still there).
 */
#include "engine/history.h"
#include "engine/source.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The DDL each tool runs, byte for byte (SQLite keeps the text); %s: the
 * table's name as the driver writes names in DDL. */
static const char dbmate_pg_ddl[] =
        "create table if not exists %s (version varchar primary key)";
static const char dbmate_sqlite_ddl[] =
        "create table if not exists %s (version varchar(128) primary key)";
static const char golang_pg_ddl[] =
        "CREATE TABLE IF NOT EXISTS %s (version bigint not null primary key, dirty boolean not null)";
static const char golang_sqlite_ddl[] =
        "\n\tCREATE TABLE IF NOT EXISTS %1$s (version uint64,dirty bool);\n"
        "  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON %1$s (version);\n"
        "  ";
static const char diesel_ddl[] =
        "CREATE TABLE IF NOT EXISTS %s (\n"
        "       version VARCHAR(50) PRIMARY KEY NOT NULL,\n"
        "       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
        ");\n";

/* Flyway's getRawCreateScript(): PostgreSQLDatabase's and SQLiteDatabase's,
 * %1$s the table as Flyway writes it, %2$s its bare name (%3$s: schema) */
static const char flyway_pg_ddl[] =
        "CREATE TABLE %1$s (\n"
        "    \"installed_rank\" INT NOT NULL,\n"
        "    \"version\" VARCHAR(50),\n"
        "    \"description\" VARCHAR(200) NOT NULL,\n"
        "    \"type\" VARCHAR(20) NOT NULL,\n"
        "    \"script\" VARCHAR(1000) NOT NULL,\n"
        "    \"checksum\" INTEGER,\n"
        "    \"installed_by\" VARCHAR(100) NOT NULL,\n"
        "    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),\n"
        "    \"execution_time\" INTEGER NOT NULL,\n"
        "    \"success\" BOOLEAN NOT NULL\n"
        ");\n"
        "ALTER TABLE %1$s ADD CONSTRAINT \"%2$s_pk\" PRIMARY KEY (\"installed_rank\");\n"
        "CREATE INDEX \"%2$s_s_idx\" ON %1$s (\"success\");";
static const char flyway_sqlite_ddl[] =
        "CREATE TABLE %1$s (\n"
        "    \"installed_rank\" INT NOT NULL PRIMARY KEY,\n"
        "    \"version\" VARCHAR(50),\n"
        "    \"description\" VARCHAR(200) NOT NULL,\n"
        "    \"type\" VARCHAR(20) NOT NULL,\n"
        "    \"script\" VARCHAR(1000) NOT NULL,\n"
        "    \"checksum\" INT,\n"
        "    \"installed_by\" VARCHAR(100) NOT NULL,\n"
        "    \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%%Y-%%m-%%d %%H:%%M:%%f','now')),\n"
        "    \"execution_time\" INT NOT NULL,\n"
        "    \"success\" BOOLEAN NOT NULL\n"
        ");\n"
        "CREATE INDEX \"%3$s\".\"%2$s_s_idx\" ON \"%2$s\" (\"success\");";

const char *history_tool_default_table(enum strata_layout layout)
{
	switch (layout) {
	case STRATA_LAYOUT_DBMATE:
		return "schema_migrations";
	case STRATA_LAYOUT_DIESEL:
		return "__diesel_schema_migrations";
	case STRATA_LAYOUT_GOLANG_MIGRATE:
		return "schema_migrations";
	case STRATA_LAYOUT_FLYWAY:
		return "flyway_schema_history";
	default:
		return STRATA_DEFAULT_TABLE;
	}
}

int history_tool_ensure(struct strata_conn *c, const struct history_tables *ht,
                        struct strata_error *err)
{
	bool is_pg = c->drv->caps & DRV_PG_SQL;
	struct sbuf sql = SBUF_INIT, name = SBUF_INIT;
	const char *ddl;
	int rc;

	if (ht->layout == STRATA_LAYOUT_FLYWAY) {
		bool has_table;

		/* Flyway's DDL has no IF NOT EXISTS */
		if (c->drv->table_exists(&has_table, c, &ht->tool, err) < 0)
			return -1;
		if (has_table)
			return 0;
		/* Flyway names SQLite's table with its schema, "main" */
		if (!is_pg && !ht->tool.schema)
			sbuf_adds(&name, "\"main\".");
		sbuf_adds(&name, ht->tool.quoted);
		sbuf_addf(&sql, is_pg ? flyway_pg_ddl : flyway_sqlite_ddl,
		          name.buf, ht->tool.name,
		          ht->tool.schema ? ht->tool.schema : "main");
		rc = c->drv->exec(c, sql.buf, err);
		sbuf_release(&name);
		sbuf_release(&sql);
		return rc;
	} else if (ht->layout == STRATA_LAYOUT_DBMATE) {
		/* dbmate quotes the name in both dialects */
		sbuf_adds(&name, ht->tool.quoted);
		ddl = is_pg ? dbmate_pg_ddl : dbmate_sqlite_ddl;
	} else if (ht->layout == STRATA_LAYOUT_GOLANG_MIGRATE && is_pg) {
		sbuf_adds(&name, ht->tool.quoted);
		ddl = golang_pg_ddl;
	} else {
		if (c->drv->ddl_name)
			c->drv->ddl_name(&name, &ht->tool);
		else
			sbuf_adds(&name, ht->tool.quoted);
		ddl = ht->layout == STRATA_LAYOUT_GOLANG_MIGRATE
		              ? golang_sqlite_ddl
		              : diesel_ddl;
	}
	sbuf_addf(&sql, ddl, name.buf);
	rc = c->drv->exec(c, sql.buf, err);
	if (rc < 0 && c->drv->create_failed &&
	    c->drv->create_failed(c, &ht->tool, "history table", err) == 0)
		rc = 0;
	sbuf_release(&name);
	sbuf_release(&sql);
	return rc;
}

struct tool_reader {
	const struct history_tables *ht;
	struct history *tool; /* the tool's rows, versions only */
	struct strata_error *err;
};

static int add_tool_row(void *data, const char *const *cells, size_t n_cols)
{
	struct tool_reader *r = data;
	struct history *h = r->tool;
	struct history_row row = { 0 };
	const char *v = cells[0];
	char *end;

	(void)n_cols;
	if (!v || !*v || strspn(v, "0123456789") != strlen(v))
		row.version = -1;
	else if (r->ht->layout == STRATA_LAYOUT_DIESEL)
		row.version = source_diesel_key(v, strlen(v));
	else if ((row.version = strtoll(v, &end, 10), *end) ||
	         (row.version == INT64_MAX && strcmp(v, "9223372036854775807")))
		row.version = -1;
	if (row.version < 0)
		return strata_error_set(
		        r->err, STRATA_EFAILED,
		        "version '%s' in history table %s is not a number strata can read",
		        v ? v : "NULL", r->ht->tool.quoted);
	row.version_text = arena_strdup(&h->strings, v);
	row.description = "";
	row.installed_on = arena_strdup(&h->strings, cells[1] ? cells[1] : "");
	row.success = true;
	row.is_unverified = true;
	XGROW(h->rows, h->alloc, h->n + 1);
	h->rows[h->n++] = row;
	return 0;
}

static void add_synthesized(struct history *h, int64_t version,
                            const char *text, bool success)
{
	struct history_row row = { 0 };

	row.version = version;
	row.version_text = arena_strdup(&h->strings, text);
	row.description = "";
	row.installed_on = "";
	row.success = success;
	row.is_unverified = true;
	XGROW(h->rows, h->alloc, h->n + 1);
	h->rows[h->n++] = row;
}

/*
 * golang-migrate's one row (version V, dirty): every migration of the
 * source below V is applied, V is applied unless dirty (a migration that
 * stopped half way, or a down that did).
 */
static int golang_row(void *data, const char *const *cells, size_t n_cols)
{
	struct tool_reader *r = data;
	const struct strata_source *src = r->ht->src;
	char *end;
	int64_t v;

	(void)n_cols;
	if (!cells[0] || (v = strtoll(cells[0], &end, 10), *end))
		return strata_error_set(
		        r->err, STRATA_EFAILED,
		        "version '%s' in history table %s is not a number",
		        cells[0] ? cells[0] : "NULL", r->ht->tool.quoted);
	if (v < 0)
		return 0; /* golang-migrate's "no version" */
	for (size_t i = 0; src && i < strata_source_count(src); i++) {
		const struct strata_migration *m = strata_source_at(src, i);

		if (m->version >= v)
			break;
		add_synthesized(r->tool, m->version, migration_version(m),
		                true);
	}
	add_synthesized(r->tool, v, cells[0],
	                !(cells[1] && strcmp(cells[1], "0")));
	return 0;
}

/* The row of `version` in `h`, NULL when none. */
static struct history_row *find_row(struct history *h, int64_t version)
{
	for (size_t i = h->n; i-- > 0;)
		if (h->rows[i].version == version)
			return &h->rows[i];
	return NULL;
}

static void remove_row(struct history *h, struct history_row *row)
{
	size_t i = (size_t)(row - h->rows);

	memmove(row, row + 1, (h->n - i - 1) * sizeof(*row));
	h->n--;
}

/* The source's repeatable migration of `description`, NULL when none. */
static const struct strata_migration *
repeatable_of(const struct strata_source *src, const char *description)
{
	for (size_t i = src ? strata_source_count(src) : 0; i-- > 0;) {
		const struct strata_migration *m = strata_source_at(src, i);

		if (!m->is_repeatable)
			break;
		if (!strcmp(m->description, description))
			return m;
	}
	return NULL;
}

/*
 * One row of Flyway's table, in installed_rank order (rank, version,
 * type, checksum, success, installed_on, description, execution_time): the
 * version's state is its last row's. A BASELINE applies every version up to its
 * own; an undo (UNDO_SQL) or Flyway 10's DELETE that succeeded takes the
 * version back out. Repeatables (no version) and the schema's creation
 * are no versioned migration.
 */
static int flyway_row(void *data, const char *const *cells, size_t n_cols)
{
	struct tool_reader *r = data;
	struct history *h = r->tool;
	const char *v = cells[1], *type = cells[2] ? cells[2] : "";
	bool success = cells[4] && strcmp(cells[4], "0");
	struct history_row row = { 0 }, *old;
	int64_t key;

	(void)n_cols;
	if (!strcmp(type, "SCHEMA"))
		return 0;
	if (!v) {
		/* a repeatable's, known by its description; one no file
		 * has any more is passed over */
		const struct strata_migration *m =
		        repeatable_of(r->ht->src, cells[6] ? cells[6] : "");

		if (!m)
			return 0;
		key = m->version;
		v = m->version_text;
	} else {
		key = source_flyway_key(v, strlen(v));
	}
	if (key < 0)
		return strata_error_set(
		        r->err, STRATA_EFAILED,
		        "version '%s' in history table %s is not a Flyway version strata can order",
		        v, r->ht->tool.quoted);
	old = find_row(h, key);
	if (!strncmp(type, "UNDO_", 5) || !strcmp(type, "DELETE")) {
		if (old && success)
			remove_row(h, old);
		else if (old)
			old->success =
			        false; /* an undo that stopped half way */
		return 0;
	}
	if (!strcmp(type, "BASELINE")) {
		const struct strata_source *src = r->ht->src;

		for (size_t i = 0; src && i < strata_source_count(src); i++) {
			const struct strata_migration *m =
			        strata_source_at(src, i);

			if (m->version >= key)
				break;
			if (!find_row(h, m->version))
				add_synthesized(h, m->version,
				                migration_version(m), true);
		}
	}
	row.version = key;
	row.version_text = arena_strdup(&h->strings, v);
	row.description = arena_strdup(&h->strings, cells[6] ? cells[6] : "");
	row.installed_on = arena_strdup(&h->strings, cells[5] ? cells[5] : "");
	row.success = success;
	/* Flyway's milliseconds: strata's own record, when merged, has
	 * the nanoseconds */
	row.execution_time =
	        cells[7] ? strtoll(cells[7], NULL, 10) * 1000000 : 0;
	row.is_unverified = !cells[3] || !strcmp(type, "BASELINE");
	if (!row.is_unverified) {
		uint32_t crc = (uint32_t)strtol(cells[3], NULL, 10);

		row.checksum[0] = (unsigned char)(crc >> 24);
		row.checksum[1] = (unsigned char)(crc >> 16);
		row.checksum[2] = (unsigned char)(crc >> 8);
		row.checksum[3] = (unsigned char)crc;
		row.checksum_len = 4;
	}
	if (old) {
		*old = row;
		return 0;
	}
	XGROW(h->rows, h->alloc, h->n + 1);
	h->rows[h->n++] = row;
	return 0;
}

/*
 * A repeatable applied with another checksum than its file's is pending
 * again, as Flyway's getPendingResolvedRepeatableMigrations() has it: no
 * checksum mismatch. A failed run stays, to be repaired as any other.
 */
static void drop_outdated(struct history *h, const struct strata_source *src)
{
	for (size_t i = h->n; i-- > 0;) {
		struct history_row *row = &h->rows[i];
		const struct strata_migration *m;

		if (!history_is_repeatable(row->version) || !row->success)
			continue;
		m = strata_source_find(src, row->version);
		if (!m || row->is_unverified ||
		    !history_checksum_matches(row, m))
			remove_row(h, row);
	}
}

static int cmp_row(const void *a, const void *b)
{
	const struct history_row *x = a, *y = b;

	return x->version < y->version ? -1 : x->version > y->version;
}

/*
 * The tool's rows merged with strata's own (`*own`, ascending): each
 * version the tool holds, with strata's record of it when there is one;
 * and strata's failed records (a no-transaction migration the tool has no
 * row for). Replaces `*own`.
 */
int history_tool_read(struct strata_conn *c, const struct history_tables *ht,
                      struct history *own, struct strata_error *err)
{
	struct history tool = { 0 }, out = { 0 };
	struct tool_reader r = { ht, &tool, err };
	struct sbuf sql = SBUF_INIT;
	int rc = -1;

	if (c->drv->table_exists(&tool.has_table, c, &ht->tool, err) < 0)
		goto done;
	if (tool.has_table && ht->layout == STRATA_LAYOUT_FLYWAY) {
		sbuf_adds(&sql, "SELECT installed_rank, version, type, "
		                "CAST(checksum AS TEXT), CASE WHEN success "
		                "THEN 1 ELSE 0 END, ");
		sbuf_addf(&sql, c->drv->timestamp_iso, "installed_on");
		sbuf_addf(&sql,
		          ", description, CAST(execution_time AS TEXT) FROM %s "
		          "ORDER BY installed_rank",
		          ht->tool.quoted);
		if (c->drv->query_each(c, sql.buf, 0, NULL, flyway_row, &r,
		                       err) < 0)
			goto done;
		drop_outdated(&tool, ht->src);
		if (tool.n > 1)
			qsort(tool.rows, tool.n, sizeof(*tool.rows), cmp_row);
	} else if (tool.has_table &&
	           ht->layout == STRATA_LAYOUT_GOLANG_MIGRATE) {
		sbuf_addf(
		        &sql,
		        "SELECT CAST(version AS TEXT), CASE WHEN dirty THEN 1 "
		        "ELSE 0 END FROM %s LIMIT 1",
		        ht->tool.quoted);
		if (c->drv->query_each(c, sql.buf, 0, NULL, golang_row, &r,
		                       err) < 0)
			goto done;
	} else if (tool.has_table) {
		sbuf_adds(&sql, "SELECT CAST(version AS TEXT), ");
		if (ht->layout == STRATA_LAYOUT_DIESEL)
			sbuf_addf(&sql, c->drv->timestamp_iso, "run_on");
		else
			sbuf_adds(&sql, "NULL");
		sbuf_addf(&sql, " FROM %s", ht->tool.quoted);
		if (c->drv->query_each(c, sql.buf, 0, NULL, add_tool_row, &r,
		                       err) < 0)
			goto done;
		if (tool.n > 1)
			qsort(tool.rows, tool.n, sizeof(*tool.rows), cmp_row);
	}
	out.has_table = tool.has_table;
	for (size_t i = 0, k = 0; i < tool.n || k < own->n;) {
		const struct history_row *t = i < tool.n ? &tool.rows[i] : NULL;
		const struct history_row *o = k < own->n ? &own->rows[k] : NULL;
		struct history_row row;

		/* the tool's table alone says what ran of a repeatable;
		 * strata's record of the same one has its time in ns */
		if (o && history_is_repeatable(o->version)) {
			struct history_row *same =
			        (struct history_row *)history_find(&tool,
			                                           o->version);

			if (same && o->success &&
			    !strcmp(same->description, o->description))
				same->execution_time = o->execution_time;
			k++;
			continue;
		}
		if (t && (!o || t->version < o->version)) {
			row = *t;
			i++;
		} else if (!t || o->version < t->version) {
			k++;
			if (o->success)
				continue; /* reverted by the tool since */
			row = *o;
		} else {
			/* failed too when strata's record says so: a down
			 * section that stopped half way; or the tool's */
			row = *o;
			row.version_text = t->version_text;
			if (!t->success)
				row.success = false;
			i++;
			k++;
		}
		/* a row the tool wrote has no description: its file's */
		if (!*row.description && ht->src) {
			const struct strata_migration *m =
			        strata_source_find(ht->src, row.version);

			if (m)
				row.description = m->description;
		}
		row.description = arena_strdup(&out.strings, row.description);
		row.installed_on = arena_strdup(&out.strings, row.installed_on);
		if (row.version_text)
			row.version_text =
			        arena_strdup(&out.strings, row.version_text);
		XGROW(out.rows, out.alloc, out.n + 1);
		out.rows[out.n++] = row;
	}
	history_release(own);
	*own = out;
	memset(&out, 0, sizeof(out));
	rc = 0;
done:
	history_release(&tool);
	history_release(&out);
	sbuf_release(&sql);
	return rc;
}

/* golang-migrate's one row, as its SetVersion() writes it; version < 0:
 * none. */
static void golang_set(struct batch *b, const struct history_tables *ht,
                       int64_t version, bool is_dirty)
{
	const struct db_value v[] = { DBV_INT(version) };
	struct sbuf sql = SBUF_INIT;

	sbuf_addf(&sql, "DELETE FROM %s", ht->tool.quoted);
	batch_add_sql(b, sql.buf, 0, NULL);
	if (version >= 0) {
		sbuf_reset(&sql);
		sbuf_addf(&sql,
		          "INSERT INTO %s (version, dirty) VALUES ($1, %s)",
		          ht->tool.quoted, is_dirty ? "TRUE" : "FALSE");
		batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
	}
	sbuf_release(&sql);
}

/* Whether the last row of version $1 in Flyway's table (%1$s) is an
 * applied migration. */
#define FLYWAY_LAST                                                                       \
	"(SELECT 1 FROM %1$s WHERE installed_rank = (SELECT MAX("                         \
	"installed_rank) FROM %1$s WHERE version = CAST($1 AS VARCHAR)) AND success AND " \
	"type NOT LIKE 'UNDO%%' AND type <> 'DELETE')"

/* Flyway's `script`: the file's path below the folder (its own name for
 * one at the top), as Flyway's scanner names what it finds. */
static const char *script_of(const struct history_tables *ht, const char *path)
{
	const char *dir = ht->src ? strata_source_dir(ht->src) : NULL;
	size_t len = dir ? strlen(dir) : 0;
	const char *slash = path ? strrchr(path, '/') : NULL;

	if (path && len && !strncmp(path, dir, len) &&
	    (dir[len - 1] == '/' || path[len] == '/'))
		return path + len + (dir[len - 1] != '/');
	return slash ? slash + 1 : path ? path : "";
}

/*
 * A row as Flyway's doAddAppliedMigration() writes it: installed_rank the
 * last one's + 1, the script's file name, Flyway's checksum, the
 * session's user (Flyway's SQLite has none: ""), the time in ms.
 * `sql_tail` says when (a WHERE clause, %1$s the table).
 */
static void flyway_insert(struct batch *b, const struct history_tables *ht,
                          const char *version_text, const char *type,
                          const char *script, const char *description,
                          bool has_checksum, int32_t checksum,
                          int64_t execution_ms, bool success,
                          const char *sql_tail)
{
	const struct db_value v[] = {
		DBV_TEXT(version_text),
		DBV_TEXT(description),
		DBV_TEXT(script),
		has_checksum ? DBV_INT(checksum) : DBV_TEXT(NULL),
		DBV_INT(execution_ms),
	};
	const char *user = ht->current_user && strcmp(ht->current_user, "NULL")
	                           ? ht->current_user
	                           : "''";
	struct sbuf sql = SBUF_INIT;

	sbuf_addf(&sql,
	          "INSERT INTO %1$s (installed_rank, version, description, "
	          "type, script, checksum, installed_by, execution_time, "
	          "success) SELECT n.next_rank, CAST($1 AS VARCHAR), "
	          "CAST($2 AS VARCHAR), '%2$s', CAST($3 AS VARCHAR), "
	          "CAST($4 AS INTEGER), %3$s, CAST($5 AS INTEGER), %4$s "
	          "FROM (SELECT COALESCE(MAX(installed_rank), 0) + 1 AS "
	          "next_rank FROM %1$s) n ",
	          ht->tool.quoted, type, user, success ? "TRUE" : "FALSE");
	sbuf_addf(&sql, sql_tail, ht->tool.quoted);
	batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
	sbuf_release(&sql);
}

static const struct strata_migration *
find_migration(const struct history_tables *ht, int64_t version)
{
	return ht->src ? strata_source_find(ht->src, version) : NULL;
}

/* The last row of a repeatable, its description the parameter `p` (%1$s:
 * the table) */
#define FLYWAY_LAST_REPEATABLE(p)                            \
	"installed_rank = (SELECT MAX(installed_rank) FROM " \
	"%1$s WHERE version IS NULL AND description = CAST(" p " AS VARCHAR))"

/*
 * A repeatable applied: a row as for a versioned one, version NULL, each
 * time it runs (Flyway keeps the earlier ones); or the failed row it left
 * while it ran outside a transaction marked a success.
 */
static void flyway_repeatable_applied(struct batch *b,
                                      const struct history_tables *ht,
                                      const struct strata_migration *m,
                                      int64_t ms)
{
	const struct db_value v[] = { DBV_INT(ms), DBV_TEXT(m->description) };
	struct sbuf sql = SBUF_INIT;

	sbuf_addf(&sql,
	          "UPDATE %1$s SET success = TRUE, execution_time = CAST($1 "
	          "AS INTEGER) WHERE " FLYWAY_LAST_REPEATABLE(
	                  "$2") " AND NOT success",
	          ht->tool.quoted);
	batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
	sbuf_release(&sql);
	flyway_insert(
	        b, ht, NULL, "SQL", script_of(ht, m->up_path), m->description,
	        true, m->flyway_checksum, ms, true,
	        "WHERE NOT EXISTS (SELECT 1 FROM %1$s WHERE "
	        "" FLYWAY_LAST_REPEATABLE("$2") " AND success AND checksum = "
	                                        "CAST($4 AS INTEGER))");
}

/* A migration applied: a new SQL row, or the failed row a no-transaction
 * migration left while it ran marked a success. */
static void flyway_applied(struct batch *b, const struct history_tables *ht,
                           int64_t version, const char *version_text,
                           int64_t execution_time)
{
	const struct strata_migration *m = find_migration(ht, version);
	int64_t ms = execution_time > 0 ? execution_time / 1000000 : 0;
	const struct db_value v[] = { DBV_TEXT(version_text), DBV_INT(ms) };
	struct sbuf sql = SBUF_INIT;

	if (m && m->is_repeatable) {
		flyway_repeatable_applied(b, ht, m, ms);
		return;
	}
	sbuf_addf(
	        &sql,
	        "UPDATE %1$s SET success = TRUE, execution_time = CAST($2 AS INTEGER) WHERE "
	        "installed_rank = (SELECT MAX(installed_rank) FROM %1$s "
	        "WHERE version = CAST($1 AS VARCHAR)) AND NOT success",
	        ht->tool.quoted);
	batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
	sbuf_release(&sql);
	flyway_insert(b, ht, version_text, "SQL",
	              script_of(ht, m ? m->up_path : NULL),
	              m ? m->description : "", m != NULL,
	              m ? m->flyway_checksum : 0, ms, true,
	              "WHERE NOT EXISTS " FLYWAY_LAST);
}

void history_tool_add_dirty(struct batch *b, const struct history_tables *ht,
                            int64_t version)
{
	if (ht->layout == STRATA_LAYOUT_GOLANG_MIGRATE)
		golang_set(b, ht, version, true);
	if (ht->layout == STRATA_LAYOUT_FLYWAY) {
		const struct strata_migration *m = find_migration(ht, version);
		char buf[24];

		if (!m)
			return;
		snprintf(buf, sizeof(buf), "%" PRId64, version);
		if (m->is_repeatable) {
			flyway_insert(
			        b, ht, NULL, "SQL", script_of(ht, m->up_path),
			        m->description, true, m->flyway_checksum, 0,
			        false,
			        "WHERE NOT EXISTS (SELECT 1 FROM %1$s WHERE "
			        "" FLYWAY_LAST_REPEATABLE(
			                "$2") " AND NOT success)");
			return;
		}
		/* Flyway's row of a failed migration, until it succeeds */
		flyway_insert(
		        b, ht, m->version_text ? m->version_text : buf, "SQL",
		        script_of(ht, m->up_path), m->description, true,
		        m->flyway_checksum, 0, false,
		        "WHERE NOT EXISTS (SELECT 1 FROM %1$s WHERE "
		        "installed_rank = (SELECT MAX(installed_rank) FROM %1$s "
		        "WHERE version = CAST($1 AS VARCHAR)) AND NOT success)");
	}
}

void history_tool_add_baseline(struct batch *b, const struct history_tables *ht,
                               const char *version_text)
{
	/* Database.getBaselineStatement(): the default baselineDescription
	 * as description and script, no checksum, execution_time 0 */
	if (ht->layout == STRATA_LAYOUT_FLYWAY)
		flyway_insert(b, ht, version_text, "BASELINE",
		              "<< Flyway Baseline >>", "<< Flyway Baseline >>",
		              false, 0, 0, true, "");
}

void history_tool_add_applied(struct batch *b, const struct history_tables *ht,
                              int64_t version, const char *version_text,
                              int64_t execution_time)
{
	const struct db_value v[] = { DBV_TEXT(version_text) };
	struct sbuf sql = SBUF_INIT;

	if (ht->layout == STRATA_LAYOUT_GOLANG_MIGRATE) {
		golang_set(b, ht, version, false);
		return;
	}
	if (ht->layout == STRATA_LAYOUT_FLYWAY) {
		flyway_applied(b, ht, version, version_text, execution_time);
		return;
	}

	/* already there after a down section that stopped half way */
	sbuf_addf(
	        &sql,
	        "INSERT INTO %s (version) SELECT CAST($1 AS TEXT) WHERE "
	        "NOT EXISTS (SELECT 1 FROM %s WHERE version = CAST($1 AS TEXT))",
	        ht->tool.quoted, ht->tool.quoted);
	batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
	sbuf_release(&sql);
}

void history_tool_add_removed(struct batch *b, const struct history_tables *ht,
                              int64_t version, const char *version_text)
{
	const struct db_value v[] = { DBV_TEXT(version_text) };
	struct sbuf sql = SBUF_INIT;

	if (ht->layout == STRATA_LAYOUT_GOLANG_MIGRATE) {
		/* down to the migration before it, as golang-migrate's down
		 * leaves it; none before: no row */
		int64_t prev = -1;

		for (size_t i = 0; ht->src && i < strata_source_count(ht->src);
		     i++) {
			int64_t m = strata_source_at(ht->src, i)->version;

			if (m >= version)
				break;
			prev = m;
		}
		golang_set(b, ht, prev, false);
		return;
	}

	if (ht->layout == STRATA_LAYOUT_FLYWAY) {
		const struct strata_migration *m = find_migration(ht, version);

		if (m && m->is_repeatable) {
			/* never reverted: its failed row goes (repair) */
			const struct db_value rv[] = { DBV_TEXT(
				m->description) };

			sbuf_addf(
			        &sql,
			        "DELETE FROM %1$s WHERE " FLYWAY_LAST_REPEATABLE(
			                "$1") " AND NOT success",
			        ht->tool.quoted);
			batch_add_sql(b, sql.buf, ARRAY_SIZE(rv), rv);
			sbuf_release(&sql);
			return;
		}
		/* a failed row goes, as Flyway's repair removes it */
		sbuf_addf(
		        &sql,
		        "DELETE FROM %s WHERE version = CAST($1 AS VARCHAR) AND NOT success",
		        ht->tool.quoted);
		batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
		sbuf_release(&sql);
		/* an applied one is undone, as Flyway Teams' undo records it */
		flyway_insert(b, ht, version_text, "UNDO_SQL",
		              script_of(ht, m ? m->down_path : NULL),
		              m ? m->description : "", m && m->down_sql,
		              m && m->down_sql
		                      ? source_flyway_checksum(m->down_sql,
		                                               m->down_len)
		                      : 0,
		              0, true, "WHERE EXISTS " FLYWAY_LAST);
		return;
	}

	/* none after an up section that stopped half way */
	sbuf_addf(&sql, "DELETE FROM %s WHERE version = $1", ht->tool.quoted);
	batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
	sbuf_release(&sql);
}
