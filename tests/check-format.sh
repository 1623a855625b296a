#!/bin/sh
# check-format.sh - the daemon's sources (plugin/, include/) match the
# checked-in .clang-format (clang-format 14, Debian 12).  Prints each file
# that differs with the first lines of the change clang-format wants.
# Skipped (77) without clang-format.  Fix with: make format
srcdir=${srcdir:-.}
cf=$(command -v clang-format || command -v clang-format-14) || { echo "skip: no clang-format"; exit 77; }
cd "$srcdir" || exit 99
bad=0
for f in plugin/*.c plugin/*.h include/outpost/*.h; do
	if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
		echo "FAIL: $f is not formatted as .clang-format says; got vs wanted:"
		"$cf" --style=file "$f" | diff "$f" - | head -n 10
		bad=1
	fi
done
[ $bad -eq 0 ] && echo "ok: $(ls plugin/*.c plugin/*.h include/outpost/*.h | wc -l) files formatted"
exit $bad
