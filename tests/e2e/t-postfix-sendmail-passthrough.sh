#!/bin/bash
# t-postfix-sendmail-passthrough: outpost with no module enabled, as Postfix's
# non_smtpd_milters, passes a locally submitted message (sendmail -C DIR,
# i.e. postdrop -> pickup -> cleanup) through unchanged.
#
# Comparison: as in t-postfix-smtp-passthrough.sh. The sink's dump, minus
# smtp-sink's X-* lines and the leading Received: headers (smtp-sink's and
# Postfix's "Received: by ... (Postfix, from userid 0)"), minus the newline
# smtp-sink appends, must equal the submitted file byte for byte. All header
# addresses are fully qualified and the message carries Date and Message-ID,
# so Postfix itself rewrites and adds nothing. `sendmail -i` keeps the lone
# "." line of the body as data.
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
start_postfix local "$smtpd" "$sink" "$milter"

e2e_test_message "$E2E_T/sent.eml"
rc=0
postfix_sendmail local -i -f alice@example.org bob@example.net <"$E2E_T/sent.eml" || rc=$?
check_eq "sendmail exit status" "$rc" 0

wait_for_dumps "$E2E_T/dump" 1 20 || true
check_eq "messages at the sink" "$(dump_count "$E2E_T/dump")" 1
check_passthrough "local submission via Postfix" "$E2E_T/sent.eml" "$(first_dump "$E2E_T/dump")"
check_eq "messages left in Postfix's queue" "$(postfix_queue_count local)" 0

if [ "$E2E_WITH_OUTPOST" = 1 ]; then
	check_alive "outpost after the message" "$OUTPOST_PID"
	stop_outpost 15 || true
	check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
fi
e2e_finish
