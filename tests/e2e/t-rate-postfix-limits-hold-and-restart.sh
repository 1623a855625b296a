#!/bin/bash
# t-rate-postfix-limits-hold-and-restart: the rate module behind a real
# Postfix, on the embedded store.
#  1. a SASL login over its recipient limit (5 an hour) gets 451 4.7.1 for
#     each extra recipient, the others are delivered (the login reaches
#     outpost as Postfix's {auth_authen}, set here with XCLIENT LOGIN=);
#  2. a hold rule (3 recipients a day per sender and recipient domain, then
#     hold_account) puts the 4th message into Postfix's hold queue
#     (postqueue -j), and the account's next message too, to another
#     domain; `outpostctl hold release` lets the following one through
#     (and postsuper -H releases what Postfix held);
#  3. a daily quota (3 messages a day) survives a restart of outpost; the
#     fourth message is refused at RCPT TO, MAIL FROM accepted (the verdict
#     of MAIL FROM given at RCPT TO: milter.mail_verdicts_at_rcpt's default);
#  4. with milter.mail_verdicts_at_rcpt = false (reloaded), the quota's
#     refusal comes at MAIL FROM itself.
# Parts 2 and 3 key on the envelope sender.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-rate.sh"
e2e_require_outpost
sink=$(free_port)
smtpd=$(free_port)
op=$(free_port)
# Each part has its tenant (by sender domain) and its rule.
rate_outpost_conf "$E2E_T/outpost.conf" "$op" "" "" 'tenants = (
  { name = "many"; domains = ["many.example"]; logins = ["alice@many.example"]; rate_rules = (
      { name = "rcpts"; key = "login"; count = "recipients"; limit = "5/1h"; } ); },
  { name = "hold"; domains = ["hold.example"]; rate_rules = (
      { name = "per-domain"; key = "sender+rcpt_domain"; count = "recipients"; limit = "3/1d";
        action = "hold"; then = "hold_account"; } ); },
  { name = "quota"; domains = ["quota.example"]; rate_rules = (
      { name = "daily"; key = "sender"; count = "messages"; limit = "3/1d"; } ); } );'
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op" "smtpd_authorized_xclient_hosts = 127.0.0.0/8"
ctl() { "$TOP/outpostctl" -c "$E2E_T/outpost.conf" "$@"; }

# 1. recipients
out=$(RATE_LOGIN=alice@many.example rate_smtp "$smtpd" many@many.example a@d1.example b@d2.example c@d3.example d@d4.example \
	e@d5.example f@d6.example g@d7.example) || true
check_eq "recipients accepted" "$(grep -c '^rcpt .* 250 ' <<<"$out")" 5
check_eq "recipients refused with 451 4.7.1 and the wait" \
	"$(grep -Ec '^rcpt [fg]@d[67]\.example 451 4\.7\.1 rate limit exceeded \(recipients 5/1h per login\); try again in [0-9]+ seconds' <<<"$out")" 2
check_match "message with 5 recipients accepted" "$out" '^end 250 '

# 2. hold, then the account
for i in 1 2 3 4; do rate_smtp "$smtpd" hold@hold.example "u$i@target.example" >"$E2E_T/h$i" || true; done
rate_smtp "$smtpd" hold@hold.example v@other.example >"$E2E_T/h5" || true
for i in 1 2 3 4 5; do check_match "hold test message $i accepted" "$(cat "$E2E_T/h$i")" '^end 250 '; done
for _ in $(seq 50); do [ "$(postfix_held mx)" -ge 2 ] && break; sleep 0.2; done
check_eq "messages in Postfix's hold queue (postqueue -j)" "$(postfix_held mx)" 2
check_eq "postfix logged the holds of u4 and v" \
	"$(grep -Ec 'milter-hold: END-OF-MESSAGE .*to=<(u4@target|v@other)\.example>' "$(postfix_log mx)")" 2
check_match "outpostctl hold list" "$(ctl hold list)" '^sender:hold@hold\.example +held since .* by rule per-domain'
check_match "outpostctl hold release" "$(ctl hold release sender:hold@hold.example)" 'released'
rate_smtp "$smtpd" hold@hold.example w@third.example >"$E2E_T/h6" || true
check_match "after release: accepted" "$(cat "$E2E_T/h6")" '^end 250 '
postsuper -c "$(postfix_conf mx)" -H ALL >/dev/null 2>&1 || true
postfix_flush mx

# 3. a daily quota across a restart
for i in 1 2; do rate_smtp "$smtpd" quota@quota.example "q$i@d$i.example" >"$E2E_T/q$i" || true; done
stop_outpost 15 || true
start_outpost "$E2E_T/outpost.conf"
for i in 3 4; do rate_smtp "$smtpd" quota@quota.example "q$i@d$i.example" >"$E2E_T/q$i" || true; done
check_match "quota: third message (after the restart) accepted" "$(cat "$E2E_T/q3")" '^end 250 '
check_match "quota: fourth: MAIL FROM accepted (its verdict comes at RCPT TO)" "$(cat "$E2E_T/q4")" '^mail 250 '
check_match "quota: fourth refused at RCPT TO" "$(cat "$E2E_T/q4")" \
	'^rcpt q4@d4\.example 451 4\.7\.1 rate limit exceeded \(messages 3/1d per sender\); try again in [0-9]+ seconds'
check_match "quota: outpost's summary says end=mail" "$(cat "$OUTPOST_LOG")" \
	'outpost: end=mail verdict=tempfail .*from=<quota@quota\.example>'

# 4. the same refusal at MAIL FROM itself with milter.mail_verdicts_at_rcpt
# = false (reloaded): Postfix waits for outpost's reply to MAIL FROM.
sed -i 's/^milter: {/milter: { mail_verdicts_at_rcpt = false;/' "$E2E_T/outpost.conf"
reload_outpost
for _ in $(seq 50); do grep -q 'reload: configuration generation [0-9]* from .* is active' "$OUTPOST_LOG" 2>/dev/null && break; sleep 0.1; done
rate_smtp "$smtpd" quota@quota.example q5@d5.example >"$E2E_T/q5" || true
check_match "verdicts at MAIL: the quota's 451 at MAIL FROM" "$(cat "$E2E_T/q5")" \
	'^mail 451 4\.7\.1 rate limit exceeded \(messages 3/1d per sender\); try again in [0-9]+ seconds'
check_eq "verdicts at MAIL: no RCPT TO sent" "$(grep -c '^rcpt ' "$E2E_T/q5" || true)" 0

# 1 + 3 (hold test, delivered) + 3 (released from hold, and after release) + 3 quota
wait_for_dumps "$E2E_T/dump" 10 30 || true
check_eq "messages at the sink" "$(dump_count "$E2E_T/dump")" 10
check_alive "outpost" "$OUTPOST_PID"
e2e_finish
