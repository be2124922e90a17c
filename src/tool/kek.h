/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: what cmk-tool provision and rotate-kek share about a tenant KEK:
 * making one, sealing it through the tenant's current CMK (checked to
 * open again), its base64 forms and commitment, and unsealing a sealed
 * KEK checked against its commitment. Every function prints its own
 * message on failure, never key material.
 */
#ifndef CMK_TOOL_KEK_H
#define CMK_TOOL_KEK_H

#include <stddef.h>
#include <stdint.h>

#include "core/settings.h"
#include "util/secmem.h"

/* 32 random bytes (libsodium) in secure memory. TOOL_OK or TOOL_FAIL. */
int tool_kek_random(struct cmk_secret *kek);
/* Seals kek through t's current CMK into *blob and checks that the blob
 * opens to the same bytes before anyone relies on it. */
int tool_kek_seal(const struct cmk_tenant_cfg *t, const struct cmk_secret *kek,
                  struct cmk_buf *blob);
/* Heap base64 (original alphabet, padded) of blob and of kek's
 * commitment for tenant t (free() both, also on failure). */
int tool_kek_encode(const struct cmk_tenant_cfg *t,
                    const struct cmk_secret *kek, const struct cmk_buf *blob,
                    char **b64, char **commit64);
/* Opens a sealed KEK of t through its CMK (current or previous versions)
 * and checks it against commit. Under dual control blob is the customer
 * half and pblob the provider half (sealed by dual_control.key, required
 * then, ignored otherwise): the KEK is derived from both. TOOL_FAIL
 * names what went wrong. */
int tool_kek_unseal(const struct cmk_tenant_cfg *t, const uint8_t *blob,
                    size_t blob_len, const uint8_t *pblob, size_t pblob_len,
                    const uint8_t commit[CMK_KEK_COMMITMENT_LEN],
                    struct cmk_secret *kek);
/* Heap base64 of p (NULL when out of memory). */
char *tool_base64(const uint8_t *p, size_t len);
/* Base64 s into exactly len bytes at out; false for anything else. */
int tool_unbase64(const char *s, uint8_t *out, size_t len);

/* One entry of a tenant's "previous_keks" as the config file holds it. */
struct tool_prev_kek {
    const char *kek;          /* base64 of the sealed KEK (customer half) */
    const char *provider_kek; /* dual control: base64 of the provider
                               * half; NULL: none */
    const char *commitment;   /* base64 */
    const char *expires;      /* "YYYY-MM-DDTHH:MM:SSZ" */
};
/* What tool_set_tenant_keks writes as the tenant's current KEK: "kek",
 * under dual control "dual_control.kek" (provider_kek; NULL: left as
 * it is) and "kek_commitment". */
struct tool_cur_kek {
    const char *kek, *provider_kek, *commitment; /* base64 */
};
/* In one atomic replace of the config file (config_keks.c): sets the
 * tenant's current KEK (cur NULL: unchanged) and its "previous_keks" to
 * the n entries p, newest first (n 0: the member is removed). TOOL_OK or
 * TOOL_FAIL (message printed). */
int tool_set_tenant_keks(const char *path, const char *label,
                         const struct tool_cur_kek *cur,
                         const struct tool_prev_kek *p, size_t n);

/* What tool_edit_prev_kek_blobs (a tool_tenant_edit) gets: for each of
 * the tenant's n previous_keks entries, in order, its commitment (base64,
 * which the entry in the file must still have) and its new "kek" (base64;
 * NULL: left as it is). */
struct tool_prev_blobs {
    const char *const *kek;
    const char *const *commitment;
    size_t n;
};
struct json_t;
int tool_edit_prev_kek_blobs(struct json_t *t, void *arg);

#endif /* CMK_TOOL_KEK_H */
