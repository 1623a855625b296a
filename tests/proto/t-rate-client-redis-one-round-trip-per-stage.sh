#!/bin/sh
# t-rate-client-redis-one-round-trip-per-stage: on a real Redis, the
# rules of one stage are one EVALSHA (SCRIPT LOAD once): a message with 3
# recipients costs 4 (MAIL, and one per RCPT) whatever the number of
# rules; the limit holds (login-msgs: 3 an hour, the 4th gets 451); keys
# carry the prefix and expire with their window (a TTL, at most an hour);
# `outpostctl rate show` reads them from Redis.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
. "$srcdir/tests/proto/lib-rate-redis.sh"
redis_up tempfail || exit 1
. "$srcdir/tests/proto/lib-rate.sh"
redis-cli -p "$REDIS_PORT" CONFIG RESETSTAT >/dev/null
rate_send m1 --auth-authen rae --from rae@example.org --queue-id R1 \
	--rcpt a@one.example --rcpt b@two.example --rcpt c@three.example
want_line "first message passes" "$dir/m1" '^final action=continue stage=eom'
stats=$(redis-cli -p "$REDIS_PORT" INFO commandstats)
n=$(echo "$stats" | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p')
l=$(echo "$stats" | sed -n 's/^cmdstat_script|load:calls=\([0-9]*\),.*/\1/p; s/^cmdstat_script:calls=\([0-9]*\),.*/\1/p' | head -n1)
[ "$n" = 4 ] && echo "ok: EVALSHA calls for MAIL + 3 RCPT: $n" ||
	{ echo "FAIL: EVALSHA calls: got '$n', wanted 4"; echo "$stats"; fail=1; }
[ "$l" = 1 ] && echo "ok: SCRIPT LOAD calls: $l" || { echo "FAIL: SCRIPT LOAD calls: got '$l', wanted 1"; fail=1; }
for i in 2 3 4; do rate_send m$i --auth-authen rae --from rae@example.org --queue-id R$i --rcpt x@d$i.example; done
want_line "fourth message refused" "$dir/m4" '^final action=tempfail stage=mail code=451 text="4\.7\.1 rate limit exceeded'
ttl=$(redis-cli -p "$REDIS_PORT" PTTL 'outpost:r:login:rae#login-msgs')
[ "$ttl" -gt 0 ] && [ "$ttl" -le 3600000 ] && echo "ok: the key expires with its window (PTTL $ttl ms)" ||
	{ echo "FAIL: PTTL of outpost:r:login:rae#login-msgs: got '$ttl', wanted 1..3600000"; fail=1; }
ctl rate show login:rae >"$dir/show" 2>&1
want_line "rate show through Redis" "$dir/show" '^login:rae#login-msgs +(99\.[0-9]|100\.0)% full'
redis_stop
proto_stop || fail=1
exit $fail
