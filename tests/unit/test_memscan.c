/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: no key material outside protected memory. The module runs with
 * a DEK, the tenant KEK, the local provider key and a local key pair's RSA
 * private key of known value and operations keyed with them active (and
 * a signature made with the key pair); then (a) a forked child scans all
 * its readable memory for those keys and their AES round keys and HKDF
 * outputs and must find nothing, (b) the process scans its own memory and
 * every hit must lie in a mapping the kernel leaves out of core dumps
 * (VmFlags "dd"), (c) a real core dump of a process in that state holds
 * none of them.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "cmk-pkcs11.h"
#include "mech/aes.h"
#include "pkcs11/entry.h"
#include "tests/lib/tenant.h"

#define KEY 32
#define ROUNDS 14
#define CHUNK (1024 * 1024)
#define OVERLAP 64
#define MAPS_MAX 4096
#define TEXT_MAX (4 * 1024 * 1024)
#define HITS_MAX 256
#define STORE_INFO "cmk-pkcs11 object store v1"
#define DATA_INFO "cmk-pkcs11 cmk data key v1"
/* Larger mappings are address-space reservations, not data: a sanitizer's
 * shadow memory (terabytes, NORESERVE). Reading them would take hours. */
#define MAP_SCAN_MAX ((uintptr_t)64 << 30)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Everything the test itself knows about the keys, in one mapping that
 * every scan skips: the patterns, the DEK template, the read buffer. */
struct region {
    uint8_t local_key[KEY];
    uint8_t kek[KEY];
    uint8_t dek[KEY];
    uint8_t dek_tmpl[KEY];
    uint8_t store_prk[KEY];
    uint8_t store_key[KEY];
    uint8_t data_prk[KEY]; /* the CMK's data key: HKDF of the KEK */
    uint8_t data_key[KEY];
    uint8_t rk_data[ROUNDS + 1][16];
    uint8_t rk_kek[ROUNDS + 1][16];
    uint8_t rk_dek[ROUNDS + 1][16];
    uint8_t imc_kek[ROUNDS + 1]
                   [16]; /* decryption round keys (FIPS 197 5.3.5) */
    uint8_t imc_dek[ROUNDS + 1][16];
    /* The key pair's RSA private exponent and first prime, 32 bytes from
     * the middle of each, as DER writes them (big-endian) and as a
     * BIGNUM holds them (little-endian limbs), and its PEM file. */
    uint8_t d_be[KEY], d_le[KEY], p_be[KEY], p_le[KEY];
    char pem[4096];
    size_t pem_len;
    uint8_t buf[CHUNK + OVERLAP];
    char text[TEXT_MAX];
};

struct map {
    uintptr_t lo, hi;
    bool readable, dd;
    char name[64];
};

struct hit {
    int pattern;
    uintptr_t addr;
    bool dd;
    char name[64];
};

struct pattern {
    const char *what;
    const uint8_t *p;
    size_t len;
};

static struct region *rg;
static struct test_env *tenv; /* shared: filled by a setup child */
static CK_FUNCTION_LIST_PTR p;
static struct pattern pats[16 + 5 * ROUNDS];
static size_t n_pats;
static struct map maps[MAPS_MAX];
static struct hit hits[HITS_MAX];

/* ---- Reference AES-256 key expansion (FIPS 197 5.2), in place ---- */

static uint8_t xtime(uint8_t a)
{
    return (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1b : 0));
}

static uint8_t gmul(uint8_t a, uint8_t b)
{
    uint8_t r = 0;

    while (b != 0) {
        if (b & 1)
            r ^= a;
        a = xtime(a);
        b >>= 1;
    }
    return r;
}

static uint8_t sbox(uint8_t x)
{
    uint8_t inv = 1, s;
    int i;

    for (i = 0; i < 254; i++) /* x^254 is the inverse in GF(2^8) */
        inv = gmul(inv, x);
    if (x == 0)
        inv = 0;
    s = inv;
    for (i = 1; i <= 4; i++)
        s ^= (uint8_t)((inv << i) | (inv >> (8 - i)));
    return s ^ 0x63;
}

/* The 60 words go straight into rk: no copy of a round key on the
 * stack, which the scan would find. */
static void expand(const uint8_t key[KEY], uint8_t rk[ROUNDS + 1][16])
{
    uint8_t *w = &rk[0][0], t[4], rcon = 1;
    int i, j;

    memcpy(w, key, KEY);
    for (i = 8; i < 4 * (ROUNDS + 1); i++) {
        memcpy(t, w + 4 * (i - 1), 4);
        if (i % 8 == 0) {
            uint8_t t0 = t[0];

            t[0] = (uint8_t)(sbox(t[1]) ^ rcon);
            t[1] = sbox(t[2]);
            t[2] = sbox(t[3]);
            t[3] = sbox(t0);
            rcon = xtime(rcon);
        } else if (i % 8 == 4) {
            for (j = 0; j < 4; j++)
                t[j] = sbox(t[j]);
        }
        for (j = 0; j < 4; j++)
            w[4 * i + j] = w[4 * (i - 8) + j] ^ t[j];
    }
    sodium_memzero(t, sizeof(t));
}

/* InvMixColumns of each round key: the form an equivalent-inverse-cipher
 * decryption schedule (AES-NI aesimc) keeps. */
static void inv_mix(uint8_t rk[ROUNDS + 1][16], uint8_t out[ROUNDS + 1][16])
{
    int r, c;

    for (r = 0; r <= ROUNDS; r++) {
        for (c = 0; c < 4; c++) {
            const uint8_t *a = &rk[r][4 * c];
            uint8_t *o = &out[r][4 * c];

            o[0] = gmul(a[0], 14) ^ gmul(a[1], 11) ^ gmul(a[2], 13) ^
                   gmul(a[3], 9);
            o[1] = gmul(a[0], 9) ^ gmul(a[1], 14) ^ gmul(a[2], 11) ^
                   gmul(a[3], 13);
            o[2] = gmul(a[0], 13) ^ gmul(a[1], 9) ^ gmul(a[2], 14) ^
                   gmul(a[3], 11);
            o[3] = gmul(a[0], 11) ^ gmul(a[1], 13) ^ gmul(a[2], 9) ^
                   gmul(a[3], 14);
        }
    }
}

/* HKDF-SHA256 (RFC 5869) of the KEK, no salt, one block: the object
 * store key and the CMK's data key. */
static void kek_hkdf(const char *info, uint8_t prk[KEY], uint8_t okm[KEY])
{
    static const uint8_t zero[KEY], one = 1;
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, zero, sizeof(zero));
    crypto_auth_hmacsha256_update(&st, rg->kek, KEY);
    crypto_auth_hmacsha256_final(&st, prk);
    crypto_auth_hmacsha256_init(&st, prk, KEY);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)info, strlen(info));
    crypto_auth_hmacsha256_update(&st, &one, 1);
    crypto_auth_hmacsha256_final(&st, okm);
    sodium_memzero(&st, sizeof(st));
}

static void add(const char *what, const uint8_t *q, size_t len)
{
    pats[n_pats].what = what;
    pats[n_pats].p = q;
    pats[n_pats].len = len;
    n_pats++;
}

/* Rounds 0 and 1 of AES-256 are the key itself; 2..14 are derived. */
static void add_rounds(const char *what, uint8_t rk[ROUNDS + 1][16], int from,
                       int to)
{
    int r;

    for (r = from; r <= to; r++)
        add(what, rk[r], 16);
}

/* 32 bytes from the middle of bn, big- and little-endian. */
static int bn_slices(const BIGNUM *bn, uint8_t be[KEY], uint8_t le[KEY])
{
    uint8_t all[512];
    int n = BN_num_bytes(bn);

    if (n < 2 * KEY || n > (int)sizeof(all) || BN_bn2bin(bn, all) != n)
        return -1;
    memcpy(be, all + n / 2 - KEY / 2, KEY);
    BN_bn2lebinpad(bn, all, n);
    memcpy(le, all + n / 2 - KEY / 2, KEY);
    sodium_memzero(all, sizeof(all));
    return 0;
}

/* An RSA-2048 key pair: its PEM text into rg->pem (through a BIO that
 * wipes what it frees), its d and p slices. */
static int make_rsa(void)
{
    EVP_PKEY *pk = EVP_RSA_gen(2048);
    BIGNUM *d = NULL, *q = NULL;
    BIO *b = BIO_new(BIO_s_secmem());
    int rc = -1, n;

    if (pk != NULL && b != NULL &&
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_D, &d) == 1 &&
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_FACTOR1, &q) == 1 &&
        bn_slices(d, rg->d_be, rg->d_le) == 0 &&
        bn_slices(q, rg->p_be, rg->p_le) == 0 &&
        PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) == 1 &&
        (n = BIO_read(b, rg->pem, sizeof(rg->pem))) > 0 &&
        n < (int)sizeof(rg->pem)) {
        rg->pem_len = (size_t)n;
        rc = 0;
    }
    BN_clear_free(d);
    BN_clear_free(q);
    BIO_free(b);
    EVP_PKEY_free(pk);
    return rc;
}

static int make_patterns(void)
{
    randombytes_buf(rg->local_key, KEY);
    randombytes_buf(rg->kek, KEY);
    randombytes_buf(rg->dek, KEY);
    expand(rg->kek, rg->rk_kek);
    expand(rg->dek, rg->rk_dek);
    inv_mix(rg->rk_kek, rg->imc_kek);
    inv_mix(rg->rk_dek, rg->imc_dek);
    kek_hkdf(STORE_INFO, rg->store_prk, rg->store_key);
    kek_hkdf(DATA_INFO, rg->data_prk, rg->data_key);
    expand(rg->data_key, rg->rk_data);
    n_pats = 0;
    add("local provider key", rg->local_key, KEY);
    add("KEK", rg->kek, KEY);
    add("DEK", rg->dek, KEY);
    add("store HKDF PRK", rg->store_prk, KEY);
    add("store key", rg->store_key, KEY);
    add("CMK data key", rg->data_key, KEY);
    add_rounds("CMK data key round key", rg->rk_data, 2, ROUNDS);
    add_rounds("KEK round key", rg->rk_kek, 2, ROUNDS);
    add_rounds("DEK round key", rg->rk_dek, 2, ROUNDS);
    add_rounds("KEK decryption round key", rg->imc_kek, 1, ROUNDS - 1);
    add_rounds("DEK decryption round key", rg->imc_dek, 1, ROUNDS - 1);
    if (make_rsa() != 0)
        return -1;
    add("key pair RSA d (DER)", rg->d_be, KEY);
    add("key pair RSA d (BIGNUM)", rg->d_le, KEY);
    add("key pair RSA p (DER)", rg->p_be, KEY);
    add("key pair RSA p (BIGNUM)", rg->p_le, KEY);
    /* A line of the PEM's base64, from its middle. */
    add("key pair PEM text", (const uint8_t *)rg->pem + rg->pem_len / 2, 48);
    return 0;
}

/* ---- Memory maps and scanning ---- */

static ssize_t read_file(const char *path, char *out, size_t cap)
{
    size_t got = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    while (got + 1 < cap && (n = read(fd, out + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    out[got] = '\0';
    return (ssize_t)got;
}

static bool is_header(const char *line, struct map *m)
{
    unsigned long lo, hi;
    char perms[8] = "", name[64] = "";
    int n = 0;

    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s%n", &lo, &hi, perms, &n) < 3)
        return false;
    sscanf(line + n, " %63[^\n]", name);
    m->lo = lo;
    m->hi = hi;
    m->readable = perms[0] == 'r';
    m->dd = false;
    snprintf(m->name, sizeof(m->name), "%s", name[0] ? name : "[anon]");
    return true;
}

/* /proc/self/smaps: each mapping and whether it has VmFlags "dd". */
static size_t load_maps(void)
{
    char *line = rg->text, *nl;
    size_t n = 0;

    if (read_file("/proc/self/smaps", rg->text, sizeof(rg->text)) <= 0)
        return 0;
    for (; *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        if (n < MAPS_MAX && is_header(line, &maps[n])) {
            n++;
        } else if (n > 0 && strncmp(line, "VmFlags:", 8) == 0) {
            maps[n - 1].dd = strstr(line, " dd") != NULL;
        }
    }
    return n;
}

static bool skip_map(const struct map *m)
{
    uintptr_t r = (uintptr_t)rg;

    if (!m->readable || m->hi - m->lo > MAP_SCAN_MAX ||
        strcmp(m->name, "[vvar]") == 0 || strcmp(m->name, "[vsyscall]") == 0 ||
        strcmp(m->name, "[vvar_vclock]") == 0)
        return true;
    return m->lo < r + sizeof(*rg) && r < m->hi; /* the test's own copies */
}

static void note_hit(size_t *nh, int pat, uintptr_t addr, const struct map *m)
{
    if (*nh >= HITS_MAX)
        return;
    hits[*nh].pattern = pat;
    hits[*nh].addr = addr;
    hits[*nh].dd = m != NULL && m->dd;
    snprintf(hits[*nh].name, sizeof(hits[*nh].name), "%s",
             m != NULL ? m->name : "core file");
    (*nh)++;
}

/* Looks for every pattern in buf[0..len), counting matches that start
 * before `limit` (the rest is the overlap with the next chunk). */
static void scan_buf(size_t len, size_t limit, uintptr_t base,
                     const struct map *m, size_t *nh)
{
    size_t i;

    for (i = 0; i < n_pats; i++) {
        const uint8_t *s = rg->buf, *end = rg->buf + len, *f;

        while (s < end && (f = memmem(s, (size_t)(end - s), pats[i].p,
                                      pats[i].len)) != NULL) {
            if ((size_t)(f - rg->buf) < limit)
                note_hit(nh, (int)i, base + (uintptr_t)(f - rg->buf), m);
            s = f + 1;
        }
    }
}

static void scan_map(int fd, const struct map *m, size_t *nh)
{
    uintptr_t off;

    for (off = m->lo; off < m->hi; off += CHUNK) {
        size_t want =
            m->hi - off > CHUNK + OVERLAP ? CHUNK + OVERLAP : m->hi - off;
        ssize_t n = pread(fd, rg->buf, want, (off_t)off);

        if (n <= 0)
            continue; /* unreadable (guard page, device memory) */
        scan_buf((size_t)n, (size_t)n < CHUNK ? (size_t)n : CHUNK, off, m, nh);
    }
}

/* Scans this process's readable memory; returns the number of hits. */
static size_t scan_self(void)
{
    size_t nm = load_maps(), nh = 0, i;
    int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || nm == 0)
        return (size_t)-1;
    for (i = 0; i < nm; i++) {
        if (!skip_map(&maps[i]))
            scan_map(fd, &maps[i], &nh);
    }
    close(fd);
    return nh;
}

static void print_hits(size_t nh, const char *where)
{
    size_t i;

    for (i = 0; i < nh && i < HITS_MAX; i++)
        print_message("%s: %s at %#lx in %s%s\n", where,
                      pats[hits[i].pattern].what, (unsigned long)hits[i].addr,
                      hits[i].name, hits[i].dd ? " (dd)" : "");
}

/* ---- Driving the module (plain CK_RV checks: also runs in children) ---- */

struct live {
    CK_SESSION_HANDLE h[4];
};

#define TRY(x)                                                                 \
    do {                                                                       \
        rv = (x);                                                              \
        if (rv != CKR_OK) {                                                    \
            fprintf(stderr, "%s:%d: %s: %#lx\n", __FILE__, __LINE__, #x,       \
                    (unsigned long)rv);                                        \
            return rv;                                                         \
        }                                                                      \
    } while (0)

static CK_RV find_cmk(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *o)
{
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CMK_IS_CMK, &t, sizeof(t)}};
    CK_ULONG n = 0;
    CK_RV rv;

    TRY(p->C_FindObjectsInit(h, tmpl, 1));
    TRY(p->C_FindObjects(h, o, 1, &n));
    TRY(p->C_FindObjectsFinal(h));
    return n == 1 ? CKR_OK : CKR_GENERAL_ERROR;
}

/* The DEK of known value: sensitive, not extractable, and the template
 * copy wiped at once. */
static CK_RV create_dek(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *o)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},     {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &no, sizeof(no)},       {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)}, {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},   {CKA_VALUE, rg->dek_tmpl, KEY},
    };
    CK_RV rv;

    memcpy(rg->dek_tmpl, rg->dek, KEY);
    rv = p->C_CreateObject(h, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), o);
    sodium_memzero(rg->dek_tmpl, KEY);
    return rv;
}

static CK_RV gen_key(CK_SESSION_HANDLE h, CK_BBOOL token, CK_OBJECT_HANDLE *o)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = KEY;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                           {CKA_TOKEN, &token, sizeof(token)},
                           {CKA_EXTRACTABLE, &yes, sizeof(yes)}};

    return p->C_GenerateKey(h, &m, tmpl, 3, o);
}

/* One signature with the key pair "kp" (the private key parsed for the
 * call only). */
static CK_RV sign_with_pair(CK_SESSION_HANDLE h)
{
    static uint8_t data[100], sig[512];
    static char label[] = "kp";
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_LABEL, label, 2}};
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_OBJECT_HANDLE k = 0;
    CK_ULONG n = 0;
    CK_RV rv;

    TRY(p->C_FindObjectsInit(h, tmpl, 2));
    TRY(p->C_FindObjects(h, &k, 1, &n));
    TRY(p->C_FindObjectsFinal(h));
    if (n != 1)
        return CKR_GENERAL_ERROR;
    n = sizeof(sig);
    TRY(p->C_SignInit(h, &m, k));
    TRY(p->C_Sign(h, data, sizeof(data), sig, &n));
    return n == 256 ? CKR_OK : CKR_GENERAL_ERROR;
}

/* Finished operations on both keys: they must leave nothing behind. */
static CK_RV finished_ops(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE cmk,
                          CK_OBJECT_HANDLE dek)
{
    static uint8_t iv[12] = {7}, data[100], out[200];
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM gcm = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    CK_OBJECT_HANDLE other = 0;
    CK_ULONG n = sizeof(out);
    CK_RV rv;

    TRY(p->C_EncryptInit(h, &gcm, dek));
    TRY(p->C_Encrypt(h, data, sizeof(data), out, &n));
    n = sizeof(out);
    TRY(p->C_EncryptInit(h, &gcm, cmk));
    TRY(p->C_Encrypt(h, data, sizeof(data), out, &n));
    TRY(gen_key(h, CK_FALSE, &other));
    n = sizeof(out);
    TRY(p->C_WrapKey(h, &kwp, cmk, other, out, &n));
    TRY(p->C_DestroyObject(h, other));
    return sign_with_pair(h);
}

/* Operations left active: one per session, each keyed and mid-stream. */
static CK_RV active_ops(struct live *l, CK_OBJECT_HANDLE cmk,
                        CK_OBJECT_HANDLE dek)
{
    static uint8_t iv[12] = {9}, cbc_iv[16] = {3}, data[100], out[200];
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM gcm = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, cbc_iv, sizeof(cbc_iv)};
    CK_ULONG n = sizeof(out);
    CK_RV rv;

    TRY(p->C_EncryptInit(l->h[1], &gcm, cmk));
    TRY(p->C_EncryptUpdate(l->h[1], data, 20, out, &n));
    n = sizeof(out);
    TRY(p->C_EncryptInit(l->h[2], &gcm, dek));
    TRY(p->C_EncryptUpdate(l->h[2], data, 20, out, &n));
    n = sizeof(out);
    TRY(p->C_EncryptInit(l->h[3], &cbc, dek));
    return p->C_EncryptUpdate(l->h[3], data, 20, out, &n);
}

static CK_RV drive(struct live *l)
{
    static CK_UTF8CHAR pin[] = TEST_PIN;
    CK_FLAGS f = CKF_SERIAL_SESSION | CKF_RW_SESSION;
    CK_OBJECT_HANDLE cmk = 0, dek = 0, tok = 0;
    CK_RV rv;
    int i;

    TRY(p->C_Initialize(NULL));
    for (i = 0; i < 4; i++)
        TRY(p->C_OpenSession(0, f, NULL, NULL, &l->h[i]));
    TRY(p->C_Login(l->h[0], CKU_USER, pin, sizeof(pin) - 1));
    TRY(find_cmk(l->h[0], &cmk));
    TRY(gen_key(l->h[0], CK_TRUE, &tok)); /* store key derived from KEK */
    TRY(create_dek(l->h[0], &dek));
    TRY(finished_ops(l->h[0], cmk, dek));
    return active_ops(l, cmk, dek);
}

static CK_RV undrive(struct live *l)
{
    CK_RV rv;
    int i;

    for (i = 0; i < 4; i++)
        TRY(p->C_CloseSession(l->h[i]));
    return p->C_Finalize(NULL);
}

/* ---- Tests ---- */

/* Tenant alpha gets the key pair "kp": its PEM file (0600) beside the
 * config, named in the config's "key_pairs". */
static int add_key_pair(void)
{
    char path[400];
    json_t *cfg, *t;
    int fd, rc = -1;

    snprintf(path, sizeof(path), "%s/kp.pem", tenv->dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (write(fd, rg->pem, rg->pem_len) == (ssize_t)rg->pem_len)
        rc = 0;
    close(fd);
    cfg = rc == 0 ? json_load_file(tenv->config, 0, NULL) : NULL;
    t = json_array_get(json_object_get(cfg, "tenants"), 0);
    if (t == NULL ||
        json_object_set_new(t, "key_pairs",
                            json_pack("[{s:s, s:s, s:s}]", "label", "kp", "id",
                                      "a1", "key", path)) != 0 ||
        json_dump_file(cfg, tenv->config, 0) != 0 ||
        chmod(tenv->config, 0600) != 0)
        rc = -1;
    json_decref(cfg);
    return rc;
}

/* (a) and (b). */
static void test_fork_and_self_scan(void **state)
{
    struct live l;
    size_t nh, child, i, bad = 0;
    int pfd[2], status = 0;
    pid_t pid;

    (void)state;
    assert_int_equal(drive(&l), CKR_OK);
    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t n = scan_self();

        close(pfd[0]);
        if (write(pfd[1], &n, sizeof(n)) != (ssize_t)sizeof(n) ||
            (n != (size_t)-1 &&
             write(pfd[1], hits,
                   sizeof(hits[0]) * (n < HITS_MAX ? n : HITS_MAX)) < 0))
            _exit(2);
        _exit(0);
    }
    close(pfd[1]);
    assert_int_equal(read(pfd[0], &nh, sizeof(nh)), (ssize_t)sizeof(nh));
    assert_true(nh != (size_t)-1);
    for (i = 0; i < nh && i < HITS_MAX; i++)
        assert_int_equal(read(pfd[0], &hits[i], sizeof(hits[i])),
                         (ssize_t)sizeof(hits[i]));
    close(pfd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    print_hits(nh, "forked child");
    child = nh;

    nh = scan_self();
    assert_true(nh != (size_t)-1);
    for (i = 0; i < nh && i < HITS_MAX; i++)
        bad += !hits[i].dd;
    print_hits(nh, "process");
    print_message("forked child: %zu hits; process: %zu hits, %zu outside "
                  "dd mappings\n",
                  child, nh, bad);
    assert_int_equal(child, 0);
    assert_true(nh > 0); /* the keys are in there, in protected memory */
    assert_int_equal(bad, 0);
    assert_int_equal(undrive(&l), CKR_OK);
}

/* Where the kernel writes a core for a process whose cwd is dir: only the
 * plain "core" pattern is handled; anything else (a pipe to a collector,
 * a path, % specifiers) is outside what a unit test should touch. */
static bool core_path(const char *dir, pid_t pid, char *out, size_t cap)
{
    char pat[256], pid_flag[8] = "0";

    if (read_file("/proc/sys/kernel/core_pattern", pat, sizeof(pat)) <= 0)
        return false;
    pat[strcspn(pat, "\n")] = '\0';
    if (strcmp(pat, "core") != 0) {
        print_message("core dump check not run: core_pattern is \"%s\"\n", pat);
        return false;
    }
    read_file("/proc/sys/kernel/core_uses_pid", pid_flag, sizeof(pid_flag));
    if (pid_flag[0] == '1')
        snprintf(out, cap, "%s/core.%ld", dir, (long)pid);
    else
        snprintf(out, cap, "%s/core", dir);
    return true;
}

/* The child: protected copies of the test's own patterns, the module in
 * the state of the scan test, then a core dump. */
static void dump_child(void)
{
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
    struct live l;

    if (setrlimit(RLIMIT_CORE, &rl) != 0 || chdir(tenv->dir) != 0 ||
        madvise(rg, sizeof(*rg), MADV_DONTDUMP) != 0 || drive(&l) != CKR_OK)
        _exit(3);
    signal(SIGQUIT, SIG_DFL);
    raise(SIGQUIT);
    _exit(4);
}

static size_t scan_file(const char *path)
{
    size_t nh = 0, off = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return (size_t)-1;
    while ((n = pread(fd, rg->buf, CHUNK + OVERLAP, (off_t)off)) > 0) {
        scan_buf((size_t)n, (size_t)n <= CHUNK ? (size_t)n : CHUNK, off, NULL,
                 &nh);
        off += CHUNK;
    }
    close(fd);
    return nh;
}

/* (c) */
static void test_core_dump(void **state)
{
    char path[400];
    struct stat st;
    int status = 0;
    size_t nh;
    pid_t pid;

    (void)state;
#ifdef UNDER_ASAN
    /* A dump would hold the terabytes of shadow memory (ASan turns core
     * dumps off for that reason); the release build runs this check. */
    print_message("core dump check not run under AddressSanitizer\n");
    return;
#endif
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        dump_child();
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGQUIT);
    if (!core_path(tenv->dir, pid, path, sizeof(path)))
        return;
    if (!WCOREDUMP(status) || stat(path, &st) != 0) {
        print_message("core dump check not run: no core written (%s)\n", path);
        return;
    }
    nh = scan_file(path);
    print_message("core dump %s: %lld bytes, %zu hits\n", path,
                  (long long)st.st_size, nh);
    print_hits(nh, "core dump");
    unlink(path);
    assert_int_equal(nh, 0);
}

/* The scratch tenant is made in a child: provisioning seals the KEK in
 * this process otherwise, and what that leaves is not the module's. */
static int group_setup(void **state)
{
    int status = 0;
    pid_t pid;

    (void)state;
    rg = mmap(NULL, sizeof(*rg), PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    tenv = mmap(NULL, sizeof(*tenv), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (rg == MAP_FAILED || tenv == MAP_FAILED || sodium_init() < 0 ||
        make_patterns() != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(test_env_make_keys(tenv, "", rg->local_key, rg->kek) != 0 ||
              add_key_pair() != 0);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    setenv(CMK_CONFIG_ENV, tenv->config, 1);
    return cmk_C_GetFunctionList(&p) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (getenv("KEEP") == NULL)
        test_env_remove(tenv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_dump),
        cmocka_unit_test(test_fork_and_self_scan),
    };

    /* Without AES-NI (mech/aes.h) an active GCM operation keeps its EVP
     * context, key schedule included, in OpenSSL's heap. */
    if (!cmk_aes_hw()) {
        fprintf(stderr, "skip: no AES-NI/PCLMULQDQ, the EVP fallback runs\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
