/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: a tenant's CMK (current version plus previous versions, each a
 * provider instance) and the tenant KEK unwrapped through it.
 * Thread safety: all functions may be called concurrently. The one lock
 * (the KEK cache's cmk_mutex) is never held across a provider call or
 * while a cmk_cmk_with_kek callback runs.
 */
#ifndef CMK_KEYS_CMK_H
#define CMK_KEYS_CMK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keys/purpose.h"
#include "providers/provider.h"
#include "util/err.h"
#include "util/secmem.h"

struct cmk_cmk;

/* enum cmk_purpose, the purposes a blob is bound to: keys/purpose.h. */

/* Opens every version's provider instance (no KMS call for local), and
 * under dual control (cfg->dual) the provider key's too.
 * cfg is borrowed and must outlive c (config is immutable until
 * C_Finalize). CMK_E_CONFIG: unknown provider or a version refused. */
cmk_err cmk_cmk_open(const struct cmk_kms_cfg *cfg, unsigned kek_ttl_s,
                     struct cmk_cmk **out) CMK_WUR;
void cmk_cmk_close(struct cmk_cmk *c);

/* Fills rq's tenant, key_ref and context (tenant pair first, then the
 * configured pairs sorted by key). Outputs of the last provider call stay
 * in rq. */

/* Direct path: seals in (a DEK value or small data) under the current CMK
 * version into an envelope blob. */
cmk_err cmk_cmk_seal(struct cmk_cmk *c, struct cmk_req *rq, const uint8_t *in,
                     size_t in_len, struct cmk_buf *blob) CMK_WUR;
/* An upper bound of the blob cmk_cmk_seal makes for in_len bytes, known
 * without a KMS call (for PKCS#11 length queries). */
size_t cmk_cmk_seal_bound(const struct cmk_cmk *c, size_t in_len);
/* The same for any purpose (cmk_cmk_seal is CMK_PURPOSE_KEY);
 * CMK_PURPOSE_PROVIDER_KEK seals with the dual-control provider key
 * (CMK_E_ARGS without dual control). Under dual control the key and
 * data purposes need the tenant KEK first (cmk_cmk_with_kek: both
 * halves unseal, or its error), so either key's refusal stops the direct
 * path within the KEK's TTL; the KEK halves' kms_call records say which
 * key they used in "detail" ("customer key", "provider key", then ": "
 * and why a call failed). */
cmk_err cmk_cmk_seal_for(struct cmk_cmk *c, struct cmk_req *rq,
                         enum cmk_purpose purpose, const uint8_t *in,
                         size_t in_len, struct cmk_buf *blob) CMK_WUR;
cmk_err cmk_cmk_unseal_for(struct cmk_cmk *c, struct cmk_req *rq,
                           enum cmk_purpose purpose, const uint8_t *blob,
                           size_t blob_len, struct cmk_secret *out) CMK_WUR;
/* Reverse; picks the version whose key_id the blob names.
 * CMK_E_BAD_BLOB: malformed, or it names no version of this CMK;
 * CMK_E_BAD_CIPHERTEXT: provider refused (tampered, other tenant);
 * CMK_E_KEY_NOT_FOUND: the provider does not know the key (deleted);
 * CMK_E_BAD_RESPONSE: the provider's plaintext does not fit the purpose
 * (KEK: 32 bytes; key: 16, 24 or 32; data: at most
 * CMK_ENVELOPE_MAX_PLAINTEXT), logged, recorded with detail
 * "plaintext_length", and wiped. */
cmk_err cmk_cmk_unseal(struct cmk_cmk *c, struct cmk_req *rq,
                       const uint8_t *blob, size_t blob_len,
                       struct cmk_secret *out) CMK_WUR;

/* Moves blob, sealed for purpose under any version of c, to the current
 * version (and its key's latest version, cmk_cmk_blob_version): one
 * re-encryption inside the KMS where the provider moves ciphertexts
 * between its keys (CMK_CAP_REENCRYPT_MOVE: aws ReEncrypt, so the
 * plaintext never leaves the KMS) or within the key (vault rewrap), else an
 * unseal through the version the blob names and a seal through the current one
 * (the plaintext only in secure memory, wiped). The purpose's context is bound
 * on both sides. A blob already under the current version: CMK_OK with
 * out left empty (len 0). Errors as cmk_cmk_unseal_for and
 * cmk_cmk_seal_for; each provider call is recorded as they do. */
cmk_err cmk_cmk_reseal_for(struct cmk_cmk *c, struct cmk_req *rq,
                           enum cmk_purpose purpose, const uint8_t *blob,
                           size_t blob_len, struct cmk_buf *out) CMK_WUR;

/* The version of c that blob names (*key_ref, borrowed from the config)
 * and whether it is current (*current: cmk_cmk_reseal_for would leave it
 * alone): the current version's key id and, where the provider keeps
 * versions inside one key (provider is_latest: vault), that key's latest
 * version. No provider call but that key's read, which the provider
 * caches. CMK_E_BAD_BLOB for a malformed blob or one that names no
 * version of c (another tenant's); the read's error otherwise. */
cmk_err cmk_cmk_blob_version(struct cmk_cmk *c, const uint8_t *blob,
                             size_t blob_len, bool *current,
                             const char **key_ref) CMK_WUR;

/* Most blobs of one provider call of cmk_cmk_reseal_batch. */
#define CMK_BATCH_MAX 250u

/* How many blobs one provider call of cmk_cmk_reseal_batch may carry for
 * c's current version: the provider's batch_max (at most CMK_BATCH_MAX),
 * 1 when it has no reencrypt_batch. */
size_t cmk_cmk_batch_max(const struct cmk_cmk *c);

/* One blob of cmk_cmk_reseal_batch. */
struct cmk_reseal_item {
    const uint8_t *blob; /* in */
    size_t blob_len;
    struct cmk_buf out;     /* out: as cmk_cmk_reseal_for's (the caller
                             * frees it); empty when already current */
    cmk_err err;            /* out: as cmk_cmk_reseal_for returns it */
    char provider_code[64]; /* out: the provider's code when it failed */
};
/* cmk_cmk_reseal_for for items[0..n), all of purpose: the blobs the
 * current version's provider can move together (reencrypt_batch: vault's
 * older versions of the current key) go in as few provider calls as it
 * takes, batch at most at a time (0: the provider's most), one audit
 * record per call; the others one by one. Each item ends on its own. */
void cmk_cmk_reseal_batch(struct cmk_cmk *c, enum cmk_purpose purpose,
                          struct cmk_reseal_item *items, size_t n,
                          size_t batch);
/* The current version's reference (the config's "key") and the key id its
 * blobs carry (it changes with the key, not only with the reference). */
const char *cmk_cmk_current_ref(const struct cmk_cmk *c);
const char *cmk_cmk_current_id(const struct cmk_cmk *c);

/* KEK path: calls fn with the tenant KEK (32 bytes), unwrapping it through
 * the provider when it is not cached or its TTL has passed (under dual
 * control: both halves, each through its own key, and the KEK derived
 * from them, mech/dual_kek.h; a refusal of either purges; ttl 0: every
 * call unwraps and the plaintext is wiped after fn returns). Concurrent
 * misses make one provider call. fn runs with no lock held, on a
 * reference to the key: a purge meanwhile (C_Logout, a refusal) wipes it
 * once fn returns, and fn may do file I/O (the token store does).
 * An unwrapped KEK is kept only once it matches the tenant's
 * kek_commitment. CMK_E_KEY_NOT_FOUND if the tenant has no KEK
 * configured; CMK_E_KEK_COMMITMENT when it has no commitment (no provider
 * call; logged once) or the KEK the provider answered does not match it
 * (logged, recorded with detail "kek_commitment_mismatch", not cached);
 * CMK_E_BAD_RESPONSE for an answer that is not 32 bytes. */
cmk_err cmk_cmk_with_kek(struct cmk_cmk *c,
                         cmk_err (*fn)(void *arg, const uint8_t *kek,
                                       size_t kek_len),
                         void *arg) CMK_WUR;
/* The keyed contexts (mech.h struct cmk_keyctx) kept with the cached
 * KEK: its own for wrapping, the data key's for encrypting. */
enum cmk_kek_ctx { CMK_KEK_CTX_WRAP, CMK_KEK_CTX_DATA, CMK_KEK_CTX__N };
struct cmk_keyctx;
typedef cmk_err (*cmk_kek_ctx_fn)(void *arg, const uint8_t *kek, size_t kek_len,
                                  struct cmk_keyctx **out);
/* A new reference (*out) to the KEK's context in slot, got as
 * cmk_cmk_with_kek gets the KEK (same errors). The first use of a cached
 * KEK calls make (with no lock held) to build it; concurrent first uses
 * may each build one: one is kept, the others wiped. It lives as long as
 * the cached KEK (a purge, C_Logout, the TTL drop it) and the ops that
 * hold references. make may leave *out NULL (its error in arg): *out is
 * then NULL and CMK_OK returned. */
cmk_err cmk_cmk_kek_ctx(struct cmk_cmk *c, enum cmk_kek_ctx slot,
                        cmk_kek_ctx_fn make, void *arg,
                        struct cmk_keyctx **out) CMK_WUR;
/* The KEK as cmk_cmk_with_kek gets it (from the cache, or through the
 * provider, with the same errors), and when the cached entry expires
 * (*until, monotonic microseconds on the CMK's clock; 0 with ttl 0 or
 * once purged): what was opened with it may be used until then. */
cmk_err cmk_cmk_kek_live_until(struct cmk_cmk *c, int64_t *until) CMK_WUR;
/* The tenant's KEKs during a data-key rotation's overlap window: 0 is the
 * current KEK, i >= 1 the config's previous_keks[i - 1] (newest first).
 * count: 1 + the number configured, expired ones included. with_kek_at
 * is cmk_cmk_with_kek for KEK i: a previous KEK is unsealed through the
 * CMK only when asked for, checked against its own commitment
 * (CMK_E_KEK_COMMITMENT, recorded, not cached) and cached for the KEK
 * TTL; once its "expires" has come (util/clock.h wall clock) it is
 * dropped and never unsealed again: CMK_E_KEY_NOT_FOUND, as for an i
 * past the end. Wrapping and sealing always use KEK 0. */
size_t cmk_cmk_kek_count(const struct cmk_cmk *c);
cmk_err cmk_cmk_with_kek_at(struct cmk_cmk *c, size_t i,
                            cmk_err (*fn)(void *arg, const uint8_t *kek,
                                          size_t kek_len),
                            void *arg) CMK_WUR;
/* The tenant's commitment to its KEK (32 bytes, not secret): HKDF-SHA256
 * (RFC 5869) with the tenant label as salt, the KEK as input key and info
 * "cmk-pkcs11 kek commitment v1". cmk-tool provision and kek-commit
 * store it beside the sealed KEK as "kek_commitment". CMK_E_ARGS unless
 * kek_len is 32. */
cmk_err cmk_cmk_kek_commitment(const char *label, const uint8_t *kek,
                               size_t kek_len,
                               uint8_t out[CMK_KEK_COMMITMENT_LEN]) CMK_WUR;

struct cmk_audit;
/* Every provider call made through c is then recorded in a (event
 * "kms_call": provider, operation, request id, HTTP status, latency,
 * provider error code). A required audit that cannot be written fails
 * the call. */
void cmk_cmk_set_audit(struct cmk_cmk *c, struct cmk_audit *a);

/* fn(arg) runs whenever the KMS refuses the key (disabled, revoked,
 * access denied), after the KEK is purged: the caller purges what it
 * caches too. Called with no lock of c held. */
void cmk_cmk_on_refusal(struct cmk_cmk *c, void (*fn)(void *arg), void *arg);

/* Drops the cached KEKs (C_Logout, C_Finalize). */
void cmk_cmk_forget(struct cmk_cmk *c);
/* In a fork child: wipes the cached KEK without taking any lock (the
 * parent's threads that may hold one are gone); c is then abandoned. */
void cmk_cmk_forget_in_child(struct cmk_cmk *c);

/* Health: provider reachable and current key usable. */
cmk_err cmk_cmk_health(struct cmk_cmk *c, struct cmk_req *rq) CMK_WUR;

struct cmk_health;
/* The current version's health and circuit breaker (keys/health.h): set
 * by every answer about that version, and asked before every call for
 * it (a call it fails fast makes no KMS call and no kms_call record).
 * cmk_cmk_set_audit gives it the audit writer too. Owned by c. */
struct cmk_health *cmk_cmk_health_of(struct cmk_cmk *c);

/* The provider name and key reference of the current version. */
const char *cmk_cmk_provider_name(const struct cmk_cmk *c);

/* Tests: replaces the monotonic clock (microseconds) that times the KEK
 * cache; NULL restores CLOCK_MONOTONIC. Call before c is shared. */
void cmk_cmk_set_clock(struct cmk_cmk *c, int64_t (*now_us)(void *arg),
                       void *arg);

#endif /* CMK_KEYS_CMK_H */
