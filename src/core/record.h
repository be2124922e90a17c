/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: audit records for mechanism uses, object management and
 * life-cycle events. A note is filled while an operation runs (mechanism,
 * key, byte counts, cache, the object it made) and written once its
 * result is known. Never key material, attribute values or plaintext.
 */
#ifndef CMK_RECORD_H
#define CMK_RECORD_H

#include <stdbool.h>
#include "audit/audit.h"
#include "util/pkcs11_compat.h"

struct cmk_attrs;
struct cmk_audit;
struct cmk_object;
struct cmk_session;
struct cmk_token;

/* How an operation ended (the record's "end"; README "Audit file"). */
enum cmk_end {
    CMK_END_NONE = 0,      /* still going on: an update that returns output */
    CMK_END_FINAL,         /* its last call succeeded */
    CMK_END_ERROR,         /* a call failed, or Init was refused */
    CMK_END_CANCEL,        /* C_SessionCancel */
    CMK_END_SESSION_CLOSE, /* C_CloseSession, C_CloseAllSessions */
    CMK_END_LOGOUT,        /* C_Logout, or a login taken back */
    CMK_END_FINALIZE,      /* C_Finalize */
};

/* The object a record is about: the one made, changed, read or
 * destroyed. */
struct cmk_obj_note {
    CK_OBJECT_HANDLE handle; /* 0: none yet */
    char label[65];
    char id[65]; /* hex of up to 32 bytes */
    CK_OBJECT_CLASS cls;
    bool has_class;
    int token; /* 1 token object, 0 session object, -1 unknown */
    /* Template attribute types, each once, in template order; more:
     * there were more than fit in a record. */
    CK_ATTRIBUTE_TYPE types[CMK_AUDIT_MAX_ATTRS - 1];
    size_t n_types;
    bool more;
};

struct cmk_note {
    CK_MECHANISM_TYPE mech;
    bool has_mech;
    char key_label[65];
    char key_id[65]; /* hex of up to 32 bytes */
    bool keyed;      /* key_label and key_id were taken */
    long long bytes_in;
    long long bytes_out;
    int cache; /* -1 n/a, 0 miss, 1 hit */
    enum cmk_end end;
    const struct cmk_obj_note *obj; /* the key made; NULL if none */
    /* The request id of the KMS call a key pair's operation made (sign,
     * decrypt, unwrap); "" when none. */
    char request_id[128];
};

void cmk_note_init(struct cmk_note *n, const CK_MECHANISM *m);
/* Copies the key's label and id (takes the token lock). */
void cmk_note_key(struct cmk_note *n, struct cmk_object *o);
/* The same when the caller holds the token lock. */
void cmk_note_key_locked(struct cmk_note *n, const struct cmk_object *o);

void cmk_obj_note_init(struct cmk_obj_note *o);
/* Label, id, class and token flag from an attribute list. */
void cmk_obj_note_attrs(struct cmk_obj_note *o, const struct cmk_attrs *a);
/* The same from object obj, with its handle (token lock held). */
void cmk_obj_note_object_locked(struct cmk_obj_note *o,
                                const struct cmk_object *obj);
/* The template's attribute types (never its values); with names, also
 * label, id, class and token flag from it where not known yet (a refused
 * create). */
void cmk_obj_note_template(struct cmk_obj_note *o, const CK_ATTRIBUTE *tmpl,
                           CK_ULONG n, bool names);

/* The writer records go to; NULL (the start): none, records are dropped.
 * The module sets it once C_Initialize opened the audit file and clears
 * it before closing that, or in a fork child. */
void cmk_record_set_writer(struct cmk_audit *a);
/* Whether records are written (an audit file is configured): the notes
 * that only feed records are skipped without one. */
bool cmk_record_on(void);

/* Tests: while on, every record of this file counts as not written, as
 * the writer answers under "required": true when the audit file fails
 * (CMK_E_IO), whatever the writer's way to the file; the writer's own
 * tests make the file fail for real. */
void cmk_record_fail_for_tests(bool on);

/* Writes a "mechanism" record for op on session s. Returns rv, or
 * CKR_DEVICE_ERROR when the audit is required and could not be written. */
CK_RV cmk_record_mech(struct cmk_session *s, const char *op,
                      const struct cmk_note *n, CK_RV rv);
/* Writes an "object" record (create, copy, set, read, destroy); detail
 * may be NULL. Returns as cmk_record_mech. */
CK_RV cmk_record_object(struct cmk_session *s, const char *op,
                        const struct cmk_obj_note *o, CK_RV rv,
                        const char *detail);
/* A KMS call a key pair made (core/keypair.c): "kms_call" as keys/cmk.c
 * writes them (provider, request id, HTTP status, code, latency; detail
 * names the key pair). Returns rv, or CKR_DEVICE_ERROR as above. */
struct cmk_req;
CK_RV cmk_record_kms(struct cmk_token *t, const char *op, const char *provider,
                     const struct cmk_req *rq, long long latency_us, CK_RV rv,
                     const char *detail);
/* Life-cycle and login events; t and detail may be NULL, session -1. */
CK_RV cmk_record_event(const char *event, const char *op, struct cmk_token *t,
                       long session, CK_RV rv, const char *detail);

#endif /* CMK_RECORD_H */
