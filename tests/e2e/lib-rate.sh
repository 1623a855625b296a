# lib-rate.sh - helpers of the rate module's end-to-end tests (sourced after
# lib.sh).
#
# rate_smtp PORT FROM RCPT... : one SMTP transaction to 127.0.0.1:PORT with
# a small message, one RCPT TO per recipient; prints one line per reply:
# "mail CODE TEXT", "rcpt ADDR CODE TEXT", "end CODE TEXT" (a refused MAIL
# or no accepted recipient ends it there).  Exit 0 when the message was
# accepted, 1 when refused, 2 on a connection error.  With RATE_LOGIN set,
# the session first sends XCLIENT LOGIN=$RATE_LOGIN, so Postfix (with
# smtpd_authorized_xclient_hosts) hands the milter that SASL login as
# {auth_authen}, as if the client had authenticated.
rate_smtp() {
	RATE_LOGIN=${RATE_LOGIN:-} "$E2E_PY" - "$@" <<'PY'
import os, socket, sys
port, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
login = os.environ.get("RATE_LOGIN", "")
s = socket.create_connection(("127.0.0.1", port), timeout=60)
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline().decode("latin-1").rstrip("\r\n")
        if not line:
            raise EOFError
        if line[3:4] != "-":
            return line
def cmd(c):
    s.sendall(c.encode() + b"\r\n")
    return reply()
try:
    reply()
    cmd("EHLO client.outpost-e2e.test")
    if login:
        r = cmd("XCLIENT LOGIN=%s" % login)
        if not r.startswith("220"):
            print("xclient", r, flush=True)
            sys.exit(2)
        cmd("EHLO client.outpost-e2e.test")
    r = cmd("MAIL FROM:<%s>" % sender)
    print("mail", r, flush=True)
    if not r.startswith("250"):
        sys.exit(1)
    ok = 0
    for a in rcpts:
        r = cmd("RCPT TO:<%s>" % a)
        print("rcpt", a, r, flush=True)
        ok += r.startswith("250")
    if not ok:
        cmd("QUIT")
        sys.exit(1)
    cmd("DATA")
    s.sendall(("From: <%s>\r\nSubject: rate e2e\r\n\r\nhello\r\n.\r\n" % sender).encode())
    r = reply()
    print("end", r, flush=True)
    cmd("QUIT")
    sys.exit(0 if r.startswith("2") else 1)
except (EOFError, OSError) as e:
    print("error", e, flush=True)
    sys.exit(2)
PY
}

# postfix_held NAME: print how many messages instance NAME holds in its
# hold queue, as postqueue -j reports them.
postfix_held() {
	postqueue -c "$(postfix_conf "$1")" -j 2>/dev/null | grep -c '"queue_name": *"hold"' || true
}

# rate_outpost_conf OUT PORT STORE_LINES RULES: an outpost config with the
# rate module on (STORE_LINES: more keys of the rate group).
rate_outpost_conf() {
	e2e_outpost_conf "$1" "$2" "log: { level = \"debug\"; };" \
		"rate: { enabled = true; lmdb_path = \"$E2E_T/rate.mdb\"; $3 rules = ( $4 ); };" \
		"${5:-}"
}
