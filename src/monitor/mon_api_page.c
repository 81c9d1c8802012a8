/* SPDX-License-Identifier: MIT
 *
 * mon_api_page.c: the dashboard's HTML pages and its sign-in. Each page
 * is an embedded template (the .html files of src/monitor/web/)
 * rendered with the cached figures (mon_page.c), so its first response
 * shows data; the page's script then polls the JSON API. Sign-in turns a token typed
 * into a form into a signed, expiring session cookie (mon_session.h);
 * the token itself never reaches a cookie.
 */
#include "monitor/mon_api_http.h"
#include "monitor/mon_page.h"
#include "monitor/mon_session.h"
#include "monitor/mon_tokens.h"
#include "sq_alloc.h"
#include "core/sq_embed.h"
#include "core/sq_log.h"
#include "core/sq_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/syncq.h>
#include <syncq/version.h>

bool
sq_api_has_tokens(const struct sq_api_server *S)
{
    return S->token[0] != '\0' || S->api_token[0] != '\0' ||
           (S->named != NULL && S->named->n > 0);
}

void
sq_api_session_cookie(struct sq_api_server *S, struct sq_api_reply *r,
                      char level, const struct sq_token_ent *e)
{
    char v[SQ_SESSION_MAX];
    int64_t exp;

    if (level == 0 && e == NULL) {
        snprintf(r->cookie, sizeof r->cookie,
                 SQ_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; "
                                   "Max-Age=0");
        return;
    }
    exp = sq_now_ms() / 1000 + S->session_ttl_s;
    if (e != NULL) {
        sq_tokens_session(e, exp, v); /* v2: carries the person's name */
    } else {
        sq_session_make(level, exp, level == 'w' ? S->api_token : S->token,
                        v);
    }
    snprintf(r->cookie, sizeof r->cookie,
             SQ_SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; "
                               "Max-Age=%lld",
             v, (long long)S->session_ttl_s);
}

/* Render embedded template `file` with kv into r (status `status`). */
static void
reply_page(struct sq_api_reply *r, int status, const char *file,
           const char *const *kv)
{
    const struct sq_embedded *f = sq_embed_find(sq_web_files, file);

    if (f == NULL) {
        sq_api_error(r, 500, "EINTERNAL", "page template missing", NULL);
        return;
    }
    sq_free(r->body);
    r->body = sq_page_render((const char *)f->data, f->len, kv);
    if (r->body == NULL) {
        sq_api_error(r, 500, "ENOMEM", "out of memory", NULL);
        return;
    }
    r->status = status;
    r->ctype = "text/html; charset=utf-8";
    r->len = strlen(r->body);
}

/* An escaped copy of s (owned). */
static char *
esc_dup(const char *s)
{
    struct sq_buf b;
    char *out;

    sq_buf_init(&b, 1 << 20);
    sq_page_esc(&b, s);
    sq_buf_add(&b, "", 0);
    out = sq_buf_steal(&b);
    sq_buf_cleanup(&b);
    return out;
}

static void
login_page(struct sq_api_reply *r, int status, const char *next,
           const char *msg)
{
    char *n = esc_dup(sq_session_next_ok(next) ? next : "/");
    char *m = esc_dup(msg);
    const char *kv[] = {"next", n != NULL ? n : "/", "message",
                        m != NULL ? m : "", "version",
                        SYNCQ_VERSION_STRING, NULL};

    reply_page(r, status, "login.html", kv);
    sq_free(n);
    sq_free(m);
}

/* GET /login, POST /login (form: token, next), POST /logout. */
void
sq_api_h_login(struct sq_api_server *S, const struct sq_api_req *q,
               struct sq_api_reply *r)
{
    char token[512], next[512];
    const struct sq_token_ent *named;
    char level;

    if (q->rt->kind == SQ_R_LOGOUT) {
        sq_api_session_cookie(S, r, 0, NULL);
        SQ_INFO("monitor.signout", "who=%s", q->who);
        r->status = 303;
        r->ctype = "text/plain";
        snprintf(r->location, sizeof r->location, "/login");
        return;
    }
    if (q->rt->kind == SQ_R_LOGIN) {
        const char *nx = sq_api_arg(q, "next");
        if (!sq_api_has_tokens(S)) {
            r->status = 303; /* no token configured: nothing to sign in */
            r->ctype = "text/plain";
            snprintf(r->location, sizeof r->location, "/");
            return;
        }
        login_page(r, 200, nx, "");
        return;
    }
    if (!sq_session_form_field(q->body, q->body_len, "next", next,
                               sizeof next) ||
        !sq_session_next_ok(next)) {
        snprintf(next, sizeof next, "/");
    }
    if (!sq_session_form_field(q->body, q->body_len, "token", token,
                               sizeof token)) {
        token[0] = '\0';
    }
    level = sq_session_level_of(token, S->token, S->api_token);
    named = S->named != NULL ? sq_tokens_find(S->named, token) : NULL;
    if (level == 0 && named == NULL) {
        SQ_WARN("monitor.signin_failed", "reason=%s",
                token[0] == '\0' ? "no_token" : "bad_token");
        login_page(r, 401, next,
                   token[0] == '\0' ? "Enter a token."
                                    : "That token is not valid.");
        return;
    }
    sq_api_session_cookie(S, r, level, named);
    SQ_INFO("monitor.signin", "who=%s ttl_s=%lld",
            named != NULL ? named->name
            : level == 'w' ? SQ_WHO_API : SQ_WHO_MONITOR,
            (long long)S->session_ttl_s);
    r->status = 303;
    r->ctype = "text/plain";
    snprintf(r->location, sizeof r->location, "%s", next);
}

/* A page route's template, title and script. */
struct page_def {
    const char *path, *file, *title, *script;
};

static const struct page_def *
page_of(const struct sq_route *rt)
{
    static const struct page_def pages[] = {
        {"/", "index.html", "monitor", "app.js"},
        {"/index.html", "index.html", "monitor", "app.js"},
        {"/tasks", "tasks.html", "tasks", "tasks.js"},
        {"/task/{id}", "task.html", "task", "task.js"},
        {"/workers", "workers.html", "workers", "workers.js"},
        {"/worker/{name}", "worker.html", "worker", "workers.js"},
        {"/queues", "queues.html", "queues", "queues.js"},
        {"/catalog", "catalog.html", "catalog", "catalog.js"}};

    for (size_t i = 1; i < sizeof pages / sizeof pages[0]; i++) {
        if (strcmp(rt->def->path, pages[i].path) == 0) {
            return &pages[i];
        }
    }
    return &pages[0];
}

/* Render embedded file `name` with kv (owned result, NULL if missing). */
static char *
render_file(const char *name, const char *const *kv)
{
    const struct sq_embedded *f = sq_embed_find(sq_web_files, name);

    return f != NULL ? sq_page_render((const char *)f->data, f->len, kv)
                     : NULL;
}

/* What a page's script starts from: the snapshot, the page's argument,
 * the task record of a task page, who is signed in and what they may do. */
static json_t *
boot_json(struct sq_api_server *S, const struct sq_api_req *q, json_t *task)
{
    json_t *b = json_object();

    json_object_set(b, "snapshot", S->have ? S->data.snap : json_null());
    json_object_set(b, "health", S->health);
    json_object_set_new(b, "arg", json_string(q->rt->arg));
    json_object_set_new(b, "who", json_string(q->who));
    json_object_set_new(b, "can_write",
                        json_boolean(q->access == SQ_ACCESS_WRITE));
    json_object_set_new(b, "signed_in", json_boolean(sq_api_has_tokens(S)));
    json_object_set_new(b, "version", json_string(SYNCQ_VERSION_STRING));
    if (task != NULL) {
        json_object_set(b, "task", task);
    }
    return b;
}

/* The task page's record, read server-side (NULL: none; *status 404). */
static json_t *
task_record(struct sq_api_server *S, const char *id, int *status)
{
    syncq_client *c = sq_api_client(S, NULL);
    json_t *t = NULL;
    syncq_error e;

    if (c == NULL || syncq_task_info(c, id, &t, &e) != SYNCQ_OK) {
        *status = c == NULL ? 503 : 404;
        return NULL;
    }
    return t;
}

void
sq_api_h_page(struct sq_api_server *S, const struct sq_api_req *q,
              struct sq_api_reply *r)
{
    const struct page_def *pg = page_of(q->rt);
    const char *file = pg->file;
    const json_t *snap;
    const char *hs;
    struct sq_buf tiles, qrows, wrows, boot, ssr, nav;
    json_t *task = NULL, *bj, *sums = NULL;
    char at[64] = "-", at_iso[64] = "";
    char *harg;
    int status = 200;

    sq_api_refresh(S, false);
    snap = S->have ? S->data.snap : NULL;
    hs = json_string_value(json_object_get(S->health, "status"));
    sq_buf_init(&tiles, 1 << 20);
    sq_buf_init(&qrows, 4 << 20);
    sq_buf_init(&wrows, 4 << 20);
    sq_buf_init(&boot, 64 << 20);
    sq_buf_init(&ssr, 16 << 20);
    sq_buf_init(&nav, 1 << 20);
    sq_api_ns_nav(S, syncq_config_str(S->cfg, "SYNCQ_NAMESPACE"), &nav);
    sq_page_tiles(&tiles, snap);
    sq_page_queue_rows(&qrows, snap);
    sq_page_worker_rows(&wrows, snap);
    if (strcmp(file, "catalog.html") == 0) {
        sq_api_summary_rows(S, "catalog", &ssr, &sums); /* mon_api_summary.c */
    }
    if (strcmp(file, "task.html") == 0) {
        task = task_record(S, q->rt->arg, &status);
        if (task != NULL) {
            char *pretty = json_dumps(task, JSON_INDENT(2) |
                                                JSON_PRESERVE_ORDER);
            sq_page_esc(&ssr, pretty);
            free(pretty); /* jansson's allocator */
        } else {
            sq_buf_adds(&ssr, status == 404 ? "no such task (unknown id, "
                                              "or its record expired)"
                                            : "Redis is unreachable");
        }
    }
    if (S->have) {
        snprintf(at_iso, sizeof at_iso, "%s",
                 json_string_value(json_object_get(snap, "at")));
        /* 2026-12-07T08:20:03.644Z -> 2026-12-07 08:20:03 +00:00 */
        snprintf(at, sizeof at, "%.10s %.8s +00:00", at_iso, at_iso + 11);
    }
    bj = boot_json(S, q, task);
    if (sums != NULL) {
        json_object_set_new(bj, "summaries", sums);
    }
    sq_page_json(&boot, bj);
    json_decref(bj);
    json_decref(task);
    sq_buf_add(&tiles, "", 0);
    sq_buf_add(&qrows, "", 0);
    sq_buf_add(&wrows, "", 0);
    sq_buf_add(&boot, "", 0);
    sq_buf_add(&ssr, "", 0);
    sq_buf_add(&nav, "", 0);
    harg = esc_dup(q->rt->arg);
    {
        const char *kv[] = {"health", hs != NULL ? hs : "unknown",
                            "tiles", tiles.data != NULL ? tiles.data : "",
                            "queue_rows", qrows.data != NULL ? qrows.data : "",
                            "worker_rows", wrows.data != NULL ? wrows.data : "",
                            "boot", boot.data != NULL ? boot.data : "null",
                            "ssr", ssr.data != NULL ? ssr.data : "",
                            "arg", harg != NULL ? harg : "",
                            "updated", at,
                            "updated_iso", at_iso,
                            "who", q->who,
                            "nsnav", nav.data != NULL ? nav.data : "",
                            "version", SYNCQ_VERSION_STRING,
                            "title", pg->title,
                            "page", pg->title,
                            "script", pg->script,
                            "top", NULL,
                            "bottom", NULL,
                            NULL};
        size_t n = sizeof kv / sizeof kv[0];
        /* the shared parts first, then the page with them in its slots */
        char *top = render_file("_top.html", kv);
        char *bottom = render_file("_bottom.html", kv);
        kv[n - 4] = top;
        kv[n - 2] = bottom;
        reply_page(r, status, file, kv);
        sq_free(top);
        sq_free(bottom);
    }
    sq_free(harg);
    sq_buf_cleanup(&tiles);
    sq_buf_cleanup(&qrows);
    sq_buf_cleanup(&wrows);
    sq_buf_cleanup(&boot);
    sq_buf_cleanup(&ssr);
    sq_buf_cleanup(&nav);
}
