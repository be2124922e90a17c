#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration (aws): helpers of test_aws_rewrap.sh. Direct-path envelope
# blobs (version 2, as the module writes them for an aws tenant) made
# straight from the emulator's key store, without a KMS call per blob;
# the rewrapped lines checked the same way; ReEncrypt counted from the
# emulator's call log.
#
#   aws_rewrap.py gen STATE_DIR KEY TENANT N LINES DEKS
#       N blobs of random 32-byte DEKs sealed under KEY (a reference the
#       tenant's config names: its blobs' key id is "aws:" + KEY) with
#       the tenant's direct-path context, base64 lines into LINES, the
#       DEKs (hex) into DEKS
#   aws_rewrap.py verify STATE_DIR KEY TENANT LINES DEKS
#       the first len(DEKS) lines of LINES name KEY (key id and sealed-by
#       ARN) and open under it, with the context, to their DEKs
#   aws_rewrap.py calls STATE_DIR OP
#       "total ok throttled other" for OP in the call log
import base64
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "emulator"))
from store import Store  # noqa: E402

MAGIC = b"CMKE"
PROVIDER_AWS = 2


def context(tenant):
    # keys/cmk.c: ("tenant", label), the configured pairs, the purpose.
    return {"tenant": tenant, "cmk-pkcs11:purpose": "key"}


def store(state_dir):
    return Store("us-east-1", "111122223333",
                 os.path.join(state_dir, "state.json"))


def envelope(key_id, sealed_by, ct):
    k, s = key_id.encode(), sealed_by.encode()
    return (MAGIC + bytes([2, PROVIDER_AWS]) + struct.pack(">H", len(k)) + k
            + struct.pack(">H", len(s)) + s + struct.pack(">I", len(ct)) + ct)


def parse(blob):
    if blob[:4] != MAGIC or blob[4] != 2 or blob[5] != PROVIDER_AWS:
        raise ValueError("not a version-2 aws envelope")
    (k,) = struct.unpack(">H", blob[6:8])
    key_id = blob[8:8 + k].decode()
    (s,) = struct.unpack(">H", blob[8 + k:10 + k])
    sealed_by = blob[10 + k:10 + k + s].decode()
    (c,) = struct.unpack(">I", blob[10 + k + s:14 + k + s])
    ct = blob[14 + k + s:]
    if len(ct) != c:
        raise ValueError("ciphertext length")
    return key_id, sealed_by, ct


def gen(state_dir, ref, tenant, n, lines, deks):
    st = store(state_dir)
    key = st.resolve(ref)
    arn = st.key_arn(key.key_id)
    ctx = context(tenant)
    with open(lines, "w") as out, open(deks, "w") as dk:
        for _ in range(int(n)):
            dek = os.urandom(32)
            blob = envelope("aws:" + ref, arn, st.seal(key, dek, ctx))
            out.write(base64.b64encode(blob).decode() + "\n")
            dk.write(dek.hex() + "\n")
    return 0


def verify(state_dir, ref, tenant, lines, deks):
    st = store(state_dir)
    key = st.resolve(ref)
    arn = st.key_arn(key.key_id)
    ctx = context(tenant)
    n = 0
    with open(lines) as src, open(deks) as dk:
        for n, (line, want) in enumerate(zip(src, dk), 1):
            key_id, sealed_by, ct = parse(
                base64.b64decode(line.strip(), validate=True))
            if key_id != "aws:" + ref or sealed_by != arn:
                print("line %d: names %s (%s)" % (n, key_id, sealed_by))
                return 1
            if st.open(key, ct, ctx).hex() != want.strip():
                print("line %d: another DEK" % n)
                return 1
    print("aws_rewrap: %d blobs open under %s to their DEKs" % (n, ref))
    return 0


def calls(state_dir, op):
    total = ok = throttled = 0
    with open(os.path.join(state_dir, "calls.jsonl")) as f:
        for line in f:
            c = json.loads(line)
            if c["op"] != op:
                continue
            total += 1
            ok += c["status"] == 200
            throttled += c.get("fault") == "throttle"
    print(total, ok, throttled, total - ok - throttled)
    return 0


def main(argv):
    cmds = {"gen": (gen, 6), "verify": (verify, 5), "calls": (calls, 2)}
    if len(argv) < 2 or argv[1] not in cmds or \
            len(argv) != cmds[argv[1]][1] + 2:
        print(__doc__ or "usage: see the file's header", file=sys.stderr)
        return 2
    return cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
