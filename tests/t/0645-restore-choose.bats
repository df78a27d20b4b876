#!/usr/bin/env bats
# restore --latest, --before TIME, --tag TAG: the newest complete backup
# of this database and kind that fits, chosen by the manifests of the
# backup directory; the choice is named before anything is restored, and
# no fitting backup is an error that names what was asked and where.

load lib

setup_file() {
	pg_start
}

# A backup taken at $1 (STRATA_NOW) with further arguments; its file in
# $BACKUP.
backup_at() {
	local when=$1
	shift
	BACKUP=$(STRATA_NOW=$when strata --format json backup "$@" | jq -r .file)
	[[ -f $BACKUP ]] || fail "no backup file: $BACKUP"
}

# users' row count, on either driver
count_users() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		psql_db "SELECT count(*) FROM users"
	else
		sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM users"
	fi
}

add_user() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		psql_db "INSERT INTO users VALUES ($1)"
	else
		sqlite3 "$TEST_SQLITE" "INSERT INTO users VALUES ($1)"
	fi
}

choices() {
	write_migration 1_users.sql "CREATE TABLE users (id int PRIMARY KEY);"
	strata -q run
	add_user 1
	backup_at 2025-01-01T00:00:00Z --tag nightly
	first=$BACKUP
	add_user 2
	backup_at 2025-01-02T00:00:00Z
	second=$BACKUP
	add_user 3
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		backup_at 2025-01-03T00:00:00Z --kind schema
		schema=$BACKUP
	fi

	# the newest full backup of this database, named before it restores
	run strata restore --latest --clean --yes
	assert_success
	assert_output --partial "Chose $second (taken 2025-01-02T00:00:00Z)."
	assert_equal "$(count_users)" 2

	run strata restore --tag nightly --clean --yes
	assert_success
	assert_output --partial "Chose $first (taken 2025-01-01T00:00:00Z, tagged 'nightly')."
	assert_equal "$(count_users)" 1

	run strata restore --before 2025-01-01T12:00:00Z --clean --yes
	assert_success
	assert_output --partial "Chose $first"

	run strata restore --before 2024-12-31T00:00:00Z --clean --yes
	assert_failure 1
	assert_output --partial "no full backup of '"
	assert_output --partial "' taken before 2024-12-31T00:00:00Z in backups"
	assert_output --partial "strata backup list --dir 'backups' shows the backups there"
	assert_equal "$(count_users)" 1

	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		run strata restore --latest --kind schema --into schema_copy --yes
		assert_success
		assert_output --partial "Chose $schema"
	fi

	# a manifest whose backup file is gone is passed over
	rm "$second"
	run strata restore --latest --clean --yes
	assert_success
	assert_output --partial "Chose $first"
}

@test "restore --latest, --tag, --before choose the newest fitting backup of this database and kind" {
	for_each_driver choices
}

@test "restore --latest: another database's backups are not this one's" {
	new_db
	write_migration 1_users.sql "CREATE TABLE users (id int PRIMARY KEY);"
	strata -q run
	backup_at 2025-01-01T00:00:00Z
	mine=$BACKUP
	local mine_url=$DATABASE_URL here=$PWD
	# a newer backup of another database in the same directory
	new_db
	cd "$here"
	strata -q run
	backup_at 2025-02-01T00:00:00Z
	[[ $BACKUP != "$mine" ]] || fail "one file for two backups"
	DATABASE_URL=$mine_url run strata restore --latest --clean --yes
	assert_success
	assert_output --partial "Chose $mine"
}

@test "restore: a file or a choice, not both; --kind and --dir only with a choice; bad times and kinds" {
	sqlite_db
	run strata restore backups/x.sqlite --latest
	assert_failure 2
	assert_output --partial "a backup file or --latest, --before, --tag: not both"
	run strata restore --kind full backups/x.sqlite
	assert_failure 2
	assert_output --partial "--kind and --dir choose among backups"
	run strata restore
	assert_failure 2
	assert_output --partial "which backup? Give its file, or --latest"
	run strata restore --before yesterday
	assert_failure 2
	assert_output --partial "--before wants a time as YYYY-MM-DDTHH:MM:SSZ or Unix seconds, not 'yesterday'"
	run strata restore --latest --kind everything
	assert_failure 2
	assert_output --partial "--kind wants full, schema or data, not 'everything'"
	run strata restore --latest
	assert_failure 1
	assert_output --partial "no full backup of 'sqlite:"
}
