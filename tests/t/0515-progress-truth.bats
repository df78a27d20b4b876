#!/usr/bin/env bats
# What run says of a wait is what the server says: how long the statement
# has waited, the blocker's state (or why it cannot be seen), and, for
# the migration lock, which migration its holder applies; errors of
# strata's own tables say what strata was creating and how to let it.

load lib

# ISO 8601 UTC with milliseconds, as each line in a log starts
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

# A login role of this test, $ROLE, and DATABASE_URL as that role.
as_role() {
	ROLE="app_${BATS_TEST_NUMBER}"
	psql_db "DROP ROLE IF EXISTS $ROLE; CREATE ROLE $ROLE LOGIN" 2>/dev/null
	psql_db "GRANT CREATE ON DATABASE \"$TEST_DB\" TO $ROLE"
	DATABASE_URL=${DATABASE_URL/user=postgres/user=$ROLE}
}

@test "progress: a blocker of another role is 'state unknown' and why; the wait counts from when it began" {
	as_role
	psql_db "GRANT CREATE ON SCHEMA public TO $ROLE"
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	# postgres holds the table; the runner's role cannot see its state
	hold_session long-report 3 "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
	run strata run --lock-timeout 0 --progress-interval 1s
	wait "$HOLDER_JOB" || true
	assert_success
	assert_line --regexp "^$TS Still applying 2 alter: [0-9.]+ s, statement 1/1, waiting on pid $HOLDER_PID \(postgres, state unknown: another role's session \(pg_read_all_stats shows it\), for [0-9.]+ s\)$"
	# the wait's age as the server counts it: never 0.0 s a second in
	local waited
	waited=$(grep -oE "Still applying 2 alter: 2\.[0-9] s, .*, for [0-9.]+ s\)$" <<<"$output" | sed -E 's/.*, for ([0-9.]+) s\)$/\1/' | head -n 1)
	[[ -n $waited ]] || fail "no line 2 s in: $output"
	awk -v w="$waited" 'BEGIN { exit !(w >= 1.5) }' || fail "waited $waited s at 2 s in: $output"
}

@test "progress: with pg_read_all_stats the blocker's state is shown" {
	as_role
	psql_db "GRANT CREATE ON SCHEMA public TO $ROLE; GRANT pg_read_all_stats TO $ROLE"
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	hold_session long-report 2 "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
	run strata run --lock-timeout 0 --progress-interval 500ms
	wait "$HOLDER_JOB" || true
	assert_success
	assert_line --regexp "^$TS Still applying 2 alter: [0-9.]+ s, statement 1/1, waiting on pid $HOLDER_PID \(postgres, idle in transaction, for [0-9.]+ s\)$"
}

@test "permissions: a role without CREATE on the schema is told which table strata was creating and the GRANT" {
	as_role
	psql_db "CREATE SCHEMA s AUTHORIZATION $ROLE"
	write_migration 1_t.sql "CREATE TABLE s.t (id int);"
	run strata run
	assert_failure 1
	assert_output --partial "strata: error: could not create the history table public._sqlx_migrations: permission denied for schema public"
	assert_output --partial "GRANT CREATE ON SCHEMA public TO $ROLE;"
	assert_output --partial "--table schema.name"
	# the history table made by the schema's owner: the audit table next
	psql_db "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL); GRANT ALL ON _sqlx_migrations TO $ROLE"
	run strata run
	assert_failure 1
	assert_output --partial "strata: error: could not create the audit table public._strata_audit: permission denied for schema public"
	assert_output --partial "GRANT CREATE ON SCHEMA public TO $ROLE;"
	# or the history where the role may create it
	run strata run --table s.history
	assert_success
	assert_line --partial "Applied 1 t"
}

# Runs strata $@ on a pseudo-terminal, stdout and stderr together in
# $output; frames: every state the live line was drawn in, plain.
on_tty() {
	local cmd="strata" a
	for a in "$@"; do
		cmd+=" $(printf '%q' "$a")"
	done
	run env TERM=xterm script -qec "stty cols 200; $cmd" /dev/null
}

frames() {
	tr '\r' '\n' <<<"$output" | sed -e $'s/\e\\[[0-9;]*[mK]//g' |
		grep -E '^(Applying|Reverting) '
}

@test "progress: a blocker that outlasts several probing attempts has been waited on since the first" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	hold_lock 4
	on_tty run --retries 10 --lock-probe 200ms
	wait "$HOLDER_JOB" || true
	assert_success
	# each attempt waits 200 ms; the migration has waited on it for seconds
	local waited
	waited=$(frames | grep -oE "waiting on pid $HOLDER_PID \(.*, for [0-9.]+ s\)$" | sed -E 's/.*, for ([0-9.]+) s\)$/\1/' | sort -n | tail -n 1)
	[[ -n $waited ]] || fail "no waiting line in: $(frames)"
	awk -v w="$waited" 'BEGIN { exit !(w >= 1.0) }' || fail "at most $waited s waited in: $(frames)"
}

@test "lock: a waiting runner names the migration the holding strata applies, never strata's own queries" {
	write_migration 1_slow.sql "SELECT pg_sleep(3);"
	strata run >first.out 2>&1 &
	local first=$! holder=""
	holder=$(await_sql "SELECT DISTINCT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
	# long enough for the holder to have looked at its statement a
	# few times: on its monitor session, not on the lock session
	sleep 1
	run strata run --lock-wait 500ms
	assert_failure 6
	assert_output --regexp "could not take the migration lock within 0\.5 s: held by pid $holder \(strata, applying 1 slow, for [0-9]+\.[0-9] s\)"
	refute_output --partial "SELECT"
	run strata run --lock-wait 10s
	wait "$first"
	assert_success
	assert_line --regexp "strata: waiting for the migration lock, held by pid $holder \(strata, applying 1 slow, for [0-9.]+ s\)$"
	assert_output --partial "Nothing to apply"
	refute_output --partial "SELECT"
}
