/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: a tenant's CMK health (healthy, or unhealthy with a reason from
 * include/cmk-pkcs11.h CMK_HEALTH_*, and when it was last checked), set
 * from every KMS answer about the current CMK version, and the circuit
 * breaker that fails KMS calls fast while the reason will not go away
 * within a call (README, "Health").
 *
 * Thread safety: lock-free. The state is a few atomics; a change of
 * reason is one atomic exchange, so exactly one thread sees each change
 * and writes its one cmk_health_changed record (no lock is held while it
 * writes). Nothing here is held across a provider call.
 */
#ifndef CMK_KEYS_HEALTH_H
#define CMK_KEYS_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include "providers/provider.h"
#include "util/err.h"

struct cmk_health;
struct cmk_audit;

/* The config's "health" object (keys/health_cfg.c). */
struct cmk_health_opts {
    bool breaker;          /* default true: fail fast while unhealthy */
    unsigned probe_min_ms; /* default 1000: first wait before a probe */
    unsigned probe_max_ms; /* default 60000: the doubling stops there */
};

/* An answer that tells nothing about the key (throttled, a bad
 * ciphertext, a malformed answer): health stays as it is. */
#define CMK_HEALTH_NO_VERDICT ((unsigned long)-1)

/* What a provider call's outcome says: CMK_HEALTH_HEALTHY for success,
 * a reason, or CMK_HEALTH_NO_VERDICT. err gives the reason (disabled,
 * access denied, not found, unreachable for network, timeout and KMS
 * internal errors after the retries, the KEK commitment), which the
 * provider's health_reason slot may make precise from code (ops and
 * code may be NULL). */
unsigned long cmk_health_verdict(const struct cmk_provider_ops *ops,
                                 cmk_err err, const char *code);
/* Whether a reason fails calls fast (disabled, pending deletion, access
 * denied, not found, unreachable, another unusable key state). */
bool cmk_health_is_breaker_reason(unsigned long reason);
/* The internal error a call failed fast for reason gets. */
cmk_err cmk_health_reason_err(unsigned long reason);
/* "healthy", "disabled", "pending_deletion", ... ("unknown" otherwise). */
const char *cmk_health_reason_name(unsigned long reason);

/* tenant is borrowed (the config outlives h); ops is the provider of the
 * current CMK version. Healthy, never checked, options at their
 * defaults. */
cmk_err cmk_health_new(const char *tenant, const struct cmk_provider_ops *ops,
                       struct cmk_health **out) CMK_WUR;
void cmk_health_free(struct cmk_health *h); /* NULL-safe */

/* Before the calls start (C_Initialize, a command). */
void cmk_health_set_opts(struct cmk_health *h, const struct cmk_health_opts *o);
/* What h is about when not the tenant's CMK: kind and name (borrowed),
 * e.g. "key pair", "tls"; its records' detail starts "key pair tls: ".
 * Before the calls start. */
void cmk_health_set_subject(struct cmk_health *h, const char *kind,
                            const char *name);
/* cmk_health_changed records go to a (NULL: none). */
void cmk_health_set_audit(struct cmk_health *h, struct cmk_audit *a);

/* Before a provider call about the current CMK: CMK_OK to go on (the
 * tenant is healthy, the breaker is off or the provider is local, or
 * this call is the one probe of the interval), else the error of the
 * reason, with ulDeviceError noted as (provider << 16) | CMK_DEV_BREAKER
 * | reason and no KMS call to be made. */
cmk_err cmk_health_enter(struct cmk_health *h) CMK_WUR;
/* After it, on the same thread: the answer (err before any audit
 * failure, rq's provider_code and request_id). A change of reason is
 * one cmk_health_changed record (tenant, provider, result, detail
 * "healthy -> unhealthy (disabled)", provider_code, request_id: the
 * kms_call record of the same request_id names the operation); the
 * breaker opens, waits twice as long after a failed probe (up to
 * probe_max_ms), or closes. CMK_E_IO when that record could not be
 * written and the audit is required; CMK_OK otherwise. */
cmk_err cmk_health_answer(struct cmk_health *h, const struct cmk_req *rq,
                          cmk_err err) CMK_WUR;

/* The last known state: reason and the wall-clock second of the answer
 * that set it (0: never). Lock-free. */
struct cmk_health_state {
    unsigned long reason;
    int64_t checked_s;
};
void cmk_health_get(const struct cmk_health *h, struct cmk_health_state *out);

#endif /* CMK_KEYS_HEALTH_H */
