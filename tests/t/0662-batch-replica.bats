#!/usr/bin/env bats
# A batch migration's max-lag: while a streaming standby's replay lags
# more than it, strata waits between batches and says why; it goes on
# once the standby replays again. The standby is a second cluster made
# with pg_basebackup -R from this file's, on its own socket.

load lib
load standby

setup_file() {
	pg_start
	require_pg
	standby_start 'wal_receiver_status_interval = 1s'
}

teardown_file() {
	standby_stop
	pg_stop
}

@test "max-lag: strata waits while the standby's replay is paused, says so, and goes on after it resumes" {
	write_migration 1_t.sql "CREATE TABLE t (id bigserial PRIMARY KEY, old int NOT NULL, new_field int, n int NOT NULL DEFAULT 0);
INSERT INTO t (old) SELECT g FROM generate_series(1, 30000) g;"
	strata -q run --target-version 1
	# the standby has the table: it streams
	for _ in $(seq 1 100); do
		[[ $(standby_sql "SELECT count(*) FROM t" 2>/dev/null) == 30000 ]] && break
		sleep 0.1
	done
	assert_equal "$(standby_sql "SELECT count(*) FROM t")" 30000
	standby_sql "SELECT pg_wal_replay_pause()"
	write_migration 2_backfill.sql "-- strata:batch size=100 target=5ms pause=100ms max-lag=300ms
UPDATE t SET new_field = old * 2, n = n + 1
 WHERE id IN (SELECT id FROM t WHERE new_field IS NULL LIMIT :batch_size);"
	strata run --progress-interval 0.5 >run.out 2>&1 &
	pid=$!
	# it waits, saying why, with rows still to do
	for _ in $(seq 1 200); do
		grep -q "waits: a standby's replay lag" run.out && break
		sleep 0.1
	done
	run cat run.out
	assert_output --partial "waits: a standby's replay lag is"
	assert_output --partial "above max-lag 0.3 s"
	sleep 1
	left=$(psql_db "SELECT count(*) FROM t WHERE new_field IS NULL")
	[[ $left -gt 0 ]]
	sleep 1
	# no batch meanwhile
	assert_equal "$(psql_db "SELECT count(*) FROM t WHERE new_field IS NULL")" "$left"
	kill -0 "$pid"
	standby_sql "SELECT pg_wal_replay_resume()"
	wait "$pid"
	run cat run.out
	assert_output --regexp "Applied 2 backfill \([^)]*\): 30000 rows in [0-9]+ batches"
	assert_equal "$(psql_db "SELECT count(*) FROM t WHERE n <> 1")" 0
}
