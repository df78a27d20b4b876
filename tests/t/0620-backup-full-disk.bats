#!/usr/bin/env bats
# A backup into a full file system (a small tmpfs) fails with a clear
# error, leaves nothing that looks like a backup, and `run --backup`
# applies nothing. Needs root to mount; skipped otherwise.

load lib

setup() {
	if [[ $(id -u) != 0 ]]; then
		skip "mounting a small tmpfs needs root (CI runs as root)"
	fi
	FULL=$BATS_TEST_TMPDIR/full
	mkdir -p "$FULL"
	if ! mount -t tmpfs -o size=64k,mode=0755 strata-test-full "$FULL"; then
		skip "could not mount a tmpfs (no CAP_SYS_ADMIN?)"
	fi
}

teardown() {
	if [[ -n ${FULL:-} ]] && mountpoint -q "$FULL"; then
		umount "$FULL"
	fi
}

# More than 64 KiB however it is compressed.
big_data() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		psql_db "INSERT INTO big SELECT md5(random()::text) || md5(random()::text) FROM generate_series(1, 4000)"
	else
		sqlite3 "$TEST_SQLITE" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) INSERT INTO big SELECT hex(randomblob(32)) FROM n"
	fi
}

# pg_dump's own words, or SQLite's
no_space() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_output --partial "strata: error: pg_dump failed: could not write to output file: No space left on device"
	else
		assert_output --partial "strata: error: could not back up the database: database or disk is full"
	fi
}

full_disk() {
	write_migration 1_big.sql "CREATE TABLE big (t TEXT);"
	strata run >/dev/null
	big_data
	run strata backup --dir "$FULL/backups"
	assert_failure 1
	no_space
	run ls -A "$FULL/backups"
	assert_success
	assert_output ""

	# run --backup: the backup fails, nothing is applied
	write_migration 2_next.sql "CREATE TABLE next (id INTEGER);"
	printf '[strata]\nbackup = true\nbackup_dir = %s\n' "$FULL/backups" >strata.conf
	run strata run
	assert_failure 1
	no_space
	assert_output --partial "nothing was applied: the pre-migration backup failed"
	refute_output --partial "Applied"
	run ls -A "$FULL/backups"
	assert_output ""
	assert_equal "$(query_db 'SELECT count(*) FROM _sqlx_migrations')" 1
	run strata status
	assert_output --partial "1 applied, 1 pending"
}

@test "backup into a full file system: clear error, no file, run --backup applies nothing" {
	for_each_driver full_disk
}
