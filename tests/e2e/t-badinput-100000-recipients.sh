#!/bin/bash
# t-badinput-100000-recipients: one message with 100,000 RCPT TO sent
# straight to outpost (DKIM signing on) over the milter protocol by
# milter-client.py, as an MTA without a recipient limit of its own would
# (Postfix stops at smtpd_recipient_limit, 1,000, see
# t-badinput-through-postfix). Two rows:
#   default     limits.max_recipients = 1000: recipients 1-1,000 accepted,
#               each one after that refused with the limit action
#               (550 5.5.3 too many recipients), the transaction goes on
#               and the message is signed for the 1,000; the first ten
#               refusals are logged, the summary line counts them all;
#   raised      limits.max_recipients = 100000 (a reload): all accepted,
#               the message signed.
# Never a crash, and memory stays bounded: outpost's peak resident size
# (VmHWM in /proc) grows by less than 64 MB for the default row and
# 256 MB for the raised one (about 10 MB are needed: 100,000 addresses of
# about 30 octets, and their pointers), measured from before the row.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fault.sh"

N=100000
e2e_require_outpost
op=$(free_port)
fault_key example.org s1 rsa 2048
fault_conf "$E2E_T/outpost.conf" "$op" example.org:s1
start_outpost "$E2E_T/outpost.conf"
printf 'From: Alice <alice@example.org>\r\nTo: undisclosed-recipients:;\r\nSubject: %d recipients\r\nMessage-ID: <rcpts.%s@example.org>\r\n\r\nhello\r\n' \
	"$N" "$$" >"$E2E_T/msg.txt"

kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$OUTPOST_PID/status"; }

# row NAME MAX_KB WANT_LINES...: send the message, compare the reply lines.
row() {
	local name=$1 bound=$2 before after got
	shift 2
	before=$(kb VmRSS)
	"$E2E_PY" "$E2E_LIB_DIR/milter-client.py" --rcpts "$N" "127.0.0.1:$op" "$E2E_T/msg.txt" \
		>"$E2E_T/$name.out" 2>&1 || true
	after=$(kb VmHWM)
	got=$(grep -E '^(rcpts|eom|final|signatures|[a-z]+ closed)' "$E2E_T/$name.out" | tr '\n' ';')
	printf 'row %-8s %d recipients: %s\n    memory: VmRSS before %d kB, peak (VmHWM) after %d kB: +%d kB (bound %d kB)\n' \
		"$name" "$N" "$got" "$before" "$after" $((after - before)) "$bound"
	check_eq "$name: replies" "$got" "$(printf '%s;' "$@")"
	check_ge "$name: bound $bound kB >= peak growth (kB)" "$bound" $((after - before))
	check_alive "$name: outpost still running" "$OUTPOST_PID"
}

row default $((64 * 1024)) "rcpts 1000 continue" "rcpts $((N - 1000)) replycode 550 5.5.3 too many recipients (limits.max_recipients)" \
	"eom continue" "final continue" "signatures 1"
check_eq "default: log lines of refused recipients (the first ten)" "$(outpost_log_count 'rcpt=<rcpt-[0-9]+-bob@example.net> reject: too many recipients')" 10
check_match "default: the summary line counts the refused ones" "$(grep -a 'outpost: end=eom' "$OUTPOST_LOG" | tail -n1)" " rcpts=1000 rcpts_refused=$((N - 1000)) "

fault_conf "$E2E_T/outpost.conf" "$op" example.org:s1 "limits: { max_recipients = $N; };"
reload_outpost
wait_log 'configuration generation 2' 1 10 || wait_log 'reload' 1 10 || true
row raised $((256 * 1024)) "rcpts $N continue" "eom continue" "final continue" "signatures 1"
check_match "raised: the summary line counts them" "$(grep -a 'outpost: end=eom' "$OUTPOST_LOG" | tail -n1)" " rcpts=$N "

stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_finish
