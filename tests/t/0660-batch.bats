#!/usr/bin/env bats
# Batch migrations (-- strata:batch): one UPDATE/DELETE/INSERT ... SELECT
# bounded by LIMIT :batch_size, run batch after batch, each its own
# transaction, until it changes no row; fenced, so that a kill resumes on
# the next run; rows and batches in the output and the audit trail.

load lib

setup_file() {
	pg_start
}

# t: N rows (id, old, new_field NULL, n 0: how often a row was changed)
make_table() {
	write_migration 1_t.sql "CREATE TABLE t (id bigserial PRIMARY KEY, old int NOT NULL, new_field int, n int NOT NULL DEFAULT 0, other int NOT NULL DEFAULT 0);
INSERT INTO t (old) SELECT g FROM generate_series(1, $1) g;"
}

# $1: the directive line
backfill() {
	write_migration 2_backfill.sql <<EOF
-- backfill new_field
$1
UPDATE t SET new_field = old * 2, n = n + 1
 WHERE id IN (SELECT id FROM t WHERE new_field IS NULL LIMIT :batch_size);
EOF
}

@test "a batch migration runs batch after batch until no row changes, and says how many" {
	make_table 20000
	backfill "-- strata:batch size=500"
	run strata run
	assert_success
	assert_output --regexp "Applied 2 backfill \([^)]*\): 20000 rows in [0-9]+ batches"
	assert_equal "$(psql_db "SELECT count(*) FILTER (WHERE n = 1 AND new_field = old * 2), count(*) FILTER (WHERE n <> 1) FROM t")" "20000|0"
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" t
	# the trail: rows and batches of the run (more than one, the last
	# changing none)
	run psql_db "SELECT rows_changed, batches > 2, error FROM _strata_audit WHERE version = 2 AND action = 'apply'"
	assert_output --regexp "^20000\|t\|20000 rows in [0-9]+ batches$"
	run strata run
	assert_success
	assert_output --partial "up to date"
}

@test "each batch is its own transaction: another session sees rows committed while it runs" {
	make_table 6000
	# pauses long enough for the polls below to land between batches,
	# however fast a batch runs (sizes grow: about six batches here)
	backfill "-- strata:batch size=100 pause=300ms"
	strata -q run --target-version 1
	strata -q run &
	pid=$!
	# done rows appear before the migration ends
	seen=$(await_sql "SELECT count(*) FROM t WHERE new_field IS NOT NULL HAVING count(*) BETWEEN 1 AND 5999")
	wait "$pid"
	[[ $seen -gt 0 && $seen -lt 6000 ]]
	assert_equal "$(psql_db "SELECT count(*) FROM t WHERE n <> 1")" 0
}

@test "kill -9 at three random moments of a 1,000,000-row backfill: each run goes on where the last stopped, every row done once" {
	local seed=${STRATA_FAULT_SEED:-$RANDOM}
	echo "# seed $seed (STRATA_FAULT_SEED replays it)" >&3
	RANDOM=$seed
	make_table 1000000
	backfill "-- strata:batch size=5000 target=100ms"
	strata -q run --target-version 1
	for _ in 1 2 3; do
		delay=0.$((3 + RANDOM % 7))$((RANDOM % 10))
		strata -q run >run.out 2>&1 &
		pid=$!
		sleep "$delay"
		kill -9 "$pid" || fail "the run ended before the kill at ${delay} s: $(cat run.out)"
		wait "$pid" || true
		# killed part way: some rows done, the fence row failed
		done_rows=$(psql_db "SELECT count(*) FROM t WHERE new_field IS NOT NULL")
		[[ $done_rows -lt 1000000 ]]
		assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" f
	done
	[[ $done_rows -gt 0 ]]
	# what it is, and what to do
	run strata validate
	assert_output --partial "recorded as failed"
	assert_output --partial "Run again: it goes on where it stopped"
	run strata run
	assert_success
	assert_output --partial "Applied 2 backfill"
	assert_equal "$(psql_db "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n <> 1), count(*) FILTER (WHERE new_field IS NULL) FROM t")" "1000000|0|0"
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" t
}

@test "the batch size adapts to the time goal and progress says rows, rate and time left" {
	make_table 60000
	strata -q run --target-version 1
	backfill "-- strata:batch size=10 target=50ms pause=30ms total=SELECT count(*) FROM t WHERE new_field IS NULL"
	run strata run --progress-interval 0.2
	assert_success
	assert_output --regexp "Still applying 2 backfill: [0-9.]+ s, statement 1/1, batch [0-9]+: [0-9,]+ rows, [0-9,]+ rows/s, size [0-9,]+, about [0-9]+ s left, done [0-9]+%"
	assert_output --regexp "Applied 2 backfill \([^)]*\): 60000 rows in [0-9]+ batches"
	# it grew from 10: far fewer batches than 6,000
	run psql_db "SELECT batches FROM _strata_audit WHERE version = 2 AND action = 'apply'"
	[[ $output -lt 300 ]]
	assert_equal "$(psql_db "SELECT count(*) FROM t WHERE n <> 1")" 0
}

@test "the statement's shape is checked on its parse tree before anything runs" {
	make_table 10
	# no LIMIT :batch_size
	write_migration 2_b.sql "-- strata:batch
UPDATE t SET new_field = 1 WHERE new_field IS NULL;"
	run strata run
	assert_failure
	assert_output --partial "no SELECT in it has LIMIT :batch_size"
	assert_output --partial "2_b.sql:2"
	# nothing ran, not even the first migration
	run psql_db "SELECT count(*) FROM _sqlx_migrations"
	assert_output 0

	# no way to leave done rows out
	write_migration 2_b.sql "-- strata:batch
UPDATE t SET new_field = 1 WHERE id IN (SELECT id FROM t LIMIT :batch_size);"
	run strata run
	assert_failure
	assert_output --partial "no WHERE leaves the rows already done out"

	# :batch_size in a string is no placeholder
	write_migration 2_b.sql "-- strata:batch
UPDATE t SET new_field = length(':batch_size') WHERE new_field IS NULL;"
	run strata run
	assert_failure
	assert_output --partial "no SELECT in it has LIMIT :batch_size"

	# only as a LIMIT
	write_migration 2_b.sql "-- strata:batch
UPDATE t SET new_field = :batch_size WHERE id IN (SELECT id FROM t WHERE new_field IS NULL LIMIT :batch_size);"
	run strata run
	assert_failure
	assert_output --partial ":batch_size may only be a LIMIT"

	# one statement
	write_migration 2_b.sql "-- strata:batch
UPDATE t SET new_field = 1 WHERE id IN (SELECT id FROM t WHERE new_field IS NULL LIMIT :batch_size);
SELECT 1;"
	run strata run
	assert_failure
	assert_output --partial "holds 2 statements, not one"

	# a SELECT changes nothing
	write_migration 2_b.sql "-- strata:batch
SELECT id FROM t WHERE new_field IS NULL LIMIT :batch_size;"
	run strata run
	assert_failure
	assert_output --partial "must be an UPDATE, a DELETE or an INSERT ... SELECT"

	# an unknown option
	write_migration 2_b.sql "-- strata:batch size=0
UPDATE t SET new_field = 1 WHERE id IN (SELECT id FROM t WHERE new_field IS NULL LIMIT :batch_size);"
	run strata run
	assert_failure
	assert_output --partial "invalid option 'size=0' of -- strata:batch"

	# a WHERE that reads no column the UPDATE sets: a warning (a dry
	# run: this one would never end)
	write_migration 2_b.sql "-- strata:batch
UPDATE t SET new_field = 1 WHERE id IN (SELECT id FROM t WHERE n = 0 LIMIT :batch_size);"
	run strata run --dry-run
	assert_success
	assert_output --partial "strata cannot tell that rows already done are left out"
	rm migrations/2_b.sql
	# DELETE and INSERT ... SELECT
	write_migration 3_del.sql "-- strata:batch
DELETE FROM t WHERE id IN (SELECT id FROM t WHERE old > 5 LIMIT :batch_size);"
	write_migration 4_ins.sql "-- strata:batch
CREATE TABLE IF NOT EXISTS copy_of_t (id bigint PRIMARY KEY);"
	run strata run
	assert_failure
	assert_output --partial "must be an UPDATE, a DELETE or an INSERT ... SELECT"
	write_migration 4_ins.sql "CREATE TABLE copy_of_t (id bigint PRIMARY KEY);"
	write_migration 5_ins.sql "-- strata:batch size=2
INSERT INTO copy_of_t SELECT id FROM t WHERE NOT EXISTS (SELECT FROM copy_of_t c WHERE c.id = t.id) ORDER BY id LIMIT :batch_size;"
	run strata run
	assert_success
	assert_output --partial "Applied 3 del"
	assert_equal "$(psql_db "SELECT count(*), (SELECT count(*) FROM copy_of_t) FROM t")" "5|5"
}

@test "SQLite refuses a batch migration, saying why" {
	sqlite_db
	write_migration 1_t.sql "CREATE TABLE t (id integer PRIMARY KEY, a int);"
	write_migration 2_b.sql "-- strata:batch
UPDATE t SET a = 1 WHERE id IN (SELECT id FROM t WHERE a IS NULL LIMIT :batch_size);"
	run strata run
	assert_failure
	assert_output --partial "is a batch migration, which runs on PostgreSQL only"
	run sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM _sqlx_migrations"
	assert_output 0
}

@test "an audit table made before the rows and batches columns gains them" {
	make_table 300
	strata -q run --target-version 1
	psql_db "ALTER TABLE _strata_audit DROP COLUMN rows_changed, DROP COLUMN batches"
	backfill "-- strata:batch"
	run strata run
	assert_success
	assert_equal "$(psql_db "SELECT rows_changed, batches FROM _strata_audit WHERE version = 2 AND action = 'apply'")" "300|2"
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE version = 1 AND rows_changed IS NULL")" 1
}

@test "run --dry-run runs one batch, rolls it back, and estimates the whole" {
	make_table 5000
	strata -q run --target-version 1
	backfill "-- strata:batch size=100 total=SELECT count(*) FROM t WHERE new_field IS NULL"
	run strata run --dry-run
	assert_success
	assert_output --regexp "Would apply 2 backfill .*one batch of 100 changed 100 rows in [0-9]+ ms \(rolled back\); about 5,000 rows to do, about [0-9]+ s in all"
	assert_equal "$(psql_db "SELECT count(*) FROM t WHERE new_field IS NOT NULL OR n <> 0")" 0
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations WHERE version = 2")" 0
}

@test "a batch migration that does not scan: the error names its file and line, nothing runs" {
	make_table 10
	strata -q run --target-version 1
	write_migration 2_backfill.sql $'-- strata:batch\nUPDATE t SET new_field = 1 WHERE id IN (SELECT id FROM t WHERE "new_field IS NULL LIMIT :batch_size);'
	run strata run
	assert_failure 4
	assert_output --partial "unterminated quoted identifier"
	assert_output --partial "at migrations/2_backfill.sql:2:"
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations WHERE version = 2")" 0
}
