/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: envelope blob encoder and strict parser (layout in envelope.h).
 * The parser accepts exactly one encoding per blob: no slack, no trailer,
 * and a version-2 blob always names its sealing key (a version-2 blob
 * without one would be a second encoding of a version-1 blob).
 */
#include <config.h>

#include <stdbool.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "mech/envelope.h"

#define HDR_LEN 8u /* magic, version, provider id, key id length */
#define CTLEN_LEN 4u
#define SBLEN_LEN 2u /* version 2: sealed-by length */

static void put_be16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static size_t get_be16(const uint8_t *p)
{
    return ((size_t)p[0] << 8) | p[1];
}

static size_t get_be32(const uint8_t *p)
{
    return ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) |
           p[3];
}

size_t cmk_envelope_size(size_t key_id_len, size_t ct_len)
{
    return HDR_LEN + key_id_len + CTLEN_LEN + ct_len;
}

size_t cmk_envelope_size_sealed(size_t key_id_len, size_t sealed_by_len,
                                size_t ct_len)
{
    if (sealed_by_len == 0)
        return cmk_envelope_size(key_id_len, ct_len);
    return HDR_LEN + key_id_len + SBLEN_LEN + sealed_by_len + CTLEN_LEN +
           ct_len;
}

/* Printable ASCII without space: what a key name may hold (it may end up
 * in a KMS request, a log line or an audit record). */
static bool is_name(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    }
    return true;
}

cmk_err cmk_envelope_encode(uint8_t provider_id, const char *key_id,
                            const uint8_t *ct, size_t ct_len,
                            struct cmk_buf *out)
{
    return cmk_envelope_encode_sealed(provider_id, key_id, NULL, ct, ct_len,
                                      out);
}

cmk_err cmk_envelope_encode_sealed(uint8_t provider_id, const char *key_id,
                                   const char *sealed_by, const uint8_t *ct,
                                   size_t ct_len, struct cmk_buf *out)
{
    size_t kid_len, sb_len = 0;
    uint8_t *p;
    cmk_err err;

    if (key_id == NULL || ct == NULL || out == NULL)
        return CMK_E_ARGS;
    kid_len = strnlen(key_id, CMK_ENVELOPE_MAX_KEY_ID + 1);
    if (sealed_by != NULL)
        sb_len = strnlen(sealed_by, CMK_ENVELOPE_MAX_SEALED_BY + 1);
    if (kid_len == 0 || kid_len > CMK_ENVELOPE_MAX_KEY_ID ||
        sb_len > CMK_ENVELOPE_MAX_SEALED_BY || !is_name(sealed_by, sb_len))
        return CMK_E_ARGS;
    if (ct_len == 0 || ct_len > CMK_ENVELOPE_MAX_CT)
        return CMK_E_ARGS;
    err = cmk_buf_alloc(out, cmk_envelope_size_sealed(kid_len, sb_len, ct_len));
    if (err != CMK_OK)
        return err;
    p = out->p;
    memcpy(p, CMK_ENVELOPE_MAGIC, 4);
    p[4] = sb_len != 0 ? CMK_ENVELOPE_VERSION_SEALED_BY : CMK_ENVELOPE_VERSION;
    p[5] = provider_id;
    put_be16(p + 6, kid_len);
    memcpy(p + HDR_LEN, key_id, kid_len);
    p += HDR_LEN + kid_len;
    if (sb_len != 0) {
        put_be16(p, sb_len);
        memcpy(p + SBLEN_LEN, sealed_by, sb_len);
        p += SBLEN_LEN + sb_len;
    }
    put_be32(p, ct_len);
    memcpy(p + CTLEN_LEN, ct, ct_len);
    return CMK_OK;
}

/* Version 2's sealed-by field at p, rest bytes before the end of the blob;
 * its length (0: malformed). */
static size_t parse_sealed_by(const uint8_t *p, size_t rest,
                              struct cmk_envelope_view *v)
{
    size_t sb_len;

    if (rest < SBLEN_LEN)
        return 0;
    sb_len = get_be16(p);
    if (sb_len == 0 || sb_len > CMK_ENVELOPE_MAX_SEALED_BY ||
        rest - SBLEN_LEN < sb_len ||
        !is_name((const char *)(p + SBLEN_LEN), sb_len))
        return 0;
    v->sealed_by = (const char *)(p + SBLEN_LEN);
    v->sealed_by_len = sb_len;
    return sb_len;
}

cmk_err cmk_envelope_parse(const uint8_t *blob, size_t len,
                           struct cmk_envelope_view *v)
{
    size_t kid_len, off, ct_len;

    if (v == NULL || (blob == NULL && len != 0))
        return CMK_E_ARGS;
    memset(v, 0, sizeof(*v));
    if (len < HDR_LEN || memcmp(blob, CMK_ENVELOPE_MAGIC, 4) != 0 ||
        (blob[4] != CMK_ENVELOPE_VERSION &&
         blob[4] != CMK_ENVELOPE_VERSION_SEALED_BY))
        return CMK_E_BAD_BLOB;
    kid_len = get_be16(blob + 6);
    if (kid_len == 0 || kid_len > CMK_ENVELOPE_MAX_KEY_ID ||
        len - HDR_LEN < kid_len)
        return CMK_E_BAD_BLOB;
    off = HDR_LEN + kid_len;
    if (blob[4] == CMK_ENVELOPE_VERSION_SEALED_BY) {
        if (parse_sealed_by(blob + off, len - off, v) == 0)
            return CMK_E_BAD_BLOB;
        off += SBLEN_LEN + v->sealed_by_len;
    }
    if (len - off < CTLEN_LEN)
        return CMK_E_BAD_BLOB;
    ct_len = get_be32(blob + off);
    /* Exactly ct_len bytes must follow: shorter is truncation, longer is a
     * trailer, and either means the blob was not produced by encode. */
    if (ct_len == 0 || ct_len > CMK_ENVELOPE_MAX_CT ||
        len - off - CTLEN_LEN != ct_len)
        return CMK_E_BAD_BLOB;
    v->version = blob[4];
    v->provider_id = blob[5];
    v->key_id = (const char *)(blob + HDR_LEN);
    v->key_id_len = kid_len;
    v->ct = blob + off + CTLEN_LEN;
    v->ct_len = ct_len;
    return CMK_OK;
}
