/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: HTTP(S) over libcurl for every provider. One client holds a small
 * pool of easy handles (each keeps its own live connections, so a handle
 * taken from the pool by any thread reuses them) and a CURLSH sharing the
 * DNS and TLS session caches under cmk_mutexes. The connection cache
 * itself is not put in the share: libcurl documents that sharing it
 * between concurrent threads is unsafe (KNOWN_BUGS, curl issue #9404).
 * The module creates no thread; libcurl's threaded resolver may run one
 * internally for the duration of a name lookup.
 * TLS verification is always on (CA file from config, else the system
 * store); plain http only to loopback hosts (and, for credential
 * endpoints, the AWS link-local metadata addresses). Response bodies are
 * capped and wiped when freed. Every request carries the User-Agent
 * "cmk-pkcs11/VERSION os/linux lang/c md/curl#CURL_VERSION".
 * Thread safety: cmk_http_do may be called from any number of threads;
 * no lock is held while a request is in flight.
 */
#ifndef CMK_NET_HTTP_H
#define CMK_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/http_cfg.h"
#include "net/retry.h"
#include "util/err.h"
#include "util/secmem.h"

#define CMK_HTTP_BODY_MAX (1024u * 1024u)

/* Which plain-http hosts a URL may name. */
#define CMK_URL_HTTPS_ONLY 0u /* https, or http to loopback */
#define CMK_URL_METADATA_HTTP                                                  \
    0x1u /* also http to AWS link-local                                        \
          * metadata/container addresses */

struct cmk_http;

/* How a request failed below HTTP (resp.fail). */
enum cmk_http_fail {
    CMK_HTTP_FAIL_NONE = 0, /* an HTTP answer arrived (any status) */
    CMK_HTTP_FAIL_CONNECT,  /* resolve or connect failed */
    CMK_HTTP_FAIL_IO,       /* reset or cut during the exchange */
    CMK_HTTP_FAIL_TIMEOUT,
    CMK_HTTP_FAIL_TLS,       /* certificate or handshake refused */
    CMK_HTTP_FAIL_TOO_LARGE, /* body over CMK_HTTP_BODY_MAX */
    CMK_HTTP_FAIL_URL,       /* URL refused (scheme, host) */
};

struct cmk_http_req {
    const char *method; /* "GET", "POST", "PUT" */
    const char *url;
    const char *const *headers; /* "Name: value" lines */
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
    unsigned url_flags;  /* CMK_URL_* */
    unsigned timeout_ms; /* 0: the client's; else the smaller */
    int64_t deadline_us; /* CLOCK_MONOTONIC; 0 = none */
};

struct cmk_http_resp {
    long status;              /* 0 when fail != NONE */
    struct cmk_buf body;      /* NUL-terminated (len excludes it) */
    char request_id[128];     /* x-amzn-RequestId, else x-ms-request-id
                               * (Azure), if any */
    char error_type[64];      /* x-amzn-ErrorType, if any */
    int64_t date;             /* Date header, Unix time; 0 if none */
    char metadata_flavor[16]; /* Metadata-Flavor (Google's metadata
                               * server sends "Google"), if any */
    /* WWW-Authenticate (an Azure vault's 401 challenge), if any; cut at
     * the size. */
    char www_authenticate[512];
    /* The wait a 429 or 503 asks for, in ms: retry-after-ms or
     * x-ms-retry-after-ms (ms), else Retry-After (seconds or an
     * HTTP-date); -1 when none. */
    int64_t retry_after_ms;
    /* Location (a Vault standby's 307), if any; cut at the size. */
    char location[512];
    enum cmk_http_fail fail;
    char why[160]; /* libcurl's reason; no secrets */
};

/* cfg may be NULL (defaults: 2000 ms connect, 10000 ms, 3 attempts). */
cmk_err cmk_http_new(const struct cmk_http_cfg *cfg,
                     struct cmk_http **out) CMK_WUR;
void cmk_http_free(struct cmk_http *h);

/* One attempt, no retry: the request leaves at most once (libcurl's own
 * resend on a reused connection that died is refused, CMK_E_NETWORK
 * with CMK_HTTP_FAIL_IO). CMK_OK when an HTTP answer arrived, whatever its
 * status; otherwise CMK_E_NETWORK (connect, reset, TLS), CMK_E_TIMEOUT,
 * CMK_E_BAD_RESPONSE (body too large), CMK_E_CONFIG (URL refused),
 * CMK_E_NOMEM, CMK_E_ARGS; resp->fail and resp->why say more. resp is
 * reset first; free it with cmk_http_resp_free either way. */
cmk_err cmk_http_do(struct cmk_http *h, const struct cmk_http_req *rq,
                    struct cmk_http_resp *resp) CMK_WUR;
void cmk_http_resp_free(struct cmk_http_resp *resp);

/* A TLS client certificate for one request (Vault's cert auth): PEM
 * files, read by libcurl. */
struct cmk_http_client_cert {
    const char *cert_file;
    const char *key_file;
};
/* cmk_http_do presenting cc (NULL: none, as cmk_http_do). */
cmk_err cmk_http_do_cert(struct cmk_http *h, const struct cmk_http_req *rq,
                         const struct cmk_http_client_cert *cc,
                         struct cmk_http_resp *resp) CMK_WUR;

/* The wait a Retry-After value asks for, in ms (RFC 9110 10.2.3: delay
 * seconds, or an HTTP-date, taken from now_unix); -1 when it is neither
 * or too large (over a day). */
int64_t cmk_http_retry_after_ms(const char *v, int64_t now_unix);

/* The retry policy and shared retry quota of this client. */
const struct cmk_retry_policy *cmk_http_policy(const struct cmk_http *h);
struct cmk_retry_quota *cmk_http_quota(struct cmk_http *h);

/* CMK_OK if url may be used with flags; else CMK_E_CONFIG and a short
 * reason ("plain http only to 127.0.0.1, localhost or [::1]"). */
cmk_err cmk_url_check(const char *url, unsigned flags,
                      const char **why) CMK_WUR;

/* True if url names this host or an AWS link-local metadata address
 * (such requests never go through a proxy). */
bool cmk_url_is_local(const char *url);

/* CLOCK_MONOTONIC in microseconds. */
int64_t cmk_http_now_us(void);

#endif /* CMK_NET_HTTP_H */
