#!/bin/bash
# t-spf-postfix-dns: the spf and auth modules behind a real Postfix, with
# real DNS: NSD serving example.test in a network namespace, outpost
# resolving through the namespace's resolv.conf (libspf2's resolver layer
# under outpost's counting layer).  Every SPF result is compared with
# pyspf's for the same client, sender and HELO.
#
#   pass      a@pass.example.test from 192.0.2.25 (ip4 and include:)
#             delivered, Authentication-Results spf=pass at the top
#   fail      b@fail.example.test: 550 5.7.23, decided at MAIL FROM and
#             given at RCPT TO (milter.mail_verdicts_at_rcpt, the default,
#             as Postfix's smtpd_delay_reject), nothing queued
#   outbound  internal client (127.0.0.1) sending as noauth.example.test,
#             whose record does not name our egress 192.0.2.10: 550 5.7.23
#             at RCPT TO and a log line naming domain, address and fix
#   temperror NSD stopped: 451 4.4.3 at RCPT TO
#   dkim      the pass message is signed by dkimpy for pass.example.test
#             (key in the zone): dkim=pass; with NSD stopped, a signed
#             message whose SPF check is skipped (spf.skip_sender_domains)
#             gets 451 4.7.5 at end of data (auth.on_dkim_temperror)
#
# The external client is 192.0.2.25 on the namespace's loopback device
# (libspf2 passes 127.0.0.0/8 unconditionally), internal is 127.0.0.1.
set -eu
. "$(dirname "$0")/lib.sh"

e2e_require_outpost
e2e_require_cmd nsd swaks
ns=op-spf-$$
client=192.0.2.25
egress=192.0.2.10
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
fail	IN TXT "v=spf1 ip4:192.0.2.99 exp=why.example.test -all"
why	IN TXT "%{i} may not send for %{d}"
noauth	IN TXT "v=spf1 ip4:192.0.2.99 -all"
ZONE
key=$TOP/tests/data/keys/test-rsa2048.pem
p=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)
printf 'rsa._domainkey.pass\tIN TXT ( "v=DKIM1; k=rsa; p=" %s )\n' \
	"$(echo "$p" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' ')" >>"$E2E_T/zones/example.test.zone"
start_netns_dns "$ns" "$E2E_T/zones"
use_netns "$ns"
in_ns ip addr add "$client/32" dev lo
in_ns ip addr add "$egress/32" dev lo

# pyspf's result for ip, sender, helo (Debian's python: /usr/bin/python3).
pyspf() {
	in_ns "$E2E_PY" -c '
import sys, spf
print(spf.check2(i=sys.argv[1], s=sys.argv[2], h=sys.argv[3])[0])' "$@"
}

sink=$(free_port)
smtpd=$(free_port)
op=$(free_port)
start_sink "$sink" "$E2E_T/dump"
e2e_outpost_conf "$E2E_T/outpost.conf" "$op" \
	'log: { level = "debug"; };' \
	'classify: { internal_hosts = ["127.0.0.0/8"]; };' \
	"spf: { enabled = true; egress_ips = [\"$egress\"]; egress_include = \"_spf.example.test\";" \
	'       on_unauthorized_egress = "reject"; timeout = "5s"; skip_sender_domains = ["skip.example.test"]; };' \
	'auth: { enabled = true; authserv_id = "mx.outpost-e2e.test"; received_spf = true;' \
	'        on_dkim_temperror = "tempfail"; dkim_timeout = "3s"; };'
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op" "mynetworks = 127.0.0.0/8 192.0.2.0/24"

msg() {
	printf 'From: <%s>\nTo: <bob@example.net>\nSubject: spf %s\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <%s@example.test>\n\nhello\n' \
		"$1" "$2" "$2" >"$E2E_T/$2.eml"
	echo "$E2E_T/$2.eml"
}

# signed FILE: FILE with a DKIM-Signature by dkimpy (d=pass.example.test,
# s=rsa), LF line ends as send_smtp wants; prints the new file's name.
signed() {
	"$E2E_PY" -c '
import sys, dkim
msg = open(sys.argv[1], "rb").read().replace(b"\n", b"\r\n")
sig = dkim.sign(msg, b"rsa", b"pass.example.test", open(sys.argv[2], "rb").read(),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
sys.stdout.buffer.write((sig + msg).replace(b"\r\n", b"\n"))' "$1" "$key" >"$1.signed"
	echo "$1.signed"
}

# --- pass (through include:), delivered with Authentication-Results ----------
check_eq "pyspf for a@pass.example.test from $client" "$(pyspf "$client" a@pass.example.test "$helo")" pass
rc=0
send_smtp "$smtpd" a@pass.example.test bob@example.net "$(signed "$(msg a@pass.example.test pass)")" \
	--local-interface "$client" || rc=$?
check_eq "pass: swaks exit status" "$rc" 0
check_eq "pass: first SMTP error" "$(smtp_first_error)" none
wait_for_dumps "$E2E_T/dump" 1 20 || true
check_eq "pass: messages at the sink" "$(dump_count "$E2E_T/dump")" 1
dump=$(first_dump "$E2E_T/dump")
ar=$(awk '/^Authentication-Results:/ { p = 1; print; next } p && /^[ \t]/ { print; next } { p = 0 }' "$dump" | tr -d '\r')
check_match "pass: Authentication-Results" "$ar" "^Authentication-Results: mx.outpost-e2e.test;"
check_match "pass: spf=pass smtp.mailfrom" "$ar" "spf=pass smtp.mailfrom=a@pass.example.test"
check_match "pass: dkim=pass (key from DNS)" "$ar" "dkim=pass header.d=pass.example.test header.s=rsa header.b="
check_match "pass: Received-SPF" "$(grep '^Received-SPF:' "$dump" || true)" \
	"^Received-SPF: pass \\(mx.outpost-e2e.test: domain of pass.example.test designates $client"

# --- fail: decided at MAIL FROM, refused at RCPT TO ---------------------------
check_eq "pyspf for b@fail.example.test from $client" "$(pyspf "$client" b@fail.example.test "$helo")" fail
rc=0
send_smtp "$smtpd" b@fail.example.test bob@example.net "$(msg b@fail.example.test fail)" \
	--local-interface "$client" || rc=$?
check_eq "fail: reply to MAIL FROM (its verdict is given at RCPT TO)" "$(smtp_reply_to 'MAIL FROM')" "250 2.1.0 Ok"
check_match "fail: reply to RCPT TO" "$(smtp_reply_to 'RCPT TO')" \
	"^550 5\\.7\\.23 SPF fail: $client is not authorized to send for fail.example.test: $client may not send for fail.example.test"
check_eq "fail: no DATA sent" "$(smtp_reply_to 'DATA')" none
check_match "fail: the summary line says it ended at MAIL FROM" \
	"$(grep -a 'end=mail verdict=reject reply="550 5.7.23".*from=<b@fail.example.test>' "$OUTPOST_LOG" || true)" 'by=spf'

# --- outbound: our egress address not authorized --------------------------------
check_eq "pyspf for x@noauth.example.test from $egress" "$(pyspf "$egress" x@noauth.example.test "$helo")" fail
rc=0
send_smtp "$smtpd" x@noauth.example.test bob@example.net "$(msg x@noauth.example.test outbound)" || rc=$?
check_match "outbound: reply to RCPT TO" "$(smtp_reply_to 'RCPT TO')" \
	"^550 5\\.7\\.23 noauth.example.test does not authorize $egress: add ip4:$egress or include:_spf.example.test"
check_match "outbound: log line" "$(grep 'spf: noauth.example.test does not authorize' "$OUTPOST_LOG" || true)" \
	"noauth.example.test does not authorize $egress: add ip4:$egress or include:_spf.example.test"

# --- temperror: the DNS server is gone -----------------------------------------
for entry in "${E2E_PROCS[@]}"; do
	read -r pid start label <<<"$entry"
	if [ "$label" = "nsd ($ns)" ]; then
		e2e_stop_proc "$pid" "$start" "$label" 5 || true
	fi
done
check_eq "pyspf for a@pass.example.test with NSD stopped" "$(pyspf "$client" a@pass.example.test "$helo")" temperror
rc=0
send_smtp "$smtpd" a@pass.example.test bob@example.net "$(msg a@pass.example.test temp)" \
	--local-interface "$client" || rc=$?
check_match "temperror: reply to RCPT TO" "$(smtp_reply_to 'RCPT TO')" "^451 4\\.4\\.3 SPF temperror for pass.example.test"
rc=0
send_smtp "$smtpd" a@skip.example.test bob@example.net "$(signed "$(msg a@skip.example.test dkimtemp)")" \
	--local-interface "$client" || rc=$?
check_eq "dkim temperror: reply to MAIL FROM (spf skipped)" "$(smtp_reply_to 'MAIL FROM')" "250 2.1.0 Ok"
check_match "dkim temperror: refused at end of data" "$(smtp_first_error)" "^451 4\\.7\\.5 DKIM key lookup failed"

check_eq "messages at the sink in the end" "$(dump_count "$E2E_T/dump")" 1
check_alive "outpost after the messages" "$OUTPOST_PID"
e2e_finish
