#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: OpenSC's pkcs11-tool (0.23) on a tenant whose CMK is a
# derived transit key in the emulator's Vault over TLS, its tokens by
# AppRole login: token listing, login, a token DEK, wrap/unwrap on the
# direct path (0x84340001, transit encrypt/decrypt) and the KEK path
# (0x210B), the unwrapped keys checked by AES-CBC-PAD output, and the
# Vault calls of every step read from the call log, counted per
# pkcs11-tool process (each process logs in once and reads the key's
# settings once).
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/vault_lib.sh"

cmk_need_module
cmk_need od cmp
[ -x "${PKCS11_TOOL:=/usr/bin/pkcs11-tool}" ] ||
    cmk_missing "$PKCS11_TOOL is not installed (apt-get install opensc)"
emu_require || exit $?

IV=000102030405060708090a0b0c0d0e0f
vault_start cmk-vault-p11

KEY=p11tool
vault_key $KEY
mkdir -m 700 "$T/creds" || cmk_error "mkdir"
vault_approle cmk $KEY "$T/creds"
cat >"$T/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 3,
           "ca_file": "$EMU_CA"},
  "tenants": [$(vault_tenant acme 1234 $KEY cmk "$T/creds")]
}
EOF
cmk_provision "$T/config.json" acme
export CMK_PKCS11_CONFIG=$T/config.json
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"

p11() {
    cmk_host "$PKCS11_TOOL" --module "$CMK_MODULE" "$@"
}
# vault_calls WHAT PROCS OP=N...: the Vault calls since the last reset:
# PROCS pkcs11-tool processes called Vault, each with one AppRole login
# and one read of the key; each OP exactly N times; all answered 200,
# every other call with a token of those logins; nothing else. Then
# reset.
vault_calls() {
    local what=$1
    shift
    "$CMK_PYTHON" - "$EMU_DIR/calls.jsonl" "$@" <<'PY' ||
import collections, json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
procs = int(sys.argv[2])
want = dict((k, int(v)) for k, v in (a.split("=") for a in sys.argv[3:]))
want["VAULT.AppRoleLogin"] = procs
want["VAULT.ReadKey"] = procs
got = collections.Counter(c["op"] for c in calls)
refused = [(c["op"], c["status"]) for c in calls if c["status"] != 200]
tokens = set(c["token_accessor"] for c in calls
             if c["op"] == "VAULT.AppRoleLogin")
foreign = [c["op"] for c in calls if c["op"] != "VAULT.AppRoleLogin" and
           c["token_accessor"] not in tokens]
if dict(got) != {k: v for k, v in want.items() if v} or refused or foreign:
    sys.exit("calls %r (want %r), refused %r, with another token %r"
             % (dict(got), want, refused, foreign))
print(" ".join("%s=%d" % kv for kv in sorted(got.items())),
      "(%d process(es))" % procs)
PY
        cmk_fail "$what"
    echo "ok: $what"
    emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
}

out=$(p11 -L) || cmk_fail "pkcs11-tool -L"
grep -q "token label *: acme\$" <<<"$out" || {
    echo "$out"
    cmk_fail "no acme token"
}
echo "ok: token acme listed"
vault_calls "token listing (no Vault call before login)" 0

tool() {
    p11 --token-label acme --login --pin 1234 "$@"
}
out=$(tool -O 2>&1) || cmk_fail "login and list objects: $out"
grep -A4 "label: *acme-cmk" <<<"$out" | grep -q 'ID: *01' || {
    echo "$out"
    cmk_fail "no CMK object with ID 01 after login"
}
echo "ok: login, CMK object acme-cmk with ID 01"
tool --keygen --key-type AES:32 --id 10 --label dek1 --sensitive \
    --extractable --private >/dev/null || cmk_fail "keygen"
head -c 1000 /dev/urandom >"$T/plain" || cmk_error "plain"
tool --encrypt -m AES-CBC-PAD --id 10 --iv $IV -i "$T/plain" \
    -o "$T/ct" || cmk_fail "encrypt with dek1"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
# The token DEK is in the store, sealed under the KEK: every process
# that reads it opens the KEK once (a transit decrypt).
tool --wrap -m 0x84340001 --id 01 --application-id 10 -o "$T/env" ||
    cmk_fail "direct-path wrap"
[ "$(head -c 4 "$T/env")" = CMKE ] || cmk_fail "not an envelope"
vault_calls "direct-path wrap" 1 VAULT.Encrypt=1 VAULT.Decrypt=1
tool --wrap -m 0x210B --id 01 --application-id 10 -o "$T/kwp" ||
    cmk_fail "KEK-path wrap"
[ "$(stat -c %s "$T/kwp")" = 40 ] || cmk_fail "RFC 5649 length"
vault_calls "KEK-path wrap (the KEK opened once)" 1 VAULT.Decrypt=1
for m in env:0x84340001:24:2 kwp:0x210B:23:1; do
    IFS=: read -r name mech id n <<<"$m"
    tool --unwrap -m "$mech" --id 01 -i "$T/$name" \
        --key-type AES:32 --application-id "$id" \
        --application-label "dek1-$name" --sensitive --extractable \
        >/dev/null || cmk_fail "unwrap $name"
    vault_calls "$name unwrap" 1 VAULT.Decrypt="$n"
    tool --encrypt -m AES-CBC-PAD --id "$id" --iv $IV -i "$T/plain" \
        -o "$T/ct-$name" || cmk_fail "encrypt with $name"
    cmp "$T/ct" "$T/ct-$name" ||
        cmk_fail "the unwrapped $name key encrypts differently"
    echo "ok: $name unwrapped as ID $id encrypts as dek1 does"
    emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
done
echo "PASS"
exit 0
