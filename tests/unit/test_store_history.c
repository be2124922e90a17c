/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: store/store bound to its own history: old, replayed and
 * missing object files, an older or removed manifest, compare-and-swap
 * writes, a write interrupted between its renames, and the adoption of a
 * format-1 store.
 */
#include "store_fx.h"

#include <sys/file.h>
#include <time.h>

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
    assert_int_equal(
        cmk_store_put(&loc, "8080808080808080", CMK_STORE_NEW, &a, &m1),
        CMK_OK);
    assert_int_equal(m1.version, 1);
    assert_int_equal(
        cmk_store_put(&loc, "8080808080808080", CMK_STORE_NEW, &a, NULL),
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
    assert_int_equal(cmk_store_get(&loc, "8080808080808080", &b, &got), CMK_OK);
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
        file + HDR1, NULL, pt, len, (const uint8_t *)aad, (size_t)aad_len, NULL,
        file + 5, key);
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
/* Someone holding the lock file cannot hang the module: the wait is
 * bounded, the call fails, and works again once the lock is let go. */
static void test_held_lock_bounded(void **state)
{
    struct fx *f = *state;
    struct cmk_store_loc loc = loc_of(f, f->kek, TENANT);
    struct cmk_attrs a = {0};
    time_t start;
    int fd;

    write_sample(f, f->kek, TENANT, "d0d0d0d0d0d0d0d0", "x");
    fd = open(obj_path(f, ".lock"), O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    sample(&a, "y");
    start = time(NULL);
    assert_int_equal(cmk_store_put(&loc, "d0d0d0d0d0d0d0d0", 1, &a, NULL),
                     CMK_E_IO);
    assert_true(time(NULL) - start >= 9 && time(NULL) - start <= 30);
    close(fd);
    assert_int_equal(cmk_store_put(&loc, "d0d0d0d0d0d0d0d0", 1, &a, NULL),
                     CMK_OK);
    cmk_attrs_clear(&a);
}

/* Manifests written before entries were kept sorted list them in any
 * order: they load whole; a name listed twice makes the manifest
 * malformed, however far apart the two are. */
static void test_unsorted_manifest(void **state)
{
    static const char *const names[] = {"c0c0c0c0c0c0c0c0", "a0a0a0a0a0a0a0a0",
                                        "b0b0b0b0b0b0b0b0"};
    static const char *const twice[] = {"c0c0c0c0c0c0c0c0", "a0a0a0a0a0a0a0a0",
                                        "b0b0b0b0b0b0b0b0", "c0c0c0c0c0c0c0c0"};
    const uint64_t c[] = {1, 1, 1, 1}, p[] = {0, 0, 0, 0};
    struct fx *f = *state;
    size_t i;

    for (i = 0; i < 3; i++)
        write_sample(f, f->kek, TENANT, names[i], names[i]);
    write_manifest(f, 50, 3, names, c, p);
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 3);
    for (i = 0; i < 3; i++)
        assert_true(has_name(&f->got, names[i]));
    /* A write rewrites it (sorted) and the store still holds all. */
    write_sample(f, f->kek, TENANT, "0f0f0f0f0f0f0f0f", "new");
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 4);
    write_manifest(f, 70, 4, twice, c, p);
    assert_int_equal(load_err(f, f->kek, TENANT, NULL), CMK_E_ROLLBACK);
    assert_int_equal(f->got.n, 0);
}

/* Many objects written and every third deleted: lookups in the (sorted)
 * manifest find each one, a load gives exactly those left. */
static void test_many_objects(void **state)
{
    char name[CMK_STORE_NAME_LEN + 1];
    struct fx *f = *state;
    size_t i, n = 0;

    for (i = 0; i < 120; i++) {
        /* names out of order: the manifest sorts them */
        snprintf(name, sizeof(name), "%08zx%08zx", (i * 7919) % 1000, i);
        write_sample(f, f->kek, TENANT, name, "x");
    }
    for (i = 0; i < 120; i += 3) {
        snprintf(name, sizeof(name), "%08zx%08zx", (i * 7919) % 1000, i);
        assert_int_equal(cmk_store_remove(f->store, TENANT, f->kek, 32, name),
                         CMK_OK);
    }
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 80);
    for (i = 0; i < 120; i++) {
        snprintf(name, sizeof(name), "%08zx%08zx", (i * 7919) % 1000, i);
        assert_int_equal(has_name(&f->got, name), i % 3 != 0);
        n += i % 3 != 0;
    }
    assert_int_equal(n, 80);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_old_version_refused),   T(test_deleted_object_replayed_refused),
        T(test_missing_file_reported), T(test_manifest_rollback),
        T(test_compare_and_swap),      T(test_format1_store_adopted),
        T(test_interrupted_write),     T(test_held_lock_bounded),
        T(test_unsorted_manifest),     T(test_many_objects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0 ? 1 : 0;
}
