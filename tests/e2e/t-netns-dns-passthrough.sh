#!/bin/bash
# t-netns-dns-passthrough: the sealed-off DNS setup later tests rely on, with
# outpost (no module enabled) in it. A network namespace gets its own
# resolv.conf (127.0.0.1) and NSD serving a test zone; programs inside resolve
# the zone through the ordinary resolver, the host's DNS is untouched. Redis,
# smtp-sink, Postfix and outpost run inside the namespace, and a message sent
# through Postfix there arrives unchanged (compared as in
# t-postfix-smtp-passthrough.sh).
set -eu
. "$(dirname "$0")/lib.sh"

e2e_outpost_or_baseline
ns=op-e2e-$$

mkdir "$E2E_T/zones"
cat >"$E2E_T/zones/example.test.zone" <<'ZONE'
$ORIGIN example.test.
$TTL 300
@	IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@	IN NS ns
ns	IN A 127.0.0.1
mx	IN A 127.0.0.1
@	IN TXT "v=spf1 ip4:127.0.0.1 -all"
ZONE
host_resolv=$(cat /etc/resolv.conf)
start_netns_dns "$ns" "$E2E_T/zones"

# ns_resolve NAME TYPE: print the first answer the ordinary resolver gets
# inside the namespace (it reads /etc/resolv.conf there), or "error: ...".
ns_resolve() {
	in_ns "$E2E_PY" -c '
import sys, dns.resolver
try:
    a = dns.resolver.resolve(sys.argv[1], sys.argv[2], lifetime=3)
    print(a[0].to_text())
except Exception as e:
    print("error:", type(e).__name__)' "$1" "$2"
}
check_eq "TXT example.test inside the namespace" "$(ns_resolve example.test TXT)" \
	'"v=spf1 ip4:127.0.0.1 -all"'
check_eq "A mx.example.test inside the namespace" "$(ns_resolve mx.example.test A)" 127.0.0.1
check_eq "namespace resolv.conf" "$(in_ns cat /etc/resolv.conf)" "nameserver 127.0.0.1"
check_eq "host resolv.conf unchanged" "$(cat /etc/resolv.conf)" "$host_resolv"

use_netns "$ns"
redis=$(free_port)
start_redis "$redis"
check_eq "redis PING inside the namespace" "$(in_ns redis-cli -p "$redis" ping)" PONG
check_cmd "redis is not reachable from the host" \
	bash -c "! redis-cli -p $redis ping >/dev/null 2>&1 </dev/null"

sink=$(free_port)
smtpd=$(free_port)
milter=""
start_sink "$sink" "$E2E_T/dump"
if [ "$E2E_WITH_OUTPOST" = 1 ]; then
	op=$(free_port)
	e2e_outpost_conf "$E2E_T/outpost.conf" "$op"
	start_outpost "$E2E_T/outpost.conf"
	milter="inet:127.0.0.1:$op"
fi
start_postfix ns "$smtpd" "$sink" "$milter"

e2e_test_message "$E2E_T/sent.eml"
rc=0
send_smtp "$smtpd" alice@example.test bob@example.test "$E2E_T/sent.eml" || rc=$?
check_eq "swaks exit status (0 = message accepted)" "$rc" 0
check_eq "first SMTP error reply" "$(smtp_first_error)" none
wait_for_dumps "$E2E_T/dump" 1 "$([ "$rc" -eq 0 ] && echo 20 || echo 2)" || true
check_eq "messages at the sink" "$(dump_count "$E2E_T/dump")" 1
check_passthrough "SMTP via Postfix in the namespace" "$E2E_T/sent.eml" "$(first_dump "$E2E_T/dump")"
if [ "$E2E_WITH_OUTPOST" = 1 ]; then
	check_alive "outpost after the message" "$OUTPOST_PID"
fi
e2e_finish
