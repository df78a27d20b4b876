#!/usr/bin/env bats
# Flyway's layout (design.md, Layouts): V<VERSION>__<DESCRIPTION>.sql read
# as Flyway reads them, U files as their undo, tracked in Flyway's
# flyway_schema_history exactly as Flyway creates and writes it. The
# checksums expected here are computed by Python's zlib over the file's
# lines, as Flyway's ChecksumCalculator feeds Java's CRC32, apart from the
# code under test; the rows of "a database Flyway migrated" are written
# here as Flyway writes them.

load lib

# Flyway's checksum of a file: CRC-32 of its lines without their ends, a
# BOM dropped, as a signed 32-bit integer
flyway_sum() {
	python3 -c '
import re, sys, zlib
d = open(sys.argv[1], "rb").read().decode()
d = d[1:] if d.startswith("\ufeff") else d
c = zlib.crc32("".join(re.split("\r\n|\r|\n", d)).encode())
print(c - 2**32 if c >= 2**31 else c)' "$1"
}

# a dozen migrations: dotted and underscored versions, an undo pair, one
# that Flyway runs outside a transaction by itself, one that its .conf
# takes out of a transaction
write_flyway_folder() {
	write_migration V1__create_users.sql 'create table users (id int primary key, email text);'
	write_migration V1.1__add_name.sql 'alter table users add column name text;'
	write_migration V1_2__seed_users.sql "insert into users values (1, 'ada@example.com', 'Ada');"
	write_migration V1.10__add_phone.sql 'alter table users add column phone text;'
	write_migration V2__create_orders.sql 'create table orders (id int primary key, user_id int references users);'
	write_migration U2__create_orders.sql 'drop table orders;'
	write_migration V2.0.1__seed_orders.sql 'insert into orders values (1, 1);'
	write_migration V3__orders_user_idx.sql 'create index concurrently orders_user_idx on orders (user_id);'
	write_migration V4__users_email_idx.sql 'create index concurrently users_email_idx on users (email);
create index concurrently users_name_idx on users (name);'
	write_migration V4__users_email_idx.sql.conf 'executeInTransaction=false'
	write_migration V5__add_status.sql "alter table orders add column status text not null default 'new';"
	write_migration U5__add_status.sql 'alter table orders drop column status;'
	write_migration V6__create_audit.sql 'create table audit (at timestamptz default now(), what text);'
	write_migration V7__audit_view.sql 'create view recent_audit as select * from audit;'
	write_migration V10__add_total.sql 'alter table orders add column total numeric;'
	# passed over by Flyway: notes beside the migrations
	write_migration V57__readme.md '# notes'
	write_migration seed_data.sql 'select 1;'
}

history_rows() {
	psql_db "select installed_rank || '|' || coalesce(version, '') || '|' || description || '|' || type || '|' || script || '|' || coalesce(checksum::text, '') || '|' || installed_by || '|' || success from flyway_schema_history order by installed_rank"
}

@test "flyway: a folder of V and U files is detected, run in Flyway's order and recorded as Flyway records it" {
	new_db
	write_flyway_folder
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	assert_equal "$(psql_db "select string_agg(version, ',' order by installed_rank) from flyway_schema_history")" \
		"1,1.1,1.2,1.10,2,2.0.1,3,4,5,6,7,10"
	# every row as Flyway's doAddAppliedMigration() writes it
	local rank=0 f v want=""
	for f in V1__create_users V1.1__add_name V1_2__seed_users V1.10__add_phone V2__create_orders V2.0.1__seed_orders V3__orders_user_idx V4__users_email_idx V5__add_status V6__create_audit V7__audit_view V10__add_total; do
		rank=$((rank + 1))
		v=${f%%__*}; v=${v#V}; v=${v//_/.}
		d=${f#*__}; d=${d//_/ }
		want+="$rank|$v|$d|SQL|$f.sql|$(flyway_sum "migrations/$f.sql")|postgres|true"$'\n'
	done
	assert_equal "$(history_rows)" "${want%$'\n'}"
	[ "$(psql_db "select count(*) from flyway_schema_history where execution_time < 0 or installed_on > now()")" = 0 ]
	# the table as Flyway's PostgreSQL DDL makes it
	assert_equal "$(psql_db "select string_agg(column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') || ' ' || is_nullable || coalesce(' ' || column_default, ''), ', ' order by ordinal_position) from information_schema.columns where table_name = 'flyway_schema_history'")" \
		"installed_rank integer NO, version character varying(50) YES, description character varying(200) NO, type character varying(20) NO, script character varying(1000) NO, checksum integer YES, installed_by character varying(100) NO, installed_on timestamp without time zone NO now(), execution_time integer NO, success boolean NO"
	assert_equal "$(psql_db "select conname || ' ' || pg_get_constraintdef(oid) from pg_constraint where conrelid = 'flyway_schema_history'::regclass")" \
		"flyway_schema_history_pk PRIMARY KEY (installed_rank)"
	assert_equal "$(psql_db "select indexdef from pg_indexes where indexname = 'flyway_schema_history_s_idx'")" \
		"CREATE INDEX flyway_schema_history_s_idx ON public.flyway_schema_history USING btree (success)"
	# strata's record beside it, and the indexes built outside a transaction
	[ "$(psql_db "select count(*) from _strata_flyway_migrations where success")" = 12 ]
	[ "$(psql_db "select count(*) from pg_indexes where indexname in ('orders_user_idx', 'users_email_idx', 'users_name_idx')")" = 3 ]
	run strata status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"12 applied, 0 pending"* ]]
	[[ $output == *"2.0.1 "*applied*"seed orders"* ]]
	run strata check
	[ "$status" -eq 0 ]
	run strata validate
	[ "$status" -eq 0 ]
}

# the rows Flyway 9 leaves after `flyway migrate` of V1 to V1.2
flyway_migrated() {
	psql_db <<EOF
CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");
create table users (id int primary key, email text);
alter table users add column name text;
insert into users values (1, 'ada@example.com', 'Ada');
INSERT INTO "public"."flyway_schema_history" ("installed_rank", "version", "description", "type", "script", "checksum", "installed_by", "execution_time", "success") VALUES
 (1, '1', 'create users', 'SQL', 'V1__create_users.sql', $(flyway_sum migrations/V1__create_users.sql), 'postgres', 12, true),
 (2, '1.1', 'add name', 'SQL', 'V1.1__add_name.sql', $(flyway_sum migrations/V1.1__add_name.sql), 'postgres', 3, true),
 (3, '1.2', 'seed users', 'SQL', 'V1_2__seed_users.sql', $(flyway_sum migrations/V1_2__seed_users.sql), 'postgres', 2, true);
EOF
}

@test "flyway: a database Flyway migrated is up to date as far as Flyway went, and run applies only the rest" {
	new_db
	write_flyway_folder
	flyway_migrated
	run strata status
	echo "$output"
	[[ $output == *"3 applied, 9 pending"* ]]
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *"Applying 1.1 "* ]]
	[[ $output == *"Applied 1.10 add phone"* ]]
	assert_equal "$(psql_db "select string_agg(installed_rank || ':' || version, ',' order by installed_rank) from flyway_schema_history")" \
		"1:1,2:1.1,3:1.2,4:1.10,5:2,6:2.0.1,7:3,8:4,9:5,10:6,11:7,12:10"
	[ "$(psql_db "select count(*) from users")" = 1 ]
	run strata status
	[[ $output == *"12 applied, 0 pending"* ]]
}

@test "flyway: an applied file edited since is Flyway's checksum mismatch, for validate, check and run" {
	new_db
	write_flyway_folder
	flyway_migrated
	local applied
	applied=$(flyway_sum migrations/V1.1__add_name.sql)
	# line endings are no change to Flyway
	printf 'alter table users add column name text;\r\n' > migrations/V1.1__add_name.sql
	run strata validate
	echo "$output"
	[ "$status" -eq 0 ]
	run strata check
	[ "$status" -eq 3 ]
	[[ $output == *"9 migrations pending"* ]]
	write_migration V1.1__add_name.sql 'alter table users add column name varchar(100);'
	run strata validate
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"migration 1.1 was changed after it was applied"* ]]
	[[ $output == *"applied to database $applied, resolved locally $(flyway_sum migrations/V1.1__add_name.sql)"* ]]
	run strata check
	[ "$status" -eq 4 ]
	[[ $output == *"1 changed after applying"* ]]
	run strata run
	[ "$status" -ne 0 ]
	[ "$(psql_db "select count(*) from flyway_schema_history")" = 3 ]
}

@test "flyway: a BASELINE row applies every version up to it; the schema marker and repeatable rows are no version" {
	new_db
	write_flyway_folder
	psql_db <<'EOF'
CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL);
INSERT INTO flyway_schema_history VALUES
 (0, NULL, '<< Flyway Schema Creation >>', 'SCHEMA', '"public"', NULL, 'postgres', now(), 0, true),
 (1, '2', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'postgres', now(), 0, true),
 (2, NULL, 'views', 'SQL', 'R__views.sql', 1234, 'postgres', now(), 1, true);
create table users (id int primary key, email text, name text, phone text);
insert into users values (1, 'ada@example.com', 'Ada', NULL);
create table orders (id int primary key, user_id int references users);
EOF
	run strata status
	echo "$output"
	[[ $output == *"5 applied, 7 pending"* ]]
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *"Applying 2 "* ]]
	[[ $output == *"Applied 2.0.1 seed orders"* ]]
	[ "$(psql_db "select min(installed_rank) || '-' || max(installed_rank) from flyway_schema_history where type = 'SQL' and version is not null")" = 3-9 ]
}

@test "flyway: a failed migration outside a transaction is recorded as Flyway records it (success false); repair and run finish it" {
	new_db
	write_migration V1__create_a.sql 'create table a (x int);'
	write_migration V2__index_a.sql 'create index concurrently a_x on a (x);
create index concurrently a_y on a (no_such_column);'
	write_migration V2__index_a.sql.conf '# as Flyway writes it
executeInTransaction = false'
	run strata run
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"strata repair --retry 2"* ]]
	assert_equal "$(psql_db "select version || '|' || type || '|' || script || '|' || success from flyway_schema_history order by installed_rank")" \
		"1|SQL|V1__create_a.sql|true
2|SQL|V2__index_a.sql|false"
	run strata status
	[[ $output == *"2 "*failed* ]]
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"recorded as failed"* ]]
	# Flyway's repair: the failed row goes
	psql_db 'drop index a_x'
	run strata repair --retry 2
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select count(*) from flyway_schema_history where not success")" = 0 ]
	write_migration V2__index_a.sql 'create index concurrently a_x on a (x);'
	run strata run
	[ "$status" -eq 0 ]
	assert_equal "$(psql_db "select installed_rank || '|' || version || '|' || success || '|' || checksum from flyway_schema_history order by installed_rank")" \
		"1|1|true|$(flyway_sum migrations/V1__create_a.sql)
2|2|true|$(flyway_sum migrations/V2__index_a.sql)"
}

@test "flyway: a statement that needs no transaction beside others is refused, saying how Flyway's layout asks for it" {
	new_db
	write_migration V1__mixed.sql 'create table a (x int);
create index concurrently a_x on a (x);'
	run strata run
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"executeInTransaction=false' in 'migrations/V1__mixed.sql.conf'"* ]]
	[ "$(psql_db "select to_regclass('a') is null")" = t ]
	write_migration V1__mixed.sql.conf 'flyway.mixed=true'
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"V1__mixed.sql.conf' line 1: unsupported setting 'flyway.mixed'"* ]]
}

@test "flyway: revert runs the U file and appends Flyway Teams' UNDO_SQL row; a V without U cannot be reverted" {
	new_db
	write_flyway_folder
	run strata run
	[ "$status" -eq 0 ]
	run strata revert
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"10"* ]]
	[[ $output == *"U10__"* ]]
	[ "$(psql_db "select count(*) from information_schema.columns where table_name = 'orders' and column_name = 'total'")" = 1 ]
	rm migrations/V10__add_total.sql migrations/V7__audit_view.sql migrations/V6__create_audit.sql
	psql_db "delete from flyway_schema_history where version in ('6', '7', '10'); delete from _strata_flyway_migrations where version >= 6; drop table orders cascade; drop table audit cascade; create table orders (id int primary key, user_id int, status text)"
	run strata revert
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select count(*) from information_schema.columns where table_name = 'orders' and column_name = 'status'")" = 0 ]
	assert_equal "$(psql_db "select installed_rank || '|' || version || '|' || type || '|' || script || '|' || checksum || '|' || success from flyway_schema_history order by installed_rank desc limit 1")" \
		"10|5|UNDO_SQL|U5__add_status.sql|$(flyway_sum migrations/U5__add_status.sql)|true"
	run strata status
	echo "$output"
	[[ $output == *"8 applied, 1 pending"* ]]
	run strata run
	[ "$status" -eq 0 ]
	assert_equal "$(psql_db "select installed_rank || '|' || version || '|' || type from flyway_schema_history order by installed_rank desc limit 1")" "11|5|SQL"
	run strata status
	[[ $output == *"9 applied, 0 pending"* ]]
}

@test "flyway: mixed layouts and versions Flyway refuses are errors naming the files; --layout sqlx still refuses Flyway's names" {
	sqlite_db
	write_migration V1__a.sql 'create table a (x int);'
	write_migration 2_b.sql 'create table b (x int);'
	run strata run
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"mixes Flyway migrations ('V1__a.sql') with sqlx's ('2_b.sql')"* ]]
	rm migrations/2_b.sql
	write_migration V1.0__b.sql 'create table b (x int);'
	run strata run
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"more than one Flyway migration with version"*"'migrations/V1.0__b.sql' and 'migrations/V1__a.sql'"* ]]
	rm migrations/V1.0__b.sql
	write_migration V1.2.3.4.5.6.7.8.9.10__long.sql 'select 1;'
	run strata run
	[ "$status" -eq 4 ]
	[[ $output == *"Flyway version '1.2.3.4.5.6.7.8.9.10' of 'migrations/V1.2.3.4.5.6.7.8.9.10__long.sql' is too long for strata to order"* ]]
	rm migrations/V1.2.3.4.5.6.7.8.9.10__long.sql
	run strata --layout sqlx run
	[ "$status" -eq 4 ]
	[[ $output == *"holds Flyway migrations, which strata does not read"* ]]
	[ ! -e "$TEST_SQLITE" ] || [ "$(sqlite3 "$TEST_SQLITE" "select count(*) from sqlite_master where name = 'a'")" = 0 ]
	run strata --layout flyway run
	[ "$status" -eq 0 ]
}

@test "flyway: on SQLite, the table is Flyway's SQLite DDL and its rows as Flyway writes them" {
	sqlite_db
	write_migration V1__a.sql 'create table a (x int);'
	write_migration V1.1__b.sql 'create table b (x int);'
	run strata run
	[ "$status" -eq 0 ]
	assert_equal "$(sqlite3 "$TEST_SQLITE" "select sql from sqlite_master where name like 'flyway_schema_history%' order by name")" \
		'CREATE TABLE "flyway_schema_history" (
    "installed_rank" INT NOT NULL PRIMARY KEY,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INT,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TEXT NOT NULL DEFAULT (strftime('"'"'%Y-%m-%d %H:%M:%f'"'"','"'"'now'"'"')),
    "execution_time" INT NOT NULL,
    "success" BOOLEAN NOT NULL
)
CREATE INDEX "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success")'
	assert_equal "$(sqlite3 "$TEST_SQLITE" "select installed_rank || '|' || version || '|' || description || '|' || type || '|' || script || '|' || checksum || '|' || installed_by || '|' || success from flyway_schema_history order by installed_rank")" \
		"1|1|a|SQL|V1__a.sql|$(flyway_sum migrations/V1__a.sql)||1
2|1.1|b|SQL|V1.1__b.sql|$(flyway_sum migrations/V1.1__b.sql)||1"
	run strata status
	[[ $output == *"2 applied, 0 pending"* ]]
}

@test "flyway: Flyway's advisory lock is taken beside strata's, so Flyway and strata never run at once" {
	new_db
	write_migration V1__a.sql 'create table a (x int);'
	# PostgreSQLAdvisoryLockTemplate: "Flyway" + hashCode of "public"."flyway_schema_history"
	local key=77433833903597
	hold_session flyway 30 "BEGIN; SELECT pg_advisory_xact_lock($key);"
	await_sql "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = ($key & 4294967295)::oid AND classid = ($key >> 32)::oid AND granted"
	run strata run --lock-wait 1
	echo "$output"
	[ "$status" -eq 6 ]
	[ "$(psql_db "select to_regclass('a') is null")" = t ]
	release_holder
	[ "$(psql_db "select count(*) from pg_locks where locktype = 'advisory'")" = 0 ]
	run strata run
	[ "$status" -eq 0 ]
}

@test "flyway: new makes V<next>__name.sql after the newest version's first part, with its U file when the newest has one" {
	sqlite_db
	write_migration V1.1__a.sql 'select 1;'
	run strata new add users
	echo "$output"
	[ "$status" -eq 0 ]
	[ -f migrations/V2__add_users.sql ]
	write_migration U2__add_users.sql 'select 1;'
	write_migration V9.5__c.sql 'select 1;'
	write_migration U9.5__c.sql 'select 1;'
	run strata new more
	[ "$status" -eq 0 ]
	[ -f migrations/V10__more.sql ]
	[ -f migrations/U10__more.sql ]
	run strata run
	[ "$status" -eq 0 ]
	[[ $output == *"Applied 4 migrations"* ]]
}

@test "flyway: mark-applied and baseline write Flyway's rows; history shows the audit trail" {
	new_db
	write_flyway_folder
	run strata baseline 2
	echo "$output"
	[ "$status" -eq 0 ]
	assert_equal "$(history_rows)" "1|2|<< Flyway Baseline >>|BASELINE|<< Flyway Baseline >>||postgres|true"
	run strata mark-applied 3
	echo "$output"
	[ "$status" -eq 0 ]
	assert_equal "$(history_rows | tail -n 1)" "2|3|orders user idx|SQL|V3__orders_user_idx.sql|$(flyway_sum migrations/V3__orders_user_idx.sql)|postgres|true"
	run strata status
	[[ $output == *"6 applied, 6 pending"* ]]
	# the audit trail names versions as Flyway writes them
	run strata history
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq '^[0-9]+ +[0-9-]+ [0-9:]+ mark-applied +3 +success'
	echo "$output" | grep -Eq '^[0-9]+ +[0-9-]+ [0-9:]+ baseline +1\.10 +success'
	run strata history --version 1.10
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c ' 1\.10 ')" = 1 ]
	[[ $output != *" 1.1 "* ]]
}

@test "flyway: a dotted version is named on the command line as Flyway writes it (run --target-version, repair, revert)" {
	new_db
	write_migration V1__create_a.sql 'create table a (x int);'
	write_migration V1.1__add_y.sql 'alter table a add column y int;'
	write_migration U1.1__add_y.sql 'alter table a drop column y;'
	write_migration V1.2__index_a.sql 'create index concurrently a_x on a (x);
create index concurrently a_z on a (no_such_column);'
	write_migration V1.2__index_a.sql.conf 'executeInTransaction=false'
	run strata run --target-version 1_1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select string_agg(version, ',' order by installed_rank) from flyway_schema_history")" = 1,1.1 ]
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"strata repair --retry 1.2"* ]]
	psql_db 'drop index a_x'
	run strata repair --retry 1.2
	echo "$output"
	[ "$status" -eq 0 ]
	run strata revert --target-version 1.0
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select version || ':' || type from flyway_schema_history order by installed_rank desc limit 1")" = 1.1:UNDO_SQL ]
	run strata repair --retry 1.2.x
	[ "$status" -eq 2 ]
	[[ $output == *"--retry wants a version (digits, or Flyway's 1.2), not '1.2.x'"* ]]
}

@test "flyway: a \${placeholder} without a value is refused naming the file, line and name, nothing applied" {
	sqlite_db
	write_migration V1__a.sql 'create table a (x int);'
	write_migration V2__b.sql "-- owner: \${flyway:user}
create table b (x int);
insert into b values (\${answer});"
	run strata run
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"'migrations/V2__b.sql' line 1: no value for Flyway placeholder '\${flyway:user}'"* ]]
	[[ $output == *"--placeholder flyway:user=VALUE"* ]]
	[[ $output == *"at migrations/V2__b.sql:1:"* ]]
	[ ! -e "$TEST_SQLITE" ] || [ "$(sqlite3 "$TEST_SQLITE" "select count(*) from sqlite_master where name in ('a', 'b')")" = 0 ]
	# a dollar sign alone is no placeholder
	write_migration V2__b.sql "create table b (x int); insert into b values (length('\$1 {x}'));"
	run strata run
	[ "$status" -eq 0 ]
}

@test "flyway: subdirectories are read as Flyway reads them, hidden ones passed over, each row's script the file's path below the folder" {
	new_db
	write_migration V1__create_a.sql 'create table a (x int);'
	write_migration 2024/V2__create_b.sql 'create table b (x int);'
	write_migration 2024/U2__create_b.sql 'drop table b;'
	write_migration 2024/q1/V3__index_b.sql 'create index concurrently b_x on b (x);'
	write_migration 2024/q1/V3__index_b.sql.conf 'executeInTransaction=false'
	write_migration 2024/q1/R__b_view.sql 'create or replace view bv as select x from b;'
	# passed over by Flyway: a hidden directory, and SQL not named as a
	# migration
	write_migration .archive/V4__old.sql 'create table old (x int);'
	write_migration 2024/notes.sql 'select 1;'
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	local f want=""
	for f in V1__create_a.sql 2024/V2__create_b.sql 2024/q1/V3__index_b.sql; do
		want+="$f|$(flyway_sum "migrations/$f")"$'\n'
	done
	want+="2024/q1/R__b_view.sql|$(flyway_sum migrations/2024/q1/R__b_view.sql)"
	assert_equal "$(psql_db "select script || '|' || checksum from flyway_schema_history order by installed_rank")" "$want"
	[ "$(psql_db "select count(*) from pg_indexes where indexname = 'b_x'")" = 1 ]
	[ "$(psql_db "select to_regclass('old') is null")" = t ]
	run strata status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"4 applied, 0 pending"* ]]
	run strata validate
	[ "$status" -eq 0 ]
	# the undo in a subdirectory is V2's
	run strata revert --target-version 1
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"cannot revert migration 3"* ]]
	# one version in two directories is Flyway's error too
	write_migration 2025/V2__again.sql 'select 1;'
	run strata status
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"more than one Flyway migration with version"*"2024/V2__create_b.sql"*"2025/V2__again.sql"* ]]
	rm -r migrations/2025
	# a link to a directory is refused, not followed out of the folder
	ln -s "$BATS_TEST_TMPDIR" migrations/2024/elsewhere
	run strata status
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"'migrations/2024/elsewhere' is a link to a directory, which strata does not follow"* ]]
	rm migrations/2024/elsewhere
	run strata status
	[ "$status" -eq 0 ]
	# a tree deeper than strata reads is refused, not passed over
	local deep=migrations/deep i
	for ((i = 0; i < 33; i++)); do deep+=/d; done
	write_migration "${deep#migrations/}/V9__deep.sql" 'select 1;'
	run strata status
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"is nested more than 32 directories deep"* ]]
	[[ $output == *"Keep migrations within 32 directories of the folder"* ]]
}

@test "flyway: a folder whose Flyway files are all in subdirectories is Flyway's; a sqlx folder's subdirectory stays refused" {
	sqlite_db
	write_migration 1.0/V1__a.sql 'create table a (x int);'
	write_migration 1.1/V1.1__b.sql 'create table b (x int);'
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(sqlite3 "$TEST_SQLITE" "select group_concat(script, ',') from (select script from flyway_schema_history order by installed_rank)")" = "1.0/V1__a.sql,1.1/V1.1__b.sql" ]
	rm -r migrations "$TEST_SQLITE"
	write_migration 1_a.sql 'create table a (x int);'
	write_migration old/2_b.sql 'create table b (x int);'
	run strata run
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"directory 'migrations/old' looks like a migration"* ]]
}

@test "flyway: a callback or a script migration Flyway would run (afterMigrate.sql, beforeEachMigrate__x.sql, V2__x.sh, in a subdirectory too) is refused naming it, not passed over; nothing applied" {
	sqlite_db
	write_migration V1__a.sql 'create table a (x int);'
	write_migration afterMigrate.sql 'create table grants (x int);'
	run strata run
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"'migrations/afterMigrate.sql' is a Flyway callback (afterMigrate), which strata does not run"* ]]
	[ ! -e "$TEST_SQLITE" ] || [ "$(sqlite3 "$TEST_SQLITE" "select count(*) from sqlite_master where name = 'a'")" = 0 ]
	rm migrations/afterMigrate.sql
	write_migration hooks/beforeEachMigrate__log.sql 'select 1;'
	run strata validate
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"'migrations/hooks/beforeEachMigrate__log.sql' is a Flyway callback (beforeEachMigrate)"* ]]
	rm -r migrations/hooks
	# the suffix in any case, as Flyway strips it
	write_migration afterMigrate.SQL 'select 1;'
	run strata run
	[ "$status" -eq 4 ]
	[[ $output == *"'migrations/afterMigrate.SQL' is a Flyway callback (afterMigrate)"* ]]
	rm migrations/afterMigrate.SQL
	# a script migration Flyway runs as a program, at the top or below
	write_migration V2__b.sh 'echo b'
	run strata run
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"'migrations/V2__b.sh' is a Flyway script migration, which strata does not run"* ]]
	rm migrations/V2__b.sh
	write_migration 2024/V3__c.py 'print(1)'
	run strata run
	[ "$status" -eq 4 ]
	[[ $output == *"'migrations/2024/V3__c.py' is a Flyway script migration"* ]]
	rm -r migrations/2024
	# a name that only starts like an event is SQL Flyway passes over
	write_migration afterMigrateNotes.sql 'select 1;'
	write_migration afterMigrate.old.sql 'select 1;'
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "flyway: a file ending in .SQL is a migration, as Flyway strips its suffix in any case, and its .SQL.conf is read" {
	new_db
	write_migration V1__a.sql 'create table a (x int);'
	write_migration V2__b.SQL 'create index concurrently a_x on a (x);'
	write_migration V2__b.SQL.conf 'executeInTransaction=false'
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	assert_equal "$(psql_db "select string_agg(version || ':' || script, ',' order by installed_rank) from flyway_schema_history")" "1:V1__a.sql,2:V2__b.SQL"
	[ "$(psql_db "select count(*) from pg_indexes where indexname = 'a_x'")" = 1 ]
}
