/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: digest operations (digest.h).
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "core/crypt.h"
#include "core/digest.h"
#include "core/object.h"
#include "core/objops.h"
#include "mech/pkey.h"

#define MAX_DIGEST 64

void cmk_digest_reset(struct cmk_digestop *c)
{
    cmk_mdctx_free(c->mdc);
    memset(c, 0, sizeof(*c));
}

static const char *fn_name(int part)
{
    static const char *const names[5] = {"C_DigestInit", "C_Digest",
                                         "C_DigestFinal", "C_DigestUpdate",
                                         "C_DigestKey"};

    return names[part];
}

#define CALL_KEY 4 /* C_DigestKey, after enum cmk_crypt_call's values */

static CK_RV finish(struct cmk_session *s, int part, CK_RV rv, uint8_t *out,
                    CK_ULONG *out_len)
{
    struct cmk_digestop *c = &s->digest;
    CK_RV rec;

    c->note.end = rv == CKR_OK ? CMK_END_FINAL : CMK_END_ERROR;
    rec = cmk_record_mech(s, fn_name(part), &c->note, rv);
    if (rec != rv && rv == CKR_OK && out != NULL && out_len != NULL) {
        sodium_memzero(out, (size_t)*out_len);
        *out_len = 0;
    }
    cmk_digest_reset(c);
    return rec;
}

CK_RV cmk_digest_end(struct cmk_session *s, enum cmk_end why)
{
    struct cmk_digestop *c = &s->digest;
    CK_RV rec;

    if (!c->active)
        return CKR_OK;
    c->note.end = why;
    rec = cmk_record_mech(s, fn_name(c->last), &c->note, CKR_OK);
    cmk_digest_reset(c);
    return rec;
}

CK_RV cmk_digest_fail(struct cmk_session *s, int call, CK_RV rv)
{
    if (!s->digest.active)
        return rv;
    return finish(s, call, rv, NULL, NULL);
}

static int md_of(CK_MECHANISM_TYPE m)
{
    switch (m) {
    case CKM_SHA_1:
        return CMK_MD_SHA1;
    case CKM_SHA256:
        return CMK_MD_SHA256;
    case CKM_SHA384:
        return CMK_MD_SHA384;
    case CKM_SHA512:
        return CMK_MD_SHA512;
    default:
        return 0;
    }
}

CK_RV cmk_digest_init(struct cmk_session *s, const CK_MECHANISM *m)
{
    struct cmk_digestop *c = &s->digest;
    struct cmk_digestop n = {0};
    CK_RV rv = CKR_OK;

    if (c->active)
        return CKR_OPERATION_ACTIVE;
    cmk_note_init(&n.note, m);
    n.md = md_of(m->mechanism);
    if (n.md == 0)
        rv = CKR_MECHANISM_INVALID;
    else if (m->pParameter != NULL || m->ulParameterLen != 0)
        rv = CKR_MECHANISM_PARAM_INVALID;
    else
        rv = cmk_mdctx_new(n.md, &n.mdc);
    if (rv != CKR_OK) {
        n.note.end = CMK_END_ERROR; /* a refused Init is recorded too */
        cmk_mdctx_free(n.mdc);
        return cmk_record_mech(s, fn_name(0), &n.note, rv);
    }
    n.active = true;
    n.note.bytes_in = 0;
    n.note.bytes_out = 0;
    *c = n;
    return CKR_OK;
}

static CK_RV put(struct cmk_session *s, int part, uint8_t *out,
                 CK_ULONG *out_len)
{
    struct cmk_digestop *c = &s->digest;
    size_t n = cmk_md_len(c->md);
    CK_RV rv;

    rv = cmk_mdctx_final(c->mdc, out);
    if (rv == CKR_OK) {
        *out_len = n;
        c->note.bytes_out = (long long)n;
    }
    return finish(s, part, rv, out, out_len);
}

CK_RV cmk_digest_oneshot(struct cmk_session *s, const uint8_t *in,
                         size_t in_len, uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_digestop *c = &s->digest;
    bool answered;
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CMK_CRYPT_ONESHOT;
    rv = cmk_crypt_room(cmk_md_len(c->md), out, out_len, &answered);
    if (answered)
        return rv;
    if (c->multi) /* C_DigestUpdate began a multi-part operation */
        return finish(s, CMK_CRYPT_ONESHOT, CKR_OPERATION_ACTIVE, NULL, NULL);
    c->note.bytes_in = (long long)in_len;
    rv = cmk_mdctx_update(c->mdc, in, in_len);
    if (rv != CKR_OK)
        return finish(s, CMK_CRYPT_ONESHOT, rv, NULL, NULL);
    return put(s, CMK_CRYPT_ONESHOT, out, out_len);
}

CK_RV cmk_digest_update(struct cmk_session *s, const uint8_t *in, size_t in_len)
{
    struct cmk_digestop *c = &s->digest;
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CMK_CRYPT_UPDATE;
    c->multi = true;
    rv = cmk_mdctx_update(c->mdc, in, in_len);
    if (rv != CKR_OK)
        return finish(s, CMK_CRYPT_UPDATE, rv, NULL, NULL);
    c->note.bytes_in += (long long)in_len;
    return CKR_OK;
}

CK_RV cmk_digest_key(struct cmk_session *s, CK_OBJECT_HANDLE key)
{
    struct cmk_digestop *c = &s->digest;
    struct cmk_object *o = NULL;
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CALL_KEY;
    c->multi = true;
    rv = cmk_object_get(s, key, CKR_KEY_HANDLE_INVALID, &o);
    if (rv == CKR_OK) {
        cmk_note_key(&c->note, o);
        rv = CKR_KEY_INDIGESTIBLE;
    }
    cmk_object_unref(o);
    return finish(s, CALL_KEY, rv, NULL, NULL);
}

CK_RV cmk_digest_final(struct cmk_session *s, uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_digestop *c = &s->digest;
    bool answered;
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CMK_CRYPT_FINAL;
    rv = cmk_crypt_room(cmk_md_len(c->md), out, out_len, &answered);
    if (answered)
        return rv;
    return put(s, CMK_CRYPT_FINAL, out, out_len);
}
