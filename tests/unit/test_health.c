/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: keys/health.c alone: the reason each provider code gives, the
 * circuit breaker's waits on a fake module clock (1 s doubling to 60 s,
 * one probe per wait, reset by a healthy answer), one cmk_health_changed
 * record per change with its exact fields, and concurrent answers from
 * many threads (run under TSan too) recording each change exactly once.
 */
#include <config.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "audit/audit.h"
#include "keys/health.h"
#include "keys/health_cfg.h"
#include "mech/mech.h"
#include "tests/lib/scratch.h"
#include "util/clock.h"

#define S_US INT64_C(1000000)
#define DEV(p, r) (((CK_ULONG)(p) << 16) | CMK_DEV_BREAKER | (r))

static int64_t fake_now = 1000 * S_US;

static int64_t fake_clock(void)
{
    return __atomic_load_n(&fake_now, __ATOMIC_RELAXED);
}

static const struct cmk_provider_ops *aws(void)
{
    const struct cmk_provider_ops *ops = cmk_provider_find("aws");

    assert_non_null(ops);
    return ops;
}

static const struct cmk_provider_ops *local(void)
{
    const struct cmk_provider_ops *ops = cmk_provider_find("local");

    assert_non_null(ops);
    return ops;
}

/* ---- The values are public and fixed ---- */

static void test_reason_values(void **state)
{
    static const char *const want[] = {
        "healthy",          "disabled",
        "pending_deletion", "access_denied",
        "not_found",        "unreachable",
        "wrong_key_spec",   "kek_commitment_mismatch",
        "key_unavailable"};
    unsigned long r;

    (void)state;
    assert_int_equal(CMK_HEALTH_HEALTHY, 0);
    assert_int_equal(CMK_HEALTH_DISABLED, 1);
    assert_int_equal(CMK_HEALTH_PENDING_DELETION, 2);
    assert_int_equal(CMK_HEALTH_ACCESS_DENIED, 3);
    assert_int_equal(CMK_HEALTH_NOT_FOUND, 4);
    assert_int_equal(CMK_HEALTH_UNREACHABLE, 5);
    assert_int_equal(CMK_HEALTH_WRONG_KEY_SPEC, 6);
    assert_int_equal(CMK_HEALTH_KEK_COMMITMENT_MISMATCH, 7);
    assert_int_equal(CMK_HEALTH_KEY_UNAVAILABLE, 8);
    assert_int_equal(CKA_CMK_HEALTH, 0x84340110UL);
    assert_int_equal(CKA_CMK_HEALTH_CHECKED, 0x84340111UL);
    assert_int_equal(CMK_DEV_BREAKER, 0xF100);
    for (r = 0; r < sizeof(want) / sizeof(want[0]); r++)
        assert_string_equal(cmk_health_reason_name(r), want[r]);
    assert_string_equal(cmk_health_reason_name(9), "unknown");
    assert_string_equal(cmk_health_reason_name(CMK_HEALTH_NO_VERDICT),
                        "unknown");
}

/* ---- Every provider code ---- */

struct row {
    cmk_err err;
    const char *code;
    unsigned long want;
};

static void check_rows(const struct cmk_provider_ops *ops, const struct row *r,
                       size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (cmk_health_verdict(ops, r[i].err, r[i].code) != r[i].want)
            fail_msg("%s %s (%s): %lu, expected %lu", ops ? ops->name : "-",
                     r[i].code ? r[i].code : "(none)", cmk_err_name(r[i].err),
                     cmk_health_verdict(ops, r[i].err, r[i].code), r[i].want);
    }
}

#define NV CMK_HEALTH_NO_VERDICT

static void test_verdict_aws(void **state)
{
    /* The err each code has in providers/aws_errors.c, and the reason. */
    static const struct row rows[] = {
        {CMK_OK, "", CMK_HEALTH_HEALTHY},
        {CMK_E_KEY_DISABLED, "DisabledException", CMK_HEALTH_DISABLED},
        {CMK_E_KEY_DISABLED, "KMSInvalidStateException",
         CMK_HEALTH_PENDING_DELETION},
        {CMK_E_KEY_NOT_FOUND, "NotFoundException", CMK_HEALTH_NOT_FOUND},
        {CMK_E_ACCESS_DENIED, "AccessDeniedException",
         CMK_HEALTH_ACCESS_DENIED},
        {CMK_E_ACCESS_DENIED, "UnrecognizedClientException",
         CMK_HEALTH_ACCESS_DENIED},
        {CMK_E_ACCESS_DENIED, "ExpiredTokenException",
         CMK_HEALTH_ACCESS_DENIED},
        {CMK_E_ACCESS_DENIED, "InvalidSignatureException",
         CMK_HEALTH_ACCESS_DENIED},
        {CMK_E_ACCESS_DENIED, "IncompleteSignatureException",
         CMK_HEALTH_ACCESS_DENIED},
        {CMK_E_ACCESS_DENIED, "MissingAuthenticationTokenException",
         CMK_HEALTH_ACCESS_DENIED},
        {CMK_E_ACCESS_DENIED, "InvalidKeyUsageException",
         CMK_HEALTH_WRONG_KEY_SPEC},
        {CMK_E_ACCESS_DENIED, "InvalidGrantTokenException",
         CMK_HEALTH_ACCESS_DENIED},
        {CMK_E_ACCESS_DENIED, "NoCredentials", CMK_HEALTH_ACCESS_DENIED},
        {CMK_E_ACCESS_DENIED, "WrongKeySpec", CMK_HEALTH_WRONG_KEY_SPEC},
        {CMK_E_ACCESS_DENIED, "WrongKeyUsage", CMK_HEALTH_WRONG_KEY_SPEC},
        {CMK_E_KEY_DISABLED, "KeyState:Disabled", CMK_HEALTH_DISABLED},
        {CMK_E_KEY_DISABLED, "KeyState:PendingDeletion",
         CMK_HEALTH_PENDING_DELETION},
        {CMK_E_KEY_DISABLED, "KeyState:PendingReplicaDeletion",
         CMK_HEALTH_PENDING_DELETION},
        {CMK_E_KEY_DISABLED, "KeyState:PendingImport",
         CMK_HEALTH_KEY_UNAVAILABLE},
        {CMK_E_KEY_DISABLED, "KeyState:Unavailable",
         CMK_HEALTH_KEY_UNAVAILABLE},
        {CMK_E_KEY_DISABLED, "KeyState:Creating", CMK_HEALTH_KEY_UNAVAILABLE},
        {CMK_E_KEY_DISABLED, "KeyState:Updating", CMK_HEALTH_KEY_UNAVAILABLE},
        {CMK_E_KEY_DISABLED, "KeyState:SomethingNew",
         CMK_HEALTH_KEY_UNAVAILABLE},
        /* after the retries */
        {CMK_E_NETWORK, "NetworkError", CMK_HEALTH_UNREACHABLE},
        {CMK_E_NETWORK, "TlsError", CMK_HEALTH_UNREACHABLE},
        {CMK_E_TIMEOUT, "Timeout", CMK_HEALTH_UNREACHABLE},
        {CMK_E_TIMEOUT, "DependencyTimeoutException", CMK_HEALTH_UNREACHABLE},
        {CMK_E_KMS_INTERNAL, "KMSInternalException", CMK_HEALTH_UNREACHABLE},
        {CMK_E_KMS_INTERNAL, "KeyUnavailableException", CMK_HEALTH_UNREACHABLE},
        {CMK_E_KMS_INTERNAL, "HTTP502", CMK_HEALTH_UNREACHABLE},
        {CMK_E_KEK_COMMITMENT, "", CMK_HEALTH_KEK_COMMITMENT_MISMATCH},
        /* answers that say nothing about the key */
        {CMK_E_THROTTLED, "ThrottlingException", NV},
        {CMK_E_BAD_CIPHERTEXT, "InvalidCiphertextException", NV},
        {CMK_E_BAD_CIPHERTEXT, "IncorrectKeyException", NV},
        {CMK_E_BAD_RESPONSE, "MalformedResponse", NV},
        {CMK_E_BAD_RESPONSE, "HTTP404", NV},
        {CMK_E_INTERNAL, "ValidationException", NV},
        {CMK_E_CONFIG, "EndpointRefused", NV},
        {CMK_E_TOO_LARGE, "PlaintextTooLarge", NV},
        {CMK_E_BAD_BLOB, "", NV},
        {CMK_E_NOMEM, "", NV},
    };

    (void)state;
    check_rows(aws(), rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_verdict_local(void **state)
{
    static const struct row rows[] = {
        {CMK_OK, "", CMK_HEALTH_HEALTHY},
        {CMK_E_KEY_DISABLED, "KeyFileMissing", CMK_HEALTH_DISABLED},
        {CMK_E_KEY_NOT_FOUND, "KeyFileChanged", CMK_HEALTH_NOT_FOUND},
        {CMK_E_IO, "KeyFileUnreadable", NV},
        {CMK_E_CONFIG, "KeyFileMode", NV},
        {CMK_E_BAD_CIPHERTEXT, "InvalidCiphertext", NV},
        {CMK_E_TOO_LARGE, "InputTooLarge", NV},
        {CMK_E_KEK_COMMITMENT, "", CMK_HEALTH_KEK_COMMITMENT_MISMATCH},
    };

    (void)state;
    check_rows(local(), rows, sizeof(rows) / sizeof(rows[0]));
    /* no provider, no code: by the error alone */
    assert_int_equal(cmk_health_verdict(NULL, CMK_E_KEY_DISABLED,
                                        "KMSInvalidStateException"),
                     CMK_HEALTH_DISABLED);
    assert_int_equal(cmk_health_verdict(aws(), CMK_E_KEY_DISABLED, NULL),
                     CMK_HEALTH_DISABLED);
}

static void test_reason_err(void **state)
{
    (void)state;
    assert_int_equal(cmk_health_reason_err(CMK_HEALTH_DISABLED),
                     CMK_E_KEY_DISABLED);
    assert_int_equal(cmk_health_reason_err(CMK_HEALTH_PENDING_DELETION),
                     CMK_E_KEY_DISABLED);
    assert_int_equal(cmk_health_reason_err(CMK_HEALTH_KEY_UNAVAILABLE),
                     CMK_E_KEY_DISABLED);
    assert_int_equal(cmk_health_reason_err(CMK_HEALTH_ACCESS_DENIED),
                     CMK_E_ACCESS_DENIED);
    assert_int_equal(cmk_health_reason_err(CMK_HEALTH_NOT_FOUND),
                     CMK_E_KEY_NOT_FOUND);
    assert_int_equal(cmk_health_reason_err(CMK_HEALTH_UNREACHABLE),
                     CMK_E_NETWORK);
    assert_true(cmk_health_is_breaker_reason(CMK_HEALTH_DISABLED));
    assert_true(cmk_health_is_breaker_reason(CMK_HEALTH_PENDING_DELETION));
    assert_true(cmk_health_is_breaker_reason(CMK_HEALTH_ACCESS_DENIED));
    assert_true(cmk_health_is_breaker_reason(CMK_HEALTH_NOT_FOUND));
    assert_true(cmk_health_is_breaker_reason(CMK_HEALTH_UNREACHABLE));
    assert_true(cmk_health_is_breaker_reason(CMK_HEALTH_KEY_UNAVAILABLE));
    assert_false(cmk_health_is_breaker_reason(CMK_HEALTH_HEALTHY));
    assert_false(cmk_health_is_breaker_reason(CMK_HEALTH_WRONG_KEY_SPEC));
    assert_false(
        cmk_health_is_breaker_reason(CMK_HEALTH_KEK_COMMITMENT_MISMATCH));
}

/* ---- The breaker on the fake clock ---- */

static struct cmk_req req(const char *code)
{
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    snprintf(rq.provider_code, sizeof(rq.provider_code), "%s", code);
    snprintf(rq.request_id, sizeof(rq.request_id), "req-%s", code);
    return rq;
}

static void answer(struct cmk_health *h, cmk_err err, const char *code)
{
    struct cmk_req rq = req(code);

    assert_int_equal(cmk_health_answer(h, &rq, err), CMK_OK);
}

/* enter, expecting want; a fail-fast notes ulDeviceError. */
static void enter(struct cmk_health *h, cmk_err want, CK_ULONG dev)
{
    CK_ULONG got = 12345;

    cmk_err_device_begin();
    assert_int_equal(cmk_health_enter(h), want);
    if (want == CMK_OK) {
        assert_false(cmk_err_device_take(&got)); /* no note */
        return;
    }
    assert_true(cmk_err_device_take(&got));
    assert_int_equal(got, dev);
}

static unsigned long reason_of(const struct cmk_health *h)
{
    struct cmk_health_state hs;

    cmk_health_get(h, &hs);
    return hs.reason;
}

static void test_breaker_waits(void **state)
{
    static const int64_t waits_s[] = {2, 4, 8, 16, 32, 60, 60};
    const CK_ULONG off = DEV(CMK_PROV_AWS, CMK_HEALTH_DISABLED);
    struct cmk_health *h = NULL;
    size_t i;

    (void)state;
    assert_int_equal(cmk_health_new("acme", aws(), &h), CMK_OK);
    enter(h, CMK_OK, 0);
    answer(h, CMK_OK, "");
    enter(h, CMK_OK, 0);
    answer(h, CMK_E_KEY_DISABLED, "DisabledException"); /* opens */
    assert_int_equal(reason_of(h), CMK_HEALTH_DISABLED);
    enter(h, CMK_E_KEY_DISABLED, off);
    /* a call already in flight when it opened answers too: no doubling */
    answer(h, CMK_E_KEY_DISABLED, "DisabledException");
    fake_now += S_US - 1;
    enter(h, CMK_E_KEY_DISABLED, off);
    fake_now += 1; /* exactly 1 s: one probe, the next caller waits */
    enter(h, CMK_OK, 0);
    enter(h, CMK_E_KEY_DISABLED, off);
    answer(h, CMK_E_KEY_DISABLED, "DisabledException"); /* failed probe */
    for (i = 0; i < sizeof(waits_s) / sizeof(waits_s[0]); i++) {
        fake_now += waits_s[i] * S_US - 1;
        enter(h, CMK_E_KEY_DISABLED, off);
        fake_now += 1;
        enter(h, CMK_OK, 0);
        enter(h, CMK_E_KEY_DISABLED, off);
        answer(h, CMK_E_KEY_DISABLED, "DisabledException");
    }
    /* A probe that tells nothing (throttled): the next waits as long. */
    fake_now += 60 * S_US;
    enter(h, CMK_OK, 0);
    answer(h, CMK_E_THROTTLED, "ThrottlingException");
    assert_int_equal(reason_of(h), CMK_HEALTH_DISABLED);
    fake_now += 60 * S_US - 1;
    enter(h, CMK_E_KEY_DISABLED, off);
    fake_now += 1;
    enter(h, CMK_OK, 0);
    answer(h, CMK_OK, ""); /* healed: closed, waits start over */
    assert_int_equal(reason_of(h), CMK_HEALTH_HEALTHY);
    enter(h, CMK_OK, 0);
    enter(h, CMK_OK, 0);
    answer(h, CMK_E_NETWORK, "NetworkError");
    enter(h, CMK_E_NETWORK, DEV(CMK_PROV_AWS, CMK_HEALTH_UNREACHABLE));
    fake_now += S_US;
    enter(h, CMK_OK, 0);
    cmk_health_free(h);
}

static void test_breaker_scope(void **state)
{
    struct cmk_health_opts off = {false, 1000, 60000};
    struct cmk_health *h = NULL, *l = NULL;

    (void)state;
    /* Reasons that fail no call fast. */
    assert_int_equal(cmk_health_new("acme", aws(), &h), CMK_OK);
    answer(h, CMK_E_KEK_COMMITMENT, "");
    assert_int_equal(reason_of(h), CMK_HEALTH_KEK_COMMITMENT_MISMATCH);
    enter(h, CMK_OK, 0);
    answer(h, CMK_E_ACCESS_DENIED, "InvalidKeyUsageException");
    assert_int_equal(reason_of(h), CMK_HEALTH_WRONG_KEY_SPEC);
    enter(h, CMK_OK, 0);
    answer(h, CMK_E_ACCESS_DENIED, "AccessDeniedException");
    enter(h, CMK_E_ACCESS_DENIED, DEV(CMK_PROV_AWS, CMK_HEALTH_ACCESS_DENIED));
    /* Turned off: every call goes, the state is still kept. */
    cmk_health_set_opts(h, &off);
    enter(h, CMK_OK, 0);
    answer(h, CMK_E_KEY_NOT_FOUND, "NotFoundException");
    assert_int_equal(reason_of(h), CMK_HEALTH_NOT_FOUND);
    enter(h, CMK_OK, 0);
    /* The local provider answers from a file: never failed fast. */
    assert_int_equal(cmk_health_new("beta", local(), &l), CMK_OK);
    answer(l, CMK_E_KEY_DISABLED, "KeyFileMissing");
    assert_int_equal(reason_of(l), CMK_HEALTH_DISABLED);
    enter(l, CMK_OK, 0);
    enter(l, CMK_OK, 0);
    cmk_health_free(h);
    cmk_health_free(l);
    assert_int_equal(cmk_health_new(NULL, aws(), &h), CMK_E_ARGS);
    assert_int_equal(cmk_health_new("x", NULL, &h), CMK_E_ARGS);
    assert_int_equal(cmk_health_enter(NULL), CMK_OK);
    cmk_health_free(NULL);
}

/* Custom waits from the options. */
static void test_breaker_opts(void **state)
{
    struct cmk_health_opts o = {true, 250, 600};
    const CK_ULONG off = DEV(CMK_PROV_AWS, CMK_HEALTH_PENDING_DELETION);
    struct cmk_health *h = NULL;

    (void)state;
    assert_int_equal(cmk_health_new("acme", aws(), &h), CMK_OK);
    cmk_health_set_opts(h, &o);
    answer(h, CMK_E_KEY_DISABLED, "KMSInvalidStateException");
    fake_now += 249 * 1000;
    enter(h, CMK_E_KEY_DISABLED, off);
    fake_now += 1000;
    enter(h, CMK_OK, 0);
    answer(h, CMK_E_KEY_DISABLED, "KMSInvalidStateException"); /* 500 ms */
    fake_now += 500 * 1000;
    enter(h, CMK_OK, 0);
    answer(h, CMK_E_KEY_DISABLED, "KMSInvalidStateException"); /* 600 cap */
    fake_now += 599 * 1000;
    enter(h, CMK_E_KEY_DISABLED, off);
    fake_now += 1000;
    enter(h, CMK_OK, 0);
    cmk_health_free(h);
}

/* ---- Records: one per change, exact fields ---- */

struct afx {
    char dir[256], path[300];
    struct cmk_audit *a;
};

static void audit_open(struct afx *f)
{
    static const uint8_t key[CMK_AUDIT_KEY_LEN] = {7};
    struct cmk_audit_key k = {key, key, sizeof(key), "acme", "aws", NULL};
    struct cmk_audit_opts o;

    assert_int_equal(test_scratch_make("cmk-health", f->dir, sizeof(f->dir)),
                     0);
    snprintf(f->path, sizeof(f->path), "%s/audit.jsonl", f->dir);
    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    assert_int_equal(cmk_audit_open(f->path, &o, &k, &f->a), CMK_OK);
}

/* The cmk_health_changed lines of the file, in order, into lines[max]
 * (heap strings); their count. */
static size_t changes(const struct afx *f, char **lines, size_t max)
{
    char buf[4096];
    FILE *fp = fopen(f->path, "r");
    size_t n = 0;

    assert_non_null(fp);
    while (fgets(buf, sizeof(buf), fp) != NULL) {
        if (strstr(buf, "\"event\":\"cmk_health_changed\"") == NULL)
            continue;
        if (n < max)
            lines[n] = strdup(buf);
        n++;
    }
    fclose(fp);
    return n;
}

static void has(const char *line, const char *part)
{
    if (strstr(line, part) == NULL)
        fail_msg("%s not in %s", part, line);
}

/* The module's clock for wall time (CLOCK_REALTIME): time(NULL) reads a
 * coarse clock that can be a tick behind it, so it is no upper bound of a
 * value the module read just before. */
static int64_t wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static void test_record_once_per_change(void **state)
{
    struct cmk_health *h = NULL;
    struct cmk_health_state hs;
    struct afx f;
    char *l[8] = {0};
    int64_t t0, t1;
    size_t i;

    (void)state;
    audit_open(&f);
    assert_int_equal(cmk_health_new("acme", aws(), &h), CMK_OK);
    cmk_health_set_audit(h, f.a);
    cmk_health_get(h, &hs);
    assert_int_equal(hs.reason, CMK_HEALTH_HEALTHY);
    assert_int_equal(hs.checked_s, 0); /* never */
    t0 = (int64_t)time(NULL);
    for (i = 0; i < 3; i++)
        answer(h, CMK_OK, ""); /* healthy from the start: no change */
    for (i = 0; i < 4; i++)
        answer(h, CMK_E_KEY_DISABLED, "DisabledException");
    answer(h, CMK_E_KEY_DISABLED, "KMSInvalidStateException");
    answer(h, CMK_E_THROTTLED, "ThrottlingException"); /* no verdict */
    answer(h, CMK_OK, "");
    answer(h, CMK_OK, "");
    t1 = wall_now();
    cmk_health_get(h, &hs);
    assert_true(hs.checked_s >= t0 && hs.checked_s <= t1);
    cmk_audit_close(f.a);
    assert_int_equal(changes(&f, l, 8), 3);
    has(l[0], "\"event\":\"cmk_health_changed\",\"tenant\":\"acme\"");
    assert_null(strstr(l[0], "\"op\""));
    has(l[0], "\"result\":\"CKR_KEY_FUNCTION_NOT_PERMITTED\"");
    has(l[0], "\"provider\":\"aws\"");
    has(l[0], "\"request_id\":\"req-DisabledException\"");
    has(l[0], "\"provider_code\":\"DisabledException\"");
    has(l[0], "\"detail\":\"healthy -> unhealthy (disabled)\"");
    has(l[1], "\"provider_code\":\"KMSInvalidStateException\"");
    has(l[1], "\"detail\":\"unhealthy (disabled) -> unhealthy "
              "(pending_deletion)\"");
    has(l[2], "\"result\":\"CKR_OK\"");
    has(l[2], "\"detail\":\"unhealthy (pending_deletion) -> healthy\"");
    assert_null(strstr(l[2], "provider_code"));
    for (i = 0; i < 3; i++)
        free(l[i]);
    cmk_health_free(h);
    assert_int_equal(test_scratch_remove(f.dir), 0);
}

/* ---- Threads: each change is recorded once ---- */

#define THREADS 8
#define ROUNDS 3000

struct worker {
    struct cmk_health *h;
    unsigned seed;
    const char *why; /* NULL, or what went wrong */
};

static void *work(void *arg)
{
    static const struct {
        cmk_err err;
        const char *code;
    } answers[] = {{CMK_OK, ""},
                   {CMK_E_KEY_DISABLED, "DisabledException"},
                   {CMK_E_NETWORK, "NetworkError"},
                   {CMK_E_THROTTLED, "ThrottlingException"},
                   {CMK_E_KEY_DISABLED, "KMSInvalidStateException"}};
    struct worker *w = arg;
    struct cmk_health_state hs;
    struct cmk_req rq;
    size_t i, k;

    for (i = 0; i < ROUNDS; i++) {
        k = rand_r(&w->seed) % (sizeof(answers) / sizeof(answers[0]));
        rq = req(answers[k].code);
        if (cmk_health_enter(w->h) == CMK_OK &&
            cmk_health_answer(w->h, &rq, answers[k].err) != CMK_OK)
            w->why = "record failed";
        cmk_health_get(w->h, &hs);
        if (hs.reason > CMK_HEALTH_KEY_UNAVAILABLE)
            w->why = "torn reason";
        /* The clock moves enough for the breaker's waits (up to 60 s)
         * to pass many times whatever the threads' interleaving, so the
         * health changes often (n > 10 below) under any scheduler. */
        if (i % 8 == 0)
            __atomic_add_fetch(&fake_now, S_US, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* "healthy -> unhealthy (x)": from and to of one detail. */
static void ends(const char *line, char *from, char *to, size_t n)
{
    const char *d = strstr(line, "\"detail\":\"");
    const char *arrow, *end;

    assert_non_null(d);
    d += strlen("\"detail\":\"");
    arrow = strstr(d, " -> ");
    end = strchr(d, '"');
    assert_non_null(arrow);
    assert_non_null(end);
    snprintf(from, n, "%.*s", (int)(arrow - d), d);
    snprintf(to, n, "%.*s", (int)(end - arrow - 4), arrow + 4);
}

/* For a series of changes that starts healthy and ends at the final
 * state, each state is entered as often as left, except those two: a
 * lost or doubled record breaks the balance. */
static void test_threads_record_each_change_once(void **state)
{
    enum { N = 4 };
    static const char *const st[N] = {"healthy", "unhealthy (disabled)",
                                      "unhealthy (unreachable)",
                                      "unhealthy (pending_deletion)"};
    pthread_t t[THREADS];
    struct worker w[THREADS];
    struct cmk_health *h = NULL;
    struct cmk_health_state hs;
    char from[64], to[64], buf[4096];
    long bal[N] = {0};
    size_t i, k, n = 0;
    struct afx f;
    FILE *fp;

    (void)state;
    audit_open(&f);
    assert_int_equal(cmk_health_new("acme", aws(), &h), CMK_OK);
    cmk_health_set_audit(h, f.a);
    for (i = 0; i < THREADS; i++) {
        w[i].h = h;
        w[i].seed = (unsigned)i * 7919u + 1u;
        w[i].why = NULL;
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        if (w[i].why != NULL)
            fail_msg("thread %zu: %s", i, w[i].why);
    }
    cmk_health_get(h, &hs);
    cmk_audit_close(f.a);
    fp = fopen(f.path, "r");
    assert_non_null(fp);
    while (fgets(buf, sizeof(buf), fp) != NULL) {
        if (strstr(buf, "\"event\":\"cmk_health_changed\"") == NULL)
            continue;
        ends(buf, from, to, sizeof(from));
        assert_string_not_equal(from, to);
        for (k = 0; k < N; k++) {
            bal[k] -= strcmp(from, st[k]) == 0;
            bal[k] += strcmp(to, st[k]) == 0;
        }
        n++;
    }
    fclose(fp);
    assert_true(n > 10); /* the threads did change it, many times */
    for (k = 0; k < N; k++) {
        long want = (k == 0 ? -1 : 0) +
                    (strcmp(st[k], hs.reason == CMK_HEALTH_HEALTHY ? "healthy"
                                   : hs.reason == CMK_HEALTH_DISABLED
                                       ? "unhealthy (disabled)"
                                   : hs.reason == CMK_HEALTH_UNREACHABLE
                                       ? "unhealthy (unreachable)"
                                       : "unhealthy (pending_deletion)") == 0);
        if (bal[k] != want)
            fail_msg("%s: entered minus left %ld, expected %ld", st[k], bal[k],
                     want);
    }
    cmk_health_free(h);
    assert_int_equal(test_scratch_remove(f.dir), 0);
}

/* ---- The "health" options ---- */

static cmk_err parse(const char *text, struct cmk_health_opts *o, char *msg,
                     size_t n)
{
    struct cmk_conf cf = {"/c.json", msg, n};
    json_t *v = json_loads(text, 0, NULL);
    cmk_err err;

    assert_non_null(v);
    msg[0] = '\0';
    cmk_health_opts_init(o);
    err = cmk_health_opts_parse(&cf, "health", v, o);
    json_decref(v);
    return err;
}

static void test_opts(void **state)
{
    struct cmk_health_opts o;
    char msg[256];

    (void)state;
    cmk_health_opts_init(&o);
    assert_true(o.breaker);
    assert_int_equal(o.probe_min_ms, 1000);
    assert_int_equal(o.probe_max_ms, 60000);
    assert_int_equal(cmk_health_opts_parse(NULL, "health", NULL, &o), CMK_OK);
    assert_int_equal(parse("{\"breaker\": false, \"probe_min_ms\": 5, "
                           "\"probe_max_ms\": 5}",
                           &o, msg, sizeof(msg)),
                     CMK_OK);
    assert_false(o.breaker);
    assert_int_equal(o.probe_min_ms, 5);
    assert_int_equal(o.probe_max_ms, 5);
    assert_int_equal(parse("{\"probe_min_ms\": 0}", &o, msg, sizeof(msg)),
                     CMK_E_CONFIG);
    assert_string_equal(
        msg, "/c.json: health.probe_min_ms: out of range 1..3600000");
    assert_int_equal(parse("{\"probe_max_ms\": 3600001}", &o, msg, sizeof(msg)),
                     CMK_E_CONFIG);
    assert_string_equal(
        msg, "/c.json: health.probe_max_ms: out of range 1..3600000");
    assert_int_equal(parse("{\"probe_max_ms\": 999}", &o, msg, sizeof(msg)),
                     CMK_E_CONFIG);
    assert_string_equal(
        msg, "/c.json: health.probe_max_ms: 999 is below probe_min_ms (1000)");
    assert_int_equal(parse("[]", &o, msg, sizeof(msg)), CMK_E_CONFIG);
    assert_string_equal(msg, "/c.json: health: expected an object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_values),
        cmocka_unit_test(test_verdict_aws),
        cmocka_unit_test(test_verdict_local),
        cmocka_unit_test(test_reason_err),
        cmocka_unit_test(test_breaker_waits),
        cmocka_unit_test(test_breaker_scope),
        cmocka_unit_test(test_breaker_opts),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_record_once_per_change),
        cmocka_unit_test(test_threads_record_each_change_once),
    };

    cmk_clock_set_source(fake_clock);
    if (cmk_mech_init() != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
