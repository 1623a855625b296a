#!/bin/bash
# t-fault-sigkill-mid-stream-loses-nothing: outpost signs (DKIM, RSA) the
# mail of a real Postfix (milter_default_action = tempfail) while
# smtp-source sends 2,000 messages, one per SMTP session, 8 sessions at a
# time. A quarter of the way in, outpost is killed with SIGKILL; while it is
# down, Postfix refuses new mail with 451 (the client keeps it). Once it has
# refused something, the stream is paused, 20 local submissions (sendmail
# command, non_smtpd_milters) are made and must wait in Postfix's queue,
# then outpost starts again and the stream resumes. When everything
# settled (queue flushed), every message Postfix accepted by SMTP is at the
# sink or still in Postfix's queue, matched by queue id (lost = 0); every
# attempt got an answer (accepted + refused = 2,000); the local submissions
# are delivered; and every message signed after the restart (its summary
# line comes after the restart) arrives with a signature that dkimpy
# verifies.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fault.sh"

MESSAGES=2000
SESSIONS=8
KILL_AT=500 # messages signed before the SIGKILL
LOCAL=20    # local submissions while outpost is down

e2e_require_outpost
e2e_require_cmd smtp-source postfix
op=$(free_port)
sink=$(free_port)
smtpd=$(free_port)
fault_key example.org s1 rsa 2048
fault_conf "$E2E_T/outpost.conf" "$op" example.org:s1
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op" "milter_default_action = tempfail"

t0=$EPOCHREALTIME
e2e_log "sending $MESSAGES messages over $SESSIONS sessions"
stream_start "$smtpd" "$MESSAGES" "$SESSIONS"
wait_log 'dkim=sign' "$KILL_AT" 60
signed_before=$(outpost_log_count 'dkim=sign')
old_pid=$OUTPOST_PID
kill -KILL "$old_pid"
wait "$old_pid" 2>/dev/null && old_rc=0 || old_rc=$?
e2e_untrack "$old_pid"
e2e_log "SIGKILL after $signed_before signed messages ($(e2e_elapsed "$t0") s)"
check_eq "outpost's exit status after SIGKILL" "$old_rc" 137

# While it is down, Postfix refuses the stream's mail. Once it did, the
# stream is paused (SIGSTOP) so that the rest of it comes after the restart
# however slow this machine is; meanwhile, local submissions.
for ((i = 0; i < 100; i++)); do
	[ -n "$(stream_first_refused)" ] && break
	e2e_running "$STREAM_PID" || break
	sleep 0.1
done
kill -STOP "$STREAM_PID" 2>/dev/null || true
check_match "Postfix refused mail while outpost was down" "$(stream_first_refused)" '^[a-z ]+rejected: 451 4\.7\.1 '
for ((i = 1; i <= LOCAL; i++)); do
	printf 'From: alice@example.org\nTo: bob@example.net\nSubject: local %d\nMessage-ID: <local.%d.%s@example.org>\n\nlocal submission %d\n' \
		"$i" "$i" "$$" "$i" |
		postfix_sendmail mx -i -f alice@example.org bob@example.net
done
check_eq "local submissions delivered while outpost was down" \
	"$(grep -l '^Subject: local ' "$E2E_T"/dump/* 2>/dev/null | wc -l)" 0
check_ge "messages Postfix holds while outpost is down (the local submissions)" \
	"$(postfix_queue_count mx)" "$LOCAL"
start_outpost "$E2E_T/outpost.conf"
kill -CONT "$STREAM_PID" 2>/dev/null || true
e2e_log "outpost restarted, stream resumed ($(e2e_elapsed "$t0") s)"

stream_wait 120
e2e_log "smtp-source done after $(e2e_elapsed "$t0") s"
check_eq "smtp-source exit status" "$STREAM_RC" 0
[ "$STREAM_RC" -eq 0 ] || grep -v '^smtp-source: \(<<<\|[A-Z]\)' "$STREAM_LOG" | sed -n '1,5s/^/    /p'

want=$(($(stream_accepted | wc -l) + LOCAL))
settle mx "$E2E_T/dump" "$want" 60 || true
e2e_log "settled after $(e2e_elapsed "$t0") s"
account mx "$E2E_T/dump" "$MESSAGES"
check_eq "local submissions delivered" "$(grep -l '^Subject: local ' "$E2E_T"/dump/* 2>/dev/null | wc -l)" "$LOCAL"
check_eq "messages left in Postfix's queue" "$(postfix_queue_count mx)" 0

# The summary lines of the second run name the queue ids it signed.
signed_in_run 2 | sort -u >"$E2E_T/signed-after"
dump_ids "$E2E_T/dump" | awk 'NR == FNR {want[$1]; next} $1 in want' "$E2E_T/signed-after" - >"$E2E_T/after"
mapfile -t after < <(awk '{print $3}' "$E2E_T/after")
check_ge "SMTP messages signed by the restarted outpost (the stream went on)" \
	"$(grep -c ' smtp ' "$E2E_T/after" || true)" 1
check_eq "local submissions signed by the restarted outpost" "$(grep -c ' local ' "$E2E_T/after" || true)" "$LOCAL"
verify_dumps "${after[@]}" >"$E2E_T/verify.out" || true
check_eq "signed after the restart: verified by dkimpy" "$(tail -n1 "$E2E_T/verify.out")" \
	"total messages=${#after[@]} signed=${#after[@]} verified=${#after[@]}"
check_eq "messages at the sink without a DKIM-Signature" \
	"$(grep -L '^DKIM-Signature:' "$E2E_T"/dump/* | wc -l)" 0
check_alive "outpost after the stream" "$OUTPOST_PID"
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_log "done after $(e2e_elapsed "$t0") s"
e2e_finish
