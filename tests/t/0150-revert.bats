#!/usr/bin/env bats
# strata revert: newest first, with down files, checked before anything runs.

load lib

reversible_set() {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	write_migration 2_b.down.sql "DROP TABLE b;"
	write_migration 3_c.up.sql "CREATE TABLE c (id int);"
	write_migration 3_c.down.sql "DROP TABLE c;"
	strata run
}

revert_newest() {
	reversible_set
	run strata revert
	assert_success
	assert_line --partial "Reverted 3 c"
	assert_line "Reverted 1 migration."
	run strata status --format json
	run jq -c '[.migrations[] | .state]' <<<"$output"
	assert_output '["applied","applied","pending"]'
	run strata revert --count 2
	assert_success
	assert_line --partial "Reverted 2 b"
	assert_line --partial "Reverted 1 a"
	run strata revert
	assert_success
	assert_output "Nothing to revert."
	run strata run
	assert_success
	assert_line "Applied 3 migrations."
}

@test "revert: the newest, then --count N, then nothing; run re-applies" {
	for_each_driver revert_newest
}

revert_target() {
	reversible_set
	run strata revert --target-version 1 --dry-run
	assert_success
	assert_line "Would revert 3 c"
	assert_line "Would revert 2 b"
	refute_line --partial "Would revert 1"
	run strata check
	assert_success
	run strata revert --target-version 1
	assert_success
	run strata status --format json
	run jq -c '[.migrations[] | .state]' <<<"$output"
	assert_output '["applied","pending","pending"]'
	run strata revert --target-version 0
	assert_success
	assert_line --partial "Reverted 1 a"
	strata run
	run strata revert --all
	assert_success
	assert_line "Reverted 3 migrations."
}

@test "revert: --target-version V (0 means all), --all, --dry-run" {
	for_each_driver revert_target
}

@test "revert: a migration without a down file stops the revert before anything runs" {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_plain.sql "CREATE TABLE plain (id int);"
	write_migration 3_c.up.sql "CREATE TABLE c (id int);"
	write_migration 3_c.down.sql "DROP TABLE c;"
	strata run
	run strata revert --all
	assert_failure 4
	assert_output --partial "cannot revert migration 2 (plain): it has no down file"
	assert_output --partial "2_<description>.down.sql"
	# checked first: migration 3 was not reverted either
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 3
	assert_equal "$(psql_db "SELECT to_regclass('c') IS NOT NULL")" t
}

@test "revert: a failing down file rolls back and keeps the record" {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;
DROP TABLE not_there;"
	strata run
	run strata revert
	assert_failure 1
	assert_output --partial 'table "not_there" does not exist'
	assert_output --partial "at migrations/1_a.down.sql:2"
	assert_equal "$(psql_db "SELECT to_regclass('a') IS NOT NULL, (SELECT count(*) FROM _sqlx_migrations)")" "t|1"
}

@test "revert: a no-transaction down file runs outside a transaction" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	write_migration 2_idx.up.sql "-- no-transaction
CREATE INDEX CONCURRENTLY t_id ON t (id);"
	write_migration 2_idx.down.sql "-- no-transaction
DROP INDEX CONCURRENTLY t_id;"
	strata run
	run strata revert
	assert_success
	assert_equal "$(psql_db "SELECT to_regclass('t_id') IS NULL, (SELECT count(*) FROM _sqlx_migrations)")" "t|1"
}

@test "revert: the usage rules" {
	run strata revert --count 2 --all
	assert_failure 2
	run strata revert --count 0
	assert_failure 2
	run strata revert --target-version x
	assert_failure 2
}
