/* SPDX-License-Identifier: Apache-2.0 */
/*
 * integration tests: direct-path envelope blobs through the built module
 * (dlopen of CMK_MODULE, config from CMK_PKCS11_CONFIG), for the rewrap
 * tests.
 *   rewrap_blobs make TOKEN PIN DIR N LIST   N AES-256 DEKs wrapped with
 *       CKM_CMK_ENVELOPE into DIR (spread over subdirectories), and per
 *       blob a line "PATH KCV" appended to LIST
 *   rewrap_blobs check TOKEN PIN LIST        every blob of LIST unwraps
 *       (C_UnwrapKey, CKM_CMK_ENVELOPE) into the DEK with that KCV
 * KCV: the first 8 bytes of AES-CBC of a zero block with a zero IV,
 * computed by the token. Exit 0, 1 (a blob that does not unwrap or gives
 * another DEK; named on stderr), 2 usage, 99 setup.
 */
#include <config.h>

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmk-pkcs11.h"
#include "util/pkcs11_compat.h"

#define MAX_BLOB 8192

static CK_FUNCTION_LIST_PTR p;

static int setup(const char *token, const char *pin, CK_SESSION_HANDLE *h)
{
    CK_C_GetFunctionList get;
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16, i;
    CK_TOKEN_INFO ti;
    const char *mod = getenv("CMK_MODULE");
    void *lib = mod != NULL ? dlopen(mod, RTLD_NOW) : NULL;

    get = lib != NULL ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList")
                      : NULL;
    if (get == NULL || get(&p) != CKR_OK || p->C_Initialize(NULL) != CKR_OK ||
        p->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        return 99;
    for (i = 0; i < n; i++) {
        if (p->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
            strncmp((char *)ti.label, token, strlen(token)) == 0 &&
            ti.label[strlen(token)] == ' ')
            break;
    }
    if (i == n ||
        p->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                         NULL, h) != CKR_OK ||
        p->C_Login(*h, CKU_USER, (CK_UTF8CHAR_PTR)(uintptr_t)pin,
                   strlen(pin)) != CKR_OK)
        return 99;
    return 0;
}

static CK_OBJECT_HANDLE find_cmk(CK_SESSION_HANDLE h)
{
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CMK_IS_CMK, &t, sizeof(t)}};
    CK_OBJECT_HANDLE o = 0;
    CK_ULONG n = 0;

    if (p->C_FindObjectsInit(h, tmpl, 1) != CKR_OK ||
        p->C_FindObjects(h, &o, 1, &n) != CKR_OK ||
        p->C_FindObjectsFinal(h) != CKR_OK || n != 1)
        return 0;
    return o;
}

static int kcv(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, char out[17])
{
    CK_BYTE iv[16] = {0}, zero[16] = {0}, ct[16];
    CK_MECHANISM m = {CKM_AES_CBC, iv, sizeof(iv)};
    CK_ULONG n = sizeof(ct);
    int i;

    if (p->C_EncryptInit(h, &m, k) != CKR_OK ||
        p->C_Encrypt(h, zero, sizeof(zero), ct, &n) != CKR_OK || n != 16)
        return -1;
    for (i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", ct[i]);
    return 0;
}

static int write_blob(const char *path, const CK_BYTE *b, CK_ULONG n)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL)
        return -1;
    if (fwrite(b, 1, n, f) != n) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

/* Blob i of DIR: DIR/dI%4/sub/blob-I.cmke for odd I, DIR/dI%4/blob-I. */
static int make_one(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE cmk, const char *dir,
                    long i, FILE *list)
{
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0},
                 env = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_ULONG len = 32, n = MAX_BLOB;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                        {CKA_EXTRACTABLE, &yes, 1},
                        {CKA_ENCRYPT, &yes, 1}};
    CK_OBJECT_HANDLE k = 0;
    CK_BYTE blob[MAX_BLOB];
    char path[4096], v[17];

    snprintf(path, sizeof(path), "%s/d%ld", dir, i % 4);
    mkdir(path, 0700);
    if (i % 2 == 1) {
        snprintf(path, sizeof(path), "%s/d%ld/sub", dir, i % 4);
        mkdir(path, 0700);
    }
    snprintf(path + strlen(path), sizeof(path) - strlen(path),
             "/blob-%05ld.cmke", i);
    if (p->C_GenerateKey(h, &gen, t, 3, &k) != CKR_OK || kcv(h, k, v) != 0 ||
        p->C_WrapKey(h, &env, cmk, k, blob, &n) != CKR_OK ||
        write_blob(path, blob, n) != 0 || p->C_DestroyObject(h, k) != CKR_OK) {
        fprintf(stderr, "rewrap_blobs: %s: cannot be made\n", path);
        return 99;
    }
    fprintf(list, "%s %s\n", path, v);
    return 0;
}

static int make(CK_SESSION_HANDLE h, const char *dir, long n, const char *lst)
{
    CK_OBJECT_HANDLE cmk = find_cmk(h);
    FILE *list = fopen(lst, "a");
    long i;
    int rc = cmk != 0 && list != NULL ? 0 : 99;

    mkdir(dir, 0700);

    for (i = 0; i < n && rc == 0; i++)
        rc = make_one(h, cmk, dir, i, list);
    if (list != NULL && fclose(list) != 0)
        rc = 99;
    return rc;
}

static int read_blob(const char *path, CK_BYTE *b, CK_ULONG *n)
{
    FILE *f = fopen(path, "rb");
    size_t got;

    if (f == NULL)
        return -1;
    got = fread(b, 1, MAX_BLOB, f);
    fclose(f);
    *n = got;
    return got > 0 && got < MAX_BLOB ? 0 : -1;
}

/* 0 when path unwraps into the DEK whose KCV is want. */
static int check_one(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE cmk,
                     const char *path, const char *want)
{
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_KEY_TYPE, &aes, sizeof(aes)},
                        {CKA_ENCRYPT, &yes, 1}};
    CK_OBJECT_HANDLE k = 0;
    CK_BYTE blob[MAX_BLOB];
    CK_ULONG n = 0;
    CK_RV rv;
    char v[17];

    if (read_blob(path, blob, &n) != 0) {
        fprintf(stderr, "rewrap_blobs: %s: cannot read\n", path);
        return 1;
    }
    rv = p->C_UnwrapKey(h, &env, cmk, blob, n, t, 3, &k);
    if (rv != CKR_OK || kcv(h, k, v) != 0 || strcmp(v, want) != 0) {
        fprintf(stderr, "rewrap_blobs: %s: C_UnwrapKey 0x%lx, %s\n", path,
                (unsigned long)rv, rv == CKR_OK ? "another DEK" : "refused");
        return 1;
    }
    return p->C_DestroyObject(h, k) == CKR_OK ? 0 : 99;
}

static int check(CK_SESSION_HANDLE h, const char *lst)
{
    CK_OBJECT_HANDLE cmk = find_cmk(h);
    FILE *list = fopen(lst, "r");
    char path[4096], want[17];
    long n = 0;
    int rc = cmk != 0 && list != NULL ? 0 : 99, one;

    while (rc != 99 && list != NULL &&
           fscanf(list, "%4095s %16s", path, want) == 2) {
        one = check_one(h, cmk, path, want);
        rc = one > rc ? one : rc;
        n++;
    }
    if (list != NULL)
        fclose(list);
    if (rc == 0)
        printf("rewrap_blobs: %ld blobs unwrap to their DEKs\n", n);
    return rc;
}

int main(int argc, char **argv)
{
    CK_SESSION_HANDLE h = 0;
    int rc;

    if (!((argc == 7 && strcmp(argv[1], "make") == 0) ||
          (argc == 5 && strcmp(argv[1], "check") == 0))) {
        fprintf(stderr, "usage: rewrap_blobs make TOKEN PIN DIR N LIST\n"
                        "       rewrap_blobs check TOKEN PIN LIST\n");
        return 2;
    }
    rc = setup(argv[2], argv[3], &h);
    if (rc != 0) {
        fprintf(stderr, "rewrap_blobs: module or token %s not usable\n",
                argv[2]);
        return rc;
    }
    rc = argc == 7 ? make(h, argv[4], atol(argv[5]), argv[6])
                   : check(h, argv[4]);
    p->C_Finalize(NULL);
    return rc;
}
