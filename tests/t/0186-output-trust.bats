#!/usr/bin/env bats
# What strata prints: every byte of stdout reaches it or the exit code says
# not, a reader that leaves early (| head) stops no migration, and
# what others wrote (file names, server messages, history rows) cannot
# drive the terminal or forge a line.

load lib

# -- writing to stdout ---------------------------------------------------

full_disk_status_history() {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata run >/dev/null
	run --separate-stderr bash -c "strata status >/dev/full"
	assert_failure 1
	assert_equal "$stderr" "strata: error: write failure on standard output: No space left on device"
	run --separate-stderr bash -c "strata history >/dev/full"
	assert_failure 1
	assert_equal "$stderr" "strata: error: write failure on standard output: No space left on device"
	run --separate-stderr bash -c "strata check >/dev/full"
	assert_failure 1
}

@test "a full stdout fails status and history (exit 1, said on stderr)" {
	for_each_driver full_disk_status_history
}

full_disk_run() {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	run --separate-stderr bash -c "strata run >/dev/full"
	assert_failure 1
	[[ $stderr == *"strata: error: write failure on standard output: No space left on device" ]]
	# the migrations were applied and recorded all the same
	run query_db "SELECT version, success FROM _sqlx_migrations ORDER BY version"
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_output $'1|t\n2|t'
	else
		assert_output $'1|1\n2|1'
	fi
	query_db "SELECT * FROM b"
	strata check
}

@test "run on a full stdout applies and records, then exits 1" {
	for_each_driver full_disk_run
}

@test "a reader that leaves (| head -c1) ends no migration midway" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_sleep.sql "SELECT pg_sleep(0.3);"
	write_migration 3_late.sql <<'SQL'
-- no-transaction
SELECT pg_sleep(0.5);
CREATE TABLE late (id int);
SQL
	# stderr too: its "Still applying" lines come while 3 runs
	run bash -c 'strata run --progress-interval 100ms 2>&1 | head -c1; echo " ${PIPESTATUS[0]}"'
	assert_output "2 0"
	run psql_db "SELECT version, success FROM _sqlx_migrations ORDER BY version"
	assert_output $'1|t\n2|t\n3|t'
	psql_db "SELECT * FROM late"
	for i in $(seq 10 400); do
		write_migration "${i}_m.sql" "SELECT $i;"
	done
	strata run >/dev/null
	run bash -c 'strata status | head -c1; echo " ${PIPESTATUS[0]}"'
	assert_output "V 0"
	run bash -c 'strata status 2>&1 >/dev/null | head -c1'
	assert_output ""
}

# -- one clock for a migration's time ------------------------------------

same_time() {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		write_migration 2_slow.sql "SELECT pg_sleep(0.05);"
	else
		write_migration 2_slow.sql "CREATE TABLE b (id int);"
	fi
	run --separate-stderr strata run
	assert_success
	local ran shown
	ran=$(sed -n 's/^Applied 2 slow (\(.*\))$/\1/p' <<<"$output")
	[[ -n $ran ]]
	run strata status
	shown=$(awk '$1 == 2 && $2 == "applied" { print $5, $6 }' <<<"$output")
	assert_equal "$shown" "$ran"
	# the JSON figures are the recorded one too
	run strata status --format json
	local ns
	ns=$(jq '.migrations[] | select(.version == 2) | .execution_time_ns' <<<"$output")
	run query_db "SELECT execution_time FROM _sqlx_migrations WHERE version = 2"
	assert_output "$ns"
}

@test "run prints the time status shows: the one recorded in execution_time" {
	for_each_driver same_time
}

@test "--single-transaction prints each migration's recorded time" {
	write_migration 1_a.sql "SELECT pg_sleep(0.02);"
	run --separate-stderr strata run --single-transaction
	assert_success
	local ran
	ran=$(sed -n 's/^Applied 1 a (\(.*\))$/\1/p' <<<"$output")
	[[ -n $ran ]]
	run strata status
	assert_equal "$(awk '$1 == 1 && $2 == "applied" { print $5, $6 }' <<<"$output")" "$ran"
}

# -- text strata did not write -------------------------------------------

ESC=$'\e'
HOSTILE=$'1_x\e[2Jevil\nFAKE Applied 99.sql'

# Neither stdout nor stderr of the last `run --separate-stderr` holds a
# control character but newlines, nor a line of someone else's making.
assert_clean() {
	local all="$output"$'\n'"$stderr"
	if [[ $all == *"$ESC"* || $all =~ [$'\x01'-$'\x09\x0b'-$'\x1f\x7f'] ]]; then
		printf 'raw control character in:\n%s\n' "$all" | cat -v >&2
		return 1
	fi
	if grep -E '^(FAKE|[0-9TZ:.-]+ FAKE)' <<<"$all" >&2; then
		echo "a forged line" >&2
		return 1
	fi
}

hostile_name() {
	write_migration "$HOSTILE" "CREATE TABLE t (id int);"
	write_migration $'2_c1\xc2\x9b31m_bidi\xe2\x80\xaeend.sql' "CREATE TABLE u (id int);"
	run --separate-stderr strata run
	assert_success
	assert_clean
	[[ $output == *'Applied 1 x\x1b[2Jevil\nFAKE Applied 99 ('* ]]
	[[ $output == *'Applied 2 c1\u009b31m bidi\u202eend ('* ]]
	run --separate-stderr strata status
	assert_success
	assert_clean
	[[ $output == *' x\x1b[2Jevil\nFAKE Applied 99'* ]]
	run --separate-stderr strata history
	assert_success
	assert_clean
	[[ $output == *' x\x1b[2Jevil\nFAKE Applied 99'* ]]
	# an edited applied file: check and validate name it in their errors
	write_migration "$HOSTILE" "CREATE TABLE t (id bigint);"
	run --separate-stderr strata check
	assert_failure 4
	assert_clean
	run --separate-stderr strata validate
	assert_failure 4
	assert_clean
	[[ $stderr == *'1_x\x1b[2Jevil\nFAKE Applied 99.sql'* ]]
	run --separate-stderr strata run
	assert_failure 4
	assert_clean
	# JSON escapes by itself (jansson)
	run --separate-stderr strata status --format json
	assert_clean
	jq -e '.migrations[0].description == "x\u001b[2Jevil\nFAKE Applied 99"' <<<"$output"
}

@test "a hostile file name is shown escaped by run, status, history, check and validate" {
	for_each_driver hostile_name
}

@test "lint and run's lint gate show a hostile file name escaped" {
	write_migration 1_t.sql "CREATE TABLE t (id int, a int);"
	strata run
	write_migration $'2_x\e[2J\nFAKE.sql' "ALTER TABLE t DROP COLUMN a;"
	run --separate-stderr strata lint
	assert_failure 5
	assert_clean
	[[ $output$stderr == *'2_x\x1b[2J\nFAKE.sql:1:'* ]]
	run --separate-stderr strata lint --reporter github
	assert_clean
	run --separate-stderr strata run
	assert_failure 5
	assert_clean
}

@test "server messages (error, detail, hint, context, notices) are shown escaped" {
	write_migration 1_raise.sql <<'SQL'
DO $$
BEGIN
	RAISE NOTICE E'\x1b[2Jnotice\nFAKE notice line';
	RAISE EXCEPTION E'\x1b[2Jboom\nFAKE Applied 99'
		USING DETAIL = E'first line\nsecond \x1b[31mred', HINT = E'\x1b]0;title\x07hint';
END
$$;
SQL
	run --separate-stderr strata run -v
	assert_failure 1
	assert_clean
	[[ $stderr == *'NOTICE:  \x1b[2Jnotice\nFAKE notice line'* ]]
	[[ $stderr == *'strata: error: \x1b[2Jboom\nFAKE Applied 99'* ]]
	[[ $stderr == *'  detail: first line'$'\n''    second \x1b[31mred'* ]]
	[[ $stderr == *'  hint: \x1b]0;title\x07hint'* ]]
	# the audit trail holds the error as the server sent it; history
	# shows it escaped
	run --separate-stderr strata history
	assert_clean
	[[ $output == *'error: \x1b[2Jboom\nFAKE Applied 99'* ]]
	run --separate-stderr strata run --format json
	assert_clean
}

@test "history rows written by others are shown escaped" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata run
	psql_db "UPDATE _strata_audit SET host = E'h\x1b[2J', os_user = E'u\nFAKE', description = E'd\u009b'"
	psql_db "UPDATE _sqlx_migrations SET description = E'x\x1b[2J\nFAKE'"
	run --separate-stderr strata history
	assert_success
	assert_clean
	[[ $output == *'u\nFAKE@h\x1b[2J'* ]]
	[[ $output == *' d\u009b'* ]]
	run --separate-stderr strata status
	assert_clean
}

@test "the live line on a terminal shows a hostile name and statement escaped" {
	write_migration $'1_x\e[2J\nFAKE.sql' "SELECT pg_sleep(0.8), '"$'\e'"[2Jin the text';"
	run env TERM=xterm script -qec "strata run" /dev/null
	assert_success
	# strata's own: colours, erase to the end of the line, carriage returns
	local shown
	shown=$(sed -e $'s/\e\\[[0-9;]*[mK]//g' -e $'s/\r//g' <<<"$output")
	[[ $output == *$'\e[K'* ]] || fail "no live line in: $output"
	[[ $shown != *$'\e'* ]] || fail "raw ESC in: $(cat -v <<<"$shown")"
	! grep -q '^FAKE' <<<"$shown"
	[[ $shown == *'Applying 1 x\x1b[2J\nFAKE'* ]]
	# (the statement's own control characters show as spaces)
	[[ $shown == *"statement 1/1: SELECT pg_sleep(0.8), ' [2J"* ]]
}

@test "repair --accept-checksum shows the diff of hostile text escaped" {
	write_migration 1_a.sql "-- "$'\e'"[2J applied"$'\n'"CREATE TABLE a (id int);"
	strata run
	write_migration 1_a.sql "-- "$'\e'"]0;title"$'\a'" edited"$'\n'"CREATE TABLE a (id int);"
	run --separate-stderr strata repair --accept-checksum 1
	assert_success
	assert_clean
	assert_line -- '--- as applied'
	assert_line -- '--- \x1b[2J applied'
	assert_line -- '+-- \x1b]0;title\x07 edited'
}

@test "JSON: a history row that is not UTF-8 keeps its key, escaped" {
	sqlite_db
	write_migration 1_a.sql "SELECT 1;"
	strata run
	sqlite3 "$TEST_SQLITE" "UPDATE _sqlx_migrations SET description = CAST(X'61FF62' AS TEXT)"
	# the row is shown as recorded once its file is gone
	rm migrations/1_a.sql
	write_migration 2_b.sql "SELECT 2;"
	run --separate-stderr strata status --format json
	assert_success
	jq -e '.migrations[0].description == "a\\xffb"' <<<"$output"
	run --separate-stderr strata status
	assert_clean
	[[ $output == *' a\xffb'* ]]
}
