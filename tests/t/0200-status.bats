#!/usr/bin/env bats
# strata status (the table and its JSON) and strata check (one exit code
# for gates: 0 up to date, 3 pending, 4 the history disagrees).

load lib

# The header, and any column between DURATION and DESCRIPTION (who applied it)
HEADER_RE="^VERSION {10}STATE {14}INSTALLED ON {9}DURATION {3}([A-Z]+ +)?DESCRIPTION\$"
BY="([^ ]+ +)?"

sha384() {
	openssl dgst -sha384 -r "$1" | cut -d' ' -f1
}

three() {
	write_migration 1_create_users.up.sql "CREATE TABLE users (id int);"
	write_migration 1_create_users.down.sql "DROP TABLE users;"
	write_migration 2_add_email.sql "ALTER TABLE users ADD email text;"
	write_migration 3_seed.sql "INSERT INTO users VALUES (1, 'a@example.com');"
}

# Applies 1 and 2, leaving 3 pending.
two_of_three() {
	three
	strata run --target-version 2 >/dev/null
}

# Inserts a history row by hand: version, description, success (t/f).
history_insert() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		psql_db "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, '$2', '$3', decode('00', 'hex'), 0)"
	else
		local s=1
		[[ $3 == f ]] && s=0
		sqlite3 "$TEST_SQLITE" "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, '$2', $s, X'00', 0)"
	fi
}

status_text() {
	two_of_three
	local today
	today=$(date -u +%Y-%m-%d)
	run --separate-stderr strata status
	assert_success
	# (bats' lines skips the empty line before the summary)
	assert_equal "${#lines[@]}" 5
	assert_line --index 0 --regexp "$HEADER_RE"
	assert_line --index 1 --regexp "^1 {16}applied {12}$today [0-9]{2}:[0-9]{2}:[0-9]{2}  [0-9.]+ m?s +${BY}create users$"
	assert_line --index 2 --regexp "^2 {16}applied {12}$today [0-9]{2}:[0-9]{2}:[0-9]{2}  [0-9.]+ m?s +${BY}add email$"
	assert_line --index 3 --regexp "^3 {16}pending {12}- {20}- {10}${BY}seed\$"
	assert_line --index 4 "2 applied, 1 pending."
	[[ $output == *"seed"$'\n\n'2" applied"* ]]
	assert_equal "$stderr" ""
	# status reports; it does not judge (that is check's job)
	strata run
	run strata status
	assert_success
	assert_line --index 4 "3 applied, 0 pending."
}

@test "status: the table's columns and the summary line" {
	for_each_driver status_text
}

status_summary_problems() {
	two_of_three
	echo "-- edited after applying" >>migrations/2_add_email.sql
	history_insert 4 "gone" t
	history_insert 5 "half done" f
	run strata status
	assert_success
	assert_line --regexp "^2 +checksum-mismatch +[0-9-]{10} [0-9:]{8} +[0-9.]+ m?s +${BY}add email$"
	assert_line --regexp "^3 +out-of-order +- +- +${BY}seed$"
	assert_line --regexp "^4 +missing +[0-9-]{10} [0-9:]{8} +0\.000 ms +${BY}gone$"
	assert_line --regexp "^5 +failed +[0-9-]{10} [0-9:]{8} +0\.000 ms +${BY}half done$"
	assert_line "1 applied, 1 pending, 1 failed, 1 changed after applying, 1 missing from the source."
}

@test "status: failed, changed and missing migrations, and their summary" {
	for_each_driver status_summary_problems
}

status_json() {
	local before after
	before=$(date -u +%s)
	two_of_three
	after=$(date -u +%s)
	run --separate-stderr strata status --format json
	assert_success
	assert_equal "$stderr" ""
	local doc=$output
	# every entry has these fields, in this order (others may follow)
	run jq -c '[.migrations[] | ["version","description","state","file","down_file","installed_on","execution_time_ns","checksum","applied_checksum"] - keys_unsorted] | unique' <<<"$doc"
	assert_output '[[]]'
	run jq -c '.migrations[0] | keys_unsorted[:9]' <<<"$doc"
	assert_output '["version","description","state","file","down_file","installed_on","execution_time_ns","checksum","applied_checksum"]'
	run jq -c '.summary | {applied, pending, failed, checksum_mismatch, missing}' <<<"$doc"
	assert_output '{"applied":2,"pending":1,"failed":0,"checksum_mismatch":0,"missing":0}'
	run jq -c '[.migrations[] | [.version, .description, .state, .file, .down_file]]' <<<"$doc"
	assert_output '[[1,"create users","applied","migrations/1_create_users.up.sql","migrations/1_create_users.down.sql"],[2,"add email","applied","migrations/2_add_email.sql",null],[3,"seed","pending","migrations/3_seed.sql",null]]'
	# checksums: SHA-384 of the up file, as hex; the recorded one alike
	run jq -r '.migrations[] | [.checksum, .applied_checksum // "null"] | join(" ")' <<<"$doc"
	assert_output "$(sha384 migrations/1_create_users.up.sql) $(sha384 migrations/1_create_users.up.sql)
$(sha384 migrations/2_add_email.sql) $(sha384 migrations/2_add_email.sql)
$(sha384 migrations/3_seed.sql) null"
	# execution time in nanoseconds, as recorded
	run jq -r '.migrations[] | .execution_time_ns' <<<"$doc"
	assert_line --index 0 "$(query_db "SELECT execution_time FROM _sqlx_migrations WHERE version = 1")"
	assert_line --index 2 null
	(($(jq '.migrations[0].execution_time_ns' <<<"$doc") > 0))
	# installed_on: an ISO 8601 UTC instant, from this test's time
	run jq -r '.migrations[] | .installed_on' <<<"$doc"
	assert_line --index 0 --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|\+00:00)$'
	assert_line --index 2 null
	local t
	t=$(jq -r '.migrations[0].installed_on | sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | fromdateiso8601' <<<"$doc")
	((t >= before - 1 && t <= after + 1)) || fail "installed_on $t not within [$before, $after]"
}

@test "status --format json: the fields of each migration and the summary" {
	for_each_driver status_json
}

status_json_problems() {
	two_of_three
	echo "-- edited" >>migrations/1_create_users.up.sql
	history_insert 4 "gone" t
	run strata status --format json
	assert_success
	local doc=$output
	run jq -c '[.migrations[] | .state]' <<<"$doc"
	assert_output '["checksum-mismatch","applied","out-of-order","missing"]'
	run jq -r '.migrations[0] | (.checksum != .applied_checksum), (.applied_checksum | length), .whitespace_only_change' <<<"$doc"
	assert_output "true
96
false"
	run jq -c '.migrations[3] | [.description, .file, .down_file, .checksum, .applied_checksum]' <<<"$doc"
	assert_output '["gone",null,null,null,"00"]'
	run jq -c '.summary | {applied, pending, failed, checksum_mismatch, missing}' <<<"$doc"
	assert_output '{"applied":1,"pending":1,"failed":0,"checksum_mismatch":1,"missing":1}'
}

@test "status --format json: changed and missing entries" {
	for_each_driver status_json_problems
}

@test "status: installed_on is the instant, whatever the session's time zone" {
	two_of_three
	local utc
	utc=$(psql_db "SELECT to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM _sqlx_migrations WHERE version = 1")
	psql_db "ALTER DATABASE \"$TEST_DB\" SET timezone = 'Asia/Tokyo'"
	run strata status --format json
	run jq -r '.migrations[0].installed_on | sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z")' <<<"$output"
	assert_output "${utc}Z"
	PGTZ=America/New_York run strata status --format json
	run jq -r '.migrations[0].installed_on | sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z")' <<<"$output"
	assert_output "${utc}Z"
}

@test "status: installed_on to the microsecond, before and after 2000" {
	# PostgreSQL sends timestamps as microseconds from 2000-01-01: the
	# instants on either side of it, and the digits of each field
	two_of_three
	psql_db "UPDATE _sqlx_migrations SET installed_on = '1999-12-31 23:59:59.999999+00' WHERE version = 1"
	psql_db "UPDATE _sqlx_migrations SET installed_on = '2038-01-19 03:14:08.000001+00' WHERE version = 2"
	run strata status --format json
	assert_success
	run jq -r '.migrations[0:2][] | .installed_on' <<<"$output"
	assert_output "1999-12-31T23:59:59.999999Z
2038-01-19T03:14:08.000001Z"
	psql_db "UPDATE _sqlx_migrations SET installed_on = '2000-01-01 00:00:00+00' WHERE version = 1"
	psql_db "UPDATE _sqlx_migrations SET installed_on = '1970-01-01 00:00:00.5+00' WHERE version = 2"
	run strata status --format json
	run jq -r '.migrations[0:2][] | .installed_on' <<<"$output"
	assert_output "2000-01-01T00:00:00.000000Z
1970-01-01T00:00:00.500000Z"
	run strata status
	assert_line --index 1 --regexp "^1 {16}applied {12}2000-01-01 00:00:00  "
}

@test "status and check read no down file; validate and revert still judge them" {
	# status and check are gates: they checksum every up file and need
	# nothing else, so a down file is known by its name only
	for_each_driver status_down_unread
}

status_down_unread() {
	three
	strata run >/dev/null
	printf 'DROP TABLE users; -- \xff\n' >migrations/1_create_users.down.sql
	run strata status
	assert_success
	assert_line --index 1 --regexp "^1 {16}applied "
	run strata check
	assert_success
	run strata validate
	assert_failure 4
	assert_output --partial "1_create_users.down.sql' is not valid UTF-8"
	run strata revert --all
	assert_failure 4
	assert_output --partial "not valid UTF-8"
	# a down file without its up file is a naming problem: seen by all
	printf 'SELECT 1;\n' >migrations/7_orphan.down.sql
	run strata check
	assert_failure 4
	assert_output --partial "has no up file"
}

# ---------------------------------------------------------------- check

check_codes() {
	three
	# an existing, empty database (check creates none)
	strata database create >/dev/null
	run strata check
	assert_failure 3
	assert_output "3 migrations pending."
	strata run --target-version 2
	run strata check
	assert_failure 3
	assert_output "1 migration pending."
	strata run
	run strata check
	assert_success
	assert_output "Up to date: 3 migrations applied."
	# changed after applying
	cp migrations/2_add_email.sql saved.sql
	echo "-- edited" >>migrations/2_add_email.sql
	run strata check
	assert_failure 4
	assert_output "The history disagrees with the source: 0 failed, 1 changed after applying, 0 missing from the source. Run 'strata status' for details."
	# a pending migration does not hide the mismatch: 4 wins over 3
	write_migration 4_more.sql "SELECT 1;"
	run strata check
	assert_failure 4
	rm migrations/4_more.sql
	cp saved.sql migrations/2_add_email.sql
	run strata check
	assert_success
	# missing from the source
	mv migrations/3_seed.sql saved3.sql
	run strata check
	assert_failure 4
	assert_output --partial "1 missing from the source"
	mv saved3.sql migrations/3_seed.sql
	# a failed record
	history_insert 9 "broken" f
	run strata check
	assert_failure 4
	assert_output --partial "1 failed"
}

@test "check: 0 up to date, 3 pending, 4 changed, missing or failed" {
	for_each_driver check_codes
}

check_json() {
	three
	strata database create >/dev/null
	run --separate-stderr strata check --format json
	assert_failure 3
	assert_equal "$stderr" ""
	run jq -c '{status, applied, pending, failed, checksum_mismatch, missing}' <<<"$output"
	assert_output '{"status":"pending","applied":0,"pending":3,"failed":0,"checksum_mismatch":0,"missing":0}'
	strata run
	run strata check --format json
	assert_success
	run jq -c '{status, applied, pending, failed, checksum_mismatch, missing}' <<<"$output"
	assert_output '{"status":"up-to-date","applied":3,"pending":0,"failed":0,"checksum_mismatch":0,"missing":0}'
	echo "-- edited" >>migrations/3_seed.sql
	history_insert 7 "broken" f
	run strata check --format json
	assert_failure 4
	run jq -c '{status, applied, pending, failed, checksum_mismatch, missing}' <<<"$output"
	assert_output '{"status":"invalid","applied":2,"pending":0,"failed":1,"checksum_mismatch":1,"missing":0}'
}

@test "check --format json: the status field and the counts" {
	for_each_driver check_json
}

check_quiet() {
	three
	strata database create >/dev/null
	run strata -q check
	assert_failure 3
	assert_output ""
	strata run
	run strata check -q
	assert_success
	assert_output ""
}

@test "check -q: only the exit code" {
	for_each_driver check_quiet
}

# ---------------------------------------------------------------- no history

# Whether the history table exists: t or f.
history_exists() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		psql_db "SELECT to_regclass('_sqlx_migrations') IS NOT NULL"
	else
		local n
		n=$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_master WHERE name = '_sqlx_migrations'")
		if ((n)); then echo t; else echo f; fi
	fi
}

no_history_table() {
	three
	if [[ $STRATA_TEST_DRIVER == sqlite ]]; then
		# an existing database, without the history table
		sqlite3 "$TEST_SQLITE" "CREATE TABLE unrelated (id int);"
	fi
	run strata status
	assert_success
	assert_line --regexp "^1 +pending +- +- +${BY}create users$"
	assert_line --regexp "^3 +pending +- +- +${BY}seed$"
	assert_line "0 applied, 3 pending."
	run strata status --format json
	run jq -c '[.migrations[].state], .summary.pending' <<<"$output"
	assert_output '["pending","pending","pending"]
3'
	run strata check
	assert_failure 3
	run strata validate
	assert_success
	run strata run --dry-run
	assert_success
	run strata info
	assert_success
	# nothing was created
	assert_equal "$(history_exists)" f
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_equal "$(psql_db "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" 0
	else
		assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT group_concat(name) FROM sqlite_master")" unrelated
	fi
}

@test "status on a database without a history table: all pending, nothing created" {
	for_each_driver no_history_table
}

# An empty folder read as "up to date" would hide everything the database
# is missing (a wrong --source, a checkout without its migrations).
empty_source() {
	local c
	for c in status check run validate lint "revert --all"; do
		run --separate-stderr strata $c
		[[ $status == 4 ]] || fail "strata $c: exit $status, not 4: $output $stderr"
		[[ $stderr == *"'migrations' holds no migration"* ]] || fail "strata $c: $stderr"
	done
	run strata status --format json
	assert_failure 4
	run jq -r .error.message <<<"$output"
	assert_output "'migrations' holds no migration"
	# a README alone is no migration either
	echo "notes" >migrations/README.md
	run strata check
	assert_failure 4
	# strata new makes the first one
	run strata new first
	assert_success
	run strata run
	assert_success
	assert_line "Applied 1 migration."
	run strata check
	assert_success
}

@test "status, check, run: an empty source is an error, not up to date" {
	for_each_driver empty_source
}

@test "status and check on a missing SQLite file create no file" {
	sqlite_db
	three
	run strata status
	[[ ! -e $TEST_SQLITE ]] || fail "status created $TEST_SQLITE"
	run strata check
	[[ ! -e $TEST_SQLITE ]] || fail "check created $TEST_SQLITE"
}

@test "status --table reads another history table" {
	three
	strata run --table ops_history
	run strata status
	assert_line "0 applied, 3 pending."
	run strata status --table ops_history
	assert_line "3 applied, 0 pending."
	run strata check --table ops_history
	assert_success
	assert_equal "$(psql_db "SELECT to_regclass('_sqlx_migrations') IS NULL")" t
}

@test "status and check: a broken source is reported before the database, reachable or not" {
	# the source and the history are read at once; what is reported
	# must not depend on which answers first
	write_migration 1_ok.sql "SELECT 1;"
	write_migration not_a_migration.sql "SELECT 2;"
	psql_db "CREATE TABLE weird (version text, description text, installed_on text, success text, checksum text, execution_time text); INSERT INTO weird VALUES ('one', 'x', 'y', 'z', 'w', 'v')"
	for cmd in status check; do
		run strata "$cmd"
		assert_failure 4
		assert_output --partial "not_a_migration.sql"
		run strata -d "postgres://nobody@127.0.0.1:1/none?connect_timeout=2" "$cmd"
		assert_failure 4
		assert_output --partial "not_a_migration.sql"
		refute_output --partial "could not connect"
		# reachable, but its history cannot be read
		run strata --table weird "$cmd"
		assert_failure 4
		assert_output --partial "not_a_migration.sql"
	done
	# with the source sound, the unreachable database is the error
	rm migrations/not_a_migration.sql
	run strata --table weird status
	assert_failure
	assert_output --partial "invalid input syntax for type bigint"
	run strata -d "postgres://nobody@127.0.0.1:1/none?connect_timeout=2" status
	assert_failure 7
	assert_output --partial "could not connect"
}
