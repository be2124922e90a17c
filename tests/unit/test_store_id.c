/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: store/store_id.c, the store's random id behind the token
 * serial: made once (0600, 32 hex digits and a newline), the same on
 * every later read, another for every store, one id when processes race
 * to make it, and a damaged or untrusted file refused with a message
 * naming it, never replaced.
 */
#include "store_fx.h"

#define ID_FILE_LEN 33

static char *id_path(const struct fx *f)
{
    return obj_path(f, CMK_STORE_ID_FILE);
}

/* cmk_store_id with stderr captured into log. */
static cmk_err id_capture(struct fx *f, uint8_t *id, char *log, size_t cap)
{
    char path[512];
    int fd, saved;
    size_t n;
    cmk_err err;

    snprintf(path, sizeof(path), "%s/stderr.txt", f->dir);
    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    close(fd);
    err = cmk_store_id(f->store, id);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = read_file(path, (uint8_t *)log, cap - 1);
    log[n] = '\0';
    return err;
}

static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.' || strncmp(de->d_name, ".tmp", 4) == 0;
    closedir(d);
    return n;
}

/* A store without an id gets one: the directory (0700) and the file
 * (0600), whose 32 lowercase hex digits are the id; later reads give the
 * same id and leave no temp file behind. */
static void test_created_once(void **state)
{
    struct fx *f = *state;
    uint8_t id[CMK_STORE_ID_LEN], again[CMK_STORE_ID_LEN];
    uint8_t text[64], want[CMK_STORE_ID_LEN];
    struct stat st;
    size_t i;

    assert_int_equal(cmk_store_id(f->store, id), CMK_OK);
    assert_int_equal(stat(f->store, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(stat(id_path(f), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(read_file(id_path(f), text, sizeof(text)), ID_FILE_LEN);
    for (i = 0; i < 32; i++)
        assert_non_null(strchr("0123456789abcdef", text[i]));
    assert_int_equal(text[32], '\n');
    assert_int_equal(sodium_hex2bin(want, sizeof(want), (const char *)text, 32,
                                    NULL, NULL, NULL),
                     0);
    assert_memory_equal(id, want, sizeof(id));
    assert_int_equal(cmk_store_id(f->store, again), CMK_OK);
    assert_memory_equal(again, id, sizeof(id));
    assert_int_equal(entries(f->store), 1);
}

/* Two stores never share an id (128 random bits each). */
static void test_each_store_its_own(void **state)
{
    struct fx *f = *state;
    uint8_t a[CMK_STORE_ID_LEN], b[CMK_STORE_ID_LEN];
    char other[512];

    assert_int_equal(cmk_store_id(f->store, a), CMK_OK);
    snprintf(other, sizeof(other), "%s/other", f->dir);
    assert_int_equal(cmk_store_id(other, b), CMK_OK);
    assert_memory_not_equal(a, b, sizeof(a));
}

/* A store made before ids existed gets one on its first open; its
 * objects are untouched. */
static void test_existing_store(void **state)
{
    struct fx *f = *state;
    uint8_t id[CMK_STORE_ID_LEN];

    write_sample(f, f->kek, TENANT, "0011223344556677", "old");
    assert_int_equal(stat(id_path(f), &(struct stat){0}), -1);
    assert_int_equal(cmk_store_id(f->store, id), CMK_OK);
    load(f, f->kek, TENANT);
    assert_int_equal(f->got.n, 1);
}

static int child_id(const char *store, const char *out)
{
    uint8_t id[CMK_STORE_ID_LEN];
    FILE *fp;

    if (cmk_store_id(store, id) != CMK_OK)
        return 1;
    fp = fopen(out, "wb");
    if (fp == NULL || fwrite(id, 1, sizeof(id), fp) != sizeof(id))
        return 2;
    return fclose(fp) == 0 ? 0 : 3;
}

/* Processes opening a new store at once agree on one id. */
static void test_race(void **state)
{
    struct fx *f = *state;
    uint8_t first[CMK_STORE_ID_LEN], got[CMK_STORE_ID_LEN];
    char out[8][512];
    pid_t pid[8];
    int i, status;

    for (i = 0; i < 8; i++) {
        snprintf(out[i], sizeof(out[i]), "%s/id%d", f->dir, i);
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0)
            _exit(child_id(f->store, out[i]));
    }
    for (i = 0; i < 8; i++) {
        assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(read_file(out[0], first, sizeof(first)), sizeof(first));
    for (i = 1; i < 8; i++) {
        assert_int_equal(read_file(out[i], got, sizeof(got)), sizeof(got));
        assert_memory_equal(got, first, sizeof(got));
    }
    assert_int_equal(entries(f->store), 1);
}

/* A damaged id is refused with the file named, and left as it is (a
 * new id would change the token serial). */
static void refused(struct fx *f, const char *content, size_t len,
                    const char *why)
{
    uint8_t id[CMK_STORE_ID_LEN], back[64];
    char log[1024], want[512];

    write_file(id_path(f), (const uint8_t *)content, len);
    assert_int_equal(chmod(id_path(f), 0600), 0);
    assert_int_equal(id_capture(f, id, log, sizeof(log)), CMK_E_BAD_BLOB);
    snprintf(want, sizeof(want), "cmk-pkcs11: %s: %s", id_path(f), why);
    assert_non_null(strstr(log, want));
    assert_int_equal(read_file(id_path(f), back, sizeof(back)), len);
    assert_memory_equal(back, content, len);
}

static void test_damaged_refused(void **state)
{
    static const char lengths[] = "expected 32 lowercase hex digits and a "
                                  "newline (33 bytes), found ";
    static const char chars[] = "expected 32 lowercase hex digits and a "
                                "newline, found other characters";
    struct fx *f = *state;
    uint8_t id[CMK_STORE_ID_LEN];
    char why[160];

    assert_int_equal(cmk_store_id(f->store, id), CMK_OK);
    snprintf(why, sizeof(why), "%s0 bytes", lengths);
    refused(f, "", 0, why);
    snprintf(why, sizeof(why), "%s32 bytes", lengths);
    refused(f, "0123456789abcdef0123456789abcdef", 32, why);
    snprintf(why, sizeof(why), "%s34 bytes", lengths);
    refused(f, "0123456789abcdef0123456789abcdef0\n", 34, why);
    refused(f, "0123456789abcdef0123456789abcdeg\n", 33, chars);
    refused(f, "0123456789ABCDEF0123456789abcdef\n", 33, chars);
    refused(f, "0123456789abcdef0123456789abcdef ", 33, chars);
}

/* An id file others could write, or one reached through a symlink, is
 * not trusted (util/trust.h). */
static void test_untrusted_refused(void **state)
{
    struct fx *f = *state;
    uint8_t id[CMK_STORE_ID_LEN];
    char log[1024], want[700], target[512];

    assert_int_equal(cmk_store_id(f->store, id), CMK_OK);
    assert_int_equal(chmod(id_path(f), 0622), 0);
    assert_int_equal(id_capture(f, id, log, sizeof(log)), CMK_E_CONFIG);
    snprintf(want, sizeof(want), "%s: writable by group or others", id_path(f));
    assert_non_null(strstr(log, want));
    assert_int_equal(chmod(id_path(f), 0600), 0);
    snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
    assert_int_equal(rename(id_path(f), target), 0);
    assert_int_equal(symlink(target, id_path(f)), 0);
    assert_int_not_equal(id_capture(f, id, log, sizeof(log)), CMK_OK);
    snprintf(want, sizeof(want), "%s: is a symbolic link", id_path(f));
    assert_non_null(strstr(log, want));
}

/* A directory this process cannot write, with no id yet: refused, the
 * file named (root writes anywhere, so only for other users). */
static void test_read_only_store(void **state)
{
    struct fx *f = *state;
    uint8_t id[CMK_STORE_ID_LEN];
    char log[1024], want[300];

    assert_int_equal(cmk_store_id(f->store, id), CMK_OK);
    assert_int_equal(unlink(id_path(f)), 0);
    if (geteuid() == 0) {
        /* a directory in the file's place stands in for EACCES */
        assert_int_equal(mkdir(id_path(f), 0700), 0);
        assert_int_equal(id_capture(f, id, log, sizeof(log)), CMK_E_CONFIG);
        snprintf(want, sizeof(want), "%s: not a regular file", id_path(f));
    } else {
        assert_int_equal(chmod(f->store, 0500), 0);
        assert_int_equal(id_capture(f, id, log, sizeof(log)), CMK_E_IO);
        assert_int_equal(chmod(f->store, 0700), 0);
        snprintf(want, sizeof(want), "%s: cannot be created", id_path(f));
    }
    assert_non_null(strstr(log, want));
}

static void test_bad_args(void **state)
{
    struct fx *f = *state;
    uint8_t id[CMK_STORE_ID_LEN];

    assert_int_equal(cmk_store_id(NULL, id), CMK_E_ARGS);
    assert_int_equal(cmk_store_id(f->store, NULL), CMK_E_ARGS);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_created_once),    T(test_each_store_its_own),
        T(test_existing_store),  T(test_race),
        T(test_damaged_refused), T(test_untrusted_refused),
        T(test_read_only_store), T(test_bad_args),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0 ? 1 : 0;
}
