#!/usr/bin/env bats
# kill -9 of strata at random moments (design.md, Crash model): a migration is
# never applied twice nor recorded without its effect; an interrupted
# -- no-transaction migration is a visible failed record that blocks later
# runs until repair; after repair, running again converges.
#
# The migrations are faults.bash's write_set: transactional and
# non-transactional ones that sleep between effects counted in a table.
# STRATA_FAULT_SEED replays a run's choices (sleeps, kill delays, repairs;
# where a kill lands still depends on timing); STRATA_FAULT_KILLS sets how
# many kills (32).

load ../t/lib
load faults

KILLS=${STRATA_FAULT_KILLS:-32}

@test "kill -9 at random moments: no migration lost, doubled or half-applied unseen; repair converges" {
	fault_seed
	local kills=0 fenced=0 dbs=0 rc delay failed
	RETRIED=0 MARKED=0
	while ((kills < KILLS)); do
		new_db
		dbs=$((dbs + 1))
		write_set
		while :; do
			delay=$(random_ms 0 500)
			"$STRATA_BIN" run --lock-wait 30s >run.out 2>&1 &
			local pid=$!
			sleep "$(ms_to_s "$delay")"
			kill -9 "$pid" 2>/dev/null || true
			rc=0
			{ wait "$pid"; } 2>/dev/null || rc=$?
			if ((rc != 137)); then
				# it finished first
				if ((rc != 0)); then
					cat run.out >&2
					fail "strata run exited $rc"
				fi
				break
			fi
			kills=$((kills + 1))
			await_strata_gone
			assert_consistent "kill $kills (database $dbs, ${delay} ms)"
			failed=$(psql_db "SELECT version FROM _sqlx_migrations WHERE NOT success" 2>/dev/null || true)
			if [[ -n $failed ]]; then
				fenced=$((fenced + 1))
				recover "$failed"
				assert_consistent "repair of $failed after kill $kills"
			else
				# a killed transactional migration left nothing: pending
				run strata check
				[[ $status == 0 || $status == 3 ]] || fail "check exited $status"
			fi
		done
		# converged: every migration applied exactly once
		assert_consistent "the last run of database $dbs"
		assert_equal "$(psql_db "SELECT count(*) FILTER (WHERE success), count(*) FROM _sqlx_migrations")" "8|8"
		assert_equal "$(psql_db "SELECT count(*) FROM effects")" "$(psql_db "SELECT count(*) FROM expected")"
		strata check
	done
	echo "# $kills kills over $dbs databases; $fenced in a no-transaction migration ($RETRIED retried, $MARKED marked applied)" >&3
	# the fence was exercised, not only transactions
	((fenced > 0))
}
