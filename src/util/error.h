/* Filling and moving a struct strata_error */
#ifndef STRATA_UTIL_ERROR_H
#define STRATA_UTIL_ERROR_H

#include "util/common.h"

/* Adds the file, and line/column computed from a byte offset into it. */
void error_set_location(struct strata_error *err, const char *file,
                        const char *text, size_t len, size_t offset);
/*
 * 0 when an options struct's `version` is `known` (the version of struct
 * `name` this library was built with); else STRATA_EUSAGE naming it: a
 * struct built by a program compiled against another strata.h, or never
 * initialised.
 */
int error_options_version(unsigned int version, unsigned int known,
                          const char *name, struct strata_error *err);
/* That check of `opts`, which may be NULL (the defaults). */
#define OPTIONS_CHECK(opts, known, name, err)                             \
	((opts) ? error_options_version((opts)->version, (known), (name), \
	                                (err))                            \
	        : 0)

/* Moves everything of `src` into `dst` (releasing what dst held). */
void error_move(struct strata_error *dst, struct strata_error *src);
/* Prefixes the primary message: "PREFIX: message". */
void error_prefix(struct strata_error *err, const char *fmt, ...)
        STRATA_PRINTF(2, 3);

#endif
