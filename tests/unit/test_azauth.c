/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the Entra ID token sources (net/azauth*.c) against the KMS
 * emulator's Azure token routes (run by tests/unit/emu_azauth.sh),
 * resolved directly with an injected environment and through the pool:
 * client secret (file and environment), client certificate (PS256 and
 * RS256 assertions), workload identity, managed identity through IMDS and
 * App Service, the order of the environment's sources, every refusal's
 * code, the emulator's call log (grant, client_auth, jwt_header and
 * claims, identity, headers), retries, and no secret in st->detail.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "emu_client.h"
#include "mech/mech.h"
#include "net/azauth_int.h"
#include "net/http.h"

#define MUT(s) ((char *)(uintptr_t)(s))
#define TENANT "t-azauth-1"
#define CID "app-1"
#define SECRET "s3cr3t-Value~42"
#define KV "https://vault.azure.net"
#define BEARER_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* The environment the sources see (cmk_cred_env.getenv). */
enum {
    V_SECRET,
    V_CID,
    V_TENANT,
    V_AUTH,
    V_CERT,
    V_FED,
    V_IDEP,
    V_IDHDR,
    V_POD,
    V_N
};
static const char *vars[V_N][2] = {
    {"AZURE_CLIENT_SECRET", NULL},
    {"AZURE_CLIENT_ID", NULL},
    {"AZURE_TENANT_ID", NULL},
    {"AZURE_AUTHORITY_HOST", NULL},
    {"AZURE_CLIENT_CERTIFICATE_PATH", NULL},
    {"AZURE_FEDERATED_TOKEN_FILE", NULL},
    {"IDENTITY_ENDPOINT", NULL},
    {"IDENTITY_HEADER", NULL},
    {"AZURE_POD_IDENTITY_AUTHORITY_HOST", NULL},
};

static const char *fake_getenv(const char *name)
{
    size_t i;

    for (i = 0; i < V_N; i++) {
        if (strcmp(vars[i][0], name) == 0)
            return vars[i][1];
    }
    return NULL;
}

static int64_t fake_time;

static int64_t fake_now(void)
{
    return fake_time;
}

/* Made once: two registered-or-not certificate files and their PEMs. */
static char cert_a[512], cert_b[512], cert_small[512];
static char *pem_a;

struct fx {
    struct cmk_http *http;
    struct cmk_azauth_cfg cfg;
    struct cmk_azauth_ask ask;
    struct cmk_cred_env env;
    struct cmk_cred_status st;
    struct cmk_creds *tok;
    char dir[512];
};

static unsigned seq;

static char *url(const char *path)
{
    static char buf[4][512];
    static unsigned i;
    char *b = buf[i++ % 4];

    snprintf(b, sizeof(buf[0]), "%s%s", emu_http_url(), path);
    return b;
}

static void fx_open(struct fx *f, const struct cmk_http_cfg *hc)
{
    size_t i;

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/a%u", emu_tmp(), ++seq);
    assert_int_equal(mkdir(f->dir, 0700), 0);
    assert_int_equal(cmk_http_new(hc, &f->http), CMK_OK);
    f->env.http = f->http;
    f->env.getenv = fake_getenv;
    f->env.arg = &f->ask;
    f->ask.cfg = &f->cfg;
    snprintf(f->ask.resource, sizeof(f->ask.resource), "%s", KV);
    f->cfg.authority_host = MUT(emu_http_url());
    f->cfg.imds_endpoint = MUT(emu_http_url());
    for (i = 0; i < V_N; i++)
        vars[i][1] = NULL;
    emu_do("azure_identity_endpoints",
           "{\"imds_enabled\":true,\"app_service_header\":null}");
    emu_do("clear_faults", "{}");
    emu_do("reset_calls", "{}");
}

static void fx_close(struct fx *f)
{
    cmk_creds_unref(f->tok);
    cmk_http_free(f->http);
}

static void in_dir(const struct fx *f, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", f->dir, name);
}

static cmk_err resolve(struct fx *f)
{
    cmk_creds_unref(f->tok);
    f->tok = NULL;
    memset(&f->st, 0, sizeof(f->st));
    return cmk_azauth_resolve(&f->env, &f->st, &f->tok);
}

/* A refusal: err, code, no token. */
static void refused(struct fx *f, cmk_err err, const char *code)
{
    assert_int_equal(resolve(f), err);
    assert_string_equal(f->st.code, code);
    assert_null(f->tok);
}

/* The emulator's principal of the token (heap). */
static char *principal_of(const struct cmk_creds *tok)
{
    json_t *r = emu_ctl("azure_token_info", "{\"token\":\"%s\"}",
                        cmk_azauth_bearer(tok));
    const char *p = json_string_value(json_object_get(r, "principal"));
    char *out = strdup(p != NULL ? p : "(none)");

    json_decref(r);
    return out;
}

/* A token of principal from source. */
static void token_is(const struct fx *f, const char *principal,
                     const char *source)
{
    char *p;

    assert_non_null(f->tok);
    assert_string_equal(f->tok->source, source);
    assert_string_equal(f->tok->access_key_id, CMK_AZAUTH_ID);
    p = principal_of(f->tok);
    assert_string_equal(p, principal);
    free(p);
}

/* The only call of op in the log (decref *a). */
static json_t *only_call(const char *op, json_t **a)
{
    json_t *log;

    *a = emu_ctl("calls", "{\"op\":\"%s\"}", op);
    log = json_object_get(*a, "calls");
    assert_int_equal(json_array_size(log), 1);
    return json_array_get(log, 0);
}

static void str_is(json_t *call, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(call, key));

    assert_non_null(v);
    assert_string_equal(v, want);
}

/* A member of call dumped compactly with sorted keys equals want. */
static void json_is(json_t *call, const char *key, const char *want)
{
    char *text =
        json_dumps(json_object_get(call, key), JSON_COMPACT | JSON_SORT_KEYS);

    assert_non_null(text);
    assert_string_equal(text, want);
    free(text);
}

static void principal_add(const char *cid, const char *secret, const char *pem,
                          const char *fed)
{
    json_t *j = json_pack("{s:s,s:s}", "client_id", cid, "tenant", TENANT);
    char *text;

    if (secret != NULL)
        json_object_set_new(j, "secret", json_string(secret));
    if (pem != NULL)
        json_object_set_new(j, "certificates", json_pack("[s]", pem));
    if (fed != NULL)
        json_object_set_new(j, "federated_tokens", json_pack("[s]", fed));
    text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    emu_do("azure_principal", "%s", text);
    free(text);
    json_decref(j);
}

/* ---- client secret ---- */

static void test_secret_file(void **state)
{
    char path[600];
    json_t *a, *c;
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    principal_add(CID, SECRET, NULL, NULL);
    in_dir(&f, "secret", path, sizeof(path));
    emu_write_file(path, 0600, "%s\n", SECRET);
    f.cfg.client_secret_file = path;
    f.cfg.client_id = MUT(CID);
    snprintf(f.ask.tenant, sizeof(f.ask.tenant), "%s", TENANT);
    vars[V_FED][1] = "/nonexistent"; /* named config wins over env */
    assert_int_equal(resolve(&f), CMK_OK);
    token_is(&f, CID, "azure-client-secret");
    c = only_call("AZ.Token", &a);
    str_is(c, "grant_type", "client_credentials");
    str_is(c, "client_id", CID);
    str_is(c, "scope", KV "/.default");
    str_is(c, "client_auth", "secret");
    json_is(c, "body_members",
            "[\"client_id\",\"client_secret\",\"grant_type\",\"scope\"]");
    str_is(c, "path", "/" TENANT "/oauth2/v2.0/token");
    json_decref(a);
    fx_close(&f);
}

/* Environment only, over TLS, through the pool (tenant from the env). */
static void test_secret_env_tls_pool(void **state)
{
    struct cmk_http_cfg hc;
    struct cmk_azauth *pool = NULL;
    struct cmk_creds *tok = NULL;
    json_t *a, *c;
    struct fx f;

    (void)state;
    cmk_http_cfg_init(&hc);
    hc.ca_file = MUT(emu_ca());
    fx_open(&f, &hc);
    principal_add(CID, SECRET, NULL, NULL);
    vars[V_SECRET][1] = SECRET;
    vars[V_CID][1] = CID;
    vars[V_TENANT][1] = TENANT;
    vars[V_AUTH][1] = emu_https_url();
    vars[V_FED][1] = "/nonexistent"; /* the secret comes first */
    assert_int_equal(cmk_azauth_new(&f.env, NULL, &pool), CMK_OK);
    assert_int_equal(cmk_azauth_get(pool, "", KV, &f.st, &tok), CMK_OK);
    f.tok = tok;
    token_is(&f, CID, "azure-client-secret");
    c = only_call("AZ.Token", &a);
    str_is(c, "client_auth", "secret");
    json_decref(a);
    cmk_azauth_free(pool);
    fx_close(&f);
}

/* A wrong secret and an unknown client: Entra's error as the code, the
 * AADSTS number in the detail, never the secret. */
static void test_secret_refused(void **state)
{
    static const struct {
        const char *secret, *cid, *code;
        long status;
        const char *detail;
    } cases[] = {
        {"not-" SECRET, CID, "invalid_client", 401,
         "azure-client-secret: Entra ID refused client " CID
         " (HTTP 401, AADSTS7000215)"},
        {SECRET, "no-such-app", "unauthorized_client", 400,
         "azure-client-secret: Entra ID refused client no-such-app (HTTP "
         "400, AADSTS700016)"},
    };
    struct fx f;
    size_t i;

    (void)state;
    fx_open(&f, NULL);
    principal_add(CID, SECRET, NULL, NULL);
    snprintf(f.ask.tenant, sizeof(f.ask.tenant), "%s", TENANT);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        emu_do("reset_calls", "{}");
        vars[V_SECRET][1] = cases[i].secret;
        vars[V_CID][1] = cases[i].cid;
        refused(&f, CMK_E_ACCESS_DENIED, cases[i].code);
        assert_int_equal(f.st.http_status, cases[i].status);
        assert_string_equal(f.st.detail, cases[i].detail);
        assert_null(strstr(f.st.detail, SECRET));
        assert_int_equal(emu_count("AZ.Token"), 1); /* not retried */
    }
    fx_close(&f);
}

static void test_missing_client_id_tenant(void **state)
{
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    vars[V_SECRET][1] = SECRET;
    snprintf(f.ask.tenant, sizeof(f.ask.tenant), "%s", TENANT);
    refused(&f, CMK_E_CONFIG, "AzureClientId");
    assert_string_equal(f.st.detail, "azure-client-secret: no client id "
                                     "(azure.client_id or AZURE_CLIENT_ID)");
    vars[V_CID][1] = CID;
    f.ask.tenant[0] = '\0';
    refused(&f, CMK_E_CONFIG, "AzureTenant");
    assert_non_null(strstr(f.st.detail, "no tenant"));
    snprintf(f.ask.tenant, sizeof(f.ask.tenant), "%s", "t1/../x");
    refused(&f, CMK_E_CONFIG, "AzureTenant");
    f.ask.tenant[0] = '\0';
    f.cfg.tenant_id = MUT("t?x=1");
    refused(&f, CMK_E_CONFIG, "AzureTenant");
    f.cfg.tenant_id = NULL;
    snprintf(f.ask.tenant, sizeof(f.ask.tenant), "%s", TENANT);
    f.cfg.authority_host = MUT("http://login.example.com");
    refused(&f, CMK_E_CONFIG, "AzureAuthorityHost");
    assert_int_equal(emu_count(NULL), 0); /* nothing left */
    fx_close(&f);
}

static void test_secret_file_refused(void **state)
{
    char path[600], link[600], want[700];
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    f.cfg.client_id = MUT(CID);
    snprintf(f.ask.tenant, sizeof(f.ask.tenant), "%s", TENANT);
    in_dir(&f, "secret", path, sizeof(path));
    emu_write_file(path, 0640, "%s", SECRET);
    f.cfg.client_secret_file = path;
    refused(&f, CMK_E_CONFIG, "AzureClientSecretFile");
    assert_non_null(strstr(f.st.detail, path));
    assert_null(strstr(f.st.detail, SECRET));
    assert_int_equal(chmod(path, 0600), 0);
    in_dir(&f, "link", link, sizeof(link));
    assert_int_equal(symlink(path, link), 0);
    f.cfg.client_secret_file = link;
    refused(&f, CMK_E_CONFIG, "AzureClientSecretFile");
    snprintf(want, sizeof(want), "%s: is a symbolic link", link);
    assert_string_equal(f.st.detail, want);
    in_dir(&f, "empty", path, sizeof(path));
    emu_write_file(path, 0600, "\n");
    f.cfg.client_secret_file = path;
    refused(&f, CMK_E_CONFIG, "AzureClientSecretFile");
    in_dir(&f, "absent", path, sizeof(path));
    refused(&f, CMK_E_CONFIG, "AzureClientSecretFile");
    assert_int_equal(emu_count(NULL), 0);
    fx_close(&f);
}

/* ---- client certificate ---- */

/* Registers CID with certificate A; the emulator's answer (decref). */
static json_t *cert_principal(void)
{
    return emu_ctl("azure_principal",
                   "{\"client_id\":\"" CID "\",\"tenant\":\"" TENANT
                   "\",\"certificates\":[%s]}",
                   pem_a);
}

static void test_cert_ps256(void **state)
{
    json_t *p, *a, *c;
    char want[200];
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    p = cert_principal();
    f.cfg.client_certificate_file = cert_a;
    f.cfg.client_id = MUT(CID);
    snprintf(f.ask.tenant, sizeof(f.ask.tenant), "%s", TENANT);
    assert_int_equal(resolve(&f), CMK_OK);
    token_is(&f, CID, "azure-client-certificate");
    c = only_call("AZ.Token", &a);
    str_is(c, "client_auth", "certificate");
    str_is(c, "client_assertion_type", BEARER_TYPE);
    json_is(c, "body_members",
            "[\"client_assertion\",\"client_assertion_type\",\"client_id\","
            "\"grant_type\",\"scope\"]");
    snprintf(
        want, sizeof(want),
        "{\"alg\":\"PS256\",\"typ\":\"JWT\",\"x5t#S256\":\"%s\"}",
        json_string_value(json_object_get(
            json_array_get(json_object_get(p, "thumbprints"), 0), "x5t#S256")));
    json_is(c, "jwt_header", want);
    json_is(c, "jwt_claims",
            "[\"aud\",\"exp\",\"iat\",\"iss\",\"jti\",\"nbf\",\"sub\"]");
    json_decref(a);
    json_decref(p);
    /* A second assertion has another jti: accepted again. */
    assert_int_equal(resolve(&f), CMK_OK);
    fx_close(&f);
}

static void test_cert_rs256_env(void **state)
{
    json_t *p, *a, *c, *t;
    char want[300];
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    p = cert_principal();
    f.cfg.certificate_alg = CMK_AZAUTH_RS256;
    f.cfg.authority_host = NULL;
    vars[V_AUTH][1] = emu_http_url();
    vars[V_CERT][1] = cert_a;
    vars[V_CID][1] = CID;
    vars[V_TENANT][1] = TENANT;
    f.ask.tenant[0] = '\0';
    assert_int_equal(resolve(&f), CMK_OK);
    token_is(&f, CID, "azure-client-certificate");
    t = json_array_get(json_object_get(p, "thumbprints"), 0);
    snprintf(want, sizeof(want),
             "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5t\":\"%s\","
             "\"x5t#S256\":\"%s\"}",
             json_string_value(json_object_get(t, "x5t")),
             json_string_value(json_object_get(t, "x5t#S256")));
    c = only_call("AZ.Token", &a);
    json_is(c, "jwt_header", want);
    json_decref(a);
    json_decref(p);
    fx_close(&f);
}

static void test_cert_refused(void **state)
{
    char path[600];
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    json_decref(cert_principal());
    f.cfg.client_id = MUT(CID);
    snprintf(f.ask.tenant, sizeof(f.ask.tenant), "%s", TENANT);
    f.cfg.client_certificate_file = cert_b; /* not registered */
    refused(&f, CMK_E_ACCESS_DENIED, "invalid_client");
    assert_non_null(strstr(f.st.detail, "AADSTS700027"));
    f.cfg.client_certificate_file = cert_small; /* 1024 bits */
    refused(&f, CMK_E_CONFIG, "AzureClientCertificate");
    in_dir(&f, "nokey.pem", path, sizeof(path));
    emu_write_file(path, 0600, "%s", "-----BEGIN CERTIFICATE-----\n");
    f.cfg.client_certificate_file = path;
    refused(&f, CMK_E_CONFIG, "AzureClientCertificate");
    assert_int_equal(chmod(cert_a, 0644), 0);
    f.cfg.client_certificate_file = cert_a;
    refused(&f, CMK_E_CONFIG, "AzureClientCertificate");
    assert_int_equal(chmod(cert_a, 0600), 0);
    assert_int_equal(emu_count("AZ.Token"), 1);
    fx_close(&f);
}

/* ---- workload identity ---- */

static void test_workload_identity(void **state)
{
    char path[600], link[600], want[700];
    json_t *a, *c;
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    principal_add(CID, NULL, NULL, "fed-token-1");
    in_dir(&f, "token", path, sizeof(path));
    emu_write_file(path, 0644, " fed-token-1\n");
    /* As Kubernetes mounts it: through a symlink. */
    in_dir(&f, "token-link", link, sizeof(link));
    assert_int_equal(symlink(path, link), 0);
    vars[V_FED][1] = link;
    vars[V_CID][1] = CID;
    vars[V_TENANT][1] = TENANT;
    vars[V_AUTH][1] = emu_http_url();
    f.cfg.authority_host = NULL;
    vars[V_IDEP][1] = url("/msi/token"); /* workload identity first */
    vars[V_IDHDR][1] = "h";
    assert_int_equal(resolve(&f), CMK_OK);
    token_is(&f, CID, "azure-workload-identity");
    c = only_call("AZ.Token", &a);
    str_is(c, "client_auth", "federated");
    str_is(c, "client_assertion_type", BEARER_TYPE);
    json_decref(a);
    /* Read again at each refresh: a rotated token is sent. */
    emu_write_file(path, 0644, "fed-token-2");
    refused(&f, CMK_E_ACCESS_DENIED, "invalid_client");
    assert_null(strstr(f.st.detail, "fed-token"));
    /* A symlink to nowhere. */
    assert_int_equal(unlink(path), 0);
    refused(&f, CMK_E_CONFIG, "AzureFederatedToken");
    snprintf(want, sizeof(want), "AZURE_FEDERATED_TOKEN_FILE %s", link);
    assert_memory_equal(f.st.detail, want, strlen(want));
    emu_write_file(path, 0644, " \n");
    refused(&f, CMK_E_CONFIG, "AzureFederatedToken");
    fx_close(&f);
}

/* ---- managed identity ---- */

static void test_imds_system(void **state)
{
    json_t *a, *c;
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    emu_do("azure_managed_identity", "{\"kind\":\"system\",\"client_id\":"
                                     "\"mi-system\"}");
    fake_time = time(NULL);
    f.env.now = fake_now;
    assert_int_equal(resolve(&f), CMK_OK);
    token_is(&f, "mi-system", "azure-imds");
    assert_int_equal(f.tok->expires, fake_time + 3600); /* from a string */
    c = only_call("AZ.IMDS", &a);
    str_is(c, "identity", "system");
    str_is(c, "metadata_header", "true");
    str_is(c, "api_version", "2018-02-01");
    str_is(c, "resource", KV);
    json_decref(a);
    /* The address from AZURE_POD_IDENTITY_AUTHORITY_HOST. */
    emu_do("reset_calls", "{}");
    f.cfg.imds_endpoint = NULL;
    vars[V_POD][1] = emu_http_url();
    assert_int_equal(resolve(&f), CMK_OK);
    token_is(&f, "mi-system", "azure-imds");
    assert_int_equal(emu_count("AZ.IMDS"), 1);
    fx_close(&f);
}

/* Each kind of user-assigned identity through op: the query parameter
 * the emulator saw is how[kind - 2] (IMDS and App Service name two of
 * them differently). */
static void user_identities(struct fx *f, const char *op, const char *source,
                            const char *const how[3])
{
    static const struct {
        enum cmk_azauth_mi kind;
        const char *id;
    } cases[] = {
        {CMK_AZAUTH_MI_CLIENT_ID, "mi-user"},
        {CMK_AZAUTH_MI_OBJECT_ID, "obj-1"},
        {CMK_AZAUTH_MI_RESOURCE_ID, "/subscriptions/s/rg/mi"},
    };
    json_t *a, *c;
    size_t i;

    emu_do("azure_managed_identity",
           "{\"kind\":\"user\",\"client_id\":\"mi-user\",\"object_id\":"
           "\"obj-1\",\"msi_res_id\":\"/subscriptions/s/rg/mi\"}");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        emu_do("reset_calls", "{}");
        f->cfg.mi = cases[i].kind;
        f->cfg.mi_id = MUT(cases[i].id);
        assert_int_equal(resolve(f), CMK_OK);
        token_is(f, "mi-user", source);
        c = only_call(op, &a);
        str_is(c, "identity", how[i]);
        json_decref(a);
    }
}

static void test_imds_user(void **state)
{
    static const char *const how[3] = {"client_id", "object_id", "msi_res_id"};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    vars[V_SECRET][1] = SECRET; /* the named identity wins */
    user_identities(&f, "AZ.IMDS", "azure-imds", how);
    f.cfg.mi_id = MUT("nobody");
    refused(&f, CMK_E_ACCESS_DENIED, "invalid_request");
    assert_string_equal(f.st.detail,
                        "azure-imds: the identity endpoint refused (HTTP 400)");
    fx_close(&f);
}

static void test_imds_down(void **state)
{
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    emu_do("azure_identity_endpoints", "{\"imds_enabled\":false}");
    refused(&f, CMK_E_ACCESS_DENIED, "NoCredentials");
    assert_int_equal(f.st.http_status, 404);
    f.cfg.imds_endpoint = MUT("http://127.0.0.1:1");
    refused(&f, CMK_E_NETWORK, "CredentialEndpointUnreachable");
    f.cfg.imds_endpoint = MUT("http://imds.example.com");
    refused(&f, CMK_E_CONFIG, "AzureIdentityEndpoint");
    fx_close(&f);
}

static void test_imds_retried(void **state)
{
    static const int statuses[] = {500, 429};
    struct fx f;
    size_t i;

    (void)state;
    fx_open(&f, NULL);
    emu_do("azure_managed_identity", "{\"kind\":\"system\",\"client_id\":"
                                     "\"mi-system\"}");
    for (i = 0; i < 2; i++) {
        emu_do("reset_calls", "{}");
        if (statuses[i] == 500)
            emu_do("faults", "{\"error_5xx_rate\":1,\"error_5xx_status\":500,"
                             "\"for_ops\":[\"AZ.IMDS\"],\"count\":1}");
        else
            emu_do("faults", "{\"throttle_rate\":1,\"retry_after_ms\":10,"
                             "\"for_ops\":[\"AZ.IMDS\"],\"count\":2}");
        assert_int_equal(resolve(&f), CMK_OK);
        token_is(&f, "mi-system", "azure-imds");
        assert_int_equal(emu_count("AZ.IMDS"), statuses[i] == 500 ? 2 : 3);
    }
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"error_5xx_rate\":1,\"error_5xx_status\":503,"
                     "\"for_ops\":[\"AZ.IMDS\"]}");
    refused(&f, CMK_E_KMS_INTERNAL, "ManagedIdentityBusy");
    assert_int_equal(emu_count("AZ.IMDS"), 4);
    fx_close(&f);
}

static void test_app_service(void **state)
{
    static const char *const app_how[3] = {"client_id", "principal_id",
                                           "mi_res_id"};
    json_t *a, *c;
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    f.cfg.imds_endpoint = NULL; /* one the tenant names wins over App Service */
    emu_do("azure_identity_endpoints",
           "{\"app_service_header\":\"hdr-S3CRET\"}");
    emu_do("azure_managed_identity", "{\"kind\":\"system\",\"client_id\":"
                                     "\"mi-app\"}");
    vars[V_IDEP][1] = url("/msi/token");
    vars[V_IDHDR][1] = "hdr-S3CRET";
    fake_time = time(NULL);
    f.env.now = fake_now;
    assert_int_equal(resolve(&f), CMK_OK);
    token_is(&f, "mi-app", "azure-app-service");
    /* expires_on only; the emulator's clock may be a second on. */
    assert_true(f.tok->expires >= fake_time + 3600 &&
                f.tok->expires <= fake_time + 3602);
    c = only_call("AZ.AppService", &a);
    str_is(c, "api_version", "2019-08-01");
    str_is(c, "identity", "system");
    assert_true(json_is_true(json_object_get(c, "identity_header")));
    json_decref(a);
    assert_int_equal(emu_count("AZ.IMDS"), 0);
    user_identities(&f, "AZ.AppService", "azure-app-service", app_how);
    f.cfg.mi = CMK_AZAUTH_MI_SYSTEM;
    f.cfg.imds_endpoint = MUT(emu_http_url());
    emu_do("reset_calls", "{}");
    assert_int_equal(resolve(&f), CMK_OK);
    token_is(&f, "mi-app", "azure-imds");
    assert_int_equal(emu_count("AZ.AppService"), 0);
    f.cfg.imds_endpoint = NULL;
    f.cfg.mi = CMK_AZAUTH_MI_NONE;
    vars[V_IDHDR][1] = "wrong-S3CRET";
    refused(&f, CMK_E_ACCESS_DENIED, "ManagedIdentityRefused");
    assert_int_equal(f.st.http_status, 401);
    assert_null(strstr(f.st.detail, "S3CRET"));
    fx_close(&f);
}

/* ---- the pool ---- */

static void test_pool_tenant_mismatch(void **state)
{
    struct cmk_azauth *pool = NULL;
    struct cmk_creds *tok = NULL;
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    f.cfg.tenant_id = MUT(TENANT);
    assert_int_equal(cmk_azauth_new(&f.env, &f.cfg, &pool), CMK_OK);
    assert_int_equal(cmk_azauth_get(pool, "t-other", KV, &f.st, &tok),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.st.code, "TenantMismatch");
    assert_null(tok);
    assert_int_equal(emu_count(NULL), 0);
    cmk_azauth_free(pool);
    fx_close(&f);
}

static void test_pool_refresh(void **state)
{
    struct cmk_azauth *pool = NULL;
    struct cmk_creds *t1 = NULL, *t2 = NULL, *t3 = NULL;
    char *b1;
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    principal_add(CID, SECRET, NULL, NULL);
    f.cfg.tenant_id = MUT(TENANT);
    f.cfg.client_id = MUT(CID);
    vars[V_SECRET][1] = SECRET;
    fake_time = time(NULL);
    f.env.now = fake_now;
    assert_int_equal(cmk_azauth_new(&f.env, &f.cfg, &pool), CMK_OK);
    assert_int_equal(cmk_azauth_get(pool, TENANT, KV, &f.st, &t1), CMK_OK);
    assert_int_equal(cmk_azauth_get(pool, TENANT, KV, &f.st, &t2), CMK_OK);
    assert_ptr_equal(t1, t2); /* cached */
    assert_int_equal(emu_count("AZ.Token"), 1);
    b1 = strdup(cmk_azauth_bearer(t1));
    fake_time += 3600 - CMK_CREDS_REFRESH_AHEAD_S + 1;
    assert_int_equal(cmk_azauth_get(pool, TENANT, KV, &f.st, &t3), CMK_OK);
    assert_int_equal(emu_count("AZ.Token"), 2);
    assert_string_not_equal(cmk_azauth_bearer(t3), b1);
    free(b1);
    cmk_creds_unref(t1);
    cmk_creds_unref(t2);
    cmk_creds_unref(t3);
    cmk_azauth_free(pool);
    fx_close(&f);
}

/* ---- the answers, without the emulator ---- */

static cmk_err parse(const char *body, int64_t now, struct cmk_creds **out)
{
    struct cmk_http_resp r;
    cmk_err err;

    memset(&r, 0, sizeof(r));
    r.status = 200;
    assert_int_equal(
        cmk_buf_dup(&r.body, (const uint8_t *)body, strlen(body) + 1), CMK_OK);
    r.body.len--;
    err = cmk_azauth_parse_token(&r, "t", now, out);
    if (err == CMK_OK)
        assert_null(strstr((const char *)r.body.p, "tok-1")); /* blanked */
    cmk_http_resp_free(&r);
    return err;
}

static void test_parse_token(void **state)
{
    static const char *const bad[] = {
        "{\"access_token\":\"tok-1\",\"token_type\":\"Bearer\"}",
        "{\"access_token\":\"tok-1\",\"expires_in\":60}",
        "{\"access_token\":\"tok-1\",\"token_type\":\"mac\","
        "\"expires_in\":60}",
        "{\"access_token\":\"\",\"token_type\":\"Bearer\",\"expires_in\":60}",
        "{\"access_token\":\"tok-1\",\"token_type\":\"Bearer\","
        "\"expires_in\":\"6x\"}",
        "{\"access_token\":\"tok-1\",\"token_type\":\"Bearer\","
        "\"expires_in\":0}",
        "{\"access_token\":\"tok-1\",\"token_type\":\"Bearer\","
        "\"expires_on\":\"999\"}",
        "{\"access_token\":\"tok-1\",\"token_type\":\"Bearer\","
        "\"expires_in\":-5}",
        "{\"access_token\":5,\"token_type\":\"Bearer\",\"expires_in\":60}",
        "[1]",
        "{\"access_token\":\"tok-1\",\"access_token\":\"x\"}",
    };
    struct cmk_creds *c = NULL;
    size_t i;

    (void)state;
    assert_int_equal(parse("{\"access_token\":\"tok-1\",\"token_type\":"
                           "\"bearer\",\"expires_in\":\"3599\"}",
                           1000, &c),
                     CMK_OK);
    assert_int_equal(c->expires, 1000 + 3599);
    assert_string_equal(cmk_azauth_bearer(c), "tok-1");
    cmk_creds_unref(c);
    assert_int_equal(parse("{\"access_token\":\"tok-1\",\"token_type\":"
                           "\"Bearer\",\"expires_on\":\"4600\"}",
                           1000, &c),
                     CMK_OK);
    assert_int_equal(c->expires, 4600);
    cmk_creds_unref(c);
    assert_int_equal(parse("{\"access_token\":\"tok-1\",\"token_type\":"
                           "\"Bearer\",\"expires_in\":999999}",
                           1000, &c),
                     CMK_OK);
    assert_int_equal(c->expires, 1000 + CMK_AZAUTH_TOKEN_LIFE_MAX); /* cap */
    cmk_creds_unref(c);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = NULL;
        assert_int_equal(parse(bad[i], 1000, &c), CMK_E_BAD_RESPONSE);
        assert_null(c);
    }
    assert_int_equal(cmk_azauth_aadsts("{\"error_codes\":[7000215]}", 25),
                     7000215);
    assert_int_equal(cmk_azauth_aadsts("{\"error_codes\":[\"1\"]}", 21), 0);
    assert_int_equal(cmk_azauth_aadsts("nope", 4), 0);
}

static void test_wi_token_trim(void **state)
{
    struct cmk_secret t = {0};
    char a[] = "  abc.def \n", b[] = "ab\ncd", c[] = " \t\n";

    (void)state;
    assert_int_equal(cmk_azauth_wi_token(a, strlen(a), &t), CMK_OK);
    assert_int_equal(t.len, 7);
    assert_memory_equal(t.p, "abc.def", 7);
    cmk_secret_free(&t);
    assert_int_equal(cmk_azauth_wi_token(b, strlen(b), &t), CMK_E_CONFIG);
    assert_int_equal(cmk_azauth_wi_token(c, strlen(c), &t), CMK_E_CONFIG);
}

/* ---- setup ---- */

/* An RSA key of bits and its self-signed certificate in one 0600 file. */
static void make_cert(const char *name, int bits, char *out, size_t n)
{
    char cmd[2048];
    const char *t = emu_tmp();

    snprintf(out, n, "%s/%s.pem", t, name);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:%d -nodes -keyout %s/%s.key "
             "-out %s/%s.crt -days 2 -subj /CN=%s >/dev/null 2>&1 && "
             "cat %s/%s.crt %s/%s.key > %s && chmod 600 %s",
             bits, t, name, t, name, name, t, name, t, name, out, out);
    assert_int_equal(system(cmd), 0);
}

/* The certificate of path as a JSON string literal (heap). */
static char *cert_json(const char *name)
{
    char path[600], *text, *out;
    json_t *j;
    FILE *fp;
    long n;

    snprintf(path, sizeof(path), "%s/%s.crt", emu_tmp(), name);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    rewind(fp);
    text = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    j = json_string(text);
    out = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    free(text);
    return out;
}

static int group_setup(void **state)
{
    json_t *j;

    (void)state;
    make_cert("cert-a", 2048, cert_a, sizeof(cert_a));
    make_cert("cert-b", 2048, cert_b, sizeof(cert_b));
    make_cert("cert-small", 1024, cert_small, sizeof(cert_small));
    pem_a = cert_json("cert-a");
    j = json_loads(pem_a, JSON_DECODE_ANY, NULL); /* well-formed */
    json_decref(j);
    return j != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    free(pem_a);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_token),
        cmocka_unit_test(test_wi_token_trim),
        cmocka_unit_test(test_secret_file),
        cmocka_unit_test(test_secret_env_tls_pool),
        cmocka_unit_test(test_secret_refused),
        cmocka_unit_test(test_missing_client_id_tenant),
        cmocka_unit_test(test_secret_file_refused),
        cmocka_unit_test(test_cert_ps256),
        cmocka_unit_test(test_cert_rs256_env),
        cmocka_unit_test(test_cert_refused),
        cmocka_unit_test(test_workload_identity),
        cmocka_unit_test(test_imds_system),
        cmocka_unit_test(test_imds_user),
        cmocka_unit_test(test_imds_down),
        cmocka_unit_test(test_imds_retried),
        cmocka_unit_test(test_app_service),
        cmocka_unit_test(test_pool_tenant_mismatch),
        cmocka_unit_test(test_pool_refresh),
    };

    if (emu_http_url() == NULL || emu_tmp() == NULL) {
        fprintf(stderr, "test_azauth: not under the emulator (emu-run.sh)\n");
        return 77;
    }
    if (cmk_mech_init() != CKR_OK)
        return 99;
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
