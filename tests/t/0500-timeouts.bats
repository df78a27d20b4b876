#!/usr/bin/env bats
# Production-safe execution: lock_timeout and statement_timeout for every
# migration, per-file directives, retries of lock timeouts with the blocker
# named.

load lib

settings_migration() {
	write_migration "$1" "${2:-}CREATE TABLE seen_$3 AS SELECT current_setting('lock_timeout') AS lock_timeout, current_setting('statement_timeout') AS statement_timeout, current_setting('application_name') AS app;"
}

# (--retries 0: the only attempt is the last, which waits the whole
# lock_timeout; the attempts before it probe, see below)
@test "timeouts: lock_timeout 2s by default, options and directives win" {
	settings_migration 1_default.sql "" a
	settings_migration 2_directive.sql $'-- strata:lock-timeout=750ms\n-- strata:statement-timeout=3s\n' b
	strata run --retries 0
	assert_equal "$(psql_db 'SELECT lock_timeout, statement_timeout, app FROM seen_a')" "2s|0|strata"
	assert_equal "$(psql_db 'SELECT lock_timeout, statement_timeout FROM seen_b')" "750ms|3s"
	settings_migration 3_option.sql "" c
	strata run --retries 0 --lock-timeout 5s --statement-timeout 1m
	assert_equal "$(psql_db 'SELECT lock_timeout, statement_timeout FROM seen_c')" "5s|1min"
	settings_migration 4_none.sql "" d
	strata run --lock-timeout 0
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen_d')" "0"
}

@test "timeouts: an attempt with a retry after it probes: 20 ms for its locks, never more than lock_timeout" {
	settings_migration 1_default.sql "" a
	settings_migration 2_short.sql $'-- strata:lock-timeout=10ms\n' b
	write_migration 3_nt.sql $'-- no-transaction\nCREATE TABLE seen_c AS SELECT current_setting(\'lock_timeout\') AS lock_timeout;'
	strata run
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen_a')" "20ms"
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen_b')" "10ms"
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen_c')" "20ms"
	# the whole run in one transaction is retried whole: it probes too
	settings_migration 4_single.sql "" d
	strata run --single-transaction
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen_d')" "20ms"
	# --lock-probe sets it, 0 turns it off; so does lock_probe in strata.conf
	settings_migration 5_probe.sql "" e
	strata run --lock-probe 50ms
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen_e')" "50ms"
	settings_migration 6_off.sql "" f
	strata run --lock-probe 0
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen_f')" "2s"
	printf '[strata]\nlock_probe = 0\n' >strata.conf
	settings_migration 7_conf.sql "" g
	strata run
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen_g')" "2s"
	run strata run --lock-probe soon
	assert_failure 2
	assert_output --partial "--lock-probe wants a duration"
}

@test "timeouts: a no-transaction migration gets them for its session, around a concurrent build" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	write_migration 2_idx.sql $'-- no-transaction\n-- strata:lock-timeout=1500ms\nCREATE TABLE seen AS SELECT current_setting(\'lock_timeout\') AS lock_timeout;\nCREATE INDEX CONCURRENTLY t_idx ON t (id);\nCREATE TABLE seen2 AS SELECT current_setting(\'lock_timeout\') AS lock_timeout;'
	strata run --retries 0
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen')" "1500ms"
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen2')" "1500ms"
}

@test "timeouts: an unknown or malformed directive is refused before anything runs" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql $'-- strata:lock-timout=5s\nCREATE TABLE b (id int);'
	run strata run
	assert_failure 4
	assert_output --partial "invalid directive '-- strata:lock-timout=5s'"
	assert_output --partial "at migrations/2_b.sql:1:"
	write_migration 2_b.sql $'-- strata:lock-timeout=soon\nCREATE TABLE b (id int);'
	run strata run
	assert_failure 4
	# PostgreSQL takes at most INT_MAX ms (24.8 days)
	write_migration 2_b.sql $'-- strata:statement-timeout=25d\nCREATE TABLE b (id int);'
	run strata run
	assert_failure 4
	assert_output --partial "invalid directive '-- strata:statement-timeout=25d'"
	assert_equal "$(psql_db "SELECT to_regclass('a') IS NULL")" t
}

@test "timeouts: a timeout PostgreSQL cannot take is a usage error" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run strata run --lock-timeout 1e300
	assert_failure 2
	run strata run --statement-timeout 25d
	assert_failure 2
	printf '[strata]\nlock_timeout = 1e10\n' >strata.conf
	run strata run
	assert_failure 2
	assert_equal "$(psql_db "SELECT to_regclass('a') IS NULL")" t
	strata run --lock-timeout 24d
}

@test "timeouts: strata.conf sets them for an environment" {
	printf '[strata]\nlock_timeout = 4s\nretries = 0\n' >strata.conf
	settings_migration 1_a.sql "" a
	strata run
	assert_equal "$(psql_db 'SELECT lock_timeout FROM seen_a')" "4s"
}

@test "retries: a lock timeout is retried, then exit 6 naming the blocker" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	hold_lock 30
	run strata run --lock-timeout 300ms --retries 2
	release_holder
	assert_failure 6
	assert_output --partial "migration 2 gave up after 3 attempts"
	assert_output --partial "canceling statement due to lock timeout"
	assert_output --partial "SQLSTATE 55P03"
	assert_output --partial "Blocked by pid $HOLDER_PID (user 'postgres', application 'long-report', idle in transaction"
	assert_output --partial "in a transaction for"
	assert_output --partial ": SELECT 'locked';"
	assert_output --partial "attempt 2 of 3"
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations WHERE version = 2")" 0
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE version = 2 AND outcome = 'failure' AND sqlstate = '55P03'")" 3
}

@test "retries: the migration succeeds once the blocker lets go" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	hold_lock 1.5
	run strata run --lock-timeout 400ms --retries 6
	wait "$HOLDER_JOB" || true
	assert_success
	assert_output --partial "canceling statement due to lock timeout (SQLSTATE 55P03): attempt 2"
	assert_line --partial "Applied 2 alter"
	assert_equal "$(psql_db "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'c'")" 1
}

@test "retries: revert retries a down that lost a lock race, then exit 6 with nothing reverted" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	write_migration 2_c.up.sql "ALTER TABLE t ADD COLUMN c int;"
	write_migration 2_c.down.sql "ALTER TABLE t DROP COLUMN c;"
	strata run
	hold_lock 30
	run strata revert --lock-timeout 300ms --retries 2
	release_holder
	assert_failure 6
	assert_output --partial "migration 2 gave up after 3 attempts"
	assert_output --partial "attempt 2 of 3"
	assert_output --partial "Blocked by pid $HOLDER_PID"
	assert_output --partial "Nothing of it was reverted."
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations WHERE version = 2")" 1
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE version = 2 AND action = 'revert' AND outcome = 'failure' AND sqlstate = '55P03'")" 3
}

@test "retries: revert succeeds once the blocker lets go" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	write_migration 2_c.up.sql "ALTER TABLE t ADD COLUMN c int;"
	write_migration 2_c.down.sql "ALTER TABLE t DROP COLUMN c;"
	strata run
	hold_lock 1.5
	run strata revert --lock-timeout 400ms --retries 6
	wait "$HOLDER_JOB" || true
	assert_success
	assert_output --partial "canceling statement due to lock timeout (SQLSTATE 55P03): attempt 2"
	assert_equal "$(psql_db "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'c'")" 0
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations WHERE version = 2")" 0
}

@test "blockers: a waiting statement reports who blocks it; --hide-queries leaves out the text" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	hold_lock 2
	run strata run --lock-timeout 0 --hide-queries
	wait "$HOLDER_JOB" || true
	assert_success
	assert_output --partial "waiting on pid $HOLDER_PID (user 'postgres', application 'long-report', idle in transaction, in a transaction for"
	refute_output --partial "SELECT 'locked'"
}

# A session holding a snapshot (REPEATABLE READ, idle in its transaction)
# for $1 seconds: CREATE INDEX CONCURRENTLY waits for it after it has
# built the index, so a lock timeout there leaves an invalid index.
hold_snapshot() {
	hold_session old-snapshot "$1" "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM log;"
}

index_migrations() {
	write_migration 1_t.sql "CREATE TABLE t (id int, x int); CREATE TABLE log (what text); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;"
	strata run
	write_migration 2_index.sql $'-- no-transaction\nINSERT INTO log VALUES (\'before\');\nCREATE INDEX CONCURRENTLY t_x_idx ON t (x);\nINSERT INTO log VALUES (\'after\');'
}

@test "retries: a no-transaction migration retries the statement that lost the race, after dropping the invalid index" {
	index_migrations
	hold_snapshot 2
	run strata run --concurrent-lock-timeout 300ms --retries 10
	wait "$HOLDER_JOB" || true
	assert_success
	assert_output --partial "statement 2: canceling statement due to lock timeout (SQLSTATE 55P03): attempt 2"
	assert_line --partial "Applied 2 index"
	# the statement before was not run again, the one after ran once
	assert_equal "$(psql_db "SELECT string_agg(what, ',' ORDER BY what) FROM log")" "after,before"
	assert_equal "$(psql_db "SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass")" 1
	assert_equal "$(psql_db "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass")" t
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" t
	run psql_db "SELECT count(*) > 0 FROM _strata_audit WHERE version = 2 AND outcome = 'failure' AND sqlstate = '55P03'"
	assert_output t
}

@test "retries: a no-transaction migration that never gets its lock: exit 6, the blocker named, no invalid index left" {
	index_migrations
	hold_snapshot 30
	run strata run --concurrent-lock-timeout 300ms --retries 1
	release_holder
	assert_failure 6
	assert_output --partial "migration 2 gave up after 2 attempts"
	assert_output --partial "pid $HOLDER_PID"
	assert_output --partial "strata repair --retry 2"
	# recorded as failed (the fence), the first statement applied once,
	# and the half-built index gone: a later run cannot trip on it
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" f
	assert_equal "$(psql_db "SELECT string_agg(what, ',') FROM log")" "before"
	assert_equal "$(psql_db "SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass")" 0
}

@test "retries: --single-transaction runs the whole run again after a lost lock race" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_other.sql "CREATE TABLE other (id int);"
	write_migration 3_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	hold_lock 1.5
	run strata run --single-transaction --lock-timeout 400ms --retries 8
	wait "$HOLDER_JOB" || true
	assert_success
	assert_output --partial "the whole run: canceling statement due to lock timeout (SQLSTATE 55P03): attempt 2"
	assert_equal "$(psql_db "SELECT string_agg(version::text, ',' ORDER BY version) FROM _sqlx_migrations")" "1,2,3"
	assert_equal "$(psql_db "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'c'")" 1
	run psql_db "SELECT count(*) > 0 FROM _strata_audit WHERE version = 3 AND outcome = 'failure' AND sqlstate = '55P03'"
	assert_output t
}

@test "retries: --single-transaction that never gets its lock: exit 6, nothing applied" {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	strata run
	write_migration 2_other.sql "CREATE TABLE other (id int);"
	write_migration 3_alter.sql "ALTER TABLE t ADD COLUMN c int;"
	hold_lock 30
	run strata run --single-transaction --lock-timeout 300ms --retries 1
	release_holder
	assert_failure 6
	assert_output --partial "the run gave up after 2 attempts"
	assert_output --partial "Blocked by pid $HOLDER_PID"
	assert_equal "$(psql_db "SELECT string_agg(version::text, ',') FROM _sqlx_migrations")" "1"
	assert_equal "$(psql_db "SELECT to_regclass('other') IS NULL")" t
}
