/*
 * What drift's files share (drift.c, the comparison and the check;
 * drift_shadow.c, the shadow database): nothing outside includes it.
 */
#ifndef STRATA_BACKUP_DRIFT_H
#define STRATA_BACKUP_DRIFT_H

#include "util/common.h"
#include "engine/url.h"
#include "engine/db.h"

struct shadow {
	struct strata_url url; /* PostgreSQL's temporary one: to drop */
	char *path;            /* SQLite's temporary file: to remove */
	bool is_created;       /* a database of ours: dropped afterwards */
	bool is_emptied;       /* a given one: emptied afterwards too */
	char *cluster_dir;     /* a private cluster's: stopped, removed */
	long cluster_pid;      /* its postmaster */
	char *cluster_bin;     /* its programs' directory */
	int cluster_major;
	struct strata_db *db;
};

/*
 * The shadow of `db` for `sub` (the migrations to apply), as `opts` says:
 * a given one checked and emptied, else a temporary database or file;
 * *out_name, what to call it in messages (caller frees).
 */
int drift_shadow_open(struct shadow *s, struct strata_db *db,
                      const struct strata_source *sub,
                      const struct strata_drift_options *opts, char **out_name,
                      struct strata_error *err);
/* Closes it, dropping or emptying what it made: on every path. */
void drift_shadow_remove(struct shadow *s, struct strata_db *db,
                         const char *name);
/*
 * drift_cluster.c: a private throwaway cluster of db's server's major
 * version (its programs in `bindir` when set), started in a temporary
 * directory; *out_url to connect to it, *out_name to call it (caller
 * frees). is_fallback: because the role may not create a database (its
 * errors say so). On failure, s->cluster_dir may still need
 * drift_cluster_stop().
 */
int drift_cluster_start(struct shadow *s, struct strata_db *db,
                        const char *bindir, bool is_fallback, char **out_url,
                        char **out_name, struct strata_error *err);
/* Once connected: db's roles made on it, for GRANTs and owners. */
void drift_cluster_ready(struct shadow *s, struct strata_db *db);
/* Stops it and removes its directory; nothing when there is none. */
void drift_cluster_stop(struct shadow *s);
/* A failure on the shadow said as one; a missing extension named. */
void drift_shadow_failed(struct strata_error *err, const char *shadow);
/* Every extension `sub` creates that the shadow's server lacks, at once. */
int drift_check_extensions(const struct shadow *s,
                           const struct strata_source *sub,
                           struct strata_error *err);

#endif
