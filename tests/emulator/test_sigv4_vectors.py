#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# KMS emulator tests: its SigV4 verifier against the published AWS test suite
# (header signing) and the KMS-shaped vectors, with tampered negatives.
"""Run every header-signing vector in tests/fixtures/sigv4 through the
emulator's verifier: it must rebuild the expected canonical request, string
to sign and signature from the signed request alone, accept it, and reject
the same request with one byte changed, a wrong secret or a skewed clock.

Usage: test_sigv4_vectors.py [VECTOR_DIR] (default $SIGV4_VECTORS, then
tests/fixtures/sigv4). Exit 0 pass, 1 fail, 77 skip (99 under CI=true).
"""

import calendar
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sigv4  # noqa: E402

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
STAMP = calendar.timegm(time.strptime("20150830T123600Z", "%Y%m%dT%H%M%SZ"))


def vector_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    for cand in (os.environ.get("SIGV4_VECTORS"),
                 os.path.join(HERE, "..", "fixtures", "sigv4")):
        if cand and os.path.isdir(cand):
            return cand
    return None


def read(path):
    with open(path, "rb") as f:
        return f.read()


def parse_request(data):
    """Split a vector's HTTP request into method, path, query, headers, body.

    The request line may hold raw spaces and UTF-8 (the suite writes the
    path unencoded); continuation lines fold into the previous header.
    """
    head, sep, body = data.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    first = lines[0]
    method, _, rest = first.partition(" ")
    target = rest[:rest.rindex(" HTTP/")]
    path, _, query = target.partition("?")
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
            continue
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    return method, path, query, headers, body if sep else b""


class Case:
    def __init__(self, name, signed_req, creq, sts, signature, region,
                 service, normalize, secret):
        self.name = name
        self.signed_req = signed_req
        self.creq = creq
        self.sts = sts
        self.signature = signature
        self.region = region
        self.service = service
        self.normalize = normalize
        self.secret = secret


def new_layout_cases(root):
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        ctx_path = os.path.join(d, "context.json")
        if not os.path.isfile(ctx_path):
            continue
        ctx = json.loads(read(ctx_path))
        if ctx.get("sign_body"):
            # The signer added X-Amz-Content-SHA256; it is still a header
            # signature over the same payload hash, so it applies.
            pass
        yield Case(os.path.basename(root) + "/" + name,
                   read(os.path.join(d, "header-signed-request.txt")),
                   read(os.path.join(d, "header-canonical-request.txt")),
                   read(os.path.join(d, "header-string-to-sign.txt")),
                   read(os.path.join(d, "header-signature.txt")).strip(),
                   ctx["region"], ctx["service"], ctx.get("normalize", True),
                   ctx["credentials"]["secret_access_key"])


def signed_from_req(req, creq, authz):
    """Build the signed request of a 2015-layout case from its .req: add
    the signed headers the signer adds (values from the .creq, e.g. the
    session token) and the Authorization header from the .authz file. (The
    suite's own .sreq is not used: in get-vanilla-with-session-token it
    carries a Signature that disagrees with its .authz.)"""
    head, sep, body = req.partition(b"\n\n")
    lines = head.rstrip(b"\n").split(b"\n")
    present = {line.split(b":", 1)[0].strip().lower() for line in lines[1:]}
    canon = creq.split(b"\n")[3:]
    canon = canon[:canon.index(b"")]
    for line in canon:
        name, _, value = line.partition(b":")
        if name not in present:
            lines.append(name + b":" + value)
    lines.append(b"Authorization:" + authz)
    return b"\n".join(lines) + b"\n\n" + body


def old_layout_cases(root):
    for dirpath, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if not f.endswith(".req"):
                continue
            base = os.path.join(dirpath, f[:-4])
            authz = read(base + ".authz").strip()
            sig = authz.rsplit(b"Signature=", 1)[1]
            creq = read(base + ".creq")
            yield Case("botocore/" + os.path.relpath(base, root),
                       signed_from_req(read(base + ".req"), creq, authz),
                       creq, read(base + ".sts"), sig, "us-east-1",
                       "service", True, SECRET)


def verify(case, request, secret, now):
    verifier = sigv4.Verifier(case.service, case.region)
    auth, amz_date = verifier.parse(request[3])
    verifier.check_scope(auth, amz_date)
    verifier.check_time(amz_date, now)
    return verifier.check_signature(request, auth, amz_date, secret,
                                    case.normalize)


def expect_error(case, request, secret, now, code, prefix):
    try:
        verify(case, request, secret, now)
    except sigv4.SigV4Error as e:
        if e.code == code and e.message.startswith(prefix):
            return None
        return "got %s %r" % (e.code, e.message)
    return "accepted, expected %s" % code


def tampered(request):
    method, path, query, headers, body = request
    if body:
        body = bytes([body[0] ^ 1]) + body[1:]
        return method, path, query, headers, body
    return method, path + "x", query, headers, body


def run_case(case):
    """Return a list of failure strings (empty when the case passes)."""
    req = parse_request(case.signed_req)
    fails = []
    try:
        creq, sts, sig = verify(case, req, case.secret, STAMP)
    except sigv4.SigV4Error as e:
        detail = e.detail["canonical_request"] if e.detail else ""
        return ["rejected: %s %s\n%s" % (e.code, e.message, detail)]
    if creq.encode() != case.creq:
        fails.append("canonical request differs:\n%s\n--- expected\n%s"
                     % (creq, case.creq.decode()))
    if sts.encode() != case.sts:
        fails.append("string to sign differs")
    if sig.encode() != case.signature:
        fails.append("signature differs")
    checks = [
        (tampered(req), case.secret, STAMP, "InvalidSignatureException",
         "The request signature we calculated"),
        (req, case.secret[:-1] + "X", STAMP, "InvalidSignatureException",
         "The request signature we calculated"),
        (req, case.secret, STAMP + 301, "InvalidSignatureException",
         "Signature expired: 20150830T123600Z is now earlier than "
         "20150830T123601Z (20150830T124101Z - 5 min.)"),
        (req, case.secret, STAMP - 301, "InvalidSignatureException",
         "Signature not yet current: 20150830T123600Z is still later than "
         "20150830T123559Z (20150830T123059Z + 5 min.)"),
    ]
    for request, secret, now, code, prefix in checks:
        err = expect_error(case, request, secret, now, code, prefix)
        if err:
            fails.append("negative case: " + err)
    # Within the window on both sides is accepted.
    for now in (STAMP + 300, STAMP - 300):
        try:
            verify(case, req, case.secret, now)
        except sigv4.SigV4Error as e:
            fails.append("skew %+d rejected: %s" % (now - STAMP, e.message))
    return fails


def structural_negatives():
    """Malformed Authorization headers map to the AWS error types."""
    base = [("Host", "kms.us-east-1.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z")]
    good = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/"
            "aws4_request, SignedHeaders=host;x-amz-date, Signature=" +
            "0" * 64)
    cases = [
        ([], "MissingAuthenticationTokenException"),
        ([("Authorization", "AWS4-HMAC-SHA1 Credential=x")],
         "IncompleteSignatureException"),
        ([("Authorization", good.replace(", Signature=" + "0" * 64, ""))],
         "IncompleteSignatureException"),
        ([("Authorization", good.replace("/aws4_request", ""))],
         "IncompleteSignatureException"),
        ([("Authorization", good.replace("host;", ""))],
         "InvalidSignatureException"),
        ([("Authorization", good.replace("/kms/", "/s3/"))],
         "InvalidSignatureException"),
        ([("Authorization", good.replace("us-east-1", "eu-west-1"))],
         "InvalidSignatureException"),
        ([("Authorization", good.replace("20150830/", "20150831/"))],
         "InvalidSignatureException"),
    ]
    fails = []
    verifier = sigv4.Verifier("kms", "us-east-1")
    for extra, code in cases:
        headers = base + extra
        try:
            auth, amz_date = verifier.parse(headers)
            verifier.check_scope(auth, amz_date)
            verifier.check_signature(("POST", "/", "", headers, b""), auth,
                                     amz_date, SECRET)
            fails.append("accepted %r" % extra)
        except sigv4.SigV4Error as e:
            if e.code != code:
                fails.append("%r: got %s, expected %s" % (extra, e.code, code))
    return fails


def main():
    root = vector_dir()
    if root is None:
        print("SKIP: no SigV4 vector directory (tests/fixtures/sigv4)")
        return 99 if os.environ.get("CI") == "true" else 77
    cases = []
    for sub, gen in (("aws-c-auth-v4", new_layout_cases),
                     ("kms-generated", new_layout_cases),
                     ("botocore-aws4_testsuite", old_layout_cases)):
        path = os.path.join(root, sub)
        if os.path.isdir(path):
            cases.extend(gen(path))
    if len(cases) < 40:
        print("not ok - only %d vectors found under %s" % (len(cases), root))
        return 1
    failed = 0
    for n, case in enumerate(cases, 1):
        fails = run_case(case)
        print("%s %d - %s" % ("not ok" if fails else "ok", n, case.name))
        for f in fails:
            print("#   " + f.replace("\n", "\n#   "))
        failed += bool(fails)
    fails = structural_negatives()
    print("%s %d - malformed Authorization headers"
          % ("not ok" if fails else "ok", len(cases) + 1))
    for f in fails:
        print("#   " + f)
    failed += bool(fails)
    print("# %d vectors, %d failed" % (len(cases) + 1, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
