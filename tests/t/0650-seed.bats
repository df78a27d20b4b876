#!/usr/bin/env bats
# strata seed: the seeds folder's .sql files, then the active
# environment's, in name order, each in its own transaction, recorded in
# the audit trail and never in the history; production refused unless
# asked; nothing skipped unsaid; database setup --seed.

load lib

setup_file() {
	pg_start
}

# $1: SQL on the test database, either driver
q() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		psql_db "$1"
	else
		sqlite3 "$TEST_SQLITE" "$1"
	fi
}

seed_folder() {
	write_migration 1_users.sql "CREATE TABLE users (id int PRIMARY KEY, name text);"
	mkdir -p seeds/development seeds/test
	echo "INSERT INTO users VALUES (1, 'all');" >seeds/01_all.sql
	echo "INSERT INTO users VALUES (3, 'dev');" >seeds/development/02_dev.sql
	echo "INSERT INTO users VALUES (4, 'test');" >seeds/test/02_test.sql
	echo "INSERT INTO users VALUES (2, 'all too');" >seeds/00_first.sql
	printf '[environment.test]\n[environment.production]\n' >strata.conf
}

# users' names in id order, one line
names() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		psql_db "SELECT string_agg(name, ',' ORDER BY id) FROM users"
	else
		sqlite3 "$TEST_SQLITE" "SELECT group_concat(name) FROM (SELECT name FROM users ORDER BY id)"
	fi
}

in_order() {
	seed_folder
	strata -q run
	run strata seed
	assert_success
	assert_line --index 0 --regexp "^Seeded seeds/00_first.sql \([0-9.]+ ms\)$"
	assert_line --index 1 --regexp "^Seeded seeds/01_all.sql "
	assert_line --index 2 --regexp "^Seeded seeds/development/02_dev.sql "
	refute_output --partial "02_test"
	assert_equal "$(names)" "all,all too,dev"
	# the audit trail has them, the history does not
	assert_equal "$(q "SELECT count(*) FROM _sqlx_migrations")" 1
	run strata history
	assert_output --partial "seeds/development/02_dev.sql"
	# -e test: the test folder instead; NAME picks
	q "DELETE FROM users"
	run strata -e test seed 02_test.sql 00_first
	assert_success
	assert_equal "$(names)" "all too,test"
	run strata --format json -e test seed 01_all
	assert_success
	[[ $(jq -r '.environment + " " + .seeded[0].file' <<<"$output") == "test seeds/01_all.sql" ]]
}

@test "seed: the folder's files, then the environment's, in name order; audited, not in the history" {
	for_each_driver in_order
}

failing() {
	seed_folder
	strata -q run
	printf "INSERT INTO users VALUES (5, 'x');\nINSERT INTO userz VALUES (6);\n" >seeds/01_all.sql
	run strata seed
	assert_failure 1
	assert_output --partial "at seeds/01_all.sql:2:"
	assert_output --partial "The 1 seed file before it stays applied, each in its own transaction; 'seeds/01_all.sql' was rolled back."
	# the failing file left nothing; the one before it stays; none after ran
	assert_equal "$(names)" "all too"
	assert_equal "$(q "SELECT count(*) FROM _strata_audit WHERE action = 'seed' AND outcome = 'failure'")" 1
	# JSON: the error is the one document
	run --separate-stderr strata --format json seed
	assert_failure 1
	[[ $(jq -s -c '[length, (.[0].error.file != null)]' <<<"$output") == '[1,true]' ]] || fail "$output"
}

@test "seed: a failing file is rolled back whole, named with its line; the files before it stay" {
	for_each_driver failing
}

@test "seed: production is refused unless --yes or allow_seed = true" {
	sqlite_db
	seed_folder
	strata -q run
	run strata -e production seed
	assert_failure 2
	assert_output --partial "refusing to seed the production environment"
	assert_output --partial "allow_seed = true in [environment.production]"
	assert_equal "$(q "SELECT count(*) FROM users")" 0
	run strata -e production seed --yes
	assert_success
	q "DELETE FROM users"
	printf '[environment.production]\nallow_seed = true\n' >strata.conf
	run strata -e production seed
	assert_success
	# database setup --seed asks the same
	printf '[environment.production]\n' >strata.conf
	run strata -e production database setup --seed
	assert_failure 2
	assert_output --partial "refusing to seed the production environment"
}

@test "seed: nothing skipped unsaid: other files, a missing or empty folder, an unknown name" {
	sqlite_db
	seed_folder
	strata -q run
	echo "notes" >seeds/README.txt
	run strata seed
	assert_failure 4
	assert_output --partial "'seeds/README.txt' is not a seed file"
	rm seeds/README.txt
	run strata seed nope
	assert_failure 2
	assert_output --partial "no seed named 'nope' (there are: seeds/00_first.sql, seeds/01_all.sql, seeds/development/02_dev.sql)"
	run strata seed --seeds elsewhere
	assert_failure 4
	assert_output --partial "cannot read the seeds folder 'elsewhere'"
	assert_output --partial "Put the seed files (.sql) in 'elsewhere'"
	mkdir empty
	run strata seed --seeds empty
	assert_failure 4
	assert_output --partial "'empty' holds no seed file for the development environment"
	assert_equal "$(q "SELECT count(*) FROM users")" 0
	printf '[strata]\nseeds = empty\n' >strata.conf
	run strata seed
	assert_failure 4
	assert_output --partial "'empty' holds no seed file"
}

@test "seed: what one transaction cannot hold is refused before anything runs" {
	new_db
	seed_folder
	strata -q run
	printf 'CREATE INDEX CONCURRENTLY users_name ON users (name);\n' >seeds/01_all.sql
	run strata seed
	assert_failure 4
	assert_output --partial "CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and a seed runs in one"
	assert_output --partial "seeds/01_all.sql:1:1"
	printf 'BEGIN;\nINSERT INTO users VALUES (7);\nCOMMIT;\n' >seeds/01_all.sql
	run strata seed 01_all
	assert_failure 4
	assert_output --partial "would end the transaction the seed runs in"
	assert_equal "$(q "SELECT count(*) FROM users")" 0
}

@test "database setup --seed: create, migrate, seed; --seed only with setup and reset" {
	new_db
	psql_db "SELECT 1" >/dev/null
	seed_folder
	run strata database setup --seed
	assert_success
	assert_output --partial "Seeded seeds/development/02_dev.sql"
	assert_equal "$(q "SELECT count(*) FROM users")" 3
	run strata database create --seed
	assert_failure 2
	assert_output --partial "--seed goes with setup and reset"
	run strata database reset --seed --yes --force
	assert_success
	assert_equal "$(q "SELECT count(*) FROM users")" 3
}
