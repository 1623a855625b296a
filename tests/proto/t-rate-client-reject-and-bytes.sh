#!/bin/sh
# t-rate-client-reject-and-bytes: reject (550 5.7.1) at each stage that
# counts: sender-msgs (2 messages an hour per external sender) at MAIL;
# net-bytes (4K an hour per client /24) at MAIL from SIZE= (more than the
# burst: refused for good) and, without SIZE=, at end of message once the
# /24 sent its 4K.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
proto_start rate || exit 1
. "$srcdir/tests/proto/lib-rate.sh"
send_ext() {
	"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr "$1" --from "$2" --rcpt r@example.net \
		--queue-id "$3" <"$4" >"$dir/$3" 2>&1
}
for i in 1 2 3; do send_ext 198.51.100.1 "sam@ext.example" S$i "$dir/m.eml"; done
want_line "sender: third message rejected at MAIL" "$dir/S3" \
	'^final action=reject stage=mail code=550 text="5\.7\.1 rate limit exceeded \(messages 2/1h per sender\)"'
"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr 203.0.113.9 --from "big@ext.example SIZE=5000" \
	--rcpt r@example.net --queue-id Z1 <"$dir/m.eml" >"$dir/Z1" 2>&1
want_line "SIZE= over the burst: rejected at MAIL" "$dir/Z1" \
	'^final action=reject stage=mail code=550 text="5\.7\.1 rate limit exceeded \(bytes 4096/1h per client_ip, more than it allows at once\)"'
{ printf 'From: a@example.org\nSubject: bytes\n\n'; head -c 1500 /dev/zero | tr '\0' 'x'; printf '\n'; } >"$dir/big.eml"
send_ext 203.0.113.10 "b1@ext.example" Y1 "$dir/big.eml"
send_ext 203.0.113.11 "b2@ext.example" Y2 "$dir/big.eml"
send_ext 203.0.113.12 "b3@ext.example" Y3 "$dir/big.eml"
want_line "first 1.5K from the /24 passes" "$dir/Y1" '^final action=continue stage=eom'
want_line "second passes" "$dir/Y2" '^final action=continue stage=eom'
want_line "third is over 4K: rejected at end of message" "$dir/Y3" \
	'^final action=reject stage=eom code=550 text="5\.7\.1 rate limit exceeded \(bytes 4096/1h per client_ip\)"'
sleep 0.2
want_line "the log names the /24" "$dir/outpost.log" 'Y3: rate: over limit: rule=net-bytes key=client_ip:203\.0\.113\.0/24#net-bytes'
proto_stop || fail=1
exit $fail
