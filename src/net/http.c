/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the libcurl client: handle pool, share object with its locks, and
 * one request/response exchange with capped, wiped bodies.
 */
#include <config.h>

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "net/http.h"
#include "net/strbuf.h"

/* Idle handles kept; busy ones are not limited. As many as threads that
 * call at once (a handle holds its connection, and a new one to a KMS is
 * a TCP and TLS handshake), up to the 64 threads an application may
 * reasonably run against one tenant. */
#define POOL_MAX 64u
#define DEF_CONNECT_MS 2000u
#define DEF_TIMEOUT_MS 10000u
#define DEF_ATTEMPTS 3u
#define BACKOFF_BASE_MS 100u
#define BACKOFF_MAX_MS 20000u

#ifdef __linux__
#define UA_OS "linux"
#else
#define UA_OS "other"
#endif

struct cmk_http {
    CURLSH *share;
    /* libcurl takes these around its shared DNS and TLS session caches
     * (through share_lock/share_unlock), never across network I/O. */
    struct cmk_mutex share_lock[CURL_LOCK_DATA_LAST];
    struct cmk_mutex pool_lock; /* guards pool and n_pool; a leaf */
    CURL *pool[POOL_MAX];
    size_t n_pool;
    unsigned connect_ms;
    unsigned timeout_ms;
    char *ca_file;
    char user_agent[96];
    struct cmk_retry_policy policy;
    struct cmk_retry_quota quota;
    unsigned ready; /* how many of the locks above exist */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* libcurl's own init (thread-safe from 7.84 on); never cleaned up, so a
 * host that also uses libcurl is not disturbed at unload. */
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int64_t cmk_http_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void share_lock(CURL *c, curl_lock_data d, curl_lock_access a, void *arg)
{
    struct cmk_http *h = arg;

    (void)c;
    (void)a;
    if ((unsigned)d < CURL_LOCK_DATA_LAST)
        cmk_mutex_lock(&h->share_lock[d]);
}

static void share_unlock(CURL *c, curl_lock_data d, void *arg)
{
    struct cmk_http *h = arg;

    (void)c;
    if ((unsigned)d < CURL_LOCK_DATA_LAST)
        cmk_mutex_unlock(&h->share_lock[d]);
}

static cmk_err make_share(struct cmk_http *h)
{
    h->share = curl_share_init();
    if (h->share == NULL)
        return CMK_E_NOMEM;
    if (curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock) !=
            CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock) !=
            CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
            CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_SHARE,
                          CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
        return CMK_E_INTERNAL;
    return CMK_OK;
}

static void apply_cfg(struct cmk_http *h, const struct cmk_http_cfg *cfg)
{
    h->connect_ms = cfg && cfg->connect_timeout_ms ? cfg->connect_timeout_ms
                                                   : DEF_CONNECT_MS;
    h->timeout_ms = cfg && cfg->timeout_ms ? cfg->timeout_ms : DEF_TIMEOUT_MS;
    h->policy.max_attempts =
        cfg && cfg->max_attempts ? cfg->max_attempts : DEF_ATTEMPTS;
    h->policy.base_ms = BACKOFF_BASE_MS;
    h->policy.max_backoff_ms = BACKOFF_MAX_MS;
    h->policy.budget_ms = h->timeout_ms;
}

/* The product and its version first, then the AWS SDKs' os/, lang/ and
 * md/ (metadata) parts, as in "aws-sdk-go-v2/1.30.3 os/linux
 * lang/go#1.22.5 md/GOARCH#amd64": KMS, STS and CloudTrail show it. */
static void make_user_agent(struct cmk_http *h)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

    snprintf(h->user_agent, sizeof(h->user_agent),
             "%s/%s os/" UA_OS " lang/c md/curl#%s", PACKAGE_NAME,
             PACKAGE_VERSION,
             v != NULL && v->version != NULL ? v->version : "unknown");
}

static cmk_err init_locks(struct cmk_http *h)
{
    if (cmk_mutex_init(&h->pool_lock) != CKR_OK)
        return CMK_E_NOMEM;
    h->ready = 1;
    if (cmk_retry_quota_init(&h->quota) != CMK_OK)
        return CMK_E_NOMEM;
    h->ready = 2;
    while (h->ready - 2 < CURL_LOCK_DATA_LAST) {
        if (cmk_mutex_init(&h->share_lock[h->ready - 2]) != CKR_OK)
            return CMK_E_NOMEM;
        h->ready++;
    }
    return CMK_OK;
}

cmk_err cmk_http_new(const struct cmk_http_cfg *cfg, struct cmk_http **out)
{
    struct cmk_http *h;
    cmk_err err;

    if (out == NULL)
        return CMK_E_ARGS;
    (void)pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return CMK_E_INTERNAL;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return CMK_E_NOMEM;
    apply_cfg(h, cfg);
    make_user_agent(h);
    err = init_locks(h);
    if (err == CMK_OK && cfg != NULL && cfg->ca_file != NULL &&
        (h->ca_file = cmk_strdup(cfg->ca_file)) == NULL)
        err = CMK_E_NOMEM;
    if (err == CMK_OK)
        err = make_share(h);
    if (err != CMK_OK) {
        cmk_http_free(h);
        return err;
    }
    *out = h;
    return CMK_OK;
}

void cmk_http_free(struct cmk_http *h)
{
    size_t i;

    if (h == NULL)
        return;
    for (i = 0; i < h->n_pool; i++)
        curl_easy_cleanup(h->pool[i]);
    if (h->share != NULL)
        curl_share_cleanup(h->share);
    for (i = 2; i < h->ready; i++)
        cmk_mutex_fini(&h->share_lock[i - 2]);
    if (h->ready >= 2)
        cmk_retry_quota_fini(&h->quota);
    if (h->ready >= 1)
        cmk_mutex_fini(&h->pool_lock);
    cmk_str_free(h->ca_file);
    free(h);
}

const struct cmk_retry_policy *cmk_http_policy(const struct cmk_http *h)
{
    return &h->policy;
}

struct cmk_retry_quota *cmk_http_quota(struct cmk_http *h)
{
    return &h->quota;
}

/* ---- Handle pool ---- */

static CURL *pool_get(struct cmk_http *h)
{
    CURL *c = NULL;

    cmk_mutex_lock(&h->pool_lock);
    if (h->n_pool > 0)
        c = h->pool[--h->n_pool];
    cmk_mutex_unlock(&h->pool_lock);
    return c != NULL ? c : curl_easy_init();
}

/* Back to the pool with its live connections; options are reset (the
 * connection, DNS and TLS session caches survive curl_easy_reset). */
static void pool_put(struct cmk_http *h, CURL *c, bool keep)
{
    if (c == NULL)
        return;
    curl_easy_reset(c);
    cmk_mutex_lock(&h->pool_lock);
    if (keep && h->n_pool < POOL_MAX) {
        h->pool[h->n_pool++] = c;
        c = NULL;
    }
    cmk_mutex_unlock(&h->pool_lock);
    if (c != NULL)
        curl_easy_cleanup(c);
}

/* ---- One exchange ---- */

struct xfer {
    struct cmk_sb body;
    struct cmk_http_resp *resp;
    unsigned sends;   /* times libcurl was about to send the request */
    int64_t after_ms; /* retry-after-ms / x-ms-retry-after-ms; -1: none */
    int64_t after_s;  /* Retry-After, in ms; -1: none */
    char ms_request_id[128]; /* x-ms-request-id */
};

/* libcurl sends a request again by itself when a reused connection dies
 * before any byte of the answer (lib/transfer.c Curl_retry_request, up to
 * five times; no option turns it off), and the server may have seen the
 * first one. Every request that leaves is an attempt the retry policy
 * counts (max_attempts), so a second send in one exchange is refused
 * here, before it leaves: the exchange fails as a cut connection, which
 * cmk_retry_run retries, with backoff, while attempts remain. libcurl
 * calls this right before each send (CURLOPT_PREREQFUNCTION, 7.80). */
static int on_prereq(void *arg, char *peer_ip, char *local_ip, int peer_port,
                     int local_port)
{
    struct xfer *x = arg;

    (void)peer_ip;
    (void)local_ip;
    (void)peer_port;
    (void)local_port;
    return x->sends++ == 0 ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;

    if (n != 0 && size > CMK_HTTP_BODY_MAX / n)
        return 0;
    cmk_sb_add(&x->body, p, size * n);
    return x->body.failed ? 0 : size * n; /* 0 aborts: CURLE_WRITE_ERROR */
}

/* Copies a header value (trimmed) into out if name matches. */
static bool take_header(const char *line, size_t len, const char *name,
                        char *out, size_t out_len)
{
    size_t nl = strlen(name), v;

    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return false;
    line += nl + 1;
    len -= nl + 1;
    while (len > 0 && (*line == ' ' || *line == '\t'))
        line++, len--;
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
                       line[len - 1] == ' '))
        len--;
    v = len < out_len - 1 ? len : out_len - 1;
    memcpy(out, line, v);
    out[v] = '\0';
    return true;
}

#define RETRY_AFTER_MAX_MS (86400 * (int64_t)1000)

/* A whole number of ms (retry-after-ms); -1 when not one. */
static int64_t whole_ms(const char *v)
{
    int64_t n = 0;
    size_t i;

    if (v[0] == '\0')
        return -1;
    for (i = 0; v[i] != '\0'; i++) {
        if (v[i] < '0' || v[i] > '9' || n > RETRY_AFTER_MAX_MS)
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    return n > RETRY_AFTER_MAX_MS ? -1 : n;
}

int64_t cmk_http_retry_after_ms(const char *v, int64_t now_unix)
{
    int64_t n;
    time_t t;

    if (v == NULL)
        return -1;
    n = whole_ms(v);
    if (n >= 0)
        return n > RETRY_AFTER_MAX_MS / 1000 ? -1 : n * 1000;
    t = curl_getdate(v, NULL);
    if (t <= 0)
        return -1;
    n = (int64_t)t - now_unix;
    if (n > RETRY_AFTER_MAX_MS / 1000)
        return -1;
    return n > 0 ? n * 1000 : 0;
}

/* The headers of Azure's answers: its request id, a 401's challenge,
 * the delay a 429/503 asks for. */
static void azure_headers(struct xfer *x, const char *p, size_t len)
{
    char v[64];

    take_header(p, len, "x-ms-request-id", x->ms_request_id,
                sizeof(x->ms_request_id));
    take_header(p, len, "WWW-Authenticate", x->resp->www_authenticate,
                sizeof(x->resp->www_authenticate));
    if (take_header(p, len, "retry-after-ms", v, sizeof(v)) ||
        take_header(p, len, "x-ms-retry-after-ms", v, sizeof(v)))
        x->after_ms = whole_ms(v);
    if (take_header(p, len, "Retry-After", v, sizeof(v)))
        x->after_s = cmk_http_retry_after_ms(v, (int64_t)time(NULL));
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    char date[64];
    time_t t;

    azure_headers(x, p, len);
    take_header(p, len, "x-amzn-RequestId", x->resp->request_id,
                sizeof(x->resp->request_id));
    take_header(p, len, "x-amzn-ErrorType", x->resp->error_type,
                sizeof(x->resp->error_type));
    take_header(p, len, "Metadata-Flavor", x->resp->metadata_flavor,
                sizeof(x->resp->metadata_flavor));
    take_header(p, len, "Location", x->resp->location,
                sizeof(x->resp->location));
    if (take_header(p, len, "Date", date, sizeof(date))) {
        t = curl_getdate(date, NULL);
        x->resp->date = t > 0 ? (int64_t)t : 0;
    }
    return len;
}

static void wipe_slist(struct curl_slist *l)
{
    struct curl_slist *i;

    for (i = l; i != NULL; i = i->next)
        sodium_memzero(i->data, strlen(i->data));
    curl_slist_free_all(l);
}

static cmk_err make_headers(const struct cmk_http_req *rq,
                            struct curl_slist **out)
{
    struct curl_slist *l = NULL, *t;
    size_t i;

    /* No "Expect: 100-continue" round trip for larger bodies. */
    l = curl_slist_append(l, "Expect:");
    for (i = 0; l != NULL && i < rq->n_headers; i++) {
        t = curl_slist_append(l, rq->headers[i]);
        if (t == NULL)
            wipe_slist(l); /* and l becomes NULL below */
        l = t;
    }
    *out = l;
    return l != NULL ? CMK_OK : CMK_E_NOMEM;
}

static CURLcode set_method(CURL *c, const struct cmk_http_req *rq)
{
    const char *body = rq->body != NULL ? (const char *)rq->body : "";
    CURLcode rc;

    if (strcmp(rq->method, "GET") == 0)
        return curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (strcmp(rq->method, "POST") != 0 && strcmp(rq->method, "PUT") != 0)
        return CURLE_BAD_FUNCTION_ARGUMENT;
    rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                              (curl_off_t)rq->body_len);
    if (rc == CURLE_OK && strcmp(rq->method, "PUT") == 0)
        rc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    return rc;
}

/* Options every request gets: no signals, no redirects, HTTP/1.1 (no
 * HTTP/2 streams across threads), TLS verification, timeouts. */
static CURLcode set_common(CURL *c, const struct cmk_http *h, long timeout_ms,
                           long connect_ms, char *errbuf)
{
    CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                          \
    do {                                                                       \
        if (rc == CURLE_OK)                                                    \
            rc = curl_easy_setopt(c, opt, val);                                \
    } while (0)
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_SHARE, h->share);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_USERAGENT, h->user_agent);
    if (h->ca_file != NULL)
        SET(CURLOPT_CAINFO, h->ca_file);
#undef SET
    return rc;
}

/* The smaller of the client's timeout, the request's and the time left;
 * 0 if the deadline has passed. */
static long pick_timeout(const struct cmk_http *h,
                         const struct cmk_http_req *rq)
{
    int64_t t = h->timeout_ms, left;

    if (rq->timeout_ms != 0 && rq->timeout_ms < t)
        t = rq->timeout_ms;
    if (rq->deadline_us != 0) {
        left = (rq->deadline_us - cmk_http_now_us()) / 1000;
        if (left <= 0)
            return 0;
        if (left < t)
            t = left;
    }
    return (long)t;
}

static CURLcode set_client_cert(CURL *c, const struct cmk_http_client_cert *cc)
{
    CURLcode rc;

    if (cc == NULL)
        return CURLE_OK;
    rc = curl_easy_setopt(c, CURLOPT_SSLCERT, cc->cert_file);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_SSLKEY, cc->key_file);
    return rc;
}

static cmk_err set_request(CURL *c, struct cmk_http *h,
                           const struct cmk_http_req *rq,
                           const struct cmk_http_client_cert *cc,
                           struct xfer *x, struct curl_slist *hdrs,
                           char *errbuf)
{
    long t = pick_timeout(h, rq);
    CURLcode rc;

    if (t == 0) {
        x->resp->fail = CMK_HTTP_FAIL_TIMEOUT;
        snprintf(x->resp->why, sizeof(x->resp->why), "deadline passed");
        return CMK_E_TIMEOUT;
    }
    rc = set_common(c, h, t, (long)h->connect_ms < t ? (long)h->connect_ms : t,
                    errbuf);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_URL, rq->url);
    if (rc == CURLE_OK && cmk_url_is_local(rq->url))
        rc = curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never via a proxy */
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (rc == CURLE_OK)
        rc = set_method(c, rq);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_PREREQDATA, x);
    if (rc == CURLE_OK)
        rc = set_client_cert(c, cc);
    return rc == CURLE_OK ? CMK_OK : CMK_E_ARGS;
}

/* libcurl's result as a cmk_err and a failure kind. */
static cmk_err map_curl(CURLcode rc, enum cmk_http_fail *fail)
{
    switch (rc) {
    case CURLE_OK:
        *fail = CMK_HTTP_FAIL_NONE;
        return CMK_OK;
    case CURLE_OPERATION_TIMEDOUT:
        *fail = CMK_HTTP_FAIL_TIMEOUT;
        return CMK_E_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        *fail = CMK_HTTP_FAIL_CONNECT;
        return CMK_E_NETWORK;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        *fail = CMK_HTTP_FAIL_TLS;
        return CMK_E_NETWORK;
    case CURLE_WRITE_ERROR:
        *fail = CMK_HTTP_FAIL_TOO_LARGE;
        return CMK_E_BAD_RESPONSE;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        *fail = CMK_HTTP_FAIL_URL;
        return CMK_E_CONFIG;
    default: /* send/recv errors, empty reply, cut body */
        *fail = CMK_HTTP_FAIL_IO;
        return CMK_E_NETWORK;
    }
}

static const char *fail_reason(CURLcode rc, const struct xfer *x,
                               const char *errbuf)
{
    if (x->resp->fail == CMK_HTTP_FAIL_TOO_LARGE)
        return "response body too large";
    if (x->sends > 1) /* on_prereq refused libcurl's resend */
        return "connection closed before an answer (not resent)";
    return errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
}

static cmk_err finish(CURL *c, CURLcode rc, struct xfer *x, const char *errbuf)
{
    struct cmk_http_resp *r = x->resp;
    cmk_err err = map_curl(rc, &r->fail);

    if (err != CMK_OK) {
        /* curl's message may be longer than why: cut it, knowingly. */
        snprintf(r->why, sizeof(r->why), "%.*s", (int)sizeof(r->why) - 1,
                 fail_reason(rc, x, errbuf));
        return err;
    }
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status) != CURLE_OK)
        return CMK_E_INTERNAL;
    if (r->request_id[0] == '\0')
        memcpy(r->request_id, x->ms_request_id, sizeof(r->request_id));
    r->retry_after_ms = x->after_ms >= 0 ? x->after_ms : x->after_s;
    err = cmk_sb_status(&x->body);
    if (err != CMK_OK)
        return err;
    r->body.p = (uint8_t *)x->body.p;
    r->body.len = x->body.len;
    x->body.p = NULL; /* resp owns it */
    x->body.len = x->body.cap = 0;
    return CMK_OK;
}

static bool req_ok(const struct cmk_http_req *rq)
{
    return rq != NULL && rq->method != NULL && rq->url != NULL &&
           (rq->headers != NULL || rq->n_headers == 0) &&
           (rq->body != NULL || rq->body_len == 0);
}

cmk_err cmk_http_do(struct cmk_http *h, const struct cmk_http_req *rq,
                    struct cmk_http_resp *resp)
{
    return cmk_http_do_cert(h, rq, NULL, resp);
}

cmk_err cmk_http_do_cert(struct cmk_http *h, const struct cmk_http_req *rq,
                         const struct cmk_http_client_cert *cc,
                         struct cmk_http_resp *resp)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct xfer x = {
        {NULL, 0, 0, false, CMK_HTTP_BODY_MAX}, resp, 0, -1, -1, ""};
    struct curl_slist *hdrs = NULL;
    const char *why = NULL;
    CURL *c = NULL;
    cmk_err err;

    if (resp != NULL) {
        memset(resp, 0, sizeof(*resp));
        resp->retry_after_ms = -1;
    }
    if (h == NULL || resp == NULL || !req_ok(rq) ||
        (cc != NULL && (cc->cert_file == NULL || cc->key_file == NULL)))
        return CMK_E_ARGS;
    err = cmk_url_check(rq->url, rq->url_flags, &why);
    if (err != CMK_OK) {
        resp->fail = CMK_HTTP_FAIL_URL;
        snprintf(resp->why, sizeof(resp->why), "%s", why);
        return err;
    }
    err = make_headers(rq, &hdrs);
    if (err == CMK_OK && (c = pool_get(h)) == NULL)
        err = CMK_E_NOMEM;
    if (err == CMK_OK)
        err = set_request(c, h, rq, cc, &x, hdrs, errbuf);
    if (err == CMK_OK)
        err = finish(c, curl_easy_perform(c), &x, errbuf);
    pool_put(h, c, err == CMK_OK || resp->fail == CMK_HTTP_FAIL_NONE);
    wipe_slist(hdrs);
    cmk_sb_free(&x.body);
    return err;
}

void cmk_http_resp_free(struct cmk_http_resp *resp)
{
    if (resp == NULL)
        return;
    if (resp->body.p != NULL) {
        sodium_memzero(resp->body.p, resp->body.len);
        free(resp->body.p);
    }
    memset(resp, 0, sizeof(*resp));
}
