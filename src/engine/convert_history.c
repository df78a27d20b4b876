/*
 * strata convert's history (design.md, Converting to sqlx's layout): the
 * rows of what the tool applied, read as run reads them, copied into
 * `_sqlx_migrations` beside the tool's table with the new files'
 * checksums. The tool's table and strata's record beside it are read,
 * never written.
 */
#include "util/common.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/xalloc.h"
#include "drivers/driver.h"
#include "engine/source.h"
#include "engine/convert.h"
#include "engine/migrate.h"
#include "engine/audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Which rows of the tool's history to copy: every applied versioned
 * migration. A failed, edited or missing one is refused as run refuses
 * it; a repeatable's row goes with its file (is_skip_repeatables).
 */
static int pick_rows(struct copy **out, size_t *n_out, const struct history *h,
                     const struct strata_source *src,
                     const struct strata_convert_result *r,
                     const struct strata_migration **ms, const struct texts *t,
                     struct strata_error *err)
{
	struct sbuf missing = SBUF_INIT;
	size_t n_missing = 0;
	struct copy *c = xcalloc(h->n ? h->n : 1, sizeof(*c));
	size_t n = 0;
	char buf[24];

	for (size_t i = 0; i < h->n; i++) {
		const struct history_row *row = &h->rows[i];
		const struct strata_migration *m =
		        strata_source_find(src, row->version);

		if (history_is_repeatable(row->version))
			continue;
		if (!m && row->success) {
			sbuf_addf(&missing, "%s%s", n_missing++ ? ", " : "",
			          history_row_version(row, NULL, buf));
			continue;
		}
		if (history_check_row(row, src, false, err) < 0) {
			strata_error_hint(
			        err,
			        "Settle it with the old tool or strata repair first (the folder in its old layout), then convert.");
			goto fail;
		}
		for (size_t k = 0; k < r->n_files; k++)
			if (ms[k] == m) {
				c[n].row = row;
				c[n].file = k;
				strata_checksum(c[n].checksum, t[k].up.buf,
				                t[k].up.len);
				n++;
				break;
			}
	}
	if (n_missing) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "migration%s %s %s applied but %s missing from '%s'",
		        n_missing > 1 ? "s" : "", missing.buf,
		        n_missing > 1 ? "were" : "was",
		        n_missing > 1 ? "are" : "is", strata_source_dir(src));
		strata_error_hint(
		        err,
		        "Restore the files before converting: sqlx's history must have a file for each row.");
		goto fail;
	}
	sbuf_release(&missing);
	*out = c;
	*n_out = n;
	return 0;
fail:
	sbuf_release(&missing);
	free(c);
	return -1;
}

/* Rows of sqlx's table that say otherwise than the copy would: refused. */
static int compare_sqlx(size_t *n_same, bool *is_done, const struct history *s,
                        const struct copy *c, size_t n,
                        const struct strata_convert_result *r,
                        struct strata_error *err)
{
	struct sbuf bad = SBUF_INIT;
	size_t n_bad = 0;

	*n_same = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct history_row *row = &s->rows[i];
		const struct copy *match = NULL;

		for (size_t k = 0; k < n; k++)
			if (r->files[c[k].file].version == row->version)
				match = &c[k];
		if (match && row->success &&
		    row->checksum_len == STRATA_CHECKSUM_LEN &&
		    !memcmp(row->checksum, match->checksum,
		            STRATA_CHECKSUM_LEN)) {
			is_done[match - c] = true;
			(*n_same)++;
			continue;
		}
		sbuf_addf(&bad, "%s%" PRId64, n_bad++ ? ", " : "",
		          row->version);
	}
	if (!n_bad) {
		sbuf_release(&bad);
		return 0;
	}
	strata_error_set(
	        err, STRATA_EVALIDATE,
	        "sqlx's history table already holds %s of version%s %s",
	        n_bad > 1 ? "rows" : "a row", n_bad > 1 ? "s" : "", bad.buf);
	strata_error_detail(
	        err,
	        "They are not what the conversion would copy: another version, another checksum, or a failed record.");
	strata_error_hint(
	        err,
	        "Find out who wrote them; drop sqlx's table only if it is not in use, then convert again.");
	sbuf_release(&bad);
	return -1;
}

static void add_copy(struct batch *b, const struct table_name *t, bool is_pg,
                     const struct copy *c, const struct strata_convert_file *f,
                     const char *description)
{
	const struct history_row *row = c->row;
	const struct db_value v[] = {
		DBV_INT(f->version),
		DBV_TEXT(description),
		DBV_TEXT(*row->installed_on ? row->installed_on : NULL),
		DBV_BYTES(c->checksum, STRATA_CHECKSUM_LEN),
		DBV_INT(row->execution_time > 0 ? row->execution_time : 0),
	};
	struct sbuf sql = SBUF_INIT;

	/* installed_on as the tool's table has it (dbmate's and
	 * golang-migrate's have none: now), in sqlx's form for the column */
	sbuf_addf(&sql,
	          "INSERT INTO %s (version, description, installed_on, "
	          "success, checksum, execution_time) VALUES ($1, $2, %s, "
	          "TRUE, $4, $5)",
	          t->quoted,
	          is_pg ? "COALESCE(CAST($3 AS TIMESTAMPTZ), now())"
	                : "COALESCE(datetime($3), CURRENT_TIMESTAMP)");
	batch_add_sql(b, sql.buf, ARRAY_SIZE(v), v);
	sbuf_release(&sql);
}

/* sqlx's table: `_sqlx_migrations` in the tool's table's schema. */
static int sqlx_tables(struct history_tables *out, const struct strata_db *db,
                       struct strata_error *err)
{
	char *text = db->hist.tool.schema
	                     ? xstrfmt("%s.%s", db->hist.tool.schema,
	                               STRATA_DEFAULT_TABLE)
	                     : xstrdup(STRATA_DEFAULT_TABLE);
	int rc;

	memset(out, 0, sizeof(*out));
	out->layout = STRATA_LAYOUT_SQLX;
	rc = table_name_parse(&out->own, text, err);
	free(text);
	return rc;
}

int convert_history_read(struct convert *c, struct strata_db *db,
                         struct strata_error *err)
{
	struct strata_convert_result *out = c->out;

	if (history_read(db->conn, &db->hist, &c->h, err) < 0 ||
	    pick_rows(&c->copies, &c->n_copies, &c->h, c->src, out, c->ms, c->t,
	              err) < 0 ||
	    sqlx_tables(&c->st, db, err) < 0 ||
	    history_read(db->conn, &c->st, &c->sh, err) < 0)
		return -1;
	c->is_done = xcalloc(c->n_copies + 1, sizeof(*c->is_done));
	if (compare_sqlx(&out->n_same, c->is_done, &c->sh, c->copies,
	                 c->n_copies, out, err) < 0)
		return -1;
	out->copied = xcalloc(c->n_copies + 1, sizeof(*out->copied));
	for (size_t i = 0; i < c->n_copies; i++)
		if (!c->is_done[i])
			out->copied[out->n_copied++] =
			        out->files[c->copies[i].file].version;
	return 0;
}

int convert_history_copy(struct convert *c, struct strata_db *db,
                         struct strata_error *err)
{
	bool is_pg = db->drv->caps & DRV_PG_SQL;
	struct batch b = BATCH_INIT;
	char note[80];
	int rc = -1;

	snprintf(note, sizeof(note), "copied from %s's history into sqlx's",
	         strata_layout_name(c->layout));
	if (audit_ensure(db, err) < 0 || db_begin(db, err) < 0)
		return -1;
	if (history_ensure(db->conn, &c->st, err) < 0)
		goto done;
	for (size_t i = 0; i < c->n_copies; i++) {
		size_t k = c->copies[i].file;
		const struct strata_convert_file *f = &c->out->files[k];
		char version_text[24];
		struct audit_entry e = {
			.action = "convert",
			.version = f->version,
			/* sqlx's version, which the row is of: not the old
			 * layout's that the same number may be a key of */
			.version_text = version_text,
			.description = c->desc[k],
			.checksum = c->copies[i].checksum,
			.is_success = true,
			.source_dir = db->source_dir,
			.up_sql = c->t[k].up.buf,
			.down_sql = f->down_name ? c->t[k].down.buf : NULL,
			.note = note,
		};

		if (c->is_done[i])
			continue;
		snprintf(version_text, sizeof(version_text), "%" PRId64,
		         f->version);
		add_copy(&b, &c->st.own, is_pg, &c->copies[i], f, c->desc[k]);
		audit_add_to(&b, db, &e);
	}
	/* committed only while the lock stands */
	if (db_exec_batch(db, &b, err) < 0 || step_check_lock(db, err) < 0 ||
	    db_commit(db, err) < 0)
		goto done;
	rc = 0;
done:
	if (rc < 0)
		db->drv->rollback(db->conn);
	batch_release(&b);
	return rc;
}

void convert_history_release(struct convert *c)
{
	history_release(&c->h);
	history_release(&c->sh);
	history_tables_release(&c->st);
	free(c->copies);
	free(c->is_done);
	c->copies = NULL;
	c->is_done = NULL;
}
