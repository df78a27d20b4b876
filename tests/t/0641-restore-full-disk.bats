#!/usr/bin/env bats
# A SQLite restore onto a full file system (a small tmpfs) fails with a
# clear error and leaves the target as it was: the new copy is written
# beside it and only renamed over it once complete. Needs root to mount;
# skipped otherwise.

load lib

setup_file() { :; }
teardown_file() { :; }

setup() {
	if [[ $(id -u) != 0 ]]; then
		skip "mounting a small tmpfs needs root (CI runs as root)"
	fi
	FULL=$BATS_TEST_TMPDIR/full
	mkdir -p "$FULL"
	if ! mount -t tmpfs -o size=128k,mode=0755 strata-test-full "$FULL"; then
		skip "could not mount a tmpfs (no CAP_SYS_ADMIN?)"
	fi
	sqlite_db
}

teardown() {
	if [[ -n ${FULL:-} ]] && mountpoint -q "$FULL"; then
		umount "$FULL"
	fi
}

# The rows of big, as one hash.
content() {
	sqlite3 "$FULL/app.db" "SELECT t FROM big ORDER BY rowid" | md5sum
}

@test "sqlite restore onto a full file system: clear error, the target as it was, no temporary file left" {
	export DATABASE_URL=sqlite:$FULL/app.db
	write_migration 1_big.sql "CREATE TABLE big (t TEXT);"
	strata run >/dev/null
	sqlite3 "$FULL/app.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO big SELECT hex(randomblob(32)) FROM n"
	strata backup --dir "$PWD/backups" >/dev/null
	file=$(ls "$PWD"/backups/*.sqlite)
	sqlite3 "$FULL/app.db" "INSERT INTO big VALUES ('after the backup')"
	before=$(content)
	# leave less room than the copy needs
	free=$(df -B1 --output=avail "$FULL" | tail -n 1)
	size=$(stat -c %s "$file")
	if ((free > size / 2)); then
		dd if=/dev/zero of="$FULL/filler" bs=1 count=$((free - size / 2)) status=none 2>/dev/null || true
	fi
	run strata restore "$file" --clean --yes
	assert_failure 1
	assert_output --partial "could not restore"
	assert_output --partial "The database was not changed."
	assert_equal "$(content)" "$before"
	assert_equal "$(sqlite3 "$FULL/app.db" "PRAGMA integrity_check")" ok
	run ls -A "$FULL"
	refute_output --partial "strata-restore"
}
