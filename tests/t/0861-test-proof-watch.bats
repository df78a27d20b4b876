#!/usr/bin/env bats
# strata test re-describes only what the shadow's event triggers saw a
# command touch, and what depends on it: the changes no event trigger
# names must still be found. A partition detached (the command names the
# parent), a function renamed under a column default, a schema renamed,
# a role renamed under a policy; and a migration that disables the event
# triggers, or silences them through session_replication_role.

load lib

setup_file() {
	pg_start
}

# `$1`'s up is $2, its down $3: the down must be found to leave the
# schema otherwise, with `$4` in the diff
leaves() {
	rm -f migrations/"${1%%_*}"_*
	write_migration "$1.up.sql" "$2"
	write_migration "$1.down.sql" "$3"
	run strata test
	assert_failure 4
	assert_line --regexp "^${1%%_*} +[0-9.]+ +[0-9.]+ +down-leaves +${1#*_}$"
	assert_output --partial "$4"
}

@test "test watch: a detached partition, a renamed function under a default, a renamed schema" {
	new_db
	write_migration 1_base.up.sql "CREATE SCHEMA s;
CREATE FUNCTION s.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TABLE p (a int, b int DEFAULT s.f()) PARTITION BY RANGE (a);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (10);"
	write_migration 1_base.down.sql "DROP TABLE p; DROP SCHEMA s CASCADE;"
	leaves 2_detach "ALTER TABLE p DETACH PARTITION p1;" "SELECT 1;" \
		"-) INHERITS (public.p) FOR VALUES FROM (1) TO (10)"
	leaves 2_rename "ALTER FUNCTION s.f() RENAME TO g;" "SELECT 1;" \
		"+    b integer DEFAULT s.g()"
	leaves 2_schema "ALTER SCHEMA s RENAME TO s2;" "SELECT 1;" \
		"+    b integer DEFAULT s2.f()"
}

@test "test watch: a renamed role under a policy, event triggers disabled or silenced" {
	new_db
	psql_db "DROP ROLE IF EXISTS strata_watch_r; DROP ROLE IF EXISTS strata_watch_q; CREATE ROLE strata_watch_r"
	write_migration 1_base.up.sql "CREATE TABLE t (id int, n int DEFAULT 1);
CREATE POLICY pol ON t TO strata_watch_r USING (true);"
	write_migration 1_base.down.sql "DROP TABLE t;"
	leaves 2_role "ALTER ROLE strata_watch_r RENAME TO strata_watch_q;" "SELECT 1;" \
		"+CREATE POLICY pol ON public.t FOR ALL TO strata_watch_q USING (true);"
	psql_db "ALTER ROLE strata_watch_q RENAME TO strata_watch_r"
	leaves 2_off "ALTER EVENT TRIGGER strata_proof_ddl DISABLE;" \
		"ALTER TABLE t ALTER COLUMN n SET DEFAULT 2;" \
		"+    n integer DEFAULT 2"
	leaves 2_quiet "SET session_replication_role = replica;" \
		"ALTER TABLE t ALTER COLUMN n SET DEFAULT 3;" \
		"+    n integer DEFAULT 3"
	leaves 2_drop "DROP EVENT TRIGGER strata_proof_drop;" \
		"ALTER TABLE t DROP COLUMN n;" \
		"-    n integer DEFAULT 1"
}

@test "test watch: each changed object read on its own: a composite type, a domain, a sequence, an index, an event trigger" {
	new_db
	write_migration 1_base.up.sql "CREATE TYPE pair AS (a int, b int);
CREATE DOMAIN pos AS int;
CREATE SEQUENCE sq;
CREATE TABLE t (id int, n int DEFAULT 1);
CREATE INDEX t_n ON t (n);
CREATE FUNCTION evf() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';"
	write_migration 1_base.down.sql "DROP TABLE t; DROP SEQUENCE sq; DROP DOMAIN pos; DROP TYPE pair; DROP FUNCTION evf();"
	leaves 2_pair "ALTER TYPE pair ADD ATTRIBUTE c text;" "SELECT 1;" \
		"+CREATE TYPE public.pair AS (a integer, b integer, c text);"
	leaves 2_pos "ALTER DOMAIN pos ADD CONSTRAINT pos_check CHECK (VALUE > 0);" "SELECT 1;" \
		"+ALTER DOMAIN public.pos ADD CONSTRAINT pos_check CHECK ((VALUE > 0));"
	leaves 2_seq "ALTER SEQUENCE sq INCREMENT BY 5;" "SELECT 1;" \
		"+CREATE SEQUENCE public.sq AS bigint START WITH 1 INCREMENT BY 5 "
	leaves 2_idx "DROP INDEX t_n; CREATE INDEX t_n ON t (n DESC);" "SELECT 1;" \
		"+CREATE INDEX t_n ON public.t USING btree (n DESC);"
	leaves 2_evt "CREATE EVENT TRIGGER strata_watch_ev ON ddl_command_start EXECUTE FUNCTION evf();" \
		"SELECT 1;" "+event trigger strata_watch_ev ON ddl_command_start EXECUTE public.evf() ENABLED O"
}

@test "test watch: a read whose log a migration dropped is a full one" {
	new_db
	write_migration 1_base.up.sql "CREATE TABLE t (id int, n int DEFAULT 1);"
	write_migration 1_base.down.sql "DROP TABLE t;"
	leaves 2_nolog "SELECT 1;" \
		"ALTER EVENT TRIGGER strata_proof_ddl DISABLE; ALTER EVENT TRIGGER strata_proof_drop DISABLE;
DROP TABLE pg_temp.strata_proof_log; ALTER TABLE t ALTER COLUMN n SET DEFAULT 4;" \
		"+    n integer DEFAULT 4"
}
