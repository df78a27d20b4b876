#!/usr/bin/env bats
# strata embed: a folder's migrations as C source, compiled into a program
# that loads them with strata_source_from_embedded(). The program and the
# folder agree on every checksum; edited data, and any folder strata would
# refuse, are refused. Programs are built as an application's would be,
# with pkg-config against the installed library: the build under test
# installed (NO_BUILD=1) into this file's scratch DESTDIR, or the one
# under STRATA_INSTALLED_PREFIX (in STRATA_INSTALLED_DESTDIR when staged).

load lib

BUILD=${STRATA_BUILD:-$STRATA_TEST_ROOT/build}
SPECIAL='q"uote \ back ??= ??/ é ✓ '"'x'"

setup_file() {
	pg_start
	if [[ -z ${STRATA_INSTALLED_PREFIX:-} ]]; then
		make -s -C "$STRATA_TEST_ROOT" install NO_BUILD=1 BUILD="$BUILD" \
			DESTDIR="$BATS_FILE_TMPDIR/dest" PREFIX=/usr \
			>"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
			{ cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
	fi
}

# pkg-config and the loader find the installed libstrata; SAN holds what
# a program linking a sanitized one (make asan) needs too.
use_libstrata() {
	local prefix=${STRATA_INSTALLED_PREFIX:-$BATS_FILE_TMPDIR/dest/usr}
	local root=${STRATA_INSTALLED_DESTDIR:-}
	if [[ -z ${STRATA_INSTALLED_PREFIX:-} ]]; then
		root=$BATS_FILE_TMPDIR/dest
	fi
	export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
	# the .pc names paths without DESTDIR (and /usr ones pkg-config drops)
	if [[ -n $root ]]; then
		export PKG_CONFIG_SYSROOT_DIR=$root
		export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
	fi
	export LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	SAN=${STRATA_SAN_FLAGS:-}
	if [[ -z $SAN ]] && nm -D "$prefix/lib/libstrata.so" 2>/dev/null | grep -q __asan_; then
		SAN='-fsanitize=address,undefined'
	fi
}

# The test program of tests/t/embed-prog.c with migrations.c ($1) in.
build_prog() {
	use_libstrata
	# shellcheck disable=SC2046,SC2086
	cc -std=c11 -Wall -Wextra -pedantic -Werror $SAN -o prog \
		"$STRATA_TEST_DIR/embed-prog.c" "$1" \
		$(pkg-config --cflags --libs libstrata)
}

# A folder of every kind of file: a reversible pair whose text holds
# quotes, backslashes, trigraphs and non-ASCII; a no-transaction file; a
# file over 64 KiB with CRLF line ends; one holding only a comment.
write_folder() {
	local index='CREATE INDEX t_b ON t (b);' i quoted=${SPECIAL//\'/\'\'}
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		index='CREATE INDEX CONCURRENTLY t_b ON t (b);'
	fi
	write_migration 20250101000001_create_t.up.sql <<-EOF
		-- quotes, backslashes, "??=" and non-ASCII are kept byte for byte
		CREATE TABLE t (a bigint PRIMARY KEY, b text NOT NULL);
		INSERT INTO t VALUES (1, '$quoted');
	EOF
	write_migration 20250101000001_create_t.down.sql "DROP TABLE t;"
	write_migration 20250101000002_index_b.sql "-- no-transaction
$index"
	for ((i = 2; i < 1500; i++)); do
		printf "INSERT INTO t VALUES (%d, 'row %d of many \\\\ \"??=\" é');\r\n" "$i" "$i"
	done >migrations/20250101000003_many_rows.sql
	write_migration 20250101000004_nothing.sql "-- nothing to do here"
	write_migration 20250101000005_pair.up.sql "INSERT INTO t VALUES (100000, 'tab	end');"
	write_migration 20250101000005_pair.down.sql "DELETE FROM t WHERE a = 100000;"
}

# The checksum column of version $1, in hex.
db_checksum() {
	if [[ $STRATA_TEST_DRIVER == postgres ]]; then
		psql_db "SELECT encode(checksum, 'hex') FROM _sqlx_migrations WHERE version = $1"
	else
		sqlite3 "$TEST_SQLITE" "SELECT lower(hex(checksum)) FROM _sqlx_migrations WHERE version = $1"
	fi
}

@test "embed: every kind of file compiles as C11 and as C++, warning-free, every byte escaped" {
	STRATA_TEST_DRIVER=postgres write_folder
	[[ $(stat -c %s migrations/20250101000003_many_rows.sql) -gt 65536 ]]
	run --separate-stderr strata embed migrations
	assert_success
	[[ -z $stderr ]] || fail "stderr: $stderr"
	printf '%s\n' "$output" >migrations.c
	gcc -std=c11 -Wall -Wextra -pedantic -Werror -I"$STRATA_TEST_ROOT/include" -c -o c.o migrations.c
	g++ -std=c++11 -Wall -Wextra -pedantic -Werror -I"$STRATA_TEST_ROOT/include" -x c++ -c -o cxx.o migrations.c
	clang -std=c11 -Wall -Wextra -pedantic -Werror -I"$STRATA_TEST_ROOT/include" -c -o clang.o migrations.c
	# C linkage from either compiler, so that C, C++ and FFI find it
	run nm c.o cxx.o
	assert_equal "$(grep -c ' [DR] strata_migrations$' <<<"$output")" 2
	# every text escaped; the big one needs its length allowed (-pedantic)
	grep -qx '#pragma GCC diagnostic ignored "-Woverlength-strings"' migrations.c
	expected=$(
		cat <<-'EOF'
			"INSERT INTO t VALUES (1, 'q\"uote \\ back ?\?= ?\?/ \303\251 \342\234\223 ''x''');\n";
		EOF
	)
	grep -qF "$expected" migrations.c || fail "not in migrations.c: $expected"
	expected=$(
		cat <<-'EOF'
			"INSERT INTO t VALUES (1499, 'row 1499 of many \\ \"?\?=\" \303\251');\r\n";
		EOF
	)
	grep -qF "$expected" migrations.c || fail "not in migrations.c: $expected"
}

embedded_against_folder() {
	write_folder
	strata embed -o migrations.c migrations
	build_prog migrations.c
	run ./prog load
	assert_success
	assert_line --index 0 "dir migrations (embedded)"
	assert_line --partial "20250101000001 migrations/20250101000001_create_t.up.sql (embedded) migrations/20250101000001_create_t.down.sql (embedded) "
	assert_line --partial "20250101000003 migrations/20250101000003_many_rows.sql (embedded) - $(stat -c %s migrations/20250101000003_many_rows.sql) many rows 0 $(sha384sum <migrations/20250101000003_many_rows.sql | cut -d' ' -f1)"

	run ./prog check "$DATABASE_URL"
	assert_failure 3
	run ./prog run "$DATABASE_URL"
	assert_success
	assert_output "applied 5"
	# every byte of the text reached the database as written
	assert_equal "$(query_db "SELECT b FROM t WHERE a = 1")" "$SPECIAL"
	assert_equal "$(query_db "SELECT b FROM t WHERE a = 100000")" "tab	end"
	assert_equal "$(query_db "SELECT count(*) FROM t")" 1500
	for f in migrations/*.sql; do
		[[ $f == *.down.sql ]] && continue
		v=${f#migrations/}
		assert_equal "$(db_checksum "${v%%_*}")" "$(sha384sum <"$f" | cut -d' ' -f1)"
	done

	# the folder agrees with what the program applied, and the other way
	run strata check
	assert_success
	assert_output --partial "Up to date: 5 migrations applied."
	run strata status
	assert_success
	assert_output --partial "5 applied, 0 pending."
	refute_output --partial "mismatch"
	run ./prog status "$DATABASE_URL"
	assert_success
	assert_line "20250101000005 applied"
	assert_line "verdict 0"
	run ./prog validate "$DATABASE_URL"
	assert_success
	assert_output "problems 0"

	run ./prog revert "$DATABASE_URL"
	assert_success
	assert_output "reverted 1"
	run strata check
	assert_failure 3
	strata run
	run ./prog check "$DATABASE_URL"
	assert_success
}

@test "embed: the embedded program and the folder agree on PostgreSQL and SQLite" {
	for_each_driver embedded_against_folder
}

# lost_lock_session_then_run MODE: ./prog MODE, its lock session ended
# by the server before the run, which applies 1_a and 2_b anyway.
lost_lock_session_then_run() {
	coproc PROG { ./prog "$1" "$DATABASE_URL" 2>&1; }
	local line lock_pid prog_pid=$PROG_PID
	read -r -t 30 line <&"${PROG[0]}"
	assert_equal "$line" prepared
	# the session opened ahead: idle, its question asked
	lock_pid=$(await_sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'strata' AND query LIKE 'SELECT current_database()%'")
	psql_db "SELECT pg_terminate_backend($lock_pid)" >/dev/null
	await_sql "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $lock_pid)" >/dev/null
	echo go >&"${PROG[1]}"
	read -r -t 30 line <&"${PROG[0]}"
	assert_equal "$line" "applied 2"
	wait "$prog_pid"
	assert_equal "$(psql_db 'SELECT count(*) FROM _sqlx_migrations')" 2
}

@test "embed: a lock session opened ahead and lost before the run is opened again" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	strata embed -o migrations.c
	build_prog migrations.c
	lost_lock_session_then_run run-ahead
	# connected beside the work's session by strata_db_open_locking()
	psql_db "DROP TABLE a, b, _sqlx_migrations" >/dev/null
	lost_lock_session_then_run run-locking
}

@test "embed: lint reads the embedded files, named as embedded" {
	STRATA_TEST_DRIVER=postgres write_folder
	write_migration 20250101000006_add_index.sql "CREATE INDEX t_a ON t (a);"
	strata embed -o migrations.c
	build_prog migrations.c
	run ./prog lint
	assert_success
	assert_line "files 6"
	assert_line --partial "migrations/20250101000006_add_index.sql (embedded):1: "
}

@test "embed: a text or checksum changed in the generated file is refused when loaded (exit 4)" {
	STRATA_TEST_DRIVER=postgres write_folder
	strata embed -o migrations.c
	build_prog migrations.c
	./prog load

	# the first byte of the first checksum
	sed '0,/^\t    0x/s/^\t    0x../\t    0x00/' migrations.c >edited.c
	run -1 cmp -s migrations.c edited.c
	build_prog edited.c
	run --separate-stderr ./prog load
	assert_failure 4
	[[ $stderr == *"error: embedded migration 'migrations/20250101000001_create_t.up.sql (embedded)' does not match its checksum"* ]] || fail "$stderr"
	[[ $stderr == *"at migrations/20250101000001_create_t.up.sql (embedded)"* ]] || fail "$stderr"

	# a text edited with its length kept
	sed 's/CREATE TABLE t (a bigint/CREATE TABLE t (a bigone/' migrations.c >edited.c
	run -1 cmp -s migrations.c edited.c
	build_prog edited.c
	run --separate-stderr ./prog load
	assert_failure 4
	[[ $stderr == *"does not match its checksum"* ]] || fail "$stderr"

	# a text edited with a length no longer its own
	sed 's/DROP TABLE t;/DROP TABLE t CASCADE;/' migrations.c >edited.c
	build_prog edited.c
	run --separate-stderr ./prog load
	assert_failure 4
	[[ $stderr == *"embedded migration 'migrations/20250101000001_create_t.down.sql (embedded)' is corrupted"* ]] || fail "$stderr"
	[[ $stderr == *"Its text is 22 bytes long, the data says 14."* ]] || fail "$stderr"

	# a version that its name no longer says
	sed 's/^\t{ 20250101000004, /\t{ 20250101000009, /' migrations.c >edited.c
	run -1 cmp -s migrations.c edited.c
	build_prog edited.c
	run --separate-stderr ./prog load
	assert_failure 4
	[[ $stderr == *"Its name says version 20250101000004, the data 20250101000009."* ]] || fail "$stderr"

	# data of a layout this library does not read
	sed 's|^\t1, /\* STRATA_EMBEDDED_VERSION|\t99, /* STRATA_EMBEDDED_VERSION|' migrations.c >edited.c
	run -1 cmp -s migrations.c edited.c
	build_prog edited.c
	run --separate-stderr ./prog load
	assert_failure 4
	[[ $stderr == *"embedded migrations 'migrations (embedded)' are of layout version 99, which this library does not read"* ]] || fail "$stderr"
}

# strata embed refuses the folder as run does: exit 4, nothing on stdout,
# and with -o the file left as it was, no temporary file beside it.
# MESSAGE from embed (which reads sqlx's layout only), RUN_MESSAGE (default
# the same) from run
assert_embed_refused() {
	local message=$1 run_message=${2:-$1}
	run --separate-stderr strata run
	assert_failure 4
	[[ $stderr == *"$run_message"* ]] || fail "run: '$run_message' not in: $stderr"
	run --separate-stderr strata embed migrations
	assert_failure 4
	[[ $stderr == *"$message"* ]] || fail "embed: '$message' not in: $stderr"
	assert_equal "$output" ""
	mkdir -p out
	run --separate-stderr strata embed -o out/migrations.c migrations
	assert_failure 4
	run ls -A out
	assert_output ""
	echo "the last good one" >out/migrations.c
	run --separate-stderr strata embed -o out/migrations.c migrations
	assert_failure 4
	assert_equal "$(cat out/migrations.c)" "the last good one"
	run ls -A out
	assert_output "migrations.c"
	rm -rf out
}

@test "embed: a folder strata refuses is refused (exit 4), nothing written" {
	write_migration 1_first.sql "CREATE TABLE first (id int);"
	write_migration 2_dbmate.sql "-- migrate:up
CREATE TABLE d (id int);
-- migrate:down
DROP TABLE d;"
	assert_embed_refused "'migrations/2_dbmate.sql' is a dbmate migration" \
		"'migrations/1_first.sql' is a migration of sqlx's layout"
	rm migrations/2_dbmate.sql

	write_migration 2023-01-01-000000_create_d/up.sql "CREATE TABLE d (id int);"
	write_migration 2023-01-01-000000_create_d/down.sql "DROP TABLE d;"
	assert_embed_refused "holds diesel migrations, which sqlx's layout does not read" \
		"mixes diesel migrations with files of another layout"
	rm -r migrations/2023-01-01-000000_create_d

	rm migrations/1_first.sql
	assert_embed_refused "'migrations' holds no migration"

	run --separate-stderr strata embed missing
	assert_failure 1
	[[ $stderr == *"could not open migration directory 'missing'"* ]] || fail "$stderr"
	assert_equal "$output" ""

	write_migration 1_first.sql "CREATE TABLE first (id int);"
	run --separate-stderr strata embed -o nowhere/migrations.c
	assert_failure 1
	[[ $stderr == *"could not write 'nowhere/migrations.c': No such file or directory"* ]] || fail "$stderr"
}

@test "embed: the same folder gives the same bytes, on stdout or with -o" {
	STRATA_TEST_DRIVER=postgres write_folder
	strata embed migrations >one.c
	strata embed migrations/ >two.c
	cmp one.c two.c
	strata -q embed -o three.c migrations
	cmp one.c three.c
	strata -q embed -o three.c migrations
	cmp one.c three.c
	assert_equal "$(stat -c %a three.c)" "$(printf '%o' $((0666 & ~$(umask))))"
	run ls -A
	assert_output "migrations
one.c
three.c
two.c"
}

@test "embed: -n names the symbol; a name that is no C identifier is a usage error" {
	write_migration 1_first.sql "CREATE TABLE first (id int);"
	strata embed -n app_migrations -o app.c
	grep -q '^const struct strata_embedded app_migrations = {$' app.c
	# short texts only: nothing a C11 compiler need not read
	run grep -c pragma app.c
	assert_output 0
	cc -std=c11 -Wall -Wextra -pedantic -Werror -I"$STRATA_TEST_ROOT/include" -c -o app.o app.c
	run nm app.o
	assert_line --partial " D app_migrations"
	for bad in 1abc int 'a-b' '' __x _Upper; do
		run --separate-stderr strata embed -n "$bad"
		assert_failure 2
		[[ $stderr == *"--name wants a C identifier"* ]] || fail "'$bad': $stderr"
	done
	run --separate-stderr strata embed migrations other
	assert_failure 2
	[[ $stderr == *"unexpected argument 'other'"* ]] || fail "$stderr"
}

# examples/embed built as its README says, against $MIGRATIONS_DIR.
build_examples() {
	use_libstrata
	cp -r "$STRATA_TEST_ROOT/examples/embed" ex
	make -s -C ex CC="cc $SAN" STRATA="$STRATA_BIN" \
		MIGRATIONS="$PWD/migrations" >/dev/null
}

@test "embed: examples/embed: startup-check refuses pending migrations, auto-migrate applies each once from 3 replicas" {
	require_pg
	write_migration 20250101000001_create_t.up.sql "CREATE TABLE t (a bigint PRIMARY KEY);"
	write_migration 20250101000001_create_t.down.sql "DROP TABLE t;"
	# slow enough that the other replicas wait for the lock
	write_migration 20250101000002_slow.sql "SELECT pg_sleep(2);"
	write_migration 20250101000003_fill.sql "INSERT INTO t VALUES (1), (2), (3);"
	build_examples

	run --separate-stderr ex/startup-check
	assert_failure 3
	assert_output "pending: 20250101000001 create t
pending: 20250101000002 slow
pending: 20250101000003 fill"
	[[ $stderr == *"3 migrations pending: not starting"* ]] || fail "$stderr"

	for i in 1 2 3; do
		ex/auto-migrate >"out$i" 2>&1 &
		eval "pid$i=\$!"
	done
	for i in 1 2 3; do
		eval "wait \$pid$i" || fail "replica $i failed: $(cat "out$i")"
	done
	cat out1 out2 out3
	assert_equal "$(cat out1 out2 out3 | grep -c '^applied 3 migrations$')" 1
	assert_equal "$(cat out1 out2 out3 | grep -c '^up to date: nothing to apply$')" 2
	assert_equal "$(cat out1 out2 out3 | grep -c '^applied 20250101000002 slow')" 1
	grep -q '^waiting for the migration lock (held by pid [1-9]' out1 out2 out3
	assert_equal "$(psql_db "SELECT version, success FROM _sqlx_migrations ORDER BY version")" "20250101000001|t
20250101000002|t
20250101000003|t"
	assert_equal "$(psql_db "SELECT version, count(*) FROM _strata_audit WHERE action = 'apply' GROUP BY version ORDER BY version")" "20250101000001|1
20250101000002|1
20250101000003|1"
	assert_equal "$(psql_db "SELECT count(*) FROM t")" 3

	run ex/startup-check
	assert_success
	assert_output "up to date: 3 migrations applied"
	run strata check
	assert_success
}
