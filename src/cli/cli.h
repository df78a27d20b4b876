/*
 * The command-line front end: global options, the command table, option
 * tables that also drive --help, and output (text or JSON). No SQL here;
 * each command makes library calls and prints.
 */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "strata.h"

/* What --help prints (help.c). */
enum help_mode {
	HELP_PAGE,          /* the whole page */
	HELP_SECTION,       /* a subcommand's part of its family's page */
	HELP_LIST_OPTIONS,  /* every option accepted, one a line (tests) */
	HELP_SCDOC,         /* the manual page, as scdoc (help_gen.c) */
	HELP_SCDOC_SECTION, /* a subcommand's part of it */
	HELP_COMPLETION,    /* options gathered for the completions */
};

enum cli_format {
	FORMAT_TEXT,
	FORMAT_JSON,
};

enum progress_mode {
	PROGRESS_OFF,   /* not a migrating command, or -q */
	PROGRESS_LIVE,  /* stderr is a terminal: one line, redrawn */
	PROGRESS_PLAIN, /* a log: lines with a timestamp, when things happen */
	PROGRESS_JSON,  /* --format json: those events as JSON lines */
};

/* What run and revert show of the migration running (progress.c). */
struct cli_progress {
	enum progress_mode mode;
	bool is_same_output; /* stdout and stderr are one file */
	bool is_running;     /* a migration started and has not ended */
	bool has_state;      /* ... and reported progress since */
	bool is_drawn;       /* the live line is on the screen */
	bool is_down;
	int64_t version;         /* of the migration running; 0: none */
	char version_text[32];   /* as its layout shows it */
	const char *description; /* borrowed from the event's migration */
	int64_t elapsed_ns;
	size_t statement, n_statements;
	char text[400];
	char phase[256];
	int percent;
	int holder_pid;
	char holder_user[64], holder_state[128];
	double waited;
	int64_t drawn_ns;  /* monotonic, of the last redraw */
	int64_t logged_ns; /* elapsed at the last "Still" line */
	int reported_pid;  /* the blocker last printed */
};

/* The values of an OPT_STRINGS option, in the order given (free v). */
struct opt_strings {
	const char **v;
	size_t n;
};

struct cli {
	const char *database;   /* -d, else DATABASE_URL; NULL when none */
	const char *source;     /* -s, else strata.conf, else "migrations" */
	const char *table;      /* --table, else strata.conf */
	const char *layout_arg; /* --layout, else strata.conf */
	enum strata_layout layout;
	const char *env;         /* -e, else $STRATA_ENV, else strata.conf's */
	char database_from[512]; /* where database came from, for -v */
	bool is_database_shown;
	const char *config; /* --config FILE */
	enum cli_format format;
	int verbosity; /* -1 quiet, 0 normal, 1 verbose */
	bool is_color_out, is_color_err;
	double lock_wait;
	bool has_lock_wait;
	double connect_timeout; /* library semantics */
	bool has_connect_timeout;
	bool has_said_interrupted; /* cli_error() said so: a signal came */
	double lock_timeout, statement_timeout; /* library semantics */
	double lock_probe;
	double concurrent_lock_timeout;
	bool has_lock_timeout, has_statement_timeout, has_lock_probe;
	bool has_concurrent_lock_timeout;
	int retries; /* library semantics */
	bool has_retries;
	double warn_after;        /* library semantics */
	double progress_interval; /* seconds between "Still" lines; < 0 never */
	bool has_warn_after, has_progress_interval;
	size_t max_file_size; /* of a migration file; 0: the default */
	bool has_max_file_size;
	struct cli_progress progress;
	bool is_hide_queries;
	bool is_read_only; /* set by commands that only read */
	bool is_help;
	bool is_no_dotenv;
	enum help_mode help_mode;
	const char *parent;      /* "migrate" while running `migrate run` */
	struct config *settings; /* strata.conf */
	const char *backup_dir;  /* strata.conf's backup_dir, or NULL */
	bool is_backup_on_run;   /* strata.conf's backup = true */
	bool is_verify_on_run;   /* strata.conf's verify = true */
	const char *dump_schema; /* strata.conf's dump_schema, or NULL */
	bool has_progress_line;  /* a progress line awaits its end */
	json_t *backup;          /* run --backup's backup, JSON mode */
	const char *argv0;
	char *command_line; /* redacted, for the audit trail */
	/* JSON mode: what the events of a command add to its result */
	json_t *events;
	json_t *warnings;
	json_t *findings; /* lint findings (run's gate) */
	/* text mode: run's gate prints its warnings too (--dry-run, -v) */
	bool is_show_lint_warnings;
	/* a fleet (fleet.c): the targets, and how to run them */
	const char *fleet_targets_file, *fleet_targets_query, *fleet_schemas;
	const char *schema;     /* --schema: strata_db_options.schema */
	const char *fleet_name; /* --fleet NAME: [fleet.NAME] of strata.conf */
	int fleet_jobs, fleet_canary; /* 0: the defaults */
	/* backup --format custom|plain|directory (--format text|json is the
	 * output's) */
	enum strata_backup_format backup_format;
	bool is_fleet_fail_fast;
	/* in a fleet's child: the target, in place of the database */
	const char *fleet_target;
	bool is_fleet_child;
	/* the command as main() dispatched it, for a fleet's children */
	const char *cmd_name;
	int (*cmd_fn)(struct cli *cli, int argc, char **argv);
	int cmd_argc;
	char **cmd_argv;
	/* strata.conf's [lint] settings, for strata_lint_options */
	struct strata_lint_setting *lint_settings;
	size_t n_lint_settings;
	/* Flyway's placeholders: [placeholders], then --placeholder (the
	 * last of a name wins) */
	struct opt_strings placeholder_args;
	struct strata_placeholder *placeholders;
	size_t n_placeholders;
};

/* strata's exit codes (design.md, Exit codes). */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_PENDING = 3,
	EXIT_VALIDATE = 4,
	EXIT_LINT = 5,
	EXIT_LOCK = 6,
	EXIT_CONNECT = 7,
	EXIT_CANCELED = 130, /* 128 + SIGINT, when no signal says better */
};

/* The exit code of a library error class (main.c, one table). */
int cli_exit_code(enum strata_code code);

typedef int (*command_fn)(struct cli *cli, int argc, char **argv);

/* What a command reads (source, database, lock) is its help's `uses`. */
struct command {
	const char *name;
	command_fn fn;
	const char *summary;
};

/* ---- opt.c: option tables ---------------------------------------------- */
enum opt_kind {
	OPT_FLAG,     /* bool */
	OPT_STRING,   /* const char * */
	OPT_INT64,    /* int64_t, >= 0 */
	OPT_VERSION,  /* int64_t: strata_version_parse() */
	OPT_SIZE,     /* size_t, >= 1 */
	OPT_DURATION, /* double seconds: 30, 30s, 500ms, 5m, 1h, forever */
	OPT_STRINGS,  /* struct opt_strings: each time it is given, added */
};

struct opt {
	char short_name; /* 0 when none */
	const char *long_name;
	enum opt_kind kind;
	void *value;
	bool *is_set; /* optional: whether it was given */
	const char *arg_name;
	const char *help;
};

#define OPT_END                                           \
	{                                                 \
		0, NULL, OPT_FLAG, NULL, NULL, NULL, NULL \
	}

/*
 * Parses argv against the command's table and the global options that
 * apply to it (help.c says which), leaving the operands in argc and argv;
 * reads nothing else. Prints a usage error and returns 2 on bad input;
 * returns -1 when --help was printed (exit 0); else 0.
 */
int opt_parse(struct cli *cli, const char *cmd, const char *usage,
              const struct opt *opts, int *argc, char ***argv);
/* The global options, ending with OPT_END. */
const struct opt *opt_globals(void);
/* Whether global option `o` applies to a command that `uses` (help.c). */
bool opt_global_applies(const struct opt *o, unsigned uses);
/* Whether `arg` is an option given without its value, which then comes
 * in the next argument ("--source DIR", "-s DIR"). */
bool opt_wants_next(const char *arg, const struct opt *opts);

/* ---- help.c: the help of strata and of each command -------------------- */
/* What a command does, which says which global options apply to it. */
enum help_uses {
	USES_SOURCE = 1 << 0, /* reads migrations: -s */
	USES_DB = 1 << 1,     /* connects: -d, --table */
	USES_LOCK = 1 << 2,   /* takes the migration lock: --lock-wait */
	USES_MIGRATE =
	        1 << 3,     /* runs migrations: timeouts, retries, progress */
	USES_LINT = 1 << 4, /* lints: --lock-timeout */
};

struct help_pair {
	const char *name; /* an example's command, an action's name */
	const char *text; /* what it does */
};

/*
 * A command's help as data, for --help and for manual pages made from the
 * same text: lists end with NULL (pairs with { NULL }). Its own options
 * come from the command's option table, the global ones from `uses`.
 */
struct help {
	const char *name;                 /* "run", "backup verify" */
	const char *const *synopsis;      /* after "strata NAME ", one a form */
	const char *const *description;   /* paragraphs; the first a summary */
	const struct help_pair *actions;  /* database create, drop, ... */
	const char *const *subcommands;   /* families: each one's options */
	const struct help_pair *examples; /* command, what it shows */
	unsigned uses;                    /* enum help_uses */
	unsigned exits;                   /* bit n: exits with code n */
};

/* The help of `name` (an alias gives its command's), or NULL. */
const struct help *help_find(const char *name);
/* Its help's uses; every bit when it has none. */
unsigned help_uses(const char *name);
/* The short name of global option `o` beside a command's own `opts`,
 * which win a letter both take (0: none). */
char opt_short(const struct opt *o, const struct opt *opts);
/* strata --help. */
void help_print_main(FILE *fp);
/* `strata NAME --help` in cli->help_mode; `usage` when help has none. */
void help_print(struct cli *cli, const char *name, const char *usage,
                const struct opt *opts);
/* The candidate nearest to `word` (Damerau-Levenshtein, as git's
 * help.c), or NULL when none is close enough. */
const char *help_suggest(const char *word, const char *const *candidates);
/* A usage error for a command (cmd NULL) or a subcommand of cmd that is
 * not one: the nearest of `candidates` is suggested. Returns 2. */
int help_unknown(struct cli *cli, const char *cmd, const char *word,
                 const char *const *candidates);
/* `strata help [--list-options] [COMMAND [SUBCOMMAND]]`. */
int cmd_help(struct cli *cli, int argc, char **argv);
/* What strata --help shows besides commands and global options. */
struct help_main {
	const char *description;
	const struct help_pair *environment; /* ends with { NULL } */
	const struct help_pair *examples;    /* likewise */
	const struct opt *version;           /* --version */
};
const struct help_main *help_main(void);
/* What exit code `code` means; NULL past the last. */
const char *help_exit_text(unsigned code);

/* ---- help_gen.c: manual pages and completions from the help data ------- */
/* help_print() in HELP_SCDOC or HELP_SCDOC_SECTION mode. */
void help_scdoc(struct cli *cli, const struct help *h, const char *name,
                const char *usage, const struct opt *opts);
/* help_print() in HELP_COMPLETION mode: the options of `name`. */
void help_completion_add(const char *name, const struct opt *opts,
                         unsigned uses);
/*
 * The build's hidden `strata help --scdoc [--commands | COMMAND]` (a
 * page as scdoc; the commands that have one) and `strata help
 * --completion bash|zsh`; argv[0] is the option.
 */
int help_gen(struct cli *cli, int argc, char **argv);

/* ---- output.c ---------------------------------------------------------- */
int cli_error(struct cli *cli, const struct strata_error *err);
/* The hint shown for `err`: the library's, or for a reason the command
 * line knows, its own naming the flag or command to use (caller frees;
 * NULL when none). */
char *cli_error_hint(const struct strata_error *err);
int cli_usage_error(struct cli *cli, const char *cmd, const char *fmt, ...)
        STRATA_PRINTF(3, 4);
void cli_warn(struct cli *cli, const char *fmt, ...) STRATA_PRINTF(2, 3);
void cli_info(struct cli *cli, const char *fmt, ...) STRATA_PRINTF(2, 3);
void cli_event(const struct strata_event *ev, void *data);
void cli_format_duration(char *buf, size_t size, int64_t ns);
/*
 * Text strata did not write, safe to print (strata_printable()): on one
 * line, or with its newlines and tabs kept. Borrowed: `s` itself when it
 * is safe, else a copy valid for the next 15 calls (the fields of a line).
 */
const char *cli_safe(const char *s);
/* The event's version as its layout shows it (diesel's text, not the
 * number that orders it), in `buf` when it has no migration. */
const char *cli_event_version(const struct strata_event *ev, char buf[32]);
const char *cli_safe_lines(const char *s);
void cli_end_progress(struct cli *cli);
const char *cli_color(struct cli *cli, bool is_err, const char *code);
void cli_print_json(json_t *doc); /* prints and releases doc */
/* A JSON string of text from elsewhere: escaped as strata_printable()
 * does when it is not UTF-8 (which a JSON string must be). */
json_t *cli_json_text(const char *s);
json_t *cli_json_error(const struct strata_error *err);
/* A migration of status --format json (cmd_status.c), an action of
 * history --format json (cmd_history.c); serve's history.json has both. */
json_t *cli_json_status_entry(const struct strata_status_entry *e);
json_t *cli_json_audit_row(const struct strata_audit_row *r);
/* applied, pending, failed, checksum_mismatch, missing of a status. */
void cli_json_counts(json_t *o, const struct strata_status *st);
/* `file:line:col: severity: message [rule]`, then the hint indented. */
void cli_print_finding(struct cli *cli, FILE *fp,
                       const struct strata_finding *f);
json_t *cli_json_finding(const struct strata_finding *f);
/* Where backups are: `given` (--dir), else backup_dir of strata.conf,
 * else STRATA_DEFAULT_BACKUP_DIR. */
const char *cli_backup_dir(struct cli *cli, const char *given);

/* ---- cmd_verify.c: a verify report, also run --verify's ---------------- */
/* Findings on stdout, the fix indented under each; the summary on
 * stderr. */
void cli_verify_print(struct cli *cli, const struct strata_db_report *r);
json_t *cli_verify_json(const struct strata_db_report *r);

/* ---- progress.c: the migration running, on stderr ---------------------- */
/* run and revert: how progress is shown, from the output and options. */
void cli_progress_init(struct cli *cli);
void cli_progress_start(struct cli *cli, const struct strata_event *ev);
void cli_progress_update(struct cli *cli, const struct strata_event *ev);
/* The migration of `ev` ended: its result line (stdout) says `verb` and
 * `duration` ("" when none). */
void cli_progress_end(struct cli *cli, const struct strata_event *ev,
                      const char *verb, const char *duration);
/* Erases the live line before anything else is printed on the terminal,
 * and draws it again afterwards. */
void cli_progress_clear(struct cli *cli);
void cli_progress_restore(struct cli *cli);
/* The timestamp that starts a line in the plain mode. */
void cli_progress_stamp(struct cli *cli);
/* The same with its space, in `buf` ("" in the other modes): a line
 * written whole in one write. */
void cli_progress_stamp_text(struct cli *cli, char buf[static 40]);
/* Whether a BLOCKED event names another blocker than the last printed. */
bool cli_progress_is_new_blocker(struct cli *cli,
                                 const struct strata_event *ev);
/* One event as a JSON line on stderr: {"time":…,"event":…,…}. */
void cli_progress_json(const char *event, const struct strata_event *ev);

/* ---- common.c: what several commands do -------------------------------- */
/* A command's opt_parse(), then the settings the options leave open, from
 * .env and strata.conf (cli_resolve_settings()); returns as opt_parse(). */
int cli_parse_options(struct cli *cli, const char *cmd, const char *usage,
                      const struct opt *opts, int *argc, char ***argv);
int cli_resolve_settings(struct cli *cli);
/* "strata: database URL (from …)", redacted, once (-v, run's log). */
void cli_show_database(struct cli *cli);
int cli_load_source(struct cli *cli, struct strata_source **out);
int cli_open_db(struct cli *cli, struct strata_db **out);
/*
 * cli_load_source() and cli_open_db() at once (for `run`, down files
 * read only for what it applies): the files are read while libpq loads
 * and the server answers, and the lock's session connects if is_locking
 * (SQLite's file is opened, and created, only for a sound source). A broken
 * source is the error reported, before the database's; both results are NULL on
 * failure.
 */
int cli_load_source_and_open_db(struct cli *cli, bool is_to_run,
                                bool is_locking, struct strata_source **src,
                                struct strata_db **db);
/* cli_open_db() that leaves the error to the caller (database given). */
int cli_open_db_quiet(struct cli *cli, struct strata_db **out,
                      struct strata_error *err);
int cli_read_status(struct cli *cli, bool with_applied_by,
                    struct strata_source **src, struct strata_db **db,
                    struct strata_status **st);
const struct command *cli_find_command(const char *name);
/* The command table, `*n` rows. */
const struct command *cli_commands(size_t *n);
/* The signal (SIGINT, SIGTERM, SIGHUP) that interrupted strata, or 0. */
int cli_interrupted(void);
int cli_parse_version(int64_t *out, const char *text);
/* --lock-wait: a duration, "0" for one try (the library's
 * STRATA_NO_WAIT), "forever" for no limit. */
int cli_parse_lock_wait(double *out, const char *text);
/* A duration where "0" means none (the library's < 0), up to PostgreSQL's
 * INT_MAX ms. */
int cli_parse_timeout(double *out, const char *text);
/* --connect-timeout: a duration, "0" or "forever" for none (< 0). */
int cli_parse_connect_timeout(double *out, const char *text);
/* A size in bytes: "1048576", "512KiB", "64MiB", "1GiB" (powers of 1024),
 * "100kB", "50MB", "2GB" (powers of 1000), "B" allowed; -1 on anything
 * else, on 0 and on a size that does not fit a size_t. */
int cli_parse_size(size_t *out, const char *text);
/* A count where "0" means never (the library's < 0). */
int cli_parse_retries(int *out, const char *text);
/* Lint options from strata.conf's [lint] (owned by cli). */
void cli_lint_options(struct cli *cli, struct strata_lint_options *out);
/* --pg-version: 15, 9.6, 150004; -1 when it is none of those. */
int cli_parse_pg_version(int *out, const char *text);

/* ---- config.c: strata.conf -------------------------------------------- */
/*
 * An INI file: [strata] holds defaults (database, source, table,
 * lock_wait, and `environment`, the default active environment), each
 * [environment.NAME] the values of one environment, which win over
 * [strata]'s, and [lint] the severities of lint rules (RULE = error,
 * warning or off). Unknown sections or keys fail with STRATA_EUSAGE naming
 * the line. With `path` NULL, ./strata.conf is read when it exists (else
 * the configuration is empty); a given `path` must exist.
 */
struct config;
int config_load(struct config **out, const char *path,
                struct strata_error *err);
void config_free(struct config *c);
/* The value of `key` for environment `env` (NULL: [strata] only), falling
 * back to [strata]; NULL when unset. Borrowed from the configuration. */
const char *config_get(const struct config *c, const char *env,
                       const char *key);
/* The i-th of the values a key repeated takes (replica = ...): the
 * environment's when it sets any, else [strata]'s; NULL past the last. */
const char *config_get_at(const struct config *c, const char *env,
                          const char *key, size_t i);
bool config_has_environment(const struct config *c, const char *env);
/* [fleet.NAME]'s `key` (NULL: unset), and whether the fleet is there. */
const char *config_fleet_get(const struct config *c, const char *fleet,
                             const char *key);
bool config_has_fleet(const struct config *c, const char *fleet);
/* The file read, or NULL when there was none. */
const char *config_path(const struct config *c);
/* The i-th [environment.NAME] of the file (0-based, a section with no key
 * included), or NULL past the last. */
const char *config_environment_at(const struct config *c, size_t i);
/* The line that sets what config_get() returns (0: unset), and whether it
 * is in [environment.ENV] rather than [strata]. */
int config_line(const struct config *c, const char *env, const char *key,
                bool *is_in_env);
/* The i-th of [placeholders]' NAME = VALUE, in the file's order. */
bool config_placeholder_at(const struct config *c, size_t i,
                           struct strata_placeholder *out);
/* The i-th `RULE = SEVERITY` of [lint] (rule and severity checked on
 * load; the rule id is borrowed); false past the last. */
bool config_lint_at(const struct config *c, size_t i,
                    struct strata_lint_setting *out);
/* Whether `key` is one of [lint]'s table sizes (big_table_rows, ...): its
 * value, checked on load, is config_get(c, NULL, key). */
bool config_is_lint_key(const char *key);
/* A number of rows as [lint] takes it (1000000, 1_000_000). */
int config_parse_rows(int64_t *out, const char *text);
/* A size as [lint] takes it: postgresql.conf's units (100MB, 1GB). */
int config_parse_table_size(int64_t *out, const char *text);

/* ---- dotenv.c: .env ---------------------------------------------------- */
/* Receives one KEY=VALUE of a .env text; returns 0, or -1 with err set. */
typedef int (*dotenv_pair_fn)(const char *key, const char *value, void *data,
                              struct strata_error *err);
/*
 * The pairs of a .env text, in order, to `fn` (as sqlx's dotenvy and
 * dbmate read it: export prefixes, quotes, # comments); `path` names the
 * text in errors. Stops at the first bad line (STRATA_EUSAGE, err->line
 * set) or the first failure of `fn`. Touches nothing else.
 */
int dotenv_parse(const char *text, size_t len, const char *path,
                 dotenv_pair_fn fn, void *data, struct strata_error *err);
/* dotenv_parse() of the file `path` into the environment with setenv(),
 * never replacing a variable already set. A missing file is no error. */
int dotenv_load(const char *path, struct strata_error *err);

/* ---- commands ---------------------------------------------------------- */
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_revert(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);
int cmd_validate(struct cli *cli, int argc, char **argv);
int cmd_new(struct cli *cli, int argc, char **argv);
int cmd_database(struct cli *cli, int argc, char **argv);
int cmd_history(struct cli *cli, int argc, char **argv);
int cmd_repair(struct cli *cli, int argc, char **argv);
int cmd_mark_applied(struct cli *cli, int argc, char **argv);
int cmd_convert(struct cli *cli, int argc, char **argv);
int cmd_baseline(struct cli *cli, int argc, char **argv);
int cmd_lint(struct cli *cli, int argc, char **argv);
int cmd_backup(struct cli *cli, int argc, char **argv);
int cmd_restore(struct cli *cli, int argc, char **argv);
int cmd_seed(struct cli *cli, int argc, char **argv);
int cmd_test(struct cli *cli, int argc, char **argv);
/* The seeds of `dir` (NULL: strata.conf's seeds, else seeds), NAME...
 * of them when argc; database setup --seed shares it. */
int cli_seed(struct cli *cli, const char *dir, int argc, char **argv);
/* 0, or the error that refuses to seed production (reported). */
int cli_seed_allowed(struct cli *cli, bool is_yes);
/* fleet.c: the command over every target of --targets/--targets-query,
 * with its report; the exit code. */
int cli_fleet_run(struct cli *cli);
/* A fleet's count (--jobs, --canary): a whole number from 1 to 1000. */
int cli_parse_count(int *out, const char *text);
int cmd_migrate(struct cli *cli, int argc, char **argv);
int cmd_migrate_add(struct cli *cli, int argc, char **argv);
int cmd_embed(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_schema(struct cli *cli, int argc, char **argv);
int cmd_drift(struct cli *cli, int argc, char **argv);

/* ---- cmd_schema.c: what run shares with schema dump -------------------- */
/*
 * The schema of `db` to `path` (atomically), or stdout when NULL; `src`
 * (may be NULL) says which history tables are strata's. Returns 0, or the
 * exit code of the failure, already printed.
 */
int cli_schema_write(struct cli *cli, struct strata_db *db,
                     const struct strata_source *src, const char *path,
                     bool is_owners, bool is_privileges);

/* ---- cmd_backup.c: what run and restore share with backup -------------- */
/*
 * run --backup: a pre-migration backup tagged with the versions `ro` would
 * apply (none: no backup). Returns 0, or the exit code of the failure,
 * already printed.
 */
int cli_backup_before_run(struct cli *cli, struct strata_db *db,
                          const struct strata_source *src,
                          const struct strata_run_options *ro);
/* STRATA_PG_BINDIR, or NULL. */
const char *cli_pg_bindir(void);
json_t *cli_backup_json(const struct strata_backup *b);
void cli_format_size(char *buf, size_t size, uint64_t bytes);

#endif
