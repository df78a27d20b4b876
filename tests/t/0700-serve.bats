#!/usr/bin/env bats
# strata serve: /health for probes, /metrics for Prometheus, reads cached
# per interval, a database that goes away and comes back, a read-only
# role, bounded connections and timeouts, and a clean stop on SIGTERM.

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

health_flips() {
	two_migrations
	# an empty database (SQLite: a file), as a deploy would find it
	strata database create
	serve_start --interval 0
	get health
	[[ $HTTP_CODE == 503 ]] || fail "pending: HTTP $HTTP_CODE: $BODY"
	[[ $(jq -r .status <<<"$BODY") == warning ]] || fail "$BODY"
	[[ $(jq .migrations_pending <<<"$BODY") == 2 ]] || fail "$BODY"
	[[ $(jq .migrations_applied <<<"$BODY") == 0 ]] || fail "$BODY"
	[[ $(jq .latest_version <<<"$BODY") == null ]] || fail "$BODY"
	[[ $(jq -r .checked_at <<<"$BODY") =~ ^20[0-9-]{8}T[0-9:.]{12}Z$ ]] || fail "$BODY"
	strata run
	get health
	[[ $HTTP_CODE == 200 ]] || fail "after run: HTTP $HTTP_CODE: $BODY"
	[[ $(jq -r .status <<<"$BODY") == ok ]] || fail "$BODY"
	[[ $(jq .migrations_pending <<<"$BODY") == 0 ]] || fail "$BODY"
	[[ $(jq .migrations_applied <<<"$BODY") == 2 ]] || fail "$BODY"
	[[ $(jq .migrations_failed <<<"$BODY") == 0 ]] || fail "$BODY"
	[[ $(jq .checksum_mismatches <<<"$BODY") == 0 ]] || fail "$BODY"
	[[ $(jq .latest_version <<<"$BODY") == 2 ]] || fail "$BODY"
	# a file edited after it was applied: error, 503
	write_migration 2_orders.sql "CREATE TABLE orders (id bigint);"
	get health
	[[ $HTTP_CODE == 503 && $(jq -r .status <<<"$BODY") == error ]] || fail "$HTTP_CODE $BODY"
	[[ $(jq .checksum_mismatches <<<"$BODY") == 1 ]] || fail "$BODY"
	serve_stop
}

@test "serve: /health is 503 with 2 pending, 200 with 0 after run, 503 on an edited file" {
	for_each_driver health_flips
}

@test "serve: --pending-ok answers 200 with status warning while migrations are pending" {
	two_migrations
	serve_start --pending-ok --interval 0
	get health
	[[ $HTTP_CODE == 200 ]] || fail "HTTP $HTTP_CODE: $BODY"
	[[ $(jq -r .status <<<"$BODY") == warning ]] || fail "$BODY"
	[[ $(jq .migrations_pending <<<"$BODY") == 2 ]] || fail "$BODY"
	# HEAD: the code without the body, for probes that only look at it
	run curl -sS -I "$SERVE_URL/health"
	assert_output --partial "HTTP/1.1 200"
	serve_stop
}

@test "serve: /metrics passes promtool check metrics and counts the audit trail" {
	require_tool promtool
	two_migrations
	write_migration 3_broken.sql "SELECT 'a\"b\\c'::int;"
	run strata run
	assert_failure 1
	serve_start --interval 0
	get metrics
	[[ $HTTP_CODE == 200 ]] || fail "HTTP $HTTP_CODE"
	run promtool check metrics <"$BODY_FILE"
	assert_success
	grep -qx 'strata_up 1' <<<"$BODY" || fail "$BODY"
	grep -qx 'strata_migrations_pending 1' <<<"$BODY" || fail "$BODY"
	grep -qx 'strata_migrations_applied 2' <<<"$BODY" || fail "$BODY"
	grep -qx 'strata_migration_latest_version 2' <<<"$BODY" || fail "$BODY"
	grep -qx 'strata_migration_duration_seconds_count 2' <<<"$BODY" || fail "$BODY"
	grep -qx 'strata_migration_duration_seconds_bucket{le="+Inf"} 2' <<<"$BODY" || fail "$BODY"
	grep -qx 'strata_audit_actions_total{action="apply",outcome="failure"} 1' <<<"$BODY" || fail "$BODY"
	grep -qx 'strata_last_run_success 0' <<<"$BODY" || fail "$BODY"
	grep -q '^# TYPE strata_migration_duration_seconds histogram$' <<<"$BODY" || fail "$BODY"
	serve_stop
}

# The URL with a password: trust authentication ignores it, but strata
# holds it and must never show it.
SECRET=S3rveS3cretPw
secret_url() {
	echo "postgresql://postgres:$SECRET@/$TEST_DB?host=${PGHOST//\//%2F}&port=$PGPORT"
}

@test "serve: the database going away gives error (503), the server keeps answering, then ok again" {
	two_migrations
	strata run
	DATABASE_URL=$(secret_url) serve_start --interval 0
	get health
	[[ $HTTP_CODE == 200 ]] || fail "before: HTTP $HTTP_CODE: $BODY"
	pg_server_stop
	get health
	[[ $HTTP_CODE == 503 ]] || fail "down: HTTP $HTTP_CODE: $BODY"
	[[ $(jq -r .status <<<"$BODY") == error ]] || fail "$BODY"
	[[ $(jq .migrations_pending <<<"$BODY") == null ]] || fail "$BODY"
	[[ -n $(jq -r .error <<<"$BODY") ]] || fail "no error: $BODY"
	get metrics
	grep -qx 'strata_up 0' <<<"$BODY" || fail "$BODY"
	get ""
	[[ $HTTP_CODE == 200 ]] || fail "page while down: HTTP $HTTP_CODE"
	grep -q 'Cannot read the migration state' <<<"$BODY" || fail "$BODY"
	pg_server_start
	get health
	[[ $HTTP_CODE == 200 ]] || fail "after: HTTP $HTTP_CODE: $BODY"
	[[ $(jq -r .status <<<"$BODY") == ok ]] || fail "$BODY"
	get metrics
	grep -qx 'strata_serve_read_errors_total 3' <<<"$BODY" || fail "$BODY"
	serve_stop
	# said once each way, and never the password
	run cat "$SERVE_LOG"
	assert_output --partial "could not read the migration state"
	assert_output --partial "can be read again"
	refute_output --partial "$SECRET"
	for path in "" health metrics history.json; do
		run curl -s -i "$SERVE_URL/$path"
		refute_output --partial "$SECRET"
	done
}

# The statements logged since byte $1 of the server's log (log_statement).
# (a statement slow enough, on a loaded machine, is looked at by strata's
# monitor session: its samples of pg_locks are not the read's)
logged_statements() {
	tail -c +"$1" "$STRATA_TEST_CLUSTER_DIR/server.log" |
		grep -E 'LOG:  (statement|execute [^:]*):' | grep -cv 'pg_locks'
}

@test "serve: 200 concurrent requests within the interval cost one read of the history" {
	two_migrations
	strata run
	psql_db "ALTER DATABASE \"$TEST_DB\" SET log_statement = 'all'"
	local from one all
	# what one read sends: a request to a server that reads at each one
	from=$(($(stat -c %s "$STRATA_TEST_CLUSTER_DIR/server.log") + 1))
	serve_start --interval 0
	get health
	serve_stop
	one=$(logged_statements "$from")
	((one > 0)) || fail "no statement of a read logged"
	# 200 at once to a server that reads at most once a minute
	from=$(($(stat -c %s "$STRATA_TEST_CLUSTER_DIR/server.log") + 1))
	serve_start --interval 60s --max-connections 1000
	local urls=()
	for i in $(seq 1 200); do
		urls+=(-o /dev/null "$SERVE_URL/health")
	done
	run curl -sS --parallel --parallel-immediate --parallel-max 200 \
		-w '%{http_code}\n' "${urls[@]}"
	assert_success
	[[ $(grep -c '^200$' <<<"$output") == 200 ]] || fail "not 200 answers of 200: $output"
	get metrics
	grep -qx 'strata_serve_reads_total 1' <<<"$BODY" || fail "$BODY"
	serve_stop
	all=$(logged_statements "$from")
	psql_db "ALTER DATABASE \"$TEST_DB\" RESET log_statement"
	((all == one)) || fail "one read sends $one statements; 200 requests sent $all: $(tail -c +"$from" "$STRATA_TEST_CLUSTER_DIR/server.log")"
}

@test "serve: a role that may only SELECT the history and the audit trail is enough" {
	two_migrations
	strata run
	psql_db "CREATE ROLE serve_reader_$TEST_DB LOGIN;
		GRANT SELECT ON _sqlx_migrations, _strata_audit TO serve_reader_$TEST_DB"
	DATABASE_URL="postgresql:///$TEST_DB?host=${PGHOST//\//%2F}&port=$PGPORT&user=serve_reader_$TEST_DB" \
		serve_start --interval 0
	get health
	[[ $HTTP_CODE == 200 ]] || fail "HTTP $HTTP_CODE: $BODY"
	get history.json
	[[ $(jq '.audit | length' <<<"$BODY") == 2 ]] || fail "$BODY"
	[[ $(jq -r '.migrations[1].state' <<<"$BODY") == applied ]] || fail "$BODY"
	serve_stop
	# nothing was written: the history is as run left it
	run psql_db "SELECT count(*) FROM _strata_audit"
	assert_output 2
}

@test "serve: SIGTERM stops it promptly with exit 0, also while requests come" {
	two_migrations
	serve_start --interval 0
	get health
	(for i in $(seq 1 50); do curl -s -o /dev/null "$SERVE_URL/health" || break; done) 3>&- &
	local load=$!
	sleep 0.1
	local t0=$SECONDS
	serve_stop
	((SECONDS - t0 <= 3)) || fail "took $((SECONDS - t0)) s"
	wait "$load" || true
	run cat "$SERVE_LOG"
	assert_output --partial "stopping"
	# nothing listens any more
	run curl -sS "$SERVE_URL/health"
	assert_failure
}

@test "serve: a Unix socket, a stale one replaced, removed on exit" {
	two_migrations
	local sock=$BATS_TEST_TMPDIR/s.sock
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
	[[ -S $sock ]]
	strata serve --listen "unix:$sock" --interval 0 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	SERVE_PID=$!
	for i in $(seq 1 100); do
		grep -q 'serving unix:' "$BATS_TEST_TMPDIR/err" && break
		sleep 0.05
	done
	run curl -sS --unix-socket "$sock" -o /dev/null -w '%{http_code}' http://localhost/health
	assert_output 503
	serve_stop
	[[ ! -e $sock ]] || fail "the socket is left behind"
}

@test "serve: unknown paths 404, other methods 405, bounded connections, idle connections closed" {
	two_migrations
	serve_start --interval 0 --max-connections 1 --timeout 2s
	get nope
	[[ $HTTP_CODE == 404 ]] || fail "HTTP $HTTP_CODE"
	get health -X POST
	[[ $HTTP_CODE == 405 ]] || fail "HTTP $HTTP_CODE"
	# one connection, open and silent: the next waits (in the listen
	# queue) until the server closes the silent one after --timeout
	local port=${SERVE_URL##*:}
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	local t0=$SECONDS
	run curl -s --max-time 0.7 -o /dev/null -w '%{http_code}' "$SERVE_URL/health"
	[[ $output == 000 ]] || fail "a second connection was served: $output"
	run timeout 6 cat <&5
	exec 5<&-
	((SECONDS - t0 <= 4)) || fail "the idle connection stayed open $((SECONDS - t0)) s"
	get health
	[[ $HTTP_CODE == 503 ]] || fail "HTTP $HTTP_CODE"
	serve_stop
}

@test "serve: usage errors; an address in use names it" {
	two_migrations
	run strata serve --listen nowhere
	assert_failure 2
	assert_output --partial "--listen wants HOST:PORT"
	run timeout 10 strata serve --listen localhost:99999
	assert_failure 2
	assert_output --partial "'localhost:99999'"
	run strata serve --interval forever
	assert_failure 2
	serve_start
	local addr=${SERVE_URL#http://}
	run strata serve --listen "$addr"
	assert_failure 1
	assert_output --partial "could not listen on '$addr'"
	assert_output --partial "in use"
	serve_stop
	run strata serve --listen 127.0.0.1:0 -s nowhere
	assert_failure 1
	assert_output --partial "'nowhere'"
	DATABASE_URL= run strata serve
	assert_failure 2
	assert_output --partial "no database given"
}

@test "serve: a connection is kept alive across requests (a scraper connects once)" {
	two_migrations
	serve_start --interval 0
	run curl -sv -o /dev/null -o /dev/null "$SERVE_URL/metrics" "$SERVE_URL/health"
	assert_success
	assert_output --partial "Re-using existing connection"
	refute_output --partial "Connection: close"
	# a POST's body is read and dropped, and the connection stays usable
	run curl -sv -o /dev/null -o /dev/null -d 'x=1' "$SERVE_URL/health" \
		--next -s -o /dev/null "$SERVE_URL/health"
	assert_output --partial "405 Method Not Allowed"
	assert_output --partial "Re-using existing connection"
	serve_stop
}

@test "serve: SIGTERM while a read hangs connecting (a server that never answers) still stops within seconds" {
	two_migrations
	# it ends itself after 30 s, whatever happens to the test
	cat >silent.py <<'PY'
import os, signal, socket, sys
signal.alarm(30)
with open("silent.pid", "w") as f:
    f.write(str(os.getpid()))
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(srv.accept()[0])
PY
	python3 silent.py silent.port 3>&- &
	for i in $(seq 1 100); do
		[[ -s silent.port ]] && break
		sleep 0.05
	done
	DATABASE_URL="postgresql://u@127.0.0.1:$(cat silent.port)/db" \
		serve_start --connect-timeout 60s
	curl -s -o /dev/null --max-time 30 "$SERVE_URL/health" 3>&- &
	local client=$!
	sleep 0.5
	local t0=$SECONDS
	serve_stop
	((SECONDS - t0 <= 5)) || fail "took $((SECONDS - t0)) s"
	run cat "$SERVE_LOG"
	assert_output --partial "did not end in time"
	# python3 may be a wrapper: the server's own pid, from the server
	kill "$(cat silent.pid)" "$client" 2>/dev/null || true
	wait 2>/dev/null || true
}

@test "serve: the newest version as its layout writes it (diesel's text order), in /health and /metrics" {
	require_tool promtool
	new_db
	write_migration 20240101000000_first/up.sql "CREATE TABLE a (id int);"
	# diesel orders versions as text: "9" is the newest
	write_migration 9_last/up.sql "CREATE TABLE b (id int);"
	run strata run
	assert_success
	serve_start --interval 0
	get health
	[[ $HTTP_CODE == 200 ]] || fail "HTTP $HTTP_CODE: $BODY"
	[[ $(jq -c .latest_version <<<"$BODY") == 9 ]] || fail "$BODY"
	get metrics
	run promtool check metrics <"$BODY_FILE"
	assert_success
	grep -qx 'strata_migration_latest_version 9' <<<"$BODY" || fail "$BODY"
	grep -qx 'strata_migration_latest_info{version="9"} 1' <<<"$BODY" || fail "$BODY"
	serve_stop
}
