/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool azure-key" (azure_byok.h): bring your own RSA key to
 * Azure Key Vault or Managed HSM. The options, then one of three modes:
 * --generate (a new key pair), --pem (a customer's key, checked) or
 * --check (the checks only). The body written holds the private key: a
 * file of mode 0600, never stdout.
 */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool/azure_byok.h"
#include "tool/tool.h"
#include "util/utc.h"

static const char help[] =
    "usage: cmk-tool azure-key --generate [--bits 2048|3072|4096] --out BODY\n"
    "                          [--private-out KEY.pem] [BODY OPTIONS]\n"
    "       cmk-tool azure-key --pem KEY.pem --out BODY [BODY OPTIONS]\n"
    "       cmk-tool azure-key --check KEY.pem\n"
    "BODY OPTIONS: [--hsm] [--key-ops OP,...] [--exp RFC3339] "
    "[--nbf RFC3339]\n"
    "\n"
    "Bring your own key to Azure Key Vault or Managed HSM: writes BODY, the\n"
    "JSON body of Key Vault's Import Key request (PUT\n"
    "https://VAULT/keys/NAME?api-version=7.6), for an RSA key with e = 65537.\n"
    "\n"
    "--generate   makes a new key pair (--bits, default 4096); --private-out\n"
    "             also writes its private key as PKCS#8 PEM, for your escrow\n"
    "--pem        takes your key: an unencrypted PEM (PKCS#1 or PKCS#8),\n"
    "             owner-only (mode 0600) and not a symlink, RSA 2048, 3072 or\n"
    "             4096 bits, e = 65537, consistent\n"
    "--check      runs the --pem checks only and prints the size and exponent\n"
    "--hsm        kty RSA-HSM and \"hsm\": true (a key the HSM protects)\n"
    "--key-ops    JWK key_ops (default wrapKey,unwrapKey, what the azure\n"
    "             provider needs): encrypt decrypt sign verify wrapKey\n"
    "             unwrapKey import export\n"
    "--exp --nbf  the key's expiry and start (RFC 3339, sent as Unix "
    "seconds)\n"
    "\n"
    "BODY and KEY.pem hold the private key: each is created mode 0600, never\n"
    "over an existing file, and never written to stdout. Send BODY to the\n"
    "vault only, then delete it.\n"
    "Exit codes: 0 done, 1 failed, 2 usage error; a refused key file: 3 not\n"
    "owner-only, a symlink or unreadable, 4 not PEM, 5 encrypted, 6 public\n"
    "key only, 7 not RSA, 8 not 2048/3072/4096 bits, 9 exponent not 65537,\n"
    "10 inconsistent key.\n";

static const char *const known_ops[AZK_OPS_MAX] = {
    "encrypt", "decrypt",   "sign",   "verify",
    "wrapKey", "unwrapKey", "import", "export",
};

struct args {
    bool generate;
    const char *pem, *check, *out, *priv_out;
    unsigned bits;
    struct azk_body_args body;
};

static const char *known_op(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < AZK_OPS_MAX; i++) {
        if (strlen(known_ops[i]) == n && strncmp(known_ops[i], s, n) == 0)
            return known_ops[i];
    }
    return NULL;
}

static bool listed(const struct azk_body_args *b, const char *op)
{
    size_t i;

    for (i = 0; i < b->n_ops; i++) {
        if (b->ops[i] == op)
            return true;
    }
    return false;
}

/* "wrapKey,unwrapKey": known names, each once. */
static int parse_ops(const char *s, struct azk_body_args *b)
{
    const char *end, *op;
    size_t n;

    b->n_ops = 0;
    for (;;) {
        end = strchr(s, ',');
        n = end != NULL ? (size_t)(end - s) : strlen(s);
        op = known_op(s, n);
        if (op == NULL || listed(b, op)) {
            tool_err("--key-ops: \"%.*s\" is %s (one of: encrypt decrypt sign "
                     "verify wrapKey unwrapKey import export, each once)",
                     (int)n, s, op == NULL ? "not a key operation" : "twice");
            return TOOL_USAGE;
        }
        b->ops[b->n_ops++] = op;
        if (end == NULL)
            return TOOL_OK;
        s = end + 1;
    }
}

static int parse_time(const char *opt, const char *s, int64_t *t)
{
    if (!cmk_rfc3339_parse(s, t)) {
        tool_err("%s: \"%s\" is not an RFC 3339 date-time "
                 "(2027-12-31T23:59:59Z)",
                 opt, s);
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

static int parse_bits(const char *s, unsigned *bits)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);

    if (end == s || *end != '\0' || v > 4096 || !azk_bits_ok((unsigned)v)) {
        tool_err("--bits: \"%s\": Key Vault imports 2048, 3072 or 4096", s);
        return TOOL_USAGE;
    }
    *bits = (unsigned)v;
    return TOOL_OK;
}

static int option(int c, struct args *a, const char **bits)
{
    switch (c) {
    case 'g':
        a->generate = true;
        return TOOL_OK;
    case 'b':
        *bits = optarg;
        return TOOL_OK;
    case 'p':
        a->pem = optarg;
        return TOOL_OK;
    case 'c':
        a->check = optarg;
        return TOOL_OK;
    case 'o':
        a->out = optarg;
        return TOOL_OK;
    case 'k':
        a->priv_out = optarg;
        return TOOL_OK;
    case 'H':
        a->body.hsm = true;
        return TOOL_OK;
    case 'O':
        return parse_ops(optarg, &a->body);
    case 'e':
        a->body.has_exp = true;
        return parse_time("--exp", optarg, &a->body.exp);
    case 'n':
        a->body.has_nbf = true;
        return parse_time("--nbf", optarg, &a->body.nbf);
    default:
        fputs(help, stderr);
        return TOOL_USAGE;
    }
}

/* Exactly one mode, and only the options that go with it. */
static int check_mode(const struct args *a, const char *bits)
{
    int modes = a->generate + (a->pem != NULL) + (a->check != NULL);
    bool body_opts =
        a->body.hsm || a->body.n_ops > 0 || a->body.has_exp || a->body.has_nbf;

    if (modes != 1) {
        tool_err("give one of --generate, --pem KEY.pem or --check KEY.pem");
        return TOOL_USAGE;
    }
    if (a->check != NULL && (a->out || a->priv_out || bits || body_opts)) {
        tool_err("--check takes no other option: it writes nothing");
        return TOOL_USAGE;
    }
    if (!a->generate && (bits != NULL || a->priv_out != NULL)) {
        tool_err("--bits and --private-out go with --generate");
        return TOOL_USAGE;
    }
    if (a->check == NULL && (a->out == NULL || a->out[0] == '\0')) {
        tool_err("--out BODY is needed");
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

static int check_files(const struct args *a)
{
    if ((a->out != NULL && strcmp(a->out, "-") == 0) ||
        (a->priv_out != NULL && strcmp(a->priv_out, "-") == 0)) {
        tool_err("the output holds the private key: it is written to a file "
                 "of mode 0600, never to stdout");
        return TOOL_USAGE;
    }
    if (a->priv_out != NULL && strcmp(a->priv_out, a->out) == 0) {
        tool_err("--out and --private-out name the same file");
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

static int check_times(const struct azk_body_args *b)
{
    if (b->has_exp && b->exp <= (int64_t)time(NULL)) {
        tool_err("--exp: in the past: the key would be expired on import");
        return TOOL_USAGE;
    }
    if (b->has_exp && b->has_nbf && b->nbf >= b->exp) {
        tool_err("--nbf: not before --exp: the key would never be valid");
        return TOOL_USAGE;
    }
    return TOOL_OK;
}

/* TOOL_OK to go on, -1 after --help, else the exit code. */
static int parse(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"generate", no_argument, NULL, 'g'},
        {"bits", required_argument, NULL, 'b'},
        {"pem", required_argument, NULL, 'p'},
        {"check", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"private-out", required_argument, NULL, 'k'},
        {"hsm", no_argument, NULL, 'H'},
        {"key-ops", required_argument, NULL, 'O'},
        {"exp", required_argument, NULL, 'e'},
        {"nbf", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *bits = NULL;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "gb:p:c:o:k:HO:e:n:h", opts, NULL)) !=
           -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        rc = option(c, a, &bits);
        if (rc != TOOL_OK)
            return rc;
    }
    if (optind != argc) {
        fputs(help, stderr);
        return TOOL_USAGE;
    }
    rc = check_mode(a, bits);
    if (rc == TOOL_OK && a->check == NULL)
        rc = check_files(a);
    if (rc == TOOL_OK)
        rc = check_times(&a->body);
    if (rc == TOOL_OK && bits != NULL)
        rc = parse_bits(bits, &a->bits);
    return rc;
}

static void say_written(const struct args *a, EVP_PKEY *pk)
{
    printf("%s: Key Vault import body for an RSA-%d key (e=65537%s), mode "
           "0600.\n"
           "It holds the private key: send it only to your vault (PUT "
           "https://VAULT/keys/NAME?api-version=7.6), then delete it.\n",
           a->out, EVP_PKEY_get_bits(pk), a->body.hsm ? ", RSA-HSM" : "");
    if (a->priv_out != NULL)
        printf("%s: the private key, PKCS#8 PEM, mode 0600: keep it in "
               "escrow.\n",
               a->priv_out);
}

static int write_outputs(const struct args *a, EVP_PKEY *pk)
{
    struct cmk_secret body = {0}, pem = {0};
    int rc;

    rc = azk_body(pk, &a->body, &body);
    if (rc == TOOL_OK && a->priv_out != NULL)
        rc = azk_pkcs8_pem(pk, &pem);
    if (rc == TOOL_OK)
        rc = azk_write_files(a->out, &body, a->priv_out, &pem);
    if (rc == TOOL_OK)
        say_written(a, pk);
    cmk_secret_free(&body);
    cmk_secret_free(&pem);
    return rc;
}

static int run(const struct args *a)
{
    EVP_PKEY *pk = NULL;
    int rc;

    if (a->generate)
        rc = azk_generate(a->bits, &pk);
    else
        rc = azk_load_pem(a->check != NULL ? a->check : a->pem, &pk);
    if (rc == TOOL_OK && a->check != NULL)
        printf("%s: RSA %d bits, public exponent 65537: Key Vault can "
               "import it\n",
               a->check, EVP_PKEY_get_bits(pk));
    else if (rc == TOOL_OK)
        rc = write_outputs(a, pk);
    EVP_PKEY_free(pk); /* its private bignums are on the secure heap */
    return rc;
}

int cmd_azure_key(int argc, char **argv)
{
    struct args a;
    int rc;

    memset(&a, 0, sizeof(a));
    a.bits = AZK_DEFAULT_BITS;
    rc = parse(argc, argv, &a);
    if (rc != TOOL_OK)
        return rc < 0 ? TOOL_OK : rc;
    if (a.body.n_ops == 0) {
        a.body.ops[0] = "wrapKey";
        a.body.ops[1] = "unwrapKey";
        a.body.n_ops = 2;
    }
    rc = azk_crypto_open();
    if (rc != TOOL_OK)
        return rc;
    rc = run(&a);
    azk_crypto_close();
    return rc;
}
