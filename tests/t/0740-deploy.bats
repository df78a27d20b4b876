#!/usr/bin/env bats
# docs/deploy: the alerting rules pass promtool and use only metrics that
# strata serve exposes (so the two cannot drift apart), the systemd unit
# passes systemd-analyze, and every strata option the examples use is one
# strata takes. And /health's drift: null, "not known", until drift is.

load lib
load serve

DEPLOY=$STRATA_TEST_ROOT/docs/deploy

setup_file() {
	export SERVE_FILE_PID=$$
	pg_start
}

teardown() {
	serve_kill
}

two_migrations() {
	write_migration 1_users.sql "CREATE TABLE users (id int);"
	write_migration 2_orders.sql "CREATE TABLE orders (id int);"
}

@test "serve: /health and /history.json say drift null (not known), whatever the state; no drift metric" {
	two_migrations
	serve_start --interval 0
	get health
	[[ $(jq -c 'has("drift"), .drift' <<<"$BODY") == $'true\nnull' ]] || fail "pending: $BODY"
	strata run
	get health
	[[ $HTTP_CODE == 200 ]] || fail "HTTP $HTTP_CODE: $BODY"
	[[ $(jq -c 'has("drift"), .drift' <<<"$BODY") == $'true\nnull' ]] || fail "up to date: $BODY"
	get history.json
	[[ $(jq -c '.health | has("drift"), .drift' <<<"$BODY") == $'true\nnull' ]] || fail "$BODY"
	get metrics
	[[ $BODY != *drift* ]] || fail "a drift metric: $BODY"
	serve_stop
	# a database that cannot be read: unknown too
	DATABASE_URL="sqlite:$BATS_TEST_TMPDIR/none.db?mode=rw" serve_start --interval 0
	get health
	[[ $HTTP_CODE == 503 ]] || fail "HTTP $HTTP_CODE: $BODY"
	[[ $(jq -c 'has("drift"), .drift' <<<"$BODY") == $'true\nnull' ]] || fail "unreadable: $BODY"
	serve_stop
}

# The metric names an expression reads: identifiers that are neither a
# function, a keyword, a label (inside {} or on()/by()), a duration nor
# part of a string.
rule_metrics() {
	python3 - "$1" <<'PY'
import re, sys, yaml
keywords = {"and", "or", "unless", "on", "ignoring", "by", "without",
            "bool", "offset", "group_left", "group_right", "inf", "nan",
            # aggregations may take their grouping before the parenthesis
            "sum", "min", "max", "avg", "group", "stddev", "stdvar",
            "count", "count_values", "bottomk", "topk", "quantile"}
names = set()
for group in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for rule in group["rules"]:
        expr = rule["expr"]
        expr = re.sub(r'"(\\.|[^"\\])*"', "", expr)
        expr = re.sub(r"\{[^}]*\}", "", expr)
        expr = re.sub(r"\[[^\]]*\]", "", expr)
        expr = re.sub(r"\b(on|ignoring|by|without|group_left|group_right)\s*\([^)]*\)", r"\1", expr)
        for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?", expr):
            name = m.group(0)
            if name.endswith("(") or name.rstrip() in keywords:
                continue
            names.add(name.strip())
for n in sorted(names):
    print(n)
PY
}

@test "deploy: the alerting rules pass promtool, and every metric they read is one strata serve exposes" {
	require_tool promtool
	local rules=$DEPLOY/prometheus/strata-rules.yml
	run promtool check rules "$rules"
	assert_success
	assert_output --partial "SUCCESS"
	# every family serve has: applies, a failure, a backup
	two_migrations
	strata run
	write_migration 3_broken.sql "SELECT nope FROM nowhere;"
	run strata run
	assert_failure 1
	strata backup
	serve_start --interval 0
	get metrics
	serve_stop
	local exposed used missing
	exposed=$(grep -v '^#' "$BODY_FILE" | sed 's/[{ ].*//' | sort -u)
	grep -qx strata_backup_newest_age_seconds <<<"$exposed" || fail "no backup metric: $BODY"
	used=$(rule_metrics "$rules")
	# the extraction finds what the rules read
	grep -qx strata_up <<<"$used" || fail "strata_up not found in the rules: $used"
	grep -qx strata_migration_duration_seconds_bucket <<<"$used" || fail "$used"
	# `up` is Prometheus' own: whether it could scrape serve at all
	missing=$(comm -23 <(grep -vx up <<<"$used" | sort -u) <(echo "$exposed"))
	[[ -z $missing ]] || fail "the rules read metrics serve does not expose: $missing"
}

@test "deploy: the alerting rules fire when they should and not before (promtool test rules)" {
	require_tool promtool
	cd "$DEPLOY/prometheus"
	run promtool test rules strata-rules.test.yml
	assert_success
	assert_output --partial SUCCESS
}

@test "deploy: the name check catches a metric serve does not expose" {
	cat >rules.yml <<'EOF'
groups:
  - name: t
    rules:
      - alert: A
        expr: sum by (job) (rate(strata_serve_reads_total{job="x"}[5m])) > 0 and on(instance) strata_no_such_metric == 1
EOF
	run rule_metrics rules.yml
	assert_success
	assert_output $'strata_no_such_metric\nstrata_serve_reads_total'
}

@test "deploy: the systemd unit passes systemd-analyze verify, and its exposure stays low" {
	require_tool systemd-analyze
	# verify wants the binary where ExecStart says: this build's
	sed "s|/usr/local/bin/strata|$STRATA_BIN|" \
		"$DEPLOY/systemd/strata-serve.service" >strata-serve.service
	grep -q "^ExecStart=$STRATA_BIN serve " strata-serve.service
	run systemd-analyze verify --man=no ./strata-serve.service
	assert_success
	# unknown keys are only warned about: there must be no warning at all
	assert_output ""
	# exposure on systemd's scale of 0 to 100, shown divided by 10: at
	# most 2.0 (it is 1.2; 9.6 for a unit without hardening)
	run systemd-analyze security --offline=true --threshold=20 ./strata-serve.service
	assert_success
	assert_output --partial "Overall exposure level for strata-serve.service: 1."
	# a misspelt key is caught the same way
	sed 's/^ProtectSystem=/ProtectSystm=/' strata-serve.service >bad.service
	run systemd-analyze verify --man=no ./bad.service
	assert_output --partial "ProtectSystm"
}

# Each strata command line of the examples as one line: COMMAND OPTIONS.
deploy_command_lines() {
	python3 - "$DEPLOY" <<'PY'
import glob, shlex, sys, yaml
root = sys.argv[1]
for path in sorted(glob.glob(root + "/kubernetes/*.yaml")):
    for doc in yaml.safe_load_all(open(path)):
        assert doc["apiVersion"] and doc["kind"], path
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        for c in pod.get("initContainers", []) + pod.get("containers", []):
            if c.get("command") == ["strata"]:
                print(path, " ".join(c["args"]))
for path in sorted(glob.glob(root + "/systemd/*.service")):
    for line in open(path):
        if line.startswith("ExecStart="):
            words = shlex.split(line[len("ExecStart="):])
            print(path, " ".join(words[1:]))
PY
}

@test "deploy: the Kubernetes manifests are YAML, and every strata option the examples use is one strata takes" {
	require_tool python3
	run deploy_command_lines
	assert_success
	local lines=$output path cmd word n=0
	# the Job runs, the gate checks, serve serves (twice: Kubernetes, systemd)
	[[ $(grep -c ' run ' <<<"$lines") == 1 ]] || fail "$lines"
	[[ $(grep -c ' check --wait ' <<<"$lines") == 1 ]] || fail "$lines"
	[[ $(grep -c ' serve ' <<<"$lines") == 2 ]] || fail "$lines"
	while read -r path cmd rest; do
		local accepted
		accepted=$(strata help --list-options "$cmd" | sed 's/ .*//')
		for word in $rest; do
			[[ $word == --* ]] || continue
			grep -qx -- "$word" <<<"$accepted" || fail "$path: strata $cmd takes no $word"
			n=$((n + 1))
		done
	done <<<"$lines"
	((n >= 8)) || fail "only $n options checked: $lines"
}
