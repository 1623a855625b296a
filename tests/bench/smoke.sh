#!/bin/sh
# smoke.sh - a short run of opbench against a fresh outpost, so the
# benchmark tool never rots: a few hundred messages over reused
# connections, then some with reconnects and with one connection per
# message, and with connections carried by fewer threads (-T). Every
# message must come back with both signatures of
# tests/proto/conf/dkim.conf (RSA and Ed25519 for example.org), opbench
# must exit 0, and its RESULT line must parse. No speed is asserted:
# timing is never a pass/fail test. About 2 s.
srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
OPBENCH=${OPBENCH:-$top_builddir/tests/bench/opbench}
. "$srcdir/tests/proto/daemon.sh"

[ -x "$OPBENCH" ] || { echo "FAIL: $OPBENCH not built"; exit 1; }
proto_start dkim || exit 1
fail=0

# field NAME FILE: the value of NAME= on the RESULT line of FILE.
field() {
	sed -n "s/^RESULT.* $1=\([^ ]*\).*/\1/p" "$2"
}

# expect WHAT GOT WANT
expect() {
	if [ "$2" = "$3" ]; then
		echo "ok: $1: $2"
	else
		echo "FAIL: $1: got '$2', wanted '$3'"
		fail=1
	fi
}

# smoke NAME N OPBENCH_ARGS...: run N messages, check the RESULT line.
smoke() {
	name=$1 n=$2
	shift 2
	"$OPBENCH" -s "unix:$dir/outpost.sock" -f "$dir/m.eml" -n "$n" --expect-sigs 2 \
		--pid "$pid" "$@" >"$dir/$name.out" 2>&1
	expect "$name: opbench exit status" $? 0
	sed 's/^/    /' "$dir/$name.out"
	grep -Eq '^RESULT msgs=[0-9]+ secs=[0-9.]+ rate=[0-9.]+ p50_us=[0-9]+ p99_us=[0-9]+ ' \
		"$dir/$name.out"
	expect "$name: RESULT line parses" $? 0
	expect "$name: messages done" "$(field msgs "$dir/$name.out")" "$n"
	expect "$name: continue" "$(field continue "$dir/$name.out")" "$n"
	expect "$name: errors" "$(field error "$dir/$name.out")" 0
	expect "$name: DKIM-Signature insertions" "$(field sigs "$dir/$name.out")" $((2 * n))
	expect "$name: messages without both signatures" "$(field wrong_sigs "$dir/$name.out")" 0
	case $(field cpu_us_per_msg "$dir/$name.out") in
	[0-9]*) echo "ok: $name: the milter's CPU time read from /proc" ;;
	*) echo "FAIL: $name: no CPU figure for pid $pid"; fail=1 ;;
	esac
}

{
	printf 'From: Alice <alice@example.org>\nTo: Bob <bob@example.net>\n'
	printf 'Subject: opbench smoke\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n'
	printf 'Message-ID: <smoke@example.org>\nMIME-Version: 1.0\n'
	printf 'Content-Type: text/plain; charset=us-ascii\n\n'
	i=0
	while [ $i -lt 40 ]; do
		printf 'Line %02d of the smoke test body, long enough to look like text.\n' $i
		i=$((i + 1))
	done
} >"$dir/m.eml"

smoke reused 300 -c 2
smoke reconnect 60 -c 3 -k 7
# Threads share the messages unevenly: at least ceil(60 / 7) connections.
c=$(field conns_opened "$dir/reconnect.out")
if [ "${c:-0}" -ge 9 ] 2>/dev/null; then
	echo "ok: reconnect: connections opened: $c"
else
	echo "FAIL: reconnect: connections opened: got '$c', wanted at least 9"
	fail=1
fi
smoke one-per-message 40 -c 4 -k 1 --chunk 512
expect "one-per-message: connections opened" "$(field conns_opened "$dir/one-per-message.out")" 40
# Connections carried by fewer threads (-T): 8 on 2 threads, reconnecting,
# then 5 on one thread with a connection per message.
smoke carried 300 -c 8 -T 2 -k 50
smoke carried-one-per-message 30 -c 5 -T 1 -k 1
expect "carried-one-per-message: connections opened" "$(field conns_opened "$dir/carried-one-per-message.out")" 30

# A message the milter must not sign (external client): the check catches it.
"$OPBENCH" -s "unix:$dir/outpost.sock" -f "$dir/m.eml" -n 3 --client-addr 192.0.2.1 \
	--expect-sigs 2 >"$dir/unsigned.out" 2>&1
expect "unsigned: opbench exit status when signatures are missing" $? 3
expect "unsigned: messages without both signatures" "$(field wrong_sigs "$dir/unsigned.out")" 3

proto_stop || fail=1
exit $fail
