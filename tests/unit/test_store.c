/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: store/store, the sealed token-object store (round trip, file
 * layout checked with an independent HKDF, damaged and foreign files,
 * atomic replace, remove, concurrent writers in two processes). Versions
 * and the manifest are in test_store_history.c.
 */
#include "store_fx.h"

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
    aad_len = (size_t)snprintf((char *)aad, sizeof(aad), "%s%c%s%c", TENANT, 0,
                               "0123012301230123.obj", 0);
    memcpy(aad + aad_len, buf, 13);
    aad_len += 13;
    hkdf(NULL, 0, f->kek, 32, (const uint8_t *)info, sizeof(info) - 1, key, 32);
    assert_int_equal(
        crypto_aead_xchacha20poly1305_ietf_decrypt(
            pt, &pt_len, NULL, buf + HDR, n - HDR, aad, aad_len, buf + 13, key),
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
    char log[4096], other[160];
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
    assert_int_equal(
        cmk_store_remove(f->store, TENANT, f->kek, 32, "abcdefabcdefabcd"),
        CMK_OK);
    assert_int_equal(
        cmk_store_remove(f->store, TENANT, f->kek, 32, "abcdefabcdefabcd"),
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
        assert_int_equal(cmk_store_remove(f->store, TENANT, f->kek, 32, bad[i]),
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0 ? 1 : 0;
}
