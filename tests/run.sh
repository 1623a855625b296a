#!/bin/bash
# run.sh - outpost's whole test suite, as README.md and CI run it:
#
#   sudo tests/run.sh
#
# 1. installs the dependencies (contrib/install-deps.sh, Debian 12);
# 2. builds with every warning an error (./configure --enable-werror);
# 3. `make check`: unit tests (cmocka), protocol tests (miltertest against
#    the real daemon), DKIM interop (dkimpy, Mail::DKIM), man page check,
#    replay of the fuzz targets' seeds and regression inputs;
# 4. the end-to-end tests through real Postfix and Sendmail (tests/e2e/run.sh);
# 5. sanitizers: a second build with --enable-sanitizers (ASan + UBSan) in
#    a copy of the tree (tests/copy-tree.sh; RUN_SAN_BUILDDIR, default
#    /tmp/outpost-build/sanitizers, kept so the next run rebuilds only what
#    changed), its `make check`, then the end-to-end tests with OUTPOST set
#    to its daemon; any sanitizer report fails the test it appears in
#    (tests/proto/daemon.sh, tests/e2e/lib.sh);
# 6. valgrind: the protocol tests once more with the daemon under memcheck
#    (tests/valgrind-outpost.sh): no error, no definitely lost block;
# 7. `make fuzz-smoke` with RUN_FUZZ_SECONDS (default 20) per target (a
#    clang copy of the tree, tests/fuzz/build.sh): no crash, leak or report.
# Prints how long each step took, then "N passed, N failed" at the end;
# exits non-zero when anything failed.  RUN_SKIP="e2e sanitizers valgrind
# fuzz" (any of them) leaves steps out, for a quicker local run.
# Everything a test starts is stopped by the test itself, also on failure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "$(id -u)" -ne 0 ]; then
	# Not root: through sudo when there is one (keeping RUN_SKIP and the like).
	command -v sudo >/dev/null 2>&1 && exec sudo -E "$0" "$@"
	echo "tests/run.sh: run as root (packages, private Postfix, network namespaces)" >&2
	exit 1
fi
start=$(date +%s)
passed=0
failed=0
times=""
skip=" ${RUN_SKIP:-} "

# step_done NAME T0: note how long step NAME took since T0.
step_done() {
	times="$times $1=$(($(date +%s) - $2))s"
}

# count_check OUT RC [LABEL]: add the automake summary in OUT (the output of
# a `make check`) to the totals, show what failed; RC is make's status.
count_check() {
	local out=$1 rc=$2 label=${3:-} p f e dir
	dir=$(dirname "$out")
	grep -E '^(PASS|FAIL|XFAIL|XPASS|ERROR|SKIP):' "$out" | sed "s|^|$label|" || true
	p=$(sed -n 's/^# PASS: *//p' "$out" | tail -n 1)
	f=$(sed -n 's/^# FAIL: *//p' "$out" | tail -n 1)
	e=$(sed -n 's/^# ERROR: *//p' "$out" | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0}))
	if [ "$rc" -ne 0 ] && [ "${f:-0}${e:-0}" = 00 ]; then
		tail -n 30 "$out"
		failed=$((failed + 1))
	fi
	[ "$rc" -ne 0 ] && find "$dir/tests" -name '*.log' -newer "$out" -prune -o -name '*.log' -print0 |
		xargs -0 grep -l '^FAIL' 2>/dev/null | while read -r log; do echo "--- $log"; tail -n 40 "$log"; done
	return 0
}

# count_e2e OUT RC: add tests/e2e/run.sh's last line in OUT to the totals.
count_e2e() {
	local out=$1 rc=$2 line ep ef
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	ep=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	ef=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	passed=$((passed + ${ep:-0}))
	failed=$((failed + ${ef:-0}))
	if [ "$rc" -ne 0 ] && [ "${ef:-0}" = 0 ]; then failed=$((failed + 1)); fi
	return 0
}

# The protocol tests among automake's TESTS, as paths.
proto_tests() {
	printf 'print-tests:\n\t@echo $(TESTS)\n' | make -s -f Makefile -f - print-tests |
		tr ' ' '\n' | grep '^tests/proto/t-'
}

contrib/install-deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
if [ ! -f Makefile ] || ! grep -q -- '--enable-werror' config.status 2>/dev/null; then
	./configure --quiet --enable-werror
fi
t0=$(date +%s)
make -j"$(nproc)" >/dev/null
step_done build "$t0"

# 3. make check (gcc build)
t0=$(date +%s)
check_rc=0
make -j"$(nproc)" check >make-check.out 2>&1 || check_rc=$?
count_check "$top/make-check.out" "$check_rc"
step_done check "$t0"

# 4. end to end
if [ "${skip#* e2e }" = "$skip" ]; then
	t0=$(date +%s)
	e2e_rc=0
	tests/e2e/run.sh >e2e.out 2>&1 || e2e_rc=$?
	cat e2e.out
	count_e2e e2e.out "$e2e_rc"
	step_done e2e "$t0"
fi

# 5. sanitizers: make check and the end-to-end tests on an ASan+UBSan build
if [ "${skip#* sanitizers }" = "$skip" ]; then
	t0=$(date +%s)
	san=${RUN_SAN_BUILDDIR:-/tmp/outpost-build/sanitizers}
	# A small quarantine: ASan's default 256 MB of freed memory held back
	# would look like growth to the tests that bound outpost's RSS.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:quarantine_size_mb=16
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0
	san_rc=0
	tests/copy-tree.sh "$top" "$san"
	(cd "$san" &&
		{ grep -q -- '--enable-sanitizers' config.status 2>/dev/null ||
			./configure --quiet --enable-werror --enable-sanitizers; } &&
		make -j"$(nproc)" >/dev/null &&
		make -j"$(nproc)" check >make-check.out 2>&1) || san_rc=$?
	if [ -f "$san/make-check.out" ]; then
		count_check "$san/make-check.out" "$san_rc" "sanitizers: "
	else
		echo "sanitizers: the build in $san failed"
		failed=$((failed + 1))
	fi
	step_done sanitizers-check "$t0"
	if [ "${skip#* e2e }" = "$skip" ] && [ -x "$san/outpost" ]; then
		t0=$(date +%s)
		e2e_rc=0
		OUTPOST=$san/outpost tests/e2e/run.sh >e2e-sanitizers.out 2>&1 || e2e_rc=$?
		sed 's/^/sanitizers: /' e2e-sanitizers.out
		count_e2e e2e-sanitizers.out "$e2e_rc"
		step_done sanitizers-e2e "$t0"
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

# 6. valgrind: the protocol tests with the daemon under memcheck
if [ "${skip#* valgrind }" = "$skip" ]; then
	t0=$(date +%s)
	vg_rc=0
	OUTPOST="$top/tests/valgrind-outpost.sh" make -j"$(nproc)" check \
		TESTS="$(proto_tests | tr '\n' ' ')" TEST_SUITE_LOG=test-suite-valgrind.log \
		>make-check-valgrind.out 2>&1 || vg_rc=$?
	count_check "$top/make-check-valgrind.out" "$vg_rc" "valgrind: "
	step_done valgrind "$t0"
fi

# 7. fuzz smoke: every fuzz target for a short while
if [ "${skip#* fuzz }" = "$skip" ]; then
	t0=$(date +%s)
	fz_rc=0
	make fuzz-smoke FUZZ_SECONDS="${RUN_FUZZ_SECONDS:-20}" >fuzz-smoke.out 2>&1 || fz_rc=$?
	sed -n '/^target /,$p' fuzz-smoke.out
	fp=$(sed -n 's/^fuzz-smoke: [0-9]* targets, \([0-9]*\) passed.*/\1/p' fuzz-smoke.out | tail -n 1)
	ff=$(sed -n 's/^fuzz-smoke: [0-9]* targets, [0-9]* passed, \([0-9]*\) failed.*/\1/p' fuzz-smoke.out | tail -n 1)
	passed=$((passed + ${fp:-0}))
	failed=$((failed + ${ff:-0}))
	if [ "$fz_rc" -ne 0 ] && [ "${ff:-0}" = 0 ]; then
		tail -n 30 fuzz-smoke.out
		failed=$((failed + 1))
	fi
	step_done fuzz "$t0"
fi

echo "tests/run.sh: $(($(date +%s) - start)) s ($times )"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
