#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: every Vault token source the vault provider has, through
# the module, against the emulator over TLS: vault.token_file,
# VAULT_TOKEN, the CLI's token helper file ~/.vault-token, AppRole,
# Kubernetes (the service account JWT through a symlink, as the kubelet
# mounts it) and a TLS client certificate (cert auth); then VAULT_ADDR,
# VAULT_CACERT and VAULT_NAMESPACE in place of the config, and a namespace
# named in the config with an AppRole of that namespace. Each source gets
# its own key (usable only by that source's token's policy), its own
# config and a fresh process (vault_creds.py) in a clean environment
# (env -i) holding that source and, where the order must pass them over,
# the sources after it; the emulator's call log must show every transit
# call made with the source's token (accessor, auth method, namespace)
# and the login where there is one, and no token, secret id, JWT or
# private key may appear in what the module printed (debug log on).
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/vault_lib.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

vault_start cmk-vault-creds
PIN=2468
VERIFIER=$(vault_verifier $PIN)
mkdir -p "$T/keys" || cmk_error "mkdir"

# config NAME VAULT_MEMBERS [HTTP_MEMBERS]: T/NAME/config.json, tenant
# "creds" on the transit key creds-NAME. No KEK: the direct path needs
# none. HTTP_MEMBERS default to the emulator's CA as http.ca_file.
config() {
    mkdir -p "$T/$1/home" || cmk_error "mkdir"
    cat >"$T/$1/config.json" <<EOC || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/$1/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000,
           "max_attempts": 2${3-, \"ca_file\": \"$EMU_CA\"}},
  "tenants": [{"label": "creds", "provider": "vault", "key": "creds-$1",
               "vault": {$2},
               "test_mode": true, "pin_verifier": "$VERIFIER"}]
}
EOC
}
ADDR="\"address\": \"$EMU_HTTPS_URL\""

# key NAME [NAMESPACE]: the derived key creds-NAME and a policy "NAME"
# on it alone (docs/vault.md's), in NAMESPACE.
key() {
    local ns=${2:+\"namespace\": \"$2\", }
    vault_ctl vault_create_key "{$ns\"name\": \"creds-$1\", \"derived\": true}"
    vault_ctl vault_policy \
        "{$ns\"name\": \"$1\", \"paths\": $(vault_policy_for "creds-$1")}"
}

# token NAME [NAMESPACE]: a token holding the policy NAME; T/keys/NAME
# the token, prints its accessor.
token() {
    local ns=${2:+\"namespace\": \"$2\", } out
    out=$(emu_ctl vault_token "{$ns\"policies\": [\"$1\"], \"ttl\": 3600}") ||
        cmk_error "vault_token $1"
    "$CMK_PYTHON" -c 'import json, sys
j = json.loads(sys.argv[1])
open(sys.argv[2], "w").write(j["token"] + "\n")
print(j["accessor"])' "$out" "$T/keys/$1" || cmk_error "token file $1"
}

FAILED=
# run NAME AUTH_METHOD LOGIN_OP|- ACCESSOR|- NAMESPACE|- [VAR=VALUE...]:
# vault_creds.py under exactly these variables (cmk_clean_run), HOME
# T/NAME/home.
run() {
    local name=$1 facts=("$2" "$3" "$4" "$5")
    shift 5
    emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
    cmk_clean_run "$name" "$T/$name" "$@" -- "$CMK_PYTHON" \
        "$top_srcdir/tests/integration/vault/vault_creds.py" "${facts[@]}"
}

# Decoys, later in the order and not to be used: a VAULT_TOKEN and a
# ~/.vault-token of a token with no policy.
token decoy >/dev/null
decoy_home() {
    cp "$T/keys/decoy" "$T/$1/home/.vault-token" || cmk_error "decoy"
}

# 1. vault.token_file; VAULT_TOKEN and ~/.vault-token there too.
key token-file
acc=$(token token-file)
config token-file "$ADDR, \"token_file\": \"$T/keys/token-file\""
decoy_home token-file
run token-file token - "$acc" - VAULT_TOKEN="$(cat "$T/keys/decoy")"

# 2. VAULT_TOKEN; ~/.vault-token there too.
key env-token
acc=$(token env-token)
config env-token "$ADDR"
decoy_home env-token
run env-token token - "$acc" - VAULT_TOKEN="$(cat "$T/keys/env-token")"

# 3. The token helper file ~/.vault-token.
key helper
acc=$(token helper)
config helper "$ADDR"
cp "$T/keys/helper" "$T/helper/home/.vault-token" || cmk_error "cp"
run helper token - "$acc" -

# 4. AppRole.
key approle
vault_approle approle creds-approle "$T/keys"
config approle "$ADDR, \"approle\": {\"role_id_file\": \"$T/keys/approle.role-id\", \"secret_id_file\": \"$T/keys/approle.secret-id\"}"
run approle approle VAULT.AppRoleLogin - -

# 5. Kubernetes: the service account JWT through a symlink.
key k8s
printf 'eyJhbGciOiJSUzI1NiJ9.%s.sig' "$(head -c 12 /dev/urandom |
    od -An -tx1 | tr -d ' \n')" >"$T/keys/sa.real" &&
    ln -s sa.real "$T/keys/sa-token" || cmk_error "service account token"
vault_ctl vault_k8s_role "{\"name\": \"cmk\", \"bound_service_account_names\": [\"cmk\"], \"bound_service_account_namespaces\": [\"kms\"], \"token_policies\": [\"k8s\"], \"token_ttl\": 3600, \"jwt\": {\"token\": \"$(cat "$T/keys/sa.real")\", \"service_account_name\": \"cmk\", \"service_account_namespace\": \"kms\"}}"
config k8s "$ADDR, \"kubernetes\": {\"role\": \"cmk\", \"jwt_file\": \"$T/keys/sa-token\"}"
run k8s kubernetes VAULT.K8sLogin - -

# 6. cert: a client certificate (clientAuth) of another CA, which the
# cert role trusts.
key cert
sh "$EMU_HOME/make_ca.sh" "$T/client-ca" >/dev/null 2>&1 ||
    cmk_error "client CA"
(cd "$T/keys" &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout client.key -out client.csr -subj /CN=cmk-client 2>/dev/null &&
    printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
    openssl x509 -req -in client.csr -CA "$T/client-ca/ca.pem" \
        -CAkey "$T/client-ca/ca.key" -set_serial 0x1234 -days 2 \
        -extfile client.ext -out client.pem 2>/dev/null) ||
    cmk_error "client certificate"
vault_ctl vault_cert_role "$("$CMK_PYTHON" -c 'import json, sys
print(json.dumps({"name": "svc", "certificate": open(sys.argv[1]).read(),
                  "token_policies": ["cert"], "token_ttl": 3600}))' \
    "$T/client-ca/ca.pem")"
config cert "$ADDR, \"cert\": {\"cert_file\": \"$T/keys/client.pem\", \"key_file\": \"$T/keys/client.key\", \"name\": \"svc\"}"
run cert cert VAULT.CertLogin - -

# 7. VAULT_ADDR, VAULT_CACERT and VAULT_NAMESPACE (no address, no CA and
# no namespace in the config), with a VAULT_TOKEN of that namespace.
vault_ctl vault_namespace '{"path": "team-env"}'
key env-ns team-env
acc=$(token env-ns team-env)
config env-ns "" ""
run env-ns token - "$acc" team-env VAULT_ADDR="$EMU_HTTPS_URL" \
    VAULT_CACERT="$EMU_CA" VAULT_NAMESPACE=team-env \
    VAULT_TOKEN="$(cat "$T/keys/env-ns")"

# 8. The namespace in the config, an AppRole of that namespace.
vault_ctl vault_namespace '{"path": "team-cfg"}'
key cfg-ns team-cfg
vault_approle cfg-ns creds-cfg-ns "$T/keys" team-cfg
config cfg-ns "$ADDR, \"namespace\": \"team-cfg\", \"approle\": {\"role_id_file\": \"$T/keys/cfg-ns.role-id\", \"secret_id_file\": \"$T/keys/cfg-ns.secret-id\"}"
run cfg-ns approle VAULT.AppRoleLogin - team-cfg

# No token, secret id, JWT or private key in anything printed: every
# token the emulator issued (the decoy's too), the secret ids, the
# service account JWT and the client certificate's private key.
{
    cat "$T/keys/sa.real"
    echo
    cat "$T"/keys/*.secret-id
    echo
    sed -n '/PRIVATE KEY/,/PRIVATE KEY/p' "$T/keys/client.key" |
        grep -v -- -----
    "$CMK_PYTHON" -c 'import json, sys
for t in json.load(open(sys.argv[1]))["tokens"]:
    print(t)' "$T/emu/vault_state.json"
} | grep -v '^$' >"$T/secrets" || cmk_error "cannot list the secrets"
n=$(wc -l <"$T/secrets")
[ "$n" -ge 12 ] || cmk_error "too few secrets listed: $n"
cmk_no_leak "$T/secrets" "$T"
[ -z "$FAILED" ] || cmk_fail "failed:$FAILED"
echo "ok: no token, secret id, JWT or private key in the output of any case"
echo "PASS"
exit 0
