# lib-fault.sh - helpers of the fault and bad-input end-to-end tests
# (sourced after lib.sh): signing keys checked without DNS, outpost's DKIM
# config, and the accounting of an smtp-source stream through Postfix:
# which messages Postfix accepted, which it refused at SMTP time, and where
# each accepted one is now (at the sink, or still in Postfix's queue).

# fault_key DOMAIN SELECTOR [rsa BITS | ed25519]: make a key with
# `outpostctl keygen` in $E2E_T/keys (DOMAIN.SELECTOR.pem, mode 0600) and
# append its DNS record to $E2E_T/keys/records, the file that
# verify-dkim-keys.py reads instead of DNS. Returns 0.
fault_key() {
	local domain=$1 sel=$2
	shift 2
	mkdir -p "$E2E_T/keys"
	"$TOP/outpostctl" --json keygen -d "$E2E_T/keys" "$domain" "$sel" "$@" |
		"$E2E_PY" -c 'import json,sys; j=json.load(sys.stdin); print("%s._domainkey.%s %s" % (j["selector"], j["domain"], j["txt"]))' \
			>>"$E2E_T/keys/records"
}

# fault_conf OUT PORT KEYS [MORE_LIBCONFIG...]: write an outpost config on
# inet:PORT@127.0.0.1 with DKIM signing on, KEYS being "DOMAIN:SELECTOR"
# items separated by blanks (key file $E2E_T/keys/DOMAIN.SELECTOR.pem), and
# the MORE lines after it; FAULT_MILTER (e.g. 'shutdown_timeout = "20s";')
# goes into the milter group. The file is replaced atomically (rename).
fault_conf() {
	local out=$1 port=$2 keys=$3 k sep="" list="" line
	shift 3
	for k in $keys; do
		list="$list$sep{ domain = \"${k%%:*}\"; selector = \"${k#*:}\"; key = \"$E2E_T/keys/${k%%:*}.${k#*:}.pem\"; }"
		sep=", "
	done
	{
		echo "# outpost end-to-end test config ($E2E_TEST)"
		echo "milter: { socket = \"inet:$port@127.0.0.1\"; ${FAULT_MILTER:-} };"
		echo "dkim: { enabled = true; keys = ( $list ); };"
		for line in "$@"; do echo "$line"; done
	} >"$out.new"
	mv "$out.new" "$out"
}

# verify_dumps FILE...: verify every DKIM signature of the dumps with
# dkimpy against $E2E_T/keys/records; prints verify-dkim-keys.py's lines
# (the caller judges them). Returns 0.
verify_dumps() {
	"$E2E_PY" "$E2E_LIB_DIR/verify-dkim-keys.py" "$E2E_T/keys/records" "$@" || true
}

# dump_matching ERE: print the path of the first dump (in name order) with
# a line matching ERE, or nothing.
dump_matching() {
	grep -l -a -E -- "$1" "$E2E_T"/dump/* 2>/dev/null | sed -n 1p
}

# outpost_log_count ERE: print how many lines of OUTPOST_LOG match ERE.
outpost_log_count() {
	grep -Ec -- "$1" "$OUTPOST_LOG" 2>/dev/null || true
}

# wait_log ERE COUNT SECONDS: wait until OUTPOST_LOG has COUNT lines
# matching ERE. Returns 0, or 1 on timeout.
wait_log() {
	local i n=$(($3 * 10))
	for ((i = 0; i < n; i++)); do
		[ "$(outpost_log_count "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	e2e_log "wait_log: $(outpost_log_count "$1") of $2 lines /$1/ after $3 s"
	return 1
}

# stream_start PORT MESSAGES SESSIONS: run smtp-source in the background
# against 127.0.0.1:PORT: MESSAGES messages of 2 KB, one per SMTP session,
# SESSIONS sessions at a time, From: alice@example.org. -A: a refused
# message does not stop the stream (smtp-source says why and goes on with
# the next one); -v: every reply is in STREAM_LOG, "queued as ID" included.
# Sets STREAM_PID and STREAM_LOG.
stream_start() {
	STREAM_LOG=$E2E_T/smtp-source.log
	smtp-source -A -v -s "$3" -m "$2" -l 2000 -M client.outpost-e2e.test \
		-f alice@example.org -t bob@example.net "127.0.0.1:$1" >"$STREAM_LOG" 2>&1 &
	STREAM_PID=$!
	e2e_track "$STREAM_PID" smtp-source
}

# stream_wait SECONDS: wait for smtp-source to end; sets STREAM_RC (124
# when it was still running after SECONDS and had to be stopped).
stream_wait() {
	local i n=$(($1 * 10)) start
	start=$(e2e_starttime "$STREAM_PID")
	for ((i = 0; i < n; i++)); do
		e2e_running "$STREAM_PID" || break
		sleep 0.1
	done
	STREAM_RC=0
	if e2e_running "$STREAM_PID"; then
		e2e_stop_proc "$STREAM_PID" "$start" smtp-source 2 || true
		STREAM_RC=124
	fi
	wait "$STREAM_PID" 2>/dev/null || [ "$STREAM_RC" = 124 ] || STREAM_RC=$?
	e2e_untrack "$STREAM_PID"
}

# stream_accepted: print the queue ids of the messages Postfix accepted
# (the "250 2.0.0 Ok: queued as ID" replies smtp-source got), one per line.
stream_accepted() {
	sed -n 's/^smtp-source: <<< 250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$STREAM_LOG"
}

# stream_refused: print one line per message Postfix refused at SMTP time
# (smtp-source's warning with the reply), e.g. "sender rejected: 451 4.7.1
# Service unavailable - try again later".
stream_refused() {
	sed -n 's/^smtp-source: warning: //p' "$STREAM_LOG"
}

# stream_first_refused: print the first line stream_refused would print.
stream_first_refused() {
	sed -n '/^smtp-source: warning: /{s///p;q}' "$STREAM_LOG"
}

# dump_ids DIR: print "ID KIND FILE" for every message at the sink: the
# Postfix queue id from the Received: line Postfix added ("... (Postfix)
# with SMTP id ID" for mail received by SMTP, KIND smtp; "(Postfix, from
# userid N)" then "id ID;" for a local submission, KIND local).
dump_ids() {
	local f
	for f in "$1"/*; do
		[ -f "$f" ] && printf '%s\n' "$f"
	done | xargs -r awk '
	FNR == 1 { local = 0 }
	local && match($0, /^[ \t]+id [0-9A-Za-z]+/) {
		s = substr($0, RSTART, RLENGTH); sub(/^[ \t]+id /, "", s)
		print s, "local", FILENAME; nextfile
	}
	/\(Postfix, from userid [0-9]+\)/ { local = 1 }
	match($0, /\(Postfix\) with [A-Z]+ id [0-9A-Za-z]+/) {
		s = substr($0, RSTART, RLENGTH); sub(/.* id /, "", s)
		print s, "smtp", FILENAME; nextfile
	}
	/^$/ { nextfile }
	'
}

# signed_in_run N: print the queue ids that outpost's run N (its N-th
# start in OUTPOST_LOG) signed, from their summary lines, one per line.
signed_in_run() {
	awk -v n="$1" '/^=== .* start: /{run++} run == n && $4 == "outpost:" && /dkim=sign/{sub(/:$/, "", $3); print $3}' \
		"$OUTPOST_LOG"
}

# postfix_queue_ids NAME: print the queue ids of the messages instance NAME
# holds (incoming, active, deferred, hold; maildrop files are not yet
# queued under an id and are counted by postfix_queue_count only).
postfix_queue_ids() {
	local q=$E2E_T/pf-$1/queue
	find "$q/incoming" "$q/active" "$q/deferred" "$q/hold" -type f -printf '%f\n' 2>/dev/null
}

# settle NAME DUMPDIR WANT SECONDS: flush instance NAME's queue every
# second until DUMPDIR holds WANT messages and the queue is empty (or
# SECONDS passed). Returns 0 when settled, 1 otherwise.
settle() {
	local name=$1 dir=$2 want=$3 i n=$(($4 * 10))
	for ((i = 0; i < n; i++)); do
		[ $((i % 10)) -eq 0 ] && postfix_flush "$name" >/dev/null 2>&1
		if [ "$(dump_count "$dir")" -ge "$want" ] && [ "$(postfix_queue_count "$name")" -eq 0 ]; then
			wait_for_dumps "$dir" "$want" 5 && return 0
		fi
		sleep 0.1
	done
	e2e_log "settle: $(dump_count "$dir") of $want at the sink, $(postfix_queue_count "$name") queued after $4 s"
	return 1
}

# account NAME DUMPDIR ATTEMPTS: compare what Postfix accepted by SMTP
# with what is at the sink or still in its queue. The accepted messages are
# the stream's (smtp-source's "queued as" replies) plus the queue ids in
# ACC_EXTRA_IDS (other SMTP messages of the test); the refused ones, the
# stream's warnings plus ACC_EXTRA_REFUSED. Prints the numbers, and checks:
# every attempt answered (accepted + refused = ATTEMPTS), none lost (every
# accepted queue id delivered or queued), none delivered twice, nothing at
# the sink that was never accepted, and Postfix's log agrees. Sets
# ACC_ACCEPTED, ACC_REFUSED, ACC_DELIVERED, ACC_QUEUED, ACC_LOST. Returns 0.
account() {
	local name=$1 dir=$2 attempts=$3 a=$E2E_T/acc id
	mkdir -p "$a"
	{ stream_accepted; for id in ${ACC_EXTRA_IDS:-}; do echo "$id"; done; } | sort >"$a/accepted"
	stream_refused >"$a/refused"
	dump_ids "$dir" | awk '$2 == "smtp" {print $1}' | sort >"$a/delivered.all"
	sort -u "$a/delivered.all" >"$a/delivered"
	postfix_queue_ids "$name" | sort -u >"$a/queued"
	sort -u "$a/delivered" "$a/queued" >"$a/present"
	comm -23 "$a/accepted" "$a/present" >"$a/lost"
	comm -13 "$a/accepted" "$a/delivered" >"$a/unexpected"
	ACC_ACCEPTED=$(wc -l <"$a/accepted")
	ACC_REFUSED=$(($(wc -l <"$a/refused") + ${ACC_EXTRA_REFUSED:-0}))
	ACC_DELIVERED=$(comm -12 "$a/accepted" "$a/delivered" | wc -l)
	ACC_QUEUED=$(comm -12 "$a/accepted" "$a/queued" | wc -l)
	ACC_LOST=$(wc -l <"$a/lost")
	printf 'stream: %d attempts: %d accepted by Postfix = %d delivered + %d queued + %d lost; %d refused at SMTP time (the client keeps those)\n' \
		"$attempts" "$ACC_ACCEPTED" "$ACC_DELIVERED" "$ACC_QUEUED" "$ACC_LOST" "$ACC_REFUSED"
	if [ "$ACC_REFUSED" -gt 0 ]; then
		sort "$a/refused" | uniq -c | sed 's/^ */    refused: /'
	fi
	check_eq "every attempt answered (accepted + refused)" "$((ACC_ACCEPTED + ACC_REFUSED))" "$attempts"
	check_eq "messages lost (accepted, neither at the sink nor queued)" "$ACC_LOST" 0
	[ "$ACC_LOST" -eq 0 ] || sed -n '1,10s/^/    lost: /p' "$a/lost"
	# Postfix's own log must tell the same story: the queue ids its queue
	# manager saw (local submissions aside), and one milter-reject line per
	# refused transaction (besides its CONNECT and HELO lines).
	sed -n 's/.* postfix\/qmgr\[[0-9]*\]: \([0-9A-Za-z]*\): from=<.*/\1/p' "$(postfix_log "$name")" |
		sort -u >"$a/pf-qmgr"
	sed -n 's/.* postfix\/pickup\[[0-9]*\]: \([0-9A-Za-z]*\): uid=.*/\1/p' "$(postfix_log "$name")" |
		sort -u >"$a/pf-local"
	check_eq "Postfix's log: queue ids received by SMTP that smtp-source did not get, or the reverse" \
		"$(comm -23 "$a/pf-qmgr" "$a/pf-local" | comm -3 - "$a/accepted" | wc -l)" 0
	check_eq "Postfix's log: transactions refused by milter-reject" \
		"$(grep -c 'milter-reject: \(MAIL\|RCPT\|DATA\|END-OF-MESSAGE\) ' "$(postfix_log "$name")" || true)" \
		"$ACC_REFUSED"
	check_eq "messages delivered twice" "$(($(wc -l <"$a/delivered.all") - $(wc -l <"$a/delivered")))" 0
	check_eq "messages at the sink that Postfix never accepted by SMTP" "$(wc -l <"$a/unexpected")" 0
}
