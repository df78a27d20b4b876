#!/usr/bin/env bats
# strata.conf's errors name the line and say what to do; the default
# environment is development; which database was chosen, and from where,
# is said with -v and in run's log.

load lib

# SQLite only: no PostgreSQL cluster for this file
setup_file() { :; }
teardown_file() { :; }

setup() {
	sqlite_db
	unset DATABASE_URL STRATA_ENV
	printf 'CREATE TABLE a (id INTEGER);\n' >migrations/1_a.sql
}

@test "config: [environment.development] alone is the default environment" {
	printf '[environment.development]\ndatabase = sqlite:dev.db\n' >strata.conf
	run strata run
	assert_success
	assert_line --partial "Applied 1 a"
	[[ -f dev.db ]]
}

@test "config: a header alone names an environment; no database there says so" {
	printf '[environment.development]\n' >strata.conf
	run strata status
	assert_failure 2
	assert_line "strata: error: no database given"
	assert_line "  detail: Environment 'development' of strata.conf sets no database, nor does its [strata] section."
	# and -e names it without an error of its own
	run strata status -e development
	assert_failure 2
	assert_line "strata: error: no database given"
}

@test "config: environment = NAME of no environment is an error listing those there are" {
	printf '[strata]\nenvironment = nope\n\n[environment.development]\ndatabase = sqlite:dev.db\n\n[environment.prod]\ndatabase = sqlite:prod.db\n' >strata.conf
	run strata status
	assert_failure 2
	assert_line --regexp "^strata: (error: )?no environment 'nope' in strata.conf \\(line 2 says environment = nope; it has: development, prod\\)$"
	run strata status -e staging
	assert_failure 2
	assert_line --regexp "^strata: (error: )?no environment 'staging' in strata.conf \\(it has: development, prod\\)$"
	[[ ! -f dev.db && ! -f prod.db ]]
}

@test "config: a section header not closed is named as such, with its line" {
	printf '; settings\n[strata\nsource = migrations\n' >strata.conf
	run strata status
	assert_failure 2
	assert_line "strata: error: the section header '[strata' is not closed at 'strata.conf' line 2"
	assert_line "  hint: End it with ']', as in [strata] or [environment.production]."
	# an error on an earlier line is the one reported
	printf '[strata]\nsourc = x\n[environment.x\n' >strata.conf
	run strata status
	assert_failure 2
	assert_line --partial "unknown key 'sourc' in [strata] at 'strata.conf' line 2"
}

@test "config: a value a key does not take names its line" {
	printf '[strata]\nsource = migrations\n\nbackup = maybe\n' >strata.conf
	run strata status
	assert_failure 2
	assert_line --regexp "^strata: (error: )?backup in strata.conf line 4 wants true or false, not 'maybe'$"
	printf '[environment.development]\ndatabase = sqlite:x.db\nlock_wait = soon\n' >strata.conf
	run strata status
	assert_failure 2
	assert_line --regexp "^strata: (error: )?lock_wait in strata.conf line 3 wants a duration such as 30s, 5m or 'forever', not 'soon'$"
	printf '[strata]\nwarn_after = 1m\n[environment.development]\nwarn_after = x\n' >strata.conf
	run strata status
	assert_failure 2
	assert_line --partial "warn_after in strata.conf line 4 wants"
}

@test "config: the hint on an unknown key lists every key there is" {
	printf '[strata]\nsourc = migrations\n' >strata.conf
	run strata status
	assert_failure 2
	assert_line --partial "unknown key 'sourc' in [strata] at 'strata.conf' line 2"
	local hint
	hint=$(grep '^  hint: Keys: ' <<<"$output")
	for key in database source table lock_wait lock_timeout lock_probe \
		statement_timeout retries backup backup_dir warn_after progress_interval; do
		[[ $hint == *" $key,"* || $hint == *" $key ("* ]] || fail "no $key in: $hint"
	done
	# and each key it lists is taken
	for key in $(sed -e 's/^  hint: Keys: //' -e 's/ (.*//' -e 's/,//g' <<<"$hint"); do
		printf '[strata]\n%s = 1\n' "$key" >strata.conf
		run strata status
		refute_output --partial "unknown key"
	done
}

@test "config: -v and run's log say which database, from where, redacted" {
	printf '[environment.development]\ndatabase = sqlite:dev.db\n' >strata.conf
	run --separate-stderr strata run
	assert_success
	# run's log (stderr is no terminal): its first line
	[[ ${stderr%%$'\n'*} =~ ^[0-9T:.-]+Z\ strata:\ database\ sqlite:dev.db\ \(from\ environment\ \'development\'\ of\ strata.conf,\ line\ 2\)$ ]] ||
		fail "first line: ${stderr%%$'\n'*}"
	run --separate-stderr strata status -v
	assert_equal "$stderr" "strata: database sqlite:dev.db (from environment 'development' of strata.conf, line 2)"
	printf '[strata]\ndatabase = sqlite:main.db\n' >strata.conf
	run --separate-stderr strata status -v
	assert_equal "${stderr%%$'\n'*}" "strata: database sqlite:main.db (from [strata] of strata.conf, line 2)"
	echo "DATABASE_URL=sqlite:dotenv.db" >.env
	run --separate-stderr strata status -v
	assert_equal "${stderr%%$'\n'*}" "strata: database sqlite:dotenv.db (from DATABASE_URL from .env)"
	DATABASE_URL=sqlite:real.db run --separate-stderr strata status -v
	assert_equal "${stderr%%$'\n'*}" "strata: database sqlite:real.db (from DATABASE_URL in the environment)"
	run --separate-stderr strata -d 'postgres://u:s3cr3t@nohost.invalid/db' status -v
	assert_equal "${stderr%%$'\n'*}" "strata: database postgres://u:***@nohost.invalid/db (from --database)"
	[[ $stderr != *s3cr3t* ]]
	# without -v, status says nothing of it
	run --separate-stderr strata status
	[[ $stderr != *"strata: database"* ]]
}

# -- database URLs libpq refuses ------------------------------------------

@test "url: libpq's reason is shown, with what to do, and no password" {
	run strata -d 'postgres://app:s3cr3t@db.invalid/app?search_path=tenant1' status
	assert_failure 2
	assert_line "strata: error: invalid PostgreSQL URL 'postgres://app:***@db.invalid/app?search_path=tenant1': invalid URI query parameter: \"search_path\""
	assert_line "  hint: libpq takes no parameter 'search_path'. A server setting goes in options: ?options=-csearch_path%3Dtenant1"
	refute_output --partial s3cr3t
	run strata -d 'host=db.invalid password=s3cr3t search_path=tenant1' status
	assert_failure 2
	assert_line "strata: error: invalid PostgreSQL connection string: invalid connection option \"search_path\""
	assert_line "  hint: libpq takes no option 'search_path'. A server setting goes in options: options='-c search_path=tenant1'"
	refute_output --partial s3cr3t
}

@test "url: a bad percent-encoding is named, the password it is in hidden" {
	run strata -d 'postgres://app:50%off@db.invalid/app' status
	assert_failure 2
	assert_line "strata: error: invalid PostgreSQL URL 'postgres://app:***@db.invalid/app': invalid percent-encoded token: \"***\""
	assert_line --partial "write a % of a user name, password or value as %25."
	refute_output --partial "50%off"
	run strata -d 'postgres://app@db.invalid/app?password=s3cr3t%zz&sslmode=require' status
	assert_failure 2
	assert_line --partial "invalid percent-encoded token: \"***\""
	refute_output --partial "s3cr3t"
	run strata -d 'postgres://app@db.invalid/app?sslmode=require&application_name=a%zz' status
	assert_failure 2
	assert_line --partial "invalid percent-encoded token: \"a%zz\""
	# libpq ends the password at the first '@', the redacted URL at the last
	run strata -d 'postgres://app:s3cr%00t@db@db.invalid/app' status
	assert_failure 2
	assert_line --partial "forbidden value %00 in percent-encoded value: \"***\""
	refute_output --partial "s3cr"
	# in JSON too
	run strata -d 'postgres://app:s3cr3t@db.invalid/app?search_path=x' status --format json
	assert_failure 2
	refute_output --partial s3cr3t
	jq -e '.error.message | endswith("invalid URI query parameter: \"search_path\"")' <<<"$output"
}

@test "url: a connect error keeps libpq's reason when the password is shown anyway" {
	# the password is the host's name: libpq's reason names the host,
	# which the URL beside it shows too
	run strata -d 'postgres://app:nohost@nohost.invalid/app?connect_timeout=2' status
	assert_failure 7
	assert_line "strata: error: could not connect to 'postgres://app:***@nohost.invalid/app?connect_timeout=2'"
	assert_line --partial '  detail: could not translate host name "nohost.invalid" to address'
}
