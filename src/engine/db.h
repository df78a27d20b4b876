/* An open database: connection, tables, options */
#ifndef STRATA_ENGINE_DB_H
#define STRATA_ENGINE_DB_H

#include "util/common.h"
#include "engine/history.h"
#include "drivers/driver.h"
#include "engine/progress.h"

/* What a question asked ahead said of a table. */
enum table_seen { TABLE_UNASKED, TABLE_MISSING, TABLE_THERE };

struct strata_db {
	const struct strata_driver *drv;
	struct strata_conn *conn;
	struct strata_url url;
	struct history_tables hist; /* sqlx's until a source's layout says */
	char *table_text;           /* opts.table, owned: the tool's table */
	char *schema;               /* opts.schema, owned */
	struct table_name audit;    /* beside the history table */
	/* as given, but lock_wait as the drivers take it: 0 is one try */
	struct strata_db_options opts;
	char *command;    /* opts.command, owned */
	char *git_commit; /* of the source, once looked up */
	bool has_git_lookup;
	struct git_lookup *git; /* git asked, not yet answered (audit.c) */
	/* the audit rows' os_user, host and pid, looked up once: the user's
	 * lookup reads /etc/passwd, which a run of many migrations felt */
	char *os_user, *host;
	int64_t pid;
	bool has_identity;
	bool has_audit; /* the audit table is known to exist */
	/* the audit table, asked about ahead (strata_db_prepare()): strata
	 * never drops it, so one seen there is there under the lock */
	enum table_seen audit_seen;
	bool is_layout_bound; /* by the first source: db_bind_layout() */
	/* golang-migrate's table, asked about before the layout is bound
	 * (status's first read, strata_db_prepare()): what binding a folder
	 * of pairs would ask first */
	enum table_seen golang_seen;
	bool is_lock_probe; /* this attempt has another after it: see migrate.c
	                     */
	int64_t lock_wait_ns; /* of the current command */
	/* the caller holds the lock across commands (strata test on its
	 * shadow): each keeps it rather than releasing it */
	bool is_lock_kept;
	/* and alone writes the history there: read once, then kept in step
	 * with each transactional step that commits, read again after
	 * anything else (step.c); has_kept: `kept` is what the table holds */
	bool is_history_kept, has_kept;
	struct history kept;
	/* of the step that just ended: its statements' time, the figure its
	 * history row records (execution_time), which run also prints */
	int64_t step_ns;
	/* and its account beyond the time, said with its APPLY_DONE (a
	 * batch migration's rows and batches); NULL: none */
	char *step_note;
	bool has_batch_columns; /* the audit table's rows and batches */
	bool has_version_text;  /* the audit table's version_text */
	/* the folder of the current command's source, for the git commit;
	 * NULL when it has none (embedded), borrowed */
	const char *source_dir;
	struct progress progress;
	/* the standbys a run's batch migrations ask for their lag (NULL:
	 * none given), while strata_migrate_run() lasts */
	struct replicas *replicas;
};

/*
 * Whether a question asked before the folder's layout is bound (status's
 * first read, strata_db_prepare()) should ask if golang-migrate's table is
 * there, which binding a folder of pairs asks first: its name in `out`
 * (release it either way). db_golang_seen() records the answer.
 */
bool db_golang_to_ask(struct table_name *out, const struct strata_db *db);
void db_golang_seen(struct strata_db *db, bool is_there);
/*
 * The history tables of `src`'s layout (design.md, Layouts): the first
 * source a command brings decides them; another layout later on the same
 * handle is STRATA_EUSAGE.
 */
int db_bind_layout(struct strata_db *db, const struct strata_source *src,
                   struct strata_error *err);

/* Runs `b` (see batch.h), then empties it whatever the outcome. */
int db_exec_batch(struct strata_db *db, struct batch *b,
                  struct strata_error *err);
/* A one-item batch: BEGIN, or COMMIT. */
int db_begin(struct strata_db *db, struct strata_error *err);
int db_commit(struct strata_db *db, struct strata_error *err);

/* Both accept db == NULL (the event is dropped). */
void db_emit(struct strata_db *db, const struct strata_event *ev);
void db_emit_migration(struct strata_db *db, enum strata_event_kind kind,
                       const struct strata_migration *m, int64_t duration_ns);
void db_emit_warning(struct strata_db *db, const struct strata_migration *m,
                     const char *fmt, ...) STRATA_PRINTF(3, 4);

#endif
