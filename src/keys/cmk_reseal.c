/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: moving a sealed blob from the CMK version that sealed it to the
 * current one (CMK rotation of the tenant KEK, rewrap of stored blobs).
 */
#include <config.h>

#include <stdbool.h>
#include <string.h>

#include "keys/cmk.h"
#include "keys/cmk_int.h"
#include "mech/envelope.h"
#include "util/clock.h"

/* One call inside the KMS: the current version's key re-encrypts what the
 * blob's key sealed, with the purpose's context on both sides, so the
 * plaintext never reaches this process. */
static cmk_err move_in_kms(struct cmk_cmk *c, struct cmk_req *rq,
                           enum cmk_purpose purpose,
                           const struct cmk_envelope_view *ev,
                           struct cmk_buf *out)
{
    const struct cmk_version *to = &c->v[0];
    char sealed_by[CMK_ENVELOPE_MAX_SEALED_BY + 1];
    struct cmk_buf ct = {0};
    int64_t start;
    cmk_err err;

    err = cmk_cmk_fill_req(c, to, purpose, rq);
    if (err != CMK_OK)
        return err;
    if (ev->sealed_by != NULL) {
        memcpy(sealed_by, ev->sealed_by, ev->sealed_by_len);
        sealed_by[ev->sealed_by_len] = '\0';
        rq->open_with = sealed_by; /* valid for this call only */
    }
    start = cmk_clock_now_us();
    err = to->ops->reencrypt(to->st, rq, ev->ct, ev->ct_len, &ct);
    err = cmk_cmk_note_call(c, to, "ReEncrypt", rq, start, err);
    rq->open_with = NULL;
    if (err == CMK_OK && (ct.len == 0 || ct.len > CMK_ENVELOPE_MAX_CT))
        err = CMK_E_BAD_RESPONSE; /* the KMS's answer, not our input */
    if (err == CMK_OK)
        err = cmk_envelope_encode_sealed((uint8_t)to->ops->id, to->key_id,
                                         rq->sealed_by, ct.p, ct.len, out);
    cmk_buf_free(&ct);
    return err;
}

/* Unseal with the version the blob names, seal with the current one: the
 * plaintext lives only in secure memory, wiped on the way out. */
static cmk_err move_through(struct cmk_cmk *c, struct cmk_req *rq,
                            enum cmk_purpose purpose, const uint8_t *blob,
                            size_t blob_len, struct cmk_buf *out)
{
    struct cmk_secret pt = {0};
    cmk_err err;

    err = cmk_cmk_unseal_for(c, rq, purpose, blob, blob_len, &pt);
    if (err == CMK_OK)
        err = cmk_cmk_seal_for(c, rq, purpose, pt.p, pt.len, out);
    cmk_secret_free(&pt);
    return err;
}

/* Current means the current version's key id: a blob found through the
 * key that sealed it (its sealed-by) but carrying another version's id
 * (a tenant that moved from an alias to the key's ARN) is moved too, so
 * that it no longer needs the old reference. */
static bool is_current_id(const struct cmk_cmk *c, const struct cmk_version *v,
                          const struct cmk_envelope_view *ev)
{
    return v == &c->v[0] && strlen(v->key_id) == ev->key_id_len &&
           memcmp(v->key_id, ev->key_id, ev->key_id_len) == 0;
}

/* Whether a provider call left the marks of an exchange with the KMS:
 * an HTTP status, or a code for a failure on the way (NetworkError,
 * Timeout). A call answered from the provider's cache leaves neither. */
static bool asked_kms(const struct cmk_req *rq)
{
    return rq->http_status != 0 || rq->provider_code[0] != '\0';
}

/* And, where the provider keeps versions inside one key (vault), the
 * key's latest version sealed it: after an in-KMS rotation the older
 * versions' blobs are moved too, before the minimum decryption version
 * is raised. */
cmk_err cmk_cmk_is_current(struct cmk_cmk *c, const struct cmk_version *v,
                           const struct cmk_envelope_view *ev, bool *current)
{
    char sealed_by[CMK_ENVELOPE_MAX_SEALED_BY + 1];
    struct cmk_req rq;
    int64_t start;
    cmk_err err;

    *current = is_current_id(c, v, ev);
    if (!*current || v->ops->is_latest == NULL || ev->sealed_by == NULL)
        return CMK_OK;
    memcpy(sealed_by, ev->sealed_by, ev->sealed_by_len);
    sealed_by[ev->sealed_by_len] = '\0';
    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_fill_req(c, v, CMK_PURPOSE_KEY, &rq);
    if (err == CMK_OK) {
        start = cmk_clock_now_us();
        err = v->ops->is_latest(v->st, &rq, sealed_by, current);
        /* a read of the key's info that reached the KMS (not the cached
         * one) is a KMS call like any other: its own record */
        if (asked_kms(&rq))
            err = cmk_cmk_note_call(c, v, "KeyInfo", &rq, start, err);
    }
    if (err != CMK_OK)
        *current = false;
    return cmk_cmk_note_refusal(c, err);
}

cmk_err cmk_cmk_blob_version(struct cmk_cmk *c, const uint8_t *blob,
                             size_t blob_len, bool *current,
                             const char **key_ref)
{
    const struct cmk_version *v;
    struct cmk_envelope_view ev;
    cmk_err err;

    if (c == NULL || current == NULL || key_ref == NULL)
        return CMK_E_ARGS;
    *current = false;
    *key_ref = NULL;
    err = cmk_envelope_parse(blob, blob_len, &ev);
    if (err != CMK_OK)
        return err;
    v = cmk_cmk_find_version(c, &ev);
    if (v == NULL)
        return CMK_E_BAD_BLOB;
    *key_ref = v->key_ref;
    return cmk_cmk_is_current(c, v, &ev, current);
}

const char *cmk_cmk_current_ref(const struct cmk_cmk *c)
{
    return c != NULL ? c->v[0].key_ref : NULL;
}

const char *cmk_cmk_current_id(const struct cmk_cmk *c)
{
    return c != NULL ? c->v[0].key_id : NULL;
}

cmk_err cmk_cmk_reseal_for(struct cmk_cmk *c, struct cmk_req *rq,
                           enum cmk_purpose purpose, const uint8_t *blob,
                           size_t blob_len, struct cmk_buf *out)
{
    const struct cmk_version *from, *to;
    struct cmk_envelope_view ev;
    bool current = false;
    cmk_err err;

    if (c == NULL || rq == NULL || out == NULL ||
        (unsigned)purpose >= CMK_PURPOSE__COUNT)
        return CMK_E_ARGS;
    out->p = NULL;
    out->len = 0;
    err = cmk_envelope_parse(blob, blob_len, &ev);
    if (err != CMK_OK)
        return err;
    from = cmk_cmk_find_version(c, &ev);
    to = &c->v[0];
    if (from == NULL)
        return CMK_E_BAD_BLOB;
    err = cmk_cmk_is_current(c, from, &ev, &current);
    if (err != CMK_OK || current)
        return err; /* CMK_OK: already under the current version */
    if (to->ops->reencrypt != NULL &&
        (from == to || ((to->ops->caps & CMK_CAP_REENCRYPT_MOVE) != 0 &&
                        from->ops == to->ops)))
        return move_in_kms(c, rq, purpose, &ev, out);
    return move_through(c, rq, purpose, blob, blob_len, out);
}
