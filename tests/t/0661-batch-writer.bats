#!/usr/bin/env bats
# A batch migration holds its row locks for one batch at a time: an
# application's UPDATE of one row never waits long while a backfill runs.

load lib

setup_file() {
	pg_start
}

@test "a concurrent writer's single-row UPDATE waits well under a second throughout a 1,000,000-row backfill" {
	write_migration 1_t.sql "CREATE TABLE t (id bigserial PRIMARY KEY, old int NOT NULL, new_field int, n int NOT NULL DEFAULT 0, other int NOT NULL DEFAULT 0);
INSERT INTO t (old) SELECT g FROM generate_series(1, 1000000) g;
ANALYZE t;"
	write_migration 2_backfill.sql "-- strata:batch size=5000 target=100ms
UPDATE t SET new_field = old * 2, n = n + 1
 WHERE id IN (SELECT id FROM t WHERE new_field IS NULL LIMIT :batch_size);"
	strata -q run --target-version 1
	# the writer: one row at a time, spread over the table, each timed
	{
		echo '\timing on'
		for i in $(seq 1 6000); do
			echo "UPDATE t SET other = other + 1 WHERE id = $(((i * 7919) % 1000000 + 1));"
			echo "SELECT pg_sleep(0.01);"
		done
	} >writer.sql
	strata run --progress-interval 0.5 >run.out 2>&1 &
	run_pid=$!
	psql -X -A -t -d "$TEST_DB" -f writer.sql >writer.out 2>&1 &
	writer_pid=$!
	wait "$run_pid"
	kill "$writer_pid" 2>/dev/null || true
	wait "$writer_pid" || true
	run cat run.out
	assert_output --regexp "Applied 2 backfill \([^)]*\): 1000000 rows in [0-9]+ batches"
	# the UPDATEs that ran while the backfill did: each one's time
	awk '/^UPDATE 1$/ { u = 1; next } u && /^Time: / { print $2; u = 0 }' writer.out >times
	n=$(wc -l <times)
	worst=$(sort -g times | tail -1)
	echo "writer: $n updates, the slowest $worst ms" >&3
	[[ $n -ge 20 ]]
	awk -v w="$worst" 'BEGIN { exit !(w < 1000) }'
	assert_equal "$(psql_db "SELECT count(*) FILTER (WHERE n <> 1), count(*) FILTER (WHERE new_field IS NULL) FROM t")" "0|0"
}
