/*
 * SQLite databases themselves: create, drop (with the -wal, -shm and
 * -journal files beside it) and exists, for `strata database`.
 */
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "engine/url.h"
#include "drivers/driver.h"
#include "drivers/sqlite_conn.h"
#include "util/sqlite_lib.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sqlitedb_create(const struct strata_url *url, struct strata_error *err)
{
	sqlite3 *db = NULL;
	int rc;

	if (url->is_memory)
		return 0;
	if (sqlite_load(err) < 0)
		return -1;
	rc = sqlite3_open_v2(url->path, &db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlitedrv_check_database(db);
	if (rc != SQLITE_OK)
		strata_error_set(err, STRATA_EFAILED,
		                 "could not create database '%s': %s",
		                 url->redacted,
		                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * Removes the file, then its journals: a journal left behind would be
 * taken for the journal of the next database of that name. When the file
 * itself cannot be removed, its (possibly hot) journals are left alone.
 */
int sqlitedb_drop(const struct strata_url *url, bool is_force,
                  struct strata_error *err)
{
	static const char *const suffixes[] = { "", "-wal", "-shm",
		                                "-journal" };
	struct sbuf path = SBUF_INIT;
	int rc = 0;

	UNUSED(is_force);
	if (url->is_memory)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		sbuf_reset(&path);
		sbuf_adds(&path, url->path);
		sbuf_adds(&path, suffixes[i]);
		if (unlink(path.buf) != 0 && errno != ENOENT) {
			rc = strata_error_set(err, STRATA_EFAILED,
			                      "could not remove '%s': %s",
			                      path.buf, strerror(errno));
			break;
		}
	}
	sbuf_release(&path);
	return rc;
}

/* As sqlx: the file exists; a memory database always does. */
int sqlitedb_exists(bool *out, const struct strata_url *url,
                    struct strata_error *err)
{
	struct stat sb;

	if (url->is_memory) {
		*out = true;
		return 0;
	}
	if (stat(url->path, &sb) == 0) {
		*out = true;
		return 0;
	}
	if (errno == ENOENT || errno == ENOTDIR) {
		*out = false;
		return 0;
	}
	return strata_error_set(err, STRATA_EFAILED, "could not check '%s': %s",
	                        url->path, strerror(errno));
}
