/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: turning operations into audit records. The writer is the module's
 * (set at C_Initialize); with no audit configured these functions do
 * nothing.
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "core/object.h"
#include "core/record.h"
#include "core/session.h"
#include "core/token.h"
#include "mech/mech.h"

static struct cmk_audit *writer;

void cmk_record_set_writer(struct cmk_audit *a)
{
    writer = a;
}

void cmk_note_init(struct cmk_note *n, const CK_MECHANISM *m)
{
    memset(n, 0, sizeof(*n));
    n->bytes_in = -1;
    n->bytes_out = -1;
    n->cache = -1;
    if (m != NULL) {
        n->mech = m->mechanism;
        n->has_mech = true;
    }
}

void cmk_note_key(struct cmk_note *n, struct cmk_object *o)
{
    if (o == NULL)
        return;
    cmk_mutex_lock_hot(&o->token->lock);
    cmk_note_key_locked(n, o);
    cmk_mutex_unlock(&o->token->lock);
}

void cmk_note_key_locked(struct cmk_note *n, const struct cmk_object *o)
{
    const struct cmk_attr *a;
    size_t len;

    a = cmk_attrs_get(&o->attrs, CKA_LABEL);
    if (a != NULL) { /* like "%.*s": up to 64 bytes, stops at a NUL */
        len = a->len < sizeof(n->key_label) - 1 ? a->len
                                                : sizeof(n->key_label) - 1;
        if (len != 0) {
            const uint8_t *nul = memchr(a->val, '\0', len);

            if (nul != NULL)
                len = (size_t)(nul - a->val);
            memcpy(n->key_label, a->val, len);
        }
        n->key_label[len] = '\0';
    }
    a = cmk_attrs_get(&o->attrs, CKA_ID);
    if (a != NULL)
        sodium_bin2hex(n->key_id, sizeof(n->key_id), a->val,
                       a->len < 32 ? a->len : 32);
}

static CK_RV write_rec(const struct cmk_audit_rec *r, CK_RV rv)
{
    if (cmk_audit_write(writer, r) != CMK_OK)
        return CKR_DEVICE_ERROR;
    return rv;
}

static const char *end_name(enum cmk_end end)
{
    static const char *const names[] = {
        [CMK_END_NONE] = NULL,
        [CMK_END_FINAL] = "final",
        [CMK_END_ERROR] = "error",
        [CMK_END_CANCEL] = "cancel",
        [CMK_END_SESSION_CLOSE] = "session_close",
        [CMK_END_LOGOUT] = "logout",
        [CMK_END_FINALIZE] = "finalize",
    };

    if ((unsigned)end >= sizeof(names) / sizeof(names[0]))
        return NULL;
    return names[end];
}

CK_RV cmk_record_mech(struct cmk_session *s, const char *op,
                      const struct cmk_note *n, CK_RV rv)
{
    struct cmk_audit_rec r;
    char mech_hex[24];

    if (writer == NULL)
        return rv;
    cmk_audit_rec_init(&r);
    r.event = "mechanism";
    r.op = op;
    r.tenant = s->token->cfg->kms.label;
    r.session = (long)s->handle;
    if (n->has_mech) {
        r.mech = (long long)n->mech;
        r.mech_name = cmk_mech_name(n->mech);
        if (r.mech_name == NULL) {
            snprintf(mech_hex, sizeof(mech_hex), "0x%lx", n->mech);
            r.mech_name = mech_hex;
        }
    }
    r.key_label = n->key_label[0] ? n->key_label : NULL;
    r.key_id = n->key_id[0] ? n->key_id : NULL;
    r.result = cmk_rv_name(rv);
    r.bytes_in = n->bytes_in;
    r.bytes_out = n->bytes_out;
    r.cache = n->cache;
    r.end = end_name(n->end);
    return write_rec(&r, rv);
}

CK_RV cmk_record_event(const char *event, const char *op,
                       struct cmk_token *t, long session, CK_RV rv,
                       const char *detail)
{
    struct cmk_audit_rec r;

    if (writer == NULL)
        return rv;
    cmk_audit_rec_init(&r);
    r.event = event;
    r.op = op;
    r.tenant = t != NULL ? t->cfg->kms.label : NULL;
    r.session = session;
    r.result = cmk_rv_name(rv);
    r.detail = detail;
    return write_rec(&r, rv);
}
