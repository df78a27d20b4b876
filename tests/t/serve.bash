# tests/t/serve.bash: what the `strata serve` tests share (load after lib).
#
#   serve_start [ARGS...]  strata serve --listen 127.0.0.1:0 ARGS in the
#                          background (a free port, picked by the kernel):
#                          SERVE_PID, SERVE_URL (http://127.0.0.1:PORT; https:
#                          with --tls-cert),
#                          its stderr in SERVE_LOG; waits until it listens
#   serve_stop             SIGTERM; fails unless it exits 0 within 5 s
#   serve_kill             ends it whatever state it is in (teardown)
#   get PATH [CURL ARGS]   GET $SERVE_URL/PATH: HTTP_CODE, BODY (a file
#                          too: BODY_FILE)
#   require_tool NAME      skip without NAME (fail under
#                          STRATA_TEST_REQUIRE_PG=1, as CI runs)
#   pg_server_stop, pg_server_start
#                          pg_ctl stop -m fast / start of this file's
#                          cluster (setup_file exports SERVE_FILE_PID=$$
#                          for the watchdog that follows the new postmaster)

serve_start() {
	local i
	SERVE_LOG=$BATS_TEST_TMPDIR/serve.$RANDOM.log
	# fd 3 is bats' own: a background process holding it stalls the run
	strata serve --listen 127.0.0.1:0 "$@" 2>"$SERVE_LOG" 3>&- &
	SERVE_PID=$!
	SERVE_URL=
	for i in $(seq 1 100); do
		SERVE_URL=$(sed -n 's|.* strata: serving \(https\{0,1\}://[^ ]*\)/$|\1|p' "$SERVE_LOG")
		[[ -n $SERVE_URL ]] && return 0
		if ! kill -0 "$SERVE_PID" 2>/dev/null; then
			cat "$SERVE_LOG" >&2
			fail "strata serve exited before listening"
		fi
		sleep 0.05
	done
	cat "$SERVE_LOG" >&2
	fail "strata serve did not listen within 5 s"
}

serve_stop() {
	local rc i
	kill -TERM "$SERVE_PID"
	for i in $(seq 1 100); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$SERVE_PID" 2>/dev/null; then
		kill -KILL "$SERVE_PID"
		fail "strata serve still ran 5 s after SIGTERM"
	fi
	rc=0
	wait "$SERVE_PID" || rc=$?
	SERVE_PID=
	((rc == 0)) || fail "strata serve exited $rc after SIGTERM: $(cat "$SERVE_LOG")"
}

serve_kill() {
	if [[ -n ${SERVE_PID:-} ]]; then
		kill -KILL "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
		SERVE_PID=
	fi
}

get() {
	local path=$1
	shift
	BODY_FILE=$BATS_TEST_TMPDIR/body
	HTTP_CODE=$(curl -sS --max-time 20 -o "$BODY_FILE" -w '%{http_code}' \
		"$@" "$SERVE_URL/$path")
	BODY=$(cat "$BODY_FILE")
}

require_tool() {
	if ! command -v "$1" >/dev/null 2>&1; then
		if [[ ${STRATA_TEST_REQUIRE_PG:-} == 1 ]]; then
			fail "$1 is not installed (scripts/install-deps --test)"
		fi
		skip "$1 is not installed"
	fi
}

_serve_pg_ctl() {
	(
		cd "$STRATA_TEST_CLUSTER_DIR" && _strata_close_fds
		_pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_ctl" \
			-D "$STRATA_TEST_CLUSTER_DATA" -w -t 60 -s "$@"
	) </dev/null >>"$STRATA_TEST_CLUSTER_DIR/pg_ctl.out" 2>&1
}

pg_server_stop() {
	if [[ -n ${STRATA_TEST_CLUSTER_WATCHDOG:-} ]]; then
		kill "$STRATA_TEST_CLUSTER_WATCHDOG" 2>/dev/null || true
		unset STRATA_TEST_CLUSTER_WATCHDOG
	fi
	_serve_pg_ctl -m fast stop
}

pg_server_start() {
	local pid
	_serve_pg_ctl -l "$STRATA_TEST_CLUSTER_DIR/server.log" start || return 1
	pid=$(_pg_postmaster_pid) || return 1
	(_pg_watchdog "${SERVE_FILE_PID:?setup_file: export SERVE_FILE_PID=\$\$}" "$pid") &
	export STRATA_TEST_CLUSTER_WATCHDOG=$!
}
