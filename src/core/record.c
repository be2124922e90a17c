/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: turning operations and object changes into audit records. The
 * writer is the module's (set at C_Initialize); with no audit configured
 * these functions do nothing.
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
#include "providers/provider.h"
#include "util/cknames.h"

static struct cmk_audit *writer;

void cmk_record_set_writer(struct cmk_audit *a)
{
    writer = a;
}

bool cmk_record_on(void)
{
    return writer != NULL;
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
    if (o == NULL || writer == NULL) /* notes feed audit records only */
        return;
    cmk_mutex_lock_hot(&o->token->lock);
    cmk_note_key_locked(n, o);
    cmk_mutex_unlock(&o->token->lock);
}

/* Like "%.*s": up to 64 bytes of the label, stopping at a NUL. */
static void copy_label(char dst[65], const uint8_t *val, size_t len)
{
    const uint8_t *nul;

    if (len > 64)
        len = 64;
    if (len != 0 && (nul = memchr(val, '\0', len)) != NULL)
        len = (size_t)(nul - val);
    if (len != 0)
        memcpy(dst, val, len);
    dst[len] = '\0';
}

static void copy_id(char dst[65], const uint8_t *val, size_t len)
{
    sodium_bin2hex(dst, 65, val, len < 32 ? len : 32);
}

void cmk_note_key_locked(struct cmk_note *n, const struct cmk_object *o)
{
    const struct cmk_attr *a;

    if (writer == NULL)
        return;
    n->keyed = true;
    a = cmk_attrs_get(&o->attrs, CKA_LABEL);
    if (a != NULL)
        copy_label(n->key_label, a->val, a->len);
    a = cmk_attrs_get(&o->attrs, CKA_ID);
    if (a != NULL)
        copy_id(n->key_id, a->val, a->len);
}

void cmk_obj_note_init(struct cmk_obj_note *o)
{
    o->handle = 0;
    o->label[0] = o->id[0] = '\0';
    o->has_class = false;
    o->token = -1;
    o->n_types = 0;
    o->more = false;
}

void cmk_obj_note_attrs(struct cmk_obj_note *o, const struct cmk_attrs *a)
{
    const struct cmk_attr *at;

    if (writer == NULL)
        return;
    at = cmk_attrs_get(a, CKA_LABEL);
    if (at != NULL)
        copy_label(o->label, at->val, at->len);
    at = cmk_attrs_get(a, CKA_ID);
    if (at != NULL)
        copy_id(o->id, at->val, at->len);
    at = cmk_attrs_get(a, CKA_CLASS);
    if (at != NULL && at->len == sizeof(CK_OBJECT_CLASS)) {
        memcpy(&o->cls, at->val, sizeof(o->cls));
        o->has_class = true;
    }
    o->token = cmk_attrs_bool(a, CKA_TOKEN, false) ? 1 : 0;
}

void cmk_obj_note_object_locked(struct cmk_obj_note *o,
                                const struct cmk_object *obj)
{
    cmk_obj_note_attrs(o, &obj->attrs);
    o->handle = obj->handle;
    o->token = obj->is_token ? 1 : 0;
}

static void add_type(struct cmk_obj_note *o, CK_ATTRIBUTE_TYPE type)
{
    size_t i;

    for (i = 0; i < o->n_types; i++) {
        if (o->types[i] == type)
            return;
    }
    if (o->n_types == sizeof(o->types) / sizeof(o->types[0]))
        o->more = true;
    else
        o->types[o->n_types++] = type;
}

/* A template value of the expected size, or NULL. */
static const void *tmpl_val(const CK_ATTRIBUTE *t, size_t len)
{
    return t->pValue != NULL && (len == 0 || t->ulValueLen == len) ? t->pValue
                                                                   : NULL;
}

static void note_tmpl_one(struct cmk_obj_note *o, const CK_ATTRIBUTE *t,
                          bool known)
{
    const CK_BBOOL *b;

    if (known)
        return; /* the object's own attributes say it */
    if (t->type == CKA_LABEL && tmpl_val(t, 0) != NULL)
        copy_label(o->label, t->pValue, t->ulValueLen);
    else if (t->type == CKA_ID && tmpl_val(t, 0) != NULL)
        copy_id(o->id, t->pValue, t->ulValueLen);
    else if (t->type == CKA_CLASS && tmpl_val(t, sizeof(o->cls)) != NULL) {
        memcpy(&o->cls, t->pValue, sizeof(o->cls));
        o->has_class = true;
    } else if (t->type == CKA_TOKEN &&
               (b = tmpl_val(t, sizeof(CK_BBOOL))) != NULL)
        o->token = *b ? 1 : 0;
}

void cmk_obj_note_template(struct cmk_obj_note *o, const CK_ATTRIBUTE *tmpl,
                           CK_ULONG n, bool names)
{
    bool known = !names || o->token >= 0;
    CK_ULONG i;

    for (i = 0; tmpl != NULL && i < n; i++) {
        add_type(o, tmpl[i].type);
        note_tmpl_one(o, &tmpl[i], known);
    }
}

static bool fail_for_tests;

void cmk_record_fail_for_tests(bool on)
{
    __atomic_store_n(&fail_for_tests, on, __ATOMIC_RELAXED);
}

static CK_RV write_rec(const struct cmk_audit_rec *r, CK_RV rv)
{
    if (__atomic_load_n(&fail_for_tests, __ATOMIC_RELAXED) ||
        cmk_audit_write(writer, r) != CMK_OK)
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

/* Names of the attribute types, for the record's "attrs"; hex holds the
 * names of types no header defines. */
struct type_names {
    const char *v[CMK_AUDIT_MAX_ATTRS];
    char hex[CMK_AUDIT_MAX_ATTRS][24];
};

/* Fills the object fields of r from o; tn must live as long as r. */
static void put_object(struct cmk_audit_rec *r, const struct cmk_obj_note *o,
                       struct type_names *tn)
{
    size_t i;

    r->object = o->handle != 0 ? (long long)o->handle : -1;
    r->object_label = o->label[0] ? o->label : NULL;
    r->object_id = o->id[0] ? o->id : NULL;
    if (o->has_class) {
        r->object_class = cmk_class_name(o->cls);
        if (r->object_class == NULL) {
            snprintf(tn->hex[0], sizeof(tn->hex[0]), "0x%lx", o->cls);
            r->object_class = tn->hex[0];
        }
    }
    r->object_token = o->token;
    for (i = 0; i < o->n_types; i++) {
        tn->v[i] = cmk_attr_name(o->types[i]);
        if (tn->v[i] == NULL) {
            snprintf(tn->hex[i + 1], sizeof(tn->hex[0]), "0x%lx", o->types[i]);
            tn->v[i] = tn->hex[i + 1];
        }
    }
    if (o->more)
        tn->v[i++] = "...";
    r->attrs = tn->v;
    r->n_attrs = i;
}

static void put_session(struct cmk_audit_rec *r, struct cmk_session *s)
{
    r->tenant = s->token->cfg->kms.label;
    r->session = (long)s->handle;
}

CK_RV cmk_record_mech(struct cmk_session *s, const char *op,
                      const struct cmk_note *n, CK_RV rv)
{
    struct cmk_audit_rec r;
    struct type_names tn;
    char mech_hex[24];

    if (writer == NULL)
        return rv;
    cmk_audit_rec_init(&r);
    r.event = "mechanism";
    r.op = op;
    put_session(&r, s);
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
    r.request_id = n->request_id[0] ? n->request_id : NULL;
    if (n->obj != NULL)
        put_object(&r, n->obj, &tn);
    return write_rec(&r, rv);
}

CK_RV cmk_record_object(struct cmk_session *s, const char *op,
                        const struct cmk_obj_note *o, CK_RV rv,
                        const char *detail)
{
    struct cmk_audit_rec r;
    struct type_names tn;

    if (writer == NULL)
        return rv;
    cmk_audit_rec_init(&r);
    r.event = "object";
    r.op = op;
    put_session(&r, s);
    r.result = cmk_rv_name(rv);
    r.detail = detail;
    put_object(&r, o, &tn);
    return write_rec(&r, rv);
}

CK_RV cmk_record_event(const char *event, const char *op, struct cmk_token *t,
                       long session, CK_RV rv, const char *detail)
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

CK_RV cmk_record_kms(struct cmk_token *t, const char *op, const char *provider,
                     const struct cmk_req *rq, long long latency_us, CK_RV rv,
                     const char *detail)
{
    struct cmk_audit_rec r;

    if (writer == NULL)
        return rv;
    cmk_audit_rec_init(&r);
    r.event = "kms_call";
    r.op = op;
    r.tenant = t->cfg->kms.label;
    r.provider = provider;
    r.result = cmk_rv_name(rv);
    r.detail = detail;
    r.request_id = rq->request_id[0] ? rq->request_id : NULL;
    r.http_status = rq->http_status ? rq->http_status : -1;
    r.provider_code = rq->provider_code[0] ? rq->provider_code : NULL;
    r.latency_us = latency_us;
    return write_rec(&r, rv);
}
