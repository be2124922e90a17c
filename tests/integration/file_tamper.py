#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# integration: an independent reader of the cmk-tool encrypted file format
# (docs/file-format.md) for test_file_crypt.sh: prints header fields,
# makes tampered copies, and decrypts a KEK-path file with a known tenant
# KEK (RFC 5649 unwrap, AES-256-GCM from python3-cryptography,
# XChaCha20-Poly1305 from libsodium through ctypes), so the format the
# tool writes is checked against the document, not against itself.
#
#   file_tamper.py field FILE NAME          print a header field
#   file_tamper.py CASE IN OUT [ARG...]     write a tampered copy of IN
#   file_tamper.py open FILE KEKFILE OUT    decrypt with the KEK
# Exit 0 done, 1 on a format error, 2 on usage.

import ctypes
import ctypes.util
import hashlib
import struct
import sys

FINAL = 0x80000000
TAG = 16


def parse(data):
    """Header fields, header length and the chunk records (offset,
    payload length, final flag) of a file, checked as a reader must."""
    if data[:4] != b"CMKF" or data[4] != 1:
        raise ValueError("bad magic or version")
    h = {"version": data[4], "path": data[5], "cipher": data[6],
         "prefix_len": data[7],
         "chunk": struct.unpack(">I", data[8:12])[0]}
    lab = data[12]
    o = 13
    h["label"] = data[o:o + lab].decode()
    o += lab
    wlen = struct.unpack(">H", data[o:o + 2])[0]
    o += 2
    h["wrapped"] = data[o:o + wlen]
    o += wlen
    h["prefix"] = data[o:o + h["prefix_len"]]
    o += h["prefix_len"]
    h["header_len"] = o
    h["hash"] = hashlib.sha256(data[:o]).digest()
    recs = []
    while o < len(data):
        v = struct.unpack(">I", data[o:o + 4])[0]
        n = v & 0x01FFFFFF
        recs.append((o, n, bool(v & FINAL)))
        o += 4 + n + TAG
    if o != len(data) or not recs or not recs[-1][2]:
        raise ValueError("records do not end with a final chunk")
    return h, recs


def rec_bytes(data, rec):
    o, n, _ = rec
    return data[o:o + 4 + n + TAG]


def tamper(case, data, args):
    h, recs = parse(data)
    body = [rec_bytes(data, r) for r in recs]
    head = bytearray(data[:h["header_len"]])

    def flip(buf, i, bit=0x01):
        buf = bytearray(buf)
        buf[i] ^= bit
        return bytes(buf)

    offsets = {"magic": 0, "version": 4, "path": 5, "cipher": 6,
               "prefix_len": 7, "chunk": 10, "label": 13,
               "wrapped": 13 + len(h["label"]) + 2 + 5,
               "prefix": h["header_len"] - 1}
    if case == "header":
        return flip(head, offsets[args[0]]) + b"".join(body)
    if case == "set-label":  # same length, another tenant's name
        new = args[0].encode()
        assert len(new) == len(h["label"])
        head[13:13 + len(new)] = new
        return bytes(head) + b"".join(body)
    i = int(args[0]) if args else 0
    if case == "chunk":
        body[i] = flip(body[i], 4)
    elif case == "tag":
        body[i] = flip(body[i], len(body[i]) - 1)
    elif case == "final-flag":  # bit 31 of the record header
        body[i] = flip(body[i], 0, 0x80)
    elif case == "drop":
        del body[i]
    elif case == "drop-last":
        del body[-1]
    elif case == "swap":
        j = int(args[1])
        body[i], body[j] = body[j], body[i]
    elif case == "splice":
        other = open(args[1], "rb").read()
        oh, orecs = parse(other)
        body[i] = rec_bytes(other, orecs[i])
    elif case == "append":
        body.append(b"\x00garbage after the end\n")
    elif case == "truncate-mid":
        body = body[:i] + [body[i][:len(body[i]) // 2]]
    elif case == "header-only":
        body = []
    elif case == "header-cut":
        return bytes(head[:h["header_len"] - 3])
    else:
        raise SystemExit("unknown case " + case)
    return bytes(head) + b"".join(body)


def xchacha_open(key, nonce, aad, sealed):
    lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    assert lib.sodium_init() >= 0
    out = ctypes.create_string_buffer(max(len(sealed), 1))
    mlen = ctypes.c_ulonglong(0)
    rc = lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
        out, ctypes.byref(mlen), None, sealed,
        ctypes.c_ulonglong(len(sealed)), aad, ctypes.c_ulonglong(len(aad)),
        nonce, key)
    if rc != 0:
        raise ValueError("XChaCha20-Poly1305 tag mismatch")
    return out.raw[:mlen.value]


def open_file(data, kek):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.keywrap import (
        aes_key_unwrap_with_padding)
    h, recs = parse(data)
    if h["path"] != 2:
        raise SystemExit("only KEK-path files open with a KEK")
    dek = aes_key_unwrap_with_padding(kek, h["wrapped"])
    out = []
    for i, (o, n, final) in enumerate(recs):
        if (n == h["chunk"]) == final:
            raise ValueError("chunk %d: length against final flag" % i)
        nonce = h["prefix"] + struct.pack(">Q", i)
        aad = h["hash"] + struct.pack(">Q", i) + bytes([1 if final else 0])
        sealed = data[o + 4:o + 4 + n + TAG]
        if h["cipher"] == 1:
            out.append(AESGCM(dek).decrypt(nonce, sealed, aad))
        else:
            out.append(xchacha_open(dek, nonce, aad, sealed))
    return b"".join(out)


def main(argv):
    if len(argv) >= 3 and argv[0] == "field":
        h, recs = parse(open(argv[1], "rb").read())
        h["chunks"] = len(recs)
        v = h[argv[2]]
        print(v.hex() if isinstance(v, bytes) else v)
        return 0
    if len(argv) == 4 and argv[0] == "open":
        data = open(argv[1], "rb").read()
        kek = open(argv[2], "rb").read()
        open(argv[3], "wb").write(open_file(data, kek))
        return 0
    if len(argv) < 3:
        print(__doc__ or "usage: see the file header", file=sys.stderr)
        return 2
    data = open(argv[1], "rb").read()
    open(argv[2], "wb").write(tamper(argv[0], data, argv[3:]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ValueError as e:
        print("file_tamper.py: %s" % e, file=sys.stderr)
        sys.exit(1)
