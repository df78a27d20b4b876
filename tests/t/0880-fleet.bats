#!/usr/bin/env bats
# Fleets: one command over many databases (--targets FILE,
# --targets-query SQL), --jobs at once, each target migrated as a single
# run would; a failing target is named and the rest finish; --canary,
# --fail-fast; a killed fleet run resumes; passwords never shown.

load lib

setup_file() {
	pg_start
}

# N fleet databases named fleet_<test>_<i>, created empty.
make_fleet() {
	local n=$1 sql=""
	FLEET_PREFIX="fleet_${BATS_TEST_NUMBER}_"
	for i in $(seq 1 "$n"); do
		sql+="CREATE DATABASE ${FLEET_PREFIX}$i TEMPLATE template0;"$'\n'
	done
	# one statement at a time: psql -c would make them one transaction
	_pg_psql -d postgres <<<"$sql" >/dev/null
	new_db # the main database, which the query runs on
	FLEET_QUERY="SELECT datname FROM pg_database WHERE datname LIKE '${FLEET_PREFIX}%' ORDER BY datname"
}

# SQL on fleet database $1 (a number)
on() {
	_pg_psql -d "${FLEET_PREFIX}$1" -Atc "$2"
}

three_migrations() {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	write_migration 3_c.sql "INSERT INTO a VALUES (1);"
}

@test "fleet: 50 databases by --targets-query, --jobs 8; re-run is up to date; status and check over the fleet" {
	make_fleet 50
	three_migrations
	run strata --targets-query "$FLEET_QUERY" --jobs 8 run
	assert_success
	assert_output --partial "50 targets: 50 ok, 0 failed, 0 not started."
	for i in 1 17 50; do
		assert_equal "$(on "$i" "SELECT count(*) FROM _sqlx_migrations WHERE success")" 3
		assert_equal "$(on "$i" "SELECT count(*) FROM a")" 1
	done
	# the main database is not a target
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE tablename = '_sqlx_migrations'")" 0
	run strata --targets-query "$FLEET_QUERY" --jobs 8 run
	assert_success
	[[ $(grep -c "up to date" <<<"$output") -ge 50 ]] || fail "$output"
	write_migration 4_d.sql "CREATE TABLE d (id int);"
	run strata --targets-query "$FLEET_QUERY" check
	assert_failure 3
	run strata --format json --targets-query "$FLEET_QUERY" status
	assert_success
	[[ $(jq '[.targets[] | select(.output.summary.pending == 1)] | length' <<<"$output") == 50 ]] || fail "not 50 with one pending"
}

@test "fleet: a failing target is named, the others finish, exit 1; fixed, the re-run completes only it" {
	make_fleet 6
	three_migrations
	# one target already has a table the migrations create
	on 4 "CREATE TABLE b (id int)"
	run strata --targets-query "$FLEET_QUERY" --jobs 3 run
	assert_failure 1
	assert_output --partial "6 targets: 5 ok, 1 failed, 0 not started."
	assert_output --regexp "failed +[0-9.]+ +user=postgres dbname=${FLEET_PREFIX}4 "
	assert_output --partial 'relation "b" already exists (at migrations/2_b.sql:1)'
	assert_equal "$(on 4 "SELECT count(*) FROM _sqlx_migrations")" 1
	assert_equal "$(on 5 "SELECT count(*) FROM _sqlx_migrations")" 3
	on 4 "DROP TABLE b"
	run strata --format json --targets-query "$FLEET_QUERY" run
	assert_success
	[[ $(jq -c '[.targets[] | .output.applied]' <<<"$output") == "[0,0,0,2,0,0]" ]] || fail "$output"
}

@test "fleet: --canary stops the fleet when a canary fails; --fail-fast starts no more" {
	make_fleet 6
	three_migrations
	on 2 "CREATE TABLE b (id int)"
	run strata --targets-query "$FLEET_QUERY" --canary 2 run
	assert_failure 1
	assert_output --partial "Canary failed: 1 of the first 2 targets failed; the other 4 were not started."
	assert_output --partial "6 targets: 1 ok, 1 failed, 4 not started."
	assert_equal "$(on 3 "SELECT count(*) FROM pg_tables WHERE tablename = '_sqlx_migrations'")" 0
	run strata --targets-query "$FLEET_QUERY" --jobs 1 --fail-fast run
	assert_failure 1
	assert_output --partial "6 targets: 1 ok, 1 failed, 4 not started."
	on 2 "DROP TABLE b"
	run strata --targets-query "$FLEET_QUERY" --canary 2 run
	assert_success
	assert_output --partial "6 targets: 6 ok, 0 failed, 0 not started."
}

@test "fleet: kill -9 and SIGINT of the fleet run leave no child and no statement; the re-run completes every target exactly once" {
	make_fleet 8
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_slow.sql "SELECT pg_sleep(0.3); INSERT INTO a VALUES (1);"
	write_migration 3_b.sql "INSERT INTO a VALUES (2);"
	strata --targets-query "$FLEET_QUERY" --jobs 2 run >fleet.out 2>&1 &
	local pid=$!
	sleep 1
	kill -9 "$pid"
	wait "$pid" || true
	# the children saw their parent die: each unwinds, none is left
	for _ in $(seq 1 50); do
		pgrep -f "strata --targets-query" >/dev/null || break
		sleep 0.1
	done
	! pgrep -f "strata --targets-query" || fail "children left running"
	# SIGINT: forwarded once to each running target, which rolls back
	write_migration 4_slow.sql "SELECT pg_sleep(5);"
	env --default-signal strata --targets-query "$FLEET_QUERY" --jobs 2 run >fleet.out 2>&1 &
	pid=$!
	sleep 1.5
	local rc=0 t0
	t0=$(date +%s)
	kill -INT "$pid"
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	(($(date +%s) - t0 < 4)) || fail "the interrupted fleet took too long"
	! pgrep -f "strata --targets-query" || fail "children left running"
	assert_equal "$(_pg_psql -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(5)%' AND pid <> pg_backend_pid()")" 0
	rm migrations/4_slow.sql
	run strata --targets-query "$FLEET_QUERY" --jobs 4 run
	assert_success
	for i in $(seq 1 8); do
		assert_equal "$(on "$i" "SELECT string_agg(id::text, ',' ORDER BY id) FROM a")" "1,2"
		assert_equal "$(on "$i" "SELECT count(*) FROM _sqlx_migrations WHERE success")" 3
	done
}

@test "fleet: --targets FILE with comments and passwords, redacted everywhere; usage errors" {
	make_fleet 2
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	{
		echo "# the fleet"
		echo ""
		echo "postgresql://postgres:Fl33tSecret@/${FLEET_PREFIX}1?host=$STRATA_TEST_CLUSTER_SOCK&port=$STRATA_TEST_CLUSTER_PORT"
		echo "  host=$STRATA_TEST_CLUSTER_SOCK port=$STRATA_TEST_CLUSTER_PORT user=postgres password=Fl33tSecret dbname=${FLEET_PREFIX}2  "
	} >targets.txt
	run strata --targets targets.txt run
	assert_success
	assert_output --partial "2 targets: 2 ok"
	refute_output --partial "Fl33tSecret"
	run strata --format json --targets targets.txt status
	refute_output --partial "Fl33tSecret"
	assert_equal "$(on 2 "SELECT count(*) FROM a")" 0
	# a target that cannot be reached: the report and the log say why
	echo "postgresql://postgres:Fl33tSecret@/${FLEET_PREFIX}nosuch?host=$STRATA_TEST_CLUSTER_SOCK&port=$STRATA_TEST_CLUSTER_PORT" >>targets.txt
	run strata --targets targets.txt status
	assert_failure 1
	assert_output --partial "3 targets: 2 ok, 1 failed"
	[ "$(grep -c "database \"${FLEET_PREFIX}nosuch\" does not exist" <<<"$output")" = 2 ]
	refute_output --partial "Fl33tSecret"
	: >empty.txt
	run strata --targets empty.txt run
	assert_failure 4
	assert_output --partial "the fleet has no target: --targets names none"
	run strata --targets targets.txt new x
	assert_failure 2
	assert_output --partial "takes no fleet"
	run strata --targets targets.txt --jobs 0 run
	assert_failure 2
	assert_output --partial "--jobs wants a number from 1 to 1000, not '0'"
	run strata --targets nope.txt run
	assert_failure 2
	assert_output --partial "cannot read --targets 'nope.txt'"
}

@test "fleet: --schemas, schema per tenant: 50 schemas of one database, each with its tables, history and lock" {
	new_db
	local sql=""
	for i in $(seq 1 50); do
		sql+="CREATE SCHEMA tenant_$i;"
	done
	psql_db "$sql CREATE SCHEMA other;" >/dev/null
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "INSERT INTO a VALUES (1);"
	run strata --schemas 'tenant\_%' --jobs 8 run
	assert_success
	assert_output --partial "50 targets: 50 ok, 0 failed, 0 not started."
	assert_output --partial " schema tenant_17"
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE tablename = 'a'")" 50
	assert_equal "$(psql_db "SELECT count(*) FROM tenant_33._sqlx_migrations WHERE success")" 2
	assert_equal "$(psql_db "SELECT count(*) FROM tenant_33.a")" 1
	# nothing in public, nor in the schema the pattern leaves out
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE schemaname IN ('public', 'other')")" 0
	# one tenant alone; status over the fleet
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	run strata --schema tenant_5 run
	assert_success
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE tablename = 'c'")" 1
	run strata --schemas 'tenant\_%' check
	assert_failure 3
	run strata --schema nope run
	assert_failure 2
	assert_output --partial "no schema 'nope' in"
}

@test "fleet: --schema takes each tenant's own lock: a tenant locked elsewhere does not stop another" {
	new_db
	psql_db "CREATE SCHEMA t1; CREATE SCHEMA t2;" >/dev/null
	write_migration 1_slow.sql "SELECT pg_sleep(3); CREATE TABLE a (id int);"
	strata --schema t1 run >t1.out 2>&1 &
	local pid=$!
	sleep 1
	# t1's run holds its lock now; t2 needs no wait
	run strata --schema t2 --lock-wait 0 status
	assert_success
	run timeout 10 strata --schema t2 --lock-wait 0.5s run
	assert_success
	wait "$pid"
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE tablename = 'a'")" 2
}

@test "fleet: --fleet NAME from strata.conf; what a target waits on is logged; --jobs capped by the server's free connections" {
	new_db
	psql_db "CREATE SCHEMA tenant_1; CREATE SCHEMA tenant_2; CREATE SCHEMA tenant_3;" >/dev/null
	write_migration 1_slow.sql "SELECT pg_sleep(2); CREATE TABLE a (id int);"
	printf '[fleet.tenants]\nschemas = tenant\\_%%\njobs = 3\n' >strata.conf
	# tenant_2 busy elsewhere: the fleet says what that target waits on
	strata --schema tenant_2 run >busy.out 2>&1 &
	local pid=$!
	await_sql "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2)%' AND pid <> pg_backend_pid()" >/dev/null
	run strata --fleet tenants run
	wait "$pid"
	assert_success
	assert_output --partial "3 targets: 3 ok, 0 failed, 0 not started."
	assert_output --regexp "schema tenant_2: waiting for the migration lock, held by pid [0-9]+"
	assert_equal "$(psql_db "SELECT count(*) FROM pg_tables WHERE tablename = 'a'")" 3
	# far more jobs than the server has connections for
	run strata --fleet tenants --jobs 1000 status
	assert_success
	assert_output --regexp "strata: [0-9]+ targets at once, not 1000: the server has [0-9]+ free connections, and each target takes up to three"
	run strata --fleet nope run
	assert_failure 2
	assert_output --partial "no fleet 'nope' in strata.conf"
	printf '[fleet.empty]\njobs = 2\n' >strata.conf
	run strata --fleet empty run
	assert_failure 2
	assert_output --partial "fleet 'empty' of strata.conf names no targets"
	printf '[fleet.bad]\ntarget = x\n' >strata.conf
	run strata --fleet bad run
	assert_failure 2
	assert_output --partial "unknown key 'target' in [fleet.bad]"
}
