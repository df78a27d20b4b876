#!/usr/bin/env bash
# Golden tests of the statement splitter, as TAP: each
# tests/golden/split/NAME.sql is dumped by $STRATA_BUILD/tests/split-dump and
# compared byte for byte with NAME.out. With STRATA_GOLDEN_UPDATE=1 the .out
# files are rewritten instead (review the diff like code). Exits non-zero
# when any case fails.
set -u

here=$(cd "$(dirname "$0")" && pwd)
dump=${STRATA_BUILD:?STRATA_BUILD must name the build directory}/tests/split-dump
update=${STRATA_GOLDEN_UPDATE:-}

if [ ! -x "$dump" ]; then
	echo "Bail out! $dump is not built"
	exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

shopt -s nullglob
cases=("$here"/split/*.sql)
echo "1..${#cases[@]}"

n=0 failed=0
for sql in "${cases[@]}"; do
	n=$((n + 1))
	name=$(basename "$sql" .sql)
	want=${sql%.sql}.out
	"$dump" "$sql" >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ "$status" -ne 0 ] || [ -s "$tmp/err" ]; then
		echo "not ok $n - $name (split-dump exited $status)"
		sed 's/^/# /' "$tmp/err"
		failed=$((failed + 1))
		continue
	fi
	if [ -n "$update" ]; then
		if cmp -s "$tmp/out" "$want"; then
			echo "ok $n - $name"
		else
			cp "$tmp/out" "$want"
			echo "ok $n - $name # updated"
		fi
	elif [ ! -f "$want" ]; then
		echo "not ok $n - $name (no ${want##*/}: run make golden-update)"
		failed=$((failed + 1))
	elif cmp -s "$want" "$tmp/out"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		diff -u --label "$name.out (expected)" --label "$name.out (actual)" \
			"$want" "$tmp/out" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done

[ "$failed" -eq 0 ]
