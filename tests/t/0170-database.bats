#!/usr/bin/env bats
# strata database create|drop|reset|setup, as sqlx's `database` commands,
# on PostgreSQL (a database of this file's cluster) and SQLite (a file).

load lib

teardown() {
	# a session started by a test, if it outlived the test
	if [[ -n ${SESSION_PID:-} ]]; then
		kill "$SESSION_PID" 2>/dev/null || true
		wait "$SESSION_PID" 2>/dev/null || true
	fi
}

# t (exists) or f, for database $1 of the cluster.
pg_exists() {
	local n
	n=$(_pg_psql -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")
	if ((n == 1)); then echo t; else echo f; fi
}

two_migrations() {
	write_migration 1_users.sql "CREATE TABLE users (id int PRIMARY KEY, email text);"
	write_migration 2_seed.sql "INSERT INTO users VALUES (1, 'a@example.com');"
}

@test "database create: creates a PostgreSQL database, and is idempotent" {
	local name=created_$BATS_TEST_NUMBER
	export DATABASE_URL
	DATABASE_URL=$(pg_url "$name")
	assert_equal "$(pg_exists "$name")" f
	run strata database create
	assert_success
	assert_output "Created the database."
	assert_equal "$(pg_exists "$name")" t
	run strata database create
	assert_success
	assert_output "The database exists already."
	assert_equal "$(pg_exists "$name")" t
	# -d works as well as DATABASE_URL; -q prints nothing
	run strata database create -q -d "$(pg_url "${name}_b")"
	assert_success
	assert_output ""
	assert_equal "$(pg_exists "${name}_b")" t
}

@test "database create: a name that needs quoting" {
	local name="Mixed Case-$BATS_TEST_NUMBER"
	run strata database create -d "$(pg_url "Mixed%20Case-$BATS_TEST_NUMBER")"
	assert_success
	assert_equal "$(pg_exists "$name")" t
	run strata database drop --yes -d "$(pg_url "Mixed%20Case-$BATS_TEST_NUMBER")"
	assert_success
	assert_equal "$(pg_exists "$name")" f
}

@test "database drop: needs --yes when stdin is not a terminal; nothing dropped without it" {
	assert_equal "$(pg_exists "$TEST_DB")" t
	run strata database drop </dev/null
	assert_failure 2
	assert_output --partial "refusing to drop the database without --yes"
	assert_equal "$(pg_exists "$TEST_DB")" t
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	run strata database reset </dev/null
	assert_failure 2
	assert_equal "$(pg_exists "$TEST_DB")" t
	run strata database drop --yes </dev/null
	assert_success
	assert_equal "$(pg_exists "$TEST_DB")" f
	# dropping what does not exist is no error (as sqlx: IF EXISTS)
	run strata database drop -y </dev/null
	assert_success
}

@test "database drop: another session blocks a plain drop; --force ends it and drops" {
	# a session of someone else, connected to the database
	_pg_psql -d "$TEST_DB" -c "SELECT pg_sleep(60)" </dev/null >/dev/null 2>&1 3>&- &
	SESSION_PID=$!
	local i
	for i in {1..100}; do
		[[ $(_pg_psql -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$TEST_DB' AND query LIKE '%pg_sleep%'") == 1 ]] && break
		sleep 0.1
	done
	run strata database drop --yes </dev/null
	assert_failure 1
	assert_output --partial "is being accessed by other users"
	assert_output --partial "55006"
	assert_equal "$(pg_exists "$TEST_DB")" t
	run strata database drop --yes --force </dev/null
	assert_success
	assert_equal "$(pg_exists "$TEST_DB")" f
	# the other session was ended
	run wait "$SESSION_PID"
	assert_failure
	SESSION_PID=
}

@test "database setup: creates the database and applies the migrations" {
	local name=setup_$BATS_TEST_NUMBER
	two_migrations
	export DATABASE_URL
	DATABASE_URL=$(pg_url "$name")
	run strata database setup
	assert_success
	assert_line "Created the database."
	assert_line --partial "Applied 1 users"
	assert_line --partial "Applied 2 seed"
	assert_equal "$(_pg_psql -d "$name" -c "SELECT email FROM users")" "a@example.com"
	assert_equal "$(_pg_psql -d "$name" -c "SELECT string_agg(version::text, ',' ORDER BY version) FROM _sqlx_migrations WHERE success")" "1,2"
	# again: nothing to create, nothing to apply
	run strata database setup
	assert_success
	assert_line "The database exists already."
	assert_line "Nothing to apply: the database is up to date."
	# a new migration: setup applies only it
	write_migration 3_more.sql "INSERT INTO users VALUES (2, 'b@example.com');"
	run strata database setup
	assert_success
	assert_line --partial "Applied 3 more"
	assert_equal "$(_pg_psql -d "$name" -c "SELECT count(*) FROM users")" 2
}

@test "database setup: an invalid source fails with exit 4 and applies nothing" {
	two_migrations
	write_migration 2_dup.sql "SELECT 1;"
	run strata database setup
	assert_failure 4
	assert_output --partial "duplicate"
	assert_equal "$(psql_db "SELECT to_regclass('users') IS NULL AND to_regclass('_sqlx_migrations') IS NULL")" t
}

@test "database reset: drops and re-applies (data gone, schema back)" {
	two_migrations
	strata run
	psql_db "INSERT INTO users VALUES (42, 'later@example.com'); CREATE TABLE scratch (x int);"
	run strata database reset --yes </dev/null
	assert_success
	assert_line --partial "Applied 1 users"
	assert_line --partial "Applied 2 seed"
	assert_equal "$(psql_db "SELECT string_agg(id::text, ',') FROM users")" 1
	assert_equal "$(psql_db "SELECT to_regclass('scratch') IS NULL")" t
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations WHERE success")" 2
	run strata check
	assert_success
}

@test "database: usage errors exit 2" {
	run strata database
	assert_failure 2
	assert_output --partial "an action is required"
	run strata database frobnicate
	assert_failure 2
	assert_output --partial "unknown action 'frobnicate'"
	run strata database create drop
	assert_failure 2
	run strata database create --bogus
	assert_failure 2
	unset DATABASE_URL
	run strata database create
	assert_failure 2
	assert_output --partial "--database"
	assert_output --partial "DATABASE_URL"
}

@test "database create: an unreachable server is exit 7" {
	run strata database create -d "postgresql:///x?host=$BATS_TEST_TMPDIR/nosock&port=1"
	assert_failure 7
}

# ---------------------------------------------------------------- SQLite

@test "database create/drop on SQLite: the file appears and disappears" {
	sqlite_db
	[[ ! -e test.db ]]
	run strata database create
	assert_success
	assert_output "Created the database."
	[[ -f test.db ]]
	run strata database create
	assert_success
	assert_output "The database exists already."
	run strata database drop </dev/null
	assert_failure 2
	[[ -f test.db ]]
	run strata database drop --yes </dev/null
	assert_success
	[[ ! -e test.db ]]
	run strata database drop --yes </dev/null
	assert_success
}

@test "database drop on SQLite removes the -wal and -shm files too" {
	sqlite_db
	sqlite3 test.db "PRAGMA journal_mode=WAL;" >/dev/null
	sqlite3 test.db <<-'EOF'
		.filectrl persist_wal 1
		CREATE TABLE t (x int);
		INSERT INTO t VALUES (1);
	EOF
	[[ -f test.db-wal && -f test.db-shm ]]
	run strata database drop --yes </dev/null
	assert_success
	[[ ! -e test.db && ! -e test.db-wal && ! -e test.db-shm ]]
	# a later database of that name starts empty
	write_migration 1_u.sql "CREATE TABLE u (id int);"
	run strata database setup
	assert_success
	assert_equal "$(sqlite3 test.db "SELECT count(*) FROM sqlite_master WHERE name = 't'")" 0
}

@test "database setup and reset on SQLite" {
	sqlite_db
	two_migrations
	run strata database setup
	assert_success
	assert_line "Created the database."
	assert_line --partial "Applied 2 seed"
	sqlite3 test.db "INSERT INTO users VALUES (42, 'later@example.com'); CREATE TABLE scratch (x int);"
	run strata database reset --yes </dev/null
	assert_success
	assert_equal "$(sqlite3 test.db "SELECT group_concat(id) FROM users")" 1
	assert_equal "$(sqlite3 test.db "SELECT count(*) FROM sqlite_master WHERE name = 'scratch'")" 0
	run strata check
	assert_success
	run strata database reset </dev/null
	assert_failure 2
	assert_equal "$(sqlite3 test.db "SELECT count(*) FROM users")" 1
}

reset_keeps_data_when_source_invalid() {
	two_migrations
	strata run
	query_db "INSERT INTO users VALUES (42, 'later@example.com')"
	write_migration 2_dup.sql "SELECT 1;"
	run strata database reset --yes </dev/null
	assert_failure 4
	assert_output --partial "duplicate"
	# the source is checked before anything is dropped
	assert_equal "$(query_db "SELECT count(*) FROM users")" 2
}

@test "database reset: an invalid source is refused before the database is dropped" {
	for_each_driver reset_keeps_data_when_source_invalid
}

@test "database drop on a terminal asks first, showing the URL without its password" {
	# trust authentication: the server ignores the password
	local url="postgresql://postgres:SECRETpw123@/$TEST_DB?host=${PGHOST//\//%2F}&port=$PGPORT"
	run bash -c 'echo n | TERM=dumb script -qec "strata database drop -d \"$1\"" /dev/null' _ "$url"
	assert_failure 1
	assert_output --partial "Drop the database at 'postgresql://postgres:***@/$TEST_DB"
	assert_output --partial "[y/N]"
	assert_output --partial "nothing dropped"
	refute_output --partial SECRETpw123
	assert_equal "$(pg_exists "$TEST_DB")" t
	run bash -c 'echo y | TERM=dumb script -qec "strata database drop -d \"$1\"" /dev/null' _ "$url"
	assert_success
	refute_output --partial SECRETpw123
	assert_equal "$(pg_exists "$TEST_DB")" f
}
