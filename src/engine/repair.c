/*
 * The ways out of broken states (design.md, History table; Commands):
 * each takes the lock, checks the record is in the state the repair is
 * for, and commits the history change with its audit row. Nothing here
 * runs a migration's SQL.
 */
#include "util/common.h"
#include "util/sbuf.h"
#include "drivers/driver.h"
#include "engine/source.h"
#include "engine/history.h"
#include "engine/db.h"
#include "engine/audit.h"

#include <inttypes.h>

static int begin_locked(struct strata_db *db, struct history *h,
                        const struct strata_source *src,
                        struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;

	db->source_dir = src ? source_folder(src) : NULL;
	if ((src && db_bind_layout(db, src, err) < 0) ||
	    drv->lock(db->conn, db->opts.lock_wait, err) < 0 ||
	    history_ensure(db->conn, &db->hist, err) < 0 ||
	    audit_ensure(db, err) < 0 ||
	    history_read(db->conn, &db->hist, h, err) < 0)
		return -1;
	return db_begin(db, err);
}

static int finish(struct strata_db *db, int rc, struct strata_error *err)
{
	if (rc == 0 && db_commit(db, err) < 0)
		rc = -1;
	if (rc < 0)
		db->drv->rollback(db->conn);
	db->drv->unlock(db->conn);
	return rc;
}

static const char *state_of(const struct history_row *row,
                            const struct strata_migration *m)
{
	if (!row)
		return "not recorded (pending)";
	if (!row->success)
		return "recorded as failed";
	if (m && !history_checksum_matches(row, m))
		return "applied, changed since";
	return "applied";
}

static int wrong_state(int64_t version, const char *wanted,
                       const struct history_row *row,
                       const struct strata_migration *m,
                       struct strata_error *err)
{
	char buf[24];

	strata_error_set(
	        err, STRATA_EVALIDATE, "migration %s is %s, not %s",
	        row ? history_row_version(row, m, buf)
	        : m ? migration_version(m)
	            : (snprintf(buf, sizeof(buf), "%" PRId64, version), buf),
	        state_of(row, m), wanted);
	strata_error_hint(
	        err,
	        "The status (strata_status_get()) shows every migration's state.");
	return strata_error_reason(err, STRATA_REASON_SEE_STATUS, version);
}

/* The version as another tool's table writes it, when known. */
static const char *version_text_of(const struct history_row *row,
                                   const struct strata_migration *m)
{
	if (row && row->version_text)
		return row->version_text;
	return m ? m->version_text : NULL;
}

static int set_checksum(struct strata_db *db, int64_t version,
                        const unsigned char *sum, struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	const struct db_value params[] = { DBV_BYTES(sum, STRATA_CHECKSUM_LEN),
		                           DBV_INT(version) };
	int rc;

	sbuf_addf(&sql, "UPDATE %s SET checksum = $1 WHERE version = $2",
	          db->hist.own.quoted);
	rc = db->drv->query(db->conn, sql.buf, 2, params, NULL, err);
	sbuf_release(&sql);
	return rc;
}

int strata_repair(struct strata_repair_result *out, struct strata_db *db,
                  const struct strata_source *src, enum strata_repair_kind kind,
                  int64_t version, struct strata_error *err)
{
	const struct strata_migration *m = strata_source_find(
	        src, version = strata_source_version_key(src, version));
	const struct history_row *row;
	struct audit_entry e = { .version = version, .is_success = true };
	struct history h = { 0 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (version < 0) {
		/* a repeatable's name the source has no file of */
		strata_error_set(err, STRATA_EVALIDATE,
		                 "no migration of '%s' has that name",
		                 strata_source_dir(src));
		strata_error_hint(
		        err,
		        "The status (strata_status_get()) shows the versions, a Flyway repeatable's as R__NAME.");
		return strata_error_reason(err, STRATA_REASON_SEE_STATUS, -1);
	}
	if (begin_locked(db, &h, src, err) < 0)
		goto done;
	row = history_find(&h, version);
	e.description = row ? row->description : m ? m->description : NULL;
	e.source_dir = db->source_dir;
	if (row)
		memcpy(out->old_checksum, row->checksum,
		       row->checksum_len < STRATA_CHECKSUM_LEN
		               ? row->checksum_len
		               : STRATA_CHECKSUM_LEN);
	switch (kind) {
	case STRATA_REPAIR_MARK_APPLIED:
	case STRATA_REPAIR_RETRY:
		if (!row || row->success) {
			wrong_state(version, "recorded as failed", row, m, err);
			goto done;
		}
		e.action = "repair";
		e.checksum = row->checksum;
		if (kind == STRATA_REPAIR_MARK_APPLIED) {
			e.note =
			        "marked applied: its effect was completed by hand";
			rc = history_finish(db->conn, &db->hist, version,
			                    version_text_of(row, m),
			                    row->execution_time, err);
		} else {
			e.note =
			        "record removed: the next run applies it again";
			rc = history_delete(db->conn, &db->hist, version,
			                    version_text_of(row, m), err);
		}
		break;
	case STRATA_REPAIR_ACCEPT_CHECKSUM:
		if (!m) {
			strata_error_set(err, STRATA_EVALIDATE,
			                 "migration %" PRId64 " is not in '%s'",
			                 version, strata_source_dir(src));
			goto done;
		}
		if (!row || !row->success ||
		    !strcmp(state_of(row, m), "applied")) {
			wrong_state(version, "applied and changed since", row,
			            m, err);
			goto done;
		}
		memcpy(out->new_checksum, m->checksum, STRATA_CHECKSUM_LEN);
		{
			struct audit_texts t;

			audit_stored(&t, db, version);
			out->old_sql = t.up_sql;
			t.up_sql = NULL;
			audit_texts_release(&t);
		}
		e.action = "accept-checksum";
		e.checksum = m->checksum;
		e.up_sql = m->up_sql;
		e.down_sql = m->down_sql;
		e.note = "the edited file's checksum accepted";
		rc = set_checksum(db, version, m->checksum, err);
		break;
	}
	if (rc == 0)
		rc = audit_add(db, &e, err);
done:
	rc = finish(db, rc, err);
	if (rc < 0)
		source_name_version(src, err);
	history_release(&h);
	return rc;
}

void strata_repair_result_release(struct strata_repair_result *r)
{
	free(r->old_sql);
	memset(r, 0, sizeof(*r));
}

int strata_mark_applied(size_t *out_count, struct strata_db *db,
                        const struct strata_source *src, int64_t version,
                        bool is_baseline, struct strata_error *err)
{
	struct history h = { 0 };
	const char *marker = NULL;
	size_t count = 0;
	bool is_flyway;
	int rc = -1;

	*out_count = 0;
	version = strata_source_version_key(src, version);
	if (!is_baseline && !strata_source_find(src, version)) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "migration %" PRId64 " is not in '%s'",
		                 version, strata_source_dir(src));
		strata_error_hint(
		        err,
		        "The status (strata_status_get()) shows the versions.");
		return strata_error_reason(err, STRATA_REASON_SEE_STATUS,
		                           version);
	}
	if (begin_locked(db, &h, src, err) < 0)
		goto done;
	is_flyway = is_baseline && db->hist.layout == STRATA_LAYOUT_FLYWAY;
	if (is_flyway && h.n) {
		/* Flyway's getBaselineMarker() reads the first rows alone */
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "cannot baseline: %s already records migrations",
		        db->hist.tool.quoted);
		strata_error_detail(
		        err,
		        "Flyway writes its one BASELINE row into a history table that records no migration yet and refuses one that does: it reads a BASELINE row only before the others.");
		strata_error_hint(
		        err,
		        "Record the versions not yet recorded one by one with strata mark-applied VERSION.");
		goto done;
	}
	for (size_t i = 0; i < strata_source_count(src); i++) {
		const struct strata_migration *m = strata_source_at(src, i);
		const struct history_row *row = history_find(&h, m->version);
		struct audit_entry e = { 0 };

		if (m->version > version ||
		    (!is_baseline && m->version != version))
			continue;
		if (row && !is_baseline) {
			wrong_state(version, "pending", row, m, err);
			goto done;
		}
		if (row)
			continue;
		e.action = is_baseline ? "baseline" : "mark-applied";
		e.version = m->version;
		e.description = m->description;
		e.checksum = m->checksum;
		e.is_success = true;
		e.source_dir = db->source_dir;
		e.up_sql = m->up_sql;
		e.down_sql = m->down_sql;
		e.note = "recorded as applied without running it";
		/* execution_time 0: it did not run here */
		if ((is_flyway ? history_insert_baselined(db->conn, &db->hist,
		                                          m, err)
		               : history_insert(db->conn, &db->hist, m, true, 0,
		                                err)) < 0 ||
		    audit_add(db, &e, err) < 0)
			goto done;
		marker = m->version_text;
		count++;
	}
	if (is_flyway && marker &&
	    history_baseline_marker(db->conn, &db->hist, marker, err) < 0)
		goto done;
	rc = 0;
	*out_count = count;
done:
	rc = finish(db, rc, err);
	if (rc < 0) {
		*out_count = 0;
		source_name_version(src, err);
	}
	history_release(&h);
	return rc;
}
