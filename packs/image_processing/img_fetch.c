/* SPDX-License-Identifier: MIT
 *
 * img_fetch.c: image downloads (img.h). One libcurl easy handle per
 * process, reset between transfers so connections to the CDN are reused.
 * The body streams into the caller's temp file and through SHA-256 at
 * once, so memory stays constant whatever the image size; the size limit
 * is enforced from Content-Length when there is one and while streaming
 * when there is not. Only http and https are allowed, redirects followed
 * (CDNs use them), at most 5. Every download is guarded (net/net_guard.h:
 * image URLs come from task arguments) and, in a task, passes the
 * per-host gate (net/net_gate.h) with the image rate.
 */
#include "image_processing/img.h"
#include "crawler/crawler_http.h"
#include "net/net_gate.h"
#include "net/net_guard.h"
#include "sq_error.h"

#include <curl/curl.h>
#include "sq_lazy_curl.h"
#include <errno.h>
#include <openssl/evp.h>
#include "sq_lazy_crypto.h"
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <syncq/task.h>
#include <unistd.h>

static CURL *handle;
static pid_t handle_pid;
static struct sq_net_guard guard; /* judges every connection of `handle` */
static struct sq_gate img_gate;   /* the gate of this process's tasks */
static struct sq_netallow img_allow;

static bool
stop_fn(void *ud)
{
    return syncq_ctx_stop_requested(ud);
}

int
sq_img_fetch_setup(struct sq_img_fetch_opts *o, struct syncq_ctx *ctx,
                   syncq_error *err)
{
    const syncq_config *cfg = syncq_ctx_config(ctx);
    int rc;

    rc = sq_gate_policy_from_config(
        cfg, "SYNCQ_IMAGE_RATE", "SYNCQ_IMAGE_CONCURRENCY", NULL,
        o->connect_timeout_ms + o->timeout_ms, &img_gate.policy, err);
    if (rc == SYNCQ_OK) {
        rc = sq_netallow_parse(syncq_config_str(cfg, "SYNCQ_FETCH_ALLOW"),
                               &img_allow, err);
        if (rc != SYNCQ_OK) {
            sq_error_prefix(err, "SYNCQ_FETCH_ALLOW");
        }
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    img_gate.client = syncq_ctx_client(ctx);
    img_gate.max_wait_ms = syncq_config_ms(cfg, "SYNCQ_CRAWLER_MAX_WAIT");
    img_gate.stop = stop_fn;
    img_gate.stop_ud = ctx;
    snprintf(img_gate.ticket, sizeof img_gate.ticket, "%s", syncq_ctx_id(ctx));
    o->gate = &img_gate;
    o->allow = &img_allow;
    return SYNCQ_OK;
}

struct sink {
    int fd;
    EVP_MD_CTX *md;
    int64_t bytes;
    int64_t max_bytes;
    bool too_big;
    int write_errno;
};

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t len = size * n;
    size_t off = 0;

    if (s->bytes + (int64_t)len > s->max_bytes) {
        s->too_big = true;
        return 0; /* aborts the transfer */
    }
    while (off < len) {
        ssize_t w = write(s->fd, p + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            s->write_errno = errno;
            return 0;
        }
        off += (size_t)w;
    }
    EVP_DigestUpdate(s->md, p, len);
    s->bytes += (int64_t)len;
    return len;
}

static CURL *
get_handle(void)
{
    if (handle != NULL && handle_pid == getpid()) {
        curl_easy_reset(handle);
        return handle;
    }
    /* A handle inherited over fork shares the parent's sockets: leave it
     * alone and make a new one. libcurl is loaded on first use. */
    if (sq_lazy_curl_load(NULL) != SYNCQ_OK) {
        return NULL;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    handle = curl_easy_init();
    handle_pid = getpid();
    return handle;
}

/* The host part of `url`, for messages (never the query: may hold keys). */
static void
host_of(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    size_t n;

    p = p != NULL ? p + 3 : url;
    n = strcspn(p, "/?#");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

static int
classify_status(long status, struct sq_img_fetch_result *res)
{
    if (status == 404 || status == 410) {
        return SYNCQ_ERR_NOT_FOUND;
    }
    if (status == 429) {
        return SYNCQ_ERR_RATE_LIMITED;
    }
    if (status >= 500) {
        return SYNCQ_ERR_HTTP_5XX;
    }
    if (status == 401 || status == 403) {
        return SYNCQ_ERR_AUTH;
    }
    (void)res;
    return SYNCQ_ERR_VALIDATION;
}

/* Ask the gate; false (res filled) when the download must not go out. */
static bool
pass_gate(const struct sq_img_fetch_opts *o, const char *host,
          struct sq_gate_pass *p, struct sq_img_fetch_result *res)
{
    if (o->gate == NULL) {
        memset(p, 0, sizeof *p);
        return true;
    }
    sq_gate_enter(o->gate, host, p);
    if (p->granted) {
        return true;
    }
    res->error_class = p->cls;
    res->deferred = !p->limiter_down;
    res->retry_after_ms = p->retry_ms;
    snprintf(res->error, sizeof res->error, "%s", p->why);
    return false;
}

/* A 429 or 503 pauses the host for every worker: for its Retry-After,
 * which also makes the download a deferral, else for a second. */
static void
cool_after(const struct sq_img_fetch_opts *o, const char *host,
           struct sq_img_fetch_result *res)
{
    char reason[64];

    if (res->http_status != 429 && res->http_status != 503) {
        return;
    }
    res->deferred = res->retry_after_ms > 0;
    if (res->retry_after_ms <= 0) {
        res->retry_after_ms = 1000;
    }
    if (o->gate != NULL) {
        snprintf(reason, sizeof reason, "rate_limited:%ld", res->http_status);
        sq_gate_cool(o->gate, host, res->retry_after_ms, reason);
    }
}

int
sq_img_fetch(const char *url, int fd, const struct sq_img_fetch_opts *o,
             struct sq_img_fetch_result *res, syncq_error *err)
{
    struct sink s;
    struct sq_gate_pass pass;
    char host_only[150];
    char hostkey[160]; /* "image:<host>": a bucket of its own */
    char host[256];
    char errbuf[CURL_ERROR_SIZE] = "";
    unsigned char md[32];
    unsigned int mdlen = 0;
    CURL *c;
    CURLcode cc;
    int rc = SYNCQ_OK;

    memset(res, 0, sizeof *res);
    memset(&s, 0, sizeof s);
    host_of(url, host, sizeof host);
    c = get_handle(); /* loads libcurl, which the host key needs */
    if (c == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "cannot start a download");
    }
    if ((strncmp(url, "http://", 7) != 0 &&
         strncmp(url, "https://", 8) != 0) ||
        sq_http_host_key(url, host_only, sizeof host_only, NULL) !=
            SYNCQ_OK) {
        res->error_class = SYNCQ_ERR_VALIDATION;
        snprintf(res->error, sizeof res->error, "not an http(s) URL");
        return sq_fail(err, SYNCQ_EINVAL, "image URL is not http(s)");
    }
    snprintf(hostkey, sizeof hostkey, "image:%s", host_only);
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        return sq_fail_errno(err, SYNCQ_EIO, "cannot reset temp file: %s",
                             strerror(errno));
    }
    s.md = EVP_MD_CTX_new();
    if (s.md == NULL ||
        EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(s.md);
        return sq_fail(err, SYNCQ_ENOMEM, "cannot start a download");
    }
    if (!pass_gate(o, hostkey, &pass, res)) {
        EVP_MD_CTX_free(s.md);
        return sq_fail(err, SYNCQ_EHTTP, "%s", res->error);
    }
    guard.allow = o->allow != NULL ? *o->allow : (struct sq_netallow){0};
    sq_net_guard_arm(&guard, c);
    s.fd = fd;
    s.max_bytes = o->max_bytes;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (o->user_agent != NULL && o->user_agent[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_USERAGENT, o->user_agent);
    }
    cc = curl_easy_perform(c);
    if (o->gate != NULL) {
        sq_gate_leave(o->gate, hostkey, &pass);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->http_status);
    res->bytes = s.bytes;
    if (cc == CURLE_OK && res->http_status >= 200 && res->http_status < 300) {
        EVP_DigestFinal_ex(s.md, md, &mdlen);
        for (unsigned i = 0; i < mdlen; i++) {
            snprintf(res->sha256 + i * 2, 3, "%02x", md[i]);
        }
        goto done;
    }
    if (s.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        res->error_class = SYNCQ_ERR_VALIDATION;
        snprintf(res->error, sizeof res->error,
                 "image over %lld bytes "
                 "(SYNCQ_IMAGE_MAX_BYTES)",
                 (long long)o->max_bytes);
        rc = sq_fail(err, SYNCQ_ETOOBIG, "%s: %s", host, res->error);
        goto done;
    }
    if (s.write_errno != 0) {
        rc = sq_fail(err, SYNCQ_EIO, "cannot write the download: %s",
                     strerror(s.write_errno));
        res->error_class = SYNCQ_ERR_INTERNAL;
        snprintf(res->error, sizeof res->error, "%s", err ? err->msg : "");
        goto done;
    }
    if (cc == CURLE_OK) {
        curl_off_t ra = 0;
        res->error_class = classify_status(res->http_status, res);
        if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
            ra > 0) {
            res->retry_after_ms = (int64_t)(ra > 86400 ? 86400 : ra) * 1000;
        }
        cool_after(o, hostkey, res);
        snprintf(res->error, sizeof res->error, "HTTP %ld from %s",
                 res->http_status, host);
        rc = sq_fail(err, SYNCQ_EHTTP, "%s", res->error);
        goto done;
    }
    if (sq_net_guard_refused(&guard, res->error, sizeof res->error)) {
        res->error_class = SYNCQ_ERR_VALIDATION;
        res->refused = true;
        rc = sq_fail(err, SYNCQ_EHTTP, "%s", res->error);
        goto done;
    }
    res->error_class = (cc == CURLE_OPERATION_TIMEDOUT) ? SYNCQ_ERR_TIMEOUT
                                                        : SYNCQ_ERR_NETWORK;
    snprintf(res->error, sizeof res->error, "%s: %s", host,
             errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
    rc = sq_fail(err, SYNCQ_EHTTP, "%s", res->error);
done:
    EVP_MD_CTX_free(s.md);
    return rc;
}
