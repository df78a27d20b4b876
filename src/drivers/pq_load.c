/*
 * libpq through dlopen(): see pq.h for why. The soname is the one
 * libpq-dev links against (libpq5 in Debian), so the library loaded is the
 * one the headers describe.
 */
#define PQ_LOADER
#include "drivers/pq.h"
#include "util/crypto.h"
#include "util/error.h"

#include <dlfcn.h>

#define LIBPQ_SONAME "libpq.so.5"

struct pq_api pq_table;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
bool pq_is_loaded;
static char load_error[256];

static void load(void)
{
	struct strata_error ignored = STRATA_ERROR_INIT;
	void *handle;
	const char *missing = NULL;

	/*
	 * libcrypto first, which libpq links too: opened by name after libpq
	 * had brought it in as a dependency, glibc's loader lost the list it
	 * made for it (40 bytes valgrind reports). Without it, libpq's own
	 * load fails and says so.
	 */
	crypto_load("libpq", &ignored);
	strata_error_release(&ignored);
	handle = dlopen(LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
		return;
	}
#define PQ_RESOLVE(name)                                             \
	pq_table.p_##name =                                          \
	        (__typeof__(pq_table.p_##name))dlsym(handle, #name); \
	if (!pq_table.p_##name && !missing)                          \
		missing = #name;
	PQ_FUNCTIONS(PQ_RESOLVE)
#undef PQ_RESOLVE
	if (missing) {
		/* an older libpq than the headers: say which call it lacks */
		snprintf(load_error, sizeof(load_error),
		         "%s has no %s (it is older than strata needs)",
		         LIBPQ_SONAME, missing);
		dlclose(handle);
		return;
	}
	__atomic_store_n(&pq_is_loaded, true, __ATOMIC_RELEASE);
}

bool pq_available(void)
{
	if (!__atomic_load_n(&pq_is_loaded, __ATOMIC_ACQUIRE))
		pthread_once(&load_once, load);
	return __atomic_load_n(&pq_is_loaded, __ATOMIC_ACQUIRE);
}

int pq_load(struct strata_error *err)
{
	if (pq_available())
		return 0;
	strata_error_set(
	        err, STRATA_EFAILED,
	        "PostgreSQL needs libpq, which could not be loaded: %s",
	        load_error);
	return strata_error_hint(
	        err,
	        "Install PostgreSQL's client library (Debian: apt install libpq5); SQLite needs no more than strata.");
}

const struct pq_api *pq_slow(void)
{
	/*
	 * Plain loads once loaded: PQcancel() is reached from a signal
	 * handler. Every path to here passed pq_load() first, so a failure
	 * here is a path that skipped it.
	 */
	if (!pq_available())
		abort();
	return &pq_table;
}
