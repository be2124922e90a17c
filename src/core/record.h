/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: audit records for mechanism uses and life-cycle events. A note is
 * filled while an operation runs (mechanism, key, byte counts, cache) and
 * written once its result is known. Never key material or plaintext.
 */
#ifndef CMK_RECORD_H
#define CMK_RECORD_H

#include <stdbool.h>
#include "util/pkcs11_compat.h"

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

struct cmk_note {
    CK_MECHANISM_TYPE mech;
    bool has_mech;
    char key_label[65];
    char key_id[65]; /* hex of up to 32 bytes */
    long long bytes_in;
    long long bytes_out;
    int cache; /* -1 n/a, 0 miss, 1 hit */
    enum cmk_end end;
};

void cmk_note_init(struct cmk_note *n, const CK_MECHANISM *m);
/* Copies the key's label and id (takes the token lock). */
void cmk_note_key(struct cmk_note *n, struct cmk_object *o);
/* The same when the caller holds the token lock. */
void cmk_note_key_locked(struct cmk_note *n, const struct cmk_object *o);

/* The writer records go to; NULL (the start): none, records are dropped.
 * The module sets it once C_Initialize opened the audit file and clears
 * it before closing that, or in a fork child. */
void cmk_record_set_writer(struct cmk_audit *a);

/* Writes a "mechanism" record for op on session s. Returns rv, or
 * CKR_DEVICE_ERROR when the audit is required and could not be written. */
CK_RV cmk_record_mech(struct cmk_session *s, const char *op,
                      const struct cmk_note *n, CK_RV rv);
/* Life-cycle and login events; t and detail may be NULL, session -1. */
CK_RV cmk_record_event(const char *event, const char *op,
                       struct cmk_token *t, long session, CK_RV rv,
                       const char *detail);

#endif /* CMK_RECORD_H */
