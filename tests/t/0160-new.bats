#!/usr/bin/env bats
# strata new: the next migration file(s), named and numbered as sqlx-cli's
# `migrate add` names them; templates that apply on a real PostgreSQL.

load lib

# The names in migrations/, one a line, sorted.
listing() {
	(cd migrations && ls -1 | LC_ALL=C sort)
}

@test "new: a timestamp version by default in an empty folder, with sqlx's text" {
	local before after v
	before=$(date -u +%Y%m%d%H%M%S)
	run strata new add users
	assert_success
	after=$(date -u +%Y%m%d%H%M%S)
	assert_output --regexp '^Created migrations/[0-9]{14}_add_users\.sql$'
	run listing
	assert_output --regexp '^[0-9]{14}_add_users\.sql$'
	v=${output%%_*}
	# the current UTC time, not local time nor a sequence
	((v >= before && v <= after))
	assert_equal "$(cat "migrations/${v}_add_users.sql")" "-- Add migration script here"
	# exactly sqlx's bytes: one line, with its newline
	assert_equal "$(wc -c <"migrations/${v}_add_users.sql")" 29
}

@test "new: two migrations in the same second never share a version" {
	strata new first
	strata new second
	strata new third
	run listing
	assert_equal "${#lines[@]}" 3
	local a=${lines[0]%%_*} b=${lines[1]%%_*} c=${lines[2]%%_*}
	((a < b && b < c))
	assert_equal "${lines[0]#*_}" first.sql
	assert_equal "${lines[1]#*_}" second.sql
	assert_equal "${lines[2]#*_}" third.sql
	run strata validate
	assert_success
}

@test "new: a sequential folder continues its sequence (0001, 0002 -> 0003)" {
	write_migration 0001_create_users.sql "CREATE TABLE users (id int);"
	write_migration 0002_add_email.sql "ALTER TABLE users ADD email text;"
	run strata new add name
	assert_success
	assert_output "Created migrations/0003_add_name.sql"
	assert_equal "$(cat migrations/0003_add_name.sql)" "-- Add migration script here"
	run strata new "add  more  things"
	assert_success
	assert_output "Created migrations/0004_add__more__things.sql"
}

@test "new: a lone version 1 is read as a sequence, as sqlx-cli reads it" {
	write_migration 1_init.sql "SELECT 1;"
	run strata new next
	assert_success
	assert_output "Created migrations/0002_next.sql"
}

@test "new: --sequential and --timestamp choose explicitly" {
	run strata new --sequential first
	assert_success
	assert_output "Created migrations/0001_first.sql"
	run strata new --sequential second
	assert_output "Created migrations/0002_second.sql"
	run strata new --timestamp third
	assert_success
	assert_output --regexp '^Created migrations/[0-9]{14}_third\.sql$'
	# a timestamp folder followed by --sequential: one above the newest
	local ts=${output#Created migrations/}
	ts=${ts%%_*}
	run strata new --sequential fourth
	assert_success
	assert_output "Created migrations/$((ts + 1))_fourth.sql"
	run strata new --sequential --timestamp x
	assert_failure 2
	assert_output --partial "exclude each other"
}

@test "new: a timestamp folder stays a timestamp folder" {
	write_migration 20200101000000_a.sql "SELECT 1;"
	write_migration 20200102000000_b.sql "SELECT 1;"
	run strata new c
	assert_success
	assert_output --regexp '^Created migrations/20[0-9]{12}_c\.sql$'
	refute_output --partial 20200102000001
}

@test "new: -r creates an .up.sql/.down.sql pair with sqlx's texts" {
	run strata new -r add users
	assert_success
	assert_line --index 0 --regexp '^Created migrations/[0-9]{14}_add_users\.up\.sql$'
	assert_line --index 1 --regexp '^Created migrations/[0-9]{14}_add_users\.down\.sql$'
	assert_equal "${#lines[@]}" 2
	local up=${lines[0]#Created } down=${lines[1]#Created }
	assert_equal "${up%.up.sql}" "${down%.down.sql}"
	assert_equal "$(cat "$up")" "-- Add up migration script here"
	assert_equal "$(cat "$down")" "-- Add down migration script here"
	run strata new --reversible more
	assert_success
	assert_line --index 1 --partial "_more.down.sql"
}

@test "new: a reversible folder makes the next one reversible; --simple makes one file" {
	write_migration 0001_a.up.sql "CREATE TABLE a (id int);"
	write_migration 0001_a.down.sql "DROP TABLE a;"
	run strata new b
	assert_success
	assert_output "Created migrations/0002_b.up.sql
Created migrations/0002_b.down.sql"
	run strata new --simple c
	assert_success
	assert_output "Created migrations/0003_c.sql"
	run strata new -r --simple d
	assert_failure 2
	run listing
	assert_output "0001_a.down.sql
0001_a.up.sql
0002_b.down.sql
0002_b.up.sql
0003_c.sql"
}

@test "new: a down file beside a plain .sql keeps that layout" {
	write_migration 0001_a.sql "CREATE TABLE a (id int);"
	write_migration 0001_a.down.sql "DROP TABLE a;"
	run strata new b
	assert_success
	assert_output "Created migrations/0002_b.sql
Created migrations/0002_b.down.sql"
}

@test "new: a simple folder stays simple" {
	write_migration 0001_a.up.sql "CREATE TABLE a (id int);"
	write_migration 0001_a.down.sql "DROP TABLE a;"
	write_migration 0002_b.sql "CREATE TABLE b (id int);"
	run strata new c
	assert_success
	assert_output "Created migrations/0003_c.sql"
}

@test "new --template index: starts with -- no-transaction and builds its index on PostgreSQL" {
	run strata new -r --template table create users table
	assert_success
	run strata new --template index users by created_at
	assert_success
	local up=${lines[0]#Created }
	assert_equal "${#lines[@]}" 2
	# the directive is the very first bytes, as sqlx requires
	assert_equal "$(head -c 17 "$up")" "-- no-transaction"
	run strata status --format json
	run jq -r '.migrations[1].description' <<<"$output"
	assert_output "users by created at"
	# the placeholders are the user's to fill in
	grep -q 'ON table_name (column_name)' "$up"
	sed -i 's/ON table_name (column_name)/ON users (created_at)/' "$up"
	run strata run
	assert_success
	assert_line --partial "users by created at"
	assert_equal "$(psql_db "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('users_by_created_at_idx')")" t
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations WHERE success")" 2
	# its down file also runs outside a transaction
	local down=${up%.up.sql}.down.sql
	assert_equal "$(head -n 1 "$down")" "-- no-transaction"
	run strata revert
	assert_success
	assert_equal "$(psql_db "SELECT to_regclass('users_by_created_at_idx') IS NULL")" t
}

@test "new --template table: applies on PostgreSQL and reverts with its down file" {
	run strata new -r --template table create users table
	assert_success
	local up=${lines[0]#Created } down=${lines[1]#Created }
	grep -q '^CREATE TABLE users (' "$up"
	grep -q '^DROP TABLE IF EXISTS users;' "$down"
	run strata run
	assert_success
	psql_db "INSERT INTO users DEFAULT VALUES"
	assert_equal "$(psql_db "SELECT id FROM users")" 1
	run strata revert
	assert_success
	assert_line --partial "Reverted"
	assert_equal "$(psql_db "SELECT to_regclass('users') IS NULL")" t
	run strata check
	assert_failure 3
}

@test "new --template table: a reserved word is quoted" {
	run strata new --template table user
	assert_success
	local f=${output#Created }
	grep -q '^CREATE TABLE "user" (' "$f"
	run strata run
	assert_success
	assert_equal "$(psql_db "SELECT to_regclass('\"user\"') IS NOT NULL")" t
}

@test "new --template data: an UPDATE in batches, and an unknown template is a usage error" {
	run strata new --template data backfill
	assert_success
	local f=${output#Created }
	grep -q '^UPDATE table_name$' "$f"
	grep -q 'LIMIT 10000' "$f"
	run strata new --template bogus x
	assert_failure 2
	assert_output --partial "--template wants table, index or data, not 'bogus'"
	run listing
	assert_equal "${#lines[@]}" 1
}

@test "new: never overwrites: a name taken by something else is refused, the pair all or nothing" {
	write_migration 0001_a.sql "SELECT 1;"
	# a directory holding the name is refused with the source
	mkdir migrations/0002_b.sql
	run strata new b
	assert_failure
	assert_output --partial "'migrations/0002_b.sql' is a directory, not a migration file"
	[[ -d migrations/0002_b.sql ]]
	rmdir migrations/0002_b.sql
	# the down file's name is taken: the up file is not left behind
	mkdir migrations/0002_b.down.sql
	run strata new -r b
	assert_failure
	assert_output --partial "0002_b.down.sql' is a directory"
	[[ ! -e migrations/0002_b.up.sql ]]
	rmdir migrations/0002_b.down.sql
	run listing
	assert_output "0001_a.sql"
}

@test "new: a file that was there before keeps its bytes" {
	write_migration 0001_a.sql "CREATE TABLE a (id int);"
	write_migration 0002_b.sql "CREATE TABLE b (id int);"
	strata new --sequential c
	strata new --sequential c
	assert_equal "$(cat migrations/0001_a.sql)" "CREATE TABLE a (id int);"
	assert_equal "$(cat migrations/0002_b.sql)" "CREATE TABLE b (id int);"
	run listing
	assert_output "0001_a.sql
0002_b.sql
0003_c.sql
0004_c.sql"
}

@test "new: bad descriptions are usage errors (exit 2) and create nothing" {
	run strata new
	assert_failure 2
	assert_output --partial "a description is required"
	run strata new ""
	assert_failure 2
	assert_output --partial "empty"
	run strata new "   "
	assert_failure 2
	run strata new "a/b"
	assert_failure 2
	assert_output --partial "'/'"
	run strata new "users.sql"
	assert_failure 2
	run strata new "users.up"
	assert_failure 2
	run strata new "users.down"
	assert_failure 2
	run strata new "$(printf 'a\tb')"
	assert_failure 2
	assert_output --partial "control character"
	run strata new "$(printf 'caf\xe9')"
	assert_failure 2
	assert_output --partial "UTF-8"
	run listing
	assert_output ""
}

@test "new: a UTF-8 description round-trips through the loader" {
	run strata new --sequential "ajouter café"
	assert_success
	assert_output "Created migrations/0001_ajouter_café.sql"
	run strata status --format json
	run jq -r '.migrations[0].description' <<<"$output"
	assert_output "ajouter café"
}

@test "new --format json lists the created paths" {
	run strata new --format json --sequential add users
	assert_success
	run jq -c . <<<"$output"
	assert_output '{"created":["migrations/0001_add_users.sql"]}'
	run strata --format json new -r more
	assert_success
	run jq -c '.created' <<<"$output"
	assert_output '["migrations/0002_more.up.sql","migrations/0002_more.down.sql"]'
	for f in migrations/0002_more.up.sql migrations/0002_more.down.sql; do
		[[ -f $f ]]
	done
}

@test "new: creates the source folder when missing, and -s names another one" {
	rm -rf migrations
	run strata new --sequential first
	assert_success
	assert_output "Created migrations/0001_first.sql"
	[[ -f migrations/0001_first.sql ]]
	run strata -s db --format json new --sequential other
	assert_success
	run jq -r '.created[0]' <<<"$output"
	assert_output "db/0001_other.sql"
	[[ -f db/0001_other.sql ]]
}

@test "new: creates a nested source folder when missing, as sqlx-cli does (create_dir_all)" {
	run strata new -s db/migrations --sequential first
	assert_success
	assert_output "Created db/migrations/0001_first.sql"
	[[ -f db/migrations/0001_first.sql ]]
}

@test "new: an invalid source folder is refused with exit 4 and nothing is created" {
	write_migration 0001_a.sql "SELECT 1;"
	write_migration 0001_b.sql "SELECT 2;"
	run strata new c
	assert_failure 4
	assert_output --partial "duplicate"
	run listing
	assert_output "0001_a.sql
0001_b.sql"
}
