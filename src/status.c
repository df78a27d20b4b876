/*
 * Status: the source and the history side by side, one entry per version,
 * read without taking the lock or creating anything (a database without
 * the history table simply has nothing applied).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

const char *strata_state_name(enum strata_state state)
{
	switch (state) {
	case STRATA_STATE_APPLIED:
		return "applied";
	case STRATA_STATE_PENDING:
		return "pending";
	case STRATA_STATE_OUT_OF_ORDER:
		return "out-of-order";
	case STRATA_STATE_FAILED:
		return "failed";
	case STRATA_STATE_CHECKSUM_MISMATCH:
		return "checksum-mismatch";
	case STRATA_STATE_MISSING:
		return "missing";
	}
	BUG("unknown state");
}

struct status_owner {
	struct strata_status st;
	struct history h;  /* entries borrow its strings */
	struct db_rows by; /* and these */
};

/* Who applied each recorded migration, from the audit trail. */
static void add_applied_by(struct status_owner *o, struct strata_db *db)
{
	size_t e = 0;

	if (audit_applied_by(&o->by, db) < 0)
		return;
	for (size_t r = 0; r < o->by.n_rows; r++) {
		int64_t v = strtoll(db_rows_get(&o->by, r, 0), NULL, 10);

		while (e < o->st.count && o->st.entries[e].version < v)
			e++;
		if (e < o->st.count && o->st.entries[e].version == v &&
		    o->st.entries[e].is_recorded)
			o->st.entries[e].applied_by = db_rows_get(&o->by, r, 1);
	}
}

static void add_recorded(struct strata_status_entry *e,
                         const struct history_row *row)
{
	e->is_recorded = true;
	e->installed_on = row->installed_on;
	e->execution_time_ns = row->execution_time;
	memcpy(e->recorded_checksum, row->checksum, row->checksum_len);
	e->recorded_checksum_len = row->checksum_len;
}

static enum strata_state state_of(const struct history_row *row,
                                  const struct strata_migration *m,
                                  int64_t newest)
{
	if (!row)
		return m->version < newest ? STRATA_STATE_OUT_OF_ORDER
		                           : STRATA_STATE_PENDING;
	if (!row->success)
		return STRATA_STATE_FAILED;
	if (!m)
		return STRATA_STATE_MISSING;
	if (row->checksum_len != STRATA_CHECKSUM_LEN ||
	    memcmp(row->checksum, m->checksum, STRATA_CHECKSUM_LEN) != 0)
		return STRATA_STATE_CHECKSUM_MISMATCH;
	return STRATA_STATE_APPLIED;
}

static void count(struct strata_status *st, enum strata_state s)
{
	switch (s) {
	case STRATA_STATE_APPLIED:
		st->n_applied++;
		break;
	case STRATA_STATE_PENDING:
	case STRATA_STATE_OUT_OF_ORDER:
		st->n_pending++;
		break;
	case STRATA_STATE_FAILED:
		st->n_failed++;
		break;
	case STRATA_STATE_CHECKSUM_MISMATCH:
		st->n_mismatch++;
		break;
	case STRATA_STATE_MISSING:
		st->n_missing++;
		break;
	}
}

int strata_status_get(struct strata_status **out, struct strata_db *db,
                      const struct strata_source *src, struct strata_error *err)
{
	struct status_owner *o = xcalloc(1, sizeof(*o));
	struct strata_status *st = &o->st;
	size_t ns = strata_source_count(src), i = 0, j = 0;

	if (db->drv->history_read(db->conn, &db->table, &o->h, err) < 0) {
		strata_status_free(st);
		return -1;
	}
	for (size_t k = 0; k < o->h.n; k++)
		if (o->h.rows[k].version > st->newest_applied)
			st->newest_applied = o->h.rows[k].version;
	st->entries = xcalloc(ns + o->h.n, sizeof(*st->entries));
	/* Merge two ascending lists. */
	while (i < ns || j < o->h.n) {
		const struct strata_migration *m =
		        i < ns ? strata_source_at(src, i) : NULL;
		const struct history_row *row =
		        j < o->h.n ? &o->h.rows[j] : NULL;
		struct strata_status_entry *e = &st->entries[st->count++];

		if (m && row && m->version == row->version) {
			i++;
			j++;
		} else if (m && (!row || m->version < row->version)) {
			i++;
			row = NULL;
		} else {
			j++;
			m = NULL;
		}
		e->version = m ? m->version : row->version;
		e->description = m ? m->description : row->description;
		e->migration = m;
		e->state = state_of(row, m, st->newest_applied);
		if (row)
			add_recorded(e, row);
		else
			e->installed_on = "";
		if (e->state == STRATA_STATE_CHECKSUM_MISMATCH)
			e->is_whitespace_only_change =
			        migrate_is_whitespace_only_change(row, m);
		count(st, e->state);
	}
	add_applied_by(o, db);
	*out = st;
	return 0;
}

void strata_status_free(struct strata_status *st)
{
	struct status_owner *o = (struct status_owner *)st;

	if (!st)
		return;
	free(st->entries);
	history_release(&o->h);
	db_rows_release(&o->by);
	free(o);
}

enum strata_code strata_status_verdict(const struct strata_status *st)
{
	if (st->n_failed || st->n_mismatch || st->n_missing)
		return STRATA_EVALIDATE;
	if (st->n_pending)
		return STRATA_EPENDING;
	return STRATA_OK;
}

int strata_migrate_pending(int64_t **out, size_t *out_n, struct strata_db *db,
                           const struct strata_source *src,
                           const struct strata_run_options *opts,
                           struct strata_error *err)
{
	struct strata_status *st = NULL;
	int64_t *v = NULL;
	size_t n = 0;

	*out = NULL;
	*out_n = 0;
	if (strata_status_get(&st, db, src, err) < 0)
		return -1;
	/* the run will refuse to start (and say why): nothing would run */
	if (st->n_failed || st->n_mismatch ||
	    (st->n_missing && !(opts && opts->is_ignore_missing))) {
		strata_status_free(st);
		return 0;
	}
	for (size_t i = 0; i < st->count; i++) {
		const struct strata_status_entry *e = &st->entries[i];

		if (e->state != STRATA_STATE_PENDING &&
		    e->state != STRATA_STATE_OUT_OF_ORDER)
			continue;
		if (opts && opts->has_target &&
		    e->version > opts->target_version)
			continue;
		if (!v)
			v = xcalloc(st->count, sizeof(*v));
		v[n++] = e->version;
	}
	strata_status_free(st);
	*out = v;
	*out_n = n;
	return 0;
}
