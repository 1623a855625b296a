#!/usr/bin/python3
"""verify-dkim-keys.py RECORDS FILE... - verify the DKIM signatures of
delivered messages with dkimpy, taking the public keys from RECORDS rather
than DNS (no name server needed).

RECORDS holds one line per key: "SELECTOR._domainkey.DOMAIN TXT-DATA", as
`outpostctl --json keygen` gives the TXT data.  Each FILE is a message as
smtp-sink dumped it (LF line ends; its own trace lines are not signed).

Prints one line per FILE:
  "FILE signatures=N verified=M selectors=S1,S2 [failed=S3] [errors=...]"
(the selectors of the signatures that verified, in header order, and of
those that did not; errors says why), then
  "total messages=X signed=Y verified=Z"
where "signed" counts messages with at least one DKIM-Signature and
"verified" messages whose every signature verified.  Exit status 0 when
every FILE has at least one signature and all of them verified, 1
otherwise.
"""
import re
import sys

import dkim


def load_records(path):
    recs = {}
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if line:
                name, txt = line.split(None, 1)
                recs[name.lower().rstrip(b".")] = txt
    return recs


def main():
    recs = load_records(sys.argv[1])

    def dnsfunc(name, timeout=5):
        if isinstance(name, str):
            name = name.encode()
        return recs.get(name.lower().rstrip(b"."))

    total = signed = verified = 0
    for path in sys.argv[2:]:
        raw = open(path, "rb").read()
        msg = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        head = msg.split(b"\r\n\r\n", 1)[0]
        sigs = [l for l in re.split(rb"\r\n(?![ \t])", head)
                if l.lower().startswith(b"dkim-signature:")]
        ok, sels, bad, errs = 0, [], [], []
        try:
            d = dkim.DKIM(msg)
        except Exception as e:  # dkimpy cannot parse the message at all
            d = None
            errs.append("parse:%s" % str(e).replace(" ", "_")[:60])
        for i, sig in enumerate(sigs):
            m = re.search(rb"\bs\s*=\s*([^;\s]+)", sig)
            sel = m.group(1).decode("latin-1") if m else "?"
            try:
                if d is not None and d.verify(idx=i, dnsfunc=dnsfunc):
                    ok += 1
                    sels.append(sel)
                    continue
                errs.append("sig%d:fail" % i)
            except Exception as e:  # dkimpy raises on malformed signatures
                errs.append("sig%d:%s" % (i, str(e).replace(" ", "_")[:60]))
            bad.append(sel)
        total += 1
        signed += bool(sigs)
        verified += bool(sigs) and ok == len(sigs)
        print("%s signatures=%d verified=%d selectors=%s%s%s" % (
            path, len(sigs), ok, ",".join(sels) or "-",
            (" failed=" + ",".join(bad)) if bad else "",
            (" errors=" + ",".join(errs)) if errs else ""))
    print("total messages=%d signed=%d verified=%d" % (total, signed, verified))
    return 0 if total == verified else 1


if __name__ == "__main__":
    sys.exit(main())
