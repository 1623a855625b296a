#!/bin/bash
# quickstart.sh - see outpost do its main job on a fresh Debian 12 machine.
#
#   sudo contrib/quickstart.sh
#
# Installs the build and test dependencies, builds outpost, generates demo
# DKIM keys (RSA-2048 and Ed25519) for demo.example, starts outpost with an
# embedded default configuration (no Redis, no DNS needed) behind a private
# Postfix on 127.0.0.1 relaying to a local sink, sends one message by SMTP,
# prints it as delivered, checks its signatures with dkimpy (an independent
# verifier) against the generated public keys, and stops everything it
# started.  Nothing of the host's own mail setup is touched.  With --keep,
# the demo directory (config, keys, logs) is kept and its path printed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[ "${1:-}" = --keep ] && keep=1

if [ "$(id -u)" -ne 0 ]; then
	# Not root: through sudo when there is one (keeping RUN_SKIP and the like).
	command -v sudo >/dev/null 2>&1 && exec sudo -E "$0" "$@"
	echo "quickstart.sh: run as root (it installs packages and starts a private Postfix)" >&2
	exit 1
fi
"$top/contrib/install-deps.sh"
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null
[ -f Makefile ] || ./configure --quiet
make -j"$(nproc)" >/dev/null
echo "quickstart: built $("$top/outpost" -V | head -n 1)"

E2E_TEST=quickstart
[ "$keep" = 1 ] && export E2E_KEEP=1
. "$top/tests/e2e/lib.sh"

# Demo keys, private as outpost requires (it refuses keys others can read).
for alg in rsa ed25519; do
	case $alg in
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$E2E_T/$alg.pem" 2>/dev/null ;;
	ed25519) openssl genpkey -algorithm ED25519 -out "$E2E_T/$alg.pem" ;;
	esac
	chmod 600 "$E2E_T/$alg.pem"
done

op=$(free_port)
cat >"$E2E_T/outpost.conf" <<CONF
# The quickstart's configuration: sign mail of demo.example with two keys.
milter: { socket = "inet:$op@127.0.0.1"; };
dkim: {
  enabled = true;
  keys = ( { domain = "demo.example"; selector = "rsa2026"; key = "$E2E_T/rsa.pem"; },
           { domain = "demo.example"; selector = "ed2026"; key = "$E2E_T/ed25519.pem"; } );
};
CONF
"$OUTPOST" -n -c "$E2E_T/outpost.conf"
sink=$(free_port)
smtpd=$(free_port)
start_sink "$sink" "$E2E_T/dump"
start_outpost "$E2E_T/outpost.conf"
start_postfix demo "$smtpd" "$sink" "inet:127.0.0.1:$op"
echo "quickstart: outpost on 127.0.0.1:$op, Postfix on 127.0.0.1:$smtpd, sink on 127.0.0.1:$sink"

cat >"$E2E_T/message.eml" <<'MSG'
From: Demo Sender <hello@demo.example>
To: Someone <someone@example.net>
Subject: Hello from outpost
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <quickstart.1@demo.example>

This message was signed by outpost with RSA-SHA256 and Ed25519-SHA256.
MSG
send_smtp "$smtpd" hello@demo.example someone@example.net "$E2E_T/message.eml"
wait_for_dumps "$E2E_T/dump" 1 20
message_of_dump "$(first_dump "$E2E_T/dump")" "$E2E_T/delivered.eml"
echo "quickstart: the message as delivered:"
echo "------------------------------------------------------------------------"
cat "$E2E_T/delivered.eml"
echo "------------------------------------------------------------------------"
grep "outpost: end=" "$OUTPOST_LOG" | sed 's/^/quickstart: outpost logged: /'

# Independent check: dkimpy with the public halves as DNS would serve them.
"$E2E_PY" - "$E2E_T" <<'PY'
import base64, subprocess, sys
import dkim
t = sys.argv[1]
def pub(path, ed):
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return ("v=DKIM1; k=ed25519; p=" if ed else "v=DKIM1; k=rsa; p=").encode() + \
        base64.b64encode(der[-32:] if ed else der)
dns = {b"rsa2026._domainkey.demo.example.": pub(t + "/rsa.pem", False),
       b"ed2026._domainkey.demo.example.": pub(t + "/ed25519.pem", True)}
msg = open(t + "/delivered.eml", "rb").read().replace(b"\n", b"\r\n")
d = dkim.DKIM(msg)
n = msg.count(b"\r\nDKIM-Signature:") + msg.startswith(b"DKIM-Signature:")
ok = all(d.verify(idx=i, dnsfunc=lambda name, timeout=5: dns.get(name)) for i in range(n))
print("quickstart: dkimpy verified %d of %d signatures: %s" % (n if ok else 0, n, "OK" if ok else "FAILED"))
sys.exit(0 if ok and n == 2 else 1)
PY
e2e_pass "the delivered message carries two signatures that dkimpy verifies"
stop_outpost
if [ "$keep" = 1 ]; then
	echo "quickstart: kept $E2E_T (config, keys, logs)"
fi
e2e_finish
