#!/bin/bash
# t-fault-event-log-full-disk-keeps-mail-flowing: outpost signs (DKIM, RSA)
# the mail of a real Postfix and writes its event log (event.file) to a
# 64 KiB tmpfs, with event.max_queue at its minimum (64 KiB). The tmpfs
# lives in a mount namespace of outpost's own (it disappears with outpost,
# whatever way the test ends). smtp-source sends 400 messages, one per
# SMTP session, 4 at a time; with events of about 460 bytes the disk
# fills up after about 140, the queue in memory after as many more. What
# the manual (outpost.conf(5), event) promises, and this test checks:
#   - mail never waits for the disk: every message is accepted, delivered
#     and signed (dkimpy verifies each), outpost keeps running;
#   - every message's event is written, waiting in memory, or dropped and
#     counted; the count shows in `outpostctl status` and in
#     outpost_event_lines_dropped_total, and a warning names it;
#   - a line is written whole or not at all: every line of the file is one
#     JSON object, and there are exactly as many as the "written" count;
#   - once the disk has room again (the tmpfs is grown), the waiting
#     events are written: written + dropped = messages (= summary lines),
#     and 10 more messages are all written, none dropped.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fault.sh"

MESSAGES=400
SESSIONS=4
MORE=10 # messages once the disk has room again

e2e_require_outpost
e2e_require_cmd smtp-source postfix unshare nsenter jq curl
op=$(free_port)
sink=$(free_port)
smtpd=$(free_port)
mport=$(free_port)
evdir=$E2E_T/events # the tmpfs, seen only by outpost
mkdir "$evdir"
CTL=$TOP/outpostctl

# outpost in a mount namespace of its own with the tmpfs on $evdir: unshare
# and sh exec, so OUTPOST_PID is outpost's own PID.
real=$OUTPOST
cat >"$E2E_T/outpost-on-tmpfs" <<EOF
#!/bin/sh
exec unshare --mount --propagation private sh -c \\
	'mount -t tmpfs -o size=64k,mode=0755 outpost-e2e-events "\$0" && exec "\$@"' \\
	$(printf %q "$evdir") $(printf %q "$real") "\$@"
EOF
chmod 755 "$E2E_T/outpost-on-tmpfs"
OUTPOST=$E2E_T/outpost-on-tmpfs

fault_key example.org s1 rsa 2048
fault_conf "$E2E_T/outpost.conf" "$op" example.org:s1 \
	"event: { file = \"$evdir/events.json\"; max_queue = \"64K\"; };" \
	"metrics: { listen = \"127.0.0.1:$mport\"; };" \
	"control: { socket = \"$E2E_T/control.sock\"; };"
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op"

# in_outpost_ns CMD...: run CMD in outpost's mount namespace.
in_outpost_ns() { nsenter -t "$OUTPOST_PID" -m "$@"; }
# counts: "WRITTEN DROPPED" from outpostctl --json status.
counts() { "$CTL" -c "$E2E_T/outpost.conf" --json status | jq -r '"\(.events.written) \(.events.dropped)"'; }
# metric NAME: one sample of a fresh scrape.
metric() { curl -sf "http://127.0.0.1:$mport/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
file_lines() { in_outpost_ns sh -c 'cat "$1" 2>/dev/null | wc -l' _ "$evdir/events.json"; }

check_eq "the tmpfs, as outpost sees it" "$(in_outpost_ns df -k --output=size,fstype "$evdir" | tail -n1 | tr -s ' ')" " 64 tmpfs"
check_eq "the tmpfs is not on the host" "$(findmnt -n "$evdir" | wc -l)" 0

t0=$EPOCHREALTIME
stream_start "$smtpd" "$MESSAGES" "$SESSIONS"
stream_wait 120
check_eq "smtp-source exit status" "$STREAM_RC" 0
settle mx "$E2E_T/dump" "$MESSAGES" 60 || true
e2e_log "stream settled after $(e2e_elapsed "$t0") s"
account mx "$E2E_T/dump" "$MESSAGES"
check_eq "messages accepted by Postfix" "$ACC_ACCEPTED" "$MESSAGES"
check_eq "messages delivered" "$ACC_DELIVERED" "$MESSAGES"
mapfile -t dumps < <(ls "$E2E_T"/dump/*)
verify_dumps "${dumps[@]}" >"$E2E_T/verify.out" || true
check_eq "signatures verified by dkimpy" "$(tail -n1 "$E2E_T/verify.out")" \
	"total messages=$MESSAGES signed=$MESSAGES verified=$MESSAGES"
wait_log ': outpost: end=' "$MESSAGES" 20 || true
summaries=$(outpost_log_count ': outpost: end=')
check_eq "summary lines (one per message)" "$summaries" "$MESSAGES"
check_alive "outpost with its event disk full" "$OUTPOST_PID"

# The disk is full: some events written, some waiting, the rest dropped.
read -r written dropped <<<"$(counts)"
lines=$(file_lines)
e2e_log "disk full: $written events written ($lines lines in the file), $dropped dropped, $((MESSAGES - written - dropped)) waiting in memory"
printf 'disk full: %d messages, %d events written, %d dropped, %d waiting in memory\n' \
	"$MESSAGES" "$written" "$dropped" "$((MESSAGES - written - dropped))"
check_ge "events dropped while the disk was full" "$dropped" 1
check_ge "events written before the disk was full" "$written" 1
check_ge "events accounted for (written + dropped <= messages)" "$MESSAGES" "$((written + dropped))"
check_eq "lines in the file = events written" "$lines" "$written"
check_eq "outpost_event_lines_dropped_total = outpostctl's dropped" "$(metric outpost_event_lines_dropped_total)" "$dropped"
check_match "a warning counts the dropped events" \
	"$(grep -m1 'event: [0-9]* events dropped' "$OUTPOST_LOG" || true)" \
	'outpost\[warning\]: event: [1-9][0-9]* events dropped \([0-9]+ in all\): the queue was full'

# Room again: the writer retries every second and writes what waits.
in_outpost_ns mount -o remount,size=4m "$evdir"
for ((i = 0; i < 100; i++)); do
	read -r written dropped <<<"$(counts)"
	[ $((written + dropped)) -ge "$MESSAGES" ] && break
	sleep 0.1
done
printf 'disk has room: %d events written, %d dropped (written + dropped = %d, messages %d)\n' \
	"$written" "$dropped" "$((written + dropped))" "$MESSAGES"
check_eq "written + dropped = messages, once the disk has room" "$((written + dropped))" "$MESSAGES"
drop1=$dropped

# 10 more messages: each written, none dropped.
stream_start "$smtpd" "$MORE" 1
stream_wait 60
check_eq "smtp-source exit status (after)" "$STREAM_RC" 0
settle mx "$E2E_T/dump" $((MESSAGES + MORE)) 30 || true
check_eq "messages delivered in all" "$(dump_count "$E2E_T/dump")" $((MESSAGES + MORE))
wait_log ': outpost: end=' $((MESSAGES + MORE)) 20 || true
for ((i = 0; i < 50; i++)); do
	read -r written dropped <<<"$(counts)"
	[ $((written + dropped)) -ge $((MESSAGES + MORE)) ] && break
	sleep 0.1
done
check_eq "events dropped after the disk had room" "$((dropped - drop1))" 0
check_eq "written + dropped = messages, in the end" "$((written + dropped))" $((MESSAGES + MORE))
check_eq "outpost_event_lines_written_total" "$(metric outpost_event_lines_written_total)" "$written"

# The file: whole lines only, one JSON object each, as many as written,
# each message at most once.
in_outpost_ns cat "$evdir/events.json" >"$E2E_T/events.json"
check_eq "lines in the file = events written, in the end" "$(wc -l <"$E2E_T/events.json")" "$written"
check_eq "the file ends with a newline (no half line)" "$(tail -c1 "$E2E_T/events.json" | od -An -c | tr -d ' ')" '\n'
check_eq "lines that are not one JSON object with a queue id" \
	"$(jq -R -r 'fromjson? | .queue_id // empty' "$E2E_T/events.json" | wc -l)" "$written"
check_eq "messages with two events" "$(jq -r .queue_id "$E2E_T/events.json" | sort | uniq -d | wc -l)" 0
check_eq "events of the last $MORE messages in the file" \
	"$(tail -n "$MORE" "$E2E_T/events.json" | jq -r .verdict | sort | uniq -c | tr -s ' ')" " $MORE continue"
check_alive "outpost after the disk came back" "$OUTPOST_PID"
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_finish
