#!/usr/bin/env bats
# A history nobody has to fix by hand: every state visible in status,
# validate and check, every way out one audited command, and an audit trail
# that survives reverts: validate, repair, baseline, the audit trail.

load lib

sha384() {
	openssl dgst -sha384 -r "$1" | cut -d' ' -f1
}

sqlx_rows() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		psql_db "SELECT version, description, success, encode(checksum, 'hex') FROM _sqlx_migrations ORDER BY version"
	else
		sqlite3 "$TEST_SQLITE" "SELECT version, description, CASE success WHEN 1 THEN 't' ELSE 'f' END, lower(hex(checksum)) FROM _sqlx_migrations ORDER BY version"
	fi
}

failed_state() {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	write_migration 2_idx.sql "-- no-transaction
CREATE INDEX t_a ON t (id);
CREATE INDEX t_b ON t (nope);"
	run strata run
	assert_failure 1
	assert_output --partial "strata repair --mark-applied 2"
	run strata status
	assert_line --regexp "^2 +failed"
	run strata validate
	assert_failure 4
	assert_output --partial "recorded as failed"
	run strata check
	assert_failure 4
	# completed by hand: mark it applied
	query_db "CREATE INDEX t_b ON t ((id + 1))"
	run strata repair --mark-applied 2
	assert_success
	assert_output "Recorded migration 2 as applied."
	run strata check
	assert_success
	run strata history --version 2 --format json
	run jq -r '[.actions[] | .action + ":" + .outcome] | join(",")' <<<"$output"
	assert_output "apply:failure,repair:success"
	run strata history --action fail --format json
	assert_equal "$(jq -r '[.actions[] | .action + ":" + .outcome] | join(",")' <<<"$output")" "apply:failure"
}

@test "state failed: reported everywhere; repair --mark-applied gets out" {
	for_each_driver failed_state
}

retry_state() {
	write_migration 1_t.sql "CREATE TABLE t (id int);"
	write_migration 2_more.sql "-- no-transaction
CREATE TABLE a (id int);
INSERT INTO nope VALUES (1);"
	run strata run
	assert_failure 1
	# undone by hand and fixed: forget the record, run again
	query_db "DROP TABLE a"
	write_migration 2_more.sql "-- no-transaction
CREATE TABLE a (id int);
INSERT INTO a VALUES (1);"
	run strata repair --retry 2
	assert_success
	run strata check
	assert_failure 3
	run strata run
	assert_success
	assert_line --partial "Applied 2 more"
	run strata repair --retry 2
	assert_failure 4
	assert_output --partial "migration 2 is applied, not recorded as failed"
}

@test "state failed: repair --retry forgets it and the next run applies it" {
	for_each_driver retry_state
}

mismatch_state() {
	write_migration 1_users.sql "CREATE TABLE users (id int);"
	strata run
	local before
	before=$(sha384 migrations/1_users.sql)
	write_migration 1_users.sql "-- the id column
CREATE TABLE users (id int);"
	run strata check
	assert_failure 4
	run strata status
	assert_line --regexp "^1 +checksum-mismatch"
	run strata run
	assert_failure 4
	assert_output --partial "strata repair --accept-checksum 1"
	run strata repair --accept-checksum 1
	assert_success
	assert_line "  applied: $before"
	assert_line "  file:    $(sha384 migrations/1_users.sql)"
	# the diff against the text as applied, from the audit trail
	assert_line "+-- the id column"
	run strata check
	assert_success
	assert_equal "$(sqlx_rows)" "1|users|t|$(sha384 migrations/1_users.sql)"
	run strata run
	assert_success
}

@test "state checksum-mismatch: repair --accept-checksum shows both checksums and the diff" {
	for_each_driver mismatch_state
}

missing_state() {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.up.sql "CREATE TABLE b (id int);"
	write_migration 2_b.down.sql "DROP TABLE b;"
	strata run
	# a branch switch: migration 2's files are gone
	rm migrations/2_b.*
	run strata status
	assert_line --regexp "^2 +missing"
	run strata check
	assert_failure 4
	run strata validate
	assert_failure 4
	assert_output --partial "migration 2 (b) was applied but is missing"
	# reverted with the down SQL stored when it was applied
	run strata revert
	assert_success
	assert_output --partial "reverting it with the down SQL stored when it was applied"
	assert_line --partial "Reverted 2 b"
	run strata check
	assert_success
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_equal "$(psql_db "SELECT to_regclass('b') IS NULL")" t
	else
		assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_master WHERE name = 'b'")" 0
	fi
}

@test "state missing: a deleted reversible migration is reverted from the stored down SQL" {
	for_each_driver missing_state
}

out_of_order_state() {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	strata run
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	run strata status
	assert_line --regexp "^2 +out-of-order"
	run strata check
	assert_failure 3
	run strata validate
	assert_success
	assert_output --partial "will be applied out of order"
	run strata validate --strict-order
	assert_failure 4
	run strata run
	assert_success
	run strata check
	assert_success
}

@test "state out-of-order: reported, a warning for validate, an error with --strict-order" {
	for_each_driver out_of_order_state
}

apply_revert_apply() {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	strata run
	strata revert
	strata run
	run strata history --format json
	assert_success
	run jq -r '.actions[] | [.action, .outcome, .version, (.os_user != null), (.host != null), (.duration_ns > 0), (.started_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")), (.command | startswith("strata ")), .strata_version] | map(tostring) | join("|")' <<<"$output"
	assert_output "apply|success|1|true|true|true|true|true|0.1.0
revert|success|1|true|true|true|true|true|0.1.0
apply|success|1|true|true|true|true|true|0.1.0"
	run strata history
	assert_success
	assert_line --regexp "^1 +[0-9-]{10} [0-9:]{8} +apply +1 +success"
	assert_line --regexp "^2 +[0-9-]{10} [0-9:]{8} +revert +1 +success"
	run strata history --action revert --format json
	assert_equal "$(jq '.actions | length' <<<"$output")" 1
	run strata history --since 2000-01-01 --format json
	assert_equal "$(jq '.actions | length' <<<"$output")" 3
	run strata history --since 2999-01-01 --format json
	assert_equal "$(jq '.actions | length' <<<"$output")" 0
	# sqlx's table holds exactly what sqlx would hold
	assert_equal "$(sqlx_rows)" "1|a|t|$(sha384 migrations/1_a.up.sql)"
}

@test "history: apply, revert, re-apply shows three actions with users, times and durations" {
	for_each_driver apply_revert_apply
}

@test "history: the database user and the git commit are recorded" {
	git init -q .
	git -c user.email=t@example.com -c user.name=t commit -q --allow-empty -m init
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata run
	run strata history --format json
	assert_equal "$(jq -r '.actions[0].db_user' <<<"$output")" postgres
	assert_equal "$(jq -r '.actions[0].git_commit' <<<"$output")" "$(git rev-parse HEAD)"
}

@test "history: the git commit, asked of git while the run goes on, is on every row of a run of many and of a revert" {
	git init -q .
	git -c user.email=t@example.com -c user.name=t commit -q --allow-empty -m init
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.up.sql "CREATE TABLE b (id int);"
	write_migration 2_b.down.sql "DROP TABLE b;"
	strata run
	strata revert --all
	run strata history --format json
	assert_success
	assert_equal "$(jq -r '[.actions[] | .action] | join(",")' <<<"$output")" "apply,apply,revert,revert"
	assert_equal "$(jq -r --arg head "$(git rev-parse HEAD)" '[.actions[] | .git_commit == $head] | all' <<<"$output")" true
}

@test "history: passwords in the command line are not recorded" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata run -d "postgresql://postgres:SECRETpw123@/$TEST_DB?host=$PGHOST&port=$PGPORT"
	# a '#' in the password, and the --option=URL form
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	strata run --database="postgresql://postgres:SECRET%23pw#tail789@/$TEST_DB?host=$PGHOST&port=$PGPORT"
	run psql_db "SELECT command FROM _strata_audit ORDER BY id"
	assert_success
	refute_output --partial SECRETpw123
	refute_output --partial SECRET%23pw
	refute_output --partial tail789
	assert_output --partial " postgresql://postgres:***@"
	assert_output --partial " --database=postgresql://postgres:***@"
}

@test "history: the git child gets no password from DATABASE_URL or PGPASSWORD, even from .env" {
	# a git that writes down its environment, then answers as git does
	mkdir spy
	printf '#!/bin/sh\nenv >>"%s/git.env"\nexec %s "$@"\n' "$PWD" "$(command -v git)" >spy/git
	chmod +x spy/git
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	unset DATABASE_URL
	printf "DATABASE_URL='postgresql://postgres:SECRETpw123@/%s?host=%s&port=%s'\nPGPASSWORD=SECRETpw456\n" \
		"$TEST_DB" "${PGHOST//\//%2F}" "$PGPORT" >.env
	PATH=$PWD/spy:$PATH strata run
	[[ -s git.env ]]
	run grep -c -e SECRETpw -e '^DATABASE_URL=' -e '^PGPASSWORD=' git.env
	assert_output 0
}

mark_and_baseline() {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	write_migration 3_c.sql "CREATE TABLE c (id int);"
	write_migration 4_d.sql "CREATE TABLE d (id int);"
	run strata baseline 2
	assert_success
	assert_output "Recorded 2 migrations up to 2 as applied, without running them."
	run strata mark-applied 4
	assert_success
	run strata mark-applied 4
	assert_failure 4
	assert_output --partial "migration 4 is applied, not pending"
	assert_equal "$(sqlx_rows)" "1|a|t|$(sha384 migrations/1_a.sql)
2|b|t|$(sha384 migrations/2_b.sql)
4|d|t|$(sha384 migrations/4_d.sql)"
	run strata history --format json
	run jq -r '[.actions[].action] | join(",")' <<<"$output"
	assert_output "baseline,baseline,mark-applied"
	# only 3 runs
	run strata run
	assert_success
	assert_output --partial "Applied 3 c"
	refute_output --partial "Applied 1 a"
	run strata mark-applied 9
	assert_failure 4
	assert_output --partial "migration 9 is not in 'migrations'"
}

@test "mark-applied and baseline write sqlx-exact rows without running anything" {
	for_each_driver mark_and_baseline
}

@test "validate: five different problems in one run" {
	unset DATABASE_URL
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 1_again.sql "CREATE TABLE again (id int);"
	write_migration 2_idx.sql "CREATE INDEX CONCURRENTLY i ON a (id);"
	write_migration 3_typo.sql "CREATE TABLE x (id int);
SELEC 1;"
	printf '\xEF\xBB\xBFCREATE TABLE p (id int);\n' >migrations/4_bom.sql
	printf 'SELECT 1;\xff\n' >migrations/5_latin1.sql
	run strata validate --format json
	assert_failure 4
	run jq -r '.problems[] | .file + ":" + (.line // 0 | tostring) + ": " + .message' <<<"$output"
	assert_output "migrations/1_again.sql:0: duplicate up files for migration version 1: 'migrations/1_a.sql' and 'migrations/1_again.sql'
migrations/5_latin1.sql:1: 'migrations/5_latin1.sql' is not valid UTF-8 (line 1, column 10)
migrations/2_idx.sql:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block
migrations/3_typo.sql:2: syntax error at or near \"SELEC\"
migrations/4_bom.sql:1: 'migrations/4_bom.sql' starts with a UTF-8 byte-order mark (EF BB BF)"
	run strata validate
	assert_failure 4
	assert_output --partial "5 problems found."
}
