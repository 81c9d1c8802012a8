/* SPDX-License-Identifier: MIT
 *
 * sq_url.h: Redis URLs, and masking passwords in any URL.
 *   redis://[user[:password]@]host[:port][/db]
 *   redis://:password@host:port/db
 *   unix:///path/to/redis.sock[?db=N][&password=P]
 *   redis+unix:///path?db=N (alias)
 * rediss:// (TLS) is recognised and refused: Debian 12's hiredis 0.14 has
 * no TLS (run stunnel or use a unix socket).
 */
#ifndef SQ_URL_H
#define SQ_URL_H

#include <stdbool.h>
#include <syncq/error.h>

struct sq_redis_url {
    bool is_unix;
    char host[256];  /* TCP host, or "" */
    int port;        /* TCP port (default 6379) */
    char path[1024]; /* unix socket path, or "" */
    int db;          /* database number 0..15 by default config */
    char user[128];  /* ACL user or "" */
    char pass[256];  /* password or "" */
    bool has_pass;
};

/* Parse `url` into *out. Percent-escapes in user and password are decoded.
 * Errors: SYNCQ_EINVAL (malformed: message shows the redacted URL and what
 * is wrong), SYNCQ_ENOTSUP (rediss://). */
int sq_redis_url_parse(const char *url, struct sq_redis_url *out,
                       syncq_error *err);

/* Value of hex digit `c` (0-9, a-f, A-F), or -1. Thread-safe. */
int sq_hexval(char c);

/* Owned copy of `url` with any password replaced by "****"
 * (scheme://user:****@host..., ?password=****). NULL on OOM. */
char *sq_url_redact(const char *url);

#endif
