# lib-bench.sh - helpers of tests/bench/compare.sh (bash, sourced after
# tests/e2e/lib.sh, whose process tracking and cleanup they use).
#
# Owns: the benchmark messages, the milter configs (outpost and OpenDKIM
# with the same keys), starting and stopping the milters, one opbench run,
# and reading the numbers back. Every process is started in the
# foreground as a child, recorded with e2e_track, and stopped by its PID.
#
# Conventions: functions return 0 on success; a failed benchmark run is
# not fatal: its cell shows "ERR" and the reason is kept in its .out file.

OPBENCH=${OPBENCH:-$TOP/tests/bench/opbench}
BENCH_OPENDKIM=${BENCH_OPENDKIM:-/usr/sbin/opendkim}
BENCH_MAXMSGS=100000000 # opbench stops on time (--seconds), not on count

# ---------------------------------------------------------------------------
# Messages and keys
# ---------------------------------------------------------------------------

# bench_text BYTES: print plain text lines (72 octets each) adding up to
# about BYTES octets.
bench_text() {
	awk -v n="$1" 'BEGIN {
		w = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod"
		for (i = 1; len < n; i++) { s = sprintf("%05d %s", i, w); print s; len += length(s) + 1 }
	}'
}

# bench_html BYTES: print HTML paragraphs (lines under 998 octets) adding
# up to about BYTES octets.
bench_html() {
	awk -v n="$1" 'BEGIN {
		print "<html><head><title>Newsletter</title></head><body>"
		for (i = 1; len < n; i++) {
			s = sprintf("<p class=\"item\" id=\"p%05d\"><a href=\"https://www.example.org/track?id=%05d\">Item %d</a>: <b>offer</b> of the <i>week</i>, see the details online.</p>", i, i, i)
			print s; len += length(s) + 1
		}
		print "</body></html>"
	}'
}

# bench_headers FROM SUBJECT: the header block of a benchmark message.
bench_headers() {
	cat <<EOF
From: Alice Example <$1>
To: Bob Example <bob@example.net>
Subject: $2
Date: Mon, 23 Nov 2026 10:00:00 +0000
Message-ID: <bench.$RANDOM.$RANDOM@example.org>
MIME-Version: 1.0
EOF
}

# bench_messages DIR: write DIR/text.eml (about 2 KB, plain text),
# DIR/html.eml (about 50 KB, text and HTML alternatives) and
# DIR/attach.eml (about 1 MB, a base64 attachment). LF line ends.
bench_messages() {
	local d=$1 b='=_outpost_bench_b0undary'
	{
		bench_headers alice@example.org "Benchmark: a short plain text message"
		printf 'Content-Type: text/plain; charset=us-ascii\n\n'
		bench_text 1650
	} >"$d/text.eml"
	{
		bench_headers alice@example.org "Benchmark: an HTML newsletter"
		printf 'Content-Type: multipart/alternative; boundary="%s"\n\n' "$b"
		printf -- '--%s\nContent-Type: text/plain; charset=us-ascii\n\n' "$b"
		bench_text 10000
		printf -- '\n--%s\nContent-Type: text/html; charset=us-ascii\n\n' "$b"
		bench_html 40000
		printf -- '\n--%s--\n' "$b"
	} >"$d/html.eml"
	{
		bench_headers alice@example.org "Benchmark: a report attached"
		printf 'Content-Type: multipart/mixed; boundary="%s"\n\n' "$b"
		printf -- '--%s\nContent-Type: text/plain; charset=us-ascii\n\n' "$b"
		bench_text 600
		printf -- '\n--%s\nContent-Type: application/octet-stream; name="report.bin"\n' "$b"
		printf 'Content-Transfer-Encoding: base64\n'
		printf 'Content-Disposition: attachment; filename="report.bin"\n\n'
		head -c 765000 /dev/urandom | base64 -w 76
		printf -- '\n--%s--\n' "$b"
	} >"$d/attach.eml"
}

# bench_keys DIR: the test keys as DIR/rsa.pem and DIR/ed.pem (mode 0600).
bench_keys() {
	cp "$TOP/tests/data/keys/test-rsa2048.pem" "$1/rsa.pem"
	cp "$TOP/tests/data/keys/test-ed25519.pem" "$1/ed.pem"
	chmod 600 "$1/rsa.pem" "$1/ed.pem"
}

# bench_dns_txt DIR: the keys' TXT records (selectors rsa and ed of
# example.org), for verify_external.sh.
bench_dns_txt() {
	local rsa ed
	rsa=$(openssl pkey -in "$1/rsa.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
	ed=$(openssl pkey -in "$1/ed.pem" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)
	echo "rsa._domainkey.example.org v=DKIM1; k=rsa; p=$rsa"
	echo "ed._domainkey.example.org v=DKIM1; k=ed25519; p=$ed"
}

# ---------------------------------------------------------------------------
# Milters
# ---------------------------------------------------------------------------

# bench_alg_name ALG: the a= name of "rsa" or "ed".
bench_alg_name() {
	[ "$1" = ed ] && echo ed25519-sha256 || echo rsa-sha256
}

# bench_outpost_conf OUT SOCKET ALG [PIPELINE]: outpost signing example.org
# with key ALG (rsa|ed) of the benchmark dir, selector ALG, log level info
# (its default: one summary line per message); a unix socket is handed to
# group postfix (mode 0660) for the Postfix run. PIPELINE "full" (the
# default) also runs what outpost does to every outbound message besides
# signing: rate (two rules per sender on the embedded LMDB store, limits
# never reached), track (tracking ID, unsubscribe links) and the JSON event
# log, each file named after OUT; "dkim": signing only.
# BENCH_MAIL_AT_RCPT=0 adds milter.mail_verdicts_at_rcpt = false (the
# default is true: two round trips a message, three with false).
bench_outpost_conf() {
	local out=$1 sock=$2 alg=$3 pipeline=${4:-full} at_rcpt=""
	[ "${BENCH_MAIL_AT_RCPT:-1}" = 0 ] && at_rcpt=" mail_verdicts_at_rcpt = false;"
	{
		echo "# outpost benchmark config (tests/bench/compare.sh), pipeline $pipeline"
		if [ "${sock#unix:}" != "$sock" ]; then
			echo "milter: { socket = \"$sock\"; socket_group = \"postfix\"; socket_mode = \"0660\";$at_rcpt };"
		else
			echo "milter: { socket = \"$sock\";$at_rcpt };"
		fi
		echo "log: { level = \"info\"; };"
		echo "limits: { max_messages_per_connection = 100000000; };"
		echo "dkim: { enabled = true;"
		echo "  keys = ( { domain = \"example.org\"; selector = \"$alg\"; key = \"$BENCH_D/$alg.pem\";"
		echo "           algorithm = \"$(bench_alg_name "$alg")\"; } ); };"
		[ "$pipeline" = full ] && cat <<EOF2
rate: { enabled = true; lmdb_path = "${out%.conf}-rate.mdb";
  rules = ( { name = "sender-msgs"; key = "sender"; count = "messages"; limit = "1000000000/1h"; action = "tempfail"; },
            { name = "sender-rcpts"; key = "sender"; count = "recipients"; limit = "1000000000/1h"; action = "tempfail"; } ); };
track: { enabled = true; unsubscribe_url = "https://unsub.example.net/u/{token}";
  unsubscribe_secrets = [ "bench-secret-0123456789abcdef" ]; };
event: { file = "${out%.conf}-events.json"; };
EOF2
	} >"$out"
	return 0
}

# bench_outpost_tables_conf OUT SOCKET KEYTABLE SIGNINGTABLE: outpost
# signing through OpenDKIM tables only.
bench_outpost_tables_conf() {
	cat >"$1" <<EOF
# outpost benchmark config with OpenDKIM tables (tests/bench/compare.sh)
milter: { socket = "$2"; };
log: { level = "info"; };
limits: { max_messages_per_connection = 100000000; };
dkim: { enabled = true; keytable = "file:$3"; signingtable = "refile:$4"; };
EOF
}

# bench_opendkim_conf OUT SOCKET ALG: OpenDKIM signing example.org with the
# same key and selector, relaxed/relaxed, client 127.0.0.1 internal.
# SOCKET: "unix:/path" or "inet:PORT@127.0.0.1".
bench_opendkim_conf() {
	local sock=$2
	[ "${sock#unix:}" != "$sock" ] && sock=local:${sock#unix:}
	cat >"$1" <<EOF
# OpenDKIM benchmark config (tests/bench/compare.sh)
Mode s
Domain example.org
KeyFile $BENCH_D/$3.pem
Selector $3
SignatureAlgorithm $(bench_alg_name "$3")
Canonicalization relaxed/relaxed
Socket $sock
InternalHosts 127.0.0.1
Syslog no
RequireSafeKeys no
UMask 007
EOF
}

# bench_wait_socket SOCKET PID: wait until SOCKET ("unix:/path" or
# "inet:PORT@HOST") listens. Returns 1 on timeout or when PID died.
bench_wait_socket() {
	case $1 in
	inet:*) e2e_wait_port "$(echo "${1#inet:}" | cut -d@ -f1)" 15 "$2" ;;
	unix:*) e2e_wait_unix "${1#unix:}" 15 "$2" ;;
	esac
}

# start_opendkim CONF SOCKET: run opendkim -f -x CONF (log in
# E2E_T/opendkim.log); sets OPENDKIM_PID.
start_opendkim() {
	bench_start opendkim "$2" "$BENCH_OPENDKIM" -f -x "$1" || return 1
	OPENDKIM_PID=$BENCH_PID
}

# stop_opendkim: SIGTERM it, wait, forget it.
stop_opendkim() {
	local start
	[ -n "${OPENDKIM_PID:-}" ] || return 0
	start=$(e2e_starttime "$OPENDKIM_PID")
	[ -n "$start" ] && { e2e_stop_proc "$OPENDKIM_PID" "$start" opendkim 10 || true; }
	wait "$OPENDKIM_PID" 2>/dev/null || true
	e2e_untrack "$OPENDKIM_PID"
	OPENDKIM_PID=""
}

# bench_start NAME SOCKET CMD...: run CMD in the foreground as a child
# (output in E2E_T/NAME.log), wait until SOCKET listens; sets BENCH_PID. A
# unix socket is handed to group postfix, mode 0660 (OpenDKIM cannot).
bench_start() {
	local name=$1 sock=$2
	shift 2
	echo "=== $(date '+%T') start: $*" >>"$E2E_T/$name.log"
	"$@" >>"$E2E_T/$name.log" 2>&1 &
	BENCH_PID=$!
	e2e_track "$BENCH_PID" "$name"
	if ! bench_wait_socket "$sock" "$BENCH_PID"; then
		tail -n 20 "$E2E_T/$name.log" >&2
		return 1
	fi
	if [ "${sock#unix:}" != "$sock" ]; then
		chgrp postfix "${sock#unix:}" && chmod 660 "${sock#unix:}"
	fi
}

# bench_stop LABEL SECONDS PID...: stop each process started by bench_start
# (SIGTERM, SIGKILL after SECONDS), reap it and forget it. Returns 0.
bench_stop() {
	local label=$1 secs=$2 pid
	shift 2
	for pid in "$@"; do
		e2e_stop_proc "$pid" "$(e2e_starttime "$pid")" "$label" "$secs" || true
		wait "$pid" 2>/dev/null
		e2e_untrack "$pid"
	done
	return 0
}

# bench_socket KIND NAME: "unix:E2E_T/sock/NAME.sock", or for KIND tcp
# "inet:PORT@127.0.0.1" on a free port.
bench_socket() {
	if [ "$1" = unix ]; then
		echo "unix:$BENCH_SOCKDIR/$2.sock"
	else
		echo "inet:$(free_port)@127.0.0.1"
	fi
}

# ---------------------------------------------------------------------------
# Runs and their numbers
# ---------------------------------------------------------------------------

# bench_run NAME PID SOCKET MESSAGE CONC SECONDS SIGS [OPBENCH_ARGS...]:
# run opbench against the milter PID for SECONDS; its output goes to
# E2E_T/runs/NAME.out. Prints the RESULT line, or "RESULT failed=EXIT"
# when it did not run clean (connection errors, missing signatures).
bench_run() {
	local name=$1 pid=$2 sock=$3 msg=$4 conc=$5 secs=$6 sigs=$7 rc=0 out
	shift 7
	out=$E2E_T/runs/$name.out
	"$OPBENCH" -s "$sock" -f "$msg" -c "$conc" -n "$BENCH_MAXMSGS" -t "$secs" \
		--expect-sigs "$sigs" --pid "$pid" "$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		e2e_log "run $name: opbench exit $rc: $(grep -m1 'first error\|wrong' "$out")"
		echo "RESULT failed=$rc $(grep '^RESULT' "$out" | cut -c8-)"
		return 0
	fi
	grep '^RESULT' "$out"
}

# bench_merge: RESULT lines of the rounds of one cell on stdin -> one
# RESULT line: rate, p50_us, p99_us and others_pct of the round that other
# processes disturbed least (lowest others_pct; of equals, the faster):
# the rounds alternate with the other milter's, and on a shared machine
# the cleanest round is the best estimate of the milter alone (other work
# inflates the milter's CPU time too: cache, context switches).
# cpu_us_per_msg: that round's, when it counted at least 50 clock ticks,
# else from the sums over all rounds (ticks are coarse); msgs, sigs and
# cpu_ticks are sums; failed=EXIT if any round failed.
bench_merge() {
	awk -v hz="$(getconf CLK_TCK)" '
	/^RESULT/ {
		n++
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[n, kv[1]] = kv[2] }
		if (v[n, "failed"] != "") failed = v[n, "failed"]
		msgs += v[n, "msgs"]; sigs += v[n, "sigs"]; ticks += v[n, "cpu_ticks"]
		o = v[n, "others_pct"]; o = (o == "" || o < 0) ? 1000 : o + 0
		if (!m || o < best || (o == best && v[n, "rate"] + 0 > v[m, "rate"] + 0)) { m = n; best = o }
	}
	END {
		if (n == 0) { print "RESULT failed=none"; exit }
		f = ""
		if (failed != "") f = " failed=" failed
		cpu = -1
		if (msgs > 0 && ticks >= 0) cpu = ticks * 1e6 / hz / msgs
		if (v[m, "cpu_ticks"] >= 50 && v[m, "msgs"] > 0) cpu = v[m, "cpu_ticks"] * 1e6 / hz / v[m, "msgs"]
		printf "RESULT%s msgs=%d rounds=%d rate=%s p50_us=%s p99_us=%s", f, msgs, n, v[m, "rate"], v[m, "p50_us"], v[m, "p99_us"]
		printf " sigs=%d cpu_ticks=%d cpu_us_per_msg=%.1f rss_kb=%s others_pct=%s client_us_per_msg=%s\n", sigs, ticks, cpu,
			v[n, "rss_kb"], v[m, "others_pct"] == "" ? -1 : v[m, "others_pct"],
			v[m, "client_us_per_msg"] == "" ? -1 : v[m, "client_us_per_msg"]
	}'
}

# bench_field LINE NAME: the value of NAME= in a RESULT line ("" if none).
bench_field() {
	local w
	for w in $1; do
		[ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return 0; }
	done
	echo ""
}

# bench_ratio A B [DIGITS]: A/B with DIGITS decimals (2), "-" when either
# is missing or B is 0.
bench_ratio() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {
		if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0 || a + 0 < 0 || b + 0 < 0) print "-"
		else printf "%.*f\n", d, a / b }'
}

# bench_fmt NUMBER [DIGITS]: NUMBER rounded to DIGITS decimals (0), or "-".
bench_fmt() {
	awk -v a="$1" -v d="${2:-0}" 'BEGIN {
		if (a == "" || a == "-" || a + 0 < 0) print "-"; else printf "%.*f\n", d, a }'
}

# bench_since T0: seconds since T0 (a saved $EPOCHREALTIME), 3 decimals.
bench_since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f\n", b - a}'
}

# bench_tree_ticks: "BUSY ALL OURS" clock ticks: BUSY and ALL of all
# CPUs (/proc/stat), OURS the CPU time of this shell and all its living
# descendants (utime+stime+cutime+cstime: a process that ended is counted
# in its parent once reaped; lib.sh makes us a subreaper, so Postfix's
# daemons stay descendants). Builtins only, as e2e_descendants.
bench_tree_ticks() {
	local f line rest pid cpu ours=0 queue cur
	local -A parent=() ticks=()
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		pid=${line%% *}
		rest=${line##*) }
		# shellcheck disable=SC2086 # split the numeric fields on purpose
		set -- $rest
		parent[$pid]=$2
		ticks[$pid]=$((${12} + ${13} + ${14} + ${15}))
	done
	queue=("$$")
	while [ "${#queue[@]}" -gt 0 ]; do
		cur=${queue[0]}
		queue=("${queue[@]:1}")
		ours=$((ours + ${ticks[$cur]:-0}))
		for pid in "${!parent[@]}"; do
			[ "${parent[$pid]}" = "$cur" ] && queue+=("$pid")
		done
	done
	read -r cpu line </proc/stat
	# shellcheck disable=SC2086
	set -- $line
	echo "$(($1 + $2 + $3 + $6 + $7 + $8)) $(($1 + $2 + $3 + $4 + $5 + $6 + $7 + $8)) $ours"
}

# bench_others_pct "B0 A0 O0" "B1 A1 O1": percent of all CPUs that
# processes not ours used between two bench_tree_ticks.
bench_others_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
		all = y[2] - x[2]; o = (y[1] - x[1]) - (y[3] - x[3])
		if (all <= 0) print -1; else printf "%.0f\n", (o < 0 ? 0 : o) * 100 / all }'
}

# bench_median N...: the median of integers (the lower middle one of an
# even count); nothing when none.
bench_median() {
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

# bench_ticks PID: utime+stime of PID in clock ticks ("" if gone or none).
bench_ticks() {
	[ -n "$1" ] || return 0
	awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null
}

# bench_rss PID: VmRSS of PID in kB ("" if gone).
bench_rss() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

# bench_machine: "CPU model, N cores, kernel K" of this machine.
bench_machine() {
	local model
	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
	printf '%s, %s cores (nproc), %s MB RAM, kernel %s, %s\n' "${model:-unknown CPU}" \
		"$(nproc)" "$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)" \
		"$(uname -r)" "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
}
