#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: a transit key rotated in Vault, then its older version
# revoked with min_decryption_version, and nothing lost. Two tenants on
# the emulator's Vault over TLS: acme on a derived key (rewrap), beta on
# an associated-data key (decrypt, then encrypt). For each: N
# direct-path blobs made through the module, one of them tampered inside
# its transit ciphertext; the key rotated; cmk-tool rewrap --dry-run
# counts them as to be moved; cmk-tool rewrap --batch 50 sends them in
# groups (exactly ceil(N / 50) transit calls per operation, counted in
# the emulator's call log, the batch sizes adding up to N), the tampered
# blob fails alone (AuthenticationFailed) and every other blob moves to
# v2; cmk-tool rotate-cmk --to the same key moves the KEK to v2; then
# min_decryption_version 2, and every rewrapped blob still unwraps
# through the module to its DEK; a second rewrap finds them all current
# without a transit call; every blob is one blob_rewrapped record.
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/vault_lib.sh"

cmk_need_module
emu_require || exit $?
BLOBS=${BLOBS:-$top_builddir/tests/integration/rewrap_blobs}
[ -x "$BLOBS" ] || cmk_missing "rewrap_blobs not built: $BLOBS"
N=120
BATCH=50
CALLS=$(((N + BATCH - 1) / BATCH))

vault_start cmk-vault-rewrap
mkdir -m 700 "$T/creds" || cmk_error "mkdir"
vault_key rw-derived true
vault_key rw-aad false
vault_approle cmk-a rw-derived "$T/creds"
vault_approle cmk-b rw-aad "$T/creds"
cfg=$T/config.json
printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "audit": {"file": "%s", "fsync": "none"},\n  "health": {"breaker": false},\n  "http": {"connect_timeout_ms": 1000, "timeout_ms": 8000, "max_attempts": 3, "ca_file": "%s"},\n  "tenants": [%s,\n    %s]\n}\n' \
    "$T/store" "$T/audit.jsonl" "$EMU_CA" \
    "$(vault_tenant acme 1234 rw-derived cmk-a "$T/creds")" \
    "$(vault_tenant beta 5678 rw-aad cmk-b "$T/creds")" \
    >"$cfg" || cmk_error "cannot write $cfg"
for t in acme beta; do
    cmk_provision "$cfg" "$t"
done
export CMK_PKCS11_CONFIG=$cfg CMK_MODULE

# calls OP: "COUNT SUM-OF-BATCH-SIZES" of OP's batch_input requests in
# the emulator's call log (the audit file's own chain key is one plain
# Encrypt per writer)
calls() {
    "$CMK_PYTHON" -c 'import json, sys
n = s = 0
for line in open(sys.argv[1]):
    c = json.loads(line)
    if c["op"] == sys.argv[2] and "batch_size" in c:
        n += 1
        s += c["batch_size"]
print(n, s)' "$EMU_DIR/calls.jsonl" "$1"
}

# tamper FILE: one base64 digit of the transit ciphertext at the blob's
# end changed; the envelope still parses and names v1
tamper() {
    "$CMK_PYTHON" -c 'import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-6] = ord("A") if b[-6] != ord("A") else ord("B")
open(p, "wb").write(bytes(b))' "$1" || cmk_error "tamper $1"
}

one_tenant() {
    local t=$1 pin=$2 key=$3 op1=$4 op2=$5 d=$T/$1 out
    "$BLOBS" make "$t" "$pin" "$d" "$N" "$d.list" ||
        cmk_error "rewrap_blobs make $t"
    bad=$(sed -n '7p' "$d.list" | cut -d' ' -f1)
    tamper "$bad"
    grep -vF "$bad " "$d.list" >"$d.good"
    vault_ctl vault_rotate "{\"name\": \"$key\"}"

    out=$("$CMK_TOOL" rewrap --config "$cfg" --tenant "$t" --dry-run "$d" 2>&1)
    echo "$out" | grep -qF "would rewrap $N, already current 0, unreadable 0" ||
        cmk_fail "$t: dry run: $out"

    vault_ctl reset_calls
    "$CMK_TOOL" rewrap --config "$cfg" --tenant "$t" --jobs 2 \
        --batch $BATCH --journal "$T/$t.journal" "$d" >"$T/$t.out" \
        2>"$T/$t.err"
    rc=$?
    cat "$T/$t.err"
    [ $rc -eq 1 ] || cmk_fail "$t: rewrap exit $rc, want 1 (one blob failed)"
    grep -qF "rewrapped $((N - 1)), skipped 0 (already current 0, journal 0), failed 1, not processed 0" \
        "$T/$t.err" || cmk_fail "$t: rewrap summary"
    grep -qF "rewrap: $bad: re-encryption failed: " "$T/$t.err" &&
        grep -F "rewrap: $bad: " "$T/$t.err" | grep -qF "(AuthenticationFailed)" ||
        cmk_fail "$t: the tampered blob is not named with Vault's refusal"
    [ "$(calls "$op1")" = "$CALLS $N" ] ||
        cmk_fail "$t: $op1 calls $(calls "$op1"), want $CALLS carrying $N"
    [ -z "$op2" ] || [ "$(calls "$op2")" = "$CALLS $((N - 1))" ] ||
        cmk_fail "$t: $op2 calls $(calls "$op2"), want $CALLS carrying $((N - 1))"
    [ "$(calls VAULT.Encrypt)" = "$([ -n "$op2" ] && echo "$CALLS $((N - 1))" || echo "0 0")" ] ||
        cmk_fail "$t: Encrypt calls $(calls VAULT.Encrypt)"
    echo "ok: $t: $((N - 1)) blobs moved to v2 in $CALLS $op1${op2:+ and $CALLS $op2} calls, the tampered one failed alone"
    rm -f "$bad" "$T/$t.journal" # the second run sees only good blobs

    "$CMK_TOOL" rotate-cmk --config "$cfg" --tenant "$t" --to "$key" \
        --force >"$T/$t.rot" 2>&1 || {
        cat "$T/$t.rot"
        cmk_fail "$t: rotate-cmk to the same key's latest version"
    }
    "$CMK_PYTHON" -c 'import base64, json, sys
cfg, t, key = sys.argv[1:]
ten = [x for x in json.load(open(cfg))["tenants"] if x["label"] == t][0]
blob = base64.b64decode(ten["kek"])
k = int.from_bytes(blob[6:8], "big")
s = int.from_bytes(blob[8 + k:10 + k], "big")
if blob[10 + k:10 + k + s].decode() != "vault:transit/%s:v2" % key:
    sys.exit("%s: KEK sealed by %r" % (t, blob[10 + k:10 + k + s]))
if ten.get("previous_keys"):
    sys.exit("%s: previous_keys %r" % (t, ten["previous_keys"]))' \
        "$cfg" "$t" "$key" || cmk_fail "$t: KEK not moved to v2"
    echo "ok: $t: rotate-cmk --to $key moved the KEK to v2, previous_keys empty"
}

one_tenant acme 1234 rw-derived VAULT.Rewrap ""
one_tenant beta 5678 rw-aad VAULT.Decrypt VAULT.Encrypt

for key in rw-derived rw-aad; do
    vault_ctl vault_key_config \
        "{\"name\": \"$key\", \"min_decryption_version\": 2}"
done
"$BLOBS" check acme 1234 "$T/acme.good" ||
    cmk_fail "acme: rewrapped blobs do not unwrap after v1 was revoked"
"$BLOBS" check beta 5678 "$T/beta.good" ||
    cmk_fail "beta: rewrapped blobs do not unwrap after v1 was revoked"
echo "ok: v1 revoked (min_decryption_version 2): every rewrapped blob unwraps to its DEK"

# Each batch call the rewrap made is in the audit file: its kms_call
# record with the emulator's request id and "batch N, failed K" (an
# associated-data key's batch is one provider call of two requests,
# decrypt then encrypt: its record names the encrypt).
"$CMK_PYTHON" -c 'import json, sys
recs = {r.get("request_id"): r for r in map(json.loads, open(sys.argv[1]))
        if r.get("event") == "kms_call"}
n = 0
for c in map(json.loads, open(sys.argv[2])):
    if "batch_size" not in c or c["op"] == "VAULT.Decrypt":
        continue
    n += 1
    r = recs.get(c["request_id"])
    if r is None or not r.get("detail", "").startswith("batch "):
        sys.exit("%s %s: no kms_call record of the batch (%r)"
                 % (c["op"], c["request_id"], r))
if n == 0:
    sys.exit("no batch call in the log")' \
    "$T/audit.jsonl" "$EMU_DIR/calls.jsonl" ||
    cmk_fail "batch calls without their kms_call records"
echo "ok: every batch call of the rewrap has its kms_call record"

vault_ctl reset_calls
audit_from=$(wc -l <"$T/audit.jsonl")
for t in acme beta; do
    "$CMK_TOOL" rewrap --config "$cfg" --tenant "$t" --batch $BATCH \
        "$T/$t" >/dev/null 2>"$T/$t.err2"
    grep -qF "already current $((N - 1))" "$T/$t.err2" ||
        cmk_fail "$t: second run: $(cat "$T/$t.err2")"
done
for op in VAULT.Rewrap VAULT.Decrypt; do
    [ "$(emu_count $op)" = 0 ] || cmk_fail "second run: $(emu_count $op) $op"
done
[ "$(calls VAULT.Encrypt)" = "0 0" ] ||
    cmk_fail "second run: Encrypt $(calls VAULT.Encrypt)"
echo "ok: a second run finds every blob current without a transit call"

# Every read of a key's info the emulator served in that run has its own
# kms_call record (KeyInfo: whether a blob's version is the latest;
# Health) with the emulator's request id, but the read an Encrypt or
# Decrypt makes first (recorded as that call).
"$CMK_PYTHON" -c 'import json, sys
audit, start, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
calls = [json.loads(line) for line in open(log)]
recs = [r for r in map(json.loads, open(audit).readlines()[start:])
        if r.get("event") == "kms_call" and r.get("op") in ("KeyInfo", "Health")]
ids = {r.get("request_id") for r in recs if r["result"] == "CKR_OK"}
missing = [c["request_id"] for i, c in enumerate(calls)
           if c["op"] == "VAULT.ReadKey" and c["request_id"] not in ids and
           not (i + 1 < len(calls) and
                calls[i + 1]["op"] in ("VAULT.Encrypt", "VAULT.Decrypt"))]
served = {c["request_id"] for c in calls if c["op"] == "VAULT.ReadKey"}
if missing or not ids <= served or len(ids) != len(recs):
    sys.exit("key reads without a record %r; records %r"
             % (missing, [(r["op"], r.get("request_id")) for r in recs]))
if sum(r["op"] == "KeyInfo" for r in recs) < 2:
    sys.exit("no KeyInfo record per tenant: %r" % [r["op"] for r in recs])' \
    "$T/audit.jsonl" "$audit_from" "$EMU_DIR/calls.jsonl" ||
    cmk_fail "key info reads without their kms_call records"
echo "ok: every key info read of the second run has its kms_call record"

"$CMK_PYTHON" -c 'import json, sys
n = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event") == "blob_rewrapped":
        k = (r["tenant"], r["result"])
        n[k] = n.get(k, 0) + 1
want = int(sys.argv[2])
for t in ("acme", "beta"):
    got = (n.get((t, "ok"), 0), n.get((t, "failed"), 0),
           n.get((t, "skipped"), 0))
    if got != (want - 1, 1, want - 1):
        sys.exit("%s: blob_rewrapped ok/failed/skipped %r" % (t, got))' \
    "$T/audit.jsonl" "$N" || cmk_fail "blob_rewrapped records"
echo "ok: one blob_rewrapped record per blob and run"
echo "PASS"
