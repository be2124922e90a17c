# SPDX-License-Identifier: Apache-2.0
# KMS emulator, Google credential layer: access tokens and the endpoints
# that issue them (OAuth JWT bearer and refresh grants, metadata, STS).
"""Google access tokens for the emulator's Cloud KMS routes.

Tokens are random strings bound to a principal and an expiry on the
emulator clock. They come from the control API (gcp_token) or from:
  POST /token      grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
                   (RS256 JWT of a registered service account), or
                   grant_type=refresh_token (a registered authorized_user)
  GET  /computeMetadata/v1/instance/service-accounts/default/token
                   (Metadata-Flavor: Google)
  POST /v1/token   RFC 8693 token exchange (STS, a registered subject token)
"""

import base64
import json
import secrets
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from cred_endpoints import Response

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
KMS_SCOPES = ("https://www.googleapis.com/auth/cloudkms",
              "https://www.googleapis.com/auth/cloud-platform")
TOKEN_PATHS = ("/token", "/oauth2/v4/token")
METADATA_PREFIX = "/computeMetadata/v1/"
METADATA_TOKEN = METADATA_PREFIX + "instance/service-accounts/default/token"
METADATA_EMAIL = METADATA_PREFIX + "instance/service-accounts/default/email"
MAX_JWT_LIFETIME = 3600
SKEW = 300  # seconds of iat in the future that are tolerated


def b64url(data):
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def oauth_error(status, error, description):
    return Response(status, json.dumps({"error": error,
                                        "error_description": description}),
                    "application/json; charset=utf-8", error=error)


def token_answer(token, ttl, extra=None):
    body = {"access_token": token, "expires_in": ttl,
            "token_type": "Bearer"}
    body.update(extra or {})
    return Response(200, json.dumps(body), "application/json; charset=utf-8")


class Tokens:
    """Issues and checks access tokens (GcpState.tokens)."""

    def __init__(self, state, clock):
        self.state = state
        self.clock = clock
        self.ttl = 3600
        self.oauth = None  # OAuth, for self-signed JWTs

    def issue(self, principal, ttl=None, token=None):
        ttl = self.ttl if ttl is None else int(ttl)
        token = token or "ya29.emu-" + secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.tokens[token] = {"principal": principal,
                                        "expires": self.clock.now() + ttl}
            self.state.save()
        return token, ttl

    def principal(self, authorization):
        """The principal of a valid 'Bearer <token>', else None. A
        self-signed service-account JWT (aud https://cloudkms.googleapis.com/
        or a KMS scope) is accepted too, as Google does; Google's client
        libraries send one instead of calling the token endpoint."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        if token.count(".") == 2 and self.oauth is not None:
            return self.oauth.self_signed(token.strip())
        with self.state.lock:
            rec = self.state.tokens.get(token.strip())
        if rec is None or rec["expires"] <= self.clock.now():
            return None
        return rec["principal"]


class OAuth:
    """The token endpoints; each answers a Response and names the caller's
    principal in ex.principal."""

    def __init__(self, state, tokens, clock):
        self.state = state
        self.tokens = tokens
        self.clock = clock

    # -- POST /token ---------------------------------------------------------
    def token(self, params, host, ex):
        grant = params.get("grant_type", "")
        if grant == JWT_BEARER:
            return self._jwt_bearer(params.get("assertion", ""), host, ex)
        if grant == "refresh_token":
            return self._refresh(params, ex)
        return oauth_error(400, "unsupported_grant_type",
                           "Invalid grant_type: %s" % grant)

    def _jwt_parts(self, assertion):
        parts = assertion.split(".")
        if len(parts) != 3:
            raise ValueError("not a JWT")
        header = json.loads(b64url(parts[0]))
        claims = json.loads(b64url(parts[1]))
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise ValueError("not a JWT")
        return parts, header, claims, b64url(parts[2])

    def _jwt_bearer(self, assertion, host, ex):
        try:
            parts, header, claims, sig = self._jwt_parts(assertion)
        except (ValueError, TypeError):
            return oauth_error(400, "invalid_grant", "Invalid JWT: the "
                               "assertion is not a JWS.")
        ex.detail["jwt_header"] = header
        ex.detail["jwt_claims"] = sorted(claims)
        if header.get("alg") != "RS256":
            return oauth_error(400, "invalid_grant", "Invalid JWT: alg must "
                               "be RS256.")
        with self.state.lock:
            sa = self.state.service_accounts.get(claims.get("iss"))
        if sa is None:
            return oauth_error(400, "invalid_grant", "Invalid grant: account "
                               "not found")
        if "kid" in header and header["kid"] != sa["key_id"]:
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        key = serialization.load_pem_public_key(sa["public_key"].encode())
        try:
            key.verify(sig, (parts[0] + "." + parts[1]).encode(),
                       padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        now = self.clock.now()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                   for v in (iat, exp)) or iat > now + SKEW or exp <= now \
                or exp - iat > MAX_JWT_LIFETIME or exp <= iat:
            return oauth_error(400, "invalid_grant", "Invalid JWT: Token must "
                               "be a short-lived token (60 minutes) and in a "
                               "reasonable timeframe. Check your iat and exp "
                               "values in the JWT claim.")
        auds = {"https://oauth2.googleapis.com/token",
                "https://www.googleapis.com/oauth2/v4/token"}
        auds.update("%s://%s%s" % (s, host, p) for s in ("http", "https")
                    for p in TOKEN_PATHS)
        if claims.get("aud") not in auds:
            return oauth_error(400, "invalid_grant", "Invalid JWT: Failed "
                               "audience check.")
        scopes = str(claims.get("scope", "")).split()
        if not any(s in KMS_SCOPES for s in scopes):
            return oauth_error(400, "invalid_scope", "Invalid OAuth scope or "
                               "ID token audience provided.")
        ex.principal = claims["iss"]
        token, ttl = self.tokens.issue(claims["iss"])
        return token_answer(token, ttl)

    def self_signed(self, assertion):
        """The issuer of a valid self-signed JWT used as a bearer token."""
        try:
            parts, header, claims, sig = self._jwt_parts(assertion)
        except (ValueError, TypeError):
            return None
        with self.state.lock:
            sa = self.state.service_accounts.get(claims.get("iss"))
        if sa is None or header.get("alg") != "RS256" or (
                "kid" in header and header["kid"] != sa["key_id"]):
            return None
        key = serialization.load_pem_public_key(sa["public_key"].encode())
        try:
            key.verify(sig, (parts[0] + "." + parts[1]).encode(),
                       padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return None
        now = self.clock.now()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not all(isinstance(v, (int, float)) for v in (iat, exp)) or \
                iat > now + SKEW or exp <= now or exp - iat > 3600:
            return None
        scopes = str(claims.get("scope", "")).split()
        if claims.get("aud") not in ("https://cloudkms.googleapis.com/",
                                     "https://cloudkms.googleapis.com") \
                and not any(s in KMS_SCOPES for s in scopes):
            return None
        return claims["iss"]

    def _refresh(self, params, ex):
        with self.state.lock:
            user = self.state.authorized_users.get(
                params.get("refresh_token", ""))
        if user is None:
            # Google's words for an unknown, expired or revoked token.
            return oauth_error(400, "invalid_grant",
                               "Token has been expired or revoked.")
        if (params.get("client_id") != user["client_id"]
                or params.get("client_secret") != user["client_secret"]):
            return oauth_error(401, "invalid_client", "Unauthorized")
        ex.principal = user["principal"]
        ex.detail["client_id"] = user["client_id"]
        token, ttl = self.tokens.issue(user["principal"])
        return token_answer(token, ttl, {
            "scope": "https://www.googleapis.com/auth/cloud-platform"})

    # -- metadata server -----------------------------------------------------
    def metadata(self, method, path, headers, ex):
        flavor = {"Metadata-Flavor": "Google"}
        if headers.get("Metadata-Flavor") != "Google":
            # The metadata server's refusal (HTML on GCE; plain here).
            return Response(403, "Missing Metadata-Flavor:Google header.",
                            "text/plain", flavor, "MissingMetadataFlavor")
        with self.state.lock:
            md = dict(self.state.metadata)
        if method != "GET":
            return Response(405, "Method Not Allowed", "text/plain", flavor)
        if not md.get("enabled", True):
            return Response(404, "Not Found", "text/plain", flavor,
                            "NotFound")
        if path == METADATA_EMAIL:
            return Response(200, md["principal"], "application/text", flavor)
        if path == METADATA_PREFIX + "project/project-id":
            return Response(200, md.get("project", "emu-project"),
                            "application/text", flavor)
        if path != METADATA_TOKEN:
            return Response(404, "Not Found", "text/plain", flavor,
                            "NotFound")
        ex.principal = md["principal"]
        token, ttl = self.tokens.issue(md["principal"])
        resp = token_answer(token, ttl)
        resp.content_type = "application/json"
        resp.headers.update(flavor)
        return resp

    # -- STS (RFC 8693) --------------------------------------------------------
    def sts(self, params, ex):
        if params.get("grant_type") != TOKEN_EXCHANGE:
            return oauth_error(400, "unsupported_grant_type", "Invalid value "
                               "for \"grant_type\".")
        if params.get("requested_token_type") != ACCESS_TOKEN_TYPE:
            return oauth_error(400, "invalid_request", "Invalid value for "
                               "\"requested_token_type\".")
        for name in ("subject_token", "subject_token_type", "audience"):
            if not params.get(name):
                return oauth_error(400, "invalid_request", "Missing required "
                                   "parameter: \"%s\"." % name)
        for name in ("audience", "scope", "subject_token_type",
                     "requested_token_type"):
            ex.detail[name] = params.get(name)
        with self.state.lock:
            principal = self.state.sts_subjects.get(params["subject_token"])
        if principal is None:
            return oauth_error(400, "invalid_grant", "The provided subject "
                               "token is invalid.")
        ex.principal = principal
        token, ttl = self.tokens.issue(principal)
        return token_answer(token, ttl, {
            "issued_token_type": ACCESS_TOKEN_TYPE})


def form(body, content_type):
    if not content_type.startswith("application/x-www-form-urlencoded"):
        try:
            obj = json.loads(body or b"{}")
            if isinstance(obj, dict):
                return {k: str(v) for k, v in obj.items()}
        except ValueError:
            pass
        return {}
    return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                       keep_blank_values=True))
