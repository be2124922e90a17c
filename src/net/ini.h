/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the INI dialect of the AWS shared credentials and config files:
 * "[section]" headers, "key = value" lines, full-line comments starting
 * with '#' or ';', and indented sub-settings (e.g. "s3 =" followed by
 * indented lines), which are skipped. Later keys win over earlier ones;
 * repeated sections merge. The text is held in guarded memory since the
 * credentials file holds secret keys.
 */
#ifndef CMK_NET_INI_H
#define CMK_NET_INI_H

#include <stdbool.h>
#include <stddef.h>
#include "util/err.h"

struct cmk_ini;

/* Parses text[0..len) (copied). CMK_E_CONFIG with *line set to the first
 * bad line (1-based): a key outside any section, a line that is neither a
 * header nor "key = value", an unterminated header. */
cmk_err cmk_ini_parse(const char *text, size_t len, struct cmk_ini **out,
                      unsigned *line) CMK_WUR;
/* The value of key in section, or NULL. Valid until cmk_ini_free. */
const char *cmk_ini_get(const struct cmk_ini *ini, const char *section,
                        const char *key);
bool cmk_ini_has_section(const struct cmk_ini *ini, const char *section);
void cmk_ini_free(struct cmk_ini *ini);

#endif /* CMK_NET_INI_H */
