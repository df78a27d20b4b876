/* A set of names, or a map from names to values. */
#include "util/strmap.h"
#include "util/xalloc.h"
#include "util/arena.h"

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct strmap_entry *slot(const struct strmap *m, const char *key,
                                 uint32_t h)
{
	size_t mask = m->cap - 1, i = h & mask;

	while (m->v[i].key &&
	       (m->v[i].hash != h || strcmp(m->v[i].key, key) != 0))
		i = (i + 1) & mask;
	return &m->v[i];
}

static void grow(struct strmap *m)
{
	struct strmap_entry *old = m->v;
	size_t old_cap = m->cap;

	m->cap = m->cap ? m->cap * 2 : 16;
	m->v = xcalloc(m->cap, sizeof(*m->v));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*slot(m, old[i].key, old[i].hash) = old[i];
	free(old);
}

void strmap_put(struct strmap *m, struct arena *a, const char *key, void *value)
{
	uint32_t h = hash_str(key);
	struct strmap_entry *e;

	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	e = slot(m, key, h);
	if (!e->key) {
		e->key = arena_strdup(a, key);
		e->hash = h;
		m->n++;
	}
	e->value = value;
}

bool strmap_has(const struct strmap *m, const char *key)
{
	return m->n && slot(m, key, hash_str(key))->key;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	return m->n ? slot(m, key, hash_str(key))->value : NULL;
}

void strmap_clear(struct strmap *m)
{
	if (m->n)
		memset(m->v, 0, m->cap * sizeof(*m->v));
	m->n = 0;
}

void strmap_release(struct strmap *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}
