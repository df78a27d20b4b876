/* A set of names, or a map from names to values (open addressing). */
#ifndef STRATA_UTIL_STRMAP_H
#define STRATA_UTIL_STRMAP_H

#include "util/common.h"
#include "util/arena.h"

struct strmap_entry {
	const char *key; /* NULL: free slot */
	void *value;
	uint32_t hash;
};

struct strmap {
	struct strmap_entry *v;
	size_t n, cap;
};

/* Keys are copied into `a`; a key already there gets the new value. */
void strmap_put(struct strmap *m, struct arena *a, const char *key,
                void *value);
bool strmap_has(const struct strmap *m, const char *key);
void *strmap_get(const struct strmap *m, const char *key);
void strmap_clear(struct strmap *m);
void strmap_release(struct strmap *m);

#endif
