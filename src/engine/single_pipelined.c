/*
 * run and revert --single-transaction where the driver pipelines
 * (PostgreSQL): the migrations are sent many at a time, each behind the one
 * before, rather than one round trip each. Nothing is lost by not waiting: the
 * run is one transaction, so the server skips everything after a failed
 * statement and the run rolls back whole, as it does when the migrations
 * go one at a time. Each migration's history and audit rows follow its
 * statements, as in a migration's own transaction, timed by the server
 * from a mark set just before it (the driver's mark_step), since the
 * client cannot tell when a migration sent ahead began. The driver says
 * when the server comes to each migration's statements (the batch's
 * on_script), which is when its start is announced and its progress shown.
 */
#include "engine/migrate.h"
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
	int64_t *started_ns; /* wall clock, for a failure's audit row */
	size_t current;      /* 1-based: the step under way, 0 none */
	bool is_showing;     /* its progress started, not stopped */
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

/* A step's items, each tagged with its 1-based number: its timeouts, the
 * mark, its statements and its two rows (a revert's time read apart, its
 * history row deleted). */
static void add_step(struct batch *b, struct strata_db *db,
                     const struct plan_step *step, bool is_down, size_t tag,
                     int64_t *recorded)
{
	size_t first = b->n;

	step_add_timeouts(b, db, step, true);
	batch_add_sql(b, db->drv->mark_step, 0, NULL);
	batch_mark_recurring(b);
	batch_add_script(b, &step->script, false);
	step_add_timed_rows(b, db, step, is_down, db->drv->elapsed_since_mark,
	                    db->drv->marked_at, audit_now_ns(), recorded);
	for (size_t i = first; i < b->n; i++)
		b->items[i].tag = tag;
}

/* The failure of item `failed_item` (1-based; 0: not known) of `b`. */
static void step_failed(struct sent_steps *s, const struct batch *b,
                        size_t failed_item, const struct plan_step **failed,
                        struct strata_error *err)
{
	const struct batch_item *it = failed_item && failed_item <= b->n
	                                      ? &b->items[failed_item - 1]
	                                      : NULL;
	size_t tag = it && it->tag ? it->tag : s->current;
	const struct plan_step *step =
	        tag ? &s->plan->steps[tag - 1] : &s->plan->steps[0];

	/* the session lost while a script ran, the item not told: that
	 * script's failure */
	bool is_script = it ? it->kind == BATCH_SCRIPT : s->is_showing;

	if (s->is_showing)
		progress_stop(s->db, false);
	s->is_showing = false;
	*failed = step;
	if (!is_script || !tag) {
		s->db->drv->rollback(s->db->conn);
		return;
	}
	step_fail(s->db, step, s->is_down ? "revert" : "apply",
	          s->started_ns[tag - 1], err);
	if (!err->hint && s->is_down)
		strata_error_hint(
		        err,
		        "The whole revert was rolled back (a single-transaction revert): nothing was reverted.");
	else if (!err->hint)
		strata_error_hint(
		        err,
		        "The whole run was rolled back (a single-transaction run): nothing was applied.");
	step_say_cancelled(step, "rolled back", err);
}

int migrate_pipelined(struct strata_db *db, const struct plan *plan,
                      bool is_down, int64_t *step_ns,
                      const struct plan_step **failed, struct strata_error *err)
{
	struct sent_steps s = { db, plan, is_down, NULL, 0, false };
	struct batch b = BATCH_INIT;
	size_t next = 0;
	int rc = 0;

	s.started_ns = xcalloc(plan->n ? plan->n : 1, sizeof(*s.started_ns));
	*failed = NULL;
	batch_add_begin(&b);
	while (next < plan->n) {
		size_t first = next, statements = 0;

		if (step_check_cancel(&plan->steps[next],
		                      is_down ? "reverting" : "applying",
		                      err) < 0) {
			*failed = &plan->steps[next];
			batch_reset(&b);
			db->drv->rollback(db->conn);
			rc = -1;
			break;
		}
		while (next < plan->n && next - first < CHUNK_STEPS &&
		       (next == first ||
		        statements + plan->steps[next].script.n <=
		                CHUNK_STATEMENTS)) {
			/*
			 * A script of no statement gives the driver nothing
			 * to tell: begun and ended here, first of a chunk,
			 * once the ones before it have run
			 */
			if (!plan->steps[next].script.n && next != first)
				break;
			if (!plan->steps[next].script.n) {
				step_begins(&s, next + 1);
				step_ends(&s);
			}
			statements += plan->steps[next].script.n;
			add_step(&b, db, &plan->steps[next], is_down, next + 1,
			         &step_ns[next]);
			next++;
		}
		b.on_script = on_script;
		b.on_script_data = &s;
		db->conn->failed_item = 0;
		rc = db->drv->exec_batch(db->conn, &b, err);
		if (rc < 0)
			step_failed(&s, &b, db->conn->failed_item, failed, err);
		batch_reset(&b);
		if (rc < 0)
			break;
	}
	batch_release(&b);
	free(s.started_ns);
	return rc;
}
