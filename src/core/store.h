/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the tenant's token-object store on disk. One file per object,
 * "<hex16>.obj" in the tenant's store directory (created 0700), sealed with
 * XChaCha20-Poly1305 under a key derived from the tenant KEK
 * (HKDF-SHA256, info "cmk-pkcs11 object store v1"), with the tenant label
 * and file name as AAD. Written atomically (temp file in the same
 * directory, fsync, rename, fsync dir), so several processes may share the
 * store: a reader sees the old or the new file, never half of one.
 *
 * File layout: "CMKO" | u8 version 1 | 24-byte nonce | sealed payload.
 * Payload: u32 BE count, then per attribute: u64 BE type, u32 BE length,
 * bytes. CKA_VALUE is one of the attributes inside the sealed payload.
 */
#ifndef CMK_STORE_H
#define CMK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "core/attrs.h"
#include "util/err.h"

#define CMK_STORE_NAME_LEN 16 /* hex chars, without ".obj" */

/* Random new object name (16 lowercase hex chars + NUL). */
void cmk_store_new_name(char name[CMK_STORE_NAME_LEN + 1]);

/* Seals attrs (including CKA_VALUE, held in secure memory by attrs) into
 * dir/name.obj, replacing any old file atomically. Creates dir (0700). */
cmk_err cmk_store_write(const char *dir, const char *tenant,
                        const uint8_t *kek, size_t kek_len, const char *name,
                        const struct cmk_attrs *attrs) CMK_WUR;
/* CMK_OK also when the file is already gone. */
cmk_err cmk_store_remove(const char *dir, const char *name) CMK_WUR;

/* Called once per good file; takes ownership of *attrs (and must leave it
 * freed or moved). */
typedef void (*cmk_store_cb)(void *arg, const char *name,
                             struct cmk_attrs *attrs);

/* Loads every *.obj in dir. A damaged, foreign or unreadable file is
 * reported with cmk_log_error (naming the file, never its content) and
 * skipped. A missing dir is an empty store. */
cmk_err cmk_store_load_all(const char *dir, const char *tenant,
                           const uint8_t *kek, size_t kek_len,
                           cmk_store_cb cb, void *arg) CMK_WUR;

#endif /* CMK_STORE_H */
