#!/bin/bash
# t-track-postfix-real-dns: the track module and the event log through a
# real Postfix, with dkim signing after track and DNS served by NSD in a
# network namespace.  A bulk tenant's message arrives with X-Outpost-ID,
# Feedback-ID, List-Unsubscribe and List-Unsubscribe-Post, all in DKIM's
# h=, and dkimpy and Mail::DKIM verify it over DNS; the client's forged
# X-Outpost-ID is replaced, its campaign and tag headers do not leave; the
# delivered token verifies with `outpostctl unsub verify`, a tampered or
# expired one is refused; every event line parses with jq and
# python3 -m json.tool; `outpostctl trace` finds the delivered message by
# its tracking ID and by Postfix's queue ID, also after logrotate's
# rename and SIGUSR1.  Local submission (sendmail) gets the headers too.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dkim.sh"

e2e_outpost_or_baseline
[ "$E2E_WITH_OUTPOST" = 1 ] || e2e_skip "needs outpost"
e2e_require_cmd jq
ns=op-track-$$
CTL=$TOP/outpostctl
SECRET=e2e-secret-0123456789abcdef

dkim_zone example.test "rsa rsa 2048" "ed ed25519"
start_netns_dns "$ns" "$E2E_T/zones"
use_netns "$ns"
op=$(free_port)
sink=$(free_port)
smtpd=$(free_port)
cat >"$E2E_T/outpost.conf" <<CONF
milter: { socket = "inet:$op@127.0.0.1"; };
dkim: { enabled = true;
  keys = ( { domain = "example.test"; selector = "rsa"; key = "$E2E_T/keys/example.test.rsa.pem"; },
           { domain = "example.test"; selector = "ed"; key = "$E2E_T/keys/example.test.ed.pem"; } ); };
track: { enabled = true; unsubscribe_url = "https://unsub.example.test/u/{token}";
  unsubscribe_mailto = "unsub@example.test"; unsubscribe_secrets = [ "$SECRET" ]; };
event: { file = "$E2E_T/events.json"; };
tenants = ( { name = "acme"; domains = ["example.test"];
              track = { sender_id = "acme0001"; bulk = true; }; } );
CONF
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op"

# hdr FILE FIELD: the unfolded value of FIELD in the header of FILE.
hdr() {
	tr -d '\r' <"$1" | sed '/^$/q' |
		awk -v f="$2" 'tolower($0) ~ "^" tolower(f) ":" { v = substr($0, length(f) + 3); on = 1; next }
			on && /^[ \t]/ { sub(/^[ \t]+/, " "); v = v $0; next } { on = 0 } END { print v }'
}

cat >"$E2E_T/news.eml" <<'MSG'
From: Acme News <news@example.test>
To: bob@example.net
Subject: case spring
Date: Mon, 23 Nov 2026 10:00:00 +0000
Message-ID: <spring.1@example.test>
X-Outpost-ID: forged-by-client
X-Outpost-Campaign: spring-2026
X-Outpost-Tag: vip, newsletter
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello Bob,

spring is here.
MSG
send_smtp "$smtpd" news@example.test bob@example.net "$E2E_T/news.eml" ||
	e2e_fail "SMTP refused: $(smtp_first_error)"
wait_for_dumps "$E2E_T/dump" 1 30 || true
d=$(newest_dump "$E2E_T/dump")
check_match "delivered" "$(grep -m1 '^Subject:' "$d")" 'case spring'
id=$(hdr "$d" X-Outpost-ID)
check_eq "one X-Outpost-ID" "$(grep -ci '^X-Outpost-ID:' "$d")" 1
check_match "forged X-Outpost-ID replaced by a UUIDv7" "$id" \
	'^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
check_eq "campaign header does not leave" "$(grep -ci '^X-Outpost-Campaign:' "$d" || true)" 0
check_eq "tag header does not leave" "$(grep -ci '^X-Outpost-Tag:' "$d" || true)" 0
check_eq "Feedback-ID" "$(hdr "$d" Feedback-ID)" "spring-2026:acme:bulk:acme0001"
lu=$(hdr "$d" List-Unsubscribe)
check_match "List-Unsubscribe" "$lu" \
	'^<https://unsub\.example\.test/u/[A-Za-z0-9_-]+>, <mailto:unsub@example\.test\?subject=unsubscribe%20[A-Za-z0-9_-]+>$'
check_eq "List-Unsubscribe-Post" "$(hdr "$d" List-Unsubscribe-Post)" "List-Unsubscribe=One-Click"
for i in 1 2; do
	hl=$(tr -d '\r' <"$d" | awk '/^DKIM-Signature:/ { n++ } n == '"$i"' { print } /^[^ \t]/ && !/^DKIM-Signature:/ && n >= '"$i"' { exit }' |
		tr -d ' \t\n' | sed 's/.*;h=\([^;]*\);.*/\1/')
	for h in Feedback-ID List-Unsubscribe List-Unsubscribe-Post X-Outpost-ID; do
		check_match "signature $i: h= covers $h" ":$hl:" ":$h:"
	done
done
check_dkim_dump spring "$d" 2

tok=$(echo "$lu" | sed 's|^<https://unsub.example.test/u/\([^>]*\)>.*|\1|')
r=$("$CTL" -c "$E2E_T/outpost.conf" unsub verify "$tok") && rc=0 || rc=$?
check_eq "token from the delivered message: exit status" "$rc" 0
check_match "token names tenant and recipient" "$r" '^valid version=1 tenant="acme" list="" rcpt="bob@example.net" expires='
sub=A
[ "${tok: -1}" = A ] && sub=B
r=$("$CTL" -c "$E2E_T/outpost.conf" unsub verify "${tok%?}$sub") && rc=0 || rc=$?
check_eq "tampered token: exit status" "$rc" 1
check_eq "tampered token: why" "$r" "invalid: bad signature"
expired=$("$E2E_PY" -c '
import base64, hashlib, hmac, struct, sys
p = bytes([1]) + struct.pack(">Q", 1700000000)
for f in (b"acme", b"", b"bob@example.net"): p += bytes([len(f)]) + f
print(base64.urlsafe_b64encode(p + hmac.new(sys.argv[1].encode(), p, hashlib.sha256).digest()).rstrip(b"=").decode())' "$SECRET")
r=$("$CTL" -c "$E2E_T/outpost.conf" unsub verify "$expired") && rc=0 || rc=$?
check_eq "expired token: exit status" "$rc" 1
check_match "expired token: why" "$r" '^expired version=1 tenant="acme"'

# The event log: one object per line; trace by tracking ID and queue ID.
qid=$(tr -d '\r' <"$d" | sed -n 's/.*with E\?SMTP id \([0-9A-Za-z]*\).*/\1/p' | tail -n1)
for i in $(seq 50); do [ -s "$E2E_T/events.json" ] && break; sleep 0.1; done
r=$(in_ns "$CTL" -c "$E2E_T/outpost.conf" trace "$id") && rc=0 || rc=$?
check_eq "trace by tracking ID: exit status" "$rc" 0
check_eq "trace by tracking ID: the delivered message's queue ID" "$(echo "$r" | jq -r .queue_id)" "$qid"
check_eq "event fields" "$(echo "$r" | jq -c '[.tenant, .class, .mail_from, .rcpt_count, .rcpt_domains, .verdict, .tags, .modules.track.added, .modules.dkim.result]')" \
	'["acme","host","news@example.test",1,["example.net"],"continue",["vip","newsletter"],["X-Outpost-ID","Feedback-ID","List-Unsubscribe","List-Unsubscribe-Post"],"sign"]'
r=$("$CTL" -c "$E2E_T/outpost.conf" trace "$qid") && rc=0 || rc=$?
check_eq "trace by queue ID finds the tracking ID" "$(echo "$r" | jq -r .tracking_id)" "$id"
echo "--- delivered headers ---"
tr -d '\r' <"$d" | sed '/^$/q'
echo "--- its event ---"
echo "$r"

# logrotate: rename, SIGUSR1, a local submission lands in the new file;
# trace still finds the first message in the rotated one.
mv "$E2E_T/events.json" "$E2E_T/events.json.1"
kill -USR1 "$OUTPOST_PID"
sleep 0.3
dkim_message local news@example.test
in_ns sendmail -C "$(postfix_conf mx)" -f news@example.test bob@example.net <"$E2E_T/local.eml"
wait_for_dumps "$E2E_T/dump" 2 30 || true
d2=$(newest_dump "$E2E_T/dump")
check_dkim_dump local "$d2" 2
check_eq "local submission: Feedback-ID" "$(hdr "$d2" Feedback-ID)" "acme:bulk:acme0001"
for i in $(seq 50); do [ -s "$E2E_T/events.json" ] && break; sleep 0.1; done
check_ge "after SIGUSR1, events go to a new file" "$(grep -c . "$E2E_T/events.json" 2>/dev/null || echo 0)" 1
r=$("$CTL" -c "$E2E_T/outpost.conf" trace "$id") && rc=0 || rc=$?
check_eq "trace finds the first message in the rotated file" "$(echo "$r" | jq -r .queue_id)" "$qid"
check_alive "outpost after SIGUSR1" "$OUTPOST_PID"

bad=0
n=0
for f in "$E2E_T/events.json.1" "$E2E_T/events.json"; do
	while IFS= read -r line; do
		n=$((n + 1))
		printf '%s\n' "$line" | jq -e 'type == "object"' >/dev/null 2>&1 || bad=$((bad + 1))
		printf '%s\n' "$line" | "$E2E_PY" -m json.tool >/dev/null 2>&1 || bad=$((bad + 1))
	done <"$f"
done
check_ge "event lines" "$n" 2
check_eq "event lines that jq or python3 -m json.tool refuse" "$bad" 0
check_eq "messages left in Postfix's queue" "$(postfix_queue_count mx)" 0
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_finish
