#!/usr/bin/env bats
# strata lint and run's lint gate: reporters (text, JSON, GitHub, SARIF),
# which migrations are linted, severities from strata.conf, suppression,
# and run refusing error-level findings (exit 5, nothing applied).

load lib

unsafe_drop() {
	write_migration 1_users.sql "CREATE TABLE users (id bigint PRIMARY KEY, legacy text);"
	write_migration 2_drop.sql "ALTER TABLE users DROP COLUMN legacy;"
}

@test "lint: compiler-style text, the hint below, exit 5 on an error" {
	unset DATABASE_URL # a database would know there is no table 'users'
	write_migration 1_a.sql "SET lock_timeout = '5s';
ALTER TABLE users DROP COLUMN legacy;"
	run --separate-stderr strata lint
	assert_failure 5
	assert_line --index 0 "migrations/1_a.sql:2:1: error: dropping column 'legacy' of 'users' breaks the code still reading it [ban-drop-column]"
	assert_line --index 1 --partial "  hint: Stop reading the column"
	[[ $stderr == "1 error, 0 warnings in 1 file (2 statements)." ]]
}

@test "lint: warnings alone exit 0; a clean source says so" {
	write_migration 1_a.sql "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(20));"
	run strata lint
	assert_success
	assert_output --partial "[prefer-text-field]"
	write_migration 1_a.sql "CREATE TABLE t (id bigint PRIMARY KEY, name text);"
	run strata lint
	assert_success
	assert_output "No problems in 1 file (1 statement)."
}

@test "lint FILES: the files given, wherever they are" {
	mkdir other
	printf 'DROP TABLE old;\n' >other/x.sql
	printf -- '-- no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (c);\n' >other/y.sql
	run strata lint other/x.sql other/y.sql
	assert_failure 5
	assert_output --partial "other/x.sql:1:1: error: dropping table 'old'"
	refute_output --partial "other/y.sql"
	run strata lint other/missing.sql
	assert_failure
	assert_output --partial "other/missing.sql"
}

@test "lint --format json: findings with rule, severity, place, message, hint" {
	unset DATABASE_URL
	write_migration 1_a.sql "SET lock_timeout = '5s';
CREATE INDEX users_email_idx ON users (email);
CREATE TABLE t (id bigint PRIMARY KEY, at timestamp);"
	run --separate-stderr strata lint --format json
	assert_failure 5
	run jq -c '[.files, .statements, .errors, .warnings, .pg_version]' <<<"$output"
	assert_output '[1,3,1,1,150000]'
	run jq -c '.findings[0] | [.rule, .severity, .file, .line, .column, .statement, (.message | test("users_email_idx")), (.hint | length > 0)]' <<<"$(strata lint --format json)"
	assert_output '["require-concurrent-index-creation","error","migrations/1_a.sql",2,33,2,true,true]'
	run strata lint --reporter json
	assert_failure 5
	jq -e '.findings | length == 2' <<<"$output"
}

@test "lint --reporter sarif: valid SARIF 2.1.0 with rules and results" {
	unset DATABASE_URL
	write_migration 1_a.sql "SET lock_timeout = '5s';
ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();
CREATE TABLE t (id int PRIMARY KEY);"
	run --separate-stderr strata lint --reporter sarif
	assert_failure 5
	sarif=$output
	jq -e '.version == "2.1.0"' <<<"$sarif"
	jq -e '."$schema" | test("sarif-2.1.0")' <<<"$sarif"
	jq -e '.runs[0].tool.driver.name == "strata"' <<<"$sarif"
	jq -e '.runs[0].tool.driver.rules | length > 40' <<<"$sarif"
	jq -e '[.runs[0].tool.driver.rules[] | has("id") and has("shortDescription") and (.defaultConfiguration.level | IN("error", "warning", "none"))] | all' <<<"$sarif"
	jq -e '.runs[0].results | length == 2' <<<"$sarif"
	jq -e '[.runs[0].results[] | (.ruleId | type == "string") and (.level | IN("error", "warning")) and (.message.text | length > 0) and (.locations[0].physicalLocation.artifactLocation.uri == "migrations/1_a.sql") and (.locations[0].physicalLocation.region.startLine > 0) and (.locations[0].physicalLocation.region.startColumn > 0)] | all' <<<"$sarif"
	# ruleIndex points at the rule of the same id
	jq -e '[.runs[0] as $r | $r.results[] | $r.tool.driver.rules[.ruleIndex].id == .ruleId] | all' <<<"$sarif"
	run jq -c '[.runs[0].results[] | [.ruleId, .level, .locations[0].physicalLocation.region.startLine]]' <<<"$sarif"
	assert_output '[["adding-field-with-default","error",2],["prefer-bigint-over-int","warning",3]]'
}

@test "lint --reporter github: workflow commands, escaped" {
	unset DATABASE_URL
	write_migration 1_a.sql "SET lock_timeout = '5s';
ALTER TABLE users DROP COLUMN legacy;"
	run --separate-stderr strata lint --reporter github
	assert_failure 5
	assert_line --index 0 --regexp "^::error file=migrations/1_a.sql,line=2,col=1,title=ban-drop-column::dropping column 'legacy' of 'users' breaks the code still reading it%0AStop reading"
}

@test "lint: usage errors exit 2; --list-rules lists every rule with its severity" {
	run strata lint --reporter xml
	assert_failure 2
	assert_output --partial "--reporter wants text, json, github or sarif"
	run strata lint --pg-version nine
	assert_failure 2
	run strata lint --list-rules
	assert_success
	assert_line --regexp "^ban-drop-column +error +dropping a column$"
	assert_line --regexp "^prefer-text-field +warning "
	run strata lint --list-rules --format json
	jq -e 'length > 40 and all(has("id") and has("severity") and has("summary") and has("hint"))' <<<"$output"
}

@test "lint: a parse error is a finding at its exact place" {
	write_migration 1_a.sql "CREATE TABLE t (id bigint PRIMARY KEY);
INSERT INTO t VALUES (1) (2);"
	run strata lint
	assert_failure 5
	assert_line "migrations/1_a.sql:2:26: error: syntax error at or near \"(\" [parse-error]"
	run strata lint --pg-version 16
	assert_success
	assert_output --partial "warning: syntax error"
}

@test "lint: with a database, the pending migrations only, as one run" {
	write_migration 1_users.sql "CREATE TABLE users (id bigint PRIMARY KEY);"
	write_migration 2_index.sql "CREATE INDEX users_id_idx ON users (id);"
	# both pending: users will be new when the index is built
	run strata lint
	assert_success
	refute_output --partial "require-concurrent-index-creation"
	# without a database every file stands alone
	run env -u DATABASE_URL strata lint
	assert_failure 5
	assert_output --partial "[require-concurrent-index-creation]"
	strata run --target-version 1
	# users exists now: its size grades the lock (an empty table: a note)
	run strata lint
	assert_success
	assert_output --partial "migrations/2_index.sql:1:30: note: creating index 'users_id_idx' on 'users' without CONCURRENTLY"
	printf '[lint]\nbig_table_size = 1kB\n' >strata.conf
	run strata lint
	assert_failure 5
	assert_output --partial "migrations/2_index.sql:1:30: error: creating index 'users_id_idx' on 'users' without CONCURRENTLY"
	rm strata.conf
	# applied migrations are not linted, --all lints them anyway
	write_migration 2_index.sql "-- no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_id_idx ON users (id);"
	strata run
	write_migration 3_ok.sql "CREATE TABLE more (id bigint PRIMARY KEY);"
	run strata lint
	assert_success
	assert_output "No problems in 1 file (1 statement)."
	run strata lint --all
	assert_success
	assert_output "No problems in 3 files (3 statements)."
}

@test "lint: the target version is the server's" {
	write_migration 1_a.sql "CREATE TABLE t (id bigint PRIMARY KEY);"
	run strata lint --format json
	assert_success
	server=$(psql_db "SHOW server_version_num")
	jq -e ".pg_version == $server" <<<"$output"
	run strata lint --format json --pg-version 11
	jq -e '.pg_version == 110000' <<<"$output"
}

@test "lint: severities and ignores from strata.conf's [lint]" {
	write_migration 1_a.sql "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(20));
ALTER TABLE users DROP COLUMN legacy;"
	cat >strata.conf <<-'EOF'
		[lint]
		prefer-text-field = error
		ban-drop-column = off
		require-lock-timeout = warning
	EOF
	run env -u DATABASE_URL strata lint
	assert_failure 5
	assert_output --partial "error: column 'name' of 't' is varchar(20)"
	refute_output --partial "ban-drop-column"
	run env -u DATABASE_URL strata lint --list-rules
	assert_line --regexp "^ban-drop-column +off "
	printf '[lint]\nno-such-rule = off\n' >strata.conf
	run env -u DATABASE_URL strata lint
	assert_failure 2
	assert_output --partial "'no-such-rule' in [lint] is not a lint rule at 'strata.conf' line 2"
	printf '[lint]\nban-drop-column = maybe\n' >strata.conf
	run env -u DATABASE_URL strata lint
	assert_failure 2
	assert_output --partial "wants error, warning or off, not 'maybe'"
}

@test "lint: suppression comments, and an ignore that suppresses nothing" {
	write_migration 1_a.sql "SET lock_timeout = '5s';
-- strata-lint-ignore ban-drop-column: unused since v2
ALTER TABLE users DROP COLUMN legacy;
-- strata-lint-ignore renaming-table
ALTER TABLE users ADD COLUMN note text;"
	run strata lint
	assert_success
	assert_output --partial "migrations/1_a.sql:4:1: warning: this ignore of 'renaming-table' suppresses nothing [unused-ignore]"
	refute_output --partial "[ban-drop-column]"
}

@test "lint: a SQLite database is not PostgreSQL" {
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE t (id INTEGER PRIMARY KEY);"
	run strata lint
	assert_failure 2
	assert_output --partial "the linter reads PostgreSQL SQL"
	run strata lint migrations/1_a.sql
	assert_success
}

# ---- run's gate

@test "run: an error-level finding stops the run, nothing applied (exit 5)" {
	unsafe_drop
	strata run --target-version 1
	write_migration 3_more.sql "CREATE TABLE more (id bigint PRIMARY KEY);"
	run strata run
	assert_failure 5
	assert_output --partial "migrations/2_drop.sql:1:1: error: dropping column 'legacy' of 'users' breaks the code still reading it [ban-drop-column]"
	assert_output --partial "the migrations to apply have 1 lint error: nothing was applied"
	assert_output --partial "--allow-unsafe"
	assert_equal "$(psql_db "SELECT string_agg(version::text, ',') FROM _sqlx_migrations")" 1
	assert_equal "$(psql_db "SELECT to_regclass('more') IS NULL")" t
	run strata check
	assert_failure 3
}

@test "run --allow-unsafe applies despite lint errors, and says so" {
	unsafe_drop
	strata run --target-version 1
	run strata run --allow-unsafe
	assert_success
	assert_output --partial "[ban-drop-column]"
	assert_output --partial "applying despite 1 lint error (unsafe migrations allowed)"
	assert_line --partial "Applied 2 drop"
	assert_equal "$(psql_db "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'legacy'")" 0
}

@test "run: a suppression comment lets a deliberate change through" {
	unsafe_drop
	strata run --target-version 1
	write_migration 2_drop.sql "-- strata-lint-ignore ban-drop-column: unused since v2
ALTER TABLE users DROP COLUMN legacy;"
	run strata run
	assert_success
	assert_line --partial "Applied 2 drop"
}

@test "run: tables created earlier in the same run are new; warnings stay quiet" {
	write_migration 1_users.sql "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(20));"
	write_migration 2_index.sql "CREATE INDEX users_name_idx ON users (name);
ALTER TABLE users ADD COLUMN note text;"
	run strata run
	assert_success
	refute_output --partial "prefer-text-field"
	assert_line --partial "Applied 2 index"
}

@test "run --dry-run shows every finding, and exits 5 when a run would refuse" {
	unsafe_drop
	strata run --target-version 1
	write_migration 3_t.sql "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(20));"
	run strata run --dry-run
	assert_failure 5
	assert_output --partial "error: dropping column 'legacy'"
	assert_output --partial "warning: column 'name' of 't' is varchar(20)"
	assert_output --partial "a run would apply nothing"
	run strata run --dry-run --allow-unsafe
	assert_success
	assert_output --partial "[ban-drop-column]"
	assert_line "Would apply 2 drop"
	rm migrations/2_drop.sql
	run strata run --dry-run --ignore-missing
	assert_success
	assert_output --partial "[prefer-text-field]"
	assert_line "Would apply 3 t"
	assert_equal "$(psql_db "SELECT to_regclass('t') IS NULL")" t
}

@test "run --format json: the gate's findings, with the error" {
	unsafe_drop
	strata run --target-version 1
	run --separate-stderr strata run --format json
	assert_failure 5
	run jq -c '[.error.code, (.lint | map(select(.severity == "error")) | length), .lint[0].rule, .lint[0].file]' <<<"$output"
	assert_output '[5,1,"ban-drop-column","migrations/2_drop.sql"]'
	run --separate-stderr strata run --format json --allow-unsafe
	assert_success
	# no require-lock-timeout: the runner sets lock_timeout itself
	jq -e '.applied == 1 and (.lint | map(.rule) == ["ban-drop-column"])' <<<"$output"
	write_migration 3_more.sql "ALTER TABLE users ADD COLUMN nick text;"
	run --separate-stderr strata run --format json --lock-timeout 0 --dry-run
	jq -e '.lint | map(.rule) | index("require-lock-timeout") != null' <<<"$output"
}

@test "run: strata.conf's [lint] severities apply to the gate" {
	unsafe_drop
	strata run --target-version 1
	printf '[lint]\nban-drop-column = warning\n' >strata.conf
	run strata run
	assert_success
	assert_line --partial "Applied 2 drop"
}

@test "run on SQLite is not linted" {
	sqlite_db
	write_migration 1_a.sql "CREATE TABLE t (id INTEGER PRIMARY KEY, legacy TEXT);"
	write_migration 2_b.sql "ALTER TABLE t DROP COLUMN legacy;"
	run strata run
	assert_success
	assert_line --partial "Applied 2 b"
}

@test "lint and the gate leak nothing (valgrind)" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	[[ $STRATA_BIN != */asan/* ]] || skip "valgrind cannot run an ASan build"
	n=1
	for f in "$STRATA_TEST_DIR"/../golden/lint/*.sql; do
		cp "$f" "migrations/${n}_$(basename "$f")"
		n=$((n + 1))
	done
	vg() {
		valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
			--errors-for-leak-kinds=definite,indirect,possible \
			--error-exitcode=99 -q "$STRATA_BIN" "$@"
	}
	run vg lint --reporter sarif
	assert_failure 5
	run vg lint --reporter github
	assert_failure 5
	rm migrations/*parse-error* migrations/*concurrently-in-transaction.sql \
		migrations/*require-lock-timeout.sql migrations/*batch-unbounded*
	run vg run
	assert_failure 5
	run vg run --dry-run --allow-unsafe --format json
	assert_success
}

@test "lint: strata's runner sets lock_timeout, so require-lock-timeout needs --lock-timeout 0" {
	write_migration 1_alter.sql "ALTER TABLE users ADD COLUMN nick text;"
	run strata lint migrations/1_alter.sql
	assert_success
	refute_output --partial "[require-lock-timeout]"
	run strata lint --lock-timeout 0 migrations/1_alter.sql
	assert_success
	assert_output --partial "[require-lock-timeout]"
}

@test "lint --notes: prefer-robust-stmts in a transactional file is a note, reported only when asked" {
	unset DATABASE_URL
	write_migration 1_a.sql "CREATE TABLE t (id bigint PRIMARY KEY);
CREATE INDEX t_id ON t (id);"
	run --separate-stderr strata lint
	assert_success
	assert_output ""
	[[ $stderr == "No problems in 1 file (2 statements)." ]]
	run --separate-stderr strata lint --notes
	assert_success
	assert_line --index 0 "migrations/1_a.sql:1:1: note: CREATE TABLE 't' without IF NOT EXISTS fails if this statement runs a second time [prefer-robust-stmts]"
	assert_line --index 1 --partial "  hint: Harmless while it runs in one transaction"
	assert_line --index 2 --partial "migrations/1_a.sql:2:1: note: CREATE INDEX 't_id' without IF NOT EXISTS"
	[[ $stderr == "No problems in 1 file (2 statements, 2 notes)." ]]
	run strata lint --notes --reporter json
	assert_success
	[[ $(jq -c '[.notes, [.findings[].severity]]' <<<"$output") == '[2,["note","note"]]' ]]
	run strata lint --reporter sarif
	[[ $(jq '.runs[0].results | length' <<<"$output") == 0 ]]
	# outside a transaction it stays a warning, asked or not
	write_migration 2_b.sql "-- no-transaction
CREATE INDEX CONCURRENTLY t_id2 ON t (id);"
	run strata lint
	assert_success
	assert_output --partial "migrations/2_b.sql:2:1: warning: CREATE INDEX CONCURRENTLY 't_id2' without IF NOT EXISTS"
	refute_output --partial "migrations/1_a.sql"
}
