/*
 * What strata_convert() (convert.c: the folder) and convert_history.c
 * (the rows copied into sqlx's table) share: one conversion's state.
 */
#ifndef STRATA_ENGINE_CONVERT_H
#define STRATA_ENGINE_CONVERT_H

#include "util/common.h"
#include "util/sbuf.h"
#include "engine/db.h"
#include "engine/history.h"

/* A migration's new texts. */
struct texts {
	struct sbuf up, down;
};

/* A row of the tool's history to copy, for file `file`. */
struct copy {
	const struct history_row *row;
	size_t file; /* index in the result's files */
	unsigned char checksum[STRATA_CHECKSUM_LEN]; /* of its new up file */
};

struct convert {
	struct strata_convert_result *out;
	const struct strata_source *src;
	enum strata_layout layout;
	/* per file of `out`: its migration, new texts, sqlx's description */
	const struct strata_migration **ms;
	struct texts *t;
	const char **desc;
	/* the tool's history and sqlx's table, read under the lock */
	struct history h, sh;
	struct history_tables st;
	struct copy *copies;
	size_t n_copies;
	bool *is_done; /* per copy: sqlx's table holds it already */
};

/*
 * Under the migration lock: the rows to copy (out->copied) and those sqlx's
 * table holds already (out->n_same). A failed, edited or missing applied
 * migration, and sqlx's rows that say otherwise, are STRATA_EVALIDATE.
 */
int convert_history_read(struct convert *c, struct strata_db *db,
                         struct strata_error *err);
/* The rows copied, with their audit rows, in one transaction. */
int convert_history_copy(struct convert *c, struct strata_db *db,
                         struct strata_error *err);
void convert_history_release(struct convert *c);

#endif
