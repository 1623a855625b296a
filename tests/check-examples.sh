#!/bin/sh
# check-examples.sh - every example config in contrib/examples/ passes
# `outpost -n`, with its key files replaced by the test keys (an "ed" in
# the file name: the Ed25519 one) and milter.user by nobody; and the
# logrotate snippet parses (logrotate -d).
srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
t=$(mktemp -d /tmp/outpost-examples.XXXXXX)
trap 'rm -rf "$t"' EXIT
fail=0
for ex in "$srcdir"/contrib/examples/*.conf; do
	name=$(basename "$ex")
	sed -e "s#/etc/outpost/keys/#$t/keys/#g" -e 's/user = "outpost"/user = "nobody"/' "$ex" >"$t/$name"
	mkdir -p "$t/keys"
	for k in $(grep -o "$t/keys/[^\"]*" "$t/$name"); do
		case $(basename "$k") in
		*ed*) cp "$srcdir/tests/data/keys/test-ed25519.pem" "$k" ;;
		*) cp "$srcdir/tests/data/keys/test-rsa2048.pem" "$k" ;;
		esac
		chmod 600 "$k"
	done
	out=$("$top_builddir/outpost" -n -c "$t/$name" 2>&1)
	if [ "$out" = "configuration OK" ] || echo "$out" | grep -q "^configuration OK$"; then
		echo "ok: $name"
	else
		echo "FAIL: outpost -n $name: got '$out', wanted 'configuration OK'"
		fail=1
	fi
done
if command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ]; then
	lr=$(command -v logrotate || echo /usr/sbin/logrotate)
	# The outpost user does not exist on test machines: nobody stands in.
	sed 's/create 0640 outpost adm/create 0640 nobody adm/' "$srcdir/contrib/logrotate.d-outpost" >"$t/lr.conf"
	if "$lr" -d -s "$t/state" "$t/lr.conf" >"$t/lr.out" 2>&1 && ! grep -q '^error:' "$t/lr.out"; then
		echo "ok: logrotate.d-outpost parses"
	else
		echo "FAIL: logrotate -d: got:"; cat "$t/lr.out"; fail=1
	fi
fi
exit $fail
