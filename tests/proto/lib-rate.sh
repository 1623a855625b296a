# lib-rate.sh - shared by the rate module's protocol tests (sourced after
# daemon.sh and proto_start).  Tests use distinct logins and senders, so
# their counters never meet.
#
# rate_send OUT [milterclient options...]: one transaction with the test
# message (about 60 bytes) from 192.0.2.7; output in $dir/OUT.
# want_line WHAT FILE ERE: the first line of FILE matching ERE exists, or
# count a failure ("FAIL: WHAT" with the lines that were there).
# want_count WHAT FILE ERE N: exactly N lines of FILE match ERE.
fail=${fail:-0}
printf 'From: a@example.org\nSubject: rate test\n\nhello\n' >"$dir/m.eml"

rate_send() {
	local out=$1
	shift
	"$MILTERCLIENT" -s "unix:$dir/outpost.sock" --client-addr 192.0.2.7 "$@" \
		<"$dir/m.eml" >"$dir/$out" 2>&1
}

want_line() {
	if grep -Eq -- "$3" "$2"; then
		echo "ok: $1: $(grep -E -- "$3" "$2" | head -n 1)"
	else
		echo "FAIL: $1: no line matching /$3/ in:"
		sed 's/^/    /' "$2"
		fail=1
	fi
}

want_count() {
	local n
	n=$(grep -Ec -- "$3" "$2")
	if [ "$n" -eq "$4" ]; then
		echo "ok: $1: $n"
	else
		echo "FAIL: $1: got $n lines matching /$3/, wanted $4"
		fail=1
	fi
}

# outpostctl on the test's config.
ctl() {
	"${OUTPOSTCTL:-$top_builddir/outpostctl}" -c "$dir/outpost.conf" "$@"
}
