/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: the JSON configuration (core/settings.c and the blocks its
 * layers parse: audit, cache, http, providers' tenant objects). Input: a
 * config file, "@DIR@" standing for a scratch directory that holds the
 * files the fixtures under tests/fixtures/config name (key files, PIN
 * file, CA file, credentials file). A refusal names the file and never
 * quotes key material.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/settings.h"
#include "mech/mech.h"
#include "tests/fuzz/fuzz.h"

/* What the key files hold: a refusal must never show it. */
#define KEY_BYTES "fuzz-config-key-material-XYZ-42!"
#define PIN_VERIFIER                                                           \
    "$argon2id$v=19$m=65536,t=2,p=1$UTl/"                                      \
    "iVdPG4kaK80Jjq8wMA$2E4m87E6rYnYXFMeozN"                                   \
    "XNOlEqfArQM/h8rqZqnoc67c\n"
#define CREDENTIALS                                                            \
    "{\"access_key_id\": \"AKIDFUZZ\", \"secret_access_key\": \"fuzz\"}"

static char g_conf[700];

static void put(const char *name, const char *text)
{
    char path[700];

    fz_write(fz_scratch(), name, text, strlen(text), path, sizeof(path));
}

static void setup(void)
{
    static const char *const keys[] = {"acme.key", "beta.key", "old1.key",
                                       "old2.key"};
    char path[700];
    size_t i;

    fz_check(cmk_mech_init() == CKR_OK, "cmk_mech_init");
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        put(keys[i], KEY_BYTES);
    put("pin.txt", PIN_VERIFIER);
    put("ca.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
    put("acme-credentials.json", CREDENTIALS);
    snprintf(path, sizeof(path), "%s/store", fz_scratch());
    (void)mkdir(path, 0700);
    snprintf(g_conf, sizeof(g_conf), "%s/config.json", fz_scratch());
}

/* The input with every "@DIR@" replaced by the scratch directory. */
static char *expand(const uint8_t *data, size_t size, size_t *len)
{
    const char *dir = fz_scratch();
    size_t dl = strlen(dir), i, n = 0;
    char *out = malloc(size * (dl + 1) + 1);

    fz_check(out != NULL, "out of memory");
    for (i = 0; i < size; i++) {
        if (size - i >= 5 && memcmp(data + i, "@DIR@", 5) == 0) {
            memcpy(out + n, dir, dl);
            n += dl;
            i += 4;
        } else {
            out[n++] = (char)data[i];
        }
    }
    *len = n;
    return out;
}

static void check_config(const struct cmk_config *cfg)
{
    size_t i, l;

    fz_check(cfg->n_tenants > 0 && cfg->tenants != NULL, "no tenants");
    for (i = 0; i < cfg->n_tenants; i++) {
        l = strlen(cfg->tenants[i].kms.label);
        fz_check(l >= 1 && l <= 32, "label length");
        fz_check(cmk_config_tenant(cfg, cfg->tenants[i].kms.label) ==
                     &cfg->tenants[i],
                 "labels are not unique");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmk_config *cfg = NULL;
    char msg[1024], path[700];
    size_t len;
    char *text;
    cmk_err err;

    if (g_conf[0] == '\0')
        setup();
    text = expand(data, size, &len);
    fz_write(fz_scratch(), "config.json", text, len, path, sizeof(path));
    free(text);
    err = cmk_config_load(g_conf, &cfg, msg, sizeof(msg));
    if (err == CMK_OK) {
        fz_check(cfg != NULL && msg[0] == '\0', "accepted with a message");
        check_config(cfg);
    } else {
        fz_check(cfg == NULL, "refused but returned a config");
        fz_check(strncmp(msg, g_conf, strlen(g_conf)) == 0,
                 "a refusal that does not name the file");
        /* (unless the input itself holds those bytes) */
        fz_check(strstr(msg, KEY_BYTES) == NULL ||
                     memmem(data, size, KEY_BYTES, strlen(KEY_BYTES)) != NULL,
                 "key material in a message");
    }
    cmk_config_free(cfg);
    return 0;
}
