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

#include <sqlite3.h>
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
