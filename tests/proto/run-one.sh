#!/bin/sh
# run-one.sh SCRIPT.lua - run one miltertest protocol test against a fresh
# outpost.  The script's first lines name its config ("-- config: NAME",
# tests/proto/conf/NAME.conf; see daemon.sh).  Exit status: 0 pass, 1 fail
# (with outpost's log), 77 skip.
set -u
script=$1
srcdir=${srcdir:-.}
. "$srcdir/tests/proto/daemon.sh"
command -v miltertest >/dev/null 2>&1 || { echo "skip: miltertest not installed"; exit 77; }
name=$(sed -n 's/^-- config: *//p' "$script" | head -n 1)
proto_start "$name" || exit 1
out=$(cd "$srcdir/tests/proto" && miltertest -D socket="unix:$dir/outpost.sock" \
	-D logfile="$dir/outpost.log" -D dir="$dir" -D pid="$pid" \
	-D srcdir="$srcdir" -s "$(basename "$script")" 2>&1)
rc=$?
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
echo "$out"
[ $rc -ne 0 ] && { echo "--- outpost log ---"; cat "$dir/outpost.log"; }
proto_stop || rc=1
exit $rc
