/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: what the files of this layer share about a tenant's CMK (its
 * versions, contexts and KEK cache) and cmk.c's helpers for a provider
 * call. Nothing outside src/keys includes it: others go through cmk.h.
 */
#ifndef CMK_KEYS_CMK_INT_H
#define CMK_KEYS_CMK_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "keys/cmk.h"
#include "mech/envelope.h"
#include "util/lock.h"

struct cmk_audit;
struct cmk_health;
struct kek; /* cmk.c: the cached KEK */

struct cmk_version {
    const struct cmk_provider_ops *ops;
    void *st;            /* ops->state_size bytes */
    const char *key_ref; /* borrowed from the config */
    char key_id[256];
};

struct cmk_cmk {
    const struct cmk_kms_cfg *cfg;
    struct cmk_version *v; /* v[0]: current; then previous, newest first */
    size_t n_v;
    struct cmk_version half; /* dual control's provider key; st NULL: none */
    /* One context per purpose (keys/purpose.h), built once at open. */
    struct cmk_ctx_pair *ctx[CMK_PURPOSE__COUNT];
    size_t n_ctx;
    unsigned kek_ttl_s;
    int64_t (*now_us)(void *arg);
    void *now_arg;
    struct cmk_audit *audit; /* KMS-call records; NULL: none */
    /* The current version's health and circuit breaker (health.c). */
    struct cmk_health *health;
    void (*on_refusal)(void *arg);
    void *on_refusal_arg;
    bool told_uncommitted; /* atomic: the missing commitment was said */
    struct cmk_mutex kek_lock;
    struct cmk_cond kek_filled; /* a fill ended */
    /* Below: guarded by kek_lock. */
    struct kek *kek; /* the cache's reference; NULL: nothing cached */
    int64_t kek_expiry_us;
    uint64_t kek_gen;
    bool filling; /* a caller is unwrapping the KEK */
};

/* rq for a call of version v for purpose (tenant, key reference, the
 * purpose's context; outputs cleared). CMK_E_ARGS for a bad purpose. */
cmk_err cmk_cmk_fill_req(const struct cmk_cmk *c, const struct cmk_version *v,
                         enum cmk_purpose purpose, struct cmk_req *rq) CMK_WUR;
/* The version a parsed blob names, or NULL (see cmk_cmk_unseal). */
const struct cmk_version *
cmk_cmk_find_version(const struct cmk_cmk *c,
                     const struct cmk_envelope_view *ev);
/* After a provider call of v that began at start_us (cmk_clock_now_us)
 * and returned err: a key refusal purges the KEK and tells on_refusal,
 * the kms_call record is written (operation op) and ulDeviceError
 * noted. Returns err, or the audit's failure when err is CMK_OK. */
cmk_err cmk_cmk_note_call(struct cmk_cmk *c, const struct cmk_version *v,
                          const char *op, const struct cmk_req *rq,
                          int64_t start_us, cmk_err err) CMK_WUR;

#endif /* CMK_KEYS_CMK_INT_H */
