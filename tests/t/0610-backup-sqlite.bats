#!/usr/bin/env bats
# strata backup / restore on SQLite, through SQLite's online backup API:
# round trip, the manifest, verify, restore's refusals, kinds, run --backup.

load lib

setup_file() { :; }
teardown_file() { :; }
setup() { sqlite_db; }

schema_and_data() {
	write_migration 1_users.sql "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE, note BLOB);"
	write_migration 2_orders.sql "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users, total REAL); CREATE INDEX orders_user ON orders (user_id); CREATE VIEW big AS SELECT * FROM orders WHERE total > 100;"
	strata run >/dev/null
	sqlite3 "$TEST_SQLITE" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO users (email, note) SELECT 'u' || i || '@example.com', randomblob(i % 50) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO orders SELECT i, (i % 300) + 1, i * 1.5 FROM n;"
}

# name, rows and MD5 of every table's content, of SQLite file $1
# Per-table row counts and content hashes, and the schema's hash. The
# audit trail is left out: a restore adds its own row there, by design.
checksums() {
	local db=${1:-$TEST_SQLITE} t
	sqlite3 "$db" "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT IN ('_strata_audit', 'sqlite_sequence') ORDER BY name" |
		while read -r t; do
			printf '%s %s %s\n' "$t" "$(sqlite3 "$db" "SELECT count(*) FROM \"$t\"")" \
				"$(sqlite3 -csv "$db" "SELECT * FROM \"$t\" ORDER BY rowid" | md5sum | cut -d' ' -f1)"
		done
	sqlite3 "$db" "SELECT type, name, sql FROM sqlite_schema ORDER BY name" | md5sum
}

flip_byte() {
	local off b
	off=$(($(stat -c %s "$1") / 2))
	b=$(od -An -tu1 -j "$off" -N 1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$off" conv=notrunc status=none
}

@test "sqlite backup: round trip (migrate, load, back up, drop, restore) gives identical contents" {
	schema_and_data
	before=$(checksums)
	run strata backup
	assert_success
	assert_output --partial "Backed up to backups/test-"
	file=$(ls backups/*.sqlite)
	manifest=${file%.sqlite}.json
	run jq -r '[.driver, .kind, .database_name, .newest_applied_version, .server_version] | map(tostring) | join(" ")' "$manifest"
	assert_output "sqlite full test 2 $(sqlite3 :memory: 'SELECT sqlite_version()')"
	assert_equal "$(jq -r .sha256 "$manifest")" "$(sha256sum "$file" | cut -d' ' -f1)"
	run jq -r '.tables[] | "\(.name) \(.rows)"' "$manifest"
	assert_output "_sqlx_migrations 2
_strata_audit 2
orders 1000
users 300"
	# a self-contained file: rollback journal, nothing beside it
	assert_equal "$(od -An -tu1 -j 18 -N 2 "$file" | xargs)" "1 1"
	run ls -A backups
	assert_output "$(basename "$manifest")
$(basename "$file")"

	strata database drop --yes
	run strata restore "$file"
	assert_success
	assert_equal "$(checksums)" "$before"
	strata check
}

@test "sqlite backup of a WAL database; verify, restore test, a flipped byte" {
	schema_and_data
	sqlite3 "$TEST_SQLITE" "PRAGMA journal_mode = WAL" >/dev/null
	before=$(checksums)
	strata backup >/dev/null
	file=$(ls backups/*.sqlite)
	assert_equal "$(checksums "$file")" "$before"
	run strata backup verify "$file" --restore-test
	assert_success
	assert_output --partial "row counts of 4 tables match"
	cp "${file%.sqlite}.json" m.orig
	jq '(.tables[] | select(.name == "users") | .rows) = 7' m.orig >"${file%.sqlite}.json"
	run strata backup verify "$file" --restore-test
	assert_failure 4
	assert_output --partial "table 'users' has 300 rows after restoring, the manifest says 7"
	cp m.orig "${file%.sqlite}.json"
	flip_byte "$file"
	run strata backup verify "$file"
	assert_failure 4
	assert_output --partial "is damaged: its SHA-256 differs"
	run strata restore "$file" --into other.db
	assert_failure 4
	[[ ! -e other.db ]]
	# not a backup at all
	echo nope >plain.sqlite
	run strata backup verify plain.sqlite
	assert_failure 4
	assert_output --partial "backup 'plain.sqlite' has no manifest"
}

@test "sqlite restore: refuses a non-empty target, wants --yes; --into a new file" {
	schema_and_data
	before=$(checksums)
	strata backup >/dev/null
	file=$(ls backups/*.sqlite)
	sqlite3 "$TEST_SQLITE" "INSERT INTO users (email) VALUES ('late'); CREATE TABLE later (x);"
	run strata restore "$file"
	assert_failure 1
	assert_output --partial "it is not empty"
	run strata restore "$file" --clean </dev/null
	assert_failure 2
	run strata restore "$file" --clean --yes
	assert_success
	assert_equal "$(checksums)" "$before"
	run strata restore "$file" --into copy.db
	assert_success
	assert_output --partial "into 'sqlite:copy.db'"
	assert_equal "$(checksums copy.db)" "$before"
	run strata restore "$file" --into sqlite::memory:
	assert_failure 2
}

@test "sqlite backup --kind schema keeps no rows; --kind data is refused" {
	schema_and_data
	run strata backup --kind schema
	assert_success
	file=$(ls backups/*-schema.sqlite)
	assert_equal "$(jq -r '[.tables[].rows] | add' "${file%.sqlite}.json")" 0
	assert_equal "$(sqlite3 "$file" 'SELECT count(*) FROM users')" 0
	assert_equal "$(sqlite3 "$file" "SELECT sql FROM sqlite_schema WHERE name = 'orders_user'")" \
		"$(sqlite3 "$TEST_SQLITE" "SELECT sql FROM sqlite_schema WHERE name = 'orders_user'")"
	strata backup verify "$file" --restore-test
	run strata backup --kind data
	assert_failure 2
	assert_output --partial "no data-only backups"
	assert_equal "$(ls -A backups | wc -l)" 2
}

@test "sqlite run --backup: the state before, tagged; JSON output" {
	write_migration 1_a.sql "CREATE TABLE a (id INTEGER); INSERT INTO a VALUES (1);"
	strata run >/dev/null
	write_migration 2_b.sql "CREATE TABLE b (id INTEGER);"
	run strata --format json run --backup
	assert_success
	assert_equal "$(jq -r '.backup.tag, .backup.newest_applied_version, .applied' <<<"$output" | xargs)" "pre-migration:2 1 1"
	file=$(jq -r .backup.file <<<"$output")
	assert_equal "$(sqlite3 "$file" "SELECT count(*) FROM sqlite_schema WHERE name = 'b'")" 0
	assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_schema WHERE name = 'b'")" 1
	run strata --format json backup list
	assert_success
	assert_equal "$(jq -r '.backups | length' <<<"$output")" 1
	assert_equal "$(jq -r '.backups[0].pre_migration' <<<"$output")" true
}

@test "sqlite restore is recorded in the restored database's audit trail" {
	write_migration 1_a.sql "CREATE TABLE a (id INTEGER);"
	strata run
	strata backup --dir backups
	local file
	file=$(ls backups/*.sqlite)
	run strata restore "$file" --into sqlite:restored.db --yes
	assert_success
	run strata -d sqlite:restored.db history --action restore --format json
	assert_success
	assert_equal "$(jq -r '.actions | length' <<<"$output")" 1
	run jq -r '.actions[0].note' <<<"$output"
	assert_output --partial "restored from $file"
}
