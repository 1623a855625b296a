#!/bin/bash
# run.sh - outpost's whole test suite, as README.md and CI run it:
#
#   sudo tests/run.sh
#
# 1. installs the dependencies (contrib/install-deps.sh, Debian 12);
# 2. builds with every warning an error (./configure --enable-werror);
# 3. `make check`: unit tests (cmocka), protocol tests (miltertest against
#    the real daemon), DKIM interop (dkimpy, Mail::DKIM), man page check;
# 4. the end-to-end tests through real Postfix and Sendmail (tests/e2e/run.sh).
# Prints "N passed, N failed" at the end; exits non-zero when anything failed.
# Everything a test starts is stopped by the test itself, also on failure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: run as root (packages, private Postfix, network namespaces)" >&2
	exit 1
fi
start=$(date +%s)
contrib/install-deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
if [ ! -f Makefile ] || ! grep -q -- '--enable-werror' config.status 2>/dev/null; then
	./configure --quiet --enable-werror
fi
make -j"$(nproc)" >/dev/null

passed=0
failed=0
# Count automake's summary of `make check` (its log stays in test-suite.log).
check_rc=0
make -j"$(nproc)" check >make-check.out 2>&1 || check_rc=$?
grep -E '^(PASS|FAIL|XFAIL|XPASS|ERROR|SKIP):' make-check.out || true
p=$(sed -n 's/^# PASS: *//p' make-check.out | tail -n 1)
f=$(sed -n 's/^# FAIL: *//p' make-check.out | tail -n 1)
e=$(sed -n 's/^# ERROR: *//p' make-check.out | tail -n 1)
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0} + ${e:-0}))
if [ "$check_rc" -ne 0 ] && [ "${f:-0}${e:-0}" = 00 ]; then
	tail -n 30 make-check.out
	failed=$((failed + 1))
fi
[ "$check_rc" -ne 0 ] && find tests -name '*.log' -newer make-check.out -prune -o -name '*.log' -print0 |
	xargs -0 grep -l '^FAIL' 2>/dev/null | while read -r log; do echo "--- $log"; tail -n 40 "$log"; done

e2e_rc=0
tests/e2e/run.sh >e2e.out 2>&1 || e2e_rc=$?
cat e2e.out
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' e2e.out | tail -n 1)
ep=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
ef=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
passed=$((passed + ${ep:-0}))
failed=$((failed + ${ef:-0}))
if [ "$e2e_rc" -ne 0 ] && [ "${ef:-0}" = 0 ]; then failed=$((failed + 1)); fi

echo "tests/run.sh: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
