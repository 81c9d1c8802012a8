/* SPDX-License-Identifier: MIT
 *
 * mon_api_ns.c: one monitor over several namespaces (`syncq monitor
 * serve --namespace a,b`, docs/scaling.md). Each namespace has its own
 * context (struct sq_api_server: client, figures, history, alerts), so
 * every handler stays single-namespace; a request picks its context with
 * ?ns=NS (the first namespace by default). /metrics is the one answer
 * over all of them: each context's exposition, merged family by family
 * with a namespace label on every sample.
 */
#include "monitor/mon_api_http.h"
#include "monitor/mon_alerts.h"
#include "monitor/mon_http.h"
#include "monitor/mon_page.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syncq/config.h>

static const char *
ns_of(const struct sq_api_server *T)
{
    return syncq_config_str(T->cfg, "SYNCQ_NAMESPACE");
}

/* The context of one more namespace (cfg): S's access settings, its own
 * client, figures and alert state. */
static int
ns_context(struct sq_api_server *S, const syncq_config *cfg,
           const struct sq_mon_serve_opts *o, struct sq_api_server **out,
           syncq_error *err)
{
    struct sq_api_server *T = sq_calloc(1, sizeof *T);
    int rc = SYNCQ_OK;

    if (T == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&T->mu, NULL);
    T->cfg = cfg;
    T->token = S->token;
    T->api_token = S->api_token;
    T->named = S->named;
    T->listen = S->listen;
    T->max_body = S->max_body;
    T->session_ttl_s = S->session_ttl_s;
    T->idem_ttl_ms = S->idem_ttl_ms;
    snprintf(T->why, sizeof T->why, "not connected yet");
    sq_mon_opts_init(&T->opts, cfg);
    if (!o->no_alerts) {
        rc = sq_alerts_new(cfg, o->rules_path, &T->alerts, err);
    }
    if (rc != SYNCQ_OK) {
        pthread_mutex_destroy(&T->mu);
        sq_free(T);
        return rc;
    }
    *out = T;
    return SYNCQ_OK;
}

/* Free a context's own parts (not the access settings it shares). */
static void
ns_context_free(struct sq_api_server *T)
{
    sq_alerts_flush(T->alerts, 2000);
    sq_alerts_free(T->alerts);
    sq_mon_data_cleanup(&T->data);
    json_decref(T->health);
    syncq_client_close(T->c);
    pthread_mutex_destroy(&T->mu);
}

int
sq_api_ns_open(struct sq_api_server *S, const struct sq_mon_serve_opts *o,
               syncq_error *err)
{
    int rc = SYNCQ_OK;

    if (o->nmore == 0) {
        return SYNCQ_OK;
    }
    S->ns_all = sq_calloc(o->nmore + 1, sizeof *S->ns_all);
    if (S->ns_all == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    S->ns_all[0] = S;
    S->nns = 1;
    for (size_t i = 0; i < o->nmore && rc == SYNCQ_OK; i++) {
        rc = ns_context(S, o->more_cfg[i], o, &S->ns_all[i + 1], err);
        S->nns += rc == SYNCQ_OK;
    }
    for (size_t i = 1; i < S->nns; i++) {
        S->ns_all[i]->ns_all = S->ns_all;
        S->ns_all[i]->nns = S->nns;
    }
    return rc;
}

void
sq_api_ns_close(struct sq_api_server *S)
{
    for (size_t i = 1; i < S->nns; i++) {
        ns_context_free(S->ns_all[i]);
        sq_free(S->ns_all[i]);
    }
    sq_free(S->ns_all);
    S->ns_all = NULL;
    S->nns = 0;
}

struct sq_api_server *
sq_api_ns_default(struct sq_api_server *S)
{
    return S->nns <= 1 ? S : S->ns_all[0];
}

struct sq_api_server *
sq_api_ns_pick(struct sq_api_server *S, const struct sq_api_req *q,
               struct sq_api_reply *r)
{
    const char *want = sq_api_arg(q, "ns");
    char msg[200];

    if (want == NULL) {
        return sq_api_ns_default(S);
    }
    if (S->nns <= 1 && strcmp(ns_of(S), want) == 0) {
        return S;
    }
    for (size_t i = 0; S->nns > 1 && i < S->nns; i++) {
        if (strcmp(ns_of(S->ns_all[i]), want) == 0) {
            return S->ns_all[i];
        }
    }
    snprintf(msg, sizeof msg,
             "namespace '%.64s' is not served here (see /api/namespaces)",
             want);
    sq_api_error(r, 404, "ENOTFOUND", msg, NULL);
    return NULL;
}

bool
sq_api_route_takes_ns(int kind)
{
    /* liveness never reads Redis; the document and the list of
     * namespaces are the same for all; /metrics labels every namespace */
    return kind != SQ_R_LIVE && kind != SQ_R_OPENAPI &&
           kind != SQ_R_NAMESPACES && kind != SQ_R_METRICS;
}

void
sq_api_h_namespaces(struct sq_api_server *S, const struct sq_api_req *q,
                    struct sq_api_reply *r)
{
    json_t *o = json_object(), *a = json_array();
    size_t n = S->nns > 1 ? S->nns : 1;

    (void)q;
    for (size_t i = 0; i < n; i++) {
        const struct sq_api_server *T = S->nns > 1 ? S->ns_all[i] : S;
        json_array_append_new(a, json_string(ns_of(T)));
    }
    json_object_set_new(o, "namespaces", a);
    json_object_set_new(o, "default",
                        json_string(ns_of(S->nns > 1 ? S->ns_all[0] : S)));
    sq_api_json(r, 200, o);
    json_decref(o);
}

/* ---- /metrics over several namespaces -------------------------------- */

/* A metric family: its HELP/TYPE lines and the samples of every
 * namespace, in the order first seen. */
struct family {
    char name[128];
    size_t from; /* the namespace whose HELP/TYPE lines it keeps */
    struct sq_buf head, samples;
};

struct merge {
    struct family *f;
    size_t n, cap;
    size_t ns; /* the namespace being merged */
};

static struct family *
family_of(struct merge *m, const char *name, size_t len, bool *isnew)
{
    struct family *f;

    *isnew = false;
    if (len >= sizeof m->f[0].name) {
        len = sizeof m->f[0].name - 1;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (strlen(m->f[i].name) == len &&
            memcmp(m->f[i].name, name, len) == 0) {
            return &m->f[i];
        }
    }
    if (m->n == m->cap) {
        size_t cap = m->cap != 0 ? m->cap * 2 : 64;
        struct family *nf = sq_realloc(m->f, cap * sizeof *nf);
        if (nf == NULL) {
            return NULL;
        }
        m->f = nf;
        m->cap = cap;
    }
    f = &m->f[m->n++];
    memcpy(f->name, name, len);
    f->name[len] = '\0';
    f->from = m->ns;
    sq_buf_init(&f->head, (size_t)1 << 20);
    sq_buf_init(&f->samples, (size_t)64 << 20);
    *isnew = true;
    return f;
}

/* A label value as the text format wants it (\\, \", \n escaped). */
static void
label_value(struct sq_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"') {
            sq_buf_printf(b, "\\%c", *s);
        } else if (*s == '\n') {
            sq_buf_adds(b, "\\n");
        } else {
            sq_buf_add(b, s, 1);
        }
    }
}

/* One sample line with namespace="ns" as its first label. */
static void
add_sample(struct sq_buf *b, const char *line, size_t len, const char *ns)
{
    size_t name = strcspn(line, "{ ");

    if (name > len) {
        name = len;
    }
    sq_buf_add(b, line, name);
    sq_buf_adds(b, "{namespace=\"");
    label_value(b, ns);
    sq_buf_adds(b, "\"");
    if (name < len && line[name] == '{') {
        if (line[name + 1] != '}') {
            sq_buf_adds(b, ",");
        }
        sq_buf_add(b, line + name + 1, len - name - 1);
    } else {
        sq_buf_adds(b, "}");
        sq_buf_add(b, line + name, len - name);
    }
    sq_buf_adds(b, "\n");
}

/* One namespace's exposition into the families. */
static int
merge_text(struct merge *m, const char *text, const char *ns)
{
    struct family *cur = NULL;

    for (const char *p = text; *p != '\0';) {
        size_t len = strcspn(p, "\n");
        bool isnew;

        if (len > 7 && (strncmp(p, "# HELP ", 7) == 0 ||
                        strncmp(p, "# TYPE ", 7) == 0)) {
            const char *nm = p + 7;
            cur = family_of(m, nm, strcspn(nm, " \n"), &isnew);
            if (cur == NULL) {
                return -1;
            }
            if (cur->from == m->ns) { /* a family's HELP and TYPE, once */
                sq_buf_add(&cur->head, p, len);
                sq_buf_adds(&cur->head, "\n");
            }
        } else if (len > 0 && p[0] != '#') {
            if (cur == NULL) {
                cur = family_of(m, "", 0, &isnew);
                if (cur == NULL) {
                    return -1;
                }
            }
            add_sample(&cur->samples, p, len, ns);
        }
        p += len;
        p += *p == '\n';
    }
    return 0;
}

/* One context's exposition (its mutex taken here). Owned, or NULL. */
static char *
metrics_of(struct sq_api_server *T, const struct sq_api_req *q)
{
    struct sq_api_reply rr;

    memset(&rr, 0, sizeof rr);
    pthread_mutex_lock(&T->mu);
    T->requests++;
    sq_api_h_metrics(T, q, &rr);
    pthread_mutex_unlock(&T->mu);
    if (rr.status != 200) {
        sq_free(rr.body);
        return NULL;
    }
    return rr.body;
}

void
sq_api_metrics_all(struct sq_api_server *S, const struct sq_api_req *q,
                   struct sq_api_reply *r)
{
    struct merge m = {0};
    struct sq_buf out;
    int bad = 0;

    for (size_t i = 0; i < S->nns && bad == 0; i++) {
        char *text = metrics_of(S->ns_all[i], q);
        m.ns = i;
        bad = text == NULL || merge_text(&m, text, ns_of(S->ns_all[i])) != 0;
        sq_free(text);
    }
    sq_buf_init(&out, (size_t)256 << 20);
    for (size_t i = 0; i < m.n; i++) {
        if (bad == 0 && m.f[i].head.len > 0) {
            bad = sq_buf_add(&out, m.f[i].head.data, m.f[i].head.len);
        }
        if (bad == 0 && m.f[i].samples.len > 0) {
            bad = sq_buf_add(&out, m.f[i].samples.data, m.f[i].samples.len);
        }
        sq_buf_cleanup(&m.f[i].head);
        sq_buf_cleanup(&m.f[i].samples);
    }
    sq_free(m.f);
    sq_buf_add(&out, "", 0);
    r->body = bad == 0 ? sq_buf_steal(&out) : NULL;
    sq_buf_cleanup(&out);
    if (r->body == NULL) {
        sq_api_error(r, 500, "ENOMEM", "out of memory", NULL);
        return;
    }
    r->status = 200;
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    r->len = strlen(r->body);
}

/* A namespace as a query value: bytes outside [A-Za-z0-9_.-]
 * percent-encoded (so the result needs no HTML escaping either). */
static void
query_value(struct sq_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-') {
            sq_buf_add(b, s, 1);
        } else {
            sq_buf_printf(b, "%%%02X", c);
        }
    }
}

void
sq_api_ns_nav(const struct sq_api_server *S, const char *cur,
              struct sq_buf *out)
{
    if (S->nns <= 1) {
        return;
    }
    sq_buf_adds(out, " <nav id=\"namespaces\" class=\"nsnav\">namespace:");
    for (size_t i = 0; i < S->nns; i++) {
        const char *ns = ns_of(S->ns_all[i]);
        /* "?ns=NS": the same page, in that namespace */
        sq_buf_adds(out, " <a href=\"?ns=");
        query_value(out, ns);
        sq_buf_adds(out, strcmp(ns, cur) == 0 ? "\" class=\"on\">" : "\">");
        sq_page_esc(out, ns);
        sq_buf_adds(out, "</a>");
    }
    sq_buf_adds(out, "</nav>");
}
