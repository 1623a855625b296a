#!/bin/bash
# t-sendmail-passthrough: outpost with no module enabled, as Sendmail's
# INPUT_MAIL_FILTER (F=T), passes a message sent by SMTP (swaks) through
# Sendmail unchanged.
#
# Comparison: as in t-postfix-smtp-passthrough.sh. The sink's dump, minus
# smtp-sink's X-* lines and the leading Received: headers (smtp-sink's and
# Sendmail's), minus the newline smtp-sink appends, must equal the file swaks
# sent byte for byte. The message carries From, Date and Message-ID with fully
# qualified addresses, so Sendmail adds no header itself. Its To: header is on
# one line: Sendmail re-joins folded address headers on its own, milter or not
# (see e2e_test_message).
set -eu
. "$(dirname "$0")/lib.sh"

e2e_outpost_or_baseline
sink=$(free_port)
mta=$(free_port)
milter=""
start_sink "$sink" "$E2E_T/dump"
if [ "$E2E_WITH_OUTPOST" = 1 ]; then
	op=$(free_port)
	e2e_outpost_conf "$E2E_T/outpost.conf" "$op"
	start_outpost "$E2E_T/outpost.conf"
	milter="inet:$op@127.0.0.1"
fi
start_sendmail_mta "$mta" "$sink" "$milter"

e2e_test_message "$E2E_T/sent.eml" sendmail
rc=0
send_smtp "$mta" alice@example.org bob@example.net "$E2E_T/sent.eml" || rc=$?
check_eq "swaks exit status (0 = message accepted)" "$rc" 0
check_eq "first SMTP error reply" "$(smtp_first_error)" none

# A refused message never comes: then only look briefly for a stray copy.
wait_for_dumps "$E2E_T/dump" 1 "$([ "$rc" -eq 0 ] && echo 20 || echo 2)" || true
check_eq "messages at the sink" "$(dump_count "$E2E_T/dump")" 1
check_passthrough "SMTP via Sendmail" "$E2E_T/sent.eml" "$(first_dump "$E2E_T/dump")"

if [ "$E2E_WITH_OUTPOST" = 1 ]; then
	check_alive "outpost after the message" "$OUTPOST_PID"
	stop_outpost 15 || true
	check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
fi
e2e_finish
