#!/usr/bin/env bats
# strata check --wait: the one-line start-up gate. It waits, quietly, for
# the migration job (a database not there yet, migrations pending) and
# exits 0 once the database is up to date, or as check does at the
# deadline.

load lib

two_migrations() {
	write_migration 1_users.sql "CREATE TABLE users (id int);"
	write_migration 2_orders.sql "CREATE TABLE orders (id int);"
}

# check --wait in the background: its output in $BATS_TEST_TMPDIR/wait.out,
# its pid in WAIT_PID.
start_wait() {
	strata check --wait "$@" >"$BATS_TEST_TMPDIR/wait.out" 2>&1 3>&- &
	WAIT_PID=$!
}

# Its exit code in WAIT_RC, within $1 seconds.
wait_exit() {
	local i rc=0
	for i in $(seq 1 $(($1 * 20))); do
		kill -0 "$WAIT_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$WAIT_PID" 2>/dev/null; then
		kill -KILL "$WAIT_PID"
		fail "check --wait still ran after $1 s: $(cat "$BATS_TEST_TMPDIR/wait.out")"
	fi
	wait "$WAIT_PID" || rc=$?
	WAIT_RC=$rc
}

gate_opens() {
	two_migrations
	start_wait 60s
	sleep 1.5
	kill -0 "$WAIT_PID" || fail "check --wait did not wait: $(cat "$BATS_TEST_TMPDIR/wait.out")"
	# quiet while it waits
	[[ ! -s $BATS_TEST_TMPDIR/wait.out ]] || fail "it printed: $(cat "$BATS_TEST_TMPDIR/wait.out")"
	strata run
	wait_exit 5
	((WAIT_RC == 0)) || fail "exit $WAIT_RC: $(cat "$BATS_TEST_TMPDIR/wait.out")"
	run cat "$BATS_TEST_TMPDIR/wait.out"
	assert_output "Up to date: 2 migrations applied."
}

@test "check --wait: exits 0 as soon as the migration job has run" {
	for_each_driver gate_opens
}

@test "check --wait: 3 at the deadline while migrations are pending; at once when up to date" {
	two_migrations
	local t0=$SECONDS
	run strata check --wait 1s
	assert_failure 3
	assert_output "2 migrations pending."
	((SECONDS - t0 <= 4)) || fail "took $((SECONDS - t0)) s"
	strata run
	t0=$SECONDS
	run strata check --wait forever
	assert_success
	((SECONDS - t0 <= 2)) || fail "took $((SECONDS - t0)) s"
	run strata check --wait 1s --format json
	assert_success
	[[ $(jq -r .status <<<"$output") == up-to-date ]] || fail "$output"
}

@test "check --wait: a database that does not exist yet is waited for, then 7 at the deadline" {
	sqlite_db
	two_migrations
	run strata check --wait 1s
	assert_failure 7
	assert_output --partial "could not open database"
	start_wait 60s
	sleep 1.2
	kill -0 "$WAIT_PID" || fail "check --wait did not wait: $(cat "$BATS_TEST_TMPDIR/wait.out")"
	strata run
	wait_exit 5
	((WAIT_RC == 0)) || fail "exit $WAIT_RC: $(cat "$BATS_TEST_TMPDIR/wait.out")"
}

@test "check --wait: a source that cannot be read fails at once; SIGTERM ends the wait" {
	two_migrations
	local t0=$SECONDS
	run strata check --wait 60s -s nowhere
	assert_failure 1
	assert_output --partial "'nowhere'"
	((SECONDS - t0 <= 3)) || fail "it waited $((SECONDS - t0)) s"
	start_wait 60s
	sleep 1.2
	kill -TERM "$WAIT_PID"
	wait_exit 3
	((WAIT_RC == 143)) || fail "exit $WAIT_RC: $(cat "$BATS_TEST_TMPDIR/wait.out")"
	run strata check --wait soon
	assert_failure 2
}
