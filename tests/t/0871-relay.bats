#!/usr/bin/env bats
# bench/relay, the delaying TCP relay that bench/latency, bench/fleet and
# the pipeline's tests reach the server through: its round-trip counts,
# its delay, its memory under a reader that does not read, and many
# connections at once.

load lib

teardown() {
	relay_stop
}

relay_conninfo() {
	echo "host=127.0.0.1 port=$RELAY_PORT user=postgres dbname=$TEST_DB sslmode=disable gssencmode=disable"
}

@test "relay: a connection's round trips are the times the client waited for an answer" {
	relay_start 0
	run psql -XAtq "$(relay_conninfo)" -c 'SELECT 1' -c 'SELECT 2'
	assert_success
	assert_output $'1\n2'
	relay_settle
	# the startup packet, two queries and the Terminate message
	run grep -v '^open' "$RELAY_STATS"
	assert_output --regexp '^4 [1-9][0-9]* [1-9][0-9]*$'
}

@test "relay: each round trip waits the round-trip time" {
	local t0 t1 ms
	relay_start 200
	t0=$EPOCHREALTIME
	run psql -XAtq "$(relay_conninfo)" -c 'SELECT 1' -c 'SELECT 2'
	t1=$EPOCHREALTIME
	assert_success
	# three answers waited for (the startup's, then each query's)
	ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')
	echo "# 3 round trips of 200 ms: $ms ms" >&3
	((ms >= 600))
	((ms < 3000))
}

@test "relay: a client that does not read holds back the server's side, not the relay's memory" {
	local rss0 rss peak=0 want got
	relay_start 0
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$RELAY_PID/status")
	# 32 MB the client takes only after 2 s
	sql="COPY (SELECT g, repeat('x', 100) FROM generate_series(1, 300000) g) TO STDOUT"
	psql -Xq "$(relay_conninfo)" -c "$sql" |
		(sleep 2 && md5sum) >"$BATS_TEST_TMPDIR/through" &
	for _ in {1..15}; do
		sleep 0.1
		rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$RELAY_PID/status")
		((rss > peak)) && peak=$rss
	done
	wait $!
	echo "# relay RSS: $rss0 kB, at most $peak kB while the client stalled" >&3
	((peak - rss0 < 12288))
	want=$(psql -Xq -d "$TEST_DB" -c "$sql" | md5sum)
	got=$(cat "$BATS_TEST_TMPDIR/through")
	assert_equal "$got" "$want"
}

@test "relay: two dozen connections at once each keep their own count" {
	local i pids=()
	relay_start 10
	for i in {1..24}; do
		psql -XAtq "$(relay_conninfo)" -c "SELECT pg_sleep(0.2), $i" \
			>"$BATS_TEST_TMPDIR/out.$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	for i in {1..24}; do
		assert_equal "$(cat "$BATS_TEST_TMPDIR/out.$i")" "|$i"
	done
	relay_settle
	run grep -c '^3 ' "$RELAY_STATS"
	assert_output 24
}
