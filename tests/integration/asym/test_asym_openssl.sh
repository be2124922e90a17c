#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: OpenSSL's pkcs11 engine on key pairs (RSA 2048/3072/4096,
# EC P-256/384/521): certificates, CSRs, pkeyutl signatures and OAEP
# decryption, and TLS 1.2/1.3 handshakes served from the token; first on
# SoftHSM2 (the control), then on our module with the same keys as a
# tenant's "key_pairs" (local provider). Plain openssl judges every
# result; pkcs11-spy shows the mechanism each client used.
set -u
. "$(dirname "$0")/asymlib.sh"
. "$ASYM_DIR/steps_openssl.sh"

cmk_need openssl cmp rev timeout
engine_need
asym_find_spy
cmk_need_module
cmk_tmpdir
T=$CMK_TMP
asym_setup

steps_openssl_tls() {
    steps_openssl "$@"
    steps_tls "$@"
}
asym_gap softhsm openssl/pkeyutl-oaep-sha256 "SoftHSM 2.6.1 takes OAEP with SHA-1 only (CKR_ARGUMENTS_BAD); the engine then decrypts with raw RSA (CKM_RSA_X_509)"
asym_on_both steps_openssl_tls
asym_summary
