#!/usr/bin/env bats
# run, status and revert under valgrind: no leak of any kind and no memory
# error, on both drivers, through the failure paths too. (`make valgrind`
# runs every shell test this way; this file keeps the core in `make test`.)

load lib

vg() {
	valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=99 -q "$STRATA_BIN" "$@"
}

core_commands_leak_nothing() {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.sql "CREATE TABLE b (id int); INSERT INTO b VALUES (1);"
	write_migration 2_b.down.sql "DROP TABLE b;"
	run vg run
	assert_success
	run vg status
	assert_success
	run vg --format json status
	assert_success
	run vg check
	assert_success
	run vg revert --all
	assert_success
	# failure paths: a failing statement, then an edited applied file
	write_migration 3_bad.sql "CREATE TABLE c (id int); INSERT INTO nope VALUES (1);"
	run vg run
	assert_failure 1
	write_migration 1_a.up.sql "CREATE TABLE a (id bigint);"
	rm migrations/3_bad.sql
	run vg run --target-version 1
	assert_failure 4
	write_migration 1_a.up.sql "CREATE TABLE a (id smallint);"
	run vg run
	assert_failure 4
	run vg validate
	assert_failure 4
}

@test "valgrind: run, status, check, revert and their failures leak nothing" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	[[ -n ${STRATA_BIN:-} && -x $STRATA_BIN ]] || STRATA_BIN=$STRATA_TEST_DIR/../../build/strata
	[[ $STRATA_BIN != */asan/* ]] || skip "valgrind cannot run an ASan build"
	for_each_driver core_commands_leak_nothing
}
