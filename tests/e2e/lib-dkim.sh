# lib-dkim.sh - DKIM helpers shared by the end-to-end tests (sourced after
# lib.sh): keys made by `outpostctl keygen`, a zone serving their records,
# the test messages, and verification of a delivered copy over real DNS.

# dkim_zone DOMAIN SPEC...: make a key per SPEC "SELECTOR ALG [BITS] [-]"
# in $E2E_T/keys (DOMAIN.SELECTOR.pem, mode 0600) and write
# $E2E_T/zones/DOMAIN.zone with the TXT record of each, split into
# 255-octet strings; a trailing "-" leaves that key unpublished.
dkim_zone() {
	local domain=$1 spec txt s out
	shift
	mkdir -p "$E2E_T/keys" "$E2E_T/zones"
	{
		printf '$ORIGIN %s.\n$TTL 300\n' "$domain"
		printf '@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n' \
			"$domain" "$domain"
		for spec in "$@"; do
			set -- $spec
			local publish=1
			[ "${!#}" = - ] && { publish=0; set -- "${@:1:$(($# - 1))}"; }
			txt=$("$TOP/outpostctl" --json keygen -d "$E2E_T/keys" "$domain" "$@" |
				"$E2E_PY" -c 'import json,sys; print(json.load(sys.stdin)["txt"])')
			[ "$publish" = 1 ] || continue
			s=$txt
			out=""
			while [ -n "$s" ]; do out="$out \"${s:0:255}\""; s=${s:255}; done
			printf '%s._domainkey\tIN TXT (%s )\n' "$1" "$out"
		done
	} >"$E2E_T/zones/$domain.zone"
}

# dkim_message NAME FROM: write $E2E_T/NAME.eml, one of the test cases:
# plain, empty-body, 8bit, long-headers (40 folded References lines and an
# unsigned 3,000-octet header), big (5 MB), long-line (a 1,000-octet body
# line), long-lines (lines of 999 to 5,000 octets around Postfix's breaks
# and queue record size, one starting with a dot), long-subject (a
# 1,200-octet Subject), two-from; anything else is a plain message.  LF
# line ends.
dkim_message() {
	local name=$1 from=$2 i
	{
		printf 'From: %s\nTo: bob@example.net\nSubject: case %s\n' "$from" "$name"
		printf 'Date: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <%s.%s@example.test>\n' "$name" "$$"
		case $name in
		long-headers)
			printf 'References:'
			for i in $(seq 40); do printf ' <ref%04d.some.long.identifier@example.test>\n' "$i"; done
			printf 'X-Long: %s\n' "$(head -c 3000 /dev/zero | tr '\0' 'h')"
			;;
		two-from) printf 'From: mallory@example.test\n' ;;
		long-subject) printf 'Subject: %s\n' "$(head -c 1200 /dev/zero | tr '\0' 's')" ;;
		8bit) printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n' ;;
		esac
		printf '\n'
		case $name in
		empty-body) ;;
		8bit) printf 'Grüße aus Köln, ünïcödé.\n\ttabbed   line  \n\n\n' ;;
		long-line) head -c 1000 /dev/zero | tr '\0' 'x'; printf '\n' ;;
		long-lines)
			# around Postfix's 998-octet breaks and its 2048-octet queue records
			for n in 999 1995 1996 1997 2047 2048 2049 4096 5000; do
				head -c "$n" /dev/zero | tr '\0' 'y'; printf '\n'
			done
			printf '.%s\n' "$(head -c 1500 /dev/zero | tr '\0' 'd')"
			printf 'short\n' ;;
		big) head -c 3900000 /dev/urandom | base64 -w 76 ;;
		*) printf 'Hello,\n\nplain text.\n' ;;
		esac
	} >"$E2E_T/$name.eml"
}

# check_dkim_dump NAME DUMP WANT: the delivered copy DUMP of case NAME
# carries WANT signatures that all verify with dkimpy and Mail::DKIM over
# the namespace's DNS (WANT 0: no signature at all).  Returns 0.
check_dkim_dump() {
	local name=$1 d=$2 want=$3 out
	check_match "$name: delivered" "$(grep -m1 '^Subject:' "$d" 2>/dev/null)" "case $name"
	if [ "$want" = 0 ]; then
		check_eq "$name: DKIM-Signature headers" "$(grep -c '^DKIM-Signature:' "$d" || true)" 0
		return 0
	fi
	out=$(in_ns "$TOP/tests/e2e/verify-dkim-dns.sh" "$d" 2>&1) || true
	check_match "$name: verified by dkimpy and Mail::DKIM" "$out" \
		"^signatures=$want dkimpy=$want mail-dkim=[0-9]+ mail-dkim-skipped=[0-9]+$"
	check_eq "$name: nothing failed in verification" "$(echo "$out" | grep -c -i 'fail\|error' || true)" 0
}

# newest_dump DIR: the most recently written dump in DIR.
newest_dump() {
	ls -t "$1"/* 2>/dev/null | head -n 1
}
