#!/bin/sh
# t-external-verify.sh - every DKIM signature the unit tests make is checked
# by dkimpy and Mail::DKIM (DESIGN.md "How the parts are proven").
#
# Runs tests/unit/test_dkim_sign with DKIM_SIGNED_OUT set, so it writes each
# good signed message and its DNS records, then tests/dkim/verify_external.sh
# over them.  `make check` exports srcdir and top_builddir; by hand, run it
# from the top of the tree, or set TEST_DKIM_SIGN to the test binary.
set -u

srcdir=${srcdir:-.}
bin=${TEST_DKIM_SIGN:-${top_builddir:-.}/tests/unit/test_dkim_sign}
out=$(mktemp -d "${TMPDIR:-/tmp}/t-external-verify.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT

if ! DKIM_SIGNED_OUT=$out "$bin" >"$out/unit.log" 2>&1; then
	cat "$out/unit.log"
	echo "t-external-verify: $bin failed" >&2
	exit 1
fi
n=$(find "$out" -name '*.eml' | wc -l)
echo "$n signed messages from $bin"
[ "$n" -gt 0 ] || exit 1
sh "$srcdir/tests/dkim/verify_external.sh" "$out" "$out/dns.txt"
