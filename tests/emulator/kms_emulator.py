#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# KMS emulator for the test suite: HTTP(S) front end on 127.0.0.1 routing to
# AWS KMS, STS, container-credential, IMDSv2, the Google, Azure and Vault
# routes and the control endpoints.
"""AWS KMS emulator for tests (stdlib + python3-cryptography).

Usage:
  kms_emulator.py --state-dir DIR [--port 0] [--tls-cert F --tls-key K
                  [--tls-port 0]] [--ready-file F] [--region R]
                  [--account A] [--verbose]

Listens on 127.0.0.1 only. The ready file is written (atomically) once every
socket is bound: lines port=N, tls_port=N (0 without TLS) and pid=N. Every
KMS/STS/IMDS/container request is logged as one JSON line in DIR/calls.jsonl;
keys and credentials are kept in DIR/state.json. See README.md for the
routes and the control API.
"""

import argparse
import hashlib
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cred_endpoints import (CredentialSettings, ContainerCredentials,  # noqa
                            Imds, Response, Sts, form_params, json_response)
import azure_api  # noqa: E402
from azure_kv import AzError  # noqa: E402
from faults import Faults  # noqa: E402
import gcp_api  # noqa: E402
from gcp_kms import GcpError  # noqa: E402
from kms_api import KmsApi  # noqa: E402
from kms_asym import algorithms, check_spec  # noqa: E402
from sigv4 import SigV4Error, Verifier, access_key_hint  # noqa: E402
from store import Credential, KmsError, Store  # noqa: E402
import vault_api  # noqa: E402

MAX_BODY = 1 << 20
DISCARD_LIMIT = 16 << 20
KMS_JSON = "application/x-amz-json-1.1"
TARGET_PREFIX = "TrentService."
BAD_TOKEN = "The security token included in the request is invalid."


class Clock:
    """The emulator's clock: real time plus an offset set by the tests."""

    def __init__(self):
        self.offset = 0.0

    def now(self):
        return time.time() + self.offset


class CallLog:
    """In-memory list and DIR/calls.jsonl, one JSON object per call."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.entries = []
        open(path, "a", encoding="utf-8").close()

    def append(self, rec):
        line = json.dumps(rec, sort_keys=True)
        with self.lock:
            self.entries.append(rec)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def all(self):
        with self.lock:
            return list(self.entries)

    def reset(self):
        with self.lock:
            self.entries = []
            open(self.path, "w", encoding="utf-8").close()


class Exchange:
    """What one request did, for the call log."""

    def __init__(self, endpoint, op):
        self.endpoint = endpoint
        self.op = op
        self.request_id = str(uuid.uuid4())
        self.key_id = None
        self.request_key_id = None  # KMS: the KeyId member as sent
        self.source_key_id = None  # ReEncrypt: the SourceKeyId as sent
        self.user_agent = None
        self.access_key_id = None
        self.error = None
        self.fault = None
        self.detail = None
        # When the request line was read (time.time()), and for Decrypt and
        # ReEncrypt a short digest of the CiphertextBlob as sent: benchmarks
        # take the emulator's own time per request from start to time and
        # match requests to the client operations that sent them.
        self.start = None
        self.blob_sha = None

    def record(self, status):
        rec = {"time": round(time.time(), 6), "endpoint": self.endpoint,
               "op": self.op, "key_id": self.key_id,
               "access_key_id": self.access_key_id, "status": status,
               "error": self.error, "fault": self.fault,
               "request_id": self.request_id,
               "request_key_id": self.request_key_id,
               "user_agent": self.user_agent}
        if self.source_key_id is not None:
            rec["source_key_id"] = self.source_key_id
        if self.start is not None:
            rec["start"] = round(self.start, 6)
        if self.blob_sha is not None:
            rec["blob_sha"] = self.blob_sha
        if self.detail:
            rec.update(self.detail)
        return rec


class Authenticator:
    """SigV4 plus the credential table: who is calling, or SigV4Error."""

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def _credential(self, auth, headers):
        cred = self.store.credential(auth.access_key_id)
        token = Verifier.header(headers, "x-amz-security-token")
        if cred is None or (cred.token is None and token is not None):
            raise SigV4Error("UnrecognizedClientException", BAD_TOKEN)
        if cred.token is not None and (
                token is None or token != cred.token):
            raise SigV4Error("UnrecognizedClientException", BAD_TOKEN)
        if cred.expires is not None and cred.expires <= self.clock.now():
            raise SigV4Error("ExpiredTokenException", "The security token "
                             "included in the request is expired")
        return cred

    def authenticate(self, request, service, ex):
        """request: (method, raw_path, raw_query, headers, body)."""
        region = self.store.region if service == "kms" else None
        verifier = Verifier(service, region)
        headers = request[3]
        auth, amz_date = verifier.parse(headers)
        ex.access_key_id = auth.access_key_id
        verifier.check_scope(auth, amz_date)
        cred = self._credential(auth, headers)
        verifier.check_time(amz_date, self.clock.now())
        verifier.check_signature(request, auth, amz_date, cred.secret)
        return cred


def kms_error(status, code, message, ex):
    ex.error = code
    body = {"__type": code}
    if message is not None:
        body["message"] = message
    return Response(status, json.dumps(body), KMS_JSON)


class Control(gcp_api.GcpControl, azure_api.AzureControl,
              vault_api.VaultControl):
    """POST /_emulator/<command> with a JSON object; answers JSON (the
    gcp_* commands come from gcp_api.GcpControl, the azure_* ones from
    azure_api.AzureControl, the vault_* ones from vault_api.VaultControl)."""

    def __init__(self, app):
        self.app = app

    def handle(self, command, body):
        fn = getattr(self, "cmd_" + command, None)
        if fn is None:
            return json_response(404, {"error": "unknown command %s"
                                       % command})
        try:
            args = json.loads(body or b"{}")
            if not isinstance(args, dict):
                raise ValueError("the body must be a JSON object")
            return json_response(200, fn(args) or {})
        except KmsError as e:
            return json_response(400, {"error": e.code, "message": e.message})
        except GcpError as e:
            return json_response(e.http, {"error": e.status,
                                          "message": e.message})
        except AzError as e:
            return json_response(e.status, {"error": e.code,
                                            "message": e.message})
        except vault_api.VaultError as e:
            return json_response(400, {"error": "vault", "errors": e.errors})
        except (ValueError, KeyError, TypeError) as e:
            return json_response(400, {"error": "%s: %s"
                                       % (type(e).__name__, e)})

    def _key(self, args):
        return self.app.store.resolve(args["key_id"])

    def cmd_create_key(self, args):
        store = self.app.store
        allow = args.get("allow")
        if allow is not None and not isinstance(allow, list):
            raise ValueError("allow must be a list of principals")
        origin = args.get("origin", "AWS_KMS")
        if origin not in ("AWS_KMS", "EXTERNAL"):
            raise ValueError("origin must be AWS_KMS or EXTERNAL")
        spec = args.get("key_spec", "SYMMETRIC_DEFAULT")
        usage = args.get("key_usage", "SIGN_VERIFY" if spec.startswith("ECC")
                         else "ENCRYPT_DECRYPT")
        check_spec(spec, usage)
        if args.get("alias"):
            store.check_alias_name(args["alias"])
        only = args.get("signing_algorithms")
        if only is not None:
            full = algorithms(spec, usage).get("SigningAlgorithms")
            if (full is None or not isinstance(only, list) or not only or
                    any(a not in full for a in only)):
                raise ValueError("signing_algorithms must be some of %s"
                                 % full)
        key = store.create_key(args.get("description", ""), allow,
                               self.app.clock.now(), origin, spec, usage)
        if only is not None:
            with store.lock:
                key.signing_algorithms = list(only)
            store.save()
        if args.get("alias"):
            store.create_alias(args["alias"], key.key_id)
        return {"key_id": key.key_id, "arn": store.key_arn(key.key_id)}

    def cmd_replace_key_pair(self, args):
        """A new private key behind an asymmetric key (its public key
        changes)."""
        key = self._key(args)
        self.app.store.replace_key_pair(key)
        return {"key_id": key.key_id}

    def cmd_disable_key(self, args):
        self.app.store.set_state(self._key(args), "Disabled")

    def cmd_enable_key(self, args):
        self.app.store.set_state(self._key(args), "Enabled")

    def cmd_schedule_deletion(self, args):
        key = self._key(args)
        self.app.store.set_state(key, "PendingDeletion",
                                 int(args.get("days", 7)),
                                 self.app.clock.now())
        return {"deletion_date": key.deletion_date}

    def cmd_cancel_deletion(self, args):
        self.app.store.set_state(self._key(args), "Disabled")

    def cmd_delete_key(self, args):
        self.app.store.delete_key(self._key(args))

    def cmd_update_alias(self, args):
        store = self.app.store
        key = store.update_alias(args["alias"], args["key_id"])
        return {"key_id": key.key_id, "arn": store.key_arn(key.key_id)}

    def cmd_rotate_key(self, args):
        """As RotateKeyOnDemand, without a signed request."""
        key = self._key(args)
        self.app.store.rotate_material(key, "ON_DEMAND",
                                       self.app.clock.now())
        return {"key_id": key.key_id,
                "material_version": key.material_version()}

    def cmd_set_policy(self, args):
        allow = args.get("allow")
        if allow is not None and not isinstance(allow, list):
            raise ValueError("allow must be a list or null")
        self.app.store.set_allow(self._key(args), allow)

    def cmd_describe_key(self, args):
        return self.app.store.metadata(self._key(args))

    def cmd_add_credentials(self, args):
        expires = None
        if args.get("expires_in") is not None:
            expires = self.app.clock.now() + float(args["expires_in"])
        cred = Credential(str(args["access_key_id"]), str(args["secret"]),
                          args.get("session_token"), expires,
                          args.get("principal"))
        self.app.store.add_credential(cred)

    def cmd_remove_credentials(self, args):
        return {"removed": self.app.store.remove_credential(
            args["access_key_id"])}

    def cmd_expire_credentials(self, args):
        cred = self.app.store.credential(args["access_key_id"])
        if cred is None:
            raise ValueError("unknown access key id")
        cred.expires = self.app.clock.now() - 1
        self.app.store.save()

    def cmd_faults(self, args):
        self.app.faults.configure(args)
        return self.app.faults.snapshot()

    def cmd_clear_faults(self, args):
        self.app.faults.clear()

    def cmd_calls(self, args):
        calls = self.app.log.all()
        if args.get("op"):
            calls = [c for c in calls if c["op"] == args["op"]]
        return {"calls": calls}

    def cmd_reset_calls(self, args):
        self.app.log.reset()

    def cmd_clock_offset(self, args):
        self.app.clock.offset = float(args["seconds"])
        return {"seconds": self.app.clock.offset}

    def cmd_import_token_ttl(self, args):
        self.app.kms_import.token_ttl = int(args["seconds"])
        return {"seconds": self.app.kms_import.token_ttl}

    def cmd_credential_ttl(self, args):
        self.app.settings.ttl = int(args["seconds"])

    def cmd_web_identity(self, args):
        s = self.app.settings
        if "tokens" in args:
            tokens = args["tokens"]
            s.web_tokens = None if tokens is None else set(tokens)
        if "expired_tokens" in args:
            s.expired_web_tokens = set(args["expired_tokens"] or [])

    def cmd_container(self, args):
        s = self.app.settings
        s.container_token = str(args.get("token", ""))
        s.container_role = str(args.get("role", s.container_role))

    def cmd_imds(self, args):
        s = self.app.settings
        s.imds_role = str(args.get("role", s.imds_role))
        s.imds_enabled = bool(args.get("enabled", True))

    def cmd_status(self, args):
        app = self.app
        with app.store.lock:
            keys = [app.store.metadata(k) for k in app.store.keys.values()]
            aliases = dict(app.store.aliases)
        return {"ports": app.ports, "region": app.store.region,
                "account": app.store.account, "keys": keys,
                "aliases": aliases, "faults": app.faults.snapshot(),
                "clock_offset": app.clock.offset}


class App:
    """All components of one emulator process, shared by both listeners."""

    def __init__(self, state_dir, region, account):
        self.clock = Clock()
        self.store = Store(region, account,
                           os.path.join(state_dir, "state.json"))
        self.log = CallLog(os.path.join(state_dir, "calls.jsonl"))
        self.faults = Faults()
        self.settings = CredentialSettings()
        self.auth = Authenticator(self.store, self.clock)
        self.store.now = self.clock.now
        self.kms = KmsApi(self.store, self.clock)
        self.kms_import = self.kms.importer
        self.sts = Sts(self.store, self.clock, self.settings,
                       self.auth.authenticate)
        self.container = ContainerCredentials(self.store, self.clock,
                                              self.settings)
        self.imds = Imds(self.store, self.clock, self.settings)
        self.gcp = gcp_api.GcpApi(os.path.join(state_dir, "gcp_state.json"),
                                  self.clock)
        self.azure = azure_api.AzureApi(
            os.path.join(state_dir, "azure_state.json"), self.clock)
        self.vault = vault_api.VaultApi(
            os.path.join(state_dir, "vault_state.json"), self.clock)
        self.trust_client_ca = None  # set with TLS: adds a client CA
        self.control = Control(self)
        self.ports = {}

    def classify(self, method, path, query, headers, body):
        """(endpoint, op) of a request, before any processing. Vault's
        requests are told from Google's (both under /v1/) by X-Vault-*
        headers, else by Google's path prefixes, so a Google request is
        never taken for Vault's."""
        if path.startswith("/latest/"):
            if path == "/latest/api/token":
                return "imds", "IMDS.Token"
            if path.startswith(Imds.CRED_PREFIX):
                return "imds", ("IMDS.Role" if path == Imds.CRED_PREFIX
                                else "IMDS.Credentials")
            return "imds", "IMDS.Get"
        if path.startswith("/container/"):
            return "container", "ContainerCredentials"
        if vault_api.header(headers, "X-Vault-Token") or vault_api.header(
                headers, "X-Vault-Request"):
            vault = self.vault.classify(method, path, query, headers)
            if vault is not None:
                return vault
        google = gcp_api.classify(method, path)
        if google is not None:
            return google
        azure = azure_api.classify(method, path)
        if azure is not None:
            return azure
        vault = self.vault.classify(method, path, query, headers)
        if vault is not None:
            return vault
        target = headers.get("X-Amz-Target")
        if target is not None:
            op = target[len(TARGET_PREFIX):] if target.startswith(
                TARGET_PREFIX) else target
            return "kms", op
        ctype = headers.get("Content-Type", "")
        if (ctype.startswith("application/x-www-form-urlencoded")
                or "Action=" in query):
            return "sts", form_params(query, body, ctype).get("Action", "STS")
        return "unknown", "Unknown"

    def kms_request(self, op, request, ex):
        headers = request[3]
        target = Verifier.header(headers, "x-amz-target") or ""
        if not target.startswith(TARGET_PREFIX) or op not in self.kms.ops:
            return kms_error(400, "com.amazon.coral.service#"
                             "UnknownOperationException", None, ex)
        try:
            caller = self.auth.authenticate(request, "kms", ex)
            params = json.loads(request[4] or b"{}")
            if not isinstance(params, dict):
                raise ValueError("not an object")
            if isinstance(params.get("KeyId"), str):
                ex.request_key_id = params["KeyId"]
            if isinstance(params.get("DestinationKeyId"), str):
                ex.request_key_id = params["DestinationKeyId"]
            if isinstance(params.get("SourceKeyId"), str):
                ex.source_key_id = params["SourceKeyId"]
            if isinstance(params.get("CiphertextBlob"), str):
                ex.blob_sha = hashlib.sha256(
                    params["CiphertextBlob"].encode()).hexdigest()[:16]
            result = self.kms.ops[op](params, caller, ex)
        except SigV4Error as e:
            ex.detail = e.detail
            return kms_error(400, e.code, e.message, ex)
        except KmsError as e:
            return kms_error(e.status, e.code, e.message, ex)
        except ValueError:
            return kms_error(400, "SerializationException",
                             "Start of structure or map found where not "
                             "expected.", ex)
        if result is None:
            return Response(200, b"", KMS_JSON)
        return Response(200, json.dumps(result), KMS_JSON)

    def dispatch(self, endpoint, op, request, headers, ex):
        method, path, query, _, body = request
        if endpoint == "kms":
            return self.kms_request(op, request, ex)
        if endpoint == "sts":
            params = form_params(query, body,
                                 headers.get("Content-Type", ""))
            return self.sts.handle(params, request, ex)
        if endpoint == "container":
            if method != "GET":
                return Response(405, "Method Not Allowed")
            return self.container.handle(headers, ex)
        if endpoint == "imds":
            return self.imds.handle(method, path, headers, ex)
        if endpoint in ("gcp", "gcp-oauth"):
            return self.gcp.handle(op, request, headers, ex)
        if endpoint in ("azure", "azure-id"):
            return self.azure.handle(op, request, headers, ex)
        if endpoint == "vault":
            return self.vault.handle(op, request, headers, ex)
        return json_response(404, {"message": "Not Found"})

    def fault_response(self, endpoint, kind, status, ex, decision=None):
        if endpoint in ("gcp", "gcp-oauth"):
            return gcp_api.fault_response(kind, status, ex)
        if endpoint in ("azure", "azure-id"):
            return azure_api.fault_response(kind, status, ex, decision)
        if endpoint == "vault":
            return vault_api.fault_response(kind, status, ex, decision,
                                            self.vault)
        if kind == "throttle":
            if endpoint == "kms":
                return kms_error(400, "ThrottlingException", "Rate exceeded",
                                 ex)
            if endpoint == "sts":
                return self.sts._error(400, "Throttling", "Rate exceeded",
                                       ex.request_id)
            return Response(429, "Too Many Requests", error="Throttling")
        if endpoint == "kms":
            code = {500: "KMSInternalException",
                    503: "DependencyTimeoutException"}.get(status)
            if code:
                return kms_error(status, code, "injected failure", ex)
        return Response(status, "<html><body>%d</body></html>" % status,
                        "text/html", error="HTTP%d" % status)


def override_members(body, override):
    """A 200 JSON answer with members set (a null value removes one), for
    answers that are well-formed JSON but wrong: missing or mistyped
    members, another KeyId."""
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return body
    if not isinstance(answer, dict):
        return body
    for name, value in override.items():
        if value is None:
            answer.pop(name, None)
        else:
            answer[name] = value
    return json.dumps(answer).encode()


def azure_headers(resp, ex, headers):
    """Every Azure answer names itself (x-ms-request-id) and echoes the
    client's x-ms-client-request-id."""
    resp.headers["x-ms-request-id"] = ex.request_id
    client_id = headers.get("x-ms-client-request-id")
    if client_id is not None:
        resp.headers["x-ms-client-request-id"] = client_id


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kms-emulator"
    sys_version = ""
    timeout = 60
    # Headers and body go out in two writes: without TCP_NODELAY the body
    # waits for the client's delayed ACK (40 ms a request on Linux).
    disable_nagle_algorithm = True

    def date_time_string(self, timestamp=None):
        # The Date header follows the emulator clock so clients can measure
        # their skew from it, as they do against AWS.
        return super().date_time_string(self.server.app.clock.now())

    def parse_request(self):
        # Called as soon as the request line is in: the start of the
        # emulator's own time for this request.
        self.started = time.time()
        return super().parse_request()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("kms-emulator: %s\n" % (fmt % args))

    def do_GET(self):
        self.serve()

    def do_POST(self):
        self.serve()

    def do_PUT(self):
        self.serve()

    def do_PATCH(self):
        self.serve()

    def do_DELETE(self):
        self.serve()

    def do_LIST(self):
        # Vault's LIST method (the CLI's and most clients' key listing)
        self.serve()

    def read_body(self):
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self.send(Response(411, "Length Required"))
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self.discard(length)
            self.send(Response(413 if length > 0 else 400,
                               "Request body too large or invalid"))
            return None
        return self.rfile.read(length) if length else b""

    def discard(self, length):
        """Read (and drop) a refused body up to DISCARD_LIMIT so that the
        client sees the 413 instead of a reset while it is still sending."""
        length = min(length, DISCARD_LIMIT)
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                return
            length -= len(chunk)

    def serve(self):
        body = self.read_body()
        if body is None:
            return
        path, _, query = self.path.partition("?")
        app = self.server.app
        if path.startswith("/_emulator/"):
            self.send(app.control.handle(path[len("/_emulator/"):], body))
            return
        headers = list(self.headers.items())
        request = (self.command, path, query, headers, body)
        endpoint, op = app.classify(self.command, path, query, self.headers,
                                    body)
        ex = Exchange(endpoint, op)
        ex.start = getattr(self, "started", None)
        ex.scheme = "http" if self.server.tls_ctx is None else "https"
        ex.request, ex.headers = request, self.headers
        ex.access_key_id = access_key_hint(self.headers.get("Authorization"))
        ex.user_agent = self.headers.get("User-Agent")
        # Vault's cert auth: the TLS client certificate, if one was sent
        ex.peer_cert = (self.connection.getpeercert(True)
                        if self.server.tls_ctx is not None else None)
        decision = app.faults.decide(op, endpoint == "kms")
        ex.fault = decision.kind
        if decision.latency_ms:
            ex.fault = ex.fault or "latency"
            time.sleep(decision.latency_ms / 1000.0)
        if decision.kind == "reset":
            app.log.append(ex.record(None))
            self.reset()
            return
        if decision.kind == "close":
            # Read, then closed (FIN) without an answer: a server dropping
            # a kept-alive connection with a request in flight.
            app.log.append(ex.record(None))
            self.close_connection = True
            return
        if decision.kind in ("throttle", "5xx"):
            resp = app.fault_response(endpoint, decision.kind,
                                      decision.status, ex, decision)
        else:
            resp = app.dispatch(endpoint, op, request, self.headers, ex)
        if decision.override and resp.status == 200:
            resp.body = override_members(resp.body, decision.override)
        if decision.kind == "bad_crc" and resp.status == 200:
            resp.body = gcp_api.wrong_crc(resp.body)
        if decision.kind == "malformed":
            resp.body = resp.body[:max(1, len(resp.body) // 2)] or b"{"
        ex.error = ex.error or resp.error
        app.log.append(ex.record(resp.status))
        rid = ex.request_id if endpoint in ("kms", "sts") else None
        if endpoint in ("azure", "azure-id"):
            azure_headers(resp, ex, self.headers)
        self.send(resp, rid, decision.slow_body_ms)

    def send(self, resp, request_id=None, slow_body_ms=0):
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        if request_id:
            self.send_header("x-amzn-RequestId", request_id)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not slow_body_ms or len(resp.body) < 2:
            self.wfile.write(resp.body)
            return
        pieces = min(10, len(resp.body))
        step = -(-len(resp.body) // pieces)
        for i in range(0, len(resp.body), step):
            if i:
                time.sleep(slow_body_ms / 1000.0 / (pieces - 1))
            self.wfile.write(resp.body[i:i + step])

    def reset(self):
        """Drop the connection with a TCP RST and no answer."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, app, tls_ctx=None, verbose=False):
        self.app = app
        self.tls_ctx = tls_ctx
        self.verbose = verbose
        super().__init__(("127.0.0.1", port), Handler)

    def finish_request(self, request, client_address):
        if self.tls_ctx is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10)
        try:
            conn = self.tls_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            if self.verbose:
                sys.stderr.write("kms-emulator: TLS handshake: %s\n" % e)
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            conn.close()

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--state-dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls-port", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--ready-file")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--account", default="111122223333")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    return args


def write_ready(path, ports):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("port=%d\ntls_port=%d\npid=%d\n"
                % (ports["http"], ports.get("https", 0), os.getpid()))
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.state_dir, exist_ok=True)
    app = App(args.state_dir, args.region, args.account)
    servers = [Server(args.port, app, verbose=args.verbose)]
    app.ports["http"] = servers[0].server_address[1]
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # Client certificates are asked for but optional (Vault's cert
        # auth); vault_cert_role adds the CAs they are checked against.
        ctx.verify_mode = ssl.CERT_OPTIONAL
        app.trust_client_ca = lambda pem: ctx.load_verify_locations(
            cadata=pem)
        servers.append(Server(args.tls_port, app, ctx, args.verbose))
        app.ports["https"] = servers[1].server_address[1]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    if args.ready_file:
        write_ready(args.ready_file, app.ports)
    while not stop.wait(3600):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
