# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/integration/asym: OpenSC's pkcs11-tool on a token's key pairs:
# --read-object of the public key, --sign with each signature mechanism
# the module lists for the key, --decrypt with RSA-OAEP (SHA-1, SHA-256)
# of ciphertexts made by plain openssl. Plain openssl judges each result.
# Sourced by asym_steps.sh and the tests (asymlib.sh first).

p11t() {
    cmk_host pkcs11-tool --module "$ASYM_SPY" --token-label "$ASYM_TOKEN" \
        --login --pin "$ASYM_PIN" "$@"
}

# der_pub_ok DER OUTPEM [KNOWN]: DER is a SubjectPublicKeyInfo; written
# as PEM to OUTPEM; the same key as KNOWN when given.
der_pub_ok() {
    openssl pkey -pubin -inform DER -in "$1" -out "$2" || return 1
    [ -z "${3:-}" ] || same_pub "$2" "$3"
}

# pkcs11-tool's names for a hash: the -m prefix and --hash-algorithm.
p11t_hash() {
    case $1 in
    sha1) echo SHA-1 ;;
    sha256) echo SHA256 ;;
    sha384) echo SHA384 ;;
    sha512) echo SHA512 ;;
    esac
}

steps_pkcs11_tool_rsa() {
    local label=$1 id=$2 md=$3 pub=$4 base=$5 H len
    H=$(p11t_hash "$md")
    len=$(stat -c %s "$T/$md.bin")
    { asym_digestinfo "$md" && cat "$T/$md.bin"; } >"$T/$md.di"
    asym_check pkcs11-tool/sign-rsa-pkcs "$label" CKM_RSA_PKCS \
        openssl pkeyutl -verify -pubin -inkey "$pub" -in "$T/$md.bin" \
        -sigfile "$base.p-pkcs1" -pkeyopt "digest:$md" -- \
        p11t --sign -m RSA-PKCS --id "$id" -i "$T/$md.di" -o "$base.p-pkcs1"
    asym_check "pkcs11-tool/sign-$md-rsa-pkcs" "$label" \
        "CKM_${H}_RSA_PKCS" \
        openssl dgst "-$md" -verify "$pub" -signature "$base.p-sha" \
        "$T/msg" -- \
        p11t --sign -m "$H-RSA-PKCS" --id "$id" -i "$T/msg" -o "$base.p-sha"
    asym_check pkcs11-tool/sign-rsa-pkcs-pss "$label" CKM_RSA_PKCS_PSS \
        openssl pkeyutl -verify -pubin -inkey "$pub" -in "$T/$md.bin" \
        -sigfile "$base.p-pss" -pkeyopt "digest:$md" \
        -pkeyopt rsa_padding_mode:pss -pkeyopt "rsa_pss_saltlen:$len" -- \
        p11t --sign -m RSA-PKCS-PSS --hash-algorithm "$H" \
        --mgf "MGF1-$H" --salt-len "$len" --id "$id" -i "$T/$md.bin" \
        -o "$base.p-pss"
    asym_check "pkcs11-tool/sign-$md-rsa-pkcs-pss" "$label" \
        "CKM_${H}_RSA_PKCS_PSS" \
        openssl dgst "-$md" -verify "$pub" -signature "$base.p-shapss" \
        -sigopt rsa_padding_mode:pss -sigopt "rsa_pss_saltlen:$len" \
        "$T/msg" -- \
        p11t --sign -m "$H-RSA-PKCS-PSS" --mgf "MGF1-$H" --salt-len "$len" \
        --id "$id" -i "$T/msg" -o "$base.p-shapss"
    local oaep
    for oaep in sha1 sha256; do
        H=$(p11t_hash "$oaep")
        openssl pkeyutl -encrypt -pubin -inkey "$pub" -in "$T/secret" \
            -out "$base.p-oaep-$oaep" -pkeyopt rsa_padding_mode:oaep \
            -pkeyopt "rsa_oaep_md:$oaep" -pkeyopt "rsa_mgf1_md:$oaep" ||
            cmk_error "openssl pkeyutl -encrypt OAEP $oaep"
        asym_check "pkcs11-tool/decrypt-oaep-$oaep" "$label" CKM_RSA_PKCS_OAEP \
            cmp "$T/secret" "$base.p-dec-$oaep" -- \
            p11t --decrypt -m RSA-PKCS-OAEP --hash-algorithm "$H" \
            --mgf "MGF1-${H/-/}" --id "$id" -i "$base.p-oaep-$oaep" \
            -o "$base.p-dec-$oaep"
    done
}

steps_pkcs11_tool_ec() {
    local label=$1 id=$2 md=$3 pub=$4 base=$5 H
    H=$(p11t_hash "$md")
    asym_check pkcs11-tool/sign-ecdsa "$label" CKM_ECDSA \
        openssl pkeyutl -verify -pubin -inkey "$pub" -in "$T/$md.bin" \
        -sigfile "$base.p-ecdsa" -- \
        p11t --sign -m ECDSA --signature-format openssl --id "$id" \
        -i "$T/$md.bin" -o "$base.p-ecdsa"
    local other hashes=$md
    # SHA-256 on every curve too: shorter than P-384's and P-521's hash.
    [ "$md" = sha256 ] || hashes="$md sha256"
    for other in $hashes; do
        H=$(p11t_hash "$other")
        asym_check "pkcs11-tool/sign-ecdsa-$other" "$label" "CKM_ECDSA_$H" \
            openssl dgst "-$other" -verify "$pub" \
            -signature "$base.p-ecdsa-$other" "$T/msg" -- \
            p11t --sign -m "ECDSA-$H" --signature-format openssl --id "$id" \
            -i "$T/msg" -o "$base.p-ecdsa-$other"
    done
    # A digest longer or shorter than the curve's hash (ECDSA uses its
    # leftmost bits: a KMS that fixes the hash per curve needs it cut or
    # padded, the same signature).
    other=sha256
    [ "$md" = sha256 ] && other=sha512
    openssl dgst "-$other" -binary "$T/msg" >"$T/$other.bin"
    asym_check pkcs11-tool/sign-ecdsa-other-digest "$label" CKM_ECDSA \
        openssl pkeyutl -verify -pubin -inkey "$pub" -in "$T/$other.bin" \
        -sigfile "$base.p-ecdsa-other" -- \
        p11t --sign -m ECDSA --signature-format openssl --id "$id" \
        -i "$T/$other.bin" -o "$base.p-ecdsa-other"
}

# steps_pkcs11_tool LABEL:ID...: the pkcs11-tool steps for each key.
steps_pkcs11_tool() {
    local key label id base pub kind size md
    cmk_need pkcs11-tool openssl cmp
    head -c 1000 /dev/urandom >"$T/msg"
    head -c 32 /dev/urandom >"$T/secret"
    for key in "$@"; do
        label=${key%%:*}
        id=${key#*:}
        base=$T/$ASYM_NAME-$label
        pub=$base.p-pub
        asym_step "pkcs11-tool: $label"
        asym_check pkcs11-tool/read-pubkey "$label" "" \
            der_pub_ok "$base.p-pub.der" "$pub" \
            ${ASYM_PUBDIR:+"$ASYM_PUBDIR/$label.pub"} -- \
            p11t --read-object --type pubkey --id "$id" -o "$base.p-pub.der"
        if [ ! -s "$pub" ] && [ -n "${ASYM_PUBDIR:-}" ]; then
            # Verify with the key pair's known public key.
            pub=$ASYM_PUBDIR/$label.pub
        fi
        [ -s "$pub" ] || continue
        read -r kind size < <(asym_kind "$pub")
        md=$(asym_hash "$kind" "$size")
        openssl dgst "-$md" -binary "$T/msg" >"$T/$md.bin"
        if [ "$kind" = rsa ]; then
            steps_pkcs11_tool_rsa "$label" "$id" "$md" "$pub" "$base"
        else
            steps_pkcs11_tool_ec "$label" "$id" "$md" "$pub" "$base"
        fi
    done
}

# asym_refused STEP KEY CKR CMD...: CMD must fail, with CKR in its output
# when CKR is not "any".
asym_refused() {
    local step=$1 key=$2 ckr=$3
    shift 3
    if asym_spy "$@"; then
        asym_result "$step" "$key" "$(asym_mechs_used)" FAIL \
            "accepted, expected a refusal ($ckr)"
    elif [ "$ckr" != any ] && ! grep -q "$ckr" "$T/out" "$T/err"; then
        asym_result "$step" "$key" - FAIL "refused, but not with $ckr: $(asym_why)"
    else
        asym_result "$step" "$key" - ok "refused: $(asym_why)"
    fi
}

# steps_pkcs11_tool_refusals RSA_LABEL:ID: what the module must refuse
# (PKCS#11 lets a module take other PSS parameters; ours sends them to a
# KMS, which takes only these): PSS with a salt other than the hash's
# length or an MGF1 hash other than the hash, and CKM_RSA_PKCS on data
# that is no DigestInfo of SHA-256/384/512 (a KMS signs digests only).
steps_pkcs11_tool_refusals() {
    local label=${1%%:*} id=${1#*:}
    asym_step "pkcs11-tool: refusals with $label"
    openssl dgst -sha256 -binary "$T/msg" >"$T/sha256.bin"
    asym_refused pkcs11-tool/refuse-pss-salt-0 "$label" \
        CKR_MECHANISM_PARAM_INVALID \
        p11t --sign -m RSA-PKCS-PSS --hash-algorithm SHA256 \
        --mgf MGF1-SHA256 --salt-len 0 --id "$id" -i "$T/sha256.bin" \
        -o "$T/refused.sig"
    asym_refused pkcs11-tool/refuse-pss-mgf "$label" \
        CKR_MECHANISM_PARAM_INVALID \
        p11t --sign -m RSA-PKCS-PSS --hash-algorithm SHA256 \
        --mgf MGF1-SHA512 --salt-len 32 --id "$id" -i "$T/sha256.bin" \
        -o "$T/refused.sig"
    asym_refused pkcs11-tool/refuse-rsa-pkcs-raw "$label" any \
        p11t --sign -m RSA-PKCS --id "$id" -i "$T/sha256.bin" \
        -o "$T/refused.sig"
}
