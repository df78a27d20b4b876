# tests/faults/faults.bash: what the fault suite adds to tests/t/lib.bash
# (which every file loads first, with `load ../t/lib`).
#
#   fault_seed           seed bash's RANDOM from STRATA_FAULT_SEED (else a
#                        fresh seed) and print it in the TAP output, so a
#                        failing run can be replayed
#   await_strata_gone    wait until no session of strata's (application
#                        'strata') is left on $TEST_DB: a killed client's
#                        backend may still be finishing its statement
#   pg_server_stop [MODE], pg_server_start, pg_restart [MODE]
#                        pg_ctl stop -m MODE (fast) and start of this file's
#                        cluster, its watchdog following the new postmaster
#                        (setup_file must export FAULT_FILE_PID=$$: the
#                        watchdog watches the file's process, not a test's)
#   random_ms LO HI      a random whole number of ms in [LO, HI]
#   ms_to_s MS           MS as seconds for sleep and pg_sleep (0.042)
#
# A set of migrations whose effects can be counted (for the kill and
# restart tests): each records its effects as rows (version, step) of a
# table `effects`, and `expected` lists what each one writes. The
# transactional ones sleep between their effects, the non-transactional
# ones (2, 4 and 6) between statements that each leave a mark, 4 with a
# CREATE INDEX CONCURRENTLY.
#
#   write_set            the tables (made here, not by a migration) and
#                        migrations 1-8 in migrations/, sleeps of 5-100 ms
#                        drawn from RANDOM
#   assert_consistent WHAT
#                        fails, naming WHAT, on a duplicated effect, an
#                        effect without its history row, an applied
#                        migration missing an effect, a failed record of a
#                        transactional migration, an apply recorded twice
#                        in the audit trail, an applied but invalid index
#   recover V            the failed record of V: status, check and run say
#                        so and run changes nothing; then the documented
#                        repair, chosen by RANDOM: undo by hand and
#                        `repair --retry`, or complete by hand and `repair
#                        --mark-applied` (counted in RETRIED and MARKED)

fault_seed() {
	local seed=${STRATA_FAULT_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
	RANDOM=$seed
	echo "# $BATS_TEST_DESCRIPTION: seed $seed (STRATA_FAULT_SEED=$seed to replay)" >&3
}

random_ms() {
	echo $(($1 + RANDOM % ($2 - $1 + 1)))
}

ms_to_s() {
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

await_strata_gone() {
	await_sql "SELECT 'gone' WHERE NOT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'strata')" >/dev/null
}

# pg_ctl ACTION [ARG...] on this file's cluster, as the server's user.
_fault_pg_ctl() {
	(
		cd "$STRATA_TEST_CLUSTER_DIR" && _strata_close_fds
		_pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_ctl" \
			-D "$STRATA_TEST_CLUSTER_DATA" -w -t 60 -s "$@"
	) </dev/null >>"$STRATA_TEST_CLUSTER_DIR/pg_ctl.out" 2>&1
}

pg_server_stop() {
	if [[ -n ${STRATA_TEST_CLUSTER_WATCHDOG:-} ]]; then
		kill "$STRATA_TEST_CLUSTER_WATCHDOG" 2>/dev/null || true
		unset STRATA_TEST_CLUSTER_WATCHDOG
	fi
	_fault_pg_ctl -m "${1:-fast}" stop
}

pg_server_start() {
	local pid
	_fault_pg_ctl -l "$STRATA_TEST_CLUSTER_DIR/server.log" start || return 1
	pid=$(_pg_postmaster_pid) || return 1
	(_pg_watchdog "${FAULT_FILE_PID:?setup_file: export FAULT_FILE_PID=\$\$}" "$pid") &
	export STRATA_TEST_CLUSTER_WATCHDOG=$!
}

pg_restart() {
	pg_server_stop "${1:-fast}" && pg_server_start
}

# The migrations of one database, sleeps drawn from the seed; `expected`
# and the tables they write to are created here, not by a migration.
write_set() {
	local v step steps kind sql rows=
	psql_db "CREATE TABLE effects (version int NOT NULL, step int NOT NULL);
CREATE TABLE expected (version int NOT NULL, step int NOT NULL, txn bool NOT NULL);
CREATE TABLE big (id int, k int);
INSERT INTO big SELECT i, i % 97 FROM generate_series(1, 20000) i;"
	for v in 1 2 3 4 5 6 7 8; do
		case $v in
		2 | 4 | 6) kind=nt ;;
		*) kind=txn ;;
		esac
		steps=$((2 + RANDOM % 3))
		sql=
		[[ $kind == nt ]] && sql+=$'-- no-transaction\n'
		for step in $(seq 1 "$steps"); do
			((step > 1)) && sql+="SELECT pg_sleep($(ms_to_s "$(random_ms 5 100)"));"$'\n'
			if [[ $v == 4 && $step == 2 ]]; then
				sql+=$'CREATE INDEX CONCURRENTLY big_k ON big (k);\n'
			fi
			sql+="INSERT INTO effects VALUES ($v, $step);"$'\n'
			rows+="${rows:+, }($v, $step, $([[ $kind == txn ]] && echo true || echo false))"
		done
		write_migration "${v}_${kind}_$v.sql" "$sql"
	done
	psql_db "INSERT INTO expected VALUES $rows"
}

# Every way the database could be inconsistent, one line each; nothing
# when it is consistent.
violations() {
	psql_db "SELECT 'duplicate effect ' || version || '.' || step FROM effects GROUP BY version, step HAVING count(*) > 1
UNION ALL
SELECT 'unknown effect ' || e.version || '.' || e.step FROM effects e LEFT JOIN expected x USING (version, step) WHERE x.version IS NULL
UNION ALL
SELECT 'effect without a history row ' || e.version || '.' || e.step FROM effects e WHERE NOT EXISTS (SELECT FROM _sqlx_migrations h WHERE h.version = e.version)
UNION ALL
SELECT 'applied without effect ' || x.version || '.' || x.step FROM expected x JOIN _sqlx_migrations h ON h.version = x.version AND h.success WHERE NOT EXISTS (SELECT FROM effects e WHERE (e.version, e.step) = (x.version, x.step))
UNION ALL
SELECT 'effect out of order ' || e.version || '.' || e.step FROM effects e WHERE e.step > 1 AND NOT EXISTS (SELECT FROM effects p WHERE (p.version, p.step) = (e.version, e.step - 1))
UNION ALL
SELECT 'failed record of a transactional migration ' || h.version FROM _sqlx_migrations h WHERE NOT h.success AND (SELECT bool_and(txn) FROM expected x WHERE x.version = h.version)
UNION ALL
SELECT 'history row of an unknown migration ' || h.version FROM _sqlx_migrations h WHERE NOT EXISTS (SELECT FROM expected x WHERE x.version = h.version)
UNION ALL
SELECT 'applied twice in the audit trail ' || version FROM _strata_audit WHERE action = 'apply' AND outcome = 'success' GROUP BY version HAVING count(*) > 1
UNION ALL
SELECT 'index big_k applied but not valid' FROM _sqlx_migrations h WHERE h.version = 4 AND h.success AND NOT coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('big_k')), false)"
}

assert_consistent() {
	local what=$1 out
	if [[ $(psql_db "SELECT to_regclass('_sqlx_migrations') IS NULL OR to_regclass('_strata_audit') IS NULL") == t ]]; then
		# killed before strata made its tables: nothing may have run
		assert_equal "$(psql_db "SELECT count(*) FROM effects")" 0
		return 0
	fi
	out=$(violations)
	if [[ -n $out ]]; then
		echo "after $what:" >&2
		echo "$out" >&2
		psql_db "SELECT version, success FROM _sqlx_migrations ORDER BY 1" >&2
		return 1
	fi
}

effects_snapshot() {
	psql_db "SELECT string_agg(version || '.' || step, ' ' ORDER BY version, step) FROM effects"
}

# The failed record's migration, done the documented way: a human either
# undoes what it did and retries it, or completes it and marks it applied.
recover() {
	local v=$1 before
	before=$(effects_snapshot)
	run strata status
	assert_success
	assert_line --regexp "^$v +failed"
	run strata check
	assert_failure 4
	run strata run
	assert_failure 4
	assert_output --partial "migration $v ("
	assert_output --partial "is recorded as failed"
	# refused before anything ran
	assert_equal "$(effects_snapshot)" "$before"
	if ((RANDOM % 2)); then
		psql_db "DELETE FROM effects WHERE version = $v"
		[[ $v != 4 ]] || psql_db "DROP INDEX IF EXISTS big_k"
		strata repair --retry "$v" >/dev/null
		RETRIED=$((RETRIED + 1))
	else
		psql_db "INSERT INTO effects SELECT version, step FROM expected x WHERE version = $v AND NOT EXISTS (SELECT FROM effects e WHERE (e.version, e.step) = (x.version, x.step))"
		if [[ $v == 4 ]]; then
			# an interrupted CREATE INDEX CONCURRENTLY leaves an invalid index
			psql_db "DROP INDEX IF EXISTS big_k"
			psql_db "CREATE INDEX big_k ON big (k)"
		fi
		strata repair --mark-applied "$v" >/dev/null
		MARKED=$((MARKED + 1))
	fi
}
