/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: PIN verifiers over libsodium's crypto_pwhash_str (Argon2id).
 */
#include <config.h>

#include <sodium.h>

#include "mech/pwhash.h"

_Static_assert(CMK_PWHASH_STR_MAX == crypto_pwhash_STRBYTES,
               "verifier string size");

static const struct {
    unsigned long long ops;
    size_t mem;
} costs[] = {
    [CMK_PWHASH_MIN] = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN},
    [CMK_PWHASH_INTERACTIVE] = {crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                crypto_pwhash_MEMLIMIT_INTERACTIVE},
    [CMK_PWHASH_MODERATE] = {crypto_pwhash_OPSLIMIT_MODERATE,
                             crypto_pwhash_MEMLIMIT_MODERATE},
};

cmk_err cmk_pwhash_str(char out[CMK_PWHASH_STR_MAX], const char *pin,
                       size_t len, enum cmk_pwhash_cost cost)
{
    if (out == NULL || (pin == NULL && len != 0) ||
        (unsigned)cost >= sizeof(costs) / sizeof(costs[0]))
        return CMK_E_ARGS;
    if (crypto_pwhash_str(out, pin != NULL ? pin : "", len, costs[cost].ops,
                          costs[cost].mem) != 0) {
        out[0] = '\0';
        return CMK_E_CRYPTO;
    }
    return CMK_OK;
}

bool cmk_pwhash_verify(const char *verifier, const char *pin, size_t len)
{
    if (verifier == NULL || (pin == NULL && len != 0))
        return false;
    return crypto_pwhash_str_verify(verifier, pin != NULL ? pin : "", len) == 0;
}
