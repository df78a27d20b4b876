#!/usr/bin/env bats
# SIGINT, SIGTERM and SIGHUP: the statement running is cancelled on the
# server (not left running, holding its locks, until the server next reads
# from a vanished client), the history is left as the crash model says, the
# migration lock is released, one line says what was cancelled, and strata
# exits 128 + the signal. A second signal exits at once.

load lib

# strata ARGS in the background, as a user's shell runs it: STRATA_PID.
# (A shell without job control starts background commands with SIGINT
# ignored, and strata leaves an ignored signal ignored, as nohup wants.)
start_strata() {
	env --default-signal "$STRATA_BIN" "$@" >strata.out 2>&1 &
	STRATA_PID=$!
}

# Waits for STRATA_PID to exit, at most $1 seconds (else kills it and
# fails): STRATA_RC, and STRATA_MS from when it was called.
await_exit() {
	local limit=$1 t0 i
	t0=$(date +%s%N)
	for ((i = 0; i < limit * 20; i++)); do
		kill -0 "$STRATA_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$STRATA_PID" 2>/dev/null; then
		kill -9 "$STRATA_PID"
		wait "$STRATA_PID" 2>/dev/null || true
		cat strata.out >&2
		fail "strata still running ${limit}s after the signal"
	fi
	STRATA_RC=0
	wait "$STRATA_PID" || STRATA_RC=$?
	STRATA_MS=$((($(date +%s%N) - t0) / 1000000))
}

# Right after strata exited: none of its statements runs on the server,
# no advisory lock is held.
assert_nothing_left() {
	assert_equal "$(psql_db "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'")" 0
	assert_equal "$(psql_db "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0
}

await_active() {
	await_sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'strata' AND state = 'active' AND query LIKE '%$1%' AND pid <> pg_backend_pid()" >/dev/null
}

# strata run, signalled SIG once its pg_sleep(30) runs: it exits CODE
# within 2.5 s, leaving nothing running.
interrupt_run() {
	local sig=$1 code=$2
	start_strata run
	await_active 'pg_sleep(30)'
	kill -"$sig" "$STRATA_PID"
	await_exit 10
	cat strata.out
	assert_equal "$STRATA_RC" "$code"
	echo "# SIG$sig: exit $code ${STRATA_MS} ms after the signal" >&3
	((STRATA_MS < 2500)) || fail "exit took ${STRATA_MS} ms"
	assert_nothing_left
}

interrupt_txn() {
	local sig=$1 code=$2
	write_migration 20240101000000_add_index.sql "CREATE TABLE t (id int);
SELECT pg_sleep(30);"
	interrupt_run "$sig" "$code"
	grep -q "^strata: interrupted: cancelled 20240101000000 add index while running statement 2 (line 2); rolled back$" strata.out
	# rolled back: no table, no history row
	assert_equal "$(psql_db "SELECT to_regclass('t') IS NULL, count(*) FROM _sqlx_migrations")" "t|0"
}

@test "signals: SIGINT cancels a transactional migration's statement, rolls back, exits 130" {
	interrupt_txn INT 130
	# the failure is in the audit trail
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'apply' AND outcome <> 'success' AND sqlstate = '57014'")" 1
}

@test "signals: among many migrations sent at once, SIGINT cancels the one running; those before stay applied" {
	for v in $(seq 1 30); do
		write_migration "${v}_quick.sql" "SELECT $v; SELECT $v;"
	done
	write_migration 31_slow.sql "SELECT 1;
SELECT pg_sleep(30);"
	for v in $(seq 32 60); do
		write_migration "${v}_quick.sql" "SELECT $v;"
	done
	interrupt_run INT 130
	grep -q "^strata: interrupted: cancelled 31 slow while running statement 2 (line 2); rolled back$" strata.out
	assert_equal "$(psql_db "SELECT count(*), max(version) FROM _sqlx_migrations")" "30|30"
}

@test "signals: SIGTERM exits 143, SIGHUP 129, nothing left running" {
	interrupt_txn TERM 143
	new_db
	interrupt_txn HUP 129
}

@test "signals: a no-transaction migration interrupted stays recorded as failed" {
	write_migration 20240101000000_slow_index.sql "-- no-transaction
CREATE TABLE t (id int);
SELECT pg_sleep(30);
CREATE TABLE never (id int);"
	interrupt_run INT 130
	grep -q "^strata: interrupted: cancelled 20240101000000 slow index while running statement 2 (line 3); recorded as failed, see strata repair$" strata.out
	# the crash model: recorded failed before it started, and stays so
	assert_equal "$(psql_db "SELECT version, success FROM _sqlx_migrations")" "20240101000000|f"
	assert_equal "$(psql_db "SELECT to_regclass('t') IS NOT NULL, to_regclass('never') IS NULL")" "t|t"
	run strata check
	assert_failure 4
}

@test "signals: a revert interrupted is rolled back and stays applied" {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;
SELECT pg_sleep(30);"
	strata run
	start_strata revert
	await_active 'pg_sleep(30)'
	kill -INT "$STRATA_PID"
	await_exit 10
	cat strata.out
	assert_equal "$STRATA_RC" 130
	assert_nothing_left
	grep -q "^strata: interrupted: cancelled 1 a while running statement 2 (line 2); rolled back$" strata.out
	assert_equal "$(psql_db "SELECT version, success, to_regclass('a') IS NOT NULL FROM _sqlx_migrations")" "1|t|t"
}

# The backend of strata's statement stopped (SIGSTOP): it cannot act on a
# cancel request until it is continued. BACKEND_PID.
stop_backend() {
	[[ $(id -u) == 0 ]] || skip "needs root to stop the server's backend"
	BACKEND_PID=$(await_sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'strata' AND state = 'active' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()")
	kill -STOP "$BACKEND_PID"
}

# Continued, the backend acts on the cancel request it was sent: the
# statement ends and the server rolls back.
assert_statement_ends() {
	kill -CONT "$BACKEND_PID"
	await_sql "SELECT 'ended' WHERE NOT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active')" >/dev/null
	assert_equal "$(psql_db "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 0
}

@test "signals: a second SIGINT exits at once, its statement cancelled all the same" {
	write_migration 1_slow.sql "SELECT pg_sleep(30);"
	start_strata run
	stop_backend
	kill -INT "$STRATA_PID"
	sleep 0.5
	# still waiting for the statement to end
	kill -0 "$STRATA_PID" || { kill -CONT "$BACKEND_PID"; fail "strata did not wait"; }
	kill -INT "$STRATA_PID"
	await_exit 5
	cat strata.out
	assert_equal "$STRATA_RC" 130
	((STRATA_MS < 500)) || fail "exit took ${STRATA_MS} ms"
	grep -q "^strata: interrupted again: exiting without waiting for the rollback; 'strata status' shows what was committed$" strata.out
	assert_statement_ends
}

@test "signals: a cancel that does not take exits after a grace period" {
	write_migration 1_slow.sql "SELECT pg_sleep(30);"
	start_strata run
	stop_backend
	kill -INT "$STRATA_PID"
	await_exit 10
	cat strata.out
	assert_equal "$STRATA_RC" 130
	((STRATA_MS >= 4500 && STRATA_MS < 7000)) || fail "exit took ${STRATA_MS} ms"
	grep -q "did not end in time; exiting (the server rolls back what was not committed; 'strata status' shows what was)$" strata.out
	assert_statement_ends
}

@test "signals: the wait for the migration lock ends at once" {
	local holder
	# the holder: another strata, busy with a slow migration
	write_migration 1_slow.sql "SELECT pg_sleep(30);"
	env --default-signal "$STRATA_BIN" run >holder.out 2>&1 &
	holder=$!
	await_active 'pg_sleep(30)'
	start_strata run --lock-wait 60s
	await_sql "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'strata' AND query LIKE '%pg_try_advisory_lock%' AND pid <> pg_backend_pid()" >/dev/null
	sleep 0.3
	kill -INT "$STRATA_PID"
	await_exit 5
	kill -INT "$holder"
	wait "$holder" || true
	cat strata.out
	assert_equal "$STRATA_RC" 130
	((STRATA_MS < 1000)) || fail "exit took ${STRATA_MS} ms"
	grep -q "^strata: interrupted: cancelled while waiting for the migration lock$" strata.out
	assert_nothing_left
}

@test "signals: a statement waiting for a table lock is cancelled" {
	psql_db "CREATE TABLE t (id int)"
	write_migration 1_alter.sql "ALTER TABLE t ADD COLUMN n int;"
	hold_lock 30
	start_strata run --lock-timeout 60s --lock-probe 0
	await_sql "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'strata' AND wait_event_type = 'Lock'" >/dev/null
	kill -TERM "$STRATA_PID"
	await_exit 5
	release_holder
	cat strata.out
	assert_equal "$STRATA_RC" 143
	((STRATA_MS < 2500)) || fail "exit took ${STRATA_MS} ms"
	assert_nothing_left
	grep -q "^strata: interrupted: cancelled 1 alter while running statement 1 (line 1); rolled back$" strata.out
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 0
}

@test "signals: backup's pg_dump is ended and no backup is left as if complete" {
	psql_db "CREATE TABLE t (id int); INSERT INTO t VALUES (1)"
	hold_lock 30
	start_strata backup
	# pg_dump or strata's own row count waits on the lock
	await_sql "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name <> 'long-report'" >/dev/null
	sleep 0.3
	kill -TERM "$STRATA_PID"
	await_exit 5
	release_holder
	cat strata.out
	assert_equal "$STRATA_RC" 143
	((STRATA_MS < 2500)) || fail "exit took ${STRATA_MS} ms"
	assert_nothing_left
	# no pg_dump left behind
	run pgrep -f "pg_dump.*$TEST_DB"
	assert_failure
	# nothing that looks like a backup, complete or not
	run find backups -type f
	assert_output ""
}

@test "signals: SQLite: a long statement is interrupted and rolled back" {
	sqlite_db
	write_migration 1_long.sql "CREATE TABLE a (id int);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) SELECT count(*) FROM c;"
	start_strata run
	sleep 1
	kill -INT "$STRATA_PID"
	await_exit 5
	cat strata.out
	assert_equal "$STRATA_RC" 130
	((STRATA_MS < 1500)) || fail "exit took ${STRATA_MS} ms"
	grep -q "^strata: interrupted: cancelled 1 long while running statement 2 (line 2); rolled back$" strata.out
	assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_master WHERE name = 'a'")" 0
	assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM _sqlx_migrations")" 0
}

@test "signals: SQLite: a backup stops and leaves nothing behind" {
	sqlite_db
	# 400 MB: the copy takes a while
	sqlite3 "$TEST_SQLITE" "CREATE TABLE b (x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 400000) INSERT INTO b SELECT randomblob(1000) FROM c;"
	start_strata backup
	sleep 0.3
	kill -TERM "$STRATA_PID"
	await_exit 5
	cat strata.out
	assert_equal "$STRATA_RC" 143
	grep -q "^strata: interrupted: cancelled the backup$" strata.out
	run find backups -type f
	assert_output ""
}
