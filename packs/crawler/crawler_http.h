/* SPDX-License-Identifier: MIT
 *
 * crawler_http.h: the crawler's HTTP client, a thin layer on one libcurl
 * easy handle (kept open so connections are reused). Connect and total
 * timeouts, every compression libcurl supports (gzip, deflate, br, zstd),
 * a User-Agent, proxies from the usual environment variables (libcurl
 * reads http_proxy, https_proxy, no_proxy itself), a hard limit on body
 * size, redirects not followed (a redirect to the login or punish page is
 * itself the answer), Retry-After read in either form (seconds or an
 * HTTP date). Knows nothing of 1688 or of rate limits (crawler_fetch.h).
 *
 * Thread-safety: one struct sq_http per thread. sq_http_global_init()
 * must run before threads start (the crawler pack's init does it).
 */
#ifndef SQ_CRAWLER_HTTP_H
#define SQ_CRAWLER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/config.h>
#include <syncq/error.h>

struct sq_http;

struct sq_http_opts {
    int64_t connect_timeout_ms; /* > 0 */
    int64_t timeout_ms;         /* whole transfer, > 0 */
    const char *user_agent;     /* copied; NULL: no header */
    size_t max_body_bytes;      /* larger bodies fail; 0: 32 MiB */
};

/* A response. Strings owned by the struct (sq_http_resp_cleanup). */
struct sq_http_resp {
    long status;            /* HTTP status; 0 when nothing came back */
    char *body;             /* NUL-terminated (may hold NULs); NULL: none */
    size_t len;             /* body bytes */
    char content_type[128]; /* "" if none */
    char location[1024];    /* redirect target (absolute), "" if none */
    int64_t retry_after_ms; /* Retry-After in ms, 0 if none */
    int64_t elapsed_ms;     /* transfer time */
};

/* Global libcurl setup; idempotent, not thread-safe. Errors: SYNCQ_EHTTP. */
int sq_http_global_init(syncq_error *err);

/* New client. Errors: SYNCQ_EINVAL (timeouts <= 0), SYNCQ_EHTTP (libcurl
 * could not make a handle), SYNCQ_ENOMEM. *out NULL on error. */
int sq_http_open(const struct sq_http_opts *o, struct sq_http **out,
                 syncq_error *err);
void sq_http_close(struct sq_http *h);

/* GET `url`, or POST `form` (application/x-www-form-urlencoded) when
 * `form` is not NULL. Any HTTP status is SYNCQ_OK (the caller judges it).
 * Transport failures return SYNCQ_EHTTP with *err_class (may be NULL) set
 * to SYNCQ_ERR_TIMEOUT (connect or total timeout), SYNCQ_ERR_NETWORK
 * (DNS, refused, reset, cut off) or SYNCQ_ERR_PARSE (body over the size
 * limit, bad content encoding); the message names the host, never a
 * query string (it may hold a token). `r` is filled on success and reset
 * on error. */
int sq_http_request(struct sq_http *h, const char *url, const char *form,
                    struct sq_http_resp *r, int *err_class, syncq_error *err);

/* Guard the next requests when `on` (net/net_guard.h, allow-list
 * SYNCQ_FETCH_ALLOW from `cfg`): they run on a second easy handle whose
 * connections were all judged. A refused connection fails the request
 * with SYNCQ_EHTTP and class SYNCQ_ERR_VALIDATION, the message naming
 * the address and its range. Errors: SYNCQ_EINVAL (bad allow-list),
 * SYNCQ_EHTTP (no handle); the guard is off then. */
int sq_http_guard(struct sq_http *h, bool on, const syncq_config *cfg,
                  syncq_error *err);

void sq_http_resp_cleanup(struct sq_http_resp *r);

/* The host key of `url` for per-host limits: lowercase host, with
 * ":port" when the URL names a port ("gw.open.1688.com",
 * "127.0.0.1:8080"). Errors: SYNCQ_EINVAL (not an http(s) URL). */
int sq_http_host_key(const char *url, char *out, size_t cap, syncq_error *err);

#endif
