#!/usr/bin/env bats
# strata backup / restore on PostgreSQL: pg_dump -Fc round trips, the
# manifest, verify (checksum, pg_restore --list, restore test), restore's
# refusals, kinds, run --backup, pg_dump version checks, and that the
# password never reaches a command line, an environment or any output.

load lib

PASSWORD='s3cr3t:Pw\x'

setup_file() {
	pg_start
	[[ -z ${STRATA_TEST_CLUSTER_SKIP:-} ]] || return 0
	# a role that must give its password (scram), for the password test
	_pg_psql -d postgres -c "CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD 's3cr3t:Pw\\x'"
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

schema_and_data() {
	write_migration 20250101120000_users.sql "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, created timestamptz NOT NULL DEFAULT now(), profile jsonb);"
	write_migration 20250102120000_shop.sql "CREATE SCHEMA shop;
CREATE TABLE shop.orders (id int PRIMARY KEY, user_id bigint REFERENCES users, total numeric(10,2), note text);
CREATE VIEW shop.big AS SELECT * FROM shop.orders WHERE total > 100;
CREATE FUNCTION shop.next(x int) RETURNS int LANGUAGE sql AS 'SELECT x + 1';"
	strata run >/dev/null
	psql_db "INSERT INTO users (email, profile) SELECT 'u' || i || '@example.com', jsonb_build_object('n', i) FROM generate_series(1, 500) i;
INSERT INTO shop.orders SELECT i, (i % 500) + 1, i * 1.5, repeat('é', i % 7) FROM generate_series(1, 2000) i;"
}

# One line per table of $TEST_DB: name, rows, MD5 of the rows as text.
# Per-table row counts and content hashes. The audit trail is left out: a
# restore adds its own row there, by design.
checksums() {
	local t
	psql_db "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') AND table_name <> '_strata_audit' ORDER BY 1" |
		while read -r t; do
			printf '%s %s\n' "$t" "$(psql_db "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-') FROM $t t")"
		done
}

# Flips every bit of the byte in the middle of file $1.
flip_byte() {
	local off b
	off=$(($(stat -c %s "$1") / 2))
	b=$(od -An -tu1 -j "$off" -N 1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$off" conv=notrunc status=none
}

the_dump() {
	local f
	f=$(ls backups/*.dump)
	[[ $(wc -l <<<"$f") == 1 ]]
	echo "$f"
}

@test "backup: round trip (migrate, load, back up, drop, restore) gives identical contents" {
	schema_and_data
	before=$(checksums)
	run strata backup
	assert_success
	assert_output --partial "Backed up to backups/$TEST_DB-"
	file=$(the_dump)
	manifest=${file%.dump}.json
	[[ $(stat -c %a "$file") == 600 && $(stat -c %a "$manifest") == 600 && $(stat -c %a backups) == 700 ]]
	run jq -r '[.driver, .kind, .database_name, .newest_applied_version, .strata_version, .pre_migration, .tag] | map(tostring) | join(" ")' "$manifest"
	assert_output "postgres full $TEST_DB 20250102120000 0.1.0 false null"
	assert_equal "$(jq -r .size "$manifest")" "$(stat -c %s "$file")"
	assert_equal "$(jq -r .sha256 "$manifest")" "$(sha256sum "$file" | cut -d' ' -f1)"
	assert_equal "$(jq -r .server_version "$manifest")" "$(psql_db 'SHOW server_version' | cut -d' ' -f1)"
	assert_equal "$(jq -r .file "$manifest")" "$(basename "$file")"
	run jq -r .tool "$manifest"
	assert_output --partial "pg_dump (PostgreSQL) $(psql_db 'SHOW server_version_num' | cut -c1-2)"
	run jq -r '.tables[] | "\(.name) \(.rows)"' "$manifest"
	assert_output "public._sqlx_migrations 2
public._strata_audit 2
public.users 500
shop.orders 2000"
	run strata backup list
	assert_success
	assert_output --partial "20250102120000"
	assert_output --partial "$file"

	strata database drop --yes
	run strata restore "$file"
	assert_success
	assert_output --partial "Restored $file"
	assert_equal "$(checksums)" "$before"
	strata check
	assert_equal "$(psql_db 'SELECT shop.next(41)')" 42
}

@test "backup verify: good passes, restore test compares row counts, a flipped byte exits 4" {
	schema_and_data
	strata backup >/dev/null
	file=$(the_dump)
	manifest=${file%.dump}.json
	run strata backup verify "$file"
	assert_success
	assert_output --partial "$file: OK"
	run strata --format json backup verify "$manifest" --restore-test
	assert_success
	assert_equal "$(jq -r '.ok, .restore_tested, .tables_compared' <<<"$output" | xargs)" "true true 4"
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname LIKE 'strata_restore_test%'")" 0

	# the restore test compares with the manifest's counts
	cp "$manifest" manifest.orig
	jq '(.tables[] | select(.name == "shop.orders") | .rows) = 1999' manifest.orig >"$manifest"
	run strata backup verify "$file" --restore-test
	assert_failure 4
	assert_output --partial "table 'shop.orders' has 2000 rows after restoring, the manifest says 1999"
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname LIKE 'strata_restore_test%'")" 0
	cp manifest.orig "$manifest"

	# a file pg_restore cannot read, whose manifest agrees with it
	head -c 5000 "$file" >truncated
	jq --arg s "$(sha256sum truncated | cut -d' ' -f1)" --argjson n 5000 '.sha256 = $s | .size = $n | .file = "trunc.dump"' manifest.orig >backups/trunc.json
	cp truncated backups/trunc.dump
	run strata backup verify backups/trunc.dump
	assert_failure 4
	assert_output --partial "pg_restore cannot read 'backups/trunc.dump'"

	flip_byte "$file"
	run strata backup verify "$file"
	assert_failure 4
	assert_output --partial "backup '$file' is damaged: its SHA-256 differs from its manifest's"
	assert_output --partial "Do not restore it"
	run strata restore "$file" --into "${TEST_DB}_never" --yes
	assert_failure 4
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname = '${TEST_DB}_never'")" 0
}

@test "restore: refuses a non-empty target, wants --yes, and --clean leaves exactly the backup" {
	schema_and_data
	before=$(checksums)
	strata backup >/dev/null
	file=$(the_dump)
	psql_db "INSERT INTO users (email) VALUES ('late@example.com'); CREATE TABLE after_backup (id int);"
	run strata restore "$file"
	assert_failure 1
	assert_output --partial "refusing to restore into"
	assert_output --partial "it is not empty"
	run strata restore "$file" --clean </dev/null
	assert_failure 2
	assert_output --partial "pass --yes to overwrite it"
	assert_equal "$(psql_db 'SELECT count(*) FROM users')" 501
	run strata restore "$file" --clean --yes
	assert_success
	assert_equal "$(checksums)" "$before"
	assert_equal "$(psql_db "SELECT to_regclass('after_backup') IS NULL")" t

	# --into a database name on the same server: created
	run strata --format json restore "$file" --into "${TEST_DB}_copy"
	assert_success
	run jq -r .into <<<"$output"
	assert_output --partial "dbname=${TEST_DB}_copy"
	assert_equal "$(TEST_DB=${TEST_DB}_copy checksums)" "$before"
	# an SQLite backup is not restored into PostgreSQL
	run strata restore "$file" --into sqlite:x.db
	assert_failure 2
	assert_output --partial "is of a postgres database"
}

@test "backup --kind schema, then --kind data: restored one after the other, the same contents" {
	schema_and_data
	before=$(checksums)
	strata backup --kind schema --tag "only the schema" >/dev/null
	strata backup --kind data --tag data >/dev/null
	schema=$(ls backups/*-schema-only-the-schema.dump)
	data=$(ls backups/*-data-data.dump)
	run jq -r '[.tables[].rows] | add' "${schema%.dump}.json"
	assert_output 0
	run jq -r '.tag' "${schema%.dump}.json"
	assert_output "only the schema"
	run strata backup verify "$data" --restore-test
	assert_failure 2
	assert_output --partial "data-only backup cannot be restored on its own"
	run strata restore "$schema" --into "${TEST_DB}_s"
	assert_success
	assert_equal "$(TEST_DB=${TEST_DB}_s psql_db 'SELECT count(*) FROM users')" 0
	run strata restore "$data" --into "${TEST_DB}_s" --clean --yes
	assert_failure 2
	run strata restore "$data" --into "${TEST_DB}_s" --yes
	assert_success
	assert_equal "$(TEST_DB=${TEST_DB}_s checksums)" "$before"
}

@test "run --backup: a pre-migration backup of the state before, tagged with the versions to run" {
	write_migration 1_a.sql "CREATE TABLE a (id int); INSERT INTO a VALUES (1);"
	strata run >/dev/null
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	write_migration 3_c.sql "ALTER TABLE a ADD COLUMN c int;"
	run strata run --backup
	assert_success
	assert_output --partial "before applying 2 migrations"
	assert_output --partial "Applied 2 migrations."
	manifest=$(ls backups/*.json)
	run jq -r '[.pre_migration, .tag, (.pending_versions | join(",")), .newest_applied_version] | map(tostring) | join(" ")' "$manifest"
	assert_output "true pre-migration:2,3 2,3 1"
	[[ $manifest == *-full-pre-migration-2-3.json ]]
	strata restore "${manifest%.json}.dump" --into "${TEST_DB}_pre" >/dev/null
	assert_equal "$(TEST_DB=${TEST_DB}_pre psql_db "SELECT to_regclass('b') IS NULL, (SELECT count(*) FROM _sqlx_migrations)")" "t|1"

	# nothing pending: nothing to back up
	run strata run --backup
	assert_success
	assert_output "Nothing to apply: the database is up to date."
	assert_equal "$(ls backups/*.json | wc -l)" 1

	# strata.conf's switch and directory; --no-backup wins
	printf '[strata]\nbackup = true\nbackup_dir = saved\n' >strata.conf
	write_migration 4_d.sql "CREATE TABLE d (id int);"
	strata run --no-backup >/dev/null
	[[ ! -e saved ]]
	write_migration 5_e.sql "CREATE TABLE e (id int);"
	run strata --format json run
	assert_success
	assert_equal "$(jq -r '.backup.pre_migration, .backup.tag, .applied' <<<"$output" | xargs)" "true pre-migration:5 1"
	assert_equal "$(ls saved/*.json | wc -l)" 1
	run strata backup list
	assert_output --partial "pre-migration:5"
}

@test "backup: pg_dump older than the server is refused, a missing one is named" {
	mkdir old
	printf '#!/bin/sh\necho "pg_dump (PostgreSQL) 11.22"\n' >old/pg_dump
	chmod +x old/pg_dump
	run env STRATA_PG_BINDIR=$PWD/old strata backup
	assert_failure 1
	assert_output --partial "pg_dump 11 ('$PWD/old/pg_dump') is older than the server (PostgreSQL $(psql_db 'SHOW server_version' | cut -d' ' -f1))"
	assert_output --partial "postgresql-client-"
	run ls -A backups
	assert_output ""
	run env STRATA_PG_BINDIR=$PWD/nowhere strata backup
	assert_failure 1
	assert_output --partial "no program 'pg_dump' in '$PWD/nowhere'"
}

@test "backup: progress (bytes written) while pg_dump runs" {
	mkdir slow
	printf '#!/bin/sh\n"%s/pg_dump" "$@" || exit\n[ "$1" = --version ] || sleep 1.5\n' "$STRATA_TEST_CLUSTER_BIN" >slow/pg_dump
	chmod +x slow/pg_dump
	ln -s "$STRATA_TEST_CLUSTER_BIN/pg_restore" slow/pg_restore
	write_migration 1_a.sql "CREATE TABLE a (t text); INSERT INTO a SELECT md5(i::text) FROM generate_series(1, 5000) i;"
	strata run >/dev/null
	run --separate-stderr env STRATA_PG_BINDIR=$PWD/slow strata -v backup
	assert_success
	[[ $stderr == *"Backing up: "*" KiB written"* ]]
	[[ $output == "Backed up to "* ]]
}

# A pg_dump/pg_restore that records how it was started (argv, the
# password's variables, its password file) and, while the real one runs,
# every process's command line.
make_spy() {
	local dir=$1 tool
	mkdir -p "$dir"
	for tool in pg_dump pg_restore; do
		cat >"$dir/$tool" <<-EOF
			#!/bin/bash
			log=\$SPY_LOG
			{
				printf 'argv:'; printf ' %q' "\$0" "\$@"; echo
				echo "PGPASSWORD=\${PGPASSWORD-unset}"
				echo "DATABASE_URL=\${DATABASE_URL-unset}"
				echo "GNUTLS_NO_IMPLICIT_INIT=\${GNUTLS_NO_IMPLICIT_INIT-unset}"
				for v in \$(compgen -e); do
					[[ \$v == SPY_* || \${!v} != *s3cr3t* ]] || echo "secret-in-environment \$v"
				done
				echo "PGPASSFILE=\${PGPASSFILE-unset}"
				if [[ -f \${PGPASSFILE-} ]]; then
					stat -L -c 'passfile-mode=%a' "\$PGPASSFILE"
					# no grep: its command line would hold the secret
					if [[ \$(<"\$PGPASSFILE") == *"\$SPY_SECRET_ESCAPED"* ]]; then echo passfile-has-password; fi
				fi
			} >>"\$log"
			"$STRATA_TEST_CLUSTER_BIN/$tool" "\$@" &
			pid=\$!
			while kill -0 "\$pid" 2>/dev/null; do
				for f in /proc/[0-9]*/cmdline; do
					mapfile -d '' -t a <"\$f" 2>/dev/null && echo "\${a[*]}"
				done >>"\$log.cmdlines"
				sleep 0.02
			done
			wait "\$pid"
		EOF
		chmod +x "$dir/$tool"
	done
}

@test "backup, verify, restore: the password is in no command line, environment or output" {
	make_spy "$PWD/spy"
	export SPY_LOG=$PWD/spy.log SPY_SECRET_ESCAPED='s3cr3t\:Pw\\x'
	export STRATA_PG_BINDIR=$PWD/spy
	# through DATABASE_URL: strata's own command line holds no password either
	export DATABASE_URL="host=$PGHOST port=$PGPORT dbname=$TEST_DB user=pwuser password='s3cr3t:Pw\\\\x'"
	write_migration 1_a.sql "CREATE TABLE a (id int); INSERT INTO a VALUES (1), (2);"
	run strata run
	assert_success
	outputs=$output
	run strata backup
	assert_success
	outputs+=$output
	file=$(the_dump)
	run strata backup verify "$file" --restore-test
	assert_success
	outputs+=$output
	run strata restore "$file" --into "${TEST_DB}_pw"
	assert_success
	outputs+=$output
	run strata --format json backup list
	outputs+=$output
	assert_equal "$(TEST_DB=${TEST_DB}_pw psql_db 'SELECT count(*) FROM a')" 2

	# pg_dump then pg_restore --list (verified after writing); verify's
	# --list and restore test; restore's --list and restore
	assert_equal "$(grep -c '^argv: .*/pg_dump --format=custom' spy.log)" 1
	assert_equal "$(grep -c '^argv: .*/pg_restore --no-password' spy.log)" 2
	assert_equal "$(grep -c '^argv: .*/pg_restore --list' spy.log)" 3
	run grep -c '^passfile-has-password$' spy.log
	assert_output 3
	run grep -v '^PGPASSWORD=unset$' <(grep '^PGPASSWORD=' spy.log)
	assert_output ""
	# no child, even one that connects nowhere, has DATABASE_URL
	assert_equal "$(grep -c '^DATABASE_URL=unset$' spy.log)" "$(grep -c '^argv:' spy.log)"
	# nor what strata's CLI sets for itself: they start as they would
	assert_equal "$(grep -c '^GNUTLS_NO_IMPLICIT_INIT=unset$' spy.log)" "$(grep -c '^argv:' spy.log)"
	run grep secret-in-environment spy.log
	assert_output ""
	run grep -v '^passfile-mode=600$' <(grep '^passfile-mode=' spy.log)
	assert_output ""
	# in memory, inherited as a descriptor: nothing on disk, ever
	run grep -v -E '^PGPASSFILE=(unset|/proc/self/fd/[34])$' <(grep '^PGPASSFILE=' spy.log)
	assert_output ""
	[[ -s spy.log.cmdlines ]]
	run grep -c 'pg_dump --format=custom' spy.log.cmdlines
	[[ $output -ge 1 ]]
	run grep -l 's3cr3t' spy.log spy.log.cmdlines backups/*.json
	assert_failure
	[[ $outputs != *s3cr3t* ]]

	# a wrong password: refused, and not shown
	run env DATABASE_URL="host=$PGHOST port=$PGPORT dbname=$TEST_DB user=pwuser password=wr0ng-s3cret" strata backup
	assert_failure 7
	refute_output --partial "wr0ng"
	run env DATABASE_URL="postgresql://pwuser:wr0ng-s3cret@/$TEST_DB?host=$PGHOST&port=$PGPORT" strata restore "$file" --into x
	assert_failure 7
	refute_output --partial "wr0ng"
}
