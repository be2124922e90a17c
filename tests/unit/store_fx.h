/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the store fixture shared by test_store.c and
 * test_store_history.c (scratch store, KEKs, loaders, file helpers, an
 * independent HKDF-SHA256).
 */
#ifndef CMK_TEST_STORE_FX_H
#define CMK_TEST_STORE_FX_H

#define FX_UNUSED __attribute__((unused))

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "store/store.h"
#include "tests/lib/scratch.h"

#define MAX_OBJS 128
#define TENANT "acme"
#define HDR 37  /* "CMKO" | format | u64 version | 24-byte nonce */
#define HDR1 29 /* format 1: "CMKO" | 1 | 24-byte nonce */
#define TAG 16

struct loaded {
    size_t n;
    char names[MAX_OBJS][CMK_STORE_NAME_LEN + 1];
    uint64_t versions[MAX_OBJS];
    struct cmk_attrs attrs[MAX_OBJS];
};

struct fx {
    char dir[128];
    char store[160];
    uint8_t kek[32];
    uint8_t kek2[32];
    struct loaded got;
};

static FX_UNUSED void collect(void *arg, const char *name,
                              const struct cmk_store_meta *meta,
                              struct cmk_attrs *attrs)
{
    struct loaded *l = arg;

    if (l->n >= MAX_OBJS) {
        cmk_attrs_clear(attrs);
        return;
    }
    memcpy(l->names[l->n], name, CMK_STORE_NAME_LEN + 1);
    l->versions[l->n] = meta->version;
    l->attrs[l->n] = *attrs;
    *attrs = (struct cmk_attrs){0}; /* moved */
    l->n++;
}

static FX_UNUSED void loaded_clear(struct loaded *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        cmk_attrs_clear(&l->attrs[i]);
    l->n = 0;
}

static FX_UNUSED int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL || sodium_init() < 0)
        return -1;
    if (test_scratch_make("cmk-store", f->dir, sizeof(f->dir)) != 0)
        return -1;
    snprintf(f->store, sizeof(f->store), "%s/a/b/store", f->dir);
    randombytes_buf(f->kek, sizeof(f->kek));
    randombytes_buf(f->kek2, sizeof(f->kek2));
    *state = f;
    return 0;
}

static FX_UNUSED int teardown(void **state)
{
    struct fx *f = *state;

    loaded_clear(&f->got);
    (void)test_scratch_remove(f->dir);
    free(f);
    return 0;
}

static FX_UNUSED struct cmk_store_loc loc_of(struct fx *f, const uint8_t *kek,
                                             const char *tenant)
{
    struct cmk_store_loc loc = {f->store, tenant, kek, 32, NULL, NULL, NULL};

    return loc;
}

static FX_UNUSED cmk_err load_err(struct fx *f, const uint8_t *kek,
                                  const char *tenant, uint64_t *max_gen)
{
    struct cmk_store_loc loc = loc_of(f, kek, tenant);

    loc.max_gen = max_gen;
    loaded_clear(&f->got);
    return cmk_store_load_all(&loc, collect, &f->got, NULL);
}

static FX_UNUSED void load(struct fx *f, const uint8_t *kek, const char *tenant)
{
    assert_int_equal(load_err(f, kek, tenant, NULL), CMK_OK);
}

static FX_UNUSED void sample(struct cmk_attrs *a, const char *label)
{
    static const uint8_t value[32] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3};

    assert_int_equal(cmk_attrs_set_ulong(a, CKA_CLASS, CKO_SECRET_KEY), CMK_OK);
    assert_int_equal(cmk_attrs_set_ulong(a, CKA_KEY_TYPE, CKK_AES), CMK_OK);
    assert_int_equal(cmk_attrs_set_bool(a, CKA_TOKEN, true), CMK_OK);
    assert_int_equal(cmk_attrs_set(a, CKA_LABEL, label, strlen(label)), CMK_OK);
    assert_int_equal(cmk_attrs_set(a, CKA_ID, "\x42\x43", 2), CMK_OK);
    assert_int_equal(cmk_attrs_set(a, CKA_START_DATE, NULL, 0), CMK_OK);
    assert_int_equal(cmk_attrs_set(a, CKA_VALUE, value, sizeof(value)), CMK_OK);
}

static FX_UNUSED void assert_same(const struct cmk_attrs *a,
                                  const struct cmk_attrs *b)
{
    size_t i;

    assert_int_equal(a->n, b->n);
    for (i = 0; i < a->n; i++) {
        assert_int_equal(a->v[i].type, b->v[i].type);
        assert_int_equal(a->v[i].len, b->v[i].len);
        if (a->v[i].len)
            assert_memory_equal(a->v[i].val, b->v[i].val, a->v[i].len);
    }
}

static FX_UNUSED void write_sample(struct fx *f, const uint8_t *kek,
                                   const char *tenant, const char *name,
                                   const char *label)
{
    struct cmk_attrs a = {0};

    sample(&a, label);
    assert_int_equal(cmk_store_write(f->store, tenant, kek, 32, name, &a),
                     CMK_OK);
    cmk_attrs_clear(&a);
}

static FX_UNUSED char *obj_path(const struct fx *f, const char *file)
{
    static char p[256];

    snprintf(p, sizeof(p), "%s/%s", f->store, file);
    return p;
}

static FX_UNUSED size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    size_t n;

    assert_non_null(fp);
    n = fread(buf, 1, cap, fp);
    fclose(fp);
    return n;
}

static FX_UNUSED void write_file(const char *path, const uint8_t *buf,
                                 size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Runs cmk_store_load_all with stderr captured into log. */
static FX_UNUSED void load_capture(struct fx *f, char *log, size_t cap)
{
    char path[300];
    int fd, saved;
    size_t n;

    snprintf(path, sizeof(path), "%s/stderr.txt", f->dir);
    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    close(fd);
    load(f, f->kek, TENANT);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = read_file(path, (uint8_t *)log, cap - 1);
    log[n] = '\0';
}

/* Index of the object called name, or -1. */
static FX_UNUSED int find_name(const struct loaded *l, const char *name)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

static FX_UNUSED bool has_name(const struct loaded *l, const char *name)
{
    return find_name(l, name) >= 0;
}

/* ---- An independent HKDF-SHA256 (RFC 5869) over libsodium HMAC ---- */

static FX_UNUSED void hkdf(const uint8_t *salt, size_t salt_len,
                           const uint8_t *ikm, size_t ikm_len,
                           const uint8_t *info, size_t info_len, uint8_t *out,
                           size_t len)
{
    static const uint8_t zeros[32];
    crypto_auth_hmacsha256_state st;
    uint8_t prk[32], t[32];
    size_t done = 0, n;
    uint8_t c = 1;

    crypto_auth_hmacsha256_init(&st, salt_len ? salt : zeros,
                                salt_len ? salt_len : 32);
    crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
    crypto_auth_hmacsha256_final(&st, prk);
    for (; done < len; c++) {
        crypto_auth_hmacsha256_init(&st, prk, sizeof(prk));
        if (c > 1)
            crypto_auth_hmacsha256_update(&st, t, sizeof(t));
        crypto_auth_hmacsha256_update(&st, info, info_len);
        crypto_auth_hmacsha256_update(&st, &c, 1);
        crypto_auth_hmacsha256_final(&st, t);
        n = len - done < 32 ? len - done : 32;
        memcpy(out + done, t, n);
        done += n;
    }
}

static FX_UNUSED void unhex(const char *hex, uint8_t *out, size_t *len)
{
    assert_int_equal(
        sodium_hex2bin(out, 256, hex, strlen(hex), NULL, len, NULL), 0);
}

static FX_UNUSED size_t save(struct fx *f, const char *file, uint8_t *buf,
                             size_t cap)
{
    return read_file(obj_path(f, file), buf, cap);
}

/* An attacker's copy: a new file renamed over the name. */
static FX_UNUSED void restore(struct fx *f, const char *file,
                              const uint8_t *buf, size_t n)
{
    char tmp[300];

    snprintf(tmp, sizeof(tmp), "%s.x", obj_path(f, file));
    write_file(tmp, buf, n);
    assert_int_equal(rename(tmp, obj_path(f, file)), 0);
}

#endif /* CMK_TEST_STORE_FX_H */
