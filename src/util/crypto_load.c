/*
 * libcrypto through dlopen(): see crypto.h for why. The soname is the one
 * libssl-dev links against (libssl3 in Debian), so the library loaded is
 * the one the headers describe, and the one libpq links: loaded before or
 * after libpq, the process holds one libcrypto.
 */
#define CRYPTO_LOADER
#include "util/crypto.h"
#include "util/error.h"

#include <dlfcn.h>

#define LIBCRYPTO_SONAME "libcrypto.so.3"

struct crypto_api crypto_table;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static void *library;
bool crypto_is_loaded;
static char load_error[256];

static void load(void)
{
	void *handle = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (!handle) {
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
		return;
	}
#define CRYPTO_RESOLVE(name)                                             \
	crypto_table.p_##name =                                          \
	        (__typeof__(crypto_table.p_##name))dlsym(handle, #name); \
	if (!crypto_table.p_##name && !missing)                          \
		missing = #name;
	CRYPTO_LOADED_FUNCTIONS(CRYPTO_RESOLVE)
#undef CRYPTO_RESOLVE
	if (missing) {
		/* older than the headers: say which call it lacks */
		snprintf(load_error, sizeof(load_error),
		         "%s has no %s (it is older than strata needs)",
		         LIBCRYPTO_SONAME, missing);
		dlclose(handle);
		return;
	}
	library = handle;
	__atomic_store_n(&crypto_is_loaded, true, __ATOMIC_RELEASE);
}

static bool available(void)
{
	if (!__atomic_load_n(&crypto_is_loaded, __ATOMIC_ACQUIRE))
		pthread_once(&load_once, load);
	return __atomic_load_n(&crypto_is_loaded, __ATOMIC_ACQUIRE);
}

int crypto_load(const char *what, struct strata_error *err)
{
	if (available())
		return 0;
	strata_error_set(
	        err, STRATA_EFAILED,
	        "%s needs OpenSSL's libcrypto, which could not be loaded: %s",
	        what, load_error);
	return strata_error_hint(
	        err,
	        "Install OpenSSL's library (Debian: apt install libssl3).");
}

const struct crypto_api *crypto_slow(void)
{
	/* every path to here passed crypto_load() first: one that skipped it */
	if (!available())
		abort();
	return &crypto_table;
}

void *crypto_symbol(const char *name)
{
	return available() ? dlsym(library, name) : NULL;
}
