#!/bin/bash
# t-rate-postfix-two-relays-share-redis: two relays (each a Postfix with its
# own outpost) count in one real Redis, so they enforce one limit: a sender
# allowed 10 messages an hour with a burst of 5 sends 30 messages,
# alternating between the relays; the two together accept limit + burst at
# most (here, within a few seconds, the burst: 5), each relay refuses with
# 451 4.7.1, and Redis holds one counter for the sender.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-rate.sh"
e2e_require_outpost
e2e_require_cmd redis-server redis-cli
redis=$(free_port)
start_redis "$redis"
sink=$(free_port)
start_sink "$sink" "$E2E_T/dump"
for r in a b; do
	op=$(free_port)
	smtpd=$(free_port)
	eval "smtpd_$r=$smtpd"
	mkdir -p "$E2E_T/$r"
	e2e_outpost_conf "$E2E_T/$r/outpost.conf" "$op" "log: { level = \"info\"; };" \
		"rate: { enabled = true; store = \"redis\"; redis_address = \"127.0.0.1:$redis\";
		  lmdb_path = \"$E2E_T/$r/rate.mdb\"; rules = (
		  { name = \"msgs\"; key = \"sender\"; limit = \"10/1h\"; burst = 5; } ); };"
	OUTPOST_LOG=""
	start_outpost "$E2E_T/$r/outpost.conf"
	eval "pid_$r=$OUTPOST_PID"
	start_postfix "$r" "$smtpd" "$sink" "inet:127.0.0.1:$op"
done
# a refusal: MAIL FROM accepted, its verdict at RCPT TO (milter.
# mail_verdicts_at_rcpt, the default)
acc_a=0 acc_b=0 ref=0 other=0
for i in $(seq 1 30); do
	r=$([ $((i % 2)) = 0 ] && echo a || echo b)
	port=$([ "$r" = a ] && echo "$smtpd_a" || echo "$smtpd_b")
	out=$(rate_smtp "$port" shared@example.org "to$i@d$i.example") || true
	case $out in
	*"end 250 "*) eval "acc_$r=\$((acc_$r + 1))" ;;
	*"mail 250 "*"451 4.7.1 rate limit exceeded"*) ref=$((ref + 1)) ;;
	*) other=$((other + 1)); e2e_log "message $i via $r: $out" ;;
	esac
done
check_eq "accepted by both relays together (limit 10/1h, burst 5)" "$((acc_a + acc_b))" 5
check_ge "accepted by relay a" "$acc_a" 1
check_ge "accepted by relay b" "$acc_b" 1
check_eq "refused with 451 4.7.1" "$ref" 25
check_eq "other outcomes" "$other" 0
check_eq "Redis counters of the sender" \
	"$(redis-cli -p "$redis" --scan --pattern 'outpost:r:sender:shared@example.org*' | tr '\n' ' ')" \
	"outpost:r:sender:shared@example.org#msgs "
wait_for_dumps "$E2E_T/dump" 5 20 || true
check_eq "messages at the sink" "$(dump_count "$E2E_T/dump")" 5
check_alive "outpost a" "$pid_a"
check_alive "outpost b" "$pid_b"
e2e_finish
