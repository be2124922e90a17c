# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/integration/asym: Java's SunPKCS11 on a token's key pairs
# (AsymJava.java, compiled once, one JVM per operation so pkcs11-spy's
# log is that operation's): Signature SHA256withRSA, RSASSA-PSS (SHA-256,
# MGF1 SHA-256, salt 32; SunPKCS11 takes it only from a token that lists
# CKM_SHA256), SHA256withRSASSA-PSS and SHA256withECDSA, each verified by
# the JDK's own provider and by plain openssl, and Cipher
# RSA/ECB/OAEPWithSHA-256AndMGF1Padding on a ciphertext made by openssl.
# Sourced by asym_steps.sh and the tests (asymlib.sh first).

# The JDK: JAVA, or java on PATH (javac beside it).
java_need() {
    ASYM_JAVA=$(command -v "${JAVA:-java}" 2>/dev/null) ||
        cmk_missing "no JDK (java not found)"
    ASYM_JAVAC=$(dirname "$(readlink -f "$ASYM_JAVA")")/javac
    [ -x "$ASYM_JAVAC" ] || cmk_missing "no javac beside $ASYM_JAVA (a JRE only)"
}

java_build() {
    mkdir -p "$T/java" &&
        "$ASYM_JAVAC" -d "$T/java" "$ASYM_DIR/AsymJava.java" ||
        cmk_error "javac AsymJava.java failed"
}

# SunPKCS11 picks the token by its index in C_GetSlotList, as pkcs11-tool
# -L numbers the slots.
java_config() {
    local idx
    idx=$(cmk_host pkcs11-tool --module "$ASYM_MODULE" -L 2>/dev/null |
        awk -v tok="$ASYM_TOKEN" '
            /^Slot [0-9]+ / { n = $2 }
            /^ *token label *: / { sub(/^ *token label *: /, ""); if ($0 == tok) { print n; exit } }')
    [ -n "$idx" ] || return 1
    printf 'name = asym\nlibrary = %s\nslotListIndex = %s\n' "$ASYM_SPY" \
        "$idx" >"$T/java/$ASYM_NAME.cfg"
}

asym_java() {
    JAVA_TOOL_OPTIONS="-Djava.io.tmpdir=$T" cmk_host "$ASYM_JAVA" \
        -cp "$T/java" AsymJava "$T/java/$ASYM_NAME.cfg" "$ASYM_PIN" "$@" \
        "$T/java/$ASYM_NAME"
}

# steps_java LABEL:ID...: the Java steps for each key (SunPKCS11 lists a
# private key only with its certificate: the token must hold one, same
# CKA_ID).
steps_java() {
    local key label dir pub kind
    cmk_need openssl cmp pkcs11-tool
    java_need
    [ -d "$T/java" ] || java_build
    dir=$T/java/$ASYM_NAME
    mkdir -p "$dir" || cmk_error "mkdir $dir"
    head -c 1000 /dev/urandom >"$dir/msg"
    head -c 32 /dev/urandom >"$dir/secret"
    if ! java_config; then
        asym_result java/config - - FAIL "no slot with token $ASYM_TOKEN"
        return 0
    fi
    for key in "$@"; do
        label=${key%%:*}
        asym_step "java: $label"
        pub=$dir/$label.pub
        cmk_host pkcs11-tool --module "$ASYM_MODULE" --token-label "$ASYM_TOKEN" \
            --read-object --type cert --label "$label" -o "$dir/$label.crt" \
            >/dev/null 2>&1 &&
            openssl x509 -inform DER -in "$dir/$label.crt" -noout -pubkey \
                >"$pub" 2>/dev/null ||
            pub=${ASYM_PUBDIR:-$dir}/$label.pub
        read -r kind _ < <(asym_kind "$pub")
        if [ "$kind" = ec ]; then
            asym_check java/sha256withecdsa "$label" \
                "CKM_ECDSA_SHA256|CKM_ECDSA" \
                openssl dgst -sha256 -verify "$pub" \
                -signature "$dir/$label.sha256withecdsa.sig" "$dir/msg" -- \
                asym_java sha256withecdsa "$label"
            continue
        fi
        asym_check java/sha256withrsa "$label" CKM_SHA256_RSA_PKCS \
            openssl dgst -sha256 -verify "$pub" \
            -signature "$dir/$label.sha256withrsa.sig" "$dir/msg" -- \
            asym_java sha256withrsa "$label"
        asym_check java/rsassa-pss "$label" CKM_RSA_PKCS_PSS \
            openssl dgst -sha256 -verify "$pub" -sigopt rsa_padding_mode:pss \
            -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256 \
            -signature "$dir/$label.rsassa-pss.sig" "$dir/msg" -- \
            asym_java rsassa-pss "$label"
        asym_check java/sha256withrsassa-pss "$label" CKM_SHA256_RSA_PKCS_PSS \
            openssl dgst -sha256 -verify "$pub" -sigopt rsa_padding_mode:pss \
            -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256 \
            -signature "$dir/$label.sha256withrsassa-pss.sig" "$dir/msg" -- \
            asym_java sha256withrsassa-pss "$label"
        openssl pkeyutl -encrypt -pubin -inkey "$pub" -in "$dir/secret" \
            -out "$dir/$label.oaep-sha256.ct" -pkeyopt rsa_padding_mode:oaep \
            -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 ||
            cmk_error "openssl pkeyutl -encrypt OAEP sha256"
        asym_check java/oaep-sha256 "$label" CKM_RSA_PKCS_OAEP \
            cmp "$dir/secret" "$dir/$label.oaep-sha256.out" -- \
            asym_java oaep-sha256 "$label"
    done
}
