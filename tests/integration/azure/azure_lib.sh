# SPDX-License-Identifier: Apache-2.0
# tests/integration/azure: shell helpers shared by the azure tests, sourced
# after lib.sh and the emulator's emulator.sh, once the emulator runs with
# --tls: a Key Vault (kv1, host 127.0.0.1) and a Managed HSM (hsm1, host
# localhost), keys, principals and their grants, and azure tenants. Azure
# clients speak only TLS to a vault; the module trusts the emulator's CA
# through the config's http.ca_file.

AZ_TENANT=t1
# The role the README asks for ("Key Vault Crypto Service Encryption
# User"): get, wrapKey and unwrapKey on the key; on the Managed HSM with
# A256GCM, encrypt and decrypt as well.
AZ_KEY_ROLE='["get", "wrapKey", "unwrapKey"]'
AZ_HSM_ROLE='["get", "wrapKey", "unwrapKey", "encrypt", "decrypt"]'

az_ctl() {
    emu_ctl "$@" >/dev/null || cmk_error "emulator control: $*"
}

# az_vaults: kv1 (Key Vault on 127.0.0.1) and hsm1 (Managed HSM on
# localhost), both in tenant AZ_TENANT; AZ_KV and AZ_HSM their base URLs.
az_vaults() {
    az_ctl azure_create_vault \
        "{\"name\": \"kv1\", \"kind\": \"vault\", \"tenant\": \"$AZ_TENANT\", \"hosts\": [\"127.0.0.1\"]}"
    az_ctl azure_create_vault \
        "{\"name\": \"hsm1\", \"kind\": \"hsm\", \"tenant\": \"$AZ_TENANT\", \"hosts\": [\"localhost\"]}"
    AZ_KV=https://127.0.0.1:$EMU_PORT
    AZ_HSM=https://localhost:$EMU_PORT
}

# az_key VAULT NAME KTY [SIZE]: a key (a new version if NAME exists).
az_key() {
    az_ctl azure_create_key \
        "{\"vault\": \"$1\", \"name\": \"$2\", \"kty\": \"$3\"${4:+, \"key_size\": $4}}"
}

# az_principal CLIENT_ID [SECRET_FILE]: an application in AZ_TENANT, with
# the secret in SECRET_FILE when given.
az_principal() {
    local body="{\"client_id\": \"$1\", \"tenant\": \"$AZ_TENANT\""
    [ -n "${2:-}" ] && body="$body, \"secret\": \"$(cat "$2")\""
    az_ctl azure_principal "$body}"
}

# az_grant CLIENT_ID GRANTS_JSON: the principal's whole grant map, e.g.
# '{"kv1/k1": ["get", "wrapKey", "unwrapKey"]}'.
az_grant() {
    az_ctl azure_grant "{\"principal\": \"$1\", \"grants\": $2}"
}

# az_secret FILE: a client secret in FILE (0600).
az_secret() {
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1") ||
        cmk_error "client secret"
}

# az_verifier PIN: a PIN verifier of the minimum cost (test_mode).
az_verifier() {
    printf '%s\n' "$1" | "$CMK_TOOL" pin-hash --cost min ||
        cmk_error "cmk-tool pin-hash"
}

# az_tenant LABEL PIN KEY RESOURCE [AZURE_MEMBERS [TENANT_MEMBERS]]: a
# tenant object on the azure provider; RESOURCE the challenge resource the
# emulator names (https://vault.azure.net, https://managedhsm.azure.net),
# accepted for a loopback vault; AZURE_MEMBERS more members of its "azure"
# object (', "client_id": ...'), TENANT_MEMBERS of the tenant itself.
az_tenant() {
    printf '{"label": "%s", "provider": "azure", "key": "%s", "test_mode": true, "pin_verifier": "%s", "azure": {"resource": "%s", "authority_host": "%s"%s}%s}' \
        "$1" "$3" "$(az_verifier "$2")" "$4" "$EMU_HTTPS_URL" "${5:-}" "${6:-}"
}

# az_clean_env: nothing of the Azure environment of whoever runs the tests.
az_clean_env() {
    unset AZURE_CLIENT_ID AZURE_TENANT_ID AZURE_CLIENT_SECRET \
        AZURE_CLIENT_CERTIFICATE_PATH AZURE_FEDERATED_TOKEN_FILE \
        AZURE_AUTHORITY_HOST AZURE_POD_IDENTITY_AUTHORITY_HOST \
        IDENTITY_ENDPOINT IDENTITY_HEADER MSI_ENDPOINT MSI_SECRET
    HOME=$1
    export HOME
}
