/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: what the files of this layer share about a tenant's CMK (its
 * versions, contexts, KEK cache, and the previous KEKs of a data-key
 * rotation, kek_prev.c) and cmk.c's helpers for a provider call. Nothing
 * outside src/keys includes it: others go through cmk.h.
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
struct cmk_kek_prev;
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
    struct cmk_audit *audit;   /* KMS-call records; NULL: none */
    struct cmk_kek_prev *prev; /* previous KEKs (kek_prev.c) */
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
/* The same with the record's detail why (also on success). */
cmk_err cmk_cmk_note_call_why(struct cmk_cmk *c, const struct cmk_version *v,
                              const char *op, const struct cmk_req *rq,
                              int64_t start_us, cmk_err err,
                              const char *why) CMK_WUR;
/* What a refusal outside a call's record means (a batch item's): a key
 * refusal purges the caches. Returns err. */
cmk_err cmk_cmk_note_refusal(struct cmk_cmk *c, cmk_err err);
/* cmk_reseal.c: whether the blob (parsed as ev, found as version v) is
 * under the current version and its key's latest version (provider
 * is_latest; may read the key's info, cached). */
cmk_err cmk_cmk_is_current(struct cmk_cmk *c, const struct cmk_version *v,
                           const struct cmk_envelope_view *ev,
                           bool *current) CMK_WUR;

/* What the previous-KEK cache needs of its CMK, as callbacks (it does
 * not call into cmk.c): open entry e into its KEK, checked against e's
 * own commitment (not the tenant's current one), with the errors of
 * cmk.h: e's blob unsealed through the CMK's versions, or under dual
 * control the KEK derived from e's two halves, the provider half
 * unsealed through the dual_control key; and the CMK's monotonic clock
 * in microseconds (cmk_cmk_set_clock). */
struct cmk_kek_prev_io {
    cmk_err (*unseal)(void *arg, const struct cmk_prev_kek *e,
                      struct cmk_secret *out);
    int64_t (*now_us)(void *arg);
    void *arg;
};

/* The cache of cfg's previous KEKs (kek_prev.c): one entry per
 * previous_keks[i], kept ttl_s seconds (0: never kept), purged with the
 * current KEK. Its lock is a leaf, never held across a provider call or
 * while fn runs. */
struct cmk_kek_prev;
cmk_err cmk_kek_prev_new(const struct cmk_kms_cfg *cfg, unsigned ttl_s,
                         const struct cmk_kek_prev_io *io,
                         struct cmk_kek_prev **out) CMK_WUR;
void cmk_kek_prev_free(struct cmk_kek_prev *p);
void cmk_kek_prev_purge(struct cmk_kek_prev *p);
/* Fork child: wipes without locking (cmk_cmk_forget_in_child). */
void cmk_kek_prev_wipe_in_child(struct cmk_kek_prev *p);
/* fn with previous KEK i (unsealed through io when not cached). An entry
 * at or past its "expires" (wall clock) is dropped and never unsealed:
 * CMK_E_KEY_NOT_FOUND, as for an i past the end. */
cmk_err cmk_kek_prev_with(struct cmk_kek_prev *p, size_t i,
                          cmk_err (*fn)(void *arg, const uint8_t *kek,
                                        size_t kek_len),
                          void *arg) CMK_WUR;

/* answer.c: a Decrypt answer checked before anything keeps it: its
 * length suits purpose p (else CMK_E_BAD_RESPONSE, *why
 * "plaintext_length"), and with commit, a KEK matching it (else
 * CMK_E_KEK_COMMITMENT, *why "kek_commitment_mismatch"); refusals are
 * logged naming tenant label. */
cmk_err cmk_cmk_check_answer(const char *label, enum cmk_purpose p,
                             const uint8_t *commit, const struct cmk_secret *pt,
                             const char **why) CMK_WUR;
/* The KEK's commitment equals want (constant-time compare). */
cmk_err cmk_cmk_check_commitment(const char *label, const uint8_t *want,
                                 const struct cmk_secret *kek) CMK_WUR;

#endif /* CMK_KEYS_CMK_INT_H */
