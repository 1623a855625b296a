#!/usr/bin/python3
"""milter-client.py - send one message to a milter over the milter protocol
(version 6), the way Postfix's milter8 client does, for input an MTA would
refuse or rewrite before a milter sees it (8-bit header names, no From:,
NUL bytes, oversized packets, long macros).

  milter-client.py [--macro NAME=VALUE]... [--from ADDR] [--rcpt ADDR]
                   [--rcpts N] [--deliver OUT] HOST:PORT MESSAGE

MESSAGE is the message as raw bytes: header lines up to the first empty
line, then the body. Lines end in CRLF; a header line is "NAME:VALUE" with
NAME everything before the first ":", so a bare CR, a bare LF or a NUL byte
stays inside the value (as do 8-bit bytes in the name); a line that starts
with a blank continues the header before it (sent as LF + blank, as Postfix
does). --macro sets a macro sent at every stage (e.g. {client_addr}=...;
the defaults are j, {client_addr}=127.0.0.1, {daemon_name}, i); the
connection itself is always reported as from 127.0.0.1.

The client offers every action and protocol step, honours the filter's
"no" and "no reply" flags, and prints one line per reply it reads:
  "STAGE ACTION [CODE TEXT]" (e.g. "eom continue", "mail replycode 550 5.7.0
  ..."), "mod KIND [INDEX] NAME" for each header change at end of message,
then "final ACTION [reply]" and "signatures N" (DKIM-Signature headers the
filter added). When the filter closes the connection, "STAGE closed" then
"final closed". With --rcpts N, N recipients are sent (rcpt-1-ADDR ...
rcpt-N-ADDR; a refused one does not end the transaction, as with an MTA)
and their replies are counted: one line "rcpts COUNT ACTION [reply]" per
distinct reply, in order of first appearance, instead of one per reply. With --deliver, the message with the filter's header
changes applied is written to OUT (as the MTA would deliver it). Exit
status 0 unless the connection could not be opened.
"""
import socket
import struct
import sys

SMFIP_NR = {  # stage -> (no-step flag, no-reply flag)
    "connect": (0x1, 0x1000), "helo": (0x2, 0x2000), "mail": (0x4, 0x4000),
    "rcpt": (0x8, 0x8000), "header": (0x20, 0x80), "eoh": (0x40, 0x40000),
    "body": (0x10, 0x80000), "eom": (0, 0),
}
LEADSPC = 0x100000
ACTIONS = {b"c": "continue", b"a": "accept", b"r": "reject", b"t": "tempfail",
           b"d": "discard", b"y": "replycode", b"s": "skip"}
MACRO_STAGE = {"connect": b"C", "helo": b"H", "mail": b"M", "rcpt": b"R",
               "eoh": b"N", "eom": b"E"}


class Closed(Exception):
    pass


class Milter:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=60)
        # A stage's macros and its command are two small writes: without
        # this, Nagle holds the second until the delayed ACK of the first
        # (40 ms a stage), where Postfix sends both in one write.
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proto = 0
        self.mods = []

    def send(self, cmd, data=b""):
        try:
            self.s.sendall(struct.pack("!I", len(data) + 1) + cmd + data)
        except OSError as e:
            raise Closed(str(e))

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.s.recv(n - len(buf))
            except OSError as e:
                raise Closed(str(e))
            if not chunk:
                raise Closed("EOF")
            buf += chunk
        return buf

    def recv(self):
        n = struct.unpack("!I", self.recv_exact(4))[0]
        pkt = self.recv_exact(n)
        return pkt[:1], pkt[1:]

    def negotiate(self):
        self.send(b"O", struct.pack("!III", 6, 0x1FF, 0x1FFFFF))
        cmd, data = self.recv()
        if cmd != b"O":
            raise Closed("negotiation reply %r" % cmd)
        _, _, self.proto = struct.unpack("!III", data[:12])

    def skipped(self, stage):
        return bool(self.proto & SMFIP_NR[stage][0])

    def noreply(self, stage):
        return bool(self.proto & SMFIP_NR[stage][1])

    def event(self, stage, cmd, data, macros):
        """Send a stage's macros and event; return (action, reply) or None."""
        if self.skipped(stage):
            return None
        if stage in MACRO_STAGE and macros:
            payload = b"".join(k + b"\0" + v + b"\0" for k, v in macros)
            self.send(b"D", MACRO_STAGE[stage] + payload)
        self.send(cmd, data)
        if self.noreply(stage):
            return None
        while True:
            r, d = self.recv()
            if r == b"p":  # progress: keep waiting
                continue
            if stage == "eom" and r in (b"h", b"i", b"m", b"q", b"e", b"+", b"-", b"2", b"b"):
                self.mods.append((r, d))
                continue
            action = ACTIONS.get(r, "unknown-%r" % r)
            reply = d.rstrip(b"\0").decode("latin-1") if r == b"y" else ""
            return action, reply


def parse_message(raw):
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, body = raw.rstrip(b"\r\n"), b""
    headers = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1][1] += b"\n" + line
        else:
            name, _, value = line.partition(b":")
            headers.append([name, value])
    return headers, body


def apply_mods(headers, mods):
    """Headers as the MTA delivers them after the filter's changes."""
    out = [list(h) for h in headers]
    for r, d in mods:
        if r == b"i":
            idx = struct.unpack("!I", d[:4])[0]
            name, value = d[4:].split(b"\0")[:2]
            out.insert(idx, [name, value])
        elif r == b"h":
            name, value = d.split(b"\0")[:2]
            out.append([name, value])
    return out


def many_rcpts(m, rcpt, n, mlist):
    """Send n recipients made from rcpt and print the count of each reply;
    None when at least one was accepted, else the last reply."""
    counts, last, ok = {}, None, False
    local = rcpt.strip("<>")
    if m.skipped("rcpt"):  # the filter asked not to see RCPT
        print("rcpts", n, "not sent (filter negotiated no RCPT)")
        return None
    for i in range(1, n + 1):
        r = m.event("rcpt", b"R", ("<rcpt-%d-%s>" % (i, local)).encode() + b"\0", mlist)
        r = r or ("continue", "")
        counts[r] = counts.get(r, 0) + 1
        ok = ok or r[0] == "continue"
        last = r
    for r, c in counts.items():
        print("rcpts", c, *[x for x in r if x])
    return None if ok else last


def main():
    args = sys.argv[1:]
    macros = {b"j": b"mx.outpost-e2e.test", b"{client_addr}": b"127.0.0.1",
              b"{daemon_name}": b"mx.outpost-e2e.test", b"i": b"MCQUEUEID"}
    sender, rcpt, deliver, nrcpts = "<alice@example.org>", "<bob@example.net>", None, 0
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--macro":
            k, _, v = args.pop(0).partition("=")
            macros[k.encode()] = v.encode("utf-8", "surrogateescape")
        elif opt == "--from":
            sender = args.pop(0)
        elif opt == "--rcpt":
            rcpt = args.pop(0)
        elif opt == "--deliver":
            deliver = args.pop(0)
        elif opt == "--rcpts":
            nrcpts = int(args.pop(0))
    host, port = args[0].rsplit(":", 1)
    headers, body = parse_message(open(args[1], "rb").read())
    mlist = list(macros.items())
    try:
        m = Milter(host, int(port))
    except OSError as e:
        print("connect error", e)
        return 1
    stage = "negotiate"
    final = ("closed", "")
    try:
        m.negotiate()
        lead = b" " if m.proto & LEADSPC else b""
        steps = [
            ("connect", b"C", b"client.outpost-e2e.test\0" + b"4" + struct.pack("!H", 25000)
             + b"127.0.0.1\0"),
            ("helo", b"H", b"client.outpost-e2e.test\0"),
            ("mail", b"M", sender.encode() + b"\0"),
        ]
        if nrcpts:
            steps.append(("rcpts", b"R", rcpt))
        else:
            steps.append(("rcpt", b"R", rcpt.encode() + b"\0"))
        steps += [("header", b"L", n + b"\0" + (v if lead else v.lstrip(b" \t")) + b"\0")
                  for n, v in headers]
        steps.append(("eoh", b"N", b""))
        steps += [("body", b"B", body[i:i + 65535]) for i in range(0, len(body), 65535)]
        steps.append(("eom", b"E", b""))
        final = ("continue", "")
        for stage, cmd, data in steps:
            if stage == "rcpts":
                r = many_rcpts(m, data, nrcpts, mlist)
                if r is None:
                    continue
                final = r
                break
            r = m.event(stage, cmd, data, mlist)
            if r is None:
                continue
            print(stage, *[x for x in r if x])
            if r[0] != "continue":
                final = r
                break
            if stage == "eom":
                final = r
        for r, d in m.mods:
            kind = {b"h": "addheader", b"i": "insheader", b"m": "chgheader"}.get(r, r.decode())
            if r in (b"i", b"m"):
                idx = struct.unpack("!I", d[:4])[0]
                print("mod", kind, idx, d[4:].split(b"\0")[0].decode("latin-1"))
            else:
                print("mod", kind, d.split(b"\0")[0].decode("latin-1"))
        try:
            m.send(b"Q")
        except Closed:
            pass
    except Closed:
        print(stage, "closed")
        final = ("closed", "")
    print("final", *[x for x in final if x])
    sigs = sum(1 for r, d in m.mods if r in (b"i", b"h") and
               d[4 if r == b"i" else 0:].split(b"\0")[0].lower() == b"dkim-signature")
    print("signatures", sigs)
    if deliver:
        with open(deliver, "wb") as f:
            for n, v in apply_mods(headers, m.mods):
                f.write(n + b":" + v.replace(b"\n", b"\r\n") + b"\r\n")
            f.write(b"\r\n" + body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
