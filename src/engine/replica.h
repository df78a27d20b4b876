/*
 * The standbys a run's batch migrations throttle on (strata_run_options'
 * replicas): a session on each, asked how far it has replayed, and the
 * WAL positions the batches committed at (engine/replag.h).
 */
#ifndef STRATA_ENGINE_REPLICA_H
#define STRATA_ENGINE_REPLICA_H

#include "util/common.h"
#include "engine/url.h"
#include "engine/replag.h"

struct strata_db;

struct replica {
	struct strata_url url;
	struct strata_conn *conn; /* NULL: lost, tried again at each look */
	uint64_t replayed;        /* as it last said */
	int64_t lost_ns; /* since when it has not answered; 0: it has */
	char *why;       /* what failed when it did not */
};

struct replicas {
	struct replica *v;
	size_t n;
	struct replag marks;
};

/*
 * Reaches each of `urls` and checks that it is a standby (in recovery)
 * of `db`'s server when that can be told: STRATA_ECONNECT or
 * STRATA_EUSAGE naming the replica (redacted) otherwise.
 */
int replicas_open(struct replicas **out, struct strata_db *db,
                  const char *const *urls, size_t n, struct strata_error *err);
void replicas_free(struct replicas *rs);
/* After a batch's COMMIT: the primary's WAL position, and now. */
int replicas_note(struct replicas *rs, struct strata_db *db,
                  struct strata_error *err);

struct replicas_look {
	double lag;                   /* the most lagging one's seconds */
	const struct replica *behind; /* that one; NULL when none lags */
	const struct replica *lost;   /* the one lost longest; NULL: none */
};

/*
 * Asks every standby (reconnecting the lost ones) how far it has
 * replayed. A standby that cannot be asked is `lost`, not an error; one
 * that answers but is no longer in recovery (promoted) is STRATA_EFAILED.
 * The marks every standby has replayed are dropped.
 */
int replicas_look(struct replicas_look *out, struct replicas *rs,
                  struct strata_error *err);

#endif
