/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: a tenant's key pairs (settings.h struct cmk_kp_cfg) at run time:
 * one provider instance each (providers/asym.h), the public key fetched
 * once per process and kept, the objects it stands for (kpobj.h), and
 * the KMS calls that sign and decrypt with it, each a kms_call audit
 * record. A fetch that fails leaves the key pair without objects; it is
 * tried again by cmk_keypair_retry, at most every 10 s. A signature the
 * KMS returns that does not verify with the kept public key refuses the
 * key pair until the module is initialized again: the KMS key is not
 * the one the objects show any more.
 * Locking: kp->lock guards state, pub, pk and usage, a leaf held for no
 * KMS call; once ready, pub, pk and usage do not change, so an operation
 * reads them after one locked check of the state.
 */
#ifndef CMK_CORE_KEYPAIR_H
#define CMK_CORE_KEYPAIR_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/settings.h"
#include "providers/provider.h"
#include "util/lock.h"
#include "util/pkcs11_compat.h"

struct cmk_token;
struct cmk_object;

enum cmk_kp_state {
    CMK_KP_ABSENT = 0, /* not fetched yet, or the last fetch failed */
    CMK_KP_FETCHING,   /* a thread is fetching it now */
    CMK_KP_READY,      /* objects registered */
    CMK_KP_REFUSED,    /* the KMS key changed: until C_Finalize */
};

struct cmk_keypair {
    struct cmk_token *token;
    const struct cmk_kp_cfg *cfg;
    const struct cmk_provider_ops *prov;
    void *st; /* the provider instance; NULL until its init worked */
    struct cmk_mutex lock;
    enum cmk_kp_state state;
    int64_t last_try_us; /* monotonic, of the last fetch */
    struct cmk_pubkey pub;
    EVP_PKEY *pk;   /* pub's key, for local checks */
    unsigned usage; /* CMK_ASYM_USE_*: configured, as the KMS allows */
    /* Its KMS key's health and circuit breaker (keys/health.h), its own:
     * set by every Sign and Decrypt answer, asked before each (a call it
     * fails fast makes no KMS call and no kms_call record). */
    struct cmk_health *health;
};

struct cmk_health_opts;
struct cmk_audit;
/* Makes token t's key pairs (t->kps), each with a circuit breaker of
 * options o, and fetches each one's public key (failures are logged and
 * leave that key pair absent). CKR_HOST_MEMORY only. */
CK_RV cmk_keypair_open_all(struct cmk_token *t,
                           const struct cmk_health_opts *o);
/* Where the key pairs' breakers write their cmk_health_changed records
 * (NULL: nowhere). */
void cmk_keypair_set_audit(struct cmk_token *t, struct cmk_audit *a);
/* Frees them (objects are the token's to remove). */
void cmk_keypair_close_all(struct cmk_token *t);
/* C_FindObjectsInit and C_Login: fetches the absent key pairs whose last
 * try is 10 s old or more. No lock held by the caller. */
void cmk_keypair_retry(struct cmk_token *t);

/* Whether kp is ready for an operation: CKR_OK, CKR_DEVICE_ERROR when
 * refused, CKR_KEY_HANDLE_INVALID otherwise. */
CK_RV cmk_keypair_usable(struct cmk_keypair *kp);

/* A signature through the KMS of digest (hash h's length) with scheme s
 * (providers/asym.h), for session s; sig gets the KMS's answer (ECDSA:
 * DER). One kms_call record "Sign"; rq keeps the request id. Errors as
 * the provider's, mapped to the CK_RV of a C_Sign. */
CK_RV cmk_keypair_sign(struct cmk_keypair *kp, enum cmk_sig_scheme s,
                       enum cmk_hash h, const uint8_t *digest, size_t len,
                       struct cmk_req *rq, struct cmk_buf *sig);
/* RSA-OAEP decryption through the KMS (hash h); out secret. One
 * kms_call record "Decrypt". call: CMK_CALL_DECRYPT or CMK_CALL_UNWRAP,
 * for the CK_RV. */
CK_RV cmk_keypair_decrypt(struct cmk_keypair *kp, enum cmk_hash h,
                          const uint8_t *ct, size_t len, int call,
                          struct cmk_req *rq, struct cmk_secret *out);
/* A KMS signature that does not verify with the kept public key: the key
 * pair is refused from now on, logged and recorded ("key_pair_refused"
 * for op on session). Returns CKR_DEVICE_ERROR. */
CK_RV cmk_keypair_refuse(struct cmk_keypair *kp, const char *op, long session);

#endif /* CMK_CORE_KEYPAIR_H */
