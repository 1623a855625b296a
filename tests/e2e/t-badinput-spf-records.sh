#!/bin/bash
# t-badinput-spf-records: a table of hostile SPF records served by NSD in a
# network namespace, each checked by outpost (spf and auth modules on)
# behind a real Postfix: one message per row from an external client
# (192.0.2.25), from a sender domain whose record is the row's. Each row
# prints what outpost did and what pyspf (python3-spf, the reference)
# says of the same record:
#   "refused CODE X.Y.Z, spf=R"  refused with that reply (spf.on_fail =
#                                reject: 550 5.7.23; decided at MAIL FROM,
#                                given at RCPT TO by default);
#   "delivered, spf=R"           delivered with Authentication-Results
#                                spf=R and Received-SPF: R (spf.on_permerror
#                                and on_pass = mark);
# where R is also the spf= of outpost's summary line (a header or log that
# disagrees is shown). The "pyspf" column is pyspf's verdict; where RFC 7208
# (and pyspf) and libspf2 part, the row says which outpost follows.
# A row marked "xfail" is a known limitation: it names the outcome RFC 7208
# asks for and is reported as "xfail" while outpost gives another (and fails
# the test as "XPASS" once it does not, so that the row is updated).
# Every row: outpost still running, and the message refused or at the sink,
# never lost. After the table outpost still passes a good domain's mail.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fault.sh"

e2e_require_outpost
e2e_require_cmd nsd swaks postfix
ns=op-spfbad-$$
client=192.0.2.25
helo=client.outpost-e2e.test

rep() { # rep N TEXT: TEXT N times
	local i out=""
	for ((i = 0; i < $1; i++)); do out+=$2; done
	printf '%s' "$out"
}
# txt TEXT: TEXT as zone-file character-strings of at most 200 bytes each
# (one TXT record of several strings; SPF joins them without a blank).
txt() {
	printf '%s' "$1" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' '
}
ip4s() { # ip4s N: N ip4 mechanisms, none of them the client
	local i
	for ((i = 1; i <= $1; i++)); do printf ' ip4:198.51.100.%d' "$i"; done
}

# The table: name | outcome RFC 7208 asks for (outpost's, unless xfail) |
# pyspf's verdict | record | what it is | where pyspf, RFC 7208 and
# outpost part, and whom outpost follows | xfail: why outpost gives
# another outcome, a known limitation (empty: none).
# Records name their own domain as NAME.example.test; extra zone data is
# in the zone below.
bomb_l=$(rep 100 '%{l}')
rows=(
	"good|delivered, spf=pass|pass|v=spf1 ip4:$client -all|a plain record that authorizes the client (control)||"
	"macro-l-bomb|refused 550 5.7.23, spf=fail|fail|v=spf1 exists:$bomb_l.%{d} -all|exists: with 100 %{l} and a 64-octet local part: a 6,400-octet name|RFC 7208 7.3 cuts an expanded name to 253 octets from the left, libspf2 does not: outpost takes the overlong name as a void lookup; both fail here|"
	"macro-ir-v-d50r|delivered, spf=pass|pass|v=spf1 exists:%{ir}.%{v}.%{d50r}.ok.example.test -all|%{ir}.%{v}.%{d50r}: reversal and a right-hand count larger than the name|libspf2 cuts the first octet of a name when the count is at least its number of labels (%{d50r}: est.example.x); outpost drops such a count before libspf2 compiles the record, as RFC 7208 7.3 keeps every label|"
	"macro-d129|delivered, spf=pass|pass|v=spf1 exists:%{d129}.ok.example.test ip4:$client -all|%{d129}: valid (any count), libspf2 allows 128 at most|libspf2 refuses a count over 128 (permerror); outpost drops a count no smaller than the name's labels before libspf2 sees it|"
	"macro-d0|delivered, spf=permerror|fail|v=spf1 exists:%{d0}.example.test -all|%{d0}: a right-hand count of 0 (RFC 7208 7.3: must be nonzero)|RFC 7208 7.3: the count MUST be nonzero; pyspf takes the whole name, outpost (libspf2) follows the RFC|"
	"macro-bad-delim|delivered, spf=permerror|fail|v=spf1 exists:%{l1r#}.%{d} -all|%{l1r#}: '#' is no delimiter|RFC 7208 7.1's grammar has no '#' delimiter; pyspf takes the macro anyway, outpost's grammar check follows the RFC|"
	"macro-bad-letter|delivered, spf=permerror|permerror|v=spf1 exists:%{z}.%{d} -all|%{z}: no such macro letter||"
	"macro-unterminated|delivered, spf=permerror|temperror|v=spf1 exists:%{l.%{d} -all|%{l without its closing brace|pyspf queries the raw text and NSD's refusal makes that temperror; RFC 7208's grammar says permerror, as outpost|"
	"cve-2023-42118-exp|refused 550 5.7.23, spf=fail|fail|v=spf1 -all exp=why.cve-2023-42118-exp.example.test|an explanation of 127 %{d} and text: libspf2's macro compiler underflows (CVE-2023-42118); no explanation given|outpost drops the explanation (the 550 names none), pyspf gives it|"
	"cve-2023-42118-mech|refused 550 5.7.23, spf=fail|exception NameTooLong|v=spf1 exists:$(rep 42 'x%{d}')%{d}.example.test -all|the CVE's underflow in a mechanism: 42 'x%{d}' and a %{d} fill libspf2's 511 octets|pyspf gives up on the 900-octet name (dnspython) instead of cutting it to 253 octets (RFC 7208 7.3)|libspf2 compiles at most 511 octets per mechanism: permerror"
	"include-loop|delivered, spf=permerror|permerror|v=spf1 include:loop-b.example.test -all|include loop: a includes b includes a (RFC 7208 4.6.4: 10 terms)||"
	"include-self|delivered, spf=permerror|permerror|v=spf1 include:include-self.example.test -all|a record that includes itself||"
	"terms-11|delivered, spf=permerror|permerror|v=spf1 a:t.example.test mx:t.example.test exists:v0.example.test ptr:t.example.test a:t.example.test mx:t.example.test a:t.example.test include:inc.example.test a:t.example.test a:t.example.test redirect=red.example.test|11 DNS-querying terms: a, mx, exists, ptr, include, redirect||"
	"terms-10|refused 550 5.7.23, spf=fail|fail|v=spf1 a:t.example.test mx:t.example.test exists:v0.example.test ptr:t.example.test a:t.example.test mx:t.example.test a:t.example.test include:inc.example.test a:t.example.test redirect=red.example.test|10 DNS-querying terms (the limit), then red.example.test's -all||"
	"voids-3|delivered, spf=permerror|permerror|v=spf1 a:v1.example.test mx:v2.example.test exists:v3.example.test ip4:$client -all|3 void lookups (RFC 7208 4.6.4: 2 at most)||"
	"voids-2|delivered, spf=pass|pass|v=spf1 a:v1.example.test mx:v2.example.test ip4:$client -all|2 void lookups (the limit), then the client's ip4||"
	"mx-11|delivered, spf=permerror|permerror|v=spf1 mx -all|an mx term whose domain has 11 MX records||"
	"mx-10|delivered, spf=pass|pass|v=spf1 mx -all|10 MX records, the last one the client's||"
	"txt-strings|delivered, spf=pass|pass|v=spf1$(ip4s 45) ip4:$client -all|an 827-octet record in 5 strings (answer over 512 octets: TCP)||"
	"txt-big-answer|refused 550 5.7.23, spf=fail|fail|v=spf1 ip4:192.0.2.99 -all|a small record beside a 1,500-octet TXT record (answer over 512 octets: TCP)||"
	"txt-too-big|delivered, spf=pass|pass|v=spf1$(ip4s 70) ip4:$client -all|a valid 1,277-octet record of 71 ip4 terms||libspf2 compiles at most 511 octets of mechanisms: permerror"
	"two-records|delivered, spf=permerror|permerror|v=spf1 ip4:$client -all|two v=spf1 records for one domain||"
	"nul-byte|delivered, spf=permerror|permerror|v=spf1 ip4:$client<NUL> -all|a NUL byte inside the record (not in RFC 7208's grammar)||libspf2 keeps TXT data as C strings: the record ends at the NUL, pass"
)

mkdir "$E2E_T/zones"
{
	cat <<'ZONE'
$ORIGIN example.test.
$TTL 300
@	IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@	IN NS ns
ns	IN A 127.0.0.1
client	IN A 192.0.2.25
25.2.0.192.in-addr.test.example.macro-ir-v-d50r.ok	IN A 127.0.0.2
macro-d129.example.test.ok	IN A 127.0.0.2
loop-b	IN TXT "v=spf1 include:include-loop.example.test -all"
t	IN A 203.0.113.1
t	IN MX 10 t.example.test.
inc	IN TXT "v=spf1 ip4:203.0.113.2 -all"
red	IN TXT "v=spf1 -all"
two-records	IN TXT "v=spf1 -all"
ZONE
	for ((i = 1; i <= 11; i++)); do
		printf 'mx-11\tIN MX %d m%d.example.test.\n' "$i" "$i"
		[ "$i" -le 10 ] && printf 'mx-10\tIN MX %d m%d.example.test.\n' "$i" "$i"
		[ "$i" -lt 10 ] && printf 'm%d\tIN A 203.0.113.%d\n' "$i" "$((10 + i))"
	done
	printf 'm10\tIN A %s\n' "$client"
	printf 'm11\tIN A 203.0.113.21\n'
	printf 'why.cve-2023-42118-exp\tIN TXT %s\n' "$(txt "$(rep 127 '%{d}')AAAAAAAAAA")"
	printf 'txt-big-answer\tIN TXT %s\n' "$(txt "site-verification=$(rep 1500 x)")"
	for row in "${rows[@]}"; do
		IFS='|' read -r name _ _ rec _ <<<"$row"
		rec=${rec//<NUL>/\\000}
		printf '%s\tIN TXT %s\n' "$name" "$(txt "$rec")"
	done
} >"$E2E_T/zones/example.test.zone"
cat >"$E2E_T/zones/2.0.192.in-addr.arpa.zone" <<'ZONE'
$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@	IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@	IN NS ns.example.test.
25	IN PTR client.example.test.
ZONE
start_netns_dns "$ns" "$E2E_T/zones"
use_netns "$ns"
in_ns ip addr add "$client/32" dev lo

# pyspf's verdict for a sender from the client ("exception NAME" when
# pyspf itself gives up).
pyspf() {
	in_ns "$E2E_PY" -c '
import sys, spf
try:
    print(spf.check2(i=sys.argv[1], s=sys.argv[2], h=sys.argv[3])[0])
except Exception as e:
    print("exception " + type(e).__name__)' "$client" "$1" "$helo" 2>&1 | tail -n1 || true
}

sink=$(free_port)
smtpd=$(free_port)
op=$(free_port)
start_sink "$sink" "$E2E_T/dump"
e2e_outpost_conf "$E2E_T/outpost.conf" "$op" \
	'spf: { enabled = true; timeout = "5s"; on_fail = "reject"; on_permerror = "mark";' \
	'       on_temperror = "tempfail"; };' \
	'auth: { enabled = true; authserv_id = "mx.outpost-e2e.test"; received_spf = true; };'
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op" "mynetworks = 127.0.0.0/8 192.0.2.0/24"

# outcome NAME SENDER: what happened to row NAME's message (the last
# send_smtp), in the words of the table.
outcome() {
	local name=$1 sender=$2 reply logr f ar rs
	reply=$(smtp_envelope_reply)
	logr=$(grep -a "spf=[a-z]* identity=mailfrom domain=$name.example.test " "$OUTPOST_LOG" |
		tail -n1 | sed 's/.* spf=\([a-z]*\) identity=.*/\1/')
	case $reply in
	250*) ;;
	*) echo "refused $(cut -d' ' -f1-2 <<<"$reply"), spf=${logr:-none}"; return 0 ;;
	esac
	f=$(dump_matching "^Message-ID: <$name\.$$@example\.test>")
	[ -n "$f" ] || { echo "accepted, not delivered, spf=${logr:-none}"; return 0; }
	ar=$(awk '/^Authentication-Results:/ { p = 1; printf "%s", $0; next } p && /^[ \t]/ { printf "%s", $0; next } p { exit }' "$f" |
		tr -d '\r' | sed -n "s/.*[[:space:];]spf=\([a-z]*\) .*smtp.mailfrom=.*/\1/p")
	rs=$(sed -n 's/^Received-SPF: \([a-z]*\) .*/\1/p' "$f" | head -n1)
	if [ "$ar" = "$logr" ] && [ "$rs" = "$logr" ]; then
		echo "delivered, spf=$logr"
	else
		echo "delivered, spf=${logr:-none} (Authentication-Results spf=${ar:-none}, Received-SPF: ${rs:-none})"
	fi
}

t0=$EPOCHREALTIME
sent=0 refused=0 delivered=0 xfails=0
for row in "${rows[@]}"; do
	IFS='|' read -r name want wantpy _ what note xfail <<<"$row"
	sender=a@$name.example.test
	[ "$name" = macro-l-bomb ] && sender=$(rep 64 l)@$name.example.test
	printf 'From: <%s>\nTo: <bob@example.net>\nSubject: row %s\nMessage-ID: <%s.%s@example.test>\n\nrow %s\n' \
		"$sender" "$name" "$name" "$$" "$name" >"$E2E_T/$name.eml"
	sent=$((sent + 1))
	send_smtp "$smtpd" "$sender" bob@example.net "$E2E_T/$name.eml" --local-interface "$client" || true
	case $(smtp_envelope_reply) in
	250*)
		delivered=$((delivered + 1))
		wait_for_dumps "$E2E_T/dump" "$delivered" 20 || true
		;;
	*) refused=$((refused + 1)) ;;
	esac
	got=$(outcome "$name" "$sender")
	gotpy=$(pyspf "$sender")
	printf 'row %-20s %s\n    want:  %s\n    got:   %s\n    pyspf: %s\n' "$name" "$what" "$want" "$got" "$gotpy"
	[ -z "$note" ] || printf '    note:  %s\n' "$note"
	if [ -z "$xfail" ]; then
		check_eq "$name" "$got" "$want"
	elif [ "$got" = "$want" ]; then
		e2e_fail "$name: XPASS: got '$got' as RFC 7208 says, but the row is marked as a known limitation ($xfail): update the row"
	else
		xfails=$((xfails + 1))
		printf 'xfail: %s: got %s, RFC 7208 says %s (known limitation: %s)\n' "$name" "$got" "$want" "$xfail"
	fi
	check_eq "$name: pyspf" "$gotpy" "$wantpy"
	check_alive "$name: outpost still running" "$OUTPOST_PID"
done
e2e_log "${#rows[@]} rows in $(e2e_elapsed "$t0") s, $xfails known limitations (xfail)"

check_eq "summary lines with an spf= result (one per row)" \
	"$(outpost_log_count ' spf=[a-z]+ identity=mailfrom domain=')" "${#rows[@]}"
check_eq "messages refused + delivered = sent" "$((refused + delivered))" "$sent"
check_eq "messages at the sink" "$(dump_count "$E2E_T/dump")" "$delivered"
check_eq "messages left in Postfix's queue" "$(postfix_queue_count mx)" 0

# After the table: the good domain's mail still passes.
printf 'From: <a@good.example.test>\nTo: <bob@example.net>\nSubject: after\nMessage-ID: <after.%s@example.test>\n\nafter the table\n' "$$" >"$E2E_T/after.eml"
check_cmd "a good domain's message after the table: accepted" send_smtp "$smtpd" a@good.example.test \
	bob@example.net "$E2E_T/after.eml" --local-interface "$client"
wait_for_dumps "$E2E_T/dump" $((delivered + 1)) 20 || true
f=$(dump_matching "^Message-ID: <after\.$$@example\.test>")
check_match "a good domain's message after the table: spf=pass" \
	"$(grep -a '^Authentication-Results:' -A1 "${f:-/dev/null}" | tr -d '\r')" 'spf=pass smtp.mailfrom=a@good.example.test'
check_alive "outpost after the table" "$OUTPOST_PID"
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_finish
