/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the direct path for data. Plaintext is limited to
 * CMK_ENVELOPE_MAX_PLAINTEXT bytes (the KMS Encrypt limit); gathered input
 * and results live in secure memory.
 */
#include <config.h>

#include <string.h>

#include "cmk-pkcs11.h"
#include "core/envelope_op.h"
#include "core/token.h"
#include "mech/envelope.h"

#define MAX_BLOB (12 + CMK_ENVELOPE_MAX_KEY_ID + CMK_ENVELOPE_MAX_CT)

CK_RV cmk_envelope_op_gather(struct cmk_crypt *c, const uint8_t *in,
                             size_t in_len, bool encrypt)
{
    size_t cap = encrypt ? CMK_ENVELOPE_MAX_PLAINTEXT : MAX_BLOB;
    struct cmk_env_op *e = &c->env;

    if (in_len > cap - e->in_len)
        return encrypt ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (e->in.p == NULL && cmk_secret_alloc(&e->in, cap) != CMK_OK)
        return CKR_HOST_MEMORY;
    if (in_len)
        memcpy(e->in.p + e->in_len, in, in_len);
    e->in_len += in_len;
    return CKR_OK;
}

static CK_RV seal(struct cmk_token *t, struct cmk_env_op *e)
{
    struct cmk_req rq = {0};
    struct cmk_buf blob = {0};
    cmk_err err;

    err = cmk_cmk_seal_for(t->cmk, &rq, CMK_PURPOSE_DATA, e->in.p, e->in_len,
                           &blob);
    if (err == CMK_OK)
        err = cmk_secret_dup(&e->out, blob.p, blob.len);
    cmk_buf_free(&blob);
    return cmk_err_rv_in(err, CMK_CALL_ENCRYPT);
}

static CK_RV unseal(struct cmk_token *t, struct cmk_env_op *e)
{
    struct cmk_req rq = {0};
    cmk_err err;

    /* A malformed blob, one of no CMK version of ours, or one the KMS
     * refuses: CKR_ENCRYPTED_DATA_INVALID. The CMK gone from the KMS is
     * not the data's fault: CKR_KEY_HANDLE_INVALID (util/err.c). */
    err = cmk_cmk_unseal_for(t->cmk, &rq, CMK_PURPOSE_DATA, e->in.p, e->in_len,
                             &e->out);
    return cmk_err_rv_in(err, CMK_CALL_DECRYPT);
}

CK_RV cmk_envelope_op_oneshot(struct cmk_session *s, struct cmk_crypt *c,
                              bool encrypt, const uint8_t *in, size_t in_len,
                              uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_env_op *e = &c->env;
    size_t have = (size_t)*out_len;
    CK_RV rv;

    if (!e->done) {
        rv = cmk_envelope_op_gather(c, in, in_len, encrypt);
        if (rv != CKR_OK)
            return rv;
        if (!encrypt && e->in_len == 0)
            return CKR_ENCRYPTED_DATA_LEN_RANGE;
        rv = encrypt ? seal(s->token, e) : unseal(s->token, e);
        if (rv != CKR_OK)
            return rv;
        e->done = true;
    }
    *out_len = e->out.len;
    if (out == NULL)
        return CKR_OK;
    if (have < e->out.len)
        return CKR_BUFFER_TOO_SMALL;
    memcpy(out, e->out.p, e->out.len);
    return CKR_OK;
}
