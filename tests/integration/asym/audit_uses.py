#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# tests/integration/asym: the key-pair operations an audit file records
# as done through the KMS. Prints "sign N" and "decrypt N": the C_Sign (or
# C_SignFinal) and C_Decrypt mechanism records with CKR_OK whose request
# id is that of a kms_call record (Sign, Decrypt) for a key pair, each
# request id once.
#
#   audit_uses.py AUDIT_FILE
import json
import sys


def records(path):
    with open(path, "rb") as f:  # the writer's space ahead is NUL bytes
        for line in f.read().split(b"\n"):
            line = line.strip(b"\0").strip()
            if line:
                yield json.loads(line)


def main():
    calls = {}
    uses = []
    for r in records(sys.argv[1]):
        if r.get("event") == "kms_call" and r.get("result") == "CKR_OK" \
                and str(r.get("detail", "")).startswith("key pair "):
            calls[r.get("request_id")] = r.get("op")
        elif r.get("event") == "mechanism" and r.get("result") == "CKR_OK" \
                and r.get("op") in ("C_Sign", "C_SignFinal", "C_Decrypt"):
            uses.append((r.get("op"), r.get("request_id")))
    kind = {"C_Sign": "Sign", "C_SignFinal": "Sign", "C_Decrypt": "Decrypt"}
    seen = set()
    n = {"Sign": 0, "Decrypt": 0}
    for op, rid in uses:
        if rid and rid not in seen and calls.get(rid) == kind[op]:
            seen.add(rid)
            n[kind[op]] += 1
    print("sign %d" % n["Sign"])
    print("decrypt %d" % n["Decrypt"])


if __name__ == "__main__":
    main()
