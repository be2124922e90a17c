/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the JWT assertion of a Google service account (RFC 7523 2.1,
 * RFC 7515 compact form, base64url without padding), signed RS256 by
 * mech/rs256. Built in wiped buffers.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "mech/rs256.h"
#include "net/gauth_int.h"
#include "net/json.h"
#include "net/strbuf.h"

void cmk_gauth_jwt_b64url(struct cmk_sb *sb, const void *p, size_t n)
{
    size_t cap =
        sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *dst = cmk_sb_extend(sb, cap - 1); /* cap counts the NUL */

    if (dst == NULL)
        return;
    sodium_bin2base64(dst, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void put_claims(struct cmk_sb *sb, const struct cmk_gauth_jwt *j)
{
    cmk_sb_puts(sb, "{\"iss\":");
    cmk_json_put_str(sb, j->iss);
    cmk_sb_puts(sb, ",\"scope\":");
    cmk_json_put_str(sb, j->scope);
    cmk_sb_puts(sb, ",\"aud\":");
    cmk_json_put_str(sb, j->aud);
    cmk_sb_printf(sb, ",\"iat\":%lld,\"exp\":%lld}", (long long)j->iat,
                  (long long)(j->iat + CMK_GAUTH_JWT_LIFE_S));
}

cmk_err cmk_gauth_jws_input(struct cmk_sb *out, struct cmk_sb *header,
                            struct cmk_sb *claims)
{
    cmk_err err = cmk_sb_status(header);

    if (err == CMK_OK)
        err = cmk_sb_status(claims);
    if (err == CMK_OK) {
        cmk_gauth_jwt_b64url(out, header->p, header->len);
        cmk_sb_putc(out, '.');
        cmk_gauth_jwt_b64url(out, claims->p, claims->len);
        err = cmk_sb_status(out);
    }
    cmk_sb_free(header);
    cmk_sb_free(claims);
    return err;
}

/* header.claims, each part base64url, into out. */
static cmk_err signing_input(const struct cmk_gauth_jwt *j, struct cmk_sb *out)
{
    struct cmk_sb header = {0}, claims = {0};

    cmk_sb_puts(&header, "{\"alg\":\"RS256\",\"typ\":\"JWT\"");
    if (j->kid != NULL) {
        cmk_sb_puts(&header, ",\"kid\":");
        cmk_json_put_str(&header, j->kid);
    }
    cmk_sb_putc(&header, '}');
    put_claims(&claims, j);
    return cmk_gauth_jws_input(out, &header, &claims);
}

cmk_err cmk_gauth_jws_seal(struct cmk_sb *sb, cmk_gauth_sign_fn sign,
                           const char *pem, size_t pem_len,
                           struct cmk_secret *out)
{
    struct cmk_buf sig = {0};
    cmk_err err;

    err = cmk_sb_status(sb);
    if (err == CMK_OK)
        err = sign(pem, pem_len, sb->p, sb->len, &sig);
    if (err == CMK_OK) {
        cmk_sb_putc(sb, '.');
        cmk_gauth_jwt_b64url(sb, sig.p, sig.len);
        err = cmk_sb_status(sb);
    }
    if (err == CMK_OK)
        err = cmk_secret_dup(out, (const uint8_t *)sb->p, sb->len + 1);
    if (err == CMK_OK)
        out->len = sb->len; /* NUL-terminated, len without it */
    cmk_buf_free(&sig);
    return err;
}

cmk_err cmk_gauth_jwt(const struct cmk_gauth_jwt *j, const char *pem,
                      size_t pem_len, struct cmk_secret *out)
{
    struct cmk_sb sb = {0};
    cmk_err err;

    if (j == NULL || j->iss == NULL || j->aud == NULL || j->scope == NULL ||
        pem == NULL || out == NULL)
        return CMK_E_ARGS;
    err = signing_input(j, &sb);
    if (err == CMK_OK)
        err = cmk_gauth_jws_seal(&sb, cmk_rs256_sign, pem, pem_len, out);
    cmk_sb_free(&sb);
    return err;
}
