#!/bin/bash
# t-daemon-drops-privileges-unix-socket: started as root with milter.user,
# outpost runs as that user after opening its unix socket (group postfix,
# mode 0660) and writing its pid file; Postfix's smtpd (user postfix)
# reaches the socket and mail flows; a stale socket file left by a killed
# outpost is replaced at the next start, while a socket another live
# process listens on is refused; SIGTERM removes socket and pid file.
# Its worker threads run with the short scheduler slice they asked for.
set -eu
. "$(dirname "$0")/lib.sh"

e2e_outpost_or_baseline
[ "$E2E_WITH_OUTPOST" = 1 ] || e2e_skip "needs outpost"
id nobody >/dev/null 2>&1 || e2e_skip "no user nobody"
run=$E2E_T/run
mkdir -m 2750 "$run"
chown nobody:postfix "$run"
cat >"$E2E_T/outpost.conf" <<CONF
milter: { socket = "unix:$run/outpost.sock"; socket_group = "postfix"; socket_mode = "0660";
          user = "nobody"; pidfile = "$run/outpost.pid"; };
CONF
sink=$(free_port)
smtpd=$(free_port)
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"

check_eq "effective uid of outpost" "$(awk '/^Uid:/ {print $3}' /proc/$OUTPOST_PID/status)" "$(id -u nobody)"
check_eq "socket group and mode" "$(stat -c '%G %a' "$run/outpost.sock")" "postfix 660"
check_eq "pid file" "$(cat "$run/outpost.pid")" "$OUTPOST_PID"

start_postfix mx "$smtpd" "$sink" "unix:$run/outpost.sock"
e2e_test_message "$E2E_T/sent.eml"
send_smtp "$smtpd" alice@example.org bob@example.net "$E2E_T/sent.eml" || true
check_eq "first SMTP error reply" "$(smtp_first_error)" none
wait_for_dumps "$E2E_T/dump" 1 20 || true
check_passthrough "through the unix socket as user nobody" "$E2E_T/sent.eml" "$(first_dump "$E2E_T/dump")"

# The worker threads asked for milter.sched_slice_us
# (default 100 us), which needs no privilege; Linux 6.12+ honours it.
if printf '6.12\n%s\n' "$(uname -r)" | sort -C -V; then
	slices=$(for t in /proc/$OUTPOST_PID/task/*; do
		[ "${t##*/}" = "$OUTPOST_PID" ] || awk '/^se.slice/ {print $3}' "$t/sched"
	done | sort -u | tr '\n' ' ')
	check_match "scheduler slices (ns) of the worker threads as nobody" "$slices" "(^| )100000 "
	check_eq "the main thread's slice is not the requested one" \
		"$(awk '/^se.slice/ {print ($3 == 100000) ? "requested" : "kernel default"}' /proc/$OUTPOST_PID/sched)" \
		"kernel default"
fi

# A second outpost on the same live socket is refused, the first keeps it.
rc=0
out=$("$OUTPOST" -f -c "$E2E_T/outpost.conf" 2>&1) || rc=$?
check_eq "second outpost on a live socket: exit status" "$rc" 1
check_match "second outpost: why" "$out" "another process is listening on it"
check_alive "first outpost" "$OUTPOST_PID"

stop_outpost 15 || true
check_eq "exit status after SIGTERM" "$OUTPOST_STATUS" 0
check_eq "socket removed at exit" "$([ -e "$run/outpost.sock" ] && echo present || echo gone)" gone
check_eq "pid file removed at exit" "$([ -e "$run/outpost.pid" ] && echo present || echo gone)" gone

# A stale socket (no listener) is replaced.
"$E2E_PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$run/outpost.sock"
start_outpost "$E2E_T/outpost.conf"
check_alive "outpost over a stale socket file" "$OUTPOST_PID"
stop_outpost 15 || true
e2e_finish
