#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# A real Vault client against the emulator, second half: what node-vault
# sent, as the emulator's call log has it, against what Vault expects. Run
# by test_vault_client.sh.
"""Usage: vault_calls.py CALLS.jsonl ACTIVE_CALLS.jsonl TMPDIR

Checks the sequence of requests vault_client.js made (op, method, path,
status, namespace, auth method, body members) and, request by request: how
the token was sent (X-Vault-Token, never on a login), the namespace header,
the encodings of the binary members (standard base64, padded) and of the
ciphertexts (vault:vN:), the key versions the ciphertexts named, that the
429 was not retried, that the redirected request reached the active node
with its token, and that no token, secret id or JWT reached either log.
Exit 0 when all hold, 1 otherwise.
"""

import json
import os
import sys

# One line a request: op (without "VAULT."), method, path (without /v1/),
# status, namespace ("-": root), auth method of the token ("-": none),
# body members ("-": no body).
MAIN = """
Health GET sys/health 200 - - -
SealStatus GET sys/seal-status 200 - - -
CreateKey POST transit/keys/k1 200 - token name
Encrypt POST transit/encrypt/k1 200 - token name,plaintext
Decrypt POST transit/decrypt/k1 200 - token ciphertext,name
ReadKey GET transit/keys/k1 200 - token -
ListKeys LIST transit/keys 200 - token -
RotateKey POST transit/keys/k1/rotate 200 - token -
Encrypt POST transit/encrypt/k1 200 - token name,plaintext
Rewrap POST transit/rewrap/k1 200 - token ciphertext,name
Decrypt POST transit/decrypt/k1 200 - token ciphertext,name
ConfigKey POST transit/keys/k1/config 200 - token min_decryption_version
Decrypt POST transit/decrypt/k1 400 - token ciphertext,name
Decrypt POST transit/decrypt/k1 200 - token ciphertext,name
CreateKey POST transit/keys/d1 200 - token derived,name
Encrypt POST transit/encrypt/d1 400 - token name,plaintext
Encrypt POST transit/encrypt/d1 200 - token context,name,plaintext
Decrypt POST transit/decrypt/d1 200 - token ciphertext,context,name
Decrypt POST transit/decrypt/d1 400 - token ciphertext,context,name
Encrypt POST transit/encrypt/k1 200 - token associated_data,name,plaintext
Decrypt POST transit/decrypt/k1 200 - token associated_data,ciphertext,name
Decrypt POST transit/decrypt/k1 400 - token ciphertext,name
Encrypt POST transit/encrypt/k1 200 - token batch_input,name
Decrypt POST transit/decrypt/k1 400 - token batch_input,name
Decrypt POST transit/decrypt/k1 200 - token batch_input,name
CreateKey POST transit/keys/k1 200 ns1 token name
Encrypt POST transit/encrypt/k1 200 ns1 token name,plaintext
Decrypt POST transit/decrypt/k1 200 ns1 token ciphertext,name
Decrypt POST transit/decrypt/k1 400 - token ciphertext,name
Decrypt POST transit/decrypt/k1 200 - token ciphertext,name
Encrypt POST transit/encrypt/k1 403 - token name,plaintext
ReadKey GET transit/keys/k1 403 - - -
Encrypt POST transit/encrypt/k1 503 - - -
Health GET sys/health 503 - - -
Health GET sys/health 200 - - -
Encrypt POST transit/encrypt/k1 429 - - -
Encrypt POST transit/encrypt/k1 200 - token name,plaintext
Encrypt POST transit/encrypt/k1 307 - - -
LookupSelf GET auth/token/lookup-self 200 - token -
RenewSelf POST auth/token/renew-self 200 - token increment
AppRoleLogin POST auth/approle/login 200 - approle role_id,secret_id
Encrypt POST transit/encrypt/k1 200 - approle name,plaintext
Decrypt POST transit/decrypt/k1 200 - approle ciphertext,name
AppRoleLogin POST auth/approle/login 400 - approle role_id,secret_id
Unknown POST auth//login 403 - - jwt,role
K8sLogin POST auth/kubernetes/login 200 - kubernetes jwt,role
Encrypt POST transit/encrypt/k1 200 - kubernetes name,plaintext
K8sLogin POST auth/kubernetes/login 403 - kubernetes jwt,role
CertLogin POST auth/cert/login 200 - cert -
ReadKey GET transit/keys/k1 200 - cert -
CertLogin POST auth/cert/login 400 - cert -
"""
LOGINS = ("VAULT.AppRoleLogin", "VAULT.K8sLogin", "VAULT.CertLogin")
# A request refused before its token is read sends none it could log.
NO_TOKEN_LOGGED = ("VAULT.Health", "VAULT.SealStatus")

failed = 0


def check(cond, what):
    global failed
    if not cond:
        failed += 1
        print("not ok - %s" % what)


def line(c):
    path = c.get("path") or ""
    members = c.get("body_members")
    return " ".join([
        c["op"][len("VAULT."):], c.get("method") or "-",
        path[len("/v1/"):] if path.startswith("/v1/") else path,
        str(c["status"]), c.get("namespace") or "-",
        c.get("auth_method") or "-",
        ",".join(members) if members else "-"])


def main():
    calls = [json.loads(x) for x in open(sys.argv[1])]
    active = [json.loads(x) for x in open(sys.argv[2])]
    tmp = sys.argv[3]
    want = MAIN.strip().splitlines()
    got = [line(c) for c in calls]
    for i, (g, w) in enumerate(zip(got, want)):
        check(g == w, "request %d: got %r, want %r" % (i + 1, g, w))
    check(len(got) == len(want), "%d requests, want %d" % (len(got),
                                                           len(want)))
    for i, c in enumerate(calls, 1):
        what = "request %d (%s)" % (i, c["op"])
        check(c["endpoint"] == "vault", what + ": endpoint")
        check((c.get("user_agent") or "").startswith("axios/"),
              what + ": user agent %r" % c.get("user_agent"))
        check(c.get("x_vault_request") is None,
              what + ": node-vault sends no X-Vault-Request")
        sent = c.get("token_sent")
        if c["op"] in LOGINS:
            check(sent is None, what + ": a login sent a token (%r)" % sent)
        elif c["op"] not in NO_TOKEN_LOGGED and c["status"] not in (
                307, 429, 503) and c["op"] != "VAULT.Unknown":
            check(sent == "x-vault-token", what + ": token as %r" % sent)
        enc = dict(c.get("member_encodings") or {})
        enc.update(c.get("batch_encodings") or {})
        for m in ("plaintext", "context", "associated_data"):
            if m in enc:
                check(enc[m] == "base64", what + ": %s as %s" % (m, enc[m]))
        if "ciphertext" in enc:
            check(enc["ciphertext"] == "vault-ciphertext",
                  what + ": ciphertext as %s" % enc["ciphertext"])
        if "name" in enc:
            check(enc["name"] == "string", what + ": name as %s"
                  % enc["name"])
    # refused as too old: the v1 ciphertext after min_decryption_version 2,
    # and ns1's v1 ciphertext sent to the root namespace's k1 (same floor)
    decrypts = [c for c in calls if c["op"] == "VAULT.Decrypt"]
    too_old = [c for c in decrypts if c.get("vault_errors") == [
        "ciphertext or signature version is disallowed by policy "
        "(too old)"]]
    check([(c["key_version"], c["namespace"]) for c in too_old] ==
          [(1, ""), (1, "")], "too-old refusals: %r" % [
              (c["key_version"], c["namespace"]) for c in too_old])
    rewrap = [c for c in calls if c["op"] == "VAULT.Rewrap"]
    check(rewrap and rewrap[0]["key_version"] == 1, "rewrap of v1")
    batch = [c for c in decrypts if c.get("batch_size")]
    check([c["batch_size"] for c in batch] == [3, 2], "batch sizes %r"
          % [c["batch_size"] for c in batch])
    # the 429 was answered once and not retried: the next request is the
    # client's next call, which succeeds
    i429 = [i for i, c in enumerate(calls) if c["status"] == 429]
    check(len(i429) == 1 and calls[i429[0]]["fault"] == "throttle",
          "one 429")
    check(calls[i429[0]]["retry_after"] == {"Retry-After": "1"},
          "Retry-After sent: %r" % calls[i429[0]].get("retry_after"))
    # the 307's Location, and the request it led to on the active node
    r307 = [c for c in calls if c["status"] == 307]
    check(len(r307) == 1 and r307[0]["location"].endswith(
        "/v1/transit/encrypt/k1"), "307 Location")
    check([line(c) for c in active] == [
        "Encrypt POST transit/encrypt/k1 200 - token name,plaintext"],
        "the active node: %r" % [line(c) for c in active])
    check(active and active[0]["token_sent"] == "x-vault-token",
          "the token went along with the redirect")
    # the namespace came as a header, not as a path prefix
    for c in calls:
        if c.get("namespace") == "ns1":
            check(c["path"].startswith("/v1/transit/"), "ns1 by header")
    # no secret in either log
    text = open(sys.argv[1]).read() + open(sys.argv[2]).read()
    for name in ("root-token", "secret-id", "k8s-jwt"):
        secret = open(os.path.join(tmp, name)).read().strip()
        check(secret not in text, "the %s is in the call log" % name)
    print("# %d requests checked, %d failed" % (len(calls) + len(active),
                                                failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
