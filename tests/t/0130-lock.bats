#!/usr/bin/env bats
# The migration lock (design.md, The lock): sqlx's advisory-lock key on a
# dedicated connection, polled, bounded by --lock-wait, the holder named.

load lib

@test "lock: pg_locks shows sqlx's advisory key during a run" {
	write_migration 1_slow.sql "SELECT pg_sleep(3);"
	local key
	key=$(lock_key "$TEST_DB")
	strata run &
	local pid=$!
	local seen=""
	# (beside it, the lock session holds a random key of its own: the
	# check before each COMMIT looks at that one)
	seen=$(await_sql "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND (classid::bigint << 32) | objid::bigint = $key")
	wait "$pid"
	assert_equal "$seen" "$key"
	# released afterwards
	assert_equal "$(psql_db "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0
}

@test "lock: two concurrent runs apply each migration exactly once; the waiter names the holder" {
	write_migration 1_slow.sql "CREATE TABLE counter (n int); INSERT INTO counter VALUES (1); SELECT pg_sleep(2);"
	write_migration 2_more.sql "UPDATE counter SET n = n + 1;"
	strata run >first.out 2>&1 &
	local first=$! held=""
	# the second starts once the first holds the lock and says what it
	# applies (its lock session's name, set once a statement runs a while)
	held=$(await_sql "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted")
	held=$(await_sql "SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'strata: applying 1 slow%'")
	run strata run
	wait "$first"
	assert_success
	assert_output --partial "waiting for the migration lock, held by pid"
	assert_output --partial "(strata, applying 1 slow, for "
	refute_output --partial "pg_stat_progress"
	assert_output --partial "Nothing to apply"
	assert_equal "$(psql_db "SELECT n FROM counter")" 2
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 2
	grep -q "Applied 2 more" first.out
}

@test "lock: --lock-wait runs out with exit 6 naming the holder's pid and query" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	local key
	key=$(lock_key "$TEST_DB")
	psql -XAtq -d "$TEST_DB" -c "SET application_name = 'deployer'" -c "SELECT pg_advisory_lock($key)" -c "SELECT pg_sleep(30)" >/dev/null &
	local holder=$!
	local hpid=""
	hpid=$(await_sql "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l USING (pid) WHERE a.application_name = 'deployer' AND l.locktype = 'advisory' AND l.granted")
	run strata run --lock-wait 1s
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	assert_failure 6
	assert_output --partial "could not take the migration lock"
	assert_output --partial "pid $hpid"
	assert_output --partial "deployer"
	assert_output --partial "pg_sleep"
	assert_equal "$(psql_db "SELECT to_regclass('a') IS NULL")" t
}

@test "lock: SQLite runners serialise on the write lock, each migration once" {
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE a (n INTEGER); INSERT INTO a VALUES (1);"
	local i
	for i in $(seq 2 30); do
		write_migration "${i}_bump.sql" "UPDATE a SET n = n + 1;"
	done
	strata run >r1.out 2>&1 &
	local p1=$!
	strata run >r2.out 2>&1 &
	local p2=$!
	wait "$p1"
	wait "$p2"
	assert_equal "$(sqlite3 "$TEST_SQLITE" 'SELECT n FROM a')" 30
	assert_equal "$(sqlite3 "$TEST_SQLITE" 'SELECT count(*) FROM _sqlx_migrations')" 30
}

@test "lock: a lock-wait timeout is recorded in an existing audit trail" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata run
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	local key
	key=$(lock_key "$TEST_DB")
	psql -XAtq -d "$TEST_DB" -c "SELECT pg_advisory_lock($key)" -c "SELECT pg_sleep(30)" >/dev/null &
	local holder=$! seen=""
	seen=$(await_sql "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = ($key & 4294967295)::oid")
	run strata run --lock-wait 500ms
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	assert_failure 6
	assert_equal "$(psql_db "SELECT action || ':' || outcome FROM _strata_audit WHERE action = 'lock-timeout'")" "lock-timeout:failure"
	run strata history --action lock-timeout --format json
	assert_output --partial "could not take the migration lock"
}
