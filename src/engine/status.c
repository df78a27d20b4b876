/*
 * Status: the source and the history side by side, one entry per version,
 * read without taking the lock or creating anything (a database without
 * the history table simply has nothing applied).
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/arena.h"
#include "util/error.h"
#include "drivers/driver.h"
#include "engine/db.h"
#include "engine/audit.h"
#include "engine/history.h"

#include <inttypes.h>
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

/* A row of the audit trail saying who applied a version. */
struct applied {
	int64_t version, id;
	const char *who; /* in the owner's who_strings */
};

struct status_owner {
	struct strata_status st;
	struct history h; /* entries borrow its strings */
	struct applied *by;
	size_t n_by, alloc_by;
	/* the few distinct "user@host" of the trail, each once */
	struct arena who_strings;
	const char *whos[16];
	size_t n_whos;
};

/* One row of audit_applied_by_sql(): version, id, who. */
static int add_applied_row(void *data, const char *const *cells, size_t n_cols)
{
	struct status_owner *o = data;
	struct applied *a;
	const char *who = cells[2] ? cells[2] : "?";
	size_t i;

	if (n_cols != 3 || !cells[0] || !cells[1])
		return 0;
	XGROW(o->by, o->alloc_by, o->n_by + 1);
	a = &o->by[o->n_by++];
	a->version = strtoll(cells[0], NULL, 10);
	a->id = strtoll(cells[1], NULL, 10);
	for (i = 0; i < o->n_whos && strcmp(o->whos[i], who); i++)
		;
	if (i < o->n_whos) {
		a->who = o->whos[i];
	} else {
		a->who = arena_strdup(&o->who_strings, who);
		if (o->n_whos < ARRAY_SIZE(o->whos))
			o->whos[o->n_whos++] = a->who;
	}
	return 0;
}

static struct strata_status_entry *find_entry(struct strata_status *st,
                                              int64_t version)
{
	size_t lo = 0, hi = st->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->entries[mid].version == version)
			return &st->entries[mid];
		if (st->entries[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Who applied each recorded migration: the trail's newest row for it. */
static void add_applied_by(struct status_owner *o)
{
	int64_t *newest =
	        xcalloc(o->st.count ? o->st.count : 1, sizeof(*newest));

	for (size_t r = 0; r < o->n_by; r++) {
		const struct applied *a = &o->by[r];
		struct strata_status_entry *e = find_entry(&o->st, a->version);

		if (e && e->is_recorded && a->id > newest[e - o->st.entries]) {
			newest[e - o->st.entries] = a->id;
			e->applied_by = a->who;
		}
	}
	free(newest);
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
	if (!history_checksum_matches(row, m))
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

/* What the database says: the history and, unless not wanted, who. */
static int read_database(struct status_owner *o, struct strata_db *db,
                         bool with_applied_by, struct strata_error *err)
{
	struct history_beside by = { .fn = add_applied_row, .data = o };
	struct table_name golang = { 0 };
	struct sbuf sql = SBUF_INIT;
	int rc;

	if (with_applied_by) {
		audit_applied_by_sql(&sql, db);
		by.table = &db->audit;
		by.sql = sql.buf;
	}
	/* read before the folder's layout is known: what binding a folder
	 * of pairs asks first, asked now too */
	if (db_golang_to_ask(&golang, db))
		by.asked = &golang;
	rc = history_read_beside(db->conn, &db->hist, &by, &o->h, err);
	if (rc == 0 && by.asked)
		db_golang_seen(db, by.is_asked_there);
	/* without the trail the BY column stays empty: not an error */
	if (with_applied_by && by.rc < 0)
		o->n_by = 0;
	table_name_release(&golang);
	sbuf_release(&sql);
	return rc;
}

/* The source and the history side by side, in `o->st`. */
static void merge(struct status_owner *o, const struct strata_source *src)
{
	struct strata_status *st = &o->st;
	size_t ns = strata_source_count(src), i = 0, j = 0;

	for (size_t k = 0; k < o->h.n; k++)
		if (o->h.rows[k].version > st->newest_applied &&
		    !history_is_repeatable(o->h.rows[k].version))
			st->newest_applied = o->h.rows[k].version;
	st->entries =
	        xcalloc(ns + o->h.n ? ns + o->h.n : 1, sizeof(*st->entries));
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
		e->version_text =
		        m && m->version_text ? m->version_text
		        : row->version_text
		                ? row->version_text
		                : arena_strfmt(&o->h.strings, "%" PRId64,
		                               row->version);
		e->description = m ? m->description : row->description;
		e->migration = m;
		e->state = state_of(row, m, st->newest_applied);
		if (row)
			add_recorded(e, row);
		else
			e->installed_on = "";
		if (e->state == STRATA_STATE_CHECKSUM_MISMATCH)
			e->is_whitespace_only_change =
			        history_is_whitespace_only_change(row, m);
		count(st, e->state);
	}
	add_applied_by(o);
}

/*
 * The database read again in the source's layout, when it was read in
 * another (the load reads both at once, before the layout is known).
 */
static int read_in_layout(struct status_owner *o, struct strata_db *db,
                          const struct strata_source *src, bool with_applied_by,
                          struct strata_error *err)
{
	enum strata_layout read_as = db->hist.layout;

	if (strata_source_layout(src) == read_as && db->is_layout_bound)
		return 0;
	if (db_bind_layout(db, src, err) < 0)
		return -1;
	/* bound to the tables already read: the first read stands */
	if (db->hist.layout == read_as)
		return 0;
	history_release(&o->h);
	free(o->by);
	o->by = NULL;
	o->n_by = o->alloc_by = 0;
	arena_release(&o->who_strings);
	o->n_whos = 0;
	return read_database(o, db, with_applied_by, err);
}

int strata_status_get(struct strata_status **out, struct strata_db *db,
                      const struct strata_source *src, struct strata_error *err)
{
	struct status_owner *o = xcalloc(1, sizeof(*o));

	*out = NULL;
	if (db_bind_layout(db, src, err) < 0 ||
	    read_database(o, db, true, err) < 0) {
		strata_status_free(&o->st);
		return -1;
	}
	merge(o, src);
	*out = &o->st;
	return 0;
}

int strata_status_load(struct strata_status **out,
                       struct strata_source **out_src, struct strata_db *db,
                       const char *dir,
                       const struct strata_source_options *src_opts,
                       const struct strata_status_options *opts,
                       struct strata_error *err)
{
	return strata_status_load_end(out, out_src, db,
	                              strata_source_load_begin(dir, src_opts),
	                              opts, err);
}

int strata_status_load_end(struct strata_status **out,
                           struct strata_source **out_src, struct strata_db *db,
                           struct strata_source_loading *loading,
                           const struct strata_status_options *opts,
                           struct strata_error *err)
{
	bool with_applied_by = !(opts && opts->is_without_applied_by);
	struct strata_error db_err = STRATA_ERROR_INIT;
	struct strata_error src_err = STRATA_ERROR_INIT;
	struct strata_source *src = NULL;
	struct status_owner *o;
	int db_rc, src_rc;

	*out = NULL;
	*out_src = NULL;
	if (OPTIONS_CHECK(opts, STRATA_STATUS_OPTIONS_VERSION,
	                  "strata_status_options", err) < 0) {
		if (strata_source_load_end(&src, loading, &src_err) == 0)
			strata_source_free(src);
		strata_error_release(&src_err);
		return -1;
	}
	o = xcalloc(1, sizeof(*o));
	/* the server answers while the files are read and hashed */
	db_rc = read_database(o, db, with_applied_by, &db_err);
	src_rc = strata_source_load_end(&src, loading, &src_err);
	if (src_rc == 0 && db_rc == 0)
		db_rc = read_in_layout(o, db, src, with_applied_by, &db_err);
	if (src_rc < 0 || db_rc < 0) {
		error_move(err, src_rc < 0 ? &src_err : &db_err);
		strata_error_release(&src_err);
		strata_error_release(&db_err);
		strata_source_free(src);
		strata_status_free(&o->st);
		return -1;
	}
	merge(o, src);
	*out = &o->st;
	*out_src = src;
	return 0;
}

void strata_status_free(struct strata_status *st)
{
	struct status_owner *o = (struct status_owner *)st;

	if (!st)
		return;
	free(st->entries);
	history_release(&o->h);
	free(o->by);
	arena_release(&o->who_strings);
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
	if (OPTIONS_CHECK(opts, STRATA_RUN_OPTIONS_VERSION,
	                  "strata_run_options", err) < 0 ||
	    strata_status_get(&st, db, src, err) < 0)
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
