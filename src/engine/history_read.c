/*
 * The history table read (design.md, "History table"): every row over the
 * driver's generic queries, as history.c writes them; and, for status, the
 * history with a read of another of strata's tables beside it, in as few
 * round trips as the driver allows.
 */
#include "engine/history.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct reader {
	struct history *h;
	const struct table_name *table;
	struct strata_error *err;
};

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Hex text (either case) into `row`'s checksum; false when not hex. */
static bool parse_checksum(struct history_row *row, const char *hex)
{
	size_t len = hex ? strlen(hex) : 0;

	if (len % 2)
		return false;
	row->checksum_len = len / 2;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		if (i / 2 < STRATA_CHECKSUM_LEN)
			row->checksum[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

static bool parse_int(int64_t *out, const char *s)
{
	char *end;

	if (!s || !*s)
		return false;
	*out = strtoll(s, &end, 10);
	return !*end;
}

/* One row of the read: version, description, installed_on, success,
 * checksum (hex), execution_time, all as text. */
static int add_row(void *data, const char *const *cells, size_t n_cols)
{
	struct reader *r = data;
	struct history *h = r->h;
	struct history_row row = { 0 };
	int bad = 0;

	if (n_cols != 6)
		BUG("history query returned the wrong columns");
	if (!parse_int(&row.version, cells[0]))
		bad = 1;
	else if (!cells[1])
		bad = 2;
	else if (!cells[2])
		bad = 3;
	else if (!cells[3])
		bad = 4;
	else if (!parse_checksum(&row, cells[4]))
		bad = 5;
	else if (!parse_int(&row.execution_time, cells[5]))
		bad = 6;
	if (bad)
		return strata_error_set(
		        r->err, STRATA_EFAILED,
		        "unexpected value in history table %s (row %zu, column %d)",
		        r->table->quoted, h->n + 1, bad);
	row.description = arena_strdup(&h->strings, cells[1]);
	row.installed_on = arena_strdup(&h->strings, cells[2]);
	row.success = strcmp(cells[3], "0") != 0;
	XGROW(h->rows, h->alloc, h->n + 1);
	h->rows[h->n++] = row;
	return 0;
}

/* The query of every row of `table`, add_row()'s columns. */
static void select_sql(struct sbuf *sql, const struct strata_driver *drv,
                       const struct table_name *table)
{
	/*
	 * The casts are no-ops on sqlx's table and pin the types of
	 * another's (a value of the wrong kind is an error, not a misread).
	 * success is a BOOLEAN in PostgreSQL, 1 or 0 in SQLite: CASE reads
	 * both. A timestamp strata cannot read as ISO 8601 is shown as the
	 * database writes it.
	 */
	sbuf_adds(sql, "SELECT CAST(version AS BIGINT), "
	               "CAST(description AS TEXT), coalesce(");
	sbuf_addf(sql, drv->timestamp_iso, "installed_on");
	sbuf_adds(sql,
	          ", CAST(installed_on AS TEXT)), "
	          "CASE WHEN CAST(success AS BOOLEAN) THEN 1 ELSE 0 END, ");
	sbuf_addf(sql, drv->hex, "checksum");
	sbuf_addf(sql,
	          ", CAST(execution_time AS BIGINT) FROM %s ORDER BY version",
	          table->quoted);
}

/*
 * strata's own table and `beside`'s: whether they exist (and the table
 * only asked about) in one question, then what exists in one more
 * (query_each_all()); the history first, so that a failure of `beside`
 * leaves it read.
 */
static int read_with(struct strata_conn *c, struct reader *r,
                     struct history_beside *beside, struct strata_error *err)
{
	const struct table_name *t[3] = { r->table };
	struct strata_error beside_err = STRATA_ERROR_INIT;
	struct sbuf sql = SBUF_INIT;
	struct db_read reads[2];
	bool exists[3] = { false, false, false };
	size_t n = 0, n_tables = 1, at_beside = 0, at_asked = 0;
	int rc = -1;

	if (beside->table) {
		at_beside = n_tables;
		t[n_tables++] = beside->table;
	}
	if (beside->asked) {
		at_asked = n_tables;
		t[n_tables++] = beside->asked;
	}
	beside->rc = -1;
	if (c->drv->tables_exist(exists, c, t, n_tables, err) < 0)
		goto done;
	r->h->has_table = exists[0];
	beside->is_asked_there = at_asked && exists[at_asked];
	if (exists[0]) {
		select_sql(&sql, c->drv, r->table);
		reads[n++] = (struct db_read){
			.sql = sql.buf, .fn = add_row, .data = r, .err = err
		};
	}
	if (at_beside && exists[at_beside])
		reads[n++] = (struct db_read){ .sql = beside->sql,
			                       .fn = beside->fn,
			                       .data = beside->data,
			                       .err = &beside_err };
	if (n)
		c->drv->query_each_all(c, reads, n);
	if (at_beside && exists[at_beside])
		beside->rc = reads[n - 1].rc;
	if (exists[0] && reads[0].rc < 0)
		goto done;
	rc = 0;
done:
	strata_error_release(&beside_err);
	sbuf_release(&sql);
	return rc;
}

static int read_tables(struct strata_conn *c, const struct history_tables *ht,
                       struct history_beside *beside, struct history *out,
                       struct strata_error *err)
{
	const struct strata_driver *drv = c->drv;
	struct history h = { 0 };
	struct sbuf sql = SBUF_INIT;
	const struct table_name *table = &ht->own;
	struct reader r = { &h, table, err };
	int rc = -1;

	if (beside) {
		if (read_with(c, &r, beside, err) < 0)
			goto done;
	} else {
		h.has_table = ht->is_own_seen;
		if (!h.has_table &&
		    drv->table_exists(&h.has_table, c, table, err) < 0)
			goto done;
		if (h.has_table) {
			select_sql(&sql, drv, table);
			if (drv->query_each(c, sql.buf, 0, NULL, add_row, &r,
			                    err) < 0)
				goto done;
		}
	}
	if (history_has_tool(ht) && history_tool_read(c, ht, &h, err) < 0)
		goto done;
	*out = h;
	memset(&h, 0, sizeof(h));
	rc = 0;
done:
	history_release(&h);
	sbuf_release(&sql);
	return rc;
}

int history_read(struct strata_conn *c, const struct history_tables *ht,
                 struct history *out, struct strata_error *err)
{
	return read_tables(c, ht, NULL, out, err);
}

int history_read_beside(struct strata_conn *c, const struct history_tables *ht,
                        struct history_beside *beside, struct history *out,
                        struct strata_error *err)
{
	return read_tables(c, ht, beside, out, err);
}

int history_has(bool *out, struct strata_conn *c,
                const struct history_tables *ht, int64_t version,
                struct strata_error *err)
{
	const struct db_value v[] = { DBV_INT(version) };
	struct db_rows rows = { 0 };
	struct sbuf sql = SBUF_INIT;
	int rc;

	if (history_has_tool(ht)) {
		/* the tool's table says, merged with strata's */
		struct history h = { 0 };

		rc = history_read(c, ht, &h, err);
		*out = rc == 0 && history_find(&h, version);
		history_release(&h);
		return rc;
	}
	sbuf_addf(&sql, "SELECT 1 FROM %s WHERE version = $1", ht->own.quoted);
	rc = c->drv->query(c, sql.buf, ARRAY_SIZE(v), v, &rows, err);
	*out = rc == 0 && rows.n_rows > 0;
	db_rows_release(&rows);
	sbuf_release(&sql);
	return rc;
}
