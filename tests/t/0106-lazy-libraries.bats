#!/usr/bin/env bats
# libpq and libmicrohttpd are loaded when first needed: a command that
# needs neither starts without them (faster, and SQLite works on a machine
# without PostgreSQL's client library); one that needs a missing one says
# which and how to install it.

load lib

# The file the dynamic loader finds for SONAME.
library_file() {
	local path
	path=$(ldconfig -p | awk -v so="$1" '$1 == so { print $NF; exit }')
	[[ -n $path ]] && readlink -f "$path"
}

# Runs strata with the library of SONAME replaced by an empty file, in a
# mount namespace of its own (as root), as on a machine without it.
strata_without() {
	local soname=$1 file
	shift
	file=$(library_file "$soname")
	unshare -m bash -c 'mount --bind /dev/null "$1" && shift && exec "$@"' \
		_ "$file" "$STRATA_BIN" "$@"
}

require_namespaces() {
	[[ $(id -u) == 0 ]] || skip "needs root, to hide a library in a mount namespace"
	command -v unshare >/dev/null || skip "needs unshare (util-linux)"
	[[ -n $(library_file libpq.so.5) ]] || skip "libpq.so.5 is not installed"
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

@test "lazy libraries: without libpq, SQLite works and PostgreSQL says what to install" {
	require_namespaces
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
	require_namespaces
	[[ -n $(library_file libmicrohttpd.so.12) ]] || skip "libmicrohttpd.so.12 is not installed"
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run --separate-stderr strata_without libmicrohttpd.so.12 serve --listen 127.0.0.1:0
	assert_failure 1
	[[ $stderr == *"serve needs libmicrohttpd, which could not be loaded"* ]]
	[[ $stderr == *"apt install libmicrohttpd12"* ]]
}
