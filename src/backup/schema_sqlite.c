/*
 * The SQLite schema dump: sqlite_schema's statements, strata's tables
 * (and their indexes and triggers) and SQLite's own objects left out,
 * tables first, then indexes, views and triggers, each kind by name, each
 * statement ending in ';', after a header as pg_dump writes one (see
 * schema.h), so that drift reads both dumps alike.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "drivers/driver.h"
#include "engine/db.h"
#include "backup/schema.h"
#include "util/sqlite_lib.h"

#include <string.h>

static const char schema_sql[] =
        "SELECT type, name, sql FROM sqlite_schema"
        " WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        " AND tbl_name NOT IN (?1, ?2, ?3)"
        " ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1"
        " WHEN 'view' THEN 2 ELSE 3 END, name";

int sqliteschema_dump(struct sbuf *out, struct strata_db *db,
                      struct strata_error *err)
{
	sqlite3 *h = db->drv->handle(db->conn);
	const struct table_name *own[4];
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	schema_own_tables(db, own);
	if (sqlite3_prepare_v2(h, schema_sql, -1, &st, NULL) != SQLITE_OK)
		goto failed;
	/* "" for none: a NULL would make NOT IN match nothing */
	for (int i = 0; i < 3; i++)
		sqlite3_bind_text(st, i + 1, own[i] ? own[i]->name : "", -1,
		                  SQLITE_TRANSIENT);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *sql = (const char *)sqlite3_column_text(st, 2);
		size_t len = strlen(sql);

		sbuf_adds(out, "--\n-- Name: ");
		sbuf_adds(out, name);
		sbuf_adds(out, "; Type: ");
		for (const char *p = type; *p; p++)
			sbuf_addch(out, (char)(*p >= 'a' && *p <= 'z'
			                               ? *p - 'a' + 'A'
			                               : *p));
		sbuf_adds(out, "; Schema: -; Owner: -\n--\n\n");
		while (len && strchr(" \t\r\n;", sql[len - 1]))
			len--;
		sbuf_add(out, sql, len);
		sbuf_adds(out, ";\n\n");
	}
	if (step != SQLITE_DONE)
		goto failed;
	rc = 0;
	goto done;
failed:
	strata_error_set(err, STRATA_EFAILED,
	                 "could not read the schema of '%s': %s",
	                 db->url.redacted, sqlite3_errmsg(h));
done:
	sqlite3_finalize(st);
	return rc;
}

/*
 * A table's columns as drift compares them, one line each ("name type
 * NOT NULL DEFAULT x PRIMARY KEY"), from pragma_table_xinfo: the table's
 * SQL text says a changed column only as a changed table.
 */
size_t sqliteschema_columns(char ***out, struct strata_db *db,
                            const char *table)
{
	sqlite3 *h = db->drv->handle(db->conn);
	sqlite3_stmt *st = NULL;
	struct sbuf line = SBUF_INIT;
	char **v = NULL;
	size_t n = 0, alloc = 0;

	*out = NULL;
	if (sqlite3_prepare_v2(h,
	                       "SELECT name, type, \"notnull\", dflt_value, pk,"
	                       " hidden FROM pragma_table_xinfo(?1)",
	                       -1, &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		const char *dflt = (const char *)sqlite3_column_text(st, 3);
		int hidden = sqlite3_column_int(st, 5);
		bool is_plain = *name && !strchr("0123456789", *name);

		for (const char *p = name; *p && is_plain; p++)
			is_plain = (*p >= 'a' && *p <= 'z') ||
			           (*p >= 'A' && *p <= 'Z') ||
			           (*p >= '0' && *p <= '9') || *p == '_';
		sbuf_reset(&line);
		if (is_plain) {
			sbuf_adds(&line, name);
		} else {
			sbuf_addch(&line, '"');
			for (const char *p = name; *p; p++) {
				if (*p == '"')
					sbuf_addch(&line, '"');
				sbuf_addch(&line, *p);
			}
			sbuf_addch(&line, '"');
		}
		if (type && *type)
			sbuf_addf(&line, " %s", type);
		if (sqlite3_column_int(st, 2))
			sbuf_adds(&line, " NOT NULL");
		if (dflt)
			sbuf_addf(&line, " DEFAULT %s", dflt);
		if (sqlite3_column_int(st, 4))
			sbuf_adds(&line, " PRIMARY KEY");
		if (hidden == 2 || hidden == 3)
			sbuf_adds(&line, hidden == 3 ? " GENERATED STORED"
			                             : " GENERATED VIRTUAL");
		XGROW(v, alloc, n + 1);
		v[n++] = sbuf_detach(&line, NULL);
	}
done:
	sqlite3_finalize(st);
	sbuf_release(&line);
	*out = v;
	return n;
}
