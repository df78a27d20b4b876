#!/usr/bin/env bash
# Golden tests, as TAP: text in, text out, compared byte for byte.
#
#   split/NAME.sql  -> NAME.out  $STRATA_BUILD/tests/split-dump: the splitter
#   lint/NAME.sql   -> NAME.out  $STRATA_BUILD/tests/lint-dump: the linter,
#                                with the arguments in NAME.args if any
#
# For the linter, a case named after a rule must be flagged by it
# (lint/RULE.sql shows [RULE]) and RULE-ok.sql must not; every rule has
# both, and a page docs/lint/RULE.md. With STRATA_GOLDEN_UPDATE=1 the .out
# files are rewritten instead (review the diff like code); the rule checks
# still apply. Exits non-zero when any case fails.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${STRATA_BUILD:?STRATA_BUILD must name the build directory}
update=${STRATA_GOLDEN_UPDATE:-}

for tool in split-dump lint-dump; do
	if [ ! -x "$build/tests/$tool" ]; then
		echo "Bail out! $build/tests/$tool is not built"
		exit 1
	fi
done

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

shopt -s nullglob
split_cases=("$here"/split/*.sql)
lint_cases=("$here"/lint/*.sql)
mapfile -t rules < <("$build/tests/lint-dump" --list-rules | cut -d' ' -f1)
echo "1..$((${#split_cases[@]} + ${#lint_cases[@]} + 1))"

n=0 failed=0

is_rule() {
	local r
	for r in "${rules[@]}"; do
		[ "$r" = "$1" ] && return 0
	done
	return 1
}

# compare NAME WANT: $tmp/out against WANT (or update it)
compare() {
	local name=$1 want=$2
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
}

# ran NAME STATUS: whether the dump ran cleanly
ran() {
	if [ "$2" -ne 0 ] || [ -s "$tmp/err" ]; then
		echo "not ok $n - $1 (dump exited $2)"
		sed 's/^/# /' "$tmp/err"
		failed=$((failed + 1))
		return 1
	fi
}

for sql in "${split_cases[@]}"; do
	n=$((n + 1))
	name=split/$(basename "$sql" .sql)
	"$build/tests/split-dump" "$sql" >"$tmp/out" 2>"$tmp/err"
	ran "$name" $? || continue
	compare "$name" "${sql%.sql}.out"
done

for sql in "${lint_cases[@]}"; do
	n=$((n + 1))
	base=$(basename "$sql" .sql)
	name=lint/$base
	args=()
	if [ -f "${sql%.sql}.args" ]; then
		read -r -a args <"${sql%.sql}.args"
	fi
	(cd "$here/lint" && "$build/tests/lint-dump" "${args[@]}" "$base.sql") \
		>"$tmp/out" 2>"$tmp/err"
	ran "$name" $? || continue
	if is_rule "$base" && ! grep -qF "[$base]" "$tmp/out"; then
		echo "not ok $n - $name (rule $base does not flag it)"
		sed 's/^/# /' "$tmp/out"
		failed=$((failed + 1))
		continue
	fi
	if [ "${base%-ok}" != "$base" ] && is_rule "${base%-ok}" &&
		grep -qF "[${base%-ok}]" "$tmp/out"; then
		echo "not ok $n - $name (rule ${base%-ok} flags it)"
		sed 's/^/# /' "$tmp/out"
		failed=$((failed + 1))
		continue
	fi
	compare "$name" "${sql%.sql}.out"
done

n=$((n + 1))
missing=()
for r in "${rules[@]}"; do
	for f in "$here/lint/$r.sql" "$here/lint/$r-ok.sql" "$root/docs/lint/$r.md"; do
		[ -f "$f" ] || missing+=("${f#"$root"/}")
	done
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "ok $n - every lint rule has a golden pair and a page"
else
	echo "not ok $n - every lint rule has a golden pair and a page"
	printf '# missing: %s\n' "${missing[@]}"
	failed=$((failed + 1))
fi

[ "$failed" -eq 0 ]
