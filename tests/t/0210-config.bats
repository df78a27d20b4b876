#!/usr/bin/env bats
# strata.conf (design.md, Databases): --database, else DATABASE_URL, else the
# active environment; its values win over [strata]'s; typos are errors.

load lib

# SQLite only: no PostgreSQL cluster for this file
setup_file() { :; }
teardown_file() { :; }

setup() {
	sqlite_db
	unset DATABASE_URL STRATA_ENV
	mkdir -p db/migrations
	printf 'CREATE TABLE a (id INTEGER);\n' >db/migrations/1_a.sql
	cat >strata.conf <<'CONF'
; settings for every environment
[strata]
source = db/migrations
environment = development

[environment.development]
database = sqlite:dev.db

[environment.test]
database = sqlite:test-env.db
table = test_history
lock_wait = 5s
CONF
}

@test "config: the default environment's database and [strata]'s source" {
	run strata run
	assert_success
	assert_line --partial "Applied 1 a"
	[[ -f dev.db ]]
	[[ ! -f test-env.db ]]
}

@test "config: -e and STRATA_ENV choose the environment; its table wins" {
	run strata run -e test
	assert_success
	assert_equal "$(sqlite3 test-env.db 'SELECT version FROM test_history')" 1
	run env STRATA_ENV=test strata check
	assert_success
	strata database create
	run strata check
	assert_failure 3
}

@test "config: DATABASE_URL and --database win over the configuration" {
	DATABASE_URL=sqlite:from-env.db run strata run
	assert_success
	[[ -f from-env.db && ! -f dev.db ]]
	run strata -d sqlite:from-flag.db run -e test
	assert_success
	[[ -f from-flag.db ]]
	assert_equal "$(sqlite3 from-flag.db 'SELECT version FROM test_history')" 1
}

@test "config: an unknown environment, key or section is an error naming the line" {
	run strata status -e staging
	assert_failure 2
	assert_output --partial "no environment 'staging' in strata.conf"
	printf '[environment.development]\ndatabse = sqlite:x.db\n' >strata.conf
	run strata status
	assert_failure 2
	assert_output --partial "unknown key 'databse' in [environment.development] at 'strata.conf' line 2"
	printf '[production]\ndatabase = sqlite:x.db\n' >strata.conf
	run strata status
	assert_failure 2
	assert_output --partial "unknown section '[production]'"
}

@test "config: --config names another file, which must exist" {
	mv strata.conf other.conf
	run strata --config other.conf run -e test
	assert_success
	run strata --config missing.conf status
	assert_failure 2
	assert_output --partial "could not read configuration 'missing.conf'"
}
