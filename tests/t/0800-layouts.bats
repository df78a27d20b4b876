#!/usr/bin/env bats
# Other tools' layouts (design.md, Layouts): dbmate's and diesel's folders
# read as those tools read them, each tracked in the tool's own table,
# exactly as the tool writes it, so the tool and strata see one state. The
# dbmate tests run the real dbmate (scripts/install-deps --test installs
# it with npm under tests/deps); without it they skip, unless
# STRATA_TEST_REQUIRE_DBMATE=1 (CI) makes that a failure.

load lib

dbmate_bin() {
	local bin=${STRATA_DBMATE:-$BATS_TEST_DIRNAME/../deps/node_modules/.bin/dbmate}
	if [[ ! -x $bin ]]; then
		if [[ ${STRATA_TEST_REQUIRE_DBMATE:-} == 1 ]]; then
			echo "dbmate not found at $bin" >&2
			return 1
		fi
		skip "dbmate not installed (scripts/install-deps --test)"
	fi
	DBMATE=$bin
}

# dbmate on this test's database: its own URL syntax for a socket
dbmate() {
	local url
	if [[ $STRATA_TEST_DRIVER == sqlite ]]; then
		url=sqlite:$TEST_SQLITE
	else
		url="postgres://postgres@localhost:$STRATA_TEST_CLUSTER_PORT/$TEST_DB?socket=$STRATA_TEST_CLUSTER_SOCK&sslmode=disable"
	fi
	"$DBMATE" --url "$url" --migrations-dir migrations --no-dump-schema "$@"
}

write_dbmate_folder() {
	write_migration 20240101000000_create_users.sql <<'EOF'
-- A comment before the up section is allowed.
-- migrate:up
create table users (id int primary key, name text);

-- migrate:down
drop table users;
EOF
	write_migration 20240102000000_add_email.sql <<'EOF'
-- migrate:up
alter table users add column email text;
-- migrate:down
alter table users drop column email;
EOF
	write_migration 20240103000000_seed.sql <<'EOF'
-- migrate:up
insert into users (id, name) values (1, 'ada');
-- migrate:down
delete from users where id = 1;
EOF
}

@test "dbmate: strata applies the up sections only and writes dbmate's table as dbmate does" {
	check() {
		write_dbmate_folder
		run strata run
		[ "$status" -eq 0 ]
		[[ $output == *"Applied 20240103000000 seed"* ]]
		# the down sections did not run
		[ "$(query_db "select count(*) from users")" = 1 ]
		[ "$(query_db "select version from schema_migrations order by 1" | tr '\n' ' ')" = "20240101000000 20240102000000 20240103000000 " ]
		run strata status
		[ "$status" -eq 0 ]
		[[ $output == *"3 applied"* ]]
		if [[ $STRATA_TEST_DRIVER == sqlite ]]; then
			# the text SQLite keeps is dbmate's own DDL
			[ "$(sqlite3 "$TEST_SQLITE" "select sql from sqlite_master where name = 'schema_migrations'")" = 'CREATE TABLE "schema_migrations" (version varchar(128) primary key)' ]
		else
			[ "$(psql_db "select column_name || ':' || data_type || ':' || is_nullable from information_schema.columns where table_name = 'schema_migrations'")" = "version:character varying:NO" ]
		fi
	}
	for_each_driver check
}

@test "dbmate: the real dbmate and strata see one state, each after the other" {
	dbmate_bin
	check() {
		write_dbmate_folder
		run strata run
		[ "$status" -eq 0 ]
		run dbmate status --exit-code
		echo "$output"
		[ "$status" -eq 0 ]
		[[ $output == *"Applied: 3"* && $output == *"Pending: 0"* ]]
		run dbmate up
		[ "$status" -eq 0 ]
		[[ $output != *Applying* ]]
		# dbmate rolls back the newest; strata sees it pending
		run dbmate rollback
		[ "$status" -eq 0 ]
		run strata status
		[ "$status" -eq 0 ]
		[[ $output == *"2 applied, 1 pending"* ]]
		# a migration dbmate applies is applied for strata too
		write_migration 20240104000000_more.sql <<'EOF'
-- migrate:up
create table more (id int);
-- migrate:down
drop table more;
EOF
		run dbmate up
		[ "$status" -eq 0 ]
		run strata check
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$(query_db "select count(*) from users")" = 1 ]
		# strata reverts what dbmate applied: dbmate's row goes
		run strata revert
		[ "$status" -eq 0 ]
		[[ $output == *"Reverted 20240104000000"* ]]
		run dbmate status --exit-code
		[ "$status" -ne 0 ]
		[[ $output == *"[ ] 20240104000000_more.sql"* ]]
	}
	for_each_driver check
}

@test "dbmate: names dbmate reads that sqlx does not (VERSION.sql, VERSION-name.sql, leading zeros) are read as dbmate reads them, and the real dbmate agrees" {
	dbmate_bin
	check() {
		write_migration 001_create_a.sql '-- migrate:up
create table a (x int);
-- migrate:down
drop table a;'
		write_migration 002-add_b.sql '-- migrate:up
create table b (x int);
-- migrate:down
drop table b;'
		write_migration 003.sql '-- migrate:up
create table c (x int);
-- migrate:down
drop table c;'
		run strata run --dry-run
		echo "$output"
		[ "$status" -eq 0 ]
		[[ $output == *"002 add b"* && $output == *"003"* ]]
		run strata run
		echo "$output"
		[ "$status" -eq 0 ]
		# the versions as dbmate writes them: the leading digits, as text
		[ "$(query_db "select version from schema_migrations order by version" | paste -sd,)" = "001,002,003" ]
		run dbmate status --exit-code
		echo "$output"
		[ "$status" -eq 0 ]
		[[ $output == *"[X] 002-add_b.sql"* && $output == *"[X] 003.sql"* && $output == *"Pending: 0"* ]]
		# such a name without dbmate's sections is still no migration
		write_migration 004.sql 'create table d (x int);'
		run strata status
		echo "$output"
		[ "$status" -eq 4 ]
		[[ $output == *"invalid migration file name 'migrations/004.sql'"* ]]
	}
	for_each_driver check
}

@test "dbmate: transaction:false runs the section outside a transaction" {
	new_db
	write_migration 20240101000000_t.sql <<'EOF'
-- migrate:up
create table t (a int);
-- migrate:down
drop table t;
EOF
	write_migration 20240102000000_idx.sql <<'EOF'
-- migrate:up transaction:false
create index concurrently t_a on t (a);
-- migrate:down transaction:false
drop index concurrently t_a;
EOF
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select count(*) from pg_indexes where indexname = 't_a'")" = 1 ]
	run strata revert
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select count(*) from pg_indexes where indexname = 't_a'")" = 0 ]
	[ "$(psql_db "select count(*) from schema_migrations")" = 1 ]
}

@test "dbmate: a failing down section is recorded as failed, dbmate's row kept" {
	new_db
	write_migration 20240101000000_t.sql <<'EOF'
-- migrate:up transaction:false
create table t (a int);
-- migrate:down transaction:false
drop table t;
drop table no_such_table;
EOF
	run strata run
	[ "$status" -eq 0 ]
	run strata revert
	[ "$status" -ne 0 ]
	[[ $output == *"no_such_table"* ]]
	# the error names the file's own line (the down section's second)
	[[ $output == *"20240101000000_t.sql:5"* ]]
	[ "$(psql_db "select count(*) from schema_migrations")" = 1 ]
	run strata status
	[[ $output == *failed* ]]
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"recorded as failed"* ]]
}

@test "dbmate: files dbmate refuses are refused by name, nothing applied" {
	new_db
	write_migration 20240101000000_a.sql <<'EOF'
create table before_up (a int);
-- migrate:up
create table a (a int);
-- migrate:down
drop table a;
EOF
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"20240101000000_a.sql' has statements before its '-- migrate:up' line"* ]]
	rm migrations/*
	write_migration 20240101000000_a.sql <<'EOF'
-- migrate:up
create table a (a int);
EOF
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"has no '-- migrate:down' section"* ]]
	rm migrations/*
	write_migration 20240101000000_a.sql <<'EOF'
-- migrate:up
create table a (a int);
-- migrate:down
drop table a;
-- migrate:up
create table b (a int);
-- migrate:down
drop table b;
EOF
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"holds more than one '-- migrate:up' section"* ]]
	[ "$(psql_db "select count(*) from pg_tables where tablename in ('a', 'b', 'before_up')")" = 0 ]
}

@test "a folder mixing dbmate files and sqlx files is refused, naming both" {
	new_db
	write_migration 1_a.sql <<'EOF'
-- migrate:up
create table a (a int);
-- migrate:down
drop table a;
EOF
	write_migration 2_b.sql 'create table b (b int);'
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"2_b.sql' is a migration of sqlx's layout"* ]]
	[[ $output == *"--layout"* ]]
	run strata --layout sqlx run
	[ "$status" -ne 0 ]
	[[ $output == *"1_a.sql' is a dbmate migration"* ]]
	[ "$(psql_db "select count(*) from pg_tables where tablename in ('a', 'b')")" = 0 ]
}

write_diesel_folder() {
	write_migration 00000000000000_diesel_initial_setup/up.sql 'create table setup (a int);'
	write_migration 00000000000000_diesel_initial_setup/down.sql 'drop table setup;'
	write_migration 2024-01-01-000000_create_posts/up.sql 'create table posts (id int primary key, title text);'
	write_migration 2024-01-01-000000_create_posts/down.sql 'drop table posts;'
	write_migration 2024-01-02-000000_index_posts/up.sql 'create index concurrently posts_title on posts (title);'
	write_migration 2024-01-02-000000_index_posts/down.sql 'drop index concurrently posts_title;'
	write_migration 2024-01-02-000000_index_posts/metadata.toml 'run_in_transaction = false'
}

@test "diesel: a folder of diesel's directories applies and is recorded in diesel's table" {
	check() {
		write_diesel_folder
		if [[ $STRATA_TEST_DRIVER == sqlite ]]; then
			write_migration 2024-01-02-000000_index_posts/up.sql 'create index posts_title on posts (title);'
			write_migration 2024-01-02-000000_index_posts/down.sql 'drop index posts_title;'
			sqlite3 "$TEST_SQLITE" 'select 1' >/dev/null
		fi
		run strata status
		[ "$status" -eq 0 ]
		[[ $output == *"3 pending"* ]]
		run strata run
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$(query_db "select version from __diesel_schema_migrations order by 1" | tr '\n' ' ')" = "00000000000000 20240101000000 20240102000000 " ]
		[ "$(query_db "select count(*) from __diesel_schema_migrations where run_on is not null")" = 3 ]
		run strata revert
		[ "$status" -eq 0 ]
		[ "$(query_db "select count(*) from __diesel_schema_migrations")" = 2 ]
		run strata run
		[ "$status" -eq 0 ]
		run strata check
		[ "$status" -eq 0 ]
	}
	for_each_driver check
}

@test "diesel: run_in_transaction = false in metadata.toml runs both files outside a transaction" {
	new_db
	write_diesel_folder
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select count(*) from pg_indexes where indexname = 'posts_title'")" = 1 ]
	[ "$(psql_db "select column_name || ':' || data_type from information_schema.columns where table_name = '__diesel_schema_migrations' order by ordinal_position" | tr '\n' ' ')" = "version:character varying run_on:timestamp without time zone " ]
	run strata revert
	[ "$status" -eq 0 ]
	[ "$(psql_db "select count(*) from pg_indexes where indexname = 'posts_title'")" = 0 ]
}

@test "diesel: a database diesel migrated is up to date for strata" {
	new_db
	write_diesel_folder
	psql_db <<'EOF'
CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
create table setup (a int);
create table posts (id int primary key, title text);
insert into __diesel_schema_migrations (version) values ('00000000000000'), ('20240101000000');
EOF
	run strata status
	[ "$status" -eq 0 ]
	[[ $output == *"2 applied, 1 pending"* ]]
	run strata run
	[ "$status" -eq 0 ]
	[[ $output != *"create posts"* ]]
	[ "$(psql_db "select count(*) from __diesel_schema_migrations")" = 3 ]
}

@test "diesel: versions run in diesel's text order, 14 and 18 digits apart, and show as diesel writes them" {
	new_db
	# diesel orders "2017-09-23-..." (20170923...) after "20170309...",
	# and "20260527120000" before "2026-05-27-120000-0000"
	write_migration 2017-09-23-182408_second/up.sql 'insert into log values (2);'
	write_migration 20170309122510_first/up.sql 'create table log (n int); insert into log values (1);'
	write_migration 2026-05-27-120000-0000_fourth/up.sql 'insert into log values (4);'
	write_migration 2026-05-27-120000_third/up.sql 'insert into log values (3);'
	write_migration 9_last/up.sql 'insert into log values (5);'
	write_migration 9_last/down.sql 'delete from log where n = 5;'
	write_migration 2026-05-27-120000-0000_fourth/down.sql 'delete from log where n = 4;'
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select string_agg(n::text, ',' order by ctid) from log")" = "1,2,3,4,5" ]
	[[ $output == *"Applied 20260527120000 third"* ]]
	[[ $output == *"Applied 202605271200000000 fourth"* ]]
	[ "$(psql_db "select version from __diesel_schema_migrations order by version" | tr '\n' ' ')" = "20170309122510 20170923182408 20260527120000 202605271200000000 9 " ]
	run strata --format json status
	[ "$(jq -r '.migrations[3].version_text' <<<"$output")" = 202605271200000000 ]
	# the text table's columns stay in line past 16 digits
	run strata status
	[ "$(sed -n '/^20170309122510 /s/applied.*//p' <<<"$output" | wc -c)" = "$(sed -n '/^202605271200000000 /s/applied.*//p' <<<"$output" | wc -c)" ]
	# a version given by its digits, as diesel writes it
	run strata revert --target-version 20260527120000
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"Reverted 9 last"* && $output == *"Reverted 202605271200000000 fourth"* ]]
	[ "$(psql_db "select count(*) from __diesel_schema_migrations")" = 3 ]
}

@test "diesel: a directory without up.sql, a bad metadata.toml and loose .sql files are named" {
	new_db
	write_migration 2024-01-01-000000_a/down.sql 'drop table a;'
	write_migration 2024-01-02-000000_b/up.sql 'create table b (a int);'
	write_migration 2024-01-02-000000_b/metadata.toml 'run_in_transaction = "no"'
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"diesel migration 'migrations/2024-01-01-000000_a' has no up.sql"* ]]
	rm -r migrations/2024-01-01-000000_a
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"metadata.toml' line 1: run_in_transaction is not true or false"* ]]
	rm -r migrations/*
	write_migration 2024-01-02-000000_b/up.sql 'create table b (a int);'
	write_migration 3_c.sql 'create table c (a int);'
	run strata --layout diesel run
	[ "$status" -ne 0 ]
	[[ $output == *"3_c.sql' is a file of another layout"* ]]
	[ "$(psql_db "select count(*) from pg_tables where tablename in ('b', 'c')")" = 0 ]
}

@test "--layout and layout = in strata.conf: an unknown name is refused" {
	sqlite_db
	run strata --layout liquibase status
	[ "$status" -eq 2 ]
	[[ $output == *"unknown layout 'liquibase'"* ]]
	printf '[strata]\nlayout = nope\n' > strata.conf
	run strata status
	[ "$status" -eq 2 ]
	[[ $output == *"layout"* && $output == *"nope"* ]]
}

@test "new: the next migration in the folder's own layout, dbmate's and diesel's" {
	new_db
	write_dbmate_folder
	run strata new add_phone
	[ "$status" -eq 0 ]
	[[ $output =~ Created\ migrations/[0-9]{14}_add_phone\.sql ]]
	run strata new --template index users_phone
	[ "$status" -eq 0 ]
	f=$(ls migrations/*_users_phone.sql)
	[ "$(head -1 "$f")" = "-- migrate:up transaction:false" ]
	grep -qx -- "-- migrate:down transaction:false" "$f"
	sed -i 's/table_name (column_name)/users (name)/' "$f"
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select count(*) from schema_migrations")" = 5 ]

	new_db
	write_diesel_folder
	run strata new create_tags
	[ "$status" -eq 0 ]
	[[ $output =~ Created\ migrations/[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}_create_tags/up\.sql ]]
	run strata new --template index tags_name
	[ "$status" -eq 0 ]
	d=$(ls -d migrations/*_tags_name)
	[ "$(cat "$d/metadata.toml")" = "run_in_transaction = false" ]
	# made in the same second as the one before: a second later
	[ "$(ls -d migrations/*_create_tags)" \< "$d" ]
	sed -i 's/table_name (column_name)/posts (title)/' "$d/up.sql"
	echo 'select 1;' > "$(ls -d migrations/*_create_tags)/up.sql"
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select count(*) from __diesel_schema_migrations")" = 5 ]
}

@test "diesel: a failure names the migration by diesel's version, and repair takes it" {
	new_db
	write_migration 2024-01-01-000000_a/up.sql 'create table a (x int); select no_such_column from a;'
	write_migration 2024-01-01-000000_a/metadata.toml 'run_in_transaction = false'
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"Migration 20240101000000 ran outside a transaction"* ]]
	[[ $output == *"strata repair --retry 20240101000000"* ]]
	# the tool's table holds nothing of a failed migration
	[ "$(psql_db "select count(*) from __diesel_schema_migrations")" = 0 ]
	run strata status
	[[ $output == *"20240101000000"*failed* ]]
	psql_db 'drop table a'
	run strata repair --retry 20240101000000
	echo "$output"
	[ "$status" -eq 0 ]
	write_migration 2024-01-01-000000_a/up.sql 'create table a (x int);'
	run strata run
	[ "$status" -eq 0 ]
	[ "$(psql_db "select version from __diesel_schema_migrations")" = 20240101000000 ]
}

write_golang_folder() {
	write_migration 1_create_a.up.sql 'create table a (x int);'
	write_migration 1_create_a.down.sql 'drop table a;'
	write_migration 2_index_a.up.sql 'create index concurrently a_x on a (x);'
	write_migration 2_index_a.down.sql 'drop index concurrently a_x;'
	write_migration 3_fill_a.up.sql 'insert into a values (1);'
	write_migration 3_fill_a.down.sql 'delete from a;'
}

@test "golang-migrate: its one-row table is found in the database and kept as golang-migrate keeps it" {
	new_db
	write_golang_folder
	# what golang-migrate's postgres driver leaves after migrating to 1
	psql_db <<'EOF2'
CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null);
INSERT INTO schema_migrations (version, dirty) VALUES (1, false);
create table a (x int);
EOF2
	run strata status
	[ "$status" -eq 0 ]
	[[ $output == *"1 applied, 2 pending"* ]]
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	# a file of one statement that needs no transaction runs outside one,
	# as golang-migrate sends it
	[ "$(psql_db "select count(*) from pg_indexes where indexname = 'a_x'")" = 1 ]
	[ "$(psql_db "select version || ':' || dirty from schema_migrations")" = "3:false" ]
	[ "$(psql_db "select to_regclass('_sqlx_migrations') is null")" = t ]
	run strata revert --count 2
	[ "$status" -eq 0 ]
	[ "$(psql_db "select version || ':' || dirty from schema_migrations")" = "1:false" ]
	run strata revert
	[ "$status" -eq 0 ]
	[ "$(psql_db "select count(*) from schema_migrations")" = 0 ]
}

@test "golang-migrate: a dirty version is a failed migration, and repair does what migrate force does" {
	new_db
	write_golang_folder
	psql_db <<'EOF2'
CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null);
INSERT INTO schema_migrations (version, dirty) VALUES (2, true);
create table a (x int);
EOF2
	run strata status
	[[ $output == *"2 "*failed* ]]
	run strata run
	[ "$status" -eq 4 ]
	[[ $output == *"migration 2 (index a) is recorded as failed"* ]]
	run strata repair --retry 2
	[ "$status" -eq 0 ]
	[ "$(psql_db "select version || ':' || dirty from schema_migrations")" = "1:false" ]
	run strata run
	[ "$status" -eq 0 ]
	[ "$(psql_db "select version || ':' || dirty from schema_migrations")" = "3:false" ]
}

@test "golang-migrate: asked for on a fresh database, its table is created as golang-migrate creates it" {
	check() {
		write_golang_folder
		if [[ $STRATA_TEST_DRIVER == sqlite ]]; then
			write_migration 2_index_a.up.sql 'create index a_x on a (x);'
			write_migration 2_index_a.down.sql 'drop index a_x;'
		fi
		printf '[strata]\nlayout = golang-migrate\n' > strata.conf
		run strata run
		echo "$output"
		[ "$status" -eq 0 ]
		if [[ $STRATA_TEST_DRIVER == sqlite ]]; then
			[ "$(sqlite3 "$TEST_SQLITE" "select sql from sqlite_master where tbl_name = 'schema_migrations' order by type desc")" = "CREATE TABLE schema_migrations (version uint64,dirty bool)
CREATE UNIQUE INDEX version_unique ON schema_migrations (version)" ]
			[ "$(sqlite3 "$TEST_SQLITE" "select version || ':' || dirty from schema_migrations")" = "3:0" ]
		else
			[ "$(psql_db "select column_name || ':' || data_type || ':' || is_nullable from information_schema.columns where table_name = 'schema_migrations' order by ordinal_position" | tr '\n' ' ')" = "version:bigint:NO dirty:boolean:NO " ]
			[ "$(psql_db "select version || ':' || dirty from schema_migrations")" = "3:false" ]
		fi
	}
	for_each_driver check
}

@test "golang-migrate: both sqlx's table and golang-migrate's in one database is for a person to choose" {
	new_db
	write_golang_folder
	psql_db 'CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)'
	strata --layout sqlx run --target-version 1
	run strata status
	[ "$status" -eq 2 ]
	[[ $output == *"both sqlx's history"* && $output == *"--layout sqlx or --layout golang-migrate"* ]]
	run strata --layout sqlx status
	[ "$status" -eq 0 ]
}

@test "golang-migrate: its advisory lock is taken beside strata's, so the two tools exclude each other" {
	new_db
	write_golang_folder
	psql_db 'CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)'
	# golang-migrate's GenerateAdvisoryLockId(database, schema, table)
	key=$(python3 -c 'import sys, zlib; print((zlib.crc32(("public\0schema_migrations\0" + sys.argv[1]).encode()) * 1486364155) & 0xffffffff)' "$TEST_DB")
	hold_session golang-migrate 30 "BEGIN; SELECT pg_advisory_lock($key);"
	await_sql "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = ($key::bigint & 4294967295)::oid AND granted"
	run strata run --lock-wait 1
	echo "$output"
	[ "$status" -eq 6 ]
	[[ $output == *golang-migrate* ]]
	[ "$(psql_db "select count(*) from schema_migrations")" = 0 ]
	release_holder
	# nothing of strata's lock is left held by the failed try
	[ "$(psql_db "select count(*) from pg_locks where locktype = 'advisory'")" = 0 ]
	run strata run
	[ "$status" -eq 0 ]
}

@test "revert: a migration without its down SQL says how its layout writes one" {
	new_db
	write_migration 20240101000000_a.sql <<'EOF2'
-- migrate:up
create table a (x int);
-- migrate:down
-- nothing: it cannot be undone
EOF2
	strata run
	run strata revert
	[ "$status" -eq 4 ]
	[[ $output == *"it has no down file"* ]]
	[[ $output == *"after the '-- migrate:down' line of 'migrations/20240101000000_a.sql'"* ]]

	new_db
	write_migration 2024-01-01-000000_a/up.sql 'create table a (x int);'
	strata run
	run strata revert
	[ "$status" -eq 4 ]
	[[ $output == *"Add down.sql beside 'migrations/2024-01-01-000000_a/up.sql'"* ]]
}

@test "diesel: an up.sql that links out of the folder is refused, nothing applied" {
	new_db
	echo 'create table outside (a int);' > "$BATS_TEST_TMPDIR/outside.sql"
	mkdir -p migrations/2024-01-01-000000_a
	ln -s "$BATS_TEST_TMPDIR/outside.sql" migrations/2024-01-01-000000_a/up.sql
	write_migration 2024-01-02-000000_b/up.sql 'create table b (a int);'
	run strata run
	[ "$status" -eq 4 ]
	[[ $output == *"symbolic link 'migrations/2024-01-01-000000_a/up.sql' leads out of the migration directory"* ]]
	[ "$(psql_db "select count(*) from pg_tables where tablename in ('outside', 'b')")" = 0 ]
}
