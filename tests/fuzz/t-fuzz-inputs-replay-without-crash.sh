#!/bin/sh
# t-fuzz-inputs-replay-without-crash.sh - `make check`: every input that
# once crashed a fuzz target (tests/fuzz/regress/NAME/) and every seed
# (tests/fuzz/corpus/NAME/) runs through its target, built as a plain
# program with tests/fuzz/replay.c (no libFuzzer, any compiler; under ASan
# and UBSan in the sanitizer build of tests/run.sh), without a crash or a
# failed FUZZ_CHECK.  Prints got/want per target; exit 0 or 1.
set -u
top_builddir=${top_builddir:-.}
rc=0
for name in config dkim_table dkim_canon addr spf dkim_verify unsub rate milter milter_wire; do
	bin=$top_builddir/tests/fuzz/fuzz_${name}_replay
	out=$("$bin" 2>&1)
	st=$?
	if [ "$st" -eq 0 ]; then
		echo "$out" | tail -n 1
	else
		echo "FAIL: fuzz_$name: got exit $st, want 0; last lines:"
		echo "$out" | tail -n 40
		rc=1
	fi
done
exit $rc
