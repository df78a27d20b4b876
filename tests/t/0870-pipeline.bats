#!/usr/bin/env bats
# A transactional migration in one round trip on PostgreSQL: BEGIN, its
# settings, its statements, the history and audit rows and COMMIT in one
# pipeline, counted through a TCP relay (bench/relay) that records each
# connection's round trips; and everything that used to follow from two
# (the failing statement's place, the rows' times, the lock's fence).
# run and revert --single-transaction send their migrations many at a
# time, in round trips that do not grow with them, and still say where a
# failure was, time each migration on the server and name the one under
# way.

load lib

teardown() {
	relay_stop
}

relay_url() {
	echo "postgresql://postgres@127.0.0.1:$RELAY_PORT/$TEST_DB?sslmode=disable&gssencmode=disable"
}

# relay_mark, then relay_trips once every connection through the relay
# is closed: the round trips of the busiest connection opened since the
# mark (the session running the migrations; relay_mark not in $(...))
relay_seen=0
relay_mark() {
	relay_seen=$(grep -vc '^open' "$RELAY_STATS" || true)
}
relay_trips() {
	for _ in {1..100}; do
		kill -USR1 "$RELAY_PID"
		sleep 0.05
		[[ $(grep '^open' "$RELAY_STATS" | tail -n 1) == "open 0" ]] && break
	done
	awk -v from="$relay_seen" '!/^open/ && ++k > from { if ($1 > m) m = $1 } END { print m + 0 }' "$RELAY_STATS"
}

many() {
	local i
	for ((i = $1; i <= $2; i++)); do
		write_migration "${i}_m$i.sql" "-- migration $i
CREATE TABLE t$i (id int PRIMARY KEY, v text DEFAULT 'x');
CREATE INDEX t${i}_v ON t$i (v);
INSERT INTO t$i (id) VALUES (1), (2);"
	done
}

# five_with_the_third_failing: migrations 1 to 5 (tables a to e), the
# third failing at its second statement, line 3
five_with_the_third_failing() {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	write_migration 3_c.sql "CREATE TABLE c (id int);

INSERT INTO c VALUES ('not a number');"
	write_migration 4_d.sql "CREATE TABLE d (id int);"
	write_migration 5_e.sql "CREATE TABLE e (id int);"
}

# trips_of_one_and_more N [RUN-OPTION...]: the round trips of `strata
# run` over one migration, then over N - 1 more, in $one and $more
trips_of_one_and_more() {
	local n=$1
	shift
	relay_start 0
	many 1 1
	relay_mark
	strata -d "$(relay_url)" run "$@"
	one=$(relay_trips)
	many 2 "$n"
	relay_mark
	strata -d "$(relay_url)" run "$@"
	more=$(relay_trips)
	echo "# 1 migration: $one round trips; $n: $more" >&3
}

# trips_of_revert_one_and_more N [REVERT-OPTION...]: N reversible
# migrations applied, then the round trips of `strata revert` of the
# newest, then of the N - 1 others (--all), in $one and $more
trips_of_revert_one_and_more() {
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		write_migration "${i}_m$i.up.sql" "CREATE TABLE t$i (id int PRIMARY KEY); CREATE INDEX t${i}_i ON t$i (id);"
		write_migration "${i}_m$i.down.sql" "DROP INDEX t${i}_i; DROP TABLE t$i;"
	done
	strata run
	relay_start 0
	relay_mark
	strata -d "$(relay_url)" revert "$@"
	one=$(relay_trips)
	relay_mark
	strata -d "$(relay_url)" revert --all "$@"
	more=$(relay_trips)
	echo "# 1 revert: $one round trips; $((n - 1)): $more" >&3
}

@test "pipeline: migrations each in its own transaction are sent without waiting for each: their round trips do not grow with them" {
	local one more
	trips_of_one_and_more 41
	# the same fixed cost (connect, lock, history) in both runs, and the
	# first creates the tables: 40 migrations more cost no round trip
	# each (the relay counts a batch twice when the server answers its
	# first statements before the client has sent its last)
	assert [ "$((more - one))" -le 10 ]
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations WHERE success')" 41
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'apply' AND outcome = 'success'")" 41
	# each its own transaction
	assert_equal "$(psql_db 'SELECT count(DISTINCT xmin::text) FROM _sqlx_migrations')" 41
}

@test "pipeline: a failure in the third of five migrations sent together: the two before it are applied, nothing after it ran" {
	five_with_the_third_failing
	run strata run
	assert_failure
	assert_output --partial "migrations/3_c.sql:3"
	assert_output --partial "statement 2"
	assert_output --partial "not a number"
	assert_output --partial "Migration 3 was rolled back: nothing of it was applied."
	assert_equal "$(grep -oE 'Appl(ying|ied) [0-9] [a-z]+' <<<"$output" | paste -sd,)" "Applying 1 a,Applied 1 a,Applying 2 b,Applied 2 b,Applying 3 c"
	assert_equal "$(psql_db 'SELECT string_agg(version::text, $$,$$ ORDER BY version) FROM _sqlx_migrations')" "1,2"
	assert_equal "$(psql_db "SELECT to_regclass('b') IS NOT NULL, to_regclass('c') IS NULL, to_regclass('d') IS NULL, to_regclass('e') IS NULL")" "t|t|t|t"
	assert_equal "$(psql_db "SELECT string_agg(version || ':' || outcome, ',' ORDER BY id) FROM _strata_audit")" "1:success,2:success,3:failure"
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	strata run
	assert_equal "$(psql_db 'SELECT string_agg(version::text, $$,$$ ORDER BY version) FROM _sqlx_migrations')" "1,2,3,4,5"
}

@test "pipeline: a migration sent with others that loses its lock race is retried on its own, the ones before it kept, the ones after it run after" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_a.sql "CREATE TABLE a (id int);"
	write_migration 3_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	write_migration 4_b.sql "CREATE TABLE b (id int);"
	hold_lock 1.5
	run strata run --lock-timeout 5s --retries 5
	release_holder
	assert_success
	assert_output --partial "attempt 2 of 6"
	assert_equal "$(psql_db 'SELECT string_agg(version::text, $$,$$ ORDER BY version) FROM _sqlx_migrations')" "1,2,3,4"
	# 2 committed before 3's first try, 4 after 3 at last
	assert_equal "$(psql_db "SELECT string_agg(version || ':' || outcome, ',' ORDER BY id) FROM _strata_audit WHERE version > 1 AND (outcome = 'success' OR version = 3)" | sed -E 's/(3:failure,)+/3:failure,/')" "2:success,3:failure,3:success,4:success"
}

@test "pipeline: each migration sent with others is said applied once its COMMIT is in, before the next one ends" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_slow.sql "SELECT pg_sleep(3);"
	strata run >"$BATS_TEST_TMPDIR/out" 2>&1 &
	local pid=$! i
	for i in {1..100}; do
		grep -q "Applying 2 slow" "$BATS_TEST_TMPDIR/out" && break
		sleep 0.05
	done
	grep -q "Applying 2 slow" "$BATS_TEST_TMPDIR/out"
	# 2 still running, 1 already said applied and committed
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial "Applied 1 a"
	refute_output --partial "Applied 2 slow"
	assert_equal "$(psql_db 'SELECT string_agg(version::text, $$,$$ ORDER BY version) FROM _sqlx_migrations')" "1"
	wait "$pid"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial "Applied 2 slow"
}

@test "pipeline: reverts each in its own transaction are sent without waiting for each: their round trips do not grow with them" {
	local one more
	trips_of_revert_one_and_more 21
	assert [ "$((more - one))" -le 10 ]
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 0
	assert_equal "$(psql_db "SELECT count(*), bool_and(duration_ns > 0) FROM _strata_audit WHERE action = 'revert' AND outcome = 'success'")" "21|t"
}

@test "pipeline: revert --all: a down failing in the middle of those sent together leaves the ones before it reverted and nothing after it run" {
	local i
	for i in 1 2 3 4 5; do
		write_migration "${i}_m$i.up.sql" "CREATE TABLE t$i (id int);"
		write_migration "${i}_m$i.down.sql" "DROP TABLE t$i;"
	done
	write_migration 3_m3.down.sql "DROP TABLE t3; SELECT 1 / 0;"
	strata run
	run strata revert --all
	assert_failure
	assert_output --partial "migrations/3_m3.down.sql:1"
	assert_output --partial "division by zero"
	assert_equal "$(grep -oE 'Revert(ing|ed) [0-9] m[0-9]' <<<"$output" | paste -sd,)" "Reverting 5 m5,Reverted 5 m5,Reverting 4 m4,Reverted 4 m4,Reverting 3 m3"
	assert_equal "$(psql_db 'SELECT string_agg(version::text, $$,$$ ORDER BY version) FROM _sqlx_migrations')" "1,2,3"
	assert_equal "$(psql_db "SELECT to_regclass('t3') IS NOT NULL, to_regclass('t2') IS NOT NULL, to_regclass('t4') IS NULL")" "t|t|t"
	assert_equal "$(psql_db "SELECT string_agg(version || ':' || outcome, ',' ORDER BY id) FROM _strata_audit WHERE action = 'revert'")" "5:success,4:success,3:failure"
}

@test "pipeline: a failed statement names its file and line; nothing of the migration stays, its failure is in the audit trail" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "-- a comment
CREATE TABLE b (id int);
INSERT INTO b VALUES (1);

INSERT INTO b VALUES ('not a number');
CREATE TABLE b2 (id int);"
	run strata run
	assert_failure
	assert_output --partial "migrations/2_b.sql:5"
	assert_output --partial "not a number"
	assert_output --partial "Migration 2 was rolled back"
	assert_equal "$(psql_db 'SELECT version FROM _sqlx_migrations ORDER BY version')" 1
	assert_equal "$(psql_db "SELECT to_regclass('b') IS NULL, to_regclass('b2') IS NULL")" "t|t"
	assert_equal "$(psql_db "SELECT outcome, sqlstate, error LIKE '%(at migrations/2_b.sql:5)' FROM _strata_audit WHERE version = 2")" "failure|22P02|t"
	# fixed, it applies
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	strata run
	assert_equal "$(psql_db 'SELECT version FROM _sqlx_migrations WHERE success ORDER BY version' | paste -sd,)" "1,2"
}

@test "pipeline: the history's execution time and the audit's duration are the server's, the end after the start" {
	write_migration 1_slow.sql "CREATE TABLE s (id int); SELECT pg_sleep(0.2);"
	strata run
	# 0.2 s at least, on the server's clock
	assert_equal "$(psql_db 'SELECT execution_time >= 200000000, execution_time < 60000000000 FROM _sqlx_migrations')" "t|t"
	assert_equal "$(psql_db "SELECT duration_ns >= 200000000, finished_at >= started_at + interval '0.2 s', finished_at - started_at < interval '60 s' FROM _strata_audit WHERE action = 'apply'")" "t|t|t"
	# one measure: the audit's duration is the history's
	assert_equal "$(psql_db "SELECT a.duration_ns = h.execution_time FROM _strata_audit a JOIN _sqlx_migrations h USING (version) WHERE a.action = 'apply'")" "t"
}

@test "pipeline: a migration waiting for its lock still names its blocker, and is retried" {
	psql_db "CREATE TABLE t (id int)" >/dev/null
	write_migration 1_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	hold_lock 3
	run strata run --lock-timeout 300ms --retries 1
	assert_failure 6
	assert_output --partial "Blocked by pid $HOLDER_PID"
	release_holder
	strata run
	assert_equal "$(psql_db "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'c'")" 1
}


@test "pipeline: --single-transaction sends its migrations without waiting for each: its round trips do not grow with them" {
	local one more
	trips_of_one_and_more 41 --single-transaction
	# one a migration sent each on its own (40 more); sent together, the
	# relay still counts the client's later writes of the batch once the
	# server has answered its first statements (more on a busy machine)
	assert [ "$((more - one))" -le 10 ]
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations WHERE success')" 41
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'apply' AND outcome = 'success'")" 41
}

@test "pipeline: --single-transaction: a failure in the third of five names its file and line, stops there, and leaves nothing" {
	five_with_the_third_failing
	run strata run --single-transaction
	assert_failure
	assert_output --partial "migrations/3_c.sql:3"
	assert_output --partial "statement 2"
	assert_output --partial "not a number"
	assert_output --partial "nothing was applied"
	assert_output --partial "Applying 3 c"
	refute_output --partial "Applying 4 d"
	refute_output --partial "Applied"
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 0
	assert_equal "$(psql_db "SELECT to_regclass('a') IS NULL, to_regclass('d') IS NULL")" "t|t"
	assert_equal "$(psql_db "SELECT version, outcome, sqlstate FROM _strata_audit")" "3|failure|22P02"
	# fixed, all five apply
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	strata run --single-transaction
	assert_equal "$(psql_db 'SELECT string_agg(version::text, $$,$$ ORDER BY version) FROM _sqlx_migrations')" "1,2,3,4,5"
}

@test "pipeline: --single-transaction times each migration on the server, one after the other" {
	write_migration 1_quick.sql "CREATE TABLE q (id int);"
	write_migration 2_slow.sql "CREATE TABLE s (id int); SELECT pg_sleep(0.3);"
	write_migration 3_quick.sql "CREATE TABLE q3 (id int);"
	write_migration 4_slow.sql "SELECT pg_sleep(0.2);"
	run strata run --single-transaction
	assert_success
	assert_line --regexp "^Applied 1 quick \([0-9.]+ ms\)$"
	assert_line --regexp "^Applied 2 slow \(3[0-9][0-9]\.[0-9] ms\)$"
	assert_equal "$(psql_db 'SELECT string_agg((execution_time >= 300000000)::text, $$,$$ ORDER BY version) FROM _sqlx_migrations')" "false,true,false,false"
	assert_equal "$(psql_db 'SELECT execution_time BETWEEN 200000000 AND 290000000 FROM _sqlx_migrations WHERE version = 4')" t
	# each one's own time: the slow ones' sleeps are not the quick ones'
	assert_equal "$(psql_db 'SELECT bool_and(execution_time < 100000000) FROM _sqlx_migrations WHERE version IN (1, 3)')" t
	# the audit's duration is the history's, each one's start after the
	# end of the one before, on the server's clock
	assert_equal "$(psql_db "SELECT bool_and(a.duration_ns = h.execution_time), bool_and(a.finished_at = a.started_at + a.duration_ns / 1000 * interval '1 microsecond') FROM _strata_audit a JOIN _sqlx_migrations h USING (version)")" "t|t"
	assert_equal "$(psql_db "SELECT bool_and(a.started_at >= b.finished_at - interval '1 microsecond') FROM _strata_audit a JOIN _strata_audit b ON b.version = a.version - 1")" t
	assert_equal "$(psql_db "SELECT max(finished_at) - min(started_at) >= interval '0.5 s' FROM _strata_audit")" t
}

@test "pipeline: --single-transaction sets each migration's timeouts and mark in one statement, parsed once" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	local from
	from=$(log_from)
	PGOPTIONS="-c log_statement=all" run strata run --single-transaction
	assert_success
	assert_equal "$(logged "$from" "execute strata_")" 9
	assert_equal "$(tail -c +"$from" "$STRATA_TEST_CLUSTER_DIR/server.log" | grep -c "execute strata_[0-9]*: SELECT pg_catalog.set_config('lock_timeout', \$1, true), pg_catalog.set_config('statement_timeout', \$2, true), pg_catalog.set_config('strata.step_at'")" 3
	assert_equal "$(logged "$from" "set_config('strata.step_at'")" 3
	assert_equal "$(logged "$from" "SET LOCAL")" 0
}

@test "pipeline: a migration in its own transaction sends BEGIN, one statement of timeouts and mark, its own, its rows, the lock's check and COMMIT, strata's parsed once" {
	for i in 1 2 3 4; do
		write_migration "${i}_t$i.sql" "CREATE TABLE t$i (id int);"
	done
	local from
	from=$(log_from)
	PGOPTIONS="-c log_statement=all" run strata run --lock-timeout 15ms
	assert_success
	# each: timeouts and mark, history row, audit row, lock check
	assert_equal "$(logged "$from" "execute strata_")" 16
	assert_equal "$(logged "$from" "SET LOCAL")" 0
	assert_equal "$(tail -c +"$from" "$STRATA_TEST_CLUSTER_DIR/server.log" | grep -c "execute strata_[0-9]*: SELECT 1 / (NOT pg_catalog.pg_try_advisory_xact_lock_shared(\$1))::int")" 4
	assert_equal "$(logged "$from" "execute <unnamed>: SELECT 1 / (NOT")" 0
	assert_equal "$(tail -c +"$from" "$STRATA_TEST_CLUSTER_DIR/server.log" | grep -c "DETAIL:  parameters: \$1 = '15', \$2 = '0'")" 4
	# each its own transaction still (the timeouts set with is_local
	# true above: the transaction's)
	assert_equal "$(psql_db 'SELECT count(DISTINCT xmin::text) FROM _sqlx_migrations')" 4
	assert_equal "$(logged "$from" "COMMIT")" 4
}

@test "pipeline: a revert deletes its history row and reads its server time in one statement, and its audit row has that time" {
	for i in 1 2 3; do
		write_migration "${i}_m$i.up.sql" "CREATE TABLE t$i (id int);"
		write_migration "${i}_m$i.down.sql" "DROP TABLE t$i;"
	done
	write_migration 2_m2.down.sql "SELECT pg_sleep(0.2); DROP TABLE t2;"
	strata run
	local from
	from=$(log_from)
	PGOPTIONS="-c log_statement=all" run strata revert --all
	assert_success
	assert_line --regexp "^Reverted 2 m2 \([2-9][0-9][0-9]\.[0-9] ms\)$"
	assert_equal "$(logged "$from" 'RETURNING CAST(pg_catalog.set_config('"'"'strata.elapsed_ns'"'"'')" 3
	assert_equal "$(logged "$from" "SELECT CAST(pg_catalog.set_config('strata.elapsed_ns'")" 0
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 0
	assert_equal "$(psql_db "SELECT string_agg((duration_ns >= 200000000)::text, ',' ORDER BY version) FROM _strata_audit WHERE action = 'revert'")" "false,true,false"
}

@test "pipeline: --single-transaction names the migration under way to the server while it runs" {
	write_migration 1_first.sql "CREATE TABLE f (id int);"
	write_migration 2_sleeps.sql "SELECT pg_sleep(2);"
	write_migration 3_last.sql "CREATE TABLE l (id int);"
	strata run --single-transaction >"$BATS_TEST_TMPDIR/out" 2>&1 &
	local job=$! seen=""
	for _ in {1..60}; do
		seen=$(psql_db "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'strata: %'")
		[[ -n $seen ]] && break
		sleep 0.05
	done
	wait "$job"
	assert_equal "$seen" "strata: applying 2 sleeps"
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 3
}

@test "pipeline: revert --all --single-transaction sends its downs without waiting for each: its round trips do not grow with them" {
	local one more
	trips_of_revert_one_and_more 41 --single-transaction
	# as a run's (above): not one a migration
	assert [ "$((more - one))" -le 10 ]
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 0
	assert_equal "$(psql_db "SELECT count(*), bool_and(duration_ns > 0), bool_and(finished_at >= started_at) FROM _strata_audit WHERE action = 'revert' AND outcome = 'success'")" "41|t|t"
}

@test "pipeline: revert --all --single-transaction: a failed down names its file and line, and nothing is reverted" {
	local i
	for i in 1 2 3 4; do
		write_migration "${i}_m$i.up.sql" "CREATE TABLE t$i (id int);"
		write_migration "${i}_m$i.down.sql" "DROP TABLE t$i;"
	done
	write_migration 2_m2.down.sql "DROP TABLE t2;
DROP TABLE no_such_table;"
	strata run
	run strata revert --all --single-transaction
	assert_failure
	assert_output --partial "migrations/2_m2.down.sql:2"
	assert_output --partial "no_such_table"
	assert_output --partial "nothing was reverted"
	refute_output --partial "Reverting 1 m1"
	assert_equal "$(psql_db 'SELECT string_agg(version::text, $$,$$ ORDER BY version) FROM _sqlx_migrations')" "1,2,3,4"
	assert_equal "$(psql_db "SELECT to_regclass('t4') IS NOT NULL, to_regclass('t2') IS NOT NULL")" "t|t"
	assert_equal "$(psql_db "SELECT version, action, outcome, sqlstate FROM _strata_audit WHERE outcome = 'failure'")" "2|revert|failure|42P01"
}

@test "pipeline: --single-transaction says each migration as it begins, one of no statement too, in order" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_empty.sql "-- nothing to do yet"
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	run strata run --single-transaction
	assert_success
	assert_equal "$(grep -o 'Applying [0-9] [a-z]*' <<<"$output" | paste -sd,)" "Applying 1 a,Applying 2 empty,Applying 3 c"
	assert_equal "$(psql_db 'SELECT string_agg(version::text, $$,$$ ORDER BY version) FROM _sqlx_migrations')" "1,2,3"
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'apply' AND outcome = 'success'")" 3
}

@test "pipeline: --single-transaction over several batches: a round trip each, and a failure in a later one leaves nothing of the earlier" {
	local i one more
	for i in {1..260}; do
		write_migration "${i}_t$i.sql" "CREATE TABLE t$i (id int);"
	done
	write_migration 250_t250.sql "CREATE TABLE t250 (id int); SELECT 1 / 0;"
	run strata run --single-transaction
	assert_failure
	assert_output --partial "migrations/250_t250.sql:1"
	assert_output --partial "division by zero"
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 0
	assert_equal "$(psql_db "SELECT to_regclass('t1') IS NULL, to_regclass('t249') IS NULL")" "t|t"
	write_migration 250_t250.sql "CREATE TABLE t250 (id int);"
	relay_start 0
	relay_mark
	strata -d "$(relay_url)" run --single-transaction
	more=$(relay_trips)
	echo "# 260 migrations: $more round trips" >&3
	# connecting, the lock, the history and the commit, and three batches
	# (the relay counts a batch twice when the server answers its first
	# statements before the client has sent its last): not one each
	assert [ "$more" -le 20 ]
	assert_equal "$(psql_db 'SELECT count(*), count(DISTINCT execution_time) > 1 FROM _sqlx_migrations')" "260|t"
}
