#!/usr/bin/env bats
# The harness itself (tests/t/lib.bash): the per-file cluster, per-test
# databases and working directories, the helpers, and the strata wrapper.

load lib

@test "harness: the cluster answers on its private socket" {
	run psql -XAtc 'SELECT 1'
	assert_success
	assert_output 1
	[[ $PGHOST == "$STRATA_TEST_CLUSTER_DIR/sock" ]]
	[[ -S $PGHOST/.s.PGSQL.$PGPORT ]]
	assert_equal "$PGUSER" postgres
	assert_equal "$(psql_db 'SHOW fsync')" off
	assert_equal "$(psql_db 'SHOW listen_addresses')" ""
	assert_equal "$(psql_db 'SHOW port')" "$PGPORT"
}

@test "harness: as root, the server runs as an unprivileged user" {
	if [[ $(id -u) != 0 ]]; then
		skip "not root"
	fi
	local owner
	owner=$(stat -c %U "$STRATA_TEST_CLUSTER_DATA")
	[[ $owner != root ]]
	assert_equal "$STRATA_TEST_CLUSTER_RUNAS" "$owner"
}

@test "harness: new_db gives distinct, empty databases" {
	local first=$TEST_DB
	[[ -n $first ]]
	assert_equal "$(psql_db 'SELECT current_database()')" "$first"
	psql_db 'CREATE TABLE t (id int)'
	new_db
	[[ $TEST_DB != "$first" ]]
	assert_equal "$(psql_db 'SELECT current_database()')" "$TEST_DB"
	run psql_db "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
	assert_output 0
	# The first database is still there, with its table.
	assert_equal "$(psql -XAt -d "$first" -c "SELECT to_regclass('t') IS NOT NULL")" t
}

@test "harness: each test gets its own database (1 of 2)" {
	psql_db 'CREATE TABLE from_first_test (id int)'
	echo "$TEST_DB" >"$BATS_FILE_TMPDIR/first-db"
}

@test "harness: each test gets its own database (2 of 2)" {
	local first
	first=$(cat "$BATS_FILE_TMPDIR/first-db")
	[[ $TEST_DB != "$first" ]]
	assert_equal "$(psql_db "SELECT to_regclass('from_first_test') IS NULL")" t
}

@test "harness: DATABASE_URL, pg_url and PG_URL_BASE reach the test database" {
	[[ $DATABASE_URL == postgresql://* ]]
	assert_equal "$(psql -XAt "$DATABASE_URL" -c 'SELECT current_database()')" "$TEST_DB"
	assert_equal "$(psql -XAt "$(pg_url "$TEST_DB")" -c 'SELECT current_user')" postgres
	assert_equal "$(psql -XAt "${PG_URL_BASE}$TEST_DB" -c 'SELECT current_database()')" "$TEST_DB"
	assert_equal "$PGDATABASE" "$TEST_DB"
	assert_equal "$STRATA_TEST_DRIVER" postgres
}

@test "harness: psql_db runs SQL and stops at the first error" {
	psql_db 'CREATE TABLE t (id int, name text); INSERT INTO t VALUES (1, $$a$$), (2, $$b$$)'
	run psql_db 'SELECT id, name FROM t ORDER BY id'
	assert_success
	assert_output $'1|a\n2|b'
	run psql_db <<-'SQL'
		SELECT 1;
		SELECT * FROM no_such_table;
		SELECT 3;
	SQL
	assert_failure
	assert_output --partial 'relation "no_such_table" does not exist'
	refute_output --partial 3
}

@test "harness: each test works in a fresh directory with migrations/" {
	assert_equal "$PWD" "$BATS_TEST_TMPDIR/work"
	[[ -d migrations ]]
	run ls -A migrations
	assert_output ""
}

@test "harness: write_migration writes text, exact bytes and stdin" {
	write_migration 001_a.sql "CREATE TABLE a (id int);"
	cmp migrations/001_a.sql <(printf 'CREATE TABLE a (id int);\n')
	write_migration -n 002_b.sql "SELECT 1;"
	cmp migrations/002_b.sql <(printf 'SELECT 1;')
	write_migration 003_c/up.sql <<-'SQL'
		-- no-transaction
		SELECT 2;
	SQL
	cmp migrations/003_c/up.sql <(printf -- '-- no-transaction\nSELECT 2;\n')
}

@test "harness: sqlite_db points DATABASE_URL at a file in a fresh directory" {
	sqlite_db
	assert_equal "$PWD" "$BATS_TEST_TMPDIR/work2"
	assert_equal "$DATABASE_URL" "sqlite:$PWD/test.db"
	assert_equal "$TEST_SQLITE" "$PWD/test.db"
	assert_equal "$STRATA_TEST_DRIVER" sqlite
	[[ -d migrations ]]
	[[ -z ${TEST_DB:-} ]]
	if ! command -v sqlite3 >/dev/null; then
		skip "no sqlite3 shell"
	fi
	query_db 'CREATE TABLE t (id int); INSERT INTO t VALUES (7)'
	assert_equal "$(query_db 'SELECT id FROM t')" 7
}

record_driver() {
	echo "$STRATA_TEST_DRIVER $PWD $DATABASE_URL" >>"$BATS_TEST_TMPDIR/drivers"
	[[ -z $(ls -A migrations) ]]
	write_migration 001_x.sql "SELECT 1;"
	if [[ $STRATA_TEST_DRIVER == postgres ]] || command -v sqlite3 >/dev/null; then
		query_db 'CREATE TABLE once (id int)'
	fi
}

@test "harness: for_each_driver runs the body on SQLite, then PostgreSQL" {
	for_each_driver record_driver
	run cut -d' ' -f1 "$BATS_TEST_TMPDIR/drivers"
	assert_output $'sqlite\npostgres'
	run cut -d' ' -f2 "$BATS_TEST_TMPDIR/drivers"
	assert_output "$BATS_TEST_TMPDIR/work2"$'\n'"$BATS_TEST_TMPDIR/work3"
	run cut -d' ' -f3 "$BATS_TEST_TMPDIR/drivers"
	assert_line --index 0 "sqlite:$BATS_TEST_TMPDIR/work2/test.db"
	assert_line --index 1 --regexp '^postgresql:///t[0-9]+_1_2[?]host='
}

@test "harness: strata runs \$STRATA_BIN from PATH" {
	assert_equal "$(command -v strata)" "$STRATA_TEST_DIR/bin/strata"
	STRATA_BIN=/bin/echo run strata hello world
	assert_success
	assert_output "hello world"
	STRATA_BIN=/nonexistent/strata run -127 strata
	assert_output --partial "no strata binary at '/nonexistent/strata'"
}

@test "harness: STRATA_VALGRIND=1 turns a definite leak into a failure" {
	if ! command -v valgrind >/dev/null || ! command -v cc >/dev/null; then
		skip "needs valgrind and cc"
	fi
	printf '%s\n' '#include <stdlib.h>' \
		'int main(int c, char **v) { char *p = malloc(64); p[0] = 1; p = 0; (void)v; return c > 1 ? 3 : 0; }' >leak.c
	cc -O0 -g -o leak leak.c
	STRATA_BIN=$PWD/leak run strata
	assert_success
	STRATA_BIN=$PWD/leak STRATA_VALGRIND=1 run strata
	assert_failure 99
	assert_output --partial "definitely lost"
}

# A nested bats run of stdin, to check what the harness does when things go
# wrong. Tests there are written "TEST name {": bats would take a literal
# at-sign "test" at the start of a line here for one of this file's tests.
nested_bats() {
	local file=$BATS_TEST_TMPDIR/nested.bats
	{
		echo "load '$STRATA_TEST_DIR/lib'"
		sed 's/^\([[:blank:]]*\)TEST /\1@test /'
	} >"$file"
	# A clean bats: none of this run's BATS_* variables, nor its fd 3.
	local unset=() v
	for v in $(compgen -e -X '!BATS_*'); do
		unset+=(-u "$v")
	done
	run env "${unset[@]}" bats --tap "$file" 3>&-
}

@test "harness: a failing test still stops the cluster" {
	nested_bats <<-'EOF'
		TEST "fails" {
			head -n 1 "$STRATA_TEST_CLUSTER_DATA/postmaster.pid" >"$OUT/pid"
			echo "$STRATA_TEST_CLUSTER_DIR" >"$OUT/dir"
			psql_db 'SELECT 1'
			false
		}
	EOF
	assert_failure
	assert_line "not ok 1 fails"
	local pid
	pid=$(cat "$OUT/pid" 2>/dev/null || true)
	[[ $pid =~ ^[0-9]+$ ]]
	! _strata_pid_alive "$pid"
	# bats removed the scratch directory with the cluster in it.
	[[ ! -e $(cat "$OUT/dir") ]]
}

@test "harness: a file whose teardown_file forgets pg_stop is cleaned up" {
	nested_bats <<-'EOF'
		teardown_file() { :; }
		TEST "passes" {
			head -n 1 "$STRATA_TEST_CLUSTER_DATA/postmaster.pid" >"$OUT/pid"
		}
	EOF
	assert_success
	local pid i
	pid=$(cat "$OUT/pid")
	for i in {1..50}; do
		if ! _strata_pid_alive "$pid"; then
			return 0
		fi
		sleep 0.2
	done
	echo "postmaster $pid still runs" >&2
	return 1
}

@test "harness: a failing for_each_driver body fails the test at once" {
	nested_bats <<-'EOF'
		setup() { :; }
		body() {
			echo "$STRATA_TEST_DRIVER" >>"$OUT/drivers"
			false
			echo "not reached" >>"$OUT/drivers"
		}
		TEST "fails on sqlite" {
			for_each_driver body
		}
	EOF
	assert_failure
	assert_line --partial "# for_each_driver: sqlite"
	assert_equal "$(cat "$OUT/drivers")" sqlite
}

@test "harness: without PostgreSQL, tests skip, or fail under STRATA_TEST_REQUIRE_PG=1" {
	local body='TEST "needs pg" { psql_db "SELECT 1"; }'
	STRATA_TEST_PG_BINDIR=/nonexistent STRATA_TEST_REQUIRE_PG= nested_bats <<<"$body"
	assert_success
	assert_line "ok 1 needs pg # skip no PostgreSQL server binaries (initdb, pg_ctl) found: install postgresql"
	STRATA_TEST_PG_BINDIR=/nonexistent STRATA_TEST_REQUIRE_PG=1 nested_bats <<<"$body"
	assert_failure
	assert_output --partial "STRATA_TEST_REQUIRE_PG=1"
}

# Needs the CLI (src/cli/), written in parallel: fails until build/strata
# exists.
@test "harness: the strata binary exists and prints its version (needs the CLI)" {
	[[ -x $STRATA_BIN ]]
	run strata --version
	assert_success
	assert_output --regexp '^strata [0-9]'
}

setup() {
	export OUT=$BATS_TEST_TMPDIR
	new_db
}
