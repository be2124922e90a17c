/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: sign and verify operations on a key pair's keys (sign.h). An
 * operation ends on any result but CKR_BUFFER_TOO_SMALL and a length
 * query (PKCS#11 3.0 section 5.2), with one audit record that names the
 * KMS request id of its signature.
 */
#include <config.h>

#include <openssl/obj_mac.h>
#include <sodium.h>
#include <string.h>

#include "core/crypt.h"
#include "core/keypair.h"
#include "core/kpobj.h"
#include "core/object.h"
#include "core/objops.h"
#include "core/policy.h"
#include "core/sign.h"
#include "core/token.h"
#include "mech/mech.h"
#include "mech/pkey.h"

#define MAX_DIGEST 64

void cmk_sign_reset(struct cmk_sigop *c)
{
    cmk_mdctx_free(c->mdc);
    memset(c, 0, sizeof(*c));
}

static struct cmk_sigop *op_of(struct cmk_session *s, bool verify)
{
    return verify ? &s->verify : &s->sign;
}

static const char *fn_name(bool verify, int part)
{
    static const char *const names[2][4] = {
        {"C_SignInit", "C_Sign", "C_SignFinal", "C_SignUpdate"},
        {"C_VerifyInit", "C_Verify", "C_VerifyFinal", "C_VerifyUpdate"},
    };

    return names[verify][part];
}

static CK_RV finish(struct cmk_session *s, bool verify, int part, CK_RV rv,
                    uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_sigop *c = op_of(s, verify);
    CK_RV rec;

    c->note.end = rv == CKR_OK ? CMK_END_FINAL : CMK_END_ERROR;
    rec = cmk_record_mech(s, fn_name(verify, part), &c->note, rv);
    if (rec != rv && rv == CKR_OK && out != NULL && out_len != NULL) {
        sodium_memzero(out, (size_t)*out_len);
        *out_len = 0;
    }
    cmk_sign_reset(c);
    return rec;
}

CK_RV cmk_sign_end(struct cmk_session *s, bool verify, enum cmk_end why)
{
    struct cmk_sigop *c = op_of(s, verify);
    CK_RV rec;

    if (!c->active)
        return CKR_OK;
    c->note.end = why;
    rec = cmk_record_mech(s, fn_name(verify, c->last), &c->note, CKR_OK);
    cmk_sign_reset(c);
    return rec;
}

CK_RV cmk_sign_fail(struct cmk_session *s, bool verify, int call, CK_RV rv)
{
    if (!op_of(s, verify)->active)
        return rv;
    return finish(s, verify, call, rv, NULL, NULL);
}

/* ---- Init ---- */

struct mech_desc {
    CK_MECHANISM_TYPE m;
    CK_KEY_TYPE kt;
    int scheme;
    int md; /* 0: the input is the digest (or a DigestInfo) */
};

static const struct mech_desc mechs[] = {
    {CKM_RSA_PKCS, CKK_RSA, CMK_PK_RSA_PKCS1, 0},
    {CKM_SHA256_RSA_PKCS, CKK_RSA, CMK_PK_RSA_PKCS1, CMK_MD_SHA256},
    {CKM_SHA384_RSA_PKCS, CKK_RSA, CMK_PK_RSA_PKCS1, CMK_MD_SHA384},
    {CKM_SHA512_RSA_PKCS, CKK_RSA, CMK_PK_RSA_PKCS1, CMK_MD_SHA512},
    {CKM_RSA_PKCS_PSS, CKK_RSA, CMK_PK_RSA_PSS, 0},
    {CKM_SHA256_RSA_PKCS_PSS, CKK_RSA, CMK_PK_RSA_PSS, CMK_MD_SHA256},
    {CKM_SHA384_RSA_PKCS_PSS, CKK_RSA, CMK_PK_RSA_PSS, CMK_MD_SHA384},
    {CKM_SHA512_RSA_PKCS_PSS, CKK_RSA, CMK_PK_RSA_PSS, CMK_MD_SHA512},
    {CKM_ECDSA, CKK_EC, CMK_PK_ECDSA, 0},
    {CKM_ECDSA_SHA256, CKK_EC, CMK_PK_ECDSA, CMK_MD_SHA256},
    {CKM_ECDSA_SHA384, CKK_EC, CMK_PK_ECDSA, CMK_MD_SHA384},
    {CKM_ECDSA_SHA512, CKK_EC, CMK_PK_ECDSA, CMK_MD_SHA512},
};

static const struct mech_desc *find_mech(CK_MECHANISM_TYPE m)
{
    size_t i;

    for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
        if (mechs[i].m == m)
            return &mechs[i];
    }
    return NULL;
}

static int md_of_ckm(CK_MECHANISM_TYPE h)
{
    return h == CKM_SHA256   ? CMK_MD_SHA256
           : h == CKM_SHA384 ? CMK_MD_SHA384
           : h == CKM_SHA512 ? CMK_MD_SHA512
                             : 0;
}

static CK_ULONG mgf_of(int md)
{
    return md == CMK_MD_SHA256   ? CKG_MGF1_SHA256
           : md == CMK_MD_SHA384 ? CKG_MGF1_SHA384
                                 : CKG_MGF1_SHA512;
}

/* PSS parameters: SHA-2 (the mechanism's own, when it names one), MGF1
 * of the same hash, salt of the hash's length (what a KMS signs). */
static CK_RV pss_params(const CK_MECHANISM *m, const struct mech_desc *d,
                        int *md)
{
    CK_RSA_PKCS_PSS_PARAMS p;

    if (m->pParameter == NULL || m->ulParameterLen != sizeof(p))
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(&p, m->pParameter, sizeof(p));
    *md = md_of_ckm(p.hashAlg);
    if (*md == 0 || (d->md != 0 && d->md != *md) || p.mgf != mgf_of(*md) ||
        p.sLen != cmk_md_len(*md))
        return CKR_MECHANISM_PARAM_INVALID;
    return CKR_OK;
}

/* Checks under the token lock: the key's class, type and usage. */
static CK_RV check_key_locked(const struct cmk_object *o,
                              const struct mech_desc *d, bool verify)
{
    const struct cmk_attrs *a = &o->attrs;
    CK_OBJECT_CLASS cls = cmk_attrs_ulong(a, CKA_CLASS, CKO_DATA);

    if (o->kp == NULL || (cls != CKO_PRIVATE_KEY && cls != CKO_PUBLIC_KEY))
        return CKR_KEY_TYPE_INCONSISTENT;
    if (cmk_attrs_ulong(a, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION) != d->kt)
        return CKR_KEY_TYPE_INCONSISTENT;
    return cmk_policy_allows(a, verify ? CKA_VERIFY : CKA_SIGN);
}

/* What the key's KMS signs with (the same for C_VerifyInit: a key pair
 * offers one set of mechanisms): a mechanism of a scheme or a hash it
 * does not take is CKR_MECHANISM_INVALID, as one not in the key's
 * CKA_ALLOWED_MECHANISMS (PKCS#11 3.0 section 5.2: the key's type is
 * right, the mechanism is not one it can be used with); PSS parameters
 * of a hash it does not take CKR_MECHANISM_PARAM_INVALID. */
static CK_RV kms_signs(const struct cmk_pubkey *p, const CK_MECHANISM *m,
                       const struct mech_desc *d, int *md)
{
    CK_RV rv = CKR_OK;

    if (!cmk_kpobj_signs(p, m->mechanism))
        return CKR_MECHANISM_INVALID;
    *md = d->md;
    if (d->scheme == CMK_PK_RSA_PSS)
        rv = pss_params(m, d, md);
    else if (m->pParameter != NULL || m->ulParameterLen != 0)
        rv = CKR_MECHANISM_PARAM_INVALID;
    if (rv == CKR_OK && d->scheme == CMK_PK_RSA_PSS &&
        (p->hashes & (1u << *md)) == 0)
        rv = CKR_MECHANISM_PARAM_INVALID;
    return rv;
}

static CK_RV setup(struct cmk_sigop *c, struct cmk_object *o,
                   const CK_MECHANISM *m, bool verify)
{
    const struct mech_desc *d = find_mech(m->mechanism);
    CK_RV rv;

    if (d == NULL)
        return CKR_MECHANISM_INVALID;
    cmk_mutex_lock(&o->token->lock);
    rv = check_key_locked(o, d, verify);
    cmk_mutex_unlock(&o->token->lock);
    if (rv != CKR_OK)
        return rv;
    rv = cmk_keypair_usable(o->kp);
    if (rv == CKR_OK)
        rv = kms_signs(&o->kp->pub, m, d, &c->md);
    if (rv != CKR_OK)
        return rv;
    c->kp = o->kp;
    c->scheme = d->scheme;
    c->hashes = d->md != 0;
    c->sig_len = d->kt == CKK_RSA ? o->kp->pub.bits / 8
                                  : 2 * cmk_ecdsa_half(o->kp->pub.bits);
    return c->hashes ? cmk_mdctx_new(c->md, &c->mdc) : CKR_OK;
}

CK_RV cmk_sign_init(struct cmk_session *s, bool verify, const CK_MECHANISM *m,
                    CK_OBJECT_HANDLE key)
{
    struct cmk_sigop *c = op_of(s, verify);
    struct cmk_object *o = NULL;
    struct cmk_sigop n = {0};
    CK_RV rv;

    if (c->active)
        return CKR_OPERATION_ACTIVE;
    cmk_note_init(&n.note, m);
    n.note.end = CMK_END_ERROR;
    rv = cmk_object_get(s, key, CKR_KEY_HANDLE_INVALID, &o);
    if (rv == CKR_OK) {
        cmk_note_key(&n.note, o);
        rv = setup(&n, o, m, verify);
    }
    cmk_object_unref(o);
    if (rv != CKR_OK) {
        struct cmk_note note = n.note; /* a refused Init is recorded too */

        cmk_sign_reset(&n);
        return cmk_record_mech(s, fn_name(verify, 0), &note, rv);
    }
    n.active = true;
    n.note.bytes_in = 0;
    n.note.bytes_out = 0;
    *c = n;
    return CKR_OK;
}

/* ---- The digest a signature is over ---- */

/* What the key's KMS signs for an EC key: a digest of the length given
 * when it takes a hash of that length, else its curve's hash (the
 * digest cut or padded, keypair.h: the same signature). */
static int ec_hash(const struct cmk_pubkey *p, size_t len)
{
    static const int order[] = {CMK_MD_SHA256, CMK_MD_SHA384, CMK_MD_SHA512};
    int curve = p->curve_nid == NID_secp521r1   ? CMK_MD_SHA512
                : p->curve_nid == NID_secp384r1 ? CMK_MD_SHA384
                                                : CMK_MD_SHA256;
    size_t i;

    for (i = 0; i < 3; i++) {
        if ((p->hashes & (1u << order[i])) && cmk_md_len(order[i]) == len)
            return order[i];
    }
    if (p->hashes & (1u << curve))
        return curve;
    for (i = 0; i < 3; i++) {
        if (p->hashes & (1u << order[i]))
            return order[i];
    }
    return curve;
}

/* The digest and hash to sign or verify from the single-part input (or
 * the hash-and-sign digest). */
static CK_RV digest_of(const struct cmk_sigop *c, const uint8_t *in, size_t len,
                       uint8_t d[MAX_DIGEST], int *md)
{
    const uint8_t *p = in;
    CK_RV rv = CKR_OK;

    *md = c->md;
    if (c->scheme == CMK_PK_RSA_PKCS1 && c->md == 0) {
        rv = cmk_digestinfo_parse(in, len, md, &p);
        if (rv == CKR_OK && (c->kp->pub.hashes & (1u << *md)) == 0)
            rv = CKR_DATA_INVALID; /* a hash the KMS does not sign with */
    } else if (c->scheme == CMK_PK_RSA_PSS && len != cmk_md_len(c->md))
        rv = CKR_DATA_LEN_RANGE;
    else if (c->scheme == CMK_PK_ECDSA && c->md == 0 && len != 20 &&
             len != 28 && len != 32 && len != 48 && len != 64)
        rv = CKR_DATA_LEN_RANGE; /* not the length of any SHA digest */
    if (rv != CKR_OK)
        return rv;
    if (c->scheme == CMK_PK_ECDSA) {
        *md = ec_hash(&c->kp->pub, len);
        cmk_ecdsa_adjust_digest(p, len, cmk_md_len(*md), d);
    } else {
        memcpy(d, p, cmk_md_len(*md));
    }
    return CKR_OK;
}

/* ---- Sign ---- */

/* Through the KMS, then checked with the kept public key. */
static CK_RV kms_sign(struct cmk_session *s, struct cmk_sigop *c,
                      const uint8_t *d, int md, uint8_t *out)
{
    struct cmk_buf sig = {0};
    struct cmk_req rq;
    CK_RV rv;

    rv = cmk_keypair_sign(c->kp, (enum cmk_sig_scheme)c->scheme,
                          (enum cmk_hash)md, d, cmk_md_len(md), &rq, &sig);
    snprintf(c->note.request_id, sizeof(c->note.request_id), "%s",
             rq.request_id);
    if (rv == CKR_OK && c->scheme == CMK_PK_ECDSA &&
        cmk_ecdsa_der_to_raw(sig.p, sig.len, c->sig_len / 2, out) != CMK_OK)
        rv = CKR_DEVICE_ERROR; /* not an ECDSA signature of this curve */
    else if (rv == CKR_OK && c->scheme != CMK_PK_ECDSA) {
        if (sig.len == c->sig_len)
            memcpy(out, sig.p, sig.len);
        else
            rv = CKR_DEVICE_ERROR;
    }
    cmk_buf_free(&sig);
    if (rv == CKR_OK &&
        cmk_pkey_verify(c->kp->pk, c->scheme, md, d, cmk_md_len(md), out,
                        c->sig_len) != CKR_OK)
        rv = cmk_keypair_refuse(c->kp, "C_Sign", (long)s->handle);
    if (rv != CKR_OK)
        sodium_memzero(out, c->sig_len);
    return rv;
}

/* The length convention: CKR_OK to go on signing, or the answer. */
static CK_RV sign_digest(struct cmk_session *s, struct cmk_sigop *c,
                         const uint8_t *d, int md, int part, uint8_t *out,
                         CK_ULONG *out_len)
{
    CK_RV rv = kms_sign(s, c, d, md, out);

    if (rv == CKR_OK) {
        *out_len = c->sig_len;
        c->note.bytes_out = (long long)c->sig_len;
    }
    return finish(s, false, part, rv, out, out_len);
}

CK_RV cmk_sign_oneshot(struct cmk_session *s, const uint8_t *in, size_t in_len,
                       uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_sigop *c = &s->sign;
    uint8_t d[MAX_DIGEST], h[MAX_DIGEST];
    bool answered;
    int md = 0;
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CMK_CRYPT_ONESHOT;
    rv = cmk_crypt_room(c->sig_len, out, out_len, &answered);
    if (answered)
        return rv;
    c->note.bytes_in = (long long)in_len;
    if (c->multi)
        rv = CKR_OPERATION_ACTIVE; /* C_SignUpdate began a multi-part */
    if (rv == CKR_OK && c->hashes &&
        (cmk_mdctx_update(c->mdc, in, in_len) != CKR_OK ||
         cmk_mdctx_final(c->mdc, h) != CKR_OK))
        rv = CKR_GENERAL_ERROR;
    if (rv == CKR_OK)
        rv = c->hashes ? digest_of(c, h, cmk_md_len(c->md), d, &md)
                       : digest_of(c, in, in_len, d, &md);
    if (rv != CKR_OK)
        return finish(s, false, CMK_CRYPT_ONESHOT, rv, NULL, NULL);
    return sign_digest(s, c, d, md, CMK_CRYPT_ONESHOT, out, out_len);
}

CK_RV cmk_sign_update(struct cmk_session *s, bool verify, const uint8_t *in,
                      size_t in_len)
{
    struct cmk_sigop *c = op_of(s, verify);
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CMK_CRYPT_UPDATE;
    c->multi = true;
    /* Single-part mechanisms (RSA_PKCS, PSS, ECDSA on a digest). */
    rv = c->hashes ? cmk_mdctx_update(c->mdc, in, in_len)
                   : CKR_MECHANISM_INVALID;
    if (rv != CKR_OK)
        return finish(s, verify, CMK_CRYPT_UPDATE, rv, NULL, NULL);
    c->note.bytes_in += (long long)in_len;
    return CKR_OK;
}

CK_RV cmk_sign_final(struct cmk_session *s, uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_sigop *c = &s->sign;
    uint8_t d[MAX_DIGEST], h[MAX_DIGEST];
    bool answered;
    int md = 0;
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CMK_CRYPT_FINAL;
    rv = cmk_crypt_room(c->sig_len, out, out_len, &answered);
    if (answered)
        return rv;
    rv = c->hashes ? cmk_mdctx_final(c->mdc, h) : CKR_MECHANISM_INVALID;
    if (rv == CKR_OK)
        rv = digest_of(c, h, cmk_md_len(c->md), d, &md);
    if (rv != CKR_OK)
        return finish(s, false, CMK_CRYPT_FINAL, rv, NULL, NULL);
    return sign_digest(s, c, d, md, CMK_CRYPT_FINAL, out, out_len);
}

/* ---- Verify (here, with the kept public key) ---- */

static CK_RV verify_digest(struct cmk_sigop *c, const uint8_t *d, int md,
                           const uint8_t *sig, size_t sig_len)
{
    CK_RV rv = cmk_keypair_usable(c->kp);

    if (rv != CKR_OK)
        return rv;
    if (sig_len != c->sig_len)
        return CKR_SIGNATURE_LEN_RANGE;
    return cmk_pkey_verify(c->kp->pk, c->scheme, md, d, cmk_md_len(md), sig,
                           sig_len);
}

CK_RV cmk_verify_oneshot(struct cmk_session *s, const uint8_t *in,
                         size_t in_len, const uint8_t *sig, size_t sig_len)
{
    struct cmk_sigop *c = &s->verify;
    uint8_t d[MAX_DIGEST], h[MAX_DIGEST];
    int md = 0;
    CK_RV rv = CKR_OK;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CMK_CRYPT_ONESHOT;
    c->note.bytes_in = (long long)in_len;
    if (c->multi)
        rv = CKR_OPERATION_ACTIVE;
    if (rv == CKR_OK && c->hashes &&
        (cmk_mdctx_update(c->mdc, in, in_len) != CKR_OK ||
         cmk_mdctx_final(c->mdc, h) != CKR_OK))
        rv = CKR_GENERAL_ERROR;
    if (rv == CKR_OK)
        rv = c->hashes ? digest_of(c, h, cmk_md_len(c->md), d, &md)
                       : digest_of(c, in, in_len, d, &md);
    if (rv == CKR_OK)
        rv = verify_digest(c, d, md, sig, sig_len);
    return finish(s, true, CMK_CRYPT_ONESHOT, rv, NULL, NULL);
}

CK_RV cmk_verify_final(struct cmk_session *s, const uint8_t *sig,
                       size_t sig_len)
{
    struct cmk_sigop *c = &s->verify;
    uint8_t d[MAX_DIGEST], h[MAX_DIGEST];
    int md = 0;
    CK_RV rv;

    if (!c->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    c->last = CMK_CRYPT_FINAL;
    rv = c->hashes ? cmk_mdctx_final(c->mdc, h) : CKR_MECHANISM_INVALID;
    if (rv == CKR_OK)
        rv = digest_of(c, h, cmk_md_len(c->md), d, &md);
    if (rv == CKR_OK)
        rv = verify_digest(c, d, md, sig, sig_len);
    return finish(s, true, CMK_CRYPT_FINAL, rv, NULL, NULL);
}
