#!/usr/bin/env bats
# What an apply asks of the system beyond the database: the user and host
# its audit rows name are looked up once a run, not once a migration, and
# each line of the plain log reaches stderr in one write, so that a log
# shared with other processes never has a line cut in two.

load lib

# strata under strace: LeakSanitizer (an ASan build) cannot run traced.
traced() {
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -qq -o "$BATS_TEST_TMPDIR/trace" "$@"
}

# Ten small migrations, each its own transaction.
ten_migrations() {
	for i in $(seq 1 10); do
		write_migration "${i}_t$i.sql" "CREATE TABLE t$i (id int);"
	done
}

@test "apply syscalls: the audit rows' user and host are looked up once a run" {
	command -v strace >/dev/null || skip "strace is not installed"
	new_db
	ten_migrations
	run traced -e trace=openat,uname "$STRATA_BIN" run
	echo "$output"
	assert_success
	assert_output --partial "Applied 10 migrations."
	# the password database read once (getpwuid), not once a migration
	[ "$(grep -c '"/etc/passwd"' "$BATS_TEST_TMPDIR/trace")" -le 1 ]
	[ "$(grep -c '^[0-9]* *uname(' "$BATS_TEST_TMPDIR/trace")" -le 1 ]
	# and every row still names them, as a lookup each would
	run psql_db "SELECT count(*), count(DISTINCT os_user), count(DISTINCT host), count(DISTINCT pid) FROM _strata_audit WHERE action = 'apply'"
	assert_output "10|1|1|1"
	run psql_db "SELECT DISTINCT os_user, host FROM _strata_audit"
	assert_output "$(id -un)|$(hostname)"
}

@test "apply syscalls: a plain log line, its time stamp with it, is one write" {
	command -v strace >/dev/null || skip "strace is not installed"
	new_db
	ten_migrations
	run traced -e trace=write -e signal=none -s 256 "$STRATA_BIN" run
	echo "$output"
	assert_success
	# stderr is no terminal here: the plain mode, a time stamp a line
	assert_line --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z Applying 10 t10 \.\.\.$'
	# each Applying line one write, its stamp in it; no stamp alone
	grep 'write(2, ' "$BATS_TEST_TMPDIR/trace" >"$BATS_TEST_TMPDIR/stderr"
	cat "$BATS_TEST_TMPDIR/stderr"
	run grep -c 'write(2, "[0-9T:.-]*Z Applying [0-9]* t[0-9]* \.\.\.\\n", ' \
		"$BATS_TEST_TMPDIR/stderr"
	assert_output 10
	run grep -c 'write(2, "[0-9T:.-]*Z ", ' "$BATS_TEST_TMPDIR/stderr"
	assert_output 0
}
