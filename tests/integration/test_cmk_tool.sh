#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: cmk-tool end to end on the local provider: key files, PIN
# verifiers, provisioning a KEK and its commitment into the config, adding
# a commitment to an older KEK, health reports, and the lifecycle records
# the tool writes into the audit file.
# Exit codes: 0 pass, 1 fail, 77 skip (99 under CI=true).
set -u

: "${top_builddir:=$(pwd)}"
TOOL=${CMK_TOOL:-$top_builddir/cmk-tool}
if [ ! -x "$TOOL" ]; then
    [ "${CI:-}" = true ] && { echo "ERROR: $TOOL not built" >&2; exit 99; }
    echo "SKIP: $TOOL not built"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/cmk-tool-test.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect RC CMD...: runs CMD, output in $T/out and $T/err.
expect() {
    local want=$1 rc
    shift
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$T/out" "$T/err" >&2
        fail "$*: exit $rc, expected $want"
    fi
}

# pin_ok VERIFIER PIN / pin_bad VERIFIER PIN: checked by libsodium itself
# through ctypes; without python3 only the format checks remain.
sodium_verify() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import ctypes, ctypes.util, sys
lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert lib.sodium_init() >= 0
v, pin = sys.argv[1].encode(), sys.argv[2].encode()
sys.exit(0 if lib.crypto_pwhash_str_verify(v, pin, ctypes.c_ulonglong(len(pin))) == 0 else 1)
PY
}
if [ -x /usr/bin/python3 ]; then
    pin_ok() { sodium_verify "$1" "$2" || fail "verifier rejects its PIN '$2'"; }
    pin_bad() { sodium_verify "$1" "$2" && fail "verifier accepts PIN '$2'"; }
else
    echo "note: no /usr/bin/python3, verifiers checked by format only"
    pin_ok() { :; }
    pin_bad() { :; }
fi

echo "== local-key"
expect 0 "$TOOL" local-key --out "$T/a.key"
[ "$(stat -c %a "$T/a.key")" = 600 ] || fail "key file mode $(stat -c %a "$T/a.key")"
[ "$(stat -c %s "$T/a.key")" = 32 ] || fail "key file is not 32 bytes"
cp "$T/a.key" "$T/a.orig"
expect 1 "$TOOL" local-key --out "$T/a.key"
grep -q 'refusing to overwrite' "$T/err" || fail "no refusal message"
cmp -s "$T/a.key" "$T/a.orig" || fail "existing key file was overwritten"
(umask 000 && "$TOOL" local-key --out "$T/b.key") || fail "local-key, umask 0"
[ "$(stat -c %a "$T/b.key")" = 600 ] || fail "umask 0 gave mode $(stat -c %a "$T/b.key")"
cmp -s "$T/a.key" "$T/b.key" && fail "two keys are equal"
ln -s "$T/a.key" "$T/link.key"
expect 1 "$TOOL" local-key --out "$T/link.key"
expect 2 "$TOOL" local-key
expect 2 "$TOOL" local-key --out "$T/c.key" extra
expect 0 "$TOOL" local-key --help
[ -e "$T/c.key" ] && fail "usage error created a file"

echo "== pin-hash"
v=$(printf '1234\n' | "$TOOL" pin-hash --cost min) || fail "pin-hash"
case $v in
'$argon2id$v=19$m=8,t=1,p=1$'*) ;;
*) fail "unexpected verifier format: $v" ;;
esac
pin_ok "$v" 1234
pin_bad "$v" 1235
pin_bad "$v" 12345
v2=$(printf '1234' | "$TOOL" pin-hash --cost min) || fail "pin-hash, no newline"
[ "$v" != "$v2" ] || fail "verifiers are not salted"
pin_ok "$v2" 1234
v3=$(printf 'se cret\r\nignored\n' | "$TOOL" pin-hash --cost min) || fail "pin-hash, CRLF"
pin_ok "$v3" 'se cret'
v4=$(printf '1234\n' | "$TOOL" pin-hash) || fail "pin-hash, default cost"
case $v4 in
'$argon2id$v=19$m=65536,t=2,p=1$'*) ;;
*) fail "default cost is not interactive: $v4" ;;
esac
expect 1 sh -c "printf '\n' | '$TOOL' pin-hash --cost min"
expect 1 sh -c "printf '' | '$TOOL' pin-hash --cost min"
expect 2 "$TOOL" pin-hash --cost cheap
expect 0 "$TOOL" pin-hash --help

echo "== provision"
cat >"$T/config.json" <<JSON
{
  "version": 1,
  "store_dir": "$T/store",
  "tenants": [
    {"label": "acme", "provider": "local", "key": "$T/a.key",
     "pin_verifier": "$v4", "encryption_context": {"env": "prod"}},
    {"label": "beta", "provider": "local", "key": "$T/b.key",
     "pin_verifier": "$v", "test_mode": true}
  ]
}
JSON
chmod 640 "$T/config.json"
cp "$T/config.json" "$T/config.orig"
expect 0 "$TOOL" provision --config "$T/config.json" --tenant acme
cmp -s "$T/config.json" "$T/config.orig" || fail "changed without --write"
[ "$(wc -l <"$T/out")" = 2 ] || fail "provision prints two lines: $(cat "$T/out")"
head -n 1 "$T/out" | grep -q '^Q01LRQEB' || fail "not an envelope blob: $(cat "$T/out")"
sed -n 2p "$T/out" | grep -Eq '^[A-Za-z0-9+/]{43}=$' ||
    fail "not base64 of 32 bytes: $(sed -n 2p "$T/out")"
expect 0 "$TOOL" provision --config "$T/config.json" --tenant acme --write
kek=$(head -n 1 "$T/out")
commit=$(sed -n 2p "$T/out")
grep -qF "\"kek\": \"$kek\"" "$T/config.json" || fail "kek not written"
grep -qF "\"kek_commitment\": \"$commit\"" "$T/config.json" ||
    fail "kek_commitment not written"
[ "$(stat -c %a "$T/config.json")" = 640 ] || fail "config mode changed"
ls "$T" | grep -q 'tmp-' && fail "temporary file left behind"
cp "$T/config.json" "$T/config.1"
expect 2 "$TOOL" provision --config "$T/config.json" --tenant acme --write
cmp -s "$T/config.json" "$T/config.1" || fail "KEK replaced without --force"
head -c 32 /dev/urandom >"$T/kek.bin"
expect 2 "$TOOL" provision --config "$T/config.json" --tenant acme \
    --import-kek "$T/kek.bin" --force
head -c 31 /dev/urandom >"$T/short.bin"
expect 2 "$TOOL" provision --config "$T/config.json" --tenant beta \
    --import-kek "$T/short.bin"
expect 0 "$TOOL" provision --config "$T/config.json" --tenant beta \
    --import-kek "$T/kek.bin" --write
expect 2 "$TOOL" provision --config "$T/config.json" --tenant nobody
expect 2 "$TOOL" provision --config "$T/missing.json" --tenant acme
expect 2 "$TOOL" provision --tenant acme

echo "== kek-commit"
# A KEK provisioned before commitments: refused by health until kek-commit
# adds the same commitment provision wrote.
cp "$T/config.json" "$T/config.2"
/usr/bin/python3 - "$T/config.json" <<'PY' || fail "cannot edit the config"
import json, sys
c = json.load(open(sys.argv[1]))
del c["tenants"][0]["kek_commitment"]
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
expect 1 "$TOOL" health --config "$T/config.json" --tenant acme
grep -q '^acme: kek_commitment: ' "$T/out" || fail "health output: $(cat "$T/out")"
grep -q 'cmk-tool kek-commit --config FILE --tenant acme --write' "$T/err" ||
    fail "the refusal does not name kek-commit: $(cat "$T/err")"
expect 0 "$TOOL" kek-commit --config "$T/config.json" --tenant acme
[ "$(cat "$T/out")" = "$commit" ] || fail "kek-commit printed $(cat "$T/out")"
[ "$(grep -c '"kek_commitment"' "$T/config.json")" = 1 ] ||
    fail "written without --write" # beta's only
expect 0 "$TOOL" kek-commit --config "$T/config.json" --tenant acme --write
grep -qF "\"kek_commitment\": \"$commit\"" "$T/config.json" ||
    fail "kek_commitment not written by kek-commit"
[ "$(stat -c %a "$T/config.json")" = 640 ] || fail "config mode changed"
# with a commitment already there it checks, and changes nothing
cp "$T/config.json" "$T/config.3"
expect 0 "$TOOL" kek-commit --config "$T/config.json" --tenant acme --write
cmp -s "$T/config.json" "$T/config.3" || fail "kek-commit rewrote a commitment"
sed -i "s|$commit|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=|" "$T/config.json"
expect 1 "$TOOL" kek-commit --config "$T/config.json" --tenant acme
grep -q 'does not match its kek_commitment' "$T/err" || fail "$(cat "$T/err")"
expect 1 "$TOOL" health --config "$T/config.json" --tenant acme
grep -q '^acme: kek_commitment: ' "$T/out" || fail "health output: $(cat "$T/out")"
cp "$T/config.2" "$T/config.json"
expect 2 "$TOOL" kek-commit --config "$T/config.json" --tenant nobody
expect 2 "$TOOL" kek-commit --config "$T/config.json"
expect 2 "$TOOL" kek-commit --tenant acme
expect 2 "$TOOL" kek-commit --config "$T/config.json" --tenant acme extra
expect 0 "$TOOL" kek-commit --help

echo "== health"
expect 0 "$TOOL" health --config "$T/config.json"
printf 'acme: ok\nbeta: ok\n' | cmp -s - "$T/out" || fail "health output: $(cat "$T/out")"
expect 0 "$TOOL" health --config "$T/config.json" --tenant beta
[ "$(cat "$T/out")" = "beta: ok" ] || fail "health --tenant output"
expect 2 "$TOOL" health --config "$T/config.json" --tenant nobody
# another key in acme's file: its KEK names a version that is gone, a
# fault of the KEK blob (key_not_found is the KMS not knowing the key)
cp "$T/a.key" "$T/a.saved"
rm "$T/a.key"
"$TOOL" local-key --out "$T/a.key" >/dev/null || fail "local-key"
expect 1 "$TOOL" health --config "$T/config.json"
grep -q '^acme: bad_blob: ' "$T/out" || fail "health output: $(cat "$T/out")"
grep -q '^beta: ok$' "$T/out" || fail "beta should stay healthy"
cp "$T/a.saved" "$T/a.key"
expect 0 "$TOOL" health --config "$T/config.json"
# A deleted key file is refused when the config loads (core/settings.h), so it
# shows as a configuration error naming the file.
rm "$T/a.key"
expect 2 "$TOOL" health --config "$T/config.json"
grep -q "$T/a.key" "$T/err" || fail "message does not name the key file"

echo "== pin-reset"
cp "$T/a.saved" "$T/a.key"
expect 0 "$TOOL" pin-reset --config "$T/config.json" --tenant beta --status
[ "$(cat "$T/out")" = "beta: 0 of 10 failures" ] || fail "status: $(cat "$T/out")"
mkdir -p "$T/store/beta"
printf 'cmk-pin-state 1 failures=10 not_before=0\n' >"$T/store/beta/pin-state"
chmod 600 "$T/store/beta/pin-state"
expect 0 "$TOOL" pin-reset --config "$T/config.json" --tenant beta --status
[ "$(cat "$T/out")" = "beta: 10 of 10 failures, locked" ] ||
    fail "status: $(cat "$T/out")"
expect 0 "$TOOL" pin-reset --config "$T/config.json" --tenant beta
[ "$(cat "$T/out")" = "beta: failed-login count reset (was 10, locked)" ] ||
    fail "reset output: $(cat "$T/out")"
grep -q '^cmk-pin-state 1 failures=0 not_before=0$' "$T/store/beta/pin-state" ||
    fail "counter not cleared: $(cat "$T/store/beta/pin-state")"
[ "$(stat -c %a "$T/store/beta/pin-state")" = 600 ] || fail "counter mode"
expect 2 "$TOOL" pin-reset --config "$T/config.json" --tenant nobody
expect 2 "$TOOL" pin-reset --config "$T/config.json"
expect 2 "$TOOL" pin-reset --tenant beta
expect 0 "$TOOL" pin-reset --help

echo "== lifecycle records"
# provision --write records "cmk_added" (the new KEK's commitment as its
# detail) in the config's audit file, from a writer of its own that
# audit verify finds closed.
mkdir -m 700 "$T/audit"
expect 0 "$TOOL" local-key --out "$T/g.key"
cat >"$T/life.json" <<JSON
{
  "version": 1,
  "store_dir": "$T/store",
  "audit": {"file": "$T/audit/audit.jsonl"},
  "tenants": [
    {"label": "gamma", "provider": "local", "key": "$T/g.key",
     "pin_verifier": "$v", "test_mode": true}
  ]
}
JSON
# Without --write nothing changes, so nothing is recorded.
expect 0 "$TOOL" provision --config "$T/life.json" --tenant gamma
[ -e "$T/audit/audit.jsonl" ] && grep -q '"event":"cmk_added"' "$T/audit/audit.jsonl" &&
    fail "a printed KEK was recorded as added"
expect 0 "$TOOL" provision --config "$T/life.json" --tenant gamma --write
commit=$(sed -n 2p "$T/out")
grep -c '"event":"cmk_added"' "$T/audit/audit.jsonl" | grep -qx 1 ||
    fail "not one cmk_added record: $(cat "$T/audit/audit.jsonl")"
grep '"event":"cmk_added"' "$T/audit/audit.jsonl" | grep -qF \
    "\"op\":\"cmk-tool provision\",\"tenant\":\"gamma\",\"result\":\"ok\",\"detail\":\"$commit\",\"key_new\":\"$T/g.key\"," ||
    fail "cmk_added fields: $(grep cmk_added "$T/audit/audit.jsonl")"
expect 0 "$TOOL" audit verify --config "$T/life.json" "$T/audit/audit.jsonl"

echo "== every KMS call of a command is a kms_call record"
# Each command's writer holds, after the seal of its own chain key
# ("audit chain key"), the KMS calls it made, in order: provision seals
# the KEK and checks it (Encrypt, Decrypt), kek-commit unwraps it,
# health asks the provider and unwraps the KEK.
expect 0 "$TOOL" kek-commit --config "$T/life.json" --tenant gamma
expect 0 "$TOOL" health --config "$T/life.json" --tenant gamma
calls() {
    /usr/bin/python3 - "$T/audit/audit.jsonl" <<'PY'
import json, sys
writers = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event"] in ("audit_open", "finalize") or r.get("detail") == "audit chain key":
        continue
    w = writers.setdefault(r["writer"], [])
    w.append(r["event"] if r["event"] != "kms_call" else
             "%s:%s:%s" % (r["op"], r["result"], r["provider"]))
for w in writers.values():
    print(" ".join(w))
PY
}
calls >"$T/calls" || fail "cannot read the audit file"
cat >"$T/want" <<'EOF2'
Encrypt:CKR_OK:local Decrypt:CKR_OK:local
Encrypt:CKR_OK:local Decrypt:CKR_OK:local cmk_added
Decrypt:CKR_OK:local
Health:CKR_OK:local Decrypt:CKR_OK:local
EOF2
diff "$T/want" "$T/calls" >&2 || fail "the commands' kms_call records"
grep '"event":"kms_call"' "$T/audit/audit.jsonl" | grep -v '"request_id":"local-[0-9a-f]\{16\}"' &&
    fail "a kms_call record without its request id"
expect 0 "$TOOL" audit verify --config "$T/life.json" "$T/audit/audit.jsonl"
# An audit file that cannot be opened stops provision and kek-commit
# before any KMS call, and makes health exit 1 (its check still runs,
# unrecorded, and says so). Here the chain key's tenant (delta, whose CMK
# seals the audit file's key) has a damaged key file; gamma is fine.
expect 0 "$TOOL" local-key --out "$T/d.key"
/usr/bin/python3 - "$T/life.json" "$T/d.key" <<'PY' || fail "cannot add tenant delta"
import json, sys
c = json.load(open(sys.argv[1]))
d = dict(c["tenants"][0], label="delta", key=sys.argv[2])
for k in ("kek", "kek_commitment"):
    d.pop(k, None)
c["tenants"].append(d)
c["audit"]["key_tenant"] = "delta"
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
truncate -s 16 "$T/d.key"
cp "$T/life.json" "$T/life.before"
lines=$(wc -l <"$T/audit/audit.jsonl")
expect 1 "$TOOL" provision --config "$T/life.json" --tenant gamma --write --force
grep -q "audit file $T/audit/audit.jsonl cannot be opened" "$T/err" ||
    fail "provision, audit file down: $(cat "$T/err")"
cmp -s "$T/life.json" "$T/life.before" || fail "provision changed the config without its audit file"
expect 1 "$TOOL" kek-commit --config "$T/life.json" --tenant gamma
grep -q "audit file $T/audit/audit.jsonl cannot be opened" "$T/err" ||
    fail "kek-commit, audit file down: $(cat "$T/err")"
expect 1 "$TOOL" health --config "$T/life.json" --tenant gamma
grep -qx "gamma: ok" "$T/out" && grep -q "KMS calls are not recorded" "$T/err" ||
    fail "health, audit file down: $(cat "$T/out" "$T/err")"
[ "$(wc -l <"$T/audit/audit.jsonl")" = "$lines" ] ||
    fail "records written while the chain key could not be sealed"

echo "== version"
expect 0 "$TOOL" version
grep -q '^cmk-tool [0-9]' "$T/out" || fail "version output"
expect 2 "$TOOL" frobnicate
expect 2 "$TOOL"
echo "PASS"
