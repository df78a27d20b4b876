#!/usr/bin/env bats
# strata serve --auth-file: HTTP Basic against bcrypt hashes and bearer
# tokens, 401 with its challenges and no data otherwise, /health's bare
# status for checks that cannot authenticate (--auth-health: not even
# that), an auth file that cannot be used refused at start with its line,
# no credential in any log, and no listening beyond loopback without
# credentials unless --no-auth says so.

load lib
load serve

setup_file() {
	export SERVE_FILE_PID=$$
	pg_start
}

teardown() {
	serve_kill
}

two_migrations() {
	write_migration 1_users.sql "CREATE TABLE users (id int);"
	write_migration 2_orders.sql "CREATE TABLE orders (id int);"
}

# bcrypt of $1 at cost $2 (default 4: tests need no strength), as $2b$
bcrypt() {
	python3 -W ignore::DeprecationWarning -c '
import crypt, sys
print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** int(sys.argv[2]))))' "$1" "${2:-4}"
}

TOKEN=tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0
# alice with a $2b$ hash, bob with a $2y$ one (htpasswd -B writes $2y$)
write_auth_file() {
	local bob
	bob=$(bcrypt bob-Pw)
	{
		echo "# who may read the migration state"
		echo "alice:$(bcrypt alice-Pw)"
		echo
		echo "bob:\$2y\$${bob#\$2b\$}"
		echo "bearer:$TOKEN"
	} >auth
}

# curl's code for PATH with ARGS
code() {
	local path=$1
	shift
	curl -sS -o /dev/null -w '%{http_code}' "$@" "$SERVE_URL/$path"
}

@test "serve --auth-file: 401 without valid credentials, the data with a password or a token" {
	two_migrations
	strata run
	write_auth_file
	serve_start --interval 0 --auth-file auth
	local path
	for path in "" metrics history.json nope; do
		run curl -sS -i "$SERVE_URL/$path"
		assert_success
		assert_line --partial "HTTP/1.1 401"
		assert_line --partial 'WWW-Authenticate: Basic realm="strata", charset="UTF-8"'
		assert_line --partial 'WWW-Authenticate: Bearer realm="strata"'
		refute_output --partial strata_up
		refute_output --partial users
		# HEAD too
		run curl -sS -I "$SERVE_URL/$path"
		assert_line --partial "HTTP/1.1 401"
	done
	# passwords: right, wrong, another user's, a user that does not exist
	[[ $(code metrics -u alice:alice-Pw) == 200 ]] || fail "alice"
	[[ $(code metrics -u bob:bob-Pw) == 200 ]] || fail "bob (\$2y\$)"
	[[ $(code metrics -u alice:alice-pw) == 401 ]] || fail "a wrong password"
	[[ $(code metrics -u alice:bob-Pw) == 401 ]] || fail "bob's password for alice"
	[[ $(code metrics -u carol:alice-Pw) == 401 ]] || fail "no such user"
	[[ $(code metrics -u alice:) == 401 ]] || fail "an empty password"
	[[ $(code metrics -H "Authorization: Basic !!!") == 401 ]] || fail "not base64"
	# tokens: right (the scheme in any case), wrong, cut short, as a password
	[[ $(code metrics -H "Authorization: Bearer $TOKEN") == 200 ]] || fail "the token"
	[[ $(code history.json -H "Authorization: bearer $TOKEN") == 200 ]] || fail "bearer in lower case"
	[[ $(code metrics -H "Authorization: Bearer ${TOKEN}x") == 401 ]] || fail "a longer token"
	[[ $(code metrics -H "Authorization: Bearer ${TOKEN%?}") == 401 ]] || fail "a shorter token"
	[[ $(code metrics -u "bearer:$TOKEN") == 401 ]] || fail "the token as bearer's password"
	get metrics -u alice:alice-Pw
	grep -qx 'strata_migrations_applied 2' <<<"$BODY" || fail "$BODY"
	serve_stop
}

@test "serve --auth-file: /health's status stays open for probes, the rest of it needs credentials" {
	two_migrations
	write_auth_file
	serve_start --interval 0 --auth-file auth
	# pending: the code a probe acts on, and the status, nothing more
	get health
	[[ $HTTP_CODE == 503 ]] || fail "HTTP $HTTP_CODE: $BODY"
	[[ $(jq -r .status <<<"$BODY") == warning ]] || fail "$BODY"
	[[ $(jq -c 'keys' <<<"$BODY") == '["checked_at","status"]' ]] || fail "$BODY"
	get health -u alice:alice-Pw
	[[ $HTTP_CODE == 503 ]] || fail "HTTP $HTTP_CODE: $BODY"
	[[ $(jq .migrations_pending <<<"$BODY") == 2 ]] || fail "$BODY"
	# wrong credentials are refused, not taken for none
	get health -u alice:wrong
	[[ $HTTP_CODE == 401 ]] || fail "wrong credentials: HTTP $HTTP_CODE: $BODY"
	get health -H "Authorization: Bearer not-the-token-0123456789"
	[[ $HTTP_CODE == 401 ]] || fail "a wrong token: HTTP $HTTP_CODE: $BODY"
	strata run
	get health
	[[ $HTTP_CODE == 200 && $(jq -r .status <<<"$BODY") == ok ]] || fail "HTTP $HTTP_CODE: $BODY"
	serve_stop
	# --auth-health: not even the status
	serve_start --interval 0 --auth-file auth --auth-health
	get health
	[[ $HTTP_CODE == 401 ]] || fail "HTTP $HTTP_CODE: $BODY"
	[[ $BODY != *status* ]] || fail "$BODY"
	get health -H "Authorization: Bearer $TOKEN"
	[[ $HTTP_CODE == 200 && $(jq .migrations_applied <<<"$BODY") == 2 ]] || fail "HTTP $HTTP_CODE: $BODY"
	serve_stop
}

@test "serve --auth-file: no credential reaches the log; refusals are logged at most once a minute, with the address" {
	two_migrations
	write_auth_file
	serve_start --interval 0 --auth-file auth
	code metrics -u alice:Wr0ngCanaryPw >/dev/null
	code metrics -H "Authorization: Bearer CanaryToken0123456789" >/dev/null
	code metrics -u alice:alice-Pw >/dev/null
	code "" -u NoSuchCanaryUser:x >/dev/null
	serve_stop
	run cat "$SERVE_LOG"
	assert_output --partial "refused 1 request without valid credentials, the last from 127.0.0.1"
	[[ $(grep -c refused "$SERVE_LOG") == 1 ]] || fail "$output"
	refute_output --partial Canary
	refute_output --partial alice-Pw
	refute_output --partial "$TOKEN"
	refute_output --partial '$2'
}

@test "serve --auth-file: a verified password is remembered, not run through bcrypt at every request" {
	two_migrations
	# cost 12: about a quarter of a second a check
	echo "alice:$(bcrypt alice-Pw 12)" >auth
	serve_start --interval 60s --auth-file auth
	local t0=$EPOCHREALTIME i
	for i in $(seq 1 12); do
		[[ $(code metrics -u alice:alice-Pw) == 200 ]] || fail "request $i"
	done
	local ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	# twelve checks would take three seconds at least
	((ms < 2500)) || fail "12 requests took $ms ms"
	serve_stop
}

@test "serve --auth-file: a file that cannot be used is refused at start, naming the file and line" {
	two_migrations
	run strata serve --listen 127.0.0.1:0 --auth-file nowhere
	assert_failure 2
	assert_output --partial "could not read the auth file 'nowhere': No such file or directory"
	local good
	good="alice:$(bcrypt alice-Pw)"
	printf '%s\n# MD5, as htpasswd makes by default\nbob:$apr1$Xy0123$abcdefghijklmnopqrstuv\n' "$good" >auth
	run strata serve --listen 127.0.0.1:0 --auth-file auth
	assert_failure 2
	assert_output --partial "the password of 'bob' is not a bcrypt hash at 'auth' line 3"
	assert_output --partial "htpasswd -B"
	refute_output --partial 'abcdefghijklmnopqrstuv'
	printf '%s\n%s\n' "$good" "$good" >auth
	run strata serve --listen 127.0.0.1:0 --auth-file auth
	assert_failure 2
	assert_output --partial "user 'alice' given twice at 'auth' line 2"
	printf 'bearer:short\n' >auth
	run strata serve --listen 127.0.0.1:0 --auth-file auth
	assert_failure 2
	assert_output --partial "a bearer token too short at 'auth' line 1"
	printf '\n\nbearer:has space in it 0123456789\n' >auth
	run strata serve --listen 127.0.0.1:0 --auth-file auth
	assert_failure 2
	assert_output --partial "a bearer token that an Authorization header cannot carry at 'auth' line 3"
	printf 'just-a-secret-without-a-name\n' >auth
	run strata serve --listen 127.0.0.1:0 --auth-file auth
	assert_failure 2
	assert_output --partial "not a USER:HASH or bearer:TOKEN line at 'auth' line 1"
	printf '# nobody yet\n\n' >auth
	run strata serve --listen 127.0.0.1:0 --auth-file auth
	assert_failure 2
	assert_output --partial "the auth file 'auth' holds no credential"
	# CRLF line ends are read as line ends
	printf '%s\r\nbearer:%s\r\n' "$good" "$TOKEN" >auth
	serve_start --interval 0 --auth-file auth
	[[ $(code metrics -u alice:alice-Pw) == 200 ]] || fail "CRLF: alice"
	[[ $(code metrics -H "Authorization: Bearer $TOKEN") == 200 ]] || fail "CRLF: token"
	serve_stop
}

@test "serve: beyond loopback it refuses to start without --auth-file or an explicit --no-auth" {
	two_migrations
	write_auth_file
	# bounded: a server that starts would never end the test
	run timeout 10 strata serve --listen 0.0.0.0:0
	assert_failure 2
	assert_output --partial "serving '0.0.0.0:0' beyond this host without authentication"
	assert_output --partial "hint: Give --auth-file FILE, or --no-auth"
	run timeout 10 strata serve --listen :0
	assert_failure 2
	assert_output --partial "beyond this host without authentication"
	run strata serve --no-auth --auth-file auth
	assert_failure 2
	assert_output --partial "--no-auth and --auth-file exclude each other"
	run strata serve --auth-health
	assert_failure 2
	assert_output --partial "--auth-health wants --auth-file"
	# loopback, a Unix socket: no credentials needed, nothing said
	serve_start --listen 127.0.0.2:0
	[[ $(code health) == 503 ]] || fail "127.0.0.2"
	serve_stop
	run cat "$SERVE_LOG"
	refute_output --partial warning
	# --no-auth: it serves, and says so loudly
	serve_start --listen 0.0.0.0:0 --no-auth
	[[ $(code health) == 503 ]] || fail "--no-auth"
	serve_stop
	run cat "$SERVE_LOG"
	assert_output --partial "warning: serving beyond this host without authentication (--no-auth)"
	# credentials over plain HTTP beyond loopback: said too
	serve_start --listen 0.0.0.0:0 --auth-file auth
	[[ $(code metrics) == 401 ]] || fail "0.0.0.0 with --auth-file"
	[[ $(code metrics -u alice:alice-Pw) == 200 ]] || fail "0.0.0.0 with alice"
	serve_stop
	run cat "$SERVE_LOG"
	assert_output --partial "warning: credentials cross the network in clear text"
}
