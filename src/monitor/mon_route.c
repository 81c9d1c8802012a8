/* SPDX-License-Identifier: MIT
 *
 * mon_route.c: request routing and the small parsers of the monitor's
 * HTTP server (mon_route.h). Input is hostile: bounded, no recursion,
 * nothing but fixed buffers.
 */
#include "monitor/mon_route.h"
#include "core/sq_error.h"
#include "core/sq_url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SEGS 6

/* An id segment: 1..64 bytes of [A-Za-z0-9_.:-]. */
static bool
valid_id(const char *s, size_t n)
{
    if (n == 0 || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
              c == ':')) {
            return false;
        }
    }
    return !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

static bool
seg_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

int
sq_mon_route_parse(const char *method, const char *path, struct sq_route *out)
{
    const char *seg[MAX_SEGS];
    size_t len[MAX_SEGS];
    int n = 0;
    const char *p;
    bool get, post;

    memset(out, 0, sizeof *out);
    out->kind = SQ_R_NOT_FOUND;
    if (method == NULL || path == NULL || path[0] != '/') {
        return 400;
    }
    if (strlen(path) > 1024) {
        return 400;
    }
    for (p = path; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
            return 400;
        }
    }
    get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    post = strcmp(method, "POST") == 0;
    p = path + 1;
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t l = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (l == 0) {
            if (slash == NULL) {
                break; /* trailing slash */
            }
            return 400;  /* "//" */
        }
        if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.')) {
            return 400;
        }
        if (n == MAX_SEGS) {
            return 404;
        }
        seg[n] = p;
        len[n] = l;
        n++;
        p += l;
        if (*p == '/') {
            p++;
        }
    }
    if (n == 0) {
        out->kind = SQ_R_INDEX;
        return get ? 0 : 405;
    }
    if (n == 1 && seg_is(seg[0], len[0], "index.html")) {
        out->kind = SQ_R_INDEX;
        return get ? 0 : 405;
    }
    if (n == 1 && seg_is(seg[0], len[0], "metrics")) {
        out->kind = SQ_R_METRICS;
        return get ? 0 : 405;
    }
    if (n == 1 && seg_is(seg[0], len[0], "healthz")) {
        out->kind = SQ_R_LIVE;
        return get ? 0 : 405;
    }
    if (n == 1 && seg_is(seg[0], len[0], "readyz")) {
        out->kind = SQ_R_READY;
        return get ? 0 : 405;
    }
    if (n == 2 && seg_is(seg[0], len[0], "static")) {
        if (!valid_id(seg[1], len[1])) {
            return 400;
        }
        memcpy(out->arg, seg[1], len[1]);
        out->kind = SQ_R_STATIC;
        return get ? 0 : 405;
    }
    if (!seg_is(seg[0], len[0], "api") || n < 2) {
        return 404;
    }
    if (n == 2) {
        static const struct {
            const char *w;
            int kind;
        } simple[] = {{"health", SQ_R_HEALTH},   {"overview", SQ_R_OVERVIEW},
                      {"queues", SQ_R_QUEUES},   {"workers", SQ_R_WORKERS},
                      {"tasks", SQ_R_TASKS},     {"batches", SQ_R_BATCHES},
                      {"schedules", SQ_R_SCHEDULES},
                      {"alerts", SQ_R_ALERTS}};
        for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
            if (seg_is(seg[1], len[1], simple[i].w)) {
                out->kind = simple[i].kind;
                return get ? 0 : 405;
            }
        }
        return 404;
    }
    if (seg_is(seg[1], len[1], "tasks") || seg_is(seg[1], len[1], "batches")) {
        bool tasks = seg_is(seg[1], len[1], "tasks");
        if (!valid_id(seg[2], len[2])) {
            return 400;
        }
        memcpy(out->arg, seg[2], len[2]);
        if (n == 3) {
            out->kind = tasks ? SQ_R_TASK : SQ_R_BATCH;
            return get ? 0 : 405;
        }
        if (n == 4 && tasks) {
            if (seg_is(seg[3], len[3], "cancel")) {
                out->kind = SQ_R_TASK_CANCEL;
            } else if (seg_is(seg[3], len[3], "retry")) {
                out->kind = SQ_R_TASK_RETRY;
            } else if (seg_is(seg[3], len[3], "resume")) {
                out->kind = SQ_R_TASK_RESUME;
            } else {
                out->arg[0] = '\0';
                return 404;
            }
            return post ? 0 : 405;
        }
    }
    out->arg[0] = '\0';
    out->kind = SQ_R_NOT_FOUND;
    return 404;
}

int
sq_mon_listen_parse(const char *s, struct sq_listen *out, syncq_error *err)
{
    const char *colon;
    char host[80];
    size_t hl;
    char *end;
    long port;
    unsigned char buf[16];

    memset(out, 0, sizeof *out);
    if (s == NULL || s[0] == '\0' || strlen(s) > 80) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "listen address must be HOST:PORT (127.0.0.1:5555)");
    }
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':') {
            return sq_fail(err, SYNCQ_EINVAL,
                           "listen address '%.80s': expected [IPv6]:PORT", s);
        }
        hl = (size_t)(rb - s - 1);
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        colon = rb + 1;
        out->ipv6 = true;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "listen address '%.80s' has no :PORT", s);
        }
        hl = (size_t)(colon - s);
        if (hl >= sizeof host) {
            return sq_fail(err, SYNCQ_EINVAL, "listen host too long");
        }
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (memchr(host, ':', hl) != NULL) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "listen address '%.80s': put IPv6 in brackets", s);
        }
    }
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "listen port '%.16s' is not 0..65535", colon + 1);
    }
    out->port = (int)port;
    if (strcasecmp(host, "localhost") == 0) {
        snprintf(host, sizeof host, "127.0.0.1");
    }
    if (host[0] == '\0') {
        out->loopback = false; /* all interfaces */
        return SYNCQ_OK;
    }
    if (out->ipv6) {
        if (inet_pton(AF_INET6, host, buf) != 1) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "listen host '%.64s' is not an IPv6 address", host);
        }
        out->loopback = strcmp(host, "::1") == 0;
    } else {
        if (inet_pton(AF_INET, host, buf) != 1) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "listen host '%.64s' is not an IPv4 address "
                           "(give an address, not a name)",
                           host);
        }
        out->loopback = buf[0] == 127;
    }
    snprintf(out->host, sizeof out->host, "%s", host);
    return SYNCQ_OK;
}

/* Constant-time comparison of a candidate of length n with the token. */
static bool
same(const char *token, const char *cand, size_t n)
{
    size_t tl = strlen(token);
    unsigned char diff = (unsigned char)(tl != n);

    for (size_t i = 0; i < tl; i++) {
        unsigned char c = i < n ? (unsigned char)cand[i] : 0;
        diff |= (unsigned char)(c ^ (unsigned char)token[i]);
    }
    return diff == 0;
}

bool
sq_mon_token_ok(const char *token, const char *auth, const char *query,
                const char *cookie)
{
    if (token == NULL || token[0] == '\0') {
        return true;
    }
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *t = auth + 7;
        while (*t == ' ') {
            t++;
        }
        if (same(token, t, strcspn(t, " \t"))) {
            return true;
        }
    }
    if (query != NULL && same(token, query, strlen(query))) {
        return true;
    }
    if (cookie != NULL) {
        const char *p = cookie;
        while (p != NULL && *p != '\0') {
            while (*p == ' ' || *p == ';') {
                p++;
            }
            if (strncmp(p, "syncq_token=", 12) == 0) {
                const char *v = p + 12;
                if (same(token, v, strcspn(v, ";"))) {
                    return true;
                }
            }
            p = strchr(p, ';');
        }
    }
    return false;
}

bool
sq_mon_host_is_loopback(const char *host)
{
    char h[80];
    size_t n;

    if (host == NULL || host[0] == '\0' || strlen(host) >= sizeof h) {
        return false;
    }
    if (host[0] == '[') {
        return strncmp(host, "[::1]", 5) == 0 &&
               (host[5] == '\0' || host[5] == ':');
    }
    n = strcspn(host, ":");
    memcpy(h, host, n);
    h[n] = '\0';
    if (strcasecmp(h, "localhost") == 0) {
        return true;
    }
    {
        unsigned char buf[4];
        return inet_pton(AF_INET, h, buf) == 1 && buf[0] == 127;
    }
}

size_t
sq_mon_unescape(char *s)
{
    char *w = s;

    for (const char *r = s; *r != '\0'; r++) {
        if (r[0] == '%' && sq_hexval(r[1]) == 0 && sq_hexval(r[2]) == 0) {
            return strlen(s);
        }
    }
    for (const char *r = s; *r != '\0'; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = sq_hexval(r[1])) >= 0 &&
            (lo = sq_hexval(r[2])) >= 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

bool
sq_mon_query_num(const char *s, long lo, long hi, long *out)
{
    long v = 0;
    size_t n = 0;

    if (s == NULL) {
        return false;
    }
    for (; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 12) {
            return false; /* 12 digits: far above any bound, no overflow */
        }
        v = v * 10 + (s[n] - '0');
    }
    if (n == 0 || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}
