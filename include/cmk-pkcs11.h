/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmk-pkcs11 public vendor values: mechanisms, attributes and the envelope
 * blob magic. Values are a fixed base plus offsets and are never renumbered.
 */
#ifndef CMK_PKCS11_H
#define CMK_PKCS11_H

/* 0x80000000 | "CMK" (0x434d4b) << 4: our vendor-defined range. */
#define CMK_VENDOR_BASE 0x84340000UL

/*
 * Direct path: C_WrapKey/C_UnwrapKey and C_Encrypt/C_Decrypt (at most
 * CMK_ENVELOPE_MAX_PLAINTEXT bytes) on the CMK object go through the KMS.
 * No mechanism parameter. Output is an envelope blob (see README).
 */
#define CKM_CMK_ENVELOPE (CMK_VENDOR_BASE + 0x01UL)

/* Non-secret attributes of the CMK object (CK_UTF8CHAR arrays). */
#define CKA_CMK_PROVIDER (CMK_VENDOR_BASE + 0x101UL)
#define CKA_CMK_KEY_REF (CMK_VENDOR_BASE + 0x102UL)
/* CK_BBOOL: TRUE on the tenant's CMK object. */
#define CKA_CMK_IS_CMK (CMK_VENDOR_BASE + 0x103UL)
/*
 * Write-only CK_BBOOL: C_SetAttributeValue of {CKA_CMK_FLUSH_CACHE, TRUE}
 * alone on the CMK object wipes every cached key of the tenant in this
 * process (the KEK and unwrapped DEKs, all sessions). Needs a logged-in
 * user; the CMK object is otherwise read-only.
 */
#define CKA_CMK_FLUSH_CACHE (CMK_VENDOR_BASE + 0x104UL)

/*
 * Read-only CK_ULONGs on the CMK object: the tenant's CMK health as the
 * last KMS answer about its current key left it (README, "Health").
 * CKA_CMK_HEALTH is CMK_HEALTH_HEALTHY or the reason below;
 * CKA_CMK_HEALTH_CHECKED the time of that answer in seconds since the
 * epoch, 0 when no answer came yet. C_SetAttributeValue on either:
 * CKR_ATTRIBUTE_READ_ONLY.
 */
#define CKA_CMK_HEALTH (CMK_VENDOR_BASE + 0x110UL)
#define CKA_CMK_HEALTH_CHECKED (CMK_VENDOR_BASE + 0x111UL)
/* Values of CKA_CMK_HEALTH; never renumbered. */
#define CMK_HEALTH_HEALTHY 0UL
#define CMK_HEALTH_DISABLED 1UL         /* key disabled (or key file gone) */
#define CMK_HEALTH_PENDING_DELETION 2UL /* scheduled for deletion */
#define CMK_HEALTH_ACCESS_DENIED 3UL    /* policy or credentials refused */
#define CMK_HEALTH_NOT_FOUND 4UL        /* the key does not exist */
#define CMK_HEALTH_UNREACHABLE 5UL      /* network, timeout, KMS 5xx */
#define CMK_HEALTH_WRONG_KEY_SPEC 6UL   /* not a symmetric encryption key */
#define CMK_HEALTH_KEK_COMMITMENT_MISMATCH 7UL /* KEK answered is not ours */
#define CMK_HEALTH_KEY_UNAVAILABLE 8UL         /* another unusable key state */

/* Envelope blob: "CMKE". Version 1 names the CMK version that sealed it;
 * version 2 also names the exact KMS key (aws: the key ARN that Encrypt
 * answered with), so a blob still opens after an alias moves on. Both are
 * read; providers that name their key write version 2. */
#define CMK_ENVELOPE_MAGIC "CMKE"
#define CMK_ENVELOPE_VERSION 1
#define CMK_ENVELOPE_VERSION_SEALED_BY 2
#define CMK_ENVELOPE_MAX_PLAINTEXT 4096

/* Environment variable naming the configuration file. */
#define CMK_CONFIG_ENV "CMK_PKCS11_CONFIG"

#endif /* CMK_PKCS11_H */
