/* Splitting SQL for SQLite, by SQLite's own parser */
#ifndef STRATA_SQL_SPLIT_SQLITE_H
#define STRATA_SQL_SPLIT_SQLITE_H

#include "util/common.h"
#include "sql/split.h"

/*
 * `sql` as SQLite's statements (see strata_script): each ends where
 * sqlite3_complete() says, and is classified by preparing it on a private
 * `:memory:` connection; `sql[len]` is read (a NUL there spares a copy).
 * Fails (STRATA_EVALIDATE) on a NUL byte inside.
 */
int split_sqlite(struct strata_script *out, const char *sql, size_t len,
                 struct strata_error *err);

#endif
