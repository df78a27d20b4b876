/*
 * A batch: what the engine sends a driver in one exec_batch() call, in
 * order. A migration's transaction is one such value (BEGIN, its SET
 * LOCALs, its statements; then its history and audit rows, COMMIT), built
 * by the engine, so that what is sent, and when, is said in one place
 * rather than guessed by a driver. The PostgreSQL driver pipelines a batch
 * in one round trip where the protocol allows; SQLite runs it in order.
 */
#ifndef STRATA_DRIVERS_BATCH_H
#define STRATA_DRIVERS_BATCH_H

#include "util/common.h"
#include "util/arena.h"

struct strata_script;
struct db_value;

enum batch_kind {
	BATCH_BEGIN,    /* the dialect's BEGIN (SQLite: BEGIN IMMEDIATE) */
	BATCH_COMMIT,   /* fails when the server rolled back instead */
	BATCH_TIMEOUTS, /* lock_ms, statement_ms: see below */
	BATCH_SQL,      /* strata's own SQL, $1…$n */
	BATCH_SCRIPT,   /* a migration's statements */
	/* fails the transaction unless the migration lock is still held, on
	 * the server's word: a dialect without such a lock skips it */
	BATCH_LOCK_CHECK,
};

struct batch_item {
	enum batch_kind kind;
	/* BATCH_SQL: text and parameters, in the batch's arena */
	const char *sql;
	size_t n;
	struct db_value *params;
	/* BATCH_SQL: when set, no row back is an error with this message
	 * (STRATA_EFAILED), for a change that must find its row */
	const char *no_row;
	/* BATCH_SQL: when set, its first row's first column (an integer)
	 * is read into it */
	int64_t *out_int;
	/* BATCH_SQL: sent again and again, without parameters: prepared
	 * once on the session (parsed and analysed once) */
	bool is_recurring;
	/* BATCH_SCRIPT: borrowed; each statement alone, its own simple
	 * query, with is_one_per_call (outside a transaction) */
	const struct strata_script *script;
	bool is_one_per_call;
	/*
	 * BATCH_TIMEOUTS: lock_timeout and statement_timeout in ms (0:
	 * none) for the transaction (is_local) or the session; both < 0:
	 * the session's reset to the server's defaults. A dialect without
	 * them (SQLite) skips the item.
	 */
	int64_t lock_ms, statement_ms;
	bool is_local;
	/* BATCH_TIMEOUTS: the driver's mark (its mark_step) set by the same
	 * statement: one statement a migration, not three */
	bool is_marking;
	/* the caller's own mark (a migration's number in a run of many) */
	size_t tag;
};

struct batch {
	struct batch_item *items;
	size_t n, alloc;
	struct arena mem;
	/*
	 * Called as the server comes to a BATCH_SCRIPT item (is_end false:
	 * before its first statement's result is awaited) and once all its
	 * results are in (is_end true, not after a failure): how a batch of
	 * many migrations' scripts, sent at once, says which one runs.
	 */
	void (*on_script)(void *data, const struct batch_item *it, bool is_end);
	void *on_script_data;
	/* Called with on_script_data as each BATCH_COMMIT's result is in, a
	 * commit (not a rollback): a batch of many transactions says which
	 * ones are committed as they are. */
	void (*on_commit)(void *data, const struct batch_item *it);
};

#define BATCH_INIT                                       \
	{                                                \
		NULL, 0, 0, ARENA_INIT, NULL, NULL, NULL \
	}

void batch_add_begin(struct batch *b);
void batch_add_commit(struct batch *b);
void batch_add_timeouts(struct batch *b, int64_t lock_ms, int64_t statement_ms,
                        bool is_local);
/*
 * `sql` with `n` parameters: copied, but for values marked is_borrowed
 * (a migration's text), which must outlive the batch.
 */
void batch_add_sql(struct batch *b, const char *sql, size_t n,
                   const struct db_value *params);
/* The last item (BATCH_SQL) recurs: see is_recurring. */
void batch_mark_recurring(struct batch *b);
/* The last item (BATCH_TIMEOUTS, local) sets the step's mark: see
 * is_marking. Only for a driver with mark_step. */
void batch_mark_step(struct batch *b);
/* The last item (BATCH_SQL) must return a row, else fails with `msg`. */
void batch_expect_row(struct batch *b, const char *fmt, ...)
        STRATA_PRINTF(2, 3);
/* The last item (BATCH_SQL) returns a row: its first column into *out. */
void batch_return_int(struct batch *b, int64_t *out);
void batch_add_script(struct batch *b, const struct strata_script *s,
                      bool is_one_per_call);
void batch_add_lock_check(struct batch *b);
/* Whether the batch holds a migration's statements. */
bool batch_has_script(const struct batch *b);
/* Empty again, keeping nothing. */
void batch_reset(struct batch *b);
void batch_release(struct batch *b);

#endif
