/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: net/ini and net/creds: the INI dialect of the AWS shared
 * files, each credential source and the chain's precedence (with a fake
 * environment), the cache's refresh ahead of expiry with one refresher
 * (fake clock and resolver), and the sources that call an endpoint (web
 * identity through STS, container, IMDSv2) against the KMS emulator when
 * run by emu_creds.sh; without it those cases are skipped.
 */
#include <config.h>

#include <fcntl.h>
#include <pthread.h>
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
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "emu_client.h"
#include "net/creds.h"
#include "net/creds_int.h"
#include "net/ini.h"
#include "tests/lib/scratch.h"
#include "util/log.h"

#define MUT(s) ((char *)(uintptr_t)(s))
#define MAX_VARS 32

static const char *vars[MAX_VARS][2];
static size_t n_vars;
static char dir[256];    /* scratch directory */
static char nohome[300]; /* a HOME without .aws */
static struct cmk_http *http;

static const char *fake_getenv(const char *name)
{
    size_t i;

    for (i = 0; i < n_vars; i++) {
        if (strcmp(vars[i][0], name) == 0)
            return vars[i][1];
    }
    return NULL;
}

static void env_set(const char *name, const char *value)
{
    assert_true(n_vars < MAX_VARS);
    vars[n_vars][0] = name;
    vars[n_vars++][1] = value;
}

static char *path_in(const char *name)
{
    static char p[8][512];
    static int i;

    i = (i + 1) % 8;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
    return p[i];
}

/* A cred env with the fake environment and IMDS off unless asked. */
static void env_init(struct cmk_cred_env *e, const struct cmk_cred_cfg *cfg)
{
    memset(e, 0, sizeof(*e));
    e->http = http;
    e->cfg = cfg;
    e->region = "us-east-1";
    e->getenv = fake_getenv;
    n_vars = 0;
    env_set("HOME", nohome); /* no ~/.aws unless a test says */
    env_set("AWS_EC2_METADATA_DISABLED", "true");
}

/* Resolves with source fn and checks the result's key id. */
static void expect_key(cmk_cred_source_fn fn, const struct cmk_cred_env *e,
                       const char *akid, const char *source)
{
    struct cmk_cred_status st;
    struct cmk_creds *c = NULL;

    memset(&st, 0, sizeof(st));
    assert_int_equal(fn(e, &st, &c), CMK_OK);
    assert_non_null(c);
    assert_string_equal(c->access_key_id, akid);
    assert_string_equal(c->source, source);
    cmk_creds_unref(c);
}

static void expect_err(cmk_cred_source_fn fn, const struct cmk_cred_env *e,
                       cmk_err want, const char *code)
{
    struct cmk_cred_status st;
    struct cmk_creds *c = NULL;

    memset(&st, 0, sizeof(st));
    assert_int_equal(fn(e, &st, &c), want);
    assert_null(c);
    assert_string_equal(st.code, code);
}

static void expect_none(cmk_cred_source_fn fn, const struct cmk_cred_env *e)
{
    struct cmk_cred_status st;
    struct cmk_creds *c = NULL;

    memset(&st, 0, sizeof(st));
    assert_int_equal(fn(e, &st, &c), CMK_OK);
    assert_null(c);
}

/* ---- INI ---- */

static const char ini_text[] = "# comment\n"
                               "[default]\n"
                               "aws_access_key_id = AKIDDEFAULT\n"
                               "  aws_secret_access_key=  s3cr=t  \r\n"
                               "; another comment\n"
                               "\n"
                               "[profile dev]\n"
                               "region = eu-west-1\n"
                               "s3 =\n"
                               "    max_concurrent_requests = 20\n"
                               "region = eu-central-1\n"
                               "empty =\n"
                               "[ default ]\n"
                               "aws_session_token = tok\n";

static void test_ini(void **state)
{
    struct cmk_ini *ini = NULL;
    unsigned line = 0;

    (void)state;
    assert_int_equal(cmk_ini_parse(ini_text, strlen(ini_text), &ini, &line),
                     CMK_OK);
    assert_string_equal(cmk_ini_get(ini, "default", "aws_access_key_id"),
                        "AKIDDEFAULT");
    assert_string_equal(cmk_ini_get(ini, "default", "aws_secret_access_key"),
                        "s3cr=t");
    assert_string_equal(cmk_ini_get(ini, "default", "aws_session_token"),
                        "tok"); /* repeated sections merge */
    assert_string_equal(cmk_ini_get(ini, "profile dev", "region"),
                        "eu-central-1"); /* the last one wins */
    assert_string_equal(cmk_ini_get(ini, "profile dev", "s3"), "");
    assert_null(cmk_ini_get(ini, "profile dev", "max_concurrent_requests"));
    assert_string_equal(cmk_ini_get(ini, "profile dev", "empty"), "");
    assert_null(cmk_ini_get(ini, "dev", "region"));
    assert_null(cmk_ini_get(ini, "default", "region"));
    assert_true(cmk_ini_has_section(ini, "profile dev"));
    assert_false(cmk_ini_has_section(ini, "profile prod"));
    assert_null(cmk_ini_get(NULL, "default", "x"));
    cmk_ini_free(ini);
    cmk_ini_free(NULL);
}

static void expect_ini_error(const char *text, size_t len, unsigned want)
{
    struct cmk_ini *ini = NULL;
    unsigned line = 0;

    assert_int_equal(cmk_ini_parse(text, len, &ini, &line), CMK_E_CONFIG);
    assert_null(ini);
    assert_int_equal(line, want);
}

static void test_ini_errors(void **state)
{
    struct cmk_ini *ini = NULL;

    (void)state;
    expect_ini_error("key = outside\n", 14, 1);
    expect_ini_error("[a]\nok = 1\nno equals here\n", 26, 3);
    expect_ini_error("[a]\n[unterminated\n", 18, 2);
    expect_ini_error("[a]\n = value\n", 12, 2);
    assert_int_equal(cmk_ini_parse("[a]\0x=1", 7, &ini, NULL), CMK_E_CONFIG);
    assert_int_equal(cmk_ini_parse(NULL, 0, &ini, NULL), CMK_E_ARGS);
    assert_int_equal(cmk_ini_parse("", 0, &ini, NULL), CMK_OK);
    assert_null(cmk_ini_get(ini, "a", "b"));
    cmk_ini_free(ini);
}

static void test_parse_time(void **state)
{
    int64_t t = 0;

    (void)state;
    assert_int_equal(cmk_creds_parse_time("2024-05-01T12:00:00Z", &t), CMK_OK);
    assert_int_equal(t, 1714564800);
    assert_int_equal(cmk_creds_parse_time("2024-05-01T12:00:00.123Z", &t),
                     CMK_OK);
    assert_int_equal(t, 1714564800);
    assert_int_equal(cmk_creds_parse_time("2024-05-01T12:00:00+00:00", &t),
                     CMK_OK);
    assert_int_equal(cmk_creds_parse_time("2024-05-01T12:00:00+02:00", &t),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(cmk_creds_parse_time("2024-05-01 12:00:00", &t),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(cmk_creds_parse_time("", &t), CMK_E_BAD_RESPONSE);
    assert_int_equal(cmk_creds_parse_time(NULL, &t), CMK_E_ARGS);
}

/* ---- Static sources ---- */

static void test_static_file(void **state)
{
    struct cmk_cred_cfg cfg = {NULL, NULL, NULL, NULL, NULL};
    struct cmk_creds *c = NULL;
    struct cmk_cred_status st;
    struct cmk_cred_env e;

    (void)state;
    cfg.credentials_file = path_in("static.json");
    env_init(&e, &cfg);
    emu_write_file(cfg.credentials_file, 0600,
                   "{\"access_key_id\": \"AKIDFILE\", \"secret_access_key\": "
                   "\"a\\/b\\u0041\", \"session_token\": \"T\"}");
    memset(&st, 0, sizeof(st));
    assert_int_equal(cmk_creds_from_file(&e, &st, &c), CMK_OK);
    assert_string_equal(c->access_key_id, "AKIDFILE");
    assert_string_equal(c->secret_access_key, "a/bA"); /* JSON escapes */
    assert_string_equal(c->session_token, "T");
    assert_int_equal(c->expires, 0);
    cmk_creds_unref(c);
    emu_write_file(cfg.credentials_file, 0640,
                   "{\"access_key_id\":\"A\",\"secret_access_key\":\"S\"}");
    expect_err(cmk_creds_from_file, &e, CMK_E_CONFIG,
               "CredentialsFileUnusable"); /* readable by the group */
    emu_write_file(cfg.credentials_file, 0600, "{\"access_key_id\":\"A\"}");
    expect_err(cmk_creds_from_file, &e, CMK_E_CONFIG,
               "CredentialsFileMalformed");
    emu_write_file(cfg.credentials_file, 0600,
                   "{\"access_key_id\":\"A\",\"secret_access_key\":\"S\","
                   "\"region\":\"x\"}");
    expect_err(cmk_creds_from_file, &e, CMK_E_CONFIG,
               "CredentialsFileMalformed");
    emu_write_file(cfg.credentials_file, 0600,
                   "[default]\naws_access_key_id=A\n");
    expect_err(cmk_creds_from_file, &e, CMK_E_CONFIG,
               "CredentialsFileMalformed");
    cfg.credentials_file = path_in("missing.json");
    expect_err(cmk_creds_from_file, &e, CMK_E_CONFIG,
               "CredentialsFileUnusable");
    cfg.credentials_file = NULL;
    expect_none(cmk_creds_from_file, &e);
}

static void test_env(void **state)
{
    struct cmk_cred_cfg cfg = {NULL, NULL, NULL, NULL, NULL};
    struct cmk_creds *c = NULL;
    struct cmk_cred_status st;
    struct cmk_cred_env e;

    (void)state;
    env_init(&e, &cfg);
    expect_none(cmk_creds_from_env, &e);
    env_set("AWS_ACCESS_KEY_ID", "AKIDENV");
    expect_err(cmk_creds_from_env, &e, CMK_E_CONFIG, "PartialCredentials");
    env_set("AWS_SECRET_ACCESS_KEY", "envsecret");
    env_set("AWS_SECURITY_TOKEN", "oldname");
    memset(&st, 0, sizeof(st));
    assert_int_equal(cmk_creds_from_env(&e, &st, &c), CMK_OK);
    assert_string_equal(c->secret_access_key, "envsecret");
    assert_string_equal(c->session_token, "oldname");
    assert_string_equal(c->source, "env");
    cmk_creds_unref(c);
    env_set("AWS_SESSION_TOKEN", "newname"); /* wins over the old alias */
    assert_int_equal(cmk_creds_from_env(&e, &st, &c), CMK_OK);
    assert_string_equal(c->session_token, "newname");
    cmk_creds_unref(c);
    cfg.profile = MUT("named");
    expect_none(cmk_creds_from_env, &e); /* an explicit profile wins */
}

static void test_profile(void **state)
{
    struct cmk_cred_cfg cfg = {NULL, NULL, NULL, NULL, NULL};
    struct cmk_cred_env e;

    (void)state;
    env_init(&e, &cfg);
    vars[0][1] = dir;                        /* HOME */
    expect_none(cmk_creds_from_profile, &e); /* no files at all */
    assert_int_equal(mkdir(path_in(".aws"), 0700), 0);
    emu_write_file(path_in(".aws/credentials"), 0600,
                   "[default]\naws_access_key_id = AKIDHOME\n"
                   "aws_secret_access_key = h\n"
                   "[half]\naws_access_key_id = AKIDHALF\n");
    emu_write_file(path_in(".aws/config"), 0600,
                   "[default]\nregion = us-east-1\n"
                   "[profile other]\naws_access_key_id = AKIDCONFIG\n"
                   "aws_secret_access_key = c\n"
                   "[profile assume]\nrole_arn = arn:aws:iam::1:role/r\n"
                   "source_profile = default\n");
    expect_key(cmk_creds_from_profile, &e, "AKIDHOME", "shared-credentials");
    env_set("AWS_PROFILE", "other");
    expect_key(cmk_creds_from_profile, &e, "AKIDCONFIG", "shared-config");
    cfg.profile = MUT("half"); /* the tenant's profile outranks AWS_PROFILE */
    expect_err(cmk_creds_from_profile, &e, CMK_E_CONFIG, "PartialCredentials");
    cfg.profile = MUT("assume");
    expect_err(cmk_creds_from_profile, &e, CMK_E_CONFIG, "UnsupportedProfile");
    cfg.profile = MUT("nobody");
    expect_err(cmk_creds_from_profile, &e, CMK_E_CONFIG, "ProfileNotFound");
    cfg.profile = NULL;
    env_init(&e, &cfg); /* files named by the environment, no HOME ones */
    emu_write_file(path_in("creds.ini"), 0600,
                   "[default]\naws_access_key_id = AKIDVAR\n"
                   "aws_secret_access_key = v\n");
    env_set("AWS_SHARED_CREDENTIALS_FILE", path_in("creds.ini"));
    expect_key(cmk_creds_from_profile, &e, "AKIDVAR", "shared-credentials");
    emu_write_file(path_in("bad.ini"), 0600, "no section = here\n");
    env_set("AWS_CONFIG_FILE", path_in("bad.ini"));
    expect_err(cmk_creds_from_profile, &e, CMK_E_CONFIG, "SharedFileUnusable");
}

/* ---- Said once ---- */

static int saved_stderr = -1;

/* stderr goes to path until capture_end. */
static void capture_start(const char *path)
{
    int fd;

    fflush(stderr);
    saved_stderr = dup(2);
    assert_true(saved_stderr >= 0);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
}

/* What was written to stderr since capture_start (static buffer). */
static const char *capture_end(const char *path)
{
    static char text[8192];
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
    return text;
}

static int count(const char *text, const char *what)
{
    int n = 0;

    for (; (text = strstr(text, what)) != NULL; text += strlen(what))
        n++;
    return n;
}

/* The chain twice: the same failure each time. */
static void resolve_twice(const struct cmk_cred_env *e, const char *code)
{
    struct cmk_cred_status st;
    struct cmk_creds *c = NULL;
    int i;

    for (i = 0; i < 2; i++) {
        memset(&st, 0, sizeof(st));
        assert_int_equal(cmk_creds_resolve(e, &st, &c), CMK_E_CONFIG);
        assert_null(c);
        assert_string_equal(st.code, code);
    }
}

/* A credential problem is said on stderr (and syslog) the first time
 * only, naming the file or profile, never what the file holds. */
static void test_said_once(void **state)
{
    struct cmk_cred_cfg cfg = {NULL, NULL, NULL, NULL, NULL};
    struct cmk_cred_env e;
    char out[600], want[2048], home[512];
    const char *text;

    (void)state;
    unsetenv("CMK_PKCS11_DEBUG");
    snprintf(out, sizeof(out), "%s", path_in("stderr.txt"));
    env_init(&e, &cfg);
    cfg.credentials_file = path_in("said-missing.json");
    capture_start(out);
    resolve_twice(&e, "CredentialsFileUnusable");
    text = capture_end(out);
    snprintf(want, sizeof(want),
             "cmk-pkcs11: aws credentials: credentials_file %s: cannot "
             "open: No such file or directory (CredentialsFileUnusable)\n",
             cfg.credentials_file);
    assert_string_equal(text, want);

    cfg.credentials_file = path_in("said-mode.json");
    emu_write_file(cfg.credentials_file, 0644,
                   "{\"access_key_id\":\"AKIDSAID\",\"secret_access_key\":"
                   "\"said-secret-value\"}");
    assert_int_equal(chmod(cfg.credentials_file, 0644), 0);
    capture_start(out);
    resolve_twice(&e, "CredentialsFileUnusable");
    text = capture_end(out);
    snprintf(want, sizeof(want),
             "cmk-pkcs11: aws credentials: credentials_file %s: accessible "
             "by group or others (mode 0644); it must be 0600 or stricter "
             "(CredentialsFileUnusable)\n",
             cfg.credentials_file);
    assert_string_equal(text, want);
    assert_int_equal(count(text, "said-secret-value"), 0);
    assert_int_equal(count(text, "AKIDSAID"), 0);

    cfg.credentials_file = NULL;
    cfg.profile = MUT("nosuch");
    snprintf(home, sizeof(home), "%s", path_in("said-home"));
    assert_int_equal(mkdir(home, 0700), 0);
    assert_int_equal(mkdir(path_in("said-home/.aws"), 0700), 0);
    emu_write_file(path_in("said-home/.aws/credentials"), 0600,
                   "[default]\naws_access_key_id = AKIDDEF\n"
                   "aws_secret_access_key = d\n");
    vars[0][1] = home; /* HOME */
    capture_start(out);
    resolve_twice(&e, "ProfileNotFound");
    text = capture_end(out);
    snprintf(want, sizeof(want),
             "cmk-pkcs11: aws credentials: profile \"nosuch\" is in neither "
             "%s/.aws/credentials nor %s/.aws/config (ProfileNotFound)\n",
             home, home);
    assert_string_equal(text, want);

    /* Said again only after cmk_log_once_reset (C_Initialize). */
    capture_start(out);
    resolve_twice(&e, "ProfileNotFound");
    cmk_log_once_reset();
    resolve_twice(&e, "ProfileNotFound");
    text = capture_end(out);
    assert_string_equal(text, want);
}

/* Precedence among the sources that need no server. */
static void test_chain_order(void **state)
{
    struct cmk_cred_cfg cfg = {NULL, NULL, NULL, NULL, NULL};
    struct cmk_cred_env e;

    (void)state;
    env_init(&e, &cfg);
    expect_err(cmk_creds_resolve, &e, CMK_E_ACCESS_DENIED, "NoCredentials");
    emu_write_file(path_in("creds.ini"), 0600,
                   "[default]\naws_access_key_id = AKIDVAR\n"
                   "aws_secret_access_key = v\n");
    env_set("AWS_SHARED_CREDENTIALS_FILE", path_in("creds.ini"));
    expect_key(cmk_creds_resolve, &e, "AKIDVAR", "shared-credentials");
    env_set("AWS_ACCESS_KEY_ID", "AKIDENV");
    env_set("AWS_SECRET_ACCESS_KEY", "e");
    expect_key(cmk_creds_resolve, &e, "AKIDENV", "env");
    cfg.credentials_file = path_in("static.json");
    emu_write_file(cfg.credentials_file, 0600,
                   "{\"access_key_id\":\"AKIDFILE\",\"secret_access_key\":"
                   "\"f\"}");
    expect_key(cmk_creds_resolve, &e, "AKIDFILE", "static");
    cfg.credentials_file = NULL;
    cfg.profile = MUT("default"); /* skips the environment */
    expect_key(cmk_creds_resolve, &e, "AKIDVAR", "shared-credentials");
    assert_int_equal(cmk_creds_resolve(NULL, NULL, NULL), CMK_E_ARGS);
}

/* ---- The cache, with a fake clock and resolver ---- */

static int64_t fake_now;
static atomic_int resolves;
static int resolve_delay_ms;
static cmk_err resolve_result;
static int64_t resolve_life = 3600;

static int64_t clock_now(void)
{
    return fake_now;
}

static cmk_err fake_resolve(const struct cmk_cred_env *e,
                            struct cmk_cred_status *st, struct cmk_creds **out)
{
    char id[32];
    int n = atomic_fetch_add(&resolves, 1) + 1;

    (void)e;
    if (resolve_delay_ms > 0)
        usleep((useconds_t)resolve_delay_ms * 1000);
    if (resolve_result != CMK_OK) {
        snprintf(st->code, sizeof(st->code), "FakeFailure");
        return resolve_result;
    }
    snprintf(id, sizeof(id), "ASIAFAKE%d", n);
    return cmk_creds_new(id, "s", "t", fake_now + resolve_life, "fake", out);
}

static void cache_open(struct cmk_cred_cache *c)
{
    struct cmk_cred_env e;

    memset(&e, 0, sizeof(e));
    e.now = clock_now;
    fake_now = 1700000000;
    atomic_store(&resolves, 0);
    resolve_delay_ms = 0;
    resolve_result = CMK_OK;
    resolve_life = 3600;
    assert_int_equal(cmk_cred_cache_init(c, &e), CMK_OK);
    c->resolve = fake_resolve;
}

static void get_id(struct cmk_cred_cache *c, const char *want)
{
    struct cmk_cred_status st;
    struct cmk_creds *cr = NULL;

    assert_int_equal(cmk_cred_cache_get(c, &st, &cr), CMK_OK);
    assert_string_equal(cr->access_key_id, want);
    cmk_creds_unref(cr);
}

static void test_cache_refresh_ahead(void **state)
{
    struct cmk_cred_status st;
    struct cmk_creds *cr = NULL;
    struct cmk_cred_cache c;

    (void)state;
    cache_open(&c);
    get_id(&c, "ASIAFAKE1");
    fake_now += 3600 - CMK_CREDS_REFRESH_AHEAD_S - 1;
    get_id(&c, "ASIAFAKE1"); /* not due yet */
    assert_int_equal(atomic_load(&resolves), 1);
    fake_now += 2; /* inside the refresh window */
    get_id(&c, "ASIAFAKE2");
    assert_int_equal(atomic_load(&resolves), 2);
    /* a failed refresh keeps the current ones while they are valid, and
     * is not retried at once */
    fake_now += 3600 - CMK_CREDS_REFRESH_AHEAD_S + 1;
    resolve_result = CMK_E_NETWORK;
    get_id(&c, "ASIAFAKE2");
    get_id(&c, "ASIAFAKE2");
    assert_int_equal(atomic_load(&resolves), 3);
    /* once expired, the failure is the answer */
    fake_now += CMK_CREDS_REFRESH_AHEAD_S;
    assert_int_equal(cmk_cred_cache_get(&c, &st, &cr), CMK_E_NETWORK);
    assert_null(cr);
    assert_string_equal(st.code, "FakeFailure");
    resolve_result = CMK_OK;
    fake_now += 10; /* after the failure memo: tried again */
    get_id(&c, "ASIAFAKE5");
    cmk_cred_cache_fini(&c);
}

static void test_cache_drop(void **state)
{
    struct cmk_cred_status st;
    struct cmk_creds *cr = NULL;
    struct cmk_cred_cache c;

    (void)state;
    cache_open(&c);
    assert_int_equal(cmk_cred_cache_get(&c, &st, &cr), CMK_OK);
    cmk_cred_cache_drop(&c, cr);
    cmk_cred_cache_drop(&c, cr); /* no longer current: nothing */
    get_id(&c, "ASIAFAKE2");
    assert_string_equal(cr->access_key_id, "ASIAFAKE1"); /* still ours */
    cmk_creds_unref(cr);
    assert_int_equal(cmk_cred_cache_get(NULL, &st, &cr), CMK_E_ARGS);
    cmk_cred_cache_fini(&c);
}

struct getter {
    struct cmk_cred_cache *c;
    int64_t took_us;
    char id[32];
    cmk_err err;
};

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *getter(void *arg)
{
    struct getter *g = arg;
    struct cmk_cred_status st;
    struct cmk_creds *cr = NULL;
    int64_t t0 = mono_us();

    g->err = cmk_cred_cache_get(g->c, &st, &cr);
    g->took_us = mono_us() - t0;
    if (cr != NULL)
        snprintf(g->id, sizeof(g->id), "%s", cr->access_key_id);
    cmk_creds_unref(cr);
    return NULL;
}

/* Eight threads meet credentials that are due for refresh: one slow
 * refresh happens; the other seven go on with the current credentials
 * at once. */
static void test_cache_one_refresher(void **state)
{
    /* valgrind (make check-memcheck) runs one thread at a time and
     * slowly: a longer refresh keeps "at once" apart from "waited". */
    int scale = getenv("CMK_MEMCHECK") != NULL ? 10 : 1;
    struct getter g[8];
    pthread_t t[8];
    struct cmk_cred_cache c;
    int i, slow = 0, fresh = 0;

    (void)state;
    cache_open(&c);
    get_id(&c, "ASIAFAKE1");
    fake_now += 3600 - 100;
    resolve_delay_ms = 400 * scale;
    for (i = 0; i < 8; i++) {
        g[i].c = &c;
        g[i].id[0] = '\0';
        assert_int_equal(pthread_create(&t[i], NULL, getter, &g[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(g[i].err, CMK_OK);
        slow += g[i].took_us >= 300000 * scale;
        fresh += strcmp(g[i].id, "ASIAFAKE2") == 0;
    }
    assert_int_equal(atomic_load(&resolves), 2);
    assert_int_equal(slow, 1);
    assert_int_equal(fresh, 1);
    cmk_cred_cache_fini(&c);
}

/* With nothing valid, callers wait for the one refresh in progress. */
static void test_cache_waiters(void **state)
{
    struct getter g[4];
    pthread_t t[4];
    struct cmk_cred_cache c;
    int i;

    (void)state;
    cache_open(&c);
    resolve_delay_ms = 300;
    for (i = 0; i < 4; i++) {
        g[i].c = &c;
        assert_int_equal(pthread_create(&t[i], NULL, getter, &g[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(g[i].err, CMK_OK);
        assert_string_equal(g[i].id, "ASIAFAKE1");
    }
    assert_int_equal(atomic_load(&resolves), 1);
    cmk_cred_cache_fini(&c);
}

/* ---- Sources with an endpoint (emulator) ---- */

/* Temporary credentials from source fn (the emulator's are ASIA...). */
static void expect_temp(cmk_cred_source_fn fn, const struct cmk_cred_env *e,
                        const char *source)
{
    struct cmk_cred_status st;
    struct cmk_creds *c = NULL;

    memset(&st, 0, sizeof(st));
    assert_int_equal(fn(e, &st, &c), CMK_OK);
    assert_non_null(c);
    assert_memory_equal(c->access_key_id, "ASIA", 4);
    assert_non_null(c->session_token);
    assert_true(c->expires > 0);
    assert_string_equal(c->source, source);
    cmk_creds_unref(c);
}

#define NEED_EMULATOR()                                                        \
    do {                                                                       \
        if (emu_http_url() == NULL)                                            \
            skip();                                                            \
    } while (0)

/* Every call of op logged since the last reset_calls (at least one)
 * named the module and its version as User-Agent. */
static void expect_user_agent(const char *op)
{
    json_t *r = emu_ctl("calls", "{\"op\":\"%s\"}", op), *c;
    json_t *calls = json_object_get(r, "calls");
    char want[128];
    size_t i;

    snprintf(want, sizeof(want), "cmk-pkcs11/%s os/linux lang/c md/curl#%s",
             PACKAGE_VERSION, curl_version_info(CURLVERSION_NOW)->version);
    assert_true(json_array_size(calls) > 0);
    json_array_foreach(calls, i, c)
    {
        const char *ua = json_string_value(json_object_get(c, "user_agent"));

        assert_non_null(ua);
        assert_string_equal(ua, want);
    }
    json_decref(r);
}

static void test_web_identity(void **state)
{
    struct cmk_cred_cfg cfg = {NULL, NULL, NULL, NULL, NULL};
    struct cmk_creds *c = NULL;
    struct cmk_cred_status st;
    struct cmk_cred_env e;
    char sts[300];

    (void)state;
    NEED_EMULATOR();
    snprintf(sts, sizeof(sts), "%s/", emu_http_url());
    cfg.sts_endpoint = sts;
    env_init(&e, &cfg);
    expect_none(cmk_creds_from_web_identity, &e);
    emu_write_file(path_in("web-token"), 0600, "token-one\n");
    env_set("AWS_WEB_IDENTITY_TOKEN_FILE", path_in("web-token"));
    expect_none(cmk_creds_from_web_identity, &e); /* no role: not this */
    env_set("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/web-env");
    emu_do("web_identity", "{\"tokens\":[\"token-one\"]}");
    emu_do("reset_calls", "{}");
    memset(&st, 0, sizeof(st));
    assert_int_equal(cmk_creds_from_web_identity(&e, &st, &c), CMK_OK);
    assert_memory_equal(c->access_key_id, "ASIA", 4);
    assert_non_null(c->session_token);
    assert_true(c->expires > (int64_t)time(NULL) + 3000);
    assert_string_equal(c->source, "web-identity");
    cmk_creds_unref(c);
    assert_int_equal(emu_count("AssumeRoleWithWebIdentity"), 1);
    expect_user_agent("AssumeRoleWithWebIdentity");
    /* the token file is read on every call: a rotated token is used */
    emu_do("web_identity", "{\"tokens\":[\"token-two\"]}");
    expect_err(cmk_creds_from_web_identity, &e, CMK_E_ACCESS_DENIED,
               "InvalidIdentityToken");
    emu_write_file(path_in("web-token"), 0600, "token-two");
    expect_temp(cmk_creds_from_web_identity, &e, "web-identity");
    /* the tenant's role wins over AWS_ROLE_ARN; a bad one is refused */
    cfg.role_arn = MUT("not-an-arn");
    expect_err(cmk_creds_from_web_identity, &e, CMK_E_CONFIG,
               "ValidationError");
    cfg.role_arn = MUT("arn:aws:iam::111122223333:role/web-cfg");
    expect_temp(cmk_creds_from_web_identity, &e, "web-identity");
    emu_do("web_identity", "{\"tokens\":null}");
}

/* STS may throttle: retried like any other endpoint. */
/* An STS error code is printed and logged: only the characters a code
 * may hold survive, and one with none left is StsMalformed. */
static void test_sts_error_code_cleaned(void **state)
{
    struct cmk_cred_status st;
    struct cmk_creds *c = NULL;

    (void)state;
    memset(&st, 0, sizeof(st));
    assert_int_equal(
        cmk_creds_sts_answer(400,
                             "<ErrorResponse><Error><Code>Invalid\x1b[2J"
                             "Identity\nToken</Code></Error></ErrorResponse>",
                             &st, &c),
        CMK_E_ACCESS_DENIED);
    assert_string_equal(st.code, "Invalid2JIdentityToken");
    assert_null(c);
    memset(&st, 0, sizeof(st));
    assert_int_equal(
        cmk_creds_sts_answer(
            400,
            "<ErrorResponse><Error><Code>\x07&lt;&gt;</Code></Error>"
            "</ErrorResponse>",
            &st, &c),
        CMK_E_BAD_RESPONSE);
    assert_string_equal(st.code, "StsMalformed");
}

static void test_web_identity_throttled(void **state)
{
    struct cmk_cred_cfg cfg = {NULL, NULL, NULL, NULL, NULL};
    struct cmk_cred_env e;
    char sts[300];

    (void)state;
    NEED_EMULATOR();
    snprintf(sts, sizeof(sts), "%s/", emu_http_url());
    cfg.sts_endpoint = sts;
    cfg.role_arn = MUT("arn:aws:iam::111122223333:role/web-cfg");
    env_init(&e, &cfg);
    emu_write_file(path_in("web-token"), 0600, "tok");
    env_set("AWS_WEB_IDENTITY_TOKEN_FILE", path_in("web-token"));
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"error_5xx_rate\":1,\"count\":1,\"for_ops\":"
                     "[\"STS\",\"AssumeRoleWithWebIdentity\"]}");
    expect_temp(cmk_creds_resolve, &e, "web-identity");
    assert_int_equal(emu_count(NULL), 2);
    emu_do("clear_faults", "{}");
}

static void test_container(void **state)
{
    struct cmk_cred_env e;
    char full[300], bad[64];

    (void)state;
    NEED_EMULATOR();
    env_init(&e, NULL);
    expect_none(cmk_creds_from_container, &e);
    snprintf(full, sizeof(full), "%s/container/creds", emu_http_url());
    env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", full);
    emu_do("container", "{\"token\":\"\"}");
    emu_do("reset_calls", "{}");
    expect_temp(cmk_creds_from_container, &e, "container");
    expect_user_agent("ContainerCredentials");
    emu_do("container", "{\"token\":\"Bearer pod-token\"}");
    expect_err(cmk_creds_from_container, &e, CMK_E_ACCESS_DENIED,
               "ContainerCredentialsRefused");
    env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer pod-token");
    expect_temp(cmk_creds_from_container, &e, "container");
    emu_write_file(path_in("pod-token"), 0600, "Bearer wrong\n");
    env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path_in("pod-token"));
    expect_err(cmk_creds_from_container, &e, CMK_E_ACCESS_DENIED,
               "ContainerCredentialsRefused"); /* the file wins */
    emu_write_file(path_in("pod-token"), 0600, "Bearer pod-token\n");
    expect_temp(cmk_creds_from_container, &e, "container");
    /* the relative form goes to the ECS address, here the emulator */
    env_init(&e, NULL);
    e.container_host = emu_http_url();
    emu_do("container", "{\"token\":\"\"}");
    env_set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/container/v2/x");
    expect_temp(cmk_creds_resolve, &e, "container");
    /* a full URI over plain http to a foreign host is refused */
    env_init(&e, NULL);
    snprintf(bad, sizeof(bad), "http://192.0.2.1/creds");
    env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad);
    expect_err(cmk_creds_from_container, &e, CMK_E_CONFIG,
               "CredentialEndpointUnreachable");
}

static void test_imds(void **state)
{
    struct cmk_cred_cfg cfg = {NULL, NULL, NULL, NULL, NULL};
    struct cmk_cred_env e;
    char base[300];

    (void)state;
    NEED_EMULATOR();
    env_init(&e, &cfg);
    expect_none(cmk_creds_from_imds, &e); /* AWS_EC2_METADATA_DISABLED */
    n_vars = 1;                           /* only HOME */
    snprintf(base, sizeof(base), "%s/", emu_http_url());
    env_set("AWS_EC2_METADATA_SERVICE_ENDPOINT", base);
    emu_do("imds", "{\"enabled\":true,\"role\":\"unit-role\"}");
    emu_do("reset_calls", "{}");
    expect_temp(cmk_creds_resolve, &e, "imds");
    assert_int_equal(emu_count("IMDS.Token"), 1);
    assert_int_equal(emu_count("IMDS.Role"), 1);
    assert_int_equal(emu_count("IMDS.Credentials"), 1);
    expect_user_agent("IMDS.Token");
    expect_user_agent("IMDS.Role");
    expect_user_agent("IMDS.Credentials");
    n_vars = 1;
    cfg.imds_endpoint = MUT(emu_http_url()); /* no trailing '/' */
    expect_temp(cmk_creds_from_imds, &e, "imds");
    emu_do("imds", "{\"role\":\"\"}");
    expect_err(cmk_creds_from_imds, &e, CMK_E_ACCESS_DENIED, "ImdsRefused");
    emu_do("imds", "{\"enabled\":false}");
    expect_err(cmk_creds_from_imds, &e, CMK_E_ACCESS_DENIED, "ImdsRefused");
    emu_do("imds", "{\"enabled\":true,\"role\":\"emu-instance-role\"}");
}

/* ---- Setup ---- */

static int group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    if (test_scratch_make("cmk-creds", dir, sizeof(dir)) != 0)
        return -1;
    snprintf(nohome, sizeof(nohome), "%s/nohome", dir);
    return cmk_http_new(NULL, &http) == CMK_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cmk_http_free(http);
    return test_scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ini),
        cmocka_unit_test(test_ini_errors),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_static_file),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_chain_order),
        cmocka_unit_test(test_said_once),
        cmocka_unit_test(test_cache_refresh_ahead),
        cmocka_unit_test(test_cache_drop),
        cmocka_unit_test(test_cache_one_refresher),
        cmocka_unit_test(test_cache_waiters),
        cmocka_unit_test(test_web_identity),
        cmocka_unit_test(test_web_identity_throttled),
        cmocka_unit_test(test_sts_error_code_cleaned),
        cmocka_unit_test(test_container),
        cmocka_unit_test(test_imds),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
