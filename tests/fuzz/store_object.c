/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: the token-object store's files (store/store.c object files
 * of both formats, store/store_manifest.c manifest, store/store_ops.c
 * loading). A sealed payload cannot be forged by mutation, so most modes
 * seal the input under the fixed KEK first and let the parsers behind
 * the seal see it. Input: one mode byte, then
 *   0  an object file image, opened as is;
 *   1  u64 version, then a format-2 object payload, sealed;
 *   2  a format-1 object payload, sealed;
 *   3  a manifest payload, sealed, read from a store directory;
 *   4  a manifest file image, read as is;
 *   5  u16 length L, L bytes of manifest payload, u64 version, then an
 *      object payload: both sealed into a store directory, which is
 *      loaded whole.
 * An object that opens must seal and open again to the same attributes.
 */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mech/mech.h"
#include "store/store.h"
#include "store/store_int.h"
#include "tests/fuzz/fuzz.h"

#define TENANT "alpha"
#define NAME "0011223344556677"
#define OBJ_FILE NAME ".obj"

static const uint8_t g_kek[32] = "fuzz-store-kek-0123456789abcdefg";
static struct cmk_secret g_key;
static char g_dir[600];

static void setup(void)
{
    fz_check(cmk_mech_init() == CKR_OK, "cmk_mech_init");
    fz_check(cmk_store_derive_key(g_kek, sizeof(g_kek), &g_key) == CMK_OK,
             "derive key");
    snprintf(g_dir, sizeof(g_dir), "%s/store", fz_scratch());
}

static bool same_attrs(const struct cmk_attrs *a, const struct cmk_attrs *b)
{
    const struct cmk_attr *y;
    size_t i;

    if (a->n != b->n)
        return false;
    for (i = 0; i < a->n; i++) {
        y = cmk_attrs_get(b, a->v[i].type);
        if (y == NULL || y->len != a->v[i].len ||
            (y->len > 0 && memcmp(y->val, a->v[i].val, y->len) != 0))
            return false;
    }
    return true;
}

/* Opens an object file image; what opens must round-trip. */
static void open_obj(const struct cmk_buf *in)
{
    struct cmk_attrs a = {0}, b = {0};
    struct cmk_buf again = {0};
    const char *why = NULL;
    uint64_t v = 0, w = 0;

    if (cmk_store_unseal_obj(TENANT, &g_key, NAME, in, &v, &a, &why) !=
        CMK_OK) {
        fz_check(why != NULL && a.n == 0, "a refused object without reason");
        return;
    }
    fz_check(cmk_store_seal_obj(TENANT, &g_key, NAME, v, &a, &again) == CMK_OK,
             "an opened object does not seal");
    fz_check(cmk_store_unseal_obj(TENANT, &g_key, NAME, &again, &w, &b, &why) ==
                 CMK_OK,
             "a resealed object does not open");
    fz_check(v == w && same_attrs(&a, &b) && same_attrs(&b, &a),
             "object round trip differs");
    cmk_attrs_clear(&a);
    cmk_attrs_clear(&b);
    cmk_buf_free(&again);
}

/* hdr | nonce | seal(pt): the header bound as AAD when bind is set. */
static void seal(const char *file, const uint8_t *hdr, size_t hdr_len,
                 bool bind, const uint8_t *pt, size_t pt_len,
                 struct cmk_buf *out)
{
    struct cmk_buf body = {0};

    if (bind) {
        fz_check(cmk_store_seal_raw(TENANT, &g_key, file, hdr, hdr_len, pt,
                                    pt_len, out) == CMK_OK,
                 "seal");
        return;
    }
    fz_check(cmk_store_seal_raw(TENANT, &g_key, file, hdr, 0, pt, pt_len,
                                &body) == CMK_OK &&
                 cmk_buf_alloc(out, hdr_len + body.len) == CMK_OK,
             "seal");
    memcpy(out->p, hdr, hdr_len);
    memcpy(out->p + hdr_len, body.p, body.len);
    cmk_buf_free(&body);
}

static void obj_header(uint8_t hdr[13], uint8_t format, uint64_t version)
{
    memcpy(hdr, "CMKO", 4);
    hdr[4] = format;
    cmk_store_put_be(hdr + 5, version, 8);
}

static void sealed_obj(struct fz *f, uint8_t format)
{
    struct cmk_buf file = {0};
    uint8_t hdr[13];
    uint64_t version = format == 2 ? fz_u64(f) : 1;

    obj_header(hdr, format, version);
    seal(OBJ_FILE, hdr, format == 2 ? 13 : 5, format == 2, f->p, f->n, &file);
    open_obj(&file);
    cmk_buf_free(&file);
}

static void clean_dir(void)
{
    char p[700];

    snprintf(p, sizeof(p), "%s/%s", g_dir, CMK_STORE_MANIFEST);
    (void)unlink(p);
    snprintf(p, sizeof(p), "%s/%s", g_dir, OBJ_FILE);
    (void)unlink(p);
}

static void put_file(const char *name, const struct cmk_buf *b)
{
    char path[700];

    (void)mkdir(g_dir, 0700);
    fz_write(g_dir, name, b->p, b->len, path, sizeof(path));
}

static void read_manifest(void)
{
    struct cmk_store_loc loc = {g_dir, TENANT, g_kek, sizeof(g_kek),
                                NULL,  NULL,   NULL};
    struct cmk_manifest m = {0};
    struct cmk_store_keys ks;
    int dfd = open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t i;

    fz_check(dfd >= 0, "open store directory");
    fz_check(cmk_store_keys_init(&ks, &loc) == CMK_OK, "store key");
    if (cmk_manifest_read(dfd, &loc, &ks, &m) == CMK_OK) {
        for (i = 0; i < m.n; i++)
            fz_check(cmk_store_is_name(m.v[i].name), "bad manifest name");
    }
    cmk_store_keys_fini(&ks);
    cmk_manifest_clear(&m);
    close(dfd);
}

static void manifest(const uint8_t *pt, size_t len, bool sealed)
{
    static const uint8_t hdr[5] = {'C', 'M', 'K', 'M', 1};
    struct cmk_buf file = {0};

    if (sealed)
        seal(CMK_STORE_MANIFEST, hdr, sizeof(hdr), true, pt, len, &file);
    else
        fz_check(cmk_buf_dup(&file, pt, len) == CMK_OK, "out of memory");
    put_file(CMK_STORE_MANIFEST, &file);
    read_manifest();
    cmk_buf_free(&file);
    clean_dir();
}

static void drop(void *arg, const char *name, const struct cmk_store_meta *meta,
                 struct cmk_attrs *attrs)
{
    (void)meta;
    fz_check(strcmp(name, NAME) == 0, "loaded an object never written");
    *(size_t *)arg += 1;
    cmk_attrs_clear(attrs);
}

static void whole_store(struct fz *f)
{
    static const uint8_t mhdr[5] = {'C', 'M', 'K', 'M', 1};
    struct cmk_store_loc loc = {g_dir, TENANT, g_kek, sizeof(g_kek),
                                NULL,  NULL,   NULL};
    struct cmk_buf m = {0}, o = {0};
    const uint8_t *mp;
    uint8_t hdr[13];
    size_t mlen, loaded = 0;
    cmk_err err;

    mp = fz_bytes(f, fz_u16(f), &mlen);
    obj_header(hdr, 2, fz_u64(f));
    seal(CMK_STORE_MANIFEST, mhdr, sizeof(mhdr), true, mp, mlen, &m);
    seal(OBJ_FILE, hdr, sizeof(hdr), true, f->p, f->n, &o);
    put_file(CMK_STORE_MANIFEST, &m);
    put_file(OBJ_FILE, &o);
    err = cmk_store_load_all(&loc, drop, &loaded, NULL);
    fz_check(err != CMK_E_ARGS && loaded <= 1, "one file, several objects");
    cmk_buf_free(&m);
    cmk_buf_free(&o);
    clean_dir();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    struct cmk_buf raw = {0};
    uint8_t mode;

    if (g_key.p == NULL)
        setup();
    mode = fz_u8(&f);
    switch (mode % 6) {
    case 0:
        fz_check(cmk_buf_dup(&raw, f.p, f.n) == CMK_OK, "out of memory");
        open_obj(&raw);
        cmk_buf_free(&raw);
        break;
    case 1:
    case 2:
        sealed_obj(&f, mode % 6 == 1 ? 2 : 1);
        break;
    case 3:
    case 4:
        manifest(f.p, f.n, mode % 6 == 3);
        break;
    default:
        whole_store(&f);
        break;
    }
    return 0;
}
