# tests/t/lib.bash: the harness every shell test loads with `load lib`.
#
# Like PostgreSQL's TAP Cluster: each bats FILE gets a throwaway PostgreSQL
# cluster (initdb -A trust -U postgres, fsync=off, no TCP, its socket in the
# file's scratch directory, a free port), started once for the file and
# stopped from teardown_file even when tests fail. Each TEST gets a fresh
# database and a fresh working directory. As root, the server runs as an
# unprivileged system user (strata-test, created on first use) because
# PostgreSQL refuses to run as root; strata and psql run as you.
#
# Loading this file defines defaults that a plain test file needs no more for:
#
#   setup_file()     { pg_start; }   one cluster for the file
#   teardown_file()  { pg_stop; }    also runs after failures
#   setup()          { new_db; }     fresh database + working directory
#
# A file that defines its own setup_file/teardown_file/setup (after
# `load lib`) must call these itself. A SQLite-only file can use
# `setup_file() { :; }` and `setup() { sqlite_db; }`.
#
# API
#   pg_start             start this file's cluster (from setup_file); without
#                        PostgreSQL server binaries, tests that need it skip
#                        (fail instead with STRATA_TEST_REQUIRE_PG=1)
#   pg_stop              stop it (pg_ctl -m immediate); idempotent
#   require_pg           skip the current test unless the cluster runs
#   new_db               fresh database: exports TEST_DB, DATABASE_URL,
#                        PGDATABASE, STRATA_TEST_DRIVER=postgres; cd into a
#                        fresh $BATS_TEST_TMPDIR/work[N] holding migrations/
#   sqlite_db            the same for SQLite: DATABASE_URL=sqlite:$PWD/test.db,
#                        TEST_SQLITE=$PWD/test.db, STRATA_TEST_DRIVER=sqlite
#   for_each_driver CMD  run CMD (a function, usually) once on SQLite, then
#                        once on PostgreSQL, each with new_db/sqlite_db first;
#                        STRATA_TEST_DRIVER says which. CMD runs in the test's
#                        own shell, so a failure stops the test there.
#   await_sql SQL        psql_db SQL until it returns a row (15 s), print it
#   hold_session APP SECONDS SQL  a session APP runs SQL (opening a
#                        transaction), idle in it SECONDS, then commits in the
#                        background: HOLDER_PID, HOLDER_JOB; hold_lock SECONDS
#                        holds ACCESS EXCLUSIVE on table t that way;
#                        release_holder ends that session at once
#   psql_db [SQL]        run SQL (or stdin) on $TEST_DB: psql -XAtq,
#                        ON_ERROR_STOP; rows as a|b, one per line
#   query_db [SQL]       the same on the current driver's database (psql or
#                        sqlite3; booleans read t/f on one and 1/0 on the other)
#   pg_url DB            a libpq URL for database DB on this cluster
#   write_migration [-n] NAME [CONTENT]
#                        write migrations/NAME (subdirectories made): CONTENT
#                        plus a newline; -n: CONTENT exactly; no CONTENT: stdin
#                        exactly (for heredocs)
#   strata ...           tests/t/bin/strata is first on PATH: runs $STRATA_BIN
#                        (default build/strata), under valgrind when
#                        STRATA_VALGRIND=1 (a definite leak exits 99)
#
# Exported for tests: PGHOST (the socket directory), PGPORT, PGUSER=postgres,
# PG_URL_BASE (postgresql://postgres@%2F...:PORT/ : append a database name),
# plus the per-test variables above. Inherited PG* variables and DATABASE_URL
# are cleared so that a test never reaches a real server.
#
# Knobs: STRATA_BIN, STRATA_VALGRIND=1, STRATA_TEST_REQUIRE_PG=1,
# STRATA_TEST_PG_BINDIR (server binaries; default: newest
# /usr/lib/postgresql/*/bin, then pg_config --bindir, then PATH),
# STRATA_TEST_PG_OSUSER (server user when root; default strata-test).
# `bats --no-tempdir-cleanup` keeps the scratch directory with server.log.

STRATA_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STRATA_TEST_ROOT=$(cd "$STRATA_TEST_DIR/../.." && pwd)
export STRATA_BIN=${STRATA_BIN:-$STRATA_TEST_ROOT/build/strata}
case ":$PATH:" in
*":$STRATA_TEST_DIR/bin:"*) ;;
*) PATH=$STRATA_TEST_DIR/bin:$PATH ;;
esac

bats_require_minimum_version 1.5.0 # run -N, run --separate-stderr
_strata_bats_lib=${STRATA_BATS_LIB:-/usr/lib/bats}
load "$_strata_bats_lib/bats-support/load"
load "$_strata_bats_lib/bats-assert/load"

# Hermetic environment: no inherited libpq settings or database URL.
while read -r _strata_var; do
	unset "$_strata_var"
done < <(compgen -e -X '!PG*')
unset _strata_var DATABASE_URL

# The cluster belongs to one bats file: variables inherited from another
# file's run (a nested bats) are not ours.
if [[ ${STRATA_TEST_CLUSTER_OWNER:-} != "${BATS_FILE_TMPDIR:-}" ]]; then
	unset STRATA_TEST_CLUSTER_OWNER STRATA_TEST_CLUSTER_DIR \
		STRATA_TEST_CLUSTER_DATA STRATA_TEST_CLUSTER_SOCK \
		STRATA_TEST_CLUSTER_PORT STRATA_TEST_CLUSTER_BIN \
		STRATA_TEST_CLUSTER_RUNAS STRATA_TEST_CLUSTER_SKIP \
		STRATA_TEST_CLUSTER_RMDIR STRATA_TEST_CLUSTER_WATCHDOG \
		PG_URL_BASE TEST_DB TEST_SQLITE STRATA_TEST_DRIVER
fi

_pg_export_env() {
	if [[ -n ${STRATA_TEST_CLUSTER_SOCK:-} ]]; then
		export PGHOST=$STRATA_TEST_CLUSTER_SOCK
		export PGPORT=$STRATA_TEST_CLUSTER_PORT
		export PGUSER=postgres
		export PG_URL_BASE="postgresql://postgres@${STRATA_TEST_CLUSTER_SOCK//\//%2F}:$STRATA_TEST_CLUSTER_PORT/"
	fi
}
_pg_export_env

setup_file() {
	pg_start
}

teardown_file() {
	pg_stop
}

setup() {
	new_db
}

# ---------------------------------------------------------------- cluster

# Close every descriptor above 2, so that a server or watchdog started from
# here never holds bats' TAP pipe open.
_strata_close_fds() {
	local fd
	for fd in "/proc/$BASHPID/fd"/*; do
		fd=${fd##*/}
		if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then
			eval "exec $fd>&-" 2>/dev/null || true
		fi
	done
}

_pg_find_bindir() {
	local d
	if [[ -n ${STRATA_TEST_PG_BINDIR:-} ]]; then
		if [[ -x $STRATA_TEST_PG_BINDIR/initdb ]]; then
			echo "$STRATA_TEST_PG_BINDIR"
			return 0
		fi
		return 1
	fi
	d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
		echo "$d"
		return 0
	fi
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null) || d=
		if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
			echo "$d"
			return 0
		fi
	fi
	if d=$(command -v initdb 2>/dev/null); then
		d=$(dirname "$(readlink -f "$d")")
		if [[ -x $d/pg_ctl ]]; then
			echo "$d"
			return 0
		fi
	fi
	return 1
}

# As root, the user the server runs as; created on first use.
_pg_server_user() {
	local u=${STRATA_TEST_PG_OSUSER:-strata-test}
	if id -u "$u" >/dev/null 2>&1; then
		echo "$u"
		return 0
	fi
	if [[ $u == strata-test ]] && command -v useradd >/dev/null 2>&1; then
		# Concurrent files (prove -j) may both try: serialise on a lock.
		local add='id -u strata-test >/dev/null 2>&1 ||
			useradd --system --user-group --no-create-home \
			--home-dir /nonexistent --shell /usr/sbin/nologin strata-test'
		if command -v flock >/dev/null 2>&1; then
			flock /tmp/.strata-test-useradd.lock sh -c "$add" >&2 || true
		else
			sh -c "$add" >&2 || true
		fi
		if id -u "$u" >/dev/null 2>&1; then
			echo "$u"
			return 0
		fi
	fi
	if id -u nobody >/dev/null 2>&1; then
		echo nobody
		return 0
	fi
	return 1
}

# Run a server program as the server user (as is when not root).
_pg_as_server() {
	if [[ -n ${STRATA_TEST_CLUSTER_RUNAS:-} ]]; then
		runuser -u "$STRATA_TEST_CLUSTER_RUNAS" -- "$@"
	else
		"$@"
	fi
}

# A port no TCP listener on this machine uses. The server listens only on
# its private socket directory, so two clusters could even share one; a
# distinct port keeps socket names and shared-memory keys apart too.
_pg_pick_port() {
	local port i
	for i in {1..100}; do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if (exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue
		fi
		if [[ -e /tmp/.s.PGSQL.$port || -e /var/run/postgresql/.s.PGSQL.$port ]]; then
			continue
		fi
		echo "$port"
		return 0
	done
	return 1
}

# Not started: skip the tests that need it, or fail the file under
# STRATA_TEST_REQUIRE_PG=1.
_pg_unavailable() {
	if [[ ${STRATA_TEST_REQUIRE_PG:-} == 1 ]]; then
		echo "lib.bash: $1, and STRATA_TEST_REQUIRE_PG=1" >&2
		return 1
	fi
	export STRATA_TEST_CLUSTER_OWNER=$BATS_FILE_TMPDIR
	export STRATA_TEST_CLUSTER_SKIP="$1"
	return 0
}

_pg_fail() {
	local f
	echo "lib.bash: $1" >&2
	for f in initdb.log pg_ctl.out server.log; do
		if [[ -s $STRATA_TEST_CLUSTER_DIR/$f ]]; then
			echo "--- $f" >&2
			tail -n 40 "$STRATA_TEST_CLUSTER_DIR/$f" >&2
		fi
	done
	return 1
}

# Sets STRATA_TEST_CLUSTER_DIR, the scratch directory: $BATS_FILE_TMPDIR/pg
# when the server user can reach it and the socket path fits (107 bytes),
# else a fresh one under /tmp (removed by pg_stop).
_pg_make_scratch() {
	local dir=$BATS_FILE_TMPDIR/pg d
	mkdir -p "$dir"
	if [[ -n ${STRATA_TEST_CLUSTER_RUNAS:-} ]]; then
		# bats makes its run directory 0700: let the server user through
		# (search only, no listing) up to that directory.
		d=$dir
		while [[ $d == "${BATS_RUN_TMPDIR:-/nonexistent}"* && $d != / ]]; do
			chmod o+x "$d"
			d=$(dirname "$d")
		done
		chown "$STRATA_TEST_CLUSTER_RUNAS:" "$dir"
	fi
	if ((${#dir} > 80)) ||
		! _pg_as_server test -w "$dir" -a -x "$dir" 2>/dev/null; then
		dir=$(mktemp -d /tmp/strata-pg.XXXXXX)
		chmod 755 "$dir"
		if [[ -n ${STRATA_TEST_CLUSTER_RUNAS:-} ]]; then
			chown "$STRATA_TEST_CLUSTER_RUNAS:" "$dir"
		fi
		export STRATA_TEST_CLUSTER_RMDIR=$dir
	fi
	export STRATA_TEST_CLUSTER_DIR=$dir
}

# True while process $1 runs (a zombie, awaiting its parent's wait, does not).
_strata_pid_alive() {
	local stat
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# The postmaster's pid while it runs (from postmaster.pid), else fails.
_pg_postmaster_pid() {
	local pid
	read -r pid <"$STRATA_TEST_CLUSTER_DATA/postmaster.pid" 2>/dev/null ||
		return 1
	_strata_pid_alive "$pid" || return 1
	echo "$pid"
}

# Stop the server: pg_ctl -m immediate; if that fails, SIGQUIT (immediate
# shutdown) and at last SIGKILL to the postmaster $1 (default: from
# postmaster.pid), when it is still a postgres process.
_pg_kill() {
	local pid=${1:-} i
	[[ -n ${STRATA_TEST_CLUSTER_DATA:-} ]] || return 0
	if [[ -z $pid ]]; then
		pid=$(_pg_postmaster_pid) || return 0
	fi
	if [[ -f $STRATA_TEST_CLUSTER_DATA/postmaster.pid ]]; then
		_pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_ctl" \
			-D "$STRATA_TEST_CLUSTER_DATA" -m immediate -w -t 30 \
			stop >/dev/null 2>&1 || true
	fi
	for i in {1..50}; do
		if ! _strata_pid_alive "$pid" ||
			! grep -q postgres "/proc/$pid/cmdline" 2>/dev/null; then
			return 0
		fi
		if ((i == 1)); then
			kill -QUIT "$pid" 2>/dev/null || true
		elif ((i == 30)); then
			kill -KILL "$pid" 2>/dev/null || true
		fi
		sleep 0.1
	done
}

# Stops postmaster $2 if the bats file process ($1) ends without running
# teardown_file (killed, or a file whose teardown_file forgot pg_stop).
_pg_watchdog() {
	local parent=$1 pid=$2
	trap - DEBUG ERR EXIT RETURN
	set +eET
	_strata_close_fds
	exec </dev/null >/dev/null 2>&1
	while kill -0 "$parent" 2>/dev/null; do
		sleep 1
	done
	_pg_kill "$pid"
	if [[ -n ${STRATA_TEST_CLUSTER_RMDIR:-} ]]; then
		rm -rf "$STRATA_TEST_CLUSTER_RMDIR"
	fi
}

pg_start() {
	local bindir runas dir port pid

	if [[ ${STRATA_TEST_CLUSTER_OWNER:-} == "$BATS_FILE_TMPDIR" ]]; then
		return 0
	fi
	if ! bindir=$(_pg_find_bindir); then
		_pg_unavailable "no PostgreSQL server binaries (initdb, pg_ctl) found: install postgresql"
		return
	fi
	runas=
	if [[ $(id -u) == 0 ]]; then
		if ! runas=$(_pg_server_user); then
			_pg_unavailable "running as root and no unprivileged user to run PostgreSQL as"
			return
		fi
	fi
	export STRATA_TEST_CLUSTER_OWNER=$BATS_FILE_TMPDIR
	export STRATA_TEST_CLUSTER_BIN=$bindir
	export STRATA_TEST_CLUSTER_RUNAS=$runas
	_pg_make_scratch || return 1
	dir=$STRATA_TEST_CLUSTER_DIR
	export STRATA_TEST_CLUSTER_DATA=$dir/data
	export STRATA_TEST_CLUSTER_SOCK=$dir/sock
	mkdir -p "$STRATA_TEST_CLUSTER_SOCK"
	if [[ -n $runas ]]; then
		chown "$runas:" "$STRATA_TEST_CLUSTER_SOCK"
	fi

	if ! (cd "$dir" && _pg_as_server "$bindir/initdb" -D "$STRATA_TEST_CLUSTER_DATA" \
		-A trust -U postgres -E UTF8 --no-locale --no-sync) \
		>"$dir/initdb.log" 2>&1; then
		_pg_fail "initdb failed"
		return 1
	fi

	for _ in 1 2 3; do
		if ! port=$(_pg_pick_port); then
			_pg_fail "no free port found"
			return 1
		fi
		# Later settings win: each try appends its own block.
		cat >>"$STRATA_TEST_CLUSTER_DATA/postgresql.conf" <<-EOF

			# strata test cluster (tests/t/lib.bash)
			listen_addresses = ''
			unix_socket_directories = '$STRATA_TEST_CLUSTER_SOCK'
			port = $port
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			max_connections = 50
			timezone = 'UTC'
			log_timezone = 'UTC'
			lc_messages = 'C'
		EOF
		if (
			cd "$dir" && _strata_close_fds
			_pg_as_server "$bindir/pg_ctl" -D "$STRATA_TEST_CLUSTER_DATA" \
				-l "$dir/server.log" -w -t 60 -s start
		) </dev/null >"$dir/pg_ctl.out" 2>&1; then
			export STRATA_TEST_CLUSTER_PORT=$port
			_pg_export_env
			if ! pid=$(_pg_postmaster_pid); then
				_pg_fail "the PostgreSQL server started, then stopped"
				return 1
			fi
			(_pg_watchdog "$$" "$pid") &
			export STRATA_TEST_CLUSTER_WATCHDOG=$!
			return 0
		fi
		_pg_kill
	done
	_pg_fail "the PostgreSQL server did not start"
}

pg_stop() {
	[[ ${STRATA_TEST_CLUSTER_OWNER:-} == "${BATS_FILE_TMPDIR:-}" ]] || return 0
	_pg_kill
	if [[ -n ${STRATA_TEST_CLUSTER_WATCHDOG:-} ]]; then
		kill "$STRATA_TEST_CLUSTER_WATCHDOG" 2>/dev/null || true
	fi
	if [[ -n ${STRATA_TEST_CLUSTER_RMDIR:-} ]]; then
		rm -rf "$STRATA_TEST_CLUSTER_RMDIR"
	fi
	unset STRATA_TEST_CLUSTER_OWNER STRATA_TEST_CLUSTER_WATCHDOG \
		STRATA_TEST_CLUSTER_RMDIR STRATA_TEST_CLUSTER_SOCK
	return 0
}

require_pg() {
	if [[ -n ${STRATA_TEST_CLUSTER_SKIP:-} ]]; then
		skip "$STRATA_TEST_CLUSTER_SKIP"
	fi
	if [[ -z ${STRATA_TEST_CLUSTER_SOCK:-} ]]; then
		echo "lib.bash: no PostgreSQL cluster: call pg_start from setup_file" >&2
		return 1
	fi
}

# ---------------------------------------------------------------- per test

_strata_workdir() {
	local dir=$BATS_TEST_TMPDIR/work n=1
	while [[ -e $dir ]]; do
		n=$((n + 1))
		dir=$BATS_TEST_TMPDIR/work$n
	done
	mkdir -p "$dir/migrations"
	cd "$dir" || return 1
}

_pg_psql() {
	local psql=$STRATA_TEST_CLUSTER_BIN/psql
	[[ -x $psql ]] || psql=psql
	"$psql" -X -A -t -q -v ON_ERROR_STOP=1 "$@"
}

pg_url() {
	local db=${1:?pg_url: database name}
	echo "postgresql:///$db?host=$STRATA_TEST_CLUSTER_SOCK&port=$STRATA_TEST_CLUSTER_PORT&user=postgres"
}

new_db() {
	require_pg || return 1
	_strata_db_seq=$((${_strata_db_seq:-0} + 1))
	local db="t${BATS_TEST_NUMBER:-0}_${BATS_TEST_TRY_NUMBER:-1}_$_strata_db_seq"
	if ! _pg_psql -d postgres -c "CREATE DATABASE \"$db\" TEMPLATE template0"; then
		echo "lib.bash: new_db: could not create database $db" >&2
		return 1
	fi
	export TEST_DB=$db
	export PGDATABASE=$db
	export DATABASE_URL
	DATABASE_URL=$(pg_url "$db")
	export STRATA_TEST_DRIVER=postgres
	unset TEST_SQLITE
	_strata_workdir
}

sqlite_db() {
	_strata_workdir || return 1
	export TEST_SQLITE=$PWD/test.db
	export DATABASE_URL=sqlite:$TEST_SQLITE
	export STRATA_TEST_DRIVER=sqlite
	unset TEST_DB PGDATABASE
}

for_each_driver() {
	local driver
	if (($# == 0)); then
		echo "usage: for_each_driver COMMAND [ARG...]" >&2
		return 2
	fi
	for driver in sqlite postgres; do
		echo "# for_each_driver: $driver" >&2
		if [[ $driver == sqlite ]]; then
			sqlite_db
		else
			new_db
		fi
		# Not in a condition: errexit must stay in force inside CMD.
		"$@"
	done
}

psql_db() {
	if [[ -z ${TEST_DB:-} ]]; then
		echo "lib.bash: psql_db: no PostgreSQL test database (call new_db)" >&2
		return 1
	fi
	if (($#)); then
		_pg_psql -d "$TEST_DB" -c "$1"
	else
		_pg_psql -d "$TEST_DB" -f -
	fi
}

# await_sql SQL: runs SQL on $TEST_DB until it returns something (up to
# 15 s, for a loaded machine) and prints that; fails if it never does.
await_sql() {
	local out
	for _ in $(seq 1 150); do
		out=$(psql_db "$1")
		if [[ -n $out ]]; then
			printf '%s\n' "$out"
			return 0
		fi
		sleep 0.1
	done
	echo "await_sql: nothing after 15 s: $1" >&2
	return 1
}

query_db() {
	case ${STRATA_TEST_DRIVER:-} in
	postgres)
		psql_db "$@"
		;;
	sqlite)
		if (($#)); then
			sqlite3 -batch -bail "$TEST_SQLITE" "$1"
		else
			sqlite3 -batch -bail "$TEST_SQLITE"
		fi
		;;
	*)
		echo "lib.bash: query_db: no test database (call new_db or sqlite_db)" >&2
		return 1
		;;
	esac
}

write_migration() {
	local exact=
	if [[ ${1:-} == -n ]]; then
		exact=1
		shift
	fi
	if (($# < 1 || $# > 2)); then
		echo "usage: write_migration [-n] NAME [CONTENT]" >&2
		return 2
	fi
	local path=migrations/$1
	mkdir -p "$(dirname "$path")"
	if (($# == 1)); then
		cat >"$path"
	elif [[ -n $exact ]]; then
		printf '%s' "$2" >"$path"
	else
		printf '%s\n' "$2" >"$path"
	fi
}

# table_pairs N: migrations 1 to N, each an up file making table tN and a
# down file dropping it
table_pairs() {
	local i
	for ((i = 1; i <= $1; i++)); do
		write_migration "${i}_m$i.up.sql" "CREATE TABLE t$i (id int PRIMARY KEY);"
		write_migration "${i}_m$i.down.sql" "DROP TABLE t$i;"
	done
}

# lock_key DB: sqlx's advisory-lock key of database DB,
# 0x3d32ad9e * crc32(current_database()), computed independently: the
# CRC-32 of gzip's trailer (little-endian)
lock_key() {
	local crc
	crc=$(printf '%s' "$1" | gzip -c | tail -c8 | head -c4 | od -An -tu4 | tr -d ' ')
	echo $((0x3d32ad9e * crc))
}

# hold_session APP SECONDS SQL: a session named APP runs SQL (which opens a
# transaction) and then sits idle in it for SECONDS before it commits; its
# pid in HOLDER_PID, its background job in HOLDER_JOB. The sleep's pid is
# kept so that release_holder ends it too: bats waits at the end of a test
# for every process still holding its output, a forgotten sleep included.
hold_session() {
	HOLDER_SLEEP=$BATS_TEST_TMPDIR/holder-sleep.$1
	{
		echo "SET application_name = '$1';"
		echo "$3"
		sleep "$2" &
		echo $! >"$HOLDER_SLEEP"
		wait $!
		echo "COMMIT;"
	} | psql -XAtq -d "$TEST_DB" >/dev/null &
	HOLDER_JOB=$!
	HOLDER_PID=""
	HOLDER_PID=$(await_sql "SELECT pid FROM pg_stat_activity WHERE application_name = '$1' AND state = 'idle in transaction'")
}

# release_holder: ends hold_session's session now, whatever it was doing.
release_holder() {
	if [[ -s ${HOLDER_SLEEP:-} ]]; then
		kill "$(cat "$HOLDER_SLEEP")" 2>/dev/null || true
	fi
	kill "$HOLDER_JOB" 2>/dev/null || true
	psql_db "SELECT pg_terminate_backend($HOLDER_PID)" >/dev/null 2>&1 || true
	wait "$HOLDER_JOB" 2>/dev/null || true
}

# hold_lock SECONDS: the classic blocker, ACCESS EXCLUSIVE on table t.
hold_lock() {
	hold_session long-report "$1" "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
}

# relay_start [RTT_MS]: a bench/relay to the test cluster; RELAY_PID, RELAY_PORT, RELAY_STATS
relay_start() {
	local port
	RELAY_STATS=$BATS_TEST_TMPDIR/relay.stats
	for _ in 1 2 3 4 5; do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		"$STRATA_TEST_ROOT/bench/relay" "$port" \
			"$PGHOST/.s.PGSQL.$PGPORT" "${1:-0}" "$RELAY_STATS" 3>&- &
		RELAY_PID=$!
		for _ in {1..100}; do
			if (exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				RELAY_PORT=$port
				# the probe's own connection is not counted
				relay_settle
				: >"$RELAY_STATS"
				return 0
			fi
			kill -0 "$RELAY_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$RELAY_PID" 2>/dev/null || true
	done
	fail "the relay did not start"
}

# until the relay has no connection open (it says so on SIGUSR1)
relay_settle() {
	for _ in {1..100}; do
		kill -USR1 "$RELAY_PID"
		sleep 0.05
		[[ $(grep '^open' "$RELAY_STATS" | tail -n 1) == "open 0" ]] && return 0
	done
	fail "the relay still has connections open"
}

# relay_stop: ends relay_start's relay, if any (for a teardown)
relay_stop() {
	if [[ -n ${RELAY_PID:-} ]]; then
		kill "$RELAY_PID" 2>/dev/null || true
		wait "$RELAY_PID" 2>/dev/null || true
	fi
}

# log_from: the byte of the test cluster's server log where what it logs
# next begins (logged() reads from there)
log_from() {
	echo $(($(stat -c %s "$STRATA_TEST_CLUSTER_DIR/server.log") + 1))
}

# The statements logged since byte $1 of the server's log that contain $2.
logged() {
	tail -c +"$1" "$STRATA_TEST_CLUSTER_DIR/server.log" |
		grep -E 'LOG:  (statement|execute [^:]*):' | grep -cF -- "$2" || true
}
