#!/bin/sh
# check-systemd-unit.sh - contrib/systemd/outpost.service passes
# `systemd-analyze verify` (with ExecStart pointed at the built binary and
# the man pages found in docs/), and its sandbox scores "OK" or better in
# `systemd-analyze security`.  Skipped (77) without systemd-analyze.
srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
command -v systemd-analyze >/dev/null 2>&1 || { echo "skip: no systemd-analyze"; exit 77; }
t=$(mktemp -d /tmp/outpost-unit.XXXXXX)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/man/man5" "$t/man/man8"
for p in outpost.8 outpostctl.8; do ln -s "$(cd "$srcdir/docs" && pwd)/$p" "$t/man/man8/$p"; done
ln -s "$(cd "$srcdir/docs" && pwd)/outpost.conf.5" "$t/man/man5/outpost.conf.5"
bin=$(cd "$top_builddir" && pwd)/outpost
sed "s#/usr/local/sbin/outpost#$bin#g" "$srcdir/contrib/systemd/outpost.service" >"$t/outpost.service"
out=$(MANPATH=$t/man systemd-analyze verify "$t/outpost.service" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify: got exit $rc and:"
	echo "$out"
	echo "wanted exit 0 and no output"
	exit 1
fi
level=$(systemd-analyze security --offline=yes "$t/outpost.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for outpost.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
case $level in
*" OK" | *" SAFE") echo "ok: verify clean; exposure $level" ;;
*) echo "FAIL: exposure level: got '$level', wanted OK or SAFE"; exit 1 ;;
esac
