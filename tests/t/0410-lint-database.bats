#!/usr/bin/env bats
# The lint gate knows the database: the names PostgreSQL gives implicit
# indexes and constraints, objects the database does not have, table sizes
# that grade lock and rewrite hazards, and the current type of a column
# whose type changes.

load lib

@test "run: an implicit index created earlier in the run is new" {
	write_migration 1_t.sql "CREATE TABLE t (a int, b int, UNIQUE (a));"
	write_migration 2_i.sql "CREATE INDEX ON t (b);"
	write_migration 3_d.sql "DROP INDEX IF EXISTS t_b_idx;"
	run strata run --dry-run
	assert_success
	refute_output --partial "require-concurrent-index-deletion"
	# the constraint's index too (PostgreSQL then refuses the drop itself)
	write_migration 3_d.sql "DROP INDEX IF EXISTS t_a_key;"
	run strata lint
	assert_success
	refute_output --partial "require-concurrent-index-deletion"
	strata run --target-version 2
	[[ $(psql_db "SELECT count(*) FROM pg_indexes WHERE indexname IN ('t_a_key', 't_b_idx')") == 2 ]]
	# applied now: the index exists, and dropping it is a hazard again
	write_migration 3_d.sql "DROP INDEX IF EXISTS t_b_idx;"
	run strata lint
	assert_output --partial "[require-concurrent-index-deletion]"
}

@test "run: what the database does not have is no hazard to drop or alter" {
	write_migration 1_d.sql "DROP INDEX IF EXISTS no_such_index;
DROP TABLE IF EXISTS no_such_table;
ALTER TABLE IF EXISTS no_such_table DROP COLUMN c;"
	run strata run
	assert_success
	# offline nothing is known: each is an error
	run env -u DATABASE_URL strata lint
	assert_failure 5
	assert_output --partial "dropping index 'no_such_index'"
	assert_output --partial "dropping table 'no_such_table'"
	# a column the table lacks, in another schema
	psql_db "CREATE SCHEMA app; CREATE TABLE app.t (a int, \"Mixed\" int)"
	write_migration 2_c.sql 'ALTER TABLE app.t DROP COLUMN IF EXISTS gone;
ALTER TABLE app.t DROP COLUMN "Mixed";'
	run strata lint
	assert_failure 5
	refute_output --partial "'gone'"
	assert_output --partial "dropping column 'Mixed' of 'app.t'"
}

@test "lint: implicit names match what PostgreSQL chooses" {
	long=$(printf 'x%.0s' {1..50})
	utf=$(printf '\xc3\xa9%.0s' {1..30})
	create="CREATE TABLE ${long}_${utf} (id bigserial PRIMARY KEY, a int UNIQUE,
  ${utf}_col int UNIQUE, b int, c int, d int REFERENCES ${long}_${utf} (id),
  UNIQUE (b, c) INCLUDE (a), EXCLUDE USING btree (c WITH =), CHECK (a > 0));
CREATE INDEX ON ${long}_${utf} (b);
CREATE INDEX ON ${long}_${utf} (lower(b::text), (b + 1));
CREATE INDEX ON ${long}_${utf} (a, a);
ALTER TABLE ${long}_${utf} ADD UNIQUE (a);
CREATE TABLE t2 (id int GENERATED ALWAYS AS IDENTITY);
CREATE TABLE t3 (a int PRIMARY KEY UNIQUE, b int UNIQUE, UNIQUE (b));
ALTER TABLE t3 ADD UNIQUE (b);"
	psql_db "$create"
	mapfile -t names < <(psql_db "SELECT quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'i' ORDER BY 1")
	((${#names[@]} == 12))
	cat >check.sql <<-EOF
		SET lock_timeout = '1s';
		$create
	EOF
	for name in "${names[@]}"; do
		printf 'DROP INDEX %s;\n' "$name" >>check.sql
	done
	run env -u DATABASE_URL strata lint check.sql
	refute_output --partial "[require-concurrent-index-deletion]"
	assert_output --partial "[prefer-identity]"
	# a name PostgreSQL did not choose is not taken as new: a repeated
	# key is one index
	for name in "${long}_a_key2" t3_a_key t3_b_key2; do
		cp check.sql one.sql
		printf 'DROP INDEX %s;\n' "$name" >>one.sql
		run env -u DATABASE_URL strata lint one.sql
		assert_output --partial "[require-concurrent-index-deletion]"
	done
}

@test "run: after a revert, re-applying locks on empty tables are notes" {
	write_migration 1_t.up.sql "CREATE TABLE orders (id bigint PRIMARY KEY, ref text);"
	write_migration 1_t.down.sql "DROP TABLE orders;"
	write_migration 2_i.up.sql "CREATE INDEX orders_ref_idx ON orders (ref);
ALTER TABLE orders ADD CONSTRAINT orders_ref_check CHECK (ref <> '');"
	write_migration 2_i.down.sql "DROP INDEX orders_ref_idx;
ALTER TABLE orders DROP CONSTRAINT orders_ref_check;"
	strata run
	strata revert
	# notes, said with the size that makes them notes
	run --separate-stderr strata run --dry-run
	assert_success
	[[ $stderr == *"note: creating index 'orders_ref_idx' on 'orders' without CONCURRENTLY blocks writes to the table while the index builds (orders: "*"[require-concurrent-index-creation]"* ]]
	[[ $stderr == *"note: adding CHECK constraint 'orders_ref_check' to 'orders'"*"(orders: "* ]]
	strata run
}

@test "run: big tables stay errors, with their size; [lint] sets the sizes" {
	psql_db "CREATE TABLE orders (id bigint PRIMARY KEY, ref text);
INSERT INTO orders SELECT g, 'r' || g FROM generate_series(1, 20000) g;
ANALYZE orders;
CREATE TABLE empty (id bigint PRIMARY KEY, ref text)"
	write_migration 1_i.sql "CREATE INDEX orders_ref_idx ON orders (ref);
CREATE INDEX empty_ref_idx ON empty (ref);"
	# 20,000 rows: between small (10,000 rows) and big: a warning
	run --separate-stderr strata lint
	assert_success
	assert_line --partial "warning: creating index 'orders_ref_idx' on 'orders' without CONCURRENTLY blocks writes to the table while the index builds (orders: ~20k rows, "
	assert_line --partial "note: creating index 'empty_ref_idx' on 'empty'"
	[[ $stderr == "0 errors, 1 warning, 1 note in 1 file (2 statements)." ]]
	run strata lint --reporter sarif
	jq -e '[.runs[0].results[].level] == ["warning", "note"]' <<<"$output"
	run strata lint --reporter github
	assert_line --index 1 --regexp "^::notice file=migrations/1_i.sql,line=2,"
	printf '[lint]\nbig_table_rows = 1_000\nsmall_table_rows = 100\n' >strata.conf
	run strata lint --format json
	assert_failure 5
	jq -e '[.errors, .warnings, .notes] == [1, 0, 1]' <<<"$output"
	run strata run
	assert_failure 5
	assert_output --partial "error: creating index 'orders_ref_idx' on 'orders' without CONCURRENTLY blocks writes to the table while the index builds (orders: ~20k rows, "
	[[ $(psql_db "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_ref_idx'") == 0 ]]
	# a table never analysed is judged by its size
	psql_db "CREATE TABLE fresh (id int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO fresh SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g"
	write_migration 1_i.sql "CREATE INDEX fresh_id_idx ON fresh (id);"
	printf '[lint]\nbig_table_size = 1MB\n' >strata.conf
	run strata lint
	assert_failure 5
	assert_output --regexp "\\(fresh: [0-9]+ [kM]B, never analysed\\)"
	printf '[lint]\nbig_table_size = huge\n' >strata.conf
	run strata lint
	assert_failure 2
	assert_output --partial "'big_table_size' in [lint] wants a size such as 100MB or 1GB, not 'huge' at 'strata.conf' line 2"
	printf '[strata]\nbig_table_rows = 5\n' >strata.conf
	run strata lint
	assert_failure 2
	assert_output --partial "unknown key 'big_table_rows' in [strata]"
	assert_output --partial "in [lint], RULE = error, warning or off, and big_table_rows, big_table_size, small_table_rows, small_table_size."
}

@test "run: a partitioned table's size is its partitions'" {
	psql_db "CREATE TABLE ev (id bigint, at date, body text) PARTITION BY RANGE (at);
CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE ev_2 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO ev SELECT g, date '2024-06-01' + (g % 400), 'b' FROM generate_series(1, 3000) g;
ANALYZE ev"
	write_migration 1_a.sql "ALTER TABLE ev ADD CONSTRAINT ev_body_check CHECK (body <> '');"
	printf '[lint]\nbig_table_rows = 2000\n' >strata.conf
	run strata lint
	assert_failure 5
	assert_output --partial "(ev: ~3.0k rows, "
}

@test "run: a renamed table is judged by the table the database has" {
	psql_db "CREATE TABLE old (id bigint, ref text);
INSERT INTO old SELECT g, 'r' FROM generate_series(1, 3000) g; ANALYZE old"
	write_migration 1_r.sql "ALTER TABLE old RENAME TO renamed;
CREATE INDEX renamed_ref_idx ON renamed (ref);"
	printf '[lint]\nbig_table_rows = 2000\n' >strata.conf
	run strata lint
	assert_failure 5
	assert_output --partial "error: creating index 'renamed_ref_idx' on 'renamed'"
	assert_output --partial "(old: ~3.0k rows, "
}

@test "run: a type change is judged by the column's type on the database" {
	psql_db "CREATE TABLE big (id bigserial PRIMARY KEY, body text, data bytea, v varchar(20), w varchar(20));
INSERT INTO big (body) SELECT 'x' FROM generate_series(1, 3000); ANALYZE big"
	printf '[lint]\nbig_table_rows = 2000\n' >strata.conf
	write_migration 1_a.sql "ALTER TABLE big ALTER COLUMN body TYPE varchar(512);
ALTER TABLE big ALTER COLUMN id TYPE varchar(255);
ALTER TABLE big ALTER COLUMN data TYPE text;
ALTER TABLE big ALTER COLUMN v TYPE text;
ALTER TABLE big ALTER COLUMN w TYPE varchar(40);"
	run strata run
	assert_failure 5
	assert_output --partial "error: changing the type of column 'body' of 'big' from text to varchar(512) rewrites the table under an ACCESS EXCLUSIVE lock (big: ~3.0k rows, "
	assert_output --partial "error: changing the type of column 'id' of 'big' from bigint to varchar(255) rewrites"
	assert_output --partial "error: changing the type of column 'data' of 'big' from bytea to text rewrites"
	refute_output --partial "type of column 'v'"
	refute_output --partial "type of column 'w'"
	# offline the old types are unknown: each may rewrite, a warning
	run env -u DATABASE_URL strata lint
	assert_success
	assert_output --partial "warning: changing the type of column 'body' of 'big' to varchar(512) may rewrite the table under an ACCESS EXCLUSIVE lock: no migration linted here sets its current type [changing-column-type]"
	assert_output --partial "warning: changing the type of column 'data' of 'big' to text may rewrite"
	# a migration that sets the type decides it offline too
	write_migration 0_t.sql "CREATE TABLE big (id bigserial PRIMARY KEY, body text, data bytea, v varchar(20), w varchar(20));"
	run env -u DATABASE_URL strata lint migrations/0_t.sql migrations/1_a.sql
	assert_failure 5
	assert_output --partial "error: changing the type of column 'body' of 'big' from text to varchar(512) rewrites"
	refute_output --partial "type of column 'v'"
	refute_output --partial "type of column 'w'"
}

@test "lint: a schema the role may not use is left to the offline judgement" {
	psql_db "CREATE ROLE lint_reader LOGIN; CREATE SCHEMA secret; CREATE TABLE secret.t (a int)"
	write_migration 1_s.sql "ALTER TABLE secret.t DROP COLUMN a;
DROP INDEX IF EXISTS no_such_index;"
	run env DATABASE_URL="${DATABASE_URL/user=postgres/user=lint_reader}" strata lint
	assert_failure 5
	assert_output --partial "dropping column 'a' of 'secret.t'"
	refute_output --partial "no_such_index"
}

@test "lint: rows are estimated as the planner does, from the pages there are now" {
	psql_db "CREATE TABLE grown (id int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO grown SELECT g, 'x' FROM generate_series(1, 1000) g; ANALYZE grown;
INSERT INTO grown SELECT g, 'x' FROM generate_series(1, 29000) g"
	write_migration 1_i.sql "CREATE INDEX grown_id_idx ON grown (id);"
	run strata lint
	assert_success
	assert_output --regexp "warning: creating index 'grown_id_idx' on 'grown' .*\\(grown: ~[23][0-9]k rows, "
}

@test "run: a table on the migration's search path is not taken for a missing one" {
	psql_db "CREATE SCHEMA app; CREATE TABLE app.orders (id bigint, ref text);
INSERT INTO app.orders SELECT g, 'r' FROM generate_series(1, 3000) g; ANALYZE app.orders"
	write_migration 1_i.sql "SET search_path = app;
CREATE INDEX orders_ref_idx ON orders (ref);"
	printf '[lint]\nbig_table_rows = 2000\n' >strata.conf
	run strata run
	assert_failure 5
	assert_output --partial "error: creating index 'orders_ref_idx' on 'orders' without CONCURRENTLY blocks writes to the table while the index builds (orders: ~3.0k rows, "
}

@test "run: applying again what was reverted breaks no running code: a note, not an error" {
	write_migration 1_t.sql "CREATE TABLE t (a int, b int);"
	write_migration 2_d.up.sql "ALTER TABLE t DROP COLUMN b;"
	write_migration 2_d.down.sql "ALTER TABLE t ADD COLUMN b int;"
	strata run --target-version 1
	# the column exists and the drop was never applied: the code may read it
	run strata run
	assert_failure 5
	assert_output --partial "[ban-drop-column]"
	strata run --allow-unsafe
	strata revert
	run strata -v run
	assert_success
	assert_output --regexp "note: .*applied before, reverted at [0-9-]+T[0-9:]+.*\[ban-drop-column\]"
	[[ $(psql_db "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'b'") == 0 ]]
}
