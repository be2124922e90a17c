/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: a DER reader (der.h).
 */
#include <config.h>

#include <string.h>

#include "mech/der.h"

/* The header at in: tag, the contents' start and length. */
static bool header(const struct cmk_der *in, uint8_t *tag, size_t *hdr,
                   size_t *len)
{
    size_t i, n, v = 0;

    if (in->len < 2 || (in->p[0] & 0x1f) == 0x1f)
        return false; /* high tag numbers are not used here */
    *tag = in->p[0];
    if (in->p[1] < 0x80) {
        *hdr = 2;
        *len = in->p[1];
    } else {
        n = in->p[1] & 0x7f;
        if (n == 0 || n > 4 || in->len < 2 + n || in->p[2] == 0)
            return false; /* indefinite, too long, or not the shortest */
        for (i = 0; i < n; i++)
            v = (v << 8) | in->p[2 + i];
        if (v < 0x80)
            return false;
        *hdr = 2 + n;
        *len = v;
    }
    return *len <= in->len - *hdr;
}

bool cmk_der_take(struct cmk_der *in, uint8_t tag, struct cmk_der *out)
{
    uint8_t t;
    size_t h, n;

    if (!header(in, &t, &h, &n) || t != tag)
        return false;
    out->p = in->p + h;
    out->len = n;
    in->p += h + n;
    in->len -= h + n;
    return true;
}

bool cmk_der_optional(struct cmk_der *in, uint8_t tag, struct cmk_der *out,
                      bool *present)
{
    uint8_t t;
    size_t h, n;

    *present = false;
    if (in->len == 0)
        return true;
    if (!header(in, &t, &h, &n))
        return false;
    if (t != tag)
        return true;
    *present = true;
    return cmk_der_take(in, tag, out);
}

bool cmk_der_unsigned(struct cmk_der *in, struct cmk_der *out)
{
    struct cmk_der v;

    if (!cmk_der_take(in, CMK_DER_INTEGER, &v) || v.len == 0 ||
        (v.p[0] & 0x80) != 0)
        return false;
    if (v.p[0] == 0 && v.len > 1) {
        if ((v.p[1] & 0x80) == 0)
            return false; /* a zero byte DER does not write */
        v.p++;
        v.len--;
    }
    *out = v;
    return true;
}

bool cmk_der_small(struct cmk_der *in, unsigned v)
{
    struct cmk_der save = *in, i;

    if (v < 0x80 && cmk_der_take(in, CMK_DER_INTEGER, &i) && i.len == 1 &&
        i.p[0] == v)
        return true;
    *in = save;
    return false;
}

bool cmk_der_is(const struct cmk_der *e, const uint8_t *oid, size_t n)
{
    return e->len == n && memcmp(e->p, oid, n) == 0;
}
