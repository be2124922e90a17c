/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core (internal): what the attribute policy files share: the table of
 * every attribute a secret key has (policy_table.c), the template view
 * and small readers of template entries. Not for use outside policy*.c.
 */
#ifndef CMK_POLICY_INT_H
#define CMK_POLICY_INT_H

#include <stdbool.h>
#include <string.h>
#include "core/policy.h"

enum kind {
    K_BOOL,  /* CK_BBOOL, 0 or 1 */
    K_ULONG, /* CK_ULONG */
    K_BYTES, /* any byte string */
    K_STR,   /* label, id: at most MAX_LABEL_LEN bytes */
    K_DATE,  /* CK_DATE or empty */
    K_MECHS, /* CK_MECHANISM_TYPE array */
    K_TMPL,  /* attribute template: only empty supported */
};

/* Attribute flags. */
#define F_NOSET 0x01u  /* never in a creation template: read-only */
#define F_MOD 0x02u    /* footnote 8: may change on set and copy */
#define F_VENDOR 0x04u /* ours, only on the CMK object */
#define F_STORE 0x08u  /* kept in every new key's list */

struct adef {
    CK_ATTRIBUTE_TYPE type;
    unsigned char kind;
    unsigned char flags;
    signed char dflt; /* K_BOOL default for new keys, -1 none */
};

/* Every attribute a secret key has, in the order lists are built and
 * answered; then our vendor attributes. The count is checked by the
 * compiler against the table's definition. */
#define CMK_POLICY_NDEFS 38
extern const struct adef cmk_policy_defs[CMK_POLICY_NDEFS];

/* A template sorted by attribute: e[i] is the entry for cmk_policy_defs[i]
 * or NULL. */
struct tview {
    const CK_ATTRIBUTE *e[CMK_POLICY_NDEFS];
};

enum tmode { M_CREATE, M_SET, M_COPY };

/* Checks each entry of tmpl for mode m (a known attribute, allowed in
 * that mode, named once, a well-formed value) and fills tv with them.
 * CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_READ_ONLY,
 * CKR_TEMPLATE_INCONSISTENT, CKR_ATTRIBUTE_VALUE_INVALID. */
CK_RV cmk_policy_check_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                enum tmode m, struct tview *tv);

static inline int def_index(CK_ATTRIBUTE_TYPE type)
{
    size_t i;

    for (i = 0; i < CMK_POLICY_NDEFS; i++) {
        if (cmk_policy_defs[i].type == type)
            return (int)i;
    }
    return -1;
}

static inline CK_RV rv_of(cmk_err err)
{
    return err == CMK_OK ? CKR_OK : cmk_err_rv(err);
}

static inline bool tbool(const CK_ATTRIBUTE *t)
{
    return *(const CK_BBOOL *)t->pValue != CK_FALSE;
}

static inline CK_ULONG tulong(const CK_ATTRIBUTE *t)
{
    CK_ULONG v;

    memcpy(&v, t->pValue, sizeof(v)); /* template may be unaligned */
    return v;
}

static inline const CK_ATTRIBUTE *tv_get(const struct tview *tv,
                                         CK_ATTRIBUTE_TYPE type)
{
    int i = def_index(type);

    return i < 0 ? NULL : tv->e[i];
}

static inline bool tv_bool(const struct tview *tv, CK_ATTRIBUTE_TYPE type,
                           bool dflt)
{
    const CK_ATTRIBUTE *t = tv_get(tv, type);

    return t == NULL ? dflt : tbool(t);
}

#endif /* CMK_POLICY_INT_H */
