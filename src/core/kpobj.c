/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: a key pair's objects (kpobj.h): their attribute lists, built once
 * from the fetched public key and certificate, and how they answer.
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/keypair.h"
#include "core/kpobj.h"
#include "core/object.h"
#include "core/token.h"

static const CK_MECHANISM_TYPE rsa_sign[] = {CKM_RSA_PKCS,
                                             CKM_SHA256_RSA_PKCS,
                                             CKM_SHA384_RSA_PKCS,
                                             CKM_SHA512_RSA_PKCS,
                                             CKM_RSA_PKCS_PSS,
                                             CKM_SHA256_RSA_PKCS_PSS,
                                             CKM_SHA384_RSA_PKCS_PSS,
                                             CKM_SHA512_RSA_PKCS_PSS};
static const CK_MECHANISM_TYPE ec_sign[] = {CKM_ECDSA, CKM_ECDSA_SHA256,
                                            CKM_ECDSA_SHA384, CKM_ECDSA_SHA512};

bool cmk_kpobj_is_mech(CK_MECHANISM_TYPE m)
{
    size_t i;

    for (i = 0; i < sizeof(rsa_sign) / sizeof(rsa_sign[0]); i++) {
        if (rsa_sign[i] == m)
            return true;
    }
    for (i = 0; i < sizeof(ec_sign) / sizeof(ec_sign[0]); i++) {
        if (ec_sign[i] == m)
            return true;
    }
    return m == CKM_RSA_PKCS_OAEP;
}

bool cmk_kpobj_signs(const struct cmk_pubkey *p, CK_MECHANISM_TYPE m)
{
    static const struct {
        CK_MECHANISM_TYPE m;
        int scheme;
        int hash; /* 0: any */
    } t[] = {
        {CKM_RSA_PKCS, CMK_SIG_RSA_PKCS1, 0},
        {CKM_SHA256_RSA_PKCS, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA256},
        {CKM_SHA384_RSA_PKCS, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA384},
        {CKM_SHA512_RSA_PKCS, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA512},
        {CKM_RSA_PKCS_PSS, CMK_SIG_RSA_PSS, 0},
        {CKM_SHA256_RSA_PKCS_PSS, CMK_SIG_RSA_PSS, CMK_HASH_SHA256},
        {CKM_SHA384_RSA_PKCS_PSS, CMK_SIG_RSA_PSS, CMK_HASH_SHA384},
        {CKM_SHA512_RSA_PKCS_PSS, CMK_SIG_RSA_PSS, CMK_HASH_SHA512},
        {CKM_ECDSA, CMK_SIG_ECDSA, 0},
        {CKM_ECDSA_SHA256, CMK_SIG_ECDSA, 0},
        {CKM_ECDSA_SHA384, CMK_SIG_ECDSA, 0},
        {CKM_ECDSA_SHA512, CMK_SIG_ECDSA, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (t[i].m == m)
            return (p->schemes & (1u << t[i].scheme)) != 0 &&
                   (t[i].hash == 0 || (p->hashes & (1u << t[i].hash)) != 0);
    }
    return false;
}

/* What a key can be used with, as CKA_ALLOWED_MECHANISMS: the signature
 * mechanisms the KMS signs with for it (cmk_kpobj_signs), RSA-OAEP when
 * it decrypts. */
static cmk_err set_mechs(struct cmk_attrs *a, const struct cmk_pubkey *p,
                         bool rsa, unsigned usage)
{
    CK_MECHANISM_TYPE m[16];
    size_t n = 0, i;

    if (usage & CMK_ASYM_USE_SIGN) {
        for (i = 0; rsa && i < sizeof(rsa_sign) / sizeof(rsa_sign[0]); i++) {
            if (cmk_kpobj_signs(p, rsa_sign[i]))
                m[n++] = rsa_sign[i];
        }
        for (i = 0; !rsa && i < sizeof(ec_sign) / sizeof(ec_sign[0]); i++) {
            if (cmk_kpobj_signs(p, ec_sign[i]))
                m[n++] = ec_sign[i];
        }
    }
    if (rsa && (usage & CMK_ASYM_USE_DECRYPT))
        m[n++] = CKM_RSA_PKCS_OAEP;
    return cmk_attrs_set(a, CKA_ALLOWED_MECHANISMS, m, n * sizeof(m[0]));
}

/* Attributes every object of the key pair has. */
static cmk_err common(struct cmk_attrs *a, const struct cmk_keypair *kp,
                      CK_OBJECT_CLASS cls, char tag)
{
    char uid[96];
    cmk_err err;

    snprintf(uid, sizeof(uid), "kp-%s-%c-", kp->token->serial, tag);
    sodium_bin2hex(uid + strlen(uid), sizeof(uid) - strlen(uid), kp->cfg->id,
                   kp->cfg->id_len);
    err = cmk_attrs_set_ulong(a, CKA_CLASS, cls);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_TOKEN, true);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_PRIVATE, cls == CKO_PRIVATE_KEY);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_MODIFIABLE, false);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_COPYABLE, false);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_DESTROYABLE, false);
    if (err == CMK_OK)
        err =
            cmk_attrs_set(a, CKA_LABEL, kp->cfg->label, strlen(kp->cfg->label));
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_ID, kp->cfg->id, kp->cfg->id_len);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_UNIQUE_ID, uid, strlen(uid));
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_START_DATE, NULL, 0);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_END_DATE, NULL, 0);
    return err;
}

/* The key's public numbers, on both keys (section 2.1.2, 2.3.3). */
static cmk_err key_numbers(struct cmk_attrs *a, EVP_PKEY *pk, bool rsa,
                           bool pub, const struct cmk_buf *spki)
{
    struct cmk_buf x = {0}, y = {0};
    cmk_err err;

    err = cmk_attrs_set(a, CKA_PUBLIC_KEY_INFO, spki->p, spki->len);
    if (err == CMK_OK)
        err = rsa ? cmk_pkey_rsa_parts(pk, &x, &y)
                  : cmk_pkey_ec_parts(pk, &x, &y);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, rsa ? CKA_MODULUS : CKA_EC_PARAMS, x.p, x.len);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, rsa ? CKA_PUBLIC_EXPONENT : CKA_EC_POINT, y.p,
                            y.len);
    if (err == CMK_OK && rsa && pub)
        err = cmk_attrs_set_ulong(a, CKA_MODULUS_BITS,
                                  (CK_ULONG)EVP_PKEY_get_bits(pk));
    cmk_buf_free(&x);
    cmk_buf_free(&y);
    return err;
}

static cmk_err key_common(struct cmk_attrs *a, const struct cmk_keypair *kp,
                          bool rsa)
{
    cmk_err err = cmk_attrs_set_ulong(a, CKA_KEY_TYPE, rsa ? CKK_RSA : CKK_EC);

    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_DERIVE, false);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_LOCAL, false);
    if (err == CMK_OK)
        err = cmk_attrs_set_ulong(a, CKA_KEY_GEN_MECHANISM,
                                  CK_UNAVAILABLE_INFORMATION);
    if (err == CMK_OK)
        err = set_mechs(a, &kp->pub, rsa, kp->usage);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_SUBJECT, NULL, 0);
    return err;
}

static cmk_err priv_attrs(struct cmk_attrs *a, const struct cmk_keypair *kp,
                          EVP_PKEY *pk, bool rsa)
{
    static const struct {
        CK_ATTRIBUTE_TYPE t;
        bool v;
    } fixed[] = {
        {CKA_SENSITIVE, true},          {CKA_ALWAYS_SENSITIVE, true},
        {CKA_NEVER_EXTRACTABLE, true},  {CKA_EXTRACTABLE, false},
        {CKA_SIGN_RECOVER, false},      {CKA_ALWAYS_AUTHENTICATE, false},
        {CKA_WRAP_WITH_TRUSTED, false},
    };
    bool dec = rsa && (kp->usage & CMK_ASYM_USE_DECRYPT);
    cmk_err err = common(a, kp, CKO_PRIVATE_KEY, 'p');
    size_t i;

    if (err == CMK_OK)
        err = key_common(a, kp, rsa);
    for (i = 0; err == CMK_OK && i < sizeof(fixed) / sizeof(fixed[0]); i++)
        err = cmk_attrs_set_bool(a, fixed[i].t, fixed[i].v);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_SIGN, kp->usage & CMK_ASYM_USE_SIGN);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_DECRYPT, dec);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_UNWRAP, dec);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_UNWRAP_TEMPLATE, NULL, 0);
    if (err == CMK_OK)
        err = key_numbers(a, pk, rsa, false, &kp->pub.spki);
    return err;
}

static cmk_err pub_attrs(struct cmk_attrs *a, const struct cmk_keypair *kp,
                         EVP_PKEY *pk, bool rsa)
{
    bool enc = rsa && (kp->usage & CMK_ASYM_USE_DECRYPT);
    cmk_err err = common(a, kp, CKO_PUBLIC_KEY, 'k');

    if (err == CMK_OK)
        err = key_common(a, kp, rsa);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_VERIFY, kp->usage & CMK_ASYM_USE_SIGN);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_ENCRYPT, enc);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_WRAP, false);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_VERIFY_RECOVER, false);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_TRUSTED, false);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_WRAP_TEMPLATE, NULL, 0);
    if (err == CMK_OK)
        err = key_numbers(a, pk, rsa, true, &kp->pub.spki);
    return err;
}

static cmk_err cert_attrs(struct cmk_attrs *a, const struct cmk_keypair *kp,
                          const struct cmk_cert_parts *cp)
{
    cmk_err err = common(a, kp, CKO_CERTIFICATE, 'c');

    if (err == CMK_OK)
        err = cmk_attrs_set_ulong(a, CKA_CERTIFICATE_TYPE, CKC_X_509);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_TRUSTED, false);
    if (err == CMK_OK) /* 1: token user (PKCS#11 3.0 4.6.2) */
        err = cmk_attrs_set_ulong(a, CKA_CERTIFICATE_CATEGORY, 1);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_VALUE, cp->der.p, cp->der.len);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_SUBJECT, cp->subject.p, cp->subject.len);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_ISSUER, cp->issuer.p, cp->issuer.len);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_SERIAL_NUMBER, cp->serial.p, cp->serial.len);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_PUBLIC_KEY_INFO, cp->spki.p, cp->spki.len);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_URL, NULL, 0);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, NULL, 0);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_HASH_OF_ISSUER_PUBLIC_KEY, NULL, 0);
    if (err == CMK_OK)
        err = cmk_attrs_set_ulong(a, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0);
    return err;
}

static CK_RV add_one(struct cmk_keypair *kp, struct cmk_attrs *a, cmk_err err)
{
    CK_RV rv = err == CMK_OK ? CKR_OK : CKR_HOST_MEMORY;

    if (rv == CKR_OK)
        rv = cmk_object_add_kp(kp->token, kp, a, NULL);
    cmk_attrs_clear(a);
    return rv;
}

CK_RV cmk_kpobj_add(struct cmk_keypair *kp, EVP_PKEY *pk,
                    const struct cmk_cert_parts *cp)
{
    struct cmk_attrs a = {0};
    bool rsa = kp->pub.kind == CMK_ASYM_RSA;
    CK_RV rv;

    rv = add_one(kp, &a, priv_attrs(&a, kp, pk, rsa));
    if (rv == CKR_OK)
        rv = add_one(kp, &a, pub_attrs(&a, kp, pk, rsa));
    if (rv == CKR_OK && cp != NULL)
        rv = add_one(kp, &a, cert_attrs(&a, kp, cp));
    return rv;
}

static bool is_secret_part(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE t)
{
    if (cmk_attrs_ulong(a, CKA_CLASS, CKO_DATA) != CKO_PRIVATE_KEY)
        return false;
    switch (t) {
    case CKA_VALUE:
    case CKA_PRIVATE_EXPONENT:
    case CKA_PRIME_1:
    case CKA_PRIME_2:
    case CKA_EXPONENT_1:
    case CKA_EXPONENT_2:
    case CKA_COEFFICIENT:
        return true;
    default:
        return false;
    }
}

static CK_RV get_one(const struct cmk_attrs *a, CK_ATTRIBUTE *t)
{
    const struct cmk_attr *at;

    if (is_secret_part(a, t->type))
        return cmk_attr_answer(t, CKR_ATTRIBUTE_SENSITIVE, NULL, 0);
    at = cmk_attrs_get(a, t->type);
    if (at == NULL)
        return cmk_attr_answer(t, CKR_ATTRIBUTE_TYPE_INVALID, NULL, 0);
    return cmk_attr_answer(t, CKR_OK, at->val, at->len);
}

CK_RV cmk_kpobj_get(const struct cmk_attrs *a, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    return cmk_attrs_answer(a, tmpl, n, get_one);
}

static bool is_bool_attr(CK_ATTRIBUTE_TYPE t)
{
    switch (t) {
    case CKA_TOKEN:
    case CKA_PRIVATE:
    case CKA_MODIFIABLE:
    case CKA_COPYABLE:
    case CKA_DESTROYABLE:
    case CKA_DERIVE:
    case CKA_LOCAL:
    case CKA_SENSITIVE:
    case CKA_ALWAYS_SENSITIVE:
    case CKA_NEVER_EXTRACTABLE:
    case CKA_EXTRACTABLE:
    case CKA_SIGN:
    case CKA_SIGN_RECOVER:
    case CKA_DECRYPT:
    case CKA_UNWRAP:
    case CKA_VERIFY:
    case CKA_VERIFY_RECOVER:
    case CKA_ENCRYPT:
    case CKA_WRAP:
    case CKA_TRUSTED:
    case CKA_ALWAYS_AUTHENTICATE:
    case CKA_WRAP_WITH_TRUSTED:
        return true;
    default:
        return false;
    }
}

static bool match_one(const struct cmk_attrs *a, const CK_ATTRIBUTE *t)
{
    const struct cmk_attr *at = cmk_attrs_get(a, t->type);

    if (at == NULL || is_secret_part(a, t->type))
        return false;
    if (t->ulValueLen != 0 && t->pValue == NULL)
        return false;
    if (is_bool_attr(t->type))
        return t->ulValueLen == sizeof(CK_BBOOL) && at->len == 1 &&
               ((*(const CK_BBOOL *)t->pValue != 0) == (at->val[0] != 0));
    return t->ulValueLen == at->len &&
           (at->len == 0 || memcmp(t->pValue, at->val, at->len) == 0);
}

bool cmk_kpobj_match(const struct cmk_attrs *a, const CK_ATTRIBUTE *tmpl,
                     CK_ULONG n)
{
    CK_ULONG i;

    if (a == NULL || (n != 0 && tmpl == NULL))
        return false;
    for (i = 0; i < n; i++) {
        if (!match_one(a, &tmpl[i]))
            return false;
    }
    return true;
}
