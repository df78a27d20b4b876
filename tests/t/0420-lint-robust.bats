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
