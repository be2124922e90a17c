/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the verifier as cmk-tool runs it, for tests that check what the
 * module wrote.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/settings.h"
#include "keys/audit_unseal.h"
#include "mech/mech.h"
#include "tests/lib/audit_check.h"

struct first {
    char *buf;
    size_t len;
};

static void keep_first(void *arg, const struct cmk_audit_finding *f)
{
    struct first *fi = arg;

    if (f->kind == CMK_AUDIT_NOTE || fi->buf == NULL || fi->len == 0 ||
        fi->buf[0] != '\0')
        return;
    snprintf(fi->buf, fi->len, "%s: line %" PRIu64 ": %s",
             f->file != NULL ? f->file : "-", f->line, f->why);
}

static long run(const char *path, struct cmk_audit_unsealer *u,
                struct cmk_audit_summary *sum, struct first *fi)
{
    struct cmk_audit_verify_opts o;
    struct cmk_audit_verifier *v = NULL;
    struct cmk_audit_series s;
    long rc = -1;
    size_t i;

    memset(&o, 0, sizeof(o));
    o.unseal = u != NULL ? cmk_audit_unseal : NULL;
    o.unseal_arg = u;
    o.report = keep_first;
    o.report_arg = fi;
    o.allow_unkeyed = true;
    if (cmk_mech_init() != CKR_OK) /* as cmk-tool does; idempotent */
        return -1;
    if (cmk_audit_verify_series(path, &s) != CMK_OK)
        return -1;
    if (cmk_audit_verify_new(&o, &v) != CMK_OK)
        goto out;
    for (i = 0; i < s.n; i++) {
        if (!s.present[i] && i + 1 < s.n)
            cmk_audit_verify_missing(v, s.paths[i]);
        else if (cmk_audit_verify_file(v, s.paths[i]) != CMK_OK)
            goto out;
    }
    cmk_audit_verify_end(v, sum);
    rc = (long)sum->problems;
out:
    cmk_audit_verify_free(v);
    cmk_audit_verify_series_free(&s);
    return rc;
}

long test_audit_check(const char *path, const char *config,
                      struct cmk_audit_summary *sum, char *first,
                      size_t first_len)
{
    struct cmk_audit_unsealer *u = NULL;
    struct cmk_config *cfg = NULL;
    struct first fi = {first, first_len};
    char msg[512];
    long rc = -1;

    memset(sum, 0, sizeof(*sum));
    if (first != NULL && first_len > 0)
        first[0] = '\0';
    if (config != NULL &&
        (cmk_config_load(config, &cfg, msg, sizeof(msg)) != CMK_OK ||
         cfg->n_tenants == 0 ||
         cmk_audit_unsealer_new(&cfg->tenants[0].kms, &u) != CMK_OK))
        goto out;
    rc = run(path, u, sum, &fi);
out:
    cmk_audit_unsealer_free(u);
    cmk_config_free(cfg);
    return rc;
}
