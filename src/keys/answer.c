/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: what a KMS Decrypt answer must be before anything keeps it (the
 * plaintext length of its purpose; a KEK's commitment), for cmk.c
 * (cmk_int.h).
 */
#include <config.h>

#include <sodium.h>

#include "cmk-pkcs11.h"
#include "keys/cmk_int.h"
#include "mech/envelope.h"
#include "util/log.h"

#define KEK_LEN 32u

/* What a Decrypt may answer per purpose (DESIGN.md, "Security rules"): a
 * KEK is 32 bytes; a DEK one of the sizes the module's keys have
 * (AES-128/192/256, ChaCha20); data at most the envelope limit. */
static bool plaintext_fits(enum cmk_purpose p, size_t len)
{
    if (p == CMK_PURPOSE_KEK || p == CMK_PURPOSE_PROVIDER_KEK)
        return len == KEK_LEN;
    if (p == CMK_PURPOSE_KEY)
        return len == 16 || len == 24 || len == 32;
    return len <= CMK_ENVELOPE_MAX_PLAINTEXT;
}

/* The KEK the KMS answered is the one provisioned: its commitment equals
 * the tenant's (constant-time compare). */
cmk_err cmk_cmk_check_commitment(const char *label, const uint8_t *want,
                                 const struct cmk_secret *kek)
{
    uint8_t got[CMK_KEK_COMMITMENT_LEN];
    cmk_err err;

    err = cmk_cmk_kek_commitment(label, kek->p, kek->len, got);
    if (err == CMK_OK && sodium_memcmp(got, want, sizeof(got)) != 0) {
        cmk_log_error("tenant \"%s\": the KEK the KMS answered does not "
                      "match its kek_commitment (a repointed "
                      "alias or a misbehaving endpoint): refused, not "
                      "cached",
                      label);
        err = CMK_E_KEK_COMMITMENT;
    }
    sodium_memzero(got, sizeof(got));
    return err;
}

/* Checks a Decrypt answer before anything keeps it; *why names a refusal
 * in the kms_call record. */
cmk_err cmk_cmk_check_answer(const char *label, enum cmk_purpose p,
                             const uint8_t *commit, const struct cmk_secret *pt,
                             const char **why)
{
    cmk_err err;

    if (!plaintext_fits(p, pt->len)) {
        cmk_log_error("tenant \"%s\": the KMS answered %zu bytes for a "
                      "\"%s\" blob: refused, not cached",
                      label, pt->len, cmk_purpose_name(p));
        *why = "plaintext_length";
        return CMK_E_BAD_RESPONSE;
    }
    if (commit == NULL)
        return CMK_OK;
    err = cmk_cmk_check_commitment(label, commit, pt);
    if (err == CMK_E_KEK_COMMITMENT)
        *why = "kek_commitment_mismatch";
    return err;
}
