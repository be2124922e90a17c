# SPDX-License-Identifier: Apache-2.0
# KMS emulator, Azure front end: routes Key Vault / Managed HSM requests to
# azure_kv after the challenge, the bearer token and the grants, the Entra
# and managed-identity requests to azure_entra, and adds the control calls.
"""Routes of the Azure Key Vault / Managed HSM emulation.

A vault is addressed by the request's Host (its host name without the
port: each vault lists the host names that name it, e.g. "127.0.0.1" for
a Key Vault and "localhost" for a Managed HSM, both covered by the
emulator's certificate), or by a path prefix /vaults/<name> on any host.
Key ids carry the base the client used: https://127.0.0.1:PORT/keys/k/v,
or https://127.0.0.1:PORT/vaults/kv2/keys/k/v. Azure's SDK accepts only
the first form (its key-id parser wants /keys/<name>/<version>).

op names (call log, faults' for_ops; "AZ.*" matches them all):
  AZ.GetKey, AZ.CreateKey, AZ.ImportKey, AZ.UpdateKey, AZ.RotateKey,
  AZ.WrapKey, AZ.UnwrapKey, AZ.Encrypt, AZ.Decrypt, AZ.Sign, AZ.Verify,
  AZ.Unknown, and for
  tokens AZ.Token, AZ.OpenIdConfig, AZ.IMDS, AZ.AppService.
"""

import json
import math
import re
import urllib.parse

from azure_entra import (APP_SERVICE_PATH, IMDS_PATH, OPENID_RE, TOKEN_RE,
                         AzTokens, Entra, form, thumbprints)
from azure_kv import (AZ_JSON, RESOURCES, AzError, AzKeys, AzState, bad)
from cred_endpoints import Response
from gcp_api import encoding

API_VERSIONS = ("7.4", "7.5", "7.6", "2025-07-01")
LATEST_API = "2025-07-01"
CRYPTO_OPS = {"wrapkey": "AZ.WrapKey", "unwrapkey": "AZ.UnwrapKey",
              "encrypt": "AZ.Encrypt", "decrypt": "AZ.Decrypt",
              "sign": "AZ.Sign", "verify": "AZ.Verify"}
# op -> (HTTP method, the key operation / grant it needs)
OPS = {"AZ.GetKey": ("GET", "get"), "AZ.CreateKey": ("POST", "create"),
       "AZ.ImportKey": ("PUT", "import"), "AZ.UpdateKey": ("PATCH", "update"),
       "AZ.RotateKey": ("POST", "rotate"), "AZ.WrapKey": ("POST", "wrapKey"),
       "AZ.UnwrapKey": ("POST", "unwrapKey"),
       "AZ.Encrypt": ("POST", "encrypt"), "AZ.Decrypt": ("POST", "decrypt"),
       "AZ.Sign": ("POST", "sign"), "AZ.Verify": ("POST", "verify")}
GRANTS = ("get", "create", "import", "update", "rotate", "wrapKey",
          "unwrapKey", "encrypt", "decrypt", "sign", "verify")
# The RBAC data action behind each grant, for the refusal's text.
ACTIONS = {"get": "keys/read", "create": "keys/create/action",
           "import": "keys/import/action", "update": "keys/write",
           "rotate": "keys/rotate/action", "wrapKey": "keys/wrap/action",
           "unwrapKey": "keys/unwrap/action",
           "encrypt": "keys/encrypt/action",
           "decrypt": "keys/decrypt/action", "sign": "keys/sign/action",
           "verify": "keys/verify/action"}
MISSING_TOKEN = "AKV10000: Request is missing a Bearer or PoP token."
THROTTLED = ("Request was not processed because too many requests were "
             "received. Reason: A1")


def split_vault(path):
    """(vault name from a /vaults/<name> prefix or None, prefix, rest)."""
    if path.startswith("/vaults/"):
        name, _, rest = path[len("/vaults/"):].partition("/")
        return name, "/vaults/" + name, "/" + rest
    return None, "", path


def key_route(method, rest):
    """(op, key name, version) of a /keys/... path, or None."""
    if not rest.startswith("/keys/"):
        return None
    parts = rest[len("/keys/"):].split("/")
    name = parts[0]
    if len(parts) == 1 or (len(parts) == 2 and parts[1] == ""):
        return ({"GET": "AZ.GetKey", "PUT": "AZ.ImportKey",
                 "PATCH": "AZ.UpdateKey"}.get(method, "AZ.Unknown"),
                name, None)
    if len(parts) == 2:
        if parts[1] == "create":
            return "AZ.CreateKey", name, None
        if parts[1] == "rotate":
            return "AZ.RotateKey", name, None
        if parts[1] in CRYPTO_OPS:
            return CRYPTO_OPS[parts[1]], name, None
        return ({"GET": "AZ.GetKey", "PATCH": "AZ.UpdateKey"}.get(
            method, "AZ.Unknown"), name, parts[1])
    if len(parts) == 3 and parts[2] in CRYPTO_OPS:
        return CRYPTO_OPS[parts[2]], name, parts[1] or None
    return "AZ.Unknown", name, None


def classify(method, path):
    """(endpoint, op) for an Azure path, or None."""
    if TOKEN_RE.match(path):
        return "azure-id", "AZ.Token"
    if OPENID_RE.match(path):
        return "azure-id", "AZ.OpenIdConfig"
    # Azure's identity library probes IMDS at the path with a final "/".
    if path in (IMDS_PATH, IMDS_PATH + "/"):
        return "azure-id", "AZ.IMDS"
    if path == APP_SERVICE_PATH:
        return "azure-id", "AZ.AppService"
    _, _, rest = split_vault(path)
    route = key_route(method, rest)
    if route is None:
        return None
    return "azure", route[0]


BINARY_MEMBERS = ("value", "iv", "aad", "tag", "digest")
B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
B64URL_PADDED = re.compile(r"^[A-Za-z0-9_-]*={1,2}$")
B64_STD = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def member_encoding(name, value):
    """How a request member is written, for the call log: binary members
    are "base64url" (unpadded, as Key Vault wants), "base64url-padded",
    "base64" (standard alphabet) or "string"; others as gcp_api.encoding
    names JSON types ("string" for any other text)."""
    if not isinstance(value, str):
        return encoding(value)
    if name not in BINARY_MEMBERS:
        return "string"
    if B64URL.match(value):
        return "base64url"
    if B64URL_PADDED.match(value):
        return "base64url-padded"
    if B64_STD.match(value):
        return "base64"
    return "string"


def base_detail(ex, request, headers):
    """What the call log keeps of every Azure request."""
    method, path, query = request[:3]
    ex.detail = {"method": method, "path": path, "query": query,
                 "principal": None,
                 "api_version": query_params(query).get("api-version"),
                 "x_ms_request_id": ex.request_id,
                 "x_ms_client_request_id": headers.get(
                     "x-ms-client-request-id"),
                 "content_type": headers.get("Content-Type")}


def az_error(err, ex, headers=None):
    ex.error = err.inner or err.code
    ex.detail["error_code"] = err.code
    return Response(err.status, err.body(), AZ_JSON, headers or {})


def query_params(query):
    """Query parameters, names and values percent-decoded (Azure's SDK
    writes api%2Dversion)."""
    return dict(urllib.parse.parse_qsl(query, keep_blank_values=True))


class AzureApi:
    """Challenge, bearer token, grants, then the key operation."""

    def __init__(self, state_path, clock):
        self.state = AzState(state_path)
        self.clock = clock
        self.keys = AzKeys(self.state, clock)
        self.tokens = AzTokens(self.state, clock)
        self.entra = Entra(self.state, self.tokens, clock)

    def handle(self, op, request, headers, ex):
        method, path, query, _, body = request
        params = query_params(query)
        base_detail(ex, request, headers)
        host = headers.get("Host", "")
        if op == "AZ.Token":
            tenant = TOKEN_RE.match(path).group(1)
            if method != "POST":
                return Response(405, "Method Not Allowed")
            url = "%s://%s%s" % (ex.scheme, host, path)
            return self.entra.token(tenant, form(body), url, ex)
        if op == "AZ.OpenIdConfig":
            return self.entra.openid(OPENID_RE.match(path).group(1), host,
                                     ex.scheme)
        if op == "AZ.IMDS":
            return self.entra.imds(method, params, headers, ex)
        if op == "AZ.AppService":
            return self.entra.app_service(method, params, headers, ex)
        try:
            return self.vault_call(op, request, params, headers, ex)
        except AzError as e:
            extra = getattr(ex, "challenge", None)
            return az_error(e, ex, {"WWW-Authenticate": extra}
                            if e.status == 401 and extra else None)

    # -- vault requests -------------------------------------------------------
    def _vault(self, path, headers, ex):
        """(vault name, vault, base URL for key ids)."""
        name, prefix, _ = split_vault(path)
        host = headers.get("Host", "")
        if name is None:
            name = self.keys.vault_by_host(host.rsplit(":", 1)[0]
                                           if not host.startswith("[")
                                           else host)
            if name is None:
                raise AzError(404, "VaultNotFound", "No vault is served "
                              "for the host %s." % host)
        vault = self.keys.vault(name)
        ex.detail["vault"] = name
        return name, vault, "%s://%s%s" % (ex.scheme, host, prefix)

    def _principal(self, vault, headers, ex):
        resource = RESOURCES[vault["kind"]]
        ex.challenge = ('Bearer authorization="https://%s/%s", '
                        'resource="%s"' % (
                            self.state.settings["login_host"],
                            vault["tenant"], resource))
        auth = headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        ex.detail["auth_scheme"] = scheme or None
        if scheme.lower() != "bearer" or not token.strip():
            raise AzError(401, "Unauthorized", MISSING_TOKEN)
        rec = self.tokens.lookup(token.strip())
        if rec is None:
            raise AzError(401, "Unauthorized", "The access token is not "
                          "valid.")
        ex.detail["principal"] = rec["principal"]
        if rec["expires"] <= self.clock.now():
            raise AzError(401, "Unauthorized", "The access token has "
                          "expired.")
        if rec["resource"] != resource:
            raise AzError(401, "Unauthorized", "AKV10022: Invalid audience. "
                          "Expected %s, found: %s."
                          % (resource, rec["resource"]))
        if rec["tenant"] != vault["tenant"]:
            raise AzError(401, "Unauthorized", "AKV10032: Invalid issuer. "
                          "Expected one of https://sts.windows.net/%s/, "
                          "found https://sts.windows.net/%s/."
                          % (vault["tenant"], rec["tenant"]))
        return rec["principal"]

    def allowed(self, principal, vault_name, key, grant):
        with self.state.lock:
            grants = self.state.grants.get(principal) or {}
        for res in ("*", vault_name, vault_name + "/" + key):
            perms = grants.get(res) or []
            if grant in perms or "*" in perms:
                return True
        return False

    @staticmethod
    def _api_version(params):
        v = params.get("api-version")
        if v is None:
            raise bad("The 'api-version' query parameter is missing.")
        if v not in API_VERSIONS:
            raise bad("The specified version (%s) is not recognized. "
                      "Consider using the latest supported version (%s)."
                      % (v, LATEST_API))

    def _body(self, raw, ex):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise bad("The request body is not valid JSON.")
        if not isinstance(body, dict):
            raise bad("The request body must be a JSON object.")
        ex.detail["body_members"] = sorted(body)
        ex.detail["member_encodings"] = {k: member_encoding(k, v)
                                         for k, v in body.items()}
        if isinstance(body.get("alg"), str):
            ex.detail["alg"] = body["alg"]
        return body

    def vault_call(self, op, request, params, headers, ex):
        method, path, _, _, raw = request
        vault_name, vault, base = self._vault(path, headers, ex)
        principal = self._principal(vault, headers, ex)
        self._api_version(params)
        _, _, rest = split_vault(path)
        _, name, version = key_route(method, rest)
        ex.detail["key_name"] = name
        want = OPS.get(op)
        if want is None or method != want[0]:
            raise AzError(405 if want else 404, "BadParameter" if want else
                          "NotFound", "The requested operation %s %s is "
                          "not supported." % (method, rest))
        grant = want[1]
        if not self.allowed(principal, vault_name, name, grant):
            raise AzError(403, "Forbidden", self._rbac_text(
                principal, vault, vault_name, name, grant),
                "ForbiddenByRbac")
        body = self._body(raw, ex) if method != "GET" else {}
        ver = self._operation(op, vault_name, name, version, body, ex)
        ex.key_id = ex.request_key_id = "%s/keys/%s/%s" % (base, name,
                                                           ver["id"])
        ex.detail["key_version"] = ver["id"]
        if op == "AZ.Verify":  # KeyVerifyResult: value only
            return Response(200, json.dumps(ex.crypto_result), AZ_JSON)
        if op in CRYPTO_OPS.values():
            result = {"kid": ex.key_id}
            result.update(ex.crypto_result)
            return Response(200, json.dumps(result), AZ_JSON)
        return Response(200, json.dumps(self.keys.bundle(base, name, ver)),
                        AZ_JSON)

    def _rbac_text(self, principal, vault, vault_name, name, grant):
        with self.state.lock:
            app = self.state.principals.get(principal) or {}
        kind = "managedHsm" if vault["kind"] == "hsm" else "vaults"
        return ("Caller is not authorized to perform action on resource.\r\n"
                "If role assignments, deny assignments or role definitions "
                "were changed recently, please observe propagation time.\r\n"
                "Caller: appid=%s;oid=%s;iss=https://sts.windows.net/%s/\r\n"
                "Action: 'Microsoft.KeyVault/%s/%s'\r\n"
                "Resource: '%s/keys/%s'\r\nAssignment: (not found)\r\n"
                "DecisionReason: 'DeniedWithNoValidRBAC' \r\n"
                "Vault: %s;location=emulator\r\n"
                % (principal, app.get("object_id", principal),
                   vault["tenant"], kind, ACTIONS[grant], vault_name, name,
                   vault_name))

    def _operation(self, op, vault, name, version, body, ex):
        keys = self.keys
        if op == "AZ.CreateKey":
            return keys.create(vault, name, body)
        if op == "AZ.ImportKey":
            return keys.import_key(vault, name, body)
        if op == "AZ.RotateKey":
            return keys.rotate(vault, name)
        if op == "AZ.UpdateKey":
            return keys.update(vault, name, version, body)
        with self.state.lock:
            ver = dict(keys.version(vault, name, version))
        if op == "AZ.GetKey":
            keys.check_usable(ver, "get")
            return ver
        key_op = OPS[op][1]
        keys.check_usable(ver, key_op)
        keys.check_op(ver, key_op)
        ex.crypto_result = keys.crypt(ver, key_op, body)
        return ver


def fault_response(kind, status, ex, decision):
    """Injected failures in Azure's shapes: 429 Throttled and 503
    ServiceUnavailable with Retry-After, retry-after-ms and
    x-ms-retry-after-ms (as chosen by the fault), 500 InternalServerError,
    502 and 504 an HTML page."""
    ms = int(getattr(decision, "retry_after_ms", 1000))
    names = getattr(decision, "retry_after_headers", None) or [
        "Retry-After", "retry-after-ms", "x-ms-retry-after-ms"]
    values = {"retry-after": str(int(math.ceil(ms / 1000.0))),
              "retry-after-ms": str(ms), "x-ms-retry-after-ms": str(ms)}
    retry = {n: values[n.lower()] for n in names}
    base_detail(ex, ex.request, ex.headers)
    ex.detail["retry_after"] = dict(retry)
    if kind == "throttle":
        return az_error(AzError(429, "Throttled", THROTTLED), ex, retry)
    if status == 500:
        return az_error(AzError(500, "InternalServerError", "An internal "
                                "server error occurred."), ex)
    if status == 503:
        return az_error(AzError(503, "ServiceUnavailable", "The service is "
                                "temporarily unavailable."), ex, retry)
    return Response(status, "<html><body>%d</body></html>" % status,
                    "text/html", error="HTTP%d" % status)


class AzureControl:
    """Control commands azure_*, mixed into kms_emulator.Control."""

    def _az(self):
        return self.app.azure

    def _az_set(self, table, key, value):
        az = self._az()
        with az.state.lock:
            if value is None:
                getattr(az.state, table).pop(key, None)
            else:
                getattr(az.state, table)[key] = value
            az.state.save()

    def cmd_azure_create_vault(self, args):
        """{"name", "kind": "vault"|"hsm", "tenant", "hosts": [...]}"""
        return self._az().keys.create_vault(
            str(args["name"]), args.get("kind", "vault"),
            str(args["tenant"]), args.get("hosts") or [])

    def _base(self, args):
        """Key ids in control answers: args' base, else the vault's first
        host on the TLS listener (or the plain one without TLS), else its
        /vaults/<name> prefix."""
        if args.get("base"):
            return args["base"]
        vault = self._az().keys.vault(args["vault"])
        ports = self.app.ports
        scheme = "https" if ports.get("https") else "http"
        port = ports.get("https") or ports.get("http")
        if vault["hosts"]:
            return "%s://%s:%d" % (scheme, vault["hosts"][0], port)
        return "%s://127.0.0.1:%d/vaults/%s" % (scheme, port, args["vault"])

    def _answer(self, args, ver):
        return self._az().keys.bundle(self._base(args), args["name"], ver)

    def cmd_azure_create_key(self, args):
        """{"vault", "name", "kty", "key_size", "crv", "key_ops",
        "attributes", "tags"}: a key, or a new version of an existing
        one."""
        body = {k: args[k] for k in ("kty", "key_size", "crv", "key_ops",
                                     "attributes", "tags",
                                     "public_exponent") if k in args}
        ver = self._az().keys.create(args["vault"], args["name"], body)
        return self._answer(args, ver)

    def cmd_azure_import_key(self, args):
        """{"vault", "name", "key": JWK, "attributes"}; oct keys (member
        k) into a Managed HSM too."""
        ver = self._az().keys.import_key(args["vault"], args["name"], {
            k: args[k] for k in ("key", "attributes", "tags", "hsm")
            if k in args})
        return self._answer(args, ver)

    def cmd_azure_new_version(self, args):
        return self._answer(args, self._az().keys.rotate(args["vault"],
                                                         args["name"]))

    def cmd_azure_set_attributes(self, args):
        """{"vault", "name", "version" (default current), "attributes":
        {enabled, exp, nbf}, "key_ops"}"""
        body = {k: args[k] for k in ("attributes", "key_ops", "tags")
                if k in args}
        ver = self._az().keys.update(args["vault"], args["name"],
                                     args.get("version"), body)
        return self._answer(args, ver)

    def cmd_azure_principal(self, args):
        """{"client_id", "tenant", "object_id", "secret", "certificates":
        [PEM...], "federated_tokens": [...]}; null secret: none."""
        certs = []
        for pem in args.get("certificates") or []:
            x5t, x5t_s256 = thumbprints(pem)
            certs.append({"pem": pem, "x5t": x5t, "x5t_s256": x5t_s256})
        fed = args.get("federated_tokens") or []
        if not isinstance(fed, list) or not all(isinstance(t, str)
                                                for t in fed):
            raise ValueError("federated_tokens: [token...]")
        client_id = str(args["client_id"])
        self._az_set("principals", client_id, {
            "tenant": str(args["tenant"]),
            "object_id": str(args.get("object_id") or client_id),
            "secret": args.get("secret"), "certificates": certs,
            "federated": fed})
        return {"client_id": client_id,
                "thumbprints": [{"x5t": c["x5t"], "x5t#S256": c["x5t_s256"]}
                                for c in certs]}

    def cmd_azure_grant(self, args):
        """{"principal", "grants": {"*"|"vault"|"vault/key": [perm...]}}
        (null: no grants). perms: get create import update rotate wrapKey
        unwrapKey encrypt decrypt sign verify, or *."""
        grants = args.get("grants")
        if grants is not None and not (isinstance(grants, dict) and all(
                isinstance(v, list) and set(v) <= set(GRANTS) | {"*"}
                for v in grants.values())):
            raise ValueError("grants: {resource: [%s|*...]} or null"
                             % "|".join(GRANTS))
        self._az_set("grants", str(args["principal"]), grants)

    def cmd_azure_token(self, args):
        """{"principal", "resource" (default Key Vault's), "tenant"
        (default the principal's), "expires_in", "token"}"""
        az = self._az()
        principal = str(args["principal"])
        with az.state.lock:
            app = az.state.principals.get(principal) or {}
        token, ttl = az.tokens.issue(
            principal, args.get("resource", RESOURCES["vault"]),
            args.get("tenant", app.get("tenant")), args.get("expires_in"),
            args.get("token"))
        return {"access_token": token, "expires_in": ttl}

    def cmd_azure_expire_token(self, args):
        """{token} or {principal}: expired now; answers how many."""
        az = self._az()
        with az.state.lock:
            if "token" in args:
                names = [args["token"]]
                az.state.tokens[args["token"]]  # KeyError: unknown token
            else:
                names = [t for t, rec in az.state.tokens.items()
                         if rec["principal"] == str(args["principal"])]
            for t in names:
                az.state.tokens[t]["expires"] = az.clock.now() - 1
            az.state.save()
        return {"expired": len(names)}

    def cmd_azure_token_info(self, args):
        rec = self._az().tokens.lookup(str(args["token"]))
        return rec or {"principal": None}

    def cmd_azure_managed_identity(self, args):
        """{"kind": "system", "client_id"} or {"kind": "user", "client_id",
        "object_id", "msi_res_id"}; {"kind": "system", "client_id": null}
        removes the system identity."""
        az = self._az()
        kind = args.get("kind", "system")
        with az.state.lock:
            ids = az.state.identities
            if kind == "system":
                cid = args.get("client_id")
                ids["system"] = None if cid is None else {
                    "client_id": str(cid)}
            elif kind == "user":
                ids["user"] = [u for u in ids["user"]
                               if u["client_id"] != str(args["client_id"])]
                ids["user"].append({k: str(args[k]) for k in (
                    "client_id", "object_id", "msi_res_id") if k in args})
            else:
                raise ValueError("kind must be system or user")
            az.state.save()
            return dict(ids)

    def cmd_azure_identity_endpoints(self, args):
        """{"imds_enabled": bool, "app_service_header": str or null}"""
        az = self._az()
        with az.state.lock:
            for k in ("imds_enabled", "app_service_header"):
                if k in args:
                    az.state.identities[k] = args[k]
            az.state.save()
            return dict(az.state.identities)

    def cmd_azure_settings(self, args):
        """{"login_host", "token_ttl"}"""
        az = self._az()
        with az.state.lock:
            for k in ("login_host", "token_ttl"):
                if k in args:
                    az.state.settings[k] = args[k]
            az.state.save()
            return dict(az.state.settings)

    def cmd_azure_key_material(self, args):
        """The public JWK of a version, as GET key shows it (no grant
        needed): {"vault", "name", "version"}."""
        az = self._az()
        with az.state.lock:
            ver = az.keys.version(args["vault"], args["name"],
                                  args.get("version"))
            return self._answer(args, ver)


__all__ = ["AzureApi", "AzureControl", "AzError", "classify",
           "fault_response"]
