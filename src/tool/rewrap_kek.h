/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the per-blob transform of "cmk-tool rewrap --kek-path": a blob an
 * application got from C_WrapKey on the CMK's KEK path is unwrapped with
 * the tenant KEK that opens it (the current one or a previous one still
 * in its overlap window) and wrapped again with the current KEK. The
 * rewrap driver runs it as tool_rewrap_kek (rewrap.h); the functions
 * below are that kind's steps.
 *
 * Blob forms, by --mech: "kwp" RFC 5649 (CKM_AES_KEY_WRAP_KWP, or
 * SoftHSM's CKM_AES_KEY_WRAP_PAD), "kw" RFC 3394 (CKM_AES_KEY_WRAP),
 * "gcm": the 12-byte IV the application gave C_WrapKey, then its output
 * (ciphertext and 16-byte tag, no AAD); a rewrapped GCM blob gets a
 * fresh random IV in the same form.
 */
#ifndef CMK_TOOL_REWRAP_KEK_H
#define CMK_TOOL_REWRAP_KEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/settings.h"
#include "util/secmem.h"

#define TOOL_REWRAP_GCM_IV 12
#define TOOL_REWRAP_GCM_TAG 16
#define TOOL_REWRAP_KEK_MAX 65536 /* bytes of one blob */

enum tool_rewrap_kek_mech {
    TOOL_RWK_KWP,
    TOOL_RWK_KW,
    TOOL_RWK_GCM,
};

/* --mech NAME: "kwp", "kw" or "gcm"; false for anything else. */
bool tool_rewrap_kek_mech(const char *name, enum tool_rewrap_kek_mech *out);

struct tool_rewrap_kek;

/* The tenant's KEKs, unsealed once through its CMK and each checked
 * against its commitment: the current one and every previous one whose
 * "expires" has not come (an expired one is never unsealed). TOOL_USAGE
 * for a tenant without a committed KEK, TOOL_FAIL when one cannot be
 * unsealed (message printed). */
int tool_rewrap_kek_open(const struct cmk_tenant_cfg *t,
                         enum tool_rewrap_kek_mech mech,
                         struct tool_rewrap_kek **out);
void tool_rewrap_kek_close(struct tool_rewrap_kek *x); /* wipes; NULL-safe */

/* One blob (ctx: a struct tool_rewrap_kek). *already true when the
 * current KEK opens it: out stays empty, nothing to write. Else out is
 * the blob wrapped under the current KEK. TOOL_FAIL, out empty and no
 * message (the driver names the blob), when no KEK opens it or it is
 * malformed (wrong length); the unwrapped key never leaves secure
 * memory and is wiped. */
int tool_rewrap_kek_one(void *ctx, const uint8_t *in, size_t len,
                        struct cmk_buf *out, bool *already);

#endif /* CMK_TOOL_REWRAP_KEK_H */
