#!/usr/bin/env bats
# Progress of run and revert on stderr (design.md, Commands): a live line on a
# terminal, timestamped lines in a log, JSON lines with --format json; the
# warning of --warn-after naming the statement; nothing with -q.

load lib

# ISO 8601 UTC with milliseconds, as each line in a log starts
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

# A statement that runs for a second or two on the current driver.
slow_sql() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		echo "SELECT pg_sleep(${1:-1.5});"
	else
		echo "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) FROM c;"
	fi
}

# Runs strata $@ on a pseudo-terminal $COLS wide (default: none set, which
# strata reads as 80), stdout and stderr together in $output.
on_tty() {
	local cmd="strata" a
	for a in "$@"; do
		cmd+=" $(printf '%q' "$a")"
	done
	if [[ -n ${COLS:-} ]]; then
		cmd="stty cols $COLS; $cmd"
	fi
	run env TERM=xterm script -qec "$cmd" /dev/null
}

# What the terminal shows once $output is written: of each line, what
# follows its last carriage return, without colour or erase sequences.
screen() {
	local line
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '%s\n' "${line##*$'\r'}"
	done <<<"$output" | sed -e $'s/\e\\[[0-9;]*[mK]//g'
}

# Every state the live line was drawn in, one per line, plain.
frames() {
	tr '\r' '\n' <<<"$output" | sed -e $'s/\e\\[[0-9;]*[mK]//g' |
		grep -E '^(Applying|Reverting) '
}

# ---------------------------------------------------------------- a log

log_lines() {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	# local time far from UTC: the stamps must not follow it
	run --separate-stderr env TZ=IST-5:30 strata run
	assert_success
	assert_line --regexp '^Applied 1 a \([0-9.]+ m?s\)$'
	[[ $stderr != *$'\r'* ]] || fail "a carriage return in: $stderr"
	local n
	n=$(grep -cvE "^$TS " <<<"$stderr") || true
	assert_equal "$n" 0
	grep -qE "^$TS Applying 1 a \.\.\.$" <<<"$stderr" || fail "no start line in: $stderr"
	grep -qE "^$TS Applied 2 b \([0-9.]+ m?s\)$" <<<"$stderr" || fail "no end line in: $stderr"
	local stamp now
	stamp=$(head -n 1 <<<"$stderr" | cut -d' ' -f1)
	now=$(date -u +%s)
	(($(date -u -d "$stamp" +%s) > now - 120 && $(date -u -d "$stamp" +%s) <= now)) ||
		fail "not the UTC time now: $stamp"
	# stdout and stderr in one file: the result line alone ends each
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	run strata run
	assert_success
	assert_line --regexp "^$TS Applying 3 c \.\.\.$"
	assert_equal "$(grep -c 'Applied 3 c' <<<"$output")" 1
	assert_line --regexp '^Applied 3 c \([0-9.]+ m?s\)$'
}

@test "progress: without a terminal, a timestamped line when each migration starts and ends" {
	for_each_driver log_lines
}

still_lines() {
	write_migration 1_slow.sql "$(slow_sql)"
	run --separate-stderr strata run --progress-interval 100ms
	assert_success
	[[ $stderr != *$'\r'* ]] || fail "a carriage return in: $stderr"
	grep -qE "^$TS Still applying 1 slow: [0-9.]+ s, statement 1/1: (SELECT pg_sleep\(1\.5\);|WITH RECURSIVE c\(x\) AS \(SELECT 1 UNION ALL SELECT x \+ 1 FROM c WHERE x < 2000000\.\.\.)$" <<<"$stderr" ||
		fail "no 'Still applying' line in: $stderr"
	# every 30 s by default; 0: never
	write_migration 2_slow.sql "$(slow_sql 0.6)"
	write_migration 3_slow.sql "$(slow_sql 0.6)"
	run strata run --target-version 2
	assert_success
	refute_output --partial "Still applying"
	run strata run --progress-interval 0
	assert_success
	refute_output --partial "Still applying"
	assert_output --partial "Applying 3 slow"
}

@test "progress: without a terminal, a 'Still applying' line every --progress-interval" {
	for_each_driver still_lines
}

# ---------------------------------------------------------------- a terminal

live_line() {
	write_migration 1_backfill_the_customer_order_totals_from_the_ledger.sql "$(slow_sql)"
	on_tty run
	assert_success
	[[ $output == *$'\r'"Applying 1 backfill"* || $output == *$'\r\e[1mApplying\e[0m 1 backfill'* ]] ||
		fail "no redrawn line in: $output"
	[[ $output == *$'\e[K'* ]] || fail "no erase in: $output"
	frames | grep -qE '^Applying 1 backfill.*: [0-9.]+ s, statement 1/1: (SELECT pg_s|WITH RECUR)' ||
		fail "no 'statement 1/1' in: $(frames)"
	# never wider than the terminal (80 when it says nothing) less one
	local widest
	widest=$(frames | awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }')
	((widest > 60 && widest <= 79)) || fail "frames $widest wide: $(frames)"
	# what stays on the screen is what it would be without the line
	run screen
	assert_output --regexp '^Applied 1 backfill the customer order totals from the ledger \([0-9.]+ m?s\)
Applied 1 migration\.$'
}

@test "progress: on a terminal, one line redrawn in place, then the result line" {
	for_each_driver live_line
}

@test "progress: on a terminal, revert shows its line too" {
	write_migration 1_sleep.up.sql "SELECT 1;"
	write_migration 1_sleep.down.sql "SELECT pg_sleep(1);"
	strata run
	on_tty revert
	assert_success
	frames | grep -qE '^Reverting 1 sleep: [0-9.]+ s, statement 1/1: SELECT pg_sleep\(1\);' ||
		fail "no revert line in: $output"
	run screen
	assert_output --regexp '^Reverted 1 sleep \([0-9.]+ s\)
Reverted 1 migration\.$'
}

@test "progress: on a terminal, the line names the session the statement waits on" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	hold_lock 3
	COLS=150 on_tty run --lock-timeout 0
	wait "$HOLDER_JOB" || true
	assert_success
	frames | grep -qE "^Applying 2 alter: [0-9.]+ s, statement 1/1, waiting on pid $HOLDER_PID \(postgres, idle in transaction, for [0-9.]+ s\)$" ||
		fail "no waiting line in: $(frames)"
	# said once in full above the line, not again every few seconds
	assert_equal "$(grep -c "strata: waiting on pid $HOLDER_PID (user 'postgres', application 'long-report'" <<<"$output")" 1
	run screen
	assert_line --regexp '^Applied 2 alter \([0-9.]+ s\)$'
}

@test "progress: the server's phase of an index build, and the old transaction it waits for" {
	write_migration 1_t.sql "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000);"
	strata run
	write_migration 2_index.sql $'-- no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);'
	# a transaction with a snapshot: the build waits for it at the end
	{
		echo "SET application_name = 'old-snapshot';"
		echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;"
		sleep 3
		echo "COMMIT;"
	} | psql -XAtq -d "$TEST_DB" >/dev/null &
	local job=$! pid=""
	pid=$(await_sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'old-snapshot' AND state = 'idle in transaction'")
	run strata run --progress-interval 200ms --lock-timeout 0
	wait "$job" || true
	assert_success
	assert_line --regexp "^$TS Still applying 2 index: [0-9.]+ s, statement 1/1, waiting for old snapshots, waiting on pid $pid \(postgres, idle in transaction, for [0-9.]+ s\)$"
}

# ---------------------------------------------------------------- --warn-after

warn_after() {
	local pg=$([[ $STRATA_TEST_DRIVER == postgres ]] && echo 1)
	local after=${pg:+1s} stmt
	after=${after:-100ms}
	stmt=$(slow_sql 2)
	write_migration 1_slow.sql "$stmt"
	run strata run --warn-after "$after"
	assert_success
	assert_equal "$(grep -c 'warning: migration 1 (slow) has been running' <<<"$output")" 1
	if [[ -n $pg ]]; then
		assert_line --regexp "^$TS strata: warning: migration 1 \(slow\) has been running for over 1 s, on statement 1 of 1: SELECT pg_sleep\(2\);$"
	else
		assert_line --regexp "^$TS strata: warning: migration 1 \(slow\) has been running for over 0\.1 s, on statement 1 of 1: WITH RECURSIVE c\(x\) AS \(SELECT 1 UNION ALL SELECT x \+ 1 FROM c WHERE x < 2000000\.\.\.$"
	fi
	# --hide-queries: the statement's number, not its text
	after=${pg:+300ms}
	after=${after:-100ms}
	stmt=$(slow_sql 0.8)
	write_migration 2_slow.sql "$stmt"
	run strata run --warn-after "$after" --hide-queries
	assert_success
	assert_line --regexp "^$TS strata: warning: migration 2 \(slow\) has been running for over [0-9.]+ s, on statement 1 of 1$"
	refute_output --partial "pg_sleep"
	refute_output --partial "RECURSIVE"
	# strata.conf; the option wins over it, and a file's directive over both
	printf '[strata]\nwarn_after = %s\n' "$after" >strata.conf
	write_migration 3_slow.sql "$stmt"
	run strata run
	assert_success
	assert_output --partial "warning: migration 3 (slow) has been running"
	write_migration 4_slow.sql "$stmt"
	run strata run --warn-after 0
	assert_success
	refute_output --partial "has been running"
	write_migration 5_slow.sql $'-- strata:warn-after='"$after"$'\n'"$stmt"
	run strata run --warn-after 0
	assert_success
	assert_output --partial "warning: migration 5 (slow) has been running for over"
}

@test "progress: --warn-after warns once, naming the statement; strata.conf and the file's directive" {
	for_each_driver warn_after
}

which_statement() {
	write_migration 1_three.sql "SELECT 1;
$(slow_sql)
SELECT 2;"
	run strata run --warn-after 300ms
	assert_success
	assert_output --regexp "warning: migration 1 \(three\) has been running for over 0\.3 s, on statement 2 of 3: (SELECT pg_sleep|WITH RECURSIVE)"
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		# outside a transaction, one statement per call
		write_migration 2_three.sql "-- no-transaction
SELECT 1;
$(slow_sql)
SELECT 2;"
		run strata run --warn-after 300ms
		assert_success
		assert_output --partial "warning: migration 2 (three) has been running for over 0.3 s, on statement 2 of 3: SELECT pg_sleep(1.5);"
	fi
}

@test "progress: the statement named is the one running, not the first sent" {
	for_each_driver which_statement
}

@test "progress: among many migrations sent at once, the statement named is the one running" {
	require_pg
	# quick migrations before and after: their results come in together
	for v in $(seq 1 40); do
		write_migration "${v}_quick.sql" "SELECT $v; SELECT $v;"
	done
	write_migration 41_three.sql "SELECT 1;
SELECT pg_sleep(1.5);
SELECT 2;"
	for v in $(seq 42 80); do
		write_migration "${v}_quick.sql" "SELECT $v; SELECT $v;"
	done
	run strata run --warn-after 300ms
	assert_success
	assert_output --regexp "warning: migration 41 \(three\) has been running for over 0\.3 s, on statement 2 of 3: SELECT pg_sleep"
	assert_line --regexp "^Applied 80 quick \([0-9.]+ ms\)$"
	# and only it warned
	assert_equal "$(grep -c 'has been running' <<<"$output")" 1
}

@test "progress: by default a migration warns after 60 s, not before" {
	write_migration 1_slow.sql "SELECT pg_sleep(1.5);"
	run strata run
	assert_success
	refute_output --partial "has been running"
}

@test "progress: --format json prints the warning as a JSON line on stderr, and in the result" {
	write_migration 1_slow.sql "SELECT pg_sleep(2);"
	run --separate-stderr strata run --format json --warn-after 1s
	assert_success
	local result=$output
	# stderr is JSON lines only
	jq -e . <<<"$stderr" >/dev/null || fail "not JSON lines: $stderr"
	run jq -c 'select(.event == "warning") | [.version, .description, .file, .statement, .statements, .statement_text, (.elapsed_ns >= 1000000000), (.time | test("^[0-9-]{10}T[0-9:]{8}[.][0-9]{3}Z$"))]' <<<"$stderr"
	assert_output '[1,"slow","migrations/1_slow.sql",1,1,"SELECT pg_sleep(2);",true,true]'
	run jq -r '.warnings[0]' <<<"$result"
	assert_output "migration 1 (slow) has been running for over 1 s, on statement 1 of 1: SELECT pg_sleep(2);"
	write_migration 2_slow.sql "SELECT pg_sleep(2);"
	run --separate-stderr strata run --format json --warn-after 1s --hide-queries
	assert_success
	run jq -c 'select(.event == "warning") | [.statement, has("statement_text")]' <<<"$stderr"
	assert_output '[1,false]'
	# nothing else on stderr, unless -v asks for starts and ends
	write_migration 3_quick.sql "SELECT 1;"
	run --separate-stderr strata run --format json
	assert_success
	assert_equal "$stderr" ""
	write_migration 4_quick.sql "SELECT 1;"
	run --separate-stderr strata -v run --format json
	assert_success
	run jq -c '[.event, .version]' <<<"$stderr"
	assert_output '["start",4]
["applied",4]'
}

@test "progress: -q prints none of it, on a terminal or not" {
	write_migration 1_slow.sql "SELECT pg_sleep(1);"
	run strata -q run --warn-after 100ms --progress-interval 100ms
	assert_success
	assert_output ""
	write_migration 2_slow.sql "SELECT pg_sleep(1);"
	on_tty -q run --warn-after 100ms
	assert_success
	assert_output ""
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 2
}

@test "progress: a bad --warn-after or --progress-interval is a usage error" {
	write_migration 1_a.sql "SELECT 1;"
	run strata run --warn-after soon
	assert_failure 2
	assert_output --partial "--warn-after wants a duration"
	run strata run --progress-interval -5s
	assert_failure 2
	printf '[strata]\nwarn_after = soon\n' >strata.conf
	run strata run
	assert_failure 2
	assert_output --partial "warn_after in strata.conf"
	printf '[strata]\nprogress_interval = 10s\n' >strata.conf
	run strata run
	assert_success
}
