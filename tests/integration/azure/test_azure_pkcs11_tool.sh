#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: OpenSC's pkcs11-tool (0.23) on two tenants whose CMKs are in
# the emulator's vaults over TLS: acme on an RSA-4096 Key Vault key (wrap
# done locally with the public key, unwrap at the vault), gamma on a
# Managed HSM oct-HSM key (A256GCM at the HSM). For each: token listing,
# login, a token DEK, wrap/unwrap on the direct path (0x84340001) and the
# KEK path (0x210B), the unwrapped keys checked by AES-CBC-PAD output, and
# the vault calls of every step read from the call log.
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/azure_lib.sh"

cmk_need_module
cmk_need od cmp
[ -x "${PKCS11_TOOL:=/usr/bin/pkcs11-tool}" ] ||
    cmk_missing "$PKCS11_TOOL is not installed (apt-get install opensc)"
emu_require || exit $?

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-azure-p11.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
IV=000102030405060708090a0b0c0d0e0f
emulator_start "$T/emu" --tls || cmk_error "emulator did not start"
az_clean_env "$T"
umask 077

az_vaults
az_key kv1 p11tool RSA 4096
az_key hsm1 p11aes oct-HSM 256
az_secret "$T/secret"
az_principal app1 "$T/secret"
az_grant app1 "{\"kv1/p11tool\": $AZ_KEY_ROLE, \"hsm1/p11aes\": $AZ_HSM_ROLE}"
CREDS=", \"tenant_id\": \"$AZ_TENANT\", \"client_id\": \"app1\", \"client_secret_file\": \"$T/secret\""
cat >"$T/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 3,
           "ca_file": "$EMU_CA"},
  "tenants": [$(az_tenant acme 1234 "$AZ_KV/keys/p11tool" https://vault.azure.net "$CREDS"),
    $(az_tenant gamma 4321 "$AZ_HSM/keys/p11aes" https://managedhsm.azure.net "$CREDS")]
}
EOF
cmk_provision "$T/config.json" acme
cmk_provision "$T/config.json" gamma
export CMK_PKCS11_CONFIG=$T/config.json

p11() {
    cmk_host "$PKCS11_TOOL" --module "$CMK_MODULE" "$@"
}
# vault_calls WHAT OP=N...: the vault calls since the last reset, the
# token endpoint's aside: each OP exactly N times answered 200, and one
# challenge (401 to a request without a token) per pkcs11-tool process
# that called the vault; nothing else. Then reset.
vault_calls() {
    local what=$1
    shift
    "$CMK_PYTHON" - "$EMU_DIR/calls.jsonl" "$@" <<'PY' ||
import collections, json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
want = dict((k, int(v)) for k, v in (a.split("=") for a in sys.argv[2:]))
vault = [c for c in calls if c["op"] not in ("AZ.Token",)]
ok = collections.Counter(c["op"] for c in vault if c["status"] == 200)
challenges = [c for c in vault if c["status"] == 401]
bad = [c for c in challenges if c.get("auth_scheme")]
other = [c for c in vault if c["status"] not in (200, 401)]
got = {k: ok.get(k, 0) for k in want}
extra = {k: v for k, v in ok.items() if k not in want and k != "AZ.GetKey"}
if got != want or bad or other or extra:
    sys.exit("calls %r (want %r), other ops %r, refused %r, 401 with a "
             "token %r" % (got, want, extra, [(c["op"], c["status"])
                                              for c in other], len(bad)))
print(" ".join("%s=%d" % kv for kv in sorted(got.items())),
      "(+ %d challenge(s))" % len(challenges))
PY
        cmk_fail "$what"
    echo "ok: $what"
    emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
}

out=$(p11 -L) || cmk_fail "pkcs11-tool -L"
for t in acme gamma; do
    grep -q "token label *: $t\$" <<<"$out" || {
        echo "$out"
        cmk_fail "no $t token"
    }
done
echo "ok: tokens acme and gamma listed"

# tenant LABEL PIN WRAP_OP UNWRAP_OP: the whole round on one tenant.
tenant() {
    local t=$1 pin=$2 wop=$3 uop=$4
    tool() {
        p11 --token-label "$t" --login --pin "$pin" "$@"
    }
    out=$(tool -O 2>&1) || cmk_fail "$t: login and list objects: $out"
    grep -A4 "label: *$t-cmk" <<<"$out" | grep -q 'ID: *01' || {
        echo "$out"
        cmk_fail "$t: no CMK object with ID 01 after login"
    }
    echo "ok: $t: login, CMK object $t-cmk with ID 01"
    tool --keygen --key-type AES:32 --id 10 --label dek1 --sensitive \
        --extractable --private >/dev/null || cmk_fail "$t: keygen"
    head -c 1000 /dev/urandom >"$T/$t.plain" || cmk_error "plain"
    tool --encrypt -m AES-CBC-PAD --id 10 --iv $IV -i "$T/$t.plain" \
        -o "$T/$t.ct" || cmk_fail "$t: encrypt with dek1"
    emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
    # pkcs11-tool asks C_WrapKey for the length first: no vault call.
    tool --wrap -m 0x84340001 --id 01 --application-id 10 \
        -o "$T/$t.env" || cmk_fail "$t: direct-path wrap"
    [ "$(head -c 4 "$T/$t.env")" = CMKE ] || cmk_fail "$t: not an envelope"
    vault_calls "$t: direct-path wrap" "$wop" "$uop=1"
    tool --wrap -m 0x210B --id 01 --application-id 10 -o "$T/$t.kwp" ||
        cmk_fail "$t: KEK-path wrap"
    [ "$(stat -c %s "$T/$t.kwp")" = 40 ] || cmk_fail "$t: RFC 5649 length"
    vault_calls "$t: KEK-path wrap (the KEK opened once)" "$uop=1"
    for m in env:0x84340001:24:2 kwp:0x210B:23:1; do
        IFS=: read -r name mech id n <<<"$m"
        tool --unwrap -m "$mech" --id 01 -i "$T/$t.$name" \
            --key-type AES:32 --application-id "$id" \
            --application-label "dek1-$name" --sensitive --extractable \
            >/dev/null || cmk_fail "$t: unwrap $name"
        vault_calls "$t: $name unwrap" "$uop=$n"
        tool --encrypt -m AES-CBC-PAD --id "$id" --iv $IV -i "$T/$t.plain" \
            -o "$T/$t.ct-$name" || cmk_fail "$t: encrypt with $name"
        cmp "$T/$t.ct" "$T/$t.ct-$name" ||
            cmk_fail "$t: the unwrapped $name key encrypts differently"
        echo "ok: $t: $name unwrapped as ID $id encrypts as dek1 does"
        emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
    done
}
# Key Vault RSA: no wrapkey at all (the wrap is local).
tenant acme 1234 AZ.WrapKey=0 AZ.UnwrapKey
tenant gamma 4321 AZ.Encrypt=1 AZ.Decrypt
echo "PASS"
exit 0
