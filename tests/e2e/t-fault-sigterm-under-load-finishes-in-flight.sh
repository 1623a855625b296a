#!/bin/bash
# t-fault-sigterm-under-load-finishes-in-flight: outpost signs (DKIM, RSA)
# the mail of a real Postfix (milter_default_action = tempfail) while
# smtp-source sends 2,000 messages, one per SMTP session, 8 sessions at a
# time. A quarter of the way in, a client holds one message in flight on
# purpose (MAIL, RCPT, DATA and half the data sent), smtp-source is
# paused, and outpost gets SIGTERM. outpost must go on serving the messages it has: the held one is
# finished half a second into the drain and is accepted, signed and
# delivered; outpost logs "stopped after N ms; no message in flight" and
# exits 0. Then it starts again and the stream goes on (smtp-source is
# paused while outpost is down, so that it cannot end before the restart). When everything
# settled, every message Postfix accepted is at the sink or still in its
# queue (lost = 0), every attempt got an answer, and every delivered
# message carries a signature; the held one and those of the second run
# verify with dkimpy.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fault.sh"

MESSAGES=2000
SESSIONS=8
TERM_AT=500 # messages signed before the SIGTERM

e2e_require_outpost
e2e_require_cmd smtp-source postfix
op=$(free_port)
sink=$(free_port)
smtpd=$(free_port)
fault_key example.org s1 rsa 2048
FAULT_MILTER='shutdown_timeout = "20s";'
fault_conf "$E2E_T/outpost.conf" "$op" example.org:s1
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op" "milter_default_action = tempfail"

# The held message (CRLF, as on the wire).
{
	printf 'From: alice@example.org\r\nTo: bob@example.net\r\nSubject: held in flight\r\n'
	printf 'Message-ID: <held.%s@example.org>\r\n\r\n' "$$"
	for ((i = 0; i < 64; i++)); do printf 'held message line %d\r\n' "$i"; done
} >"$E2E_T/held.txt"

t0=$EPOCHREALTIME
e2e_log "sending $MESSAGES messages over $SESSIONS sessions"
stream_start "$smtpd" "$MESSAGES" "$SESSIONS"
wait_log 'dkim=sign' "$TERM_AT" 60
"$E2E_PY" "$E2E_LIB_DIR/smtp-raw.py" --hold "$E2E_T/release" "127.0.0.1:$smtpd" \
	alice@example.org bob@example.net "$E2E_T/held.txt" >"$E2E_T/held.out" 2>&1 &
held=$!
e2e_track "$held" "held SMTP client"
for ((i = 0; i < 100; i++)); do
	grep -q '^held$' "$E2E_T/held.out" && break
	e2e_running "$held" || break
	sleep 0.1
done
check_match "a message held in flight (its client's replies so far)" "$(cat "$E2E_T/held.out")" '^held$'

# smtp-source pauses while outpost is down: Postfix answers 4xx at once
# then, and the rest of the stream could end before the restart.
kill -STOP "$STREAM_PID"
old_pid=$OUTPOST_PID
old_start=$(e2e_starttime "$old_pid")
kill -TERM "$old_pid"
wait_log 'signal 15: stopping' 1 10
e2e_log "SIGTERM after $(outpost_log_count 'dkim=sign') signed messages ($(e2e_elapsed "$t0") s)"
sleep 0.5 # the held message stays in flight for half a second of the drain
touch "$E2E_T/release"
# SIGSTOP may have caught a session of smtp-source inside a transaction,
# after a reply and before its next command: outpost would then wait the
# whole shutdown_timeout for a message nobody sends. Let smtp-source run
# in short pulses until outpost is gone, so that such a transaction ends
# in the drain too; a session it opens meanwhile finds the milter's
# listener closed and gets Postfix's 4xx (counted as refused below).
for ((i = 0; i < 100; i++)); do
	e2e_same_proc "$old_pid" "$old_start" || break
	kill -CONT "$STREAM_PID"
	sleep 0.02
	kill -STOP "$STREAM_PID"
	sleep 0.2
done
if ! e2e_wait_gone "$old_pid" "$old_start" 5; then
	e2e_fail "outpost still running 27 s after SIGTERM (shutdown_timeout 20 s): SIGKILL"
	kill -KILL "$old_pid"
fi
wait "$old_pid" 2>/dev/null && old_rc=0 || old_rc=$?
e2e_untrack "$old_pid"
e2e_log "outpost stopped ($(e2e_elapsed "$t0") s)"
check_eq "outpost's exit status after SIGTERM under load" "$old_rc" 0
check_match "outpost's stop line" "$(grep -E 'stopped after|stopping with' "$OUTPOST_LOG")" \
	'stopped after [0-9]+ ms; no message in flight$'
wait "$held" 2>/dev/null || true
e2e_untrack "$held"
check_match "the held message: reply after its data" "$(grep '^end ' "$E2E_T/held.out")" \
	'^end 250 2\.0\.0 Ok: queued as [0-9A-Za-z]+$'
held_id=$(sed -n 's/^end 250 .*queued as //p' "$E2E_T/held.out")
sed -n '/signal 15: stopping/,/stopped after/p' "$OUTPOST_LOG" >"$E2E_T/drain.log"
check_eq "the held message ended during the drain, signed" \
	"$(grep -c "${held_id:-none}: outpost: end=eom verdict=continue .*dkim=sign" "$E2E_T/drain.log" || true)" 1
printf 'messages that ended during the drain: %d (%d signed)\n' \
	"$(grep -c ': outpost: end=' "$E2E_T/drain.log" || true)" "$(grep -c 'dkim=sign' "$E2E_T/drain.log" || true)"

start_outpost "$E2E_T/outpost.conf"
e2e_log "outpost restarted ($(e2e_elapsed "$t0") s)"
kill -CONT "$STREAM_PID"
stream_wait 120
e2e_log "smtp-source done after $(e2e_elapsed "$t0") s"
check_eq "smtp-source exit status" "$STREAM_RC" 0
[ "$STREAM_RC" -eq 0 ] || grep -v '^smtp-source: \(<<<\|[A-Z]\)' "$STREAM_LOG" | sed -n '1,5s/^/    /p'

# The held message counts among the attempts: accepted (its queue id) or
# refused (its client got the reply).
ACC_EXTRA_IDS=$held_id
ACC_EXTRA_REFUSED=0
[ -n "$held_id" ] || ACC_EXTRA_REFUSED=1
want=$(($(stream_accepted | wc -l) + 1 - ACC_EXTRA_REFUSED))
settle mx "$E2E_T/dump" "$want" 60 || true
e2e_log "settled after $(e2e_elapsed "$t0") s"
account mx "$E2E_T/dump" $((MESSAGES + 1))
check_eq "messages left in Postfix's queue" "$(postfix_queue_count mx)" 0

# Signatures: all delivered carry one; the held one and those of run 2 verify.
check_eq "messages at the sink without a DKIM-Signature" \
	"$(grep -L '^DKIM-Signature:' "$E2E_T"/dump/* | wc -l)" 0
{ signed_in_run 2; [ -z "$held_id" ] || echo "$held_id"; } | sort -u >"$E2E_T/to-verify"
mapfile -t files < <(dump_ids "$E2E_T/dump" | awk 'NR == FNR {want[$1]; next} $1 in want {print $3}' "$E2E_T/to-verify" -)
check_ge "messages signed by the restarted outpost, delivered" "$((${#files[@]} - 1))" 1
verify_dumps "${files[@]}" >"$E2E_T/verify.out" || true
check_eq "the held message and those signed after the restart: verified by dkimpy" \
	"$(tail -n1 "$E2E_T/verify.out")" "total messages=${#files[@]} signed=${#files[@]} verified=${#files[@]}"
check_alive "outpost after the stream" "$OUTPOST_PID"
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_log "done after $(e2e_elapsed "$t0") s"
e2e_finish
