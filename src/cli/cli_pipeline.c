/* SPDX-License-Identifier: MIT
 *
 * cli_pipeline.c: run and follow the catalog sync pipeline (see
 * cli_pipeline.h). Following a fan-out tree uses the workflow counters
 * of its root task (syncq_workflow_info): the tree has ended when the
 * root is final and nothing under it is pending.
 */
#include "cli/cli_pipeline.h"
#include "cli/cli.h"
#include "broker/broker.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/recovery.h>

/* Display order and labels of the stages. */
static const struct {
    const char *task;
    const char *label;
} stages[] = {
    {"crawler.sync_category", "categories"},
    {"crawler.fetch_products", "listing pages"},
    {"crawler.fetch_product_details", "offer details"},
    {"crawler.fetch_suppliers", "suppliers"},
    {"image_processing.download_images", "image batches"},
    {"image_processing.generate_thumbnails", "thumbnails"},
    {"image_processing.optimize_images", "optimised"},
    {"image_processing.resize_images", "resized"},
};

static const char *steps[] = {"data_sync.sync_suppliers",
                              "data_sync.sync_products",
                              "data_sync.validate_data",
                              "data_sync.cleanup_duplicates"};

struct follow {
    const struct cli_pipeline_opts *o;
    int lines_drawn;     /* lines of the last TTY frame */
    int64_t started_ms;
    int64_t last_plain_ms;
    double rate;         /* tasks/s, smoothed */
    int64_t last_done;
    int64_t last_ms;
};

static const char *
label_of(const char *task)
{
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        if (strcmp(stages[i].task, task) == 0) {
            return stages[i].label;
        }
    }
    return task;
}

static void
bar(char *out, size_t cap, double frac, int width)
{
    int full = (int)(frac * width + 0.5);
    size_t o = 0;

    if (full > width) {
        full = width;
    }
    for (int i = 0; i < width && o + 4 < cap; i++) {
        if (i < full) {
            memcpy(out + o, "\xe2\x96\x88", 3); /* full block */
            o += 3;
        } else {
            out[o++] = '.';
        }
    }
    out[o] = '\0';
}

/* Merge the by_task counts of every root into `stages_out`. */
static void
merge(json_t *stages_out, json_t *w)
{
    const char *name;
    json_t *t;

    json_object_foreach(json_object_get(w, "by_task"), name, t) {
        json_t *acc = json_object_get(stages_out, name);
        if (acc == NULL) {
            acc = json_pack("{s:I,s:I,s:I}", "total", (json_int_t)0, "done",
                            (json_int_t)0, "failed", (json_int_t)0);
            json_object_set_new(stages_out, name, acc);
        }
        static const char *keys[] = {"total", "done", "failed"};
        for (int k = 0; k < 3; k++) {
            json_int_t v = json_integer_value(json_object_get(acc, keys[k])) +
                           json_integer_value(json_object_get(t, keys[k]));
            json_object_set_new(acc, keys[k], json_integer(v));
        }
    }
}

static void
render(struct follow *f, json_t *stagemap, json_t *roots_info,
       const char *phase)
{
    const struct cli_pipeline_opts *o = f->o;
    FILE *out = o->out;
    int64_t now = sq_mono_ms();
    int64_t total = 0, done = 0, failed = 0, expected;
    int lines = 0;
    char buf[256], eta[32], el[32];
    const char *name;
    json_t *t;

    json_object_foreach(stagemap, name, t) {
        total += json_integer_value(json_object_get(t, "total"));
        done += json_integer_value(json_object_get(t, "done"));
        failed += json_integer_value(json_object_get(t, "failed"));
    }
    if (f->last_ms > 0 && now > f->last_ms) {
        double inst = (double)(done + failed - f->last_done) * 1000.0 /
                      (double)(now - f->last_ms);
        f->rate = f->rate == 0 ? inst : 0.7 * f->rate + 0.3 * inst;
    }
    f->last_done = done + failed;
    f->last_ms = now;
    expected = cli_pipeline_projected_total(stagemap, roots_info, total);
    if (f->rate > 0.01 && expected > done + failed) {
        sq_duration_format((int64_t)((double)(expected - done - failed) /
                                     f->rate * 1000.0),
                           eta, sizeof eta);
    } else {
        snprintf(eta, sizeof eta, "-");
    }
    sq_duration_format(now - f->started_ms, el, sizeof el);
    if (!o->tty) {
        if (now - f->last_plain_ms < 5000 && f->last_plain_ms != 0) {
            return;
        }
        f->last_plain_ms = now;
        fprintf(out, "[%s] %s: %lld/%lld tasks done, %lld failed, %.1f "
                     "tasks/s, ETA %s (~%lld tasks expected in all)\n",
                el, phase, (long long)done, (long long)total,
                (long long)failed, f->rate, eta, (long long)expected);
        fflush(out);
        return;
    }
    if (f->lines_drawn > 0) {
        fprintf(out, "\033[%dA", f->lines_drawn);
    }
    fprintf(out, "\033[2K%s%s%s  elapsed %s\n", o->color ? "\033[1m" : "",
            phase, o->color ? "\033[0m" : "", el);
    lines++;
    {
        size_t i;
        json_t *ri;
        json_array_foreach(roots_info, i, ri) {
            json_t *p = json_object_get(ri, "progress");
            const char *msg = json_string_value(json_object_get(p, "message"));
            fprintf(out, "\033[2K  category %-12s %-9s %s\n",
                    json_string_value(json_object_get(ri, "category")),
                    json_string_value(json_object_get(ri, "state")),
                    msg ? msg : "");
            lines++;
        }
    }
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        json_t *s = json_object_get(stagemap, stages[i].task);
        json_int_t st, sd, sf;
        if (s == NULL || i == 0) {
            continue;
        }
        st = json_integer_value(json_object_get(s, "total"));
        sd = json_integer_value(json_object_get(s, "done"));
        sf = json_integer_value(json_object_get(s, "failed"));
        bar(buf, sizeof buf, st > 0 ? (double)(sd + sf) / (double)st : 0, 24);
        fprintf(out, "\033[2K  %-14s %s %6lld/%-6lld %s\n", label_of(stages[i].task),
                buf, (long long)(sd + sf), (long long)st,
                sf > 0 ? "(some failed)" : "");
        lines++;
    }
    bar(buf, sizeof buf, total > 0 ? (double)(done + failed) / (double)total
                                   : 0,
        24);
    fprintf(out, "\033[2K  %-14s %s %6lld/%-6lld %.1f tasks/s  ETA %s "
            "(~%lld expected)\n",
            "overall", buf, (long long)(done + failed), (long long)total,
            f->rate, eta, (long long)expected);
    lines++;
    fflush(out);
    f->lines_drawn = lines;
}

/* Note in res->times when each stage's count of ended tasks moved. */
static void
note_times(struct cli_pipeline_result *res, json_t *stagemap, int64_t t_ms)
{
    const char *name;
    json_t *s;

    json_object_foreach(stagemap, name, s) {
        json_int_t ended = json_integer_value(json_object_get(s, "done")) +
                           json_integer_value(json_object_get(s, "failed"));
        json_t *t = json_object_get(res->times, name);
        if (ended == 0) {
            continue;
        }
        if (t == NULL) {
            json_object_set_new(res->times, name,
                                json_pack("{s:I,s:I,s:I}", "first_ms",
                                          (json_int_t)t_ms, "last_ms",
                                          (json_int_t)t_ms, "ended", ended));
        } else if (ended > json_integer_value(json_object_get(t, "ended"))) {
            json_object_set_new(t, "last_ms", json_integer(t_ms));
            json_object_set_new(t, "ended", json_integer(ended));
        }
    }
}

/* Wait `ms` between two looks, letting the caller do its chores. */
static void
pause_for(const struct cli_pipeline_opts *o, int ms)
{
    if (o->idle != NULL) {
        o->idle(o->idle_ud, ms);
    } else {
        sq_sleep_ms(ms);
    }
}

static int
wait_step(syncq_client *c, struct follow *f, const char *name,
          const char *kwargs, const char *root, json_t **result,
          syncq_error *err)
{
    syncq_task_options o;
    char id[SYNCQ_ID_SIZE];
    json_t *t = NULL;
    int rc;
    const char *state;

    *result = NULL;
    syncq_task_options_init(&o);
    o.root_id = root;
    rc = syncq_task_create(c, name, NULL, kwargs, &o, id, NULL, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    for (;;) {
        rc = syncq_task_wait(c, id, 0, &t, err);
        if (rc == SYNCQ_OK) {
            break;
        }
        if (rc != SYNCQ_ETIMEDOUT) {
            return rc;
        }
        if (f->o->tty) {
            json_t *p = json_object_get(t, "progress");
            fprintf(f->o->out, "\033[2K  %-30s %s %lld/%lld %s\r", name,
                    json_string_value(json_object_get(t, "state")),
                    (long long)json_integer_value(json_object_get(p, "current")),
                    (long long)json_integer_value(json_object_get(p, "total")),
                    json_string_value(json_object_get(p, "message"))
                        ? json_string_value(json_object_get(p, "message"))
                        : "");
            fflush(f->o->out);
        }
        json_decref(t);
        t = NULL;
        if (f->o->stop != NULL && *f->o->stop) {
            return sq_fail(err, SYNCQ_ESTATE, "stopped while waiting for %s",
                           name);
        }
        pause_for(f->o, 250);
    }
    state = json_string_value(json_object_get(t, "state"));
    fprintf(f->o->out, "%s  %-30s %s %s\n", f->o->tty ? "\033[2K" : "", name,
            state ? state : "?",
            json_is_object(json_object_get(t, "result")) ? "" : "");
    *result = t;
    return SYNCQ_OK;
}

static int64_t
stats_sum(syncq_client *c, const char *kind)
{
    char key[128];
    redisReply *r = NULL;
    int64_t sum = 0;
    size_t kl = strlen(kind);

    if (sq_client_cmd(c, &r, NULL, "HGETALL %s",
                      sq_key(c, key, sizeof key, "stats")) != SYNCQ_OK) {
        return 0;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str;
        if (strncmp(f, kind, kl) == 0 && f[kl] == '|' &&
            strchr(f + kl + 1, '|') != NULL &&
            strchr(strchr(f + kl + 1, '|') + 1, '|') == NULL) {
            sum += strtoll(r->element[i + 1]->str, NULL, 10);
        }
    }
    freeReplyObject(r);
    return sum;
}

/* Category syncs in progress are remembered in {ns}:sync:active
 * (category -> root task id) until their tree has ended, so a sync that
 * was interrupted (the follower stopped, the workers killed, the whole
 * stack stopped: Redis keeps it with AOF) is resumed by the next run
 * instead of started again: its tasks carry on from their checkpoints. */
static bool
resume_active(syncq_client *c, const char *category, char id[SYNCQ_ID_SIZE])
{
    char key[128];
    redisReply *r = NULL;
    json_t *t = NULL, *w = NULL;
    bool ongoing = false;

    if (sq_client_cmd(c, &r, NULL, "HGET %s %s",
                      sq_key(c, key, sizeof key, "sync:active"),
                      category) != SYNCQ_OK) {
        return false;
    }
    if (r->type == REDIS_REPLY_STRING && r->len < SYNCQ_ID_SIZE) {
        snprintf(id, SYNCQ_ID_SIZE, "%s", r->str);
        if (syncq_task_info(c, id, &t, NULL) == SYNCQ_OK &&
            syncq_workflow_info(c, id, &w, NULL) == SYNCQ_OK) {
            const char *st = json_string_value(json_object_get(t, "state"));
            ongoing = !sq_state_is_final(st) ||
                      json_integer_value(json_object_get(w, "pending")) > 0;
        }
    }
    freeReplyObject(r);
    json_decref(t);
    json_decref(w);
    return ongoing;
}

static void
active_set(syncq_client *c, const char *category, const char *id)
{
    char key[128];
    redisReply *r = NULL;

    if (sq_client_cmd(c, &r, NULL, "HSET %s %s %s",
                      sq_key(c, key, sizeof key, "sync:active"), category,
                      id) == SYNCQ_OK) {
        freeReplyObject(r);
    }
}

static void
active_clear(syncq_client *c, const char *category)
{
    char key[128];
    redisReply *r = NULL;

    if (sq_client_cmd(c, &r, NULL, "HDEL %s %s",
                      sq_key(c, key, sizeof key, "sync:active"),
                      category) == SYNCQ_OK) {
        freeReplyObject(r);
    }
}

int
cli_pipeline_run(syncq_client *c, const struct cli_pipeline_opts *o,
                 struct cli_pipeline_result *res, syncq_error *err)
{
    struct follow f;
    char (*roots)[SYNCQ_ID_SIZE];
    int64_t start_wall = sq_now_ms();
    int64_t retried0 = stats_sum(c, "retried");
    int rc = SYNCQ_OK;
    json_t *roots_info = json_array();

    memset(res, 0, sizeof *res);
    memset(&f, 0, sizeof f);
    f.o = o;
    f.started_ms = sq_mono_ms();
    res->stages = json_object();
    res->times = json_object();
    res->steps = json_object();
    res->dead = json_array();
    res->failed = json_array();
    roots = calloc(o->ncategories ? o->ncategories : 1, SYNCQ_ID_SIZE);
    for (size_t i = 0; i < o->ncategories && rc == SYNCQ_OK; i++) {
        json_t *kw;
        char *kws;
        if (resume_active(c, o->categories[i], roots[i])) {
            fprintf(o->out, "category %s: resuming the unfinished sync %s "
                            "(completed pages are not fetched again)\n",
                    o->categories[i], roots[i]);
            continue;
        }
        kw = json_pack("{s:s,s:b}", "category_id", o->categories[i], "full",
                       o->full);
        if (o->max_pages > 0) {
            json_object_set_new(kw, "max_pages", json_integer(o->max_pages));
        }
        kws = json_dumps(kw, JSON_COMPACT);
        json_decref(kw);
        rc = syncq_task_create(c, "crawler.sync_category", NULL, kws, NULL,
                               roots[i], NULL, err);
        syncq_free(kws);
        if (rc == SYNCQ_OK) {
            active_set(c, o->categories[i], roots[i]);
        }
    }
    /* Follow the trees to their end. */
    while (rc == SYNCQ_OK) {
        bool all_done = true;
        json_t *stagemap = json_object();
        json_array_clear(roots_info);
        for (size_t i = 0; i < o->ncategories && rc == SYNCQ_OK; i++) {
            json_t *t = NULL, *w = NULL;
            rc = syncq_task_info(c, roots[i], &t, err);
            if (rc == SYNCQ_OK) {
                rc = syncq_workflow_info(c, roots[i], &w, err);
            }
            if (rc != SYNCQ_OK) {
                json_decref(t);
                break;
            }
            {
                const char *st = json_string_value(json_object_get(t, "state"));
                json_t *ri = json_pack("{s:s,s:s,s:O*}", "category",
                                       o->categories[i], "state",
                                       st ? st : "?", "progress",
                                       json_object_get(t, "progress"));
                json_array_append_new(roots_info, ri);
                merge(stagemap, w);
                /* count the root itself as the categories stage */
                {
                    json_t *cat = json_object_get(stagemap,
                                                  "crawler.sync_category");
                    if (cat == NULL) {
                        cat = json_pack("{s:I,s:I,s:I}", "total",
                                        (json_int_t)0, "done", (json_int_t)0,
                                        "failed", (json_int_t)0);
                        json_object_set_new(stagemap,
                                            "crawler.sync_category", cat);
                    }
                    json_object_set_new(
                        cat, "total",
                        json_integer(json_integer_value(
                                         json_object_get(cat, "total")) +
                                     1));
                    if (sq_state_is_final(st)) {
                        const char *k = strcmp(st, "SUCCESS") == 0 ? "done"
                                                                    : "failed";
                        json_object_set_new(
                            cat, k,
                            json_integer(json_integer_value(
                                             json_object_get(cat, k)) +
                                         1));
                    }
                }
                if (!sq_state_is_final(st) ||
                    json_integer_value(json_object_get(w, "pending")) > 0) {
                    all_done = false;
                }
            }
            json_decref(t);
            json_decref(w);
        }
        if (rc != SYNCQ_OK) {
            json_decref(stagemap);
            break;
        }
        render(&f, stagemap, roots_info, "syncing the catalog");
        json_decref(res->stages);
        res->stages = stagemap;
        note_times(res, stagemap, sq_now_ms() - start_wall);
        if (all_done) {
            for (size_t i = 0; i < o->ncategories; i++) {
                active_clear(c, o->categories[i]);
            }
            res->crawl_ms = sq_now_ms() - start_wall;
            if (o->crawled != NULL) {
                o->crawled(o->idle_ud);
            }
            break;
        }
        if (o->stop != NULL && *o->stop) {
            rc = sq_fail(err, SYNCQ_ESTATE,
                         "stopped following; the sync goes on in the "
                         "background");
            break;
        }
        if (o->timeout_ms > 0 &&
            sq_mono_ms() - f.started_ms > o->timeout_ms) {
            rc = sq_fail(err, SYNCQ_ETIMEDOUT,
                         "the crawl did not finish within %lld s",
                         (long long)(o->timeout_ms / 1000));
            break;
        }
        pause_for(o, o->tty ? 250 : 1000);
    }
    /* Then the database steps, one after the other. */
    for (size_t i = 0; rc == SYNCQ_OK && i < sizeof steps / sizeof steps[0];
         i++) {
        json_t *t = NULL;
        const char *kw = "{}";
        if (strcmp(steps[i], "data_sync.sync_products") == 0 ||
            strcmp(steps[i], "data_sync.sync_suppliers") == 0) {
            kw = o->full ? "{\"sync_type\":\"full\"}"
                         : "{\"sync_type\":\"incremental\"}";
        }
        if (i == 0) {
            fprintf(o->out, "database:\n");
        }
        rc = wait_step(c, &f, steps[i], kw, roots[0], &t, err);
        if (rc == SYNCQ_OK) {
            json_object_set_new(res->steps, strchr(steps[i], '.') + 1, t);
        }
    }
    res->completed = rc == SYNCQ_OK;
    /* Category syncs that did not succeed. */
    for (size_t i = 0; i < o->ncategories; i++) {
        json_t *t = NULL;
        if (syncq_task_info(c, roots[i], &t, NULL) == SYNCQ_OK) {
            const char *st = json_string_value(json_object_get(t, "state"));
            /* a category still running (retry pending, follower
             * stopped) has not failed */
            if (st != NULL && sq_state_is_final(st) &&
                strcmp(st, "SUCCESS") != 0) {
                json_array_append_new(
                    res->failed,
                    json_pack("{s:s,s:s,s:s,s:O?}", "category",
                              o->categories[i], "id", roots[i], "state", st,
                              "error", json_object_get(t, "error")));
            }
            json_decref(t);
        }
    }
    /* Dead letters of this run: tasks of our trees that died since the
     * start. */
    {
        syncq_dead_filter df = {0};
        json_t *dl = NULL;
        size_t total = 0;
        df.limit = 100000;
        if (syncq_dead_list(c, &df, &dl, &total, NULL) == SYNCQ_OK) {
            size_t i;
            json_t *t;
            json_array_foreach(dl, i, t) {
                const char *root = json_string_value(json_object_get(t,
                                                                     "root_id"));
                const char *id = json_string_value(json_object_get(t, "id"));
                bool ours = false;
                for (size_t k = 0; k < o->ncategories; k++) {
                    if ((root && strcmp(root, roots[k]) == 0) ||
                        (id && strcmp(id, roots[k]) == 0)) {
                        ours = true;
                    }
                }
                if (ours) {
                    json_array_append_new(
                        res->dead,
                        json_pack("{s:s?,s:s?,s:s?,s:O?}", "id", id, "name",
                                  json_string_value(json_object_get(t, "name")),
                                  "reason",
                                  json_string_value(
                                      json_object_get(t, "dead_reason")),
                                  "error", json_object_get(t, "error")));
                }
            }
            json_decref(dl);
        }
    }
    {
        const char *name;
        json_t *t;
        json_object_foreach(res->stages, name, t) {
            res->tasks += json_integer_value(json_object_get(t, "done")) +
                          json_integer_value(json_object_get(t, "failed"));
        }
        res->tasks += (int64_t)json_object_size(res->steps);
    }
    res->retries = stats_sum(c, "retried") - retried0;
    res->wall_ms = sq_now_ms() - start_wall;
    json_decref(roots_info);
    free(roots);
    return rc;
}

void
cli_pipeline_result_cleanup(struct cli_pipeline_result *res)
{
    json_decref(res->stages);
    json_decref(res->times);
    json_decref(res->steps);
    json_decref(res->dead);
    json_decref(res->failed);
    memset(res, 0, sizeof *res);
}

void
cli_pipeline_print_steps(FILE *out, const struct cli_pipeline_result *res,
                         bool incremental)
{
    json_t *sp = json_object_get(json_object_get(res->steps, "sync_products"),
                                 "result");
    json_t *cd = json_object_get(
        json_object_get(res->steps, "cleanup_duplicates"), "result");
    json_t *vd = json_object_get(json_object_get(res->steps, "validate_data"),
                                 "result");

    char a[48], b[48], c[48], d[48], e[48], f[48];

    if (sp != NULL) {
        fprintf(out, "  %-14s inserted %lld, updated %lld, unchanged %lld%s\n",
               "sync_products",
               (long long)json_integer_value(json_object_get(sp, "inserted")),
               (long long)json_integer_value(json_object_get(sp, "updated")),
               (long long)json_integer_value(json_object_get(sp, "unchanged")),
               incremental ? " (incremental: only changed offers written)"
                           : "");
    }
    if (vd != NULL) {
        json_t *ck = json_object_get(vd, "checked");
        /* offers marked duplicate of another are not checked, so the
         * count can be below the catalog's */
        fprintf(out, "  %-14s %s: %s, %s (checked %s not marked duplicate, "
               "%s, %s, %s)\n",
               "validate_data",
               json_is_true(json_object_get(vd, "ok")) ? "clean" : "PROBLEMS",
               cli_count_json(a, sizeof a, json_object_get(vd, "errors"), "error"),
               cli_count_json(b, sizeof b, json_object_get(vd, "warnings"),
                         "warning"),
               cli_count_json(c, sizeof c, json_object_get(ck, "products"),
                         "product"),
               cli_count_json(d, sizeof d, json_object_get(ck, "skus"), "SKU"),
               cli_count_json(e, sizeof e, json_object_get(ck, "images"), "image"),
               cli_count_json(f, sizeof f, json_object_get(ck, "suppliers"),
                         "supplier"));
    }
    if (cd != NULL) {
        fprintf(out, "  %-14s %s merged, %s and %s marked duplicate, %s "
               "seen twice\n",
               "cleanup",
               cli_count_json(a, sizeof a, json_object_get(
                   json_object_get(cd, "suppliers"), "merged"), "supplier"),
               cli_count_json(b, sizeof b, json_object_get(
                   json_object_get(cd, "products"), "marked_duplicate"),
                         "offer"),
               cli_count_json(c, sizeof c, json_object_get(
                   json_object_get(cd, "images"), "marked_duplicate"),
                         "image"),
               cli_count_json(d, sizeof d, json_object_get(cd, "offers_seen_twice"),
                         "offer"));
    }
}
