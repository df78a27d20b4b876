/* Positions and encodings */
#ifndef STRATA_UTIL_TEXT_H
#define STRATA_UTIL_TEXT_H

#include "util/common.h"
#include "util/sbuf.h"

/* Byte offset of the 1-based character `pos` of UTF-8 `s` (clamped). */
size_t text_char_to_byte(const char *s, size_t len, int pos);
/* 1-based line and column (in characters) of byte `offset` in `s`. */
void text_line_col(const char *s, size_t len, size_t offset, int *line,
                   int *col);
/* Byte offset of the first invalid UTF-8 sequence, or len when valid. */
size_t text_utf8_invalid_at(const char *s, size_t len);
/* Start of the line holding `offset`, and its length without newline. */
void text_line_at(const char *s, size_t len, size_t offset,
                  const char **line_start, size_t *line_len);
int64_t text_monotonic_ns(void);
/* `s` escaped as strata_printable() says, appended to `sb`. */
void sbuf_add_printable(struct sbuf *sb, const char *s, size_t len,
                        unsigned flags);

#endif
