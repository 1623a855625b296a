#!/bin/sh
# t-core-client-header-too-long-tempfails: a header longer than
# limits.max_header_length (1K here) gets the configured action's reply at
# end of message (actions.on_limit = tempfail: 451 4.3.4), is not signed,
# and one log line names the limit.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
proto_start limits || exit 1
{
	printf 'From: a@example.org\nX-Big: '
	head -c 2000 /dev/zero | tr '\0' 'b'
	printf '\n\nbody\n'
} >"$dir/big.eml"
"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr 127.0.0.1 --from a@example.org \
	--rcpt b@example.net --queue-id H1 <"$dir/big.eml" >"$dir/out.txt" 2>&1
fail=0
want='final action=tempfail stage=eom code=451 text="4.3.4 a header is too long (limits.max_header_length)"'
got=$(grep '^final' "$dir/out.txt")
case $got in "$want"*) ;; *) echo "FAIL: reply: got '$got', wanted '$want'"; fail=1 ;; esac
grep -q '^mod ' "$dir/out.txt" && { echo "FAIL: modifications: got some, wanted none"; fail=1; }
sleep 0.2
n=$(grep -c 'limit: a header is too long' "$dir/outpost.log")
[ "$n" -eq 1 ] || { echo "FAIL: limit log lines: got $n, wanted 1"; cat "$dir/outpost.log"; fail=1; }
[ $fail -eq 0 ] && echo "ok: $got"
proto_stop || fail=1
exit $fail
