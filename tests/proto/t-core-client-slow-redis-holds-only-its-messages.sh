#!/bin/sh
# t-core-client-slow-redis-holds-only-its-messages: one worker thread
# (milter.workers = 1, conf/workers.conf) and a Redis that takes commands
# and never answers (tests/proto/slow-peer.py redis).  Three messages from
# logins, whose rate rule waits on that Redis, are sent at once; while they
# wait, a bounce (null sender, no login: the rate module has no account to
# look up, so it does not ask the store) is signed at once: waiting on
# Redis holds only the messages that need it.  Once the Redis closes its
# connections the three get actions.on_store_error (tempfail, 451 4.3.0),
# at RCPT TO (the default milter.mail_verdicts_at_rcpt), and a bounce after
# that is still signed.  `outpostctl status` shows the
# three threads waiting on Redis, and then the three spare threads parked.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
. "$srcdir/tests/proto/lib-rate-redis.sh" # redis_free_port
port=$(redis_free_port)
PROTO_PORT=$port proto_start workers || exit 1
. "$srcdir/tests/proto/lib-rate.sh" # want_line
python3 "$srcdir/tests/proto/slow-peer.py" redis "$port" "$dir" &
silent=$!
trap 'kill $silent 2>/dev/null; proto_stop' EXIT
i=0
while ! ss -Htln "sport = :$port" | grep -q . && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
printf 'From: a@example.org\nSubject: workers\n\nhello\n' >"$dir/m.eml"
send() { # OUT [milterclient options]: null sender unless --from is given
	out=$1
	shift
	"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr 127.0.0.1 \
		--rcpt b@example.net --timeout 20 "$@" <"$dir/m.eml" >"$dir/$out" 2>&1
}
for i in 1 2 3; do
	send slow$i --auth-authen user$i --from user$i@example.org &
	eval "slow$i=\$!"
done
i=0
while [ ! -e "$dir/redis-got" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -e "$dir/redis-got" ] && echo "ok: the silent Redis got a command" ||
	{ echo "FAIL: no command reached the silent Redis in 5 s"; fail=1; }
send free --timeout 5
grep -q '^mod insheader index=0 name=DKIM-Signature' "$dir/free" &&
	echo "ok: a bounce is signed while three messages wait on Redis" ||
	{ echo "FAIL: the bounce sent meanwhile: got"; sed 's/^/    /' "$dir/free"; fail=1; }
for i in 1 2 3; do
	grep -q '^final' "$dir/slow$i" &&
		{ echo "FAIL: slow$i answered before Redis did: $(grep '^final' "$dir/slow$i")"; fail=1; }
done
# status_until ERE: outpostctl status until its workers line matches (5 s).
status_until() {
	i=0
	while ctl status >"$dir/status" 2>&1 && ! grep -Eq "$1" "$dir/status" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
# outpostctl status says why: three threads wait on Redis, one serves
status_until '^workers: .* 3 waiting'
want_line "status while they wait" "$dir/status" \
	'^workers: +1 configured; 4 threads, 3 waiting on DNS or Redis, 0 parked$'
touch "$dir/redis-release"
wait $slow1 $slow2 $slow3
for i in 1 2 3; do
	want_line "slow$i: store error action" "$dir/slow$i" \
		'^final action=tempfail stage=rcpt code=451 text="4\.3\.0'
done
# the threads that took the waiting workers' places are parked as spares
status_until '^workers: .* 0 waiting .* 3 parked'
want_line "status afterwards" "$dir/status" \
	'^workers: +1 configured; 4 threads, 0 waiting on DNS or Redis, 3 parked$'
send after
grep -q '^mod insheader index=0 name=DKIM-Signature' "$dir/after" &&
	echo "ok: a bounce afterwards is signed" ||
	{ echo "FAIL: the bounce afterwards: got"; sed 's/^/    /' "$dir/after"; fail=1; }
kill $silent 2>/dev/null
proto_stop || fail=1
exit $fail
