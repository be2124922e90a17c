/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: shared helpers of the entry points (initialised check, session
 * lookup and locking) and the entry points the function lists point to.
 * Entry points have hidden visibility; only module.c exports symbols.
 */
#ifndef CMK_ENTRY_H
#define CMK_ENTRY_H

#include "core/session.h"
#include "util/pkcs11_compat.h"

/* Checks the module is initialised, finds and claims the session (no
 * lock stays held: see core/session.h). */
CK_RV cmk_enter(CK_SESSION_HANDLE h, struct cmk_session **out);
/* Ends the claim and drops the reference; returns rv. */
CK_RV cmk_leave(struct cmk_session *s, CK_RV rv);
/* Converts a CK_ULONG count plus pointer pair: NULL with n > 0 is bad. */
#define CMK_BAD_ARRAY(p, n) ((p) == NULL && (n) != 0)

extern CK_FUNCTION_LIST cmk_function_list;
extern CK_FUNCTION_LIST_3_0 cmk_function_list_3_0;

#define CMK_ENTRY(name, args) CK_RV cmk_##name args
#include "pkcs11/entry_list.h"
#undef CMK_ENTRY

#endif /* CMK_ENTRY_H */
