/* Strata's own record of every action */
#ifndef STRATA_ENGINE_AUDIT_H
#define STRATA_ENGINE_AUDIT_H

#include "util/common.h"
#include "engine/db.h"

#define AUDIT_TABLE "_strata_audit"

struct audit_entry {
	const char *action; /* apply, revert, fail, repair, ... */
	int64_t version;
	bool is_versionless; /* of no migration (lock timeout, restore) */
	const char *description;
	const unsigned char *checksum; /* NULL or STRATA_CHECKSUM_LEN bytes */
	bool is_success;
	const struct strata_error *error; /* when it failed */
	int64_t started_at_ns;            /* wall clock, Unix epoch */
	int64_t duration_ns;
	const char *source_dir; /* for the git commit; NULL: none */
	const char *up_sql, *down_sql;
	const char *note; /* stored as the error text of a success */
	/* the driver's elapsed_ns_again: the duration, and the end after
	 * the start, as the server timed them for the history's row */
	const char *elapsed_ns;
	/* with elapsed_ns: the start on the server's clock (the driver's
	 * marked_at), for a migration sent before the ones ahead of it ran;
	 * NULL: started_at_ns */
	const char *started_at_sql;
	/* a batch migration's run: the rows it changed, in how many
	 * batches (columns a trail created before them gains on first use) */
	bool has_batches;
	int64_t rows, batches;
	/* the version as the layout writes it (Flyway's 1.2 or R__NAME,
	 * diesel's digits); NULL: the source's migration of `version` */
	const char *version_text;
};

/* Creates the audit table when missing, or adds its version_text. */
int audit_ensure(struct strata_db *db, struct strata_error *err);
/* Its CREATE TABLE IF NOT EXISTS; audit_created() once it has run. */
void audit_ddl(struct sbuf *sql, const struct strata_db *db);
void audit_created(struct strata_db *db);
/* git's commit of the source folder `dir` asked for now, in the
 * background, for the rows to come (NULL: no folder, nothing asked);
 * audit_forget_git() drops an answer no row took. */
void audit_look_up_git(struct strata_db *db, const char *dir);
void audit_forget_git(struct strata_db *db);
/* The audit table's rows_changed and batches, added when missing: a
 * trail created by an older strata lacks them. */
int audit_add_batch_columns(struct strata_db *db, struct strata_error *err);
/* Records one action; in the caller's transaction when one is open. */
int audit_add(struct strata_db *db, const struct audit_entry *e,
              struct strata_error *err);
/* The same row added to `b`: a migration's transaction ends with it. */
void audit_add_to(struct batch *b, struct strata_db *db,
                  const struct audit_entry *e);
/* The same, on a failure path: errors are dropped, nothing is created. */
void audit_add_quietly(struct strata_db *db, const struct audit_entry *e);
/* The texts recorded when `version` was last applied (or re-blessed);
 * all NULL when the trail holds none. Release with audit_texts_release(). */
struct audit_texts {
	char *up_sql, *down_sql, *description;
};
int audit_stored(struct audit_texts *out, struct strata_db *db,
                 int64_t version);
void audit_texts_release(struct audit_texts *t);
/* Records a failure where the trail already exists (no lock is held). */
void audit_add_if_present(struct strata_db *db, const struct audit_entry *e);
int64_t audit_now_ns(void);
/* The query of version, id, "user@host" of every successful apply-like
 * action, in no order; the newest id per version is who applied it. */
void audit_applied_by_sql(struct sbuf *out, const struct strata_db *db);
/* Each version reverted (successfully) at some time, with its newest
 * revert's time as ISO 8601: `fn` sees (version, time); no trail, no
 * rows. */
int audit_reverted(struct strata_db *db, db_row_fn *fn, void *data);

#endif
