/*
 * Seeds (design.md, Seeds): data for development and test databases. A
 * seed file runs whole in one transaction under the migration lock, so
 * it never interleaves with a run, and is recorded in the audit trail,
 * not in the history: it is no version of the schema and may run again.
 */
#include "engine/migrate.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "sql/split.h"
#include "drivers/batch.h"
#include "drivers/driver.h"
#include "engine/audit.h"
#include "engine/checksum.h"
#include "engine/db.h"
#include "engine/plan.h"

#include <string.h>

/* What a seed's one transaction cannot hold, refused before it runs. */
static int check_seed(const struct plan_step *step, struct strata_error *err)
{
	const struct strata_script *s = &step->script;

	if (!s->is_parsed) {
		strata_error_set(err, STRATA_EVALIDATE, "%s",
		                 s->parse_error ? s->parse_error
		                                : "syntax error");
		error_set_location(err, step->path, step->sql, step->len,
		                   s->parse_error_at);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct strata_stmt *st = &s->stmts[i];
		const char *why =
		        st->flags & STMT_NO_TXN
		                ? "cannot run inside a transaction block, and a seed runs in one"
		        : st->flags & STMT_TXN_CONTROL
		                ? "would end the transaction the seed runs in"
		        : st->flags & STMT_COPY_STDIN
		                ? "needs a data stream strata does not send: write the rows as INSERT ... VALUES"
		                : NULL;

		if (!why)
			continue;
		strata_error_set(
		        err, STRATA_EVALIDATE, "%s %s",
		        stmt_what(st) ? stmt_what(st) : "this statement", why);
		error_set_location(err, step->path, step->sql, step->len,
		                   st->token_offset);
		err->statement = (int)i + 1;
		return -1;
	}
	return 0;
}

int strata_seed_check(struct strata_db *db, const char *path, const char *sql,
                      size_t len, struct strata_error *err)
{
	struct plan_step step = { .path = path, .sql = sql, .len = len };
	int rc = -1;

	if (db->drv->split(&step.script, sql, len, err) < 0)
		error_set_location(err, path, NULL, 0, 0);
	else
		rc = check_seed(&step, err);
	script_release(&step.script);
	return rc;
}

int strata_seed_run(struct strata_db *db, const char *path, const char *sql,
                    size_t len, struct strata_error *err)
{
	const struct strata_driver *drv = db->drv;
	struct plan_step step = { .path = path,
		                  .sql = sql,
		                  .len = len,
		                  .lock_timeout = -1,
		                  .statement_timeout = -1 };
	unsigned char sum[STRATA_CHECKSUM_LEN];
	struct batch b = BATCH_INIT;
	struct audit_entry e = { 0 };
	int rc = -1;

	if (checksum_load(err) < 0)
		return -1;
	if (drv->split(&step.script, sql, len, err) < 0) {
		error_set_location(err, path, NULL, 0, 0);
		goto done;
	}
	if (check_seed(&step, err) < 0 ||
	    drv->lock(db->conn, db->opts.lock_wait, err) < 0)
		goto done;
	strata_checksum(sum, sql, len);
	e.action = "seed";
	e.is_versionless = true;
	e.description = path;
	e.checksum = sum;
	e.is_success = true;
	e.started_at_ns = audit_now_ns();
	e.source_dir = db->source_dir;
	e.up_sql = sql;
	if (audit_ensure(db, err) < 0)
		goto unlock;
	batch_add_begin(&b);
	step_add_timeouts(&b, db, &step, true);
	batch_add_script(&b, &step.script, false);
	rc = db_exec_batch(db, &b, err);
	if (rc == 0) {
		/* the audit row says how long the statements took */
		audit_add_to(&b, db, &e);
		batch_add_commit(&b);
		rc = db_exec_batch(db, &b, err);
	}
	if (rc < 0) {
		drv->rollback(db->conn);
		if (!err->file)
			plan_locate_error(&step, err);
		e.is_success = false;
		e.error = err;
		e.up_sql = NULL;
		audit_add_quietly(db, &e);
	}
unlock:
	drv->unlock(db->conn);
done:
	batch_release(&b);
	script_release(&step.script);
	return rc;
}
