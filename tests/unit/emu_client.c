/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: a plain libcurl client for the emulator's control API.
 */
#include <config.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "emu_client.h"

struct body {
    char *p;
    size_t n;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    char *q = realloc(b->p, b->n + size * n + 1);

    if (q == NULL)
        return 0;
    memcpy(q + b->n, p, size * n);
    b->n += size * n;
    q[b->n] = '\0';
    b->p = q;
    return size * n;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

const char *emu_http_url(void)
{
    return env("EMU_HTTP_URL");
}

const char *emu_https_url(void)
{
    return env("EMU_HTTPS_URL");
}

const char *emu_ca(void)
{
    return env("EMU_CA");
}

const char *emu_wrong_ca(void)
{
    return env("EMU_WRONG_CA");
}

const char *emu_tmp(void)
{
    return env("CMK_TEST_TMP");
}

static json_t *post(const char *cmd, const char *json)
{
    struct body b = {NULL, 0};
    struct curl_slist *h = NULL;
    char url[512];
    json_t *root;
    long status = 0;
    CURL *c = curl_easy_init();

    assert_non_null(c);
    assert_non_null(emu_http_url());
    snprintf(url, sizeof(url), "%s/_emulator/%s", emu_http_url(), cmd);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        fail_msg("emulator %s %s: %ld %s", cmd, json, status,
                 b.p != NULL ? b.p : "");
    root = json_loads(b.p != NULL ? b.p : "{}", 0, NULL);
    assert_non_null(root);
    free(b.p);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return root;
}

static json_t *vpost(const char *cmd, const char *fmt, va_list ap)
{
    char json[4096];

    vsnprintf(json, sizeof(json), fmt, ap);
    return post(cmd, json);
}

json_t *emu_ctl(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    json_t *r;

    va_start(ap, fmt);
    r = vpost(cmd, fmt, ap);
    va_end(ap);
    return r;
}

void emu_do(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    json_decref(vpost(cmd, fmt, ap));
    va_end(ap);
}

static size_t count(const char *op, const char *code)
{
    json_t *r = post("calls", "{}"), *calls, *c;
    const char *want, *got;
    size_t i, n = 0;

    calls = json_object_get(r, "calls");
    json_array_foreach(calls, i, c)
    {
        if (op != NULL &&
            strcmp(json_string_value(json_object_get(c, "op")), op) != 0)
            continue;
        if (code != NULL && strncmp(code, "fault:", 6) == 0) {
            want = code + 6;
            got = json_string_value(json_object_get(c, "fault"));
        } else {
            want = code;
            got = json_string_value(json_object_get(c, "error"));
        }
        if (code == NULL || (got != NULL && strcmp(got, want) == 0))
            n++;
    }
    json_decref(r);
    return n;
}

size_t emu_count(const char *op)
{
    return count(op, NULL);
}

size_t emu_count_error(const char *op, const char *code)
{
    return count(op, code);
}

size_t emu_wait_count(const char *op, size_t n)
{
    size_t got = count(op, NULL);
    int i;

    for (i = 0; i < 300 && got < n; i++) {
        usleep(100000);
        got = count(op, NULL);
    }
    return got;
}

char *emu_create_key(const char *alias)
{
    json_t *r;
    char *arn;

    if (alias != NULL)
        r = emu_ctl("create_key", "{\"alias\":\"%s\"}", alias);
    else
        r = emu_ctl("create_key", "{}");
    arn = strdup(json_string_value(json_object_get(r, "arn")));
    assert_non_null(arn);
    json_decref(r);
    return arn;
}

void emu_add_creds(const char *akid, const char *secret)
{
    emu_do("add_credentials", "{\"access_key_id\":\"%s\",\"secret\":\"%s\"}",
           akid, secret);
}

void emu_write_file(const char *path, int mode, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    int fd;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    unlink(path);
    fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
    assert_int_equal(chmod(path, (mode_t)mode), 0);
}

void emu_azure_vaults(const char *tenant, const char *app)
{
    emu_do("azure_create_vault",
           "{\"name\":\"kv\",\"kind\":\"vault\",\"tenant\":\"%s\","
           "\"hosts\":[\"127.0.0.1\"]}",
           tenant);
    emu_do("azure_create_vault",
           "{\"name\":\"hsm\",\"kind\":\"hsm\",\"tenant\":\"%s\","
           "\"hosts\":[\"localhost\"]}",
           tenant);
    emu_do("azure_principal", "{\"client_id\":\"%s\",\"tenant\":\"%s\"}", app,
           tenant);
    emu_do("azure_grant", "{\"principal\":\"%s\",\"grants\":{\"*\":[\"*\"]}}",
           app);
}
