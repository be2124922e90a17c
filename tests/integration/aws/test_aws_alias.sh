#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: AWS's manual key rotation for a tenant that names its key by
# alias, through the module against the KMS emulator: provision the KEK
# through the alias, make a token object and blobs (aws_alias.py before),
# point the alias at a new key, then in a new process (a restart of the
# module) everything made before still opens with the old key's ARN and
# new blobs are sealed by the new key (aws_alias.py after).
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-aws-alias.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
emulator_start "$CMK_TMP/emu" || cmk_error "emulator did not start"

aws_env_isolate "$CMK_TMP"
emu_ctl add_credentials \
    '{"access_key_id": "AKIDALIASTEST", "secret": "alias-secret/XYZ"}' \
    >/dev/null || cmk_error "add_credentials"
umask 077
printf '{"access_key_id": "AKIDALIASTEST", "secret_access_key": "alias-secret/XYZ"}\n' \
    >"$CMK_TMP/aws-credentials.json"

# arn_of JSON: the "arn" member of a control API answer.
arn_of() {
    "$EMU_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["arn"])'
}
OLD_ARN=$(emu_ctl create_key '{"alias": "alias/rot-tenant"}' | arn_of) ||
    cmk_error "create_key"
NEW_ARN=$(emu_ctl create_key '{}' | arn_of) || cmk_error "create_key"
export OLD_ARN NEW_ARN EMU_HTTP_URL

verifier=$(printf '2468\n' | "$CMK_TOOL" pin-hash --cost min) ||
    cmk_error "cmk-tool pin-hash"
cfg=$CMK_TMP/config.json
printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "tenants": [{"label": "rot", "provider": "aws", "key": "alias/rot-tenant", "region": "us-east-1", "endpoint": "%s/", "aws": {"credentials_file": "%s"}, "test_mode": true, "pin_verifier": "%s"}]\n}\n' \
    "$CMK_TMP/store" "$EMU_HTTP_URL" "$CMK_TMP/aws-credentials.json" \
    "$verifier" >"$cfg" || cmk_error "cannot write $cfg"
cmk_provision "$cfg" rot

# The KEK blob in the config is version 2 and names the old key's ARN.
"$EMU_PYTHON" - "$cfg" "$OLD_ARN" <<'EOF' || cmk_fail "KEK blob"
import base64, json, sys
blob = base64.b64decode(json.load(open(sys.argv[1]))["tenants"][0]["kek"])
k = int.from_bytes(blob[6:8], "big")
s = int.from_bytes(blob[8 + k:10 + k], "big")
got = (blob[:5], blob[8:8 + k], blob[10 + k:10 + k + s].decode())
want = (b"CMKE\x02", b"aws:alias/rot-tenant", sys.argv[2])
if got != want:
    sys.exit("KEK blob: %r, want %r" % (got, want))
EOF
echo "ok: KEK provisioned through the alias, its blob names $OLD_ARN"

export CMK_PKCS11_CONFIG=$cfg
cmk_host "$CMK_PYTHON" "$top_srcdir/tests/integration/aws/aws_alias.py" \
    before "$CMK_TMP/made.json" || cmk_fail "before the alias moved"

# AWS's manual rotation: the alias now names the new key.
emu_ctl update_alias "{\"alias\": \"alias/rot-tenant\", \"key_id\": \"$NEW_ARN\"}" \
    >/dev/null || cmk_error "update_alias"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
echo "ok: alias/rot-tenant moved to $NEW_ARN"

cmk_host "$CMK_PYTHON" "$top_srcdir/tests/integration/aws/aws_alias.py" \
    after "$CMK_TMP/made.json" || cmk_fail "after the alias moved"
echo "PASS"
exit 0
