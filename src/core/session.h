/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: sessions and their operation state (one encrypt, one decrypt, one
 * find at a time). A session is used by one thread at a time per the
 * spec; a claim still guards op state against misuse: an entry point
 * claims the session (cmk_session_claim) and owns enc, dec, find and
 * device_error until it releases it. The session lock serves only the
 * claim, so it is not held while the call does its work (KMS calls, store
 * I/O). Sessions are reference counted like objects (refs atomic, taken
 * under the session table lock: handles.h).
 */
#ifndef CMK_SESSION_H
#define CMK_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include "core/keymemo.h"
#include "core/record.h"
#include "mech/mech.h"
#include "util/lock.h"
#include "util/pkcs11_compat.h"
#include "util/secmem.h"

struct cmk_token;

/* Direct-path (CKM_CMK_ENVELOPE) operation: input is gathered, the KMS
 * call is made once, and the result is kept for a later call when the
 * caller asked for the length first. */
struct cmk_env_op {
    struct cmk_secret in; /* gathered input (plaintext or blob) */
    size_t in_len;
    bool done;
    struct cmk_secret out; /* result kept between length query and fetch */
};

struct cmk_crypt {
    bool active;
    bool envelope;
    bool multi; /* update was called */
    int last;   /* its last call, enum cmk_crypt_call (0: Init) */
    struct cmk_op *op;
    struct cmk_env_op env;  /* also a key pair's decryption, kept for the
                             * fetch after CKR_BUFFER_TOO_SMALL */
    struct cmk_keypair *kp; /* RSA-OAEP on a key pair's key (kpcrypt.h) */
    int kp_md;              /* its OAEP hash (mech/pkey.h) */
    struct cmk_note note;   /* for the audit record at the end */
};

/* A sign or verify operation on a key pair's key (core/sign.h). */
struct cmk_keypair;
struct cmk_mdctx;
struct cmk_sigop {
    bool active;
    bool multi; /* update was called */
    int last;   /* its last call, enum cmk_crypt_call (0: Init) */
    struct cmk_keypair *kp;
    int scheme;  /* CMK_PK_* (mech/pkey.h) */
    int md;      /* the mechanism's hash; 0: the input says (raw) */
    bool hashes; /* hash-and-sign: the data is hashed here */
    struct cmk_mdctx *mdc;
    size_t sig_len; /* the signature's exact length */
    struct cmk_note note;
};

/* A digest operation (core/digest.h). */
struct cmk_digestop {
    bool active;
    bool multi; /* update or DigestKey was called */
    int last;   /* its last call, enum cmk_crypt_call (0: Init; 4: Key) */
    int md;     /* CMK_MD_* (mech/pkey.h) */
    struct cmk_mdctx *mdc;
    struct cmk_note note;
};

struct cmk_find {
    bool active;
    CK_OBJECT_HANDLE *handles;
    size_t n;
    size_t pos;
};

struct cmk_session {
    CK_SESSION_HANDLE handle;
    struct cmk_token *token;
    CK_FLAGS flags;
    CK_ULONG device_error; /* ulDeviceError: cmk_session_note_device */
    struct cmk_mutex lock; /* waiters for the claim sleep under it; a leaf */
    struct cmk_cond idle;  /* busy went false */
    bool busy;             /* claimed by an entry point (atomic) */
    unsigned waiters;      /* threads waiting for the claim (atomic) */
    struct cmk_crypt enc;
    struct cmk_crypt dec;
    struct cmk_sigop sign;
    struct cmk_sigop verify;
    struct cmk_digestop digest;
    struct cmk_find find;
    struct cmk_cache *cache; /* session-scope DEK cache, made on first use */
    /* The last key of its decrypt (0) and encrypt (1) inits
     * (keymemo.h): taken by those inits, dropped by the key's removal. */
    struct cmk_keymemo memo[2];
    unsigned refs;
};

/* t: the slot's token (cmk_module_token), NULL for an invalid slot:
 * CKR_SLOT_ID_INVALID. */
CK_RV cmk_session_open(struct cmk_token *t, CK_FLAGS flags,
                       CK_SESSION_HANDLE *out);
/* Close a session, or every session of a token. Active operations end
 * with their records ("end": "session_close"); CKR_DEVICE_ERROR when
 * such a record could not be written (required audit): the sessions are
 * closed all the same. */
CK_RV cmk_session_close(CK_SESSION_HANDLE h);
CK_RV cmk_session_close_all(struct cmk_token *t);
/* C_Finalize: closes every session of token t ("end": "finalize"). */
void cmk_session_finalize_token(struct cmk_token *t);
/* Looks up and references a session; CKR_SESSION_HANDLE_INVALID. */
CK_RV cmk_session_get(CK_SESSION_HANDLE h, struct cmk_session **out);
void cmk_session_unref(struct cmk_session *s);
/* Waits until no other thread has s claimed, then claims it; release
 * ends the claim. A thread holds at most one claim and takes no other
 * while it waits for one. */
void cmk_session_claim(struct cmk_session *s);
void cmk_session_release(struct cmk_session *s);
/* The DEK cache this session uses (its own or its token's); NULL when
 * none can be made. */
struct cmk_cache *cmk_session_cache(struct cmk_session *s);
CK_RV cmk_session_info(struct cmk_session *s, CK_SESSION_INFO *info);
/* At the end of an entry point on s (claimed): when it made provider
 * calls, ulDeviceError becomes what the last one said (0: it succeeded;
 * util/err.h); otherwise it stays. */
void cmk_session_note_device(struct cmk_session *s);
static inline bool cmk_session_is_rw(const struct cmk_session *s)
{
    return (s->flags & CKF_RW_SESSION) != 0;
}

void cmk_find_reset(struct cmk_find *f);
/* C_Logout, or the token's last session closed: the token logs out
 * (cmk_token_logout: its user-only objects, cached keys and KEK go), then
 * every operation of every session of token t ends, each with its record
 * ("end": "logout"), and their DEK caches are flushed. Errors as
 * cmk_token_logout. */
CK_RV cmk_session_logout(struct cmk_token *t);

#endif /* CMK_SESSION_H */
