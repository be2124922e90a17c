#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: OpenSC's pkcs11-tool on key pairs (RSA 2048/3072/4096, EC
# P-256/384/521): the public key read back, every signature mechanism
# (RSA PKCS#1 on a DigestInfo, SHAx-RSA-PKCS, RSA-PSS on a digest and
# SHAx-RSA-PKCS-PSS, ECDSA on a digest and ECDSA-SHAx) and RSA-OAEP
# decryption (SHA-1, SHA-256); first on SoftHSM2 (the control), then on
# our module with the same keys as a tenant's "key_pairs", where the PSS
# parameters a KMS cannot take and PKCS#1 on raw data are refused too.
# Plain openssl judges every result.
set -u
. "$(dirname "$0")/asymlib.sh"
. "$ASYM_DIR/steps_pkcs11_tool.sh"

cmk_need pkcs11-tool openssl cmp
asym_find_spy
cmk_need_module
cmk_tmpdir
T=$CMK_TMP
asym_setup

asym_gap softhsm pkcs11-tool/decrypt-oaep-sha256 "SoftHSM 2.6.1 takes OAEP with SHA-1 only: CKR_ARGUMENTS_BAD"
for md in sha256 sha384 sha512; do
    asym_gap softhsm "pkcs11-tool/sign-ecdsa-$md" "SoftHSM 2.6.1 has no CKM_ECDSA_SHA*: CKR_MECHANISM_INVALID"
done
# OpenSC 0.23's --read-object of an EC public key reads memory it has
# freed (ASan: heap-use-after-free under EC_GROUP_new_from_params, called
# from pkcs11-tool itself), on SoftHSM2 too: P-384 fails outright, and
# with libasan preloaded every curve aborts.
ec_gap="OpenSC 0.23 pkcs11-tool reads a freed curve name when it converts an EC public key"
for t in softhsm cmk; do
    asym_gap $t pkcs11-tool/read-pubkey@p384 "$ec_gap (\"cannot create EVP_PKEY\")"
    if cmk_sanitized; then
        asym_gap $t pkcs11-tool/read-pubkey@p256 "$ec_gap (ASan aborts it)"
        asym_gap $t pkcs11-tool/read-pubkey@p521 "$ec_gap (ASan aborts it)"
    fi
done
asym_on_both steps_pkcs11_tool
# Our module only (SoftHSM2 takes these): asym_on_both ended on it.
if [ "$ASYM_NAME" = cmk ] && asym_has_keys; then
    steps_pkcs11_tool_refusals rsa2048:21
fi
asym_summary
