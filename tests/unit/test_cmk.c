/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: keys/cmk.c over the local provider with real key files: direct
 * path seal/unseal, context binding, rotation, KEK cache TTL with a fake
 * clock, single flight, purge on refusal, health, and the checks on every
 * Decrypt answer (plaintext length per purpose, the KEK commitment).
 */
#include <config.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <sodium.h>
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

#include "cmk-pkcs11.h"
#include "audit/audit.h"
#include "keys/cmk.h"
#include "mech/envelope.h"
#include "tests/lib/scratch.h"
#include "mech/mech.h"

struct fx {
    char dir[256];
    char key_a[PATH_MAX], key_b[PATH_MAX];
    char *prev[1];
    struct cmk_ctx_pair pairs[2];
    struct cmk_kms_cfg cfg;
    struct cmk_cmk *c;
    int64_t now; /* fake clock, microseconds */
    struct cmk_buf kek_blob;
    char audit[PATH_MAX];
    struct cmk_audit *a; /* KMS-call records, when a test asks */
};

static char s_acme[] = "acme", s_other[] = "other", s_local[] = "local",
            s_aws[] = "aws", k_zone[] = "zone", v_eu[] = "eu", k_app[] = "app",
            v_db[] = "db", v_us[] = "us";

/* Values of the sizes a DEK has (a "key" blob holds nothing else). */
#define DEK16 "sixteen byte dek"
#define DEK32 "data-encryption key of 32 bytes!"
#define OLD24 "old dek, 24 bytes long.."
#define NEW24 "new dek, 24 bytes long.."

static const uint8_t kek_value[32] = {
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a,
    0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};

static void write_key(const char *path, uint8_t first, size_t len, mode_t mode)
{
    uint8_t key[64];
    size_t i;
    int fd;

    for (i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(first + i);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, key, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static int64_t fake_now(void *arg)
{
    return ((struct fx *)arg)->now;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    assert_int_equal(test_scratch_make("cmk-keys", f->dir, sizeof(f->dir)), 0);
    snprintf(f->key_a, sizeof(f->key_a), "%s/a.key", f->dir);
    snprintf(f->key_b, sizeof(f->key_b), "%s/b.key", f->dir);
    write_key(f->key_a, 0, 32, 0600);
    write_key(f->key_b, 100, 32, 0600);
    /* configured in reverse order: open must sort them */
    f->pairs[0].key = k_zone;
    f->pairs[0].value = v_eu;
    f->pairs[1].key = k_app;
    f->pairs[1].value = v_db;
    f->cfg.label = s_acme;
    f->cfg.provider = s_local;
    f->cfg.key_ref = f->key_a;
    f->cfg.context = f->pairs;
    f->cfg.n_context = 2;
    f->now = 1000000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    cmk_cmk_close(f->c);
    cmk_audit_close(f->a);
    cmk_buf_free(&f->kek_blob);
    if (f->audit[0] != '\0') {
        unlink(f->audit);
        snprintf(f->audit, sizeof(f->audit), "%s/.audit.jsonl.pos", f->dir);
        unlink(f->audit); /* the writer's side file */
    }
    unlink(f->key_a);
    unlink(f->key_b);
    assert_int_equal(test_scratch_remove(f->dir), 0);
    free(f);
    return 0;
}

static cmk_err reopen(struct fx *f, unsigned ttl)
{
    cmk_err err;

    cmk_cmk_close(f->c);
    f->c = NULL;
    err = cmk_cmk_open(&f->cfg, ttl, &f->c);
    if (err == CMK_OK)
        cmk_cmk_set_clock(f->c, fake_now, f);
    return err;
}

static void seal(struct fx *f, const char *msg, struct cmk_buf *blob)
{
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    assert_int_equal(
        cmk_cmk_seal(f->c, &rq, (const uint8_t *)msg, strlen(msg), blob),
        CMK_OK);
}

static cmk_err unseal(struct fx *f, const struct cmk_buf *blob,
                      const char *want)
{
    struct cmk_req rq;
    struct cmk_secret out = {0};
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_unseal(f->c, &rq, blob->p, blob->len, &out);
    if (err == CMK_OK) {
        assert_int_equal(out.len, strlen(want));
        assert_memory_equal(out.p, want, out.len);
    } else {
        assert_null(out.p);
    }
    cmk_secret_free(&out);
    return err;
}

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0};
    struct cmk_envelope_view v;
    struct cmk_req rq;

    assert_int_equal(reopen(f, 300), CMK_OK);
    assert_string_equal(cmk_cmk_provider_name(f->c), "local");
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_seal(f->c, &rq, (const uint8_t *)DEK16, 16, &blob),
                     CMK_OK);
    /* the request as the provider saw it */
    assert_ptr_equal(rq.tenant, &f->cfg);
    assert_string_equal(rq.key_ref, f->key_a);
    assert_int_equal(rq.n_ctx, 4);
    assert_string_equal(rq.ctx[0].key, "tenant");
    assert_string_equal(rq.ctx[0].value, "acme");
    assert_string_equal(rq.ctx[1].key, "app");
    assert_string_equal(rq.ctx[2].key, "zone");
    assert_string_equal(rq.ctx[3].key, CMK_PURPOSE_KEY_NAME);
    assert_string_equal(rq.ctx[3].value, "key");
    assert_memory_equal(rq.request_id, "local-", 6);
    assert_int_equal(cmk_envelope_parse(blob.p, blob.len, &v), CMK_OK);
    assert_int_equal(v.provider_id, CMK_PROV_LOCAL);
    assert_int_equal(v.key_id_len, 22);
    assert_memory_equal(v.key_id, "local:", 6);
    assert_int_equal(v.ct_len, 24 + 16 + 16);
    assert_int_equal(unseal(f, &blob, DEK16), CMK_OK);
    cmk_buf_free(&blob);
}

/* Context order in the config does not matter; content does. */
/* A blob opens only for the purpose it was sealed for. The provider half
 * of dual control needs a tenant with dual control: test_dual.c runs the
 * same matrix with all four purposes. */
static void test_purpose_binding(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0};
    struct cmk_secret out = {0};
    struct cmk_req rq;
    int from, to;

    assert_int_equal(reopen(f, 300), CMK_OK);
    for (from = 0; from < CMK_PURPOSE_PROVIDER_KEK; from++) {
        memset(&rq, 0, sizeof(rq));
        assert_int_equal(cmk_cmk_seal_for(f->c, &rq, (enum cmk_purpose)from,
                                          (const uint8_t *)DEK32, 32, &blob),
                         CMK_OK);
        for (to = 0; to < CMK_PURPOSE_PROVIDER_KEK; to++) {
            assert_int_equal(cmk_cmk_unseal_for(f->c, &rq, (enum cmk_purpose)to,
                                                blob.p, blob.len, &out),
                             from == to ? CMK_OK : CMK_E_BAD_CIPHERTEXT);
            cmk_secret_free(&out);
        }
        cmk_buf_free(&blob);
    }
}

static void test_context_binding(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0};

    assert_int_equal(reopen(f, 300), CMK_OK);
    seal(f, DEK32, &blob);
    f->pairs[0].key = k_app;
    f->pairs[0].value = v_db;
    f->pairs[1].key = k_zone;
    f->pairs[1].value = v_eu;
    assert_int_equal(reopen(f, 300), CMK_OK);
    assert_int_equal(unseal(f, &blob, DEK32), CMK_OK);
    f->pairs[1].value = v_us;
    assert_int_equal(reopen(f, 300), CMK_OK);
    assert_int_equal(unseal(f, &blob, DEK32), CMK_E_BAD_CIPHERTEXT);
    f->pairs[1].value = v_eu;
    f->cfg.n_context = 1;
    assert_int_equal(reopen(f, 300), CMK_OK);
    assert_int_equal(unseal(f, &blob, DEK32), CMK_E_BAD_CIPHERTEXT);
    cmk_buf_free(&blob);
}

static void test_other_tenant(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0};

    assert_int_equal(reopen(f, 300), CMK_OK);
    seal(f, DEK32, &blob);
    f->cfg.label = s_other; /* same key file, other tenant */
    assert_int_equal(reopen(f, 300), CMK_OK);
    assert_int_equal(unseal(f, &blob, DEK32), CMK_E_BAD_CIPHERTEXT);
    cmk_buf_free(&blob);
}

static void test_rotation(void **state)
{
    struct fx *f = *state;
    struct cmk_buf old = {0}, cur = {0};
    struct cmk_envelope_view vo, vc;

    assert_int_equal(reopen(f, 300), CMK_OK);
    seal(f, OLD24, &old);
    f->cfg.key_ref = f->key_b;
    f->prev[0] = f->key_a;
    f->cfg.previous_key_refs = f->prev;
    f->cfg.n_previous = 1;
    assert_int_equal(reopen(f, 300), CMK_OK);
    assert_int_equal(unseal(f, &old, OLD24), CMK_OK);
    seal(f, NEW24, &cur);
    assert_int_equal(cmk_envelope_parse(old.p, old.len, &vo), CMK_OK);
    assert_int_equal(cmk_envelope_parse(cur.p, cur.len, &vc), CMK_OK);
    assert_memory_not_equal(vo.key_id, vc.key_id, vc.key_id_len);
    assert_int_equal(unseal(f, &cur, NEW24), CMK_OK);
    /* the old version dropped from config: its blobs name no version, a
     * fault of the blob (CMK_E_KEY_NOT_FOUND is the KMS's NotFound) */
    f->cfg.n_previous = 0;
    assert_int_equal(reopen(f, 300), CMK_OK);
    assert_int_equal(unseal(f, &old, OLD24), CMK_E_BAD_BLOB);
    assert_int_equal(unseal(f, &cur, NEW24), CMK_OK);
    cmk_buf_free(&old);
    cmk_buf_free(&cur);
}

static void test_unknown_version(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0}, forged = {0};
    struct cmk_envelope_view v;
    char kid[64];

    assert_int_equal(reopen(f, 300), CMK_OK);
    seal(f, DEK32, &blob);
    assert_int_equal(cmk_envelope_parse(blob.p, blob.len, &v), CMK_OK);
    /* same key id, another provider */
    snprintf(kid, sizeof(kid), "%.*s", (int)v.key_id_len, v.key_id);
    assert_int_equal(
        cmk_envelope_encode(CMK_PROV_AWS, kid, v.ct, v.ct_len, &forged),
        CMK_OK);
    assert_int_equal(unseal(f, &forged, DEK32), CMK_E_BAD_BLOB);
    cmk_buf_free(&forged);
    /* same provider, unknown key id (also one differing in length) */
    assert_int_equal(cmk_envelope_encode(CMK_PROV_LOCAL,
                                         "local:0000000000000000", v.ct,
                                         v.ct_len, &forged),
                     CMK_OK);
    assert_int_equal(unseal(f, &forged, DEK32), CMK_E_BAD_BLOB);
    cmk_buf_free(&forged);
    kid[v.key_id_len - 1] = '\0';
    assert_int_equal(
        cmk_envelope_encode(CMK_PROV_LOCAL, kid, v.ct, v.ct_len, &forged),
        CMK_OK);
    assert_int_equal(unseal(f, &forged, DEK32), CMK_E_BAD_BLOB);
    cmk_buf_free(&forged);
    blob.p[blob.len - 1] ^= 1; /* right version, tampered ciphertext */
    assert_int_equal(unseal(f, &blob, DEK32), CMK_E_BAD_CIPHERTEXT);
    blob.len--;
    assert_int_equal(unseal(f, &blob, DEK32), CMK_E_BAD_BLOB);
    cmk_buf_free(&blob);
}

/* C_WrapKey's length query: the local provider's ciphertext size is
 * exact, so the bound is the blob's length. */
static void test_seal_bound(void **state)
{
    static const size_t lens[] = {1, 16, 32, 100, 4096};
    uint8_t in[4096] = {0};
    struct fx *f = *state;
    struct cmk_buf blob = {0};
    struct cmk_req rq;
    size_t i;

    assert_int_equal(reopen(f, 300), CMK_OK);
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        memset(&rq, 0, sizeof(rq));
        assert_int_equal(cmk_cmk_seal(f->c, &rq, in, lens[i], &blob), CMK_OK);
        assert_int_equal(cmk_cmk_seal_bound(f->c, lens[i]), blob.len);
        cmk_buf_free(&blob);
    }
}

static void test_open_refuses(void **state)
{
    struct fx *f = *state;
    char missing[PATH_MAX + 8];

    write_key(f->key_a, 0, 32, 0644);
    assert_int_equal(reopen(f, 300), CMK_E_CONFIG);
    assert_null(f->c);
    write_key(f->key_a, 0, 31, 0600);
    assert_int_equal(reopen(f, 300), CMK_E_CONFIG);
    write_key(f->key_a, 0, 32, 0600);
    assert_int_equal(reopen(f, 300), CMK_OK);
    /* a bad previous version refuses the whole tenant */
    snprintf(missing, sizeof(missing), "%s/none.key", f->dir);
    f->prev[0] = missing;
    f->cfg.previous_key_refs = f->prev;
    f->cfg.n_previous = 1;
    assert_int_equal(reopen(f, 300), CMK_E_CONFIG);
    f->cfg.n_previous = 0;
    f->cfg.provider = s_aws; /* not built yet */
    assert_int_equal(reopen(f, 300), CMK_E_CONFIG);
    assert_int_equal(cmk_cmk_open(NULL, 300, &f->c), CMK_E_ARGS);
}

static void test_health(void **state)
{
    struct fx *f = *state;
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    assert_int_equal(reopen(f, 300), CMK_OK);
    assert_int_equal(cmk_cmk_health(f->c, &rq), CMK_OK);
    assert_int_equal(unlink(f->key_a), 0);
    assert_int_equal(cmk_cmk_health(f->c, &rq), CMK_E_KEY_DISABLED);
    assert_string_equal(rq.provider_code, "KeyFileMissing");
}

/* --- KEK --------------------------------------------------------------- */

struct use {
    int calls;
    const uint8_t *last;
    uint8_t seen[32];
};

static cmk_err use_kek(void *arg, const uint8_t *kek, size_t len)
{
    struct use *u = arg;

    assert_int_equal(len, 32);
    memcpy(u->seen, kek, 32);
    u->last = kek;
    u->calls++;
    return CMK_OK;
}

static void give_kek(struct fx *f, const uint8_t *kek, size_t len, unsigned ttl)
{
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    assert_int_equal(reopen(f, ttl), CMK_OK);
    cmk_buf_free(&f->kek_blob);
    assert_int_equal(
        cmk_cmk_seal_for(f->c, &rq, CMK_PURPOSE_KEK, kek, len, &f->kek_blob),
        CMK_OK);
    f->cfg.kek_blob = f->kek_blob.p;
    f->cfg.kek_blob_len = f->kek_blob.len;
    /* as cmk-tool provision writes it (a 31-byte "KEK" has none to give;
     * its length is refused before the commitment is looked at) */
    memset(f->cfg.kek_commitment, 0, sizeof(f->cfg.kek_commitment));
    if (len == 32)
        assert_int_equal(
            cmk_cmk_kek_commitment(s_acme, kek, len, f->cfg.kek_commitment),
            CMK_OK);
    f->cfg.has_kek_commitment = true;
    assert_int_equal(reopen(f, ttl), CMK_OK);
}

static void test_kek_ttl(void **state)
{
    struct fx *f = *state;
    struct use u = {0};

    give_kek(f, kek_value, 32, 10);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    assert_memory_equal(u.seen, kek_value, 32);
    /* key file gone: hits inside the TTL make no provider call */
    assert_int_equal(unlink(f->key_a), 0);
    f->now += 10 * 1000000 - 1;
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    assert_int_equal(u.calls, 2);
    /* at the expiry instant the entry is dead: the provider refuses */
    f->now += 1;
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_KEY_DISABLED);
    assert_int_equal(u.calls, 2);
    /* key back: one unwrap, then hits again */
    write_key(f->key_a, 0, 32, 0600);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    assert_memory_equal(u.seen, kek_value, 32);
    assert_int_equal(unlink(f->key_a), 0);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    assert_int_equal(u.calls, 4);
}

static void test_kek_forget_and_refusal_purge(void **state)
{
    struct fx *f = *state;
    struct use u = {0};
    struct cmk_buf blob = {0};
    struct cmk_req rq;

    give_kek(f, kek_value, 32, 300);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    assert_int_equal(unlink(f->key_a), 0);
    cmk_cmk_forget(f->c);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_KEY_DISABLED);
    write_key(f->key_a, 0, 32, 0600);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    /* a refusal on the direct path purges the cached KEK at once */
    assert_int_equal(unlink(f->key_a), 0);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_seal(f->c, &rq, (const uint8_t *)"x", 1, &blob),
                     CMK_E_KEY_DISABLED);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_KEY_DISABLED);
    assert_int_equal(u.calls, 2);
    /* and so does a failed health check */
    write_key(f->key_a, 0, 32, 0600);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    assert_int_equal(unlink(f->key_a), 0);
    assert_int_equal(cmk_cmk_health(f->c, &rq), CMK_E_KEY_DISABLED);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_KEY_DISABLED);
    assert_int_equal(u.calls, 3);
}

static void test_kek_ttl_zero(void **state)
{
    struct fx *f = *state;
    struct use u = {0};

    give_kek(f, kek_value, 32, 0);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    assert_memory_equal(u.seen, kek_value, 32);
    assert_int_equal(unlink(f->key_a), 0);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_KEY_DISABLED);
    assert_int_equal(u.calls, 1);
}

static void test_kek_bad(void **state)
{
    struct fx *f = *state;
    struct use u = {0};

    assert_int_equal(reopen(f, 300), CMK_OK);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_KEY_NOT_FOUND);
    /* The KMS answers 31 bytes: its answer is wrong, not the blob. */
    give_kek(f, kek_value, 31, 300);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_BAD_RESPONSE);
    give_kek(f, kek_value, 32, 300);
    f->kek_blob.p[1] = 'X';
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_BAD_BLOB);
    f->kek_blob.p[1] = 'M';
    f->kek_blob.p[f->kek_blob.len - 1] ^= 1;
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(u.calls, 0);
    assert_int_equal(cmk_cmk_with_kek(f->c, NULL, &u), CMK_E_ARGS);
}

/* --- checks on Decrypt answers ------------------------------------------ */

/* Records every KMS call of f->c from now on into f->audit (a chain key
 * of the test's own: only the records' fields are looked at). */
static void record_calls(struct fx *f)
{
    static const uint8_t key[CMK_AUDIT_KEY_LEN] = {1};
    struct cmk_audit_key k = {key, key, sizeof(key), s_acme, s_local, NULL};
    struct cmk_audit_opts o;

    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    snprintf(f->audit, sizeof(f->audit), "%s/audit.jsonl", f->dir);
    unlink(f->audit);
    assert_int_equal(cmk_audit_open(f->audit, &o, &k, &f->a), CMK_OK);
    cmk_cmk_set_audit(f->c, f->a);
}

/* Lines of f->audit holding a and b (b NULL: any). */
static int count_lines(const struct fx *f, const char *a, const char *b)
{
    char line[4096];
    FILE *fp = fopen(f->audit, "r");
    int n = 0;

    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL)
        n += strstr(line, a) != NULL && (b == NULL || strstr(line, b));
    fclose(fp);
    return n;
}

static int decrypts(const struct fx *f, const char *detail)
{
    return count_lines(f, "\"op\":\"Decrypt\"", detail);
}

/* Seals len bytes of value for purpose p and unseals them again. */
static cmk_err round_trip(struct fx *f, enum cmk_purpose p, size_t len)
{
    static uint8_t value[CMK_ENVELOPE_MAX_PLAINTEXT + 1];
    struct cmk_secret out = {0};
    struct cmk_buf blob = {0};
    struct cmk_req rq;
    cmk_err err;

    memset(value, 0x5a, sizeof(value));
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_seal_for(f->c, &rq, p, value, len, &blob), CMK_OK);
    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_unseal_for(f->c, &rq, p, blob.p, blob.len, &out);
    if (err == CMK_OK)
        assert_int_equal(out.len, len);
    else
        assert_null(out.p); /* nothing of a refused answer is released */
    cmk_secret_free(&out);
    cmk_buf_free(&blob);
    return err;
}

/* What a Decrypt may answer is bounded per purpose: a DEK has a DEK's
 * size, a KEK 32 bytes, data at most the envelope limit. Anything else is
 * the KMS's fault (CMK_E_BAD_RESPONSE, CKR_DEVICE_ERROR) and its record
 * says why. */
static void test_plaintext_bounds(void **state)
{
    static const size_t key_bad[] = {0, 1, 15, 17, 20, 23, 25, 31, 33, 64};
    struct fx *f = *state;
    size_t i;

    assert_int_equal(reopen(f, 300), CMK_OK);
    record_calls(f);
    for (i = 0; i < sizeof(key_bad) / sizeof(key_bad[0]); i++)
        assert_int_equal(round_trip(f, CMK_PURPOSE_KEY, key_bad[i]),
                         CMK_E_BAD_RESPONSE);
    assert_int_equal(round_trip(f, CMK_PURPOSE_KEY, 16), CMK_OK);
    assert_int_equal(round_trip(f, CMK_PURPOSE_KEY, 24), CMK_OK);
    assert_int_equal(round_trip(f, CMK_PURPOSE_KEY, 32), CMK_OK);
    assert_int_equal(round_trip(f, CMK_PURPOSE_KEK, 31), CMK_E_BAD_RESPONSE);
    assert_int_equal(round_trip(f, CMK_PURPOSE_KEK, 33), CMK_E_BAD_RESPONSE);
    assert_int_equal(round_trip(f, CMK_PURPOSE_KEK, 32), CMK_OK);
    assert_int_equal(round_trip(f, CMK_PURPOSE_DATA, 0), CMK_OK);
    assert_int_equal(round_trip(f, CMK_PURPOSE_DATA, 1), CMK_OK);
    assert_int_equal(
        round_trip(f, CMK_PURPOSE_DATA, CMK_ENVELOPE_MAX_PLAINTEXT), CMK_OK);
    assert_int_equal(
        round_trip(f, CMK_PURPOSE_DATA, CMK_ENVELOPE_MAX_PLAINTEXT + 1),
        CMK_E_BAD_RESPONSE);
    assert_int_equal(decrypts(f, NULL), 10 + 3 + 3 + 4);
    assert_int_equal(count_lines(f, "\"result\":\"CKR_DEVICE_ERROR\"",
                                 "\"detail\":\"plaintext_length\""),
                     10 + 2 + 1);
}

/* RFC 5869 by hand: PRK = HMAC(salt "acme", KEK), OKM = HMAC(PRK, info |
 * 0x01), one block of 32 bytes. */
static void expected_commitment(const uint8_t *kek, uint8_t out[32])
{
    static const char info[] = "cmk-pkcs11 kek commitment v1";
    crypto_auth_hmacsha256_state st;
    uint8_t prk[32], one = 1;

    crypto_auth_hmacsha256_init(&st, (const uint8_t *)"acme", 4);
    crypto_auth_hmacsha256_update(&st, kek, 32);
    crypto_auth_hmacsha256_final(&st, prk);
    crypto_auth_hmacsha256_init(&st, prk, sizeof(prk));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)info, sizeof(info) - 1);
    crypto_auth_hmacsha256_update(&st, &one, 1);
    crypto_auth_hmacsha256_final(&st, out);
}

static void test_kek_commitment_value(void **state)
{
    uint8_t want[32], got[32], other[32];

    (void)state;
    expected_commitment(kek_value, want);
    assert_int_equal(cmk_cmk_kek_commitment("acme", kek_value, 32, got),
                     CMK_OK);
    assert_memory_equal(got, want, 32);
    /* the salt is the tenant: another tenant, another value */
    assert_int_equal(cmk_cmk_kek_commitment("other", kek_value, 32, other),
                     CMK_OK);
    assert_memory_not_equal(other, want, 32);
    assert_int_equal(cmk_cmk_kek_commitment("acme", kek_value, 31, got),
                     CMK_E_ARGS);
    assert_int_equal(cmk_cmk_kek_commitment(NULL, kek_value, 32, got),
                     CMK_E_ARGS);
}

/* The KMS answers a KEK that is not the one committed to (an alias
 * repointed, a misbehaving endpoint): refused with a reason on record and
 * never cached, so every use asks the KMS again; once the right KEK comes
 * back it is used and cached as usual. */
static void test_kek_commitment_mismatch(void **state)
{
    struct fx *f = *state;
    struct cmk_buf right = {0};
    uint8_t wrong[32];
    struct use u = {0};
    size_t i;

    for (i = 0; i < sizeof(wrong); i++)
        wrong[i] = (uint8_t)(kek_value[i] ^ 0xa5);
    give_kek(f, kek_value, 32, 300);
    right = f->kek_blob; /* the fixture's blob now: the provisioned KEK */
    f->kek_blob = (struct cmk_buf){0};
    give_kek(f, wrong, 32, 300); /* the KMS answers another 32 bytes */
    assert_int_equal(
        cmk_cmk_kek_commitment(s_acme, kek_value, 32, f->cfg.kek_commitment),
        CMK_OK);
    assert_int_equal(reopen(f, 300), CMK_OK);
    record_calls(f);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_KEK_COMMITMENT);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_KEK_COMMITMENT);
    assert_int_equal(u.calls, 0);
    assert_int_equal(decrypts(f, "\"result\":\"CKR_DEVICE_ERROR\""), 2);
    assert_int_equal(decrypts(f, "\"detail\":\"kek_commitment_mismatch\""), 2);
    /* the KMS answers right again: used, then served from the cache */
    f->cfg.kek_blob = right.p;
    f->cfg.kek_blob_len = right.len;
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    assert_memory_equal(u.seen, kek_value, 32);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    assert_int_equal(u.calls, 2);
    assert_int_equal(decrypts(f, NULL), 3);
    assert_int_equal(decrypts(f, "\"result\":\"CKR_OK\""), 1);
    f->cfg.kek_blob = f->kek_blob.p; /* the fixture frees its own blob */
    cmk_buf_free(&right);
}

/* A KEK provisioned before commitments: refused, never unwrapped (any 32
 * bytes would pass otherwise), until kek-commit adds one. */
static void test_kek_without_commitment(void **state)
{
    struct fx *f = *state;
    struct use u = {0};

    give_kek(f, kek_value, 32, 300);
    f->cfg.has_kek_commitment = false;
    assert_int_equal(reopen(f, 300), CMK_OK);
    record_calls(f);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_KEK_COMMITMENT);
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_E_KEK_COMMITMENT);
    assert_int_equal(u.calls, 0);
    assert_int_equal(decrypts(f, NULL), 0); /* no KMS call at all */
    f->cfg.has_kek_commitment = true;
    assert_int_equal(cmk_cmk_with_kek(f->c, use_kek, &u), CMK_OK);
    assert_int_equal(decrypts(f, NULL), 1);
}

/* --- single flight ------------------------------------------------------ */

#define N_THREADS 8

struct race {
    struct fx *f;
    pthread_barrier_t go;
    pthread_mutex_t mu;
    const uint8_t *ptrs[N_THREADS * 4];
    size_t n_ptrs;
    int failures;
};

static int64_t slow_now(void *arg)
{
    struct timespec ts = {0, 2000000}; /* widen every race window */

    nanosleep(&ts, NULL);
    return ((struct race *)arg)->f->now;
}

static cmk_err record_ptr(void *arg, const uint8_t *kek, size_t len)
{
    struct race *r = arg;
    size_t i;

    pthread_mutex_lock(&r->mu);
    if (len != 32 || memcmp(kek, kek_value, 32) != 0)
        r->failures++;
    for (i = 0; i < r->n_ptrs && r->ptrs[i] != kek; i++)
        ;
    if (i == r->n_ptrs)
        r->ptrs[r->n_ptrs++] = kek;
    pthread_mutex_unlock(&r->mu);
    return CMK_OK;
}

static void *racer(void *arg)
{
    struct race *r = arg;

    pthread_barrier_wait(&r->go);
    if (cmk_cmk_with_kek(r->f->c, record_ptr, r) != CMK_OK) {
        pthread_mutex_lock(&r->mu);
        r->failures++;
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

/* Every fill allocates a fresh KEK buffer while the previous one is still
 * cached, so the number of distinct buffers seen is the number of unwraps. */
static void test_kek_single_flight(void **state)
{
    struct fx *f = *state;
    pthread_t t[N_THREADS];
    struct race r;
    int i;

    memset(&r, 0, sizeof(r));
    r.f = f;
    give_kek(f, kek_value, 32, 300);
    cmk_cmk_set_clock(f->c, slow_now, &r);
    assert_int_equal(pthread_barrier_init(&r.go, NULL, N_THREADS), 0);
    assert_int_equal(pthread_mutex_init(&r.mu, NULL), 0);
    for (i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, racer, &r), 0);
    for (i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r.failures, 0);
    assert_int_equal(r.n_ptrs, 1);
    pthread_barrier_destroy(&r.go);
    pthread_mutex_destroy(&r.mu);
}

/* Audit lines are hashed with mech's SHA-256: initialised as
 * C_Initialize and cmk-tool do. */
static int group_setup(void **state)
{
    (void)state;
    return cmk_mech_init() == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cmk_mech_fini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purpose_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kek_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kek_forget_and_refusal_purge,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_kek_ttl_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kek_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kek_single_flight, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_plaintext_bounds, setup, teardown),
        cmocka_unit_test(test_kek_commitment_value),
        cmocka_unit_test_setup_teardown(test_kek_commitment_mismatch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_kek_without_commitment, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
