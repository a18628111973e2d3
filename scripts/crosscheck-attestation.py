#!/usr/bin/env python3
"""Cross-checks a readiness attestation with code that shares nothing with ours.

Debian's python3-cryptography (OpenSSL's Ed25519) verifies the DSSE signature over PAE as the
DSSE v1.0.0 protocol defines it; the Statement's subjects are then re-hashed in a run folder.
Not needed by the tests; run by hand:

    apt-get install -y python3-cryptography
    /usr/bin/python3 scripts/crosscheck-attestation.py ATTESTATION.json PUBLIC_KEY.pem [RUN_DIR]
"""
import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key


def b64(text):
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def pae(payload_type, body):
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        env = json.load(f)
    with open(argv[2], "rb") as f:
        key = load_pem_public_key(f.read())
    if not isinstance(key, Ed25519PublicKey):
        print("not an Ed25519 public key", file=sys.stderr)
        return 2
    keyid = hashlib.sha256(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()
    body = b64(env["payload"])
    ok = False
    for sig in env["signatures"]:
        if sig.get("keyid") not in (None, "", keyid):
            continue
        try:
            key.verify(b64(sig["sig"]), pae(env["payloadType"], body))
            ok = True
        except Exception:  # InvalidSignature
            pass
    if not ok:
        print("signature: does not verify", file=sys.stderr)
        return 1
    statement = json.loads(body)
    assert env["payloadType"] == "application/vnd.in-toto+json", env["payloadType"]
    assert statement["_type"] == "https://in-toto.io/Statement/v1", statement["_type"]
    print("signature ok: key %s, %d subjects, predicate %s, gate %s" % (keyid, len(statement["subject"]), statement["predicateType"], statement["predicate"]["gate"]))
    if len(argv) == 4:
        for s in statement["subject"]:
            with open(os.path.join(argv[3], s["name"]), "rb") as f:
                actual = hashlib.sha256(f.read()).hexdigest()
            if actual != s["digest"]["sha256"]:
                print("%s: sha256 %s != attested %s" % (s["name"], actual, s["digest"]["sha256"]), file=sys.stderr)
                return 1
        print("all %d subjects match in %s" % (len(statement["subject"]), argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
