#!/usr/bin/env bats
# strata run: applying migrations, and the history rows sqlx would write.

load lib

sha384() {
	openssl dgst -sha384 -r "$1" | cut -d' ' -f1
}

three_migrations() {
	write_migration 20250101120000_create_users.sql "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);"
	write_migration 20250102120000_add_users_name.up.sql "ALTER TABLE users ADD COLUMN name text;"
	write_migration 20250102120000_add_users_name.down.sql "ALTER TABLE users DROP COLUMN name;"
	write_migration 20250103120000_seed.sql "INSERT INTO users (id, email) VALUES (1, 'a@example.com');"
}

history_rows() {
	# version|description|success|hex checksum|execution_time > 0
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		psql_db "SELECT version, description, success, encode(checksum, 'hex'), execution_time > 0 FROM _sqlx_migrations ORDER BY version"
	else
		sqlite3 "$TEST_SQLITE" "SELECT version, description, CASE success WHEN 1 THEN 't' ELSE 'f' END, lower(hex(checksum)), CASE WHEN execution_time > 0 THEN 't' ELSE 'f' END FROM _sqlx_migrations ORDER BY version"
	fi
}

rows_equal_sqlx() {
	three_migrations
	run strata run
	assert_success
	assert_line --partial "Applied 20250101120000 create users"
	assert_line --partial "Applied 20250102120000 add users name"
	assert_line --partial "Applied 20250103120000 seed"
	run history_rows
	assert_success
	assert_output "20250101120000|create users|t|$(sha384 migrations/20250101120000_create_users.sql)|t
20250102120000|add users name|t|$(sha384 migrations/20250102120000_add_users_name.up.sql)|t
20250103120000|seed|t|$(sha384 migrations/20250103120000_seed.sql)|t"
	assert_equal "$(query_db 'SELECT count(*) FROM users')" 1
}

@test "run: history rows equal sqlx's (version, description, SHA-384, success, execution_time)" {
	for_each_driver rows_equal_sqlx
}

second_run_is_noop() {
	three_migrations
	strata run
	run strata run
	assert_success
	assert_output "Nothing to apply: the database is up to date."
	assert_equal "$(query_db 'SELECT count(*) FROM users')" 1
}

@test "run: a second run is a no-op" {
	for_each_driver second_run_is_noop
}

@test "run: the history table has sqlx's exact PostgreSQL DDL" {
	write_migration 1_a.sql "SELECT 1;"
	strata run
	run psql_db "SELECT column_name, data_type, is_nullable, coalesce(column_default, '') FROM information_schema.columns WHERE table_name = '_sqlx_migrations' ORDER BY ordinal_position"
	assert_output "version|bigint|NO|
description|text|NO|
installed_on|timestamp with time zone|NO|now()
success|boolean|NO|
checksum|bytea|NO|
execution_time|bigint|NO|"
	run psql_db "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '_sqlx_migrations'::regclass"
	assert_output "PRIMARY KEY (version)"
	run psql_db "SELECT octet_length(checksum) FROM _sqlx_migrations"
	assert_output 48
}

@test "run: the history table has sqlx's exact SQLite DDL" {
	sqlite_db
	write_migration 1_a.sql "SELECT 1;"
	strata run
	run sqlite3 "$TEST_SQLITE" "SELECT sql FROM sqlite_master WHERE name = '_sqlx_migrations'"
	assert_output "CREATE TABLE _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)"
}

sqlx_state_is_up_to_date() {
	three_migrations
	# The rows sqlx-cli would have written, by hand, with sqlx's DDL.
	local ddl rows=""
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		ddl="CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);"
		for f in 20250101120000_create_users.sql:create_users 20250102120000_add_users_name.up.sql:add_users_name 20250103120000_seed.sql:seed; do
			rows+="INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (${f%%_*}, '$(tr _ ' ' <<<"${f#*:}")', true, decode('$(sha384 "migrations/${f%%:*}")', 'hex'), 1234);"
		done
	else
		ddl="CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);"
		for f in 20250101120000_create_users.sql:create_users 20250102120000_add_users_name.up.sql:add_users_name 20250103120000_seed.sql:seed; do
			rows+="INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (${f%%_*}, '$(tr _ ' ' <<<"${f#*:}")', 1, X'$(sha384 "migrations/${f%%:*}")', 1234);"
		done
	fi
	query_db "$ddl $rows"
	run strata check
	assert_success
	run strata run
	assert_success
	assert_output "Nothing to apply: the database is up to date."
	run strata status
	assert_success
	assert_output --partial "3 applied, 0 pending."
}

@test "run: a database in sqlx's state is up to date" {
	for_each_driver sqlx_state_is_up_to_date
}

target_version() {
	three_migrations
	run strata run --target-version 20250102120000
	assert_success
	assert_line --partial "Applied 20250102120000"
	refute_line --partial "20250103120000"
	run strata check
	assert_failure 3
	run strata run
	assert_success
	assert_line --partial "Applied 20250103120000 seed"
}

@test "run --target-version stops at the target" {
	for_each_driver target_version
}

dry_run() {
	three_migrations
	run strata run --dry-run
	assert_success
	assert_line "Would apply 20250101120000 create users"
	assert_line "3 migrations would be applied (dry run)."
	run strata check
	assert_failure 3
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_equal "$(psql_db "SELECT to_regclass('users') IS NULL AND to_regclass('_sqlx_migrations') IS NULL")" t
	fi
}

@test "run --dry-run applies and creates nothing" {
	for_each_driver dry_run
}

single_transaction() {
	three_migrations
	write_migration 20250104120000_broken.sql "INSERT INTO users (id, email) VALUES (1, 'duplicate@example.com');"
	run strata run --single-transaction
	assert_failure 1
	assert_output --partial "20250104120000_broken.sql"
	assert_output --partial "nothing was applied"
	run strata status --format json
	assert_output --partial '"applied": 0'
	rm migrations/20250104120000_broken.sql
	run strata run --single-transaction
	assert_success
	run strata check
	assert_success
}

@test "run --single-transaction applies all or nothing" {
	for_each_driver single_transaction
}

@test "run: --single-transaction refuses a no-transaction migration before anything runs" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_idx.sql "-- no-transaction
CREATE INDEX CONCURRENTLY a_id ON a (id);"
	run strata run --single-transaction
	assert_failure 4
	assert_output --partial "2_idx.sql' cannot be part of a single-transaction run"
	assert_equal "$(psql_db "SELECT to_regclass('a') IS NULL")" t
}

out_of_order() {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	strata run
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	run strata status
	assert_line --regexp "^2 +out-of-order"
	run strata run --strict-order
	assert_failure 4
	assert_output --partial "migration 2 is older than the newest applied one (3)"
	run strata run
	assert_success
	assert_output --partial "migration 2 is applied out of order"
	assert_line --partial "Applied 2 b"
}

@test "run: a late-merged older migration is applied out of order; --strict-order refuses it" {
	for_each_driver out_of_order
}

@test "run: --table takes a schema-qualified name, quoted safely" {
	psql_db 'CREATE SCHEMA "Ops"'
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run strata run --table 'Ops.migration history'
	assert_success
	assert_equal "$(psql_db 'SELECT version FROM "Ops"."migration history"')" 1
	assert_equal "$(psql_db "SELECT to_regclass('_sqlx_migrations') IS NULL")" t
	run strata check --table 'Ops.migration history'
	assert_success
	run strata run --table 'missing_schema.history'
	assert_failure
	assert_output --partial 'missing_schema'
}

json_run() {
	three_migrations
	run strata run --format json
	assert_success
	run jq -c '[.applied, [.migrations[].version], .migrations[0].action]' <<<"$output"
	assert_output '[3,[20250101120000,20250102120000,20250103120000],"applied"]'
}

@test "run --format json reports each applied migration" {
	for_each_driver json_run
}
