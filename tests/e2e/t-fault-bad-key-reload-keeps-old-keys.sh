#!/bin/bash
# t-fault-bad-key-reload-keeps-old-keys: outpost signs the mail of a real
# Postfix with one RSA key (selector s1). Then, row by row, that key's file
# is removed or damaged (garbage, a truncated PEM, empty, mode 0644, mode
# 0620, a directory, a 512-bit key, an encrypted key) while the config
# file gains a second, good key (Ed25519, s2), and outpost gets SIGHUP.
# Each reload must be refused with a log line naming the key file and the
# reason, and a message sent after it must still be signed with the old key
# only (one signature, s=s1, verified by dkimpy against the published
# record): no half-applied config. Finally the key file is restored: the
# reload is accepted (generation 2), and mail is signed with both keys.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-fault.sh"

e2e_require_outpost
op=$(free_port)
sink=$(free_port)
smtpd=$(free_port)
fault_key example.org s1 rsa 2048
fault_key example.org s2 ed25519
key=$E2E_T/keys/example.org.s1.pem
cp -p "$key" "$E2E_T/s1.good"
fault_conf "$E2E_T/outpost.conf" "$op" example.org:s1
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix mx "$smtpd" "$sink" "inet:127.0.0.1:$op"

# send_signed ROW WANT_SELECTORS: send a message, wait for it at the sink,
# and check that its signatures are exactly WANT_SELECTORS ("s1" or
# "s1,s2"), each verified by dkimpy.
n_sent=0
send_signed() {
	local row=$1 want=$2 f out
	printf 'From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: key row %s\nMessage-ID: <%s.%s@example.org>\n\nrow %s\n' \
		"$row" "$row" "$$" "$row" >"$E2E_T/$row.eml"
	if ! send_smtp "$smtpd" alice@example.org bob@example.net "$E2E_T/$row.eml"; then
		e2e_fail "$row: SMTP refused: $(smtp_first_error)"
		return 0
	fi
	n_sent=$((n_sent + 1))
	wait_for_dumps "$E2E_T/dump" "$n_sent" 20 || true
	f=$(dump_matching "^Subject: key row $row\$")
	out=$(verify_dumps "$f" | sed -n 1p)
	check_match "$row: mail signed, verified by dkimpy" "${out#* }" \
		"^signatures=$(($(tr -cd , <<<"$want" | wc -c) + 1)) verified=[0-9]+ selectors=$want\$"
}

# reload_and_wait WHAT_ERE: SIGHUP, then wait until the log has one more
# line matching WHAT_ERE; print that line.
reload_and_wait() {
	local before
	before=$(outpost_log_count "$1")
	reload_outpost
	wait_log "$1" $((before + 1)) 10 || true
	grep -E -- "$1" "$OUTPOST_LOG" | tail -n1
}

send_signed before s1

# Each row: name, how to break the key file, the reason the log must give.
rows=(
	"removed|rm -f KEY|No such file or directory"
	"garbage|head -c 1700 /dev/urandom >KEY; chmod 600 KEY|not a key"
	"truncated-pem|head -c 800 GOOD >KEY; chmod 600 KEY|broken PEM"
	"empty|: >KEY; chmod 600 KEY|empty\$"
	"mode-0644|cp GOOD KEY; chmod 644 KEY|mode 0644 lets other users read it"
	"mode-0620|cp GOOD KEY; chmod 620 KEY|mode 0620 lets other users read it or others than its owner write it"
	"directory|mkdir KEY|not a regular file"
	"rsa-512|openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out KEY 2>/dev/null; chmod 600 KEY|RSA key of 512 bits is shorter than the minimum"
	"encrypted|openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -aes128 -pass pass:x -out KEY 2>/dev/null; chmod 600 KEY|encrypted"
)
# From now on the config also names a good second key: a reload that is
# wrongly (or half) applied would show in the signatures as s2.
fault_conf "$E2E_T/outpost.conf" "$op" "example.org:s1 example.org:s2"
for row in "${rows[@]}"; do
	IFS='|' read -r name how reason <<<"$row"
	rm -rf "$key"
	how=${how//KEY/$(printf %q "$key")}
	eval "${how//GOOD/$(printf %q "$E2E_T/s1.good")}"
	line=$(reload_and_wait 'reload refused')
	printf 'row %s: expected "reload refused ... %s"; got: %s\n' "$name" "$reason" "${line#*]: }"
	check_match "$name: reload refused, naming the key file and why" "$line" \
		"reload refused, generation 1 keeps serving: .*outpost\.conf:[0-9]+: $key: .*$reason"
	send_signed "$name" s1
done
check_eq "reloads accepted while the key was bad" "$(outpost_log_count 'reload: configuration generation')" 0
check_alive "outpost after ${#rows[@]} refused reloads" "$OUTPOST_PID"

rm -rf "$key"
cp -p "$E2E_T/s1.good" "$key"
line=$(reload_and_wait 'reload: configuration generation')
check_match "restored: reload accepted" "$line" 'reload: configuration generation 2 from .* is active'
send_signed restored s1,s2
check_eq "messages left in Postfix's queue" "$(postfix_queue_count mx)" 0
stop_outpost 15 || true
check_eq "outpost exit status after SIGTERM" "$OUTPOST_STATUS" 0
e2e_finish
