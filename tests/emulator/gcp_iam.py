# SPDX-License-Identifier: Apache-2.0
# KMS emulator, Google workload identity federation beyond STS: IAM
# Credentials generateAccessToken and a URL that serves subject tokens.
"""Service-account impersonation and URL-sourced subject tokens.

  POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken
       (GCP.GenerateAccessToken) Authorization: Bearer <token of a
       principal registered as allowed to impersonate EMAIL>, body
       {"scope": [...], "lifetime": "Ns"} -> {"accessToken", "expireTime"}
       (RFC 3339, seconds, "Z"); refusals are google.rpc.Status bodies.
  GET  /gcp-subject/NAME (GCP.SubjectToken) the subject token registered
       as NAME, only when the request carries every header registered
       with it (401 otherwise); text, or {"FIELD": token} when registered
       with a json_field.
"""

import json
import re
import time

from cred_endpoints import Response
from gcp_kms import GcpError

IAM_PREFIX = "/v1/projects/-/serviceAccounts/"
IAM_SUFFIX = ":generateAccessToken"
SUBJECT_PREFIX = "/gcp-subject/"
GET_TOKEN = "iam.serviceAccounts.getAccessToken"
LIFETIME_RE = re.compile(r"^([0-9]{1,6})s$")
MAX_LIFETIME = 43200


def expire_time(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t)))


class Federation:
    """The two routes; the impersonation and subject tables live in
    GcpState (impersonation: service account -> [principal],
    subject_urls: name -> {token, headers, json_field})."""

    def __init__(self, state, tokens, clock):
        self.state = state
        self.tokens = tokens
        self.clock = clock

    def generate_access_token(self, method, path, headers, body, ex):
        """A google.rpc.Status error raises GcpError."""
        email = path[len(IAM_PREFIX):-len(IAM_SUFFIX)]
        ex.detail["target"] = email
        if method != "POST":
            raise GcpError("NOT_FOUND", "The requested URL was not found on "
                           "this server.")
        caller = self.tokens.principal(headers.get("Authorization"))
        if caller is None:
            raise GcpError("UNAUTHENTICATED", "Request had invalid "
                           "authentication credentials.")
        ex.detail["principal"] = caller
        with self.state.lock:
            allowed = self.state.impersonation.get(email) or []
        if caller not in allowed:
            raise GcpError("PERMISSION_DENIED", "Permission '%s' denied on "
                           "resource (or it may not exist)." % GET_TOKEN)
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            raise GcpError("INVALID_ARGUMENT", "Invalid JSON payload "
                           "received.")
        if not isinstance(req, dict):
            raise GcpError("INVALID_ARGUMENT", "Invalid JSON payload "
                           "received. Expected an object.")
        ex.detail["body_members"] = sorted(req)
        scope = req.get("scope")
        if not isinstance(scope, list) or not scope or not all(
                isinstance(s, str) for s in scope):
            raise GcpError("INVALID_ARGUMENT", "Scope required.")
        ex.detail["scope"] = scope
        lifetime = 3600
        if "lifetime" in req:
            m = LIFETIME_RE.match(str(req["lifetime"]))
            if m is None or not 1 <= int(m.group(1)) <= MAX_LIFETIME:
                raise GcpError("INVALID_ARGUMENT", "Invalid lifetime.")
            lifetime = int(m.group(1))
        ex.detail["lifetime"] = lifetime
        token, _ = self.tokens.issue(email, lifetime)
        ex.principal = email
        return Response(200, json.dumps({
            "accessToken": token,
            "expireTime": expire_time(self.clock.now() + lifetime)}),
            "application/json; charset=UTF-8")

    def subject_token(self, method, path, headers, ex):
        name = path[len(SUBJECT_PREFIX):]
        with self.state.lock:
            rec = self.state.subject_urls.get(name)
        if method != "GET" or rec is None:
            return Response(404, "Not Found", error="NotFound")
        for h, v in sorted(rec.get("headers", {}).items()):
            if headers.get(h) != v:
                ex.detail["missing_header"] = h
                return Response(401, "Unauthorized", error="HeaderMismatch")
        if rec.get("json_field"):
            return Response(200, json.dumps({rec["json_field"]:
                                             rec["token"]}),
                            "application/json")
        return Response(200, rec["token"], "text/plain")
