#!/bin/bash
# t-badinput-milter-protocol: a table of malformed input sent straight to
# outpost (DKIM signing on, default limits) over the milter protocol, by
# milter-client.py speaking as Postfix does: what an MTA filters out or
# rewrites before a milter sees it (no From:, 8-bit or odd header names,
# NUL bytes, a bare LF inside a value, a 1 MB header packet) and
# macros too long or malformed. Each row prints its expected outcome and
# what happened, as the MTA would see it:
#   "continue, signed"     passed with a DKIM-Signature added;
#   "continue, not signed" passed unchanged;
#   "replycode CODE X.Y.Z" refused with that reply (limit action: reject);
#   "closed"               outpost dropped the connection (the MTA then
#                          applies its milter_default_action, a 4xx).
# A row marked "xfail" is a known bug: it documents the outcome the manual
# promises and is reported as "xfail" while the bug is there (and fails the
# test once fixed, as "XPASS", so that the row is updated). Never a crash:
# after the table outpost still runs and signs a plain message.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fault.sh"

e2e_require_outpost
op=$(free_port)
fault_key example.org s1 rsa 2048
fault_conf "$E2E_T/outpost.conf" "$op" example.org:s1
start_outpost "$E2E_T/outpost.conf"

long=$(head -c 2000 /dev/zero | tr '\0' 1) # over limits.max_macro_length (1024)
# The table: name | expected outcome | message | client options ("<LF>" is
# a newline) | what it is | why it is a known bug (xfail), if it is one.
rows=(
	"plain|continue, signed|plain||a plain message (the control row)|"
	"no-from|continue, not signed|no-from||no From: header (Postfix would add one)|"
	"8bit-header-name|continue, signed|8bit-name||a header name with 8-bit bytes (not a signed header)|"
	"8bit-from-name|continue, not signed|8bit-from||'Fröm:' instead of From: (so no From: at all)|"
	"nul-in-header-name|continue, signed|nul-name||a NUL byte inside a header name (the name ends there)|"
	"nul-in-header-value|continue, signed|nul-value||a NUL byte inside a header value (the value ends there)|"
	"bare-lf-in-subject|continue, signed|lf-subject||a bare LF inside Subject, not followed by a blank|"
	"bare-cr-in-from|continue, signed|cr-from||a bare CR inside From:'s display name|"
	"header-without-colon|continue, signed|no-colon||a header line without a colon (name with blanks, empty value)|"
	"empty-header-name|continue, signed|empty-name||a header with an empty name (passed on; not a signed header)|"
	"1mb-header|replycode 550 5.3.4|1mb||a 1 MB header: limits.max_header_length|"
	"10000-headers|replycode 550 5.3.4|10000||10,000 headers: limits.max_headers|"
	"long-macro-i|replycode 550 5.7.0|plain|--macro i=$long|a 2,000-octet queue id (macro i) at MAIL|"
	"long-auth-authen|replycode 550 5.7.0|plain|--macro {auth_authen}=$long|a 2,000-octet SASL login at MAIL|"
	"newline-in-queue-id|continue, signed|plain|--macro i=Q1:<LF>forged: outpost: end=eom|a queue id with a newline (must not forge a log line)|"
	"garbage-client-addr|continue, not signed|plain|--macro {client_addr}=not-an-address|a client address that is no address: external, not signed|"
	"quote-in-login|continue, signed|plain|--macro {auth_authen}=u\"s\\er|a SASL login with a quote and a backslash (escaped in the log)|"
	"long-macro-j|replycode 550 5.7.0|plain|--macro j=$long|a 2,000-octet MTA name (macro j) at connect|"
	"long-client-addr|replycode 550 5.7.0|plain|--macro {client_addr}=$long|a 2,000-octet client address at connect|"
	"long-daemon-name|replycode 550 5.7.0|plain|--macro {daemon_name}=$long|a 2,000-octet daemon name at connect|"
)

# write_msg KIND FILE: the message of KIND, CRLF line ends.
write_msg() {
	local i
	{
		case $1 in
		no-from | 8bit-from) ;;
		cr-from) printf 'From: "Al\rice" <alice@example.org>\r\n' ;;
		*) printf 'From: Alice <alice@example.org>\r\n' ;;
		esac
		printf 'To: bob@example.net\r\nSubject: row %s\r\nMessage-ID: <%s.%s@example.org>\r\n' "$1" "$1" "$$"
		case $1 in
		8bit-name) printf 'X-\xc3\x9cn\xc3\xaf: v\r\n' ;;
		8bit-from) printf 'Fr\xc3\xb6m: alice@example.org\r\n' ;;
		nul-name) printf 'X-N\0ul: v\r\n' ;;
		nul-value) printf 'X-Nul: a\0b\r\n' ;;
		lf-subject) printf 'Subject: a\nb\r\n' ;;
		no-colon) printf 'no colon here\r\n' ;;
		empty-name) printf ': value\r\n' ;;
		1mb) printf 'X-Big: '; head -c $((1024 * 1024)) /dev/zero | tr '\0' x; printf '\r\n' ;;
		10000) for ((i = 0; i < 10000; i++)); do printf 'X-H%d: v\r\n' "$i"; done ;;
		esac
		printf '\r\nrow %s\r\n' "$1"
	} >"$2"
}

# outcome OUT: the row's outcome from milter-client.py's output OUT.
outcome() {
	local final sigs
	final=$(sed -n 's/^final //p' "$1")
	sigs=$(sed -n 's/^signatures //p' "$1")
	case $final in
	continue) [ "${sigs:-0}" -gt 0 ] && echo "continue, signed" || echo "continue, not signed" ;;
	replycode*) cut -d' ' -f1-3 <<<"$final" ;;
	'') echo "no answer: $(tr '\n' ' ' <"$1")" ;;
	*) echo "$final" ;;
	esac
}

xfails=0
for row in "${rows[@]}"; do
	IFS='|' read -r name want kind opts what xfail <<<"$row"
	write_msg "$kind" "$E2E_T/$kind.txt"
	args=()
	if [ -n "$opts" ]; then
		opts=${opts//<LF>/$'\n'}
		args=("${opts%% *}" "${opts#* }")
	fi
	"$E2E_PY" "$E2E_LIB_DIR/milter-client.py" "${args[@]}" "127.0.0.1:$op" "$E2E_T/$kind.txt" \
		>"$E2E_T/$name.out" 2>&1 || true
	got=$(outcome "$E2E_T/$name.out")
	printf 'row %-20s %s\n    want: %s\n    got:  %s\n' "$name" "$what" "$want" "$got"
	if [ -z "$xfail" ]; then
		check_eq "$name" "$got" "$want"
	elif [ "$got" = "$want" ]; then
		e2e_fail "$name: XPASS: got '$got' as the manual says, but the row is marked as a known bug ($xfail): update the row"
	else
		xfails=$((xfails + 1))
		printf 'xfail: %s: got %s, the manual says %s (known bug: %s)\n' "$name" "$got" "$want" "$xfail"
	fi
	check_alive "$name: outpost still running" "$OUTPOST_PID"
done
e2e_log "${#rows[@]} rows, $xfails known bugs (xfail)"

# The log: one line per message, the queue id never splits a line, text
# from the client escaped.
check_eq "log lines forged by a newline in the queue id" "$(outpost_log_count '^forged: ')" 0
check_match "the queue id with a newline, as logged" "$(grep -a 'outpost: end=' "$OUTPOST_LOG")" \
	'^[^ ]+ outpost\[info\]: Q1:\?forged:\?outpost:\?end=eom: outpost: end=eom '
check_match "a login with a quote and a backslash, as logged" "$(cat "$OUTPOST_LOG")" \
	' login="u\\"s\\\\er" '
write_msg plain "$E2E_T/after.txt"
"$E2E_PY" "$E2E_LIB_DIR/milter-client.py" --deliver "$E2E_T/after.eml" "127.0.0.1:$op" "$E2E_T/after.txt" >"$E2E_T/after.out" 2>&1 || true
check_eq "a plain message after the table" "$(outcome "$E2E_T/after.out")" "continue, signed"
check_match "a plain message after the table: verified by dkimpy" "$(verify_dumps "$E2E_T/after.eml" | sed -n 1p)" \
	' signatures=1 verified=1 selectors=s1$'
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_finish
