/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: C_FindObjects*. The matching handles are collected at init (after
 * a rescan of the token's store), so objects created meanwhile do not
 * show up in an active search.
 */
#ifndef CMK_FIND_H
#define CMK_FIND_H

#include "core/session.h"

CK_RV cmk_find_init(struct cmk_session *s, const CK_ATTRIBUTE *tmpl,
                    CK_ULONG n);
CK_RV cmk_find_next(struct cmk_session *s, CK_OBJECT_HANDLE *out, CK_ULONG max,
                    CK_ULONG *count);
CK_RV cmk_find_final(struct cmk_session *s);

#endif /* CMK_FIND_H */
