#!/usr/bin/env bats
# Statements as PostgreSQL's parser sees them: bodies, strings, comments,
# statements that cannot run in a transaction, and errors mapped back to
# file, line, statement and SQLSTATE.

load lib

@test "statements: dollar-quoted bodies and ';' inside strings and comments" {
	write_migration 1_functions.sql <<'SQL'
-- a comment; with a semicolon
CREATE TABLE notes (id int, body text);
/* block; comment /* nested; */ still; */
CREATE FUNCTION add_note(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO notes VALUES (1, t || ';');
END;
$$;
CREATE FUNCTION tagged() RETURNS text LANGUAGE sql AS $body$ SELECT 'a;b'::text; $body$;
INSERT INTO notes VALUES (2, 'semi;colon'), (3, E'esc\';aped'), (4, 'it''s; fine');
SELECT add_note('x');
SQL
	run strata run
	assert_success
	assert_equal "$(psql_db "SELECT string_agg(body, '|' ORDER BY id) FROM notes")" "x;|semi;colon|esc';aped|it's; fine"
	assert_equal "$(psql_db "SELECT tagged()")" "a;b"
}

@test "statements: CREATE INDEX CONCURRENTLY runs in a -- no-transaction file" {
	write_migration 1_table.sql "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000);"
	write_migration 2_index.sql "-- no-transaction
CREATE INDEX CONCURRENTLY t_id_idx ON t (id);
CREATE INDEX CONCURRENTLY t_id2_idx ON t ((id * 2));"
	run strata run
	assert_success
	assert_equal "$(psql_db "SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass AND indisvalid")" 2
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" t
}

@test "statements: CONCURRENTLY without the directive is refused before anything runs, with the fix" {
	write_migration 1_table.sql "CREATE TABLE t (id int);"
	write_migration 2_index.sql "-- build the index
CREATE INDEX CONCURRENTLY t_id_idx ON t (id);"
	run strata run
	assert_failure 4
	assert_output --partial "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
	assert_output --partial "at migrations/2_index.sql:2:1 (statement 1)"
	assert_output --partial "-- no-transaction"
	# nothing ran, not even the valid first migration
	assert_equal "$(psql_db "SELECT to_regclass('t') IS NULL")" t
}

@test "statements: other statements refused in a transaction are found by the parser" {
	local sql
	for sql in "VACUUM;" "ALTER SYSTEM SET work_mem = '8MB';" "CREATE DATABASE other;" "DROP INDEX CONCURRENTLY IF EXISTS x;" "REINDEX TABLE CONCURRENTLY pg_class;"; do
		rm -f migrations/*
		write_migration 1_x.sql "$sql"
		run strata run
		assert_failure 4
		assert_output --partial "cannot run inside a transaction block"
	done
}

@test "statements: a failing statement mid-file leaves nothing and names file, line, statement, SQLSTATE" {
	write_migration 1_ok.sql "CREATE TABLE kept (id int);"
	write_migration 2_broken.sql <<'SQL'
CREATE TABLE first (id int);
INSERT INTO first VALUES (1);

INSERT INTO missing_table VALUES (1);
CREATE TABLE never (id int);
SQL
	run strata run
	assert_failure 1
	assert_output --partial 'relation "missing_table" does not exist'
	assert_output --partial "at migrations/2_broken.sql:4:13 (statement 3, SQLSTATE 42P01)"
	assert_output --partial "rolled back"
	assert_equal "$(psql_db "SELECT to_regclass('kept') IS NOT NULL, to_regclass('first') IS NULL, to_regclass('never') IS NULL")" "t|t|t"
	assert_equal "$(psql_db "SELECT string_agg(version::text, ',') FROM _sqlx_migrations")" 1
}

@test "statements: an error without a position names the statement's first line" {
	write_migration 1_dup.sql <<'SQL'
CREATE TABLE a (id int);
-- the second one fails
CREATE TABLE a (id int);
SQL
	run strata run
	assert_failure 1
	assert_output --partial 'relation "a" already exists'
	assert_output --partial "at migrations/1_dup.sql:3:1 (statement 2, SQLSTATE 42P07)"
}

@test "statements: a syntax error is reported with its location before anything runs" {
	write_migration 1_ok.sql "CREATE TABLE kept (id int);"
	write_migration 2_typo.sql "CREATE TABLE x (id int);
SELEC 1;"
	run strata run
	assert_failure 4
	assert_output --partial 'syntax error at or near "SELEC"'
	assert_output --partial "at migrations/2_typo.sql:2:1"
	assert_equal "$(psql_db "SELECT to_regclass('kept') IS NULL")" t
}

@test "statements: a file with its own BEGIN/COMMIT runs as written, with a warning" {
	write_migration 1_table.sql "CREATE TABLE seed (id int, note text);"
	write_migration 2_seed.sql <<'SQL'
BEGIN;
INSERT INTO seed VALUES (1, 'one; two');
INSERT INTO seed VALUES (2, 'three');
COMMIT;
SQL
	run strata run
	assert_success
	assert_output --partial "manages its own transaction"
	assert_equal "$(psql_db "SELECT count(*) FROM seed")" 2
	assert_equal "$(psql_db "SELECT success FROM _sqlx_migrations WHERE version = 2")" t
	run strata run
	assert_output "Nothing to apply: the database is up to date."
}

@test "statements: COPY FROM STDIN is refused with a clear error" {
	write_migration 1_copy.sql "CREATE TABLE t (id int);
COPY t FROM STDIN;"
	run strata run
	assert_failure 4
	assert_output --partial "COPY FROM STDIN cannot run in a migration"
	assert_output --partial "1_copy.sql:2"
}

sqlite_failing_statement() {
	write_migration 1_broken.sql <<'SQL'
CREATE TABLE first (id INTEGER);
CREATE TRIGGER first_ins AFTER INSERT ON first BEGIN
	UPDATE first SET id = id + 1 WHERE id = NEW.id; SELECT 1;
END;
INSERT INTO nope VALUES (1);
SQL
	run strata run
	assert_failure 1
	assert_output --partial "no such table: nope"
	assert_output --partial "at migrations/1_broken.sql:5"
	assert_output --partial "statement 3"
	assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_master WHERE name IN ('first', 'first_ins')")" 0
}

@test "statements: SQLite splits with its own parser (trigger bodies) and rolls back a failure" {
	sqlite_db
	sqlite_failing_statement
}
