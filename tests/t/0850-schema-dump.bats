#!/usr/bin/env bats
# strata schema dump: the schema as SQL, the same bytes for the same
# schema (whatever order the migrations built it in), loadable by psql,
# without strata's tables, ownership or privileges (unless asked), and
# without the password anywhere; run --dump-schema and dump_schema in
# strata.conf; SQLite's dump.

load lib

setup_file() {
	pg_start
	[[ -z ${STRATA_TEST_CLUSTER_SKIP:-} ]] || return 0
	# a role that must give its password (scram), for the password test
	_pg_psql -d postgres -c "CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD 'dump-s3cr3t'"
	local hba=$STRATA_TEST_CLUSTER_DATA/pg_hba.conf
	{ echo "local all pwuser scram-sha-256"; cat "$hba"; } >"$hba.new"
	cat "$hba.new" >"$hba" # keeps the server user's ownership
	rm -f "$hba.new"
	_pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_ctl" -D "$STRATA_TEST_CLUSTER_DATA" -s reload
	for _ in {1..50}; do
		if ! PGPASSWORD=wrong _pg_psql -U pwuser -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "pg_hba.conf was not reloaded" >&2
	return 1
}

# Independent migrations whose objects share names across tables
# (triggers, constraints, policies, overloaded functions), which pg_dump
# could otherwise order by creation.
read -r -d '' part_a <<'SQL' || true
CREATE TABLE a (id int PRIMARY KEY, v text CONSTRAINT v_ok CHECK (v <> ''));
CREATE INDEX a_v ON a (v);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER stamp BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE a ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON a USING (true);
CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS $$SELECT x$$;
COMMENT ON TABLE a IS 'table a';
SQL
read -r -d '' part_b <<'SQL' || true
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE b (id serial PRIMARY KEY, m mood, v text CONSTRAINT v_ok CHECK (v <> ''));
CREATE FUNCTION touch_b() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER stamp BEFORE UPDATE ON b FOR EACH ROW EXECUTE FUNCTION touch_b();
ALTER TABLE b ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON b USING (true);
CREATE FUNCTION f(x text) RETURNS text LANGUAGE sql AS $$SELECT x$$;
CREATE VIEW bv AS SELECT id, m FROM b;
CREATE SCHEMA extra;
CREATE TABLE extra.c (id bigint GENERATED ALWAYS AS IDENTITY, b_id int REFERENCES b);
SQL

@test "schema dump: one schema built in two orders dumps byte-identical; an unchanged database dumps alike twice" {
	write_migration 1_a.sql "$part_a"
	write_migration 2_b.sql "$part_b"
	strata run >/dev/null
	strata schema dump >first.sql
	strata schema dump >again.sql
	cmp first.sql again.sql

	local first=$PWD/first.sql
	new_db
	write_migration 1_b.sql "$part_b"
	write_migration 2_a.sql "$part_a"
	strata run >/dev/null
	strata schema dump >other.sql
	run diff -u "$first" other.sql
	assert_success
	# it holds the objects, and nothing of pg_dump's preamble
	grep -q '^CREATE TABLE public.a ($' other.sql
	grep -q '^CREATE TRIGGER stamp BEFORE UPDATE ON public.b' other.sql
	grep -q '^CREATE POLICY mine ON public.a' other.sql
	grep -q -- '^-- Name: f(text); Type: FUNCTION; Schema: public; Owner: -$' other.sql
	run grep -E '^(SET |SELECT pg_catalog.set_config|\\restrict|\\unrestrict)|Dumped (from|by)|PostgreSQL database dump' other.sql
	assert_failure
	# one newline at the end
	[[ $(tail -c 1 other.sql | od -An -tx1) == " 0a" ]]
	[[ $(tail -c 2 other.sql | od -An -tx1) != " 0a 0a" ]]
}

@test "schema dump: psql loads it into an empty database and the re-dump is identical" {
	write_migration 1_a.sql "$part_a"
	write_migration 2_b.sql "$part_b"
	strata run >/dev/null
	strata schema dump --out schema.sql
	psql_db "CREATE DATABASE ${TEST_DB}_load"
	TEST_DB=${TEST_DB}_load psql_db <schema.sql >/dev/null
	DATABASE_URL=$(pg_url "${TEST_DB}_load") strata schema dump >reloaded.sql
	cmp schema.sql reloaded.sql
}

@test "schema dump: strata's tables are left out (sqlx's, the audit trail and its sequence, a --table of another schema)" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata run >/dev/null
	run strata schema dump
	assert_success
	assert_output --partial "CREATE TABLE public.a ("
	refute_output --partial "_sqlx_migrations"
	refute_output --partial "_strata_audit"

	new_db
	psql_db "CREATE SCHEMA ops"
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata --table ops.history run >/dev/null
	run strata --table ops.history schema dump
	assert_success
	refute_output --partial "history"
	refute_output --partial "_strata_audit"
	assert_output --partial "CREATE SCHEMA ops;"
	# --format json: the same text in "schema", or the file written
	run --separate-stderr strata --table ops.history schema dump --format json
	assert_success
	assert_equal "$(jq -r .schema <<<"$output")" "$(strata --table ops.history schema dump)"
	run --separate-stderr strata --table ops.history schema dump --format json --out s.sql
	assert_equal "$(jq -c . <<<"$output")" '{"file":"s.sql","schema":null}'
	# a table of the user's named like strata's in another schema stays
	psql_db "CREATE TABLE public.history (x int)"
	run strata --table ops.history schema dump
	assert_output --partial "CREATE TABLE public.history ("
}

@test "schema dump: dbmate's schema_migrations and strata's record beside it are left out" {
	printf -- '-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n' >migrations/20240101000000_a.sql
	strata run >/dev/null
	psql_db "SELECT 1 FROM schema_migrations" >/dev/null
	run strata schema dump
	assert_success
	assert_output --partial "CREATE TABLE public.a ("
	refute_output --partial "schema_migrations"
	refute_output --partial "_strata_dbmate_migrations"
}

@test "schema dump: ownership and privileges only with --owners and --privileges" {
	psql_db "DO \$\$BEGIN CREATE ROLE reader; EXCEPTION WHEN duplicate_object THEN NULL; END\$\$"
	write_migration 1_a.sql "CREATE TABLE a (id int); GRANT SELECT ON a TO reader;"
	strata run >/dev/null
	run strata schema dump
	refute_output --partial "OWNER TO"
	refute_output --partial "GRANT"
	run strata schema dump --owners
	assert_output --partial "ALTER TABLE public.a OWNER TO postgres;"
	refute_output --partial "GRANT"
	run strata schema dump --privileges
	assert_output --partial "GRANT SELECT ON TABLE public.a TO reader;"
	refute_output --partial "OWNER TO"
}

@test "schema dump: the password is on no command line and in no output" {
	mkdir spy
	# a pg_dump that records every process's command line while it runs
	cat >spy/pg_dump <<-EOF
		#!/bin/bash
		"$STRATA_TEST_CLUSTER_BIN/pg_dump" "\$@" &
		pid=\$!
		while kill -0 "\$pid" 2>/dev/null; do
			for f in /proc/[0-9]*/cmdline; do
				mapfile -d '' -t a <"\$f" && echo "\${a[*]}"
			done >>"$PWD/cmdlines" 2>/dev/null
			sleep 0.02
		done
		echo "PGPASSWORD=\${PGPASSWORD-unset}" >>"$PWD/cmdlines.env"
		wait "\$pid"
	EOF
	chmod +x spy/pg_dump
	export STRATA_PG_BINDIR=$PWD/spy
	export DATABASE_URL="postgresql://pwuser:dump-s3cr3t@/$TEST_DB?host=$PGHOST&port=$PGPORT"
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata run >/dev/null
	run strata schema dump --out schema.sql
	assert_success
	assert_output ""
	grep -q "CREATE TABLE public.a" schema.sql
	[[ -s cmdlines ]]
	grep -q 'pg_dump --schema-only' cmdlines
	run grep -l 'dump-s3cr3t' cmdlines cmdlines.env schema.sql
	assert_failure
	assert_equal "$(sort -u cmdlines.env)" "PGPASSWORD=unset"
	# a wrong password: refused, and not shown
	run env DATABASE_URL="postgresql://pwuser:wr0ng-s3cret@/$TEST_DB?host=$PGHOST&port=$PGPORT" strata schema dump
	assert_failure 7
	refute_output --partial "wr0ng"
}

@test "run --dump-schema FILE writes the schema after a successful run, atomically, and leaves it after a failed one" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run strata run --dump-schema schema.sql
	assert_success
	strata schema dump >expected.sql
	cmp schema.sql expected.sql
	[[ $(stat -c %a schema.sql) == 644 ]]
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	strata run --dump-schema schema.sql >/dev/null
	grep -q "CREATE TABLE public.b" schema.sql
	write_migration 3_bad.sql "CREATE TABLE nope (id int REFERENCES missing);"
	cp schema.sql before.sql
	run strata run --dump-schema schema.sql
	assert_failure 1
	cmp schema.sql before.sql
	run ls -A
	refute_output --partial ".tmp-"
}

@test "dump_schema in strata.conf: written after each run; --dry-run writes nothing" {
	printf '[strata]\ndump_schema = db/schema.sql\n' >strata.conf
	mkdir db
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata run --dry-run >/dev/null
	[[ ! -e db/schema.sql ]]
	strata run >/dev/null
	grep -q "CREATE TABLE public.a" db/schema.sql
	strata schema dump >expected.sql
	cmp db/schema.sql expected.sql
	printf '[strata]\ndump_schmea = x\n' >strata.conf
	run strata run
	assert_failure 2
	assert_output --partial "unknown key 'dump_schmea'"
}

@test "schema dump on SQLite: sqlite_schema in a stable order, each statement ending in ';', loadable, without strata's tables" {
	sqlite_db
	write_migration 1_b.sql "CREATE TABLE b (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
CREATE VIEW bv AS SELECT v FROM b;"
	write_migration 2_a.sql "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b(id));
CREATE INDEX a_b ON a (b_id);
CREATE TRIGGER a_t AFTER INSERT ON a BEGIN SELECT 1; END;"
	strata run >/dev/null
	strata schema dump >first.sql
	strata schema dump >again.sql
	cmp first.sql again.sql
	grep -qxF "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b(id));" first.sql
	grep -qxF "CREATE INDEX a_b ON a (b_id);" first.sql
	run cat first.sql
	refute_output --partial "_sqlx_migrations"
	refute_output --partial "_strata_audit"
	refute_output --partial "sqlite_sequence"
	# tables (by name), then indexes, views, triggers
	run grep -n '^-- Name:' first.sql
	assert_output "2:-- Name: a; Type: TABLE; Schema: -; Owner: -
9:-- Name: b; Type: TABLE; Schema: -; Owner: -
16:-- Name: a_b; Type: INDEX; Schema: -; Owner: -
23:-- Name: bv; Type: VIEW; Schema: -; Owner: -
30:-- Name: a_t; Type: TRIGGER; Schema: -; Owner: -"
	sqlite3 loaded.db <first.sql
	DATABASE_URL=sqlite:loaded.db strata schema dump >loaded.sql
	cmp first.sql loaded.sql
	# a missing file is not created by a dump
	run env DATABASE_URL=sqlite:nothere.db strata schema dump
	assert_failure
	[[ ! -e nothere.db ]]
}
