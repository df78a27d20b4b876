/* The checks of applied migrations */
#ifndef STRATA_ENGINE_MIGRATE_H
#define STRATA_ENGINE_MIGRATE_H

#include "util/common.h"
#include "drivers/driver.h"

/* A failed, missing (unless ignored) or edited applied migration. */
int migrate_check_row(const struct history_row *row,
                      const struct strata_source *src, bool is_ignore_missing,
                      struct strata_error *err);
/* A mismatch caused only by CRLF line endings or a UTF-8 BOM. */
bool migrate_is_whitespace_only_change(const struct history_row *row,
                                       const struct strata_migration *m);

#endif
