# tests/t/standby.bash: a streaming standby of this file's cluster, for
# tests of replica lag. `load standby` after `load lib`, then from
# setup_file: standby_start [EXTRA_CONF]; teardown_file: standby_stop
# (before pg_stop). The standby is made with pg_basebackup -R and runs on
# its own socket and port; STANDBY_DATA, STANDBY_SOCK and STANDBY_PORT
# say where.

# standby_start [EXTRA_CONF]: lines for the standby's postgresql.conf
standby_start() {
	local standby=$STRATA_TEST_CLUSTER_DIR/standby
	local sock=$STRATA_TEST_CLUSTER_DIR/standby-sock
	local port=$((STRATA_TEST_CLUSTER_PORT + 1))

	mkdir -p "$sock"
	if [[ -n $STRATA_TEST_CLUSTER_RUNAS ]]; then
		chown "$STRATA_TEST_CLUSTER_RUNAS:" "$sock"
	fi
	(cd "$STRATA_TEST_CLUSTER_DIR" && _pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_basebackup" \
		-D "$standby" -R -X stream -h "$STRATA_TEST_CLUSTER_SOCK" \
		-p "$STRATA_TEST_CLUSTER_PORT" -U postgres) >&2
	printf "unix_socket_directories = '%s'\nport = %d\n%s\n" \
		"$sock" "$port" "${1:-}" >>"$standby/postgresql.conf"
	(cd "$STRATA_TEST_CLUSTER_DIR" && _strata_close_fds &&
		_pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_ctl" -D "$standby" \
			-l "$STRATA_TEST_CLUSTER_DIR/standby.log" -w -t 60 -s start) </dev/null >&2
	export STANDBY_DATA=$standby STANDBY_SOCK=$sock STANDBY_PORT=$port
}

standby_stop() {
	if [[ -n ${STANDBY_DATA:-} && -f $STANDBY_DATA/postmaster.pid ]]; then
		(cd "$STRATA_TEST_CLUSTER_DIR" && _pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_ctl" \
			-D "$STANDBY_DATA" -m immediate -w -t 30 stop) >/dev/null 2>&1 || true
	fi
}

# standby_sql SQL: on the standby, in this test's database
standby_sql() {
	psql -X -At -v ON_ERROR_STOP=1 -h "$STANDBY_SOCK" -p "$STANDBY_PORT" -d "$TEST_DB" -c "$1"
}
