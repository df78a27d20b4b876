#!/usr/bin/env bats
# strata test: every down file proven on a shadow database: up, down, the
# schema as before the up, up again. Names a down that forgets an index,
# one with a syntax error, one that drops too much; passes a correct
# folder; never touches the database; leaves no shadow behind.

load lib

setup_file() {
	pg_start
}

no_shadow_left() {
	assert_equal "$(_pg_psql -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'strata_shadow%'")" 0
}

good_folder() {
	write_migration 1_users.up.sql "CREATE TABLE users (id int PRIMARY KEY, email text);"
	write_migration 1_users.down.sql "DROP TABLE users;"
	write_migration 2_email.up.sql "CREATE INDEX users_email ON users (email); ALTER TABLE users ADD COLUMN name text;"
	write_migration 2_email.down.sql "DROP INDEX users_email; ALTER TABLE users DROP COLUMN name;"
	write_migration 3_view.up.sql "CREATE VIEW named AS SELECT id, email FROM users WHERE email IS NOT NULL;"
	write_migration 3_view.down.sql "DROP VIEW named;"
}

good() {
	good_folder
	write_migration 4_seed.sql "SELECT 1;"
	run --separate-stderr strata test
	assert_success
	assert_line --index 0 --regexp "^VERSION +UP ms +DOWN ms +RESULT +DESCRIPTION$"
	assert_line --index 1 --regexp "^1 +[0-9.]+ +[0-9.]+ +ok +users$"
	assert_line --index 3 --regexp "^3 +[0-9.]+ +[0-9.]+ +ok +view$"
	assert_line --index 4 --regexp "^4 +[0-9.]+ +- +no-down +seed$"
	[[ $stderr == "4 migrations tested: every down file undoes its up (on "*"); those without a down file were applied only." ]] || fail "$stderr"
}

@test "test: a correct folder passes; the database is not touched; no shadow is left" {
	new_db
	good
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
	no_shadow_left
	sqlite_db
	sqlite3 "$TEST_SQLITE" "SELECT 1" >/dev/null
	good
	assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_schema")" 0
}

@test "test: a down that forgets an index, one that drops too much, one that does not parse" {
	new_db
	good_folder
	# forgets the index
	write_migration 2_email.down.sql "ALTER TABLE users DROP COLUMN name;"
	run strata test
	assert_failure 4
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +down-leaves +email$"
	assert_output --partial "after the down, the schema is not what it was before the up; the up then failed again: relation \"users_email\" already exists (at migrations/2_email.up.sql:1)"
	assert_output --partial "+CREATE INDEX users_email ON public.users USING btree (email);"
	assert_line --regexp "^3 +- +- +not-run +view$"
	assert_output --partial "1 of 3 migrations failed the test"
	no_shadow_left
	# drops too much: the email column with the index
	write_migration 2_email.down.sql "DROP INDEX users_email; ALTER TABLE users DROP COLUMN name, DROP COLUMN email;"
	run strata test --keep-going
	assert_failure 4
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +down-leaves +email$"
	assert_output --partial "-    email text"
	# a syntax error: said with its file and line; the rest still tested
	write_migration 2_email.down.sql "DROP INDEX users_email; ALTER TABLE users DROP COLUMN name;"
	write_migration 3_view.down.sql "DROP VEIW named;"
	write_migration 4_more.up.sql "CREATE TABLE more (id int);"
	write_migration 4_more.down.sql "DROP TABLE more;"
	run strata test --keep-going
	assert_failure 4
	assert_line --regexp "^3 +[0-9.]+ +- +down-failed +view$"
	assert_output --partial "syntax error at or near \"VEIW\""
	assert_output --partial "migrations/3_view.down.sql:1"
	assert_line --regexp "^4 +[0-9.]+ +[0-9.]+ +ok +more$"
	no_shadow_left
}

@test "test: --from and --to, JSON, --shadow, usage" {
	new_db
	good_folder
	run strata --format json test --from 2 --to 2
	assert_success
	[[ $(jq -c '[.tested, .failed, .migrations[0].version_text, .migrations[0].result]' <<<"$output") == '[1,0,"2","ok"]' ]] || fail "$output"
	_pg_psql -d postgres -c "CREATE DATABASE shadow_given" >/dev/null
	run strata test --shadow "$(pg_url shadow_given)"
	assert_success
	assert_equal "$(_pg_psql -d shadow_given -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
	run strata test --shadow-reset
	assert_failure 2
	assert_output --partial "--shadow-reset needs --shadow URL"
	run strata test --from 9
	assert_failure 2
	assert_output --partial "--from and --to select no migration"
	run strata test --from x
	assert_failure 2
	assert_output --partial "--from wants a version, not 'x'"
}

@test "test: SIGINT while a migration runs on the shadow: exit 130, no shadow left, nothing left running" {
	new_db
	write_migration 1_slow.up.sql "CREATE TABLE t (id int); SELECT pg_sleep(5);"
	write_migration 1_slow.down.sql "DROP TABLE t;"
	env --default-signal strata test >test.out 2>&1 &
	local pid=$! rc=0
	await_sql "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(5)%' AND pid <> pg_backend_pid()" >/dev/null
	kill -INT "$pid"
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	no_shadow_left
	assert_equal "$(psql_db "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(5)%' AND pid <> pg_backend_pid()")" 0
}
