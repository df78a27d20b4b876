/*
 * Validation that reports every problem at once (a failed record, a
 * vanished or an edited applied migration), where `run` stops at the
 * first. Offline checks of the source happen when it is loaded.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int strata_validate(struct strata_problems *out, struct strata_db *db,
                    const struct strata_source *src, struct strata_error *err)
{
	struct history h = { 0 };

	memset(out, 0, sizeof(*out));
	if (!db)
		return 0;
	if (db->drv->history_read(db->conn, &db->table, &h, err) < 0)
		return -1;
	for (size_t i = 0; i < h.n; i++) {
		struct strata_error e = STRATA_ERROR_INIT;

		if (migrate_check_row(&h.rows[i], src, false, &e) == 0)
			continue;
		XGROW(out->items, out->alloc, out->count + 1);
		out->items[out->count++] = e;
	}
	history_release(&h);
	return 0;
}

void strata_problems_release(struct strata_problems *p)
{
	for (size_t i = 0; i < p->count; i++)
		strata_error_release(&p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}
