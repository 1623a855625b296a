#!/bin/bash
# t-reload-under-load: outpost (no module enabled) behind Postfix keeps
# passing every message while it reloads its configuration again and again:
# smtp-source sends 300 messages over 10 parallel sessions (one message per
# SMTP session, so 300 milter connections) while the test rewrites the
# config (a comment and limits.max_headers change) and sends SIGHUP every
# 0.1 s. Every message must reach the sink, none may stay queued, outpost must
# still run, and no reload may be refused.
set -eu
. "$(dirname "$0")/lib.sh"

MESSAGES=300
SESSIONS=10
MIN_RELOADS=3 # SIGHUPs that must land while the load is running

e2e_outpost_or_baseline
sink=$(free_port)
smtpd=$(free_port)
milter=""
start_sink "$sink" "$E2E_T/dump"

# write_conf N: atomically replace outpost.conf with variant N (the comment
# changes every time, the limits section on odd N).
write_conf() {
	local limits=""
	[ $(($1 % 2)) -eq 1 ] && limits="limits: { max_headers = $((900 + $1)); };"
	e2e_outpost_conf "$E2E_T/outpost.conf.new" "$op" "# variant $1" "$limits"
	mv "$E2E_T/outpost.conf.new" "$E2E_T/outpost.conf"
}

if [ "$E2E_WITH_OUTPOST" = 1 ]; then
	op=$(free_port)
	write_conf 1
	check_cmd "outpost -n accepts the config with a limits section" "$OUTPOST" -n -c "$E2E_T/outpost.conf"
	write_conf 0
	check_cmd "outpost -n accepts the config without one" "$OUTPOST" -n -c "$E2E_T/outpost.conf"
	start_outpost "$E2E_T/outpost.conf"
	milter="inet:127.0.0.1:$op"
fi
start_postfix load "$smtpd" "$sink" "$milter"

e2e_log "sending $MESSAGES messages over $SESSIONS sessions"
t0=$EPOCHREALTIME
smtp-source -s "$SESSIONS" -m "$MESSAGES" -l 2000 -M client.outpost-e2e.test \
	-f alice@example.org -t bob@example.net "127.0.0.1:$smtpd" >"$E2E_T/smtp-source.log" 2>&1 &
src=$!
e2e_track "$src" smtp-source

reloads=0
while e2e_running "$src"; do
	if [ "$E2E_WITH_OUTPOST" = 1 ]; then
		write_conf $((reloads + 2))
		reload_outpost
		reloads=$((reloads + 1))
	fi
	sleep 0.1
done
rc=0
wait "$src" || rc=$?
e2e_untrack "$src"
e2e_log "smtp-source done after $(e2e_elapsed "$t0") s, $reloads SIGHUPs"
check_eq "smtp-source exit status" "$rc" 0
[ "$rc" -eq 0 ] || sed -n '1,5s/^/    /p' "$E2E_T/smtp-source.log"

wait_for_dumps "$E2E_T/dump" "$MESSAGES" 60 || true
e2e_log "all delivered after $(e2e_elapsed "$t0") s"
check_eq "messages at the sink" "$(dump_count "$E2E_T/dump")" "$MESSAGES"
check_eq "messages left in Postfix's queue" "$(postfix_queue_count load)" 0

if [ "$E2E_WITH_OUTPOST" = 1 ]; then
	check_ge "SIGHUPs sent during the load" "$reloads" "$MIN_RELOADS"
	check_alive "outpost after the reloads" "$OUTPOST_PID"
	# outpost logs "reload: configuration generation N ... is active" per
	# reload it applied (SIGHUPs that arrive during a reload coalesce) and
	# "reload refused" when a new config is bad.
	applied=$(grep -c 'reload: configuration generation [0-9]* .*is active' "$OUTPOST_LOG" || true)
	check_ge "reloads applied by outpost (of $reloads SIGHUPs)" "$applied" 1
	check_eq "reloads refused by outpost" "$(grep -c 'reload refused' "$OUTPOST_LOG" || true)" 0
	stop_outpost 15 || true
	check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
fi
e2e_finish
