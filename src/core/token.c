/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: tokens: slot and token information, login state and the CMK
 * object. One token per configured tenant; slot id = tenant index.
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "core/handles.h"
#include "core/keypair.h"
#include "core/object.h"
#include "core/pinguard.h"
#include "core/policy.h"
#include "core/record.h"
#include "core/session.h"
#include "core/token.h"
#include "core/token_store.h"
#include "keys/health.h"
#include "mech/hash.h"
#include "mech/pwhash.h"
#include "store/store.h"
#include "util/log.h"
#include "util/text.h"

#define MANUFACTURER "cmk-pkcs11"

/* CK_TOKEN_INFO.serialNumber: 16 hex digits of BLAKE2b-64 over the
 * tenant's key reference (provider and key id, ARN or path) and the
 * store's random id. Stable while both stay, and distinct between two
 * installations that give a tenant the same label (each store has its
 * own id). */
static CK_RV make_serial(struct cmk_token *t)
{
    static const char domain[] = "cmk-pkcs11 token serial v1";
    const struct cmk_kms_cfg *k = &t->cfg->kms;
    uint8_t id[CMK_STORE_ID_LEN], h[8];
    struct cmk_blake2b b;

    if (cmk_store_id(t->cfg->store_dir, id) != CMK_OK) {
        cmk_log_error("tenant \"%s\": no token serial without its store id "
                      "(above)",
                      k->label);
        return CKR_GENERAL_ERROR;
    }
    cmk_blake2b_init(&b, sizeof(h));
    cmk_blake2b_update(&b, domain, sizeof(domain)); /* with each NUL */
    cmk_blake2b_update(&b, k->provider, strlen(k->provider) + 1);
    cmk_blake2b_update(&b, k->key_ref, strlen(k->key_ref) + 1);
    cmk_blake2b_update(&b, id, sizeof(id));
    cmk_blake2b_final(&b, h);
    sodium_bin2hex(t->serial, sizeof(t->serial), h, sizeof(h));
    return CKR_OK;
}

static CK_RV add_cmk_object(struct cmk_token *t)
{
    char uid[sizeof("cmk-") + sizeof(t->serial)];
    struct cmk_attrs attrs = {0};
    CK_RV rv;

    rv = cmk_policy_cmk_object(t->cfg->cmk_label, t->cfg->cmk_id,
                               t->cfg->cmk_id_len, t->cfg->kms.provider,
                               t->cfg->kms.key_ref, &attrs);
    /* Stable and unique per token: "cmk-" and the token serial. */
    snprintf(uid, sizeof(uid), "cmk-%s", t->serial);
    if (rv == CKR_OK &&
        cmk_attrs_set(&attrs, CKA_UNIQUE_ID, uid, strlen(uid)) != CMK_OK)
        rv = CKR_HOST_MEMORY;
    if (rv == CKR_OK)
        rv = cmk_object_add(t, 0, NULL, &attrs, &t->cmk_obj);
    cmk_attrs_clear(&attrs);
    if (rv == CKR_OK)
        t->cmk_obj->is_cmk = true;
    return rv;
}

static CK_RV make_cache(struct cmk_token *t, const struct cmk_config *mc)
{
    t->cache_cfg = mc->cache.limits;
    t->cache_per_session = mc->cache.per_session;
    if (t->cache_per_session)
        return CKR_OK;
    return cmk_cache_new(&t->cache_cfg, &t->cache) == CMK_OK ? CKR_OK
                                                             : CKR_HOST_MEMORY;
}

static void flush_session_cache(void *arg, struct cmk_session *s)
{
    (void)arg;
    cmk_cache_flush(s->cache); /* the cache lock is a leaf */
}

/* The token's DEK caches, the session-scope ones too, through the session
 * table (no session lock taken: safe from inside an operation). */
static void flush_deks(struct cmk_token *t)
{
    cmk_cache_flush(t->cache);
    cmk_handles_each_session(t, flush_session_cache, NULL);
}

/* The KMS refused the tenant's key: nothing cached for it is served
 * again (DESIGN.md, "Cache"), and the audit file says so (the kms_call
 * record before it gives the provider's answer). */
static void refused(void *arg)
{
    struct cmk_token *t = arg;

    flush_deks(t);
    cmk_token_store_recheck(t);
    (void)cmk_record_event("cache_flush", NULL, t, -1, CKR_OK,
                           "the KMS refused the key");
}

CK_RV cmk_token_cmk_health_locked(struct cmk_token *t)
{
    struct cmk_health_state hs;

    cmk_health_get(cmk_cmk_health_of(t->cmk), &hs);
    return cmk_policy_cmk_health(&t->cmk_obj->attrs, (CK_ULONG)hs.reason,
                                 (CK_ULONG)hs.checked_s);
}

void cmk_token_flush(struct cmk_token *t)
{
    cmk_cmk_forget(t->cmk);
    flush_deks(t);
    cmk_token_store_recheck(t);
}

CK_RV cmk_token_new(const struct cmk_tenant_cfg *cfg, CK_SLOT_ID slot,
                    const struct cmk_config *mc, struct cmk_token **out)
{
    /* aligned: its roster's parts are on cache lines of their own */
    struct cmk_token *t = aligned_alloc(_Alignof(struct cmk_token), sizeof(*t));
    CK_RV rv;

    if (t == NULL)
        return CKR_HOST_MEMORY;
    memset(t, 0, sizeof(*t));
    t->cfg = cfg;
    t->slot = slot;
    t->logged_in = !cfg->login_required;
    rv = make_serial(t);
    if (rv == CKR_OK)
        rv = cmk_mutex_init(&t->lock);
    if (rv == CKR_OK && (rv = cmk_roster_init(&t->objects)) != CKR_OK)
        cmk_mutex_fini(&t->lock);
    if (rv != CKR_OK) {
        free(t);
        return rv;
    }
    if (cmk_cmk_open(&cfg->kms, mc->cache.limits.ttl_s, &t->cmk) != CMK_OK) {
        cmk_log_error("tenant \"%s\": its CMK could not be opened",
                      cfg->kms.label);
        cmk_token_free(t);
        return CKR_GENERAL_ERROR;
    }
    cmk_cmk_on_refusal(t->cmk, refused, t);
    cmk_health_set_opts(cmk_cmk_health_of(t->cmk), &mc->health);
    rv = cmk_token_store_init(t);
    if (rv == CKR_OK)
        rv = make_cache(t, mc);
    if (rv == CKR_OK)
        rv = add_cmk_object(t);
    if (rv == CKR_OK)
        rv = cmk_keypair_open_all(t, &mc->health);
    if (rv != CKR_OK) {
        cmk_token_free(t);
        return rv;
    }
    *out = t;
    return CKR_OK;
}

static bool any_object(void *arg, struct cmk_object *o)
{
    (void)arg;
    (void)o;
    return true;
}

void cmk_token_free(struct cmk_token *t)
{
    if (t == NULL)
        return;
    cmk_object_remove_if(t, any_object, NULL);
    cmk_keypair_close_all(t);
    cmk_cache_free(t->cache);
    cmk_cmk_close(t->cmk);
    cmk_token_store_fini(t);
    cmk_roster_fini(&t->objects);
    cmk_mutex_fini(&t->lock);
    free(t);
}

void cmk_token_slot_info(const struct cmk_token *t, CK_SLOT_INFO *info)
{
    char desc[80];

    snprintf(desc, sizeof(desc), "cmk-pkcs11 tenant %s", t->cfg->kms.label);
    memset(info, 0, sizeof(*info));
    cmk_blank_pad(info->slotDescription, sizeof(info->slotDescription), desc);
    cmk_blank_pad(info->manufacturerID, sizeof(info->manufacturerID),
                  MANUFACTURER);
    info->flags = CKF_TOKEN_PRESENT;
    info->hardwareVersion.major = 0;
    info->hardwareVersion.minor = 1;
    info->firmwareVersion.major = 0;
    info->firmwareVersion.minor = 1;
}

/* PKCS#11 3.0 section 5.3 (CK_TOKEN_INFO flags), from the shared counter
 * (pinguard.h): COUNT_LOW after a wrong PIN since the last good one,
 * FINAL_TRY when one more wrong PIN locks, LOCKED when locked. */
static CK_FLAGS pin_flags(const struct cmk_tenant_cfg *cfg)
{
    struct cmk_pin_state st;
    CK_FLAGS f = 0;

    if (cmk_pin_read(cfg->store_dir, &st) != CMK_OK)
        return 0; /* logged; C_Login fails with CKR_DEVICE_ERROR */
    if (st.failures > 0)
        f |= CKF_USER_PIN_COUNT_LOW;
    if (st.failures + 1 == cfg->max_pin_failures)
        f |= CKF_USER_PIN_FINAL_TRY;
    if (st.failures >= cfg->max_pin_failures)
        f |= CKF_USER_PIN_LOCKED;
    return f;
}

void cmk_token_info(struct cmk_token *t, CK_TOKEN_INFO *info)
{
    char model[17];

    snprintf(model, sizeof(model), "CMK %s", t->cfg->kms.provider);
    memset(info, 0, sizeof(*info));
    cmk_blank_pad(info->label, sizeof(info->label), t->cfg->kms.label);
    cmk_blank_pad(info->manufacturerID, sizeof(info->manufacturerID),
                  MANUFACTURER);
    cmk_blank_pad(info->model, sizeof(info->model), model);
    cmk_blank_pad(info->serialNumber, sizeof(info->serialNumber), t->serial);
    info->flags = CKF_RNG | CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED;
    if (t->cfg->login_required)
        info->flags |= CKF_LOGIN_REQUIRED | pin_flags(t->cfg);
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    cmk_mutex_lock(&t->lock);
    info->ulSessionCount = t->sessions;
    info->ulRwSessionCount = t->rw_sessions;
    cmk_mutex_unlock(&t->lock);
    info->ulMaxPinLen = 256;
    info->ulMinPinLen = 4;
    info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->hardwareVersion.minor = 1;
    info->firmwareVersion.minor = 1;
    cmk_blank_pad(info->utcTime, sizeof(info->utcTime), "");
}

static CK_RV set_logged_in(struct cmk_token *t, bool in)
{
    CK_RV rv = CKR_OK;

    cmk_mutex_lock(&t->lock);
    if (in && t->logged_in)
        rv = CKR_USER_ALREADY_LOGGED_IN;
    else if (!in && !t->logged_in)
        rv = CKR_USER_NOT_LOGGED_IN;
    else
        __atomic_store_n(&t->logged_in, in, __ATOMIC_RELEASE);
    cmk_mutex_unlock(&t->lock);
    return rv;
}

/* Waits out the delay the counter asks for (no lock is held: C_Login
 * runs without the session claim), then counts this attempt before the PIN
 * is checked (pinguard.h). A locked PIN is not checked at all. */
static CK_RV pin_gate(struct cmk_token *t, struct cmk_pin_state *st)
{
    enum cmk_pin_verdict v = CMK_PIN_LOCKED;
    unsigned wait_s = 0;

    for (;;) {
        if (cmk_pin_attempt(t->cfg->store_dir, t->cfg->max_pin_failures, &v,
                            &wait_s, st) != CMK_OK)
            return CKR_DEVICE_ERROR; /* logged; fail closed */
        if (v == CMK_PIN_GO)
            return CKR_OK;
        if (v == CMK_PIN_LOCKED)
            return CKR_PIN_LOCKED;
        cmk_pin_sleep(wait_s);
    }
}

/* This failure locked the PIN: a record of its own besides the login
 * failure, so an alert can key on it. */
static void locked_out(struct cmk_token *t, unsigned failures)
{
    char detail[64];

    snprintf(detail, sizeof(detail), "user PIN locked after %u failures",
             failures);
    cmk_log_error("tenant \"%s\": %s; cmk-tool pin-reset unlocks it",
                  t->cfg->kms.label, detail);
    (void)cmk_record_event("pin_locked", "C_Login", t, -1, CKR_PIN_LOCKED,
                           detail);
}

/* CKU_SO is a valid user type (PKCS#11 3.0 section 5.6, C_Login), checked
 * in the specification's order, but this token has no SO PIN: tokens are
 * provisioned with cmk-tool. No PIN can match one that does not exist, so
 * the last answer is CKR_PIN_INCORRECT (not counted against the user
 * PIN). */
static CK_RV so_login(struct cmk_token *t)
{
    bool ro;

    cmk_mutex_lock(&t->lock);
    ro = t->sessions > t->rw_sessions;
    cmk_mutex_unlock(&t->lock);
    if (ro)
        return CKR_SESSION_READ_ONLY_EXISTS;
    if (t->cfg->login_required && cmk_token_is_logged_in(t))
        return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    return CKR_PIN_INCORRECT;
}

CK_RV cmk_token_login(struct cmk_token *t, CK_USER_TYPE user,
                      const CK_UTF8CHAR *pin, size_t pin_len)
{
    struct cmk_pin_state st = {0, 0};
    CK_RV rv;

    if (user == CKU_CONTEXT_SPECIFIC)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (user == CKU_SO)
        return so_login(t);
    if (user != CKU_USER)
        return CKR_USER_TYPE_INVALID;
    if (!t->cfg->login_required || cmk_token_is_logged_in(t))
        return CKR_USER_ALREADY_LOGGED_IN;
    rv = pin_gate(t, &st);
    if (rv != CKR_OK)
        return rv;
    /* Slow by design (Argon2id); no lock is held meanwhile. */
    if (!cmk_pwhash_verify(t->cfg->pin_verifier, (const char *)pin, pin_len)) {
        if (st.failures >= t->cfg->max_pin_failures)
            locked_out(t, st.failures);
        return CKR_PIN_INCORRECT;
    }
    if (cmk_pin_reset(t->cfg->store_dir, NULL) != CMK_OK)
        cmk_log_error("tenant \"%s\": the failed-login count could not be "
                      "reset",
                      t->cfg->kms.label);
    rv = set_logged_in(t, true);
    if (rv == CKR_OK)
        (void)cmk_token_sync_store(t);
    if (rv == CKR_OK)
        cmk_keypair_retry(t);
    return rv;
}

/* What a user without login may not see: private objects and every token
 * object (they come back from the store at the next login). A key pair's
 * objects stay registered, invisible until the next login. */
static bool is_user_only_object(void *arg, struct cmk_object *o)
{
    (void)arg;
    return !o->is_cmk && o->kp == NULL && !cmk_object_is_visible(o, false);
}

CK_RV cmk_token_logout(struct cmk_token *t)
{
    CK_RV rv;

    if (!t->cfg->login_required)
        return CKR_USER_NOT_LOGGED_IN;
    rv = set_logged_in(t, false);
    if (rv != CKR_OK)
        return rv;
    /* PKCS#11 3.0 C_Logout: private session objects are destroyed and
     * handles to private objects become invalid. The sessions' operations
     * are ended by the caller (cmk_session_logout). */
    cmk_object_remove_if(t, is_user_only_object, NULL);
    cmk_token_store_logout(t); /* nothing of the store before login */
    cmk_cache_flush(t->cache);
    cmk_cmk_forget(t->cmk);
    return CKR_OK;
}
