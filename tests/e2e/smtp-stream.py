#!/usr/bin/python3
"""smtp-stream.py - send a stream of numbered messages by SMTP, one per
session, from a chosen source address (smtp-source cannot bind one), and
stop at given points until the test says go on.

  smtp-stream.py [--source ADDR] [--sessions S] [--helo NAME]
                 [--pause-after N FILE]... [--only N,N,...]
                 HOST:PORT FROM RCPT MESSAGE COUNT

Sends messages 1..COUNT (or only the numbers --only lists), S sessions at
a time (default 4), each the file MESSAGE (LF or CRLF line ends) with
"X-Stream-Seq: N" put in front of it (a header no signature covers).
With --pause-after N FILE: once messages 1..N are done (every session of
them closed), prints "paused N" and waits until FILE exists; no message
after N is sent before that, so the test changes the world between two
exactly known parts of the stream.

Prints one line per message, in the order they end:
  "N accepted QUEUEID"           250 after the data ("queued as QUEUEID")
  "N refused STAGE CODE TEXT"    a 4xx/5xx at STAGE (mail, rcpt, data, end)
  "N error TEXT"                 connection trouble (nothing was accepted)
Exit status 0 (the test judges the lines), 2 on a usage error.
"""
import concurrent.futures
import os
import smtplib
import sys
import threading
import time

lock = threading.Lock()


def say(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def send(n, a):
    msg = b"X-Stream-Seq: %d\r\n" % n + a["message"]
    try:
        s = smtplib.SMTP(a["host"], a["port"], local_hostname=a["helo"], timeout=60,
                         source_address=(a["source"], 0) if a["source"] else None)
    except (OSError, smtplib.SMTPException) as e:
        say("%d error connect: %s" % (n, e))
        return
    try:
        s.ehlo()
        for stage, call in (("mail", lambda: s.mail(a["from"])),
                            ("rcpt", lambda: s.rcpt(a["rcpt"]))):
            code, text = call()
            if code >= 400:
                say("%d refused %s %d %s" % (n, stage, code, text.decode("latin-1")))
                s.rset()
                return
        code, text = s.docmd("DATA")
        if code != 354:
            say("%d refused data %d %s" % (n, code, text.decode("latin-1")))
            return
        s.send(smtplib.quotedata(msg.decode("latin-1")).encode("latin-1") + b"\r\n.\r\n")
        code, text = s.getreply()
        text = text.decode("latin-1")
        if code >= 400:
            say("%d refused end %d %s" % (n, code, text))
        elif " queued as " in text:
            say("%d accepted %s" % (n, text.split(" queued as ", 1)[1].split()[0]))
        else:
            say("%d error end %d %s" % (n, code, text))
    except (OSError, smtplib.SMTPException) as e:
        say("%d error %s" % (n, e))
    finally:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            s.close()


def main():
    args = sys.argv[1:]
    a = {"source": None, "sessions": 4, "helo": "client.outpost-e2e.test"}
    pauses = {}
    only = None
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--source":
            a["source"] = args.pop(0)
        elif opt == "--sessions":
            a["sessions"] = int(args.pop(0))
        elif opt == "--helo":
            a["helo"] = args.pop(0)
        elif opt == "--pause-after":
            n = int(args.pop(0))
            pauses[n] = args.pop(0)
        elif opt == "--only":
            only = [int(x) for x in args.pop(0).split(",") if x]
        else:
            sys.exit("smtp-stream.py: unknown option " + opt)
    if len(args) != 5:
        sys.exit(__doc__)
    hostport, a["from"], a["rcpt"], path, count = args
    a["host"], port = hostport.rsplit(":", 1)
    a["port"] = int(port)
    raw = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    a["message"] = raw
    numbers = only if only is not None else list(range(1, int(count) + 1))
    cuts = sorted(pauses) + [None]
    with concurrent.futures.ThreadPoolExecutor(a["sessions"]) as pool:
        for cut in cuts:
            part = [n for n in numbers if cut is None or n <= cut]
            numbers = [n for n in numbers if n not in part]
            list(pool.map(lambda n: send(n, a), part))
            if cut is not None:
                say("paused %d" % cut)
                while not os.path.exists(pauses[cut]):
                    time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
