#!/usr/bin/env bats
# restore never destroys the only copy: every way a restore can fail leaves
# the target as it was and says so (a role without CREATEDB, a role that
# does not own the target, sessions connected to it, a restore that fails
# midway, a damaged backup); the audit trail survives a restore. Also the
# refusals and messages of backup around it: a missing SQLite file, a
# restore test without CREATEDB, a table locked by another session.

load lib

setup_file() {
	pg_start
	[[ -z ${STRATA_TEST_CLUSTER_SKIP:-} ]] || return 0
	# owns its database but may not create databases
	_pg_psql -d postgres -c "CREATE ROLE appowner LOGIN"
	# may create databases, owns nothing
	_pg_psql -d postgres -c "CREATE ROLE creator LOGIN CREATEDB"
}

# A libpq URL for database $1 as role $2.
url_as() {
	echo "postgresql:///$1?host=$STRATA_TEST_CLUSTER_SOCK&port=$STRATA_TEST_CLUSTER_PORT&user=$2"
}

# $TEST_DB owned by appowner, migrated and loaded by it.
owned_by_app() {
	psql_db "ALTER DATABASE \"$TEST_DB\" OWNER TO appowner; ALTER SCHEMA public OWNER TO appowner"
	export DATABASE_URL
	DATABASE_URL=$(url_as "$TEST_DB" appowner)
	write_migration 1_users.sql "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);"
	strata run >/dev/null
	psql_db "SET ROLE appowner; INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, 100) i"
}

# Rows of users, as one line.
users() {
	psql_db "SELECT count(*) || ' ' || coalesce(max(id), 0) FROM users"
}

no_side_databases() {
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname LIKE '%strata_restore%' OR datname LIKE '%strata_old%'")" 0
}

@test "restore --clean without CREATEDB: a failing restore leaves the database as it was, and says so" {
	owned_by_app
	strata backup >/dev/null
	file=$(ls backups/*.dump)
	# after the backup: a row, and a view that the restore cannot drop
	psql_db "SET ROLE appowner; INSERT INTO users VALUES (101, 'late'); CREATE VIEW later AS SELECT * FROM users"
	run strata restore "$file" --clean --yes
	assert_failure 1
	assert_output --partial "pg_restore failed"
	assert_output --partial "The database was not changed."
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname = '$TEST_DB'")" 1
	assert_equal "$(users)" "101 101"
	assert_equal "$(psql_db "SELECT count(*) FROM later")" 101
	no_side_databases

	# without the view: restored in place, in one transaction
	psql_db "DROP VIEW later"
	run strata -v restore "$file" --clean --yes
	assert_success
	assert_output --partial "in one transaction"
	assert_equal "$(users)" "100 100"
	no_side_databases
}

@test "restore --clean by a role that owns neither the database nor its tables: refused with the grant, nothing touched" {
	write_migration 1_users.sql "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);"
	strata run >/dev/null
	psql_db "INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, 100) i"
	strata backup >/dev/null
	file=$(ls backups/*.dump)
	psql_db "INSERT INTO users VALUES (101, 'late'); GRANT CONNECT ON DATABASE \"$TEST_DB\" TO appowner"
	run strata -d "$(url_as "$TEST_DB" appowner)" restore "$file" --clean --yes
	assert_failure 1
	assert_output --partial "cannot replace '$TEST_DB': role 'appowner' may not create databases and does not own everything in it"
	assert_output --partial "table public.users"
	assert_output --partial 'ALTER ROLE "appowner" CREATEDB;'
	assert_output --partial "ALTER DATABASE \"$TEST_DB\" OWNER TO \"appowner\";"
	assert_output --partial "The database was not changed."
	assert_equal "$(users)" "101 101"

	# CREATEDB without owning the database: no swap either
	psql_db "GRANT CONNECT ON DATABASE \"$TEST_DB\" TO creator"
	run strata -d "$(url_as "$TEST_DB" creator)" restore "$file" --clean --yes
	assert_failure 1
	refute_output --partial 'ALTER ROLE "creator" CREATEDB'
	assert_output --partial "ALTER DATABASE \"$TEST_DB\" OWNER TO \"creator\";"
	assert_equal "$(users)" "101 101"
	no_side_databases
}

@test "restore --clean with CREATEDB: a new database swapped in; connected sessions refuse it by name; --keep-old" {
	# creator owns the database and what is in it
	psql_db "ALTER DATABASE \"$TEST_DB\" OWNER TO creator; ALTER SCHEMA public OWNER TO creator"
	export DATABASE_URL
	DATABASE_URL=$(url_as "$TEST_DB" creator)
	write_migration 1_users.sql "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);"
	strata run >/dev/null
	psql_db "SET ROLE creator; INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, 100) i"
	strata backup >/dev/null
	file=$(ls backups/*.dump)
	psql_db "INSERT INTO users VALUES (101, 'late')"

	hold_session report-job 30 "BEGIN; SELECT count(*) FROM users;"
	run strata restore "$file" --clean --yes
	assert_failure 1
	assert_output --partial "refusing to replace '$TEST_DB': 1 other session is connected to it"
	assert_output --partial "pid $HOLDER_PID (user 'postgres', application 'report-job'"
	assert_output --partial "The database was not changed."
	release_holder
	assert_equal "$(users)" "101 101"
	no_side_databases

	run strata restore "$file" --clean --yes --keep-old
	assert_success
	assert_output --partial "The database as it was before is kept as '${TEST_DB}_strata_old_"
	assert_equal "$(users)" "100 100"
	kept=$(psql_db "SELECT datname FROM pg_database WHERE datname LIKE '${TEST_DB}_strata_old_%'")
	assert_equal "$(TEST_DB=$kept users)" "101 101"
	# the new database has the old one's owner
	assert_equal "$(psql_db "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$TEST_DB'")" creator
	psql_db "DROP DATABASE \"$kept\""

	# without --keep-old the old one is dropped once the new one is in place
	run strata restore "$file" --clean --yes
	assert_success
	assert_equal "$(users)" "100 100"
	no_side_databases
}

@test "restore --clean: a restore that fails into the new database, a damaged backup: the target as it was" {
	psql_db "CREATE ROLE ghost_$BATS_TEST_NUMBER"
	write_migration 1_users.sql "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);"
	strata run >/dev/null
	psql_db "INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, 100) i; CREATE TABLE ghostly (id int); ALTER TABLE ghostly OWNER TO ghost_$BATS_TEST_NUMBER"
	strata backup >/dev/null
	file=$(ls backups/*.dump)
	# the backup names a role that is gone: pg_restore fails midway
	psql_db "DROP TABLE ghostly; DROP ROLE ghost_$BATS_TEST_NUMBER; INSERT INTO users VALUES (101, 'late')"
	run strata restore "$file" --clean --yes
	assert_failure 1
	assert_output --partial "pg_restore failed"
	assert_output --partial "ghost_$BATS_TEST_NUMBER"
	assert_output --partial "The database was not changed."
	assert_equal "$(users)" "101 101"
	no_side_databases

	# a damaged file is refused before anything is touched
	flip_byte() {
		local off b
		off=$(($(stat -c %s "$1") / 2))
		b=$(od -An -tu1 -j "$off" -N 1 "$1" | tr -d ' ')
		printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$off" conv=notrunc status=none
	}
	flip_byte "$file"
	run strata restore "$file" --clean --yes
	assert_failure 4
	assert_output --partial "is damaged"
	assert_equal "$(users)" "101 101"

	# a new target that a restore fails into is not left behind
	run strata restore "$file" --into "${TEST_DB}_fresh" --yes
	assert_failure 4
	psql_db "CREATE ROLE ghost2_$BATS_TEST_NUMBER"
	psql_db "CREATE TABLE ghostly (id int); ALTER TABLE ghostly OWNER TO ghost2_$BATS_TEST_NUMBER"
	strata backup --dir b2 >/dev/null
	psql_db "DROP TABLE ghostly; DROP ROLE ghost2_$BATS_TEST_NUMBER"
	run strata restore "$(ls b2/*.dump)" --into "${TEST_DB}_fresh" --yes
	assert_failure 1
	assert_output --partial "The database was not created."
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname = '${TEST_DB}_fresh'")" 0
}

@test "restore --clean of another database's backup replaces the target" {
	write_migration 1_users.sql "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);"
	strata run >/dev/null
	psql_db "INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, 7) i"
	strata backup >/dev/null
	file=$(ls backups/*.dump)
	other=${TEST_DB}_other
	psql_db "CREATE DATABASE \"$other\""
	TEST_DB=$other psql_db "CREATE TABLE unrelated (x int)"
	# a history of its own, longer than the backup's
	mkdir other
	write_migration ../other/1_x.sql "CREATE TABLE x (id int);"
	write_migration ../other/2_y.sql "CREATE TABLE y (id int);"
	strata -d "$(pg_url "$other")" -s other run >/dev/null
	run strata -d "$(pg_url "$other")" restore "$file" --clean --yes
	assert_success
	assert_equal "$(TEST_DB=$other users)" "7 7"
	assert_equal "$(TEST_DB=$other psql_db "SELECT to_regclass('unrelated') IS NULL")" t
	# its trail is the backup's, not the replaced database's
	assert_equal "$(TEST_DB=$other psql_db "SELECT string_agg(action || ':' || coalesce(version::text, '-'), ',' ORDER BY id) FROM _strata_audit")" "apply:1,restore:1"
}

# The audit trail after a restore: what was recorded after the backup
# (a revert) is still there, ids keep growing, the restore's row names
# its command.
audit_survives() {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.up.sql "CREATE TABLE b (id int);"
	write_migration 2_b.down.sql "DROP TABLE b;"
	strata run >/dev/null
	strata backup --dir saved >/dev/null
	file=$(compgen -G 'saved/*.dump' || compgen -G 'saved/*.sqlite')
	strata revert >/dev/null
	before=$(query_db "SELECT max(id) FROM _strata_audit")
	run strata restore "$file" --clean --yes
	assert_success
	run strata --format json history
	assert_success
	assert_equal "$(jq -r '[.actions[].action] | join(",")' <<<"$output")" "apply,apply,revert,restore"
	assert_equal "$(jq -r '[.actions[].id] | map(tostring) | join(",")' <<<"$output")" "1,2,3,4"
	[[ $before == 3 ]]
	run jq -r '.actions[3].command' <<<"$output"
	assert_output --partial "restore $file --clean --yes"
	# the next row continues from there
	strata revert >/dev/null
	assert_equal "$(query_db "SELECT max(id) || ' ' || count(*) FROM _strata_audit")" "5 5"
}

@test "restore --clean keeps the audit rows written after the backup, ids growing, and records its command" {
	for_each_driver audit_survives
}

@test "restore --clean without CREATEDB keeps the audit rows written after the backup too" {
	owned_by_app
	write_migration 2_b.up.sql "CREATE TABLE b (id int);"
	write_migration 2_b.down.sql "DROP TABLE b;"
	strata run >/dev/null
	strata backup >/dev/null
	file=$(ls backups/*.dump)
	strata revert >/dev/null
	run strata restore "$file" --clean --yes
	assert_success
	run strata --format json history
	assert_equal "$(jq -r '[.actions[].action] | join(",")' <<<"$output")" "apply,apply,revert,restore"
	strata revert >/dev/null
	assert_equal "$(psql_db "SELECT max(id) || ' ' || count(*) FROM _strata_audit")" "5 5"
}

@test "sqlite restore: the target replaced only once the new copy is complete" {
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE a (id INTEGER);"
	strata run >/dev/null
	sqlite3 "$TEST_SQLITE" "INSERT INTO a VALUES (1)"
	strata backup >/dev/null
	file=$(ls backups/*.sqlite)
	sqlite3 "$TEST_SQLITE" "INSERT INTO a VALUES (2)"
	ino=$(stat -c %i "$TEST_SQLITE")
	chmod 640 "$TEST_SQLITE"
	run strata restore "$file" --clean --yes
	assert_success
	assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT group_concat(id) FROM a")" 1
	# a new file took the name (the old one was never written into)
	[[ $(stat -c %i "$TEST_SQLITE") != "$ino" ]]
	assert_equal "$(stat -c %a "$TEST_SQLITE")" 640
	run ls -A
	refute_output --partial "strata-restore"

	# a backup that cannot be read: the target as it was
	sqlite3 "$TEST_SQLITE" "INSERT INTO a VALUES (3)"
	printf 'not a database at all, but long enough to be read as one....' >bad.sqlite
	jq --arg s "$(sha256sum bad.sqlite | cut -d' ' -f1)" --argjson n "$(stat -c %s bad.sqlite)" \
		'.sha256 = $s | .size = $n | .file = "bad.sqlite"' "${file%.sqlite}.json" >bad.json
	run strata restore bad.sqlite --clean --yes
	assert_failure
	assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT group_concat(id) FROM a")" "1,3"

	# through a symbolic link: the file it names is replaced, the link stays
	mkdir real
	mv "$TEST_SQLITE" real/app.db
	ln -s real/app.db "$TEST_SQLITE"
	run strata restore "$file" --clean --yes
	assert_success
	[[ -L $TEST_SQLITE ]]
	assert_equal "$(sqlite3 real/app.db "SELECT group_concat(id) FROM a")" 1
}

@test "backup of an SQLite file that does not exist is refused as status refuses it, and creates nothing" {
	sqlite_db
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	run strata -d sqlite:missing.db status
	assert_failure 7
	status_out=$output
	run strata -d sqlite:missing.db backup
	assert_failure 7
	assert_output "$status_out"
	[[ ! -e missing.db ]]
	[[ ! -e backups || -z $(ls -A backups) ]]
}

@test "backup verify --restore-test without CREATEDB says why it needs it and the grant" {
	owned_by_app
	strata backup >/dev/null
	file=$(ls backups/*.dump)
	run strata backup verify "$file" --restore-test
	assert_failure 1
	assert_output --partial "restore test: a scratch database is created (and dropped afterwards): role 'appowner' may not create database 'strata_restore_test_"
	assert_output --partial 'ALTER ROLE "appowner" CREATEDB;'
	assert_output --partial "where the role may create databases"
}

@test "backup while a table is locked: bounded by --lock-wait, names the session in the way, exits 6" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run >/dev/null
	hold_lock 60
	SECONDS=0
	run strata backup --lock-wait 1s
	took=$SECONDS
	release_holder
	assert_failure 6
	assert_output --partial "pid $HOLDER_PID (user 'postgres', application 'long-report', idle in transaction"
	assert_output --partial "): SELECT 'locked';"
	assert_output --partial "a table stayed locked by another session"
	((took < 10))
	run ls -A backups
	assert_output ""
}

@test "restore --clean in place: a session holding a table fails it within --lock-wait, unchanged; a table the backup lacks is named" {
	owned_by_app
	strata backup >/dev/null
	file=$(ls backups/*.dump)
	psql_db "SET ROLE appowner; INSERT INTO users VALUES (101, 'late')"
	hold_session report-job 60 "BEGIN; SELECT count(*) FROM users;"
	SECONDS=0
	run strata restore "$file" --clean --yes --lock-wait 1s
	took=$SECONDS
	release_holder
	assert_failure 6
	assert_output --partial "1 other session is connected to '$TEST_DB': the restore waits for their locks"
	assert_output --partial "could not restore into '$TEST_DB': a table stayed locked by another session for"
	assert_output --partial "Blocked by pid $HOLDER_PID (user 'postgres', application 'report-job'"
	assert_output --partial "The database was not changed."
	((took < 15))
	assert_equal "$(users)" "101 101"

	psql_db "SET ROLE appowner; CREATE TABLE extra (id int)"
	run strata restore "$file" --clean --yes
	assert_success
	assert_output --partial "restored in place, but it differs from the backup: table 'public.extra' is in the restored database but not in the manifest"
	assert_equal "$(users)" "100 100"
}
