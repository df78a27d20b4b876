/* What the drivers' backup operations share */
#ifndef STRATA_BACKUP_BACKUP_H
#define STRATA_BACKUP_BACKUP_H

#include "util/common.h"
#include "engine/db.h"

struct backup_job {
	struct strata_db *db;
	const struct strata_backup_options *opts;
	const char *tmp_path;    /* write the backup here (it exists, empty) */
	struct strata_backup *b; /* the manifest: the driver fills
	                            database_name, server_version, tool,
	                            tables and newest_applied */
	int64_t last_bytes;
};

/* Reports `bytes` written so far (STRATA_EVENT_BACKUP_PROGRESS). */
void backup_progress(struct backup_job *job, int64_t bytes);
/* The newest successfully applied version in `table`; 0 when none. */
int backup_newest_applied(int64_t *out, struct strata_conn *c,
                          const struct history_tables *ht,
                          struct strata_error *err);
void backup_add_table(struct strata_backup *b, const char *name, int64_t rows);
/* Sorts the tables by name (the manifest's order). */
void backup_sort_tables(struct strata_backup *b);
/* A copy of `text` with every occurrence of `secret` replaced by "***". */
char *backup_scrub(const char *text, const char *secret);
void backup_emit(strata_event_fn fn, void *data, enum strata_event_kind kind,
                 const char *fmt, ...) STRATA_PRINTF(4, 5);

struct backup_target {
	struct strata_url url;
	bool exists;
	bool is_empty;
	char *audit; /* the audit table, quoted ("schema"."_strata_audit") */
	char *kept;  /* after a swap with is_keep_old: the old one's name */
};

/* `got`'s tables and row counts against the manifest's, both sorted by
 * name; STRATA_EVALIDATE, its message starting with `what`, if they differ. */
int backup_compare_tables(const struct strata_backup *want,
                          const struct strata_backup *got, const char *what,
                          struct strata_error *err);

struct backup_ops {
	const char *suffix; /* of the backup file: ".dump", ".sqlite" */
	unsigned formats;   /* 1u << each strata_backup_format it writes */
	/* Writes the backup of job->db to job->tmp_path. */
	int (*create)(struct backup_job *job, struct strata_error *err);
	/* That the tool reads the backup: *out_entries, what it found. */
	int (*check)(size_t *out_entries, const struct strata_backup *b,
	             const char *pg_bindir, struct strata_error *err);
	/* Restores into a scratch database; out->tables, what it holds. */
	int (*restore_test)(struct strata_backup *out,
	                    const struct strata_backup *b,
	                    const struct strata_verify_options *opts,
	                    struct strata_error *err);
	/* The target `into` names on the server of `base` (may be NULL). */
	int (*resolve)(struct strata_url *out, const struct strata_url *base,
	               const char *into, struct strata_error *err);
	/* Fills t->exists and t->is_empty. */
	int (*inspect)(struct backup_target *t, struct strata_error *err);
	/* Restores into t (its content replaced when is_clean); a failure
	 * leaves t as it was, and says so. */
	int (*restore)(const struct strata_backup *b, struct backup_target *t,
	               bool is_clean, const struct strata_restore_options *opts,
	               struct strata_error *err);
};

extern const struct backup_ops pgbackup_ops;
extern const struct backup_ops sqlitebackup_ops;

#endif
