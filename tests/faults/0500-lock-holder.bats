#!/usr/bin/env bats
# A session in the way of a migration (design.md, The lock: --lock-timeout and
# --retries): retried while it holds on, recorded attempt by attempt in
# the audit trail, named by its real pid when strata gives up; and a
# deadlock retried like a lock timeout. tests/t/0500-timeouts.bats has the
# basic cases; these are the randomized and heavier ones. Replay a failure
# with STRATA_FAULT_SEED.

load ../t/lib
load faults

# A psql session fed line by line (holder_send), its output in holder.out.
holder_start() {
	rm -f holder.in holder.out
	mkfifo holder.in
	psql -XAtq -d "$TEST_DB" <holder.in >holder.out 2>&1 &
	HOLDER_JOB=$!
	exec {HOLDER_FD}>holder.in
	holder_send "SET application_name = 'holder';"
}

holder_send() {
	echo "$1" >&"$HOLDER_FD"
}

# The session's pid from pg_backend_pid() (waits up to 15 s for it).
holder_pid() {
	local line
	holder_send "SELECT 'pid=' || pg_backend_pid();"
	for _ in $(seq 1 150); do
		line=$(grep '^pid=' holder.out)
		if [[ -n $line ]]; then
			echo "${line#pid=}"
			return 0
		fi
		sleep 0.1
	done
	echo "holder: no pid after 15 s; output: $(cat holder.out)" >&2
	return 1
}

holder_stop() {
	if [[ -n ${HOLDER_FD:-} ]]; then
		exec {HOLDER_FD}>&-
		unset HOLDER_FD
		wait "$HOLDER_JOB" || true
	fi
}

teardown() {
	holder_stop
}

# Version $1's attempts in the audit trail: outcome:sqlstate, in order.
attempts() {
	psql_db "SELECT string_agg(outcome || ':' || coalesce(sqlstate, ''), ' ' ORDER BY id) FROM _strata_audit WHERE action = 'apply' AND version = $1"
}

@test "lock holder: lets go at a random moment; retried until applied, each attempt audited with 55P03" {
	fault_seed
	write_migration 1_t.sql "CREATE TABLE t (id int PRIMARY KEY, n int); INSERT INTO t VALUES (1, 0);"
	strata run >/dev/null
	local round hold pid retries fails
	for round in 2 3; do
		# a table lock, then a row lock: both are lock waits
		if ((round == 2)); then
			write_migration 2_alter.sql "ALTER TABLE t ADD COLUMN c int;"
		else
			write_migration 3_update.sql "UPDATE t SET n = n + 1 WHERE id = 1;"
		fi
		holder_start
		holder_send "BEGIN;"
		if ((round == 2)); then
			holder_send "LOCK TABLE t IN ACCESS SHARE MODE;"
		else
			holder_send "SELECT 1 FROM t WHERE id = 1 FOR UPDATE;"
		fi
		pid=$(holder_pid)
		hold=$(random_ms 1000 2500)
		{
			sleep "$(ms_to_s "$hold")"
			holder_send "COMMIT;"
		} &
		local releaser=$!
		run strata run --lock-timeout 200ms --retries 10
		wait "$releaser"
		holder_stop
		assert_success
		assert_line --partial "Applied $round "
		assert_output --partial "canceling statement due to lock timeout (SQLSTATE 55P03): attempt 2 of 11"
		assert_output --partial "waiting on pid $pid (user 'postgres', application 'holder'"
		retries=$(grep -c "SQLSTATE 55P03): attempt" <<<"$output")
		# every failed attempt in the audit trail, then the success
		fails=$(printf 'failure:55P03 %.0s' $(seq 1 "$retries"))
		assert_equal "$(attempts "$round")" "${fails}success:"
		echo "# version $round: held $hold ms, applied at attempt $((retries + 1))" >&3
	done
	assert_equal "$(psql_db "SELECT n, c FROM t")" "1|"
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations WHERE success")" 3
}

@test "lock holder: never lets go; exit 6 naming its real pid, earlier migrations of the run kept, then a clean re-run" {
	write_migration 1_t.sql "CREATE TABLE t (id int PRIMARY KEY, n int); INSERT INTO t VALUES (1, 0);"
	strata run >/dev/null
	write_migration 2_other.sql "CREATE TABLE other (id int);"
	write_migration 3_update.sql "UPDATE t SET n = n + 1 WHERE id = 1;"
	write_migration 4_later.sql "CREATE TABLE later (id int);"
	holder_start
	holder_send "BEGIN; SELECT 1 FROM t WHERE id = 1 FOR UPDATE;"
	local pid
	pid=$(holder_pid)
	run strata run --lock-timeout 150ms --retries 2
	assert_failure 6
	assert_line --partial "Applied 2 other"
	assert_output --partial "migration 3 gave up after 3 attempts"
	assert_output --partial "Blocked by pid $pid (user 'postgres', application 'holder', idle in transaction"
	assert_output --partial "SELECT 'pid=' || pg_backend_pid();"
	assert_equal "$(attempts 3)" "failure:55P03 failure:55P03 failure:55P03"
	assert_equal "$(psql_db "SELECT string_agg(version::text, ',' ORDER BY version) FROM _sqlx_migrations")" "1,2"
	assert_equal "$(psql_db "SELECT n FROM t")" 0
	run --separate-stderr strata --format json run --lock-timeout 150ms --retries 0
	assert_failure 6
	assert_equal "$(jq -r .error.code <<<"$output")" 6
	[[ $(jq -r .error.detail <<<"$output") == *"Blocked by pid $pid "* ]]

	holder_send "ROLLBACK;"
	holder_stop
	run strata run --lock-timeout 150ms --retries 2
	assert_success
	assert_line --partial "Applied 3 update"
	assert_line --partial "Applied 4 later"
	assert_equal "$(psql_db "SELECT n FROM t")" 1
	assert_equal "$(attempts 3)" "failure:55P03 failure:55P03 failure:55P03 failure:55P03 success:"
}

@test "lock holder: a deadlock with another session is retried (40P01), then applied once" {
	write_migration 1_ab.sql "CREATE TABLE a (id int); CREATE TABLE b (id int);"
	strata run >/dev/null
	write_migration 2_both.sql "INSERT INTO a VALUES (2); INSERT INTO b VALUES (2);"
	holder_start
	# strata's backend runs the deadlock check first, so it is the victim
	holder_send "SET deadlock_timeout = '60s'; BEGIN; LOCK TABLE b IN ACCESS EXCLUSIVE MODE;"
	local pid
	pid=$(holder_pid)
	# (--lock-probe 0: every attempt waits, so that the cycle can close)
	strata run --lock-timeout 20s --lock-probe 0 --retries 3 >run.out 2>&1 &
	local job=$!
	# strata holds a (its INSERT) and waits for b: now close the cycle
	await_sql "SELECT 1 FROM pg_stat_activity WHERE application_name = 'strata' AND wait_event_type = 'Lock' AND $pid = ANY (pg_blocking_pids(pid))" >/dev/null
	holder_send "LOCK TABLE a IN ACCESS EXCLUSIVE MODE; INSERT INTO a VALUES (0); COMMIT;"
	local rc=0
	wait "$job" || rc=$?
	run cat run.out
	assert_equal "$rc" 0
	assert_output --partial "deadlock detected (SQLSTATE 40P01): attempt 2 of 4"
	assert_line --partial "Applied 2 both"
	assert_equal "$(attempts 2)" "failure:40P01 success:"
	assert_equal "$(psql_db "SELECT string_agg(id::text, ',' ORDER BY id) FROM a")" "0,2"
	assert_equal "$(psql_db "SELECT string_agg(id::text, ',' ORDER BY id) FROM b")" "2"
}
