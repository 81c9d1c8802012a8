/* SPDX-License-Identifier: MIT
 *
 * sq_netguard.c: the address rules of fetches from task arguments (see
 * sq_netguard.h). Ranges from the IANA special-purpose address
 * registries (RFC 6890 and its updates); only what a fetch must never
 * reach unasked is refused: documentation and benchmarking ranges are
 * unroutable anyway and left alone.
 */
#include "sq_netguard.h"
#include "sq_error.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ENTRY_MAX 64 /* longest entry text: "[v6]:port" fits */

static const char forms[] =
    "expected IP, IP/prefix or IP:port entries separated by commas "
    "(127.0.0.1, 10.0.0.0/8, 127.0.0.1:8080, [::1]:8080)";

/* Parse a decimal in [lo, hi] spanning all of s[0..n). */
static bool
num_in(const char *s, size_t n, long lo, long hi, int *out)
{
    long v = 0;

    if (n == 0 || n > 5) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi) {
        return false;
    }
    *out = (int)v;
    return true;
}

/* One entry, already trimmed. */
static int
parse_entry(const char *t, struct sq_netallow_entry *e, syncq_error *err)
{
    char a[ENTRY_MAX];
    const char *slash = strchr(t, '/');
    const char *port = NULL;
    size_t alen;

    memset(e, 0, sizeof *e);
    if (t[0] == '[') {
        const char *close = strchr(t, ']');
        if (close == NULL || close[1] != ':' || slash != NULL) {
            goto bad;
        }
        alen = (size_t)(close - t - 1);
        memcpy(a, t + 1, alen < sizeof a ? alen : 0);
        port = close + 2;
    } else if (slash != NULL) {
        alen = (size_t)(slash - t);
        memcpy(a, t, alen < sizeof a ? alen : 0);
    } else {
        const char *colon = strchr(t, ':');
        bool one_colon = colon != NULL && strchr(colon + 1, ':') == NULL;
        alen = one_colon ? (size_t)(colon - t) : strlen(t);
        memcpy(a, t, alen < sizeof a ? alen : 0);
        port = one_colon ? colon + 1 : NULL;
    }
    if (alen == 0 || alen >= sizeof a) {
        goto bad;
    }
    a[alen] = '\0';
    if (inet_pton(AF_INET, a, e->addr) == 1) {
        e->family = AF_INET;
        e->prefix = 32;
    } else if (inet_pton(AF_INET6, a, e->addr) == 1) {
        e->family = AF_INET6;
        e->prefix = 128;
    } else {
        return sq_fail(err, SYNCQ_EINVAL,
                       "'%.60s' is not an IP address (host names are not "
                       "accepted: the guard judges resolved addresses); %s",
                       t, forms);
    }
    if (slash != NULL &&
        !num_in(slash + 1, strlen(slash + 1), 0, e->prefix, &e->prefix)) {
        goto bad;
    }
    if (port != NULL && !num_in(port, strlen(port), 1, 65535, &e->port)) {
        goto bad;
    }
    return SYNCQ_OK;
bad:
    return sq_fail(err, SYNCQ_EINVAL, "bad entry '%.60s': %s", t, forms);
}

int
sq_netallow_parse(const char *text, struct sq_netallow *out, syncq_error *err)
{
    const char *p = text != NULL ? text : "";

    memset(out, 0, sizeof *out);
    while (*p != '\0') {
        char t[ENTRY_MAX];
        size_t n = strcspn(p, ",");
        const char *s = p, *end = p + n;
        int rc;
        while (s < end && isspace((unsigned char)*s)) {
            s++;
        }
        while (end > s && isspace((unsigned char)end[-1])) {
            end--;
        }
        p += n + (p[n] == ',');
        if (end == s) {
            continue; /* "a,,b" or a trailing comma */
        }
        if ((size_t)(end - s) >= sizeof t) {
            memset(out, 0, sizeof *out);
            return sq_fail(err, SYNCQ_EINVAL, "entry '%.40s...' too long; %s",
                           s, forms);
        }
        if (out->n == SQ_NETALLOW_MAX) {
            memset(out, 0, sizeof *out);
            return sq_fail(err, SYNCQ_EINVAL, "more than %d entries",
                           SQ_NETALLOW_MAX);
        }
        memcpy(t, s, (size_t)(end - s));
        t[end - s] = '\0';
        rc = parse_entry(t, &out->e[out->n], err);
        if (rc != SYNCQ_OK) {
            memset(out, 0, sizeof *out);
            return rc;
        }
        out->n++;
    }
    return SYNCQ_OK;
}

/* The first `bits` bits of a and b agree. */
static bool
prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, (size_t)whole) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    return ((a[whole] ^ b[whole]) & (0xff << (8 - rest))) == 0;
}

static bool
allowed(const struct sq_netallow *al, int family, const unsigned char *a,
        int port)
{
    if (al == NULL) {
        return false;
    }
    for (size_t i = 0; i < al->n; i++) {
        const struct sq_netallow_entry *e = &al->e[i];
        if (e->family == family && prefix_eq(e->addr, a, e->prefix) &&
            (e->port == 0 || e->port == port)) {
            return true;
        }
    }
    return false;
}

static const char *
v4_refusal(const unsigned char *a)
{
    uint32_t x = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
                 (uint32_t)a[2] << 8 | a[3];
    static const struct {
        uint32_t net;
        int bits;
        const char *why;
    } r[] = {
        {0x00000000u, 8, "unspecified"},
        {0x7f000000u, 8, "loopback"},
        {0x0a000000u, 8, "private"},
        {0xac100000u, 12, "private"},
        {0xc0a80000u, 16, "private"},
        {0x64400000u, 10, "shared (carrier-grade NAT)"},
        {0xa9fe0000u, 16, "link-local"},
        {0xffffffffu, 32, "broadcast"},
        {0xe0000000u, 4, "multicast"},
        {0xf0000000u, 4, "reserved"},
    };

    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        uint32_t mask = r[i].bits == 0 ? 0 : 0xffffffffu << (32 - r[i].bits);
        if ((x & mask) == r[i].net) {
            return r[i].why;
        }
    }
    return NULL;
}

/* The IPv4 address an IPv6 one carries (mapped ::ffff:0:0/96,
 * compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16), if any. */
static const unsigned char *
embedded_v4(const unsigned char *a)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char zero[12] = {0};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};

    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) {
        return a + 12;
    }
    if (memcmp(a, zero, 12) == 0 && (a[12] | a[13] | a[14]) != 0) {
        return a + 12; /* not :: or ::1, handled as IPv6 */
    }
    if (a[0] == 0x20 && a[1] == 0x02) {
        return a + 2;
    }
    return NULL;
}

static const char *
v6_refusal(const unsigned char *a)
{
    static const unsigned char any[16] = {0};
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0, 1};

    if (memcmp(a, any, 16) == 0) {
        return "unspecified";
    }
    if (memcmp(a, one, 16) == 0) {
        return "loopback";
    }
    if (a[0] == 0xff) {
        return "multicast";
    }
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
        return "link-local";
    }
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) {
        return "private"; /* site-local, deprecated but routable inside */
    }
    if ((a[0] & 0xfe) == 0xfc) {
        return "private";
    }
    return NULL;
}

const char *
sq_netguard_check(const struct sockaddr *sa, size_t len,
                  const struct sq_netallow *allow)
{
    const unsigned char *v4 = NULL;
    const unsigned char *v6 = NULL;
    int port = 0;

    if (sa == NULL) {
        return "not an IP address";
    }
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        v4 = (const unsigned char *)&s4->sin_addr;
        port = ntohs(s4->sin_port);
    } else if (sa->sa_family == AF_INET6 &&
               len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        v6 = (const unsigned char *)&s6->sin6_addr;
        port = ntohs(s6->sin6_port);
        v4 = embedded_v4(v6);
    } else {
        return "not an IP address";
    }
    if (v6 != NULL && allowed(allow, AF_INET6, v6, port)) {
        return NULL;
    }
    if (v4 != NULL && allowed(allow, AF_INET, v4, port)) {
        return NULL;
    }
    if (v6 != NULL) {
        const char *why = v6_refusal(v6);
        if (why != NULL) {
            return why;
        }
    }
    return v4 != NULL ? v4_refusal(v4) : NULL;
}

void
sq_netguard_format(const struct sockaddr *sa, size_t len, char *out,
                   size_t cap)
{
    char a[INET6_ADDRSTRLEN] = "?";

    if (sa != NULL && sa->sa_family == AF_INET &&
        len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
        snprintf(out, cap, "%s:%d", a, ntohs(s4->sin_port));
    } else if (sa != NULL && sa->sa_family == AF_INET6 &&
               len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
        snprintf(out, cap, "[%s]:%d", a, ntohs(s6->sin6_port));
    } else {
        snprintf(out, cap, "?");
    }
}
