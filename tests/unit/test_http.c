/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: net/http, net/url and net/retry. A small HTTP server thread
 * in this program answers as each case needs (echo, huge body, reset,
 * stall) and counts connections, so connection reuse is visible; HTTPS
 * with the right and a wrong CA runs against the KMS emulator when the
 * program is run by emu_http.sh (skipped otherwise). Retry backoff and
 * the retry quota run on a fake clock.
 */
#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <sodium.h>

#include "emu_client.h"
#include "net/http.h"
#include "net/retry.h"

#define MUT(s) ((char *)(uintptr_t)(s))

/* ---- A test server ---- */

/* CLOSE_REUSED: every connection's first request is echoed, its second
 * read and the connection closed (FIN) without an answer, as a server
 * does that drops a kept-alive connection with a request in flight.
 * SLOW: echoed after 100 ms. */
enum mode { ECHO, HUGE, RESET, STALL, HEADERS, CLOSE_REUSED, SLOW };

static struct {
    int fd;
    int port;
    atomic_int mode;
    atomic_int accepts;
    atomic_int requests;
    pthread_t thread;
    char url[64];
} srv;

/* Reads one request (headers and Content-Length body) into buf. */
static ssize_t read_request(int c, char *buf, size_t cap)
{
    size_t got = 0, need = 0;
    char *end, *cl;
    ssize_t n;

    while (got < cap - 1) {
        n = read(c, buf + got, cap - 1 - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end == NULL)
            continue;
        cl = strcasestr(buf, "\r\nContent-Length:");
        need = (size_t)(end + 4 - buf) +
               (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        if (got >= need)
            return (ssize_t)got;
    }
    return -1;
}

static void write_all(int c, const char *p, size_t n)
{
    ssize_t w;

    while (n > 0 && (w = send(c, p, n, MSG_NOSIGNAL)) > 0) {
        p += w;
        n -= (size_t)w;
    }
}

static void answer(int c, const char *req, size_t len)
{
    static char big[CMK_HTTP_BODY_MAX + 2];
    char head[512];
    int mode = atomic_load(&srv.mode);

    if (mode == HUGE) {
        memset(big, 'a', sizeof(big));
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Length: "
                 "%zu\r\n\r\n",
                 sizeof(big));
        write_all(c, head, strlen(head));
        write_all(c, big, sizeof(big));
        return;
    }
    if (mode == STALL)
        usleep(1500000);
    if (mode == HEADERS) {
        snprintf(head, sizeof(head),
                 "HTTP/1.1 400 Bad Request\r\nx-amzn-RequestId: rid-123\r\n"
                 "X-Amzn-ErrorType: ThrottlingException:http://x/\r\n"
                 "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                 "x-ms-request-id: ms-456\r\n"
                 "WWW-Authenticate: Bearer authorization=\"https://l/t\", "
                 "resource=\"https://r\"\r\n"
                 "Retry-After: 7\r\nx-ms-retry-after-ms: 1500\r\n"
                 "Content-Length: 2\r\n\r\n{}");
        write_all(c, head, strlen(head));
        return;
    }
    snprintf(head, sizeof(head),
             "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
             "\r\n",
             len);
    write_all(c, head, strlen(head));
    write_all(c, req, len);
}

static void serve_conn(int c)
{
    struct linger lg = {1, 0};
    char buf[16384];
    ssize_t n;

    int seen = 0;

    while ((n = read_request(c, buf, sizeof(buf))) > 0) {
        atomic_fetch_add(&srv.requests, 1);
        if (atomic_load(&srv.mode) == RESET) {
            setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            break;
        }
        if (atomic_load(&srv.mode) == CLOSE_REUSED && ++seen > 1)
            break;
        if (atomic_load(&srv.mode) == SLOW)
            usleep(100 * 1000);
        answer(c, buf, (size_t)n);
    }
    close(c);
}

static void *serve_one(void *arg)
{
    serve_conn((int)(intptr_t)arg);
    return NULL;
}

static void *serve(void *arg)
{
    pthread_t t;
    int c;

    (void)arg;
    while ((c = accept(srv.fd, NULL, NULL)) >= 0) {
        atomic_fetch_add(&srv.accepts, 1);
        if (pthread_create(&t, NULL, serve_one, (void *)(intptr_t)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
    return NULL;
}

static int server_start(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(srv.fd, 16) != 0 ||
        getsockname(srv.fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    srv.port = ntohs(a.sin_port);
    snprintf(srv.url, sizeof(srv.url), "http://127.0.0.1:%d/x", srv.port);
    return pthread_create(&srv.thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

static void server_reset(enum mode m)
{
    atomic_store(&srv.mode, m);
    atomic_store(&srv.accepts, 0);
    atomic_store(&srv.requests, 0);
}

static struct cmk_http *client(unsigned timeout_ms, const char *ca)
{
    struct cmk_http_cfg cfg = {1000, timeout_ms, 3, MUT(ca)};
    struct cmk_http *h = NULL;

    assert_int_equal(cmk_http_new(&cfg, &h), CMK_OK);
    return h;
}

/* ---- HTTP ---- */

static void test_echo_and_reuse(void **state)
{
    static const char *const hdrs[] = {"Content-Type: text/plain",
                                       "X-Amz-Target: TrentService.Encrypt"};
    struct cmk_http_req rq = {
        "POST", srv.url, hdrs, 2, (const uint8_t *)"hello", 5, 0, 0, 0};
    struct cmk_http_resp r;
    struct cmk_http *h = client(5000, NULL);
    const char *b;
    int i;

    (void)state;
    server_reset(ECHO);
    for (i = 0; i < 5; i++) {
        assert_int_equal(cmk_http_do(h, &rq, &r), CMK_OK);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.fail, CMK_HTTP_FAIL_NONE);
        assert_int_equal(r.retry_after_ms, -1);
        assert_string_equal(r.www_authenticate, "");
        b = (const char *)r.body.p;
        assert_non_null(strstr(b, "POST /x HTTP/1.1\r\n"));
        assert_non_null(
            strstr(b, "\r\nX-Amz-Target: TrentService.Encrypt\r\n"));
        assert_non_null(strstr(b, "\r\nContent-Length: 5\r\n"));
        assert_null(strcasestr(b, "Expect:"));
        assert_null(strcasestr(b, "Accept-Encoding"));
        assert_int_equal(strcmp(b + r.body.len - 9, "\r\n\r\nhello"), 0);
        assert_int_equal(b[r.body.len], '\0');
        cmk_http_resp_free(&r);
    }
    assert_int_equal(atomic_load(&srv.accepts), 1); /* one connection */
    rq.method = "PUT";
    rq.body = NULL;
    rq.body_len = 0;
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_OK);
    assert_non_null(strstr((const char *)r.body.p, "PUT /x HTTP/1.1\r\n"));
    assert_non_null(strstr((const char *)r.body.p, "Content-Length: 0\r\n"));
    cmk_http_resp_free(&r);
    rq.method = "GET";
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_OK);
    assert_non_null(strstr((const char *)r.body.p, "GET /x HTTP/1.1\r\n"));
    cmk_http_resp_free(&r);
    rq.method = "DELETE";
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_ARGS);
    cmk_http_free(h);
}

/* Every request names the module and its version, in the AWS SDKs'
 * form. */
static void test_user_agent(void **state)
{
    struct cmk_http_req rq = {"GET", srv.url, NULL, 0, NULL, 0, 0, 0, 0};
    struct cmk_http_resp r;
    struct cmk_http *h = client(5000, NULL);
    char want[160];

    (void)state;
    snprintf(want, sizeof(want),
             "\r\nUser-Agent: cmk-pkcs11/%s os/linux lang/c md/curl#%s\r\n",
             PACKAGE_VERSION, curl_version_info(CURLVERSION_NOW)->version);
    server_reset(ECHO);
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_OK);
    assert_non_null(strstr((const char *)r.body.p, want));
    cmk_http_resp_free(&r);
    cmk_http_free(h);
}

/* A request leaves at most once per cmk_http_do: when a kept-alive
 * connection dies with the request in flight, libcurl would send it
 * again on a new connection by itself; that send is refused, so the
 * retry policy counts every request the server sees. */
static void test_no_silent_resend(void **state)
{
    struct cmk_http_req rq = {"POST", srv.url, NULL, 0, (const uint8_t *)"x",
                              1,      0,       0,    0};
    struct cmk_http_resp r;
    struct cmk_http *h = client(5000, NULL);

    (void)state;
    server_reset(CLOSE_REUSED);
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_OK); /* kept alive */
    cmk_http_resp_free(&r);
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_NETWORK);
    assert_int_equal(r.fail, CMK_HTTP_FAIL_IO);
    assert_string_equal(r.why,
                        "connection closed before an answer (not resent)");
    /* (libcurl may have connected again before it asked to send: a
     * second connection, but no request on it) */
    assert_int_equal(atomic_load(&srv.requests), 2);
    cmk_http_resp_free(&r);
    /* the next exchange opens a new connection and is answered */
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_OK);
    assert_int_equal(atomic_load(&srv.requests), 3);
    cmk_http_resp_free(&r);
    /* a server that resets every request: one request per exchange */
    server_reset(ECHO);
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_OK);
    cmk_http_resp_free(&r);
    server_reset(RESET);
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_NETWORK);
    assert_int_equal(atomic_load(&srv.requests), 1);
    cmk_http_resp_free(&r);
    cmk_http_free(h);
}

static void test_headers_captured(void **state)
{
    struct cmk_http_req rq = {"GET", srv.url, NULL, 0, NULL, 0, 0, 0, 0};
    struct cmk_http_resp r;
    struct cmk_http *h = client(5000, NULL);

    (void)state;
    server_reset(HEADERS);
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_OK);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.request_id, "rid-123");
    assert_string_equal(r.error_type, "ThrottlingException:http://x/");
    assert_int_equal(r.date, 784111777);
    assert_int_equal(r.body.len, 2);
    /* x-amzn-RequestId wins over x-ms-request-id; the ms header over
     * Retry-After */
    assert_string_equal(r.www_authenticate,
                        "Bearer authorization=\"https://l/t\", "
                        "resource=\"https://r\"");
    assert_int_equal(r.retry_after_ms, 1500);
    cmk_http_resp_free(&r);
    cmk_http_free(h);
}

static void test_body_cap(void **state)
{
    struct cmk_http_req rq = {"GET", srv.url, NULL, 0, NULL, 0, 0, 0, 0};
    struct cmk_http_resp r;
    struct cmk_http *h = client(10000, NULL);

    (void)state;
    server_reset(HUGE);
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_BAD_RESPONSE);
    assert_int_equal(r.fail, CMK_HTTP_FAIL_TOO_LARGE);
    assert_null(r.body.p);
    assert_string_equal(r.why, "response body too large");
    cmk_http_resp_free(&r);
    cmk_http_free(h);
}

static void test_reset_and_refused(void **state)
{
    struct cmk_http_req rq = {"GET", srv.url, NULL, 0, NULL, 0, 0, 0, 0};
    struct cmk_http_resp r;
    struct cmk_http *h = client(5000, NULL);

    (void)state;
    server_reset(RESET);
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_NETWORK);
    assert_int_equal(r.fail, CMK_HTTP_FAIL_IO);
    assert_int_equal(r.status, 0);
    cmk_http_resp_free(&r);
    rq.url = "http://127.0.0.1:1/"; /* nobody listens on port 1 */
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_NETWORK);
    assert_int_equal(r.fail, CMK_HTTP_FAIL_CONNECT);
    assert_true(r.why[0] != '\0');
    cmk_http_resp_free(&r);
    cmk_http_free(h);
}

static void test_timeouts(void **state)
{
    struct cmk_http_req rq = {"GET", srv.url, NULL, 0, NULL, 0, 0, 0, 0};
    struct cmk_http_resp r;
    struct cmk_http *h = client(300, NULL);
    int64_t t0;

    (void)state;
    server_reset(STALL);
    t0 = cmk_http_now_us();
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_TIMEOUT);
    assert_int_equal(r.fail, CMK_HTTP_FAIL_TIMEOUT);
    assert_true(cmk_http_now_us() - t0 < 1200000);
    cmk_http_resp_free(&r);
    cmk_http_free(h);
    h = client(10000, NULL);
    rq.deadline_us = cmk_http_now_us() + 200000; /* the deadline wins */
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_TIMEOUT);
    cmk_http_resp_free(&r);
    server_reset(ECHO);
    rq.deadline_us = cmk_http_now_us() - 1;
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_TIMEOUT);
    assert_string_equal(r.why, "deadline passed");
    assert_int_equal(atomic_load(&srv.requests), 0);
    cmk_http_resp_free(&r);
    cmk_http_free(h);
}

static void test_url_policy(void **state)
{
    struct cmk_http_req rq = {
        "GET", "http://192.0.2.7/", NULL, 0, NULL, 0, 0, 0, 0};
    struct cmk_http_resp r;
    struct cmk_http *h = client(5000, NULL);
    const char *why = NULL;

    (void)state;
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_CONFIG);
    assert_int_equal(r.fail, CMK_HTTP_FAIL_URL);
    cmk_http_resp_free(&r);
    assert_int_equal(
        cmk_url_check("https://kms.eu-west-1.amazonaws.com/", 0, &why), CMK_OK);
    assert_int_equal(cmk_url_check("http://127.0.0.1:4566", 0, &why), CMK_OK);
    assert_int_equal(cmk_url_check("http://LOCALHOST/", 0, &why), CMK_OK);
    assert_int_equal(cmk_url_check("http://[::1]:8080/", 0, &why), CMK_OK);
    assert_int_equal(cmk_url_check("http://127.0.0.2/", 0, &why), CMK_E_CONFIG);
    assert_int_equal(cmk_url_check("http://169.254.169.254/", 0, &why),
                     CMK_E_CONFIG);
    assert_int_equal(
        cmk_url_check("http://169.254.169.254/", CMK_URL_METADATA_HTTP, &why),
        CMK_OK);
    assert_int_equal(
        cmk_url_check("http://[fd00:ec2::254]/", CMK_URL_METADATA_HTTP, &why),
        CMK_OK);
    assert_int_equal(cmk_url_check("http://169.254.170.2/v2/creds",
                                   CMK_URL_METADATA_HTTP, &why),
                     CMK_OK);
    assert_int_equal(cmk_url_check("ftp://127.0.0.1/", 0, &why), CMK_E_CONFIG);
    assert_string_equal(why, "only https (or http to this host) is allowed");
    assert_int_equal(cmk_url_check("kms.amazonaws.com", 0, &why), CMK_E_CONFIG);
    assert_string_equal(why, "not an absolute http(s) URL");
    assert_int_equal(cmk_url_check(NULL, 0, &why), CMK_E_ARGS);
    assert_true(cmk_url_is_local("http://127.0.0.1:9/"));
    assert_true(cmk_url_is_local("http://169.254.169.254/"));
    assert_false(cmk_url_is_local("https://kms.us-east-1.amazonaws.com/"));
    cmk_http_free(h);
}

struct job {
    struct cmk_http *h;
    int ok;
};

static void *hammer(void *arg)
{
    struct job *j = arg;
    struct cmk_http_req rq = {"POST", srv.url, NULL, 0, (const uint8_t *)"x",
                              1,      0,       0,    0};
    struct cmk_http_resp r;
    int i;

    for (i = 0; i < 25; i++) {
        if (cmk_http_do(j->h, &rq, &r) == CMK_OK && r.status == 200)
            j->ok++;
        cmk_http_resp_free(&r);
    }
    return NULL;
}

/* Threads share one client; connections are reused, at most one per
 * thread in flight. */
static void test_threads(void **state)
{
    struct cmk_http *h = client(5000, NULL);
    struct job j[6];
    pthread_t t[6];
    int i;

    (void)state;
    server_reset(ECHO);
    for (i = 0; i < 6; i++) {
        j[i].h = h;
        j[i].ok = 0;
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &j[i]), 0);
    }
    for (i = 0; i < 6; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(j[i].ok, 25);
    }
    assert_int_equal(atomic_load(&srv.requests), 150);
    assert_true(atomic_load(&srv.accepts) <= 6);
    cmk_http_free(h);
}

/* Threads keep their connections: handles that come back from requests
 * made at once are kept for the next ones, not closed because more than
 * a few are idle together (each new connection to a KMS is a TCP and TLS
 * handshake; under 32 threads the pool once churned hundreds). The slow
 * server holds every answer so that all threads are in flight at once. */
#define MANY_THREADS 16
struct round {
    struct cmk_http *h;
    pthread_barrier_t *bar;
    int ok;
};

static void *two_rounds(void *arg)
{
    struct round *j = arg;
    struct cmk_http_req rq = {"POST", srv.url, NULL, 0, (const uint8_t *)"x",
                              1,      0,       0,    0};
    struct cmk_http_resp r;
    int i;

    for (i = 0; i < 2; i++) {
        pthread_barrier_wait(j->bar);
        if (cmk_http_do(j->h, &rq, &r) == CMK_OK && r.status == 200)
            j->ok++;
        cmk_http_resp_free(&r);
    }
    return NULL;
}

static void test_many_threads_reuse(void **state)
{
    struct cmk_http *h = client(5000, NULL);
    struct round j[MANY_THREADS];
    pthread_t t[MANY_THREADS];
    pthread_barrier_t bar;
    int i;

    (void)state;
    server_reset(SLOW);
    pthread_barrier_init(&bar, NULL, MANY_THREADS);
    for (i = 0; i < MANY_THREADS; i++) {
        j[i] = (struct round){h, &bar, 0};
        assert_int_equal(pthread_create(&t[i], NULL, two_rounds, &j[i]), 0);
    }
    for (i = 0; i < MANY_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(j[i].ok, 2);
    }
    pthread_barrier_destroy(&bar);
    if (atomic_load(&srv.accepts) > MANY_THREADS)
        fail_msg("%d connections for %d threads", atomic_load(&srv.accepts),
                 MANY_THREADS);
    cmk_http_free(h);
}

/* ---- TLS (emulator) ---- */

/* A handshake takes seconds under valgrind (make check-memcheck), and
 * libcurl's connect timeout covers it. */
static struct cmk_http *tls_client(const char *ca)
{
    unsigned ms = getenv("CMK_MEMCHECK") != NULL ? 60000 : 5000;
    struct cmk_http_cfg cfg = {ms, ms, 3, MUT(ca)};
    struct cmk_http *h = NULL;

    assert_int_equal(cmk_http_new(&cfg, &h), CMK_OK);
    return h;
}

static void test_tls(void **state)
{
    struct cmk_http_req rq = {"POST", NULL, NULL, 0, (const uint8_t *)"{}",
                              2,      0,    0,    0};
    struct cmk_http_resp r;
    struct cmk_http *h;
    char url[300];

    (void)state;
    if (emu_https_url() == NULL)
        skip();
    snprintf(url, sizeof(url), "%s/_emulator/status", emu_https_url());
    rq.url = url;
    h = tls_client(emu_ca());
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_OK);
    assert_int_equal(r.status, 200);
    cmk_http_resp_free(&r);
    cmk_http_free(h);
    h = tls_client(emu_wrong_ca());
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_NETWORK);
    assert_int_equal(r.fail, CMK_HTTP_FAIL_TLS);
    cmk_http_resp_free(&r);
    cmk_http_free(h);
    h = tls_client("/nonexistent/ca.pem");
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_E_NETWORK);
    assert_int_equal(r.fail, CMK_HTTP_FAIL_TLS);
    cmk_http_resp_free(&r);
    cmk_http_free(h);
}

/* ---- Retries ---- */

struct fake {
    int64_t now;
    int64_t slept;
    unsigned sleeps;
    double jitter; /* what the jitter source answers */
    int64_t first; /* the first sleep */
};

static int64_t fake_now(void *arg)
{
    return ((struct fake *)arg)->now;
}

static void fake_sleep(void *arg, int64_t us)
{
    struct fake *f = arg;

    f->now += us;
    f->slept += us;
    if (f->sleeps++ == 0)
        f->first = us;
}

static double fake_jitter(void *arg)
{
    return ((struct fake *)arg)->jitter;
}

/* An attempt that fails with class cls until try number ok_at. */
struct script {
    enum cmk_retry_class cls;
    unsigned ok_at;
    unsigned calls;
};

static cmk_err scripted(void *arg, unsigned n, int64_t deadline_us,
                        enum cmk_retry_class *cls)
{
    struct script *s = arg;

    (void)deadline_us;
    s->calls++;
    assert_int_equal(n, s->calls);
    if (n >= s->ok_at)
        return CMK_OK;
    *cls = s->cls;
    return s->cls == CMK_RETRY_THROTTLE || s->cls == CMK_RETRY_THROTTLE_SLOW
               ? CMK_E_THROTTLED
               : CMK_E_NETWORK;
}

static void test_backoff(void **state)
{
    struct cmk_retry_policy p = {3, 100, 20000, 0};

    (void)state;
    assert_int_equal(cmk_retry_backoff_us(&p, 1, 1.0), 100000);
    assert_int_equal(cmk_retry_backoff_us(&p, 2, 1.0), 200000);
    assert_int_equal(cmk_retry_backoff_us(&p, 3, 0.5), 200000);
    assert_int_equal(cmk_retry_backoff_us(&p, 1, 0.0), 0);
    assert_int_equal(cmk_retry_backoff_us(&p, 20, 1.0), 20000000); /* cap */
    assert_int_equal(cmk_retry_backoff_us(&p, 400, 1.0), 20000000);
    assert_int_equal(cmk_retry_backoff_us(&p, 2, 7.0), 200000); /* clamped */
}

static void test_retry_run(void **state)
{
    struct cmk_retry_policy p = {3, 100, 20000, 0};
    struct fake f = {1000, 0, 0, 0, 0};
    struct cmk_retry_clock clk = {fake_now, fake_sleep, &f, NULL};
    struct cmk_retry_quota q;
    struct script s = {CMK_RETRY_THROTTLE, 3, 0};

    (void)state;
    assert_int_equal(cmk_retry_quota_init(&q), CMK_OK);
    assert_int_equal(cmk_retry_run(&p, &q, &clk, 0, scripted, &s), CMK_OK);
    assert_int_equal(s.calls, 3);
    assert_int_equal(f.sleeps, 2);
    assert_true(f.slept <= 300000); /* full jitter: at most 100 + 200 ms */
    /* two retries took 5 + 5; the success gives back what the last one
     * cost (botocore's RetryQuotaChecker) */
    assert_int_equal(cmk_retry_quota_left(&q), 495);
    /* out of attempts: the last error */
    s = (struct script){CMK_RETRY_TRANSIENT, 99, 0};
    assert_int_equal(cmk_retry_run(&p, &q, &clk, 0, scripted, &s),
                     CMK_E_NETWORK);
    assert_int_equal(s.calls, 3);
    assert_int_equal(cmk_retry_quota_left(&q), 485);
    /* not retryable: one call */
    s = (struct script){CMK_RETRY_NO, 99, 0};
    assert_int_equal(cmk_retry_run(&p, &q, &clk, 0, scripted, &s),
                     CMK_E_NETWORK);
    assert_int_equal(s.calls, 1);
    /* a timeout costs 10 */
    s = (struct script){CMK_RETRY_TIMEOUT, 2, 0};
    assert_int_equal(cmk_retry_run(&p, &q, &clk, 0, scripted, &s), CMK_OK);
    assert_int_equal(cmk_retry_quota_left(&q), 485); /* -10 then +10 */
    assert_int_equal(cmk_retry_run(NULL, &q, &clk, 0, scripted, &s),
                     CMK_E_ARGS);
    cmk_retry_quota_fini(&q);
}

/* An outage drains the quota; then calls fail at once, with no retry. */
static void test_retry_quota(void **state)
{
    struct cmk_retry_policy p = {3, 100, 20000, 0};
    struct fake f = {1000, 0, 0, 0, 0};
    struct cmk_retry_clock clk = {fake_now, fake_sleep, &f, NULL};
    struct cmk_retry_quota q;
    struct script s;
    int i;

    (void)state;
    assert_int_equal(cmk_retry_quota_init(&q), CMK_OK);
    for (i = 0; i < 50; i++) {
        s = (struct script){CMK_RETRY_TRANSIENT, 99, 0};
        assert_int_equal(cmk_retry_run(&p, &q, &clk, 0, scripted, &s),
                         CMK_E_NETWORK);
        assert_int_equal(s.calls, 3);
    }
    assert_int_equal(cmk_retry_quota_left(&q), 0);
    s = (struct script){CMK_RETRY_TRANSIENT, 99, 0};
    assert_int_equal(cmk_retry_run(&p, &q, &clk, 0, scripted, &s),
                     CMK_E_NETWORK);
    assert_int_equal(s.calls, 1); /* no retry left */
    s = (struct script){CMK_RETRY_TRANSIENT, 1, 0};
    assert_int_equal(cmk_retry_run(&p, &q, &clk, 0, scripted, &s), CMK_OK);
    assert_int_equal(cmk_retry_quota_left(&q), 1); /* successes refill */
    cmk_retry_quota_give(&q, 10000);
    assert_int_equal(cmk_retry_quota_left(&q), CMK_RETRY_QUOTA_MAX);
    cmk_retry_quota_fini(&q);
}

/* The budget bounds attempts plus backoff. */
static void test_retry_budget(void **state)
{
    struct cmk_retry_policy p = {10, 1000, 20000, 1500};
    struct fake f = {1000, 0, 0, 0, 0};
    struct cmk_retry_clock clk = {fake_now, fake_sleep, &f, NULL};
    struct script s = {CMK_RETRY_TRANSIENT, 99, 0};

    (void)state;
    assert_int_equal(cmk_retry_run(&p, NULL, &clk, 0, scripted, &s),
                     CMK_E_NETWORK);
    assert_true(s.calls < 10);
    assert_true(f.slept < 1500000);
}

/* A quota enforced per second: the wait is 1 s plus the usual backoff
 * with its jitter, each retry (fake clock, fixed jitter: exact sleeps). */
static void test_retry_throttle_slow(void **state)
{
    struct cmk_retry_policy p = {3, 100, 20000, 0};
    struct fake f = {1000, 0, 0, 0.25, 0};
    struct cmk_retry_clock clk = {fake_now, fake_sleep, &f, fake_jitter};
    struct cmk_retry_quota q;
    struct script s = {CMK_RETRY_THROTTLE_SLOW, 3, 0};

    (void)state;
    assert_int_equal(cmk_retry_delay_us(&p, CMK_RETRY_THROTTLE_SLOW, 1, 0.0),
                     1000000);
    assert_int_equal(cmk_retry_delay_us(&p, CMK_RETRY_THROTTLE_SLOW, 2, 1.0),
                     1200000);
    assert_int_equal(cmk_retry_delay_us(&p, CMK_RETRY_THROTTLE, 1, 1.0),
                     100000);
    assert_int_equal(cmk_retry_delay_us(&p, CMK_RETRY_TRANSIENT, 2, 0.5),
                     100000);
    assert_int_equal(cmk_retry_quota_init(&q), CMK_OK);
    assert_int_equal(cmk_retry_run(&p, &q, &clk, 0, scripted, &s), CMK_OK);
    assert_int_equal(s.calls, 3);
    assert_int_equal(f.sleeps, 2);
    assert_int_equal(f.first, 1000000 + 25000); /* 1 s + 0.25 * 100 ms */
    assert_int_equal(f.slept,
                     1025000 + 1000000 + 50000);     /* + 1 s + 0.25 * 200 */
    assert_int_equal(cmk_retry_quota_left(&q), 495); /* as throttling */
    /* the plain throttling class keeps the 100 ms base */
    f = (struct fake){1000, 0, 0, 0.25, 0};
    s = (struct script){CMK_RETRY_THROTTLE, 2, 0};
    assert_int_equal(cmk_retry_run(&p, &q, &clk, 0, scripted, &s), CMK_OK);
    assert_int_equal(f.slept, 25000);
    cmk_retry_quota_fini(&q);
}

/* A budget the one-second wait does not fit: the throttling error at
 * once, without sleeping. */
static void test_retry_throttle_slow_budget(void **state)
{
    struct cmk_retry_policy p = {3, 100, 20000, 1000};
    struct fake f = {1000, 0, 0, 0.0, 0};
    struct cmk_retry_clock clk = {fake_now, fake_sleep, &f, fake_jitter};
    struct script s = {CMK_RETRY_THROTTLE_SLOW, 3, 0};

    (void)state;
    /* 1 s exactly does not fit a 1 s budget (the attempt took none) */
    assert_int_equal(cmk_retry_run(&p, NULL, &clk, 0, scripted, &s),
                     CMK_E_THROTTLED);
    assert_int_equal(s.calls, 1);
    assert_int_equal(f.sleeps, 0);
    /* an explicit deadline 1.2 s away fits the first wait, not the next */
    f = (struct fake){1000, 0, 0, 0.5, 0};
    s = (struct script){CMK_RETRY_THROTTLE_SLOW, 3, 0};
    p.budget_ms = 0;
    assert_int_equal(
        cmk_retry_run(&p, NULL, &clk, 1000 + 1200000, scripted, &s),
        CMK_E_THROTTLED);
    assert_int_equal(s.calls, 2);
    assert_int_equal(f.sleeps, 1);
    assert_int_equal(f.first, 1050000);
}

/* An attempt that asks, through its arg, for a wait before the next try
 * (a server's Retry-After), then succeeds at try ok_at. */
struct hinted {
    unsigned ok_at;
    unsigned calls;
    int64_t ask_us;
    int64_t *after_us;
};

static cmk_err hinting(void *arg, unsigned n, int64_t deadline_us,
                       enum cmk_retry_class *cls)
{
    struct hinted *h = arg;

    (void)deadline_us;
    h->calls++;
    assert_int_equal(*h->after_us, 0); /* reset before each attempt */
    if (n >= h->ok_at)
        return CMK_OK;
    *h->after_us = h->ask_us;
    *cls = CMK_RETRY_THROTTLE;
    return CMK_E_THROTTLED;
}

/* The hint is waited when longer than the backoff, capped at
 * max_backoff; the backoff when it is longer; a hint past the deadline
 * fails the call at once. */
static void test_retry_hinted(void **state)
{
    struct cmk_retry_policy p = {3, 100, 20000, 0};
    struct fake f = {1000, 0, 0, 0.5, 0};
    struct cmk_retry_clock clk = {fake_now, fake_sleep, &f, fake_jitter};
    int64_t after = -7;
    struct hinted h = {2, 0, 3000000, &after};

    (void)state;
    assert_int_equal(
        cmk_retry_run_hinted(&p, NULL, &clk, 0, hinting, &h, &after), CMK_OK);
    assert_int_equal(h.calls, 2);
    assert_int_equal(f.first, 3000000);
    /* shorter than the backoff (0.5 * 100 ms): the backoff */
    f = (struct fake){1000, 0, 0, 0.5, 0};
    h = (struct hinted){2, 0, 1000, &after};
    assert_int_equal(
        cmk_retry_run_hinted(&p, NULL, &clk, 0, hinting, &h, &after), CMK_OK);
    assert_int_equal(f.first, 50000);
    /* over max_backoff: capped */
    f = (struct fake){1000, 0, 0, 0.5, 0};
    h = (struct hinted){2, 0, 90000000, &after};
    assert_int_equal(
        cmk_retry_run_hinted(&p, NULL, &clk, 0, hinting, &h, &after), CMK_OK);
    assert_int_equal(f.first, 20000000);
    /* past the deadline: the throttling error at once, no sleep */
    f = (struct fake){1000, 0, 0, 0.5, 0};
    h = (struct hinted){3, 0, 5000000, &after};
    assert_int_equal(cmk_retry_run_hinted(&p, NULL, &clk, 1000 + 4000000,
                                          hinting, &h, &after),
                     CMK_E_THROTTLED);
    assert_int_equal(h.calls, 1);
    assert_int_equal(f.sleeps, 0);
}

/* Retry-After: delay seconds or an HTTP-date (RFC 9110 10.2.3). */
static void test_retry_after_value(void **state)
{
    (void)state;
    assert_int_equal(cmk_http_retry_after_ms("3", 0), 3000);
    assert_int_equal(cmk_http_retry_after_ms("0", 0), 0);
    assert_int_equal(
        cmk_http_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 5),
        5000);
    assert_int_equal(
        cmk_http_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 5),
        0);
    assert_int_equal(cmk_http_retry_after_ms("-1", 0), -1);
    assert_int_equal(cmk_http_retry_after_ms("1.5", 0), -1);
    assert_int_equal(cmk_http_retry_after_ms("", 0), -1);
    assert_int_equal(cmk_http_retry_after_ms("99999999999", 0), -1);
    assert_int_equal(cmk_http_retry_after_ms(NULL, 0), -1);
}

static int group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    return server_start();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_and_reuse),
        cmocka_unit_test(test_user_agent),
        cmocka_unit_test(test_no_silent_resend),
        cmocka_unit_test(test_headers_captured),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_reset_and_refused),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_url_policy),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_many_threads_reuse),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_retry_run),
        cmocka_unit_test(test_retry_throttle_slow),
        cmocka_unit_test(test_retry_throttle_slow_budget),
        cmocka_unit_test(test_retry_quota),
        cmocka_unit_test(test_retry_budget),
        cmocka_unit_test(test_retry_hinted),
        cmocka_unit_test(test_retry_after_value),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL) != 0 ? 1 : 0;
}
