/*
 * A bump allocator for things that live exactly as long as their owner
 * (a source's texts and names), freed all at once. No per-object free.
 */
#include "util/arena.h"
#include "util/xalloc.h"
#include "util/sbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_SIZE 16384

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	max_align_t data[];
};

void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_block *b = a->head;
	size_t align = sizeof(max_align_t);
	size_t need = (size + align - 1) / align * align;
	char *p;

	if (need < size)
		BUG("arena size overflow");
	if (!b || b->size - b->used < need) {
		size_t bsize =
		        need > ARENA_BLOCK_SIZE ? need : ARENA_BLOCK_SIZE;

		b = xmalloc(sizeof(*b) + bsize);
		b->used = 0;
		b->size = bsize;
		if (need > ARENA_BLOCK_SIZE && a->head) {
			/* keep the current block open for small allocations */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = (char *)b->data + b->used;
	b->used += need;
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_strfmt(struct arena *a, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;
	char *p;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	p = arena_strndup(a, sb.buf, sb.len);
	sbuf_release(&sb);
	return p;
}

void arena_release(struct arena *a)
{
	while (a->head) {
		struct arena_block *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}
