#!/bin/bash
# t-dkim-sendmail-real-dns: outpost as Sendmail's INPUT_MAIL_FILTER signs
# mail Sendmail relays, and every signature verifies with dkimpy and
# Mail::DKIM over real DNS (NSD in a network namespace): RSA + Ed25519 on
# one message, empty body, 8-bit body, folded and very long headers, a 5 MB
# message; not signed: two From headers, a domain without keys.  Sendmail
# shows the milter its own Received: header, which is not signed.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dkim.sh"

e2e_outpost_or_baseline
[ "$E2E_WITH_OUTPOST" = 1 ] || e2e_skip "needs outpost"
ns=op-dkims-$$
dkim_zone example.test "rsa rsa 2048" "ed ed25519"
start_netns_dns "$ns" "$E2E_T/zones"
use_netns "$ns"

op=$(free_port)
sink=$(free_port)
mta=$(free_port)
cat >"$E2E_T/outpost.conf" <<CONF
milter: { socket = "inet:$op@127.0.0.1"; };
dkim: { enabled = true;
  keys = ( { domain = "example.test"; selector = "rsa"; key = "$E2E_T/keys/example.test.rsa.pem"; },
           { domain = "example.test"; selector = "ed"; key = "$E2E_T/keys/example.test.ed.pem"; } ); };
CONF
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_sendmail_mta "$mta" "$sink" "inet:$op@127.0.0.1"

n=0
for c in "plain 2" "empty-body 2" "8bit 2" "long-headers 2" "big 2" "two-from 0" "nokey 0"; do
	set -- $c
	from=alice@example.test
	[ "$1" = nokey ] && from=carol@other.test
	dkim_message "$1" "$from"
	send_smtp "$mta" "$from" bob@example.net "$E2E_T/$1.eml" ||
		e2e_fail "$1: SMTP refused: $(smtp_first_error)"
	n=$((n + 1))
	wait_for_dumps "$E2E_T/dump" "$n" 90 || true
	check_dkim_dump "$1" "$(newest_dump "$E2E_T/dump")" "$2"
done
check_match "two From: the log says why" "$(cat "$OUTPOST_LOG")" 'dkim=skip reason="several From headers"'
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_finish
