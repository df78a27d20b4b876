/*
 * Migrations sent many at a time where the driver pipelines (PostgreSQL),
 * each behind the one before, rather than one round trip each.
 *
 * run and revert --single-transaction: the run is one transaction, so the
 * server skips everything after a failed statement and the run rolls back
 * whole, as it does when the migrations go one at a time.
 *
 * A run of migrations each in its own transaction: each is BEGIN, its
 * statements, its rows, the lock's check and COMMIT, and the next follows
 * at once. After a failed statement the server skips everything up to the
 * batch's one Sync, the COMMITs and BEGINs after it too, so nothing after
 * a failed migration runs (the driver sends nothing more after a Sync that
 * failed); the ones before it are committed, as they would be one at a
 * time. A migration that lost a lock race is left to the caller to try
 * again on its own, with its backoff.
 *
 * Each migration's history and audit rows follow its statements, timed by
 * the server from a mark set just before them (the driver's mark_step),
 * since the client cannot tell when a migration sent ahead began. The
 * driver says when the server comes to each migration's statements (the
 * batch's on_script), which is when its start is announced and its
 * progress shown, and when each COMMIT is in (on_commit), which is when it
 * is said to be applied.
 */
#include "engine/migrate.h"
#include "engine/source.h"
#include "util/xalloc.h"
#include "util/cancel.h"
#include "drivers/batch.h"
#include "drivers/driver.h"
#include "engine/progress.h"

#include <stdlib.h>

/*
 * Steps and statements sent before their results are read: libpq keeps
 * each text until its result is in, and the chunk's rows are in the
 * batch. 512 steps a chunk peaked 1.5 MB above one step at a time for
 * 1,000 migrations; 128 peak as it did, and over a 10 ms network cost
 * one round trip per 128 migrations, no slower within the noise.
 */
#define CHUNK_STATEMENTS 1024
#define CHUNK_STEPS      128

struct sent_steps {
	struct strata_db *db;
	const struct plan *plan;
	bool is_down;
	bool is_own_txns;    /* each step its own transaction */
	int64_t *step_ns;    /* each step's time, as the server recorded it */
	int64_t *started_ns; /* wall clock, for a failure's audit row */
	size_t current;      /* 1-based: the step under way, 0 none */
	bool is_showing;     /* its progress started, not stopped */
	size_t committed;    /* is_own_txns: steps committed, in order */
};

static void step_begins(struct sent_steps *s, size_t tag)
{
	const struct plan_step *step = &s->plan->steps[tag - 1];

	s->current = tag;
	s->started_ns[tag - 1] = audit_now_ns();
	db_emit_migration(s->db,
	                  s->is_down ? STRATA_EVENT_REVERT_START
	                             : STRATA_EVENT_APPLY_START,
	                  step->m, 0);
	progress_start(s->db, step, s->is_down);
	s->is_showing = true;
}

static void step_ends(struct sent_steps *s)
{
	progress_stop(s->db, true);
	s->is_showing = false;
}

static void on_script(void *data, const struct batch_item *it, bool is_end)
{
	struct sent_steps *s = data;

	if (is_end)
		step_ends(s);
	else
		step_begins(s, it->tag);
}

/* A step in its own transaction committed: applied (or reverted), and
 * said so. */
static void on_commit(void *data, const struct batch_item *it)
{
	struct sent_steps *s = data;
	const struct plan_step *step = &s->plan->steps[it->tag - 1];

	if (it->tag != s->committed + 1)
		BUG("a transaction committed out of order");
	s->committed = it->tag;
	s->db->step_ns = s->step_ns[it->tag - 1];
	if (s->is_down)
		step_kept_reverted(s->db, step->m);
	else
		step_kept_applied(s->db, step->m);
	db_emit_migration(s->db,
	                  s->is_down ? STRATA_EVENT_REVERT_DONE
	                             : STRATA_EVENT_APPLY_DONE,
	                  step->m, s->db->step_ns);
}

/* A step's items, each tagged with its 1-based number: its timeouts, the
 * mark, its statements and its two rows (a revert's time read apart, its
 * history row deleted); in its own transaction, BEGIN before them and
 * the lock's check and COMMIT after. */
static void add_step(struct batch *b, struct sent_steps *s, size_t k)
{
	struct strata_db *db = s->db;
	const struct plan_step *step = &s->plan->steps[k];
	size_t first = b->n;

	if (s->is_own_txns)
		batch_add_begin(b);
	step_add_timeouts(b, db, step, true);
	batch_mark_step(b);
	batch_add_script(b, &step->script, false);
	step_add_timed_rows(b, db, step, s->is_down,
	                    db->drv->elapsed_since_mark, db->drv->marked_at,
	                    audit_now_ns(), &s->step_ns[k]);
	if (s->is_own_txns) {
		batch_add_lock_check(b);
		batch_add_commit(b);
	}
	for (size_t i = first; i < b->n; i++)
		b->items[i].tag = k + 1;
}

/*
 * The failure of item `failed_item` (1-based; 0: not known) of `b`,
 * recorded as a migration's own: -1, or 1 for a step in its own
 * transaction that lost a lock race, to try again on its own (nothing of
 * it committed).
 */
static int step_failed(struct sent_steps *s, const struct batch *b,
                       size_t failed_item, const struct plan_step **failed,
                       struct strata_error *err)
{
	const struct batch_item *it = failed_item && failed_item <= b->n
	                                      ? &b->items[failed_item - 1]
	                                      : NULL;
	/* in their own transactions, the results in order: the first not
	 * committed is the one that failed, whatever the item */
	size_t tag = s->is_own_txns  ? s->committed + 1
	             : it && it->tag ? it->tag
	                             : s->current;
	const struct plan_step *step =
	        tag ? &s->plan->steps[tag - 1] : &s->plan->steps[0];
	/* the session lost while a script ran, the item not told: that
	 * script's failure */
	bool is_script = it ? it->kind == BATCH_SCRIPT : s->is_showing;
	bool is_raced = s->is_own_txns && err && step_is_retryable(err) &&
	                !strata_is_cancelled();

	if (s->is_showing)
		progress_stop(s->db, false);
	s->is_showing = false;
	*failed = step;
	if (!is_script || !tag) {
		s->db->drv->rollback(s->db->conn);
		return is_raced ? 1 : -1;
	}
	step_fail(s->db, step, s->is_down ? "revert" : "apply",
	          s->started_ns[tag - 1], err);
	if (!err->hint && s->is_own_txns && !s->is_down)
		strata_error_hint(
		        err,
		        "Migration %s was rolled back: nothing of it was applied. Fix the file and run again.",
		        migration_version(step->m));
	else if (!err->hint && s->is_down && !s->is_own_txns)
		strata_error_hint(
		        err,
		        "The whole revert was rolled back (a single-transaction revert): nothing was reverted.");
	else if (!err->hint && !s->is_own_txns)
		strata_error_hint(
		        err,
		        "The whole run was rolled back (a single-transaction run): nothing was applied.");
	step_say_cancelled(step, "rolled back", err);
	return is_raced ? 1 : -1;
}

/*
 * Sends steps [*next, end) in batches of CHUNK_STEPS and CHUNK_STATEMENTS,
 * *next advanced past each batch that succeeded: 0, or step_failed()'s.
 */
static int send_steps(struct sent_steps *s, size_t *next, size_t end,
                      const struct plan_step **failed, struct strata_error *err)
{
	struct strata_db *db = s->db;
	const struct plan *plan = s->plan;
	struct batch b = BATCH_INIT;
	int rc = 0;

	if (!s->is_own_txns)
		batch_add_begin(&b);
	while (*next < end) {
		size_t first = *next, k = first, statements = 0;

		if (step_check_cancel(&plan->steps[first],
		                      s->is_down ? "reverting" : "applying",
		                      err) < 0 ||
		    (s->is_own_txns && step_check_lock(db, err) < 0)) {
			*failed = &plan->steps[first];
			batch_reset(&b);
			db->drv->rollback(db->conn);
			rc = -1;
			break;
		}
		while (k < end && k - first < CHUNK_STEPS &&
		       (k == first || statements + plan->steps[k].script.n <=
		                              CHUNK_STATEMENTS)) {
			/*
			 * A script of no statement gives the driver nothing
			 * to tell: begun and ended here, first of a chunk,
			 * once the ones before it have run
			 */
			if (!plan->steps[k].script.n && k != first)
				break;
			if (!plan->steps[k].script.n) {
				step_begins(s, k + 1);
				step_ends(s);
			}
			statements += plan->steps[k].script.n;
			add_step(&b, s, k);
			k++;
		}
		b.on_script = on_script;
		b.on_commit = s->is_own_txns ? on_commit : NULL;
		b.on_script_data = s;
		db->conn->failed_item = 0;
		rc = db->drv->exec_batch(db->conn, &b, err);
		if (rc < 0)
			rc = step_failed(s, &b, db->conn->failed_item, failed,
			                 err);
		batch_reset(&b);
		if (rc != 0)
			break;
		*next = k;
	}
	batch_release(&b);
	return rc;
}

int migrate_pipelined(struct strata_db *db, const struct plan *plan,
                      bool is_down, int64_t *step_ns,
                      const struct plan_step **failed, struct strata_error *err)
{
	struct sent_steps s = { .db = db, .plan = plan, .is_down = is_down };
	size_t next = 0;
	int rc;

	s.step_ns = step_ns;
	s.started_ns = xcalloc(plan->n ? plan->n : 1, sizeof(*s.started_ns));
	*failed = NULL;
	rc = send_steps(&s, &next, plan->n, failed, err);
	free(s.started_ns);
	return rc;
}

int migrate_pipelined_txns(struct strata_db *db, const struct plan *plan,
                           bool is_down, size_t *next, size_t *applied,
                           struct strata_error *err)
{
	struct sent_steps s = {
		.db = db, .plan = plan, .is_down = is_down, .is_own_txns = true
	};
	const struct plan_step *failed;
	size_t end = *next, from = *next;
	int rc;

	while (end < plan->n && plan->steps[end].mode == MODE_TXN)
		end++;
	s.step_ns = xcalloc(plan->n ? plan->n : 1, sizeof(*s.step_ns));
	s.started_ns = xcalloc(plan->n ? plan->n : 1, sizeof(*s.started_ns));
	s.committed = from;
	/* each one's first attempt, which probes for its locks as the
	 * first of step_with_retries() does */
	db->is_lock_probe = step_max_retries(db) > 0;
	rc = send_steps(&s, next, end, &failed, err);
	db->is_lock_probe = false;
	/* a batch that failed committed the steps before the failed one */
	*applied += s.committed - from;
	*next = s.committed;
	free(s.step_ns);
	free(s.started_ns);
	return rc;
}
