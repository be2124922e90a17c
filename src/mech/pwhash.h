/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: PIN verifiers, libsodium's crypto_pwhash_str strings (Argon2id
 * with its own salt and cost, "$argon2id$v=19$m=...,t=...,p=1$..."): made
 * by cmk-tool pin-hash, checked at C_Login. Slow by design; hold no lock
 * across either call. Thread safe.
 */
#ifndef CMK_MECH_PWHASH_H
#define CMK_MECH_PWHASH_H

#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

/* Room for a verifier string with its NUL (crypto_pwhash_STRBYTES). */
#define CMK_PWHASH_STR_MAX 128

/* Argon2id cost: libsodium's opslimit and memlimit of the same name.
 * MIN is for tests only. */
enum cmk_pwhash_cost {
    CMK_PWHASH_MIN,
    CMK_PWHASH_INTERACTIVE,
    CMK_PWHASH_MODERATE,
};

/* A verifier for len bytes of pin at the given cost. CMK_E_ARGS for an
 * unknown cost, CMK_E_CRYPTO when libsodium fails (out of memory); out
 * is then empty. */
cmk_err cmk_pwhash_str(char out[CMK_PWHASH_STR_MAX], const char *pin,
                       size_t len, enum cmk_pwhash_cost cost) CMK_WUR;

/* Whether pin matches verifier; false also for a malformed verifier or
 * when memory runs out. */
bool cmk_pwhash_verify(const char *verifier, const char *pin, size_t len);

#endif /* CMK_MECH_PWHASH_H */
