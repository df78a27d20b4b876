#!/usr/bin/env bats
# The library's errors say what to change in its own words and name no
# command-line flag; strata's output names the flag (its table in
# src/cli/output.c). A small program linked with libstrata shows the
# library's side.

load lib

setup_file() {
	pg_start
	local root=$BATS_TEST_DIRNAME/../..
	LIBRUN=$BATS_FILE_TMPDIR/lib-run
	export LIBRUN
	cat >"$BATS_FILE_TMPDIR/lib-run.c" <<'EOF'
/* lib-run [nowait] [ignore-missing] [allow-unsafe]: strata_migrate_run()
 * of ./migrations on $DATABASE_URL; on failure, the error's hint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"

int main(int argc, char **argv)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct strata_db_options dbo = STRATA_DB_OPTIONS_INIT;
	struct strata_run_options ro = STRATA_RUN_OPTIONS_INIT;
	struct strata_run_result res;
	struct strata_source *src = NULL;
	struct strata_db *db = NULL;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "nowait"))
			dbo.lock_wait = STRATA_NO_WAIT;
		else if (!strcmp(argv[i], "ignore-missing"))
			ro.is_ignore_missing = true;
		else if (!strcmp(argv[i], "allow-unsafe"))
			ro.is_allow_unsafe = true;
	}
	if (strata_db_open(&db, getenv("DATABASE_URL"), &dbo, &err) < 0 ||
	    strata_source_load(&src, "migrations", NULL, &err) < 0 ||
	    strata_migrate_run(&res, db, src, &ro, &err) < 0) {
		printf("code %d\nhint: %s\n", (int)err.code,
		       err.hint ? err.hint : "");
		rc = 1;
	}
	strata_error_release(&err);
	strata_source_free(src);
	strata_db_close(db);
	return rc;
}
EOF
	# shellcheck disable=SC2046
	cc -std=c17 ${STRATA_SAN_FLAGS:-} -I"$root/include" -o "$LIBRUN" "$BATS_FILE_TMPDIR/lib-run.c" \
		"$STRATA_BUILD/libstrata.a" -lpg_query \
		$(pkg-config --libs libpq sqlite3 libcrypto jansson zlib inih) \
		-lm -pthread
}

# A --flag (a letter after "--"; "-- x" is a SQL comment).
refute_flag() {
	if [[ $1 =~ --[a-z] ]]; then
		fail "names a flag: $1"
	fi
}

@test "advice: a held migration lock: the library says allow a longer wait, strata says --lock-wait" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	local key holder
	key=$(lock_key "$TEST_DB")
	psql -XAtq -d "$TEST_DB" -c "SET application_name = 'deployer'" -c "SELECT pg_advisory_lock($key)" -c "SELECT pg_sleep(30)" >/dev/null &
	holder=$!
	await_sql "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l USING (pid) WHERE a.application_name = 'deployer' AND l.locktype = 'advisory' AND l.granted" >/dev/null
	run "$LIBRUN" nowait
	local lib=$output lib_status=$status
	run strata run --lock-wait 0
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	assert_failure 6
	assert_output --partial "hint: Wait for the other migration to finish, or raise --lock-wait."
	[[ $lib_status == 1 ]] || fail "lib-run: $lib"
	[[ $lib == *"code 6"* ]] || fail "$lib"
	[[ $lib == *"allow a longer lock wait"* ]] || fail "$lib"
	refute_flag "$lib"
}

@test "advice: an applied migration missing: the library says ignore missing migrations, strata says --ignore-missing" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	write_migration 2_b.sql "CREATE TABLE b (id int);"
	strata run
	rm migrations/1_a.sql
	run "$LIBRUN"
	assert_failure 1
	assert_output --partial "code 4"
	assert_output --partial "ignore missing migrations if it was removed on purpose"
	refute_flag "$output"
	run strata run
	assert_failure 4
	assert_output --partial "hint: Restore its file, or pass --ignore-missing if it was removed on purpose."
	run --separate-stderr strata run --format json
	assert_failure 4
	[[ $output == *'"hint": "Restore its file, or pass --ignore-missing if it was removed on purpose."'* ]] || fail "$output"
	run jq -r .error.reason <<<"$output"
	assert_output missing-applied
	run "$LIBRUN" ignore-missing
	assert_success
}

@test "advice: the lint gate: the library says allow unsafe migrations, strata says --allow-unsafe" {
	write_migration 1_users.sql "CREATE TABLE users (id bigint PRIMARY KEY, legacy text);"
	strata run
	write_migration 2_drop.sql "ALTER TABLE users DROP COLUMN legacy;"
	run "$LIBRUN"
	assert_failure 1
	assert_output --partial "code 5"
	assert_output --partial "or allow unsafe migrations."
	refute_flag "$output"
	run strata run
	assert_failure 5
	assert_output --partial "before a statement that is safe anyway, or pass --allow-unsafe."
	run "$LIBRUN" allow-unsafe
	assert_success
}
