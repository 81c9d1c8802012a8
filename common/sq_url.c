/* SPDX-License-Identifier: MIT
 *
 * sq_url.c: Redis URL parsing (the redis-py / Celery URL forms) and URL
 * password masking.
 */
#include "sq_url.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sq_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Percent-decode `n` bytes of `s` into `out` (cap bytes). -1 on error. */
static int
pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n) {
                return -1;
            }
            hi = sq_hexval(s[i + 1]);
            lo = sq_hexval(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap) {
            return -1;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int
parse_db(const char *s, size_t n, int *db)
{
    char tmp[16];
    char *end;
    long v;

    if (n == 0) {
        return 0;
    }
    if (n >= sizeof tmp) {
        return -1;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    v = strtol(tmp, &end, 10);
    if (*end != '\0' || errno != 0 || v < 0 || v > 100000) {
        return -1;
    }
    *db = (int)v;
    return 0;
}

/* Parse ?db=N&password=P query parameters. */
static int
parse_query(const char *q, struct sq_redis_url *out)
{
    while (q != NULL && *q != '\0') {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > 3 && strncmp(q, "db=", 3) == 0) {
            if (parse_db(q + 3, len - 3, &out->db) != 0) {
                return -1;
            }
        } else if (len > 9 && strncmp(q, "password=", 9) == 0) {
            if (pct_decode(q + 9, len - 9, out->pass, sizeof out->pass)) {
                return -1;
            }
            out->has_pass = true;
        } else if (len > 0 && strncmp(q, "timeout=", 8) != 0) {
            return -1;
        }
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

int
sq_redis_url_parse(const char *url, struct sq_redis_url *out,
                   syncq_error *err)
{
    const char *p;
    const char *at;
    const char *hostend;
    const char *slash;
    const char *q;
    char *shown;
    int rc = SYNCQ_EINVAL;
    const char *why = "malformed URL";

    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (url == NULL || *url == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "empty broker URL");
    }
    shown = sq_url_redact(url);
    if (strncmp(url, "rediss://", 9) == 0) {
        rc = sq_fail(err, SYNCQ_ENOTSUP,
                     "broker URL %s: TLS (rediss://) is not supported by "
                     "this build's hiredis 0.14; use a unix socket or a TLS "
                     "tunnel",
                     shown ? shown : "?");
        sq_free(shown);
        return rc;
    }
    if (strncmp(url, "unix://", 7) == 0 ||
        strncmp(url, "redis+unix://", 13) == 0 ||
        strncmp(url, "redis-socket://", 15) == 0) {
        p = strstr(url, "://") + 3;
        /* Optional credentials: unix://:pass@/path */
        at = strchr(p, '@');
        q = strchr(p, '?');
        if (at != NULL && (q == NULL || at < q)) {
            const char *colon = memchr(p, ':', (size_t)(at - p));
            if (colon != NULL) {
                if (pct_decode(colon + 1, (size_t)(at - colon - 1), out->pass,
                               sizeof out->pass)) {
                    goto bad;
                }
                out->has_pass = true;
            }
            p = at + 1;
        }
        out->is_unix = true;
        {
            size_t len = q ? (size_t)(q - p) : strlen(p);
            if (len == 0 || p[0] != '/') {
                why = "unix socket URL needs an absolute path "
                      "(unix:///path/to/redis.sock)";
                goto bad;
            }
            if (len >= sizeof out->path) {
                why = "socket path too long";
                goto bad;
            }
            memcpy(out->path, p, len);
            out->path[len] = '\0';
        }
        if (q != NULL && parse_query(q + 1, out) != 0) {
            why = "bad query (allowed: db=N, password=P)";
            goto bad;
        }
        sq_free(shown);
        return SYNCQ_OK;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        why = "scheme must be redis:// or unix://";
        goto bad;
    }
    p = url + 8;
    q = strchr(p, '?');
    slash = strchr(p, '/');
    if (q != NULL && slash != NULL && slash > q) {
        slash = NULL;
    }
    hostend = slash ? slash : (q ? q : p + strlen(p));
    at = NULL;
    for (const char *s = p; s < hostend; s++) {
        if (*s == '@') {
            at = s;
        }
    }
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon ? colon : at;
        if (pct_decode(p, (size_t)(uend - p), out->user, sizeof out->user)) {
            goto bad;
        }
        if (colon != NULL) {
            if (pct_decode(colon + 1, (size_t)(at - colon - 1), out->pass,
                           sizeof out->pass)) {
                goto bad;
            }
            out->has_pass = true;
        }
        p = at + 1;
    }
    {
        const char *hs = p;
        const char *he;
        const char *portp = NULL;
        if (*hs == '[') {
            he = memchr(hs, ']', (size_t)(hostend - hs));
            if (he == NULL) {
                goto bad;
            }
            hs++;
            if (he + 1 < hostend && he[1] == ':') {
                portp = he + 2;
            }
        } else {
            const char *colon = memchr(hs, ':', (size_t)(hostend - hs));
            he = colon ? colon : hostend;
            if (colon != NULL) {
                portp = colon + 1;
            }
        }
        if (he == hs) {
            why = "missing host";
            goto bad;
        }
        if ((size_t)(he - hs) >= sizeof out->host) {
            goto bad;
        }
        memcpy(out->host, hs, (size_t)(he - hs));
        out->host[he - hs] = '\0';
        for (const char *c = out->host; *c != '\0'; c++) {
            if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' ||
                  *c == ':' || *c == '_')) {
                why = "bad character in host";
                goto bad;
            }
        }
        if (portp != NULL) {
            char tmp[8];
            char *end;
            size_t n = (size_t)(hostend - portp);
            long v;
            if (n == 0 || n >= sizeof tmp) {
                why = "bad port";
                goto bad;
            }
            memcpy(tmp, portp, n);
            tmp[n] = '\0';
            v = strtol(tmp, &end, 10);
            if (*end != '\0' || v < 1 || v > 65535) {
                why = "port must be 1..65535";
                goto bad;
            }
            out->port = (int)v;
        }
    }
    if (slash != NULL) {
        const char *dbs = slash + 1;
        size_t n = q ? (size_t)(q - dbs) : strlen(dbs);
        if (parse_db(dbs, n, &out->db) != 0) {
            why = "database must be a number (redis://host:6379/0)";
            goto bad;
        }
    }
    if (q != NULL && parse_query(q + 1, out) != 0) {
        why = "bad query (allowed: db=N, password=P)";
        goto bad;
    }
    sq_free(shown);
    return SYNCQ_OK;
bad:
    rc = sq_fail(err, SYNCQ_EINVAL, "broker URL %s: %s", shown ? shown : "?",
                 why);
    sq_free(shown);
    memset(out->pass, 0, sizeof out->pass);
    return rc;
}

char *
sq_url_redact(const char *url)
{
    struct sq_buf b;
    const char *scheme;
    const char *p;
    const char *at;
    const char *end;
    const char *pw;

    if (url == NULL) {
        return NULL;
    }
    sq_buf_init(&b, 0);
    scheme = strstr(url, "://");
    p = scheme ? scheme + 3 : url;
    end = p + strcspn(p, "/?#");
    at = NULL;
    for (const char *s = p; s < end; s++) {
        if (*s == '@') {
            at = s;
        }
    }
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon != NULL && colon + 1 < at) {
            sq_buf_add(&b, url, (size_t)(colon + 1 - url));
            sq_buf_adds(&b, "****");
            p = at;
        } else {
            p = url;
        }
    } else {
        p = url;
    }
    if (p == url) {
        sq_buf_adds(&b, "");
    }
    /* Mask password=... in the query. */
    pw = strstr(p, "password=");
    if (pw != NULL) {
        const char *stop = pw + 9 + strcspn(pw + 9, "&#");
        sq_buf_add(&b, p, (size_t)(pw + 9 - p));
        sq_buf_adds(&b, "****");
        sq_buf_adds(&b, stop);
    } else {
        sq_buf_adds(&b, p);
    }
    return sq_buf_steal(&b);
}
