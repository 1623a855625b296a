#!/bin/bash
# t-rate-postfix-redis-paused-and-killed: outpost on a real Redis behind
# Postfix, with actions.on_store_error = tempfail and rate.redis_timeout =
# 200ms, while a stream of messages goes through:
#  - Redis paused (CLIENT PAUSE 3000 ALL): messages get 451 4.3.0, each
#    answered within a second (no hang: one timeout, then backoff);
#  - the pause over: messages are accepted again within 3 s;
#  - Redis killed: 451 4.3.0 at once; started again on its port: accepted
#    again within 3 s, and the counts go on in the new Redis.
# Then with on_store_error = accept (a reload): Redis killed, mail is
# accepted, counted in the embedded store.  outpost warns about the store
# once a minute, however many messages fail.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-rate.sh"
e2e_require_outpost
e2e_require_cmd redis-server redis-cli
redis=$(free_port)
start_redis "$redis"
redis_pid=${E2E_PROCS[${#E2E_PROCS[@]} - 1]%% *}
sink=$(free_port)
smtpd=$(free_port)
op=$(free_port)
conf() {
	e2e_outpost_conf "$E2E_T/outpost.conf" "$op" "log: { level = \"info\"; };" \
		"actions: { on_store_error = \"$1\"; };" \
		"rate: { enabled = true; store = \"redis\"; redis_address = \"127.0.0.1:$redis\";
		  redis_timeout = \"200ms\"; lmdb_path = \"$E2E_T/rate.mdb\"; rules = (
		  { name = \"msgs\"; key = \"sender\"; limit = \"1000/1h\"; } ); };"
}
conf tempfail
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op"

n=0
# send: one message; prints "ok", "tempfail" (MAIL FROM accepted, its
# verdict given at RCPT TO: milter.mail_verdicts_at_rcpt) or the reply, and
# sets SECS.
send() {
	local t0=$EPOCHREALTIME out
	n=$((n + 1))
	out=$(rate_smtp "$smtpd" stream@example.org "r$n@example.net") || true
	SECS=$(e2e_elapsed "$t0")
	case $out in
	*"end 250 "*) echo ok ;;
	*"mail 250 "*"451 4.3.0 rate limit service unavailable"*) echo tempfail ;;
	*) echo "$out" | tr '\n' ' ' ;;
	esac
}
# until_ok SECONDS: send until one is accepted; fail after SECONDS.
until_ok() {
	local t0=$EPOCHREALTIME r
	while :; do
		r=$(send)
		[ "$r" = ok ] && { e2e_elapsed "$t0"; return 0; }
		[ "$(e2e_elapsed "$t0" | cut -d. -f1)" -ge "$1" ] && { echo "never ($r)"; return 1; }
		sleep 0.2
	done
}

for i in 1 2 3; do check_eq "stream before the fault, message $i" "$(send)" ok; done
redis-cli -p "$redis" CLIENT PAUSE 3000 ALL >/dev/null
paused=$EPOCHREALTIME
slow=0 tf=0
for i in 1 2 3 4 5; do
	t0=$EPOCHREALTIME
	r=$(send)
	s=$(e2e_elapsed "$t0")
	[ "$r" = tempfail ] && tf=$((tf + 1))
	[ "${s%%.*}" -ge 1 ] && slow=$((slow + 1))
	e2e_log "paused: message: $r in $s s"
done
check_eq "paused: messages answered 451 4.3.0" "$tf" 5
check_eq "paused: messages that took a second or more" "$slow" 0
while [ "$(e2e_elapsed "$paused" | cut -d. -f1)" -lt 3 ]; do sleep 0.1; done
check_match "pause over: accepted again after (s)" "$(until_ok 5)" '^[0-3]\.'

kill -KILL "$redis_pid"
r=$(send)
check_eq "Redis killed: 451 4.3.0" "$r" tempfail
start_redis "$redis"
redis_pid=${E2E_PROCS[${#E2E_PROCS[@]} - 1]%% *}
check_match "Redis back: accepted again after (s)" "$(until_ok 5)" '^[0-3]\.'
check_eq "the new Redis counts" "$(redis-cli -p "$redis" --scan --pattern 'outpost:r:*')" \
	"outpost:r:sender:stream@example.org#msgs"

conf accept
reload_outpost
sleep 1
kill -KILL "$redis_pid"
check_eq "on_store_error = accept, Redis killed: accepted" "$(send)" ok
check_eq "and the next" "$(send)" ok
sleep 0.3
check_eq "store warnings over the whole test (one a minute, however many failures)" \
	"$(grep -c 'rate: the redis store is unavailable' "$OUTPOST_LOG" || true)" 1
check_alive "outpost" "$OUTPOST_PID"
e2e_finish
