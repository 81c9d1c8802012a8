/* SPDX-License-Identifier: MIT
 *
 * mon_api_summary.c: the summaries task packs publish (syncq/summary.h),
 * served as JSON (GET /api/summaries/<kind>) and as the table of a page
 * (the Catalog page shows kind "catalog"). The monitor does not know
 * what a summary means: a table's columns are the summaries' fields in
 * the order they first appear; a field named root_id or task_id links to
 * that task's page, a string field ending in _at is a time.
 */
#include "monitor/mon_api_http.h"
#include "monitor/mon_page.h"
#include "sq_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syncq/summary.h>

void
sq_api_h_summaries(struct sq_api_server *S, const struct sq_api_req *q,
                   struct sq_api_reply *r)
{
    syncq_client *c = sq_api_client(S, r);
    json_t *all = NULL, *o;
    syncq_error e;

    if (c == NULL) {
        return;
    }
    if (syncq_summary_get(c, q->rt->arg, &all, &e) != SYNCQ_OK) {
        sq_api_syncq_error(r, &e);
        return;
    }
    o = json_pack("{s:s,s:I,s:o}", "kind", q->rt->arg, "count",
                  (json_int_t)json_object_size(all), "summaries", all);
    sq_api_json(r, 200, o);
    json_decref(o);
}

/* Keys in numeric-then-text order (category ids of any length). */
static int
key_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t lx = strlen(x), ly = strlen(y);

    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

static void
cell(struct sq_buf *b, const char *field, const json_t *v)
{
    const char *s = json_string_value(v);
    char num[48];

    sq_buf_adds(b, "<td>");
    if (s != NULL && (strcmp(field, "root_id") == 0 ||
                      strcmp(field, "task_id") == 0)) {
        sq_buf_adds(b, "<a href=\"/task/");
        sq_page_esc(b, s);
        sq_buf_adds(b, "\">");
        snprintf(num, sizeof num, "%.8s%s", s, strlen(s) > 8 ? "…" : "");
        sq_page_esc(b, num);
        sq_buf_adds(b, "</a>");
    } else if (s != NULL && strlen(field) > 3 &&
               strcmp(field + strlen(field) - 3, "_at") == 0 &&
               strlen(s) >= 19) {
        /* 2026-12-07T08:20:03.644Z -> 2026-12-07 08:20:03 +00:00 */
        snprintf(num, sizeof num, "%.10s %.8s +00:00", s, s + 11);
        sq_buf_adds(b, "<time data-at=\"");
        sq_page_esc(b, s);
        sq_buf_adds(b, "\">");
        sq_page_esc(b, num);
        sq_buf_adds(b, "</time>");
    } else if (s != NULL) {
        sq_page_esc(b, s);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        sq_buf_adds(b, num);
    } else if (json_is_number(v)) {
        snprintf(num, sizeof num, "%g", json_number_value(v));
        sq_buf_adds(b, num);
    } else if (json_is_boolean(v)) {
        sq_buf_adds(b, json_is_true(v) ? "yes" : "no");
    } else {
        sq_buf_adds(b, "-");
    }
    sq_buf_adds(b, "</td>");
}

/* The columns: fields in order of first appearance (a new array). */
static json_t *
columns_of(const json_t *all)
{
    json_t *cols = json_array(), *s, *v;
    const char *key, *f;
    size_t i;

    json_object_foreach((json_t *)all, key, s) {
        json_object_foreach(s, f, v) {
            bool seen = false;
            json_t *c;
            json_array_foreach(cols, i, c) {
                seen = seen || strcmp(json_string_value(c), f) == 0;
            }
            if (!seen) {
                json_array_append_new(cols, json_string(f));
            }
        }
    }
    return cols;
}

static void
render_table(struct sq_buf *b, const json_t *all)
{
    json_t *cols = columns_of(all), *c;
    size_t n = json_object_size(all), k = 0, i;
    const char **keys = sq_calloc(n + 1, sizeof *keys);
    const char *key;
    json_t *s;

    json_object_foreach((json_t *)all, key, s) {
        if (keys != NULL) {
            keys[k++] = key;
        }
    }
    if (keys != NULL) {
        qsort(keys, k, sizeof *keys, key_cmp);
    }
    sq_buf_adds(b, "<thead><tr><th>key</th>");
    json_array_foreach(cols, i, c) {
        sq_buf_adds(b, "<th>");
        for (const char *p = json_string_value(c); *p != '\0'; p++) {
            sq_buf_add(b, *p == '_' ? " " : p, 1);
        }
        sq_buf_adds(b, "</th>");
    }
    sq_buf_adds(b, "</tr></thead><tbody>");
    for (size_t j = 0; j < k; j++) {
        s = json_object_get(all, keys[j]);
        sq_buf_adds(b, "<tr data-key=\"");
        sq_page_esc(b, keys[j]);
        sq_buf_adds(b, "\"><td>");
        sq_page_esc(b, keys[j]);
        sq_buf_adds(b, "</td>");
        json_array_foreach(cols, i, c) {
            cell(b, json_string_value(c),
                 json_object_get(s, json_string_value(c)));
        }
        sq_buf_adds(b, "</tr>");
    }
    if (k == 0) {
        sq_buf_adds(b, "<tr><td class=\"muted\">nothing published yet</td>"
                       "</tr>");
    }
    sq_buf_adds(b, "</tbody>");
    sq_free(keys);
    json_decref(cols);
}

void
sq_api_summary_rows(struct sq_api_server *S, const char *kind,
                    struct sq_buf *b, json_t **out)
{
    syncq_client *c = sq_api_client(S, NULL);
    json_t *all = NULL;
    syncq_error e;

    *out = NULL;
    if (c == NULL || syncq_summary_get(c, kind, &all, &e) != SYNCQ_OK) {
        sq_buf_adds(b, "<tbody><tr><td class=\"muted\">summaries "
                       "unavailable (Redis unreachable)</td></tr></tbody>");
        return;
    }
    render_table(b, all);
    *out = all;
}
