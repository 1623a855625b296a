#!/bin/sh
# check-manpage.sh - docs/outpost.conf.5 documents exactly the keys of the
# configuration table (plugin/conftab.c), each with the table's default,
# type and reloadability; both man pages pass `mandoc -T lint` when mandoc
# is installed.
#
# The table is read through the binary: `outpost -p` prints "name = value"
# for every key (built-in defaults: no -c), `outpost -p -v` precedes each
# with "# help (type[, restart to change])".  The page convention (see the
# comment at the top of docs/outpost.conf.5):
#
#   .It Cm KEY Pq TYPE, RANGE, reloadable        (or ..., restart to change)
#   ...
#   Default: VALUE                               (VALUE as outpost -p prints it)
#
# No other line of the page starts with ".It Cm"; a section key (printed as
# "(section)") needs no Default line.
#
# Run by `make check` from the build directory; the page comes from $srcdir
# (set by automake's test driver), the binary from the build directory, so
# VPATH builds work.  Override with OUTPOST=... and MANPAGE=....
# Exit status: 0 pass, 1 fail (each problem printed with got/want), 99 the
# check could not run.
set -u
me=check-manpage
srcdir=${srcdir:-$(dirname "$0")/..}
OUTPOST=${OUTPOST:-${top_builddir:-.}/outpost}
page=${MANPAGE:-$srcdir/docs/outpost.conf.5}
page8=$srcdir/docs/outpost.8

if [ ! -x "$OUTPOST" ]; then
	echo "$me: ERROR: no outpost binary at $OUTPOST (build it first, or set OUTPOST)"
	exit 99
fi
for f in "$page" "$page8"; do
	if [ ! -r "$f" ]; then
		echo "$me: ERROR: cannot read $f (srcdir=$srcdir)"
		exit 99
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-manpage.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 99' INT TERM

if ! "$OUTPOST" -p > "$tmp/p" 2> "$tmp/err" || ! "$OUTPOST" -p -v > "$tmp/pv" 2>> "$tmp/err"; then
	echo "$me: ERROR: '$OUTPOST -p' failed:"
	cat "$tmp/err"
	exit 99
fi

# The table, one line per key: KEY TAB TYPE TAB RELOAD TAB VALUE.  Types
# and reloadability come from -p -v, values from -p; both must list the
# same keys in the same order.
tab=$(printf '\t')
awk -v me="$me" '
	FNR == NR {
		i = index($0, " = ")
		if (i == 0) { print me ": ERROR: unexpected line from outpost -p: " $0 > "/dev/stderr"; bad = 1; next }
		val[++np] = substr($0, i + 3)
		key[np] = substr($0, 1, i - 1)
		next
	}
	/^# / {
		meta = ""
		if (match($0, /\([^()]*\)$/))
			meta = substr($0, RSTART + 1, RLENGTH - 2)
		next
	}
	{
		i = index($0, " = ")
		k = i ? substr($0, 1, i - 1) : $0
		nv++
		if (k != key[nv]) { print me ": ERROR: outpost -p and -p -v disagree at key " nv ": " key[nv] " / " k > "/dev/stderr"; bad = 1 }
		c = index(meta, ",")
		type = c ? substr(meta, 1, c - 1) : meta
		reload = (meta ~ /, restart to change$/) ? "restart to change" : "reloadable"
		if (type == "") { print me ": ERROR: no (type) comment before " k " in outpost -p -v" > "/dev/stderr"; bad = 1 }
		print k "\t" type "\t" reload "\t" val[nv]
		meta = ""
	}
	END { if (nv != np) { print me ": ERROR: outpost -p prints " np " keys, -p -v " nv > "/dev/stderr"; bad = 1 } exit bad }
' "$tmp/p" "$tmp/pv" > "$tmp/table" || exit 99
if [ ! -s "$tmp/table" ]; then
	echo "$me: ERROR: outpost -p printed no key"
	exit 99
fi

# The page, one line per entry: KEY TAB LINE TAB PQ TAB NDEFAULTS TAB
# DEFAULT.  roff escapes are undone in keys and defaults: \& and \% (nothing),
# \- (-), \(dq ("), \e (backslash), in that order.
awk '
	function unesc(s) {
		gsub(/\\&/, "", s)
		gsub(/\\%/, "", s)
		gsub(/\\-/, "-", s)
		gsub(/\\\(dq/, "\"", s)
		gsub(/\\e/, "\\\\", s)
		return s
	}
	function flush() {
		if (key != "")
			print key "\t" line "\t" pq "\t" ndef "\t" def
		key = ""
	}
	/^\.It[ \t]+Cm[ \t]/ {
		flush()
		rest = $0
		sub(/^\.It[ \t]+Cm[ \t]+/, "", rest)
		key = rest
		sub(/[ \t].*/, "", key)
		key = unesc(key)
		sub(/^[^ \t]+[ \t]*/, "", rest)
		pq = ""
		if (rest ~ /^Pq[ \t]/) { pq = rest; sub(/^Pq[ \t]+/, "", pq) }
		line = NR; ndef = 0; def = ""
		next
	}
	/^\.(Sh|Ss)([ \t]|$)/ { flush(); next }
	key != "" && /^Default:[ \t]/ {
		ndef++
		d = $0
		sub(/^Default:[ \t]+/, "", d)
		sub(/[ \t]+$/, "", d)
		if (ndef == 1) def = unesc(d)
	}
	END { flush() }
' "$page" > "$tmp/page"

# Compare: every table key documented once, with its type, reloadability
# and default; nothing documented that the table lacks.
awk -F "$tab" -v me="$me" -v page="$page" '
	FNR == NR { n++; order[n] = $1; ttype[$1] = $2; treload[$1] = $3; tval[$1] = $4; next }
	{
		k = $1; at = page ":" $2
		if (k in seen) { printf "%s: DUPLICATE %s: documented at %s:%s and at %s\n", me, k, page, seen[k], at; bad++; next }
		seen[k] = $2
		if (!(k in ttype)) {
			printf "%s: EXTRA %s (%s): the page documents it, the table (outpost -p) has no such key\n", me, k, at
			bad++; next
		}
		pq = $3
		c = index(pq, ",")
		type = c ? substr(pq, 1, c - 1) : pq
		gsub(/^[ \t]+|[ \t]+$/, "", type)
		if (pq == "") {
			printf "%s: NO TYPE %s (%s): want \".It Cm %s Pq %s, ..., %s\"\n", me, k, at, k, ttype[k], treload[k]
			bad++
		} else {
			if (type != ttype[k]) {
				printf "%s: WRONG TYPE %s (%s): got \"%s\", want \"%s\"\n", me, k, at, type, ttype[k]
				bad++
			}
			reload = pq ~ /,[ \t]*restart to change[ \t]*$/ ? "restart to change" : pq ~ /,[ \t]*reloadable[ \t]*$/ ? "reloadable" : "(neither)"
			if (reload != treload[k]) {
				printf "%s: WRONG RELOAD %s (%s): got \"%s\" (from \"Pq %s\"), want \"%s\"\n", me, k, at, reload, pq, treload[k]
				bad++
			}
		}
		if (tval[k] == "(section)")
			next
		if ($4 == 0) {
			printf "%s: NO DEFAULT %s (%s): no \"Default: VALUE\" line in its entry; want \"Default: %s\"\n", me, k, at, tval[k]
			bad++
		} else if ($4 > 1) {
			printf "%s: SEVERAL DEFAULTS %s (%s): %d \"Default:\" lines in its entry; want one\n", me, k, at, $4
			bad++
		} else if ($5 != tval[k]) {
			printf "%s: WRONG DEFAULT %s (%s): got \"Default: %s\", want \"Default: %s\" (as outpost -p prints it)\n", me, k, at, $5, tval[k]
			bad++
		}
	}
	END {
		for (i = 1; i <= n; i++)
			if (!(order[i] in seen)) {
				printf "%s: MISSING %s: the table has it (%s = %s), the page has no \".It Cm %s\" entry\n", me, order[i], order[i], tval[order[i]], order[i]
				bad++
			}
		if (bad) {
			printf "%s: FAIL: %d problem(s) in %s; it must document every key of the table (plugin/conftab.c) as the comment at its top says\n", me, bad, page
			exit 1
		}
		printf "%s: %s documents the %d keys of the table, with their types, reloadability and defaults\n", me, page, n
	}
' "$tmp/table" "$tmp/page"
rc=$?

if command -v mandoc > /dev/null 2>&1; then
	if mandoc -T lint -W warning "$page8" "$page" > "$tmp/lint" 2>&1; then
		echo "$me: mandoc -T lint -W warning: both pages clean"
	else
		echo "$me: FAIL: mandoc -T lint -W warning reports:"
		cat "$tmp/lint"
		rc=1
	fi
else
	echo "$me: mandoc not installed: lint skipped"
fi
exit $rc
