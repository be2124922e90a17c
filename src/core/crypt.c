/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: encrypt and decrypt operations. An operation ends on any result
 * except CKR_BUFFER_TOO_SMALL and a successful length query (PKCS#11 3.0
 * section 5.2), or when its session, login or module goes; each end is
 * one audit record saying how ("end"), and no output leaves unrecorded.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "core/crypt.h"
#include "core/envelope_op.h"
#include "core/keyuse.h"
#include "core/kpcrypt.h"
#include "core/object.h"
#include "core/objops.h"
#include "core/record.h"
#include "core/token.h"

void cmk_crypt_reset(struct cmk_crypt *c)
{
    cmk_op_free(c->op);
    cmk_secret_free(&c->env.in);
    cmk_secret_free(&c->env.out);
    memset(c, 0, sizeof(*c));
}

static struct cmk_crypt *op_of(struct cmk_session *s, bool encrypt)
{
    return encrypt ? &s->enc : &s->dec;
}

static bool keeps_going(CK_RV rv, const uint8_t *out)
{
    return rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && out == NULL);
}

/* Which call of an operation: CMK_CRYPT_* or 0 for Init. */
static const char *fn_name(bool encrypt, int part)
{
    static const char *const names[2][4] = {
        {"C_DecryptInit", "C_Decrypt", "C_DecryptFinal", "C_DecryptUpdate"},
        {"C_EncryptInit", "C_Encrypt", "C_EncryptFinal", "C_EncryptUpdate"},
    };

    return names[encrypt][part];
}

/* Counts what a call consumed and, when it succeeded, produced. */
static void tally(struct cmk_crypt *c, CK_RV rv, size_t in_len,
                  const uint8_t *out, CK_ULONG out_len)
{
    if (out == NULL && rv == CKR_OK)
        return; /* a length query */
    c->note.bytes_in += (long long)in_len;
    if (rv == CKR_OK)
        c->note.bytes_out += (long long)out_len;
}

/* Output whose record could not be written never reaches the caller. */
static void take_back(uint8_t *out, CK_ULONG *out_len)
{
    if (out != NULL)
        sodium_memzero(out, (size_t)*out_len);
    *out_len = 0;
}

/* The operation is over: write its record and free its state. Output
 * whose record could not be written is taken back. */
static CK_RV finish(struct cmk_session *s, bool encrypt, int part, CK_RV rv,
                    uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_crypt *c = op_of(s, encrypt);
    CK_RV rec;

    c->note.end = rv == CKR_OK ? CMK_END_FINAL : CMK_END_ERROR;
    rec = cmk_record_mech(s, fn_name(encrypt, part), &c->note, rv);
    if (rec != rv && rv == CKR_OK && out_len != NULL)
        take_back(out, out_len);
    cmk_crypt_reset(c);
    return rec;
}

/* An update hands out output only once a record of it is in the audit
 * file (the operation's totals so far, no "end"). Without one the output
 * is taken back and the operation ends: it cannot go on unrecorded. */
static CK_RV progress(struct cmk_session *s, bool encrypt, uint8_t *out,
                      CK_ULONG *out_len)
{
    struct cmk_crypt *c = op_of(s, encrypt);
    const char *op = fn_name(encrypt, CMK_CRYPT_UPDATE);
    CK_RV rec;

    if (out == NULL || *out_len == 0)
        return CKR_OK; /* nothing handed out */
    c->note.end = CMK_END_NONE;
    rec = cmk_record_mech(s, op, &c->note, CKR_OK);
    if (rec == CKR_OK)
        return CKR_OK;
    c->note.bytes_out -= (long long)*out_len;
    take_back(out, out_len);
    c->note.end = CMK_END_ERROR;
    (void)cmk_record_mech(s, op, &c->note, rec); /* best effort */
    cmk_crypt_reset(c);
    return rec;
}

CK_RV cmk_crypt_end(struct cmk_session *s, bool encrypt, enum cmk_end why)
{
    struct cmk_crypt *c = op_of(s, encrypt);
    CK_RV rec;

    if (!c->active)
        return CKR_OK;
    c->note.end = why;
    rec = cmk_record_mech(s, fn_name(encrypt, c->last), &c->note, CKR_OK);
    cmk_crypt_reset(c);
    return rec;
}

/* The DEK cache s's direct-path unwraps went to: the token's, or the
 * session's own (NULL when it has made none, and so holds no entry). */
static struct cmk_cache *unwrap_cache(const struct cmk_session *s)
{
    return s->token->cache_per_session ? s->cache : s->token->cache;
}

/* Init of RSA-OAEP on a key pair's key (kpcrypt.h); takes o's
 * reference. */
static CK_RV kp_init(struct cmk_session *s, struct cmk_crypt *c,
                     struct cmk_object *o, const CK_MECHANISM *m, bool encrypt,
                     struct cmk_note *note)
{
    struct cmk_crypt n = {0};
    CK_RV rv;

    cmk_note_key(note, o);
    rv = cmk_kpcrypt_init(o, m, encrypt, &n);
    cmk_object_unref(o);
    if (rv != CKR_OK)
        return cmk_record_mech(s, fn_name(encrypt, 0), note, rv);
    n.note = *note;
    n.active = true;
    *c = n;
    return CKR_OK;
}

/* The operation starts with op (its Init succeeded). */
static CK_RV start(struct cmk_crypt *c, const CK_MECHANISM *m,
                   const struct cmk_note *note, struct cmk_op *op)
{
    memset(c, 0, sizeof(*c));
    c->note = *note;
    c->active = true;
    c->last = 0; /* Init */
    c->envelope = cmk_keyuse_is_envelope(m);
    c->op = op;
    if (c->envelope && m->ulParameterLen != 0) {
        cmk_crypt_reset(c);
        return CKR_MECHANISM_PARAM_INVALID;
    }
    return CKR_OK;
}

CK_RV cmk_crypt_init(struct cmk_session *s, bool encrypt, const CK_MECHANISM *m,
                     CK_OBJECT_HANDLE key)
{
    struct cmk_keymemo *km = &s->memo[encrypt];
    struct cmk_crypt *c = op_of(s, encrypt);
    struct cmk_object *o = NULL;
    struct cmk_op *op = NULL;
    struct cmk_note note;
    unsigned gen;
    CK_RV rv;

    if (c->active)
        return CKR_OPERATION_ACTIVE;
    cmk_note_init(&note, m);
    note.bytes_in = note.bytes_out = 0;
    note.end = CMK_END_ERROR;
    /* The session's key of the last init, checked already (keymemo.h). */
    if (cmk_keymemo_op(km, key, m, encrypt, &note, &op))
        return start(c, m, &note, op);
    rv = cmk_object_get(s, key, CKR_KEY_HANDLE_INVALID, &o);
    if (rv != CKR_OK)
        return cmk_record_mech(s, fn_name(encrypt, 0), &note, rv);
    if (cmk_kpcrypt_claims(o, m))
        return kp_init(s, c, o, m, encrypt, &note);
    gen = __atomic_load_n(&o->gen, __ATOMIC_ACQUIRE); /* before the checks */
    rv = cmk_keyuse_op(o, m, encrypt ? CKA_ENCRYPT : CKA_DECRYPT, encrypt,
                       &note, &op);
    if (rv == CKR_OK) {
        cmk_keyuse_offer(o, unwrap_cache(s)); /* a cached unwrap's first
                                               * use */
        cmk_keymemo_keep(km, key, o, gen, m, &note, op);
        rv = start(c, m, &note, op);
    }
    cmk_object_unref(o);
    if (rv == CKR_OK)
        return rv;
    note.end = CMK_END_ERROR; /* a refused Init is a mechanism use too */
    return cmk_record_mech(s, fn_name(encrypt, 0), &note, rv);
}

CK_RV cmk_crypt_room(size_t need, const uint8_t *out, CK_ULONG *out_len,
                     bool *answered)
{
    CK_ULONG have = *out_len;

    *out_len = need;
    *answered = true;
    if (out == NULL)
        return CKR_OK;
    if (have < need)
        return CKR_BUFFER_TOO_SMALL;
    *answered = false;
    return CKR_OK;
}

static CK_RV size_out(size_t need, uint8_t *out, CK_ULONG *out_len,
                      size_t *have)
{
    *have = (size_t)*out_len;
    *out_len = need;
    if (out == NULL)
        return CKR_OK;
    if (*have < need)
        return CKR_BUFFER_TOO_SMALL;
    return CKR_OK;
}

static CK_RV run_op(CK_RV (*fn)(struct cmk_op *, const uint8_t *, size_t,
                                uint8_t *, size_t *),
                    struct cmk_op *op, const uint8_t *in, size_t in_len,
                    uint8_t *out, CK_ULONG *out_len)
{
    size_t n = (size_t)*out_len;
    CK_RV rv = fn(op, in, in_len, out, &n);

    *out_len = n;
    return rv;
}

CK_RV cmk_crypt_oneshot(struct cmk_session *s, bool encrypt, const uint8_t *in,
                        size_t in_len, uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_crypt *c = op_of(s, encrypt);
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CMK_CRYPT_ONESHOT;
    if (c->kp != NULL)
        rv = cmk_kpcrypt_oneshot(c, encrypt, in, in_len, out, out_len);
    else if (c->envelope)
        rv = cmk_envelope_op_oneshot(s, c, encrypt, in, in_len, out, out_len);
    else
        rv = run_op(cmk_op_oneshot, c->op, in, in_len, out, out_len);
    if (keeps_going(rv, out))
        return rv;
    tally(c, rv, in_len, out, *out_len);
    return finish(s, encrypt, CMK_CRYPT_ONESHOT, rv, out, out_len);
}

CK_RV cmk_crypt_update(struct cmk_session *s, bool encrypt, const uint8_t *in,
                       size_t in_len, uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_crypt *c = op_of(s, encrypt);
    size_t have;
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->multi = true;
    c->last = CMK_CRYPT_UPDATE;
    if (c->kp != NULL) /* RSA-OAEP is single-part */
        return finish(s, encrypt, CMK_CRYPT_UPDATE, CKR_MECHANISM_INVALID, NULL,
                      NULL);
    if (c->envelope) {
        /* Output comes at final; a length query consumes nothing. */
        rv = out == NULL ? CKR_OK
                         : cmk_envelope_op_gather(c, in, in_len, encrypt);
        if (rv == CKR_OK)
            rv = size_out(0, out, out_len, &have);
        if (rv == CKR_OK && out != NULL)
            c->note.bytes_in += (long long)in_len;
        if (rv == CKR_OK)
            return rv;
    } else {
        rv = run_op(cmk_op_update, c->op, in, in_len, out, out_len);
    }
    if (rv == CKR_BUFFER_TOO_SMALL)
        return rv;
    if (rv != CKR_OK)
        return finish(s, encrypt, CMK_CRYPT_UPDATE, rv, NULL, NULL);
    tally(c, rv, in_len, out, *out_len);
    return progress(s, encrypt, out, out_len);
}

CK_RV cmk_crypt_fail(struct cmk_session *s, bool encrypt,
                     enum cmk_crypt_call call, CK_RV rv)
{
    if (!op_of(s, encrypt)->active)
        return rv;
    return finish(s, encrypt, (int)call, rv, NULL, NULL);
}

static CK_RV op_final(struct cmk_op *op, const uint8_t *in, size_t in_len,
                      uint8_t *out, size_t *out_len)
{
    (void)in;
    (void)in_len;
    return cmk_op_final(op, out, out_len);
}

CK_RV cmk_crypt_final(struct cmk_session *s, bool encrypt, uint8_t *out,
                      CK_ULONG *out_len)
{
    struct cmk_crypt *c = op_of(s, encrypt);
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CMK_CRYPT_FINAL;
    if (c->kp != NULL)
        rv = CKR_MECHANISM_INVALID;
    else if (c->envelope)
        rv = cmk_envelope_op_oneshot(s, c, encrypt, NULL, 0, out, out_len);
    else
        rv = run_op(op_final, c->op, NULL, 0, out, out_len);
    if (keeps_going(rv, out))
        return rv;
    tally(c, rv, 0, out, *out_len);
    return finish(s, encrypt, CMK_CRYPT_FINAL, rv, out, out_len);
}
