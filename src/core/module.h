/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: module state: initialisation, the tokens (one per tenant), the
 * handle tables, fork detection. Order: a session's claim, then the
 * token lock, then the module lock or the objects lock, each a leaf (its
 * handle table and counter only; never both held).
 */
#ifndef CMK_MODULE_H
#define CMK_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/config.h"
#include "pkcs11/compat.h"
#include "util/hmap.h"
#include "util/lock.h"

struct cmk_audit;
struct cmk_token;

struct cmk_module {
    bool initialized;
    pid_t pid;
    struct cmk_mutex lock;         /* session table, next_session */
    struct cmk_mutex objects_lock; /* object table, next_object */
    struct cmk_config *cfg;
    struct cmk_audit *audit; /* NULL: no audit file configured */
    struct cmk_token **tokens;
    size_t n_tokens;
    struct cmk_hmap sessions;
    struct cmk_hmap objects;
    unsigned long next_session;
    unsigned long next_object;
};

extern struct cmk_module cmk_g;

CK_RV cmk_module_initialize(const CK_C_INITIALIZE_ARGS *args);
CK_RV cmk_module_finalize(void);
/* CKR_OK if initialised in this process, else CKR_CRYPTOKI_NOT_INITIALIZED. */
CK_RV cmk_module_check(void);

/* The token of slot id, or NULL. */
struct cmk_token *cmk_module_token(CK_SLOT_ID id);

static inline void cmk_module_lock(void)
{
    cmk_mutex_lock_hot(&cmk_g.lock);
}

static inline void cmk_module_unlock(void)
{
    cmk_mutex_unlock(&cmk_g.lock);
}

/* The object table has its own lock, so object and session lookups on
 * different threads do not wait for each other. */
static inline void cmk_objects_lock(void)
{
    cmk_mutex_lock_hot(&cmk_g.objects_lock);
}

static inline void cmk_objects_unlock(void)
{
    cmk_mutex_unlock(&cmk_g.objects_lock);
}

#endif /* CMK_MODULE_H */
