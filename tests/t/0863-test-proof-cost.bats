#!/usr/bin/env bats
# What strata test sends to its shadow, which it alone writes: the history
# never read back and strata's tables made once, however many steps (each up,
# down and up again kept the history in step); and the partial schema
# read planned to look each changed object up in its own catalog only.
# The results stay those of a read per step: a down that fails, one that
# leaves something behind and an up run again are told as before.

load lib

setup_file() {
	pg_start
}

@test "test: the shadow's history is never read back and strata's tables are made once, for 10 migrations" {
	new_db
	table_pairs 10
	local from
	from=$(log_from)
	PGOPTIONS="-c log_statement=all" run strata test
	assert_success
	assert_line --regexp "^10 +[0-9.]+ +[0-9.]+ +ok +m10$"
	echo "# history reads $(logged "$from" 'FROM "_sqlx_migrations" ORDER BY version'), tables made $(logged "$from" 'CREATE TABLE IF NOT EXISTS "_sqlx_migrations"')" >&3
	# the shadow starts without it: kept from then on
	assert_equal "$(logged "$from" 'FROM "_sqlx_migrations" ORDER BY version')" 0
	assert_equal "$(logged "$from" 'CREATE TABLE IF NOT EXISTS "_sqlx_migrations"')" 1
	assert_equal "$(logged "$from" 'CREATE TABLE IF NOT EXISTS "_strata_audit"')" 1
	# every up (twice) and every down still writes its row
	assert_equal "$(logged "$from" 'INSERT INTO "_sqlx_migrations"')" 20
	assert_equal "$(logged "$from" 'DELETE FROM "_sqlx_migrations"')" 10
}

@test "test: after a down that fails, one of no statement and one that leaves a table, each is told as before" {
	new_db
	table_pairs 6
	# 2: its down fails, rolled back; 4: a down of no statement, 5: one
	# that leaves the table: the up fails again after both
	write_migration 2_m2.down.sql "DROP TABLE nowhere;"
	write_migration 4_m4.down.sql "-- nothing to undo"
	write_migration 5_m5.down.sql "SELECT 1;"
	run strata test --keep-going
	assert_failure 4
	assert_line --regexp "^1 +[0-9.]+ +[0-9.]+ +ok +m1$"
	assert_line --regexp "^2 +[0-9.]+ +- +down-failed +m2$"
	assert_line --regexp "^3 +[0-9.]+ +[0-9.]+ +ok +m3$"
	assert_line --regexp "^4 +[0-9.]+ +[0-9.]+ +down-leaves +m4$"
	assert_line "    the down file holds no statement: after it, the schema is not what it was before the up; the up then failed again: relation \"t4\" already exists (at migrations/4_m4.up.sql:1)"
	# recorded as applied again after 4: 5 is proven on it
	assert_line --regexp "^5 +[0-9.]+ +[0-9.]+ +down-leaves +m5$"
	assert_line --regexp "^6 +- +- +not-run +m6$"
}

@test "test: the partial read finds a trigger by its oid and skips the branches of other catalogs" {
	new_db
	table_pairs 3
	write_migration 4_trg.up.sql "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NEW; END\$\$;
CREATE TRIGGER t1_f BEFORE INSERT ON t1 FOR EACH ROW EXECUTE FUNCTION f();"
	write_migration 4_trg.down.sql "DROP TRIGGER t1_f ON t1; DROP FUNCTION f();"
	local from
	from=$(log_from)
	PGOPTIONS="-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0" run strata test
	assert_success
	# the plans of the partial read, as auto_explain logged them
	tail -c +"$from" "$STRATA_TEST_CLUSTER_DIR/server.log" |
		awk '/LOG:  duration: .* plan:/ { keep = 0 }
		     /Query Text: WITH RECURSIVE seed/ { keep = 1; n++ }
		     keep' >"$BATS_TEST_TMPDIR/plans"
	run grep -c "Query Text: WITH RECURSIVE seed" "$BATS_TEST_TMPDIR/plans"
	assert_success
	(( output >= 4 ))
	# pg_trigger by its oid's index, never through another index whole
	run grep -E " on pg_trigger " "$BATS_TEST_TMPDIR/plans"
	assert_success
	refute_output --partial "pg_trigger_tgrelid_tgname_index"
	# each catalog's branch gated on the class of the changed object
	(( $(grep -c "One-Time Filter: (dy.c = " "$BATS_TEST_TMPDIR/plans") >= 4 * 15 ))
}
