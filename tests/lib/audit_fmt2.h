/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: writes audit lines of format 2 (docs/audit-format.md) with a
 * known chain key, independently of the module's writer and verifier
 * (libsodium's HMAC, its own line builder), and forges them as an
 * attacker without the key would. Also seals a key through the local
 * provider with the audit key context.
 */
#ifndef CMK_TEST_AUDIT_FMT2_H
#define CMK_TEST_AUDIT_FMT2_H

#include <stddef.h>
#include <stdint.h>

#define TGEN_CHAINS 16

/* 32: format 2 (HMAC-SHA256, the default); 16: format 3
 * (AES-256-GCM-SIV). Set before writing; every writer uses it. */
extern unsigned tgen_mac_len;
#define TGEN_LINE 8192

struct tgen_writer {
    uint64_t id;
    uint8_t key[32];
    long pid;
    unsigned file; /* files opened, as "file" counts them */
    char tenant[64];
    char provider[32];
    char sealed[2048]; /* base64; "" writes "sealed_key":null */
    uint64_t seq[TGEN_CHAINS];
    uint8_t mac[TGEN_CHAINS][32];
    unsigned long tick; /* microseconds after a fixed second */
};

void tgen_init(struct tgen_writer *w, uint64_t id, const uint8_t *key, long pid,
               const char *tenant, const char *provider,
               const char *sealed_b64);

/* One line with its newline into out: the header for (chain, next seq),
 * "event", then body (",\"k\":v..." or ""), then the mac. Returns the
 * length (0 if it does not fit). */
size_t tgen_record(struct tgen_writer *w, char *out, size_t cap, unsigned chain,
                   const char *event, const char *body);
/* Records of each kind the format names. */
size_t tgen_open(struct tgen_writer *w, char *out, size_t cap,
                 const char *detail);
size_t tgen_mech(struct tgen_writer *w, char *out, size_t cap, unsigned chain,
                 const char *op, const char *result);
size_t tgen_rotate_out(struct tgen_writer *w, char *out, size_t cap,
                       const char *next);
size_t tgen_rotate_in(struct tgen_writer *w, char *out, size_t cap);
size_t tgen_reopen(struct tgen_writer *w, char *out, size_t cap);
size_t tgen_finalize(struct tgen_writer *w, char *out, size_t cap);

/* HMAC-SHA256(key, prev || l[0..n)) with libsodium, or with
 * tgen_mac_len 16 the AES-256-GCM-SIV tag (prev 16 bytes). */
void tgen_mac(const uint8_t *key, const uint8_t *prev, const char *l, size_t n,
              uint8_t *out);

/* What an attacker without K does after editing or deleting lines: from
 * line index from on, recompute the mac of every line of (writer,
 * chain), chaining from the mac in the last such line before from.
 * guess: HMAC under that key; NULL: SHA-256(prev || L) as format 1 did.
 * lines are NUL-terminated, without newline, and rewritten in place. */
void tgen_rechain(char **lines, size_t n, size_t from, const char *writer_hex,
                  unsigned chain, const uint8_t *guess);

/* Seals key (32 bytes) as the module does: the tenant's provider encrypt
 * (current CMK version) with context ("tenant", label), ("purpose",
 * purpose), into base64 b64. purpose NULL: "cmk-pkcs11 audit key"; any
 * other makes a blob the verifier must refuse. 0 on success. */
int tgen_seal(const char *config, const char *tenant, const uint8_t *key,
              const char *purpose, char *b64, size_t cap);

#endif /* CMK_TEST_AUDIT_FMT2_H */
