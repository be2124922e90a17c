/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: module life cycle. C_Initialize loads the whole config and builds
 * every token or fails with nothing loaded; a forked child sees the module
 * as not initialised until it calls C_Initialize again.
 */
#include <config.h>

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cmk-pkcs11.h"
#include "core/handles.h"
#include "core/keypair.h"
#include "core/module.h"
#include "core/object.h"
#include "core/record.h"
#include "core/session.h"
#include "core/token.h"
#include "keys/audit_seal.h"
#include "mech/mech.h"
#include "util/log.h"
#include "util/secpool.h"

struct cmk_module cmk_g;
/* This module's cmk_secpool_init is not yet matched by its fini. */
static bool pool_open;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void wipe_object(struct cmk_object *o)
{
    size_t i;

    for (i = 0; i < o->attrs.n; i++) {
        if (o->attrs.v[i].val != NULL)
            sodium_memzero(o->attrs.v[i].val, o->attrs.v[i].len);
    }
}

/* In the child of a fork: other threads are gone and may have held our
 * locks, so take none. Wipe key values and forget the state; the child
 * must call C_Initialize, which starts afresh. Memory is abandoned, not
 * freed: freeing could touch allocator state another thread had locked. */
static void atfork_child(void)
{
    size_t i;

    if (!cmk_g.initialized)
        return;
    cmk_handles_forget_in_child(wipe_object);
    for (i = 0; i < cmk_g.n_tokens; i++)
        cmk_cmk_forget_in_child(cmk_g.tokens[i]->cmk);
    cmk_record_set_writer(NULL);
    memset(&cmk_g, 0, sizeof(cmk_g));
    pool_open = false; /* the pool forgot its locks in its own handler */
}

static void atfork_register(void)
{
    (void)pthread_atfork(NULL, NULL, atfork_child);
}

static CK_RV check_args(const CK_C_INITIALIZE_ARGS *args)
{
    if (args == NULL)
        return CKR_OK;
    if (args->flags & ~(CKF_LIBRARY_CANT_CREATE_OS_THREADS | CKF_OS_LOCKING_OK))
        return CKR_ARGUMENTS_BAD;
    return CKR_OK;
}

/* Loaded by p11-kit into every program that enumerates modules, the
 * module must not complain where nobody configured it: with no config
 * named (reserved string, environment) and no default file, it starts
 * with no slots. A named config that is missing is an error. */
static bool nothing_configured(const char *reserved, const char *path)
{
    struct stat st;

    return (reserved == NULL || *reserved == '\0') &&
           secure_getenv(CMK_CONFIG_ENV) == NULL && stat(path, &st) != 0 &&
           errno == ENOENT;
}

static CK_RV load_config(const CK_C_INITIALIZE_ARGS *args)
{
    const char *reserved = args ? (const char *)args->pReserved : NULL;
    char msg[1024];
    char *path;
    cmk_err err;

    path = cmk_config_locate(reserved);
    if (path == NULL)
        return CKR_HOST_MEMORY;
    if (nothing_configured(reserved, path)) {
        cmk_log_debug("no configuration at %s: no slots", path);
        free(path);
        cmk_g.cfg = calloc(1, sizeof(*cmk_g.cfg));
        return cmk_g.cfg != NULL ? CKR_OK : CKR_HOST_MEMORY;
    }
    err = cmk_config_load(path, &cmk_g.cfg, msg, sizeof(msg));
    if (err != CMK_OK)
        cmk_log_error("configuration refused: %s", msg);
    free(path);
    return err == CMK_OK ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV build_tokens(void)
{
    const struct cmk_config *cfg = cmk_g.cfg;
    size_t i;
    CK_RV rv;

    cmk_g.tokens = calloc(cfg->n_tenants + 1, sizeof(*cmk_g.tokens));
    if (cmk_g.tokens == NULL)
        return CKR_HOST_MEMORY;
    for (i = 0; i < cfg->n_tenants; i++) {
        rv = cmk_token_new(&cfg->tenants[i], (CK_SLOT_ID)i, cfg,
                           &cmk_g.tokens[i]);
        if (rv != CKR_OK)
            return rv;
        cmk_cmk_set_audit(cmk_g.tokens[i]->cmk, cmk_g.audit);
        cmk_keypair_set_audit(cmk_g.tokens[i], cmk_g.audit);
        cmk_g.n_tokens++;
    }
    return CKR_OK;
}

/* libcurl's asynchronous resolver runs a thread per lookup: an
 * application that forbids threads cannot have a network provider. */
static CK_RV check_threads(const CK_C_INITIALIZE_ARGS *args)
{
    const struct cmk_config *cfg = cmk_g.cfg;
    size_t i;

    if (args == NULL || !(args->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS))
        return CKR_OK;
    if (!(curl_version_info(CURLVERSION_NOW)->features &
          CURL_VERSION_ASYNCHDNS))
        return CKR_OK;
    for (i = 0; i < cfg->n_tenants; i++) {
        if (strcmp(cfg->tenants[i].kms.provider, "local") != 0) {
            cmk_log_error("tenant \"%s\": provider %s needs threads, which "
                          "the application forbids",
                          cfg->tenants[i].kms.label,
                          cfg->tenants[i].kms.provider);
            return CKR_NEED_TO_CREATE_THREADS;
        }
    }
    return CKR_OK;
}

static CK_RV open_audit(const CK_C_INITIALIZE_ARGS *args)
{
    const struct cmk_config *cfg = cmk_g.cfg;
    const struct cmk_tenant_cfg *kt = cmk_config_audit_key_tenant(cfg);
    struct cmk_audit_cfg ac = cfg->audit;

    if (cfg->audit.file == NULL)
        return CKR_OK;
    /* The file's helper thread (audit/afile.h) only where allowed. */
    ac.no_threads =
        args != NULL && (args->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS);
    /* A new chain key, sealed by the key tenant's CMK (a KMS call: no
     * lock is held here). */
    if (cmk_audit_seal_open(&ac, kt != NULL ? &kt->kms : NULL, &cmk_g.audit) ==
        CMK_OK) {
        cmk_record_set_writer(cmk_g.audit);
        return cmk_record_event("config_load", "C_Initialize", NULL, -1, CKR_OK,
                                cfg->path);
    }
    cmk_log_error("audit file %s cannot be opened%s", cfg->audit.file,
                  cfg->audit.required ? "" : "; going on without it");
    return cfg->audit.required ? CKR_DEVICE_ERROR : CKR_OK;
}

static bool any_object(void *arg, struct cmk_object *o)
{
    (void)arg;
    (void)o;
    return true;
}

static void teardown(void)
{
    size_t i;

    for (i = 0; i < cmk_g.n_tokens; i++)
        (void)cmk_session_close_all(cmk_g.tokens[i]);
    /* Every token's objects in one pass of the handle table: each token
     * on its own would pass over all of them, tokens x objects (10 000
     * tenants, each with its CMK object: 10^8 visits). */
    cmk_object_remove_if(NULL, any_object, NULL);
    for (i = 0; i < cmk_g.n_tokens; i++)
        cmk_token_free(cmk_g.tokens[i]);
    free(cmk_g.tokens);
    cmk_handles_fini();
    cmk_record_set_writer(NULL);
    cmk_audit_close(cmk_g.audit);
    cmk_config_free(cmk_g.cfg);
    cmk_mech_fini();
    if (pool_open) /* last: every secret is freed by now */
        cmk_secpool_fini();
    pool_open = false;
    cmk_lock_reset();
    memset(&cmk_g, 0, sizeof(cmk_g));
}

CK_RV cmk_module_initialize(const CK_C_INITIALIZE_ARGS *args)
{
    CK_RV rv;

    if (cmk_g.initialized)
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    rv = check_args(args);
    if (rv == CKR_OK)
        rv = cmk_lock_setup(args);
    if (rv != CKR_OK)
        return rv;
    (void)pthread_once(&atfork_once, atfork_register);
    cmk_log_once_reset(); /* a new configuration: say its problems anew */
    if (sodium_init() < 0)
        return CKR_GENERAL_ERROR;
    /* First: every lock, the secure pool's included, follows the model
     * cmk_lock_setup chose. */
    if (cmk_secpool_init() != CMK_OK) {
        cmk_lock_reset();
        return CKR_HOST_MEMORY;
    }
    pool_open = true;
    rv = cmk_handles_init();
    if (rv == CKR_OK)
        rv = cmk_mech_init();
    if (rv == CKR_OK)
        rv = load_config(args);
    if (rv == CKR_OK)
        rv = check_threads(args);
    if (rv == CKR_OK)
        rv = open_audit(args);
    if (rv == CKR_OK)
        rv = build_tokens();
    /* Recorded whatever the result, once there is a writer. */
    rv = cmk_record_event("initialize", "C_Initialize", NULL, -1, rv, NULL);
    if (rv != CKR_OK) {
        teardown();
        return rv;
    }
    cmk_g.pid = getpid();
    cmk_g.initialized = true;
    return CKR_OK;
}

CK_RV cmk_module_finalize(void)
{
    CK_RV rv = cmk_module_check();

    if (rv != CKR_OK)
        return rv;
    /* Operations still active end first, each with its record; then
     * closing the writer writes its finalize record, which lists the
     * last record of every chain, for cmk-tool audit verify. */
    for (size_t i = 0; i < cmk_g.n_tokens; i++)
        cmk_session_finalize_token(cmk_g.tokens[i]);
    teardown();
    return CKR_OK;
}

CK_RV cmk_module_check(void)
{
    if (!cmk_g.initialized)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    return CKR_OK;
}

struct cmk_token *cmk_module_token(CK_SLOT_ID id)
{
    if (id >= cmk_g.n_tokens)
        return NULL;
    return cmk_g.tokens[id];
}
