/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: attribute templates through the PKCS#11 entry points
 * C_CreateObject, C_CopyObject, C_SetAttributeValue, C_UnwrapKey (with
 * C_WrapKey to make blobs worth unwrapping, and C_GetAttributeValue), on
 * the local provider: a scratch tenant made once per process, logged in
 * once. Each input runs in its own session: a list of steps, each an
 * operation, its handles and a template (types, lengths, values, nested
 * templates, NULL values with any length). Its session objects go with
 * the session and its token objects are destroyed at the end (the store
 * is reset when one cannot be). Checked after every input: no key that
 * is sensitive or unextractable shows its value, the CMK stays
 * unreadable and unextractable, C_WrapKey never wraps an unextractable
 * key and the CMK only unwraps into sensitive keys.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "pkcs11/entry.h"
#include "tests/fuzz/fuzz.h"
#include "tests/lib/tenant.h"

#define MAX_ATTRS 8
#define MAX_MEM 64
#define MAX_OBJS 16
#define MAX_STEPS 12
#define MAX_WRAPPED 2048

static const CK_ATTRIBUTE_TYPE g_types[] = {
    CKA_CLASS,
    CKA_TOKEN,
    CKA_PRIVATE,
    CKA_LABEL,
    CKA_VALUE,
    CKA_KEY_TYPE,
    CKA_ID,
    CKA_SENSITIVE,
    CKA_ENCRYPT,
    CKA_DECRYPT,
    CKA_WRAP,
    CKA_UNWRAP,
    CKA_SIGN,
    CKA_VERIFY,
    CKA_DERIVE,
    CKA_VALUE_LEN,
    CKA_EXTRACTABLE,
    CKA_LOCAL,
    CKA_NEVER_EXTRACTABLE,
    CKA_ALWAYS_SENSITIVE,
    CKA_KEY_GEN_MECHANISM,
    CKA_MODIFIABLE,
    CKA_COPYABLE,
    CKA_DESTROYABLE,
    CKA_CHECK_VALUE,
    CKA_TRUSTED,
    CKA_WRAP_WITH_TRUSTED,
    CKA_WRAP_TEMPLATE,
    CKA_UNWRAP_TEMPLATE,
    CKA_ALLOWED_MECHANISMS,
    CKA_UNIQUE_ID,
    CKA_START_DATE,
    CKA_END_DATE,
    CKA_APPLICATION,
    CKA_CMK_PROVIDER,
    CKA_CMK_KEY_REF,
    CKA_CMK_IS_CMK,
    CKA_CMK_FLUSH_CACHE,
};
#define N_TYPES (sizeof(g_types) / sizeof(g_types[0]))

/* CK_ULONG values worth trying (classes, key types, lengths, mechanisms). */
static const CK_ULONG g_ulongs[] = {
    CKO_SECRET_KEY,
    CKO_DATA,
    CKO_PRIVATE_KEY,
    CKK_AES,
    CKK_CHACHA20,
    CKK_GENERIC_SECRET,
    16,
    24,
    32,
    0,
    1,
    64,
    CKM_AES_KEY_GEN,
    CKM_AES_GCM,
    CKM_CMK_ENVELOPE,
    CKM_AES_KEY_WRAP_KWP,
    (CK_ULONG)-1,
    0x7fffffffUL,
};
#define N_ULONGS (sizeof(g_ulongs) / sizeof(g_ulongs[0]))

static const CK_MECHANISM_TYPE g_wraps[] = {
    CKM_CMK_ENVELOPE, CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP_PAD,
    CKM_AES_KEY_WRAP, CKM_AES_GCM,
};

static CK_FUNCTION_LIST_PTR g_p11;
static struct test_env g_env;
static CK_SESSION_HANDLE g_login; /* keeps the user logged in */
static CK_OBJECT_HANDLE g_cmk;
static char g_store[400];

/* A template and the memory behind it. */
struct tmpl {
    CK_ATTRIBUTE a[MAX_ATTRS];
    CK_ULONG n;
    void *mem[MAX_MEM];
    size_t n_mem;
};

/* What one input works on. */
struct ctx {
    struct fz f;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE obj[MAX_OBJS];
    size_t n_obj;
    uint8_t wrapped[MAX_WRAPPED];
    CK_ULONG wrapped_len;
};

/* ---- Setup ---- */

/* The scratch config without audit (records of a long run would fill
 * the disk), its store under store_dir. */
static void rewrite_config(const char *store_dir)
{
    json_t *root = json_load_file(g_env.config, 0, NULL);

    fz_check(root != NULL, "reading the scratch config");
    (void)json_object_del(root, "audit");
    fz_check(json_object_set_new(root, "store_dir", json_string(store_dir)) ==
                 0,
             "store_dir");
    fz_check(json_dump_file(root, g_env.config, JSON_INDENT(1)) == 0,
             "writing the scratch config");
    json_decref(root);
}

static CK_OBJECT_HANDLE find_cmk(CK_SESSION_HANDLE s)
{
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE q[] = {{CKA_CMK_IS_CMK, &t, sizeof(t)}};
    CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
    CK_ULONG n = 0;

    fz_check(g_p11->C_FindObjectsInit(s, q, 1) == CKR_OK &&
                 g_p11->C_FindObjects(s, &o, 1, &n) == CKR_OK &&
                 g_p11->C_FindObjectsFinal(s) == CKR_OK && n == 1,
             "finding the CMK");
    return o;
}

static void start_module(void)
{
    static CK_UTF8CHAR pin[] = TEST_PIN;

    fz_check(g_p11->C_Initialize(NULL) == CKR_OK, "C_Initialize");
    fz_check(g_p11->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                                  NULL, &g_login) == CKR_OK,
             "C_OpenSession");
    fz_check(g_p11->C_Login(g_login, CKU_USER, pin, sizeof(pin) - 1) == CKR_OK,
             "C_Login");
    g_cmk = find_cmk(g_login);
}

static void stop_module(void)
{
    (void)g_p11->C_Finalize(NULL);
}

static void cleanup(void)
{
    stop_module();
    test_env_remove(&g_env);
}

/* The store in use: a new directory after every reset. */
static void use_store(unsigned n)
{
    snprintf(g_store, sizeof(g_store), "%s/store-%u", g_env.dir, n);
    rewrite_config(g_store);
}

static void setup(void)
{
    fz_check(test_env_make(&g_env) == 0, "scratch tenant");
    use_store(0);
    fz_check(setenv(CMK_CONFIG_ENV, g_env.config, 1) == 0, "setenv");
    fz_check(cmk_C_GetFunctionList(&g_p11) == CKR_OK, "C_GetFunctionList");
    start_module();
    fz_check(atexit(cleanup) == 0, "atexit");
}

/* Token objects that could not be destroyed: go on with a new, empty
 * store, so that no input depends on the ones before it. (A new
 * directory: the process remembers the old one's manifest and would
 * refuse it emptied as rolled back.) */
static void reset_store(void)
{
    static unsigned resets;
    char cmd[600];

    stop_module();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_store);
    fz_check(system(cmd) == 0, "removing the store");
    use_store(++resets);
    start_module();
}

/* ---- Templates ---- */

static void *keep(struct tmpl *t, void *p)
{
    fz_check(p != NULL, "out of memory");
    fz_check(t->n_mem < MAX_MEM, "template memory");
    t->mem[t->n_mem++] = p;
    return p;
}

static void tmpl_free(struct tmpl *t)
{
    size_t i;

    for (i = 0; i < t->n_mem; i++)
        free(t->mem[i]);
    t->n_mem = 0;
    t->n = 0;
}

static CK_ATTRIBUTE_TYPE read_type(struct fz *f)
{
    uint8_t b = fz_u8(f);

    if (b == 0xff)
        return (CK_ATTRIBUTE_TYPE)fz_u32(f);
    return g_types[b % N_TYPES];
}

static void read_attrs(struct fz *f, struct tmpl *t, CK_ATTRIBUTE *a,
                       CK_ULONG n, int depth);

/* A value: raw bytes, a CK_BBOOL, a CK_ULONG, a nested template, or NULL
 * with any length. Values are exact-size heap blocks. */
static void read_value(struct fz *f, struct tmpl *t, CK_ATTRIBUTE *a, int depth)
{
    uint8_t b = fz_u8(f);
    const uint8_t *raw;
    size_t len;

    if (b == 0xff) {
        a->pValue = NULL;
        a->ulValueLen = (CK_ULONG)fz_u32(f);
    } else if (b >= 0xf0 && depth < 2) {
        CK_ULONG n = b & 0x07;
        CK_ATTRIBUTE *sub = keep(t, calloc(n + (n == 0), sizeof(*sub)));

        read_attrs(f, t, sub, n, depth + 1);
        a->pValue = sub;
        a->ulValueLen = n * sizeof(*sub);
    } else if (b >= 0xc0) {
        CK_ULONG *v = keep(t, malloc(sizeof(*v)));

        *v = g_ulongs[fz_u8(f) % N_ULONGS];
        a->pValue = v;
        a->ulValueLen = sizeof(*v);
    } else if (b >= 0xa0) {
        CK_BBOOL *v = keep(t, malloc(sizeof(*v)));

        *v = (b & 1) ? CK_TRUE : CK_FALSE;
        a->pValue = v;
        a->ulValueLen = sizeof(*v);
    } else {
        raw = fz_bytes(f, b % 65, &len);
        a->pValue = keep(t, malloc(len > 0 ? len : 1));
        memcpy(a->pValue, raw, len);
        a->ulValueLen = len;
    }
}

static void read_attrs(struct fz *f, struct tmpl *t, CK_ATTRIBUTE *a,
                       CK_ULONG n, int depth)
{
    CK_ULONG i;

    for (i = 0; i < n; i++) {
        a[i].type = read_type(f);
        read_value(f, t, &a[i], depth);
    }
}

static void read_tmpl(struct fz *f, struct tmpl *t)
{
    t->n = fz_u8(f) % (MAX_ATTRS + 1);
    read_attrs(f, t, t->a, t->n, 0);
}

/* ---- Steps ---- */

static CK_OBJECT_HANDLE pick(struct ctx *c)
{
    uint8_t b = fz_u8(&c->f);

    if (b == 0xff)
        return (CK_OBJECT_HANDLE)fz_u32(&c->f); /* anything */
    if (c->n_obj == 0 || b % (c->n_obj + 1) == c->n_obj)
        return g_cmk;
    return c->obj[b % (c->n_obj + 1)];
}

static void add(struct ctx *c, CK_RV rv, CK_OBJECT_HANDLE o)
{
    if (rv != CKR_OK)
        return;
    fz_check(o != CK_INVALID_HANDLE, "CKR_OK without a handle");
    fz_check(c->n_obj < MAX_OBJS, "object list");
    c->obj[c->n_obj++] = o;
}

static CK_BBOOL get_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                         CK_ATTRIBUTE_TYPE type, CK_BBOOL dflt)
{
    CK_BBOOL v = dflt;
    CK_ATTRIBUTE a = {type, &v, sizeof(v)};

    return g_p11->C_GetAttributeValue(s, o, &a, 1) == CKR_OK ? v : dflt;
}

static void step_create(struct ctx *c)
{
    CK_OBJECT_HANDLE o = CK_INVALID_HANDLE, src = pick(c);
    struct tmpl t = {0};
    CK_RV rv;

    read_tmpl(&c->f, &t);
    if ((fz_u8(&c->f) & 1) == 0)
        rv = g_p11->C_CreateObject(c->s, t.a, t.n, &o);
    else
        rv = g_p11->C_CopyObject(c->s, src, t.a, t.n, &o);
    add(c, rv, o);
    tmpl_free(&t);
}

static void step_set(struct ctx *c)
{
    CK_OBJECT_HANDLE o = pick(c);
    struct tmpl t = {0};

    read_tmpl(&c->f, &t);
    (void)g_p11->C_SetAttributeValue(c->s, o, t.a, t.n);
    tmpl_free(&t);
}

static void mech_of(struct ctx *c, CK_MECHANISM *m, CK_GCM_PARAMS *g,
                    uint8_t iv[12])
{
    memset(m, 0, sizeof(*m));
    memset(iv, 0x11, 12);
    m->mechanism = g_wraps[fz_u8(&c->f) % 5];
    if (m->mechanism != CKM_AES_GCM)
        return;
    g->pIv = iv;
    g->ulIvLen = 12;
    g->ulIvBits = 96;
    g->pAAD = NULL;
    g->ulAADLen = 0;
    g->ulTagBits = 128;
    m->pParameter = g;
    m->ulParameterLen = sizeof(*g);
}

static void step_wrap(struct ctx *c)
{
    CK_OBJECT_HANDLE wk = pick(c), k = pick(c);
    CK_BBOOL ext = get_bool(c->s, k, CKA_EXTRACTABLE, CK_TRUE);
    CK_ULONG len = 0;
    CK_GCM_PARAMS g;
    CK_MECHANISM m;
    uint8_t iv[12];
    CK_RV rv;

    mech_of(c, &m, &g, iv);
    rv = g_p11->C_WrapKey(c->s, &m, wk, k, NULL, &len);
    if (rv != CKR_OK || len > MAX_WRAPPED)
        return;
    rv = g_p11->C_WrapKey(c->s, &m, wk, k, c->wrapped, &len);
    c->wrapped_len = rv == CKR_OK ? len : 0;
    fz_check(rv != CKR_OK || ext, "an unextractable key was wrapped");
}

static void step_unwrap(struct ctx *c)
{
    CK_OBJECT_HANDLE uk = pick(c), o = CK_INVALID_HANDLE;
    uint8_t flip = fz_u8(&c->f), blob[MAX_WRAPPED];
    struct tmpl t = {0};
    const uint8_t *raw;
    CK_GCM_PARAMS g;
    CK_MECHANISM m;
    size_t len;
    uint8_t iv[12];
    CK_RV rv;

    mech_of(c, &m, &g, iv);
    if ((flip & 1) != 0) {
        raw = fz_bytes(&c->f, fz_u8(&c->f), &len);
        memcpy(blob, raw, len);
    } else {
        len = c->wrapped_len;
        memcpy(blob, c->wrapped, len);
        if ((flip & 2) != 0 && len > 0)
            blob[fz_u8(&c->f) % len] ^= flip;
    }
    read_tmpl(&c->f, &t);
    rv = g_p11->C_UnwrapKey(c->s, &m, uk, blob, len, t.a, t.n, &o);
    add(c, rv, o);
    if (rv == CKR_OK && uk == g_cmk)
        fz_check(get_bool(c->s, o, CKA_SENSITIVE, CK_FALSE),
                 "the CMK unwrapped into a key that is not sensitive");
    tmpl_free(&t);
}

/* C_GetAttributeValue with NULL values (lengths) or buffers of any size. */
static void step_get(struct ctx *c)
{
    CK_OBJECT_HANDLE o = pick(c);
    CK_ATTRIBUTE a[MAX_ATTRS];
    struct tmpl t = {0};
    CK_ULONG i, n = fz_u8(&c->f) % (MAX_ATTRS + 1);
    uint8_t b;

    for (i = 0; i < n; i++) {
        a[i].type = read_type(&c->f);
        b = fz_u8(&c->f);
        a[i].ulValueLen = b & 0x7f;
        a[i].pValue = NULL;
        if ((b & 0x80) == 0) /* exact size: malloc(0) is a block too */
            a[i].pValue = keep(&t, malloc(a[i].ulValueLen));
    }
    (void)g_p11->C_GetAttributeValue(c->s, o, a, n);
    tmpl_free(&t);
}

/* ---- Invariants and the end of an input ---- */

static void check_hidden(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
    uint8_t v[128];
    CK_ATTRIBUTE a = {CKA_VALUE, v, sizeof(v)};
    CK_BBOOL sens = get_bool(s, o, CKA_SENSITIVE, CK_FALSE);
    CK_BBOOL ext = get_bool(s, o, CKA_EXTRACTABLE, CK_TRUE);
    CK_RV rv;

    if (!sens && ext)
        return;
    rv = g_p11->C_GetAttributeValue(s, o, &a, 1);
    fz_check(rv != CKR_OK && a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
             "a sensitive or unextractable value was read");
}

static void check_cmk(CK_SESSION_HANDLE s)
{
    fz_check(get_bool(s, g_cmk, CKA_SENSITIVE, CK_FALSE) &&
                 !get_bool(s, g_cmk, CKA_EXTRACTABLE, CK_TRUE),
             "the CMK became readable");
    check_hidden(s, g_cmk);
}

/* Destroys the input's token objects; false when one stays. */
static bool destroy_token_objects(struct ctx *c)
{
    bool clean = true;
    size_t i;

    for (i = 0; i < c->n_obj; i++) {
        check_hidden(c->s, c->obj[i]);
        if (!get_bool(c->s, c->obj[i], CKA_TOKEN, CK_FALSE))
            continue;
        if (g_p11->C_DestroyObject(c->s, c->obj[i]) != CKR_OK)
            clean = false;
    }
    return clean;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*const steps[])(struct ctx *) = {
        step_create, step_create, step_set, step_wrap, step_unwrap, step_get};
    struct ctx *c = calloc(1, sizeof(*c));
    bool clean;
    int i;

    fz_check(c != NULL, "out of memory");
    if (g_p11 == NULL)
        setup();
    c->f = (struct fz){data, size};
    fz_check(g_p11->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                                  NULL, &c->s) == CKR_OK,
             "C_OpenSession");
    for (i = 0; i < MAX_STEPS && c->f.n > 0 && c->n_obj < MAX_OBJS; i++)
        steps[fz_u8(&c->f) % 6](c);
    check_cmk(c->s);
    clean = destroy_token_objects(c);
    fz_check(g_p11->C_CloseSession(c->s) == CKR_OK, "C_CloseSession");
    if (!clean)
        reset_store();
    free(c);
    return 0;
}
