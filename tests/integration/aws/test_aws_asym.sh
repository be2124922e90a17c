#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: key pairs on the aws provider, end to end through the
# module, against the KMS emulator: a key of every KeySpec the module
# takes (RSA_2048/3072/4096 and ECC_NIST_P256/P384/P521 SIGN_VERIFY, RSA
# ENCRYPT_DECRYPT keys, and a key whose SigningAlgorithms are some of its
# spec's) run through tests/integration/test_asym_pykcs11.py with
# CMK_ASYM_PROVIDER=aws; a change of a key's public key; every kms_call
# record's request id is one the emulator logged.
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-aws-asym.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
emulator_start "$CMK_TMP/emu" || cmk_error "emulator did not start"
emu_ctl add_credentials \
    '{"access_key_id":"AKIDASYMTEST","secret":"asym-secret/ABC+123"}' \
    >/dev/null || cmk_error "add_credentials"
umask 077
printf '{"access_key_id": "AKIDASYMTEST", "secret_access_key": "asym-secret/ABC+123"}\n' \
    >"$CMK_TMP/aws-credentials.json"
aws_env_isolate "$CMK_TMP"

# aws_key SPEC USAGE: a key's ARN (each made once: RSA-4096 is slow).
aws_key() {
    emu_ctl create_key "{\"key_spec\": \"$1\", \"key_usage\": \"$2\"}" |
        "$CMK_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["arn"])' ||
        cmk_error "create_key $1 $2"
}
cmk=$(aws_key SYMMETRIC_DEFAULT ENCRYPT_DECRYPT)
keys=$CMK_TMP/keys.json
{
    printf '{"tenant": {"provider": "aws", "key": "%s", "region": "us-east-1", "endpoint": "%s/", "aws": {"credentials_file": "%s"}},\n "keys": [' \
        "$cmk" "$EMU_HTTP_URL" "$CMK_TMP/aws-credentials.json"
    sep=
    for s in RSA_2048:RSA_2048 RSA_3072:RSA_3072 RSA_4096:RSA_4096 \
        ECC_NIST_P256:EC_P256 ECC_NIST_P384:EC_P384 ECC_NIST_P521:EC_P521; do
        arn=$(aws_key "${s%%:*}" SIGN_VERIFY)
        # P-256: the emulator puts a new private key behind it (the module
        # must notice the signature of another key)
        replace=
        [ "${s#*:}" = EC_P256 ] &&
            replace=", \"replace\": {\"url\": \"$EMU_HTTP_URL/_emulator/replace_key_pair\", \"body\": {\"key_id\": \"$arn\"}}"
        printf '%s\n  {"spec": "%s", "key": "%s", "usage": ["sign"]%s}' \
            "$sep" "${s#*:}" "$arn" "$replace"
        sep=,
    done
    for s in RSA_2048 RSA_4096; do
        printf ',\n  {"spec": "%s", "key": "%s", "usage": ["decrypt"]}' \
            "$s" "$(aws_key "$s" ENCRYPT_DECRYPT)"
    done
    # a key whose SigningAlgorithms are PSS with SHA-256 and SHA-512 only:
    # the module offers those and refuses the rest
    arn=$(emu_ctl create_key '{"key_spec": "RSA_2048", "key_usage": "SIGN_VERIFY", "signing_algorithms": ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_512"]}' |
        "$CMK_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["arn"])') ||
        cmk_error "create_key with signing_algorithms"
    printf ',\n  {"spec": "RSA_2048", "key": "%s", "usage": ["sign"], "schemes": ["pss"], "hashes": ["sha256", "sha512"]}' \
        "$arn"
    printf ']}\n'
} >"$keys" || cmk_error "cannot write $keys"

CMK_HOST_TIMEOUT=600 CMK_ASYM_PROVIDER=aws CMK_ASYM_KEYS=$keys \
    EMU_CALLS=$EMU_DIR/calls.jsonl \
    cmk_host "$CMK_PYTHON" "$top_srcdir/tests/integration/test_asym_pykcs11.py" ||
    cmk_fail "test_asym_pykcs11.py on the aws provider"
