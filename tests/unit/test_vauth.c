/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the Vault token sources (net/vauth*.c) against the KMS
 * emulator's Vault auth routes over TLS (run by tests/unit/emu_vauth.sh):
 * each source in the chain's order (token file, VAULT_TOKEN, the helper
 * file, AppRole, Kubernetes, TLS certificate) with its call-log check,
 * unsafe files and refused logins with their codes and no secret in any
 * code or detail, renew-self ahead of the TTL on a fake clock, a new
 * login when the renewal is refused or the token was dropped.
 */
#include <config.h>

#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "emu_client.h"
#include "net/http.h"
#include "net/vauth.h"

#define MUT(s) ((char *)(uintptr_t)(s))

static const char *env_token;
static const char *env_home;
static int64_t clock_ahead;

static const char *fake_env(const char *name)
{
    if (strcmp(name, "VAULT_TOKEN") == 0)
        return env_token;
    if (strcmp(name, "HOME") == 0)
        return env_home;
    return NULL;
}

static int64_t fake_now(void)
{
    return (int64_t)time(NULL) + clock_ahead;
}

struct fx {
    struct cmk_http_cfg hc;
    struct cmk_http *http;
    struct cmk_vauth_cfg cfg;
    struct cmk_vauth *va;
    struct cmk_cred_status st;
    char dir[512];
};

static unsigned seq;

static void fx_open(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    cmk_http_cfg_init(&f->hc);
    f->hc.ca_file = MUT(emu_ca());
    assert_int_equal(cmk_http_new(&f->hc, &f->http), CMK_OK);
    snprintf(f->dir, sizeof(f->dir), "%s/va%u", emu_tmp(), ++seq);
    assert_int_equal(mkdir(f->dir, 0700), 0);
    env_token = NULL;
    env_home = NULL;
    clock_ahead = 0;
}

static void fx_start(struct fx *f)
{
    struct cmk_vauth_env env;

    memset(&env, 0, sizeof(env));
    env.http = f->http;
    env.address = emu_https_url();
    env.cfg = &f->cfg;
    env.getenv = fake_env;
    env.now = fake_now;
    assert_int_equal(cmk_vauth_new(&env, &f->va), CMK_OK);
}

static void fx_close(struct fx *f)
{
    cmk_vauth_free(f->va);
    cmk_http_free(f->http);
}

/* A token from the pool: its text into tok (n bytes), its source back. */
static cmk_err get(struct fx *f, char *tok, size_t n, char *src, size_t sn)
{
    struct cmk_creds *c = NULL;
    cmk_err err;

    memset(&f->st, 0, sizeof(f->st));
    err = cmk_vauth_get(f->va, &f->st, &c);
    if (err == CMK_OK) {
        snprintf(tok, n, "%s", cmk_vauth_token(c));
        snprintf(src, sn, "%s", c->source);
    }
    cmk_creds_unref(c);
    return err;
}

static void path_in(const struct fx *f, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", f->dir, name);
}

static char *issue(const char *args)
{
    json_t *r = emu_ctl("vault_token", "%s", args);
    char *t = strdup(json_string_value(json_object_get(r, "token")));

    json_decref(r);
    return t;
}

/* No secret in the status. */
static void clean_status(const struct fx *f, const char *secret)
{
    assert_null(strstr(f->st.code, secret));
    assert_null(strstr(f->st.detail, secret));
}

/* ---- Static tokens ---- */

static void test_token_file(void **state)
{
    char p[600], tok[200], src[32];
    char *t = issue("{}");
    struct fx f;

    (void)state;
    fx_open(&f);
    path_in(&f, "token", p, sizeof(p));
    emu_write_file(p, 0600, "%s\n", t);
    f.cfg.token_file = p;
    env_token = "hvs.from-env"; /* the file comes first */
    fx_start(&f);
    emu_do("reset_calls", "{}");
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)), CMK_OK);
    assert_string_equal(tok, t);
    assert_string_equal(src, "token_file");
    assert_int_equal(emu_count(NULL), 0); /* no call for a static token */
    fx_close(&f);
    /* readable by the group: refused, not skipped */
    fx_open(&f);
    path_in(&f, "token", p, sizeof(p));
    emu_write_file(p, 0640, "%s\n", t);
    f.cfg.token_file = p;
    env_token = "hvs.from-env";
    fx_start(&f);
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)), CMK_E_CONFIG);
    assert_string_equal(f.st.code, "TokenFileUnusable");
    assert_non_null(strstr(f.st.detail, p));
    clean_status(&f, t);
    fx_close(&f);
    /* two lines: not one token */
    fx_open(&f);
    path_in(&f, "token", p, sizeof(p));
    emu_write_file(p, 0600, "%s\nsecond\n", t);
    f.cfg.token_file = p;
    fx_start(&f);
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)), CMK_E_CONFIG);
    assert_string_equal(f.st.code, "TokenFileMalformed");
    clean_status(&f, t);
    fx_close(&f);
    free(t);
}

static void test_env_and_helper(void **state)
{
    char p[600], tok[200], src[32];
    struct fx f;

    (void)state;
    fx_open(&f);
    path_in(&f, ".vault-token", p, sizeof(p));
    emu_write_file(p, 0600, "hvs.helper");
    env_home = f.dir;
    env_token = "hvs.env";
    fx_start(&f);
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)), CMK_OK);
    assert_string_equal(tok, "hvs.env");
    assert_string_equal(src, "env");
    fx_close(&f);
    fx_open(&f);
    path_in(&f, ".vault-token", p, sizeof(p));
    emu_write_file(p, 0600, "hvs.helper\n");
    env_home = f.dir;
    fx_start(&f);
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)), CMK_OK);
    assert_string_equal(tok, "hvs.helper");
    assert_string_equal(src, "helper");
    fx_close(&f);
    /* nothing at all */
    fx_open(&f);
    env_home = f.dir;
    fx_start(&f);
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.st.code, "NoCredentials");
    fx_close(&f);
}

/* ---- Logins ---- */

static void approle_files(struct fx *f, const char *name, unsigned ttl,
                          char *role, char *secret, size_t n)
{
    json_t *r = emu_ctl("vault_approle",
                        "{\"name\":\"%s\",\"token_ttl\":%u,"
                        "\"token_policies\":[\"default\"]}",
                        name, ttl);

    path_in(f, "role-id", role, n);
    path_in(f, "secret-id", secret, n);
    emu_write_file(role, 0600, "%s\n",
                   json_string_value(json_object_get(r, "role_id")));
    emu_write_file(secret, 0600, "%s\n",
                   json_string_value(json_object_get(r, "secret_id")));
    json_decref(r);
    f->cfg.approle_role_id_file = role;
    f->cfg.approle_secret_id_file = secret;
}

/* A pool on a new AppRole role (token_ttl ttl) and its first token, the
 * call log reset before it. */
static void approle_login(struct fx *f, const char *name, unsigned ttl,
                          char *role, char *secret, size_t n, char *tok,
                          size_t tn)
{
    char src[32];

    fx_open(f);
    approle_files(f, name, ttl, role, secret, n);
    fx_start(f);
    emu_do("reset_calls", "{}");
    assert_int_equal(get(f, tok, tn, src, sizeof(src)), CMK_OK);
    assert_string_equal(src, "approle");
}

static void test_approle(void **state)
{
    char role[600], secret[600], tok[200], src[32];
    json_t *c, *r;
    struct fx f;

    (void)state;
    approle_login(&f, "app1", 3600, role, secret, sizeof(role), tok,
                  sizeof(tok));
    assert_true(strncmp(tok, "hvs.", 4) == 0);
    assert_int_equal(emu_count("VAULT.AppRoleLogin"), 1);
    r = emu_ctl("calls", "{\"op\":\"VAULT.AppRoleLogin\"}");
    c = json_array_get(json_object_get(r, "calls"), 0);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(c, "body_members"), 0)),
                        "role_id");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(c, "body_members"), 1)),
                        "secret_id");
    assert_int_equal(json_integer_value(json_object_get(c, "status")), 200);
    json_decref(r);
    /* cached: no second login */
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)), CMK_OK);
    assert_int_equal(emu_count("VAULT.AppRoleLogin"), 1);
    fx_close(&f);
    /* a wrong secret id: refused, nothing secret said */
    fx_open(&f);
    approle_files(&f, "app2", 3600, role, secret, sizeof(role));
    emu_write_file(secret, 0600, "not-the-secret-id\n");
    fx_start(&f);
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.st.code, "LoginRefused");
    assert_int_equal(f.st.http_status, 400);
    assert_string_equal(f.st.detail,
                        "approle login at auth/approle/login refused (HTTP "
                        "400)");
    clean_status(&f, "not-the-secret-id");
    fx_close(&f);
}

static void test_kubernetes(void **state)
{
    static const char jwt[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYSJ9.sig";
    char p[600], tok[200], src[32];
    json_t *c, *r;
    struct fx f;

    (void)state;
    emu_do("vault_k8s_role",
           "{\"name\":\"web\",\"bound_service_account_names\":[\"sa\"],"
           "\"bound_service_account_namespaces\":[\"default\"],"
           "\"token_ttl\":3600,\"jwt\":{\"token\":\"%s\","
           "\"service_account_name\":\"sa\","
           "\"service_account_namespace\":\"default\"}}",
           jwt);
    fx_open(&f);
    path_in(&f, "jwt", p, sizeof(p));
    emu_write_file(p, 0600, "%s", jwt);
    f.cfg.k8s_role = MUT("web");
    f.cfg.k8s_jwt_file = p;
    fx_start(&f);
    emu_do("reset_calls", "{}");
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)), CMK_OK);
    assert_string_equal(src, "kubernetes");
    r = emu_ctl("calls", "{\"op\":\"VAULT.K8sLogin\"}");
    assert_int_equal(json_array_size(json_object_get(r, "calls")), 1);
    c = json_array_get(json_object_get(r, "calls"), 0);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(c, "body_members"), 0)),
                        "jwt");
    assert_int_equal(json_integer_value(json_object_get(c, "status")), 200);
    json_decref(r);
    fx_close(&f);
    /* another role: refused */
    fx_open(&f);
    path_in(&f, "jwt", p, sizeof(p));
    emu_write_file(p, 0600, "%s", jwt);
    f.cfg.k8s_role = MUT("nosuchrole");
    f.cfg.k8s_jwt_file = p;
    fx_start(&f);
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.st.code, "LoginRefused");
    clean_status(&f, jwt);
    fx_close(&f);
}

/* A client certificate (clientAuth) issued by the emulator's other CA,
 * which a cert role then trusts; cert and key into dir. */
static void client_cert(const char *dir, char *ca, size_t n)
{
    char cadir[600], cmd[4096];

    snprintf(cadir, sizeof(cadir), "%s", emu_wrong_ca());
    snprintf(ca, n, "%s", emu_wrong_ca());
    snprintf(cmd, sizeof(cmd),
             "umask 077 && cd '%s' && "
             "openssl req -new -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -keyout client.key -out "
             "client.csr -subj /CN=cmk-client 2>/dev/null && "
             "printf 'extendedKeyUsage=clientAuth\\n' >client.ext && "
             "openssl x509 -req -in client.csr -CA '%s/ca.pem' -CAkey "
             "'%s/ca.key' -set_serial 0x1234 -days 2 -extfile client.ext "
             "-out client.pem 2>/dev/null",
             dir, dirname(cadir), cadir);
    assert_int_equal(system(cmd), 0);
}

static void test_cert(void **state)
{
    char ca[640], pem[640], key[640], tok[200], src[32];
    char *text = NULL;
    FILE *fp;
    long n;
    struct fx f;
    json_t *r;

    (void)state;
    fx_open(&f);
    client_cert(f.dir, ca, sizeof(ca));
    path_in(&f, "client.pem", pem, sizeof(pem));
    path_in(&f, "client.key", key, sizeof(key));
    fp = fopen(ca, "r");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    text = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    r = json_pack("{s:s, s:s, s:i}", "name", "svc", "certificate", text,
                  "token_ttl", 3600);
    free(text);
    text = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    emu_do("vault_cert_role", "%s", text);
    free(text);
    f.cfg.cert_file = pem;
    f.cfg.cert_key_file = key;
    f.cfg.cert_name = MUT("svc");
    fx_start(&f);
    emu_do("reset_calls", "{}");
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)), CMK_OK);
    assert_string_equal(src, "cert");
    assert_int_equal(emu_count("VAULT.CertLogin"), 1);
    fx_close(&f);
    /* without a certificate role of that name: refused */
    fx_open(&f);
    client_cert(f.dir, ca, sizeof(ca));
    path_in(&f, "client.pem", pem, sizeof(pem));
    path_in(&f, "client.key", key, sizeof(key));
    f.cfg.cert_file = pem;
    f.cfg.cert_key_file = key;
    f.cfg.cert_name = MUT("other");
    fx_start(&f);
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.st.code, "LoginRefused");
    fx_close(&f);
}

/* ---- Renewal ---- */

static void test_renewal(void **state)
{
    char role[600], secret[600], tok[200], tok2[200], src[32];
    struct cmk_creds *c = NULL;
    struct fx f;

    (void)state;
    approle_login(&f, "app3", 3600, role, secret, sizeof(role), tok,
                  sizeof(tok));
    /* 200 s before the end: renewed, the same token */
    clock_ahead = 3400;
    assert_int_equal(get(&f, tok2, sizeof(tok2), src, sizeof(src)), CMK_OK);
    assert_string_equal(tok2, tok);
    assert_int_equal(emu_count("VAULT.RenewSelf"), 1);
    assert_int_equal(emu_count("VAULT.AppRoleLogin"), 1);
    /* renewal refused (the token expired on the server): a new login */
    emu_do("vault_expire_token", "{\"token\":\"%s\"}", tok);
    clock_ahead = 3400 + 3400;
    assert_int_equal(get(&f, tok2, sizeof(tok2), src, sizeof(src)), CMK_OK);
    assert_string_not_equal(tok2, tok);
    assert_int_equal(emu_count("VAULT.RenewSelf"), 2);
    assert_int_equal(emu_count("VAULT.AppRoleLogin"), 2);
    /* dropped (Vault refused it): a new login, no renewal */
    assert_int_equal(cmk_vauth_get(f.va, &f.st, &c), CMK_OK);
    cmk_vauth_drop(f.va, c);
    cmk_creds_unref(c);
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)), CMK_OK);
    assert_string_not_equal(tok, tok2);
    assert_int_equal(emu_count("VAULT.RenewSelf"), 2);
    assert_int_equal(emu_count("VAULT.AppRoleLogin"), 3);
    fx_close(&f);
}

/* A token without TTL (token_ttl 0) never expires: no renewal. */
static void test_no_ttl(void **state)
{
    char role[600], secret[600], tok[200], src[32];
    struct fx f;

    (void)state;
    approle_login(&f, "app4", 0, role, secret, sizeof(role), tok, sizeof(tok));
    clock_ahead = 86400 * 30;
    assert_int_equal(get(&f, tok, sizeof(tok), src, sizeof(src)), CMK_OK);
    assert_int_equal(emu_count("VAULT.RenewSelf"), 0);
    assert_int_equal(emu_count("VAULT.AppRoleLogin"), 1);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_file),
        cmocka_unit_test(test_env_and_helper),
        cmocka_unit_test(test_approle),
        cmocka_unit_test(test_kubernetes),
        cmocka_unit_test(test_cert),
        cmocka_unit_test(test_renewal),
        cmocka_unit_test(test_no_ttl),
    };

    if (emu_https_url() == NULL || emu_tmp() == NULL) {
        fprintf(stderr, "test_vauth: run by emu_vauth.sh\n");
        return 77;
    }
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
