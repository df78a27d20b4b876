#!/usr/bin/env bats
# strata test on every layout: each migration is proven alone, up to its
# own version, in layouts whose order keys are not the versions a user
# writes (diesel's text order, Flyway's dotted parts); an empty down file
# is named as such, and what a failure left untested is said. A version
# written without its leading zeros names diesel's initial setup in run
# and revert.

load lib

# diesel's initial setup, a 14-digit and an 18-digit version, each with a
# down that undoes its up
diesel_folder() {
	write_migration 00000000000000_diesel_initial_setup/up.sql "CREATE TABLE setup (id int);"
	write_migration 00000000000000_diesel_initial_setup/down.sql "DROP TABLE setup;"
	write_migration 2024-01-01-000001_a/up.sql "CREATE TABLE a (id int);"
	write_migration 2024-01-01-000001_a/down.sql "DROP TABLE a;"
	write_migration 2024-01-02-000001-0000_b/up.sql "CREATE TABLE b (id int);"
	write_migration 2024-01-02-000001-0000_b/down.sql "DROP TABLE b;"
	write_migration 2024-01-03-000001_c/up.sql "CREATE TABLE c (id int);"
	write_migration 2024-01-03-000001_c/down.sql "DROP TABLE c;"
}

proves_diesel() {
	diesel_folder
	run strata test
	assert_success
	assert_line --regexp "^00000000000000 +[0-9.]+ +[0-9.]+ +ok +diesel initial setup$"
	assert_line --regexp "^20240101000001 +[0-9.]+ +[0-9.]+ +ok +a$"
	assert_line --regexp "^202401020000010000 +[0-9.]+ +[0-9.]+ +ok +b$"
	assert_line --regexp "^20240103000001 +[0-9.]+ +[0-9.]+ +ok +c$"
	refute_output --partial "down-leaves"
	# a range named as the folder writes it
	run strata test --from 20240101000001 --to 202401020000010000
	assert_success
	assert_line --regexp "^20240101000001 .* ok +a$"
	assert_line --regexp "^202401020000010000 .* ok +b$"
	refute_line --regexp "^20240103000001 "
}

@test "test on diesel's layout: each migration is proven alone, up to its own version (PostgreSQL and SQLite)" {
	for_each_driver proves_diesel
}

@test "test on Flyway's layout: dotted versions, each proven alone with its undo" {
	new_db
	write_migration V1__a.sql "CREATE TABLE a (id int);"
	write_migration U1__a.sql "DROP TABLE a;"
	write_migration V1.1__b.sql "CREATE TABLE b (id int);"
	write_migration U1.1__b.sql "DROP TABLE b;"
	write_migration V2__c.sql "CREATE TABLE c (id int);"
	write_migration U2__c.sql "DROP TABLE c;"
	run strata test
	assert_success
	assert_line --regexp "^1 +[0-9.]+ +[0-9.]+ +ok +a$"
	assert_line --regexp "^1\.1 +[0-9.]+ +[0-9.]+ +ok +b$"
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +ok +c$"
}

@test "test: an empty down file is named as one, and the rest is tested past it" {
	new_db
	diesel_folder
	write_migration -n 2024-01-01-000001_a/down.sql ""
	write_migration 2024-01-02-000001-0000_b/down.sql "-- cannot be undone"
	# the ups cannot run again after their empty downs: the shadow is
	# still theirs, so the rest is tested on it
	run strata test --keep-going
	assert_failure 4
	assert_line --regexp "^20240101000001 .* down-leaves +a$"
	assert_line --regexp "^202401020000010000 .* down-leaves +b$"
	[ "$(grep -c "the down file holds no statement: after it, the schema is not what it was before the up; the up then failed again: relation \"[ab]\" already exists" <<<"$output")" = 2 ]
	assert_line --regexp "^20240103000001 .* ok +c$"
	assert_output --partial "2 of 4 migrations failed the test (on "
	refute_output --partial "not run"
	# without --keep-going: what was not run, and why
	run strata test
	assert_failure 4
	assert_output --partial "1 of 4 migrations failed the test (on "
	assert_output --partial "); the 2 after 20240101000001 were not run: the test stops at the first failure (--keep-going tests the rest)."
	# a down that leaves part of the up behind: the up cannot run again,
	# the rest cannot be tested, and the summary says so
	write_migration 2024-01-01-000001_a/up.sql "CREATE TABLE a (id int); CREATE TABLE a2 (id int);"
	write_migration 2024-01-01-000001_a/down.sql "DROP TABLE a2;"
	run strata test --keep-going
	assert_failure 4
	assert_line --regexp "^202401020000010000 .* not-run +b$"
	assert_output --partial "); the 2 after 20240101000001 were not run: its up failed, and the shadow cannot go on past it; mend it and test again, or test the rest with --from."
}

diesel_targets() {
	diesel_folder
	run strata run --target-version 00000000000000
	assert_success
	assert_output --partial "Applied 1 migration."
	[ "$(query_db "select count(*) from __diesel_schema_migrations")" = 1 ]
	strata run --target-version 202401020000010000
	[ "$(query_db "select count(*) from __diesel_schema_migrations")" = 3 ]
	# 0 is the initial setup as a number: kept, as revert keeps a version 0
	run strata revert --target-version 0
	assert_success
	assert_output --partial "Reverted 2 migrations."
	[ "$(query_db "select version from __diesel_schema_migrations")" = 00000000000000 ]
	run strata run --target-version 0
	assert_success
	assert_output --partial "Nothing to apply up to the target version."
	refute_output --partial "up to date"
}

@test "run and revert --target-version name diesel's initial setup without its leading zeros (PostgreSQL and SQLite)" {
	for_each_driver diesel_targets
}
