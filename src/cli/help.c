/*
 * The help of strata and of each command, as data: per command its
 * synopsis, description, actions or subcommands, examples, exit codes, and
 * what it does (enum help_uses), which chooses the global options that
 * apply to it. Its own options come from its option table, the one the
 * parser reads, so that the help lists exactly what the command accepts.
 * This file renders it as text, wrapped to 80 columns; help_gen.c makes
 * the manual pages and the shell completions from the same data. Most of
 * its length is that text, one table: kept whole so that every command's
 * help reads in one place.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define WIDTH   80
#define OPT_COL 30 /* where an option's help starts, as git's */

#define X(n)       (1u << (n))
#define LIST(...)  ((const char *const[]){ __VA_ARGS__, NULL })
#define PAIRS(...) ((const struct help_pair[]){ __VA_ARGS__, { NULL, NULL } })

static const char *const exit_codes[] = {
	"success",
	"a migration or operation failed (the error names its file, line, statement and SQLSTATE)",
	"usage error: a bad command, option or argument",
	"migrations are pending",
	"validation failed: a checksum mismatch, an applied migration missing from the source, a failed record, an invalid source, or an error-level finding of verify",
	"lint found an error-level problem (run applied nothing)",
	"the migration lock could not be taken in time, or a lock timeout ran out on every try",
	"could not connect to the database",
};

/* The text as data, one field a line, left as written. */
/* clang-format off */
static const struct help helps[] = {
	{
		.name = "run",
		.synopsis = LIST("[options]"),
		.description = LIST(
			"Apply pending migrations in version order, each in its own transaction together with its row in the history table (" STRATA_DEFAULT_TABLE ").",
			"One runner works at a time: strata takes sqlx's advisory lock (PostgreSQL) or the database's write lock (SQLite), waiting up to --lock-wait. Each migration runs with a lock_timeout; one that loses a lock race is rolled back and tried again (--retries). On PostgreSQL, what is about to be applied is linted first, and error-level findings stop the run unless --allow-unsafe.",
			"An applied migration whose file changed stops the run (exit 4), as does one missing from the source unless --ignore-missing.",
			"With --metrics-file PATH the run ends, whatever its outcome, by writing the metrics of 'strata serve' (pending, applied and failed counts, durations, the last run and its exit code) to PATH atomically, for node_exporter's textfile collector: for runs from cron or CI."),
		.examples = PAIRS(
			{ "strata run --dry-run",
			  "What would be applied, with every lint finding; nothing changes" },
			{ "strata -d postgres://deploy@db/app run --backup",
			  "A backup first, then every pending migration" },
			{ "strata run --target-version 20250101120000 --single-transaction",
			  "Up to one version, all or nothing" }),
		.uses = USES_SOURCE | USES_DB | USES_LOCK | USES_MIGRATE | USES_LINT,
		.exits = X(0) | X(1) | X(2) | X(4) | X(5) | X(6) | X(7),
	},
	{
		.name = "revert",
		.synopsis = LIST(
			"[--count N | --target-version V | --all] [--single-transaction] [--dry-run] [--ignore-missing]"),
		.description = LIST(
			"Revert the newest applied migration with its down file, or more: the newest N, every one above a version, or all.",
			"Each migration is reverted in its own transaction together with the deletion of its history row, under the same lock, timeouts and retries as run; with --single-transaction all of them in one, all or nothing (a down file that runs outside a transaction cannot be part of it). A migration without a down file stops the revert with an error naming it; one whose files are gone is reverted with the down SQL kept in the audit trail."),
		.examples = PAIRS(
			{ "strata revert --dry-run",
			  "What would be reverted" },
			{ "strata revert --count 2",
			  "The two newest migrations" },
			{ "strata revert --target-version 0",
			  "Every applied migration (as --all)" },
			{ "strata revert --all --single-transaction",
			  "Every applied migration, or none" }),
		.uses = USES_SOURCE | USES_DB | USES_LOCK | USES_MIGRATE,
		.exits = X(0) | X(1) | X(2) | X(4) | X(6) | X(7),
	},
	{
		.name = "status",
		.synopsis = LIST("[options]"),
		.description = LIST(
			"Show every migration of the source and of the history: its version, state (applied, pending, out-of-order, failed, checksum-mismatch, missing), when it was installed, how long it took, who applied it, and its description.",
			"It changes nothing and takes no lock. 'info' is another name for it, as in sqlx-cli's 'migrate info'."),
		.examples = PAIRS(
			{ "strata status",
			  "Every migration and its state" },
			{ "strata status --format json | jq .summary",
			  "The counts, for a script" }),
		.uses = USES_SOURCE | USES_DB,
		.exits = X(0) | X(1) | X(2) | X(4) | X(7),
	},
	{
		.name = "check",
		.synopsis = LIST("[--wait DURATION] [options]"),
		.description = LIST(
			"Exit 0 when the database is exactly up to date, 3 when migrations are pending, 4 when the history disagrees with the source (a failed record, an edited or a missing migration).",
			"Made for start-up gates, health checks and CI: it changes nothing and takes no lock.",
			"With --wait it looks again every second, printing nothing, until the database is up to date (exit 0) or DURATION has passed: then it exits as without --wait (3 pending, 4, or 7 when the database could not be reached). A database not reachable yet, pending migrations and a migration recorded as failed while it runs are waited out; a source that cannot be read is not. An init container or a start script waits for the migration job this way."),
		.examples = PAIRS(
			{ "strata check && exec ./server",
			  "Start the application only on an up-to-date database" },
			{ "strata check --wait 5m && exec ./server",
			  "Wait up to five minutes for the migrations, then start" },
			{ "strata check --format json",
			  "The verdict and the counts as JSON" }),
		.uses = USES_SOURCE | USES_DB,
		.exits = X(0) | X(1) | X(2) | X(3) | X(4) | X(7),
	},
	{
		.name = "verify",
		.synopsis = LIST("[--budget DURATION] [--deep] [options]"),
		.description = LIST(
			"Check the live database the way a deploy's last step does by hand, and print each finding in the compiler style OBJECT: SEVERITY: MESSAGE [CHECK], with the SQL that fixes it indented below.",
			"PostgreSQL: invalid indexes left by a failed CREATE INDEX CONCURRENTLY (error), NOT VALID constraints (warning) and, for a foreign key, its orphaned rows, counted up to 1000 (error), sequences of serial and identity columns behind their column's maximum (error), duplicate indexes, tables without a primary key and disabled triggers (warnings); with --deep, amcheck's bt_index_check() on every B-tree index, smallest first, when the amcheck extension is installed (it is never created). SQLite: PRAGMA integrity_check, PRAGMA foreign_key_check (orphaned rows) and tables without a primary key.",
			"It only reads: one READ ONLY transaction on PostgreSQL, query_only on SQLite. It needs to read the catalog, and SELECT on the tables whose orphaned rows or column maximum it counts; a check this role may not run is reported (no-privilege) and the others go on. Every check together gets --budget: each query runs with what is left as its statement_timeout, and a check the budget leaves out is reported (not-run), never passed over.",
			"Exit 4 when a finding is an error, 0 otherwise. 'strata run --verify' (or verify = true in strata.conf) runs it after the migrations are committed."),
		.examples = PAIRS(
			{ "strata verify",
			  "Every check, within 30 seconds" },
			{ "strata verify --deep --budget 5m",
			  "Also amcheck's B-tree check, within five minutes" },
			{ "strata run --verify",
			  "Apply the pending migrations, then verify" },
			{ "strata verify --format json",
			  "The findings as JSON" }),
		.uses = USES_DB,
		.exits = X(0) | X(1) | X(2) | X(4) | X(7),
	},
	{
		.name = "lint",
		.synopsis = LIST("[options] [FILE...]"),
		.description = LIST(
			"Read migrations with PostgreSQL's parser and report what would lock, rewrite or break a live database, in the compiler style FILE:LINE:COL: SEVERITY: MESSAGE [RULE], with the safe alternative.",
			"Files given are linted each on its own. Otherwise the source is: with a PostgreSQL database its pending migrations, as one run; without one, or with --all, every migration. A statement is exempted in its file by '-- strata-lint-ignore RULE: reason' before it; severities are set in the [lint] section of strata.conf. With a database, a finding about an object it does not have is dropped, a lock or rewrite says its table's size and is a note on a small table (a warning in between, as it is on a big one: [lint] big_table_rows, big_table_size, small_table_rows, small_table_size), and a type change is judged from the column's type there. SQLite migrations are not linted."),
		.examples = PAIRS(
			{ "strata lint",
			  "The pending migrations (every one without a database)" },
			{ "strata lint --reporter github migrations/20250101120000_orders_index.sql",
			  "One file, as GitHub Actions annotations" },
			{ "strata lint --list-rules",
			  "Every rule and its severity" }),
		.uses = USES_SOURCE | USES_DB | USES_LINT,
		.exits = X(0) | X(1) | X(2) | X(4) | X(5) | X(7),
	},
	{
		.name = "validate",
		.synopsis = LIST("[options]"),
		.description = LIST(
			"Check the source offline: every file is read, versions are unique, names follow sqlx's convention, reversible pairs are complete.",
			"With a database, the history against the source too: checksums match, nothing applied is missing, nothing failed. Every problem is reported, not only the first."),
		.examples = PAIRS(
			{ "strata validate",
			  "The source, and the history when a database is given" },
			{ "strata validate --format json",
			  "The problems as JSON" }),
		.uses = USES_SOURCE | USES_DB,
		.exits = X(0) | X(1) | X(2) | X(4) | X(7),
	},
	{
		.name = "repair",
		.synopsis = LIST(
			"--mark-applied V | --retry V | --accept-checksum V"),
		.description = LIST(
			"The explicit ways out of a failed record (a migration that failed outside a transaction, recorded with success = false) or of an applied migration edited afterwards; each is recorded in the audit trail.",
			"--mark-applied records a failed migration completed by hand as applied. --retry forgets a failed migration undone by hand, so that the next run applies it. --accept-checksum records an edited file's new checksum and shows the change since it was applied."),
		.examples = PAIRS(
			{ "strata repair --retry 20250101120000",
			  "Its changes were undone by hand: apply it again on the next run" },
			{ "strata repair --accept-checksum 20250101120000",
			  "The file was edited on purpose (a comment, say)" }),
		.uses = USES_SOURCE | USES_DB | USES_LOCK,
		.exits = X(0) | X(1) | X(2) | X(4) | X(6) | X(7),
	},
	{
		.name = "mark-applied",
		.synopsis = LIST("V"),
		.description = LIST(
			"Record migration V as applied without running it, with the history row sqlx would write and an audit row: for a change already made by hand."),
		.examples = PAIRS(
			{ "strata mark-applied 20250101120000",
			  "Its change is in the database already" }),
		.uses = USES_SOURCE | USES_DB | USES_LOCK,
		.exits = X(0) | X(1) | X(2) | X(4) | X(6) | X(7),
	},
	{
		.name = "baseline",
		.synopsis = LIST("V"),
		.description = LIST(
			"Record every migration up to version V as applied without running them: for adopting a database whose schema exists already. Later migrations run as usual."),
		.examples = PAIRS(
			{ "strata baseline 20250101120000",
			  "The schema is that of these migrations already" }),
		.uses = USES_SOURCE | USES_DB | USES_LOCK,
		.exits = X(0) | X(1) | X(2) | X(4) | X(6) | X(7),
	},
	{
		.name = "history",
		.synopsis = LIST(
			"[--version V] [--action ACTION] [--since DATE] [--limit N]"),
		.description = LIST(
			"Show the audit trail (_strata_audit): who applied, reverted or repaired which migration, when, from which host and commit, for how long, and how it ended, with the error and SQLSTATE of a failure."),
		.examples = PAIRS(
			{ "strata history --limit 20",
			  "The newest 20 actions" },
			{ "strata history --action fail --since 2025-01-01",
			  "Every failure this year" },
			{ "strata history --version 20250101120000 --format json",
			  "One migration's actions as JSON" }),
		.uses = USES_DB,
		.exits = X(0) | X(1) | X(2) | X(7),
	},
	{
		.name = "schema",
		.synopsis = LIST("dump [--out FILE] [--owners] [--privileges]"),
		.description = LIST(
			"Print the database's schema as SQL that psql (or sqlite3) can load, the same bytes whenever the schema is the same: two dumps of an unchanged database, or of one schema built by migrations applied in another order, are identical. PostgreSQL: the server's own pg_dump --schema-only (of its major version, as for backups; the password never reaches its command line), without banners, version comments or SET lines, in pg_dump's order (by kind, schema and name, dependencies first). A column's place in its table is kept: a column added later is a real difference. SQLite: sqlite_schema's statements, tables, indexes, views and triggers each by name.",
			"strata's own tables (the history table, the audit trail, another tool's table) are left out, and so are ownership and privileges unless --owners or --privileges. run --dump-schema FILE (or dump_schema = FILE in strata.conf) writes it after every successful run, for a team that commits schema.sql and reviews its diffs."),
		.examples = PAIRS(
			{ "strata schema dump --out schema.sql",
			  "The schema, written atomically to schema.sql" },
			{ "strata schema dump | diff -u schema.sql -",
			  "What changed since schema.sql was written" }),
		.uses = USES_SOURCE | USES_DB,
		.exits = X(0) | X(1) | X(2) | X(7),
	},
	{
		.name = "drift",
		.synopsis = LIST("[--shadow URL [--shadow-reset] | --shadow cluster] [--exclude PATTERN]... [--owners] [--privileges]"),
		.description = LIST(
			"Tell whether the database is what its applied migrations make: the migrations applied on the database (the same versions; pending ones are not) are applied to a shadow database, both schemas are dumped as strata schema dump does, and every object that differs is listed (its kind and name, and whether the database lacks it, has it unexpectedly, or defines it otherwise), followed by a unified diff of the two dumps. Exit 0 when they agree, 4 when the database drifted. An applied migration whose file changed since is said first: the shadow applies the file as it is.",
			"The shadow: --shadow URL, a database strata may empty (one holding tables strata did not make is refused unless --shadow-reset); else a new database strata_shadow_PID_RANDOM on the same server (the role needs CREATEDB), dropped afterwards, also when strata is interrupted; else (no CREATEDB, or --shadow cluster) a private throwaway cluster of the server's major version that strata starts itself: initdb and pg_ctl from /usr/lib/postgresql/MAJOR/bin (Debian's postgresql-MAJOR), pg_config --bindir or PATH (STRATA_PG_BINDIR names the directory), a Unix socket in a private directory under TMPDIR, no TCP, fsync off, the server's roles made there, stopped and removed afterwards, also when strata is interrupted; not as root, which initdb refuses. SQLite: a temporary file, and a changed table is told column by column. Extensions the migrations create must be available on the shadow's server.",
			"--exclude PATTERN (repeatable; also exclude = PATTERN, ... in [drift] of strata.conf) ignores differences whose object matches the glob: NAME, SCHEMA.NAME or KIND:NAME (table:audit_*)."),
		.examples = PAIRS(
			{ "strata drift",
			  "Exit 4 and the list of differences when someone changed the schema by hand" },
			{ "strata drift --format json --exclude 'public.pg_stat_*'",
			  "The differences as JSON, ignoring an accepted extension's objects" },
			{ "strata drift --shadow postgres://ci@localhost/app_shadow",
			  "With a shadow database of one's own (no CREATEDB needed)" },
			{ "strata drift --shadow cluster",
			  "On a private throwaway cluster strata starts (PostgreSQL's server programs installed)" }),
		.uses = USES_SOURCE | USES_DB,
		.exits = X(0) | X(1) | X(2) | X(4) | X(7),
	},
	{
		.name = "serve",
		.synopsis = LIST(
			"[--listen ADDR] [--interval DURATION] [--pending-ok] [--max-connections N] [--timeout DURATION] [--auth-file FILE [--auth-health] | --no-auth] [--tls-cert FILE --tls-key FILE]"),
		.description = LIST(
			"Serve the migration state over HTTP, for load balancers, readiness probes, Prometheus and people: GET /health (JSON: status ok, warning or error, migrations_pending, migrations_applied, migrations_failed, latest_version, checksum_mismatches, migrations_missing, running (the runner holding the migration lock: pid, migration, seconds; null when none), drift (null: schema drift is not detected yet), checked_at; 200 when up to date, 503 when migrations are pending, failed or the database cannot be read), GET /metrics (Prometheus text format), GET / (a page: the state, what is not applied, a chart of migration durations and the audit trail) and GET /history.json (the same data).",
			"It only reads and never migrates: a role that may SELECT the history table (_sqlx_migrations) and the audit trail (_strata_audit) is enough. The database is read at most once per --interval however many requests come; a database that goes away makes /health say error (503) and is connected to again at the next read. SIGTERM, SIGINT or SIGHUP stop it promptly (a read in flight is cancelled), with exit 0.",
			"With --auth-file FILE every request needs credentials, or gets 401: HTTP Basic for the USER:HASH lines of FILE (bcrypt hashes, as htpasswd -B writes them) and Authorization: Bearer for its bearer:TOKEN lines (at least 16 characters); blank lines and lines starting with # are passed over. Only /health answers without them (but not with wrong ones), with its HTTP code and status alone, for load balancers and probes that cannot send credentials; --auth-health closes that too. A file that cannot be used stops serve at start, naming its line. Listening beyond loopback (anything but 127.0.0.0/8, ::1 and unix:) without --auth-file is refused unless --no-auth says a proxy or a network policy keeps others out.",
			"With --tls-cert FILE and --tls-key FILE it speaks HTTPS only: the certificate in PEM, followed by its intermediate certificates, and its unencrypted private key, both checked at start. A new certificate is read at the next start."),
		.examples = PAIRS(
			{ "strata serve",
			  "On http://127.0.0.1:9187/" },
			{ "strata serve --listen 0.0.0.0:9187 --auth-file /etc/strata/serve.auth",
			  "On every address, for the users and tokens of serve.auth" },
			{ "strata serve --auth-file serve.auth --tls-cert tls.crt --tls-key tls.key",
			  "Over HTTPS (tls.crt: the certificate, then its intermediates)" },
			{ "strata serve --pending-ok",
			  "For a probe that must not fail while a deploy's migrations wait" },
			{ "strata serve --listen unix:/run/strata/serve.sock --interval 30s",
			  "On a Unix socket, reading the database at most every 30 s" }),
		.uses = USES_SOURCE | USES_DB,
		.exits = X(0) | X(1) | X(2) | X(4),
	},
	{
		.name = "new",
		.synopsis = LIST("[options] DESCRIPTION..."),
		.description = LIST(
			"Create the next migration file in the source folder, named as sqlx-cli names it: VERSION_DESCRIPTION.sql, or a .up.sql and .down.sql pair.",
			"The version is the current UTC time (YYYYMMDDHHMMSS) or the next number of a sequence (0001), as the folder already goes unless --timestamp or --sequential says; the file is one of a pair when the folder's newest migration is, unless -r or --simple says. The words of DESCRIPTION are joined with underscores."),
		.examples = PAIRS(
			{ "strata new create users",
			  "migrations/20250101120000_create_users.sql" },
			{ "strata new -r add orders index",
			  "A reversible pair: .up.sql and .down.sql" },
			{ "strata new --template index add orders index",
			  "Starting from CREATE INDEX CONCURRENTLY" }),
		.uses = USES_SOURCE,
		.exits = X(0) | X(1) | X(2) | X(4),
	},
	{
		.name = "convert",
		.synopsis = LIST("--to sqlx [--out DIR] [--dry-run] [--skip-repeatables]"),
		.description = LIST(
			"Leave diesel, dbmate, golang-migrate or Flyway for good: rewrite the source folder, read in its layout as run reads it, into sqlx's layout in a new folder (--out, default the folder's name with -sqlx after it, beside it; it must not exist or be empty). The folder is written beside its place and renamed into it at the end, so a failure leaves none.",
			"Each migration becomes VERSION_DESCRIPTION.sql, or an .up.sql and .down.sql pair when it has a down file (dbmate's up section becomes the up file, its down section the down file). Versions are sqlx's numbers: the digits of diesel's (its 00000000000000_diesel_initial_setup becomes version 0), dbmate's and golang-migrate's; a Flyway version of one part is that number, dotted ones are padded part by part to the widest of each part (1, 1.1, 2, 10 become 10, 11, 20, 100), which keeps Flyway's order; diesel's of two widths (2025-12-29-110242-0000 beside 2026-01-20-162913) are padded on the right to the widest, with a last digit for the width, to keep diesel's text order; versions sqlx would still order otherwise are refused, naming the files. A migration the tool runs outside a transaction gets -- no-transaction as its first line; nothing else of a text changes. Flyway's ${placeholders} are written replaced by the --placeholder values given (and said); a placeholder without a value is refused as run refuses it. Flyway's repeatables have no sqlx form: refused, or left out with --skip-repeatables.",
			"With a database, every applied migration's row of the tool's table is copied into _sqlx_migrations beside it (the checksum of the new up file, the tool's installed_on and execution_time where it has them), in one transaction under the migration lock; the tool's table is left as it is. A failed or dirty record, an edited or missing applied migration, or rows of _sqlx_migrations that say otherwise are refused; run again once done, it changes nothing and says so. Afterwards status on the new folder shows everything applied and run has nothing to do."),
		.examples = PAIRS(
			{ "strata -s db/migrate convert --to sqlx --dry-run",
			  "The plan: each old name and its new one, the rows to copy" },
			{ "strata -s migrations convert --to sqlx --out migrations-sqlx -d $DATABASE_URL",
			  "The folder and the history" }),
		.uses = USES_SOURCE | USES_DB | USES_LOCK,
		.exits = X(0) | X(1) | X(2) | X(4) | X(6) | X(7),
	},
	{
		.name = "embed",
		.synopsis = LIST("[-n NAME] [-o FILE] [DIR]"),
		.description = LIST(
			"Write the migrations of DIR (default: the source folder) as C source that a program compiles in and loads with strata_source_from_embedded(), as sqlx's migrate!() does for Rust: every file's text byte for byte, its name, version, description and checksum, in a const struct strata_embedded named NAME (default: strata_migrations).",
			"The folder is read as every command reads it: one that run would refuse is refused (exit 4) and nothing is written. The checksums are the folder's, so a database migrated from the folder and from the program agree; a text changed in the generated file is refused when the program loads it. The same folder gives the same bytes, which compile as C11 and as C++. -o writes FILE whole or not at all."),
		.examples = PAIRS(
			{ "strata embed migrations -o migrations.c",
			  "migrations.c, for the program's build" },
			{ "strata embed -n app_migrations db/migrations > db_migrations.c",
			  "Another symbol, on standard output" }),
		.uses = USES_SOURCE,
		.exits = X(0) | X(1) | X(2) | X(4),
	},
	{
		.name = "database",
		.synopsis = LIST("create|drop|reset|setup [options]"),
		.description = LIST(
			"Create, drop, reset or set up the database the URL names, as sqlx-cli's 'database' commands do ('db' is another name). drop and reset ask before dropping when stdin is a terminal, and without one refuse unless -y."),
		.actions = PAIRS(
			{ "create",
			  "create the database when it does not exist" },
			{ "drop",
			  "drop the database when it exists (-f: end the other sessions on it first)" },
			{ "reset",
			  "drop the database, create it again and apply every migration; an invalid source stops it before anything is dropped" },
			{ "setup",
			  "create the database when it does not exist and apply the pending migrations" }),
		.examples = PAIRS(
			{ "strata database setup",
			  "A developer's database, created and migrated" },
			{ "strata database reset -y -d postgres://app@localhost/app_test",
			  "A test database from scratch, without asking" }),
		.uses = USES_SOURCE | USES_DB | USES_LOCK | USES_MIGRATE | USES_LINT,
		.exits = X(0) | X(1) | X(2) | X(4) | X(5) | X(6) | X(7),
	},
	{
		.name = "backup",
		.synopsis = LIST(
			"[--kind full|schema|data] [--format custom|plain|directory [--jobs N]] [--dir DIR] [--tag TAG]",
			"verify FILE [--restore-test]",
			"list [--dir DIR]",
			"prune [--dry-run] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-pre-migration DURATION] [--dir DIR]"),
		.description = LIST(
			"Back up the database with PostgreSQL's own pg_dump (custom format, of the server's major version) or SQLite's online backup API, with a manifest NAME.json beside the file: size, SHA-256, newest applied migration, row counts. A backup is complete once its manifest exists.",
			"--format chooses pg_dump's format: custom (the default, NAME.dump), plain (SQL text, NAME.sql, restored through psql in one transaction) or directory (NAME.dir, which --jobs N dumps, and restore --jobs N restores, with N jobs in parallel; its SHA-256 covers each file's name and content). The manifest records it; restore, --latest and prune handle every format. SQLite backups are database files.",
			"backup verify checks a file against its manifest and that it can be read back. backup list shows the backups of a folder. backup prune removes the ones the retention policy does not keep (a directory backup whole)."),
		.subcommands = LIST("backup verify", "backup list", "backup prune"),
		.examples = PAIRS(
			{ "strata backup --tag before-release",
			  "backups/app-20250101T120000Z-full-before-release.dump and .json" },
			{ "strata backup --format directory --jobs 4",
			  "backups/app-20250101T120000Z-full.dir, dumped by 4 jobs" },
			{ "strata backup verify backups/app-20250101T120000Z-full.dump --restore-test",
			  "Checked, and restored into a scratch database" },
			{ "strata backup prune --dry-run",
			  "What the retention policy would remove" }),
		/* --lock-wait bounds pg_dump's wait for table locks */
		.uses = USES_DB | USES_LOCK,
		.exits = X(0) | X(1) | X(2) | X(4) | X(6) | X(7),
	},
	{
		.name = "backup verify",
		.synopsis = LIST("FILE [--restore-test]"),
		.description = LIST(
			"Check a backup against its manifest (size, SHA-256) and that pg_restore or SQLite reads it; exit 4 when it differs. --restore-test restores it into a scratch database and compares the row counts with the manifest's."),
		.examples = PAIRS(
			{ "strata backup verify backups/app-20250101T120000Z-full.dump",
			  "Size, SHA-256, and pg_restore --list" }),
		.uses = USES_DB,
		.exits = X(0) | X(1) | X(2) | X(4) | X(7),
	},
	{
		.name = "backup list",
		.synopsis = LIST("[--dir DIR]"),
		.description = LIST(
			"List the backups of a folder, oldest first, with their kind, size, newest applied migration and tag, and the incomplete ones."),
		.examples = PAIRS(
			{ "strata backup list --format json",
			  "Every backup's manifest" }),
		.uses = 0,
		.exits = X(0) | X(1) | X(2),
	},
	{
		.name = "backup prune",
		.synopsis = LIST("[options]"),
		.description = LIST(
			"Remove the backups the retention policy does not keep. It keeps, per database and kind, the newest backup of each of the newest --keep-daily days, --keep-weekly ISO weeks and --keep-monthly months that have one (UTC), and pre-migration backups younger than --keep-pre-migration; incomplete backups over a day old are removed."),
		.examples = PAIRS(
			{ "strata backup prune --dry-run --keep-daily 3",
			  "What a tighter policy would remove" }),
		.uses = 0,
		.exits = X(0) | X(1) | X(2),
	},
	{
		.name = "restore",
		.synopsis = LIST("FILE [--into URL|NAME] [--clean [--keep-old]] [--yes]",
		                 "--latest|--before TIME|--tag TAG [--kind KIND] [--dir DIR] [--into URL|NAME] [--clean [--keep-old]] [--yes]"),
		.description = LIST(
			"Verify a backup, then restore it into the database, or --into another one, created when missing. A non-empty target is refused unless --clean, and overwriting one asks first (on a terminal) unless --yes.",
			"Instead of a file, --latest chooses the newest complete backup of the database (as --database names it) and --kind (full by default) in the backup directory, pre-migration backups included; --before TIME the newest taken at or before TIME, --tag TAG the newest with that tag. The chosen file is named before anything is restored; when none fits, nothing is restored and the error says what was asked.",
			"A failed restore leaves the target as it was: with --clean, PostgreSQL restores into a new database and swaps it in when complete (which needs CREATEDB and ownership of the target), else restores in one transaction inside it; SQLite writes a new file and renames it over the old.",
			"FILE may also be a dump without a manifest, its format told by its content, not its name: pg_dump's plain SQL (gzip'd or not), custom (-Fc) or directory (-Fd) format, an SQLite database or its .dump. SQL text runs through psql with ON_ERROR_STOP in one transaction, after it was read to its end: an empty, truncated or unreadable file, and statements that cannot run in one transaction (CREATE DATABASE and \\connect of pg_dumpall or pg_dump --create, BEGIN and COMMIT, VACUUM, psql meta-commands), are refused before anything runs. With --clean, SQL text is loaded into a new database and swapped in; it never drops anything in place."),
		.examples = PAIRS(
			{ "strata restore backups/app-20250101T120000Z-full.dump --into app_copy",
			  "Into a new database beside the original" },
			{ "strata restore app.sql.gz --into app_copy",
			  "A dump of pg_dump | gzip, in one transaction" },
			{ "strata restore --latest --clean",
			  "The newest full backup, over the database (after a failed deploy: the pre-migration one)" },
			{ "strata restore --before 2025-01-01T12:00:00Z --into app_copy",
			  "As it was at noon, beside it" }),
		/* --lock-wait bounds an in-place restore's wait for locks */
		.uses = USES_DB | USES_LOCK,
		.exits = X(0) | X(1) | X(2) | X(4) | X(6) | X(7),
	},
	{
		.name = "test",
		.synopsis = LIST("[--from V] [--to V] [--keep-going] [--idempotent] [--shadow URL [--shadow-reset] | --shadow cluster]"),
		.description = LIST(
			"Prove the down files on a shadow database, as drift makes it (a temporary database on the server, CREATEDB needed, else a private throwaway cluster, or --shadow URL or --shadow cluster; SQLite: a temporary file, also when the database file does not exist yet, which is not created), removed afterwards on every path. For each migration in order: the schema is read, the up applied, the down applied, the schema read again and compared with the one before the up, and the up applied once more, which must succeed. On PostgreSQL the schema is read from the catalogs over the shadow's own session, as pg_dump would show it (no owners or privileges). The database itself is never changed.",
			"A table of each migration's up and down times and result: ok, no-down (applied only), up-failed, down-failed, down-leaves (with the diff of what the down left or removed), reup-failed, not-idempotent, not-run. Exit 4 at the first failure, or after all of them with --keep-going. --from V and --to V test a range; the migrations before V are applied first, untested.",
			"--idempotent, for ups written to be run again (IF NOT EXISTS everywhere): each up that passed is run a second time at once after itself; one that fails or changes the schema is not-idempotent, with its error or the diff, and on PostgreSQL the statements without a guard (IF NOT EXISTS, OR REPLACE, IF EXISTS, ON CONFLICT) are named by line."),
		.examples = PAIRS(
			{ "strata test", "Every migration: up, down, up again" },
			{ "strata test --from 20250101000000 --keep-going", "The newest ones, every failure reported" },
			{ "strata test --idempotent", "Each up also run twice in a row" }),
		.uses = USES_DB | USES_SOURCE,
		.exits = X(0) | X(1) | X(2) | X(4) | X(7),
	},
	{
		.name = "seed",
		.synopsis = LIST("[NAME...] [--seeds DIR] [--yes]"),
		.description = LIST(
			"Load the seed files, development and test data, into the database: the .sql files of the seeds folder (--seeds DIR, seeds of strata.conf, else seeds), then those of its folder named after the active environment (seeds/test/ under -e test), each group in name order; NAME... only those (with or without .sql). Other environments' folders are left alone; any other entry of the folder is an error, so no file is skipped unsaid.",
			"Each file runs in its own transaction under the migration lock, with the lock_timeout and statement_timeout of a migration, and is recorded in the audit trail (strata history), never in the migration history: a seed may run again. A failing file is rolled back whole; the files before it stay. Statements that cannot run in a transaction are refused before anything runs. The production environment (production or prod) is refused unless --yes or allow_seed = true in its section of strata.conf."),
		.examples = PAIRS(
			{ "strata seed", "Every seed for the active environment" },
			{ "strata -e test seed users", "seeds/users.sql or seeds/test/users.sql only" },
			{ "strata database setup --seed", "Create, migrate, then seed" }),
		.uses = USES_DB | USES_LOCK,
		.exits = X(0) | X(1) | X(2) | X(4) | X(6) | X(7),
	},
	{
		.name = "migrate",
		.synopsis = LIST("run|revert|info|add [options]"),
		.description = LIST(
			"sqlx-cli's 'migrate' commands, so that scripts and habits carry over ('mig' is another name): 'migrate run' is strata run, 'migrate revert' is strata revert, 'migrate info' is strata status, and 'migrate add' is strata new with sqlx-cli's options.",
			"sqlx-cli's --database-url (-D), --source, --dry-run, --ignore-missing and --target-version work as they do there."),
		.subcommands = LIST("migrate run", "migrate revert", "migrate add"),
		.examples = PAIRS(
			{ "strata migrate run -D postgres://app@db/prod",
			  "As sqlx migrate run" },
			{ "strata migrate revert --target-version 0",
			  "Every applied migration" },
			{ "strata migrate add -r create users",
			  "A reversible pair, as sqlx migrate add -r" }),
		.uses = USES_SOURCE | USES_DB | USES_LOCK | USES_MIGRATE | USES_LINT,
		.exits = X(0) | X(1) | X(2) | X(4) | X(5) | X(6) | X(7),
	},
	{
		.name = "migrate add",
		.synopsis = LIST("[options] DESCRIPTION..."),
		.description = LIST(
			"sqlx-cli's spelling of strata new, with its options: -r/--reversible, --simple, -t/--timestamp and -s/--sequential. As in sqlx-cli, -s is --sequential here; the folder is given with --source."),
		.examples = PAIRS(
			{ "strata migrate add -r create users",
			  "migrations/20250101120000_create_users.up.sql and .down.sql" },
			{ "strata migrate add --source db/migrations -s seed data",
			  "db/migrations/0002_seed_data.sql after 0001" }),
		.uses = USES_SOURCE,
		.exits = X(0) | X(1) | X(2) | X(4),
	},
};
/* clang-format on */

const char *help_exit_text(unsigned code)
{
	return code < sizeof(exit_codes) / sizeof(exit_codes[0])
	               ? exit_codes[code]
	               : NULL;
}

/* Other names of a command, and where the help of one lives. */
static const struct help_pair aliases[] = {
	{ "info", "status" },           { "db", "database" },
	{ "mig", "migrate" },           { "migrate run", "run" },
	{ "migrate revert", "revert" }, { "migrate info", "status" },
};

const struct help *help_find(const char *name)
{
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(aliases[i].name, name) == 0)
			name = aliases[i].text;
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(helps[i].name, name) == 0)
			return &helps[i];
	return NULL;
}

unsigned help_uses(const char *name)
{
	const struct help *h = help_find(name);

	return h ? h->uses : ~0u;
}

static void pad(FILE *fp, size_t n)
{
	while (n--)
		fputc(' ', fp);
}

/*
 * The length of the word at `p`; a synopsis's [...] is one word, and so is
 * an SQL comment's "--" with the word after it.
 */
static size_t word_len(const char *p, bool is_synopsis)
{
	size_t n = 0;
	int depth = 0;

	for (; p[n] && (p[n] != ' ' || depth > 0); n++) {
		if (is_synopsis && p[n] == '[')
			depth++;
		else if (is_synopsis && p[n] == ']' && depth > 0)
			depth--;
	}
	if (n && strspn(p, "'-") == n && p[n] == ' ' && p[n + 1] &&
	    p[n + 1] != ' ')
		n += 1 + word_len(p + n + 1, is_synopsis);
	return n;
}

/*
 * `text` from column `col`, where the cursor is, wrapped at WIDTH with
 * continuation lines indented to `indent`; then a newline.
 */
static void wrap_text(FILE *fp, size_t col, size_t indent, const char *text,
                      bool is_synopsis)
{
	bool is_first = true;

	while (*text) {
		size_t n = word_len(text, is_synopsis);

		if (!is_first && col + 1 + n > WIDTH) {
			fputc('\n', fp);
			pad(fp, indent);
			col = indent;
		} else if (!is_first) {
			fputc(' ', fp);
			col++;
		}
		fwrite(text, 1, n, fp);
		col += n;
		is_first = false;
		text += n;
		while (*text == ' ')
			text++;
	}
	fputc('\n', fp);
}

static void wrap(FILE *fp, size_t col, size_t indent, const char *text)
{
	wrap_text(fp, col, indent, text, false);
}

/* An option's left column: "-d, --database URL" or "    --table NAME". */
static size_t opt_left(char *buf, size_t size, const struct opt *o,
                       char short_name)
{
	int n;

	if (short_name)
		n = snprintf(buf, size, "-%c, --%s%s%s", short_name,
		             o->long_name, o->arg_name ? " " : "",
		             o->arg_name ? o->arg_name : "");
	else
		n = snprintf(buf, size, "    --%s%s%s", o->long_name,
		             o->arg_name ? " " : "",
		             o->arg_name ? o->arg_name : "");
	return n < 0 ? 0 : (size_t)n;
}

/* A table's rows: two spaces, the left column, its help at `col`. */
static void print_row(FILE *fp, const char *left, const char *text, size_t col)
{
	size_t len = strlen(left);

	fprintf(fp, "  %s", left);
	if (2 + len + 2 > col) {
		fputc('\n', fp);
		pad(fp, col);
	} else {
		pad(fp, col - 2 - len);
	}
	wrap(fp, col, col, text);
}

static void print_opts(FILE *fp, const struct opt *opts, unsigned uses,
                       bool is_globals, const struct opt *own)
{
	char left[128];

	for (const struct opt *o = opts; o && o->long_name; o++) {
		if (is_globals && !opt_global_applies(o, uses))
			continue;
		opt_left(left, sizeof(left), o,
		         is_globals ? opt_short(o, own) : o->short_name);
		print_row(fp, left, o->help, OPT_COL);
	}
}

static void list_opts(FILE *fp, const struct opt *opts, unsigned uses,
                      bool is_globals, const struct opt *own)
{
	for (const struct opt *o = opts; o && o->long_name; o++) {
		char s = is_globals ? opt_short(o, own) : o->short_name;

		if (is_globals && !opt_global_applies(o, uses))
			continue;
		/* as the help shows them: the long form with its value */
		fprintf(fp, "--%s%s%s\n", o->long_name, o->arg_name ? " " : "",
		        o->arg_name ? o->arg_name : "");
		if (s)
			fprintf(fp, "-%c%s%s\n", s, o->arg_name ? " " : "",
			        o->arg_name ? o->arg_name : "");
	}
}

static void print_paragraphs(FILE *fp, const char *const *text)
{
	for (; text && *text; text++) {
		fputc('\n', fp);
		wrap(fp, 0, 0, *text);
	}
}

static void print_examples(FILE *fp, const struct help_pair *ex)
{
	if (!ex || !ex->name)
		return;
	fprintf(fp, "\nexamples:\n");
	for (; ex->name; ex++) {
		fputs("  # ", fp);
		wrap(fp, 4, 4, ex->text);
		fputs("  $ ", fp);
		wrap(fp, 4, 6, ex->name);
	}
}

static void print_exits(FILE *fp, unsigned exits)
{
	char left[8];

	fprintf(fp, "\nexit codes:\n");
	for (size_t i = 0; i < sizeof(exit_codes) / sizeof(exit_codes[0]);
	     i++) {
		if (!(exits & X(i)))
			continue;
		snprintf(left, sizeof(left), "%zu", i);
		print_row(fp, left, exit_codes[i], 5);
	}
}

/*
 * A family's subcommands, each through its own command so that its own
 * option table is the one shown: `strata backup verify --help` in
 * HELP_SECTION mode.
 */
static void print_subcommands(struct cli *cli, const char *const *subs)
{
	enum help_mode mode = cli->help_mode;
	const char *parent = cli->parent;

	cli->help_mode = HELP_SECTION;
	cli->parent = NULL;
	for (; subs && *subs; subs++) {
		char word[32], sub[32];
		char *argv[] = { word, sub, "--help", NULL };
		const struct command *c;

		if (sscanf(*subs, "%31s %31s", word, sub) == 2 &&
		    (c = cli_find_command(word)))
			c->fn(cli, 3, argv);
	}
	cli->help_mode = mode;
	cli->parent = parent;
}

void help_print(struct cli *cli, const char *name, const char *usage,
                const struct opt *opts)
{
	const struct help *h = help_find(name);
	const struct opt *globals = opt_globals();
	unsigned uses = h ? h->uses : ~0u;
	FILE *fp = stdout;

	if (cli->help_mode == HELP_SCDOC ||
	    cli->help_mode == HELP_SCDOC_SECTION) {
		help_scdoc(cli, h, name, usage, opts);
		return;
	}
	if (cli->help_mode == HELP_COMPLETION) {
		help_completion_add(name, opts, uses);
		return;
	}
	if (cli->help_mode == HELP_LIST_OPTIONS) {
		list_opts(fp, opts, uses, false, NULL);
		list_opts(fp, globals, uses, true, opts);
		return;
	}
	if (cli->help_mode == HELP_SECTION) {
		if (!opts || !opts->long_name)
			return;
		fprintf(fp, "\n'strata %s' options:\n", name);
		print_opts(fp, opts, uses, false, NULL);
		return;
	}
	if (h && h->synopsis) {
		for (const char *const *s = h->synopsis; *s; s++) {
			int n = fprintf(
			        fp, "%s strata %s ",
			        s == h->synopsis ? "usage:" : "   or:", name);

			wrap_text(fp, (size_t)n, (size_t)n, *s, true);
		}
	} else {
		fprintf(fp, "usage: strata %s%s%s\n", name,
		        usage && *usage ? " " : "", usage ? usage : "");
	}
	if (h && strcmp(h->name, name) != 0 && strcmp(h->name, "migrate") != 0)
		fprintf(fp, "\nThe same as 'strata %s'.\n", h->name);
	if (h)
		print_paragraphs(fp, h->description);
	if (h && h->actions) {
		fprintf(fp, "\nactions:\n");
		for (const struct help_pair *a = h->actions; a->name; a++)
			print_row(fp, a->name, a->text, 10);
	}
	if (opts && opts->long_name) {
		fprintf(fp, "\noptions:\n");
		print_opts(fp, opts, uses, false, NULL);
	}
	if (h && h->subcommands)
		print_subcommands(cli, h->subcommands);
	fprintf(fp, "\nglobal options:\n");
	print_opts(fp, globals, uses, true, opts);
	if (h) {
		print_examples(fp, h->examples);
		print_exits(fp, h->exits);
	}
}

static const struct help_pair environment[] = {
	{ "DATABASE_URL",
	  "the database when -d is not given; also read from ./.env (a variable set in the environment wins)" },
	{ "STRATA_ENV", "the environment of strata.conf to use, as -e" },
	{ "NO_COLOR", "no colour when set and not empty" },
	{ "PGHOST, PGUSER, ...",
	  "libpq's variables, password file and service file apply to PostgreSQL URLs" },
	{ "STRATA_PG_BINDIR",
	  "where backup and restore take pg_dump and pg_restore from, and a private shadow cluster of drift and test its initdb and pg_ctl" },
	{ NULL, NULL },
};

static const struct help_pair main_examples[] = {
	{ "strata new create users",
	  "The next migration file: migrations/20250101120000_create_users.sql" },
	{ "strata -d postgres://deploy@db/app run",
	  "Apply the pending migrations" },
	{ "strata status", "Every migration and its state" },
	{ "strata check", "Exit 0 when up to date, 3 when pending" },
	{ NULL, NULL },
};

static const struct opt version = { 0,    "version", OPT_FLAG,           NULL,
	                            NULL, NULL,      "print the version" };

static const struct help_main main_help = {
	.description =
	        "strata applies versioned SQL migrations to PostgreSQL and SQLite, one runner at a time, each migration committed with its history row. It reads sqlx-cli's migration files and keeps its _sqlx_migrations table as sqlx does.",
	.environment = environment,
	.examples = main_examples,
	.version = &version,
};

const struct help_main *help_main(void)
{
	return &main_help;
}

void help_print_main(FILE *fp)
{
	const struct opt *globals = opt_globals();
	size_t n, cmd_col = 0;
	const struct command *cmds = cli_commands(&n);
	char left[128];

	fprintf(fp, "usage: strata [global options] <command> [options]\n\n");
	wrap(fp, 0, 0, main_help.description);
	fprintf(fp, "\ncommands:\n");
	for (size_t i = 0; i < n; i++)
		if (cmds[i].summary && strlen(cmds[i].name) + 4 > cmd_col)
			cmd_col = strlen(cmds[i].name) + 4;
	for (size_t i = 0; i < n; i++)
		if (cmds[i].summary)
			print_row(fp, cmds[i].name, cmds[i].summary, cmd_col);
	fprintf(fp,
	        "\nglobal options (before the command, or after it where they apply):\n");
	print_opts(fp, globals, ~0u, true, NULL);
	opt_left(left, sizeof(left), &version, 0);
	print_row(fp, left, version.help, OPT_COL);
	fprintf(fp, "\nenvironment:\n");
	for (const struct help_pair *e = environment; e->name; e++)
		print_row(fp, e->name, e->text, 23);
	print_exits(fp, ~0u);
	print_examples(fp, main_examples);
	fprintf(fp,
	        "\nRun 'strata help COMMAND' or 'strata COMMAND --help' for a command's usage,\noptions, examples and exit codes.\n");
}

/* Optimal string alignment distance (Damerau-Levenshtein without
 * transposing twice), as git's help.c measures typed commands. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d;
	size_t *row0 = calloc(3 * (lb + 1), sizeof(*row0));
	size_t *prev2 = row0, *prev = row0 + lb + 1, *cur = prev + lb + 1;

	if (!row0)
		abort();
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = prev[j - 1] + cost;

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		{
			size_t *t = prev2;

			prev2 = prev;
			prev = cur;
			cur = t;
		}
	}
	d = prev[lb];
	free(row0);
	return d;
}

const char *help_suggest(const char *word, const char *const *candidates)
{
	size_t len = strlen(word), best_d = (size_t)-1;
	/* a typo or two, and not more than a third of the word */
	size_t limit = len / 3 > 1 ? len / 3 : 1;
	const char *best = NULL;

	for (const char *const *c = candidates; c && *c; c++) {
		size_t d = distance(word, *c);

		/* an abbreviation is as good as a typo */
		if (len >= 3 && strncmp(*c, word, len) == 0)
			d = 1;
		if (d <= limit && d < best_d) {
			best = *c;
			best_d = d;
		}
	}
	return best;
}

int help_unknown(struct cli *cli, const char *cmd, const char *word,
                 const char *const *candidates)
{
	const char *near = help_suggest(word, candidates);
	char what[64];

	if (cmd)
		snprintf(what, sizeof(what), "a subcommand of 'strata %s'",
		         cmd);
	else
		snprintf(what, sizeof(what), "a strata command");
	if (near)
		return cli_usage_error(cli, cmd,
		                       "'%s' is not %s; did you mean '%s'?",
		                       word, what, near);
	return cli_usage_error(cli, cmd, "'%s' is not %s", word, what);
}

int cmd_help(struct cli *cli, int argc, char **argv)
{
	char *sub_argv[4] = { NULL };
	const char **names;
	const struct command *cmds, *cmd;
	size_t n;
	int rc;

	argc--;
	argv++;
	if (argc &&
	    (!strcmp(argv[0], "--scdoc") || !strcmp(argv[0], "--completion")))
		return help_gen(cli, argc, argv);
	if (argc && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") ||
	             !strcmp(argv[0], "help"))) {
		help_print_main(stdout);
		return 0;
	}
	if (argc && strcmp(argv[0], "--list-options") == 0) {
		cli->help_mode = HELP_LIST_OPTIONS;
		argc--;
		argv++;
	}
	if (!argc) {
		if (cli->help_mode != HELP_LIST_OPTIONS) {
			help_print_main(stdout);
			return 0;
		}
		list_opts(stdout, opt_globals(), ~0u, true, NULL);
		printf("--version\n");
		return 0;
	}
	if (argc > 2 || argv[0][0] == '-')
		return cli_usage_error(
		        cli, "help",
		        "usage: strata help [COMMAND [SUBCOMMAND]]");
	cmd = cli_find_command(argv[0]);
	if (!cmd) {
		cmds = cli_commands(&n);
		names = calloc(n + 1, sizeof(*names));
		if (!names)
			abort();
		for (size_t i = 0; i < n; i++)
			names[i] = cmds[i].name;
		rc = help_unknown(cli, NULL, argv[0], names);
		free(names);
		return rc;
	}
	sub_argv[0] = argv[0];
	sub_argv[1] = argc > 1 ? argv[1] : "--help";
	sub_argv[2] = argc > 1 ? "--help" : NULL;
	cli->is_help = true;
	return cmd->fn(cli, argc + 1, sub_argv);
}
