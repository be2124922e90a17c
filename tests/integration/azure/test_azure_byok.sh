#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: cmk-tool azure-key (bring your own key to Azure) against the
# emulator's Key Vault and Managed HSM over TLS. Generated keys (4096 by
# default, 2048 with --hsm, key_ops, exp and nbf) and customers' PEMs
# (PKCS#1 and PKCS#8) give bodies whose JWK is exactly the key
# (azure_byok.py, python3-cryptography) and that PUT /keys/<name> imports;
# the vault then wraps with the imported key (what it wraps opens with
# the escrow PEM) and unwraps it back. Then every refusal with its exact
# message and exit status, and nothing left behind by any of them.
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

[ -x "$CMK_TOOL" ] || cmk_missing "cmk-tool not built: $CMK_TOOL"
emu_require || exit $?

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-az-byok.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
TOOL=$CMK_TOOL
PY=$top_srcdir/tests/integration/azure/azure_byok.py
umask 077
mkdir "$T/w" "$T/k" || cmk_error "mkdir"
emulator_start "$T/emu" --tls || cmk_error "emulator did not start"

expect() { cmk_expect "$@"; }
err_is() {
    [ "$(cat "$T/err")" = "$1" ] ||
        cmk_fail "stderr: '$(cat "$T/err")', expected '$1'"
}
out_is() {
    [ "$(cat "$T/out")" = "$1" ] ||
        cmk_fail "stdout: '$(cat "$T/out")', expected '$1'"
}
mode_is() {
    [ "$(stat -c %a "$1")" = "$2" ] ||
        cmk_fail "$1: mode $(stat -c %a "$1"), expected $2"
}
# The work directory holds exactly these names (no body, no temp file).
left_is() {
    [ "$(cd "$T/w" && ls -A | tr '\n' ' ')" = "$1" ] ||
        cmk_fail "left in the work dir: '$(cd "$T/w" && ls -A | tr '\n' ' ')', expected '$1'"
}
body_is() { "$CMK_PYTHON" "$PY" body "$@" || cmk_fail "body $1"; }
field() {
    "$CMK_PYTHON" -c 'import json,sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
print(json.dumps(v) if isinstance(v, (dict, list, bool)) else v)' "$1"
}
keygen() { openssl genpkey -quiet "$@" 2>"$T/ossl.err" || cmk_error "openssl genpkey $*: $(cat "$T/ossl.err")"; }

echo "== generate: RSA-4096 by default, with the escrow PEM"
W=$T/w
expect 0 "$TOOL" azure-key --generate --out "$W/b4096.json" \
    --private-out "$W/k4096.pem"
out_is "$W/b4096.json: Key Vault import body for an RSA-4096 key (e=65537), mode 0600.
It holds the private key: send it only to your vault (PUT https://VAULT/keys/NAME?api-version=7.6), then delete it.
$W/k4096.pem: the private key, PKCS#8 PEM, mode 0600: keep it in escrow."
mode_is "$W/b4096.json" 600
mode_is "$W/k4096.pem" 600
head -n 1 "$W/k4096.pem" | grep -qx -- '-----BEGIN PRIVATE KEY-----' ||
    cmk_fail "escrow PEM is not PKCS#8"
body_is "$W/b4096.json" "$W/k4096.pem" RSA wrapKey,unwrapKey false \
    '{"enabled": true}'
expect 0 "$TOOL" azure-key --check "$W/k4096.pem"
out_is "$W/k4096.pem: RSA 4096 bits, public exponent 65537: Key Vault can import it"
grep -q 'PRIVATE' "$T/out" "$T/err" && cmk_fail "key material on the terminal"

echo "== generate: RSA-2048, --hsm, key_ops, exp and nbf"
expect 0 "$TOOL" azure-key --generate --bits 2048 --hsm \
    --key-ops wrapKey,unwrapKey,encrypt,decrypt --exp 2030-01-01T00:00:00Z \
    --nbf 2026-01-01T00:00:00Z --out "$W/bhsm.json" --private-out "$W/khsm.pem"
body_is "$W/bhsm.json" "$W/khsm.pem" RSA-HSM wrapKey,unwrapKey,encrypt,decrypt \
    true '{"enabled": true, "exp": 1893456000, "nbf": 1767225600}'
expect 0 "$TOOL" azure-key --check "$W/khsm.pem"
out_is "$W/khsm.pem: RSA 2048 bits, public exponent 65537: Key Vault can import it"

echo "== a customer's PEM: PKCS#1 (3072) and PKCS#8 (2048)"
K=$T/k
keygen -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$K/c3072.pem"
openssl rsa -traditional -in "$K/c3072.pem" -out "$K/pkcs1.pem" 2>/dev/null ||
    cmk_error "openssl rsa -traditional"
head -n 1 "$K/pkcs1.pem" | grep -qx -- '-----BEGIN RSA PRIVATE KEY-----' ||
    cmk_error "not PKCS#1"
expect 0 "$TOOL" azure-key --pem "$K/pkcs1.pem" --out "$W/b3072.json"
out_is "$W/b3072.json: Key Vault import body for an RSA-3072 key (e=65537), mode 0600.
It holds the private key: send it only to your vault (PUT https://VAULT/keys/NAME?api-version=7.6), then delete it."
mode_is "$W/b3072.json" 600
body_is "$W/b3072.json" "$K/pkcs1.pem" RSA wrapKey,unwrapKey false \
    '{"enabled": true}'
keygen -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/good.pem"
expect 0 "$TOOL" azure-key --pem "$K/good.pem" --out "$W/b2048.json" \
    --key-ops unwrapKey
body_is "$W/b2048.json" "$K/good.pem" RSA unwrapKey false '{"enabled": true}'
left_is "b2048.json b3072.json b4096.json bhsm.json k4096.pem khsm.pem "

echo "== the bodies import into the emulator, and the vault uses the keys"
emu_ctl azure_create_vault '{"name": "kv1", "kind": "vault", "tenant": "t-byok", "hosts": ["127.0.0.1"]}' \
    >/dev/null || cmk_error "azure_create_vault kv1"
emu_ctl azure_create_vault '{"name": "hsm1", "kind": "hsm", "tenant": "t-byok", "hosts": ["localhost"]}' \
    >/dev/null || cmk_error "azure_create_vault hsm1"
emu_ctl azure_principal '{"client_id": "byok-app", "tenant": "t-byok"}' \
    >/dev/null || cmk_error "azure_principal"
emu_ctl azure_grant '{"principal": "byok-app", "grants": {"*": ["get", "import", "wrapKey", "unwrapKey"]}}' \
    >/dev/null || cmk_error "azure_grant"
kv_tok=$(emu_ctl azure_token '{"principal": "byok-app"}' | field access_token) ||
    cmk_error "azure_token vault"
hsm_tok=$(emu_ctl azure_token '{"principal": "byok-app", "resource": "https://managedhsm.azure.net"}' |
    field access_token) || cmk_error "azure_token hsm"
KV=https://127.0.0.1:$EMU_PORT
HSM=https://localhost:$EMU_PORT
# az TOKEN METHOD URL [BODY-FILE]: the answer in $T/ans, the status printed.
az() {
    curl -sS --cacert "$EMU_CA" --resolve "localhost:$EMU_PORT:127.0.0.1" \
        -o "$T/ans" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" \
        -H 'Content-Type: application/json' ${4:+--data-binary "@$4"} "$3"
}
# roundtrip TOKEN KID ESCROW: RSA-OAEP-256 wrapkey of 32 known bytes at
# KID opens with ESCROW, and unwrapkey gives the bytes back.
roundtrip() {
    local dek=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
    local v w
    v=$("$CMK_PYTHON" -c 'import base64,sys; print(base64.urlsafe_b64encode(bytes.fromhex(sys.argv[1])).decode().rstrip("="))' "$dek")
    printf '{"alg": "RSA-OAEP-256", "value": "%s"}' "$v" >"$T/req.json"
    [ "$(az "$1" POST "$2/wrapkey?api-version=7.6" "$T/req.json")" = 200 ] ||
        cmk_fail "wrapkey at $2: $(cat "$T/ans")"
    [ "$(field kid <"$T/ans")" = "$2" ] || cmk_fail "wrapkey kid: $(cat "$T/ans")"
    w=$(field value <"$T/ans")
    "$CMK_PYTHON" "$PY" opens "$3" "$w" "$dek" ||
        cmk_fail "the vault's key at $2 is not the escrowed one"
    printf '{"alg": "RSA-OAEP-256", "value": "%s"}' "$w" >"$T/req.json"
    [ "$(az "$1" POST "$2/unwrapkey?api-version=7.6" "$T/req.json")" = 200 ] ||
        cmk_fail "unwrapkey at $2: $(cat "$T/ans")"
    [ "$(field value <"$T/ans")" = "$v" ] || cmk_fail "unwrapkey: $(cat "$T/ans")"
}

[ "$(az "$kv_tok" PUT "$KV/keys/byok4096?api-version=7.6" "$W/b4096.json")" = 200 ] ||
    cmk_fail "import of the RSA-4096 body: $(cat "$T/ans")"
kid4096=$(field key.kid <"$T/ans")
case $kid4096 in
"$KV/keys/byok4096/"????????????????????????????????) ;;
*) cmk_fail "kid $kid4096" ;;
esac
[ "$(field key.kty <"$T/ans")" = RSA ] || cmk_fail "kty: $(cat "$T/ans")"
[ "$(field key.key_ops <"$T/ans")" = '["wrapKey", "unwrapKey"]' ] ||
    cmk_fail "key_ops: $(cat "$T/ans")"
roundtrip "$kv_tok" "$kid4096" "$W/k4096.pem"

[ "$(az "$hsm_tok" PUT "$HSM/keys/byokhsm?api-version=7.6" "$W/bhsm.json")" = 200 ] ||
    cmk_fail "import of the --hsm body: $(cat "$T/ans")"
kidhsm=$(field key.kid <"$T/ans")
[ "$(field key.kty <"$T/ans")" = RSA-HSM ] || cmk_fail "kty: $(cat "$T/ans")"
[ "$(field attributes.exp <"$T/ans") $(field attributes.nbf <"$T/ans")" = \
    "1893456000 1767225600" ] || cmk_fail "exp/nbf: $(cat "$T/ans")"
roundtrip "$hsm_tok" "$kidhsm" "$W/khsm.pem"

[ "$(az "$kv_tok" PUT "$KV/keys/byok3072?api-version=7.6" "$W/b3072.json")" = 200 ] ||
    cmk_fail "import of the PKCS#1 body: $(cat "$T/ans")"
roundtrip "$kv_tok" "$(field key.kid <"$T/ans")" "$K/pkcs1.pem"

# The emulator's call log: three imports over TLS with the token, each
# body's binary members base64url, then the wraps at the imported kids.
"$CMK_PYTHON" - "$EMU_DIR/calls.jsonl" "$kid4096" "$kidhsm" <<'EOF' ||
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
imp = [c for c in calls if c.get("op") == "AZ.ImportKey"]
assert [(c["key_name"], c["status"], c["auth_scheme"], c["vault"])
        for c in imp] == [("byok4096", 200, "Bearer", "kv1"),
                          ("byokhsm", 200, "Bearer", "hsm1"),
                          ("byok3072", 200, "Bearer", "kv1")], imp
for c in imp:
    assert c["body_members"] == ["attributes", "hsm", "key"], c
    assert c["member_encodings"] == {"attributes": "object", "hsm": "bool",
                                     "key": "object"}, c
wraps = [(c["op"], c["key_id"], c["alg"], c["status"]) for c in calls
         if c.get("op") in ("AZ.WrapKey", "AZ.UnwrapKey")]
for kid in sys.argv[2:]:
    for op in ("AZ.WrapKey", "AZ.UnwrapKey"):
        assert (op, kid, "RSA-OAEP-256", 200) in wraps, (op, kid, wraps)
EOF
    cmk_fail "call log: $(grep -c . "$EMU_DIR/calls.jsonl") calls"
rm -f "$W"/*

echo "== refusals of a customer's key, each with its message and status"
keygen -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$K/r1024.pem"
keygen -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -pkeyopt rsa_keygen_pubexp:3 -out "$K/e3.pem"
keygen -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/ec.pem"
keygen -algorithm ED25519 -out "$K/ed.pem"
openssl pkey -in "$K/good.pem" -aes256 -passout pass:secret \
    -out "$K/enc8.pem" 2>/dev/null || cmk_error "openssl pkey -aes256"
openssl rsa -traditional -in "$K/good.pem" -aes256 -passout pass:secret \
    -out "$K/enc1.pem" 2>/dev/null || cmk_error "openssl rsa -aes256"
openssl pkey -in "$K/good.pem" -pubout -out "$K/pub.pem" ||
    cmk_error "openssl pkey -pubout"
openssl rsa -in "$K/good.pem" -RSAPublicKey_out -out "$K/pub1.pem" \
    2>/dev/null || cmk_error "openssl rsa -RSAPublicKey_out"
head -c 600 /dev/urandom >"$K/garbage.pem"
printf -- '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n' \
    >"$K/damaged.pem"
"$CMK_PYTHON" "$PY" broken "$K/good.pem" "$K/broken.pem" ||
    cmk_error "azure_byok.py broken"
cp "$K/good.pem" "$K/open.pem" && chmod 0644 "$K/open.pem"
ln -s "$K/good.pem" "$K/link.pem"

# refused CODE FILE MESSAGE: --check, --pem and the message, nothing left.
refused() {
    expect "$1" "$TOOL" azure-key --check "$2"
    err_is "cmk-tool: $3"
    [ -s "$T/out" ] && cmk_fail "--check $2 printed: $(cat "$T/out")"
    expect "$1" "$TOOL" azure-key --pem "$2" --out "$W/body.json"
    err_is "cmk-tool: $3"
    left_is ""
}
refused 8 "$K/r1024.pem" \
    "$K/r1024.pem: a 1024-bit RSA key: Key Vault imports 2048, 3072 or 4096 bits"
refused 9 "$K/e3.pem" "$K/e3.pem: public exponent 3: Key Vault needs 65537"
refused 7 "$K/ec.pem" \
    "$K/ec.pem: an EC key (prime256v1): Key Vault imports RSA keys here; give an RSA private key"
refused 7 "$K/ed.pem" \
    "$K/ed.pem: an ED25519 key: Key Vault imports RSA keys here; give an RSA private key"
for f in enc8 enc1; do
    refused 5 "$K/$f.pem" \
        "$K/$f.pem: the private key is encrypted: decrypt it first: openssl pkey -in $K/$f.pem -out PLAIN.pem (then chmod 0600 PLAIN.pem, and delete it after the import)"
done
for f in pub pub1; do
    refused 6 "$K/$f.pem" \
        "$K/$f.pem: a public key only: a private key is needed (the vault must hold the whole key pair)"
done
refused 4 "$K/garbage.pem" \
    "$K/garbage.pem: not a PEM file (no \"-----BEGIN\" line): give the private key as PEM, PKCS#1 or PKCS#8"
refused 4 "$K/damaged.pem" \
    "$K/damaged.pem: no private key could be decoded from the PEM (damaged or not a key)"
refused 10 "$K/broken.pem" \
    "$K/broken.pem: an inconsistent RSA key: its private parts do not match its modulus and exponent (OpenSSL's key check failed)"
refused 3 "$K/open.pem" \
    "$K/open.pem: accessible by group or others (mode 0644); it must be 0600 or stricter"
refused 3 "$K/link.pem" "$K/link.pem: is a symbolic link"
refused 3 "$K/none.pem" "$K/none.pem: cannot open: No such file or directory"

echo "== refusals of the arguments and of the output files"
expect 2 "$TOOL" azure-key --generate --bits 1024 --out "$W/b.json"
err_is 'cmk-tool: --bits: "1024": Key Vault imports 2048, 3072 or 4096'
expect 2 "$TOOL" azure-key --generate --out -
err_is "cmk-tool: the output holds the private key: it is written to a file of mode 0600, never to stdout"
expect 2 "$TOOL" azure-key --generate
err_is "cmk-tool: --out BODY is needed"
expect 2 "$TOOL" azure-key --generate --pem "$K/good.pem" --out "$W/b.json"
err_is "cmk-tool: give one of --generate, --pem KEY.pem or --check KEY.pem"
expect 2 "$TOOL" azure-key --pem "$K/good.pem" --out "$W/b.json" \
    --private-out "$W/k.pem"
err_is "cmk-tool: --bits and --private-out go with --generate"
expect 2 "$TOOL" azure-key --check "$K/good.pem" --hsm
err_is "cmk-tool: --check takes no other option: it writes nothing"
expect 2 "$TOOL" azure-key --generate --out "$W/b.json" --key-ops wrapKey,sign,wrapKey
err_is 'cmk-tool: --key-ops: "wrapKey" is twice (one of: encrypt decrypt sign verify wrapKey unwrapKey import export, each once)'
expect 2 "$TOOL" azure-key --generate --out "$W/b.json" --key-ops wrapkey
err_is 'cmk-tool: --key-ops: "wrapkey" is not a key operation (one of: encrypt decrypt sign verify wrapKey unwrapKey import export, each once)'
expect 2 "$TOOL" azure-key --generate --out "$W/b.json" --exp 2020-01-01T00:00:00Z
err_is "cmk-tool: --exp: in the past: the key would be expired on import"
expect 2 "$TOOL" azure-key --generate --out "$W/b.json" --exp 2030-01-01T00:00:00Z \
    --nbf 2031-01-01T00:00:00Z
err_is "cmk-tool: --nbf: not before --exp: the key would never be valid"
expect 2 "$TOOL" azure-key --generate --out "$W/b.json" --nbf tomorrow
err_is 'cmk-tool: --nbf: "tomorrow" is not an RFC 3339 date-time (2027-12-31T23:59:59Z)'
left_is ""
# An existing file is never overwritten, nor is a half pair left.
printf 'mine\n' >"$W/taken.json"
expect 1 "$TOOL" azure-key --pem "$K/good.pem" --out "$W/taken.json"
err_is "cmk-tool: $W/taken.json: already exists; refusing to overwrite it"
[ "$(cat "$W/taken.json")" = mine ] || cmk_fail "taken.json overwritten"
printf 'mine\n' >"$W/taken.pem"
expect 1 "$TOOL" azure-key --generate --bits 2048 --out "$W/new.json" \
    --private-out "$W/taken.pem"
err_is "cmk-tool: $W/taken.pem: already exists; refusing to overwrite it"
left_is "taken.json taken.pem "
expect 1 "$TOOL" azure-key --pem "$K/good.pem" --out "$T/nodir/b.json"
case $(cat "$T/err") in
"cmk-tool: cannot create a temporary file next to $T/nodir/b.json: No such file or directory") ;;
*) cmk_fail "stderr: $(cat "$T/err")" ;;
esac
echo "PASS"
