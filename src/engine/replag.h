/*
 * A standby's lag measured by WAL position rather than read from
 * pg_stat_replication (whose replay_lag is NULL or stale on an idle
 * primary, and absent behind a cascade): after each batch commits, the
 * primary's WAL position and the time are noted; a standby that has
 * replayed up to some position lags by the age of the oldest noted
 * batch beyond it. Pure arithmetic: the caller asks the servers.
 */
#ifndef STRATA_ENGINE_REPLAG_H
#define STRATA_ENGINE_REPLAG_H

#include "util/common.h"

struct replag_mark {
	uint64_t lsn;  /* the primary's WAL position after the commit */
	int64_t at_ns; /* when (monotonic) */
};

struct replag {
	struct replag_mark *marks; /* oldest first, lsn increasing */
	size_t n, alloc;
};

#define REPLAG_INIT        \
	{                  \
		NULL, 0, 0 \
	}

/*
 * Notes a commit at `lsn`, `at_ns`. A position not beyond the last noted
 * one (no WAL since) adds nothing: the older mark already stands for it,
 * with the older time.
 */
void replag_note(struct replag *q, uint64_t lsn, int64_t at_ns);
/* Seconds since the oldest mark beyond `replayed`; 0 when none is. */
double replag_lag(const struct replag *q, uint64_t replayed, int64_t now_ns);
/* Drops the marks at or below `replayed` (by every standby). */
void replag_forget(struct replag *q, uint64_t replayed);
void replag_release(struct replag *q);
/* PostgreSQL's pg_lsn text, "16/B374D848": 0 on success, -1 if not one. */
int replag_parse_lsn(uint64_t *out, const char *text);

#endif
