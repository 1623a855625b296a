#!/bin/sh
# t-core-client-message-passes-unchanged: with no module enabled, a message
# driven through outpost by the C milter client (speaking as Postfix) comes
# out byte for byte as it went in: folded and odd-spaced headers, 8-bit
# text, dot lines, trailing blanks, a 900-octet line, empty lines at the end.
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
proto_start plain || exit 1
{
	printf 'From: "Alice Example" <alice@example.org>\nTo: Bob <bob@example.net>,\n\tCarol <carol@example.net>\n'
	printf 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from the\n end-to-end test\n'
	printf 'X-Odd-Spacing:   three blanks, tab\tinside\nX-Trailing-Blanks: yes   \n\n'
	printf 'Grüße, Ünïcödé body.\n.\n..two dots\n\ttabbed   \n'
	head -c 900 /dev/zero | tr '\0' 'L'
	printf '\n\n\n'
} >"$dir/sent.eml"
"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr 192.0.2.1 --from alice@example.org \
	--rcpt bob@example.net --print-message --lf <"$dir/sent.eml" >"$dir/out.txt" 2>&1
rc=$?
sed -n '/^--- message ---$/,/^--- end ---$/p' "$dir/out.txt" | sed '1d;$d' >"$dir/got.eml"
fail=0
[ $rc -eq 0 ] || { echo "FAIL: milterclient exit status: got $rc, wanted 0"; fail=1; }
grep -q '^final action=\(accept\|continue\)' "$dir/out.txt" ||
	{ echo "FAIL: final action: got '$(grep '^final' "$dir/out.txt")', wanted accept or continue"; fail=1; }
grep -q '^mod ' "$dir/out.txt" && { echo "FAIL: modifications: got $(grep -c '^mod ' "$dir/out.txt"), wanted none"; fail=1; }
if ! cmp -s "$dir/got.eml" "$dir/sent.eml"; then
	echo "FAIL: delivered message differs from the sent one:"
	diff "$dir/sent.eml" "$dir/got.eml" | head -20
	fail=1
fi
[ $fail -eq 0 ] && echo "ok: $(wc -c <"$dir/sent.eml") bytes passed unchanged"
proto_stop || fail=1
exit $fail
