#!/usr/bin/env bats
# strata convert --to sqlx (design.md, Converting to sqlx's layout): each
# other tool's folder, applied by strata in that layout, rewritten into
# sqlx's layout with its history copied into _sqlx_migrations; the new
# folder then shows everything applied and run has nothing to do, while
# the tool's table (and strata's record beside it) stays byte for byte.

load lib

# The old tool's tables as text, to compare before and after.
dump_tables() {
	local t
	for t in "$@"; do
		echo "== $t"
		if [[ $STRATA_TEST_DRIVER == sqlite ]]; then
			sqlite3 -batch "$TEST_SQLITE" "select * from \"$t\" order by 1"
		else
			psql_db "select * from \"$t\" order by 1"
		fi
	done
}

# The new folder applied: status all applied, run nothing to do, check 0.
assert_all_applied() {
	local n=$1
	run strata -s migrations-sqlx status
	assert_success
	assert_output --partial "$n applied, 0 pending."
	run strata -s migrations-sqlx run
	assert_success
	assert_output --partial "Nothing to apply"
	strata -s migrations-sqlx check
}

write_dbmate() {
	write_migration 20240101000000_create_users.sql <<'EOF'
-- migrate:up
create table users (id int primary key, name text);
-- migrate:down
drop table users;
EOF
	write_migration 20240102000000_index_users.sql <<'EOF'
-- migrate:up transaction:false
create index users_name on users (name);
-- migrate:down
drop index users_name;
EOF
	write_migration 20240103000000_seed.sql <<'EOF'
-- migrate:up
insert into users (id, name) values (1, 'ada');
-- migrate:down
EOF
}

@test "dbmate: sections become up and down files, the history is copied, dbmate's table unchanged" {
	check() {
		write_dbmate
		strata run
		before=$(dump_tables schema_migrations _strata_dbmate_migrations)
		run strata convert --to sqlx
		assert_success
		assert_output --partial "20240102000000_index_users.up.sql (-- no-transaction)"
		assert_output --partial "Copied 3 rows into sqlx's history"
		[ "$(ls migrations-sqlx | tr '\n' ' ')" = "20240101000000_create_users.down.sql 20240101000000_create_users.up.sql 20240102000000_index_users.down.sql 20240102000000_index_users.up.sql 20240103000000_seed.sql " ]
		[ "$(cat migrations-sqlx/20240102000000_index_users.up.sql)" = "$(printf -- '-- no-transaction\ncreate index users_name on users (name);')" ]
		[ "$(cat migrations-sqlx/20240101000000_create_users.down.sql)" = "drop table users;" ]
		[ "$(cat migrations-sqlx/20240103000000_seed.sql)" = "insert into users (id, name) values (1, 'ada');" ]
		assert_all_applied 3
		[ "$(dump_tables schema_migrations _strata_dbmate_migrations)" = "$before" ]
		# each copied row is audited
		[ "$(strata --format json history --action convert | jq '.actions | length')" = 3 ]
		# the checksum is the new up file's SHA-384, as sqlx computes it
		sum=$(sha384sum migrations-sqlx/20240102000000_index_users.up.sql | cut -d' ' -f1)
		if [[ $STRATA_TEST_DRIVER == sqlite ]]; then
			[ "$(query_db "select lower(hex(checksum)) from _sqlx_migrations where version = 20240102000000")" = "$sum" ]
		else
			[ "$(query_db "select encode(checksum, 'hex') from _sqlx_migrations where version = 20240102000000")" = "$sum" ]
		fi
		# again: the folder and the rows are there, nothing changes
		run strata convert --to sqlx
		assert_success
		assert_output --partial "holds these files already"
		assert_output --partial "nothing to copy"
	}
	for_each_driver check
}

@test "diesel: directories become files, the initial setup is version 0, metadata.toml becomes -- no-transaction" {
	check() {
		write_migration 00000000000000_diesel_initial_setup/up.sql "select 1;"
		write_migration 00000000000000_diesel_initial_setup/down.sql "select 2;"
		write_migration 2024-01-01-000000_create_users/up.sql "create table users (id int);"
		write_migration 2024-01-01-000000_create_users/down.sql "drop table users;"
		write_migration 2024-01-02-000000_index_users/up.sql "create index users_id on users (id);"
		write_migration 2024-01-02-000000_index_users/metadata.toml "run_in_transaction = false"
		write_migration 2024-01-03-000000_seed/up.sql "insert into users values (1);"
		strata run
		before=$(dump_tables __diesel_schema_migrations _strata_diesel_migrations)
		run strata convert --to sqlx --out migrations-sqlx
		assert_success
		[ "$(ls migrations-sqlx | tr '\n' ' ')" = "0_diesel_initial_setup.down.sql 0_diesel_initial_setup.up.sql 20240101000000_create_users.down.sql 20240101000000_create_users.up.sql 20240102000000_index_users.sql 20240103000000_seed.sql " ]
		[ "$(head -1 migrations-sqlx/20240102000000_index_users.sql)" = "-- no-transaction" ]
		[ "$(cat migrations-sqlx/20240101000000_create_users.up.sql)" = "create table users (id int);" ]
		assert_all_applied 4
		[ "$(dump_tables __diesel_schema_migrations _strata_diesel_migrations)" = "$before" ]
	}
	for_each_driver check
}

@test "diesel: versions of two widths (14 and 18 digits, one the other's prefix) keep diesel's order as sqlx's numbers" {
	check() {
		write_migration 2017-07-28-002039_a/up.sql "create table a (id int);"
		write_migration 2025-12-29-110242-0000_b/up.sql "create table b (id int);"
		write_migration 2026-01-20-162913_c/up.sql "create table c (id int);"
		write_migration 2026-05-27-120000_d/up.sql "create table d (id int);"
		write_migration 2026-05-27-120000-0000_e/up.sql "create table e (id int);"
		strata run
		run strata convert --to sqlx --out migrations-sqlx
		assert_success
		assert_output --partial "Copied 5 rows into sqlx's history (versions 2017072800203900000, 2025122911024200004, 2026012016291300000, 2026052712000000000, 2026052712000000004)"
		[ "$(ls migrations-sqlx | tr '\n' ' ')" = "2017072800203900000_a.sql 2025122911024200004_b.sql 2026012016291300000_c.sql 2026052712000000000_d.sql 2026052712000000004_e.sql " ]
		assert_all_applied 5
	}
	for_each_driver check
}

write_golang() {
	write_migration 1_create_users.up.sql "create table users (id int);"
	write_migration 1_create_users.down.sql "drop table users;"
	write_migration 2_index_users.up.sql "$(printf -- '-- no-transaction\ncreate index users_id on users (id);')"
	write_migration 2_index_users.down.sql "drop index users_id;"
	write_migration 3_seed.up.sql "insert into users values (1);"
	write_migration 3_seed.down.sql "delete from users;"
}

@test "golang-migrate: the pairs are kept, the one-row history becomes sqlx's rows" {
	check() {
		write_golang
		strata --layout golang-migrate run
		before=$(dump_tables schema_migrations _strata_golang-migrate_migrations)
		run strata convert --to sqlx
		assert_success
		assert_output --partial "Copied 3 rows"
		diff -r migrations migrations-sqlx
		# both tables now: sqlx's holds the version golang-migrate's names
		assert_all_applied 3
		[ "$(dump_tables schema_migrations _strata_golang-migrate_migrations)" = "$before" ]
	}
	for_each_driver check
}

@test "golang-migrate: a dirty version is refused with what to do, nothing written" {
	new_db
	write_golang
	strata --layout golang-migrate run
	psql_db "update schema_migrations set dirty = true"
	run strata convert --to sqlx
	assert_failure 4
	assert_output --partial "migration 3 (seed) is recorded as failed"
	assert_output --partial "then convert"
	[ ! -e migrations-sqlx ]
	[ -z "$(ls -A .)" ] || [ "$(ls -A . | tr '\n' ' ')" = "migrations " ]
	[ "$(psql_db "select count(*) from pg_tables where tablename = '_sqlx_migrations'")" = 0 ]
}

@test "a statement the tool runs outside a transaction unmarked gets -- no-transaction; the new folder runs on a fresh database" {
	new_db
	write_migration 1_users.up.sql "create table users (id int);"
	write_migration 1_users.down.sql "drop table users;"
	write_migration 2_index.up.sql "create index concurrently users_id on users (id);"
	write_migration 2_index.down.sql "drop index concurrently users_id;"
	strata --layout golang-migrate run
	strata convert --to sqlx
	[ "$(cat migrations-sqlx/2_index.up.sql)" = "$(printf -- '-- no-transaction\ncreate index concurrently users_id on users (id);')" ]
	[ "$(head -1 migrations-sqlx/2_index.down.sql)" = "-- no-transaction" ]
	[ "$(head -1 migrations-sqlx/1_users.up.sql)" = "create table users (id int);" ]
	new_db
	write_migration V1__users.sql "create table users (id int);"
	write_migration V2__index.sql "create index concurrently users_id on users (id);"
	strata run
	strata convert --to sqlx
	[ "$(head -1 migrations-sqlx/2_index.sql)" = "-- no-transaction" ]
	# a database made from the new folder alone
	converted=$PWD/migrations-sqlx
	new_db
	mv "$converted" .
	strata -s migrations-sqlx run
	[ "$(psql_db "select count(*) from pg_indexes where indexname = 'users_id'")" = 1 ]
}

@test "a first line '-- no-transaction' that the tool does not read as a directive is refused" {
	sqlite_db
	write_migration 2024-01-01-000000_users/up.sql "$(printf -- '-- no-transaction\ncreate table users (id int);')"
	strata run
	run strata convert --to sqlx
	assert_failure 4
	assert_output --partial "'migrations/2024-01-01-000000_users/up.sql' starts with '-- no-transaction', which sqlx reads as its directive, but diesel runs it in a transaction"
	[ ! -e migrations-sqlx ]
}

write_flyway() {
	write_migration V1__create_users.sql "create table users (id int, name text);"
	write_migration U1__create_users.sql "drop table users;"
	write_migration V1.1__index_users.sql "create index users_id on users (id);"
	write_migration V1.1__index_users.sql.conf "executeInTransaction=false"
	write_migration V2__seed.sql "insert into users values (1, '\${who}');"
}

@test "flyway: dotted versions keep their order, the placeholders are written replaced, the undo is the down file" {
	check() {
		write_flyway
		strata --placeholder who=ada run
		before=$(dump_tables flyway_schema_history _strata_flyway_migrations)
		run strata --placeholder who=ada convert --to sqlx
		assert_success
		assert_output --partial "1 file written with Flyway's placeholders replaced"
		[ "$(ls migrations-sqlx | tr '\n' ' ')" = "10_create_users.down.sql 10_create_users.up.sql 11_index_users.sql 20_seed.sql " ]
		[ "$(cat migrations-sqlx/20_seed.sql)" = "insert into users values (1, 'ada');" ]
		[ "$(head -1 migrations-sqlx/11_index_users.sql)" = "-- no-transaction" ]
		[ "$(cat migrations-sqlx/10_create_users.down.sql)" = "drop table users;" ]
		assert_all_applied 3
		[ "$(dump_tables flyway_schema_history _strata_flyway_migrations)" = "$before" ]
	}
	for_each_driver check
}

@test "flyway: a repeatable is refused by name, or left out with --skip-repeatables" {
	new_db
	write_flyway
	write_migration R__users_view.sql "create or replace view v as select 1;"
	strata --placeholder who=ada run
	run strata --placeholder who=ada convert --to sqlx
	assert_failure 4
	assert_output --partial "'migrations/R__users_view.sql' is a Flyway repeatable migration"
	[ ! -e migrations-sqlx ]
	run strata --placeholder who=ada convert --to sqlx --skip-repeatables
	assert_success
	assert_output --partial "Left out migrations/R__users_view.sql"
	assert_all_applied 3
}

@test "flyway: a failed row (success = false) is refused" {
	new_db
	write_flyway
	strata --placeholder who=ada run
	psql_db "update flyway_schema_history set success = false where version = '2'"
	run strata --placeholder who=ada convert --to sqlx
	assert_failure 4
	assert_output --partial "is recorded as failed"
	[ ! -e migrations-sqlx ]
}

@test "rows of _sqlx_migrations that disagree are refused by version, and nothing is written" {
	new_db
	write_dbmate
	strata run
	strata -s migrations convert --to sqlx --out first
	psql_db "update _sqlx_migrations set checksum = '\\x00' where version = 20240102000000"
	run strata convert --to sqlx --out second
	assert_failure 4
	assert_output --partial "sqlx's history table already holds a row of version 20240102000000"
	[ ! -e second ]
	[ "$(psql_db "select count(*) from _sqlx_migrations")" = 3 ]
}

@test "a non-empty target folder is refused; an empty one is filled" {
	sqlite_db
	write_dbmate
	strata run
	mkdir out && echo x >out/README
	run strata convert --to sqlx --out out
	assert_failure 4
	assert_output --partial "'out' is not empty"
	[ "$(ls -A out)" = README ]
	# no temporary folder is left beside it
	[ "$(ls -A . | tr '\n' ' ')" = "migrations out test.db " ]
	rm out/README
	strata convert --to sqlx --out out
	[ "$(ls out | wc -l)" = 5 ]
}

@test "a target inside the folder it converts is refused, and the old folder stays as it was" {
	sqlite_db
	write_dbmate
	strata run
	for out in migrations/inner migrations "$PWD/migrations/x" migrations/../migrations/y; do
		run strata convert --to sqlx --out "$out"
		assert_failure 4
		assert_output --partial "'$out' is inside the folder it converts, 'migrations'"
	done
	[ "$(ls -A migrations | wc -l)" = 3 ]
	run strata status
	assert_success
	assert_output --partial "3 applied, 0 pending."
}

@test "--out with a trailing slash is the folder itself; an empty --out is a usage error" {
	sqlite_db
	write_dbmate
	strata run
	run strata convert --to sqlx --out ''
	assert_failure 2
	assert_output --partial "the folder to write is named by an empty string"
	run strata convert --to sqlx --out out/
	assert_success
	assert_output --partial "Wrote out:"
	[ "$(ls out | wc -l)" = 5 ]
	[ "$(ls -A . | tr '\n' ' ')" = "migrations out test.db " ]
}

@test "an applied migration missing from the folder is refused by version" {
	sqlite_db
	write_dbmate
	strata run
	rm migrations/20240103000000_seed.sql
	run strata convert --to sqlx
	assert_failure 4
	assert_output --partial "migration 20240103000000 was applied but is missing from 'migrations'"
	[ ! -e migrations-sqlx ]
}

@test "--dry-run prints the plan and changes nothing; --format json says the same" {
	check() {
		write_dbmate
		strata run
		run strata convert --to sqlx --dry-run
		assert_success
		assert_output --partial "Would write migrations-sqlx:"
		assert_output --partial "migrations/20240101000000_create_users.sql -> 20240101000000_create_users.up.sql"
		assert_output --partial "Would copy 3 rows"
		[ ! -e migrations-sqlx ]
		[ "$(ls -A . | grep -c convert)" = 0 ]
		if [[ $STRATA_TEST_DRIVER == sqlite ]]; then
			[ "$(query_db "select count(*) from sqlite_master where name = '_sqlx_migrations'")" = 0 ]
		else
			[ "$(query_db "select count(*) from pg_tables where tablename = '_sqlx_migrations'")" = 0 ]
		fi
		run strata --format json convert --to sqlx --dry-run
		assert_success
		[ "$(jq -r '.files[1].file + " " + (.files[1].no_transaction_added|tostring) + " " + (.rows_copied|length|tostring)' <<<"$output")" = "20240102000000_index_users.up.sql true 3" ]
		[ ! -e migrations-sqlx ]
	}
	for_each_driver check
}

@test "without a database the folder alone is converted; a folder in sqlx's layout is refused" {
	sqlite_db
	unset DATABASE_URL
	write_dbmate
	run strata convert --to sqlx
	assert_success
	refute_output --partial "Copied"
	[ "$(ls migrations-sqlx | wc -l)" = 5 ]
	run strata -s migrations-sqlx convert --to sqlx
	assert_failure 4
	assert_output --partial "is in sqlx's layout already"
	run strata convert --to diesel
	assert_failure 2
}

@test "Flyway versions that do not fit one of sqlx's numbers are refused, nothing written" {
	sqlite_db
	unset DATABASE_URL
	write_migration V1.1.1.1.1.1__a.sql "select 1;"
	write_migration V20240101120000__b.sql "select 2;"
	run strata convert --to sqlx
	assert_failure 4
	assert_output --partial "Flyway's versions take more than 18 digits as one of sqlx's numbers"
	[ ! -e migrations-sqlx ]
	rm migrations/V1.1.1.1.1.1__a.sql
	write_migration V1.1__a.sql "select 1;"
	strata convert --to sqlx
	[ "$(ls migrations-sqlx | tr '\n' ' ')" = "11_a.sql 202401011200000_b.sql " ]
}
