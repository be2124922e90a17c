# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/integration/asym: GnuTLS's p11tool on a token's key pairs: the
# objects it lists after login (private and public key of the right type
# and size, and the certificate, same CKA_ID), the public key it exports
# (compared by plain openssl with the key pair's), and --test-sign (GnuTLS
# signs through the token and verifies with the token's public key).
# Sourced by asym_steps.sh and the tests (asymlib.sh first).

p11tool_() {
    GNUTLS_PIN=$ASYM_PIN cmk_host p11tool --provider "$ASYM_SPY" "$@"
}

# GnuTLS's name of a key's type: RSA-2048, EC/ECDSA-SECP384R1.
gnutls_type() {
    case "$1 $2" in
    rsa\ *) echo "RSA-$2" ;;
    "ec P-256") echo EC/ECDSA-SECP256R1 ;;
    "ec P-384") echo EC/ECDSA-SECP384R1 ;;
    "ec P-521") echo EC/ECDSA-SECP521R1 ;;
    esac
}

# listed_ok LIST LABEL ID TYPE: LIST (p11tool --list-all) shows LABEL's
# private key and public key of TYPE, and with ASYM_CERTS=1 its
# certificate, each with ID.
listed_ok() {
    local what kinds=("Private key" "Public key")
    [ "${ASYM_CERTS:-0}" = 1 ] && kinds+=("X.509 Certificate")
    for what in "${kinds[@]}"; do
        awk -v l="$2" -v t="$what ($4)" -v id="$3" '
            /^Object / { if (ok) exit; ty = ""; lb = ""; }
            /^\tType: / { ty = substr($0, 8) }
            /^\tLabel: / { lb = substr($0, 9) }
            /^\tID: / { if (ty == t && lb == l && tolower($2) == tolower(id)) ok = 1 }
            END { exit !ok }
        ' "$1" || {
            echo "p11tool does not list $what ($4) $2 with ID $3"
            return 1
        }
    done
}

# pub_ok FILE LABEL: FILE is a public key that plain openssl reads, the
# key pair's when its public key is known.
pub_ok() {
    openssl pkey -pubin -in "$1" -noout || return 1
    [ -z "${ASYM_PUBDIR:-}" ] || same_pub "$1" "$ASYM_PUBDIR/$2.pub"
}

# What --test-sign says when GnuTLS verified the signature with the
# token's public key.
test_sign_ok() {
    grep -qx 'Verifying against public key in the token... ok' \
        "$T/out" "$T/err"
}

# steps_p11tool LABEL:ID...: the p11tool steps for each key.
steps_p11tool() {
    local key label id base kind size want
    cmk_need p11tool openssl
    base=$T/$ASYM_NAME-p11tool
    asym_step "p11tool: --list-all"
    if ! asym_spy p11tool_ --login --list-all "pkcs11:token=$ASYM_TOKEN"; then
        asym_result p11tool/list-all - - FAIL "p11tool --list-all"
        return 0
    fi
    cp "$T/out" "$base.list"
    for key in "$@"; do
        label=${key%%:*}
        id=${key#*:}
        asym_step "p11tool: $label"
        asym_check p11tool/export-pubkey "$label" "" \
            pub_ok "$base-$label.pub" "$label" -- \
            p11tool_ --export-pubkey \
            "pkcs11:token=$ASYM_TOKEN;object=$label;type=public" \
            --outfile "$base-$label.pub"
        if [ ! -s "$base-$label.pub" ]; then
            asym_result p11tool/list-all "$label" - FAIL "no public key"
            continue
        fi
        read -r kind size < <(asym_kind "$base-$label.pub")
        want=$(gnutls_type "$kind" "$size")
        if listed_ok "$base.list" "$label" "$id" "$want" >"$T/err"; then
            asym_result p11tool/list-all "$label" - ok
        else
            asym_result p11tool/list-all "$label" - FAIL "$(cat "$T/err")"
        fi
        want=CKM_ECDSA
        [ "$kind" = rsa ] && want=CKM_RSA_PKCS
        asym_check p11tool/test-sign "$label" "$want" \
            test_sign_ok -- \
            p11tool_ --login --test-sign \
            "pkcs11:token=$ASYM_TOKEN;object=$label;type=private"
    done
}
