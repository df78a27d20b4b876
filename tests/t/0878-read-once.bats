#!/usr/bin/env bats
# What the start-up gate sends: status, check and a run with nothing to
# do read the history (and status the audit trail) once, whether the
# folder holds single files or up and down pairs, status and check in two
# round trips (which tables exist, then what exists), with no probe that
# fails; a folder of pairs whose database holds golang-migrate's table is
# still read in golang-migrate's layout. run, revert and mark-applied
# open two sessions, the lock's connected ahead, and lock in one
# statement, its session connected beside the work's; a run asks
# whether its tables exist once, ahead, when they do, creates both in
# one statement when they do not, and sends no DDL when they are there.

load lib

setup_file() {
	pg_start
}

teardown() {
	relay_stop
}

# history_reads CMD...: runs strata CMD with every statement logged; the
# number of reads of sqlx's history and of the audit trail's authors in
# $reads.
history_reads() {
	local from
	from=$(log_from)
	PGOPTIONS="-c log_statement=all" run strata "$@"
	reads="$(logged "$from" 'FROM "_sqlx_migrations" ORDER BY version') $(logged "$from" 'FROM "_strata_audit" WHERE version IS NOT NULL')"
}

@test "status, check and a run with nothing to do read the history once, in a folder of pairs" {
	new_db
	table_pairs 5
	run strata run
	assert_success
	history_reads status
	assert_success
	assert_output --partial "5 applied"
	assert_equal "$reads" "1 1"
	history_reads check
	assert_success
	assert_equal "$reads" "1 0"
	history_reads run
	assert_success
	assert_output --partial "up to date"
	assert_equal "$reads" "1 0"
}

@test "status reads the history once in a folder of single files" {
	new_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	run strata run
	assert_success
	history_reads status
	assert_success
	assert_equal "$reads" "1 1"
}

@test "a folder of pairs beside golang-migrate's table is still read in its layout" {
	new_db
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.up.sql "CREATE TABLE b (id int);"
	write_migration 2_b.down.sql "DROP TABLE b;"
	psql_db "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
INSERT INTO schema_migrations VALUES (1, false);
CREATE TABLE a (id int);"
	run strata status
	assert_success
	assert_line --regexp "^1 +applied"
	assert_line --regexp "^2 +pending"
	assert_line "1 applied, 1 pending."
	run strata check
	assert_failure 3
	# a run asks ahead too, and applies 2 in golang-migrate's table
	run strata run
	assert_success
	assert_output --partial "Applied 1 migration"
	assert_equal "$(psql_db 'SELECT version FROM schema_migrations')" 2
	assert_equal "$(psql_db "SELECT to_regclass('_sqlx_migrations') IS NULL")" t
}

# sessions_opened: the sessions (server pids) that logged a statement
# since byte $1 of the server's log
sessions_opened() {
	tail -c +"$1" "$STRATA_TEST_CLUSTER_DIR/server.log" |
		grep -E 'LOG:  (statement|execute [^:]*):' |
		sed -nE 's/^[^[]*\[([0-9]+)\].*/\1/p' | sort -u | wc -l
}

@test "run, revert and mark-applied open the lock's session once, connected ahead of the lock, and lock in one statement" {
	new_db
	table_pairs 3
	local from cmd
	for cmd in run "revert --all" "run --target-version 2" "mark-applied 3"; do
		from=$(log_from)
		# shellcheck disable=SC2086
		PGOPTIONS="-c log_statement=all" run strata $cmd
		assert_success
		# the work's session and the lock's, nothing more; the lock
		# and the session's own key taken in one statement
		assert_equal "$(sessions_opened "$from")" 2
		assert_equal "$(logged "$from" pg_try_advisory_lock)" 1
	done
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 3
	# and a run that has nothing to do takes the lock as before
	local key
	key=$(lock_key "$TEST_DB")
	psql -XAtq -d "$TEST_DB" -c "SET application_name = 'deployer'" -c "SELECT pg_advisory_lock($key)" -c "SELECT pg_sleep(30)" >/dev/null &
	local holder=$!
	await_sql "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l USING (pid) WHERE a.application_name = 'deployer' AND l.locktype = 'advisory' AND l.granted" >/dev/null
	run strata run --lock-wait 1s
	kill "$holder"
	wait "$holder" || true
	assert_failure 6
	assert_output --partial "deployer"
}

@test "a run asks once whether its tables exist when they do, and again under the lock when the history is missing" {
	new_db
	table_pairs 3
	local from cmd
	# a fresh database: asked ahead, and again under the lock, where
	# another run may have made the table meanwhile
	from=$(log_from)
	PGOPTIONS="-c log_statement=all" run strata run --target-version 2
	assert_success
	assert_equal "$(logged "$from" 'to_regclass($1) IS NOT NULL')" 2
	# the table there: the answer given ahead (with golang-migrate's
	# table, in one statement) stands under the lock
	for cmd in run "run --target-version 2" "revert"; do
		from=$(log_from)
		# shellcheck disable=SC2086
		PGOPTIONS="-c log_statement=all" run strata $cmd
		assert_success
		assert_equal "$(logged "$from" 'to_regclass($1) IS NOT NULL')" 1
	done
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 2
}

@test "a run creates its two tables in one statement, and sends no DDL and no question of the trail once they are there" {
	new_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	local from
	# fresh: one statement (its second CREATE on a line of its own in
	# the log), one commit, and version_text not asked of a trail it made
	from=$(log_from)
	PGOPTIONS="-c log_statement=all" run strata run
	assert_success
	assert_equal "$(logged "$from" 'CREATE TABLE IF NOT EXISTS')" 1
	assert_equal "$(logged "$from" 'SELECT count(*) FROM pg_catalog.pg_attribute')" 0
	# both there, seen ahead: nothing sent for them under the lock
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	from=$(log_from)
	PGOPTIONS="-c log_statement=all" run strata run
	assert_success
	assert_output --partial "Applied 1 migration"
	assert_equal "$(logged "$from" 'CREATE TABLE IF NOT EXISTS')" 0
	assert_equal "$(logged "$from" 'SELECT count(*) FROM pg_catalog.pg_attribute')" 0
	assert_equal "$(psql_db "SELECT string_agg(version_text, ',' ORDER BY id) FROM _strata_audit WHERE action = 'apply'")" "1,2"
	# a trail an older strata made, without version_text: the run adds it
	psql_db "ALTER TABLE _strata_audit DROP COLUMN version_text"
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	run strata run
	assert_success
	assert_equal "$(psql_db "SELECT version_text FROM _strata_audit WHERE action = 'apply' AND version = 3")" 3
}

@test "run connects the lock's session beside the work's, not after it" {
	# a round trip of 600 ms: connected after the work's session, the
	# lock's would start at least that much later
	relay_start 600
	new_db
	local url="postgresql://postgres@127.0.0.1:$RELAY_PORT/$TEST_DB?sslmode=disable&gssencmode=disable"
	write_migration 1_a.sql "SELECT pg_sleep(2);"
	strata -d "$url" run >/dev/null 2>&1 &
	local runner=$! work apart
	work=$(await_sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(2)%' AND state = 'active' AND pid <> pg_backend_pid()")
	apart=$(psql_db "SELECT round(abs(extract(epoch FROM l.backend_start - w.backend_start)) * 1000) FROM pg_stat_activity w, pg_stat_activity l WHERE w.pid = $work AND l.datname = w.datname AND l.pid <> w.pid AND l.pid <> pg_backend_pid() AND l.application_name LIKE 'strata%' AND l.application_name <> 'strata monitor'")
	wait "$runner"
	echo "# the two sessions started $apart ms apart" >&3
	assert [ -n "$apart" ]
	assert [ "$apart" -lt 300 ]
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 1
	# on the Unix socket the session made beside is the one kept: two
	# connections, none made and thrown away
	# (LeakSanitizer, in an ASan build, cannot run traced)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		run strace -f -qq -e trace=connect -o "$BATS_TEST_TMPDIR/connects" "$STRATA_BIN" run
	assert_success
	assert_equal "$(grep -c "s.PGSQL.$PGPORT\"" "$BATS_TEST_TMPDIR/connects")" 2
}

# errors_logged: the ERROR lines of the server's log since byte $1
errors_logged() {
	tail -c +"$1" "$STRATA_TEST_CLUSTER_DIR/server.log" | grep -c 'ERROR:' || true
}

@test "status asks in one statement whether the history and the trail exist, and probes nothing that fails" {
	new_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	run strata run
	assert_success
	local from
	for trail in kept dropped; do
		[[ $trail == dropped ]] && psql_db "DROP TABLE _strata_audit"
		from=$(log_from)
		PGOPTIONS="-c log_statement=all" run strata status
		assert_success
		assert_line "2 applied, 0 pending."
		assert_equal "$(logged "$from" 'WHERE 1 = 0')" 0
		assert_equal "$(logged "$from" 'to_regclass')" 1
		assert_equal "$(logged "$from" 'to_regclass($2)')" 1
		# a missing trail is no error, on the server either
		assert_equal "$(errors_logged "$from")" 0
	done
	# without the trail the BY column is empty
	assert_line --regexp "^1 +applied .* - +a$"
}

# sql_on_db SQL: SQL on the test's database, PostgreSQL's or SQLite's
sql_on_db() {
	if [[ $STRATA_TEST_DRIVER == sqlite ]]; then
		sqlite3 "$TEST_SQLITE" "$1"
	else
		psql_db "$1" >/dev/null
	fi
}

trail_says_who() {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run strata run
	assert_success
	run strata status
	assert_success
	assert_line --regexp "^1 +applied .* [^ ]+@[^ ]+ +a$"
	sql_on_db "ALTER TABLE _strata_audit RENAME COLUMN host TO place"
	run strata status
	assert_success
	assert_line --regexp "^1 +applied .* - +a$"
	sql_on_db "DROP TABLE _strata_audit"
	run strata status
	assert_success
	assert_line --regexp "^1 +applied .* - +a$"
	assert_line "1 applied, 0 pending."
}

@test "status shows who applied each from the trail, and BY empty when the trail is unreadable or missing" {
	for_each_driver trail_says_who
}

@test "status and check say what is wrong with a history they cannot read" {
	new_db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	run strata run
	assert_success
	psql_db "ALTER TABLE _sqlx_migrations ALTER description DROP NOT NULL;
UPDATE _sqlx_migrations SET description = NULL WHERE version = 2"
	local cmd
	for cmd in status check; do
		run strata "$cmd"
		assert_failure
		assert_output --partial 'unexpected value in history table "_sqlx_migrations" (row 2, column 2)'
	done
	# a value the server cannot cast: its error, the trail's read skipped
	psql_db "ALTER TABLE _sqlx_migrations ALTER execution_time TYPE text;
UPDATE _sqlx_migrations SET description = 'b', execution_time = 'x' WHERE version = 2"
	for cmd in status check; do
		run strata "$cmd"
		assert_failure
		assert_output --partial 'invalid input syntax for type bigint: "x"'
	done
}

# relay_busiest: once every connection through the relay is closed, the
# round trips of the busiest one
relay_busiest() {
	relay_settle
	awk '!/^open/ { if ($1 > m) m = $1 } END { print m + 0 }' "$RELAY_STATS"
}

# gate_reads_in_two URL: status and check succeed on URL, through the
# relay, the busiest connection taking the start-up, whether the tables
# exist, the reads, and the Terminate the relay counts as one more: 4
gate_reads_in_two() {
	local cmd
	for cmd in status check; do
		: >"$RELAY_STATS"
		run strata -d "$1" "$cmd"
		assert_success
		assert [ "$(relay_busiest)" -le 4 ]
	done
}

@test "status and check take two round trips to read the database, whatever it holds" {
	relay_start 0
	new_db
	local url="postgresql://postgres@127.0.0.1:$RELAY_PORT/$TEST_DB?sslmode=disable&gssencmode=disable"
	local cmd
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	# nothing applied: no history table, no trail
	for cmd in status check; do
		: >"$RELAY_STATS"
		run strata -d "$url" "$cmd"
		assert_output --partial "pending"
		# the start-up, whether the tables exist, the reads, and the
		# Terminate the relay counts as one more: 4
		assert [ "$(relay_busiest)" -le 4 ]
	done
	run strata run
	assert_success
	gate_reads_in_two "$url"
	# a folder of pairs, which golang-migrate could have written: whether
	# its table is there is asked with the others
	rm migrations/*
	new_db
	url="postgresql://postgres@127.0.0.1:$RELAY_PORT/$TEST_DB?sslmode=disable&gssencmode=disable"
	table_pairs 3
	run strata run
	assert_success
	gate_reads_in_two "$url"
}

@test "run, revert, repair, mark-applied and drift say a broken source before a database they cannot reach, and create no SQLite file for it" {
	write_migration 1_ok.sql "SELECT 1;"
	write_migration not_a_migration.sql "SELECT 2;"
	local cmd
	for cmd in run "revert --all" "repair --mark-applied 1" "mark-applied 1" drift; do
		# shellcheck disable=SC2086
		run strata -d "postgres://nobody@127.0.0.1:1/none?connect_timeout=2" $cmd
		assert_failure 4
		assert_output --partial "not_a_migration.sql"
		refute_output --partial "could not connect"
		# shellcheck disable=SC2086
		run strata -d "sqlite:$BATS_TEST_TMPDIR/new.db" $cmd
		assert_failure 4
		assert_output --partial "not_a_migration.sql"
		assert [ ! -e "$BATS_TEST_TMPDIR/new.db" ]
	done
}
