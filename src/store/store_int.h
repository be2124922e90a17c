/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store (internal): shared by store.c (names, keys, sealing, files),
 * store_manifest.c (the sealed manifest) and store_ops.c (locked
 * reads and compare-and-swap writes). Not for use outside the store.
 */
#ifndef CMK_STORE_INT_H
#define CMK_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "store/store.h"
#include "util/secmem.h"

#define CMK_STORE_FILE_MAX (1024 * 1024)
#define CMK_STORE_MANIFEST "manifest"
#define CMK_STORE_LOCK ".lock"

bool cmk_store_is_name(const char *s);
/* "<hex16>.obj" exactly. */
bool cmk_store_is_obj_file(const char *s);
cmk_err cmk_store_derive_key(const uint8_t *kek, size_t kek_len,
                             struct cmk_secret *key) CMK_WUR;

/* The store keys one operation opens files with (store_keys.c): key 0
 * from loc->kek (every write), then one per previous KEK loc->old gives,
 * derived on first need (reads only). */
#define CMK_STORE_KEYS (1 + CMK_STORE_OLD_MAX)
struct cmk_store_keys {
    const struct cmk_store_loc *loc;
    struct cmk_secret k[CMK_STORE_KEYS];
    bool asked[CMK_STORE_KEYS]; /* derived, or found to be absent */
};
/* Derives key 0; CMK_E_NOMEM, CMK_E_CRYPTO. */
cmk_err cmk_store_keys_init(struct cmk_store_keys *ks,
                            const struct cmk_store_loc *loc) CMK_WUR;
void cmk_store_keys_fini(struct cmk_store_keys *ks); /* wipes */
/* Key i (0: current), or NULL when there is none: callers try every i
 * below CMK_STORE_KEYS, since an absent (expired) previous KEK does not
 * end the list. */
const struct cmk_secret *cmk_store_keys_at(struct cmk_store_keys *ks, size_t i);

void cmk_store_put_be(uint8_t *p, uint64_t v, size_t n);
uint64_t cmk_store_get_be(const uint8_t *p, size_t n);

/* Size of a store file of hdr_len header bytes and pt_len bytes of
 * sealed payload (object files of either format, the manifest): the one
 * size function of the format. SIZE_MAX when it does not fit a size_t. */
size_t cmk_store_file_size(size_t hdr_len, size_t pt_len);

/* out = hdr | nonce | XChaCha20-Poly1305(pt) | tag (mech/seal.h), AAD
 * tenant | 0 | file | 0 | hdr. */
cmk_err cmk_store_seal_raw(const char *tenant, const struct cmk_secret *key,
                           const char *file, const uint8_t *hdr, size_t hdr_len,
                           const uint8_t *pt, size_t pt_len,
                           struct cmk_buf *out) CMK_WUR;
cmk_err cmk_store_unseal_raw(const char *tenant, const struct cmk_secret *key,
                             const char *file, const struct cmk_buf *in,
                             size_t hdr_len, bool bind,
                             struct cmk_secret *pt) CMK_WUR;

/* Object files (name without ".obj"); unseal reads both formats. */
cmk_err cmk_store_seal_obj(const char *tenant, const struct cmk_secret *key,
                           const char *name, uint64_t version,
                           const struct cmk_attrs *attrs,
                           struct cmk_buf *out) CMK_WUR;
cmk_err cmk_store_unseal_obj(const char *tenant, const struct cmk_secret *key,
                             const char *name, const struct cmk_buf *in,
                             uint64_t *version, struct cmk_attrs *out,
                             const char **why) CMK_WUR;
bool cmk_store_is_format1(const struct cmk_buf *in);

cmk_err cmk_store_make_dir(const char *dir) CMK_WUR;
cmk_err cmk_store_fsync_dir(const char *dir) CMK_WUR;
const char *cmk_store_errstr(int e, char *buf, size_t len);
/* Atomic replace of dir/file; st (may be NULL) gets the new file's stamp. */
cmk_err cmk_store_write_atomic(const char *dir, const char *file,
                               const struct cmk_buf *data,
                               struct cmk_store_stamp *st) CMK_WUR;
cmk_err cmk_store_read_file(int dfd, const char *file, struct cmk_buf *out,
                            struct cmk_store_stamp *stamp,
                            const char **why) CMK_WUR;
cmk_err cmk_store_lstat(const char *path, struct cmk_store_stamp *st) CMK_WUR;
void cmk_store_stamp_of(const struct stat *s, struct cmk_store_stamp *st);

/* ---- Manifest (store_manifest.c) ---- */

struct cmk_manifest_entry {
    char name[CMK_STORE_NAME_LEN + 1];
    uint64_t committed; /* 0: being created */
    uint64_t pending;   /* 0: no write in flight */
};

struct cmk_manifest {
    bool exists;
    uint64_t gen;
    struct cmk_manifest_entry *v; /* sorted by name */
    size_t n, cap;
    struct cmk_store_stamp stamp; /* of the file read or written */
    size_t key; /* the store key that opened it (0: the current one) */
};

void cmk_manifest_clear(struct cmk_manifest *m);
/* Binary search by name; add and del keep v sorted and move entries, so
 * a pointer into v is good until the next add or del. */
struct cmk_manifest_entry *cmk_manifest_find(struct cmk_manifest *m,
                                             const char *name);
/* Adds name (committed 0, pending 0); CMK_E_NOMEM, CMK_E_TOO_LARGE. */
cmk_err cmk_manifest_add(struct cmk_manifest *m, const char *name,
                         struct cmk_manifest_entry **out) CMK_WUR;
void cmk_manifest_del(struct cmk_manifest *m, const char *name);
/* Reads and opens dir's manifest with the first of ks's keys that opens
 * it (m->exists false when there is none). CMK_E_ROLLBACK when its
 * generation is below *max_gen, or no key opens it (logged). */
cmk_err cmk_manifest_read(int dfd, const struct cmk_store_loc *loc,
                          struct cmk_store_keys *ks,
                          struct cmk_manifest *m) CMK_WUR;
/* Writes m at generation m->gen + 1 (m->gen updated, max_gen raised). */
cmk_err cmk_manifest_write(const struct cmk_store_loc *loc,
                           const struct cmk_secret *key,
                           struct cmk_manifest *m) CMK_WUR;
/* Raises *max_gen to gen (atomic; NULL max_gen: nothing). */
void cmk_manifest_seen(const struct cmk_store_loc *loc, uint64_t gen);

#endif /* CMK_STORE_INT_H */
