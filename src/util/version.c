/*
 * strata_version(): the version of the library a program runs with,
 * which may differ from the STRATA_VERSION it was compiled against when
 * it links the shared library.
 */
#include "util/common.h"

const char *strata_version(void)
{
	return STRATA_VERSION;
}
