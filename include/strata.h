/*
 * libstrata: versioned SQL migrations for PostgreSQL and SQLite, with a
 * history table byte-compatible with sqlx's `_sqlx_migrations`.
 *
 * Conventions (as in git's and libgit2's headers):
 *  - Functions that can fail return 0 on success and -1 on failure, with
 *    `err` filled; release it with strata_error_release().
 *  - The output parameter comes first and is called `out`, the error last.
 *  - `_new`/`_free` pair for heap objects (free accepts NULL); a returned
 *    `const char *` is borrowed from its owner, a `char *` is the caller's.
 *  - The library never prints and never exits; progress and warnings reach
 *    the caller through the event callback in the options.
 */
#ifndef STRATA_H
#define STRATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The version, defined here only (the Makefile reads it for the shared
 * library's file name and soname, libstrata.so.MAJOR).
 * STRATA_VERSION_NUMBER is MAJOR * 10000 + MINOR * 100 + PATCH (0.1.0 is
 * 100, 1.2.3 is 10203), for `#if STRATA_VERSION_NUMBER >= 10200`; it is
 * the version compiled against, strata_version() the one linked.
 */
#define STRATA_VERSION_MAJOR 0
#define STRATA_VERSION_MINOR 1
#define STRATA_VERSION_PATCH 0
#define STRATA_VERSION_NUMBER                                        \
	(STRATA_VERSION_MAJOR * 10000 + STRATA_VERSION_MINOR * 100 + \
	 STRATA_VERSION_PATCH)
#define STRATA_STR_(x)  #x
#define STRATA_XSTR_(x) STRATA_STR_(x)
/* "MAJOR.MINOR.PATCH" */
#define STRATA_VERSION                                           \
	STRATA_XSTR_(STRATA_VERSION_MAJOR)                       \
	"." STRATA_XSTR_(STRATA_VERSION_MINOR) "." STRATA_XSTR_( \
	        STRATA_VERSION_PATCH)

/*
 * What the shared library exports: the functions declared here, nothing
 * else (it is compiled with -fvisibility=hidden), as libgit2's GIT_EXTERN.
 */
#if defined(__GNUC__) && __GNUC__ >= 4
#define STRATA_API __attribute__((visibility("default")))
#else
#define STRATA_API
#endif

#if defined(__GNUC__)
#define STRATA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define STRATA_PRINTF(f, a)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library linked, "MAJOR.MINOR.PATCH": STRATA_VERSION
 * as it was when the library was built. */
STRATA_API const char *strata_version(void);
/* ---- options ------------------------------------------------------------
 * Every options struct starts with `version`, set by its
 * STRATA_X_OPTIONS_INIT initialiser or strata_X_options_init() (as
 * libgit2's), so that a program built against another layout of the
 * struct is refused (STRATA_EUSAGE) instead of misread. A function taking
 * options accepts NULL for the defaults.
 *
 * Zero is the default in every field: a struct fresh from its initialiser
 * behaves as the documented defaults below. A duration is in seconds; an
 * explicit "no limit" (wait forever, never warn, no timeout) is
 * STRATA_FOREVER (any negative value), and an explicit nothing (take the
 * lock without waiting, keep no backup) STRATA_NO_WAIT or STRATA_KEEP_NONE
 * where a field says so. The command line maps its own "0" to these.
 */

/*
 * An options struct's initialiser: its version, every other field zero.
 * C++ has no designated initialisers before C++20, and `{ v }` draws
 * -Wmissing-field-initializers there: a lambda builds the value instead.
 */
#ifdef __cplusplus
#define STRATA_OPTIONS_INIT_(type, v) \
	([]() {                       \
		type o_ = {};         \
		o_.version = (v);     \
		return o_;            \
	}())
#else
#define STRATA_OPTIONS_INIT_(type, v) \
	{                             \
		.version = (v)        \
	}
#endif

#define STRATA_FOREVER   (-1.0)
#define STRATA_NO_WAIT   (-2.0)
#define STRATA_KEEP_NONE (-2)

/*
 * The defaults, each defined once (plain numbers, so that the command
 * line's help can quote them with STRATA_STR()).
 */
#define STRATA_DEFAULT_LOCK_WAIT         60 /* seconds */
#define STRATA_DEFAULT_LOCK_TIMEOUT      2  /* seconds */
#define STRATA_DEFAULT_LOCK_PROBE_MS     20 /* milliseconds */
#define STRATA_DEFAULT_LOCK_PROBE        (STRATA_DEFAULT_LOCK_PROBE_MS / 1000.0)
#define STRATA_DEFAULT_RETRIES           5
#define STRATA_DEFAULT_WARN_AFTER        60 /* seconds */
#define STRATA_DEFAULT_CONNECT_TIMEOUT   10 /* seconds */
#define STRATA_DEFAULT_MAX_FILE_SIZE_MIB 64
#define STRATA_DEFAULT_MAX_FILE_SIZE \
	((size_t)STRATA_DEFAULT_MAX_FILE_SIZE_MIB * 1024u * 1024u)
#define STRATA_DEFAULT_KEEP_DAILY              7
#define STRATA_DEFAULT_KEEP_WEEKLY             4
#define STRATA_DEFAULT_KEEP_MONTHLY            12
#define STRATA_DEFAULT_KEEP_PRE_MIGRATION_DAYS 30
#define STRATA_DEFAULT_KEEP_PRE_MIGRATION \
	(STRATA_DEFAULT_KEEP_PRE_MIGRATION_DAYS * 86400.0) /* seconds */

#define STRATA_STR_(x) #x
#define STRATA_STR(x)  STRATA_STR_(x)

/* ---- errors -------------------------------------------------------------
 * One error type end to end. `code` is the class of the failure, the
 * expected ones each their own; a program maps classes to what it does
 * (the command line: to its exit codes, one table in src/cli/main.c).
 * Their values are stable. */

enum strata_code {
	STRATA_OK = 0,
	/* anything not below: a migration's statement failed (sqlstate
	 * set), a file or child process failed, the server went away */
	STRATA_EFAILED = 1,
	/* bad options or arguments: a URL strata does not know, an options
	 * struct of another version, a combination that cannot be */
	STRATA_EUSAGE = 2,
	STRATA_EPENDING = 3, /* migrations are pending (a verdict) */
	/* the source or the history is not sound: a bad file name, an
	 * edited or missing applied migration, a failed record */
	STRATA_EVALIDATE = 4,
	STRATA_ELINT = 5,    /* the lint gate found an error-level problem */
	STRATA_ELOCK = 6,    /* a lock could not be had in time */
	STRATA_ECONNECT = 7, /* the database could not be reached */
	/* stopped by strata_cancel() */
	STRATA_ECANCELED = 130,
};

/*
 * Why an error happened, where an option or another call of the library
 * would get past it: a program keys its own advice on this (the command
 * line names its flags) while `hint` says it in the library's words.
 */
enum strata_reason {
	STRATA_REASON_NONE = 0,
	/* another runner holds the migration lock: a longer lock_wait */
	STRATA_REASON_LOCK_WAIT,
	/* a statement's locks timed out on every attempt: lock_timeout,
	 * retries */
	STRATA_REASON_LOCK_TIMEOUT,
	/* an applied migration is not in the source: is_ignore_missing */
	STRATA_REASON_MISSING_APPLIED,
	/* the lint gate stopped the run: is_allow_unsafe */
	STRATA_REASON_LINT_GATE,
	/* a pending migration below the newest applied: is_strict_order */
	STRATA_REASON_STRICT_ORDER,
	/* a file over the size limit: max_file_size */
	STRATA_REASON_FILE_TOO_LARGE,
	/* the source folder is missing or holds no migration */
	STRATA_REASON_SOURCE_MISSING,
	STRATA_REASON_SOURCE_EMPTY,
	/* the history table's schema or name: the table option */
	STRATA_REASON_HISTORY_TABLE,
	/* migration `version` has a failed record: strata_repair() with
	 * STRATA_REPAIR_MARK_APPLIED or STRATA_REPAIR_RETRY */
	STRATA_REASON_FAILED_RECORD,
	/* migration `version` failed outside a transaction: some of it may
	 * stay applied */
	STRATA_REASON_FAILED_APPLY,
	/* the down file of migration `version` failed outside a transaction */
	STRATA_REASON_FAILED_REVERT,
	/* migration `version` left an invalid index: STRATA_REPAIR_RETRY
	 * once it is dropped */
	STRATA_REASON_INVALID_INDEX,
	/* migration `version` was edited after it was applied:
	 * STRATA_REPAIR_ACCEPT_CHECKSUM */
	STRATA_REASON_CHECKSUM,
	/* a lint setting names no rule: strata_lint_rule_at() lists them */
	STRATA_REASON_UNKNOWN_RULE,
	/* a whole server URL is needed (a database name alone is not) */
	STRATA_REASON_NEED_URL,
	/* a restore test needs a server to create a scratch database on */
	STRATA_REASON_NEED_SCRATCH_URL,
	/* a restore needs a target */
	STRATA_REASON_NEED_TARGET,
	/* the restore target is not empty: is_clean */
	STRATA_REASON_TARGET_NOT_EMPTY,
	/* overwriting needs a confirmation nobody could give: is_yes */
	STRATA_REASON_CONFIRM,
	/* a backup kind the driver cannot make */
	STRATA_REASON_BACKUP_KIND,
	/* a restore test of a backup that is not a full one */
	STRATA_REASON_RESTORE_TEST_KIND,
	/* the status says more (strata_status_get()), of `version` if set */
	STRATA_REASON_SEE_STATUS,
	/* two files share migration `version` */
	STRATA_REASON_DUPLICATE_VERSION,
	/* a SQLite file that does not exist and may not be created */
	STRATA_REASON_NO_DATABASE_FILE,
	/* a drift's temporary shadow cannot be created: shadow_url */
	STRATA_REASON_SHADOW_CREATEDB,
	/* the given shadow holds tables strata did not make:
	 * is_shadow_reset */
	STRATA_REASON_SHADOW_NOT_EMPTY,
};

struct strata_error {
	enum strata_code code;
	char sqlstate[6]; /* "" unless the database reported one */
	char *message;    /* primary: lower case, no final period */
	char *detail;     /* optional, whole sentences */
	char *hint;       /* optional, whole sentences */
	char *file;       /* migration file, when known */
	int line;         /* 1-based line in `file`; 0 = unknown */
	int column;       /* 1-based column in `line`; 0 = unknown */
	int position;     /* 1-based character in the statement; 0 = unknown */
	int statement;    /* 1-based statement number in `file`; 0 = unknown */
	char *context;    /* the server's CONTEXT (inside a function), if any */
	enum strata_reason reason; /* STRATA_REASON_NONE unless one applies */
	bool has_version;          /* the migration concerned, when one is */
	int64_t version;
	/* its version as its layout shows it ("" when not known: then
	 * `version`); what a command line names it by */
	char version_text[24];
};

/* An error that holds nothing: `struct strata_error err =
 * STRATA_ERROR_INIT;` (C++ takes no 0 for the enum, C no empty braces) */
#ifdef __cplusplus
#define STRATA_ERROR_INIT \
	{                 \
	}
#else
#define STRATA_ERROR_INIT \
	{                 \
		0         \
	}
#endif

/* Frees the strings of `err` and resets it to STRATA_ERROR_INIT. */
STRATA_API void strata_error_release(struct strata_error *err);

/*
 * Sets the code and primary message of `err` (replacing what it held) and
 * returns -1, so that a failure is one line:
 *	return strata_error_set(err, STRATA_EVALIDATE, "bad '%s'", path);
 */
STRATA_API int strata_error_set(struct strata_error *err, enum strata_code code,
                                const char *fmt, ...) STRATA_PRINTF(3, 4);
/* Set the detail or hint of an error already set; both return -1. */
STRATA_API int strata_error_detail(struct strata_error *err, const char *fmt,
                                   ...) STRATA_PRINTF(2, 3);
STRATA_API int strata_error_hint(struct strata_error *err, const char *fmt, ...)
        STRATA_PRINTF(2, 3);
/* A reason's stable name, in kebab case ("lock-wait", "missing-applied"):
 * for logs and machine-readable output. NULL for STRATA_REASON_NONE. */
STRATA_API const char *strata_reason_name(enum strata_reason reason);
/* Sets the reason of an error already set (and the migration concerned
 * unless `version` < 0: versions are never negative); returns -1. */
STRATA_API int strata_error_reason(struct strata_error *err,
                                   enum strata_reason reason, int64_t version);

/*
 * Called when memory runs out, with the size that could not be had. The
 * default prints to stderr and aborts; a replacement must not return.
 */
typedef void (*strata_oom_fn)(size_t size);
STRATA_API void strata_set_oom_handler(strata_oom_fn fn);

/* ---- cancelling ---------------------------------------------------------
 * The library installs no signal handler: the program does, and calls
 * strata_cancel() from it. */

/*
 * Stops what the library is doing, as soon as it safely can. Every
 * statement running is sent a cancel request (PostgreSQL's PQcancel(),
 * SQLite's sqlite3_interrupt()), child processes (pg_dump, pg_restore)
 * are sent SIGTERM, and from then on the call in progress, and every
 * later one that runs SQL, fails with STRATA_ECANCELED at its next step
 * (a wait for the migration lock ends, no further statement or migration
 * starts) once it has rolled back what it began and released the lock. A
 * migration run outside a transaction stays recorded as failed, as after
 * a crash. Async-signal-safe, and may be called again (it sends the
 * cancel requests again).
 *
 * Returns false when the library is inside a call that cannot be
 * interrupted and holds nothing yet (opening a connection): the caller
 * should exit rather than wait for it.
 */
STRATA_API bool strata_cancel(void);
/* Whether strata_cancel() was called. */
STRATA_API bool strata_is_cancelled(void);

/*
 * How long opening a PostgreSQL connection (TCP, TLS and authentication)
 * may take, per host, unless the URL or PGCONNECT_TIMEOUT sets
 * connect_timeout (libpq's own rule: whole seconds, at least 2). Seconds;
 * 0 restores the default (STRATA_DEFAULT_CONNECT_TIMEOUT), STRATA_FOREVER
 * (< 0) waits forever. Process-wide, as
 * libpq's defaults are; call it before connecting.
 */
STRATA_API void strata_set_connect_timeout(double seconds);

/* ---- side effects -------------------------------------------------------
 * What the library does beyond the work each call documents, and how to
 * turn it off:
 *  - Threads. strata_source_load() reads and hashes files on a few
 *    threads, strata_source_load_begin() starts that load on one more
 *    (strata_status_load() too, and asks the database meanwhile), and a
 *    run parses the next migrations on others while one runs. They
 *    block every signal but faults (a program's handlers run on its own
 *    threads) and end before the call returns (a begun load's, before
 *    strata_source_load_end() returns).
 *    strata_set_threads(false) does all of it on the calling thread.
 *  - A `git` child. The audit trail records the commit of the source's
 *    git work tree: once per database handle, at the first audited action
 *    (run, revert, repair, mark-applied), `git -C DIR rev-parse HEAD` runs,
 *    found on PATH. strata_db_options.is_no_git records no commit and runs
 *    no git.
 *  - Backups run pg_dump and pg_restore (strata_backup_*()): that is
 *    their work, nothing runs them otherwise.
 *  - Nothing else: no signal handler, no change to the environment, no
 *    output, no exit; a SQLite URL creates its file unless is_read_only.
 */

/* Whether the library may start threads (above); process-wide, default
 * true. Call it before the calls it should govern. */
STRATA_API void strata_set_threads(bool is_enabled);

/* ---- URLs ---------------------------------------------------------------
 * `postgres://…`, `postgresql://…`, libpq keyword strings (`host=… dbname=…`)
 * and `sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:`. */

/* Returns `url` with any password replaced by "***" (caller frees). Safe
 * to call on anything, including text that is not a URL. */
STRATA_API char *strata_url_redact(const char *url);

/*
 * Parses a duration as the directives of migration files write it
 * (`-- strata:lock-timeout=5s`): "30" or "30s", "500ms", "5m" (or "5min"),
 * "1h", "30d", "2w"; "forever" and "-1" give -1. Returns -1 when `text`
 * is none of these. Public so that a program's own options take the same
 * spellings.
 */
STRATA_API int strata_parse_duration(double *out_seconds, const char *text);

/* ---- text from elsewhere -------------------------------------------------
 * File names, server messages, statements and history rows may hold bytes
 * that drive a terminal (ESC [2J clears it; a newline forges a line). */

enum {
	/* newlines and tabs stay (error detail, a statement's lines) */
	STRATA_PRINTABLE_LINES = 1 << 0,
};

/*
 * `s` made safe to show on a terminal or in a log: C0 control characters
 * (\n \r \t, else \x1b), DEL (\x7f), C1 controls and bidirectional
 * overrides (\u0085, \u202e) and bytes that are not UTF-8 (\xff) become
 * escapes; everything else, backslashes included, stays as it is. Returns
 * a new string (caller frees), or NULL when `s` is safe as it is.
 */
STRATA_API char *strata_printable(const char *s, unsigned flags);

/* ---- migration source ---------------------------------------------------
 * A directory of versioned migrations in the sqlx layouts: `V_desc.sql`,
 * `V_desc.up.sql` + `V_desc.down.sql`, `V_desc.sql` + `V_desc.down.sql`;
 * or in another tool's layout, read as that tool reads it and tracked in
 * that tool's own history table (design.md, Layouts). */

enum strata_layout {
	STRATA_LAYOUT_AUTO = 0, /* detected from the folder */
	STRATA_LAYOUT_SQLX,
	STRATA_LAYOUT_DBMATE, /* V_name.sql with -- migrate:up / down */
	STRATA_LAYOUT_DIESEL, /* VERSION_name/up.sql, down.sql */
	/* sqlx's .up.sql/.down.sql pairs, golang-migrate's one-row table:
	 * found from the database's table, or asked for */
	STRATA_LAYOUT_GOLANG_MIGRATE,
	STRATA_LAYOUT_FLYWAY, /* V<VER>__desc.sql, U<VER>__desc.sql */
};

/* "sqlx", "dbmate", "diesel", "golang-migrate" ("auto" for
 * STRATA_LAYOUT_AUTO). */
STRATA_API const char *strata_layout_name(enum strata_layout layout);
/* The layout called `name`; -1 when there is none of that name. */
STRATA_API int strata_layout_parse(enum strata_layout *out, const char *name);

#define STRATA_CHECKSUM_LEN             48 /* SHA-384 */
#define STRATA_DEFAULT_TABLE            "_sqlx_migrations"
#define STRATA_NO_TRANSACTION_DIRECTIVE "-- no-transaction"

struct strata_migration {
	int64_t version;
	const char *description; /* sqlx's: suffix removed, '_' read as ' ' */
	const char *up_path;     /* "DIR/NAME", as found */
	const char *up_sql;      /* the file's bytes, NUL-terminated */
	size_t up_len;
	const char *down_path; /* NULL when the migration is not reversible */
	const char *down_sql;
	size_t down_len;
	unsigned char checksum[STRATA_CHECKSUM_LEN]; /* SHA-384 of up_sql */
	bool is_no_transaction;      /* up file starts with -- no-transaction */
	bool is_down_no_transaction; /* likewise for the down file */
	bool is_reversible_pair;     /* named .up.sql (down_path NULL when
	                                its .down.sql is missing) */
	/* The version as the layout writes it and shows it: sqlx's number
	 * in decimal; the name's digits, leading zeros kept, in dbmate's
	 * and diesel's ("00000000000000"). `version` orders: see
	 * strata_source_version_key(). */
	const char *version_text;
	/* Flyway's checksum of the up file (flyway layout; 0 otherwise):
	 * CRC-32 of its lines, line endings and a BOM left out */
	int32_t flyway_checksum;
	/* Flyway's repeatable migration (R__x.sql): no version of its own
	 * (`version` is from STRATA_VERSION_REPEATABLE, version_text "R__x"),
	 * run after the versioned ones and again whenever its checksum
	 * changes, never reverted */
	bool is_repeatable;
	/* Flyway's equivalent checksum of a repeatable: that of its file as
	 * read, before ${placeholders} are replaced. A row of either checksum
	 * is the file applied, as Flyway's checksumMatches() has it (an
	 * older Flyway recorded this one). */
	int32_t flyway_equivalent_checksum;
};

struct strata_source;

/* A list of problems, each a whole error (code, file, line, detail, hint). */
struct strata_problems {
	struct strata_error *items;
	size_t count, alloc;
};
STRATA_API void strata_problems_release(struct strata_problems *p);

struct strata_source_options {
	unsigned int version; /* STRATA_SOURCE_OPTIONS_VERSION */
	size_t max_file_size; /* 0: STRATA_DEFAULT_MAX_FILE_SIZE */
	/* When set, every problem of an invalid source is appended here, in
	 * file-name order (the load still fails with the first in err). */
	struct strata_problems *problems;
	/* With `problems`: load the sound migrations anyway and succeed, the
	 * problems only listed (for validation; never for running). */
	bool is_lenient;
	/* Read only what status and check need: each up file, to checksum
	 * it (up_sql and down_sql stay NULL; down files are checked by name
	 * only). Not for running or reverting. */
	bool is_checksums_only;
	/* Read each down file only when a run applies its migration
	 * (strata_migrate_run() reads them, and fails naming one it cannot
	 * read or that is invalid, before applying anything): a run with
	 * nothing pending opens no down file. down_sql stays NULL until then;
	 * strata_migrate_revert() reads every down file first. */
	bool is_down_deferred;
	/* A folder that holds no migration loads (to create the first one);
	 * otherwise it is STRATA_EVALIDATE: read as "up to date", a wrong
	 * or emptied folder would hide everything the database is missing. */
	bool is_empty_ok;
	/* STRATA_LAYOUT_AUTO: the folder's own; another: that one, and a
	 * folder of another layout is STRATA_EVALIDATE. */
	enum strata_layout layout;
	/* Flyway's ${name} placeholders (flyway layout): replaced in every
	 * file as Flyway replaces them, names without regard to case; one
	 * without a value is STRATA_EVALIDATE naming its file and line.
	 * Besides these, ${flyway:filename}, ${flyway:timestamp},
	 * ${flyway:workingDirectory} and ${flyway:table} (that of
	 * `flyway:table` here, else flyway_schema_history) are filled. */
	const struct strata_placeholder *placeholders;
	size_t n_placeholders;
	/* With is_checksums_only, for a status that shows no down file: a
	 * down file the folder's listing does not name (diesel's
	 * DIR/down.sql) is not looked for, a path lookup saved a migration,
	 * and its down_path stays NULL (unknown, not absent). */
	bool is_down_lookup_skipped;
	/* Keep no up file's text once the load has checked and hashed it:
	 * strata_migrate_run() reads again those it is about to apply, and
	 * fails before applying anything, naming the file, if one no longer
	 * reads as the load hashed it. up_sql stays NULL until then, so a run
	 * with nothing pending holds no migration's text (a dbmate file,
	 * whose down section is read with it, keeps its text). For running
	 * only, as is_down_deferred; ignored with is_checksums_only. */
	bool is_up_deferred;
};

struct strata_placeholder {
	const char *name; /* without ${ and } */
	const char *value;
};

#define STRATA_SOURCE_OPTIONS_VERSION 5
#define STRATA_SOURCE_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_source_options, \
	                     STRATA_SOURCE_OPTIONS_VERSION)
/* Fills `opts` with the defaults; -1 for a version this library does not
 * know (so for every strata_*_options_init() below). */
STRATA_API int strata_source_options_init(struct strata_source_options *opts,
                                          unsigned int version);

/*
 * Reads every migration of `dir`. Any invalid file (a name that does not
 * parse, a duplicate version, a down file without its up file, invalid
 * UTF-8, a NUL byte, dbmate's "-- migrate:" sections, a link leading out
 * of `dir`, a directory named like a migration, a file over the size
 * limit) or any entry of another tool's layout (diesel directories,
 * Flyway names, a subdirectory holding files named like migrations) fails
 * the whole load with STRATA_EVALIDATE naming it, so nothing can be
 * applied from an invalid source; so does a folder holding no migration,
 * unless is_empty_ok. A missing `dir` is an error too. Other files not
 * ending in ".sql" are passed over. A byte-order mark is left to the
 * plan, which names it where PostgreSQL's parser would stumble on it.
 */
STRATA_API int strata_source_load(struct strata_source **out, const char *dir,
                                  const struct strata_source_options *opts,
                                  struct strata_error *err);
STRATA_API void strata_source_free(struct strata_source *src);

/*
 * strata_source_load() begun on a thread of its own, so that the caller
 * can do something else meanwhile (open the database: status, check and a
 * run with nothing to do spend most of their time in the two).
 * strata_source_load_end() waits for it and returns what
 * strata_source_load() would have; every begun load is ended, once.
 * `dir` and `opts` are read until then. Without threads (see side
 * effects) begin does the whole load. Never NULL.
 */
struct strata_source_loading;
STRATA_API struct strata_source_loading *
strata_source_load_begin(const char *dir,
                         const struct strata_source_options *opts);
STRATA_API int strata_source_load_end(struct strata_source **out,
                                      struct strata_source_loading *loading,
                                      struct strata_error *err);
STRATA_API const char *strata_source_dir(const struct strata_source *src);
/* The layout the migrations were read in (never STRATA_LAYOUT_AUTO). */
STRATA_API enum strata_layout
strata_source_layout(const struct strata_source *src);
/*
 * The version a user names (VERSION as the layout writes it, in digits)
 * as the source orders it: itself, but in diesel's layout, which orders
 * versions as text, the number that orders as its digits do as text (the
 * migration's `version`; strata_migration.version_text shows it); in
 * Flyway's, the key of its parts (see strata_version_parse()). -1 for a
 * number no version of the layout can be.
 */
STRATA_API int64_t strata_source_version_key(const struct strata_source *src,
                                             int64_t version);
/* Set in a version that strata_version_parse() read as Flyway's parts. */
#define STRATA_VERSION_FLYWAY_KEY (INT64_C(1) << 62)
/*
 * The versions of Flyway's repeatable migrations count up from here, in
 * the order Flyway runs them (by description), above every versioned
 * one; they are no version a user writes, and follow the source's files.
 */
#define STRATA_VERSION_REPEATABLE (INT64_C(1) << 61)
/*
 * A version as a user writes it, for strata_source_version_key() and the
 * functions taking one: digits, or Flyway's parts ("1.2", "1_2") as their
 * order key with STRATA_VERSION_FLYWAY_KEY set (a version only a source in
 * Flyway's layout has), or a Flyway repeatable's name without ".sql"
 * ("R__views", its version text), which the source resolves. -1 when it
 * is none of these.
 */
STRATA_API int strata_version_parse(int64_t *out, const char *text);
/* Migrations in ascending version order; `i` < strata_source_count(). */
STRATA_API size_t strata_source_count(const struct strata_source *src);
STRATA_API const struct strata_migration *
strata_source_at(const struct strata_source *src, size_t i);
/* NULL when no migration has that version. */
STRATA_API const struct strata_migration *
strata_source_find(const struct strata_source *src, int64_t version);

/* ---- embedded migrations --------------------------------------------------
 * A folder's migrations compiled into a program, as sqlx's migrate!() does:
 * `strata embed DIR -o migrations.c` writes C source (C11 or C++) that
 * defines a `const struct strata_embedded` with external C linkage, named
 * strata_migrations unless its -n says otherwise, and the program makes a
 * source of it wherever a folder's would do (run, status, check, validate,
 * revert, lint):
 *
 *	extern const struct strata_embedded strata_migrations;
 *	...
 *	if (strata_source_from_embedded(&src, &strata_migrations, &err) < 0)
 *
 * Each checksum is the folder's: the SHA-384 of the up file's bytes, as
 * sqlx computes it, so a database migrated from the folder is up to date
 * for the program and the other way round. The data is generated: it is
 * regenerated from the folder (at build time), not edited.
 */

/* The layout of struct strata_embedded_migration that strata embed writes
 * now. A library reads the data of every version up to its own; a field
 * added later comes with a new version. */
#define STRATA_EMBEDDED_VERSION 1

struct strata_embedded_migration {
	int64_t version;
	const char *description; /* as the folder's source reads the name */
	const char *up_name;     /* the file's name in the folder */
	const char *up_sql;      /* its bytes, NUL-terminated */
	size_t up_len;
	const char *down_name; /* NULL when the migration has no down file */
	const char *down_sql;
	size_t down_len;
	unsigned char checksum[STRATA_CHECKSUM_LEN]; /* SHA-384 of up_sql */
	bool is_no_transaction;
	bool is_down_no_transaction;
	bool is_reversible_pair; /* up file named .up.sql */
};

struct strata_embedded {
	unsigned int version; /* STRATA_EMBEDDED_VERSION of the writer */
	const char *dir;      /* the folder, as given to strata embed */
	const struct strata_embedded_migration *migrations; /* ascending */
	size_t count;
};

/*
 * A source of the migrations `emb` holds, checked as the folder was when
 * it was embedded: versions ascending and unique, names that parse to
 * them, texts of the length recorded, valid UTF-8, and each checksum
 * that of its text (a mismatch is corrupted or edited data). Any problem
 * is STRATA_EVALIDATE naming the file as "DIR/NAME (embedded)", as are
 * data of a newer version than this library reads and an empty list.
 * The texts are borrowed: `emb` must outlive the source (generated data
 * is static). strata_source_dir() gives "DIR (embedded)".
 */
STRATA_API int strata_source_from_embedded(struct strata_source **out,
                                           const struct strata_embedded *emb,
                                           struct strata_error *err);

/* ---- creating migrations ------------------------------------------------ */

enum strata_versioning {
	STRATA_VERSIONING_INFER = 0, /* as sqlx: sequential if the newest two
	                                versions differ by one */
	STRATA_VERSIONING_TIMESTAMP,
	STRATA_VERSIONING_SEQUENTIAL,
};

enum strata_template {
	STRATA_TEMPLATE_EMPTY = 0,
	STRATA_TEMPLATE_TABLE,
	STRATA_TEMPLATE_INDEX,
	STRATA_TEMPLATE_DATA,
};

enum strata_reversible {
	STRATA_REVERSIBLE_INFER = 0, /* as the newest migration is */
	STRATA_REVERSIBLE_YES,       /* an up and a down file */
	STRATA_REVERSIBLE_NO,        /* one file */
};

struct strata_new_options {
	unsigned int version; /* STRATA_NEW_OPTIONS_VERSION */
	enum strata_versioning versioning;
	enum strata_reversible reversible;
	enum strata_template template_kind;
	int64_t now_timestamp; /* 0: the current UTC time (for tests) */
	size_t max_file_size;  /* of the source's files; 0: the default */
	/* STRATA_LAYOUT_AUTO: the folder's (sqlx's for an empty one) */
	enum strata_layout layout;
	/* Flyway's ${placeholders}: as strata_source_options' */
	const struct strata_placeholder *placeholders;
	size_t n_placeholders;
};

#define STRATA_NEW_OPTIONS_VERSION 2
#define STRATA_NEW_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_new_options, \
	                     STRATA_NEW_OPTIONS_VERSION)
STRATA_API int strata_new_options_init(struct strata_new_options *opts,
                                       unsigned int version);

/*
 * Creates the next migration file(s) for `description` in `dir` (created
 * when missing). `*out_paths` receives a NULL-terminated array of the
 * created paths (caller frees with strata_strv_free()).
 */
STRATA_API int strata_migration_new(char ***out_paths, const char *dir,
                                    const char *description,
                                    const struct strata_new_options *opts,
                                    struct strata_error *err);
STRATA_API void strata_strv_free(char **strv);

/* ---- checksums ---------------------------------------------------------- */

/*
 * The SHA-384 of `data`, as sqlx records it. OpenSSL's libcrypto
 * (libcrypto.so.3) is loaded at the first use; where it cannot be, this
 * aborts. strata_source_load() and strata_source_from_embedded() report
 * that case as their error (STRATA_EFAILED), so that a program that
 * loaded a source first never meets it.
 */
STRATA_API void strata_checksum(unsigned char out[STRATA_CHECKSUM_LEN],
                                const void *data, size_t len);

/* ---- databases ---------------------------------------------------------- */

enum strata_event_kind {
	STRATA_EVENT_LOCK_WAIT,     /* another runner holds the lock */
	STRATA_EVENT_LOCK_ACQUIRED, /* waited_seconds says how long */
	STRATA_EVENT_APPLY_START,
	STRATA_EVENT_APPLY_DONE, /* duration_ns */
	STRATA_EVENT_APPLY_SKIP, /* another runner applied it meanwhile */
	STRATA_EVENT_REVERT_START,
	STRATA_EVENT_REVERT_DONE,
	STRATA_EVENT_DRY_RUN_APPLY, /* would apply (run --dry-run) */
	STRATA_EVENT_DRY_RUN_REVERT,
	STRATA_EVENT_WARNING, /* message, maybe migration */
	STRATA_EVENT_NOTICE,  /* a server notice: message */
	STRATA_EVENT_BLOCKED, /* a statement waits on holder_pid: message
	                         says who (user, state, transaction age) */
	STRATA_EVENT_RETRY,   /* a lock timeout or deadlock: the migration was
	                         rolled back and runs again after
	                         waited_seconds; message says why */
	STRATA_EVENT_LINT,    /* run's lint gate: a finding, see below */
	STRATA_EVENT_BACKUP_PROGRESS,  /* bytes written so far, message */
	STRATA_EVENT_RESTORE_PROGRESS, /* message: what is being done */
	/*
	 * A migration's statements run: statement of n_statements (0: not
	 * known, as when the parser rejected the text and it runs whole),
	 * duration_ns since the migration started (retries included), and
	 * while a session blocks it, holder_pid (else 0), holder_user,
	 * holder_state, holder_application, and waited_seconds on it. Sent
	 * when a statement starts and about every 200 ms while one runs; it
	 * ends with the migration's APPLY_DONE or REVERT_DONE, or an error.
	 */
	STRATA_EVENT_PROGRESS,
};

struct strata_finding;

struct strata_event {
	enum strata_event_kind kind;
	const struct strata_migration *migration; /* NULL when none */
	int64_t version;
	const char *description;
	int64_t duration_ns;
	const char *message;
	/* STRATA_EVENT_LOCK_WAIT / LOCK_ACQUIRED, BLOCKED, PROGRESS */
	int holder_pid; /* 0 when unknown */
	const char *holder_application;
	const char *holder_query;
	double waited_seconds;
	/* STRATA_EVENT_LINT: every finding of the migrations to apply, of
	 * both severities (the caller decides what to show) */
	const struct strata_finding *finding;
	/* STRATA_EVENT_BACKUP_PROGRESS */
	int64_t bytes;
	/*
	 * STRATA_EVENT_PROGRESS, and the WARNING of warn_after: the statement
	 * running (1-based; 0 when not known) of how many, and the start of
	 * its text on one line, at most about 80 characters (NULL with
	 * is_hide_queries, or when not known).
	 */
	size_t statement;
	size_t n_statements;
	const char *statement_text;
	bool is_down; /* the down file runs: a revert */
	/*
	 * STRATA_EVENT_PROGRESS on PostgreSQL: the server's own account of a
	 * CREATE INDEX, CLUSTER, VACUUM FULL or VACUUM running (its
	 * pg_stat_progress_* view): the phase, "building index: scanning
	 * table", and the percent of its blocks or tuples done (-1: not
	 * known); NULL when the server reports none.
	 */
	const char *phase;
	int percent;
	/* STRATA_EVENT_PROGRESS and BLOCKED: the blocking session */
	const char *holder_user;
	const char *holder_state; /* "idle in transaction", "active", ... */
};

typedef void (*strata_event_fn)(const struct strata_event *ev, void *data);

struct strata_db_options {
	unsigned int version; /* STRATA_DB_OPTIONS_VERSION */
	const char *table;    /* NULL: STRATA_DEFAULT_TABLE; "schema.name" ok */
	/*
	 * How long to wait for the migration lock (and, for a backup, for
	 * its table locks): seconds; 0: STRATA_DEFAULT_LOCK_WAIT;
	 * STRATA_NO_WAIT: one try; any other negative (STRATA_FOREVER): no
	 * limit.
	 */
	double lock_wait;
	/*
	 * Set for every migration (a file's `-- strata:lock-timeout=…` and
	 * `-- strata:statement-timeout=…` directives win): seconds; 0 means
	 * the default (lock_timeout STRATA_DEFAULT_LOCK_TIMEOUT, no
	 * statement_timeout), < 0 (STRATA_FOREVER) none.
	 */
	double lock_timeout;
	double statement_timeout;
	/*
	 * Seconds an attempt that has another after it (see retries) waits
	 * for its locks, at most lock_timeout: a waiting lock request holds
	 * up every later one on the table. 0: the default
	 * (STRATA_DEFAULT_LOCK_PROBE); < 0: every attempt waits the whole
	 * lock_timeout.
	 */
	double lock_probe;
	/*
	 * lock_timeout of the statements with CONCURRENTLY (CREATE and DROP
	 * INDEX, REINDEX, DETACH PARTITION; a file's
	 * `-- strata:concurrent-lock-timeout=…` wins): seconds. They wait for
	 * every older transaction of the database, under lock_timeout, while
	 * holding no lock that application queries queue behind; a timeout
	 * throws their work away. 0: the default, none; < 0 none.
	 */
	double concurrent_lock_timeout;
	/* A transactional migration failing on a lock timeout (55P03) or a
	 * deadlock (40P01) runs again up to this many times, with
	 * exponential backoff and jitter; 0: the default
	 * (STRATA_DEFAULT_RETRIES), < 0: never. */
	int retries;
	/* A warning (STRATA_EVENT_WARNING naming the statement running) once
	 * a migration has run this many seconds (a file's
	 * `-- strata:warn-after=…` directive wins); 0: the default
	 * (STRATA_DEFAULT_WARN_AFTER), < 0: never. */
	double warn_after;
	bool is_hide_queries; /* no query texts in blocker reports, progress
	                         and warnings */
	bool is_read_only;    /* the caller only reads: create no database */
	bool is_no_git;       /* no git child: see "side effects" */
	strata_event_fn on_event; /* NULL: events are dropped */
	void *event_data;
	const char *command; /* recorded in the audit trail; redact it first */
	/*
	 * PostgreSQL, schema per tenant: the session's search_path is this
	 * schema alone, the history table (when `table` names no schema)
	 * and the audit trail are in it, and the migration lock is this
	 * schema's, so that the schemas of one database migrate at once.
	 * NULL: the URL's search_path, and the lock of the database as
	 * sqlx takes it.
	 */
	const char *schema;
};

#define STRATA_DB_OPTIONS_VERSION 1
#define STRATA_DB_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_db_options, \
	                     STRATA_DB_OPTIONS_VERSION)
STRATA_API int strata_db_options_init(struct strata_db_options *opts,
                                      unsigned int version);

struct strata_db;

/*
 * Connects to `url` (see URLs above). Fails with STRATA_ECONNECT when the
 * server cannot be reached, and STRATA_EUSAGE when the URL is not one
 * strata knows. Messages never contain the password.
 */
STRATA_API int strata_db_open(struct strata_db **out, const char *url,
                              const struct strata_db_options *opts,
                              struct strata_error *err);
STRATA_API void strata_db_close(struct strata_db *db);
/*
 * Does ahead what a command that takes the migration lock does first, for
 * a caller waiting anyway (for a load begun with
 * strata_source_load_begin()): opens the session PostgreSQL's lock is held
 * on (its second connection), and asks whether golang-migrate's table is
 * there (what a folder of up and down pairs is read by) and the history's
 * (there, it is not asked again under the lock). Takes no lock;
 * what fails here is tried again, and reported, by the call that needs
 * it. The lock's session: nothing for SQLite.
 */
STRATA_API void strata_db_prepare(struct strata_db *db);
/*
 * strata_db_open() and then strata_db_prepare(), for a caller that takes
 * the migration lock next (run, revert, repair): on PostgreSQL the lock's
 * session connects beside the work's rather than after it, so that over
 * a network the two connections cost the round trips of one. It is kept
 * only if it reached the server the work's did; else the lock connects
 * as strata_db_prepare() would.
 */
STRATA_API int strata_db_open_locking(struct strata_db **out, const char *url,
                                      const struct strata_db_options *opts,
                                      struct strata_error *err);
STRATA_API const char *strata_db_driver_name(const struct strata_db *db);
/* The server's version as PQserverVersion() gives it (150004); 0 for
 * SQLite. */
STRATA_API int strata_db_server_version(const struct strata_db *db);

/* Another runner at work on the database, as its lock shows it. */
struct strata_runner {
	bool is_running; /* a session holds the migration lock */
	int pid;         /* its server process; 0 when not known */
	/* what it runs, as strata's lock session announces it ("applying
	 * 20250101120000 create users"), "" between migrations or when the
	 * holder is not strata */
	char what[256];
	/* how long its migration has been running; < 0 when none is */
	double seconds;
};

/*
 * Who holds the migration lock of `db`'s database, without taking it
 * (read only: pg_locks and pg_stat_activity). SQLite's lock is the
 * writer's own and is not seen: never running.
 */
STRATA_API int strata_db_runner(struct strata_db *db, struct strata_runner *out,
                                struct strata_error *err);

/* ---- running ------------------------------------------------------------ */

struct strata_lint_options;

struct strata_run_options {
	unsigned int version; /* STRATA_RUN_OPTIONS_VERSION */
	bool has_target;
	int64_t target_version; /* apply nothing above it */
	bool is_dry_run;
	bool is_single_transaction; /* all or nothing */
	bool is_ignore_missing;     /* applied but not in the source is ok */
	bool is_strict_order; /* refuse pending below the newest applied */
	/*
	 * The lint gate: what is about to run is linted first (PostgreSQL
	 * only) and error-level findings stop the run with STRATA_ELINT,
	 * applying nothing, unless is_allow_unsafe. Every finding reaches the
	 * event callback as STRATA_EVENT_LINT. `lint` NULL: the defaults; its
	 * pg_version 0: the server's.
	 */
	bool is_allow_unsafe;
	const struct strata_lint_options *lint;
	/*
	 * Standbys (PostgreSQL URLs or keyword strings, borrowed) whose
	 * replay a batch migration's max-lag waits for, each asked directly
	 * how far it has replayed. When a batch migration is pending, each
	 * is reached and checked to be in recovery before anything runs
	 * (STRATA_ECONNECT, STRATA_EUSAGE). None: the lag the primary's
	 * pg_stat_replication shows.
	 */
	const char *const *replicas;
	size_t n_replicas;
};

#define STRATA_RUN_OPTIONS_VERSION 2
#define STRATA_RUN_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_run_options, \
	                     STRATA_RUN_OPTIONS_VERSION)
STRATA_API int strata_run_options_init(struct strata_run_options *opts,
                                       unsigned int version);

struct strata_run_result {
	size_t applied; /* or, with is_dry_run, would be applied */
	size_t skipped; /* applied meanwhile by a concurrent runner */
};

/*
 * Applies the pending migrations of `src` in version order, each in its
 * own transaction with its history row (or all in one with
 * is_single_transaction). Before anything runs, the lock is taken, the
 * history read, and the source checked against it: a failed record,
 * an edited applied migration, or an applied one missing from the source
 * (unless is_ignore_missing) stop the run with STRATA_EVALIDATE, as does a
 * statement that cannot run inside a transaction in a transactional file.
 * On a failing statement the error names the file, line, statement and
 * SQLSTATE, and the failing migration leaves nothing behind (a
 * non-transactional one leaves its failed record).
 */
STRATA_API int strata_migrate_run(struct strata_run_result *out,
                                  struct strata_db *db,
                                  const struct strata_source *src,
                                  const struct strata_run_options *opts,
                                  struct strata_error *err);

/*
 * The versions `strata_migrate_run()` with `opts` would apply now, in
 * order (read without the lock: a concurrent runner may change it); none
 * when the history stops the run (a failed, edited or missing migration).
 * `*out` is the caller's to free (NULL when there are none).
 */
STRATA_API int strata_migrate_pending(int64_t **out, size_t *out_n,
                                      struct strata_db *db,
                                      const struct strata_source *src,
                                      const struct strata_run_options *opts,
                                      struct strata_error *err);

struct strata_revert_options {
	unsigned int version; /* STRATA_REVERT_OPTIONS_VERSION */
	size_t count;         /* how many of the newest to revert; 0 means 1 */
	bool has_target;
	int64_t target_version; /* revert everything above it; 0: all */
	bool is_all;
	bool is_dry_run;
	/* all or nothing: every migration reverted in one transaction (none
	 * may be fenced), retried whole after a lost lock race */
	bool is_single_transaction;
};

#define STRATA_REVERT_OPTIONS_VERSION 2
#define STRATA_REVERT_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_revert_options, \
	                     STRATA_REVERT_OPTIONS_VERSION)
STRATA_API int strata_revert_options_init(struct strata_revert_options *opts,
                                          unsigned int version);

/*
 * Reverts applied migrations, newest first, each with its down file in a
 * transaction together with the removal of its history row (or all in
 * one, is_single_transaction). Every
 * migration to revert is checked first: one without a down file, missing
 * from the source, or edited since it was applied stops the revert before
 * anything runs.
 */
STRATA_API int strata_migrate_revert(size_t *out_reverted, struct strata_db *db,
                                     const struct strata_source *src,
                                     const struct strata_revert_options *opts,
                                     struct strata_error *err);

/* ---- seeds -------------------------------------------------------------- */

/*
 * Runs `sql`, the text of the seed file `path` (named in errors and the
 * audit trail), in one transaction under the migration lock, with the
 * database's lock_timeout and statement_timeout, and records it in the
 * audit trail as action "seed": never in the history, since a seed is no
 * version of the schema and may run again. What one transaction cannot
 * hold (CREATE INDEX CONCURRENTLY, BEGIN/COMMIT, COPY FROM STDIN) and SQL
 * the parser rejects are STRATA_EVALIDATE before anything runs; a failing
 * statement rolls the whole file back (STRATA_EFAILED, file, line and
 * SQLSTATE in `err`).
 */
STRATA_API int strata_seed_run(struct strata_db *db, const char *path,
                               const char *sql, size_t len,
                               struct strata_error *err);
/* strata_seed_run()'s checks alone, for every file before the first runs. */
STRATA_API int strata_seed_check(struct strata_db *db, const char *path,
                                 const char *sql, size_t len,
                                 struct strata_error *err);

/* ---- fleets ------------------------------------------------------------- */

/*
 * The targets a query on the PostgreSQL database `url` names: each row's
 * first column a URL, or a database name on the same server (given as a
 * URL with the server and options of `url`, its password included, for
 * connecting: redact it before showing it). The query runs read-only. An
 * array of `*out_n` strings in `*out`; the caller frees each and the
 * array.
 */
STRATA_API int strata_fleet_query_targets(char ***out, size_t *out_n,
                                          const char *url, const char *sql,
                                          struct strata_error *err);
/* The connections the PostgreSQL server of `url` has free for a role
 * that is not a superuser (max_connections, less those reserved and
 * those open); -1 for a database that has no such limit (SQLite). */
STRATA_API int strata_fleet_free_connections(int *out, const char *url,
                                             struct strata_error *err);
/* The schemas of the PostgreSQL database `url` whose names are LIKE
 * `pattern`, in name order, for strata_db_options.schema; as above. */
STRATA_API int strata_fleet_query_schemas(char ***out, size_t *out_n,
                                          const char *url, const char *pattern,
                                          struct strata_error *err);

/* ---- status ------------------------------------------------------------- */

enum strata_state {
	STRATA_STATE_APPLIED,
	STRATA_STATE_PENDING,
	STRATA_STATE_OUT_OF_ORDER, /* pending, below the newest applied */
	STRATA_STATE_FAILED,       /* success = false: partially applied */
	STRATA_STATE_CHECKSUM_MISMATCH,
	STRATA_STATE_MISSING, /* recorded, but not in the source */
};

STRATA_API const char *strata_state_name(enum strata_state state);

struct strata_status_entry {
	int64_t version;
	const char *version_text; /* as the layout shows it */
	const char *description;  /* from the source, else from the history */
	enum strata_state state;
	const struct strata_migration *migration; /* NULL when missing */
	bool is_recorded;                         /* has a history row */
	const char *installed_on; /* ISO 8601, "" when not recorded */
	int64_t execution_time_ns;
	unsigned char recorded_checksum[STRATA_CHECKSUM_LEN];
	size_t recorded_checksum_len;
	bool is_whitespace_only_change; /* mismatch only from CRLF or a BOM */
	const char *applied_by; /* "user@host" from the audit trail, or NULL */
};

struct strata_status {
	struct strata_status_entry *entries; /* ascending version */
	size_t count;
	size_t n_applied, n_pending, n_failed, n_mismatch, n_missing;
	int64_t newest_applied; /* 0 when none */
};

/*
 * Compares the source with the history (read-only: a missing history
 * table means nothing is applied). Free with strata_status_free().
 */
STRATA_API int strata_status_get(struct strata_status **out,
                                 struct strata_db *db,
                                 const struct strata_source *src,
                                 struct strata_error *err);

struct strata_status_options {
	unsigned int version; /* STRATA_STATUS_OPTIONS_VERSION */
	/* leave applied_by NULL: one read of the audit trail less (check) */
	bool is_without_applied_by;
};

#define STRATA_STATUS_OPTIONS_VERSION 1
#define STRATA_STATUS_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_status_options, \
	                     STRATA_STATUS_OPTIONS_VERSION)
STRATA_API int strata_status_options_init(struct strata_status_options *opts,
                                          unsigned int version);

/*
 * strata_source_load() of `dir` and strata_status_get() in one: the files
 * are read and hashed on other threads while the database answers. On
 * failure nothing is returned, and a problem with the source wins over
 * one with the database. `src_opts` and `opts` may be NULL. Free both
 * results.
 */
STRATA_API int strata_status_load(struct strata_status **out,
                                  struct strata_source **out_src,
                                  struct strata_db *db, const char *dir,
                                  const struct strata_source_options *src_opts,
                                  const struct strata_status_options *opts,
                                  struct strata_error *err);
/*
 * strata_status_load() of a load begun with strata_source_load_begin():
 * the database is read on the calling thread while the load finishes,
 * and the load is ended, whatever the outcome.
 */
STRATA_API int strata_status_load_end(struct strata_status **out,
                                      struct strata_source **out_src,
                                      struct strata_db *db,
                                      struct strata_source_loading *loading,
                                      const struct strata_status_options *opts,
                                      struct strata_error *err);
STRATA_API void strata_status_free(struct strata_status *st);

/*
 * The verdict of `check` for a status: STRATA_OK when up to date,
 * STRATA_EVALIDATE when anything is failed, edited or missing, else
 * STRATA_EPENDING when migrations are pending.
 */
STRATA_API enum strata_code
strata_status_verdict(const struct strata_status *st);

/* ---- validation --------------------------------------------------------- */

struct strata_validate_options {
	unsigned int version;      /* STRATA_VALIDATE_OPTIONS_VERSION */
	size_t max_file_size;      /* 0: STRATA_DEFAULT_MAX_FILE_SIZE */
	bool is_strict_order;      /* a pending version below the newest applied
	                              is a problem, not a warning */
	enum strata_layout layout; /* as strata_source_options' */
	const struct strata_placeholder *placeholders; /* likewise */
	size_t n_placeholders;
};

#define STRATA_VALIDATE_OPTIONS_VERSION 2
#define STRATA_VALIDATE_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_validate_options, \
	                     STRATA_VALIDATE_OPTIONS_VERSION)
STRATA_API int
strata_validate_options_init(struct strata_validate_options *opts,
                             unsigned int version);

/*
 * Every problem at once, where `run` stops at the first: the source's
 * (names, duplicate versions, incomplete pairs, invalid UTF-8, NUL bytes,
 * oversized files, links out of the tree), each file's SQL (statements
 * that cannot run in a transaction in a transactional file, SQL the parser
 * rejects, COPY FROM STDIN), and with `db` (may be NULL: offline, judged
 * with PostgreSQL's parser) the history's: failed records, applied
 * migrations missing from the source, migrations changed after they were
 * applied. Out-of-order pending migrations are warnings (events) unless
 * is_strict_order. Returns 0 when validation ran, whatever it found; -1
 * when it could not (an unreadable directory, an unreadable history).
 */
STRATA_API int strata_validate(struct strata_problems *out,
                               struct strata_db *db, const char *dir,
                               const struct strata_validate_options *opts,
                               struct strata_error *err);
/* strata_validate() of a source already loaded (embedded ones): its SQL
 * and, with `db`, the history; the source's own checks were its load's. */
STRATA_API int
strata_validate_source(struct strata_problems *out, struct strata_db *db,
                       const struct strata_source *src,
                       const struct strata_validate_options *opts,
                       struct strata_error *err);

/* ---- repairs --------------------------------------------------------------
 * Every way out of a broken state is one explicit, audited command, run
 * under the migration lock, its history change and audit row committed
 * together. */

enum strata_repair_kind {
	/* a failed record whose effect a human completed: success = true */
	STRATA_REPAIR_MARK_APPLIED,
	/* a failed record whose effect a human undid: forgotten, so the next
	 * run applies the migration again */
	STRATA_REPAIR_RETRY,
	/* an applied migration edited on purpose: its checksum re-blessed */
	STRATA_REPAIR_ACCEPT_CHECKSUM,
};

struct strata_repair_result {
	unsigned char old_checksum[STRATA_CHECKSUM_LEN];
	unsigned char new_checksum[STRATA_CHECKSUM_LEN];
	char *old_sql; /* accept-checksum: the text as applied, when the
	                  audit trail holds it; NULL otherwise */
};

/*
 * Repairs migration `version`. A record in another state than the repair
 * needs (not failed, not edited, absent) is STRATA_EVALIDATE with the
 * state it is in. Release `out` with strata_repair_result_release().
 */
STRATA_API int strata_repair(struct strata_repair_result *out,
                             struct strata_db *db,
                             const struct strata_source *src,
                             enum strata_repair_kind kind, int64_t version,
                             struct strata_error *err);
STRATA_API void strata_repair_result_release(struct strata_repair_result *r);

/*
 * Records migrations as applied without running them, with the rows sqlx
 * would write (for adopting an existing database): with is_baseline every
 * pending migration up to `version`, else exactly `version`, which must
 * be pending. `*out_count` receives how many were recorded.
 */
STRATA_API int strata_mark_applied(size_t *out_count, struct strata_db *db,
                                   const struct strata_source *src,
                                   int64_t version, bool is_baseline,
                                   struct strata_error *err);

/* ---- leaving another tool: strata_convert() ------------------------------
 * A folder of another tool's layout (diesel, dbmate, golang-migrate,
 * Flyway) rewritten into sqlx's, and the history of what was applied
 * copied into sqlx's table beside the tool's, which stays as it is
 * (design.md, Converting to sqlx's layout). */

struct strata_convert_options {
	unsigned int version; /* STRATA_CONVERT_OPTIONS_VERSION */
	/* the folder to write, which must not exist or be empty; NULL: the
	 * source's folder with "-sqlx" after its name, beside it */
	const char *out_dir;
	/* say what would be done, write nothing */
	bool is_dry_run;
	/* leave Flyway's repeatables (R__) out, said in the result, rather
	 * than refuse them: sqlx has nothing like them */
	bool is_skip_repeatables;
};

#define STRATA_CONVERT_OPTIONS_VERSION 1
#define STRATA_CONVERT_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_convert_options, \
	                     STRATA_CONVERT_OPTIONS_VERSION)
STRATA_API int strata_convert_options_init(struct strata_convert_options *opts,
                                           unsigned int version);

/* One migration, its old file(s) and its new one(s). */
struct strata_convert_file {
	const char *old_path, *old_down_path; /* the source's; down: NULL */
	const char *old_version;              /* as the old layout shows it */
	int64_t version;                      /* sqlx's */
	char *up_name, *down_name;     /* in the new folder; down: NULL */
	bool is_no_transaction_added;  /* "-- no-transaction" put first */
	bool is_placeholders_replaced; /* Flyway ${...} written replaced */
};

struct strata_convert_result {
	char *out_dir;
	struct strata_convert_file *files;
	size_t n_files;
	/* repeatables left out (is_skip_repeatables): their paths */
	const char **skipped;
	size_t n_skipped;
	bool has_db;
	/* sqlx's versions whose rows were (or, dry run, would be) copied */
	int64_t *copied;
	size_t n_copied;
	/* rows sqlx's table already held as they would be copied */
	size_t n_same;
	/* the folder was already there, as it would be written */
	bool is_folder_same;
};

/*
 * Rewrites `src` (read in its layout, as run reads it) into sqlx's layout
 * in a new folder, and with `db` (may be NULL: the files alone), copies
 * every applied migration's row of the tool's history into sqlx's table
 * (checksum: the new up file's SHA-384), in one transaction under the
 * migration lock, leaving the tool's table as it is. The folder is
 * written beside its place and renamed into it at the end: a failure
 * leaves none. STRATA_EVALIDATE for what cannot be converted faithfully
 * (a repeatable, versions sqlx cannot order as the tool does, a failed,
 * edited or missing applied migration, sqlx rows that disagree, a
 * non-empty folder), naming it. Running it again once done changes
 * nothing (is_folder_same, n_same). `src` and `db` must outlive `out`;
 * release it with strata_convert_result_release().
 */
STRATA_API int strata_convert(struct strata_convert_result *out,
                              struct strata_db *db,
                              const struct strata_source *src,
                              const struct strata_convert_options *opts,
                              struct strata_error *err);
STRATA_API void strata_convert_result_release(struct strata_convert_result *r);

/* ---- the audit trail ---------------------------------------------------- */

struct strata_audit_filter {
	bool has_version;
	int64_t version;
	const char *action; /* NULL: every action */
	const char *since;  /* ISO 8601 date or time, UTC; NULL: all */
	size_t limit;       /* the newest N; 0: all */
	/* with has_version: the version as the layout writes it, which the
	 * rows that recorded it are matched by (`version` matches the
	 * others); NULL: `version` alone */
	const char *version_text;
};

/* One recorded action; strings are "" or NULL when not recorded. */
struct strata_audit_row {
	int64_t id;
	const char *action; /* apply, revert, repair, mark-applied, baseline,
	                       accept-checksum, convert, lock-timeout */
	bool has_version;
	int64_t version;
	const char *description;
	const char *outcome; /* success or failure */
	const char *error;
	const char *sqlstate;
	const char *started_at, *finished_at; /* ISO 8601, UTC */
	int64_t duration_ns;
	int64_t lock_wait_ns;
	const char *os_user, *db_user, *host;
	int64_t pid;
	const char *strata_version;
	const char *command; /* as typed, passwords redacted */
	const char *git_commit;
	bool has_down_sql;
	/* the version as its layout writes it (Flyway's 1.2 or R__NAME,
	 * diesel's digits), NULL in a row from before strata recorded it:
	 * `version` is an order key, not to be shown, in diesel's and
	 * Flyway's layouts (a repeatable's changes as repeatables are
	 * added) */
	const char *version_text;
};

struct strata_audit {
	struct strata_audit_row *rows; /* oldest first */
	size_t count;
};

/*
 * Reads the audit trail (strata's table beside the history table; sqlx's
 * table is left exactly as sqlx writes it). A database without the trail
 * gives no rows. Free with strata_audit_free().
 */
STRATA_API int strata_audit_read(struct strata_audit **out,
                                 struct strata_db *db,
                                 const struct strata_audit_filter *filter,
                                 struct strata_error *err);
STRATA_API void strata_audit_free(struct strata_audit *a);

/* ---- lint ---------------------------------------------------------------
 * The safety linter: PostgreSQL migrations read with PostgreSQL's own
 * parser (libpg_query), checked against rules that keep a live database
 * up: locks, table rewrites, scans under lock, changes that break running
 * code. Rules are listed in docs/lint/ (one page each). */

enum strata_severity {
	STRATA_SEVERITY_OFF = 0, /* the rule does not run */
	STRATA_SEVERITY_WARNING,
	STRATA_SEVERITY_ERROR, /* `lint` exits 5, `run` refuses */
	/*
	 * Findings only, never a rule's setting: a lock or rewrite hazard on
	 * a table the database says is small (see big_table_rows).
	 */
	STRATA_SEVERITY_NOTE,
};

/* "off", "warning", "error", "note". */
STRATA_API const char *strata_severity_name(enum strata_severity sev);
/* The reverse, also "warn" and "ignore"; -1 for anything else. */
STRATA_API int strata_severity_parse(enum strata_severity *out,
                                     const char *text);

struct strata_lint_rule {
	const char *id; /* stable, kebab-case: "ban-drop-column" */
	enum strata_severity severity; /* the default */
	const char *summary;           /* what it catches, one line */
	const char *hint;              /* the safe alternative */
};

/* The rules, in a fixed order; `i` < strata_lint_rule_count(). */
STRATA_API size_t strata_lint_rule_count(void);
STRATA_API const struct strata_lint_rule *strata_lint_rule_at(size_t i);
/* NULL when no rule has that id. */
STRATA_API const struct strata_lint_rule *strata_lint_rule_find(const char *id);

/* A rule's severity chosen by the user (configuration): OFF also serves
 * as an ignore list. */
struct strata_lint_setting {
	const char *rule;
	enum strata_severity severity;
};

struct strata_lint_options {
	unsigned int version; /* STRATA_LINT_OPTIONS_VERSION */
	/*
	 * The target server as PQserverVersion() reports it (150004), for
	 * rules whose truth depends on it (constant defaults are free since
	 * 11, SET NOT NULL uses a valid CHECK since 12, ...). 0: the
	 * parser's version (15), unless strata_lint_source() gets a
	 * database.
	 */
	int pg_version;
	const struct strata_lint_setting *settings; /* may be NULL */
	size_t n_settings;
	/* The files are run by strata's runner, which sets lock_timeout on
	 * every migration: require-lock-timeout is then satisfied. */
	bool is_runner_lock_timeout;
	size_t max_file_size; /* of strata_lint_file(); 0: the default */
	/*
	 * With a database (the run gate, strata_lint_source()), a lock or
	 * rewrite hazard is graded by its table's size (pg_class.reltuples,
	 * pg_total_relation_size(), partitions and children included): an
	 * error on a table of at least big_table_rows rows or
	 * big_table_size bytes, a note on one below small_table_rows rows
	 * and small_table_size bytes, a warning in between. A table never
	 * analysed is judged by its size alone. 0: the defaults, 1,000,000
	 * rows, 100 MB (MiB), 10,000 rows, 10 MB (MiB).
	 */
	int64_t big_table_rows, big_table_size;
	int64_t small_table_rows, small_table_size;
	/* The runner sets statement_timeout on every migration (it sets
	 * none unless told to): require-statement-timeout is then
	 * satisfied. */
	bool is_runner_statement_timeout;
	/* Notes too common to report unasked: prefer-robust-stmts on DDL
	 * in a file that runs in one transaction (a failure undoes it all,
	 * so a second run starts afresh; squawk warns of it anyway). */
	bool is_robust_notes;
};

#define STRATA_LINT_OPTIONS_VERSION 2
#define STRATA_LINT_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_lint_options, \
	                     STRATA_LINT_OPTIONS_VERSION)
STRATA_API int strata_lint_options_init(struct strata_lint_options *opts,
                                        unsigned int version);

struct strata_lint_file_options {
	unsigned int version;   /* STRATA_LINT_FILE_OPTIONS_VERSION */
	bool is_no_transaction; /* runs outside a transaction */
	/*
	 * The file runs in the same run as the files linted before it in this
	 * session (pending migrations applied together): tables they create
	 * are new, empty and unused, so lock rules exempt them here too.
	 * Otherwise only objects created earlier in the same file are.
	 */
	bool is_same_run;
	/* The runner sets lock_timeout before the file runs, which
	 * satisfies require-lock-timeout (the file may also SET it). */
	bool is_lock_timeout_set;
	/* Likewise statement_timeout, for require-statement-timeout. */
	bool is_statement_timeout_set;
};

#define STRATA_LINT_FILE_OPTIONS_VERSION 2
#define STRATA_LINT_FILE_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_lint_file_options, \
	                     STRATA_LINT_FILE_OPTIONS_VERSION)
STRATA_API int
strata_lint_file_options_init(struct strata_lint_file_options *opts,
                              unsigned int version);

struct strata_finding {
	const char *rule; /* a rule id */
	enum strata_severity severity;
	const char *file;    /* as given */
	int line;            /* 1-based */
	int column;          /* 1-based, in characters */
	int statement;       /* 1-based in `file`; 0 when about the file */
	const char *message; /* names the object; lower case, no period */
	const char *hint;    /* the safe alternative; NULL when none */
};

/*
 * A lint session: files are linted in the order given, findings gathered.
 * Everything returned is borrowed and lives as long as the session.
 */
struct strata_lint;

/* STRATA_EUSAGE when a setting names no rule. */
STRATA_API int strata_lint_new(struct strata_lint **out,
                               const struct strata_lint_options *opts,
                               struct strata_error *err);
STRATA_API void strata_lint_free(struct strata_lint *l);

/*
 * Lints one PostgreSQL script, `path` naming it in findings. SQL the
 * parser rejects is a finding (parse-error) with its exact location, not a
 * failure; a warning when the target server is newer than the parser.
 * Comments `-- strata-lint-ignore RULE[,RULE]` before a statement and
 * `-- strata-lint-ignore-file RULE[,RULE]` anywhere suppress findings; an
 * ignore that suppresses nothing is itself a finding (unused-ignore).
 * Fails (STRATA_EFAILED) only when the parser's output cannot be read.
 */
STRATA_API int strata_lint_text(struct strata_lint *l, const char *path,
                                const char *sql, size_t len,
                                const struct strata_lint_file_options *fo,
                                struct strata_error *err);
/* Reads and lints `path`; a first line `-- no-transaction` says it runs
 * outside a transaction, as for migrations. */
STRATA_API int strata_lint_file(struct strata_lint *l, const char *path,
                                struct strata_error *err);
/* The up file of `m`. */
STRATA_API int strata_lint_migration(struct strata_lint *l,
                                     const struct strata_migration *m,
                                     bool is_same_run,
                                     struct strata_error *err);
/*
 * With `db` NULL, every migration of `src`, each on its own (as if each
 * had run in its own deploy). With a PostgreSQL `db`, the pending ones
 * only (read-only: no lock, nothing created), as one run, and the target
 * version is the server's unless the options gave one; then the findings
 * are judged against the database with one catalog query, as the run
 * gate judges them: one about a table, index or column it does not have
 * is dropped, a lock or rewrite hazard says its table's size and is
 * graded by it (see big_table_rows), and a type change from a type the
 * migrations do not set is decided by the column's type there. A SQLite
 * `db` is STRATA_EUSAGE: the linter reads PostgreSQL SQL.
 */
STRATA_API int strata_lint_source(struct strata_lint *l,
                                  const struct strata_source *src,
                                  struct strata_db *db,
                                  struct strata_error *err);

/* Findings so far, ordered by file (as linted), line, column. */
STRATA_API size_t strata_lint_count(const struct strata_lint *l);
STRATA_API const struct strata_finding *
strata_lint_at(const struct strata_lint *l, size_t i);
STRATA_API size_t strata_lint_count_severity(const struct strata_lint *l,
                                             enum strata_severity sev);
/* The rules' effective severities after the settings. */
STRATA_API enum strata_severity
strata_lint_severity(const struct strata_lint *l, const char *rule);
/* The target version in force (the options', the database's, or 150000). */
STRATA_API int strata_lint_pg_version(const struct strata_lint *l);
/* Files and statements linted so far. */
STRATA_API size_t strata_lint_files(const struct strata_lint *l);
STRATA_API size_t strata_lint_statements(const struct strata_lint *l);

/* ---- verifying a live database -------------------------------------------
 * What a deploy checks by hand after migrating: invalid indexes, constraints
 * not validated and their orphaned rows, sequences behind their column,
 * duplicate indexes, tables without a primary key, disabled triggers and,
 * when asked, B-tree corruption (amcheck). Read only, and bounded in time. */

#define STRATA_DEFAULT_VERIFY_BUDGET 30.0 /* seconds */

struct strata_db_verify_options {
	unsigned int version; /* STRATA_DB_VERIFY_OPTIONS_VERSION */
	/*
	 * Seconds for every check together; each PostgreSQL query gets what
	 * is left as its statement_timeout, and a check the budget leaves out
	 * is a finding of its own (not-run). 0: STRATA_DEFAULT_VERIFY_BUDGET.
	 */
	double budget;
	/* PostgreSQL: bt_index_check() of every B-tree index, smallest
	 * first, when the amcheck extension is installed (it is never
	 * created: a finding says how) */
	bool is_deep;
};

#define STRATA_DB_VERIFY_OPTIONS_VERSION 1
#define STRATA_DB_VERIFY_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_db_verify_options, \
	                     STRATA_DB_VERIFY_OPTIONS_VERSION)
STRATA_API int
strata_db_verify_options_init(struct strata_db_verify_options *opts,
                              unsigned int version);

struct strata_db_finding {
	/* stable, kebab-case: "invalid-index", "orphaned-rows",
	 * "sequence-behind", "not-valid-constraint", "duplicate-index",
	 * "missing-primary-key", "disabled-trigger", "corrupt-index",
	 * "integrity" (SQLite); and about the checks themselves: "not-run"
	 * (the budget ran out), "no-privilege", "amcheck-missing" */
	const char *check;
	enum strata_severity severity; /* ERROR or WARNING */
	/* what it is about, its identifiers quoted as SQL needs them
	 * (public."a""b"); for not-run, the check that did not run */
	const char *object;
	const char *message; /* what is wrong and why it matters */
	/* SQL that fixes it or shows more, one statement a line; NULL when
	 * none */
	const char *fix;
};

struct strata_db_report {
	struct strata_db_finding *findings; /* by check, then object */
	size_t n_findings;
	size_t n_errors, n_warnings;
	size_t n_checks;  /* checks that ran to the end */
	size_t n_not_run; /* checks the budget cut short (each a finding) */
	double seconds;   /* the time the checks took */
};

/*
 * Checks the database of `db` (PostgreSQL or SQLite) and fills `out`
 * (released with strata_db_report_release(); empty on failure). Nothing is
 * written: PostgreSQL's checks run in one READ ONLY transaction, SQLite's
 * with query_only. A check this role may not run (a table it cannot read)
 * is a finding (no-privilege), not a failure; fails only when the
 * database cannot be read at all (STRATA_EFAILED, STRATA_ECANCELED).
 */
STRATA_API int strata_db_verify(struct strata_db_report *out,
                                struct strata_db *db,
                                const struct strata_db_verify_options *opts,
                                struct strata_error *err);
STRATA_API void strata_db_report_release(struct strata_db_report *r);

/* ---- databases themselves ----------------------------------------------- */

/* Creates the database named by `url` (no-op when it exists). */
STRATA_API int strata_database_create(const char *url,
                                      struct strata_error *err);
/* Drops it (no-op when absent); `is_force` ends other sessions first. */
STRATA_API int strata_database_drop(const char *url, bool is_force,
                                    struct strata_error *err);
STRATA_API int strata_database_exists(bool *out, const char *url,
                                      struct strata_error *err);

/* ---- backups and restore ------------------------------------------------
 * A backup is two files in a directory: the dump itself (PostgreSQL: a
 * pg_dump custom-format archive, `NAME.dump`; SQLite: a copy made with
 * SQLite's online backup API, `NAME.sqlite`) and, beside it, its manifest
 * `NAME.json`. A backup is complete exactly when its manifest exists: both
 * files are written under temporary hidden names (`.NAME.*.part-XXXXXX`),
 * fsync'd and renamed, the manifest last, so a failed or interrupted backup
 * never leaves a file that looks complete.
 *
 * PostgreSQL backups run the server's own pg_dump and pg_restore, of the
 * server's major version when installed (Debian:
 * /usr/lib/postgresql/MAJOR/bin), else the newest found; one older than
 * the server is refused. The connection reaches them through PG*
 * environment variables and a private 0600 password file (in memory where
 * the system allows), never on a command line; no child inherits
 * DATABASE_URL, PGPASSWORD or any variable holding the password.
 */

enum strata_backup_kind {
	STRATA_BACKUP_FULL = 0, /* schema and data */
	STRATA_BACKUP_SCHEMA,   /* schema only (pg_dump --schema-only) */
	STRATA_BACKUP_DATA,     /* data only (pg_dump --data-only) */
};

#define STRATA_DEFAULT_BACKUP_DIR "backups"

/*
 * How a backup's bytes are laid out. PostgreSQL: pg_dump's --format
 * (custom, the default, is one compressed archive; plain is SQL text that
 * psql runs; directory is a directory of files, which pg_dump and
 * pg_restore can each work on with several jobs). SQLite: custom is a
 * database file, plain the SQL text of sqlite3's .dump.
 */
enum strata_backup_format {
	STRATA_BACKUP_FORMAT_CUSTOM = 0,
	STRATA_BACKUP_FORMAT_PLAIN,
	STRATA_BACKUP_FORMAT_DIRECTORY,
};

/* "custom", "plain", "directory". */
STRATA_API const char *
strata_backup_format_name(enum strata_backup_format format);
/* 0, or -1 when `name` is none of them (no error is set). */
STRATA_API int strata_backup_format_parse(enum strata_backup_format *out,
                                          const char *name);

/* "full", "schema", "data". */
STRATA_API const char *strata_backup_kind_name(enum strata_backup_kind kind);
/* 0, or -1 when `name` is none of them (no error is set). */
STRATA_API int strata_backup_kind_parse(enum strata_backup_kind *out,
                                        const char *name);

/*
 * `text` as Unix seconds: "YYYY-MM-DDTHH:MM:SSZ" (UTC, as manifests write
 * it), or a number of seconds, optionally after '@'. -1 when it is neither.
 */
STRATA_API int strata_time_parse(int64_t *out, const char *text);

struct strata_backup_table {
	char *name;   /* "schema.table" on PostgreSQL, "table" on SQLite */
	int64_t rows; /* rows in the backup (0 for a schema-only one) */
};

/* A backup as its manifest describes it. */
struct strata_backup {
	char *path;           /* the backup file: DIR/NAME.dump or .sqlite */
	char *manifest_path;  /* DIR/NAME.json */
	char *driver;         /* "postgres", "sqlite" */
	char *database;       /* redacted URL: never holds a password */
	char *database_name;  /* the database (PostgreSQL) or file name */
	char *server_version; /* "16.2", or SQLite's library version */
	char *strata_version; /* STRATA_VERSION of the writer */
	char *tool;           /* "pg_dump (PostgreSQL) 16.2", "SQLite 3.40.1" */
	enum strata_backup_kind kind;
	int64_t created_at;     /* Unix seconds */
	char created[24];       /* the same, "YYYY-MM-DDTHH:MM:SSZ" */
	uint64_t size;          /* bytes of the backup file */
	char sha256[65];        /* lower-case hex of its SHA-256 */
	int64_t newest_applied; /* newest applied migration; 0 when none */
	char *tag;              /* NULL when none */
	bool is_pre_migration;  /* taken by `run --backup` */
	int64_t *pending;       /* pre-migration: the versions about to run */
	size_t n_pending;
	struct strata_backup_table *tables; /* sorted by name */
	size_t n_tables;
	bool is_file_missing; /* the manifest's backup file is gone (list) */
	enum strata_backup_format format;
	bool is_gzip; /* plain SQL compressed with gzip */
	/*
	 * A dump strata did not write (strata_backup_open() of a file with no
	 * manifest): described by its content alone. `driver` is NULL for
	 * plain SQL (the target's), there are no row counts to verify, and
	 * `created` is the file's modification time.
	 */
	bool is_external;
};

STRATA_API void strata_backup_free(struct strata_backup *b);

struct strata_backup_options {
	unsigned int version; /* STRATA_BACKUP_OPTIONS_VERSION */
	enum strata_backup_kind kind;
	const char *dir; /* NULL: STRATA_DEFAULT_BACKUP_DIR; made if missing */
	const char *tag; /* NULL: none; shown, and part of the file name */
	/* A pre-migration backup (`run --backup`): the versions to be run. */
	bool is_pre_migration;
	const int64_t *pending;
	size_t n_pending;
	const char *pg_bindir; /* NULL: search (see above) */
	int64_t now;           /* Unix seconds; 0: the current time (tests) */
	/* PostgreSQL: pg_dump's format (SQLite: custom only). Plain is
	 * `NAME.sql`, directory a directory `NAME.dir` (whose SHA-256 covers
	 * its files' names and contents, in name order). */
	enum strata_backup_format format;
	int jobs; /* directory format: pg_dump --jobs; 0: one */
};

#define STRATA_BACKUP_OPTIONS_VERSION 2
#define STRATA_BACKUP_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_backup_options, \
	                     STRATA_BACKUP_OPTIONS_VERSION)
STRATA_API int strata_backup_options_init(struct strata_backup_options *opts,
                                          unsigned int version);

/*
 * Backs up `db` into opts->dir and returns its description in `*out`
 * (caller frees with strata_backup_free()). On PostgreSQL, pg_dump -Fc
 * dumps an exported snapshot, in which strata also counts each table's
 * rows and reads the newest applied version, so the manifest describes
 * exactly what the dump holds. Progress reaches the database's event
 * callback (STRATA_EVENT_BACKUP_PROGRESS, about once a second). Fails with
 * STRATA_EFAILED, naming the cause (pg_dump's own message, or the file
 * system's: "No space left on device"), and leaves no backup behind;
 * STRATA_EUSAGE for a kind the driver cannot make (SQLite: data).
 */
STRATA_API int strata_backup_create(struct strata_backup **out,
                                    struct strata_db *db,
                                    const struct strata_backup_options *opts,
                                    struct strata_error *err);

/*
 * Reads the manifest of the backup at `path`, which may name the backup
 * file or its manifest. STRATA_EVALIDATE when there is no manifest or it
 * is not one of strata's.
 */
STRATA_API int strata_backup_read(struct strata_backup **out, const char *path,
                                  struct strata_error *err);

/*
 * As strata_backup_read() when `path` has a manifest; otherwise a dump
 * made without strata (`pg_dump > FILE`, `pg_dump | gzip > FILE.gz`,
 * `pg_dump -Fc`, `pg_dump -Fd`, an SQLite database or its .dump), its
 * format told by its content, never by its name: gzip's magic number,
 * pg_dump's "PGDMP" header, a directory with toc.dat, SQLite's header,
 * else SQL text. The result has is_external set. STRATA_EVALIDATE for a
 * file that cannot be read, is empty, or is a directory of something else.
 */
STRATA_API int strata_backup_open(struct strata_backup **out, const char *path,
                                  struct strata_error *err);

struct strata_verify_options {
	unsigned int version; /* STRATA_VERIFY_OPTIONS_VERSION */
	/*
	 * Also restore into a scratch database (PostgreSQL: created on the
	 * server of `url` and dropped afterwards; SQLite: in memory) and
	 * compare every table's row count with the manifest's.
	 */
	bool is_restore_test;
	const char *url; /* PostgreSQL restore test: any database there */
	const char *pg_bindir;
	strata_event_fn on_event;
	void *event_data;
};

#define STRATA_VERIFY_OPTIONS_VERSION 1
#define STRATA_VERIFY_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_verify_options, \
	                     STRATA_VERIFY_OPTIONS_VERSION)
STRATA_API int strata_verify_options_init(struct strata_verify_options *opts,
                                          unsigned int version);

struct strata_verify_result {
	size_t n_entries; /* pg_restore --list entries; SQLite: tables */
	bool is_restore_tested;
	size_t n_tables_compared;
};

/*
 * Checks `b`: size and SHA-256 against the manifest, then that the tool
 * reads it (pg_restore --list; SQLite's quick_check), then, when asked,
 * the restore test. Any mismatch is STRATA_EVALIDATE, naming what differs.
 */
STRATA_API int strata_backup_verify(struct strata_verify_result *out,
                                    const struct strata_backup *b,
                                    const struct strata_verify_options *opts,
                                    struct strata_error *err);

struct strata_backup_list {
	struct strata_backup **items; /* oldest first */
	size_t n;
	/* hidden `.*.part-*` files: backups that never completed */
	char **incomplete; /* paths */
	size_t n_incomplete;
};

/*
 * The backups in `dir` (NULL: STRATA_DEFAULT_BACKUP_DIR): every manifest
 * of strata's there; other files are passed over. A missing directory is
 * an empty list. Release with strata_backup_list_release().
 */
STRATA_API int strata_backup_list_load(struct strata_backup_list *out,
                                       const char *dir,
                                       struct strata_error *err);
STRATA_API void strata_backup_list_release(struct strata_backup_list *l);

/*
 * Retention, as restic and borg define it; every field 0 is the default
 * (STRATA_DEFAULT_KEEP_*). Pre-migration backups are kept
 * while younger than keep_pre_migration and removed after, whatever else
 * holds. The others are grouped by database and kind; in each group, for
 * the newest keep_daily UTC days that have a backup, the newest backup of
 * each day is kept, and likewise for keep_weekly ISO weeks and
 * keep_monthly months. A backup any rule keeps is kept; the rest go.
 * Hidden `.part` files of backups that never completed go when they are
 * older than a day.
 */
struct strata_retention {
	unsigned int version; /* STRATA_RETENTION_VERSION */
	/* how many days, weeks, months; < 0 (STRATA_KEEP_NONE): none */
	int keep_daily, keep_weekly, keep_monthly;
	/* seconds; STRATA_KEEP_NONE: none; other < 0 (STRATA_FOREVER):
	 * forever */
	double keep_pre_migration;
	int64_t now;     /* Unix seconds; 0: the current time */
	bool is_dry_run; /* decide and report, remove nothing */
};

#define STRATA_RETENTION_VERSION 1
#define STRATA_RETENTION_INIT \
	STRATA_OPTIONS_INIT_(struct strata_retention, STRATA_RETENTION_VERSION)
STRATA_API int strata_retention_init(struct strata_retention *policy,
                                     unsigned int version);

struct strata_prune_entry {
	const struct strata_backup *backup; /* borrowed from the result */
	bool is_kept;
	char *reason; /* "daily 2025-01-31", "weekly 2025-W05", "monthly
	                 2025-01", "pre-migration, 3 days old", or why not */
};

struct strata_prune_result {
	struct strata_backup_list list;
	struct strata_prune_entry *entries; /* as list.items: oldest first */
	size_t n, n_kept, n_removed;
	char **removed_incomplete; /* .part files removed (or to remove) */
	size_t n_removed_incomplete;
};

/*
 * Applies `policy` to the backups in `dir`: removes each backup it does
 * not keep (file and manifest), unless is_dry_run. The result says what
 * was, or would be, kept and why. Release with
 * strata_prune_result_release().
 */
STRATA_API int strata_backup_prune(struct strata_prune_result *out,
                                   const char *dir,
                                   const struct strata_retention *policy,
                                   struct strata_error *err);
STRATA_API void strata_prune_result_release(struct strata_prune_result *r);

/* Asked before a restore overwrites a database; true to go on. */
typedef bool (*strata_confirm_fn)(const char *question, void *data);

struct strata_restore_options {
	unsigned int version; /* STRATA_RESTORE_OPTIONS_VERSION */
	/*
	 * The database to restore into: a URL, or a database name on the
	 * server of the `url` argument (SQLite: a file path). NULL: `url`.
	 * A PostgreSQL database that does not exist is created.
	 */
	const char *into;
	/*
	 * A non-empty target is refused unless is_clean, which replaces its
	 * content after asking `confirm`, unless is_yes. A failed restore
	 * leaves the target as it was. PostgreSQL, when the role may create
	 * databases and owns the target: the backup is restored into a new
	 * database, verified, and swapped in by renaming (no other session
	 * may be connected); the old one is then dropped, or kept under a
	 * name of its own with is_keep_old. Otherwise pg_restore --clean in
	 * one transaction inside the target, refused before anything is
	 * touched when the role does not own what is there.
	 */
	bool is_clean;
	bool is_yes;
	strata_confirm_fn confirm; /* NULL: refuse when asking is needed */
	void *confirm_data;
	const char *pg_bindir;
	strata_event_fn on_event;
	void *event_data;
	bool is_keep_old;
	char **out_kept; /* when not NULL: the kept database's name, or NULL
	                    when none was kept (caller frees) */
	/* The audit trail: its rows newer than the backup's are carried
	 * over, and the restore's own row records `command` (redacted). */
	const char *command;
	const char *table; /* the history table (NULL: the default) */
	/* How long a restore inside the target (see is_clean) waits for a
	 * lock another session holds: as strata_db_options.lock_wait. */
	double lock_wait;
	/* A directory-format dump restored into a new database: pg_restore
	 * --jobs (one transaction, in place, takes one); 0: one. */
	int jobs;
};

#define STRATA_RESTORE_OPTIONS_VERSION 2
#define STRATA_RESTORE_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_restore_options, \
	                     STRATA_RESTORE_OPTIONS_VERSION)
STRATA_API int strata_restore_options_init(struct strata_restore_options *opts,
                                           unsigned int version);

/*
 * Restores backup `b` into the database `url` (or opts->into), verifying
 * it first (size, SHA-256, readable: see strata_backup_verify()). Fails
 * with STRATA_EVALIDATE when the backup does not verify, STRATA_EUSAGE
 * when it is another driver's or the target is refused, STRATA_EFAILED
 * when the restore itself fails (pg_restore's message). `*out_target`,
 * when not NULL, receives the redacted URL restored into (caller frees).
 */
STRATA_API int strata_backup_restore(char **out_target,
                                     const struct strata_backup *b,
                                     const char *url,
                                     const struct strata_restore_options *opts,
                                     struct strata_error *err);

/* ---- the schema ------------------------------------------------------------
 * What the database's schema is, as SQL that psql (or sqlite3) can load,
 * the same bytes whenever the schema is the same: PostgreSQL's own pg_dump
 * --schema-only (found as backups find it), without its banners, version
 * comments and SET preamble, each object after its "-- Name: …; Type: …;
 * Schema: …" header in pg_dump's order (by kind and name, dependencies
 * first), so that one schema built along different paths dumps alike. A
 * column's place in its table is kept: a column added later is a real
 * difference (SELECT * and COPY see it). SQLite: sqlite_schema's
 * statements, tables, indexes, views and triggers each by name. strata's
 * own tables (the history table, the audit trail, another tool's table)
 * are left out.
 */

struct strata_schema_options {
	unsigned int version; /* STRATA_SCHEMA_OPTIONS_VERSION */
	bool is_owners;       /* keep ownership (ALTER … OWNER TO) */
	bool is_privileges;   /* keep GRANT and REVOKE */
	/* Whose history tables to leave out: the source's layout decides
	 * (NULL: sqlx's, or the one already read on `db`). */
	const struct strata_source *src;
	const char *pg_bindir; /* NULL: search, as for backups */
};

#define STRATA_SCHEMA_OPTIONS_VERSION 1
#define STRATA_SCHEMA_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_schema_options, \
	                     STRATA_SCHEMA_OPTIONS_VERSION)
STRATA_API int strata_schema_options_init(struct strata_schema_options *opts,
                                          unsigned int version);

/*
 * The schema of `db` into `*out` (caller frees), `*out_len` bytes when
 * out_len is not NULL. pg_dump gets the password as backups hand it over,
 * never on its command line. STRATA_EFAILED when pg_dump fails (its
 * message), STRATA_ECANCELED after strata_cancel().
 */
STRATA_API int strata_schema_dump(char **out, size_t *out_len,
                                  struct strata_db *db,
                                  const struct strata_schema_options *opts,
                                  struct strata_error *err);

/*
 * Writes `len` bytes of `text` to `path` atomically: a temporary file
 * beside it, synced, renamed over it. A failure leaves `path` as it was.
 */
STRATA_API int strata_schema_write(const char *path, const char *text,
                                   size_t len, struct strata_error *err);

/* ---- drift ------------------------------------------------------------------
 * Whether the database is what its applied migrations make: they are
 * applied to a shadow database, and both schemas are dumped (as
 * strata_schema_dump()) and compared object by object.
 *
 * The shadow: `shadow_url`, a database strata may empty (one holding
 * tables strata did not make is refused unless is_shadow_reset); else, on
 * PostgreSQL, a new database strata_shadow_PID_RANDOM on the same server
 * (CREATE DATABASE … TEMPLATE template0: it needs CREATEDB), dropped
 * afterwards on every path, strata_cancel() included; else (the role
 * lacks CREATEDB, or shadow_url is STRATA_SHADOW_CLUSTER) a private
 * throwaway cluster of the server's major version: its initdb and pg_ctl
 * (in pg_bindir when set, else /usr/lib/postgresql/MAJOR/bin, pg_config
 * --bindir or PATH), a Unix socket only, in a 0700 directory under
 * TMPDIR, stopped and removed on every path; never as root (initdb
 * refuses). On SQLite a temporary file.
 */

/* shadow_url asking for a private throwaway cluster (see above). */
#define STRATA_SHADOW_CLUSTER "cluster"

enum strata_drift_state {
	STRATA_DRIFT_MISSING, /* the migrations make it, the database lacks it
	                       */
	STRATA_DRIFT_UNEXPECTED, /* in the database, not made by the migrations
	                          */
	STRATA_DRIFT_CHANGED,    /* in both, defined differently */
};

struct strata_drift_item {
	enum strata_drift_state state;
	char *kind;   /* "table", "column", "index", "function", … */
	char *schema; /* NULL when it has none (SQLite, extensions) */
	char *name;   /* "users", "users.email", "f(integer)" */
};

struct strata_drift {
	struct strata_drift_item *items; /* by kind, then name */
	size_t n_items;
	size_t n_excluded; /* differences an exclude pattern matched */
	char *expected;    /* the shadow's schema dump */
	char *actual;      /* the database's */
	char *diff; /* unified diff of expected and actual; "" when equal */
	/* applied migrations whose file's checksum differs from the
	 * recorded one: the shadow applied the file as it is now */
	int64_t *edited;
	size_t n_edited;
	size_t n_applied; /* migrations applied to the shadow */
	char *shadow; /* the shadow database (redacted URL, or "temporary") */
};

STRATA_API void strata_drift_free(struct strata_drift *d);

struct strata_drift_options {
	unsigned int version;   /* STRATA_DRIFT_OPTIONS_VERSION */
	const char *shadow_url; /* NULL: a temporary one (see above) */
	bool is_shadow_reset;   /* empty a shadow holding other tables */
	/* Glob patterns (fnmatch) on an object's name, "schema.name" or
	 * "kind:name": a difference they match is ignored (n_excluded). */
	const char *const *exclude;
	size_t n_exclude;
	bool is_owners, is_privileges; /* as strata_schema_options */
	const char *pg_bindir;
};

#define STRATA_DRIFT_OPTIONS_VERSION 1
#define STRATA_DRIFT_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_drift_options, \
	                     STRATA_DRIFT_OPTIONS_VERSION)
STRATA_API int strata_drift_options_init(struct strata_drift_options *opts,
                                         unsigned int version);

/*
 * Compares `db` with what the migrations of `src` it has applied make
 * (the same versions: pending ones are not applied to the shadow).
 * `*out` (free with strata_drift_free()) has no items when they agree.
 * STRATA_EVALIDATE when an applied migration is missing from the source
 * or has a failed record; STRATA_EFAILED when the shadow cannot be made
 * (STRATA_REASON_SHADOW_CREATEDB: the role may not create databases;
 * STRATA_REASON_SHADOW_NOT_EMPTY: the given shadow holds other tables) or
 * a migration fails on it (an extension missing from the server is
 * named); STRATA_ECANCELED after strata_cancel().
 */
STRATA_API int strata_drift_check(struct strata_drift **out,
                                  struct strata_db *db,
                                  const struct strata_source *src,
                                  const struct strata_drift_options *opts,
                                  struct strata_error *err);

/* ---- proving down files ------------------------------------------------- */

enum strata_proof_result {
	STRATA_PROOF_OK,        /* up, down, up again; the down undid the up */
	STRATA_PROOF_NO_DOWN,   /* up only: the migration has no down file */
	STRATA_PROOF_UP_FAILED, /* the up failed (message) */
	STRATA_PROOF_DOWN_FAILED, /* the down failed (message); rolled back */
	STRATA_PROOF_DOWN_LEAVES, /* the down left the schema otherwise (diff)
	                           */
	STRATA_PROOF_REUP_FAILED, /* the up after the down failed (message) */
	/* after a failure without is_keep_going, or after an up that could
	 * not run (the shadow cannot go on past it) */
	STRATA_PROOF_NOT_RUN,
	/* is_idempotent: the up run a second time failed (message) or changed
	 * the schema (diff); the message names the statements without a
	 * guard (IF NOT EXISTS, OR REPLACE, IF EXISTS) */
	STRATA_PROOF_NOT_IDEMPOTENT,
};

STRATA_API const char *strata_proof_result_name(enum strata_proof_result r);

struct strata_proof_step {
	const struct strata_migration *migration; /* of the source */
	enum strata_proof_result result;
	double up_ms, down_ms; /* < 0: not run */
	char *message;         /* why it failed; NULL */
	char *diff;            /* DOWN_LEAVES: before the up against after the
	                          down, diff -u; NOT_IDEMPOTENT: after the
	                          first run against after the second; NULL */
};

struct strata_proof {
	struct strata_proof_step *steps; /* the migrations tested, in order */
	size_t n;
	size_t n_failed;
	char *shadow; /* where it ran, redacted */
};

STRATA_API void strata_proof_free(struct strata_proof *p);

struct strata_proof_options {
	unsigned int version;   /* STRATA_PROOF_OPTIONS_VERSION */
	const char *shadow_url; /* as strata_drift_options */
	bool is_shadow_reset;
	bool has_from, has_to;
	int64_t from, to;   /* the versions to test (the source's order keys);
	                       those below `from` are applied first, untested */
	bool is_keep_going; /* test the rest after a failure */
	const char *pg_bindir;
	/* each up run twice in a row, as migrations written to be run again
	 * (IF NOT EXISTS everywhere) claim they may be: a second run that
	 * fails or changes the schema is STRATA_PROOF_NOT_IDEMPOTENT */
	bool is_idempotent;
};

#define STRATA_PROOF_OPTIONS_VERSION 2
#define STRATA_PROOF_OPTIONS_INIT                         \
	STRATA_OPTIONS_INIT_(struct strata_proof_options, \
	                     STRATA_PROOF_OPTIONS_VERSION)
STRATA_API int strata_proof_options_init(struct strata_proof_options *opts,
                                         unsigned int version);

/*
 * Proves the down files of `src` on a shadow database of `db`'s server
 * (made and removed as drift's is): for each migration in order, the
 * schema is dumped, the up applied, the down applied, the schema dumped
 * again and compared with the one before the up, and the up applied once
 * more, which must succeed. A migration without a down file is applied
 * and passed over. With is_idempotent, each up that passed is then run
 * once more, at once after itself, and must neither fail nor change the
 * schema. `db` itself is never changed. `*out` (free with
 * strata_proof_free()) says what each migration did; the errors are
 * drift's, for the shadow.
 */
STRATA_API int strata_proof_run(struct strata_proof **out, struct strata_db *db,
                                const struct strata_source *src,
                                const struct strata_proof_options *opts,
                                struct strata_error *err);

#ifdef __cplusplus
}
#endif

#endif
