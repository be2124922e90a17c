/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: core/store, the sealed token-object store (round trip, file
 * layout checked with an independent HKDF, damaged and foreign files,
 * atomic replace, remove, concurrent writers in two processes; versions
 * and the manifest: old, replayed and missing files, manifest rollback
 * and removal, compare-and-swap, adoption of a format-1 store).
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "core/store.h"

#define MAX_OBJS 128
#define TENANT "acme"
#define HDR 37 /* "CMKO" | format | u64 version | 24-byte nonce */
#define HDR1 29 /* format 1: "CMKO" | 1 | 24-byte nonce */
#define TAG 16

struct loaded {
    size_t n;
    char names[MAX_OBJS][CMK_STORE_NAME_LEN + 1];
    uint64_t versions[MAX_OBJS];
    struct cmk_attrs attrs[MAX_OBJS];
};

struct fx {
    char dir[64];
    char store[96];
    uint8_t kek[32];
    uint8_t kek2[32];
    struct loaded got;
};

static void collect(void *arg, const char *name,
                    const struct cmk_store_meta *meta, struct cmk_attrs *attrs)
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

static void loaded_clear(struct loaded *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        cmk_attrs_clear(&l->attrs[i]);
    l->n = 0;
}

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL || sodium_init() < 0)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/cmk-store-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->store, sizeof(f->store), "%s/a/b/store", f->dir);
    randombytes_buf(f->kek, sizeof(f->kek));
    randombytes_buf(f->kek2, sizeof(f->kek2));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    loaded_clear(&f->got);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct cmk_store_loc loc_of(struct fx *f, const uint8_t *kek,
                                   const char *tenant)
{
    struct cmk_store_loc loc = {f->store, tenant, kek, 32, NULL};

    return loc;
}

static cmk_err load_err(struct fx *f, const uint8_t *kek, const char *tenant,
                        uint64_t *max_gen)
{
    struct cmk_store_loc loc = loc_of(f, kek, tenant);

    loc.max_gen = max_gen;
    loaded_clear(&f->got);
    return cmk_store_load_all(&loc, collect, &f->got, NULL);
}

static void load(struct fx *f, const uint8_t *kek, const char *tenant)
{
    assert_int_equal(load_err(f, kek, tenant, NULL), CMK_OK);
}

static void sample(struct cmk_attrs *a, const char *label)
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

static void assert_same(const struct cmk_attrs *a, const struct cmk_attrs *b)
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

static void write_sample(struct fx *f, const uint8_t *kek, const char *tenant,
                         const char *name, const char *label)
{
    struct cmk_attrs a = {0};

    sample(&a, label);
    assert_int_equal(cmk_store_write(f->store, tenant, kek, 32, name, &a),
                     CMK_OK);
    cmk_attrs_clear(&a);
}

static char *obj_path(const struct fx *f, const char *file)
{
    static char p[256];

    snprintf(p, sizeof(p), "%s/%s", f->store, file);
    return p;
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    size_t n;

    assert_non_null(fp);
    n = fread(buf, 1, cap, fp);
    fclose(fp);
    return n;
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Runs cmk_store_load_all with stderr captured into log. */
static void load_capture(struct fx *f, char *log, size_t cap)
{
    char path[128];
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
static int find_name(const struct loaded *l, const char *name)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

static bool has_name(const struct loaded *l, const char *name)
{
    return find_name(l, name) >= 0;
}

/* ---- An independent HKDF-SHA256 (RFC 5869) over libsodium HMAC ---- */

static void hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                 size_t ikm_len, const uint8_t *info, size_t info_len,
                 uint8_t *out, size_t len)
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

static void unhex(const char *hex, uint8_t *out, size_t *len)
{
    assert_int_equal(
        sodium_hex2bin(out, 256, hex, strlen(hex), NULL, len, NULL), 0);
}

/* RFC 5869 A.1 and A.3 check this HKDF before it checks the store. */
static void test_reference_hkdf_rfc5869(void **state)
{
    uint8_t ikm[256], salt[256], info[256], okm[256], out[42];
    size_t ikm_len, salt_len, info_len, okm_len;

    (void)state;
    unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", ikm, &ikm_len);
    unhex("000102030405060708090a0b0c", salt, &salt_len);
    unhex("f0f1f2f3f4f5f6f7f8f9", info, &info_len);
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
          "34007208d5b887185865",
          okm, &okm_len);
    hkdf(salt, salt_len, ikm, ikm_len, info, info_len, out, 42);
    assert_memory_equal(out, okm, 42);
    unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
          "9d201395faa4b61a96c8",
          okm, &okm_len);
    hkdf(NULL, 0, ikm, ikm_len, NULL, 0, out, 42);
    assert_memory_equal(out, okm, 42);
}

/* ---- Tests ---- */

static void test_new_name(void **state)
{
    char a[CMK_STORE_NAME_LEN + 1], b[CMK_STORE_NAME_LEN + 1];
    size_t i;

    (void)state;
    cmk_store_new_name(a);
    cmk_store_new_name(b);
    assert_int_equal(strlen(a), CMK_STORE_NAME_LEN);
    for (i = 0; i < CMK_STORE_NAME_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
    assert_string_not_equal(a, b);
}

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    struct cmk_attrs a = {0};
    uint8_t buf[4096];
    struct stat st;
    size_t n;

    sample(&a, "my-dek");
    assert_int_equal(
        cmk_store_write(f->store, TENANT, f->kek, 32, "0011223344556677", &a),
        CMK_OK);
    assert_int_equal(stat(f->store, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(obj_path(f, "0011223344556677.obj"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 1);
    assert_string_equal(f->got.names[0], "0011223344556677");
    assert_same(&a, &f->got.attrs[0]);
    /* Nothing readable in the file: not the label, not the value. */
    n = read_file(obj_path(f, "0011223344556677.obj"), buf, sizeof(buf));
    assert_null(memmem(buf, n, "my-dek", 6));
    assert_null(memmem(buf, n, "\xde\xad\xbe\xef", 4));
    cmk_attrs_clear(&a);
}

/* Decrypts a store file with an independently derived key; the header
 * (format 2, version 1) is bound as AAD after the file name. */
static void test_file_layout(void **state)
{
    static const char info[] = "cmk-pkcs11 object store v1";
    struct fx *f = *state;
    struct cmk_attrs a = {0};
    uint8_t buf[4096], pt[4096], key[32], aad[128];
    unsigned long long pt_len;
    size_t n, aad_len;

    assert_int_equal(cmk_attrs_set_bool(&a, CKA_TOKEN, true), CMK_OK);
    assert_int_equal(cmk_attrs_set(&a, CKA_VALUE, "KEY!", 4), CMK_OK);
    assert_int_equal(
        cmk_store_write(f->store, TENANT, f->kek, 32, "0123012301230123", &a),
        CMK_OK);
    n = read_file(obj_path(f, "0123012301230123.obj"), buf, sizeof(buf));
    assert_int_equal(n, HDR + 4 + 12 + 1 + 12 + 4 + TAG);
    assert_memory_equal(buf, "CMKO\x02\0\0\0\0\0\0\0\x01", 13);
    aad_len = (size_t)snprintf((char *)aad, sizeof(aad), "%s%c%s%c", TENANT,
                               0, "0123012301230123.obj", 0);
    memcpy(aad + aad_len, buf, 13);
    aad_len += 13;
    hkdf(NULL, 0, f->kek, 32, (const uint8_t *)info, sizeof(info) - 1, key, 32);
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
                         pt, &pt_len, NULL, buf + HDR, n - HDR, aad, aad_len,
                         buf + 13, key),
                     0);
    assert_int_equal(pt_len, 33);
    assert_memory_equal(pt,
                        "\0\0\0\x02"
                        "\0\0\0\0\0\0\0\x01\0\0\0\x01\x01"
                        "\0\0\0\0\0\0\0\x11\0\0\0\x04KEY!",
                        33);
    /* A second write is version 2. */
    assert_int_equal(
        cmk_store_write(f->store, TENANT, f->kek, 32, "0123012301230123", &a),
        CMK_OK);
    n = read_file(obj_path(f, "0123012301230123.obj"), buf, sizeof(buf));
    assert_memory_equal(buf, "CMKO\x02\0\0\0\0\0\0\0\x02", 13);
    cmk_attrs_clear(&a);
}

/* Copies dir/file of another store into ours. */
static void copy_in(struct fx *f, const char *from_store, const char *file)
{
    char path[256];
    uint8_t buf[4096];
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", from_store, file);
    n = read_file(path, buf, sizeof(buf));
    write_file(obj_path(f, file), buf, n);
}

static void test_other_kek_or_tenant_skipped(void **state)
{
    struct fx *f = *state;
    char log[4096], other[80];
    struct fx g;

    write_sample(f, f->kek, TENANT, "aaaaaaaaaaaaaaaa", "good");
    write_sample(f, f->kek, TENANT, "dddddddddddddddd", "good2");
    /* Files of another KEK or tenant, made in a store of their own. */
    g = *f;
    snprintf(other, sizeof(other), "%s/other", f->dir);
    snprintf(g.store, sizeof(g.store), "%s", other);
    write_sample(&g, f->kek2, TENANT, "bbbbbbbbbbbbbbbb", "other-kek");
    copy_in(f, other, "bbbbbbbbbbbbbbbb.obj");
    snprintf(other, sizeof(other), "%s/beta", f->dir);
    snprintf(g.store, sizeof(g.store), "%s", other);
    write_sample(&g, f->kek, "beta", "cccccccccccccccc", "other-tenant");
    copy_in(f, other, "cccccccccccccccc.obj");
    load_capture(f, log, sizeof(log));
    assert_int_equal(f->got.n, 2);
    assert_true(has_name(&f->got, "aaaaaaaaaaaaaaaa"));
    assert_true(has_name(&f->got, "dddddddddddddddd"));
    assert_non_null(strstr(log, "file bbbbbbbbbbbbbbbb.obj skipped: "
                                "authentication failed"));
    assert_non_null(strstr(log, "file cccccccccccccccc.obj skipped: "
                                "authentication failed"));
    /* The manifest itself does not open with another KEK or tenant. */
    assert_int_equal(load_err(f, f->kek2, TENANT, NULL), CMK_E_ROLLBACK);
    assert_int_equal(load_err(f, f->kek, "beta", NULL), CMK_E_ROLLBACK);
}

static void test_damaged_files_skipped(void **state)
{
    struct fx *f = *state;
    uint8_t buf[4096];
    char log[8192], target[256];
    size_t n;

    write_sample(f, f->kek, TENANT, "1111111111111111", "good");
    n = read_file(obj_path(f, "1111111111111111.obj"), buf, sizeof(buf));
    write_file(obj_path(f, "2222222222222222.obj"), buf, n - 1);
    buf[n / 2] ^= 0x01;
    write_file(obj_path(f, "3333333333333333.obj"), buf, n);
    buf[n / 2] ^= 0x01;
    buf[10] ^= 0x80; /* in the nonce */
    write_file(obj_path(f, "4444444444444444.obj"), buf, n);
    buf[10] ^= 0x80;
    buf[4] = 3; /* format version */
    write_file(obj_path(f, "5555555555555555.obj"), buf, n);
    buf[4] = 2;
    /* A good file under another name: the name is bound as AAD. */
    write_file(obj_path(f, "6666666666666666.obj"), buf, n);
    write_file(obj_path(f, "7777777777777777.obj"), buf, 3);
    randombytes_buf(buf, sizeof(buf));
    write_file(obj_path(f, "0123456789abcdef.obj"), buf, sizeof(buf));
    write_file(obj_path(f, "junk.obj"), buf, 100);
    write_file(obj_path(f, "0123456789ABCDEF.obj"), buf, 100);
    write_file(obj_path(f, "0123456789abcdef.obj.bak"), buf, 100);
    assert_int_equal(mkdir(obj_path(f, "8888888888888888.obj"), 0700), 0);
    snprintf(target, sizeof(target), "%s", obj_path(f, "1111111111111111.obj"));
    assert_int_equal(symlink(target, obj_path(f, "9999999999999999.obj")), 0);
    load_capture(f, log, sizeof(log));
    assert_int_equal(f->got.n, 1);
    assert_string_equal(f->got.names[0], "1111111111111111");
    assert_non_null(strstr(log, "2222222222222222.obj skipped: auth"));
    assert_non_null(strstr(log, "3333333333333333.obj skipped: auth"));
    assert_non_null(strstr(log, "4444444444444444.obj skipped: auth"));
    assert_non_null(strstr(log, "5555555555555555.obj skipped: unsupported"));
    assert_non_null(strstr(log, "6666666666666666.obj skipped: auth"));
    assert_non_null(strstr(log, "7777777777777777.obj skipped: too short"));
    assert_non_null(strstr(log, "0123456789abcdef.obj skipped: not an obj"));
    assert_non_null(strstr(log, "8888888888888888.obj skipped: not a reg"));
    assert_non_null(strstr(log, "9999999999999999.obj skipped: cannot open"));
    /* Names outside the pattern are not ours: not even mentioned. */
    assert_null(strstr(log, "junk.obj"));
    assert_null(strstr(log, "ABCDEF"));
    assert_null(strstr(log, ".bak"));
}

static void test_oversize_file_skipped(void **state)
{
    struct fx *f = *state;
    uint8_t *big = calloc(1, 1024 * 1024 + 1);
    char log[4096];

    assert_non_null(big);
    write_sample(f, f->kek, TENANT, "1111111111111111", "good");
    memcpy(big, "CMKO\x01", 5);
    write_file(obj_path(f, "2222222222222222.obj"), big, 1024 * 1024 + 1);
    free(big);
    load_capture(f, log, sizeof(log));
    assert_int_equal(f->got.n, 1);
    assert_non_null(strstr(log, "2222222222222222.obj skipped: larger"));
}

/* Seals a hand-made payload with the store's key so only its parse fails. */
static void write_raw_payload(struct fx *f, const char *name, const uint8_t *pt,
                              size_t pt_len)
{
    static const char info[] = "cmk-pkcs11 object store v1";
    uint8_t file[512], key[32];
    char aad[80];
    int aad_len;

    /* Listed in the manifest at version 1 first, then replaced. */
    write_sample(f, f->kek, TENANT, name, "listed");
    aad_len = snprintf(aad, sizeof(aad), "%s%c%s.obj%c", TENANT, 0, name, 0);
    memcpy(file, "CMKO\x02\0\0\0\0\0\0\0\x01", 13);
    memcpy(aad + aad_len, file, 13);
    aad_len += 13;
    hkdf(NULL, 0, f->kek, 32, (const uint8_t *)info, sizeof(info) - 1, key, 32);
    randombytes_buf(file + 13, 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        file + HDR, NULL, pt, pt_len, (const uint8_t *)aad, (size_t)aad_len,
        NULL, file + 13, key);
    snprintf(aad, sizeof(aad), "%s.obj", name);
    write_file(obj_path(f, aad), file, HDR + pt_len + TAG);
}

static void test_malformed_payload_skipped(void **state)
{
    static const uint8_t ok[] = "\0\0\0\x01"
                                "\0\0\0\0\0\0\0\x03\0\0\0\x02hi";
    static const uint8_t big_count[] = "\0\0\0\x02"
                                       "\0\0\0\0\0\0\0\x03\0\0\0\x02hi";
    static const uint8_t trailing[] = "\0\0\0\x01"
                                      "\0\0\0\0\0\0\0\x03\0\0\0\x02hi!";
    static const uint8_t long_len[] = "\0\0\0\x01"
                                      "\0\0\0\0\0\0\0\x03\0\0\0\x03hi";
    static const uint8_t dup[] = "\0\0\0\x02"
                                 "\0\0\0\0\0\0\0\x03\0\0\0\x01h"
                                 "\0\0\0\0\0\0\0\x03\0\0\0\x01i";
    struct fx *f = *state;
    char log[4096];

    write_sample(f, f->kek, TENANT, "1111111111111111", "dir");
    write_raw_payload(f, "a000000000000000", ok, sizeof(ok) - 1);
    write_raw_payload(f, "b000000000000000", big_count, sizeof(big_count) - 1);
    write_raw_payload(f, "c000000000000000", trailing, sizeof(trailing) - 1);
    write_raw_payload(f, "d000000000000000", long_len, sizeof(long_len) - 1);
    write_raw_payload(f, "e000000000000000", dup, sizeof(dup) - 1);
    write_raw_payload(f, "f000000000000000", ok, 3);
    load_capture(f, log, sizeof(log));
    assert_int_equal(f->got.n, 2);
    assert_true(has_name(&f->got, "a000000000000000"));
    assert_non_null(strstr(log, "b000000000000000.obj skipped: malformed"));
    assert_non_null(strstr(log, "c000000000000000.obj skipped: malformed"));
    assert_non_null(strstr(log, "d000000000000000.obj skipped: malformed"));
    assert_non_null(strstr(log, "e000000000000000.obj skipped: malformed"));
    assert_non_null(strstr(log, "f000000000000000.obj skipped: malformed"));
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.' || strncmp(de->d_name, ".tmp-", 5) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void test_replace_and_remove(void **state)
{
    struct fx *f = *state;
    const struct cmk_attr *l;

    write_sample(f, f->kek, TENANT, "abcdefabcdefabcd", "first");
    write_sample(f, f->kek, TENANT, "abcdefabcdefabcd", "second");
    write_sample(f, f->kek, TENANT, "0000000000000000", "keep");
    assert_int_equal(count_entries(f->store), 3); /* +manifest, no temp */
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 2);
    assert_true(has_name(&f->got, "abcdefabcdefabcd"));
    l = cmk_attrs_get(&f->got.attrs[find_name(&f->got, "abcdefabcdefabcd")],
                      CKA_LABEL);
    assert_int_equal(l->len, 6);
    assert_memory_equal(l->val, "second", 6);
    assert_int_equal(cmk_store_remove(f->store, TENANT, f->kek, 32,
                                      "abcdefabcdefabcd"),
                     CMK_OK);
    assert_int_equal(cmk_store_remove(f->store, TENANT, f->kek, 32,
                                      "abcdefabcdefabcd"),
                     CMK_OK);
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 1);
    assert_string_equal(f->got.names[0], "0000000000000000");
    assert_int_equal(cmk_store_remove("/nonexistent/cmk", TENANT, f->kek, 32,
                                      "0000000000000000"),
                     CMK_OK);
}

static void test_temp_files_are_not_objects(void **state)
{
    struct fx *f = *state;
    uint8_t buf[4096];
    char log[4096];
    size_t n;

    write_sample(f, f->kek, TENANT, "1212121212121212", "real");
    n = read_file(obj_path(f, "1212121212121212.obj"), buf, sizeof(buf));
    /* A crashed writer's temp file, even with good content. */
    write_file(obj_path(f, ".tmp-3434343434343434-0123456789abcdef"), buf, n);
    write_file(obj_path(f, ".tmp-1212121212121212.obj"), buf, n);
    load_capture(f, log, sizeof(log));
    assert_int_equal(f->got.n, 1);
    assert_string_equal(f->got.names[0], "1212121212121212");
    assert_string_equal(log, "");
}

static void test_bad_args(void **state)
{
    static const char *const bad[] = {"ABCDEF0123456789", "0123456789abcdeF",
                                      "0123456789abcde",  "0123456789abcdef0",
                                      "../../etc/passwd", "",
                                      "0123456789abcde/"};
    struct fx *f = *state;
    struct cmk_attrs a = {0};
    size_t i;

    sample(&a, "x");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            cmk_store_write(f->store, TENANT, f->kek, 32, bad[i], &a),
            CMK_E_ARGS);
        assert_int_equal(
            cmk_store_remove(f->store, TENANT, f->kek, 32, bad[i]),
            CMK_E_ARGS);
    }
    assert_int_equal(
        cmk_store_write(f->store, TENANT, NULL, 32, "0123456789abcdef", &a),
        CMK_E_ARGS);
    assert_int_equal(
        cmk_store_write(f->store, TENANT, f->kek, 0, "0123456789abcdef", &a),
        CMK_E_ARGS);
    assert_int_equal(
        cmk_store_write(f->store, NULL, f->kek, 32, "0123456789abcdef", &a),
        CMK_E_ARGS);
    assert_int_equal(
        cmk_store_write(f->store, TENANT, f->kek, 32, "0123456789abcdef", NULL),
        CMK_E_ARGS);
    {
        struct cmk_store_loc loc = loc_of(f, f->kek, TENANT);

        assert_int_equal(cmk_store_load_all(&loc, NULL, NULL, NULL),
                         CMK_E_ARGS);
    }
    assert_int_equal(access(f->store, F_OK), -1); /* nothing created */
    /* A missing directory is an empty store. */
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 0);
    cmk_attrs_clear(&a);
}

/* The largest object that fits the 1 MiB file cap loads; one byte more
 * is refused at write time, never written to be skipped later. */
static void test_size_limit(void **state)
{
    const size_t fit = 1024 * 1024 - HDR - TAG - 4 - 12;
    struct fx *f = *state;
    struct cmk_attrs a = {0};
    uint8_t *big = calloc(1, fit + 1);

    assert_non_null(big);
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, big, fit), CMK_OK);
    assert_int_equal(
        cmk_store_write(f->store, TENANT, f->kek, 32, "0123456789abcdef", &a),
        CMK_OK);
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, big, fit + 1), CMK_OK);
    assert_int_equal(
        cmk_store_write(f->store, TENANT, f->kek, 32, "1123456789abcdef", &a),
        CMK_E_TOO_LARGE);
    free(big);
    assert_int_equal(access(obj_path(f, "1123456789abcdef.obj"), F_OK), -1);
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 1);
    assert_int_equal(cmk_attrs_get(&f->got.attrs[0], CKA_LABEL)->len, fit);
    cmk_attrs_clear(&a);
}

/* A write that fails half way (file size limit) keeps the old object. */
static void test_failed_write_keeps_old(void **state)
{
    struct fx *f = *state;
    struct rlimit rl = {4096, 4096};
    struct cmk_attrs a = {0};
    uint8_t *big;
    pid_t pid;
    int status;

    write_sample(f, f->kek, TENANT, "5a5a5a5a5a5a5a5a", "old");
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        big = calloc(1, 65536);
        if (big == NULL || setrlimit(RLIMIT_FSIZE, &rl) != 0 ||
            cmk_attrs_set(&a, CKA_LABEL, big, 65536) != CMK_OK)
            _exit(2);
        _exit(cmk_store_write(f->store, TENANT, f->kek, 32, "5a5a5a5a5a5a5a5a",
                              &a) == CMK_E_IO
                  ? 0
                  : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_entries(f->store), 2); /* +manifest; temp gone */
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 1);
    assert_memory_equal(cmk_attrs_get(&f->got.attrs[0], CKA_LABEL)->val, "old",
                        3);
}

static int writer(struct fx *f, int id)
{
    char name[CMK_STORE_NAME_LEN + 1], label[32];
    struct cmk_attrs a = {0};
    int i, bad = 0;

    for (i = 0; i < 50; i++) {
        cmk_store_new_name(name);
        snprintf(label, sizeof(label), "w%d-%d", id, i);
        if (cmk_attrs_set(&a, CKA_LABEL, label, strlen(label)) != CMK_OK ||
            cmk_attrs_set(&a, CKA_VALUE, name, 16) != CMK_OK)
            return 1;
        bad |=
            cmk_store_write(f->store, TENANT, f->kek, 32, name, &a) != CMK_OK;
        /* Both processes also keep replacing one shared object. */
        bad |= cmk_store_write(f->store, TENANT, f->kek, 32, "5555aaaa5555aaaa",
                               &a) != CMK_OK;
    }
    cmk_attrs_clear(&a);
    return bad;
}

static void test_concurrent_writers(void **state)
{
    struct fx *f = *state;
    pid_t pid[2];
    int i, status;

    for (i = 0; i < 2; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0)
            _exit(writer(f, i));
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 101);
    assert_true(has_name(&f->got, "5555aaaa5555aaaa"));
    for (i = 0; i < 101; i++) {
        const struct cmk_attr *v = cmk_attrs_get(&f->got.attrs[i], CKA_VALUE);

        assert_non_null(v);
        if (strcmp(f->got.names[i], "5555aaaa5555aaaa") != 0)
            assert_memory_equal(v->val, f->got.names[i], 16);
    }
    assert_int_equal(count_entries(f->store), 102); /* +manifest */
}


/* ---- History: versions, manifest, compare-and-swap ---- */

static size_t save(struct fx *f, const char *file, uint8_t *buf, size_t cap)
{
    return read_file(obj_path(f, file), buf, cap);
}

/* An attacker's copy: a new file renamed over the name. */
static void restore(struct fx *f, const char *file, const uint8_t *buf,
                    size_t n)
{
    char tmp[300];

    snprintf(tmp, sizeof(tmp), "%s.x", obj_path(f, file));
    write_file(tmp, buf, n);
    assert_int_equal(rename(tmp, obj_path(f, file)), 0);
}

static void test_old_version_refused(void **state)
{
    struct fx *f = *state;
    struct cmk_store_loc loc = loc_of(f, f->kek, TENANT);
    struct cmk_store_meta meta;
    struct cmk_attrs a = {0};
    uint8_t old[4096];
    char log[4096];
    size_t n;

    write_sample(f, f->kek, TENANT, "1010101010101010", "v1");
    write_sample(f, f->kek, TENANT, "2020202020202020", "other");
    n = save(f, "1010101010101010.obj", old, sizeof(old));
    write_sample(f, f->kek, TENANT, "1010101010101010", "v2");
    restore(f, "1010101010101010.obj", old, n);
    load_capture(f, log, sizeof(log));
    assert_int_equal(f->got.n, 1);
    assert_string_equal(f->got.names[0], "2020202020202020");
    assert_non_null(strstr(log, "file 1010101010101010.obj refused: "
                                "version 1, manifest has 2"));
    assert_null(strstr(log, "v1")); /* names, never content */
    assert_int_equal(cmk_store_get(&loc, "1010101010101010", &a, &meta),
                     CMK_E_ROLLBACK);
    assert_int_equal(cmk_store_get(&loc, "2020202020202020", &a, &meta),
                     CMK_OK);
    assert_int_equal(meta.version, 1);
    cmk_attrs_clear(&a);
}

static void test_deleted_object_replayed_refused(void **state)
{
    struct fx *f = *state;
    struct cmk_store_loc loc = loc_of(f, f->kek, TENANT);
    struct cmk_store_meta meta;
    struct cmk_attrs a = {0};
    uint8_t old[4096];
    char log[4096];
    size_t n;

    write_sample(f, f->kek, TENANT, "3030303030303030", "gone");
    n = save(f, "3030303030303030.obj", old, sizeof(old));
    assert_int_equal(
        cmk_store_remove(f->store, TENANT, f->kek, 32, "3030303030303030"),
        CMK_OK);
    restore(f, "3030303030303030.obj", old, n);
    load_capture(f, log, sizeof(log));
    assert_int_equal(f->got.n, 0);
    assert_non_null(strstr(log, "file 3030303030303030.obj refused: not in "
                                "the manifest"));
    assert_int_equal(cmk_store_get(&loc, "3030303030303030", &a, &meta),
                     CMK_E_KEY_NOT_FOUND);
}

static void test_missing_file_reported(void **state)
{
    struct fx *f = *state;
    char log[4096];

    write_sample(f, f->kek, TENANT, "4040404040404040", "x");
    write_sample(f, f->kek, TENANT, "5050505050505050", "y");
    assert_int_equal(unlink(obj_path(f, "4040404040404040.obj")), 0);
    load_capture(f, log, sizeof(log));
    assert_int_equal(f->got.n, 1);
    assert_non_null(strstr(log, "4040404040404040.obj is listed in the "
                                "manifest but missing"));
}

/* A process refuses a manifest older than one it has seen; one that
 * never saw the newer one cannot tell (README: what is not detected). */
static void test_manifest_rollback(void **state)
{
    struct fx *f = *state;
    uint64_t seen = 0;
    uint8_t old[4096];
    size_t n;

    write_sample(f, f->kek, TENANT, "6060606060606060", "first");
    n = save(f, "manifest", old, sizeof(old));
    write_sample(f, f->kek, TENANT, "7070707070707070", "second");
    assert_int_equal(load_err(f, f->kek, TENANT, &seen), CMK_OK);
    assert_int_equal(f->got.n, 2);
    assert_true(seen >= 3);
    restore(f, "manifest", old, n);
    assert_int_equal(load_err(f, f->kek, TENANT, &seen), CMK_E_ROLLBACK);
    assert_int_equal(f->got.n, 0);
    /* Manifest removed: refused by this process, and by any process,
     * since format-2 files without a manifest are not adopted. */
    assert_int_equal(unlink(obj_path(f, "manifest")), 0);
    assert_int_equal(load_err(f, f->kek, TENANT, &seen), CMK_E_ROLLBACK);
    assert_int_equal(load_err(f, f->kek, TENANT, NULL), CMK_E_ROLLBACK);
    /* A fresh process given the old manifest back sees the old state
     * (the second object, newer than that manifest, is refused). */
    restore(f, "manifest", old, n);
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 1);
    assert_string_equal(f->got.names[0], "6060606060606060");
}

static void test_compare_and_swap(void **state)
{
    struct fx *f = *state;
    struct cmk_store_loc loc = loc_of(f, f->kek, TENANT);
    struct cmk_store_meta m1, m2, got;
    struct cmk_attrs a = {0}, b = {0};

    sample(&a, "a");
    assert_int_equal(cmk_store_put(&loc, "8080808080808080", CMK_STORE_NEW, &a,
                                   &m1),
                     CMK_OK);
    assert_int_equal(m1.version, 1);
    assert_int_equal(cmk_store_put(&loc, "8080808080808080", CMK_STORE_NEW, &a,
                                   NULL),
                     CMK_E_CONFLICT);
    assert_int_equal(cmk_store_put(&loc, "8080808080808080", 1, &a, &m2),
                     CMK_OK);
    assert_int_equal(m2.version, 2);
    assert_false(cmk_store_stamp_equal(&m1.stamp, &m2.stamp));
    /* A writer still based on version 1 loses, and changes nothing. */
    sample(&b, "stale");
    assert_int_equal(cmk_store_put(&loc, "8080808080808080", 1, &b, NULL),
                     CMK_E_CONFLICT);
    assert_int_equal(cmk_store_delete(&loc, "8080808080808080", 1),
                     CMK_E_CONFLICT);
    cmk_attrs_clear(&b);
    assert_int_equal(cmk_store_get(&loc, "8080808080808080", &b, &got),
                     CMK_OK);
    assert_int_equal(got.version, 2);
    assert_true(cmk_store_stamp_equal(&got.stamp, &m2.stamp));
    assert_memory_equal(cmk_attrs_get(&b, CKA_LABEL)->val, "a", 1);
    assert_int_equal(cmk_store_stat(f->store, "8080808080808080", &got.stamp),
                     CMK_OK);
    assert_true(cmk_store_stamp_equal(&got.stamp, &m2.stamp));
    assert_int_equal(cmk_store_delete(&loc, "8080808080808080", 2), CMK_OK);
    assert_int_equal(cmk_store_delete(&loc, "8080808080808080", 2),
                     CMK_E_KEY_NOT_FOUND);
    assert_int_equal(cmk_store_stat(f->store, "8080808080808080", &got.stamp),
                     CMK_E_KEY_NOT_FOUND);
    cmk_attrs_clear(&a);
    cmk_attrs_clear(&b);
}

/* A format-1 file as the previous release wrote it. */
static void write_format1(struct fx *f, const char *name, const char *label)
{
    static const char info[] = "cmk-pkcs11 object store v1";
    uint8_t pt[256], file[512], key[32];
    char aad[64], fname[32];
    size_t len;
    int aad_len;

    len = (size_t)snprintf((char *)pt + 16, sizeof(pt) - 16, "%s", label);
    memcpy(pt, "\0\0\0\x01\0\0\0\0\0\0\0\x03\0\0\0", 15);
    pt[15] = (uint8_t)len;
    len += 16;
    aad_len = snprintf(aad, sizeof(aad), "%s%c%s.obj", TENANT, 0, name);
    hkdf(NULL, 0, f->kek, 32, (const uint8_t *)info, sizeof(info) - 1, key, 32);
    memcpy(file, "CMKO\x01", 5);
    randombytes_buf(file + 5, 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        file + HDR1, NULL, pt, len, (const uint8_t *)aad, (size_t)aad_len,
        NULL, file + 5, key);
    assert_int_equal(mkdir(f->store, 0700) == 0 || errno == EEXIST, 1);
    snprintf(fname, sizeof(fname), "%s.obj", name);
    write_file(obj_path(f, fname), file, HDR1 + len + TAG);
}

static void test_format1_store_adopted(void **state)
{
    struct fx *f = *state;
    struct cmk_store_loc loc = loc_of(f, f->kek, TENANT);
    uint8_t old[4096], buf[64];
    char log[4096];
    size_t n;

    assert_int_equal(mkdir(f->dir, 0700) == 0 || errno == EEXIST, 1);
    snprintf(f->store, sizeof(f->store), "%s/v1store", f->dir);
    loc.dir = f->store;
    write_format1(f, "9090909090909090", "old-a");
    write_format1(f, "a0a0a0a0a0a0a0a0", "old-b");
    n = save(f, "9090909090909090.obj", old, sizeof(old));
    load_capture(f, log, sizeof(log));
    assert_int_equal(f->got.n, 2);
    assert_int_equal(f->got.versions[0], 1);
    assert_int_equal(access(obj_path(f, "manifest"), F_OK), 0);
    /* The next write is format 2, version 2; the old copy is stale. */
    write_sample(f, f->kek, TENANT, "9090909090909090", "new");
    assert_int_equal(read_file(obj_path(f, "9090909090909090.obj"), buf, 13),
                     13);
    assert_memory_equal(buf, "CMKO\x02\0\0\0\0\0\0\0\x02", 13);
    restore(f, "9090909090909090.obj", old, n);
    load_capture(f, log, sizeof(log));
    assert_int_equal(f->got.n, 1);
    assert_string_equal(f->got.names[0], "a0a0a0a0a0a0a0a0");
    assert_non_null(strstr(log, "9090909090909090.obj refused: version 1, "
                                "manifest has 2"));
    /* A format-1 file dropped in later is not adopted. */
    write_format1(f, "b0b0b0b0b0b0b0b0", "late");
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 1);
    (void)loc;
}

/* A manifest sealed by hand: gen, then (name, committed, pending). */
static void write_manifest(struct fx *f, uint64_t gen, size_t n,
                           const char *const *names, const uint64_t *c,
                           const uint64_t *pend)
{
    static const char info[] = "cmk-pkcs11 object store v1";
    uint8_t pt[512], file[600], key[32], aad[64];
    size_t len = 12, i, aad_len;
    int k;

    for (k = 0; k < 8; k++)
        pt[k] = (uint8_t)(gen >> (56 - 8 * k));
    memcpy(pt + 8, "\0\0\0", 3);
    pt[11] = (uint8_t)n;
    for (i = 0; i < n; i++, len += 32) {
        memcpy(pt + len, names[i], 16);
        for (k = 0; k < 8; k++) {
            pt[len + 16 + k] = (uint8_t)(c[i] >> (56 - 8 * k));
            pt[len + 24 + k] = (uint8_t)(pend[i] >> (56 - 8 * k));
        }
    }
    memcpy(file, "CMKM\x01", 5);
    aad_len = (size_t)snprintf((char *)aad, sizeof(aad), "%s%cmanifest%c",
                               TENANT, 0, 0);
    memcpy(aad + aad_len, file, 5);
    aad_len += 5;
    hkdf(NULL, 0, f->kek, 32, (const uint8_t *)info, sizeof(info) - 1, key, 32);
    randombytes_buf(file + 5, 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(file + 29, NULL, pt, len, aad,
                                               aad_len, NULL, file + 5, key);
    restore(f, "manifest", file, 29 + len + TAG);
}

/* A write interrupted between its renames (manifest says committed 1,
 * pending 2): either file is accepted, and the next write goes on from
 * the one on disk; once committed, the other one is stale. */
static void test_interrupted_write(void **state)
{
    static const char *const names[] = {"c0c0c0c0c0c0c0c0"};
    const uint64_t c1[] = {1}, p2[] = {2}, c2[] = {2}, p0[] = {0};
    struct fx *f = *state;
    struct cmk_store_loc loc = loc_of(f, f->kek, TENANT);
    struct cmk_store_meta meta;
    struct cmk_attrs a = {0};
    uint8_t v1[4096], v2[4096];
    size_t n1, n2;

    write_sample(f, f->kek, TENANT, names[0], "one");
    n1 = save(f, "c0c0c0c0c0c0c0c0.obj", v1, sizeof(v1));
    write_sample(f, f->kek, TENANT, names[0], "two");
    n2 = save(f, "c0c0c0c0c0c0c0c0.obj", v2, sizeof(v2));
    write_manifest(f, 50, 1, names, c1, p2);
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 1);
    assert_int_equal(f->got.versions[0], 2);
    restore(f, "c0c0c0c0c0c0c0c0.obj", v1, n1);
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 1);
    assert_int_equal(f->got.versions[0], 1);
    /* The on-disk version (1) is the compare-and-swap base; next is 3. */
    sample(&a, "three");
    assert_int_equal(cmk_store_put(&loc, names[0], 2, &a, NULL),
                     CMK_E_CONFLICT);
    assert_int_equal(cmk_store_put(&loc, names[0], 1, &a, &meta), CMK_OK);
    assert_int_equal(meta.version, 3);
    cmk_attrs_clear(&a);
    /* Committed at 2: the version-1 file is stale again. */
    restore(f, "c0c0c0c0c0c0c0c0.obj", v2, n2);
    write_manifest(f, 60, 1, names, c2, p0);
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 1);
    restore(f, "c0c0c0c0c0c0c0c0.obj", v1, n1);
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_reference_hkdf_rfc5869),
        T(test_new_name),
        T(test_round_trip),
        T(test_file_layout),
        T(test_other_kek_or_tenant_skipped),
        T(test_damaged_files_skipped),
        T(test_oversize_file_skipped),
        T(test_malformed_payload_skipped),
        T(test_replace_and_remove),
        T(test_temp_files_are_not_objects),
        T(test_bad_args),
        T(test_size_limit),
        T(test_failed_write_keeps_old),
        T(test_concurrent_writers),
        T(test_old_version_refused),
        T(test_deleted_object_replayed_refused),
        T(test_missing_file_reported),
        T(test_manifest_rollback),
        T(test_compare_and_swap),
        T(test_format1_store_adopted),
        T(test_interrupted_write),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0 ? 1 : 0;
}
