#!/bin/bash
# t-badinput-through-postfix: a table of malformed or hostile messages sent
# byte for byte by SMTP to a real Postfix (smtpd_forbid_bare_newline = yes)
# in front of outpost (DKIM signing on, default limits). Each row names what
# it sends and the outcome it expects, and prints what happened:
#   "pass, signed"     delivered, and outpost's signature (s=s1) verifies
#                      with dkimpy (other signatures may fail);
#   "pass, not signed" delivered without a signature of outpost;
#   "reply CODE X.Y.Z" refused at the end of the data with that reply;
# with, where Postfix itself changes the input before outpost sees it,
# what it does (the expected outcome is then outpost's on Postfix's
# version). Never a crash: after the table outpost still runs, has logged
# one summary line per message Postfix gave it, and signs a plain message.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fault.sh"

e2e_require_outpost
op=$(free_port)
sink=$(free_port)
smtpd=$(free_port)
fault_key example.org s1 rsa 2048
fault_conf "$E2E_T/outpost.conf" "$op" example.org:s1
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op" "smtpd_forbid_bare_newline = yes"

# The table: name | expected outcome | what it is (and what Postfix does).
rows=(
	"nul-in-header|pass, signed|a NUL byte in an unsigned header"
	"nul-in-subject|pass, signed|a NUL byte in Subject (a signed header)"
	"bare-cr-in-header|pass, signed|a bare CR inside an unsigned header"
	"bare-cr-in-subject|pass, signed|a bare CR inside Subject"
	"bare-lf-in-header|pass, signed|a bare LF inside a header: Postfix ends the line there, the rest starts the body"
	"bare-lf-in-subject|pass, signed|a bare LF inside Subject: Postfix ends the line there"
	"10000-headers|reply 550 5.3.4|10,000 headers: limits.max_headers (1000), limit action reject"
	"1mb-header|pass, signed|one 1 MB header: Postfix cuts it to about 60 KB, under limits.max_header_length"
	"1.2mb-of-headers|reply 550 5.3.4|20 headers of 60 KB: over limits.max_header_bytes (1 MB)"
	"8bit-header-name|pass, signed|a header name with 8-bit bytes: Postfix takes the line as the first body line"
	"invalid-utf8|pass, signed|invalid UTF-8 in Subject and in From's display name"
	"from-1000|pass, signed|a From: with 1,000 addresses of the signing domain (folded), and a Sender:"
	"from-1000-domains|pass, not signed|a From: with 1,000 addresses in 1,000 domains"
	"no-from|pass, signed|no From: Postfix adds one from the envelope sender (a local client)"
	"two-from|pass, not signed|two From headers (dkim.on_multiple_from = skip)"
	"forged-dkim|pass, signed|a forged DKIM-Signature for d=example.org: kept, fails; ours verifies"
	"garbage-dkim|pass, signed|a DKIM-Signature of control bytes and junk: kept; ours verifies"
	"1001-recipients|pass, signed|1,001 RCPT TO: Postfix refuses the last (smtpd_recipient_limit), delivers to 1,000"
)

# write_row NAME FILE: the DATA of row NAME as it goes on the wire (CRLF).
write_row() {
	local name=$1 i x60k
	{
		case $name in
		no-from) ;;
		invalid-utf8) printf 'From: "Al\xffice \xc3(" <alice@example.org>\r\n' ;;
		from-1000 | from-1000-domains)
			printf 'From: '
			for ((i = 0; i < 1000; i++)); do
				[ "$i" -gt 0 ] && printf ',\r\n '
				if [ "$name" = from-1000 ]; then
					printf 'user%d@example.org' "$i"
				else
					printf 'user%d@d%d.example' "$i" "$i"
				fi
			done
			printf '\r\nSender: alice@example.org\r\n'
			;;
		*) printf 'From: Alice <alice@example.org>\r\n' ;;
		esac
		case $name in
		forged-dkim) printf 'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=forged;\r\n\tt=1; h=From:Subject; bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA\r\n' ;;
		garbage-dkim) printf 'DKIM-Signature: \x01\x02 garbage ;;; = = s=forged\r\n' ;;
		esac
		printf 'To: bob@example.net\r\nMessage-ID: <%s.%s@example.org>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n' "$name" "$$"
		case $name in
		nul-in-subject) printf 'Subject: row a\0b\r\n' ;;
		bare-cr-in-subject) printf 'Subject: row a\rb\r\n' ;;
		bare-lf-in-subject) printf 'Subject: row a\nb\r\n' ;;
		invalid-utf8) printf 'Subject: row \xff\xfe\xc3( \xed\xa0\x80\r\n' ;;
		*) printf 'Subject: row %s\r\n' "$name" ;;
		esac
		case $name in
		nul-in-header) printf 'X-Nul: a\0b\r\n' ;;
		bare-cr-in-header) printf 'X-CR: a\rb\r\n' ;;
		bare-lf-in-header) printf 'X-LF: a\nb\r\n' ;;
		two-from) printf 'From: mallory@example.org\r\n' ;;
		8bit-header-name) printf 'X-\xc3\x9cn\xc3\xaf: v\r\n' ;;
		10000-headers) for ((i = 0; i < 10000; i++)); do printf 'X-H%d: v\r\n' "$i"; done ;;
		1mb-header) printf 'X-Big: '; head -c $((1024 * 1024)) /dev/zero | tr '\0' x; printf '\r\n' ;;
		1.2mb-of-headers)
			x60k=$(head -c $((60 * 1024)) /dev/zero | tr '\0' x)
			for ((i = 0; i < 20; i++)); do printf 'X-Big-%d: %s\r\n' "$i" "$x60k"; done
			;;
		esac
		printf '\r\nrow %s\r\n' "$name"
	} >"$2"
}

# outcome NAME OUT: what happened to row NAME (smtp-raw.py's output OUT),
# in the words of the table.
outcome() {
	local name=$1 end f v
	end=$(sed -n 's/^end //p' "$2")
	case $end in
	250*) ;;
	'') echo "no reply: $(tr '\n' ' ' <"$2")"; return 0 ;;
	*) echo "reply $(cut -d' ' -f1-2 <<<"$end")"; return 0 ;;
	esac
	f=$(dump_matching "^Message-ID: <$name\.$$@example\.org>")
	[ -n "$f" ] || { echo "accepted, not delivered"; return 0; }
	v=$(verify_dumps "$f" | sed -n 1p)
	if [[ " $v" =~ \ selectors=([^ ]*,)?s1(,[^ ]*)?(\ |$) ]]; then
		echo "pass, signed"
	elif [[ " $v" =~ (selectors|failed)=([^ ]*,)?s1(,|\ |$) ]]; then
		echo "pass, signature fails: $v"
	else
		echo "pass, not signed"
	fi
}

delivered=0
for row in "${rows[@]}"; do
	IFS='|' read -r name want what <<<"$row"
	write_row "$name" "$E2E_T/$name.txt"
	args=()
	[ "$name" = 1001-recipients ] && args=(--rcpts 1001)
	"$E2E_PY" "$E2E_LIB_DIR/smtp-raw.py" "${args[@]}" "127.0.0.1:$smtpd" alice@example.org \
		bob@example.net "$E2E_T/$name.txt" >"$E2E_T/$name.out" 2>&1 || true
	if grep -q '^end 2' "$E2E_T/$name.out"; then
		delivered=$((delivered + 1))
		wait_for_dumps "$E2E_T/dump" "$delivered" 20 || true
	fi
	got=$(outcome "$name" "$E2E_T/$name.out")
	printf 'row %-18s %s\n    want: %s\n    got:  %s\n' "$name" "$what" "$want" "$got"
	[ "$name" != 1001-recipients ] || printf '    (%s)\n' "$(grep -m1 'accepted\|^rcpt' "$E2E_T/$name.out")"
	check_eq "$name" "$got" "$want"
done
check_match "1001-recipients: Postfix refused the last one" "$(cat "$E2E_T/1001-recipients.out")" \
	'^rcpts accepted 1000 of 1001$'

check_alive "outpost after ${#rows[@]} bad inputs" "$OUTPOST_PID"
summaries=$(outpost_log_count ': outpost: end=')
check_eq "summary lines logged (one per message Postfix passed on)" "$summaries" "${#rows[@]}"
printf 'From: alice@example.org\nTo: bob@example.net\nSubject: after the table\n\nstill there?\n' >"$E2E_T/after.eml"
check_cmd "a plain message after the table: accepted" send_smtp "$smtpd" alice@example.org bob@example.net "$E2E_T/after.eml"
wait_for_dumps "$E2E_T/dump" $((delivered + 1)) 20 || true
f=$(dump_matching '^Subject: after the table$')
check_match "a plain message after the table: signed, verified by dkimpy" \
	"$(verify_dumps "${f:-/dev/null}" | sed -n 1p)" ' signatures=1 verified=1 selectors=s1$'
check_eq "messages left in Postfix's queue" "$(postfix_queue_count mx)" 0
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_finish
