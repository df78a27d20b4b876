/*
 * Blocks for the small pieces (messages, strings, short arrays), never
 * freed one by one: protobuf-c frees nothing of a tree it unpacked
 * successfully. What it does free as it goes is its own scratch, the slabs
 * of a message's scanned fields (a file's ParseResult holds one field per
 * statement), so large pieces get a malloc() of their own, on a list, and
 * are freed when asked: a long file's slabs do not stay.
 */
#include "sql/pgmem.h"
#include "util/xalloc.h"

#include <stdint.h>
#include <stdlib.h>

/* what every piece is aligned for: the fields of a protobuf message */
union pgmem_align {
	void *p;
	int64_t i;
	double d;
	size_t z;
};

#define ALIGN     sizeof(union pgmem_align)
#define BLOCK_MIN (4u << 10)
/* below glibc's mmap() threshold: a block is a heap chunk, not a mapping */
#define BLOCK_MAX  (64u << 10)
#define LARGE_FROM 1024u

struct pgmem_block {
	struct pgmem_block *next;
	size_t used, size;
	union pgmem_align data[];
};

struct pgmem_large {
	struct pgmem_large *prev, *next;
	union pgmem_align data[];
};

struct pgmem {
	ProtobufCAllocator allocator;
	struct pgmem_block *blocks;
	struct pgmem_large *large;
	size_t next_size;
};

static void *large_alloc(struct pgmem *m, size_t size)
{
	struct pgmem_large *l;

	if (size > SIZE_MAX - sizeof(*l))
		BUG("a protobuf piece's size overflows");
	l = xmalloc(sizeof(*l) + size);
	l->prev = NULL;
	l->next = m->large;
	if (m->large)
		m->large->prev = l;
	m->large = l;
	return l->data;
}

static void *pgmem_alloc(void *data, size_t size)
{
	struct pgmem *m = data;
	struct pgmem_block *b = m->blocks;
	size_t need = (size ? size + ALIGN - 1 : ALIGN) / ALIGN * ALIGN;
	void *p;

	if (size >= LARGE_FROM)
		return large_alloc(m, size);
	if (!b || b->size - b->used < need) {
		size_t size_of_block = m->next_size;

		if (sizeof(*b) + 2 * m->next_size <= BLOCK_MAX)
			m->next_size *= 2;
		b = xmalloc(sizeof(*b) + size_of_block);
		b->used = 0;
		b->size = size_of_block;
		b->next = m->blocks;
		m->blocks = b;
	}
	p = (char *)b->data + b->used;
	b->used += need;
	return p;
}

/* Only a large piece is freed: the rest goes with its block. */
static void pgmem_release(void *data, void *p)
{
	struct pgmem *m = data;

	for (struct pgmem_large *l = m->large; p && l; l = l->next) {
		if ((void *)l->data != p)
			continue;
		if (l->prev)
			l->prev->next = l->next;
		else
			m->large = l->next;
		if (l->next)
			l->next->prev = l->prev;
		free(l);
		return;
	}
}

struct pgmem *pgmem_new(size_t hint)
{
	struct pgmem *m = xcalloc(1, sizeof(*m));
	size_t size = BLOCK_MIN;

	while (size < hint && size < BLOCK_MAX)
		size *= 2;
	m->next_size = size - sizeof(struct pgmem_block);
	m->allocator.alloc = pgmem_alloc;
	m->allocator.free = pgmem_release;
	m->allocator.allocator_data = m;
	return m;
}

ProtobufCAllocator *pgmem_allocator(struct pgmem *m)
{
	return &m->allocator;
}

struct pgmem *pgmem_join(struct pgmem *into, struct pgmem *from)
{
	struct pgmem_block **b;
	struct pgmem_large **l, *prev = NULL;

	if (!into || !from)
		return into ? into : from;
	for (b = &into->blocks; *b; b = &(*b)->next)
		;
	*b = from->blocks;
	for (l = &into->large; *l; l = &(*l)->next)
		prev = *l;
	*l = from->large;
	if (from->large)
		from->large->prev = prev;
	free(from);
	return into;
}

void pgmem_free(struct pgmem *m)
{
	if (!m)
		return;
	while (m->blocks) {
		struct pgmem_block *next = m->blocks->next;

		free(m->blocks);
		m->blocks = next;
	}
	while (m->large) {
		struct pgmem_large *next = m->large->next;

		free(m->large);
		m->large = next;
	}
	free(m);
}
