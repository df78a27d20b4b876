/* What a driver is: a connection and its dialect */
#ifndef STRATA_DRIVERS_DRIVER_H
#define STRATA_DRIVERS_DRIVER_H

#include "util/common.h"
#include "util/arena.h"
#include "engine/url.h"
#include "util/sbuf.h"
#include "sql/split.h"
#include "drivers/batch.h"

enum driver_caps {
	DRV_ADVISORY_LOCK = 1 << 1, /* lock() excludes other runners */
	DRV_PG_SQL = 1 << 3, /* speaks PostgreSQL's SQL: the linter applies */
	DRV_SPLIT_THREADS = 1 << 4, /* split() may run on several threads */
};

struct strata_conn {
	const struct strata_driver *drv;
	int server_version;   /* PQserverVersion() style; 0 when not relevant */
	bool is_hide_queries; /* blocker reports without query texts */
	strata_event_fn on_event;
	void *event_data;
	struct progress *progress; /* while a migration's script runs */
	/* golang-migrate's table: its advisory lock is taken beside
	 * strata's, so that the two tools exclude each other (NULL: none;
	 * the schema NULL: the session's current one) */
	const char *tool_lock_schema, *tool_lock_table;
	/* strata_db_options.schema: the lock is this schema's (NULL: the
	 * database's) */
	const char *lock_scope;
	bool is_tool_lock_flyway; /* Flyway's key for that table, not golang's
	                           */
	/* after exec_batch() failed: 1 + the index of the item that failed,
	 * 0 when not known */
	size_t failed_item;
};

/* Values and rows of the generic query operation: $1…$n in both dialects. */
enum db_type {
	DBV_NULL,
	DBV_INT64,
	DBV_TEXT,
	DBV_BLOB,
};

struct db_value {
	enum db_type type;
	int64_t i;
	const char *s;
	const void *blob;
	size_t len;
	/* in a batch: not copied, it outlives the batch (a migration's text) */
	bool is_borrowed;
};

#define DBV_INT(v) ((struct db_value){ .type = DBV_INT64, .i = (v) })
#define DBV_TEXT(v) \
	((struct db_value){ .type = (v) ? DBV_TEXT : DBV_NULL, .s = (v) })
#define DBV_BYTES(p, n)     \
	((struct db_value){ \
	        .type = (p) ? DBV_BLOB : DBV_NULL, .blob = (p), .len = (n) })

/* Rows as text (NULL for SQL NULL), row-major. */
struct db_rows {
	size_t n_rows, n_cols;
	char **cells;         /* NULL for SQL NULL */
	struct arena strings; /* the cells' */
};

void db_rows_release(struct db_rows *r);
typedef int db_row_fn(void *data, const char *const *cells, size_t n_cols);
static inline const char *db_rows_get(const struct db_rows *r, size_t row,
                                      size_t col)
{
	return r->cells[row * r->n_cols + col];
}

/* One read of query_each_all(): query_each()'s arguments, its outcome. */
struct db_read {
	const char *sql;
	size_t n;
	const struct db_value *params;
	db_row_fn *fn;
	void *data;
	struct strata_error *err; /* may be NULL */
	int rc;                   /* out: query_each()'s */
};

/* The history table's name: `schema.name` or `name`. */
struct table_name {
	char *schema; /* NULL when not qualified */
	char *name;
	char *quoted; /* "schema"."name": safe to paste into SQL */
};

int table_name_parse(struct table_name *out, const char *text,
                     struct strata_error *err);
void table_name_release(struct table_name *t);

struct backup_ops;

struct strata_driver {
	const char *name;
	unsigned caps;
	int (*connect)(struct strata_conn **out, const struct strata_url *url,
	               struct strata_error *err);
	void (*close)(struct strata_conn *c);
	/* A migration's text as statements (see sql/split.h). */
	int (*split)(struct strata_script *out, const char *sql, size_t len,
	             struct strata_error *err);
	/* split() that hands over the parse trees the linter reads; NULL
	 * where the linter does not apply (no DRV_PG_SQL). */
	int (*split_keep)(struct strata_script *out, const char *sql,
	                  size_t len, struct pg_trees *keep,
	                  struct strata_error *err);
	/* Internal SQL, one or more statements, no result. */
	int (*exec)(struct strata_conn *c, const char *sql,
	            struct strata_error *err);
	/*
	 * The items of `b` in order (see batch.h), in as few round trips as
	 * the protocol allows; the first failure ends it, and what follows
	 * is not run (the caller rolls back). A migration's statements
	 * report their progress as they run; on the failure of one,
	 * err->statement is its 1-based number and err->position the
	 * server's position in it; on another item's, both are 0.
	 */
	int (*exec_batch)(struct strata_conn *c, const struct batch *b,
	                  struct strata_error *err);
	/*
	 * A batch migration's statement, $1 bound to `limit` as a bigint,
	 * in the session's transaction (the caller's BEGIN ... COMMIT): the
	 * rows it changed, and whether a session blocked it while it ran.
	 * NULL: the driver runs no batch migrations.
	 */
	int (*exec_rows)(struct strata_conn *c, const char *sql, int64_t limit,
	                 int64_t *rows, bool *was_blocked,
	                 struct strata_error *err);
	/* Ends any open or failed transaction; never fails the caller. */
	void (*rollback)(struct strata_conn *c);
	int (*lock)(struct strata_conn *c, double wait,
	            struct strata_error *err);
	void (*unlock)(struct strata_conn *c);
	/* strata_db_prepare()'s first part; NULL: nothing to open ahead. */
	void (*prepare_lock)(struct strata_conn *c);
	/*
	 * 0 while the lock taken by lock() stands, else -1 with STRATA_ELOCK:
	 * its session ended, and another runner may hold it now. Cheap
	 * enough before every commit. NULL: a lock that is lost only with
	 * the connection itself.
	 */
	int (*lock_check)(struct strata_conn *c, struct strata_error *err);
	/*
	 * After creating strata's table `t` (`what`: "audit table") failed
	 * with `err`: 0 (err released) when it exists after all, else -1
	 * with err saying what strata was creating and how to let it. NULL:
	 * err stands as it is.
	 */
	int (*create_failed)(struct strata_conn *c, const struct table_name *t,
	                     const char *what, struct strata_error *err);
	/* Who holds the migration lock, from another session; NULL: no
	 * runner can be seen (out says none). */
	int (*runner)(struct strata_conn *c, struct strata_runner *out,
	              struct strata_error *err);
	/* Whether table `t` exists (a table, not a view: SQLite's schema). */
	int (*table_exists)(bool *out, struct strata_conn *c,
	                    const struct table_name *t,
	                    struct strata_error *err);
	/* table_exists() of each of `t`, into out[i], asked at once (one
	 * statement where the dialect allows). */
	int (*tables_exist)(bool *out, struct strata_conn *c,
	                    const struct table_name *const *t, size_t n,
	                    struct strata_error *err);
	/*
	 * Generic parameterised SQL ($1…$n), for strata's own tables; rows
	 * (as text) into `out` when not NULL.
	 */
	int (*query)(struct strata_conn *c, const char *sql, size_t n,
	             const struct db_value *params, struct db_rows *out,
	             struct strata_error *err);
	/* query() of many rows without holding them: `fn` sees each row's
	 * cells (as text, NULL for NULL, valid during the call); its -1
	 * stops the read and is returned. */
	int (*query_each)(struct strata_conn *c, const char *sql, size_t n,
	                  const struct db_value *params, db_row_fn *fn,
	                  void *data, struct strata_error *err);
	/*
	 * query_each() of each read, in order, in one round trip where the
	 * protocol allows; each has its own outcome (reads[i].rc, .err). One
	 * that fails on the server leaves those after it unrun: their rc is
	 * -1 too. Returns -1 when any failed.
	 */
	int (*query_each_all)(struct strata_conn *c, struct db_read *reads,
	                      size_t n);
	/* Dialect pieces for generic SQL (printf formats where noted). */
	const char *audit_ddl; /* %s: the quoted audit table name */
	/* sqlx's CREATE TABLE IF NOT EXISTS of its history table, byte for
	 * byte; %s: the table as ddl_name() writes it */
	const char *history_ddl;
	/* The table's name in history_ddl; NULL: its quoted name. */
	void (*ddl_name)(struct sbuf *out, const struct table_name *t);
	const char *current_user; /* an expression, "NULL" when none */
	/*
	 * An expression: the nanoseconds since the transaction began, on
	 * the server's clock, kept for elapsed_ns_again, the same value
	 * later in the transaction; NULL when none. With it a migration's
	 * history and audit rows are timed by the server, sent with its
	 * statements and COMMIT in one batch: one round trip.
	 */
	const char *elapsed_ns, *elapsed_ns_again;
	/*
	 * For migrations sent without waiting for the ones before
	 * (exec_batch() calling the batch's on_script): a statement marking
	 * where a migration starts on the server's clock, the nanoseconds
	 * since that mark (kept for elapsed_ns_again, as elapsed_ns is), and
	 * the mark as a TIMESTAMPTZ; NULL when the driver does not pipeline.
	 * Such a driver sets the mark with a transaction's timeouts when
	 * their item says so (batch_item.is_marking).
	 */
	const char *mark_step, *elapsed_since_mark, *marked_at;
	const char *iso_time; /* %s: a column, as ISO 8601 UTC text */
	/* %1$s: a column of sqlx's installed_on, as ISO 8601 UTC text, NULL
	 * when it cannot say */
	const char *timestamp_iso;
	const char *hex; /* %s: a column of bytes, as hex text */
	int (*database_create)(const struct strata_url *url,
	                       struct strata_error *err);
	int (*database_drop)(const struct strata_url *url, bool is_force,
	                     struct strata_error *err);
	int (*database_exists)(bool *out, const struct strata_url *url,
	                       struct strata_error *err);
	/*
	 * The connection's library handle, for the backups, which speak the
	 * same library: a PGconn * (libpq) for postgres, a sqlite3 * for
	 * sqlite. Borrowed: valid while the connection is open.
	 */
	void *(*handle)(struct strata_conn *c);
	/* backups: NULL when the driver has none */
	const struct backup_ops *backup;
};

extern const struct strata_driver pgdrv_driver;
extern const struct strata_driver sqlitedrv_driver;

/* The SQLite driver's error mapping (for backup_sqlite.c) */
struct sqlite3;
int sqlitedrv_error(struct strata_error *err, struct sqlite3 *db, int rc);

const struct strata_driver *driver_for_url(const struct strata_url *url);
/* The driver called `name` ("postgres", "sqlite"), or NULL. */
const struct strata_driver *driver_by_name(const char *name);
void driver_emit(struct strata_conn *c, const struct strata_event *ev);

#endif
