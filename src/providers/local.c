/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: "local", a provider-managed 32-byte key in a 0600 file, used
 * with XChaCha20-Poly1305 and the encryption context as AAD.
 *
 * Ciphertext format: 24-byte random nonce || AEAD ciphertext || 16-byte tag
 * (mech/seal.h).
 * The key stays in the secure pool (locked, out of core dumps, wiped in a
 * forked child) from init to fini, and only there. Removing the key
 * file is how a user disables the key: every call checks that the file is
 * still there (one lstat) and answers CMK_E_KEY_DISABLED when it is gone,
 * so revocation reaches a running process as it does with a real KMS.
 * State is read-only after init, so every op is safe from several threads.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmk-pkcs11.h"
#include "mech/hash.h"
#include "mech/mech.h"
#include "mech/seal.h"
#include "providers/backends.h"
#include "providers/provider.h"
#include "util/fdio.h"
#include "util/log.h"
#include "util/trust.h"
#include "util/secpool.h"

#define KEY_LEN CMK_SEAL_KEY_LEN
#define MAX_IN 65536u
#define KEY_ID_PREFIX "local:"
#define KEY_ID_HEX 16u /* hex digits: the first 8 bytes of the digest */

/* BLAKE2b key for the key id digest, so the id is not a plain hash of the
 * key and cannot be confused with digests made for other purposes. */
static const char id_personal[] = "cmk-pkcs11 local key id";

struct local_state {
    uint8_t *key; /* KEY_LEN bytes, cmk_secmem_alloc */
    char *path;
    char key_id[sizeof(KEY_ID_PREFIX) + KEY_ID_HEX];
};

/* Why reading a key file failed: a provider code for rq and a message. */
struct key_read {
    const char *code;
    char why[128];
};

static cmk_err refuse(struct key_read *r, cmk_err err, const char *code,
                      const char *why, int errnum)
{
    r->code = code;
    if (errnum != 0)
        snprintf(r->why, sizeof(r->why), "%s: %s", why,
                 strerrordesc_np(errnum));
    else
        snprintf(r->why, sizeof(r->why), "%s", why);
    return err;
}

/* Checks what fstat says about an open key file. */
static cmk_err check_stat(int fd, struct key_read *r)
{
    struct stat sb;

    if (fstat(fd, &sb) != 0)
        return refuse(r, CMK_E_IO, "KeyFileUnreadable", "cannot stat", errno);
    if (!S_ISREG(sb.st_mode))
        return refuse(r, CMK_E_CONFIG, "KeyFileNotRegular",
                      "not a regular file", 0);
    if ((sb.st_mode & 077) != 0)
        return refuse(r, CMK_E_CONFIG, "KeyFileMode",
                      "accessible by group or others (needs mode 0600)", 0);
    if (sb.st_size != (off_t)KEY_LEN)
        return refuse(r, CMK_E_CONFIG, "KeyFileSize",
                      "must hold exactly 32 bytes", 0);
    return CMK_OK;
}

/* Reads exactly KEY_LEN bytes and makes sure nothing follows (the file
 * may have grown between fstat and read). */
static cmk_err read_exact(int fd, uint8_t *key, struct key_read *r)
{
    cmk_err err = cmk_fd_read_exact(fd, key, KEY_LEN);

    if (err == CMK_E_IO)
        return refuse(r, CMK_E_IO, "KeyFileUnreadable", "cannot read", errno);
    if (err != CMK_OK)
        return refuse(r, CMK_E_CONFIG, "KeyFileSize",
                      "must hold exactly 32 bytes", 0);
    return CMK_OK;
}

/* CMK_E_KEY_DISABLED when the file is gone, CMK_E_CONFIG when it is not
 * an acceptable key file, CMK_E_IO otherwise. key is wiped on failure. */
static cmk_err read_key(const char *path, uint8_t *key, struct key_read *r)
{
    int fd;
    cmk_err err;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return refuse(r, CMK_E_KEY_DISABLED, "KeyFileMissing", "no such file",
                      0);
    if (fd < 0 && errno == ELOOP)
        return refuse(r, CMK_E_CONFIG, "KeyFileNotRegular",
                      "is a symbolic link", 0);
    if (fd < 0)
        return refuse(r, CMK_E_IO, "KeyFileUnreadable", "cannot open", errno);
    err = check_stat(fd, r);
    if (err == CMK_OK && cmk_trust_fd_log("local provider:", fd, path,
                                          CMK_TRUST_SECRET) != CMK_OK)
        err = refuse(r, CMK_E_CONFIG, "KeyFileUntrusted",
                     "owner or directories not trusted", 0);
    if (err == CMK_OK)
        err = read_exact(fd, key, r);
    if (err != CMK_OK)
        sodium_memzero(key, KEY_LEN);
    close(fd);
    return err;
}

static cmk_err make_key_id(const uint8_t *key, char *out, size_t out_len)
{
    uint8_t h[32]; /* BLAKE2b-256; the id shows its first 8 bytes */
    cmk_err err;

    err = cmk_blake2b(h, sizeof(h), key, KEY_LEN, id_personal,
                      sizeof(id_personal) - 1);
    if (err != CMK_OK)
        goto out;
    memcpy(out, KEY_ID_PREFIX, sizeof(KEY_ID_PREFIX) - 1);
    sodium_bin2hex(out + sizeof(KEY_ID_PREFIX) - 1,
                   out_len - (sizeof(KEY_ID_PREFIX) - 1), h, KEY_ID_HEX / 2);
out:
    sodium_memzero(h, sizeof(h));
    return err;
}

static void local_fini(void *vst)
{
    struct local_state *st = vst;

    if (st == NULL)
        return;
    cmk_secmem_free(st->key); /* wipes; NULL-safe */
    st->key = NULL;
    cmk_str_free(st->path);
    st->path = NULL;
}

static cmk_err local_init(void *vst, const struct cmk_kms_cfg *cfg,
                          const char *key_ref)
{
    struct local_state *st = vst;
    struct key_read r = {0};
    cmk_err err;

    if (st == NULL || key_ref == NULL || key_ref[0] == '\0')
        return CMK_E_ARGS;
    if (sodium_init() < 0)
        return CMK_E_CRYPTO;
    st->path = cmk_strdup(key_ref);
    st->key = cmk_secmem_alloc(KEY_LEN);
    if (st->path == NULL || st->key == NULL) {
        err = CMK_E_NOMEM;
        goto out;
    }
    err = read_key(key_ref, st->key, &r);
    if (err != CMK_OK) {
        cmk_log_error("local key file %s: %s", key_ref, r.why);
        err = CMK_E_CONFIG;
        goto out;
    }
    err = make_key_id(st->key, st->key_id, sizeof(st->key_id));
out:
    if (err != CMK_OK)
        local_fini(st);
    return err;
}

static cmk_err local_key_id(void *vst, char id[256])
{
    const struct local_state *st = vst;

    if (st == NULL || st->key == NULL)
        return CMK_E_ARGS;
    snprintf(id, 256, "%s", st->key_id);
    return CMK_OK;
}

static cmk_err fail(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    return err;
}

/* The key file is how the user controls the key: gone means disabled. */
static cmk_err check_present(const struct local_state *st, struct cmk_req *rq)
{
    struct stat sb;

    if (lstat(st->path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR))
        return fail(rq, CMK_E_KEY_DISABLED, "KeyFileMissing");
    return CMK_OK;
}

static cmk_err begin(const struct local_state *st, struct cmk_req *rq,
                     const uint8_t *in, size_t in_len, size_t max)
{
    if (st == NULL || st->key == NULL || rq == NULL ||
        (in == NULL && in_len != 0))
        return CMK_E_ARGS;
    cmk_local_start_request(rq);
    if (in_len > max)
        return fail(rq, CMK_E_TOO_LARGE, "InputTooLarge");
    return check_present(st, rq);
}

static cmk_err local_encrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                             size_t in_len, struct cmk_buf *out)
{
    const struct local_state *st = vst;
    struct cmk_buf aad = {0}, ct = {0};
    cmk_err err;

    if (out == NULL)
        return CMK_E_ARGS;
    err = begin(st, rq, in, in_len, MAX_IN);
    if (err != CMK_OK)
        goto out;
    err = cmk_context_encode(rq->ctx, rq->n_ctx, &aad);
    if (err != CMK_OK)
        goto out;
    err = cmk_buf_alloc(&ct, cmk_seal_size(in_len));
    if (err != CMK_OK)
        goto out;
    if (cmk_seal(st->key, aad.p, aad.len, in, in_len, ct.p) != CMK_OK) {
        err = fail(rq, CMK_E_CRYPTO, "EncryptFailed");
        goto out;
    }
    *out = ct;
    ct.p = NULL; /* caller owns it */
out:
    cmk_buf_free(&ct);
    cmk_buf_free(&aad);
    return err;
}

static cmk_err local_decrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                             size_t in_len, struct cmk_secret *out)
{
    const struct local_state *st = vst;
    struct cmk_buf aad = {0};
    struct cmk_secret pt = {0};
    size_t pt_len = 0;
    cmk_err err;

    if (out == NULL)
        return CMK_E_ARGS;
    err = begin(st, rq, in, in_len, cmk_seal_size(MAX_IN));
    if (err != CMK_OK)
        goto out;
    if (!cmk_seal_plain_len(in_len, &pt_len)) {
        err = fail(rq, CMK_E_BAD_CIPHERTEXT, "InvalidCiphertext");
        goto out;
    }
    err = cmk_context_encode(rq->ctx, rq->n_ctx, &aad);
    if (err == CMK_OK)
        err = cmk_secret_alloc(&pt, pt_len);
    if (err != CMK_OK)
        goto out;
    if (cmk_seal_open(st->key, aad.p, aad.len, in, in_len, pt.p) != CMK_OK) {
        err = fail(rq, CMK_E_BAD_CIPHERTEXT, "InvalidCiphertext");
        goto out;
    }
    *out = pt;
    pt.p = NULL; /* caller owns it */
out:
    cmk_secret_free(&pt); /* wipes a partial plaintext */
    cmk_buf_free(&aad);
    return err;
}

/* Same key: moving data to another CMK version is done by keys. */
static cmk_err local_reencrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                               size_t in_len, struct cmk_buf *out)
{
    struct cmk_secret pt = {0};
    cmk_err err;

    err = local_decrypt(vst, rq, in, in_len, &pt);
    if (err == CMK_OK)
        err = local_encrypt(vst, rq, pt.p, pt.len, out);
    cmk_secret_free(&pt);
    return err;
}

/* The loaded key must still be the one in the file: a missing file means
 * disabled, a different key means this version is gone (not found). */
static cmk_err local_health(void *vst, struct cmk_req *rq)
{
    const struct local_state *st = vst;
    struct key_read r = {0};
    uint8_t *now = NULL;
    cmk_err err;

    if (st == NULL || st->key == NULL || rq == NULL)
        return CMK_E_ARGS;
    cmk_local_start_request(rq);
    now = cmk_secmem_alloc(KEY_LEN);
    if (now == NULL)
        return CMK_E_NOMEM;
    err = read_key(st->path, now, &r);
    if (err != CMK_OK) {
        err = fail(rq, err, r.code);
        goto out;
    }
    if (sodium_memcmp(now, st->key, KEY_LEN) != 0)
        err = fail(rq, CMK_E_KEY_NOT_FOUND, "KeyFileChanged");
out:
    cmk_secmem_free(now);
    return err;
}

/* nonce || ciphertext || tag */
static size_t local_ct_bound(size_t in_len)
{
    return cmk_seal_size(in_len);
}

/* ulDeviceError numbers (0x10000 + number; README, "Errors";
 * include/cmk-pkcs11.h): never changed or reused. */
#define NUM(code) CMK_DEVERR_NUMBER(CMK_DEVERR_LOCAL_##code)
unsigned cmk_local_code_number(const char *code)
{
    static const struct cmk_code_num codes[] = {
        {"KeyFileMissing", NUM(KEY_FILE_MISSING)},
        {"KeyFileUnreadable", NUM(KEY_FILE_UNREADABLE)},
        {"KeyFileNotRegular", NUM(KEY_FILE_NOT_REGULAR)},
        {"KeyFileMode", NUM(KEY_FILE_MODE)},
        {"KeyFileSize", NUM(KEY_FILE_SIZE)},
        {"KeyFileUntrusted", NUM(KEY_FILE_UNTRUSTED)},
        {"KeyFileChanged", NUM(KEY_FILE_CHANGED)},
        {"InputTooLarge", NUM(INPUT_TOO_LARGE)},
        {"EncryptFailed", NUM(ENCRYPT_FAILED)},
        {"InvalidCiphertext", NUM(INVALID_CIPHERTEXT)},
        {"UnsupportedKeySpec", NUM(UNSUPPORTED_KEY_SPEC)},
        {"InvalidKeyUsage", NUM(INVALID_KEY_USAGE)},
        {"SignFailed", NUM(SIGN_FAILED)},
    };

    return (unsigned)cmk_code_find(codes, sizeof(codes) / sizeof(codes[0]),
                                   code, CMK_DEV_OTHER);
}

const struct cmk_provider_ops cmk_provider_local = {
    .name = "local",
    .id = CMK_PROV_LOCAL,
    .caps = CMK_CAP_REENCRYPT | CMK_CAP_HEALTH,
    .state_size = sizeof(struct local_state),
    .init = local_init,
    .fini = local_fini,
    .key_id = local_key_id,
    .encrypt = local_encrypt,
    .decrypt = local_decrypt,
    .reencrypt = local_reencrypt,
    .health = local_health,
    .ct_bound = local_ct_bound,
    .code_number = cmk_local_code_number,
    .check_key_ref = cmk_local_cfg_key_ref,
};
