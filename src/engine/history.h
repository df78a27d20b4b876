/*
 * The history table (sqlx's `_sqlx_migrations`): its rows read and
 * written once for every driver, over the driver's generic query(), and
 * the checks of an applied migration against the source.
 */
#ifndef STRATA_ENGINE_HISTORY_H
#define STRATA_ENGINE_HISTORY_H

#include "util/common.h"
#include "util/arena.h"
#include "drivers/driver.h"

struct history_row {
	int64_t version;
	/* as another tool's table holds it (NULL in sqlx's) */
	const char *version_text;
	const char *description;  /* in the history's arena */
	const char *installed_on; /* ISO 8601 in UTC, likewise */
	bool success;
	unsigned char checksum[STRATA_CHECKSUM_LEN];
	size_t checksum_len; /* as stored: sqlx's rows hold 48 bytes */
	int64_t execution_time;
	/* applied by another tool, never seen by strata: no checksum */
	bool is_unverified;
};

struct history {
	struct history_row *rows; /* ascending version */
	size_t n, alloc;
	bool has_table;
	struct arena strings; /* the rows' */
};

/*
 * Where the history is kept (design.md, Layouts): sqlx's table; or, for
 * another tool's layout, that tool's own table, exactly as the tool writes
 * it, and strata's record beside it in sqlx's form (history_tool.c).
 */
struct history_tables {
	struct table_name own;     /* sqlx's, or strata's beside the tool's */
	enum strata_layout layout; /* STRATA_LAYOUT_SQLX: no `tool` */
	struct table_name tool;
	/* golang-migrate's table holds one version: every migration of the
	 * source up to it is applied (borrowed, the command's source) */
	const struct strata_source *src;
	/* the driver's expression for the session's user ("NULL": none) */
	const char *current_user;
	/* `own` was there when strata_db_prepare() asked: strata never drops
	 * it, so the read under the lock need not ask again */
	bool is_own_seen;
};

void history_tables_release(struct history_tables *ht);

/* Whether a version is a Flyway repeatable's (STRATA_VERSION_REPEATABLE) */
static inline bool history_is_repeatable(int64_t version)
{
	return version >= STRATA_VERSION_REPEATABLE &&
	       version < STRATA_VERSION_FLYWAY_KEY;
}
/* The newest applied versioned migration's row, NULL when none:
 * repeatables have no place in the order of versions. */
const struct history_row *history_newest(const struct history *h);

void history_release(struct history *h);
/* `out` (empty) made a copy of `h`, its strings its own. */
void history_copy(struct history *out, const struct history *h);
/* The row a transactional apply of `m` commits, as a read would return it
 * (but installed_on, which is empty), in its place in version order. */
void history_put_applied(struct history *h, const struct strata_migration *m,
                         int64_t execution_time);
/* Version's row taken out, as a revert's delete does. */
void history_take_out(struct history *h, int64_t version);
/* Whether another tool's table is read besides strata's own. */
bool history_has_tool(const struct history_tables *ht);
const struct history_row *history_find(const struct history *h,
                                       int64_t version);

/* CREATE TABLE IF NOT EXISTS in the driver's sqlx form: the statement,
 * and running it. */
void history_ddl(struct sbuf *sql, const struct strata_driver *drv,
                 const struct history_tables *ht);
int history_ensure(struct strata_conn *c, const struct history_tables *ht,
                   struct strata_error *err);
/* Every row, ascending; a missing table is no error: !out->has_table
 * (history_read.c). */
int history_read(struct strata_conn *c, const struct history_tables *ht,
                 struct history *out, struct strata_error *err);
/* Another of strata's tables read beside the history: `sql`'s rows to
 * `fn` when `table` exists (status: who applied each, from the trail). */
struct history_beside {
	const struct table_name *table; /* NULL: nothing read beside */
	const char *sql;
	db_row_fn *fn;
	void *data;
	int rc; /* out: -1 when the table is missing or could not be read */
	/* only asked whether it exists, in the same statement (NULL: none) */
	const struct table_name *asked;
	bool is_asked_there; /* out */
};
/*
 * history_read() with `beside` read too, in two round trips where the
 * driver pipelines: whether the tables exist, asked at once, then what
 * exists. `beside`'s failure is its own (beside->rc), never the call's.
 */
int history_read_beside(struct strata_conn *c, const struct history_tables *ht,
                        struct history_beside *beside, struct history *out,
                        struct strata_error *err);
int history_has(bool *out, struct strata_conn *c,
                const struct history_tables *ht, int64_t version,
                struct strata_error *err);
/*
 * The row of a migration applied (success) or being applied outside a
 * transaction (!success, execution_time -1: the fence).
 */
int history_insert(struct strata_conn *c, const struct history_tables *ht,
                   const struct strata_migration *m, bool success,
                   int64_t execution_time, struct strata_error *err);
/* strata's record alone of `m` baselined: Flyway's baseline writes one
 * BASELINE row for them all (history_baseline_marker()). */
int history_insert_baselined(struct strata_conn *c,
                             const struct history_tables *ht,
                             const struct strata_migration *m,
                             struct strata_error *err);
int history_baseline_marker(struct strata_conn *c,
                            const struct history_tables *ht,
                            const char *version_text, struct strata_error *err);
/* The changes of one version's row, which must exist. `version_text`:
 * the version as another tool's table holds it (NULL: in digits). */
int history_finish(struct strata_conn *c, const struct history_tables *ht,
                   int64_t version, const char *version_text,
                   int64_t execution_time, struct strata_error *err);
int history_set_failed(struct strata_conn *c, const struct history_tables *ht,
                       const struct strata_migration *m,
                       struct strata_error *err);
int history_delete(struct strata_conn *c, const struct history_tables *ht,
                   int64_t version, const char *version_text,
                   struct strata_error *err);
/* The same, added to a batch: a migration's transaction ends with them. */
void history_add_insert(struct batch *b, const struct history_tables *ht,
                        const struct strata_migration *m, bool success,
                        int64_t execution_time);
/* A success timed by the server: `elapsed_ns`, the driver's expression
 * (the nanoseconds since BEGIN), is its execution time, read back into
 * *out once the batch has run. */
void history_add_insert_timed(struct batch *b, const struct history_tables *ht,
                              const struct strata_migration *m,
                              const char *elapsed_ns, int64_t *out);
void history_add_finish(struct batch *b, const struct history_tables *ht,
                        int64_t version, const char *version_text,
                        int64_t execution_time);
void history_add_set_failed(struct batch *b, const struct history_tables *ht,
                            const struct strata_migration *m);
void history_add_delete(struct batch *b, const struct history_tables *ht,
                        int64_t version, const char *version_text);
/* A revert timed by the server: `elapsed_ns` (as for
 * history_add_insert_timed()) read back into *out once the batch has
 * run, and the row deleted. */
void history_add_delete_timed(struct batch *b, const struct history_tables *ht,
                              int64_t version, const char *version_text,
                              const char *elapsed_ns, int64_t *out);

/* A row's version as its layout shows it: its migration's (`m`, may be
 * NULL), else the tool's text, else the number in `buf`. */
const char *history_row_version(const struct history_row *row,
                                const struct strata_migration *m,
                                char buf[static 24]);

/* Whether the recorded checksum is the file's. */
bool history_checksum_matches(const struct history_row *row,
                              const struct strata_migration *m);
/* The error for an applied migration whose file changed since. */
int history_mismatch_error(const struct history_row *row,
                           const struct strata_migration *m,
                           struct strata_error *err);
/* A failed, missing (unless ignored) or edited applied migration. */
int history_check_row(const struct history_row *row,
                      const struct strata_source *src, bool is_ignore_missing,
                      struct strata_error *err);
/* A mismatch caused only by CRLF line endings or a UTF-8 BOM. */
bool history_is_whitespace_only_change(const struct history_row *row,
                                       const struct strata_migration *m);

/* ---- history_tool.c: another tool's table ------------------------------ */

/* The table the tool names by default ("schema_migrations"). */
const char *history_tool_default_table(enum strata_layout layout);
int history_tool_ensure(struct strata_conn *c, const struct history_tables *ht,
                        struct strata_error *err);
/* strata's rows (`*own`) merged with the tool's: see history_tool.c. */
int history_tool_read(struct strata_conn *c, const struct history_tables *ht,
                      struct history *own, struct strata_error *err);
void history_tool_add_applied(struct batch *b, const struct history_tables *ht,
                              int64_t version, const char *version_text,
                              int64_t execution_time);
void history_tool_add_removed(struct batch *b, const struct history_tables *ht,
                              int64_t version, const char *version_text);
/* A migration under way outside a transaction: golang-migrate's dirty
 * row (the other tools' tables have no such row). */
void history_tool_add_dirty(struct batch *b, const struct history_tables *ht,
                            int64_t version);
/* Flyway's BASELINE row at `version_text`, the one row Flyway's baseline
 * writes (the other tools have no baseline of their own). */
void history_tool_add_baseline(struct batch *b, const struct history_tables *ht,
                               const char *version_text);

#endif
