#!/usr/bin/python3
"""Sign a message with dkimpy using a private key file, then verify it with
dkim.verify() against a given DKIM TXT record (no DNS involved).

usage: txt_roundtrip.py KEYFILE TXT-RECORD
Exit 0 when dkimpy verifies the signature, 1 when it does not, 77 (the
automake "skipped" code) when dkimpy or pynacl is missing.

The key file may be PEM (PKCS#1 or PKCS#8, RSA or Ed25519) or dkimpy's own
Ed25519 format (base64 of the 32-byte seed).  dkimpy signs Ed25519 only from
that seed, so a PKCS#8 Ed25519 key is turned into it here: its DER is a fixed
16-byte prefix followed by the seed (RFC 8410).
"""
import base64
import re
import sys

try:
    import dkim
    import nacl.signing  # noqa: F401  (dkimpy needs it for Ed25519)
except ImportError as e:
    print("skip: %s" % e, file=sys.stderr)
    sys.exit(77)

ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


def private_key(path, ktype):
    data = open(path, "rb").read()
    if ktype != b"ed25519" or b"-----BEGIN" not in data:
        return data
    body = re.search(rb"-----BEGIN PRIVATE KEY-----(.*?)-----END", data, re.S)
    der = base64.b64decode(b"".join(body.group(1).split()))
    if len(der) != 48 or not der.startswith(ED25519_PKCS8_PREFIX):
        sys.exit("%s: not a PKCS#8 Ed25519 key" % path)
    return base64.b64encode(der[16:])


def main():
    path, txt = sys.argv[1], sys.argv[2].encode()
    m = re.search(rb"k=\s*([a-z0-9]+)", txt)
    ktype = m.group(1) if m else b"rsa"
    alg = b"ed25519-sha256" if ktype == b"ed25519" else b"rsa-sha256"
    msg = (b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n"
           b"Subject: round trip\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
           b"Message-ID: <1@example.com>\r\n\r\nHello.\r\n")
    sig = dkim.sign(msg, b"sel", b"example.com", private_key(path, ktype),
                    signature_algorithm=alg, include_headers=[b"from", b"to", b"subject"])

    def dns(name, timeout=5):
        return txt if name == b"sel._domainkey.example.com." else None

    ok = dkim.verify(sig + msg, dnsfunc=dns)
    if not ok:
        print("dkim.verify failed for %s with %s" % (path, txt.decode()), file=sys.stderr)
    sys.exit(0 if ok else 1)


main()
