/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: import-key --aws (import.h): the tenant's AWS KMS key, created
 * with Origin EXTERNAL, gets the customer's key material: an RSA public
 * key and import token from GetParametersForImport, the material
 * encrypted to it with RSAES-OAEP-SHA-256 (mech/rsa_oaep.h), then
 * ImportKeyMaterial, and DescribeKey to see the key usable. The key's
 * reference (its ARN) does not change. Each refusal of the KMS gets a
 * message of its own.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mech/rsa_oaep.h"
#include "providers/provider.h"
#include "tool/import.h"
#include "tool/tool.h"
#include "util/utc.h"

/* One provider instance for the tenant's current key. */
struct session {
    const struct cmk_provider_ops *ops;
    void *st;
    struct cmk_req rq;
};

static int open_session(const struct cmk_tenant_cfg *t, struct session *s)
{
    cmk_err err;

    memset(s, 0, sizeof(*s));
    s->ops = cmk_provider_find(t->kms.provider);
    if (s->ops == NULL || s->ops->import_params == NULL ||
        s->ops->import_material == NULL) {
        tool_err("tenant \"%s\": the %s provider cannot import key material",
                 t->kms.label, t->kms.provider);
        return -1;
    }
    s->st = calloc(1, s->ops->state_size);
    if (s->st == NULL) {
        tool_err("out of memory");
        return -1;
    }
    err = s->ops->init(s->st, &t->kms, t->kms.key_ref);
    if (err != CMK_OK) {
        tool_err("tenant \"%s\": cannot use key %s: %s", t->kms.label,
                 t->kms.key_ref, cmk_err_name(err));
        free(s->st);
        s->st = NULL;
        return -1;
    }
    s->rq.tenant = &t->kms;
    s->rq.key_ref = t->kms.key_ref;
    return 0;
}

static void close_session(struct session *s)
{
    if (s->st != NULL) {
        s->ops->fini(s->st);
        free(s->st);
    }
}

static const char *code_of(const struct session *s)
{
    return s->rq.provider_code;
}

static void say_kms(const struct cmk_tenant_cfg *t, const char *op, cmk_err err,
                    const struct session *s)
{
    tool_err("tenant \"%s\": %s failed: %s%s%s%s", t->kms.label, op,
             cmk_err_name(err), code_of(s)[0] ? " (" : "", code_of(s),
             code_of(s)[0] ? ")" : "");
}

static void say_params(const struct cmk_tenant_cfg *t, cmk_err err,
                       const struct session *s,
                       const struct cmk_import_params *p)
{
    if (strcmp(code_of(s), "NotExternalKey") == 0 ||
        strcmp(code_of(s), "UnsupportedOperationException") == 0)
        tool_err("tenant \"%s\": key %s is not an EXTERNAL key (Origin %s): "
                 "key material can only be imported into a key created "
                 "with Origin EXTERNAL",
                 t->kms.label, p->key_arn[0] ? p->key_arn : t->kms.key_ref,
                 p->origin[0] ? p->origin : "not EXTERNAL");
    else if (strncmp(code_of(s), "KeyState:", 9) == 0 ||
             strcmp(code_of(s), "KMSInvalidStateException") == 0)
        tool_err("tenant \"%s\": key %s is not in PendingImport state (it is "
                 "%s): key material goes into a new EXTERNAL key or one whose "
                 "material expired (or, the same material again, an Enabled "
                 "or Disabled one)",
                 t->kms.label, p->key_arn[0] ? p->key_arn : t->kms.key_ref,
                 p->key_state[0] ? p->key_state : "in another state");
    else
        say_kms(t, "GetParametersForImport", err, s);
}

static void say_material(const struct cmk_tenant_cfg *t, cmk_err err,
                         const struct session *s,
                         const struct cmk_import_params *p)
{
    const char *c = code_of(s);
    char when[32];

    (void)cmk_utc_format(p->valid_to, when);
    if (strcmp(c, "ExpiredImportTokenException") == 0)
        tool_err("tenant \"%s\": the import token expired (it was valid to "
                 "%s): run import-key again for a new one",
                 t->kms.label, when);
    else if (strcmp(c, "IncorrectKeyMaterialException") == 0)
        tool_err("tenant \"%s\": key %s refused this key material: it holds, "
                 "or held, other key material (a key only ever takes the "
                 "material first imported into it)",
                 t->kms.label, p->key_arn);
    else if (strcmp(c, "KMSInvalidStateException") == 0)
        tool_err("tenant \"%s\": key %s is not in PendingImport state: "
                 "ImportKeyMaterial refused",
                 t->kms.label, p->key_arn);
    else if (strcmp(c, "InvalidCiphertextException") == 0)
        tool_err("tenant \"%s\": the KMS could not decrypt the wrapped key "
                 "material (InvalidCiphertextException)",
                 t->kms.label);
    else if (strcmp(c, "InvalidImportTokenException") == 0)
        tool_err("tenant \"%s\": the KMS refused the import token "
                 "(InvalidImportTokenException)",
                 t->kms.label);
    else
        say_kms(t, "ImportKeyMaterial", err, s);
}

/* GetParametersForImport, the wrap, ImportKeyMaterial. */
static int import_material(const struct tool_import_args *a,
                           const struct cmk_tenant_cfg *t,
                           const struct cmk_secret *key, struct session *s,
                           struct cmk_import_params *p)
{
    struct cmk_buf wrapped = {0};
    cmk_err err;

    err = s->ops->import_params(s->st, &s->rq, a->rsa_bits, p);
    if (err != CMK_OK) {
        say_params(t, err, s, p);
        return TOOL_FAIL;
    }
    err = cmk_rsa_oaep256_encrypt(p->public_key.p, p->public_key.len,
                                  a->rsa_bits, key->p, key->len, &wrapped);
    if (err != CMK_OK) {
        tool_err("tenant \"%s\": the KMS's wrapping key is not an RSA-%u "
                 "public key: %s",
                 t->kms.label, a->rsa_bits, cmk_err_name(err));
        return TOOL_FAIL;
    }
    err = s->ops->import_material(s->st, &s->rq, p, wrapped.p, wrapped.len,
                                  a->valid_to);
    cmk_buf_free(&wrapped);
    if (err != CMK_OK) {
        say_material(t, err, s, p);
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

/* After the import the key must be usable (a Disabled key stays so). */
static int check_usable(const struct cmk_tenant_cfg *t, struct session *s,
                        const struct cmk_import_params *p)
{
    cmk_err err;

    if (s->ops->health == NULL)
        return TOOL_OK;
    err = s->ops->health(s->st, &s->rq);
    if (err == CMK_OK)
        return TOOL_OK;
    if (strcmp(p->key_state, "Disabled") == 0 &&
        strcmp(code_of(s), "KeyState:Disabled") == 0) {
        tool_err("tenant \"%s\": key material imported; key %s stays "
                 "Disabled until you enable it",
                 t->kms.label, p->key_arn);
        return TOOL_OK;
    }
    say_kms(t, "the key after the import: DescribeKey", err, s);
    return TOOL_FAIL;
}

int tool_import_aws(const struct tool_import_args *a,
                    const struct cmk_tenant_cfg *t,
                    const struct cmk_secret *key, struct tool_import_done *done)
{
    struct cmk_import_params p;
    struct session s;
    char when[32];
    int rc;

    memset(&p, 0, sizeof(p));
    if (open_session(t, &s) != 0)
        return TOOL_FAIL;
    rc = import_material(a, t, key, &s, &p);
    if (rc == TOOL_OK)
        rc = check_usable(t, &s, &p);
    if (rc == TOOL_OK) {
        snprintf(done->key_new, sizeof(done->key_new), "%s", p.key_arn);
        if (a->valid_to != 0)
            (void)cmk_utc_format(a->valid_to, when);
        snprintf(done->detail, sizeof(done->detail),
                 "origin: EXTERNAL (aws, RSAES_OAEP_SHA_256 RSA_%u); expiry: "
                 "%s",
                 a->rsa_bits, a->valid_to != 0 ? when : "none");
    }
    cmk_import_params_free(&p);
    close_session(&s);
    return rc;
}
