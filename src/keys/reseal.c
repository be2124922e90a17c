/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: a sealed blob moved to the tenant's current CMK version through
 * the provider's reencrypt (reseal.h), without a plaintext in this process.
 */
#include <config.h>

#include <string.h>

#include "keys/cmk_int.h"
#include "keys/reseal.h"
#include "mech/envelope.h"
#include "util/clock.h"

static bool names(const char *s, const char *p, size_t len)
{
    return strlen(s) == len && memcmp(s, p, len) == 0;
}

/* Current means the key id: a blob found through its sealed-by name
 * only still carries an older version's id, and is moved. */
static bool is_current(const struct cmk_cmk *c, const struct cmk_version *v,
                       const struct cmk_envelope_view *ev)
{
    const struct cmk_version *cur = cmk_cmk_current(c);

    return v == cur && (unsigned)cur->ops->id == ev->provider_id &&
           names(cur->key_id, ev->key_id, ev->key_id_len);
}

static cmk_err find(const struct cmk_cmk *c, const uint8_t *blob, size_t len,
                    struct cmk_envelope_view *ev, const struct cmk_version **v)
{
    cmk_err err;

    if (c == NULL || (blob == NULL && len != 0))
        return CMK_E_ARGS;
    err = cmk_envelope_parse(blob, len, ev);
    if (err != CMK_OK)
        return err;
    *v = cmk_cmk_version_of(c, ev);
    return *v != NULL ? CMK_OK : CMK_E_BAD_BLOB;
}

cmk_err cmk_reseal_check(const struct cmk_cmk *c, const uint8_t *blob,
                         size_t len, struct cmk_reseal_info *info)
{
    struct cmk_envelope_view ev;
    const struct cmk_version *v = NULL;
    cmk_err err;

    if (info == NULL)
        return CMK_E_ARGS;
    info->current = false;
    info->key_ref = NULL;
    err = find(c, blob, len, &ev, &v);
    if (err != CMK_OK)
        return err;
    info->current = is_current(c, v, &ev);
    info->key_ref = v->key_ref;
    return CMK_OK;
}

/* The provider call: ciphertext of version from, to the current one. */
static cmk_err move(struct cmk_cmk *c, struct cmk_req *rq,
                    enum cmk_purpose purpose, const struct cmk_version *from,
                    const struct cmk_envelope_view *ev, struct cmk_buf *ct)
{
    char sealed_by[CMK_ENVELOPE_MAX_SEALED_BY + 1];
    const struct cmk_version *to = cmk_cmk_current(c);
    int64_t start;
    cmk_err err;

    if (to->ops->reencrypt == NULL)
        return CMK_E_CONFIG;
    err = cmk_cmk_call_begin(c, to, purpose, rq);
    if (err != CMK_OK)
        return err;
    if (ev->sealed_by != NULL) {
        memcpy(sealed_by, ev->sealed_by, ev->sealed_by_len);
        sealed_by[ev->sealed_by_len] = '\0';
        rq->open_with = sealed_by; /* valid for this call only */
    }
    rq->reencrypt_from = from->st;
    start = cmk_clock_now_us();
    err = to->ops->reencrypt(to->st, rq, ev->ct, ev->ct_len, ct);
    err = cmk_cmk_call_end(c, to, "ReEncrypt", rq, start, err);
    rq->open_with = NULL;
    rq->reencrypt_from = NULL;
    return err;
}

cmk_err cmk_reseal_for(struct cmk_cmk *c, struct cmk_req *rq,
                       enum cmk_purpose purpose, const uint8_t *blob,
                       size_t len, struct cmk_buf *out, bool *current)
{
    struct cmk_envelope_view ev;
    const struct cmk_version *v = NULL, *to;
    struct cmk_buf ct = {0};
    cmk_err err;

    if (rq == NULL || out == NULL || current == NULL)
        return CMK_E_ARGS;
    *current = false;
    err = find(c, blob, len, &ev, &v);
    if (err != CMK_OK)
        return err;
    if (is_current(c, v, &ev)) {
        *current = true;
        return CMK_OK;
    }
    err = move(c, rq, purpose, v, &ev, &ct);
    if (err == CMK_OK && (ct.len == 0 || ct.len > CMK_ENVELOPE_MAX_CT))
        err = CMK_E_BAD_RESPONSE; /* the KMS's answer, not our input */
    to = cmk_cmk_current(c);
    if (err == CMK_OK)
        err = cmk_envelope_encode_sealed((uint8_t)to->ops->id, to->key_id,
                                         rq->sealed_by, ct.p, ct.len, out);
    cmk_buf_free(&ct);
    return err;
}

const char *cmk_reseal_current_ref(const struct cmk_cmk *c)
{
    return c != NULL ? cmk_cmk_current(c)->key_ref : NULL;
}

const char *cmk_reseal_current_id(const struct cmk_cmk *c)
{
    return c != NULL ? cmk_cmk_current(c)->key_id : NULL;
}
