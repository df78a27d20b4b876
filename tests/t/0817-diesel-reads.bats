#!/usr/bin/env bats
# What reading diesel's directories costs: a file that is read is opened
# at once (no stat before it), status and check read no metadata.toml,
# and what each reads is still right (down_file, links, a FIFO, a bad
# metadata.toml at run).

load lib

diesel_folder() { # N
	local i
	for ((i = 1; i <= $1; i++)); do
		write_migration "2024-01-01-$(printf '%06d' "$i")_t$i/up.sql" "create table t$i (a int);"
		write_migration "2024-01-01-$(printf '%06d' "$i")_t$i/down.sql" "drop table t$i;"
	done
}

# The files of the folder a command looked at, by system call, in
# $BATS_TEST_TMPDIR/trace.
trace() {
	# LeakSanitizer cannot run under ptrace: a sanitized build's leak
	# check is for the other tests
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		run strace -f -qq -e trace=openat,newfstatat,statx,faccessat,faccessat2 \
		-o "$BATS_TEST_TMPDIR/trace" "$STRATA_BIN" "$@"
	echo "$output"
}

calls() { # PATTERN
	grep -c "$1" "$BATS_TEST_TMPDIR/trace" || true
}

@test "diesel reads: status opens each up.sql once with no stat of it, looks for each down.sql once, and for no metadata.toml" {
	command -v strace >/dev/null || skip "strace is not installed"
	sqlite_db
	diesel_folder 20
	write_migration 2024-01-01-000003_t3/metadata.toml 'run_in_transaction = false'
	sqlite3 "$TEST_SQLITE" "select 1" >/dev/null
	trace status --format json
	[ "$(jq -r .summary.pending <<<"$output")" = 20 ]
	[ "$(calls 'metadata\.toml')" = 0 ]
	[ "$(calls 'openat(.*/up\.sql"')" = 20 ]
	[ "$(calls 'newfstatat(.*/up\.sql"')" = 0 ]
	[ "$(calls '/down\.sql"')" = 20 ]
}

@test "diesel reads: status as a table and check, which show no down file, look for none" {
	command -v strace >/dev/null || skip "strace is not installed"
	sqlite_db
	diesel_folder 20
	sqlite3 "$TEST_SQLITE" "select 1" >/dev/null
	trace status
	[[ $output == *"0 applied, 20 pending"* ]]
	[ "$(calls 'openat(.*/up\.sql"')" = 20 ]
	[ "$(calls '/down\.sql"')" = 0 ]
	trace check
	[ "$status" -eq 3 ]
	[ "$(calls 'openat(.*/up\.sql"')" = 20 ]
	[ "$(calls '/down\.sql"')" = 0 ]
	# a down.sql that is not a file is still refused where it is read
	rm migrations/2024-01-01-000002_t2/down.sql
	mkdir migrations/2024-01-01-000002_t2/down.sql
	run strata status --format json
	[ "$status" -ne 0 ]
	[[ $output == *"2024-01-01-000002_t2/down.sql"* ]]
}

@test "diesel reads: status looks for each down.sql on the thread that read its up.sql, right after it" {
	command -v strace >/dev/null || skip "strace is not installed"
	(($(getconf _NPROCESSORS_ONLN) > 1)) || skip "one processor: the files are read on one thread"
	sqlite_db
	# enough files for more than one reader thread
	diesel_folder 300
	sqlite3 "$TEST_SQLITE" "select 1" >/dev/null
	trace status --format json
	[ "$(jq -r .summary.pending <<<"$output")" = 300 ]
	[ "$(calls '/down\.sql"')" = 300 ]
	# each down.sql's directory is the last one whose up.sql that
	# thread opened
	run awk '
		/openat\(.*\/up\.sql"/ { match($0, /"[^"]*\/up\.sql"/); up[$1] = substr($0, RSTART + 1, RLENGTH - 9) }
		/\/down\.sql"/ { match($0, /"[^"]*\/down\.sql"/); if (substr($0, RSTART + 1, RLENGTH - 11) != up[$1]) bad++ }
		END { print bad + 0 }' "$BATS_TEST_TMPDIR/trace"
	[ "$output" = 0 ]
}

@test "diesel reads: run opens each file with no stat before it, each up.sql again as it is applied, and reads each metadata.toml once" {
	command -v strace >/dev/null || skip "strace is not installed"
	sqlite_db
	diesel_folder 20
	write_migration 2024-01-01-000003_t3/metadata.toml 'run_in_transaction = false'
	trace run
	[ "$status" -eq 0 ]
	# hashed by the load, its text not kept; read again to be applied
	[ "$(calls 'openat(.*/up\.sql"')" = 40 ]
	[ "$(calls 'openat(.*/down\.sql"')" = 20 ]
	[ "$(calls 'stat.*/\(up\|down\)\.sql"')" = 0 ]
	[ "$(calls 'metadata\.toml')" = 20 ]
	[ "$(query_db "select count(*) from __diesel_schema_migrations")" = 20 ]
}

@test "diesel reads: status's down_file is each directory's down.sql, or null without one" {
	sqlite_db
	diesel_folder 2
	rm migrations/2024-01-01-000002_t2/down.sql
	sqlite3 "$TEST_SQLITE" "select 1" >/dev/null
	run strata status --format json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.migrations[].down_file] | map(. // "null") | join(" ")' <<<"$output")" = "migrations/2024-01-01-000001_t1/down.sql null" ]
}

@test "diesel reads: each migration keeps its own down.sql in version order, and two directories of one version are named in order" {
	sqlite_db
	local d
	for d in 2024-01-01-000003_c 2024-01-01-000001_a 2024-01-01-000010_j 2024-01-01-000002_b; do
		write_migration "$d/up.sql" "create table ${d##*_} (a int);"
	done
	write_migration 2024-01-01-000003_c/down.sql "drop table c;"
	write_migration 2024-01-01-000002_b/down.sql "drop table b;"
	sqlite3 "$TEST_SQLITE" "select 1" >/dev/null
	run strata status --format json
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.migrations[] | "\(.description):\(.down_file // "null")"] | join(" ")' <<<"$output")" = "a:null b:migrations/2024-01-01-000002_b/down.sql c:migrations/2024-01-01-000003_c/down.sql j:null" ]
	write_migration 20240101000001_x/up.sql "create table x (a int);"
	write_migration 20240101000001_x/down.sql "drop table x;"
	write_migration 20240101000001_a_b/up.sql "create table ab (a int);"
	run strata status
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"duplicate up files for migration version "*": 'migrations/2024-01-01-000001_a/up.sql', 'migrations/20240101000001_a_b/up.sql' and 'migrations/20240101000001_x/up.sql'"* ]]
}

@test "diesel reads: a bad metadata.toml is for run to refuse; status, which runs nothing, reads none" {
	sqlite_db
	diesel_folder 1
	write_migration 2024-01-01-000001_t1/metadata.toml 'run_in_transaction = "no"'
	sqlite3 "$TEST_SQLITE" "select 1" >/dev/null
	run strata status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"0 applied, 1 pending"* ]]
	run strata run
	[ "$status" -ne 0 ]
	[[ $output == *"metadata.toml' line 1: run_in_transaction is not true or false"* ]]
}

@test "diesel reads: an up.sql linked inside the folder is read, a FIFO is refused without waiting on it" {
	sqlite_db
	diesel_folder 1
	mkdir -p migrations/shared
	printf 'create table linked (a int);\n' >migrations/shared/linked.sql
	mkdir migrations/2024-01-01-000002_linked
	ln -s ../shared/linked.sql migrations/2024-01-01-000002_linked/up.sql
	run strata run
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(query_db "select count(*) from sqlite_master where name = 'linked'")" = 1 ]
	mkdir migrations/2024-01-01-000003_fifo
	mkfifo migrations/2024-01-01-000003_fifo/up.sql
	run timeout 10 "$STRATA_BIN" status
	echo "$output"
	[ "$status" -ne 124 ]
	[[ $output == *"2024-01-01-000003_fifo/up.sql' is not a regular file"* ]]
	run timeout 10 "$STRATA_BIN" run
	[ "$status" -ne 124 ]
	[[ $output == *"2024-01-01-000003_fifo/up.sql' is not a regular file"* ]]
}
