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
	const char *description;  /* in the history's arena */
	const char *installed_on; /* ISO 8601 in UTC, likewise */
	bool success;
	unsigned char checksum[STRATA_CHECKSUM_LEN];
	size_t checksum_len; /* as stored: sqlx's rows hold 48 bytes */
	int64_t execution_time;
};

struct history {
	struct history_row *rows; /* ascending version */
	size_t n, alloc;
	bool has_table;
	struct arena strings; /* the rows' */
};

void history_release(struct history *h);
const struct history_row *history_find(const struct history *h,
                                       int64_t version);

/* CREATE TABLE IF NOT EXISTS in the driver's sqlx form. */
int history_ensure(struct strata_conn *c, const struct table_name *table,
                   struct strata_error *err);
/* Every row, ascending; a missing table is no error: !out->has_table. */
int history_read(struct strata_conn *c, const struct table_name *table,
                 struct history *out, struct strata_error *err);
int history_has(bool *out, struct strata_conn *c,
                const struct table_name *table, int64_t version,
                struct strata_error *err);
/*
 * The row of a migration applied (success) or being applied outside a
 * transaction (!success, execution_time -1: the fence).
 */
int history_insert(struct strata_conn *c, const struct table_name *table,
                   const struct strata_migration *m, bool success,
                   int64_t execution_time, struct strata_error *err);
/* The changes of one version's row, which must exist. */
int history_finish(struct strata_conn *c, const struct table_name *table,
                   int64_t version, int64_t execution_time,
                   struct strata_error *err);
int history_set_failed(struct strata_conn *c, const struct table_name *table,
                       int64_t version, struct strata_error *err);
int history_delete(struct strata_conn *c, const struct table_name *table,
                   int64_t version, struct strata_error *err);
/* The same, added to a batch: a migration's transaction ends with them. */
void history_add_insert(struct batch *b, const struct table_name *table,
                        const struct strata_migration *m, bool success,
                        int64_t execution_time);
void history_add_finish(struct batch *b, const struct table_name *table,
                        int64_t version, int64_t execution_time);
void history_add_set_failed(struct batch *b, const struct table_name *table,
                            int64_t version);
void history_add_delete(struct batch *b, const struct table_name *table,
                        int64_t version);

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

#endif
