/*
 * Declarations shared by the library's files. Every file of src/ includes
 * this first. Nothing here is public: the public API is include/strata.h.
 */
#ifndef STRATA_INTERNAL_H
#define STRATA_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"
/* last, so that system headers' inline definitions are not renamed */
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED(x)     ((void)(x))

/* An impossible state: report where and abort. Never for bad input. */
#define BUG(msg) strata_bug(__FILE__, __LINE__, (msg))
_Noreturn void strata_bug(const char *file, int line, const char *msg);

/* ---- xalloc.c: allocation that never returns NULL ---------------------- */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xstrfmt(const char *fmt, ...) STRATA_PRINTF(1, 2);
/* Grow `*p` (of `*alloc` elements of `size`) to hold at least `n`. */
void xgrow(void **p, size_t *alloc, size_t n, size_t size);
#define XGROW(p, alloc, n) xgrow((void **)&(p), &(alloc), (n), sizeof(*(p)))

/* ---- sbuf.c: growing strings (like git's strbuf) ------------------------ */
struct sbuf {
	char *buf; /* never NULL, always NUL-terminated */
	size_t len;
	size_t alloc; /* private */
};
extern char sbuf_empty[];
#define SBUF_INIT                \
	{                        \
		sbuf_empty, 0, 0 \
	}

void sbuf_init(struct sbuf *sb, size_t hint);
void sbuf_release(struct sbuf *sb);
void sbuf_reset(struct sbuf *sb);
char *sbuf_detach(struct sbuf *sb, size_t *len);
void sbuf_grow(struct sbuf *sb, size_t extra);
void sbuf_add(struct sbuf *sb, const void *data, size_t len);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addch(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) STRATA_PRINTF(2, 3);
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap);
/* "name" with embedded quotes doubled: an SQL identifier. */
void sbuf_add_ident(struct sbuf *sb, const char *ident);
/* 'text' with embedded quotes doubled: an SQL string literal. */
void sbuf_add_literal(struct sbuf *sb, const char *text);
/* Lower-case hex of `len` bytes. */
void sbuf_add_hex(struct sbuf *sb, const unsigned char *data, size_t len);
/*
 * Reads the whole file at `path` into `sb` (appending). Fails with
 * STRATA_EVALIDATE naming the file when it is larger than `max` bytes, and
 * with STRATA_EFAILED when it cannot be read.
 */
int sbuf_read_file(struct sbuf *sb, const char *path, size_t max,
                   struct strata_error *err);

/* ---- arena.c: memory freed all at once ---------------------------------- */
struct arena_block;
struct arena {
	struct arena_block *head;
};
#define ARENA_INIT   \
	{            \
		NULL \
	}
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strfmt(struct arena *a, const char *fmt, ...) STRATA_PRINTF(2, 3);
void arena_release(struct arena *a);

/* ---- error.c ------------------------------------------------------------ */
/* Adds the file, and line/column computed from a byte offset into it. */
void error_set_location(struct strata_error *err, const char *file,
                        const char *text, size_t len, size_t offset);
/* Moves everything of `src` into `dst` (releasing what dst held). */
void error_move(struct strata_error *dst, struct strata_error *src);
/* Prefixes the primary message: "PREFIX: message". */
void error_prefix(struct strata_error *err, const char *fmt, ...)
        STRATA_PRINTF(2, 3);

/* ---- cancel.c: what strata_cancel() reaches ---------------------------- */
/* Something strata_cancel() stops: `fn` must be async-signal-safe. */
struct cancel_hook {
	void (*fn)(struct cancel_hook *h);
};

/* Hooks are registered while their object can be stopped, and
 * unregistered before it is freed. */
void cancel_register(struct cancel_hook *h);
void cancel_unregister(struct cancel_hook *h);
/* Around a connect that cannot be interrupted: strata_cancel() then tells
 * its caller to exit instead of waiting. */
void cancel_connecting(bool is_start);
/* 0, or -1 with STRATA_ECANCELED ("cancelled") once strata_cancel() ran:
 * before each step that could take long. */
int cancel_check(struct strata_error *err);
/* pthread_create() of a thread that blocks every signal but faults, so
 * that the program's handlers run on its own thread. */
int cancel_thread_create(pthread_t *out, void *(*fn)(void *), void *arg);

/* ---- text.c: positions and encodings ------------------------------------ */
/* Byte offset of the 1-based character `pos` of UTF-8 `s` (clamped). */
size_t text_char_to_byte(const char *s, size_t len, int pos);
/* 1-based line and column (in characters) of byte `offset` in `s`. */
void text_line_col(const char *s, size_t len, size_t offset, int *line,
                   int *col);
/* Byte offset of the first invalid UTF-8 sequence, or len when valid. */
size_t text_utf8_invalid_at(const char *s, size_t len);
/* Start of the line holding `offset`, and its length without newline. */
void text_line_at(const char *s, size_t len, size_t offset,
                  const char **line_start, size_t *line_len);
int64_t text_monotonic_ns(void);
/* `s` escaped as strata_printable() says, appended to `sb`. */
void sbuf_add_printable(struct sbuf *sb, const char *s, size_t len,
                        unsigned flags);

/* ---- url.c -------------------------------------------------------------- */
enum url_kind {
	URL_POSTGRES,
	URL_SQLITE,
};

struct strata_url {
	enum url_kind kind;
	char *raw;      /* as given (holds the password: never show it) */
	char *redacted; /* safe to show */
	char *path;     /* SQLite: the file path; NULL for memory */
	bool is_memory; /* sqlite::memory: */
	bool is_create; /* SQLite mode allows creating the file */
	bool is_readonly;
	bool is_read_only_command; /* the command only reads: create nothing */
};

int url_parse(struct strata_url *out, const char *s, struct strata_error *err);
void url_release(struct strata_url *url);
/* Whether `s` is a database URL or keyword string rather than a name. */
bool url_is_url(const char *s);

/* ---- source.c: the parts of the source's reading tests call alone ------- */
struct source_name {
	int64_t version;
	const char *description; /* '_' read as ' ', in the arena */
	const char *suffix;      /* ".sql", ".up.sql" or ".down.sql" */
};

/* A file name read as the source reads it: STRATA_EVALIDATE when it names
 * no migration. `name` also stands for the path in the error. */
int source_parse_name(struct source_name *out, const char *name,
                      struct arena *arena, struct strata_error *err);
/* Whether a file's text starts with STRATA_NO_TRANSACTION_DIRECTIVE. */
bool source_is_no_transaction(const char *text, size_t len);
/* STRATA_EVALIDATE naming the file when `text` starts with a UTF-8
 * byte-order mark (refused where the file is to run). */
int source_check_bom(const char *path, const char *text, size_t len,
                     struct strata_error *err);

/* ---- dotenv.c ----------------------------------------------------------- */
/* Receives one KEY=VALUE of a .env text; returns 0, or -1 with err set. */
typedef int (*dotenv_pair_fn)(const char *key, const char *value, void *data,
                              struct strata_error *err);

/*
 * The pairs of a .env text, in order, to `fn`; `path` names the text in
 * errors. Stops at the first bad line (STRATA_EUSAGE, err->line set) or
 * the first failure of `fn`. strata_dotenv_load() is this over a file.
 */
int dotenv_parse(const char *text, size_t len, const char *path,
                 dotenv_pair_fn fn, void *data, struct strata_error *err);

/* ---- statements (split.c for PostgreSQL, driver_sqlite.c for SQLite) ---- */
enum stmt_flag {
	STMT_NO_TXN = 1 << 0,      /* refused inside a transaction block */
	STMT_TXN_CONTROL = 1 << 1, /* BEGIN, COMMIT, ROLLBACK, START, END */
	STMT_COPY_STDIN = 1 << 2, /* COPY … FROM STDIN: needs a data stream */
};

struct strata_stmt {
	size_t offset; /* bytes into the script, including leading comments */
	size_t len;    /* through the terminating ';', when there is one */
	size_t token_offset; /* the first token after comments and space */
	unsigned flags;
	const char *what; /* when flagged: "CREATE INDEX CONCURRENTLY"... */
	/*
	 * What a concurrent build or rebuild may leave invalid, found in the
	 * catalog by these (never by the statement's text): index_kind 'c'
	 * CREATE INDEX CONCURRENTLY of index_name (unquoted, in the schema of
	 * the table index_target); 'i', 't', 's' REINDEX ... CONCURRENTLY of
	 * the index, table or schema index_target (quoted for SQL); 0: none.
	 */
	char index_kind;
	char *index_target;
	char *index_name;
};

struct strata_script {
	const char *sql; /* borrowed: the file's text */
	size_t len;
	struct strata_stmt *stmts;
	size_t n;
	bool is_parsed;        /* false: the parser rejected the text */
	char *parse_error;     /* the parser's message when !is_parsed */
	size_t parse_error_at; /* its byte offset */
	unsigned flags;        /* union of the statements' flags */
};

void script_release(struct strata_script *s);
/* The statement's text, NUL-terminated, in `sb` (reset first). */
void script_stmt_text(struct sbuf *sb, const struct strata_script *s, size_t i);

/*
 * Splits PostgreSQL SQL with libpg_query's parser and classifies each
 * statement. Text the parser rejects is split by libpg_query's scanner
 * instead (is_parsed = false, parse_error set): the server stays the judge
 * of syntax newer than the parser's. Fails (STRATA_EVALIDATE, with line and
 * column) only when even the scanner rejects the text: an unterminated
 * quote or comment.
 */
int split_pg(struct strata_script *out, const char *sql, size_t len,
             struct strata_error *err);

/* libpg_query's unpacked trees of one text (PgQuery__ParseResult and
 * PgQuery__ScanResult), parsed once for splitting and linting. */
struct pg_trees {
	void *tree;   /* NULL when the parser rejected the text */
	void *tokens; /* NULL when even the scanner did */
};

/* split_pg() that also hands over its trees (release them). */
int split_pg_keep(struct strata_script *out, const char *sql, size_t len,
                  struct pg_trees *keep, struct strata_error *err);
void pg_trees_release(struct pg_trees *t);

/*
 * A text past PG_PIECES_FROM bytes is parsed a piece (about PG_PIECE_SIZE
 * bytes of whole statements) at a time, its trees freed before the next:
 * its memory stays a small multiple of the piece, not of the file (the
 * trees of a whole file take fifty times its size). split_pg_keep() then
 * keeps no trees, and the linter parses the pieces again itself.
 */
#define PG_PIECES_FROM (4u << 20)
#define PG_PIECE_SIZE  (1u << 20)

struct pg_piece {
	void *tree;   /* PgQuery__ParseResult, locations as in the text */
	void *tokens; /* PgQuery__ScanResult, likewise */
};

/*
 * The next piece of `sql` from `*at`, which it advances: 1 with a piece,
 * 0 at the end, -1 when the rest does not parse (the caller then takes the
 * whole text, which reports the error as the parser sees it).
 */
int pg_piece_next(struct pg_piece *out, const char *sql, size_t len,
                  size_t *at);
void pg_piece_release(struct pg_piece *p);

/* ---- drivers ------------------------------------------------------------ */
enum driver_caps {
	DRV_TXN_DDL = 1 << 0,        /* DDL is transactional */
	DRV_ADVISORY_LOCK = 1 << 1,  /* lock() excludes other runners */
	DRV_WRITE_LOCK_TXN = 1 << 2, /* begin() takes the database write lock */
	DRV_PG_SQL = 1 << 3, /* speaks PostgreSQL's SQL: the linter applies */
};

struct history_row {
	int64_t version;
	const char *description;  /* in the history's arena */
	const char *installed_on; /* ISO 8601 in UTC, likewise */
	bool success;
	unsigned char checksum[STRATA_CHECKSUM_LEN];
	size_t checksum_len;
	int64_t execution_time;
};

struct history {
	struct history_row *rows; /* ascending version */
	size_t n, alloc;
	bool has_table;
	struct arena strings; /* the rows' */
};

void history_release(struct history *h);
const struct history_row *history_find(const struct history *h,
                                       int64_t version);

struct strata_conn {
	const struct strata_driver *drv;
	int server_version;   /* PQserverVersion() style; 0 when not relevant */
	bool is_hide_queries; /* blocker reports without query texts */
	strata_event_fn on_event;
	void *event_data;
	struct progress *progress; /* while a migration's script runs */
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
	int (*split)(struct strata_script *out, const char *sql, size_t len,
	             struct strata_error *err);
	/* Internal SQL, one or more statements, no result. */
	int (*exec)(struct strata_conn *c, const char *sql,
	            struct strata_error *err);
	/*
	 * A migration's statements. With is_one_per_call each statement is
	 * its own call (outside a transaction); else they may be sent
	 * together. On failure err->statement is the 1-based number of the
	 * failing statement and err->position the server's position in it.
	 */
	int (*exec_script)(struct strata_conn *c, const struct strata_script *s,
	                   bool is_one_per_call, struct strata_error *err);
	int (*begin)(struct strata_conn *c, struct strata_error *err);
	int (*commit)(struct strata_conn *c, struct strata_error *err);
	/* Ends any open or failed transaction; never fails the caller. */
	void (*rollback)(struct strata_conn *c);
	/*
	 * lock_timeout and statement_timeout in ms (0: none) for the current
	 * transaction (is_local) or the session; with both < 0, the
	 * session's are reset to the server's defaults.
	 */
	int (*set_timeouts)(struct strata_conn *c, int64_t lock_ms,
	                    int64_t statement_ms, bool is_local,
	                    struct strata_error *err);
	int (*lock)(struct strata_conn *c, double wait,
	            struct strata_error *err);
	void (*unlock)(struct strata_conn *c);
	/*
	 * 0 while the lock taken by lock() stands, else -1 with STRATA_ELOCK:
	 * its session ended, and another runner may hold it now. Cheap
	 * enough before every commit. NULL: a lock that is lost only with
	 * the connection itself.
	 */
	int (*lock_check)(struct strata_conn *c, struct strata_error *err);
	int (*history_ensure)(struct strata_conn *c,
	                      const struct table_name *table,
	                      struct strata_error *err);
	/*
	 * After creating strata's table `t` (`what`: "audit table") failed
	 * with `err`: 0 (err released) when it exists after all, else -1
	 * with err saying what strata was creating and how to let it. NULL:
	 * err stands as it is.
	 */
	int (*create_failed)(struct strata_conn *c, const struct table_name *t,
	                     const char *what, struct strata_error *err);
	/* A missing table is no error: out->has_table = false. */
	int (*history_read)(struct strata_conn *c,
	                    const struct table_name *table, struct history *out,
	                    struct strata_error *err);
	int (*history_has)(bool *out, struct strata_conn *c,
	                   const struct table_name *table, int64_t version,
	                   struct strata_error *err);
	int (*history_insert)(struct strata_conn *c,
	                      const struct table_name *table,
	                      const struct strata_migration *m, bool success,
	                      int64_t execution_time, struct strata_error *err);
	/* success = true and the final execution_time. */
	int (*history_finish)(struct strata_conn *c,
	                      const struct table_name *table, int64_t version,
	                      int64_t execution_time, struct strata_error *err);
	int (*history_set_failed)(struct strata_conn *c,
	                          const struct table_name *table,
	                          int64_t version, struct strata_error *err);
	int (*history_delete)(struct strata_conn *c,
	                      const struct table_name *table, int64_t version,
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
	/* Dialect pieces for generic SQL (printf formats where noted). */
	const char *audit_ddl;    /* %s: the quoted audit table name */
	const char *current_user; /* an expression, "NULL" when none */
	const char *iso_time;     /* %s: a column, as ISO 8601 UTC text */
	int (*database_create)(const struct strata_url *url,
	                       struct strata_error *err);
	int (*database_drop)(const struct strata_url *url, bool is_force,
	                     struct strata_error *err);
	int (*database_exists)(bool *out, const struct strata_url *url,
	                       struct strata_error *err);
	/* backups: NULL when the driver has none */
	const struct backup_ops *backup;
};

extern const struct strata_driver pgdrv_driver;
extern const struct strata_driver sqlitedrv_driver;

/* The SQLite driver's handle, and its error mapping (for backup_sqlite.c) */
struct sqlite3;
struct sqlite3 *sqlitedrv_handle(struct strata_conn *c);
int sqlitedrv_error(struct strata_error *err, struct sqlite3 *db, int rc);

const struct strata_driver *driver_for_url(const struct strata_url *url);
/* The driver called `name` ("postgres", "sqlite"), or NULL. */
const struct strata_driver *driver_by_name(const char *name);
void driver_emit(struct strata_conn *c, const struct strata_event *ev);
void driver_emit_warning(struct strata_conn *c, const char *fmt, ...)
        STRATA_PRINTF(2, 3);

/* ---- lockkey.c: sqlx's advisory-lock key -------------------------------- */
/* 0x3d32ad9e * crc32(database name), as sqlx's generate_lock_id(). */
int64_t lockkey_for_database(const char *dbname);

/* ---- progress.c: what a running migration reports ---------------------- */
/*
 * The migrator attaches this to the connection while a migration's script
 * runs; the driver says when each statement starts, who blocks it, and
 * ticks while it waits for a result (at progress_due_ns(), or any time:
 * early ticks are dropped). Out of that come STRATA_EVENT_PROGRESS, at
 * most one per PROGRESS_TICK_MS besides statement changes, and the one
 * warning of warn_after. Every function is a no-op on a connection with
 * nothing attached.
 */
#define PROGRESS_TICK_MS 200

struct plan_step;

struct progress {
	const struct strata_migration *m; /* NULL: none since the reset */
	const struct strata_script *script;
	bool is_down;
	bool is_hide_queries;
	bool is_warned;
	int64_t started_ns; /* the migration's first attempt (monotonic) */
	int64_t reported_ns;
	int64_t warn_after_ns; /* 0: never */
	size_t at;             /* the statement running, 1-based; 0: unknown */
	/* statements of the script before the part the driver runs (a
	 * no-transaction file is run one statement at a time) */
	size_t first;
	char text[400];  /* its start, one line ("": none) */
	char phase[128]; /* the server's account of it ("": none) */
	int percent;     /* of the phase; -1: not known */
	/* who blocks it, as last sampled; pid 0: nobody */
	int holder_pid;
	/* since when the migration has waited on since_pid, over its
	 * attempts (a probe lasts milliseconds: the wait is the sum) */
	int since_pid;
	int64_t holder_since_ns;
	char holder_user[64], holder_state[128], holder_application[64];
};

/* A new command: the next migration starts its clock afresh. */
void progress_reset(struct progress *p);
/* Around a step's exec_script(): a failed step keeps its clock for a
 * retry of the same migration. */
void progress_start(struct strata_db *db, const struct plan_step *step,
                    bool is_down);
void progress_stop(struct strata_db *db, bool is_success);
/* For the drivers. */
void progress_statement(struct strata_conn *c, size_t k);
/* `waited`: seconds the statement has waited on it, as the server says
 * (pg_locks.waitstart); < 0: not known, counted from the first report. */
void progress_holder(struct strata_conn *c, int pid, const char *user,
                     const char *state, const char *application, double waited);
/* The server's phase of the statement (NULL: none) and its percent. */
void progress_phase(struct strata_conn *c, const char *phase, int percent);
void progress_tick(struct strata_conn *c);
/* When the next tick is due (monotonic ns); INT64_MAX when nothing is. */
int64_t progress_due_ns(const struct strata_conn *c);

/* ---- db.c --------------------------------------------------------------- */
struct strata_db {
	const struct strata_driver *drv;
	struct strata_conn *conn;
	struct strata_url url;
	struct table_name table;
	struct table_name audit; /* beside the history table */
	struct strata_db_options opts;
	char *command;    /* opts.command, owned */
	char *git_commit; /* of the source, once looked up */
	bool has_git_lookup;
	bool has_audit;     /* the audit table is known to exist */
	bool is_lock_probe; /* this attempt has another after it: see migrate.c
	                     */
	int64_t lock_wait_ns; /* of the current command */
	/* of the step that just ended: its statements' time, the figure its
	 * history row records (execution_time), which run also prints */
	int64_t step_ns;
	const char *source_dir; /* of the current command, borrowed */
	struct progress progress;
};

/* Both accept db == NULL (the event is dropped). */
void db_emit(struct strata_db *db, const struct strata_event *ev);
void db_emit_migration(struct strata_db *db, enum strata_event_kind kind,
                       const struct strata_migration *m, int64_t duration_ns);
void db_emit_warning(struct strata_db *db, const struct strata_migration *m,
                     const char *fmt, ...) STRATA_PRINTF(3, 4);

/* ---- audit.c: strata's own record of every action ------------------------ */
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
};

/* Creates the audit table when missing. */
int audit_ensure(struct strata_db *db, struct strata_error *err);
/* Records one action; in the caller's transaction when one is open. */
int audit_add(struct strata_db *db, const struct audit_entry *e,
              struct strata_error *err);
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
/* To `fn`: version, id, "user@host" of every successful apply-like
 * action, in no order; the newest id per version is who applied it
 * (no rows without a trail). */
int audit_applied_by(struct strata_db *db, db_row_fn *fn, void *data);

/* ---- migrate.c ---------------------------------------------------------- */
/* A failed, missing (unless ignored) or edited applied migration. */
int migrate_check_row(const struct history_row *row,
                      const struct strata_source *src, bool is_ignore_missing,
                      struct strata_error *err);
/* A mismatch caused only by CRLF line endings or a UTF-8 BOM. */
bool migrate_is_whitespace_only_change(const struct history_row *row,
                                       const struct strata_migration *m);

/* ---- plan.c: how each migration will run --------------------------------- */
enum run_mode {
	MODE_TXN,     /* in a transaction with its history row */
	MODE_NO_TXN,  /* -- no-transaction: one statement per call, fenced */
	MODE_OWN_TXN, /* manages its own BEGIN/COMMIT: as written, fenced */
};

struct plan_step {
	const struct strata_migration *m;
	const char *path; /* the file this step runs */
	const char *sql;
	size_t len;
	struct strata_script script;
	enum run_mode mode;
	/* from `-- strata:KEY=VALUE` directives; < 0: not given */
	double lock_timeout, statement_timeout, warn_after;
	double concurrent_lock_timeout;
};

struct plan {
	struct plan_step *steps;
	size_t n, alloc;
};

/*
 * Splits and checks the up (or, with is_down, down) file of each
 * migration, in order, before anything runs: statements that cannot run
 * in a transaction in a transactional file, COPY FROM STDIN, SQL the
 * parser rejects (unless the server is newer than the parser), and
 * anything --single-transaction cannot hold fail with STRATA_EVALIDATE
 * naming file, line and statement.
 */
struct plan_ctx {
	int (*split)(struct strata_script *out, const char *sql, size_t len,
	             struct strata_error *err);
	int server_version;   /* 0: offline, judged as the parser's version */
	struct strata_db *db; /* where warnings go; NULL: dropped */
	struct strata_lint *lint; /* run's lint gate: each step is linted
	                             as it is planned, from the same parse */
};

/* The context of `db`, or with db NULL PostgreSQL's parser offline. */
void plan_ctx_init(struct plan_ctx *ctx, struct strata_db *db);
int plan_add(struct plan *p, const struct plan_ctx *ctx,
             const struct strata_migration *m, bool is_down,
             bool is_single_transaction, struct strata_error *err);
/*
 * PostgreSQL's parse of the up files of `ms`, made ahead on other threads
 * (a bounded distance ahead, so memory does not grow with the plan), for
 * plan_add_next() to take in order: parsing is most of planning. Without
 * threads to spare (or with another driver's split) it does nothing and
 * plan_add_next() is plan_add().
 */
struct presplit;
struct presplit *presplit_start(const struct plan_ctx *ctx,
                                const struct strata_migration *const *ms,
                                size_t n);
/* plan_add() of ms[i] (up), i counting from 0 in the order started. */
int plan_add_next(struct plan *p, const struct plan_ctx *ctx,
                  struct presplit *ps, size_t i,
                  const struct strata_migration *m, bool is_single_transaction,
                  struct strata_error *err);
void presplit_stop(struct presplit *ps);
void plan_release(struct plan *p);
/* Fills err's file, line and column from the driver's statement/position. */
void plan_locate_error(const struct plan_step *step, struct strata_error *err);

/* ---- lint.c: the run gate ------------------------------------------------ */
/*
 * run lints the steps of its plan as one run (PostgreSQL only), each as it
 * is planned, from the parse its split made: lint_begin() gives *out NULL
 * when the driver's SQL is not PostgreSQL's (nothing to lint), lint_end()
 * sends every finding to the event callback and fails with STRATA_ELINT
 * when one is an error, unless opts->is_allow_unsafe. All before anything
 * executes. The caller frees the lint with strata_lint_free().
 */
int lint_begin(struct strata_lint **out, struct strata_db *db,
               const struct strata_run_options *opts, struct strata_error *err);
int lint_step(struct strata_lint *l, struct strata_db *db,
              const struct plan_step *step, const struct pg_trees *trees,
              struct strata_error *err);
int lint_end(struct strata_lint *l, struct strata_db *db,
             const struct strata_run_options *opts, struct strata_error *err);

/* ---- spawn.c: child processes ------------------------------------------ */
/* An environment for a child: NULL-terminated "NAME=VALUE" strings. */
struct child_env {
	char **v;
	size_t n, alloc;
};

/* A copy of this process's environment, less the variables that may hold
 * a password (DATABASE_URL, PGPASSWORD). */
void child_env_init(struct child_env *e);
void child_env_set(struct child_env *e, const char *name, const char *value);
void child_env_unset(struct child_env *e, const char *name);
/* Removes every variable whose value holds `text` (a secret). */
void child_env_unset_containing(struct child_env *e, const char *text);
const char *child_env_get(const struct child_env *e, const char *name);
void child_env_release(struct child_env *e);

struct child {
	const char *const *argv;  /* argv[0] is the program's path */
	char *const *envp;        /* the whole environment; NULL: ours, as
	                           * child_env_init() gives it */
	size_t max_output;        /* bytes kept of each stream; 0: 64 MiB */
	void (*tick)(void *data); /* about once a second while it runs */
	void *tick_data;
	int pass_fd;    /* a descriptor the child inherits as pass_fd_as */
	int pass_fd_as; /* (a different number); -1: none (CHILD_INIT) */
	/* results */
	struct sbuf out, err;
	int exit_status;     /* -1 when ended by a signal */
	int signal;          /* the signal that ended it, else 0 */
	bool is_path_search; /* argv[0] is a name looked up in PATH */
};

#define CHILD_INIT                                                           \
	{                                                                    \
		NULL, NULL, 0, NULL, NULL, -1, -1, SBUF_INIT, SBUF_INIT, -1, \
		        0, false                                             \
	}

/*
 * Runs the child to its end, stdin from /dev/null, stdout and stderr
 * captured. Fails (STRATA_EFAILED) only when it cannot be started or
 * waited for; its exit status is the caller's to judge.
 */
int child_run(struct child *c, struct strata_error *err);
bool child_succeeded(const struct child *c);
/* "exited with status 1", "was ended by signal 9 (Killed)". */
void child_describe_status(struct sbuf *sb, const struct child *c);
void child_release(struct child *c);

/* ---- backup.c: what the drivers' backup operations share ---------------- */
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
int backup_newest_applied(int64_t *out, const struct strata_driver *drv,
                          struct strata_conn *c, const struct table_name *table,
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
