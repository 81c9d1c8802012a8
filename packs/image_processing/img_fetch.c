/* SPDX-License-Identifier: MIT
 *
 * img_fetch.c: image downloads (img.h). One libcurl easy handle per
 * process, reset between transfers so connections to the CDN are reused.
 * The body streams into the caller's temp file and through SHA-256 at
 * once, so memory stays constant whatever the image size; the size limit
 * is enforced from Content-Length when there is one and while streaming
 * when there is not. Only http and https are allowed, redirects followed
 * (CDNs use them), at most 5.
 */
#include "image_processing/img.h"
#include "core/sq_error.h"

#include <curl/curl.h>
#include "core/sq_lazy_curl.h"
#include <errno.h>
#include <openssl/evp.h>
#include "core/sq_lazy_crypto.h"
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <syncq/task.h>
#include <unistd.h>

static CURL *handle;
static pid_t handle_pid;

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

int
sq_img_fetch(const char *url, int fd, const struct sq_img_fetch_opts *o,
             struct sq_img_fetch_result *res, syncq_error *err)
{
    struct sink s;
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
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        res->error_class = SYNCQ_ERR_VALIDATION;
        snprintf(res->error, sizeof res->error, "not an http(s) URL");
        return sq_fail(err, SYNCQ_EINVAL, "image URL is not http(s)");
    }
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        return sq_fail_errno(err, SYNCQ_EIO, "cannot reset temp file: %s",
                             strerror(errno));
    }
    c = get_handle();
    s.md = EVP_MD_CTX_new();
    if (c == NULL || s.md == NULL ||
        EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(s.md);
        return sq_fail(err, SYNCQ_ENOMEM, "cannot start a download");
    }
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
            res->retry_after_ms = (int64_t)ra * 1000;
        }
        snprintf(res->error, sizeof res->error, "HTTP %ld from %s",
                 res->http_status, host);
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
