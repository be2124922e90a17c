/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: AWS KMS key ARNs, as Encrypt and Decrypt name the key they
 * used: their strict form, and whether a configured key reference can
 * name a given key (the check behind envelope blobs' sealed-by field).
 */
#include <config.h>

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "providers/aws_int.h"

#define PARTITION_MAX 16u
#define REGION_MAX 32u
#define ACCOUNT_LEN 12u
#define UUID_LEN 36u
#define MRK_LEN 36u /* "mrk-" + 32 hex digits */

/* An ARN cut at its colons: arn:PARTITION:kms:REGION:ACCOUNT:RESOURCE. */
struct arn {
    const char *part[5]; /* partition, service, region, account, resource */
    size_t len[5];
};

static bool split(const char *s, size_t n, struct arn *a)
{
    const char *end = s + n, *p;
    size_t i;

    if (n < 4 || memcmp(s, "arn:", 4) != 0)
        return false;
    s += 4;
    for (i = 0; i < 5; i++) {
        p = i < 4 ? memchr(s, ':', (size_t)(end - s)) : end;
        if (p == NULL || p == s)
            return false;
        a->part[i] = s;
        a->len[i] = (size_t)(p - s);
        s = p + 1;
    }
    /* The resource of a KMS ARN has no colon; nothing may follow it. */
    return memchr(a->part[4], ':', a->len[4]) == NULL && a->len[1] == 3 &&
           memcmp(a->part[1], "kms", 3) == 0;
}

static bool all_in(const char *s, size_t n, const char *set)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '\0' || strchr(set, s[i]) == NULL)
            return false;
    }
    return true;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"
#define HEX "0123456789abcdef"

/* "aws", "aws-cn", "aws-us-gov", "aws-iso-b", ... */
static bool is_partition(const char *s, size_t n)
{
    return n >= 3 && n <= PARTITION_MAX && memcmp(s, "aws", 3) == 0 &&
           (n == 3 || (s[3] == '-' && n > 4 && s[n - 1] != '-')) &&
           all_in(s, n, LOWER "-");
}

/* "us-east-1", "us-gov-west-1", "eusc-de-east-1": letters first, a
 * number last, at least one '-'. */
static bool is_region(const char *s, size_t n)
{
    return n >= 4 && n <= REGION_MAX && all_in(s, n, LOWER DIGITS "-") &&
           strchr(LOWER, s[0]) != NULL && strchr(DIGITS, s[n - 1]) != NULL &&
           memchr(s, '-', n) != NULL;
}

/* A key id as KMS writes it in an ARN: a lower-case UUID, or a
 * multi-Region key's "mrk-" and 32 lower-case hex digits. */
static bool is_key_id(const char *s, size_t n)
{
    size_t i;

    if (n == MRK_LEN && memcmp(s, "mrk-", 4) == 0)
        return all_in(s + 4, n - 4, HEX);
    if (n != UUID_LEN)
        return false;
    for (i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !all_in(s + i, 1, HEX))
            return false;
    }
    return true;
}

static bool parse_key_arn(const char *s, size_t n, struct arn *a)
{
    return n <= CMK_AWS_KEY_ARN_MAX && split(s, n, a) &&
           is_partition(a->part[0], a->len[0]) &&
           is_region(a->part[2], a->len[2]) && a->len[3] == ACCOUNT_LEN &&
           all_in(a->part[3], ACCOUNT_LEN, DIGITS) && a->len[4] > 4 &&
           memcmp(a->part[4], "key/", 4) == 0 &&
           is_key_id(a->part[4] + 4, a->len[4] - 4);
}

bool cmk_aws_is_key_arn(const char *s, size_t n)
{
    struct arn a;

    return s != NULL && parse_key_arn(s, n, &a);
}

static bool same(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

/* Key ids compare without case: KMS writes them in lower case, a
 * configuration may not. */
static bool same_id(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && strncasecmp(a, b, an) == 0;
}

bool cmk_aws_ref_is_alias(const char *ref)
{
    struct arn a;

    if (strncmp(ref, "alias/", 6) == 0)
        return true;
    return split(ref, strlen(ref), &a) && a.len[4] > 6 &&
           memcmp(a.part[4], "alias/", 6) == 0;
}

/* A reference given as an ARN (key or alias): the key must be in its
 * partition, region and account; a key ARN names exactly one key. */
static enum cmk_aws_fit fits_arn(const struct arn *r, const struct arn *k)
{
    if (!same(r->part[0], r->len[0], k->part[0], k->len[0]) ||
        !same(r->part[2], r->len[2], k->part[2], k->len[2]) ||
        !same(r->part[3], r->len[3], k->part[3], k->len[3]))
        return CMK_AWS_OTHER_KEY;
    if (r->len[4] > 4 && memcmp(r->part[4], "key/", 4) == 0 &&
        !same_id(r->part[4], r->len[4], k->part[4], k->len[4]))
        return CMK_AWS_OTHER_KEY;
    return CMK_AWS_FITS;
}

enum cmk_aws_fit cmk_aws_arn_fits(const char *ref, const char *region,
                                  const char *arn, size_t n)
{
    struct arn k, r;

    if (ref == NULL || region == NULL || arn == NULL ||
        !parse_key_arn(arn, n, &k))
        return CMK_AWS_NOT_KEY_ARN;
    /* Decrypt at this endpoint reaches this region's keys only. */
    if (!same(k.part[2], k.len[2], region, strlen(region)))
        return CMK_AWS_OTHER_KEY;
    if (strncmp(ref, "arn:", 4) == 0)
        return split(ref, strlen(ref), &r) ? fits_arn(&r, &k)
                                           : CMK_AWS_OTHER_KEY;
    /* alias/NAME: any key of the region (the account is the caller's,
     * unknown without a call); a key id: that key. */
    if (strncmp(ref, "alias/", 6) == 0 ||
        same_id(k.part[4] + 4, k.len[4] - 4, ref, strlen(ref)))
        return CMK_AWS_FITS;
    return CMK_AWS_OTHER_KEY;
}

cmk_err cmk_aws_answer_key(const struct aws_state *st,
                           const struct cmk_http_resp *r, char *id, size_t n,
                           bool required, const char *want, const char **code)
{
    enum cmk_aws_fit fit;
    cmk_err err = cmk_aws_parse_key_id(r, id, n);

    if (err != CMK_OK || id[0] == '\0')
        return err != CMK_OK || required ? CMK_E_BAD_RESPONSE : CMK_OK;
    fit = cmk_aws_arn_fits(st->key_ref, st->region, id, strlen(id));
    if (fit == CMK_AWS_NOT_KEY_ARN)
        return CMK_E_BAD_RESPONSE;
    if (fit != CMK_AWS_FITS || (want != NULL && strcmp(want, id) != 0)) {
        *code = "UnexpectedKeyId";
        return CMK_E_BAD_RESPONSE;
    }
    return CMK_OK;
}
