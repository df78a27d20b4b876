#!/usr/bin/env bats
# Other tools' layouts (design.md, Layouts), the finer points: Flyway's
# equivalent checksum of a repeatable, a BOM at the start of a Flyway
# file, the rows each tool's baseline writes, and the layout's own version
# text wherever strata shows a version. Flyway's rows are written here as
# Flyway writes them; checksums come from Python's zlib over the file's
# lines, as Flyway's ChecksumCalculator feeds Java's CRC32.

load lib

# Flyway's checksum of stdin: CRC-32 of its lines without their ends, a
# BOM dropped, as a signed 32-bit integer
flyway_sum_of() {
	python3 -c '
import re, sys, zlib
d = sys.stdin.buffer.read().decode()
d = d[1:] if d.startswith("\ufeff") else d
c = zlib.crc32("".join(re.split("\r\n|\r|\n", d)).encode())
print(c - 2**32 if c >= 2**31 else c)'
}

flyway_ddl='CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL);'

@test "flyway: a repeatable whose row has the checksum of its file before placeholders (an older Flyway's) is applied, as Flyway's equivalent checksum has it" {
	new_db
	write_migration V1__create.sql 'create table accounts (id int);'
	write_migration R__view.sql 'create or replace view ${table}_v as select id from ${table};'
	printf '[placeholders]\ntable = accounts\n' >strata.conf
	raw=$(flyway_sum_of <migrations/R__view.sql)
	replaced=$(sed 's/\${table}/accounts/g' migrations/R__view.sql | flyway_sum_of)
	[ "$raw" != "$replaced" ]
	# an older Flyway recorded a repeatable's checksum of the file as
	# read, placeholders left in: Flyway's equivalentChecksum
	psql_db <<EOF
$flyway_ddl
INSERT INTO flyway_schema_history VALUES
 (1, '1', 'create', 'SQL', 'V1__create.sql', $(flyway_sum_of <migrations/V1__create.sql), 'postgres', now(), 3, true),
 (2, NULL, 'view', 'SQL', 'R__view.sql', $raw, 'postgres', now(), 1, true);
create table accounts (id int);
create view accounts_v as select id from accounts;
EOF
	run strata status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"2 applied, 0 pending"* ]]
	run strata check
	echo "$output"
	[ "$status" -eq 0 ]
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"up to date"* ]]
	[ "$(psql_db "select count(*) from flyway_schema_history")" = 2 ]
	# a checksum of neither text is a change: run again, recorded with
	# the checksum of the text replaced, as Flyway 10 records it
	psql_db "update flyway_schema_history set checksum = 7 where installed_rank = 2"
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"Applied R__view view"* ]]
	[ "$(psql_db "select checksum from flyway_schema_history where installed_rank = 3")" = "$replaced" ]
}

flyway_bom_case() {
	printf '\xEF\xBB\xBFcreate table t (x int);\n' >migrations/V1__create.sql
	printf '\xEF\xBB\xBF-- first line\ncreate view tv as select x from t;\n' >migrations/R__tv.sql
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *"byte-order mark"* ]]
	# Flyway's checksum is of the text without the mark
	assert_equal "$(query_db "select script || '|' || checksum from flyway_schema_history order by installed_rank")" \
		"V1__create.sql|$(tail -c +4 migrations/V1__create.sql | flyway_sum_of)
R__tv.sql|$(tail -c +4 migrations/R__tv.sql | flyway_sum_of)"
	[ "$(query_db "select count(*) from tv")" = 0 ]
	run strata check
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "flyway: a UTF-8 BOM at the start of a file is stripped as Flyway strips it, on PostgreSQL and SQLite" {
	for_each_driver flyway_bom_case
}

@test "flyway: baseline writes the one BASELINE row Flyway writes; run applies what follows; a table that records migrations is refused" {
	new_db
	write_migration V1__a.sql 'create table a (x int);'
	write_migration V1.1__b.sql 'create table b (x int);'
	write_migration V2__c.sql 'create table c (x int);'
	write_migration V3__d.sql 'create table d (x int);'
	run strata baseline 2
	echo "$output"
	[ "$status" -eq 0 ]
	u=$(psql_db "select current_user")
	assert_equal "$(psql_db "select installed_rank || '|' || version || '|' || description || '|' || type || '|' || script || '|' || coalesce(checksum::text, 'NULL') || '|' || installed_by || '|' || execution_time || '|' || success from flyway_schema_history")" \
		"1|2|<< Flyway Baseline >>|BASELINE|<< Flyway Baseline >>|NULL|$u|0|true"
	run strata status
	echo "$output"
	[[ $output == *"3 applied, 1 pending"* ]]
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"Applied 3 d"* ]]
	[[ $output != *"Applied 1 a"* ]]
	assert_equal "$(psql_db "select installed_rank || '|' || version || '|' || type from flyway_schema_history order by 1")" "1|2|BASELINE
2|3|SQL"
	run strata baseline 3
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *'cannot baseline: "flyway_schema_history" already records migrations'* ]]
	[[ $output == *"mark-applied"* ]]
	[ "$(psql_db "select count(*) from flyway_schema_history")" = 2 ]
}

@test "the audit trail records the layout's version text: history, its filter and every --format json say 1.1 and R__NAME, not strata's order keys, which shift as repeatables are added" {
	new_db
	write_migration V1.1__create.sql 'create table t (x int);'
	write_migration R__b.sql 'create or replace view vb as select 1 as n;'
	run strata run
	[ "$status" -eq 0 ]
	# a trail an older strata created: no version_text column
	psql_db "alter table _strata_audit drop column if exists version_text"
	run strata history
	echo "$output"
	[ "$status" -eq 0 ]
	# a repeatable before it sorts first: strata's keys of R__b shift
	write_migration R__a.sql 'create or replace view va as select 2 as n;'
	run strata run --format json -v
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q '"version_text": *"R__a"'
	# the column is added back, and filled
	assert_equal "$(psql_db "select coalesce(version_text, '-') || '|' || description from _strata_audit order by id")" "-|create
-|b
R__a|a"
	run strata history
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | grep -Eq '^1 .* apply +1\.1 +success .* create$'
	echo "$output" | grep -Eq '^2 .* apply +R__b +success .* b$'
	echo "$output" | grep -Eq '^3 .* apply +R__a +success .* a$'
	run strata history --version R__a
	echo "$output"
	[ "$(echo "$output" | grep -c ' apply ')" = 1 ]
	echo "$output" | grep -Eq '^3 .* R__a '
	run strata history --version R__b
	echo "$output"
	[ "$(echo "$output" | grep -c ' apply ')" = 1 ]
	echo "$output" | grep -Eq '^2 .* R__b '
	run strata history --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.actions[2].version_text')" = R__a ]
	# mark-applied and repair say the version as Flyway writes it
	write_migration V1.2__more.sql 'create table u (x int);'
	run strata mark-applied --format json 1.2
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .version_text)" = 1.2 ]
	run strata history --format json --version 1.2
	[ "$(echo "$output" | jq -r '.actions | map(.version_text) | join(",")')" = 1.2 ]
	write_migration V1.3__other.sql 'create table w (x int);'
	run strata mark-applied 1.3
	echo "$output"
	[[ $output == *"Recorded migration 1.3 as applied"* ]]
}

@test "an older trail's new column waits at most the default lock_timeout for a session that read the trail, then the run goes on without it" {
	new_db
	write_migration 1_a.sql 'create table a (x int);'
	strata -q run
	psql_db "alter table _strata_audit drop column version_text"
	hold_session trail-reader 30 "BEGIN; SELECT count(*) FROM _strata_audit;"
	write_migration 2_b.sql 'create table b (x int);'
	SECONDS=0
	run timeout 20 strata run
	took=$SECONDS
	release_holder
	assert_success
	assert_output --partial "Applied 2 b"
	((took < 10)) || fail "the run took $took s behind the reader"
	# the next command, nothing in its way, adds it
	write_migration 3_c.sql 'create table c (x int);'
	strata -q run
	assert_equal "$(psql_db "select version_text from _strata_audit where description = 'c'")" 3
}

@test "golang-migrate: an empty _sqlx_migrations beside golang-migrate's table, left by a refused first run, does not make the history ambiguous" {
	new_db
	write_migration 1_users.up.sql 'CREATE TABLE users (id int, email text);'
	write_migration 1_users.down.sql 'DROP TABLE users;'
	write_migration 2_email.up.sql 'CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email);'
	write_migration 2_email.down.sql 'DROP INDEX users_email;'
	# read as sqlx's on a fresh database: refused, nothing applied
	run strata run
	assert_failure
	assert_output --partial "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
	assert_output --partial "If the folder is golang-migrate's"
	assert_output --partial "--layout golang-migrate"
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 0
	strata --layout golang-migrate run
	run strata status
	assert_success
	assert_output --partial "2 applied, 0 pending."
	# with a row in each, it is for a person to say
	psql_db "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (1, 'users', true, '\\x00', 0)"
	run strata status
	assert_failure 2
	assert_output --partial "holds both sqlx's history"
}

@test "flyway: a folder's V1__x.sql.conf files are known from its listing, not looked for beside each file" {
	command -v strace >/dev/null || skip "strace is not installed"
	sqlite_db
	for i in $(seq 1 30); do
		write_migration "V1.${i}__t$i.sql" "create table t$i (x int);"
	done
	write_migration V1.7__t7.sql.conf 'executeInTransaction=false'
	sqlite3 "$TEST_SQLITE" "select 1" >/dev/null
	# a file per thread: a call another thread interrupts (SQLite loads
	# beside the folder's read) stays whole on its line
	run strace -ff -qq -e trace=openat,faccessat,faccessat2,newfstatat,statx \
		-o "$BATS_TEST_TMPDIR/trace" "$STRATA_BIN" status
	echo "$output"
	cat "$BATS_TEST_TMPDIR"/trace.* >"$BATS_TEST_TMPDIR/trace"
	[[ $output == *"0 applied, 30 pending"* ]]
	# the one .conf there is, opened once; no probe beside the others
	grep '\.sql\.conf"' "$BATS_TEST_TMPDIR/trace"
	[ "$(grep -c '\.sql\.conf"' "$BATS_TEST_TMPDIR/trace")" = 1 ]
	grep -q 'V1\.7__t7\.sql\.conf".*= [0-9]' "$BATS_TEST_TMPDIR/trace"
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "lint: a hint that says '-- no-transaction' also says how the folder's layout runs a migration outside a transaction" {
	local hint
	# sqlx: the hint as it is
	write_migration 1_a.sql 'create table a (x int);'
	write_migration 2_b.sql 'create index concurrently a_x on a (x);'
	run strata lint
	echo "$output"
	[[ $output == *"Put '-- no-transaction' on the first line of the file"* ]]
	[[ $output != *"In "*"layout"* ]]
	rm -r migrations
	write_migration 2024-01-01-000001_a/up.sql 'create table a (x int);'
	write_migration 2024-01-01-000002_b/up.sql 'create index concurrently a_x on a (x);'
	run strata lint
	echo "$output"
	[[ $output == *"In diesel's layout, instead, a migration runs outside a transaction when its metadata.toml says run_in_transaction = false"* ]]
	rm -r migrations
	write_migration 20240101000001_a.sql '-- migrate:up
create table a (x int);
-- migrate:down'
	write_migration 20240101000002_b.sql '-- migrate:up
create index concurrently a_x on a (x);
-- migrate:down'
	run strata lint
	echo "$output"
	[[ $output == *"'-- migrate:up transaction:false'"* ]]
	rm -r migrations
	write_migration V1__a.sql 'create table a (x int);'
	write_migration V2__b.sql 'create table b (x int); create index concurrently a_x on a (x);'
	run strata lint
	echo "$output"
	[[ $output == *"NAME.sql.conf says executeInTransaction=false"* ]]
	rm -r migrations
	write_migration 1_a.up.sql 'create table a (x int);'
	write_migration 2_b.up.sql 'create table b (x int); create index concurrently a_x on a (x);'
	run strata --layout golang-migrate lint
	echo "$output"
	[[ $output == *"In golang-migrate's layout, instead, a file runs outside a transaction when it is one statement that cannot run in one"* ]]
	# and against a database, for what is pending
	new_db
	rm -r migrations
	write_migration 2024-01-01-000001_a/up.sql 'create table a (x int);'
	run strata run
	[ "$status" -eq 0 ]
	write_migration 2024-01-01-000002_b/up.sql 'create index a_x on a (x);'
	run strata lint
	echo "$output"
	[[ $output == *"[require-concurrent-index-creation]"* ]]
	[[ $output == *"In diesel's layout, instead, a migration runs outside a transaction"* ]]
}
