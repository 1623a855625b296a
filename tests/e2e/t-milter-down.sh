#!/bin/bash
# t-milter-down: Postfix's behaviour while outpost is not running, and the
# recovery once it starts:
#   1. milter_default_action = tempfail: SMTP gets 451 4.7.1 at MAIL FROM and
#      nothing is delivered;
#   2. milter_default_action = accept: the message is delivered, unchanged;
#   3. a local submission (non_smtpd_milters, tempfail) stays in the queue
#      and nothing is delivered;
#   4. once outpost listens and the queue is flushed, that message is
#      delivered, unchanged (compared as in t-postfix-smtp-passthrough.sh).
# Steps 1-3 need no outpost; when it is not built they still run and the
# test then exits 77 (skipped) for step 4.
set -eu
. "$(dirname "$0")/lib.sh"

op=$(free_port) # nothing listens here until step 4
milter="inet:127.0.0.1:$op"
sink_tf=$(free_port)
sink_acc=$(free_port)
smtpd_tf=$(free_port)
smtpd_acc=$(free_port)
start_sink "$sink_tf" "$E2E_T/dump-tf"
start_sink "$sink_acc" "$E2E_T/dump-acc"
start_postfix tempfail "$smtpd_tf" "$sink_tf" "$milter" "milter_default_action = tempfail"
start_postfix accept "$smtpd_acc" "$sink_acc" "$milter" "milter_default_action = accept"
e2e_test_message "$E2E_T/sent.eml"

e2e_log "1. tempfail, SMTP"
rc=0
send_smtp "$smtpd_tf" alice@example.org bob@example.net "$E2E_T/sent.eml" || rc=$?
check_match "tempfail: swaks exit status (non-zero = refused)" "$rc" '^[1-9][0-9]*$'
check_match "tempfail: reply to MAIL FROM" "$(smtp_reply_to 'MAIL FROM')" '^451 4\.7\.1 '

e2e_log "2. accept, SMTP"
rc=0
send_smtp "$smtpd_acc" alice@example.org bob@example.net "$E2E_T/sent.eml" || rc=$?
check_eq "accept: swaks exit status (0 = accepted)" "$rc" 0
check_eq "accept: first SMTP error reply" "$(smtp_first_error)" none
wait_for_dumps "$E2E_T/dump-acc" 1 20 || true
check_eq "accept: messages at the sink" "$(dump_count "$E2E_T/dump-acc")" 1
check_passthrough "accept: delivered without milter" "$E2E_T/sent.eml" "$(first_dump "$E2E_T/dump-acc")"

e2e_log "3. tempfail, local submission"
rc=0
postfix_sendmail tempfail -i -f alice@example.org bob@example.net <"$E2E_T/sent.eml" || rc=$?
check_eq "tempfail: sendmail exit status (queued)" "$rc" 0
# Give pickup and cleanup time to try (and fail) to reach the milter.
for ((i = 0; i < 30; i++)); do
	grep -qi 'milter.*127.0.0.1:'"$op"'.*refused' "$(postfix_log tempfail)" && break
	sleep 0.1
done
sleep 1
check_eq "tempfail: messages at the sink (SMTP and local)" "$(dump_count "$E2E_T/dump-tf")" 0
check_eq "tempfail: messages held in the queue" "$(postfix_queue_count tempfail)" 1

if [ ! -x "$OUTPOST" ]; then
	[ "$E2E_FAILS" -eq 0 ] || e2e_finish
	e2e_skip "outpost not built: steps 1-3 passed, step 4 (delivery once outpost runs) not run"
fi

e2e_log "4. outpost starts, queue flushed"
e2e_outpost_conf "$E2E_T/outpost.conf" "$op"
start_outpost "$E2E_T/outpost.conf"
postfix_flush tempfail
wait_for_dumps "$E2E_T/dump-tf" 1 30 || true
check_eq "recovered: messages at the sink" "$(dump_count "$E2E_T/dump-tf")" 1
check_passthrough "recovered: local submission" "$E2E_T/sent.eml" "$(first_dump "$E2E_T/dump-tf")"
check_eq "recovered: messages left in the queue" "$(postfix_queue_count tempfail)" 0
check_alive "outpost after the message" "$OUTPOST_PID"
e2e_finish
