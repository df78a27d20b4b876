/*
 * Another tool's history table (design.md, Layouts), kept exactly as the
 * tool creates and writes it, so the tool sees strata's work as its own
 * and the other way round: dbmate's `schema_migrations (version)` and
 * diesel's `__diesel_schema_migrations (version, run_on)`, one row per
 * applied version, as text. What the tool's table has no room for (the
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
	} else {
		if (c->drv->ddl_name)
			c->drv->ddl_name(&name, &ht->tool);
		else
			sbuf_adds(&name, ht->tool.quoted);
		ddl = diesel_ddl;
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
	if (tool.has_table) {
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
			 * section that stopped half way */
			row = *o;
			row.version_text = t->version_text;
			i++;
			k++;
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

void history_tool_add_applied(struct batch *b, const struct history_tables *ht,
                              const char *version_text)
{
	const struct db_value v[] = { DBV_TEXT(version_text) };
	struct sbuf sql = SBUF_INIT;

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
                              const char *version_text)
{
	const struct db_value v[] = { DBV_TEXT(version_text) };
	struct sbuf sql = SBUF_INIT;

	/* none after an up section that stopped half way */
	sbuf_addf(&sql, "DELETE FROM %s WHERE version = $1", ht->tool.quoted);
	batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
	sbuf_release(&sql);
}
