#!/usr/bin/env bats
# strata test's comparison, for the changes that leave no newer catalog
# row behind and so would escape a reading of only what changed: an
# object dropped and made again the same passes, made again otherwise
# fails; a change to an object made 10 migrations before is found, as are
# a comment or a sequence's owner taken away, the text of an index and a
# view whose column a migration without a down renamed, and a change
# whose rows a VACUUM FREEZE made look old.

load lib

setup_file() {
	pg_start
}

# 1_base: a table with an owned sequence, an index, a view, comments
base() {
	write_migration 1_base.up.sql "CREATE TABLE t (id int PRIMARY KEY, n int DEFAULT 1);
CREATE SEQUENCE t_seq OWNED BY t.id;
CREATE INDEX t_n ON t (n);
CREATE VIEW v AS SELECT id, n FROM t;
COMMENT ON TABLE t IS 'base';"
	write_migration 1_base.down.sql "DROP VIEW v; DROP TABLE t;"
}

# `$2`'s up is $3, its down $4: the down must be found to leave the
# schema otherwise, with `$5` in the diff
leaves() {
	write_migration "$1.up.sql" "$2"
	write_migration "$1.down.sql" "$3"
	run strata test
	assert_failure 4
	assert_line --regexp "^${1%%_*} +[0-9.]+ +[0-9.]+ +down-leaves +${1#*_}$"
	assert_output --partial "$4"
}

@test "test: a down that drops and makes again the same objects passes; made otherwise, it fails" {
	new_db
	base
	write_migration 2_rebuild.up.sql "DROP VIEW v; DROP INDEX t_n; CREATE INDEX t_n ON t (n DESC); COMMENT ON TABLE t IS NULL;"
	write_migration 2_rebuild.down.sql "DROP INDEX t_n; CREATE INDEX t_n ON t (n); CREATE VIEW v AS SELECT id, n FROM t; COMMENT ON TABLE t IS 'base';"
	run strata test
	assert_success
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +ok +rebuild$"
	leaves 2_rebuild "DROP VIEW v; DROP INDEX t_n;" \
		"CREATE INDEX t_n ON t (n, id); CREATE VIEW v AS SELECT id, n FROM t;" \
		"+CREATE INDEX t_n ON public.t USING btree (n, id);"
	leaves 2_rebuild "DROP VIEW v;" "CREATE VIEW v AS SELECT id FROM t;" \
		"-    n integer"
}

@test "test: a change to objects made 10 migrations before, and a down that takes away what only its catalog row said" {
	new_db
	base
	for i in $(seq 2 11); do
		write_migration "${i}_x$i.up.sql" "CREATE TABLE x$i (id int PRIMARY KEY REFERENCES t (id), note text DEFAULT 'x');"
		write_migration "${i}_x$i.down.sql" "DROP TABLE x$i;"
	done
	run strata test
	assert_success
	assert_line --regexp "^11 +[0-9.]+ +[0-9.]+ +ok +x11$"
	leaves 12_late "ALTER TABLE t ALTER COLUMN n SET DEFAULT 7;" "SELECT 1;" \
		"+    n integer DEFAULT 7"
	# no catalog row of the table changes: the comment's row is gone
	leaves 12_late "SELECT 1;" "COMMENT ON TABLE t IS NULL;" \
		"-COMMENT ON table public.t IS 'base';"
	# nor of the sequence: its pg_depend row is gone
	leaves 12_late "SELECT 1;" "ALTER SEQUENCE t_seq OWNED BY NONE;" \
		"-ALTER SEQUENCE public.t_seq OWNED BY public.t.id;"
	leaves 12_late "CREATE INDEX x7_note ON x7 (note);" "SELECT 1;" \
		"+CREATE INDEX x7_note ON public.x7 USING btree (note);"
}

@test "test: a column renamed by a migration without a down is in its index's and view's text for the next proof" {
	new_db
	base
	write_migration 2_rename.sql "ALTER TABLE t RENAME COLUMN n TO m;"
	write_migration 3_index.up.sql "DROP VIEW v; DROP INDEX t_n;"
	write_migration 3_index.down.sql "CREATE INDEX t_n ON t (m); CREATE VIEW v AS SELECT id, m AS n FROM t;"
	run strata test
	assert_success
	assert_line --regexp "^2 +[0-9.]+ +- +no-down +rename$"
	assert_line --regexp "^3 +[0-9.]+ +[0-9.]+ +ok +index$"
}

@test "test: a change whose catalog rows a VACUUM FREEZE made look old is found" {
	new_db
	base
	write_migration 2_freeze.up.sql "-- no-transaction
ALTER TABLE t ALTER COLUMN n SET DEFAULT 9;
VACUUM (FREEZE) pg_catalog.pg_attribute, pg_catalog.pg_attrdef, pg_catalog.pg_class;"
	write_migration 2_freeze.down.sql "SELECT 1;"
	run strata test
	assert_failure 4
	assert_line --regexp "^2 +[0-9.]+ +[0-9.]+ +down-leaves +freeze$"
	assert_output --partial "+    n integer DEFAULT 9"
}
