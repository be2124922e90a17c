#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# KMS emulator tests: the KMS wire behaviour, SigV4 refusals, policy, fault
# injection, call log and the STS / container / IMDSv2 credential endpoints.
"""End-to-end tests of kms_emulator.py through its sockets, with the Python
standard library only. Requests are signed by a small SigV4 signer written
here independently of the emulator's verifier; it is first checked against
the KMS-shaped vectors in tests/fixtures/sigv4/kms-generated.

Exit 0 pass, 1 fail, 77 skip (99 under CI=true when prerequisites are
missing).
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-east-1"
ACCOUNT = "111122223333"
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
MISMATCH = ("The request signature we calculated does not match the "
            "signature you provided. Check your AWS Secret Access Key and "
            "signing method. Consult the service documentation for details.")


def skip_status():
    return 99 if os.environ.get("CI") == "true" else 77


# -- an independent SigV4 signer ---------------------------------------------
class Cred:
    def __init__(self, akid, secret, token=None):
        self.akid = akid
        self.secret = secret
        self.token = token


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def sign(method, host, path, headers, body, cred, service="kms",
         region=REGION, when=None, sign_token=True):
    """Return headers with X-Amz-Date, token and Authorization added."""
    when = time.time() if when is None else when
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    out = dict(headers)
    out["Host"] = host
    out["X-Amz-Date"] = amz_date
    if cred.token and sign_token:
        out["X-Amz-Security-Token"] = cred.token
    items = sorted((k.lower(), " ".join(v.split())) for k, v in out.items())
    signed = ";".join(k for k, _ in items)
    creq = "\n".join([method, path, "", "".join("%s:%s\n" % kv
                                                for kv in items),
                      signed, _sha(body)])
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     _sha(creq.encode())])
    key = ("AWS4" + cred.secret).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    out["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, "
                            "SignedHeaders=%s, Signature=%s"
                            % (cred.akid, scope, signed, sig))
    if cred.token and not sign_token:
        out["X-Amz-Security-Token"] = cred.token
    return out


def check_signer():
    """The signer above must reproduce the kms-generated vectors."""
    root = os.path.join(os.environ.get("SIGV4_VECTORS") or os.path.join(
        HERE, "..", "fixtures", "sigv4"), "kms-generated")
    if not os.path.isdir(root):
        print("# no %s: test signer not checked against vectors" % root)
        return
    n = 0
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        ctx = json.load(open(os.path.join(d, "context.json")))
        raw = open(os.path.join(d, "request.txt"), "rb").read()
        head, _, body = raw.partition(b"\n\n")
        lines = head.decode().split("\n")
        headers = dict(line.split(":", 1) for line in lines[1:])
        host = headers.pop("Host")
        c = ctx["credentials"]
        when = time.mktime(time.strptime(ctx["timestamp"],
                                         "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        out = sign("POST", host, "/", headers, body,
                   Cred(c["access_key_id"], c["secret_access_key"],
                        c.get("token")), ctx["service"], ctx["region"], when)
        want = open(os.path.join(d, "header-signature.txt")).read().strip()
        if not out["Authorization"].endswith("Signature=" + want):
            raise AssertionError("test signer disagrees with vector " + name)
        n += 1
    if n < 4:
        raise AssertionError("kms-generated vectors missing")


# -- the emulator under test -------------------------------------------------
class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body

    def json(self):
        return json.loads(self.raw) if self.raw else None

    @property
    def type(self):
        return self.json().get("__type")


class Emulator:
    def __init__(self, tmp, tls=True):
        self.tmp = tmp
        self.state = os.path.join(tmp, "state")
        self.ca = None
        args = []
        if tls:
            pki = os.path.join(tmp, "pki")
            subprocess.run(["sh", os.path.join(HERE, "make_ca.sh"), pki],
                           check=True)
            self.ca = os.path.join(pki, "ca.pem")
            args = ["--tls-cert", os.path.join(pki, "server.pem"),
                    "--tls-key", os.path.join(pki, "server.key")]
        self.args = args
        self.start()

    def start(self):
        ready = os.path.join(self.tmp, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.log = open(os.path.join(self.tmp, "emulator.log"), "ab")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "kms_emulator.py"),
             "--state-dir", self.state, "--ready-file", ready] + self.args,
            stdout=self.log, stderr=self.log)
        for _ in range(100):
            if os.path.exists(ready):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("emulator exited")
            time.sleep(0.1)
        info = dict(line.split("=") for line in open(ready).read().split())
        self.port = int(info["port"])
        self.tls_port = int(info["tls_port"])
        self.host = "127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        self.log.close()
        return rc

    # A request's time limit: long enough for the emulator to make an
    # RSA-4096 key on a loaded machine, short of the test's own limit.
    TIMEOUT = 60

    def conn(self, tls=False, timeout=TIMEOUT):
        if tls:
            ctx = ssl.create_default_context(cafile=self.ca)
            return http.client.HTTPSConnection("127.0.0.1", self.tls_port,
                                               context=ctx, timeout=timeout)
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def request(self, method, path, body=b"", headers=None, tls=False,
                timeout=TIMEOUT):
        c = self.conn(tls, timeout)
        try:
            c.request(method, path, body, headers or {})
            r = c.getresponse()
            return Reply(r.status, r.headers, r.read())
        finally:
            c.close()

    def ctl(self, cmd, args=None, expect=200):
        r = self.request("POST", "/_emulator/" + cmd,
                         json.dumps(args or {}).encode())
        if r.status != expect:
            raise AssertionError("control %s: %d %s" % (cmd, r.status, r.raw))
        return r.json()

    def kms(self, op, params, cred, when=None, tls=False, tamper=None,
            sign_token=True, raw_body=None, timeout=TIMEOUT):
        body = raw_body if raw_body is not None else json.dumps(
            params).encode()
        host = "127.0.0.1:%d" % (self.tls_port if tls else self.port)
        headers = sign("POST", host, "/", {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService." + op}, body, cred, when=when,
            sign_token=sign_token)
        if tamper:
            body, headers = tamper(body, headers)
        return self.request("POST", "/", body, headers, tls, timeout)

    def calls(self, op=None):
        return self.ctl("calls", {"op": op} if op else {})["calls"]


# -- checks ----------------------------------------------------------------
def b64(data):
    return base64.b64encode(data).decode()


def eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def expect_error(reply, status, etype, message_prefix=None):
    eq(reply.status, status, "HTTP status (%s)" % reply.raw[:200])
    eq(reply.type, etype, "__type")
    rid = reply.headers.get("x-amzn-RequestId", "")
    uuid.UUID(rid)
    if message_prefix is not None:
        msg = reply.json().get("message", "")
        if not msg.startswith(message_prefix):
            raise AssertionError("message %r does not start with %r"
                                 % (msg, message_prefix))


class Suite:
    def __init__(self, emu):
        self.emu = emu
        self.alice = Cred("AKIDALICE0000000", "alice-secret")
        self.bob = Cred("AKIDBOB000000000", "bob-secret")
        for c in (self.alice, self.bob):
            emu.ctl("add_credentials", {"access_key_id": c.akid,
                                        "secret": c.secret})
        self.k1 = emu.ctl("create_key", {"alias": "alias/t1"})
        self.k2 = emu.ctl("create_key", {"alias": "alias/t2"})

    def encrypt(self, key, pt, ctx=None, cred=None, **kw):
        params = {"KeyId": key, "Plaintext": b64(pt)}
        if ctx is not None:
            params["EncryptionContext"] = ctx
        return self.emu.kms("Encrypt", params, cred or self.alice, **kw)

    def decrypt(self, blob, ctx=None, key=None, cred=None):
        params = {"CiphertextBlob": blob}
        if ctx is not None:
            params["EncryptionContext"] = ctx
        if key is not None:
            params["KeyId"] = key
        return self.emu.kms("Decrypt", params, cred or self.alice)

    # -- KMS operations -------------------------------------------------------
    def test_roundtrip_and_key_forms(self):
        k1 = self.k1
        forms = [k1["key_id"], k1["arn"], "alias/t1",
                 "arn:aws:kms:%s:%s:alias/t1" % (REGION, ACCOUNT)]
        for form in forms:
            r = self.encrypt(form, b"secret bytes", {"tenant": "t1"})
            eq(r.status, 200, "Encrypt with " + form)
            eq(r.headers["Content-Type"], "application/x-amz-json-1.1",
               "content type")
            uuid.UUID(r.headers["x-amzn-RequestId"])
            out = r.json()
            eq(out["KeyId"], k1["arn"], "Encrypt KeyId")
            eq(out["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT", "algorithm")
            d = self.decrypt(out["CiphertextBlob"], {"tenant": "t1"})
            eq(d.status, 200, "Decrypt without KeyId")
            eq(base64.b64decode(d.json()["Plaintext"]), b"secret bytes",
               "plaintext")
            eq(d.json()["KeyId"], k1["arn"], "Decrypt KeyId")
            d = self.decrypt(out["CiphertextBlob"], {"tenant": "t1"}, form)
            eq(d.status, 200, "Decrypt with KeyId " + form)
        r = self.encrypt("alias/none", b"x")
        expect_error(r, 400, "NotFoundException", "Alias arn:aws:kms:")
        r = self.encrypt(str(uuid.uuid4()), b"x")
        expect_error(r, 400, "NotFoundException", "Key 'arn:aws:kms:")
        r = self.encrypt("arn:aws:kms:eu-west-1:%s:key/%s"
                         % (ACCOUNT, k1["key_id"]), b"x")
        expect_error(r, 400, "NotFoundException")

    def test_encryption_context(self):
        ctx = {"tenant": "t1", "purpose": "dek", "utf8": "caf\u00e9"}
        blob = self.encrypt("alias/t1", b"k" * 32, ctx).json()[
            "CiphertextBlob"]
        reordered = dict(reversed(list(ctx.items())))
        eq(self.decrypt(blob, reordered).status, 200, "reordered context")
        bad = [None, {}, {"tenant": "t1"}, dict(ctx, extra="1"),
               dict(ctx, tenant="t2"), dict(ctx, utf8="cafe"),
               {"Tenant": "t1", "purpose": "dek", "utf8": "caf\u00e9"}]
        for c in bad:
            r = self.decrypt(blob, c)
            expect_error(r, 400, "InvalidCiphertextException")
            eq(r.raw, b'{"__type": "InvalidCiphertextException"}',
               "InvalidCiphertextException has no message")
        raw = bytearray(base64.b64decode(blob))
        for pos in (0, 5, 20, len(raw) - 1):
            t = bytearray(raw)
            t[pos] ^= 1
            expect_error(self.decrypt(b64(bytes(t)), ctx), 400,
                         "InvalidCiphertextException")
        expect_error(self.decrypt(b64(b"short"), ctx), 400,
                     "InvalidCiphertextException")

    def test_incorrect_key(self):
        blob = self.encrypt("alias/t1", b"x").json()["CiphertextBlob"]
        r = self.decrypt(blob, key="alias/t2")
        expect_error(r, 400, "IncorrectKeyException")
        r = self.decrypt(blob, key="alias/none")
        expect_error(r, 400, "NotFoundException")

    def test_update_alias(self):
        """UpdateAlias repoints an alias (AWS's manual rotation): Encrypt
        through it answers the new key's ARN, Decrypt with the alias of a
        blob of the old key is IncorrectKeyException, with the old ARN it
        works. The call log keeps the KeyId as sent."""
        old = self.emu.ctl("create_key", {"alias": "alias/rot"})
        new = self.emu.ctl("create_key", {})
        blob = self.encrypt("alias/rot", b"v1").json()
        eq(blob["KeyId"], old["arn"], "Encrypt KeyId before")
        r = self.emu.kms("UpdateAlias", {"AliasName": "alias/rot",
                                         "TargetKeyId": new["key_id"]},
                         self.alice)
        eq((r.status, r.raw), (200, b""), "UpdateAlias answer")
        eq(self.encrypt("alias/rot", b"v2").json()["KeyId"], new["arn"],
           "Encrypt KeyId after")
        expect_error(self.decrypt(blob["CiphertextBlob"], key="alias/rot"),
                     400, "IncorrectKeyException")
        self.emu.ctl("reset_calls")
        eq(self.decrypt(blob["CiphertextBlob"], key=old["arn"]).status, 200,
           "Decrypt with the old key ARN")
        eq(self.decrypt(blob["CiphertextBlob"]).status, 200,
           "Decrypt without KeyId")
        eq([(c["request_key_id"], c["key_id"]) for c in self.emu.calls()],
           [(old["arn"], old["key_id"]), (None, old["key_id"])],
           "KeyId as sent and key used, in the call log")
        for params, etype in (
                ({"AliasName": "alias/nope", "TargetKeyId": new["key_id"]},
                 "NotFoundException"),
                ({"AliasName": "alias/rot", "TargetKeyId": "alias/t1"},
                 "ValidationException"),
                ({"AliasName": "rot", "TargetKeyId": new["key_id"]},
                 "ValidationException"),
                ({"AliasName": "alias/rot", "TargetKeyId": str(uuid.uuid4())},
                 "NotFoundException")):
            expect_error(self.emu.kms("UpdateAlias", params, self.alice), 400,
                         etype)
        moved = self.emu.ctl("update_alias", {"alias": "alias/rot",
                                              "key_id": old["arn"]})
        eq(moved["arn"], old["arn"], "control update_alias")
        eq(self.encrypt("alias/rot", b"v3").json()["KeyId"], old["arn"],
           "Encrypt KeyId after moving back")

    def test_validation(self):
        expect_error(self.encrypt("alias/t1", b"a" * 4097), 400,
                     "ValidationException",
                     "1 validation error detected: Value at 'plaintext'")
        eq(self.encrypt("alias/t1", b"a" * 4096).status, 200, "4096 bytes")
        expect_error(self.encrypt("alias/t1", b""), 400,
                     "ValidationException")
        r = self.emu.kms("Encrypt", {"KeyId": "alias/t1"}, self.alice)
        expect_error(r, 400, "ValidationException")
        r = self.emu.kms("Encrypt", {"KeyId": "alias/t1",
                                     "Plaintext": "%%%"}, self.alice)
        expect_error(r, 400, "SerializationException")
        r = self.emu.kms("Encrypt", None, self.alice, raw_body=b"{not json")
        expect_error(r, 400, "SerializationException")
        r = self.emu.kms("Decrypt", {"CiphertextBlob": b64(b"x" * 6145)},
                         self.alice)
        expect_error(r, 400, "ValidationException")
        r = self.emu.kms("GenerateMac", {"KeyId": "alias/t1"}, self.alice)
        expect_error(r, 400,
                     "com.amazon.coral.service#UnknownOperationException")

    def test_generate_data_key(self):
        kms = self.emu.kms
        for params, n in (({"KeySpec": "AES_256"}, 32),
                          ({"KeySpec": "AES_128"}, 16),
                          ({"NumberOfBytes": 1}, 1),
                          ({"NumberOfBytes": 1024}, 1024)):
            params = dict(params, KeyId="alias/t1",
                          EncryptionContext={"a": "b"})
            r = kms("GenerateDataKey", params, self.alice)
            eq(r.status, 200, "GenerateDataKey %r" % params)
            pt = base64.b64decode(r.json()["Plaintext"])
            eq(len(pt), n, "data key length")
            d = self.decrypt(r.json()["CiphertextBlob"], {"a": "b"})
            eq(base64.b64decode(d.json()["Plaintext"]), pt, "unwrapped DEK")
            r = kms("GenerateDataKeyWithoutPlaintext", params, self.alice)
            eq(r.status, 200, "GenerateDataKeyWithoutPlaintext")
            eq("Plaintext" in r.json(), False, "no plaintext")
            d = self.decrypt(r.json()["CiphertextBlob"], {"a": "b"})
            eq(len(base64.b64decode(d.json()["Plaintext"])), n, "length")
        for bad in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32},
                    {"NumberOfBytes": 0}, {"NumberOfBytes": 1025},
                    {"KeySpec": "AES_512"}):
            r = kms("GenerateDataKey", dict(bad, KeyId="alias/t1"),
                    self.alice)
            expect_error(r, 400, "ValidationException")

    def test_re_encrypt(self):
        blob = self.encrypt("alias/t1", b"payload", {"a": "1"}).json()[
            "CiphertextBlob"]
        params = {"CiphertextBlob": blob,
                  "SourceEncryptionContext": {"a": "1"},
                  "DestinationKeyId": "alias/t2",
                  "DestinationEncryptionContext": {"b": "2"}}
        r = self.emu.kms("ReEncrypt", params, self.alice)
        eq(r.status, 200, "ReEncrypt")
        out = r.json()
        eq(out["SourceKeyId"], self.k1["arn"], "SourceKeyId")
        eq(out["KeyId"], self.k2["arn"], "destination KeyId")
        d = self.decrypt(out["CiphertextBlob"], {"b": "2"})
        eq(base64.b64decode(d.json()["Plaintext"]), b"payload", "plaintext")
        eq(d.json()["KeyId"], self.k2["arn"], "re-encrypted under k2")
        self.emu.ctl("reset_calls")
        r = self.emu.kms("ReEncrypt", dict(params, SourceKeyId="alias/t2"),
                         self.alice)
        expect_error(r, 400, "IncorrectKeyException")
        c = self.emu.calls("ReEncrypt")
        eq([(x["request_key_id"], x["source_key_id"]) for x in c],
           [("alias/t2", "alias/t2")], "ReEncrypt call log")
        r = self.emu.kms("ReEncrypt", dict(params, SourceEncryptionContext={}),
                         self.alice)
        expect_error(r, 400, "InvalidCiphertextException")

    def test_key_states(self):
        kms = self.emu.kms
        k = kms("CreateKey", {"Description": "states"}, self.alice).json()[
            "KeyMetadata"]
        eq(k["KeyState"], "Enabled", "new key state")
        for field in ("AWSAccountId", "KeyId", "Arn", "CreationDate",
                      "Enabled", "KeyUsage", "KeySpec", "Origin",
                      "KeyManager", "EncryptionAlgorithms"):
            if field not in k:
                raise AssertionError("KeyMetadata lacks " + field)
        r = kms("CreateAlias", {"AliasName": "alias/states",
                                "TargetKeyId": k["KeyId"]}, self.alice)
        eq((r.status, r.raw), (200, b""), "CreateAlias answer")
        r = kms("CreateAlias", {"AliasName": "alias/states",
                                "TargetKeyId": k["KeyId"]}, self.alice)
        expect_error(r, 400, "AlreadyExistsException")
        blob = self.encrypt("alias/states", b"x").json()["CiphertextBlob"]
        eq(kms("DisableKey", {"KeyId": "alias/states"}, self.alice).status,
           200, "DisableKey")
        d = kms("DescribeKey", {"KeyId": "alias/states"}, self.alice).json()
        eq((d["KeyMetadata"]["KeyState"], d["KeyMetadata"]["Enabled"]),
           ("Disabled", False), "disabled metadata")
        expect_error(self.encrypt("alias/states", b"x"), 400,
                     "DisabledException")
        expect_error(self.decrypt(blob), 400, "DisabledException")
        r = kms("GenerateDataKey", {"KeyId": "alias/states",
                                    "KeySpec": "AES_256"}, self.alice)
        expect_error(r, 400, "DisabledException")
        kms("EnableKey", {"KeyId": k["Arn"]}, self.alice)
        eq(self.decrypt(blob).status, 200, "enabled again")
        r = kms("ScheduleKeyDeletion", {"KeyId": k["KeyId"],
                                        "PendingWindowInDays": 7}, self.alice)
        eq(r.json()["KeyState"], "PendingDeletion", "schedule answer")
        m = kms("DescribeKey", {"KeyId": k["KeyId"]}, self.alice).json()[
            "KeyMetadata"]
        eq((m["KeyState"], m["PendingDeletionWindowInDays"]),
           ("PendingDeletion", 7), "pending metadata")
        if "DeletionDate" not in m:
            raise AssertionError("DeletionDate missing")
        expect_error(self.decrypt(blob), 400, "KMSInvalidStateException")
        expect_error(kms("EnableKey", {"KeyId": k["KeyId"]}, self.alice),
                     400, "KMSInvalidStateException")
        kms("CancelKeyDeletion", {"KeyId": k["KeyId"]}, self.alice)
        expect_error(self.decrypt(blob), 400, "DisabledException")
        self.emu.ctl("enable_key", {"key_id": k["KeyId"]})
        eq(self.decrypt(blob).status, 200, "control enable_key")
        self.emu.ctl("disable_key", {"key_id": "alias/states"})
        expect_error(self.decrypt(blob), 400, "DisabledException")
        self.emu.ctl("schedule_deletion", {"key_id": k["KeyId"]})
        expect_error(self.decrypt(blob), 400, "KMSInvalidStateException")
        self.emu.ctl("delete_key", {"key_id": "alias/states"})
        expect_error(self.decrypt(blob, key=k["KeyId"]), 400,
                     "NotFoundException")
        expect_error(self.encrypt("alias/states", b"x"), 400,
                     "NotFoundException")

    # -- key material import (Origin EXTERNAL) ------------------------------
    def import_params(self, key, spec="RSA_2048",
                      algorithm="RSAES_OAEP_SHA_256"):
        # The first key pair of a size may take seconds to make.
        r = self.emu.kms("GetParametersForImport", {
            "KeyId": key, "WrappingAlgorithm": algorithm,
            "WrappingKeySpec": spec}, self.alice, timeout=120)
        eq(r.status, 200, "GetParametersForImport (%s)" % r.raw[:200])
        return r.json()

    @staticmethod
    def wrap(params, material, digest=None):
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        pub = serialization.load_der_public_key(
            base64.b64decode(params["PublicKey"]))
        h = digest or hashes.SHA256
        return b64(pub.encrypt(material, padding.OAEP(
            mgf=padding.MGF1(algorithm=h()), algorithm=h(), label=None)))

    def import_material(self, key, params, wrapped, valid_to=None):
        body = {"KeyId": key, "ImportToken": params["ImportToken"],
                "EncryptedKeyMaterial": wrapped}
        if valid_to is None:
            body["ExpirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE"
        else:
            body["ValidTo"] = valid_to
        return self.emu.kms("ImportKeyMaterial", body, self.alice)

    def test_import_key_material(self):
        kms = self.emu.kms
        k = kms("CreateKey", {"Origin": "EXTERNAL"}, self.alice).json()[
            "KeyMetadata"]
        eq((k["Origin"], k["KeyState"], k["Enabled"]),
           ("EXTERNAL", "PendingImport", False), "EXTERNAL key metadata")
        expect_error(self.encrypt(k["KeyId"], b"x"), 400,
                     "KMSInvalidStateException", "%s is pending import"
                     % k["Arn"])
        expect_error(kms("EnableKey", {"KeyId": k["KeyId"]}, self.alice),
                     400, "KMSInvalidStateException")
        for spec, bits in (("RSA_2048", 2048), ("RSA_4096", 4096)):
            p = self.import_params(k["KeyId"], spec)
            eq(p["KeyId"], k["Arn"], "GetParametersForImport KeyId")
            from cryptography.hazmat.primitives import serialization
            pub = serialization.load_der_public_key(
                base64.b64decode(p["PublicKey"]))
            eq(pub.key_size, bits, "wrapping key size")
            left = p["ParametersValidTo"] - time.time()
            if not 86000 < left <= 86401:
                raise AssertionError("ParametersValidTo %r" % left)
        material = os.urandom(32)
        r = self.import_material(k["Arn"], p, self.wrap(p, material))
        eq((r.status, r.raw), (200, b""), "ImportKeyMaterial answer")
        m = kms("DescribeKey", {"KeyId": k["KeyId"]}, self.alice).json()[
            "KeyMetadata"]
        eq((m["KeyState"], m["Enabled"], m["ExpirationModel"]),
           ("Enabled", True, "KEY_MATERIAL_DOES_NOT_EXPIRE"), "imported")
        blob = base64.b64decode(self.encrypt(k["KeyId"], b"data", {
            "t": "1"}).json()["CiphertextBlob"])
        # The blob is AES-256-GCM under exactly the imported material.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        aad = b"cmk-emu-blob-v1" + blob[:17] + b'{"t":"1"}'
        eq(AESGCM(material).decrypt(blob[17:29], blob[29:], aad), b"data",
           "blob opens under the imported material")
        # The same material again (a new expiry) is accepted; other
        # material never is, even with a fresh token and SHA-1 OAEP.
        p = self.import_params(k["KeyId"], "RSA_3072", "RSAES_OAEP_SHA_1")
        from cryptography.hazmat.primitives import hashes
        r = self.import_material(k["KeyId"], p, self.wrap(
            p, os.urandom(32), hashes.SHA1))
        expect_error(r, 400, "IncorrectKeyMaterialException")
        r = self.import_material(k["KeyId"], p, self.wrap(
            p, material, hashes.SHA1), valid_to=int(time.time()) + 3600)
        eq(r.status, 200, "re-import of the same material")
        m = kms("DescribeKey", {"KeyId": k["KeyId"]}, self.alice).json()[
            "KeyMetadata"]
        eq(m["ExpirationModel"], "KEY_MATERIAL_EXPIRES", "new expiry model")

    def test_import_errors(self):
        kms = self.emu.kms
        k = kms("CreateKey", {"Origin": "EXTERNAL"}, self.alice).json()[
            "KeyMetadata"]
        k2 = kms("CreateKey", {"Origin": "EXTERNAL"}, self.alice).json()[
            "KeyMetadata"]
        material = os.urandom(32)
        r = kms("GetParametersForImport", {
            "KeyId": self.k1["key_id"], "WrappingAlgorithm":
            "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}, self.alice)
        expect_error(r, 400, "UnsupportedOperationException",
                     "%s origin is AWS_KMS" % self.k1["arn"])
        r = kms("GetParametersForImport", {
            "KeyId": k["KeyId"], "WrappingAlgorithm": "RSAES_OAEP_SHA_256",
            "WrappingKeySpec": "RSA_1024"}, self.alice)
        expect_error(r, 400, "ValidationException")
        r = kms("GetParametersForImport", {
            "KeyId": k["KeyId"], "WrappingKeySpec": "RSA_2048"}, self.alice)
        expect_error(r, 400, "ValidationException")
        p = self.import_params(k["KeyId"])
        # Bad wrap: random bytes, and the right bytes under PKCS#1 v1.5.
        r = self.import_material(k["KeyId"], p, b64(os.urandom(256)))
        expect_error(r, 400, "InvalidCiphertextException")
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        pub = serialization.load_der_public_key(
            base64.b64decode(p["PublicKey"]))
        r = self.import_material(k["KeyId"], p, b64(pub.encrypt(
            material, padding.PKCS1v15())))
        expect_error(r, 400, "InvalidCiphertextException")
        # A token is bound to its key, and checked for tampering.
        r = self.import_material(k2["KeyId"], p, self.wrap(p, material))
        expect_error(r, 400, "InvalidImportTokenException")
        tok = bytearray(base64.b64decode(p["ImportToken"]))
        tok[40] ^= 1
        r = self.import_material(k["KeyId"], dict(p, ImportToken=b64(
            bytes(tok))), self.wrap(p, material))
        expect_error(r, 400, "InvalidImportTokenException")
        # Expiry model rules and the material's length.
        body = {"KeyId": k["KeyId"], "ImportToken": p["ImportToken"],
                "EncryptedKeyMaterial": self.wrap(p, material)}
        expect_error(kms("ImportKeyMaterial", body, self.alice), 400,
                     "ValidationException")
        expect_error(kms("ImportKeyMaterial", dict(
            body, ValidTo=time.time() - 10), self.alice), 400,
            "ValidationException")
        expect_error(kms("ImportKeyMaterial", dict(
            body, ValidTo=time.time() + 366 * 86400), self.alice), 400,
            "ValidationException")
        expect_error(kms("ImportKeyMaterial", dict(
            body, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
            ValidTo=time.time() + 60), self.alice), 400,
            "ValidationException")
        r = self.import_material(k["KeyId"], p, self.wrap(p, b"k" * 16))
        expect_error(r, 400, "IncorrectKeyMaterialException")
        # An expired token (the emulator's token lifetime set to 0 s).
        self.emu.ctl("import_token_ttl", {"seconds": 0})
        try:
            p0 = self.import_params(k["KeyId"])
        finally:
            self.emu.ctl("import_token_ttl", {"seconds": 86400})
        r = self.import_material(k["KeyId"], p0, self.wrap(p0, material))
        expect_error(r, 400, "ExpiredImportTokenException")
        # A key pending deletion takes no material, and gives no token.
        p2 = self.import_params(k2["KeyId"])
        kms("ScheduleKeyDeletion", {"KeyId": k2["KeyId"],
                                    "PendingWindowInDays": 7}, self.alice)
        r = self.import_material(k2["KeyId"], p2, self.wrap(p2, material))
        expect_error(r, 400, "KMSInvalidStateException",
                     "%s is pending deletion" % k2["Arn"])
        r = kms("GetParametersForImport", {
            "KeyId": k2["KeyId"], "WrappingAlgorithm": "RSAES_OAEP_SHA_256",
            "WrappingKeySpec": "RSA_2048"}, self.alice)
        expect_error(r, 400, "KMSInvalidStateException")
        r = kms("CancelKeyDeletion", {"KeyId": k2["KeyId"]}, self.alice)
        m = kms("DescribeKey", {"KeyId": k2["KeyId"]}, self.alice).json()[
            "KeyMetadata"]
        eq(m["KeyState"], "PendingImport", "cancelled deletion, no material")
        m = kms("DescribeKey", {"KeyId": k["KeyId"]}, self.alice).json()[
            "KeyMetadata"]
        eq(m["KeyState"], "PendingImport", "nothing imported by the errors")

    def test_import_expiry(self):
        kms = self.emu.kms
        k = self.emu.ctl("create_key", {"origin": "EXTERNAL"})
        material = os.urandom(32)
        p = self.import_params(k["key_id"])
        r = self.import_material(k["key_id"], p, self.wrap(p, material),
                                 valid_to=int(time.time()) + 60)
        eq(r.status, 200, "import with ValidTo")
        blob = self.encrypt(k["key_id"], b"x").json()["CiphertextBlob"]
        self.emu.ctl("clock_offset", {"seconds": 120})
        try:
            m = kms("DescribeKey", {"KeyId": k["key_id"]}, self.alice,
                    when=time.time() + 120).json()["KeyMetadata"]
            eq((m["KeyState"], m["Enabled"]), ("PendingImport", False),
               "state after ValidTo")
            expect_error(self.encrypt(k["key_id"], b"x",
                                      when=time.time() + 120),
                         400, "KMSInvalidStateException")
            # Only the same material brings it back, and old blobs open.
            p = self.import_params(k["key_id"])
            r = self.import_material(k["key_id"], p, self.wrap(
                p, os.urandom(32)))
            expect_error(r, 400, "IncorrectKeyMaterialException")
            r = self.import_material(k["key_id"], p, self.wrap(p, material))
            eq(r.status, 200, "re-import after expiry")
            eq(self.decrypt(blob).status, 200, "old blob opens again")
        finally:
            self.emu.ctl("clock_offset", {"seconds": 0})

    def test_key_rotation(self):
        """RotateKeyOnDemand gives the key new material: blobs made before
        keep decrypting (version 1 blobs are material 0), new ones are
        version 2 naming material 1, a changed material version fails like
        any changed byte; the status and list operations and their rules."""
        kms, arn = self.emu.kms, None
        k = kms("CreateKey", {}, self.alice).json()["KeyMetadata"]
        arn = k["Arn"]
        old = self.encrypt(k["KeyId"], b"before", {"t": "1"}).json()[
            "CiphertextBlob"]
        eq(base64.b64decode(old)[0], 1, "blob version before rotation")
        r = kms("RotateKeyOnDemand", {"KeyId": k["KeyId"]}, self.alice)
        eq((r.status, r.json()), (200, {"KeyId": arn}), "RotateKeyOnDemand")
        new = self.encrypt(k["KeyId"], b"after", {"t": "1"}).json()[
            "CiphertextBlob"]
        raw = base64.b64decode(new)
        eq((raw[0], raw[17:21]), (2, b"\0\0\0\1"), "blob after rotation")
        for blob, pt in ((old, b"before"), (new, b"after")):
            d = self.decrypt(blob, {"t": "1"})
            eq((d.status, base64.b64decode(d.json()["Plaintext"])),
               (200, pt), "decrypt across the rotation")
        bad = bytearray(raw)
        bad[20] = 2  # a material version the key does not have
        expect_error(self.decrypt(b64(bytes(bad)), {"t": "1"}), 400,
                     "InvalidCiphertextException")
        bad[20] = 0  # material 0 does not open material 1's blob
        expect_error(self.decrypt(b64(bytes(bad)), {"t": "1"}), 400,
                     "InvalidCiphertextException")
        eq(self.emu.ctl("rotate_key", {"key_id": arn})["material_version"],
           2, "control rotate_key")
        rot = kms("ListKeyRotations", {"KeyId": arn}, self.alice).json()
        eq([(x["KeyId"], x["RotationType"]) for x in rot["Rotations"]],
           [(arn, "ON_DEMAND")] * 2, "ListKeyRotations")
        eq(rot["Truncated"], False, "ListKeyRotations Truncated")
        st = kms("GetKeyRotationStatus", {"KeyId": arn}, self.alice).json()
        eq(st, {"KeyRotationEnabled": False, "KeyId": arn}, "status off")
        for bad_period in (89, 2561, "365", True):
            expect_error(kms("EnableKeyRotation", {
                "KeyId": arn, "RotationPeriodInDays": bad_period},
                self.alice), 400, "ValidationException")
        r = kms("EnableKeyRotation", {"KeyId": arn,
                                      "RotationPeriodInDays": 90}, self.alice)
        eq((r.status, r.raw), (200, b""), "EnableKeyRotation")
        st = kms("GetKeyRotationStatus", {"KeyId": arn}, self.alice).json()
        eq((st["KeyRotationEnabled"], st["RotationPeriodInDays"]), (True, 90),
           "status on")
        if not isinstance(st.get("NextRotationDate"), (int, float)):
            raise AssertionError("NextRotationDate missing: %r" % st)
        eq(kms("DisableKeyRotation", {"KeyId": arn}, self.alice).status, 200,
           "DisableKeyRotation")
        eq(kms("GetKeyRotationStatus", {"KeyId": arn},
               self.alice).json()["KeyRotationEnabled"], False, "off again")
        self.emu.ctl("disable_key", {"key_id": arn})
        for op in ("RotateKeyOnDemand", "EnableKeyRotation"):
            expect_error(kms(op, {"KeyId": arn}, self.alice), 400,
                         "DisabledException")
        self.emu.ctl("enable_key", {"key_id": arn})
        for _ in range(8):  # 2 done: AWS allows 10 on-demand rotations
            eq(kms("RotateKeyOnDemand", {"KeyId": arn}, self.alice).status,
               200, "rotation within the limit")
        expect_error(kms("RotateKeyOnDemand", {"KeyId": arn}, self.alice),
                     400, "LimitExceededException")
        d = self.decrypt(old, {"t": "1"})
        eq(base64.b64decode(d.json()["Plaintext"]), b"before",
           "the first blob after ten rotations")
        expect_error(kms("RotateKeyOnDemand", {"KeyId": "alias/none"},
                         self.alice), 400, "NotFoundException")
        self.emu.ctl("set_policy", {"key_id": arn, "allow": ["nobody"]})
        expect_error(kms("RotateKeyOnDemand", {"KeyId": arn}, self.alice),
                     400, "AccessDeniedException")
        self.emu.ctl("set_policy", {"key_id": arn, "allow": None})

    def test_policy(self):
        key = self.emu.ctl("create_key", {"alias": "alias/pol",
                                          "allow": [self.alice.akid,
                                                    "allowed-role"]})
        eq(self.encrypt("alias/pol", b"x").status, 200, "allowed caller")
        r = self.encrypt("alias/pol", b"x", cred=self.bob)
        expect_error(r, 400, "AccessDeniedException",
                     "User: arn:aws:iam::%s:user/%s is not authorized"
                     % (ACCOUNT, self.bob.akid))
        r = self.emu.kms("DescribeKey", {"KeyId": "alias/pol"}, self.bob)
        expect_error(r, 400, "AccessDeniedException")
        self.emu.ctl("set_policy", {"key_id": key["key_id"],
                                    "allow": [self.bob.akid]})
        eq(self.encrypt("alias/pol", b"x", cred=self.bob).status, 200,
           "policy changed")
        expect_error(self.encrypt("alias/pol", b"x"), 400,
                     "AccessDeniedException")
        self.emu.ctl("set_policy", {"key_id": key["key_id"],
                                    "allow": ["allowed-role"]})
        creds = self.assume_role("arn:aws:iam::%s:role/allowed-role"
                                 % ACCOUNT)
        eq(self.encrypt("alias/pol", b"x", cred=creds).status, 200,
           "role principal")

    # -- SigV4 --------------------------------------------------------------
    def test_signature_refusals(self):
        def body_tamper(body, headers):
            return body.replace(b"t1", b"t2"), headers

        def header_tamper(body, headers):
            headers = dict(headers)
            headers["X-Amz-Target"] = "TrentService.Decrypt"
            return body, headers

        def drop_auth(body, headers):
            headers = dict(headers)
            del headers["Authorization"]
            return body, headers

        for tamper in (body_tamper, header_tamper):
            r = self.encrypt("alias/t1", b"x", tamper=tamper)
            expect_error(r, 400, "InvalidSignatureException")
            eq(r.json()["message"], MISMATCH, "mismatch message")
        expect_error(self.encrypt("alias/t1", b"x", tamper=drop_auth), 400,
                     "MissingAuthenticationTokenException")
        wrong = Cred(self.alice.akid, "not-the-secret")
        expect_error(self.encrypt("alias/t1", b"x", cred=wrong), 400,
                     "InvalidSignatureException")
        last = self.emu.calls()[-1]
        if not last.get("canonical_request", "").startswith("POST\n/\n\n"):
            raise AssertionError("mismatch not explained in the call log")
        unknown = Cred("AKIDUNKNOWN00000", "x")
        expect_error(self.encrypt("alias/t1", b"x", cred=unknown), 400,
                     "UnrecognizedClientException",
                     "The security token included in the request is invalid")
        r = self.encrypt("alias/t1", b"x", when=time.time() - 400)
        expect_error(r, 400, "InvalidSignatureException",
                     "Signature expired: ")
        if " is now earlier than " not in r.json()["message"] or not \
                r.json()["message"].endswith(" - 5 min.)"):
            raise AssertionError("expired message: " + r.json()["message"])
        r = self.encrypt("alias/t1", b"x", when=time.time() + 400)
        expect_error(r, 400, "InvalidSignatureException",
                     "Signature not yet current: ")
        eq(self.encrypt("alias/t1", b"x", when=time.time() - 240).status,
           200, "240 s skew is tolerated")

    def test_clock_offset_and_date(self):
        self.emu.ctl("clock_offset", {"seconds": 900})
        try:
            r = self.encrypt("alias/t1", b"x")
            expect_error(r, 400, "InvalidSignatureException",
                         "Signature expired")
            server = time.mktime(time.strptime(
                r.headers["Date"], "%a, %d %b %Y %H:%M:%S GMT")) - \
                time.timezone
            skew = server - time.time()
            if not 890 <= skew <= 910:
                raise AssertionError("Date header skew %.0f" % skew)
            # A client that corrects its clock from Date succeeds.
            eq(self.encrypt("alias/t1", b"x", when=server).status, 200,
               "re-signed with the server's time")
        finally:
            self.emu.ctl("clock_offset", {"seconds": 0})

    def test_session_tokens(self):
        tok = Cred("ASIATEMP00000001", "temp-secret", "session-token-1")
        self.emu.ctl("add_credentials", {"access_key_id": tok.akid,
                                         "secret": tok.secret,
                                         "session_token": tok.token,
                                         "expires_in": 3600})
        eq(self.encrypt("alias/t1", b"x", cred=tok).status, 200, "token")
        eq(self.encrypt("alias/t1", b"x", cred=tok, sign_token=False).status,
           200, "token added after signing")
        no_token = Cred(tok.akid, tok.secret)
        expect_error(self.encrypt("alias/t1", b"x", cred=no_token), 400,
                     "UnrecognizedClientException")
        wrong = Cred(tok.akid, tok.secret, "other-token")
        expect_error(self.encrypt("alias/t1", b"x", cred=wrong), 400,
                     "UnrecognizedClientException")
        extra = Cred(self.alice.akid, self.alice.secret, "spurious")
        expect_error(self.encrypt("alias/t1", b"x", cred=extra), 400,
                     "UnrecognizedClientException")
        self.emu.ctl("expire_credentials", {"access_key_id": tok.akid})
        expect_error(self.encrypt("alias/t1", b"x", cred=tok), 400,
                     "ExpiredTokenException",
                     "The security token included in the request is expired")

    # -- faults and the call log ----------------------------------------------
    def test_faults(self):
        emu = self.emu
        emu.ctl("reset_calls")
        emu.ctl("faults", {"throttle_rate": 1, "count": 2})
        for _ in range(2):
            expect_error(self.encrypt("alias/t1", b"x"), 400,
                         "ThrottlingException", "Rate exceeded")
        eq(self.encrypt("alias/t1", b"x").status, 200, "count exhausted")
        for status, etype in ((500, "KMSInternalException"),
                              (503, "DependencyTimeoutException")):
            emu.ctl("faults", {"error_5xx_rate": 1, "count": 1,
                               "error_5xx_status": status})
            expect_error(self.encrypt("alias/t1", b"x"), status, etype)
        emu.ctl("faults", {"error_5xx_rate": 1, "count": 1,
                           "error_5xx_status": 502})
        eq(self.encrypt("alias/t1", b"x").status, 502, "502")
        emu.ctl("faults", {"malformed_rate": 1, "count": 1})
        r = self.encrypt("alias/t1", b"x")
        eq(r.status, 200, "malformed status")
        try:
            json.loads(r.raw)
            raise AssertionError("malformed body parsed")
        except ValueError:
            pass
        emu.ctl("faults", {"reset_rate": 1, "count": 1})
        try:
            self.encrypt("alias/t1", b"x")
            raise AssertionError("no reset")
        except ConnectionResetError:
            pass
        emu.ctl("faults", {"close_rate": 1, "count": 1})
        try:
            r = self.encrypt("alias/t1", b"x")
            raise AssertionError("closed, yet answered %d" % r.status)
        except (http.client.RemoteDisconnected, ConnectionError):
            pass
        self.answer_override()
        emu.ctl("faults", {"latency_ms": 400, "count": 1})
        t0 = time.monotonic()
        eq(self.encrypt("alias/t1", b"x").status, 200, "latency answer")
        if time.monotonic() - t0 < 0.4:
            raise AssertionError("latency not applied")
        self.slow_body()
        emu.ctl("faults", {"throttle_rate": 1, "for_ops": ["Decrypt"]})
        blob = self.encrypt("alias/t1", b"x").json()["CiphertextBlob"]
        expect_error(self.decrypt(blob), 400, "ThrottlingException")
        emu.ctl("clear_faults")
        eq(self.decrypt(blob).status, 200, "cleared")
        emu.ctl("faults", {"throttle_rate": 0.5, "seed": 7, "count": 200})
        n = sum(self.encrypt("alias/t1", b"x").status == 400
                for _ in range(200))
        if not 60 <= n <= 140:
            raise AssertionError("throttle_rate 0.5 gave %d/200" % n)
        self.check_log(n)

    def answer_override(self):
        """Well-formed but wrong 200 answers: a member replaced, mistyped
        or (null) removed; errors are left as they are."""
        emu = self.emu
        other = "arn:aws:kms:%s:%s:key/%s" % (REGION, ACCOUNT, uuid.uuid4())
        emu.ctl("faults", {"answer_override": {"KeyId": other,
                                               "CiphertextBlob": 5},
                           "count": 1})
        out = self.encrypt("alias/t1", b"x").json()
        eq((out["KeyId"], out["CiphertextBlob"]), (other, 5), "overridden")
        emu.ctl("faults", {"answer_override": {"KeyId": None}, "count": 2})
        eq("KeyId" in self.encrypt("alias/t1", b"x").json(), False,
           "removed")
        expect_error(self.encrypt("alias/none", b"x"), 400,
                     "NotFoundException")
        emu.ctl("faults", {"answer_override": [1]}, expect=400)

    def user_agent(self):
        """The call log keeps each request's User-Agent."""
        def with_ua(body, headers):
            return body, dict(headers, **{"User-Agent": "cmk-test/1.0"})
        self.emu.ctl("reset_calls")
        self.emu.kms("Encrypt", {"KeyId": "alias/t1",
                                 "Plaintext": b64(b"x")}, self.alice,
                     tamper=with_ua)
        eq([c["user_agent"] for c in self.emu.calls()], ["cmk-test/1.0"],
           "User-Agent logged")

    def slow_body(self):
        self.emu.ctl("faults", {"slow_body_ms": 800, "count": 1})
        host = self.emu.host
        body = json.dumps({"KeyId": "alias/t1", "Plaintext": b64(b"x" * 900)})
        headers = sign("POST", host, "/", {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService.Encrypt"}, body.encode(),
            self.alice)
        c = self.emu.conn()
        t0 = time.monotonic()
        c.request("POST", "/", body, headers)
        r = c.getresponse()
        t_head = time.monotonic() - t0
        data = r.read()
        t_body = time.monotonic() - t0
        c.close()
        json.loads(data)
        if t_head > 0.3 or t_body < 0.7:
            raise AssertionError("slow body: head %.2f s, body %.2f s"
                                 % (t_head, t_body))

    def check_log(self, throttled):
        calls = self.emu.calls()
        with open(os.path.join(self.emu.state, "calls.jsonl")) as f:
            lines = [json.loads(line) for line in f]
        eq(lines, calls, "calls.jsonl equals the control API log")
        faults = [c["fault"] for c in calls]
        for kind in ("throttle", "5xx", "malformed", "reset", "close",
                     "latency"):
            if kind not in faults:
                raise AssertionError("no %s in the call log" % kind)
        enc = [c for c in calls if c["op"] == "Encrypt"]
        eq(all(c["access_key_id"] == self.alice.akid for c in enc), True,
           "caller logged")
        eq(all(c["key_id"] == self.k1["key_id"] for c in enc
               if c["status"] == 200), True, "key logged")
        eq(sum(c["error"] == "ThrottlingException" for c in calls[-200:]),
           throttled, "throttled calls logged")
        eq(len(self.emu.calls("Decrypt")), 2, "op filter")
        self.emu.ctl("reset_calls")
        eq(self.emu.calls(), [], "reset_calls")
        eq(os.path.getsize(os.path.join(self.emu.state, "calls.jsonl")), 0,
           "calls.jsonl truncated")
        self.user_agent()

    # -- credential endpoints -------------------------------------------------
    def sts(self, params):
        body = urllib.parse.urlencode(params).encode()
        return self.emu.request("POST", "/", body, {
            "Content-Type": "application/x-www-form-urlencoded; "
                            "charset=utf-8"})

    def assume_role(self, arn, token="web-token"):
        r = self.sts({"Action": "AssumeRoleWithWebIdentity",
                      "Version": "2011-06-15", "RoleArn": arn,
                      "RoleSessionName": "test", "WebIdentityToken": token})
        eq(r.status, 200, "AssumeRoleWithWebIdentity (%s)" % r.raw[:200])
        c = ET.fromstring(r.raw).find(
            STS_NS + "AssumeRoleWithWebIdentityResult/" + STS_NS +
            "Credentials")
        return Cred(c.find(STS_NS + "AccessKeyId").text,
                    c.find(STS_NS + "SecretAccessKey").text,
                    c.find(STS_NS + "SessionToken").text)

    def sts_error(self, r, status, code):
        eq(r.status, status, "STS status")
        err = ET.fromstring(r.raw).find(STS_NS + "Error")
        eq(err.find(STS_NS + "Code").text, code, "STS error code")

    def test_sts(self):
        arn = "arn:aws:iam::%s:role/web-role" % ACCOUNT
        creds = self.assume_role(arn)
        if not creds.akid.startswith("ASIA") or len(creds.token) < 100:
            raise AssertionError("temporary credential shape")
        eq(self.encrypt("alias/t1", b"x", cred=creds).status, 200,
           "STS credentials work")
        expect_error(self.encrypt("alias/t1", b"x",
                                  cred=Cred(creds.akid, creds.secret)),
                     400, "UnrecognizedClientException")
        base = {"Action": "AssumeRoleWithWebIdentity", "RoleArn": arn,
                "RoleSessionName": "s", "WebIdentityToken": "t"}
        self.sts_error(self.sts(dict(base, RoleArn="")), 400,
                       "ValidationError")
        self.sts_error(self.sts(dict(base, DurationSeconds="60")), 400,
                       "ValidationError")
        self.sts_error(self.sts(dict(base, Action="AssumeRole")), 400,
                       "InvalidAction")
        self.emu.ctl("web_identity", {"tokens": ["good"],
                                      "expired_tokens": ["old"]})
        try:
            self.sts_error(self.sts(base), 400, "InvalidIdentityToken")
            self.sts_error(self.sts(dict(base, WebIdentityToken="old")), 400,
                           "ExpiredTokenException")
            self.assume_role(arn, "good")
        finally:
            self.emu.ctl("web_identity", {"tokens": None,
                                          "expired_tokens": []})
        # Temporary credentials expire on the emulator clock.
        self.emu.ctl("credential_ttl", {"seconds": 60})
        short = self.assume_role(arn)
        self.emu.ctl("credential_ttl", {"seconds": 3600})
        self.emu.ctl("clock_offset", {"seconds": 120})
        try:
            r = self.encrypt("alias/t1", b"x", cred=short,
                             when=time.time() + 120)
            expect_error(r, 400, "ExpiredTokenException")
        finally:
            self.emu.ctl("clock_offset", {"seconds": 0})
        self.caller_identity(creds)
        self.emu.ctl("faults", {"throttle_rate": 1, "count": 1,
                                "for_ops": ["AssumeRoleWithWebIdentity"]})
        self.sts_error(self.sts(base), 400, "Throttling")
        self.assume_role(arn)

    def caller_identity(self, creds):
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        hdr = {"Content-Type": "application/x-www-form-urlencoded"}
        r = self.emu.request("POST", "/", body, sign(
            "POST", self.emu.host, "/", hdr, body, creds, "sts"))
        eq(r.status, 200, "GetCallerIdentity (%s)" % r.raw[:300])
        r = self.emu.request("POST", "/", body, sign(
            "POST", self.emu.host, "/", hdr, body,
            Cred(creds.akid, "wrong", creds.token), "sts"))
        self.sts_error(r, 403, "SignatureDoesNotMatch")

    def test_container(self):
        emu = self.emu
        emu.ctl("container", {"token": "container-secret", "role": "c-role"})
        r = emu.request("GET", "/container/creds")
        eq(r.status, 401, "container without Authorization")
        r = emu.request("GET", "/container/creds",
                        headers={"Authorization": "wrong"})
        eq(r.status, 401, "container with a wrong token")
        r = emu.request("GET", "/container/creds",
                        headers={"Authorization": "container-secret"})
        eq(r.status, 200, "container credentials")
        j = r.json()
        for field in ("AccessKeyId", "SecretAccessKey", "Token",
                      "Expiration", "RoleArn"):
            if field not in j:
                raise AssertionError("container answer lacks " + field)
        time.strptime(j["Expiration"], "%Y-%m-%dT%H:%M:%SZ")
        creds = Cred(j["AccessKeyId"], j["SecretAccessKey"], j["Token"])
        eq(self.encrypt("alias/t1", b"x", cred=creds).status, 200,
           "container credentials work")

    def test_imds(self):
        emu = self.emu
        prefix = "/latest/meta-data/iam/security-credentials/"
        eq(emu.request("GET", prefix).status, 401, "IMDSv1 refused")
        eq(emu.request("PUT", "/latest/api/token").status, 400, "no TTL")
        ttl = {"X-aws-ec2-metadata-token-ttl-seconds": "21600"}
        r = emu.request("PUT", "/latest/api/token", headers=dict(
            ttl, **{"X-Forwarded-For": "10.0.0.1"}))
        eq(r.status, 403, "forwarded token request")
        r = emu.request("PUT", "/latest/api/token", headers=ttl)
        eq(r.status, 200, "token")
        tok = {"X-aws-ec2-metadata-token": r.raw.decode()}
        eq(emu.request("GET", prefix, headers={
            "X-aws-ec2-metadata-token": "bogus"}).status, 401, "bad token")
        r = emu.request("GET", prefix, headers=tok)
        eq((r.status, r.raw), (200, b"emu-instance-role"), "role name")
        r = emu.request("GET", prefix + "emu-instance-role", headers=tok)
        eq(r.status, 200, "instance credentials")
        j = r.json()
        eq((j["Code"], j["Type"]), ("Success", "AWS-HMAC"), "IMDS shape")
        creds = Cred(j["AccessKeyId"], j["SecretAccessKey"], j["Token"])
        eq(self.encrypt("alias/t1", b"x", cred=creds).status, 200,
           "instance credentials work")
        eq(emu.request("GET", prefix + "other", headers=tok).status, 404,
           "unknown role")
        r = emu.request("GET", "/latest/meta-data/placement/region",
                        headers=tok)
        eq(r.raw, REGION.encode(), "region")
        emu.ctl("imds", {"enabled": False})
        eq(emu.request("PUT", "/latest/api/token", headers=ttl).status, 404,
           "IMDS disabled")
        emu.ctl("imds", {"enabled": True})

    # -- transport ------------------------------------------------------------
    def test_tls(self):
        if not self.emu.tls_port:
            return
        r = self.encrypt("alias/t1", b"over tls", tls=True)
        eq(r.status, 200, "Encrypt over HTTPS")
        d = self.decrypt(r.json()["CiphertextBlob"])
        eq(base64.b64decode(d.json()["Plaintext"]), b"over tls", "TLS")
        c = http.client.HTTPSConnection(
            "127.0.0.1", self.emu.tls_port, timeout=5,
            context=ssl.create_default_context())
        try:
            c.request("POST", "/_emulator/status", b"{}")
            c.getresponse()
            raise AssertionError("untrusted CA accepted")
        except ssl.SSLCertVerificationError:
            pass
        finally:
            c.close()
        # A plain-HTTP client on the TLS port gets no answer, and the
        # emulator keeps serving.
        c = http.client.HTTPConnection("127.0.0.1", self.emu.tls_port,
                                       timeout=5)
        try:
            c.request("GET", "/")
            c.getresponse()
        except (OSError, http.client.HTTPException):
            pass
        c.close()
        eq(self.encrypt("alias/t1", b"x", tls=True).status, 200, "alive")

    def test_limits(self):
        r = self.emu.request("POST", "/", b"x" * ((1 << 20) + 1), {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService.Encrypt"})
        eq(r.status, 413, "body over 1 MiB")
        st = self.emu.ctl("status")
        eq(st["ports"]["http"], self.emu.port, "status port")
        eq(self.emu.request("GET", "/nothing").status, 404, "unknown route")
        eq(self.emu.request("POST", "/_emulator/nope", b"{}").status, 404,
           "unknown control command")
        eq(self.emu.request("POST", "/_emulator/faults",
                            b'{"throttle_rate": 2}').status, 400,
           "bad fault rate")
        # Keep-alive: two requests on one connection.
        c = self.emu.conn()
        for _ in range(2):
            body = json.dumps({"KeyId": "alias/t1"}).encode()
            c.request("POST", "/", body, sign("POST", self.emu.host, "/", {
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "TrentService.DescribeKey"}, body,
                self.alice))
            r = c.getresponse()
            r.read()
            eq(r.status, 200, "keep-alive request")
        c.close()

    def test_concurrency(self):
        self.emu.ctl("reset_calls")
        statuses = []

        def worker():
            for i in range(25):
                r = self.encrypt("alias/t1", b"%d" % i, {"n": str(i)})
                d = self.decrypt(r.json()["CiphertextBlob"], {"n": str(i)})
                statuses.append((r.status, d.status))
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        eq(statuses, [(200, 200)] * 200, "parallel requests")
        eq(len(self.emu.calls()), 400, "every parallel call logged")

    def test_restart_keeps_state(self):
        blob = self.encrypt("alias/t1", b"persist").json()["CiphertextBlob"]
        k = self.emu.ctl("create_key", {})
        before = self.encrypt(k["arn"], b"material 0").json()[
            "CiphertextBlob"]
        self.emu.ctl("rotate_key", {"key_id": k["arn"]})
        after = self.encrypt(k["arn"], b"material 1").json()[
            "CiphertextBlob"]
        eq(self.emu.stop(), 0, "exit status on SIGTERM")
        self.emu.start()
        d = self.decrypt(blob)
        eq(d.status, 200, "decrypt after restart")
        eq(base64.b64decode(d.json()["Plaintext"]), b"persist", "plaintext")
        for b, pt in ((before, b"material 0"), (after, b"material 1")):
            d = self.decrypt(b)
            eq((d.status, base64.b64decode(d.json()["Plaintext"])), (200, pt),
               "rotated key's materials after restart")


def run_suite(suite_class, prefix, tls, need_openssl=False, make=None,
              after=None):
    """Every test_* method of suite_class (names given on the command line:
    only those) against one fresh emulator, "ok N - name" / "not ok N -
    name: why" per test, the faults cleared after each; the emulator's log
    printed when one failed. make(emu, tmp) builds the suite (default:
    suite_class(emu)); after(suite) runs after each test. Returns the exit
    status (skip_status() without python3-cryptography, or without openssl
    when need_openssl)."""
    try:
        __import__("cryptography.hazmat.primitives.ciphers.aead")
    except ImportError:
        print("SKIP: python3-cryptography is missing")
        return skip_status()
    if need_openssl and not shutil.which("openssl"):
        print("SKIP: openssl is missing (the emulator's TLS certificate)")
        return skip_status()
    tmp = tempfile.mkdtemp(prefix=prefix)
    emu = Emulator(tmp, tls)
    failed = 0
    try:
        suite = make(emu, tmp) if make else suite_class(emu)
        names = [n for n in suite_class.__dict__ if n.startswith("test_")]
        only = sys.argv[1:]
        for i, name in enumerate(names, 1):
            if only and name not in only:
                continue
            try:
                getattr(suite, name)()
                print("ok %d - %s" % (i, name))
            except (Exception, http.client.HTTPException) as e:
                failed += 1  # report every failure, keep going
                print("not ok %d - %s: %s: %s"
                      % (i, name, type(e).__name__, e))
            finally:
                try:
                    emu.ctl("clear_faults")
                    if after:
                        after(suite)
                except Exception:
                    pass
    finally:
        rc = emu.stop()
        if rc != 0:
            print("not ok - emulator exit status %s" % rc)
            failed += 1
        if failed:
            sys.stdout.write(open(os.path.join(tmp, "emulator.log")).read())
        shutil.rmtree(tmp, ignore_errors=True)
    print("# %d failed" % failed)
    return 1 if failed else 0


def main():
    tls = shutil.which("openssl") is not None
    try:
        __import__("cryptography.hazmat.primitives.ciphers.aead")
    except ImportError:
        print("SKIP: python3-cryptography is missing")
        return skip_status()
    check_signer()
    return run_suite(Suite, "kms-emu-", tls)


if __name__ == "__main__":
    sys.exit(main())
