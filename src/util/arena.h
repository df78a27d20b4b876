/* Memory freed all at once */
#ifndef STRATA_UTIL_ARENA_H
#define STRATA_UTIL_ARENA_H

#include "util/common.h"

struct arena_block;
struct arena {
	struct arena_block *head;
};
#define ARENA_INIT   \
	{            \
		NULL \
	}
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strfmt(struct arena *a, const char *fmt, ...) STRATA_PRINTF(2, 3);
void arena_release(struct arena *a);

#endif
