/* Allocation that never returns NULL */
#ifndef STRATA_UTIL_XALLOC_H
#define STRATA_UTIL_XALLOC_H

#include "util/common.h"

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xstrfmt(const char *fmt, ...) STRATA_PRINTF(1, 2);
/* Grow `*p` (of `*alloc` elements of `size`) to hold at least `n`. */
void xgrow(void **p, size_t *alloc, size_t n, size_t size);
#define XGROW(p, alloc, n) xgrow((void **)&(p), &(alloc), (n), sizeof(*(p)))

#endif
