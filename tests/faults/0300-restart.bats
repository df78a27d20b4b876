#!/usr/bin/env bats
# A server restart under a run: a clear error (no password, nothing
# unprintable), the interrupted transaction rolled back, a server that is
# down a connection error, and a later run that applies the rest exactly
# once. Replay a failure with STRATA_FAULT_SEED.

load ../t/lib
load faults

setup_file() {
	export FAULT_FILE_PID=$$
	pg_start
}

# The URL with a password: trust authentication ignores it, but strata
# holds it and must never show it.
SECRET=Rst4rtS3cretPw
secret_url() {
	echo "postgresql://postgres:$SECRET@/$TEST_DB?host=${PGHOST//\//%2F}&port=$PGPORT"
}

# Nothing but printable ASCII, tabs and newlines, and no password.
assert_clean_output() {
	refute_output --partial "$SECRET"
	refute_output --partial "(null)"
	if LC_ALL=C grep -q '[^[:print:][:blank:]]' <<<"$output"; then
		fail "unprintable bytes in: $output"
	fi
}

@test "restart: during a transactional migration, a clear error; down, exit 7; then the rest exactly once" {
	local url
	url=$(secret_url)
	# migration 2 sleeps for as long as `pause` says
	psql_db "CREATE TABLE effects (version int); CREATE TABLE pause AS SELECT 60::float AS s"
	write_migration 1_a.sql "INSERT INTO effects VALUES (1);"
	write_migration 2_slow.sql "INSERT INTO effects VALUES (2); SELECT pg_sleep(s) FROM pause; INSERT INTO effects VALUES (2);"
	write_migration 3_c.sql "INSERT INTO effects VALUES (3);"
	strata -d "$url" run >run.out 2>&1 &
	local pid=$!
	await_sql "SELECT 1 FROM pg_stat_activity WHERE application_name = 'strata' AND state = 'active' AND query LIKE '%pg_sleep%'" >/dev/null
	pg_server_stop fast
	run strata -d "$url" run
	assert_failure 7
	assert_output --partial "could not connect to 'postgresql://postgres:***@/$TEST_DB"
	assert_clean_output
	pg_server_start
	local rc=0
	wait "$pid" || rc=$?
	run cat run.out
	assert_equal "$rc" 1
	assert_line --partial "Applied 1 a"
	assert_output --partial "connection to the server was lost"
	assert_output --partial "at migrations/2_slow.sql:1"
	assert_output --partial "SQLSTATE 57P01"
	assert_output --partial "detail: terminating connection due to administrator command"
	refute_output --partial "terminated abnormally"
	refute_output --partial "Fix the file"
	assert_clean_output
	# rolled back with its transaction
	assert_equal "$(psql_db "SELECT string_agg(version::text, ',' ORDER BY version) FROM _sqlx_migrations")" 1
	assert_equal "$(psql_db "SELECT string_agg(version::text, ',' ORDER BY version) FROM effects")" 1

	psql_db "UPDATE pause SET s = 0"
	run strata -d "$url" run
	assert_success
	assert_clean_output
	assert_line --partial "Applied 2 slow"
	assert_line --partial "Applied 3 c"
	assert_equal "$(psql_db "SELECT string_agg(version::text, ',' ORDER BY version) FROM effects")" 1,2,2,3
	assert_equal "$(psql_db "SELECT string_agg(version || ':' || success, ',' ORDER BY version) FROM _sqlx_migrations")" 1:true,2:true,3:true
}

@test "restart: at random moments of a run, consistent every time; the last run converges" {
	fault_seed
	local url restarts=0 dbs=0 rc delay failed
	RETRIED=0 MARKED=0
	while ((restarts < 5)); do
		new_db
		dbs=$((dbs + 1))
		url=$(secret_url)
		write_set
		while :; do
			delay=$(random_ms 0 600)
			strata -d "$url" run >run.out 2>&1 &
			local pid=$!
			sleep "$(ms_to_s "$delay")"
			if _strata_pid_alive "$pid"; then
				pg_restart fast
				restarts=$((restarts + 1))
			fi
			rc=0
			wait "$pid" || rc=$?
			run cat run.out
			assert_clean_output
			((rc == 0)) && break
			# a lost connection, or none while the server restarted; or
			# the lock's session seen gone first (nothing committed)
			if ((rc == 6)) && ! grep -q "lost the migration lock: its session ended" run.out; then
				fail "strata run exited 6 after restart $restarts: $(cat run.out)"
			elif ((rc != 1 && rc != 6 && rc != 7)); then
				fail "strata run exited $rc after restart $restarts: $(cat run.out)"
			fi
			assert_consistent "restart $restarts (database $dbs, ${delay} ms)"
			failed=$(psql_db "SELECT version FROM _sqlx_migrations WHERE NOT success" 2>/dev/null || true)
			if [[ -n $failed ]]; then
				recover "$failed"
				assert_consistent "repair of $failed after restart $restarts"
			fi
		done
		assert_consistent "the last run of database $dbs"
		assert_equal "$(psql_db "SELECT count(*) FILTER (WHERE success), count(*) FROM _sqlx_migrations")" "8|8"
		assert_equal "$(psql_db "SELECT count(*) FROM effects")" "$(psql_db "SELECT count(*) FROM expected")"
	done
	echo "# $restarts restarts over $dbs databases ($RETRIED retried, $MARKED marked applied)" >&3
}
