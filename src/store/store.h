/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: the tenant's token-object store on disk. One file per object,
 * "<hex16>.obj" in the tenant's store directory (created 0700), sealed with
 * XChaCha20-Poly1305 under a key derived from the tenant KEK
 * (HKDF-SHA256, info "cmk-pkcs11 object store v1"), plus one sealed
 * manifest that binds every object to its current version. Files are
 * written atomically (temp file in the same directory, fsync, rename,
 * fsync dir): a reader sees the old or the new file, never half of one.
 *
 * Object file, format 2:
 *   "CMKO" | u8 2 | u64 BE version | 24-byte nonce | sealed payload
 *   AAD = tenant | 0x00 | "<name>.obj" | 0x00 | the first 13 header bytes
 * Format 1 (read only, migrated): "CMKO" | u8 1 | nonce | sealed payload,
 *   AAD = tenant | 0x00 | "<name>.obj"; its version counts as 1.
 * Payload: u32 BE count, then per attribute: u64 BE type, u32 BE length,
 * bytes. CKA_VALUE is one of the attributes inside the sealed payload.
 *
 * Manifest "manifest":
 *   "CMKM" | u8 1 | 24-byte nonce | sealed payload, AAD = tenant | 0x00 |
 *   "manifest"; payload: u64 BE generation, u32 BE count, then per object
 *   16 name chars, u64 BE committed version, u64 BE pending version.
 * The generation grows with every manifest write. A process remembers the
 * highest generation it has seen (max_gen, kept per store for the life of
 * the process by token_store.c) and refuses an older manifest.
 *
 * Rules readers apply: an object file loads only when the manifest lists
 * its name and its version is the committed one (or the pending one of a
 * write that was interrupted between its renames); a file the manifest
 * does not list (deleted, replayed) or with another version (stale,
 * replayed) is refused, as is a listed name whose file is missing. Each is
 * logged by name, never by content.
 *
 * Locking: "<dir>/.lock" is flock()ed, shared by readers, exclusive by
 * writers, so a write (manifest, object, manifest) is seen whole. A write
 * is a compare-and-swap: it names the version it was based on and fails
 * with CMK_E_CONFLICT when the object on disk has moved on.
 *
 * Migration: a store with format-1 files and no manifest is adopted on
 * first use (every readable file listed at version 1; first-use trust).
 * Format-2 files without a manifest mean the manifest was removed: the
 * store is refused (CMK_E_ROLLBACK) rather than adopted.
 */
#ifndef CMK_STORE_H
#define CMK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/attrs.h"
#include "util/err.h"
#include "util/secmem.h"

#define CMK_STORE_NAME_LEN 16 /* hex chars, without ".obj" */

/* Base version for cmk_store_put: the object must not exist yet. */
#define CMK_STORE_NEW 0
/* Base version that matches whatever is on disk (tools, tests). */
#define CMK_STORE_ANY UINT64_MAX

/* Most previous KEKs a store operation tries (loc->old). */
#define CMK_STORE_OLD_MAX 4

/* Where a store is and what opens it. max_gen (may be NULL: no memory)
 * is the highest manifest generation this process has seen; updated
 * atomically, so one counter may be shared by threads.
 * old (NULL: none) gives the previous KEKs of a data-key rotation, for
 * reading files written before it: old(old_arg, i, kek) fills *kek
 * (secure memory, freed by the store) with previous KEK i (0 the newest,
 * at most CMK_STORE_OLD_MAX) and returns CMK_OK, or an error when there
 * is none (past the end, expired); the store asks only when the current
 * KEK does not open a file, once per operation and KEK. Every write,
 * manifest included, is sealed under kek. */
struct cmk_store_loc {
    const char *dir;
    const char *tenant;
    const uint8_t *kek;
    size_t kek_len;
    uint64_t *max_gen;
    cmk_err (*old)(void *old_arg, size_t i, struct cmk_secret *kek);
    void *old_arg;
};

/* Identity of a file as the file system reports it: a rename, a rewrite
 * in place or a touch changes at least one field (ctime cannot be set). */
struct cmk_store_stamp {
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
};

/* What a load or write saw of one object. */
struct cmk_store_meta {
    uint64_t version;
    struct cmk_store_stamp stamp;
};

/* Random new object name (16 lowercase hex chars + NUL). */
void cmk_store_new_name(char name[CMK_STORE_NAME_LEN + 1]);

bool cmk_store_stamp_equal(const struct cmk_store_stamp *a,
                           const struct cmk_store_stamp *b);

/* One lstat of dir/name.obj (no lock, no KEK): CMK_OK, or
 * CMK_E_KEY_NOT_FOUND when there is no such file, CMK_E_IO. */
cmk_err cmk_store_stat(const char *dir, const char *name,
                       struct cmk_store_stamp *st) CMK_WUR;
/* The same for the manifest; a missing one gives an all-zero stamp. */
cmk_err cmk_store_stat_manifest(const char *dir,
                                struct cmk_store_stamp *st) CMK_WUR;

/* Seals attrs (including CKA_VALUE, held in secure memory by attrs) into
 * dir/name.obj at the next version and records it in the manifest, under
 * the exclusive lock. base: the version the caller's copy came from
 * (CMK_STORE_NEW for a new object, CMK_STORE_ANY for no check).
 * CMK_E_CONFLICT when the object on disk is at another version (or exists
 * for CMK_STORE_NEW); CMK_E_ROLLBACK when the manifest is refused.
 * Creates dir (0700). meta (may be NULL) receives the new version and
 * file stamp. */
cmk_err cmk_store_put(const struct cmk_store_loc *loc, const char *name,
                      uint64_t base, const struct cmk_attrs *attrs,
                      struct cmk_store_meta *meta) CMK_WUR;

/* Removes name from the manifest, then its file. CMK_E_KEY_NOT_FOUND when
 * the manifest does not list it (already deleted); CMK_E_CONFLICT when
 * the object on disk is at another version than base. */
cmk_err cmk_store_delete(const struct cmk_store_loc *loc, const char *name,
                         uint64_t base) CMK_WUR;

/* Reads one object, checked against the manifest. CMK_E_KEY_NOT_FOUND
 * when it is not listed or its file is missing (deleted elsewhere);
 * CMK_E_ROLLBACK when the file or manifest is refused (stale or
 * replayed; logged); CMK_E_BAD_CIPHERTEXT / CMK_E_BAD_BLOB when damaged. */
cmk_err cmk_store_get(const struct cmk_store_loc *loc, const char *name,
                      struct cmk_attrs *attrs,
                      struct cmk_store_meta *meta) CMK_WUR;

/* Called once per good file; takes ownership of *attrs (and must leave it
 * freed or moved). */
typedef void (*cmk_store_cb)(void *arg, const char *name,
                             const struct cmk_store_meta *meta,
                             struct cmk_attrs *attrs);

/* Loads every object the manifest vouches for. Refused, damaged, foreign
 * or unreadable files are reported with cmk_log_error (naming the file,
 * never its content) and skipped. A missing dir is an empty store (unless
 * this process saw a manifest: then CMK_E_ROLLBACK). manifest (may be
 * NULL) receives the stamp of the manifest the load was checked against. */
cmk_err cmk_store_load_all(const struct cmk_store_loc *loc, cmk_store_cb cb,
                           void *arg, struct cmk_store_stamp *manifest) CMK_WUR;

/* ---- Data-key rotation (cmk-tool rotate-kek) ----
 * After the config names a new KEK (loc->kek) and keeps the old one in
 * its overlap window (loc->old), each object is re-sealed under the new
 * one in place: same name, same version, same attributes, one atomic
 * rename under the exclusive lock, so a reader sees the old or the new
 * file and both open (the old one through loc->old) while the window
 * lasts. */

struct cmk_store_name {
    char s[CMK_STORE_NAME_LEN + 1];
};

/* The names the manifest lists (shared lock), in *out (free()) and *n;
 * none for a store that does not exist yet. */
cmk_err cmk_store_names(const struct cmk_store_loc *loc,
                        struct cmk_store_name **out, size_t *n) CMK_WUR;

/* Under the exclusive lock: re-seals the manifest under loc->kek when an
 * older KEK sealed it, then, when name is not NULL, object name when an
 * older KEK opens it (*moved true; false when loc->kek already does).
 * CMK_E_KEY_NOT_FOUND when the manifest no longer lists name (deleted
 * meanwhile) or there is no store; CMK_E_ROLLBACK when its file is not at
 * the listed version; CMK_E_BAD_CIPHERTEXT when no KEK opens it (each
 * logged, by name only). */
cmk_err cmk_store_reseal(const struct cmk_store_loc *loc, const char *name,
                         bool *moved) CMK_WUR;

/* ---- Store id (store_id.c) ----
 * "<dir>/store-id": CMK_STORE_ID_LEN random bytes (libsodium randombytes,
 * through mech) as lowercase hex and a newline, mode 0600, written once
 * (temp file, fsync, link(2) so that it never replaces an existing id,
 * fsync of the directory). Token serials derive from it, so it never
 * changes once made. */
#define CMK_STORE_ID_FILE "store-id"
#define CMK_STORE_ID_LEN 16 /* 128 bits */

/* The store's id. Creates dir (0700) and the id when missing (the first
 * open of a store, or of one made before ids existed); two processes
 * doing so at once agree on one id. The file must pass the util/trust.h
 * checks and hold exactly 32 lowercase hex digits and a newline.
 * Refusals are logged naming the file: CMK_E_BAD_BLOB (wrong length or
 * content), CMK_E_CONFIG (untrusted: owner, mode, symlink), CMK_E_IO
 * (cannot be read or created, e.g. a read-only directory). */
cmk_err cmk_store_id(const char *dir, uint8_t id[CMK_STORE_ID_LEN]) CMK_WUR;

/* Simple forms for tools and tests: put with CMK_STORE_ANY, delete with
 * CMK_STORE_ANY (CMK_OK also when already gone), no generation memory. */
cmk_err cmk_store_write(const char *dir, const char *tenant, const uint8_t *kek,
                        size_t kek_len, const char *name,
                        const struct cmk_attrs *attrs) CMK_WUR;
cmk_err cmk_store_remove(const char *dir, const char *tenant,
                         const uint8_t *kek, size_t kek_len,
                         const char *name) CMK_WUR;

#endif /* CMK_STORE_H */
