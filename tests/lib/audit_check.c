/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the verifier as cmk-tool runs it, for tests that check what the
 * module wrote.
 */
#include <config.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/settings.h"
#include "keys/audit_unseal.h"
#include "mech/mech.h"
#include "tests/lib/audit_check.h"

static void keep(void *arg, const struct cmk_audit_finding *f)
{
    struct test_audit_rep *rep = arg;

    if (f->kind == CMK_AUDIT_NOTE) {
        rep->zero_runs += strstr(f->why, "bytes of 0x00 skipped") != NULL;
        rep->picked_up += strstr(f->why, ": picked up at its ") != NULL;
        return;
    }
    rep->torn += strncmp(f->why, "torn line: ends in 0x00", 23) == 0;
    if (rep->first[0] == '\0')
        snprintf(rep->first, sizeof(rep->first), "%s: line %" PRIu64 ": %s",
                 f->file != NULL ? f->file : "-", f->line, f->why);
}

cmk_err test_audit_unseal_known(void *arg, const char *tenant,
                                const char *provider, const uint8_t *sealed,
                                size_t sealed_len, uint8_t *key, char *why,
                                size_t why_len)
{
    const struct test_audit_key *k = arg;

    (void)tenant;
    (void)provider;
    for (; k != NULL && k->sealed != NULL; k++) {
        if (strlen(k->sealed) == sealed_len &&
            memcmp(k->sealed, sealed, sealed_len) == 0) {
            memcpy(key, k->key, CMK_AUDIT_KEY_LEN);
            return CMK_OK;
        }
    }
    snprintf(why, why_len, "no such test key");
    return CMK_E_KEY_NOT_FOUND;
}

/* files[0..n) oldest first; present[i] false: a member deleted (NULL:
 * all there). */
static long run(const char *const *files, const bool *present, size_t n,
                cmk_audit_unseal_fn unseal, void *arg,
                struct test_audit_rep *rep)
{
    struct cmk_audit_verify_opts o;
    struct cmk_audit_verifier *v = NULL;
    long rc = -1;
    size_t i;

    memset(&o, 0, sizeof(o));
    o.unseal = unseal;
    o.unseal_arg = arg;
    o.report = keep;
    o.report_arg = rep;
    if (cmk_mech_init() != CKR_OK) /* as cmk-tool does; idempotent */
        return -1;
    if (cmk_audit_verify_new(&o, &v) != CMK_OK)
        return -1;
    for (i = 0; i < n; i++) {
        if (present != NULL && !present[i] && i + 1 < n)
            cmk_audit_verify_missing(v, files[i]);
        else if (cmk_audit_verify_file(v, files[i]) != CMK_OK)
            goto out;
    }
    cmk_audit_verify_end(v, &rep->sum);
    rc = (long)rep->sum.problems;
out:
    cmk_audit_verify_free(v);
    return rc;
}

long test_audit_check_files(const char *const *files, size_t n,
                            cmk_audit_unseal_fn unseal, void *arg,
                            struct test_audit_rep *rep)
{
    memset(rep, 0, sizeof(*rep));
    return run(files, NULL, n, unseal, arg, rep);
}

long test_audit_check(const char *path, const char *config,
                      struct test_audit_rep *rep)
{
    const struct cmk_tenant_cfg *t;
    struct cmk_audit_unsealer *u = NULL;
    struct cmk_audit_series s;
    struct cmk_config *cfg = NULL;
    char msg[512];
    long rc = -1;

    memset(rep, 0, sizeof(*rep));
    if (cmk_config_load(config, &cfg, msg, sizeof(msg)) != CMK_OK) {
        snprintf(rep->first, sizeof(rep->first), "%s", msg);
        goto out;
    }
    t = cmk_config_audit_key_tenant(cfg);
    if (t == NULL || cmk_audit_unsealer_new(&t->kms, &u) != CMK_OK ||
        cmk_audit_verify_series(path, &s) != CMK_OK)
        goto out;
    rc = run((const char *const *)s.paths, s.present, s.n, cmk_audit_unseal, u,
             rep);
    cmk_audit_verify_series_free(&s);
out:
    cmk_audit_unsealer_free(u);
    cmk_config_free(cfg);
    return rc;
}
