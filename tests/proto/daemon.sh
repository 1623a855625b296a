# daemon.sh - start and stop outpost for protocol tests (sourced by
# run-one.sh and by the t-*.sh protocol tests).
#
# proto_start NAME: copy tests/proto/conf/NAME.conf (and conf/NAME.d/*) into
# a private temp dir $dir with @DIR@ replaced, copy the test keys there
# (mode 0600) and write dns.txt with their public halves, start outpost on
# $dir/outpost.sock with its log in $dir/outpost.log, wait for the socket.
# @PORT@ in the config becomes $PROTO_PORT (a TCP port the test picked).
# Sets dir and pid.  Returns 0, or 1 with the log printed.
# proto_stop: SIGTERM outpost, wait, remove $dir; fails (1) when outpost's
# log holds a sanitizer or valgrind report (tests/valgrind-outpost.sh).
# Registered on EXIT by proto_start.

srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
OUTPOST=${OUTPOST:-$top_builddir/outpost}
MILTERCLIENT=${MILTERCLIENT:-$top_builddir/tests/proto/milterclient}
dir=
pid=

# proto_listening: whether outpost listens on $dir/outpost.sock.
proto_listening() {
	[ -S "$dir/outpost.sock" ] && [ -n "$(ss -Hlx "src $dir/outpost.sock" 2>/dev/null)" ]
}

proto_start() {
	local name=$1 conf_src=$srcdir/tests/proto/conf/$1.conf f i=0
	[ -f "$conf_src" ] || { echo "FAIL: no config $conf_src"; return 1; }
	dir=$(mktemp -d /tmp/outpost-proto.XXXXXX)
	trap proto_stop EXIT
	trap 'exit 130' INT TERM
	sed "s#@DIR@#$dir#g; s#@SRCDIR@#$srcdir#g; s#@PORT@#${PROTO_PORT:-9}#g" "$conf_src" >"$dir/outpost.conf"
	if [ -d "$srcdir/tests/proto/conf/$name.d" ]; then
		for f in "$srcdir/tests/proto/conf/$name.d"/*; do
			sed "s#@DIR@#$dir#g" "$f" >"$dir/$(basename "$f")"
		done
	fi
	# Test keys, private as outpost requires, and their public halves as
	# DNS would serve them, for verifiers that are not outpost (dns.txt).
	cp "$srcdir"/tests/data/keys/*.pem "$dir/" && chmod 600 "$dir"/*.pem
	proto_dns_txt >"$dir/dns.txt"
	mkdir "$dir/signed"
	"$OUTPOST" -f -c "$dir/outpost.conf" 2>"$dir/outpost.log" &
	pid=$!
	# Listening, not only there: between bind() and listen() the socket
	# file exists and refuses connections.
	while ! proto_listening && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	proto_listening && return 0
	echo "FAIL: outpost did not open $dir/outpost.sock; its log:"
	cat "$dir/outpost.log"
	return 1
}

# The test keys' TXT records at selectors rsa/rsa1024/ed of the test domains.
proto_dns_txt() {
	local d rsa rsa1024 ed
	rsa=$(openssl pkey -in "$dir/test-rsa2048.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
	rsa1024=$(openssl pkey -in "$dir/test-rsa1024.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
	ed=$(openssl pkey -in "$dir/test-ed25519.pem" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)
	for d in example.org example.com sub.example.org; do
		echo "rsa._domainkey.$d v=DKIM1; k=rsa; p=$rsa"
		echo "rsa1024._domainkey.$d v=DKIM1; k=rsa; p=$rsa1024"
		echo "ed._domainkey.$d v=DKIM1; k=ed25519; p=$ed"
	done
}

proto_stop() {
	local rc=0
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=
	fi
	if [ -n "$dir" ]; then
		if grep -qE "AddressSanitizer|runtime error|LeakSanitizer|VALGRIND-ERROR" "$dir/outpost.log"; then
			echo "FAIL: sanitizer or valgrind report in outpost's log:"
			cat "$dir/outpost.log"
			rc=1
		fi
		[ "${PROTO_KEEP:-0}" = 1 ] || rm -rf "$dir"
		dir=
	fi
	return $rc
}
