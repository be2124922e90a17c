/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: what the other files of keys (reseal.c) see of a CMK whose state
 * cmk.c owns: its versions and one provider call made through them
 * (request filled as cmk.c fills it, refusals and audit records as
 * every provider call of cmk.c has them).
 */
#ifndef CMK_KEYS_CMK_INT_H
#define CMK_KEYS_CMK_INT_H

#include <stdint.h>

#include "keys/cmk.h"
#include "mech/envelope.h"

/* One CMK version: a provider instance bound to one key reference. */
struct cmk_version {
    const struct cmk_provider_ops *ops;
    void *st;            /* ops->state_size bytes */
    const char *key_ref; /* borrowed from the config */
    char key_id[256];
};

/* The current version (the config's "key"). */
const struct cmk_version *cmk_cmk_current(const struct cmk_cmk *c);
/* The version a parsed envelope names (by key id, else by the exact key
 * that sealed it), or NULL. */
const struct cmk_version *
cmk_cmk_version_of(const struct cmk_cmk *c, const struct cmk_envelope_view *ev);
/* Fills rq for a call to v for purpose (tenant, key reference, context;
 * outputs cleared). CMK_E_ARGS for a bad purpose. */
cmk_err cmk_cmk_call_begin(const struct cmk_cmk *c, const struct cmk_version *v,
                           enum cmk_purpose purpose,
                           struct cmk_req *rq) CMK_WUR;
/* After the provider call op to v that began at start_us (monotonic
 * microseconds) ended with err: a key refusal purges what c caches, and
 * the call is recorded in c's audit. Returns err, or the audit's error
 * when a required record could not be written. */
cmk_err cmk_cmk_call_end(struct cmk_cmk *c, const struct cmk_version *v,
                         const char *op, const struct cmk_req *rq,
                         int64_t start_us, cmk_err err) CMK_WUR;

#endif /* CMK_KEYS_CMK_INT_H */
