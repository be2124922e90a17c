#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: tenants on the aws provider, end to end through the module,
# against the KMS emulator: KEKs provisioned with cmk-tool through AWS
# Encrypt/Decrypt, cmk-tool health, then PyKCS11 (aws_pykcs11.py) on both
# paths with the failure cases, and HTTPS refused with a CA that did not
# sign the emulator's certificate and with a certificate for another name.
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-aws.XXXXXX") || cmk_error "mktemp"
EMU2_PID=
cleanup() {
    emulator_stop
    if [ -n "$EMU2_PID" ]; then
        kill -TERM "$EMU2_PID" 2>/dev/null
        wait "$EMU2_PID" 2>/dev/null
    fi
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
emulator_start "$CMK_TMP/emu" --tls || cmk_error "emulator did not start"
sh "$EMU_HOME/make_ca.sh" "$CMK_TMP/other" >/dev/null 2>&1 ||
    cmk_error "make_ca.sh failed"

# Credentials by reference: a 0600 JSON file the config names.
emu_ctl add_credentials \
    '{"access_key_id":"AKIDE2ETEST","secret":"e2e-secret/ABC+123"}' >/dev/null ||
    cmk_error "add_credentials"
emu_ctl create_key '{"alias":"alias/e2e-tenants"}' >/dev/null ||
    cmk_error "create_key"
umask 077
printf '{"access_key_id": "AKIDE2ETEST", "secret_access_key": "e2e-secret/ABC+123"}\n' \
    >"$CMK_TMP/aws-credentials.json"
# Nothing from the environment of whoever runs the tests.
aws_env_isolate "$CMK_TMP"

verifier() {
    printf '%s\n' "$1" | "$CMK_TOOL" pin-hash --cost min ||
        cmk_error "cmk-tool pin-hash"
}

# aws_tenant LABEL PIN ENDPOINT
aws_tenant() {
    printf '{"label": "%s", "provider": "aws", "key": "alias/e2e-tenants", "region": "us-east-1", "endpoint": "%s", "aws": {"credentials_file": "%s"}, "test_mode": true, "pin_verifier": "%s"}' \
        "$1" "$3" "$CMK_TMP/aws-credentials.json" "$(verifier "$2")"
}

# write_config FILE CA_FILE TENANT_JSON...
# (aws_pykcs11.py checks each call's own answer from the KMS: the circuit
# breaker is off here and tested in tests/unit/test_breaker.c)
write_config() {
    local file=$1 ca=$2 IFS=,
    shift 2
    printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "cache": {"ttl_seconds": 4},\n  "health": {"breaker": false},\n  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 3, "ca_file": "%s"},\n  "tenants": [%s]\n}\n' \
        "$CMK_TMP/store" "$ca" "$*" >"$file" || cmk_error "cannot write $file"
}

cfg=$CMK_TMP/config.json
write_config "$cfg" "$EMU_CA" \
    "$(aws_tenant acme 1234 "$EMU_HTTP_URL/")" \
    "$(aws_tenant beta 5678 "$EMU_HTTP_URL/")" \
    "$(aws_tenant tls 4321 "$EMU_HTTPS_URL/")"
for t in acme beta tls; do
    cmk_provision "$cfg" "$t"
done
n=$(emu_count Encrypt)
[ "$n" -eq 3 ] || cmk_fail "provisioning made $n Encrypt calls, expected 3"
echo "ok: KEKs provisioned through AWS Encrypt (and checked with Decrypt)"

out=$("$CMK_TOOL" health --config "$cfg") || {
    echo "$out"
    cmk_fail "cmk-tool health"
}
echo "$out"

# The same tenant trusting a CA that did not sign the emulator's certificate.
bad=$CMK_TMP/bad-ca.json
sed "s|\"ca_file\": \"$EMU_CA\"|\"ca_file\": \"$CMK_TMP/other/ca.pem\"|" \
    "$cfg" >"$bad"
grep -q other/ca.pem "$bad" || cmk_error "bad-ca config not made"
if out=$("$CMK_TOOL" health --config "$bad" --tenant tls); then
    cmk_fail "health passed with a wrong CA: $out"
fi
case $out in
*"network"*"(TlsError)"*) echo "ok: wrong CA -> $out" ;;
*) cmk_fail "wrong CA: unexpected answer: $out" ;;
esac

export EMU_HTTP_URL EMU_PID EMU_DIR
CMK_PKCS11_CONFIG=$bad cmk_host "$CMK_PYTHON" \
    "$top_srcdir/tests/integration/aws/aws_pykcs11.py" badtls ||
    cmk_fail "PyKCS11 with a wrong CA"
CMK_PKCS11_CONFIG=$cfg cmk_host "$CMK_PYTHON" \
    "$top_srcdir/tests/integration/aws/aws_pykcs11.py" main ||
    cmk_fail "PyKCS11 on the aws tenants"

# A second emulator, same keys and credentials, whose certificate names
# wrong.invalid only, signed by a CA the config trusts: refused on the
# host name (an accepted call would pass the badtls checks' KMS side).
sh "$EMU_HOME/make_ca.sh" "$CMK_TMP/wrongname" DNS:wrong.invalid \
    >/dev/null 2>&1 || cmk_error "make_ca.sh failed"
mkdir -p "$CMK_TMP/emu2" && cp "$EMU_DIR/state.json" "$CMK_TMP/emu2/" ||
    cmk_error "emu2 state"
"$EMU_PYTHON" "$EMU_HOME/kms_emulator.py" --state-dir "$CMK_TMP/emu2" \
    --ready-file "$CMK_TMP/emu2/ready" \
    --tls-cert "$CMK_TMP/wrongname/server.pem" \
    --tls-key "$CMK_TMP/wrongname/server.key" \
    >>"$CMK_TMP/emu2/emulator.log" 2>&1 &
EMU2_PID=$!
for _ in $(seq 100); do
    [ -s "$CMK_TMP/emu2/ready" ] && break
    sleep 0.1
done
[ -s "$CMK_TMP/emu2/ready" ] || cmk_error "second emulator did not start"
emu2_http=http://127.0.0.1:$(sed -n 's/^port=//p' "$CMK_TMP/emu2/ready")
emu2_https=https://127.0.0.1:$(sed -n 's/^tls_port=//p' "$CMK_TMP/emu2/ready")
name=$CMK_TMP/wrong-name.json
# The tls tenant (its KEK included) pointed at the second emulator.
sed -e "s|\"ca_file\": \"$EMU_CA\"|\"ca_file\": \"$CMK_TMP/wrongname/ca.pem\"|" \
    -e "s|\"$EMU_HTTPS_URL/\"|\"$emu2_https/\"|" "$cfg" >"$name"
grep -q wrongname/ca.pem "$name" && grep -q "$emu2_https/" "$name" ||
    cmk_error "wrong-name config not made"
if out=$("$CMK_TOOL" health --config "$name" --tenant tls); then
    cmk_fail "health passed with a certificate for another name: $out"
fi
case $out in
*"network"*"(TlsError)"*) echo "ok: certificate for another name -> $out" ;;
*) cmk_fail "certificate for another name: unexpected answer: $out" ;;
esac
[ ! -s "$CMK_TMP/emu2/calls.jsonl" ] ||
    cmk_fail "a KMS call went through despite the host name"
CMK_PKCS11_CONFIG=$name EMU_HTTP_URL=$emu2_http cmk_host "$CMK_PYTHON" \
    "$top_srcdir/tests/integration/aws/aws_pykcs11.py" badtls ||
    cmk_fail "PyKCS11 with a certificate for another name"
