/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool azure-key", bring your own key for Azure Key Vault and
 * Managed HSM: an RSA key pair generated here or read from a customer's
 * PEM, checked, and written as the body of Key Vault's "Import Key"
 * request (PUT /keys/<name>): a JWK with the private members (RFC 7517,
 * RFC 7518 6.3). Shared between azure_byok.c (the command),
 * azure_byok_key.c (generation and the PEM checks), azure_byok_jwk.c (the
 * body) and azure_byok_out.c (the files).
 *
 * Private key material stays in OpenSSL's secure heap (the command opens
 * one for its process) or in guarded memory (util/secpool.h), and is
 * wiped when freed. Every refusal prints one message and returns its own
 * exit code (below, documented in the help and the README).
 */
#ifndef CMK_TOOL_AZURE_BYOK_H
#define CMK_TOOL_AZURE_BYOK_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/secmem.h"

/* Exit codes past tool.h's 0 (done), 1 (failed) and 2 (usage): one per
 * reason a customer's key is refused, so scripts can tell them apart. */
#define AZK_FILE 3        /* missing, not owner-only, a symlink, too large */
#define AZK_NOT_PEM 4     /* no PEM block in the file */
#define AZK_ENCRYPTED 5   /* a passphrase-protected PEM */
#define AZK_PUBLIC_ONLY 6 /* a public key, no private key */
#define AZK_NOT_RSA 7     /* EC, Ed25519, ... */
#define AZK_SIZE 8        /* RSA but not 2048, 3072 or 4096 bits */
#define AZK_EXPONENT 9    /* public exponent other than 65537 */
#define AZK_BROKEN 10     /* parts of the key do not belong together */

/* What Key Vault imports: RSA of these sizes, e = 65537. */
#define AZK_E 65537u
#define AZK_DEFAULT_BITS 4096u
/* Largest PEM file read (an RSA-4096 PKCS#8 PEM is about 3.3 KiB). */
#define AZK_PEM_MAX ((size_t)64 * 1024)

/* JWK key_ops Key Vault knows (its "JsonWebKeyOperation"). */
#define AZK_OPS_MAX 8

struct azk_body_args {
    bool hsm;                     /* kty RSA-HSM and "hsm": true */
    const char *ops[AZK_OPS_MAX]; /* key_ops, in the order given */
    size_t n_ops;
    bool has_exp, has_nbf;
    int64_t exp, nbf; /* Unix seconds */
};

/* One OpenSSL library context and secure heap for the command: opened
 * before any key exists, closed (heap wiped) after the last is freed.
 * TOOL_OK or TOOL_FAIL with a message. */
int azk_crypto_open(void);
void azk_crypto_close(void);
OSSL_LIB_CTX *azk_libctx(void);

/* Generates an RSA key of bits bits, e = 65537. TOOL_OK or TOOL_FAIL. */
int azk_generate(unsigned bits, EVP_PKEY **out);

/* Reads path (owner-only, no symlink) and runs every check on the key in
 * it; TOOL_OK with *out set, else one of the codes above (or TOOL_FAIL)
 * with its message printed. */
int azk_load_pem(const char *path, EVP_PKEY **out);

/* Whether bits is a size Key Vault imports. */
bool azk_bits_ok(unsigned bits);

/* The import body for pk in guarded memory (cmk_secret_free wipes it).
 * TOOL_OK or TOOL_FAIL. */
int azk_body(EVP_PKEY *pk, const struct azk_body_args *a,
             struct cmk_secret *body);

/* pk as PKCS#8 PEM in guarded memory. TOOL_OK or TOOL_FAIL. */
int azk_pkcs8_pem(EVP_PKEY *pk, struct cmk_secret *pem);

/* Creates out (and priv_out when not NULL) with mode 0600 holding body
 * (and pem): both written to temp files beside them first, then linked
 * into place only if the name is free; on any failure neither is left
 * behind. TOOL_OK or TOOL_FAIL with a message. */
int azk_write_files(const char *out, const struct cmk_secret *body,
                    const char *priv_out, const struct cmk_secret *pem);

#endif /* CMK_TOOL_AZURE_BYOK_H */
