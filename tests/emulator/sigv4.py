# SPDX-License-Identifier: Apache-2.0
# KMS emulator, signature layer: rebuilds the SigV4 canonical request from a
# request as received and checks its Authorization header (header signing
# only).
"""AWS Signature Version 4 verification for the KMS emulator.

The verifier never trusts what the client says it signed beyond the list of
signed header names: it recomputes the canonical request from the method,
path, query, header values and body it actually received.
"""

import calendar
import hashlib
import hmac
import re
import time
import urllib.parse

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you "
    "provided. Check your AWS Secret Access Key and signing method. Consult "
    "the service documentation for details.")

_AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256\s+(.*)$", re.S)
_SIG_RE = re.compile(r"^[0-9a-f]{64}$")
_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")


class SigV4Error(Exception):
    """A request that fails authentication; code is the AWS error type."""

    def __init__(self, code, message, detail=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def _quote(text, safe):
    return urllib.parse.quote(text, safe=safe, encoding="utf-8")


def normalize_path(path):
    """Remove dot segments and empty segments (RFC 3986 5.2.4, as botocore)."""
    out = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    result = "/" + "/".join(out)
    if path.endswith("/") and result != "/":
        result += "/"
    return result


def canonical_uri(raw_path, normalize=True):
    """Encode the path once more, as non-S3 services expect."""
    path = raw_path or "/"
    if normalize:
        path = normalize_path(path)
    return _quote(path, "/~")


def canonical_query(raw_query):
    """Sort decoded pairs and re-encode them with the SigV4 unreserved set."""
    if not raw_query:
        return ""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        key = _quote(urllib.parse.unquote(key), "-_.~")
        value = _quote(urllib.parse.unquote(value), "-_.~")
        pairs.append((key, value))
    pairs.sort()
    return "&".join(k + "=" + v for k, v in pairs)


def _trim(value):
    return " ".join(value.split())


def canonical_headers(headers, signed):
    """headers: (name, value) pairs in received order; signed: lower-case
    names from SignedHeaders."""
    joined = {}
    for name, value in headers:
        lname = name.lower()
        if lname in signed:
            joined.setdefault(lname, []).append(_trim(value))
    lines = []
    for lname in signed:
        if lname not in joined:
            raise SigV4Error(
                "InvalidSignatureException",
                "Signed header '%s' is missing from the request." % lname)
        lines.append(lname + ":" + ",".join(joined[lname]) + "\n")
    return "".join(lines)


def canonical_request(method, raw_path, raw_query, headers, signed, body,
                      normalize=True):
    payload = hashlib.sha256(body).hexdigest()
    return "\n".join([
        method.upper(),
        canonical_uri(raw_path, normalize),
        canonical_query(raw_query),
        canonical_headers(headers, signed),
        ";".join(signed),
        payload,
    ])


def string_to_sign(amz_date, scope, creq):
    digest = hashlib.sha256(creq.encode("utf-8")).hexdigest()
    return "\n".join([ALGORITHM, amz_date, scope, digest])


def signing_key(secret, date, region, service):
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def signature(secret, date, region, service, sts):
    key = signing_key(secret, date, region, service)
    return hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()


def access_key_hint(header):
    """The access key id named in an Authorization header, unverified (for
    logging requests that fail before authentication)."""
    match = re.search(r"Credential=([^/,\s]+)/", header or "")
    return match.group(1) if match else None


class Authorization:
    """The parsed fields of an Authorization: AWS4-HMAC-SHA256 header."""

    def __init__(self, header):
        match = _AUTH_RE.match(header.strip())
        if not match:
            raise SigV4Error(
                "IncompleteSignatureException",
                "Authorization header requires 'Credential' parameter. "
                "Authorization header requires 'Signature' parameter. "
                "Authorization header requires 'SignedHeaders' parameter. "
                "Authorization=" + header.split(" ")[0])
        fields = {}
        for item in match.group(1).split(","):
            name, _, value = item.strip().partition("=")
            fields[name] = value
        missing = [n for n in ("Credential", "SignedHeaders", "Signature")
                   if not fields.get(n)]
        if missing:
            raise SigV4Error(
                "IncompleteSignatureException",
                " ".join("Authorization header requires '%s' parameter." % n
                         for n in missing))
        cred = fields["Credential"].split("/")
        if len(cred) != 5 or cred[4] != "aws4_request":
            raise SigV4Error(
                "IncompleteSignatureException",
                "Credential must have exactly 5 slash-delimited elements, "
                "e.g. keyid/date/region/service/term, got '%s'"
                % fields["Credential"])
        self.access_key_id, self.date, self.region, self.service = cred[:4]
        self.scope = "/".join(cred[1:])
        self.signed_headers = fields["SignedHeaders"].split(";")
        self.signature = fields["Signature"]


class Verifier:
    """Checks one request; the caller supplies credentials and the clock."""

    def __init__(self, service, region, max_skew=300):
        self.service = service
        self.region = region
        self.max_skew = max_skew

    @staticmethod
    def header(headers, name):
        for hname, value in headers:
            if hname.lower() == name:
                return value.strip()
        return None

    def parse(self, headers):
        """Return (Authorization, amz_date) or raise SigV4Error."""
        auth = self.header(headers, "authorization")
        if auth is None:
            raise SigV4Error("MissingAuthenticationTokenException",
                             "Missing Authentication Token")
        parsed = Authorization(auth)
        amz_date = self.header(headers, "x-amz-date")
        if amz_date is None or not _DATE_RE.match(amz_date):
            raise SigV4Error(
                "IncompleteSignatureException",
                "Authorization header requires existence of either a "
                "'X-Amz-Date' or a 'Date' header. Authorization=" + auth)
        return parsed, amz_date

    def check_scope(self, auth, amz_date):
        if "host" not in auth.signed_headers:
            raise SigV4Error(
                "InvalidSignatureException",
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                "Authorization.")
        if auth.date != amz_date[:8]:
            raise SigV4Error(
                "InvalidSignatureException",
                "Date in Credential scope does not match YYYYMMDD from "
                "ISO-8601 version of date from HTTP: '%s' != '%s', from "
                "'%s'." % (auth.date, amz_date[:8], amz_date))
        if self.region is not None and auth.region != self.region:
            raise SigV4Error(
                "InvalidSignatureException",
                "Credential should be scoped to a valid region. ")
        if auth.service != self.service:
            raise SigV4Error(
                "InvalidSignatureException",
                "Credential should be scoped to correct service: '%s'. "
                % self.service)

    def check_time(self, amz_date, now):
        """now: POSIX seconds of the verifier's clock."""
        stamp = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))

        def fmt(t):
            return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
        if stamp < now - self.max_skew:
            raise SigV4Error(
                "InvalidSignatureException",
                "Signature expired: %s is now earlier than %s (%s - 5 min.)"
                % (amz_date, fmt(now - self.max_skew), fmt(now)))
        if stamp > now + self.max_skew:
            raise SigV4Error(
                "InvalidSignatureException",
                "Signature not yet current: %s is still later than %s "
                "(%s + 5 min.)" % (amz_date, fmt(now + self.max_skew),
                                   fmt(now)))

    def check_signature(self, request, auth, amz_date, secret,
                        normalize=True):
        """request: (method, raw_path, raw_query, headers, body)."""
        method, raw_path, raw_query, headers, body = request
        creq = canonical_request(method, raw_path, raw_query, headers,
                                 auth.signed_headers, body, normalize)
        sts = string_to_sign(amz_date, auth.scope, creq)
        expected = signature(secret, auth.date, auth.region, auth.service,
                             sts)
        if not _SIG_RE.match(auth.signature) or not hmac.compare_digest(
                expected, auth.signature):
            raise SigV4Error("InvalidSignatureException", MISMATCH_MESSAGE,
                             detail={"canonical_request": creq,
                                     "string_to_sign": sts})
        return creq, sts, expected
