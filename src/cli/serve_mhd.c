/* libmicrohttpd through dlopen(): see serve_mhd.h for why. */
#define SERVE_MHD_LOADER
#include "serve_mhd.h"

#include <dlfcn.h>
#include <stdio.h>

/* the soname libmicrohttpd-dev links against (libmicrohttpd12) */
#define MHD_SONAME "libmicrohttpd.so.12"

struct mhd_api serve_mhd;

const char *serve_mhd_load(void)
{
	static char why[256];
	void *handle;

	if (serve_mhd.p_MHD_start_daemon)
		return NULL;
	if (!(handle = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL))) {
		snprintf(why, sizeof(why), "%s", dlerror());
		return why;
	}
#define MHD_RESOLVE(name)                                                      \
	serve_mhd.p_##name =                                                   \
	        (__typeof__(serve_mhd.p_##name))dlsym(handle, #name);          \
	if (!serve_mhd.p_##name) {                                             \
		snprintf(why, sizeof(why), "%s has no %s", MHD_SONAME, #name); \
		serve_mhd.p_MHD_start_daemon = NULL;                           \
		dlclose(handle);                                               \
		return why;                                                    \
	}
	MHD_FUNCTIONS(MHD_RESOLVE)
#undef MHD_RESOLVE
	return NULL;
}
