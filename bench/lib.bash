# bench/lib.bash: a throwaway PostgreSQL server for bench/run,
# bench/profile and bench/lock-latency, started the way tests/t/lib.bash
# starts the test clusters (initdb -A trust -U postgres as an unprivileged
# user when root, no TCP, a private socket directory, a free port, fsync
# off).
#
#   bench_pg_start     start it in a fresh scratch directory; sets
#                      bench_scratch, bench_psql (the server's own psql),
#                      bench_server_version, and exports PGHOST, PGPORT,
#                      PGUSER (every other PG* variable, DATABASE_URL and
#                      STRATA_ENV are unset)
#   bench_pg_stop      stop it; remove the scratch directory unless
#                      bench_keep is set (idempotent; bench_pg_start
#                      installs it as the EXIT trap)
#   bench_admin SQL    run SQL on the postgres database
#   bench_url DB       a libpq URL for database DB
#   bench_find_dbmate  set bench_dbmate to the peer dbmate's binary, if any
#   bench_dbmate_folder SRC DST, bench_dbmate_url DB
#                      gen-migrations' files and a database as dbmate's
#   bench_relay_start RTT, bench_relay_stop, bench_relay_trips
#                      bench/relay to the server, adding RTT ms, and the
#                      round trips it counted
#
# Set bench_extra_conf to lines for postgresql.conf before bench_pg_start
# (bench/profile loads pg_stat_statements that way).
#
# Knobs: STRATA_BENCH_PG_BINDIR, STRATA_BENCH_PG_OSUSER (default
# strata-test), STRATA_BENCH_TMP (default /tmp).

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bench_find_bindir() {
	local d
	if [[ -n ${STRATA_BENCH_PG_BINDIR:-} ]]; then
		echo "$STRATA_BENCH_PG_BINDIR"
		return
	fi
	d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	if [[ -x $d/initdb ]]; then
		echo "$d"
		return
	fi
	d=$(pg_config --bindir 2>/dev/null) || true
	echo "$d"
}

bench_as_server() {
	if [[ -n $bench_runas ]]; then
		runuser -u "$bench_runas" -- "$@"
	else
		"$@"
	fi
}

bench_pick_port() {
	local port
	for _ in {1..100}; do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if (exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue
		fi
		[[ -e /tmp/.s.PGSQL.$port ]] && continue
		echo "$port"
		return
	done
	return 1
}

bench_pg_stop() {
	if [[ -n ${bench_data:-} && -f $bench_data/postmaster.pid ]]; then
		bench_as_server "$bench_bindir/pg_ctl" -D "$bench_data" \
			-m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	if [[ -n ${bench_scratch:-} && -d $bench_scratch ]]; then
		if [[ -n ${bench_keep:-} ]]; then
			echo "bench: kept $bench_scratch" >&2
		else
			rm -rf "$bench_scratch"
		fi
	fi
	bench_data=
	bench_scratch=
}

bench_pg_start() {
	local prog v port
	bench_bindir=$(bench_find_bindir)
	for prog in initdb pg_ctl psql; do
		if [[ ! -x $bench_bindir/$prog ]]; then
			echo "bench: no $prog in '$bench_bindir' (install postgresql, or set STRATA_BENCH_PG_BINDIR)" >&2
			return 1
		fi
	done
	# The server's own psql: Debian's /usr/bin/psql is a Perl wrapper
	# that would add its start-up to every psql sample.
	bench_psql=$bench_bindir/psql

	bench_runas=
	if [[ $(id -u) == 0 ]]; then
		bench_runas=${STRATA_BENCH_PG_OSUSER:-strata-test}
		if ! id -u "$bench_runas" >/dev/null 2>&1; then
			flock /tmp/.strata-test-useradd.lock sh -c \
				"id -u $bench_runas >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin $bench_runas"
		fi
	fi

	bench_scratch=$(mktemp -d "${STRATA_BENCH_TMP:-/tmp}/strata-bench.XXXXXX")
	chmod 755 "$bench_scratch"
	bench_data=$bench_scratch/data
	bench_sock=$bench_scratch/sock
	mkdir -p "$bench_sock"
	[[ -z $bench_runas ]] || chown "$bench_runas:" "$bench_scratch" "$bench_sock"
	trap bench_pg_stop EXIT
	trap 'exit 130' INT TERM

	echo "bench: starting PostgreSQL from $bench_bindir in $bench_scratch" >&2
	if ! (cd "$bench_scratch" && bench_as_server "$bench_bindir/initdb" \
		-D "$bench_data" -A trust -U postgres -E UTF8 --no-locale \
		--no-sync) >"$bench_scratch/initdb.log" 2>&1; then
		cat "$bench_scratch/initdb.log" >&2
		return 1
	fi
	port=$(bench_pick_port)
	# fsync off as in the tests. Autovacuum off and checkpoints far apart
	# (callers CHECKPOINT before each timed pair), so that background
	# work lands on neither side. Lock slots for one transaction that
	# creates 10,000 migrations' relations (--single-transaction, psql -1).
	cat >>"$bench_data/postgresql.conf" <<-EOF

		# strata benchmark cluster (bench/lib.bash)
		listen_addresses = ''
		unix_socket_directories = '$bench_sock'
		port = $port
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		autovacuum = off
		max_wal_size = '16GB'
		checkpoint_timeout = '1h'
		max_connections = 20
		max_locks_per_transaction = 8192
		shared_buffers = '256MB'
		timezone = 'UTC'
		lc_messages = 'C'
	EOF
	if [[ -n ${bench_extra_conf:-} ]]; then
		printf '%s\n' "$bench_extra_conf" >>"$bench_data/postgresql.conf"
	fi
	if ! (cd "$bench_scratch" && bench_as_server "$bench_bindir/pg_ctl" \
		-D "$bench_data" -l "$bench_scratch/server.log" -w -t 60 -s \
		start) </dev/null >"$bench_scratch/pg_ctl.out" 2>&1; then
		cat "$bench_scratch/pg_ctl.out" "$bench_scratch/server.log" >&2
		return 1
	fi
	bench_port=$port

	# Hermetic: no inherited libpq settings, .env or strata.conf.
	while read -r v; do unset "$v"; done < <(compgen -e -X '!PG*')
	unset DATABASE_URL STRATA_ENV
	export PGHOST=$bench_sock PGPORT=$bench_port PGUSER=postgres
	# shellcheck disable=SC2034 # for the callers
	bench_server_version=$("$bench_psql" -X -At -d postgres -c 'SHOW server_version')
}

bench_admin() {
	"$bench_psql" -X -q -v ON_ERROR_STOP=1 -d postgres -c "$1" >/dev/null
}

bench_url() {
	echo "postgresql:///$1?host=$bench_sock&port=$bench_port&user=postgres"
}

# What strata reads for status, check and a no-op run
# (src/engine/history_read.c, PostgreSQL's dialect): psql sending the same
# query is their floor.
# shellcheck disable=SC2034
bench_history_sql="SELECT CAST(version AS BIGINT), CAST(description AS TEXT),
       coalesce(to_char(CAST(installed_on AS TIMESTAMPTZ) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), CAST(installed_on AS TEXT)),
       CASE WHEN CAST(success AS BOOLEAN) THEN 1 ELSE 0 END,
       encode(CAST(checksum AS BYTEA), 'hex'), CAST(execution_time AS BIGINT)
  FROM \"_sqlx_migrations\" ORDER BY version"

# bench_find_dbmate: sets bench_dbmate to dbmate's binary, empty when
# there is none: npm's where the tests install it (tests/deps), its Go
# binary itself rather than the node script that starts it (node's start
# would be dbmate's time and memory), else dbmate on PATH
bench_find_dbmate() {
	local npm
	bench_dbmate=
	for npm in "$bench_root"/tests/deps/node_modules/@dbmate/*/bin/dbmate; do
		[[ -x $npm ]] && "$npm" --version >/dev/null 2>&1 && bench_dbmate=$npm && return
	done
	bench_dbmate=$(command -v dbmate || true)
}

# bench_dbmate_folder SRC DST: gen-migrations' sqlx files in SRC as dbmate
# writes them in DST: one file per version, `-- migrate:up` then the up
# file, `-- migrate:down` then the down file
bench_dbmate_folder() {
	local src=$1 dst=$2 f base v name down
	mkdir -p "$dst"
	for f in "$src"/*.sql; do
		base=${f##*/}
		[[ $base == *.down.sql ]] && continue
		v=${base%%_*}
		name=${base%.sql}
		name=${name%.up}
		down=$src/$name.down.sql
		{
			echo "-- migrate:up"
			cat "$f"
			echo
			echo "-- migrate:down"
			[[ -f $down ]] && cat "$down"
		} >"$dst/$name.sql"
	done
}

# bench_dbmate_url DB: the throwaway server's database DB as dbmate's URL
bench_dbmate_url() {
	echo "postgres://postgres@/$1?socket=$bench_sock&port=$bench_port&sslmode=disable"
}

# bench_relay_start RTT: bench/relay (bench_root/bench/relay) between
# loopback TCP and the server, adding RTT ms per round trip; sets
# bench_relay_port, bench_relay_pid and bench_relay_stats (its file).
bench_relay_start() {
	bench_relay_port=$(bench_pick_port)
	bench_relay_stats=$bench_scratch/relay.$1.stats
	bench_relay_seen=0
	: >"$bench_relay_stats"
	"$bench_root/bench/relay" "$bench_relay_port" \
		"$bench_sock/.s.PGSQL.$bench_port" "$1" "$bench_relay_stats" &
	bench_relay_pid=$!
	for _ in {1..100}; do
		(exec 9<>"/dev/tcp/127.0.0.1/$bench_relay_port") 2>/dev/null && return
		sleep 0.05
	done
	echo "bench: the relay did not start" >&2
	exit 1
}

bench_relay_stop() {
	if [[ -n ${bench_relay_pid:-} ]]; then
		kill "$bench_relay_pid" 2>/dev/null || true
		wait "$bench_relay_pid" 2>/dev/null || true
	fi
	bench_relay_pid=
}

# bench_relay_trips: the round trips of the connections closed since the
# last call, once the relay has none open: "SUM<tab>BUSIEST" (the busiest
# connection's: the session that did the work)
bench_relay_trips() {
	for _ in {1..200}; do
		kill -USR1 "$bench_relay_pid"
		sleep 0.02
		[[ $(grep '^open' "$bench_relay_stats" | tail -n 1) == "open 0" ]] && break
	done
	awk -v from="$bench_relay_seen" '!/^open/ && ++k > from { t += $1; if ($1 > m) m = $1 }
		END { printf "%d\t%d\n", t, m }' "$bench_relay_stats"
	bench_relay_seen=$(grep -vc '^open' "$bench_relay_stats" || true)
}

# bench_relay_conninfo DB: database DB through the relay (TCP, no TLS)
bench_relay_conninfo() {
	echo "host=127.0.0.1 port=$bench_relay_port user=postgres dbname=$1 sslmode=disable gssencmode=disable"
}
