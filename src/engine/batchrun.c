/*
 * Batch migrations (`-- strata:batch`, design.md, Batch migrations): one
 * UPDATE, DELETE or INSERT ... SELECT bounded by LIMIT :batch_size, run
 * again and again, each run its own short transaction, until it changes
 * no row. Row locks are held for one batch at a time; the size follows a
 * time goal; a standby's replay lag (max-lag) and the server's own load
 * (max-active) are waited out. The fence row is the
 * caller's (fenced_apply()): a kill leaves it failed, and the next run
 * goes on where this one stopped, the statement's own WHERE leaving the
 * done rows out.
 */
#include "engine/migrate.h"
#include "engine/source.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/text.h"
#include "sql/split.h"
#include "drivers/driver.h"
#include "engine/progress.h"
#include "engine/db.h"
#include "engine/plan.h"
#include "engine/replica.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE   1000
#define DEFAULT_TARGET 0.2 /* seconds a batch should take */
#define MAX_SIZE       INT64_C(10000000)
#define NS_PER_S       1e9
/* how often a standby's lag or the load is looked at again while too
 * high */
#define LAG_POLL_S 0.5
/* how long a given standby that stopped answering is waited for, when
 * no statement timeout says */
#define LOST_WAIT_S 300

struct run {
	struct strata_db *db;
	const struct plan_step *step;
	struct sbuf stmt; /* the statement, $1 its size */
	int64_t size;     /* the next batch's */
	int64_t total;    /* the rows to do when it started; < 0: unknown */
	int64_t start_ns; /* monotonic */
	double target;    /* seconds */
	struct batch_stats stats;
	bool is_hidden_said; /* max-active's sessions it cannot see */
};

static int64_t first_int(const struct db_rows *rows)
{
	const char *v =
	        rows->n_rows && rows->n_cols ? db_rows_get(rows, 0, 0) : NULL;

	return v ? strtoll(v, NULL, 10) : -1;
}

/*
 * The rows to do: the directive's total= query, else the planner's
 * estimate of the statement's rows with no bound (EXPLAIN, which runs
 * nothing). Best effort: -1 when neither says.
 */
static int64_t rows_to_do(struct run *r)
{
	struct strata_db *db = r->db;
	struct db_rows rows = { 0 };
	struct sbuf sql = SBUF_INIT;
	struct db_value v = DBV_INT(INT64_MAX);
	int64_t n = -1;

	if (r->step->batch.total) {
		struct strata_error e = STRATA_ERROR_INIT;

		if (db->drv->query(db->conn, r->step->batch.total, 0, NULL,
		                   &rows, &e) == 0)
			n = first_int(&rows);
		else
			db_emit_warning(
			        db, r->step->m,
			        "batch migration '%s': its total= query failed (%s); progress is shown without a percent",
			        r->step->path, e.message);
		strata_error_release(&e);
		goto done;
	}
	sbuf_addf(&sql, "EXPLAIN %s", r->stmt.buf);
	/* the first node that returns rows: the table being changed says
	 * rows=0 (it returns none), the plan feeding it how many it gets */
	if (db->drv->query(db->conn, sql.buf, 1, &v, &rows, NULL) == 0) {
		for (size_t i = 0; i < rows.n_rows && n <= 0; i++) {
			const char *line = db_rows_get(&rows, i, 0);
			const char *at = line ? strstr(line, " rows=") : NULL;

			if (at)
				n = strtoll(at + 6, NULL, 10);
		}
	}
done:
	db_rows_release(&rows);
	sbuf_release(&sql);
	return n;
}

static void add_count(struct sbuf *sb, int64_t n)
{
	char digits[32];
	size_t len = (size_t)snprintf(digits, sizeof(digits), "%" PRId64, n);

	/* 1,234,567: a count read at a glance */
	for (size_t i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0 && digits[i - 1] != '-')
			sbuf_addch(sb, ',');
		sbuf_addch(sb, digits[i]);
	}
}

static void add_duration(struct sbuf *sb, double s)
{
	if (s < 60)
		sbuf_addf(sb, "%.0f s", s < 1 ? 1 : s);
	else if (s < 3600)
		sbuf_addf(sb, "%dm %02ds", (int)s / 60, (int)s % 60);
	else
		sbuf_addf(sb, "%dh %02dm", (int)s / 3600, (int)s % 3600 / 60);
}

/* "batch 12: 120,000 rows, 41,000 rows/s, size 8,000, about 30 s left,
 * done" as the progress's phase, with its percent when the total is
 * known; `waiting`, when not NULL, says why it waits. */
static void say(struct run *r, const char *waiting)
{
	struct sbuf sb = SBUF_INIT;
	double s = (double)(text_monotonic_ns() - r->start_ns) / NS_PER_S;
	double rate = s > 0 ? (double)r->stats.rows / s : 0;
	int percent = -1;

	sbuf_addf(&sb, "batch %" PRId64 ": ", r->stats.batches);
	add_count(&sb, r->stats.rows);
	sbuf_adds(&sb, " rows, ");
	add_count(&sb, (int64_t)rate);
	sbuf_adds(&sb, " rows/s, size ");
	add_count(&sb, r->size);
	/* an estimate already passed says nothing more */
	if (r->total > 0 && r->stats.rows <= r->total) {
		int64_t left = r->total - r->stats.rows;

		percent = (int)(100 * r->stats.rows / r->total);
		if (percent > 99)
			percent = 99;
		if (left > 0 && rate > 0) {
			sbuf_adds(&sb, ", about ");
			add_duration(&sb, (double)left / rate);
			sbuf_adds(&sb, " left");
		}
	}
	if (waiting)
		sbuf_addf(&sb, ", waiting: %s", waiting);
	/* the live line puts the percent after the phase: "..., done 45%" */
	if (percent >= 0)
		sbuf_adds(&sb, ", done");
	progress_batch(r->db->conn, sb.buf, percent);
	sbuf_release(&sb);
}

/*
 * The replay lag of the most lagging standby, in seconds (0: none, or
 * none streaming): pg_stat_replication's replay_lag on this primary,
 * which grows while a standby's replay stands still and WAL reaches it.
 */
static int replica_lag(double *out, struct strata_db *db,
                       struct strata_error *err)
{
	static const char sql[] =
	        "SELECT coalesce(max(extract(epoch FROM replay_lag)), 0) FROM pg_catalog.pg_stat_replication";
	struct db_rows rows = { 0 };
	int rc = db->drv->query(db->conn, sql, 0, NULL, &rows, err);

	*out = 0;
	if (rc == 0 && rows.n_rows && db_rows_get(&rows, 0, 0))
		*out = strtod(db_rows_get(&rows, 0, 0), NULL);
	db_rows_release(&rows);
	return rc;
}

/* what holds the next batch back, each said once as a warning */
enum hold {
	HOLD_NONE = 0,
	HOLD_LAG = 1,  /* a standby lags more than max-lag */
	HOLD_LOST = 2, /* a standby given does not answer */
	HOLD_LOAD = 4, /* more sessions are active than max-active */
};

/*
 * Why the standbys given to the run hold the next batch, into `why` (left
 * empty when none does): the one lost longest, else the one furthest
 * behind. A standby lost longer than the statement timeout (else
 * LOST_WAIT_S) stops the batches: going on unthrottled would be what
 * max-lag is there to prevent.
 */
static int replicas_hold(struct sbuf *why, enum hold *kind, struct run *r,
                         struct strata_error *err)
{
	struct replicas_look look;
	int64_t statement_ms = step_timeout_ms(
	        r->step->statement_timeout, r->db->opts.statement_timeout, -1);
	double bound =
	        statement_ms > 0 ? (double)statement_ms / 1000 : LOST_WAIT_S;
	double lost_for;

	if (replicas_look(&look, r->db->replicas, err) < 0)
		return -1;
	if (look.lost) {
		lost_for = (double)(text_monotonic_ns() - look.lost->lost_ns) /
		           NS_PER_S;
		if (lost_for > bound) {
			strata_error_set(
			        err, STRATA_EFAILED,
			        "replica '%s' has not answered for %.0f s: %s",
			        look.lost->url.redacted, lost_for,
			        look.lost->why);
			return strata_error_detail(
			        err,
			        "Its replay lag cannot be told, so no batch ran after it stopped answering; a standby is waited for up to the statement timeout, or %d minutes without one.",
			        LOST_WAIT_S / 60);
		}
		*kind = HOLD_LOST;
		sbuf_addf(
		        why,
		        "replica '%s' does not answer (%s), for %.0f s of at most %.0f s",
		        look.lost->url.redacted, look.lost->why, lost_for,
		        bound);
	} else if (look.behind && look.lag > r->step->batch.max_lag) {
		*kind = HOLD_LAG;
		sbuf_addf(why,
		          "replica '%s' is %.1f s behind, above max-lag %g s",
		          look.behind->url.redacted, look.lag,
		          r->step->batch.max_lag);
	}
	return 0;
}

/* Why the primary's standbys hold the next batch, as pg_stat_replication
 * tells. */
static int primary_hold(struct sbuf *why, enum hold *kind, struct run *r,
                        struct strata_error *err)
{
	double lag;

	if (replica_lag(&lag, r->db, err) < 0)
		return -1;
	if (lag > r->step->batch.max_lag) {
		*kind = HOLD_LAG;
		sbuf_addf(
		        why,
		        "a standby's replay lag is %.1f s, above max-lag %g s",
		        lag, r->step->batch.max_lag);
	}
	return 0;
}

/*
 * Why the primary's own load holds the next batch: more client sessions
 * than max-active running a query (pg_stat_activity's state 'active',
 * this one left out), the measure gh-ost and pt-online-schema-change
 * throttle on as Threads_running. Sessions of roles whose state this one
 * may not read (without pg_read_all_stats: a role's, but no state and no
 * backend type) cannot be counted: said once.
 */
static int load_hold(struct sbuf *why, enum hold *kind, struct run *r,
                     struct strata_error *err)
{
	static const char sql[] =
	        "SELECT count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'active'), count(*) FILTER (WHERE backend_type IS NULL AND usesysid IS NOT NULL) FROM pg_catalog.pg_stat_activity WHERE pid <> pg_catalog.pg_backend_pid()";
	struct db_rows rows = { 0 };
	int64_t active, hidden;

	if (r->db->drv->query(r->db->conn, sql, 0, NULL, &rows, err) < 0)
		return -1;
	active = rows.n_rows && db_rows_get(&rows, 0, 0)
	                 ? strtoll(db_rows_get(&rows, 0, 0), NULL, 10)
	                 : 0;
	hidden = rows.n_rows && db_rows_get(&rows, 0, 1)
	                 ? strtoll(db_rows_get(&rows, 0, 1), NULL, 10)
	                 : 0;
	db_rows_release(&rows);
	if (hidden && !r->is_hidden_said) {
		r->is_hidden_said = true;
		db_emit_warning(
		        r->db, r->step->m,
		        "batch migration %s: max-active cannot see whether %" PRId64
		        " sessions of other roles run a query, and counts only those it sees (grant this role pg_read_all_stats to count them all)",
		        migration_version(r->step->m), hidden);
	}
	if (active > r->step->batch.max_active) {
		*kind = HOLD_LOAD;
		sbuf_addf(
		        why,
		        "%" PRId64
		        " other sessions are running a query, above max-active %" PRId64,
		        active, r->step->batch.max_active);
	}
	return 0;
}

/* While a standby lags more than max-lag, or the server is busier than
 * max-active: waits, saying so (again when the reason changes, as from
 * lagging to not answering). */
static int wait_for_room(struct run *r, struct strata_error *err)
{
	const struct batch_opts *o = &r->step->batch;
	struct sbuf why = SBUF_INIT;
	unsigned said = HOLD_NONE;
	int rc = -1;

	if (o->max_lag <= 0 && o->max_active <= 0)
		return 0;
	for (;;) {
		enum hold kind = HOLD_NONE;

		sbuf_reset(&why);
		if (o->max_lag > 0 &&
		    (r->db->replicas ? replicas_hold(&why, &kind, r, err)
		                     : primary_hold(&why, &kind, r, err)) < 0)
			goto done;
		if (!why.len && o->max_active > 0 &&
		    load_hold(&why, &kind, r, err) < 0)
			goto done;
		if (!why.len)
			break;
		if (!(said & kind))
			db_emit_warning(r->db, r->step->m,
			                "batch migration %s waits: %s",
			                migration_version(r->step->m), why.buf);
		said |= kind;
		say(r, why.buf);
		step_sleep(LAG_POLL_S);
		if (cancel_check(err) < 0)
			goto done;
	}
	if (said)
		say(r, NULL);
	rc = 0;
done:
	sbuf_release(&why);
	return rc;
}

/*
 * The next size: towards the time goal, at most twice or half this one
 * at a time; halved when a session blocked the batch (its row locks
 * queue others behind it). A batch short of rows (the last) says nothing
 * of the time a whole one takes, unless it was slow.
 */
static void adapt(struct run *r, int64_t rows, double took, bool was_blocked)
{
	double f;

	if (was_blocked) {
		f = 0.5;
	} else if (rows < r->size && took <= r->target) {
		return;
	} else {
		f = 0.9 * r->target / (took > 1e-4 ? took : 1e-4);
		f = f > 2 ? 2 : f < 0.5 ? 0.5 : f;
	}
	r->size = (int64_t)((double)r->size * f);
	if (r->size < 1)
		r->size = 1;
	if (r->size > MAX_SIZE)
		r->size = MAX_SIZE;
}

static void run_init(struct run *r, struct strata_db *db,
                     const struct plan_step *step)
{
	memset(r, 0, sizeof(*r));
	r->db = db;
	r->step = step;
	script_stmt_text(&r->stmt, &step->script, 0);
	r->size = step->batch.size > 0 ? step->batch.size : DEFAULT_SIZE;
	r->target =
	        step->batch.target > 0 ? step->batch.target : DEFAULT_TARGET;
	r->start_ns = text_monotonic_ns();
	r->total = -1;
}

/* BEGIN and the batch's timeouts; the statement; the rows it changed. */
static int one_batch(int64_t *rows, bool *was_blocked, double *took,
                     struct run *r, int64_t lock_ms, struct strata_error *err)
{
	struct strata_db *db = r->db;
	int64_t statement_ms = step_timeout_ms(r->step->statement_timeout,
	                                       db->opts.statement_timeout, -1);
	struct batch b = BATCH_INIT;
	int64_t t0;
	int rc;

	batch_add_begin(&b);
	batch_add_timeouts(&b, lock_ms, statement_ms, true);
	rc = db_exec_batch(db, &b, err);
	batch_release(&b);
	if (rc < 0)
		return -1;
	t0 = text_monotonic_ns();
	rc = db->drv->exec_rows(db->conn, r->stmt.buf, r->size, rows,
	                        was_blocked, err);
	*took = (double)(text_monotonic_ns() - t0) / NS_PER_S;
	if (rc < 0)
		err->statement = 1;
	return rc;
}

int batchrun_exec(struct batch_stats *out, struct strata_db *db,
                  const struct plan_step *step, int64_t started_at_ns,
                  struct strata_error *err)
{
	int max = step_max_retries(db);
	uint64_t seed = step_retry_seed();
	int64_t lock_ms =
	        step_timeout_ms(step->lock_timeout, db->opts.lock_timeout,
	                        DEFAULT_LOCK_TIMEOUT);
	int64_t probe_ms =
	        step_timeout_ms(-1, db->opts.lock_probe, DEFAULT_LOCK_PROBE);
	struct run r;
	int rc = -1;

	run_init(&r, db, step);
	progress_start(db, step, false);
	progress_statement(db->conn, 1);
	r.total = rows_to_do(&r);
	if (db->replicas && step->batch.max_lag <= 0)
		db_emit_warning(
		        db, step->m,
		        "batch migration %s sets no max-lag: it does not wait for the replicas given",
		        migration_version(step->m));
	say(&r, NULL);
	for (int attempt = 1;;) {
		int64_t rows = 0;
		bool was_blocked = false;
		double took = 0;
		/* a batch that will be retried only probes for its locks */
		int64_t ms = attempt <= max && probe_ms && lock_ms > probe_ms
		                     ? probe_ms
		                     : lock_ms;

		if (cancel_check(err) < 0 || step_check_lock(db, err) < 0 ||
		    wait_for_room(&r, err) < 0)
			goto done;
		if (one_batch(&rows, &was_blocked, &took, &r, ms, err) < 0) {
			struct sbuf what = SBUF_INIT;

			if (!step_is_retryable(err) || strata_is_cancelled() ||
			    attempt > max) {
				if (step_is_retryable(err) &&
				    !strata_is_cancelled()) {
					err->code = STRATA_ELOCK;
					if (max)
						error_prefix(
						        err,
						        "migration %s gave up after %d attempts at batch %" PRId64,
						        migration_version(
						                step->m),
						        attempt,
						        r.stats.batches + 1);
				}
				goto done;
			}
			/* this attempt, in the trail as a failure */
			step_fail(db, step, "apply", started_at_ns, err);
			r.size = r.size / 2 ? r.size / 2 : 1;
			sbuf_addf(&what, "batch %" PRId64 ": ",
			          r.stats.batches + 1);
			step_wait_to_retry(db, step, what.buf, attempt, max,
			                   &seed, err);
			sbuf_release(&what);
			attempt++;
			continue;
		}
		if (db->drv->exec(db->conn, "COMMIT", err) < 0 ||
		    (db->replicas && step->batch.max_lag > 0 &&
		     replicas_note(db->replicas, db, err) < 0))
			goto done;
		attempt = 1;
		r.stats.rows += rows;
		r.stats.batches++;
		if (!rows)
			break;
		adapt(&r, rows, took, was_blocked);
		say(&r, NULL);
		if (step->batch.pause > 0)
			step_sleep(step->batch.pause);
	}
	rc = 0;
done:
	if (rc < 0)
		db->drv->rollback(db->conn);
	progress_stop(db, rc == 0);
	if (out)
		*out = r.stats;
	sbuf_release(&r.stmt);
	return rc;
}

int batchrun_dry(struct strata_db *db, const struct plan_step *step,
                 struct strata_error *err)
{
	struct strata_event ev = { .kind = STRATA_EVENT_DRY_RUN_APPLY };
	struct sbuf msg = SBUF_INIT;
	int64_t lock_ms =
	        step_timeout_ms(step->lock_timeout, db->opts.lock_timeout,
	                        DEFAULT_LOCK_TIMEOUT);
	int64_t rows = 0;
	bool was_blocked = false;
	double took = 0;
	struct run r;
	int rc = -1;

	run_init(&r, db, step);
	r.total = rows_to_do(&r);
	if (one_batch(&rows, &was_blocked, &took, &r, lock_ms, err) < 0) {
		db->drv->rollback(db->conn);
		plan_locate_error(step, err);
		goto done;
	}
	/* a look, not a change: what it did goes */
	db->drv->rollback(db->conn);
	sbuf_adds(&msg, "one batch of ");
	add_count(&msg, r.size);
	sbuf_adds(&msg, " changed ");
	add_count(&msg, rows);
	sbuf_addf(&msg, " rows in %.0f ms (rolled back)", took * 1000);
	if (r.total >= 0) {
		sbuf_adds(&msg, "; about ");
		add_count(&msg, r.total);
		sbuf_adds(&msg, " rows to do");
		if (rows > 0) {
			sbuf_adds(&msg, ", about ");
			add_duration(&msg,
			             took * (double)r.total / (double)rows);
			sbuf_adds(&msg, " in all");
		}
	}
	ev.migration = step->m;
	ev.version = step->m->version;
	ev.description = step->m->description;
	ev.duration_ns = (int64_t)(took * NS_PER_S);
	ev.message = msg.buf;
	db_emit(db, &ev);
	rc = 0;
done:
	sbuf_release(&msg);
	sbuf_release(&r.stmt);
	return rc;
}
