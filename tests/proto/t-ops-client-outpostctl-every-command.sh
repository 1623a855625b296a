#!/bin/sh
# t-ops-client-outpostctl-every-command: every outpostctl command against a
# running daemon (conf/ops.conf: dkim, track, rate, event log, control
# socket, metrics endpoint), each with and without --json.
#   status      version, pid, generation, in flight, workers, store, events, metrics
#   reload      a good config: generation +1; a broken one: exit 1 with
#               FILE:LINE, the old generation keeps serving (status and
#               metrics say so); a syntax error with -s SOCKET
#   keygen, keycheck, unsub make|verify, trace, rate top|show|reset,
#   hold list|release: they work as without a daemon
#   not running: exit 3 and a clear message (JSON: "running": false);
#   permission denied: exit 4 (as nobody, when run as root).
# The metrics endpoint is scraped after five transactions: promtool
# accepts it (when installed), counters match what was sent (4 messages
# signed with RSA and Ed25519, 1 held by rate, 1 tempfailed at MAIL).
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
command -v jq >/dev/null 2>&1 || { echo "skip: jq not installed"; exit 77; }
PROTO_PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
proto_start ops || exit 1
CTL=${CTL:-$top_builddir/outpostctl}
# Built without libmicrohttpd: no endpoint (status says "off").
mhd=0
grep -q '^#define HAVE_MICROHTTPD 1' "$top_builddir/config.h" 2>/dev/null && mhd=1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
good() { echo "ok: $*"; }

# run NAME ARGS...: outpostctl on the test's config; stdout in $dir/NAME,
# stderr in $dir/NAME.err, exit status in $rc.
run() {
	local name=$1
	shift
	"$CTL" -c "$dir/outpost.conf" "$@" >"$dir/$name" 2>"$dir/$name.err" && rc=0 || rc=$?
}
# want_rc WHAT WANT: the last run's exit status.
want_rc() {
	if [ "$rc" = "$2" ]; then good "$1: exit $rc"; else
		bad "$1: exit $rc, wanted $2; stdout/stderr:"
		sed 's/^/    /' "$dir/$last" "$dir/$last.err"
	fi
}
# want_line WHAT FILE ERE: a line of FILE matches.
want_line() {
	if grep -Eq -- "$3" "$2"; then good "$1: $(grep -E -- "$3" "$2" | head -n 1)"; else
		bad "$1: no line matching /$3/ in $2:"
		sed 's/^/    /' "$2"
	fi
}
# want_jq WHAT FILE FILTER: jq -e FILTER holds on FILE.
want_jq() {
	if jq -e "$3" "$2" >/dev/null 2>&1; then good "$1: $3"; else
		bad "$1: jq '$3' is false on $2:"
		sed 's/^/    /' "$2"
	fi
}
# ctl NAME ARGS...: run, remembering NAME for want_rc.
ctl() { last=$1; run "$@"; }

printf 'From: a@example.org\nTo: b@example.net\nSubject: ops\n\nhello\n' >"$dir/m.eml"
send() {
	"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr 192.0.2.7 "$@" <"$dir/m.eml" \
		>>"$dir/sent" 2>&1
}

# --- status before any mail -------------------------------------------------
ctl status status
want_rc "status" 0
want_line "status: version and pid" "$dir/status" "^outpost [0-9.]+, pid $pid, up "
want_line "status: generation 1" "$dir/status" "^config: +$dir/outpost.conf, generation 1;"
want_line "status: store not used yet" "$dir/status" "^store: +lmdb $dir/rate.mdb: unused"
want_line "status: workers" "$dir/status" "^workers: +[0-9]+ configured; [0-9]+ threads, 0 waiting on DNS or Redis, [0-9]+ parked$"
if [ "$mhd" = 1 ]; then
	want_line "status: metrics URL" "$dir/status" "^metrics: +http://127.0.0.1:$PROTO_PORT/metrics$"
else
	want_line "status: no metrics without libmicrohttpd" "$dir/status" "^metrics: +off"
fi
ctl status.json --json status
want_rc "status --json" 0
want_jq "status --json" "$dir/status.json" ".pid == $pid and .generation == 1 and .store.state == \"unused\" and .modules == [\"rate\",\"track\",\"dkim\"] and .connections_in_flight == 0 and .workers.threads >= .workers.configured and .workers.waiting == 0"
[ "$(stat -c %a "$dir/control.sock")" = 600 ] && good "control socket mode 600" ||
	bad "control socket mode $(stat -c %a "$dir/control.sock"), wanted 600"

# --- five transactions, then status and metrics --------------------------------
send --auth-authen alice --from a@example.org --queue-id Q1 --rcpt bob@example.net
send --auth-authen alice --from a@example.org --queue-id Q2 --rcpt carol@example.net # held
send --auth-authen mallory --from m@example.org --queue-id Q3 --rcpt x@example.net
send --auth-authen mallory --from m@example.org --queue-id Q4 --rcpt y@example.com
send --auth-authen mallory --from m@example.org --queue-id Q5 --rcpt z@example.com # 451
# The event writer gathers lines for a few milliseconds before it writes.
i=0
while ctl status2 --json status && ! jq -e '.events.written == 5' "$dir/status2" >/dev/null 2>&1 &&
	[ $i -lt 40 ]; do
	sleep 0.05
	i=$((i + 1))
done
want_jq "status after mail" "$dir/status2" '.store.state == "ok" and .store.errors == 0 and .events.written == 5 and .messages_in_flight == 0'

if [ "$mhd" = 0 ]; then
	echo "note: built without libmicrohttpd: no metrics endpoint to scrape"
elif command -v curl >/dev/null 2>&1; then
	curl -sS "http://127.0.0.1:$PROTO_PORT/metrics" >"$dir/metrics" 2>&1 || bad "GET /metrics"
	m() { awk -v k="$1" '$1 == k { print $2 }' "$dir/metrics"; }
	[ "$(m 'outpost_dkim_signatures_total{algorithm="rsa-sha256"}')" = 4 ] &&
		[ "$(m 'outpost_dkim_signatures_total{algorithm="ed25519-sha256"}')" = 4 ] &&
		good "metrics: 4 RSA and 4 Ed25519 signatures" || bad "metrics: signatures: $(grep signatures_total "$dir/metrics")"
	[ "$(m 'outpost_messages_total{verdict="continue",end="eom"}')" = 3 ] &&
		[ "$(m 'outpost_messages_total{verdict="hold",end="eom"}')" = 1 ] &&
		[ "$(m 'outpost_messages_total{verdict="tempfail",end="mail"}')" = 1 ] &&
		good "metrics: 3 passed, 1 held, 1 tempfailed at MAIL" || bad "metrics: messages: $(grep messages_total "$dir/metrics")"
	[ "$(m 'outpost_rate_rule_hits_total{rule="login-msgs",action="tempfail"}')" = 1 ] &&
		[ "$(m 'outpost_rate_rule_hits_total{rule="login-domain",action="hold"}')" = 1 ] &&
		[ "$(m 'outpost_messages_held_total{module="rate"}')" = 1 ] &&
		good "metrics: rule hits by rule and action, held by rate" || bad "metrics: rate: $(grep -E 'rule_hits|held_total' "$dir/metrics")"
	[ "$(m 'outpost_milter_callback_duration_seconds_count{stage="eom"}')" = 4 ] &&
		good "metrics: 4 end-of-message callbacks timed" || bad "metrics: eom count $(m 'outpost_milter_callback_duration_seconds_count{stage="eom"}')"
	[ "$(m outpost_event_lines_written_total)" = 5 ] && good "metrics: 5 event lines" ||
		bad "metrics: event lines $(m outpost_event_lines_written_total)"
	if command -v promtool >/dev/null 2>&1; then
		promtool check metrics <"$dir/metrics" >"$dir/promtool" 2>&1 && good "promtool check metrics" ||
			{ bad "promtool check metrics:"; sed 's/^/    /' "$dir/promtool"; }
	else
		echo "note: promtool not installed (package prometheus): not checked"
	fi
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROTO_PORT/other")
	[ "$code" = 404 ] && good "GET /other: 404" || bad "GET /other: $code, wanted 404"
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PROTO_PORT/metrics")
	[ "$code" = 405 ] && good "POST /metrics: 405" || bad "POST /metrics: $code, wanted 405"
else
	echo "note: curl not installed: the metrics endpoint is not scraped here"
fi

# --- reload ------------------------------------------------------------------------
ctl reload reload
want_rc "reload" 0
want_line "reload: generation 2" "$dir/reload" "^configuration generation 2 from $dir/outpost.conf is active$"
ctl reload.json --json reload
want_rc "reload --json" 0
want_jq "reload --json" "$dir/reload.json" '.ok == true and .generation == 3'
cp "$dir/outpost.conf" "$dir/outpost.conf.good"
echo 'limits: { max_headers = 5; };' >>"$dir/outpost.conf"
ctl reload.bad reload
want_rc "reload of a refused config" 1
want_line "reload refused: why, with file and line" "$dir/reload.bad.err" \
	"reload refused, generation 3 keeps serving: $dir/outpost.conf:[0-9]+: .*max_headers"
ctl reload.bad.json --json reload
want_rc "reload --json of a refused config" 1
want_jq "reload --json refused" "$dir/reload.bad.json" '.ok == false and .generation == 3 and (.error | test("max_headers"))'
echo 'this is not libconfig' >>"$dir/outpost.conf"
ctl reload.syntax reload -s "$dir/control.sock"
want_rc "reload -s of a config with a syntax error" 1
want_line "syntax error: file and line" "$dir/reload.syntax.err" "keeps serving: $dir/outpost.conf:[0-9]+"
ctl status3 --json status -s "$dir/control.sock"
want_jq "still generation 3, reloads counted" "$dir/status3" '.generation == 3 and .reloads.ok == 2 and .reloads.refused == 3 and .reloads.last_ok == false'
ctl status3.txt status -s "$dir/control.sock"
want_line "status text: reloads" "$dir/status3.txt" "generation 3; reloads: 2 ok, 3 refused, last [0-9TZ:-]+ refused$"
cp "$dir/outpost.conf.good" "$dir/outpost.conf"
ctl reload.again reload
want_rc "reload after the fix" 0

# --- the commands that need no daemon, with one running --------------------------------
mkdir -m 700 "$dir/keys"
ctl keygen keygen -d "$dir/keys" example.org s2027 ed25519
want_rc "keygen" 0
want_line "keygen: the record" "$dir/keygen" '^s2027\._domainkey\.example\.org\. IN TXT \( "v=DKIM1; k=ed25519; p='
ctl keygen.json --json keygen -d "$dir/keys" example.org s2028 rsa 2048
want_rc "keygen --json" 0
want_jq "keygen --json" "$dir/keygen.json" '.selector == "s2028" and (.txt | startswith("v=DKIM1; k=rsa; p="))'
ctl keycheck keycheck # no DNS here: every key is "missing"
want_rc "keycheck without DNS" 1
want_line "keycheck" "$dir/keycheck" '^2 keys checked, 2 not served correctly in DNS$'
ctl keycheck.json --json keycheck
want_rc "keycheck --json without DNS" 1
want_jq "keycheck --json" "$dir/keycheck.json" '.checked == 2 and .failed == 2 and (.keys | length) == 2'
ctl unsub unsub make acme news bob@example.net
want_rc "unsub make" 0
tok=$(cat "$dir/unsub")
ctl unsub.v unsub verify "$tok"
want_rc "unsub verify" 0
want_line "unsub verify" "$dir/unsub.v" '^valid version=1 tenant="acme" list="news" rcpt="bob@example.net"'
ctl unsub.json --json unsub verify "$tok"
want_rc "unsub verify --json" 0
want_jq "unsub verify --json" "$dir/unsub.json" '.tenant == "acme" and .rcpt == "bob@example.net"'
ctl trace trace Q1
want_rc "trace" 0
want_jq "trace Q1" "$dir/trace" '.queue_id == "Q1" and .modules.dkim.result == "sign"'
ctl trace.json --json trace Q2
want_rc "trace --json" 0
want_jq "trace --json Q2: held" "$dir/trace.json" '.queue_id == "Q2" and (.hold | test("login-domain"))'
ctl rate rate top 10
want_rc "rate top" 0
want_line "rate top" "$dir/rate" '^login:mallory#login-msgs +'
ctl rate.json --json rate show login:mallory
want_rc "rate show --json" 0
want_jq "rate show --json" "$dir/rate.json" 'map(.key) | index("login:mallory#login-msgs") != null'
ctl rate.reset rate reset login:mallory
want_rc "rate reset" 0
want_line "rate reset" "$dir/rate.reset" ': [0-9]+ counters reset$'
ctl rate.reset.json --json rate reset login:mallory
want_rc "rate reset --json" 0
want_jq "rate reset --json" "$dir/rate.reset.json" '.reset == 0'
ctl hold hold list
want_rc "hold list" 0
want_line "hold list" "$dir/hold" '^login:alice +held since .* by rule login-domain$'
ctl hold.json --json hold list
want_rc "hold list --json" 0
want_jq "hold list --json" "$dir/hold.json" '.[0].account == "login:alice"'
ctl hold.rel hold release alice
want_rc "hold release" 0
ctl hold.rel.json --json hold release alice
want_rc "hold release --json of one not held" 1

# --- permission denied, then not running -----------------------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	last=denied
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -c /nonexistent status \
		-s "$dir/control.sock" >"$dir/denied" 2>"$dir/denied.err" && rc=0 || rc=$?
	want_rc "status as nobody" 4
	want_line "status as nobody: why" "$dir/denied.err" 'permission denied: run as root, or as a member of control.group'
fi
kill "$pid"
wait "$pid" 2>/dev/null
pid=
[ ! -e "$dir/control.sock" ] && good "control socket removed at exit" || bad "control socket left behind"
ctl down status
want_rc "status, daemon stopped" 3
want_line "status, daemon stopped: why" "$dir/down.err" "outpostctl: outpost is not running: nothing listens on $dir/control.sock \\(control.socket in $dir/outpost.conf\\)"
ctl down.json --json reload
want_rc "reload --json, daemon stopped" 3
want_jq "reload --json, daemon stopped" "$dir/down.json" '.ok == false and .running == false'
ctl usage status extra
want_rc "status with a stray argument" 2
proto_stop || fail=1
exit $fail
