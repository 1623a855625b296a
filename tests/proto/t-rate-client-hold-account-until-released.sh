#!/bin/sh
# t-rate-client-hold-account-until-released: rule login-domain (2
# recipients a day per login and recipient domain, hold, then
# hold_account): the third recipient at one domain holds the message
# (quarantine, with the rule as reason) and the account; the next message
# of the login, to another domain, is held too without being counted;
# `outpostctl hold list` shows the account, `hold release` lets the next
# one go; `rate show` and `rate reset` see the counter.  The dry-run rule
# (domain-dry) only logs.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
proto_start rate || exit 1
. "$srcdir/tests/proto/lib-rate.sh"
rate_send h1 --auth-authen hal --from hal@hold.example --queue-id H1 \
	--rcpt x1@target.example --rcpt x2@target.example --rcpt x3@target.example
want_count "all three recipients accepted" "$dir/h1" '^reply stage=rcpt .*action=continue' 3
want_line "the message is held" "$dir/h1" '^mod quarantine reason="rate: rule login-domain: recipients 2/1d over login:hal\+rcpt_domain:target\.example#login-domain"'
rate_send h2 --auth-authen hal --from hal@hold.example --queue-id H2 --rcpt y1@other.example
want_line "the next message is held (account)" "$dir/h2" '^mod quarantine reason="rate: account login:hal is held"'
ctl hold list >"$dir/list" 2>&1
want_line "hold list" "$dir/list" '^login:hal +held since [0-9-]+T[0-9:]+Z by rule login-domain$'
ctl --json hold list >"$dir/list.json" 2>&1
want_line "hold list --json" "$dir/list.json" '"account": "login:hal", "since": "[0-9TZ:-]+", "why": "rule login-domain"'
ctl rate show login:hal+rcpt_domain:target.example >"$dir/show" 2>&1
want_line "rate show" "$dir/show" '^login:hal\+rcpt_domain:target\.example#login-domain +(99\.[0-9]|100\.0)% full'
ctl rate top 5 >"$dir/top" 2>&1
want_line "rate top" "$dir/top" '^login:hal\+rcpt_domain:target\.example#login-domain'
ctl hold release hal >"$dir/rel" 2>&1
want_line "hold release" "$dir/rel" '^login:hal: released'
ctl hold release hal >"$dir/rel2" 2>&1 && { echo "FAIL: a second release said yes"; fail=1; }
rate_send h3 --auth-authen hal --from hal@hold.example --queue-id H3 --rcpt y2@other.example
want_count "released: delivered, not held" "$dir/h3" '^mod quarantine' 0
want_line "released: passes" "$dir/h3" '^final action=continue stage=eom'
ctl rate reset login:hal+rcpt_domain:target.example >"$dir/reset" 2>&1
want_line "rate reset" "$dir/reset" ': 1 counters reset$'
rate_send h4 --auth-authen hal --from hal@hold.example --queue-id H4 --rcpt x4@target.example
want_count "after reset: not held" "$dir/h4" '^mod quarantine' 0
sleep 0.2
want_line "the log says which rule held the account" "$dir/outpost.log" \
	': rate: account login:hal held by rule login-domain'
want_line "dry run logged" "$dir/outpost.log" 'rule=domain-dry key=sender_domain:hold\.example#domain-dry .*action=log \(dry run\)'
proto_stop || fail=1
exit $fail
