#!/usr/bin/env bats
# strata serve sees a migration while it runs: a transaction's history row
# is invisible until it commits, but its runner holds the migration lock,
# whose session says what it runs and since when.

load lib
load serve

setup_file() {
	export SERVE_FILE_PID=$$
	pg_start
}

teardown() {
	serve_kill
}

@test "serve: a migration running now is in /metrics and /health, with how long it has run" {
	write_migration 1_users.sql "CREATE TABLE users (id int);"
	strata run
	write_migration 2_slow.sql "SELECT pg_sleep(6);"
	serve_start --interval 0.1
	get metrics
	[[ $BODY == *$'\nstrata_migration_running 0\n'* ]]
	[[ $BODY == *$'\nstrata_migration_running_seconds 0\n'* ]]
	get health
	[ "$(jq -c .running <<<"$BODY")" = null ]
	strata run 3>&- &
	run_pid=$!
	await_sql "SELECT 1 FROM pg_stat_activity WHERE application_name = 'strata: applying 2 slow'"
	sleep 2
	get metrics
	echo "$BODY" | grep strata_migration_running
	[[ $BODY == *$'\nstrata_migration_running 1\n'* ]]
	seconds=$(sed -n 's/^strata_migration_running_seconds //p' <<<"$BODY")
	awk -v s="$seconds" 'BEGIN { exit !(s >= 1 && s < 10) }'
	get health
	[ "$(jq -r .running.migration <<<"$BODY")" = "applying 2 slow" ]
	[ "$(jq -r '.running.pid > 0' <<<"$BODY")" = true ]
	wait "$run_pid"
	sleep 0.2
	get metrics
	[[ $BODY == *$'\nstrata_migration_running 0\n'* ]]
	# promtool reads the new families
	echo "$BODY" | promtool check metrics
}
