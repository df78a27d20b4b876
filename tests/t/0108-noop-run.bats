#!/usr/bin/env bats
# What a run with nothing pending costs: it reads no down file (a run
# reads only those of the migrations it applies, for their audit rows,
# checked as the load would check them, before anything is applied) and
# sends no DDL to a database whose history table is there.

load lib

# strata under strace: LeakSanitizer (an ASan build) cannot run traced.
traced() {
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -qq -e trace=openat,open,newfstatat,statx,lstat \
		-o "$BATS_TEST_TMPDIR/trace" "$@"
}

calls() { # PATTERN
	grep -c "$1" "$BATS_TEST_TMPDIR/trace" || true
}

# occurrences, not lines: libpq may send several statements in one call
sent() { # TEXT
	grep -o -F "$1" "$BATS_TEST_TMPDIR/trace" | wc -l
}

pairs() { # FROM TO
	local i
	for ((i = $1; i <= $2; i++)); do
		write_migration "${i}_t$i.up.sql" "CREATE TABLE t$i (id int);"
		write_migration "${i}_t$i.down.sql" "DROP TABLE t$i;"
	done
}

@test "no-op run: a run with nothing pending opens no down file, one that applies opens only its migrations' down files" {
	command -v strace >/dev/null || skip "strace is not installed"
	new_db
	pairs 1 5
	run strata run
	assert_success
	run traced "$STRATA_BIN" run
	echo "$output"
	assert_success
	assert_output --partial "Nothing to apply: the database is up to date."
	[ "$(calls 'openat(.*_t[0-9]*\.up\.sql"')" = 5 ]
	[ "$(calls '\.down\.sql"')" = 0 ]
	pairs 6 7
	run traced "$STRATA_BIN" run
	echo "$output"
	assert_success
	assert_output --partial "Applied 2 migrations."
	[ "$(calls 'openat(.*_t[67]\.down\.sql"')" = 2 ]
	[ "$(calls '\.down\.sql"')" = 2 ]
	# the audit rows keep each applied migration's down text
	run psql_db "SELECT version, rtrim(down_sql, E'\\n') FROM _strata_audit WHERE action = 'apply' AND version >= 5 ORDER BY version"
	assert_output "5|DROP TABLE t5;
6|DROP TABLE t6;
7|DROP TABLE t7;"
}

@test "no-op run: an invalid down file of an applied migration does not stop a run with nothing pending" {
	new_db
	pairs 1 3
	run strata run
	assert_success
	printf 'DROP TABLE t2; -- \xff\n' >migrations/2_t2.down.sql
	run strata run
	echo "$output"
	assert_success
	assert_output --partial "Nothing to apply: the database is up to date."
	run strata status
	assert_success
	# revert, which runs it, still refuses it
	run strata revert --all
	echo "$output"
	[ "$status" -ne 0 ]
	assert_output --partial "'migrations/2_t2.down.sql' is not valid UTF-8 (line 1, column 19)"
	run psql_db "SELECT count(*) FROM _sqlx_migrations"
	assert_output 3
}

@test "no-op run: a run that applies a migration with an invalid down file fails naming it and applies nothing" {
	new_db
	pairs 1 3
	printf 'DROP TABLE t3;\n\0\n' >migrations/3_t3.down.sql
	run strata run
	echo "$output"
	[ "$status" -ne 0 ]
	assert_output --partial "'migrations/3_t3.down.sql' holds a NUL byte on line 2"
	# nothing at all: no table, no history
	run psql_db "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
	assert_output 0
	# so does a dry run, which plans what the run would apply
	run strata run --dry-run
	[ "$status" -ne 0 ]
	assert_output --partial "'migrations/3_t3.down.sql' holds a NUL byte on line 2"
	# once fixed, it applies
	write_migration 3_t3.down.sql "DROP TABLE t3;"
	run strata run
	assert_success
	assert_output --partial "Applied 3 migrations."
}

@test "no-op run: a down file over the size limit stops only the run that applies it" {
	new_db
	pairs 1 2
	run strata run
	assert_success
	pairs 3 3
	head -c 2048 /dev/zero | tr '\0' ' ' >>migrations/1_t1.down.sql
	head -c 2048 /dev/zero | tr '\0' ' ' >>migrations/3_t3.down.sql
	run strata --max-file-size 1KiB run
	echo "$output"
	[ "$status" -ne 0 ]
	assert_output --partial "'migrations/3_t3.down.sql' is larger than the limit"
	[[ $output != *1_t1.down.sql* ]]
	run psql_db "SELECT count(*) FROM _sqlx_migrations"
	assert_output 2
}

@test "no-op run: diesel's no-op run looks for no down.sql; a directory without one applies with no down text" {
	command -v strace >/dev/null || skip "strace is not installed"
	new_db
	write_migration 2024-01-01-000001_a/up.sql "create table a (x int);"
	write_migration 2024-01-01-000001_a/down.sql "drop table a;"
	write_migration 2024-01-01-000002_b/up.sql "create table b (x int);"
	run strata run
	echo "$output"
	assert_success
	run psql_db "SELECT version_text, coalesce(rtrim(down_sql, E'\\n'), 'null') FROM _strata_audit WHERE action = 'apply' ORDER BY id"
	assert_output "20240101000001|drop table a;
20240101000002|null"
	run traced "$STRATA_BIN" run
	echo "$output"
	assert_success
	assert_output --partial "Nothing to apply: the database is up to date."
	[ "$(calls '/down\.sql"')" = 0 ]
	[ "$(calls 'openat(.*/up\.sql"')" = 2 ]
}

@test "no-op run: Flyway's undo file is read with its placeholders replaced when its migration is applied" {
	new_db
	write_migration V1__a.sql 'CREATE TABLE ${name} (x int);'
	write_migration U1__a.sql 'DROP TABLE ${name};'
	write_migration V2__b.sql 'CREATE TABLE b (x int);'
	write_migration U2__b.sql 'DROP TABLE b; -- ${missing}'
	# the undo file's placeholder without a value is named, as a load
	# of all the files names it
	run strata --placeholder name=a run
	echo "$output"
	[ "$status" -ne 0 ]
	assert_output --partial "U2__b.sql"
	assert_output --partial "missing"
	write_migration U2__b.sql 'DROP TABLE b;'
	run strata --placeholder name=a run
	echo "$output"
	assert_success
	run psql_db "SELECT rtrim(down_sql, E'\\n') FROM _strata_audit WHERE action = 'apply' ORDER BY id LIMIT 1"
	assert_output "DROP TABLE a;"
}

@test "no-op run: nothing pending sends no CREATE TABLE (the lock is still taken); a first run creates the tables" {
	command -v strace >/dev/null || skip "strace is not installed"
	new_db
	pairs 1 3
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		run strace -f -qq -e trace=sendto -s 65536 -o "$BATS_TEST_TMPDIR/trace" "$STRATA_BIN" run
	assert_success
	[ "$(sent 'CREATE TABLE IF NOT EXISTS')" -ge 2 ]
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		run strace -f -qq -e trace=sendto -s 65536 -o "$BATS_TEST_TMPDIR/trace" "$STRATA_BIN" run
	echo "$output"
	assert_success
	assert_output --partial "Nothing to apply: the database is up to date."
	[ "$(sent 'CREATE TABLE')" = 0 ]
	[ "$(sent 'pg_try_advisory_lock')" -ge 1 ]
	# with something pending the tables are ensured as before
	pairs 4 4
	run strata run
	assert_success
	assert_output --partial "Applied 4 t4"
	run psql_db "SELECT count(*) FROM _strata_audit WHERE action = 'apply'"
	assert_output 4
}

@test "no-op run: a run keeps no up file's text it does not apply: an applied file is opened once, one it applies twice, and what runs is what was hashed" {
	command -v strace >/dev/null || skip "strace is not installed"
	new_db
	pairs 1 5
	run strata run
	assert_success
	pairs 6 7
	run traced "$STRATA_BIN" run
	echo "$output"
	assert_success
	assert_output --partial "Applied 2 migrations."
	local i
	for i in 1 2 3 4 5; do
		[ "$(calls "openat(.*\"${i}_t$i\.up\.sql\"")" = 1 ]
	done
	[ "$(calls 'openat(.*"6_t6\.up\.sql"')" = 2 ]
	[ "$(calls 'openat(.*"7_t7\.up\.sql"')" = 2 ]
	run psql_db "SELECT version, rtrim(up_sql, E'\\n') FROM _strata_audit WHERE action = 'apply' AND version >= 6 ORDER BY version"
	assert_output "6|CREATE TABLE t6 (id int);
7|CREATE TABLE t7 (id int);"
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations WHERE success")" 7
}

# strata run behind a held migration lock; once it asks for the lock
# (the folder read), "$@" runs, then the lock is let go. The run's exit
# status in WAITED_RC, its output in $BATS_TEST_TMPDIR/out.
run_while_waiting() {
	local key holder pid
	key=$(lock_key "$TEST_DB")
	psql -XAtq -d "$TEST_DB" -c "SELECT pg_advisory_lock($key)" -c "SELECT pg_sleep(60)" >/dev/null &
	holder=$!
	await_sql "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = ($key & 4294967295)::oid" >/dev/null
	strata run --lock-wait 30s >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	await_sql "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_try_advisory_lock%' AND pid <> pg_backend_pid()" >/dev/null
	"$@"
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	psql_db "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
	WAITED_RC=0
	wait "$pid" || WAITED_RC=$?
	cat "$BATS_TEST_TMPDIR/out"
}

@test "no-op run: a pending file changed while the run waits for the lock fails it before anything is applied, naming the file; the next run applies the new text" {
	new_db
	pairs 1 2
	run strata run
	assert_success
	pairs 3 4
	run_while_waiting write_migration 4_t4.up.sql "CREATE TABLE t4 (id int, changed int);"
	assert_equal "$WAITED_RC" 4
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial "4_t4.up.sql' changed while strata ran"
	assert_output --partial "Nothing was applied"
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 2
	assert_equal "$(psql_db "SELECT to_regclass('t3') IS NULL")" t
	run strata run
	assert_success
	assert_equal "$(psql_db "SELECT count(*) FROM information_schema.columns WHERE table_name = 't4' AND column_name = 'changed'")" 1
}

@test "no-op run: a pending file removed, or made a FIFO, while the run waits for the lock fails it before anything is applied, without hanging" {
	new_db
	pairs 1 2
	run strata run
	assert_success
	pairs 3 4
	run_while_waiting rm migrations/4_t4.up.sql
	assert_equal "$WAITED_RC" 1
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial "could not open 'migrations/4_t4.up.sql'"
	assert_output --partial "It was read with the folder when the run began. Nothing was applied."
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 2
	write_migration 4_t4.up.sql "CREATE TABLE t4 (id int);"
	make_fifo() { rm migrations/4_t4.up.sql && mkfifo migrations/4_t4.up.sql; }
	run_while_waiting make_fifo
	assert_equal "$WAITED_RC" 4
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial "4_t4.up.sql' changed while strata ran"
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 2
}
