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
