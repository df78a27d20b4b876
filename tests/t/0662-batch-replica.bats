#!/usr/bin/env bats
# A batch migration's max-lag: while a streaming standby's replay lags
# more than it, strata waits between batches and says why; it goes on
# once the standby replays again. The standby is a second cluster made
# with pg_basebackup -R from this file's, on its own socket.

load lib

setup_file() {
	pg_start
	require_pg
	standby=$STRATA_TEST_CLUSTER_DIR/standby
	standby_sock=$STRATA_TEST_CLUSTER_DIR/standby-sock
	mkdir -p "$standby_sock"
	if [[ -n $STRATA_TEST_CLUSTER_RUNAS ]]; then
		chown "$STRATA_TEST_CLUSTER_RUNAS:" "$standby_sock"
	fi
	standby_port=$((STRATA_TEST_CLUSTER_PORT + 1))
	(cd "$STRATA_TEST_CLUSTER_DIR" && _pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_basebackup" \
		-D "$standby" -R -X stream -h "$STRATA_TEST_CLUSTER_SOCK" \
		-p "$STRATA_TEST_CLUSTER_PORT" -U postgres) >&2
	cat >>"$standby/postgresql.conf" <<-EOF
		unix_socket_directories = '$standby_sock'
		port = $standby_port
		wal_receiver_status_interval = 1s
	EOF
	(cd "$STRATA_TEST_CLUSTER_DIR" && _strata_close_fds &&
		_pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_ctl" -D "$standby" \
			-l "$STRATA_TEST_CLUSTER_DIR/standby.log" -w -t 60 -s start) </dev/null >&2
	export STANDBY_DATA=$standby STANDBY_SOCK=$standby_sock STANDBY_PORT=$standby_port
}

teardown_file() {
	if [[ -n ${STANDBY_DATA:-} && -f $STANDBY_DATA/postmaster.pid ]]; then
		(cd "$STRATA_TEST_CLUSTER_DIR" && _pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_ctl" \
			-D "$STANDBY_DATA" -m immediate -w -t 30 stop) >/dev/null 2>&1 || true
	fi
	pg_stop
}

standby_sql() {
	psql -X -At -v ON_ERROR_STOP=1 -h "$STANDBY_SOCK" -p "$STANDBY_PORT" -d "$TEST_DB" -c "$1"
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
