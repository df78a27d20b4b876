#!/usr/bin/env bats
# The non-transactional fence (design.md, The fence): success = false before
# a -- no-transaction migration starts, true when it ends; a failed record
# stops later runs with exit 4 naming the version and the way out.

load lib

@test "fence: a failing no-transaction migration leaves a failed record that blocks later runs" {
	write_migration 1_table.sql "CREATE TABLE t (id int);"
	write_migration 2_indexes.sql "-- no-transaction
CREATE INDEX CONCURRENTLY t_a ON t (id);
CREATE INDEX CONCURRENTLY t_b ON t (no_such_column);"
	write_migration 3_later.sql "CREATE TABLE later (id int);"
	run strata run
	assert_failure 1
	assert_output --partial 'column "no_such_column" does not exist'
	assert_output --partial "at migrations/2_indexes.sql:3"
	assert_output --partial "statement 2"
	assert_output --partial "recorded as failed"
	assert_equal "$(psql_db "SELECT version || ':' || success FROM _sqlx_migrations ORDER BY version")" "1:true
2:false"
	# the first index stayed (no transaction), the later migration did not run
	assert_equal "$(psql_db "SELECT to_regclass('t_a') IS NOT NULL, to_regclass('later') IS NULL")" "t|t"

	run strata run
	assert_failure 4
	assert_output --partial "migration 2 (indexes) is recorded as failed: it may be partly applied"
	assert_output --partial "hint:"
	run strata status
	assert_line --regexp "^2 +failed"
	run strata check
	assert_failure 4
	run strata validate
	assert_failure 4

	# the documented way out: fix the file, undo by hand, remove the record
	write_migration 2_indexes.sql "-- no-transaction
CREATE INDEX CONCURRENTLY t_a ON t (id);
CREATE INDEX CONCURRENTLY t_b ON t ((id * 2));"
	psql_db "DROP INDEX t_a"
	strata repair --retry 2
	run strata run
	assert_success
	assert_line --partial "Applied 2 indexes"
	assert_line --partial "Applied 3 later"
}

@test "fence: a finished no-transaction migration is recorded as success with its time" {
	write_migration 1_vacuum.sql "-- no-transaction
CREATE TABLE v (id int);
VACUUM v;"
	run strata run
	assert_success
	assert_equal "$(psql_db "SELECT success, execution_time > 0 FROM _sqlx_migrations")" "t|t"
}

@test "fence: a seed with its own BEGIN/COMMIT that fails is recorded as failed and rolled back" {
	write_migration 1_table.sql "CREATE TABLE seed (id int PRIMARY KEY);"
	write_migration 2_seed.sql "BEGIN;
INSERT INTO seed VALUES (1);
INSERT INTO seed VALUES (1);
COMMIT;"
	run strata run
	assert_failure 1
	assert_output --partial "duplicate key"
	assert_output --partial "2_seed.sql:3"
	assert_equal "$(psql_db "SELECT count(*) FROM seed")" 0
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" f
	# the connection was not left inside the failed transaction: status works
	run strata status
	assert_success
}
