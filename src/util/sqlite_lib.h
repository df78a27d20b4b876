/*
 * SQLite, loaded at the first SQLite URL (or SQLite backup, or split of
 * SQLite's SQL) rather than when strata starts: a command on PostgreSQL
 * never calls it, and linked it cost every start its relocations and every
 * process its pages (0.3 MB of a PostgreSQL run's peak). Files include this
 * header instead of <sqlite3.h> and call sqlite3_*() as usual: each name
 * reaches the symbol through a table sqlite_load() fills. Types and
 * constants still come from <sqlite3.h>, included here first, so that no
 * declaration of its meets the macros below.
 */
#ifndef STRATA_UTIL_SQLITE_LIB_H
#define STRATA_UTIL_SQLITE_LIB_H

#include "util/common.h"

#include <sqlite3.h>

/* Every SQLite function strata calls; a new one is added here. */
#define SQLITE_LOADED_FUNCTIONS(X)       \
	X(sqlite3_backup_finish)         \
	X(sqlite3_backup_init)           \
	X(sqlite3_backup_pagecount)      \
	X(sqlite3_backup_remaining)      \
	X(sqlite3_backup_step)           \
	X(sqlite3_bind_blob)             \
	X(sqlite3_bind_int64)            \
	X(sqlite3_bind_null)             \
	X(sqlite3_bind_parameter_index)  \
	X(sqlite3_bind_text)             \
	X(sqlite3_busy_handler)          \
	X(sqlite3_busy_timeout)          \
	X(sqlite3_close)                 \
	X(sqlite3_close_v2)              \
	X(sqlite3_column_count)          \
	X(sqlite3_column_int)            \
	X(sqlite3_column_int64)          \
	X(sqlite3_column_text)           \
	X(sqlite3_complete)              \
	X(sqlite3_errmsg)                \
	X(sqlite3_error_offset)          \
	X(sqlite3_errstr)                \
	X(sqlite3_exec)                  \
	X(sqlite3_extended_errcode)      \
	X(sqlite3_extended_result_codes) \
	X(sqlite3_finalize)              \
	X(sqlite3_get_autocommit)        \
	X(sqlite3_interrupt)             \
	X(sqlite3_keyword_check)         \
	X(sqlite3_libversion)            \
	X(sqlite3_open)                  \
	X(sqlite3_open_v2)               \
	X(sqlite3_prepare_v2)            \
	X(sqlite3_progress_handler)      \
	X(sqlite3_set_authorizer)        \
	X(sqlite3_sleep)                 \
	X(sqlite3_step)                  \
	X(sqlite3_stmt_readonly)         \
	X(sqlite3_system_errno)

struct sqlite_api {
#define SQLITE_MEMBER(name) __typeof__(name) *p_##name;
	SQLITE_LOADED_FUNCTIONS(SQLITE_MEMBER)
#undef SQLITE_MEMBER
};

/*
 * Loads libsqlite3 once (thread-safe); on failure, STRATA_EFAILED saying
 * why it could not be loaded and what to install. Called first by every
 * entry point to SQLite (a sqlite: URL's parse, the driver's calls that
 * take no connection, the SQLite backups), so that the abort() of
 * sqlite_slow() is left for a path that forgot to.
 */
int sqlite_load(struct strata_error *err);
/* The table; loads libsqlite3 when needed (a missing one is caught
 * earlier). */
const struct sqlite_api *sqlite_slow(void);
extern struct sqlite_api sqlite_table;
extern bool sqlite_is_loaded;

/* Inline: every sqlite3_*() call passes here, a column once per cell. */
static inline const struct sqlite_api *sqlite_api(void)
{
	if (__atomic_load_n(&sqlite_is_loaded, __ATOMIC_ACQUIRE))
		return &sqlite_table;
	return sqlite_slow();
}

#ifndef SQLITE_LOADER
#define sqlite3_backup_finish    (sqlite_api()->p_sqlite3_backup_finish)
#define sqlite3_backup_init      (sqlite_api()->p_sqlite3_backup_init)
#define sqlite3_backup_pagecount (sqlite_api()->p_sqlite3_backup_pagecount)
#define sqlite3_backup_remaining (sqlite_api()->p_sqlite3_backup_remaining)
#define sqlite3_backup_step      (sqlite_api()->p_sqlite3_backup_step)
#define sqlite3_bind_blob        (sqlite_api()->p_sqlite3_bind_blob)
#define sqlite3_bind_int64       (sqlite_api()->p_sqlite3_bind_int64)
#define sqlite3_bind_null        (sqlite_api()->p_sqlite3_bind_null)
#define sqlite3_bind_parameter_index \
	(sqlite_api()->p_sqlite3_bind_parameter_index)
#define sqlite3_bind_text        (sqlite_api()->p_sqlite3_bind_text)
#define sqlite3_busy_handler     (sqlite_api()->p_sqlite3_busy_handler)
#define sqlite3_busy_timeout     (sqlite_api()->p_sqlite3_busy_timeout)
#define sqlite3_close            (sqlite_api()->p_sqlite3_close)
#define sqlite3_close_v2         (sqlite_api()->p_sqlite3_close_v2)
#define sqlite3_column_count     (sqlite_api()->p_sqlite3_column_count)
#define sqlite3_column_int       (sqlite_api()->p_sqlite3_column_int)
#define sqlite3_column_int64     (sqlite_api()->p_sqlite3_column_int64)
#define sqlite3_column_text      (sqlite_api()->p_sqlite3_column_text)
#define sqlite3_complete         (sqlite_api()->p_sqlite3_complete)
#define sqlite3_errmsg           (sqlite_api()->p_sqlite3_errmsg)
#define sqlite3_error_offset     (sqlite_api()->p_sqlite3_error_offset)
#define sqlite3_errstr           (sqlite_api()->p_sqlite3_errstr)
#define sqlite3_exec             (sqlite_api()->p_sqlite3_exec)
#define sqlite3_extended_errcode (sqlite_api()->p_sqlite3_extended_errcode)
#define sqlite3_extended_result_codes \
	(sqlite_api()->p_sqlite3_extended_result_codes)
#define sqlite3_finalize         (sqlite_api()->p_sqlite3_finalize)
#define sqlite3_get_autocommit   (sqlite_api()->p_sqlite3_get_autocommit)
#define sqlite3_interrupt        (sqlite_api()->p_sqlite3_interrupt)
#define sqlite3_keyword_check    (sqlite_api()->p_sqlite3_keyword_check)
#define sqlite3_libversion       (sqlite_api()->p_sqlite3_libversion)
#define sqlite3_open             (sqlite_api()->p_sqlite3_open)
#define sqlite3_open_v2          (sqlite_api()->p_sqlite3_open_v2)
#define sqlite3_prepare_v2       (sqlite_api()->p_sqlite3_prepare_v2)
#define sqlite3_progress_handler (sqlite_api()->p_sqlite3_progress_handler)
#define sqlite3_set_authorizer   (sqlite_api()->p_sqlite3_set_authorizer)
#define sqlite3_sleep            (sqlite_api()->p_sqlite3_sleep)
#define sqlite3_step             (sqlite_api()->p_sqlite3_step)
#define sqlite3_stmt_readonly    (sqlite_api()->p_sqlite3_stmt_readonly)
#define sqlite3_system_errno     (sqlite_api()->p_sqlite3_system_errno)
#endif

#endif
