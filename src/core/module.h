/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: module state: initialisation, the configuration, the audit
 * writer and the tokens (one per tenant), fork detection. The handle
 * tables and their locks are in handles.h. Lock order: a session's claim,
 * then the token lock, then a handle-table lock (a leaf).
 */
#ifndef CMK_MODULE_H
#define CMK_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/settings.h"
#include "util/pkcs11_compat.h"

struct cmk_audit;
struct cmk_token;

struct cmk_module {
    bool initialized;
    pid_t pid;
    struct cmk_config *cfg;
    struct cmk_audit *audit; /* NULL: no audit file configured */
    struct cmk_token **tokens;
    size_t n_tokens;
};

extern struct cmk_module cmk_g;

CK_RV cmk_module_initialize(const CK_C_INITIALIZE_ARGS *args);
CK_RV cmk_module_finalize(void);
/* CKR_OK if initialised in this process, else CKR_CRYPTOKI_NOT_INITIALIZED. */
CK_RV cmk_module_check(void);

/* The token of slot id, or NULL. */
struct cmk_token *cmk_module_token(CK_SLOT_ID id);

#endif /* CMK_MODULE_H */
