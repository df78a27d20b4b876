/*
 * Growing NUL-terminated strings, after git's strbuf: `buf` is never NULL,
 * so callers print or compare it without checks. Also the two ways SQL
 * text is assembled safely (identifiers, literals) and the capped file
 * read every migration goes through.
 */
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char sbuf_empty[1];

void sbuf_init(struct sbuf *sb, size_t hint)
{
	sb->buf = sbuf_empty;
	sb->len = 0;
	sb->alloc = 0;
	if (hint)
		sbuf_grow(sb, hint);
}

void sbuf_release(struct sbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	sbuf_init(sb, 0);
}

void sbuf_reset(struct sbuf *sb)
{
	sb->len = 0;
	if (sb->alloc)
		sb->buf[0] = '\0';
}

char *sbuf_detach(struct sbuf *sb, size_t *len)
{
	char *p;

	if (len)
		*len = sb->len;
	p = sb->alloc ? sb->buf : xstrdup("");
	sbuf_init(sb, 0);
	return p;
}

void sbuf_grow(struct sbuf *sb, size_t extra)
{
	bool was_empty = !sb->alloc;

	if (sb->len + extra + 1 <= sb->alloc)
		return;
	if (was_empty)
		sb->buf = NULL;
	xgrow((void **)&sb->buf, &sb->alloc, sb->len + extra + 1, 1);
	if (was_empty)
		sb->buf[0] = '\0';
}

void sbuf_add(struct sbuf *sb, const void *data, size_t len)
{
	if (!len)
		return;
	sbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sbuf_adds(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void sbuf_addch(struct sbuf *sb, char c)
{
	sbuf_grow(sb, 1);
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = '\0';
}

void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc ? sb->alloc - sb->len : 0,
	              fmt, cp);
	va_end(cp);
	if (n < 0)
		BUG("vsnprintf failed");
	if (sb->len + (size_t)n + 1 > sb->alloc) {
		sbuf_grow(sb, (size_t)n);
		n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

static void add_quoted(struct sbuf *sb, const char *s, char q)
{
	sbuf_addch(sb, q);
	for (; *s; s++) {
		if (*s == q)
			sbuf_addch(sb, q);
		sbuf_addch(sb, *s);
	}
	sbuf_addch(sb, q);
}

void sbuf_add_ident(struct sbuf *sb, const char *ident)
{
	add_quoted(sb, ident, '"');
}

void sbuf_add_literal(struct sbuf *sb, const char *text)
{
	add_quoted(sb, text, '\'');
}

void sbuf_add_hex(struct sbuf *sb, const unsigned char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	sbuf_grow(sb, len * 2);
	for (size_t i = 0; i < len; i++) {
		sb->buf[sb->len++] = hex[data[i] >> 4];
		sb->buf[sb->len++] = hex[data[i] & 15];
	}
	sb->buf[sb->len] = '\0';
}

int sbuf_read_file(struct sbuf *sb, const char *path, size_t max,
                   struct strata_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = -1;

	if (fd < 0)
		return strata_error_set(err, STRATA_EFAILED,
		                        "could not open '%s': %s", path,
		                        strerror(errno));
	if (fstat(fd, &st) < 0) {
		strata_error_set(err, STRATA_EFAILED, "could not stat '%s': %s",
		                 path, strerror(errno));
		goto done;
	}
	if ((uint64_t)st.st_size > max)
		goto too_large;
	sbuf_grow(sb, (size_t)st.st_size);
	for (;;) {
		ssize_t n;

		sbuf_grow(sb, 8192);
		n = read(fd, sb->buf + sb->len, sb->alloc - sb->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strata_error_set(err, STRATA_EFAILED,
			                 "could not read '%s': %s", path,
			                 strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		sb->len += (size_t)n;
		sb->buf[sb->len] = '\0';
		if (sb->len > max)
			goto too_large;
	}
	rc = 0;
	goto done;
too_large:
	strata_error_set(err, STRATA_EVALIDATE,
	                 "'%s' is larger than the limit of %zu bytes", path,
	                 max);
	strata_error_hint(err, "Split the migration, or raise the limit.");
done:
	close(fd);
	return rc;
}
