#!/usr/bin/env bats
# Concurrent index builds: a failed CREATE INDEX CONCURRENTLY leaves no
# invalid index behind, a no-transaction migration is never recorded as
# applied while an index it names is invalid, and statements with
# CONCURRENTLY wait for old transactions without lock_timeout.

load lib

# ISO 8601 UTC with milliseconds, as each line in a log starts
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

big_with_duplicates() {
	write_migration 1_big.sql "CREATE TABLE big (id int, n int); INSERT INTO big SELECT g, g FROM generate_series(1, 1000) g; INSERT INTO big VALUES (1001, 7);"
	strata run
}

# The invalid indexes of the database, "schema.name", one per line.
invalid_indexes() {
	psql_db "SELECT n.nspname || '.' || c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid ORDER BY 1"
}

@test "concurrent index: a unique build that fails on duplicates leaves no invalid index, and repair --retry builds it for real" {
	big_with_duplicates
	write_migration 2_big_n_uniq.sql $'-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS big_n_uniq ON big (n);'
	run strata run
	assert_failure 1
	assert_output --partial "could not create unique index \"big_n_uniq\""
	assert_output --partial "SQLSTATE 23505"
	assert_output --partial "The invalid index public.big_n_uniq it left was dropped (DROP INDEX CONCURRENTLY)."
	assert_equal "$(invalid_indexes)" ""
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" f
	# the duplicates fixed by hand, the documented way out
	psql_db "DELETE FROM big WHERE id = 1001"
	strata repair --retry 2
	run strata run
	assert_success
	assert_line --partial "Applied 2 big n uniq"
	assert_equal "$(psql_db "SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_n_uniq'::regclass")" t
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" t
	# it enforces what it says
	run psql_db "INSERT INTO big VALUES (2000, 7)"
	assert_failure
	assert_output --partial "duplicate key value violates unique constraint \"big_n_uniq\""
}

@test "concurrent index: an invalid index left by an earlier build (a killed run) is dropped and built for real, IF NOT EXISTS or not" {
	big_with_duplicates
	# a build that failed outside strata's hands leaves its invalid index
	run psql_db "CREATE UNIQUE INDEX CONCURRENTLY big_n_uniq ON big (n)"
	assert_failure
	assert_equal "$(invalid_indexes)" "public.big_n_uniq"
	psql_db "DELETE FROM big WHERE id = 1001"
	write_migration 2_big_n_uniq.sql $'-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS big_n_uniq ON big (n);'
	run strata run
	assert_success
	assert_output --partial "dropped the invalid index public.big_n_uniq, left by a CREATE INDEX CONCURRENTLY that failed, to build it again"
	assert_equal "$(invalid_indexes)" ""
	assert_equal "$(psql_db "SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_n_uniq'::regclass")" t
}

@test "concurrent index: the index is found in the table's schema, not by its name on the search_path" {
	psql_db "CREATE SCHEMA other; CREATE TABLE other.big (n int); INSERT INTO other.big VALUES (1), (1); CREATE TABLE big (n int); CREATE UNIQUE INDEX big_n_uniq ON big (n)"
	write_migration 1_other_uniq.sql $'-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS big_n_uniq ON other.big (n);'
	run strata run
	assert_failure 1
	assert_output --partial "The invalid index other.big_n_uniq it left was dropped"
	assert_equal "$(invalid_indexes)" ""
	# public's valid index of the same name was never touched
	assert_equal "$(psql_db "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.big_n_uniq'::regclass")" t
}

@test "concurrent index: a migration is not recorded as applied while an index it rebuilds is invalid" {
	big_with_duplicates
	run psql_db "CREATE UNIQUE INDEX CONCURRENTLY big_n_uniq ON big (n)"
	assert_failure
	# REINDEX TABLE CONCURRENTLY skips an invalid index with a warning
	write_migration 2_reindex.sql $'-- no-transaction\nREINDEX TABLE CONCURRENTLY big;'
	run strata run
	assert_failure 1
	assert_output --partial "index public.big_n_uniq is invalid after migration 2 ran"
	assert_output --partial "migrations/2_reindex.sql:2"
	assert_output --partial "hint: Drop it (DROP INDEX CONCURRENTLY public.big_n_uniq;), then run 'strata repair --retry 2' and run again to build it."
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" f
	run strata check
	assert_failure 4
}

@test "concurrent index: a build waits out an unrelated old transaction longer than lock_timeout, in one attempt, naming it" {
	write_migration 1_t.sql "CREATE TABLE t (id int); CREATE TABLE other (id int); INSERT INTO t SELECT generate_series(1, 1000);"
	strata run
	write_migration 2_t_id.sql $'-- no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);'
	# a snapshot (a report, pg_dump) on another table, open 3 s longer
	# than lock_timeout
	hold_session old-report 4 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other;"
	run strata run --lock-timeout 1s --progress-interval 300ms
	wait "$HOLDER_JOB" || true
	assert_success
	assert_line --partial "Applied 2 t id"
	refute_output --partial "attempt 2"
	refute_output --partial "55P03"
	assert_output --partial "strata: waiting on pid $HOLDER_PID (user 'postgres', application 'old-report', idle in transaction"
	assert_line --regexp "^$TS Still applying 2 t id: [0-9.]+ s, statement 1/1, waiting for old snapshots, waiting on pid $HOLDER_PID \(postgres, idle in transaction, for [0-9.]+ s\)$"
	assert_equal "$(psql_db "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass")" t
	assert_equal "$(psql_db "SELECT count(*) FROM _strata_audit WHERE version = 2 AND outcome = 'failure'")" 0
}

@test "concurrent index: --concurrent-lock-timeout and the directive bound the wait; other statements keep lock_timeout" {
	write_migration 1_t.sql "CREATE TABLE t (id int); CREATE TABLE other (id int);"
	strata run
	write_migration 2_t_id.sql $'-- no-transaction\nCREATE TABLE seen AS SELECT current_setting(\'lock_timeout\') AS lock_timeout;\nCREATE INDEX CONCURRENTLY t_id ON t (id);'
	hold_session old-report 30 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other;"
	run strata run --lock-timeout 1500ms --concurrent-lock-timeout 300ms --retries 0
	release_holder
	assert_failure 6
	assert_output --partial "canceling statement due to lock timeout"
	assert_output --partial "pid $HOLDER_PID"
	assert_equal "$(psql_db "SELECT lock_timeout FROM seen")" "1500ms"
	assert_equal "$(psql_db "SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass")" 0
	# a file's directive wins over the option
	write_migration 3_t_id2.sql $'-- no-transaction\n-- strata:concurrent-lock-timeout=200ms\nCREATE INDEX CONCURRENTLY t_id2 ON t (id);'
	psql_db "DELETE FROM _sqlx_migrations WHERE version = 2"
	rm migrations/2_t_id.sql
	hold_session old-report 30 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other;"
	run strata run --concurrent-lock-timeout 1h --retries 0
	release_holder
	assert_failure 6
	assert_output --partial "canceling statement due to lock timeout"
}

@test "concurrent index: concurrent_lock_timeout in strata.conf bounds the wait" {
	write_migration 1_t.sql "CREATE TABLE t (id int); CREATE TABLE other (id int);"
	strata run
	write_migration 2_t_id.sql $'-- no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);'
	printf '[strata]\nenvironment = ci\n\n[environment.ci]\nconcurrent_lock_timeout = 300ms\n' >strata.conf
	hold_session old-report 30 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other;"
	run strata run --retries 0
	release_holder
	assert_failure 6
	assert_output --partial "canceling statement due to lock timeout"
	printf '[strata]\nenvironment = ci\n\n[environment.ci]\nconcurrent_lock_timeout = soon\n' >strata.conf
	run strata run
	assert_failure 2
	assert_output --partial "concurrent_lock_timeout in strata.conf line 5 wants a duration such as 10m (0: none), not 'soon'"
}
