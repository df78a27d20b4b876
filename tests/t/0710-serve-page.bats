#!/usr/bin/env bats
# strata serve's page in a real browser (headless Chromium): the history
# and the chart are there, hostile text from the files and the database
# is shown as text, and a screenshot is not blank. STRATA_SERVE_SCREENSHOT
# =PATH keeps the screenshot (the README's picture comes from here).

load lib
load serve

setup_file() {
	export SERVE_FILE_PID=$$
	pg_start
}

teardown() {
	serve_kill
}

chromium_run() {
	timeout 90 chromium --headless --no-sandbox --disable-gpu \
		--hide-scrollbars --user-data-dir="$BATS_TEST_TMPDIR/chromium" \
		"$@" 2>>"$BATS_TEST_TMPDIR/chromium.log"
}

# How many colours a PNG (8-bit RGB or RGBA, as Chromium writes them) has.
png_colours() {
	python3 - "$1" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), "unexpected PNG type %d/%d" % (depth, ctype)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, colours, i = bytearray(stride), set(), 0
for _ in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[x] = (line[x] + pr) & 255
    for x in range(0, stride, bpp):
        colours.add(bytes(line[x:x + 3]))
    prev = line
print(len(colours))
EOF
}

# A history with something of everything: applies, a failure whose error
# quotes markup, a description that is markup, and an audit row edited by
# someone with write access to the table.
hostile_history() {
	write_migration 1_users.sql "CREATE TABLE users (id int);"
	write_migration 2_orders.sql "CREATE TABLE orders (id int); SELECT pg_sleep(0.05);"
	write_migration "3_<img src=x onerror=alert(3)>.sql" "SELECT 1;"
	strata run
	write_migration 4_broken.sql "SELECT '<script>alert(1)</script>'::int;"
	run strata run
	assert_failure 1
	psql_db "UPDATE _strata_audit SET description = '<script>alert(2)</script>', host = '<b>host</b>' WHERE version = 1"
}

@test "serve page: Chromium shows the history and the chart; markup from the database is text" {
	require_tool chromium
	hostile_history
	serve_start --interval 60s
	get ""
	[[ $HTTP_CODE == 200 ]] || fail "HTTP $HTTP_CODE"
	run chromium_run --dump-dom "$SERVE_URL/"
	assert_success
	local dom=$output
	# the state, what is not applied, the chart, the audit trail
	grep -q '1 migration pending' <<<"$dom" || fail "no state: $dom"
	grep -q '<table id="pending"' <<<"$dom" || fail "no pending table: $dom"
	grep -q '<td>4_broken\|migrations/4_broken.sql' <<<"$dom" || fail "4 is not listed as pending: $dom"
	grep -q '<svg id="durations"' <<<"$dom" || fail "no chart: $dom"
	[[ $(grep -o '<circle' <<<"$dom" | wc -l) == 4 ]] || fail "not 4 points (3 applies, 1 failure): $dom"
	grep -q '<table id="audit"' <<<"$dom" || fail "no audit table: $dom"
	grep -q '>failure<' <<<"$dom" || fail "the failure is not shown: $dom"
	grep -q '>22P02<' <<<"$dom" || fail "no SQLSTATE: $dom"
	# markup is text: no element came from the database or a file name
	grep -q '&lt;script&gt;alert(2)&lt;/script&gt;' <<<"$dom" || fail "description not shown as text: $dom"
	grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' <<<"$dom" || fail "error not shown as text: $dom"
	grep -q '&lt;img src=x onerror=alert(3)&gt;' <<<"$dom" || fail "file name not shown as text: $dom"
	grep -q '&lt;b&gt;host&lt;/b&gt;' <<<"$dom" || fail "host not shown as text: $dom"
	! grep -qi '<script\|<img\|<b>' <<<"$dom" || fail "an element from untrusted text: $dom"
	# and the page would not run a script even so, nor fetch anything
	run curl -sS -D - -o /dev/null "$SERVE_URL/"
	assert_output --partial "Content-Security-Policy: default-src 'none'"
	! grep -qiE '<script|<link|src=\"http|href=\"http' "$BODY_FILE" || fail "a script or an asset from the network: $BODY"
	# history.json has the same data
	get history.json
	[[ $(jq '.audit | length' <<<"$BODY") == 4 ]] || fail "$BODY"
	[[ $(jq -r '.audit[] | select(.version == 1) | .description' <<<"$BODY") == '<script>alert(2)</script>' ]] || fail "$BODY"
	[[ $(jq -r '.health.migrations_pending' <<<"$BODY") == 1 ]] || fail "$BODY"
	serve_stop
}

@test "serve page: a screenshot at a phone's width is not blank" {
	require_tool chromium
	hostile_history
	serve_start --interval 60s
	local png=$BATS_TEST_TMPDIR/page.png
	run chromium_run --window-size=390,1400 --screenshot="$png" "$SERVE_URL/"
	assert_success
	[[ -s $png ]] || fail "no screenshot: $(cat "$BATS_TEST_TMPDIR/chromium.log")"
	run png_colours "$png"
	assert_success
	((output > 16)) || fail "a blank page: $output colours"
	if [[ -n ${STRATA_SERVE_SCREENSHOT:-} ]]; then
		chromium_run --window-size=1100,1000 --screenshot="$STRATA_SERVE_SCREENSHOT" "$SERVE_URL/"
	fi
	serve_stop
}

@test "serve page: SQLite; a database that cannot be read says so, then the state once it can" {
	sqlite_db
	write_migration 1_users.sql "CREATE TABLE users (id int);"
	# no database file yet: serve only reads, and creates nothing
	serve_start --interval 0
	get ""
	[[ $HTTP_CODE == 200 ]] || fail "HTTP $HTTP_CODE"
	grep -q 'Cannot read the migration state' <<<"$BODY" || fail "$BODY"
	grep -q 'class="state error"' <<<"$BODY" || fail "$BODY"
	[[ ! -e $TEST_SQLITE ]] || fail "serve created the database"
	strata run
	get ""
	grep -q 'Up to date' <<<"$BODY" || fail "$BODY"
	grep -q 'class="state ok"' <<<"$BODY" || fail "$BODY"
	grep -q '<circle' <<<"$BODY" || fail "$BODY"
	serve_stop
}
