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
