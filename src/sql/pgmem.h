/*
 * The memory of libpg_query's unpacked trees and tokens. protobuf-c
 * unpacks a tree in one allocation per message, string and array, and
 * freeing it one by one walked the whole tree again: a tenth of an
 * apply's CPU. Here a tree is cut from a few blocks and freed all at once.
 */
#ifndef STRATA_SQL_PGMEM_H
#define STRATA_SQL_PGMEM_H

#include "util/common.h"

#include <protobuf-c/protobuf-c.h>

struct pgmem;

/* Memory for about `hint` bytes of unpacked messages (0: unknown). */
struct pgmem *pgmem_new(size_t hint);
/* What protobuf-c's unpack functions take to allocate from `m`. */
ProtobufCAllocator *pgmem_allocator(struct pgmem *m);
/* `from`'s memory handed to `into` (either may be NULL); `from` is gone. */
struct pgmem *pgmem_join(struct pgmem *into, struct pgmem *from);
/* Everything allocated from `m` freed (NULL is fine). */
void pgmem_free(struct pgmem *m);

#endif
