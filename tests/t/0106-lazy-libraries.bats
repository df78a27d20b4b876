#!/usr/bin/env bats
# libpq, libsqlite3, libmicrohttpd and libcrypto are loaded when first
# needed: a command that needs none starts without them (faster, and
# lighter: SQLite works on a machine without PostgreSQL's client library,
# PostgreSQL without SQLite's); one that needs a missing one says which and
# how to install it.

load lib

# Runs strata as on a machine where the library SONAME cannot be loaded:
# LD_LIBRARY_PATH, searched before the system's directories, leads to a
# file of that name that is no library.
strata_without() {
	local soname=$1 dir=$BATS_TEST_TMPDIR/broken-libs
	shift
	mkdir -p "$dir"
	echo "not a library" >"$dir/$soname"
	LD_LIBRARY_PATH=$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$STRATA_BIN" "$@"
}

@test "lazy libraries: strata starts without loading libpq or libmicrohttpd" {
	run readelf -d "$STRATA_BIN"
	assert_success
	refute_output --partial "libpq.so"
	refute_output --partial "libmicrohttpd"
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run env LD_DEBUG=files "$STRATA_BIN" run
	assert_success
	refute_output --partial "libpq.so"
	new_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run env LD_DEBUG=files "$STRATA_BIN" status
	assert_success
	assert_output --partial "file=libpq.so.5"
}

@test "lazy libraries: SQLite is loaded by the first SQLite URL, never for PostgreSQL" {
	run readelf -d "$STRATA_BIN"
	assert_success
	refute_output --partial "libsqlite3"
	run env LD_DEBUG=files "$STRATA_BIN" --version
	assert_success
	refute_output --partial "file=libsqlite3"
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run env LD_DEBUG=files "$STRATA_BIN" run
	assert_success
	assert_output --partial "file=libsqlite3.so.0 [0];  dynamically loaded by"
	assert_output --partial "Applied 1"
	new_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run env LD_DEBUG=files "$STRATA_BIN" run
	assert_success
	assert_output --partial "file=libpq.so.5"
	refute_output --partial "file=libsqlite3"
	run env LD_DEBUG=files "$STRATA_BIN" status
	assert_success
	refute_output --partial "file=libsqlite3"
}

@test "lazy libraries: without libsqlite3, PostgreSQL works and SQLite says what to install" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run strata_without libsqlite3.so.0 --version
	assert_success
	run strata_without libsqlite3.so.0 run
	assert_success
	assert_output --partial "Applied 1"
	run --separate-stderr strata_without libsqlite3.so.0 status \
		--database-url "sqlite:$BATS_TEST_TMPDIR/app.db"
	assert_failure 1
	assert_output ""
	[[ $stderr == "strata: error: SQLite needs libsqlite3, which could not be loaded: "* ]]
	[[ $stderr == *"apt install libsqlite3-0"* ]]
	# refused before anything was made
	[[ ! -e $BATS_TEST_TMPDIR/app.db ]]
}

@test "lazy libraries: without libpq, SQLite works and PostgreSQL says what to install" {
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run strata_without libpq.so.5 --version
	assert_success
	run strata_without libpq.so.5 run
	assert_success
	assert_output --partial "Applied 1"
	run --separate-stderr strata_without libpq.so.5 status \
		--database-url "postgres://u:secret@127.0.0.1:1/db"
	assert_failure 1
	assert_output ""
	[[ $stderr == "strata: error: PostgreSQL needs libpq, which could not be loaded: "* ]]
	[[ $stderr == *"apt install libpq5"* ]]
	[[ $stderr != *secret* ]]
}

@test "lazy libraries: serve without libmicrohttpd says what to install" {
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run --separate-stderr strata_without libmicrohttpd.so.12 serve --listen 127.0.0.1:0
	assert_failure 1
	[[ $stderr == *"serve needs libmicrohttpd, which could not be loaded"* ]]
	[[ $stderr == *"apt install libmicrohttpd12"* ]]
}

@test "lazy libraries: libcrypto is loaded by the first hash, once, also beside libpq" {
	run readelf -d "$STRATA_BIN"
	assert_success
	refute_output --partial "libcrypto"
	run env LD_DEBUG=files "$STRATA_BIN" --version
	assert_success
	refute_output --partial "file=libcrypto.so"
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run env LD_DEBUG=files "$STRATA_BIN" run
	assert_success
	assert_output --partial "file=libcrypto.so.3 [0];  dynamically loaded by"
	# libpq links libcrypto itself: the process still holds one
	new_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run env LD_DEBUG=files "$STRATA_BIN" status
	assert_success
	assert_output --partial "file=libpq.so.5"
	assert_equal "$(grep -c 'file=libcrypto.so.3 .*generating link map' <<<"$output")" 1
}

@test "lazy libraries: without libcrypto, what hashes says what to install" {
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata run >/dev/null
	strata backup >/dev/null
	file=$(ls backups/*.sqlite)
	before=$(ls -A backups)
	run strata_without libcrypto.so.3 --version
	assert_success
	assert_output --partial "strata "
	run --separate-stderr strata_without libcrypto.so.3 status
	assert_failure 1
	assert_output ""
	[[ $stderr == "strata: error: SHA-384 needs OpenSSL's libcrypto, which could not be loaded: "* ]]
	[[ $stderr == *"apt install libssl3"* ]]
	mkdir seeds
	echo "INSERT INTO a VALUES (1);" >seeds/01_a.sql
	run --separate-stderr strata_without libcrypto.so.3 seed
	assert_failure 1
	[[ $stderr == "strata: error: SHA-384 needs OpenSSL's libcrypto, which could not be loaded: "* ]]
	assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM a")" 0
	run --separate-stderr strata_without libcrypto.so.3 backup
	assert_failure 1
	[[ $stderr == "strata: error: a backup's SHA-256 needs OpenSSL's libcrypto, which could not be loaded: "* ]]
	[[ $stderr == *"apt install libssl3"* ]]
	# refused before dumping: nothing left behind
	run ls -A backups
	assert_output "$before"
	run --separate-stderr strata_without libcrypto.so.3 backup verify "$file"
	assert_failure 1
	[[ $stderr == "strata: error: a backup's SHA-256 needs OpenSSL's libcrypto, which could not be loaded: "* ]]
	run strata backup verify "$file"
	assert_success
	# serve reads the source before its credentials: the same error
	echo "bearer:0123456789abcdef0123" >auth
	run --separate-stderr strata_without libcrypto.so.3 serve \
		--listen 127.0.0.1:0 --auth-file auth
	assert_failure 1
	[[ $stderr == "strata: error: SHA-384 needs OpenSSL's libcrypto, which could not be loaded: "* ]]
}
