# SPDX-License-Identifier: Apache-2.0
# KMS emulator, HashiCorp Vault / OpenBao front end: namespaces, sealed and
# standby states, tokens and their policies, the AppRole, Kubernetes and
# cert logins, the transit routes (vault_transit) and the control calls.
"""Routes of the Vault / OpenBao emulation.

A request is Vault's when it carries X-Vault-Token, X-Vault-Request or
X-Vault-Namespace under /v1/, or when it is under /v1/ and Google's routes
(/v1/projects/..., /v1/token) do not claim it: a Google request is never
taken. After /v1/ come the namespace segments (those that name a known
namespace, below the X-Vault-Namespace header's), then the path inside it:
sys/health, sys/seal-status, auth/token/lookup-self, auth/token/renew-self,
auth/approle/login, auth/kubernetes/login, auth/cert/login, or
<mount>/<transit path> for a transit mount of that namespace.

op names (call log, faults' for_ops; "VAULT.*" matches them all):
  VAULT.Encrypt, VAULT.Decrypt, VAULT.Rewrap, VAULT.DataKey, VAULT.Sign,
  VAULT.ReadKey,
  VAULT.CreateKey, VAULT.RotateKey, VAULT.ConfigKey, VAULT.DeleteKey,
  VAULT.ListKeys, VAULT.ConfigKeys, VAULT.LookupSelf, VAULT.RenewSelf,
  VAULT.AppRoleLogin, VAULT.K8sLogin, VAULT.CertLogin, VAULT.Health,
  VAULT.SealStatus, VAULT.Unknown.
"""

import base64
import json
import math
import os
import secrets
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from cred_endpoints import Response
from vault_transit import (KEY_NOT_FOUND, KEY_TYPES, ItemError, Transit,
                           VaultError, b64decode,
                           batch_items, check_contexts, datakey,
                           datakey_checks, run_decrypt,
                           run_encrypt, run_rewrap, sign, user_error)

VAULT_JSON = "application/json"
VERSION = "1.15.6"
DENIED = "1 error occurred:\n\t* permission denied\n\n"
INVALID_TOKEN = ("2 errors occurred:\n\t* permission denied\n\t* invalid "
                 "token\n\n")
SEALED = "Vault is sealed"
GCP_PATHS = ("/v1/projects/",)
AUTH_PATHS = {"auth/token/lookup-self": "VAULT.LookupSelf",
              "auth/token/renew-self": "VAULT.RenewSelf",
              "auth/approle/login": "VAULT.AppRoleLogin",
              "auth/kubernetes/login": "VAULT.K8sLogin",
              "auth/cert/login": "VAULT.CertLogin"}
SYS_PATHS = {"sys/health": "VAULT.Health",
             "sys/seal-status": "VAULT.SealStatus"}
LOGINS = ("VAULT.AppRoleLogin", "VAULT.K8sLogin", "VAULT.CertLogin")
CAPS = ("create", "read", "update", "delete", "list", "sudo", "deny")
# Transit operations whose paths have no existence check in Vault: a
# missing key needs "update", never "create" (path_decrypt.go).
NO_EXISTENCE_CHECK = ("VAULT.Decrypt", "VAULT.Sign")
MOUNT_TYPES = {"VAULT.LookupSelf": "token", "VAULT.RenewSelf": "token",
               "VAULT.AppRoleLogin": "approle",
               "VAULT.K8sLogin": "kubernetes", "VAULT.CertLogin": "cert"}
BINARY_MEMBERS = ("plaintext", "context", "associated_data", "nonce")


def new_namespace(mounts=("transit",)):
    return {"mounts": {m: new_mount() for m in mounts}, "policies": {},
            "approles": {}, "k8s_roles": {}, "k8s_jwts": {},
            "cert_roles": {}}


def new_mount():
    return {"keys": {}, "config": {"disable_upsert": False}}


def join_ns(parent, child):
    child = child.strip("/")
    return child if not parent else (parent + "/" + child if child
                                     else parent)


class VaultState:
    """Namespaces (mounts, policies, roles), tokens and the node's state,
    kept in DIR/vault_state.json."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.RLock()
        self.namespaces = {"": new_namespace()}
        self.tokens = {}
        self.node = {"sealed": False, "initialized": True,
                     "standby": False, "standby_mode": "redirect",
                     "active_address": "", "perf_standby": False,
                     "lacking_index": False, "send_index": False,
                     "index": 0}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                saved = json.load(f)
            self.namespaces = saved["namespaces"]
            self.tokens = saved["tokens"]
            self.node.update(saved["node"])

    def save(self):
        with self.lock:
            text = json.dumps({"namespaces": self.namespaces,
                               "tokens": self.tokens, "node": self.node})
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.path)

    def ns(self, name):
        rec = self.namespaces.get(name.strip("/"))
        if rec is None:
            raise KeyError("unknown namespace %r" % name)
        return rec


def split_path(state, path, header_ns):
    """(namespace, path inside it) of a /v1/ path: path segments naming a
    known child namespace are taken off the front."""
    ns = (header_ns or "").strip("/")
    rel = path[len("/v1/"):] if path.startswith("/v1/") else path
    segs = rel.split("/")
    while len(segs) > 1 and join_ns(ns, segs[0]) in state.namespaces \
            and segs[0]:
        ns = join_ns(ns, segs.pop(0))
    return ns, "/".join(segs)


def find_mount(nsrec, rel):
    """(mount, rest) of the longest mount path prefixing rel, or None."""
    best = None
    for m in nsrec["mounts"]:
        if (rel == m or rel.startswith(m + "/")) and (
                best is None or len(m) > len(best)):
            best = m
    if best is None:
        return None
    return best, rel[len(best) + 1:]


def transit_route(method, rest, query):
    """(op, key name, datakey kind) of a path inside a transit mount;
    VAULT.Unknown for a path or method transit does not serve."""
    op, name, kind = transit_path(method, rest, query)
    writes = ("POST", "PUT")
    if op in ("VAULT.Encrypt", "VAULT.Decrypt", "VAULT.Rewrap",
              "VAULT.DataKey", "VAULT.RotateKey", "VAULT.ConfigKey",
              "VAULT.Sign") \
            and method not in writes:
        return "VAULT.Unknown", None, None
    if op == "VAULT.ConfigKeys" and method not in writes + ("GET",):
        return "VAULT.Unknown", None, None
    return op, name, kind


def transit_path(method, rest, query):
    parts = rest.split("/")
    listing = method == "LIST" or (method == "GET" and "list=true" in query)
    if parts[0] == "keys" and (len(parts) == 1 or parts[1] == "") \
            and listing:
        return "VAULT.ListKeys", None, None
    if len(parts) == 2 and parts[1]:
        head, name = parts
        if head in ("encrypt", "decrypt", "rewrap", "sign"):
            return "VAULT." + head.capitalize(), name, None
        if head == "keys":
            return ({"GET": "VAULT.ReadKey", "POST": "VAULT.CreateKey",
                     "PUT": "VAULT.CreateKey",
                     "DELETE": "VAULT.DeleteKey"}.get(method,
                                                      "VAULT.Unknown"),
                    name, None)
        if rest == "config/keys":
            return "VAULT.ConfigKeys", None, None
    if len(parts) == 3 and parts[0] == "keys" and parts[2] in (
            "rotate", "config"):
        return ("VAULT.RotateKey" if parts[2] == "rotate"
                else "VAULT.ConfigKey"), parts[1], None
    if len(parts) == 3 and parts[0] == "sign" and parts[1] and parts[2]:
        return "VAULT.Sign", parts[1], parts[2]  # kind: the hash
    if len(parts) == 3 and parts[0] == "datakey" and parts[2]:
        return "VAULT.DataKey", parts[2], parts[1]
    return "VAULT.Unknown", None, None


def header(headers, name):
    for k, v in (headers.items() if hasattr(headers, "items") else headers):
        if k.lower() == name.lower():
            return v
    return None


def request_token(headers):
    """(token, how it was sent) from X-Vault-Token or Authorization."""
    tok = header(headers, "X-Vault-Token")
    if tok:
        return tok, "x-vault-token"
    auth = header(headers, "Authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), "bearer"
    return None, None


def member_encoding(name, value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    if name in BINARY_MEMBERS:
        try:
            b64decode(value)
            return "base64"
        except ItemError:
            return "string"
    if name == "ciphertext" and value.startswith("vault:v"):
        return "vault-ciphertext"
    return "string"


def glob_match(pattern, path):
    """Vault policy path: exact, "+" for one segment, a final "*" for any
    suffix. Answers the pattern's specificity (for the longest match) or
    -1."""
    prefix = pattern.endswith("*")
    pat = pattern[:-1] if prefix else pattern
    psegs, segs = pat.split("/"), path.split("/")
    if prefix:
        if len(segs) < len(psegs):
            return -1
        head = segs[:len(psegs) - 1]
        last = segs[len(psegs) - 1] if len(segs) >= len(psegs) else ""
        for p, s in zip(psegs[:-1], head):
            if p != "+" and p != s:
                return -1
        if psegs[-1] != "+" and not "/".join(
                [last] + segs[len(psegs):]).startswith(psegs[-1]):
            return -1
        return len(pat)
    if len(psegs) != len(segs):
        return -1
    for p, s in zip(psegs, segs):
        if p != "+" and p != s:
            return -1
    return 10000 + len(pat)


class VaultApi:
    """Node state, token, policy, then the operation."""

    def __init__(self, state_path, clock):
        self.state = VaultState(state_path)
        self.clock = clock
        self.transit = Transit(self.state.lock, clock)
        self.tamper = {}  # key name -> cmd_vault_tamper's entry

    # -- routing --------------------------------------------------------------
    def claims(self, path, headers):
        if not path.startswith("/v1/"):
            return False
        if any(header(headers, h) is not None for h in (
                "X-Vault-Token", "X-Vault-Request", "X-Vault-Namespace")):
            return True
        return not path.startswith(GCP_PATHS) and path != "/v1/token"

    def classify(self, method, path, query, headers):
        """(endpoint, op) of a Vault request, or None."""
        if not self.claims(path, headers):
            return None
        with self.state.lock:
            ns, rel = split_path(self.state, path,
                                 header(headers, "X-Vault-Namespace"))
            return "vault", self._op(ns, rel, method, query)[0]

    def _op(self, ns, rel, method, query):
        """(op, mount, key name, datakey kind)."""
        if rel in SYS_PATHS:
            return SYS_PATHS[rel], None, None, None
        if rel in AUTH_PATHS:
            return AUTH_PATHS[rel], None, None, None
        nsrec = self.state.namespaces.get(ns)
        found = find_mount(nsrec, rel) if nsrec else None
        if found is None:
            return "VAULT.Unknown", None, None, None
        op, name, kind = transit_route(method, found[1], query)
        return op, found[0], name, kind

    # -- answers --------------------------------------------------------------
    def envelope(self, ex, data=None, auth=None, warnings=None,
                 mount_type="transit"):
        return {"request_id": ex.request_id, "lease_id": "",
                "renewable": False, "lease_duration": 0, "data": data,
                "wrap_info": None, "warnings": warnings, "auth": auth,
                "mount_type": mount_type}

    def answer(self, status, obj, ex, headers=None):
        hdrs = {"Cache-Control": "no-store"}
        hdrs.update(headers or {})
        if getattr(ex, "vault_write", False) and \
                self.state.node["send_index"] \
                and status < 300:
            with self.state.lock:
                self.state.node["index"] += 1
                idx = self.state.node["index"]
            hdrs["X-Vault-Index"] = "emu-index-%d" % idx
        # Go's json.Encoder: compact, one final newline
        body = b"" if obj is None else json.dumps(
            obj, separators=(",", ":")) + "\n"
        return Response(status, body, VAULT_JSON, hdrs)

    def error(self, err, ex):
        ex.error = "HTTP%d" % err.status
        ex.detail["vault_errors"] = list(err.errors)
        return self.answer(err.status, {"errors": err.errors}, ex,
                           err.headers)

    # -- the request ----------------------------------------------------------
    def handle(self, op, request, headers, ex):
        method, path, query, _, raw = request
        with self.state.lock:
            ns, rel = split_path(self.state, path,
                                 header(headers, "X-Vault-Namespace"))
            _, mount, name, kind = self._op(ns, rel, method, query)
        ex.detail = {"method": method, "path": path, "query": query,
                     "namespace": ns, "rel_path": rel, "mount": mount,
                     "key_name": name, "token_accessor": None,
                     "auth_method": None, "token_sent": None,
                     "x_vault_request": header(headers, "X-Vault-Request"),
                     "x_vault_index": header(headers, "X-Vault-Index")}
        ex.vault_write = method in ("POST", "PUT", "DELETE")
        ex.key_id = "%s/%s" % (mount, name) if name else None
        try:
            return self._handle(op, ns, rel, mount, name, kind, request,
                                headers, ex)
        except VaultError as e:
            return self.error(e, ex)

    def _handle(self, op, ns, rel, mount, name, kind, request, headers,
                ex):
        method, path, query, _, raw = request
        node = self.state.node
        if op == "VAULT.Health":
            return self.health(query, ex)
        if op == "VAULT.SealStatus":
            return self.answer(200, self.seal_status(), ex)
        if node["sealed"]:
            raise VaultError(503, [SEALED])
        if node["standby"] and not node["perf_standby"]:
            return self.standby(path, query, ex)
        if header(headers, "X-Vault-Index") and node["lacking_index"]:
            raise VaultError(412, ["required index state not present"])
        if ns and ns not in self.state.namespaces:
            raise VaultError(404, ['no handler for route "%s". route entry '
                                   'not found.' % rel])
        body = self._body(raw, method, ex)
        if op in LOGINS:
            return self.login(op, ns, body, ex)
        token = self._token(ns, headers, ex)
        if op == "VAULT.LookupSelf":
            return self.answer(200, self.envelope(
                ex, self.lookup(token), mount_type="token"), ex)
        if op == "VAULT.RenewSelf":
            return self.renew(token, body, ex)
        if op == "VAULT.Unknown":
            self._check(token, ns, rel, method, query, ex, exists=True)
            if mount is None:
                raise VaultError(404, ['no handler for route "%s". route '
                                       'entry not found.' % rel])
            rest = rel[len(mount) + 1:]
            if any(transit_route(m, rest, "")[0] != "VAULT.Unknown"
                   for m in ("GET", "POST", "DELETE")):
                raise VaultError(405, ["1 error occurred:\n\t* unsupported "
                                       "operation\n\n"])
            raise VaultError(404, ["1 error occurred:\n\t* unsupported "
                                   "path\n\n"])
        nsrec = self.state.namespaces[ns]
        mrec = nsrec["mounts"][mount]
        with self.state.lock:
            exists = name is None or name in mrec["keys"]
        # Only the paths with an existence check (transit's encrypt and
        # keys) ask "create" of a missing key; decrypt is always an
        # update, and a missing key then answers 400 "encryption key not
        # found" (path_decrypt.go).
        self._check(token, ns, rel, method, query, ex,
                    exists or op in NO_EXISTENCE_CHECK)
        with self.state.lock:
            status, data = self.transit_op(
                op, mrec, name, kind, body, exists, ex)
            self.state.save()
        if data is None:
            return self.answer(status, None, ex)
        return self.answer(status, self.envelope(ex, data), ex)

    def _body(self, raw, method, ex):
        if method in ("GET", "DELETE", "LIST") and not raw:
            return {}
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise VaultError(400, ["error parsing JSON"])
        if not isinstance(body, dict):
            raise VaultError(400, ["error parsing JSON"])
        ex.detail["body_members"] = sorted(body)
        ex.detail["member_encodings"] = {k: member_encoding(k, v)
                                         for k, v in body.items()}
        if isinstance(body.get("batch_input"), list):
            ex.detail["batch_size"] = len(body["batch_input"])
            ex.detail["batch_encodings"] = {
                k: member_encoding(k, v) for item in body["batch_input"]
                if isinstance(item, dict) for k, v in item.items()}
        return body

    # -- node state -----------------------------------------------------------
    def health(self, query, ex):
        node = self.state.node
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))

        def code(name, default):
            try:
                return int(q.get(name, default))
            except ValueError:
                return default

        truthy = ("", "true", "1")
        if not node["initialized"]:
            status = code("uninitcode", 501)
        elif node["sealed"]:
            status = code("sealedcode", 503)
        elif node["perf_standby"]:
            status = code("activecode", 200) if q.get(
                "perfstandbyok") in truthy and "perfstandbyok" in q \
                else code("performancestandbycode", 473)
        elif node["standby"]:
            status = code("activecode", 200) if q.get(
                "standbyok") in truthy and "standbyok" in q \
                else code("standbycode", 429)
        else:
            status = code("activecode", 200)
        body = {"initialized": node["initialized"],
                "sealed": node["sealed"],
                "standby": node["standby"] or node["perf_standby"],
                "performance_standby": node["perf_standby"],
                "replication_performance_mode": "disabled",
                "replication_dr_mode": "disabled",
                "server_time_utc": int(self.clock.now()),
                "version": VERSION, "enterprise": False,
                "echo_duration_ms": 0, "clock_skew_ms": 0}
        if node["initialized"] and not node["sealed"]:
            body.update({"cluster_name": "vault-cluster-emulator",
                         "cluster_id": "a1b2c3d4-0000-4000-8000-"
                                       "000000000001"})
        return self.answer(status, body, ex)

    def seal_status(self):
        node = self.state.node
        body = {"type": "shamir", "initialized": node["initialized"],
                "sealed": node["sealed"], "t": 1, "n": 1, "progress": 0,
                "nonce": "", "version": VERSION,
                "build_date": "2024-02-28T17:07:34Z", "migration": False,
                "recovery_seal": False, "storage_type": "file"}
        if not node["sealed"]:
            body.update({"cluster_name": "vault-cluster-emulator",
                         "cluster_id": "a1b2c3d4-0000-4000-8000-"
                                       "000000000001"})
        return body

    def standby(self, path, query, ex):
        node = self.state.node
        mode = node["standby_mode"]
        if mode == "redirect" and node["active_address"]:
            loc = node["active_address"].rstrip("/") + path + (
                "?" + query if query else "")
            ex.detail["location"] = loc
            ex.error = "HTTP307"
            return self.answer(307, None, ex, {"Location": loc})
        if mode == "429":
            raise VaultError(429, ["node is a standby (emulator)"])
        raise VaultError(503, ["node not active but active cluster node "
                               "not found"])

    # -- tokens ---------------------------------------------------------------
    def _token(self, ns, headers, ex):
        token, how = request_token(headers)
        ex.detail["token_sent"] = how
        if token is None:
            raise VaultError(403, ["permission denied"])
        with self.state.lock:
            rec = self.state.tokens.get(token)
        if rec is None:
            raise VaultError(403, [INVALID_TOKEN])
        ex.detail["token_accessor"] = rec["accessor"]
        ex.detail["auth_method"] = rec["auth_method"]
        if rec["expire_time"] is not None and \
                rec["expire_time"] <= self.clock.now():
            raise VaultError(403, [INVALID_TOKEN])
        tns = rec["namespace"]
        if tns and not (ns == tns or ns.startswith(tns + "/")):
            raise VaultError(403, [DENIED])
        return dict(rec, id=token)

    def _check(self, token, ns, rel, method, query, ex, exists):
        """The token's policies must grant the capability the request
        needs on its path (relative to the token's namespace)."""
        if method in ("GET",) and "list=true" in query or method == "LIST":
            cap = "list"
        elif method == "GET":
            cap = "read"
        elif method == "DELETE":
            cap = "delete"
        else:
            cap = "update" if exists else "create"
        ex.detail["capability"] = cap
        tns = token["namespace"]
        inner = ns[len(tns):].strip("/") if tns else ns
        acl_path = join_ns(inner, rel) if inner else rel
        ex.detail["acl_path"] = acl_path
        if "root" in token["policies"]:
            return
        with self.state.lock:
            pols = self.state.namespaces.get(tns, {}).get("policies", {})
            best, caps = -1, []
            for pname in token["policies"]:
                for pattern, pcaps in (pols.get(pname) or {}).items():
                    score = glob_match(pattern, acl_path)
                    if score > best:
                        best, caps = score, list(pcaps)
                    elif score == best and score >= 0:
                        caps = sorted(set(caps) | set(pcaps))
        if "deny" in caps or cap not in caps:
            raise VaultError(403, [DENIED])

    def issue(self, ns, policies, ttl, max_ttl=0, renewable=True,
              auth_method="token", meta=None, display="token", token=None):
        now = self.clock.now()
        token = token or "hvs." + secrets.token_urlsafe(18)
        rec = {"accessor": secrets.token_urlsafe(18)[:24],
               "namespace": ns.strip("/"), "policies": sorted(policies),
               "ttl": int(ttl), "explicit_max_ttl": int(max_ttl or 0),
               "creation_time": now, "issue_time": now,
               "expire_time": now + int(ttl) if ttl else None,
               "renewable": bool(renewable) and bool(ttl),
               "auth_method": auth_method, "meta": meta or None,
               "display_name": display}
        with self.state.lock:
            self.state.tokens[token] = rec
            self.state.save()
        return token, rec

    def auth_block(self, token, rec):
        left = 0
        if rec["expire_time"] is not None:
            left = max(0, int(round(rec["expire_time"] - self.clock.now())))
        pols = rec["policies"]
        return {"client_token": token, "accessor": rec["accessor"],
                "policies": pols, "token_policies": pols,
                "identity_policies": None, "metadata": rec["meta"],
                "lease_duration": left, "renewable": rec["renewable"],
                "entity_id": "", "token_type": "service", "orphan": True,
                "mfa_requirement": None, "num_uses": 0}

    def lookup(self, token):
        now = self.clock.now()
        exp = token["expire_time"]

        def iso(t):
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
                ".000000000Z"

        return {"accessor": token["accessor"],
                "creation_time": int(token["creation_time"]),
                "creation_ttl": token["ttl"],
                "display_name": token["display_name"], "entity_id": "",
                "expire_time": iso(exp) if exp else None,
                "explicit_max_ttl": token["explicit_max_ttl"],
                "id": token["id"], "issue_time": iso(token["issue_time"]),
                "meta": token["meta"], "num_uses": 0, "orphan": True,
                "path": {"token": "auth/token/create",
                         "approle": "auth/approle/login",
                         "kubernetes": "auth/kubernetes/login",
                         "cert": "auth/cert/login"}[token["auth_method"]],
                "policies": token["policies"],
                "renewable": token["renewable"],
                "ttl": max(0, int(round(exp - now))) if exp else 0,
                "type": "service",
                "namespace_path": (token["namespace"] + "/"
                                   if token["namespace"] else "")}

    def renew(self, token, body, ex):
        if not token["renewable"]:
            raise user_error("lease is not renewable")
        now = self.clock.now()
        try:
            inc = int(str(body.get("increment") or 0).rstrip("s"))
        except ValueError:
            raise user_error("invalid increment")
        ttl = inc or token["ttl"]
        warnings = None
        if token["explicit_max_ttl"]:
            limit = token["creation_time"] + token["explicit_max_ttl"]
            if now + ttl > limit:
                capped = max(0, int(limit - now))
                warnings = ['TTL of "%ds" exceeded the effective max_ttl of '
                            '"%ds"; TTL value is capped accordingly'
                            % (ttl, capped)]
                ttl = capped
        with self.state.lock:
            rec = self.state.tokens[token["id"]]
            rec["expire_time"] = now + ttl
            self.state.save()
        ex.detail["renewed_ttl"] = ttl
        return self.answer(200, self.envelope(
            ex, None, self.auth_block(token["id"], rec), warnings,
            mount_type="token"), ex)

    # -- logins ---------------------------------------------------------------
    def login(self, op, ns, body, ex):
        nsrec = self.state.namespaces[ns]
        ex.detail["auth_method"] = MOUNT_TYPES[op]
        if op == "VAULT.AppRoleLogin":
            role, meta = self.approle(nsrec, body, ex)
        elif op == "VAULT.K8sLogin":
            role, meta = self.kubernetes(nsrec, body, ex)
        else:
            role, meta = self.cert(nsrec, body, ex)
        token, rec = self.issue(ns, role.get("token_policies") or
                                ["default"], role.get("token_ttl", 3600),
                                role.get("token_max_ttl", 0),
                                role.get("renewable", True),
                                MOUNT_TYPES[op], meta,
                                "%s-%s" % (MOUNT_TYPES[op],
                                           ex.detail.get("role")))
        ex.detail["token_accessor"] = rec["accessor"]
        return self.answer(200, self.envelope(
            ex, None, self.auth_block(token, rec),
            mount_type=MOUNT_TYPES[op]), ex)

    def approle(self, nsrec, body, ex):
        role_id = (body.get("role_id") or "").strip()
        if not role_id:
            # the alias lookahead, which runs first, fails with a plain
            # error: Vault answers it as an internal one
            raise VaultError(500, ["missing role_id"])
        with self.state.lock:
            name = next((n for n, r in nsrec["approles"].items()
                         if r["role_id"] == role_id), None)
            if name is None:
                raise user_error("invalid role or secret ID")
            role = nsrec["approles"][name]
            ex.detail["role"] = name
            if role.get("bind_secret_id", True):
                sid = body.get("secret_id")
                if not sid:
                    raise user_error("missing secret_id")
                rec = role["secret_ids"].get(sid)
                if rec is None:
                    raise user_error("invalid role or secret ID")
                if rec["uses"]:
                    rec["uses"] -= 1
                    if rec["uses"] == 0:
                        del role["secret_ids"][sid]
            return role, {"role_name": name}

    def kubernetes(self, nsrec, body, ex):
        name = body.get("role")
        if not name:
            raise user_error("missing role")
        jwt = body.get("jwt")
        if not jwt:
            raise user_error("missing jwt")
        ex.detail["role"] = name
        with self.state.lock:
            role = nsrec["k8s_roles"].get(name)
            if role is None:
                raise user_error('invalid role name "%s"' % name)
            sa = nsrec["k8s_jwts"].get(jwt)
        if sa is None:
            raise VaultError(403, ["permission denied"])
        ex.detail["service_account"] = "%s/%s" % (sa["namespace"],
                                                  sa["name"])
        names = role.get("bound_service_account_names") or []
        if "*" not in names and sa["name"] not in names:
            raise VaultError(403, ["service account name not authorized"])
        spaces = role.get("bound_service_account_namespaces") or []
        if "*" not in spaces and sa["namespace"] not in spaces:
            raise VaultError(403, ["namespace not authorized"])
        return role, {"role": name, "service_account_name": sa["name"],
                      "service_account_namespace": sa["namespace"],
                      "service_account_secret_name": "",
                      "service_account_uid": sa.get("uid", "")}

    def cert(self, nsrec, body, ex):
        if getattr(ex, "scheme", "https") != "https":
            raise user_error("tls connection required")
        der = getattr(ex, "peer_cert", None)
        ex.detail["client_cert"] = der is not None
        if der is None:
            raise user_error("client certificate must be supplied")
        cert = x509.load_der_x509_certificate(der)
        want = body.get("name")
        with self.state.lock:
            roles = dict(nsrec["cert_roles"])
        for name, role in sorted(roles.items()):
            if want and name != want:
                continue
            if issued_by(cert, role["certificate"]):
                ex.detail["role"] = name
                cn = cert.subject.get_attributes_for_oid(
                    x509.NameOID.COMMON_NAME)
                return role, {"cert_name": name, "common_name":
                              cn[0].value if cn else "",
                              "serial_number": str(cert.serial_number),
                              "subject_key_id": "", "authority_key_id": ""}
        raise user_error("invalid certificate or no client certificate "
                         "supplied")

    # -- answers altered on purpose (tests of a client's checks) -------------
    def tampered_sig(self, name, data):
        """sign's answer with the version or length the key's tamper
        entry ("signature_version", "signature_len") gives."""
        t = self.tamper.get(name) or {}
        ver, _, sig = data["signature"][len("vault:v"):].partition(":")
        if t.get("signature_len") is not None:
            raw = b64decode(sig)[:t["signature_len"]]
            sig = base64.b64encode(raw).decode()
        if t.get("signature_version") is not None:
            ver = str(t["signature_version"])
        return dict(data, signature="vault:v%s:%s" % (ver, sig))

    def tampered_info(self, mrec, name, data):
        """The key read with every version's public_key replaced by the
        latest of the key the tamper entry's "public_key_of" names."""
        other = (self.tamper.get(name) or {}).get("public_key_of")
        if other is None:
            return data
        theirs = self.transit.info(other, mrec["keys"][other])
        pem = theirs["keys"][str(theirs["latest_version"])]["public_key"]
        for rec in data["keys"].values():
            rec["public_key"] = pem
        return data

    # -- transit --------------------------------------------------------------
    def transit_op(self, op, mrec, name, kind, body, exists, ex):
        """(status, data or None) of a transit request."""
        tr = self.transit
        if op == "VAULT.ListKeys":
            if not mrec["keys"]:
                raise VaultError(404, [])
            return 200, {"keys": sorted(mrec["keys"])}
        if op == "VAULT.ConfigKeys":
            if ex.detail["method"] != "GET":
                if "disable_upsert" in body:
                    mrec["config"]["disable_upsert"] = bool(
                        body["disable_upsert"])
            return 200, dict(mrec["config"])
        key = mrec["keys"].get(name)
        if op == "VAULT.Encrypt":
            items, batch = batch_items(body, "plaintext")
            context_set = check_contexts(items)
            if key is None:
                if mrec["config"]["disable_upsert"]:
                    raise user_error(KEY_NOT_FOUND)
                ktype = body.get("type", "aes256-gcm96")
                if ktype not in KEY_TYPES or KEY_TYPES[ktype][1] is None:
                    raise user_error("unknown key type %s" % ktype)
                key = tr.create(mrec, name, ktype, context_set)
                ex.detail["upserted"] = True
            ex.detail["key_version"] = key["latest"]
            return run_encrypt(tr, key, items, batch, body)
        if op in ("VAULT.Decrypt", "VAULT.Rewrap"):
            items, batch = batch_items(body, "ciphertext")
            check_contexts(items)
            if key is None:
                raise user_error(KEY_NOT_FOUND)
            ex.detail["key_version"] = cipher_versions(items)
            run = run_decrypt if op == "VAULT.Decrypt" else run_rewrap
            return run(tr, key, items, batch, body)
        if op == "VAULT.Sign":
            if key is None:
                raise user_error("signing key not found")
            data = sign(key, body, kind)
            ex.detail["key_version"] = data["key_version"]
            return 200, self.tampered_sig(name, data)
        if op == "VAULT.DataKey":
            ctx = datakey_checks(kind, body)
            if key is None:
                raise user_error(KEY_NOT_FOUND)
            data = datakey(tr, key, kind, ctx, body)
            ex.detail["key_version"] = data["key_version"]
            return 200, data
        if op == "VAULT.CreateKey":
            if key is None:
                ktype = body.get("type", "aes256-gcm96")
                key = tr.create(mrec, name, ktype, body.get("derived"),
                                body.get("exportable"))
            return 200, tr.info(name, key)
        if key is None:
            if op == "VAULT.DeleteKey":
                return 204, None
            if op == "VAULT.ReadKey":
                raise VaultError(404, [])
            raise user_error("key not found" if op == "VAULT.RotateKey" else
                             "no existing key named %s could be found"
                             % name)
        if op == "VAULT.ReadKey":
            return 200, self.tampered_info(mrec, name, tr.info(name, key))
        if op == "VAULT.RotateKey":
            tr.rotate(key)
            ex.detail["key_version"] = key["latest"]
            return 200, tr.info(name, key)
        if op == "VAULT.ConfigKey":
            tr.configure(key, body)
            return 200, tr.info(name, key)
        if op == "VAULT.DeleteKey":
            if not key["deletion_allowed"]:
                raise user_error("deletion is not allowed for this key")
            del mrec["keys"][name]
            return 204, None
        raise VaultError(500, ["unhandled op %s" % op])


def cipher_versions(items):
    """The key versions the ciphertexts name (for the call log)."""
    out = []
    for item in items:
        ct = item.get("ciphertext") if isinstance(item, dict) else None
        if isinstance(ct, str) and ct.startswith("vault:v"):
            v = ct[len("vault:v"):].split(":", 1)[0]
            out.append(int(v) if v.isdigit() else v)
        else:
            out.append(None)
    return out[0] if len(out) == 1 else out


def issued_by(cert, ca_pem):
    """Whether cert names ca_pem's subject as issuer and carries its
    signature (one level; the test CAs sign leaves directly)."""
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    if cert.issuer != ca.subject:
        return False
    pub = ca.public_key()
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes,
                       padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(cert.signature, cert.tbs_certificate_bytes,
                       ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except InvalidSignature:
        return False
    now = time.time()
    return (cert.not_valid_before.timestamp() <= now
            <= cert.not_valid_after.timestamp())


def fault_response(kind, status, ex, decision, api):
    """Injected failures in Vault's shapes: 429 the rate-limit quota answer
    with Retry-After, 500 and 503 Vault's {"errors"} bodies, 502 and 504 an
    HTML page (a proxy in front of Vault)."""
    method, path, query, headers, _ = ex.request
    with api.state.lock:
        ns, rel = split_path(api.state, path,
                             header(headers, "X-Vault-Namespace"))
    ex.detail = {"method": method, "path": path, "namespace": ns,
                 "rel_path": rel}
    ms = int(getattr(decision, "retry_after_ms", 1000))
    if kind == "throttle":
        retry = {"Retry-After": str(int(math.ceil(ms / 1000.0)))}
        ex.detail["retry_after"] = dict(retry)
        return api.error(VaultError(429, ['request path "%s": rate limit '
                                          'quota exceeded' % rel], retry),
                         ex)
    if status == 500:
        return api.error(VaultError(500, ["1 error occurred:\n\t* internal "
                                          "error\n\n"]), ex)
    if status == 503:
        return api.error(VaultError(503, [SEALED]), ex)
    return Response(status, "<html><body>%d</body></html>" % status,
                    "text/html", error="HTTP%d" % status)


class VaultControl:
    """Control commands vault_*, mixed into kms_emulator.Control."""

    def _v(self):
        return self.app.vault

    def _vns(self, args):
        return self._v().state.ns(str(args.get("namespace") or ""))

    def _vmount(self, args):
        mounts = self._vns(args)["mounts"]
        name = str(args.get("mount") or "transit").strip("/")
        if name not in mounts:
            raise KeyError("unknown mount %r" % name)
        return mounts[name]

    def _vsaved(self, fn):
        v = self._v()
        with v.state.lock:
            out = fn()
            v.state.save()
        return out

    def cmd_vault_namespace(self, args):
        """{"path": "ns1" | "ns1/ns2", "mounts": ["transit"]}"""
        path = str(args["path"]).strip("/")
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        v = self._v()

        def run():
            v.state.ns(parent)
            v.state.namespaces.setdefault(path, new_namespace(
                args.get("mounts", ["transit"])))
            return {"namespaces": sorted(v.state.namespaces)}
        return self._vsaved(run)

    def cmd_vault_mount(self, args):
        """{"namespace", "path"}: a transit mount."""
        ns = self._vns(args)
        return self._vsaved(lambda: ns["mounts"].setdefault(
            str(args["path"]).strip("/"), new_mount()) and {
                "mounts": sorted(ns["mounts"])})

    def cmd_vault_create_key(self, args):
        """{"namespace", "mount", "name", "type", "derived", "exportable"}"""
        v = self._v()
        mrec = self._vmount(args)

        def run():
            key = v.transit.create(mrec, str(args["name"]),
                                   args.get("type", "aes256-gcm96"),
                                   args.get("derived", False),
                                   args.get("exportable", False))
            return v.transit.info(str(args["name"]), key)
        return self._vsaved(run)

    def _vkey(self, args):
        key = self._vmount(args)["keys"].get(str(args["name"]))
        if key is None:
            raise KeyError("unknown key %r" % args["name"])
        return key

    def cmd_vault_key_config(self, args):
        """{"namespace", "mount", "name", "min_decryption_version",
        "min_encryption_version", "deletion_allowed", "exportable"}"""
        v = self._v()

        def run():
            key = self._vkey(args)
            v.transit.configure(key, args)
            return v.transit.info(str(args["name"]), key)
        return self._vsaved(run)

    def cmd_vault_rotate(self, args):
        v = self._v()

        def run():
            key = self._vkey(args)
            v.transit.rotate(key)
            return v.transit.info(str(args["name"]), key)
        return self._vsaved(run)

    def cmd_vault_key_material(self, args):
        """{"namespace", "mount", "name"}: every version's key (hex, or the
        RSA private key PEM), for tests that check the cryptography."""
        with self._v().state.lock:
            key = self._vkey(args)
            return {"type": key["type"], "derived": key["derived"],
                    "keys": {v: rec["key"]
                             for v, rec in key["versions"].items()}}

    def cmd_vault_tamper(self, args):
        """{"name", "signature_version"?, "signature_len"?,
        "public_key_of"?}: that key's sign and read answers altered (any
        mount; not kept across a restart); {"name"} alone: as they are."""
        t = {k: args[k] for k in ("signature_version", "signature_len",
                                  "public_key_of")
             if args.get(k) is not None}
        if t:
            self._v().tamper[str(args["name"])] = t
        else:
            self._v().tamper.pop(str(args["name"]), None)
        return t

    def cmd_vault_policy(self, args):
        """{"namespace", "name", "paths": {path: [caps]} | null}"""
        paths = args.get("paths")
        if paths is not None and not (isinstance(paths, dict) and all(
                isinstance(c, list) and set(c) <= set(CAPS)
                for c in paths.values())):
            raise ValueError("paths: {path: [%s...]} or null"
                             % "|".join(CAPS))
        ns = self._vns(args)

        def run():
            if paths is None:
                ns["policies"].pop(str(args["name"]), None)
            else:
                ns["policies"][str(args["name"])] = paths
        return self._vsaved(run)

    def cmd_vault_token(self, args):
        """{"namespace", "policies", "ttl" (0: none), "max_ttl",
        "renewable", "token"} -> {token, accessor}"""
        self._vns(args)
        token, rec = self._v().issue(
            str(args.get("namespace") or ""), args.get("policies",
                                                       ["root"]),
            int(args.get("ttl", 0)), int(args.get("max_ttl", 0)),
            args.get("renewable", True), token=args.get("token"))
        return {"token": token, "accessor": rec["accessor"],
                "expire_time": rec["expire_time"]}

    def cmd_vault_expire_token(self, args):
        """{"token"} or {"accessor"}: expired now."""
        v = self._v()

        def run():
            n = 0
            for tok, rec in v.state.tokens.items():
                if tok == args.get("token") or \
                        rec["accessor"] == args.get("accessor"):
                    rec["expire_time"] = v.clock.now() - 1
                    n += 1
            if not n:
                raise KeyError("unknown token")
            return {"expired": n}
        return self._vsaved(run)

    def cmd_vault_token_info(self, args):
        with self._v().state.lock:
            rec = self._v().state.tokens.get(str(args["token"]))
            return dict(rec) if rec else {"accessor": None}

    def cmd_vault_approle(self, args):
        """{"namespace", "name", "role_id", "secret_id", "secret_id_num_uses"
        (0: unlimited), "token_policies", "token_ttl", "token_max_ttl",
        "bind_secret_id"} -> {role_id, secret_id}"""
        ns = self._vns(args)
        name = str(args["name"])

        def run():
            role = ns["approles"].setdefault(name, {
                "role_id": str(args.get("role_id") or uuid.uuid4()),
                "secret_ids": {}})
            for k in ("token_policies", "token_ttl", "token_max_ttl",
                      "bind_secret_id"):
                if k in args:
                    role[k] = args[k]
            sid = str(args.get("secret_id") or uuid.uuid4())
            role["secret_ids"][sid] = {"uses": int(args.get(
                "secret_id_num_uses", 0))}
            return {"role_id": role["role_id"], "secret_id": sid}
        return self._vsaved(run)

    def cmd_vault_k8s_role(self, args):
        """{"namespace", "name", "bound_service_account_names",
        "bound_service_account_namespaces", "token_policies", "token_ttl",
        "token_max_ttl", "jwt": {"token", "service_account_name",
        "service_account_namespace"}}"""
        ns = self._vns(args)

        def run():
            if "name" in args:
                ns["k8s_roles"][str(args["name"])] = {
                    k: args[k] for k in (
                        "bound_service_account_names",
                        "bound_service_account_namespaces",
                        "token_policies", "token_ttl", "token_max_ttl")
                    if k in args}
            jwt = args.get("jwt")
            if jwt:
                ns["k8s_jwts"][str(jwt["token"])] = {
                    "name": str(jwt["service_account_name"]),
                    "namespace": str(jwt["service_account_namespace"]),
                    "uid": str(uuid.uuid4())}
        return self._vsaved(run)

    def cmd_vault_cert_role(self, args):
        """{"namespace", "name", "certificate" (CA PEM), "token_policies",
        "token_ttl"}: also trusted by the TLS listener from now on."""
        ns = self._vns(args)
        pem = str(args["certificate"])
        x509.load_pem_x509_certificate(pem.encode())
        trust = getattr(self.app, "trust_client_ca", None)
        if trust:
            trust(pem)

        def run():
            ns["cert_roles"][str(args["name"])] = {
                "certificate": pem, **{k: args[k] for k in (
                    "token_policies", "token_ttl", "token_max_ttl")
                    if k in args}}
        return self._vsaved(run)

    def cmd_vault_seal(self, args):
        """{"initialized": bool}: sealed (and uninitialized if false)."""
        node = self._v().state.node
        return self._vsaved(lambda: node.update(
            sealed=True, initialized=bool(args.get("initialized", True)))
            or dict(node))

    def cmd_vault_unseal(self, args):
        node = self._v().state.node
        return self._vsaved(lambda: node.update(sealed=False,
                                               initialized=True)
                           or dict(node))

    def cmd_vault_standby(self, args):
        """{"standby": bool, "mode": "redirect"|"503"|"429",
        "active_address", "perf_standby": bool}"""
        mode = str(args.get("mode", "redirect"))
        if mode not in ("redirect", "503", "429"):
            raise ValueError("mode: redirect, 503 or 429")
        node = self._v().state.node
        return self._vsaved(lambda: node.update(
            standby=bool(args.get("standby", True)), standby_mode=mode,
            active_address=str(args.get("active_address", "")),
            perf_standby=bool(args.get("perf_standby", False)))
            or dict(node))

    def cmd_vault_consistency(self, args):
        """{"lacking_index": bool, "send_index": bool}"""
        node = self._v().state.node
        return self._vsaved(lambda: node.update(
            {k: bool(args[k]) for k in ("lacking_index", "send_index")
             if k in args}) or dict(node))


__all__ = ["VaultApi", "VaultControl", "VaultError", "fault_response"]
