#!/usr/bin/env bats
# The first look at a statement still running (its blocker and phase, on
# the monitor session) is taken only when the statement waits on a lock:
# a slow one that waits on nothing (a loaded server) costs the monitor
# session nothing, while a blocked one is named as before.

load lib

@test "first look: migrations slower than it but waiting on nothing are not looked at" {
	psql_db "ALTER DATABASE \"$TEST_DB\" SET log_statement = 'all'" >/dev/null
	local i from
	for i in 1 2 3 4 5; do
		write_migration "${i}_m$i.sql" "CREATE TABLE t$i (id int); SELECT pg_sleep(0.03);"
	done
	from=$(log_from)
	strata run
	echo "# waits asked: $(logged "$from" pg_stat_get_activity), blockers sampled: $(logged "$from" pg_blocking_pids)" >&3
	# each was asked whether it waits (the probe's lock_timeout makes the
	# first look 11 ms in), and none was looked at
	assert_equal "$(logged "$from" pg_blocking_pids)" 0
	assert [ "$(logged "$from" pg_stat_get_activity)" -ge 1 ]
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 5
}

@test "first look: a migration waiting on a lock is looked at, its blocker named" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	hold_lock 30
	run strata run --lock-timeout 300ms --retries 1
	release_holder
	assert_failure 6
	# while it waits (a probe of 20 ms may end before its look is back
	# on a loaded machine; the last attempt waits 300 ms), and in the error
	assert_output --partial "waiting on pid $HOLDER_PID"
	assert_output --partial "Blocked by pid $HOLDER_PID (user 'postgres', application 'long-report'"
}
