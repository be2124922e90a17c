# SPDX-License-Identifier: Apache-2.0
"""tests/integration/azure: checks for test_azure_byok.sh, from outside
the tool (python3-cryptography).

  azure_byok.py body BODY PEM KTY OPS HSM ATTRS
      BODY (cmk-tool azure-key's import body) is exactly the key in PEM:
      every JWK integer base64url without padding, big-endian with no
      leading zero byte (RFC 7518 6.3), kty KTY, key_ops OPS (comma
      list), "hsm" HSM (true|false), attributes ATTRS (JSON), and no
      other member.
  azure_byok.py broken PEM OUT
      writes OUT, the key of PEM as PKCS#1 with qi off by one: every
      part parses, the key does not hold together.
  azure_byok.py opens PEM WRAPPED HEX
      WRAPPED (base64url, the vault's RSA-OAEP-256 wrapkey answer) opens
      with PEM's private key to HEX: the vault holds that key.
Exit 0 when it holds, 1 with the reason on stderr otherwise.
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64u(s, name):
    if not isinstance(s, str) or "=" in s or "+" in s or "/" in s:
        raise ValueError("%s: not base64url without padding: %r" % (name, s))
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if len(raw) > 1 and raw[0] == 0:
        raise ValueError("%s: has a leading zero byte" % name)
    return int.from_bytes(raw, "big")


def load(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def check_body(body_path, pem, kty, ops, hsm, attrs):
    with open(body_path) as f:
        body = json.load(f)
    want = {"key", "hsm", "attributes"}
    if set(body) != want:
        raise ValueError("members %s, expected %s" % (sorted(body), sorted(want)))
    jwk = body["key"]
    members = ["kty", "key_ops", "n", "e", "d", "p", "q", "dp", "dq", "qi"]
    if sorted(jwk) != sorted(members):
        raise ValueError("JWK members %s" % sorted(jwk))
    if jwk["kty"] != kty or jwk["key_ops"] != ops.split(","):
        raise ValueError("kty %r key_ops %r" % (jwk["kty"], jwk["key_ops"]))
    if body["hsm"] is not (hsm == "true"):
        raise ValueError("hsm %r" % body["hsm"])
    if body["attributes"] != json.loads(attrs):
        raise ValueError("attributes %r" % body["attributes"])
    pn = load(pem).private_numbers()
    got = {m: b64u(jwk[m], m) for m in members[2:]}
    exp = {"n": pn.public_numbers.n, "e": pn.public_numbers.e, "d": pn.d,
           "p": pn.p, "q": pn.q, "dp": pn.dmp1, "dq": pn.dmq1,
           "qi": pn.iqmp}
    for m in members[2:]:
        if got[m] != exp[m]:
            raise ValueError("JWK %s is not the key's" % m)


def der_int(v):
    raw = v.to_bytes(v.bit_length() // 8 + 1, "big")
    return b"\x02" + der_len(len(raw)) + raw


def der_len(n):
    if n < 128:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def broken(pem, out):
    pn = load(pem).private_numbers()
    ints = [0, pn.public_numbers.n, pn.public_numbers.e, pn.d, pn.p, pn.q,
            pn.dmp1, pn.dmq1, (pn.iqmp + 1) % pn.p]
    body = b"".join(der_int(v) for v in ints)
    der = b"\x30" + der_len(len(body)) + body
    b64 = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    with open(out, "w") as f:
        f.write("-----BEGIN RSA PRIVATE KEY-----\n%s\n"
                "-----END RSA PRIVATE KEY-----\n" % "\n".join(lines))


def opens(pem, wrapped, want_hex):
    raw = base64.urlsafe_b64decode(wrapped + "=" * (-len(wrapped) % 4))
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()),
                        algorithm=hashes.SHA256(), label=None)
    if load(pem).decrypt(raw, oaep).hex() != want_hex:
        raise ValueError("the wrapped key opens to other bytes")


def main(argv):
    try:
        if argv[1] == "body" and len(argv) == 8:
            check_body(*argv[2:])
        elif argv[1] == "broken" and len(argv) == 4:
            broken(*argv[2:])
        elif argv[1] == "opens" and len(argv) == 5:
            opens(*argv[2:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (ValueError, KeyError, OSError) as e:
        print("azure_byok.py %s: %s" % (argv[1], e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
