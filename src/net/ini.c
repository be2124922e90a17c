/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: INI parser for the AWS shared files. Works in place on a guarded
 * copy of the text: entries point into it.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/ini.h"
#include "util/secpool.h"

struct ini_entry {
    const char *section;
    const char *key;
    const char *value;
};

struct cmk_ini {
    char *text; /* guarded copy, NUL-separated pieces */
    struct ini_entry *e;
    size_t n;
    const char **sections;
    size_t n_sections;
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Trims blanks around [a, b) in place and NUL-terminates. */
static char *trim(char *a, char *b)
{
    while (a < b && is_blank(*a))
        a++;
    while (b > a && is_blank(b[-1]))
        b--;
    *b = '\0';
    return a;
}

/* Parse state across lines. */
struct ps {
    struct cmk_ini *ini;
    const char *section; /* NULL before the first header */
    bool in_sub;         /* after "key =" with no value: indented lines */
};

static cmk_err add_section(struct ps *ps, const char *name)
{
    ps->ini->sections[ps->ini->n_sections++] = name;
    ps->section = name;
    ps->in_sub = false;
    return CMK_OK;
}

static cmk_err parse_line(struct ps *ps, char *a, char *b)
{
    char *eq, *close;
    bool indented = a < b && is_blank(*a);
    struct ini_entry *e;

    a = trim(a, b);
    if (*a == '\0' || *a == '#' || *a == ';')
        return CMK_OK;
    if (indented && ps->in_sub)
        return CMK_OK; /* a sub-setting: not used here */
    if (*a == '[') {
        close = strchr(a, ']');
        if (close == NULL)
            return CMK_E_CONFIG;
        return add_section(ps, trim(a + 1, close));
    }
    eq = strchr(a, '=');
    if (eq == NULL || ps->section == NULL)
        return CMK_E_CONFIG;
    e = &ps->ini->e[ps->ini->n++];
    e->section = ps->section;
    e->value = trim(eq + 1, eq + 1 + strlen(eq + 1));
    e->key = trim(a, eq);
    ps->in_sub = e->value[0] == '\0';
    return e->key[0] != '\0' ? CMK_OK : CMK_E_CONFIG;
}

static size_t count_lines(const char *s, size_t len)
{
    size_t n = 1, i;

    for (i = 0; i < len; i++)
        n += s[i] == '\n';
    return n;
}

static cmk_err parse_all(struct cmk_ini *ini, size_t len, unsigned *line)
{
    struct ps ps = {ini, NULL, false};
    char *p = ini->text, *end = ini->text + len, *nl;
    unsigned no = 0;
    cmk_err err = CMK_OK;

    while (p < end && err == CMK_OK) {
        nl = memchr(p, '\n', (size_t)(end - p));
        nl = nl != NULL ? nl : end;
        no++;
        err = parse_line(&ps, p, nl);
        p = nl + 1;
    }
    if (err != CMK_OK && line != NULL)
        *line = no;
    return err;
}

cmk_err cmk_ini_parse(const char *text, size_t len, struct cmk_ini **out,
                      unsigned *line)
{
    struct cmk_ini *ini;
    size_t lines;
    cmk_err err = CMK_E_NOMEM;

    if (text == NULL || out == NULL || memchr(text, '\0', len) != NULL)
        return text != NULL && out != NULL ? CMK_E_CONFIG : CMK_E_ARGS;
    lines = count_lines(text, len);
    ini = calloc(1, sizeof(*ini));
    if (ini == NULL)
        return CMK_E_NOMEM;
    ini->text = cmk_secmem_alloc(len + 1);
    ini->e = calloc(lines, sizeof(*ini->e));
    ini->sections = calloc(lines, sizeof(*ini->sections));
    if (ini->text != NULL && ini->e != NULL && ini->sections != NULL) {
        memcpy(ini->text, text, len);
        err = parse_all(ini, len, line);
    }
    if (err != CMK_OK) {
        cmk_ini_free(ini);
        return err;
    }
    *out = ini;
    return CMK_OK;
}

const char *cmk_ini_get(const struct cmk_ini *ini, const char *section,
                        const char *key)
{
    const char *v = NULL;
    size_t i;

    if (ini == NULL || section == NULL || key == NULL)
        return NULL;
    for (i = 0; i < ini->n; i++) {
        if (strcmp(ini->e[i].section, section) == 0 &&
            strcmp(ini->e[i].key, key) == 0)
            v = ini->e[i].value; /* the last one wins */
    }
    return v;
}

bool cmk_ini_has_section(const struct cmk_ini *ini, const char *section)
{
    size_t i;

    if (ini == NULL || section == NULL)
        return false;
    for (i = 0; i < ini->n_sections; i++) {
        if (strcmp(ini->sections[i], section) == 0)
            return true;
    }
    return false;
}

void cmk_ini_free(struct cmk_ini *ini)
{
    if (ini == NULL)
        return;
    cmk_secmem_free(ini->text); /* wipes */
    free(ini->e);
    free(ini->sections);
    free(ini);
}
