/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: the audit verifier (audit/verify.c and the line scanner,
 * field readers and chain tables behind it), formats 3, 2 and 1. Input: one
 * flags byte (bit 0: allow format 1; bit 1: the first line is an anchor),
 * then the files of a series, oldest first, separated by 0x1e bytes (an
 * empty one stands for a missing member). Every chain key unseals to the
 * key 00 01 .. 1f unless its sealed blob starts with 'x' (refused) or 'C'
 * (stops the run), so seeds made with that key verify. The anchor line a
 * finished run prints must read back as an anchor.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/verify.h"
#include "mech/mech.h"
#include "tests/fuzz/fuzz.h"

#define MAX_FILES 4

static cmk_err unseal(void *arg, const char *tenant, const char *provider,
                      const uint8_t *sealed, size_t sealed_len, uint8_t *key,
                      char *why, size_t why_len)
{
    size_t i;

    (void)arg;
    fz_check(tenant != NULL && provider != NULL, "unseal without names");
    if (sealed_len > 0 && (sealed[0] == 'x' || sealed[0] == 'C')) {
        snprintf(why, why_len, "refused");
        return sealed[0] == 'x' ? CMK_E_BAD_CIPHERTEXT : CMK_E_CONFIG;
    }
    for (i = 0; i < CMK_AUDIT_KEY_LEN; i++)
        key[i] = (uint8_t)i;
    return CMK_OK;
}

static void report(void *arg, const struct cmk_audit_finding *f)
{
    (void)arg;
    fz_check(f->why != NULL && strchr(f->why, '\n') == NULL,
             "a finding that is not one line");
}

/* The anchor line of a finished run reads back. */
static void check_anchor_line(struct cmk_audit_verifier *v)
{
    const struct timespec now = {1795440200, 5000};
    struct cmk_audit_verify_opts o = {0};
    struct cmk_audit_verifier *w = NULL;
    char *line = NULL, why[256];

    if (cmk_audit_verify_anchor_line(v, &now, &line) != CMK_OK)
        return;
    fz_check(cmk_audit_verify_new(&o, &w) == CMK_OK, "verifier");
    fz_check(cmk_audit_verify_anchor(w, line, strlen(line), why, sizeof(why)) ==
                 CMK_OK,
             "an anchor line the verifier made does not read back");
    cmk_audit_verify_free(w);
    free(line);
}

static void run(struct cmk_audit_verifier *v, const uint8_t *p, size_t n)
{
    const uint8_t *sep;
    char name[32], path[700];
    size_t len, i;

    for (i = 0; i < MAX_FILES; i++) {
        sep = memchr(p, 0x1e, n);
        len = sep != NULL ? (size_t)(sep - p) : n;
        snprintf(name, sizeof(name), "audit.jsonl.%zu", i);
        if (len == 0 && sep != NULL) {
            snprintf(path, sizeof(path), "%s/%s", fz_scratch(), name);
            cmk_audit_verify_missing(v, path);
        } else {
            fz_write(fz_scratch(), name, p, len, path, sizeof(path));
            if (cmk_audit_verify_file(v, path) == CMK_E_CONFIG)
                return;
        }
        if (sep == NULL)
            return;
        p = sep + 1;
        n -= len + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmk_audit_verify_opts o = {0};
    struct cmk_audit_verifier *v = NULL;
    struct cmk_audit_summary sum;
    const uint8_t *nl;
    char why[256];
    size_t skip = 0;

    if (size < 1)
        return 0;
    fz_check(cmk_mech_init() == CKR_OK, "cmk_mech_init");
    o.unseal = unseal;
    o.report = report;
    o.allow_unkeyed = (data[0] & 1) != 0;
    fz_check(cmk_audit_verify_new(&o, &v) == CMK_OK, "verifier");
    data++;
    size--;
    if ((data[-1] & 2) != 0 && (nl = memchr(data, '\n', size)) != NULL) {
        skip = (size_t)(nl - data) + 1;
        if (cmk_audit_verify_anchor(v, (const char *)data, skip - 1, why,
                                    sizeof(why)) != CMK_OK)
            fz_check(why[0] != '\0' && strchr(why, '\n') == NULL,
                     "an anchor refused without one line of reason");
    }
    run(v, data + skip, size - skip);
    cmk_audit_verify_end(v, &sum);
    fz_check(sum.problems >= sum.bad_regions, "summary counts");
    check_anchor_line(v);
    cmk_audit_verify_free(v);
    return 0;
}
