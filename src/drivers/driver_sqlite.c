/*
 * The SQLite driver: `sqlite:PATH` and `sqlite::memory:` through SQLite 3,
 * the embedded default for the quick start and for local work (design.md,
 * Databases). It keeps the history in sqlx's SQLite form of
 * `_sqlx_migrations` (design.md, History table), so a database migrated by
 * sqlx-cli is up to date for strata and the other way round.
 *
 * SQL is split and classified by SQLite's own code: sql/split_sqlite.c.
 * Strata's own tables are queried in sqlite_query.c; databases are
 * created and dropped in sqlite_database.c.
 *
 * What it deliberately does not do: there is no advisory lock. Runners
 * serialise on the database's write lock instead: a transaction begins
 * with BEGIN IMMEDIATE, which waits up to the busy timeout that lock()
 * sets. Nor does it change the journal mode or any other persistent setting of
 * the file.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/cancel.h"
#include "util/text.h"
#include "engine/url.h"
#include "sql/split.h"
#include "sql/split_sqlite.h"
#include "drivers/driver.h"
#include "drivers/sqlite_conn.h"
#include "engine/progress.h"
#include "backup/backup.h"
#include "util/sqlite_lib.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if SQLITE_VERSION_NUMBER < 3038000
#error "the SQLite driver needs SQLite 3.38 or newer (sqlite3_error_offset)"
#endif

/* sqlx's default busy_timeout: how long a statement waits for a lock. */
#define DEFAULT_BUSY_MS 5000

#define BUSY_HINT                                                            \
	"Another connection is writing to this database. Try again when it " \
	"is done, or allow a longer lock wait."

/* ---- errors ------------------------------------------------------------- */

/* clang-format off */
#define CODE(c) { c, #c }
/* clang-format on */
static const struct {
	int code;
	const char *name;
} code_names[] = {
	CODE(SQLITE_ERROR),
	CODE(SQLITE_INTERNAL),
	CODE(SQLITE_PERM),
	CODE(SQLITE_ABORT),
	CODE(SQLITE_BUSY),
	CODE(SQLITE_LOCKED),
	CODE(SQLITE_NOMEM),
	CODE(SQLITE_READONLY),
	CODE(SQLITE_INTERRUPT),
	CODE(SQLITE_IOERR),
	CODE(SQLITE_CORRUPT),
	CODE(SQLITE_NOTFOUND),
	CODE(SQLITE_FULL),
	CODE(SQLITE_CANTOPEN),
	CODE(SQLITE_PROTOCOL),
	CODE(SQLITE_EMPTY),
	CODE(SQLITE_SCHEMA),
	CODE(SQLITE_TOOBIG),
	CODE(SQLITE_CONSTRAINT),
	CODE(SQLITE_MISMATCH),
	CODE(SQLITE_MISUSE),
	CODE(SQLITE_NOLFS),
	CODE(SQLITE_AUTH),
	CODE(SQLITE_FORMAT),
	CODE(SQLITE_RANGE),
	CODE(SQLITE_NOTADB),
	CODE(SQLITE_NOTICE),
	CODE(SQLITE_WARNING),
	CODE(SQLITE_ERROR_MISSING_COLLSEQ),
	CODE(SQLITE_ERROR_RETRY),
	CODE(SQLITE_ERROR_SNAPSHOT),
	CODE(SQLITE_IOERR_READ),
	CODE(SQLITE_IOERR_SHORT_READ),
	CODE(SQLITE_IOERR_WRITE),
	CODE(SQLITE_IOERR_FSYNC),
	CODE(SQLITE_IOERR_DIR_FSYNC),
	CODE(SQLITE_IOERR_TRUNCATE),
	CODE(SQLITE_IOERR_FSTAT),
	CODE(SQLITE_IOERR_UNLOCK),
	CODE(SQLITE_IOERR_RDLOCK),
	CODE(SQLITE_IOERR_DELETE),
	CODE(SQLITE_IOERR_BLOCKED),
	CODE(SQLITE_IOERR_NOMEM),
	CODE(SQLITE_IOERR_ACCESS),
	CODE(SQLITE_IOERR_CHECKRESERVEDLOCK),
	CODE(SQLITE_IOERR_LOCK),
	CODE(SQLITE_IOERR_CLOSE),
	CODE(SQLITE_IOERR_DIR_CLOSE),
	CODE(SQLITE_IOERR_SHMOPEN),
	CODE(SQLITE_IOERR_SHMSIZE),
	CODE(SQLITE_IOERR_SHMLOCK),
	CODE(SQLITE_IOERR_SHMMAP),
	CODE(SQLITE_IOERR_SEEK),
	CODE(SQLITE_IOERR_DELETE_NOENT),
	CODE(SQLITE_IOERR_MMAP),
	CODE(SQLITE_IOERR_GETTEMPPATH),
	CODE(SQLITE_IOERR_CONVPATH),
	CODE(SQLITE_IOERR_VNODE),
	CODE(SQLITE_IOERR_AUTH),
	CODE(SQLITE_IOERR_BEGIN_ATOMIC),
	CODE(SQLITE_IOERR_COMMIT_ATOMIC),
	CODE(SQLITE_IOERR_ROLLBACK_ATOMIC),
	CODE(SQLITE_IOERR_DATA),
	CODE(SQLITE_IOERR_CORRUPTFS),
	CODE(SQLITE_LOCKED_SHAREDCACHE),
	CODE(SQLITE_LOCKED_VTAB),
	CODE(SQLITE_BUSY_RECOVERY),
	CODE(SQLITE_BUSY_SNAPSHOT),
	CODE(SQLITE_BUSY_TIMEOUT),
	CODE(SQLITE_CANTOPEN_NOTEMPDIR),
	CODE(SQLITE_CANTOPEN_ISDIR),
	CODE(SQLITE_CANTOPEN_FULLPATH),
	CODE(SQLITE_CANTOPEN_CONVPATH),
	CODE(SQLITE_CANTOPEN_DIRTYWAL),
	CODE(SQLITE_CANTOPEN_SYMLINK),
	CODE(SQLITE_CORRUPT_VTAB),
	CODE(SQLITE_CORRUPT_SEQUENCE),
	CODE(SQLITE_CORRUPT_INDEX),
	CODE(SQLITE_READONLY_RECOVERY),
	CODE(SQLITE_READONLY_CANTLOCK),
	CODE(SQLITE_READONLY_ROLLBACK),
	CODE(SQLITE_READONLY_DBMOVED),
	CODE(SQLITE_READONLY_CANTINIT),
	CODE(SQLITE_READONLY_DIRECTORY),
	CODE(SQLITE_ABORT_ROLLBACK),
	CODE(SQLITE_CONSTRAINT_CHECK),
	CODE(SQLITE_CONSTRAINT_COMMITHOOK),
	CODE(SQLITE_CONSTRAINT_FOREIGNKEY),
	CODE(SQLITE_CONSTRAINT_FUNCTION),
	CODE(SQLITE_CONSTRAINT_NOTNULL),
	CODE(SQLITE_CONSTRAINT_PRIMARYKEY),
	CODE(SQLITE_CONSTRAINT_TRIGGER),
	CODE(SQLITE_CONSTRAINT_UNIQUE),
	CODE(SQLITE_CONSTRAINT_VTAB),
	CODE(SQLITE_CONSTRAINT_ROWID),
	CODE(SQLITE_CONSTRAINT_PINNED),
	CODE(SQLITE_CONSTRAINT_DATATYPE),
	CODE(SQLITE_AUTH_USER),
};
#undef CODE

static const char *code_name(int code)
{
	for (size_t i = 0; i < ARRAY_SIZE(code_names); i++)
		if (code_names[i].code == code)
			return code_names[i].name;
	return "SQLITE_ERROR";
}

/* The write lock or a table lock is held by another connection. */
static bool is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/*
 * Fills `err` from SQLite's last error on `db` (`rc`, an extended result
 * code): SQLite's message as the primary one, the code's name and meaning
 * as the detail (SQLite has no SQLSTATE). Read before finalizing: that
 * resets the message. Returns -1.
 */
static int db_error(struct strata_error *err, sqlite3 *db, int rc)
{
	/* interrupted or no longer waiting: strata_cancel()'s doing */
	bool is_cancelled = strata_is_cancelled() &&
	                    ((rc & 0xff) == SQLITE_INTERRUPT || is_busy(rc));

	strata_error_set(err,
	                 is_cancelled  ? STRATA_ECANCELED
	                 : is_busy(rc) ? STRATA_ELOCK
	                               : STRATA_EFAILED,
	                 "%s", sqlite3_errmsg(db));
	strata_error_detail(err, "SQLite result code %s (%d): %s.",
	                    code_name(rc), rc, sqlite3_errstr(rc));
	if (is_busy(rc)) {
		strata_error_hint(err, BUSY_HINT);
		strata_error_reason(err, STRATA_REASON_LOCK_WAIT, -1);
	}
	return -1;
}

/* 1-based character position of byte `offset` of UTF-8 `s`. */
static int char_position(const char *s, size_t offset)
{
	int pos = 1;

	for (size_t i = 0; i < offset; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			pos++;
	return pos;
}

/* ---- connections -------------------------------------------------------- */

/* Reads the schema, so a file that is no database fails now. */
int sqlitedrv_check_database(sqlite3 *db)
{
	return sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL,
	                    NULL, NULL);
}

static void interrupt(struct cancel_hook *h)
{
	/* async-signal-safe: it only sets a flag the statement checks */
	sqlite3_interrupt(
	        ((struct sqlite_conn *)((char *)h -
	                                offsetof(struct sqlite_conn, cancel)))
	                ->db);
}

/*
 * sqlite3_busy_timeout()'s wait, which strata_cancel() ends (SQLite's
 * own busy handler sleeps on through an interrupt).
 */
static int on_busy(void *data, int count)
{
	struct sqlite_conn *c = data;
	int64_t now = text_monotonic_ns();

	if (count == 0)
		c->busy_since_ns = now;
	if (strata_is_cancelled() ||
	    now - c->busy_since_ns >= (int64_t)c->busy_ms * 1000000)
		return 0;
	sqlite3_sleep(count < 10 ? count + 1 : 20);
	return 1;
}

static void set_busy_timeout(struct sqlite_conn *c, int ms)
{
	c->busy_ms = ms;
	sqlite3_busy_handler(c->db, on_busy, c);
}

static int sqlite_connect(struct strata_conn **out,
                          const struct strata_url *url,
                          struct strata_error *err)
{
	const char *path = url->is_memory ? ":memory:" : url->path;
	struct sqlite_conn *c;
	int flags, rc;

	*out = NULL;
	if (sqlite_load(err) < 0)
		return -1;
	if (!path)
		BUG("SQLite URL without a path");
	c = xcalloc(1, sizeof(*c));
	c->base.drv = &sqlitedrv_driver;
	c->where = xstrdup(url->redacted);
	if (url->is_memory)
		flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	else if (url->is_readonly)
		flags = SQLITE_OPEN_READONLY;
	else
		flags = SQLITE_OPEN_READWRITE |
		        (url->is_create ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(c->db, 1);
		set_busy_timeout(c, DEFAULT_BUSY_MS);
		rc = sqlitedrv_check_database(c->db);
	}
	/* sqlx's default for SQLite */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, "PRAGMA foreign_keys = ON", NULL, NULL,
		                  NULL);
	if (rc != SQLITE_OK) {
		strata_error_set(err, STRATA_ECONNECT,
		                 "could not open database '%s': %s", c->where,
		                 c->db ? sqlite3_errmsg(c->db)
		                       : sqlite3_errstr(rc));
		if (!url->is_memory && access(path, F_OK) != 0 &&
		    !url->is_create) {
			strata_error_hint(
			        err,
			        url->is_read_only_command
			                ? "The file does not exist (a read-only open creates nothing). Check the path; a run or strata_database_create() creates it."
			                : "The file does not exist. Create it with strata_database_create(), or leave out mode=%s.",
			        url->is_readonly ? "ro" : "rw");
			strata_error_reason(err, STRATA_REASON_NO_DATABASE_FILE,
			                    -1);
		}
		sqlite3_close(c->db);
		free(c->where);
		free(c);
		return -1;
	}
	c->cancel.fn = interrupt;
	cancel_register(&c->cancel);
	*out = &c->base;
	return 0;
}

static void sqlite_close(struct strata_conn *conn)
{
	struct sqlite_conn *c = to_sqlite(conn);

	if (!c)
		return;
	cancel_unregister(&c->cancel);
	sqlite3_close_v2(c->db);
	free(c->where);
	free(c);
}

static int sqlite_exec(struct strata_conn *conn, const char *sql,
                       struct strata_error *err)
{
	struct sqlite_conn *c = to_sqlite(conn);
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_error(err, c->db, rc);
}

/*
 * Runs one statement of a script, `text[0..n)`. The statement runs as
 * given, one prepare and step at a time; should it hold more than one
 * statement (text that sqlite3_complete() did not end), each runs in turn.
 * On failure, err->position is the character in `text` SQLite points at.
 */
static int exec_one(struct sqlite_conn *c, const char *text, size_t n,
                    struct strata_error *err)
{
	const char *p = text, *end = text + n;

	if (n > INT_MAX)
		return strata_error_set(
		        err, STRATA_EFAILED,
		        "statement too long for SQLite (%zu bytes)", n);
	while (p < end) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		int rc;

		/* an interrupt reaches only a statement already running */
		if (cancel_check(err) < 0)
			return -1;
		rc = sqlite3_prepare_v2(c->db, p, (int)(end - p), &st, &tail);

		if (rc == SQLITE_OK && st) {
			while ((rc = sqlite3_step(st)) == SQLITE_ROW)
				;
			if (rc == SQLITE_DONE)
				rc = SQLITE_OK;
		}
		if (rc != SQLITE_OK) {
			int at = sqlite3_error_offset(c->db);

			db_error(err, c->db, rc);
			if (at >= 0 && (size_t)at <= (size_t)(end - p))
				err->position = char_position(
				        text, (size_t)(p - text) + (size_t)at);
			sqlite3_finalize(st);
			return -1;
		}
		sqlite3_finalize(st);
		if (!tail || tail <= p)
			break;
		p = tail;
	}
	return 0;
}

/* Called every PROGRESS_OPS virtual machine instructions of a running
 * statement: progress_tick() keeps to its own pace. */
#define PROGRESS_OPS 1000

static int on_progress(void *data)
{
	progress_tick(data);
	return 0; /* go on */
}

/* A migration's statements; SQLite runs one statement per call anyway. */
static int exec_script(struct strata_conn *conn, const struct strata_script *s,
                       struct strata_error *err)
{
	struct sqlite_conn *c = to_sqlite(conn);
	int rc = 0;

	if (conn->progress)
		sqlite3_progress_handler(c->db, PROGRESS_OPS, on_progress,
		                         conn);
	for (size_t i = 0; i < s->n && !rc; i++) {
		const struct strata_stmt *st = &s->stmts[i];

		progress_statement(conn, i + 1);
		if (exec_one(c, s->sql + st->offset, st->len, err) < 0) {
			err->statement = (int)(i + 1);
			rc = -1;
		}
	}
	sqlite3_progress_handler(c->db, 0, NULL, NULL);
	return rc;
}

/*
 * BEGIN IMMEDIATE takes the database's write lock now, waiting up to the
 * busy timeout, rather than at the first write: runners serialise here.
 */
static int begin(struct strata_conn *conn, struct strata_error *err)
{
	struct sqlite_conn *c = to_sqlite(conn);
	int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return 0;
	db_error(err, c->db, rc);
	if (is_busy(rc))
		error_prefix(err, "could not take the write lock of '%s'",
		             c->where);
	return -1;
}

static int commit(struct strata_conn *conn, struct strata_error *err)
{
	return sqlite_exec(conn, "COMMIT", err);
}

static void sqlite_rollback(struct strata_conn *conn)
{
	struct sqlite_conn *c = to_sqlite(conn);

	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * No advisory lock: the lock is the write lock BEGIN IMMEDIATE takes, and
 * `wait` bounds how long that (and any statement) waits for it.
 */
static int sqlite_lock(struct strata_conn *conn, double wait,
                       struct strata_error *err)
{
	struct sqlite_conn *c = to_sqlite(conn);
	int ms;

	UNUSED(err);
	if (wait < 0 || wait * 1000.0 >= (double)INT_MAX)
		ms = INT_MAX; /* about 25 days: as good as forever */
	else
		ms = (int)(wait * 1000.0);
	set_busy_timeout(c, ms);
	return 0;
}

static void sqlite_unlock(struct strata_conn *conn)
{
	UNUSED(conn);
}

/* ---- history table's dialect ------------------------------------------- */

static bool is_name_char(char ch, bool is_first)
{
	return ch == '_' || (ch >= 'a' && ch <= 'z') ||
	       (ch >= 'A' && ch <= 'Z') ||
	       (!is_first && ch >= '0' && ch <= '9');
}

/* A name SQLite takes unquoted: [A-Za-z_][A-Za-z0-9_]*, no keyword. */
static bool is_plain_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > INT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(s[i], i == 0))
			return false;
	return !sqlite3_keyword_check(s, (int)n);
}

/* sqlx's SQLite DDL, byte for byte (see ddl_name()). */
static const char sqlite_history_ddl[] =
        "CREATE TABLE IF NOT EXISTS %s (\n"
        "    version BIGINT PRIMARY KEY,\n"
        "    description TEXT NOT NULL,\n"
        "    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
        "    success BOOLEAN NOT NULL,\n"
        "    checksum BLOB NOT NULL,\n"
        "    execution_time BIGINT NOT NULL\n"
        ");";

/*
 * SQLite keeps the text from the name on in sqlite_master, so a plain
 * name goes in unquoted, as sqlx writes it: the stored schema is then the
 * same whichever tool created the table (schema dumps and diffs of the
 * two agree). Any other name is quoted.
 */
static void ddl_name(struct sbuf *out, const struct table_name *table)
{
	if (!is_plain_name(table->name)) {
		sbuf_adds(out, table->quoted);
		return;
	}
	if (table->schema) {
		sbuf_add_ident(out, table->schema);
		sbuf_addch(out, '.');
	}
	sbuf_adds(out, table->name);
}

/*
 * Whether the bound statement `st` (rc: how binding went) returns a row;
 * finalizes it.
 */
static int step_exists(bool *out, struct sqlite_conn *c, sqlite3_stmt *st,
                       int rc, struct strata_error *err)
{
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		*out = rc == SQLITE_ROW;
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		db_error(err, c->db, rc);
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Whether the table exists in its schema (main by default). */
static int sqlite_table_exists(bool *out, struct strata_conn *conn,
                               const struct table_name *table,
                               struct strata_error *err)
{
	struct sqlite_conn *c = to_sqlite(conn);
	struct sbuf sql = SBUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc;

	sbuf_adds(&sql, "SELECT 1 FROM ");
	sbuf_add_ident(&sql, table->schema ? table->schema : "main");
	/* SQLite matches names without regard to ASCII case, as NOCASE */
	sbuf_adds(&sql, ".sqlite_master WHERE type = 'table' AND name = ?1 "
	                "COLLATE NOCASE");
	rc = sqlite3_prepare_v2(c->db, sql.buf, (int)sql.len, &st, NULL);
	sbuf_release(&sql);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, table->name, -1, SQLITE_STATIC);
	return step_exists(out, c, st, rc, err);
}

/* One after the other: SQLite has no round trips to save. */
static int sqlite_tables_exist(bool *out, struct strata_conn *conn,
                               const struct table_name *const *t, size_t n,
                               struct strata_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (sqlite_table_exists(&out[i], conn, t[i], err) < 0)
			return -1;
	return 0;
}

/*
 * A batch in order, one item after the other: SQLite has no round trips
 * to save. Timeouts are not SQLite's (the busy timeout bounds its waits).
 */
static int sqlite_exec_batch(struct strata_conn *conn, const struct batch *b,
                             struct strata_error *err)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct batch_item *it = &b->items[i];
		struct db_rows rows = { 0 };
		int rc = 0;

		switch (it->kind) {
		case BATCH_BEGIN:
			rc = begin(conn, err);
			break;
		case BATCH_COMMIT:
			rc = commit(conn, err);
			break;
		case BATCH_TIMEOUTS:
		case BATCH_LOCK_CHECK: /* the write transaction is the lock */
			break;
		case BATCH_SQL:
			rc = sqlitequery_query(
			        conn, it->sql, it->n, it->params,
			        it->no_row || it->out_int ? &rows : NULL, err);
			if (rc == 0 && it->no_row && !rows.n_rows)
				rc = strata_error_set(err, STRATA_EFAILED, "%s",
				                      it->no_row);
			if (rc == 0 && it->out_int && rows.n_rows &&
			    rows.cells[0])
				*it->out_int = strtoll(rows.cells[0], NULL, 10);
			db_rows_release(&rows);
			break;
		case BATCH_SCRIPT:
			rc = exec_script(conn, it->script, err);
			break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

static const char sqlite_audit_ddl[] =
        "CREATE TABLE IF NOT EXISTS %s (\n"
        "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        "    action TEXT NOT NULL,\n"
        "    version BIGINT,\n"
        "    description TEXT,\n"
        "    checksum BLOB,\n"
        "    outcome TEXT NOT NULL,\n"
        "    error TEXT,\n"
        "    sqlstate TEXT,\n"
        "    started_at TEXT NOT NULL,\n"
        "    finished_at TEXT NOT NULL,\n"
        "    duration_ns BIGINT NOT NULL,\n"
        "    lock_wait_ns BIGINT,\n"
        "    os_user TEXT,\n"
        "    db_user TEXT,\n"
        "    host TEXT,\n"
        "    pid INTEGER,\n"
        "    strata_version TEXT NOT NULL,\n"
        "    command TEXT,\n"
        "    git_commit TEXT,\n"
        "    up_sql TEXT,\n"
        "    down_sql TEXT,\n"
        "    version_text TEXT\n"
        ")";

/* The sqlite3 *, for the backups. */
static void *handle(struct strata_conn *c)
{
	return to_sqlite(c)->db;
}

const struct strata_driver sqlitedrv_driver = {
	.name = "sqlite",
	.caps = 0,
	.connect = sqlite_connect,
	.close = sqlite_close,
	.split = split_sqlite,
	.exec = sqlite_exec,
	.exec_batch = sqlite_exec_batch,
	.rollback = sqlite_rollback,
	.lock = sqlite_lock,
	.unlock = sqlite_unlock,
	.table_exists = sqlite_table_exists,
	.tables_exist = sqlite_tables_exist,
	.query = sqlitequery_query,
	.query_each = sqlitequery_each,
	.query_each_all = sqlitequery_each_all,
	.audit_ddl = sqlite_audit_ddl,
	.history_ddl = sqlite_history_ddl,
	.ddl_name = ddl_name,
	.current_user = "NULL",
	.iso_time = "%s",
	/* installed_on is CURRENT_TIMESTAMP's text, "YYYY-MM-DD HH:MM:SS"
	 * in UTC; anything strftime() cannot read stays as it is */
	.timestamp_iso = "CASE typeof(%1$s) WHEN 'text' THEN "
	                 "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', %1$s) END",
	.hex = "hex(%s)",
	.database_create = sqlitedb_create,
	.database_drop = sqlitedb_drop,
	.database_exists = sqlitedb_exists,
	.handle = handle,
	.backup = &sqlitebackup_ops,
};

/* ---- for backup_sqlite.c ------------------------------------------------ */

int sqlitedrv_error(struct strata_error *err, sqlite3 *db, int rc)
{
	return db_error(err, db, rc);
}
