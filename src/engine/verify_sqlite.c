/*
 * strata verify on SQLite: PRAGMA integrity_check (the file's structure,
 * indexes against their tables), PRAGMA foreign_key_check (orphaned rows,
 * whether or not foreign_keys is on) and the tables without a primary
 * key. SQLite has no invalid indexes, NOT VALID constraints or sequences
 * of PostgreSQL's kind, and cannot stop a pragma part way: the budget is
 * looked at between checks. Everything runs with query_only set, in one
 * read transaction.
 */
#include "engine/verify.h"
#include "drivers/driver.h"
#include "util/error.h"
#include "util/sbuf.h"

/* At most this many problems of integrity_check: the first say enough. */
#define INTEGRITY_MAX 100

static int check_integrity(struct verify *v, struct strata_error *err)
{
	struct db_rows rows = { 0 };
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA integrity_check(%d)", INTEGRITY_MAX);
	if (v->db->drv->query(v->db->conn, sql, 0, NULL, &rows, err) < 0)
		return -1;
	for (size_t i = 0; i < rows.n_rows; i++) {
		const char *what = db_rows_get(&rows, i, 0);

		if (what && strcmp(what, "ok"))
			verify_add(
			        v, "integrity", STRATA_SEVERITY_ERROR, "main",
			        "REINDEX;",
			        "integrity_check: %s (an index that disagrees with its table is fixed by REINDEX; damage to the file itself needs a backup)",
			        what);
	}
	db_rows_release(&rows);
	verify_done(v);
	return 0;
}

static const char fk_sql[] =
        "SELECT f.\"table\", f.parent, f.fkid, count(*)"
        " FROM pragma_foreign_key_check f GROUP BY 1, 2, 3 ORDER BY 1, 3";

static int check_foreign_keys(struct verify *v, struct strata_error *err)
{
	struct db_rows rows = { 0 };
	struct sbuf obj = SBUF_INIT, fix = SBUF_INIT, par = SBUF_INIT;

	if (v->db->drv->query(v->db->conn, fk_sql, 0, NULL, &rows, err) < 0)
		return -1;
	for (size_t i = 0; i < rows.n_rows; i++) {
		const char *table = db_rows_get(&rows, i, 0);
		const char *parent = db_rows_get(&rows, i, 1);
		const char *n = db_rows_get(&rows, i, 3);

		sbuf_reset(&obj);
		sbuf_reset(&fix);
		sbuf_reset(&par);
		sbuf_add_ident(&obj, table);
		sbuf_add_ident(&par, parent);
		sbuf_adds(&fix, "SELECT * FROM ");
		sbuf_add_ident(&fix, table);
		sbuf_adds(&fix, " WHERE rowid IN (SELECT rowid FROM"
		                " pragma_foreign_key_check(");
		sbuf_add_literal(&fix, table);
		sbuf_addf(&fix, ") WHERE fkid = %s);",
		          db_rows_get(&rows, i, 2));
		verify_add(
		        v, "orphaned-rows", STRATA_SEVERITY_ERROR, obj.buf,
		        fix.buf,
		        "%s row%s of %s reference%s no row of %s: a foreign key that does not hold (written while foreign_keys was off)",
		        n, strcmp(n, "1") ? "s" : "", obj.buf,
		        strcmp(n, "1") ? "" : "s", par.buf);
	}
	sbuf_release(&obj);
	sbuf_release(&fix);
	sbuf_release(&par);
	db_rows_release(&rows);
	verify_done(v);
	return 0;
}

static const char no_pk_sql[] =
        "SELECT s.name FROM sqlite_schema s WHERE s.type = 'table'"
        " AND s.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        " AND NOT EXISTS (SELECT 1 FROM pragma_table_info(s.name) c"
        " WHERE c.pk > 0)"
        " AND s.name IS NOT $1 AND s.name IS NOT $2 AND s.name IS NOT $3"
        " ORDER BY 1";

static int check_primary_keys(struct verify *v, struct strata_error *err)
{
	struct db_value params[3];
	struct db_rows rows = { 0 };
	struct sbuf obj = SBUF_INIT;

	for (int i = 0; i < 3; i++) {
		const struct table_name *t = verify_own_table(v, i);

		params[i] = DBV_TEXT(t ? t->name : NULL);
	}
	if (v->db->drv->query(v->db->conn, no_pk_sql, 3, params, &rows, err) <
	    0)
		return -1;
	for (size_t i = 0; i < rows.n_rows; i++) {
		sbuf_reset(&obj);
		sbuf_add_ident(&obj, db_rows_get(&rows, i, 0));
		verify_add(
		        v, "missing-primary-key", STRATA_SEVERITY_WARNING,
		        obj.buf, NULL,
		        "table %s has no primary key: its rows are told apart only by a rowid that VACUUM may renumber, and duplicates go unnoticed",
		        obj.buf);
	}
	sbuf_release(&obj);
	db_rows_release(&rows);
	verify_done(v);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct verify *, struct strata_error *);
} checks[] = {
	{ "orphaned-rows", check_foreign_keys },
	{ "missing-primary-key", check_primary_keys },
	/* last: it reads the whole file */
	{ "integrity", check_integrity },
};

int verify_sqlite(struct verify *v, struct strata_error *err)
{
	const struct strata_driver *drv = v->db->drv;
	struct strata_error e2 = STRATA_ERROR_INIT;
	int rc = -1;

	if (drv->exec(v->db->conn, "PRAGMA query_only = ON; BEGIN", err) < 0)
		goto done;
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		if (v->is_out_of_time || verify_left(v) <= 0) {
			verify_not_run(v, checks[i].name, 0, NULL);
			continue;
		}
		if (checks[i].fn(v, err) < 0)
			goto done;
	}
	rc = 0;
done:
	drv->rollback(v->db->conn);
	/* the connection writes again: run --verify goes on with it */
	if (drv->exec(v->db->conn, "PRAGMA query_only = OFF", &e2) < 0 &&
	    rc == 0) {
		error_move(err, &e2);
		rc = -1;
	}
	strata_error_release(&e2);
	return rc;
}
