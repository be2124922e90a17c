/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: key pairs held in a KMS, whose private half never leaves it
 * (a tenant's "key_pairs"): the public key, signatures and RSA-OAEP
 * decryption. A provider that has them has one table, which the registry
 * gives (cmk_provider_asym, provider.h); NULL: the provider has no key
 * pairs (the config loader refuses "key_pairs" for it).
 *
 * An instance is bound to one key pair (one key reference), as a CMK
 * instance is bound to one CMK version; it uses the tenant's settings
 * (credentials, endpoint, region, http) from the tenant's cmk_kms_cfg.
 * cmk_req is the CMK calls' request: tenant, key_ref, deadline_us and the
 * outputs (request_id, http_status, provider_code) are used; the
 * encryption context, open_with and sealed_by are not (KMS asymmetric
 * operations take no context). Thread safety: every op may be called from
 * several threads at once.
 */
#ifndef CMK_ASYM_H
#define CMK_ASYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/err.h"
#include "util/secmem.h"

struct cmk_conf;
struct cmk_kms_cfg;
struct cmk_req;

enum cmk_asym_kind {
    CMK_ASYM_RSA = 1,
    CMK_ASYM_EC = 2,
};

/* What a key pair may do, as the KMS states it (aws KeyUsage SIGN_VERIFY:
 * SIGN; ENCRYPT_DECRYPT: DECRYPT). */
#define CMK_ASYM_USE_SIGN 0x1u
#define CMK_ASYM_USE_DECRYPT 0x2u

enum cmk_hash {
    CMK_HASH_SHA1 = 1,
    CMK_HASH_SHA256 = 2,
    CMK_HASH_SHA384 = 3,
    CMK_HASH_SHA512 = 4,
};

enum cmk_sig_scheme {
    CMK_SIG_RSA_PKCS1 = 1, /* RSASSA-PKCS1-v1_5 */
    CMK_SIG_RSA_PSS = 2,   /* RSASSA-PSS, MGF1 with the same hash, salt
                            * length = hash length */
    CMK_SIG_ECDSA = 3,
};

/* A key pair's public half and what the KMS lets it do. */
struct cmk_pubkey {
    enum cmk_asym_kind kind;
    unsigned bits;  /* RSA: modulus bits (2048, 3072, 4096); EC: the
                     * curve's order bits (256, 384, 521) */
    int curve_nid;  /* EC: NID_X9_62_prime256v1, NID_secp384r1 or
                     * NID_secp521r1; 0 for RSA */
    unsigned usage; /* CMK_ASYM_USE_*, non-zero */
    /* The signature schemes the KMS signs with for this key (bit 1u << s
     * for each enum cmk_sig_scheme s); 0 for a key that does not sign. */
    unsigned schemes;
    /* The hashes the KMS signs with for this key (bit 1u << h for each
     * enum cmk_hash h it takes, with every scheme of schemes); 0 for a
     * key that does not sign. */
    unsigned hashes;
    /* The RSA-OAEP hashes (OAEP and MGF1) the KMS decrypts with (bit
     * 1u << h); 0 for a key that does not decrypt. */
    unsigned oaep_hashes;
    struct cmk_buf spki; /* DER SubjectPublicKeyInfo, as the KMS gave it
                          * (checked to parse and to match kind, bits and
                          * curve) */
};

/* Frees spki and zeroes k (NULL-safe). */
void cmk_pubkey_free(struct cmk_pubkey *k);

struct cmk_asym_ops {
    size_t state_size; /* the caller allocates (zeroed) and frees */
    /* Optional: a key pair's "key" at config field path field, checked as
     * cmk_provider_ops.check_key_ref checks a CMK's (the forms differ:
     * vault "NAME:N", gcp a version only). NULL: the CMK's check. */
    cmk_err (*check_key_ref)(struct cmk_conf *cf, const char *field,
                             const char *ref) CMK_WUR;
    /* As cmk_provider_ops.init: on failure init releases what it took
     * (the caller does not call fini). No KMS call. */
    cmk_err (*init)(void *st, const struct cmk_kms_cfg *cfg,
                    const char *key_ref) CMK_WUR;
    void (*fini)(void *st);
    /* The public key and usage: one KMS call (aws GetPublicKey), no
     * caching here (the caller caches). A key the module cannot use
     * (a symmetric or HMAC key, ECC_SECG_P256K1, SM2, an RSA size other
     * than 2048/3072/4096) is CMK_E_CONFIG with provider_code
     * "UnsupportedKeySpec" (or the KMS's own code when it refused the
     * call). */
    cmk_err (*get_public_key)(void *st, struct cmk_req *rq,
                              struct cmk_pubkey *out) CMK_WUR;
    /* A signature with scheme s and hash h. digest true: msg is the
     * hash's output (len = the hash's length; aws MessageType DIGEST);
     * false: msg is the message, the KMS hashes it (aws RAW, at most 4096
     * bytes, else CMK_E_TOO_LARGE). RSA: the signature (the modulus'
     * length); ECDSA: the DER ECDSA-Sig-Value as the KMS returns it (the
     * caller converts it to r || s). *sig is allocated (the caller frees).
     * A KMS refusal of the key's usage or of the algorithm is
     * CMK_E_ACCESS_DENIED with the KMS's code (aws
     * InvalidKeyUsageException). */
    cmk_err (*sign)(void *st, struct cmk_req *rq, enum cmk_sig_scheme s,
                    enum cmk_hash h, bool digest, const uint8_t *msg,
                    size_t len, struct cmk_buf *sig) CMK_WUR;
    /* RSAES-OAEP decryption, hash h for both OAEP and MGF1, empty label
     * (aws RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256). *out is secret
     * (the caller frees with cmk_secret_free). A ciphertext the KMS
     * refuses is CMK_E_BAD_CIPHERTEXT. */
    cmk_err (*decrypt)(void *st, struct cmk_req *rq, enum cmk_hash h,
                       const uint8_t *ct, size_t len,
                       struct cmk_secret *out) CMK_WUR;
};

#endif /* CMK_ASYM_H */
