/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the dual-control KEK against an independent computation, Python
 * cryptography's HKDFExpand (SHA-256, L = 32) over customer || provider
 * with info "cmk-pkcs11 dual-control kek v1" 0x00 label: random halves
 * and labels through mech/dual_kek.h, and the KEK a tenant's keys layer
 * hands to the KEK path after unsealing both halves. Skipped (77) with a
 * reason when python3 cannot import cryptography; an error (99) then
 * under CI=true.
 */
#include <config.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "keys/cmk.h"
#include "mech/dual_kek.h"
#include "mech/mech.h"
#include "tests/lib/scratch.h"

#define CASES 64

static const char script[] =
    "import sys\n"
    "from cryptography.hazmat.primitives import hashes\n"
    "from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand\n"
    "for line in open(sys.argv[1]):\n"
    "    label, cust, prov = (bytes.fromhex(x) for x in line.split())\n"
    "    info = b'cmk-pkcs11 dual-control kek v1\\x00' + label\n"
    "    k = HKDFExpand(hashes.SHA256(), 32, info)\n"
    "    print(k.derive(cust + prov).hex())\n";

static char dir[256];

static void hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* Python's KEKs for n (label, customer, provider) rows, one hex line
 * each, into out[n][65]. */
static void python_keks(char **label, uint8_t (*cust)[32], uint8_t (*prov)[32],
                        size_t n, char (*out)[65])
{
    char in[300], py[300], cmd[700];
    FILE *f;
    size_t i;

    snprintf(in, sizeof(in), "%s/rows.txt", dir);
    snprintf(py, sizeof(py), "%s/expand.py", dir);
    f = fopen(py, "w");
    assert_non_null(f);
    fputs(script, f);
    assert_int_equal(fclose(f), 0);
    f = fopen(in, "w");
    assert_non_null(f);
    for (i = 0; i < n; i++) {
        hex(f, (const uint8_t *)label[i], strlen(label[i]));
        fputc(' ', f);
        hex(f, cust[i], 32);
        fputc(' ', f);
        hex(f, prov[i], 32);
        fputc('\n', f);
    }
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof(cmd), "python3 %s %s", py, in);
    f = popen(cmd, "r");
    assert_non_null(f);
    for (i = 0; i < n; i++) {
        assert_non_null(fgets(out[i], 65, f));
        assert_int_equal(strlen(out[i]), 64);
        assert_int_equal(fgetc(f), '\n');
    }
    assert_int_equal(pclose(f), 0);
}

static void expect_same(const uint8_t *kek, const char *want)
{
    char got[65];

    sodium_bin2hex(got, sizeof(got), kek, 32);
    assert_string_equal(got, want);
}

/* Labels of 1 to 32 bytes, printable ASCII and UTF-8. */
static char *make_label(size_t i)
{
    static const char *const fixed[] = {
        "a", "acme", "abcdefghijklmnopqrstuvwxyz012345", "caf\xc3\xa9",
        "\xe7\xa7\x9f\xe6\x88\xb7"};
    char *s = calloc(1, 33);
    size_t n, j;

    assert_non_null(s);
    if (i < 5) {
        snprintf(s, 33, "%s", fixed[i]);
        return s;
    }
    n = 1 + randombytes_uniform(32);
    for (j = 0; j < n; j++)
        s[j] = (char)(' ' + 1 + randombytes_uniform(94));
    return s;
}

static void test_random_halves(void **state)
{
    static uint8_t cust[CASES][32], prov[CASES][32];
    static char want[CASES][65];
    char *label[CASES];
    struct cmk_secret k = {0};
    size_t i;

    (void)state;
    for (i = 0; i < CASES; i++) {
        label[i] = make_label(i);
        randombytes_buf(cust[i], 32);
        randombytes_buf(prov[i], 32);
    }
    python_keks(label, cust, prov, CASES, want);
    for (i = 0; i < CASES; i++) {
        assert_int_equal(
            cmk_dual_kek_derive(label[i], cust[i], 32, prov[i], 32, &k),
            CMK_OK);
        expect_same(k.p, want[i]);
        cmk_secret_free(&k);
        free(label[i]);
    }
}

static void write_key(const char *path)
{
    uint8_t key[32];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

    assert_true(fd >= 0);
    randombytes_buf(key, sizeof(key));
    assert_int_equal(write(fd, key, sizeof(key)), (ssize_t)sizeof(key));
    close(fd);
}

static cmk_err keep(void *arg, const uint8_t *kek, size_t len)
{
    assert_int_equal(len, 32);
    memcpy(arg, kek, 32);
    return CMK_OK;
}

/* The KEK a dual-control tenant's KEK path gets, after both unseals. */
static void test_tenant_kek(void **state)
{
    static char s_label[] = "acme", s_local[] = "local";
    char cmk_key[PATH_MAX], prov_key[PATH_MAX], *label = s_label;
    struct cmk_kms_cfg cfg, dual;
    struct cmk_buf blob[2] = {{0}, {0}};
    struct cmk_secret k = {0};
    struct cmk_cmk *c = NULL;
    struct cmk_req rq;
    uint8_t cust[1][32], prov[1][32], got[32];
    char want[1][65];

    (void)state;
    snprintf(cmk_key, sizeof(cmk_key), "%s/cmk.key", dir);
    snprintf(prov_key, sizeof(prov_key), "%s/provider.key", dir);
    write_key(cmk_key);
    write_key(prov_key);
    memset(&cfg, 0, sizeof(cfg));
    cfg.label = s_label;
    cfg.provider = s_local;
    cfg.key_ref = cmk_key;
    dual = cfg;
    dual.key_ref = prov_key;
    cfg.dual = &dual;
    randombytes_buf(cust[0], 32);
    randombytes_buf(prov[0], 32);
    assert_int_equal(cmk_cmk_open(&cfg, 60, &c), CMK_OK);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(
        cmk_cmk_seal_for(c, &rq, CMK_PURPOSE_KEK, cust[0], 32, &blob[0]),
        CMK_OK);
    assert_int_equal(cmk_cmk_seal_for(c, &rq, CMK_PURPOSE_PROVIDER_KEK, prov[0],
                                      32, &blob[1]),
                     CMK_OK);
    cmk_cmk_close(c);
    python_keks(&label, cust, prov, 1, want);
    cfg.kek_blob = blob[0].p;
    cfg.kek_blob_len = blob[0].len;
    dual.kek_blob = blob[1].p;
    dual.kek_blob_len = blob[1].len;
    /* the commitment of Python's KEK, as provision would store it */
    assert_int_equal(
        cmk_secret_alloc(&k, 32) == CMK_OK &&
            sodium_hex2bin(k.p, 32, want[0], 64, NULL, NULL, NULL) == 0,
        1);
    assert_int_equal(
        cmk_cmk_kek_commitment(s_label, k.p, 32, cfg.kek_commitment), CMK_OK);
    cmk_secret_free(&k);
    cfg.has_kek_commitment = true;
    assert_int_equal(cmk_cmk_open(&cfg, 60, &c), CMK_OK);
    assert_int_equal(cmk_cmk_with_kek(c, keep, got), CMK_OK);
    expect_same(got, want[0]);
    cmk_cmk_close(c);
    cmk_buf_free(&blob[0]);
    cmk_buf_free(&blob[1]);
}

/* 0 when python3 imports cryptography. */
static int have_python(void)
{
    return system("python3 -c 'import cryptography.hazmat.primitives.kdf."
                  "hkdf' >/dev/null 2>&1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_halves),
        cmocka_unit_test(test_tenant_kek),
    };
    const char *ci = getenv("CI");
    int rc;

    if (have_python() != 0) {
        fprintf(stderr, "SKIP: python3 cannot import cryptography "
                        "(Debian: python3-cryptography)\n");
        return ci != NULL && strcmp(ci, "true") == 0 ? 99 : 77;
    }
    if (sodium_init() < 0 || cmk_mech_init() != CKR_OK ||
        test_scratch_make("cmk-dual-py", dir, sizeof(dir)) != 0)
        return 99;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    (void)test_scratch_remove(dir);
    return rc != 0;
}
