#!/bin/sh
# t-core-client-silent-mta-closed-after-timeout: with milter.timeout = 1s
# and a single worker thread (conf/workers.conf), outpost ends an MTA
# connection that sends nothing for the timeout, whether it sent nothing
# at all or stopped in the middle of a packet, and logs why; a connection
# that sends a command every 0.4 s stays open past the timeout, as long as
# it keeps talking; and a message sent meanwhile on a fourth connection is
# signed (the idle connections hold no thread; a bounce: the rate rule
# of conf/workers.conf has no Redis to count in here).
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
PROTO_PORT=9 proto_start workers || exit 1
fail=0
python3 "$srcdir/tests/proto/slow-peer.py" mta "$dir/outpost.sock" >"$dir/peers.txt" 2>&1 &
peers=$!
sleep 0.3
printf 'From: a@example.org\nSubject: while others wait\n\nhello\n' >"$dir/m.eml"
"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr 127.0.0.1 \
	--rcpt b@example.net --timeout 5 <"$dir/m.eml" >"$dir/out.txt" 2>&1
grep -q '^mod insheader index=0 name=DKIM-Signature' "$dir/out.txt" &&
	echo "ok: a message on another connection is signed meanwhile" ||
	{ echo "FAIL: the message sent meanwhile: got"; sed 's/^/    /' "$dir/out.txt"; fail=1; }
wait $peers
cat "$dir/peers.txt"
# closed within the timeout plus one sweep (1 s each), and not before it
for name in silent half; do
	grep -Eq "^$name closed-by-outpost (1\.[0-9]|2\.[0-9])$" "$dir/peers.txt" &&
		echo "ok: $name: closed by outpost 1 to 3 s after it last sent" ||
		{ echo "FAIL: $name: got '$(grep "^$name" "$dir/peers.txt")', wanted closed-by-outpost 1-3 s"; fail=1; }
done
grep -q '^slow open$' "$dir/peers.txt" && echo "ok: slow: open until its QUIT" ||
	{ echo "FAIL: slow: got '$(grep '^slow' "$dir/peers.txt")', wanted open"; fail=1; }
n=$(grep -c 'milter: the MTA sent nothing for 1000 ms (milter.timeout); closed the connection' "$dir/outpost.log")
[ "$n" -eq 2 ] && echo "ok: two timeouts logged" ||
	{ echo "FAIL: timeout lines in the log: got $n, wanted 2"; fail=1; }
proto_stop || fail=1
exit $fail
