#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# interop: differential test against SoftHSM2. One known KEK goes into a
# SoftHSM2 token (as an AES key) and into our tenant (test_mode, cmk-tool
# provision --import-kek); test_softhsm_diff.py then wraps, unwraps and
# encrypts on one token and checks the other gets the same bytes.
set -u
. "$(dirname "$0")/../integration/lib.sh"

cmk_need softhsm2-util "$CMK_PYTHON"
[ -f "$SOFTHSM_MODULE" ] || cmk_missing "SoftHSM2 module not found: $SOFTHSM_MODULE"
cmk_need_module
cmk_tmpdir

# SoftHSM2 with a private token directory.
mkdir -p "$CMK_TMP/softhsm" || cmk_error "mkdir"
cat >"$CMK_TMP/softhsm2.conf" <<CONF
directories.tokendir = $CMK_TMP/softhsm
objectstore.backend = file
log.level = ERROR
CONF
export SOFTHSM2_CONF=$CMK_TMP/softhsm2.conf
softhsm2-util --init-token --free --label interop --pin 1234 \
    --so-pin 87654321 >/dev/null || cmk_error "softhsm2-util --init-token"

# The known KEK, and our tenant provisioned with it.
head -c 32 /dev/urandom >"$CMK_TMP/kek.bin" || cmk_error "no random"
chmod 600 "$CMK_TMP/kek.bin"
cmk_tenant "$CMK_TMP" acme 1234 ', "test_mode": true'
cmk_write_config "$CMK_TMP/config.json" "$CMK_TMP/store"
cmk_provision "$CMK_TMP/config.json" acme --import-kek "$CMK_TMP/kek.bin"
export CMK_PKCS11_CONFIG=$CMK_TMP/config.json
export CMK_INTEROP_KEK=$CMK_TMP/kek.bin

cmk_host "$CMK_PYTHON" "$(dirname "$0")/test_softhsm_diff.py"
