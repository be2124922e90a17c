/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the JWT client assertion of an Entra ID certificate credential
 * (RFC 7523 2.2; Microsoft's "certificate credentials" page): header
 * {"alg","typ":"JWT","x5t#S256"} (and "x5t", the SHA-1 form, with RS256,
 * as MSAL sends it), claims aud, iss, sub, jti, nbf, iat, exp, signed
 * PS256 or RS256 by mech/rs256. Built in wiped buffers.
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "net/azauth_int.h"
#include "net/gauth_int.h"
#include "net/json.h"

/* A random (version 4) UUID, RFC 9562 5.4. */
static void uuid4(char out[37])
{
    uint8_t b[16];

    randombytes_buf(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
}

static void put_header(struct cmk_sb *sb, const struct cmk_azauth_jwt *j)
{
    bool rs = j->alg == CMK_AZAUTH_RS256;

    cmk_sb_printf(sb, "{\"alg\":\"%s\",\"typ\":\"JWT\"",
                  rs ? "RS256" : "PS256");
    if (rs) {
        cmk_sb_puts(sb, ",\"x5t\":");
        cmk_json_put_str(sb, j->cert->x5t);
    }
    cmk_sb_puts(sb, ",\"x5t#S256\":");
    cmk_json_put_str(sb, j->cert->x5t_s256);
    cmk_sb_putc(sb, '}');
}

static void put_claims(struct cmk_sb *sb, const struct cmk_azauth_jwt *j)
{
    char jti[37];

    uuid4(jti);
    cmk_sb_puts(sb, "{\"aud\":");
    cmk_json_put_str(sb, j->aud);
    cmk_sb_puts(sb, ",\"iss\":");
    cmk_json_put_str(sb, j->client_id);
    cmk_sb_puts(sb, ",\"sub\":");
    cmk_json_put_str(sb, j->client_id);
    cmk_sb_printf(sb, ",\"jti\":\"%s\",\"nbf\":%lld,\"iat\":%lld,\"exp\":%lld}",
                  jti, (long long)j->now, (long long)j->now,
                  (long long)(j->now + CMK_AZAUTH_JWT_LIFE_S));
}

cmk_err cmk_azauth_jwt(const struct cmk_azauth_jwt *j, const char *pem,
                       size_t pem_len, struct cmk_secret *out)
{
    struct cmk_sb sb = {0}, header = {0}, claims = {0};
    cmk_err err;

    if (j == NULL || j->cert == NULL || j->client_id == NULL ||
        j->aud == NULL || pem == NULL || out == NULL)
        return CMK_E_ARGS;
    put_header(&header, j);
    put_claims(&claims, j);
    err = cmk_gauth_jws_input(&sb, &header, &claims);
    if (err == CMK_OK)
        err = cmk_gauth_jws_seal(
            &sb, j->alg == CMK_AZAUTH_RS256 ? cmk_rs256_sign : cmk_ps256_sign,
            pem, pem_len, out);
    cmk_sb_free(&sb);
    return err;
}
