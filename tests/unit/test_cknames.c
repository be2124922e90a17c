/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: every CKR_, CKA_ and CKO_ value the PKCS#11 headers define has
 * its name (util/cknames.h): the headers are parsed here, independently
 * of the generator, so a value the tables miss is caught.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "util/cknames.h"
#include "util/err.h"

#define MAX_DEFS 1024

struct def {
    char name[64];
    CK_ULONG value;
};

struct defs {
    struct def v[MAX_DEFS];
    size_t n;
};

/* One term of a value: a number (0x10UL, 7UL) or a symbol the headers
 * use to build values. */
static int term(const char *s, size_t len, CK_ULONG *out)
{
    static const struct {
        const char *name;
        CK_ULONG value;
    } syms[] = {{"CKF_ARRAY_ATTRIBUTE", CKF_ARRAY_ATTRIBUTE},
                {"CMK_VENDOR_BASE", CMK_VENDOR_BASE}};
    char buf[64], *end;
    size_t i;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        if (strcmp(buf, syms[i].name) == 0) {
            *out = syms[i].value;
            return 0;
        }
    }
    *out = (CK_ULONG)strtoull(buf, &end, 0);
    if (end == buf)
        return -1;
    while (*end == 'U' || *end == 'u' || *end == 'L' || *end == 'l')
        end++;
    return *end == '\0' ? 0 : -1;
}

/* The value of a macro body such as "(0x10UL)", "0x202UL",
 * "(CKF_ARRAY_ATTRIBUTE | 0x211UL)" or "(CMK_VENDOR_BASE + 0x101UL)".
 * -1 for anything else. */
static int eval(const char *body, CK_ULONG *out)
{
    char flat[128];
    size_t n = 0, start = 0, i;
    CK_ULONG v = 0, t;
    char op = '|';

    for (; *body != '\0' && *body != '/' && n < sizeof(flat) - 1; body++) {
        if (*body != '(' && *body != ')' && *body != ' ' && *body != '\t' &&
            *body != '\n')
            flat[n++] = *body;
    }
    flat[n] = '\0';
    for (i = 0; i <= n; i++) {
        if (flat[i] != '|' && flat[i] != '+' && flat[i] != '\0')
            continue;
        if (term(flat + start, i - start, &t) != 0)
            return -1;
        v = op == '|' ? (v | t) : (v + t);
        op = flat[i];
        start = i + 1;
    }
    *out = v;
    return 0;
}

/* Adds "#define PREFIX... value" of one header line to d. */
static void parse_line(const char *line, const char *prefix, struct defs *d,
                       const char *path)
{
    const char *p = line, *name;
    size_t len;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '#')
        return;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, "define", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return;
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, prefix, strlen(prefix)) != 0)
        return;
    name = p;
    len = strcspn(p, " \t(\n");
    if (p[len] == '(' || len >= sizeof(d->v[0].name))
        return; /* function-like: not a value */
    if (len > 15 && strncmp(name + len - 15, "_VENDOR_DEFINED", 15) == 0)
        return; /* the start of a range, not a value with a name */
    assert_true(d->n < MAX_DEFS);
    memcpy(d->v[d->n].name, name, len);
    d->v[d->n].name[len] = '\0';
    if (eval(p + len, &d->v[d->n].value) != 0)
        fail_msg("%s: cannot read the value of %s", path, d->v[d->n].name);
    d->n++;
}

/* Every "#define PREFIX..." of the headers the module's tables are made
 * from (CKNAMES_FROM, space-separated), in header order. */
static void read_defs(const char *prefix, struct defs *d)
{
    char paths[] = CKNAMES_FROM;
    char line[512], *path, *save = NULL;
    FILE *f;

    d->n = 0;
    for (path = strtok_r(paths, " ", &save); path != NULL;
         path = strtok_r(NULL, " ", &save)) {
        f = fopen(path, "r");
        if (f == NULL)
            fail_msg("cannot open %s", path);
        while (fgets(line, sizeof(line), f) != NULL)
            parse_line(line, prefix, d, path);
        fclose(f);
    }
}

/* The name a look-up must give for value v: the first one defined. */
static const char *first_name(const struct defs *d, CK_ULONG v)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        if (d->v[i].value == v)
            return d->v[i].name;
    }
    return NULL;
}

static void test_every_rv_named(void **state)
{
    static struct defs d;
    size_t i;

    (void)state;
    read_defs("CKR_", &d);
    /* 93 in Debian's p11-kit 2.40 header (its CKR_VENDOR_DEFINED aside)
     * plus compat.h's. */
    assert_true(d.n >= 94);
    for (i = 0; i < d.n; i++) {
        assert_string_equal(first_name(&d, d.v[i].value), d.v[i].name);
        assert_string_equal(cmk_rv_name(d.v[i].value), d.v[i].name);
    }
}

/* The values records used to show as CKR_UNKNOWN. */
static void test_rv_names_once_missing(void **state)
{
    (void)state;
    assert_string_equal(cmk_rv_name(CKR_FUNCTION_FAILED),
                        "CKR_FUNCTION_FAILED");
    assert_string_equal(cmk_rv_name(CKR_GENERAL_ERROR), "CKR_GENERAL_ERROR");
    assert_string_equal(cmk_rv_name(CKR_HOST_MEMORY), "CKR_HOST_MEMORY");
    assert_string_equal(cmk_rv_name(CKR_ARGUMENTS_BAD), "CKR_ARGUMENTS_BAD");
    assert_string_equal(cmk_rv_name(CKR_SLOT_ID_INVALID),
                        "CKR_SLOT_ID_INVALID");
    assert_string_equal(cmk_rv_name(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
                        "CKR_UNWRAPPING_KEY_HANDLE_INVALID");
    assert_string_equal(cmk_rv_name(CKR_OPERATION_CANCEL_FAILED),
                        "CKR_OPERATION_CANCEL_FAILED");
    assert_string_equal(cmk_rv_name(CKR_NEED_TO_CREATE_THREADS),
                        "CKR_NEED_TO_CREATE_THREADS");
}

static void test_rv_outside_headers(void **state)
{
    (void)state;
    assert_string_equal(cmk_rv_name(CKR_VENDOR_DEFINED), "CKR_VENDOR_DEFINED");
    assert_string_equal(cmk_rv_name(CKR_VENDOR_DEFINED + 0x1234),
                        "CKR_VENDOR_DEFINED");
    assert_string_equal(cmk_rv_name(0x7777), "CKR_UNKNOWN");
}

static void test_every_attr_and_class_named(void **state)
{
    static struct defs d;
    size_t i;

    (void)state;
    read_defs("CKA_", &d);
    assert_true(d.n >= 100);
    for (i = 0; i < d.n; i++)
        assert_string_equal(cmk_attr_name(d.v[i].value),
                            first_name(&d, d.v[i].value));
    read_defs("CKO_", &d);
    assert_true(d.n >= 9);
    for (i = 0; i < d.n; i++)
        assert_string_equal(cmk_class_name(d.v[i].value), d.v[i].name);
    /* Spot checks, aliases and our vendor values included. */
    assert_string_equal(cmk_attr_name(CKA_EXTRACTABLE), "CKA_EXTRACTABLE");
    assert_string_equal(cmk_attr_name(CKA_WRAP_TEMPLATE), "CKA_WRAP_TEMPLATE");
    assert_string_equal(cmk_attr_name(CKA_EC_PARAMS), "CKA_ECDSA_PARAMS");
    assert_string_equal(cmk_attr_name(CKA_UNIQUE_ID), "CKA_UNIQUE_ID");
    assert_string_equal(cmk_attr_name(CKA_CMK_FLUSH_CACHE),
                        "CKA_CMK_FLUSH_CACHE");
    assert_null(cmk_attr_name(CKA_VENDOR_DEFINED + 0x77));
    assert_string_equal(cmk_class_name(CKO_SECRET_KEY), "CKO_SECRET_KEY");
    assert_null(cmk_class_name(0x77));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_rv_named),
        cmocka_unit_test(test_rv_names_once_missing),
        cmocka_unit_test(test_rv_outside_headers),
        cmocka_unit_test(test_every_attr_and_class_named),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
