#!/bin/sh
# valgrind-outpost.sh ARGS... - outpost under valgrind's memcheck, as a
# drop-in for the daemon: tests/run.sh runs the protocol tests once with
# OUTPOST pointing here (tests/proto/daemon.sh runs "$OUTPOST" -f -c CONF).
#
# The daemon is OUTPOST_REAL (default $top_builddir/outpost).  Memory
# errors and definitely lost blocks are errors; each is printed on stderr
# (the test's outpost.log) between "VALGRIND-ERROR-BEGIN" and
# "VALGRIND-ERROR-END" lines, which tests/proto/daemon.sh looks for, and
# make the exit status 97.  Leaks valgrind calls possible, indirect or
# still reachable (libraries' one-time allocations) are not errors.
# Suppressions: tests/valgrind.supp (other projects' code only).
top=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
src=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
exec valgrind --quiet --error-exitcode=97 --leak-check=full --show-leak-kinds=definite \
	--errors-for-leak-kinds=definite --num-callers=30 \
	--error-markers=VALGRIND-ERROR-BEGIN,VALGRIND-ERROR-END \
	--suppressions="$src/tests/valgrind.supp" \
	"${OUTPOST_REAL:-$top/outpost}" "$@"
