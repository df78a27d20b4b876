#!/usr/bin/env bats
# strata drift: the applied migrations built on a shadow database and
# compared with the database object by object (exit 0 the same, 4
# drifted), as text and JSON, with exclusions; the shadow rules (a given
# one with other tables refused, a temporary one never left behind, even
# after a failure or SIGINT, CREATEDB needed); SQLite.

load lib

# No temporary shadow database on the cluster.
assert_no_shadow() {
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname LIKE 'strata\_shadow\_%'")" 0
}

schema() {
	write_migration 1_t.sql "CREATE TABLE t (id serial PRIMARY KEY, b text);
CREATE INDEX t_b ON t (b);"
	write_migration 2_f.sql "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE VIEW v AS SELECT id FROM t;"
	strata run >/dev/null
}

@test "drift: none right after run, and a pending migration is not applied to the shadow" {
	schema
	run strata drift
	assert_success
	assert_output "No drift: the database is what its 2 applied migrations make."
	assert_no_shadow
	write_migration 3_pending.sql "CREATE TABLE later (id int);"
	run strata drift
	assert_success
	assert_no_shadow
}

@test "drift: a column added, an index dropped and a function body changed by hand are each named, with the unified diff" {
	schema
	psql_db "ALTER TABLE t ADD COLUMN extra int; DROP INDEX t_b; CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2'"
	run strata drift
	assert_failure 4
	assert_line "Drift: 3 differences between the database and its 2 applied migrations:"
	assert_line "  column     public.t.extra: unexpected: not made by the migrations"
	assert_line "  function   public.f(): changed"
	assert_line "  index      public.t_b: missing from the database"
	assert_line "--- expected (the migrations, on the shadow)"
	assert_line "+++ actual (the database)"
	assert_line "-    AS \$\$SELECT 1\$\$;"
	assert_line "+    AS \$\$SELECT 2\$\$;"
	assert_line "+    extra integer"
	assert_line "-CREATE INDEX t_b ON public.t USING btree (b);"
	assert_no_shadow
}

@test "drift: a column's type changed, a table, a function and a trigger added by hand" {
	schema
	psql_db "ALTER TABLE t ALTER COLUMN b TYPE varchar(10); CREATE TABLE stray (x int);
CREATE FUNCTION tg() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NEW; END\$\$;
CREATE TRIGGER t_tg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION tg();"
	run strata drift
	assert_failure 4
	assert_line "  column     public.t.b: changed"
	assert_line "  table      public.stray: unexpected: not made by the migrations"
	assert_line "  trigger    public.t.t_tg: unexpected: not made by the migrations"
	assert_line "  function   public.tg(): unexpected: not made by the migrations"
}

@test "drift --format json: each difference with its kind, schema, name and state, and the diff" {
	schema
	psql_db "ALTER TABLE t ADD COLUMN extra int; DROP INDEX t_b"
	run --separate-stderr strata drift --format json
	assert_failure 4
	assert_equal "$(jq -r .drift <<<"$output")" true
	assert_equal "$(jq -c '.differences' <<<"$output")" '[{"kind":"column","schema":"public","name":"t.extra","state":"unexpected"},{"kind":"index","schema":"public","name":"t_b","state":"missing"}]'
	assert_equal "$(jq -r .applied_migrations <<<"$output")" 2
	[[ $(jq -r .diff <<<"$output") == *"+    extra integer"* ]]
	[[ $(jq -r .shadow <<<"$output") == strata_shadow_* ]]
	psql_db "ALTER TABLE t DROP COLUMN extra; CREATE INDEX t_b ON t (b)"
	run --separate-stderr strata drift --format json
	assert_success
	assert_equal "$(jq -c '[.drift, .differences, .diff]' <<<"$output")" '[false,[],""]'
}

@test "drift --exclude and [drift] exclude in strata.conf ignore what a team accepts" {
	schema
	psql_db "CREATE TABLE audit_log (x int); CREATE TABLE audit_seen (x int); ALTER TABLE t ADD COLUMN extra int"
	run strata drift --exclude 'audit_*'
	assert_failure 4
	refute_output --partial "audit_"
	assert_line "  column     public.t.extra: unexpected: not made by the migrations"
	assert_line "(2 more excluded.)"
	run strata drift --exclude 'public.audit_*' --exclude 'column:t.extra'
	assert_success
	assert_output "No drift: the database is what its 2 applied migrations make (excluded differences aside)."
	printf '[drift]\nexclude = table:audit_log, audit_seen\nexclude = t.extra\n' >strata.conf
	run strata drift
	assert_success
	printf '[drift]\nexclude = table:audit_log\n' >strata.conf
	run strata drift
	assert_failure 4
	assert_line "  table      public.audit_seen: unexpected: not made by the migrations"
	printf '[drift]\nexclud = x\n' >strata.conf
	run strata drift
	assert_failure 2
	assert_output --partial "unknown key 'exclud' in [drift]"
}

@test "drift: an applied migration edited since is said before the comparison" {
	schema
	write_migration 2_f.sql "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 3';
CREATE VIEW v AS SELECT id FROM t;"
	run strata drift
	assert_failure 4
	assert_line --index 0 --partial "migration 2 changed after it was applied (its checksum differs from the recorded one): the shadow applied the file as it is now"
	assert_line "  function   public.f(): changed"
}

@test "drift --shadow: a database with tables strata did not make is refused unless --shadow-reset; it is emptied after each use" {
	schema
	psql_db "CREATE DATABASE ${TEST_DB}_sh"
	TEST_DB=${TEST_DB}_sh psql_db "CREATE TABLE precious (x int); INSERT INTO precious VALUES (1)"
	run strata drift --shadow "$(pg_url "${TEST_DB}_sh")"
	assert_failure 1
	assert_output --partial "shadow database '${TEST_DB}_sh' holds 1 table strata did not make"
	assert_output --partial "It holds 'public.precious'."
	assert_output --partial "pass --shadow-reset to empty it anyway"
	assert_equal "$(TEST_DB=${TEST_DB}_sh psql_db "SELECT count(*) FROM precious")" 1
	run strata drift --shadow "$(pg_url "${TEST_DB}_sh")" --shadow-reset
	assert_success
	assert_equal "$(TEST_DB=${TEST_DB}_sh psql_db "SELECT to_regclass('public.precious') IS NULL")" t
	# emptied after use: found empty, no refusal
	assert_equal "$(TEST_DB=${TEST_DB}_sh psql_db "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'")" 0
	run strata drift --shadow "$(pg_url "${TEST_DB}_sh")"
	assert_success
	assert_output "No drift: the database is what its 2 applied migrations make."
	assert_no_shadow
	run strata drift --shadow-reset
	assert_failure 2
	assert_output --partial "--shadow-reset needs --shadow URL"
	# never the database itself, even when asked to reset it
	run strata drift --shadow "$DATABASE_URL" --shadow-reset
	assert_failure 2
	assert_output --partial "the shadow database '"
	assert_output --partial "is the database itself"
	assert_equal "$(psql_db "SELECT count(*) FROM t")" 0
}

@test "drift: no shadow database is left after a migration fails on it, and the error says where" {
	schema
	write_migration 3_gone.sql "ALTER TABLE made_by_hand ADD COLUMN y int;"
	psql_db "CREATE TABLE made_by_hand (x int)"
	strata run >/dev/null
	run strata drift
	assert_failure 1
	assert_output --partial "on the shadow database (strata_shadow_"
	assert_output --partial 'relation "made_by_hand" does not exist'
	assert_output --partial "3_gone.sql"
	assert_no_shadow
}

@test "drift: the extensions the shadow's server lacks are named, all at once, before anything runs there" {
	schema
	write_migration 3_ext.sql "CREATE EXTENSION IF NOT EXISTS plpgsql;
CREATE EXTENSION Strata_No_Such_Extension;
-- a comment, then one quoted
create   extension if not exists \"strata-also-missing\" WITH SCHEMA public;"
	strata mark-applied 3 >/dev/null
	run strata drift
	assert_failure 1
	assert_output --partial "the shadow's server lacks extensions the migrations create: 'strata_no_such_extension', 'strata-also-missing'"
	refute_output --partial "'plpgsql'"
	assert_no_shadow
}

@test "drift: SIGINT or SIGTERM while the shadow is built leaves no shadow database" {
	write_migration 1_slow.sql "CREATE TABLE t (id int);
SELECT pg_sleep(CASE WHEN current_database() LIKE 'strata\_shadow\_%' THEN 30 ELSE 0 END);"
	strata run >/dev/null
	local sig code pid rc
	for sig in INT:130 TERM:143; do
		code=${sig#*:} sig=${sig%:*} rc=0
		env --default-signal "$STRATA_BIN" drift >drift.out 2>&1 &
		pid=$!
		await_sql "SELECT datname FROM pg_stat_activity WHERE datname LIKE 'strata\_shadow\_%' AND query LIKE '%pg_sleep%' AND state = 'active'" >/dev/null
		kill -"$sig" "$pid"
		wait "$pid" || rc=$?
		cat drift.out
		assert_equal "$rc" "$code"
		assert_no_shadow
	done
}

@test "drift: a shadow left by a drift that was killed (SIGKILL) is dropped by the next drift on the host" {
	write_migration 1_slow.sql "CREATE TABLE t (id int);
SELECT pg_sleep(CASE WHEN current_database() LIKE 'strata\_shadow\_%' THEN 30 ELSE 0 END);"
	strata run >/dev/null
	"$STRATA_BIN" drift >drift.out 2>&1 &
	local pid=$!
	local left
	left=$(await_sql "SELECT datname FROM pg_stat_activity WHERE datname LIKE 'strata\_shadow\_%' AND query LIKE '%pg_sleep%' AND state = 'active'")
	kill -KILL "$pid"
	wait "$pid" || true
	# the server ends the killed session's statement in its own time
	psql_db "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$left'" >/dev/null
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname = '$left'")" 1
	# another host's shadow, or one of a drift still running, stays
	psql_db "CREATE DATABASE strata_shadow_1_other"
	psql_db "COMMENT ON DATABASE strata_shadow_1_other IS 'strata drift shadow: host=elsewhere pid=99999999'"
	write_migration 1_slow.sql "CREATE TABLE t (id int);"
	strata repair --accept-checksum 1 >/dev/null
	run strata drift
	assert_success
	assert_output --partial "dropped shadow database '$left', left by a drift (pid $pid) that was killed"
	assert_equal "$(psql_db "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'strata\_shadow\_%'")" strata_shadow_1_other
	psql_db "DROP DATABASE strata_shadow_1_other"
}

@test "drift: a role without CREATEDB is told so, and of --shadow" {
	psql_db "DO \$\$BEGIN CREATE ROLE nocreate LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END\$\$"
	psql_db "ALTER DATABASE \"$TEST_DB\" OWNER TO nocreate; ALTER SCHEMA public OWNER TO nocreate"
	export DATABASE_URL="postgresql:///$TEST_DB?host=$PGHOST&port=$PGPORT&user=nocreate"
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run >/dev/null
	# and no private cluster either: its programs are not there (or root)
	mkdir nobin
	ln -s "$STRATA_TEST_CLUSTER_BIN/pg_dump" nobin/pg_dump
	STRATA_PG_BINDIR=$PWD/nobin run strata drift
	assert_failure 1
	assert_output --partial "role 'nocreate' may not create a shadow database, and "
	assert_output --partial "ALTER ROLE \"nocreate\" CREATEDB;"
	assert_output --partial "or pass --shadow URL with a database strata may empty"
	assert_no_shadow
}

@test "drift on SQLite: the shadow is a temporary file, removed afterwards" {
	sqlite_db
	export TMPDIR=$PWD/tmp
	mkdir tmp
	write_migration 1_t.sql "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT);
CREATE INDEX t_b ON t (b);"
	strata run >/dev/null
	run strata drift
	assert_success
	assert_output "No drift: the database is what its 1 applied migration makes."
	sqlite3 test.db "ALTER TABLE t ADD COLUMN extra INTEGER; DROP INDEX t_b;"
	run strata drift
	assert_failure 4
	assert_line "  index      t_b: missing from the database"
	assert_line "  column     t.extra: unexpected: not made by the migrations"
	assert_line "-CREATE INDEX t_b ON t (b);"
	run ls -A tmp
	assert_output ""
	# a shadow file of one's own: refused when it holds anything, else
	# used and removed
	sqlite3 mine.db "CREATE TABLE precious (x int);"
	run strata drift --shadow sqlite:mine.db
	assert_failure 1
	assert_output --partial "shadow database 'sqlite:mine.db' is not empty"
	assert_equal "$(sqlite3 mine.db 'SELECT count(*) FROM precious')" 0
	run strata drift --shadow sqlite:mine.db --shadow-reset
	assert_failure 4
	[[ ! -e mine.db ]]
}
