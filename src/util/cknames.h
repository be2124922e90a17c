/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: names of CK_RV, CKA_ and CKO_ values for audit records and
 * messages. The tables are generated at build time from the PKCS#11
 * headers (scripts/cknames.sh, CKNAMES_FROM in util.mk).
 */
#ifndef CMK_CKNAMES_H
#define CMK_CKNAMES_H

#include <stddef.h>
#include "util/pkcs11_compat.h"

struct cmk_ck_name {
    CK_ULONG value;
    const char *name;
};

/* In header order; a value with two names is found under the first. */
extern const struct cmk_ck_name cmk_ck_rv_names[];
extern const size_t cmk_ck_rv_names_len;
extern const struct cmk_ck_name cmk_ck_attr_names[];
extern const size_t cmk_ck_attr_names_len;
extern const struct cmk_ck_name cmk_ck_class_names[];
extern const size_t cmk_ck_class_names_len;

/* "CKA_EXTRACTABLE", or NULL for a value no header names. */
const char *cmk_attr_name(CK_ATTRIBUTE_TYPE type);
/* "CKO_SECRET_KEY", or NULL for a value no header names. */
const char *cmk_class_name(CK_OBJECT_CLASS cls);
/* The CK_RV's name, or NULL for a value no header names. */
const char *cmk_ck_rv_find(CK_RV rv);

#endif /* CMK_CKNAMES_H */
