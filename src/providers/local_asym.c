/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the local provider's key pairs (providers/asym.h): an RSA
 * (2048, 3072, 4096) or EC (P-256, P-384, P-521) private key in a PEM
 * file of mode 0600 or stricter, owned by the user, read at init into
 * secure memory (excluded from core dumps, wiped on fork and when
 * dropped). Each call builds a key of its own from those bytes
 * (mech/pkey_pem.c: the DER only in secure memory) and frees it when it
 * ends (OpenSSL wipes a private key it frees), so no private key stays
 * in OpenSSL's heap between calls. As for the
 * CMK's key file, removing the file disables the key: every call checks
 * it is still there (CMK_E_KEY_DISABLED, "KeyFileMissing"). A file put
 * in its place (another inode, size or time) is read again at the next
 * call, as a KMS key whose material changed under the same name: the
 * module's check of each signature against the public key it fetched is
 * what notices (core/keypair.h).
 * Like a KMS, an EC key signs only with its curve's hash (P-256 SHA-256,
 * P-384 SHA-384, P-521 SHA-512: AWS's rule) and decrypts nothing; RSA
 * signs with SHA-256/384/512 and decrypts RSAES-OAEP SHA-1/SHA-256.
 * The file's bytes are swapped and parsed under st->lock; each call signs
 * or decrypts with its own key, so every op is safe from several threads.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/obj_mac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mech/pkey.h"
#include "providers/backends.h"
#include "providers/provider.h"
#include "util/fdio.h"
#include "util/lock.h"
#include "util/log.h"
#include "util/trust.h"

#define PEM_MAX 16384u
#define MAX_RAW 4096u /* as aws's RAW messages */

struct asym_state {
    struct cmk_secret pem; /* the key file's bytes (under lock) */
    char *path;
    struct stat seen; /* the file pem was read from (under lock) */
    struct cmk_mutex lock;
    bool has_lock;
};

#define HBIT(h) (1u << (h))

/* Reads the whole file into secure memory: regular, owner-only, trusted,
 * not a symlink, at most PEM_MAX bytes. */
static cmk_err read_pem(const char *path, struct cmk_secret *pem,
                        struct stat *seen)
{
    struct stat sb;
    cmk_err err = CMK_E_CONFIG;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        cmk_log_error("local key pair %s: cannot open: %s", path,
                      strerrordesc_np(errno));
        return CMK_E_CONFIG;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        cmk_log_error("local key pair %s: not a regular file", path);
    else if ((sb.st_mode & 077) != 0)
        cmk_log_error("local key pair %s: accessible by group or others "
                      "(needs mode 0600)",
                      path);
    else if (sb.st_size <= 0 || sb.st_size > (off_t)PEM_MAX)
        cmk_log_error("local key pair %s: size not 1..%u bytes", path, PEM_MAX);
    else if (cmk_trust_fd_log("local provider:", fd, path, CMK_TRUST_SECRET) ==
             CMK_OK)
        err = cmk_secret_alloc(pem, (size_t)sb.st_size);
    if (err == CMK_OK && cmk_fd_read_exact(fd, pem->p, pem->len) != CMK_OK) {
        cmk_log_error("local key pair %s: cannot read", path);
        cmk_secret_free(pem);
        err = CMK_E_CONFIG;
    }
    if (err == CMK_OK)
        *seen = sb;
    close(fd);
    return err;
}

/* The key file at path into *pem, checked to hold a key, and the file's
 * identity. */
static cmk_err load(const char *path, struct cmk_secret *pem, struct stat *seen)
{
    EVP_PKEY *pk = NULL;
    cmk_err err;

    err = read_pem(path, pem, seen);
    if (err == CMK_OK) {
        err = cmk_pkey_from_pem(pem->p, pem->len, &pk);
        if (err != CMK_OK)
            cmk_log_error("local key pair %s: no unencrypted PEM private key "
                          "(PKCS#8, PKCS#1 or SEC 1) of RSA or EC on P-256, "
                          "P-384 or P-521",
                          path);
        EVP_PKEY_free(pk); /* cleanses the private key */
    }
    if (err != CMK_OK)
        cmk_secret_free(pem); /* wipes the file's bytes */
    return err;
}

static void asym_fini(void *vst)
{
    struct asym_state *st = vst;

    if (st == NULL)
        return;
    cmk_secret_free(&st->pem); /* wipes */
    cmk_str_free(st->path);
    st->path = NULL;
    if (st->has_lock)
        cmk_mutex_fini(&st->lock);
    st->has_lock = false;
}

static cmk_err asym_init(void *vst, const struct cmk_kms_cfg *cfg,
                         const char *key_ref)
{
    struct asym_state *st = vst;
    cmk_err err;

    (void)cfg;
    if (st == NULL || key_ref == NULL || key_ref[0] == '\0')
        return CMK_E_ARGS;
    st->path = cmk_strdup(key_ref);
    if (st->path == NULL)
        return CMK_E_NOMEM;
    err = cmk_mutex_init(&st->lock) == CKR_OK ? CMK_OK : CMK_E_NOMEM;
    st->has_lock = err == CMK_OK;
    if (err == CMK_OK)
        err = load(key_ref, &st->pem, &st->seen);
    if (err != CMK_OK)
        asym_fini(st);
    return err;
}

static cmk_err fail(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    return err;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* A new request on a key whose file is still there: *pk, a key of its
 * own parsed from the file's bytes (the caller frees it). */
static cmk_err begin(struct asym_state *st, struct cmk_req *rq, EVP_PKEY **pk)
{
    struct cmk_secret fresh = {0};
    struct stat sb, seen;
    cmk_err err = CMK_OK;

    if (st == NULL || st->pem.p == NULL || rq == NULL)
        return CMK_E_ARGS;
    cmk_local_start_request(rq);
    if (lstat(st->path, &sb) != 0)
        return errno == ENOENT || errno == ENOTDIR
                   ? fail(rq, CMK_E_KEY_DISABLED, "KeyFileMissing")
                   : fail(rq, CMK_E_IO, "KeyFileUnreadable");
    cmk_mutex_lock(&st->lock);
    if (!same_file(&sb, &st->seen)) {
        err = load(st->path, &fresh, &seen);
        if (err == CMK_OK) {
            cmk_secret_free(&st->pem);
            st->pem = fresh;
            st->seen = seen;
        }
    }
    if (err == CMK_OK)
        err = cmk_pkey_from_pem(st->pem.p, st->pem.len, pk);
    cmk_mutex_unlock(&st->lock);
    if (err != CMK_OK)
        return fail(rq, err == CMK_E_NOMEM ? err : CMK_E_CONFIG,
                    "KeyFileUnreadable");
    return CMK_OK;
}

/* The hash an EC key of curve nid signs with. */
static enum cmk_hash curve_hash(int nid)
{
    return nid == NID_secp521r1   ? CMK_HASH_SHA512
           : nid == NID_secp384r1 ? CMK_HASH_SHA384
                                  : CMK_HASH_SHA256;
}

static cmk_err asym_get_public_key(void *vst, struct cmk_req *rq,
                                   struct cmk_pubkey *out)
{
    struct asym_state *st = vst;
    EVP_PKEY *pk = NULL;
    bool rsa = false;
    cmk_err err;

    if (out == NULL)
        return CMK_E_ARGS;
    err = begin(st, rq, &pk);
    if (err != CMK_OK)
        return err;
    memset(out, 0, sizeof(*out));
    if (cmk_pkey_kind(pk, &rsa, &out->bits, &out->curve_nid) != CMK_OK) {
        EVP_PKEY_free(pk);
        return fail(rq, CMK_E_CONFIG, "UnsupportedKeySpec");
    }
    out->kind = rsa ? CMK_ASYM_RSA : CMK_ASYM_EC;
    out->usage =
        rsa ? CMK_ASYM_USE_SIGN | CMK_ASYM_USE_DECRYPT : CMK_ASYM_USE_SIGN;
    out->schemes = rsa ? HBIT(CMK_SIG_RSA_PKCS1) | HBIT(CMK_SIG_RSA_PSS)
                       : HBIT(CMK_SIG_ECDSA);
    out->hashes = rsa ? HBIT(CMK_HASH_SHA256) | HBIT(CMK_HASH_SHA384) |
                            HBIT(CMK_HASH_SHA512)
                      : HBIT(curve_hash(out->curve_nid));
    out->oaep_hashes = rsa ? HBIT(CMK_HASH_SHA1) | HBIT(CMK_HASH_SHA256) : 0;
    err = cmk_pkey_spki(pk, &out->spki);
    EVP_PKEY_free(pk);
    if (err != CMK_OK)
        memset(out, 0, sizeof(*out));
    return err;
}

/* What the key may sign with: RSA, PKCS#1 or PSS with SHA-2; EC, ECDSA
 * with the curve's hash only. */
static bool can_sign(EVP_PKEY *pk, enum cmk_sig_scheme s, enum cmk_hash h)
{
    bool rsa = false;
    unsigned bits = 0;
    int nid = 0;

    if (cmk_pkey_kind(pk, &rsa, &bits, &nid) != CMK_OK || h == CMK_HASH_SHA1)
        return false;
    if (rsa)
        return s == CMK_SIG_RSA_PKCS1 || s == CMK_SIG_RSA_PSS;
    return s == CMK_SIG_ECDSA && h == curve_hash(nid);
}

/* The KMS hashes a RAW message; a digest is signed as it is. */
static cmk_err sign_with(EVP_PKEY *pk, struct cmk_req *rq,
                         enum cmk_sig_scheme s, enum cmk_hash h, bool digest,
                         const uint8_t *msg, size_t len, struct cmk_buf *sig)
{
    uint8_t md[64];
    struct cmk_mdctx *c = NULL;
    cmk_err err;

    if (!digest) {
        if (cmk_mdctx_new((int)h, &c) != CKR_OK ||
            cmk_mdctx_update(c, msg, len) != CKR_OK ||
            cmk_mdctx_final(c, md) != CKR_OK) {
            cmk_mdctx_free(c);
            return fail(rq, CMK_E_CRYPTO, "SignFailed");
        }
        cmk_mdctx_free(c);
        msg = md;
        len = cmk_md_len((int)h);
    }
    err = cmk_pkey_sign(pk, (int)s, (int)h, msg, len, sig);
    return err == CMK_OK ? CMK_OK : fail(rq, CMK_E_CRYPTO, "SignFailed");
}

static cmk_err asym_sign(void *vst, struct cmk_req *rq, enum cmk_sig_scheme s,
                         enum cmk_hash h, bool digest, const uint8_t *msg,
                         size_t len, struct cmk_buf *sig)
{
    struct asym_state *st = vst;
    EVP_PKEY *pk = NULL;
    cmk_err err;

    if (sig == NULL || (msg == NULL && len != 0))
        return CMK_E_ARGS;
    err = begin(st, rq, &pk);
    if (err != CMK_OK)
        return err;
    if (!can_sign(pk, s, h))
        err = fail(rq, CMK_E_ACCESS_DENIED, "InvalidKeyUsage");
    else if (!digest && len > MAX_RAW)
        err = fail(rq, CMK_E_TOO_LARGE, "InputTooLarge");
    else if (digest && len != cmk_md_len((int)h))
        err = fail(rq, CMK_E_ARGS, "SignFailed");
    else
        err = sign_with(pk, rq, s, h, digest, msg, len, sig);
    EVP_PKEY_free(pk);
    return err;
}

static cmk_err asym_decrypt(void *vst, struct cmk_req *rq, enum cmk_hash h,
                            const uint8_t *ct, size_t len,
                            struct cmk_secret *out)
{
    struct asym_state *st = vst;
    EVP_PKEY *pk = NULL;
    cmk_err err;
    CK_RV rv;

    if (out == NULL || ct == NULL)
        return CMK_E_ARGS;
    err = begin(st, rq, &pk);
    if (err != CMK_OK)
        return err;
    if (!EVP_PKEY_is_a(pk, "RSA") ||
        (h != CMK_HASH_SHA1 && h != CMK_HASH_SHA256)) {
        EVP_PKEY_free(pk);
        return fail(rq, CMK_E_ACCESS_DENIED, "InvalidKeyUsage");
    }
    rv = cmk_pkey_oaep_decrypt(pk, (int)h, ct, len, out);
    EVP_PKEY_free(pk);
    if (rv == CKR_HOST_MEMORY)
        return CMK_E_NOMEM;
    if (rv != CKR_OK)
        return fail(rq, CMK_E_BAD_CIPHERTEXT, "InvalidCiphertext");
    return CMK_OK;
}

const struct cmk_asym_ops cmk_local_asym = {
    .state_size = sizeof(struct asym_state),
    .init = asym_init,
    .fini = asym_fini,
    .get_public_key = asym_get_public_key,
    .sign = asym_sign,
    .decrypt = asym_decrypt,
};
