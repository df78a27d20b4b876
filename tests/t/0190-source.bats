#!/usr/bin/env bats
# The migration source: names read as sqlx reads them, and an invalid source
# stops everything (exit 4, the file named) before anything is applied.

load lib

# A valid first migration, so that "nothing applied" means something.
good_first() {
	write_migration 1_first.sql "CREATE TABLE first (id int);"
}

# Nothing at all was applied: no table, no history.
assert_nothing_applied() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_equal "$(psql_db "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" 0
	else
		if [[ -e $TEST_SQLITE ]]; then
			assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_master")" 0
		fi
	fi
}

# strata run, status, check and validate refuse the source: exit 4, the
# message and the file $1 in the error; then nothing is applied.
assert_source_refused() {
	local file=$1 message=$2 c
	for c in run status check validate "run --dry-run"; do
		run --separate-stderr strata $c
		assert_failure 4
		[[ $stderr == *"$message"* ]] || fail "strata $c: '$message' not in: $stderr"
		[[ $stderr == *"at migrations/$file"* ]] || fail "strata $c: file $file not named in: $stderr"
	done
	run strata --format json run
	assert_failure 4
	run jq -r '.error.code, .error.file' <<<"$output"
	assert_output "4
migrations/$file"
	assert_nothing_applied
}

no_version() {
	good_first
	write_migration create_users.sql "CREATE TABLE users (id int);"
	assert_source_refused create_users.sql "invalid migration file name 'migrations/create_users.sql'"
	run strata run
	assert_output --partial "The version 'create' is not a number."
	assert_output --partial "hint: Name migrations VERSION_DESCRIPTION.sql"
	rm migrations/create_users.sql
	write_migration users.sql "CREATE TABLE users (id int);"
	assert_source_refused users.sql "invalid migration file name 'migrations/users.sql'"
	run strata run
	assert_output --partial "no '_' after the version"
}

@test "source: a .sql name without a version is refused (exit 4), nothing applied" {
	for_each_driver no_version
}

non_numeric() {
	good_first
	write_migration 2a_users.sql "CREATE TABLE users (id int);"
	assert_source_refused 2a_users.sql "invalid migration file name 'migrations/2a_users.sql'"
	run strata run
	assert_output --partial "The version '2a' is not a number."
}

@test "source: a non-numeric version is refused" {
	for_each_driver non_numeric
}

@test "source: a negative version, a missing version and a version over 64 bits are refused" {
	good_first
	write_migration -1_negative.sql "SELECT 1;"
	assert_source_refused -1_negative.sql "invalid migration file name"
	rm migrations/-1_negative.sql
	write_migration _nothing.sql "SELECT 1;"
	assert_source_refused _nothing.sql "invalid migration file name"
	rm migrations/_nothing.sql
	write_migration 99999999999999999999_big.sql "SELECT 1;"
	assert_source_refused 99999999999999999999_big.sql "larger than a 64-bit integer"
	rm migrations/99999999999999999999_big.sql
	# the largest version there is works
	write_migration 9223372036854775807_max.sql "SELECT 1;"
	run strata run
	assert_success
	assert_equal "$(psql_db "SELECT max(version) FROM _sqlx_migrations")" 9223372036854775807
}

duplicate_version() {
	good_first
	write_migration 2_users.sql "CREATE TABLE users (id int);"
	write_migration 2_accounts.sql "CREATE TABLE accounts (id int);"
	assert_source_refused 2_users.sql "duplicate up files for migration version 2: 'migrations/2_accounts.sql' and 'migrations/2_users.sql'"
}

@test "source: two files with one version are refused, naming both" {
	for_each_driver duplicate_version
}

@test "source: 02_x and 2_y are one version: a duplicate too" {
	good_first
	write_migration 02_users.sql "CREATE TABLE users (id int);"
	write_migration 2_accounts.sql "CREATE TABLE accounts (id int);"
	run strata run
	assert_failure 4
	assert_output --partial "duplicate up files for migration version 2"
	assert_output --partial "'migrations/02_users.sql'"
	assert_output --partial "'migrations/2_accounts.sql'"
	assert_nothing_applied
	# an .up.sql beside a plain .sql of the same version
	rm migrations/02_users.sql
	write_migration 2_accounts.up.sql "CREATE TABLE accounts (id int);"
	write_migration 2_accounts.down.sql "DROP TABLE accounts;"
	run strata run
	assert_failure 4
	assert_output --partial "duplicate up files for migration version 2"
	assert_nothing_applied
}

down_without_up() {
	good_first
	write_migration 2_users.down.sql "DROP TABLE users;"
	assert_source_refused 2_users.down.sql "down file 'migrations/2_users.down.sql' has no up file"
}

@test "source: a .down.sql without its up file is refused" {
	for_each_driver down_without_up
}

@test "source: an .up.sql and a .down.sql of another description are refused" {
	good_first
	write_migration 2_users.up.sql "CREATE TABLE users (id int);"
	# a down file of another description is no partner
	write_migration 2_people.down.sql "DROP TABLE people;"
	run strata run
	assert_failure 4
	assert_output --partial "differ in description"
	assert_nothing_applied
}

invalid_utf8() {
	good_first
	printf 'CREATE TABLE users (\n  name text DEFAULT \xe9t\xe9\n);\n' >migrations/2_users.sql
	assert_source_refused 2_users.sql "'migrations/2_users.sql' is not valid UTF-8 (line 2, column 21)"
}

@test "source: a file that is not valid UTF-8 is refused, with its line" {
	for_each_driver invalid_utf8
}

@test "source: a file holding a NUL byte is refused, with its line" {
	good_first
	printf 'CREATE TABLE users (id int);\nSELECT 1;\0\n' >migrations/2_users.sql
	assert_source_refused 2_users.sql "'migrations/2_users.sql' holds a NUL byte on line 2"
	# in a down file too
	rm migrations/2_users.sql
	write_migration 2_users.up.sql "CREATE TABLE users (id int);"
	printf 'DROP TABLE users;\0' >migrations/2_users.down.sql
	run strata run
	assert_failure 4
	assert_output --partial "'migrations/2_users.down.sql' holds a NUL byte"
	assert_nothing_applied
}

@test "source: a symbolic link leading out of the source tree is refused; one inside is followed" {
	good_first
	echo "CREATE TABLE outside (id int);" >outside.sql
	ln -s ../outside.sql migrations/2_outside.sql
	assert_source_refused 2_outside.sql "symbolic link 'migrations/2_outside.sql' leads out of the migration directory"
	run strata run
	assert_output --partial "It resolves to '$(realpath outside.sql)'"
	# an absolute link, and a dangling one
	rm migrations/2_outside.sql
	ln -s "$PWD/outside.sql" migrations/2_outside.sql
	assert_source_refused 2_outside.sql "leads out of the migration directory"
	rm migrations/2_outside.sql
	ln -s nowhere.sql migrations/2_dangling.sql
	assert_source_refused 2_dangling.sql "points to a missing file"
	rm migrations/2_dangling.sql
	# inside the tree: followed
	mkdir migrations/shared
	echo "CREATE TABLE shared (id int);" >migrations/shared/common.sql
	ln -s shared/common.sql migrations/2_shared.sql
	run strata run
	assert_success
	assert_line --partial "Applied 2 shared"
	assert_equal "$(psql_db "SELECT to_regclass('shared') IS NOT NULL")" t
}

passed_over() {
	good_first
	printf '# Migrations\n\nRun `strata run`.\n' >migrations/README.md
	echo "not sql" >migrations/notes.txt
	# hidden, or without .sql files: clearly no migrations
	mkdir -p migrations/.archive migrations/docs
	write_migration .archive/2_old.sql "CREATE TABLE old (id int);"
	write_migration .archive/not_a_migration.sql "garbage"
	echo "notes" >migrations/docs/notes.md
	# an editor's lock or backup file
	echo "garbage" >migrations/.#1_first.sql
	write_migration 3_third.sql "CREATE TABLE third (id int);"
	run strata run
	assert_success
	assert_line --partial "Applied 1 first"
	assert_line --partial "Applied 3 third"
	refute_output --partial old
	run strata status --format json
	run jq -c '[.migrations[].version]' <<<"$output"
	assert_output '[1,3]'
	run strata validate
	assert_success
}

@test "source: a README.md, other files and hidden or .sql-less subdirectories are passed over" {
	for_each_driver passed_over
}

numeric_order() {
	write_migration 9_create.sql "CREATE TABLE t (id int);"
	write_migration 10_alter.sql "ALTER TABLE t ADD COLUMN name text;"
	write_migration 0011_alter_more.sql "ALTER TABLE t ADD COLUMN email text;"
	write_migration 000000000000000000100_seed.sql "INSERT INTO t VALUES (1, 'a', 'b');"
	# the results, without the progress lines on stderr
	run --separate-stderr strata run
	assert_success
	assert_line --index 0 --partial "Applied 9 create"
	assert_line --index 1 --partial "Applied 10 alter"
	assert_line --index 2 --partial "Applied 11 alter more"
	assert_line --index 3 --partial "Applied 100 seed"
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_equal "$(psql_db "SELECT string_agg(version::text, ',' ORDER BY installed_on, version) FROM _sqlx_migrations")" "9,10,11,100"
	else
		assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT group_concat(version) FROM (SELECT version FROM _sqlx_migrations ORDER BY version)")" "9,10,11,100"
	fi
	run strata status --format json
	run jq -c '[.migrations[].version]' <<<"$output"
	assert_output '[9,10,11,100]'
	run strata check
	assert_success
}

@test "source: leading zeros are allowed and the order is numeric, not lexical" {
	for_each_driver numeric_order
}

# A migration that creates a table, then fails: in a transaction the
# table is rolled back; without one, it stays.
no_transaction_first_bytes() {
	local fail="SELECT * FROM no_such_table;"
	write_migration 1_real.sql "-- no-transaction
CREATE TABLE real_nt (id int);
$fail"
	run strata run
	assert_failure 1
	assert_equal "$(query_db "SELECT count(*) FROM _sqlx_migrations WHERE version = 1")" 1
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_equal "$(psql_db "SELECT to_regclass('real_nt') IS NOT NULL")" t
	else
		assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_master WHERE name = 'real_nt'")" 1
	fi
}

@test "source: -- no-transaction as the very first bytes runs outside a transaction" {
	for_each_driver no_transaction_first_bytes
}

no_transaction_elsewhere() {
	local fail="SELECT * FROM no_such_table;" text i=0
	for text in "
-- no-transaction" " -- no-transaction" "-- strata
-- no-transaction" "-- No-Transaction" "--no-transaction"; do
		i=$((i + 1))
		rm -f migrations/*
		write_migration "${i}_t.sql" "$text
CREATE TABLE t$i (id int);
$fail"
		run strata run
		assert_failure 1
		# in a transaction: rolled back, nothing recorded
		if [[ $STRATA_TEST_DRIVER == postgres ]]; then
			assert_equal "$(psql_db "SELECT to_regclass('t$i') IS NULL")" t
		else
			assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_master WHERE name = 't$i'")" 0
		fi
		assert_equal "$(query_db "SELECT count(*) FROM _sqlx_migrations")" 0
	done
}

@test "source: -- no-transaction anywhere but the very first bytes is only a comment" {
	for_each_driver no_transaction_elsewhere
}

@test "source: CREATE INDEX CONCURRENTLY after a misplaced directive is refused before anything runs" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	write_migration 2_idx.sql "
-- no-transaction
CREATE INDEX CONCURRENTLY t_id ON t (id);"
	run strata run
	assert_failure 4
	assert_output --partial "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
	assert_output --partial "at migrations/2_idx.sql:3"
	assert_output --partial "Put '-- no-transaction' on the first line"
	assert_equal "$(psql_db "SELECT to_regclass('t') IS NULL")" t
	# with the directive first, it builds
	printf -- '-- no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n' >migrations/2_idx.sql
	run strata run
	assert_success
	assert_equal "$(psql_db "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('t_id')")" t
}

missing_dir() {
	rm -rf migrations
	local c
	for c in run status check validate; do
		run --separate-stderr strata $c
		# an operation that failed (1) or an invalid source (4): not 0, 2 or 3
		[[ $status == 1 || $status == 4 ]] || fail "strata $c: exit $status"
		[[ $stderr == *"could not open migration directory 'migrations': No such file or directory"* ]] ||
			fail "strata $c: $stderr"
		[[ $stderr == *"hint: "*"strata new"* ]] || fail "strata $c: no hint in: $stderr"
	done
	run strata run -s db/migrations
	assert_failure
	assert_output --partial "'db/migrations'"
	assert_output --partial "--source"
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_equal "$(psql_db "SELECT to_regclass('_sqlx_migrations') IS NULL")" t
	fi
	# as the hint says
	strata new --sequential first
	strata database create >/dev/null
	run strata check
	assert_failure 3
}

@test "source: a missing migrations/ directory is a clear error with a hint" {
	for_each_driver missing_dir
}

descriptions() {
	write_migration 20250101120000_create_users_table.sql "CREATE TABLE users (id int);"
	write_migration 20250102120000_Add_Email_Column.up.sql "ALTER TABLE users ADD email text;"
	write_migration 20250102120000_Add_Email_Column.down.sql "ALTER TABLE users DROP email;"
	write_migration 20250103120000_with__two.sql "SELECT 1;"
	write_migration 20250104120000_v1.2_fix.sql "SELECT 1;"
	write_migration 20250105120000_café_crème.sql "SELECT 1;"
	run strata run
	assert_success
	run query_db "SELECT description FROM _sqlx_migrations ORDER BY version"
	assert_output "create users table
Add Email Column
with  two
v1.2 fix
café crème"
	run strata status --format json
	run jq -r '.migrations[].description' <<<"$output"
	assert_output "create users table
Add Email Column
with  two
v1.2 fix
café crème"
}

@test "source: the recorded description is sqlx's (_ read as a space, suffix removed)" {
	for_each_driver descriptions
}
