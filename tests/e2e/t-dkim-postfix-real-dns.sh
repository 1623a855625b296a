#!/bin/bash
# t-dkim-postfix-real-dns: outpost signs mail relayed by a real Postfix, and
# every signature verifies with dkimpy and Mail::DKIM looking the keys up in
# real DNS (NSD in a network namespace).  Keys come from `outpostctl keygen`,
# `outpostctl keycheck` compares them with DNS, and dkim.check_dns keeps an
# unpublished key out of use.  Cases: RSA + Ed25519 on one message, empty
# body, 8-bit body, folded and very long headers, a 5 MB message, local
# submission (sendmail command), relaxed and (after a reload) simple
# canonicalization; not signed: a 1,000-octet body line (Postfix would
# rewrap it), a signed header line over 998 octets (likewise), two From
# headers, a domain without keys; and with dkim.on_long_lines = wrap, long
# body and header lines signed as Postfix breaks them, which verify.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dkim.sh"

e2e_outpost_or_baseline
[ "$E2E_WITH_OUTPOST" = 1 ] || e2e_skip "needs outpost"
ns=op-dkim-$$
CTL=$TOP/outpostctl

# Keys and their DNS records (the stale key is not published).
dkim_zone example.test "rsa rsa 2048" "ed ed25519" "stale rsa 1024 -"
check_eq "key file mode" "$(stat -c %a "$E2E_T/keys/example.test.rsa.pem")" 600
start_netns_dns "$ns" "$E2E_T/zones"
use_netns "$ns"

write_conf() { # CANON [ON_LONG_LINES]
	cat >"$E2E_T/outpost.conf" <<CONF
milter: { socket = "inet:$op@127.0.0.1"; };
dkim: { enabled = true; check_dns = true; canonicalization = "$1"; on_long_lines = "${2:-skip}";
  keys = ( { domain = "example.test"; selector = "rsa"; key = "$E2E_T/keys/example.test.rsa.pem"; },
           { domain = "example.test"; selector = "ed"; key = "$E2E_T/keys/example.test.ed.pem"; },
           { domain = "example.test"; selector = "stale"; key = "$E2E_T/keys/example.test.stale.pem"; } ); };
CONF
}
op=$(free_port)
sink=$(free_port)
smtpd=$(free_port)
write_conf relaxed/relaxed
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op"

kc=$(in_ns "$CTL" -c "$E2E_T/outpost.conf" keycheck 2>&1) && kc_rc=0 || kc_rc=$?
check_eq "keycheck exit status (the stale key is not in DNS)" "$kc_rc" 1
check_match "keycheck: rsa" "$kc" 'example.test +rsa +rsa-sha256 +ok'
check_match "keycheck: ed" "$kc" 'example.test +ed +ed25519-sha256 +ok'
check_match "keycheck: stale" "$kc" 'example.test +stale +rsa-sha256 +missing'
check_match "stale key not used, and the log says why" "$(cat "$OUTPOST_LOG")" \
	'key stale .* not used for example.test'

# send_and_verify NAME FROM WANT_SIGS [sendmail]: send case NAME, then
# check the delivered copy (check_dkim_dump).
n_dumps=0
send_and_verify() {
	local name=$1 from=$2 want=$3 how=${4:-smtp}
	dkim_message "$name" "$from"
	if [ "$how" = sendmail ]; then
		in_ns sendmail -C "$(postfix_conf mx)" -f "${from##*<}" bob@example.net <"$E2E_T/$name.eml"
	else
		send_smtp "$smtpd" "alice@example.test" bob@example.net "$E2E_T/$name.eml" ||
			e2e_fail "$name: SMTP refused: $(smtp_first_error)"
	fi
	n_dumps=$((n_dumps + 1))
	wait_for_dumps "$E2E_T/dump" "$n_dumps" 90 || true
	check_dkim_dump "$name" "$(newest_dump "$E2E_T/dump")" "$want"
}

send_and_verify plain 'Alice <alice@example.test>' 2
send_and_verify empty-body alice@example.test 2
send_and_verify 8bit alice@example.test 2
send_and_verify long-headers alice@example.test 2
send_and_verify big alice@example.test 2
send_and_verify local alice@example.test 2 sendmail
send_and_verify long-line alice@example.test 0
send_and_verify long-subject alice@example.test 0
send_and_verify two-from alice@example.test 0
send_and_verify nokey carol@other.test 0
check_match "long line: the log says why" "$(cat "$OUTPOST_LOG")" 'dkim=skip reason="line over 998 octets"'
check_match "two From: the log says why" "$(cat "$OUTPOST_LOG")" 'dkim=skip reason="several From headers"'
check_match "no key: the log says why" "$(cat "$OUTPOST_LOG")" 'dkim=skip reason="no key for other.test"'

write_conf simple/simple
reload_outpost
for i in $(seq 50); do grep -q "generation 2 .* is active" "$OUTPOST_LOG" && break; sleep 0.1; done
check_match "reload to simple/simple" "$(cat "$OUTPOST_LOG")" "generation 2 .* is active"
send_and_verify simple-plain alice@example.test 2
send_and_verify 8bit alice@example.test 2
send_and_verify long-headers alice@example.test 2
# Long lines signed as Postfix's SMTP client breaks them: they verify.
write_conf relaxed/relaxed wrap
reload_outpost
for i in $(seq 50); do grep -q "generation 3 .* is active" "$OUTPOST_LOG" && break; sleep 0.1; done
send_and_verify long-line alice@example.test 2
send_and_verify long-lines alice@example.test 2
send_and_verify long-subject alice@example.test 2
write_conf simple/simple wrap
reload_outpost
for i in $(seq 50); do grep -q "generation 4 .* is active" "$OUTPOST_LOG" && break; sleep 0.1; done
send_and_verify long-lines alice@example.test 2
send_and_verify long-subject alice@example.test 2
check_match "simple/simple used" "$(grep -h '^DKIM-Signature' -A2 "$(newest_dump "$E2E_T/dump")")" 'c=simple/simple'
check_eq "messages left in Postfix's queue" "$(postfix_queue_count mx)" 0
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_finish
