/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the aws provider's configuration rules: key reference forms
 * (key ARN, key id, alias/NAME, alias ARN), region names, and the tenant's
 * "aws" object (credential sources and endpoints).
 */
#include <config.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "providers/aws_cfg.h"
#include "providers/backends.h"
#include "util/secmem.h"
#include "util/trust.h"

#define AWS_REF_MAX 2048
#define REGION_MAX 64

/* An AWS KMS key reference: key ARN, key id (UUID or mrk-...), alias/NAME
 * or alias ARN. Only the shape is checked; KMS says whether it exists. */
static bool is_aws_key_ref(const char *s)
{
    size_t n = strlen(s), i;

    if (n > AWS_REF_MAX || !cmk_conf_is_printable(s) || strchr(s, ' ') != NULL)
        return false;
    if (strncmp(s, "arn:", 4) == 0)
        return strstr(s, ":kms:") != NULL &&
               (strstr(s, ":key/") != NULL || strstr(s, ":alias/") != NULL);
    if (strncmp(s, "alias/", 6) == 0)
        return n > 6;
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
            return false;
    }
    return true;
}

bool cmk_aws_cfg_is_key_ref(const char *ref)
{
    return ref != NULL && ref[0] != '\0' && is_aws_key_ref(ref);
}

cmk_err cmk_aws_cfg_key_ref(struct cmk_conf *cf, const char *field,
                            const char *ref)
{
    if (!is_aws_key_ref(ref))
        return cmk_conf_fail(
            cf, field, "expected a key ARN, key id, alias/NAME or alias ARN");
    return CMK_OK;
}

/* AWS region names: lower-case letters, digits and '-'. */
static cmk_err check_region(struct cmk_conf *cf, const char *base,
                            const char *s)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *p;

    cmk_conf_join(f, base, "region");
    for (p = s; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            break;
    }
    if (s[0] == '\0' || *p != '\0' || strlen(s) > REGION_MAX)
        return cmk_conf_fail(cf, f, "not a region name (e.g. \"eu-west-1\")");
    return CMK_OK;
}

void cmk_aws_cfg_free(void *cfg)
{
    struct cmk_aws_cfg *a = cfg;

    if (a == NULL)
        return;
    cmk_str_free(a->creds.profile);
    cmk_str_free(a->creds.credentials_file);
    cmk_str_free(a->creds.sts_endpoint);
    cmk_str_free(a->creds.imds_endpoint);
    cmk_str_free(a->creds.role_arn);
    free(a);
}

/* The "aws" object v at field path f. */
static cmk_err parse_block(struct cmk_conf *cf, const char *f, json_t *v,
                           struct cmk_cred_cfg *c)
{
    static const char *const keys[] = {"profile",      "credentials_file",
                                       "sts_endpoint", "imds_endpoint",
                                       "role_arn",     NULL};
    char fr[CMK_CONF_FIELD_MAX];
    cmk_err err;

    err = cmk_conf_check_object(cf, f, v, keys);
    if (err == CMK_OK)
        err = cmk_conf_name_dup(cf, f, v, "profile", &c->profile);
    if (err == CMK_OK)
        err = cmk_conf_path_dup(cf, f, v, "credentials_file",
                                &c->credentials_file);
    if (err == CMK_OK)
        err = cmk_http_cfg_url(cf, f, v, "sts_endpoint", CMK_URL_HTTPS_ONLY,
                               &c->sts_endpoint);
    if (err == CMK_OK)
        err = cmk_http_cfg_url(cf, f, v, "imds_endpoint", CMK_URL_METADATA_HTTP,
                               &c->imds_endpoint);
    if (err == CMK_OK)
        err = cmk_conf_name_dup(cf, f, v, "role_arn", &c->role_arn);
    if (err == CMK_OK && c->role_arn != NULL &&
        strncmp(c->role_arn, "arn:", 4) != 0) {
        cmk_conf_join(fr, f, "role_arn");
        err = cmk_conf_fail(
            cf, fr, "expected a role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
    }
    cmk_conf_join(fr, f, "credentials_file");
    if (err == CMK_OK && c->credentials_file != NULL)
        err = cmk_conf_file_if_any(cf, fr, c->credentials_file, O_RDONLY,
                                   CMK_TRUST_SECRET);
    return err;
}

cmk_err cmk_aws_cfg_parse(struct cmk_conf *cf, const char *base, json_t *t,
                          const struct cmk_kms_cfg *kms, void **out)
{
    json_t *v = json_object_get(t, "aws");
    struct cmk_aws_cfg *a = NULL;
    char f[CMK_CONF_FIELD_MAX];
    cmk_err err = CMK_OK;

    if (kms->region != NULL)
        err = check_region(cf, base, kms->region);
    if (err != CMK_OK || v == NULL)
        return err;
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return cmk_conf_oom(cf);
    cmk_conf_join(f, base, "aws");
    err = parse_block(cf, f, v, &a->creds);
    if (err == CMK_OK) {
        *out = a;
        a = NULL; /* the caller owns it */
    }
    cmk_aws_cfg_free(a);
    return err;
}
