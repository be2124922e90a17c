/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: util/trust and where it is applied. Files the module trusts
 * (config, PIN verifier, key and credential files, store and audit
 * directories) owned by another user (uid 65534 stands for one, so the
 * ownership cases need root and are skipped otherwise), writable by
 * group or others, or symlinks: the exact message of the config loader,
 * C_Initialize refusing, and the attacks of the finding reproduced.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
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
#include <sodium.h>

#include "audit/audit.h"
#include "cmk-pkcs11.h"
#include "core/settings.h"
#include "mech/mech.h"
#include "store/store.h"
#include "net/creds.h"
#include "pkcs11/entry.h"
#include "store/store.h"
#include "util/trust.h"
#include "tests/lib/scratch.h"

#define OTHER 65534 /* nobody */

static char root[256];
static char dir[300]; /* this test's directory */
static char verifier[crypto_pwhash_STRBYTES];
static CK_FUNCTION_LIST_PTR p;

static int group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0 ||
        crypto_pwhash_str(verifier, "1234", 4, crypto_pwhash_OPSLIMIT_MIN,
                          crypto_pwhash_MEMLIMIT_MIN) != 0)
        return -1;
    if (test_scratch_make("cmk-trust", root, sizeof(root)) != 0)
        return -1;
    return cmk_C_GetFunctionList(&p) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return test_scratch_remove(root);
}

static int setup(void **state)
{
    static int n;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/t%d", root, ++n);
    return mkdir(dir, 0700);
}

static void put(const char *path, const char *content, mode_t mode)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)),
                     (ssize_t)strlen(content));
    assert_int_equal(close(fd), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* Gives path to another user; skips the test when we may not. */
static void give_away(const char *path)
{
    if (lchown(path, OTHER, OTHER) != 0) {
        assert_int_equal(errno, EPERM);
        skip();
    }
}

static void key_file(const char *path)
{
    put(path, "0123456789abcdef0123456789abcdef", 0600);
}

/* dir/config.json: one local tenant "acme" with key dir/acme.key, the
 * verifier inline unless pin_file, and extra top-level members. */
static void make_config(const char *cfg, const char *extra,
                        const char *pin_file, const char *store)
{
    char key[300], text[2048];

    snprintf(key, sizeof(key), "%s/acme.key", dir);
    if (access(key, F_OK) != 0)
        key_file(key);
    if (pin_file != NULL)
        snprintf(text, sizeof(text),
                 "{%s \"store_dir\": \"%s\", \"tenants\": [{\"label\": "
                 "\"acme\", \"provider\": \"local\", \"key\": \"%s\", "
                 "\"test_mode\": true, \"pin_verifier\": {\"file\": "
                 "\"%s\"}}]}\n",
                 extra, store, key, pin_file);
    else
        snprintf(text, sizeof(text),
                 "{%s \"store_dir\": \"%s\", \"tenants\": [{\"label\": "
                 "\"acme\", \"provider\": \"local\", \"key\": \"%s\", "
                 "\"test_mode\": true, \"pin_verifier\": \"%s\"}]}\n",
                 extra, store, key, verifier);
    put(cfg, text, 0600);
}

/* The loader refuses path with exactly want; so does C_Initialize. */
static void refused(const char *path, const char *want)
{
    struct cmk_config *cfg = (struct cmk_config *)1;
    char err[1024];

    assert_int_equal(cmk_config_load(path, &cfg, err, sizeof(err)),
                     CMK_E_CONFIG);
    assert_null(cfg);
    assert_string_equal(err, want);
    assert_int_equal(setenv(CMK_CONFIG_ENV, path, 1), 0);
    assert_int_equal(p->C_Initialize(NULL), CKR_GENERAL_ERROR);
}

static void accepted(const char *path)
{
    struct cmk_config *cfg = NULL;
    char err[1024];

    if (cmk_config_load(path, &cfg, err, sizeof(err)) != CMK_OK)
        fail_msg("%s", err);
    cmk_config_free(cfg);
}

static void path_of(char *out, const char *name)
{
    snprintf(out, 300, "%s/%s", dir, name);
}

/* ---- The config file ---- */

/* The reported attack: another user's config, mode 0666, in a 1777
 * directory, carrying that user's PIN verifier. */
static void test_config_other_user_sticky_dir(void **state)
{
    char sticky[300], cfg[300], store[300], want[1024];

    (void)state;
    path_of(sticky, "shared");
    assert_int_equal(mkdir(sticky, 0700), 0);
    assert_int_equal(chmod(sticky, 01777), 0);
    snprintf(cfg, sizeof(cfg), "%s/config.json", sticky);
    path_of(store, "store");
    make_config(cfg, "", NULL, store);
    assert_int_equal(chmod(cfg, 0666), 0);
    give_away(cfg);
    snprintf(want, sizeof(want),
             "%s: owned by uid 65534, must be owned by root", cfg);
    refused(cfg, want);
}

static void test_config_group_writable(void **state)
{
    char cfg[300], store[300], want[1024];

    (void)state;
    path_of(cfg, "config.json");
    path_of(store, "store");
    make_config(cfg, "", NULL, store);
    assert_int_equal(chmod(cfg, 0620), 0);
    snprintf(want, sizeof(want), "%s: writable by group or others (mode 0620)",
             cfg);
    refused(cfg, want);
    assert_int_equal(chmod(cfg, 0666), 0);
    snprintf(want, sizeof(want), "%s: writable by group or others (mode 0666)",
             cfg);
    refused(cfg, want);
    assert_int_equal(chmod(cfg, 0644), 0); /* readable is fine */
    accepted(cfg);
}

static void test_config_symlink(void **state)
{
    char cfg[300], link[300], store[300], want[1024];

    (void)state;
    path_of(cfg, "real.json");
    path_of(link, "config.json");
    path_of(store, "store");
    make_config(cfg, "", NULL, store);
    assert_int_equal(symlink(cfg, link), 0);
    snprintf(want, sizeof(want), "%s: is a symbolic link", link);
    refused(link, want);
}

/* A directory others may write without the sticky bit, or owned by
 * another user: they could rename the config away and put theirs. */
static void test_config_parent_dir(void **state)
{
    char sub[300], cfg[300], store[300], want[1024];

    (void)state;
    path_of(sub, "etc");
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(cfg, sizeof(cfg), "%s/config.json", sub);
    path_of(store, "store");
    make_config(cfg, "", NULL, store);
    assert_int_equal(chmod(sub, 0777), 0);
    snprintf(want, sizeof(want),
             "%s: %s: writable by group or others without the sticky bit "
             "(mode 0777)",
             cfg, sub);
    refused(cfg, want);
    assert_int_equal(chmod(sub, 01777), 0); /* as /tmp: fine */
    accepted(cfg);
    assert_int_equal(chmod(sub, 0755), 0);
    give_away(sub);
    snprintf(want, sizeof(want),
             "%s: %s: owned by uid 65534, must be owned by root", cfg, sub);
    refused(cfg, want);
}

/* ---- PIN verifier, key and credential files ---- */

static void test_pin_file(void **state)
{
    char cfg[300], pin[300], link[300], store[300], want[1024];

    (void)state;
    path_of(cfg, "config.json");
    path_of(pin, "pin.txt");
    path_of(store, "store");
    put(pin, verifier, 0600);
    make_config(cfg, "", pin, store);
    accepted(cfg);
    assert_int_equal(chmod(pin, 0640), 0);
    snprintf(want, sizeof(want),
             "%s: tenants[0].pin_verifier.file: %s: accessible by group or "
             "others (mode 0640); it must be 0600 or stricter",
             cfg, pin);
    refused(cfg, want);
    assert_int_equal(chmod(pin, 0600), 0);
    path_of(link, "pin-link.txt");
    assert_int_equal(symlink(pin, link), 0);
    make_config(cfg, "", link, store);
    snprintf(want, sizeof(want),
             "%s: tenants[0].pin_verifier.file: %s: is a symbolic link", cfg,
             link);
    refused(cfg, want);
    make_config(cfg, "", pin, store);
    give_away(pin);
    snprintf(want, sizeof(want),
             "%s: tenants[0].pin_verifier.file: %s: owned by uid 65534, must "
             "be owned by root",
             cfg, pin);
    refused(cfg, want);
}

static void test_key_file(void **state)
{
    char cfg[300], key[300], real[300], store[300], want[1024];

    (void)state;
    path_of(cfg, "config.json");
    path_of(key, "acme.key");
    path_of(real, "real.key");
    path_of(store, "store");
    key_file(real);
    assert_int_equal(symlink(real, key), 0);
    make_config(cfg, "", NULL, store);
    snprintf(want, sizeof(want), "%s: tenants[0].key: %s: is a symbolic link",
             cfg, key);
    refused(cfg, want);
    assert_int_equal(unlink(key), 0);
    key_file(key);
    accepted(cfg);
    give_away(key);
    snprintf(want, sizeof(want),
             "%s: tenants[0].key: %s: owned by uid 65534, must be owned by "
             "root",
             cfg, key);
    refused(cfg, want);
}

static void test_credentials_file(void **state)
{
    char cfg[300], creds[300], text[1024], want[1024], why[600];
    char *out = NULL;

    (void)state;
    path_of(cfg, "config.json");
    path_of(creds, "creds.json");
    put(creds,
        "{\"access_key_id\": \"AKIDEXAMPLE\", \"secret_access_key\": "
        "\"x\"}",
        0600);
    snprintf(text, sizeof(text),
             "{\"store_dir\": \"%s/store\", \"tenants\": [{\"label\": "
             "\"acme\", \"provider\": \"aws\", \"key\": \"alias/acme\", "
             "\"region\": \"eu-west-1\", \"test_mode\": true, "
             "\"pin_verifier\": \"%s\", \"aws\": {\"credentials_file\": "
             "\"%s\"}}]}\n",
             dir, verifier, creds);
    put(cfg, text, 0600);
    accepted(cfg);
    assert_int_equal(
        cmk_creds_read_file(creds, 4096, true, &out, NULL, why, sizeof(why)),
        CMK_OK);
    cmk_creds_free_file(out);
    out = NULL;
    give_away(creds);
    snprintf(want, sizeof(want),
             "%s: tenants[0].aws.credentials_file: %s: owned by uid 65534, "
             "must be owned by root",
             cfg, creds);
    refused(cfg, want);
    /* and when the provider reads it: why names the file */
    assert_int_equal(
        cmk_creds_read_file(creds, 4096, true, &out, NULL, why, sizeof(why)),
        CMK_E_CONFIG);
    assert_null(out);
    snprintf(want, sizeof(want),
             "%s: owned by uid 65534, must be owned by root", creds);
    assert_string_equal(why, want);
}

/* The AWS shared files (private_only false) may be symlinks and
 * readable, as the SDKs allow, but not writable by others or owned by
 * another user. */
static void test_shared_files(void **state)
{
    char real[300], link[300], why[600], want[700];
    char *out = NULL;

    (void)state;
    path_of(real, "credentials");
    path_of(link, "credentials-link");
    put(real, "[default]\naws_access_key_id = AKIDEXAMPLE\n", 0644);
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(
        cmk_creds_read_file(link, 4096, false, &out, NULL, why, sizeof(why)),
        CMK_OK);
    cmk_creds_free_file(out);
    out = NULL;
    assert_int_equal(chmod(real, 0666), 0);
    assert_int_equal(
        cmk_creds_read_file(link, 4096, false, &out, NULL, why, sizeof(why)),
        CMK_E_CONFIG);
    snprintf(want, sizeof(want), "%s: writable by group or others (mode 0666)",
             link);
    assert_string_equal(why, want);
    assert_int_equal(chmod(real, 0644), 0);
    /* the private credentials_file may not be a symlink */
    assert_int_equal(
        cmk_creds_read_file(link, 4096, true, &out, NULL, why, sizeof(why)),
        CMK_E_CONFIG);
    snprintf(want, sizeof(want), "%s: is a symbolic link", link);
    assert_string_equal(why, want);
    give_away(real);
    assert_int_equal(
        cmk_creds_read_file(link, 4096, false, &out, NULL, why, sizeof(why)),
        CMK_E_CONFIG);
    assert_null(out);
}

/* ---- Store and audit directories ---- */

static size_t entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The reported attack: a symlinked store put sealed objects in the
 * attacker's directory. Refused at load, and by the store itself. */
static void test_store_symlink(void **state)
{
    char cfg[300], store[300], target[300], tdir[300], want[1024];
    uint8_t kek[32] = {1};
    struct cmk_attrs attrs = {0};
    char name[CMK_STORE_NAME_LEN + 1];

    (void)state;
    path_of(cfg, "config.json");
    path_of(store, "store");
    path_of(target, "attacker");
    assert_int_equal(mkdir(target, 0700), 0);
    assert_int_equal(symlink(target, store), 0);
    make_config(cfg, "", NULL, store);
    snprintf(want, sizeof(want), "%s: store_dir: %s: is a symbolic link", cfg,
             store);
    refused(cfg, want);
    /* the tenant's own directory under a good root */
    assert_int_equal(unlink(store), 0);
    assert_int_equal(mkdir(store, 0700), 0);
    snprintf(tdir, sizeof(tdir), "%s/acme", store);
    assert_int_equal(symlink(target, tdir), 0);
    snprintf(want, sizeof(want),
             "%s: tenants[0].store_dir: %s: is a symbolic link", cfg, tdir);
    refused(cfg, want);
    /* the store refuses to write through it too */
    cmk_store_new_name(name);
    assert_int_equal(cmk_attrs_set(&attrs, CKA_LABEL, "x", 1), CMK_OK);
    assert_int_not_equal(
        cmk_store_write(tdir, "acme", kek, sizeof(kek), name, &attrs), CMK_OK);
    cmk_attrs_clear(&attrs);
    assert_int_equal(entries(target), 0);
}

static void test_store_mode(void **state)
{
    char cfg[300], store[300], want[1024];

    (void)state;
    path_of(cfg, "config.json");
    path_of(store, "store");
    assert_int_equal(mkdir(store, 0700), 0);
    assert_int_equal(chmod(store, 0777), 0);
    make_config(cfg, "", NULL, store);
    snprintf(want, sizeof(want),
             "%s: store_dir: %s: writable by group or others (mode 0777)", cfg,
             store);
    refused(cfg, want);
    assert_int_equal(chmod(store, 0700), 0);
    give_away(store);
    snprintf(want, sizeof(want),
             "%s: store_dir: %s: owned by uid 65534, must be owned by root",
             cfg, store);
    refused(cfg, want);
}

/* The audit writer on path, with a throwaway chain key. */
static cmk_err open_writer(const char *path, struct cmk_audit **a)
{
    static const uint8_t key[CMK_AUDIT_KEY_LEN] = {1};
    struct cmk_audit_key k = {key, NULL, 0, NULL, NULL, "test"};
    struct cmk_audit_opts o;

    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    return cmk_audit_open(path, &o, &k, a);
}

/* The reported attack: an audit path that is a symlink made the module
 * append to a root-only file. */
static void test_audit_symlink(void **state)
{
    static const char secret[] = "root only\n";
    char cfg[300], adir[300], afile[300], target[300], store[300];
    char extra[700], want[1024], got[64];
    struct cmk_audit *a = NULL;
    struct stat st;
    ssize_t n;
    int fd;

    (void)state;
    path_of(cfg, "config.json");
    path_of(adir, "audit");
    path_of(target, "shadow");
    path_of(store, "store");
    assert_int_equal(mkdir(adir, 0700), 0);
    snprintf(afile, sizeof(afile), "%s/audit.jsonl", adir);
    put(target, secret, 0600);
    assert_int_equal(symlink(target, afile), 0);
    snprintf(extra, sizeof(extra), "\"audit\": {\"file\": \"%s\"},", afile);
    make_config(cfg, extra, NULL, store);
    snprintf(want, sizeof(want), "%s: audit.file: %s: is a symbolic link", cfg,
             afile);
    refused(cfg, want);
    /* the writer itself does not follow it either (O_NOFOLLOW); mech as
     * C_Initialize has it, so the refusal is the file's */
    assert_int_equal(cmk_mech_init(), CKR_OK);
    assert_int_equal(open_writer(afile, &a), CMK_E_IO);
    cmk_mech_fini();
    assert_null(a);
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, (off_t)strlen(secret));
    fd = open(target, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, got, sizeof(got));
    close(fd);
    assert_int_equal(n, (ssize_t)strlen(secret));
    assert_memory_equal(got, secret, strlen(secret));
}

static void test_audit_dir_and_file(void **state)
{
    char cfg[300], adir[300], afile[300], store[300];
    char extra[700], want[1024];
    struct cmk_audit *a = NULL;

    (void)state;
    path_of(cfg, "config.json");
    path_of(adir, "audit");
    path_of(store, "store");
    assert_int_equal(mkdir(adir, 0700), 0);
    snprintf(afile, sizeof(afile), "%s/audit.jsonl", adir);
    snprintf(extra, sizeof(extra), "\"audit\": {\"file\": \"%s\"},", afile);
    make_config(cfg, extra, NULL, store);
    accepted(cfg);
    assert_int_equal(chmod(adir, 0770), 0);
    snprintf(want, sizeof(want),
             "%s: audit.file: %s: writable by group or others (mode 0770)", cfg,
             adir);
    refused(cfg, want);
    assert_int_equal(chmod(adir, 0700), 0);
    put(afile, "", 0622);
    snprintf(want, sizeof(want),
             "%s: audit.file: %s: writable by group or others (mode 0622)", cfg,
             afile);
    refused(cfg, want);
    assert_int_equal(cmk_mech_init(), CKR_OK);
    assert_int_equal(open_writer(afile, &a), CMK_E_CONFIG);
    cmk_mech_fini();
    assert_int_equal(chmod(afile, 0600), 0);
    give_away(afile);
    snprintf(want, sizeof(want),
             "%s: audit.file: %s: owned by uid 65534, must be owned by root",
             cfg, afile);
    refused(cfg, want);
}

/* ---- The checker on its own ---- */

static void test_checker(void **state)
{
    char f[300], d[300], why[512];
    int fd = -1;

    (void)state;
    path_of(f, "file");
    path_of(d, "d");
    put(f, "x", 0644);
    assert_int_equal(cmk_trust_open(f, O_RDONLY, 0, 0, &fd, why, sizeof(why)),
                     CMK_OK);
    close(fd);
    assert_int_equal(
        cmk_trust_open(f, O_RDONLY, 0, CMK_TRUST_SECRET, &fd, why, sizeof(why)),
        CMK_E_CONFIG);
    assert_int_equal(fd, -1);
    path_of(f, "missing");
    assert_int_equal(cmk_trust_open(f, O_RDONLY, 0, 0, &fd, why, sizeof(why)),
                     CMK_E_KEY_NOT_FOUND);
    assert_int_equal(cmk_trust_dir(d, false, why, sizeof(why)),
                     CMK_E_KEY_NOT_FOUND);
    assert_int_equal(cmk_trust_dir(d, true, why, sizeof(why)), CMK_OK);
    assert_int_equal(cmk_trust_parents("/", why, sizeof(why)), CMK_OK);
    assert_int_equal(cmk_trust_open(NULL, O_RDONLY, 0, 0, &fd, why, 0),
                     CMK_E_ARGS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_checker, setup),
        cmocka_unit_test_setup(test_config_other_user_sticky_dir, setup),
        cmocka_unit_test_setup(test_config_group_writable, setup),
        cmocka_unit_test_setup(test_config_symlink, setup),
        cmocka_unit_test_setup(test_config_parent_dir, setup),
        cmocka_unit_test_setup(test_pin_file, setup),
        cmocka_unit_test_setup(test_key_file, setup),
        cmocka_unit_test_setup(test_credentials_file, setup),
        cmocka_unit_test_setup(test_shared_files, setup),
        cmocka_unit_test_setup(test_store_symlink, setup),
        cmocka_unit_test_setup(test_store_mode, setup),
        cmocka_unit_test_setup(test_audit_symlink, setup),
        cmocka_unit_test_setup(test_audit_dir_and_file, setup),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
