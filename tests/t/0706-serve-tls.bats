#!/usr/bin/env bats
# strata serve --tls-cert/--tls-key: HTTPS only, a certificate chain sent
# whole, and the files checked at start: one of the pair missing, a file
# that cannot be read, a key that is not one, encrypted or of another
# certificate, each an error naming the file.

load lib
load serve

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

# NAME.key and NAME.pem: a P-256 key and a certificate for 127.0.0.1,
# self-signed, or signed by CA (CA.key, CA.pem) when given
make_cert() {
	local name=$1 ca=${2:-} ext
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$name.key" 2>/dev/null
	ext="subjectAltName=IP:127.0.0.1,DNS:localhost"
	if [[ -z $ca ]]; then
		openssl req -x509 -new -key "$name.key" -subj "/CN=$name" -days 2 \
			-addext "$ext" -addext "basicConstraints=critical,CA:TRUE" \
			-out "$name.pem" 2>/dev/null
	else
		openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr" 2>/dev/null
		printf '%s\n' "$ext" "basicConstraints=critical,CA:TRUE" >"$name.ext"
		openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" \
			-CAcreateserial -days 2 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
	fi
}

@test "serve --tls-cert/--tls-key: HTTPS that curl --cacert verifies, and no plain HTTP" {
	require_tool openssl
	two_migrations
	strata run
	make_cert server
	serve_start --interval 0 --tls-cert server.pem --tls-key server.key
	[[ $SERVE_URL == https://127.0.0.1:* ]] || fail "serving $SERVE_URL"
	get health --cacert server.pem
	[[ $HTTP_CODE == 200 ]] || fail "HTTP $HTTP_CODE: $BODY"
	[[ $(jq -r .status <<<"$BODY") == ok ]] || fail "$BODY"
	get metrics --cacert server.pem
	grep -qx 'strata_migrations_applied 2' <<<"$BODY" || fail "$BODY"
	# a client that does not trust it stops at the handshake
	run curl -sS -o /dev/null "$SERVE_URL/health"
	assert_failure 60
	# plain HTTP on the same port gets no answer
	run curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://${SERVE_URL#https://}/health"
	assert_failure
	refute_output 200
	serve_stop
}

@test "serve --tls-cert: an intermediate certificate in the file reaches the client" {
	require_tool openssl
	two_migrations
	make_cert root
	make_cert intermediate root
	make_cert leaf intermediate
	cat leaf.pem intermediate.pem >chain.pem
	serve_start --interval 0 --tls-cert chain.pem --tls-key leaf.key
	get health --cacert root.pem
	[[ $HTTP_CODE == 503 ]] || fail "HTTP $HTTP_CODE: $BODY"
	serve_stop
	# the leaf alone does not verify against the root: the chain was needed
	serve_start --interval 0 --tls-cert leaf.pem --tls-key leaf.key
	run curl -sS -o /dev/null --cacert root.pem "$SERVE_URL/health"
	assert_failure 60
	serve_stop
}

@test "serve --tls-cert/--tls-key: credentials over TLS beyond loopback are not warned about" {
	require_tool openssl
	two_migrations
	make_cert server
	echo "bearer:tls-token-0123456789abcdef" >auth
	serve_start --listen 0.0.0.0:0 --auth-file auth --tls-cert server.pem --tls-key server.key
	local port=${SERVE_URL##*:}
	run curl -sS -o /dev/null -w '%{http_code}' --cacert server.pem \
		-H "Authorization: Bearer tls-token-0123456789abcdef" \
		"https://127.0.0.1:$port/metrics"
	assert_output 200
	serve_stop
	run cat "$SERVE_LOG"
	refute_output --partial "clear text"
	refute_output --partial warning
}

@test "serve --tls-cert/--tls-key: a missing half, unreadable files and a wrong key are errors naming the file" {
	require_tool openssl
	two_migrations
	make_cert server
	make_cert other
	run strata serve --tls-cert server.pem
	assert_failure 2
	assert_output --partial "--tls-cert and --tls-key go together: give --tls-key too"
	run strata serve --tls-key server.key
	assert_failure 2
	assert_output --partial "give --tls-cert too"
	run strata serve --tls-cert nowhere.pem --tls-key server.key
	assert_failure 2
	assert_output --partial "could not read the TLS certificate 'nowhere.pem': No such file or directory"
	run strata serve --tls-cert server.pem --tls-key nowhere.key
	assert_failure 2
	assert_output --partial "could not read the TLS key 'nowhere.key': No such file or directory"
	# a directory: it opens, and cannot be read
	mkdir adir
	run strata serve --tls-cert adir --tls-key server.key
	assert_failure 2
	assert_output --partial "'adir'"
	# the two swapped
	run strata serve --tls-cert server.key --tls-key server.pem
	assert_failure 2
	assert_output --partial "the TLS certificate 'server.key' holds no PEM certificate"
	run strata serve --tls-cert server.pem --tls-key server.pem
	assert_failure 2
	assert_output --partial "the TLS key 'server.pem' holds no unencrypted PEM private key"
	# another certificate's key
	run strata serve --tls-cert server.pem --tls-key other.key
	assert_failure 2
	assert_output --partial "the TLS key 'other.key' does not match the certificate 'server.pem'"
	# an encrypted key: refused, and no passphrase is asked for
	openssl pkey -in server.key -aes256 -passout pass:secret-phrase -out enc.key
	run timeout 10 strata serve --tls-cert server.pem --tls-key enc.key </dev/null
	assert_failure 2
	assert_output --partial "the TLS key 'enc.key' holds no unencrypted PEM private key"
	assert_output --partial "openssl pkey"
	# nothing was left listening by any of them
	[[ -z $(jobs -p) ]]
}

@test "serve --tls-cert: TCP probes and plain HTTP on the TLS port do not fill the log (each line at most once a minute)" {
	require_tool openssl
	two_migrations
	make_cert server
	serve_start --interval 0 --tls-cert server.pem --tls-key server.key
	local port=${SERVE_URL##*:} i
	# what a Kubernetes tcpSocket probe does: connect, close
	for i in $(seq 1 5); do
		(exec 5<>"/dev/tcp/127.0.0.1/$port") 3>&-
	done
	for i in $(seq 1 3); do
		curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$port/health" || true
	done
	get health --cacert server.pem
	[[ $HTTP_CODE == 503 ]] || fail "HTTP $HTTP_CODE: $BODY"
	serve_stop
	run grep ' strata: serve: ' "$SERVE_LOG"
	((${#lines[@]} >= 1)) || fail "no failed handshake logged: $(cat "$SERVE_LOG")"
	local repeated
	repeated=$(sed 's/^[^ ]* //' "$SERVE_LOG" | grep '^strata: serve: ' | sort | uniq -d)
	[[ -z $repeated ]] || fail "said more than once: $repeated"
}
