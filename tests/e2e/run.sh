#!/bin/bash
# run.sh - run outpost's end-to-end tests (root only).
#
#   tests/e2e/run.sh [-v] [t-NAME ...]
#
# Runs every tests/e2e/t-*.sh (or only those named), each in its own process,
# one after the other, and prints one line per test with its result and time;
# -v also prints the output of passing tests (a failed test's output is always
# printed). A test that exits 77 is skipped. After each test it checks that
# nothing was left behind: no process (this runner is a child subreaper, so
# whatever a test started and did not stop ends up here), no network namespace,
# no /etc/netns entry; a leak fails the test. A test that runs longer than
# E2E_TEST_TIMEOUT seconds (default 120) gets SIGTERM (its cleanup runs), then
# SIGKILL. Ctrl-C stops the running test, cleanly, and the run.
#
# The last line is exactly "N passed, N failed, N skipped"; the exit status is
# 1 when any test failed, 130 when interrupted, 0 otherwise.
# Environment: see lib.sh (OUTPOST, E2E_KEEP, E2E_DEBUG, E2E_NO_MILTER).
set -u

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: the end-to-end tests must run as root: they start private" \
		"Postfix and Sendmail instances and create network namespaces." >&2
	echo "run.sh: try: sudo $0 $*" >&2
	exit 2
fi

E2E_LIB_ONLY=1 # functions only: no temp dir, no traps (and re-exec as subreaper)
. "$(dirname "$0")/lib.sh"
unset E2E_LIB_ONLY

E2E_TEST_TIMEOUT=${E2E_TEST_TIMEOUT:-120}
VERBOSE=0
CURRENT_PID=""
INTERRUPTED=0
PASSED=0
FAILED=0
SKIPPED=0

# children_of PID: print the PIDs of the living direct children of PID
# (builtins only).
children_of() {
	local want=$1 f line rest
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		rest=${line##*) }
		# shellcheck disable=SC2086 # split the numeric fields on purpose
		set -- $rest
		if [ "$2" = "$want" ] && [ "$1" != Z ]; then
			echo "${line%% *}"
		fi
	done
	return 0
}

# stop_test: SIGTERM the running test, then its direct children. A test runs
# its cleanup from a trap, and bash runs a trap only once the command it waits
# for ends: killing that command (swaks, sleep, smtp-source...) lets the
# cleanup start now. The daemons among the children are torn down anyway.
stop_test() {
	local pid
	[ -n "$CURRENT_PID" ] || return 0
	kill -TERM "$CURRENT_PID" 2>/dev/null || true
	for pid in $(children_of "$CURRENT_PID"); do
		kill -TERM "$pid" 2>/dev/null || true
	done
}

# On Ctrl-C or SIGTERM: stop the running test (a background test ignores
# SIGINT, so it gets SIGTERM; its traps clean up) and end the run after it.
on_signal() {
	INTERRUPTED=1
	stop_test
}

# The tests to run: the arguments (t-NAME with or without .sh, or the path of
# an executable test anywhere), or every t-*.sh beside this script, sorted.
# Prints one path per line.
list_tests() {
	local a
	if [ "$#" -eq 0 ]; then
		ls "$E2E_LIB_DIR"/t-*.sh
		return 0
	fi
	for a in "$@"; do
		if [ -f "$a" ] && [ -x "$a" ]; then
			(cd "$(dirname "$a")" && echo "$PWD/$(basename "$a")")
			continue
		fi
		a=${a##*/}
		a=${a%.sh}
		if [ -f "$E2E_LIB_DIR/$a.sh" ]; then
			echo "$E2E_LIB_DIR/$a.sh"
		else
			echo "run.sh: no such test: $a" >&2
			return 1
		fi
	done
}

# Network namespaces and /etc/netns entries, one per line (to diff).
netns_state() {
	ip netns list 2>/dev/null | awk '{print "netns " $1}'
	ls /etc/netns 2>/dev/null | sed 's|^|/etc/netns/|'
	return 0
}

# run_one PATH LOG: run one test with output to LOG; stop it after
# E2E_TEST_TIMEOUT seconds (stop_test, then SIGKILL 30 s later). Sets RC to
# its exit status (124 after a timeout). Runs in this shell, so that the test
# is our child and on_signal can reach it.
run_one() {
	local t=$1 log=$2 start i wrc=0
	RC=0
	: >"$log" # the test appends, so that our own notes in LOG stay
	E2E_NETNS_REGISTRY=$log.netns "$t" >>"$log" 2>&1 </dev/null &
	CURRENT_PID=$!
	start=$(e2e_starttime "$CURRENT_PID")
	for ((i = 0; i < E2E_TEST_TIMEOUT * 10; i++)); do
		e2e_running "$CURRENT_PID" || break
		sleep 0.1
	done
	if e2e_same_proc "$CURRENT_PID" "$start"; then
		echo "run.sh: timeout after ${E2E_TEST_TIMEOUT}s: stopping the test" >>"$log"
		RC=124
		stop_test
		for ((i = 0; i < 300; i++)); do
			e2e_running "$CURRENT_PID" || break
			sleep 0.1
		done
		e2e_stop_proc "$CURRENT_PID" "$start" "$t" 1 >>"$log" 2>&1 || true
	fi
	wait "$CURRENT_PID" 2>/dev/null || wrc=$? # (no "Killed" job notice)
	[ "$RC" -ne 0 ] || RC=$wrc
	CURRENT_PID=""
}

# check_leaks LOG NETNS_BEFORE: report (in LOG) and stop any process the
# last test left behind; report namespaces or /etc/netns entries it did not
# delete, and delete those it created (it listed them in LOG.netns). Returns
# 1 when something leaked.
check_leaks() {
	local log=$1 before=$2 pids pid leaked=0 after ns
	pids=$(e2e_descendants $$)
	for pid in $pids; do
		e2e_running "$pid" || continue
		echo "LEAK: process $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" >>"$log"
		leaked=1
		kill -TERM "$pid" 2>/dev/null || true
	done
	if [ -n "$pids" ]; then
		sleep 1
		for pid in $(e2e_descendants $$); do kill -KILL "$pid" 2>/dev/null || true; done
	fi
	# The namespaces this test created (lib.sh registers each in LOG.netns)
	# must be gone; others' namespaces come and go on a shared machine.
	after=$(netns_state)
	if [ -f "$log.netns" ]; then
		while read -r ns; do
			case $'\n'"$after"$'\n' in
			*$'\n'"netns $ns"$'\n'* | *$'\n'"/etc/netns/$ns"$'\n'*)
				echo "LEAK: namespace $ns (or /etc/netns/$ns) left behind" >>"$log"
				leaked=1
				;;
			esac
		done <"$log.netns"
	fi
	if [ -f "$log.netns" ]; then
		while read -r ns; do
			ip netns del "$ns" 2>/dev/null && echo "run.sh: deleted namespace $ns" >>"$log"
			[ -d "/etc/netns/$ns" ] && rm -rf "/etc/netns/$ns"
		done <"$log.netns"
		[ "$NETNS_DIR_BEFORE" = 1 ] || rmdir /etc/netns 2>/dev/null || true
		rm -f "$log.netns"
	fi
	return "$leaked"
}

# report NAME RC SECONDS LOG: print the test's result line (and its output
# when it failed, or always with -v) and count it.
report() {
	local name=$1 rc=$2 secs=$3 log=$4 result why=""
	case $rc in
	0) result=PASS; PASSED=$((PASSED + 1)) ;;
	77)
		result=SKIP
		SKIPPED=$((SKIPPED + 1))
		why=$(sed -n 's/^skipped: *//p' "$log" | head -n1)
		;;
	*) result=FAIL; FAILED=$((FAILED + 1)) ;;
	esac
	printf '%-4s %-34s %6s s%s\n' "$result" "$name" "$secs" "${why:+  ($why)}"
	if [ "$result" = FAIL ] || [ "$VERBOSE" = 1 ]; then
		sed 's/^/    | /' "$log"
	fi
}

main() {
	local tests t name log rc t0 secs before logdir
	if [ "${1:-}" = -v ]; then
		VERBOSE=1
		shift
	fi
	tests=$(list_tests "$@") || exit 2
	logdir=$(mktemp -d /tmp/outpost-e2e-run.XXXXXX)
	trap on_signal INT TERM
	for t in $tests; do
		name=$(basename "$t" .sh)
		log=$logdir/$name.log
		before=$(netns_state)
		NETNS_DIR_BEFORE=0
		[ -d /etc/netns ] && NETNS_DIR_BEFORE=1
		t0=$EPOCHREALTIME
		run_one "$t" "$log"
		rc=$RC
		secs=$(e2e_elapsed "$t0")
		check_leaks "$log" "$before" >/dev/null || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] || rc=1; }
		report "$name" "$rc" "$secs" "$log"
		[ "$INTERRUPTED" = 1 ] && break
	done
	if [ "$FAILED" -eq 0 ] && [ "$INTERRUPTED" = 0 ]; then
		rm -rf "$logdir"
	else
		echo "logs in $logdir"
	fi
	[ "$INTERRUPTED" = 1 ] && echo "interrupted"
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$INTERRUPTED" = 1 ] && exit 130
	[ "$FAILED" -eq 0 ]
}

main "$@"
