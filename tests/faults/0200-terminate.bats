#!/usr/bin/env bats
# pg_terminate_backend() of strata's sessions mid-run: the migration
# session (a clear error naming the migration, nothing recorded as
# applied, a clean re-run) and the lock's own session (the lock is gone:
# strata commits nothing more, and a runner that takes the lock meanwhile
# applies each migration once).

load ../t/lib
load faults

# Migration 2 sleeps for as long as `pause` says; every migration records
# its version in `effects`.
slow_set() {
	psql_db "CREATE TABLE effects (version int NOT NULL); CREATE TABLE pause AS SELECT ${1}::float AS s"
	write_migration 1_a.sql "INSERT INTO effects VALUES (1);"
	write_migration 2_slow.sql "${2:-}INSERT INTO effects VALUES (2);
SELECT pg_sleep(s) FROM pause;
INSERT INTO effects VALUES (2);"
	write_migration 3_c.sql "INSERT INTO effects VALUES (3);"
}

# The pid of strata's session running migration 2's pg_sleep.
migration_session() {
	await_sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'strata' AND state = 'active' AND query LIKE '%pg_sleep(s)%'"
}

# The pid of the session holding the migration lock.
lock_session() {
	await_sql "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'strata%'"
}

versions() {
	psql_db "SELECT coalesce(string_agg(version || ':' || success, ',' ORDER BY version), '') FROM _sqlx_migrations"
}

effects() {
	psql_db "SELECT coalesce(string_agg(version::text, ',' ORDER BY version), '') FROM effects"
}

@test "terminate: the migration session in a transactional migration; exit 1 naming it, nothing recorded, a clean re-run" {
	slow_set 60
	strata run >run.out 2>&1 &
	local job=$! pid lock_pid rc=0
	pid=$(migration_session)
	lock_pid=$(lock_session)
	# two sessions: the one migrating is not the lock's
	[[ $pid != "$lock_pid" ]]
	psql_db "SELECT pg_terminate_backend($pid)" >/dev/null
	wait "$job" || rc=$?
	run cat run.out
	assert_equal "$rc" 1
	assert_output --partial "error: connection to the server was lost"
	assert_output --partial "at migrations/2_slow.sql:2"
	assert_output --partial "SQLSTATE 57P01"
	# the server's reason, and no advice to fix a file that is fine
	assert_output --partial "detail: terminating connection due to administrator command"
	assert_output --partial "hint: The server rolled back whatever the session had not committed. Run again"
	refute_output --partial "Fix the file"
	assert_equal "$(versions)" "1:true"
	assert_equal "$(effects)" "1"
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE version = 2 AND outcome = 'success'")" 0
	# the lock went with the process
	assert_equal "$(psql_db "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0

	psql_db "UPDATE pause SET s = 0"
	run strata run
	assert_success
	assert_equal "$(versions)" "1:true,2:true,3:true"
	assert_equal "$(effects)" "1,2,2,3"
}

@test "terminate: the migration session in a no-transaction migration; a failed record, then the documented repair" {
	slow_set 60 $'-- no-transaction\n'
	strata run >run.out 2>&1 &
	local job=$! rc=0
	psql_db "SELECT pg_terminate_backend($(migration_session))" >/dev/null
	wait "$job" || rc=$?
	run cat run.out
	assert_equal "$rc" 1
	assert_output --partial "at migrations/2_slow.sql:3"
	assert_output --partial "strata repair --retry 2"
	assert_equal "$(versions)" "1:true,2:false"
	# its first statement stays; the interrupted one did not finish
	assert_equal "$(effects)" "1,2"
	run strata run
	assert_failure 4
	assert_output --partial "migration 2 (slow) is recorded as failed"
	assert_equal "$(effects)" "1,2"

	psql_db "DELETE FROM effects WHERE version = 2; UPDATE pause SET s = 0"
	strata repair --retry 2
	run strata run
	assert_success
	assert_equal "$(versions)" "1:true,2:true,3:true"
	assert_equal "$(effects)" "1,2,2,3"
}

@test "terminate: the lock's session mid-migration; strata commits nothing more, a runner taking the lock applies each once" {
	slow_set 2
	strata run >a.out 2>&1 &
	local a=$! b rc=0
	migration_session >/dev/null
	psql_db "SELECT pg_terminate_backend($(lock_session))" >/dev/null
	# the lock is free: a second runner takes it while the first one is
	# still inside migration 2
	strata run >b.out 2>&1 &
	b=$!
	lock_session >/dev/null
	wait "$a" || rc=$?
	run cat a.out
	assert_equal "$rc" 6
	assert_output --partial "lost the migration lock"
	refute_line --partial "Applied 2"
	rc=0
	wait "$b" || rc=$?
	run cat b.out
	assert_equal "$rc" 0
	assert_line --partial "Applied 2 slow"
	assert_line --partial "Applied 3 c"
	assert_equal "$(versions)" "1:true,2:true,3:true"
	assert_equal "$(effects)" "1,2,2,3"
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'apply' AND outcome = 'success'")" 3
}
