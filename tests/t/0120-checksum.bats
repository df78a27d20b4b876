#!/usr/bin/env bats
# An applied migration edited afterwards stops run and validate (exit 4),
# naming the file and both checksums, and saying when only line endings or
# a byte-order mark differ.

load lib

sha384() {
	openssl dgst -sha384 -r "$1" | cut -d' ' -f1
}

edited_file_stops_run() {
	write_migration 1_users.sql "CREATE TABLE users (id int);"
	strata run
	local applied
	applied=$(sha384 migrations/1_users.sql)
	write_migration 1_users.sql "CREATE TABLE users (id bigint);"
	write_migration 2_more.sql "CREATE TABLE more (id int);"
	run strata run
	assert_failure 4
	assert_output --partial "migration 1 was changed after it was applied"
	assert_output --partial "at migrations/1_users.sql"
	assert_output --partial "Applied checksum $applied, file checksum $(sha384 migrations/1_users.sql)."
	refute_output --partial "line endings"
	run strata validate
	assert_failure 4
	assert_output --partial "migration 1 was changed after it was applied"
	run strata check
	assert_failure 4
	run strata status
	assert_line --regexp "^1 +checksum-mismatch"
	# nothing of the later migration ran
	run strata status --format json
	assert_output --partial '"state": "pending"'
}

@test "checksum: an edited applied file stops run, validate and check with exit 4" {
	for_each_driver edited_file_stops_run
}

@test "checksum: a CRLF-only change is named as such" {
	write_migration -n 1_users.sql $'CREATE TABLE users (id int);\nSELECT 1;\n'
	strata run
	write_migration -n 1_users.sql $'CREATE TABLE users (id int);\r\nSELECT 1;\r\n'
	run strata run
	assert_failure 4
	assert_output --partial "The only difference is line endings (CRLF) or a byte-order mark."
	run strata validate
	assert_failure 4
	assert_output --partial "line endings"
	run strata status --format json
	assert_output --partial '"whitespace_only_change": true'
}

@test "checksum: a byte-order mark added later is named as such" {
	sqlite_db
	write_migration -n 1_users.sql $'CREATE TABLE users (id int);\n'
	strata run
	write_migration -n 1_users.sql $'\xEF\xBB\xBFCREATE TABLE users (id int);\n'
	run strata run
	assert_failure 4
	assert_output --partial "The only difference is line endings (CRLF) or a byte-order mark."
}

@test "checksum: an applied migration missing from the source stops run unless --ignore-missing" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	strata run
	rm migrations/1_a.sql
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	run strata run
	assert_failure 4
	assert_output --partial "migration 1 (a) was applied but is missing from 'migrations'"
	assert_output --partial "--ignore-missing"
	run strata status
	assert_line --regexp "^1 +missing"
	run strata check
	assert_failure 4
	run strata run --ignore-missing
	assert_success
	assert_line --partial "Applied 3 c"
}

@test "validate: online reports every problem at once" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	strata run
	rm migrations/1_a.sql
	write_migration 2_b.sql "CREATE TABLE b (id bigint);"
	write_migration 3_c.sql "CREATE TABLE c (id bigint);"
	run strata validate --format json
	assert_failure 4
	run jq -c '[.valid, (.problems | length), [.problems[].message]]' <<<"$output"
	assert_output '[false,3,["migration 1 (a) was applied but is missing from '"'"'migrations'"'"'","migration 2 was changed after it was applied","migration 3 was changed after it was applied"]]'
}

@test "validate: offline checks the source alone" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	unset DATABASE_URL
	run strata validate
	assert_success
	assert_output "Valid: the source (no database given)."
	write_migration 1_b.sql "CREATE TABLE b (id int);"
	run strata validate
	assert_failure 4
	assert_output --partial "1_a.sql"
	assert_output --partial "1_b.sql"
}

big_files() {
	# a file that takes several reads (the reader's buffer is 64 KiB),
	# and one of 65,535 bytes, about that size
	mkdir -p migrations
	awk 'BEGIN {
		print "CREATE TABLE big (id int, v text);"
		for (i = 0; i < 3000; i++) {
			v = sprintf("%*s", i % 150, "")
			gsub(/ /, "x", v)
			printf "INSERT INTO big VALUES (%d, \x27%s\x27);\n", i, v
		}
	}' >migrations/1_big.sql
	sed 's/ big / big2 /' migrations/1_big.sql | head -c 65000 >migrations/2_exact.sql
	# cut at a line end, so that it stays valid SQL, then padded with a
	# comment to the buffer's size
	sed -i '$d' migrations/2_exact.sql
	printf -- '--%*s\n' $((65535 - $(stat -c %s migrations/2_exact.sql) - 3)) '' >>migrations/2_exact.sql
	assert_equal "$(stat -c %s migrations/2_exact.sql)" 65535
	strata run >/dev/null
	run strata --format json status
	assert_success
	assert_equal "$(jq -r '.migrations[0].checksum' <<<"$output")" "$(sha384 migrations/1_big.sql)"
	assert_equal "$(jq -r '.migrations[1].checksum' <<<"$output")" "$(sha384 migrations/2_exact.sql)"
	assert_equal "$(jq -r '.migrations[0].applied_checksum' <<<"$output")" "$(sha384 migrations/1_big.sql)"
	run strata check
	assert_success
}

@test "checksum: files larger than one read hash as openssl hashes them" {
	for_each_driver big_files
}
