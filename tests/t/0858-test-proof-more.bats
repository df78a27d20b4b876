#!/usr/bin/env bats
# strata test, more: the schema compared through a catalog snapshot finds
# what a pg_dump would (a forgotten default, CHECK constraint, enum value,
# function body, trigger, comment); --idempotent runs each up twice in a
# row and names the statements without a guard; SQLite with a database
# file that does not exist yet is tested on a temporary file, and the
# named file is not created.

load lib

setup_file() {
	pg_start
}

# 1_base makes the table; 2_change's up is $1, its down $2: the down must
# be found to leave the schema otherwise, with `$3` in the diff.
leaves() {
	write_migration 2_change.up.sql "$1"
	write_migration 2_change.down.sql "$2"
	run strata test
	assert_failure 4
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +down-leaves +change$"
	assert_output --partial "$3"
}

@test "test: a down that forgets a default, a CHECK, an enum value, a function body, a trigger, a comment" {
	new_db
	write_migration 1_base.up.sql "CREATE TABLE t (id int, n int); CREATE TYPE mood AS ENUM ('sad'); CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
	write_migration 1_base.down.sql "DROP TABLE t; DROP TYPE mood; DROP FUNCTION f(); DROP FUNCTION trg();"
	leaves "ALTER TABLE t ALTER COLUMN n SET DEFAULT 7;" "SELECT 1;" \
		"+    n integer DEFAULT 7"
	leaves "ALTER TABLE t ADD CONSTRAINT n_positive CHECK (n > 0);" "SELECT 1;" \
		"+ALTER TABLE ONLY public.t ADD CONSTRAINT n_positive CHECK ((n > 0));"
	leaves "ALTER TYPE mood ADD VALUE 'happy';" "SELECT 1;" \
		"+CREATE TYPE public.mood AS ENUM ('sad', 'happy');"
	leaves "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2';" "SELECT 1;" \
		"+AS \$function\$SELECT 2\$function\$;"
	leaves "CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();" "SELECT 1;" \
		"+CREATE TRIGGER t_trg BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.trg();"
	leaves "COMMENT ON COLUMN t.n IS 'how many';" "SELECT 1;" \
		"+COMMENT ON column n of table public.t IS 'how many';"
	# each undone: all pass
	write_migration 2_change.up.sql "ALTER TABLE t ALTER COLUMN n SET DEFAULT 7; ALTER TABLE t ADD CONSTRAINT n_positive CHECK (n > 0); CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2'; CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg(); COMMENT ON COLUMN t.n IS 'how many';"
	write_migration 2_change.down.sql "COMMENT ON COLUMN t.n IS NULL; DROP TRIGGER t_trg ON t; CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; ALTER TABLE t DROP CONSTRAINT n_positive; ALTER TABLE t ALTER COLUMN n DROP DEFAULT;"
	run strata test
	assert_success
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +ok +change$"
}

@test "test --idempotent: a second run that fails or changes the schema, each unguarded statement named" {
	new_db
	write_migration 1_a.up.sql "CREATE TABLE IF NOT EXISTS a (id int);
CREATE INDEX ON a (id);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.up.sql "-- a type
CREATE TABLE IF NOT EXISTS b (id int);

CREATE TYPE mood AS ENUM ('x');"
	write_migration 2_b.down.sql "DROP TABLE b; DROP TYPE mood;"
	write_migration 3_c.up.sql "CREATE TABLE IF NOT EXISTS c (id int);
ALTER TABLE c ADD COLUMN IF NOT EXISTS n int;
CREATE OR REPLACE VIEW v AS SELECT id FROM c;"
	write_migration 3_c.down.sql "DROP VIEW v; DROP TABLE c;"
	# without it: each passes
	run strata test
	assert_success
	run strata test --idempotent --keep-going
	assert_failure 4
	assert_line --regexp "^1 +[0-9.]+ +[0-9.]+ +not-idempotent +a$"
	assert_line "    the up run a second time changed the schema; without a guard in migrations/1_a.up.sql: line 2: CREATE INDEX without a name (each run makes another index)"
	assert_line "    +CREATE INDEX a_id_idx1 ON public.a USING btree (id);"
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +not-idempotent +b$"
	assert_output --partial "the up run a second time failed: type \"mood\" already exists (at migrations/2_b.up.sql:4); without a guard in migrations/2_b.up.sql: line 4: CREATE TYPE (it has no IF NOT EXISTS)"
	assert_line --regexp "^3 +[0-9.]+ +[0-9.]+ +ok +c$"
	assert_output --partial "2 of 3 migrations failed the test"
	# without --keep-going: stops at the first
	run strata --format json test --idempotent
	assert_failure 4
	[[ $(jq -c '[.migrations[].result]' <<<"$output") == '["not-idempotent","not-run","not-run"]' ]] || fail "$output"
	# guarded: passes, and says so
	write_migration 1_a.up.sql "CREATE TABLE IF NOT EXISTS a (id int);
CREATE INDEX IF NOT EXISTS a_id ON a (id);"
	write_migration 2_b.up.sql "CREATE TABLE IF NOT EXISTS b (id int);
DO \$\$ BEGIN CREATE TYPE mood AS ENUM ('x'); EXCEPTION WHEN duplicate_object THEN NULL; END \$\$;"
	run --separate-stderr strata test --idempotent
	assert_success
	[[ $stderr == "3 migrations tested: every down file undoes its up, every up runs twice (on "*")." ]] || fail "$stderr"
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
}

@test "test --idempotent on SQLite: a second run that fails" {
	sqlite_db
	write_migration 1_a.up.sql "CREATE TABLE IF NOT EXISTS a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.up.sql "CREATE TABLE b (id int);"
	write_migration 2_b.down.sql "DROP TABLE b;"
	run strata test --idempotent
	assert_failure 4
	assert_line --regexp "^1 +[0-9.]+ +[0-9.]+ +ok +a$"
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +not-idempotent +b$"
	assert_output --partial "the up run a second time failed: table b already exists"
}

@test "test: SQLite whose file does not exist yet runs on a temporary file and creates nothing" {
	sqlite_db
	write_migration 1_users.up.sql "CREATE TABLE users (id integer PRIMARY KEY, email text);"
	write_migration 1_users.down.sql "DROP TABLE users;"
	rm -f "$TEST_SQLITE"
	run --separate-stderr strata test
	assert_success
	assert_line --regexp "^1 +[0-9.]+ +[0-9.]+ +ok +users$"
	[[ $stderr == "1 migration tested: every down file undoes its up (on a temporary file)." ]] || fail "$stderr"
	[[ ! -e $TEST_SQLITE ]] || fail "strata test created $TEST_SQLITE"
	# a down that leaves the table: found all the same
	write_migration 1_users.down.sql "SELECT 1;"
	run strata test
	assert_failure 4
	assert_line --regexp "^1 +[0-9.]+ +[0-9.]+ +down-leaves +users$"
	[[ ! -e $TEST_SQLITE ]] || fail "strata test created $TEST_SQLITE"
	# other commands still refuse a missing file
	run strata status
	assert_failure
	assert_output --partial "does not exist"
}

@test "test --keep-going: after a down outside a transaction that stopped part-way, the shadow is made again and the rest are tested" {
	new_db
	write_migration 1_a.up.sql "CREATE TABLE a (id int PRIMARY KEY);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.up.sql "-- no-transaction
CREATE TABLE b (id int);
CREATE INDEX CONCURRENTLY b_id ON b (id);"
	# drops the index, then fails: neither before nor after the up
	write_migration 2_b.down.sql "-- no-transaction
DROP INDEX CONCURRENTLY b_id;
DROP TABLE missing;
DROP TABLE b;"
	write_migration 3_c.up.sql "CREATE TABLE c (id int REFERENCES a);"
	write_migration 3_c.down.sql "DROP TABLE c;"
	write_migration 4_d.up.sql "CREATE TABLE d (id int);"
	write_migration 4_d.down.sql "DROP TABLE d; CREATE TABLE extra (id int);"
	run strata --format json test --keep-going
	echo "$output"
	assert_failure 4
	[[ $(jq -c '[.migrations[].result]' <<<"$output") == '["ok","down-failed","ok","down-leaves"]' ]] || fail "$output"
	[[ $(jq -r '.migrations[1].message' <<<"$output") == *'table "missing" does not exist'*"it ran outside a transaction and stopped part-way, so the shadow was made again, every up through this one applied, to test the rest"* ]] || fail "$output"
	# without --keep-going: stops there
	run strata --format json test
	assert_failure 4
	[[ $(jq -c '[.migrations[].result]' <<<"$output") == '["ok","down-failed","not-run","not-run"]' ]] || fail "$output"
	# and no shadow is left behind
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname LIKE 'strata_shadow%'")" 0
}
