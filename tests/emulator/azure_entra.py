# SPDX-License-Identifier: Apache-2.0
# KMS emulator, Azure credential layer: Entra ID access tokens and the
# endpoints that issue them (client credentials, IMDS, App Service).
"""Microsoft Entra ID tokens for the emulator's Key Vault routes.

Tokens are random strings bound to a principal (a client id), a resource
(https://vault.azure.net or https://managedhsm.azure.net), a tenant and an
expiry on the emulator clock. They come from the control API
(azure_token) or from:
  POST /<tenant>/oauth2/v2.0/token   client_credentials with client_secret,
        or client_assertion (an RS256/PS256 JWT signed with a registered
        certificate, or a registered federated token: workload identity);
        scope <resource>/.default
  GET  /<tenant>/v2.0/.well-known/openid-configuration  (what MSAL reads)
  GET  /metadata/identity/oauth2/token  IMDS (Metadata: true)
  GET  /msi/token  App Service (X-IDENTITY-HEADER)
Errors are Entra's JSON ({"error", "error_description", "error_codes",
...}); the AADSTS numbers follow Entra's published list where one fits.
"""

import base64
import hashlib
import json
import re
import secrets
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from azure_kv import AZ_JSON, RESOURCES
from cred_endpoints import Response

TOKEN_RE = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
OPENID_RE = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
IMDS_PATH = "/metadata/identity/oauth2/token"
APP_SERVICE_PATH = "/msi/token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SKEW = 300
MAX_ASSERTION_LIFETIME = 3600 * 24


def b64url_decode(data):
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def entra_error(status, error, code, description, ex=None):
    """An Entra error answer; code is the AADSTS number."""
    body = {"error": error,
            "error_description": "AADSTS%d: %s" % (code, description),
            "error_codes": [code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
            "error_uri": "https://login.microsoftonline.com/error?code=%d"
                         % code}
    if ex is not None:
        ex.detail["aadsts"] = code
    return Response(status, json.dumps(body), AZ_JSON, error=error)


def thumbprints(pem):
    """(x5t, x5t#S256) of a PEM certificate, base64url."""
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(
        serialization.Encoding.DER)
    enc = base64.urlsafe_b64encode
    return (enc(hashlib.sha1(der).digest()).rstrip(b"=").decode(),
            enc(hashlib.sha256(der).digest()).rstrip(b"=").decode())


class AzTokens:
    """Issues and checks access tokens (AzState.tokens)."""

    def __init__(self, state, clock):
        self.state = state
        self.clock = clock

    def issue(self, principal, resource, tenant, ttl=None, token=None):
        ttl = int(self.state.settings["token_ttl"] if ttl is None else ttl)
        token = token or "eyJ0eXAiOiJKV1Qi.emu-" + secrets.token_urlsafe(32)
        with self.state.lock:
            self.state.tokens[token] = {
                "principal": principal, "resource": resource,
                "tenant": tenant, "expires": self.clock.now() + ttl}
            self.state.save()
        return token, ttl

    def lookup(self, token):
        with self.state.lock:
            rec = self.state.tokens.get(token)
        return None if rec is None else dict(rec)


def resource_of_scope(scope):
    """The resource of a "<resource>/.default" scope, or None."""
    for s in (scope or "").split():
        if s.endswith("/.default"):
            res = s[:-len("/.default")]
            if res.rstrip("/") in RESOURCES.values():
                return res.rstrip("/")
    return None


class Entra:
    """The token endpoints; each answers a Response and names the caller
    in ex.detail["principal"]."""

    def __init__(self, state, tokens, clock):
        self.state = state
        self.tokens = tokens
        self.clock = clock
        self.seen_jti = set()

    # -- openid configuration ----------------------------------------------
    def openid(self, tenant, host, scheme):
        base = "%s://%s/%s" % (scheme, host, tenant)
        body = {"token_endpoint": base + "/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post", "private_key_jwt",
                    "client_secret_basic"],
                "jwks_uri": "%s://%s/%s/discovery/v2.0/keys"
                            % (scheme, host, tenant),
                "response_modes_supported": ["query", "fragment",
                                             "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token",
                                             "code id_token",
                                             "id_token token"],
                "scopes_supported": ["openid", "profile", "email",
                                     "offline_access"],
                "issuer": "%s://%s/%s/v2.0" % (scheme, host, tenant),
                "request_uri_parameter_supported": False,
                "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                "device_authorization_endpoint":
                    base + "/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": base + "/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat",
                                     "nbf", "tid"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com"}
        return Response(200, json.dumps(body), AZ_JSON)

    # -- POST /<tenant>/oauth2/v2.0/token -----------------------------------
    def token(self, tenant, params, endpoint_url, ex):
        ex.detail["body_members"] = sorted(params)
        for name in ("grant_type", "client_id", "scope",
                     "client_assertion_type", "claims"):
            if name in params:
                ex.detail[name] = params[name]
        if params.get("grant_type") != "client_credentials":
            return entra_error(400, "unsupported_grant_type", 70003,
                               "The app requested an unsupported grant "
                               "type '%s'." % params.get("grant_type"), ex)
        client_id = params.get("client_id", "")
        with self.state.lock:
            known_tenant = any(v["tenant"] == tenant
                               for v in self.state.vaults.values()) or any(
                p["tenant"] == tenant
                for p in self.state.principals.values())
            app = self.state.principals.get(client_id)
        if not known_tenant:
            return entra_error(400, "invalid_request", 90002, "Tenant '%s' "
                               "not found." % tenant, ex)
        if app is None or app["tenant"] != tenant:
            return entra_error(400, "unauthorized_client", 700016,
                               "Application with identifier '%s' was not "
                               "found in the directory '%s'."
                               % (client_id, tenant), ex)
        resource = resource_of_scope(params.get("scope"))
        if resource is None:
            return entra_error(400, "invalid_scope", 1002012, "The provided "
                               "value for scope %s is not valid. Client "
                               "credential flows must have a scope value "
                               "with /.default suffixed to the resource "
                               "identifier (application ID URI)."
                               % params.get("scope"), ex)
        refusal = self._client_auth(app, client_id, params, endpoint_url,
                                    ex)
        if refusal is not None:
            return refusal
        ex.detail["principal"] = client_id
        token, ttl = self.tokens.issue(client_id, resource, tenant)
        return Response(200, json.dumps({
            "token_type": "Bearer", "expires_in": ttl,
            "ext_expires_in": ttl, "access_token": token}), AZ_JSON)

    def _client_auth(self, app, client_id, params, endpoint_url, ex):
        """None when the client proved who it is, else the refusal."""
        if "client_secret" in params:
            ex.detail["client_auth"] = "secret"
            if app.get("secret") is None or not secrets.compare_digest(
                    params["client_secret"].encode(),
                    app["secret"].encode()):
                return entra_error(401, "invalid_client", 7000215,
                                   "Invalid client secret provided. Ensure "
                                   "the secret being sent in the request is "
                                   "the client secret value, not the client "
                                   "secret ID, for a secret added to app "
                                   "'%s'." % client_id, ex)
            return None
        assertion = params.get("client_assertion")
        if assertion is None:
            return entra_error(401, "invalid_client", 7000218, "The request "
                               "body must contain the following parameter: "
                               "'client_assertion' or 'client_secret'.", ex)
        if params.get("client_assertion_type") != JWT_BEARER:
            return entra_error(400, "invalid_request", 50027, "Invalid "
                               "client_assertion_type.", ex)
        if assertion in (app.get("federated") or []):
            ex.detail["client_auth"] = "federated"
            return None
        ex.detail["client_auth"] = "certificate"
        return self._check_assertion(app, client_id, assertion,
                                     endpoint_url, ex)

    def _check_assertion(self, app, client_id, assertion, endpoint_url, ex):
        try:
            h64, c64, s64 = assertion.split(".")
            header = json.loads(b64url_decode(h64))
            claims = json.loads(b64url_decode(c64))
            sig = b64url_decode(s64)
            if not isinstance(header, dict) or not isinstance(claims, dict):
                raise ValueError("not objects")
        except (ValueError, TypeError):
            return entra_error(401, "invalid_client", 50027, "JWT token is "
                               "invalid or malformed.", ex)
        ex.detail["jwt_header"] = header
        ex.detail["jwt_claims"] = sorted(claims)
        alg = header.get("alg")
        if alg not in ("RS256", "PS256"):
            return entra_error(401, "invalid_client", 5002738, "Invalid JWT "
                               "token. '%s' is not a supported signature "
                               "algorithm." % alg, ex)
        cert = self._certificate(app, header)
        if cert is None:
            return entra_error(401, "invalid_client", 700027, "The "
                               "certificate with identifier used to sign "
                               "the client assertion is not registered on "
                               "application.", ex)
        pad = padding.PKCS1v15() if alg == "RS256" else padding.PSS(
            padding.MGF1(hashes.SHA256()), 32)
        try:
            cert.public_key().verify(sig, (h64 + "." + c64).encode(), pad,
                                     hashes.SHA256())
        except InvalidSignature:
            return entra_error(401, "invalid_client", 700027, "Client "
                               "assertion failed signature validation.", ex)
        return self._check_claims(client_id, claims, endpoint_url, ex)

    @staticmethod
    def _certificate(app, header):
        for c in app.get("certificates") or []:
            if header.get("x5t#S256") == c["x5t_s256"] or (
                    "x5t#S256" not in header and
                    header.get("x5t") == c["x5t"]):
                return x509.load_pem_x509_certificate(c["pem"].encode())
        return None

    def _check_claims(self, client_id, claims, endpoint_url, ex):
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return entra_error(401, "invalid_client", 700021, "Client "
                               "assertion application identifier doesn't "
                               "match 'client_id' parameter.", ex)
        if claims.get("aud") != endpoint_url:
            return entra_error(401, "invalid_client", 700212, "The audience "
                               "'%s' of the client assertion does not match "
                               "the token endpoint '%s'."
                               % (claims.get("aud"), endpoint_url), ex)
        now = self.clock.now()
        nbf, exp = claims.get("nbf", claims.get("iat")), claims.get("exp")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                   for v in (nbf, exp)) or nbf > now + SKEW or \
                exp <= now or exp - nbf > MAX_ASSERTION_LIFETIME:
            return entra_error(401, "invalid_client", 700024, "Client "
                               "assertion is not within its valid time "
                               "range.", ex)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            return entra_error(401, "invalid_client", 50027, "JWT token is "
                               "invalid or malformed: jti is missing.", ex)
        if jti in self.seen_jti:
            return entra_error(401, "invalid_client", 50027, "JWT token is "
                               "invalid or malformed: its jti was used "
                               "before.", ex)
        self.seen_jti.add(jti)
        return None

    # -- managed identity ----------------------------------------------------
    def _identity(self, query):
        """(principal, how) of the identity a managed-identity request
        names, or (None, reason)."""
        ids = self.state.identities
        for param in ("client_id", "object_id", "msi_res_id", "mi_res_id",
                      "principal_id"):
            if param in query:
                key = {"mi_res_id": "msi_res_id",
                       "principal_id": "object_id"}.get(param, param)
                for ident in ids["user"]:
                    if ident.get(key) == query[param]:
                        return ident["client_id"], param
                return None, "Identity not found"
        if ids["system"] is None:
            return None, "No system-assigned identity"
        return ids["system"]["client_id"], "system"

    def _mi_token(self, query, ex):
        resource = (query.get("resource") or "").rstrip("/")
        if resource.endswith("/.default"):
            resource = resource[:-len("/.default")]
        ex.detail["resource"] = query.get("resource")
        if resource not in RESOURCES.values():
            return None, entra_error(400, "invalid_resource", 500011,
                                     "The resource principal named %s was "
                                     "not found in the tenant."
                                     % query.get("resource"), ex)
        principal, how = self._identity(query)
        ex.detail["identity"] = how
        if principal is None:
            return None, Response(400, json.dumps({
                "error": "invalid_request", "error_description": how}),
                "application/json; charset=utf-8", error="invalid_request")
        with self.state.lock:
            app = self.state.principals.get(principal) or {}
        ex.detail["principal"] = principal
        token, ttl = self.tokens.issue(principal, resource,
                                       app.get("tenant"))
        now = int(self.clock.now())
        return {"access_token": token, "client_id": principal,
                "expires_in": str(ttl), "expires_on": str(now + ttl),
                "ext_expires_in": str(ttl), "not_before": str(now),
                "resource": query.get("resource"),
                "token_type": "Bearer"}, None

    def imds(self, method, query, headers, ex):
        if not self.state.identities.get("imds_enabled", True):
            return Response(404, "Not Found", error="NotFound")
        if method != "GET":
            return Response(405, "Method Not Allowed")
        ex.detail["metadata_header"] = headers.get("Metadata")
        if headers.get("Metadata") != "true":
            return Response(400, json.dumps({
                "error": "invalid_request",
                "error_description": "Required metadata header not "
                                     "specified"}),
                "application/json; charset=utf-8", error="invalid_request")
        ex.detail["api_version"] = query.get("api-version")
        if query.get("api-version") != "2018-02-01":
            return Response(400, json.dumps({
                "error": "invalid_request",
                "error_description": "Required query variable 'api-version' "
                                     "is missing or not supported"}),
                "application/json; charset=utf-8", error="invalid_request")
        answer, refusal = self._mi_token(query, ex)
        if refusal is not None:
            return refusal
        return Response(200, json.dumps(answer),
                        "application/json; charset=utf-8")

    def app_service(self, method, query, headers, ex):
        secret = self.state.identities.get("app_service_header")
        if method != "GET":
            return Response(405, "Method Not Allowed")
        sent = headers.get("X-IDENTITY-HEADER")
        ex.detail["identity_header"] = sent is not None
        if secret is None or sent is None or not secrets.compare_digest(
                sent.encode(), secret.encode()):
            return Response(401, json.dumps({
                "statusCode": 401,
                "message": "The X-IDENTITY-HEADER is missing or wrong."}),
                "application/json; charset=utf-8", error="Unauthorized")
        ex.detail["api_version"] = query.get("api-version")
        if query.get("api-version") != "2019-08-01":
            return Response(400, json.dumps({
                "statusCode": 400,
                "message": "api-version must be 2019-08-01"}),
                "application/json; charset=utf-8", error="BadRequest")
        answer, refusal = self._mi_token(query, ex)
        if refusal is not None:
            return refusal
        for name in ("expires_in", "ext_expires_in", "not_before"):
            answer.pop(name)
        return Response(200, json.dumps(answer),
                        "application/json; charset=utf-8")


def form(body):
    return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                       keep_blank_values=True))
