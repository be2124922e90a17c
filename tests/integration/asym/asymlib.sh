# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/integration/asym: helpers for the key-pair client tests. Makes RSA
# and EC key pairs with plain openssl, puts them on a SoftHSM2 token (the
# known-good control) and into a tenant's "key_pairs" on our module, and
# runs a client step against either token through OpenSC's pkcs11-spy, so
# each step records which mechanism the client really used.
#
# A target is four variables, whatever the module (the steps never ask
# which one it is): ASYM_NAME (for the results), ASYM_MODULE (the
# PKCS#11 module), ASYM_TOKEN (token label), ASYM_PIN. Keys are given to
# the steps as LABEL:ID (CKA_LABEL, CKA_ID in hex); a key's type and size
# are read from the public key the token exports.
#
# The spy's log ($T/spy.log) holds the test PIN, as OpenSC's spy logs
# C_Login: it stays in the test's own temp dir, removed at exit.
#
# Source it from bash:  . "$(dirname "$0")/asymlib.sh"

. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
ASYM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The key pairs the tests make: LABEL:ID:SPEC.
ASYM_ALL_KEYS="rsa2048:21:rsa-2048 rsa3072:22:rsa-3072 rsa4096:23:rsa-4096
p256:31:P-256 p384:32:P-384 p521:33:P-521"
ASYM_FAILED=""
ASYM_GAPS=""

asym_step() {
    echo "== [$ASYM_NAME] $*"
}

# pkcs11-spy from OpenSC logs every call (with its mechanism and result)
# and passes it on to the module named in PKCS11SPY.
asym_find_spy() {
    local s
    for s in /usr/lib/*/pkcs11-spy.so /usr/lib/pkcs11-spy.so \
        /usr/lib/*/pkcs11/pkcs11-spy.so; do
        if [ -f "$s" ]; then
            ASYM_SPY=$s
            return 0
        fi
    done
    cmk_missing "OpenSC's pkcs11-spy.so not found (package opensc-pkcs11)"
}

# asym_keygen DIR SPEC...: for each LABEL:ID:SPEC, DIR/LABEL.pem (private,
# 0600), DIR/LABEL.pub (its public key) and DIR/LABEL.crt (self-signed by
# plain openssl: SunPKCS11 lists only private keys with a certificate).
asym_keygen() {
    local dir=$1 spec label id kind
    shift
    for spec in "$@"; do
        IFS=: read -r label id kind <<<"$spec"
        case $kind in
        rsa-*)
            openssl genpkey -algorithm RSA \
                -pkeyopt "rsa_keygen_bits:${kind#rsa-}" \
                -out "$dir/$label.pem" 2>/dev/null
            ;;
        P-*)
            openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$kind" \
                -pkeyopt ec_param_enc:named_curve -out "$dir/$label.pem"
            ;;
        esac || cmk_error "openssl genpkey $kind failed"
        chmod 600 "$dir/$label.pem"
        openssl pkey -in "$dir/$label.pem" -pubout -out "$dir/$label.pub" &&
            openssl req -new -x509 -key "$dir/$label.pem" -subj "/CN=$label" \
                -days 2 -out "$dir/$label.crt" ||
            cmk_error "openssl: public key or certificate of $label"
    done
}

# asym_softhsm DIR KEYDIR SPEC...: a SoftHSM2 token "ctl" (PIN 1234) in
# DIR holding the key pairs and their certificates; sets the target.
asym_softhsm() {
    local dir=$1 keys=$2 spec label id kind
    shift 2
    cmk_need softhsm2-util pkcs11-tool
    [ -f "$SOFTHSM_MODULE" ] || cmk_missing "SoftHSM2 not installed"
    mkdir -p "$dir/tokens" || cmk_error "mkdir $dir/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$dir/tokens" >"$dir/softhsm2.conf"
    SOFTHSM2_CONF=$dir/softhsm2.conf
    export SOFTHSM2_CONF
    softhsm2-util --init-token --free --label ctl --so-pin 5678 --pin 1234 \
        >/dev/null || cmk_error "softhsm2-util --init-token failed"
    for spec in "$@"; do
        IFS=: read -r label id kind <<<"$spec"
        softhsm2-util --import "$keys/$label.pem" --token ctl --label "$label" \
            --id "$id" --pin 1234 >/dev/null ||
            cmk_error "softhsm2-util --import $label failed"
        openssl x509 -in "$keys/$label.crt" -outform DER -out "$dir/$label.der"
        pkcs11-tool --module "$SOFTHSM_MODULE" --token-label ctl --login \
            --pin 1234 --write-object "$dir/$label.der" --type cert \
            --id "$id" --label "$label" >/dev/null 2>&1 ||
            cmk_error "pkcs11-tool --write-object cert $label failed"
    done
    ASYM_NAME=softhsm
    ASYM_MODULE=$SOFTHSM_MODULE
    ASYM_TOKEN=ctl
    ASYM_PIN=1234
}

# asym_cmk DIR KEYDIR SPEC...: our module, tenant "acme" (PIN 1234) whose
# "key_pairs" are the key pairs (local provider: the PEM files), with
# their certificates when ASYM_CERTS=1, provisioned by cmk-tool; sets the
# target.
asym_cmk() {
    local dir=$1 keys=$2 spec label id kind pairs="" cert
    shift 2
    cmk_need_module
    for spec in "$@"; do
        IFS=: read -r label id kind <<<"$spec"
        cert=""
        [ "${ASYM_CERTS:-0}" = 1 ] &&
            cert=", \"certificate\": \"$keys/$label.crt\""
        pairs="${pairs:+$pairs, }{\"label\": \"$label\", \"id\": \"$id\", \"key\": \"$keys/$label.pem\"$cert}"
    done
    CMK_TENANTS=""
    CMK_LABELS=""
    cmk_tenant "$dir" acme 1234 ", \"key_pairs\": [$pairs]"
    cmk_write_config "$dir/config.json" "$dir/store"
    sed -i "s|^  \"store_dir\": |  \"audit\": {\"file\": \"$dir/audit.jsonl\"},\n&|" \
        "$dir/config.json" || cmk_error "sed $dir/config.json"
    ASYM_AUDIT=$dir/audit.jsonl
    if ! "$CMK_TOOL" provision --config "$dir/config.json" --tenant acme \
        --write >"$dir/provision.out" 2>&1; then
        cat "$dir/provision.out" >&2
        cmk_fail "our module: cmk-tool provision refused the tenant with \"key_pairs\""
    fi
    CMK_PKCS11_CONFIG=$dir/config.json
    export CMK_PKCS11_CONFIG
    ASYM_NAME=cmk
    ASYM_MODULE=$CMK_MODULE
    ASYM_TOKEN=acme
    ASYM_PIN=1234
}

# asym_has_keys: the target's token shows a private key after login (our
# module before key pairs: only the CMK).
asym_has_keys() {
    local rc
    cmk_host pkcs11-tool --module "$ASYM_MODULE" --token-label "$ASYM_TOKEN" \
        --login --pin "$ASYM_PIN" --list-objects --type privkey \
        >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc != 0 ]; then
        echo "pkcs11-tool --list-objects: exit $rc" >>"$T/err"
        return 1
    fi
    grep -q '^Private Key Object' "$T/out"
}

# asym_spy CMD...: CMD (a program, run by cmk_host, or a function of the
# steps) with the spy in front of the target's module: CMD must load
# "$ASYM_SPY" as its module. Its output goes to $T/out and
# $T/err; the calls to $T/spy.log. Returns CMD's status.
asym_spy() {
    : >"$T/spy.log"
    (
        PKCS11SPY=$ASYM_MODULE
        PKCS11SPY_OUTPUT=$T/spy.log
        export PKCS11SPY PKCS11SPY_OUTPUT
        if declare -F "$1" >/dev/null; then
            "$@"
        else
            cmk_host "$@"
        fi
    ) >"$T/out" 2>"$T/err"
}

# The mechanisms of the private-key operations (C_SignInit, C_DecryptInit)
# that the module accepted in the last asym_spy, sorted, one line.
asym_mechs_used() {
    awk '
        BEGIN {
            # Names OpenSC 0.23 spy prints as numbers (PKCS#11 2.40).
            name["0x00001043"] = "CKM_ECDSA_SHA224"
            name["0x00001044"] = "CKM_ECDSA_SHA256"
            name["0x00001045"] = "CKM_ECDSA_SHA384"
            name["0x00001046"] = "CKM_ECDSA_SHA512"
        }
        /^[0-9]+: C_(Sign|Decrypt)Init$/ { op = 1; mech = ""; next }
        /^[0-9]+: / { op = 0 }
        op && /pMechanism->type = / { mech = $NF; if (mech in name) mech = name[mech] }
        op && /^Returned: +0 CKR_OK/ { print mech; op = 0 }
    ' "$T/spy.log" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# asym_gap TARGET STEP[@KEY] REASON: on TARGET (an ASYM_NAME), STEP (for
# every key, or only for the key labelled KEY) is known
# not to work (the module or the client cannot do it): its failure is
# recorded as a gap with REASON instead of failing the test.
asym_gap() {
    ASYM_GAPS="$ASYM_GAPS
$1|$2|$3"
}

# asym_result STEP KEY MECH STATUS [WHY]: one line of the results table;
# a failure not listed as a gap fails the test.
asym_result() {
    local step=$1 key=$2 mech=$3 status=$4 why=${5:-} gap
    gap=$(awk -F'|' -v t="$ASYM_NAME" -v s="$step" -v k="$step@$key" \
        '$1 == t && ($2 == s || $2 == k) { print $3; exit }' <<<"$ASYM_GAPS")
    if [ "$status" != ok ] && [ -n "$gap" ]; then
        status=gap
        why="$gap ($why)"
    elif [ "$status" = ok ] && [ -n "$gap" ]; then
        why="listed as a gap, but passed"
    fi
    printf 'RESULT %-8s %-34s %-8s %-8s %s%s\n' "$ASYM_NAME" "$step" "$key" \
        "$status" "$mech" "${why:+  -- $why}" | tee -a "$T/results"
    if [ "$status" = FAIL ]; then
        ASYM_FAILED="$ASYM_FAILED $ASYM_NAME:$step:$key"
        cat "$T/out" "$T/err" 2>/dev/null | tail -n 15 >&2
    fi
}

# The line of a client's output that says why it failed.
asym_why() {
    local line
    line=$(cat "$T/out" "$T/err" 2>/dev/null |
        grep -m 1 -E 'error|UNAVAILABLE|FAIL|CKR_|rror:')
    [ -n "$line" ] || line=$(tail -n 1 "$T/err")
    echo "${line:0:160}"
}

# asym_check STEP KEY WANT_MECH CHECK_CMD... -- CLIENT_CMD...: runs the
# client through the spy, then CHECK_CMD (plain openssl judging the
# client's output); passes when both succeed and the module accepted
# exactly WANT_MECH for the private-key operation (MECH|MECH: either).
asym_check() {
    local step=$1 key=$2 want=$3 check=() got
    shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        check+=("$1")
        shift
    done
    shift
    if ! asym_spy "$@"; then
        asym_result "$step" "$key" "$(asym_mechs_used)" FAIL \
            "client failed: $(asym_why)"
        return 0
    fi
    got=$(asym_mechs_used)
    case "|$want|" in
    *"|$got|"*) want=$got ;;
    esac
    if ! "${check[@]}" >"$T/check.out" 2>&1; then
        cat "$T/check.out" >>"$T/err"
        asym_result "$step" "$key" "$got" FAIL "openssl did not verify it"
    elif [ "$got" != "$want" ]; then
        asym_result "$step" "$key" "$got" FAIL "mechanism: $want expected"
    else
        asym_result "$step" "$key" "$got" ok
    fi
}

# asym_kind PUBFILE: "rsa BITS" or "ec CURVE" (P-256...) of a PEM public
# key.
asym_kind() {
    local text
    text=$(openssl pkey -pubin -in "$1" -noout -text 2>/dev/null) || return 1
    case $text in
    *NIST\ CURVE:*)
        echo "ec $(sed -n 's/^NIST CURVE: //p' <<<"$text")"
        ;;
    *Modulus:*)
        echo "rsa $(sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p' \
            <<<"$text" | head -n 1)"
        ;;
    *) return 1 ;;
    esac
}

# asym_hash KIND SIZE: the hash the steps pair with a key: RSA 2048
# SHA-256, 3072 SHA-384, 4096 SHA-512; EC the curve's own.
asym_hash() {
    case "$1 $2" in
    "rsa 2048" | "ec P-256") echo sha256 ;;
    "rsa 3072" | "ec P-384") echo sha384 ;;
    *) echo sha512 ;;
    esac
}

# DER DigestInfo prefixes (RFC 8017 section 9.2, note 1).
asym_digestinfo() {
    local hex
    case $1 in
    sha256) hex=3031300d060960864801650304020105000420 ;;
    sha384) hex=3041300d060960864801650304020205000430 ;;
    sha512) hex=3051300d060960864801650304020305000440 ;;
    esac
    # shellcheck disable=SC2059 # the format is the bytes, as \xNN
    printf "$(sed 's/../\\x&/g' <<<"$hex")"
}

# same_pub A B: two PEM public keys are the same key.
same_pub() {
    cmp -s <(openssl pkey -pubin -in "$1" -outform DER) \
        <(openssl pkey -pubin -in "$2" -outform DER)
}

# asym_setup: keys in $T/keys (ASYM_PUBDIR: their public keys, which the
# steps compare with what the token exports), KEYS the LABEL:ID list.
asym_setup() {
    mkdir -p "$T/keys" "$T/softhsm" "$T/cmk" || cmk_error "mkdir $T"
    # shellcheck disable=SC2086 # one word per key
    asym_keygen "$T/keys" $ASYM_ALL_KEYS
    ASYM_PUBDIR=$T/keys
    KEYS=$(for k in $ASYM_ALL_KEYS; do printf '%s ' "${k%:*}"; done)
}

# asym_on_both STEPS_FN: STEPS_FN KEYS on the SoftHSM2 control, then on
# our module (the gaps listed for softhsm apply to the first only).
asym_on_both() {
    # shellcheck disable=SC2086
    asym_softhsm "$T/softhsm" "$T/keys" $ASYM_ALL_KEYS
    # shellcheck disable=SC2086
    "$1" $KEYS
    # shellcheck disable=SC2086
    asym_cmk "$T/cmk" "$T/keys" $ASYM_ALL_KEYS
    if asym_has_keys; then
        # shellcheck disable=SC2086
        "$1" $KEYS
        asym_audit_check
    else
        asym_result key-pairs acme - FAIL \
            "the token shows no private key after login: $(tail -n 1 "$T/err")"
    fi
}

# asym_audit_check: every signature and OAEP decryption a step passed
# with on our module is one mechanism record in its audit file, tied by
# its request id to one KMS call for that key pair (no more, no fewer).
asym_audit_check() {
    local want got
    want=$(awk '$2 == "cmk" && $5 == "ok" && $6 ~ /^CKM_/ {
            n[$6 == "CKM_RSA_PKCS_OAEP" ? "decrypt" : "sign"]++ }
        END { printf "sign %d\ndecrypt %d\n", n["sign"], n["decrypt"] }' \
        "$T/results")
    got=$("$CMK_PYTHON" "$ASYM_DIR/audit_uses.py" "$ASYM_AUDIT" 2>"$T/err")
    if [ "$got" = "$want" ]; then
        asym_result audit/sign-decrypt-records - "$(tr '\n' ' ' <<<"$got")" ok
    else
        asym_result audit/sign-decrypt-records - "$(tr '\n' ' ' <<<"$got")" \
            FAIL "expected $(tr '\n' ' ' <<<"$want")"
    fi
}

# asym_summary: the results table again, then the test's status.
asym_summary() {
    echo "== results (target step key status mechanism)"
    [ -f "$T/results" ] && sort -s -k2,2 "$T/results"
    if [ -n "$ASYM_FAILED" ]; then
        cmk_fail "failed:$ASYM_FAILED"
    fi
    echo PASS
    exit 0
}
