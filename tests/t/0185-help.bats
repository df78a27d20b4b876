#!/usr/bin/env bats
# Help: the page of strata and of each command (usage, description, its
# options and the global ones that apply, examples, exit codes), exactly
# the options each command accepts, usage errors with the nearest command
# or option, and sqlx-cli's spellings (migrate run|revert|info|add,
# --database-url, -D, db, mig, --no-dotenv).

load lib

# Every command and subcommand that has a help page of its own.
pages() {
	strata --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p'
	printf '%s\n' db mig "backup verify" "backup list" "backup prune" \
		"migrate run" "migrate revert" "migrate info" "migrate add"
}

# The options a help page lists under "options:" and "global options:",
# one a line as `strata help --list-options` prints them: "--long ARG"
# (ARG for an option with a value), then "-x ARG" for its short form.
listed_options() {
	awk '
		/^[a-z].*:$/ { in_opts = ($0 == "options:" || $0 ~ /^global options/); next }
		/^$/ { in_opts = 0; next }
		in_opts && /^  (-[A-Za-z], |    )--[a-z]/ {
			short = substr($0, 3, 1) == "-" ? substr($0, 3, 2) : ""
			left = substr($0, 7)
			i = index(left, "  ")
			if (i) left = substr(left, 1, i - 1)
			print left
			arg = index(left, " ") ? substr(left, index(left, " ")) : ""
			if (short != "") print short arg
		}'
}

@test "help: strata help, --help and -h print one page on stdout, exit 0" {
	run --separate-stderr strata --help
	assert_success
	assert_equal "$stderr" ""
	local page=$output how
	for how in -h help "help help" "help --help"; do
		run --separate-stderr strata $how
		assert_success
		assert_equal "$output" "$page"
		assert_equal "$stderr" ""
	done
	# what the top-level page holds
	assert_line "global options (before the command, or after it where they apply):"
	assert_line --regexp '^  -d, --database URL +database URL'
	assert_line --regexp '^      --version +print the version'
	assert_line "environment:"
	assert_line --regexp '^  DATABASE_URL +the database'
	assert_line "exit codes:"
	assert_line --regexp '^  6  the migration lock'
	assert_line "examples:"
	assert_line '  $ strata status'
}

@test "help: strata help CMD is strata CMD --help, for every command and subcommand" {
	local p
	while read -r p; do
		run --separate-stderr strata $p --help
		assert_success
		assert_equal "$stderr" ""
		local want=$output name=$p
		# another name shows its command's page
		[[ $p == db ]] && name=database
		[[ $p == mig ]] && name=migrate
		[[ $want == "usage: strata $name "* ]] || fail "strata $p --help: $want"
		run --separate-stderr strata help $p
		assert_success
		assert_equal "$output" "$want"
		# -h, and --help before the command, are the same
		run strata $p -h
		assert_equal "$output" "$want"
	done < <(pages)
	run strata -h run
	assert_output "$(strata run --help)"
}

@test "help: each page has a description, examples and exit codes; lines fit 80 columns" {
	local p
	while read -r p; do
		run strata help $p
		assert_line "exit codes:"
		assert_line "examples:"
		assert_line --regexp '^  \$ strata '
		assert_line --regexp '^  0  success$'
		assert_line --regexp '^  2  usage error'
		# a paragraph after the usage
		[[ ${lines[1]} == [A-Za-z\'\ ]* || ${lines[1]} == *"   or:"* ]] || fail "$p: ${lines[1]}"
		local long
		long=$(awk 'length($0) > 80' <<<"$output")
		[[ -z $long ]] || fail "strata help $p: lines over 80 columns: $long"
	done < <(pages)
	long=$(strata --help | awk 'length($0) > 80')
	[[ -z $long ]] || fail "strata --help: lines over 80 columns: $long"
}

@test "help: option descriptions start in one column, wrapped lines too" {
	local p bad
	while read -r p; do
		# a row: two spaces, the option, spaces to column 31, its help;
		# or the option alone, its help on the next line at column 31
		bad=$(strata help $p | awk '
			/^  (-[A-Za-z], |    )--[a-z]/ {
				if (match($0, /[^ ]  +[^ ]/) && RSTART + RLENGTH - 1 != 31) print
				opt = 1; next
			}
			opt && /^ +[^ ]/ { if (match($0, /[^ ]/) != 31) print; next }
			{ opt = 0 }')
		[[ -z $bad ]] || fail "strata help $p: misaligned: $bad"
	done < <(pages)
	# the commands of the top-level page line up too
	bad=$(strata --help | awk '/^commands:/ { c = 1; next } /^$/ { c = 0 }
		c && /^  [a-z]/ { match($0, /[^ ]  +[^ ]/); print RSTART + RLENGTH - 1 }' | sort -u | wc -l)
	assert_equal "$bad" 1
}

@test "help: a page lists exactly the options its command accepts" {
	local p o arg all out stderr rc
	all=$(strata help --list-options)
	# the top-level list: every global option and --version
	grep -qx -- "--retries N" <<<"$all"
	grep -qx -- "--version" <<<"$all"
	while read -r p; do
		local listed want
		listed=$(strata help $p | listed_options | sort)
		want=$(strata help --list-options $p | sort)
		[[ -n $want ]]
		assert_equal "$listed" "$want"
		# each one listed is accepted (a value where it takes one) ...
		# (plain calls, not bats' run: there are thousands of them)
		while read -r o arg; do
			out=$(strata $p $o ${arg:+1} --help 2>&1) ||
				fail "strata $p: $o is listed but refused: $out"
		done <<<"$want"
		# ... and each global option not listed is refused after the command
		while read -r o arg; do
			[[ $o == --version ]] && continue
			# listed, maybe as the command's own (migrate add's -s)
			grep -qE -- "^$o( |\$)" <<<"$want" && continue
			rc=0
			stderr=$(strata $p $o ${arg:+1} --help 2>&1 >/dev/null) || rc=$?
			[[ $rc == 2 ]] || fail "strata $p: $o is not listed but accepted"
			[[ $stderr == *"does not apply to 'strata $p'"* || $stderr == *"not a subcommand"* ]] ||
				[[ $p == mig* || $p == db ]] || fail "strata $p $o: $stderr"
		done <<<"$all"
	done < <(pages)
}

@test "help: each command lists the global options that matter to it, not the others" {
	run strata new --help
	refute_line --partial "--retries"
	refute_line --partial "--database"
	refute_line --partial "--lock-wait"
	assert_line --partial "-s, --source DIR"
	run strata status --help
	assert_line --partial "--database URL"
	refute_line --partial "--retries"
	refute_line --partial "--lock-timeout"
	run strata run --help
	assert_line --partial "--retries N"
	assert_line --partial "--lock-timeout DURATION"
	run strata lint --help
	assert_line --partial "--lock-timeout DURATION"
	refute_line --partial "--retries"
	run strata backup prune --help
	refute_line --partial "--database"
	# after the command: refused, naming it; before it: a global option
	run --separate-stderr strata new --retries 3 x
	assert_failure 2
	assert_equal "$stderr" "strata: error: option '--retries' does not apply to 'strata new'
see 'strata new --help'"
	[[ ! -e migrations/*_x.sql ]]
	run strata --retries 3 new --sequential x
	assert_success
	[[ -f migrations/0001_x.sql ]]
}

@test "help: backup --help shows its subcommands' options, database --help its actions" {
	run strata backup --help
	assert_success
	assert_line --regexp '^   or: strata backup verify FILE \[--restore-test\]'
	assert_line "'strata backup verify' options:"
	assert_line --regexp '^      --restore-test +also restore'
	assert_line "'strata backup prune' options:"
	assert_line --regexp '^      --keep-daily N +the newest backup'
	assert_line --partial "--keep-weekly N"
	assert_line --partial "--keep-monthly N"
	assert_line --partial "--keep-pre-migration DURATION"
	run strata database --help
	assert_line "actions:"
	local a
	for a in create drop reset setup; do
		assert_line --regexp "^  $a +[a-z]"
	done
	run strata migrate --help
	assert_line "'strata migrate run' options:"
	assert_line "'strata migrate add' options:"
	assert_line --regexp '^  -s, --sequential'
}

@test "help: a usage error is one line and where to read more, on stderr, exit 2" {
	local args want
	while IFS='|' read -r args want; do
		# '@' stands for the line break
		run --separate-stderr strata $args
		assert_failure 2
		assert_output ""
		assert_equal "$stderr" "${want//@/$'\n'}"
	done <<-'EOF'
		stauts|strata: error: 'stauts' is not a strata command; did you mean 'status'?@see 'strata --help'
		help stat|strata: error: 'stat' is not a strata command; did you mean 'status'?@see 'strata --help'
		xyzzy|strata: error: 'xyzzy' is not a strata command@see 'strata --help'
		run --dryrun|strata: error: unknown option '--dryrun'; did you mean '--dry-run'?@see 'strata run --help'
		run --frobnicate|strata: error: unknown option '--frobnicate'@see 'strata run --help'
		run --dry-run=yes|strata: error: option '--dry-run' takes no value@see 'strata run --help'
		backup verify --restore-tset x|strata: error: unknown option '--restore-tset'; did you mean '--restore-test'?@see 'strata backup verify --help'
		backup verfy x|strata: error: 'verfy' is not a subcommand of 'strata backup'; did you mean 'verify'?@see 'strata backup --help'
		migrate ad x|strata: error: 'ad' is not a subcommand of 'strata migrate'; did you mean 'add'?@see 'strata migrate --help'
		migrate|strata: error: a subcommand is required: run, revert, info or add@see 'strata migrate --help'
		migrate run --dryrun|strata: error: unknown option '--dryrun'; did you mean '--dry-run'?@see 'strata migrate run --help'
		database dorp|strata: error: unknown action 'dorp'; did you mean 'drop'?@see 'strata database --help'
	EOF
}

# ---------------------------------------------------------------- sqlx-cli

@test "sqlx: migrate add takes sqlx-cli's options (-r, --simple, -t, -s, --source)" {
	run strata migrate add -r create users
	assert_success
	assert_output --regexp 'Created migrations/[0-9]{14}_create_users\.up\.sql'
	assert_line --regexp 'Created migrations/[0-9]{14}_create_users\.down\.sql'
	run strata migrate add --source db -s first
	assert_success
	assert_output "Created db/0001_first.sql"
	run strata mig add --source=db --sequential second thing
	assert_output "Created db/0002_second_thing.sql"
	run strata migrate add --source db -t --simple later
	assert_output --regexp '^Created db/[0-9]{14}_later\.sql$'
	run strata migrate add -t -s x
	assert_failure 2
	assert_output --partial "--timestamp and --sequential exclude each other"
	assert_output --partial "see 'strata migrate add --help'"
	# strata new keeps -s for the folder
	run strata new -s db --sequential third
	assert_output --regexp '^Created db/[0-9]{14}_third\.sql$|^Created db/[0-9]+_third\.sql$'
}

sqlx_run_revert_info() {
	write_migration 1_a.up.sql "CREATE TABLE a (id int);"
	write_migration 1_a.down.sql "DROP TABLE a;"
	write_migration 2_b.up.sql "CREATE TABLE b (id int);"
	write_migration 2_b.down.sql "DROP TABLE b;"
	local url=$DATABASE_URL
	unset DATABASE_URL
	run strata migrate run --dry-run -D "$url"
	assert_success
	assert_output --partial "2 migrations would be applied"
	run strata migrate run --target-version 1 --database-url "$url"
	assert_success
	assert_output --partial "Applied 1 migration."
	run strata migrate info --database-url="$url"
	assert_success
	assert_line --regexp '^1 +applied'
	assert_line --regexp '^2 +pending'
	# options before the subcommand, as older sqlx-cli took --source
	mv migrations elsewhere
	run strata migrate --source elsewhere -D "$url" run
	assert_success
	assert_output --partial "Applied 1 migration."
	run strata migrate revert --source elsewhere -D "$url" --dry-run
	assert_output --partial "1 migration would be reverted"
	run strata mig revert --source elsewhere -D "$url" --target-version 0
	assert_success
	assert_output --partial "Reverted 2 migrations."
	# an applied migration missing from the source
	strata -D "$url" -s elsewhere run
	rm elsewhere/2_b.*
	run strata migrate run --source elsewhere -D "$url"
	assert_failure 4
	run strata migrate run --source elsewhere -D "$url" --ignore-missing
	assert_success
	run strata --format json migrate info --source elsewhere -D "$url"
	run jq -r '.summary.missing' <<<"$output"
	assert_output 1
	# revert takes it too; 2 is reverted with the down SQL kept for it
	run strata migrate revert --source elsewhere -D "$url" --ignore-missing
	assert_success
	assert_output --partial "Reverted 1 migration."
}

@test "sqlx: migrate run, revert and info with -D/--database-url, --source, --dry-run, --target-version, --ignore-missing" {
	for_each_driver sqlx_run_revert_info
}

@test "sqlx: db is database, with -y; --no-dotenv leaves .env unread" {
	require_pg
	local url
	url=$(pg_url "${TEST_DB}_sqlx")
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	run strata db setup -D "$url"
	assert_success
	run strata db reset -y -D "$url"
	assert_success
	assert_equal "$(psql -XAtq -d "$url" -c "SELECT count(*) FROM _sqlx_migrations")" 1
	run strata db drop -y --database-url "$url"
	assert_success
	run psql -XAtq -d "$url" -c "SELECT 1"
	assert_failure
	# .env names the database unless --no-dotenv
	echo "DATABASE_URL=$DATABASE_URL" >.env
	unset DATABASE_URL
	run strata check
	assert_failure 3
	run strata check --no-dotenv
	assert_failure 2
	assert_output --partial "no database given"
	run strata --no-dotenv migrate info
	assert_failure 2
}
