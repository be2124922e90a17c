/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: a reader of DER (X.690 10.1): tag, definite length in its
 * shortest form, contents, over a buffer it never copies. Enough for
 * the private key structures mech/pkey_pem.c reads. Nothing allocated;
 * thread safe.
 */
#ifndef CMK_MECH_DER_H
#define CMK_MECH_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMK_DER_INTEGER 0x02
#define CMK_DER_BIT_STRING 0x03
#define CMK_DER_OCTET_STRING 0x04
#define CMK_DER_NULL 0x05
#define CMK_DER_OID 0x06
#define CMK_DER_SEQUENCE 0x30
#define CMK_DER_CTX0 0xa0 /* [0] constructed */
#define CMK_DER_CTX1 0xa1 /* [1] constructed */
#define CMK_DER_PUB1 0x81 /* [1] IMPLICIT BIT STRING (RFC 5958) */

/* The bytes not read yet. */
struct cmk_der {
    const uint8_t *p;
    size_t len;
};

/* The next element, which must have tag: its contents into *out, and
 * *in moves past it. false (and nothing moved) when the next element
 * has another tag, is malformed or runs past the end. */
bool cmk_der_take(struct cmk_der *in, uint8_t tag, struct cmk_der *out);
/* The next element taken if it has tag; true also when it has another
 * tag or there is none (it stays). false only for a malformed one. */
bool cmk_der_optional(struct cmk_der *in, uint8_t tag, struct cmk_der *out,
                      bool *present);
/* An INTEGER's contents as an unsigned number: not negative, shortest
 * form, its leading zero byte dropped. false for any other. */
bool cmk_der_unsigned(struct cmk_der *in, struct cmk_der *out);
/* Whether an INTEGER of value v (0..127) comes next; taken if so. */
bool cmk_der_small(struct cmk_der *in, unsigned v);
/* Whether e holds exactly the bytes of oid[0..n). */
bool cmk_der_is(const struct cmk_der *e, const uint8_t *oid, size_t n);

#endif /* CMK_MECH_DER_H */
