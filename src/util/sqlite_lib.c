/*
 * libsqlite3 through dlopen(): see sqlite_lib.h for why. The soname is the
 * one libsqlite3-dev links against (libsqlite3-0 in Debian), so the
 * library loaded is the one the header describes.
 */
#define SQLITE_LOADER
#include "util/sqlite_lib.h"
#include "util/error.h"

#include <dlfcn.h>

#define LIBSQLITE_SONAME "libsqlite3.so.0"

struct sqlite_api sqlite_table;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
bool sqlite_is_loaded;
static char load_error[256];

static void load(void)
{
	void *handle = dlopen(LIBSQLITE_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (!handle) {
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
		return;
	}
#define SQLITE_RESOLVE(name)                                             \
	sqlite_table.p_##name =                                          \
	        (__typeof__(sqlite_table.p_##name))dlsym(handle, #name); \
	if (!sqlite_table.p_##name && !missing)                          \
		missing = #name;
	SQLITE_LOADED_FUNCTIONS(SQLITE_RESOLVE)
#undef SQLITE_RESOLVE
	if (missing) {
		/* older than the header: say which call it lacks */
		snprintf(load_error, sizeof(load_error),
		         "%s has no %s (it is older than strata needs)",
		         LIBSQLITE_SONAME, missing);
		dlclose(handle);
		return;
	}
	__atomic_store_n(&sqlite_is_loaded, true, __ATOMIC_RELEASE);
}

static bool available(void)
{
	if (!__atomic_load_n(&sqlite_is_loaded, __ATOMIC_ACQUIRE))
		pthread_once(&load_once, load);
	return __atomic_load_n(&sqlite_is_loaded, __ATOMIC_ACQUIRE);
}

int sqlite_load(struct strata_error *err)
{
	if (available())
		return 0;
	strata_error_set(
	        err, STRATA_EFAILED,
	        "SQLite needs libsqlite3, which could not be loaded: %s",
	        load_error);
	return strata_error_hint(
	        err,
	        "Install SQLite's library (Debian: apt install libsqlite3-0); PostgreSQL needs no more than strata.");
}

const struct sqlite_api *sqlite_slow(void)
{
	/* every path to here passed sqlite_load() first: one that skipped it */
	if (!available())
		abort();
	return &sqlite_table;
}
