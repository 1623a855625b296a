# lib.sh - shared helpers of outpost's end-to-end tests (bash, root only).
#
# Sourced by each tests/e2e/t-*.sh after `set -eu`. It owns everything a test
# starts: a private temp dir, private Postfix instances, smtp-sink, Sendmail,
# NSD in a network namespace, Redis, outpost itself. Every process is recorded
# by PID (with its start time, so a reused PID is never hit) and stopped by
# e2e_cleanup on EXIT, INT and TERM; nothing is ever killed by name, because a
# developer's own Postfix or another test may run beside us.
#
# The test process makes itself a "child subreaper" (prctl), so daemons that
# detach (postfix master, sendmail children) stay its descendants: cleanup can
# then sweep whatever is left, and their zombies are reaped here rather than by
# PID 1 (which does not reap on some CI machines).
#
# Conventions: functions return 0 on success and non-zero on failure (so a
# failed setup step stops the test under `set -e`, with a FAIL line from the
# ERR trap); check_* assertions always return 0 and count failures instead, so
# one failed check never skips the others or the cleanup. Exit status: 0 pass,
# 1 fail, 77 skipped. Read HARNESS.md (/work/shared) for why each recipe is so.
#
# Environment: OUTPOST (daemon binary, default $TOP/outpost), E2E_KEEP=1 (keep
# the temp dir even on success), E2E_DEBUG=1 (Sendmail writes a traffic log,
# sm-PORT/traffic.log), E2E_NO_MILTER=1 (see e2e_outpost_or_baseline),
# E2E_SENDMAIL_CACHE (unpacked Sendmail, default /var/cache/outpost-e2e/sendmail).

# Variables set here are read by the tests that source this file.
# shellcheck disable=SC2034

# Re-exec this test as a child subreaper before anything else is started.
# The attribute survives execve; the PID stays the same, so E2E_REAPER == $$
# tells the second pass that it is done.
if [ "${E2E_REAPER:-}" != "$$" ]; then
	export E2E_REAPER=$$
	if [ -x /usr/bin/python3 ]; then
		exec /usr/bin/python3 -c '
import ctypes, os, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
except Exception:
    pass
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
	fi
fi

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$E2E_LIB_DIR/../.." && pwd)
OUTPOST=${OUTPOST:-$TOP/outpost}
E2E_TEST=$(basename "$0" .sh)
E2E_SENDMAIL_CACHE=${E2E_SENDMAIL_CACHE:-/var/cache/outpost-e2e/sendmail}
E2E_PY=/usr/bin/python3 # Debian's python: dkim, spf, dns modules live there

E2E_CHECKS=0    # assertions run
E2E_FAILS=0     # assertions (or setup steps) failed
E2E_PROCS=()    # "pid starttime label" of every process we started
E2E_POSTFIX=()  # config dirs of private Postfix instances
E2E_NETNS=()    # network namespaces we created
E2E_NETNS_ETC=() # /etc/netns/NAME directories we created
E2E_NETNS_TOPDIR=0 # 1 when we created /etc/netns itself
E2E_NS=""       # namespace that start_* and send_smtp use ("" = host)
E2E_PFX=()      # command prefix for that namespace
E2E_CLEANED=0
OUTPOST_PID=""
OUTPOST_LOG=""
OUTPOST_STATUS=""
SMTP_LOG=""

# ---------------------------------------------------------------------------
# Messages, assertions, result
# ---------------------------------------------------------------------------

# Print a progress line on stderr (run.sh keeps it in the test's log).
e2e_log() {
	printf '# %(%T)T %s\n' -1 "$*" >&2
}

# e2e_elapsed T0: print the seconds since T0 (a saved $EPOCHREALTIME) with
# one decimal, e.g. "2.4" (bash arithmetic only).
e2e_elapsed() {
	local now=${EPOCHREALTIME/[.,]/} t0=${1/[.,]/} d
	d=$(((10#$now - 10#$t0) / 100000))
	printf '%d.%d\n' $((d / 10)) $((d % 10))
}

# Record a passed check and print "ok: WHAT". Returns 0.
e2e_pass() {
	E2E_CHECKS=$((E2E_CHECKS + 1))
	printf 'ok: %s\n' "$*"
}

# Record a failed check and print "FAIL: WHAT". Returns 0 (never aborts).
e2e_fail() {
	E2E_CHECKS=$((E2E_CHECKS + 1))
	E2E_FAILS=$((E2E_FAILS + 1))
	printf 'FAIL: %s\n' "$*"
}

# e2e_brief TEXT: print TEXT on one line (newlines shown as \n), cut to 300
# characters, so that a check on a whole log file stays one readable line.
e2e_brief() {
	local s=${1//$'\n'/\\n}
	if [ "${#s}" -gt 300 ]; then
		s="${s:0:300}... (${#1} characters)"
	fi
	printf '%s' "$s"
}

# check_eq WHAT GOT WANT: pass when the two strings are equal. Returns 0.
check_eq() {
	if [ "$2" = "$3" ]; then
		e2e_pass "$1: $(e2e_brief "$2")"
	else
		e2e_fail "$1: got '$(e2e_brief "$2")', wanted '$(e2e_brief "$3")'"
	fi
}

# check_match WHAT GOT ERE: pass when GOT matches the extended regex (grep -E,
# line by line: any line of a multi-line GOT may match). Returns 0.
check_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		e2e_pass "$1: $(e2e_brief "$2")"
	else
		e2e_fail "$1: got '$(e2e_brief "$2")', wanted a match of /$3/"
	fi
}

# check_ge WHAT GOT MIN: pass when the integer GOT is at least MIN. Returns 0.
check_ge() {
	if [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ]; then
		e2e_pass "$1: $2"
	else
		e2e_fail "$1: got '$2', wanted at least $3"
	fi
}

# check_cmd WHAT CMD...: pass when CMD exits 0; its output is shown only when
# it fails. Returns 0.
check_cmd() {
	local what=$1 rc=0 out
	shift
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		e2e_pass "$what"
	else
		e2e_fail "$what: got exit $rc, wanted 0 ($*)"
		printf '%s\n' "$out" | sed -n '1,20s/^/    /p'
	fi
}

# check_alive WHAT PID: pass when PID is a running (non-zombie) process. Returns 0.
check_alive() {
	if e2e_running "$2"; then
		e2e_pass "$1: pid $2 running"
	else
		e2e_fail "$1: got pid $2 gone, wanted it running"
	fi
}

# check_files_eq WHAT GOTFILE WANTFILE: pass when the files are byte-identical;
# otherwise print both sizes and a diff with visible line ends. Returns 0.
check_files_eq() {
	if cmp -s "$2" "$3"; then
		e2e_pass "$1: $(wc -c <"$3") bytes identical"
		return 0
	fi
	e2e_fail "$1: got $2 ($(wc -c <"$2") bytes), wanted $3 ($(wc -c <"$3") bytes)"
	diff <(cat -A "$3") <(cat -A "$2") | sed -n '1,40s/^/    /p' || true
}

# Stop the test now as skipped (exit 77) with REASON. Does not return.
e2e_skip() {
	printf 'skipped: %s\n' "$*"
	exit 77
}

# Skip unless the outpost binary exists. Returns 0 when it does.
e2e_require_outpost() {
	[ -x "$OUTPOST" ] || e2e_skip "outpost not built ($OUTPOST)"
}

# Decide whether this test puts outpost in the mail path: sets
# E2E_WITH_OUTPOST=1 normally (and skips the test when outpost is not built),
# 0 when E2E_NO_MILTER=1 (a self-test of the harness: the MTA path alone must
# already be transparent). Returns 0.
e2e_outpost_or_baseline() {
	if [ "${E2E_NO_MILTER:-0}" = 1 ]; then
		E2E_WITH_OUTPOST=0
		e2e_log "E2E_NO_MILTER=1: running without outpost (harness baseline)"
		return 0
	fi
	E2E_WITH_OUTPOST=1
	e2e_require_outpost
}

# Skip unless every named command is on PATH. Returns 0 when all are.
e2e_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || e2e_skip "$c not installed"
	done
}

# End the test: exit 0 when no check failed, 1 otherwise (EXIT trap cleans up).
e2e_finish() {
	if [ "$E2E_FAILS" -eq 0 ]; then
		exit 0
	fi
	exit 1
}

# ERR trap: a command failed under `set -e` (a setup step, usually): count it
# and name the command and the call chain, test line first. The test then
# exits and the EXIT trap cleans up.
e2e_on_err() {
	local rc=$1 cmd=$2 i where=""
	E2E_CHECKS=$((E2E_CHECKS + 1))
	E2E_FAILS=$((E2E_FAILS + 1))
	for ((i = ${#FUNCNAME[@]} - 1; i >= 1; i--)); do
		where="$where ${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}"
		[ "$i" -gt 1 ] && where="$where>${FUNCNAME[i - 1]}"
	done
	printf 'FAIL: command failed (exit %s) at%s: %s\n' "$rc" "$where" "$cmd"
}

# Fail the test when a log of outpost in E2E_T (OUTPOST_LOG and any other
# outpost*.log) holds a sanitizer report: with OUTPOST pointing at the
# --enable-sanitizers build (tests/run.sh), ASan, UBSan and LeakSanitizer
# write to its stderr, the leak report when it exits (after e2e_cleanup).
# Prints the report's lines. Returns 0.
e2e_check_sanitizer_logs() {
	local f logs=()
	for f in "${E2E_T:-/nonexistent}"/outpost*.log; do
		[ -f "$f" ] && logs+=("$f")
	done
	case " ${logs[*]} " in
	*" ${OUTPOST_LOG:-} "*) ;;
	*) [ -n "${OUTPOST_LOG:-}" ] && [ -f "$OUTPOST_LOG" ] && logs+=("$OUTPOST_LOG") ;;
	esac
	for f in "${logs[@]}"; do
		if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f"; then
			e2e_fail "sanitizer report in $f"
			grep -E -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f" | head -n 60
		fi
	done
	return 0
}

# EXIT trap: clean up, print the summary line, keep the exit status (77 stays
# "skipped"; any failed check turns 0 into 1).
e2e_on_exit() {
	local rc=$?
	trap '' INT TERM
	trap - ERR
	set +e
	e2e_cleanup
	[ "$rc" -ne 77 ] && e2e_check_sanitizer_logs
	if [ "$rc" -eq 0 ] && [ "$E2E_FAILS" -gt 0 ]; then
		rc=1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${E2E_T:-}" ]; then
		e2e_show_logs 15
	fi
	case $rc in
	0) printf 'PASS: %s (%d checks)\n' "$E2E_TEST" "$E2E_CHECKS" ;;
	77) ;;
	*) printf 'FAIL: %s (%d of %d checks failed, exit %d)\n' \
		"$E2E_TEST" "$E2E_FAILS" "$E2E_CHECKS" "$rc" ;;
	esac
	e2e_remove_tmp "$rc"
	exit "$rc"
}

# ---------------------------------------------------------------------------
# Processes: record, test, stop
# ---------------------------------------------------------------------------

# Print the start time (clock ticks since boot) of PID, or nothing when PID
# does not exist. Uses builtins only, so it forks nothing.
e2e_starttime() {
	local line rest
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
	rest=${line##*) }
	# shellcheck disable=SC2086 # split the numeric fields on purpose
	set -- $rest
	printf '%s\n' "${20}"
}

# True when PID exists and is not a zombie.
e2e_running() {
	local line rest
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	rest=${line##*) }
	[ "${rest%% *}" != Z ]
}

# True when PID still is the process that started at START (not a reuse).
e2e_same_proc() {
	[ -n "$2" ] && [ "$(e2e_starttime "$1")" = "$2" ] && e2e_running "$1"
}

# e2e_track PID LABEL: remember a process for cleanup. Returns 0.
e2e_track() {
	E2E_PROCS+=("$1 $(e2e_starttime "$1") $2")
}

# e2e_untrack PID: forget a process (after the test stopped and reaped it).
# Keeps the array dense (cleanup walks it by index).
e2e_untrack() {
	local entry keep=()
	for entry in "${E2E_PROCS[@]}"; do
		[ "${entry%% *}" = "$1" ] || keep+=("$entry")
	done
	E2E_PROCS=("${keep[@]}")
}

# Print the PIDs of all living descendants of PID ROOT, one per line, not
# counting the calling subshell. Builtins only.
e2e_descendants() {
	local root=$1 f line rest pid
	local -A parent=()
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		pid=${line%% *}
		rest=${line##*) }
		# shellcheck disable=SC2086 # split the numeric fields on purpose
		set -- $rest
		[ "$1" = Z ] && continue
		parent[$pid]=$2
	done
	local -a queue=("$root")
	local -A seen=()
	while [ "${#queue[@]}" -gt 0 ]; do
		local cur=${queue[0]}
		queue=("${queue[@]:1}")
		for pid in "${!parent[@]}"; do
			if [ "${parent[$pid]}" = "$cur" ] && [ -z "${seen[$pid]:-}" ]; then
				seen[$pid]=1
				queue+=("$pid")
				[ "$pid" != "$BASHPID" ] && printf '%s\n' "$pid"
			fi
		done
	done
	return 0
}

# e2e_wait_gone PID START SECONDS: wait until the process is gone; returns 0
# when it went within SECONDS, 1 otherwise.
e2e_wait_gone() {
	local i n=$(($3 * 10))
	for ((i = 0; i < n; i++)); do
		e2e_same_proc "$1" "$2" || return 0
		sleep 0.1
	done
	! e2e_same_proc "$1" "$2"
}

# e2e_stop_proc PID START LABEL [SECONDS]: SIGTERM the process (if it still is
# the one we started), wait up to SECONDS (default 5), then SIGKILL it and its
# descendants. Returns 0 when it exited on SIGTERM, 1 when it had to be killed.
e2e_stop_proc() {
	local pid=$1 start=$2 label=$3 secs=${4:-5} kids k
	e2e_same_proc "$pid" "$start" || return 0
	kids=$(e2e_descendants "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	if e2e_wait_gone "$pid" "$start" "$secs"; then
		return 0
	fi
	e2e_log "cleanup: $label (pid $pid) ignored SIGTERM for ${secs}s: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
	e2e_wait_gone "$pid" "$start" 2 || true
	return 1
}

# ---------------------------------------------------------------------------
# Temp dir, ports, cleanup
# ---------------------------------------------------------------------------

# Create the per-test temp dir E2E_T, traversable by user postfix. Returns 0.
e2e_make_tmp() {
	E2E_T=$(mktemp -d "/tmp/outpost-e2e.$E2E_TEST.XXXXXX")
	chmod 755 "$E2E_T"
}

# e2e_remove_tmp RC: delete E2E_T after a pass (unless E2E_KEEP=1); after a
# failure keep it and say where it is.
e2e_remove_tmp() {
	[ -n "${E2E_T:-}" ] && [ -d "$E2E_T" ] || return 0
	if [ "$1" -eq 0 ] && [ "${E2E_KEEP:-0}" != 1 ] || [ "$1" -eq 77 ]; then
		rm -rf "$E2E_T"
	else
		printf '# files kept in %s\n' "$E2E_T"
	fi
}

# True when something listens on TCP PORT in the current namespace context.
e2e_port_listening() {
	[ -n "$("${E2E_PFX[@]}" ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# Print a free TCP port (20000-59999), not listening and not handed out
# before in this test (ports are recorded in $E2E_T/ports). Returns 0.
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 40000))
		grep -qx "$p" "$E2E_T/ports" 2>/dev/null && continue
		[ -n "$("${E2E_PFX[@]}" ss -Htan "sport = :$p" 2>/dev/null)" ] && continue
		echo "$p" >>"$E2E_T/ports"
		echo "$p"
		return 0
	done
	echo "free_port: no free port found" >&2
	return 1
}

# e2e_wait_port PORT SECONDS [PID]: wait until TCP PORT listens in the current
# context. Returns 0 when it does, 1 on timeout or when PID died meanwhile.
e2e_wait_port() {
	local port=$1 n=$(($2 * 10)) pid=${3:-} i
	for ((i = 0; i < n; i++)); do
		e2e_port_listening "$port" && return 0
		if [ -n "$pid" ] && ! e2e_running "$pid"; then
			e2e_log "pid $pid exited before port $port listened"
			return 1
		fi
		sleep 0.1
	done
	e2e_log "port $port not listening after $2 s"
	return 1
}

# e2e_wait_unix PATH SECONDS [PID]: like e2e_wait_port for a unix socket.
e2e_wait_unix() {
	local path=$1 n=$(($2 * 10)) pid=${3:-} i
	for ((i = 0; i < n; i++)); do
		[ -n "$("${E2E_PFX[@]}" ss -Hlx "src $path" 2>/dev/null)" ] && return 0
		if [ -n "$pid" ] && ! e2e_running "$pid"; then
			e2e_log "pid $pid exited before $path listened"
			return 1
		fi
		sleep 0.1
	done
	e2e_log "socket $path not listening after $2 s"
	return 1
}

# Stop every private Postfix instance: `postfix stop`, then `postfix abort`
# if the master is still there after 5 s, then SIGKILL by its recorded PID.
e2e_cleanup_postfix() {
	local conf pidfile pid start
	for conf in "${E2E_POSTFIX[@]}"; do
		pidfile=$(dirname "$conf")/queue/pid/master.pid
		pid=$(tr -dc 0-9 <"$pidfile" 2>/dev/null || true)
		start=""
		[ -n "$pid" ] && start=$(e2e_starttime "$pid")
		timeout 20 postfix -c "$conf" stop >/dev/null 2>&1 || true
		[ -n "$start" ] || continue
		e2e_wait_gone "$pid" "$start" 5 && continue
		timeout 10 postfix -c "$conf" abort >/dev/null 2>&1 || true
		e2e_wait_gone "$pid" "$start" 2 && continue
		e2e_stop_proc "$pid" "$start" "postfix master ($conf)" 2 || true
	done
	E2E_POSTFIX=()
}

# Delete every network namespace and /etc/netns entry this test created.
e2e_cleanup_netns() {
	local ns d
	for ns in "${E2E_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || e2e_log "cleanup: ip netns del $ns failed"
	done
	for d in "${E2E_NETNS_ETC[@]}"; do
		rm -rf "$d"
	done
	if [ "$E2E_NETNS_TOPDIR" = 1 ]; then
		rmdir /etc/netns 2>/dev/null || true
	fi
	E2E_NETNS=()
	E2E_NETNS_ETC=()
}

# Last resort: stop any descendant still alive (only processes this test
# started can be our descendants). Says which ones it had to stop.
e2e_sweep() {
	local pids pid i
	for ((i = 0; i < 30; i++)); do
		pids=$(e2e_descendants $$)
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	for pid in $pids; do
		e2e_log "cleanup: stray process $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")"
		kill -TERM "$pid" 2>/dev/null || true
	done
	sleep 1
	for pid in $(e2e_descendants $$); do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

# Stop everything this test started, newest first, and delete its namespaces.
# Idempotent (the EXIT trap may run after an INT/TERM trap). Returns 0.
e2e_cleanup() {
	local i entry pid start label
	[ "$E2E_CLEANED" = 1 ] && return 0
	E2E_CLEANED=1
	e2e_cleanup_postfix
	for ((i = ${#E2E_PROCS[@]} - 1; i >= 0; i--)); do
		entry=${E2E_PROCS[$i]:-}
		[ -n "$entry" ] || continue
		read -r pid start label <<<"$entry"
		e2e_stop_proc "$pid" "$start" "$label" 5 || true
	done
	E2E_PROCS=()
	e2e_sweep
	e2e_cleanup_netns
	return 0
}

# Print the last LINES (default 15) lines of each daemon log in E2E_T:
# outpost, Postfix maillogs, Sendmail, NSD, smtp-sink. The EXIT trap calls it
# when a test fails. Returns 0.
e2e_show_logs() {
	local f
	for f in "$E2E_T"/outpost.log "$E2E_T"/pf-*/maillog "$E2E_T"/*/*.log "$E2E_T"/sink-*.log; do
		[ -s "$f" ] || continue
		printf -- '--- last lines of %s\n' "$f"
		tail -n "${1:-15}" "$f" | sed 's/^/    /'
	done
	return 0
}

# ---------------------------------------------------------------------------
# Network namespace with a real DNS server (NSD)
# ---------------------------------------------------------------------------

# use_netns NSNAME: run the following start_* / send_smtp inside NSNAME.
use_netns() {
	E2E_NS=$1
	E2E_PFX=(ip netns exec "$1")
}

# use_host: run the following start_* / send_smtp on the host again.
use_host() {
	E2E_NS=""
	E2E_PFX=()
}

# in_ns CMD...: run CMD inside the namespace given to use_netns (or the last
# one start_netns_dns created). Returns CMD's status.
in_ns() {
	local ns=${E2E_NS:-${E2E_NETNS[${#E2E_NETNS[@]} - 1]:-}}
	[ -n "$ns" ] || { echo "in_ns: no namespace" >&2; return 1; }
	ip netns exec "$ns" "$@"
}

# e2e_nsd_conf DIR ZONEDIR: print an nsd.conf serving every ZONEDIR/NAME.zone
# as zone NAME on 127.0.0.1:53, with all state files under DIR. Response
# rate limiting is off: every query comes from 127.0.0.1, and at Debian's
# default (200 answers a second per source) a stream of a few hundred
# messages gets answers dropped, i.e. 5 s resolver retries and temperrors.
e2e_nsd_conf() {
	local dir=$1 zdir=$2 z name
	cat <<EOF
server:
	ip-address: 127.0.0.1
	port: 53
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$zdir"
	pidfile: "$dir/nsd.pid"
	xfrdfile: "$dir/xfrd.state"
	zonelistfile: "$dir/zone.list"
	database: ""
	logfile: "$dir/nsd.log"
	server-count: 1
	verbosity: 1
	hide-version: yes
	rrl-ratelimit: 0
remote-control:
	control-enable: no
EOF
	for z in "$zdir"/*.zone; do
		name=$(basename "$z" .zone)
		printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' "$name" "$z"
	done
}

# start_netns_dns NSNAME ZONEDIR: create network namespace NSNAME (loopback
# up, /etc/netns/NSNAME/resolv.conf -> 127.0.0.1) and run NSD in it, in the
# foreground, serving ZONEDIR/*.zone (zone name = file name without .zone).
# Waits until the first zone's SOA is answered. Then call use_netns NSNAME to
# start the SMTP pieces inside. Returns 0, or 1 when NSD does not answer.
start_netns_dns() {
	local ns=$1 zdir dir first i
	zdir=$(cd "$2" && pwd)
	dir=$E2E_T/nsd-$ns
	if ip netns list | awk '{print $1}' | grep -qx -- "$ns"; then
		echo "start_netns_dns: namespace $ns exists already (not ours)" >&2
		return 1
	fi
	[ -d /etc/netns ] || { mkdir /etc/netns && E2E_NETNS_TOPDIR=1; }
	ip netns add "$ns"
	E2E_NETNS+=("$ns")
	# run.sh names a file here, to delete the namespace should this test be
	# killed before its own cleanup runs.
	[ -z "${E2E_NETNS_REGISTRY:-}" ] || echo "$ns" >>"$E2E_NETNS_REGISTRY"
	mkdir -p "/etc/netns/$ns"
	E2E_NETNS_ETC+=("/etc/netns/$ns")
	echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
	ip netns exec "$ns" ip link set lo up
	mkdir -p "$dir"
	e2e_nsd_conf "$dir" "$zdir" >"$dir/nsd.conf"
	ip netns exec "$ns" nsd -d -c "$dir/nsd.conf" >"$dir/nsd-stdout.log" 2>&1 &
	e2e_track $! "nsd ($ns)"
	first=$(basename "$(ls "$zdir"/*.zone | head -n1)" .zone)
	for ((i = 0; i < 100; i++)); do
		if ip netns exec "$ns" "$E2E_PY" -c '
import sys, dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = ["127.0.0.1"]; r.lifetime = 1
r.resolve(sys.argv[1], "SOA")' "$first" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "start_netns_dns: NSD does not answer SOA $first" >&2
	cat "$dir/nsd.log" "$dir/nsd-stdout.log" >&2 2>/dev/null || true
	return 1
}

# ---------------------------------------------------------------------------
# smtp-sink, Redis
# ---------------------------------------------------------------------------

# start_sink PORT DUMPDIR: run smtp-sink on 127.0.0.1:PORT, writing each
# message it receives to its own file in DUMPDIR (created, owned by postfix).
# A dump starts with smtp-sink's X-Client-Addr..X-Rcpt-Args lines and its
# Received: header, and ends with one extra newline. Returns 0 once listening.
start_sink() {
	local port=$1 dir=$2
	mkdir -p "$dir"
	chown postfix "$dir"
	"${E2E_PFX[@]}" smtp-sink -u postfix -R "$dir" -d "%Y%m%d%H%M%S." \
		"127.0.0.1:$port" 64 >"$E2E_T/sink-$port.log" 2>&1 &
	e2e_track $! "smtp-sink :$port"
	e2e_wait_port "$port" 10 $!
}

# dump_count DIR: print how many messages smtp-sink wrote to DIR.
dump_count() {
	local n=0 f
	for f in "$1"/*; do [ -f "$f" ] && n=$((n + 1)); done
	echo "$n"
}

# first_dump DIR: print the path of the first dump in DIR in name order (the
# name starts with the time, to the second), or DIR/none when there is none.
first_dump() {
	local f
	for f in "$1"/*; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	echo "$1/none"
}

# wait_for_dumps DIR N TIMEOUT: wait until DIR holds at least N dumps and
# their total size stopped changing (no dump half written). Returns 0, or 1
# after TIMEOUT seconds.
wait_for_dumps() {
	local dir=$1 want=$2 n=$(($3 * 10)) i size last=-1
	for ((i = 0; i < n; i++)); do
		if [ "$(dump_count "$dir")" -ge "$want" ]; then
			size=$(cat "$dir"/* 2>/dev/null | wc -c)
			[ "$size" = "$last" ] && return 0
			last=$size
		fi
		sleep 0.1
	done
	e2e_log "wait_for_dumps: $(dump_count "$dir") of $want messages in $dir after $3 s"
	return 1
}

# start_redis PORT: run redis-server on 127.0.0.1:PORT in the foreground, no
# persistence, files under E2E_T. Returns 0 once it answers PING.
start_redis() {
	local port=$1 dir=$E2E_T/redis-$1 i
	mkdir -p "$dir"
	"${E2E_PFX[@]}" redis-server --bind 127.0.0.1 --port "$port" --save '' \
		--appendonly no --dir "$dir" --daemonize no \
		--logfile "$dir/redis.log" >/dev/null 2>&1 &
	e2e_track $! "redis :$port"
	for ((i = 0; i < 100; i++)); do
		if "${E2E_PFX[@]}" redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
			return 0
		fi
		sleep 0.1
	done
	echo "start_redis: no PONG on port $port" >&2
	return 1
}

# ---------------------------------------------------------------------------
# Private Postfix instances
# ---------------------------------------------------------------------------

# postfix_conf NAME: print the config directory of instance NAME.
postfix_conf() {
	echo "$E2E_T/pf-$1/etc"
}

# postfix_log NAME: print the maillog file of instance NAME.
postfix_log() {
	echo "$E2E_T/pf-$1/maillog"
}

# e2e_postfix_master_cf SMTPD_PORT: print a master.cf without chroot (a
# chrooted smtpd/cleanup cannot reach a milter socket outside the queue dir).
e2e_postfix_master_cf() {
	cat <<EOF
127.0.0.1:$1 inet n - n - - smtpd
pickup     unix  n - n 60   1 pickup
cleanup    unix  n - n -    0 cleanup
qmgr       unix  n - n 300  1 qmgr
rewrite    unix  - - n -    - trivial-rewrite
bounce     unix  - - n -    0 bounce
defer      unix  - - n -    0 bounce
trace      unix  - - n -    0 bounce
verify     unix  - - n -    1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -    - proxymap
proxywrite unix  - - n -    1 proxymap
smtp       unix  - - n -    - smtp
relay      unix  - - n -    - smtp
showq      unix  n - n -    - showq
error      unix  - - n -    - error
retry      unix  - - n -    - error
discard    unix  - - n -    - discard
local      unix  - n n -    - local
anvil      unix  - - n -    1 anvil
scache     unix  - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
}

# e2e_postfix_main_cf NAME DIR SMTPD_PORT SINK_PORT MILTER_SPEC: print the
# main.cf of a private instance. Later lines override earlier ones, so extra
# lines appended by start_postfix win.
e2e_postfix_main_cf() {
	local name=$1 dir=$2 sink=$4 milter=$5
	cat <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
myhostname = $name.pf.outpost-e2e.test
mydomain = outpost-e2e.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$sink
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
biff = no
maillog_file = $dir/maillog
maillog_file_prefixes = $E2E_T
smtpd_forbid_bare_newline = yes
smtpd_milters = $milter
non_smtpd_milters = $milter
milter_default_action = tempfail
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 30s
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 4s
smtpd_error_sleep_time = 0
EOF
}

# start_postfix NAME SMTPD_PORT SINK_PORT MILTER_SPEC [MAIN_CF_LINE...]:
# start a private Postfix (own config, queue and data dirs under E2E_T) with
# smtpd on 127.0.0.1:SMTPD_PORT relaying everything to [127.0.0.1]:SINK_PORT,
# and MILTER_SPEC (e.g. "inet:127.0.0.1:PORT"; empty = none) as smtpd_milters
# and non_smtpd_milters. Extra arguments are appended to main.cf, e.g.
# "milter_default_action = accept". Returns 0 once smtpd listens.
start_postfix() {
	local name=$1 port=$2 sink=$3 milter=$4 dir=$E2E_T/pf-$1 pid line
	shift 4
	mkdir -p "$dir/etc" # data_directory is made by postfix, owned by it
	mkdir -m 755 "$dir/queue"
	e2e_postfix_main_cf "$name" "$dir" "$port" "$sink" "$milter" >"$dir/etc/main.cf"
	for line in "$@"; do printf '%s\n' "$line" >>"$dir/etc/main.cf"; done
	e2e_postfix_master_cf "$port" >"$dir/etc/master.cf"
	# Postfix re-reads a main.cf younger than 2 s until it looks stable (a
	# guard against half-written files): backdate ours, start is 2 s faster.
	touch -d '-10 seconds' "$dir/etc/main.cf" "$dir/etc/master.cf"
	E2E_POSTFIX+=("$dir/etc")
	if ! "${E2E_PFX[@]}" postfix -c "$dir/etc" start >"$dir/start.log" 2>&1; then
		echo "start_postfix $name: postfix start failed:" >&2
		cat "$dir/start.log" "$dir/maillog" >&2 2>/dev/null || true
		return 1
	fi
	pid=$(tr -dc 0-9 <"$dir/queue/pid/master.pid")
	e2e_track "$pid" "postfix master ($name)"
	e2e_wait_port "$port" 15 "$pid"
}

# postfix_sendmail NAME SENDMAIL_ARGS... < MESSAGE: submit a message locally
# through instance NAME (pickup -> cleanup -> non_smtpd_milters). Returns
# sendmail's status.
postfix_sendmail() {
	local conf
	conf=$(postfix_conf "$1")
	shift
	sendmail -C "$conf" "$@"
}

# postfix_queue_count NAME: print how many messages instance NAME holds in
# any queue (maildrop, incoming, active, deferred, hold).
postfix_queue_count() {
	local q=$E2E_T/pf-$1/queue
	find "$q/maildrop" "$q/incoming" "$q/active" "$q/deferred" "$q/hold" \
		-type f 2>/dev/null | wc -l
}

# postfix_flush NAME: ask instance NAME to retry everything now: the
# maildrop (pickup) and the deferred queue (postqueue -f). Returns 0.
postfix_flush() {
	local conf
	conf=$(postfix_conf "$1")
	postqueue -c "$conf" -f || true
	postkick -c "$conf" public pickup W 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Sendmail
# ---------------------------------------------------------------------------

# e2e_sendmail_root: print the directory holding an unpacked Sendmail
# (sendmail-bin, -cf, -base), downloading and unpacking the .debs into
# E2E_SENDMAIL_CACHE when missing (sendmail-bin conflicts with postfix, so it
# is never installed). Returns 1 when it cannot be had.
e2e_sendmail_root() {
	local c=$E2E_SENDMAIL_CACHE d
	if [ -x "$c/root/usr/libexec/sendmail/sendmail" ]; then
		echo "$c/root"
		return 0
	fi
	mkdir -p "$c/debs"
	(
		flock 9
		[ -x "$c/root/usr/libexec/sendmail/sendmail" ] && exit 0
		if ! ls "$c"/debs/sendmail-bin_*.deb >/dev/null 2>&1; then
			(cd "$c/debs" && apt-get download sendmail-bin sendmail-cf sendmail-base) >&2 || exit 1
		fi
		rm -rf "$c/root.new"
		for d in "$c"/debs/*.deb; do dpkg-deb -x "$d" "$c/root.new" || exit 1; done
		mv "$c/root.new" "$c/root"
	) 9>"$c/.lock" || return 1
	echo "$c/root"
}

# e2e_sendmail_mc PORT SINK_PORT MILTER_SPEC DIR HOST: print the .mc of a
# loopback-only MTA on PORT relaying everything to [127.0.0.1]:SINK_PORT, with
# MILTER_SPEC (e.g. "inet:PORT@127.0.0.1"; empty = none) as input filter.
e2e_sendmail_mc() {
	local port=$1 sink=$2 milter=$3 dir=$4 host=$5
	cat <<EOF
divert(-1)
divert(0)dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$host')dnl
define(\`QUEUE_DIR', \`$dir/mqueue')dnl
define(\`STATUS_FILE', \`$dir/statistics')dnl
define(\`confPID_FILE', \`$dir/sendmail.pid')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confHELP_FILE', \`')dnl
define(\`confSERVICE_SWITCH_FILE', \`$dir/service.switch')dnl
define(\`confHOSTS_FILE', \`$dir/hosts')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confDONT_BLAME_SENDMAIL', \`GroupWritableDirPathSafe,TrustStickyBit')dnl
define(\`confTO_CONNECT', \`10s')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $sink')dnl
define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(\`Port=$port, Addr=127.0.0.1, Name=MTA')dnl
EOF
	if [ -n "$milter" ]; then
		printf "INPUT_MAIL_FILTER(\`outpost', \`S=%s, F=T, T=C:5s;S:10s;R:10s;E:30s')dnl\n" "$milter"
	fi
	echo "MAILER(\`smtp')dnl"
}

# start_sendmail_mta PORT SINK_PORT MILTER_SPEC: run a Sendmail MTA (-bD, in
# the foreground) on 127.0.0.1:PORT relaying to the sink on SINK_PORT through
# MILTER_SPEC ("inet:PORT@127.0.0.1"; empty = none). It runs in its own mount
# and UTS namespace with a private /etc/hosts and a fully qualified hostname
# (without one Sendmail sleeps 60 s at start). The shell there `exec`s
# sendmail, so the recorded PID is the daemon's. Sets SENDMAIL_DIR. Returns 0
# once it listens.
start_sendmail_mta() {
	local port=$1 sink=$2 milter=$3 root dir host cmd debug=""
	root=$(e2e_sendmail_root) || { echo "start_sendmail_mta: no sendmail" >&2; return 1; }
	dir=$E2E_T/sm-$port
	host=sm$port.outpost-e2e.test
	SENDMAIL_DIR=$dir
	mkdir -p "$dir"
	mkdir -m 700 "$dir/mqueue"
	printf '127.0.0.1\tlocalhost\n127.0.0.1\t%s sm%s\n' "$host" "$port" >"$dir/hosts"
	printf 'hosts files\naliases files\n' >"$dir/service.switch"
	e2e_sendmail_mc "$port" "$sink" "$milter" "$dir" "$host" >"$dir/sendmail.mc"
	m4 -D_CF_DIR_="$root/usr/share/sendmail/cf/" "$root/usr/share/sendmail/cf/m4/cf.m4" \
		"$dir/sendmail.mc" >"$dir/sendmail.cf"
	[ "${E2E_DEBUG:-0}" = 1 ] && debug="-X $(printf %q "$dir/traffic.log")"
	cmd="mount --bind $(printf %q "$dir/hosts") /etc/hosts && hostname $host &&"
	cmd="$cmd exec $(printf %q "$root/usr/libexec/sendmail/sendmail")"
	cmd="$cmd -C $(printf %q "$dir/sendmail.cf") -bD $debug"
	"${E2E_PFX[@]}" unshare --mount --uts sh -c "$cmd" >"$dir/sendmail.log" 2>&1 &
	e2e_track $! "sendmail :$port"
	e2e_wait_port "$port" 15 $!
}

# ---------------------------------------------------------------------------
# outpost
# ---------------------------------------------------------------------------

# e2e_conf_socket CONF: print the milter socket named in CONF
# (socket = "inet:PORT@HOST" | "unix:/path" | "local:/path" | "/path").
e2e_conf_socket() {
	sed -n 's/.*socket[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$1" | head -n1
}

# start_outpost CONF: run "$OUTPOST -f -c CONF" in the background (log in
# OUTPOST_LOG = E2E_T/outpost.log, appended across restarts; PID in
# OUTPOST_PID) and wait until its socket listens. Returns 0, or 1 when it
# exits or does not listen within 15 s (its log is printed then).
start_outpost() {
	local conf=$1 sock
	OUTPOST_LOG=$E2E_T/outpost.log
	sock=$(e2e_conf_socket "$conf")
	echo "=== $(date '+%T') start: $OUTPOST -f -c $conf" >>"$OUTPOST_LOG"
	"${E2E_PFX[@]}" "$OUTPOST" -f -c "$conf" >>"$OUTPOST_LOG" 2>&1 &
	OUTPOST_PID=$!
	e2e_track "$OUTPOST_PID" outpost
	case $sock in
	inet:*) e2e_wait_port "$(echo "${sock#inet:}" | cut -d@ -f1)" 15 "$OUTPOST_PID" ;;
	unix:* | local:*) e2e_wait_unix "${sock#*:}" 15 "$OUTPOST_PID" ;;
	/*) e2e_wait_unix "$sock" 15 "$OUTPOST_PID" ;;
	*) echo "start_outpost: cannot tell the socket of $conf ('$sock')" >&2; false ;;
	esac && return 0
	echo "start_outpost: outpost did not come up; its log:" >&2
	tail -n 30 "$OUTPOST_LOG" >&2
	return 1
}

# reload_outpost: send SIGHUP to the running outpost. Returns kill's status.
reload_outpost() {
	kill -HUP "$OUTPOST_PID"
}

# stop_outpost [SECONDS]: SIGTERM outpost, wait up to SECONDS (default 15)
# for it to exit, else SIGKILL. Sets OUTPOST_STATUS to its exit status (as
# `wait` reports it: 128+N for signal N). Returns 0 when it exited on SIGTERM,
# 1 when it had to be killed.
stop_outpost() {
	local secs=${1:-15} pid=$OUTPOST_PID start rc=0
	OUTPOST_STATUS=""
	[ -n "$pid" ] || return 0
	start=$(e2e_starttime "$pid")
	if [ -n "$start" ]; then
		e2e_stop_proc "$pid" "$start" outpost "$secs" || rc=1
	fi
	wait "$pid" 2>/dev/null && OUTPOST_STATUS=0 || OUTPOST_STATUS=$?
	e2e_untrack "$pid"
	OUTPOST_PID=""
	return "$rc"
}

# ---------------------------------------------------------------------------
# SMTP client, message comparison
# ---------------------------------------------------------------------------

# e2e_wire_data FILE OUT: write the DATA of message FILE as it goes on the wire
# without its final CRLF: CRLF line ends, dot-stuffed, ending in "." (swaks
# -ndf appends the CRLF). Returns 1 when FILE does not end with a newline.
e2e_wire_data() {
	if [ -n "$(tail -c 1 "$1")" ]; then
		echo "e2e_wire_data: $1 does not end with a newline" >&2
		return 1
	fi
	sed -e 's/\r$//' -e 's/^\./../' -e 's/$/\r/' "$1" >"$2"
	printf '.' >>"$2"
}

# send_smtp PORT FROM RCPT FILE [SWAKS_ARGS...]: send message FILE (LF line
# ends) by SMTP to 127.0.0.1:PORT with swaks, byte for byte: no data fix-up,
# no added headers, no extra trailing line (plain swaks adds one). The
# transcript goes to SMTP_LOG. Returns swaks's status (0 = accepted).
send_smtp() {
	local port=$1 from=$2 rcpt=$3 file=$4 n
	shift 4
	n=$(ls "$E2E_T"/swaks.*.log 2>/dev/null | wc -l)
	SMTP_LOG=$E2E_T/swaks.$n.log
	e2e_wire_data "$file" "$E2E_T/swaks.$n.data" || return 1
	"${E2E_PFX[@]}" swaks --server "127.0.0.1:$port" --helo client.outpost-e2e.test \
		-f "$from" -t "$rcpt" --timeout 60 -ndf --data "@$E2E_T/swaks.$n.data" \
		"$@" >"$SMTP_LOG" 2>&1
}

# smtp_first_error: print the first error reply ("<** " lines) of the last
# send_smtp, e.g. "451 4.7.1 Service unavailable - try again later", or
# "none".
smtp_first_error() {
	local r
	r=$(sed -n 's/^<\*\* *//p' "$SMTP_LOG" | head -n1)
	echo "${r:-none}"
}

# smtp_reply_to VERB: print the server's (last) reply line to the first
# command of the last send_smtp that starts with VERB ("MAIL FROM", "RCPT
# TO", "DATA"), without swaks's arrow; "none" when VERB was never sent.
smtp_reply_to() {
	awk -v verb="$1" '
	seen && /^<(\*\*|-) / { sub(/^<(\*\*|-) +/, ""); r = $0; if ($0 !~ /^[0-9][0-9][0-9]-/) exit }
	!seen && index($0, " -> " verb) == 1 { seen = 1 }
	END { print (r == "" ? "none" : r) }
	' "$SMTP_LOG"
}

# smtp_envelope_reply: the reply that settled the envelope of the last
# send_smtp: MAIL FROM's when it was not 250, else the (first) RCPT TO's.
# A refusal reached at MAIL FROM comes at RCPT TO with outpost's default
# milter.mail_verdicts_at_rcpt, at MAIL FROM itself without it.
smtp_envelope_reply() {
	local r
	r=$(smtp_reply_to 'MAIL FROM')
	case $r in
	250*) smtp_reply_to 'RCPT TO' ;;
	*) echo "$r" ;;
	esac
}

# message_of_dump DUMP OUT: write to OUT the message as the sink received it,
# minus what the relay path added in front of it: smtp-sink's X-Client-Addr,
# X-Client-Proto, X-Helo-Args, X-Mail-Args, X-Rcpt-Args lines, then the block
# of Received: fields (with their continuation lines) at the top, which the
# sink and each MTA prepend; minus the one newline smtp-sink appends.
message_of_dump() {
	awk '
	top && /^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args|Xforward-[A-Za-z-]*):/ { next }
	top && /^Received:/ { inrcvd = 1; next }
	top && inrcvd && /^[ \t]/ { next }
	{ top = 0; print }
	' top=1 "$1" | head -c -1 >"$2"
}

# check_passthrough WHAT SENT DUMP: pass when the sink's DUMP, minus the trace
# lines the relay path prepends (see message_of_dump), is byte for byte the
# message file SENT (LF line ends; SMTP carries CRLF and smtp-sink writes LF,
# so the LF forms are compared). Any header added, removed, reordered,
# refolded or changed, and any body change, fails. On failure the header
# section and the body are also compared separately, to say which part differs.
check_passthrough() {
	local what=$1 sent=$2 dump=$3 got
	if [ ! -f "$dump" ]; then
		e2e_fail "$what: got no delivered message ($dump), wanted one"
		return 0
	fi
	got=$E2E_T/got.$(basename "$dump")
	message_of_dump "$dump" "$got"
	if cmp -s "$got" "$sent"; then
		e2e_pass "$what: delivered message identical to the one sent ($(wc -c <"$sent") bytes)"
		return 0
	fi
	sed '/^$/q' "$got" >"$got.head"
	sed '1,/^$/d' "$got" >"$got.body"
	sed '/^$/q' "$sent" >"$got.want-head"
	sed '1,/^$/d' "$sent" >"$got.want-body"
	check_files_eq "$what: header section" "$got.head" "$got.want-head"
	check_files_eq "$what: body" "$got.body" "$got.want-body"
	e2e_fail "$what: delivered message differs from the one sent (got $got, wanted $sent, raw dump $dump)"
}

# e2e_test_message OUT [sendmail]: write a message exercising what a milter
# could alter: folded and encoded headers, odd spacing, header trailing
# blanks, MIME multipart, dot lines, a From_ line, tabs, 8-bit UTF-8, a
# 900-octet line, trailing empty lines. LF line ends. With "sendmail", the To:
# header is on one line: Sendmail itself re-joins a folded address header
# ("To: a,\n\tb" becomes "To: a, b") whatever the milter does.
e2e_test_message() {
	local long to
	long=$(printf 'L%.0s' $(seq 900))
	to=$'To: Bob <bob@example.net>,\n\tCarol <carol@example.net>'
	[ "${2:-}" = sendmail ] && to='To: Bob <bob@example.net>, Carol <carol@example.net>'
	{
		echo 'From: "Alice Example" <alice@example.org>'
		echo "$to"
		cat <<'EOF'
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from the
 end-to-end test
Date: Mon, 23 Nov 2026 10:00:00 +0000
Message-ID: <e2e.passthrough.1@example.org>
MIME-Version: 1.0
X-Odd-Spacing:   three leading blanks, tab	inside
X-Trailing-Blanks: yes   
Content-Type: multipart/alternative;
	boundary="=_b0undary_42"

This is a multi-part message in MIME format.

--=_b0undary_42
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße, Ünïcödé body line.
.
.a line starting with a dot
..two dots
From the start of a line, as mbox would escape it
	tab-indented line   
trailing blanks   
EOF
		printf '%s\n' "$long"
		cat <<'EOF'

--=_b0undary_42
Content-Type: text/html; charset=us-ascii

<p>hello</p>

--=_b0undary_42--


EOF
	} >"$1"
}

# e2e_outpost_conf OUT PORT [MORE_LIBCONFIG...]: write a minimal outpost
# config listening on inet:PORT@127.0.0.1 (no module enabled), plus any
# extra lines given.
e2e_outpost_conf() {
	local out=$1 port=$2 line
	shift 2
	{
		echo "# outpost end-to-end test config ($E2E_TEST)"
		echo "milter: { socket = \"inet:$port@127.0.0.1\"; };"
		for line in "$@"; do echo "$line"; done
	} >"$out"
}

# ---------------------------------------------------------------------------
# Setup at source time (run.sh sets E2E_LIB_ONLY=1 to get the functions only)
# ---------------------------------------------------------------------------

[ "${E2E_LIB_ONLY:-0}" = 1 ] && return 0
if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: end-to-end tests need root (private Postfix, namespaces)" >&2
	exit 77
fi
e2e_make_tmp
set -E
trap 'e2e_on_err $? "$BASH_COMMAND"' ERR
trap e2e_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
e2e_log "$E2E_TEST: temp dir $E2E_T, outpost $OUTPOST"
