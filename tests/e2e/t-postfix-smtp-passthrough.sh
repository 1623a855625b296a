#!/bin/bash
# t-postfix-smtp-passthrough: outpost with no module enabled, as Postfix's
# smtpd_milters, passes a message sent by SMTP (swaks) through unchanged.
#
# How the comparison works: the test writes the message (LF line ends) and
# swaks sends exactly that, as CRLF on the wire, with no fix-ups. smtp-sink
# writes what it received (LF line ends) after its own X-Client-Addr..
# X-Rcpt-Args lines and Received: header, and after Postfix's Received:
# header. check_passthrough drops exactly those leading trace lines and the
# newline smtp-sink appends, then compares the rest with the sent file byte for
# byte: every header line the sender wrote (order, folding, spacing) and the
# body must be identical, and nothing may be added. The message carries its
# own Date and Message-ID, so Postfix adds no header of its own.
set -eu
. "$(dirname "$0")/lib.sh"

e2e_outpost_or_baseline
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
start_postfix mx "$smtpd" "$sink" "$milter"

e2e_test_message "$E2E_T/sent.eml"
rc=0
send_smtp "$smtpd" alice@example.org bob@example.net "$E2E_T/sent.eml" || rc=$?
check_eq "swaks exit status (0 = message accepted)" "$rc" 0
check_eq "first SMTP error reply" "$(smtp_first_error)" none

# A refused message never comes: then only look briefly for a stray copy.
wait_for_dumps "$E2E_T/dump" 1 "$([ "$rc" -eq 0 ] && echo 20 || echo 2)" || true
check_eq "messages at the sink" "$(dump_count "$E2E_T/dump")" 1
check_passthrough "SMTP via Postfix" "$E2E_T/sent.eml" "$(first_dump "$E2E_T/dump")"
check_eq "messages left in Postfix's queue" "$(postfix_queue_count mx)" 0

if [ "$E2E_WITH_OUTPOST" = 1 ]; then
	check_alive "outpost after the message" "$OUTPOST_PID"
	stop_outpost 15 || true
	check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
fi
e2e_finish
