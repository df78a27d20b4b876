#!/usr/bin/env bats
# restore FILE of a dump strata did not write (no manifest): pg_dump's
# plain SQL (`pg_dump > f.sql`, `pg_dump | gzip > f.sql.gz`), custom and
# directory formats, and SQLite's .dump, told by content, never by name.
# SQL text runs through psql in one transaction (ON_ERROR_STOP): a failure
# anywhere leaves the target as it was. It is read to its end first: an
# empty, truncated or cluster-wide dump is refused before anything runs.

load lib

setup_file() {
	pg_start
	[[ -z ${STRATA_TEST_CLUSTER_SKIP:-} ]] || return 0
	# owns its database but may not create databases
	_pg_psql -d postgres -c "CREATE ROLE appowner LOGIN"
}

pg_dump() {
	"$STRATA_TEST_CLUSTER_BIN/pg_dump" -d "$TEST_DB" "$@"
}

# $TEST_DB with users (3 rows) and a view, a function with a dollar-quoted
# body holding lines a restore must not take for statements.
fill_source() {
	psql_db "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);
		INSERT INTO users VALUES (1, 'a;b'), (2, E'line\\nbreak'), (3, 'COMMIT;');
		CREATE VIEW user_ids AS SELECT id FROM users;
		CREATE FUNCTION touch() RETURNS int LANGUAGE plpgsql AS \$\$
BEGIN
	RETURN 1;
END;
\$\$;"
}

# A database named $1 holding one table keep with 2 rows.
target_with_rows() {
	_pg_psql -d postgres -c "CREATE DATABASE \"$1\" TEMPLATE template0"
	_pg_psql -d "$1" -c "CREATE TABLE keep (id int); INSERT INTO keep VALUES (1), (2)"
}

# The tables of database $1 and their rows, as "table rows" lines.
tables_of() {
	_pg_psql -d "$1" -c "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname !~ '^_strata' ORDER BY 1" |
		while read -r t; do
			echo "$t $(_pg_psql -d "$1" -c "SELECT count(*) FROM \"$t\"")"
		done
}

@test "a .sql.gz of pg_dump | gzip restores into a new database and into an empty one" {
	fill_source
	pg_dump | gzip >dump.sql.gz
	run strata restore dump.sql.gz --into "${TEST_DB}_new"
	assert_success
	assert_output --partial "Restored dump.sql.gz"
	assert_equal "$(tables_of "${TEST_DB}_new")" "users 3"
	assert_equal "$(_pg_psql -d "${TEST_DB}_new" -c "SELECT email FROM users WHERE id = 3")" "COMMIT;"
	assert_equal "$(_pg_psql -d "${TEST_DB}_new" -c "SELECT touch()")" 1
	# the restore is in the audit trail, naming the dump
	assert_equal "$(_pg_psql -d "${TEST_DB}_new" -c "SELECT count(*) FROM _strata_audit WHERE action = 'restore' AND error LIKE 'restored from dump.sql.gz (plain, gzip dump, SHA-256 %'")" 1

	# into an existing empty database; a plain .sql too
	_pg_psql -d postgres -c "CREATE DATABASE \"${TEST_DB}_empty\" TEMPLATE template0"
	pg_dump >plain.sql
	run strata restore plain.sql --into "${TEST_DB}_empty"
	assert_success
	assert_equal "$(tables_of "${TEST_DB}_empty")" "users 3"
}

@test "a plain dump whose last statement fails leaves the target exactly as it was" {
	fill_source
	{
		pg_dump
		echo "INSERT INTO public.users VALUES (1, 'duplicate');"
	} | gzip >bad.sql.gz

	# an empty target: the dump's tables are not left behind
	_pg_psql -d postgres -c "CREATE DATABASE \"${TEST_DB}_empty\" TEMPLATE template0"
	run strata restore bad.sql.gz --into "${TEST_DB}_empty"
	assert_failure 1
	assert_output --partial "restoring 'bad.sql.gz' failed at line"
	assert_output --partial 'duplicate key value violates unique constraint "users_pkey"'
	assert_output --partial "The database was not changed."
	assert_equal "$(tables_of "${TEST_DB}_empty")" ""

	# a new target is not left behind either
	run strata restore bad.sql.gz --into "${TEST_DB}_new"
	assert_failure 1
	assert_output --partial "The database was not created."
	assert_equal "$(_pg_psql -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '${TEST_DB}_new'")" 0

	# --clean: restored beside and swapped in only when complete
	target_with_rows "${TEST_DB}_full"
	run strata restore bad.sql.gz --into "${TEST_DB}_full" --clean --yes
	assert_failure 1
	assert_output --partial "duplicate key value"
	assert_equal "$(tables_of "${TEST_DB}_full")" "keep 2"
	assert_equal "$(_pg_psql -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE '%strata_restore%'")" 0

	# the good dump replaces it
	pg_dump | gzip >good.sql.gz
	run strata restore good.sql.gz --into "${TEST_DB}_full" --clean --yes
	assert_success
	assert_equal "$(tables_of "${TEST_DB}_full")" "users 3"
}

@test "a non-empty target needs --clean for a plain dump" {
	fill_source
	pg_dump >dump.sql
	target_with_rows "${TEST_DB}_full"
	run strata restore dump.sql --into "${TEST_DB}_full"
	assert_failure 1
	assert_output --partial "it is not empty"
	assert_equal "$(tables_of "${TEST_DB}_full")" "keep 2"

	# --clean swaps a new database in: without CREATEDB, refused
	_pg_psql -d postgres -c "ALTER DATABASE \"${TEST_DB}_full\" OWNER TO appowner"
	run strata -d "postgresql:///${TEST_DB}_full?host=$STRATA_TEST_CLUSTER_SOCK&port=$STRATA_TEST_CLUSTER_PORT&user=appowner" restore dump.sql --clean --yes
	assert_failure 1
	assert_output --partial "cannot replace '${TEST_DB}_full' with SQL text in place: role 'appowner' may not create databases"
	assert_output --partial "The database was not changed."
	assert_equal "$(tables_of "${TEST_DB}_full")" "keep 2"
}

@test "empty, truncated and cluster-wide dumps are refused before anything runs" {
	fill_source
	_pg_psql -d postgres -c "CREATE DATABASE \"${TEST_DB}_t\" TEMPLATE template0"

	: >empty.sql
	run strata restore empty.sql --into "${TEST_DB}_t"
	assert_failure 4
	assert_output --partial "'empty.sql' is empty"

	printf -- '-- nothing but a comment\n\n' >comment.sql
	run strata restore comment.sql --into "${TEST_DB}_t"
	assert_failure 4
	assert_output --partial "'comment.sql' holds no SQL statement"

	run strata restore missing.sql --into "${TEST_DB}_t"
	assert_failure 4
	assert_output --partial "no backup 'missing.sql'"

	# a gzip stream cut short
	pg_dump | gzip >whole.sql.gz
	head -c $(($(stat -c %s whole.sql.gz) - 20)) whole.sql.gz >cut.sql.gz
	run strata restore cut.sql.gz --into "${TEST_DB}_t"
	assert_failure 4
	assert_output --partial "'cut.sql.gz' ends in the middle of its gzip stream"

	# a plain pg_dump without its last lines
	pg_dump >whole.sql
	head -n -8 whole.sql >cut.sql
	run strata restore cut.sql --into "${TEST_DB}_t"
	assert_failure 4
	assert_output --partial "'cut.sql' ends without pg_dump's closing"

	# COPY data never ended
	printf 'CREATE TABLE x (a int);\nCOPY x (a) FROM stdin;\n1\n2\n' >open.sql
	run strata restore open.sql --into "${TEST_DB}_t"
	assert_failure 4
	assert_output --partial "'open.sql' ends inside COPY data begun at line 2"

	# pg_dump --create: CREATE DATABASE and \connect
	pg_dump --create >create.sql
	run strata restore create.sql --into "${TEST_DB}_t"
	assert_failure 4
	assert_output --partial "CREATE DATABASE cannot run inside the one transaction a restore runs in"
	assert_output --partial "pg_dump --create"

	"$STRATA_TEST_CLUSTER_BIN/pg_dumpall" --globals-only >all.sql
	run strata restore all.sql --into "${TEST_DB}_t"
	assert_failure 4
	assert_output --partial "'all.sql' is pg_dumpall's dump of a whole cluster, which cannot be restored into one database"

	# transaction control and meta-commands other than pg_dump's
	printf 'CREATE TABLE y (a int);\nCOMMIT;\nCREATE TABLE z (a int);\n' >commit.sql
	run strata restore commit.sql --into "${TEST_DB}_t"
	assert_failure 4
	assert_output --partial "'commit.sql' line 2: COMMIT would break the one transaction the restore runs in"
	printf 'CREATE TABLE y (a int);\n\\! touch ran\n' >meta.sql
	run strata restore meta.sql --into "${TEST_DB}_t"
	assert_failure 4
	assert_output --partial "'meta.sql' line 2: psql meta-command '\\!' is not restored"
	[[ ! -e ran ]]

	# nothing ran
	assert_equal "$(tables_of "${TEST_DB}_t")" ""
}

@test "the format is told by content: a custom archive named .sql, plain SQL named .dump, a directory dump" {
	fill_source
	pg_dump -Fc >custom.sql
	pg_dump >plain.dump
	pg_dump -Fd -f dir.out
	run strata -v restore custom.sql --into "${TEST_DB}_c"
	assert_success
	assert_output --partial "verifying 'custom.sql': no manifest, so a custom dump by its content"
	assert_equal "$(tables_of "${TEST_DB}_c")" "users 3"
	run strata restore plain.dump --into "${TEST_DB}_p"
	assert_success
	assert_equal "$(tables_of "${TEST_DB}_p")" "users 3"
	run strata restore dir.out --into "${TEST_DB}_d"
	assert_success
	assert_equal "$(tables_of "${TEST_DB}_d")" "users 3"

	# hand-written SQL: '$' inside a name opens no dollar quote
	printf 'CREATE TABLE t (a$x$ int);\nINSERT INTO t VALUES (1);\n' >names.sql
	run strata restore names.sql --into "${TEST_DB}_n"
	assert_success
	assert_equal "$(tables_of "${TEST_DB}_n")" 't 1'

	mkdir notadump
	run strata restore notadump --into "${TEST_DB}_x"
	assert_failure 4
	assert_output --partial "directory 'notadump' is not a pg_dump directory-format dump"
}

@test "SQLite: a .dump (gzip'd or not) restores in one piece; a failing one leaves the file as it was" {
	sqlite_db
	sqlite3 "$TEST_SQLITE" "CREATE TABLE users (id int PRIMARY KEY, email text); INSERT INTO users VALUES (1, 'a'), (2, 'COMMIT;');"
	sqlite3 "$TEST_SQLITE" .dump | gzip >dump.sql.gz
	run strata restore dump.sql.gz --into "$PWD/new.db"
	assert_success
	assert_equal "$(sqlite3 new.db "SELECT count(*) FROM users")" 2

	# a failing last statement: the target keeps its content
	{
		sqlite3 "$TEST_SQLITE" .dump
		echo "INSERT INTO users VALUES (1, 'duplicate');"
	} >bad.sql
	sqlite3 target.db "CREATE TABLE keep (id int); INSERT INTO keep VALUES (1), (2);"
	run strata restore bad.sql --into "$PWD/target.db" --clean --yes
	assert_failure 1
	assert_output --partial "restoring 'bad.sql' failed"
	assert_output --partial "UNIQUE constraint failed"
	assert_equal "$(sqlite3 target.db "SELECT count(*) FROM keep")" 2
	assert_equal "$(sqlite3 target.db "SELECT count(*) FROM sqlite_schema WHERE name = 'users'")" 0
}
