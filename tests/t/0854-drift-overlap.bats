#!/usr/bin/env bats
# strata drift dumps the database while the shadow is built: its pg_dump
# runs beside the shadow's migrations, and is ended and reaped when drift
# fails or is interrupted (SIGINT, SIGTERM), with no shadow database left;
# the pg_dump found for it serves the shadow's dump too.

load lib

assert_no_shadow() {
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname LIKE 'strata\_shadow\_%'")" 0
}

# A session of ours holding table t of the database, so that drift's
# pg_dump of it waits for its lock for as long as the test needs.
hold_t() {
	_pg_psql -d "$TEST_DB" -c "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" >/dev/null 2>&1 &
	HOLDER=$!
	await_sql "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 't' AND l.mode = 'AccessExclusiveLock' AND l.granted" >/dev/null
}

release_t() {
	psql_db "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$TEST_DB' AND query LIKE '%LOCK TABLE t%' AND pid <> pg_backend_pid()" >/dev/null
	wait "$HOLDER" || true
}

# The pg_dump that `pid` (strata) started, once it waits for t's lock
# while the shadow's migration runs: both at once.
await_both() {
	await_sql "SELECT 1 FROM pg_stat_activity a, pg_stat_activity b WHERE a.datname = '$TEST_DB' AND a.application_name = 'pg_dump' AND a.wait_event_type = 'Lock' AND b.datname LIKE 'strata\_shadow\_%' AND b.query LIKE '%pg_sleep%' AND b.state = 'active'" >/dev/null || return 1
	DUMP_PID=$(pgrep -P "$1" -x pg_dump)
	[[ -n $DUMP_PID ]] || fail "no pg_dump child of strata ($1)"
}

# Neither the pg_dump process nor its session is left.
assert_no_dump() {
	if [[ -e /proc/$DUMP_PID ]] && [[ $(cat "/proc/$DUMP_PID/comm" 2>/dev/null) == pg_dump ]]; then
		fail "pg_dump (pid $DUMP_PID) is still there: $(cat "/proc/$DUMP_PID/status" | head -3)"
	fi
	await_sql "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = '$TEST_DB' AND application_name = 'pg_dump')" >/dev/null
}

@test "drift: the database's pg_dump runs while the shadow is built; SIGINT or SIGTERM ends it and drops the shadow" {
	write_migration 1_slow.sql "CREATE TABLE t (id int);
SELECT pg_sleep(CASE WHEN current_database() LIKE 'strata\_shadow\_%' THEN 30 ELSE 0 END);"
	strata run >/dev/null
	local sig code pid rc
	for sig in INT:130 TERM:143; do
		code=${sig#*:} sig=${sig%:*} rc=0
		hold_t
		env --default-signal "$STRATA_BIN" drift >drift.out 2>&1 &
		pid=$!
		await_both "$pid"
		kill -"$sig" "$pid"
		wait "$pid" || rc=$?
		cat drift.out
		assert_equal "$rc" "$code"
		assert_no_dump
		assert_no_shadow
		release_t
	done
}

@test "drift: a migration failing on the shadow ends the database's pg_dump at once, whatever it waits for" {
	write_migration 1_t.sql "CREATE TABLE t (id int);
SELECT pg_sleep(CASE WHEN current_database() LIKE 'strata\_shadow\_%' THEN 1 ELSE 0 END);
SELECT 1 / (CASE WHEN current_database() LIKE 'strata\_shadow\_%' THEN 0 ELSE 1 END);"
	strata run >/dev/null
	hold_t
	local pid rc=0 t0=$SECONDS
	"$STRATA_BIN" drift >drift.out 2>&1 &
	pid=$!
	await_both "$pid"
	wait "$pid" || rc=$?
	cat drift.out
	assert_equal "$rc" 1
	grep -q "division by zero" drift.out || fail "the shadow's error is not named"
	# not the 60 s pg_dump would wait for t's lock
	((SECONDS - t0 < 20)) || fail "drift took $((SECONDS - t0)) s"
	assert_no_dump
	assert_no_shadow
	release_t
}

@test "drift: pg_dump is looked for and asked its version once, for both dumps of a server's major version" {
	command -v strace >/dev/null || skip "strace is not installed"
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run >/dev/null
	# LeakSanitizer cannot run under ptrace
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		run strace -f -qq -e trace=execve -e signal=none -o "$BATS_TEST_TMPDIR/trace" "$STRATA_BIN" drift
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'pg_dump", \[.*"--version"' "$BATS_TEST_TMPDIR/trace")" = 1 ]
	[ "$(grep -c 'pg_dump", \[.*"--schema-only"' "$BATS_TEST_TMPDIR/trace")" = 2 ]
}
