#!/bin/sh
# t-track-client-headers-signed-and-logged: the track module through the C
# milter client (speaking as Postfix), with dkim after it.  A bulk tenant's
# message gets X-Outpost-ID, Feedback-ID, List-Unsubscribe and
# List-Unsubscribe-Post; the client's forged X-Outpost-ID, its campaign and
# tag headers and its Feedback-ID do not leave; DKIM's h= covers the added
# headers and dkimpy and Mail::DKIM verify the delivered copy; the token
# verifies with `outpostctl unsub verify`, a tampered or expired one is
# refused; every event line parses with jq, and `outpostctl trace` finds
# the message by tracking ID and by queue ID.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
CTL=${CTL:-$top_builddir/outpostctl}
command -v jq >/dev/null 2>&1 || { echo "skip: jq not installed"; exit 77; }
proto_start track || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
good() { echo "ok: $*"; }

# send NAME QID RCPT... < message: run the client, keep the delivered copy
# (CRLF, for the verifiers) in $dir/signed/NAME.eml and its output in
# $dir/NAME.out.
send() {
	local name=$1 qid=$2 r args=""
	shift 2
	for r in "$@"; do args="$args --rcpt $r"; done
	# shellcheck disable=SC2086
	"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr 192.0.2.1 --auth-authen alice \
		--auth-type PLAIN --from news@example.com --queue-id "$qid" $args \
		--print-message --crlf >"$dir/$name.out" 2>&1 || bad "$name: milterclient failed"
	sed -n '/^--- message ---$/,/^--- end ---$/p' "$dir/$name.out" | sed '1d;$d' >"$dir/signed/$name.eml"
}
# hdr NAME FIELD: the unfolded value of FIELD in the delivered NAME.
hdr() {
	tr -d '\r' <"$dir/signed/$1.eml" | sed '/^$/q' |
		awk -v f="$2" 'tolower($0) ~ "^" tolower(f) ":" { v = substr($0, length(f) + 3); on = 1; next }
			on && /^[ \t]/ { sub(/^[ \t]+/, " "); v = v $0; next } { on = 0 } END { print v }'
}

printf 'From: News <news@example.com>\r\nTo: bob@example.net\r\nSubject: spring\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <t1@example.com>\r\nX-Outpost-ID: forged-id\r\nX-Outpost-Campaign: Spring Sale\r\nX-Outpost-Tag: vip, eu\r\nFeedback-ID: a:b:c:forged\r\n\r\nHello.\r\n' |
	send one T1 bob@example.net
out=$(cat "$dir/one.out")
echo "$out" | grep -q '^final action=continue' || bad "one: final: $(echo "$out" | grep '^final')"
for h in X-Outpost-Campaign X-Outpost-Tag; do
	n=$(grep -ci "^$h:" "$dir/signed/one.eml")
	[ "$n" = 0 ] && good "$h does not leave" || bad "$h: got $n in the delivered message, wanted 0"
done
n=$(grep -ci '^X-Outpost-ID:' "$dir/signed/one.eml")
id=$(hdr one X-Outpost-ID)
[ "$n" = 1 ] && [ "$id" != forged-id ] && echo "$id" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' &&
	good "forged X-Outpost-ID replaced by $id" || bad "X-Outpost-ID: got $n header(s), value '$id', wanted one UUIDv7"
fbid=$(hdr one Feedback-ID)
[ "$fbid" = "Spring_Sale:acme:bulk:outpost1" ] && [ "$(grep -ci '^Feedback-ID:' "$dir/signed/one.eml")" = 1 ] &&
	good "one Feedback-ID: $fbid" || bad "Feedback-ID: got '$fbid', wanted Spring_Sale:acme:bulk:outpost1 once"
lu=$(hdr one List-Unsubscribe)
echo "$lu" | grep -q '^<https://unsub.example.net/u/[A-Za-z0-9_-]*>, <mailto:unsub@example.net?subject=unsubscribe%20[A-Za-z0-9_-]*>$' &&
	good "List-Unsubscribe: https and mailto" || bad "List-Unsubscribe: got '$lu'"
[ "$(hdr one List-Unsubscribe-Post)" = "List-Unsubscribe=One-Click" ] && good "List-Unsubscribe-Post" ||
	bad "List-Unsubscribe-Post: got '$(hdr one List-Unsubscribe-Post)'"
hl=$(hdr one DKIM-Signature | tr -d ' \t' | sed 's/.*;h=\([^;]*\);.*/\1/')
for h in Feedback-ID List-Unsubscribe List-Unsubscribe-Post X-Outpost-ID; do
	echo ":$hl:" | grep -qi ":$h:" && good "h= covers $h" || bad "h=$hl lacks $h"
done
v=$(sh "$srcdir/tests/dkim/verify_external.sh" "$dir/signed" "$dir/dns.txt" 2>&1) &&
	good "signatures: $v" || bad "external verification: $v"

# The token: valid for bob; one character changed: refused; expired
# (made by the reference code of docs/unsubscribe-token.md): refused.
tok=$(echo "$lu" | sed 's|^<https://unsub.example.net/u/\([^>]*\)>.*|\1|')
r=$("$CTL" -c "$dir/outpost.conf" unsub verify "$tok"); rc=$?
[ $rc = 0 ] && echo "$r" | grep -q '^valid version=1 tenant="acme" list="" rcpt="bob@example.net" expires=' &&
	good "token verifies: $r" || bad "unsub verify: got exit $rc '$r', wanted 0 and rcpt bob@example.net"
last=$(printf '%s' "$tok" | tail -c 2 | head -c 1)
[ "$last" = A ] && sub=B || sub=A
tampered=$(printf '%s' "$tok" | sed "s/.\(.\)\$/$sub\1/")
r=$("$CTL" -c "$dir/outpost.conf" unsub verify "$tampered"); rc=$?
[ $rc = 1 ] && [ "$r" = "invalid: bad signature" ] && good "tampered token refused" ||
	bad "tampered: got exit $rc '$r', wanted 1 'invalid: bad signature'"
expired=$(/usr/bin/python3 -c '
import base64, hashlib, hmac, struct
p = bytes([1]) + struct.pack(">Q", 1700000000)
for f in (b"acme", b"", b"bob@example.net"): p += bytes([len(f)]) + f
print(base64.urlsafe_b64encode(p + hmac.new(b"new-secret-0123456789abcdef", p, hashlib.sha256).digest()).rstrip(b"=").decode())')
r=$("$CTL" -c "$dir/outpost.conf" unsub verify "$expired"); rc=$?
[ $rc = 1 ] && echo "$r" | grep -q '^expired version=1 tenant="acme"' && good "expired token refused: $r" ||
	bad "expired: got exit $rc '$r', wanted 1 'expired ...'"
r=$("$CTL" -c "$dir/outpost.conf" --json unsub verify "$tok" | jq -r .rcpt)
[ "$r" = bob@example.net ] && good "--json: rcpt $r" || bad "--json: got '$r'"

# Two recipients: the token names none.  External client: nothing added.
printf 'From: news@example.com\r\nTo: a@example.net, b@example.org\r\nSubject: two\r\n\r\nHi.\r\n' |
	send two T2 a@example.net b@example.org
r=$("$CTL" -c "$dir/outpost.conf" unsub verify "$(hdr two List-Unsubscribe | sed 's|^<https://unsub.example.net/u/\([^>]*\)>.*|\1|')")
echo "$r" | grep -q 'rcpt="" ' && good "two recipients: token without recipient" || bad "two recipients: got '$r'"
printf 'From: x@example.org\r\nTo: y@example.net\r\nSubject: in\r\nX-Outpost-ID: forged-again\r\n\r\nHi.\r\n' >"$dir/ext.eml"
"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr 198.51.100.7 --from x@example.org \
	--rcpt y@example.net --queue-id T3 --print-message --crlf <"$dir/ext.eml" >"$dir/ext.out" 2>&1
n=$(sed -n '/^--- message ---$/,/^--- end ---$/p' "$dir/ext.out" | grep -ci '^X-Outpost-ID:')
[ "$n" = 0 ] && good "external mail: forged ID removed, none added" || bad "external: got $n X-Outpost-ID"

# The event log: one line per message, each a JSON object; trace finds it.
i=0
while [ "$(wc -l <"$dir/events.json" 2>/dev/null || echo 0)" -lt 3 ] && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
lines=$(wc -l <"$dir/events.json")
[ "$lines" = 3 ] && good "3 messages, 3 event lines" || bad "event lines: got $lines, wanted 3"
parsed=$(jq -c 'select(type == "object") | .queue_id' "$dir/events.json" | tr -d '"\n')
[ "$parsed" = T1T2T3 ] && good "every line parses with jq" || bad "jq: got '$parsed', wanted T1T2T3"
ev=$(jq -c --arg id "$id" 'select(.tracking_id == $id) | [.queue_id, .tenant, .login, .client_ip, .rcpt_count, .rcpt_domains, .verdict, .tags, .modules.track.feedback_id, .modules.dkim.result]' "$dir/events.json")
want='["T1","acme","alice","192.0.2.1",1,["example.net"],"continue",["vip","eu"],"Spring_Sale:acme:bulk:outpost1","sign"]'
[ "$ev" = "$want" ] && good "event of T1: $ev" || bad "event of T1: got $ev, wanted $want"
r=$("$CTL" -c "$dir/outpost.conf" trace "$id"); rc=$?
[ $rc = 0 ] && [ "$(echo "$r" | jq -r .queue_id)" = T1 ] && good "trace by tracking ID" || bad "trace $id: exit $rc '$r'"
r=$("$CTL" -c "$dir/outpost.conf" trace T3 | jq -r .class); rc=$?
[ "$r" = external ] && good "trace by queue ID" || bad "trace T3: got '$r'"
"$CTL" -c "$dir/outpost.conf" trace nosuchid >/dev/null 2>&1
[ $? = 1 ] && good "trace of an unknown ID exits 1" || bad "trace of an unknown ID: wanted exit 1"
echo "--- delivered headers of T1 ---"
tr -d '\r' <"$dir/signed/one.eml" | sed '/^$/q'
echo "--- its event ---"
jq -c --arg id "$id" 'select(.tracking_id == $id)' "$dir/events.json"
proto_stop || fail=1
exit $fail
