#!/usr/bin/env bats
# Connecting is bounded: a server that accepts and never answers, or
# answers the startup and then hangs in authentication, fails the command
# with exit 7 after the connect timeout (10 s; --connect-timeout,
# connect_timeout in strata.conf; the URL's connect_timeout or
# PGCONNECT_TIMEOUT wins, as libpq has it), naming host and port, never
# the password.

load lib

# A fake server on a free loopback port: `silent` accepts and never says a
# word; `auth` answers the SSL request and asks for an MD5 password, then
# never answers it. FAKE_PORT, FAKE_PID.
start_fake() {
	# a source to read: an empty one stops a command before it connects
	write_migration 1_t.sql "SELECT 1;"
	cat >fake.py <<'PY'
import os, socket, struct, sys, threading

mode, portfile = sys.argv[1], sys.argv[2]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
held = []


def recvall(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def auth(c):
    try:
        while True:
            n = struct.unpack("!I", recvall(c, 4))[0]
            code = struct.unpack("!I", recvall(c, n - 4)[:4])[0]
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
                c.sendall(b"N")
                continue
            break
        c.sendall(b"R" + struct.pack("!II", 12, 5) + b"salt")
        while c.recv(4096):
            pass
    except (EOFError, OSError):
        pass


while True:
    c, _ = srv.accept()
    held.append(c)
    if mode == "auth":
        threading.Thread(target=auth, args=(c,), daemon=True).start()
PY
	rm -f fake.port
	python3 fake.py "$1" fake.port &
	FAKE_PID=$!
	# python's start-up is slow on a busy machine
	for _ in $(seq 1 400); do
		[[ -s fake.port ]] && break
		sleep 0.05
	done
	[[ -s fake.port ]] || fail "the fake server did not start"
	FAKE_PORT=$(cat fake.port)
}

teardown() {
	if [[ -n ${FAKE_PID:-} ]]; then
		kill "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
}

# run strata ARGS, STRATA_MS its wall time
timed() {
	local t0
	t0=$(date +%s%N)
	run -7 timeout 30 strata "$@"
	STRATA_MS=$((($(date +%s%N) - t0) / 1000000))
}

assert_names_server() {
	assert_output --partial "127.0.0.1"
	assert_output --partial "$FAKE_PORT"
	assert_output --partial "timeout expired"
	refute_output --partial "s3cret"
}

@test "connect timeout: a server that accepts and never answers: exit 7 after --connect-timeout" {
	start_fake silent
	timed -d "postgresql://app:s3cret@127.0.0.1:$FAKE_PORT/app" --connect-timeout 1 status
	echo "$output"
	# libpq waits at least 2 s
	((STRATA_MS >= 900 && STRATA_MS < 3500)) || fail "took ${STRATA_MS} ms"
	assert_names_server
	assert_output --partial "could not connect to 'postgresql://app:***@127.0.0.1:$FAKE_PORT/app'"
}

@test "connect timeout: a server that hangs in authentication: exit 7, run and a keyword string too" {
	start_fake auth
	timed -d "host=127.0.0.1 port=$FAKE_PORT user=app password=s3cret dbname=app" --connect-timeout 2 run
	echo "$output"
	((STRATA_MS >= 900 && STRATA_MS < 3500)) || fail "took ${STRATA_MS} ms"
	assert_names_server
}

@test "connect timeout: 10 s by default" {
	start_fake silent
	timed -d "postgresql://app@127.0.0.1:$FAKE_PORT/app" check
	echo "$output"
	# libpq counts whole seconds of the wall clock: 9 s when a second
	# ticks between its start and its wait; a busy machine adds some
	((STRATA_MS >= 8500 && STRATA_MS < 16000)) || fail "took ${STRATA_MS} ms"
	assert_names_server
}

@test "connect timeout: the URL's connect_timeout and PGCONNECT_TIMEOUT win over --connect-timeout; strata.conf sets it" {
	start_fake silent
	timed -d "postgresql://app@127.0.0.1:$FAKE_PORT/app?connect_timeout=2" --connect-timeout 20 status
	((STRATA_MS < 3500)) || fail "URL: took ${STRATA_MS} ms"
	assert_names_server
	PGCONNECT_TIMEOUT=2 timed -d "postgresql://app@127.0.0.1:$FAKE_PORT/app" --connect-timeout 20 status
	((STRATA_MS < 3500)) || fail "PGCONNECT_TIMEOUT: took ${STRATA_MS} ms"
	assert_names_server
	printf '[strata]\nconnect_timeout = 2s\n' >strata.conf
	timed -d "postgresql://app@127.0.0.1:$FAKE_PORT/app" status
	((STRATA_MS < 3500)) || fail "strata.conf: took ${STRATA_MS} ms"
	assert_names_server
	# the command line wins over strata.conf
	printf '[strata]\nconnect_timeout = 20s\n' >strata.conf
	timed -d "postgresql://app@127.0.0.1:$FAKE_PORT/app" --connect-timeout 2 status
	((STRATA_MS < 3500)) || fail "--connect-timeout over strata.conf: took ${STRATA_MS} ms"
	printf '[strata]\nconnect_timeout = soon\n' >strata.conf
	run strata -d "postgresql://app@127.0.0.1:$FAKE_PORT/app" status
	assert_failure 2
	assert_output --partial "connect_timeout in strata.conf line 2 wants a duration such as 10s (0: forever), not 'soon'"
	rm strata.conf
	run strata --connect-timeout soon status
	assert_failure 2
}

@test "connect timeout: a real server still connects; SIGINT while connecting exits at once" {
	write_migration 1_a.sql "CREATE TABLE a (id int);"
	strata --connect-timeout 2 run
	start_fake silent
	env --default-signal strata -d "postgresql://app@127.0.0.1:$FAKE_PORT/app" status >status.out 2>&1 &
	local pid=$! rc=0 t0
	sleep 0.5
	t0=$(date +%s%N)
	kill -INT "$pid"
	wait "$pid" || rc=$?
	assert_equal "$rc" 130
	(((($(date +%s%N) - t0) / 1000000) < 500)) || fail "exit took too long"
	grep -q "^strata: interrupted while connecting$" status.out
}
