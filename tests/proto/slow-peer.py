#!/usr/bin/python3
"""slow-peer.py - the slow or silent peers of outpost's worker tests.

  slow-peer.py mta SOCKET   three MTA connections to outpost's unix SOCKET:
      "silent"   connects and sends nothing;
      "half"     negotiates, then sends half of a packet and stops;
      "slow"     negotiates, then sends a macro packet (which wants no reply)
                 every 0.4 s for 3 s, then QUIT.
    Prints, for each, "NAME closed-by-outpost AFTER_S" when outpost ended the
    connection (AFTER_S: seconds since it last sent something) or "NAME
    open" when it was still open at the end (after 6 s at most).

  slow-peer.py redis PORT DIR   a Redis server that never answers: on
    127.0.0.1:PORT it accepts connections and reads; the first command it
    gets creates DIR/redis-got; once DIR/redis-release exists (or after
    30 s) it closes every connection.  Runs until killed.
"""
import os
import select
import socket
import struct
import sys
import time

SMFIC_OPTNEG, SMFIC_MACRO, SMFIC_QUIT = b"O", b"D", b"Q"


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def negotiate(s):
    s.sendall(packet(SMFIC_OPTNEG, struct.pack("!III", 6, 0x1FF, 0x1FFFFF)))
    head = s.recv(4, socket.MSG_WAITALL)
    (n,) = struct.unpack("!I", head)
    s.recv(n, socket.MSG_WAITALL)


def closed(s):
    """True when outpost has closed s (EOF or reset), without waiting."""
    try:
        return s.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def mta(path):
    conns = {}
    for name in ("silent", "half", "slow"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        conns[name] = s
    negotiate(conns["half"])
    negotiate(conns["slow"])
    conns["half"].sendall(packet(SMFIC_MACRO, b"Cj\0mta.example\0")[:7])
    last = {name: time.monotonic() for name in conns}
    result = {}
    start = time.monotonic()
    next_macro = start
    while time.monotonic() - start < 6 and len(result) < len(conns):
        now = time.monotonic()
        if "slow" not in result and now >= next_macro:
            if now - start < 3:
                conns["slow"].sendall(packet(SMFIC_MACRO, b"Cj\0mta.example\0"))
            else:
                conns["slow"].sendall(packet(SMFIC_QUIT))
                result["slow"] = "open"
            last["slow"] = now
            next_macro = now + 0.4
        for name, s in conns.items():
            if name not in result and closed(s):
                result[name] = "closed-by-outpost %.1f" % (now - last[name])
        time.sleep(0.05)
    for name in conns:
        print(name, result.get(name, "open"))
        conns[name].close()


def redis(port, d):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(64)
    clients = []
    start = time.monotonic()
    while True:
        release = os.path.exists(os.path.join(d, "redis-release")) or \
            time.monotonic() - start > 30
        if release:
            for c in clients:
                c.close()
            clients = []
        r, _, _ = select.select([lsock] + clients, [], [], 0.05)
        for s in r:
            if s is lsock:
                clients.append(lsock.accept()[0])
            elif s.recv(65536):
                open(os.path.join(d, "redis-got"), "a").close()
            else:
                clients.remove(s)
                s.close()


if __name__ == "__main__":
    if sys.argv[1] == "mta":
        mta(sys.argv[2])
    else:
        redis(int(sys.argv[2]), sys.argv[3])
