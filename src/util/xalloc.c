/*
 * Allocation that never returns NULL: on exhaustion one hook runs, whose
 * default prints and aborts (as jq does). Callers never test for NULL.
 */
#include "util/xalloc.h"
#include "util/sbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void default_oom(size_t size)
{
	fprintf(stderr, "strata: out of memory (wanted %zu bytes)\n", size);
	abort();
}

static strata_oom_fn oom_handler = default_oom;

void strata_set_oom_handler(strata_oom_fn fn)
{
	oom_handler = fn ? fn : default_oom;
}

static void *checked(void *p, size_t size)
{
	if (!p) {
		oom_handler(size);
		abort(); /* a handler must not return */
	}
	return p;
}

void *xmalloc(size_t size)
{
	return checked(malloc(size ? size : 1), size);
}

void *xcalloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		checked(NULL, SIZE_MAX);
	return checked(calloc(n ? n : 1, size ? size : 1), n * size);
}

void *xrealloc(void *p, size_t size)
{
	return checked(realloc(p, size ? size : 1), size);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xstrfmt(const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return sbuf_detach(&sb, NULL);
}

void xgrow(void **p, size_t *alloc, size_t n, size_t size)
{
	size_t want;

	if (n <= *alloc)
		return;
	want = *alloc < 8 ? 8 : *alloc;
	while (want < n) {
		if (want > SIZE_MAX / 2)
			checked(NULL, SIZE_MAX);
		want *= 2;
	}
	if (want > SIZE_MAX / size)
		checked(NULL, SIZE_MAX);
	*p = xrealloc(*p, want * size);
	*alloc = want;
}

_Noreturn void strata_bug(const char *file, int line, const char *msg)
{
	fprintf(stderr, "strata: BUG: %s:%d: %s\n", file, line, msg);
	abort();
}
