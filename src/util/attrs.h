/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: a key object's attribute list. Values live on the heap, except
 * CKA_VALUE which lives in libsodium secure memory. Not thread safe: the
 * owner (object, under its token lock) serialises access.
 */
#ifndef CMK_ATTRS_H
#define CMK_ATTRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/err.h"
#include "util/pkcs11_compat.h"

struct cmk_attr {
    CK_ATTRIBUTE_TYPE type;
    size_t len;
    uint8_t *val; /* NULL iff len == 0 */
    /* Small non-secret values live here (val points at it), saving a
     * malloc per attribute; never key material. */
    uint8_t inl[16];
};

struct cmk_attrs {
    struct cmk_attr *v;
    size_t n;
    size_t cap;
};

/* Sets (adds or replaces) an attribute; copies the value. */
cmk_err cmk_attrs_set(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                      const void *val, size_t len) CMK_WUR;
/* cmk_attrs_set for a type the list does not hold yet (the caller knows,
 * e.g. while filling an empty list from a table): no search. */
cmk_err cmk_attrs_add_new(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                          const void *val, size_t len) CMK_WUR;
/* Fills the empty list a with copies of the n entries at v, each empty
 * or a small value held inline (len at most 16 bytes, never a non-empty
 * CKA_VALUE; val is ignored and inl holds the value): one allocation for
 * the whole list
 * instead of one call per entry, for lists made from a fixed table.
 * CMK_E_ARGS (a left empty) when a is not empty or an entry is not such
 * a value. */
cmk_err cmk_attrs_init_inline(struct cmk_attrs *a, const struct cmk_attr *v,
                              size_t n) CMK_WUR;
cmk_err cmk_attrs_set_bool(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                           bool v) CMK_WUR;
cmk_err cmk_attrs_set_ulong(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                            CK_ULONG v) CMK_WUR;
/* NULL if absent. */
const struct cmk_attr *cmk_attrs_get(const struct cmk_attrs *a,
                                     CK_ATTRIBUTE_TYPE type);
/* Value or dflt when absent or not a CK_BBOOL/CK_ULONG. */
bool cmk_attrs_bool(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                    bool dflt);
CK_ULONG cmk_attrs_ulong(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                         CK_ULONG dflt);
void cmk_attrs_remove(struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type);
/* Deep copy. */
cmk_err cmk_attrs_copy(struct cmk_attrs *dst,
                       const struct cmk_attrs *src) CMK_WUR;
/* Wipes and frees every value; leaves *a empty. */
void cmk_attrs_clear(struct cmk_attrs *a);

/* One entry of C_GetAttributeValue (PKCS#11 3.0 section 5.7.5): why
 * CKR_ATTRIBUTE_SENSITIVE or CKR_ATTRIBUTE_TYPE_INVALID sets ulValueLen to
 * CK_UNAVAILABLE_INFORMATION and returns why; CKR_OK answers with
 * val[0..len): its length (pValue NULL), CKR_BUFFER_TOO_SMALL, or the
 * value copied. */
CK_RV cmk_attr_answer(CK_ATTRIBUTE *t, CK_RV why, const void *val, size_t len);
/* A whole template's answer: every entry by one(a, entry), whatever
 * failed before; then CKR_ATTRIBUTE_SENSITIVE if any entry was, else
 * CKR_ATTRIBUTE_TYPE_INVALID, else CKR_BUFFER_TOO_SMALL, else CKR_OK.
 * CKR_ARGUMENTS_BAD for a NULL a or tmpl (n != 0). */
CK_RV cmk_attrs_answer(const struct cmk_attrs *a, CK_ATTRIBUTE *tmpl,
                       CK_ULONG n,
                       CK_RV (*one)(const struct cmk_attrs *a,
                                    CK_ATTRIBUTE *t));

#endif /* CMK_ATTRS_H */
