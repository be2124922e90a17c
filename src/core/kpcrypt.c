/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: RSA-OAEP on a key pair's keys (kpcrypt.h).
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "core/keypair.h"
#include "core/kpcrypt.h"
#include "core/kpobj.h"
#include "core/policy.h"
#include "core/token.h"
#include "mech/mech.h"
#include "mech/pkey.h"

bool cmk_kpcrypt_claims(const struct cmk_object *o, const CK_MECHANISM *m)
{
    return o->kp != NULL || cmk_kpobj_is_mech(m->mechanism);
}

static CK_RV oaep_params(const CK_MECHANISM *m, int *md)
{
    CK_RSA_PKCS_OAEP_PARAMS p;

    if (m->pParameter == NULL || m->ulParameterLen != sizeof(p))
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(&p, m->pParameter, sizeof(p));
    if (p.hashAlg == CKM_SHA_1 && p.mgf == CKG_MGF1_SHA1)
        *md = CMK_MD_SHA1;
    else if (p.hashAlg == CKM_SHA256 && p.mgf == CKG_MGF1_SHA256)
        *md = CMK_MD_SHA256;
    else
        return CKR_MECHANISM_PARAM_INVALID;
    if ((p.source != CKZ_DATA_SPECIFIED && p.source != 0) ||
        p.ulSourceDataLen != 0)
        return CKR_MECHANISM_PARAM_INVALID; /* a label: no KMS takes one */
    return CKR_OK;
}

/* The checks every OAEP use makes; *md its hash. */
static CK_RV check(struct cmk_object *o, const CK_MECHANISM *m,
                   CK_ATTRIBUTE_TYPE usage, int *md)
{
    CK_MECHANISM_INFO info;
    CK_RV rv;

    if (m->mechanism != CKM_RSA_PKCS_OAEP)
        return cmk_mech_info(m->mechanism, &info) == CKR_OK
                   ? CKR_KEY_TYPE_INCONSISTENT
                   : CKR_MECHANISM_INVALID;
    if (o->kp == NULL)
        return CKR_KEY_TYPE_INCONSISTENT; /* a secret key */
    cmk_mutex_lock(&o->token->lock);
    if (cmk_attrs_ulong(&o->attrs, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION) !=
        CKK_RSA)
        rv = CKR_KEY_TYPE_INCONSISTENT;
    else
        rv = cmk_policy_allows(&o->attrs, usage);
    cmk_mutex_unlock(&o->token->lock);
    if (rv == CKR_OK)
        rv = oaep_params(m, md);
    if (rv == CKR_OK)
        rv = cmk_keypair_usable(o->kp);
    /* an OAEP hash the KMS does not decrypt with (gcp: one per version;
     * vault: SHA-256 only); C_Encrypt too, so that what it makes can be
     * decrypted */
    if (rv == CKR_OK && (o->kp->pub.oaep_hashes & (1u << *md)) == 0)
        rv = CKR_MECHANISM_PARAM_INVALID;
    return rv;
}

CK_RV cmk_kpcrypt_init(struct cmk_object *o, const CK_MECHANISM *m,
                       bool encrypt, struct cmk_crypt *c)
{
    int md = 0;
    CK_RV rv = check(o, m, encrypt ? CKA_ENCRYPT : CKA_DECRYPT, &md);

    if (rv != CKR_OK)
        return rv;
    c->kp = o->kp;
    c->kp_md = md;
    return CKR_OK;
}

static size_t modulus_len(const struct cmk_keypair *kp)
{
    return kp->pub.bits / 8;
}

static CK_RV put_out(const uint8_t *p, size_t len, uint8_t *out,
                     CK_ULONG *out_len)
{
    CK_ULONG have = *out_len;

    *out_len = len;
    if (have < len)
        return CKR_BUFFER_TOO_SMALL;
    if (len != 0)
        memcpy(out, p, len);
    return CKR_OK;
}

static CK_RV encrypt(struct cmk_crypt *c, const uint8_t *in, size_t in_len,
                     uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_buf ct = {0};
    CK_RV rv;

    if (out == NULL || *out_len < modulus_len(c->kp)) {
        rv = out == NULL ? CKR_OK : CKR_BUFFER_TOO_SMALL;
        *out_len = modulus_len(c->kp);
        return rv;
    }
    rv = cmk_keypair_usable(c->kp);
    if (rv == CKR_OK)
        rv = cmk_pkey_oaep_encrypt(c->kp->pk, c->kp_md, in, in_len, &ct);
    if (rv == CKR_OK)
        rv = put_out(ct.p, ct.len, out, out_len);
    cmk_buf_free(&ct);
    return rv;
}

static CK_RV decrypt(struct cmk_crypt *c, const uint8_t *in, size_t in_len,
                     uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_req rq;
    CK_RV rv;

    if (out == NULL) { /* no KMS call for a length */
        *out_len = c->env.done ? c->env.out.len : modulus_len(c->kp);
        return CKR_OK;
    }
    if (!c->env.done) {
        if (in_len != modulus_len(c->kp))
            return CKR_ENCRYPTED_DATA_LEN_RANGE;
        rv = cmk_keypair_decrypt(c->kp, (enum cmk_hash)c->kp_md, in, in_len,
                                 CMK_CALL_DECRYPT, &rq, &c->env.out);
        snprintf(c->note.request_id, sizeof(c->note.request_id), "%s",
                 rq.request_id);
        if (rv != CKR_OK)
            return rv;
        c->env.done = true;
    }
    return put_out(c->env.out.p, c->env.out.len, out, out_len);
}

CK_RV cmk_kpcrypt_oneshot(struct cmk_crypt *c, bool encrypt_op,
                          const uint8_t *in, size_t in_len, uint8_t *out,
                          CK_ULONG *out_len)
{
    return encrypt_op ? encrypt(c, in, in_len, out, out_len)
                      : decrypt(c, in, in_len, out, out_len);
}

CK_RV cmk_kpcrypt_unwrap(struct cmk_object *uk, const CK_MECHANISM *m,
                         const uint8_t *in, size_t in_len,
                         struct cmk_secret *val, struct cmk_note *note)
{
    struct cmk_req rq;
    int md = 0;
    CK_RV rv;

    cmk_note_key(note, uk);
    rv = check(uk, m, CKA_UNWRAP, &md);
    if (rv == CKR_KEY_TYPE_INCONSISTENT)
        return CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
    if (rv != CKR_OK)
        return rv;
    if (in_len != modulus_len(uk->kp))
        return CKR_WRAPPED_KEY_LEN_RANGE;
    rv = cmk_keypair_decrypt(uk->kp, (enum cmk_hash)md, in, in_len,
                             CMK_CALL_UNWRAP, &rq, val);
    snprintf(note->request_id, sizeof(note->request_id), "%s", rq.request_id);
    return rv;
}
