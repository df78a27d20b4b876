/*
 * A standby's lag by WAL position (replag.h): a queue of the positions
 * batches committed at, and the age of the oldest a standby has not
 * replayed. Nothing here talks to a server.
 */
#include "engine/replag.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

void replag_note(struct replag *q, uint64_t lsn, int64_t at_ns)
{
	if (q->n && lsn <= q->marks[q->n - 1].lsn)
		return;
	XGROW(q->marks, q->alloc, q->n + 1);
	q->marks[q->n].lsn = lsn;
	q->marks[q->n].at_ns = at_ns;
	q->n++;
}

double replag_lag(const struct replag *q, uint64_t replayed, int64_t now_ns)
{
	/* marks are in order: the first beyond `replayed` is the oldest */
	for (size_t i = 0; i < q->n; i++) {
		if (q->marks[i].lsn <= replayed)
			continue;
		if (now_ns <= q->marks[i].at_ns)
			return 0;
		return (double)(now_ns - q->marks[i].at_ns) / 1e9;
	}
	return 0;
}

void replag_forget(struct replag *q, uint64_t replayed)
{
	size_t i = 0;

	while (i < q->n && q->marks[i].lsn <= replayed)
		i++;
	if (!i)
		return; /* nothing to drop; marks may be NULL */
	memmove(q->marks, q->marks + i, (q->n - i) * sizeof(*q->marks));
	q->n -= i;
}

void replag_release(struct replag *q)
{
	free(q->marks);
	memset(q, 0, sizeof(*q));
}

/* One hexadecimal half of an LSN, up to 8 digits, ending at `stop`. */
static int parse_half(uint32_t *out, const char *s, const char **end, int stop)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; *s && *s != stop; s++, n++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			return -1;
		v = v * 16 + (uint64_t)d;
		if (n >= 8)
			return -1;
	}
	if (!n || *s != stop)
		return -1;
	*out = (uint32_t)v;
	*end = s;
	return 0;
}

int replag_parse_lsn(uint64_t *out, const char *text)
{
	uint32_t hi, lo;
	const char *at;

	if (!text || parse_half(&hi, text, &at, '/') < 0 ||
	    parse_half(&lo, at + 1, &at, '\0') < 0)
		return -1;
	*out = (uint64_t)hi << 32 | lo;
	return 0;
}
