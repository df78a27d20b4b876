/* Growing strings (like git's strbuf) */
#ifndef STRATA_UTIL_SBUF_H
#define STRATA_UTIL_SBUF_H

#include "util/common.h"

struct sbuf {
	char *buf; /* never NULL, always NUL-terminated */
	size_t len;
	size_t alloc; /* private */
};
extern char sbuf_empty[];
#define SBUF_INIT                \
	{                        \
		sbuf_empty, 0, 0 \
	}

void sbuf_init(struct sbuf *sb, size_t hint);
void sbuf_release(struct sbuf *sb);
void sbuf_reset(struct sbuf *sb);
char *sbuf_detach(struct sbuf *sb, size_t *len);
void sbuf_grow(struct sbuf *sb, size_t extra);
void sbuf_add(struct sbuf *sb, const void *data, size_t len);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addch(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) STRATA_PRINTF(2, 3);
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap);
/* "name" with embedded quotes doubled: an SQL identifier. */
void sbuf_add_ident(struct sbuf *sb, const char *ident);
/* 'text' with embedded quotes doubled: an SQL string literal. */
void sbuf_add_literal(struct sbuf *sb, const char *text);
/* Lower-case hex of `len` bytes. */
void sbuf_add_hex(struct sbuf *sb, const unsigned char *data, size_t len);
/*
 * Reads the whole file at `path` into `sb` (appending). Fails with
 * STRATA_EVALIDATE naming the file when it is larger than `max` bytes, and
 * with STRATA_EFAILED when it cannot be read.
 */
int sbuf_read_file(struct sbuf *sb, const char *path, size_t max,
                   struct strata_error *err);

#endif
