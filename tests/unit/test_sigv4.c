/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: net/sigv4 against every header-signing case of the AWS
 * SigV4 test suite (aws-c-auth and botocore copies) and the KMS-shaped
 * cases in tests/fixtures/sigv4: exact canonical request, string to sign,
 * signature and Authorization header. Query (presigned URL) signing is not
 * implemented: KMS takes the Authorization header only.
 */
#include <config.h>

#include <dirent.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mech/mech.h"
#include "net/sigv4.h"

#define VECTORS SRCDIR "/tests/fixtures/sigv4"
#define MAX_HDRS 16
#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T_2015 1440938160 /* 2015-08-30T12:36:00Z */

/* A parsed request.txt / .req file. */
struct http_req {
    char *text; /* owns every string below */
    char *method;
    char *path;
    char *query;
    struct cmk_sigv4_hdr hdrs[MAX_HDRS];
    size_t n_hdrs;
    const uint8_t *body;
    size_t body_len;
};

static struct cmk_sigv4 *sv;
static size_t n_run; /* cases checked */

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (fp == NULL)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    rewind(fp);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

static char *slurp_in(const char *dir, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return slurp(path, NULL);
}

/* "METHOD PATH HTTP/1.1": the path may hold spaces. */
static void parse_start(struct http_req *r, char *line)
{
    char *sp = strchr(line, ' '), *ver = strrchr(line, ' ');

    assert_non_null(sp);
    assert_true(ver > sp);
    *sp = '\0';
    *ver = '\0';
    r->method = line;
    r->path = sp + 1;
    r->query = strchr(r->path, '?');
    if (r->query != NULL)
        *r->query++ = '\0';
}

/* Header lines up to a blank line; folded lines stay in the value with
 * their line break (the signer collapses the whitespace). */
static char *parse_headers(struct http_req *r, char *p)
{
    char *eol, *colon;

    while (*p != '\0' && *p != '\n') {
        eol = strchr(p, '\n');
        if (eol == NULL) /* last line, no body */
            eol = p + strlen(p);
        if (*p == ' ' || *p == '\t') { /* continuation: rejoin */
            assert_true(r->n_hdrs > 0);
            p[-1] = ' ';
        } else {
            colon = strchr(p, ':');
            assert_non_null(colon);
            assert_true(r->n_hdrs < MAX_HDRS);
            *colon = '\0';
            r->hdrs[r->n_hdrs].name = p;
            r->hdrs[r->n_hdrs++].value = colon + 1;
        }
        if (*eol == '\0')
            return eol;
        *eol = '\0';
        p = eol + 1;
    }
    return *p == '\n' ? p + 1 : p;
}

static void parse_request(const char *path, struct http_req *r)
{
    size_t len;
    char *p, *eol;

    memset(r, 0, sizeof(*r));
    r->text = slurp(path, &len);
    eol = strchr(r->text, '\n');
    assert_non_null(eol);
    *eol = '\0';
    parse_start(r, r->text);
    p = parse_headers(r, eol + 1);
    r->body = (const uint8_t *)p;
    r->body_len = len - (size_t)(p - r->text);
}

/* Removes header name (any case) from r; returns its value or NULL. */
static const char *drop_header(struct http_req *r, const char *name)
{
    const char *v = NULL;
    size_t i, j = 0;

    for (i = 0; i < r->n_hdrs; i++) {
        if (strcasecmp(r->hdrs[i].name, name) == 0)
            v = r->hdrs[i].value;
        else
            r->hdrs[j++] = r->hdrs[i];
    }
    r->n_hdrs = j;
    return v;
}

static void fill_sigv4_req(const struct http_req *hr, struct cmk_sigv4_req *rq)
{
    memset(rq, 0, sizeof(*rq));
    rq->method = hr->method;
    rq->path = hr->path;
    rq->query = hr->query;
    rq->hdrs = hr->hdrs;
    rq->n_hdrs = hr->n_hdrs;
    rq->body = hr->body;
    rq->body_len = hr->body_len;
    rq->when = T_2015;
}

/* ---- aws-c-auth layout (also kms-generated) ---- */

static json_t *load_context(const char *dir)
{
    char path[512];
    json_error_t jerr;
    json_t *c;

    snprintf(path, sizeof(path), "%s/context.json", dir);
    c = json_load_file(path, 0, &jerr);
    if (c == NULL)
        fail_msg("%s: %s", path, jerr.text);
    return c;
}

static void check_file(const char *dir, const char *name, const char *got)
{
    char *want = slurp_in(dir, name);

    if (strcmp(want, got) != 0)
        fail_msg("%s/%s:\n--- want\n%s\n--- got\n%s", dir, name, want, got);
    free(want);
}

/* The Authorization line of the expected signed request. */
static void check_signed_request(const char *dir, const char *authz)
{
    char *text = slurp_in(dir, "header-signed-request.txt");
    char *line = strstr(text, "\nAuthorization:"), *eol;

    assert_non_null(line);
    line += strlen("\nAuthorization:");
    eol = strchr(line, '\n');
    if (eol != NULL)
        *eol = '\0';
    assert_string_equal(line, authz);
    free(text);
}

static void run_c_auth_case(const char *dir)
{
    struct cmk_sigv4_key key = {AKID, SECRET, NULL};
    struct cmk_sigv4_out out;
    struct cmk_sigv4_req rq;
    struct http_req hr;
    char path[512];
    json_t *c, *cred;

    c = load_context(dir);
    cred = json_object_get(c, "credentials");
    assert_string_equal(
        json_string_value(json_object_get(cred, "access_key_id")), AKID);
    key.session_token = json_string_value(json_object_get(cred, "token"));
    assert_string_equal(json_string_value(json_object_get(c, "timestamp")),
                        "2015-08-30T12:36:00Z");
    snprintf(path, sizeof(path), "%s/request.txt", dir);
    parse_request(path, &hr);
    fill_sigv4_req(&hr, &rq);
    rq.region = json_string_value(json_object_get(c, "region"));
    rq.service = json_string_value(json_object_get(c, "service"));
    rq.normalize_path = json_is_true(json_object_get(c, "normalize"));
    rq.sign_body_hash = json_is_true(json_object_get(c, "sign_body"));
    rq.token_unsigned = json_is_true(json_object_get(c, "omit_session_token"));
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, &out), CMK_OK);
    assert_string_equal(out.amz_date, "20150830T123600Z");
    check_file(dir, "header-canonical-request.txt", out.canonical_request);
    check_file(dir, "header-string-to-sign.txt", out.string_to_sign);
    check_file(dir, "header-signature.txt", out.signature);
    check_signed_request(dir, out.authorization);
    cmk_sigv4_out_free(&out);
    free(hr.text);
    json_decref(c);
    n_run++;
}

/* Runs fn on every directory under VECTORS/sub. */
static void each_case(const char *sub, void (*fn)(const char *dir))
{
    char base[512], dir[768];
    struct dirent *de;
    DIR *d;

    snprintf(base, sizeof(base), "%s/%s", VECTORS, sub);
    d = opendir(base);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || de->d_type != DT_DIR)
            continue;
        snprintf(dir, sizeof(dir), "%s/%s", base, de->d_name);
        fn(dir);
    }
    closedir(d);
}

static void test_aws_c_auth_suite(void **state)
{
    (void)state;
    n_run = 0;
    each_case("aws-c-auth-v4", run_c_auth_case);
    assert_int_equal(n_run, 38);
}

static void test_kms_generated(void **state)
{
    (void)state;
    n_run = 0;
    each_case("kms-generated", run_c_auth_case);
    assert_int_equal(n_run, 4);
}

/* ---- botocore layout ---- */

#define STS_TOKEN                                                              \
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWs"   \
    "KWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGde"   \
    "hM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx"   \
    "6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDr"   \
    "ypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
#define VANILLA_TOKEN                                                          \
    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

static void run_botocore_case(const char *dir)
{
    struct cmk_sigv4_key key = {AKID, SECRET, NULL};
    struct cmk_sigv4_out out;
    struct cmk_sigv4_req rq;
    struct http_req hr;
    const char *name = strrchr(dir, '/') + 1;
    char path[768], file[1024];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(file, sizeof(file), "%s.req", path);
    parse_request(file, &hr);
    assert_string_equal(drop_header(&hr, "X-Amz-Date"), "20150830T123600Z");
    key.session_token = drop_header(&hr, "X-Amz-Security-Token");
    fill_sigv4_req(&hr, &rq);
    rq.region = "us-east-1";
    rq.service = "service";
    rq.normalize_path = true;
    if (strcmp(name, "get-vanilla-with-session-token") == 0)
        key.session_token = VANILLA_TOKEN;
    if (strcmp(name, "post-sts-header-after") == 0) {
        key.session_token = STS_TOKEN;
        rq.token_unsigned = true;
    }
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, &out), CMK_OK);
    snprintf(file, sizeof(file), "%s.creq", name);
    check_file(dir, file, out.canonical_request);
    snprintf(file, sizeof(file), "%s.sts", name);
    check_file(dir, file, out.string_to_sign);
    snprintf(file, sizeof(file), "%s.authz", name);
    check_file(dir, file, out.authorization);
    cmk_sigv4_out_free(&out);
    free(hr.text);
    n_run++;
}

/* Case dirs hold a .req file; the grouping dirs hold case dirs. */
static void botocore_dir(const char *dir)
{
    char probe[1024];
    const char *name = strrchr(dir, '/') + 1;
    FILE *fp;

    snprintf(probe, sizeof(probe), "%s/%s.req", dir, name);
    fp = fopen(probe, "r");
    if (fp != NULL) {
        fclose(fp);
        run_botocore_case(dir);
        return;
    }
    snprintf(probe, sizeof(probe), "botocore-aws4_testsuite/%s", name);
    each_case(probe, run_botocore_case);
}

static void test_botocore_suite(void **state)
{
    (void)state;
    n_run = 0;
    each_case("botocore-aws4_testsuite", botocore_dir);
    assert_int_equal(n_run, 34);
}

/* ---- Beyond the suites ---- */

static const struct cmk_sigv4_hdr kms_hdrs[] = {
    {"Content-Type", "application/x-amz-json-1.1"},
    {"X-Amz-Target", "TrentService.Encrypt"},
    {"Host", "kms.eu-west-1.amazonaws.com"},
};

static void kms_req(struct cmk_sigv4_req *rq, const char *body)
{
    memset(rq, 0, sizeof(*rq));
    rq->method = "POST";
    rq->path = "/";
    rq->hdrs = kms_hdrs;
    rq->n_hdrs = 3;
    rq->body = (const uint8_t *)body;
    rq->body_len = strlen(body);
    rq->region = "eu-west-1";
    rq->service = "kms";
    rq->when = T_2015;
}

/* The session token is signed by default and listed in SignedHeaders;
 * unsigned it changes nothing in the signature. */
static void test_session_token(void **state)
{
    struct cmk_sigv4_key plain = {AKID, SECRET, NULL};
    struct cmk_sigv4_key tok = {AKID, SECRET, "FQoGZXIvYXdzEXAMPLE"};
    struct cmk_sigv4_out a, b, c;
    struct cmk_sigv4_req rq;

    (void)state;
    kms_req(&rq, "{\"KeyId\":\"alias/t1\"}");
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &plain, &a), CMK_OK);
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &tok, &b), CMK_OK);
    assert_non_null(strstr(b.authorization,
                           "SignedHeaders=content-type;host;x-amz-date;"
                           "x-amz-security-token;x-amz-target, "));
    assert_non_null(strstr(b.canonical_request,
                           "\nx-amz-security-token:FQoGZXIvYXdzEXAMPLE\n"));
    assert_string_not_equal(a.signature, b.signature);
    rq.token_unsigned = true;
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &tok, &c), CMK_OK);
    assert_string_equal(a.signature, c.signature);
    assert_string_equal(a.authorization, c.authorization);
    assert_null(strstr(c.canonical_request, "FQoG"));
    cmk_sigv4_out_free(&a);
    cmk_sigv4_out_free(&b);
    cmk_sigv4_out_free(&c);
}

/* A retry one second later is a different signature over a new date;
 * the secret never shows up in any output. */
static void test_resign_and_no_secret(void **state)
{
    struct cmk_sigv4_key key = {AKID, SECRET, NULL};
    struct cmk_sigv4_out a, b;
    struct cmk_sigv4_req rq;

    (void)state;
    kms_req(&rq, "{}");
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, &a), CMK_OK);
    rq.when = T_2015 + 86400;
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, &b), CMK_OK);
    assert_string_equal(b.amz_date, "20150831T123600Z");
    assert_non_null(strstr(b.authorization,
                           "Credential=AKIDEXAMPLE/20150831/eu-west-1/kms/"
                           "aws4_request, "));
    assert_string_not_equal(a.signature, b.signature);
    assert_null(strstr(a.authorization, "wJalr"));
    assert_null(strstr(a.canonical_request, "wJalr"));
    assert_null(strstr(a.string_to_sign, "wJalr"));
    assert_string_equal(a.content_sha256, ""); /* not requested */
    cmk_sigv4_out_free(&a);
    cmk_sigv4_out_free(&b);
}

/* The body is signed: one changed byte changes the signature. */
static void test_body_is_signed(void **state)
{
    struct cmk_sigv4_key key = {AKID, SECRET, NULL};
    struct cmk_sigv4_out a, b;
    struct cmk_sigv4_req rq;

    (void)state;
    kms_req(&rq, "{\"Plaintext\":\"AAAA\"}");
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, &a), CMK_OK);
    kms_req(&rq, "{\"Plaintext\":\"AAAB\"}");
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, &b), CMK_OK);
    assert_string_not_equal(a.signature, b.signature);
    cmk_sigv4_out_free(&a);
    cmk_sigv4_out_free(&b);
}

static void test_bad_arguments(void **state)
{
    static const struct cmk_sigv4_hdr no_host[] = {{"X-A", "1"}};
    struct cmk_sigv4_key key = {AKID, SECRET, NULL};
    struct cmk_sigv4_key no_secret = {AKID, NULL, NULL};
    struct cmk_sigv4_out out;
    struct cmk_sigv4_req rq;
    char hex[65];

    (void)state;
    kms_req(&rq, "{}");
    assert_int_equal(cmk_sigv4_sign(NULL, &rq, &key, &out), CMK_E_ARGS);
    assert_null(out.authorization);
    assert_int_equal(cmk_sigv4_sign(sv, NULL, &key, &out), CMK_E_ARGS);
    assert_int_equal(cmk_sigv4_sign(sv, &rq, NULL, &out), CMK_E_ARGS);
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, NULL), CMK_E_ARGS);
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &no_secret, &out), CMK_E_ARGS);
    rq.region = "";
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, &out), CMK_E_ARGS);
    kms_req(&rq, "{}");
    rq.hdrs = no_host;
    rq.n_hdrs = 1;
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, &out), CMK_E_ARGS);
    assert_null(out.authorization);
    assert_null(out.canonical_request);
    kms_req(&rq, "{}");
    rq.when = INT64_MAX; /* no calendar year for it */
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, &out), CMK_E_ARGS);
    assert_int_equal(cmk_sigv4_sha256_hex(sv, NULL, 0, hex), CMK_OK);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b93"
                             "4ca495991b7852b855");
    assert_int_equal(cmk_sigv4_sha256_hex(sv, NULL, 1, hex), CMK_E_ARGS);
    assert_int_equal(cmk_sigv4_new(NULL), CMK_E_ARGS);
    cmk_sigv4_free(NULL);
    cmk_sigv4_out_free(NULL);
}

/* Query edge cases the suites leave out: empty parameters, a value-less
 * key, '+' kept literal, a stray '%'. */
static void test_query_edges(void **state)
{
    static const struct cmk_sigv4_hdr h[] = {{"Host", "h"}};
    struct cmk_sigv4_key key = {AKID, SECRET, NULL};
    struct cmk_sigv4_out out;
    struct cmk_sigv4_req rq;

    (void)state;
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    rq.path = "/a b/../c/./";
    rq.query = "b=2&&a&c=x+y&d=%zz&e=%41";
    rq.hdrs = h;
    rq.n_hdrs = 1;
    rq.region = "r";
    rq.service = "s";
    rq.normalize_path = true;
    assert_int_equal(cmk_sigv4_sign(sv, &rq, &key, &out), CMK_OK);
    assert_memory_equal(out.canonical_request,
                        "GET\n/c/\na=&b=2&c=x%2By&d=%25zz&e=A\nhost:h\n", 39);
    cmk_sigv4_out_free(&out);
}

/* SHA-256 and HMAC are mech's: initialised as C_Initialize does. */
static int setup(void **state)
{
    (void)state;
    if (cmk_mech_init() != CKR_OK)
        return -1;
    return cmk_sigv4_new(&sv) == CMK_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cmk_sigv4_free(sv);
    cmk_mech_fini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_c_auth_suite),
        cmocka_unit_test(test_botocore_suite),
        cmocka_unit_test(test_kms_generated),
        cmocka_unit_test(test_session_token),
        cmocka_unit_test(test_resign_and_no_secret),
        cmocka_unit_test(test_body_is_signed),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_query_edges),
    };

    return cmocka_run_group_tests(tests, setup, teardown) != 0 ? 1 : 0;
}
