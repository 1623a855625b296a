#!/bin/bash
# build.sh SRCDIR - `make fuzz-smoke` in a tree not configured for fuzzing
# (the normal gcc build): copy the tree into FUZZ_BUILDDIR (default
# /tmp/outpost-build/fuzz; kept, so the next run rebuilds only what
# changed), configure it there with clang and --enable-fuzz (libcore.a and
# the targets built with -fsanitize=fuzzer-no-link,address,undefined), and
# run `make fuzz-smoke` in it.
#
# Environment: FUZZ_SECONDS, FUZZ_JOBS (see smoke.sh), FUZZ_BUILDDIR,
# FUZZ_CC (default clang-14, else clang).  Exit status: smoke.sh's, or 1
# when the build fails; 77 when there is no clang.
set -eu
src=$(cd "$1" && pwd)
dest=${FUZZ_BUILDDIR:-/tmp/outpost-build/fuzz}
cc=${FUZZ_CC:-}
if [ -z "$cc" ]; then
	for c in clang-14 clang; do
		command -v "$c" >/dev/null 2>&1 && { cc=$c; break; }
	done
fi
if [ -z "$cc" ]; then
	echo "fuzz-smoke: no clang (apt-get install clang-14 libclang-rt-14-dev)" >&2
	exit 77
fi
# One build and run at a time in dest (two `make fuzz-smoke` at once would
# rebuild the targets under each other's runs).
mkdir -p "$dest"
exec 9>"$dest.lock"
flock 9
"$(dirname "$0")/../copy-tree.sh" "$src" "$dest"
cd "$dest"
if [ ! -f Makefile ] || ! grep -q -- '--enable-fuzz' config.status 2>/dev/null; then
	echo "fuzz-smoke: configuring $dest with $cc --enable-fuzz"
	./configure --quiet --enable-fuzz CC="$cc" >/dev/null
fi
make -j"$(nproc)" --no-print-directory fuzz-smoke \
	FUZZ_SECONDS="${FUZZ_SECONDS:-}" FUZZ_JOBS="${FUZZ_JOBS:-}"
