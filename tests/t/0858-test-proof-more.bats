#!/usr/bin/env bats
# strata test, more: the schema compared through a catalog snapshot finds
# what a pg_dump would (a forgotten default, CHECK constraint, enum value,
# function body, trigger, comment).

load lib

setup_file() {
	pg_start
}

# 1_base makes the table; 2_change's up is $1, its down $2: the down must
# be found to leave the schema otherwise, with `$3` in the diff.
leaves() {
	write_migration 2_change.up.sql "$1"
	write_migration 2_change.down.sql "$2"
	run strata test
	assert_failure 4
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +down-leaves +change$"
	assert_output --partial "$3"
}

@test "test: a down that forgets a default, a CHECK, an enum value, a function body, a trigger, a comment" {
	new_db
	write_migration 1_base.up.sql "CREATE TABLE t (id int, n int); CREATE TYPE mood AS ENUM ('sad'); CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
	write_migration 1_base.down.sql "DROP TABLE t; DROP TYPE mood; DROP FUNCTION f(); DROP FUNCTION trg();"
	leaves "ALTER TABLE t ALTER COLUMN n SET DEFAULT 7;" "SELECT 1;" \
		"+    n integer DEFAULT 7"
	leaves "ALTER TABLE t ADD CONSTRAINT n_positive CHECK (n > 0);" "SELECT 1;" \
		"+ALTER TABLE ONLY public.t ADD CONSTRAINT n_positive CHECK ((n > 0));"
	leaves "ALTER TYPE mood ADD VALUE 'happy';" "SELECT 1;" \
		"+CREATE TYPE public.mood AS ENUM ('sad', 'happy');"
	leaves "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2';" "SELECT 1;" \
		"+AS \$function\$SELECT 2\$function\$;"
	leaves "CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();" "SELECT 1;" \
		"+CREATE TRIGGER t_trg BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.trg();"
	leaves "COMMENT ON COLUMN t.n IS 'how many';" "SELECT 1;" \
		"+COMMENT ON column n of table public.t IS 'how many';"
	# each undone: all pass
	write_migration 2_change.up.sql "ALTER TABLE t ALTER COLUMN n SET DEFAULT 7; ALTER TABLE t ADD CONSTRAINT n_positive CHECK (n > 0); CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2'; CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg(); COMMENT ON COLUMN t.n IS 'how many';"
	write_migration 2_change.down.sql "COMMENT ON COLUMN t.n IS NULL; DROP TRIGGER t_trg ON t; CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; ALTER TABLE t DROP CONSTRAINT n_positive; ALTER TABLE t ALTER COLUMN n DROP DEFAULT;"
	run strata test
	assert_success
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +ok +change$"
}
