/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: object management calls (create, copy, destroy, attributes, size),
 * looking an object handle up for a session, and publishing a new key
 * object, sealing token objects into the store before their handle
 * exists.
 */
#ifndef CMK_OBJOPS_H
#define CMK_OBJOPS_H

#include "util/attrs.h"
#include "core/policy.h"
#include "core/session.h"

struct cmk_object;

/* Looks up h on session s's token and adds a reference. invalid_rv when
 * absent or of another token; CKR_USER_NOT_LOGGED_IN for a private or
 * token object (only the CMK object keeps its handle across logout)
 * without login.
 * A token object is first checked against its file (one lstat): changed
 * on disk, it is read again (used with its new attributes); deleted or
 * refused there, its handle goes and invalid_rv is returned. */
CK_RV cmk_object_get(struct cmk_session *s, CK_OBJECT_HANDLE h,
                     CK_RV invalid_rv, struct cmk_object **out);
/* cmk_object_get before a write (set, destroy): a token object another
 * process changed since this one last saw it is refreshed, and the call
 * fails with CKR_FUNCTION_FAILED (compare-and-swap lost; retry). */
CK_RV cmk_object_get_for_write(struct cmk_session *s, CK_OBJECT_HANDLE h,
                               CK_RV invalid_rv, struct cmk_object **out);
/* Makes attrs (moved) a new object; a token object is written to the store
 * first, so a failed write leaves nothing behind. */
CK_RV cmk_object_publish(struct cmk_session *s, struct cmk_attrs *attrs,
                         CK_OBJECT_HANDLE *out);

/* Each of the calls below writes an "object" audit record (record.h)
 * and fails with CKR_DEVICE_ERROR when a required one cannot be written:
 * create and copy then take the new object back; set and destroy record
 * before they change anything; a read that hands out CKA_VALUE wipes it
 * again. */
CK_RV cmk_object_create(struct cmk_session *s, const CK_ATTRIBUTE *tmpl,
                        CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV cmk_object_copy(struct cmk_session *s, CK_OBJECT_HANDLE h,
                      const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                      CK_OBJECT_HANDLE *out);
CK_RV cmk_object_destroy(struct cmk_session *s, CK_OBJECT_HANDLE h);
CK_RV cmk_object_get_attrs(struct cmk_session *s, CK_OBJECT_HANDLE h,
                           CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV cmk_object_set_attrs(struct cmk_session *s, CK_OBJECT_HANDLE h,
                           const CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV cmk_object_size(struct cmk_session *s, CK_OBJECT_HANDLE h,
                      CK_ULONG *size);

/* Destroys object h again (token objects: its file too), for a new key
 * whose audit record could not be written. CKR_DEVICE_ERROR when its
 * file could not be removed. */
CK_RV cmk_object_take_back(struct cmk_session *s, CK_OBJECT_HANDLE h);

/* Fills the session-dependent part of a new-key description. */
void cmk_object_new_key(struct cmk_session *s, enum cmk_origin origin,
                        struct cmk_new_key *nk);

#endif /* CMK_OBJOPS_H */
