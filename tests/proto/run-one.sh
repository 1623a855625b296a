#!/bin/sh
# run-one.sh SCRIPT.lua - run one miltertest protocol test against a fresh
# outpost.  The script's first lines name its config ("-- config: NAME",
# tests/proto/conf/NAME.conf, where @DIR@ is replaced by a private temp dir).
# Exit status: 0 pass, 1 fail (with outpost's log), 77 skip.
set -u
script=$1
srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
OUTPOST=${OUTPOST:-$top_builddir/outpost}
command -v miltertest >/dev/null 2>&1 || { echo "skip: miltertest not installed"; exit 77; }
name=$(sed -n 's/^-- config: *//p' "$script" | head -n 1)
conf_src=$srcdir/tests/proto/conf/$name.conf
[ -f "$conf_src" ] || { echo "FAIL: $script names config '$name': no $conf_src"; exit 1; }

dir=$(mktemp -d /tmp/outpost-proto.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
sed "s#@DIR@#$dir#g; s#@SRCDIR@#$srcdir#g" "$conf_src" > "$dir/outpost.conf"
# Files the config refers to (tables...): conf/NAME.d/*, same substitution.
if [ -d "$srcdir/tests/proto/conf/$name.d" ]; then
	for f in "$srcdir/tests/proto/conf/$name.d"/*; do
		sed "s#@DIR@#$dir#g" "$f" > "$dir/$(basename "$f")"
	done
fi
# Test keys, private as outpost requires.
cp "$srcdir"/tests/data/keys/*.pem "$dir/" && chmod 600 "$dir"/*.pem
# Their public halves as DNS would serve them (selector rsa/ed/rsa1024 at
# the test domains), for verifiers that are not outpost: dns.txt.
txt_rsa() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0; }
txt_ed() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0; }
for d in example.org example.com sub.example.org; do
	echo "rsa._domainkey.$d v=DKIM1; k=rsa; p=$(txt_rsa "$dir/test-rsa2048.pem")"
	echo "rsa1024._domainkey.$d v=DKIM1; k=rsa; p=$(txt_rsa "$dir/test-rsa1024.pem")"
	echo "ed._domainkey.$d v=DKIM1; k=ed25519; p=$(txt_ed "$dir/test-ed25519.pem")"
done > "$dir/dns.txt"
mkdir "$dir/signed"
"$OUTPOST" -f -c "$dir/outpost.conf" 2> "$dir/outpost.log" &
pid=$!
i=0
while [ ! -S "$dir/outpost.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
if [ ! -S "$dir/outpost.sock" ]; then
	echo "FAIL: outpost did not open $dir/outpost.sock; its log:"; cat "$dir/outpost.log"; exit 1
fi
out=$(cd "$srcdir/tests/proto" && miltertest -D socket="unix:$dir/outpost.sock" \
	-D logfile="$dir/outpost.log" -D dir="$dir" -D pid="$pid" \
	-D srcdir="$srcdir" -s "$(basename "$script")" 2>&1)
rc=$?
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
echo "$out"
if grep -qE "AddressSanitizer|runtime error|LeakSanitizer" "$dir/outpost.log"; then
	echo "FAIL: sanitizer report in outpost's log"; rc=1
fi
if [ $rc -ne 0 ]; then
	echo "--- outpost log ---"; cat "$dir/outpost.log"
fi
exit $rc
