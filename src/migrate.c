/*
 * Running and reverting migrations (SPEC, "History table"): take the lock,
 * read the history after it, check the source against it, plan every
 * step, and only then execute. A transactional migration commits with its
 * history row; a non-transactional one is fenced by a `success = false`
 * row flipped when it ends. Dialect-specific SQL lives in the drivers.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void db_emit_migration(struct strata_db *db, enum strata_event_kind kind,
                       const struct strata_migration *m, int64_t duration_ns)
{
	struct strata_event ev = { .kind = kind };

	ev.migration = m;
	ev.version = m->version;
	ev.description = m->description;
	ev.duration_ns = duration_ns;
	db_emit(db, &ev);
}

static bool checksum_matches(const struct history_row *row,
                             const struct strata_migration *m)
{
	return row->checksum_len == STRATA_CHECKSUM_LEN &&
	       memcmp(row->checksum, m->checksum, STRATA_CHECKSUM_LEN) == 0;
}

/*
 * Whether the recorded checksum is that of the same text with LF endings
 * or without a UTF-8 BOM: the usual cause of a mismatch after a checkout
 * on another OS, worth saying so.
 */
static bool is_whitespace_only_change(const struct history_row *row,
                                      const struct strata_migration *m)
{
	struct sbuf v = SBUF_INIT;
	unsigned char sum[STRATA_CHECKSUM_LEN];
	const char *p = m->up_sql;
	size_t len = m->up_len;
	bool same = false;

	if (row->checksum_len != STRATA_CHECKSUM_LEN)
		return false;
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
	return same;
}

bool migrate_is_whitespace_only_change(const struct history_row *row,
                                       const struct strata_migration *m)
{
	return is_whitespace_only_change(row, m);
}

static int mismatch_error(const struct history_row *row,
                          const struct strata_migration *m,
                          struct strata_error *err)
{
	struct sbuf d = SBUF_INIT;

	strata_error_set(err, STRATA_EVALIDATE,
	                 "migration %" PRId64
	                 " was changed after it was applied",
	                 m->version);
	err->file = xstrdup(m->up_path);
	sbuf_adds(&d, "Applied checksum ");
	sbuf_add_hex(&d, row->checksum, row->checksum_len);
	sbuf_adds(&d, ", file checksum ");
	sbuf_add_hex(&d, m->checksum, STRATA_CHECKSUM_LEN);
	sbuf_addch(&d, '.');
	if (is_whitespace_only_change(row, m))
		sbuf_adds(
		        &d,
		        " The only difference is line endings (CRLF) or a byte-order mark.");
	strata_error_detail(err, "%s", d.buf);
	sbuf_release(&d);
	return strata_error_hint(
	        err,
	        "Restore the file as it was applied (for example with git), and put the change in a new migration.");
}

/*
 * One history row against the source (SPEC: a failed record, an edited or
 * a vanished applied migration stop everything until a human has looked).
 */
int migrate_check_row(const struct history_row *row,
                      const struct strata_source *src, bool is_ignore_missing,
                      struct strata_error *err)
{
	const struct strata_migration *m =
	        strata_source_find(src, row->version);

	if (!row->success) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "migration %" PRId64
		        " (%s) is recorded as failed: it may be partly applied",
		        row->version, row->description);
		if (m)
			err->file = xstrdup(m->up_path);
		strata_error_detail(
		        err,
		        "It ran outside a transaction and did not finish, so the database may hold part of its changes.");
		return strata_error_hint(
		        err,
		        "Check what it changed and complete or undo it by hand, then remove its record (DELETE FROM the history table WHERE version = %" PRId64
		        ") so that the next run applies it again.",
		        row->version);
	}
	if (!m && !is_ignore_missing) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "migration %" PRId64
		                 " (%s) was applied but is missing from '%s'",
		                 row->version, row->description,
		                 strata_source_dir(src));
		return strata_error_hint(
		        err,
		        "Restore its file, or pass --ignore-missing if it was removed on purpose.");
	}
	if (m && !checksum_matches(row, m))
		return mismatch_error(row, m, err);
	return 0;
}

static int check_failed(const struct history *h,
                        const struct strata_source *src,
                        struct strata_error *err)
{
	for (size_t i = 0; i < h->n; i++)
		if (!h->rows[i].success)
			return migrate_check_row(&h->rows[i], src, true, err);
	return 0;
}

static int check_history(const struct history *h,
                         const struct strata_source *src,
                         bool is_ignore_missing, struct strata_error *err)
{
	if (check_failed(h, src, err) < 0)
		return -1;
	for (size_t i = 0; i < h->n; i++)
		if (migrate_check_row(&h->rows[i], src, is_ignore_missing,
		                      err) < 0)
			return -1;
	return 0;
}

static int lock_and_read(struct strata_db *db, struct history *h,
                         bool is_create, struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;

	if (drv->lock(db->conn, db->opts.lock_wait, err) < 0)
		return -1;
	if (is_create && drv->history_ensure(db->conn, &db->table, err) < 0)
		return -1;
	/* SPEC: the history is read after the lock is taken. */
	return drv->history_read(db->conn, &db->table, h, err);
}

static void fail_step(struct strata_db *db, const struct plan_step *step,
                      struct strata_error *err)
{
	db->drv->rollback(db->conn);
	if (!err->file)
		plan_locate_error(step, err);
}

/* Whether a concurrent runner without an advisory lock (SQLite) got
 * there first: checked inside our write transaction. */
static int applied_meanwhile(bool *out, struct strata_db *db, int64_t version,
                             struct strata_error *err)
{
	*out = false;
	if (db->drv->caps & DRV_ADVISORY_LOCK)
		return 0;
	return db->drv->history_has(out, db->conn, &db->table, version, err);
}

static int apply_txn(struct strata_db *db, const struct plan_step *step,
                     bool is_own_begin, bool *is_skipped,
                     struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int64_t t0;

	*is_skipped = false;
	if (is_own_begin && drv->begin(db->conn, err) < 0)
		return -1;
	if (applied_meanwhile(is_skipped, db, step->m->version, err) < 0)
		goto fail;
	if (*is_skipped) {
		if (is_own_begin)
			drv->rollback(db->conn);
		return 0;
	}
	db_emit_migration(db, STRATA_EVENT_APPLY_START, step->m, 0);
	t0 = text_monotonic_ns();
	if (drv->exec_script(db->conn, &step->script, false, err) < 0) {
		fail_step(db, step, err);
		if (!err->hint && is_own_begin)
			strata_error_hint(
			        err,
			        "Migration %" PRId64
			        " was rolled back: nothing of it was applied. Fix the file and run again.",
			        step->m->version);
		else if (!err->hint)
			strata_error_hint(
			        err,
			        "The whole run was rolled back (--single-transaction): nothing was applied.");
		return -1;
	}
	if (drv->history_insert(db->conn, &db->table, step->m, true,
	                        text_monotonic_ns() - t0, err) < 0)
		goto fail;
	if (is_own_begin && drv->commit(db->conn, err) < 0)
		goto fail;
	return 0;
fail:
	drv->rollback(db->conn);
	return -1;
}

/* Non-transactional: the fence row first, committed on its own. */
static int apply_fenced(struct strata_db *db, const struct plan_step *step,
                        bool *is_skipped, struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int64_t t0;

	*is_skipped = false;
	if (drv->begin(db->conn, err) < 0)
		return -1;
	if (applied_meanwhile(is_skipped, db, step->m->version, err) < 0 ||
	    (!*is_skipped && drv->history_insert(db->conn, &db->table, step->m,
	                                         false, -1, err) < 0) ||
	    drv->commit(db->conn, err) < 0) {
		drv->rollback(db->conn);
		return -1;
	}
	if (*is_skipped)
		return 0;
	db_emit_migration(db, STRATA_EVENT_APPLY_START, step->m, 0);
	t0 = text_monotonic_ns();
	if (drv->exec_script(db->conn, &step->script, true, err) < 0) {
		fail_step(db, step, err);
		strata_error_hint(
		        err,
		        "Migration %" PRId64
		        " ran outside a transaction and is recorded as failed: statements before the failing one stay applied. Complete or undo them by hand, then remove its record so the next run applies it again.",
		        step->m->version);
		return -1;
	}
	return drv->history_finish(db->conn, &db->table, step->m->version,
	                           text_monotonic_ns() - t0, err);
}

static int collect_pending(struct plan *plan, struct strata_db *db,
                           const struct strata_source *src,
                           const struct history *h,
                           const struct strata_run_options *opts,
                           struct strata_error *err)
{
	int64_t newest = h->n ? h->rows[h->n - 1].version : 0;

	for (size_t i = 0; i < strata_source_count(src); i++) {
		const struct strata_migration *m = strata_source_at(src, i);

		if (history_find(h, m->version))
			continue;
		if (opts->has_target && m->version > opts->target_version)
			break;
		if (m->version < newest) {
			if (opts->is_strict_order) {
				strata_error_set(
				        err, STRATA_EVALIDATE,
				        "migration %" PRId64
				        " is older than the newest applied one (%" PRId64
				        ")",
				        m->version, newest);
				err->file = xstrdup(m->up_path);
				return strata_error_hint(
				        err,
				        "Give it a version above %" PRId64
				        ", or run without --strict-order to apply it out of order.",
				        newest);
			}
			db_emit_warning(
			        db, m,
			        "migration %" PRId64
			        " is applied out of order (the newest applied is %" PRId64
			        ")",
			        m->version, newest);
		}
		if (plan_add(plan, db, m, false, opts->is_single_transaction,
		             err) < 0)
			return -1;
	}
	return 0;
}

int strata_migrate_run(struct strata_run_result *out, struct strata_db *db,
                       const struct strata_source *src,
                       const struct strata_run_options *opts,
                       struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	struct strata_run_result res = { 0 };
	struct history h = { 0 };
	struct plan plan = { 0 };
	bool in_single = false;
	int rc = -1;

	if (opts->has_target && opts->target_version < 0) {
		strata_error_set(err, STRATA_EUSAGE, "invalid target version");
		goto done;
	}
	if (lock_and_read(db, &h, !opts->is_dry_run, err) < 0 ||
	    check_history(&h, src, opts->is_ignore_missing, err) < 0 ||
	    collect_pending(&plan, db, src, &h, opts, err) < 0 ||
	    lint_plan(db, &plan, opts, err) < 0)
		goto done;
	if (opts->is_dry_run) {
		for (size_t i = 0; i < plan.n; i++)
			db_emit_migration(db, STRATA_EVENT_DRY_RUN_APPLY,
			                  plan.steps[i].m, 0);
		res.applied = plan.n;
		rc = 0;
		goto done;
	}
	if (opts->is_single_transaction && plan.n) {
		if (drv->begin(db->conn, err) < 0)
			goto done;
		in_single = true;
	}
	for (size_t i = 0; i < plan.n; i++) {
		const struct plan_step *step = &plan.steps[i];
		int64_t t0 = text_monotonic_ns();
		bool is_skipped;

		if (step->mode == MODE_TXN) {
			if (apply_txn(db, step, !in_single, &is_skipped, err) <
			    0)
				goto done;
		} else if (apply_fenced(db, step, &is_skipped, err) < 0) {
			goto done;
		}
		if (is_skipped) {
			db_emit_migration(db, STRATA_EVENT_APPLY_SKIP, step->m,
			                  0);
			res.skipped++;
			continue;
		}
		res.applied++;
		if (!in_single)
			db_emit_migration(db, STRATA_EVENT_APPLY_DONE, step->m,
			                  text_monotonic_ns() - t0);
	}
	if (in_single) {
		if (drv->commit(db->conn, err) < 0)
			goto done;
		in_single = false;
		for (size_t i = 0; i < plan.n; i++)
			db_emit_migration(db, STRATA_EVENT_APPLY_DONE,
			                  plan.steps[i].m, 0);
	}
	rc = 0;
done:
	if (in_single)
		drv->rollback(db->conn);
	drv->unlock(db->conn);
	if (out)
		*out = res;
	plan_release(&plan);
	history_release(&h);
	return rc;
}

/* ---- revert ---------------------------------------------------------- */

static int check_revertible(const struct history_row *row,
                            const struct strata_source *src,
                            const struct strata_migration **out,
                            struct strata_error *err)
{
	const struct strata_migration *m =
	        strata_source_find(src, row->version);

	if (!m) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "cannot revert migration %" PRId64
		                 " (%s): it is missing from '%s'",
		                 row->version, row->description,
		                 strata_source_dir(src));
		return strata_error_hint(err, "Restore its files first.");
	}
	if (!checksum_matches(row, m))
		return mismatch_error(row, m, err);
	if (!m->down_path) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "cannot revert migration %" PRId64
		                 " (%s): it has no down file",
		                 m->version, m->description);
		err->file = xstrdup(m->up_path);
		return strata_error_hint(
		        err,
		        "Add %" PRId64
		        "_<description>.down.sql beside it with the SQL that undoes it, or write a new migration that does.",
		        m->version);
	}
	*out = m;
	return 0;
}

static int revert_one(struct strata_db *db, const struct plan_step *step,
                      bool *is_skipped, struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	int64_t v = step->m->version;
	bool has = true;

	*is_skipped = false;
	if (drv->begin(db->conn, err) < 0)
		return -1;
	if (!(drv->caps & DRV_ADVISORY_LOCK) &&
	    drv->history_has(&has, db->conn, &db->table, v, err) < 0)
		goto fail;
	if (!has) {
		*is_skipped = true;
		drv->rollback(db->conn);
		return 0;
	}
	db_emit_migration(db, STRATA_EVENT_REVERT_START, step->m, 0);
	if (step->mode == MODE_TXN) {
		if (drv->exec_script(db->conn, &step->script, false, err) < 0) {
			fail_step(db, step, err);
			return -1;
		}
		if (drv->history_delete(db->conn, &db->table, v, err) < 0 ||
		    drv->commit(db->conn, err) < 0)
			goto fail;
		return 0;
	}
	/* Fenced: marked failed while the down file runs outside a txn. */
	if (drv->history_set_failed(db->conn, &db->table, v, err) < 0 ||
	    drv->commit(db->conn, err) < 0)
		goto fail;
	if (drv->exec_script(db->conn, &step->script, true, err) < 0) {
		fail_step(db, step, err);
		strata_error_hint(
		        err,
		        "The down file of migration %" PRId64
		        " ran outside a transaction and its record is now marked failed. Complete or undo its statements by hand, then fix the record.",
		        v);
		return -1;
	}
	return drv->history_delete(db->conn, &db->table, v, err);
fail:
	drv->rollback(db->conn);
	return -1;
}

int strata_migrate_revert(size_t *out_reverted, struct strata_db *db,
                          const struct strata_source *src,
                          const struct strata_revert_options *opts,
                          struct strata_error *err)
{
	struct history h = { 0 };
	struct plan plan = { 0 };
	size_t count = opts->count ? opts->count : 1, reverted = 0;
	int rc = -1;

	if (lock_and_read(db, &h, false, err) < 0 ||
	    check_failed(&h, src, err) < 0)
		goto done;
	for (size_t i = h.n; i-- > 0;) {
		const struct history_row *row = &h.rows[i];
		const struct strata_migration *m = NULL;

		if (opts->is_all || opts->has_target) {
			if (!opts->is_all &&
			    row->version <= opts->target_version)
				break;
		} else if (plan.n >= count) {
			break;
		}
		if (check_revertible(row, src, &m, err) < 0 ||
		    plan_add(&plan, db, m, true, false, err) < 0)
			goto done;
	}
	for (size_t i = 0; i < plan.n; i++) {
		const struct plan_step *step = &plan.steps[i];
		int64_t t0 = text_monotonic_ns();
		bool is_skipped = false;

		if (opts->is_dry_run) {
			db_emit_migration(db, STRATA_EVENT_DRY_RUN_REVERT,
			                  step->m, 0);
			reverted++;
			continue;
		}
		if (revert_one(db, step, &is_skipped, err) < 0)
			goto done;
		if (is_skipped)
			continue;
		reverted++;
		db_emit_migration(db, STRATA_EVENT_REVERT_DONE, step->m,
		                  text_monotonic_ns() - t0);
	}
	rc = 0;
done:
	db->drv->unlock(db->conn);
	if (out_reverted)
		*out_reverted = reverted;
	plan_release(&plan);
	history_release(&h);
	return rc;
}
