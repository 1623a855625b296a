#!/usr/bin/python3
"""smtp-raw.py - send one message by SMTP exactly as given, byte for byte.

  smtp-raw.py [--hold FILE] [--rcpts N] HOST:PORT FROM RCPT MESSAGE

MESSAGE is the DATA content as it goes on the wire, without the final
".": this script sends it untouched (no line-end conversion, no dot
stuffing), so a test can send bare CR, bare LF or NUL bytes, then
"\r\n.\r\n" (or ".\r\n" when MESSAGE already ends with CRLF).  With
--rcpts N the recipient is sent N times as RCPT-<i>-<RCPT>, one RCPT TO
each.  With --hold FILE, the client sends the first half of MESSAGE,
prints "held" on stdout, and waits until FILE exists before it sends the
rest (a message kept in flight on purpose).

Prints one line per SMTP stage with the server's last reply line:
  "mail 250 2.1.0 Ok", "rcpt 250 ...", "data 354 ...", "end 250 2.0.0 Ok:
  queued as ID"; a stage refused ends the transaction ("mail 451 4.7.1 ...")
  and "closed" is printed when the server dropped the connection.
Exit status: 0 when the message was accepted (2xx after the data), 1 when
refused at any stage, 2 on a connection or usage error.
"""
import os
import socket
import sys
import time


def reply(f):
    """Read one SMTP reply; return its last line (without CRLF)."""
    last = b""
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed")
        last = line.rstrip(b"\r\n")
        if len(last) < 4 or last[3:4] != b"-":
            return last.decode("latin-1")


def main():
    args = sys.argv[1:]
    hold = None
    nrcpts = 1
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--hold":
            hold = args.pop(0)
        elif opt == "--rcpts":
            nrcpts = int(args.pop(0))
        else:
            print("usage: smtp-raw.py [--hold FILE] [--rcpts N] HOST:PORT FROM RCPT MESSAGE",
                  file=sys.stderr)
            return 2
    if len(args) != 4:
        print("usage: smtp-raw.py [--hold FILE] [--rcpts N] HOST:PORT FROM RCPT MESSAGE",
              file=sys.stderr)
        return 2
    host, port = args[0].rsplit(":", 1)
    sender, rcpt, path = args[1], args[2], args[3]
    data = open(path, "rb").read()
    s = socket.create_connection((host, int(port)), timeout=120)
    f = s.makefile("rb")

    def cmd(stage, line, ok):
        s.sendall(line + b"\r\n")
        r = reply(f)
        if stage:
            print(stage, r, flush=True)
        return r.startswith(ok)

    try:
        greeting = reply(f)
        if not greeting.startswith("220"):
            print("connect", greeting)
            return 1
        if not cmd(None, b"EHLO client.outpost-e2e.test", "250"):
            return 1
        if not cmd("mail", b"MAIL FROM:<" + sender.encode() + b">", "250"):
            return 1
        accepted = 0
        for i in range(nrcpts):
            r = rcpt if nrcpts == 1 else "RCPT-%d-%s" % (i, rcpt)
            s.sendall(b"RCPT TO:<" + r.encode() + b">\r\n")
            line = reply(f)
            if line.startswith("250"):
                accepted += 1
            if nrcpts == 1 or not line.startswith("250"):
                print("rcpt", line, flush=True)
        if nrcpts > 1:
            print("rcpts accepted %d of %d" % (accepted, nrcpts), flush=True)
        if accepted == 0:
            return 1
        if not cmd("data", b"DATA", "354"):
            return 1
        if hold is not None:
            half = len(data) // 2
            s.sendall(data[:half])
            data = data[half:]
            print("held", flush=True)
            while not os.path.exists(hold):
                time.sleep(0.05)
        end = b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n"
        s.sendall(data + end)
        r = reply(f)
        print("end", r, flush=True)
        try:
            cmd(None, b"QUIT", "221")
        except (EOFError, OSError):
            pass
        return 0 if r.startswith("2") else 1
    except EOFError:
        print("closed", flush=True)
        return 1
    except OSError as e:
        print("error", e, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
