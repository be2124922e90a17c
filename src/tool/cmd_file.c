/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool encrypt", "decrypt" and "rekey": files encrypted under a
 * fresh data key that the tenant's CMK wraps, through the module's own
 * PKCS#11 interface (file_p11.h), in the format of docs/file-format.md.
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "mech/mech.h"
#include "tool/event.h"
#include "tool/file_cmd.h"
#include "tool/file_stream.h"
#include "tool/tool.h"

/* What one run works on, once the arguments are checked. */
struct job {
    const struct file_args *a;
    const struct cmk_config *cfg;
    const struct cmk_tenant_cfg *t;
    struct tool_p11 p11;
    struct tool_fin in;
    struct tool_fout out;
    struct tool_progress pg;
    struct tool_fhdr old; /* decrypt, rekey: the header of IN */
    uint8_t old_hash[TOOL_F_HASH];
    struct tool_audit *audit;
    uint64_t bytes;
    char why[TOOL_F_WHY];
    char detail[512];
};

static void describe(struct job *j, unsigned path, unsigned cipher,
                     uint32_t chunk)
{
    snprintf(j->detail, sizeof(j->detail), "%s %s -> %s (%s, %s, chunk %u)",
             j->a->op, j->in.name, j->a->out_arg, tool_fpath_name(path),
             tool_fcipher_name(cipher), (unsigned)chunk);
}

static int record(struct job *j, const char *event, const char *result,
                  long long count)
{
    struct tool_event ev;
    char op[32], detail[800];

    snprintf(op, sizeof(op), "cmk-tool %s", j->a->op);
    if (j->why[0] != '\0')
        snprintf(detail, sizeof(detail), "%s: %s", j->detail, j->why);
    else
        snprintf(detail, sizeof(detail), "%s", j->detail);
    tool_event_init(&ev);
    ev.event = event;
    ev.op = op;
    ev.tenant = j->t->kms.label;
    ev.result = result;
    ev.count = count;
    ev.detail = detail;
    return tool_audit_event(j->audit, &ev);
}

/* A DEK of the tenant and its header for a new file. */
static int new_key(struct job *j, unsigned path, unsigned cipher,
                   uint32_t chunk, struct tool_fhdr *h, CK_OBJECT_HANDLE *dek)
{
    CK_RV rv;

    memset(h, 0, sizeof(*h));
    h->version = TOOL_F_VERSION;
    h->path = path;
    h->cipher = cipher;
    h->chunk = chunk;
    snprintf(h->label, sizeof(h->label), "%s", j->t->kms.label);
    h->prefix_len = tool_fhdr_prefix_len(cipher);
    cmk_random(h->prefix, h->prefix_len);
    h->wrapped_len = sizeof(h->wrapped);
    rv = tool_p11_new_dek(&j->p11, cipher, dek);
    if (rv != CKR_OK) {
        snprintf(j->why, sizeof(j->why), "no data key: C_GenerateKey: %s",
                 tool_ckr(rv));
        return -1;
    }
    rv = tool_p11_wrap(&j->p11, path, *dek, h->wrapped, &h->wrapped_len);
    if (rv != CKR_OK) {
        snprintf(j->why, sizeof(j->why),
                 "the data key cannot be wrapped: C_WrapKey: %s", tool_ckr(rv));
        return -1;
    }
    return 0;
}

static int old_key(struct job *j, CK_OBJECT_HANDLE *dek)
{
    CK_RV rv = tool_p11_unwrap(&j->p11, j->old.path, j->old.cipher,
                               j->old.wrapped, j->old.wrapped_len, dek);

    if (rv != CKR_OK) {
        snprintf(j->why, sizeof(j->why),
                 "the data key does not unwrap with tenant \"%s\"'s CMK: "
                 "C_UnwrapKey: %s",
                 j->t->kms.label, tool_ckr(rv));
        return -1;
    }
    return 0;
}

static int do_encrypt(struct job *j)
{
    const struct file_args *a = j->a;
    CK_OBJECT_HANDLE dek = CK_INVALID_HANDLE;
    struct tool_fenc e;
    struct tool_fhdr h;
    int rc = new_key(j, a->path, a->cipher, a->chunk, &h, &dek);

    memset(&e, 0, sizeof(e));
    if (rc == 0)
        rc = tool_fenc_start(&e, &j->p11, &h, dek, &j->out, j->why);
    if (rc == 0)
        rc = tool_fenc_read(&e, &j->in, &j->pg);
    if (rc == 0)
        rc = tool_fenc_finish(&e);
    j->bytes = e.bytes;
    tool_fenc_free(&e);
    tool_p11_destroy(&j->p11, dek);
    return rc;
}

static int to_out(void *arg, const uint8_t *p, size_t n)
{
    return tool_fout_write(arg, p, n);
}

static int do_decrypt(struct job *j)
{
    CK_OBJECT_HANDLE dek = CK_INVALID_HANDLE;
    struct tool_fdec d = {&j->p11, &j->old, j->old_hash, 0,
                          to_out,  &j->out, 0,           j->why};
    int rc = old_key(j, &dek);

    d.dek = dek;
    if (rc == 0)
        rc = tool_fdec_run(&d, &j->in, &j->pg);
    j->bytes = d.bytes;
    tool_p11_destroy(&j->p11, dek);
    return rc;
}

static int to_enc(void *arg, const uint8_t *p, size_t n)
{
    return tool_fenc_push(arg, p, n);
}

/* Opens IN under its old key and seals it again under a new one. */
static int rekey_with(struct job *j, CK_OBJECT_HANDLE old, CK_OBJECT_HANDLE dek,
                      const struct tool_fhdr *h)
{
    struct tool_fenc e;
    struct tool_fdec d = {&j->p11, &j->old, j->old_hash, old,
                          to_enc,  &e,      0,           j->why};
    int rc = tool_fenc_start(&e, &j->p11, h, dek, &j->out, j->why);

    if (rc == 0)
        rc = tool_fdec_run(&d, &j->in, &j->pg);
    if (rc == 0)
        rc = tool_fenc_finish(&e);
    j->bytes = d.bytes;
    tool_fenc_free(&e);
    return rc;
}

static int do_rekey(struct job *j)
{
    const struct file_args *a = j->a;
    CK_OBJECT_HANDLE old = CK_INVALID_HANDLE, dek = CK_INVALID_HANDLE;
    struct tool_fhdr h;
    int rc = old_key(j, &old);

    if (rc == 0)
        rc = new_key(j, a->path ? a->path : j->old.path,
                     a->cipher ? a->cipher : j->old.cipher,
                     a->chunk ? a->chunk : j->old.chunk, &h, &dek);
    if (rc == 0)
        rc = rekey_with(j, old, dek, &h);
    tool_p11_destroy(&j->p11, old);
    tool_p11_destroy(&j->p11, dek);
    return rc;
}

/* Decrypt and rekey: IN's header, for this tenant. */
static int read_old(struct job *j)
{
    if (tool_fhdr_read(&j->in, &j->old, j->old_hash, j->why) != 0)
        return -1;
    if (strcmp(j->old.label, j->t->kms.label) != 0) {
        snprintf(j->why, sizeof(j->why),
                 "encrypted for tenant \"%s\", not \"%s\"", j->old.label,
                 j->t->kms.label);
        return -1;
    }
    return 0;
}

static int work(struct job *j)
{
    const struct file_args *a = j->a;

    if (a->kind == FILE_ENCRYPT)
        describe(j, a->path, a->cipher, a->chunk);
    else if (a->kind == FILE_DECRYPT)
        describe(j, j->old.path, j->old.cipher, j->old.chunk);
    else
        describe(j, a->path ? a->path : j->old.path,
                 a->cipher ? a->cipher : j->old.cipher,
                 a->chunk ? a->chunk : j->old.chunk);
    if (record(j, "encryption_started", "ok", j->in.size) != 0)
        return TOOL_FAIL;
    if (tool_fout_open(&j->out, a->out_arg) != 0) {
        snprintf(j->why, sizeof(j->why), "the output cannot be created");
        (void)record(j, "encryption_completed", "failed", 0);
        return TOOL_FAIL;
    }
    tool_progress_start(&j->pg, a->op, &j->in);
    if (a->kind == FILE_ENCRYPT   ? do_encrypt(j) != 0
        : a->kind == FILE_DECRYPT ? do_decrypt(j) != 0
                                  : do_rekey(j) != 0) {
        tool_progress_end(&j->pg, j->in.done);
        tool_err("%s: %s", j->in.name, j->why);
        tool_fout_abort(&j->out);
        (void)record(j, "encryption_completed", "failed", (long long)j->bytes);
        return TOOL_FAIL;
    }
    tool_progress_end(&j->pg, j->in.done);
    if (record(j, "encryption_completed", "ok", (long long)j->bytes) != 0) {
        tool_fout_abort(&j->out);
        return TOOL_FAIL;
    }
    return tool_fout_commit(&j->out) == 0 ? TOOL_OK : TOOL_FAIL;
}

/* With IN open (and its header read): the audit writer, the module,
 * the work, then both closed, the writer first (file_p11.h). */
static int with_module(struct job *j, const char *pin, size_t pin_len)
{
    int rc;

    if (tool_audit_open(j->cfg, &j->audit) != 0)
        return TOOL_FAIL;
    rc =
        tool_p11_open(&j->p11, j->a->config_abs, j->t->kms.label, pin, pin_len);
    if (rc == TOOL_OK) {
        rc = work(j);
        tool_audit_close(j->audit);
        tool_p11_close(&j->p11);
    } else {
        tool_audit_close(j->audit);
    }
    return rc;
}

static int run(void *arg, const struct cmk_config *cfg,
               const struct cmk_tenant_cfg *t)
{
    struct job j;
    char pin[TOOL_PIN_MAX + 1];
    size_t pin_len = 0;
    int rc;

    memset(&j, 0, sizeof(j));
    j.a = arg;
    j.cfg = cfg;
    j.t = t;
    rc = tool_file_pin(j.a, t, pin, &pin_len);
    if (rc != TOOL_OK)
        return rc;
    if (tool_fin_open(&j.in, j.a->in_arg) != 0) {
        sodium_memzero(pin, sizeof(pin));
        return TOOL_FAIL;
    }
    if (j.a->kind != FILE_ENCRYPT && read_old(&j) != 0) {
        tool_err("%s: %s", j.in.name, j.why);
        rc = TOOL_FAIL;
    } else {
        rc = with_module(&j, t->login_required ? pin : NULL, pin_len);
    }
    sodium_memzero(pin, sizeof(pin));
    tool_fin_close(&j.in);
    return rc;
}

static int command(enum file_kind kind, int argc, char **argv)
{
    struct file_args a;
    int rc = tool_file_args(kind, argc, argv, &a);

    if (rc != TOOL_OK)
        return rc < 0 ? TOOL_OK : rc;
    return tool_on_tenant(a.config, a.tenant, run, &a);
}

int cmd_encrypt(int argc, char **argv)
{
    return command(FILE_ENCRYPT, argc, argv);
}

int cmd_decrypt(int argc, char **argv)
{
    return command(FILE_DECRYPT, argc, argv);
}

int cmd_rekey(int argc, char **argv)
{
    return command(FILE_REKEY, argc, argv);
}
