/*
 * What every file of the library includes first (as git's
 * git-compat-util.h): the system headers used everywhere, the public API,
 * the banned functions, and the few macros every layer uses. Nothing under
 * src/ is public: the public API is include/strata.h.
 */
#ifndef STRATA_UTIL_COMMON_H
#define STRATA_UTIL_COMMON_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"
/* last, so that system headers' inline definitions are not renamed */
#include "util/banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED(x)     ((void)(x))

/* An impossible state: report where and abort. Never for bad input. */
#define BUG(msg) strata_bug(__FILE__, __LINE__, (msg))
_Noreturn void strata_bug(const char *file, int line, const char *msg);

#endif
