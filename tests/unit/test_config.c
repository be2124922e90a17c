/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: core/settings. Error cases are directories under
 * tests/fixtures/config/ (config.json + expected.txt, "@DIR@" standing for
 * the case directory), copied to a temp dir where key files get their mode.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/settings.h"
#include "providers/aws_cfg.h"
#include "providers/azure_cfg.h"
#include "providers/vault_cfg.h"
#include "providers/gcp_cfg.h"
#include "providers/provider.h"
#include "tests/lib/scratch.h"

#define FIXTURES SRCDIR "/tests/fixtures/config"

struct kase {
    const char *name;
    mode_t key_mode; /* mode of acme.key in the case dir */
};

static const struct kase bad_cases[] = {
    {"bad-cache-ttl", 0600},
    {"bad-cmk-id", 0600},
    {"bad-cmk-id-odd", 0600},
    {"bad-context-tenant", 0600},
    {"bad-context-value-type", 0600},
    {"bad-duplicate-key", 0600},
    {"bad-duplicate-label", 0600},
    {"bad-fsync", 0600},
    {"bad-json-syntax", 0600},
    {"bad-kek-base64", 0600},
    {"bad-kek-commitment-length", 0600},
    {"bad-kek-commitment-alone", 0600},
    {"bad-key-missing", 0600},
    {"bad-key-mode", 0644},
    {"bad-key-relative", 0600},
    {"bad-label-33", 0600},
    {"bad-label-slash", 0600},
    {"bad-label-type", 0600},
    {"bad-login-required-type", 0600},
    {"bad-missing-key", 0600},
    {"bad-missing-label", 0600},
    {"bad-missing-pin", 0600},
    {"bad-missing-provider", 0600},
    {"bad-missing-tenants", 0600},
    {"bad-pin-format", 0600},
    {"bad-previous-key-missing", 0600},
    {"bad-provider-aws", 0600},
    {"bad-provider-unknown", 0600},
    {"bad-store-dir-relative", 0600},
    {"bad-tenant-not-object", 0600},
    {"bad-tenants-empty", 0600},
    {"bad-tenants-type", 0600},
    {"bad-top-array", 0600},
    {"bad-unknown-tenant", 0600},
    {"bad-unknown-top", 0600},
    {"bad-version", 0600},
    /* "key_pairs" */
    {"bad-kp-cert-missing", 0600},
    {"bad-kp-gcp-not-version", 0600},
    {"bad-kp-vault-version", 0600},
    {"bad-kp-cert-relative", 0600},
    {"bad-kp-id-cmk", 0600},
    {"bad-kp-id-dup", 0600},
    {"bad-kp-id-hex", 0600},
    {"bad-kp-id-long", 0600},
    {"bad-kp-key-missing", 0600},
    {"bad-kp-key-relative", 0600},
    {"bad-kp-label-cmk", 0600},
    {"bad-kp-label-dup", 0600},
    {"bad-kp-label-long", 0600},
    {"bad-kp-label-missing", 0600},
    {"bad-kp-not-array", 0600},
    {"bad-kp-not-object", 0600},
    {"bad-kp-pin", 0600},
    {"bad-kp-unknown-field", 0600},
    {"bad-kp-usage", 0600},
    {"bad-kp-usage-empty", 0600},
    {"bad-kp-usage-twice", 0600},
    /* provider aws, tenant "aws" and global "http" objects */
    {"bad-aws-credentials-relative", 0600},
    {"bad-aws-endpoint-http", 0600},
    {"bad-aws-endpoint-scheme", 0600},
    {"bad-aws-imds-http", 0600},
    {"bad-aws-key-arn-service", 0600},
    {"bad-aws-object-local", 0600},
    {"bad-aws-previous-key", 0600},
    {"bad-aws-profile-type", 0600},
    {"bad-aws-region", 0600},
    {"bad-gcp-key", 0600},
    {"bad-gcp-region", 0600},
    {"bad-gcp-unknown-field", 0600},
    {"bad-azure-algorithm", 0600},
    {"bad-azure-api-version", 0600},
    {"bad-azure-cert-alg", 0600},
    {"bad-azure-endpoint", 0600},
    {"bad-azure-imds-http", 0600},
    {"bad-azure-key", 0600},
    {"bad-azure-mi-two", 0600},
    {"bad-azure-region", 0600},
    {"bad-azure-secret-relative", 0600},
    {"bad-azure-ttl", 0600},
    {"bad-azure-two-sources", 0600},
    {"bad-azure-unknown-field", 0600},
    {"bad-vault-address-http", 0600},
    {"bad-vault-approle-role", 0600},
    {"bad-vault-cert-key", 0600},
    {"bad-vault-endpoint", 0600},
    {"bad-vault-key", 0600},
    {"bad-vault-mount", 0600},
    {"bad-vault-redirect", 0600},
    {"bad-vault-region", 0600},
    {"bad-vault-token-relative", 0600},
    {"bad-vault-ttl", 0600},
    {"bad-vault-two-logins", 0600},
    {"bad-vault-unknown-field", 0600},
    {"bad-aws-role-arn", 0600},
    {"bad-aws-sts-http", 0600},
    {"bad-aws-unknown-field", 0600},
    {"bad-http-attempts", 0600},
    {"bad-http-ca-missing", 0600},
    {"bad-http-ca-relative", 0600},
    {"bad-http-not-object", 0600},
    {"bad-http-timeout-type", 0600},
    {"bad-http-unknown", 0600},
    /* dual control: the provider key of a tenant */
    {"bad-dual-not-object", 0600},
    {"bad-dual-unknown-field", 0600},
    {"bad-dual-provider-missing", 0600},
    {"bad-dual-provider-unknown", 0600},
    {"bad-dual-key-missing", 0600},
    {"bad-dual-key-relative", 0600},
    {"bad-dual-same-key", 0600},
    {"bad-dual-previous-key", 0600},
    {"bad-dual-kek-alone", 0600},
    {"bad-dual-kek-missing", 0600},
    {"bad-dual-kek-base64", 0600},
    {"bad-dual-ttl", 0600},
    {"bad-dual-aws-object-local", 0600},
    {"bad-dual-aws-key", 0600},
    {"bad-dual-aws-region", 0600},
    {"bad-dual-endpoint-http", 0600},
    /* audit writer: key tenant, rotation, syslog */
    {"bad-audit-key-tenant", 0600},
    {"bad-audit-key-tenant-type", 0600},
    {"bad-audit-max-bytes", 0600},
    {"bad-audit-max-bytes-type", 0600},
    {"bad-audit-keep", 0600},
    {"bad-audit-rotated-name", 0600},
    {"bad-audit-syslog", 0600},
    /* PIN guessing limits */
    {"bad-pin-cost", 0600},
    {"bad-max-pin-failures", 0600},
    /* the circuit breaker ("health") */
    {"bad-health-breaker", 0600},
    {"bad-health-probe-order", 0600},
    {"bad-health-unknown", 0600},
    {"bad-key-change-interval", 0600},
    {"bad-key-change-interval-type", 0600},
};

static const char *const good_cases[] = {
    "good-full",        "good-minimal",  "good-pin-file", "good-aws",
    "good-aws-minimal", "good-dual",     "good-gcp",      "good-azure",
    "good-vault",       "good-key-pairs"};

static const char *const key_files[] = {"acme.key", "beta.key", "old1.key",
                                        "old2.key"};

static char tmp_root[256];

/* ---- Fixture handling ---- */

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    return buf;
}

/* Heap copy of s with every "@DIR@" replaced by dir. */
static char *subst(const char *s, const char *dir)
{
    size_t cap = strlen(s) * (strlen(dir) + 1) + 1, o = 0;
    char *out = calloc(1, cap);

    assert_non_null(out);
    while (*s != '\0') {
        if (strncmp(s, "@DIR@", 5) == 0) {
            memcpy(out + o, dir, strlen(dir));
            o += strlen(dir);
            s += 5;
        } else {
            out[o++] = *s++;
        }
    }
    return out;
}

static void put_file(const char *path, const char *content, mode_t mode)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)),
                     (ssize_t)strlen(content));
    assert_int_equal(close(fd), 0);
    assert_int_equal(chmod(path, mode), 0); /* git keeps no modes */
}

/* Copies fixture case name to tmp_root/name, expanding @DIR@, and creates
 * the key files. Returns the case dir (static buffer). */
static const char *prepare(const char *name, mode_t key_mode)
{
    static char dir[400];
    char src[512], dst[700], *raw, *text;
    struct dirent *de;
    DIR *d;
    size_t i;

    snprintf(dir, sizeof(dir), "%s/%s", tmp_root, name);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(src, sizeof(src), "%s/%s", FIXTURES, name);
    d = opendir(src);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "expected.txt") == 0)
            continue;
        snprintf(src, sizeof(src), "%s/%s/%s", FIXTURES, name, de->d_name);
        snprintf(dst, sizeof(dst), "%s/%s", dir, de->d_name);
        raw = slurp(src);
        text = subst(raw, dir);
        put_file(dst, text, 0600);
        free(raw);
        free(text);
    }
    closedir(d);
    for (i = 0; i < sizeof(key_files) / sizeof(key_files[0]); i++) {
        snprintf(dst, sizeof(dst), "%s/%s", dir, key_files[i]);
        put_file(dst, "0123456789abcdef0123456789abcdef", 0600);
    }
    snprintf(dst, sizeof(dst), "%s/acme.key", dir);
    assert_int_equal(chmod(dst, key_mode), 0);
    return dir;
}

static struct cmk_config *load_good(const char *name, const char **dir)
{
    struct cmk_config *cfg = NULL;
    char path[512], err[1024];

    *dir = prepare(name, 0600);
    snprintf(path, sizeof(path), "%s/config.json", *dir);
    if (cmk_config_load(path, &cfg, err, sizeof(err)) != CMK_OK)
        fail_msg("%s", err);
    assert_non_null(cfg);
    assert_string_equal(err, "");
    assert_string_equal(cfg->path, path);
    return cfg;
}

static int group_setup(void **state)
{
    (void)state;
    return test_scratch_make("cmk-config", tmp_root, sizeof(tmp_root));
}

static int group_teardown(void **state)
{
    (void)state;
    return test_scratch_remove(tmp_root);
}

/* ---- Error cases ---- */

static void test_bad_case(void **state)
{
    const struct kase *k = *state;
    struct cmk_config *cfg = (struct cmk_config *)1;
    char path[512], src[512], err[1024];
    char *raw, *want;
    const char *dir;
    size_t n;

    dir = prepare(k->name, k->key_mode);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    snprintf(src, sizeof(src), "%s/%s/expected.txt", FIXTURES, k->name);
    raw = slurp(src);
    want = subst(raw, dir);
    n = strlen(want);
    while (n > 0 && want[n - 1] == '\n')
        want[--n] = '\0';
    assert_int_equal(cmk_config_load(path, &cfg, err, sizeof(err)),
                     CMK_E_CONFIG);
    assert_null(cfg);
    assert_string_equal(err, want);
    free(raw);
    free(want);
}

/* Every fixture directory is run by this program. */
static void test_all_fixtures_listed(void **state)
{
    struct dirent *de;
    size_t i, seen = 0;
    bool found;
    DIR *d;

    (void)state;
    d = opendir(FIXTURES);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        found = false;
        for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
            found |= strcmp(bad_cases[i].name, de->d_name) == 0;
        for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++)
            found |= strcmp(good_cases[i], de->d_name) == 0;
        if (!found)
            fail_msg("fixture %s is not listed in test_config.c", de->d_name);
        seen++;
    }
    closedir(d);
    assert_int_equal(seen, sizeof(bad_cases) / sizeof(bad_cases[0]) +
                               sizeof(good_cases) / sizeof(good_cases[0]));
}

static void test_unreadable_and_args(void **state)
{
    struct cmk_config *cfg = NULL;
    char err[512], want[512], tiny[16];

    (void)state;
    assert_int_equal(
        cmk_config_load("/nonexistent/cmk.json", &cfg, err, sizeof(err)),
        CMK_E_CONFIG);
    assert_null(cfg);
    assert_string_equal(err, "/nonexistent/cmk.json: cannot open: No such "
                             "file or directory");
    /* A directory (the scratch root) is not a config file. */
    assert_int_equal(cmk_config_load(tmp_root, &cfg, err, sizeof(err)),
                     CMK_E_CONFIG);
    snprintf(want, sizeof(want),
             "%s: not a regular file of at most 67108864 bytes", tmp_root);
    assert_string_equal(err, want);
    /* A short buffer is cut and still terminated; none at all is fine. */
    assert_int_equal(
        cmk_config_load("/nonexistent/cmk.json", &cfg, tiny, sizeof(tiny)),
        CMK_E_CONFIG);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_string_equal(tiny + sizeof(tiny) - 4, "...");
    assert_int_equal(cmk_config_load("/nonexistent/cmk.json", &cfg, NULL, 0),
                     CMK_E_CONFIG);
    assert_int_equal(cmk_config_load(NULL, &cfg, err, sizeof(err)), CMK_E_ARGS);
    assert_int_equal(cmk_config_load("/x", NULL, err, sizeof(err)), CMK_E_ARGS);
    cmk_config_free(NULL);
}

/* A control character in a field name does not reach the message. */
static void test_message_is_one_line(void **state)
{
    struct cmk_config *cfg = NULL;
    char path[512], err[1024];

    (void)state;
    snprintf(path, sizeof(path), "%s/ctl.json", tmp_root);
    put_file(path, "{\"bad\\nfield\\u001b[31m\": 1}", 0600);
    assert_int_equal(cmk_config_load(path, &cfg, err, sizeof(err)),
                     CMK_E_CONFIG);
    assert_non_null(strstr(err, ": bad?field?[31m: unknown field"));
}

/* ---- Good configs ---- */

static void test_good_minimal(void **state)
{
    const struct cmk_tenant_cfg *t;
    struct cmk_config *cfg;
    char want[512];
    const char *dir;

    (void)state;
    cfg = load_good("good-minimal", &dir);
    assert_string_equal(cfg->store_dir, LOCALSTATEDIR "/lib/cmk-pkcs11");
    assert_null(cfg->audit.file);
    assert_int_equal(cfg->audit.fsync, CMK_FSYNC_INTERVAL);
    assert_true(cfg->audit.required);
    assert_null(cfg->audit.key_tenant); /* the first tenant */
    assert_int_equal(cfg->audit.max_bytes, 0);
    assert_int_equal(cfg->audit.keep, 5);
    assert_false(cfg->audit.syslog);
    assert_ptr_equal(cmk_config_audit_key_tenant(cfg), &cfg->tenants[0]);
    assert_int_equal(cfg->cache.limits.ttl_s, 300);
    assert_int_equal(cfg->cache.limits.max_entries, 4096);
    assert_false(cfg->cache.per_session);
    assert_int_equal(cfg->n_tenants, 1);
    t = &cfg->tenants[0];
    assert_string_equal(t->kms.label, "acme");
    assert_string_equal(t->kms.provider, "local");
    snprintf(want, sizeof(want), "%s/acme.key", dir);
    assert_string_equal(t->kms.key_ref, want);
    assert_true(t->login_required);
    assert_memory_equal(t->pin_verifier, "$argon2id$v=19$", 15);
    assert_int_equal(t->kms.n_previous, 0);
    assert_int_equal(t->kms.n_context, 0);
    assert_int_equal(t->kms.kek_blob_len, 0);
    assert_false(t->kms.has_kek_commitment);
    assert_string_equal(t->cmk_label, "acme-cmk");
    assert_int_equal(t->cmk_id_len, 1);
    assert_int_equal(t->cmk_id[0], 0x01);
    assert_string_equal(t->store_dir, LOCALSTATEDIR "/lib/cmk-pkcs11/acme");
    assert_null(t->kms.endpoint);
    assert_null(t->kms.region);
    assert_false(t->test_mode);
    assert_int_equal(t->max_pin_failures, 10);
    assert_int_equal(t->key_change_interval_s, 600);
    assert_ptr_equal(cmk_config_tenant(cfg, "acme"), t);
    assert_null(cmk_config_tenant(cfg, "acm"));
    assert_null(cmk_config_tenant(cfg, NULL));
    assert_null(cmk_config_tenant(NULL, "acme"));
    cmk_config_free(cfg);
}

static void check_full_acme(const struct cmk_tenant_cfg *t, const char *dir)
{
    char want[512];
    size_t i;

    assert_string_equal(t->kms.label, "acme");
    snprintf(want, sizeof(want), "%s/old2.key", dir);
    assert_int_equal(t->kms.n_previous, 2);
    assert_string_equal(t->kms.previous_key_refs[1], want);
    assert_int_equal(t->kms.kek_blob_len, 18);
    assert_memory_equal(t->kms.kek_blob,
                        "CMKE\x01\x01\x00\x02k1\0\0\0\x04"
                        "abcd",
                        18);
    assert_true(t->kms.has_kek_commitment);
    for (i = 0; i < sizeof(t->kms.kek_commitment); i++)
        assert_int_equal(t->kms.kek_commitment[i], i);
    assert_int_equal(t->kms.n_context, 2);
    assert_string_equal(t->kms.context[0].key, "app");
    assert_string_equal(t->kms.context[0].value, "billing");
    assert_string_equal(t->kms.context[1].key, "env");
    assert_string_equal(t->kms.context[1].value, "");
    assert_string_equal(t->cmk_label, "acme key");
    assert_int_equal(t->cmk_id_len, 2);
    assert_memory_equal(t->cmk_id, "\x0a\x0b", 2);
    snprintf(want, sizeof(want), "%s/acme-objects", dir);
    assert_string_equal(t->store_dir, want);
    assert_string_equal(t->kms.endpoint, "http://127.0.0.1:4566");
    assert_string_equal(t->kms.region, "eu-west-1");
    assert_true(t->test_mode); /* so its min-cost verifier is accepted */
    assert_memory_equal(t->pin_verifier, "$argon2id$v=19$m=8,t=1,", 23);
    assert_int_equal(t->max_pin_failures, 5);
    assert_int_equal(t->key_change_interval_s, 0); /* 0: no minimum */
    assert_true(t->login_required);
}

static void test_good_full(void **state)
{
    const struct cmk_tenant_cfg *t;
    struct cmk_config *cfg;
    char want[512];
    const char *dir;

    (void)state;
    cfg = load_good("good-full", &dir);
    snprintf(want, sizeof(want), "%s/store", dir);
    assert_string_equal(cfg->store_dir, want);
    snprintf(want, sizeof(want), "%s/audit.jsonl", dir);
    assert_string_equal(cfg->audit.file, want);
    assert_int_equal(cfg->audit.fsync, CMK_FSYNC_ALWAYS);
    assert_false(cfg->audit.required);
    assert_string_equal(cfg->audit.key_tenant, "beta corp");
    assert_int_equal(cfg->audit.max_bytes, 1099511627776ULL);
    assert_int_equal(cfg->audit.keep, 3);
    assert_true(cfg->audit.syslog);
    assert_ptr_equal(cmk_config_audit_key_tenant(cfg), &cfg->tenants[1]);
    assert_int_equal(cfg->cache.limits.ttl_s, 60);
    assert_int_equal(cfg->cache.limits.max_entries, 10);
    assert_true(cfg->cache.per_session);
    assert_int_equal(cfg->n_tenants, 2);
    check_full_acme(&cfg->tenants[0], dir);
    t = cmk_config_tenant(cfg, "beta corp");
    assert_ptr_equal(t, &cfg->tenants[1]);
    assert_false(t->login_required);
    assert_null(t->pin_verifier); /* checked, not kept */
    assert_string_equal(t->cmk_label, "beta corp-cmk");
    snprintf(want, sizeof(want), "%s/store/beta corp", dir);
    assert_string_equal(t->store_dir, want);
    cmk_config_free(cfg);
}

static void test_good_pin_file(void **state)
{
    struct cmk_config *cfg;
    const char *dir;

    (void)state;
    cfg = load_good("good-pin-file", &dir);
    assert_string_equal(cfg->tenants[0].pin_verifier,
                        "$argon2id$v=19$m=65536,t=2,p=1$UTl/iVdPG4kaK80Jjq8wMA"
                        "$2E4m87E6rYnYXFMeozNXNOlEqfArQM/h8rqZqnoc67c");
    cmk_config_free(cfg);
}

/* The aws provider's settings of an aws tenant with an "aws" object. */
static const struct cmk_cred_cfg *aws_of(const struct cmk_tenant_cfg *t)
{
    const struct cmk_aws_cfg *a = t->kms.provider_cfg;

    assert_non_null(a);
    return &a->creds;
}

static void check_aws_acme(const struct cmk_tenant_cfg *t, const char *dir)
{
    char want[512];

    assert_string_equal(t->kms.provider, "aws");
    assert_string_equal(t->kms.key_ref,
                        "arn:aws:kms:eu-west-1:111122223333:key/"
                        "1234abcd-12ab-34cd-56ef-1234567890ab");
    assert_int_equal(t->kms.n_previous, 3);
    assert_string_equal(t->kms.previous_key_refs[0], "alias/acme-2023");
    assert_string_equal(t->kms.previous_key_refs[2],
                        "mrk-1234abcd12ab34cd56ef1234567890ab");
    assert_string_equal(t->kms.region, "eu-west-1");
    assert_string_equal(t->kms.endpoint,
                        "https://vpce-0a1b2c3d4e5f-abcdefgh.kms."
                        "eu-west-1.vpce.amazonaws.com");
    assert_string_equal(aws_of(t)->profile, "tenant-acme");
    snprintf(want, sizeof(want), "%s/acme-credentials.json", dir);
    assert_string_equal(aws_of(t)->credentials_file, want);
    assert_string_equal(aws_of(t)->sts_endpoint, "http://127.0.0.1:4566/");
    assert_string_equal(aws_of(t)->imds_endpoint, "http://[fd00:ec2::254]");
    assert_string_equal(aws_of(t)->role_arn,
                        "arn:aws:iam::111122223333:role/cmk-acme");
}

/* Provider aws, the tenant "aws" object and the global "http" object. */
static void test_good_aws(void **state)
{
    const struct cmk_tenant_cfg *t;
    struct cmk_config *cfg;
    char want[512];
    const char *dir;

    (void)state;
    cfg = load_good("good-aws", &dir);
    assert_int_equal(cfg->http.connect_timeout_ms, 500);
    assert_int_equal(cfg->http.timeout_ms, 4000);
    assert_int_equal(cfg->http.max_attempts, 5);
    snprintf(want, sizeof(want), "%s/ca.pem", dir);
    assert_string_equal(cfg->http.ca_file, want);
    check_aws_acme(&cfg->tenants[0], dir);
    assert_ptr_equal(cfg->tenants[0].kms.http, &cfg->http);
    t = &cfg->tenants[1];
    assert_string_equal(t->kms.key_ref, "1234abcd-12ab-34cd-56ef-1234567890ab");
    assert_null(t->kms.region); /* from the environment at provider init */
    assert_string_equal(t->kms.endpoint, "http://localhost:8080/");
    assert_null(t->kms.provider_cfg); /* no "aws" object */
    assert_ptr_equal(t->kms.http, &cfg->http);
    cmk_config_free(cfg);
}

/* Without an "http" object the defaults apply; region may come later. */
static void test_good_key_pairs(void **state)
{
    static const uint8_t pin[32] = {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
        0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    const struct cmk_tenant_cfg *t;
    struct cmk_config *cfg;
    const char *dir;
    char want[512];

    (void)state;
    cfg = load_good("good-key-pairs", &dir);
    t = &cfg->tenants[0];
    assert_int_equal(t->n_key_pairs, 2);
    assert_string_equal(t->key_pairs[0].label, "tls");
    assert_int_equal(t->key_pairs[0].id_len, 2);
    assert_memory_equal(t->key_pairs[0].id, "\xa1\xb2", 2);
    snprintf(want, sizeof(want), "%s/old1.key", dir);
    assert_string_equal(t->key_pairs[0].key_ref, want);
    assert_int_equal(t->key_pairs[0].usage, CMK_ASYM_USE_SIGN);
    snprintf(want, sizeof(want), "%s/config.json", dir);
    assert_string_equal(t->key_pairs[0].cert_path, want);
    assert_true(t->key_pairs[0].has_pin);
    assert_memory_equal(t->key_pairs[0].pin, pin, 32);
    assert_string_equal(t->key_pairs[1].label, "dec");
    assert_int_equal(t->key_pairs[1].usage, 0);
    assert_null(t->key_pairs[1].cert_path);
    assert_false(t->key_pairs[1].has_pin);
    cmk_config_free(cfg);
}

static void test_http_defaults(void **state)
{
    struct cmk_config *cfg;
    const char *dir;

    (void)state;
    cfg = load_good("good-aws-minimal", &dir);
    assert_string_equal(cfg->tenants[0].kms.key_ref, "alias/acme");
    assert_null(cfg->tenants[0].kms.region);
    assert_null(cfg->tenants[0].kms.endpoint);
    assert_int_equal(cfg->http.connect_timeout_ms, 2000);
    assert_int_equal(cfg->http.timeout_ms, 10000);
    assert_int_equal(cfg->http.max_attempts, 3);
    assert_null(cfg->http.ca_file);
    assert_null(cfg->tenants[0].kms.provider_cfg);
    assert_ptr_equal(cfg->tenants[0].kms.http, &cfg->http);
    cmk_config_free(cfg);
}

/* Dual control: the provider key's own provider settings; label,
 * context and http are the tenant's; no dual_control, no dual. */
static void test_good_dual(void **state)
{
    const struct cmk_aws_cfg *a;
    const struct cmk_kms_cfg *d;
    struct cmk_config *cfg;
    char want[512];
    const char *dir;

    (void)state;
    cfg = load_good("good-dual", &dir);
    d = cfg->tenants[0].kms.dual;
    assert_non_null(d);
    assert_string_equal(d->provider, "aws");
    assert_string_equal(d->key_ref, "arn:aws:kms:eu-west-1:111122223333:key/"
                                    "1234abcd-12ab-34cd-56ef-1234567890ab");
    assert_int_equal(d->kek_blob_len, 4);
    assert_memory_equal(d->kek_blob, "\x01\x02\x03\x04", 4);
    assert_string_equal(d->region, "eu-west-1");
    assert_string_equal(d->endpoint, "http://127.0.0.1:4566/");
    a = d->provider_cfg;
    assert_non_null(a);
    assert_string_equal(a->creds.profile, "platform");
    assert_ptr_equal(d->label, cfg->tenants[0].kms.label);
    assert_ptr_equal(d->context, cfg->tenants[0].kms.context);
    assert_int_equal(d->n_context, 1);
    assert_ptr_equal(d->http, &cfg->http);
    assert_int_equal(d->n_previous, 0);
    assert_false(d->has_kek_commitment);
    assert_null(d->dual);
    assert_null(cfg->tenants[0].kms.provider_cfg); /* the tenant's: local */
    d = cfg->tenants[1].kms.dual;
    assert_non_null(d);
    assert_string_equal(d->provider, "local");
    snprintf(want, sizeof(want), "%s/old2.key", dir);
    assert_string_equal(d->key_ref, want);
    assert_int_equal(d->kek_blob_len, 0); /* not provisioned yet */
    assert_null(d->provider_cfg);
    assert_null(cfg->tenants[1].kms.kek_blob);
    cmk_config_free(cfg);
}

/* The shipped AWS sample loads as it is. */
static void test_aws_sample(void **state)
{
    struct cmk_config *cfg = NULL;
    char err[1024];

    (void)state;
    if (cmk_config_load(SRCDIR "/conf/aws-example.json", &cfg, err,
                        sizeof(err)) != CMK_OK)
        fail_msg("%s", err);
    assert_int_equal(cfg->n_tenants, 2);
    assert_string_equal(cfg->tenants[0].kms.provider, "aws");
    assert_non_null(
        strstr(cfg->tenants[0].kms.endpoint, ".vpce.amazonaws.com"));
    assert_non_null(aws_of(&cfg->tenants[0])->credentials_file);
    assert_non_null(aws_of(&cfg->tenants[1])->role_arn);
    cmk_config_free(cfg);
}

/* The shipped Google Cloud KMS sample loads as it is: a cryptoKey behind
 * a Private Service Connect endpoint with a key file, and a tenant
 * pinned to a cryptoKeyVersion, after a rotation, on Application Default
 * Credentials (no "gcp" object). */
static void test_gcp_sample(void **state)
{
    const struct cmk_gcp_cfg *g;
    struct cmk_config *cfg = NULL;
    char err[1024];

    (void)state;
    if (cmk_config_load(SRCDIR "/conf/gcp-example.json", &cfg, err,
                        sizeof(err)) != CMK_OK)
        fail_msg("%s", err);
    assert_int_equal(cfg->n_tenants, 2);
    assert_string_equal(cfg->tenants[0].kms.provider, "gcp");
    assert_string_equal(cfg->tenants[1].kms.provider, "gcp");
    assert_non_null(strstr(cfg->tenants[0].kms.endpoint, ".googleapis.com"));
    assert_int_equal(cfg->tenants[0].kms.n_context, 2);
    g = cfg->tenants[0].kms.provider_cfg;
    assert_non_null(g);
    assert_string_equal(g->auth.credentials_file,
                        "/etc/cmk-pkcs11/gcp/acme-service-account.json");
    assert_null(cfg->tenants[1].kms.provider_cfg);
    assert_null(cfg->tenants[1].kms.endpoint);
    assert_non_null(
        strstr(cfg->tenants[1].kms.key_ref, "/cryptoKeyVersions/3"));
    assert_int_equal(cfg->tenants[1].kms.n_previous, 1);
    cmk_config_free(cfg);
}

/* The shipped Azure sample loads as it is: a Key Vault RSA-4096 key
 * without a version (the current one is used) and a client certificate,
 * and a Managed HSM oct-HSM key at a version on a user-assigned managed
 * identity. Until the azure provider is registered the loader refuses
 * the first tenant (its "azure" object, or the provider), which is
 * checked, and the rest is skipped. */
static void test_azure_sample(void **state)
{
    struct cmk_config *cfg = NULL;
    char err[1024];

    (void)state;
    if (cmk_provider_is_planned("azure")) {
        assert_int_equal(cmk_config_load(SRCDIR "/conf/azure-example.json",
                                         &cfg, err, sizeof(err)),
                         CMK_E_CONFIG);
        assert_non_null(strstr(err, "/conf/azure-example.json: tenants[0]."));
        skip();
    }
    if (cmk_config_load(SRCDIR "/conf/azure-example.json", &cfg, err,
                        sizeof(err)) != CMK_OK)
        fail_msg("%s", err);
    assert_int_equal(cfg->n_tenants, 2);
    assert_string_equal(cfg->tenants[0].kms.provider, "azure");
    assert_string_equal(cfg->tenants[1].kms.provider, "azure");
    assert_string_equal(
        cfg->tenants[0].kms.key_ref,
        "https://contoso-cmk.vault.azure.net/keys/contoso-rsa4096");
    assert_non_null(
        strstr(cfg->tenants[1].kms.key_ref, ".managedhsm.azure.net/keys/"));
    assert_null(cfg->tenants[0].kms.endpoint);
    assert_int_equal(cfg->tenants[0].kms.n_context, 2);
    assert_non_null(cfg->tenants[0].kms.provider_cfg);
    assert_non_null(cfg->tenants[1].kms.provider_cfg);
    cmk_config_free(cfg);
}

/* ---- Locating the file ---- */

static void expect_locate(const char *reserved, const char *want)
{
    char *p = cmk_config_locate(reserved);

    assert_non_null(p);
    assert_string_equal(p, want);
    free(p);
}

static void test_locate(void **state)
{
    (void)state;
    assert_int_equal(unsetenv("CMK_PKCS11_CONFIG"), 0);
    expect_locate(NULL, SYSCONFDIR "/cmk-pkcs11/config.json");
    expect_locate("", SYSCONFDIR "/cmk-pkcs11/config.json");
    expect_locate("/etc/a.json", "/etc/a.json");
    expect_locate("  /etc/a b.json  ", "/etc/a b.json");
    expect_locate("config=/etc/b.json", "/etc/b.json");
    expect_locate("debug=1 config=/etc/c.json other=2", "/etc/c.json");
    expect_locate("debug=1", SYSCONFDIR "/cmk-pkcs11/config.json");
    expect_locate("config=", SYSCONFDIR "/cmk-pkcs11/config.json");
    assert_int_equal(setenv("CMK_PKCS11_CONFIG", "/env/x.json", 1), 0);
    expect_locate(NULL, "/env/x.json");
    expect_locate("debug=1", "/env/x.json");
    expect_locate("config=/etc/d.json", "/etc/d.json");
    assert_int_equal(setenv("CMK_PKCS11_CONFIG", "", 1), 0);
    expect_locate(NULL, SYSCONFDIR "/cmk-pkcs11/config.json");
    assert_int_equal(unsetenv("CMK_PKCS11_CONFIG"), 0);
}

/* An azure tenant loads with its "azure" object parsed. */
static void test_good_azure(void **state)
{
    const struct cmk_azure_cfg *a;
    struct cmk_config *cfg = NULL;
    char err[1024];

    (void)state;
    if (cmk_config_load(SRCDIR "/tests/fixtures/config/good-azure/config.json",
                        &cfg, err, sizeof(err)) != CMK_OK)
        fail_msg("%s", err);
    assert_string_equal(cfg->tenants[0].kms.provider, "azure");
    assert_int_equal(cfg->tenants[0].kms.n_previous, 1);
    a = cfg->tenants[0].kms.provider_cfg;
    assert_non_null(a);
    assert_string_equal(a->auth.tenant_id,
                        "72f988bf-86f1-41af-91ab-2d7cd011db47");
    assert_string_equal(a->auth.client_secret_file,
                        "/nonexistent/acme-azure-secret");
    assert_int_equal(a->auth.mi, CMK_AZAUTH_MI_NONE);
    assert_int_equal(a->alg, AZ_ALG_RSA_OAEP);
    assert_false(a->local_wrap);
    assert_int_equal(a->ttl, 300);
    assert_string_equal(a->api_version, "2025-07-01");
    assert_null(a->resource);
    cmk_config_free(cfg);
}

/* A vault tenant loads with its "vault" object parsed. */
static void test_good_vault(void **state)
{
    const struct cmk_vault_cfg *v;
    struct cmk_config *cfg = NULL;
    char err[1024];

    (void)state;
    if (cmk_config_load(SRCDIR "/tests/fixtures/config/good-vault/config.json",
                        &cfg, err, sizeof(err)) != CMK_OK)
        fail_msg("%s", err);
    assert_string_equal(cfg->tenants[0].kms.provider, "vault");
    assert_string_equal(cfg->tenants[0].kms.key_ref, "acme-cmk");
    assert_int_equal(cfg->tenants[0].kms.n_previous, 1);
    v = cfg->tenants[0].kms.provider_cfg;
    assert_non_null(v);
    assert_string_equal(v->address, "https://vault.example.com:8200");
    assert_string_equal(v->mount, "kms/tenants");
    assert_string_equal(v->ns, "team-a");
    assert_null(v->ca_file);
    assert_string_equal(v->auth.approle_role_id_file, "/nonexistent/role-id");
    assert_string_equal(v->auth.approle_secret_id_file,
                        "/nonexistent/secret-id");
    assert_string_equal(v->auth.approle_mount, "approle-cmk");
    assert_null(v->auth.k8s_role);
    assert_null(v->auth.token_file);
    assert_int_equal(v->n_redirect_hosts, 1);
    assert_string_equal(v->redirect_hosts[0],
                        "https://vault-2.example.com:8200");
    assert_int_equal(v->ttl, 120);
    cmk_config_free(cfg);
}

/* The shipped Vault sample loads as it is: an AppRole tenant with its
 * own CA and a standby's redirect host, and a Kubernetes tenant on an
 * OpenBao namespace and mount. */
static void test_vault_sample(void **state)
{
    const struct cmk_vault_cfg *a, *b;
    struct cmk_config *cfg = NULL;
    char err[1024];

    (void)state;
    if (cmk_config_load(SRCDIR "/conf/vault-example.json", &cfg, err,
                        sizeof(err)) != CMK_OK)
        fail_msg("%s", err);
    assert_int_equal(cfg->n_tenants, 2);
    assert_string_equal(cfg->tenants[0].kms.provider, "vault");
    assert_string_equal(cfg->tenants[0].kms.key_ref, "initech-cmk");
    assert_int_equal(cfg->tenants[0].kms.n_context, 2);
    a = cfg->tenants[0].kms.provider_cfg;
    b = cfg->tenants[1].kms.provider_cfg;
    assert_string_equal(a->ca_file, "/etc/cmk-pkcs11/vault/ca.pem");
    assert_non_null(a->auth.approle_secret_id_file);
    assert_int_equal(a->n_redirect_hosts, 1);
    assert_null(a->mount);
    assert_string_equal(b->mount, "kms/tenants");
    assert_string_equal(b->ns, "umbrella");
    assert_string_equal(b->auth.k8s_role, "cmk-pkcs11");
    assert_null(b->auth.k8s_jwt_file);
    /* A key pair names a transit key, or one version of it. */
    assert_int_equal(cfg->tenants[0].n_key_pairs, 2);
    assert_string_equal(cfg->tenants[0].key_pairs[0].key_ref, "initech-tls:2");
    assert_string_equal(cfg->tenants[0].key_pairs[1].key_ref, "initech-signer");
    cmk_config_free(cfg);
}

/* A config of many tenants (over 1 MiB) loads, and a duplicate label or
 * store directory far down the list is still named, with the tenant it
 * repeats: what the hash sets of check_unique must keep. The last tenant
 * is labelled last (NULL: t5999) and has the members extra. */
#define MANY 6000

static char *many_tenants(const char *dir, const char *last, const char *extra)
{
    static const char verifier[] =
        "$argon2id$v=19$m=65536,t=2,p=1$UTl/iVdPG4kaK80Jjq8wMA$"
        "2E4m87E6rYnYXFMeozNXNOlEqfArQM/h8rqZqnoc67c";
    size_t cap = (size_t)MANY * 400 + 4096, n = 0, i;
    char *s = malloc(cap), label[32];

    assert_non_null(s);
    n += (size_t)snprintf(s + n, cap - n,
                          "{\"store_dir\": \"%s/stores\", \"tenants\": [", dir);
    for (i = 0; i < MANY; i++) {
        snprintf(label, sizeof(label), "t%zu", i);
        if (i == MANY - 1 && last != NULL)
            snprintf(label, sizeof(label), "%s", last);
        n += (size_t)snprintf(
            s + n, cap - n,
            "%s{\"label\": \"%s\", \"provider\": \"local\", "
            "\"key\": \"%s/acme.key\", \"pin_verifier\": \"%s\"%s}",
            i ? ",\n" : "", label, dir, verifier, i == MANY - 1 ? extra : "");
    }
    snprintf(s + n, cap - n, "]}\n");
    return s;
}

/* want: the error after the path, or NULL for a config that loads. */
static void expect_many(const char *dir, const char *last, const char *extra,
                        const char *want)
{
    struct cmk_config *cfg = NULL;
    char path[512], err[1024], msg[1024];
    char *text = many_tenants(dir, last, extra);

    snprintf(path, sizeof(path), "%s/config.json", dir);
    put_file(path, text, 0600);
    assert_true(strlen(text) > 1024 * 1024);
    free(text);
    if (want == NULL) {
        if (cmk_config_load(path, &cfg, err, sizeof(err)) != CMK_OK)
            fail_msg("%s", err);
        assert_int_equal(cfg->n_tenants, MANY);
        assert_string_equal(cfg->tenants[MANY - 1].kms.label, "t5999");
        cmk_config_free(cfg);
        return;
    }
    assert_int_equal(cmk_config_load(path, &cfg, err, sizeof(err)),
                     CMK_E_CONFIG);
    assert_null(cfg);
    snprintf(msg, sizeof(msg), "%s: %s", path, want);
    assert_string_equal(err, msg);
}

static void test_many_tenants(void **state)
{
    char dir[400], key[512], extra[512];

    (void)state;
    snprintf(dir, sizeof(dir), "%s/many", tmp_root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(key, sizeof(key), "%s/acme.key", dir);
    put_file(key, "0123456789abcdef0123456789abcdef", 0600);
    expect_many(dir, NULL, "", NULL);
    expect_many(dir, "t1234", "",
                "tenants[5999].label: duplicate tenant label \"t1234\"");
    /* A store given by path that is another tenant's default one. */
    snprintf(extra, sizeof(extra), ", \"store_dir\": \"%s/stores/t17\"", dir);
    expect_many(dir, NULL, extra,
                "tenants[5999].store_dir: same store directory as "
                "tenants[17]");
}

int main(void)
{
    enum { NB = sizeof(bad_cases) / sizeof(bad_cases[0]) };
    struct CMUnitTest tests[NB + 18];
    size_t i;

    for (i = 0; i < NB; i++) {
        tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(
            test_bad_case, (void *)(uintptr_t)&bad_cases[i]);
        tests[i].name = bad_cases[i].name;
    }
    tests[NB] = (struct CMUnitTest)cmocka_unit_test(test_all_fixtures_listed);
    tests[NB + 1] =
        (struct CMUnitTest)cmocka_unit_test(test_unreadable_and_args);
    tests[NB + 2] =
        (struct CMUnitTest)cmocka_unit_test(test_message_is_one_line);
    tests[NB + 3] = (struct CMUnitTest)cmocka_unit_test(test_good_minimal);
    tests[NB + 4] = (struct CMUnitTest)cmocka_unit_test(test_good_full);
    tests[NB + 5] = (struct CMUnitTest)cmocka_unit_test(test_good_pin_file);
    tests[NB + 6] = (struct CMUnitTest)cmocka_unit_test(test_locate);
    tests[NB + 7] = (struct CMUnitTest)cmocka_unit_test(test_good_aws);
    tests[NB + 8] = (struct CMUnitTest)cmocka_unit_test(test_http_defaults);
    tests[NB + 9] = (struct CMUnitTest)cmocka_unit_test(test_aws_sample);
    tests[NB + 10] = (struct CMUnitTest)cmocka_unit_test(test_good_dual);
    tests[NB + 11] = (struct CMUnitTest)cmocka_unit_test(test_gcp_sample);
    tests[NB + 12] = (struct CMUnitTest)cmocka_unit_test(test_good_azure);
    tests[NB + 13] = (struct CMUnitTest)cmocka_unit_test(test_azure_sample);
    tests[NB + 14] = (struct CMUnitTest)cmocka_unit_test(test_good_vault);
    tests[NB + 15] = (struct CMUnitTest)cmocka_unit_test(test_vault_sample);
    tests[NB + 16] = (struct CMUnitTest)cmocka_unit_test(test_many_tenants);
    tests[NB + 17] = (struct CMUnitTest)cmocka_unit_test(test_good_key_pairs);
    return _cmocka_run_group_tests("test_config", tests, NB + 18, group_setup,
                                   group_teardown) != 0
               ? 1
               : 0;
}
