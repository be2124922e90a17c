# SPDX-License-Identifier: Apache-2.0
# KMS emulator, credential layer: the STS AssumeRoleWithWebIdentity (and
# signed GetCallerIdentity), container-credentials and IMDSv2 endpoints.
"""Endpoints that hand out temporary credentials.

Every credential they issue is registered in the store with a session token
and an expiry on the emulator clock, so the KMS endpoint accepts it (and
answers ExpiredTokenException once it has expired).
"""

import json
import secrets
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

from sigv4 import SigV4Error

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
# The query-protocol names STS uses for the JSON services' auth errors.
STS_AUTH_ERRORS = {
    "InvalidSignatureException": (403, "SignatureDoesNotMatch"),
    "UnrecognizedClientException": (403, "InvalidClientTokenId"),
    "ExpiredTokenException": (400, "ExpiredToken"),
    "MissingAuthenticationTokenException": (403, "MissingAuthenticationToken"),
    "IncompleteSignatureException": (400, "IncompleteSignature"),
}


def iso8601(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Response:
    """An answer; error names the failure in the call log only."""

    def __init__(self, status, body=b"", content_type="text/plain",
                 headers=None, error=None):
        self.status = status
        self.error = error
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.content_type = content_type
        self.headers = headers or {}


def json_response(status, obj):
    return Response(status, json.dumps(obj), "application/json")


class CredentialSettings:
    """What the credential endpoints accept and hand out (control API)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ttl = 3600
        self.web_tokens = None  # None: any non-empty token is accepted
        self.expired_web_tokens = set()
        self.container_token = ""  # "": no Authorization needed
        self.container_role = "emu-container-role"
        self.imds_role = "emu-instance-role"
        self.imds_enabled = True


class Sts:
    """Query-protocol STS: POST / form body (or GET query), XML answers."""

    def __init__(self, store, clock, settings, authenticate):
        self.store = store
        self.clock = clock
        self.settings = settings
        self.authenticate = authenticate

    def _error(self, status, code, message, request_id, kind="Sender"):
        body = ('<ErrorResponse xmlns="%s"><Error><Type>%s</Type>'
                '<Code>%s</Code><Message>%s</Message></Error>'
                '<RequestId>%s</RequestId></ErrorResponse>'
                % (STS_NS, kind, code, escape(message), request_id))
        return Response(status, body, "text/xml", error=code)

    def handle(self, params, request, ex):
        action = params.get("Action", "")
        ex.op = action or "STS"
        if action == "AssumeRoleWithWebIdentity":
            return self.assume_role_with_web_identity(params, ex)
        if action == "GetCallerIdentity":
            return self.get_caller_identity(request, ex)
        return self._error(400, "InvalidAction", "Could not find operation "
                           "%s for version 2011-06-15" % action, ex.request_id)

    def _check_web_params(self, params, ex):
        for name in ("RoleArn", "RoleSessionName", "WebIdentityToken"):
            if not params.get(name):
                member = name[0].lower() + name[1:]
                return self._error(400, "ValidationError", "1 validation "
                                   "error detected: Value null at '%s' failed "
                                   "to satisfy constraint: Member must not be "
                                   "null" % member, ex.request_id)
        arn = params["RoleArn"]
        if not arn.startswith("arn:aws:iam::") or ":role/" not in arn:
            return self._error(400, "ValidationError", "%s is invalid" % arn,
                               ex.request_id)
        token = params["WebIdentityToken"]
        s = self.settings
        if token in s.expired_web_tokens:
            return self._error(400, "ExpiredTokenException", "Token expired: "
                               "current date/time must be before the "
                               "expiration date/time", ex.request_id)
        if s.web_tokens is not None and token not in s.web_tokens:
            return self._error(400, "InvalidIdentityToken", "The web identity "
                               "token that was passed could not be validated "
                               "by Amazon Web Services. Get a new identity "
                               "token from the identity provider and then "
                               "retry the request.", ex.request_id)
        return None

    def assume_role_with_web_identity(self, params, ex):
        err = self._check_web_params(params, ex)
        if err:
            return err
        try:
            duration = int(params.get("DurationSeconds", "3600"))
        except ValueError:
            duration = -1
        if not 900 <= duration <= 43200:
            return self._error(400, "ValidationError", "1 validation error "
                               "detected: Value '%s' at 'durationSeconds' "
                               "failed to satisfy constraint: Member must "
                               "have value between 900 and 43200"
                               % params.get("DurationSeconds"), ex.request_id)
        arn = params["RoleArn"]
        role = arn.rsplit("/", 1)[1]
        session = params["RoleSessionName"]
        ttl = min(duration, self.settings.ttl)
        cred = self.store.issue_temporary(role, ttl, self.clock.now())
        ex.access_key_id = cred.access_key_id
        account = arn.split(":")[4]
        body = (
            '<AssumeRoleWithWebIdentityResponse xmlns="%s">'
            '<AssumeRoleWithWebIdentityResult>'
            '<SubjectFromWebIdentityToken>emulator-subject'
            '</SubjectFromWebIdentityToken>'
            '<Audience>sts.amazonaws.com</Audience>'
            '<AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn>'
            '<AssumedRoleId>AROAEMULATOR:%s</AssumedRoleId></AssumedRoleUser>'
            '<Credentials><SessionToken>%s</SessionToken>'
            '<SecretAccessKey>%s</SecretAccessKey>'
            '<Expiration>%s</Expiration>'
            '<AccessKeyId>%s</AccessKeyId></Credentials>'
            '<Provider>emulator</Provider>'
            '</AssumeRoleWithWebIdentityResult>'
            '<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>'
            '</AssumeRoleWithWebIdentityResponse>'
            % (STS_NS, account, escape(role), escape(session),
               escape(session), cred.token, escape(cred.secret),
               iso8601(cred.expires), cred.access_key_id, ex.request_id))
        return Response(200, body, "text/xml")

    def get_caller_identity(self, request, ex):
        try:
            caller = self.authenticate(request, "sts", ex)
        except SigV4Error as e:
            status, code = STS_AUTH_ERRORS.get(e.code, (403, e.code))
            return self._error(status, code, e.message, ex.request_id)
        body = ('<GetCallerIdentityResponse xmlns="%s">'
                '<GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/%s</Arn>'
                '<UserId>%s</UserId><Account>%s</Account>'
                '</GetCallerIdentityResult><ResponseMetadata><RequestId>%s'
                '</RequestId></ResponseMetadata></GetCallerIdentityResponse>'
                % (STS_NS, self.store.account, escape(caller.principal),
                   caller.access_key_id, self.store.account, ex.request_id))
        return Response(200, body, "text/xml")


class ContainerCredentials:
    """GET /container/<anything>, answered as the ECS and EKS Pod Identity
    credential endpoints do."""

    def __init__(self, store, clock, settings):
        self.store = store
        self.clock = clock
        self.settings = settings

    def handle(self, headers, ex):
        ex.op = "ContainerCredentials"
        s = self.settings
        got = headers.get("Authorization", "")
        if s.container_token and not secrets.compare_digest(
                got.encode(), s.container_token.encode()):
            return json_response(401, {"code": "Unauthorized", "message":
                                       "Authorization token is invalid"})
        cred = self.store.issue_temporary(s.container_role, s.ttl,
                                          self.clock.now())
        ex.access_key_id = cred.access_key_id
        return json_response(200, {
            "AccessKeyId": cred.access_key_id,
            "SecretAccessKey": cred.secret,
            "Token": cred.token,
            "Expiration": iso8601(cred.expires),
            "RoleArn": "arn:aws:iam::%s:role/%s" % (self.store.account,
                                                    s.container_role)})


class Imds:
    """IMDSv2 only: PUT /latest/api/token, then GETs with the token."""

    CRED_PREFIX = "/latest/meta-data/iam/security-credentials/"

    def __init__(self, store, clock, settings):
        self.store = store
        self.clock = clock
        self.settings = settings
        self.tokens = {}
        self.lock = threading.Lock()

    def put_token(self, headers, ex):
        ex.op = "IMDS.Token"
        if headers.get("X-Forwarded-For"):
            return Response(403, "Forbidden")
        try:
            ttl = int(headers.get("X-aws-ec2-metadata-token-ttl-seconds", ""))
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= 21600:
            return Response(400, "Bad Request")
        token = secrets.token_urlsafe(40)
        with self.lock:
            self.tokens[token] = self.clock.now() + ttl
        return Response(200, token, "text/plain",
                        {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})

    def _token_ok(self, headers):
        token = headers.get("X-aws-ec2-metadata-token")
        with self.lock:
            expires = self.tokens.get(token or "")
        return expires is not None and expires > self.clock.now()

    def handle(self, method, path, headers, ex):
        if not self.settings.imds_enabled:
            ex.op = "IMDS"
            return Response(404, "Not Found")
        if path == "/latest/api/token":
            if method != "PUT":
                ex.op = "IMDS.Token"
                return Response(405, "Method Not Allowed")
            return self.put_token(headers, ex)
        ex.op = "IMDS.Get"
        if method != "GET":
            return Response(405, "Method Not Allowed")
        if not self._token_ok(headers):
            return Response(401, "Unauthorized")
        return self._get(path, ex)

    def _get(self, path, ex):
        role = self.settings.imds_role
        if path == "/latest/meta-data/placement/region":
            return Response(200, self.store.region)
        if path == self.CRED_PREFIX:
            ex.op = "IMDS.Role"
            return Response(200, role) if role else Response(404, "Not Found")
        if path.startswith(self.CRED_PREFIX):
            ex.op = "IMDS.Credentials"
            if not role or path[len(self.CRED_PREFIX):] != role:
                return Response(404, "Not Found")
            now = self.clock.now()
            cred = self.store.issue_temporary(role, self.settings.ttl, now)
            ex.access_key_id = cred.access_key_id
            return json_response(200, {
                "Code": "Success", "LastUpdated": iso8601(now),
                "Type": "AWS-HMAC", "AccessKeyId": cred.access_key_id,
                "SecretAccessKey": cred.secret, "Token": cred.token,
                "Expiration": iso8601(cred.expires)})
        return Response(404, "Not Found")


def form_params(query, body, content_type):
    """STS parameters from the query string and a form-encoded body."""
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if content_type.startswith("application/x-www-form-urlencoded"):
        params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                             keep_blank_values=True))
    return params
