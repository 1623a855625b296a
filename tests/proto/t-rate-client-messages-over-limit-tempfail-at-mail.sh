#!/bin/sh
# t-rate-client-messages-over-limit-tempfail-at-mail: rule login-msgs
# (3 messages an hour per login, tempfail): the fourth MAIL FROM of a login
# gets 451 4.7.1 with the seconds until a retry passes; the refused attempt
# consumed nothing (the fifth is refused with the same wait); another
# login is not affected; a tenant's override (1000/1h) lets its login on.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
proto_start rate || exit 1
. "$srcdir/tests/proto/lib-rate.sh"
for i in 1 2 3 4 5; do
	rate_send m$i --auth-authen tim --from tim@example.org --rcpt r@d$i.example --queue-id M$i
done
for i in 1 2 3; do want_line "message $i passes" "$dir/m$i" '^final action=continue stage=eom'; done
want_line "message 4 refused at MAIL" "$dir/m4" \
	'^final action=tempfail stage=mail code=451 text="4\.7\.1 rate limit exceeded \(messages 3/1h per login\); try again in 1[12][0-9][0-9] seconds"'
want_line "message 5 refused the same" "$dir/m5" '^final action=tempfail stage=mail code=451'
w4=$(grep "^final" "$dir/m4" | sed -n "s/.*try again in \([0-9]*\) seconds.*/\1/p")
w5=$(grep "^final" "$dir/m5" | sed -n "s/.*try again in \([0-9]*\) seconds.*/\1/p")
[ "$w5" -le "$w4" ] && echo "ok: a refused attempt consumed nothing ($w4 s, then $w5 s)" ||
	{ echo "FAIL: the wait grew from $w4 to $w5 s: the refusal was counted"; fail=1; }
rate_send other --auth-authen tom --from tom@example.org --rcpt r@d1.example --queue-id O1
want_line "another login passes" "$dir/other" '^final action=continue stage=eom'
for i in 1 2 3 4 5; do
	rate_send b$i --auth-authen bulk --from news@example.org --rcpt r@d$i.example --queue-id B$i
done
want_line "the tenant's override lets its fifth message pass" "$dir/b5" '^final action=continue stage=eom'
sleep 0.2
want_line "the log names rule and key" "$dir/outpost.log" \
	': rate: over limit: rule=login-msgs key=login:tim#login-msgs count=messages limit=3/1h burst=3 action=tempfail'
proto_stop || fail=1
exit $fail
