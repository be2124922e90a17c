#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: Java's SunPKCS11 on key pairs (RSA 2048/3072/4096, EC
# P-256/384/521, each with its certificate on the token): SHA256withRSA,
# RSASSA-PSS and SHA256withECDSA verified by the JDK's own providers and
# by plain openssl, and RSA-OAEP decryption where SunPKCS11 offers it;
# first on SoftHSM2 (the control), then on our module with the same keys
# as a tenant's "key_pairs" (with "certificate"). JAVA=/path/to/java picks
# the JDK.
set -u
. "$(dirname "$0")/asymlib.sh"
. "$ASYM_DIR/steps_java.sh"

java_need
cmk_need openssl cmp pkcs11-tool
asym_find_spy
cmk_need_module
cmk_tmpdir
T=$CMK_TMP
asym_setup
ASYM_CERTS=1

for t in softhsm cmk; do
    asym_gap $t java/oaep-sha256 "SunPKCS11 (JDK 17) has no RSA OAEP Cipher"
done
# JDK 17's P11PSSSignature.setSigParams asks the token for the digest's
# own mechanism (CKM_SHA256...: Token.getMechanismInfo) and refuses PSS
# parameters without it: the module lists its digests for that.
asym_on_both steps_java
asym_summary
