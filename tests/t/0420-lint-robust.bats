#!/usr/bin/env bats
# The linter and the runner on input that strains them: statements that
# nest as deep as PostgreSQL parses (and deeper), never a crash.

load lib

# SELECT (SELECT (... N deep ... 1));
nested_selects() {
	local open close
	open=$(printf '(SELECT %.0s' $(seq "$1"))
	close=$(printf ')%.0s' $(seq "$1"))
	printf 'SELECT %s1%s;' "$open" "$close"
}

# SELECT 1+1+...+1; with N terms
plus_chain() {
	printf 'SELECT 1%s;' "$(printf '+1%.0s' $(seq $(($1 - 1))))"
}

@test "lint: 1,500 nested subqueries and a 4,500-term sum are linted, not a crash" {
	nested_selects 1500 >migrations/1_nested.sql
	plus_chain 4500 >migrations/2_sum.sql
	run strata lint
	assert_success
	assert_output "No problems in 2 files (2 statements)."
}

@test "lint: a statement deeper than PostgreSQL parses is a parse error at its place" {
	{
		printf -- '-- deep\nCREATE TABLE t (id bigint PRIMARY KEY);\n  '
		plus_chain 25000
		printf '\n'
	} >migrations/1_deep.sql
	run strata lint
	assert_failure 5
	assert_line "migrations/1_deep.sql:3:3: error: stack depth limit exceeded [parse-error]"
	run strata lint --reporter json
	assert_failure 5
	assert_output --partial '"message": "stack depth limit exceeded"'
}

@test "run: PostgreSQL applies what it accepts, and strata refuses past what it parses" {
	nested_selects 1500 | sed 's/^SELECT /CREATE TABLE deep AS SELECT /' \
		>migrations/1_nested.sql
	run strata run
	assert_success
	assert_line --partial "Applied 1 nested"
	[[ $(psql_db "SELECT count(*) FROM deep") == 1 ]]

	# deeper than any stack PostgreSQL allows: refused before anything runs
	{
		printf 'CREATE TABLE never (id int);\n'
		plus_chain 25000
	} >migrations/2_deep.sql
	run strata run
	assert_failure 4
	assert_output --partial "error: stack depth limit exceeded"
	assert_output --partial "at migrations/2_deep.sql:2:1"
	[[ $(psql_db "SELECT count(*) FROM pg_class WHERE relname = 'never'") == 0 ]]
}

@test "run: a sum the server's max_stack_depth refuses is the server's error" {
	plus_chain 4500 >migrations/1_sum.sql
	run strata run
	assert_failure 1
	assert_output --partial "error: stack depth limit exceeded"
	assert_output --partial "SQLSTATE 54001"
}

@test "run on SQLite: deep statements are SQLite's errors, not a crash" {
	sqlite_db
	nested_selects 1500 >migrations/1_nested.sql
	run strata run
	assert_failure 1
	assert_output --partial "parser stack overflow"
	rm migrations/1_nested.sql
	plus_chain 4500 >migrations/1_sum.sql
	run strata run
	assert_failure 1
	assert_output --partial "Expression tree is too large"
}

@test "lint: a file linted in pieces survives a deep statement" {
	# past 4 MB a file is parsed a piece at a time
	{
		for _ in $(seq 60); do
			printf 'INSERT INTO t VALUES (%s1);\n' "$(printf '1, %.0s' $(seq 40000))"
		done
		nested_selects 1500
		printf '\n'
		plus_chain 25000
		printf '\n'
	} >migrations/1_big.sql
	(($(stat -c %s migrations/1_big.sql) > 4 * 1024 * 1024))
	run strata lint
	assert_failure 5
	assert_line --partial "migrations/1_big.sql:62:1: error: stack depth limit exceeded"
}

# Text that is not UTF-8 (a JSON string must be) keeps its bytes as \xNN.
@test "lint --reporter json and sarif: an identifier with byte 0xff is escaped, never dropped" {
	printf 'ALTER TABLE t DROP COLUMN "a\xffb";\n' >bad.sql
	run --separate-stderr strata lint --reporter json bad.sql
	assert_failure 5
	run jq -r '.findings[0].message' <<<"$output"
	assert_output "dropping column 'a\\xffb' of 't' breaks the code still reading it"
	run --separate-stderr strata lint --reporter sarif bad.sql
	assert_failure 5
	# SARIF 2.1.0: a result's message is an object with its text
	run jq -r '.runs[0].results[0].message.text' <<<"$output"
	assert_output "dropping column 'a\\xffb' of 't' breaks the code still reading it"
}

@test "lint --reporter sarif: a file name with byte 0xff is a percent-encoded URI" {
	printf 'DROP TABLE x;\n' >"n$(printf '\xff')ame.sql"
	run --separate-stderr strata lint --reporter sarif n*ame.sql
	assert_failure 5
	run jq -r '.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri' <<<"$output"
	assert_output "n%FFame.sql"
}

@test "backup --format json and its manifest: a tag with byte 0xff is escaped, never dropped" {
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE t (id INTEGER PRIMARY KEY);"
	strata run
	run --separate-stderr strata backup --format json --tag "x$(printf '\xff')y"
	assert_success
	run jq -r '.tag' <<<"$output"
	assert_output 'x\xffy'
	run jq -r '.tag' backups/*.json
	assert_output 'x\xffy'
}

@test "lint: prefer-bigint-over-smallint flags smallint columns, keys left to prefer-bigint-over-int" {
	write_migration 1_a.sql "CREATE TABLE r (id smallint PRIMARY KEY, level smallint, n integer);
ALTER TABLE r ADD COLUMN seq smallserial;"
	run env -u DATABASE_URL strata lint
	assert_success
	assert_line "migrations/1_a.sql:1:48: warning: column 'level' of 'r' is smallint: its values run out at 32,767, and widening it later rewrites the table [prefer-bigint-over-smallint]"
	assert_line --partial "migrations/1_a.sql:2:30: warning: column 'seq' of 'r' is smallserial"
	assert_line --partial "primary key column 'id' of 'r' is smallint: its values run out at 32,767 [prefer-bigint-over-int]"
	# each column once: the key is not reported twice
	run grep -c "prefer-bigint-over-smallint\]" <<<"$output"
	assert_output 2
}

@test "lint: require-table-schema is off until strata.conf turns it on" {
	write_migration 1_a.sql "CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE app.teams (id bigint PRIMARY KEY);
CREATE TEMPORARY TABLE scratch (id bigint);"
	run env -u DATABASE_URL strata lint --list-rules
	assert_line --regexp "^require-table-schema +off "
	run env -u DATABASE_URL strata lint
	assert_success
	refute_output --partial "require-table-schema"
	printf '[lint]\nrequire-table-schema = error\n' >strata.conf
	run env -u DATABASE_URL strata lint
	assert_failure 5
	assert_line "migrations/1_a.sql:1:14: error: table 'users' is named without its schema: which table it is depends on the search_path [require-table-schema]"
	refute_output --partial "'app.teams'"
	refute_output --partial "'scratch'"
}

@test "lint: require-statement-timeout is true to the runner: it sets none unless configured" {
	write_migration 1_users.sql "CREATE TABLE users (id bigint PRIMARY KEY);"
	write_migration 2_alter.sql "ALTER TABLE users ADD COLUMN nick text;
ALTER TABLE users ADD COLUMN bio text;"
	run env -u DATABASE_URL strata lint
	assert_success
	refute_output --partial "[require-statement-timeout]"
	printf '[lint]\nrequire-statement-timeout = warning\n' >strata.conf
	run env -u DATABASE_URL strata lint migrations/2_alter.sql
	assert_success
	assert_line "migrations/2_alter.sql:1:1: warning: 'users' is locked with no statement_timeout set: once it has the lock, nothing bounds how long this statement keeps every query on 'users' waiting [require-statement-timeout]"
	# reported once a file
	run grep -c "require-statement-timeout\]" <<<"$output"
	assert_output 1
	# the runner's own statement_timeout satisfies it
	run env -u DATABASE_URL strata lint --statement-timeout 30s migrations/2_alter.sql
	assert_success
	refute_output --partial "[require-statement-timeout]"
	printf '[strata]\nstatement_timeout = 30s\n[lint]\nrequire-statement-timeout = warning\n' >strata.conf
	run env -u DATABASE_URL strata lint migrations/2_alter.sql
	assert_success
	refute_output --partial "[require-statement-timeout]"
	# and so does the file's own, until it turns it off
	printf '[lint]\nrequire-statement-timeout = warning\n' >strata.conf
	write_migration 2_alter.sql "SET LOCAL statement_timeout = '30s';
ALTER TABLE users ADD COLUMN nick text;
SET LOCAL statement_timeout = 0;
ALTER TABLE users ADD COLUMN bio text;"
	run env -u DATABASE_URL strata lint migrations/2_alter.sql
	assert_success
	assert_line --partial "migrations/2_alter.sql:4:1: warning: 'users' is locked with no statement_timeout set"
}

@test "run: the gate's require-statement-timeout knows the run's statement_timeout" {
	printf '[lint]\nrequire-statement-timeout = warning\n' >strata.conf
	write_migration 1_users.sql "CREATE TABLE users (id bigint PRIMARY KEY);"
	strata run
	write_migration 2_alter.sql "ALTER TABLE users ADD COLUMN nick text;"
	run strata run --dry-run
	assert_success
	assert_output --partial "[require-statement-timeout]"
	run strata run --dry-run --statement-timeout 30s
	assert_success
	refute_output --partial "[require-statement-timeout]"
	write_migration 2_alter.sql "-- strata:statement-timeout=30s
ALTER TABLE users ADD COLUMN nick text;"
	run strata run --dry-run
	assert_success
	refute_output --partial "[require-statement-timeout]"
}

# Peak resident memory of `strata "$@"` in KiB (lint exits 0 or 5).
lint_peak_kib() {
	local rc=0
	/usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/rss" "$STRATA_BIN" "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/err" || rc=$?
	if ((rc != 0 && rc != 5)); then
		echo "strata $*: exit $rc: $(cat "$BATS_TEST_TMPDIR/err")" >&2
		return 1
	fi
	tail -1 "$BATS_TEST_TMPDIR/rss"
}

@test "lint: memory follows the largest statement, not the file (a 3 MB file of INSERTs)" {
	if [[ ${STRATA_VALGRIND:-} == 1 ]] || ldd "$STRATA_BIN" 2>/dev/null | grep -q 'libasan'; then
		skip "memory is measured on the plain build"
	fi
	[[ -x /usr/bin/time ]] || skip "no /usr/bin/time"
	local base peak size
	printf 'CREATE TABLE t (id bigint PRIMARY KEY, a text);\n' >small.sql
	base=$(lint_peak_kib lint small.sql) || fail "the baseline lint failed"
	{
		seq 40000 | sed "s/.*/INSERT INTO t (id, a, n) VALUES (&, 'row & of the seed data', &);/"
		printf 'ALTER TABLE t DROP COLUMN n;\n'
	} >big.sql
	size=$(($(stat -c %s big.sql) / 1024))
	((size > 2048 && size < 4096))
	peak=$(lint_peak_kib lint big.sql) || fail "lint failed"
	echo "# lint: $peak KiB at peak, baseline $base KiB, file $size KiB" >&3
	# parsed whole, the trees alone took some 80 times the file
	((peak - base <= 3 * size + 16384)) || fail "lint: $peak KiB at peak, over $base + 3 x $size + 16384 KiB"
	# and the findings are where they are in one piece
	run strata lint big.sql
	assert_failure 5
	assert_line --partial "big.sql:40001:1: error: dropping column 'n' of 't'"
}
