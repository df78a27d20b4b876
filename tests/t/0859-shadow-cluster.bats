#!/usr/bin/env bats
# The shadow of drift and test on a private throwaway cluster, when the
# role may not create a database (or --shadow cluster asks for one):
# initdb and pg_ctl of the server's major version, a socket in a private
# directory under TMPDIR, stopped and removed on every path. And SQLite
# drift column by column.
#
# initdb refuses to run as root: as root, strata runs here as the user the
# test cluster runs as (lib.bash's strata-test), through setpriv, which
# execs it (its pid is strata's, for the signal test).

load lib

setup() {
	new_db
	psql_db "CREATE ROLE app_$TEST_DB LOGIN" 2>/dev/null || true
	psql_db "ALTER DATABASE \"$TEST_DB\" OWNER TO app_$TEST_DB"
	APP_URL="host=$PGHOST port=$PGPORT user=app_$TEST_DB dbname=$TEST_DB"
	# the user's own directory: the project and TMPDIR, where the cluster
	# goes (and must be gone from afterwards)
	USER_DIR=$(mktemp -d /tmp/strata-0859.XXXXXX)
	mkdir "$USER_DIR/tmp" "$USER_DIR/proj" "$USER_DIR/proj/migrations" \
		"$USER_DIR/strata"
	# strata too: the checkout may be where that user cannot reach (/root)
	cp "$STRATA_BIN" "$USER_DIR/strata/strata"
	if [[ -n ${STRATA_TEST_CLUSTER_RUNAS:-} ]]; then
		chown -R "$STRATA_TEST_CLUSTER_RUNAS:" "$USER_DIR"
	fi
	cd "$USER_DIR/proj"
}

teardown() {
	local f
	cd /
	if [[ -n ${USER_DIR:-} ]]; then
		# a cluster a failing test left running is stopped too
		for f in "$USER_DIR"/tmp/*/data/postmaster.pid; do
			[[ -f $f ]] && kill -QUIT "$(head -n 1 "$f")" 2>/dev/null
		done
		rm -rf "$USER_DIR"
	fi
}

# strata as a user who may run initdb, with TMPDIR our directory
# (as_user_exec: in place of the calling shell, for a background pid).
as_user() {
	("as_user_exec" "$@")
}

as_user_exec() {
	local runas=()
	if [[ -n ${STRATA_TEST_CLUSTER_RUNAS:-} ]]; then
		runas=(setpriv --reuid="$STRATA_TEST_CLUSTER_RUNAS"
			--regid="$STRATA_TEST_CLUSTER_RUNAS" --clear-groups)
	fi
	exec "${runas[@]}" env --default-signal TMPDIR="$USER_DIR/tmp" \
		"$USER_DIR/strata/strata" -d "$APP_URL" "$@"
}

migration() {
	printf '%s\n' "$2" >"migrations/$1"
	if [[ -n ${STRATA_TEST_CLUSTER_RUNAS:-} ]]; then
		chown "$STRATA_TEST_CLUSTER_RUNAS:" "migrations/$1"
	fi
}

# No process of a shadow cluster runs and its directory is gone.
assert_nothing_left() {
	run pgrep -f "$USER_DIR/tmp/strata-shadow-cluster"
	assert_failure 1
	assert_equal "$(ls -A "$USER_DIR/tmp")" ""
}

users() {
	migration 20250101000000_users.up.sql "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
CREATE INDEX users_email ON users (email);"
	migration 20250101000000_users.down.sql "DROP TABLE users;"
}

@test "shadow cluster: drift without CREATEDB runs on a private cluster and leaves nothing" {
	users
	as_user run
	run as_user drift
	assert_success
	assert_output --partial "No drift"
	assert_nothing_left
	psql_db "ALTER TABLE users ADD COLUMN nick text"
	run as_user drift --format json
	assert_failure 4
	assert_output --partial '"name": "users.nick"'
	assert_output --partial '"shadow": "a private PostgreSQL'
	assert_nothing_left
	# and no database was made on the server
	assert_equal "$(psql_db "SELECT count(*) FROM pg_database WHERE datname LIKE 'strata_shadow%'")" 0
}

@test "shadow cluster: the shadow has the server's roles, for GRANTs" {
	psql_db "CREATE ROLE reader_$TEST_DB NOLOGIN" 2>/dev/null || true
	migration 20250101000000_t.up.sql "CREATE TABLE t (id int);
GRANT SELECT ON t TO reader_$TEST_DB;"
	migration 20250101000000_t.down.sql "DROP TABLE t;"
	as_user run
	run as_user test
	assert_success
	assert_output --partial "private PostgreSQL"
	assert_nothing_left
}

@test "shadow cluster: test whose down fails leaves nothing" {
	users
	migration 20250102000000_bad.up.sql "CREATE TABLE b (id int);"
	migration 20250102000000_bad.down.sql "DROP TABLE nothing_here;"
	run as_user test
	assert_failure
	assert_output --partial "nothing_here"
	assert_nothing_left
}

# `strata test` in the background on a migration that sleeps on the shadow
# cluster, returning once it sleeps there: its pid in PROOF_PID, the
# cluster's directory in PROOF_CLUSTER.
start_sleeping_proof() {
	local i n=0
	users
	migration 20250102000000_slow.up.sql "SELECT pg_sleep(30);"
	migration 20250102000000_slow.down.sql "SELECT 1;"
	as_user_exec test >strata.out 2>&1 &
	PROOF_PID=$!
	for ((i = 0; i < 300; i++)); do
		PROOF_CLUSTER=$(printf '%s\n' "$USER_DIR"/tmp/strata-shadow-cluster-* | head -n 1)
		n=$(psql -h "$PROOF_CLUSTER" -p 5432 -U "app_$TEST_DB" -d postgres -XAtq -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND pid <> pg_backend_pid()" 2>/dev/null) || n=0
		[[ $n == 1 ]] && break
		sleep 0.05
	done
	assert_equal "$n" 1
}

@test "shadow cluster: SIGINT mid-proof stops the cluster and removes it" {
	local rc=0
	start_sleeping_proof
	kill -INT "$PROOF_PID"
	wait "$PROOF_PID" || rc=$?
	cat strata.out
	assert_equal "$rc" 130
	assert_nothing_left
}

@test "shadow cluster: SIGKILL leaves a cluster that the next drift stops and removes" {
	start_sleeping_proof
	kill -KILL "$PROOF_PID"
	wait "$PROOF_PID" || true
	[[ -d $PROOF_CLUSTER ]] || fail "the killed strata's cluster is gone already"
	rm migrations/20250102000000_slow.*
	as_user run
	run as_user drift
	assert_success
	assert_output --partial "removed shadow cluster '$PROOF_CLUSTER', left by a strata (pid $PROOF_PID) that was killed"
	assert_nothing_left
}

@test "shadow cluster: an extension the installation lacks is named, with what to install" {
	migration 20250101000000_ext.up.sql "CREATE EXTENSION IF NOT EXISTS no_such_ext_0859;
CREATE EXTENSION \"another-missing\";"
	migration 20250101000000_ext.down.sql "DROP EXTENSION no_such_ext_0859;"
	run as_user test
	assert_failure 1
	assert_output --partial "of the private shadow cluster, lacks extensions the migrations create: 'no_such_ext_0859', 'another-missing'"
	assert_output --partial "on this machine"
	assert_output --partial "--shadow URL"
	assert_nothing_left
}

@test "shadow cluster: --shadow cluster when the role could create a database" {
	users
	as_user run
	psql_db "ALTER ROLE app_$TEST_DB CREATEDB"
	run as_user drift --shadow cluster
	assert_success
	assert_nothing_left
	psql_db "ALTER ROLE app_$TEST_DB NOCREATEDB"
}

@test "shadow cluster: without the server's programs the error says what to install and the other ways" {
	users
	as_user run
	# a bin directory with the client's pg_dump but no initdb or pg_ctl
	mkdir bin
	ln -s "$STRATA_TEST_CLUSTER_BIN/pg_dump" bin/pg_dump
	local major
	major=$(psql_db "SELECT current_setting('server_version_num')::int / 10000")
	STRATA_PG_BINDIR=$PWD/bin run as_user drift
	assert_failure 1
	assert_output --partial "no PostgreSQL $major server programs (initdb, pg_ctl) in '$PWD/bin'"
	assert_output --partial "Install postgresql-$major"
	assert_output --partial "CREATEDB"
	assert_output --partial "--shadow URL"
	assert_nothing_left
}

@test "shadow cluster: root is refused clearly" {
	[[ $(id -u) == 0 ]] || skip "not root"
	users
	"$STRATA_BIN" -d "$APP_URL" run
	run "$STRATA_BIN" -d "$APP_URL" drift
	assert_failure 1
	assert_output --partial "a private shadow cluster cannot run as root"
	assert_output --partial "--shadow URL"
}

# ---------------------------------------------------------------- SQLite

sqlite_users() {
	sqlite_db
	write_migration 20250101000000_users.sql "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, n int DEFAULT 0, name text);
CREATE INDEX users_email ON users (email);"
	strata run
}

@test "sqlite drift: a column added by hand is named" {
	sqlite_users
	sqlite3 "$TEST_SQLITE" "ALTER TABLE users ADD COLUMN nick text"
	run strata drift
	assert_failure 4
	assert_output --partial "column     users.nick: unexpected"
	refute_output --partial "table      users"
	run strata drift --format json
	assert_output --partial '"kind": "column",
      "schema": null,
      "name": "users.nick",
      "state": "unexpected"'
	run strata drift --shadow cluster
	assert_failure 2
	assert_output --partial "a private shadow cluster is for PostgreSQL"
}

@test "sqlite drift: a changed default, a changed type and a dropped column are named" {
	sqlite_users
	sqlite3 "$TEST_SQLITE" "PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = 'CREATE TABLE users (id integer PRIMARY KEY, email varchar(80) NOT NULL, n int DEFAULT 1, name text)' WHERE name = 'users';"
	run strata drift
	assert_failure 4
	assert_output --partial "column     users.n: changed"
	assert_output --partial "column     users.email: changed"
	refute_output --partial "users.id"
	sqlite3 "$TEST_SQLITE" "ALTER TABLE users DROP COLUMN name"
	run strata drift
	assert_output --partial "column     users.name: missing from the database"
}

@test "sqlite drift: a dropped index, a trigger and a column added by hand are named, each on its own" {
	sqlite_users
	sqlite3 "$TEST_SQLITE" "DROP INDEX users_email;
ALTER TABLE users ADD COLUMN nick text;
CREATE TRIGGER users_t AFTER INSERT ON users BEGIN SELECT 1; END;"
	run strata drift
	assert_failure 4
	assert_output --partial "index      users_email: missing from the database"
	assert_output --partial "trigger    users_t: unexpected"
	assert_output --partial "column     users.nick: unexpected"
	refute_output --partial "table      users"
}
