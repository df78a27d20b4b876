/*
 * Another tool's history table (design.md, Layouts), kept exactly as the
 * tool creates and writes it, so the tool sees strata's work as its own
 * and the other way round: dbmate's `schema_migrations (version)` and
 * diesel's `__diesel_schema_migrations (version, run_on)`, one row per
 * applied version, as text; golang-migrate's `schema_migrations (version,
 * dirty)`, one row for the newest version, every migration of the source
 * below it applied too. What the tool's table has no room for (the
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

const char *history_tool_default_table(enum strata_layout layout)
{
	switch (layout) {
	case STRATA_LAYOUT_DBMATE:
		return "schema_migrations";
	case STRATA_LAYOUT_DIESEL:
		return "__diesel_schema_migrations";
	case STRATA_LAYOUT_GOLANG_MIGRATE:
		return "schema_migrations";
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

	if (ht->layout == STRATA_LAYOUT_DBMATE) {
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
	if (tool.has_table && ht->layout == STRATA_LAYOUT_GOLANG_MIGRATE) {
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

void history_tool_add_dirty(struct batch *b, const struct history_tables *ht,
                            int64_t version)
{
	if (ht->layout == STRATA_LAYOUT_GOLANG_MIGRATE)
		golang_set(b, ht, version, true);
}

void history_tool_add_applied(struct batch *b, const struct history_tables *ht,
                              int64_t version, const char *version_text)
{
	const struct db_value v[] = { DBV_TEXT(version_text) };
	struct sbuf sql = SBUF_INIT;

	if (ht->layout == STRATA_LAYOUT_GOLANG_MIGRATE) {
		golang_set(b, ht, version, false);
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

	/* none after an up section that stopped half way */
	sbuf_addf(&sql, "DELETE FROM %s WHERE version = $1", ht->tool.quoted);
	batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
	sbuf_release(&sql);
}
