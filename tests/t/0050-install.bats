#!/usr/bin/env bats
# make install and uninstall, and what they install as others use it:
# the shared library (its soname, only strata_* exported), programs in C
# and C++ built with pkg-config against the shared and the static library,
# the header in C11 and C++, the manual pages (made from the help data)
# and the shell completions. Installs the finished build (NO_BUILD=1)
# into a scratch DESTDIR; no server needed.

load lib

setup_file() {
	export STRATA_BUILD=${STRATA_BUILD:-$STRATA_TEST_ROOT/build}
	export DEST=$BATS_FILE_TMPDIR/dest
	make -s -C "$STRATA_TEST_ROOT" install NO_BUILD=1 BUILD="$STRATA_BUILD" \
		DESTDIR="$DEST" PREFIX=/usr >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
		{ cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
}
teardown_file() { :; }

setup() {
	cd "$BATS_TEST_TMPDIR"
	# pkg-config reads the installed libstrata.pc, its paths under DEST
	# (/usr/include and /usr/lib are system paths it would otherwise drop)
	export PKG_CONFIG_PATH=$DEST/usr/lib/pkgconfig
	export PKG_CONFIG_SYSROOT_DIR=$DEST
	export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
	read -r MAJOR MINOR PATCH < <(sed -n \
		's/^#define STRATA_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
		"$STRATA_TEST_ROOT/include/strata.h" | paste -sd' ')
}

# A program that applies its migrations at start-up, as an application
# would: the version it was built with and the one it runs with, then a
# run on an in-memory SQLite database and a lint of one statement (so
# that a static link needs SQLite, libpg_query... too).
write_app() {
	cat >app.c <<-'EOF'
	#include <stdio.h>
	#include <string.h>
	#include <strata.h>

	#if STRATA_VERSION_NUMBER != STRATA_VERSION_MAJOR * 10000 + \
	        STRATA_VERSION_MINOR * 100 + STRATA_VERSION_PATCH
	#error "STRATA_VERSION_NUMBER"
	#endif

	int main(int argc, char **argv)
	{
		struct strata_error err = STRATA_ERROR_INIT;
		struct strata_db_options dbo;
		struct strata_run_options ro;
		struct strata_run_result res;
		struct strata_source *src = NULL;
		struct strata_db *db = NULL;
		struct strata_lint *lint = NULL;
		const char *sql = "ALTER TABLE t ADD COLUMN c int NOT NULL;";
		int rc = 1;

		memset(&res, 0, sizeof(res));
		if (strata_db_options_init(&dbo, STRATA_DB_OPTIONS_VERSION) < 0 ||
		    strata_run_options_init(&ro, STRATA_RUN_OPTIONS_VERSION) < 0)
			return 2;
		if (argc != 2 || strcmp(strata_version(), STRATA_VERSION) != 0)
			return 2;
		printf("%s %d\n", strata_version(), STRATA_VERSION_NUMBER);
		if (strata_source_load(&src, argv[1], NULL, &err) < 0 ||
		    strata_db_open(&db, "sqlite::memory:", &dbo, &err) < 0 ||
		    strata_migrate_run(&res, db, src, &ro, &err) < 0 ||
		    strata_lint_new(&lint, NULL, &err) < 0 ||
		    strata_lint_text(lint, "x.sql", sql, strlen(sql), NULL,
		                     &err) < 0)
			fprintf(stderr, "error: %s\n", err.message);
		else
			rc = 0;
		if (!rc)
			printf("applied %zu, lint findings %zu\n", res.applied,
			       strata_lint_count(lint));
		strata_lint_free(lint);
		strata_db_close(db);
		strata_source_free(src);
		strata_error_release(&err);
		return rc;
	}
	EOF
	mkdir -p migrations
	echo 'CREATE TABLE t (id int);' >migrations/1_t.sql
	echo 'INSERT INTO t VALUES (1);' >migrations/2_row.sql
}

@test "install: every file in its place, the library's links to its soname" {
	local v=$MAJOR.$MINOR.$PATCH f
	for f in bin/strata lib/libstrata.so.$v lib/libstrata.a \
		include/strata.h lib/pkgconfig/libstrata.pc \
		share/man/man1/strata.1 share/man/man1/strata-run.1 \
		share/man/man1/strata-backup.1 share/man/man5/strata.conf.5 \
		share/man/man3/libstrata.3 \
		share/bash-completion/completions/strata \
		share/zsh/site-functions/_strata; do
		[[ -f $DEST/usr/$f ]] || fail "missing /usr/$f"
	done
	[[ -x $DEST/usr/bin/strata ]]
	assert_equal "$(readlink "$DEST/usr/lib/libstrata.so.$MAJOR")" "libstrata.so.$v"
	assert_equal "$(readlink "$DEST/usr/lib/libstrata.so")" "libstrata.so.$MAJOR"
	# a page for each command strata --help lists, none for another name
	local cmd
	while read -r cmd; do
		[[ -f $DEST/usr/share/man/man1/strata-$cmd.1 ]] || fail "no strata-$cmd.1"
	done < <(strata --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | grep -vx info)
	[[ ! -e $DEST/usr/share/man/man1/strata-info.1 ]]
	# the .pc file names the prefix it was installed under
	run grep -x 'prefix=/usr' "$DEST/usr/lib/pkgconfig/libstrata.pc"
	assert_success
	run "$DEST/usr/bin/strata" --version
	assert_output "strata $MAJOR.$MINOR.$PATCH"
}

@test "install: the shared library exports only strata_* and has soname libstrata.so.MAJOR" {
	local so=$DEST/usr/lib/libstrata.so.$MAJOR.$MINOR.$PATCH
	run nm -D --defined-only "$so"
	assert_success
	local names
	names=$(awk 'NF == 3 { print $3 }' <<<"$output")
	[[ -n $names ]] || fail "nothing exported"
	run grep -v '^strata_' <<<"$names"
	assert_failure
	refute_output
	# the API is there, internals are not
	grep -qx strata_version <<<"$names"
	grep -qx strata_migrate_run <<<"$names"
	grep -qx strata_backup_restore <<<"$names"
	! grep -qx strata_bug <<<"$names"
	# every function strata.h declares is marked STRATA_API, and exported
	run awk '(/^[a-z].*[^a-z_]strata_[a-z0-9_]+\(/ ||
		  (/^strata_[a-z0-9_]+\(/ && prev !~ /^STRATA_API /)) {
			print FILENAME ":" FNR ": " $0
		}
		{ prev = $0 }' "$DEST/usr/include/strata.h"
	assert_success
	refute_output
	local declared
	declared=$(perl -0ne 'print "$1\n" while /^STRATA_API\b[^;(]*?\b(strata_\w+)\s*\(/mg' \
		"$DEST/usr/include/strata.h" | sort)
	[[ -n $declared ]] || fail "no STRATA_API declaration found"
	assert_equal "$(sort <<<"$names")" "$declared"
	run readelf -d "$so"
	assert_output --regexp "SONAME.*\[libstrata\.so\.$MAJOR\]"
}

@test "install: a C program builds with pkg-config and runs against the shared library" {
	write_app
	run pkg-config --cflags --libs libstrata
	assert_success
	assert_output --partial "-I$DEST/usr/include"
	assert_output --partial "-lstrata"
	# shellcheck disable=SC2046,SC2086
	gcc -std=c11 -Wall -Wextra -pedantic -Werror ${STRATA_SAN_FLAGS:-} \
		app.c -o app $(pkg-config --cflags --libs libstrata)
	run readelf -d app
	assert_output --partial "[libstrata.so.$MAJOR]"
	LD_LIBRARY_PATH=$DEST/usr/lib run ./app migrations
	assert_success
	assert_line "$MAJOR.$MINOR.$PATCH $((MAJOR * 10000 + MINOR * 100 + PATCH))"
	assert_line --regexp '^applied 2, lint findings [1-9]'
}

@test "install: libstrata(3)'s example builds and tells a pending database from an up-to-date one" {
	# the page's literal block, as scdoc prints it (a backslash escaped)
	awk '/^# EXAMPLE/ { on = 1 } on && /^```$/ { n++; next } on && n == 1' \
		"$STRATA_TEST_ROOT/docs/man/libstrata.3.scd" | sed 's/\\\\/\\/g' >example.c
	cat >>example.c <<-'EOF'
	int main(int argc, char **argv)
	{
		return argc == 3 && up_to_date(argv[1], argv[2]) == 0 ? 0 : 1;
	}
	EOF
	# shellcheck disable=SC2046,SC2086
	gcc -std=c11 -Wall -Wextra -pedantic -Werror ${STRATA_SAN_FLAGS:-} \
		example.c -o example $(pkg-config --cflags --libs libstrata)
	mkdir migrations
	echo 'CREATE TABLE t (id int);' >migrations/1_t.sql
	export LD_LIBRARY_PATH=$DEST/usr/lib
	run ./example "sqlite:$PWD/app.db" migrations
	assert_failure 1
	strata -d "sqlite:$PWD/app.db" run >/dev/null
	run ./example "sqlite:$PWD/app.db" migrations
	assert_success
	assert_output ""
}

@test "install: a C++ program builds with pkg-config and runs" {
	cat >app.cpp <<-'EOF'
	#include <cstdio>
	#include <cstdlib>
	#include <cstring>
	#include <strata.h>

	static_assert(STRATA_VERSION_NUMBER >= 0, "version number");

	int main()
	{
		struct strata_error err = STRATA_ERROR_INIT;
		char *shown = strata_url_redact("postgres://app:secret@db/app");
		int rc = std::strcmp(strata_version(), STRATA_VERSION) == 0 &&
		                         shown && !std::strstr(shown, "secret")
		                 ? 0
		                 : 1;

		std::printf("%s %s\n", strata_version(), shown);
		std::free(shown);
		strata_error_release(&err);
		return rc;
	}
	EOF
	# shellcheck disable=SC2046,SC2086
	g++ -std=c++11 -Wall -Wextra -pedantic -Werror ${STRATA_SAN_FLAGS:-} \
		app.cpp -o app $(pkg-config --cflags --libs libstrata)
	LD_LIBRARY_PATH=$DEST/usr/lib run ./app
	assert_success
	assert_output "$MAJOR.$MINOR.$PATCH postgres://app:***@db/app"
}

@test "install: a program links libstrata.a with pkg-config --static" {
	write_app
	local libs
	libs=$(pkg-config --static --libs libstrata)
	# the archive rather than the shared library beside it
	libs=${libs/-lstrata/-l:libstrata.a}
	# shellcheck disable=SC2086
	gcc -std=c11 ${STRATA_SAN_FLAGS:-} app.c -o app \
		$(pkg-config --cflags libstrata) $libs
	run readelf -d app
	refute_output --partial libstrata
	run ./app migrations
	assert_success
	assert_line --regexp '^applied 2, lint findings [1-9]'
}

@test "install: the header compiles as C11 and as C++11, pedantic" {
	local h=$DEST/usr/include/strata.h
	run gcc -x c -std=c11 -Wall -Wextra -pedantic -Werror -fsyntax-only "$h"
	assert_success
	run g++ -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -fsyntax-only "$h"
	assert_success
	# STRATA_ERROR_INIT and the other initialisers, in both languages
	printf '%s\n' '#include <strata.h>' \
		'int main(void) { struct strata_error e = STRATA_ERROR_INIT;' \
		'struct strata_retention r = STRATA_RETENTION_INIT;' \
		'struct strata_run_options o = STRATA_RUN_OPTIONS_INIT;' \
		'(void)r; (void)o; strata_error_release(&e); return 0; }' >init.c
	run gcc -std=c11 -Wall -Wextra -pedantic -Werror -I"$DEST/usr/include" -fsyntax-only init.c
	assert_success
	run g++ -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -I"$DEST/usr/include" -fsyntax-only init.c
	assert_success
}

# The options of a rendered page, one a line as `strata help
# --list-options` prints them: "--long ARG", then "-x ARG".
page_options() {
	MANWIDTH=200 man -l "$1" 2>/dev/null | col -b | awk '
		/^[A-Z]/ { in_opts = ($0 == "OPTIONS" || $0 == "GLOBAL OPTIONS"); next }
		in_opts && /^       (-[A-Za-z], )?--[a-z]/ {
			sub(/^ +/, "")
			short = ""
			if (substr($0, 1, 2) != "--") { short = substr($0, 1, 2); $0 = substr($0, 5) }
			print
			arg = index($0, " ") ? substr($0, index($0, " ")) : ""
			if (short != "") print short arg
		}'
}

@test "install: the manual pages render, strata-run(1) as strata run --help says" {
	local man=$DEST/usr/share/man p
	for p in man1/strata.1 man1/strata-run.1 man1/strata-backup.1 \
		man5/strata.conf.5 man3/libstrata.3; do
		run --separate-stderr man --warnings -l "$man/$p"
		assert_success
		assert_equal "$stderr" ""
		assert_line --regexp '^ *NAME$'
	done
	# the same options as the help, global ones included
	run diff <(strata help --list-options run | sort) \
		<(page_options "$man/man1/strata-run.1" | sort)
	assert_success
	# a family's page holds its subcommands' options too
	run bash -c "MANWIDTH=200 man -l '$man/man1/strata-backup.1' | col -b"
	assert_line --regexp '^ +strata backup verify$'
	assert_line --regexp '^ +--restore-test$'
	assert_line --regexp '^ +--keep-daily N$'
	# and the same synopsis
	local synopsis
	synopsis=$(strata revert --help | sed '/^$/q' |
		sed 's/^usage: //; s/^ *//' | paste -sd' ' | sed 's/ *$//')
	run bash -c "MANWIDTH=300 man -l '$man/man1/strata-revert.1' | col -b"
	assert_line "       $synopsis"
	assert_line --regexp '^ +--count N$'
	assert_line --regexp '^[[:space:]]+revert the newest N migrations'
	# strata.conf(5) names every key strata.conf accepts
	run bash -c "MANWIDTH=200 man -l '$man/man5/strata.conf.5' | col -b"
	local key
	for key in environment database source table lock_wait lock_timeout \
		lock_probe concurrent_lock_timeout statement_timeout retries \
		warn_after progress_interval connect_timeout max_file_size \
		backup backup_dir; do
		assert_line --regexp "^ +$key = "
	done
}

@test "install: bash completes commands, subcommands, options and values" {
	run bash -c '
		source "$1"
		complete -p strata
		t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		      COMPREPLY=(); _strata; echo "${COMPREPLY[*]}"; }
		t strata ru
		t strata -d sqlite:x.db ru
		t strata backup ""
		t strata run --dry
		t strata migrate add --sim
		t strata --format ""
		t strata db ""' _ "$DEST/usr/share/bash-completion/completions/strata"
	assert_success
	assert_equal "${lines[0]}" "complete -o filenames -F _strata strata"
	assert_equal "${lines[1]}" "run"
	assert_equal "${lines[2]}" "run"
	assert_equal "${lines[3]}" "verify list prune"
	assert_equal "${lines[4]}" "--dry-run"
	assert_equal "${lines[5]}" "--simple"
	assert_equal "${lines[6]}" "text json"
	assert_equal "${lines[7]}" "create drop reset setup"
	# zsh reads its file, and offers the same (compadd and _files stubbed:
	# zsh filters by the word typed itself)
	local zfile=$DEST/usr/share/zsh/site-functions/_strata
	run zsh -n "$zfile"
	assert_success
	run zsh -c '
		zfile=$1
		compadd() { shift; print -r -- "$*"; }
		_files() { print -r -- "files $*"; }
		t() { words=("$@"); CURRENT=$#; source "$zfile"; }
		t strata ru
		t strata backup ""
		t strata migrate add --sim
		t strata --format ""
		t strata run --source ""' zsh "$zfile"
	assert_success
	assert_line --index 0 --regexp '^run revert status '
	assert_line --index 1 "verify list prune"
	assert_line --index 2 --regexp '^--reversible -r --simple '
	assert_line --index 3 "text json"
	assert_line --index 4 "files -/"
}

@test "uninstall: removes every file install put" {
	local dest=$BATS_TEST_TMPDIR/dest
	make -s -C "$STRATA_TEST_ROOT" install NO_BUILD=1 BUILD="$STRATA_BUILD" \
		DESTDIR="$dest" PREFIX=/usr
	[[ -n $(find "$dest" -type f) ]]
	run make -s -C "$STRATA_TEST_ROOT" uninstall BUILD="$STRATA_BUILD" \
		DESTDIR="$dest" PREFIX=/usr
	assert_success
	run find "$dest" ! -type d
	assert_success
	assert_output ""
}
