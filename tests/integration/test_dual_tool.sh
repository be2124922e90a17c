#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: dual control end to end on the local provider: cmk-tool
# provision makes both halves (the customer half sealed by the CMK, the
# provider half by dual_control.key) and the derived KEK's commitment;
# kek-commit and health open both; the module uses the derived KEK for
# token objects (pkcs11-tool) across processes; another key in place of
# either stops it; the halves cannot be swapped; --import-kek is refused.
set -u
. "$(dirname "$0")/lib.sh"

cmk_need pkcs11-tool "$CMK_PYTHON"
cmk_need_module
cmk_tmpdir
T=$CMK_TMP

step() {
    echo "== $*"
}
# expect RC CMD...: runs CMD, output in $T/out and $T/err.
expect() { cmk_expect "$@"; }
# member PATH...: a member of tenant acme in the config, "" when absent.
member() {
    "$CMK_PYTHON" - "$T/config.json" "$@" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["tenants"][0]
for k in sys.argv[2:]:
    t = t.get(k, {}) if isinstance(t, dict) else {}
print(t if isinstance(t, str) else "")
PY
}
acme() {
    cmk_host pkcs11-tool --module "$CMK_MODULE" --token-label acme --login \
        --pin 1234 "$@"
}

step "a tenant with dual_control, not provisioned yet"
"$CMK_TOOL" local-key --out "$T/platform.key" >/dev/null ||
    cmk_error "local-key"
cmk_tenant "$T" acme 1234 ", \"dual_control\": {\"provider\": \"local\", \"key\": \"$T/platform.key\"}"
cmk_write_config "$T/config.json" "$T/store"
chmod 600 "$T/config.json"
export CMK_PKCS11_CONFIG=$T/config.json

step "provision prints three lines and changes nothing"
cp "$T/config.json" "$T/before.json"
expect 0 "$CMK_TOOL" provision --config "$T/config.json" --tenant acme
[ "$(wc -l <"$T/out")" = 3 ] || cmk_fail "expected 3 lines: $(cat "$T/out")"
cmp -s "$T/config.json" "$T/before.json" || cmk_fail "config changed"

step "--import-kek is refused under dual control"
head -c 32 /dev/urandom >"$T/kek.bin"
expect 2 "$CMK_TOOL" provision --config "$T/config.json" --tenant acme \
    --import-kek "$T/kek.bin"
grep -q 'has "dual_control": its KEK is derived from two halves' "$T/err" ||
    cmk_fail "no reason given: $(cat "$T/err")"

step "provision --write stores both halves and the commitment"
expect 0 "$CMK_TOOL" provision --config "$T/config.json" --tenant acme --write
mapfile -t lines <"$T/out"
[ "$(member kek)" = "${lines[0]}" ] || cmk_fail "kek not written"
[ "$(member dual_control kek)" = "${lines[1]}" ] ||
    cmk_fail "dual_control.kek not written"
[ "$(member kek_commitment)" = "${lines[2]}" ] ||
    cmk_fail "kek_commitment not written"
[ "$(member dual_control key)" = "$T/platform.key" ] ||
    cmk_fail "dual_control.key lost"
[ "$(stat -c %a "$T/config.json")" = 600 ] || cmk_fail "config mode changed"
[ "${lines[0]}" != "${lines[1]}" ] || cmk_fail "the halves are equal"
expect 2 "$CMK_TOOL" provision --config "$T/config.json" --tenant acme --write
grep -q 'already has a KEK' "$T/err" || cmk_fail "no refusal to replace"

step "kek-commit derives the same commitment; health is ok"
expect 0 "$CMK_TOOL" kek-commit --config "$T/config.json" --tenant acme
[ "$(cat "$T/out")" = "${lines[2]}" ] ||
    cmk_fail "kek-commit gives $(cat "$T/out"), provision ${lines[2]}"
expect 0 "$CMK_TOOL" health --config "$T/config.json"
grep -qx 'acme: ok' "$T/out" || cmk_fail "health: $(cat "$T/out")"

step "the module: a token object under the derived KEK, read back"
acme --keygen --key-type AES:32 --id 21 --label dual-dek --sensitive \
    >/dev/null || cmk_fail "keygen"
out=$(acme -O --type secrkey 2>&1) || cmk_fail "acme -O: $out"
grep -q 'label: *dual-dek' <<<"$out" || cmk_fail "dual-dek not read back"

step "either key replaced by another: health fails, token objects unreadable"
# (a key file removed under a running process is the local provider's
# revocation, tests/unit/test_dual_module.c; a new process refuses the
# config before it gets that far)
for k in acme platform; do
    mv "$T/$k.key" "$T/$k.orig"
    "$CMK_TOOL" local-key --out "$T/$k.key" >/dev/null || cmk_error "local-key"
    expect 1 "$CMK_TOOL" health --config "$T/config.json"
    grep -q '^acme: bad_blob: the tenant KEK does not unwrap' "$T/out" ||
        cmk_fail "health with another $k.key: $(cat "$T/out")"
    out=$(acme -O --type secrkey 2>&1) || cmk_fail "acme -O: $out"
    grep -q 'label: *acme-cmk' <<<"$out" || cmk_fail "no CMK object: $out"
    grep -q 'dual-dek' <<<"$out" && cmk_fail "dual-dek seen with another $k.key"
    mv "$T/$k.orig" "$T/$k.key"
done
expect 0 "$CMK_TOOL" health --config "$T/config.json"
out=$(acme -O --type secrkey 2>&1) || cmk_fail "acme -O: $out"
grep -q 'label: *dual-dek' <<<"$out" || cmk_fail "dual-dek not back"

step "swapped halves do not open"
cp "$T/config.json" "$T/good.json"
"$CMK_PYTHON" - "$T/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
t = c["tenants"][0]
t["kek"], t["dual_control"]["kek"] = t["dual_control"]["kek"], t["kek"]
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
expect 1 "$CMK_TOOL" kek-commit --config "$T/config.json" --tenant acme
grep -q 'customer key (the tenant.s CMK): the KEK half does not unwrap: bad_blob' \
    "$T/err" || cmk_fail "kek-commit: $(cat "$T/err")"
expect 1 "$CMK_TOOL" health --config "$T/config.json"
cp "$T/good.json" "$T/config.json"

step "one key for both halves is refused"
sed "s#\"key\": \"$T/platform.key\"#\"key\": \"$T/acme.key\"#" "$T/good.json" \
    >"$T/config.json"
expect 2 "$CMK_TOOL" health --config "$T/config.json"
grep -q 'tenants\[0\].dual_control.key: must be another key than the tenant.s "key"' \
    "$T/err" || cmk_fail "no refusal: $(cat "$T/err")"
cp "$T/good.json" "$T/config.json"
step "rotate-cmk moves the customer half; the derived KEK is the same"
"$CMK_TOOL" local-key --out "$T/acme2.key" >/dev/null || cmk_error "local-key"
expect 0 "$CMK_TOOL" rotate-cmk --config "$T/config.json" --tenant acme \
    --to "$T/acme2.key"
[ "$(member key)" = "$T/acme2.key" ] || cmk_fail "key not moved"
[ "$(member kek)" != "${lines[0]}" ] || cmk_fail "customer half not re-encrypted"
[ "$(member dual_control kek)" = "${lines[1]}" ] || cmk_fail "provider half changed"
[ "$(member kek_commitment)" = "${lines[2]}" ] || cmk_fail "commitment changed"
mv "$T/acme.key" "$T/acme.off" # the old CMK destroyed: another key there
"$CMK_TOOL" local-key --out "$T/acme.key" >/dev/null || cmk_error "local-key"
out=$(acme -O --type secrkey 2>&1) || cmk_fail "acme -O: $out"
grep -q 'label: *dual-dek' <<<"$out" || cmk_fail "dual-dek not read after rotate-cmk"
mv "$T/platform.key" "$T/platform.off" # the provider key destroyed too
"$CMK_TOOL" local-key --out "$T/platform.key" >/dev/null || cmk_error "local-key"
out=$(acme -O --type secrkey 2>&1) || cmk_fail "acme -O: $out"
grep -q 'dual-dek' <<<"$out" && cmk_fail "dual-dek read without the provider key"
mv -f "$T/platform.off" "$T/platform.key"
mv -f "$T/acme.off" "$T/acme.key"
echo "PASS"
