#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: every Google credential source the gcp provider has, through
# the module, against the emulator: a service-account key file named in
# the config or by GOOGLE_APPLICATION_CREDENTIALS, the metadata server, a
# gcloud user credential (authorized_user) by the variable and as the
# gcloud well-known file under HOME, and workload identity federation
# (external_account) with and without service-account impersonation. Each source gets its own cryptoKey
# (usable only by that source's principal), its own config and a fresh
# process (gcp_creds.py) in a clean environment (env -i) holding that
# source and, where the chain must pass them over, the sources after it;
# the emulator's call log must show the KMS calls made by the source's
# principal with the token from the source's endpoint, and no private key
# or token may appear in what the module printed (debug log on).
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/gcp_lib.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-gcp-creds.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
emulator_start "$T/emu" || cmk_error "emulator did not start"
gcp_clean_env "$T"
umask 077
PIN=2468
VERIFIER=$(gcp_verifier $PIN)
MD_HOST=${EMU_HTTP_URL#http://}
gcp_ring
gcp_metadata "$GCP_MD_SA"
unset GCE_METADATA_HOST # given to each case explicitly

# config NAME GCP_MEMBER: T/NAME/config.json, tenant "creds" on the key
# creds-NAME. No KEK: the direct path needs none.
config() {
    mkdir -p "$T/$1/home" || cmk_error "mkdir"
    gcp_key "creds-$1"
    cat >"$T/$1/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/$1/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 2},
  "tenants": [{"label": "creds", "provider": "gcp",
               "key": "$GCP_RING/cryptoKeys/creds-$1",
               "endpoint": "$EMU_HTTP_URL"$2, "test_mode": true,
               "pin_verifier": "$VERIFIER"}]
}
EOF
}
# bind NAME PRINCIPAL: the key creds-NAME usable by PRINCIPAL alone.
bind() {
    gcp_bind "$2" "{\"$GCP_RING/cryptoKeys/creds-$1\": $GCP_KEY_ROLE}"
}

FAILED=
# run NAME PRINCIPAL TOKEN_OP [VAR=VALUE...]: gcp_creds.py under exactly
# these variables (cmk_clean_run), HOME a fresh empty directory (no
# gcloud files).
run() {
    local name=$1 principal=$2 op=$3
    shift 3
    emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
    cmk_clean_run "$name" "$T/$name" "$@" -- "$CMK_PYTHON" \
        "$top_srcdir/tests/integration/gcp/gcp_creds.py" "$principal" "$op"
}

SA_FILE=sa-file@p1.iam.gserviceaccount.com
SA_ENV=sa-env@p1.iam.gserviceaccount.com
mkdir -p "$T/keys" || cmk_error "mkdir"
gcp_service_account "$T/keys/sa-file.json" "$SA_FILE" kid-file
gcp_service_account "$T/keys/sa-env.json" "$SA_ENV" kid-env

# 1. The tenant's gcp.credentials_file: a service-account key file (JWT
# bearer grant at its token_uri). GOOGLE_APPLICATION_CREDENTIALS and the
# metadata server are there too, and not used.
config file ", \"gcp\": {\"credentials_file\": \"$T/keys/sa-file.json\"}"
bind file "$SA_FILE"
run file "$SA_FILE" GCP.Token \
    GOOGLE_APPLICATION_CREDENTIALS="$T/keys/sa-env.json" \
    GCE_METADATA_HOST="$MD_HOST"

# 2. GOOGLE_APPLICATION_CREDENTIALS naming a key file; the metadata
# server is there too, and not used.
config env ""
bind env "$SA_ENV"
run env "$SA_ENV" GCP.Token \
    GOOGLE_APPLICATION_CREDENTIALS="$T/keys/sa-env.json" \
    GCE_METADATA_HOST="$MD_HOST"

# 3. The metadata server at GCE_METADATA_HOST (host:port).
config metadata ""
bind metadata "$GCP_MD_SA"
run metadata "$GCP_MD_SA" GCP.Metadata GCE_METADATA_HOST="$MD_HOST"

# authorized_user FILE NAME: a gcloud user credential file (refresh-token
# grant at the emulator's token endpoint) for user-NAME@example.com.
authorized_user() {
    emu_ctl gcp_authorized_user "{\"client_id\": \"cid-$2\",
        \"client_secret\": \"csecret-$2\", \"refresh_token\": \"1//refresh-$2\",
        \"principal\": \"user-$2@example.com\"}" >/dev/null ||
        cmk_error "gcp_authorized_user"
    printf '{"type": "authorized_user", "client_id": "cid-%s", "client_secret": "csecret-%s", "refresh_token": "1//refresh-%s", "token_uri": "%s/token"}\n' \
        "$2" "$2" "$2" "$EMU_HTTP_URL" >"$1" || cmk_error "cannot write $1"
}

# 4. GOOGLE_APPLICATION_CREDENTIALS naming a gcloud user credential
# (authorized_user); the metadata server is there too, and not used.
authorized_user "$T/keys/user-env.json" env
config user_env ""
bind user_env user-env@example.com
run user_env user-env@example.com GCP.Token \
    GOOGLE_APPLICATION_CREDENTIALS="$T/keys/user-env.json" \
    GCE_METADATA_HOST="$MD_HOST"

# 5. The gcloud well-known file under HOME (no variable set): it comes
# before the metadata server, which is there and not used.
config user_adc ""
mkdir -p "$T/user_adc/home/.config/gcloud" || cmk_error "mkdir"
authorized_user "$T/user_adc/home/.config/gcloud/application_default_credentials.json" adc
bind user_adc user-adc@example.com
run user_adc user-adc@example.com GCP.Token GCE_METADATA_HOST="$MD_HOST"

# external_account FILE NAME [IMPERSONATE]: workload identity federation
# with a subject token in a file, exchanged at the emulator's STS for the
# federated principal of NAME; with IMPERSONATE, that principal may
# impersonate the service account IMPERSONATE, whose token is used.
AUDIENCE=//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/prov
external_account() {
    local fed=principal://iam.googleapis.com/pool/subject/$2 imp=
    printf 'subject-token-%s\n' "$2" >"$T/keys/subject-$2" ||
        cmk_error "cannot write the subject token"
    emu_ctl gcp_sts "{\"subject_token\": \"subject-token-$2\",
        \"principal\": \"$fed\"}" >/dev/null || cmk_error "gcp_sts"
    if [ -n "${3:-}" ]; then
        emu_ctl gcp_impersonation "{\"service_account\": \"$3\",
            \"principals\": [\"$fed\"]}" >/dev/null ||
            cmk_error "gcp_impersonation"
        imp=", \"service_account_impersonation_url\": \"$EMU_HTTP_URL/v1/projects/-/serviceAccounts/$3:generateAccessToken\""
    fi
    printf '{"type": "external_account", "audience": "%s", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "%s/v1/token", "credential_source": {"file": "%s"}%s}\n' \
        "$AUDIENCE" "$EMU_HTTP_URL" "$T/keys/subject-$2" "$imp" >"$1" ||
        cmk_error "cannot write $1"
}

# 6. external_account named by GOOGLE_APPLICATION_CREDENTIALS: the STS
# token of the federated principal itself.
FED_EXT=principal://iam.googleapis.com/pool/subject/ext
external_account "$T/keys/ext.json" ext
config ext ""
bind ext "$FED_EXT"
run ext "$FED_EXT" GCP.STS \
    GOOGLE_APPLICATION_CREDENTIALS="$T/keys/ext.json" \
    GCE_METADATA_HOST="$MD_HOST"

# 7. external_account with impersonation, named in the config: STS for
# the federated principal, then generateAccessToken for the service
# account (both asked by the federated principal), whose token makes
# the KMS calls.
FED_IMP=principal://iam.googleapis.com/pool/subject/imp
SA_IMP=sa-imp@p1.iam.gserviceaccount.com
external_account "$T/keys/ext-imp.json" imp "$SA_IMP"
config ext_imp ", \"gcp\": {\"credentials_file\": \"$T/keys/ext-imp.json\"}"
bind ext_imp "$SA_IMP"
run ext_imp "$SA_IMP" "GCP.STS=$FED_IMP,GCP.GenerateAccessToken=$FED_IMP" \
    GCE_METADATA_HOST="$MD_HOST"

# Subject tokens, refresh tokens and client secrets of the files above.
for f in "$T"/keys/subject-*; do
    cat "$f"
done >"$T/more-secrets"
printf '%s\n' 1//refresh-env 1//refresh-adc csecret-env csecret-adc \
    >>"$T/more-secrets"

# No private key or access token in anything printed: the key files' PEM
# lines and every token the emulator issued.
"$CMK_PYTHON" - "$T/emu/gcp_state.json" "$T"/keys/sa-*.json \
    >"$T/secrets" <<'PY' || cmk_error "cannot list the secrets"
import json, sys
for token in json.load(open(sys.argv[1]))["tokens"]:
    print(token)
for path in sys.argv[2:]:
    for line in json.load(open(path))["private_key"].splitlines():
        if line and not line.startswith("-----"):
            print(line)
PY
cat "$T/more-secrets" >>"$T/secrets" || cmk_error "cannot list the secrets"
n=$(grep -c '^ya29\.' "$T/secrets")
[ "$n" -ge 8 ] || cmk_error "too few tokens listed: $n"
cmk_no_leak "$T/secrets" "$T"
[ -z "$FAILED" ] || cmk_fail "failed:$FAILED"
echo "ok: no private key or token in the output of any case"
echo "PASS"
exit 0
