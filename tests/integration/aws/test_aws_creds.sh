#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: every AWS credential source through the module, against the
# KMS emulator. Each source gets its own KMS key (usable only by that
# source's principal), its own config and a fresh process (aws_creds.py)
# whose environment holds that source alone; the emulator's call log must
# show the KMS calls signed with the source's access key id, and no secret
# may appear in what the module printed (debug log on).
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-aws-creds.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
emulator_start "$T/emu" || cmk_error "emulator did not start"
umask 077
PIN=2468
VERIFIER=$(printf '%s\n' $PIN | "$CMK_TOOL" pin-hash --cost min) ||
    cmk_error "cmk-tool pin-hash"
ROLE_ACCOUNT=$(emu_ctl status | "$CMK_PYTHON" -c \
    'import json,sys; print(json.load(sys.stdin)["account"])') ||
    cmk_error "emulator status"

ctl() {
    emu_ctl "$@" >/dev/null || cmk_error "emulator control: $*"
}
# key NAME PRINCIPAL: alias/creds-NAME, usable by PRINCIPAL only.
key() {
    ctl create_key "{\"alias\":\"alias/creds-$1\",\"allow\":[\"$2\"]}"
}
# static AKID SECRET [TOKEN]: credentials the emulator accepts.
static() {
    ctl add_credentials "{\"access_key_id\":\"$1\",\"secret\":\"$2\"${3:+,\"session_token\":\"$3\"}}"
}

# config NAME AWS_JSON: T/NAME/config.json with tenant "creds" on
# alias/creds-NAME. No KEK: the direct path needs none.
config() {
    mkdir -p "$T/$1/home" || cmk_error "mkdir"
    cat >"$T/$1/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/$1/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 2},
  "tenants": [{"label": "creds", "provider": "aws", "key": "alias/creds-$1",
               "region": "us-east-1", "endpoint": "$EMU_HTTP_URL/",
               "aws": $2, "test_mode": true, "pin_verifier": "$VERIFIER"}]
}
EOF
}

FAILED=
# run NAME EXPECT [VAR=VALUE...]: aws_creds.py under exactly these AWS
# variables (cmk_clean_run), HOME a fresh empty directory.
run() {
    local name=$1 expect=$2
    shift 2
    ctl reset_calls
    cmk_clean_run "$name" "$T/$name" "$@" -- "$CMK_PYTHON" \
        "$top_srcdir/tests/integration/aws/aws_creds.py" "$expect"
}

# 1. aws.credentials_file: static keys by reference.
static AKIDCREDSFILE "file-secret/Aa1+Bb2"
key file AKIDCREDSFILE
config file "{\"credentials_file\": \"$T/file/creds.json\"}"
printf '{"access_key_id": "AKIDCREDSFILE", "secret_access_key": "file-secret/Aa1+Bb2"}\n' \
    >"$T/file/creds.json"
run file AKIDCREDSFILE AWS_EC2_METADATA_DISABLED=true

# 2. Environment, with a session token (the emulator refuses the key
# without it).
static ASIAENVE2ETEST "env-secret/Cc3+Dd4" "env-session-token/Ee5+Ff6"
key env ASIAENVE2ETEST
config env '{}'
run env ASIAENVE2ETEST AWS_EC2_METADATA_DISABLED=true \
    AWS_ACCESS_KEY_ID=ASIAENVE2ETEST AWS_SECRET_ACCESS_KEY=env-secret/Cc3+Dd4 \
    AWS_SESSION_TOKEN=env-session-token/Ee5+Ff6

# 3. Shared files, named profile from AWS_PROFILE; [default] in both files
# holds keys the emulator does not know. 3a: keys in the credentials file;
# 3b: keys in the config file's [profile NAME] section.
static AKIDPROFILECRED "profile-secret/Gg7+Hh8"
static AKIDPROFILECONF "profile-secret/Ii9+Jj0"
key profile AKIDPROFILECRED
key profile-config AKIDPROFILECONF
for p in profile profile-config; do
    config $p '{}'
    cat >"$T/$p/credentials" <<EOF
[default]
aws_access_key_id = AKIDDEFAULTDECOY
aws_secret_access_key = default-secret/decoy1

[e2e-cred]
aws_access_key_id = AKIDPROFILECRED
aws_secret_access_key = profile-secret/Gg7+Hh8
EOF
    cat >"$T/$p/config" <<EOF
[default]
aws_access_key_id = AKIDDEFAULTDECOY2
aws_secret_access_key = default-secret/decoy2

[profile e2e-conf]
aws_access_key_id = AKIDPROFILECONF
aws_secret_access_key = profile-secret/Ii9+Jj0
EOF
done
run profile AKIDPROFILECRED AWS_EC2_METADATA_DISABLED=true \
    AWS_SHARED_CREDENTIALS_FILE="$T/profile/credentials" \
    AWS_CONFIG_FILE="$T/profile/config" AWS_PROFILE=e2e-cred
run profile-config AKIDPROFILECONF AWS_EC2_METADATA_DISABLED=true \
    AWS_SHARED_CREDENTIALS_FILE="$T/profile-config/credentials" \
    AWS_CONFIG_FILE="$T/profile-config/config" AWS_PROFILE=e2e-conf

# 4. Web identity: token file and role from the environment, STS at the
# emulator (which accepts only this token).
key web e2e-web-role
config web "{\"sts_endpoint\": \"$EMU_HTTP_URL/\"}"
printf 'eyJ.e2e-web-identity-token.sig' >"$T/web/token"
ctl web_identity '{"tokens":["eyJ.e2e-web-identity-token.sig"]}'
run web issued:AssumeRoleWithWebIdentity AWS_EC2_METADATA_DISABLED=true \
    AWS_WEB_IDENTITY_TOKEN_FILE="$T/web/token" \
    AWS_ROLE_ARN="arn:aws:iam::$ROLE_ACCOUNT:role/e2e-web-role" \
    AWS_ROLE_SESSION_NAME=cmk-e2e

# 5. Container endpoint with an authorization token.
key container e2e-container-role
config container '{}'
ctl container '{"token":"e2e-container-auth-token","role":"e2e-container-role"}'
run container issued:ContainerCredentials AWS_EC2_METADATA_DISABLED=true \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$EMU_HTTP_URL/container/creds" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN=e2e-container-auth-token

# 6. IMDSv2 at the emulator, named by the tenant's aws.imds_endpoint.
key imds e2e-instance-role
config imds "{\"imds_endpoint\": \"$EMU_HTTP_URL\"}"
ctl imds '{"role":"e2e-instance-role","enabled":true}'
run imds issued:IMDS.Credentials

# No secret, session token or authorization token in anything printed:
# the static ones above and every one the emulator issued.
"$CMK_PYTHON" -c 'import json,sys
for c in json.load(open(sys.argv[1]))["creds"].values():
    for k in ("secret", "token"):
        if c.get(k):
            print(c[k])
print("e2e-container-auth-token")
print("eyJ.e2e-web-identity-token.sig")' "$T/emu/state.json" >"$T/secrets" ||
    cmk_error "cannot list the emulator's secrets"
[ "$(wc -l <"$T/secrets")" -ge 10 ] || cmk_error "too few secrets listed"
cmk_no_leak "$T/secrets" "$T"
[ -z "$FAILED" ] || cmk_fail "failed:$FAILED"
echo "ok: no secret in the output of any case"
echo "PASS"
exit 0
