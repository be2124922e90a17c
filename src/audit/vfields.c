/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): the field scanner for format-2 and -3 lines (they differ
 * only in the length of the mac). The header is matched byte for byte, the
 * fields after "event" are checked as JSON values written without
 * whitespace, and only chain-0 records have their control fields picked out.
 * Strings are checked with a byte class table (RFC 8259 section 7; UTF-8 per
 * RFC 3629 section 4).
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "audit/vfields.h"

#define TIME_LEN 27
#define WRITER_HEX 16
#define MAX_DEPTH 8

static const char h_time[] = "{\"time\":\"";
static const char h_writer[] = "\",\"writer\":\"";
static const char h_chain[] = "\",\"chain\":";
static const char h_seq1[] = "\",\"seq\":"; /* format 1: seq after writer */
static const char h_seq[] = ",\"seq\":";
static const char h_pid[] = ",\"pid\":";
static const char h_event[] = ",\"event\":\"";
static const char t_mac[] = ",\"mac\":\"";

#define LIT(s) (sizeof(s) - 1)

enum { C_PLAIN, C_QUOTE, C_BSLASH, C_CTRL, C_LEAD, C_BAD };

/* Byte classes inside a string: 0x00-0x1f and DEL are written escaped
 * by the writer, 0x80-0xc1 and 0xf5-0xff never start a well-formed UTF-8
 * sequence. */
static const unsigned char cls[256] = {
    [0x00 ... 0x1f] = C_CTRL, [0x20 ... 0x21] = C_PLAIN,
    [0x22] = C_QUOTE,         [0x23 ... 0x5b] = C_PLAIN,
    [0x5c] = C_BSLASH,        [0x5d ... 0x7e] = C_PLAIN,
    [0x7f] = C_CTRL,          [0x80 ... 0xc1] = C_BAD,
    [0xc2 ... 0xf4] = C_LEAD, [0xf5 ... 0xff] = C_BAD,
};

/* Bytes of a field name as the writer writes them: [a-z0-9_]. */
static const unsigned char namec[256] = {
    ['0' ... '9'] = 1,
    ['_'] = 1,
    ['a' ... 'z'] = 1,
};

/* Value of a lowercase hex digit; 0x10 for any other byte. */
static const unsigned char hexv[256] = {
    [0x00 ... 0x2f] = 0x10,
    ['0'] = 0,
    ['1'] = 1,
    ['2'] = 2,
    ['3'] = 3,
    ['4'] = 4,
    ['5'] = 5,
    ['6'] = 6,
    ['7'] = 7,
    ['8'] = 8,
    ['9'] = 9,
    [0x3a ... 0x60] = 0x10,
    ['a'] = 10,
    ['b'] = 11,
    ['c'] = 12,
    ['d'] = 13,
    ['e'] = 14,
    ['f'] = 15,
    [0x67 ... 0xff] = 0x10,
};

static int hexval(char c)
{
    unsigned char v = hexv[(unsigned char)c];

    return v < 0x10 ? v : -1;
}

/* Branch-free over the digits: one check of the or-ed values at the end
 * (this runs for every mac of every record). */
bool cmk_vfields_hex(const char *hex, size_t n, uint8_t *out)
{
    const unsigned char *h = (const unsigned char *)hex;
    unsigned bad = 0, hi, lo;
    size_t i;

    for (i = 0; i < n; i++) {
        hi = hexv[h[2 * i]];
        lo = hexv[h[2 * i + 1]];
        bad |= hi | lo;
        out[i] = (uint8_t)(hi << 4 | (lo & 0x0f));
    }
    return bad < 0x10;
}

bool cmk_vfields_mac(const char *hex, size_t n, struct cmk_vmacv *out)
{
    out->len = 0;
    if (n != 32 && n != 64)
        return false;
    if (!cmk_vfields_hex(hex, n / 2, out->b))
        return false;
    out->len = (uint8_t)(n / 2);
    return true;
}

bool cmk_vfields_mac_same(const struct cmk_vmacv *a, const struct cmk_vmacv *b)
{
    return a->len == b->len && a->len != 0 &&
           sodium_memcmp(a->b, b->b, a->len) == 0;
}

static bool writer_id(const char *hex, uint64_t *out)
{
    uint64_t v = 0;
    int d;
    size_t i;

    for (i = 0; i < WRITER_HEX; i++) {
        d = hexval(hex[i]);
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return true;
}

/* Unsigned decimal at p[*i], bounded by end; no sign, no leading zero. */
static bool uint_at(const char *p, size_t end, size_t *i, uint64_t *out)
{
    uint64_t v = 0, d;
    size_t j = *i;

    if (j >= end || p[j] < '0' || p[j] > '9')
        return false;
    if (p[j] == '0') {
        *out = 0;
        *i = j + 1;
        return j + 1 >= end || p[j + 1] < '0' || p[j + 1] > '9';
    }
    for (; j < end && p[j] >= '0' && p[j] <= '9'; j++) {
        d = (uint64_t)(p[j] - '0');
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, d, &v))
            return false;
    }
    *out = v;
    *i = j;
    return true;
}

bool cmk_vfields_uint(const struct cmk_vspan *v, uint64_t *out)
{
    size_t i = 0;

    return v->p != NULL && uint_at(v->p, v->n, &i, out) && i == v->n;
}

static bool time_ok(const char *t)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    size_t i;

    for (i = 0; i < TIME_LEN; i++) {
        if (pat[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pat[i])
            return false;
    }
    return true;
}

static bool lit(const char *p, size_t end, size_t *i, const char *s, size_t n)
{
    if (end - *i < n || memcmp(p + *i, s, n) != 0)
        return false;
    *i += n;
    return true;
}

/* One well-formed UTF-8 sequence at p[i] (lead byte already C_LEAD). */
static bool utf8_at(const unsigned char *u, size_t end, size_t *i)
{
    unsigned char lo = 0x80, hi = 0xbf, c = u[*i];
    size_t n = c <= 0xdf ? 2 : c <= 0xef ? 3 : 4, k;

    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (end - *i < n || u[*i + 1] < lo || u[*i + 1] > hi)
        return false;
    for (k = 2; k < n; k++) {
        if (u[*i + k] < 0x80 || u[*i + k] > 0xbf)
            return false;
    }
    *i += n;
    return true;
}

static bool escape_at(const char *p, size_t end, size_t *i)
{
    size_t k;

    if (end - *i < 2)
        return false;
    if (strchr("\"\\/bfnrt", p[*i + 1]) != NULL && p[*i + 1] != '\0') {
        *i += 2;
        return true;
    }
    if (p[*i + 1] != 'u' || end - *i < 6)
        return false;
    for (k = 2; k < 6; k++) {
        if (hexval(p[*i + k]) < 0 && (p[*i + k] < 'A' || p[*i + k] > 'F'))
            return false;
    }
    *i += 6;
    return true;
}

/* A string at p[*i] (its opening quote); *i ends after the closing one. */
static bool str_at(const char *p, size_t end, size_t *i)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t j = *i + 1;

    for (;;) {
        while (j < end && cls[u[j]] == C_PLAIN)
            j++;
        if (j >= end)
            return false;
        switch (cls[u[j]]) {
        case C_QUOTE:
            *i = j + 1;
            return true;
        case C_BSLASH:
            if (!escape_at(p, end, &j))
                return false;
            break;
        case C_LEAD:
            if (!utf8_at(u, end, &j))
                return false;
            break;
        default:
            return false;
        }
    }
}

static bool value_at(const char *p, size_t end, size_t *i, int depth);

/* [v,v,...] or {"k":v,...}; *i at the opening bracket. */
static bool compound_at(const char *p, size_t end, size_t *i, int depth)
{
    char close = p[*i] == '[' ? ']' : '}';
    bool obj = close == '}';

    if (depth >= MAX_DEPTH)
        return false;
    (*i)++;
    if (*i < end && p[*i] == close) {
        (*i)++;
        return true;
    }
    for (;;) {
        if (obj && (*i >= end || p[*i] != '"' || !str_at(p, end, i) ||
                    *i >= end || p[(*i)++] != ':'))
            return false;
        if (!value_at(p, end, i, depth + 1) || *i >= end)
            return false;
        if (p[*i] == close) {
            (*i)++;
            return true;
        }
        if (p[(*i)++] != ',')
            return false;
    }
}

static bool value_at(const char *p, size_t end, size_t *i, int depth)
{
    uint64_t v;

    if (*i >= end)
        return false;
    switch (p[*i]) {
    case '"':
        return str_at(p, end, i);
    case '[':
    case '{':
        return compound_at(p, end, i, depth);
    case 'n':
        return lit(p, end, i, "null", 4);
    case 't':
        return lit(p, end, i, "true", 4);
    case 'f':
        return lit(p, end, i, "false", 5);
    case '-':
        (*i)++;
        return uint_at(p, end, i, &v);
    default:
        return uint_at(p, end, i, &v);
    }
}

static const char *const names[CMK_VF__COUNT] = {
    [CMK_VF_TENANT] = "tenant",
    [CMK_VF_PROVIDER] = "provider",
    [CMK_VF_SEALED_KEY] = "sealed_key",
    [CMK_VF_FILE] = "file",
    [CMK_VF_DETAIL] = "detail",
    [CMK_VF_NEXT] = "next",
    [CMK_VF_PREV_FILE_MAC] = "prev_file_mac",
    [CMK_VF_CHAINS] = "chains",
};

/* Keys the header owns may not come again among the fields. */
static bool is_header_key(const char *k, size_t n)
{
    switch (n) {
    case 3:
        return memcmp(k, "seq", 3) == 0 || memcmp(k, "pid", 3) == 0 ||
               memcmp(k, "mac", 3) == 0;
    case 4:
        return memcmp(k, "time", 4) == 0;
    case 5:
        return memcmp(k, "chain", 5) == 0 || memcmp(k, "event", 5) == 0;
    case 6:
        return memcmp(k, "writer", 6) == 0;
    default:
        return false;
    }
}

static void pick(struct cmk_vrec *r, const char *k, size_t kn, const char *v,
                 size_t vn)
{
    size_t i;

    for (i = 0; i < CMK_VF__COUNT; i++) {
        if (strlen(names[i]) == kn && memcmp(names[i], k, kn) == 0)
            break;
    }
    if (i == CMK_VF__COUNT || r->f[i].p != NULL)
        return;
    if (v[0] == '"') {
        r->f[i].p = v + 1;
        r->f[i].n = vn - 2;
    } else {
        r->f[i].p = v;
        r->f[i].n = vn;
    }
    if (i == CMK_VF_SEALED_KEY && vn == 4 && memcmp(v, "null", 4) == 0) {
        r->f[i].p = NULL;
        r->sealed_null = true;
    }
}

/* The ,"key":value fields between "event" and "mac". */
static const char *fields(const char *p, size_t i, size_t end,
                          struct cmk_vrec *r)
{
    size_t k, v;

    while (i < end) {
        if (end - i < 4 || p[i] != ',' || p[i + 1] != '"')
            return "a field is not written as the writer writes it";
        k = i + 2;
        for (i = k; i < end && namec[(unsigned char)p[i]]; i++)
            ;
        if (i == k || end - i < 2 || p[i] != '"' || p[i + 1] != ':')
            return "a field name is not written as the writer writes it";
        if (is_header_key(p + k, i - k))
            return "a header field appears twice";
        v = i + 2;
        i = v;
        if (!value_at(p, end, &i, 0))
            return "a field value is not JSON as the writer writes it";
        if (r->chain == 0)
            pick(r, p + k, v - 2 - k, p + v, i - v);
    }
    return NULL;
}

/* ,"mac":"<32 hex>"} (format 3) or <64 hex> (format 2): hex digits
 * cannot hold the key, so at most one of the two places can. */
static const char *tail(const char *p, size_t n, struct cmk_vrec *r)
{
    size_t t = CMK_VFIELDS_TAIL3;

    if (memcmp(p + n - t, t_mac, LIT(t_mac)) != 0)
        t = CMK_VFIELDS_TAIL2;
    if (n < t + LIT(h_time) || memcmp(p + n - t, t_mac, LIT(t_mac)) != 0 ||
        p[n - 2] != '"' || p[n - 1] != '}')
        return "does not end in the \"mac\" field (a torn or cut line)";
    if (!cmk_vfields_mac(p + n - t + LIT(t_mac), t - LIT(t_mac) - 2, &r->mac))
        return "mac is not 32 or 64 lowercase hex digits";
    r->l_len = n - t;
    return NULL;
}

/* {"time":"...","writer":"..." and whether "seq" (format 1) follows. */
static const char *header_start(const char *p, size_t end, size_t *i,
                                struct cmk_vrec *r, bool *format1)
{
    if (!lit(p, end, i, h_time, LIT(h_time)) || end - *i < TIME_LEN ||
        !time_ok(p + *i))
        return "not a record: no \"time\" first";
    *i += TIME_LEN;
    if (!lit(p, end, i, h_writer, LIT(h_writer)) || end - *i < WRITER_HEX ||
        !writer_id(p + *i, &r->writer))
        return "not a record: no 16-hex \"writer\" second";
    *i += WRITER_HEX;
    *format1 =
        end - *i >= LIT(h_seq1) && memcmp(p + *i, h_seq1, LIT(h_seq1)) == 0;
    return NULL;
}

/* ,"chain":N,"seq":N,"pid":N,"event":"..." */
static const char *header_rest(const char *p, size_t end, size_t *i,
                               struct cmk_vrec *r)
{
    uint64_t pid;

    if (!lit(p, end, i, h_chain, LIT(h_chain)))
        return "not a record: no \"chain\" third";
    r->format2 = true;
    if (!uint_at(p, end, i, &r->chain) || r->chain > UINT32_MAX)
        return "not a record: \"chain\" is not a number up to 2^32-1";
    if (!lit(p, end, i, h_seq, LIT(h_seq)) || !uint_at(p, end, i, &r->seq) ||
        r->seq == 0)
        return "not a record: no positive \"seq\" fourth";
    if (!lit(p, end, i, h_pid, LIT(h_pid)) || !uint_at(p, end, i, &pid))
        return "not a record: no \"pid\" fifth";
    if (!lit(p, end, i, h_event, LIT(h_event)))
        return "not a record: no \"event\" sixth";
    r->event = p + *i;
    for (; *i < end && ((p[*i] >= 'a' && p[*i] <= 'z') || p[*i] == '_'); (*i)++)
        ;
    r->event_len = (size_t)(p + *i - r->event);
    if (r->event_len == 0 || *i >= end || p[(*i)++] != '"')
        return "not a record: \"event\" is not a lowercase name";
    return NULL;
}

enum cmk_vparse cmk_vfields_parse(const char *p, size_t n, struct cmk_vrec *r,
                                  const char **why)
{
    bool format1 = false;
    size_t i = 0, end;

    memset(r->f, 0, sizeof(r->f));
    r->sealed_null = false;
    r->format2 = false;
    *why = NULL;
    r->mac.len = 0;
    r->l_len = 0;
    if (n < CMK_VFIELDS_TAIL3 + LIT(h_time)) {
        *why = n == 0 ? "empty line" : "not a record: too short";
        return CMK_VPARSE_BAD;
    }
    *why = header_start(p, n, &i, r, &format1);
    if (*why == NULL && format1)
        return CMK_VPARSE_FORMAT1;
    if (*why == NULL)
        *why = tail(p, n, r);
    end = r->l_len;
    if (*why == NULL && i > end)
        *why = "not a record: too short";
    if (*why == NULL)
        *why = header_rest(p, end, &i, r);
    if (*why == NULL)
        *why = fields(p, i, end, r);
    return *why == NULL ? CMK_VPARSE_OK : CMK_VPARSE_BAD;
}

bool cmk_vfields_is(const struct cmk_vrec *r, const char *e)
{
    return strlen(e) == r->event_len && memcmp(r->event, e, r->event_len) == 0;
}

/* [c,s,"mac"] or ["writer",c,s,"mac"] at p[*i]. */
static bool entry_at(const char *p, size_t n, size_t *i, bool with_writer,
                     struct cmk_ventry *e)
{
    size_t k;

    e->writer = 0;
    if (!lit(p, n, i, "[", 1))
        return false;
    if (with_writer) {
        if (!lit(p, n, i, "\"", 1) || n - *i < WRITER_HEX + 2 ||
            !writer_id(p + *i, &e->writer))
            return false;
        *i += WRITER_HEX;
        if (!lit(p, n, i, "\",", 2))
            return false;
    }
    if (!uint_at(p, n, i, &e->chain) || !lit(p, n, i, ",", 1) ||
        !uint_at(p, n, i, &e->seq) || e->seq == 0 || !lit(p, n, i, ",\"", 2))
        return false;
    for (k = *i; k < n && k - *i <= 64 && p[k] != '"'; k++)
        ;
    if (!cmk_vfields_mac(p + *i, k - *i, &e->mac))
        return false;
    *i = k;
    return lit(p, n, i, "\"]", 2);
}

int cmk_vfields_chains(const struct cmk_vspan *arr, bool with_writer,
                       size_t *pos, struct cmk_ventry *e)
{
    const char *p = arr->p;
    size_t n = arr->n, i = *pos;

    if (p == NULL)
        return -1;
    if (i == 0) {
        if (n < 2 || p[0] != '[')
            return -1;
        i = 1;
        if (p[1] == ']')
            return n == 2 ? 0 : -1;
    } else {
        if (i >= n)
            return -1;
        if (p[i] == ']')
            return i + 1 == n ? 0 : -1;
        if (p[i] != ',')
            return -1;
        i++;
    }
    if (!entry_at(p, n, &i, with_writer, e))
        return -1;
    *pos = i;
    return 1;
}
