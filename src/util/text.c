/*
 * Positions in text: PostgreSQL reports error positions in characters,
 * editors want lines and columns, and files must be valid UTF-8. Also what
 * of a text can be shown as it is: strata prints names and messages it did
 * not write, which must not drive the terminal that shows them.
 */
#include "util/text.h"
#include "util/sbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool is_continuation(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

size_t text_char_to_byte(const char *s, size_t len, int pos)
{
	size_t i = 0;

	for (int ch = 1; ch < pos && i < len; ch++) {
		i++;
		while (i < len && is_continuation((unsigned char)s[i]))
			i++;
	}
	return i;
}

void text_line_col(const char *s, size_t len, size_t offset, int *line,
                   int *col)
{
	int l = 1, c = 1;

	if (offset > len)
		offset = len;
	for (size_t i = 0; i < offset; i++) {
		if (s[i] == '\n') {
			l++;
			c = 1;
		} else if (!is_continuation((unsigned char)s[i])) {
			c++;
		}
	}
	if (line)
		*line = l;
	if (col)
		*col = c;
}

void text_line_at(const char *s, size_t len, size_t offset,
                  const char **line_start, size_t *line_len)
{
	size_t b = offset > len ? len : offset, e;

	while (b > 0 && s[b - 1] != '\n')
		b--;
	e = b;
	while (e < len && s[e] != '\n')
		e++;
	if (e > b && s[e - 1] == '\r')
		e--;
	*line_start = s + b;
	*line_len = e - b;
}

/* RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF. */
size_t text_utf8_invalid_at(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			uint64_t w;

			/* ASCII, eight bytes at a time: most SQL is */
			while (len - i >= 8 && (memcpy(&w, s + i, 8),
			                        !(w & 0x8080808080808080u)))
				i += 8;
			if (i < len && s[i] < 0x80)
				i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (n > len - i - 1)
			return i; /* truncated sequence */
		for (size_t k = 1; k <= n; k++) {
			if (!is_continuation(s[i + k]))
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += n + 1;
	}
	return len;
}

/* Bytes of the valid UTF-8 sequence at s (its code point in *cp), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n = s[0] < 0xC0 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;

	if (!n || n > len || text_utf8_invalid_at((const char *)s, n) != n)
		return 0;
	*cp = n == 2 ? s[0] & 0x1F : n == 3 ? s[0] & 0x0F : s[0] & 0x07;
	for (size_t k = 1; k < n; k++)
		*cp = (*cp << 6) | (s[k] & 0x3F);
	return n;
}

/* C1 controls (CSI is U+009B), and the bidirectional embeddings,
 * overrides and isolates that make a line read other than it is. */
static bool is_unsafe_code_point(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* Bytes of the unsafe character at s[0], 0 when it is safe (see
 * strata_printable()); *cp is a code point to show as \uXXXX, or -1. */
static size_t unsafe_at(const unsigned char *s, size_t len, unsigned flags,
                        int32_t *cp)
{
	uint32_t u;
	size_t n;

	*cp = -1;
	if (s[0] < 0x80) {
		if ((flags & STRATA_PRINTABLE_LINES) &&
		    (s[0] == '\n' || s[0] == '\t'))
			return 0;
		return s[0] < 0x20 || s[0] == 0x7F;
	}
	n = utf8_seq(s, len, &u);
	if (!n)
		return 1;
	if (!is_unsafe_code_point(u))
		return 0;
	*cp = (int32_t)u;
	return n;
}

void sbuf_add_printable(struct sbuf *sb, const char *str, size_t len,
                        unsigned flags)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, safe = 0;

	while (i < len) {
		int32_t cp;
		size_t n = unsafe_at(s + i, len - i, flags, &cp);

		if (!n) {
			/* a safe character: a multi-byte one whole */
			uint32_t u;
			size_t k =
			        s[i] < 0x80 ? 1 : utf8_seq(s + i, len - i, &u);

			i += k;
			continue;
		}
		sbuf_add(sb, s + safe, i - safe);
		if (cp >= 0)
			sbuf_addf(sb, "\\u%04" PRIx32, (uint32_t)cp);
		else if (s[i] == '\n')
			sbuf_adds(sb, "\\n");
		else if (s[i] == '\r')
			sbuf_adds(sb, "\\r");
		else if (s[i] == '\t')
			sbuf_adds(sb, "\\t");
		else
			sbuf_addf(sb, "\\x%02x", s[i]);
		i += n;
		safe = i;
	}
	sbuf_add(sb, s + safe, len - safe);
}

char *strata_printable(const char *str, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)str;
	struct sbuf sb = SBUF_INIT;
	size_t len = strlen(str), i = 0;

	/* most text is plain ASCII: found safe without a copy */
	while (i < len && s[i] >= 0x20 && s[i] < 0x7F)
		i++;
	for (; i < len; i++) {
		int32_t cp;
		uint32_t u;

		if (unsafe_at(s + i, len - i, flags, &cp))
			break;
		if (s[i] >= 0x80)
			i += utf8_seq(s + i, len - i, &u) - 1;
	}
	if (i == len)
		return NULL;
	sbuf_add_printable(&sb, str, len, flags);
	return sbuf_detach(&sb, NULL);
}

int64_t text_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int strata_parse_duration(double *out, const char *text)
{
	char *end;
	double v;

	if (strcmp(text, "forever") == 0 || strcmp(text, "-1") == 0) {
		*out = -1;
		return 0;
	}
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || v < 0 || !isfinite(v))
		return -1;
	if (!*end || strcmp(end, "s") == 0)
		*out = v;
	else if (strcmp(end, "ms") == 0)
		*out = v / 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		*out = v * 60;
	else if (strcmp(end, "h") == 0)
		*out = v * 3600;
	else if (strcmp(end, "d") == 0)
		*out = v * 86400;
	else if (strcmp(end, "w") == 0)
		*out = v * 7 * 86400;
	else
		return -1;
	return 0;
}
