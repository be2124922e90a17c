# SPDX-License-Identifier: Apache-2.0
# KMS emulator, Google Cloud KMS front end: routes /v1/... requests to
# gcp_kms after the bearer token and the IAM map, and adds the control calls.
"""Routes of the Google Cloud KMS REST v1 emulation.

op names (call log, faults' for_ops; "GCP.*" matches them all):
  GCP.Encrypt, GCP.Decrypt, GCP.GetCryptoKey, GCP.GetCryptoKeyVersion,
  GCP.GetPublicKey, GCP.AsymmetricSign, GCP.AsymmetricDecrypt,
  GCP.CreateKeyRing, GCP.CreateCryptoKey, GCP.CreateCryptoKeyVersion,
  GCP.UpdateCryptoKeyVersion, GCP.DestroyCryptoKeyVersion,
  GCP.UpdateCryptoKeyPrimaryVersion, and for tokens GCP.Token,
  GCP.Metadata, GCP.STS, GCP.GenerateAccessToken, GCP.SubjectToken.
"""

import json
import re
import urllib.parse

from cred_endpoints import Response, json_response
from crc32c import crc32c  # noqa: F401 (re-exported for tests)
from gcp_kms import (GcpError, GcpKms, GcpState, NAME_RE, PERMISSION,
                     enums_as_ints, enums_from_ints, wants_int_enums)
import gcp_asym
from gcp_iam import Federation, IAM_PREFIX, IAM_SUFFIX, SUBJECT_PREFIX
from gcp_oauth import METADATA_PREFIX, OAuth, TOKEN_PATHS, Tokens, form

GCP_JSON = "application/json; charset=UTF-8"
UNAUTHENTICATED = ("Request had invalid authentication credentials. Expected "
                   "OAuth 2 access token, login cookie or other valid "
                   "authentication credential. See https://developers."
                   "google.com/identity/sign-in/web/devconsole-project.")
MISSING_AUTH = ("Request is missing required authentication credential. "
                "Expected OAuth 2 access token, login cookie or other valid "
                "authentication credential. See https://developers.google."
                "com/identity/sign-in/web/devconsole-project.")
# op -> (HTTP method, name suffix or None, permission)
ACTIONS = {":encrypt": ("GCP.Encrypt", "encrypt"),
           ":decrypt": ("GCP.Decrypt", "decrypt"),
           ":asymmetricSign": ("GCP.AsymmetricSign", "sign"),
           ":asymmetricDecrypt": ("GCP.AsymmetricDecrypt", "decrypt"),
           ":destroy": ("GCP.DestroyCryptoKeyVersion", "admin"),
           ":updatePrimaryVersion": ("GCP.UpdateCryptoKeyPrimaryVersion",
                                     "admin")}


def classify(method, path):
    """(endpoint, op) for a Google path, or None."""
    if path.startswith(METADATA_PREFIX):
        return "gcp-oauth", "GCP.Metadata"
    if path in TOKEN_PATHS:
        return "gcp-oauth", "GCP.Token"
    if path == "/v1/token":
        return "gcp-oauth", "GCP.STS"
    if path.startswith(IAM_PREFIX) and path.endswith(IAM_SUFFIX):
        return "gcp-oauth", "GCP.GenerateAccessToken"
    if path.startswith(SUBJECT_PREFIX):
        return "gcp-oauth", "GCP.SubjectToken"
    if not path.startswith("/v1/projects/"):
        return None
    name, action = split_name(path)
    if action:
        op = ACTIONS.get(action, ("GCP.Unknown", None))[0]
    elif method == "GET" and name.endswith("/publicKey"):
        op = "GCP.GetPublicKey"
    elif method == "GET":
        op = ("GCP.GetCryptoKeyVersion" if "/cryptoKeyVersions/" in name
              else "GCP.GetCryptoKey")
    elif method == "PATCH":
        op = "GCP.UpdateCryptoKeyVersion"
    elif name.endswith("/cryptoKeyVersions"):
        op = "GCP.CreateCryptoKeyVersion"
    elif name.endswith("/cryptoKeys"):
        op = "GCP.CreateCryptoKey"
    elif name.endswith("/keyRings"):
        op = "GCP.CreateKeyRing"
    else:
        op = "GCP.Unknown"
    return "gcp", op


def split_name(path):
    """('projects/...', ':action' or '') of a /v1/ path."""
    name = urllib.parse.unquote(path[len("/v1/"):])
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        base, _, action = name.rpartition(":")
        return base, ":" + action
    return name, ""


B64_STD = re.compile(r"^(?:[A-Za-z0-9+/]{4})*"
                     r"(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
B64_URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
DECIMAL = re.compile(r"^(?:0|[1-9][0-9]*)$")


def encoding(value):
    """How a request member is written, for the call log (comparing
    clients): "decimal-string" (an int64 as proto3 JSON writes it),
    "base64" (standard alphabet, padded to a multiple of 4),
    "base64url" (URL-safe alphabet), "base64-unpadded", "string", or the
    JSON type ("number", "bool", "object", "array", "null")."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    if DECIMAL.match(value):
        return "decimal-string"
    if B64_STD.match(value):
        return "base64"
    if B64_URL.match(value) and re.search(r"[-_]", value):
        return "base64url"
    if re.match(r"^[A-Za-z0-9+/]+$", value):
        return "base64-unpadded"
    return "string"


def gcp_error(err, ex):
    ex.error = err.status
    return Response(err.http, err.body(), GCP_JSON)


class GcpApi:
    """Bearer token, IAM, then the operation."""

    def __init__(self, state_path, clock):
        self.state = GcpState(state_path)
        self.clock = clock
        self.kms = GcpKms(self.state, clock)
        self.tokens = Tokens(self.state, clock)
        self.oauth = OAuth(self.state, self.tokens, clock)
        self.tokens.oauth = self.oauth
        self.federation = Federation(self.state, self.tokens, clock)

    def allowed(self, principal, resource, permission):
        with self.state.lock:
            bindings = self.state.iam.get(principal) or {}
        for res, perms in bindings.items():
            if res == "*" or resource == res or resource.startswith(
                    res + "/"):
                if permission in perms or "*" in perms:
                    return True
        return False

    def handle(self, op, request, headers, ex):
        method, path, query, _, body = request
        ex.detail = {"method": method, "path": path, "query": query,
                     "principal": None}
        for h in ("x-goog-request-params", "x-goog-api-client"):
            if headers.get(h) is not None:
                ex.detail[h.replace("-", "_")] = headers.get(h)
        if op == "GCP.Token":
            return self.oauth_call(self.oauth.token, form(
                body, headers.get("Content-Type", "")), method, ex,
                headers.get("Host", ""))
        if op == "GCP.STS":
            return self.oauth_call(self.oauth.sts, form(
                body, headers.get("Content-Type", "")), method, ex)
        if op == "GCP.GenerateAccessToken":
            try:
                return self.federation.generate_access_token(
                    method, path, headers, body, ex)
            except GcpError as e:
                return gcp_error(e, ex)
        if op == "GCP.SubjectToken":
            return self.federation.subject_token(method, path, headers, ex)
        if op == "GCP.Metadata":
            ex.principal = None
            resp = self.oauth.metadata(method, path, headers, ex)
            ex.detail["principal"] = ex.principal
            return resp
        try:
            result = self.kms_call(op, request, headers, ex)
        except GcpError as e:
            return gcp_error(e, ex)
        if wants_int_enums(query):
            result = enums_as_ints(result)
        return Response(200, json.dumps(result), GCP_JSON)

    def oauth_call(self, fn, params, method, ex, *args):
        ex.principal = None
        ex.detail["body_members"] = sorted(params)
        if method != "POST":
            return Response(405, "Method Not Allowed", "text/plain")
        resp = fn(params, *args, ex) if args else fn(params, ex)
        ex.detail["principal"] = ex.principal
        return resp

    def kms_call(self, op, request, headers, ex):
        method, path, query, _, raw = request
        auth = headers.get("Authorization") or ""
        ex.detail["content_type"] = headers.get("Content-Type")
        ex.detail["auth_scheme"] = auth.partition(" ")[0] or None
        principal = self.tokens.principal(headers.get("Authorization"))
        if principal is None:
            raise GcpError("UNAUTHENTICATED", UNAUTHENTICATED
                           if headers.get("Authorization") else MISSING_AUTH)
        ex.detail["principal"] = principal
        ex.detail["bearer"] = ("self-signed-jwt" if headers.get(
            "Authorization", "").count(".") == 2 else "access-token")
        name, action = split_name(path)
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise GcpError("INVALID_ARGUMENT", "Invalid JSON payload "
                           "received. Unexpected token.")
        if body == "":
            # What the Node client (gax fallback) sends for an empty
            # message, e.g. createCryptoKeyVersion's cryptoKeyVersion {}.
            body = {}
        if not isinstance(body, dict):
            raise GcpError("INVALID_ARGUMENT", "Invalid JSON payload "
                           "received. Expected an object.")
        ex.detail["body_members"] = sorted(body)
        ex.detail["member_encodings"] = {k: encoding(v)
                                         for k, v in body.items()}
        # int64 CRC32C members as sent (proto3 JSON: strings).
        ex.detail["crc32c_members"] = {k: v for k, v in body.items()
                                       if k.endswith("Crc32c")}
        body = enums_from_ints(body)
        if op == "GCP.GetPublicKey":
            name = name[:-len("/publicKey")]
        resource = name.rsplit("/cryptoKeyVersions", 1)[0]
        for suffix in ("/cryptoKeys", "/keyRings"):
            if resource.endswith(suffix):
                resource = resource[:-len(suffix)]
        ex.key_id = ex.request_key_id = name
        if not NAME_RE.match(resource):
            raise GcpError("INVALID_ARGUMENT", "Resource name [%s] is not "
                           "valid." % name)
        perm = {"GCP.Encrypt": "encrypt", "GCP.Decrypt": "decrypt",
                "GCP.AsymmetricSign": "sign",
                "GCP.AsymmetricDecrypt": "decrypt",
                "GCP.GetPublicKey": "public_key",
                "GCP.GetCryptoKey": "get",
                "GCP.GetCryptoKeyVersion": "get"}.get(op, "admin")
        if not self.allowed(principal, resource, perm):
            raise GcpError("PERMISSION_DENIED", "Permission '%s' denied on "
                           "resource '%s' (or it may not exist)."
                           % (PERMISSION[perm], resource))
        return self.operation(op, method, name, params, body)

    def operation(self, op, method, name, params, body):
        kms = self.kms
        want = {"GCP.CreateKeyRing": "POST", "GCP.CreateCryptoKey": "POST",
                "GCP.CreateCryptoKeyVersion": "POST",
                "GCP.UpdateCryptoKeyVersion": "PATCH",
                "GCP.GetCryptoKey": "GET", "GCP.GetCryptoKeyVersion": "GET",
                "GCP.GetPublicKey": "GET"}
        if op == "GCP.Unknown" or method != want.get(op, "POST"):
            raise GcpError("NOT_FOUND", "The requested URL was not found on "
                           "this server.")
        if op == "GCP.Encrypt":
            return kms.encrypt(name, body)
        if op == "GCP.Decrypt":
            return kms.decrypt(name, body)
        if op == "GCP.GetPublicKey":
            return kms.get_public_key(name)
        if op == "GCP.AsymmetricSign":
            return kms.asymmetric_sign(name, body)
        if op == "GCP.AsymmetricDecrypt":
            return kms.asymmetric_decrypt(name, body)
        if op == "GCP.GetCryptoKey":
            with kms.state.lock:
                return kms.crypto_key_json(kms.key(name))
        if op == "GCP.GetCryptoKeyVersion":
            with kms.state.lock:
                key, ver = kms.version(name)
                return kms.version_json(key, ver["n"])
        if op == "GCP.CreateKeyRing":
            return kms.create_key_ring(name[:-len("/keyRings")],
                                       params.get("keyRingId"))
        if op == "GCP.CreateCryptoKey":
            if params.get("skipInitialVersionCreation") == "true":
                body["skipInitialVersionCreation"] = True
            return kms.create_crypto_key(name[:-len("/cryptoKeys")],
                                         params.get("cryptoKeyId"), body)
        if op == "GCP.CreateCryptoKeyVersion":
            return kms.create_version(name[:-len("/cryptoKeyVersions")])
        if op == "GCP.UpdateCryptoKeyVersion":
            if params.get("updateMask") != "state":
                raise GcpError("INVALID_ARGUMENT", "The emulator updates "
                               "the state only: updateMask=state.")
            return kms.set_version_state(name, body.get("state"))
        if op == "GCP.DestroyCryptoKeyVersion":
            return kms.destroy_version(name)
        version = body.get("cryptoKeyVersionId")
        if not isinstance(version, str) or not version:
            raise GcpError("INVALID_ARGUMENT", "cryptoKeyVersionId is "
                           "required.")
        return kms.update_primary(name, version)


THROTTLE = ("Quota exceeded for quota metric 'Cryptographic requests' and "
            "limit 'Cryptographic requests per minute' of service "
            "'cloudkms.googleapis.com'.")
FAULT_5XX = {500: ("INTERNAL", "Internal error encountered."),
             503: ("UNAVAILABLE", "The service is currently unavailable."),
             504: ("DEADLINE_EXCEEDED", "Deadline exceeded.")}


def fault_response(kind, status, ex):
    """Injected failures in Google's shapes: 429 RESOURCE_EXHAUSTED, 500
    INTERNAL, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, 502 an HTML page."""
    if kind == "throttle":
        return gcp_error(GcpError("RESOURCE_EXHAUSTED", THROTTLE), ex)
    if status in FAULT_5XX:
        code, message = FAULT_5XX[status]
        return gcp_error(GcpError(code, message), ex)
    return Response(status, "<html><body>%d</body></html>" % status,
                    "text/html", error="HTTP%d" % status)


def wrong_crc(body):
    """The answer with its payload's CRC32C (ciphertextCrc32c,
    plaintextCrc32c, signatureCrc32c or pemCrc32c) off by one."""
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return body
    if not isinstance(answer, dict):
        return body
    for member in ("ciphertextCrc32c", "plaintextCrc32c", "signatureCrc32c",
                   "pemCrc32c"):
        if member in answer:
            answer[member] = str((int(answer[member]) + 1) & 0xFFFFFFFF)
    return json.dumps(answer).encode()


class GcpControl:
    """Control commands gcp_*, mixed into kms_emulator.Control."""

    def _gcp(self):
        return self.app.gcp

    def cmd_gcp_create_key_ring(self, args):
        parent, _, ring = args["name"].rpartition("/keyRings/")
        return self._gcp().kms.create_key_ring(parent, ring)

    def cmd_gcp_create_key(self, args):
        ring, _, key = args["name"].rpartition("/cryptoKeys/")
        body = {"purpose": args.get("purpose", "ENCRYPT_DECRYPT"),
                "versionTemplate": {"protectionLevel": args.get(
                    "protection_level", "SOFTWARE")},
                "labels": args.get("labels"),
                "skipInitialVersionCreation": bool(args.get(
                    "skip_initial_version"))}
        return self._gcp().kms.create_crypto_key(ring, key, body)

    def cmd_gcp_create_asym_key(self, args):
        """{"name": ".../cryptoKeys/K", "algorithm": ALGORITHM}: a key of
        the algorithm's purpose with one version (an RSA 4096 key takes a
        second or two to make)."""
        ring, _, key = args["name"].rpartition("/cryptoKeys/")
        algorithm = str(args["algorithm"])
        body = {"purpose": gcp_asym.purpose_of(algorithm),
                "versionTemplate": {"protectionLevel": args.get(
                    "protection_level", "SOFTWARE"), "algorithm": algorithm},
                "labels": args.get("labels")}
        return self._gcp().kms.create_crypto_key(ring, key, body)

    def cmd_gcp_asym_tamper(self, args):
        """{"version", "name"?, "pem_of"?, "signature_len"?}: that
        version's getPublicKey / asymmetricSign answers altered (CRC32Cs
        recomputed); {"version"} alone: answered as they are."""
        t = {k: args[k] for k in ("name", "pem_of", "signature_len")
             if args.get(k) is not None}
        kms = self._gcp().kms
        if t:
            kms.tamper[str(args["version"])] = t
        else:
            kms.tamper.pop(str(args["version"]), None)
        return t

    def cmd_gcp_create_version(self, args):
        return self._gcp().kms.create_version(args["key"])

    def cmd_gcp_set_version_state(self, args):
        return self._gcp().kms.set_version_state(args["name"], args["state"])

    def cmd_gcp_destroy_version(self, args):
        return self._gcp().kms.destroy_version(args["name"],
                                               bool(args.get("now")))

    def cmd_gcp_set_primary(self, args):
        return self._gcp().kms.update_primary(args["key"],
                                              str(args["version"]))

    def cmd_gcp_get_key(self, args):
        kms = self._gcp().kms
        with kms.state.lock:
            return kms.crypto_key_json(kms.key(args["name"]))

    def cmd_gcp_token(self, args):
        token, ttl = self._gcp().tokens.issue(
            str(args["principal"]), args.get("expires_in"), args.get("token"))
        return {"access_token": token, "expires_in": ttl}

    def cmd_gcp_expire_token(self, args):
        """{token}, or {principal}: every token issued to it; answers how
        many expired."""
        gcp = self._gcp()
        with gcp.state.lock:
            if "token" in args:
                names = [args["token"]]
                gcp.state.tokens[args["token"]]  # KeyError: unknown token
            else:
                names = [t for t, rec in gcp.state.tokens.items()
                         if rec["principal"] == str(args["principal"])]
            for t in names:
                gcp.state.tokens[t]["expires"] = gcp.clock.now() - 1
            gcp.state.save()
        return {"expired": len(names)}

    def cmd_gcp_token_ttl(self, args):
        self._gcp().tokens.ttl = int(args["seconds"])
        return {"seconds": self._gcp().tokens.ttl}

    def _gcp_set(self, table, key, value):
        gcp = self._gcp()
        with gcp.state.lock:
            if value is None:
                getattr(gcp.state, table).pop(key, None)
            else:
                getattr(gcp.state, table)[key] = value
            gcp.state.save()

    def cmd_gcp_iam(self, args):
        bindings = args.get("bindings")
        if bindings is not None and not (
                isinstance(bindings, dict) and all(
                    isinstance(v, list) and set(v) <= set(PERMISSION) | {"*"}
                    for v in bindings.values())):
            raise ValueError("bindings: {resource: [encrypt|decrypt|get|"
                             "admin|*...]} or null")
        self._gcp_set("iam", str(args["principal"]), bindings)

    def cmd_gcp_service_account(self, args):
        self._gcp_set("service_accounts", str(args["client_email"]), {
            "key_id": str(args["key_id"]),
            "public_key": str(args["public_key"])})

    def cmd_gcp_authorized_user(self, args):
        """{"refresh_token", "revoked": true} revokes the token."""
        if args.get("revoked"):
            self._gcp_set("authorized_users", str(args["refresh_token"]),
                          None)
            return
        self._gcp_set("authorized_users", str(args["refresh_token"]), {
            "client_id": str(args["client_id"]),
            "client_secret": str(args["client_secret"]),
            "principal": str(args["principal"])})

    def cmd_gcp_impersonation(self, args):
        """Who may impersonate a service account: {"service_account",
        "principals": [...]} (null: nobody)."""
        principals = args.get("principals")
        if principals is not None and not (
                isinstance(principals, list)
                and all(isinstance(p, str) for p in principals)):
            raise ValueError("principals: [principal...] or null")
        self._gcp_set("impersonation", str(args["service_account"]),
                      principals)

    def cmd_gcp_subject_url(self, args):
        """GET /gcp-subject/NAME serves token when the request carries
        headers: {"name", "token", "headers": {..}, "json_field"}."""
        headers = args.get("headers") or {}
        if not isinstance(headers, dict) or not all(
                isinstance(v, str) for v in headers.values()):
            raise ValueError("headers: {name: value}")
        self._gcp_set("subject_urls", str(args["name"]), {
            "token": str(args["token"]), "headers": headers,
            "json_field": args.get("json_field")})

    def cmd_gcp_token_info(self, args):
        """The principal and expiry (emulator clock) of an access token."""
        gcp = self._gcp()
        with gcp.state.lock:
            rec = gcp.state.tokens.get(str(args["token"]))
        if rec is None:
            return {"principal": None}
        return {"principal": rec["principal"], "expires": rec["expires"],
                "now": gcp.clock.now()}

    def cmd_gcp_sts(self, args):
        self._gcp_set("sts_subjects", str(args["subject_token"]),
                      args.get("principal"))

    def cmd_gcp_metadata(self, args):
        gcp = self._gcp()
        with gcp.state.lock:
            for k in ("principal", "enabled", "project"):
                if k in args:
                    gcp.state.metadata[k] = args[k]
            gcp.state.save()
            return dict(gcp.state.metadata)


__all__ = ["GcpApi", "GcpControl", "GcpError", "classify", "fault_response",
           "wrong_crc", "json_response"]
