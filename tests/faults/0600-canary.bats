#!/usr/bin/env bats
# Password canary (design.md, Databases): a role with a long
# random password, handed to strata in a URL, in PGPASSWORD or in a
# password file, all from .env so that no process of the test itself holds
# it. strata is driven through failures (wrong password, unreachable
# server, a broken migration, lock timeouts), JSON and verbose output,
# backups (pg_dump and pg_restore children) and the audit trail, while a
# sampler reads every process's command line and environment. The
# password (and the wrong one) must show up nowhere.

load ../t/lib
load faults

setup_file() {
	pg_start
	[[ -z ${STRATA_TEST_CLUSTER_SKIP:-} ]] || return 0
	# the secrets live in files: never on a command line, never exported
	local f
	for f in canary wrong; do
		printf 'Cnry%s' "$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)" \
			>"$BATS_FILE_TMPDIR/$f"
	done
	printf "CREATE ROLE canary LOGIN SUPERUSER PASSWORD '%s';\n" "$(<"$BATS_FILE_TMPDIR/canary")" |
		_pg_psql -d postgres -f -
	local hba=$STRATA_TEST_CLUSTER_DATA/pg_hba.conf
	{ echo "local all canary scram-sha-256"; cat "$hba"; } >"$hba.new"
	cat "$hba.new" >"$hba" # keeps the server user's ownership
	rm -f "$hba.new"
	_pg_as_server "$STRATA_TEST_CLUSTER_BIN/pg_ctl" -D "$STRATA_TEST_CLUSTER_DATA" -s reload
	for _ in {1..50}; do
		if ! PGPASSWORD=wrong _pg_psql -U canary -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "pg_hba.conf was not reloaded" >&2
	return 1
}

teardown() {
	sampler_stop
	if [[ -n ${HOLDER_JOB:-} ]]; then
		unhold
	fi
}

# Reads every process's command line and environment (root reads them
# all) until sampler.stop appears: a line in sampler.leaks for each that
# holds either secret, each strata child's name once in sampler.seen.
# Bash builtins only: a grep would carry the secret on its command line.
sampler() {
	local canary wrong d comm sweeps=0 pause
	local -a a
	local -A seen=() leaked=()
	trap - DEBUG ERR EXIT RETURN
	set +eET
	canary=$(<"$BATS_FILE_TMPDIR/canary")
	wrong=$(<"$BATS_FILE_TMPDIR/wrong")
	_strata_close_fds
	exec </dev/null >/dev/null 2>&1
	# a pause between sweeps without a process per sleep: a read that
	# times out on a pipe no one writes to
	mkfifo sampler.fifo
	exec {pause}<>sampler.fifo
	while [[ ! -e sampler.stop ]]; do
		read -r -t 0.01 -u "$pause" _
		for d in /proc/[0-9]*; do
			read -r comm 2>/dev/null <"$d/comm" || continue
			case $comm in
			pg_dump | pg_restore | git)
				if [[ -z ${seen[$comm]:-} ]]; then
					seen[$comm]=1
					echo "$comm" >>sampler.seen
				fi
				;;
			esac
			mapfile -d '' -t a 2>/dev/null <"$d/cmdline"
			if [[ ${a[*]} == *"$canary"* || ${a[*]} == *"$wrong"* ]] &&
				[[ -z ${leaked[c$d]:-} ]]; then
				leaked[c$d]=1
				echo "command line of $comm (pid ${d#/proc/})" >>sampler.leaks
			fi
			a=()
			mapfile -d '' -t a 2>/dev/null <"$d/environ"
			if [[ ${a[*]} == *"$canary"* || ${a[*]} == *"$wrong"* ]] &&
				[[ -z ${leaked[e$d]:-} ]]; then
				leaked[e$d]=1
				echo "environment of $comm (pid ${d#/proc/})" >>sampler.leaks
			fi
			a=()
		done
		sweeps=$((sweeps + 1))
	done
	echo "$sweeps" >sampler.sweeps
}

sampler_start() {
	rm -f sampler.stop sampler.leaks sampler.seen sampler.sweeps sampler.fifo
	touch sampler.leaks sampler.seen
	sampler &
	SAMPLER_JOB=$!
}

sampler_stop() {
	if [[ -n ${SAMPLER_JOB:-} ]]; then
		touch sampler.stop
		wait "$SAMPLER_JOB" || true
		unset SAMPLER_JOB
	fi
}

# .env for the way the test hands over the password ($MODE), with the
# right one, the wrong one, or the right one and a port nobody listens on.
use_env() {
	local secret port=$PGPORT sock=${PGHOST//\//%2F}
	case $1 in
	good | unreachable) secret=$(<"$BATS_FILE_TMPDIR/canary") ;;
	wrong) secret=$(<"$BATS_FILE_TMPDIR/wrong") ;;
	esac
	[[ $1 != unreachable ]] || port=$((PGPORT == 65535 ? PGPORT - 1 : PGPORT + 1))
	case $MODE in
	url)
		echo "DATABASE_URL='postgresql://canary:$secret@/$TEST_DB?host=$sock&port=$port'" >.env
		;;
	pgpassword)
		printf "DATABASE_URL='postgresql://canary@/%s?host=%s&port=%s'\nPGPASSWORD='%s'\n" \
			"$TEST_DB" "$sock" "$port" "$secret" >.env
		;;
	pgpass)
		printf '*:*:*:canary:%s\n' "$secret" >pgpass
		chmod 600 pgpass
		printf "DATABASE_URL='postgresql://canary@/%s?host=%s&port=%s'\nPGPASSFILE='%s'\n" \
			"$TEST_DB" "$sock" "$port" "$PWD/pgpass" >.env
		;;
	esac
}

# A session (application 'holder') that runs each SQL argument, then
# sleeps, holding what they took, until unhold ends it.
hold() {
	local args=(-c "SET application_name = 'holder'") sql
	for sql in "$@" "SELECT 'held'" "SELECT pg_sleep(60)"; do
		args+=(-c "$sql")
	done
	psql -XAtq -d "$TEST_DB" "${args[@]}" >/dev/null 2>&1 &
	HOLDER_JOB=$!
	await_sql "SELECT 1 FROM pg_stat_activity WHERE application_name = 'holder' AND query LIKE '%pg_sleep%'" >/dev/null
}

unhold() {
	psql_db "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'holder'" >/dev/null
	wait "$HOLDER_JOB" || true
	unset HOLDER_JOB
}

# strata with its output kept in all.out; its exit status must be $1.
expect() {
	local want=$1 rc=0
	shift
	echo "\$ strata $*" >>all.out
	PATH=$PWD/slowbin:$PATH strata "$@" >>all.out 2>&1 || rc=$?
	if ((rc != want)); then
		tail -n 20 all.out >&2
		fail "strata $* exited $rc, not $want"
	fi
}

drive_everything() {
	# .env must be what strata reads: a variable in the environment wins
	unset DATABASE_URL
	# git answers slowly, so that the sampler sees the child strata
	# starts for the audit trail's commit
	mkdir slowbin
	printf '#!/bin/sh\nsleep 0.3\nexec %s "$@"\n' "$(command -v git)" >slowbin/git
	chmod +x slowbin/git
	sampler_start

	use_env good
	# enough rows that pg_dump runs for a while
	write_migration 1_data.sql "CREATE TABLE data (id int PRIMARY KEY, t text);
INSERT INTO data SELECT i, md5(i::text) FROM generate_series(1, 100000) i;"
	expect 0 run
	write_migration 2_more.sql "CREATE TABLE more (id int);"
	expect 0 -v run
	expect 0 --format json run
	local cmd
	for cmd in status check history; do
		expect 0 $cmd
		expect 0 --format json $cmd
		expect 0 -v $cmd
	done

	# failures with the right password
	write_migration 3_bad.sql "CREATE TABLE oops (;"
	expect 4 run
	write_migration 3_bad.sql "INSERT INTO no_such_table VALUES (1);"
	expect 1 -v run
	expect 1 --format json run
	rm migrations/3_bad.sql
	write_migration 4_alter.sql "ALTER TABLE data ADD COLUMN x int;"
	hold "BEGIN" "LOCK TABLE data IN ACCESS SHARE MODE"
	expect 6 run --lock-timeout 100ms --retries 1
	expect 6 --format json run --lock-timeout 100ms --retries 0
	unhold
	# the migration lock, held by another session
	local crc key
	crc=$(printf '%s' "$TEST_DB" | gzip -c | tail -c8 | head -c4 | od -An -tu4 | tr -d ' ')
	key=$((0x3d32ad9e * crc))
	hold "SELECT pg_advisory_lock($key)"
	expect 6 run --lock-wait 300ms
	expect 6 --format json run --lock-wait 300ms
	unhold

	# backups: pg_dump, then pg_restore --list to verify it
	expect 0 backup
	expect 0 -v run --backup
	expect 0 --format json backup list
	# a scratch restore: pg_restore connects with the password too
	expect 0 backup verify "$(ls backups/*.dump | head -n 1)" --restore-test

	# the wrong password, and a server that is not there
	use_env wrong
	expect 7 status
	expect 7 -v run
	expect 7 --format json check
	expect 7 backup
	use_env unreachable
	expect 7 run
	expect 7 --format json status

	sampler_stop
	# the trail and the history as text; the manifests; the server's log
	psql_db "SELECT t::text FROM _strata_audit t" >>all.out
	psql_db "SELECT t::text FROM _sqlx_migrations t" >>all.out
	cat backups/*.json >>all.out
	cat "$STRATA_TEST_CLUSTER_DIR/server.log" >>all.out

	# strata really was the password's user throughout
	assert_equal "$(psql_db "SELECT count(*) > 5, count(*) FILTER (WHERE db_user <> 'canary') FROM _strata_audit")" "t|0"
	run cat sampler.leaks
	assert_output ""
	{
		cat "$BATS_FILE_TMPDIR/canary"
		echo
		cat "$BATS_FILE_TMPDIR/wrong"
		echo
	} >secrets
	run grep -c -F -f secrets all.out
	assert_output 0
	# the sampler saw what it was there for (pg_restore is often too quick)
	grep -qx pg_dump sampler.seen
	grep -qx git sampler.seen
	echo "# $MODE: $(cat sampler.sweeps) sweeps of /proc saw $(sort sampler.seen | xargs)" >&3
}

@test "canary: a password in the URL is nowhere: outputs, audit, children's command lines and environments" {
	MODE=url drive_everything
}

@test "canary: the same through PGPASSWORD" {
	MODE=pgpassword drive_everything
}

@test "canary: the same through a password file" {
	MODE=pgpass drive_everything
}
