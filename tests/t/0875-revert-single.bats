#!/usr/bin/env bats
# strata revert --single-transaction: every migration reverted in one
# transaction, all or nothing, with run --single-transaction's fence
# (nothing fenced can be part of it) and its retries of the whole.

load lib

three() {
	local i
	for i in 1 2 3; do
		write_migration "${i}_t$i.up.sql" "CREATE TABLE t$i (id int);"
		write_migration "${i}_t$i.down.sql" "DROP TABLE t$i;"
	done
	strata run
}

reverts_all() {
	three
	run strata revert --all --single-transaction
	assert_success
	assert_output --partial "Reverted 3 migrations."
	assert_equal "$(query_db 'SELECT count(*) FROM _sqlx_migrations')" 0
	assert_equal "$(query_db "SELECT count(*) FROM _strata_audit WHERE action = 'revert' AND outcome = 'success'")" 3
	run strata run
	assert_success
	assert_equal "$(query_db 'SELECT count(*) FROM _sqlx_migrations')" 3
}

@test "revert --single-transaction: every one reverted, each recorded" {
	for_each_driver reverts_all
}

none_on_failure() {
	three
	# the second to revert fails on its second statement
	write_migration 2_t2.down.sql "DROP TABLE t2;
DROP TABLE no_such_table;"
	# (its checksum is the up file's: a down file may change)
	run strata revert --all --single-transaction
	assert_failure
	assert_output --partial "2_t2.down.sql:2"
	assert_output --partial "The whole revert was rolled back (a single-transaction revert): nothing was reverted."
	# nothing reverted: the first one's revert rolled back with it
	assert_equal "$(query_db 'SELECT count(*) FROM _sqlx_migrations')" 3
	assert_equal "$(query_db "SELECT count(*) FROM _strata_audit WHERE action = 'revert' AND outcome = 'success'")" 0
	assert_equal "$(query_db "SELECT count(*) FROM _strata_audit WHERE action = 'revert' AND outcome = 'failure' AND version = 2")" 1
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_equal "$(psql_db "SELECT to_regclass('t3') IS NOT NULL, to_regclass('t2') IS NOT NULL")" "t|t"
	else
		assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_master WHERE name IN ('t2', 't3')")" 2
	fi
	# per migration, the newest goes before the failure stops the rest
	run strata revert --all
	assert_failure
	assert_equal "$(query_db 'SELECT version FROM _sqlx_migrations ORDER BY version' | paste -sd,)" "1,2"
}

@test "revert --single-transaction: a failing down file reverts nothing" {
	for_each_driver none_on_failure
}

@test "revert --single-transaction: a down file outside a transaction is refused before anything runs" {
	three
	write_migration 2_t2.down.sql $'-- no-transaction\nDROP TABLE t2;'
	run strata revert --all --single-transaction
	assert_failure
	assert_output --partial "'migrations/2_t2.down.sql' cannot be part of a single-transaction run"
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 3
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'revert'")" 0
}

@test "revert --single-transaction: a lost lock race runs the whole revert again" {
	write_migration 1_t.up.sql "CREATE TABLE t (id int);"
	write_migration 1_t.down.sql "DROP TABLE t;"
	write_migration 2_other.up.sql "CREATE TABLE other (id int);"
	write_migration 2_other.down.sql "DROP TABLE other;"
	write_migration 3_alter.up.sql "ALTER TABLE t ADD COLUMN c int;"
	write_migration 3_alter.down.sql "ALTER TABLE t DROP COLUMN c;"
	strata run
	hold_lock 1.5
	run strata revert --count 2 --single-transaction --lock-timeout 400ms --retries 8
	wait "$HOLDER_JOB" || true
	assert_success
	assert_output --partial "the whole revert: canceling statement due to lock timeout (SQLSTATE 55P03): attempt 2"
	assert_equal "$(psql_db "SELECT string_agg(version::text, ',' ORDER BY version) FROM _sqlx_migrations")" "1"
	assert_equal "$(psql_db "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'c'")" 0
}

@test "revert --single-transaction --dry-run reverts nothing" {
	three
	run strata revert --all --single-transaction --dry-run
	assert_success
	assert_output --partial "3 migrations would be reverted (dry run)."
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 3
}
