#!/usr/bin/env bats
# The command line: help, usage errors, where the database URL comes from,
# output formats, colour, connection failures and password redaction.

load lib

COMMANDS=(run revert status info check validate new database)

one_migration() {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
}

# ---------------------------------------------------------------- help

@test "cli: --version prints the version and exits 0" {
	run --separate-stderr strata --version
	assert_success
	assert_output --regexp '^strata [0-9]+\.[0-9]+\.[0-9]+'
	assert_equal "$stderr" ""
}

@test "cli: --help, -h and help list every command on stdout (exit 0)" {
	local how c
	for how in --help -h help; do
		run --separate-stderr strata $how
		assert_success
		assert_line --index 0 --partial "usage: strata"
		for c in "${COMMANDS[@]}"; do
			assert_line --regexp "^  $c +[A-Z]"
		done
		assert_equal "$stderr" ""
	done
}

@test "cli: each command's --help exits 0 and shows its usage and the global options" {
	local c listed
	# every command the help lists, at least those of COMMANDS
	listed=$(strata --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
	for c in "${COMMANDS[@]}"; do
		grep -qx "$c" <<<"$listed"
	done
	for c in $listed; do
		run --separate-stderr strata "$c" --help
		assert_success
		assert_line --index 0 --partial "usage: strata $c"
		assert_line --partial "--format text|json"
		assert_equal "$stderr" ""
		# -h too, and after other options, without touching the database
		run strata "$c" --format json -h
		assert_success
		run strata -d "postgresql:///x?host=/nonexistent" "$c" -h
		assert_success
	done
	for c in run revert status check validate database; do
		run strata "$c" --help
		assert_line --partial "--database URL"
		run strata "$c" -d "postgresql:///x?host=/nonexistent" -h
		assert_success
	done
	run strata run --help
	assert_output --partial "--dry-run"
	run strata new --help
	assert_output --partial "--template"
}

@test "cli: no command is a usage error (exit 2), the usage on stderr" {
	run --separate-stderr strata
	assert_failure 2
	assert_output ""
	[[ $stderr == *"usage: strata"* ]]
	[[ $stderr == *"see 'strata --help'"* ]]
}

@test "cli: an unknown command exits 2, names it and the nearest command" {
	run --separate-stderr strata stauts
	assert_failure 2
	assert_output ""
	[[ $stderr == *"'stauts' is not a strata command; did you mean 'status'?"* ]]
	[[ $stderr == *"see 'strata --help'"* ]]
}

@test "cli: an unknown option exits 2 with a hint, before or after the command" {
	run --separate-stderr strata --frobnicate status
	assert_failure 2
	assert_output ""
	[[ $stderr == *"unknown option '--frobnicate'"* ]]
	[[ $stderr == *"see 'strata --help'"* ]]
	run --separate-stderr strata status --frobnicate
	assert_failure 2
	[[ $stderr == *"unknown option '--frobnicate'"* ]]
	[[ $stderr == *"see 'strata status --help'"* ]]
	run strata run -Z
	assert_failure 2
	assert_output --partial "unknown option '-Z'"
	run strata status extra-argument
	assert_failure 2
	assert_output --partial "unexpected argument 'extra-argument'"
}

@test "cli: a missing option value exits 2" {
	run strata run -d
	assert_failure 2
	assert_output --partial "option '-d' wants a value"
	run strata run --database
	assert_failure 2
	assert_output --partial "wants a value"
	run strata new --template
	assert_failure 2
	run strata run --format
	assert_failure 2
	run strata status --lock-wait soon
	assert_failure 2
	assert_output --partial "--lock-wait"
}

@test "cli: --format xml is a usage error (exit 2)" {
	one_migration
	run strata status --format xml
	assert_failure 2
	assert_output --partial "--format wants 'text' or 'json', not 'xml'"
	run strata --format xml run
	assert_failure 2
	assert_equal "$(psql_db "SELECT to_regclass('a') IS NULL")" t
}

# ---------------------------------------------------------------- database URL

@test "cli: no database given: a clear error naming --database and DATABASE_URL (exit 2)" {
	one_migration
	unset DATABASE_URL
	local c
	for c in run status check revert; do
		run --separate-stderr strata "$c"
		assert_failure 2
		[[ $stderr == *"no database given"* ]]
		[[ $stderr == *"--database"* ]]
		[[ $stderr == *"DATABASE_URL"* ]]
	done
	run strata --format json check
	assert_failure 2
	run jq -r '.error.message, .error.code' <<<"$output"
	assert_output "no database given
2"
	# an empty DATABASE_URL is none
	DATABASE_URL='' run strata status
	assert_failure 2
	assert_output --partial "no database given"
}

@test "cli: -d wins over DATABASE_URL, which wins over .env" {
	sqlite_db
	one_migration
	echo "DATABASE_URL=sqlite:$PWD/dotenv.db" >.env
	export DATABASE_URL=sqlite:$PWD/env.db
	run strata run -d "sqlite:$PWD/option.db"
	assert_success
	[[ -f option.db && ! -e env.db && ! -e dotenv.db ]]
	run strata -d "sqlite:$PWD/option2.db" run
	assert_success
	[[ -f option2.db && ! -e env.db ]]
	run strata run
	assert_success
	[[ -f env.db && ! -e dotenv.db ]]
	unset DATABASE_URL
	run strata run
	assert_success
	[[ -f dotenv.db ]]
	assert_equal "$(sqlite3 dotenv.db 'SELECT version FROM _sqlx_migrations')" 1
}

@test "cli: .env is read as sqlx and dbmate read it (export, quotes, comments)" {
	one_migration
	cat >.env <<-EOF
		# the database of this test
		export OTHER=1
		DATABASE_URL="$DATABASE_URL" # a comment
	EOF
	unset DATABASE_URL
	run strata run
	assert_success
	assert_equal "$(psql_db "SELECT to_regclass('a') IS NOT NULL")" t
	cat >.env <<-EOF
		DATABASE_URL='$(pg_url "$TEST_DB")'
	EOF
	run strata check
	assert_success
}

@test "cli: .env is read from the working directory only" {
	one_migration
	mkdir sub
	echo "DATABASE_URL=$DATABASE_URL" >sub/.env
	unset DATABASE_URL
	run strata run
	assert_failure 2
	assert_output --partial "no database given"
	(cd sub && strata -s ../migrations run)
	assert_equal "$(psql_db "SELECT to_regclass('a') IS NOT NULL")" t
}

@test "cli: a malformed .env names the file and the line (exit 2)" {
	one_migration
	printf 'A=1\n# fine\nthis is not an assignment\n' >.env
	run strata status
	assert_failure 2
	assert_output --partial "'.env' line 3"
	printf 'DATABASE_URL="sqlite:x.db\n' >.env
	run strata status
	assert_failure 2
	assert_output --partial "unterminated quoted value at '.env' line 1"
}

@test "cli: -s/--source reads another directory" {
	mkdir -p db/schema
	write_migration 1_in_default.sql "CREATE TABLE in_default (id int);"
	printf 'CREATE TABLE elsewhere (id int);\n' >db/schema/1_elsewhere.sql
	run strata -s db/schema run
	assert_success
	assert_line --partial "Applied 1 elsewhere"
	assert_equal "$(psql_db "SELECT to_regclass('elsewhere') IS NOT NULL, to_regclass('in_default') IS NULL")" "t|t"
	run strata status --source db/schema --format json
	run jq -r '.migrations[0].file' <<<"$output"
	assert_output "db/schema/1_elsewhere.sql"
	run strata check --source=db/schema
	assert_success
	# the default directory, against this database: 1 has another checksum
	run strata check
	assert_failure 4
}

@test "cli: info is an alias of status" {
	one_migration
	strata run
	run strata status
	local want=$output
	run strata info
	assert_success
	assert_output "$want"
	run strata info --format json
	run jq -r '.migrations[0].state' <<<"$output"
	assert_output applied
}

# ---------------------------------------------------------------- output

@test "cli: --format json on status, check, run, revert, validate and new is valid JSON on stdout" {
	one_migration
	local c
	for c in status check "run --dry-run" run status check "revert --dry-run" revert validate "new --sequential more"; do
		run --separate-stderr strata --format json $c
		case $c in
		check) [[ $status == 0 || $status == 3 ]] ;;
		*) assert_success ;;
		esac
		jq -e 'type == "object"' <<<"$output" >/dev/null ||
			fail "strata $c --format json: not a JSON object: $output"
	done
	# reverted 1 and the new 2 are pending, then applied
	run strata --format json check
	assert_failure 3
	run jq -r '.status' <<<"$output"
	assert_output pending
	run strata --format json run
	run jq -c '[.applied, [.migrations[] | .action, .version]]' <<<"$output"
	assert_output '[2,["applied",1,"applied",2]]'
}

@test "cli: --format json errors are JSON on stdout too" {
	write_migration 1_a.sql "SELECT 1;"
	write_migration 1_b.sql "SELECT 2;"
	run --separate-stderr strata status --format json
	assert_failure 4
	run jq -r '.error.code, (.error.message | test("duplicate"))' <<<"$output"
	assert_output "4
true"
}

@test "cli: -q prints nothing on success" {
	one_migration
	local c
	for c in "run --dry-run" run check validate "revert --dry-run" revert "database create"; do
		run strata -q $c
		assert_success
		assert_output ""
	done
	run strata --quiet run
	assert_success
	assert_output ""
	# errors are still printed
	run strata -q status --format xml
	assert_failure 2
	assert_output --partial "xml"
}

@test "cli: -q new prints nothing on success" {
	run strata -q new --sequential x
	assert_success
	assert_output ""
	[[ -f migrations/0001_x.sql ]]
}

# Runs strata $@ on a pseudo-terminal (util-linux script), output in $output.
on_tty() {
	local cmd="strata" a
	for a in "$@"; do
		cmd+=" $(printf '%q' "$a")"
	done
	run env TERM=xterm script -qec "$cmd" /dev/null
}

@test "cli: colour only on a terminal without NO_COLOR and --no-color" {
	one_migration
	local esc=$'\e['
	# on a terminal: colour (else the other checks prove nothing)
	on_tty status
	assert_success
	[[ $output == *"$esc"* ]]
	NO_COLOR=1 on_tty status
	assert_success
	assert_output --partial "pending"
	[[ $output != *"$esc"* ]]
	on_tty --no-color status
	[[ $output != *"$esc"* ]]
	on_tty status --no-color
	[[ $output != *"$esc"* ]]
	NO_COLOR=1 on_tty run
	assert_output --partial "Applied 1 a"
	[[ $output != *"$esc"* ]]
	# not a terminal: no colour, on stdout nor stderr, result nor error
	run strata revert
	assert_success
	[[ $output != *"$esc"* ]]
	run strata run
	[[ $output != *"$esc"* ]]
	run strata status
	[[ $output != *"$esc"* ]]
	run strata status -d "postgresql:///x?host=/nonexistent"
	assert_failure 7
	[[ $output != *"$esc"* ]]
}

# ---------------------------------------------------------------- connection

@test "cli: a server nobody listens on is exit 7, for every command that connects" {
	one_migration
	local url c
	for url in "postgresql:///$TEST_DB?host=$BATS_TEST_TMPDIR&port=1" "postgres://postgres@127.0.0.1:1/x?connect_timeout=2"; do
		for c in run status check revert validate; do
			run --separate-stderr strata "$c" -d "$url"
			assert_failure 7
			[[ $stderr == *"could not connect"* ]]
		done
	done
	run strata --format json check -d "postgres://postgres@127.0.0.1:1/x"
	assert_failure 7
	run jq -r .error.code <<<"$output"
	assert_output 7
}

@test "cli: a SQLite mode=rw URL to a missing file is exit 7 and creates nothing" {
	sqlite_db
	one_migration
	run strata run -d "sqlite:$PWD/missing.db?mode=rw"
	assert_failure 7
	assert_output --partial "missing.db"
	[[ ! -e missing.db ]]
	run strata status -d "sqlite:$PWD/nodir/x.db"
	assert_failure 7
}

# ---------------------------------------------------------------- redaction

# Asserts that SECRETpw123 appears nowhere in what `strata "$@"` prints,
# in text and JSON, with the exit code $want.
no_secret() {
	local want=$1 fmt
	shift
	for fmt in text json; do
		run strata --format "$fmt" "$@"
		assert_failure "$want"
		refute_output --partial SECRETpw123
		[[ -n $output ]]
		if [[ $fmt == json ]]; then
			jq -e .error <<<"$output" >/dev/null
		fi
	done
}

@test "cli: a password in a URL or a keyword string is never printed" {
	one_migration
	local url c
	for url in "postgres://user:SECRETpw123@127.0.0.1:1/db" \
		"postgresql://user@127.0.0.1:1/db?password=SECRETpw123" \
		"postgres://user:SECRET%40pw123@127.0.0.1:1/db" \
		"host=/nonexistent password=SECRETpw123 dbname=x" \
		"host=/nonexistent password='SECRETpw123 x' dbname=x"; do
		for c in run status check validate "database create"; do
			DATABASE_URL=$url no_secret 7 $c
			no_secret 7 -d "$url" -v $c
		done
	done
	# the redacted form is shown instead
	DATABASE_URL="postgres://user:SECRETpw123@127.0.0.1:1/db" run strata status
	assert_output --partial "postgres://user:***@127.0.0.1:1/db"
}

@test "cli: an unsupported or invalid URL is exit 2, its password not shown" {
	one_migration
	local url c
	for url in "mysql://root:SECRETpw123@h/db" "postgres://user:SECRETpw123@[::1/db" \
		"postgresql://u@h/db?password=SECRETpw123&nonsense=1"; do
		for c in run status check; do
			DATABASE_URL=$url no_secret 2 $c
		done
	done
	DATABASE_URL="mysql://root:SECRETpw123@h/db" run strata run
	assert_output --partial "unsupported database URL 'mysql://root:***@h/db'"
}

@test "cli: a password in a working URL is not printed, even with -v" {
	one_migration
	# trust authentication: the server ignores the password
	local url="postgresql://postgres:SECRETpw123@/$TEST_DB?host=${PGHOST//\//%2F}&port=$PGPORT"
	local c
	for c in run status check "revert --dry-run" revert validate; do
		run strata -v -d "$url" $c
		assert_success
		refute_output --partial SECRETpw123
		run strata -v -d "$url" --format json $c
		refute_output --partial SECRETpw123
	done
}
