/*
 * The history table, written once for every driver (design.md, "History
 * table"): generic SQL over the driver's query() with $1…$n, the dialect's
 * pieces (sqlx's DDL, how a table is found, timestamps and bytes as text)
 * from the driver table. Also the checks of a recorded migration against
 * the source, which run, status and check share.
 */
#include "engine/history.h"
#include "engine/source.h"
#include "engine/plan.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void history_tables_release(struct history_tables *ht)
{
	table_name_release(&ht->own);
	table_name_release(&ht->tool);
	memset(ht, 0, sizeof(*ht));
}

static bool has_tool(const struct history_tables *ht)
{
	return ht->layout != STRATA_LAYOUT_SQLX &&
	       ht->layout != STRATA_LAYOUT_AUTO;
}

/* The version as another tool's table holds it, into `buf` when the
 * migration's own text is not known. */
static const char *version_text(const char *text, int64_t version,
                                char buf[static 24])
{
	if (text)
		return text;
	snprintf(buf, 24, "%" PRId64, version);
	return buf;
}

void history_release(struct history *h)
{
	arena_release(&h->strings);
	free(h->rows);
	memset(h, 0, sizeof(*h));
}

bool history_has_tool(const struct history_tables *ht)
{
	return has_tool(ht);
}

void history_copy(struct history *out, const struct history *h)
{
	memset(out, 0, sizeof(*out));
	out->has_table = h->has_table;
	if (!h->n)
		return;
	XGROW(out->rows, out->alloc, h->n);
	for (size_t i = 0; i < h->n; i++) {
		struct history_row row = h->rows[i];

		row.description = arena_strdup(&out->strings, row.description);
		row.installed_on =
		        arena_strdup(&out->strings, row.installed_on);
		if (row.version_text)
			row.version_text =
			        arena_strdup(&out->strings, row.version_text);
		out->rows[i] = row;
	}
	out->n = h->n;
}

void history_put_applied(struct history *h, const struct strata_migration *m,
                         int64_t execution_time)
{
	struct history_row row = { 0 };
	size_t at = h->n;

	row.version = m->version;
	row.description = arena_strdup(&h->strings, m->description);
	row.installed_on = "";
	row.success = true;
	memcpy(row.checksum, m->checksum, STRATA_CHECKSUM_LEN);
	row.checksum_len = STRATA_CHECKSUM_LEN;
	row.execution_time = execution_time;
	history_take_out(h, m->version);
	while (at > 0 && h->rows[at - 1].version > m->version)
		at--;
	XGROW(h->rows, h->alloc, h->n + 1);
	memmove(&h->rows[at + 1], &h->rows[at], (h->n - at) * sizeof(*h->rows));
	h->rows[at] = row;
	h->n++;
	h->has_table = true;
}

void history_take_out(struct history *h, int64_t version)
{
	const struct history_row *row = history_find(h, version);
	size_t at;

	if (!row)
		return;
	at = (size_t)(row - h->rows);
	memmove(&h->rows[at], &h->rows[at + 1],
	        (h->n - at - 1) * sizeof(*h->rows));
	h->n--;
}

const struct history_row *history_newest(const struct history *h)
{
	for (size_t i = h->n; i-- > 0;)
		if (!history_is_repeatable(h->rows[i].version))
			return &h->rows[i];
	return NULL;
}

const struct history_row *history_find(const struct history *h, int64_t version)
{
	size_t lo = 0, hi = h->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->rows[mid].version == version)
			return &h->rows[mid];
		if (h->rows[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- the table ---------------------------------------------------------- */

void history_ddl(struct sbuf *sql, const struct strata_driver *drv,
                 const struct history_tables *ht)
{
	struct sbuf name = SBUF_INIT;

	if (drv->ddl_name)
		drv->ddl_name(&name, &ht->own);
	else
		sbuf_adds(&name, ht->own.quoted);
	sbuf_addf(sql, drv->history_ddl, name.buf);
	sbuf_release(&name);
}

int history_ensure(struct strata_conn *c, const struct history_tables *ht,
                   struct strata_error *err)
{
	const struct strata_driver *drv = c->drv;
	struct sbuf sql = SBUF_INIT, fix = SBUF_INIT;
	int rc;

	const struct table_name *table = &ht->own;

	history_ddl(&sql, drv, ht);
	rc = drv->exec(c, sql.buf, err);
	if (rc < 0 && drv->create_failed &&
	    drv->create_failed(c, table, "history table", err) == 0)
		rc = 0;
	if (rc == 0 && has_tool(ht))
		rc = history_tool_ensure(c, ht, err);
	/* 3F000: the schema is missing, or none is on the search_path */
	if (rc < 0 && err && !strcmp(err->sqlstate, "3F000")) {
		if (table->schema) {
			sbuf_adds(&fix, "CREATE SCHEMA ");
			sbuf_add_ident(&fix, table->schema);
			strata_error_hint(
			        err,
			        "Create the schema first (%s;), or name another history table.",
			        fix.buf);
		} else {
			strata_error_hint(
			        err,
			        "Set a search_path, or qualify the history table with its schema.");
		}
		strata_error_reason(err, STRATA_REASON_HISTORY_TABLE, -1);
	}
	sbuf_release(&fix);
	sbuf_release(&sql);
	return rc;
}

/* ---- writing ------------------------------------------------------------ */

/*
 * sqlx writes booleans as true/false in PostgreSQL and 1/0 in SQLite: the
 * literals TRUE and FALSE are each of these in its dialect.
 */
static void add_insert(struct batch *b, const struct history_tables *ht,
                       const struct strata_migration *m, bool success,
                       int64_t execution_time, const char *elapsed,
                       int64_t *out, bool is_tool)
{
	const struct db_value v[] = {
		DBV_INT(m->version),
		DBV_TEXT(m->description),
		DBV_BYTES(m->checksum, STRATA_CHECKSUM_LEN),
		DBV_INT(execution_time),
	};
	struct sbuf sql = SBUF_INIT;
	char buf[24];

	/* a record of strata's the tool has reverted since */
	if (has_tool(ht)) {
		sbuf_addf(&sql, "DELETE FROM %s WHERE version = $1",
		          ht->own.quoted);
		batch_add_sql(b, sql.buf, 1, v);
		sbuf_reset(&sql);
	}
	sbuf_addf(
	        &sql,
	        "INSERT INTO %s (version, description, success, checksum, execution_time) VALUES ($1, $2, %s, $3, %s)",
	        ht->own.quoted, success ? "TRUE" : "FALSE",
	        elapsed ? elapsed : "$4");
	if (out)
		sbuf_adds(&sql, " RETURNING execution_time");
	batch_add_sql(b, sql.buf, ARRAY_SIZE(v) - (elapsed ? 1 : 0), v);
	if (out)
		batch_return_int(b, out);
	sbuf_release(&sql);
	if (!is_tool)
		return;
	if (has_tool(ht) && success)
		history_tool_add_applied(
		        b, ht, m->version,
		        version_text(m->version_text, m->version, buf),
		        execution_time);
	else if (has_tool(ht))
		history_tool_add_dirty(b, ht, m->version);
}

void history_add_insert(struct batch *b, const struct history_tables *ht,
                        const struct strata_migration *m, bool success,
                        int64_t execution_time)
{
	add_insert(b, ht, m, success, execution_time, NULL, NULL, true);
}

void history_add_insert_timed(struct batch *b, const struct history_tables *ht,
                              const struct strata_migration *m,
                              const char *elapsed_ns, int64_t *out)
{
	add_insert(b, ht, m, true, 0, elapsed_ns, out, true);
}

/*
 * `fmt` (%s: the table) changes version's row, $1, and returns it: no row
 * back is an error, a history changed behind strata's back.
 */
static void add_change(struct batch *b, const struct table_name *table,
                       const char *fmt, int64_t version,
                       const int64_t *execution_time)
{
	const struct db_value v[] = {
		DBV_INT(version),
		DBV_INT(execution_time ? *execution_time : 0),
	};
	struct sbuf sql = SBUF_INIT;

	sbuf_addf(&sql, fmt, table->quoted);
	sbuf_adds(&sql, " RETURNING version");
	batch_add_sql(b, sql.buf, execution_time ? 2 : 1, v);
	batch_expect_row(b,
	                 "no row for version %" PRId64 " in history table %s",
	                 version, table->quoted);
	sbuf_release(&sql);
}

void history_add_finish(struct batch *b, const struct history_tables *ht,
                        int64_t version, const char *text,
                        int64_t execution_time)
{
	char buf[24];

	add_change(
	        b, &ht->own,
	        "UPDATE %s SET success = TRUE, execution_time = $2 WHERE version = $1",
	        version, &execution_time);
	if (has_tool(ht))
		history_tool_add_applied(b, ht, version,
		                         version_text(text, version, buf),
		                         execution_time);
}

void history_add_set_failed(struct batch *b, const struct history_tables *ht,
                            const struct strata_migration *m)
{
	/* strata may hold no record of what the tool applied: a new one */
	if (has_tool(ht)) {
		history_add_insert(b, ht, m, false, -1);
		return;
	}
	add_change(b, &ht->own,
	           "UPDATE %s SET success = FALSE WHERE version = $1",
	           m->version, NULL);
}

void history_add_delete(struct batch *b, const struct history_tables *ht,
                        int64_t version, const char *text)
{
	const struct db_value v[] = { DBV_INT(version) };
	struct sbuf sql = SBUF_INIT;
	char buf[24];

	if (!has_tool(ht)) {
		add_change(b, &ht->own, "DELETE FROM %s WHERE version = $1",
		           version, NULL);
		return;
	}
	/* strata may hold no record of what the tool applied */
	sbuf_addf(&sql, "DELETE FROM %s WHERE version = $1", ht->own.quoted);
	batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
	sbuf_release(&sql);
	history_tool_add_removed(b, ht, version,
	                         version_text(text, version, buf));
}

void history_add_delete_timed(struct batch *b, const struct history_tables *ht,
                              int64_t version, const char *text,
                              const char *elapsed_ns, int64_t *out)
{
	const struct db_value v[] = { DBV_INT(version) };
	struct sbuf sql = SBUF_INIT;

	/* strata's row, which must be there, tells the time as it goes: one
	 * statement, not two */
	if (!has_tool(ht)) {
		sbuf_addf(&sql,
		          "DELETE FROM %s WHERE version = $1 RETURNING %s",
		          ht->own.quoted, elapsed_ns);
		batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
		batch_expect_row(
		        b, "no row for version %" PRId64 " in history table %s",
		        version, ht->own.quoted);
		batch_return_int(b, out);
		sbuf_release(&sql);
		return;
	}
	/* a tool's history may hold a row strata's does not: timed apart */
	sbuf_addf(&sql, "SELECT %s", elapsed_ns);
	batch_add_sql(b, sql.buf, 0, NULL);
	batch_return_int(b, out);
	sbuf_release(&sql);
	history_add_delete(b, ht, version, text);
}

/* `b` alone, now. */
static int run(struct strata_conn *c, struct batch *b, struct strata_error *err)
{
	int rc = c->drv->exec_batch(c, b, err);

	batch_release(b);
	return rc;
}

int history_insert(struct strata_conn *c, const struct history_tables *ht,
                   const struct strata_migration *m, bool success,
                   int64_t execution_time, struct strata_error *err)
{
	struct batch b = BATCH_INIT;

	history_add_insert(&b, ht, m, success, execution_time);
	return run(c, &b, err);
}

int history_insert_baselined(struct strata_conn *c,
                             const struct history_tables *ht,
                             const struct strata_migration *m,
                             struct strata_error *err)
{
	struct batch b = BATCH_INIT;

	add_insert(&b, ht, m, true, 0, NULL, NULL, false);
	return run(c, &b, err);
}

int history_baseline_marker(struct strata_conn *c,
                            const struct history_tables *ht,
                            const char *version_text, struct strata_error *err)
{
	struct batch b = BATCH_INIT;

	history_tool_add_baseline(&b, ht, version_text);
	return run(c, &b, err);
}

int history_finish(struct strata_conn *c, const struct history_tables *ht,
                   int64_t version, const char *text, int64_t execution_time,
                   struct strata_error *err)
{
	struct batch b = BATCH_INIT;

	history_add_finish(&b, ht, version, text, execution_time);
	return run(c, &b, err);
}

int history_set_failed(struct strata_conn *c, const struct history_tables *ht,
                       const struct strata_migration *m,
                       struct strata_error *err)
{
	struct batch b = BATCH_INIT;

	history_add_set_failed(&b, ht, m);
	return run(c, &b, err);
}

int history_delete(struct strata_conn *c, const struct history_tables *ht,
                   int64_t version, const char *text, struct strata_error *err)
{
	struct batch b = BATCH_INIT;

	history_add_delete(&b, ht, version, text);
	return run(c, &b, err);
}

/* ---- checks against the source ------------------------------------------ */

const char *history_row_version(const struct history_row *row,
                                const struct strata_migration *m,
                                char buf[static 24])
{
	if (m)
		return migration_version(m);
	return version_text(row->version_text, row->version, buf);
}

bool history_checksum_matches(const struct history_row *row,
                              const struct strata_migration *m)
{
	if (row->is_unverified)
		return true; /* nothing to compare with */
	if (row->checksum_len == 4) {
		/* Flyway's, big-endian */
		uint32_t crc = (uint32_t)row->checksum[0] << 24 |
		               (uint32_t)row->checksum[1] << 16 |
		               (uint32_t)row->checksum[2] << 8 |
		               row->checksum[3];

		return (int32_t)crc == m->flyway_checksum ||
		       (m->is_repeatable &&
		        (int32_t)crc == m->flyway_equivalent_checksum);
	}
	return row->checksum_len == STRATA_CHECKSUM_LEN &&
	       memcmp(row->checksum, m->checksum, STRATA_CHECKSUM_LEN) == 0;
}

/*
 * Whether the recorded checksum is that of the same text with LF endings
 * or without a UTF-8 BOM: the usual cause of a mismatch after a checkout
 * on another OS, worth saying so.
 */
bool history_is_whitespace_only_change(const struct history_row *row,
                                       const struct strata_migration *m)
{
	struct sbuf v = SBUF_INIT, file = SBUF_INIT;
	unsigned char sum[STRATA_CHECKSUM_LEN];
	const char *p = m->up_sql;
	size_t len = m->up_len;
	bool same = false;

	if (row->checksum_len != STRATA_CHECKSUM_LEN)
		return false;
	if (!p) {
		/* a checksums-only source (status, check) kept no text */
		if (sbuf_read_file(&file, m->up_path, SIZE_MAX - 1, NULL) < 0)
			return false;
		p = file.buf;
		len = file.len;
	}
	for (int variant = 0; variant < 4 && !same; variant++) {
		bool strip_bom = variant & 1, to_lf = variant & 2;
		size_t i = 0;

		if (!variant)
			continue;
		sbuf_reset(&v);
		if (strip_bom && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
			i = 3;
		else if (strip_bom)
			continue;
		for (; i < len; i++)
			if (!(to_lf && p[i] == '\r' && i + 1 < len &&
			      p[i + 1] == '\n'))
				sbuf_addch(&v, p[i]);
		strata_checksum(sum, v.buf, v.len);
		same = memcmp(sum, row->checksum, sizeof(sum)) == 0;
	}
	sbuf_release(&v);
	sbuf_release(&file);
	return same;
}

int history_mismatch_error(const struct history_row *row,
                           const struct strata_migration *m,
                           struct strata_error *err)
{
	struct sbuf d = SBUF_INIT;

	strata_error_set(err, STRATA_EVALIDATE,
	                 "migration %s was changed after it was applied",
	                 migration_version(m));
	err->file = xstrdup(m->up_path);
	if (row->checksum_len == 4) {
		/* Flyway's validate: "Migration checksum mismatch" */
		int32_t crc = (int32_t)((uint32_t)row->checksum[0] << 24 |
		                        (uint32_t)row->checksum[1] << 16 |
		                        (uint32_t)row->checksum[2] << 8 |
		                        row->checksum[3]);

		sbuf_addf(
		        &d,
		        "Flyway's checksum mismatch: applied to database %" PRId32
		        ", resolved locally %" PRId32 ".",
		        crc, m->flyway_checksum);
	} else {
		sbuf_adds(&d, "Applied checksum ");
		sbuf_add_hex(&d, row->checksum, row->checksum_len);
		sbuf_adds(&d, ", file checksum ");
		sbuf_add_hex(&d, m->checksum, STRATA_CHECKSUM_LEN);
		sbuf_addch(&d, '.');
	}
	if (history_is_whitespace_only_change(row, m))
		sbuf_adds(
		        &d,
		        " The only difference is line endings (CRLF) or a byte-order mark.");
	strata_error_detail(err, "%s", d.buf);
	sbuf_release(&d);
	strata_error_hint(
	        err,
	        "Restore the file as it was applied (for example with git) and put the change in a new migration; or, if the edit changes nothing that matters, accept its new checksum (a repair).");
	return strata_error_reason(err, STRATA_REASON_CHECKSUM, m->version);
}

/*
 * One history row against the source (design.md, History table: a failed
 * record, an edited or a vanished applied migration stop everything until a
 * human has looked).
 */
int history_check_row(const struct history_row *row,
                      const struct strata_source *src, bool is_ignore_missing,
                      struct strata_error *err)
{
	const struct strata_migration *m =
	        strata_source_find(src, row->version);
	char buf[24];

	if (!row->success) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "migration %s (%s) is recorded as failed: it may be partly applied",
		        history_row_version(row, m, buf), row->description);
		if (m)
			err->file = xstrdup(m->up_path);
		/* a batch migration's batches are committed, and its WHERE
		 * leaves them out: run resumes it */
		if (m && m->up_sql && plan_is_batch(m->up_sql, m->up_len)) {
			strata_error_detail(
			        err,
			        "It is a batch migration that stopped part way: the batches before it stopped are committed.");
			strata_error_hint(
			        err,
			        "Run again: it goes on where it stopped, its WHERE leaving the rows already done out.");
			return strata_error_reason(
			        err, STRATA_REASON_FAILED_RECORD, row->version);
		}
		strata_error_detail(
		        err,
		        "It ran outside a transaction and did not finish, so the database may hold part of its changes.");
		strata_error_hint(
		        err,
		        "Check what it changed. If you completed it by hand, mark it applied; if you undid it, retry it (a repair) and the next run applies it again.");
		return strata_error_reason(err, STRATA_REASON_FAILED_RECORD,
		                           row->version);
	}
	if (!m && !is_ignore_missing) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "migration %s (%s) was applied but is missing from '%s'",
		        history_row_version(row, m, buf), row->description,
		        strata_source_dir(src));
		strata_error_hint(
		        err,
		        "Restore its file, or ignore missing migrations if it was removed on purpose.");
		return strata_error_reason(err, STRATA_REASON_MISSING_APPLIED,
		                           row->version);
	}
	if (m && !history_checksum_matches(row, m))
		return history_mismatch_error(row, m, err);
	return 0;
}
