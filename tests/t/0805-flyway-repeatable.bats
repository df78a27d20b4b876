#!/usr/bin/env bats
# Flyway's repeatable migrations (design.md, Layouts): R__<DESCRIPTION>.sql
# run after every pending versioned migration, in the order of their
# descriptions, again whenever their checksum changes, never reverted; each
# run a row of flyway_schema_history as Flyway's doAddAppliedMigration()
# writes it (version NULL, type SQL). Expected checksums come from Python's
# zlib over the file's lines, as Flyway's ChecksumCalculator feeds Java's
# CRC32, and from CRC-32's check value, apart from the code under test.

load lib

flyway_sum() {
	python3 -c '
import re, sys, zlib
d = open(sys.argv[1], "rb").read().decode()
d = d[1:] if d.startswith("\ufeff") else d
c = zlib.crc32("".join(re.split("\r\n|\r|\n", d)).encode())
print(c - 2**32 if c >= 2**31 else c)' "$1"
}

rows() {
	query_db "select installed_rank || '|' || coalesce(version, '-') || '|' || description || '|' || type || '|' || script || '|' || coalesce(checksum, 0) || '|' || installed_by || '|' || success from flyway_schema_history order by installed_rank"
}

write_folder() {
	write_migration V1__create_users.sql 'create table users (id int primary key, name text);'
	write_migration U1__create_users.sql 'drop table users;'
	write_migration V1.1__add_email.sql 'alter table users add column email text;'
	write_migration U1.1__add_email.sql 'alter table users drop column email;'
	# runs before R__users_view: 'answer' < 'users view'
	write_migration R__users_view.sql 'create or replace view users_view as select id, name from users;'
	write_migration R__answer.sql 'create or replace view answer as select 42 as n;'
}

@test "repeatables run after the versioned ones, by description, recorded as Flyway records them" {
	new_db
	write_folder
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	u=$(psql_db "select current_user")
	assert_equal "$(rows)" "1|1|create users|SQL|V1__create_users.sql|$(flyway_sum migrations/V1__create_users.sql)|$u|true
2|1.1|add email|SQL|V1.1__add_email.sql|$(flyway_sum migrations/V1.1__add_email.sql)|$u|true
3|-|answer|SQL|R__answer.sql|$(flyway_sum migrations/R__answer.sql)|$u|true
4|-|users view|SQL|R__users_view.sql|$(flyway_sum migrations/R__users_view.sql)|$u|true"
	[ "$(psql_db "select n from answer")" = 42 ]
	run strata status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"4 applied, 0 pending"* ]]
	run strata run
	[ "$status" -eq 0 ]
	[[ $output == *"up to date"* ]]
	[ "$(psql_db "select count(*) from flyway_schema_history")" = 4 ]
}

@test "a repeatable's checksum is CRC-32 of its lines without their ends: a change of line ends alone is no change, as for Flyway" {
	new_db
	write_migration V1__a.sql 'create table a (x int);'
	printf 'insert into a values (1);\r\ninsert into a values (2);' >migrations/R__fill.sql
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select checksum from flyway_schema_history where script = 'R__fill.sql'")" = "$(python3 -c 'import zlib; c = zlib.crc32(b"insert into a values (1);insert into a values (2);"); print(c - 2**32 if c >= 2**31 else c)')" ]
	printf 'insert into a values (1);\ninsert into a values (2);\n' >migrations/R__fill.sql
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"up to date"* ]]
	[ "$(psql_db "select count(*) from a")" = 2 ]
}

@test "a changed repeatable is pending (check fails, validate sees no mismatch), is run again and recorded anew; new versioned ones run before it, in order" {
	new_db
	write_folder
	run strata run
	[ "$status" -eq 0 ]
	write_migration R__users_view.sql 'create or replace view users_view as select id, name, email from users;'
	old=$(psql_db "select checksum from flyway_schema_history where installed_rank = 4")
	run strata status
	echo "$output"
	[[ $output == *"R__users_view "*"pending"*"users view"* ]]
	[[ $output == *"3 applied, 1 pending"* ]]
	run strata check
	echo "$output"
	[ "$status" -eq 3 ]
	run strata validate
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *"mismatch"* ]]
	write_migration V2__add_age.sql 'alter table users add column age int;'
	# its second run outside a transaction: Flyway's failed row while it
	# runs, a success once done
	write_migration R__users_view.sql.conf 'executeInTransaction=false'
	run strata run --strict-order
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *"out of order"* ]]
	[[ $output == *"Applied 2 add age"*"Applied R__users_view users view"* ]]
	[[ $output != *"answer"* ]]
	assert_equal "$(psql_db "select installed_rank || '|' || coalesce(version, '-') || '|' || script || '|' || checksum from flyway_schema_history where installed_rank > 4 order by installed_rank")" \
		"5|2|V2__add_age.sql|$(flyway_sum migrations/V2__add_age.sql)
6|-|R__users_view.sql|$(flyway_sum migrations/R__users_view.sql)"
	[ "$(psql_db "select checksum from flyway_schema_history where installed_rank = 4")" = "$old" ]
	[ "$(psql_db "select count(*) from flyway_schema_history where not success")" = 0 ]
	[ "$(psql_db "select count(*) from information_schema.columns where table_name = 'users_view'")" = 3 ]
	run strata status
	[[ $output == *"5 applied, 0 pending"* ]]
	# new follows the newest version, not a repeatable
	run strata new add_phone
	echo "$output"
	[ "$status" -eq 0 ]
	[ -e migrations/V3__add_phone.sql ]
}

@test "revert never touches a repeatable: it reverts the newest versioned migrations" {
	new_db
	write_folder
	run strata run
	[ "$status" -eq 0 ]
	psql_db "drop view users_view"
	run strata revert
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"1.1 add email"* ]]
	[ "$(psql_db "select count(*) from information_schema.columns where table_name = 'users' and column_name = 'email'")" = 0 ]
	assert_equal "$(psql_db "select installed_rank || '|' || coalesce(version, '-') || '|' || type from flyway_schema_history where installed_rank > 4")" "5|1.1|UNDO_SQL"
	run strata revert --all
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select count(*) from information_schema.tables where table_name = 'users'")" = 0 ]
	[ "$(psql_db "select n from answer")" = 42 ]
	run strata status
	echo "$output"
	[[ $output == *"2 applied, 2 pending"* ]]
}

@test "a database Flyway migrated: its repeatable rows say what is applied, the last row of each description" {
	new_db
	write_folder
	answer=$(flyway_sum migrations/R__answer.sql)
	psql_db <<EOF
CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL);
INSERT INTO flyway_schema_history VALUES
 (1, '1', 'create users', 'SQL', 'V1__create_users.sql', $(flyway_sum migrations/V1__create_users.sql), 'postgres', now(), 3, true),
 (2, NULL, 'answer', 'SQL', 'R__answer.sql', 12345, 'postgres', now(), 1, true),
 (3, NULL, 'answer', 'SQL', 'R__answer.sql', $answer, 'postgres', now(), 1, true),
 (4, NULL, 'users view', 'SQL', 'R__users_view.sql', $answer, 'postgres', now(), 1, true),
 (5, NULL, 'gone', 'SQL', 'R__gone.sql', 1, 'postgres', now(), 1, true);
create table users (id int primary key, name text);
create view answer as select 42 as n;
EOF
	run strata status
	echo "$output"
	[[ $output == *"2 applied, 2 pending"* ]]
	[[ $output != *"gone"* ]]
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"Applied 1.1 add email"*"Applied R__users_view users view"* ]]
	[[ $output != *"R__answer"* ]]
	[ "$(psql_db "select string_agg(coalesce(version, description), ',' order by installed_rank) from flyway_schema_history where installed_rank > 5")" = "1.1,users view" ]
}

@test "a repeatable outside a transaction, and on SQLite" {
	sqlite_db
	write_migration V1__create_users.sql 'create table users (id int primary key, name text);'
	write_migration R__users_view.sql 'create view if not exists users_view as select id, name from users;'
	write_migration R__users_view.sql.conf 'executeInTransaction=false'
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	assert_equal "$(rows)" "1|1|create users|SQL|V1__create_users.sql|$(flyway_sum migrations/V1__create_users.sql)||1
2|-|users view|SQL|R__users_view.sql|$(flyway_sum migrations/R__users_view.sql)||1"
	write_migration R__users_view.sql 'create view if not exists users_view2 as select id from users;'
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	assert_equal "$(sqlite3 "$TEST_SQLITE" "select installed_rank || '|' || checksum || '|' || success from flyway_schema_history where version is null order by installed_rank")" \
		"2|$(python3 -c 'import zlib; c = zlib.crc32(b"create view if not exists users_view as select id, name from users;"); print(c - 2**32 if c >= 2**31 else c)')|1
3|$(flyway_sum migrations/R__users_view.sql)|1"
	run strata status
	[[ $output == *"2 applied, 0 pending"* ]]
}

@test "a repeatable that failed outside a transaction is Flyway's failed row; named R__NAME, repair --retry removes it and run applies it again" {
	new_db
	write_migration V1__t.sql 'create table t (id int);'
	write_migration R__t_idx.sql 'create index concurrently t_idx on t (nope);'
	write_migration R__t_idx.sql.conf 'executeInTransaction=false'
	run strata run
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"strata repair --retry R__t_idx"* ]]
	assert_equal "$(rows)" "1|1|t|SQL|V1__t.sql|$(flyway_sum migrations/V1__t.sql)|postgres|true
2|-|t idx|SQL|R__t_idx.sql|$(flyway_sum migrations/R__t_idx.sql)|postgres|false"
	run strata status
	echo "$output"
	[[ $output == *"R__t_idx "*"failed"* ]]
	write_migration R__t_idx.sql 'create index concurrently t_idx on t (id);'
	run strata repair --retry R__t_idx
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"Forgot the failed record of migration R__t_idx:"* ]]
	[ "$(psql_db "select count(*) from flyway_schema_history")" = 1 ]
	run strata repair --retry R__no_such
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"no migration of 'migrations' has that name"* ]]
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	assert_equal "$(psql_db "select installed_rank || '|' || script || '|' || checksum || '|' || success from flyway_schema_history where version is null")" \
		"2|R__t_idx.sql|$(flyway_sum migrations/R__t_idx.sql)|true"
	[ "$(psql_db "select count(*) from pg_indexes where indexname = 't_idx'")" = 1 ]
}

@test "repeatables of one description, or of none, are refused as Flyway refuses them" {
	sqlite_db
	write_migration V1__a.sql 'create table a (x int);'
	write_migration 'R__my_view.sql' 'select 1;'
	write_migration 'R__my view.sql' 'select 2;'
	run strata run
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"more than one Flyway repeatable migration with description 'my view'"* ]]
	rm 'migrations/R__my view.sql' migrations/R__my_view.sql
	write_migration R__.sql 'select 1;'
	run strata run
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"invalid Flyway migration name 'migrations/R__.sql'"* ]]
	[ ! -e "$TEST_SQLITE" ] || [ "$(sqlite3 "$TEST_SQLITE" "select count(*) from sqlite_master where name = 'a'")" = 0 ]
}

# Flyway's checksum of a text given on standard input
flyway_sum_of() {
	python3 -c '
import re, sys, zlib
c = zlib.crc32("".join(re.split("\r\n|\r|\n", sys.stdin.read())).encode())
print(c - 2**32 if c >= 2**31 else c)'
}

@test "placeholders: [placeholders] and --placeholder are replaced as Flyway replaces them; a versioned checksum is of the file, a repeatable's of its text replaced" {
	new_db
	write_migration V1__create.sql '-- ${flyway:filename} makes ${Table}
create table ${table} (id int, note text default '"'"'${note}'"'"');'
	write_migration R__view.sql 'create or replace view ${table}_v as select id, '"'"'${flyway:table}'"'"' as t from ${TABLE};'
	printf '[placeholders]\ntable = accounts\nnote = from strata.conf\n' >strata.conf
	run strata run --placeholder 'note=a=b'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select column_default from information_schema.columns where table_name = 'accounts' and column_name = 'note'")" = "'a=b'::text" ]
	# a value may be a secret: the audit trail keeps the name alone
	[ "$(psql_db "select count(*) from _strata_audit where command like '%--placeholder note=***%' and command not like '%a=b%'")" -gt 0 ]
	psql_db "insert into accounts (id) values (1)"
	[ "$(psql_db "select t from accounts_v")" = flyway_schema_history ]
	assert_equal "$(psql_db "select script || '|' || checksum from flyway_schema_history order by installed_rank")" \
		"V1__create.sql|$(flyway_sum migrations/V1__create.sql)
R__view.sql|$(sed 's/\${table}/accounts/; s/\${TABLE}/accounts/; s/\${flyway:table}/flyway_schema_history/' migrations/R__view.sql | flyway_sum_of)"
	# a new value: the repeatable is pending again, the versioned one is
	# not changed
	run strata --placeholder table=accounts2 status
	echo "$output"
	[[ $output == *"1 applied, 1 pending"* ]]
	[[ $output != *"mismatch"* ]]
}

@test "placeholders: one without a value, or not closed, is an error naming the file, line and placeholder, nothing applied" {
	new_db
	write_migration V1__a.sql 'create table a (x int);'
	write_migration V2__b.sql 'create table b (x int);

insert into b values (${answer});'
	run strata run
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"'migrations/V2__b.sql' line 3: no value for Flyway placeholder '\${answer}'"* ]]
	[[ $output == *"at migrations/V2__b.sql:3:"* ]]
	[[ $output == *"[placeholders] section (answer = VALUE) or with --placeholder answer=VALUE"* ]]
	[ "$(psql_db "select count(*) from pg_tables where tablename in ('a', 'b')")" = 0 ]
	write_migration V2__b.sql 'create table b (x int); -- ${oops'
	run strata run --placeholder answer=42
	echo "$output"
	[ "$status" -eq 4 ]
	[[ $output == *"'migrations/V2__b.sql' line 1: Flyway placeholder '\${' has no closing '}'"* ]]
	write_migration V2__b.sql 'create table b (x int);

insert into b values (${ANSWER});'
	run strata run --placeholder answer=42
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(psql_db "select x from b")" = 42 ]
	# the value is the SQL: its own ${...} is not read again
	write_migration V3__c.sql 'select ${v};'
	run strata run --placeholder answer=42 --placeholder 'v=length($${x}$$)'
	echo "$output"
	[ "$status" -eq 0 ]
}
