#!/bin/sh
# t-dkim-client-signs-2000-messages-on-one-connection: 2,000 transactions on
# one milter connection, as Postfix reuses a connection for a whole SMTP
# session: every one gets both signatures, and the last message delivered
# verifies with dkimpy and Mail::DKIM.  outpost's memory after the stream
# (VmRSS) is printed, not asserted.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
proto_start dkim || exit 1
printf 'From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: many\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n\nbody line\n' >"$dir/m.eml"
"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr 127.0.0.1 --from alice@example.org \
	--rcpt bob@example.net --count 2000 --print-message --crlf <"$dir/m.eml" >"$dir/out.txt" 2>&1
rc=$?
fail=0
n=$(grep -c '^mod insheader index=[01] name=DKIM-Signature' "$dir/out.txt")
[ $rc -eq 0 ] || { echo "FAIL: milterclient exit status: got $rc, wanted 0"; tail -3 "$dir/out.txt"; fail=1; }
[ "$n" -eq 4000 ] || { echo "FAIL: DKIM-Signature insertions: got $n, wanted 4000"; fail=1; }
awk '/^--- message ---$/ {m = ""; on = 1; next} /^--- end ---$/ {on = 0; last = m; next}
	on {m = m $0 "\n"} END {printf "%s", last}' "$dir/out.txt" >"$dir/signed/last.eml"
out=$(sh "$srcdir/tests/dkim/verify_external.sh" "$dir/signed" "$dir/dns.txt" 2>&1) ||
	{ echo "FAIL: external verification: $out"; fail=1; }
echo "$out"
echo "outpost $(grep VmRSS /proc/$pid/status) after 2000 messages"
proto_stop || fail=1
exit $fail
