#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: every Entra ID credential source the azure provider has,
# through the module, against the emulator over TLS: a client secret in a
# file named by the config and in AZURE_CLIENT_SECRET, a client
# certificate named by the config (RS256) and by
# AZURE_CLIENT_CERTIFICATE_PATH (PS256), workload identity
# (AZURE_FEDERATED_TOKEN_FILE with AZURE_AUTHORITY_HOST), managed identity
# through IMDS (system, and user-assigned by client id, object id and
# resource id; the endpoint from the config and from
# AZURE_POD_IDENTITY_AUTHORITY_HOST) and App Service's IDENTITY_ENDPOINT /
# IDENTITY_HEADER. Each source gets its own key (usable only by that
# source's principal), its own config and a fresh process (azure_creds.py)
# in a clean environment (env -i) holding that source and, where the
# chain must pass them over, the sources after it; the emulator's call log
# must show the vault calls made by the source's principal with the token
# from the source's endpoint, and no secret, private key or token may
# appear in what the module printed (debug log on).
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/azure_lib.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-azure-creds.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
emulator_start "$T/emu" --tls || cmk_error "emulator did not start"
az_clean_env "$T"
umask 077
PIN=2468
VERIFIER=$(az_verifier $PIN)
az_vaults
emu_ctl azure_identity_endpoints \
    '{"imds_enabled": true, "app_service_header": "app-svc-header"}' \
    >/dev/null || cmk_error "identity endpoints"

# config NAME AZURE_MEMBERS: T/NAME/config.json, tenant "creds" on the
# key creds-NAME of kv1 (RSA 2048). No KEK: the direct path needs none.
config() {
    mkdir -p "$T/$1/home" || cmk_error "mkdir"
    az_key kv1 "creds-$1" RSA 2048
    cat >"$T/$1/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/$1/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 2,
           "ca_file": "$EMU_CA"},
  "tenants": [{"label": "creds", "provider": "azure",
               "key": "$AZ_KV/keys/creds-$1",
               "azure": {"resource": "https://vault.azure.net"$2},
               "test_mode": true, "pin_verifier": "$VERIFIER"}]
}
EOF
}
# principal NAME CLIENT_ID [JSON_MEMBERS]: an application of AZ_TENANT
# that alone may use the key creds-NAME.
principal() {
    az_ctl azure_principal \
        "{\"client_id\": \"$2\", \"tenant\": \"$AZ_TENANT\"${3:-}}"
    az_grant "$2" "{\"kv1/creds-$1\": $AZ_KEY_ROLE}"
}

FAILED=
# run NAME PRINCIPAL TOKEN_OP FACTS [VAR=VALUE...]: azure_creds.py under
# exactly these variables (cmk_clean_run: env -i, nothing inherited);
# FACTS (KEY=VALUE, comma-separated) what the token call's log must say.
run() {
    local name=$1 principal=$2 op=$3 facts=$4
    shift 4
    emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
    cmk_clean_run "$name" "$T/$name" "$@" -- "$CMK_PYTHON" \
        "$top_srcdir/tests/integration/azure/azure_creds.py" \
        "$principal" "$op" ${facts//,/ }
}

mkdir -p "$T/keys" || cmk_error "mkdir"
AUTH=", \"authority_host\": \"$EMU_HTTPS_URL\", \"tenant_id\": \"$AZ_TENANT\""
IMDS_HOST=$EMU_HTTP_URL
# Decoys: sources later in the chain, present and not to be used.
LATER=(IDENTITY_ENDPOINT="$EMU_HTTP_URL/msi/token"
    IDENTITY_HEADER=app-svc-header
    AZURE_POD_IDENTITY_AUTHORITY_HOST="$IMDS_HOST")
az_ctl azure_principal "{\"client_id\": \"mi-sys\", \"tenant\": \"$AZ_TENANT\"}"
az_ctl azure_managed_identity '{"kind": "system", "client_id": "mi-sys"}'

# 1. The tenant's azure.client_secret_file; AZURE_CLIENT_SECRET of
# another application is there too, and not used.
az_secret "$T/keys/secret-file"
az_secret "$T/keys/secret-env"
config secret-file "$AUTH, \"client_id\": \"app-file\", \"client_secret_file\": \"$T/keys/secret-file\""
principal secret-file app-file ", \"secret\": \"$(cat "$T/keys/secret-file")\""
run secret-file app-file AZ.Token client_auth=secret \
    AZURE_CLIENT_ID=app-env AZURE_TENANT_ID=$AZ_TENANT \
    AZURE_CLIENT_SECRET="$(cat "$T/keys/secret-env")" "${LATER[@]}"

# 2. AZURE_CLIENT_SECRET with AZURE_CLIENT_ID and AZURE_TENANT_ID (the
# authority host from AZURE_AUTHORITY_HOST).
config secret-env ""
principal secret-env app-env ", \"secret\": \"$(cat "$T/keys/secret-env")\""
run secret-env app-env AZ.Token client_auth=secret \
    AZURE_CLIENT_ID=app-env AZURE_TENANT_ID=$AZ_TENANT \
    AZURE_AUTHORITY_HOST="$EMU_HTTPS_URL" \
    AZURE_CLIENT_SECRET="$(cat "$T/keys/secret-env")" "${LATER[@]}"

# cert NAME: T/keys/NAME.pem, a self-signed certificate and its key in one
# file (as Azure's ClientCertificateCredential reads it); prints the
# certificate as a JSON string.
cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/keys/$1.key" \
        -out "$T/keys/$1.crt" -days 2 -subj "/CN=$1" 2>/dev/null &&
        cat "$T/keys/$1.key" "$T/keys/$1.crt" >"$T/keys/$1.pem" &&
        rm -f "$T/keys/$1.key" || cmk_error "certificate $1"
    "$CMK_PYTHON" -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read()))' \
        "$T/keys/$1.crt"
}

# 3. The tenant's azure.client_certificate_file, signed RS256.
crt=$(cert cert-file)
config cert-file "$AUTH, \"client_id\": \"app-cert\", \"client_certificate_file\": \"$T/keys/cert-file.pem\", \"client_certificate_alg\": \"RS256\""
principal cert-file app-cert ", \"certificates\": [$crt]"
run cert-file app-cert AZ.Token client_auth=certificate,jwt_alg=RS256,x5t#S256=true \
    "${LATER[@]}"

# 4. AZURE_CLIENT_CERTIFICATE_PATH, signed PS256 (the default).
crt=$(cert cert-env)
config cert-env ""
principal cert-env app-cert-env ", \"certificates\": [$crt]"
run cert-env app-cert-env AZ.Token client_auth=certificate,jwt_alg=PS256,x5t#S256=true \
    AZURE_CLIENT_ID=app-cert-env AZURE_TENANT_ID=$AZ_TENANT \
    AZURE_AUTHORITY_HOST="$EMU_HTTPS_URL" \
    AZURE_CLIENT_CERTIFICATE_PATH="$T/keys/cert-env.pem" "${LATER[@]}"

# 5. Workload identity: the federated token Kubernetes projects into a
# file (through a symlink, as the kubelet does).
printf 'eyJhbGciOiJSUzI1NiJ9.%s.sig' "$(head -c 12 /dev/urandom |
    od -An -tx1 | tr -d ' \n')" >"$T/keys/federated.real" &&
    ln -s federated.real "$T/keys/federated" || cmk_error "federated token"
config workload ""
principal workload app-wi \
    ", \"federated_tokens\": [\"$(cat "$T/keys/federated.real")\"]"
run workload app-wi AZ.Token client_auth=federated \
    AZURE_CLIENT_ID=app-wi AZURE_TENANT_ID=$AZ_TENANT \
    AZURE_AUTHORITY_HOST="$EMU_HTTPS_URL" \
    AZURE_FEDERATED_TOKEN_FILE="$T/keys/federated" "${LATER[@]}"

# 6. Managed identity named in the config: the system identity at the
# configured IMDS endpoint (App Service's variables are there, not used).
config mi-system ", \"managed_identity\": {}, \"imds_endpoint\": \"$IMDS_HOST\""
az_grant mi-sys "{\"kv1/creds-mi-system\": $AZ_KEY_ROLE}"
run mi-system mi-sys AZ.IMDS identity=system \
    IDENTITY_ENDPOINT="$EMU_HTTP_URL/msi/token" IDENTITY_HEADER=app-svc-header

# 7-9. User-assigned identities by client id, object id and resource id.
RID=/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi-user
az_ctl azure_principal "{\"client_id\": \"mi-user\", \"tenant\": \"$AZ_TENANT\"}"
az_ctl azure_managed_identity "{\"kind\": \"user\", \"client_id\": \"mi-user\", \"object_id\": \"oid-mi-user\", \"msi_res_id\": \"$RID\"}"
for how in client_id:mi-user object_id:oid-mi-user resource_id:$RID; do
    member=${how%%:*} value=${how#*:}
    param=$member
    [ "$member" = resource_id ] && param=msi_res_id
    config "mi-${member//_/-}" ", \"managed_identity\": {\"$member\": \"$value\"}, \"imds_endpoint\": \"$IMDS_HOST\""
    az_grant mi-user "{\"kv1/creds-mi-${member//_/-}\": $AZ_KEY_ROLE}"
    run "mi-${member//_/-}" mi-user AZ.IMDS "identity=$param"
done

# 10. Nothing configured, IMDS found through
# AZURE_POD_IDENTITY_AUTHORITY_HOST: the system identity.
config mi-env ""
az_grant mi-sys "{\"kv1/creds-mi-env\": $AZ_KEY_ROLE}"
run mi-env mi-sys AZ.IMDS identity=system \
    AZURE_POD_IDENTITY_AUTHORITY_HOST="$IMDS_HOST"

# 11. App Service: IDENTITY_ENDPOINT and IDENTITY_HEADER (before IMDS,
# which is there too).
config app-service ""
az_grant mi-sys "{\"kv1/creds-app-service\": $AZ_KEY_ROLE}"
run app-service mi-sys AZ.AppService identity=system \
    IDENTITY_ENDPOINT="$EMU_HTTP_URL/msi/token" IDENTITY_HEADER=app-svc-header \
    AZURE_POD_IDENTITY_AUTHORITY_HOST="$IMDS_HOST"

# No secret, private key or token in anything printed: the client
# secrets, the certificates' private keys, the federated token, the App
# Service header and every token the emulator issued.
{
    cat "$T/keys/secret-file" "$T/keys/secret-env"
    echo
    cat "$T/keys/federated.real"
    echo
    echo app-svc-header
    for f in "$T"/keys/cert-*.pem; do
        sed -n '/PRIVATE KEY/,/PRIVATE KEY/p' "$f" | grep -v -- -----
    done
    "$CMK_PYTHON" -c 'import json, sys
for t in json.load(open(sys.argv[1])).get("tokens", {}):
    print(t)' "$T/emu/azure_state.json"
} >"$T/secrets" || cmk_error "cannot list the secrets"
n=$(wc -l <"$T/secrets")
[ "$n" -ge 20 ] || cmk_error "too few secrets listed: $n"
cmk_no_leak "$T/secrets" "$T"
[ -z "$FAILED" ] || cmk_fail "failed:$FAILED"
echo "ok: no secret, private key or token in the output of any case"
echo "PASS"
exit 0
