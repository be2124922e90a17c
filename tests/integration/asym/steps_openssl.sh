# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/integration/asym: OpenSSL through the libp11 engine
# (libengine-pkcs11-openssl) on a token's key pairs: a self-signed
# certificate and a CSR, pkeyutl signatures and OAEP decryption, and TLS
# handshakes with s_server holding its key in the token. Everything the
# token produces is judged by plain openssl, never by the token.
# Sourced by asym_steps.sh and the tests (asymlib.sh first).

# The engine finds the module in PKCS11_MODULE_PATH: the spy, which passes
# the calls on to the target's module.
ossl() {
    cmk_host env PKCS11_MODULE_PATH="$ASYM_SPY" openssl "$@"
}

asym_uri() {
    printf 'pkcs11:token=%s;object=%s;type=%s' "$ASYM_TOKEN" "$1" "$2"
}

# The private key's URI, with the PIN (the engine logs in with it).
asym_key_uri() {
    printf '%s;pin-value=%s' "$(asym_uri "$1" private)" "$ASYM_PIN"
}

engine_need() {
    cmk_need openssl cmp
    openssl engine -t pkcs11 >/dev/null 2>&1 ||
        cmk_missing "OpenSSL's pkcs11 engine is not installed (libengine-pkcs11-openssl)"
}

# cert_ok CERT PUB: a self-signed certificate that plain openssl accepts
# as its own CA, whose key is PUB.
cert_ok() {
    openssl verify -CAfile "$1" "$1" &&
        openssl x509 -in "$1" -noout -pubkey >"$1.pub" &&
        same_pub "$1.pub" "$2"
}

# oaep_ok OUT: OUT is the secret that plain openssl encrypted.
oaep_ok() {
    cmp "$T/secret" "$1"
}

steps_openssl_key() {
    local label=${1%%:*} kind size md base pub uri crt
    base=$T/$ASYM_NAME-$label
    pub=$base.tokpub
    uri=$(asym_key_uri "$label")
    asym_step "openssl: $label"
    # With the PIN: a token may show no object before login (ours).
    if ! asym_spy ossl pkey -engine pkcs11 -inform engine -pubin \
        -in "$(asym_uri "$label" public);pin-value=$ASYM_PIN" -pubout \
        -out "$pub"; then
        asym_result openssl/export-pubkey "$label" - FAIL "engine export"
        return 0
    fi
    if [ -n "${ASYM_PUBDIR:-}" ] && ! same_pub "$pub" "$ASYM_PUBDIR/$label.pub"; then
        asym_result openssl/export-pubkey "$label" - FAIL "not the key pair's"
        return 0
    fi
    asym_result openssl/export-pubkey "$label" - ok
    read -r kind size < <(asym_kind "$pub")
    md=$(asym_hash "$kind" "$size")
    openssl dgst "-$md" -binary "$T/msg" >"$T/$md.bin"
    local sigmech=CKM_ECDSA
    [ "$kind" = rsa ] && sigmech=CKM_RSA_PKCS

    crt=$base.crt
    asym_check openssl/req-x509 "$label" $sigmech cert_ok "$crt" "$pub" -- \
        ossl req -new -x509 -engine pkcs11 -keyform engine -key "$uri" \
        -subj "/CN=$label.$ASYM_NAME.test" -days 2 "-$md" -out "$crt"
    asym_check openssl/req-csr "$label" $sigmech \
        openssl req -verify -noout -in "$base.csr" -- \
        ossl req -new -engine pkcs11 -keyform engine -key "$uri" \
        -subj "/CN=$label.$ASYM_NAME.test" "-$md" -out "$base.csr"
    if [ "$kind" = ec ]; then
        asym_check openssl/pkeyutl-ecdsa "$label" CKM_ECDSA \
            openssl pkeyutl -verify -pubin -inkey "$pub" -in "$T/$md.bin" \
            -sigfile "$base.ecdsa" -- \
            ossl pkeyutl -sign -engine pkcs11 -keyform engine -inkey "$uri" \
            -in "$T/$md.bin" -out "$base.ecdsa"
        return 0
    fi
    asym_check openssl/pkeyutl-rsa-pkcs1 "$label" CKM_RSA_PKCS \
        openssl pkeyutl -verify -pubin -inkey "$pub" -in "$T/$md.bin" \
        -sigfile "$base.pkcs1" -pkeyopt "digest:$md" -- \
        ossl pkeyutl -sign -engine pkcs11 -keyform engine -inkey "$uri" \
        -in "$T/$md.bin" -out "$base.pkcs1" -pkeyopt "digest:$md"
    asym_check openssl/pkeyutl-rsa-pss "$label" CKM_RSA_PKCS_PSS \
        openssl pkeyutl -verify -pubin -inkey "$pub" -in "$T/$md.bin" \
        -sigfile "$base.pss" -pkeyopt "digest:$md" \
        -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest -- \
        ossl pkeyutl -sign -engine pkcs11 -keyform engine -inkey "$uri" \
        -in "$T/$md.bin" -out "$base.pss" -pkeyopt "digest:$md" \
        -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest
    local oaep
    for oaep in sha1 sha256; do
        openssl pkeyutl -encrypt -pubin -inkey "$pub" -in "$T/secret" \
            -out "$base.oaep-$oaep" -pkeyopt rsa_padding_mode:oaep \
            -pkeyopt "rsa_oaep_md:$oaep" -pkeyopt "rsa_mgf1_md:$oaep" ||
            cmk_error "openssl pkeyutl -encrypt OAEP $oaep"
        asym_check "openssl/pkeyutl-oaep-$oaep" "$label" CKM_RSA_PKCS_OAEP \
            oaep_ok "$base.dec-$oaep" -- \
            ossl pkeyutl -decrypt -engine pkcs11 -keyform engine \
            -inkey "$uri" -in "$base.oaep-$oaep" -out "$base.dec-$oaep" \
            -pkeyopt rsa_padding_mode:oaep -pkeyopt "rsa_oaep_md:$oaep" \
            -pkeyopt "rsa_mgf1_md:$oaep"
    done
}

# steps_openssl LABEL:ID...: the openssl steps for each key.
steps_openssl() {
    local key
    engine_need
    head -c 1000 /dev/urandom >"$T/msg"
    head -c 32 /dev/urandom >"$T/secret"
    for key in "$@"; do
        steps_openssl_key "$key"
    done
}

# stop_tree PID: ends the background job PID (a subshell running
# cmk_host) and the processes it started, by their ids.
stop_tree() {
    local kids
    kids=$(ps -o pid= --ppid "$1" 2>/dev/null)
    # shellcheck disable=SC2086 # one word per id
    [ -z "$kids" ] || kill $kids 2>/dev/null
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# tls_serve URI CERT: s_server with its key in the token, in the
# background (TLS_PID), on a port the kernel picks (TLS_PORT, read from a
# whole "ACCEPT" line: the file may end in the middle of one).
tls_serve() {
    local i
    TLS_PORT=""
    ossl s_server -accept 127.0.0.1:0 -naccept 1 -rev -engine pkcs11 \
        -keyform engine -key "$1" -cert "$2" >"$T/srv.out" 2>&1 &
    TLS_PID=$!
    for i in $(seq 200); do
        if [ -z "$(tail -c 1 "$T/srv.out")" ]; then
            TLS_PORT=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
                "$T/srv.out")
        fi
        [ -n "$TLS_PORT" ] && return 0
        kill -0 "$TLS_PID" 2>/dev/null || break
        sleep 0.05
    done
    stop_tree "$TLS_PID"
    cat "$T/srv.out" >&2
    echo "s_server did not start" >&2
    return 1
}

# tls_once PROTO SIGALGS URI CERT: one s_client connection to a new
# s_server that must verify the certificate, send a line and read it back
# reversed. A refused connect or no answer in 15 s means another process
# on this machine took the server's one accept (a client of a port that
# was free a moment ago): a new server, on a new port, twice at most.
tls_once() {
    local proto=$1 sigalgs=$2 uri=$3 cert=$4 try i rc=1
    for try in 1 2 3; do
        tls_serve "$uri" "$cert" || return 1
        printf 'hello over tls\nCLOSE\n' | timeout -k 5 15 openssl s_client \
            -connect "127.0.0.1:$TLS_PORT" -verify_return_error \
            -CAfile "$cert" -brief -ign_eof "-$proto" -sigalgs "$sigalgs" \
            >"$T/cli.out" 2>&1
        rc=$?
        for i in $(seq 100); do
            kill -0 "$TLS_PID" 2>/dev/null || break
            sleep 0.05
        done
        stop_tree "$TLS_PID"
        [ $rc = 124 ] || grep -q 'connect:errno=111' "$T/cli.out" || break
        echo "no handshake (exit $rc), try $try" >&2
    done
    cat "$T/cli.out"
    [ $rc = 0 ] || cat "$T/srv.out" >&2
    return $rc
}

# tls_ok PROTO SIGTYPE HASH: what s_client printed of the handshake.
tls_ok() {
    grep -qx "Protocol version: $1" "$T/cli.out" &&
        grep -qx "Signature type: $2" "$T/cli.out" &&
        grep -qx "Hash used: $3" "$T/cli.out" &&
        grep -qx 'Verification: OK' "$T/cli.out" &&
        grep -qx 'hello over tls' <(rev "$T/cli.out")
}

# steps_tls LABEL:ID...: handshakes with each key, after steps_openssl
# made its certificate.
steps_tls() {
    local key label uri crt kind size md MD
    engine_need
    cmk_need rev timeout
    for key in "$@"; do
        label=${key%%:*}
        crt=$T/$ASYM_NAME-$label.crt
        uri=$(asym_key_uri "$label")
        asym_step "tls: $label"
        if [ ! -s "$crt" ]; then
            asym_result tls/certificate "$label" - FAIL "no certificate"
            continue
        fi
        read -r kind size < <(asym_kind "$crt.pub")
        md=$(asym_hash "$kind" "$size")
        MD=$(tr a-z A-Z <<<"$md")
        if [ "$kind" = rsa ]; then
            asym_check tls/1.2-rsa-pkcs1 "$label" CKM_RSA_PKCS \
                tls_ok TLSv1.2 RSA "$MD" -- \
                tls_once tls1_2 "RSA+$md" "$uri" "$crt"
            asym_check tls/1.2-rsa-pss "$label" CKM_RSA_PKCS_PSS \
                tls_ok TLSv1.2 RSA-PSS "$MD" -- \
                tls_once tls1_2 "rsa_pss_rsae_$md" "$uri" "$crt"
            asym_check tls/1.3-rsa-pss "$label" CKM_RSA_PKCS_PSS \
                tls_ok TLSv1.3 RSA-PSS "$MD" -- \
                tls_once tls1_3 "rsa_pss_rsae_$md" "$uri" "$crt"
        else
            asym_check tls/1.2-ecdsa "$label" CKM_ECDSA \
                tls_ok TLSv1.2 ECDSA "$MD" -- \
                tls_once tls1_2 "ECDSA+$md" "$uri" "$crt"
            asym_check tls/1.3-ecdsa "$label" CKM_ECDSA \
                tls_ok TLSv1.3 ECDSA "$MD" -- \
                tls_once tls1_3 "ECDSA+$md" "$uri" "$crt"
        fi
    done
}
