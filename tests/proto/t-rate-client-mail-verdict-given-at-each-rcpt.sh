#!/bin/sh
# t-rate-client-mail-verdict-given-at-each-rcpt: by default (milter.
# mail_verdicts_at_rcpt = true), outpost asks for no reply at MAIL FROM
# (SMFIP_NR_MAIL) and gives the verdict it reached there to every RCPT TO:
# login tim's third message (rule login-msgs, 2 an hour, tempfail) has
# both recipients refused with the rate limit's 451 and never reaches
# DATA, the refusal consumed nothing, and the summary line still says the
# message ended at MAIL FROM.  An external sender over its reject rule gets
# 550 at its recipient.  The transactions before and after go through.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
proto_start rate-at-rcpt || exit 1
. "$srcdir/tests/proto/lib-rate.sh"
for i in 1 2 3 4; do
	rate_send m$i --auth-authen tim --from tim@example.org --rcpt r1@d.example \
		--rcpt r2@d.example --queue-id M$i
done
want_line "negotiated: no reply at MAIL" "$dir/m1" '^negotiate .*pflags=[A-Z_,]*NR_MAIL'
want_line "the MTA waits for no reply at MAIL" "$dir/m1" '^reply stage=mail action=noreply$'
for i in 1 2; do want_line "message $i passes" "$dir/m$i" '^final action=continue stage=eom'; done
limit='code=451 text="4\.7\.1 rate limit exceeded \(messages 2/1h per login\); try again in 1[78][0-9][0-9] seconds"'
want_line "message 3: no reply at MAIL" "$dir/m3" '^reply stage=mail action=noreply$'
want_line "message 3: first recipient refused" "$dir/m3" "^reply stage=rcpt rcpt=\"<r1@d\\.example>\" action=tempfail $limit"
want_line "message 3: second recipient refused" "$dir/m3" "^reply stage=rcpt rcpt=\"<r2@d\\.example>\" action=tempfail $limit"
want_line "message 3 ends at RCPT" "$dir/m3" "^final action=tempfail stage=rcpt $limit"
want_count "message 3 never reaches DATA" "$dir/m3" '^reply stage=(data|header|body)' 0
w3=$(sed -n 's/^final .*try again in \([0-9]*\) seconds.*/\1/p' "$dir/m3")
w4=$(sed -n 's/^final .*try again in \([0-9]*\) seconds.*/\1/p' "$dir/m4")
[ -n "$w3" ] && [ -n "$w4" ] && [ "$w4" -le "$w3" ] &&
	echo "ok: the refusal consumed nothing ($w3 s, then $w4 s)" ||
	{ echo "FAIL: the wait went from '$w3' to '$w4' s"; fail=1; }
rate_send ext1 --from x@example.com --rcpt r@d.example --queue-id E1
rate_send ext2 --from x@example.com --rcpt r@d.example --queue-id E2
want_line "external sender's first message passes" "$dir/ext1" '^final action=continue stage=eom'
want_line "external sender over its reject rule: 550 at RCPT" "$dir/ext2" \
	'^final action=reject stage=rcpt code=550 text="5\.7\.1 rate limit exceeded \(messages 1/1h per sender\)'
rate_send other --auth-authen tom --from tom@example.org --rcpt r@d.example --queue-id O1
want_line "another login passes" "$dir/other" '^final action=continue stage=eom'
sleep 0.2
want_count "summary lines of refusals say end=mail" "$dir/outpost.log" \
	'outpost: end=mail verdict=(tempfail|reject) ' 3
want_count "no refusal is logged as ended elsewhere" "$dir/outpost.log" \
	'outpost: end=(rcpt|abort|close) verdict=(tempfail|reject) ' 0
proto_stop || fail=1
exit $fail
