# SPDX-License-Identifier: Apache-2.0
# tests/integration/vault: shell helpers shared by the vault tests, sourced
# after lib.sh and the emulator's emulator.sh: the emulator started with
# --tls in a fresh directory (vault_start), transit keys, the policy
# docs/vault.md asks for, AppRole logins and vault tenants. The module trusts the emulator's CA through the
# config's http.ca_file.

# The policy of docs/vault.md, "Policy", on key NAME of mount transit.
vault_policy_for() {
    printf '{"transit/encrypt/%s": ["update"], "transit/decrypt/%s": ["update"], "transit/rewrap/%s": ["update"], "transit/keys/%s": ["read"]}' \
        "$1" "$1" "$1" "$1"
}

vault_ctl() {
    emu_ctl "$@" >/dev/null || cmk_error "emulator control: $*"
}

# vault_key NAME [DERIVED]: a transit key (aes256-gcm96), derived unless
# DERIVED is false.
vault_key() {
    vault_ctl vault_create_key \
        "{\"name\": \"$1\", \"derived\": ${2:-true}}"
}

# vault_approle ROLE KEY DIR [NAMESPACE]: an AppRole (of NAMESPACE)
# whose tokens hold KEY's policy; DIR/ROLE.role-id and DIR/ROLE.secret-id
# (0600) its credentials.
vault_approle() {
    local role=$1 key=$2 dir=$3 ns=${4:+\"namespace\": \"$4\", } out
    vault_ctl vault_policy \
        "{$ns\"name\": \"$role\", \"paths\": $(vault_policy_for "$key")}"
    out=$(emu_ctl vault_approle "{$ns\"name\": \"$role\", \"token_policies\": [\"$role\"], \"token_ttl\": 3600}") ||
        cmk_error "vault_approle $role"
    (umask 077 && "$CMK_PYTHON" -c 'import json, sys
j = json.loads(sys.argv[1])
open(sys.argv[2] + ".role-id", "w").write(j["role_id"])
open(sys.argv[2] + ".secret-id", "w").write(j["secret_id"])' "$out" "$dir/$role") ||
        cmk_error "AppRole files"
}

# vault_verifier PIN: a PIN verifier of the minimum cost (test_mode).
vault_verifier() {
    printf '%s\n' "$1" | "$CMK_TOOL" pin-hash --cost min ||
        cmk_error "cmk-tool pin-hash"
}

# vault_tenant LABEL PIN KEY ROLE DIR [TENANT_MEMBERS]: a tenant object on
# the vault provider at the emulator's TLS listener, logging in with the
# AppRole ROLE whose files are in DIR.
vault_tenant() {
    printf '{"label": "%s", "provider": "vault", "key": "%s", "test_mode": true, "pin_verifier": "%s", "vault": {"address": "%s", "approle": {"role_id_file": "%s", "secret_id_file": "%s"}}%s}' \
        "$1" "$3" "$(vault_verifier "$2")" "$EMU_HTTPS_URL" \
        "$5/$4.role-id" "$5/$4.secret-id" "${6:-}"
}

# vault_clean_env DIR: nothing of the Vault environment of whoever runs
# the tests, HOME DIR (no ~/.vault-token).
vault_clean_env() {
    unset VAULT_ADDR VAULT_TOKEN VAULT_CACERT VAULT_NAMESPACE
    HOME=$1
    export HOME
}

# vault_start NAME: T (and CMK_TMP) a fresh directory NAME.XXXXXX, removed
# on exit unless CMK_KEEP_TMP=1; the emulator up in T/emu with --tls;
# vault_clean_env T; umask 077.
vault_start() {
    CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || cmk_error "mktemp"
    T=$CMK_TMP
    trap vault_stop EXIT
    emulator_start "$T/emu" --tls || cmk_error "emulator did not start"
    vault_clean_env "$T"
    umask 077
}

vault_stop() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
