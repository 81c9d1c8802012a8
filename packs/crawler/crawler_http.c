/* SPDX-License-Identifier: MIT
 *
 * crawler_http.c: libcurl easy-handle client of the crawler (see
 * crawler_http.h). The handle is reset between requests only in the
 * options this file sets, so its connection cache survives.
 */
#include "crawler/crawler_http.h"
#include "net/net_guard.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"
#include <syncq/time.h>

#include <ctype.h>
#include <curl/curl.h>
#include "sq_lazy_curl.h"
#include <stdio.h>
#include <string.h>
#include <syncq/task.h>

#define DEFAULT_MAX_BODY (32u << 20)

struct sq_http {
    CURL *curl;
    CURL *guarded;            /* guarded transfers only (net_guard.h), or
                                 NULL until the first */
    bool guard_on;            /* the next requests use `guarded` */
    struct sq_net_guard guard;
    struct sq_http_opts o;
    char *user_agent;
    char errbuf[CURL_ERROR_SIZE];
    struct sq_buf body;
    bool too_big;
};

static bool global_done;

int
sq_http_global_init(syncq_error *err)
{
    CURLcode cc;

    if (global_done) {
        return SYNCQ_OK;
    }
    if (sq_lazy_curl_load(err) != SYNCQ_OK) {
        return SYNCQ_ENOTSUP;
    }
    cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK) {
        return sq_fail(err, SYNCQ_EHTTP, "libcurl init: %s",
                       curl_easy_strerror(cc));
    }
    global_done = true;
    return SYNCQ_OK;
}

int
sq_http_open(const struct sq_http_opts *o, struct sq_http **out,
             syncq_error *err)
{
    struct sq_http *h;
    int rc;

    *out = NULL;
    if (o == NULL || o->connect_timeout_ms <= 0 || o->timeout_ms <= 0) {
        return sq_fail(err, SYNCQ_EINVAL, "HTTP timeouts must be positive");
    }
    rc = sq_http_global_init(err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    h = sq_calloc(1, sizeof *h);
    if (h == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    h->o = *o;
    if (h->o.max_body_bytes == 0) {
        h->o.max_body_bytes = DEFAULT_MAX_BODY;
    }
    if (o->user_agent != NULL) {
        h->user_agent = sq_strdup(o->user_agent);
        if (h->user_agent == NULL) {
            sq_free(h);
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
    }
    h->o.user_agent = h->user_agent;
    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        sq_free(h->user_agent);
        sq_free(h);
        return sq_fail(err, SYNCQ_EHTTP, "libcurl could not make a handle");
    }
    sq_buf_init(&h->body, h->o.max_body_bytes);
    *out = h;
    return SYNCQ_OK;
}

void
sq_http_close(struct sq_http *h)
{
    if (h == NULL) {
        return;
    }
    curl_easy_cleanup(h->curl);
    if (h->guarded != NULL) {
        curl_easy_cleanup(h->guarded);
    }
    sq_buf_cleanup(&h->body);
    sq_free(h->user_agent);
    sq_free(h);
}

int
sq_http_guard(struct sq_http *h, bool on, const syncq_config *cfg,
              syncq_error *err)
{
    int rc;

    h->guard_on = false;
    if (!on) {
        return SYNCQ_OK;
    }
    rc = sq_net_guard_init(&h->guard, cfg, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (h->guarded == NULL) {
        h->guarded = curl_easy_init();
        if (h->guarded == NULL) {
            return sq_fail(err, SYNCQ_EHTTP,
                           "libcurl could not make a handle");
        }
    }
    h->guard_on = true;
    return SYNCQ_OK;
}

void
sq_http_resp_cleanup(struct sq_http_resp *r)
{
    if (r == NULL) {
        return;
    }
    sq_free(r->body);
    memset(r, 0, sizeof *r);
}

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    struct sq_http *h = ud;
    size_t len = size * n;

    if (sq_buf_add(&h->body, p, len) != 0) {
        h->too_big = h->body.len + len > h->o.max_body_bytes;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    return len;
}

/* "http://host/path" without query or fragment, for messages. */
static void
url_for_message(const char *url, char *out, size_t cap)
{
    size_t n = strcspn(url, "?#");
    if (n > 200) {
        n = 200;
    }
    snprintf(out, cap, "%.*s", (int)n, url);
}

static int
transport_class(CURLcode cc, bool too_big)
{
    if (too_big) {
        return SYNCQ_ERR_PARSE;
    }
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return SYNCQ_ERR_TIMEOUT;
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_FILESIZE_EXCEEDED:
        return SYNCQ_ERR_PARSE;
    default:
        return SYNCQ_ERR_NETWORK;
    }
}

int
sq_http_request(struct sq_http *h, const char *url, const char *form,
                struct sq_http_resp *r, int *err_class, syncq_error *err)
{
    CURL *c = h->guard_on ? h->guarded : h->curl;
    CURLcode cc;
    char shown[256];
    char *ct = NULL, *loc = NULL;
    curl_off_t ra = 0;
    long status = 0;
    int64_t t0 = syncq_mono_ms();
    struct curl_slist *hdrs = NULL;

    memset(r, 0, sizeof *r);
    if (err_class != NULL) {
        *err_class = SYNCQ_ERR_NONE;
    }
    if (url == NULL ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        if (err_class != NULL) {
            *err_class = SYNCQ_ERR_VALIDATION;
        }
        return sq_fail(err, SYNCQ_EINVAL, "not an http(s) URL");
    }
    url_for_message(url, shown, sizeof shown);
    sq_buf_reset(&h->body);
    h->too_big = false;
    h->errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)h->o.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, h->o.user_agent);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)h->o.max_body_bytes);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (h->guard_on) {
        sq_net_guard_arm(&h->guard, c);
    }
    hdrs = curl_slist_append(NULL, "Accept: application/json, text/html;"
                                   "q=0.9, */*;q=0.5");
    if (hdrs == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (form != NULL) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    cc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    if (cc == CURLE_FILESIZE_EXCEEDED) {
        h->too_big = true; /* refused from Content-Length, before the body */
    }
    if (cc != CURLE_OK && h->guard_on &&
        sq_net_guard_refused(&h->guard, h->errbuf, sizeof h->errbuf)) {
        if (err_class != NULL) {
            *err_class = SYNCQ_ERR_VALIDATION;
        }
        return sq_fail(err, SYNCQ_EHTTP, "%s %s: %s",
                       form ? "POST" : "GET", shown, h->errbuf);
    }
    if (cc != CURLE_OK) {
        int cls = transport_class(cc, h->too_big);
        if (err_class != NULL) {
            *err_class = cls;
        }
        if (h->too_big) {
            return sq_fail(err, SYNCQ_EHTTP, "%s %s: response over %zu bytes",
                           form ? "POST" : "GET", shown, h->o.max_body_bytes);
        }
        return sq_fail(err, SYNCQ_EHTTP, "%s %s: %s", form ? "POST" : "GET",
                       shown,
                       h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
    curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra);
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "%s", ct ? ct : "");
    snprintf(r->location, sizeof r->location, "%s", loc ? loc : "");
    /* Retry-After: seconds, capped at a day (a date far ahead is a bug). */
    if (ra > 0) {
        r->retry_after_ms = (int64_t)(ra > 86400 ? 86400 : ra) * 1000;
    }
    r->len = h->body.len;
    r->body = sq_buf_steal(&h->body);
    if (r->body == NULL) {
        memset(r, 0, sizeof *r);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    sq_buf_init(&h->body, h->o.max_body_bytes);
    r->elapsed_ms = syncq_mono_ms() - t0;
    return SYNCQ_OK;
}

int
sq_http_host_key(const char *url, char *out, size_t cap, syncq_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = SYNCQ_OK;
    int n;

    if (u == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    if (url == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        rc = sq_fail(err, SYNCQ_EINVAL, "not an http(s) URL");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK) {
        port = NULL; /* no explicit port */
    }
    for (char *p = host; *p != '\0'; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    n = port != NULL ? snprintf(out, cap, "%s:%s", host, port)
                     : snprintf(out, cap, "%s", host);
    if (n < 0 || (size_t)n >= cap) {
        rc = sq_fail(err, SYNCQ_EINVAL, "host name too long");
    }
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}
