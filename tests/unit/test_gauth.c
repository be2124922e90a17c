/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the Google credential chain (net/gauth.h) against the KMS
 * emulator's token routes (run by tests/unit/emu_gauth.sh), resolved
 * directly with an injected environment: authorized_user files named by
 * GOOGLE_APPLICATION_CREDENTIALS or found as gcloud's well-known file
 * (HOME, CLOUDSDK_CONFIG), the chain's order, the metadata server when
 * no file applies, external_account files (subject token from a file as
 * text or JSON, from a URL with headers; STS; impersonation), every
 * refusal's code and the emulator's exact call counts, and no secret in
 * the debug log.
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
#include <fcntl.h>
#include <sodium.h>

#include "emu_client.h"
#include "net/gauth.h"
#include "net/http.h"

#define MUT(s) ((char *)(uintptr_t)(s))
#define MD_SA "md@p1.iam.gserviceaccount.com"
#define IMP_SA "imp@p1.iam.gserviceaccount.com"
#define AUDIENCE                                                               \
    "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/"  \
    "pool/providers/prov"
#define JWT_TYPE "urn:ietf:params:oauth:token-type:jwt"
#define ACCESS_TYPE "urn:ietf:params:oauth:token-type:access_token"
#define PLATFORM "https://www.googleapis.com/auth/cloud-platform"
#define FED(n) "principal://iam.googleapis.com/pool/subject/" n
#define ADC "application_default_credentials.json"

/* The environment the chain sees (cmk_cred_env.getenv). */
enum { V_HOME, V_SDK, V_GAC, V_MD, V_N };
static const char *vars[V_N][2] = {
    {"HOME", NULL},
    {"CLOUDSDK_CONFIG", NULL},
    {"GOOGLE_APPLICATION_CREDENTIALS", NULL},
    {"GCE_METADATA_HOST", NULL},
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

struct fx {
    struct cmk_http *http;
    struct cmk_gauth_cfg cfg;
    struct cmk_cred_env env;
    struct cmk_cred_status st;
    struct cmk_creds *tok;
    char dir[512];  /* this test's directory */
    char home[600]; /* dir/home, with .config/gcloud */
    char sdk[600];  /* dir/sdk, a CLOUDSDK_CONFIG */
};

static unsigned seq;
static char md_host[128];

static void fx_open(struct fx *f)
{
    char p[700];

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/g%u", emu_tmp(), ++seq);
    assert_int_equal(mkdir(f->dir, 0700), 0);
    snprintf(f->home, sizeof(f->home), "%s/home", f->dir);
    snprintf(f->sdk, sizeof(f->sdk), "%s/sdk", f->dir);
    assert_int_equal(mkdir(f->home, 0700), 0);
    assert_int_equal(mkdir(f->sdk, 0700), 0);
    snprintf(p, sizeof(p), "%s/.config", f->home);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/.config/gcloud", f->home);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(cmk_http_new(NULL, &f->http), CMK_OK);
    f->env.http = f->http;
    f->env.getenv = fake_getenv;
    f->env.arg = &f->cfg;
    vars[V_HOME][1] = f->home;
    vars[V_SDK][1] = NULL;
    vars[V_GAC][1] = NULL;
    vars[V_MD][1] = md_host;
    emu_do("reset_calls", "{}");
}

static void fx_close(struct fx *f)
{
    cmk_creds_unref(f->tok);
    cmk_http_free(f->http);
}

/* dir/name into out. */
static void in_dir(const struct fx *f, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", f->dir, name);
}

static void gcloud_file(const struct fx *f, char *out, size_t n)
{
    snprintf(out, n, "%s/.config/gcloud/" ADC, f->home);
}

static cmk_err resolve(struct fx *f)
{
    cmk_creds_unref(f->tok);
    f->tok = NULL;
    memset(&f->st, 0, sizeof(f->st));
    return cmk_gauth_resolve(&f->env, &f->st, &f->tok);
}

/* A refusal: err, code, no token. */
static void refused(struct fx *f, cmk_err err, const char *code)
{
    assert_int_equal(resolve(f), err);
    assert_string_equal(f->st.code, code);
    assert_null(f->tok);
}

static void json_file(const char *path, int mode, json_t *j)
{
    char *text = json_dumps(j, JSON_SORT_KEYS);

    assert_non_null(text);
    emu_write_file(path, mode, "%s", text);
    free(text);
    json_decref(j);
}

static char *url(const char *path)
{
    static char buf[4][512];
    static unsigned i;
    char *b = buf[i++ % 4];

    snprintf(b, sizeof(buf[0]), "%s%s", emu_http_url(), path);
    return b;
}

/* An authorized_user n: client "cid-n", secret "csecret-n", refresh
 * token "1//refresh-n", principal "user-n@example.com". */
static void user_file(const char *path, const char *n)
{
    char cid[64], sec[64], rt[64];

    snprintf(cid, sizeof(cid), "cid-%s", n);
    snprintf(sec, sizeof(sec), "csecret-%s", n);
    snprintf(rt, sizeof(rt), "1//refresh-%s", n);
    json_file(path, 0600,
              json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "authorized_user",
                        "client_id", cid, "client_secret", sec, "refresh_token",
                        rt, "token_uri", url("/token")));
}

static void user_register(const char *n)
{
    emu_do("gcp_authorized_user",
           "{\"client_id\":\"cid-%s\",\"client_secret\":\"csecret-%s\","
           "\"refresh_token\":\"1//refresh-%s\","
           "\"principal\":\"user-%s@example.com\"}",
           n, n, n, n);
}

/* The emulator's principal of a token (heap). */
static char *principal_of(const struct cmk_creds *tok)
{
    json_t *r =
        emu_ctl("gcp_token_info", "{\"token\":\"%s\"}", cmk_gauth_bearer(tok));
    const char *p = json_string_value(json_object_get(r, "principal"));
    char *out = strdup(p != NULL ? p : "(none)");

    json_decref(r);
    return out;
}

static void principal_is(const struct fx *f, const char *want)
{
    char *p;

    assert_non_null(f->tok);
    p = principal_of(f->tok);
    assert_string_equal(p, want);
    free(p);
}

/* The call log entries of op (decref the answer). */
static json_t *calls(const char *op, json_t **answer)
{
    *answer = emu_ctl("calls", "{\"op\":\"%s\"}", op);
    return json_object_get(*answer, "calls");
}

static const char *call_str(json_t *arr, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(arr, i), key));
}

static void members_are(json_t *arr, size_t i, const char *want)
{
    json_t *m = json_object_get(json_array_get(arr, i), "body_members");
    char *text = json_dumps(m, JSON_COMPACT);

    assert_non_null(text);
    assert_string_equal(text, want);
    free(text);
}

static void expires_in(const struct fx *f, int64_t lo, int64_t hi)
{
    int64_t left = f->tok->expires - (int64_t)time(NULL);

    assert_true(left >= lo && left <= hi);
}

/* ---- authorized_user ---- */

static void test_user_from_env(void **state)
{
    json_t *a, *log;
    char p[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    in_dir(&f, "user-a.json", p, sizeof(p));
    user_file(p, "a");
    user_register("a");
    vars[V_GAC][1] = p;
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, "user-a@example.com");
    assert_string_equal(f.tok->source, "gcp-authorized-user");
    expires_in(&f, 3590, 3600);
    assert_int_equal(emu_count("GCP.Token"), 1);
    assert_int_equal(emu_count(NULL), 1);
    log = calls("GCP.Token", &a);
    members_are(log, 0,
                "[\"client_id\",\"client_secret\",\"grant_type\","
                "\"refresh_token\"]");
    assert_string_equal(call_str(log, 0, "client_id"), "cid-a");
    json_decref(a);
    fx_close(&f);
}

static void test_user_gcloud_home(void **state)
{
    char p[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    gcloud_file(&f, p, sizeof(p));
    user_file(p, "b");
    user_register("b");
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, "user-b@example.com");
    assert_int_equal(emu_count("GCP.Token"), 1);
    assert_int_equal(emu_count("GCP.Metadata"), 0);
    assert_int_equal(emu_count(NULL), 1);
    fx_close(&f);
}

/* CLOUDSDK_CONFIG replaces ~/.config/gcloud, also when it has no file. */
static void test_user_cloudsdk_config(void **state)
{
    char p[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    gcloud_file(&f, p, sizeof(p));
    user_file(p, "b");
    snprintf(p, sizeof(p), "%s/" ADC, f.sdk);
    user_file(p, "c");
    user_register("c");
    vars[V_SDK][1] = f.sdk;
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, "user-c@example.com");
    assert_int_equal(emu_count("GCP.Token"), 1);
    assert_int_equal(emu_count(NULL), 1);

    assert_int_equal(unlink(p), 0);
    emu_do("reset_calls", "{}");
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, MD_SA);
    assert_int_equal(emu_count("GCP.Metadata"), 1);
    assert_int_equal(emu_count(NULL), 1);
    fx_close(&f);
}

/* No file anywhere: the metadata server, silently. */
static void test_adc_absent(void **state)
{
    struct fx f;

    (void)state;
    fx_open(&f);
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, MD_SA);
    assert_string_equal(f.tok->source, "gcp-metadata");
    assert_string_equal(f.st.detail, "");
    assert_int_equal(emu_count("GCP.Metadata"), 1);
    assert_int_equal(emu_count(NULL), 1);

    vars[V_HOME][1] = NULL; /* no HOME, no CLOUDSDK_CONFIG */
    emu_do("reset_calls", "{}");
    assert_int_equal(resolve(&f), CMK_OK);
    assert_int_equal(emu_count("GCP.Metadata"), 1);
    fx_close(&f);
}

static void detail_is(const struct fx *f, const char *path, const char *rest)
{
    char want[1400];

    snprintf(want, sizeof(want), "%s%s", path, rest);
    assert_string_equal(f->st.detail, want);
}

/* A well-known file that is there but not usable is refused: no
 * metadata call, no token call. */
static void test_adc_refused(void **state)
{
    char p[700], real[700], why[1400];
    struct fx f;

    (void)state;
    fx_open(&f);
    gcloud_file(&f, p, sizeof(p));
    emu_write_file(p, 0600, "{\"type\": \"authorized_user\", ");
    refused(&f, CMK_E_CONFIG, "GcpCredentialFile");
    detail_is(&f, p, ": not a JSON credential file");

    user_file(p, "b");
    assert_int_equal(chmod(p, 0640), 0);
    refused(&f, CMK_E_CONFIG, "GcpCredentialFile");
    snprintf(why, sizeof(why),
             "%s: accessible by group or others (mode 0640); it must be "
             "0600 or stricter",
             p);
    assert_string_equal(f.st.detail, why);

    in_dir(&f, "real.json", real, sizeof(real));
    user_file(real, "b");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink(real, p), 0);
    refused(&f, CMK_E_CONFIG, "GcpCredentialFile");
    assert_non_null(strstr(f.st.detail, "symbolic link"));

    assert_int_equal(unlink(p), 0);
    json_file(p, 0600,
              json_pack("{s:s,s:s,s:s}", "type", "authorized_user", "client_id",
                        "cid-b", "client_secret", "csecret-b"));
    refused(&f, CMK_E_CONFIG, "GcpCredentialFile");
    detail_is(&f, p, ": refresh_token missing");

    json_file(p, 0600,
              json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "authorized_user",
                        "client_id", "cid-b", "client_secret", "csecret-b",
                        "refresh_token", "1//refresh-b", "token_uri",
                        "http://oauth2.example.com/token"));
    refused(&f, CMK_E_CONFIG, "GcpCredentialFile");
    detail_is(&f, p, ": token_uri must be an https URL");

    json_file(p, 0600,
              json_pack("{s:s,s:s}", "type", "impersonated_service_account",
                        "service_account_impersonation_url", url("/x")));
    refused(&f, CMK_E_CONFIG, "UnsupportedCredentialType");
    detail_is(&f, p,
              ": credentials of type \"impersonated_service_account\" are "
              "not supported (service_account, authorized_user, "
              "external_account)");
    assert_int_equal(emu_count(NULL), 0);
    fx_close(&f);
}

/* The tenant's file, then GOOGLE_APPLICATION_CREDENTIALS, then gcloud's. */
static void test_order(void **state)
{
    char a[700], b[700], c[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    in_dir(&f, "a.json", a, sizeof(a));
    gcloud_file(&f, b, sizeof(b));
    in_dir(&f, "c.json", c, sizeof(c));
    user_file(a, "a");
    user_file(b, "b");
    user_file(c, "c");
    user_register("a");
    user_register("b");
    user_register("c");
    vars[V_GAC][1] = a;
    f.cfg.credentials_file = c;
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, "user-c@example.com");
    f.cfg.credentials_file = NULL;
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, "user-a@example.com");
    vars[V_GAC][1] = NULL;
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, "user-b@example.com");
    assert_int_equal(emu_count("GCP.Token"), 3);
    assert_int_equal(emu_count(NULL), 3);
    fx_close(&f);
}

static void test_user_revoked(void **state)
{
    char p[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    gcloud_file(&f, p, sizeof(p));
    user_file(p, "r");
    user_register("r");
    emu_do("gcp_authorized_user",
           "{\"refresh_token\":\"1//refresh-r\",\"revoked\":true}");
    refused(&f, CMK_E_ACCESS_DENIED, "invalid_grant");
    assert_int_equal(f.st.http_status, 400);
    detail_is(&f, p, ": the token endpoint refused its credentials (HTTP 400)");
    assert_int_equal(emu_count_error("GCP.Token", "invalid_grant"), 1);
    assert_int_equal(emu_count(NULL), 1); /* no retry, no metadata */
    fx_close(&f);
}

/* The token endpoint's 429 and 5xx are retried (3 attempts), then
 * refused as the endpoint's trouble, with no detail said. */
static void test_user_endpoint_retried(void **state)
{
    char p[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    in_dir(&f, "user.json", p, sizeof(p));
    user_file(p, "t");
    user_register("t");
    vars[V_GAC][1] = p;
    emu_do("faults", "{\"throttle_rate\":1,\"for_ops\":[\"GCP.Token\"],"
                     "\"count\":1}");
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, "user-t@example.com");
    assert_int_equal(emu_count_error("GCP.Token", "fault:throttle"), 1);
    assert_int_equal(emu_count(NULL), 2);

    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"error_5xx_rate\":1,\"error_5xx_status\":503,"
                     "\"for_ops\":[\"GCP.Token\"]}");
    refused(&f, CMK_E_KMS_INTERNAL, "GcpTokenRefused");
    assert_int_equal(f.st.http_status, 503);
    assert_string_equal(f.st.detail, "");
    assert_int_equal(emu_count("GCP.Token"), 3);
    assert_int_equal(emu_count(NULL), 3);
    fx_close(&f);
}

/* Through the cache the provider uses: one token for many calls. */
static void test_user_cached(void **state)
{
    struct cmk_cred_status cs;
    struct cmk_cred_cache c;
    struct cmk_creds *a = NULL, *b = NULL;
    char p[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    gcloud_file(&f, p, sizeof(p));
    user_file(p, "k");
    user_register("k");
    assert_int_equal(cmk_cred_cache_init(&c, &f.env), CMK_OK);
    c.resolve = cmk_gauth_resolve;
    memset(&cs, 0, sizeof(cs));
    assert_int_equal(cmk_cred_cache_get(&c, &cs, &a), CMK_OK);
    assert_int_equal(cmk_cred_cache_get(&c, &cs, &b), CMK_OK);
    assert_ptr_equal(a, b);
    assert_int_equal(emu_count("GCP.Token"), 1);
    cmk_creds_unref(a);
    cmk_creds_unref(b);
    cmk_cred_cache_fini(&c);
    fx_close(&f);
}

/* ---- external_account ---- */

/* An external_account file at path with src as credential_source (a JSON
 * object text) and, when imp_life is not 0, impersonation of IMP_SA. */
static void ext_file(const char *path, const char *src, int imp_life)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:o}", "type", "external_account",
                          "audience", AUDIENCE, "subject_token_type", JWT_TYPE,
                          "token_url", url("/v1/token"), "credential_source",
                          json_loads(src, 0, NULL));

    assert_non_null(j);
    assert_non_null(json_object_get(j, "credential_source"));
    if (imp_life != 0) {
        json_object_set_new(
            j, "service_account_impersonation_url",
            json_string(url("/v1/projects/-/serviceAccounts/" IMP_SA
                            ":generateAccessToken")));
        if (imp_life > 0)
            json_object_set_new(
                j, "service_account_impersonation",
                json_pack("{s:i}", "token_lifetime_seconds", imp_life));
    }
    json_file(path, 0600, j);
}

static void sts_register(const char *subject, const char *principal)
{
    emu_do("gcp_sts", "{\"subject_token\":\"%s\",\"principal\":\"%s\"}",
           subject, principal);
}

/* The one STS call: its form as RFC 8693 2.1 and Google's STS ask. */
static void sts_call_ok(void)
{
    json_t *a, *log = calls("GCP.STS", &a);

    assert_int_equal(json_array_size(log), 1);
    members_are(log, 0,
                "[\"audience\",\"grant_type\",\"requested_token_type\","
                "\"scope\",\"subject_token\",\"subject_token_type\"]");
    assert_string_equal(call_str(log, 0, "audience"), AUDIENCE);
    assert_string_equal(call_str(log, 0, "scope"), PLATFORM);
    assert_string_equal(call_str(log, 0, "subject_token_type"), JWT_TYPE);
    assert_string_equal(call_str(log, 0, "requested_token_type"), ACCESS_TYPE);
    json_decref(a);
}

static void test_ext_file_text(void **state)
{
    char p[700], s[700], src[900];
    struct fx f;

    (void)state;
    fx_open(&f);
    in_dir(&f, "subject.txt", s, sizeof(s));
    emu_write_file(s, 0644, "subject-text-1\n");
    sts_register("subject-text-1", FED("text"));
    in_dir(&f, "ext.json", p, sizeof(p));
    snprintf(src, sizeof(src), "{\"file\":\"%s\"}", s);
    ext_file(p, src, 0);
    vars[V_GAC][1] = p;
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, FED("text"));
    assert_string_equal(f.tok->source, "gcp-external-account");
    expires_in(&f, 3590, 3600);
    sts_call_ok();
    assert_int_equal(emu_count(NULL), 1);
    fx_close(&f);
}

static void test_ext_file_json(void **state)
{
    char p[700], s[700], src[900];
    struct fx f;

    (void)state;
    fx_open(&f);
    in_dir(&f, "subject.json", s, sizeof(s));
    emu_write_file(s, 0600,
                   "{\"token_type\":\"x\",\"id_token\":\"subject-json-1\"}");
    sts_register("subject-json-1", FED("json"));
    gcloud_file(&f, p, sizeof(p));
    snprintf(src, sizeof(src),
             "{\"file\":\"%s\",\"format\":{\"type\":\"json\","
             "\"subject_token_field_name\":\"id_token\"}}",
             s);
    ext_file(p, src, 0);
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, FED("json"));
    sts_call_ok();
    assert_int_equal(emu_count(NULL), 1);

    /* The member named is not there: refused before STS. */
    snprintf(src, sizeof(src),
             "{\"file\":\"%s\",\"format\":{\"type\":\"json\","
             "\"subject_token_field_name\":\"access_token\"}}",
             s);
    ext_file(p, src, 0);
    emu_do("reset_calls", "{}");
    refused(&f, CMK_E_CONFIG, "SubjectTokenMalformed");
    assert_int_equal(emu_count(NULL), 0);
    fx_close(&f);
}

static void test_ext_url_headers(void **state)
{
    char p[700], src[900];
    struct fx f;

    (void)state;
    fx_open(&f);
    emu_do("gcp_subject_url",
           "{\"name\":\"u1\",\"token\":\"subject-url-1\","
           "\"headers\":{\"X-Subject-Auth\":\"let-me-in\"}}");
    sts_register("subject-url-1", FED("url"));
    in_dir(&f, "ext.json", p, sizeof(p));
    snprintf(src, sizeof(src),
             "{\"url\":\"%s\",\"headers\":{\"X-Subject-Auth\":\"let-me-in\"}}",
             url("/gcp-subject/u1"));
    ext_file(p, src, 0);
    vars[V_GAC][1] = p;
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, FED("url"));
    assert_int_equal(emu_count("GCP.SubjectToken"), 1);
    sts_call_ok();
    assert_int_equal(emu_count(NULL), 2);

    /* The header is what the URL checks. */
    snprintf(src, sizeof(src),
             "{\"url\":\"%s\",\"headers\":{\"X-Subject-Auth\":\"wrong\"}}",
             url("/gcp-subject/u1"));
    ext_file(p, src, 0);
    emu_do("reset_calls", "{}");
    refused(&f, CMK_E_ACCESS_DENIED, "SubjectTokenRefused");
    assert_int_equal(f.st.http_status, 401);
    assert_int_equal(emu_count_error("GCP.SubjectToken", "HeaderMismatch"), 1);
    assert_int_equal(emu_count(NULL), 1);

    /* A JSON answer. */
    emu_do("gcp_subject_url", "{\"name\":\"u2\",\"token\":\"subject-url-2\","
                              "\"json_field\":\"access_token\"}");
    sts_register("subject-url-2", FED("url2"));
    snprintf(src, sizeof(src),
             "{\"url\":\"%s\",\"format\":{\"type\":\"json\","
             "\"subject_token_field_name\":\"access_token\"}}",
             url("/gcp-subject/u2"));
    ext_file(p, src, 0);
    emu_do("reset_calls", "{}");
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, FED("url2"));
    assert_int_equal(emu_count(NULL), 2);
    fx_close(&f);
}

static void imp_setup(struct fx *f, char *p, size_t n, const char *subject,
                      const char *fed, int life)
{
    char s[700], src[900];

    in_dir(f, "subject.txt", s, sizeof(s));
    emu_write_file(s, 0600, "%s", subject);
    sts_register(subject, fed);
    in_dir(f, "ext.json", p, n);
    snprintf(src, sizeof(src), "{\"file\":\"%s\"}", s);
    ext_file(p, src, life);
    vars[V_GAC][1] = p;
}

static void test_ext_impersonation(void **state)
{
    char p[700];
    json_t *a, *log;
    struct fx f;

    (void)state;
    fx_open(&f);
    imp_setup(&f, p, sizeof(p), "subject-imp-1", FED("imp"), 1200);
    emu_do("gcp_impersonation",
           "{\"service_account\":\"" IMP_SA "\",\"principals\":[\"%s\"]}",
           FED("imp"));
    assert_int_equal(resolve(&f), CMK_OK);
    principal_is(&f, IMP_SA);
    assert_string_equal(f.tok->source, "gcp-impersonated");
    expires_in(&f, 1190, 1200);
    sts_call_ok();
    log = calls("GCP.GenerateAccessToken", &a);
    assert_int_equal(json_array_size(log), 1);
    assert_string_equal(call_str(log, 0, "principal"), FED("imp"));
    assert_string_equal(call_str(log, 0, "target"), IMP_SA);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(log, 0), "lifetime")),
        1200);
    members_are(log, 0, "[\"lifetime\",\"scope\"]");
    json_decref(a);
    assert_int_equal(emu_count(NULL), 2);

    /* Without service_account_impersonation: one hour. */
    imp_setup(&f, p, sizeof(p), "subject-imp-1", FED("imp"), -1);
    emu_do("reset_calls", "{}");
    assert_int_equal(resolve(&f), CMK_OK);
    expires_in(&f, 3590, 3600);
    log = calls("GCP.GenerateAccessToken", &a);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(log, 0), "lifetime")),
        3600);
    json_decref(a);
    fx_close(&f);
}

static void test_ext_impersonation_denied(void **state)
{
    char p[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    imp_setup(&f, p, sizeof(p), "subject-imp-2", FED("noimp"), 1200);
    refused(&f, CMK_E_ACCESS_DENIED, "Impersonation:PERMISSION_DENIED");
    assert_int_equal(f.st.http_status, 403);
    detail_is(&f, p,
              ": impersonating the service account was refused (HTTP 403)");
    assert_int_equal(emu_count("GCP.STS"), 1);
    assert_int_equal(
        emu_count_error("GCP.GenerateAccessToken", "PERMISSION_DENIED"), 1);
    assert_int_equal(emu_count(NULL), 2);
    fx_close(&f);
}

static void test_ext_sts_refused(void **state)
{
    char p[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    imp_setup(&f, p, sizeof(p), "subject-sts-1", FED("sts"), 1200);
    emu_do("gcp_sts", "{\"subject_token\":\"subject-sts-1\","
                      "\"principal\":null}");
    refused(&f, CMK_E_ACCESS_DENIED, "invalid_grant");
    assert_int_equal(f.st.http_status, 400);
    assert_int_equal(emu_count_error("GCP.STS", "invalid_grant"), 1);
    assert_int_equal(emu_count("GCP.GenerateAccessToken"), 0);
    assert_int_equal(emu_count(NULL), 1);
    fx_close(&f);
}

/* Answers are checked before a token is cached: STS must say it issued
 * an access token, generateAccessToken must say when it expires. */
static void test_ext_answers_checked(void **state)
{
    char p[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    imp_setup(&f, p, sizeof(p), "subject-ans-1", FED("ans"), 1200);
    emu_do("gcp_impersonation",
           "{\"service_account\":\"" IMP_SA "\",\"principals\":[\"%s\"]}",
           FED("ans"));
    emu_do("faults", "{\"answer_override\":{\"issued_token_type\":"
                     "\"urn:ietf:params:oauth:token-type:id_token\"},"
                     "\"for_ops\":[\"GCP.STS\"],\"count\":1}");
    refused(&f, CMK_E_BAD_RESPONSE, "GcpTokenMalformed");
    assert_int_equal(emu_count("GCP.STS"), 1);
    assert_int_equal(emu_count(NULL), 1);

    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"answer_override\":{\"expireTime\":null},"
                     "\"for_ops\":[\"GCP.GenerateAccessToken\"],"
                     "\"count\":1}");
    refused(&f, CMK_E_BAD_RESPONSE, "ImpersonationMalformed");
    assert_int_equal(emu_count("GCP.GenerateAccessToken"), 1);
    assert_int_equal(emu_count(NULL), 2);

    emu_do("reset_calls", "{}");
    assert_int_equal(resolve(&f), CMK_OK); /* the faults were used up */
    principal_is(&f, IMP_SA);
    assert_int_equal(emu_count(NULL), 2);
    fx_close(&f);
}

static void test_ext_subject_missing(void **state)
{
    char p[700], s[700], src[900], why[1600];
    struct fx f;

    (void)state;
    fx_open(&f);
    in_dir(&f, "nothing.txt", s, sizeof(s));
    in_dir(&f, "ext.json", p, sizeof(p));
    snprintf(src, sizeof(src), "{\"file\":\"%s\"}", s);
    ext_file(p, src, 0);
    vars[V_GAC][1] = p;
    refused(&f, CMK_E_CONFIG, "SubjectTokenUnreadable");
    snprintf(why, sizeof(why),
             "%s: credential_source.file %s: cannot open: No such file or "
             "directory",
             p, s);
    assert_string_equal(f.st.detail, why);

    emu_write_file(s, 0600, " \n");
    refused(&f, CMK_E_CONFIG, "SubjectTokenEmpty");
    assert_int_equal(emu_count(NULL), 0);
    fx_close(&f);
}

/* Sources and fields the module refuses, each by name, before any call. */
static void test_ext_refused_sources(void **state)
{
    char p[700];
    struct fx f;

    (void)state;
    fx_open(&f);
    in_dir(&f, "ext.json", p, sizeof(p));
    vars[V_GAC][1] = p;
    ext_file(p,
             "{\"executable\":{\"command\":\"/bin/echo x\","
             "\"timeout_millis\":5000}}",
             0);
    refused(&f, CMK_E_CONFIG, "UnsupportedCredentialSource");
    detail_is(&f, p,
              ": credential_source \"executable\" is not supported (only "
              "file and url)");
    ext_file(p,
             "{\"environment_id\":\"aws1\",\"region_url\":\"http://"
             "169.254.169.254/latest/meta-data/placement/"
             "availability-zone\"}",
             0);
    refused(&f, CMK_E_CONFIG, "UnsupportedCredentialSource");
    detail_is(&f, p,
              ": credential_source \"environment_id (AWS)\" is not "
              "supported (only file and url)");
    ext_file(p, "{\"file\":\"/x\",\"url\":\"https://example.com/t\"}", 0);
    refused(&f, CMK_E_CONFIG, "GcpCredentialFile");
    detail_is(&f, p,
              ": credential_source must name exactly one of file and url");
    ext_file(p, "{\"file\":\"/x\",\"format\":{\"type\":\"json\"}}", 0);
    refused(&f, CMK_E_CONFIG, "GcpCredentialFile");
    detail_is(&f, p,
              ": credential_source.format.subject_token_field_name missing "
              "(format json)");
    ext_file(p, "{\"url\":\"http://idp.example.com/token\"}", 0);
    refused(&f, CMK_E_CONFIG, "GcpCredentialFile");
    detail_is(&f, p,
              ": credential_source.url must be https (http only to loopback "
              "or 169.254.169.254)");
    ext_file(p,
             "{\"url\":\"https://idp.example.com/t\",\"headers\":"
             "{\"X-A\":\"a\\r\\nX-Injected: 1\"}}",
             0);
    refused(&f, CMK_E_CONFIG, "GcpCredentialFile");
    detail_is(&f, p,
              ": credential_source.headers must be an object of header names "
              "and string values");
    json_file(p, 0600,
              json_pack("{s:s,s:s,s:s,s:{s:s}}", "type", "external_account",
                        "subject_token_type", JWT_TYPE, "token_url",
                        url("/v1/token"), "credential_source", "file", "/x"));
    refused(&f, CMK_E_CONFIG, "GcpCredentialFile");
    detail_is(&f, p, ": audience missing");
    assert_int_equal(emu_count(NULL), 0);
    fx_close(&f);
}

/* ---- The debug log ---- */

static int saved_stderr = -1;

static void capture_start(const char *path)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

    assert_true(fd >= 0);
    fflush(stderr);
    saved_stderr = dup(2);
    assert_true(saved_stderr >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
}

/* What stderr got since capture_start (heap). */
static char *capture_end(const char *path)
{
    static char text[65536];
    FILE *f;
    size_t n;

    fflush(stderr);
    assert_int_equal(dup2(saved_stderr, 2), 2);
    close(saved_stderr);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return strdup(text);
}

static void absent(const char *text, const char *secret)
{
    if (strstr(text, secret) != NULL)
        fail_msg("\"%s\" is in the log", secret);
}

/* Every source, good and refused, with CMK_PKCS11_DEBUG set: the log
 * says which source answered and why one refused, and holds no client
 * secret, refresh token, subject token or access token. */
static void test_no_secret_in_log(void **state)
{
    char p[700], out[700], src[900], *text, *bearer[3];
    struct fx f;
    int i = 0;

    (void)state;
    fx_open(&f);
    in_dir(&f, "stderr.txt", out, sizeof(out));
    setenv("CMK_PKCS11_DEBUG", "1", 1);
    capture_start(out);
    in_dir(&f, "user.json", p, sizeof(p));
    user_file(p, "log");
    user_register("log");
    vars[V_GAC][1] = p;
    assert_int_equal(resolve(&f), CMK_OK);
    bearer[i++] = strdup(cmk_gauth_bearer(f.tok));
    emu_do("gcp_authorized_user",
           "{\"refresh_token\":\"1//refresh-log\",\"revoked\":true}");
    refused(&f, CMK_E_ACCESS_DENIED, "invalid_grant");

    emu_do("gcp_subject_url",
           "{\"name\":\"log\",\"token\":\"subject-log-url\","
           "\"headers\":{\"X-Subject-Auth\":\"header-log-value\"}}");
    sts_register("subject-log-url", FED("log"));
    emu_do("gcp_impersonation",
           "{\"service_account\":\"" IMP_SA "\",\"principals\":[\"%s\"]}",
           FED("log"));
    snprintf(src, sizeof(src),
             "{\"url\":\"%s\",\"headers\":{\"X-Subject-Auth\":"
             "\"header-log-value\"}}",
             url("/gcp-subject/log"));
    ext_file(p, src, 900);
    assert_int_equal(resolve(&f), CMK_OK);
    bearer[i++] = strdup(cmk_gauth_bearer(f.tok));
    ext_file(p, src, 0); /* the federated token itself */
    assert_int_equal(resolve(&f), CMK_OK);
    bearer[i++] = strdup(cmk_gauth_bearer(f.tok));
    emu_do("gcp_sts", "{\"subject_token\":\"subject-log-url\","
                      "\"principal\":null}");
    refused(&f, CMK_E_ACCESS_DENIED, "invalid_grant");
    text = capture_end(out);
    unsetenv("CMK_PKCS11_DEBUG");

    assert_non_null(strstr(text, "gcp credentials: gcp-authorized-user token "
                                 "from "));
    assert_non_null(strstr(text, "gcp credentials: gcp-impersonated token "
                                 "from "));
    assert_non_null(strstr(text, "(HTTP 400) (invalid_grant)"));
    absent(text, "csecret-log");
    absent(text, "refresh-log");
    absent(text, "subject-log-url");
    absent(text, "header-log-value");
    absent(text, "ya29.");
    for (i = 0; i < 3; i++) {
        absent(text, bearer[i]);
        free(bearer[i]);
    }
    free(text);
    fx_close(&f);
}

/* ---- Setup ---- */

static int setup(void **state)
{
    (void)state;
    emu_do("clear_faults", "{}");
    return 0;
}

static int group_setup(void **state)
{
    const char *u = emu_http_url();

    (void)state;
    if (sodium_init() < 0)
        return -1;
    /* GCE_METADATA_HOST is host:port, without the scheme. */
    snprintf(md_host, sizeof(md_host), "%s", u + strlen("http://"));
    emu_do("gcp_metadata", "{\"principal\":\"%s\",\"enabled\":true}", MD_SA);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_user_from_env, setup),
        cmocka_unit_test_setup(test_user_gcloud_home, setup),
        cmocka_unit_test_setup(test_user_cloudsdk_config, setup),
        cmocka_unit_test_setup(test_adc_absent, setup),
        cmocka_unit_test_setup(test_adc_refused, setup),
        cmocka_unit_test_setup(test_order, setup),
        cmocka_unit_test_setup(test_user_revoked, setup),
        cmocka_unit_test_setup(test_user_endpoint_retried, setup),
        cmocka_unit_test_setup(test_user_cached, setup),
        cmocka_unit_test_setup(test_ext_file_text, setup),
        cmocka_unit_test_setup(test_ext_file_json, setup),
        cmocka_unit_test_setup(test_ext_url_headers, setup),
        cmocka_unit_test_setup(test_ext_impersonation, setup),
        cmocka_unit_test_setup(test_ext_impersonation_denied, setup),
        cmocka_unit_test_setup(test_ext_sts_refused, setup),
        cmocka_unit_test_setup(test_ext_answers_checked, setup),
        cmocka_unit_test_setup(test_ext_subject_missing, setup),
        cmocka_unit_test_setup(test_ext_refused_sources, setup),
        cmocka_unit_test_setup(test_no_secret_in_log, setup),
    };

    if (emu_http_url() == NULL || emu_tmp() == NULL) {
        fprintf(stderr, "SKIP: run through tests/unit/emu_gauth.sh\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, NULL) != 0 ? 1 : 0;
}
