#!/usr/bin/env bats
# backup --format custom|plain|directory (--jobs N for directory): the
# manifest records the format, list shows it, verify and restore handle
# each (restore --latest across formats), a directory backup is hashed
# file by file and pruned whole. SQLite backups stay database files.

load lib

setup_file() {
	pg_start
}

# users with $1 rows
fill() {
	psql_db "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);
		INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, $1) i;"
}

# A backup taken at $1 (STRATA_NOW) with further arguments; its file in
# $BACKUP.
backup_at() {
	local when=$1
	shift
	BACKUP=$(STRATA_NOW=$when strata --format json backup "$@" | jq -r .file)
	[[ -e $BACKUP ]] || fail "no backup: $BACKUP"
}

users_in() {
	_pg_psql -d "$1" -c "SELECT count(*) FROM users"
}

@test "backup --format plain: SQL text with a manifest that says so; verified, listed, restored through psql" {
	fill 50
	backup_at 2025-01-01T00:00:00Z --format plain
	assert_equal "$BACKUP" "backups/${TEST_DB}-20250101T000000Z-full.sql"
	assert_equal "$(jq -r .format "${BACKUP%.sql}.json")" plain
	grep -q '^-- PostgreSQL database dump complete' "$BACKUP"
	run strata backup list
	assert_line --index 1 --regexp "^2025-01-01T00:00:00Z +full +plain +"
	run strata backup verify "$BACKUP" --restore-test
	assert_success
	run strata restore "$BACKUP" --into "${TEST_DB}_copy"
	assert_success
	assert_equal "$(users_in "${TEST_DB}_copy")" 50

	# a damaged plain backup is refused before anything runs
	sed -i 's/^-- PostgreSQL database dump complete/-- cut/' "$BACKUP"
	run strata restore "$BACKUP" --into "${TEST_DB}_x"
	assert_failure 4
	assert_output --partial "is damaged"
}

@test "backup --format directory --jobs 2: pg_dump -j into NAME.dir, hashed file by file, restored with pg_restore -j, pruned whole" {
	fill 300
	psql_db "CREATE TABLE other (id int); INSERT INTO other SELECT generate_series(1, 20)"
	backup_at 2025-01-01T00:00:00Z --format directory --jobs 2
	assert_equal "$BACKUP" "backups/${TEST_DB}-20250101T000000Z-full.dir"
	[[ -d $BACKUP && -f $BACKUP/toc.dat ]]
	assert_equal "$(stat -c %a "$BACKUP")" 700
	assert_equal "$(jq -r .format "${BACKUP%.dir}.json")" directory
	run strata backup verify "$BACKUP"
	assert_success

	run strata --jobs 2 restore "$BACKUP" --into "${TEST_DB}_copy"
	assert_success
	assert_equal "$(users_in "${TEST_DB}_copy")" 300
	# and over the database itself, swapped in
	psql_db "DELETE FROM users WHERE id > 10"
	run strata restore "$BACKUP" --clean --yes
	assert_success
	assert_equal "$(users_in "$TEST_DB")" 300

	# one file of it changed: the backup no longer verifies
	data=$(ls "$BACKUP"/*.dat.gz | head -1)
	printf 'x' >>"$data"
	run strata backup verify "$BACKUP"
	assert_failure 4
	assert_output --partial "is damaged"

	# pruned whole: the directory goes with its manifest
	backup_at 2025-01-03T00:00:00Z
	run env STRATA_NOW=2025-01-03T00:00:00Z strata backup prune --keep-daily 1 --keep-weekly 0 --keep-monthly 0
	assert_success
	[[ ! -e backups/${TEST_DB}-20250101T000000Z-full.dir ]]
	[[ ! -e backups/${TEST_DB}-20250101T000000Z-full.json ]]
	assert_equal "$(ls backups)" "$(printf '%s\n' "${TEST_DB}-20250103T000000Z-full.dump" "${TEST_DB}-20250103T000000Z-full.json")"
}

@test "restore --latest chooses across formats" {
	fill 5
	backup_at 2025-01-01T00:00:00Z
	psql_db "INSERT INTO users VALUES (6, 'x')"
	backup_at 2025-01-02T00:00:00Z --format directory
	psql_db "INSERT INTO users VALUES (7, 'y')"
	backup_at 2025-01-03T00:00:00Z --format plain
	psql_db "INSERT INTO users VALUES (8, 'z')"
	run strata restore --latest --clean --yes
	assert_success
	assert_output --partial "Chose backups/${TEST_DB}-20250103T000000Z-full.sql"
	assert_equal "$(users_in "$TEST_DB")" 7
	run strata restore --before 2025-01-02T12:00:00Z --clean --yes
	assert_success
	assert_output --partial "-20250102T000000Z-full.dir"
	assert_equal "$(users_in "$TEST_DB")" 6
}

@test "backup --format: bad values, --jobs without directory, and SQLite's formats are usage errors" {
	run strata backup --format tar
	assert_failure 2
	assert_output --partial "--format wants 'text' or 'json' (or a backup's: custom, plain or directory), not 'tar'"
	run strata backup --jobs 4
	assert_failure 2
	assert_output --partial "--jobs goes with --format directory"
	run strata status --format plain
	assert_failure 2

	sqlite_db
	sqlite3 "$TEST_SQLITE" "CREATE TABLE t (id int)"
	run strata backup --format plain
	assert_failure 2
	assert_output --partial "a plain backup of sqlite has no meaning"
	[[ ! -e backups ]] || assert_equal "$(ls -A backups)" ""
	# the output format still works after the command name
	run strata backup --format json
	assert_success
	assert_equal "$(jq -r .format <<<"$output")" custom
}
