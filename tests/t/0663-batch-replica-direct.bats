#!/usr/bin/env bats
# --replica URL: a batch migration's max-lag is measured on the standby
# itself, by WAL position (the age of the oldest batch it has not
# replayed), not read from the primary's pg_stat_replication. The
# standby is made as in 0662: pg_basebackup -R from this file's cluster,
# on its own socket.

load lib
load standby

setup_file() {
	pg_start
	require_pg
	standby_start
}

teardown_file() {
	standby_stop
	pg_stop
}

teardown() {
	# a test that failed half way leaves no standby paused for the next
	standby_sql "SELECT pg_wal_replay_resume()" >/dev/null 2>&1 || true
}

# the standby's URL for this test's database; $1: a password to put in it
standby_url() {
	echo "postgresql://postgres${1:+:$1}@/$TEST_DB?host=$STANDBY_SOCK&port=$STANDBY_PORT"
}

# a table of $1 rows on both servers, and replay paused on the standby
paused_standby() {
	write_migration 1_t.sql "CREATE TABLE t (id bigserial PRIMARY KEY, old int NOT NULL, new_field int, n int NOT NULL DEFAULT 0);
INSERT INTO t (old) SELECT g FROM generate_series(1, $1) g;"
	strata -q run --target-version 1
	for _ in $(seq 1 100); do
		[[ $(standby_sql "SELECT count(*) FROM t" 2>/dev/null) == "$1" ]] && break
		sleep 0.1
	done
	assert_equal "$(standby_sql "SELECT count(*) FROM t")" "$1"
	standby_sql "SELECT pg_wal_replay_pause()"
}

backfill() {
	write_migration 2_backfill.sql "-- strata:batch size=50 target=5ms ${1:-pause=100ms max-lag=200ms}
UPDATE t SET new_field = old * 2, n = n + 1
 WHERE id IN (SELECT id FROM t WHERE new_field IS NULL LIMIT :batch_size);"
}

# until run.out says $1 (10 s)
await_output() {
	for _ in $(seq 1 100); do
		grep -qF -- "$1" run.out && return 0
		sleep 0.1
	done
	cat run.out >&2
	return 1
}

@test "--replica: a paused standby holds the batches, named, until it replays again" {
	paused_standby 2000
	backfill
	strata run --replica "$(standby_url)" --progress-interval 0.3 >run.out 2>&1 &
	pid=$!
	await_output "waits: replica 'postgresql://postgres@/$TEST_DB?host=$STANDBY_SOCK&port=$STANDBY_PORT' is"
	run cat run.out
	assert_output --regexp "is [0-9.]+ s behind, above max-lag 0.2 s"
	left=$(psql_db "SELECT count(*) FROM t WHERE new_field IS NULL")
	[[ $left -gt 0 ]]
	sleep 1
	# no batch meanwhile
	assert_equal "$(psql_db "SELECT count(*) FROM t WHERE new_field IS NULL")" "$left"
	kill -0 "$pid"
	standby_sql "SELECT pg_wal_replay_resume()"
	wait "$pid"
	run cat run.out
	assert_output --regexp "Applied 2 backfill \([^)]*\): 2000 rows in [0-9]+ batches"
	assert_equal "$(psql_db "SELECT count(*) FROM t WHERE n <> 1")" 0
}

@test "--replica that is not a standby is refused before anything runs" {
	write_migration 1_t.sql "CREATE TABLE t (id bigserial PRIMARY KEY, old int NOT NULL, new_field int);"
	backfill
	run strata run --replica "$(pg_url "$TEST_DB")"
	assert_failure 2
	assert_output --partial "replica 'postgresql:///$TEST_DB?host="
	assert_output --partial "is not a standby: it is not in recovery"
	# nothing ran, not even the migration before the batch one
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE tablename = 't'")" 0
	# one that cannot be reached, likewise
	run strata run --replica "postgresql://postgres@/$TEST_DB?host=$BATS_TEST_TMPDIR&port=1"
	assert_failure
	assert_output --partial "replica: could not connect to 'postgresql://postgres@/$TEST_DB?host="
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE tablename = 't'")" 0
	# without a batch migration pending, a replica is not looked at
	rm migrations/2_backfill.sql
	strata -q run --replica "postgresql://postgres@/$TEST_DB?host=$BATS_TEST_TMPDIR&port=1"
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE tablename = 't'")" 1
}

@test "replica = of strata.conf's environment: its password never shows" {
	paused_standby 1000
	backfill
	cat >strata.conf <<-EOF
		[strata]
		environment = prod
		[environment.prod]
		replica = $(standby_url pw-s3cr3t-x)
	EOF
	strata run --progress-interval 0.3 >run.out 2>&1 &
	pid=$!
	await_output "waits: replica 'postgresql://postgres:***@/$TEST_DB?"
	standby_sql "SELECT pg_wal_replay_resume()"
	wait "$pid"
	run cat run.out
	assert_output --regexp "Applied 2 backfill \([^)]*\): 1000 rows in [0-9]+ batches"
	refute_output --partial "pw-s3cr3t-x"
	# nor in an error, nor in the audit trail's command line
	run strata run --replica "$(pg_url "$TEST_DB")&password=pw-s3cr3t-x"
	refute_output --partial "pw-s3cr3t-x"
	run psql_db "SELECT string_agg(command, ' ') FROM _strata_audit"
	refute_output --partial "pw-s3cr3t-x"
}

@test "--replica and a batch migration without max-lag: it says it does not wait for them" {
	write_migration 1_t.sql "CREATE TABLE t (id int);
INSERT INTO t SELECT g FROM generate_series(1, 10) g;"
	write_migration 2_purge.sql "-- strata:batch size=5
DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT :batch_size);"
	# the standby has replayed this test's CREATE DATABASE
	for _ in $(seq 1 100); do
		standby_sql "SELECT 1" >/dev/null 2>&1 && break
		sleep 0.1
	done
	run strata run --replica "$(standby_url)"
	assert_success
	assert_output --partial "warning: batch migration 2 sets no max-lag: it does not wait for the replicas given"
	assert_equal "$(psql_db "SELECT count(*) FROM t")" 0
}

@test "the progress line shows the statement as the file writes it: :batch_size, not \$1" {
	write_migration 1_t.sql "CREATE TABLE t (id int);
INSERT INTO t SELECT g FROM generate_series(1, 300) g;"
	write_migration 2_purge.sql "-- strata:batch size=50 target=1s pause=150ms
DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT :batch_size);"
	run strata run --progress-interval 0.1
	assert_success
	assert_output --partial "Still applying 2 purge"
	assert_output --partial ": DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT :batch_size);"
	refute_output --partial "LIMIT \$1"
}

@test "max-active: batches wait while more other sessions run a query, saying so" {
	write_migration 1_t.sql "CREATE TABLE t (id int);
INSERT INTO t SELECT g FROM generate_series(1, 200) g;"
	write_migration 2_purge.sql "-- strata:batch max-active=0
DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT :batch_size);"
	run strata run
	assert_failure
	assert_output --partial "invalid option 'max-active=0' of -- strata:batch"
	write_migration 2_purge.sql "-- strata:batch size=50 target=1s max-active=1
DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT :batch_size);"
	strata -q run --target-version 1
	psql_db "SELECT pg_sleep(2)" >/dev/null &
	s1=$!
	psql_db "SELECT pg_sleep(2)" >/dev/null &
	s2=$!
	await_sql "SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(2)' HAVING count(*) = 2"
	strata run --progress-interval 0.3 >run.out 2>&1 &
	pid=$!
	await_output "waits: 2 other sessions are running a query, above max-active 1"
	# no batch meanwhile
	assert_equal "$(psql_db "SELECT count(*) FROM t")" 200
	wait "$s1" "$s2"
	wait "$pid"
	run cat run.out
	assert_output --regexp "Applied 2 purge \([^)]*\): 200 rows in [0-9]+ batches"
}

@test "max-active: a role that cannot see others' sessions is told so, and runs" {
	psql_db "CREATE ROLE batch_app LOGIN; ALTER DATABASE \"$TEST_DB\" OWNER TO batch_app"
	write_migration 1_t.sql "CREATE TABLE t (id int);
INSERT INTO t SELECT g FROM generate_series(1, 100) g;"
	write_migration 2_purge.sql "-- strata:batch size=50 max-active=1
DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT :batch_size);"
	psql_db "SELECT pg_sleep(2)" >/dev/null &
	s1=$!
	await_sql "SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(2)'"
	run strata run -d "postgresql:///$TEST_DB?host=$PGHOST&port=$PGPORT&user=batch_app"
	wait "$s1"
	psql_db "DROP OWNED BY batch_app; ALTER DATABASE \"$TEST_DB\" OWNER TO postgres; DROP ROLE batch_app" || true
	assert_success
	assert_output --regexp "max-active cannot see whether [0-9]+ sessions of other roles run a query, and counts only those it sees \(grant this role pg_read_all_stats to count them all\)"
}

# last: it stops the standby
@test "a standby that stops answering holds the batches, then stops them, recorded failed and resumable" {
	paused_standby 2000
	write_migration 2_backfill.sql "-- strata:batch size=50 target=5ms pause=100ms max-lag=10s
-- strata:statement-timeout=2s
UPDATE t SET new_field = old * 2, n = n + 1
 WHERE id IN (SELECT id FROM t WHERE new_field IS NULL LIMIT :batch_size);"
	strata run --replica "$(standby_url)" --progress-interval 0.3 >run.out 2>&1 &
	pid=$!
	sleep 0.3
	(cd "$STRATA_TEST_CLUSTER_DIR" && _pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_ctl" \
		-D "$STANDBY_DATA" -m immediate -w -t 30 stop) >&2
	await_output "does not answer"
	status=0
	wait "$pid" || status=$?
	[[ $status -ne 0 ]]
	run cat run.out
	assert_output --partial "has not answered for"
	assert_output --partial "recorded as failed"
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" f
	# resumable: without the lost standby, it goes on and ends
	strata -q run
	assert_equal "$(psql_db "SELECT count(*) FROM t WHERE n <> 1")" 0
}
