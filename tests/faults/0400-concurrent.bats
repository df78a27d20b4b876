#!/usr/bin/env bats
# Many runners at once on one database (design.md, The lock: one process
# migrates at a time; waiters poll the advisory lock and never sit inside
# a statement, which CREATE INDEX CONCURRENTLY would wait for forever).

load ../t/lib
load faults

RUNNERS=20

@test "20 concurrent runs with a CREATE INDEX CONCURRENTLY: each migration once, the index valid, all exit 0" {
	psql_db "CREATE TABLE effects (version int NOT NULL);
CREATE TABLE counter (n int NOT NULL); INSERT INTO counter VALUES (0);"
	write_migration 1_items.sql "INSERT INTO effects VALUES (1);
CREATE TABLE items (id int PRIMARY KEY, k int);
INSERT INTO items SELECT i, i % 101 FROM generate_series(1, 50000) i;
UPDATE counter SET n = n + 1;"
	write_migration 2_bump.sql "INSERT INTO effects VALUES (2); UPDATE counter SET n = n + 1; SELECT pg_sleep(0.2);"
	# while it builds, every other runner is polling for the lock
	write_migration 3_index.sql "-- no-transaction
INSERT INTO effects VALUES (3);
CREATE INDEX CONCURRENTLY items_k ON items (k);
UPDATE counter SET n = n + 1;"
	write_migration 4_bump.sql "INSERT INTO effects VALUES (4); UPDATE counter SET n = n + 1;"
	write_migration 5_more.sql "INSERT INTO effects VALUES (5); ALTER TABLE items ADD COLUMN note text; UPDATE counter SET n = n + 1;"
	local i pids=() rc failed=0
	for i in $(seq 1 $RUNNERS); do
		# far above the default 60 s: 20 runners on a busy machine
		strata run --lock-wait 10m >"run$i.out" 2>&1 &
		pids+=($!)
	done
	for i in $(seq 1 $RUNNERS); do
		rc=0
		wait "${pids[i - 1]}" || rc=$?
		if ((rc != 0)); then
			echo "runner $i exited $rc:" >&2
			cat "run$i.out" >&2
			failed=$((failed + 1))
		fi
	done
	assert_equal "$failed" 0
	assert_equal "$(psql_db "SELECT string_agg(version || ':' || success, ',' ORDER BY version) FROM _sqlx_migrations")" "1:true,2:true,3:true,4:true,5:true"
	assert_equal "$(psql_db "SELECT string_agg(version::text, ',' ORDER BY version) FROM effects")" "1,2,3,4,5"
	assert_equal "$(psql_db "SELECT n FROM counter")" 5
	assert_equal "$(psql_db "SELECT indisvalid AND indisready FROM pg_index WHERE indexrelid = 'items_k'::regclass")" t
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'apply' AND outcome = 'success'")" 5
	# one runner applied all five (the lock is held for the whole run),
	# the others found nothing left, and some of them did wait
	assert_equal "$(grep -l '^Applied 5 migrations' run*.out | wc -l)" 1
	assert_equal "$(grep -l 'Nothing to apply' run*.out | wc -l)" $((RUNNERS - 1))
	grep -q "waiting for the migration lock" run*.out
}
