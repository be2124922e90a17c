/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: sealing the audit chain key at C_Initialize (and for cmk-tool
 * pin-reset's writer). One provider instance of the key tenant's current
 * CMK version, one encrypt of K, then the writer; the call is recorded
 * like every KMS call (keys/cmk.c).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/audit_key.h"
#include "keys/audit_seal.h"
#include "mech/mech.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/secmem.h"
#include "util/secpool.h"

/* What sealing produced and how it went. */
struct sealing {
    const struct cmk_kms_cfg *t;
    struct cmk_audit_key_ctx ctx;
    struct cmk_req rq;
    struct cmk_buf ct; /* the sealed key */
    int64_t start_us;
    cmk_err err;
};

/* ct = t's current CMK version's encrypt of K under the audit context. */
static cmk_err seal(struct sealing *s, const uint8_t *k)
{
    const struct cmk_provider_ops *ops = cmk_provider_find(s->t->provider);
    void *st = NULL;
    cmk_err err;

    cmk_audit_key_ctx_init(&s->ctx, s->t);
    cmk_audit_key_req(&s->rq, &s->ctx, s->t, s->t->key_ref);
    if (ops == NULL || s->t->key_ref == NULL)
        return CMK_E_CONFIG;
    st = calloc(1, ops->state_size ? ops->state_size : 1);
    if (st == NULL)
        return CMK_E_NOMEM;
    err = ops->init(st, s->t, s->t->key_ref);
    if (err != CMK_OK) { /* init cleaned up after itself */
        free(st);
        return err;
    }
    err = ops->encrypt(st, &s->rq, k, CMK_AUDIT_KEY_LEN, &s->ct);
    if (err == CMK_OK && s->ct.len == 0)
        err = CMK_E_BAD_RESPONSE;
    ops->fini(st);
    free(st);
    return err;
}

/* The sealing call, recorded like every KMS call. */
static cmk_err record_seal(struct cmk_audit *a, const struct sealing *s)
{
    struct cmk_audit_rec r;

    cmk_audit_rec_init(&r);
    r.event = "kms_call";
    r.op = "Encrypt";
    r.tenant = s->t->label;
    r.provider = s->t->provider;
    r.result = cmk_rv_name(cmk_err_rv(s->err));
    r.detail = s->err == CMK_OK ? "audit chain key" : cmk_err_name(s->err);
    r.request_id = s->rq.request_id[0] ? s->rq.request_id : NULL;
    r.http_status = s->rq.http_status ? s->rq.http_status : -1;
    r.provider_code = s->rq.provider_code[0] ? s->rq.provider_code : NULL;
    r.latency_us = cmk_clock_now_us() - s->start_us;
    return cmk_audit_write(a, &r);
}

static cmk_err open_with(const struct cmk_audit_cfg *cfg,
                         const struct sealing *s, const uint8_t *k,
                         struct cmk_audit **out)
{
    struct cmk_audit_key key = {k, NULL, 0, NULL, NULL, NULL};
    struct cmk_audit_opts o;
    char detail[96];
    cmk_err err;

    if (s->t != NULL) {
        key.tenant = s->t->label;
        key.provider = s->t->provider;
    }
    if (s->err == CMK_OK) {
        key.sealed = s->ct.p;
        key.sealed_len = s->ct.len;
    } else {
        snprintf(detail, sizeof(detail), "chain key not sealed: %s",
                 s->t != NULL ? cmk_err_name(s->err) : "no key tenant");
        key.detail = detail;
    }
    cmk_audit_opts_from_cfg(&o, cfg);
    err = cmk_audit_open(cfg->file, &o, &key, out);
    if (err == CMK_OK && s->t != NULL)
        err = record_seal(*out, s);
    if (err != CMK_OK) {
        cmk_audit_close(*out);
        *out = NULL;
    }
    return err;
}

cmk_err cmk_audit_seal_open(const struct cmk_audit_cfg *cfg,
                            const struct cmk_kms_cfg *key_tenant,
                            struct cmk_audit **out)
{
    struct sealing s = {.t = key_tenant, .start_us = cmk_clock_now_us()};
    uint8_t *k = NULL;
    cmk_err err = CMK_E_ARGS;

    if (cfg == NULL || cfg->file == NULL || out == NULL)
        return err;
    *out = NULL;
    k = cmk_secmem_alloc(CMK_AUDIT_KEY_LEN);
    if (k == NULL)
        return CMK_E_NOMEM;
    cmk_random(k, CMK_AUDIT_KEY_LEN);
    s.err = key_tenant != NULL ? seal(&s, k) : CMK_E_CONFIG;
    if (s.err != CMK_OK && cfg->required) {
        cmk_log_error("audit: the chain key cannot be sealed by tenant "
                      "\"%s\" (%s): %s; %s is not opened",
                      key_tenant != NULL ? key_tenant->label : "(none)",
                      key_tenant != NULL ? key_tenant->provider : "no tenant",
                      cmk_err_name(s.err), cfg->file);
        err = s.err;
        goto out;
    }
    err = open_with(cfg, &s, k, out);
out:
    cmk_secmem_free(k); /* wipes: the writer holds its own copy */
    cmk_buf_free(&s.ct);
    return err;
}
