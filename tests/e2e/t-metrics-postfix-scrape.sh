#!/bin/bash
# t-metrics-postfix-scrape: the metrics endpoint and the control socket of
# an outpost behind a real Postfix, DNS served by NSD in a network
# namespace.  While mail flows (7 messages by SMTP, 1 by local submission,
# 1 refused by a rate rule at MAIL FROM), /metrics is scraped every 0.2 s:
# each scrape passes `promtool check metrics` and no counter goes down.
# Once the 8 messages are delivered (and verified by dkimpy and
# Mail::DKIM), the counters say exactly that: 8 RSA and 8 Ed25519
# signatures, 8 messages passed at end of message, 1 tempfailed at MAIL by
# rule sender-msgs, 8 end-of-message callbacks timed, 9 event lines.
# outpostctl status and reload reach the daemon over the control socket
# (text and --json); a reload, and a SIGHUP, show in
# outpost_config_generation and outpost_config_reloads_total; keycheck
# finds both keys in DNS.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dkim.sh"
. "$(dirname "$0")/lib-rate.sh"

e2e_outpost_or_baseline
[ "$E2E_WITH_OUTPOST" = 1 ] || e2e_skip "needs outpost"
e2e_require_cmd jq curl promtool
ns=op-metrics-$$
CTL=$TOP/outpostctl

dkim_zone example.test "rsa rsa 2048" "ed ed25519"
start_netns_dns "$ns" "$E2E_T/zones"
use_netns "$ns"
op=$(free_port)
sink=$(free_port)
smtpd=$(free_port)
mport=$(free_port)
cat >"$E2E_T/outpost.conf" <<CONF
milter: { socket = "inet:$op@127.0.0.1"; };
metrics: { listen = "127.0.0.1:$mport"; };
control: { socket = "$E2E_T/control.sock"; };
dkim: { enabled = true;
  keys = ( { domain = "example.test"; selector = "rsa"; key = "$E2E_T/keys/example.test.rsa.pem"; },
           { domain = "example.test"; selector = "ed"; key = "$E2E_T/keys/example.test.ed.pem"; } ); };
track: { enabled = true; };
event: { file = "$E2E_T/events.json"; };
rate: { enabled = true; lmdb_path = "$E2E_T/rate.mdb";
  rules = ( { name = "sender-msgs"; key = "sender"; count = "messages"; limit = "2/1h"; action = "tempfail"; } ); };
CONF
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op"
URL=http://127.0.0.1:$mport/metrics
ctl() { in_ns "$CTL" -c "$E2E_T/outpost.conf" "$@"; }
# metric FILE NAME{LABELS}: the value of one sample in a scrape.
metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# The scraper: every 0.2 s until $E2E_T/stop-scraping exists.
mkdir "$E2E_T/scrapes"
(
	i=0
	while [ ! -e "$E2E_T/stop-scraping" ]; do
		ip netns exec "$ns" curl -sf "$URL" >"$E2E_T/scrapes/$(printf %04d $i)" || true
		i=$((i + 1))
		sleep 0.2
	done
) &
e2e_track $! scraper

for i in 1 2 3 4 5; do
	dkim_message "news$i" "news$i@example.test" # a sender each: under sender-msgs
	send_smtp "$smtpd" "news$i@example.test" bob@example.net "$E2E_T/news$i.eml" ||
		e2e_fail "news$i refused: $(smtp_first_error)"
done
for i in 1 2 3; do
	dkim_message "burst$i" burst@example.test
	if send_smtp "$smtpd" burst@example.test bob@example.net "$E2E_T/burst$i.eml"; then
		[ "$i" -le 2 ] && e2e_pass "burst$i accepted" || e2e_fail "burst$i accepted past the limit"
	else
		[ "$i" = 3 ] && check_match "burst3 refused at MAIL FROM" "$(smtp_first_error)" '^451 4\.7\.1 ' ||
			e2e_fail "burst$i refused: $(smtp_first_error)"
	fi
done
dkim_message local local@example.test
in_ns sendmail -C "$(postfix_conf mx)" -f local@example.test bob@example.net <"$E2E_T/local.eml" ||
	e2e_fail "local submission failed"
wait_for_dumps "$E2E_T/dump" 8 30 || true
check_eq "delivered" "$(dump_count "$E2E_T/dump")" 8
check_dkim_dump news1 "$(grep -l 'case news1' "$E2E_T"/dump/* | head -n1)" 2
for i in $(seq 50); do [ "$(wc -l <"$E2E_T/events.json" 2>/dev/null || echo 0)" -ge 9 ] && break; sleep 0.1; done
sleep 0.5
touch "$E2E_T/stop-scraping"
sleep 0.5

# --- every scrape taken during the run -------------------------------------------
n=0 bad=0 down=0 prev=0
for f in "$E2E_T"/scrapes/*; do
	[ -s "$f" ] || continue
	n=$((n + 1))
	promtool check metrics <"$f" >"$f.promtool" 2>&1 || { bad=$((bad + 1)); cp "$f.promtool" "$E2E_T/promtool-failure"; }
	v=$(metric "$f" 'outpost_dkim_signatures_total{algorithm="rsa-sha256"}')
	[ "${v:-0}" -ge "$prev" ] || down=$((down + 1))
	prev=${v:-0}
done
check_ge "scrapes taken while mail flowed" "$n" 5
check_eq "scrapes promtool refused" "$bad" 0
[ "$bad" = 0 ] || sed -n '1,20s/^/    /p' "$E2E_T/promtool-failure"
check_eq "scrapes where the signature counter went down" "$down" 0

# --- the counters after the run --------------------------------------------------------
in_ns curl -sf "$URL" >"$E2E_T/final"
check_cmd "final scrape passes promtool" sh -c 'promtool check metrics <"$1"' _ "$E2E_T/final"
check_eq "RSA signatures" "$(metric "$E2E_T/final" 'outpost_dkim_signatures_total{algorithm="rsa-sha256"}')" 8
check_eq "Ed25519 signatures" "$(metric "$E2E_T/final" 'outpost_dkim_signatures_total{algorithm="ed25519-sha256"}')" 8
check_eq "messages passed at end of message" "$(metric "$E2E_T/final" 'outpost_messages_total{verdict="continue",end="eom"}')" 8
check_eq "messages tempfailed at MAIL" "$(metric "$E2E_T/final" 'outpost_messages_total{verdict="tempfail",end="mail"}')" 1
check_eq "dkim=sign results" "$(metric "$E2E_T/final" 'outpost_module_results_total{module="dkim",result="sign"}')" 8
check_eq "rule hits" "$(metric "$E2E_T/final" 'outpost_rate_rule_hits_total{rule="sender-msgs",action="tempfail"}')" 1
check_eq "end-of-message callbacks timed" "$(metric "$E2E_T/final" 'outpost_milter_callback_duration_seconds_count{stage="eom"}')" 8
check_eq "store checks, all ok" "$(metric "$E2E_T/final" 'outpost_store_operations_total{backend="lmdb",operation="check",result="ok"}')" 9
check_eq "event lines written" "$(metric "$E2E_T/final" outpost_event_lines_written_total)" 9
check_eq "event lines dropped" "$(metric "$E2E_T/final" outpost_event_lines_dropped_total)" 0
check_eq "signing domains and keys" "$(metric "$E2E_T/final" outpost_dkim_signing_domains) $(metric "$E2E_T/final" outpost_dkim_signing_keys)" "1 2"
check_eq "no transaction in flight" "$(metric "$E2E_T/final" outpost_messages_in_flight)" 0

# --- the control socket ------------------------------------------------------------------
r=$(ctl status) && rc=0 || rc=$?
check_eq "outpostctl status: exit" "$rc" 0
check_match "outpostctl status: version, pid" "$r" "^outpost [0-9.]+, pid $OUTPOST_PID, up "
check_match "outpostctl status: metrics" "$r" "^metrics: +$URL$"
r=$(ctl --json status) && rc=0 || rc=$?
check_eq "outpostctl --json status" "$(echo "$r" | jq -c '[.generation, .store.state, .events.written]')" '[1,"ok",9]'
r=$(ctl reload) && rc=0 || rc=$?
check_eq "outpostctl reload: exit" "$rc" 0
check_match "outpostctl reload" "$r" '^configuration generation 2 from .* is active$'
reload_outpost
for i in $(seq 50); do
	g=$(in_ns curl -sf "$URL" | awk '$1 == "outpost_config_generation" { print $2 }')
	[ "$g" = 3 ] && break
	sleep 0.1
done
check_eq "SIGHUP: generation in the metrics" "$g" 3
in_ns curl -sf "$URL" >"$E2E_T/after-reload"
check_eq "reloads counted" "$(metric "$E2E_T/after-reload" 'outpost_config_reloads_total{result="ok"}')" 2
r=$(ctl --json reload) && rc=0 || rc=$?
check_eq "outpostctl --json reload" "$(echo "$r" | jq -c '[.ok, .generation]')" '[true,4]'
r=$(ctl keycheck) && rc=0 || rc=$?
check_eq "outpostctl keycheck: exit" "$rc" 0
check_match "outpostctl keycheck" "$r" '^2 keys checked'
r=$(ctl --json keycheck) && rc=0 || rc=$?
check_eq "outpostctl --json keycheck" "$(echo "$r" | jq -c '[.checked, .failed]')" '[2,0]'
e2e_finish
