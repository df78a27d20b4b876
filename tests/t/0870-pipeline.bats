#!/usr/bin/env bats
# A transactional migration in one round trip on PostgreSQL: BEGIN, its
# settings, its statements, the history and audit rows and COMMIT in one
# pipeline, counted through a TCP relay (bench/relay) that records each
# connection's round trips; and everything that used to follow from two
# (the failing statement's place, the rows' times, the lock's fence).

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

@test "pipeline: each transactional migration is one round trip on its session" {
	relay_start 0
	many 1 1
	relay_mark
	strata -d "$(relay_url)" run
	local one more
	one=$(relay_trips)
	many 2 21
	relay_mark
	strata -d "$(relay_url)" run
	more=$(relay_trips)
	# the same fixed cost (connect, lock, history) in both runs: the
	# difference is what 20 migrations more cost
	echo "# 1 migration: $one round trips; 21: $more" >&3
	assert [ "$((more - one))" -le 21 ]
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations WHERE success')" 21
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'apply' AND outcome = 'success'")" 21
}

@test "pipeline: each transactional revert is one round trip on its session" {
	local i one more
	for i in {1..21}; do
		write_migration "${i}_m$i.up.sql" "CREATE TABLE t$i (id int PRIMARY KEY); CREATE INDEX t${i}_i ON t$i (id);"
		write_migration "${i}_m$i.down.sql" "DROP INDEX t${i}_i; DROP TABLE t$i;"
	done
	strata run
	relay_start 0
	relay_mark
	strata -d "$(relay_url)" revert
	one=$(relay_trips)
	relay_mark
	strata -d "$(relay_url)" revert --all
	more=$(relay_trips)
	echo "# 1 revert: $one round trips; 20: $more" >&3
	assert [ "$((more - one))" -le 20 ]
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 0
	assert_equal "$(psql_db "SELECT count(*), bool_and(duration_ns > 0) FROM _strata_audit WHERE action = 'revert' AND outcome = 'success'")" "21|t"
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

