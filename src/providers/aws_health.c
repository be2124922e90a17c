/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: what the aws provider's codes say about a key's health
 * (include/cmk-pkcs11.h CMK_HEALTH_*), where the internal error alone
 * says less, and DescribeKey's checks of the key's spec and usage.
 * Documented in docs/aws.md, "Health"; keep the two in step.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "providers/aws_int.h"

static const struct cmk_code_num reasons[] = {
    {"KMSInvalidStateException", CMK_HEALTH_PENDING_DELETION},
    {"KeyState:Disabled", CMK_HEALTH_DISABLED},
    {"KeyState:PendingDeletion", CMK_HEALTH_PENDING_DELETION},
    {"KeyState:PendingReplicaDeletion", CMK_HEALTH_PENDING_DELETION},
    {"InvalidKeyUsageException", CMK_HEALTH_WRONG_KEY_SPEC},
    {"WrongKeySpec", CMK_HEALTH_WRONG_KEY_SPEC},
    {"WrongKeyUsage", CMK_HEALTH_WRONG_KEY_SPEC},
};

unsigned long cmk_aws_health_reason(const char *code)
{
    unsigned long r =
        cmk_code_find(reasons, sizeof(reasons) / sizeof(reasons[0]), code, 0);

    if (r != 0 || code == NULL)
        return r;
    /* Any other state (PendingImport, Unavailable, Creating, ...). */
    if (strncmp(code, "KeyState:", 9) == 0)
        return CMK_HEALTH_KEY_UNAVAILABLE;
    return 0;
}

/* One string member of KeyMetadata into out[n] ("" when absent). */
static void meta_str(json_t *meta, const char *name, char *out, size_t n)
{
    const char *s = json_string_value(json_object_get(meta, name));

    snprintf(out, n, "%s", s != NULL ? s : "");
}

const char *cmk_aws_wrong_key_use(const struct cmk_http_resp *r)
{
    char spec[40], usage[40];
    json_t *root = NULL, *meta;

    if (r->body.p != NULL && r->body.len != 0)
        root = json_loadb((const char *)r->body.p, r->body.len,
                          JSON_REJECT_DUPLICATES, NULL);
    meta = json_object_get(root, "KeyMetadata");
    meta_str(meta, "KeySpec", spec, sizeof(spec));
    if (spec[0] == '\0') /* the older name of the member */
        meta_str(meta, "CustomerMasterKeySpec", spec, sizeof(spec));
    meta_str(meta, "KeyUsage", usage, sizeof(usage));
    json_decref(root);
    /* Absent members say nothing: only a named other kind is wrong. */
    if (spec[0] != '\0' && strcmp(spec, "SYMMETRIC_DEFAULT") != 0)
        return "WrongKeySpec";
    if (usage[0] != '\0' && strcmp(usage, "ENCRYPT_DECRYPT") != 0)
        return "WrongKeyUsage";
    return NULL;
}
