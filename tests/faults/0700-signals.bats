#!/usr/bin/env bats
# SIGINT and SIGTERM of strata at random moments: the same invariants as
# kill -9 (0100-kill.bats: nothing lost, nothing applied twice, an
# interrupted -- no-transaction migration a visible failed record that
# repair resolves), and more: strata cancels its statement and waits for
# the rollback, so right after it exits no statement of its runs on the
# server, and it exits 130 or 143.
#
# STRATA_FAULT_SEED replays a run's choices; STRATA_FAULT_KILLS sets how
# many signals (32).

load ../t/lib
load faults

SIGNALS=${STRATA_FAULT_KILLS:-32}

# Sessions of strata's still running a statement, one line each.
strata_statements() {
	psql_db "SELECT pid || ' ' || state || ': ' || left(query, 60) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'strata' AND state NOT IN ('idle') AND pid <> pg_backend_pid()"
}

@test "SIGINT/SIGTERM at random moments: nothing left running, lost, doubled or half-applied unseen" {
	fault_seed
	local signals=0 fenced=0 dbs=0 rc delay failed sig code left
	RETRIED=0 MARKED=0
	while ((signals < SIGNALS)); do
		new_db
		dbs=$((dbs + 1))
		write_set
		# statements long enough to be cut short: a migration and a
		# no-transaction one end with a second of sleep
		echo "SELECT pg_sleep(1);" >>migrations/3_txn_3.sql
		echo "SELECT pg_sleep(1);" >>migrations/6_nt_6.sql
		while :; do
			delay=$(random_ms 0 1500)
			if ((RANDOM % 2)); then
				sig=INT code=130
			else
				sig=TERM code=143
			fi
			# a shell without job control would start it with
			# SIGINT ignored
			env --default-signal "$STRATA_BIN" run --lock-wait 30s >run.out 2>&1 &
			local pid=$!
			sleep "$(ms_to_s "$delay")"
			kill -"$sig" "$pid" 2>/dev/null || true
			rc=0
			wait "$pid" || rc=$?
			# right away: strata waited for its statement to end
			left=$(strata_statements)
			if [[ -n $left ]]; then
				cat run.out >&2
				fail "after SIG$sig ($delay ms), still running: $left"
			fi
			if ((rc == 0)); then
				break # it finished first
			fi
			if ((rc != code)); then
				cat run.out >&2
				fail "strata run exited $rc after SIG$sig (${delay} ms), not $code"
			fi
			signals=$((signals + 1))
			# the lock was released, not left to the session's end
			assert_equal "$(psql_db "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0
			await_strata_gone
			assert_consistent "SIG$sig $signals (database $dbs, ${delay} ms)"
			failed=$(psql_db "SELECT version FROM _sqlx_migrations WHERE NOT success" 2>/dev/null || true)
			if [[ -n $failed ]]; then
				fenced=$((fenced + 1))
				grep -q "recorded as failed, see strata repair" run.out || {
					cat run.out >&2
					fail "the interrupt line does not say $failed is recorded as failed"
				}
				recover "$failed"
				assert_consistent "repair of $failed after SIG$sig $signals"
			else
				run strata check
				[[ $status == 0 || $status == 3 ]] || fail "check exited $status"
			fi
		done
		assert_consistent "the last run of database $dbs"
		assert_equal "$(psql_db "SELECT count(*) FILTER (WHERE success), count(*) FROM _sqlx_migrations")" "8|8"
		assert_equal "$(psql_db "SELECT count(*) FROM effects")" "$(psql_db "SELECT count(*) FROM expected")"
		strata check
	done
	echo "# $signals signals over $dbs databases; $fenced in a no-transaction migration ($RETRIED retried, $MARKED marked applied)" >&3
	((fenced > 0))
}
