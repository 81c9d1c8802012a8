/* SPDX-License-Identifier: MIT
 *
 * mon_post.c: the background POST queue of mon_post.h (libcurl easy
 * interface in one thread; one transfer at a time, in order).
 */
#include "monitor/mon_post.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <curl/curl.h>
#include "sq_lazy_curl.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct post {
    struct post *next;
    char *url;
    char *body;
    size_t len;
    struct curl_slist *headers;
};

struct sq_poster {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    struct post *head, *tail;
    size_t n, max;
    bool busy;      /* a transfer is in progress */
    bool stopping;
    struct sq_poster_stats st;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void
init_curl(void)
{
    curl_ok = sq_lazy_curl_load(NULL) == SYNCQ_OK &&
              curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static void
post_free(struct post *p)
{
    if (p == NULL) {
        return;
    }
    sq_free(p->url);
    sq_free(p->body);
    curl_slist_free_all(p->headers);
    sq_free(p);
}

static size_t
discard(char *ptr, size_t size, size_t n, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * n;
}

/* One transfer; returns the HTTP status or 0 on a transport error. */
static long
transfer(const struct post *p, char *errbuf)
{
    CURL *h = curl_easy_init();
    long status = 0;
    CURLcode rc;

    errbuf[0] = '\0';
    if (h == NULL) {
        return 0;
    }
    curl_easy_setopt(h, CURLOPT_URL, p->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, p->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "syncq-monitor");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    } else if (errbuf[0] == '\0') {
        snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    }
    curl_easy_cleanup(h);
    return status;
}

/* Host part of a URL for logs (never the path, which may hold a key). */
static void
url_host(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    size_t n;

    p = p != NULL ? p + 3 : url;
    if (strchr(p, '@') != NULL && strchr(p, '@') < p + strcspn(p, "/")) {
        p = strchr(p, '@') + 1;
    }
    n = strcspn(p, "/?#");
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static void *
run(void *arg)
{
    struct sq_poster *P = arg;

    pthread_mutex_lock(&P->mu);
    for (;;) {
        struct post *p;
        long status;
        char errbuf[CURL_ERROR_SIZE];
        char host[256];
        while (P->head == NULL && !P->stopping) {
            pthread_cond_wait(&P->cv, &P->mu);
        }
        if (P->head == NULL) {
            break;
        }
        p = P->head;
        P->head = p->next;
        if (P->head == NULL) {
            P->tail = NULL;
        }
        P->n--;
        P->busy = true;
        pthread_mutex_unlock(&P->mu);
        status = transfer(p, errbuf);
        url_host(p->url, host, sizeof host);
        if (status < 200 || status >= 300) {
            char q[300];
            SQ_WARN("monitor.post_failed", "host=%s status=%ld err=%s", host,
                    status, sq_log_quote(errbuf, q, sizeof q));
        }
        post_free(p);
        pthread_mutex_lock(&P->mu);
        P->busy = false;
        P->st.last_status = status;
        if (status >= 200 && status < 300) {
            P->st.sent++;
        } else {
            P->st.failed++;
        }
        pthread_cond_broadcast(&P->cv);
    }
    pthread_mutex_unlock(&P->mu);
    return NULL;
}

int
sq_poster_new(size_t max_queue, struct sq_poster **out, syncq_error *err)
{
    struct sq_poster *P;

    *out = NULL;
    pthread_once(&curl_once, init_curl);
    if (!curl_ok) {
        return sq_fail(err, SYNCQ_EINTERNAL, "libcurl failed to initialise");
    }
    P = sq_calloc(1, sizeof *P);
    if (P == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    P->max = max_queue > 0 ? max_queue : 256;
    pthread_mutex_init(&P->mu, NULL);
    pthread_cond_init(&P->cv, NULL);
    if (pthread_create(&P->thread, NULL, run, P) != 0) {
        pthread_mutex_destroy(&P->mu);
        pthread_cond_destroy(&P->cv);
        sq_free(P);
        return sq_fail(err, SYNCQ_EINTERNAL, "cannot start the post thread");
    }
    *out = P;
    return SYNCQ_OK;
}

int
sq_poster_post(struct sq_poster *P, const char *url,
               const char *const *headers, const char *body, size_t len,
               syncq_error *err)
{
    struct post *p = sq_calloc(1, sizeof *p);
    int rc = SYNCQ_OK;

    if (p == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    p->url = sq_strdup(url);
    p->body = sq_malloc(len + 1);
    p->len = len;
    if (p->url == NULL || p->body == NULL) {
        post_free(p);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    memcpy(p->body, body, len);
    p->body[len] = '\0';
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        struct curl_slist *n = curl_slist_append(p->headers, headers[i]);
        if (n == NULL) {
            post_free(p);
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        p->headers = n;
    }
    pthread_mutex_lock(&P->mu);
    if (P->n >= P->max || P->stopping) {
        P->st.dropped++;
        rc = sq_fail(err, SYNCQ_ETOOBIG, "post queue full (%zu): dropped",
                     P->max);
    } else {
        if (P->tail != NULL) {
            P->tail->next = p;
        } else {
            P->head = p;
        }
        P->tail = p;
        P->n++;
        P->st.queued++;
        p = NULL;
        pthread_cond_broadcast(&P->cv);
    }
    pthread_mutex_unlock(&P->mu);
    post_free(p);
    return rc;
}

int
sq_poster_flush(struct sq_poster *P, int64_t timeout_ms)
{
    int64_t end = sq_mono_ms() + timeout_ms;
    int done;

    pthread_mutex_lock(&P->mu);
    while ((P->head != NULL || P->busy) && sq_mono_ms() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&P->cv, &P->mu, &ts);
    }
    done = P->head == NULL && !P->busy;
    pthread_mutex_unlock(&P->mu);
    return done;
}

void
sq_poster_stats(struct sq_poster *P, struct sq_poster_stats *out)
{
    pthread_mutex_lock(&P->mu);
    *out = P->st;
    pthread_mutex_unlock(&P->mu);
}

void
sq_poster_free(struct sq_poster *P, int64_t drain_ms)
{
    struct post *p;

    if (P == NULL) {
        return;
    }
    if (drain_ms > 0) {
        sq_poster_flush(P, drain_ms);
    }
    pthread_mutex_lock(&P->mu);
    P->stopping = true;
    /* Whatever is still queued is dropped now. */
    while (P->head != NULL) {
        p = P->head;
        P->head = p->next;
        P->st.dropped++;
        post_free(p);
    }
    P->tail = NULL;
    P->n = 0;
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
    pthread_join(P->thread, NULL);
    pthread_mutex_destroy(&P->mu);
    pthread_cond_destroy(&P->cv);
    sq_free(P);
}
