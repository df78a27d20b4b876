#!/usr/bin/env bats
# The source reader trusts nothing it was not built to read: another tool's
# layout (dbmate sections, diesel directories, Flyway names), a directory
# named like a migration and a byte-order mark are refused, naming the
# file; what sqlx reads (version 0, an .up.sql without its .down.sql) works
# end to end.

load lib

# Every command that loads the source refuses it: exit 4, `message` in
# stderr, `file` named; then nothing at all was applied.
assert_refused_everywhere() {
	local file=$1 message=$2 c
	for c in run status check validate lint "run --dry-run" "revert --all" "mark-applied 1"; do
		run --separate-stderr strata $c
		[[ $status == 4 ]] || fail "strata $c: exit $status, not 4: $stderr"
		[[ $stderr == *"$message"* ]] || fail "strata $c: '$message' not in: $stderr"
		[[ $stderr == *"at $file"* ]] || fail "strata $c: $file not named in: $stderr"
	done
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		assert_equal "$(psql_db "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname NOT LIKE '\_%'")" 0
		if [[ $(psql_db "SELECT to_regclass('_sqlx_migrations') IS NOT NULL") == t ]]; then
			assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 0
		fi
	elif [[ -e $TEST_SQLITE ]]; then
		assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE '\\_%' ESCAPE '\\'")" 0
	fi
}

dbmate_file() {
	write_migration 1_first.sql "CREATE TABLE first (id int);"
	write_migration 20240101000000_create_users.sql "-- migrate:up
CREATE TABLE users (id int);

-- migrate:down
DROP TABLE users;"
	# a folder of both layouts is neither
	assert_refused_everywhere migrations/1_first.sql \
		"'migrations/1_first.sql' is a migration of sqlx's layout (no '-- migrate:up'), in a folder read in dbmate's layout"
	# read as sqlx's, the down section would run as part of the up
	run strata --layout sqlx run
	assert_failure 4
	assert_output --partial "'migrations/20240101000000_create_users.sql' is a dbmate migration ('-- migrate:up' on line 1)"
	assert_output --partial "its '-- migrate:down' section (line 4) would run as part of the up"
	assert_output --partial "hint: Read the folder in dbmate's layout (--layout dbmate"
	assert_output --partial "migrations/20240101000000_create_users.sql:1"
}

@test "dbmate: a folder mixing dbmate's files with sqlx's, or read as sqlx's, is refused by every command" {
	for_each_driver dbmate_file
}

@test "dbmate: the marker as dbmate finds it: up alone, spaces, a later line; not inside a line" {
	sqlite_db
	write_migration 1_up_only.sql "--migrate:up
CREATE TABLE a (id int);"
	run strata --layout sqlx run
	assert_failure 4
	assert_output --partial "'migrations/1_up_only.sql' is a dbmate migration ('-- migrate:up' on line 1)"
	rm migrations/1_up_only.sql
	write_migration 2_late.sql "CREATE TABLE b (id int);
--   migrate:down transaction:false
DROP TABLE b;"
	run strata --layout sqlx run
	assert_failure 4
	assert_output --partial "'migrations/2_late.sql' is a dbmate migration ('-- migrate:down' on line 2)"
	rm migrations/2_late.sql
	# not at the start of a line, or another word: no marker
	write_migration 3_plain.sql "SELECT 1; -- migrate:down
-- migrate:sideways
SELECT '-- migrate:up';"
	run strata run
	assert_success
	assert_line --partial "Applied 3 plain"
}

diesel_folder() {
	local i d
	for i in $(seq 1 300); do
		d=migrations/2023-01-01-$(printf %06d "$i")_create_t$i
		mkdir -p "$d"
		echo "CREATE TABLE t$i (id int);" >"$d/up.sql"
		echo "DROP TABLE t$i;" >"$d/down.sql"
	done
	mkdir -p migrations/00000000000000_diesel_initial_setup
	echo "SELECT 1;" >migrations/00000000000000_diesel_initial_setup/up.sql
	# mixed with sqlx's files: refused, not reported up to date
	write_migration 1_first.sql "CREATE TABLE first (id int);"
	assert_refused_everywhere migrations/00000000000000_diesel_initial_setup \
		"'migrations' mixes diesel migrations with files of another layout"
	run strata check
	assert_output --partial "is one of 301 such directories"
	assert_output --partial "--layout diesel"
}

@test "diesel: a folder mixing diesel's directories with sqlx's files is refused, not reported up to date" {
	for_each_driver diesel_folder
}

@test "flyway: in sqlx's layout, V1__x.sql, U1__x.sql and R__x.sql are one error naming Flyway" {
	sqlite_db
	printf '[strata]\nlayout = sqlx\n' > strata.conf
	write_migration V1__init.sql "CREATE TABLE a (id int);"
	write_migration V1.1__more.sql "CREATE TABLE b (id int);"
	write_migration U1__init.sql "DROP TABLE a;"
	write_migration R__views.sql "SELECT 1;"
	assert_refused_everywhere migrations/R__views.sql \
		"'migrations' holds Flyway migrations, which strata does not read"
	run --separate-stderr strata run
	[[ $stderr == *"is one of 4 such files"* ]] || fail "no count in: $stderr"
	[[ $stderr != *"more problem"* ]] || fail "one error per file: $stderr"
}

@test "foreign entries: subdirectories with .sql files and names sqlx passes over are errors; the rest is passed over" {
	sqlite_db
	write_migration 1_first.sql "CREATE TABLE first (id int);"
	mkdir -p migrations/archive
	write_migration archive/2_old.sql "CREATE TABLE old (id int);"
	assert_refused_everywhere migrations/archive "directory 'migrations/archive' looks like a migration"
	rm -r migrations/archive
	mkdir migrations/0003_pending
	assert_refused_everywhere migrations/0003_pending "directory 'migrations/0003_pending' looks like a migration"
	rmdir migrations/0003_pending
	write_migration 4_upper.SQL "SELECT 1;"
	assert_refused_everywhere migrations/4_upper.SQL "is named like a migration but does not end in '.sql'"
	rm migrations/4_upper.SQL
	write_migration 5_golang.up.pgsql "SELECT 1;"
	assert_refused_everywhere migrations/5_golang.up.pgsql "is named like a migration but does not end in '.sql'"
	rm migrations/5_golang.up.pgsql
	# clearly no migration: hidden, without files named like migrations,
	# a backup copy
	mkdir -p migrations/.old migrations/docs migrations/seeds
	write_migration .old/2_old.sql "CREATE TABLE old (id int);"
	echo "notes" >migrations/docs/README.md
	write_migration seeds/users.sql "INSERT INTO first VALUES (1);"
	echo "garbage" >migrations/1_first.sql.bak
	run strata run
	assert_success
	assert_line --partial "Applied 1 first"
}

dir_named_like_migration() {
	write_migration 0001_first.sql "CREATE TABLE first (id int);"
	mkdir -p migrations/0002_dir.sql
	assert_refused_everywhere migrations/0002_dir.sql "'migrations/0002_dir.sql' is a directory, not a migration file"
	rmdir migrations/0002_dir.sql
	# a link to a directory inside the source is one too
	mkdir -p migrations/.shared
	ln -s .shared migrations/0002_link.sql
	assert_refused_everywhere migrations/0002_link.sql "'migrations/0002_link.sql' is a directory, not a migration file"
}

@test "source: a directory named like a migration file is refused, not skipped" {
	for_each_driver dir_named_like_migration
}

# PostgreSQL reads a byte-order mark as the start of the first statement.
byte_order_mark() {
	local c
	write_migration 1_first.sql "CREATE TABLE first (id int);"
	printf '\xEF\xBB\xBFCREATE TABLE users (id int);\n' >migrations/2_users.sql
	# refused wherever it is to run or be checked, before anything runs
	run strata lint
	assert_failure 5
	assert_output --partial "migrations/2_users.sql:1:1: error: the file starts with a UTF-8 byte-order mark (EF BB BF)"
	assert_output --partial "sed -i '1s/^\xEF\xBB\xBF//' 'migrations/2_users.sql'"
	refute_output --partial "syntax error"
	for c in run "run --dry-run" validate; do
		run --separate-stderr strata $c
		[[ $status == 4 ]] || fail "strata $c: exit $status, not 4: $stderr"
		[[ $stderr == *"'migrations/2_users.sql' starts with a UTF-8 byte-order mark (EF BB BF)"* ]] ||
			fail "strata $c: $stderr"
		[[ $stderr == *"at migrations/2_users.sql:1"* ]] || fail "strata $c: $stderr"
		[[ $stderr != *"syntax error"* ]] || fail "strata $c: $stderr"
	done
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 0
	run strata run
	assert_output --partial "sed -i '1s/^\xEF\xBB\xBF//' 'migrations/2_users.sql'"
	# status and check show it as what it is: pending
	run strata check
	assert_failure 3
	# the hint's command is the fix
	sed -i '1s/^\xEF\xBB\xBF//' migrations/2_users.sql
	run strata run
	assert_success
	assert_line --partial "Applied 2 users"
}

@test "source: a byte-order mark is named, with its fix, not sent to the server" {
	require_pg
	byte_order_mark
}

# SQLite passes over a mark, as it did when sqlx applied such a file: the
# file runs, and once applied it keeps the folder loading.
sqlite_byte_order_mark() {
	printf '\xEF\xBB\xBFCREATE TABLE users (id int);\n' >migrations/1_users.sql
	run strata run
	assert_success
	assert_line --partial "Applied 1 users"
	assert_equal "$(query_db "SELECT count(*) FROM users")" 0
	write_migration 2_more.sql "CREATE TABLE more (id int);"
	run strata run
	assert_success
	assert_line --partial "Applied 2 more"
	run strata check
	assert_success
	run strata validate
	assert_success
}

@test "source: SQLite runs a file with a byte-order mark, as sqlx does" {
	sqlite_db
	sqlite_byte_order_mark
}

up_without_down() {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.up.sql "CREATE TABLE b (id int);"
	write_migration 3_c.up.sql "CREATE TABLE c (id int);"
	run strata run
	assert_success
	assert_line "Applied 3 migrations."
	run strata validate
	assert_success
	run strata check
	assert_success
	run strata status --format json
	run jq -c '[.migrations[] | [.version, .state]]' <<<"$output"
	assert_output '[[1,"applied"],[2,"applied"],[3,"applied"]]'
	# revert stops at the newest: it has no down file, and nothing is reverted
	run --separate-stderr strata revert
	assert_failure 4
	[[ $stderr == *"cannot revert migration 3 (c): it has no down file"* ]] || fail "$stderr"
	[[ $stderr == *"Add 'migrations/3_c.down.sql' beside it"* ]] || fail "$stderr"
	run strata revert --all
	assert_failure 4
	assert_equal "$(query_db "SELECT count(*) FROM _sqlx_migrations")" 3
	write_migration 3_c.down.sql "DROP TABLE c;"
	run strata revert
	assert_success
	assert_line --partial "Reverted 3 c"
	# strata new follows the layout: a pair
	run strata new next
	assert_success
	assert_output --partial ".up.sql"
	assert_output --partial ".down.sql"
}

@test "source: an .up.sql without its .down.sql is a migration; revert explains the missing down file" {
	for_each_driver up_without_down
}

version_zero() {
	write_migration 0000_init.sql "CREATE TABLE init (id int);"
	write_migration 0000_init.down.sql "DROP TABLE init;"
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	run strata run --target-version 0
	assert_success
	assert_line --partial "Applied 0 init"
	assert_line "Applied 1 migration."
	run strata check
	assert_failure 3
	run strata run
	assert_success
	assert_line --partial "Applied 1 a"
	run strata check
	assert_success
	run strata status --format json
	run jq -c '[.migrations[] | [.version, .state]]' <<<"$output"
	assert_output '[[0,"applied"],[1,"applied"]]'
	run strata revert --all
	assert_success
	assert_line --partial "Reverted 0 init"
	assert_line "Reverted 2 migrations."
	strata run
	# --target-version 0: everything above 0, version 0 stays (as sqlx)
	run strata revert --target-version 0
	assert_success
	assert_line --partial "Reverted 1 a"
	refute_line --partial "Reverted 0 init"
	assert_equal "$(query_db "SELECT version FROM _sqlx_migrations")" 0
	run strata revert
	assert_success
	assert_line --partial "Reverted 0 init"
	assert_equal "$(query_db "SELECT count(*) FROM _sqlx_migrations")" 0
	# mark-applied 0, then history and status see it
	run strata mark-applied 0
	assert_success
	assert_equal "$(query_db "SELECT version FROM _sqlx_migrations")" 0
	run strata history --version 0 --format json
	assert_success
	run jq -r '[.actions[] | .action, (.version | tostring)] | join(",")' <<<"$output"
	assert_output --partial "mark-applied,0"
	run strata check
	assert_failure 3
	# 0_init.sql too; a negative version stays an error
	rm migrations/*
	query_db "DELETE FROM _sqlx_migrations"
	write_migration 0_init.sql "SELECT 1;"
	run strata run
	assert_success
	assert_line --partial "Applied 0 init"
	write_migration -1_neg.sql "SELECT 1;"
	run strata run
	assert_failure 4
	assert_output --partial "invalid migration file name 'migrations/-1_neg.sql'"
}

@test "source: version 0 works end to end: run, status, check, revert, mark-applied" {
	for_each_driver version_zero
}

@test "max_file_size: --max-file-size and strata.conf set the limit (64MiB by default), in sizes such as 1KiB" {
	sqlite_db
	write_migration 1_first.sql "CREATE TABLE first (id int);"
	{
		echo "CREATE TABLE big (v text);"
		for i in $(seq 1 100); do
			echo "INSERT INTO big VALUES ('row $i of a migration that is larger than one kibibyte');"
		done
	} >migrations/2_big.sql
	run --separate-stderr strata --max-file-size 1KiB run
	assert_failure 4
	[[ $stderr == *"'migrations/2_big.sql' is larger than the limit of 1024 bytes"* ]] || fail "$stderr"
	[[ $stderr == *"--max-file-size or max_file_size in strata.conf"* ]] || fail "$stderr"
	run strata --max-file-size 1KiB status
	assert_failure 4
	run strata --max-file-size 1KiB validate
	assert_failure 4
	run strata --max-file-size 1KiB lint migrations/2_big.sql
	assert_failure 4
	printf '[strata]\nmax_file_size = 1kB\n' >strata.conf
	run strata check
	assert_failure 4
	assert_output --partial "larger than the limit of 1000 bytes"
	# the command line wins over strata.conf
	run strata --max-file-size 1MiB run
	assert_success
	assert_line "Applied 2 migrations."
	printf '[strata]\nmax_file_size = lots\n' >strata.conf
	run strata status
	assert_failure 2
	assert_output --partial "max_file_size in strata.conf line 2 wants a size such as 64MiB or 1GiB, not 'lots'"
	rm strata.conf
	run strata --max-file-size 0 status
	assert_failure 2
	# past the default of 64 MiB only with the limit raised
	yes "SELECT 1;" | head -c $((65 * 1024 * 1024)) >migrations/3_huge.sql
	run strata status
	assert_failure 4
	assert_output --partial "larger than the limit of 67108864 bytes (64.0 MiB)"
	run strata --max-file-size 1GiB status
	assert_success
	assert_line --regexp '^3 +pending '

	rm migrations/3_huge.sql
}

# A migration of $1 MiB of INSERTs into t, whose ';' inside strings,
# comments, dollar quotes and a BEGIN ATOMIC body fall where a large file
# is cut into pieces (every MiB or so), ending in $2.
big_migration() {
	local mib=$1 last=$2
	awk -v mib="$mib" -v last="$last" 'BEGIN {
		q = sprintf("%c", 39)
		print "CREATE TABLE t (id int, note text);"
		size = 0; i = 0; piece = 1
		while (size < mib * 1048576) {
			line = sprintf("INSERT INTO t VALUES (%d, %c-- not a comment; row %d%c);", i, 39, i, 39)
			if (size > piece * 1048576 - 40000 && piece <= 4) {
				if (piece == 1) {
					s = ""; for (k = 0; k < 4000; k++) s = s "a;b;c;d;e;f;g;h;"
					line = "INSERT INTO t VALUES (-1, " q s q ");"
				} else if (piece == 2) {
					s = ""; for (k = 0; k < 3000; k++) s = s "  PERFORM 1; PERFORM 2; PERFORM 3;\n"
					line = "CREATE FUNCTION f_dollar() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n" s "  RETURN 7;\nEND\n$body$;"
				} else if (piece == 3) {
					s = ""; for (k = 0; k < 4000; k++) s = s "  SELECT 1 WHERE false;\n"
					line = "CREATE FUNCTION f_atomic() RETURNS int LANGUAGE sql BEGIN ATOMIC\n" s "  SELECT 8;\nEND;"
				} else {
					s = ""; for (k = 0; k < 4000; k++) s = s " a comment; with semicolons;\n"
					line = "/*" s "*/ INSERT INTO t VALUES (-2, $$dollar;quoted;$$);"
				}
				piece++
			}
			print line
			size += length(line) + 1
			i++
		}
		print last
	}'
}

big_file() {
	write_migration 1_old.sql "CREATE TABLE old (id int);"
	big_migration 5 "SELECT 1/0;" >migrations/2_big.sql
	local n_lines zero_line
	n_lines=$(wc -l <migrations/2_big.sql)
	zero_line=$n_lines
	# the error names the statement's line and number, past the pieces
	run --separate-stderr strata run
	assert_failure 1
	[[ $stderr == *"division by zero"* ]] || fail "$stderr"
	[[ $stderr == *"at migrations/2_big.sql:$zero_line"* ]] || fail "line $zero_line not in: $stderr"
	assert_equal "$(psql_db "SELECT to_regclass('t') IS NULL")" t
	# lint reads every piece: a finding near the end, at its line
	big_migration 5 "CREATE INDEX old_idx ON old (id);" >migrations/2_big.sql
	run strata lint --all
	assert_failure 5
	assert_output --partial "migrations/2_big.sql:$n_lines:25: error: creating index 'old_idx'"
	assert_output --partial "[require-concurrent-index-creation]"
	refute_output --partial "parse"
	run strata run --allow-unsafe
	assert_success
	assert_equal "$(psql_db "SELECT f_dollar(), f_atomic()")" "7|8"
	assert_equal "$(psql_db "SELECT count(*) FILTER (WHERE id = -1 AND note LIKE 'a;b;%'), count(*) FILTER (WHERE id = -2 AND note = 'dollar;quoted;'), count(*) FILTER (WHERE note LIKE '-- not a comment;%') FROM t")" \
		"1|1|$(grep -c "^INSERT INTO t VALUES ([0-9]*, '-- not a comment" migrations/2_big.sql)"
	assert_equal "$(psql_db "SELECT to_regclass('old_idx') IS NOT NULL")" t
}

@test "large file: parsed in pieces, every statement split, linted and located as in one piece" {
	new_db
	big_file
}

# Peak resident memory of `strata "$@"`, in KiB; the command must exit 0
# (or 5, lint's findings): one that failed early proves nothing of memory.
peak_kib() {
	local rc=0
	/usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/rss" "$STRATA_BIN" "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/err" || rc=$?
	if ((rc != 0)) && ! [[ $1 == lint && $rc == 5 ]]; then
		echo "strata $*: exit $rc: $(cat "$BATS_TEST_TMPDIR/err")" >&2
		return 1
	fi
	tail -1 "$BATS_TEST_TMPDIR/rss"
}

# At most 3x the file's size, plus the 8 MiB any command holds (its
# libraries): statements are kept as places in the file's one copy, and
# the file is parsed a piece at a time. PostgreSQL's run sends the whole
# text once more for its audit row, which libpq's send buffer holds whole
# as it grows (never copied: blocks of a MiB are mappings of their own).
@test "large file: memory for one migration stays within 3x its size (run, lint, validate, status; PostgreSQL and SQLite)" {
	if [[ ${STRATA_VALGRIND:-} == 1 ]] || ldd "$STRATA_BIN" 2>/dev/null | grep -q 'libasan'; then
		skip "memory is measured on the plain build"
	fi
	[[ -x /usr/bin/time ]] || skip "no /usr/bin/time"
	new_db
	local size peak c limit
	big_migration 32 "SELECT 1;" >migrations/1_big.sql
	size=$(($(stat -c %s migrations/1_big.sql) / 1024))
	for c in lint validate status "run --allow-unsafe"; do
		peak=$(peak_kib $c) || fail "strata $c failed"
		limit=$((3 * size + 8192))
		echo "# $c on PostgreSQL: $peak KiB, file $size KiB, at most $limit KiB" >&3
		((peak <= limit)) || fail "strata $c: $peak KiB at peak, over $limit KiB for a file of $size KiB"
	done
	assert_equal "$(psql_db "SELECT count(*) FROM _sqlx_migrations")" 1
	sqlite_db
	big_migration 32 "SELECT 1;" >migrations/1_big.sql
	sed -i -e '/CREATE FUNCTION/,/^END/d' -e '/^\/\*/,/\*\//d' -e '/^\$body\$;$/d' migrations/1_big.sql
	size=$(($(stat -c %s migrations/1_big.sql) / 1024))
	for c in run status; do
		peak=$(peak_kib $c) || fail "strata $c failed"
		echo "# $c on SQLite: $peak KiB, file $size KiB, at most $((3 * size + 8192)) KiB" >&3
		((peak <= 3 * size + 8192)) || fail "strata $c: $peak KiB at peak, over 3 x $size KiB + 8 MiB"
	done
	assert_equal "$(sqlite3 "$TEST_SQLITE" "SELECT count(*) FROM _sqlx_migrations")" 1
}
