#!/usr/bin/env bats
# strata run --metrics-file: after each run, whatever its outcome, the
# metrics of `strata serve` in node_exporter's textfile-collector format,
# written atomically (a hidden temporary file renamed over the old one).

load lib

two_migrations() {
	write_migration 1_users.sql "CREATE TABLE users (id int);"
	write_migration 2_orders.sql "CREATE TABLE orders (id int);"
}

metrics_after_run() {
	two_migrations
	mkdir textfile
	strata run --metrics-file textfile/strata.prom
	[[ $(stat -c %a textfile/strata.prom) == 644 ]] || fail "mode $(stat -c %a textfile/strata.prom)"
	run promtool check metrics <textfile/strata.prom
	assert_success
	run grep -v '^#' textfile/strata.prom
	assert_line 'strata_up 1'
	assert_line 'strata_run_exit_code 0'
	assert_line 'strata_migrations_pending 0'
	assert_line 'strata_migrations_applied 2'
	assert_line 'strata_migration_duration_seconds_count 2'
	assert_line 'strata_last_run_success 1'
	# not the server's own counters
	refute_output --partial 'strata_serve_'
	# a new file each time, renamed over the old one; nothing else left
	local inode
	inode=$(stat -c %i textfile/strata.prom)
	write_migration 3_broken.sql "SELECT nope FROM nowhere;"
	run strata run --metrics-file textfile/strata.prom
	assert_failure 1
	[[ $(stat -c %i textfile/strata.prom) != "$inode" ]] || fail "written in place"
	[[ $(ls -A textfile) == strata.prom ]] || fail "left behind: $(ls -A textfile)"
	run grep -v '^#' textfile/strata.prom
	assert_line 'strata_run_exit_code 1'
	assert_line 'strata_last_run_success 0'
	assert_line 'strata_migrations_pending 1'
}

@test "run --metrics-file: a textfile that promtool accepts, after a success and after a failure" {
	require_promtool
	for_each_driver metrics_after_run
}

@test "run --metrics-file: a database that cannot be reached is strata_up 0 with the exit code" {
	require_promtool
	two_migrations
	run strata run -d "sqlite:$BATS_TEST_TMPDIR/none.db?mode=rw" --metrics-file strata.prom
	assert_failure 7
	run promtool check metrics <strata.prom
	assert_success
	run grep -v '^#' strata.prom
	assert_line 'strata_up 0'
	assert_line 'strata_run_exit_code 7'
}

@test "run --metrics-file: a file that cannot be written is exit 1 naming it; the migrations stay applied" {
	two_migrations
	run strata run --metrics-file nowhere/strata.prom
	assert_failure 1
	assert_output --partial "could not write the metrics file 'nowhere/strata.prom'"
	run strata check
	assert_success
}

require_promtool() {
	if ! command -v promtool >/dev/null; then
		[[ ${STRATA_TEST_REQUIRE_PG:-} != 1 ]] || fail "promtool is not installed"
		skip "promtool is not installed"
	fi
}

@test "run --metrics-file: the newest backup's time and age, after run --backup" {
	require_promtool
	sqlite_db
	two_migrations
	strata run --backup --metrics-file strata.prom
	run promtool check metrics <strata.prom
	assert_success
	local made age
	made=$(date -u -d "$(jq -r .created_at backups/*.json)" +%s)
	run grep -v '^#' strata.prom
	assert_line "strata_backup_newest_timestamp_seconds $made"
	age=$(sed -n 's/^strata_backup_newest_age_seconds //p' strata.prom)
	[[ -n $age ]] && (($(printf '%.0f' "$age") >= 0 && $(printf '%.0f' "$age") < 60)) || fail "age: '$age'"
}
