/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the gcp provider's health check (GET cryptoKey: the primary
 * version's state, the purpose, the protection level; or, when the key
 * reference names a version, GET cryptoKeyVersion: that version's state
 * and protection level) and what its codes say: about a key's health
 * (include/cmk-pkcs11.h CMK_HEALTH_*) and, as numbers for ulDeviceError,
 * about a failed call (docs/gcp.md, "ulDeviceError").
 */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "providers/gcp_int.h"

static const struct cmk_code_num reasons[] = {
    {"FAILED_PRECONDITION", CMK_HEALTH_DISABLED},
    {"State:DISABLED", CMK_HEALTH_DISABLED},
    {"State:DESTROY_SCHEDULED", CMK_HEALTH_PENDING_DELETION},
    {"State:DESTROYED", CMK_HEALTH_KEY_UNAVAILABLE},
    {"WrongPurpose", CMK_HEALTH_WRONG_KEY_SPEC},
};

unsigned long cmk_gcp_health_reason(const char *code)
{
    unsigned long r =
        cmk_code_find(reasons, sizeof(reasons) / sizeof(reasons[0]), code, 0);

    if (r != 0 || code == NULL)
        return r;
    if (strncmp(code, "State:", 6) == 0)
        return CMK_HEALTH_KEY_UNAVAILABLE;
    return 0;
}

static const char *const state_names[] = {"UNSPECIFIED",
                                          "ENABLED",
                                          "DISABLED",
                                          "DESTROYED",
                                          "DESTROY_SCHEDULED",
                                          "PENDING_GENERATION",
                                          "PENDING_IMPORT",
                                          "IMPORT_FAILED",
                                          "GENERATION_FAILED",
                                          "PENDING_EXTERNAL_DESTRUCTION",
                                          "EXTERNAL_DESTRUCTION_FAILED"};

static const char *state_name(int s)
{
    if (s < 0 || (size_t)s >= sizeof(state_names) / sizeof(state_names[0]))
        return "UNKNOWN";
    return state_names[s];
}

static cmk_err parse_key(struct gcp_state *st, struct cmk_http_resp *r,
                         void *out, const char **code)
{
    struct cmk_gcp_key_info *ki = out;
    cmk_err err;

    (void)code;
    err = cmk_gcp_parse_key((const char *)r->body.p, r->body.len, ki);
    if (err == CMK_OK && ki->level > 0)
        atomic_store(&st->level, ki->level);
    return err;
}

/* The configured version's answer must name that version. */
static cmk_err parse_version(struct gcp_state *st, struct cmk_http_resp *r,
                             void *out, const char **code)
{
    struct cmk_gcp_key_info *ki = out;
    cmk_err err;

    err = cmk_gcp_parse_version((const char *)r->body.p, r->body.len, ki);
    if (err == CMK_OK && strcmp(ki->version, st->key_ref) != 0) {
        *code = "UnexpectedKeyVersion";
        err = CMK_E_BAD_RESPONSE;
    }
    if (err == CMK_OK && ki->level > 0)
        atomic_store(&st->level, ki->level);
    return err;
}

/* The key for ENCRYPT_DECRYPT and the version it encrypts with (the
 * configured one, else the primary) ENABLED. A version's answer carries
 * no purpose: encrypt with it tells. */
cmk_err cmk_gcp_health(void *vst, struct cmk_req *rq)
{
    struct gcp_state *st = vst;
    struct cmk_gcp_key_info ki;
    struct gcp_call_req cr = {"GET", "",        NULL, CMK_GCP_OP_GET,
                              NULL,  parse_key, &ki};
    bool version;
    cmk_err err;

    if (st == NULL || rq == NULL)
        return CMK_E_ARGS;
    memset(&ki, 0, sizeof(ki));
    version = strcmp(st->key_ref, st->crypto_key) != 0;
    cr.name = st->key_ref;
    if (version)
        cr.parse = parse_version;
    err = cmk_gcp_call(st, rq, &cr);
    if (err != CMK_OK)
        return err;
    if (!version && ki.purpose != CMK_GCP_ENCRYPT_DECRYPT) {
        snprintf(rq->provider_code, sizeof(rq->provider_code), "WrongPurpose");
        return CMK_E_ACCESS_DENIED;
    }
    if (ki.state != CMK_GCP_ENABLED) {
        snprintf(rq->provider_code, sizeof(rq->provider_code), "State:%s",
                 state_name(ki.state));
        return CMK_E_KEY_DISABLED;
    }
    return CMK_OK;
}

/* ---- ulDeviceError numbers ---- */

/* 0x30000 + number (gcp is provider 3; util/err.h). Numbers are never
 * changed or reused: a new code takes a new number. Documented in
 * docs/gcp.md; keep the two in step. */
/* A code's number: the low half of its include/cmk-pkcs11.h value. */
#define NUM(code) CMK_DEVERR_NUMBER(CMK_DEVERR_GCP_##code)

/* google.rpc.Code canonical statuses: their own numbers */
static const struct cmk_code_num canonical[] = {
    {"CANCELLED", NUM(CANCELLED)},
    {"UNKNOWN", NUM(UNKNOWN)},
    {"INVALID_ARGUMENT", NUM(INVALID_ARGUMENT)},
    {"DEADLINE_EXCEEDED", NUM(DEADLINE_EXCEEDED)},
    {"NOT_FOUND", NUM(NOT_FOUND)},
    {"ALREADY_EXISTS", NUM(ALREADY_EXISTS)},
    {"PERMISSION_DENIED", NUM(PERMISSION_DENIED)},
    {"RESOURCE_EXHAUSTED", NUM(RESOURCE_EXHAUSTED)},
    {"FAILED_PRECONDITION", NUM(FAILED_PRECONDITION)},
    {"ABORTED", NUM(ABORTED)},
    {"OUT_OF_RANGE", NUM(OUT_OF_RANGE)},
    {"UNIMPLEMENTED", NUM(UNIMPLEMENTED)},
    {"INTERNAL", NUM(INTERNAL)},
    {"UNAVAILABLE", NUM(UNAVAILABLE)},
    {"DATA_LOSS", NUM(DATA_LOSS)},
    {"UNAUTHENTICATED", NUM(UNAUTHENTICATED)},
};

static const struct cmk_code_num numbers[] = {
    /* answers (the codes every provider shares, transport among them,
     * are cmk_provider_code_number's) */
    {"TooLarge", NUM(TOO_LARGE)},
    {"IntegrityMismatch", NUM(INTEGRITY_MISMATCH)},
    {"UnexpectedKeyVersion", NUM(UNEXPECTED_KEY_VERSION)},
    {"CiphertextTooLong", NUM(CIPHERTEXT_TOO_LONG)},
    /* key pairs (gcp_asym.c) */
    {"UnsupportedKeySpec", NUM(UNSUPPORTED_KEY_SPEC)},
    {"WrongAlgorithm", NUM(WRONG_ALGORITHM)},
    {"PublicKeyMismatch", NUM(PUBLIC_KEY_MISMATCH)},
    {"SignatureMalformed", NUM(SIGNATURE_MALFORMED)},
    /* credentials (net/gauth*.c, net/creds_fetch.c) */
    {"GcpCredentialFile", NUM(GCP_CREDENTIAL_FILE)},
    {"UnsupportedCredentialType", NUM(UNSUPPORTED_CREDENTIAL_TYPE)},
    {"GcpPrivateKey", NUM(GCP_PRIVATE_KEY)},
    {"GcpTokenRefused", NUM(GCP_TOKEN_REFUSED)},
    {"GcpTokenMalformed", NUM(GCP_TOKEN_MALFORMED)},
    {"MetadataHost", NUM(METADATA_HOST)},
    {"MetadataRefused", NUM(METADATA_REFUSED)},
    {"MetadataNotGoogle", NUM(METADATA_NOT_GOOGLE)},
    {"ImpersonationMalformed", NUM(IMPERSONATION_MALFORMED)},
    {"ImpersonationRefused", NUM(IMPERSONATION_REFUSED)},
    {"SubjectTokenEmpty", NUM(SUBJECT_TOKEN_EMPTY)},
    {"SubjectTokenMalformed", NUM(SUBJECT_TOKEN_MALFORMED)},
    {"SubjectTokenRefused", NUM(SUBJECT_TOKEN_REFUSED)},
    {"SubjectTokenUnreadable", NUM(SUBJECT_TOKEN_UNREADABLE)},
    {"UnsupportedCredentialSource", NUM(UNSUPPORTED_CREDENTIAL_SOURCE)},
    /* a token endpoint's OAuth error (RFC 6749 5.2, RFC 8693 2.2.2) */
    {"invalid_request", NUM(INVALID_REQUEST)},
    {"invalid_client", NUM(INVALID_CLIENT)},
    {"invalid_grant", NUM(INVALID_GRANT)},
    {"unauthorized_client", NUM(UNAUTHORIZED_CLIENT)},
    {"unsupported_grant_type", NUM(UNSUPPORTED_GRANT_TYPE)},
    {"invalid_scope", NUM(INVALID_SCOPE)},
    {"invalid_target", NUM(INVALID_TARGET)},
    /* health: a version state other than ENABLED, 300 + its enum number
     * (300: one not listed), and a key of another purpose */
    {"State:UNSPECIFIED", NUM(STATE_UNSPECIFIED)},
    {"State:DISABLED", NUM(STATE_DISABLED)},
    {"State:DESTROYED", NUM(STATE_DESTROYED)},
    {"State:DESTROY_SCHEDULED", NUM(STATE_DESTROY_SCHEDULED)},
    {"State:PENDING_GENERATION", NUM(STATE_PENDING_GENERATION)},
    {"State:PENDING_IMPORT", NUM(STATE_PENDING_IMPORT)},
    {"State:IMPORT_FAILED", NUM(STATE_IMPORT_FAILED)},
    {"State:GENERATION_FAILED", NUM(STATE_GENERATION_FAILED)},
    {"State:PENDING_EXTERNAL_DESTRUCTION",
     NUM(STATE_PENDING_EXTERNAL_DESTRUCTION)},
    {"State:EXTERNAL_DESTRUCTION_FAILED",
     NUM(STATE_EXTERNAL_DESTRUCTION_FAILED)},
    {"WrongPurpose", NUM(WRONG_PURPOSE)},
};

/* generateAccessToken's refusal, "Impersonation:<status>" (gauth_imp.c):
 * 400 + the status's google.rpc.Code, 400 for a status not listed. */
#define IMP "Impersonation:"

static unsigned long canonical_number(const char *status)
{
    return cmk_code_find(canonical, sizeof(canonical) / sizeof(canonical[0]),
                         status, 0);
}

unsigned cmk_gcp_code_number(const char *code)
{
    unsigned long n;

    if (code == NULL || code[0] == '\0')
        return CMK_DEV_OTHER;
    n = canonical_number(code);
    if (n == 0)
        n = cmk_code_find(numbers, sizeof(numbers) / sizeof(numbers[0]), code,
                          0);
    if (n != 0)
        return (unsigned)n;
    if (strncmp(code, "State:", 6) == 0)
        return NUM(STATE_UNSPECIFIED);
    if (strncmp(code, IMP, sizeof(IMP) - 1) == 0)
        return (unsigned)CMK_DEVERR_NUMBER(CMK_DEVERR_GCP_IMPERSONATION(
            canonical_number(code + sizeof(IMP) - 1)));
    n = cmk_provider_code_number(code);
    return n != 0 ? n : CMK_DEV_OTHER;
}
