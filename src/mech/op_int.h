/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech (internal): the state behind struct cmk_op, the per-mechanism
 * function tables that op.c dispatches to and the helpers of op_util.c
 * they share. Not for use outside src/mech.
 */
#ifndef CMK_OP_INT_H
#define CMK_OP_INT_H

#include "mech/aes.h"
#include "mech/mech_int.h"
#include "util/secmem.h"

struct cmk_op;

/* Each function implements the output-length convention itself (with
 * cmk_op_len_short) and leaves the state untouched when it returns
 * CKR_BUFFER_TOO_SMALL or answers a length query. op.c does argument and
 * state checks and decides when the operation is over. */
struct op_vt {
    CK_RV(*oneshot)
    (struct cmk_op *op, const uint8_t *in, size_t in_len, uint8_t *out,
     size_t *out_len);
    CK_RV(*update)
    (struct cmk_op *op, const uint8_t *in, size_t in_len, uint8_t *out,
     size_t *out_len);
    CK_RV (*final)(struct cmk_op *op, uint8_t *out, size_t *out_len);
    /* Frees what the op holds outside itself; op.c wipes the op. */
    void (*cleanup)(struct cmk_op *op);
};

/* Growable buffer for input an operation must hold until final (AEAD);
 * wiped whenever it moves or is freed. */
struct op_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
};

/* A key's keyed part (mech.h): immutable once made, shared by every op
 * on the key through a reference. AES: the schedule and GCM's powers of
 * H; ChaCha20: the key itself in gk.key.raw (libsodium keys per call). */
struct cmk_keyctx {
    struct cmk_gcm_key gk;
    CK_KEY_TYPE kt;
    size_t len;
    bool has_htab; /* gk.htab made (AES, unless cmk_keyctx_new_for) */
    unsigned refs; /* atomic */
};

/* cmk_keyctx_new for cmk_op_new's one op of mech: GCM's table only when
 * mech is GCM, and not counted by cmk_keyctx_made. */
CK_RV cmk_keyctx_new_for(CK_MECHANISM_TYPE mech, CK_KEY_TYPE kt,
                         const uint8_t *key, size_t len,
                         struct cmk_keyctx **out) CMK_WUR;

struct op_blk {                    /* ECB, CBC, CBC_PAD */
    const struct cmk_aes_key *key; /* the op's keyctx's */
    bool pad;
    uint8_t iv[CMK_AES_BLOCK];    /* original IV, for single-part restarts */
    uint8_t chain[CMK_AES_BLOCK]; /* CBC chaining value of the next block */
    uint8_t hold[CMK_AES_BLOCK];  /* input not yet enciphered */
    uint8_t last[CMK_AES_BLOCK];  /* CBC_PAD decrypt: hold, deciphered */
    bool last_ready;
};

struct op_ctr {
    const struct cmk_aes_key *key; /* the op's keyctx's */
    uint8_t ctr[CMK_AES_BLOCK];    /* next counter block */
    uint8_t ks[CMK_AES_BLOCK];     /* keystream of a partly used block */
    size_t ks_used;                /* bytes of ks used; CMK_AES_BLOCK: none */
    uint64_t room;                 /* blocks before the counter field wraps */
    uint64_t used;                 /* bytes processed */
};

struct op_gcm {
    struct cmk_gcm g; /* bound to the op's keyctx; own stays unused */
    size_t tag_len;
    uint64_t total; /* bytes encrypted so far */
    struct op_buf buf;
};

struct op_chacha {
    const uint8_t *key; /* 32 bytes, the op's keyctx's */
    uint8_t nonce[24];
    size_t nonce_len;
    struct cmk_buf aad;
    struct op_buf buf;
};

struct op_kw {
    const struct cmk_aes_key *key; /* the op's keyctx's */
    bool pad;
};

/* Lives in a secure pool slot (cmk_secmem_alloc), as its keyctx does:
 * neither the per-message state here nor the key schedules and GCM
 * tables it reads touch the ordinary heap, a core dump or a forked
 * child. */
struct cmk_op {
    const struct op_vt *vt;
    struct cmk_keyctx *kc; /* a reference, dropped by cmk_op_free */
    CK_MECHANISM_TYPE mech;
    bool encrypt;
    bool active; /* a multi-part update has been done */
    bool done;   /* finished: only cmk_op_free is allowed */
    /* Input bytes taken but not yet output (block modes); output then runs
     * ahead of input, so in-place calls need hold_len == 0. */
    size_t hold_len;
    union {
        struct op_blk blk;
        struct op_ctr ctr;
        struct op_gcm gcm;
        struct op_chacha cc;
        struct op_kw kw;
    } u;
};

/* op->kc is set (of the mechanism's key type and a valid length). */
typedef CK_RV (*op_init_fn)(struct cmk_op *op, const CK_MECHANISM *m);

CK_RV cmk_op_blk_init(struct cmk_op *op, const CK_MECHANISM *m) CMK_WUR;
CK_RV cmk_op_ctr_init(struct cmk_op *op, const CK_MECHANISM *m) CMK_WUR;
CK_RV cmk_op_gcm_init(struct cmk_op *op, const CK_MECHANISM *m) CMK_WUR;
CK_RV cmk_op_chacha_init(struct cmk_op *op, const CK_MECHANISM *m) CMK_WUR;
CK_RV cmk_op_kw_init(struct cmk_op *op, const CK_MECHANISM *m) CMK_WUR;

/* Helpers in op_util.c, shared by the mechanism files. */

/* Output-length convention (PKCS#11 3.0 section 5.2). Returns true when
 * the call must end now: out == NULL (*rv = CKR_OK) or *out_len < need
 * (*rv = CKR_BUFFER_TOO_SMALL); *out_len is then need. */
bool cmk_op_len_short(const uint8_t *out, size_t *out_len, size_t need,
                      CK_RV *rv);
/* The CK_RV for a bad input length in the op's direction. */
CK_RV cmk_op_len_rv(const struct cmk_op *op);
/* CKR_GENERAL_ERROR when the last aes.h call failed (only the EVP
 * fallback can), CKR_OK otherwise. */
CK_RV cmk_op_aes_rv(void) CMK_WUR;
/* Points *k at the op's AES key schedule; CKR_GENERAL_ERROR before
 * cmk_mech_init (the fallback needs its ciphers). */
CK_RV cmk_op_key_set(const struct cmk_op *op,
                     const struct cmk_aes_key **k) CMK_WUR;

/* Appends n bytes; more than CMK_OP_MAX_BUFFER in all gives the op's
 * length error. */
CK_RV cmk_op_buf_append(const struct cmk_op *op, struct op_buf *b,
                        const uint8_t *in, size_t n) CMK_WUR;
/* Room check for cmk_op_buf_append without appending. */
CK_RV cmk_op_buf_room(const struct cmk_op *op, const struct op_buf *b,
                      size_t n) CMK_WUR;
void cmk_op_buf_free(struct op_buf *b);

#endif /* CMK_OP_INT_H */
