/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: symmetric mechanisms over OpenSSL (own OSSL_LIB_CTX) and libsodium.
 * Pure functions of (mechanism, key, data): no sessions, no objects. Every
 * function returns the exact CK_RV the PKCS#11 3.0 spec names.
 *
 * Output-length convention (PKCS#11 3.0 section 5.2) is implemented here:
 * out == NULL returns CKR_OK with *out_len set to the length needed (an upper
 * bound where the spec allows one); *out_len too small returns
 * CKR_BUFFER_TOO_SMALL with *out_len set, and the operation state is left
 * exactly as it was, so the caller may retry.
 */
#ifndef CMK_MECH_H
#define CMK_MECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/pkcs11_compat.h"
#include "util/secmem.h"

/* The module's one OpenSSL library context: C_Initialize (and cmk-tool's
 * main, and tests, the same way) calls cmk_mech_init, which creates the
 * private OSSL_LIB_CTX and fetches the ciphers, SHA-256 and HMAC every
 * later call uses; a second call is a no-op. C_Finalize's cmk_mech_fini
 * frees them. A forked child keeps them (they hold no key) and its
 * C_Initialize finds them ready. */
CK_RV cmk_mech_init(void);
void cmk_mech_fini(void);

/* ---- Mechanism table (C_GetMechanismList / C_GetMechanismInfo) ---- */

/* Fills *info for a mechanism we implement; CKR_MECHANISM_INVALID else. */
CK_RV cmk_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);
/* "CKM_AES_GCM" for a listed mechanism, NULL otherwise. */
const char *cmk_mech_name(CK_MECHANISM_TYPE type);
/* The list of mechanism types we implement (static array). */
const CK_MECHANISM_TYPE *cmk_mech_list(size_t *count);
/* Key type a mechanism uses (CKK_AES, CKK_CHACHA20), or (CK_ULONG)-1. */
CK_KEY_TYPE cmk_mech_key_type(CK_MECHANISM_TYPE type);
/* Checks key length for a key type: AES 16/24/32, ChaCha20 32.
 * CKR_KEY_SIZE_RANGE otherwise (CKR_KEY_TYPE_INCONSISTENT for a key type
 * no mechanism here uses). */
CK_RV cmk_mech_check_key_len(CK_KEY_TYPE kt, size_t len);

/* ---- Encrypt / decrypt operations ---- */

/*
 * One active encrypt or decrypt operation. Mechanisms: CKM_AES_GCM,
 * CKM_AES_CBC, CKM_AES_CBC_PAD, CKM_AES_CTR, CKM_AES_ECB,
 * CKM_CHACHA20_POLY1305 (12-byte IETF and 24-byte XChaCha20 nonces; 8-byte
 * original nonce), CKM_AES_KEY_WRAP (RFC 3394), CKM_AES_KEY_WRAP_KWP and
 * CKM_AES_KEY_WRAP_PAD (both RFC 5649).
 * cmk_op_new makes a context of its own for the key (struct cmk_keyctx,
 * below); the caller's key may be freed after it returns.
 * Limits: GCM IV 1..128 bytes (OpenSSL 3.0's maximum), tag bits 32, 64,
 * 96..128 in steps of 8; CTR data may not wrap the ulCounterBits field;
 * AEAD decrypt and ChaCha20-Poly1305 buffer at most 64 MiB in multi-part.
 * in and out may be the same buffer, except in a multi-part block-mode
 * update while earlier input is held back; other overlaps give
 * CKR_ARGUMENTS_BAD.
 */
struct cmk_op;

/* A key's keyed part: the AES key schedule with GCM's powers of H, or
 * the ChaCha20 key, made once and then shared read-only by any number of
 * operations at once (each op keeps its own IV, counter, GHASH and
 * partial blocks). Reference counted: every op holds one, so a key
 * object destroyed while an op runs has its context wiped when the last
 * op lets go. Lives in the secure pool (locked, MADV_DONTDUMP,
 * MADV_WIPEONFORK). All functions are thread safe. */
struct cmk_keyctx;

/* New context with one reference. kt CKK_AES (len 16, 24, 32) or
 * CKK_CHACHA20 (32): CKR_KEY_SIZE_RANGE, CKR_KEY_TYPE_INCONSISTENT (as
 * cmk_mech_check_key_len), CKR_ARGUMENTS_BAD, CKR_HOST_MEMORY. */
CK_RV cmk_keyctx_new(CK_KEY_TYPE kt, const uint8_t *key, size_t len,
                     struct cmk_keyctx **out) CMK_WUR;
struct cmk_keyctx *cmk_keyctx_ref(struct cmk_keyctx *kc);
/* NULL-safe; the last reference wipes and frees. */
void cmk_keyctx_unref(struct cmk_keyctx *kc);
/* Whether kc was made from exactly this key (constant time in the key
 * bytes): a key object checks that its cached context is not stale. */
bool cmk_keyctx_matches(const struct cmk_keyctx *kc, CK_KEY_TYPE kt,
                        const uint8_t *key, size_t len);
CK_KEY_TYPE cmk_keyctx_type(const struct cmk_keyctx *kc);
/* A private copy of kc (one reference, a slot of its own in the secure
 * pool): a session that uses one key over and over counts its
 * references on a cache line no other thread writes. CKR_HOST_MEMORY. */
CK_RV cmk_keyctx_copy(const struct cmk_keyctx *kc,
                      struct cmk_keyctx **out) CMK_WUR;
/* The AES key check value (PKCS#11 3.0 section 4.10: the first 3 bytes
 * of AES-ECB(key, zero block)) with kc's schedule when kc (may be NULL)
 * was made from key, else with one expanded in the secure pool and wiped.
 * CKR_KEY_SIZE_RANGE, CKR_ARGUMENTS_BAD, CKR_HOST_MEMORY,
 * CKR_GENERAL_ERROR (before cmk_mech_init). */
CK_RV cmk_aes_check_value(const uint8_t *key, size_t len,
                          const struct cmk_keyctx *kc, uint8_t cv[3]) CMK_WUR;
/* Tests: contexts cmk_keyctx_new made since the process started, and
 * contexts alive now (cmk_op_new's own included). */
unsigned long cmk_keyctx_made(void);
long cmk_keyctx_live(void);

/* The checks of cmk_op_new that need no key: CKR_MECHANISM_INVALID,
 * CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_SIZE_RANGE, CKR_ARGUMENTS_BAD (NULL
 * mech). Done before a context is made, so a refused key costs none. */
CK_RV cmk_op_check(const CK_MECHANISM *mech, CK_KEY_TYPE kt,
                   size_t key_len) CMK_WUR;
/* cmk_op_new on a key's context: the op takes a reference to kc and
 * keys nothing itself. Errors as cmk_op_new. */
CK_RV cmk_op_new_keyed(const CK_MECHANISM *mech, struct cmk_keyctx *kc,
                       bool encrypt, struct cmk_op **out) CMK_WUR;
/* The context op keys with (the op's reference; NULL for a NULL op). */
const struct cmk_keyctx *cmk_op_keyctx(const struct cmk_op *op);

/* Validates the mechanism for key type kt: CKR_MECHANISM_INVALID if we do
 * not know it, CKR_KEY_TYPE_INCONSISTENT if kt does not fit it,
 * CKR_MECHANISM_PARAM_INVALID for bad or missing parameters (wrong struct
 * size, IV length, tag bits, nonce length, counter bits),
 * CKR_KEY_SIZE_RANGE for a bad key length. */
CK_RV cmk_op_new(const CK_MECHANISM *mech, CK_KEY_TYPE kt, const uint8_t *key,
                 size_t key_len, bool encrypt, struct cmk_op **out);
void cmk_op_free(struct cmk_op *op);

/* Single part (C_Encrypt / C_Decrypt). After any return other than
 * CKR_BUFFER_TOO_SMALL or a length query (out == NULL), the op is finished
 * and the caller frees it. Decrypt errors: CKR_ENCRYPTED_DATA_INVALID (bad
 * tag, bad padding), CKR_ENCRYPTED_DATA_LEN_RANGE (length not a block
 * multiple), encrypt: CKR_DATA_LEN_RANGE. On a tag failure no plaintext is
 * released (out is zeroed). */
CK_RV cmk_op_oneshot(struct cmk_op *op, const uint8_t *in, size_t in_len,
                     uint8_t *out, size_t *out_len);
/* Multi-part. AEAD decrypt (GCM, ChaCha20-Poly1305) buffers all input and
 * returns 0 bytes from update; plaintext comes from final after the tag
 * check. Key wrap mechanisms are single-part only: update/final return
 * CKR_MECHANISM_INVALID. */
CK_RV cmk_op_update(struct cmk_op *op, const uint8_t *in, size_t in_len,
                    uint8_t *out, size_t *out_len);
CK_RV cmk_op_final(struct cmk_op *op, uint8_t *out, size_t *out_len);

/* ---- Key wrap primitives (RFC 3394 / RFC 5649) over AES-ECB ---- */

/* kek_len 16/24/32. wrap: out must hold in_len + 8 (KW) or
 * round_up8(in_len) + 8 (KWP). KW needs in_len >= 16 and a multiple of 8;
 * KWP needs 1 <= in_len. Return CKR_OK, CKR_DATA_LEN_RANGE /
 * CKR_WRAPPED_KEY_LEN_RANGE for bad lengths, CKR_WRAPPED_KEY_INVALID on an
 * integrity failure (out is zeroed then). */
CK_RV cmk_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t *out_len);
CK_RV cmk_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
                        size_t in_len, uint8_t *out, size_t *out_len);
CK_RV cmk_aes_kwp_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
                       size_t in_len, uint8_t *out, size_t *out_len);
CK_RV cmk_aes_kwp_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *out_len);

/* ---- Key derivation ---- */

/* HKDF-SHA256 (RFC 5869): len bytes of OKM from ikm, salt (none: salt_len
 * 0, which RFC 5869 2.2 makes HashLen zero bytes) and info, into a new
 * *out in the secure pool; every intermediate (HMAC state, PRK, T(i))
 * stays in the pool and is wiped. CKR_KEY_SIZE_RANGE unless
 * 1 <= len <= 255 * 32, CKR_ARGUMENTS_BAD, CKR_HOST_MEMORY. On failure
 * *out is empty. */
CK_RV cmk_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                      size_t ikm_len, const uint8_t *info, size_t info_len,
                      size_t len, struct cmk_secret *out) CMK_WUR;
/* HKDF-Expand alone (RFC 5869 2.3) with a caller's PRK of any non-zero
 * length (used as the HMAC-SHA256 key as it is): for keys that are
 * already uniformly random, where Extract adds nothing (RFC 5869 3.3).
 * Output, errors and where intermediates live as cmk_hkdf_sha256;
 * CKR_ARGUMENTS_BAD also for an empty PRK. */
CK_RV cmk_hkdf_sha256_expand(const uint8_t *prk, size_t prk_len,
                             const uint8_t *info, size_t info_len, size_t len,
                             struct cmk_secret *out) CMK_WUR;

/* ---- Random ---- */
void cmk_random(uint8_t *out, size_t len); /* randombytes_buf */

#endif /* CMK_MECH_H */
