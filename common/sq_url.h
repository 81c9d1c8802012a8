/* SPDX-License-Identifier: MIT
 *
 * sq_url.h: Redis URLs, and masking passwords in any URL.
 *   redis://[user[:password]@]host[:port][/db]
 *   redis://:password@host:port/db
 *   unix://[user:password@]/path/to/redis.sock[?db=N][&password=P]
 *   redis+unix:///path?db=N (alias)
 *   rediss://[user[:password]@]host[:port][/db]         (TLS, broker_tls.c)
 *   sentinel://[user[:password]@]h1:p1,h2:p2/<master>[?db=N]  (Sentinel)
 *   sentinel+tls://...                        (Sentinel, every hop TLS)
 *   redis+cluster://[user[:password]@]h1:p1,h2:p2[/0]  (Redis Cluster: the
 *       listed nodes are seeds; the slot map says which node serves)
 *   rediss+cluster://...                      (Redis Cluster over TLS)
 * Query parameters (redis-py / Celery names): db, password,
 * ssl_cert_reqs=required|optional|none (CERT_* accepted), ssl_ca_certs,
 * ssl_certfile, ssl_keyfile, sentinel_password; timeout is ignored.
 */
#ifndef SQ_URL_H
#define SQ_URL_H

#include <stdbool.h>
#include <syncq/error.h>

#define SQ_URL_MAX_HOSTS 8

struct sq_hostport {
    char host[256];
    int port;
};

struct sq_redis_url {
    bool is_unix;
    char host[256];  /* TCP host, or "" */
    int port;        /* TCP port (default 6379) */
    char path[1024]; /* unix socket path, or "" */
    int db;          /* database number 0..15 by default config */
    char user[128];  /* ACL user or "" */
    char pass[256];  /* password or "" */
    bool has_pass;
    bool tls;        /* rediss:// or sentinel+tls:// */
    bool sentinel;   /* sentinel:// or sentinel+tls:// */
    bool cluster;    /* redis+cluster:// or rediss+cluster:// (db 0 only;
                        host/port: the first seed) */
    char master[128]; /* Sentinel master name */
    int nhosts;      /* sentinels or cluster seeds listed */
    struct sq_hostport hosts[SQ_URL_MAX_HOSTS];
    int tls_verify;  /* -1: not in the URL (the setting decides), 0, 1 */
    char ca_file[512];   /* ssl_ca_certs, or "" */
    char cert_file[512]; /* ssl_certfile, or "" */
    char key_file[512];  /* ssl_keyfile, or "" */
    char sentinel_pass[256]; /* sentinel_password, or "" */
};

/* Parse `url` into *out. Percent-escapes in user and password are decoded.
 * Errors: SYNCQ_EINVAL (malformed: message shows the redacted URL and what
 * is wrong). */
int sq_redis_url_parse(const char *url, struct sq_redis_url *out,
                       syncq_error *err);

/* Value of hex digit `c` (0-9, a-f, A-F), or -1. Thread-safe. */
int sq_hexval(char c);

/* Owned copy of `url` with any password replaced by "****"
 * (scheme://user:****@host..., ?password=****). NULL on OOM. */
char *sq_url_redact(const char *url);

#endif
