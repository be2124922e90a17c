# SPDX-License-Identifier: Apache-2.0
# tests/integration/gcp: shell helpers shared by the gcp tests, sourced
# after lib.sh and the emulator's emulator.sh, once the emulator runs: a
# key ring and keys in the emulator's Cloud KMS, IAM bindings, the
# metadata server, service-account key files, and gcp tenants.

GCP_RING=projects/p1/locations/global/keyRings/cmk
GCP_MD_SA=md@p1.iam.gserviceaccount.com
# The role the README asks for, on the key only: encrypt and decrypt
# (roles/cloudkms.cryptoKeyEncrypterDecrypter) and get for health.
GCP_KEY_ROLE='["encrypt", "decrypt", "get"]'

gcp_ctl() {
    emu_ctl "$@" >/dev/null || cmk_error "emulator control: $*"
}

# gcp_ring: the key ring GCP_RING.
gcp_ring() {
    gcp_ctl gcp_create_key_ring "{\"name\": \"$GCP_RING\"}"
}

# gcp_key NAME: the cryptoKey GCP_RING/cryptoKeys/NAME, version 1 primary.
gcp_key() {
    gcp_ctl gcp_create_key "{\"name\": \"$GCP_RING/cryptoKeys/$1\"}"
}

# gcp_bind PRINCIPAL BINDINGS_JSON: PRINCIPAL's whole IAM map, e.g.
# '{"projects/.../cryptoKeys/k": ["encrypt", "decrypt", "get"]}'.
gcp_bind() {
    gcp_ctl gcp_iam "{\"principal\": \"$1\", \"bindings\": $2}"
}

# gcp_metadata PRINCIPAL [true|false]: the metadata server up (default)
# or down, its tokens issued to PRINCIPAL; GCE_METADATA_HOST names it
# (host:port, as Google's libraries take it).
gcp_metadata() {
    gcp_ctl gcp_metadata \
        "{\"principal\": \"$1\", \"enabled\": ${2:-true}}"
    GCE_METADATA_HOST=${EMU_HTTP_URL#http://}
    export GCE_METADATA_HOST
}

# gcp_service_account FILE EMAIL KID: an RSA key made here, its public
# half registered with the emulator as EMAIL's key KID, and FILE (0600)
# the key file as Google issues them, token_uri at the emulator.
gcp_service_account() {
    local file=$1 email=$2 kid=$3
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$file.pem" 2>/dev/null &&
        openssl pkey -in "$file.pem" -pubout -out "$file.pub" ||
        cmk_error "openssl: service-account key"
    (umask 077 && "$EMU_PYTHON" - "$file" "$email" "$kid" "$EMU_HTTP_URL" \
        >"$file.reg") <<'PY' || cmk_error "service-account key file"
import json, sys
path, email, kid, url = sys.argv[1:]
pem = open(path + ".pem").read()
json.dump({"type": "service_account", "project_id": "p1",
           "private_key_id": kid, "private_key": pem,
           "client_email": email, "client_id": "1",
           "auth_uri": "https://accounts.google.com/o/oauth2/auth",
           "token_uri": url + "/token"}, open(path, "w"))
print(json.dumps({"client_email": email, "key_id": kid,
                  "public_key": open(path + ".pub").read()}))
PY
    chmod 600 "$file" || cmk_error "chmod $file"
    rm -f "$file.pem"
    gcp_ctl gcp_service_account "$(cat "$file.reg")"
}

# gcp_verifier PIN: a PIN verifier of the minimum cost (test_mode).
gcp_verifier() {
    printf '%s\n' "$1" | "$CMK_TOOL" pin-hash --cost min ||
        cmk_error "cmk-tool pin-hash"
}

# gcp_tenant LABEL PIN KEY [EXTRA]: a tenant object on the gcp provider
# at the emulator's HTTP endpoint; EXTRA is added inside it (', "gcp":
# {...}').
gcp_tenant() {
    printf '{"label": "%s", "provider": "gcp", "key": "%s", "endpoint": "%s", "test_mode": true, "pin_verifier": "%s"%s}' \
        "$1" "$3" "$EMU_HTTP_URL" "$(gcp_verifier "$2")" "${4:-}"
}

# gcp_clean_env: nothing of the Google environment of whoever runs the
# tests, HOME a directory of the test (no gcloud files).
gcp_clean_env() {
    unset GOOGLE_APPLICATION_CREDENTIALS GCE_METADATA_HOST \
        GOOGLE_CLOUD_PROJECT CLOUDSDK_CONFIG
    HOME=$1
    export HOME
}
