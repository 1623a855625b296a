#!/bin/sh
# t-rate-client-recipient-over-limit-gets-its-own-451: rule login-rcpts
# (5 recipients an hour per login, tempfail): a message to 7 recipients
# has its first 5 accepted and the 6th and 7th each refused with 451
# 4.7.1; the message itself goes on with the 5.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
proto_start rate || exit 1
. "$srcdir/tests/proto/lib-rate.sh"
rate_send out --auth-authen rita --from rita@example.org --queue-id R1 \
	--rcpt a1@one.example --rcpt a2@two.example --rcpt a3@three.example --rcpt a4@four.example \
	--rcpt a5@five.example --rcpt a6@six.example --rcpt a7@seven.example
want_count "recipients accepted" "$dir/out" '^reply stage=rcpt .*action=continue' 5
want_count "recipients refused with 451 4.7.1" "$dir/out" \
	'^reply stage=rcpt rcpt="<a[67]@.*action=tempfail code=451 text="4\.7\.1 rate limit exceeded \(recipients 5/1h per login\); try again in [0-9]+ seconds"' 2
want_line "the message goes on" "$dir/out" '^final action=continue stage=eom'
sleep 0.2
want_line "summary counts 5 recipients" "$dir/outpost.log" 'R1: outpost: end=eom verdict=continue .*rcpts=5 '
proto_stop || fail=1
exit $fail
