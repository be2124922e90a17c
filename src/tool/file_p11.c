/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: cmk-tool's file commands as a PKCS#11 application of the module
 * (file_p11.h): token, login, CMK, DEKs and chunk encryption, all through
 * the function list.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "pkcs11/entry.h"
#include "tool/file_format.h"
#include "tool/file_p11.h"
#include "tool/tool.h"
#include "util/cknames.h"

/* PKCS#11 takes input buffers through non-const pointers. */
static CK_BYTE_PTR in_ptr(const void *p)
{
    return (CK_BYTE_PTR)(uintptr_t)p;
}

const char *tool_ckr(CK_RV rv)
{
    static char buf[32];
    const char *name = cmk_ck_rv_find(rv);

    if (name != NULL)
        return name;
    snprintf(buf, sizeof(buf), "CKR_0x%lx", (unsigned long)rv);
    return buf;
}

static bool label_is(const CK_UTF8CHAR field[32], const char *label)
{
    size_t n = strlen(label), i;

    if (n > 32 || memcmp(field, label, n) != 0)
        return false;
    for (i = n; i < 32; i++) {
        if (field[i] != ' ')
            return false;
    }
    return true;
}

/* The slot whose token is labelled label; CKR_SLOT_ID_INVALID if none. */
static CK_RV find_slot(struct tool_p11 *p, CK_SLOT_ID *out)
{
    CK_SLOT_ID slots[256];
    CK_ULONG n = 256, i;
    CK_TOKEN_INFO ti;
    CK_RV rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);

    for (i = 0; rv == CKR_OK && i < n; i++) {
        rv = p->f->C_GetTokenInfo(slots[i], &ti);
        if (rv == CKR_OK && label_is(ti.label, p->label)) {
            *out = slots[i];
            return CKR_OK;
        }
    }
    return rv != CKR_OK ? rv : CKR_SLOT_ID_INVALID;
}

static CK_RV find_cmk(struct tool_p11 *p)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {{CKA_CMK_IS_CMK, &yes, sizeof(yes)}};
    CK_ULONG n = 0;
    CK_RV rv = p->f->C_FindObjectsInit(p->s, t, 1);

    if (rv != CKR_OK)
        return rv;
    rv = p->f->C_FindObjects(p->s, &p->cmk, 1, &n);
    (void)p->f->C_FindObjectsFinal(p->s);
    if (rv == CKR_OK && n != 1)
        rv = CKR_KEY_HANDLE_INVALID;
    return rv;
}

static CK_RV start(struct tool_p11 *p, const char *config)
{
    CK_C_INITIALIZE_ARGS args;
    CK_RV rv = cmk_C_GetFunctionList(&p->f);

    if (rv != CKR_OK)
        return rv;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved =
        (CK_VOID_PTR)(uintptr_t)config; /* read only by the module */
    rv = p->f->C_Initialize(&args);
    p->initialized = rv == CKR_OK;
    return rv;
}

static int fail(struct tool_p11 *p, const char *what, CK_RV rv)
{
    tool_err("tenant \"%s\": %s: %s", p->label, what, tool_ckr(rv));
    tool_p11_close(p);
    return TOOL_FAIL;
}

int tool_p11_open(struct tool_p11 *p, const char *config, const char *label,
                  const char *pin, size_t pin_len)
{
    CK_SLOT_ID slot = 0;
    CK_RV rv;

    memset(p, 0, sizeof(*p));
    p->label = label;
    rv = start(p, config);
    if (rv != CKR_OK)
        return fail(p, "the module did not start", rv);
    rv = find_slot(p, &slot);
    if (rv != CKR_OK)
        return fail(p, "no token", rv);
    rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                             NULL, &p->s);
    if (rv != CKR_OK)
        return fail(p, "no session", rv);
    p->session = true;
    if (pin != NULL) {
        rv = p->f->C_Login(p->s, CKU_USER, (CK_UTF8CHAR_PTR)in_ptr(pin),
                           pin_len);
        if (rv != CKR_OK)
            return fail(p, "login failed", rv);
        p->logged_in = true;
    }
    rv = find_cmk(p);
    if (rv != CKR_OK)
        return fail(p, "the CMK object was not found", rv);
    return TOOL_OK;
}

void tool_p11_close(struct tool_p11 *p)
{
    if (p->logged_in)
        (void)p->f->C_Logout(p->s);
    if (p->session)
        (void)p->f->C_CloseSession(p->s);
    if (p->initialized)
        (void)p->f->C_Finalize(NULL);
    p->logged_in = p->session = p->initialized = false;
}

static CK_KEY_TYPE key_type(unsigned cipher)
{
    return cipher == TOOL_F_XCHACHA ? CKK_CHACHA20 : CKK_AES;
}

CK_RV tool_p11_new_dek(struct tool_p11 *p, unsigned cipher,
                       CK_OBJECT_HANDLE *dek)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = key_type(cipher);
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE_LEN, &len, sizeof(len)},
        {CKA_TOKEN, &no, sizeof(no)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},
    };
    CK_MECHANISM m = {cipher == TOOL_F_XCHACHA ? CKM_CHACHA20_KEY_GEN
                                               : CKM_AES_KEY_GEN,
                      NULL, 0};

    return p->f->C_GenerateKey(p->s, &m, t, sizeof(t) / sizeof(t[0]), dek);
}

static CK_MECHANISM_TYPE wrap_mech(unsigned path)
{
    return path == TOOL_F_PATH_KEK ? CKM_AES_KEY_WRAP_KWP : CKM_CMK_ENVELOPE;
}

CK_RV tool_p11_wrap(struct tool_p11 *p, unsigned path, CK_OBJECT_HANDLE dek,
                    uint8_t *out, size_t *len)
{
    CK_MECHANISM m = {wrap_mech(path), NULL, 0};
    CK_ULONG n = *len;
    CK_RV rv = p->f->C_WrapKey(p->s, &m, p->cmk, dek, out, &n);

    *len = n;
    return rv;
}

CK_RV tool_p11_unwrap(struct tool_p11 *p, unsigned path, unsigned cipher,
                      const uint8_t *w, size_t w_len, CK_OBJECT_HANDLE *dek)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = key_type(cipher);
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},     {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &no, sizeof(no)},       {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)}, {CKA_DECRYPT, &yes, sizeof(yes)},
    };
    CK_MECHANISM m = {wrap_mech(path), NULL, 0};

    return p->f->C_UnwrapKey(p->s, &m, p->cmk, in_ptr(w), w_len, t,
                             sizeof(t) / sizeof(t[0]), dek);
}

void tool_p11_destroy(struct tool_p11 *p, CK_OBJECT_HANDLE h)
{
    if (h != CK_INVALID_HANDLE)
        (void)p->f->C_DestroyObject(p->s, h);
}

/* The mechanism of one chunk; the parameter blocks live in the caller's
 * frame for the length of the init call. */
struct chunk_mech {
    CK_MECHANISM m;
    CK_GCM_PARAMS gcm;
    CK_SALSA20_CHACHA20_POLY1305_PARAMS cc;
};

static void chunk_mech(const struct tool_p11_chunk *c, struct chunk_mech *cm)
{
    if (c->cipher == TOOL_F_XCHACHA) {
        cm->cc.pNonce = in_ptr(c->nonce);
        cm->cc.ulNonceLen = c->nonce_len;
        cm->cc.pAAD = in_ptr(c->aad);
        cm->cc.ulAADLen = c->aad_len;
        cm->m.mechanism = CKM_CHACHA20_POLY1305;
        cm->m.pParameter = &cm->cc;
        cm->m.ulParameterLen = sizeof(cm->cc);
        return;
    }
    cm->gcm.pIv = in_ptr(c->nonce);
    cm->gcm.ulIvLen = c->nonce_len;
    cm->gcm.ulIvBits = c->nonce_len * 8;
    cm->gcm.pAAD = in_ptr(c->aad);
    cm->gcm.ulAADLen = c->aad_len;
    cm->gcm.ulTagBits = TOOL_F_TAG * 8;
    cm->m.mechanism = CKM_AES_GCM;
    cm->m.pParameter = &cm->gcm;
    cm->m.ulParameterLen = sizeof(cm->gcm);
}

/* One chunk through C_EncryptInit + C_Encrypt (seal) or C_DecryptInit +
 * C_Decrypt. */
static CK_RV one_chunk(struct tool_p11 *p, const struct tool_p11_chunk *c,
                       bool seal, const uint8_t *in, size_t in_len,
                       uint8_t *out, size_t *out_len)
{
    struct chunk_mech cm;
    CK_ULONG n = *out_len;
    CK_RV rv;

    chunk_mech(c, &cm);
    rv = seal ? p->f->C_EncryptInit(p->s, &cm.m, c->key)
              : p->f->C_DecryptInit(p->s, &cm.m, c->key);
    if (rv == CKR_OK)
        rv = seal ? p->f->C_Encrypt(p->s, in_ptr(in), in_len, out, &n)
                  : p->f->C_Decrypt(p->s, in_ptr(in), in_len, out, &n);
    *out_len = n;
    return rv;
}

CK_RV tool_p11_seal(struct tool_p11 *p, const struct tool_p11_chunk *c,
                    const uint8_t *in, size_t in_len, uint8_t *out,
                    size_t *out_len)
{
    return one_chunk(p, c, true, in, in_len, out, out_len);
}

CK_RV tool_p11_unseal(struct tool_p11 *p, const struct tool_p11_chunk *c,
                      const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t *out_len)
{
    return one_chunk(p, c, false, in, in_len, out, out_len);
}
