#!/usr/bin/env bats
# The lock's check sent before each COMMIT (run and revert, a transaction
# per migration or one in all): one look at the migration lock's own key,
# never a read of pg_locks, whose scan of the server's whole lock table
# cost more than a small migration; and what it guards still holds: a lock
# lost while a migration runs lets nothing of it be committed. strata's
# own rows, prepared once per session rather than parsed per migration.

load lib

@test "lock check: one look at the key per transaction, no read of pg_locks" {
	psql_db "ALTER DATABASE \"$TEST_DB\" SET log_statement = 'all'" >/dev/null
	table_pairs 10
	local from
	for args in "run" "revert --all" "run --single-transaction" "revert --all --single-transaction"; do
		from=$(log_from)
		# shellcheck disable=SC2086
		strata $args
		# (the monitor session samples pg_locks only for a statement
		# still running after a while: these take milliseconds)
		echo "# $args: $(logged "$from" pg_try_advisory_xact_lock_shared) key looks, $(logged "$from" 'FROM pg_catalog.pg_locks') reads of pg_locks" >&3
		# (one transaction: the lock is looked at before its COMMIT
		# from the client, the statements' results all in)
		[[ $args == *single* ]] ||
			assert_equal "$(logged "$from" pg_try_advisory_xact_lock_shared)" 10
		assert_equal "$(logged "$from" '1 / count(*)::int FROM pg_catalog.pg_locks')" 0
	done
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 0
	# the key the check takes while free is this transaction's only
	assert_equal "$(psql_db "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0
}

# loses_lock ARGS...: strata ARGS runs a migration (or a down) that sleeps;
# meanwhile its lock session is ended. Nothing of it may be committed.
loses_lock() {
	local pid
	strata "$@" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	local job=$!
	await_sql "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(1.5)%' AND pid <> pg_backend_pid()" >/dev/null
	pid=$(await_sql "SELECT DISTINCT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
	psql_db "SELECT pg_terminate_backend($pid)" >/dev/null
	local rc=0
	wait "$job" || rc=$?
	assert [ "$rc" -ne 0 ]
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial "lost the migration lock"
}

@test "lock check: a lock lost while a migration runs commits nothing of it" {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.up.sql "CREATE TABLE b (id int); SELECT pg_sleep(1.5);"
	write_migration 2_b.down.sql "DROP TABLE b; SELECT pg_sleep(1.5);"
	loses_lock run
	assert_equal "$(psql_db 'SELECT version FROM _sqlx_migrations')" 1
	assert_equal "$(psql_db "SELECT to_regclass('b') IS NULL")" t
	strata run
	loses_lock revert
	assert_equal "$(psql_db 'SELECT version FROM _sqlx_migrations ORDER BY version' | paste -sd,)" "1,2"
	assert_equal "$(psql_db "SELECT to_regclass('b') IS NOT NULL")" t
	loses_lock revert --all --single-transaction
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 2
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'revert' AND outcome = 'success'")" 0
	strata revert --all
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 0
}

# The check looks at the lock session's own key, not at the lock's: a
# lock session that ended while its client could not see it (stopped
# here; a dead network in the field), and a successor that took the lock
# meanwhile, are not taken for the lock still being ours.
@test "lock check: a successor holding the lock after the lock session ended does not let the migration commit" {
	write_migration 1_a.sql "CREATE TABLE a (id int); SELECT pg_sleep(2);"
	strata run >"$BATS_TEST_TMPDIR/first" 2>&1 &
	local first=$! pid rc=0
	await_sql "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(2)%' AND pid <> pg_backend_pid()" >/dev/null
	# the whole transaction, its check and COMMIT included, is sent
	kill -STOP "$first"
	pid=$(await_sql "SELECT DISTINCT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
	psql_db "SELECT pg_terminate_backend($pid)" >/dev/null
	# a successor takes the lock, finds 1 pending, and waits on a's name
	strata run >"$BATS_TEST_TMPDIR/second" 2>&1 || rc=$?
	kill -CONT "$first"
	echo "# second: exit $rc: $(cat "$BATS_TEST_TMPDIR/second")" >&3
	assert_equal "$rc" 0
	rc=0
	wait "$first" || rc=$?
	echo "# first: exit $rc: $(cat "$BATS_TEST_TMPDIR/first")" >&3
	assert [ "$rc" -ne 0 ]
	run cat "$BATS_TEST_TMPDIR/first"
	assert_output --partial "lost the migration lock"
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 1
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'apply' AND outcome = 'success'")" 1
}

# The names of the prepared statements that ran $2 since byte $1 of the
# log, one a line ("<unnamed>" for a text parsed at its use).
executed_as() {
	tail -c +"$1" "$STRATA_TEST_CLUSTER_DIR/server.log" |
		grep -F -- "$2" | sed -n 's/.*LOG:  execute \([^:]*\):.*/\1/p'
}

@test "prepared: the history's and the audit's rows are parsed once per session, not per migration" {
	psql_db "ALTER DATABASE \"$TEST_DB\" SET log_statement = 'all'" >/dev/null
	table_pairs 10
	local from
	for args in "run" "revert --all" "run --single-transaction" "revert --all --single-transaction"; do
		from=$(log_from)
		# shellcheck disable=SC2086
		strata $args
		echo "# $args: audit rows as $(executed_as "$from" 'INSERT INTO "_strata_audit"' | sort | uniq -c | paste -sd' ')" >&3
		assert_equal "$(executed_as "$from" 'INSERT INTO "_strata_audit"' | wc -l)" 10
		assert_equal "$(executed_as "$from" 'INSERT INTO "_strata_audit"' | sort -u | wc -l)" 1
		refute [ "$(executed_as "$from" 'INSERT INTO "_strata_audit"' | sort -u)" = "<unnamed>" ]
		assert_equal "$(executed_as "$from" 'INTO "_sqlx_migrations"' | wc -l)$(executed_as "$from" 'DELETE FROM "_sqlx_migrations"' | wc -l)" "$([[ $args == run* ]] && echo 100 || echo 010)"
		assert_equal "$( (executed_as "$from" 'INTO "_sqlx_migrations"' && executed_as "$from" 'DELETE FROM "_sqlx_migrations"') | grep -c unnamed)" 0
		# the server's time a revert records, read as its row goes
		[[ $args != revert*single* ]] || continue
		[[ $args == run* ]] || assert_equal "$(executed_as "$from" "RETURNING CAST(pg_catalog.set_config('strata.elapsed_ns'" | sort | uniq -c | awk '{ print $1, ($2 == "<unnamed>") }')" "10 0"
	done
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE outcome = 'success'")" 40
}

@test "prepared: a migration's DEALLOCATE ALL or DISCARD ALL does not take strata's statements with it" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_dealloc.up.sql "CREATE TABLE b (id int); DEALLOCATE ALL;"
	write_migration 2_dealloc.down.sql "DEALLOCATE ALL; DROP TABLE b;"
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	write_migration 4_discard.up.sql "-- no-transaction
DISCARD ALL;"
	write_migration 4_discard.down.sql "-- no-transaction
DISCARD ALL;"
	write_migration 5_d.sql "CREATE TABLE d (id int);"
	strata run
	assert_equal "$(psql_db 'SELECT version FROM _sqlx_migrations WHERE success ORDER BY version' | paste -sd,)" "1,2,3,4,5"
	rm migrations/5_d.sql migrations/3_c.sql migrations/1_a.sql
	write_migration 5_d.up.sql "CREATE TABLE d (id int);"
	write_migration 5_d.down.sql "DROP TABLE d;"
	write_migration 3_c.up.sql "CREATE TABLE c (id int);"
	write_migration 3_c.down.sql "DROP TABLE c;"
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	run strata revert --all
	assert_success
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 0
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'revert' AND outcome = 'success'")" 5
	# (one transaction cannot hold DISCARD ALL)
	rm migrations/4_discard.*
	strata run --single-transaction
	run strata revert --all --single-transaction
	assert_success
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 0
}
