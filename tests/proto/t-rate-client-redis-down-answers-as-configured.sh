#!/bin/sh
# t-rate-client-redis-down-answers-as-configured: with no Redis listening,
# actions.on_store_error = tempfail answers 451 4.3.0 at MAIL at once (no
# hang); with accept (the default), the embedded store of the host counts
# instead, so the limit still holds (login-msgs: 3 an hour), and one
# warning says so.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
. "$srcdir/tests/proto/lib-rate-redis.sh"
redis_up tempfail closed || exit 1
. "$srcdir/tests/proto/lib-rate.sh"
t0=$(date +%s%N)
rate_send t1 --auth-authen dan --from dan@example.org --rcpt r@example.net --queue-id T1
t1=$(date +%s%N)
want_line "tempfail when the store is down" "$dir/t1" \
	'^final action=tempfail stage=mail code=451 text="4\.3\.0 rate limit service unavailable, try again later"'
ms=$(((t1 - t0) / 1000000))
[ "$ms" -lt 2000 ] && echo "ok: answered in $ms ms" || { echo "FAIL: took $ms ms"; fail=1; }
proto_stop || fail=1
redis_up accept closed || exit 1
. "$srcdir/tests/proto/lib-rate.sh"
for i in 1 2 3 4 5; do
	rate_send a$i --auth-authen dan --from dan@example.org --rcpt r@d$i.example --queue-id A$i
done
want_line "fallback: message 3 passes" "$dir/a3" '^final action=continue stage=eom'
want_line "fallback: message 4 refused by the embedded store" "$dir/a4" '^final action=tempfail stage=mail code=451 text="4\.7\.1'
sleep 0.2
want_count "one warning a minute" "$dir/outpost.log" 'rate: the redis store is unavailable .*counting in the embedded store' 1
proto_stop || fail=1
exit $fail
