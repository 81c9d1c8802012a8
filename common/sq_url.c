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
#include <strings.h>

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

/* Decode the value of query parameter `name=` at q (len bytes) into out
 * (cap bytes): 1 if the name matched, 0 if not, -1 on a bad value. */
static int
query_value(const char *q, size_t len, const char *name, char *out,
            size_t cap)
{
    size_t n = strlen(name);

    if (len <= n || strncmp(q, name, n) != 0) {
        return 0;
    }
    return pct_decode(q + n, len - n, out, cap) == 0 ? 1 : -1;
}

/* ssl_cert_reqs: the redis-py/Celery words, CERT_ prefix optional. */
static int
parse_cert_reqs(const char *v, int *out)
{
    if (strncmp(v, "CERT_", 5) == 0) {
        v += 5;
    }
    if (strcasecmp(v, "required") == 0 || strcasecmp(v, "optional") == 0) {
        *out = 1;
    } else if (strcasecmp(v, "none") == 0) {
        *out = 0;
    } else {
        return -1;
    }
    return 0;
}

/* Parse the query parameters listed in sq_url.h. */
static int
parse_query(const char *q, struct sq_redis_url *out)
{
    while (q != NULL && *q != '\0') {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        char reqs[32];
        int m = 0;
        if (len > 3 && strncmp(q, "db=", 3) == 0) {
            if (parse_db(q + 3, len - 3, &out->db) != 0) {
                return -1;
            }
            m = 1;
        } else if ((m = query_value(q, len, "password=", out->pass,
                                    sizeof out->pass)) == 1) {
            out->has_pass = true;
        } else if (m == 0 && (m = query_value(q, len, "ssl_cert_reqs=", reqs,
                                              sizeof reqs)) == 1) {
            m = parse_cert_reqs(reqs, &out->tls_verify) == 0 ? 1 : -1;
        }
        if (m == 0) {
            m = query_value(q, len, "ssl_ca_certs=", out->ca_file,
                            sizeof out->ca_file);
        }
        if (m == 0) {
            m = query_value(q, len, "ssl_certfile=", out->cert_file,
                            sizeof out->cert_file);
        }
        if (m == 0) {
            m = query_value(q, len, "ssl_keyfile=", out->key_file,
                            sizeof out->key_file);
        }
        if (m == 0) {
            m = query_value(q, len, "sentinel_password=", out->sentinel_pass,
                            sizeof out->sentinel_pass);
        }
        if (m < 0 || (m == 0 && len > 0 && strncmp(q, "timeout=", 8) != 0)) {
            return -1;
        }
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

/* host[:port] or [v6]:port in [hs, end) into hp; NULL or the reason. */
static const char *
parse_hostport(const char *hs, const char *end, int defport,
               struct sq_hostport *hp)
{
    const char *he;
    const char *portp = NULL;

    hp->port = defport;
    if (hs < end && *hs == '[') {
        he = memchr(hs, ']', (size_t)(end - hs));
        if (he == NULL) {
            return "unclosed [ in host";
        }
        hs++;
        if (he + 1 < end && he[1] == ':') {
            portp = he + 2;
        }
    } else {
        const char *colon = memchr(hs, ':', (size_t)(end - hs));
        he = colon ? colon : end;
        if (colon != NULL) {
            portp = colon + 1;
        }
    }
    if (he == hs) {
        return "missing host";
    }
    if ((size_t)(he - hs) >= sizeof hp->host) {
        return "host too long";
    }
    memcpy(hp->host, hs, (size_t)(he - hs));
    hp->host[he - hs] = '\0';
    for (const char *c = hp->host; *c != '\0'; c++) {
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' ||
              *c == ':' || *c == '_')) {
            return "bad character in host";
        }
    }
    if (portp != NULL) {
        char tmp[8];
        char *e;
        size_t n = (size_t)(end - portp);
        long v;
        if (n == 0 || n >= sizeof tmp) {
            return "bad port";
        }
        memcpy(tmp, portp, n);
        tmp[n] = '\0';
        v = strtol(tmp, &e, 10);
        if (*e != '\0' || v < 1 || v > 65535) {
            return "port must be 1..65535";
        }
        hp->port = (int)v;
    }
    return NULL;
}

/* The sentinels (or cluster seed nodes) h1:p1,h2:p2 of [p, end) into
 * out->hosts; `what` names them in messages. */
static const char *
parse_hosts(const char *p, const char *end, int defport, const char *what,
            struct sq_redis_url *out)
{
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        const char *why;
        if (out->nhosts == SQ_URL_MAX_HOSTS) {
            return strcmp(what, "sentinel") == 0 ? "more than 8 sentinels"
                                                 : "more than 8 seed nodes";
        }
        why = parse_hostport(p, e, defport, &out->hosts[out->nhosts]);
        if (why != NULL) {
            return why;
        }
        out->nhosts++;
        if (comma != NULL && comma + 1 == end) {
            return "missing host after ','";
        }
        p = comma ? comma + 1 : end;
    }
    if (out->nhosts == 0) {
        return strcmp(what, "sentinel") == 0 ? "no sentinel listed"
                                             : "no seed node listed";
    }
    return NULL;
}

/* The TCP schemes and what they mean. */
static const struct {
    const char *scheme;
    bool tls;
    bool sentinel;
    bool cluster;
} schemes[] = {
    {"redis://", false, false, false},
    {"rediss://", true, false, false},
    {"sentinel://", false, true, false},
    {"sentinel+tls://", true, true, false},
    {"redis+cluster://", false, false, true},
    {"rediss+cluster://", true, false, true},
};

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
    out->tls_verify = -1;
    if (url == NULL || *url == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "empty broker URL");
    }
    shown = sq_url_redact(url);
    if (strncmp(url, "unix://", 7) == 0 ||
        strncmp(url, "redis+unix://", 13) == 0 ||
        strncmp(url, "redis-socket://", 15) == 0) {
        p = strstr(url, "://") + 3;
        /* Optional credentials: unix://:pass@/path */
        at = strchr(p, '@');
        q = strchr(p, '?');
        if (at != NULL && (q == NULL || at < q)) {
            const char *colon = memchr(p, ':', (size_t)(at - p));
            if (pct_decode(p, (size_t)((colon ? colon : at) - p), out->user,
                           sizeof out->user)) {
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
    p = NULL;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].scheme);
        if (strncmp(url, schemes[i].scheme, n) == 0) {
            p = url + n;
            out->tls = schemes[i].tls;
            out->sentinel = schemes[i].sentinel;
            out->cluster = schemes[i].cluster;
        }
    }
    if (p == NULL) {
        why = "scheme must be redis://, rediss://, sentinel://, "
              "sentinel+tls://, redis+cluster://, rediss+cluster:// or "
              "unix://";
        goto bad;
    }
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
    if (out->sentinel) {
        const char *name = slash ? slash + 1 : "";
        size_t n = slash == NULL ? 0 : q ? (size_t)(q - name) : strlen(name);
        why = parse_hosts(p, hostend, 26379, "sentinel", out);
        if (why != NULL) {
            goto bad;
        }
        if (n == 0 || n >= sizeof out->master ||
            strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789._-") < n) {
            why = "sentinel URL needs a master name after the hosts "
                  "(sentinel://h1:26379,h2:26379/mymaster?db=0)";
            goto bad;
        }
        memcpy(out->master, name, n);
        out->master[n] = '\0';
        slash = NULL;
    } else if (out->cluster) {
        why = parse_hosts(p, hostend, 6379, "seed", out);
        if (why != NULL) {
            goto bad;
        }
        /* messages name the first seed until a node is chosen */
        memcpy(out->host, out->hosts[0].host, sizeof out->host);
        out->port = out->hosts[0].port;
    } else {
        struct sq_hostport hp;
        why = parse_hostport(p, hostend, 6379, &hp);
        if (why != NULL) {
            goto bad;
        }
        memcpy(out->host, hp.host, sizeof out->host);
        out->port = hp.port;
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
        why = "bad query (allowed: db, password, ssl_cert_reqs, "
              "ssl_ca_certs, ssl_certfile, ssl_keyfile, sentinel_password)";
        goto bad;
    }
    if (out->cluster && out->db != 0) {
        why = "Redis Cluster has database 0 only "
              "(redis+cluster://h1:7000,h2:7001/0)";
        goto bad;
    }
    sq_free(shown);
    return SYNCQ_OK;
bad:
    rc = sq_fail(err, SYNCQ_EINVAL, "broker URL %s: %s", shown ? shown : "?",
                 why);
    sq_free(shown);
    memset(out->pass, 0, sizeof out->pass);
    memset(out->sentinel_pass, 0, sizeof out->sentinel_pass);
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
    /* Mask every password=... (and sentinel_password=...) of the query. */
    while ((pw = strstr(p, "password=")) != NULL) {
        const char *stop = pw + 9 + strcspn(pw + 9, "&#");
        sq_buf_add(&b, p, (size_t)(pw + 9 - p));
        sq_buf_adds(&b, "****");
        p = stop;
    }
    sq_buf_adds(&b, p);
    return sq_buf_steal(&b);
}
