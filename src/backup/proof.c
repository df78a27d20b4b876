/*
 * strata test: down files proven on a shadow database (design.md, Proving
 * down files). For each migration in order: the schema before it, its up,
 * its down, the schema again, which must be the one before the up, and
 * its up once more, which must succeed (a down that leaves something
 * behind breaks the next apply). The shadow is drift's, made and removed
 * the same way on every path; the database itself is never touched.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/cancel.h"
#include "util/error.h"
#include "util/text.h"
#include "engine/source.h"
#include "engine/db.h"
#include "engine/history.h"
#include "engine/migrate.h"
#include "sql/idempotent.h"
#include "sql/split.h"
#include "backup/schema.h"
#include "backup/drift.h"

#include <string.h>

const char *strata_proof_result_name(enum strata_proof_result r)
{
	switch (r) {
	case STRATA_PROOF_OK:
		return "ok";
	case STRATA_PROOF_NO_DOWN:
		return "no-down";
	case STRATA_PROOF_UP_FAILED:
		return "up-failed";
	case STRATA_PROOF_DOWN_FAILED:
		return "down-failed";
	case STRATA_PROOF_DOWN_LEAVES:
		return "down-leaves";
	case STRATA_PROOF_REUP_FAILED:
		return "reup-failed";
	case STRATA_PROOF_NOT_RUN:
		return "not-run";
	case STRATA_PROOF_NOT_IDEMPOTENT:
		return "not-idempotent";
	}
	return "?";
}

void strata_proof_free(struct strata_proof *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->steps[i].message);
		free(p->steps[i].diff);
	}
	free(p->steps);
	free(p->shadow);
	free(p);
}

struct prover {
	struct strata_db *shadow;
	const struct strata_source *src;
	struct strata_schema_options so;
	bool is_stuck;              /* the shadow cannot be taken further */
	struct pgschema_cache snap; /* the shadow's snapshots */
};

/*
 * The shadow's schema now. PostgreSQL: a catalog snapshot over the
 * shadow's session (a pg_dump per step cost twenty times the migrations);
 * its diff reads as pg_dump's would.
 */
static int dump(char **out, struct prover *pv, struct strata_error *err)
{
	struct sbuf sb = SBUF_INIT;

	free(*out);
	*out = NULL;
	if (!(pv->shadow->drv->caps & DRV_PG_SQL))
		return strata_schema_dump(out, NULL, pv->shadow, &pv->so, err);
	if (cancel_check(err) < 0 ||
	    pgschema_snapshot(&sb, pv->shadow, &pv->snap, err) < 0) {
		sbuf_release(&sb);
		return -1;
	}
	*out = sbuf_detach(&sb, NULL);
	return 0;
}

static double ms_since(int64_t t0)
{
	return (double)(text_monotonic_ns() - t0) / 1e6;
}

/* Applies the source up to the migration of order key `version` (not a
 * version as a user names it: diesel's and Flyway's differ); -1 with
 * `err` when it failed. */
static int up_to(struct prover *pv, int64_t version, struct strata_error *err)
{
	struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
	struct strata_run_result res = { 0 };

	/* proving downs, not judging ups: the gate is run's business, and
	 * migrate_run_upto_key() does not lint */
	ro.is_allow_unsafe = true;
	return migrate_run_upto_key(&res, pv->shadow, pv->src, &ro, version,
	                            err);
}

static int down_one(struct prover *pv, struct strata_error *err)
{
	struct strata_revert_options vo = STRATA_REVERT_OPTIONS_INIT;
	size_t n = 0;

	vo.count = 1;
	return strata_migrate_revert(&n, pv->shadow, pv->src, &vo, err);
}

/* An empty down file (diesel writes one for an up it cannot undo) or
 * one of comments only: worth saying, as its diff alone looks like a
 * down that undid the wrong thing. */
static bool is_without_statement(const char *sql, size_t len)
{
	struct strata_script script = { 0 };
	struct strata_error e = STRATA_ERROR_INIT;
	bool is_none;

	if (split_pg(&script, sql, len, &e) < 0) {
		strata_error_release(&e);
		return false;
	}
	is_none = script.is_parsed && script.n == 0;
	script_release(&script);
	return is_none;
}

static char *take_message(struct strata_error *err)
{
	char *m;

	if (err->file && err->line)
		m = xstrfmt("%s (at %s:%d)", err->message ? err->message : "",
		            err->file, err->line);
	else
		m = xstrdup(err->message ? err->message : "");
	strata_error_release(err);
	return m;
}

/*
 * One migration: up, down, compare, up again. `*before` is the schema
 * before it, and after it returns, the schema after it (the next one's
 * before). -1 only when the test itself cannot go on (the shadow lost,
 * a dump that fails, a signal).
 */
static int prove_one(struct strata_proof_step *st, struct prover *pv,
                     char **before, struct strata_error *err)
{
	const struct strata_migration *m = st->migration;
	struct strata_error e = STRATA_ERROR_INIT;
	char *after = NULL;
	int64_t t0 = text_monotonic_ns();
	int rc = -1;

	if (up_to(pv, m->version, &e) < 0) {
		if (e.code == STRATA_ECANCELED) {
			error_move(err, &e);
			return -1;
		}
		st->result = STRATA_PROOF_UP_FAILED;
		st->message = take_message(&e);
		return 0;
	}
	st->up_ms = ms_since(t0);
	if (!m->down_sql) {
		st->result = STRATA_PROOF_NO_DOWN;
		return dump(before, pv, err);
	}
	t0 = text_monotonic_ns();
	if (down_one(pv, &e) < 0) {
		if (e.code == STRATA_ECANCELED) {
			error_move(err, &e);
			return -1;
		}
		st->result = STRATA_PROOF_DOWN_FAILED;
		st->message = take_message(&e);
		/* rolled back: the up stands, the next one builds on it */
		return dump(before, pv, err);
	}
	st->down_ms = ms_since(t0);
	if (dump(&after, pv, err) < 0)
		goto done;
	if (strcmp(after, *before) != 0) {
		st->result = STRATA_PROOF_DOWN_LEAVES;
		st->message = xstrdup(
		        is_without_statement(m->down_sql, m->down_len)
		                ? "the down file holds no statement: after it, the schema is not what it was before the up"
		                : "after the down, the schema is not what it was before the up");
		if (schema_diff(&st->diff, *before, after, "before the up",
		                "after the down", err) < 0)
			goto done;
	}
	if (up_to(pv, m->version, &e) < 0) {
		if (e.code == STRATA_ECANCELED) {
			error_move(err, &e);
			goto done;
		}
		if (st->result == STRATA_PROOF_OK) {
			st->result = STRATA_PROOF_REUP_FAILED;
			st->message = take_message(&e);
		} else {
			/* what the down left is what breaks the next up */
			char *again = take_message(&e),
			     *both = xstrfmt("%s; the up then failed again: %s",
			                     st->message, again);

			free(st->message);
			free(again);
			st->message = both;
		}
		/* a down of no statement (diesel's "irreversible") changed
		 * nothing: the schema is the up's, and recorded as applied
		 * again, the rest is tested on it as on the up's */
		step_forget_history(pv->shadow);
		if (is_without_statement(m->down_sql, m->down_len) &&
		    history_insert(pv->shadow->conn, &pv->shadow->hist, m, true,
		                   0, &e) == 0) {
			rc = dump(before, pv, err);
			goto done;
		}
		strata_error_release(&e);
		pv->is_stuck = true;
		/* where the shadow stands now is what the next one meets */
		rc = dump(before, pv, err);
		goto done;
	}
	rc = dump(before, pv, err);
done:
	free(after);
	return rc;
}

/* The statements of the up a second run would fail on or repeat, when
 * the parser can say (PostgreSQL). */
static void add_unguarded(struct sbuf *msg, struct prover *pv,
                          const struct strata_migration *m)
{
	struct sbuf lines = SBUF_INIT;

	if ((pv->shadow->drv->caps & DRV_PG_SQL) &&
	    sql_unguarded(&lines, m->up_sql, NULL) == 0 && lines.len) {
		sbuf_addf(msg, "; without a guard in %s: ", m->up_path);
		/* one line of the table: "; " between them */
		for (size_t i = 0; i + 1 < lines.len; i++)
			if (lines.buf[i] == '\n')
				sbuf_adds(msg, "; ");
			else
				sbuf_addch(msg, lines.buf[i]);
	}
	sbuf_release(&lines);
}

/*
 * is_idempotent: the up that passed, once more at once after itself (its
 * history row taken away, so that the run applies it again). It must
 * succeed and leave the schema as it was. `*now` is the schema before it,
 * and after it returns, the schema the shadow is left in. -1 only when
 * the test itself cannot go on.
 */
static int run_again(struct strata_proof_step *st, struct prover *pv,
                     char **now, struct strata_error *err)
{
	const struct strata_migration *m = st->migration;
	struct strata_error e = STRATA_ERROR_INIT;
	struct sbuf msg = SBUF_INIT;
	char *after = NULL;
	int rc = -1;

	step_forget_history(pv->shadow);
	if (history_delete(pv->shadow->conn, &pv->shadow->hist, m->version,
	                   m->version_text, err) < 0)
		return -1;
	if (up_to(pv, m->version, &e) < 0) {
		if (e.code == STRATA_ECANCELED) {
			error_move(err, &e);
			goto done;
		}
		st->result = STRATA_PROOF_NOT_IDEMPOTENT;
		sbuf_adds(&msg, "the up run a second time failed: ");
		sbuf_adds(&msg, e.message ? e.message : "");
		if (e.file && e.line)
			sbuf_addf(&msg, " (at %s:%d)", e.file, e.line);
		strata_error_release(&e);
		add_unguarded(&msg, pv, m);
		st->message = sbuf_detach(&msg, NULL);
		/* rolled back: recorded again as applied, the rest goes on */
		step_forget_history(pv->shadow);
		if (history_insert(pv->shadow->conn, &pv->shadow->hist, m, true,
		                   0, &e) < 0) {
			strata_error_release(&e);
			pv->is_stuck = true;
		}
		rc = dump(now, pv, err);
		goto done;
	}
	if (dump(&after, pv, err) < 0)
		goto done;
	if (strcmp(after, *now) != 0) {
		st->result = STRATA_PROOF_NOT_IDEMPOTENT;
		sbuf_adds(&msg, "the up run a second time changed the schema");
		add_unguarded(&msg, pv, m);
		st->message = sbuf_detach(&msg, NULL);
		if (schema_diff(&st->diff, *now, after, "after the up",
		                "after the up run again", err) < 0)
			goto done;
	}
	free(*now);
	*now = after;
	after = NULL;
	rc = 0;
done:
	sbuf_release(&msg);
	free(after);
	return rc;
}

/* The shadow made (or made again) and readied: watched, locked for the
 * whole proof, its history kept. */
static int shadow_begin(struct prover *pv, struct shadow *s,
                        struct strata_db *db,
                        const struct strata_drift_options *dopts, char **name,
                        struct strata_error *err)
{
	if (drift_shadow_open(s, db, pv->src, dopts, name, err) < 0)
		return -1;
	pv->shadow = s->db;
	if ((s->db->drv->caps & DRV_PG_SQL) &&
	    (drift_check_extensions(s, pv->src, err) < 0 ||
	     pgschema_watch(s->db, &pv->snap, err) < 0))
		return -1;
	/* one lock for the whole proof: a lock session per step cost more
	 * than the steps */
	if (s->db->drv->lock(s->db->conn, s->db->opts.lock_wait, err) < 0)
		return -1;
	s->db->is_lock_kept = true;
	/* the shadow's history is the proof's alone: read once, then kept
	 * in step by the steps (a read per step cost 900 at N = 300) */
	s->db->is_history_kept = true;
	return 0;
}

static void shadow_end(struct prover *pv, struct shadow *s,
                       struct strata_db *db, const char *name)
{
	if (s->db && s->db->is_lock_kept) {
		s->db->is_lock_kept = false;
		s->db->drv->unlock(s->db->conn);
	}
	drift_shadow_remove(s, db, name);
	memset(s, 0, sizeof(*s));
	pv->shadow = NULL;
	pgschema_cache_release(&pv->snap);
}

/*
 * A down that runs outside a transaction and failed part-way left the
 * shadow neither before nor after its up, its row recorded as failed: no
 * later up can be applied to it. With --keep-going the shadow is made
 * again, every up through this one applied (untested), so that the rest
 * are tested from where this migration's up leaves the schema.
 */
static int rebuild(struct strata_proof_step *st, struct prover *pv,
                   struct shadow *s, struct strata_db *db,
                   const struct strata_drift_options *dopts,
                   struct strata_proof *p, char **before,
                   struct strata_error *err)
{
	struct strata_error e = STRATA_ERROR_INIT;
	char *more;

	shadow_end(pv, s, db, p->shadow);
	free(p->shadow);
	p->shadow = NULL;
	if (shadow_begin(pv, s, db, dopts, &p->shadow, err) < 0)
		return -1;
	if (up_to(pv, st->migration->version, &e) < 0) {
		if (e.code == STRATA_ECANCELED) {
			error_move(err, &e);
			return -1;
		}
		strata_error_release(&e);
		pv->is_stuck = true;
	} else {
		more = xstrfmt(
		        "%s; it ran outside a transaction and stopped part-way, so the shadow was made again, every up through this one applied, to test the rest",
		        st->message ? st->message : "");
		free(st->message);
		st->message = more;
	}
	free(*before);
	*before = NULL;
	return dump(before, pv, err);
}

int strata_proof_run(struct strata_proof **out, struct strata_db *db,
                     const struct strata_source *src,
                     const struct strata_proof_options *opts,
                     struct strata_error *err)
{
	struct strata_proof_options defaults = STRATA_PROOF_OPTIONS_INIT;
	struct strata_drift_options dopts = STRATA_DRIFT_OPTIONS_INIT;
	struct strata_proof *p = xcalloc(1, sizeof(*p));
	struct prover pv = { .src = src };
	struct shadow s = { 0 };
	size_t n = strata_source_count(src);
	char *before = NULL;
	bool is_stopped = false;
	int rc = -1;

	*out = NULL;
	if (OPTIONS_CHECK(opts, STRATA_PROOF_OPTIONS_VERSION,
	                  "strata_proof_options", err) < 0)
		goto done;
	if (!opts)
		opts = &defaults;
	dopts.shadow_url = opts->shadow_url;
	dopts.is_shadow_reset = opts->is_shadow_reset;
	dopts.pg_bindir = opts->pg_bindir;
	pv.so = (struct strata_schema_options)STRATA_SCHEMA_OPTIONS_INIT;
	pv.so.src = src;
	pv.so.pg_bindir = opts->pg_bindir;
	if (db_bind_layout(db, src, err) < 0 || cancel_check(err) < 0 ||
	    shadow_begin(&pv, &s, db, &dopts, &p->shadow, err) < 0)
		goto done;
	p->steps = xcalloc(n + 1, sizeof(*p->steps));
	/* what comes before `from`: applied, untested */
	if (opts->has_from) {
		int64_t below = INT64_MIN;

		for (size_t i = 0; i < n; i++)
			if (strata_source_at(src, i)->version < opts->from)
				below = strata_source_at(src, i)->version;
		if (below != INT64_MIN && up_to(&pv, below, err) < 0) {
			drift_shadow_failed(err, p->shadow);
			goto done;
		}
	}
	if (dump(&before, &pv, err) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const struct strata_migration *m = strata_source_at(src, i);
		struct strata_proof_step *st;

		if ((opts->has_from && m->version < opts->from) ||
		    (opts->has_to && m->version > opts->to))
			continue;
		st = &p->steps[p->n++];
		st->migration = m;
		st->up_ms = st->down_ms = -1;
		if (is_stopped) {
			st->result = STRATA_PROOF_NOT_RUN;
			continue;
		}
		if (prove_one(st, &pv, &before, err) < 0)
			goto done;
		if (opts->is_idempotent && !pv.is_stuck &&
		    (st->result == STRATA_PROOF_OK ||
		     st->result == STRATA_PROOF_NO_DOWN) &&
		    run_again(st, &pv, &before, err) < 0)
			goto done;
		if (st->result == STRATA_PROOF_DOWN_FAILED &&
		    m->is_down_no_transaction && opts->is_keep_going &&
		    rebuild(st, &pv, &s, db, &dopts, p, &before, err) < 0)
			goto done;
		if (st->result != STRATA_PROOF_OK &&
		    st->result != STRATA_PROOF_NO_DOWN) {
			p->n_failed++;
			/* after a failed up, nothing later can be applied */
			is_stopped = !opts->is_keep_going || pv.is_stuck ||
			             st->result == STRATA_PROOF_UP_FAILED;
		}
	}
	*out = p;
	p = NULL;
	rc = 0;
done:
	/* on every path, strata_cancel() included: nothing is left behind */
	shadow_end(&pv, &s, db, p ? p->shadow : (*out)->shadow);
	free(before);
	strata_proof_free(p);
	return rc;
}
