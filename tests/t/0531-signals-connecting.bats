#!/usr/bin/env bats
# A signal while strata opens a session beside the one that works (the
# monitor session that samples a waiting statement's blockers and
# progress, opened when first needed): the work is cancelled and unwinds
# as after any signal, recorded and reported, not cut short as if the
# whole command were still connecting. The session is held back by a
# relay (helpers/slow-relay) so that the signal lands while it connects.

load lib

setup() {
	new_db
	RELAY_PID=
}

teardown() {
	[[ -z $RELAY_PID ]] || kill "$RELAY_PID" 2>/dev/null || true
}

# DATABASE_URL through a relay that holds "strata monitor" sessions back
# for $1 seconds.
through_slow_monitor() {
	"$STRATA_TEST_DIR/helpers/slow-relay" "$PGHOST/.s.PGSQL.$PGPORT" \
		relay.port "strata monitor" "$1" &
	RELAY_PID=$!
	for ((i = 0; i < 300; i++)); do
		[[ -s relay.port ]] && break
		sleep 0.05
	done
	[[ -s relay.port ]] || fail "the relay did not start"
	export DATABASE_URL="postgresql://postgres@127.0.0.1:$(cat relay.port)/$TEST_DB?sslmode=disable&gssencmode=disable"
}

@test "signals: SIGINT while the monitor session connects still cancels, records and unwinds" {
	through_slow_monitor 20
	write_migration 20240101000000_slow_index.sql "-- no-transaction
CREATE TABLE t (id int);
SELECT pg_sleep(30);
CREATE TABLE never (id int);"
	env --default-signal "$STRATA_BIN" run >strata.out 2>&1 &
	STRATA_PID=$!
	await_sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'strata' AND state = 'active' AND query LIKE '%pg_sleep(30)%'" >/dev/null
	# the monitor session is asked for at the first progress tick
	sleep 1
	kill -INT "$STRATA_PID"
	rc=0
	t0=$(date +%s%N)
	timeout 15 tail -s 0.05 --pid="$STRATA_PID" -f /dev/null || fail "strata still running 15 s after the signal"
	wait "$STRATA_PID" || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	cat strata.out
	assert_equal "$rc" 130
	((ms < 2500)) || fail "exit took $ms ms"
	run grep -c "interrupted while connecting" strata.out
	assert_output 0
	grep -q "^strata: interrupted: cancelled 20240101000000 slow index while running statement 2 (line 3); recorded as failed, see strata repair$" strata.out
	assert_equal "$(psql_db "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'")" 0
	assert_equal "$(psql_db "SELECT version, success FROM _sqlx_migrations")" "20240101000000|f"
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'apply' AND outcome <> 'success' AND sqlstate = '57014'")" 1
}
