#!/bin/bash
# smoke.sh BINDIR SRCDIR NAME... - run each libFuzzer target
# BINDIR/fuzz_NAME for FUZZ_SECONDS (default 60) seconds, FUZZ_JOBS
# (default: the number of CPUs) at a time, starting from the seeds in
# SRCDIR/tests/fuzz/corpus/NAME (read only: new inputs go to a scratch
# corpus), and print one line per target with libFuzzer's final stats:
# executions (stat::number_of_executed_units), executions per second, edge
# coverage (cov:) and features (ft:).  `make fuzz-smoke` calls it.
#
# A target fails on a crash, a leak, a sanitizer report, a failed
# FUZZ_CHECK, a timeout (FUZZ_TIMEOUT s per input, default 10) or running
# out of memory (2 GB); its log tail and the input that did it are shown
# and kept under the scratch directory, named in the output.  Put that
# input in tests/fuzz/regress/NAME/ (make check replays it) and fix the bug.
#
# Last line: "fuzz-smoke: N targets, N passed, N failed".  Exit status 0
# when none failed, 1 otherwise.
set -u
bindir=$1
srcdir=$2
shift 2
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
tmo=${FUZZ_TIMEOUT:-10}
[ -n "$secs" ] || secs=60
[ -n "$jobs" ] || jobs=$(nproc)
work=$(mktemp -d "${TMPDIR:-/tmp}/outpost-fuzz-smoke.XXXXXX")
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_one NAME: fuzz one target; its log is $work/NAME/log, status in
# $work/NAME/rc.
run_one() {
	local name=$1 d=$work/$1 rc=0
	mkdir -p "$d/corpus" "$d/artifacts" "$d/tmp"
	OUTPOST_FUZZ_TMP=$d/tmp OUTPOST_SRCDIR=$srcdir \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		LSAN_OPTIONS=suppressions=$srcdir/tests/lsan.supp:print_suppressions=0 \
		"$d/fuzz_$name" -max_total_time="$secs" -print_final_stats=1 \
		-close_fd_mask=2 -timeout="$tmo" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
		-artifact_prefix="$d/artifacts/" "$d/corpus" "$srcdir/tests/fuzz/corpus/$name" \
		</dev/null >"$d/log" 2>&1 || rc=$?
	echo "$rc" >"$d/rc"
}

# Copies of the targets, so that a rebuild of BINDIR meanwhile (another
# `make fuzz-smoke`) does not pull them from under the runs.
for name in "$@"; do
	mkdir -p "$work/$name"
	cp "$bindir/fuzz_$name" "$work/$name/" 2>/dev/null ||
		{ echo "not built: $bindir/fuzz_$name" >"$work/$name/log"; echo 127 >"$work/$name/rc"; }
done

# Keep at most $jobs targets running.
for name in "$@"; do
	[ -f "$work/$name/rc" ] && continue
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
	run_one "$name" &
	pids+=($!)
done
wait
pids=()

passed=0
failed=0
printf '%-12s %12s %9s %7s %7s  %s\n' target executions exec/s cov ft result
for name in "$@"; do
	d=$work/$name
	rc=$(cat "$d/rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$d/log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$d/log" | tail -n 1 | cut -d' ' -f2)
	result=ok
	if [ "$rc" != 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|FUZZ CHECK FAILED|SUMMARY: ' "$d/log"; then
		result="FAIL (exit $rc)"
	fi
	printf '%-12s %12s %9s %7s %7s  %s\n' "$name" "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}" "$result"
	if [ "$result" = ok ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
for name in "$@"; do
	d=$work/$name
	rc=$(cat "$d/rc" 2>/dev/null || echo 1)
	[ "$rc" = 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|FUZZ CHECK FAILED|SUMMARY: ' "$d/log" && continue
	echo "--- fuzz_$name: last lines of $d/log"
	grep -v '^#[0-9]' "$d/log" | tail -n 60
	ls "$d/artifacts"/* 2>/dev/null | sed 's/^/input: /'
done
echo "fuzz-smoke: $# targets, $passed passed, $failed failed (${secs} s each)"
if [ "$failed" -eq 0 ]; then
	rm -rf "$work"
	exit 0
fi
echo "fuzz-smoke: logs and inputs kept in $work"
exit 1
