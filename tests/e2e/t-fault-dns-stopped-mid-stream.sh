#!/bin/bash
# t-fault-dns-stopped-mid-stream: the spf and auth modules behind a real
# Postfix, DNS served by NSD in a network namespace, while a stream of 300
# messages comes from an external client (192.0.2.25, one message per
# SMTP session, 4 at a time), each signed by dkimpy for pass.example.test
# (key in the zone). The stream stops twice at exactly known points
# (smtp-stream.py --pause-after): after message 100 NSD is stopped, after
# message 200 it is started again. What must hold:
#   - messages 1-100 and 201-300: accepted, delivered with
#     Authentication-Results spf=pass and dkim=pass (the key from DNS) and
#     Received-SPF: pass; pyspf agrees (pass before, pass after);
#   - messages 101-200, DNS down: refused at RCPT TO (decided at MAIL FROM,
#     given at RCPT TO: milter.mail_verdicts_at_rcpt's default) with
#     spf.on_temperror's default, "451 4.4.3 SPF temperror" (pyspf:
#     temperror too), one spf=temperror summary line each; nothing
#     accepted then, so nothing can be lost in Postfix;
#   - nothing lost: every attempt answered (accepted + refused = 300), every
#     accepted message at the sink or in Postfix's queue (lib-fault's
#     account), and the refused ones, sent again once DNS is back (as a
#     client that got a 4xx does), are all delivered: messages 1-300 each
#     at the sink exactly once;
#   - outpost never crashes and stops cleanly.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fault.sh"

PART=100 # messages per part: DNS up, down, up again
MESSAGES=$((3 * PART))

e2e_require_outpost
e2e_require_cmd nsd postfix
ns=op-dnsstop-$$
client=192.0.2.25
helo=client.outpost-e2e.test

mkdir "$E2E_T/zones"
cat >"$E2E_T/zones/example.test.zone" <<'ZONE'
$ORIGIN example.test.
$TTL 300
@	IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@	IN NS ns
ns	IN A 127.0.0.1
pass	IN TXT "v=spf1 ip4:192.0.2.99 include:_spf.pass.example.test -all"
_spf.pass	IN TXT "v=spf1 ip4:192.0.2.0/28 ip4:192.0.2.16/28 -all"
ZONE
key=$TOP/tests/data/keys/test-rsa2048.pem
p=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)
printf 'rsa._domainkey.pass\tIN TXT ( "v=DKIM1; k=rsa; p=" %s )\n' \
	"$(echo "$p" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' ')" >>"$E2E_T/zones/example.test.zone"
start_netns_dns "$ns" "$E2E_T/zones"
use_netns "$ns"
in_ns ip addr add "$client/32" dev lo

pyspf() {
	in_ns "$E2E_PY" -c '
import sys, spf
print(spf.check2(i=sys.argv[1], s=sys.argv[2], h=sys.argv[3])[0])' "$client" a@pass.example.test "$helo"
}

# stop_nsd / restart_nsd: NSD by its recorded PID; started again as
# start_netns_dns did, and waited for until it answers.
stop_nsd() {
	local entry pid start label
	for entry in "${E2E_PROCS[@]}"; do
		read -r pid start label <<<"$entry"
		if [ "$label" = "nsd ($ns)" ] && e2e_same_proc "$pid" "$start"; then
			e2e_stop_proc "$pid" "$start" "$label" 5 || true
			wait "$pid" 2>/dev/null || true
			e2e_untrack "$pid"
		fi
	done
}
restart_nsd() {
	local dir=$E2E_T/nsd-$ns i
	ip netns exec "$ns" nsd -d -c "$dir/nsd.conf" >>"$dir/nsd-stdout.log" 2>&1 &
	e2e_track $! "nsd ($ns)"
	for ((i = 0; i < 100; i++)); do
		in_ns "$E2E_PY" -c '
import dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]; r.lifetime = 1
r.resolve("example.test", "SOA")' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "restart_nsd: NSD does not answer" >&2
	return 1
}

sink=$(free_port)
smtpd=$(free_port)
op=$(free_port)
start_sink "$sink" "$E2E_T/dump"
e2e_outpost_conf "$E2E_T/outpost.conf" "$op" \
	'spf: { enabled = true; timeout = "5s"; };' \
	'auth: { enabled = true; authserv_id = "mx.outpost-e2e.test"; received_spf = true;' \
	'        on_dkim_temperror = "tempfail"; dkim_timeout = "3s"; };'
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op" "mynetworks = 127.0.0.0/8 192.0.2.0/24"

printf 'From: <a@pass.example.test>\nTo: <bob@example.net>\nSubject: stream\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <stream@pass.example.test>\n\nhello\n' |
	"$E2E_PY" -c '
import sys, dkim
msg = sys.stdin.buffer.read().replace(b"\n", b"\r\n")
sig = dkim.sign(msg, b"rsa", b"pass.example.test", open(sys.argv[1], "rb").read(),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
sys.stdout.buffer.write(sig + msg)' "$key" >"$E2E_T/msg.eml"

# The stream's lines (smtp-stream.py) in lib-fault's terms, for account().
STREAM_LOG=$E2E_T/stream.out
stream_accepted() { awk '$2 == "accepted" { print $3 }' "$STREAM_LOG"; }
stream_refused() { awk '$2 == "refused" { $1 = ""; $2 = ""; sub(/^  /, ""); print }' "$STREAM_LOG"; }
# part_count FIRST LAST WORD: messages FIRST..LAST whose line says WORD.
part_count() { awk -v a="$1" -v b="$2" -v w="$3" '$1 >= a && $1 <= b && $2 == w' "$STREAM_LOG" | wc -l; }
wait_line() {
	local i
	for ((i = 0; i < 1200; i++)); do
		grep -qx "$1" "$STREAM_LOG" 2>/dev/null && return 0
		e2e_running "$STREAM_PID" || break
		sleep 0.1
	done
	e2e_log "wait_line: no line '$1' in $STREAM_LOG"
	return 1
}

check_eq "pyspf with DNS up" "$(pyspf)" pass
t0=$EPOCHREALTIME
in_ns "$E2E_PY" "$E2E_LIB_DIR/smtp-stream.py" --source "$client" --sessions 4 \
	--pause-after "$PART" "$E2E_T/go1" --pause-after $((2 * PART)) "$E2E_T/go2" \
	"127.0.0.1:$smtpd" a@pass.example.test bob@example.net "$E2E_T/msg.eml" "$MESSAGES" \
	>"$STREAM_LOG" 2>"$E2E_T/stream.err" &
STREAM_PID=$!
e2e_track "$STREAM_PID" smtp-stream
wait_line "paused $PART"
stop_nsd
e2e_log "NSD stopped after message $PART ($(e2e_elapsed "$t0") s)"
check_eq "pyspf with NSD stopped" "$(pyspf)" temperror
touch "$E2E_T/go1"
wait_line "paused $((2 * PART))"
restart_nsd
e2e_log "NSD started again after message $((2 * PART)) ($(e2e_elapsed "$t0") s)"
check_eq "pyspf with NSD back" "$(pyspf)" pass
touch "$E2E_T/go2"
stream_wait 120
check_eq "smtp-stream.py exit status" "$STREAM_RC" 0
check_eq "smtp-stream.py's complaints" "$(cat "$E2E_T/stream.err")" ""
e2e_log "stream done after $(e2e_elapsed "$t0") s"

printf 'messages 1-%d (DNS up): %d accepted, %d refused, %d errors\n' "$PART" \
	"$(part_count 1 "$PART" accepted)" "$(part_count 1 "$PART" refused)" "$(part_count 1 "$PART" error)"
printf 'messages %d-%d (DNS down): %d accepted, %d refused, %d errors\n' $((PART + 1)) $((2 * PART)) \
	"$(part_count $((PART + 1)) $((2 * PART)) accepted)" "$(part_count $((PART + 1)) $((2 * PART)) refused)" \
	"$(part_count $((PART + 1)) $((2 * PART)) error)"
printf 'messages %d-%d (DNS back): %d accepted, %d refused, %d errors\n' $((2 * PART + 1)) "$MESSAGES" \
	"$(part_count $((2 * PART + 1)) "$MESSAGES" accepted)" "$(part_count $((2 * PART + 1)) "$MESSAGES" refused)" \
	"$(part_count $((2 * PART + 1)) "$MESSAGES" error)"
check_eq "DNS up: messages accepted" "$(part_count 1 "$PART" accepted)" "$PART"
check_eq "DNS down: messages refused" "$(part_count $((PART + 1)) $((2 * PART)) refused)" "$PART"
check_eq "DNS back: messages accepted" "$(part_count $((2 * PART + 1)) "$MESSAGES" accepted)" "$PART"
check_eq "DNS down: the replies" "$(awk '$2 == "refused" { print $3, $4, $5, $6, $7, $8 }' "$STREAM_LOG" | sort | uniq -c | tr -s ' ')" \
	" $PART rcpt 451 4.4.3 SPF temperror for"
check_eq "summary lines with spf=temperror" "$(outpost_log_count ' spf=temperror identity=mailfrom ')" "$PART"
check_eq "summary lines with spf=pass" "$(outpost_log_count ' spf=pass identity=mailfrom ')" $((2 * PART))

settle mx "$E2E_T/dump" $((2 * PART)) 60 || true
account mx "$E2E_T/dump" "$MESSAGES"

# The client sends the refused ones again, now that DNS is back.
mapfile -t refused < <(awk '$2 == "refused" { print $1 }' "$STREAM_LOG")
in_ns "$E2E_PY" "$E2E_LIB_DIR/smtp-stream.py" --source "$client" --only "$(IFS=,; echo "${refused[*]}")" \
	"127.0.0.1:$smtpd" a@pass.example.test bob@example.net "$E2E_T/msg.eml" "$MESSAGES" \
	>"$E2E_T/retry.out" 2>&1 || true
check_eq "sent again after DNS came back: accepted" "$(awk '$2 == "accepted"' "$E2E_T/retry.out" | wc -l)" "${#refused[@]}"
settle mx "$E2E_T/dump" "$MESSAGES" 60 || true
check_eq "messages at the sink" "$(dump_count "$E2E_T/dump")" "$MESSAGES"
check_eq "messages 1-$MESSAGES at the sink, each once" \
	"$(sed -n 's/^X-Stream-Seq: //p' "$E2E_T"/dump/* | sort -n | uniq | tr '\n' ' ')" "$(seq -s ' ' 1 "$MESSAGES") "
check_eq "messages left in Postfix's queue" "$(postfix_queue_count mx)" 0

# What the delivered messages carry: outpost's results with DNS up.
ar_of() { awk '/^Authentication-Results:/ { p = 1; printf "%s", $0; next } p && /^[ \t]/ { printf "%s", $0; next } p { exit }' "$1" | tr -d '\r'; }
bad=0
for f in "$E2E_T"/dump/*; do
	ar=$(ar_of "$f")
	case $ar in
	"Authentication-Results: mx.outpost-e2e.test;"*"spf=pass smtp.mailfrom=a@pass.example.test"*"dkim=pass header.d=pass.example.test header.s=rsa"*) ;;
	*) bad=$((bad + 1)); [ "$bad" -gt 1 ] || e2e_log "unexpected results in $f: $ar" ;;
	esac
	grep -q "^Received-SPF: pass (mx.outpost-e2e.test: domain of pass.example.test designates $client" "$f" ||
		bad=$((bad + 1))
done
check_eq "delivered messages without spf=pass, dkim=pass and Received-SPF: pass" "$bad" 0
check_alive "outpost after the stream" "$OUTPOST_PID"
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_log "done after $(e2e_elapsed "$t0") s"
e2e_finish
