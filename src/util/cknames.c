/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: look-ups in the generated name tables (cknames_gen.c). Linear:
 * the tables are short and CKR_OK, the usual result, comes first.
 */
#include <config.h>

#include "util/cknames.h"

static const char *find(const struct cmk_ck_name *t, size_t n, CK_ULONG v)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (t[i].value == v)
            return t[i].name;
    }
    return NULL;
}

const char *cmk_attr_name(CK_ATTRIBUTE_TYPE type)
{
    return find(cmk_ck_attr_names, cmk_ck_attr_names_len, type);
}

const char *cmk_class_name(CK_OBJECT_CLASS cls)
{
    return find(cmk_ck_class_names, cmk_ck_class_names_len, cls);
}

const char *cmk_ck_rv_find(CK_RV rv)
{
    return find(cmk_ck_rv_names, cmk_ck_rv_names_len, rv);
}
