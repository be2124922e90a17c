/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: arguments, help texts and the PIN file of cmk-tool encrypt /
 * decrypt / rekey (file_cmd.h).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool/file_cmd.h"
#include "tool/file_format.h"
#include "tool/tool.h"
#include "util/trust.h"

#define COMMON_OPTS                                                            \
    "  --pin-file  a file (mode 0600, not a symlink) whose first line is\n"    \
    "              the user PIN; needed unless the tenant has\n"               \
    "              \"login_required\": false. Never give a PIN as an\n"        \
    "              argument.\n"
#define NEW_KEY_OPTS                                                           \
    "  --path      direct: the CMK wraps the data key through the KMS\n"       \
    "              (CKM_CMK_ENVELOPE); kek: the tenant KEK wraps it\n"         \
    "              (RFC 5649, CKM_AES_KEY_WRAP_KWP)\n"                         \
    "  --cipher    aes-256-gcm or xchacha20-poly1305\n"                        \
    "  --chunk     bytes per authenticated chunk, 4096..16777216 (suffix\n"    \
    "              K or M for KiB, MiB)\n"
#define TRAILER                                                                \
    "The run is recorded in the config's audit file (encryption_started,\n"    \
    "encryption_completed). Format: docs/file-format.md.\n"                    \
    "Exit codes: 0 done, 1 failed, 2 usage or config error.\n"

static const char help_encrypt[] =
    "usage: cmk-tool encrypt --config FILE --tenant LABEL [--pin-file FILE]\n"
    "           [--path direct|kek] [--cipher aes-256-gcm|xchacha20-poly1305]\n"
    "           [--chunk BYTES] IN OUT\n"
    "\n"
    "Encrypts IN into OUT under a new 256-bit data key that the tenant's\n"
    "CMK wraps, all through the module's PKCS#11 interface. IN and OUT may\n"
    "be \"-\" (stdin, stdout). OUT is written to a temporary file next to\n"
    "it (mode 0600) and renamed over OUT once complete.\n" COMMON_OPTS
        NEW_KEY_OPTS "Defaults: --path direct --cipher aes-256-gcm "
    "--chunk 65536.\n" TRAILER;

static const char help_decrypt[] =
    "usage: cmk-tool decrypt --config FILE --tenant LABEL [--pin-file FILE]\n"
    "           IN OUT\n"
    "\n"
    "Decrypts IN, made by cmk-tool encrypt or rekey for this tenant, into\n"
    "OUT. Each chunk is authenticated before its plaintext is used; a\n"
    "changed, truncated, reordered or spliced file fails with exit 1 and\n"
    "leaves no OUT (a temporary file is renamed over OUT once the whole\n"
    "file checked). With OUT \"-\" plaintext goes to stdout chunk by chunk:\n"
    "when the command fails, discard what it wrote.\n" COMMON_OPTS TRAILER;

static const char help_rekey[] =
    "usage: cmk-tool rekey --config FILE --tenant LABEL [--pin-file FILE]\n"
    "           [--path direct|kek] [--cipher aes-256-gcm|xchacha20-poly1305]\n"
    "           [--chunk BYTES] IN OUT\n"
    "\n"
    "Gives IN a new data key (data-key rotation): decrypts it with its old\n"
    "key and encrypts the plaintext into OUT under a new one, wrapped by\n"
    "the tenant's current CMK. Path, cipher and chunk size stay IN's unless\n"
    "given. OUT may be IN itself; it is replaced only once "
    "complete.\n" COMMON_OPTS NEW_KEY_OPTS TRAILER;

static const char *const g_help[] = {help_encrypt, help_decrypt, help_rekey};
static const char *const g_op[] = {"encrypt", "decrypt", "rekey"};

static int usage(const struct file_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The message and where the options are described, or (no message:
 * getopt has said what is wrong) the command's help, on stderr. */
static int usage(const struct file_args *a, const char *fmt, ...)
{
    va_list ap;

    if (fmt == NULL) {
        fputs(g_help[a->kind], stderr);
        return TOOL_USAGE;
    }
    va_start(ap, fmt);
    fprintf(stderr, "cmk-tool %s: ", a->op);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(cmk-tool %s --help describes the options)\n", a->op);
    va_end(ap);
    return TOOL_USAGE;
}

static int parse_chunk(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (end == s || errno != 0 || v > TOOL_F_CHUNK_MAX)
        return -1;
    if (*end == 'K' || *end == 'k')
        v *= 1024, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1024 * 1024, end++;
    if (*end != '\0' || v < TOOL_F_CHUNK_MIN || v > TOOL_F_CHUNK_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* One option of a new key (encrypt, rekey). */
static int key_opt(struct file_args *a, int c, const char *v)
{
    static const char *const names[] = {"--path", "--cipher", "--chunk"};
    const char *name = names[c == 'p' ? 0 : c == 'x' ? 1 : 2];

    if (a->kind == FILE_DECRYPT)
        return usage(a,
                     "%s: decrypt takes the key path, cipher and chunk "
                     "size from the file",
                     name);
    if (c == 'p' && (a->path = tool_fpath_from(v)) == 0)
        return usage(a, "--path: \"%s\": direct or kek", v);
    if (c == 'x' && (a->cipher = tool_fcipher_from(v)) == 0)
        return usage(a, "--cipher: \"%s\": aes-256-gcm or xchacha20-poly1305",
                     v);
    if (c == 'k' && parse_chunk(v, &a->chunk) != 0)
        return usage(a, "--chunk: \"%s\": 4096..16777216 bytes", v);
    return TOOL_OK;
}

static int options(struct file_args *a, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"tenant", required_argument, NULL, 't'},
        {"pin-file", required_argument, NULL, 'P'},
        {"path", required_argument, NULL, 'p'},
        {"cipher", required_argument, NULL, 'x'},
        {"chunk", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc = TOOL_OK;

    optind = 1;
    while (rc == TOOL_OK &&
           (c = getopt_long(argc, argv, "c:t:P:p:x:k:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(g_help[a->kind], stdout);
            return -1;
        }
        if (c == 'c')
            a->config = optarg;
        else if (c == 't')
            a->tenant = optarg;
        else if (c == 'P')
            a->pin_file = optarg;
        else if (c == 'p' || c == 'x' || c == 'k')
            rc = key_opt(a, c, optarg);
        else
            rc = usage(a, NULL);
    }
    return rc;
}

/* The module takes the config as an absolute path in its reserved
 * string, where '=' would make it a word of another meaning. */
static int absolute_config(struct file_args *a)
{
    char cwd[PATH_MAX];
    int n;

    if (a->config[0] == '/') {
        n = snprintf(a->config_abs, sizeof(a->config_abs), "%s", a->config);
    } else {
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return usage(a, "--config: %s: no working directory", a->config);
        n = snprintf(a->config_abs, sizeof(a->config_abs), "%s/%s", cwd,
                     a->config);
    }
    if (n < 0 || (size_t)n >= sizeof(a->config_abs))
        return usage(a, "--config: %s: path too long", a->config);
    if (strchr(a->config_abs, '=') != NULL)
        return usage(a, "--config: %s: a path with '=' is not supported",
                     a->config);
    return TOOL_OK;
}

int tool_file_args(enum file_kind kind, int argc, char **argv,
                   struct file_args *a)
{
    int rc;

    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->op = g_op[kind];
    rc = options(a, argc, argv);
    if (rc != TOOL_OK)
        return rc;
    if (a->config == NULL || a->tenant == NULL)
        return usage(a, "%s", "--config and --tenant are required");
    if (argc - optind != 2)
        return usage(a, "%s", "give IN and OUT (\"-\" for stdin, stdout)");
    a->in_arg = argv[optind];
    a->out_arg = argv[optind + 1];
    if (kind == FILE_ENCRYPT) {
        a->path = a->path ? a->path : TOOL_F_PATH_DIRECT;
        a->cipher = a->cipher ? a->cipher : TOOL_F_AES_GCM;
        a->chunk = a->chunk ? a->chunk : TOOL_F_CHUNK_DEFAULT;
    }
    return absolute_config(a);
}

/* The first line of the open PIN file fd: 1..TOOL_PIN_MAX - 1 bytes. */
static int read_pin(int fd, const char *path, char *pin, size_t *pin_len)
{
    ssize_t n;
    size_t len;

    do
        n = read(fd, pin, TOOL_PIN_MAX);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        tool_err("%s: %s", path, strerror(errno));
        return TOOL_USAGE;
    }
    pin[n] = '\0';
    len = strcspn(pin, "\r\n");
    if (len == 0 || len >= TOOL_PIN_MAX) {
        tool_err("%s: expected a PIN of 1..%u bytes on its first line", path,
                 TOOL_PIN_MAX - 1);
        sodium_memzero(pin, TOOL_PIN_MAX + 1);
        return TOOL_USAGE;
    }
    pin[len] = '\0';
    *pin_len = len;
    return TOOL_OK;
}

int tool_file_pin(const struct file_args *a, const struct cmk_tenant_cfg *t,
                  char *pin, size_t *pin_len)
{
    char why[512];
    int fd = -1, rc;

    *pin_len = 0;
    pin[0] = '\0';
    if (!t->login_required)
        return TOOL_OK;
    if (a->pin_file == NULL) {
        tool_err("tenant \"%s\" needs a PIN: give --pin-file FILE (mode 0600)",
                 t->kms.label);
        return TOOL_USAGE;
    }
    if (cmk_trust_open(a->pin_file, O_RDONLY, 0, CMK_TRUST_SECRET, &fd, why,
                       sizeof(why)) != CMK_OK) {
        tool_err("--pin-file: %s", why);
        return TOOL_USAGE;
    }
    rc = read_pin(fd, a->pin_file, pin, pin_len);
    close(fd);
    return rc;
}
