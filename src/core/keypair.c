/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: key pairs at run time (keypair.h): provider instance, the
 * public-key fetch and its checks (kind and size as the KMS said, usage,
 * pin, certificate), the objects, and the KMS calls with their records.
 */
#include <config.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/keypair.h"
#include "core/kpobj.h"
#include "core/object.h"
#include "core/record.h"
#include "core/token.h"
#include "keys/health.h"
#include "mech/hash.h"
#include "mech/pkey.h"
#include "util/clock.h"
#include "util/fdio.h"
#include "util/log.h"
#include "util/trust.h"

#define RETRY_US (10 * 1000000LL)
#define CERT_MAX 65536

_Static_assert(CMK_MD_SHA256 == CMK_HASH_SHA256 &&
                   CMK_MD_SHA384 == CMK_HASH_SHA384 &&
                   CMK_MD_SHA512 == CMK_HASH_SHA512 &&
                   CMK_MD_SHA1 == CMK_HASH_SHA1,
               "mech/pkey.h hashes are providers/asym.h's");
_Static_assert(CMK_PK_RSA_PKCS1 == CMK_SIG_RSA_PKCS1 &&
                   CMK_PK_RSA_PSS == CMK_SIG_RSA_PSS &&
                   CMK_PK_ECDSA == CMK_SIG_ECDSA,
               "mech/pkey.h schemes are providers/asym.h's");

static void start_rq(const struct cmk_keypair *kp, struct cmk_req *rq)
{
    memset(rq, 0, sizeof(*rq));
    rq->tenant = &kp->token->cfg->kms;
    rq->key_ref = kp->cfg->key_ref;
}

/* The call's kms_call record and the session's ulDeviceError. */
static CK_RV after_call(struct cmk_keypair *kp, const char *op,
                        const struct cmk_req *rq, int64_t start, cmk_err err,
                        CK_RV rv)
{
    char detail[128];
    unsigned n = 0;
    CK_RV rec;

    if (err != CMK_OK)
        n = kp->prov->code_number != NULL
                ? kp->prov->code_number(rq->provider_code)
                : CMK_DEV_OTHER;
    cmk_err_device_note((unsigned)kp->prov->id, n);
    if (err == CMK_OK)
        snprintf(detail, sizeof(detail), "key pair %s", kp->cfg->label);
    else
        snprintf(detail, sizeof(detail), "key pair %s: %s", kp->cfg->label,
                 cmk_err_name(err));
    rec = cmk_record_kms(kp->token, op, kp->prov->name, rq,
                         cmk_clock_now_us() - start, cmk_err_rv(err), detail);
    if (rec != cmk_err_rv(err) && rv == CKR_OK)
        return CKR_DEVICE_ERROR; /* required audit not written */
    return rv;
}

static cmk_err open_instance(struct cmk_keypair *kp)
{
    const struct cmk_asym_ops *a = cmk_provider_asym(kp->prov);
    void *st;
    cmk_err err;

    if (kp->st != NULL)
        return CMK_OK;
    st = calloc(1, a->state_size);
    if (st == NULL)
        return CMK_E_NOMEM;
    err = a->init(st, &kp->token->cfg->kms, kp->cfg->key_ref);
    if (err != CMK_OK) {
        free(st);
        return err;
    }
    kp->st = st;
    return CMK_OK;
}

/* The certificate file's bytes: regular, trusted, not a symlink. */
static cmk_err read_cert(const char *path, struct cmk_buf *out)
{
    char why[512];
    struct stat sb;
    cmk_err err;
    int fd = -1;

    err = cmk_trust_open(path, O_RDONLY, 0, 0, &fd, why, sizeof(why));
    if (err != CMK_OK) {
        cmk_log_error("%s", why);
        return CMK_E_CONFIG;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
        sb.st_size > CERT_MAX)
        err = CMK_E_CONFIG;
    if (err == CMK_OK)
        err = cmk_buf_alloc(out, (size_t)sb.st_size);
    if (err == CMK_OK && cmk_fd_read_exact(fd, out->p, out->len) != CMK_OK) {
        cmk_buf_free(out);
        err = CMK_E_CONFIG;
    }
    close(fd);
    return err;
}

/* The configured certificate, when it holds the key pair's public key. */
static cmk_err load_cert(const struct cmk_keypair *kp,
                         struct cmk_cert_parts *cp)
{
    struct cmk_buf pem = {0};
    cmk_err err;

    err = read_cert(kp->cfg->cert_path, &pem);
    if (err == CMK_OK)
        err = cmk_cert_from_pem(pem.p, pem.len, cp);
    cmk_buf_free(&pem);
    if (err != CMK_OK) {
        cmk_log_error("key pair \"%s\": %s is not one PEM X.509 certificate",
                      kp->cfg->label, kp->cfg->cert_path);
        return CMK_E_CONFIG;
    }
    if (cp->spki.len != kp->pub.spki.len ||
        memcmp(cp->spki.p, kp->pub.spki.p, cp->spki.len) != 0) {
        cmk_log_error("key pair \"%s\": the certificate %s is for another "
                      "key",
                      kp->cfg->label, kp->cfg->cert_path);
        cmk_cert_parts_free(cp);
        return CMK_E_CONFIG;
    }
    return CMK_OK;
}

/* What the KMS said must hold together and fit the configuration. */
static cmk_err check_pub(struct cmk_keypair *kp, EVP_PKEY *pk)
{
    const struct cmk_pubkey *p = &kp->pub;
    unsigned bits = 0;
    uint8_t h[CMK_SHA256_LEN];
    bool rsa = false;
    int nid = 0;

    if (cmk_pkey_kind(pk, &rsa, &bits, &nid) != CMK_OK ||
        rsa != (p->kind == CMK_ASYM_RSA) || bits != p->bits ||
        nid != p->curve_nid || p->usage == 0) {
        cmk_log_error("key pair \"%s\": the KMS's public key is not the key "
                      "it described",
                      kp->cfg->label);
        return CMK_E_BAD_RESPONSE;
    }
    if (kp->cfg->usage != 0 && (kp->cfg->usage & ~p->usage) != 0) {
        cmk_log_error("key pair \"%s\": usage: the KMS key does not allow "
                      "it",
                      kp->cfg->label);
        return CMK_E_CONFIG;
    }
    if (kp->cfg->has_pin && (cmk_sha256(p->spki.p, p->spki.len, h) != CMK_OK ||
                             sodium_memcmp(h, kp->cfg->pin, sizeof(h)) != 0)) {
        cmk_log_error("key pair \"%s\": the public key does not match "
                      "public_key_sha256",
                      kp->cfg->label);
        return CMK_E_CONFIG;
    }
    return CMK_OK;
}

/* One GetPublicKey, its checks, the objects. */
static cmk_err fetch(struct cmk_keypair *kp)
{
    struct cmk_cert_parts cp = {0};
    EVP_PKEY *pk = NULL;
    struct cmk_req rq;
    int64_t start = cmk_clock_now_us();
    cmk_err err;

    err = open_instance(kp);
    if (err != CMK_OK) {
        cmk_log_error("key pair \"%s\": its key could not be opened",
                      kp->cfg->label);
        return err;
    }
    start_rq(kp, &rq);
    err = cmk_provider_asym(kp->prov)->get_public_key(kp->st, &rq, &kp->pub);
    if (after_call(kp, "GetPublicKey", &rq, start, err, CKR_OK) != CKR_OK &&
        err == CMK_OK)
        err = CMK_E_IO;
    if (err == CMK_OK)
        err = cmk_pkey_from_spki(kp->pub.spki.p, kp->pub.spki.len, &pk);
    if (err == CMK_OK)
        err = check_pub(kp, pk);
    if (err == CMK_OK && kp->cfg->cert_path != NULL)
        err = load_cert(kp, &cp);
    kp->usage = kp->cfg->usage != 0 ? kp->cfg->usage : kp->pub.usage;
    if (err == CMK_OK)
        err = cmk_kpobj_add(kp, pk, kp->cfg->cert_path != NULL ? &cp : NULL) ==
                      CKR_OK
                  ? CMK_OK
                  : CMK_E_NOMEM;
    cmk_cert_parts_free(&cp);
    if (err == CMK_OK) {
        kp->pk = pk;
        return CMK_OK;
    }
    if (rq.provider_code[0] != '\0')
        cmk_log_error("key pair \"%s\": no public key (%s)", kp->cfg->label,
                      rq.provider_code);
    EVP_PKEY_free(pk);
    cmk_pubkey_free(&kp->pub);
    return err;
}

/* Takes the fetch turn when kp is absent and its last try old enough. */
static bool take_turn(struct cmk_keypair *kp, bool first)
{
    int64_t now = cmk_clock_now_us();
    bool mine = false;

    cmk_mutex_lock(&kp->lock);
    if (kp->state == CMK_KP_ABSENT &&
        (first || now - kp->last_try_us >= RETRY_US)) {
        kp->state = CMK_KP_FETCHING;
        kp->last_try_us = now;
        mine = true;
    }
    cmk_mutex_unlock(&kp->lock);
    return mine;
}

static void try_fetch(struct cmk_keypair *kp, bool first)
{
    cmk_err err;

    if (!take_turn(kp, first))
        return;
    err = fetch(kp); /* no lock held: a KMS call */
    cmk_mutex_lock(&kp->lock);
    kp->state = err == CMK_OK ? CMK_KP_READY : CMK_KP_ABSENT;
    cmk_mutex_unlock(&kp->lock);
}

CK_RV cmk_keypair_open_all(struct cmk_token *t, const struct cmk_health_opts *o)
{
    const struct cmk_tenant_cfg *c = t->cfg;
    size_t i;

    if (c->n_key_pairs == 0)
        return CKR_OK;
    t->kps = calloc(c->n_key_pairs, sizeof(*t->kps));
    if (t->kps == NULL)
        return CKR_HOST_MEMORY;
    for (i = 0; i < c->n_key_pairs; i++) {
        struct cmk_keypair *kp = &t->kps[i];

        kp->token = t;
        kp->cfg = &c->key_pairs[i];
        kp->prov = cmk_provider_find(c->kms.provider);
        if (cmk_mutex_init(&kp->lock) != CKR_OK)
            return CKR_HOST_MEMORY;
        t->n_kps = i + 1;
        if (cmk_health_new(c->kms.label, kp->prov, &kp->health) != CMK_OK)
            return CKR_HOST_MEMORY;
        cmk_health_set_opts(kp->health, o);
        cmk_health_set_subject(kp->health, "key pair", kp->cfg->label);
        try_fetch(kp, true);
    }
    return CKR_OK;
}

void cmk_keypair_close_all(struct cmk_token *t)
{
    size_t i;

    for (i = 0; i < t->n_kps; i++) {
        struct cmk_keypair *kp = &t->kps[i];

        if (kp->st != NULL)
            cmk_provider_asym(kp->prov)->fini(kp->st);
        free(kp->st);
        EVP_PKEY_free(kp->pk);
        cmk_pubkey_free(&kp->pub);
        cmk_health_free(kp->health);
        cmk_mutex_fini(&kp->lock);
    }
    free(t->kps);
    t->kps = NULL;
    t->n_kps = 0;
}

void cmk_keypair_set_audit(struct cmk_token *t, struct cmk_audit *a)
{
    size_t i;

    for (i = 0; i < t->n_kps; i++)
        cmk_health_set_audit(t->kps[i].health, a);
}

void cmk_keypair_retry(struct cmk_token *t)
{
    size_t i;

    for (i = 0; i < t->n_kps; i++)
        try_fetch(&t->kps[i], false);
}

CK_RV cmk_keypair_usable(struct cmk_keypair *kp)
{
    enum cmk_kp_state st;

    cmk_mutex_lock(&kp->lock);
    st = kp->state;
    cmk_mutex_unlock(&kp->lock);
    if (st == CMK_KP_READY)
        return CKR_OK;
    return st == CMK_KP_REFUSED ? CKR_DEVICE_ERROR : CKR_KEY_HANDLE_INVALID;
}

/* The answer to the breaker: a change it records that cannot be written
 * (required audit) fails a call that worked. */
static CK_RV tell_health(struct cmk_keypair *kp, const struct cmk_req *rq,
                         cmk_err err, CK_RV rv)
{
    if (cmk_health_answer(kp->health, rq, err) != CMK_OK && rv == CKR_OK)
        return CKR_DEVICE_ERROR;
    return rv;
}

CK_RV cmk_keypair_sign(struct cmk_keypair *kp, enum cmk_sig_scheme s,
                       enum cmk_hash h, const uint8_t *digest, size_t len,
                       struct cmk_req *rq, struct cmk_buf *sig)
{
    int64_t start = cmk_clock_now_us();
    cmk_err err;
    CK_RV rv;

    start_rq(kp, rq);
    err = cmk_health_enter(kp->health);
    if (err != CMK_OK)
        return cmk_err_rv(err); /* failed fast: no KMS call */
    err = cmk_provider_asym(kp->prov)->sign(kp->st, rq, s, h, true, digest, len,
                                            sig);
    rv = after_call(kp, "Sign", rq, start, err, cmk_err_rv(err));
    return tell_health(kp, rq, err, rv);
}

CK_RV cmk_keypair_decrypt(struct cmk_keypair *kp, enum cmk_hash h,
                          const uint8_t *ct, size_t len, int call,
                          struct cmk_req *rq, struct cmk_secret *out)
{
    enum cmk_err_call c = (enum cmk_err_call)call;
    int64_t start = cmk_clock_now_us();
    cmk_err err;
    CK_RV rv;

    start_rq(kp, rq);
    err = cmk_health_enter(kp->health);
    if (err != CMK_OK)
        return cmk_err_rv_in(err, c); /* failed fast: no KMS call */
    err = cmk_provider_asym(kp->prov)->decrypt(kp->st, rq, h, ct, len, out);
    rv = after_call(kp, "Decrypt", rq, start, err, cmk_err_rv_in(err, c));
    return tell_health(kp, rq, err, rv);
}

CK_RV cmk_keypair_refuse(struct cmk_keypair *kp, const char *op, long session)
{
    char detail[128];

    cmk_mutex_lock(&kp->lock);
    kp->state = CMK_KP_REFUSED;
    cmk_mutex_unlock(&kp->lock);
    cmk_log_error("key pair \"%s\": a signature from the KMS does not verify "
                  "with its public key; refused until C_Initialize",
                  kp->cfg->label);
    snprintf(detail, sizeof(detail),
             "key pair %s: the KMS signature does not verify with the "
             "public key",
             kp->cfg->label);
    (void)cmk_record_event("key_pair_refused", op, kp->token, session,
                           CKR_DEVICE_ERROR, detail);
    return CKR_DEVICE_ERROR;
}
